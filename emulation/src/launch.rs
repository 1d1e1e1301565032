//! Starting one function process as Lambda starts it: the variables Lambda sets
//! ([`LambdaSettings::environment`]), what points its SDK at the emulator
//! ([`emulator_environment`]), its Runtime API's address, optionally a CPU cgroup of its own
//! ([`spawn`]), and the wait for its first `invocation/next`, the end of its init
//! ([`wait_ready`]). The worker pools ([`crate::workers`]) and the benchmark's function processes
//! both start their processes here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::cgroup::CpuGroup;
use crate::runtime_api::RuntimeApi;

/// The memory size every function of the template has (`MemorySize: 128`).
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// The `PATH` of Lambda's sandbox (`provided.al2023`).
pub const SANDBOX_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What Lambda tells a function process about itself through its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaSettings {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// `AWS_LAMBDA_LOG_LEVEL` (the function's `LoggingConfig.ApplicationLogLevel`); `None`: unset,
    /// as the template leaves it.
    pub log_level: Option<String>,
    /// Lambda's sandbox: the task root (`LAMBDA_TASK_ROOT`, and the process's working directory)
    /// and the variables that come with it (`TZ`, `LANG`, the sandbox's `PATH`). `None`: the
    /// process keeps this machine's `PATH` (the worker pools).
    pub task_root: Option<PathBuf>,
}

impl LambdaSettings {
    /// `function_name` at the template's memory size, without a log level or sandbox: what the
    /// worker pools of the chaos run and the flash sale start.
    pub fn new(function_name: &str) -> Self {
        Self {
            function_name: function_name.to_owned(),
            memory_mb: DEFAULT_MEMORY_MB,
            log_level: None,
            task_root: None,
        }
    }

