//! A dead letter redriven twice (dlq-redrive crashed between its send and its delete) reaches
//! ticket-processor as two messages with different messageIds and one `original-message-id`.
//! The idempotency key is the original id, so the second copy is a duplicate: one ticket, one
//! notification, and notification-sender sends its push and its email once.

use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_sqs::types::Message;
use dlq_redrive::{Redrive, RedriveConfig, Timing};
use moto_harness::sqs::{client_failing_deletes, queue_arn};
use moto_harness::unique_name;
use notification_sender::testing::{Fixture, delivery};
use serde_json::json;
use shared::config::Environment;
use shared::testing::{event, message, with_attribute};
use shared::{Deadline, RecordStatus, attributes};
use ticket_processor::testing::{Stack, body};

/// The Lambda record SQS would hand ticket-processor for `m`, message attributes included.
fn lambda_record(m: &Message) -> serde_json::Value {
    let mut record = message(m.message_id().unwrap(), m.body().unwrap());
    for (name, value) in m.message_attributes().into_iter().flatten() {
        record = with_attribute(record, name, value.string_value().unwrap_or_default());
    }
    record
}

/// A dead letter (of `event_id`'s request) redriven twice: dlq-redrive crashes between its send
/// and its delete, then runs again. Returns the dead letter's messageId and the two copies.
async fn redrive_twice(stack: &Stack, event_id: &str) -> (String, Vec<Message>) {
    let source_url = stack
        .sqs
        .create_queue()
        .queue_name(unique_name("ticket-issue"))
        .send()
        .await
        .expect("create source queue")
        .queue_url
        .unwrap();
    // As SQS's redrive policy moves it: the dead letter keeps the messageId it was first sent with.
    let original = stack
        .sqs
        .send_message()
        .queue_url(&stack.dead_letter_queue_url)
        .message_body(body(event_id, "user-1"))
        .send()
        .await
        .expect("seed the dead letter")
        .message_id
        .unwrap();

    let routes = json!([{
        "name": "ticket",
        "dlqUrl": stack.dead_letter_queue_url, "dlqArn": queue_arn(&stack.sqs, &stack.dead_letter_queue_url).await,
        "sourceUrl": source_url, "sourceArn": queue_arn(&stack.sqs, &source_url).await,
    }]);
    let config = || {
        RedriveConfig::from_env(&Environment::from_pairs([(
            dlq_redrive::config::env::REDRIVE_ROUTES,
            routes.to_string(),
        )]))
        .expect("valid configuration")
    };
    let timing = Timing {
        visibility_timeout: Some(Duration::from_secs(2)),
        wait_time: Duration::from_secs(1),
        ..Timing::default()
    };
    let (crashing, stopped) = client_failing_deletes(&stack.sdk);
    let request = json!({"queue": "ticket", "dryRun": false});
    let crashed = Redrive::new(config(), crashing)
        .with_timing(timing.clone())
        .handle(request.clone(), Deadline::NONE)
        .await
        .unwrap();
    assert_eq!(
        (crashed.queues[0].moved, crashed.queues[0].not_deleted),
        (1, 1),
        "{crashed:#?}"
    );
    assert_eq!(
        stopped.load(Ordering::SeqCst),
        1,
        "the delete was attempted and stopped"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await; // the dead letter is visible again
    let rerun = Redrive::new(config(), stack.sqs.clone())
        .with_timing(timing)
        .handle(request, Deadline::NONE)
        .await
        .unwrap();
    assert!(rerun.ok && rerun.queues[0].moved == 1, "{rerun:#?}");

    let copies = stack.drain(&source_url).await;
    assert_eq!(copies.len(), 2, "the crash duplicated the dead letter");
    assert_ne!(copies[0].message_id(), copies[1].message_id());
    for copy in &copies {
        let attribute = copy
            .message_attributes()
            .and_then(|a| a.get(attributes::ORIGINAL_MESSAGE_ID));
        assert_eq!(attribute.and_then(|v| v.string_value()), Some(original.as_str()));
    }
    (original, copies)
}

#[tokio::test]
async fn both_copies_of_a_dead_letter_redriven_twice_issue_one_ticket_and_one_notification() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 5).await;
    let (original, copies) = redrive_twice(&stack, &event_id).await;

    // Two invocations, one after the other, as SQS would deliver the two copies.
    let mut statuses = Vec::new();
    for copy in &copies {
        let handler = stack.idempotency().wrap(stack.processor());
        let outcome = stack
            .batch()
            .run(event([lambda_record(copy)]), Deadline::NONE, &handler)
            .await
            .unwrap();
        assert!(outcome.response().batch_item_failures.is_empty());
        statuses.push(outcome.status(copy.message_id().unwrap()).cloned().unwrap());
    }
    assert_eq!(statuses, [RecordStatus::Processed, RecordStatus::Duplicate]);
    assert_eq!(stack.tickets(&event_id).await.len(), 1);
    assert_eq!(stack.issued(&event_id).await, 1);
    let notifications = stack.drain(&stack.notification_queue_url).await;
    assert_eq!(notifications.len(), 1, "the duplicate sent nothing");
    assert_eq!(stack.idempotency_status(&original).await.as_deref(), Some("COMPLETED"));
    for copy in &copies {
        assert_eq!(stack.idempotency_status(copy.message_id().unwrap()).await, None);
    }

    // notification-sender, on the same moto, sends that one notification's push and email.
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let notification = &notifications[0];
    let id = notification.message_id().unwrap();
    let outcome = fixture
        .run(&sender, vec![delivery(id, notification.body().unwrap(), 1)])
        .await;
    assert_eq!(
        outcome.status(id),
        Some(&RecordStatus::Processed),
        "{:?}",
        outcome.results
    );
    assert_eq!(
        (fixture.topic_pushes().len(), fixture.emails().len()),
        (1, 1),
        "one push, one email"
    );
}
