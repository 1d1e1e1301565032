//! The machine and the versions of everything measured, for the report.

use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub clock_ticks_per_second: u64,
    pub rustc: String,
    pub cargo_lambda: String,
    pub python: String,
    pub moto: String,
    pub powertools: String,
    pub awslambdaric: String,
    pub boto3: String,
    /// `/proc/loadavg` when the run started: the machine is shared, and other work shows here.
    pub load_average: String,
}

/// `bench_python` is the venv with Powertools; `moto_python` the one with moto.
pub fn describe(bench_python: &Path, moto_python: &Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        cpu_model: field(&cpuinfo, "model name").unwrap_or_else(unknown),
        memory: field(&meminfo, "MemTotal")
            .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
            .unwrap_or_else(unknown),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_owned())
            .unwrap_or_else(|_| unknown()),
        clock_ticks_per_second: crate::process_usage::clock_ticks_per_second(),
        rustc: output(Command::new("rustc").arg("--version")),
        cargo_lambda: output(Command::new("cargo").args(["lambda", "--version"])),
        python: output(Command::new(bench_python).arg("--version")),
        moto: python_version_of(moto_python, "moto"),
        powertools: python_version_of(bench_python, "aws-lambda-powertools"),
        awslambdaric: python_version_of(bench_python, "awslambdaric"),
        boto3: python_version_of(bench_python, "boto3"),
        load_average: load_average(),
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| unknown())
}

fn unknown() -> String {
    "unknown".to_owned()
}

fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

fn output(command: &mut Command) -> String {
    command
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(unknown)
}

fn python_version_of(python: &Path, distribution: &str) -> String {
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
