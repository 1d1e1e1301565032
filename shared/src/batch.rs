//! SQS batch processing with partial batch failures (`batchItemFailures`).
//!
//! Guarantees, whatever the handler does:
//! - every `itemIdentifier` is a non-empty messageId of this batch, reported once;
//! - a body that does not parse, a handler error or a panic fails that record only;
//! - FIFO records of one message group run in order, and after a failure the group's later
//!   records are reported failed without running; other groups go on, concurrently;
//! - no record starts once the time left is below [`BatchConfig::deadline_margin`]; those are
//!   reported failed so SQS redelivers them;
//! - permanent errors go to the dead-letter sink (when configured) and count as handled;
//! - with a [`RetryDelay`], every record reported failed is made visible again after its delay
//!   (`ChangeMessageVisibility`) rather than after the queue's visibility timeout.
//! - with [`BatchProcessor::with_metrics`], each invocation writes one EMF line: the batch's counts
//!   and whatever its records added through [`Record::metrics`].

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use futures::{FutureExt, StreamExt};
use tracing::Instrument;

use crate::dead_letter::DeadLetterSink;
use crate::handler::{Handled, RecordHandler};
use crate::metrics::{Metrics, Recorder, batch as metric};
use crate::retry_delay::RetryDelay;
use crate::{Deadline, Record, RecordError};

/// How a [`BatchProcessor`] runs a batch.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Records (FIFO: message groups) in flight at once. Default 10, the default SQS batch size:
    /// handlers are I/O-bound, so a whole default batch overlaps its round trips.
    pub concurrency: usize,
    /// Records are not started once less than this much time is left. Default 3 s: room for a
    /// record's few round trips with SDK retries before Lambda's timeout kills the invocation.
    pub deadline_margin: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            concurrency: 10,
            deadline_margin: Duration::from_secs(3),
        }
    }
}

/// Why a batch could not be processed at all (the invocation fails; SQS retries the batch).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A record without a messageId cannot be reported; AWS would retry the whole batch for an
    /// empty identifier anyway, so the invocation fails before any record runs.
    #[error("record {index} of {total} in the batch has no messageId; failing the invocation so SQS retries the batch")]
    MissingMessageId {
        /// The record's position in the event's `Records`, from 0.
        index: usize,
        /// Records in the batch.
        total: usize,
    },
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    /// The handler succeeded.
    Processed,
    /// Idempotency found the work already done.
    Duplicate,
    /// Failed permanently and sent to the dead-letter sink: handled.
    DeadLettered(RecordError),
    /// Reported in `batchItemFailures`; SQS redelivers it.
    Failed(RecordError),
    /// FIFO: an earlier record of its message group failed, so it did not run.
    SkippedAfterGroupFailure,
    /// Not started: too little time left before the deadline.
    NotStarted,
}

impl RecordStatus {
    /// Whether the record goes into `batchItemFailures`.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            RecordStatus::Failed(_) | RecordStatus::SkippedAfterGroupFailure | RecordStatus::NotStarted
        )
    }
}

/// Counts for one batch, logged as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchSummary {
    /// Records in the batch.
    pub records: usize,
    /// Records handled, duplicates included.
    pub succeeded: usize,
    /// Records idempotency found already done (also counted in `succeeded`).
    pub duplicates: usize,
    /// Records reported in `batchItemFailures`, `not_started` included.
    pub failed: usize,
    /// Records that failed permanently and went to the dead-letter sink.
    pub permanent: usize,
    /// Records not started for lack of time (also counted in `failed`).
    pub not_started: usize,
    /// Wall time of the batch, in milliseconds.
    pub duration_ms: u64,
}

/// Per-record results of a batch, in the order of the event.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    /// Each record's messageId and what happened to it.
    pub results: Vec<(String, RecordStatus)>,
    /// The counts of `results`.
    pub summary: BatchSummary,
}

