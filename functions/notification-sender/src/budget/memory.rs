//! Send budgets in this process's memory: for tests, and for a sender built without a shared
//! store. Each bucket is its next free slot, behind one lock.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::{BoxFuture, FutureExt};

use super::store::{BudgetError, BudgetStore, Reservation, SlotRequest, epoch_us, from_epoch_us};

#[derive(Debug, Default)]
pub struct MemoryBudgetStore {
    next_free_us: Mutex<HashMap<String, u64>>,
}

impl MemoryBudgetStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl BudgetStore for MemoryBudgetStore {
    fn reserve<'a>(&'a self, bucket: &'a str, request: SlotRequest) -> BoxFuture<'a, Result<Reservation, BudgetError>> {
        let mut buckets = self
            .next_free_us
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let next_free = buckets.get(bucket).copied().unwrap_or(0);
        let slot = next_free.max(epoch_us(request.now));
        let reservation = if slot > epoch_us(request.latest) {
            Reservation::Full {
                next_free: from_epoch_us(next_free),
            }
        } else {
            buckets.insert(bucket.to_owned(), slot + request.interval.as_micros() as u64);
            Reservation::Granted(from_epoch_us(slot))
        };
        futures::future::ready(Ok(reservation)).boxed()
    }
}
