//! Items in use: what DynamoDB's optimistic concurrency control sees ("Amazon DynamoDB
//! Transactions: How it works", "Transaction conflict handling"):
//! - an item of an ongoing TransactWriteItems is held until the transaction's modelled service
//!   time has passed; a PutItem, UpdateItem or DeleteItem on it, or another transaction naming it
//!   (TransactWriteItems or TransactGetItems), conflicts. An ongoing TransactGetItems holds
//!   nothing: the guide lists no request that conflicts with one;
//! - an item a single write is changing is "being written" until that write's service time has
//!   passed; a TransactGetItems naming it conflicts.
//!
//! A transaction refused for a conflict or a throttle holds nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::call::ItemKey;

#[derive(Debug, Default)]
pub struct Holds {
    transactions: HashMap<ItemKey, Instant>,
    writes: HashMap<ItemKey, Instant>,
    pruned: Option<Instant>,
}

impl Holds {
    /// An ongoing transaction holds `key` at `now`.
    pub fn held(&self, key: &ItemKey, now: Instant) -> bool {
        self.transactions.get(key).is_some_and(|until| *until > now)
    }

    /// A single write is changing `key` at `now`.
    pub fn being_written(&self, key: &ItemKey, now: Instant) -> bool {
        self.writes.get(key).is_some_and(|until| *until > now)
    }

    pub fn hold(&mut self, key: ItemKey, until: Instant) {
        self.transactions.insert(key, until);
    }

    pub fn writing(&mut self, key: ItemKey, until: Instant) {
        let entry = self.writes.entry(key).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Forget what ended before `now`, at most once a second.
    pub fn prune(&mut self, now: Instant) {
        if self.pruned.is_some_and(|at| now < at + Duration::from_secs(1)) {
            return;
        }
        self.transactions.retain(|_, until| *until > now);
        self.writes.retain(|_, until| *until > now);
        self.pruned = Some(now);
    }
}