impl BatchOutcome {
    /// The response for Lambda: failed messageIds in event order, each once. SQS can put two
    /// copies of one message (same messageId) in a batch; reporting the id once keeps the promise
    /// that every identifier is reported once, and one failed copy is enough for a redelivery.
    pub fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let mut reported = std::collections::HashSet::new();
        for (message_id, status) in &self.results {
            if status.is_failure() && reported.insert(message_id.as_str()) {
                response.add_failure(message_id.clone());
            }
        }
        response
    }

    /// What happened to the (first) record with `message_id`; `None` if the batch has none.
    pub fn status(&self, message_id: &str) -> Option<&RecordStatus> {
        self.results
            .iter()
            .find(|(id, _)| id == message_id)
            .map(|(_, status)| status)
    }
}

/// Drives a [`RecordHandler`] over an SQS batch.
#[derive(Clone, Default)]
pub struct BatchProcessor {
    config: BatchConfig,
    dead_letters: Option<Arc<dyn DeadLetterSink>>,
    retry_delay: Option<RetryDelay>,
    metrics: Option<Metrics>,
}

impl std::fmt::Debug for BatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("config", &self.config)
            .field("dead_letters", &self.dead_letters.is_some())
            .field("retry_delay", &self.retry_delay.as_ref().map(RetryDelay::config))
            .field("metrics", &self.metrics)
            .finish()
    }
}

impl BatchProcessor {
    /// A processor with no dead-letter sink, retry delay or metrics; add them with the
    /// `with_*` methods.
    pub fn new(config: BatchConfig) -> Self {
        Self {
            config,
            dead_letters: None,
            retry_delay: None,
            metrics: None,
        }
    }

    /// Send permanently failed records here instead of reporting them failed.
    pub fn with_dead_letters(mut self, sink: Arc<dyn DeadLetterSink>) -> Self {
        self.dead_letters = Some(sink);
        self
    }

    /// Make records reported failed visible again after their retry delay ([`crate::retry_delay`]).
    pub fn with_retry_delay(mut self, retry_delay: RetryDelay) -> Self {
        self.retry_delay = Some(retry_delay);
        self
    }

    /// Write one EMF line per invocation of [`BatchProcessor::process`] to `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Process a Lambda SQS event and return the partial-failure response. With metrics, the
    /// invocation's EMF line is written before this returns, whatever the outcome.
    pub async fn process<H: RecordHandler<Output: Into<Handled>>>(
        &self,
        event: SqsEvent,
        ctx: &lambda_runtime::Context,
        handler: &H,
    ) -> Result<SqsBatchResponse, BatchError> {
        let invocation = self.metrics.as_ref().map(|metrics| metrics.start(ctx));
        let recorder = invocation.as_deref().cloned().unwrap_or_default();
        let outcome = self
            .run_recorded(event, Deadline::from_context(ctx), handler, &recorder)
            .await;
        Ok(outcome?.response())
    }

    /// Process a batch and return every record's status.
    pub async fn run<H: RecordHandler<Output: Into<Handled>>>(
        &self,
        event: SqsEvent,
        deadline: Deadline,
        handler: &H,
    ) -> Result<BatchOutcome, BatchError> {
        self.run_recorded(event, deadline, handler, &Recorder::detached()).await
    }

    /// [`BatchProcessor::run`], adding the batch's counts to `metrics` and handing `metrics` to
    /// every record.
    pub async fn run_recorded<H: RecordHandler<Output: Into<Handled>>>(
        &self,
        event: SqsEvent,
        deadline: Deadline,
        handler: &H,
        metrics: &Recorder,
    ) -> Result<BatchOutcome, BatchError> {
        let started = Instant::now();
        let total = event.records.len();
        let mut records = Vec::with_capacity(total);
        for (index, message) in event.records.into_iter().enumerate() {
            let Some(record) = Record::new(message, deadline) else {
                // SQS retries the whole batch.
                metrics.add(metric::RECORDS, total as u64);
                metrics.add(metric::FAILED, total as u64);
                return Err(BatchError::MissingMessageId { index, total });
            };
            records.push(record.with_metrics(metrics.clone()));
        }

        let lanes = lanes(&records);
        let records = &records;
        let mut statuses: Vec<Option<RecordStatus>> = vec![None; total];
        let mut finished = futures::stream::iter(lanes)
            .map(|lane| self.run_lane(records, lane, deadline, handler))
            .buffer_unordered(self.config.concurrency.max(1));
        while let Some(lane_results) = finished.next().await {
            for (index, status) in lane_results {
                statuses[index] = Some(status);
            }
        }

        let results: Vec<(String, RecordStatus)> = records
            .iter()
            .zip(statuses)
            .map(|(record, status)| {
                (
                    record.message_id().to_owned(),
                    status.expect("every lane reports each of its records"),
                )
            })
            .collect();
        let summary = summarize(&results, started.elapsed());
        tracing::info!(
            records = summary.records,
            succeeded = summary.succeeded,
            duplicates = summary.duplicates,
            failed = summary.failed,
            permanent = summary.permanent,
            not_started = summary.not_started,
            duration_ms = summary.duration_ms,
            "batch processed"
        );
        record_summary(metrics, &summary, started.elapsed());
        Ok(BatchOutcome { results, summary })
    }

