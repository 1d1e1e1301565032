//! What `shared` itself costs per record: `BatchProcessor::run` over a batch of 10 SQS records
//! whose handler does nothing, under `Idempotency` with the in-memory store. No AWS, no I/O:
//! only parsing records into `Record`s, lanes, concurrency, catch_unwind, the idempotency state
//! machine (key, SHA-256 of the body, lock, result JSON, completion) and the batch summary.
//!
//! Cases: `fresh` (new messageIds: lock, run, complete), `duplicate` (every key completed: the
//! stored result comes back), `no_idempotency` (the processor alone), `fresh_json_logs` (fresh,
//! with the production JSON log subscriber writing to a sink), `fresh_emf` (fresh, with the
//! invocation's EMF metrics line formatted and written to a sink, as `process` does).
//!
//! `cargo bench -p bench --bench batch_overhead`; `bench` puts the results in BENCHMARKS.md.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shared::idempotency::MemoryStore;
use shared::testing::{event, message};
use shared::{BatchConfig, BatchProcessor, Deadline, Idempotency, IdempotencyConfig, Record, RecordError};

const BATCH: usize = 10;
const BODY: &str = r#"{"eventId":"concert-2026","userId":"user-0123456789abcdef","requestedAt":"2026-11-22T10:00:00.000Z","contact":{"email":"fan@example.com"},"locale":"en"}"#;

fn batch() -> SqsEvent {
    event((0..BATCH).map(|_| message(&uuid::Uuid::new_v4().to_string(), BODY)))
}

fn idempotency() -> Idempotency {
    Idempotency::new(Arc::new(MemoryStore::new()), IdempotencyConfig::new("ticket-processor"))
}

async fn nothing(_record: Record) -> Result<(), RecordError> {
    Ok(())
}

fn batch_overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let processor = BatchProcessor::new(BatchConfig::default());
    let mut group = c.benchmark_group(bench::micro::GROUP);
    // A few seconds per case keeps `make bench` short; the intervals in BENCHMARKS.md show the spread.
    group
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4));

    let run_fresh = |(idempotency, event): (Idempotency, SqsEvent)| {
        let handler = idempotency.wrap(nothing);
        let outcome = runtime
            .block_on(processor.run(event, Deadline::NONE, &handler))
            .unwrap();
        assert_eq!(outcome.summary.succeeded, BATCH);
        // Dropped outside the timed routine by criterion, with the store.
        (idempotency, outcome)
    };
    group.bench_function("fresh", |b| {
        b.iter_batched(|| (idempotency(), batch()), run_fresh, BatchSize::SmallInput)
    });

    let completed = idempotency();
    let seen = batch();
    let handler = completed.wrap(nothing);
    runtime
        .block_on(processor.run(seen.clone(), Deadline::NONE, &handler))
        .unwrap();
    group.bench_function("duplicate", |b| {
        b.iter_batched(
            || seen.clone(),
            |event| {
                let outcome = runtime
                    .block_on(processor.run(event, Deadline::NONE, &handler))
                    .unwrap();
                assert_eq!(outcome.summary.duplicates, BATCH);
                outcome
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("no_idempotency", |b| {
        b.iter_batched(
            batch,
            |event| {
                runtime
                    .block_on(processor.run(event, Deadline::NONE, &nothing))
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });

    let metrics = shared::metrics::Metrics::to_writer("ticket-processor", &[], std::io::sink);
    group.bench_function("fresh_emf", |b| {
        b.iter_batched(
            || (idempotency(), batch()),
            |(idempotency, event)| {
                let handler = idempotency.wrap(nothing);
                let invocation = metrics.start_with(Some("request-id".to_owned()), None);
                let outcome = runtime
                    .block_on(processor.run_recorded(event, Deadline::NONE, &handler, &invocation))
                    .unwrap();
                drop(invocation); // the line is formatted and written here, inside the timed routine
                (idempotency, outcome)
            },
            BatchSize::SmallInput,
        )
    });

    let logs = shared::logging::subscriber(std::io::sink);
    tracing::subscriber::with_default(logs, || {
        group.bench_function("fresh_json_logs", |b| {
            b.iter_batched(|| (idempotency(), batch()), run_fresh, BatchSize::SmallInput)
        });
    });
    group.finish();
}

criterion_group!(benches, batch_overhead);
criterion_main!(benches);
