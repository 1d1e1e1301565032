//! Faults injected with aws-smithy-mocks: throttling and 5xx on the idempotency lock, the
//! completion and the release, and on the dead-letter send. Every record ends in a defined,
//! logged state, and no record whose effect may not have been recorded is reported as a success.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, ProvisionedThroughputExceededException};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use shared::dead_letter::SqsDeadLetterQueue;
use shared::idempotency::DynamoDbStore;
use shared::testing::{CapturedLogs, event, message};
use shared::{BatchProcessor, Deadline, Idempotency, IdempotencyConfig, Record, RecordError, RecordStatus};

fn dynamodb(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |config| config
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled()))
}

fn idempotency(client: aws_sdk_dynamodb::Client) -> Idempotency {
    Idempotency::new(
        Arc::new(DynamoDbStore::new(client, "idempotency")),
        IdempotencyConfig::new("fn"),
    )
}

/// Log lines written while `f` runs, through the same subscriber the functions use.
async fn with_logs<F: std::future::Future>(f: F) -> (F::Output, String) {
    let captured = CapturedLogs::new();
    let _guard = captured.install();
    let output = f.await;
    (output, captured.text())
}

/// DynamoDB's body for a 500.
const INTERNAL_SERVER_ERROR: &str =
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}"#;

/// UpdateItem (the completion) answering 500 every time.
fn update_always_failing() -> Rule {
    mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .http_status(500, Some(INTERNAL_SERVER_ERROR.into()))
        .repeatedly()
        .build()
}

fn put_ok() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build())
}

fn delete_ok() -> Rule {
    mock!(aws_sdk_dynamodb::Client::delete_item).then_output(|| DeleteItemOutput::builder().build())
}

fn status_of(outcome: &shared::BatchOutcome, id: &str) -> RecordStatus {
    outcome.status(id).cloned().expect("the record has a status")
}

