//! The sale's hook on the proxy: what the workers did, from the wire only. For every call a
//! short summary (operation, when it arrived and was answered, the modelled time and the
//! emulator's own, the answer's code, whether the model decided); for every accepted
//! TransactWriteItems, the keys it put (a ticket write) and the units its hottest partition cost;
//! for every accepted SendMessage to the notification queue, the notification it carried.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emulation::call::{Access, ItemKey, Service};
use emulation::hook::{Ending, Exchange, Hook};
use emulation::limits::LimitsModel;
use serde_json::Value;

/// One call, in brief.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSummary {
    /// `DynamoDB.TransactWriteItems`, …
    pub operation: String,
    pub arrived: Instant,
    pub answered: Instant,
    /// The time the model asked for (its latency), if it did.
    pub modelled: Option<Duration>,
    /// The emulator's own time, for forwarded calls.
    pub emulator: Option<Duration>,
    pub status: u16,
    pub code: Option<String>,
    /// The model answered it (a conflict or a throttle) instead of the emulator.
    pub refused_by_model: bool,
}

impl CallSummary {
    /// The emulator took longer than the model's latency: the caller waited for the emulator.
    pub fn emulator_was_slower(&self) -> bool {
        match (self.emulator, self.modelled) {
            (Some(emulator), Some(modelled)) => emulator > modelled,
            _ => false,
        }
    }
}

/// A notification the ticket-processor enqueued, as the queue accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub at: Instant,
    pub user_id: String,
    /// `ticket-issued` or `sold-out`.
    pub kind: String,
}

#[derive(Debug, Default)]
pub struct Record {
    pub calls: Vec<CallSummary>,
    /// Each Put of an accepted TransactWriteItems, with when it was accepted.
    pub puts: Vec<(Instant, ItemKey)>,
    /// The units each accepted TransactWriteItems cost on its hottest partition.
    pub transaction_units: Vec<f64>,
    pub notifications: Vec<Enqueued>,
}

pub struct Recorder {
    notification_queue: String,
    model: Option<Arc<LimitsModel>>,
    record: Mutex<Record>,
}

impl Recorder {
    /// Watch SendMessage calls to `notification_queue`; `model` prices transactions.
    pub fn new(notification_queue: &str, model: Option<Arc<LimitsModel>>) -> Self {
        Self {
            notification_queue: notification_queue.to_owned(),
            model,
            record: Mutex::new(Record::default()),
        }
    }

    pub fn take(&self) -> Record {
        std::mem::take(&mut *self.record.lock().unwrap())
    }

    /// Ticket puts so far (for the progress line and the timeline).
    pub fn puts(&self) -> usize {
        self.record.lock().unwrap().puts.len()
    }
}

impl Hook for Recorder {
    fn name(&self) -> &'static str {
        "flash-sale recorder"
    }

    fn observe(&self, exchange: &Exchange) {
        let call = &exchange.call;
        let summary = CallSummary {
            operation: call.full_name(),
            arrived: exchange.arrived,
            answered: exchange.answered,
            modelled: exchange
                .not_before
                .map(|at| at.saturating_duration_since(exchange.arrived)),
            emulator: exchange.upstream.map(|(asked, done)| done - asked),
            status: exchange.status,
            code: exchange.error_code.clone(),
            refused_by_model: exchange.decided_by == Some("limits"),
        };
        let accepted = exchange.ending == Ending::Forwarded && exchange.status == 200;
        let mut record = self.record.lock().unwrap();
        record.calls.push(summary);
        if !accepted {
            return;
        }
        match (call.service, call.operation.as_str()) {
            (Service::DynamoDb, "TransactWriteItems") => {
                for item in call.items.iter().filter(|item| item.access == Access::Put) {
                    record.puts.push((exchange.answered, item.key.clone()));
                }
                if let Some(model) = &self.model {
                    record.transaction_units.push(model.hottest_partition_units(call));
                }
            }
            (Service::Sqs, "SendMessage" | "SendMessageBatch")
                if call.queue.as_deref() == Some(&self.notification_queue) =>
            {
                record
                    .notifications
                    .extend(enqueued(&exchange.request, exchange.answered));
            }
            _ => {}
        }
    }
}

/// The notifications of a SendMessage or SendMessageBatch request (awsJson1_0).
fn enqueued(request: &[u8], at: Instant) -> Vec<Enqueued> {
    let Ok(request) = serde_json::from_slice::<Value>(request) else {
        return Vec::new();
    };
    let bodies: Vec<&str> = match request["Entries"].as_array() {
        Some(entries) => entries.iter().filter_map(|e| e["MessageBody"].as_str()).collect(),
        None => request["MessageBody"].as_str().into_iter().collect(),
    };
    bodies
        .into_iter()
        .filter_map(|body| serde_json::from_str::<Value>(body).ok())
        .filter_map(|notification| {
            Some(Enqueued {
                at,
                user_id: notification["userId"].as_str()?.to_owned(),
                kind: notification["kind"].as_str()?.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_read_from_single_and_batch_sends() {
        let now = Instant::now();
        let notification = |user: &str, kind: &str| {
            serde_json::json!({"notificationId": "n", "kind": kind, "eventId": "e", "userId": user}).to_string()
        };
        let single = serde_json::json!({"QueueUrl": "q", "MessageBody": notification("fan-1", "sold-out")});
        let read = enqueued(single.to_string().as_bytes(), now);
        assert_eq!(
            read,
            vec![Enqueued {
                at: now,
                user_id: "fan-1".into(),
                kind: "sold-out".into()
            }]
        );
        let batch = serde_json::json!({"QueueUrl": "q", "Entries": [
            {"Id": "0", "MessageBody": notification("fan-2", "ticket-issued")},
            {"Id": "1", "MessageBody": "not json"}
        ]});
        let read = enqueued(batch.to_string().as_bytes(), now);
        assert_eq!(read.len(), 1);
        assert_eq!(
            (read[0].user_id.as_str(), read[0].kind.as_str()),
            ("fan-2", "ticket-issued")
        );
    }
}
