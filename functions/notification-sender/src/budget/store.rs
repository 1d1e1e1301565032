//! The storage port of the send budget: one atomic "reserve the next slot" per send.

use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

/// What [`BudgetStore::reserve`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRequest {
    /// The caller's clock.
    pub now: SystemTime,
    /// The time between two sends: 1 ÷ the rate.
    pub interval: Duration,
    /// The latest slot the caller can wait for.
    pub latest: SystemTime,
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The send may go at this time (now or later), and at no other.
    Granted(SystemTime),
    /// Every slot up to `latest` is taken; the first free one is `next_free`. Nothing was reserved.
    Full { next_free: SystemTime },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The store could not be reached or refused the call (throttling, 5xx, network).
    #[error("{operation} failed: {message}")]
    Unavailable { operation: &'static str, message: String },
}

/// Where send budgets live. Implementations: [`super::DynamoDbBudgetStore`] (shared by every
/// invocation), [`super::MemoryBudgetStore`] (one process: tests).
///
/// The state of a bucket is one time, its next free slot (GCRA's "theoretical arrival time"). A
/// reservation takes `max(next free, now)` if that is no later than `latest`, and moves the next
/// free slot one `interval` past it; so granted slots are never closer than `interval`, however
/// many callers reserve at once.
pub trait BudgetStore: Send + Sync {
    fn reserve<'a>(&'a self, bucket: &'a str, request: SlotRequest) -> BoxFuture<'a, Result<Reservation, BudgetError>>;
}

/// Epoch microseconds, the unit buckets store.
pub(crate) fn epoch_us(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_micros() as u64
}

pub(crate) fn from_epoch_us(us: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(us)
}
