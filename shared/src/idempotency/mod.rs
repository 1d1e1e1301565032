//! Idempotency: run a piece of work at most once per key, and hand back its stored result to
//! every later attempt.
//!
//! The state machine lives here; storage is the [`IdempotencyStore`] port
//! ([`DynamoDbStore`] in production, [`MemoryStore`] in tests).
//!
//! ```text
//! lock (conditional put, INPROGRESS + random token)
//!  ├─ acquired ─ run ─┬─ Ok  → complete (fenced on the token) → Executed(result)
//!  │                  └─ Err / panic → release (fenced delete) → the error / the panic
//!  └─ held ─┬─ payload hash differs → PayloadMismatch   (permanent)
//!           ├─ COMPLETED            → Duplicate(stored)  (the work does not run)
//!           └─ INPROGRESS           → InProgress         (retryable)
//! ```
//!
//! # Defaults, chosen for SQS
//! - **Records live 14 days** ([`IdempotencyConfig::expires_after`]): the longest SQS retention.
//!   A message SQS can still hand us — a redelivery, a copy left in a DLQ, a redrive days later —
//!   finds its record. (Powertools defaults to 1 hour, shorter than any SQS retention.)
//! - **In-progress locks expire at the invocation deadline**, never earlier than 1 s from now
//!   (Powertools stores no expiry when the remaining time is 0, and such a lock blocks retries
//!   until the record expires). Without a deadline, locks last 15 minutes, the longest a Lambda
//!   invocation can run. Queues' visibility timeouts exceed the function timeout, so a redelivery
//!   after a crash finds an expired lock and takes it over.
//! - **Completion and release are fenced** on the lock's random token: an invocation whose lock
//!   expired cannot overwrite or delete the record of the invocation that took over.
//! - **Results are limited to 350,000 bytes** of JSON, under DynamoDB's 400 KB item limit.
//! - **The payload hash is SHA-256** of the message body (or the bytes a step passes).
//!
//! # Clock offsets: tolerated up to ±1 s per process
//! The lock's expiry is the invocation's deadline (`Lambda-Runtime-Deadline-Ms`, Lambda's clock),
//! and each process compares it with its own wall clock (`:now_ms` of the lock's condition). A
//! process whose clock runs d ahead of Lambda's sees a lock expire d early; a holder whose clock
//! runs d behind believes it has d more time. Correctness does not rest on the clocks (the lock
//! and its completion are conditional writes fenced on the lock's token; a takeover is an early
//! retry), but the lock's purpose, that no two invocations work on a record at once, holds only
//! while a takeover cannot reach a holder that is still working. It holds for an offset of each
//! process's wall clock from Lambda's of up to **±1 s** (two processes up to 2 s apart):
//! - a redelivery comes a visibility timeout after the receive, and the queues' exceeds the
//!   function timeout by 180 s in this project's template (by 3 s in the chaos run): a taker 1 s
//!   ahead still finds the holder's invocation over;
//! - a batch starts no record with less than 3 s left (`BatchConfig::deadline_margin`, the
//!   template's `BATCH_DEADLINE_MARGIN_MS`), so a lock is never taken expired in the eyes of a
//!   process up to 2 s ahead of its holder (the 1 s floor below applies only to a deadline less
//!   than 1 s away, which no started record has);
//! - a completion write is retried only while the lock has more than 2 s left
//!   (`COMPLETION_RETRY_MARGIN`, in the holder's clock): no retry starts once a process up to
//!   2 s ahead may have taken the lock over;
//! - what remains is the window a crash at the deadline already has: work that ends in the
//!   invocation's last seconds may run again (for a send, the limit of exactly once that
//!   notification-sender's margins keep small); an offset within the tolerance widens it by at
//!   most the two clocks' difference.
//!
//! Larger offsets are not supported: AWS keeps Lambda's clocks within milliseconds (Amazon Time
//! Sync). The chaos run injects per-process offsets up to this tolerance (`CHAOS_CLOCK_SKEW_MS`,
//! docs/chaos.md) and refuses larger ones.

mod dynamodb;
mod memory;
mod store;

