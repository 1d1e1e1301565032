//! Ctrl-C during a sale stops the worker processes and removes every cgroup the run created.
//! The workers here are stand-ins (a shell script that asks its Runtime API for an invocation and
//! waits), so the test needs moto and the venv, not the release binaries.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A bootstrap that connects to `AWS_LAMBDA_RUNTIME_API`, asks for the next invocation and
/// waits, as a real runtime does between invocations.
const STAND_IN: &str = "#!/bin/bash
exec 3<>/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: runtime\\r\\n\\r\\n' >&3
cat <&3 > /dev/null
";

fn stand_in_workers(dir: &Path) {
    for binary in ["ticket-processor", "notification-sender"] {
        let path = dir.join(binary).join("bootstrap");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, STAND_IN).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The processes of each group of the run's cgroup.
fn groups(cgroup: &Path) -> Vec<Vec<u32>> {
    let mut groups = Vec::new();
    for entry in std::fs::read_dir(cgroup).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            let procs = std::fs::read_to_string(entry.path().join("cgroup.procs")).unwrap_or_default();
            groups.push(procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()).collect());
        }
    }
    groups
}

/// The runner, interrupted and killed if the test ends before it does.
struct Runner(Child);

impl Drop for Runner {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            // SAFETY: signalling a child this test started.
            unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGINT) };
            std::thread::sleep(Duration::from_secs(3));
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn ctrl_c_stops_the_workers_and_removes_the_cgroups() {
    let dir = std::env::temp_dir().join(format!("flash-sale-interrupt-{}", std::process::id()));
    stand_in_workers(&dir);
    let mut sale = Runner(
        Command::new(env!("CARGO_BIN_EXE_flash-sale"))
            .args([
                "--check",
                "--requests",
                "20",
                "--seats",
                "5",
                "--shards",
                "1",
                "--admission",
                "1",
            ])
            .arg("--bin-dir")
            .arg(&dir)
            .arg("--log-dir")
            .arg(dir.join("logs"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the runner starts"),
    );
    let mut lines = BufReader::new(sale.0.stderr.take().unwrap()).lines();
    let started = Instant::now();
    // One cgroup root per function, each with its own MemorySize's share.
    let roots: Vec<PathBuf> = loop {
        let line = lines
            .next()
            .expect("the runner prints its progress until it is set up")
            .unwrap();
        if line.contains("set up; CPU share") {
            break line
                .split(" at ")
                .skip(1)
                .filter_map(|rest| rest.split(':').next())
                .map(PathBuf::from)
                .collect();
        }
        assert!(started.elapsed() < Duration::from_secs(180), "not set up: {line}");
    };
    assert_eq!(roots.len(), 2, "a cgroup root per function: {roots:?}");
    let quota = |root: &PathBuf| -> String {
        let group = std::fs::read_dir(root)
            .unwrap()
            .flatten()
            .find(|e| e.path().is_dir())
            .unwrap()
            .path();
        ["cpu.cfs_quota_us", "cpu.max"]
            .iter()
            .find_map(|file| std::fs::read_to_string(group.join(file)).ok())
            .unwrap_or_default()
    };
    assert_ne!(
        quota(&roots[0]),
        quota(&roots[1]),
        "ticket-processor (512 MB) and notification-sender (128 MB) get their own memory's share"
    );
    let groups: Vec<Vec<u32>> = roots.iter().flat_map(|root| groups(root)).collect();
    assert_eq!(groups.len(), 10, "a group per slot of each function's pool (5 + 5)");
    assert!(
        groups.iter().all(|pids| !pids.is_empty()),
        "each stand-in (and what it started) is in its group: {groups:?}"
    );
    let workers: Vec<u32> = groups.into_iter().flatten().collect();

    // SAFETY: signalling a child this test started.
    unsafe { libc::kill(sale.0.id() as libc::pid_t, libc::SIGINT) };
    let status = sale.0.wait().unwrap();
    assert_eq!(status.code(), Some(130), "the runner reports the interruption");
    for root in &roots {
        assert!(!root.exists(), "{} is removed", root.display());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while workers.iter().any(|pid| Path::new(&format!("/proc/{pid}")).exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    for pid in workers {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "worker {pid} still runs: {state}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
