//! Worker processes: the release binaries, each on its own Lambda Runtime API, as Lambda runs
//! them; a pool per function that hands each invocation to an idle process; and a supervisor
//! that SIGKILLs a random busy process every so often (and restarts any that dies on its own,
//! which it reports: a worker must never crash).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use local_stack::invoke::{Invocation, InvokeError, Invoker};
use local_stack::runtime_api::RuntimeApi;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::rng::Rng;

/// How a function's processes are started.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The binary's name (ticket-processor, …).
    pub binary: String,
    pub path: PathBuf,
    /// The Lambda function name (`AWS_LAMBDA_FUNCTION_NAME`).
    pub function_name: String,
    /// Everything but `AWS_LAMBDA_RUNTIME_API`.
    pub environment: BTreeMap<String, String>,
    pub log: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{binary}: cannot start {path}: {source}")]
    Spawn {
        binary: String,
        path: String,
        source: std::io::Error,
    },
    #[error("{binary}: cannot open its log {path}: {source}")]
    Log {
        binary: String,
        path: String,
        source: std::io::Error,
    },
    #[error("{binary}: its Runtime API cannot listen: {source}")]
    RuntimeApi { binary: String, source: std::io::Error },
    #[error("{binary} process {slot} did not ask for an invocation within {seconds} s of starting (see {log})")]
    NotReady {
        binary: String,
        slot: usize,
        seconds: u64,
        log: String,
    },
}

/// Lambda environment every process gets besides the template's.
pub fn lambda_environment(function_name: &str, endpoint: &str) -> BTreeMap<String, String> {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", function_name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

const READY_WITHIN: Duration = Duration::from_secs(30);

fn spawn(spec: &ProcessSpec, runtime_api: &str) -> Result<Child, WorkerError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .map_err(|source| WorkerError::Log {
            binary: spec.binary.clone(),
            path: spec.log.display().to_string(),
            source,
        })?;
    let stderr = log.try_clone().map_err(|source| WorkerError::Log {
        binary: spec.binary.clone(),
        path: spec.log.display().to_string(),
        source,
    })?;
    Command::new(&spec.path)
        .env_clear()
        .envs(&spec.environment)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| WorkerError::Spawn {
            binary: spec.binary.clone(),
            path: spec.path.display().to_string(),
            source,
        })
}

struct Slot {
    index: usize,
    api: RuntimeApi,
    child: tokio::sync::Mutex<Child>,
    /// The payload of the invocation this process is running, if any.
    in_flight: Mutex<Option<Arc<Vec<u8>>>>,
}

/// The processes of one function. Implements [`Invoker`]: each invocation goes to an idle process.
pub struct WorkerPool {
    spec: ProcessSpec,
    slots: Vec<Arc<Slot>>,
    idle_tx: mpsc::UnboundedSender<usize>,
    idle_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<usize>>,
    pub invocations: AtomicU64,
    pub function_errors: AtomicU64,
}

impl WorkerPool {
    /// Start `count` processes and wait until each asks for its first invocation.
    pub async fn start(spec: ProcessSpec, count: usize, timeout: Duration) -> Result<Arc<Self>, WorkerError> {
        let (idle_tx, idle_rx) = mpsc::unbounded_channel();
        let mut slots = Vec::with_capacity(count);
        for index in 0..count {
            let api = RuntimeApi::start(&spec.function_name, timeout)
                .await
                .map_err(|source| WorkerError::RuntimeApi {
                    binary: spec.binary.clone(),
                    source,
                })?;
            let child = spawn(&spec, &api.address())?;
            slots.push(Arc::new(Slot {
                index,
                api,
                child: tokio::sync::Mutex::new(child),
                in_flight: Mutex::new(None),
            }));
        }
        let pool = Arc::new(Self {
            spec,
            slots,
            idle_tx,
            idle_rx: tokio::sync::Mutex::new(idle_rx),
            invocations: AtomicU64::new(0),
            function_errors: AtomicU64::new(0),
        });
        for slot in &pool.slots {
            pool.wait_ready(slot).await?;
            let _ = pool.idle_tx.send(slot.index);
        }
        Ok(pool)
    }

    pub fn binary(&self) -> &str {
        &self.spec.binary
    }

    async fn wait_ready(&self, slot: &Slot) -> Result<(), WorkerError> {
        tokio::time::timeout(READY_WITHIN, slot.api.wait_ready())
            .await
            .map(|_| ())
            .map_err(|_| WorkerError::NotReady {
                binary: self.spec.binary.clone(),
                slot: slot.index,
                seconds: READY_WITHIN.as_secs(),
                log: self.spec.log.display().to_string(),
            })
    }

    /// Slots running an invocation now.
    fn busy(&self) -> Vec<usize> {
        self.slots
            .iter()
            .filter(|slot| slot.in_flight.lock().unwrap().is_some())
            .map(|slot| slot.index)
            .collect()
    }

