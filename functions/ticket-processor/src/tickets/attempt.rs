//! One issuing transaction, and what its answer means.
//!
//! `TransactWriteItems` of two writes that happen together or not at all:
//! 1. put the ticket if absent: one ticket per user and event, however many messages ask;
//! 2. `issued = issued + 1` on one counter if `issued < capacity`: never more than its seats, and
//!    the counters' seats sum to the event's.
//!
//! Both carry `ReturnValuesOnConditionCheckFailure = ALL_OLD`, so a cancelled transaction says
//! why without a second read: the existing ticket comes back in the first cancellation reason,
//! the full counter in the second, or no item at all (no such counter). Only that last, rare case
//! is confirmed with a read.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::cancellation::{COUNTER_WRITE, Cancellation, classify};
use super::error::{Context, Problem};
use super::inventory::Seats;
use super::{Contention, Issuance, Step, TicketTable};
use crate::schema::{Counter, Item, Layout, Ticket};

/// Top-level errors that mean "try again": throttling after the SDK's own retries, and a
/// conflict with another transaction on an item.
const THROTTLING_EXCEPTIONS: [&str; 3] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];
const CONFLICT_EXCEPTIONS: [&str; 2] = ["TransactionConflictException", "TransactionInProgressException"];

impl TicketTable {
    /// Put `ticket` (if absent) and take a seat from counter `shard`, in one transaction.
    pub(super) async fn attempt(&self, ticket: &Ticket, layout: Layout, shard: u32, context: &Context<'_>) -> Step {
        let item = match ticket.to_item(layout) {
            Ok(item) => item,
            Err(e) => return Step::Failed(context.malformed_ticket(format!("cannot be written: {e}"))),
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table name and item are set");
        let take_seat = Update::builder()
            .table_name(&self.table)
            .set_key(Some(layout.counter_key(context.event_id, shard).to_item()))
            .update_expression("SET #issued = #issued + :one")
            .condition_expression("attribute_exists(pk) AND #issued < #capacity")
            .expression_attribute_names("#issued", "issued")
            .expression_attribute_names("#capacity", "capacity")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table name, key and update expression are set");
        // In TICKET_WRITE, COUNTER_WRITE order: the cancellation reasons come back in this order.
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(take_seat).build())
            .send()
            .await;
        let error = match result {
            Ok(_) => return Step::Done(Issuance::Issued(ticket.clone())),
            Err(error) => error,
        };
        let reasons = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled.cancellation_reasons(),
            _ => return sdk_failure(context, "TransactWriteItems", &error),
        };
        match classify(reasons) {
            Cancellation::TicketExists(Some(item)) => existing_ticket(item, context),
            Cancellation::TicketExists(None) => self.read_ticket(layout, context).await,
            Cancellation::CounterRefused(Some(item)) => refused(layout, shard, item, context),
            Cancellation::CounterRefused(None) => self.confirm_counter(layout, shard, context).await,
            Cancellation::Contention(contention) => Step::Contention(contention),
            Cancellation::Rejected { write, code, described } => {
                let key = layout.counter_key(context.event_id, shard);
                Step::Failed(context.error(if write == COUNTER_WRITE && code == "ValidationError" {
                    Problem::MalformedEvent(format!("counter {key}: {described}"))
                } else {
                    Problem::Rejected(described)
                }))
            }
            Cancellation::Unexplained => Step::Failed(context.error(Problem::Unavailable {
                operation: "TransactWriteItems",
                reason: "cancelled without cancellation reasons".into(),
            })),
        }
    }
}

/// The ticket DynamoDB found (returned, or read back).
pub(super) fn existing_ticket(item: Item, context: &Context<'_>) -> Step {
    match Ticket::from_item(item) {
        Ok(ticket) => Step::Done(Issuance::AlreadyIssued(ticket)),
        Err(e) => Step::Failed(context.malformed_ticket(e)),
    }
}

/// A counter as it was when it refused a seat: exhausted, or changed since (tried again).
pub(super) fn refused(layout: Layout, shard: u32, item: Item, context: &Context<'_>) -> Step {
    match counter_seats(layout, shard, item, context) {
        Ok(seats) if seats.issued >= seats.capacity => Step::Exhausted(shard, seats),
        // Seats were free when read back: the counter changed between the check and the read.
        Ok(_) => Step::Contention(Contention::Conflict),
        Err(problem) => Step::Failed(context.error(problem)),
    }
}

/// A counter's numbers, or the malformed-event problem naming what is missing.
pub(super) fn counter_seats(layout: Layout, shard: u32, item: Item, context: &Context<'_>) -> Result<Seats, Problem> {
    let key = layout.counter_key(context.event_id, shard);
    let malformed = Problem::MalformedEvent;
    let counter: Counter = serde_dynamo::from_item(item)
        .map_err(|e| malformed(format!("{key}: capacity and issued must be non-negative numbers: {e}")))?;
    match (counter.capacity, counter.issued) {
        (Some(capacity), Some(issued)) => Ok(Seats { capacity, issued }),
        (None, _) => Err(malformed(format!("{key} has no numeric capacity"))),
        (_, None) => Err(malformed(format!("{key} has no numeric issued (seed it with 0)"))),
    }
}

/// Throttling after the SDK's own retries, and conflicts, are contention; any other failure
/// (5xx, network, a missing table, denied access) makes the table unavailable to this record.
pub(super) fn sdk_failure<E, R>(context: &Context<'_>, operation: &'static str, error: &SdkError<E, R>) -> Step
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let reason = shared::error_chain(error);
    match error.as_service_error().and_then(ProvideErrorMetadata::code) {
        Some(code) if THROTTLING_EXCEPTIONS.contains(&code) => Step::Contention(Contention::Throttled(reason)),
        Some(code) if CONFLICT_EXCEPTIONS.contains(&code) => Step::Contention(Contention::Conflict),
        _ => Step::Failed(context.error(Problem::Unavailable { operation, reason })),
    }
}
