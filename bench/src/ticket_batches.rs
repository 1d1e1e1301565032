//! SQS events of ticket requests, as Lambda's event source mapping delivers them
//! (`aws_lambda_events::sqs` types, serialised as Lambda sends them).

use std::collections::HashMap;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{Value, json};

/// One batch: the invocation payload and its records' messageIds.
#[derive(Debug, Clone)]
pub struct TicketBatch {
    pub message_ids: Vec<String>,
    /// The requesting users, in record order.
    pub user_ids: Vec<String>,
    pub event: SqsEvent,
    pub payload: Vec<u8>,
}

impl TicketBatch {
    fn new(user_ids: Vec<String>, event: SqsEvent) -> Self {
        Self {
            message_ids: event.records.iter().filter_map(|r| r.message_id.clone()).collect(),
            user_ids,
            payload: serde_json::to_vec(&event).expect("an SqsEvent serialises"),
            event,
        }
    }
}

/// `size` requests for `event_id`, each from a user never seen before, with new messageIds:
/// every record issues a ticket.
pub fn fresh_batch(event_id: &str, queue_arn: &str, size: usize) -> TicketBatch {
    let user_ids: Vec<String> = (0..size)
        .map(|_| format!("user-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]))
        .collect();
    let mut event = SqsEvent::default();
    event.records = user_ids
        .iter()
        .map(|user_id| {
            let body = json!({
                "eventId": event_id,
                "userId": user_id,
                "requestedAt": "2026-11-22T10:00:00.000Z",
                "contact": {"email": format!("{user_id}@example.com")},
                "locale": "en",
            });
            record(uuid::Uuid::new_v4().to_string(), body.to_string(), queue_arn)
        })
        .collect();
    TicketBatch::new(user_ids, event)
}

/// One record as SQS delivers it the first time.
fn record(message_id: String, body: String, queue_arn: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.receipt_handle = Some(format!("handle-{message_id}"));
    message.message_id = Some(message_id);
    message.body = Some(body);
    message.md5_of_body = Some(String::new());
    message.attributes = HashMap::from([
        ("ApproximateReceiveCount".to_owned(), "1".to_owned()),
        ("SentTimestamp".to_owned(), "1700000000000".to_owned()),
        ("SenderId".to_owned(), "AIDAEXAMPLE".to_owned()),
        (
            "ApproximateFirstReceiveTimestamp".to_owned(),
            "1700000000001".to_owned(),
        ),
    ]);
    message.event_source = Some("aws:sqs".to_owned());
    message.event_source_arn = Some(queue_arn.to_owned());
    message.aws_region = Some("us-east-1".to_owned());
    message
}

/// The same batch delivered again (same messageIds and bodies, one more receive): every record
/// is a duplicate that idempotency must answer without doing the work again.
pub fn redelivery(batch: &TicketBatch) -> TicketBatch {
    let mut event = batch.event.clone();
    for record in &mut event.records {
        record
            .attributes
            .insert("ApproximateReceiveCount".to_owned(), "2".to_owned());
    }
    TicketBatch::new(batch.user_ids.clone(), event)
}

/// The messageIds a batch response reports failed (`batchItemFailures`); an invocation error
/// or a response that is not a batch response is an error naming it.
pub fn failed_message_ids(response: &[u8]) -> Result<Vec<String>, String> {
    let response: Value = serde_json::from_slice(response)
        .map_err(|e| format!("not JSON ({e}): {}", String::from_utf8_lossy(response)))?;
    let failures = response
        .get("batchItemFailures")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("not a batch response: {response}"))?;
    Ok(failures
        .iter()
        .filter_map(|f| f.get("itemIdentifier").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::SqsEvent;

    #[test]
    fn a_fresh_batch_is_an_sqs_event_of_distinct_valid_ticket_requests() {
        let batch = fresh_batch("e-1", "arn:aws:sqs:us-east-1:123456789012:q", 10);
        let event: SqsEvent = serde_json::from_slice(&batch.payload).unwrap();
        assert_eq!(event.records.len(), 10);
        let mut ids = batch.message_ids.clone();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10, "messageIds are distinct");
        let mut users = std::collections::HashSet::new();
        for record in &event.records {
            let request: Value = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
            assert_eq!(request["eventId"], "e-1");
            assert!(batch.user_ids.iter().any(|u| request["userId"] == u.as_str()));
            assert!(users.insert(request["userId"].as_str().unwrap().to_owned()));
            assert_eq!(
                record.event_source_arn.as_deref(),
                Some("arn:aws:sqs:us-east-1:123456789012:q")
            );
        }
    }

    #[test]
    fn a_redelivery_keeps_ids_and_bodies() {
        let batch = fresh_batch("e-1", "arn:aws:sqs:us-east-1:123456789012:q", 3);
        let again = redelivery(&batch);
        let first: SqsEvent = serde_json::from_slice(&batch.payload).unwrap();
        let second: SqsEvent = serde_json::from_slice(&again.payload).unwrap();
        for (a, b) in first.records.iter().zip(&second.records) {
            assert_eq!((&a.message_id, &a.body), (&b.message_id, &b.body));
            assert_eq!(b.attributes["ApproximateReceiveCount"], "2");
        }
    }

    #[test]
    fn batch_responses_are_read_and_anything_else_is_an_error() {
        assert_eq!(
            failed_message_ids(br#"{"batchItemFailures":[]}"#).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            failed_message_ids(br#"{"batchItemFailures":[{"itemIdentifier":"m-2"}]}"#).unwrap(),
            vec!["m-2"]
        );
        assert!(failed_message_ids(br#"{"errorType":"Unhandled"}"#).is_err());
        assert!(failed_message_ids(b"oops").is_err());
    }
}
