//! Worker processes: the release binaries, each on its own Lambda Runtime API, as Lambda runs
//! them (optionally each in a CPU cgroup with Lambda's share of a CPU); a pool per function that
//! hands each invocation to an idle process, and can kill and restart a process as Lambda does
//! when one exits mid-invocation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::invoke::{Invocation, InvokeError, Invoker};
use crate::runtime_api::RuntimeApi;
use futures::future::BoxFuture;
use tokio::process::Child;
use tokio::sync::mpsc;

use crate::cgroup::{CpuGroup, CpuShare, CpuShareError};
use crate::launch::{self, LambdaSettings, Launch, LaunchError};

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
    /// Each process in a cgroup of its own with this share of a CPU (`None`: unthrottled).
    pub cpu_share: Option<Arc<CpuShare>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{binary}: {source}")]
    Launch { binary: String, source: LaunchError },
    #[error("{binary}: its CPU share: {source}")]
    CpuShare { binary: String, source: CpuShareError },
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

/// Lambda environment every pool process gets besides the template's: what Lambda sets for a
/// function at the template's memory size ([`LambdaSettings::new`]), and
/// [`emulator_environment`](crate::launch::emulator_environment).
pub fn lambda_environment(function_name: &str, endpoint: &str) -> BTreeMap<String, String> {
    LambdaSettings::new(function_name).environment(endpoint)
}

const READY_WITHIN: Duration = Duration::from_secs(30);

