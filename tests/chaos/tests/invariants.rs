//! The invariant checker on crafted states: a consistent end state passes every invariant, and
//! each way of breaking one is reported by that invariant. The checker's verdict on a real run is
//! only worth as much as these.

use std::collections::BTreeMap;

use chaos::invariants::{Expectations, Verdict, check};
use chaos::ledger::{KillAt, SendKind, TimedSend, Timeline};
use chaos::load::{LoadPlan, PoisonQueue};
use chaos::observe::{DeadLetterState, EventState, Observed, QueueRole, QueueState, TicketState};
use emulation::sends::{EmailSend, PushSend};
use messages::Notification;
use notification_sender::templates::{self, Language, Values};

const SENDER: &str = "tickets@example.com";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:chaos-push";

fn plan() -> LoadPlan {
    LoadPlan::generate(5, 24, 2, 0.0, 3)
}

fn send(observed: &mut Observed, notification: &Notification, locale: Option<&str>, email: &str) {
    let language = Language::from_locale(locale);
    observed.pushes.push(PushSend {
        topic_arn: TOPIC.to_owned(),
        text: templates::push(notification.kind, language, Values::of(notification)),
        attributes: BTreeMap::from([
            ("userId".to_owned(), notification.user_id.clone()),
            ("eventId".to_owned(), notification.event_id.clone()),
            ("kind".to_owned(), notification.kind.as_str().to_owned()),
        ]),
    });
    let rendered = templates::email(notification.kind, language, Values::of(notification));
    observed.emails.push(EmailSend {
        source: SENDER.to_owned(),
        to: vec![email.to_owned()],
        subject: rendered.subject,
        body: rendered.html,
    });
}

/// The state a perfect run leaves: the first `capacity` requests of each event got a ticket, the
/// rest were told sold out, each notification went out once per channel, poison is in its DLQ.
fn consistent(plan: &LoadPlan) -> Observed {
    let mut observed = Observed::default();
    for event in &plan.events {
        let mut issued = 0;
        for request in plan.requests.iter().filter(|r| r.event_id == event.id) {
            let notification = if issued < event.capacity {
                issued += 1;
                let ticket_id = format!("t-{}-{}", request.event_id, request.user_id);
                observed.tickets.push(TicketState {
                    event_id: request.event_id.clone(),
                    user_id: request.user_id.clone(),
                    ticket_id: ticket_id.clone(),
                });
                Notification::ticket_issued(&request.event_id, &request.user_id, &ticket_id, "", None, None)
            } else {
                Notification::sold_out(&request.event_id, &request.user_id, None, None)
            };
            send(&mut observed, &notification, request.locale.as_deref(), &request.email);
        }
        observed.events.insert(
            event.id.clone(),
            EventState {
                capacity: Some(event.capacity),
                shards: event.shards,
                counted_capacity: Some(event.capacity),
                issued: Some(issued),
            },
        );
    }
    for (i, poison) in plan.poison.iter().enumerate() {
        observed.dead_letters.push(DeadLetterState {
            attributes: Default::default(),
            queue: match poison.queue {
                PoisonQueue::TicketIssue => QueueRole::TicketIssueDlq,
                PoisonQueue::Notification => QueueRole::NotificationDlq,
            },
            message_id: format!("dl-{i}"),
            body: poison.body.clone(),
            error_kind: Some(poison.expected_kind.to_owned()),
            original_message_id: None,
        });
    }
    for role in [
        QueueRole::TicketIssue,
        QueueRole::Notification,
        QueueRole::TicketIssueDlq,
        QueueRole::NotificationDlq,
    ] {
        observed.queues.push(QueueState {
            role,
            visible: 0,
            in_flight: 0,
            delayed: 0,
        });
    }
    observed
}

fn verdict(plan: &LoadPlan, observed: &Observed, timeline: &Timeline) -> Verdict {
    check(
        &Expectations {
            plan,
            sender: SENDER,
            push_topic: TOPIC,
            timeline,
        },
        observed,
    )
}

fn failed(verdict: &Verdict) -> Vec<&'static str> {
    verdict.checks.iter().filter(|c| c.failed()).map(|c| c.name).collect()
}

/// `mutate` breaks the consistent state; `name` must be among the failed invariants.
fn assert_breaks(name: &str, mutate: impl FnOnce(&LoadPlan, &mut Observed)) {
    let plan = plan();
    let mut observed = consistent(&plan);
    mutate(&plan, &mut observed);
    let verdict = verdict(&plan, &observed, &Timeline::default());
    assert!(
        failed(&verdict).contains(&name),
        "{name} should fail; failed: {:?}",
        failed(&verdict)
    );
    let report = chaos::report::render(&chaos::report::RunFigures::default(), &verdict);
    assert!(report.contains(&format!("FAIL {name}")), "{report}");
}