    /// Runs a lane's records in order. A failure, or a record left unstarted for lack of time,
    /// stops the lane: its later records are reported failed without running.
    async fn run_lane<H: RecordHandler<Output: Into<Handled>>>(
        &self,
        records: &[Record],
        lane: Vec<usize>,
        deadline: Deadline,
        handler: &H,
    ) -> Vec<(usize, RecordStatus)> {
        let mut results = Vec::with_capacity(lane.len());
        let mut stopped: Option<RecordStatus> = None;
        // A copy of a message an earlier copy dead-lettered is handled too, not sent twice.
        let mut dead_lettered: std::collections::HashMap<&str, RecordStatus> = std::collections::HashMap::new();
        for index in lane {
            let record = &records[index];
            let span = tracing::info_span!("record", message_id = record.message_id());
            if let Some(stop) = &stopped {
                self.delay_retry(record, stop).instrument(span).await;
                results.push((index, stop.clone()));
                continue;
            }
            if let Some(status) = dead_lettered.get(record.message_id()) {
                tracing::info!(
                    message_id = record.message_id(),
                    "a copy of a message dead-lettered in this batch"
                );
                results.push((index, status.clone()));
                continue;
            }
            let status = if deadline
                .remaining()
                .is_some_and(|left| left < self.config.deadline_margin)
            {
                tracing::warn!(
                    message_id = record.message_id(),
                    "not started: too close to the deadline"
                );
                RecordStatus::NotStarted
            } else {
                self.run_record(record.clone(), handler).instrument(span.clone()).await
            };
            self.delay_retry(record, &status).instrument(span).await;
            stopped = match &status {
                RecordStatus::NotStarted => Some(RecordStatus::NotStarted),
                RecordStatus::Failed(_) => Some(RecordStatus::SkippedAfterGroupFailure),
                _ => None,
            };
            if matches!(status, RecordStatus::DeadLettered(_)) {
                dead_lettered.insert(record.message_id(), status.clone());
            }
            results.push((index, status));
        }
        results
    }

    /// With a retry delay, a record reported failed comes back after its delay: the one its
    /// error names, else the backoff by receive count (also for records that did not run).
    async fn delay_retry(&self, record: &Record, status: &RecordStatus) {
        let Some(retry_delay) = &self.retry_delay else {
            return;
        };
        let error = match status {
            RecordStatus::Failed(error) => Some(error),
            RecordStatus::NotStarted | RecordStatus::SkippedAfterGroupFailure => None,
            RecordStatus::Processed | RecordStatus::Duplicate | RecordStatus::DeadLettered(_) => return,
        };
        retry_delay.apply(record, error).await;
    }

