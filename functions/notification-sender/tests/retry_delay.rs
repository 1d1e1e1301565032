//! On moto's SQS: a send deferred by the budget comes back when its slot is free (the retry delay
//! turns the deferral's time into the message's visibility), not after the queue's visibility
//! timeout, and is sent then.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use moto_harness::unique_name;
use notification_sender::budget::{SEND_DEADLINE_MARGIN, SendBudgets};
use notification_sender::testing::{FUNCTION_NAME, Faulty, Fixture, ticket_issued};
use serde_json::json;
use shared::config::Environment;
use shared::testing::{event, message};
use shared::worker::Worker;
use shared::{Deadline, RecordStatus};

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

#[tokio::test]
async fn a_deferred_send_comes_back_when_its_slot_is_free_and_is_sent_then() {
    let fixture = Fixture::new().await;
    let sqs = aws_sdk_sqs::Client::new(&fixture.sdk);
    let url = sqs
        .create_queue()
        .queue_name(unique_name("notification-queue"))
        .attributes(QueueAttributeName::VisibilityTimeout, "120")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = moto_harness::sqs::queue_arn(&sqs, &url).await;
    for ticket in ["t-7001", "t-7002"] {
        let body = ticket_issued(ticket, Some("kim@example.com"), None, None);
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let mut received = Vec::new();
    while received.len() < 2 {
        received.extend(receive(&sqs, &url).await);
    }
    let as_record = |m: &aws_sdk_sqs::types::Message| {
        let mut record = message(m.message_id().unwrap(), m.body().unwrap());
        record["receiptHandle"] = json!(m.receipt_handle().unwrap());
        record["eventSourceARN"] = json!(arn);
        record
    };
    // The worker `main` builds: the retry delay on by default.
    let environment = Environment::from_pairs([
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
        ("IDEMPOTENCY_TABLE_NAME", fixture.table.as_str()),
    ]);
    let worker = Worker::new(
        &notification_sender::config::worker_config(&environment).unwrap(),
        &fixture.sdk,
    );
    // One email every 4 s, and 1 s of slots in this invocation: one email goes, one is deferred
    // to about 3 s from now (when an invocation with the same second to wait finds its slot).
    let email = Faulty::counting(fixture.ses());
    let sender = fixture
        .notification_sender_with(Arc::new(fixture.sns()), email.clone())
        .with_budgets(SendBudgets::in_memory(1000.0, 0.25));
    let deadline = || Deadline::after(SEND_DEADLINE_MARGIN + Duration::from_secs(1));
    let started = Instant::now();
    let first = worker
        .batch
        .run(event(received.iter().map(as_record)), deadline(), &sender)
        .await
        .unwrap();

    let deferred: Vec<&String> = first
        .results
        .iter()
        .filter(|(_, status)| matches!(status, RecordStatus::Failed(e) if e.kind() == "email-deferred"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(deferred.len(), 1, "{:?}", first.results);
    assert_eq!(email.calls(), 1);

    let mut back = Vec::new();
    while back.is_empty() && started.elapsed() < Duration::from_secs(30) {
        back = receive(&sqs, &url).await;
    }
    let waited = started.elapsed();
    assert_eq!(back.len(), 1, "only the deferred message comes back");
    assert_eq!(back[0].message_id(), Some(deferred[0].as_str()));
    assert!(
        waited >= Duration::from_millis(2_500) && waited < Duration::from_secs(15),
        "back when a slot is free (about 3 s), not after the backoff (1–2 s) or the 120 s visibility timeout: {waited:?}"
    );
    let count = back[0].attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount].clone();
    assert_eq!(count, "2");

    let retry = worker
        .batch
        .run(event(back.iter().map(as_record)), deadline(), &sender)
        .await
        .unwrap();
    assert_eq!(retry.results[0].1, RecordStatus::Processed);
    assert_eq!((email.calls(), fixture.emails().len()), (2, 2));
    assert_eq!(fixture.topic_pushes().len(), 2, "each push once");
}
