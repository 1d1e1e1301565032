//! What an execution environment knows of an event's seats: its layout (K, fixed once seeded,
//! read once) and which counters it has seen exhausted (monotonic: `issued` only grows), so a
//! request skips counters known to be empty. Which counter a request tries next.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use crate::schema::Layout;

/// Events an environment remembers before it starts over (ids are caller-chosen).
const MAX_EVENTS: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct Inventory {
    events: Mutex<HashMap<String, Known>>,
}

#[derive(Debug)]
struct Known {
    layout: Layout,
    exhausted: BTreeSet<u32>,
}

impl Inventory {
    pub(super) fn layout(&self, event_id: &str) -> Option<Layout> {
        self.events.lock().unwrap().get(event_id).map(|known| known.layout)
    }

    pub(super) fn remember(&self, event_id: &str, layout: Layout) {
        let mut events = self.events.lock().unwrap();
        if events.len() >= MAX_EVENTS && !events.contains_key(event_id) {
            events.clear();
        }
        events.entry(event_id.to_owned()).or_insert(Known {
            layout,
            exhausted: BTreeSet::new(),
        });
    }

    /// The event is gone (its item was deleted): forget it.
    pub(super) fn forget(&self, event_id: &str) {
        self.events.lock().unwrap().remove(event_id);
    }

    pub(super) fn exhausted(&self, event_id: &str) -> BTreeSet<u32> {
        self.events
            .lock()
            .unwrap()
            .get(event_id)
            .map(|known| known.exhausted.clone())
            .unwrap_or_default()
    }

    pub(super) fn mark_exhausted(&self, event_id: &str, shard: u32) {
        if let Some(known) = self.events.lock().unwrap().get_mut(event_id) {
            known.exhausted.insert(shard);
        }
    }

    /// Seats were found where none were thought left (the capacity was raised).
    pub(super) fn reopen(&self, event_id: &str, shards: &[u32]) {
        if let Some(known) = self.events.lock().unwrap().get_mut(event_id) {
            for shard in shards {
                known.exhausted.remove(shard);
            }
        }
    }
}

/// A counter's numbers when it refused a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seats {
    pub capacity: u64,
    pub issued: u64,
}

/// One request's search for a counter with seats left.
#[derive(Debug)]
pub(super) struct ShardSearch {
    shards: u32,
    /// Counters this request saw refuse (in a transaction that also found the ticket absent).
    refused: BTreeMap<u32, Seats>,
    /// Counters the environment saw exhausted earlier.
    known_exhausted: BTreeSet<u32>,
}

impl ShardSearch {
    pub(super) fn new(layout: Layout, known_exhausted: BTreeSet<u32>) -> Self {
        Self {
            shards: layout.shards(),
            refused: BTreeMap::new(),
            known_exhausted,
        }
    }

    /// A random counter among those not known to be exhausted (a random start spreads requests
    /// over the counters; after a conflict, another draw usually lands elsewhere). `None` when
    /// every counter is known exhausted.
    pub(super) fn next_shard(&self) -> Option<u32> {
        let candidates: Vec<u32> = (0..self.shards)
            .filter(|shard| !self.refused.contains_key(shard) && !self.known_exhausted.contains(shard))
            .collect();
        (!candidates.is_empty()).then(|| candidates[fastrand::usize(..candidates.len())])
    }

    pub(super) fn refused(&mut self, shard: u32, seats: Seats) {
        self.refused.insert(shard, seats);
        self.known_exhausted.remove(&shard);
    }

    pub(super) fn reopen(&mut self, shards: &[u32]) {
        for shard in shards {
            self.refused.remove(shard);
            self.known_exhausted.remove(shard);
        }
    }

    /// Sold out as this request saw it: every counter refused it, each in a transaction that
    /// also found no ticket. Counters never regain seats, so at the last refusal every counter
    /// was full and the user had no ticket: a consistent answer. `None` while any counter's
    /// exhaustion is only known from earlier requests (it must be confirmed, see `sold_out`).
    pub(super) fn sold_out(&self) -> Option<Seats> {
        (self.refused.len() == self.shards as usize).then(|| Seats {
            capacity: self.refused.values().map(|s| s.capacity).sum(),
            issued: self.refused.values().map(|s| s.issued).sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Seats = Seats { capacity: 2, issued: 2 };

    #[test]
    fn a_search_tries_every_counter_not_known_exhausted_then_stops() {
        let layout = Layout::new(4).unwrap();
        let mut search = ShardSearch::new(layout, BTreeSet::from([1]));
        let mut tried = BTreeSet::new();
        while let Some(shard) = search.next_shard() {
            assert!(tried.insert(shard), "{shard} tried twice");
            search.refused(shard, FULL);
        }
        assert_eq!(tried, BTreeSet::from([0, 2, 3]));
        assert_eq!(
            search.sold_out(),
            None,
            "counter 1 was only known from an earlier request"
        );
        search.refused(1, FULL);
        assert_eq!(search.sold_out(), Some(Seats { capacity: 8, issued: 8 }));
        search.reopen(&[2]);
        assert_eq!(search.next_shard(), Some(2));
    }

    #[test]
    fn starts_are_spread_over_the_counters() {
        let search = ShardSearch::new(Layout::new(8).unwrap(), BTreeSet::new());
        let starts: BTreeSet<u32> = (0..500).filter_map(|_| search.next_shard()).collect();
        assert_eq!(starts.len(), 8, "{starts:?}");
    }

    #[test]
    fn the_inventory_remembers_layouts_and_exhausted_counters() {
        let inventory = Inventory::default();
        assert_eq!(inventory.layout("e-1"), None);
        inventory.remember("e-1", Layout::new(3).unwrap());
        inventory.mark_exhausted("e-1", 2);
        inventory.mark_exhausted("unknown", 1);
        assert_eq!(inventory.exhausted("e-1"), BTreeSet::from([2]));
        assert!(inventory.exhausted("unknown").is_empty());
        inventory.reopen("e-1", &[2]);
        assert!(inventory.exhausted("e-1").is_empty());
        inventory.forget("e-1");
        assert_eq!(inventory.layout("e-1"), None);
    }
}
