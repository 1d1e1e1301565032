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
//! The handler counts each request's outcome (`handler::count_issuance`). `TimeToTicket` is not
//! recorded for a copy redriven by dlq-redrive (it carries
//! `original-message-id`): SQS gives the copy a new `SentTimestamp`, so its age would be the
//! time since the redrive, not since the request, and mixing the two would hide both. Nor for a
//! duplicate: idempotency answers it without running the handler.
//!
//! Conflicts and throttles are counted where they are seen: `TicketTable::issue`'s retry loop
//! counts every one it met ([`count_contention`]), those it retried away as well as those of a
//! request that ran out of time (`transaction-conflict`, `throttled`).

use shared::metrics::{Count, Metric, Recorder, Timing};

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

/// The `TransactionConflict` cancellations and throttling answers one request met.
pub fn count_contention(metrics: &Recorder, conflicts: u32, throttles: u32) {
    metrics.add(TRANSACTION_CONFLICTS, u64::from(conflicts));
    metrics.add(TABLE_THROTTLES, u64::from(throttles));
}
