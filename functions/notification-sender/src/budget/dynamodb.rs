//! Send budgets in DynamoDB, shared by every invocation: one item per bucket (in the idempotency
//! table, under the function's key prefix), whose `next_send_us` is the bucket's next free slot
//! in epoch microseconds. A reservation is one conditional UpdateItem in the common case:
//!
//! - busy bucket (`next_send_us` between now and the latest slot wanted): `SET next_send_us =
//!   next_send_us + :interval`, which returns the new value; the slot is one interval before it;
//! - idle bucket (absent, or `next_send_us` in the past): `SET next_send_us = :now + :interval`,
//!   the slot is now;
//! - full bucket (`next_send_us` after the latest slot wanted): nothing is written; the failed
//!   condition returns the item (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so the caller
//!   learns when the first free slot is without a read.
//!
//! DynamoDB applies each conditional write atomically on the item, so concurrent reservations
//! from any number of invocations get distinct slots, one interval apart.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use futures::future::{BoxFuture, FutureExt};

use super::store::{BudgetError, BudgetStore, Reservation, SlotRequest, epoch_us, from_epoch_us};

const NEXT_SEND: &str = "next_send_us";
const OPERATION: &str = "DynamoDB UpdateItem (send budget)";
/// An idle reservation that loses its race to a busy one goes back to the busy path; after this
/// many rounds the store counts as unavailable (it does not happen outside a pathological race).
const ROUNDS: usize = 4;

#[derive(Debug, Clone)]
pub struct DynamoDbBudgetStore {
    client: Client,
    table: String,
}

impl DynamoDbBudgetStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Takes the next slot of a busy bucket. `Ok(None)`: the bucket is idle.
    async fn reserve_busy(&self, bucket: &str, request: &SlotRequest) -> Result<Option<Reservation>, BudgetError> {
        let interval = request.interval.as_micros() as u64;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(bucket.to_owned()))
            .update_expression("SET #next = #next + :interval")
            .condition_expression("#next >= :now AND #next <= :latest")
            .expression_attribute_names("#next", NEXT_SEND)
            .expression_attribute_values(":interval", number(interval))
            .expression_attribute_values(":now", number(epoch_us(request.now)))
            .expression_attribute_values(":latest", number(epoch_us(request.latest)))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let next = next_send(output.attributes()).ok_or_else(|| malformed(bucket))?;
                Ok(Some(Reservation::Granted(from_epoch_us(next.saturating_sub(interval)))))
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    match next_send(failed.item()) {
                        Some(next) if next > epoch_us(request.latest) => Ok(Some(Reservation::Full {
                            next_free: from_epoch_us(next),
                        })),
                        // Absent or in the past: idle.
                        _ => Ok(None),
                    }
                }
                _ => Err(unavailable(&error)),
            },
        }
    }

    /// Takes `now` in an idle bucket. `Ok(false)`: another reservation made it busy first.
    async fn reserve_idle(&self, bucket: &str, request: &SlotRequest) -> Result<bool, BudgetError> {
        let now = epoch_us(request.now);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(bucket.to_owned()))
            .update_expression("SET #next = :next")
            .condition_expression("attribute_not_exists(#next) OR #next < :now")
            .expression_attribute_names("#next", NEXT_SEND)
            .expression_attribute_values(":next", number(now + request.interval.as_micros() as u64))
            .expression_attribute_values(":now", number(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(unavailable(&error)),
            },
        }
    }
}

impl BudgetStore for DynamoDbBudgetStore {
    fn reserve<'a>(&'a self, bucket: &'a str, request: SlotRequest) -> BoxFuture<'a, Result<Reservation, BudgetError>> {
        async move {
            for _ in 0..ROUNDS {
                if let Some(reservation) = self.reserve_busy(bucket, &request).await? {
                    return Ok(reservation);
                }
                if self.reserve_idle(bucket, &request).await? {
                    // The slot as stored: whole microseconds.
                    return Ok(Reservation::Granted(from_epoch_us(epoch_us(request.now))));
                }
            }
            Err(BudgetError::Unavailable {
                operation: OPERATION,
                message: format!("{bucket}: no reservation after {ROUNDS} rounds of contention"),
            })
        }
        .boxed()
    }
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn next_send(item: Option<&HashMap<String, AttributeValue>>) -> Option<u64> {
    item?.get(NEXT_SEND)?.as_n().ok()?.parse().ok()
}

fn malformed(bucket: &str) -> BudgetError {
    BudgetError::Unavailable {
        operation: OPERATION,
        message: format!("{bucket}: the item has no numeric {NEXT_SEND}"),
    }
}

fn unavailable(error: &dyn std::error::Error) -> BudgetError {
    BudgetError::Unavailable {
        operation: OPERATION,
        message: shared::error_chain(error),
    }
}
