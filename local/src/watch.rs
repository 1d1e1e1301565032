//! Functions served by `cargo lambda watch`: one watch process per function, each with the
//! environment the template gives that function, answering the Lambda Invoke API on its own port.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::provision::Function;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("building {binary} failed (see the output above)")]
    Build { binary: String },
    #[error("starting cargo lambda watch for {binary}: {message}")]
    Start { binary: String, message: String },
}

/// A function under `cargo lambda watch`; stopped (with its function process) when dropped.
pub struct Watched {
    pub binary: String,
    pub port: u16,
    child: tokio::process::Child,
}

impl Watched {
    /// The Invoke API endpoint; invoke the function by its binary name.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stop the watch process; it stops the function process it started.
    pub fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            // SIGTERM lets cargo lambda watch take its function process down with it.
            // SAFETY: kill(2) with a pid we own and a valid signal number.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Build each binary the way `cargo lambda watch` will run it (`cargo build --bin <b>`, one at a
/// time: building them together unifies features differently and watch would rebuild).
pub async fn build(workspace: &Path, binaries: &[&str]) -> Result<(), WatchError> {
    for binary in binaries {
        let status = tokio::process::Command::new("cargo")
            .args(["build", "--quiet", "--bin", binary])
            .current_dir(workspace)
            .status()
            .await
            .map_err(|e| WatchError::Start {
                binary: binary.to_string(),
                message: e.to_string(),
            })?;
        if !status.success() {
            return Err(WatchError::Build {
                binary: binary.to_string(),
            });
        }
    }
    Ok(())
}

/// Start `cargo lambda watch` for `function`, with `extra` environment (the emulator endpoint,
/// credentials) over the template's, logging to `log`. Returns once the port answers.
pub async fn start(
    workspace: &Path,
    cargo_lambda: &Path,
    function: &Function,
    extra: &[(String, String)],
    concurrency: usize,
    log: &Path,
) -> Result<Watched, WatchError> {
    let fail = |message: String| WatchError::Start {
        binary: function.binary.clone(),
        message,
    };
    let port = free_port().map_err(|e| fail(e.to_string()))?;
    let log_file = std::fs::File::create(log).map_err(|e| fail(format!("{}: {e}", log.display())))?;
    let mut command = tokio::process::Command::new(cargo_lambda);
    command
        .args(["lambda", "watch", "--ignore-changes", "--bin", &function.binary])
        .args(["-A", "127.0.0.1", "-P", &port.to_string()])
        .args(["--concurrency", &concurrency.max(1).to_string()])
        .current_dir(workspace)
        .envs(function.environment.iter())
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| fail(e.to_string()))?)
        .stderr(log_file)
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| fail(format!("{}: {e}", cargo_lambda.display())))?;
    let mut watched = Watched {
        binary: function.binary.clone(),
        port,
        child,
    };
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Ok(Some(status)) = watched.child.try_wait() {
            return Err(fail(format!("exited with {status}; see {}", log.display())));
        }
        if started.elapsed() > Duration::from_secs(60) {
            watched.stop();
            return Err(fail(format!(
                "port {port} did not open within 60 s; see {}",
                log.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(watched)
}

/// A free loopback port (the small race until watch binds it is acceptable locally).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
