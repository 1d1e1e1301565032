//! CPU time and peak memory of another process, read from the kernel.
//!
//! CPU time comes from the process's CPU-time clock (`clock_getcpuclockid` + `clock_gettime`):
//! user + system time of all its threads, living and exited, in nanoseconds. `/proc/<pid>/stat`
//! holds the same total (`utime + stime`) but in clock ticks (10 ms at `CLK_TCK` = 100), too
//! coarse for a few hundred microseconds per batch; it is read too, as a cross-check.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("process {pid}: {what}: {source}")]
    Io {
        pid: u32,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("process {pid}: {what} is malformed: {detail}")]
    Malformed {
        pid: u32,
        what: &'static str,
        detail: String,
    },
}

/// User + system CPU time of process `pid` (all threads), nanosecond resolution.
pub fn cpu_time(pid: u32) -> Result<Duration, UsageError> {
    let io = |what, source| UsageError::Io { pid, what, source };
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `clock` is a valid out-pointer for the duration of the call.
    let rc = unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) };
    if rc != 0 {
        return Err(io("clock_getcpuclockid", std::io::Error::from_raw_os_error(rc)));
    }
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid out-pointer for the duration of the call.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return Err(io("clock_gettime", std::io::Error::last_os_error()));
    }
    Ok(Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of `/proc/<pid>/stat` times.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

/// `utime + stime` of process `pid` from `/proc/<pid>/stat`, in clock ticks.
pub fn stat_cpu_ticks(pid: u32) -> Result<u64, UsageError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|source| UsageError::Io {
        pid,
        what: "/proc/<pid>/stat",
        source,
    })?;
    parse_stat_cpu_ticks(&stat).ok_or_else(|| UsageError::Malformed {
        pid,
        what: "/proc/<pid>/stat",
        detail: stat.chars().take(120).collect(),
    })
}

/// Fields 14 and 15 (utime, stime). The command name (field 2) may hold spaces and parentheses,
/// so fields are counted after its closing parenthesis.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, index 11 here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Peak resident set size (`VmHWM`) of process `pid`, in KiB.
pub fn peak_rss_kib(pid: u32) -> Result<u64, UsageError> {
    status_kib(pid, "VmHWM")
}

/// Current resident set size (`VmRSS`) of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64, UsageError> {
    status_kib(pid, "VmRSS")
}

fn status_kib(pid: u32, field: &'static str) -> Result<u64, UsageError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|source| UsageError::Io {
        pid,
        what: "/proc/<pid>/status",
        source,
    })?;
    parse_status_kib(&status, field).ok_or_else(|| UsageError::Malformed {
        pid,
        what: field,
        detail: "no such line in /proc/<pid>/status".into(),
    })
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_times_are_read_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 3 0 1000 \
                    10000000 500 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(42));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn status_lines_are_read_in_kib() {
        let status = "Name:\tbootstrap\nVmPeak:\t  100 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(9876));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(9000));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn the_cpu_clock_and_proc_stat_agree_on_work_done() {
        let pid = std::process::id();
        let clock_before = cpu_time(pid).unwrap();
        let ticks_before = stat_cpu_ticks(pid).unwrap();
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        let mut x = 0u64;
        while cpu_time(pid).unwrap() - clock_before < Duration::from_millis(100) {
            assert!(std::time::Instant::now() < give_up, "the CPU clock did not advance");
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        let ticks = stat_cpu_ticks(pid).unwrap() - ticks_before;
        let tick_ms = 1000 / clock_ticks_per_second();
        // 100 ms by the clock; /proc/<pid>/stat, a separate account, must show most of it.
        assert!(
            ticks * tick_ms >= 50,
            "100 ms of CPU by the clock, {ticks} ticks by /proc"
        );
        // The peak read after the current size is at least that size.
        let rss = rss_kib(pid).unwrap();
        assert!(peak_rss_kib(pid).unwrap() >= rss);
    }
}
