//! What ticket-processor adds to its invocation's EMF line (`shared::metrics`), besides the
//! batch's counts. Dimension: the function's name.
//!
//! | metric | unit | one per |
//! |---|---|---|
//! | `TicketsIssued` | Count | ticket written (the transaction committed) |
//! | `AlreadyIssued` | Count | request whose user already had a ticket (a producer duplicate, a re-run) |
//! | `SoldOut` | Count | request refused for lack of seats |
//! | `TransactionConflicts` | Count | `TransactionConflict` cancellation of the ticket transaction |
//! | `TableThrottles` | Count | throttling answer from the tickets table |
//! | `TimeToTicket` | Milliseconds | issued ticket: now − the record's `SentTimestamp` |
//!
//! `TimeToTicket` is not recorded for a copy redriven by dlq-redrive (it carries
//! `original-message-id`): SQS gives the copy a new `SentTimestamp`, so its age would be the
//! time since the redrive, not since the request, and mixing the two would hide both. Nor for a
//! duplicate: idempotency answers it without running the handler.
//!
//! Conflicts and throttles are counted where they are seen. Today that is the record's outcome:
//! a record that fails with `transaction-conflict` adds the attempts that conflicted, one that
//! fails with `throttled` adds 1; conflicts retried away inside `TicketTable::issue` are not
//! seen here. A retry loop that sees each one should call [`count_conflict`] /
//! [`count_throttle`] per attempt (with `record.metrics()`), and [`count_issue_error`] should
//! then stop counting them, or they count twice.

use std::time::SystemTime;

use shared::Record;
use shared::metrics::{Count, Metric, Recorder, Timing};

use crate::tickets::{Issuance, IssueError};

pub const TICKETS_ISSUED: Count = Count::new("TicketsIssued");
pub const ALREADY_ISSUED: Count = Count::new("AlreadyIssued");
pub const SOLD_OUT: Count = Count::new("SoldOut");
pub const TRANSACTION_CONFLICTS: Count = Count::new("TransactionConflicts");
pub const TABLE_THROTTLES: Count = Count::new("TableThrottles");
pub const TIME_TO_TICKET: Timing = Timing::new("TimeToTicket");

/// Every metric this function adds (the batch's come from `shared::metrics::batch`).
pub const ALL: &[Metric] = &[
    TICKETS_ISSUED.metric(),
    ALREADY_ISSUED.metric(),
    SOLD_OUT.metric(),
    TRANSACTION_CONFLICTS.metric(),
    TABLE_THROTTLES.metric(),
    TIME_TO_TICKET.metric(),
];

/// A request's outcome, at `now`.
pub fn count_issuance(record: &Record, issuance: &Issuance, now: SystemTime) {
    let metrics = record.metrics();
    match issuance {
        Issuance::Issued(_) => {
            metrics.add(TICKETS_ISSUED, 1);
            if let Some(age) = record.age_at(now).filter(|_| !record.is_redriven_copy()) {
                metrics.observe(TIME_TO_TICKET, age);
            }
        }
        Issuance::AlreadyIssued(_) => metrics.add(ALREADY_ISSUED, 1),
        Issuance::SoldOut { .. } => metrics.add(SOLD_OUT, 1),
    }
}

/// The conflicts and throttles a failed request reports.
pub fn count_issue_error(metrics: &Recorder, error: &IssueError) {
    match error {
        IssueError::Conflict { attempts, .. } => metrics.add(TRANSACTION_CONFLICTS, u64::from(*attempts)),
        IssueError::Throttled { .. } => count_throttle(metrics),
        _ => {}
    }
}

/// One `TransactionConflict` of the ticket transaction.
pub fn count_conflict(metrics: &Recorder) {
    metrics.add(TRANSACTION_CONFLICTS, 1);
}

/// One throttling answer from the tickets table.
pub fn count_throttle(metrics: &Recorder) {
    metrics.add(TABLE_THROTTLES, 1);
}
