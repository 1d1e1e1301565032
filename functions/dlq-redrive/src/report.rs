//! The JSON report an invocation returns: per queue what moved, what stayed and why.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::config::Route;
use crate::error::{MessageError, QueueError};
use crate::request::{Action, Mode};

/// Per-message reasons kept in a queue's report; the rest are counted in `failuresOmitted`.
pub const MAX_LISTED_FAILURES: usize = 20;
/// Parked message ids listed in a queue's report.
pub const MAX_LISTED_PARKED: usize = 10;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// No queue has a failed message or a failed call.
    pub ok: bool,
    pub mode: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    pub dry_run: bool,
    pub queues: Vec<QueueReport>,
    pub duration_ms: u64,
}

/// Why a replay or dry run stopped receiving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// A receive found no message this run had not handled yet.
    Empty,
    /// `maxMessages` reached.
    MaxMessages,
    /// Too little time left before the Lambda deadline for another batch.
    Deadline,
    /// An SQS call failed as a whole; see `errors`.
    Error,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueReport {
    /// The route's logical name.
    pub queue: String,
    pub dlq_url: String,
    pub source_url: String,
    /// Sent to the source queue (including `notDeleted`).
    pub moved: u64,
    /// Stayed in the DLQ: `redrive-count` reached `REDRIVE_MAX_COUNT`.
    pub parked: u64,
    /// Stayed in the DLQ because something went wrong; see `failures`.
    pub failed: u64,
    /// Stayed in the DLQ: did not match the filter.
    pub skipped: u64,
    /// FIFO: stayed in the DLQ behind an earlier message of its group that stayed, to keep order.
    pub held_back: u64,
    /// Moved, but the delete from the DLQ failed: the DLQ copy comes back after its visibility
    /// timeout and a later run sends it again (same `original-message-id`; workers skip it).
    pub not_deleted: u64,
    /// `ApproximateNumberOfMessages` of the DLQ after the run.
    pub remaining: Option<u64>,
    /// `ApproximateNumberOfMessagesNotVisible` of the DLQ after the run.
    pub in_flight: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<StopReason>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parked_message_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub failures_omitted: u64,
    /// Calls that failed as a whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection: Option<Inspection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_task: Option<MoveTaskReport>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl QueueReport {
    pub fn new(route: &Route) -> Self {
        Self {
            queue: route.name.clone(),
            dlq_url: route.dlq_url.clone(),
            source_url: route.source_url.clone(),
            ..Self::default()
        }
    }

    /// A message that stayed in the DLQ because of `error` (which names it).
    pub fn fail(&mut self, error: MessageError) {
        self.failed += 1;
        self.note_failure(error);
    }

    /// Records a reason without counting a failed message (e.g. a message that moved but was not deleted).
    pub fn note_failure(&mut self, error: MessageError) {
        // Reasons may quote what a message holds (an attribute's value): never an address in clear.
        let reason = shared::redact::mask_emails_in(&error.to_string()).into_owned();
        tracing::warn!(queue = %self.queue, reason = %reason, "message problem");
        if self.failures.len() < MAX_LISTED_FAILURES {
            self.failures.push(reason);
        } else {
            self.failures_omitted += 1;
        }
    }

    pub fn park(&mut self, message_id: &str) {
        self.parked += 1;
        if self.parked_message_ids.len() < MAX_LISTED_PARKED {
            self.parked_message_ids.push(message_id.to_owned());
        }
    }

    pub fn error(&mut self, error: QueueError) {
        let error = shared::redact::mask_emails_in(&error.to_string()).into_owned();
        tracing::error!(queue = %self.queue, error = %error, "SQS call failed");
        self.errors.push(error);
    }

    /// Nothing needs the operator's attention: no failed message, no copy left behind, no message
    /// left hidden, no failed call.
    pub fn is_ok(&self) -> bool {
        self.failed == 0 && self.not_deleted == 0 && self.failures.is_empty() && self.errors.is_empty()
    }
}

/// A dry run's view of a DLQ: counts and a small sample, nothing moved.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// Distinct messages received (and made visible again).
    pub inspected: u64,
    pub would_move: u64,
    pub would_park: u64,
    pub would_skip: u64,
    pub would_fail: u64,
    /// Inspected messages by `error-kind` (`retries-exhausted` when absent).
    pub by_error_kind: BTreeMap<String, u64>,
    /// Inspected messages by time spent in the DLQ (since `SentTimestamp`).
    pub by_age: AgeBuckets,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_age_seconds: Option<u64>,
    pub sample: Vec<SampleMessage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgeBuckets {
    #[serde(rename = "under-1h")]
    pub under_1h: u64,
    #[serde(rename = "1h-to-1d")]
    pub hour_to_day: u64,
    #[serde(rename = "1d-to-7d")]
    pub day_to_week: u64,
    #[serde(rename = "over-7d")]
    pub over_7d: u64,
    pub unknown: u64,
}

impl AgeBuckets {
    pub fn add(&mut self, age: Option<Duration>) {
        const HOUR: u64 = 3600;
        match age.map(|age| age.as_secs()) {
            None => self.unknown += 1,
            Some(s) if s < HOUR => self.under_1h += 1,
            Some(s) if s < 24 * HOUR => self.hour_to_day += 1,
            Some(s) if s < 7 * 24 * HOUR => self.day_to_week += 1,
            Some(_) => self.over_7d += 1,
        }
    }
}

/// What a replay of the same request would do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Move,
    Park,
    Skip,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleMessage {
    pub message_id: String,
    pub original_message_id: String,
    pub error_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// The `redrive-count` attribute as found (absent: never redriven).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_count: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The first 200 characters of the body.
    pub body: String,
    pub verdict: Verdict,
}

/// What a move-task request did: the task started (or, in a dry run, that would start), the
/// DLQ's tasks as SQS lists them, the task cancelled.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveTaskReport {
    /// A dry run of `start`: what would be started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_start: Option<TaskRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<StartedTask>,
    /// The DLQ's recent move tasks, most recent first (`status`, and `cancel` without a handle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<MoveTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<CancelledTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRequest {
    pub source_arn: String,
    pub destination_arn: String,
    /// `None`: SQS picks the rate.
    pub max_per_second: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedTask {
    pub task_handle: String,
    #[serde(flatten)]
    pub request: TaskRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledTask {
    pub task_handle: String,
    pub approximate_number_of_messages_moved: i64,
}

/// One entry of ListMessageMoveTasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveTask {
    /// Only running tasks have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    /// RUNNING, FAILED, CANCELLING, CANCELLED or COMPLETED.
    pub status: Option<String>,
    pub source_arn: Option<String>,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<i32>,
    pub approximate_number_of_messages_moved: i64,
    pub approximate_number_of_messages_to_move: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Epoch milliseconds.
    pub started_timestamp: i64,
}

pub fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_fall_into_their_buckets() {
        let mut buckets = AgeBuckets::default();
        for secs in [0, 3599, 3600, 86_399, 86_400, 7 * 86_400] {
            buckets.add(Some(Duration::from_secs(secs)));
        }
        buckets.add(None);
        assert_eq!(
            buckets,
            AgeBuckets {
                under_1h: 2,
                hour_to_day: 2,
                day_to_week: 1,
                over_7d: 1,
                unknown: 1
            }
        );
    }
}
