//! [`IdempotencyStore`] on a DynamoDB table with partition key `id` (S) and TTL on `expiration`.
//!
//! Item: `id`, `status` (INPROGRESS | COMPLETED), `expiration` (epoch s), `in_progress_expiration`
//! (epoch ms), `data` (result JSON), `validation` (payload SHA-256), `lock_token`.
//! Every write is one conditional call; a lost lock race returns the winner's item through
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD`, so a duplicate costs one round trip.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use futures::future::{BoxFuture, FutureExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::store::{IdempotencyStore, Lock, LockRequest, Status, StoreError, StoredRecord};

/// Idempotency records in a DynamoDB table (the layout is in the module comment).
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    /// Uses `table` through `client`; the table is not checked until the first call.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: String,
    status: Status,
    expiration: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_progress_expiration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    validation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lock_token: Option<String>,
}

impl From<Item> for StoredRecord {
    fn from(item: Item) -> Self {
        StoredRecord {
            status: item.status,
            expiration: item.expiration,
            in_progress_expiration: item.in_progress_expiration,
            data: item.data,
            payload_hash: item.validation,
        }
    }
}

const LOCK_CONDITION: &str = "attribute_not_exists(#id) OR #expiration < :now \
     OR (#status = :in_progress AND attribute_exists(#ipe) AND #ipe < :now_ms)";
const FENCE_CONDITION: &str = "#lock_token = :token AND #status = :in_progress";

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn unavailable<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable {
        operation,
        message: crate::error_chain(&error),
    }
}

fn key(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("id".to_owned(), s(key))])
}

impl IdempotencyStore for DynamoDbStore {
    fn lock<'a>(&'a self, request: LockRequest<'a>) -> BoxFuture<'a, Result<Lock, StoreError>> {
        async move {
            let item = Item {
                id: request.key.to_owned(),
                status: Status::InProgress,
                expiration: request.expiration,
                in_progress_expiration: Some(request.in_progress_expiration),
                data: None,
                validation: Some(request.payload_hash.to_owned()),
                lock_token: Some(request.token.to_owned()),
            };
            let item = serde_dynamo::to_item(item).map_err(|e| StoreError::Malformed(e.to_string()))?;
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(LOCK_CONDITION)
                .expression_attribute_names("#id", "id")
                .expression_attribute_names("#expiration", "expiration")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#ipe", "in_progress_expiration")
                .expression_attribute_values(":now", n(request.now_s))
                .expression_attribute_values(":now_ms", n(request.now_ms))
                .expression_attribute_values(":in_progress", s("INPROGRESS"))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(_) => Ok(Lock::Acquired),
                Err(error) => match error.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(e)) => {
                        let existing = e.item().ok_or_else(|| {
                            StoreError::Malformed("conditional check failed but no item was returned".into())
                        })?;
                        let item: Item = serde_dynamo::from_item(existing.clone())
                            .map_err(|e| StoreError::Malformed(e.to_string()))?;
                        Ok(Lock::Held(item.into()))
                    }
                    _ => Err(unavailable("PutItem (lock)", error)),
                },
            }
        }
        .boxed()
    }

    fn complete<'a>(
        &'a self,
        key_value: &'a str,
        token: &'a str,
        data: &'a str,
        expiration: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(key_value)))
                .update_expression("SET #status = :completed, #data = :data, #expiration = :expiration REMOVE #ipe")
                .condition_expression(FENCE_CONDITION)
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#data", "data")
                .expression_attribute_names("#expiration", "expiration")
                .expression_attribute_names("#ipe", "in_progress_expiration")
                .expression_attribute_names("#lock_token", "lock_token")
                .expression_attribute_values(":completed", s("COMPLETED"))
                .expression_attribute_values(":in_progress", s("INPROGRESS"))
                .expression_attribute_values(":data", s(data))
                .expression_attribute_values(":expiration", n(expiration))
                .expression_attribute_values(":token", s(token))
                .send()
                .await;
            match result {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Err(StoreError::LockLost)
                }
                Err(e) => Err(unavailable("UpdateItem (complete)", e)),
            }
        }
        .boxed()
    }

    fn release<'a>(&'a self, key_value: &'a str, token: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(key_value)))
                .condition_expression(FENCE_CONDITION)
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#lock_token", "lock_token")
                .expression_attribute_values(":in_progress", s("INPROGRESS"))
                .expression_attribute_values(":token", s(token))
                .send()
                .await;
            match result {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Err(StoreError::LockLost)
                }
                Err(e) => Err(unavailable("DeleteItem (release)", e)),
            }
        }
        .boxed()
    }
}
