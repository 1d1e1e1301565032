//! `BatchProcessor::run` on arbitrary batches with a handler that succeeds, fails (retryable or
//! permanent) or panics per record: the response only ever names non-empty messageIds of the
//! batch, each once; a record without a messageId fails the batch; each record's status follows
//! from what its handler did (and from its lane's earlier records: a FIFO group, or copies of
//! one messageId).
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

    // Each record's status, from its behaviour and its lane's earlier records. Lanes as the batch
    // processor builds them: a copy of a messageId joins the first copy's lane, else a FIFO
    // record its group's, else a record runs alone. A lane stops at its first failure; a copy of
    // a message dead-lettered earlier in its lane is dead-lettered too, without running.
    let fifo = |spec: &Spec| spec.group.filter(|_| input.fifo_queue).map(|g| g % 3);
    let (mut message_lane, mut group_lane) = (HashMap::new(), HashMap::new());
    let mut lanes = 0;
    let mut new_lane = || {
        lanes += 1;
        lanes - 1
    };
    let mut lane_of = Vec::new();
    for (spec, (id, _)) in input.records.iter().zip(&outcome.results) {
        let lane = match (message_lane.get(id).copied(), fifo(spec)) {
            (Some(lane), _) => lane,
            (None, Some(group)) => *group_lane.entry(group).or_insert_with(&mut new_lane),
            (None, None) => new_lane(),
        };
        message_lane.entry(id.clone()).or_insert(lane);
        lane_of.push(lane);
    }
    let mut lane_failed: HashMap<usize, bool> = HashMap::new();
    let mut dead_lettered: HashSet<(usize, String)> = HashSet::new();
    for ((spec, (id, status)), lane) in input.records.iter().zip(&outcome.results).zip(lane_of) {
        let earlier_failed = lane_failed.get(&lane).copied().unwrap_or(false);
        let copy_of_dead_letter = !earlier_failed && dead_lettered.contains(&(lane, id.clone()));
        let expected_failure = earlier_failed
            || (!copy_of_dead_letter
                && match spec.behaviour {
                    Behaviour::Succeed => false,
                    Behaviour::Permanent => !input.dead_letter_queue,
                    Behaviour::Retryable | Behaviour::Panic => true,
                });
        assert_eq!(status.is_failure(), expected_failure, "{id}: {spec:?} → {status:?}");
        if earlier_failed {
            assert_eq!(status, &RecordStatus::SkippedAfterGroupFailure, "{id}");
        } else if copy_of_dead_letter {
            assert!(matches!(status, RecordStatus::DeadLettered(_)), "{id}: {status:?}");
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
        if status.is_failure() {
            lane_failed.insert(lane, true);
        }
        if matches!(status, RecordStatus::DeadLettered(_)) {
            dead_lettered.insert((lane, id.clone()));
        }
        if status.is_failure() {
            assert!(reported.contains(id), "{id} failed but is not in the response");
        }
    }
});
