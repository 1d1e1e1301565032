//! What dlq-redrive writes in each invocation's EMF line (`shared::metrics`, dimension: the
//! function's name), summed over the DLQs the request named, read from the report:
//!
//! | metric | unit | one per |
//! |---|---|---|
//! | `RedriveMoved` | Count | message sent back to its source queue (a dry run moves none) |
//! | `RedriveParked` | Count | message left in the DLQ because its `redrive-count` reached `REDRIVE_MAX_COUNT` |
//! | `RedriveFailed` | Count | message left in the DLQ because something went wrong (see the report's `failures`) |
//!
//! An invalid request writes the line with zeros (and `ColdStart`).

use shared::metrics::{Count, Metric, Recorder};

use crate::report::Report;

pub const REDRIVE_MOVED: Count = Count::new("RedriveMoved");
pub const REDRIVE_PARKED: Count = Count::new("RedriveParked");
pub const REDRIVE_FAILED: Count = Count::new("RedriveFailed");

/// Every metric this function writes.
pub const ALL: &[Metric] = &[REDRIVE_MOVED.metric(), REDRIVE_PARKED.metric(), REDRIVE_FAILED.metric()];

/// The report's totals.
pub fn count_report(metrics: &Recorder, report: &Report) {
    for queue in &report.queues {
        metrics.add(REDRIVE_MOVED, queue.moved);
        metrics.add(REDRIVE_PARKED, queue.parked);
        metrics.add(REDRIVE_FAILED, queue.failed);
    }
}