fn sold_out_user(plan: &LoadPlan, observed: &Observed) -> (String, String) {
    let request = plan
        .requests
        .iter()
        .find(|r| {
            !observed
                .tickets
                .iter()
                .any(|t| t.event_id == r.event_id && t.user_id == r.user_id)
        })
        .expect("some request was sold out");
    (request.event_id.clone(), request.user_id.clone())
}

#[test]
fn a_consistent_end_state_passes_every_invariant() {
    let plan = plan();
    let observed = consistent(&plan);
    let verdict = verdict(&plan, &observed, &Timeline::default());
    assert!(verdict.passed(), "{:#?}", verdict.checks);
    assert_eq!(verdict.checks.len(), 9);
    let outcomes = &verdict.outcomes;
    assert_eq!(outcomes.tickets as u64, plan.capacity());
    assert_eq!(outcomes.tickets + outcomes.sold_out, plan.requests.len());
    assert_eq!(outcomes.poison_dead_letters, plan.poison.len());
}

#[test]
fn a_lost_request_breaks_the_accounting() {
    assert_breaks("every-request-accounted-once", |plan, observed| {
        let (event_id, user_id) = sold_out_user(plan, observed);
        observed
            .pushes
            .retain(|p| p.attributes["userId"] != user_id || p.attributes["eventId"] != event_id);
        let email = format!("{user_id}@example.com");
        observed
            .emails
            .retain(|e| e.to != [email.clone()] || !e.subject.contains(&event_id));
    });
}

#[test]
fn a_ticket_and_a_sold_out_notice_for_one_request_are_two_outcomes() {
    assert_breaks("every-request-accounted-once", |plan, observed| {
        let ticket = observed.tickets[0].clone();
        let request = plan
            .requests
            .iter()
            .find(|r| r.user_id == ticket.user_id && r.event_id == ticket.event_id)
            .unwrap();
        let notification = Notification::sold_out(&request.event_id, &request.user_id, None, None);
        send(observed, &notification, request.locale.as_deref(), &request.email);
    });
}

#[test]
fn a_poison_message_missing_or_with_another_reason_is_reported() {
    assert_breaks("poison-dead-lettered-with-its-reason", |_, observed| {
        observed.dead_letters.remove(0);
    });
    assert_breaks("poison-dead-lettered-with-its-reason", |_, observed| {
        observed.dead_letters[1].error_kind = Some("handler".to_owned());
    });
}

#[test]
fn a_dead_letter_without_a_reason_or_not_from_the_load_is_reported() {
    assert_breaks("dead-letters-have-a-reason", |plan, observed| {
        observed.dead_letters.push(DeadLetterState {
            attributes: Default::default(),
            queue: QueueRole::TicketIssueDlq,
            message_id: "exhausted".to_owned(),
            body: plan.requests[0].body.clone(),
            error_kind: None,
            original_message_id: None,
        });
    });
    assert_breaks("dead-letters-have-a-reason", |_, observed| {
        observed.dead_letters[0].body = "something nobody sent".to_owned();
    });
}

#[test]
fn a_ticket_over_capacity_is_reported() {
    assert_breaks("tickets-within-capacity", |plan, observed| {
        let (event_id, user_id) = sold_out_user(plan, observed);
        observed.tickets.push(TicketState {
            event_id: event_id.clone(),
            user_id,
            ticket_id: "t-extra".to_owned(),
        });
        observed.events.get_mut(&event_id).unwrap().issued = observed.events[&event_id].issued.map(|n| n + 1);
    });
}

#[test]
fn an_issued_counter_that_disagrees_with_the_tickets_is_reported() {
    assert_breaks("issued-equals-tickets", |plan, observed| {
        let event = observed.events.get_mut(&plan.events[0].id).unwrap();
        event.issued = event.issued.map(|n| n - 1);
    });
    assert_breaks("issued-equals-tickets", |plan, observed| {
        observed.events.remove(&plan.events[1].id);
    });
    // Counters that hold more seats than the event has would sell them.
    assert_breaks("issued-equals-tickets", |plan, observed| {
        let event = observed.events.get_mut(&plan.events[1].id).unwrap();
        event.counted_capacity = event.counted_capacity.map(|n| n + 1);
    });
}

