//! One function process under the Runtime API stub, started as Lambda starts it: the
//! environment Lambda sets, the function's own variables, dummy credentials and the emulator's
//! endpoint. The process's stdout and stderr go to a log file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use emulation::cgroup::CpuShare;

use local_stack::invoke::Invocation;
use local_stack::runtime_api::RuntimeApi;

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

/// The variables Lambda sets for every function, plus what points the process at the emulator.
pub fn lambda_environment(
    spec: &FunctionSpec,
    runtime_api: &str,
    endpoint: &str,
    task_root: &Path,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.function_name.as_str()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &spec.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("LAMBDA_TASK_ROOT", &task_root.display().to_string()),
        ("TZ", ":UTC"),
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.extend(spec.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars
}

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
        let file = |log: &Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| BenchError::File {
                    path: log.to_path_buf(),
                    source,
                })
        };
        let (stdout, stderr) = (file(log)?, file(log)?);
        let mut command = tokio::process::Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(&task_root)
            .env_clear()
            .envs(lambda_environment(spec, &runtime.address(), endpoint, &task_root))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true);
        if let Some(share) = &spec.cpu_share {
            let name = format!("bench-{}", STARTS.fetch_add(1, Ordering::Relaxed));
            let group = share
                .group(&name)
                .map_err(|e| BenchError::setup(format!("{}: CPU share", spec.label), e))?;
            // SAFETY: join_from_child only makes async-signal-safe calls (open, write, close).
            unsafe {
                command.pre_exec(move || group.join_from_child());
            }
        }
        let spawned = Instant::now();
        let mut child = command.spawn().map_err(|source| BenchError::Spawn {
            function: spec.label.clone(),
            program: spec.program.clone(),
            source,
        })?;
        let pid = child.id().unwrap_or_default();
        let ready = tokio::select! {
            ready = runtime.wait_ready() => ready,
            status = child.wait() => {
                return Err(BenchError::ExitedDuringInit {
                    function: spec.label.clone(),
                    status: status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                    log: log.to_path_buf(),
                });
            }
            _ = tokio::time::sleep(INIT_LIMIT) => {
                return Err(BenchError::InitTimeout {
                    function: spec.label.clone(),
                    seconds: INIT_LIMIT.as_secs(),
                    log: log.to_path_buf(),
                });
            }
        };
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
