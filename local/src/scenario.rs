//! The demo: people join a small event through the real flow (queue → ticket-processor → table →
//! notification-queue → notification-sender → SNS/SES, poison → DLQ → dlq-redrive), and every
//! expectation is checked against the emulator's state.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use messages::{Contact, TicketRequest};
use serde_json::{Value, json};
use ticket_processor::schema;

use crate::metrics::FunctionTotals;
use crate::stack::LocalStack;

/// The size of the demo.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub event_id: String,
    pub capacity: u32,
    /// The counters the event's seats are spread over.
    pub shards: u32,
    pub users: u32,
    /// The event that does not exist until the operator "fixes" it (then redrives).
    pub late_event_id: String,
    pub drain_timeout: Duration,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            event_id: "demo-concert".into(),
            capacity: 5,
            shards: 2,
            users: 8,
            late_event_id: "encore-show".into(),
            drain_timeout: Duration::from_secs(120),
        }
    }
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub what: String,
    pub expected: String,
    pub actual: String,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.expected == self.actual
    }
}

/// What the run found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Checked against what the emulator holds.
    pub checks: Vec<Check>,
    /// The functions' metrics (the sums of their EMF lines), checked against the emulator too.
    pub metrics: Vec<Check>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && !self.metrics.is_empty() && self.all().all(Check::passed)
    }

    fn all(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().chain(&self.metrics)
    }

    fn check(&mut self, what: &str, expected: impl ToString, actual: impl ToString) {
        self.checks.push(Check {
            what: what.to_owned(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }

    fn check_metric(&mut self, what: &str, expected: impl ToString, actual: impl ToString) {
        self.metrics.push(Check {
            what: what.to_owned(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }

    /// The outcome table, one line per expectation: the emulator's state, then the metrics
    /// summary (expected: from the emulator; actual: from the functions' EMF lines).
    pub fn table(&self) -> String {
        let width = self.all().map(|c| c.what.chars().count()).max().unwrap_or(10);
        let row = |check: &Check| {
            let mark = if check.passed() { "✓" } else { "✗" };
            format!(
                "{mark} {:<width$}  {:>9}  {:>9}\n",
                check.what, check.expected, check.actual
            )
        };
        let mut out = format!("  {:<width$}  {:>9}  {:>9}\n", "expectation", "expected", "actual");
        self.checks.iter().for_each(|check| out.push_str(&row(check)));
        out.push_str(&format!(
            "  {:<width$}  {:>9}  {:>9}\n",
            "metrics (the functions' EMF lines)", "emulator", "EMF"
        ));
        self.metrics.iter().for_each(|check| out.push_str(&row(check)));
        let passed = self.all().filter(|c| c.passed()).count();
        out.push_str(&format!("{passed}/{} expectations held\n", self.all().count()));
        out
    }
}

fn request(event_id: &str, user: &str, locale: &str) -> String {
    serde_json::to_string(&TicketRequest {
        event_id: event_id.to_owned(),
        user_id: user.to_owned(),
        requested_at: Some("2026-11-22T10:00:00Z".to_owned()),
        contact: Some(Contact {
            email: Some(format!("{user}@example.com")),
            push_endpoint_arn: None,
        }),
        locale: Some(locale.to_owned()),
    })
    .expect("a request serializes")
}

/// Run the scenario on a started stack; `say` prints progress.
pub async fn run(stack: &LocalStack, scenario: &Scenario, say: &dyn Fn(&str)) -> Result<Outcome, String> {
    let mut outcome = Outcome::default();
    let joined = join(stack, scenario, say).await?;
    let after = duplicates(stack, scenario, &joined, &mut outcome, say).await?;
    let dry_run = inspect_dead_letters(stack, &mut outcome, say).await?;
    let (replay, tickets) = replay_late_event(stack, scenario, &mut outcome, say).await?;

    say("7. no address in clear: every log file, every dead letter's attributes and both dlq-redrive reports");
    let found = personal_data(stack, &joined.users, &[&dry_run, &replay]).await?;
    for finding in &found {
        say(&format!("   {finding}"));
    }
    outcome.check("addresses in clear (logs, dead letters, reports)", 0, found.len());
    say("8. the metrics the functions wrote (one EMF line per invocation, in their logs) against the emulator");
    let emulator = Emulator {
        tickets: tickets.len() + after.tickets.len(),
        event_tickets: after.tickets.len(),
        duplicate_got_a_ticket: after.tickets.iter().any(|user| user == "fan-3"),
        dead_letters: count(&dry_run["queues"][0]["inspection"]["inspected"]),
        moved: count(&replay["queues"][0]["moved"]),
        last: Snapshot::take(stack, scenario).await?,
    };
    check_metrics(&mut outcome, &stack.metrics()?, &emulator);
    Ok(outcome)
}

/// The queue people join.
const QUEUE: &str = "TicketIssueQueue";

/// Who joined the queue in steps 1 and 2.
struct Joined {
    /// `fan-1`, `fan-2`, … in the order they joined.
    users: Vec<String>,
    /// Each user's message id and body.
    message_ids: BTreeMap<String, (String, String)>,
}

/// Steps 1 and 2: the event is seeded; people, a poison message, a request for an event that
/// does not exist yet and misplaced addresses join the queue, and the stack drains.
async fn join(stack: &LocalStack, scenario: &Scenario, say: &dyn Fn(&str)) -> Result<Joined, String> {
    say(&format!(
        "1. seeding event {} with {} seats on {} counters",
        scenario.event_id, scenario.capacity, scenario.shards
    ));
    stack
        .seed_event(&scenario.event_id, scenario.capacity, scenario.shards)
        .await?;

    say(&format!(
        "2. {} people join the queue ({} more than there are seats)",
        scenario.users,
        scenario.users - scenario.capacity
    ));
    let users: Vec<String> = (1..=scenario.users).map(|i| format!("fan-{i}")).collect();
    let mut message_ids = BTreeMap::new();
    for (i, user) in users.iter().enumerate() {
        let body = request(&scenario.event_id, user, if i % 2 == 0 { "ko" } else { "en" });
        message_ids.insert(user.clone(), (stack.send(QUEUE, &body).await?, body));
    }
    say("   plus one poison message (not JSON) and one request for an event that does not exist yet");
    stack.send(QUEUE, "this is not a ticket request").await?;
    stack
        .send(QUEUE, &request(&scenario.late_event_id, "late-fan", "ko"))
        .await?;
    say("   and three requests with an address in the wrong place (they must never show it in clear)");
    for body in misplaced_addresses(&scenario.event_id) {
        stack.send(QUEUE, &body).await?;
    }
    stack.wait_idle(scenario.drain_timeout, say).await?;
    Ok(Joined { users, message_ids })
}

/// Steps 3 and 4: a producer duplicate and a duplicate delivery, then the checks of the sale so
/// far; the emulator's state after them.
async fn duplicates(
    stack: &LocalStack,
    scenario: &Scenario,
    joined: &Joined,
    outcome: &mut Outcome,
    say: &dyn Fn(&str),
) -> Result<Snapshot, String> {
    say("3. the producer sends fan-3's request again, as a new message (a producer duplicate)");
    let (_, fan3_body) = &joined.message_ids["fan-3"];
    stack.send(QUEUE, fan3_body).await?;
    stack.wait_idle(scenario.drain_timeout, say).await?;

    say("4. SQS delivers fan-1's original message a second time (a duplicate delivery)");
    let before = Snapshot::take(stack, scenario).await?;
    let (fan1_id, fan1_body) = &joined.message_ids["fan-1"];
    let redelivery = redelivery(
        fan1_id,
        fan1_body,
        &stack.stack.attribute(QUEUE, "Arn").unwrap_or_default(),
    );
    let response = stack.invoke("ticket-processor", &redelivery).await?;
    stack.wait_idle(scenario.drain_timeout, say).await?;
    let after = Snapshot::take(stack, scenario).await?;
    check_sale(outcome, scenario, &before, &after, &response);
    Ok(after)
}

/// `message_id` with `body` delivered a second time (`ApproximateReceiveCount` 2) from the queue
/// `queue_arn`, as Lambda's SQS event.
fn redelivery(message_id: &str, body: &str, queue_arn: &str) -> Value {
    let mut record = SqsMessage::default();
    record.message_id = Some(message_id.to_owned());
    record.receipt_handle = Some("redelivered".to_owned());
    record.body = Some(body.to_owned());
    record.attributes = HashMap::from([
        ("ApproximateReceiveCount".to_owned(), "2".to_owned()),
        ("SentTimestamp".to_owned(), "1700000000000".to_owned()),
    ]);
    record.event_source = Some("aws:sqs".to_owned());
    record.event_source_arn = Some(queue_arn.to_owned());
    record.aws_region = Some(moto_harness::REGION.to_owned());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    serde_json::to_value(event).expect("an SqsEvent serialises")
}

/// The sale's expectations: capacity held, one ticket and one notification per person, and the
/// duplicate delivery (`response` is its invocation's answer) changed nothing.
fn check_sale(outcome: &mut Outcome, scenario: &Scenario, before: &Snapshot, after: &Snapshot, response: &Value) {
    let sold_out = scenario.users - scenario.capacity;
    outcome.check(
        "tickets issued for the event (= capacity)",
        scenario.capacity,
        after.tickets.len(),
    );
    outcome.check("`issued` over the event's counters", scenario.capacity, after.issued);
    outcome.check("people with more than one ticket", 0, after.people_with_two_tickets());
    outcome.check(
        "ticket-issued pushes",
        scenario.capacity,
        after.pushes_of_kind("ticket-issued"),
    );
    outcome.check("sold-out pushes", sold_out, after.pushes_of_kind("sold-out"));
    outcome.check("emails sent (one per person)", scenario.users, after.emails.len());
    outcome.check(
        "pushes per notification id, at most",
        1,
        after.max_pushes_per_notification(),
    );
    outcome.check("producer duplicate: pushes to fan-3", 1, after.pushes_to("fan-3"));
    outcome.check(
        "duplicate delivery: batchItemFailures",
        "[]",
        response
            .get("batchItemFailures")
            .map(Value::to_string)
            .unwrap_or_else(|| response.to_string()),
    );
    outcome.check(
        "duplicate delivery: new tickets, pushes, emails",
        "0/0/0",
        before.difference(after),
    );
}

/// Step 5: dlq-redrive's dry run over the ticket DLQ, its counts by error kind checked; its
/// report.
async fn inspect_dead_letters(stack: &LocalStack, outcome: &mut Outcome, say: &dyn Fn(&str)) -> Result<Value, String> {
    say("5. the DLQ alarm fires: an operator inspects the ticket DLQ (dlq-redrive dry run)");
    let dry_run = stack
        .invoke("dlq-redrive", &json!({"queue": "ticket", "dryRun": true}))
        .await?;
    let inspected = &dry_run["queues"][0];
    say(&format!(
        "   dead letters by error kind: {}",
        inspected["inspection"]["byErrorKind"]
    ));
    outcome.check(
        "dead letters: malformed-body (the poison)",
        1,
        count(&inspected["inspection"]["byErrorKind"]["malformed-body"]),
    );
    outcome.check(
        "dead letters: unknown-event (the early request)",
        1,
        count(&inspected["inspection"]["byErrorKind"]["unknown-event"]),
    );
    outcome.check(
        "dead letters: invalid-field (misplaced addresses)",
        MISPLACED_ADDRESSES.len(),
        count(&inspected["inspection"]["byErrorKind"]["invalid-field"]),
    );
    outcome.check("dry run moved", 0, count(&inspected["moved"]));
    Ok(dry_run)
}

/// Step 6: the late event is created and only its dead letter replayed; the replay's report
/// and the late event's ticket holders.
async fn replay_late_event(
    stack: &LocalStack,
    scenario: &Scenario,
    outcome: &mut Outcome,
    say: &dyn Fn(&str),
) -> Result<(Value, Vec<String>), String> {
    say(&format!(
        "6. the operator creates {} and replays only the unknown-event dead letters",
        scenario.late_event_id
    ));
    stack.seed_event(&scenario.late_event_id, 2, 1).await?;
    let replay = stack
        .invoke(
            "dlq-redrive",
            &json!({"queue": "ticket", "mode": "replay", "dryRun": false, "filter": {"errorKind": ["unknown-event"]}}),
        )
        .await?;
    outcome.check("replay moved", 1, count(&replay["queues"][0]["moved"]));
    stack.wait_idle(scenario.drain_timeout, say).await?;
    let tickets = tickets_of(stack, &scenario.late_event_id).await?;
    outcome.check("late-fan's ticket after the redrive", "late-fan", tickets.join(","));
    let left = stack.depth(&stack.queue_url("TicketIssueDeadLetterQueue")?).await?;
    outcome.check(
        "dead letters left (all but the replayed one)",
        1 + MISPLACED_ADDRESSES.len(),
        left.0 + left.1,
    );
    let mut drained = 0;
    for logical_id in ["TicketIssueQueue", "NotificationQueue", "NotificationDeadLetterQueue"] {
        let (visible, in_flight) = stack.depth(&stack.queue_url(logical_id)?).await?;
        drained += visible + in_flight;
    }
    outcome.check("messages left in the other queues", 0, drained);
    Ok((replay, tickets))
}

/// Addresses in the wrong place, as producers get them wrong: a contact that is a string, a
/// userId that is an address with a full-width at sign, and one with a quoted local part. Each
/// is refused (`invalid-field`) with its address masked.
const MISPLACED_ADDRESSES: [(&str, &str); 3] = [
    ("contact", "misplaced.one@example.com"),
    ("userId", "misplaced.two＠example.com"),
    ("userId", "\"misplaced three\"@example.com"),
];

fn misplaced_addresses(event_id: &str) -> Vec<String> {
    MISPLACED_ADDRESSES
        .iter()
        .map(|(field, address)| {
            let mut body = json!({"eventId": event_id, "userId": "misplaced", "locale": "en"});
            body[*field] = json!(address);
            body.to_string()
        })
        .collect()
}

/// Every address the scenario used, found in clear in the functions' logs, the dead-letter
/// queues' attributes or the reports (see `moto_harness::personal_data`).
async fn personal_data(
    stack: &LocalStack,
    users: &[String],
    reports: &[&Value],
) -> Result<Vec<moto_harness::personal_data::Found>, String> {
    use moto_harness::personal_data::{Scanner, dead_letter_attributes, log_files};
    let addresses = users
        .iter()
        .map(String::as_str)
        .chain(["late-fan"])
        .map(|user| format!("{user}@example.com"))
        .chain(MISPLACED_ADDRESSES.iter().map(|(_, address)| address.to_string()));
    let scanner = Scanner::new(addresses);
    let logs = log_files(&stack.log_dir).map_err(|e| format!("{}: {e}", stack.log_dir.display()))?;
    if logs.is_empty() {
        return Err(format!("no function logs in {}", stack.log_dir.display()));
    }
    let mut found = scanner.scan_files(&logs).map_err(|e| e.to_string())?;
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    for dlq in ["TicketIssueDeadLetterQueue", "NotificationDeadLetterQueue"] {
        for (source, text) in dead_letter_attributes(&sqs, &stack.queue_url(dlq)?).await? {
            found.extend(scanner.scan(&source, &text));
        }
    }
    for (index, report) in reports.iter().enumerate() {
        found.extend(scanner.scan(&format!("dlq-redrive report {}", index + 1), &report.to_string()));
    }
    Ok(found)
}

/// What the emulator held at the end, for the metrics to match.
struct Emulator {
    /// Tickets of every event of the run.
    tickets: usize,
    /// Tickets of the scenario's event (issued from first deliveries, never redriven ones).
    event_tickets: usize,
    /// Whether fan-3, whose request the producer sent twice, holds a ticket: then the second
    /// request is already-issued, else sold out again (records run concurrently, so either).
    duplicate_got_a_ticket: bool,
    /// Dead letters the dry run found.
    dead_letters: u64,
    /// Messages the replay sent back.
    moved: u64,
    last: Snapshot,
}

fn check_metrics(outcome: &mut Outcome, metrics: &BTreeMap<String, FunctionTotals>, emulator: &Emulator) {
    let none = FunctionTotals::default();
    let of = |binary: &str| metrics.get(binary).unwrap_or(&none);
    let (tickets, sends, redrive) = (of("ticket-processor"), of("notification-sender"), of("dlq-redrive"));
    outcome.check_metric(
        "TicketsIssued = tickets in the table",
        emulator.tickets,
        tickets.count("TicketsIssued"),
    );
    // The producer duplicate is answered like the first request but notified once.
    let (duplicate_issued, duplicate_sold_out) = if emulator.duplicate_got_a_ticket {
        (1, 0)
    } else {
        (0, 1)
    };
    outcome.check_metric(
        "SoldOut = sold-out pushes (+ fan-3's copy)",
        emulator.last.pushes_of_kind("sold-out") + duplicate_sold_out,
        tickets.count("SoldOut"),
    );
    outcome.check_metric(
        "AlreadyIssued = fan-3's copy if fan-3 got in",
        duplicate_issued,
        tickets.count("AlreadyIssued"),
    );
    outcome.check_metric(
        "Duplicates: ticket / notification",
        "1/1",
        format!("{}/{}", tickets.count("Duplicates"), sends.count("Duplicates")),
    );
    outcome.check_metric(
        "DeadLettered = dead letters inspected",
        emulator.dead_letters,
        tickets.count("DeadLettered") + sends.count("DeadLettered"),
    );
    outcome.check_metric(
        "PushSent/EmailSent = pushes/emails accepted",
        format!("{}/{}", emulator.last.pushes.len(), emulator.last.emails.len()),
        format!("{}/{}", sends.count("PushSent"), sends.count("EmailSent")),
    );
    outcome.check_metric(
        "RedriveMoved = moved by the replay",
        emulator.moved,
        redrive.count("RedriveMoved"),
    );
    outcome.check_metric(
        "TimeToTicket values (redriven copy excluded)",
        emulator.event_tickets,
        tickets.samples("TimeToTicket"),
    );
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

/// What the emulator holds for the scenario's event.
struct Snapshot {
    tickets: Vec<String>,
    issued: u64,
    /// (userId, kind) of every push to the topic.
    pushes: Vec<(String, String, String)>,
    emails: Vec<Value>,
}

impl Snapshot {
    async fn take(stack: &LocalStack, scenario: &Scenario) -> Result<Self, String> {
        let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
        let issued = schema::event_totals(&client, &stack.tickets_table()?, &scenario.event_id)
            .await
            .map_err(|e| e.to_string())?
            .map_or(0, |totals| totals.issued);
        let topic = stack.stack.reference("PushTopic").ok_or("no PushTopic")?;
        let data = stack.moto.data();
        let pushes = data["sns"]["Topic"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["arn"] == topic.as_str())
            .flat_map(|t| t["sent_notifications"].as_array().cloned().unwrap_or_default())
            .map(|push| {
                let attribute = |name: &str| {
                    let value = &push[3][name];
                    value["Value"]
                        .as_str()
                        .or(value["StringValue"].as_str())
                        .or(value.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                let notification: Value = serde_json::from_str(push[1].as_str().unwrap_or("{}")).unwrap_or(Value::Null);
                let id = notification["notificationId"].as_str().unwrap_or_default().to_owned();
                (
                    attribute("userId"),
                    attribute("kind"),
                    if id.is_empty() { push[1].to_string() } else { id },
                )
            })
            .collect();
        let emails = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
        Ok(Self {
            tickets: tickets_of(stack, &scenario.event_id).await?,
            issued,
            pushes,
            emails,
        })
    }

    fn pushes_of_kind(&self, kind: &str) -> usize {
        self.pushes.iter().filter(|(_, k, _)| k == kind).count()
    }

    fn pushes_to(&self, user: &str) -> usize {
        self.pushes.iter().filter(|(u, _, _)| u == user).count()
    }

    fn max_pushes_per_notification(&self) -> usize {
        let mut per_user_kind: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (user, kind, _) in &self.pushes {
            *per_user_kind.entry((user, kind)).or_default() += 1;
        }
        per_user_kind.values().copied().max().unwrap_or(0)
    }

    fn people_with_two_tickets(&self) -> usize {
        let unique: BTreeSet<&String> = self.tickets.iter().collect();
        self.tickets.len() - unique.len()
    }

    fn difference(&self, later: &Snapshot) -> String {
        format!(
            "{}/{}/{}",
            later.tickets.len() - self.tickets.len(),
            later.pushes.len() - self.pushes.len(),
            later.emails.len() - self.emails.len()
        )
    }
}

/// The users holding a ticket for `event_id`.
async fn tickets_of(stack: &LocalStack, event_id: &str) -> Result<Vec<String>, String> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let tickets = schema::list_tickets(&client, &stack.tickets_table()?, event_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(tickets.into_iter().map(|ticket| ticket.user_id).collect())
}