#[test]
fn a_second_ticket_or_a_ticket_nobody_asked_for_is_reported() {
    assert_breaks("one-ticket-per-user-and-event", |_, observed| {
        let mut twin = observed.tickets[0].clone();
        twin.ticket_id = "t-twin".to_owned();
        observed.tickets.push(twin);
    });
    assert_breaks("one-ticket-per-user-and-event", |plan, observed| {
        observed.tickets.push(TicketState {
            event_id: plan.events[0].id.clone(),
            user_id: "user-nobody".to_owned(),
            ticket_id: "t-nobody".to_owned(),
        });
    });
}

#[test]
fn sold_out_with_a_seat_left_is_reported() {
    assert_breaks("sold-out-only-when-full", |plan, observed| {
        // The first ticket of an event that sold out is gone: a seat was free after all.
        let (event_id, _) = sold_out_user(plan, observed);
        let index = observed.tickets.iter().position(|t| t.event_id == event_id).unwrap();
        observed.tickets.remove(index);
        let event = observed.events.get_mut(&event_id).unwrap();
        event.issued = event.issued.map(|n| n - 1);
    });
}

/// A repeated send is excused only by a kill of the process that sent it, after the provider
/// accepted it and before the step's completion was accepted: not a kill of another process,
/// not one before the send, not one after the completion, and one kill excuses one repeat.
#[test]
fn a_second_send_is_reported_unless_a_kill_between_acceptance_and_record_explains_it() {
    use std::time::{Duration, Instant};
    let plan = plan();
    let mut observed = consistent(&plan);
    observed.emails.push(observed.emails[0].clone());
    let unexplained = verdict(&plan, &observed, &Timeline::default());
    assert_eq!(failed(&unexplained), ["one-push-and-one-email-per-notification"]);

    let ticket = &observed.tickets[0];
    let first = observed
        .emails
        .iter()
        .position(|e| e.subject.contains(&ticket.event_id) && e.body.contains(&ticket.ticket_id))
        .unwrap();
    let mut observed = consistent(&plan);
    let email = observed.emails[first].clone();
    observed.emails.push(email.clone());
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let step = format!("notification-sender#ticket-issued#{}#email", ticket.ticket_id);
    let timeline = |kill_origin: &str, kill_ms: u64, completion_ms: Option<u64>| Timeline {
        sends: vec![
            TimedSend {
                origin: "notification-sender/1".to_owned(),
                sent: at(90),
                accepted: at(100),
                send: SendKind::Email(email.clone()),
            },
            TimedSend {
                origin: "notification-sender/2".to_owned(),
                sent: at(4_900),
                accepted: at(5_000),
                send: SendKind::Email(email.clone()),
            },
        ],
        completions: completion_ms.map(|ms| (step.clone(), at(ms))).into_iter().collect(),
        kills: vec![KillAt {
            origin: kill_origin.to_owned(),
            at: at(kill_ms),
        }],
    };
    let explained = verdict(&plan, &observed, &timeline("notification-sender/1", 200, Some(6_000)));
    assert!(explained.passed(), "{:#?}", explained.checks);
    assert_eq!(explained.outcomes.duplicate_sends_after_kill, 1);
    // Killed while its request was on its way: the provider accepts it after the process died.
    let in_flight = verdict(&plan, &observed, &timeline("notification-sender/1", 95, Some(6_000)));
    assert!(in_flight.passed(), "{:#?}", in_flight.checks);
    for (why, timeline) in [
        (
            "a kill of another process",
            timeline("notification-sender/3", 200, None),
        ),
        (
            "a kill before the send was accepted",
            timeline("notification-sender/1", 50, None),
        ),
        (
            "a kill after the completion was accepted",
            timeline("notification-sender/1", 200, Some(150)),
        ),
    ] {
        assert_eq!(
            failed(&verdict(&plan, &observed, &timeline)),
            ["one-push-and-one-email-per-notification"],
            "{why} excuses nothing"
        );
    }
    observed.emails.push(email.clone());
    assert!(
        !verdict(&plan, &observed, &timeline("notification-sender/1", 200, None)).passed(),
        "one kill explains one repeat, not two"
    );
}