    /// The variables Lambda sets for the function, and [`emulator_environment`] of `endpoint`
    /// (not `AWS_LAMBDA_RUNTIME_API`: [`spawn`] adds it).
    pub fn environment(&self, endpoint: &str) -> BTreeMap<String, String> {
        let mut environment: BTreeMap<String, String> = [
            ("AWS_LAMBDA_FUNCTION_NAME", self.function_name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.memory_mb.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(level) = &self.log_level {
            environment.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.clone());
        }
        if let Some(task_root) = &self.task_root {
            for (name, value) in [
                ("LAMBDA_TASK_ROOT", task_root.display().to_string()),
                ("TZ", ":UTC".to_owned()),
                ("LANG", "en_US.UTF-8".to_owned()),
                ("PATH", SANDBOX_PATH.to_owned()),
            ] {
                environment.insert(name.to_owned(), value);
            }
        }
        environment.extend(emulator_environment(endpoint));
        environment
    }
}

/// What points a process's SDK at the emulator at `endpoint`: the endpoint, dummy credentials,
/// moto's region, and no instance metadata lookup (no network but loopback). The local stack
/// gives it to `cargo lambda watch`, which sets the `AWS_LAMBDA_*` variables itself.
pub fn emulator_environment(endpoint: &str) -> BTreeMap<String, String> {
    [
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

/// One process to start.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    /// The working directory (the task root); `None`: this process's.
    pub current_dir: Option<&'a Path>,
    /// Its whole environment but `AWS_LAMBDA_RUNTIME_API` (and `PATH`, this machine's unless
    /// given): nothing else is inherited.
    pub environment: &'a BTreeMap<String, String>,
    /// Where its stdout and stderr are appended.
    pub log: &'a Path,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot open the log {path}: {source}")]
    Log { path: PathBuf, source: std::io::Error },
    #[error("cannot start {program}: {source}")]
    Spawn { program: PathBuf, source: std::io::Error },
}

/// Start `launch` on the Runtime API at `runtime_api`, in `group` if given (the child joins it
/// before `exec`, so no instruction of the function runs outside its CPU share).
pub fn spawn(launch: &Launch<'_>, runtime_api: &str, group: Option<&CpuGroup>) -> Result<Child, LaunchError> {
    let log_error = |source| LaunchError::Log {
        path: launch.log.to_path_buf(),
        source,
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(launch.log)
        .map_err(log_error)?;
    let stderr = log.try_clone().map_err(log_error)?;
    let mut command = Command::new(launch.program);
    if let Some(group) = group.cloned() {
        // SAFETY: join_from_child only makes async-signal-safe calls (open, write, close).
        unsafe {
            command.pre_exec(move || group.join_from_child());
        }
    }
    if let Some(dir) = launch.current_dir {
        command.current_dir(dir);
    }
    command
        .args(launch.args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(launch.environment)
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| LaunchError::Spawn {
            program: launch.program.to_path_buf(),
            source,
        })
}

/// Why a process did not finish its init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// It exited first (its exit status).
    Exited(String),
    /// It asked for no invocation within the limit.
    TimedOut,
}

/// Wait until the process on `api` asks for its first invocation, within `limit`; returns when
/// it asked. With `child`, its exit ends the wait at once (the benchmark's single processes);
/// without, only the limit does (the pools, whose supervisor restarts processes that exit).
pub async fn wait_ready(api: &RuntimeApi, child: Option<&mut Child>, limit: Duration) -> Result<Instant, NotReady> {
    let exited = async {
        match child {
            Some(child) => match child.wait().await {
                Ok(status) => status.to_string(),
                Err(error) => error.to_string(),
            },
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        ready = api.wait_ready() => Ok(ready),
        status = exited => Err(NotReady::Exited(status)),
        _ = tokio::time::sleep(limit) => Err(NotReady::TimedOut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const EMULATOR: [(&str, &str); 6] = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];

    #[test]
    fn a_pool_process_gets_lambdas_variables_and_the_emulators() {
        let mut expected = map(&[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_NAME", "app-TicketProcessor"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ]);
        expected.extend(map(&EMULATOR));
        assert_eq!(
            LambdaSettings::new("app-TicketProcessor").environment("http://127.0.0.1:5000"),
            expected
        );
    }

    #[test]
    fn a_sandboxed_process_gets_its_memory_size_log_level_and_task_root() {
        let settings = LambdaSettings {
            memory_mb: 1024,
            log_level: Some("INFO".to_owned()),
            task_root: Some(PathBuf::from("/var/task")),
            ..LambdaSettings::new("bench-fn")
        };
        let mut expected = map(&[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
            ("AWS_LAMBDA_FUNCTION_NAME", "bench-fn"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("LANG", "en_US.UTF-8"),
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("TZ", ":UTC"),
        ]);
        expected.extend(map(&EMULATOR));
        assert_eq!(settings.environment("http://127.0.0.1:5000"), expected);
    }

    /// The environment the process sees: exactly the given one, the Runtime API's address, and
    /// this machine's `PATH` unless the environment has one.
    #[tokio::test]
    async fn a_process_sees_only_its_environment() {
        let dir = std::env::temp_dir().join(format!("launch-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, environment, path) in [
            (
                "pool",
                map(&[("TABLE", "t")]),
                std::env::var("PATH").unwrap_or_default(),
            ),
            (
                "sandbox",
                map(&[("TABLE", "t"), ("PATH", SANDBOX_PATH)]),
                SANDBOX_PATH.to_owned(),
            ),
        ] {
            let log = dir.join(format!("{name}.log"));
            let _ = std::fs::remove_file(&log);
            let launch = Launch {
                program: Path::new("/usr/bin/env"),
                args: &[],
                current_dir: Some(&dir),
                environment: &environment,
                log: &log,
            };
            let status = spawn(&launch, "127.0.0.1:9001", None).unwrap().wait().await.unwrap();
            assert!(status.success());
            let seen: BTreeMap<String, String> = std::fs::read_to_string(&log)
                .unwrap()
                .lines()
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let mut expected = map(&[("TABLE", "t"), ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")]);
            expected.insert("PATH".to_owned(), path);
            assert_eq!(seen, expected, "{name}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
