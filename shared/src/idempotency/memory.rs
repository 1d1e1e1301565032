//! In-memory [`IdempotencyStore`] with the same conditions as DynamoDB, for tests and local tools.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::{BoxFuture, FutureExt};

use super::store::{IdempotencyStore, Lock, LockRequest, Status, StoreError, StoredRecord};

/// Idempotency records in a map, lost when dropped.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, (StoredRecord, Option<String>)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record under `key`, if any (for assertions).
    pub fn get(&self, key: &str) -> Option<StoredRecord> {
        self.records.lock().unwrap().get(key).map(|(record, _)| record.clone())
    }

    /// Records held, whatever their status (expired ones included).
    pub fn len(&self) -> usize {
        self.records.lock().unwrap().len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl IdempotencyStore for MemoryStore {
    fn lock<'a>(&'a self, request: LockRequest<'a>) -> BoxFuture<'a, Result<Lock, StoreError>> {
        let mut records = self.records.lock().unwrap();
        let result = match records.get(request.key) {
            Some((existing, _)) if is_live(existing, request.now_s, request.now_ms) => Lock::Held(existing.clone()),
            _ => {
                let record = StoredRecord {
                    status: Status::InProgress,
                    expiration: request.expiration,
                    in_progress_expiration: Some(request.in_progress_expiration),
                    data: None,
                    payload_hash: Some(request.payload_hash.to_owned()),
                };
                records.insert(request.key.to_owned(), (record, Some(request.token.to_owned())));
                Lock::Acquired
            }
        };
        futures::future::ready(Ok(result)).boxed()
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        data: &'a str,
        expiration: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut records = self.records.lock().unwrap();
        let result = match records.get_mut(key) {
            Some((record, Some(held))) if held == token && record.status == Status::InProgress => {
                record.status = Status::Completed;
                record.data = Some(data.to_owned());
                record.expiration = expiration;
                record.in_progress_expiration = None;
                Ok(())
            }
            _ => Err(StoreError::LockLost),
        };
        futures::future::ready(result).boxed()
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut records = self.records.lock().unwrap();
        let result = match records.get(key) {
            Some((record, Some(held))) if held == token && record.status == Status::InProgress => {
                records.remove(key);
                Ok(())
            }
            _ => Err(StoreError::LockLost),
        };
        futures::future::ready(result).boxed()
    }
}

/// The lock condition, negated: a record blocks a new lock while this holds.
fn is_live(record: &StoredRecord, now_s: u64, now_ms: u64) -> bool {
    if record.expiration < now_s {
        return false;
    }
    match (record.status, record.in_progress_expiration) {
        (Status::InProgress, Some(until)) => until >= now_ms,
        _ => true,
    }
}