/// An accepted send whose answer was lost excuses one repeat of that notification on that
/// channel: not a second repeat, not the other channel, not another notification.
#[test]
fn a_lost_answer_excuses_exactly_its_own_repeat() {
    let plan = plan();
    let mut observed = consistent(&plan);
    let email = observed.emails[0].clone();
    observed.emails.push(email.clone());
    observed.lost_emails.push(email.clone());
    let explained = verdict(&plan, &observed, &Timeline::default());
    assert!(explained.passed(), "{:#?}", explained.checks);
    assert_eq!(explained.outcomes.duplicate_sends_after_lost_answer, 1);

    observed.emails.push(email.clone());
    assert_eq!(
        failed(&verdict(&plan, &observed, &Timeline::default())),
        ["one-push-and-one-email-per-notification"],
        "one lost answer explains one repeat, not two"
    );

    let mut observed = consistent(&plan);
    observed.lost_emails.push(observed.emails[0].clone());
    let push = observed.pushes[0].clone();
    observed.pushes.push(push);
    assert_eq!(
        failed(&verdict(&plan, &observed, &Timeline::default())),
        ["one-push-and-one-email-per-notification"],
        "a lost email does not excuse a second push"
    );

    let mut observed = consistent(&plan);
    observed.lost_emails.push(observed.emails[1].clone());
    observed.emails.push(observed.emails[0].clone());
    assert_eq!(
        failed(&verdict(&plan, &observed, &Timeline::default())),
        ["one-push-and-one-email-per-notification"],
        "a lost answer does not excuse another notification's repeat"
    );
}

#[test]
fn a_missing_wrong_or_unexpected_send_is_reported() {
    assert_breaks("one-push-and-one-email-per-notification", |_, observed| {
        observed.pushes.remove(0);
    });
    assert_breaks("one-push-and-one-email-per-notification", |_, observed| {
        observed.emails[0].to = vec!["someone-else@example.com".to_owned()];
    });
    assert_breaks("one-push-and-one-email-per-notification", |_, observed| {
        observed.emails[0].source = "impostor@example.com".to_owned();
    });
    assert_breaks("one-push-and-one-email-per-notification", |_, observed| {
        let ticket = &observed.tickets[0];
        let index = observed
            .pushes
            .iter()
            .position(|p| p.text.contains(&ticket.ticket_id))
            .unwrap();
        observed.pushes[index].text = observed.pushes[index]
            .text
            .replace(&ticket.ticket_id.clone(), "t-other");
    });
    assert_breaks("one-push-and-one-email-per-notification", |_, observed| {
        let mut stray = observed.pushes[0].clone();
        stray.topic_arn = "arn:aws:sns:us-east-1:123456789012:elsewhere".to_owned();
        observed.pushes.push(stray);
    });
}

#[test]
fn a_message_left_in_a_queue_is_reported() {
    assert_breaks("queues-drained", |_, observed| {
        observed.queues[0].visible = 1;
    });
    assert_breaks("queues-drained", |_, observed| {
        observed.queues[3].in_flight = 2;
    });
    assert_breaks("queues-drained", |_, observed| {
        observed.queues.retain(|q| q.role != QueueRole::Notification);
    });
}

#[test]
fn the_proxys_sends_must_be_motos_sends() {
    use chaos::invariants::{MotoSends, sends_agree};
    use emulation::sends::Sends;
    let observed = consistent(&plan());
    let tap = Sends {
        pushes: observed.pushes.clone(),
        emails: observed.emails.clone(),
        ..Sends::default()
    };
    let mut moto = tap.clone();
    moto.emails.reverse();
    let data_json = |moto: &Sends| MotoSends {
        data_json: Some(moto.clone()),
        ..MotoSends::default()
    };
    assert!(sends_agree(&tap, &data_json(&moto)).passed(), "order does not matter");
    moto.emails.push(moto.emails[0].clone());
    let check = sends_agree(&tap, &data_json(&moto));
    assert!(!check.passed());
    assert!(
        check.violations[0].contains("1 times by the proxy, 2 times by moto"),
        "{:?}",
        check.violations
    );
    moto.emails.pop();
    moto.pushes[0].text.push('!');
    assert!(!sends_agree(&tap, &data_json(&moto)).passed());
    let skipped = sends_agree(&tap, &MotoSends::default());
    assert!(!skipped.passed() && !skipped.failed() && skipped.skipped.is_some());
}

