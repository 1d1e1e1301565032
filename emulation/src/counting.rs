//! The benchmark's hook: every call that went through the proxy, by operation, with when it was
//! in flight. From that come the round trips per message and the time a handler spent waiting on
//! the emulator.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::hook::{Exchange, Hook};

/// One AWS call as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// `DynamoDB.PutItem`, `SQS.SendMessage`, … (`other.<METHOD> <path>` when not an AWS call).
    pub operation: String,
    /// When the request had arrived, and when its answer was handed back.
    pub started: Instant,
    pub finished: Instant,
}

/// Records every call; [`CountingHook::take`] drains the record.
#[derive(Debug, Default)]
pub struct CountingHook {
    calls: Mutex<Vec<Counted>>,
}

impl CountingHook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call recorded since the last `take`, in the order they were answered.
    pub fn take(&self) -> Vec<Counted> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl Hook for CountingHook {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn observe(&self, exchange: &Exchange) {
        self.calls.lock().unwrap().push(Counted {
            operation: exchange.call.full_name(),
            started: exchange.arrived,
            finished: exchange.answered,
        });
    }
}

/// Calls per operation.
pub fn count_by_operation(calls: &[Counted]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in calls {
        *counts.entry(call.operation.clone()).or_insert(0) += 1;
    }
    counts
}

/// Time during which at least one call was in flight (the union of the calls' intervals).
pub fn busy_time(calls: &[Counted]) -> Duration {
    let mut intervals: Vec<(Instant, Instant)> = calls.iter().map(|c| (c.started, c.finished)).collect();
    intervals.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        total += e - s;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_counts_overlapping_calls_once() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let call = |a, b| Counted {
            operation: "x".into(),
            started: ms(a),
            finished: ms(b),
        };
        // [0,10] ∪ [5,15] ∪ [20,25] = 15 + 5.
        let calls = [call(20, 25), call(0, 10), call(5, 15)];
        assert_eq!(busy_time(&calls), Duration::from_millis(20));
        assert_eq!(busy_time(&[]), Duration::ZERO);
        assert_eq!(count_by_operation(&calls)["x"], 3);
    }
}