pub use dynamodb::DynamoDbStore;
pub use memory::MemoryStore;
pub use store::{IdempotencyStore, Lock, LockRequest, Status, StoreError, StoredRecord};

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::deadline::epoch_ms;
use crate::handler::{Handled, RecordHandler};
use crate::{Deadline, ErrorClass, Record, RecordError, error_kinds};

/// A lock never expires sooner than this after it is taken.
const MIN_IN_PROGRESS: Duration = Duration::from_secs(1);
/// A completion write is tried again only while the lock has more than this left: the record's
/// outcome must still be reported before the invocation's deadline.
const COMPLETION_RETRY_MARGIN: Duration = Duration::from_secs(2);
/// Pause before the first retry of a completion write; it doubles up to [`MAX_COMPLETION_BACKOFF`].
const FIRST_COMPLETION_BACKOFF: Duration = Duration::from_millis(100);
const MAX_COMPLETION_BACKOFF: Duration = Duration::from_secs(1);

/// How [`Idempotency`] keys, keeps and retries its records; [`IdempotencyConfig::new`] gives the
/// defaults below.
#[derive(Debug, Clone)]
pub struct IdempotencyConfig {
    /// Namespace of every key: `<key_prefix>#<id>`. Usually the function name.
    pub key_prefix: String,
    /// How long a record counts after it was written. Default 14 days.
    pub expires_after: Duration,
    /// Lock lifetime when the caller has no deadline. Default 15 minutes.
    pub in_progress_without_deadline: Duration,
    /// Largest stored result, in bytes of JSON. Default 350,000.
    pub max_result_bytes: usize,
    /// Writes of a completion, counting the first, before the record is reported failed. Default
    /// 5. The work has happened by then: a completion that is not recorded lets the work run again
    /// once the lock expires, so a failed write (throttling, 5xx, a reset connection, each already
    /// retried by the SDK) is tried again after 100 ms, 200 ms, 400 ms… (at most 1 s), as long as
    /// the lock has more than 2 s left.
    pub completion_attempts: u32,
}

impl IdempotencyConfig {
    /// The defaults, with keys under `key_prefix`.
    pub fn new(key_prefix: impl Into<String>) -> Self {
        Self {
            key_prefix: key_prefix.into(),
            expires_after: Duration::from_secs(14 * 24 * 3600),
            in_progress_without_deadline: Duration::from_secs(15 * 60),
            max_result_bytes: 350_000,
            completion_attempts: 5,
        }
    }
}

/// Source of the current time; tests substitute their own.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The machine's clock ([`SystemTime::now`]): the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A full idempotency key, `<prefix>#<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key as stored (`<prefix>#<id>`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The result of idempotent work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The work ran now.
    Executed(T),
    /// The work had already completed; this is its stored result.
    Duplicate(T),
}

impl<T> Outcome<T> {
    /// Whether the work had already completed (the value is the stored result).
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Outcome::Duplicate(_))
    }

    /// The result, run now or stored.
    pub fn value(&self) -> &T {
        match self {
            Outcome::Executed(value) | Outcome::Duplicate(value) => value,
        }
    }

    /// The result, run now or stored, taken out.
    pub fn into_value(self) -> T {
        match self {
            Outcome::Executed(value) | Outcome::Duplicate(value) => value,
        }
    }
}

impl<T> From<Outcome<T>> for Handled {
    fn from(outcome: Outcome<T>) -> Self {
        match outcome {
            Outcome::Executed(_) => Handled::Processed,
            Outcome::Duplicate(_) => Handled::Duplicate,
        }
    }
}

