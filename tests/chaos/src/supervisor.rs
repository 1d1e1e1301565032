//! The supervisor of a chaos run: it SIGKILLs a random busy worker process every so often (as an
//! out-of-memory kill or a host failure would), freezes one (SIGSTOP) every so often so that its
//! Runtime API kills it at the deadline (Lambda's timeout), and restarts any process that dies on
//! its own, which it reports: a worker must never crash.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emulation::rng::Rng;
use emulation::workers::{Kill, WorkerPool};

/// Kills a random busy process of the pools about every `interval` (uniformly 0.5–1.5 ×) of busy
/// time, and restarts processes that exit by themselves. The kill and freeze clocks run only while
/// some process is busy (and not frozen): a clock that ran while nothing was busy would come due
/// during the idle gaps of a run's tail and kill each lone invocation within a tick of its start,
/// every redelivery again, so that a FIFO group's last messages were killed receive after receive
/// (18 s each) far above the set rate. Kill timing is wall-clock: not reproducible by seed.
pub struct Supervisor {
    pools: Vec<Arc<WorkerPool>>,
    interval: Duration,
    /// A busy process is frozen (SIGSTOP) about this often (0: never); its Runtime API kills it
    /// at the invocation's deadline, as Lambda's timeout does.
    freeze_interval: Duration,
    pub freezes: Mutex<usize>,
    rng: Mutex<Rng>,
    pub kills: Mutex<Vec<Kill>>,
    pub unexpected_exits: Mutex<Vec<String>>,
    pub errors: Mutex<Vec<String>>,
}

impl Supervisor {
    pub fn new(pools: Vec<Arc<WorkerPool>>, interval: Duration, freeze_interval: Duration, seed: u64) -> Arc<Self> {
        Arc::new(Self {
            pools,
            interval,
            freeze_interval,
            freezes: Mutex::new(0),
            rng: Mutex::new(Rng::fork(seed, "kills")),
            kills: Mutex::new(Vec::new()),
            unexpected_exits: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
        })
    }

    /// Run until `stop` turns true; kills only while `killing` is true.
    pub async fn run(
        self: Arc<Self>,
        killing: tokio::sync::watch::Receiver<bool>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut kill_clock = BusyClock::new(self.next_interval(self.interval));
        let mut freeze_clock = BusyClock::new(self.next_interval(self.freeze_interval));
        let mut last_tick = Instant::now();
        while !*stop.borrow() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.changed() => break,
            }
            for pool in &self.pools {
                match pool.restart_exited().await {
                    Ok(exits) => self.unexpected_exits.lock().unwrap().extend(exits),
                    Err(error) => self.errors.lock().unwrap().push(error.to_string()),
                }
            }
            let tick = last_tick.elapsed();
            last_tick = Instant::now();
            if !*killing.borrow() {
                continue;
            }
            if self.pools.iter().any(|pool| !pool.busy_running().is_empty()) {
                kill_clock.advance(tick);
                freeze_clock.advance(tick);
            }
            if !self.freeze_interval.is_zero()
                && freeze_clock.due()
                && let Some((pool, slot)) = self.pick_busy()
            {
                if pool.freeze(slot).await {
                    *self.freezes.lock().unwrap() += 1;
                }
                freeze_clock = BusyClock::new(self.next_interval(self.freeze_interval));
            }
            if self.interval.is_zero() || !kill_clock.due() {
                continue;
            }
            let Some((pool, slot)) = self.pick_busy() else {
                continue;
            };
            match pool.kill_and_restart(slot).await {
                Ok(kill) => self.kills.lock().unwrap().push(kill),
                Err(error) => self.errors.lock().unwrap().push(error.to_string()),
            }
            kill_clock = BusyClock::new(self.next_interval(self.interval));
        }
    }

    fn next_interval(&self, interval: Duration) -> Duration {
        let factor = 0.5 + self.rng.lock().unwrap().unit();
        interval.mul_f64(factor)
    }

    /// Every SIGKILL of the run: the supervisor's and the Runtime APIs' at a deadline.
    pub fn all_kills(&self) -> Vec<Kill> {
        let mut kills = self.kills.lock().unwrap().clone();
        for pool in &self.pools {
            kills.extend(pool.timeouts.lock().unwrap().iter().cloned());
        }
        kills
    }

    /// A busy process that is not frozen: a frozen one is left to its Runtime API's deadline.
    fn pick_busy(&self) -> Option<(Arc<WorkerPool>, usize)> {
        let busy: Vec<(Arc<WorkerPool>, usize)> = self
            .pools
            .iter()
            .flat_map(|pool| pool.busy_running().into_iter().map(move |slot| (pool.clone(), slot)))
            .collect();
        if busy.is_empty() {
            return None;
        }
        let pick = self.rng.lock().unwrap().below(busy.len() as u64) as usize;
        busy.into_iter().nth(pick)
    }
}

/// Time during which some process was busy, against the interval drawn for the next kill (or
/// freeze).
struct BusyClock {
    busy: Duration,
    interval: Duration,
}

impl BusyClock {
    fn new(interval: Duration) -> Self {
        Self {
            busy: Duration::ZERO,
            interval,
        }
    }

    fn advance(&mut self, busy: Duration) {
        self.busy += busy;
    }

    fn due(&self) -> bool {
        self.busy >= self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::BusyClock;
    use std::time::Duration;

    #[test]
    fn the_kill_clock_comes_due_on_busy_time_only() {
        let mut clock = BusyClock::new(Duration::from_secs(4));
        // Idle ticks do not advance it (the supervisor advances it only while a process is busy):
        // a lone invocation after a long idle gap is not killed at its start.
        assert!(!clock.due());
        for _ in 0..19 {
            clock.advance(Duration::from_millis(200));
        }
        assert!(!clock.due(), "3.8 s of busy time");
        clock.advance(Duration::from_millis(200));
        assert!(clock.due(), "4 s of busy time");
    }
}
