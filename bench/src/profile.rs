//! Where a warm batch's CPU goes (issue 18, "find the CPU"): ticket-processor as the Lambda
//! sections run it (every call over TLS to the emulation's front, answered after the limits
//! model's latency, its event on K counters) but on a whole CPU, sampled by `perf record`
//! attached to its process over warm fresh batches only: init, the first batch and the warm-up
//! batches are done before perf starts. `bench/profile-warm-batch` builds the binary with symbols
//! and line tables, runs this and summarises the samples.

use std::path::Path;
use std::time::Duration;

use crate::batch_run::invoke_batch;
use crate::bench_stack::BenchStack;
use crate::error::BenchError;
use crate::function_process::{FunctionProcess, FunctionSpec};
use crate::lambda_like::Emulation;
use crate::ticket_batches::fresh_batch;

/// Batches run before perf attaches (the first opens the connections) and batches sampled.
#[derive(Debug, Clone, Copy)]
pub struct ProfilePlan {
    pub warmup: usize,
    pub batches: usize,
    pub batch_size: usize,
}

/// Record `perf_data` over `plan.batches` warm batches of `ticket_processor`; returns the CPU the
/// process spent in them.
pub async fn record(
    stack: &BenchStack,
    emulator: &str,
    ticket_processor: &FunctionSpec,
    perf_data: &Path,
    plan: ProfilePlan,
    log_dir: &Path,
) -> Result<Duration, BenchError> {
    let emulation = Emulation::start(emulator, log_dir).await?;
    let spec = emulation.over_tls(ticket_processor);
    let process = FunctionProcess::start(
        &spec,
        &emulation.endpoint(),
        &log_dir.join("profile-ticket-processor.log"),
    )
    .await?;
    let workspace = &stack.rust;
    let batch = || fresh_batch(&workspace.event_id, &workspace.source_queue_arn, plan.batch_size);
    for _ in 0..plan.warmup {
        let sent = batch();
        invoke_batch(&process, &sent).await?;
        stack.forget_tickets(workspace, &sent).await?;
    }
    let mut perf = tokio::process::Command::new("perf")
        .args([
            "record",
            "--quiet",
            "-e",
            "cpu-clock",
            "-F",
            "1999",
            "--call-graph",
            "dwarf,16384",
            "-o",
        ])
        .arg(perf_data)
        .args(["-p", &process.pid.to_string()])
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| BenchError::setup("perf record (make bench-profile installs linux-perf)", e))?;
    // perf needs a moment to attach before the first sampled batch.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu_before = process.cpu_time()?;
    for _ in 0..plan.batches {
        let sent = batch();
        invoke_batch(&process, &sent).await?;
        stack.forget_tickets(workspace, &sent).await?;
    }
    let cpu = process.cpu_time()?.saturating_sub(cpu_before);
    if let Some(pid) = perf.id() {
        // SAFETY: signalling a child we started; SIGINT makes perf write its data and exit.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
    }
    let status = perf.wait().await.map_err(|e| BenchError::setup("perf record", e))?;
    process.stop().await;
    // perf ends with its data written on SIGINT, and may report the signal as its status.
    use std::os::unix::process::ExitStatusExt;
    if !status.success() && status.signal() != Some(libc::SIGINT) {
        return Err(BenchError::setup("perf record", format!("exited with {status}")));
    }
    Ok(cpu)
}
