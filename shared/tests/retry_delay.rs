//! The retry delay: records reported failed are made visible again after their delay with
//! ChangeMessageVisibility. Request shapes with aws-smithy-mocks; on moto, a failed message
//! really comes back after seconds, not after the queue's visibility timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::operation::change_message_visibility::{ChangeMessageVisibilityError, ChangeMessageVisibilityOutput};
use aws_sdk_sqs::types::error::ReceiptHandleIsInvalid;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use moto_harness::{MotoServer, unique_name};
use serde_json::json;
use shared::dead_letter::MemoryDeadLetters;
use shared::testing::{CapturedLogs, event, fifo_message, message};
use shared::{BatchConfig, BatchProcessor, Deadline, Record, RecordError, RecordStatus, RetryDelay, RetryDelayConfig};

/// The queue URL the test records' `eventSourceARN` names.
const QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/test-queue";

/// Fails as the body says: `fail` (retryable), `wait-30` (retryable, not before 30 s from now),
/// `reject` (permanent); anything else succeeds.
async fn job(record: Record) -> Result<(), RecordError> {
    match record.body() {
        "fail" => Err(RecordError::retryable("test-failure", "asked to fail")),
        "wait-30" => Err(RecordError::retryable("test-busy", "busy").retry_after(Duration::from_secs(30))),
        "reject" => Err(RecordError::permanent("test-rejected", "asked to be rejected")),
        _ => Ok(()),
    }
}

fn with_receive_count(mut message: serde_json::Value, count: u32) -> serde_json::Value {
    message["attributes"]["ApproximateReceiveCount"] = json!(count.to_string());
    message
}

fn sqs(rules: &[&Rule]) -> aws_sdk_sqs::Client {
    mock_client!(aws_sdk_sqs, RuleMode::MatchAny, rules, |config| config
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled()))
}

/// A ChangeMessageVisibility of `message_id`'s receipt handle on the test queue, with a timeout in
/// `seconds`.
fn visibility_rule(message_id: &'static str, seconds: std::ops::RangeInclusive<i32>) -> Rule {
    visibility_rule_on(QUEUE_URL, message_id, seconds)
}

fn visibility_rule_on(
    queue_url: &'static str,
    message_id: &'static str,
    seconds: std::ops::RangeInclusive<i32>,
) -> Rule {
    mock!(aws_sdk_sqs::Client::change_message_visibility)
        .match_requests(move |request| {
            request.queue_url() == Some(queue_url)
                && request.receipt_handle() == Some(format!("handle-{message_id}").as_str())
                && request.visibility_timeout().is_some_and(|t| seconds.contains(&t))
        })
        .then_output(|| ChangeMessageVisibilityOutput::builder().build())
}

fn processor(client: aws_sdk_sqs::Client) -> BatchProcessor {
    BatchProcessor::default().with_retry_delay(RetryDelay::new(client, RetryDelayConfig::on()))
}

#[tokio::test]
async fn each_failed_record_gets_its_own_delay_and_the_others_none() {
    // Defaults: 2 s after the first receive, doubling: a third receive waits 4–8 s.
    let third_receive = visibility_rule("failed-third-time", 4..=8);
    let named_time = visibility_rule("busy", 30..=30);
    let client = sqs(&[&third_receive, &named_time]);
    let batch = event([
        message("succeeds", "ok"),
        with_receive_count(message("failed-third-time", "fail"), 3),
        message("busy", "wait-30"),
        message("rejected", "reject"),
    ]);
    let dead_letters = Arc::new(MemoryDeadLetters::new());

    let outcome = processor(client)
        .with_dead_letters(dead_letters.clone())
        .run(batch, Deadline::NONE, &job)
        .await
        .unwrap();

    assert_eq!(third_receive.num_calls(), 1);
    assert_eq!(named_time.num_calls(), 1);
    assert_eq!(outcome.status("succeeds"), Some(&RecordStatus::Processed));
    assert!(matches!(
        outcome.status("rejected"),
        Some(RecordStatus::DeadLettered(_))
    ));
    assert_eq!(dead_letters.letters().len(), 1);
    let failed: Vec<String> = outcome
        .response()
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    assert_eq!(failed, ["failed-third-time", "busy"]);
}