    async fn run_record<H: RecordHandler<Output: Into<Handled>>>(&self, record: Record, handler: &H) -> RecordStatus {
        let for_dead_letter = record.clone();
        let result = AssertUnwindSafe(async move { handler.handle(record).await })
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(RecordError::retryable("panic", panic_message(&*panic))));
        let error = match result {
            Ok(output) => {
                return match output.into() {
                    Handled::Processed => RecordStatus::Processed,
                    Handled::Duplicate => RecordStatus::Duplicate,
                };
            }
            Err(error) => error,
        };
        if !error.is_permanent() {
            tracing::warn!(error_kind = error.kind(), error = %error, "record failed; SQS will redeliver it");
            return RecordStatus::Failed(error);
        }
        let Some(sink) = &self.dead_letters else {
            tracing::error!(error_kind = error.kind(), error = %error,
                "record failed permanently; no dead-letter queue configured, reporting it failed");
            return RecordStatus::Failed(error);
        };
        match sink.send(&for_dead_letter, &error).await {
            Ok(()) => {
                tracing::error!(error_kind = error.kind(), error = %error, "record failed permanently; sent to the dead-letter queue");
                RecordStatus::DeadLettered(error)
            }
            Err(send_error) => {
                tracing::error!(error_kind = error.kind(), error = %error, dead_letter_error = %send_error,
                    "record failed permanently and could not be dead-lettered; reporting it failed");
                RecordStatus::Failed(RecordError::retryable("dead-letter-unavailable", send_error))
            }
        }
    }
}

/// Groups records into lanes that run one after another: a FIFO message group is one lane (in
/// event order); every other record is a lane of its own. Records count as FIFO when they carry a
/// `MessageGroupId` and come from a `.fifo` queue (or the source is unknown): a standard queue's
/// message groups (fair queues) don't promise order, so they are not serialised. Copies of one
/// message (the same messageId twice in a batch, as SQS's at-least-once delivery allows) share a
/// lane, so the later copy finds the first one's result instead of its lock.
fn lanes(records: &[Record]) -> Vec<Vec<usize>> {
    let mut lanes: Vec<Vec<usize>> = Vec::new();
    let mut group_lane: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut message_lane: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let fifo_group = record
            .group_id()
            .filter(|_| record.source_queue_arn().is_none_or(|arn| arn.ends_with(".fifo")));
        let lane = match (message_lane.get(record.message_id()), fifo_group) {
            (Some(&lane), _) => lane,
            (None, Some(group)) => *group_lane.entry(group).or_insert_with(|| {
                lanes.push(Vec::new());
                lanes.len() - 1
            }),
            (None, None) => {
                lanes.push(Vec::new());
                lanes.len() - 1
            }
        };
        lanes[lane].push(index);
        message_lane.entry(record.message_id()).or_insert(lane);
    }
    lanes
}

fn summarize(results: &[(String, RecordStatus)], elapsed: Duration) -> BatchSummary {
    let mut summary = BatchSummary {
        records: results.len(),
        duration_ms: elapsed.as_millis() as u64,
        ..BatchSummary::default()
    };
    for (_, status) in results {
        match status {
            RecordStatus::Processed => summary.succeeded += 1,
            RecordStatus::Duplicate => {
                summary.succeeded += 1;
                summary.duplicates += 1;
            }
            RecordStatus::DeadLettered(_) => summary.permanent += 1,
            RecordStatus::Failed(_) | RecordStatus::SkippedAfterGroupFailure => summary.failed += 1,
            RecordStatus::NotStarted => {
                summary.failed += 1;
                summary.not_started += 1;
            }
        }
    }
    summary
}

fn record_summary(metrics: &Recorder, summary: &BatchSummary, elapsed: Duration) {
    metrics.add(metric::RECORDS, summary.records as u64);
    metrics.add(metric::SUCCEEDED, summary.succeeded as u64);
    metrics.add(metric::DUPLICATES, summary.duplicates as u64);
    metrics.add(metric::FAILED, summary.failed as u64);
    metrics.add(metric::DEAD_LETTERED, summary.permanent as u64);
    metrics.add(metric::NOT_STARTED, summary.not_started as u64);
    metrics.observe(metric::DURATION, elapsed);
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    format!("the handler panicked: {text}")
}

/// Lets a handler return `BatchError` to lambda_runtime: the invocation fails with this type and message.
impl From<BatchError> for lambda_runtime::Diagnostic {
    fn from(error: BatchError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "BatchError".to_owned(),
            error_message: error.to_string(),
        }
    }
}
