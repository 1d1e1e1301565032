//! Performance as Lambda bills it (issue 18): every AWS call over TLS (the emulation toolkit's
//! [`TlsFront`] in front of its proxy), answered no sooner than the limits model's latency for
//! the operation, and each function process throttled to its memory's CPU share
//! ([`emulation::cgroup`]): ticket-processor at 128 MB, the Powertools handler at 128 MB and at
//! 1,024 MB.
//!
//! - *Cold invocations*: a fresh process per run, init and then its first batch of 10 fresh
//!   requests, which opens (and handshakes) its connection to every endpoint it calls. The
//!   contenders take turns, run after run.
//! - *Warm batches*: one process per contender, fresh then all-duplicate batches interleaved as in
//!   [`batch_run`]: wall time per batch (the billed duration) and CPU per message, through kept-alive
//!   TLS connections.

use std::path::Path;
use std::sync::Arc;

use emulation::call::Service;
use emulation::cgroup::{CpuShare, share_of_memory};
use emulation::limits::params::Limits;
use emulation::limits::{LimitsModel, Verdict};
use emulation::proxy::Proxy;
use emulation::tls::TlsFront;

use crate::batch_run::{self, BatchRunResult, Contender, Plan, invoke_batch};
use crate::bench_stack::{BenchStack, Workspace};
use crate::error::BenchError;
use crate::function_process::{FunctionProcess, FunctionSpec};
use crate::stats::Summary;
use crate::ticket_batches::fresh_batch;

/// Memory sizes: ticket-processor's (the template's) and Powertools' at the same and at 1,024 MB.
pub const SMALL_MB: u32 = 128;
pub const LARGE_MB: u32 = 1024;

#[derive(Debug, Clone)]
pub struct LambdaPlan {
    pub cold_runs: usize,
    pub warm: Plan,
    /// ticket-processor built otherwise (label, bootstrap), run as levers beside it.
    pub lever_binaries: Vec<(String, std::path::PathBuf)>,
}

/// A lever's label: `ticket-processor [what]`.
pub fn lever_label(what: &str) -> String {
    format!("ticket-processor [{what}]")
}

/// Levers that need no other build: the same binary in another environment.
pub const LEVER_CA_ONLY: &str = "roots: the run's CA only";
pub const LEVER_LOG_WARN: &str = "log level WARN";

/// One contender's cold invocations.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColdResult {
    pub label: String,
    pub memory_mb: u32,
    /// Exec → first `GET …/invocation/next`, ms.
    pub init_ms: Summary,
    /// The first batch's invocation → response, ms.
    pub first_batch_ms: Summary,
    /// Init + first batch, ms.
    pub cold_ms: Summary,
    /// The process's CPU over init and the first batch, ms.
    pub cpu_ms: Summary,
    /// TLS handshakes per cold invocation (mean).
    pub handshakes: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LambdaResults {
    /// The cgroups' quotas, one line each.
    pub cpu_shares: Vec<String>,
    /// Each contender's memory, by label.
    pub memory_mb: Vec<(String, u32)>,
    pub cold_runs: usize,
    pub cold: Vec<ColdResult>,
    pub warm: BatchRunResult,
    /// TLS handshakes over the whole warm run, per contender process (all kept alive: few).
    pub warm_handshakes: usize,
    /// The latency model's p50 per operation the contenders call, ms.
    pub model_p50_ms: Vec<(String, f64)>,
    /// TransactWriteItems the model admitted and cancelled for a conflict (another transaction
    /// held the event's counter), over the warm run, all contenders.
    pub warm_transactions: (u64, u64),
}