/// Without data.json (a large run), the pushes moto delivered to the subscribed queue and its
/// count of emails are the independent record: a push or an email the proxy missed, or one it
/// saw that moto never took, fails the check.
#[test]
fn the_proxys_sends_must_be_the_pushes_moto_delivered_and_the_emails_it_counted() {
    use chaos::invariants::{MotoSends, sends_agree};
    use emulation::sends::Sends;
    let observed = consistent(&plan());
    let tap = Sends {
        pushes: observed.pushes.clone(),
        emails: observed.emails.clone(),
        ..Sends::default()
    };
    let moto = MotoSends {
        data_json: None,
        delivered_pushes: Some(observed.pushes.iter().rev().cloned().collect()),
        emails_accepted: Some(observed.emails.len() as u64),
    };
    assert!(sends_agree(&tap, &moto).passed());
    let mut missed_push = moto.clone();
    missed_push
        .delivered_pushes
        .as_mut()
        .unwrap()
        .push(observed.pushes[0].clone());
    assert!(
        sends_agree(&tap, &missed_push).failed(),
        "moto delivered a push the proxy missed"
    );
    let mut missed_email = moto.clone();
    missed_email.emails_accepted = Some(observed.emails.len() as u64 + 1);
    assert!(
        sends_agree(&tap, &missed_email).failed(),
        "moto counts an email the proxy missed"
    );
}

/// SNS's JSON envelope, as moto delivers a push to a subscribed queue, reads back as the push.
#[test]
fn a_push_reads_back_from_the_sns_envelope() {
    let body = serde_json::json!({"Type": "Notification", "TopicArn": TOPIC, "Message": "hello",
        "MessageAttributes": {"kind": {"Type": "String", "Value": "sold-out"}}});
    let push = chaos::tap::envelope(&body.to_string()).unwrap();
    assert_eq!(
        push,
        PushSend {
            topic_arn: TOPIC.to_owned(),
            text: "hello".to_owned(),
            attributes: BTreeMap::from([("kind".to_owned(), "sold-out".to_owned())]),
        }
    );
}

/// A check not made is SKIPPED: never PASS, shown as such, and counted apart in the verdict.
#[test]
fn a_check_not_made_is_skipped_in_the_report_and_the_verdict() {
    use chaos::invariants::sends_agree;
    use emulation::sends::Sends;
    let plan = plan();
    let mut verdict = verdict(&plan, &consistent(&plan), &Timeline::default());
    let made = verdict.checks.len();
    verdict
        .checks
        .push(sends_agree(&Sends::default(), &chaos::invariants::MotoSends::default()));
    assert_eq!((verdict.checked(), verdict.skipped()), (made, 1));
    let figures = chaos::report::RunFigures {
        slice: "standard queues",
        settled: true,
        ..chaos::report::RunFigures::default()
    };
    let report = chaos::report::render(&figures, &verdict);
    assert!(
        report.starts_with(&format!(
            "chaos run, standard queues: INCOMPLETE: {made} checked, 1 skipped"
        )),
        "{report}"
    );
    assert_eq!(
        chaos::report::overall(&[(figures, verdict.clone())]),
        format!("chaos run INCOMPLETE: {made} checked, 1 skipped (standard queues {made})")
    );
    assert!(report.contains("SKIPPED sends-seen-by-the-proxy-are-motos"), "{report}");
    assert!(!report.contains("PASS sends-seen"), "{report}");
    assert!(
        verdict.passed() && !verdict.complete_and_passed(),
        "a skipped check fails the run"
    );
}

/// The personal-data invariant fails on a planted address in a log line or a dead letter's
/// reason, and holds on the masked forms.
#[test]
fn an_address_in_clear_in_a_log_or_a_dead_letter_is_reported() {
    use moto_harness::personal_data::Scanner;
    let plan = plan();
    let scanner = Scanner::new(plan.addresses());
    let address = plan.requests[0].email.clone();
    let masked = format!("{}***@example.com", &address[..1]);
    let clean = scanner.scan("ticket-processor.log", &format!("{{\"email\":\"{masked}\"}}"));
    assert!(chaos::invariants::personal_data(&clean, "searched".into()).passed());

    let planted = [
        scanner.scan("ticket-processor.log", &format!("{{\"error\":\"got {address}\"}}")),
        scanner.scan("dlq error-message", &address.replace('@', "＠")),
    ]
    .concat();
    let check = chaos::invariants::personal_data(&planted, "searched".into());
    assert!(!check.passed());
    assert_eq!(check.violations.len(), 2, "{:?}", check.violations);
    assert!(
        check.violations[0].contains("ticket-processor.log"),
        "{:?}",
        check.violations
    );
}

