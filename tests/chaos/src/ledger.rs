//! The proxy's record of what the workers committed, in time: every ticket transaction the
//! emulator applied (when the proxy asked it), and every sold-out notification the emulator
//! enqueued (when its request reached the proxy). `sold-out-decided-when-full` reads it: a
//! sold-out enqueued while fewer than capacity ticket transactions of its event had even been
//! asked of the emulator was decided while a seat was free, whatever the end state says.
//!
//! It also keeps, per process (each worker process has its own tagged endpoint of the proxy),
//! when the provider accepted each send and when each idempotency completion was accepted: a
//! repeated send is excused only by a kill of the process that sent it, after the provider
//! accepted it and before that step's completion was accepted ([`Timeline`]).
//!
//! Both instants of the sold-out check err on the lenient side: a transaction counts from when the proxy forwarded it
//! (it commits later, if at all: only applied ones are kept), and a sold-out is judged at its
//! enqueue's arrival (its decision came earlier). So a violation is never a timing artefact.

use std::sync::Mutex;
use std::time::Instant;

use emulation::call::Service;
use emulation::form::form_fields;
use emulation::hook::{Exchange, Hook};
use emulation::sends::{EmailSend, PushSend};
use messages::{Notification, NotificationKind};
use serde_json::Value;

/// One applied ticket transaction: its event, and when the proxy forwarded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub event_id: String,
    pub asked: Instant,
}

/// One sold-out notification the emulator enqueued: for whom, and when its request arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoldOutSent {
    pub event_id: String,
    pub user_id: String,
    pub arrived: Instant,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    pub commits: Vec<Commit>,
    pub sold_out: Vec<SoldOutSent>,
    pub timeline: Timeline,
    /// Every idempotency lock a worker asked for (a conditional PutItem of an INPROGRESS record),
    /// applied or not: the record's key and when the request reached the proxy (the process had
    /// started that record). The FIFO group-order check reads it.
    pub locks: Vec<(String, Instant)>,
    /// The `original-message-id` of every copy dlq-redrive sent back to a source queue: those
    /// messages left their FIFO group's order through the DLQ, as SQS's redrive policy does.
    pub redriven: Vec<String>,
}

/// One accepted send: which process sent it (its endpoint's tag, `<binary>/<slot>`), when its
/// request had reached the proxy (the process had let it go), when the provider's answer reached
/// the proxy, and what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedSend {
    pub origin: String,
    pub sent: Instant,
    pub accepted: Instant,
    pub send: SendKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendKind {
    Push(PushSend),
    Email(EmailSend),
}

/// One SIGKILL (the supervisor's, or a Runtime API's at a deadline) of the process of `origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillAt {
    pub origin: String,
    pub at: Instant,
}

/// What a repeated send is judged by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub sends: Vec<TimedSend>,
    /// Idempotency completion writes the emulator accepted: the record's key and when.
    pub completions: Vec<(String, Instant)>,
    pub kills: Vec<KillAt>,
}

impl Timeline {
    /// How many kills excuse a repeat of the step `step_key` (`<notificationId>#push`): kills of
    /// the process that sent one of `sends` (the sends of that step the provider accepted), after
    /// its request had left the process (reached the proxy, which forwarded it: a request in flight
    /// when its process dies is still accepted, and that process can never record it), before the
    /// next kill of that slot (a restarted process is another process) and before any completion
    /// of the step was accepted.
    pub fn kills_between_acceptance_and_record(&self, step_key: &str, sends: &[&TimedSend]) -> usize {
        let suffix = format!("#{step_key}");
        let completed = self
            .completions
            .iter()
            .filter(|(key, _)| key.ends_with(&suffix) || key == step_key)
            .map(|(_, at)| *at)
            .min();
        let mut excusing = 0;
        for kill in &self.kills {
            let before_record = completed.is_none_or(|done| kill.at < done);
            let killed_a_sender = sends.iter().any(|send| {
                send.origin == kill.origin
                    && send.sent < kill.at
                    && !self
                        .kills
                        .iter()
                        .any(|other| other.origin == kill.origin && send.sent < other.at && other.at < kill.at)
            });
            if before_record && killed_a_sender {
                excusing += 1;
            }
        }
        excusing
    }

    /// The step's story for a report: its sends (process, when sent and accepted), the kills of
    /// those processes and its completions, in ms from its first send.
    pub fn explain(&self, step_key: &str, sends: &[&TimedSend]) -> String {
        let Some(t0) = sends.iter().map(|s| s.sent).min() else {
            return "no timed send".to_owned();
        };
        let ms = |at: Instant| {
            if at >= t0 {
                format!("+{}", at.duration_since(t0).as_millis())
            } else {
                format!("-{}", t0.duration_since(at).as_millis())
            }
        };
        let mut parts: Vec<String> = sends
            .iter()
            .map(|s| format!("sent by {} at {} accepted {}", s.origin, ms(s.sent), ms(s.accepted)))
            .collect();
        for kill in self.kills.iter().filter(|k| sends.iter().any(|s| s.origin == k.origin)) {
            parts.push(format!("{} killed at {}", kill.origin, ms(kill.at)));
        }
        let suffix = format!("#{step_key}");
        for (_, at) in self.completions.iter().filter(|(key, _)| key.ends_with(&suffix)) {
            parts.push(format!("completed at {}", ms(*at)));
        }
        parts.join("; ")
    }
}