/// Why idempotent work did not give a result; `E` is the work's own error. Every variant but
/// `Handler` names the key. Into a [`RecordError`], each gets its class and kind.
#[derive(Debug)]
pub enum IdempotencyError<E> {
    /// The work itself failed; the lock was released so a retry can run it.
    Handler(E),
    /// Another invocation holds a live lock on the key.
    InProgress {
        /// The full key.
        key: String,
        /// When the lock expires, in epoch milliseconds, when the store said.
        until_ms: Option<u64>,
    },
    /// The key was first used for a different payload.
    PayloadMismatch {
        /// The full key.
        key: String,
    },
    /// The lock could not be written (throttling, 5xx, network); the work did not run.
    Lock {
        /// The full key.
        key: String,
        /// The store's error.
        source: StoreError,
    },
    /// The work succeeded but its completion was not recorded; the lock stays until `until_ms`.
    Complete {
        /// The full key.
        key: String,
        /// When the lock expires, in epoch milliseconds: the work may run again after that.
        until_ms: u64,
        /// The store's error on the last write.
        source: StoreError,
    },
    /// The lock expired and another invocation took over before completion was recorded.
    LockLost {
        /// The full key.
        key: String,
    },
    /// The result is too large to store.
    ResultTooLarge {
        /// The full key.
        key: String,
        /// The result's size, in bytes of JSON.
        size: usize,
        /// [`IdempotencyConfig::max_result_bytes`].
        limit: usize,
    },
    /// The result could not be serialized, or the stored one deserialized.
    StoredResult {
        /// The full key.
        key: String,
        /// serde's error.
        message: String,
    },
}

impl<E> IdempotencyError<E> {
    /// The class and kind a record failing with this error gets.
    fn classify(&self) -> (ErrorClass, &'static str) {
        use IdempotencyError as I;
        match self {
            I::Handler(_) => (ErrorClass::Retryable, "handler"),
            I::InProgress { .. } => (ErrorClass::Retryable, "idempotency-in-progress"),
            I::PayloadMismatch { .. } => (ErrorClass::Permanent, error_kinds::IDEMPOTENCY_PAYLOAD_MISMATCH),
            I::Lock { .. } | I::Complete { .. } => (ErrorClass::Retryable, "idempotency-store"),
            I::LockLost { .. } => (ErrorClass::Retryable, "idempotency-lock-lost"),
            I::ResultTooLarge { .. } => (ErrorClass::Permanent, error_kinds::IDEMPOTENCY_RESULT_TOO_LARGE),
            I::StoredResult { .. } => (ErrorClass::Permanent, error_kinds::IDEMPOTENCY_STORED_RESULT),
        }
    }

    /// What went wrong, for every variant but `Handler` (whose message is the handler's).
    fn describe(&self) -> Option<String> {
        use IdempotencyError as I;
        Some(match self {
            I::Handler(_) => return None,
            I::InProgress { key, until_ms } => format!(
                "idempotency key {key}: another invocation is processing it (lock held until epoch ms {until_ms:?})"
            ),
            I::PayloadMismatch { key } => {
                format!("idempotency key {key}: the payload differs from the one first processed under this key")
            }
            I::Lock { key, source } => format!("idempotency key {key}: could not take the lock: {source}"),
            I::Complete { key, until_ms, source } => format!(
                "idempotency key {key}: the work succeeded but its completion could not be recorded ({source}); \
                 the lock stays in progress until epoch ms {until_ms} and the work may run again after that"
            ),
            I::LockLost { key } => format!(
                "idempotency key {key}: the lock expired and another invocation took it over before this one \
                 completed; the work may have run twice"
            ),
            I::ResultTooLarge { key, size, limit } => {
                format!("idempotency key {key}: the result is {size} bytes of JSON, over the {limit}-byte limit")
            }
            I::StoredResult { key, message } => {
                format!("idempotency key {key}: the stored result cannot be used: {message}")
            }
        })
    }
}

