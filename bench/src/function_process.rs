//! One function process under the Runtime API stub, started as Lambda starts it by the
//! emulation toolkit's launcher ([`emulation::launch`]: the environment Lambda sets at the
//! spec's memory size with an `INFO` log level in a sandbox, the function's own variables, the
//! emulator's endpoint and dummy credentials; its CPU share), and what the benchmark measures of
//! it (init time, CPU time, peak RSS). The process's stdout and stderr go to a log file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use emulation::cgroup::CpuShare;
use emulation::launch::{self, LambdaSettings, Launch, LaunchError, NotReady};

use emulation::invoke::Invocation;
use emulation::runtime_api::RuntimeApi;

use crate::error::BenchError;
use crate::process_usage;

/// How long a process may take to ask for its first invocation before the run gives up.
const INIT_LIMIT: Duration = Duration::from_secs(60);

/// What to run and with which configuration.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Label in the report and in errors.
    pub label: String,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Working directory (`LAMBDA_TASK_ROOT`); the program's directory when `None`.
    pub task_root: Option<PathBuf>,
    /// The function's own environment variables (the template's).
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// Each process in a cgroup of its own with this share of a CPU (`None`: the whole machine).
    pub cpu_share: Option<Arc<CpuShare>>,
}

impl FunctionSpec {
    /// The same function at `memory_mb`, each process throttled to `share` (its CPU share).
    pub fn at_memory(&self, memory_mb: u32, share: Arc<CpuShare>) -> Self {
        Self {
            label: format!("{} @ {memory_mb} MB", self.label),
            memory_mb,
            cpu_share: Some(share),
            ..self.clone()
        }
    }
}

/// Numbers each process's cgroup, so every start gets a group of its own.
static STARTS: AtomicUsize = AtomicUsize::new(0);

/// A started function process, blocked in its first `invocation/next` (init is over).
pub struct FunctionProcess {
    pub label: String,
    pub pid: u32,
    /// From just before `exec` to the process's first `GET …/invocation/next`.
    pub init: Duration,
    pub log: PathBuf,
    runtime: RuntimeApi,
    child: tokio::process::Child,
}

impl FunctionProcess {
    /// Start `spec` with its AWS calls going to `endpoint`, logging to `log`.
    pub async fn start(spec: &FunctionSpec, endpoint: &str, log: &Path) -> Result<Self, BenchError> {
        let runtime = RuntimeApi::start(&spec.function_name, spec.timeout)
            .await
            .map_err(|e| BenchError::setup(format!("{}: Runtime API stub", spec.label), e))?;
        let task_root = spec
            .task_root
            .clone()
            .or_else(|| spec.program.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("/"));
        let mut environment = LambdaSettings {
            memory_mb: spec.memory_mb,
            log_level: Some("INFO".to_owned()),
            task_root: Some(task_root.clone()),
            ..LambdaSettings::new(&spec.function_name)
        }
        .environment(endpoint);
        environment.extend(spec.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        let group = match &spec.cpu_share {
            Some(share) => Some(
                share
                    .group(&format!("bench-{}", STARTS.fetch_add(1, Ordering::Relaxed)))
                    .map_err(|e| BenchError::setup(format!("{}: CPU share", spec.label), e))?,
            ),
            None => None,
        };
        let launch = Launch {
            program: &spec.program,
            args: &spec.args,
            current_dir: Some(&task_root),
            environment: &environment,
            log,
        };
        let spawned = Instant::now();
        let mut child = launch::spawn(&launch, &runtime.address(), group.as_ref()).map_err(|error| match error {
            LaunchError::Log { path, source } => BenchError::File { path, source },
            LaunchError::Spawn { program, source } => BenchError::Spawn {
                function: spec.label.clone(),
                program,
                source,
            },
        })?;
        let pid = child.id().unwrap_or_default();
        let ready = launch::wait_ready(&runtime, Some(&mut child), INIT_LIMIT)
            .await
            .map_err(|not_ready| match not_ready {
                NotReady::Exited(status) => BenchError::ExitedDuringInit {
                    function: spec.label.clone(),
                    status,
                    log: log.to_path_buf(),
                },
                NotReady::TimedOut => BenchError::InitTimeout {
                    function: spec.label.clone(),
                    seconds: INIT_LIMIT.as_secs(),
                    log: log.to_path_buf(),
                },
            })?;
        Ok(Self {
            label: spec.label.clone(),
            pid,
            init: ready.saturating_duration_since(spawned),
            log: log.to_path_buf(),
            runtime,
            child,
        })
    }

    /// Invoke with `payload`; a function error or timeout is an error naming the function.
    pub async fn invoke(&self, payload: Vec<u8>) -> Result<Vec<u8>, BenchError> {
        let Invocation {
            function_error,
            payload,
        } = self.runtime.invoke_payload(payload).await;
        match function_error {
            None => Ok(payload),
            Some(error) => Err(BenchError::Invocation {
                function: self.label.clone(),
                detail: format!("{error}: {}", String::from_utf8_lossy(&payload)),
                log: self.log.clone(),
            }),
        }
    }

    /// CPU time the process has used so far (all threads).
    pub fn cpu_time(&self) -> Result<Duration, BenchError> {
        Ok(process_usage::cpu_time(self.pid)?)
    }

    /// `utime + stime` in clock ticks, from `/proc/<pid>/stat`.
    pub fn cpu_ticks(&self) -> Result<u64, BenchError> {
        Ok(process_usage::stat_cpu_ticks(self.pid)?)
    }

    /// Peak resident set size so far, KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, BenchError> {
        Ok(process_usage::peak_rss_kib(self.pid)?)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