/// The plan gives every fourth event (the third of four) more seats than demand: "sold out" there
/// is a violation the end state shows.
#[test]
fn an_event_with_seats_to_spare_told_sold_out_is_reported() {
    let plan = LoadPlan::generate(5, 40, 3, 0.0, 0);
    let spare = &plan.events[2];
    let demand = plan.requests.iter().filter(|r| r.event_id == spare.id).count() as u64;
    assert!(spare.capacity > demand, "{spare:?} for {demand} requests");
    let mut observed = consistent(&plan);
    assert!(verdict(&plan, &observed, &Timeline::default()).passed());
    // One of its users told sold out instead of getting a ticket.
    let request = plan.requests.iter().find(|r| r.event_id == spare.id).unwrap();
    observed
        .tickets
        .retain(|t| !(t.event_id == request.event_id && t.user_id == request.user_id));
    let state = observed.events.get_mut(&spare.id).unwrap();
    state.issued = state.issued.map(|n| n - 1);
    let ticket_id = format!("t-{}-{}", request.event_id, request.user_id);
    observed.pushes.retain(|p| !p.text.contains(&ticket_id));
    observed.emails.retain(|e| !e.body.contains(&ticket_id));
    let notification = Notification::sold_out(&request.event_id, &request.user_id, None, None);
    send(&mut observed, &notification, request.locale.as_deref(), &request.email);
    // (The sold-out sends are also sends no outcome calls for.)
    assert!(failed(&verdict(&plan, &observed, &Timeline::default())).contains(&"sold-out-only-when-full"));
}

/// In time: a sold-out enqueued before its event's last seat was committed fails, though the end
/// state (the event full) would pass it; the same sold-out after the last commit holds.
#[test]
fn a_sold_out_decided_before_the_last_seat_was_committed_is_reported() {
    use chaos::invariants::sold_out_in_time;
    use chaos::ledger::{Commit, Ledger, SoldOutSent};
    use std::time::{Duration, Instant};
    let plan = plan();
    let event = &plan.events[0];
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut ledger = Ledger {
        commits: (0..event.capacity)
            .map(|i| Commit {
                event_id: event.id.clone(),
                asked: at(10 * i),
            })
            .collect(),
        sold_out: vec![SoldOutSent {
            event_id: event.id.clone(),
            user_id: "user-late".to_owned(),
            arrived: at(10 * event.capacity + 1),
        }],
        ..Ledger::default()
    };
    let check = sold_out_in_time(&plan, &ledger);
    assert!(check.passed(), "{check:?}");
    ledger.sold_out[0].arrived = at(10 * (event.capacity - 1) - 1);
    let check = sold_out_in_time(&plan, &ledger);
    assert!(check.failed(), "{check:?}");
    assert!(
        check.violations[0].contains(&format!("{} of its {} seats", event.capacity - 1, event.capacity)),
        "{:?}",
        check.violations
    );
    assert!(
        sold_out_in_time(&plan, &Ledger::default()).skipped.is_some(),
        "no record: not checked"
    );
}

/// The ledger reads the workers' own requests: a ticket transaction's event and a sold-out
/// notification's event and user, and nothing from other calls.
#[test]
fn the_ledger_reads_ticket_transactions_and_sold_out_enqueues() {
    use chaos::ledger::{sold_out_notification, ticket_transaction_event};
    let transaction = serde_json::json!({"TransactItems": [
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "EVENT#evt-001"}, "sk": {"S": "TICKET#u"},
                 "ticketId": {"S": "t-1"}, "eventId": {"S": "evt-001"}, "userId": {"S": "u"}}}},
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "EVENT#evt-001"}, "sk": {"S": "META"}}}}
    ]});
    assert_eq!(
        ticket_transaction_event(transaction.to_string().as_bytes()).as_deref(),
        Some("evt-001")
    );
    let seeding =
        serde_json::json!({"TransactItems": [{"Put": {"Item": {"pk": {"S": "EVENT#e"}, "capacity": {"N": "3"}}}}]});
    assert_eq!(ticket_transaction_event(seeding.to_string().as_bytes()), None);
    let sold_out = Notification::sold_out("evt-002", "user-9", None, None);
    let body = serde_json::json!({"QueueUrl": "q", "MessageBody": serde_json::to_string(&sold_out).unwrap()});
    assert_eq!(
        sold_out_notification(body.to_string().as_bytes()),
        Some(("evt-002".to_owned(), "user-9".to_owned()))
    );
    let issued = Notification::ticket_issued("evt-002", "user-9", "t-1", "", None, None);
    let body = serde_json::json!({"QueueUrl": "q", "MessageBody": serde_json::to_string(&issued).unwrap()});
    assert_eq!(sold_out_notification(body.to_string().as_bytes()), None);
}