impl<E: fmt::Display> fmt::Display for IdempotencyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.describe()) {
            (IdempotencyError::Handler(error), _) => error.fmt(f),
            (_, Some(description)) => f.write_str(&description),
            (_, None) => unreachable!("only Handler has no description"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for IdempotencyError<E> {}

/// A held lock (`InProgress`) and an unrecorded completion (`Complete`) cannot be retried with
/// success before the lock expires: their record errors say so ([`RecordError::not_before`]), so
/// a retry delay brings the record back when the lock has expired, not before.
impl<E: Into<RecordError>> From<IdempotencyError<E>> for RecordError {
    fn from(error: IdempotencyError<E>) -> Self {
        let (class, kind) = error.classify();
        let lock_expiry = match &error {
            IdempotencyError::InProgress { until_ms, .. } => *until_ms,
            IdempotencyError::Complete { until_ms, .. } => Some(*until_ms),
            _ => None,
        };
        let record_error = match (error.describe(), error) {
            (_, IdempotencyError::Handler(inner)) => inner.into(),
            (Some(message), _) => RecordError::new(class, kind, message),
            (None, _) => unreachable!("only Handler has no description"),
        };
        match lock_expiry {
            Some(ms) => record_error.retry_not_before(SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
            None => record_error,
        }
    }
}

/// Runs work at most once per key. Cheap to clone.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    config: Arc<IdempotencyConfig>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotency")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Idempotency {
    /// Records in `store`, with the machine's clock.
    pub fn new(store: Arc<dyn IdempotencyStore>, config: IdempotencyConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same, reading the time from `clock` (tests move it to expire locks and records).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &IdempotencyConfig {
        &self.config
    }

    /// `<prefix>#<id>` for a key the caller chooses (a business id, a step of a record).
    pub fn key(&self, id: &str) -> IdempotencyKey {
        IdempotencyKey(format!("{}#{id}", self.config.key_prefix))
    }

    /// The key of a whole SQS record: `<prefix>#<original-message-id or messageId>`, so a copy
    /// redriven by dlq-redrive (new messageId, same `original-message-id`) keeps its key.
    pub fn record_key(&self, record: &Record) -> IdempotencyKey {
        self.key(record.original_message_id())
    }

    /// Wrap a record handler so each record runs under [`Idempotency::record_key`] with its body
    /// as the payload.
    pub fn wrap<H>(&self, handler: H) -> Idempotent<H> {
        Idempotent {
            idempotency: self.clone(),
            inner: handler,
        }
    }

    /// Run `work` at most once for `key`. `payload` is what the work is about; a later call with the
    /// same key and a different payload is refused ([`IdempotencyError::PayloadMismatch`]).
    pub async fn run<T, E, F, Fut>(
        &self,
        key: &IdempotencyKey,
        payload: &[u8],
        deadline: Deadline,
        work: F,
    ) -> Result<Outcome<T>, IdempotencyError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key_str = key.as_str();
        let now = self.clock.now();
        let now_ms = epoch_ms(now);
        let token = uuid::Uuid::new_v4().to_string();
        let payload_hash = hex::encode(Sha256::digest(payload));
        let expiration = now_ms / 1000 + self.config.expires_after.as_secs();
        let in_progress_expiration = self.in_progress_expiration(deadline, now_ms);

        let lock = self
            .store
            .lock(LockRequest {
                key: key_str,
                token: &token,
                payload_hash: &payload_hash,
                expiration,
                in_progress_expiration,
                now_s: now_ms / 1000,
                now_ms,
            })
            .await
            .map_err(|source| IdempotencyError::Lock {
                key: key_str.to_owned(),
                source,
            })?;

        if let Lock::Held(existing) = lock {
            return self.existing(key_str, &payload_hash, existing);
        }
        tracing::debug!(idempotency_key = key_str, "lock acquired");

        let result = match AssertUnwindSafe(work()).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                self.release(key_str, &token).await;
                std::panic::resume_unwind(panic);
            }
        };
        let value = match result {
            Ok(value) => value,
            Err(error) => {
                self.release(key_str, &token).await;
                return Err(IdempotencyError::Handler(error));
            }
        };

        let data = match serde_json::to_string(&value) {
            Ok(data) if data.len() <= self.config.max_result_bytes => data,
            Ok(data) => {
                self.release(key_str, &token).await;
                return Err(IdempotencyError::ResultTooLarge {
                    key: key_str.to_owned(),
                    size: data.len(),
                    limit: self.config.max_result_bytes,
                });
            }
            Err(e) => {
                self.release(key_str, &token).await;
                return Err(IdempotencyError::StoredResult {
                    key: key_str.to_owned(),
                    message: format!("the result cannot be serialized: {e}"),
                });
            }
        };
        match self
            .complete(key_str, &token, &data, expiration, in_progress_expiration)
            .await
        {
            Ok(()) => Ok(Outcome::Executed(value)),
            Err(StoreError::LockLost) => {
                tracing::warn!(idempotency_key = key_str, "lock lost before completion");
                Err(IdempotencyError::LockLost {
                    key: key_str.to_owned(),
                })
            }
            Err(source) => {
                tracing::error!(idempotency_key = key_str, error = %source, until_ms = in_progress_expiration,
                    "completion not recorded; lock left in progress");
                Err(IdempotencyError::Complete {
                    key: key_str.to_owned(),
                    until_ms: in_progress_expiration,
                    source,
                })
            }
        }
    }