fn spawn(
    spec: &ProcessSpec,
    slot_environment: &BTreeMap<String, String>,
    runtime_api: &str,
    group: Option<&CpuGroup>,
) -> Result<Child, WorkerError> {
    let mut environment = spec.environment.clone();
    environment.extend(slot_environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    let launch = Launch {
        program: &spec.path,
        args: &[],
        current_dir: None,
        environment: &environment,
        log: &spec.log,
    };
    launch::spawn(&launch, runtime_api, group).map_err(|source| WorkerError::Launch {
        binary: spec.binary.clone(),
        source,
    })
}

struct Slot {
    index: usize,
    /// What this slot's processes get on top of the spec's environment.
    environment: BTreeMap<String, String>,
    api: RuntimeApi,
    group: Option<CpuGroup>,
    child: tokio::sync::Mutex<Child>,
    /// The payload of the invocation this process is running, if any.
    in_flight: Mutex<Option<Arc<Vec<u8>>>>,
    /// The process is stopped (SIGSTOP) until it is killed.
    frozen: std::sync::atomic::AtomicBool,
}

/// The processes of one function. Implements [`Invoker`]: each invocation goes to an idle process.
pub struct WorkerPool {
    spec: ProcessSpec,
    slots: Vec<Arc<Slot>>,
    idle_tx: mpsc::UnboundedSender<usize>,
    idle_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<usize>>,
    pub invocations: AtomicU64,
    pub function_errors: AtomicU64,
    /// Processes the Runtime API killed because their invocation passed its deadline (Lambda's
    /// timeout), each restarted.
    pub timeouts: Mutex<Vec<Kill>>,
}

impl WorkerPool {
    /// Start `count` processes and wait until each asks for its first invocation.
    pub async fn start(spec: ProcessSpec, count: usize, timeout: Duration) -> Result<Arc<Self>, WorkerError> {
        Self::start_with(spec, vec![BTreeMap::new(); count], timeout).await
    }

    /// As [`WorkerPool::start`], one process per entry of `slot_environments`, each with that
    /// entry on top of the spec's environment (e.g. its own `AWS_ENDPOINT_URL`, a tagged endpoint
    /// of the proxy, so every call says which slot's process made it).
    pub async fn start_with(
        spec: ProcessSpec,
        slot_environments: Vec<BTreeMap<String, String>>,
        timeout: Duration,
    ) -> Result<Arc<Self>, WorkerError> {
        let (idle_tx, idle_rx) = mpsc::unbounded_channel();
        let mut slots = Vec::with_capacity(slot_environments.len());
        for (index, environment) in slot_environments.into_iter().enumerate() {
            let api = RuntimeApi::start(&spec.function_name, timeout)
                .await
                .map_err(|source| WorkerError::RuntimeApi {
                    binary: spec.binary.clone(),
                    source,
                })?;
            let group =
                match &spec.cpu_share {
                    Some(share) => Some(share.group(&format!("{}-{index}", spec.binary)).map_err(|source| {
                        WorkerError::CpuShare {
                            binary: spec.binary.clone(),
                            source,
                        }
                    })?),
                    None => None,
                };
            let child = spawn(&spec, &environment, &api.address(), group.as_ref())?;
            api.set_process(child.id());
            slots.push(Arc::new(Slot {
                index,
                environment,
                api,
                group,
                child: tokio::sync::Mutex::new(child),
                in_flight: Mutex::new(None),
                frozen: std::sync::atomic::AtomicBool::new(false),
            }));
        }
        let pool = Arc::new(Self {
            spec,
            slots,
            idle_tx,
            idle_rx: tokio::sync::Mutex::new(idle_rx),
            invocations: AtomicU64::new(0),
            function_errors: AtomicU64::new(0),
            timeouts: Mutex::new(Vec::new()),
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
        launch::wait_ready(&slot.api, None, READY_WITHIN)
            .await
            .map(|_| ())
            .map_err(|_| WorkerError::NotReady {
                binary: self.spec.binary.clone(),
                slot: slot.index,
                seconds: READY_WITHIN.as_secs(),
                log: self.spec.log.display().to_string(),
            })
    }

    /// A new process in `slot` in place of `child` (which has exited): its Runtime API waits
    /// for the new one's first `invocation/next` and will kill it at a deadline.
    fn respawn(&self, slot: &Slot, child: &mut Child) -> Result<(), WorkerError> {
        slot.api.reset_ready();
        *child = spawn(&self.spec, &slot.environment, &slot.api.address(), slot.group.as_ref())?;
        slot.frozen.store(false, Ordering::SeqCst);
        slot.api.set_process(child.id());
        Ok(())
    }

    /// How often each process's cgroup ran into its CPU quota (empty without a CPU share).
    pub fn throttling(&self) -> Vec<crate::cgroup::Throttling> {
        self.slots
            .iter()
            .filter_map(|slot| slot.group.as_ref().map(CpuGroup::throttling))
            .collect()
    }

    /// The processes' ids now, by slot.
    pub async fn pids(&self) -> Vec<Option<u32>> {
        let mut pids = Vec::new();
        for slot in &self.slots {
            pids.push(slot.child.lock().await.id());
        }
        pids
    }

    /// Slots running an invocation now.
    pub fn busy(&self) -> Vec<usize> {
        self.slots
            .iter()
            .filter(|slot| slot.in_flight.lock().unwrap().is_some())
            .map(|slot| slot.index)
            .collect()
    }

    /// Slots running an invocation now whose process is not frozen.
    pub fn busy_running(&self) -> Vec<usize> {
        self.slots
            .iter()
            .filter(|slot| slot.in_flight.lock().unwrap().is_some() && !slot.frozen.load(Ordering::SeqCst))
            .map(|slot| slot.index)
            .collect()
    }

    /// SIGKILL the process of `index`, fail its invocation as Lambda does, start a new one.
    pub async fn kill_and_restart(&self, index: usize) -> Result<Kill, WorkerError> {
        let slot = &self.slots[index];
        let mut child = slot.child.lock().await;
        let payload = slot.in_flight.lock().unwrap().clone();
        let _ = child.start_kill();
        let _ = child.wait().await;
        let killed_at = Instant::now();
        slot.api.fail_in_flight("Runtime.ExitError");
        self.respawn(slot, &mut child)?;
        drop(child);
        self.wait_ready(slot).await?;
        Ok(Kill {
            binary: self.spec.binary.clone(),
            slot: index,
            at: killed_at,
            bodies: payload.map(|p| record_field(&p, "body")).unwrap_or_default(),
            timeout: false,
        })
    }

    /// Stop the process of `index` (SIGSTOP) without failing its invocation, as a host that stops
    /// scheduling it would: it answers nothing more, and its Runtime API kills it at the deadline.
    pub async fn freeze(&self, index: usize) -> bool {
        let slot = &self.slots[index];
        let child = slot.child.lock().await;
        // SAFETY: kill(2) on our own child with a valid signal.
        let stopped = child
            .id()
            .is_some_and(|pid| unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) == 0 });
        if stopped {
            slot.frozen.store(true, Ordering::SeqCst);
        }
        stopped
    }

    /// If the Runtime API of `slot` killed its process for a timeout: restart it and record the
    /// kill. Called with the slot's child locked; true when it was such a kill.
    async fn restart_after_timeout(&self, slot: &Slot, child: &mut Child) -> Result<bool, WorkerError> {
        let Some(killed_at) = slot.api.take_timeout_kill() else {
            return Ok(false);
        };
        let _ = child.wait().await;
        let payload = slot.in_flight.lock().unwrap().clone();
        self.respawn(slot, child)?;
        self.timeouts.lock().unwrap().push(Kill {
            binary: self.spec.binary.clone(),
            slot: slot.index,
            at: killed_at,
            bodies: payload.map(|p| record_field(&p, "body")).unwrap_or_default(),
            timeout: true,
        });
        Ok(true)
    }

    /// Processes that exited by themselves since the last check; each is restarted.
    pub async fn restart_exited(&self) -> Result<Vec<String>, WorkerError> {
        let mut exits = Vec::new();
        for slot in &self.slots {
            let mut child = slot.child.lock().await;
            if let Ok(Some(status)) = child.try_wait() {
                if self.restart_after_timeout(slot, &mut child).await? {
                    drop(child);
                    self.wait_ready(slot).await?;
                    continue;
                }
                exits.push(format!(
                    "{} process {} exited by itself: {status}",
                    self.spec.binary, slot.index
                ));
                slot.api.fail_in_flight("Runtime.ExitError");
                self.respawn(slot, &mut child)?;
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
        if invocation.function_error.as_deref() == Some("Sandbox.Timedout") {
            // Its Runtime API killed the process at the deadline: a new one takes the slot
            // before it is handed another invocation.
            let mut child = slot.child.lock().await;
            let restarted = self.restart_after_timeout(slot, &mut child).await;
            drop(child);
            if matches!(restarted, Ok(true)) {
                let _ = self.wait_ready(slot).await;
            }
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

/// One string field (`body`, `messageId`, …) of each record of an SQS event, in order.
pub fn record_field(payload: &[u8], field: &str) -> Vec<String> {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|event| {
            event["Records"].as_array().map(|records| {
                records
                    .iter()
                    .filter_map(|r| r[field].as_str().map(str::to_owned))
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
    /// Killed by its Runtime API at the invocation's deadline (Lambda's timeout), not by the
    /// supervisor.
    pub timeout: bool,
}