/// The idempotency table's end state: a live INPROGRESS lock, or a completed ticket record whose
/// stored result disagrees with the tickets table, is reported; an expired lock is not.
#[test]
fn a_live_lock_or_a_stored_result_that_disagrees_with_the_tickets_is_reported() {
    use chaos::invariants::idempotency_checks;
    use chaos::observe::IdempotencyRecord;
    let plan = plan();
    let mut observed = consistent(&plan);
    observed.idempotency_read_at_ms = 1_000_000;
    let ticket = observed.tickets[0].clone();
    let (event_id, user_id) = sold_out_user(&plan, &observed);
    let completed = |key: &str, data: serde_json::Value| IdempotencyRecord {
        key: key.to_owned(),
        status: "COMPLETED".to_owned(),
        in_progress_expiration: None,
        data: Some(data.to_string()),
    };
    let issued = serde_json::json!({"outcome": "issued", "ticketId": ticket.ticket_id,
                                    "notificationId": format!("ticket-issued#{}", ticket.ticket_id)});
    let sold_out = serde_json::json!({"outcome": "sold-out",
                                      "notificationId": format!("sold-out#{event_id}#{user_id}")});
    observed.idempotency = vec![
        completed("ticket-processor#m-1", issued),
        completed("ticket-processor#m-2", sold_out),
        IdempotencyRecord {
            key: "notification-sender#send-budget#email-sends".to_owned(),
            status: String::new(),
            in_progress_expiration: None,
            data: None,
        },
        IdempotencyRecord {
            key: "notification-sender#n-1#push".to_owned(),
            status: "INPROGRESS".to_owned(),
            in_progress_expiration: Some(999_000),
            data: None,
        },
    ];
    let names = |checks: &[chaos::invariants::Check]| -> Vec<&'static str> {
        checks.iter().filter(|c| c.failed()).map(|c| c.name).collect()
    };
    let checks = idempotency_checks(&plan, &observed);
    assert!(checks.iter().all(|c| c.passed()), "{checks:#?}");

    let mut live = observed.clone();
    live.idempotency[3].in_progress_expiration = Some(1_005_000);
    assert_eq!(
        names(&idempotency_checks(&plan, &live)),
        ["no-live-lock-left-in-progress"]
    );

    let mut lost_ticket = observed.clone();
    lost_ticket.tickets.retain(|t| t.ticket_id != ticket.ticket_id);
    assert_eq!(
        names(&idempotency_checks(&plan, &lost_ticket)),
        ["stored-results-agree-with-tickets"]
    );

    let mut wrong_sold_out = observed.clone();
    wrong_sold_out.idempotency[1] = completed(
        "ticket-processor#m-2",
        serde_json::json!({"outcome": "sold-out",
                           "notificationId": format!("sold-out#{}#{}", ticket.event_id, ticket.user_id)}),
    );
    assert_eq!(
        names(&idempotency_checks(&plan, &wrong_sold_out)),
        ["stored-results-agree-with-tickets"],
        "a sold-out stored for a user who holds a ticket"
    );

    let empty = idempotency_checks(&plan, &consistent(&plan));
    assert!(empty.iter().all(|c| c.skipped.is_some()), "nothing read: not checked");
}

/// A ticket item stored under a key that is not its own event's and user's (as a bug writing
/// two tickets for one user under different keys would leave) is reported.
#[test]
fn a_ticket_stored_under_another_key_is_reported() {
    assert_breaks("one-ticket-per-user-and-event", |_, observed| {
        observed
            .misfiled_tickets
            .push("the ticket of evt-000/user-1 is stored under EVENT#evt-000/TICKET#user-2".to_owned());
    });
}

