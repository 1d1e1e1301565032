//! The machine and the versions of everything measured, for the report.

use std::path::Path;
use std::process::Command;

use emulation::machine::{Host, output, python_version_of};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    let host = Host::describe();
    Machine {
        cores: host.cores,
        cpu_model: host.cpu_model,
        memory: host.memory,
        kernel: host.kernel,
        clock_ticks_per_second: crate::process_usage::clock_ticks_per_second(),
        rustc: output(Command::new("rustc").arg("--version")),
        cargo_lambda: output(Command::new("cargo").args(["lambda", "--version"])),
        python: output(Command::new(bench_python).arg("--version")),
        moto: python_version_of(moto_python, "moto"),
        powertools: python_version_of(bench_python, "aws-lambda-powertools"),
        awslambdaric: python_version_of(bench_python, "awslambdaric"),
        boto3: python_version_of(bench_python, "boto3"),
        load_average: host.load_average,
    }
}
