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
use crate::ticket_batches::fresh_batch;
use emulation::stats::Summary;

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

/// Levers that need no other build: the same binary in another environment (or on another event).
pub const LEVER_CA_ONLY: &str = "roots: the run's CA only";
pub const LEVER_LOG_WARN: &str = "log level WARN";
pub const LEVER_ONE_COUNTER: &str = "one counter (K = 1)";
/// ticket-processor's cold-start settings (its `main.rs`), each turned the other way.
pub const ENVIRONMENT_LEVERS: [(&str, &str, &str); 3] = [
    ("an HTTPS client per SDK client", "SHARED_HTTP_CLIENT", "off"),
    ("no warm-up at init", "WARM_UP_AT_INIT", "off"),
    ("first batch at concurrency 2", "FIRST_BATCH_CONCURRENCY", "2"),
];

/// One contender's cold invocations.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

/// The emulation every contender talks to: the limits model's proxy behind the TLS front, and
/// the CPU shares of both memory sizes.
pub(crate) struct Emulation {
    model: Arc<LimitsModel>,
    // Kept for the run: the front pipes to it.
    _proxy: Proxy,
    front: TlsFront,
    small: Arc<CpuShare>,
    large: Arc<CpuShare>,
}

impl Emulation {
    pub(crate) async fn start(emulator: &str, log_dir: &Path) -> Result<Self, BenchError> {
        let model = Arc::new(LimitsModel::new(Limits::default()));
        let proxy = Proxy::start(emulator, vec![model.clone()])
            .await
            .map_err(|e| BenchError::setup("latency model proxy", e))?;
        let front = TlsFront::start(&proxy.endpoint(), log_dir)
            .await
            .map_err(|e| BenchError::setup("TLS front", e))?;
        let small = CpuShare::create("bench-128mb", share_of_memory(SMALL_MB))
            .map_err(|e| BenchError::setup("CPU share at 128 MB", e))?;
        let large = CpuShare::create("bench-1024mb", share_of_memory(LARGE_MB))
            .map_err(|e| BenchError::setup("CPU share at 1,024 MB", e))?;
        Ok(Self {
            model,
            _proxy: proxy,
            front,
            small: Arc::new(small),
            large: Arc::new(large),
        })
    }

    /// `spec` trusting the run's CA, at `memory_mb`'s CPU share. SQS gets a host name of its own
    /// (`localhost`, the DynamoDB endpoint being `127.0.0.1`: the certificate names both), so no
    /// client reuses a DynamoDB connection for SQS, as none can on AWS.
    fn as_lambda(&self, spec: &FunctionSpec, memory_mb: u32) -> FunctionSpec {
        let share = if memory_mb == SMALL_MB {
            &self.small
        } else {
            &self.large
        };
        self.over_tls(&spec.at_memory(memory_mb, share.clone()))
    }

    /// `spec` trusting the run's CA, SQS on its own host name (see [`Self::as_lambda`]).
    pub(crate) fn over_tls(&self, spec: &FunctionSpec) -> FunctionSpec {
        let mut spec = spec.clone();
        spec.environment.extend(self.front.trust_environment());
        spec.environment.insert(
            "AWS_ENDPOINT_URL_SQS".to_owned(),
            self.front.endpoint().replace("127.0.0.1", "localhost"),
        );
        spec
    }

    /// The TLS front's endpoint, every contender's `AWS_ENDPOINT_URL`.
    pub(crate) fn endpoint(&self) -> String {
        self.front.endpoint()
    }
}

