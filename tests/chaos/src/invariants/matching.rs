//! The notifications the final state calls for, and which of them each observed send is: the
//! index several invariants share.

use std::collections::{BTreeMap, HashMap, HashSet};

use messages::{Notification, NotificationKind};
use notification_sender::templates::{self, Language, Values};

use super::Expectations;
use crate::load::{LoadPlan, RequestSpec};
use crate::observe::{Observed, QueueRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Channel {
    Push,
    Email,
}

impl Channel {
    /// As notification-sender names it in a step's key (`<notificationId>#push`).
    pub(super) fn key(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Email => "email",
        }
    }
}

/// A notification the final state calls for, and its rendered content.
pub(super) struct ExpectedNotification {
    pub(super) id: String,
    push_text: String,
    push_attributes: BTreeMap<String, String>,
    email_to: String,
    pub(super) email_subject: String,
    email_bodies: [String; 2],
}

pub(super) fn expected_notification(
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

/// What the end state holds, indexed: tickets per (event, user), the requests by key and body,
/// the requests dead-lettered with a reason.
pub(super) struct Facts<'a> {
    pub(super) plan: &'a LoadPlan,
    pub(super) observed: &'a Observed,
    pub(super) tickets: HashMap<(&'a str, &'a str), Vec<&'a str>>,
    pub(super) requests: HashMap<(&'a str, &'a str), &'a RequestSpec>,
    pub(super) request_bodies: HashMap<&'a str, &'a RequestSpec>,
    pub(super) dead_requests: HashMap<&'a str, usize>,
}

impl<'a> Facts<'a> {
    pub(super) fn new(plan: &'a LoadPlan, observed: &'a Observed) -> Self {
        let mut tickets: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
        for ticket in &observed.tickets {
            tickets
                .entry((ticket.event_id.as_str(), ticket.user_id.as_str()))
                .or_default()
                .push(ticket.ticket_id.as_str());
        }
        let requests = plan
            .requests
            .iter()
            .map(|r| ((r.event_id.as_str(), r.user_id.as_str()), r))
            .collect();
        let request_bodies: HashMap<&str, &RequestSpec> = plan.requests.iter().map(|r| (r.body.as_str(), r)).collect();
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
        Self {
            plan,
            observed,
            tickets,
            requests,
            request_bodies,
            dead_requests,
        }
    }

    pub(super) fn tickets_per_event(&self, event_id: &str) -> u64 {
        self.observed.tickets.iter().filter(|t| t.event_id == event_id).count() as u64
    }

    pub(super) fn event_full(&self, event_id: &str) -> bool {
        self.plan
            .events
            .iter()
            .find(|e| e.id == event_id)
            .is_some_and(|e| self.tickets_per_event(event_id) >= e.capacity)
    }

    /// The notifications the final state calls for: a ticket's, or a sold-out for a request
    /// without a ticket or a dead letter whose event is full.
    pub(super) fn expected(&self) -> Vec<ExpectedNotification> {
        let mut expected = Vec::new();
        for request in &self.plan.requests {
            let key = (request.event_id.as_str(), request.user_id.as_str());
            match self.tickets.get(&key).and_then(|ids| ids.first()) {
                Some(ticket_id) => expected.push(expected_notification(
                    request,
                    NotificationKind::TicketIssued,
                    Some(ticket_id),
                )),
                None if !self.dead_requests.contains_key(request.body.as_str())
                    && self.event_full(&request.event_id) =>
                {
                    expected.push(expected_notification(request, NotificationKind::SoldOut, None))
                }
                None => {}
            }
        }
        expected
    }
}

/// Which expected notification a send is. Indexes by what identifies a send (linear search over
/// every notification per send is quadratic: minutes to hours at 5,000 requests).
pub(super) struct Matcher<'e> {
    by_push: HashMap<(&'e str, &'e BTreeMap<String, String>), &'e ExpectedNotification>,
    by_email: HashMap<(&'e str, &'e str), Vec<&'e ExpectedNotification>>,
    push_topic: &'e str,
    sender: &'e str,
}

impl<'e> Matcher<'e> {
    pub(super) fn new(expected: &'e [ExpectedNotification], expect: &'e Expectations<'_>) -> Self {
        let by_push = expected
            .iter()
            .map(|n| ((n.push_text.as_str(), &n.push_attributes), n))
            .collect();
        let by_email = expected.iter().fold(HashMap::new(), |mut index, n| {
            index
                .entry((n.email_to.as_str(), n.email_subject.as_str()))
                .or_insert_with(Vec::new)
                .push(n);
            index
        });
        Self {
            by_push,
            by_email,
            push_topic: expect.push_topic,
            sender: expect.sender,
        }
    }