/// The contenders as Lambda runs them: ticket-processor at 128 MB, each Powertools handler
/// (Python, TypeScript) at 128 and 1,024 MB, each given the TLS front's trust variables.
pub async fn run(
    stack: &BenchStack,
    emulator: &str,
    [ticket_processor, powertools, powertools_ts]: [&FunctionSpec; 3],
    plan: LambdaPlan,
    log_dir: &Path,
) -> Result<(LambdaResults, Vec<(String, u64)>), BenchError> {
    let model = Arc::new(LimitsModel::new(Limits::default()));
    let proxy = Proxy::start(emulator, vec![model.clone()])
        .await
        .map_err(|e| BenchError::setup("latency model proxy", e))?;
    let front = TlsFront::start(&proxy.endpoint(), log_dir)
        .await
        .map_err(|e| BenchError::setup("TLS front", e))?;
    let small = Arc::new(
        CpuShare::create("bench-128mb", share_of_memory(SMALL_MB))
            .map_err(|e| BenchError::setup("CPU share at 128 MB", e))?,
    );
    let large = Arc::new(
        CpuShare::create("bench-1024mb", share_of_memory(LARGE_MB))
            .map_err(|e| BenchError::setup("CPU share at 1,024 MB", e))?,
    );
    let trusting = |spec: FunctionSpec| {
        let mut spec = spec;
        spec.environment.extend(front.trust_environment());
        spec
    };
    let mut contenders = vec![
        (
            trusting(ticket_processor.at_memory(SMALL_MB, small.clone())),
            &stack.rust,
        ),
        (
            trusting(powertools.at_memory(SMALL_MB, small.clone())),
            &stack.powertools,
        ),
        (
            trusting(powertools.at_memory(LARGE_MB, large.clone())),
            &stack.powertools,
        ),
        (
            trusting(powertools_ts.at_memory(SMALL_MB, small.clone())),
            &stack.powertools_ts,
        ),
        (
            trusting(powertools_ts.at_memory(LARGE_MB, large.clone())),
            &stack.powertools_ts,
        ),
    ];
    // Levers: ticket-processor changed in one respect, at the same memory, in the same turns.
    let lever = |what: &str, change: &dyn Fn(&mut FunctionSpec)| {
        let mut spec = trusting(ticket_processor.clone());
        spec.label = lever_label(what);
        change(&mut spec);
        (spec.at_memory(SMALL_MB, small.clone()), &stack.rust)
    };
    let ca_only = front.ca_only().display().to_string();
    contenders.push(lever(LEVER_CA_ONLY, &|spec| {
        spec.environment.insert("SSL_CERT_FILE".to_owned(), ca_only.clone());
    }));
    contenders.push(lever(LEVER_LOG_WARN, &|spec| {
        spec.environment
            .insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), "WARN".to_owned());
    }));
    for (what, binary) in &plan.lever_binaries {
        contenders.push(lever(what, &|spec| spec.program = binary.clone()));
    }
    let endpoint = front.endpoint();
    eprintln!(
        "bench: as Lambda bills it: {} cold invocations of each contender over TLS ({endpoint})",
        plan.cold_runs
    );
    let (cold, mut fresh) = cold_invocations(stack, &contenders, plan.cold_runs, &endpoint, &front, log_dir).await?;

    eprintln!(
        "bench: as Lambda bills it: warm batches, {} warm-up + {} measured per scenario and contender",
        plan.warm.warmup, plan.warm.batches
    );
    let mut processes = Vec::new();
    for (spec, _) in &contenders {
        let log = log_dir.join(format!("lambda-warm-{}.log", file_name(&spec.label)));
        processes.push(FunctionProcess::start(spec, &endpoint, &log).await?);
    }
    front.take_handshakes();
    let transactions_before = transactions(&model);
    let warm_contenders: Vec<Contender> = processes
        .iter()
        .zip(&contenders)
        .map(|(process, (_, workspace))| Contender { process, workspace })
        .collect();
    let warm = batch_run::run(stack, &warm_contenders, plan.warm).await?;
    let warm_handshakes = front.take_handshakes();
    let transactions_after = transactions(&model);
    let warm_transactions = (
        transactions_after.0 - transactions_before.0,
        transactions_after.1 - transactions_before.1,
    );
    for process in processes {
        process.stop().await;
    }
    for (label, messages) in &warm.fresh_messages {
        fresh.push((base_label(label), *messages));
    }
    let model_p50_ms = [
        "DynamoDB.PutItem",
        "DynamoDB.TransactWriteItems",
        "DynamoDB.UpdateItem",
        "SQS.SendMessage",
    ]
    .iter()
    .filter_map(|name| {
        let (service, operation) = name.split_once('.')?;
        let service = Service::ALL.into_iter().find(|s| s.label() == service)?;
        Some((name.to_string(), model.latency().of(service, operation).percentile(0.5)))
    })
    .collect();
    let results = LambdaResults {
        cpu_shares: vec![small.describe(), large.describe()],
        memory_mb: contenders.iter().map(|(s, _)| (s.label.clone(), s.memory_mb)).collect(),
        cold_runs: plan.cold_runs,
        cold,
        warm,
        warm_handshakes,
        model_p50_ms,
        warm_transactions,
    };
    Ok((results, fresh))
}

