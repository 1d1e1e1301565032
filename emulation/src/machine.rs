//! The machine a run measured on and the versions of what it ran, for reports: the machine is
//! shared, and the load average when a run started and ended says how much.

use std::path::Path;
use std::process::Command;

/// The host: cores, CPU, memory, kernel, the load average when described.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Host {
    pub cores: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub load_average: String,
}

impl Host {
    pub fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            cpu_model: field(&cpuinfo, "model name").unwrap_or_else(unknown),
            memory: field(&meminfo, "MemTotal")
                .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
                .unwrap_or_else(unknown),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|k| k.trim().to_owned())
                .unwrap_or_else(|_| unknown()),
            load_average: load_average(),
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| unknown())
}

pub fn unknown() -> String {
    "unknown".to_owned()
}

/// The value of `name: value` in `/proc`-style text.
pub fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

/// A command's trimmed standard output, or "unknown".
pub fn output(command: &mut Command) -> String {
    command
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(unknown)
}

/// The version of a Python distribution installed for `python`.
pub fn python_version_of(python: &Path, distribution: &str) -> String {
    output(Command::new(python).args([
        "-c",
        &format!("import importlib.metadata as m; print(m.version({distribution:?}))"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_proc_style_text() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7R13\nflags\t\t: fpu\n";
        assert_eq!(field(cpuinfo, "model name").as_deref(), Some("AMD EPYC 7R13"));
        assert_eq!(field(cpuinfo, "bogomips"), None);
    }
}
