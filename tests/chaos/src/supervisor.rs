//! The supervisor of a chaos run: it SIGKILLs a random busy worker process every so often (as an
//! out-of-memory kill or a host failure would), freezes one (SIGSTOP) every so often so that its
//! Runtime API kills it at the deadline (Lambda's timeout), and restarts any process that dies on
//! its own, which it reports: a worker must never crash.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emulation::rng::Rng;
use emulation::workers::{Kill, WorkerPool};

/// Kills a random busy process of the pools about every `interval` (uniformly 0.5–1.5 ×), and
/// restarts processes that exit by themselves. Kill timing is wall-clock: not reproducible by seed.
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
        let mut next_kill = Instant::now() + self.next_interval(self.interval);
        let mut next_freeze = Instant::now() + self.next_interval(self.freeze_interval);
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
            if !*killing.borrow() {
                continue;
            }
            if !self.freeze_interval.is_zero()
                && Instant::now() >= next_freeze
                && let Some((pool, slot)) = self.pick_busy()
            {
                if pool.freeze(slot).await {
                    *self.freezes.lock().unwrap() += 1;
                }
                next_freeze = Instant::now() + self.next_interval(self.freeze_interval);
            }
            if self.interval.is_zero() || Instant::now() < next_kill {
                continue;
            }
            let Some((pool, slot)) = self.pick_busy() else {
                continue;
            };
            match pool.kill_and_restart(slot).await {
                Ok(kill) => self.kills.lock().unwrap().push(kill),
                Err(error) => self.errors.lock().unwrap().push(error.to_string()),
            }
            next_kill = Instant::now() + self.next_interval(self.interval);
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
