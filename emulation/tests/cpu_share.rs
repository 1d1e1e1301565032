//! A process in a CPU share's cgroup really is throttled to its quota (its CPU time against wall
//! time, and the kernel's own record of throttled periods), only the processes put there are in
//! it, and every cgroup the share created is gone once it is dropped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use emulation::cgroup::{CpuGroup, CpuShare};

/// utime + stime of `pid`, in seconds (`/proc/<pid>/stat`, fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process is alive");
    let after_name = &stat[stat.rfind(')').expect("a command name in parentheses") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / per_second
}

/// A busy loop for `wall` in `group`: its CPU time over its wall time, its pid, and the
/// group's members while it ran.
async fn busy_share(group: &CpuGroup, wall: Duration) -> (f64, u32, Vec<u32>) {
    let mut command = tokio::process::Command::new("/bin/sh");
    command.args(["-c", "while :; do :; done"]).kill_on_drop(true);
    let joiner = group.clone();
    // SAFETY: join_from_child only makes async-signal-safe calls.
    unsafe {
        command.pre_exec(move || joiner.join_from_child());
    }
    let mut child = command.spawn().expect("sh starts");
    let pid = child.id().unwrap();
    let started = Instant::now();
    tokio::time::sleep(wall).await;
    let members = group.pids();
    let share = cpu_seconds(pid) / started.elapsed().as_secs_f64();
    child.kill().await.unwrap();
    (share, pid, members)
}

#[tokio::test]
async fn a_process_in_the_share_is_throttled_to_its_quota_and_the_cgroups_are_removed() {
    let share = CpuShare::create("cpu-share-test", 0.1).unwrap_or_else(|error| {
        panic!("this machine has the cgroup v1 cpu controller and runs as root (DEVELOPERS.md): {error}")
    });
    assert!(share.describe().contains("10.0% of one CPU"), "{}", share.describe());
    let root: PathBuf = share.root().to_path_buf();
    let group = share.group("busy-0").unwrap();
    assert!(group.path().starts_with(&root));

    let (throttled, pid, members) = busy_share(&group, Duration::from_millis(2_500)).await;
    assert_eq!(members, vec![pid], "only the process started in the group is in it");
    assert!(
        !std::fs::read_to_string(group.path().join("cgroup.procs"))
            .unwrap()
            .contains(&std::process::id().to_string()),
        "the test process itself is not throttled"
    );
    // 10% of a CPU, with room for the period boundaries.
    assert!(
        throttled > 0.03 && throttled < 0.15,
        "the throttled loop used {throttled:.3} CPU-s per second"
    );
    let record = group.throttling();
    assert!(
        record.throttled_periods >= 10 && !record.throttled.is_zero(),
        "the kernel throttled the group in most of its periods: {record:?}"
    );

    drop(share);
    assert!(!root.exists(), "{} is removed with the share", root.display());
}

#[tokio::test]
async fn a_share_removes_its_cgroups_even_with_a_process_still_inside() {
    let share = CpuShare::create("cpu-share-leftover", 0.2).unwrap();
    let root = share.root().to_path_buf();
    let group = share.group("sleeper-0").unwrap();
    let mut command = tokio::process::Command::new("/bin/sleep");
    command.arg("30").kill_on_drop(true);
    let joiner = group.clone();
    // SAFETY: join_from_child only makes async-signal-safe calls.
    unsafe {
        command.pre_exec(move || joiner.join_from_child());
    }
    let mut child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    assert_eq!(group.pids(), vec![pid]);
    share
        .remove()
        .expect("the process is moved out and the cgroups removed");
    assert!(!root.exists());
    assert!(
        child.try_wait().unwrap().is_none(),
        "removing the cgroup does not kill the process"
    );
    child.kill().await.unwrap();
}