/// The hook that keeps the [`Ledger`]; it only observes.
#[derive(Debug, Default)]
pub struct LedgerHook {
    ledger: Mutex<Ledger>,
}

impl LedgerHook {
    pub fn ledger(&self) -> Ledger {
        self.ledger.lock().unwrap().clone()
    }
}

impl Hook for LedgerHook {
    fn name(&self) -> &'static str {
        "ledger"
    }

    fn observe(&self, exchange: &Exchange) {
        if (exchange.call.service, exchange.call.operation.as_str()) == (Service::DynamoDb, "PutItem")
            && let Some(key) = lock_key(&exchange.request)
        {
            self.ledger.lock().unwrap().locks.push((key, exchange.arrived));
        }
        if !exchange.applied() {
            return;
        }
        let origin = exchange.origin.as_deref().unwrap_or_default().to_owned();
        let accepted = exchange.upstream.map_or(exchange.answered, |(_, done)| done);
        let timed = |send: SendKind| {
            self.ledger.lock().unwrap().timeline.sends.push(TimedSend {
                origin: origin.clone(),
                sent: exchange.arrived,
                accepted,
                send,
            })
        };
        match (exchange.call.service, exchange.call.operation.as_str()) {
            (Service::Sns, "Publish") => timed(SendKind::Push(emulation::sends::push(&exchange.request))),
            (Service::Ses, "SendEmail") => {
                if let Some(email) = emulation::sends::email(&exchange.request) {
                    timed(SendKind::Email(email));
                }
            }
            (Service::DynamoDb, "UpdateItem") => {
                if let Some(key) = completion_key(&exchange.request) {
                    self.ledger.lock().unwrap().timeline.completions.push((key, accepted));
                }
            }
            (Service::DynamoDb, "TransactWriteItems") => {
                if let (Some(event_id), Some((asked, _))) =
                    (ticket_transaction_event(&exchange.request), exchange.upstream)
                {
                    self.ledger.lock().unwrap().commits.push(Commit { event_id, asked });
                }
            }
            (Service::Sqs, "SendMessageBatch") => {
                let originals = redriven_originals(&exchange.request);
                if !originals.is_empty() {
                    self.ledger.lock().unwrap().redriven.extend(originals);
                }
            }
            (Service::Sqs, "SendMessage") => {
                if let Some((event_id, user_id)) = sold_out_notification(&exchange.request) {
                    self.ledger.lock().unwrap().sold_out.push(SoldOutSent {
                        event_id,
                        user_id,
                        arrived: exchange.arrived,
                    });
                }
            }
            _ => {}
        }
    }
}

/// The event of a TransactWriteItems that puts a ticket (an item with `ticketId` and `eventId`).
pub fn ticket_transaction_event(body: &[u8]) -> Option<String> {
    let request: Value = serde_json::from_slice(body).ok()?;
    request["TransactItems"].as_array()?.iter().find_map(|action| {
        let item = &action["Put"]["Item"];
        item["ticketId"]["S"].as_str()?;
        item["eventId"]["S"].as_str().map(str::to_owned)
    })
}

/// The event and user of a SendMessage whose body is a sold-out notification (JSON or query
/// protocol).
pub fn sold_out_notification(body: &[u8]) -> Option<(String, String)> {
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(request) => request["MessageBody"].as_str()?.to_owned(),
        Err(_) => form_fields(body).get("MessageBody")?.clone(),
    };
    let notification: Notification = serde_json::from_str(&message).ok()?;
    (notification.kind == NotificationKind::SoldOut).then_some((notification.event_id, notification.user_id))
}

/// The key of an idempotency completion (an UpdateItem that sets `:completed` = COMPLETED on the
/// record keyed `id`, `shared::idempotency::dynamodb`).
pub fn completion_key(body: &[u8]) -> Option<String> {
    let request: Value = serde_json::from_slice(body).ok()?;
    (request["ExpressionAttributeValues"][":completed"]["S"].as_str() == Some("COMPLETED"))
        .then(|| request["Key"]["id"]["S"].as_str().map(str::to_owned))
        .flatten()
}

/// The key of an idempotency lock (a PutItem of an item with `status` INPROGRESS under a
/// condition, `shared::idempotency::dynamodb`).
pub fn lock_key(body: &[u8]) -> Option<String> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let item = &request["Item"];
    (item["status"]["S"].as_str() == Some("INPROGRESS") && request["ConditionExpression"].is_string())
        .then(|| item["id"]["S"].as_str().map(str::to_owned))
        .flatten()
}

/// The `original-message-id` attributes of a SendMessageBatch's entries (JSON protocol): the
/// copies dlq-redrive sends back carry their original's id.
pub fn redriven_originals(body: &[u8]) -> Vec<String> {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    request["Entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            entry["MessageAttributes"][shared::attributes::ORIGINAL_MESSAGE_ID]["StringValue"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// The tag of a worker process's endpoint, and of its kills.
pub fn origin(binary: &str, slot: usize) -> String {
    format!("{binary}/{slot}")
}
