//! Batch semantics on in-memory parts: isolation, FIFO, concurrency, deadline, dead letters.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use shared::dead_letter::{DeadLetterError, DeadLetterSink, MemoryDeadLetters};
use shared::testing::{event, fifo_message, message, with_attribute};
use shared::{
    BatchConfig, BatchError, BatchProcessor, Deadline, Handled, Record, RecordError, RecordStatus, attributes,
};

#[derive(Deserialize)]
struct Job {
    action: String,
}

/// Does what the body says: `ok`, `fail` (retryable), `reject` (permanent), `panic`.
async fn job(record: Record) -> Result<Handled, RecordError> {
    let job: Job = record.json()?;
    match job.action.as_str() {
        "ok" => Ok(Handled::Processed),
        "fail" => Err(RecordError::retryable("test-failure", "asked to fail")),
        "reject" => Err(RecordError::permanent("test-rejected", "asked to be rejected")),
        "panic" => panic!("asked to panic"),
        other => Err(RecordError::permanent("unknown-action", other)),
    }
}

fn body(action: &str) -> String {
    format!(r#"{{"action":"{action}"}}"#)
}

fn failures(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn all_records_succeed_with_an_empty_failure_list() {
    let batch = event((0..5).map(|i| message(&format!("m{i}"), &body("ok"))));
    let outcome = BatchProcessor::default()
        .run(batch, Deadline::NONE, &job)
        .await
        .unwrap();
    assert!(outcome.response().batch_item_failures.is_empty());
    assert_eq!(outcome.summary.records, 5);
    assert_eq!(outcome.summary.succeeded, 5);
    assert_eq!(outcome.summary.failed, 0);
}

#[tokio::test]
async fn bad_json_error_and_panic_fail_only_their_own_record() {
    let batch = event([
        message("good-1", &body("ok")),
        message("not-json", "{this is not json"),
        message("good-2", &body("ok")),
        message("errors", &body("fail")),
        message("panics", &body("panic")),
        message("good-3", &body("ok")),
    ]);
    let outcome = BatchProcessor::default()
        .run(batch, Deadline::NONE, &job)
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["not-json", "errors", "panics"]);
    assert_eq!(outcome.summary.succeeded, 3);
    assert_eq!(outcome.summary.failed, 3);
    match outcome.status("not-json") {
        Some(RecordStatus::Failed(e)) => {
            assert!(e.is_permanent());
            assert_eq!(e.kind(), "malformed-body");
            assert!(e.message().contains("not-json"), "the error names the record: {e}");
        }
        other => panic!("unexpected {other:?}"),
    }
    match outcome.status("panics") {
        Some(RecordStatus::Failed(e)) => {
            assert_eq!(e.kind(), "panic");
            assert!(e.message().contains("asked to panic"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_record_without_message_id_fails_the_invocation_before_anything_runs() {
    let calls = AtomicUsize::new(0);
    let counting = |_record: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, RecordError>(()) }
    };
    let mut missing = message("x", &body("ok"));
    missing.as_object_mut().unwrap().remove("messageId");
    let result = BatchProcessor::default()
        .run(event([message("a", &body("ok")), missing]), Deadline::NONE, &counting)
        .await;
    assert!(
        matches!(result, Err(BatchError::MissingMessageId { index: 1, total: 2 })),
        "{result:?}"
    );

    let empty = message("", &body("ok"));
    let result = BatchProcessor::default()
        .run(event([empty]), Deadline::NONE, &counting)
        .await;
    assert!(matches!(
        result,
        Err(BatchError::MissingMessageId { index: 0, total: 1 })
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn identifiers_are_always_message_ids_of_the_batch_and_unique() {
    // Many mixes of outcomes, standard and FIFO; a small deterministic generator.
    let actions = ["ok", "fail", "reject", "panic", "ok", "ok"];
    let mut seed = 7u64;
    for round in 0..40 {
        let mut messages = Vec::new();
        let mut ids = HashSet::new();
        for i in 0..10 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let action = actions[(seed >> 33) as usize % actions.len()];
            let id = format!("r{round}-m{i}");
            ids.insert(id.clone());
            messages.push(if round % 2 == 0 {
                message(&id, &body(action))
            } else {
                fifo_message(&id, &format!("g{}", (seed >> 40) % 3), &body(action))
            });
        }
        let outcome = BatchProcessor::default()
            .run(event(messages), Deadline::NONE, &job)
            .await
            .unwrap();
        let response = outcome.response();
        let reported: Vec<String> = failures(&response);
        let unique: HashSet<&String> = reported.iter().collect();
        assert_eq!(
            unique.len(),
            reported.len(),
            "an identifier reported twice: {reported:?}"
        );
        for id in &reported {
            assert!(!id.is_empty() && ids.contains(id), "unknown identifier {id:?}");
        }
        let serialized = serde_json::to_value(&response).unwrap();
        assert!(serialized["batchItemFailures"].is_array(), "{serialized}");
        let failed = outcome.results.iter().filter(|(_, s)| s.is_failure()).count();
        assert_eq!(failed, reported.len());
    }
}

/// Found by the batch_processor fuzz target: SQS may hand the same message twice in one batch;
/// when both copies fail, its messageId must still be reported once.
#[tokio::test]
async fn a_message_twice_in_a_batch_is_reported_once() {
    let messages = vec![
        message("twice", &body("fail")),
        message("once", &body("ok")),
        message("twice", &body("panic")),
    ];
    let outcome = BatchProcessor::default()
        .run(event(messages), Deadline::NONE, &job)
        .await
        .unwrap();
    assert_eq!(outcome.results.iter().filter(|(_, s)| s.is_failure()).count(), 2);
    assert_eq!(failures(&outcome.response()), ["twice"]);
}

#[tokio::test]
async fn permanent_failures_go_to_the_dead_letter_sink_with_the_reason() {
    let sink = Arc::new(MemoryDeadLetters::new());
    let processor = BatchProcessor::default().with_dead_letters(sink.clone());
    let mut poison = message("poison", "not json at all");
    poison["attributes"]["ApproximateReceiveCount"] = serde_json::json!("2");
    let poison = with_attribute(poison, "trace", "abc");
    let batch = event([message("ok", &body("ok")), poison, message("retry", &body("fail"))]);

    let outcome = processor.run(batch, Deadline::NONE, &job).await.unwrap();
    assert_eq!(
        failures(&outcome.response()),
        ["retry"],
        "the dead-lettered record counts as handled"
    );
    assert_eq!(outcome.summary.permanent, 1);
    let letters = sink.letters();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.message_id, "poison");
    assert_eq!(letter.body, "not json at all");
    assert_eq!(letter.attribute(attributes::ERROR_KIND), Some("malformed-body"));
    assert!(
        letter
            .attribute(attributes::ERROR_MESSAGE)
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(
        letter.attribute(attributes::SOURCE_QUEUE),
        Some(shared::testing::STANDARD_QUEUE_ARN)
    );
    assert_eq!(letter.attribute(attributes::ORIGINAL_MESSAGE_ID), Some("poison"));
    assert_eq!(letter.attribute(attributes::RECEIVE_COUNT), Some("2"));
    assert_eq!(
        letter.attribute("trace"),
        Some("abc"),
        "the record's own attributes are kept"
    );
}

#[tokio::test]
async fn without_a_dead_letter_sink_permanent_failures_are_reported() {
    let outcome = BatchProcessor::default()
        .run(event([message("poison", "nope")]), Deadline::NONE, &job)
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["poison"]);
}

struct BrokenSink;
impl DeadLetterSink for BrokenSink {
    fn send<'a>(&'a self, record: &'a Record, _: &'a RecordError) -> BoxFuture<'a, Result<(), DeadLetterError>> {
        let error = DeadLetterError::Send {
            message_id: record.message_id().to_owned(),
            queue_url: "https://sqs.example/123/dlq".into(),
            message: "connection reset".into(),
        };
        futures::future::ready(Err(error)).boxed()
    }
}

#[tokio::test]
async fn a_record_that_cannot_be_dead_lettered_is_reported_failed() {
    let processor = BatchProcessor::default().with_dead_letters(Arc::new(BrokenSink));
    let outcome = processor
        .run(event([message("poison", "nope")]), Deadline::NONE, &job)
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["poison"]);
    match outcome.status("poison") {
        Some(RecordStatus::Failed(e)) => assert_eq!(e.kind(), "dead-letter-unavailable"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_message_with_sqss_maximum_of_ten_attributes_is_dead_lettered_in_an_envelope_with_its_reason() {
    let sink = Arc::new(MemoryDeadLetters::new());
    let mut poison = message("poison", "nope");
    for i in 0..attributes::MAX_MESSAGE_ATTRIBUTES {
        poison = with_attribute(poison, &format!("attr{i}"), &format!("v{i}"));
    }
    let outcome = BatchProcessor::default()
        .with_dead_letters(sink.clone())
        .run(event([poison]), Deadline::NONE, &job)
        .await
        .unwrap();
    assert!(failures(&outcome.response()).is_empty(), "handled, not retried");
    let letters = sink.letters();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.attribute(attributes::ERROR_KIND), Some("malformed-body"));
    assert_eq!(letter.attribute(attributes::DEAD_LETTER_ENVELOPE), Some("1"));
    assert_eq!(
        letter.attributes.len(),
        6,
        "the 5 dead-letter attributes and the envelope's"
    );
    let envelope = shared::envelope::Envelope::open(Some("1"), &letter.body)
        .unwrap()
        .unwrap();
    assert_eq!(envelope.body, "nope");
    assert_eq!(envelope.message_attributes.len(), 10);
    assert_eq!(envelope.message_attributes["attr9"].string_value.as_deref(), Some("v9"));
}

#[tokio::test]
async fn a_message_with_room_for_the_reason_is_dead_lettered_plain() {
    let sink = Arc::new(MemoryDeadLetters::new());
    let mut poison = message("poison", "nope");
    for i in 0..5 {
        poison = with_attribute(poison, &format!("attr{i}"), "v");
    }
    BatchProcessor::default()
        .with_dead_letters(sink.clone())
        .run(event([poison]), Deadline::NONE, &job)
        .await
        .unwrap();
    let letter = &sink.letters()[0];
    assert_eq!(letter.body, "nope");
    assert_eq!(letter.attributes.len(), 10);
    assert_eq!(letter.attribute(attributes::DEAD_LETTER_ENVELOPE), None);
}

#[tokio::test]
async fn a_copy_of_a_dead_lettered_message_is_not_dead_lettered_twice() {
    let sink = Arc::new(MemoryDeadLetters::new());
    let batch = event([message("twice", &body("reject")), message("twice", &body("reject"))]);
    let outcome = BatchProcessor::default()
        .with_dead_letters(sink.clone())
        .run(batch, Deadline::NONE, &job)
        .await
        .unwrap();
    assert!(outcome.response().batch_item_failures.is_empty());
    assert!(
        outcome
            .results
            .iter()
            .all(|(_, s)| matches!(s, RecordStatus::DeadLettered(_)))
    );
    assert_eq!(sink.letters().len(), 1);
}

/// Two copies of one message in a batch share a lane: the second starts after the first ended,
/// so under idempotency it finds a result, not a lock held by its twin.
#[tokio::test]
async fn copies_of_one_message_run_one_after_the_other() {
    let running = Mutex::new(HashSet::new());
    let overlapped = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let handler = |record: Record| {
        let (running, overlapped, ran) = (&running, &overlapped, &ran);
        async move {
            if !running.lock().unwrap().insert(record.message_id().to_owned()) {
                overlapped.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
            running.lock().unwrap().remove(record.message_id());
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, RecordError>(Handled::Processed)
        }
    };
    let batch = event([
        message("twice", &body("ok")),
        message("other", &body("ok")),
        message("twice", &body("ok")),
    ]);
    let outcome = BatchProcessor::default()
        .run(batch, Deadline::NONE, &handler)
        .await
        .unwrap();
    assert!(outcome.response().batch_item_failures.is_empty());
    assert_eq!(ran.load(Ordering::SeqCst), 3);
    assert_eq!(
        overlapped.load(Ordering::SeqCst),
        0,
        "the copies ran one after the other"
    );
}

#[tokio::test]
async fn fifo_groups_run_in_order_and_stop_after_a_failure() {
    let ran = Mutex::new(Vec::new());
    let recording = |record: Record| {
        ran.lock().unwrap().push(record.message_id().to_owned());
        async move { job(record).await }
    };
    let batch = event([
        fifo_message("a1", "A", &body("ok")),
        fifo_message("b1", "B", &body("ok")),
        fifo_message("a2", "A", &body("fail")),
        fifo_message("b2", "B", &body("ok")),
        fifo_message("a3", "A", &body("ok")),
        fifo_message("b3", "B", &body("ok")),
        fifo_message("a4", "A", &body("ok")),
    ]);
    let outcome = BatchProcessor::default()
        .run(batch, Deadline::NONE, &recording)
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["a2", "a3", "a4"]);
    assert_eq!(outcome.status("a3"), Some(&RecordStatus::SkippedAfterGroupFailure));
    let ran = ran.into_inner().unwrap();
    let order = |prefix: char| {
        ran.iter()
            .filter(|id| id.starts_with(prefix))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(order('a'), ["a1", "a2"], "a3 and a4 never ran");
    assert_eq!(order('b'), ["b1", "b2", "b3"], "group B kept its order and went on");
}

#[tokio::test]
async fn a_dead_lettered_fifo_record_does_not_stop_its_group() {
    let sink = Arc::new(MemoryDeadLetters::new());
    let batch = event([fifo_message("a1", "A", "poison"), fifo_message("a2", "A", &body("ok"))]);
    let outcome = BatchProcessor::default()
        .with_dead_letters(sink.clone())
        .run(batch, Deadline::NONE, &job)
        .await
        .unwrap();
    assert!(failures(&outcome.response()).is_empty());
    assert_eq!(outcome.status("a2"), Some(&RecordStatus::Processed));
    assert_eq!(sink.letters().len(), 1);
}

#[tokio::test]
async fn fifo_groups_run_concurrently_with_each_other() {
    // Each group's first record waits until the other group's first record has started: this
    // only finishes if the two groups are in flight at the same time.
    let barrier = tokio::sync::Barrier::new(2);
    let waiting = |record: Record| {
        let barrier = &barrier;
        async move {
            if record.message_id().ends_with('1') {
                barrier.wait().await;
            }
            Ok::<_, RecordError>(())
        }
    };
    let batch = event([
        fifo_message("a1", "A", "{}"),
        fifo_message("a2", "A", "{}"),
        fifo_message("b1", "B", "{}"),
    ]);
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        BatchProcessor::default().run(batch, Deadline::NONE, &waiting),
    )
    .await
    .expect("groups A and B did not run concurrently")
    .unwrap();
    assert_eq!(outcome.summary.succeeded, 3);
}

#[tokio::test]
async fn a_standard_queue_message_group_is_not_serialised() {
    // Fair queues put MessageGroupId on standard-queue messages; they carry no ordering promise.
    let barrier = tokio::sync::Barrier::new(2);
    let waiting = |_record: Record| {
        let barrier = &barrier;
        async move {
            barrier.wait().await;
            Ok::<_, RecordError>(())
        }
    };
    let mut first = message("s1", "{}");
    first["attributes"]["MessageGroupId"] = serde_json::json!("tenant-1");
    let mut second = message("s2", "{}");
    second["attributes"]["MessageGroupId"] = serde_json::json!("tenant-1");
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        BatchProcessor::default().run(event([first, second]), Deadline::NONE, &waiting),
    )
    .await
    .expect("records of a standard queue's group ran one after the other")
    .unwrap();
    assert_eq!(outcome.summary.succeeded, 2);
}

#[tokio::test]
async fn concurrency_is_bounded_and_used() {
    let in_flight = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let tracking = |_record: Record| {
        let (in_flight, peak) = (&in_flight, &peak);
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, RecordError>(())
        }
    };
    let config = BatchConfig {
        concurrency: 3,
        ..BatchConfig::default()
    };
    let batch = event((0..12).map(|i| message(&format!("m{i}"), "{}")));
    let outcome = BatchProcessor::new(config)
        .run(batch, Deadline::NONE, &tracking)
        .await
        .unwrap();
    assert_eq!(outcome.summary.succeeded, 12);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn no_record_starts_inside_the_deadline_margin() {
    let calls = AtomicUsize::new(0);
    let counting = |_record: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, RecordError>(()) }
    };
    let config = BatchConfig {
        deadline_margin: Duration::from_secs(5),
        ..BatchConfig::default()
    };
    let batch = event([
        message("m1", "{}"),
        fifo_message("f1", "G", "{}"),
        fifo_message("f2", "G", "{}"),
    ]);
    let outcome = BatchProcessor::new(config)
        .run(batch, Deadline::after(Duration::from_secs(2)), &counting)
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["m1", "f1", "f2"]);
    assert_eq!(outcome.summary.not_started, 3);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn records_stop_starting_when_time_runs_low_and_the_rest_are_reported() {
    // One record at a time; each takes 600 ms; the margin is reached after the first.
    let calls = AtomicUsize::new(0);
    let slow = |_record: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            Ok::<_, RecordError>(())
        }
    };
    let config = BatchConfig {
        concurrency: 1,
        deadline_margin: Duration::from_millis(9_700),
    };
    let batch = event((0..4).map(|i| message(&format!("m{i}"), "{}")));
    let outcome = BatchProcessor::new(config)
        .run(batch, Deadline::after(Duration::from_secs(10)), &slow)
        .await
        .unwrap();
    assert_eq!(outcome.status("m0"), Some(&RecordStatus::Processed));
    assert_eq!(failures(&outcome.response()), ["m1", "m2", "m3"]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_lambda_context_deadline_is_used() {
    let mut ctx = lambda_runtime::Context::default();
    ctx.deadline = Deadline::after(Duration::from_millis(500)).epoch_ms().unwrap();
    let response = BatchProcessor::default()
        .process(event([message("m1", &body("ok"))]), &ctx, &job)
        .await
        .unwrap();
    assert_eq!(
        failures(&response),
        ["m1"],
        "500 ms left is inside the default 3 s margin"
    );
}

#[tokio::test]
async fn an_emulators_placeholder_deadline_means_no_deadline() {
    // `cargo lambda watch` sends Lambda-Runtime-Deadline-Ms: 600000 (not an epoch time).
    let mut ctx = lambda_runtime::Context::default();
    ctx.deadline = 600_000;
    let response = BatchProcessor::default()
        .process(event([message("m1", &body("ok"))]), &ctx, &job)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "the record ran");
    assert_eq!(Deadline::from_context(&ctx), Deadline::NONE);
}