/// TransactWriteItems admitted and cancelled for a conflict so far.
fn transactions(model: &LimitsModel) -> (u64, u64) {
    let counts = model.counts();
    let of = |verdict: Verdict| {
        counts
            .get("DynamoDB.TransactWriteItems")
            .and_then(|c| c.get(&verdict))
            .copied()
            .unwrap_or(0)
    };
    (of(Verdict::Admitted), of(Verdict::Conflict))
}

/// `runs` cold invocations of each contender, taking turns (the order flipped every run).
async fn cold_invocations(
    stack: &BenchStack,
    contenders: &[(FunctionSpec, &Workspace)],
    runs: usize,
    endpoint: &str,
    front: &TlsFront,
    log_dir: &Path,
) -> Result<(Vec<ColdResult>, Vec<(String, u64)>), BenchError> {
    let mut samples = vec![ColdSamples::default(); contenders.len()];
    let mut fresh = Vec::new();
    for run in 0..runs {
        let order: Vec<usize> = if run % 2 == 0 {
            (0..contenders.len()).collect()
        } else {
            (0..contenders.len()).rev().collect()
        };
        for index in order {
            let (spec, workspace) = &contenders[index];
            let log = log_dir.join(format!("lambda-cold-{}.log", file_name(&spec.label)));
            front.take_handshakes();
            let process = FunctionProcess::start(spec, endpoint, &log).await?;
            let batch = fresh_batch(&workspace.event_id, &workspace.source_queue_arn, 10);
            let first_batch = invoke_batch(&process, &batch).await?;
            let cpu = process.cpu_time()?;
            let init = process.init;
            process.stop().await;
            let sample = &mut samples[index];
            sample.init_ms.push(init.as_secs_f64() * 1e3);
            sample.first_batch_ms.push(first_batch.as_secs_f64() * 1e3);
            // What Lambda bills a cold invocation: its init duration and its invoke duration.
            sample.cold_ms.push((init + first_batch).as_secs_f64() * 1e3);
            sample.cpu_ms.push(cpu.as_secs_f64() * 1e3);
            sample.handshakes += front.take_handshakes();
            fresh.push((base_label(&spec.label), batch.message_ids.len() as u64));
            stack.forget_tickets(workspace, &batch).await?;
        }
    }
    let results = contenders
        .iter()
        .zip(samples)
        .map(|((spec, _), s)| {
            let summary = |v: &[f64]| Summary::of(v).ok_or_else(|| BenchError::check(&spec.label, "no cold runs"));
            Ok(ColdResult {
                label: spec.label.clone(),
                memory_mb: spec.memory_mb,
                init_ms: summary(&s.init_ms)?,
                first_batch_ms: summary(&s.first_batch_ms)?,
                cold_ms: summary(&s.cold_ms)?,
                cpu_ms: summary(&s.cpu_ms)?,
                handshakes: s.handshakes as f64 / runs as f64,
            })
        })
        .collect::<Result<Vec<_>, BenchError>>()?;
    Ok((results, fresh))
}

#[derive(Debug, Clone, Default)]
struct ColdSamples {
    init_ms: Vec<f64>,
    first_batch_ms: Vec<f64>,
    cold_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    handshakes: usize,
}

/// `"powertools @ 128 MB"` → `"powertools"`, `"ticket-processor [lever] @ 128 MB"` →
/// `"ticket-processor"`: the label the run's issued-tickets check counts by.
pub fn base_label(label: &str) -> String {
    let label = label.split(" @ ").next().unwrap_or(label);
    label.split(" [").next().unwrap_or(label).to_owned()
}

fn file_name(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levers_and_memory_sizes_count_as_their_contender() {
        assert_eq!(base_label("powertools @ 1024 MB"), "powertools");
        assert_eq!(base_label("powertools-ts @ 128 MB"), "powertools-ts");
        assert_eq!(
            base_label(&format!("{} @ 128 MB", lever_label(LEVER_LOG_WARN))),
            "ticket-processor"
        );
        assert_eq!(
            file_name("ticket-processor [log level WARN] @ 128 MB"),
            "ticket-processor__log_level_WARN____128_MB"
        );
    }
}