#[tokio::test]
async fn throttled_lock_fails_the_record_without_running_it() {
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .message("slow down")
                .build(),
        )
    });
    let calls = AtomicUsize::new(0);
    let handler = idempotency(dynamodb(&[&put])).wrap(|_: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, RecordError>(()) }
    });
    let (outcome, logs) =
        with_logs(BatchProcessor::default().run(event([message("m1", "{}")]), Deadline::NONE, &handler)).await;
    let outcome = outcome.unwrap();
    match status_of(&outcome, "m1") {
        RecordStatus::Failed(e) => {
            assert!(!e.is_permanent());
            assert_eq!(e.kind(), "idempotency-store");
            assert!(e.message().contains("fn#m1") && e.message().contains("PutItem"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the work never ran without a lock");
    assert_eq!(outcome.response().batch_item_failures.len(), 1);
    assert!(
        logs.contains("record failed; SQS will redeliver it") && logs.contains("\"message_id\":\"m1\""),
        "{logs}"
    );
}

#[tokio::test]
async fn server_error_on_the_lock_fails_the_record_without_running_it() {
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .http_status(500, Some(INTERNAL_SERVER_ERROR.into()))
        .repeatedly()
        .build();
    let calls = AtomicUsize::new(0);
    let handler = idempotency(dynamodb(&[&put])).wrap(|_: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, RecordError>(()) }
    });
    let outcome = BatchProcessor::default()
        .run(event([message("m1", "{}")]), Deadline::NONE, &handler)
        .await
        .unwrap();
    assert!(matches!(status_of(&outcome, "m1"), RecordStatus::Failed(e) if e.kind() == "idempotency-store"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn failed_completion_is_reported_as_a_failure_and_logged() {
    // The work ran, but its completion could not be recorded: the record must not count as done.
    let put = put_ok();
    let update = update_always_failing();
    let delete = delete_ok();
    let calls = AtomicUsize::new(0);
    let handler = idempotency(dynamodb(&[&put, &update, &delete])).wrap(|_: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, RecordError>("effect".to_owned()) }
    });
    let (outcome, logs) =
        with_logs(BatchProcessor::default().run(event([message("m1", "{}")]), Deadline::NONE, &handler)).await;
    let outcome = outcome.unwrap();
    match status_of(&outcome, "m1") {
        RecordStatus::Failed(e) => {
            assert_eq!(e.kind(), "idempotency-store");
            assert!(e.message().contains("completion could not be recorded"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        update.num_calls(),
        IdempotencyConfig::new("fn").completion_attempts as usize,
        "the completion was tried again before giving up"
    );
    assert_eq!(
        delete.num_calls(),
        0,
        "the lock is left in progress, not deleted: the work did happen"
    );
    assert!(
        logs.contains("completion not recorded; lock left in progress"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_completion_that_fails_twice_is_written_on_the_third_try_and_the_record_succeeds() {
    // Each failure here is what is left after the SDK's own retries: the work must not run again
    // because the store was briefly unavailable.
    let put = put_ok();
    let update = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .http_status(500, Some(INTERNAL_SERVER_ERROR.into()))
        .times(2)
        .output(|| aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build())
        .build();
    let calls = AtomicUsize::new(0);
    let handler = idempotency(dynamodb(&[&put, &update])).wrap(|_: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, RecordError>("effect".to_owned()) }
    });
    let (outcome, logs) =
        with_logs(BatchProcessor::default().run(event([message("m1", "{}")]), Deadline::NONE, &handler)).await;
    let outcome = outcome.unwrap();
    assert_eq!(status_of(&outcome, "m1"), RecordStatus::Processed);
    assert_eq!((calls.load(Ordering::SeqCst), update.num_calls()), (1, 3));
    assert_eq!(
        logs.matches("completion not recorded yet; trying again").count(),
        2,
        "{logs}"
    );
}

#[tokio::test]
async fn a_completion_is_not_tried_again_when_the_lock_is_about_to_expire() {
    // 2.29 s left on the lock: a retry after 100 ms still leaves the 2 s margin, a second one
    // (at ≥ 100 ms, after 200 ms more) would not, so the failure is reported before the deadline.
    let put = put_ok();
    let update = update_always_failing();
    let handler =
        idempotency(dynamodb(&[&put, &update])).wrap(|_: Record| async { Ok::<_, RecordError>("effect".to_owned()) });
    let deadline = Deadline::after(std::time::Duration::from_millis(2_290));
    let record = Record::new(shared::testing::sqs_message(message("m1", "{}")), deadline).unwrap();
    let (result, logs) = with_logs(shared::RecordHandler::handle(&handler, record)).await;
    assert_eq!(result.unwrap_err().kind(), "idempotency-store");
    assert_eq!(update.num_calls(), 2);
    assert!(
        logs.contains("completion not recorded; lock left in progress"),
        "{logs}"
    );
}

#[tokio::test]
async fn completion_after_losing_the_lock_is_reported_as_a_failure() {
    let put = put_ok();
    let update = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
        UpdateItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build())
    });
    let handler = idempotency(dynamodb(&[&put, &update])).wrap(|_: Record| async { Ok::<_, RecordError>(1u8) });
    let (outcome, logs) =
        with_logs(BatchProcessor::default().run(event([message("m1", "{}")]), Deadline::NONE, &handler)).await;
    assert!(
        matches!(status_of(&outcome.unwrap(), "m1"), RecordStatus::Failed(e) if e.kind() == "idempotency-lock-lost")
    );
    assert!(logs.contains("lock lost before completion"), "{logs}");
}

#[tokio::test]
async fn failed_release_keeps_the_handlers_error_and_is_logged() {
    let put = put_ok();
    let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let handler = idempotency(dynamodb(&[&put, &delete]))
        .wrap(|_: Record| async { Err::<(), _>(RecordError::retryable("downstream-unavailable", "try later")) });
    let (outcome, logs) =
        with_logs(BatchProcessor::default().run(event([message("m1", "{}")]), Deadline::NONE, &handler)).await;
    assert!(
        matches!(status_of(&outcome.unwrap(), "m1"), RecordStatus::Failed(e) if e.kind() == "downstream-unavailable")
    );
    assert_eq!(delete.num_calls(), 1);
    assert!(
        logs.contains("lock not released; it expires at its in-progress expiry"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_duplicate_costs_one_call_and_no_read() {
    // The lock's conditional put returns the existing COMPLETED item (ALL_OLD); there is no GetItem
    // rule, so a second read would fail the test.
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        let item = [
            ("id", AttributeValue::S("fn#m1".into())),
            ("status", AttributeValue::S("COMPLETED".into())),
            ("expiration", AttributeValue::N("99999999999".into())),
            ("data", AttributeValue::S("\"stored\"".into())),
            (
                "validation",
                AttributeValue::S("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a".into()),
            ),
        ];
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .set_item(Some(item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
                .build(),
        )
    });
    let calls = AtomicUsize::new(0);
    let handler = idempotency(dynamodb(&[&put])).wrap(|_: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, RecordError>("fresh".to_owned()) }
    });
    let outcome = BatchProcessor::default()
        .run(event([message("m1", "{}")]), Deadline::NONE, &handler)
        .await
        .unwrap();
    assert_eq!(status_of(&outcome, "m1"), RecordStatus::Duplicate);
    assert_eq!(put.num_calls(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_permanent_failure_whose_dead_letter_send_fails_is_reported() {
    let send = mock!(aws_sdk_sqs::Client::send_message)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&send], |config| config
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled()));
    let processor = BatchProcessor::default().with_dead_letters(Arc::new(SqsDeadLetterQueue::new(
        sqs,
        "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    )));
    let handler = |record: Record| async move { record.json::<serde_json::Value>().map(|_| ()) };
    let (outcome, logs) = with_logs(processor.run(event([message("poison", "{oops")]), Deadline::NONE, &handler)).await;
    let outcome = outcome.unwrap();
    assert!(matches!(status_of(&outcome, "poison"), RecordStatus::Failed(e) if e.kind() == "dead-letter-unavailable"));
    assert_eq!(send.num_calls(), 1);
    assert!(logs.contains("could not be dead-lettered"), "{logs}");
}
