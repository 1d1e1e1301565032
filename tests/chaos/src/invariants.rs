//! What must hold in the emulator's state after a run, and the figures that say how the run went.
//! Pure: [`check`] reads an [`Observed`] state against the plan, so tests hand it crafted states
//! that break one invariant each.

use std::collections::{BTreeMap, HashMap};

use messages::{Notification, NotificationKind};
use notification_sender::templates::{self, Language, Values};

use crate::load::{LoadPlan, PoisonQueue, RequestSpec};
use crate::observe::{Observed, QueueRole};

/// What the run expects beyond the plan.
pub struct Expectations<'a> {
    pub plan: &'a LoadPlan,
    /// `EMAIL_SENDER`.
    pub sender: &'a str,
    /// The push topic's ARN.
    pub push_topic: &'a str,
    /// Per process, when sends and completions were accepted and when processes were killed:
    /// what a repeated send is excused by.
    pub timeline: &'a crate::ledger::Timeline,
}

/// One invariant's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub rule: &'static str,
    /// What broke it; empty when it holds.
    pub violations: Vec<String>,
    /// What is worth knowing but does not break it.
    pub notes: Vec<String>,
    /// Why the check was not made, if it was not: a check not made is SKIPPED, never PASS.
    pub skipped: Option<String>,
}

impl Check {
    fn new(name: &'static str, rule: &'static str) -> Self {
        Self {
            name,
            rule,
            violations: Vec::new(),
            notes: Vec::new(),
            skipped: None,
        }
    }

    /// Made, and nothing broke it. A skipped check has not passed.
    pub fn passed(&self) -> bool {
        self.skipped.is_none() && self.violations.is_empty()
    }

    /// Made, and something broke it.
    pub fn failed(&self) -> bool {
        !self.violations.is_empty()
    }

    /// Not made, and why: reported as SKIPPED, and counted apart in the verdict.
    pub fn skip(mut self, why: impl Into<String>) -> Self {
        self.skipped = Some(why.into());
        self
    }
}

/// How the requests ended, and what was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub requests: usize,
    pub tickets: usize,
    pub sold_out: usize,
    pub dead_lettered: usize,
    pub capacity: u64,
    pub pushes: usize,
    pub emails: usize,
    pub poison_dead_letters: usize,
    /// Sends beyond the first of a notification and channel, each caused by a SIGKILL between
    /// the provider's acceptance and the idempotency record.
    pub duplicate_sends_after_kill: usize,
    /// Sends beyond the first of a notification and channel, each caused by an accepted send
    /// whose answer was lost (notification-sender sends an ambiguous send again, by design).
    pub duplicate_sends_after_lost_answer: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub checks: Vec<Check>,
    pub outcomes: Outcomes,
}