    pub(super) fn push(&self, push: &emulation::sends::PushSend) -> Option<&'e ExpectedNotification> {
        if push.topic_arn != self.push_topic {
            return None;
        }
        self.by_push.get(&(push.text.as_str(), &push.attributes)).copied()
    }

    pub(super) fn email(&self, email: &emulation::sends::EmailSend) -> Option<&'e ExpectedNotification> {
        let [to] = email.to.as_slice() else {
            return None;
        };
        if email.source != self.sender {
            return None;
        }
        self.by_email
            .get(&(to.as_str(), email.subject.as_str()))?
            .iter()
            .find(|n| n.email_bodies.contains(&email.body))
            .copied()
    }
}

/// What was sent, per notification and channel: the sends moto accepted, those whose answer was
/// lost, the timed sends of the proxy's record, and the sends no outcome calls for.
pub(super) struct SendCounts<'e, 't> {
    pub(super) sends: HashMap<(String, Channel), usize>,
    pub(super) lost: HashMap<(String, Channel), usize>,
    pub(super) timed_by_step: HashMap<(&'e str, Channel), Vec<&'t crate::ledger::TimedSend>>,
    pub(super) unexpected: Vec<String>,
}

impl<'e, 't> SendCounts<'e, 't> {
    pub(super) fn new(matcher: &Matcher<'e>, observed: &Observed, timeline: &'t crate::ledger::Timeline) -> Self {
        // Each timed send's notification and channel, once.
        let mut timed_by_step: HashMap<(&str, Channel), Vec<&crate::ledger::TimedSend>> = HashMap::new();
        for timed in &timeline.sends {
            let matched = match &timed.send {
                crate::ledger::SendKind::Push(push) => matcher.push(push).map(|n| (n.id.as_str(), Channel::Push)),
                crate::ledger::SendKind::Email(email) => matcher.email(email).map(|n| (n.id.as_str(), Channel::Email)),
            };
            if let Some(step) = matched {
                timed_by_step.entry(step).or_default().push(timed);
            }
        }
        let mut sends: HashMap<(String, Channel), usize> = HashMap::new();
        let mut unexpected: Vec<String> = Vec::new();
        for push in &observed.pushes {
            match matcher.push(push) {
                Some(n) => *sends.entry((n.id.clone(), Channel::Push)).or_default() += 1,
                None => unexpected.push(format!(
                    "push to {} that no outcome calls for: {:?} {:?}",
                    push.topic_arn, push.text, push.attributes
                )),
            }
        }
        for email in &observed.emails {
            match matcher.email(email) {
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
        for n in observed.lost_pushes.iter().filter_map(|p| matcher.push(p)) {
            *lost.entry((n.id.clone(), Channel::Push)).or_default() += 1;
        }
        for n in observed.lost_emails.iter().filter_map(|e| matcher.email(e)) {
            *lost.entry((n.id.clone(), Channel::Email)).or_default() += 1;
        }
        Self {
            sends,
            lost,
            timed_by_step,
            unexpected,
        }
    }
}

/// The (event, user) pairs told "sold out", from the sends as sent, matched or not: a user told
/// "sold out" who also holds a ticket must count as two outcomes, not vanish as an unexpected send.
pub(super) fn told_sold_out(plan: &LoadPlan, observed: &Observed) -> HashSet<(String, String)> {
    let mut sold_out_subjects: HashMap<(&str, String), (&str, &str)> = HashMap::new();
    for request in &plan.requests {
        let rendered = expected_notification(request, NotificationKind::SoldOut, None);
        sold_out_subjects.insert(
            (request.email.as_str(), rendered.email_subject),
            (request.event_id.as_str(), request.user_id.as_str()),
        );
    }
    let mut told = HashSet::new();
    for push in &observed.pushes {
        if push.attributes.get("kind").map(String::as_str) == Some(NotificationKind::SoldOut.as_str()) {
            let attribute = |name: &str| push.attributes.get(name).cloned().unwrap_or_default();
            told.insert((attribute("eventId"), attribute("userId")));
        }
    }
    for email in &observed.emails {
        if let [to] = email.to.as_slice()
            && let Some((event_id, user_id)) = sold_out_subjects.get(&(to.as_str(), email.subject.clone()))
        {
            told.insert(((*event_id).to_owned(), (*user_id).to_owned()));
        }
    }
    told
}
