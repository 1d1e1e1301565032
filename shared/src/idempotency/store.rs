//! The storage port of idempotency: three conditional writes, no reads.

use futures::future::BoxFuture;

/// `status` of an idempotency record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// `INPROGRESS`: an invocation holds the lock until `in_progress_expiration`.
    #[serde(rename = "INPROGRESS")]
    InProgress,
    /// `COMPLETED`: the work is done and `data` holds its result.
    #[serde(rename = "COMPLETED")]
    Completed,
}

/// An idempotency record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Locked or done.
    pub status: Status,
    /// Epoch seconds after which the record no longer counts (also the table's TTL attribute).
    pub expiration: u64,
    /// Epoch milliseconds after which an INPROGRESS lock may be taken over.
    pub in_progress_expiration: Option<u64>,
    /// The handler's result as JSON (COMPLETED only).
    pub data: Option<String>,
    /// SHA-256 of the payload the record was created for, hex.
    pub payload_hash: Option<String>,
}

/// What [`IdempotencyStore::lock`] writes.
#[derive(Debug, Clone)]
pub struct LockRequest<'a> {
    /// The full key (`<prefix>#<id>`).
    pub key: &'a str,
    /// Random per attempt; completion and release are conditioned on it (fencing).
    pub token: &'a str,
    /// SHA-256 of the payload, hex: a later call with the same key and another payload is refused.
    pub payload_hash: &'a str,
    /// Epoch seconds after which the record no longer counts (the TTL attribute).
    pub expiration: u64,
    /// Epoch milliseconds after which the lock may be taken over: the invocation's deadline, or
    /// now plus [`super::IdempotencyConfig::in_progress_without_deadline`].
    pub in_progress_expiration: u64,
    /// The caller's clock in epoch seconds, compared with a record's `expiration`.
    pub now_s: u64,
    /// The caller's clock in epoch milliseconds, compared with a record's `in_progress_expiration`.
    pub now_ms: u64,
}

/// The answer to a lock attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lock {
    /// The record is now INPROGRESS under our token.
    Acquired,
    /// A live record exists (returned by the failed conditional write itself, not a second read).
    Held(StoredRecord),
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record no longer carries our token: our lock expired and another invocation took over
    /// (or the record was deleted).
    #[error("the record no longer carries this invocation's lock token")]
    LockLost,
    /// The store could not be reached or refused the call (throttling, 5xx, network).
    #[error("{operation} failed: {message}")]
    Unavailable {
        /// The call and its role (`PutItem (lock)`, `UpdateItem (complete)`, …).
        operation: &'static str,
        /// The SDK error, with its sources.
        message: String,
    },
    /// The stored item cannot be read as an idempotency record.
    #[error("stored item is malformed: {0}")]
    Malformed(String),
}

/// Where idempotency records live. Implementations: [`super::DynamoDbStore`], [`super::MemoryStore`].
///
/// Every write is conditional; the state machine in [`super::Idempotency`] never reads.
pub trait IdempotencyStore: Send + Sync {
    /// Create an INPROGRESS record unless a live one exists (absent, or `expiration < now_s`, or
    /// INPROGRESS with `in_progress_expiration < now_ms`). A live record is returned as [`Lock::Held`].
    fn lock<'a>(&'a self, request: LockRequest<'a>) -> BoxFuture<'a, Result<Lock, StoreError>>;

    /// Mark the record COMPLETED with `data`, only if it still carries `token` and is INPROGRESS.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        data: &'a str,
        expiration: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Delete the record, only if it still carries `token` and is INPROGRESS.
    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}
