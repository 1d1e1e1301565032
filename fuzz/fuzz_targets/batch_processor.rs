//! `BatchProcessor::run` on arbitrary batches with a handler that succeeds, fails (retryable or
//! permanent) or panics per record: the response only ever names non-empty messageIds of the
//! batch, each once; a record without a messageId fails the batch; each record's status follows
//! from what its handler did (and, FIFO, from its group's earlier records).
#![no_main]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use shared::dead_letter::MemoryDeadLetters;
use shared::{BatchConfig, BatchError, BatchProcessor, Deadline, Record, RecordError, RecordStatus};

/// What the handler does with a record (its body names it).
#[derive(Debug, Clone, Copy, Arbitrary, PartialEq, Eq)]
enum Behaviour {
    Succeed,
    Retryable,
    Permanent,
    Panic,
}

#[derive(Debug, Arbitrary)]
struct Spec {
    /// None: no messageId at all; Some(0): an empty one; else `m-<n % 6>` (repeats happen).
    message_id: Option<u8>,
    /// A FIFO message group `g-<n % 3>`.
    group: Option<u8>,
    behaviour: Behaviour,
}

#[derive(Debug, Arbitrary)]
struct Input {
    records: Vec<Spec>,
    fifo_queue: bool,
    dead_letter_queue: bool,
    concurrency: u8,
}

const PANIC_MARKER: &str = "fuzz: the handler panics on purpose";

fn body(behaviour: Behaviour) -> String {
    json!({ "behaviour": format!("{behaviour:?}") }).to_string()
}

async fn handle(record: Record) -> Result<(), RecordError> {
    let text = record.body();
    if text == body(Behaviour::Succeed) {
        Ok(())
    } else if text == body(Behaviour::Retryable) {
        Err(RecordError::retryable("fuzz-retryable", "the handler asks for a retry"))
    } else if text == body(Behaviour::Permanent) {
        Err(RecordError::permanent(
            "fuzz-permanent",
            "the handler refuses the record",
        ))
    } else {
        std::panic::panic_any(PANIC_MARKER)
    }
}

fuzz_target!(
    init: {
        // libFuzzer's hook aborts on any panic; the handler's own panics are part of the input
        // and are caught by the batch processor, so only they are let through.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&PANIC_MARKER) {
                abort(info);
            }
        }));
    },
    |input: Input| {
    let arn = if input.fifo_queue { shared::testing::FIFO_QUEUE_ARN } else { shared::testing::STANDARD_QUEUE_ARN };
    let mut messages = Vec::new();
    for (index, spec) in input.records.iter().enumerate() {
        let id = spec.message_id.map(|n| if n == 0 { String::new() } else { format!("m-{}", n % 6) });
        let mut message = match spec.group {
            Some(group) => shared::testing::fifo_message("x", &format!("g-{}", group % 3), &body(spec.behaviour)),
            None => shared::testing::message("x", &body(spec.behaviour)),
        };
        message["eventSourceARN"] = json!(arn);
        match &id {
            Some(id) => message["messageId"] = json!(id),
            None => {
                message.as_object_mut().unwrap().remove("messageId");
            }
        }
        message["receiptHandle"] = json!(format!("r-{index}"));
        messages.push(message);
    }
    let event = shared::testing::event(messages);
    let mut processor = BatchProcessor::new(BatchConfig {
        concurrency: usize::from(input.concurrency % 12),
        ..BatchConfig::default()
    });
    if input.dead_letter_queue {
        processor = processor.with_dead_letters(Arc::new(MemoryDeadLetters::new()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let result = runtime.block_on(processor.run(event, Deadline::NONE, &handle));

    let missing = input.records.iter().position(|s| !matches!(s.message_id, Some(n) if n != 0));
    let outcome = match (result, missing) {
        (Err(BatchError::MissingMessageId { index, total }), Some(first)) => {
            assert_eq!((index, total), (first, input.records.len()));
            return;
        }
        (Err(error), None) => panic!("every record has a messageId, yet: {error}"),
        (Ok(_), Some(index)) => panic!("record {index} has no messageId, yet the batch ran"),
        (Ok(outcome), None) => outcome,
    };

    let ids: HashSet<String> = outcome.results.iter().map(|(id, _)| id.clone()).collect();
    let response = outcome.response();
    let mut reported = HashSet::new();
    for failure in &response.batch_item_failures {
        let id = failure.item_identifier.clone();
        assert!(!id.is_empty(), "an empty itemIdentifier");
        assert!(ids.contains(&id), "{id} is not a messageId of the batch");
        assert!(reported.insert(id.clone()), "{id} is reported twice");
    }
    assert_eq!(outcome.results.len(), input.records.len());

    // Each record's status, from its behaviour and (FIFO) its group's earlier records.
    let fifo = |spec: &Spec| spec.group.filter(|_| input.fifo_queue).map(|g| g % 3);
    let mut group_failed: HashMap<u8, bool> = HashMap::new();
    for (spec, (id, status)) in input.records.iter().zip(&outcome.results) {
        let earlier_failed = fifo(spec).is_some_and(|g| group_failed.get(&g).copied().unwrap_or(false));
        let expected_failure = earlier_failed
            || match spec.behaviour {
                Behaviour::Succeed => false,
                Behaviour::Permanent => !input.dead_letter_queue,
                Behaviour::Retryable | Behaviour::Panic => true,
            };
        assert_eq!(status.is_failure(), expected_failure, "{id}: {spec:?} → {status:?}");
        if earlier_failed {
            assert_eq!(status, &RecordStatus::SkippedAfterGroupFailure, "{id}");
        } else {
            match (spec.behaviour, status) {
                (Behaviour::Succeed, RecordStatus::Processed) => {}
                (Behaviour::Permanent, RecordStatus::DeadLettered(e)) => assert!(e.is_permanent()),
                (Behaviour::Permanent, RecordStatus::Failed(e)) => assert!(e.is_permanent()),
                (Behaviour::Retryable, RecordStatus::Failed(e)) => assert_eq!(e.kind(), "fuzz-retryable"),
                (Behaviour::Panic, RecordStatus::Failed(e)) => assert_eq!(e.kind(), "panic"),
                (behaviour, status) => panic!("{id}: {behaviour:?} gave {status:?}"),
            }
        }
        if let Some(group) = fifo(spec) {
            let failed = status.is_failure();
            group_failed.entry(group).and_modify(|f| *f |= failed).or_insert(failed);
        }
        if status.is_failure() {
            assert!(reported.contains(id), "{id} failed but is not in the response");
        }
    }
});
