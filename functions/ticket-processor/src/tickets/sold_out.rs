//! "Sold out" from counters this environment saw exhausted earlier is confirmed, never assumed:
//! one `TransactGetItems` reads the user's ticket and every counter as one serializable snapshot.
//! A ticket found wins (`already-issued`); seats found reopen those counters (the capacity was
//! raised); else every counter is full at one instant and the user has no ticket: sold out.
//!
//! One read instead of K refused transactions per late request: after a sell-out, most requests
//! end here.

use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::types::{Get, TransactGetItem};

use super::attempt::{counter_seats, existing_ticket, sdk_failure};
use super::cancellation::{Cancellation, classify};
use super::error::{Context, Problem};
use super::{Issuance, Step, TicketTable};
use crate::schema::Layout;

impl TicketTable {
    pub(super) async fn confirm_sold_out(&self, layout: Layout, context: &Context<'_>) -> Step {
        let event_id = context.event_id;
        let keys = std::iter::once(layout.ticket_key(event_id, context.user_id))
            .chain((0..layout.shards()).map(|shard| layout.counter_key(event_id, shard)));
        let gets = keys.map(|key| {
            let get = Get::builder()
                .table_name(&self.table)
                .set_key(Some(key.to_item()))
                .build()
                .expect("table name and key are set");
            TransactGetItem::builder().get(get).build()
        });
        let result = self
            .client
            .transact_get_items()
            .set_transact_items(Some(gets.collect()))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) => {
                let reasons = match error.as_service_error() {
                    Some(TransactGetItemsError::TransactionCanceledException(cancelled)) => {
                        cancelled.cancellation_reasons()
                    }
                    _ => return sdk_failure(context, "TransactGetItems", &error),
                };
                return match classify(reasons) {
                    Cancellation::Contention(contention) => Step::Contention(contention),
                    other => Step::Failed(context.error(Problem::Unavailable {
                        operation: "TransactGetItems",
                        reason: format!("cancelled: {other:?}"),
                    })),
                };
            }
        };
        let mut items = output.responses.unwrap_or_default().into_iter().map(|r| r.item);
        if let Some(Some(ticket)) = items.next() {
            return existing_ticket(ticket, context);
        }
        let (mut capacity, mut issued, mut open) = (0, 0, Vec::new());
        for shard in 0..layout.shards() {
            let Some(Some(item)) = items.next() else {
                return self.missing_counter(layout, &layout.counter_key(event_id, shard), context);
            };
            match counter_seats(layout, shard, item, context) {
                Ok(seats) if seats.issued < seats.capacity => open.push(shard),
                Ok(seats) => {
                    capacity += seats.capacity;
                    issued += seats.issued;
                }
                Err(problem) => return Step::Failed(context.error(problem)),
            }
        }
        if open.is_empty() {
            Step::Done(Issuance::SoldOut { capacity, issued })
        } else {
            Step::Reopened(open)
        }
    }
}
