//! Lambda's CPU share for worker processes: "Lambda allocates CPU power in proportion to the
//! amount of memory configured … at 1,769 MB, a function has the equivalent of one vCPU" (Lambda
//! Developer Guide, "Configure Lambda function memory"). A 128 MB function gets 128/1769 ≈ 7.2%
//! of one CPU.
//!
//! Each worker process goes into a CPU cgroup of its own whose quota is that share of one CPU:
//! cgroup v1's `cpu` controller (`cpu.cfs_quota_us` over `cpu.cfs_period_us`, mounted at
//! `/sys/fs/cgroup/cpu`), or cgroup v2's `cpu.max`. Only the worker processes go in: each joins
//! its group itself between fork and exec ([`CpuGroup::join_from_child`], from `pre_exec`), so
//! neither the runner nor the test harness is ever throttled, and the process is throttled from
//! its first instruction.
//!
//! Every cgroup a [`CpuShare`] creates sits under one directory named for the run, which is
//! removed when the `CpuShare` is dropped (also on failure, a panic, or Ctrl-C when the runner
//! drops its run). Processes still inside are moved out first. A run killed outright leaves its
//! directory behind; the next `CpuShare` removes directories of runs whose process is gone.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Memory that buys one vCPU (Lambda Developer Guide, "Configure Lambda function memory").
pub const MEMORY_PER_VCPU_MB: f64 = 1769.0;
/// The CFS period (µs) the quota is a share of: the kernel's default. Lambda does not document
/// the period it uses.
pub const PERIOD_US: u64 = 100_000;
/// Prefix of every cgroup directory a run creates, so stale ones can be recognised.
const PREFIX: &str = "ticketing-";

/// The CPU share of a function with `memory_mb` of memory, as a fraction of one CPU.
pub fn share_of_memory(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / MEMORY_PER_VCPU_MB
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

#[derive(Debug, thiserror::Error)]
pub enum CpuShareError {
    #[error(
        "no usable CPU cgroup controller: neither cgroup v1's {V1_MOUNT} nor a cgroup v2 hierarchy at {V2_MOUNT} with the cpu controller"
    )]
    NoController,
    #[error("cannot create or configure the cgroup {path}: {source} (cgroups need root and a writable controller)")]
    Io { path: String, source: std::io::Error },
}

const V1_MOUNT: &str = "/sys/fs/cgroup/cpu";
const V2_MOUNT: &str = "/sys/fs/cgroup";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CpuShareError + '_ {
    move |source| CpuShareError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The cgroups of one run: one directory, one child per worker process.
#[derive(Debug)]
pub struct CpuShare {
    version: Version,
    mount: PathBuf,
    root: PathBuf,
    fraction: f64,
    groups: Mutex<Vec<PathBuf>>,
    removed: Mutex<bool>,
}

/// One process's cgroup.
#[derive(Debug, Clone)]
pub struct CpuGroup {
    path: PathBuf,
    procs: CString,
}