/// Every contender of the run with its workspace: ticket-processor at 128 MB, each Powertools
/// handler at 128 and 1,024 MB, then the levers (ticket-processor changed in one respect, at
/// 128 MB).
fn contenders<'a>(
    emulation: &Emulation,
    stack: &'a BenchStack,
    [ticket_processor, powertools, powertools_ts]: [&FunctionSpec; 3],
    lever_binaries: &[(String, std::path::PathBuf)],
) -> Vec<(FunctionSpec, &'a Workspace)> {
    let mut contenders = vec![
        (emulation.as_lambda(ticket_processor, SMALL_MB), &stack.rust),
        (emulation.as_lambda(powertools, SMALL_MB), &stack.powertools),
        (emulation.as_lambda(powertools, LARGE_MB), &stack.powertools),
        (emulation.as_lambda(powertools_ts, SMALL_MB), &stack.powertools_ts),
        (emulation.as_lambda(powertools_ts, LARGE_MB), &stack.powertools_ts),
    ];
    let lever = |what: &str, workspace: &'a Workspace, change: &dyn Fn(&mut FunctionSpec)| {
        let mut spec = emulation.as_lambda(ticket_processor, SMALL_MB);
        spec.label = format!("{} @ {SMALL_MB} MB", lever_label(what));
        change(&mut spec);
        (spec, workspace)
    };
    let ca_only = emulation.front.ca_only().display().to_string();
    contenders.push(lever(LEVER_CA_ONLY, &stack.rust, &|spec| {
        spec.environment.insert("SSL_CERT_FILE".to_owned(), ca_only.clone());
    }));
    contenders.push(lever(LEVER_LOG_WARN, &stack.rust, &|spec| {
        spec.environment
            .insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), "WARN".to_owned());
    }));
    contenders.push(lever(LEVER_ONE_COUNTER, &stack.rust_one_counter, &|_| {}));
    for (what, variable, value) in ENVIRONMENT_LEVERS {
        contenders.push(lever(what, &stack.rust, &|spec| {
            spec.environment.insert(variable.to_owned(), value.to_owned());
        }));
    }
    for (what, binary) in lever_binaries {
        contenders.push(lever(what, &stack.rust, &|spec| spec.program = binary.clone()));
    }
    contenders
}

/// The contenders as Lambda runs them (see the module's documentation), cold then warm.
pub async fn run(
    stack: &BenchStack,
    emulator: &str,
    functions: [&FunctionSpec; 3],
    plan: LambdaPlan,
    log_dir: &Path,
) -> Result<(LambdaResults, Vec<(String, u64)>), BenchError> {
    let emulation = Emulation::start(emulator, log_dir).await?;
    let contenders = contenders(&emulation, stack, functions, &plan.lever_binaries);
    let endpoint = emulation.front.endpoint();
    eprintln!(
        "bench: as Lambda bills it: {} cold invocations of each contender over TLS ({endpoint})",
        plan.cold_runs
    );
    let (cold, mut fresh) =
        cold_invocations(stack, &contenders, plan.cold_runs, &endpoint, &emulation.front, log_dir).await?;
    eprintln!(
        "bench: as Lambda bills it: warm batches, {} warm-up + {} measured per scenario and contender",
        plan.warm.warmup, plan.warm.batches
    );
    let (warm, warm_handshakes, warm_transactions) =
        warm_batches(stack, &contenders, plan.warm, &emulation, log_dir).await?;
    for (label, messages) in &warm.fresh_messages {
        fresh.push((base_label(label), *messages));
    }
    let results = LambdaResults {
        cpu_shares: vec![emulation.small.describe(), emulation.large.describe()],
        memory_mb: contenders.iter().map(|(s, _)| (s.label.clone(), s.memory_mb)).collect(),
        cold_runs: plan.cold_runs,
        cold,
        warm,
        warm_handshakes,
        model_p50_ms: model_p50_ms(&emulation.model),
        warm_transactions,
    };
    Ok((results, fresh))
}

/// One process per contender through `plan`'s warm batches: the results, the TLS handshakes and
/// the transactions (admitted, cancelled for a conflict) over them.
async fn warm_batches(
    stack: &BenchStack,
    contenders: &[(FunctionSpec, &Workspace)],
    plan: Plan,
    emulation: &Emulation,
    log_dir: &Path,
) -> Result<(BatchRunResult, usize, (u64, u64)), BenchError> {
    let endpoint = emulation.front.endpoint();
    let mut processes = Vec::new();
    for (spec, _) in contenders {
        let log = log_dir.join(format!("lambda-warm-{}.log", file_name(&spec.label)));
        processes.push(FunctionProcess::start(spec, &endpoint, &log).await?);
    }
    emulation.front.take_handshakes();
    let before = transactions(&emulation.model);
    let warm_contenders: Vec<Contender> = processes
        .iter()
        .zip(contenders)
        .map(|(process, (_, workspace))| Contender { process, workspace })
        .collect();
    let warm = batch_run::run(stack, &warm_contenders, plan).await;
    let handshakes = emulation.front.take_handshakes();
    let after = transactions(&emulation.model);
    for process in processes {
        process.stop().await;
    }
    Ok((warm?, handshakes, (after.0 - before.0, after.1 - before.1)))
}

/// The latency model's p50 of each operation the contenders call, ms.
fn model_p50_ms(model: &LimitsModel) -> Vec<(String, f64)> {
    [
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
    .collect()
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