#[tokio::test]
async fn records_that_did_not_run_are_delayed_too() {
    // FIFO: after `first` fails, `second` of its group is skipped; `late` is not started because
    // the deadline is too close.
    let fifo_queue = "https://sqs.us-east-1.amazonaws.com/123456789012/test-queue.fifo";
    let first = visibility_rule_on(fifo_queue, "first", 1..=2);
    let skipped = visibility_rule_on(fifo_queue, "second", 1..=2);
    let client = sqs(&[&first, &skipped]);
    let batch = event([fifo_message("first", "g", "fail"), fifo_message("second", "g", "ok")]);
    let outcome = processor(client.clone())
        .run(batch, Deadline::NONE, &job)
        .await
        .unwrap();
    assert_eq!(outcome.status("second"), Some(&RecordStatus::SkippedAfterGroupFailure));
    assert_eq!((first.num_calls(), skipped.num_calls()), (1, 1));

    let late = visibility_rule("late", 1..=2);
    let client = sqs(&[&late]);
    let outcome = BatchProcessor::new(BatchConfig {
        deadline_margin: Duration::from_secs(3),
        ..BatchConfig::default()
    })
    .with_retry_delay(RetryDelay::new(client, RetryDelayConfig::on()))
    .run(
        event([message("late", "ok")]),
        Deadline::after(Duration::from_secs(1)),
        &job,
    )
    .await
    .unwrap();
    assert_eq!(outcome.status("late"), Some(&RecordStatus::NotStarted));
    assert_eq!(late.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_change_message_visibility_is_logged_and_changes_nothing_else() {
    let refused = mock!(aws_sdk_sqs::Client::change_message_visibility).then_error(|| {
        ChangeMessageVisibilityError::ReceiptHandleIsInvalid(
            ReceiptHandleIsInvalid::builder().message("stale handle").build(),
        )
    });
    let client = sqs(&[&refused]);
    let captured = CapturedLogs::new();
    let guard = captured.install();
    let outcome = processor(client)
        .run(
            event([message("fails", "fail"), message("succeeds", "ok")]),
            Deadline::NONE,
            &job,
        )
        .await
        .unwrap();
    drop(guard);

    assert_eq!(refused.num_calls(), 1);
    assert!(
        matches!(outcome.status("fails"), Some(RecordStatus::Failed(e)) if e.kind() == "test-failure"),
        "the record keeps its own error: {:?}",
        outcome.status("fails")
    );
    assert_eq!(outcome.status("succeeds"), Some(&RecordStatus::Processed));
    assert_eq!(outcome.response().batch_item_failures.len(), 1);
    let logs = captured.text();
    assert!(
        logs.contains("ChangeMessageVisibility failed") && logs.contains("stale handle"),
        "{logs}"
    );
}

#[tokio::test]
async fn switched_off_or_without_a_source_queue_nothing_is_called() {
    let any = mock!(aws_sdk_sqs::Client::change_message_visibility)
        .then_output(|| ChangeMessageVisibilityOutput::builder().build());
    let off = BatchProcessor::default().with_retry_delay(RetryDelay::new(sqs(&[&any]), RetryDelayConfig::off()));
    off.run(event([message("fails", "fail")]), Deadline::NONE, &job)
        .await
        .unwrap();
    assert_eq!(any.num_calls(), 0);

    let mut unknown_source = message("fails", "fail");
    unknown_source["eventSourceARN"] = json!(null);
    let outcome = processor(sqs(&[&any]))
        .run(event([unknown_source]), Deadline::NONE, &job)
        .await
        .unwrap();
    assert_eq!(any.num_calls(), 0);
    assert!(matches!(outcome.status("fails"), Some(RecordStatus::Failed(_))));
}

/// moto: three messages of a queue whose visibility timeout is 300 s fail. The two handled with a
/// retry delay come back after it (the backoff's 1–2 s; the 4 s their error names); the one handled
/// without stays invisible.
#[tokio::test]
async fn on_sqs_a_failed_message_comes_back_after_its_delay_not_the_visibility_timeout() {
    let sdk = MotoServer::shared().sdk_config().await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let url = client
        .create_queue()
        .queue_name(unique_name("retry-delay"))
        .attributes(QueueAttributeName::VisibilityTimeout, "300")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = moto_harness::sqs::queue_arn(&client, &url).await;
    for body in ["fail", "wait-4", "no-delay"] {
        client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let received = receive(&client, &url, 3).await;
    let as_record = |m: &aws_sdk_sqs::types::Message| {
        let mut record = message(m.message_id().unwrap(), m.body().unwrap());
        record["receiptHandle"] = json!(m.receipt_handle().unwrap());
        record["eventSourceARN"] = json!(arn);
        record
    };
    let handler = |record: Record| async move {
        match record.body() {
            "wait-4" => Err::<(), _>(RecordError::retryable("busy", "busy").retry_after(Duration::from_secs(4))),
            _ => Err(RecordError::retryable("test-failure", "asked to fail")),
        }
    };
    let delayed: Vec<_> = received
        .iter()
        .filter(|m| m.body() != Some("no-delay"))
        .map(as_record)
        .collect();
    let undelayed: Vec<_> = received
        .iter()
        .filter(|m| m.body() == Some("no-delay"))
        .map(as_record)
        .collect();
    let with_delay = BatchProcessor::default().with_retry_delay(RetryDelay::new(
        client.clone(),
        RetryDelayConfig {
            base: Duration::from_secs(2),
            ..RetryDelayConfig::on()
        },
    ));
    let started = Instant::now();
    with_delay.run(event(delayed), Deadline::NONE, &handler).await.unwrap();
    BatchProcessor::default()
        .run(event(undelayed), Deadline::NONE, &handler)
        .await
        .unwrap();

    let mut back: Vec<(String, Duration, String)> = Vec::new();
    while back.len() < 2 && started.elapsed() < Duration::from_secs(60) {
        for m in receive(&client, &url, 0).await {
            let count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .cloned()
                .unwrap_or_default();
            back.push((m.body().unwrap().to_owned(), started.elapsed(), count));
        }
    }
    back.sort();
    let bodies: Vec<&str> = back.iter().map(|(body, _, _)| body.as_str()).collect();
    assert_eq!(
        bodies,
        ["fail", "wait-4"],
        "the delayed messages came back, the other did not: {back:?}"
    );
    assert!(back.iter().all(|(_, _, count)| count == "2"), "{back:?}");
    let busy_back = back[1].1;
    assert!(
        busy_back >= Duration::from_secs(4),
        "not before the time its error named: {back:?}"
    );
}

/// Up to 10 messages, waiting up to a second; at least `at_least` of them (retrying until then).
async fn receive(client: &aws_sdk_sqs::Client, url: &str, at_least: usize) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let output = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        all.extend(output.messages.unwrap_or_default());
        if all.len() >= at_least {
            return all;
        }
    }
}