impl CpuShare {
    /// A run's cgroup directory `ticketing-<name>-<pid>`, whose groups each get `fraction` of
    /// one CPU. Fails, saying why, where no CPU controller can be used.
    pub fn create(name: &str, fraction: f64) -> Result<Self, CpuShareError> {
        let (version, mount) = detect().ok_or(CpuShareError::NoController)?;
        remove_stale(&mount);
        let root = mount.join(format!("{PREFIX}{name}-{}", std::process::id()));
        std::fs::create_dir_all(&root).map_err(io_error(&root))?;
        let share = Self {
            version,
            mount,
            root,
            fraction,
            groups: Mutex::new(Vec::new()),
            removed: Mutex::new(false),
        };
        if version == Version::V2 {
            // Children can only be given cpu.max when their parents delegate the controller.
            write(&share.mount.join("cgroup.subtree_control"), "+cpu")?;
            write(&share.root.join("cgroup.subtree_control"), "+cpu")?;
        }
        Ok(share)
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn fraction(&self) -> f64 {
        self.fraction
    }

    /// The quota in µs per [`PERIOD_US`].
    pub fn quota_us(&self) -> u64 {
        ((self.fraction * PERIOD_US as f64).round() as u64).max(1_000)
    }

    /// One line for a report: where, and how much.
    pub fn describe(&self) -> String {
        format!(
            "cgroup {} at {}: {} µs of CPU per {} µs ({:.1}% of one CPU) per worker process",
            match self.version {
                Version::V1 => "v1 (cpu.cfs_quota_us)",
                Version::V2 => "v2 (cpu.max)",
            },
            self.root.display(),
            self.quota_us(),
            PERIOD_US,
            self.quota_us() as f64 / PERIOD_US as f64 * 100.0
        )
    }

    /// A new group `name` with this share's quota.
    pub fn group(&self, name: &str) -> Result<CpuGroup, CpuShareError> {
        let path = self.root.join(name);
        std::fs::create_dir_all(&path).map_err(io_error(&path))?;
        self.groups.lock().unwrap().push(path.clone());
        match self.version {
            Version::V1 => {
                write(&path.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                write(&path.join("cpu.cfs_quota_us"), &self.quota_us().to_string())?;
            }
            Version::V2 => write(&path.join("cpu.max"), &format!("{} {PERIOD_US}", self.quota_us()))?,
        }
        let procs = CString::new(path.join("cgroup.procs").as_os_str().as_encoded_bytes())
            .expect("a cgroup path has no NUL byte");
        Ok(CpuGroup { path, procs })
    }

    /// Move every process out and remove every directory this share created. Idempotent.
    pub fn remove(&self) -> Result<(), String> {
        let mut removed = self.removed.lock().unwrap();
        if *removed {
            return Ok(());
        }
        let groups = std::mem::take(&mut *self.groups.lock().unwrap());
        let mut failures = Vec::new();
        for path in groups.iter().chain(std::iter::once(&self.root)) {
            if let Err(error) = remove_group(&self.mount, path) {
                failures.push(error);
            }
        }
        *removed = true;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        if let Err(error) = self.remove() {
            eprintln!("cpu share: could not remove every cgroup: {error}");
        }
    }
}

impl CpuGroup {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Put the calling process into this group. Only async-signal-safe calls (open, write,
    /// close), so it may run in a child between fork and exec (`pre_exec`).
    pub fn join_from_child(&self) -> std::io::Result<()> {
        // SAFETY: a valid NUL-terminated path; the buffer outlives the write.
        unsafe {
            let fd = libc::open(self.procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // "0": the writing process itself.
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            let error = std::io::Error::last_os_error();
            libc::close(fd);
            if written != 1 {
                return Err(error);
            }
        }
        Ok(())
    }

    /// The processes in this group now.
    pub fn pids(&self) -> Vec<u32> {
        read_pids(&self.path)
    }

    /// The kernel's throttling record of this group (`cpu.stat`).
    pub fn throttling(&self) -> Throttling {
        let stat = std::fs::read_to_string(self.path.join("cpu.stat")).unwrap_or_default();
        let field = |name: &str| {
            stat.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Throttling {
            periods: field("nr_periods "),
            throttled_periods: field("nr_throttled "),
            // v1 counts nanoseconds (throttled_time), v2 microseconds (throttled_usec).
            throttled: Duration::from_nanos(field("throttled_time ")) + Duration::from_micros(field("throttled_usec ")),
        }
    }
}

/// How often a group ran into its quota: periods in which it ran, periods in which it was
/// throttled, and how long it waited for its next period in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled: Duration,
}

fn detect() -> Option<(Version, PathBuf)> {
    let v1 = Path::new(V1_MOUNT);
    if v1.join("cpu.cfs_quota_us").exists() {
        return Some((Version::V1, v1.to_path_buf()));
    }
    let v2 = Path::new(V2_MOUNT);
    let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).ok()?;
    controllers
        .split_whitespace()
        .any(|c| c == "cpu")
        .then(|| (Version::V2, v2.to_path_buf()))
}

fn write(path: &Path, value: &str) -> Result<(), CpuShareError> {
    std::fs::write(path, value).map_err(io_error(path))
}

fn read_pids(group: &Path) -> Vec<u32> {
    std::fs::read_to_string(group.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Move the group's processes to the hierarchy's root, then remove it (and its children).
/// Exiting processes leave a group a moment after their kill: retried for up to 2 s.
fn remove_group(mount: &Path, path: &Path) -> Result<(), String> {
    if !path.exists() {
        return Ok(());
    }
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_group(mount, &entry.path())?;
            }
        }
    }
    let mut last = String::new();
    for _ in 0..40 {
        for pid in read_pids(path) {
            let _ = std::fs::write(mount.join("cgroup.procs"), pid.to_string());
        }
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{}: {last}", path.display()))
}

/// Directories of earlier runs whose process no longer exists.
fn remove_stale(mount: &Path) {
    let Ok(entries) = std::fs::read_dir(mount) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.rsplit('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = remove_group(mount, &entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_follows_memory_as_lambda_allocates_it() {
        assert!((share_of_memory(128) - 0.07236).abs() < 1e-4);
        assert!((share_of_memory(1769) - 1.0).abs() < 1e-9);
    }
}
