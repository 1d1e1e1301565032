//! The sample events in `events/ticket-processor/` (for `cargo lambda invoke`), invoked in the
//! order their README gives, against moto, with the outcomes its table promises.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use messages::NotificationKind;
use shared::dead_letter::SqsDeadLetterQueue;
use shared::{BatchConfig, BatchOutcome, BatchProcessor, Deadline, attributes};
use ticket_processor::testing::{Received, Stack};

fn sample(name: &str) -> SqsEvent {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/ticket-processor")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not an SQS event: {e}", path.display()))
}

/// The events the README assumes: `concert-2026` (100 seats on 4 counters), `tiny-gig` (1 seat).
async fn seeded() -> Stack {
    let stack = Stack::new().await;
    stack.seed_sharded_event("concert-2026", 100, 4).await;
    stack.seed_event("tiny-gig", 1).await;
    stack
}

async fn invoke(stack: &Stack, batch: &BatchProcessor, name: &str) -> BatchOutcome {
    let handler = stack.idempotency().wrap(stack.processor());
    batch.run(sample(name), Deadline::NONE, &handler).await.unwrap()
}

fn failures(outcome: &BatchOutcome) -> Vec<String> {
    outcome
        .response()
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

fn ids(notifications: &[Received]) -> BTreeSet<(String, String)> {
    notifications
        .iter()
        .map(|n| (n.notification.user_id.clone(), n.notification.notification_id.clone()))
        .collect()
}

fn attribute(message: &aws_sdk_sqs::types::Message, name: &str) -> String {
    message
        .message_attributes()
        .and_then(|attributes| attributes.get(name))
        .and_then(|value| value.string_value())
        .unwrap_or_else(|| panic!("no {name} on {message:?}"))
        .to_owned()
}

#[tokio::test]
async fn every_sample_event_has_the_outcome_its_readme_promises_with_a_dead_letter_queue() {
    let stack = seeded().await;
    // As the README runs them against moto: BATCH_CONCURRENCY=1, so user-1 is first in line.
    let batch = BatchProcessor::new(BatchConfig {
        concurrency: 1,
        ..BatchConfig::default()
    })
    .with_dead_letters(Arc::new(SqsDeadLetterQueue::new(
        aws_sdk_sqs::Client::new(&stack.sdk),
        &stack.dead_letter_queue_url,
    )));

    assert!(failures(&invoke(&stack, &batch, "valid-batch.json").await).is_empty());
    let tickets = stack.tickets("concert-2026").await;
    assert_eq!(tickets.len(), 3);
    assert_eq!(stack.issued("concert-2026").await, 3);
    let issued: BTreeSet<(String, String)> = tickets
        .iter()
        .map(|t| (t.user_id.clone(), format!("ticket-issued#{}", t.ticket_id)))
        .collect();
    assert_eq!(ids(&stack.notifications().await), issued);

    assert!(failures(&invoke(&stack, &batch, "invalid-record-batch.json").await).is_empty());
    assert_eq!(stack.issued("concert-2026").await, 5);
    let dead = stack.dead_letters().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(attribute(&dead[0], attributes::ERROR_KIND), "invalid-field");
    assert!(attribute(&dead[0], attributes::ERROR_MESSAGE).contains("userId: must be 1-128 characters"));
    assert_eq!(stack.notifications().await.len(), 2);

    assert!(failures(&invoke(&stack, &batch, "duplicate-delivery.json").await).is_empty());
    assert_eq!(stack.issued("concert-2026").await, 5, "no ticket for a duplicate");
    let again = stack.notifications().await;
    let user_2 = issued.iter().find(|(user, _)| user == "user-2").unwrap().clone();
    assert_eq!(
        ids(&again),
        BTreeSet::from([user_2]),
        "the producer retry re-enqueues user-2's notification"
    );

    assert!(failures(&invoke(&stack, &batch, "fifo-two-groups.json").await).is_empty());
    assert_eq!(stack.issued("concert-2026").await, 7);
    let fifo = stack.notifications().await;
    assert_eq!(fifo.len(), 4, "two per user (request + producer retry)");
    assert_eq!(ids(&fifo).len(), 2, "one notificationId per user");

    assert!(failures(&invoke(&stack, &batch, "sold-out-batch.json").await).is_empty());
    assert_eq!(stack.issued("tiny-gig").await, 1);
    let mut kinds: Vec<(String, NotificationKind)> = stack
        .notifications()
        .await
        .into_iter()
        .map(|n| (n.notification.notification_id, n.notification.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    let ticket = &stack.tickets("tiny-gig").await[0];
    assert_eq!(ticket.user_id, "user-1");
    assert_eq!(
        kinds,
        [
            ("sold-out#tiny-gig#user-2".to_owned(), NotificationKind::SoldOut),
            (
                format!("ticket-issued#{}", ticket.ticket_id),
                NotificationKind::TicketIssued
            ),
        ]
    );

    assert!(failures(&invoke(&stack, &batch, "unknown-event.json").await).is_empty());
    let dead = stack.dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert_eq!(attribute(&dead[0], attributes::ERROR_KIND), "unknown-event");
    assert!(!stack.event_exists("no-such-event").await);

    // Invoked again, every file returns [] and issues and sends nothing: every messageId is a
    // duplicate, except the dead-lettered ones (their lock was released), which are dead-lettered
    // again.
    for name in ["valid-batch.json", "invalid-record-batch.json", "unknown-event.json"] {
        assert!(failures(&invoke(&stack, &batch, name).await).is_empty(), "{name}");
    }
    assert_eq!(stack.issued("concert-2026").await, 7);
    assert!(stack.notifications().await.is_empty());
    let kinds: BTreeSet<String> = stack
        .dead_letters()
        .await
        .iter()
        .map(|letter| attribute(letter, attributes::ERROR_KIND))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["invalid-field".to_owned(), "unknown-event".to_owned()])
    );
}

#[tokio::test]
async fn without_a_dead_letter_queue_the_permanent_failures_are_reported_in_batch_item_failures() {
    let stack = seeded().await;
    let batch = stack.batch_without_dead_letters();

    assert_eq!(
        failures(&invoke(&stack, &batch, "invalid-record-batch.json").await),
        ["7d0b0f0e-0002-4c1a-9a53-000000000002"]
    );
    assert_eq!(stack.issued("concert-2026").await, 2);
    assert_eq!(
        failures(&invoke(&stack, &batch, "unknown-event.json").await),
        ["7d0b0f0e-0006-4c1a-9a53-000000000001"]
    );
    assert!(stack.dead_letters().await.is_empty());
}

/// `events/seed/event-item.json` (for `aws dynamodb put-item`) is the item `seed-event` writes
/// for `concert-2026`, 100 seats, K = 1.
#[tokio::test]
async fn the_seed_event_item_for_the_aws_cli_is_the_item_the_schema_seeds() {
    let stack = Stack::new().await;
    stack.seed_event("concert-2026", 100).await;
    let items = stack.items().await;
    assert_eq!(items.len(), 1, "K = 1: the event item is its own counter");
    let seeded: serde_json::Map<String, serde_json::Value> = items[0]
        .iter()
        .map(|(name, value)| {
            let json = match value {
                aws_sdk_dynamodb::types::AttributeValue::S(s) => serde_json::json!({ "S": s }),
                aws_sdk_dynamodb::types::AttributeValue::N(n) => serde_json::json!({ "N": n }),
                other => panic!("{name}: {other:?}"),
            };
            (name.clone(), json)
        })
        .collect();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/seed/event-item.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(serde_json::Value::Object(seeded), file);
}