    /// SIGKILL the process of `index`, fail its invocation as Lambda does, start a new one.
    async fn kill_and_restart(&self, index: usize) -> Result<Kill, WorkerError> {
        let slot = &self.slots[index];
        let mut child = slot.child.lock().await;
        let payload = slot.in_flight.lock().unwrap().clone();
        let _ = child.start_kill();
        let _ = child.wait().await;
        let killed_at = Instant::now();
        slot.api.fail_in_flight("Runtime.ExitError");
        slot.api.reset_ready();
        *child = spawn(&self.spec, &slot.api.address())?;
        drop(child);
        self.wait_ready(slot).await?;
        Ok(Kill {
            binary: self.spec.binary.clone(),
            slot: index,
            at: killed_at,
            bodies: payload.map(|p| record_bodies(&p)).unwrap_or_default(),
        })
    }

    /// Processes that exited by themselves since the last check; each is restarted.
    async fn restart_exited(&self) -> Result<Vec<String>, WorkerError> {
        let mut exits = Vec::new();
        for slot in &self.slots {
            let mut child = slot.child.lock().await;
            if let Ok(Some(status)) = child.try_wait() {
                exits.push(format!(
                    "{} process {} exited by itself: {status}",
                    self.spec.binary, slot.index
                ));
                slot.api.fail_in_flight("Runtime.ExitError");
                slot.api.reset_ready();
                *child = spawn(&self.spec, &slot.api.address())?;
                drop(child);
                self.wait_ready(slot).await?;
            }
        }
        Ok(exits)
    }

    pub async fn invoke_payload(&self, payload: Vec<u8>) -> Invocation {
        let index = self
            .idle_rx
            .lock()
            .await
            .recv()
            .await
            .expect("the pool holds its own sender");
        let slot = &self.slots[index];
        *slot.in_flight.lock().unwrap() = Some(Arc::new(payload.clone()));
        self.invocations.fetch_add(1, Ordering::Relaxed);
        let invocation = slot.api.invoke_payload(payload).await;
        if invocation.function_error.is_some() {
            self.function_errors.fetch_add(1, Ordering::Relaxed);
        }
        *slot.in_flight.lock().unwrap() = None;
        let _ = self.idle_tx.send(index);
        invocation
    }
}

impl Invoker for WorkerPool {
    fn invoke<'a>(&'a self, _function: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(async move { Ok(self.invoke_payload(payload).await) })
    }
}

/// The bodies of an SQS event's records.
fn record_bodies(payload: &[u8]) -> Vec<String> {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|event| {
            event["Records"].as_array().map(|records| {
                records
                    .iter()
                    .filter_map(|r| r["body"].as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// One SIGKILL: which process, when, and the bodies of the batch it was running.
#[derive(Debug, Clone)]
pub struct Kill {
    pub binary: String,
    pub slot: usize,
    pub at: Instant,
    pub bodies: Vec<String>,
}

/// Kills a random busy process of the pools about every `interval` (uniformly 0.5–1.5 ×), and
/// restarts processes that exit by themselves. Kill timing is wall-clock: not reproducible by seed.
pub struct Supervisor {
    pools: Vec<Arc<WorkerPool>>,
    interval: Duration,
    rng: Mutex<Rng>,
    pub kills: Mutex<Vec<Kill>>,
    pub unexpected_exits: Mutex<Vec<String>>,
    pub errors: Mutex<Vec<String>>,
}

impl Supervisor {
    pub fn new(pools: Vec<Arc<WorkerPool>>, interval: Duration, seed: u64) -> Arc<Self> {
        Arc::new(Self {
            pools,
            interval,
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
        let mut next_kill = Instant::now() + self.next_interval();
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
            if self.interval.is_zero() || !*killing.borrow() || Instant::now() < next_kill {
                continue;
            }
            let Some((pool, slot)) = self.pick_busy() else {
                continue;
            };
            match pool.kill_and_restart(slot).await {
                Ok(kill) => self.kills.lock().unwrap().push(kill),
                Err(error) => self.errors.lock().unwrap().push(error.to_string()),
            }
            next_kill = Instant::now() + self.next_interval();
        }
    }

    fn next_interval(&self) -> Duration {
        let factor = 0.5 + self.rng.lock().unwrap().unit();
        self.interval.mul_f64(factor)
    }

    fn pick_busy(&self) -> Option<(Arc<WorkerPool>, usize)> {
        let busy: Vec<(Arc<WorkerPool>, usize)> = self
            .pools
            .iter()
            .flat_map(|pool| pool.busy().into_iter().map(move |slot| (pool.clone(), slot)))
            .collect();
        if busy.is_empty() {
            return None;
        }
        let pick = self.rng.lock().unwrap().below(busy.len() as u64) as usize;
        busy.into_iter().nth(pick)
    }
}