impl Verdict {
    /// No check failed (skipped ones are counted by [`Verdict::skipped`], and shown).
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(Check::failed)
    }

    /// Checks made.
    pub fn checked(&self) -> usize {
        self.checks.iter().filter(|c| c.skipped.is_none()).count()
    }

    /// Checks not made.
    pub fn skipped(&self) -> usize {
        self.checks.iter().filter(|c| c.skipped.is_some()).count()
    }

    /// Every check made and none failed: a run with a check skipped has not passed.
    pub fn complete_and_passed(&self) -> bool {
        self.passed() && self.skipped() == 0
    }

    /// "PASSED: 14 checked, 0 skipped" / "INCOMPLETE: 13 checked, 1 skipped" (none failed, but
    /// not every check was made) / "FAILED: 2 of 14 checked failed, 1 skipped".
    pub fn summary(&self) -> String {
        let failed = self.checks.iter().filter(|c| c.failed()).count();
        if failed == 0 && self.skipped() == 0 {
            format!("PASSED: {} checked, 0 skipped", self.checked())
        } else if failed == 0 {
            format!("INCOMPLETE: {} checked, {} skipped", self.checked(), self.skipped())
        } else {
            format!(
                "FAILED: {failed} of {} checked failed, {} skipped",
                self.checked(),
                self.skipped()
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Channel {
    Push,
    Email,
}

impl Channel {
    /// As notification-sender names it in a step's key (`<notificationId>#push`).
    fn key(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Email => "email",
        }
    }
}

/// A notification the final state calls for, and its rendered content.
struct ExpectedNotification {
    id: String,
    push_text: String,
    push_attributes: BTreeMap<String, String>,
    email_to: String,
    email_subject: String,
    email_bodies: [String; 2],
}

fn expected_notification(
    request: &RequestSpec,
    kind: NotificationKind,
    ticket_id: Option<&str>,
) -> ExpectedNotification {
    let notification = match ticket_id {
        Some(ticket_id) => Notification::ticket_issued(&request.event_id, &request.user_id, ticket_id, "", None, None),
        None => Notification::sold_out(&request.event_id, &request.user_id, None, None),
    };
    let language = Language::from_locale(request.locale.as_deref());
    let email = templates::email(kind, language, Values::of(&notification));
    ExpectedNotification {
        id: notification.notification_id.clone(),
        push_text: templates::push(kind, language, Values::of(&notification)),
        push_attributes: BTreeMap::from([
            ("userId".to_owned(), request.user_id.clone()),
            ("eventId".to_owned(), request.event_id.clone()),
            ("kind".to_owned(), kind.as_str().to_owned()),
        ]),
        email_to: request.email.clone(),
        email_subject: email.subject,
        email_bodies: [email.html, email.text],
    }
}

/// Every invariant, in report order. Violations are listed in full; the report shortens them.
pub fn check(expect: &Expectations<'_>, observed: &Observed) -> Verdict {
    let plan = expect.plan;
    let mut outcomes = Outcomes {
        requests: plan.requests.len(),
        capacity: plan.capacity(),
        pushes: observed.pushes.len(),
        emails: observed.emails.len(),
        ..Outcomes::default()
    };

    let mut tickets: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for ticket in &observed.tickets {
        tickets
            .entry((ticket.event_id.as_str(), ticket.user_id.as_str()))
            .or_default()
            .push(ticket.ticket_id.as_str());
    }
    let requests: HashMap<(&str, &str), &RequestSpec> = plan
        .requests
        .iter()
        .map(|r| ((r.event_id.as_str(), r.user_id.as_str()), r))
        .collect();
    let poison_bodies: HashMap<&str, (PoisonQueue, &str)> = plan
        .poison
        .iter()
        .map(|p| (p.body.as_str(), (p.queue, p.expected_kind)))
        .collect();
    let request_bodies: HashMap<&str, &RequestSpec> = plan.requests.iter().map(|r| (r.body.as_str(), r)).collect();
    let tickets_per_event = |event_id: &str| observed.tickets.iter().filter(|t| t.event_id == event_id).count() as u64;
    let event_full = |event_id: &str| {
        plan.events
            .iter()
            .find(|e| e.id == event_id)
            .is_some_and(|e| tickets_per_event(event_id) >= e.capacity)
    };

    // Requests that ended in a DLQ with a reason.
    let mut dead_requests: HashMap<&str, usize> = HashMap::new();
    for letter in &observed.dead_letters {
        if letter.queue == QueueRole::TicketIssueDlq
            && letter.error_kind.is_some()
            && request_bodies.contains_key(letter.body.as_str())
        {
            *dead_requests.entry(letter.body.as_str()).or_default() += 1;
        }
    }

    // The notifications the final state calls for.
    let mut expected: Vec<ExpectedNotification> = Vec::new();
    for request in &plan.requests {
        let key = (request.event_id.as_str(), request.user_id.as_str());
        match tickets.get(&key).and_then(|ids| ids.first()) {
            Some(ticket_id) => expected.push(expected_notification(
                request,
                NotificationKind::TicketIssued,
                Some(ticket_id),
            )),
            None if !dead_requests.contains_key(request.body.as_str()) && event_full(&request.event_id) => {
                expected.push(expected_notification(request, NotificationKind::SoldOut, None))
            }
            None => {}
        }
    }
    // Indexes of the expected notifications by what identifies a send (linear search over every
    // notification per send is quadratic: minutes to hours at 5,000 requests).
    let by_push: HashMap<(&str, &BTreeMap<String, String>), &ExpectedNotification> = expected
        .iter()
        .map(|n| ((n.push_text.as_str(), &n.push_attributes), n))
        .collect();
    let by_email: HashMap<(&str, &str), Vec<&ExpectedNotification>> =
        expected.iter().fold(HashMap::new(), |mut index, n| {
            index
                .entry((n.email_to.as_str(), n.email_subject.as_str()))
                .or_default()
                .push(n);
            index
        });
    let push_of = |push: &emulation::sends::PushSend| {
        if push.topic_arn != expect.push_topic {
            return None;
        }
        by_push.get(&(push.text.as_str(), &push.attributes)).copied()
    };
    let email_of = |email: &emulation::sends::EmailSend| {
        let [to] = email.to.as_slice() else {
            return None;
        };
        if email.source != expect.sender {
            return None;
        }
        by_email
            .get(&(to.as_str(), email.subject.as_str()))?
            .iter()
            .find(|n| n.email_bodies.contains(&email.body))
            .copied()
    };
    // Each timed send's notification and channel, once.
    let mut timed_by_step: HashMap<(&str, Channel), Vec<&crate::ledger::TimedSend>> = HashMap::new();
    for timed in &expect.timeline.sends {
        let matched = match &timed.send {
            crate::ledger::SendKind::Push(push) => push_of(push).map(|n| (n.id.as_str(), Channel::Push)),
            crate::ledger::SendKind::Email(email) => email_of(email).map(|n| (n.id.as_str(), Channel::Email)),
        };
        if let Some(step) = matched {
            timed_by_step.entry(step).or_default().push(timed);
        }
    }
    let mut sends: HashMap<(String, Channel), usize> = HashMap::new();
    let mut unexpected: Vec<String> = Vec::new();
    for push in &observed.pushes {
        match push_of(push) {
            Some(n) => *sends.entry((n.id.clone(), Channel::Push)).or_default() += 1,
            None => unexpected.push(format!(
                "push to {} that no outcome calls for: {:?} {:?}",
                push.topic_arn, push.text, push.attributes
            )),
        }
    }
    for email in &observed.emails {
        match email_of(email) {
            Some(n) => *sends.entry((n.id.clone(), Channel::Email)).or_default() += 1,
            None => unexpected.push(format!(
                "email from {} to {:?} that no outcome calls for (subject {:?})",
                email.source, email.to, email.subject
            )),
        }
    }
    // Sends the provider applied whose answer the proxy replaced with a reset: notification-sender
    // classes them ambiguous and its redelivery sends them again, by design. Each excuses one
    // repeat of its own notification and channel, nothing else.
    let mut lost: HashMap<(String, Channel), usize> = HashMap::new();
    for n in observed.lost_pushes.iter().filter_map(push_of) {
        *lost.entry((n.id.clone(), Channel::Push)).or_default() += 1;
    }
    for n in observed.lost_emails.iter().filter_map(email_of) {
        *lost.entry((n.id.clone(), Channel::Email)).or_default() += 1;
    }
    // Sold-out sends as sent, matched or not: a user told "sold out" who also holds a ticket
    // must count as two outcomes, not vanish as an unexpected send.
    let mut sold_out_subjects: HashMap<(&str, String), (&str, &str)> = HashMap::new();
    for request in &plan.requests {
        let rendered = expected_notification(request, NotificationKind::SoldOut, None);
        sold_out_subjects.insert(
            (request.email.as_str(), rendered.email_subject),
            (request.event_id.as_str(), request.user_id.as_str()),
        );
    }
    let mut told_sold_out: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    for push in &observed.pushes {
        if push.attributes.get("kind").map(String::as_str) == Some(NotificationKind::SoldOut.as_str()) {
            let attribute = |name: &str| push.attributes.get(name).cloned().unwrap_or_default();
            told_sold_out.insert((attribute("eventId"), attribute("userId")));
        }
    }
    for email in &observed.emails {
        if let [to] = email.to.as_slice()
            && let Some((event_id, user_id)) = sold_out_subjects.get(&(to.as_str(), email.subject.clone()))
        {
            told_sold_out.insert(((*event_id).to_owned(), (*user_id).to_owned()));
        }
    }
    let sold_out_sent =
        |request: &RequestSpec| told_sold_out.contains(&(request.event_id.clone(), request.user_id.clone()));

    // 1. Every request accounted for exactly once.
    let mut accounted = Check::new(
        "every-request-accounted-once",
        "each request ends as exactly one of: a ticket, a sold-out notification, a DLQ message with a reason",
    );
    for request in &plan.requests {
        let key = (request.event_id.as_str(), request.user_id.as_str());
        let has_ticket = tickets.contains_key(&key);
        let sold_out = sold_out_sent(request);
        let dead = dead_requests.contains_key(request.body.as_str());
        outcomes.tickets += usize::from(has_ticket);
        outcomes.sold_out += usize::from(sold_out);
        outcomes.dead_lettered += usize::from(dead);
        match usize::from(has_ticket) + usize::from(sold_out) + usize::from(dead) {
            1 => {}
            0 => accounted.violations.push(format!(
                "{}/{}: lost: no ticket, no sold-out notification, no dead letter",
                request.event_id, request.user_id
            )),
            _ => accounted.violations.push(format!(
                "{}/{}: more than one outcome (ticket: {has_ticket}, sold out: {sold_out}, dead-lettered: {dead})",
                request.event_id, request.user_id
            )),
        }
    }

    // 2. Poison in its DLQ with the right reason.
    let mut poison = Check::new(
        "poison-dead-lettered-with-its-reason",
        "every poison message is in its DLQ with the expected error-kind",
    );
    for p in &plan.poison {
        let role = match p.queue {
            PoisonQueue::TicketIssue => QueueRole::TicketIssueDlq,
            PoisonQueue::Notification => QueueRole::NotificationDlq,
        };
        let copies: Vec<&Option<String>> = observed
            .dead_letters
            .iter()
            .filter(|l| l.queue == role && l.body == p.body)
            .map(|l| &l.error_kind)
            .collect();
        outcomes.poison_dead_letters += copies.len();
        if copies.is_empty() {
            poison
                .violations
                .push(format!("{}: {:?} is not in it", role.name(), p.body));
        }
        for kind in &copies {
            if kind.as_deref() != Some(p.expected_kind) {
                poison.violations.push(format!(
                    "{}: {:?} has error-kind {kind:?}, expected {}",
                    role.name(),
                    p.body,
                    p.expected_kind
                ));
            }
        }
        if copies.len() > 1 {
            poison.notes.push(format!(
                "{}: {:?} is there {} times (dead-lettering is at least once: each delivery of a poison message dead-letters it)",
                role.name(),
                p.body,
                copies.len()
            ));
        }
    }

    // 3. Nothing in a DLQ without a reason, nothing unknown.
    let mut reasons = Check::new(
        "dead-letters-have-a-reason",
        "after the replay, every DLQ message carries an error-kind and is a message of the load",
    );
    for letter in &observed.dead_letters {
        if letter.error_kind.is_none() {
            reasons.violations.push(format!(
                "{} message {} has no error-kind (retries exhausted, not replayed): {:.120}",
                letter.queue.name(),
                letter.message_id,
                letter.body
            ));
        }
        let known = poison_bodies.contains_key(letter.body.as_str())
            || (letter.queue == QueueRole::TicketIssueDlq && request_bodies.contains_key(letter.body.as_str()));
        if !known {
            reasons.violations.push(format!(
                "{} message {} is not a message of the load: {:.120}",
                letter.queue.name(),
                letter.message_id,
                letter.body
            ));
        }
    }

    // 4–5. Capacity and the issued counter.
    let mut capacity = Check::new("tickets-within-capacity", "per event, tickets <= capacity");
    let mut issued = Check::new(
        "issued-equals-tickets",
        "per event, the capacity is as seeded, its counters hold exactly those seats, and issued (over \
         its counters) = the number of ticket items",
    );
    for event in &plan.events {
        let count = tickets_per_event(&event.id);
        if count > event.capacity {
            capacity
                .violations
                .push(format!("{}: {count} tickets for {} seats", event.id, event.capacity));
        }
        match observed.events.get(&event.id) {
            None => issued.violations.push(format!("{}: the event item is gone", event.id)),
            Some(state) => {
                if state.capacity != Some(event.capacity) {
                    issued.violations.push(format!(
                        "{}: capacity {:?}, seeded {}",
                        event.id, state.capacity, event.capacity
                    ));
                }
                if state.counted_capacity != Some(event.capacity) {
                    issued.violations.push(format!(
                        "{}: its {} counters hold {:?} seats, seeded {}",
                        event.id, state.shards, state.counted_capacity, event.capacity
                    ));
                }
                if state.issued != Some(count) {
                    issued.violations.push(format!(
                        "{}: issued {:?} but {count} ticket items",
                        event.id, state.issued
                    ));
                }
            }
        }
    }

    // 6. One ticket per user and event, and only for requests.
    let mut one_ticket = Check::new(
        "one-ticket-per-user-and-event",
        "no user holds two tickets for one event (users read from the items, each stored under its own key), every \
         ticket answers a request, ticket ids are unique",
    );
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for ((event_id, user_id), ticket_ids) in &tickets {
        if ticket_ids.len() > 1 {
            one_ticket.violations.push(format!(
                "{event_id}/{user_id}: {} tickets {ticket_ids:?}",
                ticket_ids.len()
            ));
        }
        if !requests.contains_key(&(*event_id, *user_id)) {
            one_ticket
                .violations
                .push(format!("{event_id}/{user_id}: a ticket nobody requested"));
        }
        for id in ticket_ids {
            *ids.entry(id).or_default() += 1;
        }
    }
    one_ticket.violations.extend(observed.misfiled_tickets.iter().cloned());
    for (id, count) in ids {
        if count > 1 || id.is_empty() {
            one_ticket
                .violations
                .push(format!("ticket id {id:?} is on {count} tickets"));
        }
    }

    // 7. Sold out only when full.
    let mut sold_out_full = Check::new(
        "sold-out-only-when-full",
        "a sold-out notification goes only to users of events whose every seat is taken",
    );
    for request in &plan.requests {
        if sold_out_sent(request) && !event_full(&request.event_id) {
            sold_out_full.violations.push(format!(
                "{}/{}: told sold out while {} had {} of {} seats taken",
                request.event_id,
                request.user_id,
                request.event_id,
                tickets_per_event(&request.event_id),
                plan.events
                    .iter()
                    .find(|e| e.id == request.event_id)
                    .map_or(0, |e| e.capacity)
            ));
        }
    }

    // 8. Exactly one push and one email per notification.
    let mut exactly_once = Check::new(
        "one-push-and-one-email-per-notification",
        "every notification the outcomes call for is pushed once and emailed once, with the right \
         sender, recipient and content, and nothing else is sent",
    );
    for notification in &expected {
        for channel in [Channel::Push, Channel::Email] {
            let key = (notification.id.clone(), channel);
            let count = sends.get(&key).copied().unwrap_or(0);
            let mut story = String::new();
            let kills = if count > 1 {
                let timed: Vec<&crate::ledger::TimedSend> = timed_by_step
                    .get(&(notification.id.as_str(), channel))
                    .cloned()
                    .unwrap_or_default();
                let step = format!("{}#{}", notification.id, channel.key());
                story = expect.timeline.explain(&step, &timed);
                expect.timeline.kills_between_acceptance_and_record(&step, &timed)
            } else {
                0
            };
            let lost = lost.get(&key).copied().unwrap_or(0);
            match count {
                1 => {}
                0 => exactly_once
                    .violations
                    .push(format!("{} {channel:?}: never sent", notification.id)),
                n if n - 1 <= kills + lost => {
                    let after_lost = (n - 1).min(lost);
                    outcomes.duplicate_sends_after_lost_answer += after_lost;
                    outcomes.duplicate_sends_after_kill += n - 1 - after_lost;
                    exactly_once.notes.push(format!(
                        "{} {channel:?}: sent {n} times; {lost} accepted send(s) of it lost their answer, and {kills} \
                         kill(s) hit a process after the provider accepted it and before its completion was recorded \
                         (such a send is sent again by the retry)",
                        notification.id
                    ));
                }
                n => exactly_once.violations.push(format!(
                    "{} {channel:?}: sent {n} times ({lost} lost answers and {kills} kills between sending and record explain {}): {story}",
                    notification.id,
                    kills + lost
                )),
            }
        }
    }
    exactly_once.violations.extend(unexpected);

    // 9. Queues drained.
    let mut drained = Check::new(
        "queues-drained",
        "the source queues are empty, and nothing is in flight or delayed in the DLQs",
    );
    for queue in &observed.queues {
        let leftover = if queue.role.is_dead_letter_queue() {
            queue.in_flight + queue.delayed
        } else {
            queue.visible + queue.in_flight + queue.delayed
        };
        if leftover > 0 {
            drained.violations.push(format!(
                "{}: {} visible, {} in flight, {} delayed",
                queue.role.name(),
                queue.visible,
                queue.in_flight,
                queue.delayed
            ));
        }
    }
    for role in [
        QueueRole::TicketIssue,
        QueueRole::Notification,
        QueueRole::TicketIssueDlq,
        QueueRole::NotificationDlq,
    ] {
        if !observed.queues.iter().any(|q| q.role == role) {
            drained.violations.push(format!("{}: not observed", role.name()));
        }
    }

    Verdict {
        checks: vec![
            accounted,
            poison,
            reasons,
            capacity,
            issued,
            one_ticket,
            sold_out_full,
            exactly_once,
            drained,
        ],
        outcomes,
    }
}

/// What moto itself says was sent: its `/moto-api/data.json` (small runs only), the pushes it
/// delivered to a queue subscribed to the push topic, and its count of emails accepted
/// ([`crate::tap`]).
#[derive(Debug, Clone, Default)]
pub struct MotoSends {
    pub data_json: Option<emulation::sends::Sends>,
    pub delivered_pushes: Option<Vec<emulation::sends::PushSend>>,
    pub emails_accepted: Option<u64>,
}

fn push_key(p: &emulation::sends::PushSend) -> String {
    format!("{}|{}|{:?}", p.topic_arn, p.text, p.attributes)
}

fn email_key(e: &emulation::sends::EmailSend) -> String {
    format!("{}|{:?}|{}|{}", e.source, e.to, e.subject, e.body)
}

fn counted(keys: impl Iterator<Item = String>) -> BTreeMap<String, i64> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn compare(
    check: &mut Check,
    what: &str,
    theirs_name: &str,
    ours: BTreeMap<String, i64>,
    theirs: BTreeMap<String, i64>,
) {
    let keys: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for key in keys {
        let (a, b) = (
            ours.get(key).copied().unwrap_or(0),
            theirs.get(key).copied().unwrap_or(0),
        );
        if a != b {
            check.violations.push(format!(
                "{what} seen {a} times by the proxy, {b} times by {theirs_name}: {key:.160}"
            ));
        }
    }
}

/// The proxy's record of accepted sends against moto's own: the same pushes and emails, as many
/// times each, in data.json when it was read; the same pushes as moto delivered to the tap's
/// queue; as many emails as moto counted. SKIPPED only when none of them was read.
pub fn sends_agree(tap: &emulation::sends::Sends, moto: &MotoSends) -> Check {
    let mut check = Check::new(
        "sends-seen-by-the-proxy-are-motos",
        "the pushes and emails the proxy saw accepted are exactly those moto holds (data.json in small runs; \
         in every run, the pushes moto delivered to a subscribed queue and its count of emails)",
    );
    if let Some(data) = &moto.data_json {
        compare(
            &mut check,
            "push",
            "moto's data.json",
            counted(tap.pushes.iter().map(push_key)),
            counted(data.pushes.iter().map(push_key)),
        );
        compare(
            &mut check,
            "email",
            "moto's data.json",
            counted(tap.emails.iter().map(email_key)),
            counted(data.emails.iter().map(email_key)),
        );
        check.notes.push(format!(
            "data.json: {} pushes, {} emails",
            data.pushes.len(),
            data.emails.len()
        ));
    }
    if let Some(delivered) = &moto.delivered_pushes {
        compare(
            &mut check,
            "push",
            "the topic's subscribed queue",
            counted(tap.pushes.iter().map(push_key)),
            counted(delivered.iter().map(push_key)),
        );
        check
            .notes
            .push(format!("{} pushes delivered to the subscribed queue", delivered.len()));
    }
    if let Some(accepted) = moto.emails_accepted {
        let recipients: u64 = tap.emails.iter().map(|e| e.to.len() as u64).sum();
        if recipients != accepted {
            check.violations.push(format!(
                "the proxy saw {recipients} email recipients accepted, moto counts {accepted} (GetSendQuota)"
            ));
        }
        check.notes.push(format!("moto counts {accepted} emails sent"));
    }
    if moto.data_json.is_none() && moto.delivered_pushes.is_none() && moto.emails_accepted.is_none() {
        return check.skip("no record of moto's was read");
    }
    check
}

/// No email address of the load in clear in the workers' logs, the dead letters' attributes or
/// dlq-redrive's reports: `found` is what `moto_harness::personal_data` found there, `searched`
/// says what was searched.
pub fn personal_data(found: &[moto_harness::personal_data::Found], searched: String) -> Check {
    let mut check = Check::new(
        "no-address-in-clear",
        "no email address of the load appears in clear in a log, a dead letter's attributes or a report",
    );
    check.notes.push(searched);
    check
        .violations
        .extend(found.iter().take(20).map(|finding| finding.to_string()));
    if found.len() > 20 {
        check.violations.push(format!("… and {} more", found.len() - 20));
    }
    check
}

/// "Sold out" decided only when full, judged in time on the proxy's [`crate::ledger::Ledger`]:
/// when a sold-out notification for an event reached the emulator, at least that event's capacity
/// of ticket transactions had been applied (counted from when each was forwarded). The end state
/// cannot show this: a sold-out sent while a seat was free passes there once the event fills up.
pub fn sold_out_in_time(plan: &LoadPlan, ledger: &crate::ledger::Ledger) -> Check {
    let mut check = Check::new(
        "sold-out-decided-when-full",
        "every sold-out notification was enqueued after its event's capacity of ticket transactions had been \
         applied (the proxy's record of committed transactions, in time)",
    );
    let capacities: HashMap<&str, u64> = plan.events.iter().map(|e| (e.id.as_str(), e.capacity)).collect();
    let mut commits: HashMap<&str, Vec<std::time::Instant>> = HashMap::new();
    for commit in &ledger.commits {
        commits.entry(commit.event_id.as_str()).or_default().push(commit.asked);
    }
    for times in commits.values_mut() {
        times.sort();
    }
    for sent in &ledger.sold_out {
        let Some(capacity) = capacities.get(sent.event_id.as_str()) else {
            check.violations.push(format!(
                "{}/{}: sold out for an event the load does not have",
                sent.event_id, sent.user_id
            ));
            continue;
        };
        let before = commits
            .get(sent.event_id.as_str())
            .map_or(0, |times| times.partition_point(|t| *t < sent.arrived)) as u64;
        if before < *capacity {
            check.violations.push(format!(
                "{}/{}: told sold out when {before} of its {capacity} seats had been committed",
                sent.event_id, sent.user_id
            ));
        }
    }
    check.notes.push(format!(
        "{} sold-out enqueues judged against {} applied ticket transactions",
        ledger.sold_out.len(),
        ledger.commits.len()
    ));
    if ledger.commits.is_empty() {
        return check.skip("the proxy recorded no ticket transaction: nothing to judge the sold-outs by");
    }
    check
}

/// The idempotency table once everything drained: no lock left in progress that has not expired
/// (a record still INPROGRESS whose lock is live would block its message's next delivery), and
/// every completed ticket-processor record's stored result agrees with the tickets table (an
/// issued ticket exists under that id and its notification is that ticket's; a sold-out names a
/// user without a ticket for an event that is full).
pub fn idempotency_checks(plan: &LoadPlan, observed: &Observed) -> Vec<Check> {
    let mut locks = Check::new(
        "no-live-lock-left-in-progress",
        "once everything drained, no idempotency record is INPROGRESS with a lock that has not expired",
    );
    let mut results = Check::new(
        "stored-results-agree-with-tickets",
        "every completed ticket-processor record's stored result agrees with the tickets table",
    );
    let tickets: HashMap<&str, &crate::observe::TicketState> =
        observed.tickets.iter().map(|t| (t.ticket_id.as_str(), t)).collect();
    let holders: std::collections::HashSet<(&str, &str)> = observed
        .tickets
        .iter()
        .map(|t| (t.event_id.as_str(), t.user_id.as_str()))
        .collect();
    let full = |event_id: &str| {
        plan.events
            .iter()
            .find(|e| e.id == event_id)
            .is_some_and(|e| observed.tickets.iter().filter(|t| t.event_id == event_id).count() as u64 >= e.capacity)
    };
    let (mut in_progress, mut compared, mut others) = (0, 0, 0);
    for record in &observed.idempotency {
        match record.status.as_str() {
            // Not an idempotency record: notification-sender's send budget keeps its buckets in
            // the same table, without a status.
            "" => others += 1,
            "INPROGRESS" => {
                in_progress += 1;
                match record.in_progress_expiration {
                    Some(expiry) if expiry <= observed.idempotency_read_at_ms => {}
                    Some(expiry) => locks.violations.push(format!(
                        "{}: INPROGRESS, its lock expires {} ms after the end",
                        record.key,
                        expiry - observed.idempotency_read_at_ms
                    )),
                    None => locks
                        .violations
                        .push(format!("{}: INPROGRESS with no lock expiry", record.key)),
                }
            }
            "COMPLETED" => {
                let Some(processed) = record
                    .data
                    .as_deref()
                    .and_then(|data| serde_json::from_str::<ticket_processor::Processed>(data).ok())
                else {
                    continue;
                };
                compared += 1;
                let broken = match (processed.outcome, &processed.ticket_id) {
                    (ticket_processor::TicketOutcome::SoldOut, _) => {
                        let mut parts = processed.notification_id.splitn(3, '#');
                        match (parts.next(), parts.next(), parts.next()) {
                            (Some("sold-out"), Some(event_id), Some(user_id)) => {
                                if holders.contains(&(event_id, user_id)) {
                                    Some(format!("sold out, but {event_id}/{user_id} holds a ticket"))
                                } else if !full(event_id) {
                                    Some(format!("sold out, but {event_id} has a seat free"))
                                } else {
                                    None
                                }
                            }
                            _ => Some(format!("sold out with notification {:?}", processed.notification_id)),
                        }
                    }
                    (_, None) => Some("issued without a ticket id".to_owned()),
                    (_, Some(ticket_id)) if !tickets.contains_key(ticket_id.as_str()) => {
                        Some(format!("ticket {ticket_id} is not in the tickets table"))
                    }
                    (_, Some(ticket_id)) if processed.notification_id != format!("ticket-issued#{ticket_id}") => Some(
                        format!("ticket {ticket_id} with notification {:?}", processed.notification_id),
                    ),
                    _ => None,
                };
                if let Some(broken) = broken {
                    results.violations.push(format!("{}: {broken}", record.key));
                }
            }
            other => locks.violations.push(format!("{}: status {other:?}", record.key)),
        }
    }
    locks.notes.push(format!(
        "{} records, {in_progress} INPROGRESS with an expired lock, {others} items without a status (the send budget's)",
        observed.idempotency.len()
    ));
    results
        .notes
        .push(format!("{compared} completed ticket-processor records compared"));
    if observed.idempotency.is_empty() {
        locks = locks.skip("the idempotency table was not read, or is empty");
    }
    if compared == 0 {
        results = results.skip("no completed ticket-processor record to compare");
    }
    vec![locks, results]
}