    /// Record the completion, trying again while the store is unavailable (see
    /// [`IdempotencyConfig::completion_attempts`]). A lost lock is final.
    async fn complete(
        &self,
        key: &str,
        token: &str,
        data: &str,
        expiration: u64,
        in_progress_expiration: u64,
    ) -> Result<(), StoreError> {
        let mut backoff = FIRST_COMPLETION_BACKOFF;
        let mut attempt = 1;
        loop {
            let error = match self.store.complete(key, token, data, expiration).await {
                Err(error @ StoreError::Unavailable { .. }) => error,
                done => return done,
            };
            let retry_by = epoch_ms(self.clock.now()) + (backoff + COMPLETION_RETRY_MARGIN).as_millis() as u64;
            if attempt >= self.config.completion_attempts || retry_by > in_progress_expiration {
                return Err(error);
            }
            tracing::warn!(idempotency_key = key, %error, attempt, retry_in_ms = backoff.as_millis() as u64,
                "completion not recorded yet; trying again");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_COMPLETION_BACKOFF);
            attempt += 1;
        }
    }

    /// When a lock taken now expires: the invocation's deadline, at least 1 s from now. The
    /// deadline is Lambda's clock and `now_ms` (and every other process's `:now_ms`) the caller's:
    /// offsets up to ±1 s per process are tolerated (module docs, "Clock offsets").
    fn in_progress_expiration(&self, deadline: Deadline, now_ms: u64) -> u64 {
        let floor = now_ms + MIN_IN_PROGRESS.as_millis() as u64;
        match deadline.epoch_ms() {
            Some(deadline) => deadline.max(floor),
            None => now_ms + self.config.in_progress_without_deadline.as_millis() as u64,
        }
    }

    fn existing<T: DeserializeOwned, E>(
        &self,
        key: &str,
        payload_hash: &str,
        existing: StoredRecord,
    ) -> Result<Outcome<T>, IdempotencyError<E>> {
        if existing
            .payload_hash
            .as_deref()
            .is_some_and(|stored| stored != payload_hash)
        {
            return Err(IdempotencyError::PayloadMismatch { key: key.to_owned() });
        }
        match existing.status {
            Status::InProgress => Err(IdempotencyError::InProgress {
                key: key.to_owned(),
                until_ms: existing.in_progress_expiration,
            }),
            Status::Completed => {
                let data = existing.data.as_deref().unwrap_or("null");
                let value = serde_json::from_str(data).map_err(|e| IdempotencyError::StoredResult {
                    key: key.to_owned(),
                    message: e.to_string(),
                })?;
                tracing::info!(idempotency_key = key, "already completed; stored result returned");
                Ok(Outcome::Duplicate(value))
            }
        }
    }

    /// Best effort: if the fenced delete fails, the lock expires on its own at its in-progress expiry.
    async fn release(&self, key: &str, token: &str) {
        if let Err(error) = self.store.release(key, token).await {
            tracing::warn!(idempotency_key = key, %error, "lock not released; it expires at its in-progress expiry");
        }
    }
}

/// A record handler run under idempotency; see [`Idempotency::wrap`].
pub struct Idempotent<H> {
    idempotency: Idempotency,
    inner: H,
}

impl<H> RecordHandler for Idempotent<H>
where
    H: RecordHandler + Sync,
    H::Output: Serialize + DeserializeOwned + Send,
{
    type Output = Outcome<H::Output>;

    async fn handle(&self, record: Record) -> Result<Self::Output, RecordError> {
        let key = self.idempotency.record_key(&record);
        let payload = record.body().as_bytes().to_vec();
        let deadline = record.deadline();
        self.idempotency
            .run(&key, &payload, deadline, || self.inner.handle(record))
            .await
            .map_err(RecordError::from)
    }
}