/// FIFO: a record of a message group started (its idempotency lock asked) before the record sent
/// before it in that group completed is out of order, the state a batch processor that ran a
/// group's records concurrently, or an SQS that handed out a group's next message while the
/// previous one was in flight, would leave. A message that went through the DLQ is not judged,
/// and with nothing to judge the check is SKIPPED.
#[test]
fn a_fifo_record_started_before_the_previous_one_of_its_group_completed_is_reported() {
    use chaos::invariants::fifo_group_order;
    use chaos::ledger::Ledger;
    use chaos::load::{FifoSent, Outgoing};
    use std::time::{Duration, Instant};
    let plan = LoadPlan::generate_for_users(5, 24, 6, 4, 0.0, 0);
    let user = plan.requests[0].user_id.clone();
    let ids: Vec<usize> = (0..plan.requests.len())
        .filter(|&i| plan.requests[i].user_id == user)
        .collect();
    assert!(ids.len() >= 2, "the user has several requests: {ids:?}");
    let sent: Vec<FifoSent> = ids
        .iter()
        .map(|&i| FifoSent {
            outgoing: Outgoing::Request(i),
            group: user.clone(),
            message_id: format!("m-{i}"),
        })
        .collect();
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // In order: each message locked 10 ms after the previous one's completion was accepted.
    let mut ledger = Ledger::default();
    for (n, message) in sent.iter().enumerate() {
        let start = 100 * n as u64;
        ledger
            .locks
            .push((format!("ticket-processor#{}", message.message_id), at(start)));
        ledger
            .timeline
            .completions
            .push((format!("ticket-processor#{}", message.message_id), at(start + 90)));
    }
    let observed = Observed::default();
    // Delivered as sent: the group's messages in one batch, in order.
    let in_order = vec![(at(0), sent.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>())];
    let check = fifo_group_order(&plan, &sent, &ledger, &observed, &in_order);
    assert!(check.passed(), "{check:?}");

    // The second message's lock asked before the first one's completion was accepted.
    let mut early = ledger.clone();
    early.locks[1].1 = at(50);
    let check = fifo_group_order(&plan, &sent, &early, &observed, &in_order);
    assert!(check.failed(), "{check:?}");
    assert!(
        check.violations[0].contains(&sent[1].message_id) && check.violations[0].contains(&sent[0].message_id),
        "{:?}",
        check.violations
    );
    // The emulator handed out the second message without the first (moto 5.2.5 does, after a
    // group's messages time out together): SQS's order broke, not the workers'; noted, not failed.
    let mut reordered = in_order.clone();
    reordered.push((at(40), vec![sent[1].message_id.clone()]));
    let check = fifo_group_order(&plan, &sent, &early, &observed, &reordered);
    assert!(!check.failed(), "{check:?}");
    assert!(
        check.notes.iter().any(|n| n.contains("delivered by the emulator")),
        "{check:?}"
    );
    // The same batch delivered after the first message had completed excuses nothing.
    let late = vec![in_order[0].clone(), (at(95), vec![sent[1].message_id.clone()])];
    assert!(fifo_group_order(&plan, &sent, &early, &observed, &late).failed());
    // A later lock (a redelivery) does not hide the early first one.
    early
        .locks
        .push((format!("ticket-processor#{}", sent[1].message_id), at(500)));
    assert!(fifo_group_order(&plan, &sent, &early, &observed, &in_order).failed());

    // The first message went through the DLQ (dlq-redrive replayed it): not judged.
    early.redriven.push(sent[0].message_id.clone());
    let check = fifo_group_order(&plan, &sent, &early, &observed, &in_order);
    assert!(!check.failed(), "{check:?}");

    // A message that never completed and is not in the DLQ is reported.
    let mut lost = ledger.clone();
    lost.timeline.completions.remove(0);
    assert!(fifo_group_order(&plan, &sent, &lost, &observed, &in_order).failed());

    // Nothing to judge: SKIPPED, not passed.
    let check = fifo_group_order(&plan, &sent[..1], &ledger, &observed, &in_order);
    assert!(check.skipped.is_some() && !check.passed(), "{check:?}");
}

/// The ledger reads an idempotency lock's key (a conditional PutItem of an INPROGRESS item) and
/// the originals of dlq-redrive's copies, and nothing from other calls.
#[test]
fn the_ledger_reads_locks_and_redriven_originals() {
    use chaos::ledger::{lock_key, redriven_originals};
    let lock = serde_json::json!({"TableName": "idempotency", "ConditionExpression": "attribute_not_exists(#id)",
        "Item": {"id": {"S": "ticket-processor#m-1"}, "status": {"S": "INPROGRESS"}}});
    assert_eq!(
        lock_key(lock.to_string().as_bytes()).as_deref(),
        Some("ticket-processor#m-1")
    );
    let bucket = serde_json::json!({"TableName": "idempotency", "Item": {"id": {"S": "budget"}}});
    assert_eq!(lock_key(bucket.to_string().as_bytes()), None);
    let copies = serde_json::json!({"QueueUrl": "q", "Entries": [
        {"Id": "0", "MessageBody": "{}", "MessageAttributes": {"original-message-id": {"DataType": "String", "StringValue": "m-1"}}},
        {"Id": "1", "MessageBody": "{}"}
    ]});
    assert_eq!(
        redriven_originals(copies.to_string().as_bytes()),
        vec!["m-1".to_owned()]
    );
}
