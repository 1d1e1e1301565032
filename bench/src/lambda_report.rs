//! The report's part for issue 18 (performance as Lambda bills it): its goal rows, why a goal is
//! not met, the cold and warm sections and the cost per million tickets.

use std::fmt::Write;

use crate::batch_run::{Scenario, ScenarioResult};
use crate::lambda_like::{ColdResult, LARGE_MB, SMALL_MB};
use crate::results::Results;
use crate::stats::ratio;

pub const RUST_128: &str = "ticket-processor @ 128 MB";
pub const POWERTOOLS_128: &str = "powertools @ 128 MB";
pub const POWERTOOLS_1024: &str = "powertools @ 1024 MB";
pub const TS_128: &str = "powertools-ts @ 128 MB";
pub const TS_1024: &str = "powertools-ts @ 1024 MB";
/// The two Powertools contenders: (name, at 128 MB, at 1,024 MB).
pub const POWERTOOLS: [(&str, &str, &str); 2] = [
    ("Powertools (Python)", POWERTOOLS_128, POWERTOOLS_1024),
    ("Powertools (TypeScript)", TS_128, TS_1024),
];

pub const COLD_GOAL: f64 = 10.0;
pub const CPU_FRESH_GOAL_US: f64 = 500.0;
pub const CPU_DUPLICATE_GOAL_US: f64 = 250.0;
pub const CPU_RATIO_GOAL: f64 = 10.0;
pub const WARM_GOAL: f64 = 5.0;
pub const INIT_GOAL: f64 = 2.0;

/// Prices, us-east-1, as AWS's pricing pages state them (Lambda, DynamoDB on-demand since the
/// November 2024 reduction, SQS standard, SES outbound), read in December 2026 through public
/// summaries of those pages (this machine reaches no AWS page): Lambda duration per GB-second
/// (first tier) and requests; DynamoDB per write request unit; SQS per request (first tier);
/// SES per email.
pub const LAMBDA_X86_PER_GB_S: f64 = 0.000_016_666_7;
pub const LAMBDA_ARM_PER_GB_S: f64 = 0.000_013_333_4;
pub const LAMBDA_PER_REQUEST: f64 = 0.20 / 1e6;
pub const DYNAMODB_PER_WRITE_UNIT: f64 = 0.625 / 1e6;
pub const SQS_PER_REQUEST: f64 = 0.40 / 1e6;
pub const SES_PER_EMAIL: f64 = 0.10 / 1e3;
/// Per ticket, both contenders alike (section 4's calls): PutItem and UpdateItem of the
/// idempotency record (1 unit each, under 1 KB), TransactWriteItems of the ticket and the event's
/// counter (2 items × 2 units: transactional writes cost twice).
pub const WRITE_UNITS_PER_TICKET: f64 = 6.0;
/// SendMessage to the notification queue, plus the event source mapping's ReceiveMessage and
/// DeleteMessageBatch on each of the two queues per batch of 10 (0.2 + 0.2).
pub const SQS_REQUESTS_PER_TICKET: f64 = 1.4;
pub const EMAILS_PER_TICKET: f64 = 1.0;
pub const TICKETS_PER_BATCH: f64 = 10.0;

fn cold<'a>(r: &'a Results, label: &str) -> Option<&'a ColdResult> {
    r.lambda.cold.iter().find(|c| c.label == label)
}

fn warm<'a>(r: &'a Results, label: &str, scenario: Scenario) -> Option<&'a ScenarioResult> {
    r.lambda
        .warm
        .scenarios
        .iter()
        .find(|s| s.label == label && s.scenario == scenario)
}

fn cold_ratio(r: &Results, other: &str) -> Option<f64> {
    ratio(cold(r, other)?.cold_ms.median, cold(r, RUST_128)?.cold_ms.median)
}

fn warm_ratio(r: &Results, other: &str, scenario: Scenario) -> Option<f64> {
    ratio(
        warm(r, other, scenario)?.wall_ms.median,
        warm(r, RUST_128, scenario)?.wall_ms.median,
    )
}

fn cpu_ratio(r: &Results, other: &str) -> Option<f64> {
    ratio(
        warm(r, other, Scenario::Fresh)?.cpu_us_per_message,
        warm(r, RUST_128, Scenario::Fresh)?.cpu_us_per_message,
    )
}

fn times(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}×")).unwrap_or_else(|| "n/a".into())
}

fn us(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.0} µs")).unwrap_or_else(|| "n/a".into())
}

fn status(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "n/a",
    }
}

/// Rows of the goals table (issue 18).
pub fn goal_rows(r: &Results) -> String {
    let mut out = String::new();
    let mut row = |goal: &str, target: String, measured: String, met: Option<bool>| {
        let _ = writeln!(out, "| 18 | {goal} | {target} | {measured} | {} |", status(met));
    };
    for (name, at_128, at_1024) in POWERTOOLS {
        let value = cold_ratio(r, at_128);
        row(
            &format!("cold invocation over TLS (init + first batch of 10): {name} @ 128 MB ÷ Rust @ 128 MB (median)"),
            format!("≥ {COLD_GOAL}×"),
            times(value),
            value.map(|v| v >= COLD_GOAL),
        );
        let value = cold_ratio(r, at_1024);
        row(
            &format!("cold invocation over TLS: {name} @ 1,024 MB ÷ Rust @ 128 MB (median)"),
            "> 1× (faster)".into(),
            times(value),
            value.map(|v| v > 1.0),
        );
    }
    let fresh = warm(r, RUST_128, Scenario::Fresh).map(|s| s.cpu_us_per_message);
    row(
        "CPU per fresh message, Rust @ 128 MB, kept-alive TLS",
        format!("≤ {CPU_FRESH_GOAL_US:.0} µs"),
        us(fresh),
        fresh.map(|v| v <= CPU_FRESH_GOAL_US),
    );
    for (name, at_128, _) in POWERTOOLS {
        let value = cpu_ratio(r, at_128);
        row(
            &format!("CPU per fresh message: {name} ÷ Rust (both @ 128 MB, TLS)"),
            format!("≥ {CPU_RATIO_GOAL}× less"),
            times(value),
            value.map(|v| v >= CPU_RATIO_GOAL),
        );
    }
    let duplicate = warm(r, RUST_128, Scenario::Duplicate).map(|s| s.cpu_us_per_message);
    row(
        "CPU per duplicate message, Rust @ 128 MB, kept-alive TLS",
        format!("≤ {CPU_DUPLICATE_GOAL_US:.0} µs"),
        us(duplicate),
        duplicate.map(|v| v <= CPU_DUPLICATE_GOAL_US),
    );
    for (name, at_128, _) in POWERTOOLS {
        let value = warm_ratio(r, at_128, Scenario::Fresh);
        row(
            &format!("warm fresh batch of 10 @ 128 MB, latency model on: {name} ÷ Rust (median)"),
            format!("≥ {WARM_GOAL}× lower"),
            times(value),
            value.map(|v| v >= WARM_GOAL),
        );
    }
    let value = r.init_ratio("ticket-processor");
    row(
        "init of ticket-processor vs hello-world (section 1, median)",
        format!("≤ {INIT_GOAL}×"),
        times(value),
        value.map(|v| v <= INIT_GOAL),
    );
    let costs = cost_rows(r);
    let measured = costs
        .iter()
        .map(|c| format!("{} ${:.2}", c.label, c.total(LAMBDA_ARM_PER_GB_S)))
        .collect::<Vec<_>>()
        .join(", ");
    row(
        "cost per million tickets (arm64, section 8)",
        "reported".into(),
        if measured.is_empty() { "n/a".into() } else { measured },
        Some(!costs.is_empty()),
    );
    out
}

/// Why each unmet goal of issue 18 is not met, from the run's own figures.
pub fn shortfalls(r: &Results) -> String {
    let mut out = String::new();
    let share = SMALL_MB as f64 / emulation::cgroup::MEMORY_PER_VCPU_MB * 100.0;
    if let (Some(rust), Some(python)) = (cold(r, RUST_128), cold(r, POWERTOOLS_128))
        && cold_ratio(r, POWERTOOLS_128).is_some_and(|v| v < COLD_GOAL)
    {
        {
            let _ = writeln!(
                out,
                "- **Cold invocation: {} (goal ≥ {COLD_GOAL}×).** Rust @ 128 MB: init {:.0} ms + first batch {:.0} ms, \
                 {:.0} ms of CPU ({:.1} handshakes); Powertools @ 128 MB: init {:.0} ms + first batch {:.0} ms, {:.0} ms \
                 of CPU. At {share:.1}% of a CPU every CPU millisecond costs ~{:.0} ms of wall time, and the first \
                 batch also waits for the modelled service latencies, which both pay alike.",
                times(cold_ratio(r, POWERTOOLS_128)),
                rust.init_ms.median,
                rust.first_batch_ms.median,
                rust.cpu_ms.median,
                rust.handshakes,
                python.init_ms.median,
                python.first_batch_ms.median,
                python.cpu_ms.median,
                100.0 / share
            );
        }
    }
    if let Some(fresh) = warm(r, RUST_128, Scenario::Fresh)
        && fresh.cpu_us_per_message > CPU_FRESH_GOAL_US
    {
        {
            let _ = writeln!(
                out,
                "- **CPU per fresh message: {:.0} µs (goal ≤ {CPU_FRESH_GOAL_US:.0} µs).** 4 AWS calls per message \
                 (section 4): {:.0} µs per call, with the TLS connections kept alive ({} handshakes in the whole warm \
                 run). The CPU goes with the SDK calls, not the handler's own work (section 5's micro-benchmark).",
                fresh.cpu_us_per_message,
                fresh.cpu_us_per_message / 4.0,
                r.lambda.warm_handshakes
            );
        }
    }
    if let Some(duplicate) = warm(r, RUST_128, Scenario::Duplicate)
        && duplicate.cpu_us_per_message > CPU_DUPLICATE_GOAL_US
    {
        {
            let _ = writeln!(
                out,
                "- **CPU per duplicate message: {:.0} µs (goal ≤ {CPU_DUPLICATE_GOAL_US:.0} µs).** One AWS call per \
                 duplicate (the conditional PutItem that finds the record): the SDK call's own CPU.",
                duplicate.cpu_us_per_message
            );
        }
    }
    if let (Some(rust), Some(python)) = (
        warm(r, RUST_128, Scenario::Fresh),
        warm(r, POWERTOOLS_128, Scenario::Fresh),
    ) && warm_ratio(r, POWERTOOLS_128, Scenario::Fresh).is_some_and(|v| v < WARM_GOAL)
    {
        {
            let latency: f64 = r.lambda.model_p50_ms.iter().map(|(_, ms)| ms).sum();
            let _ = writeln!(
                out,
                "- **Warm batch @ 128 MB: {} (goal ≥ {WARM_GOAL}×).** Rust's batch takes {:.0} ms (median) for {:.1} ms \
                 of CPU, which at {share:.1}% of a CPU is ~{:.0} ms of wall time; one record's four calls wait {latency:.0} \
                 ms at the model's medians. Powertools' batch takes {:.0} ms for {:.1} ms of CPU (~{:.0} ms at its share).",
                times(warm_ratio(r, POWERTOOLS_128, Scenario::Fresh)),
                rust.wall_ms.median,
                rust.cpu_us_per_message * 10.0 / 1e3,
                rust.cpu_us_per_message * 10.0 / 1e3 * 100.0 / share,
                python.wall_ms.median,
                python.cpu_us_per_message * 10.0 / 1e3,
                python.cpu_us_per_message * 10.0 / 1e3 * 100.0 / share,
            );
        }
    }
    out
}

/// One contender's Lambda cost per million tickets.
pub struct CostRow {
    pub label: String,
    pub memory_mb: u32,
    /// Billed duration of a warm fresh batch of 10 (median, rounded up to the millisecond).
    pub billed_ms: f64,
}

impl CostRow {
    fn invocations(&self) -> f64 {
        1e6 / TICKETS_PER_BATCH
    }

    pub fn gb_seconds(&self) -> f64 {
        self.invocations() * self.billed_ms / 1e3 * self.memory_mb as f64 / 1024.0
    }

    pub fn duration(&self, price: f64) -> f64 {
        self.gb_seconds() * price
    }

    pub fn requests(&self) -> f64 {
        self.invocations() * LAMBDA_PER_REQUEST
    }

    /// Lambda (duration + requests) plus the AWS requests both contenders make alike.
    pub fn total(&self, price: f64) -> f64 {
        self.duration(price) + self.requests() + shared_per_million()
    }
}

/// DynamoDB, SQS and SES per million tickets: the same for both contenders.
pub fn shared_per_million() -> f64 {
    1e6 * (WRITE_UNITS_PER_TICKET * DYNAMODB_PER_WRITE_UNIT
        + SQS_REQUESTS_PER_TICKET * SQS_PER_REQUEST
        + EMAILS_PER_TICKET * SES_PER_EMAIL)
}

pub fn cost_rows(r: &Results) -> Vec<CostRow> {
    [
        (RUST_128, SMALL_MB),
        (POWERTOOLS_128, SMALL_MB),
        (POWERTOOLS_1024, LARGE_MB),
        (TS_128, SMALL_MB),
        (TS_1024, LARGE_MB),
    ]
    .into_iter()
    .filter_map(|(label, memory_mb)| {
        Some(CostRow {
            label: label.to_owned(),
            memory_mb,
            billed_ms: warm(r, label, Scenario::Fresh)?.wall_ms.median.ceil(),
        })
    })
    .collect()
}

/// Sections 6 (cold), 7 (warm) and 8 (cost).
pub fn sections(r: &Results) -> String {
    let mut out = String::new();
    let l = &r.lambda;
    let _ = writeln!(
        out,
        "## 6. As Lambda bills it: cold invocations over TLS at the CPU share\n\n\
         Contenders: ticket-processor at 128 MB (the template's memory); the Powertools (Python) handler of \
         section 2 and a Powertools for AWS Lambda (TypeScript) handler doing the same work \
         (`bench/typescript/ticket_handler.mjs`: `BatchProcessor`, records in parallel, `makeIdempotent` with the \
         DynamoDB persistence layer keyed on the messageId with payload validation, AWS SDK v3 \
         `TransactWriteItems` and `SendMessage`, one Powertools `Logger` line per record; run by `aws-lambda-ric` \
         on Node.js, with its own tables and queue), each at 128 MB and at 1,024 MB. \
         Every AWS call goes over TLS to the emulation toolkit's TLS front (`emulation::tls`: a CA made for the run, \
         RSA 2048 certificates, connections kept alive), then through its proxy with the limits model's latencies \
         (`emulation::limits`, production defaults) to moto. Each process runs in a CPU cgroup of its own \
         (`emulation::cgroup`) with its memory's share of one CPU:\n"
    );
    for share in &l.cpu_shares {
        let _ = writeln!(out, "- {share}");
    }
    let _ = writeln!(
        out,
        "\nThe processes trust the run's CA through environment only: `SSL_CERT_FILE` (the Rust SDK's default HTTPS \
         client reads its roots with rustls-native-certs, which takes that file instead of the system's store), \
         `AWS_CA_BUNDLE` (botocore, instead of certifi's bundle), `NODE_EXTRA_CA_CERTS` (Node.js). The file is the \
         system's root bundle with the run's CA appended, so each client parses as many roots as on Lambda.\n\n\
         A cold invocation: a new process, init (exec → first `GET …/invocation/next`) and its first batch of 10 fresh \
         requests, which opens a connection (and a TLS handshake) to each endpoint. {} runs of each contender, \
         taking turns. Milliseconds; *cold* = init + first batch, as Lambda bills them.\n",
        l.cold_runs
    );
    let _ = writeln!(
        out,
        "| contender | init median | first batch median | cold median | cold p95 | CPU median | handshakes | cold ÷ Rust |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for c in &l.cold {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | **{:.0}** | {:.0} | {:.0} | {:.1} | {} |",
            c.label,
            c.init_ms.median,
            c.first_batch_ms.median,
            c.cold_ms.median,
            c.cold_ms.p95,
            c.cpu_ms.median,
            c.handshakes,
            times(cold_ratio(r, &c.label))
        );
    }
    let _ = writeln!(
        out,
        "\n## 7. As Lambda bills it: warm batches at the CPU share, latency model on\n\n\
         One process per contender (the same TLS front, model and cgroups as section 6), {} warm-up batches \
         discarded, then {} measured per scenario, contenders interleaved. Wall time per batch is the billed \
         duration; CPU per message from the process's CPU clock. TLS handshakes over the whole warm run: {} \
         (connections kept alive).\n",
        r.settings.lambda_warmup, r.settings.lambda_batches, l.warm_handshakes
    );
    let _ = writeln!(
        out,
        "| scenario | contender | median ms | p95 ms | CPU µs/message | Powertools @ 128 MB ÷ this (wall) |\n\
         |---|---|---|---|---|---|"
    );
    for scenario in [Scenario::Fresh, Scenario::Duplicate] {
        for s in l.warm.scenarios.iter().filter(|s| s.scenario == scenario) {
            let versus = warm(r, POWERTOOLS_128, scenario).and_then(|p| ratio(p.wall_ms.median, s.wall_ms.median));
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {:.0} | {} |",
                scenario.as_str(),
                s.label,
                s.wall_ms.median,
                s.wall_ms.p95,
                s.cpu_us_per_message,
                times(versus)
            );
        }
    }
    let p50s = l
        .model_p50_ms
        .iter()
        .map(|(op, ms)| format!("{op} {ms:.1} ms"))
        .collect::<Vec<_>>()
        .join(", ");
    let (admitted, conflicts) = l.warm_transactions;
    let _ = writeln!(
        out,
        "\nThe model's median latencies of the calls made: {p50s}. Every fresh record's transaction increments its \
         event's one counter item, and the model lets one transaction at a time hold an item (as DynamoDB cancels \
         concurrent ones with `TransactionConflict`): a handler that runs a batch's records concurrently (ticket-processor, \
         Powertools TypeScript's `BatchProcessor`) has its transactions cancelled and retried, one that runs them in turn \
         (Powertools Python's) never. Over the warm run the model admitted {admitted} TransactWriteItems and cancelled \
         {conflicts} for a conflict.\n"
    );
    out.push_str(&cost_section(r));
    out.push_str(&levers_section(r));
    out
}

/// Each lever beside ticket-processor as built and configured: the same runs, the same
/// cgroups, in the same turns.
fn levers_section(r: &Results) -> String {
    let mut out = String::new();
    let levers: Vec<&ColdResult> = r.lambda.cold.iter().filter(|c| c.label.contains(" [")).collect();
    if levers.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "## 9. Levers

         ticket-processor changed in one respect, run in sections 6 and 7's turns beside it (the same TLS front,          model and 128 MB cgroup). *roots: the run's CA only*: `SSL_CERT_FILE` names a file with the run's CA alone,          so the SDK parses 1 root instead of the system's bundle: what compiled-in roots holding only the needed          CAs would save (webpki-roots' full set would parse as many as the system's). *log level WARN*:          `AWS_LAMBDA_LOG_LEVEL=WARN`, so the per-record INFO line is filtered out: the cost of the line and its          filter. Others are ticket-processor built otherwise (`bench --lever WHAT=PATH`). Δ against          `{RUST_128}`; negative is better.
"
    );
    let _ = writeln!(
        out,
        "| lever | init median ms | cold median ms | Δ cold | CPU µs/fresh message | Δ CPU | CPU µs/duplicate | Δ CPU |
         |---|---|---|---|---|---|---|---|"
    );
    let base = cold(r, RUST_128);
    let base_fresh = warm(r, RUST_128, Scenario::Fresh).map(|s| s.cpu_us_per_message);
    let base_duplicate = warm(r, RUST_128, Scenario::Duplicate).map(|s| s.cpu_us_per_message);
    let delta = |value: f64, base: Option<f64>| {
        base.filter(|b| *b > 0.0)
            .map(|b| format!("{:+.0}%", (value - b) / b * 100.0))
            .unwrap_or_else(|| "n/a".into())
    };
    for lever in levers {
        let fresh = warm(r, &lever.label, Scenario::Fresh).map(|s| s.cpu_us_per_message);
        let duplicate = warm(r, &lever.label, Scenario::Duplicate).map(|s| s.cpu_us_per_message);
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.0} | {} | {} | {} | {} | {} |",
            lever.label,
            lever.init_ms.median,
            lever.cold_ms.median,
            delta(lever.cold_ms.median, base.map(|b| b.cold_ms.median)),
            us(fresh),
            fresh.map(|v| delta(v, base_fresh)).unwrap_or_else(|| "n/a".into()),
            us(duplicate),
            duplicate
                .map(|v| delta(v, base_duplicate))
                .unwrap_or_else(|| "n/a".into()),
        );
    }
    let _ = writeln!(out);
    out
}

fn cost_section(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## 8. Cost per million tickets\n\n\
         Lambda's duration is each contender's warm fresh batch of 10 (section 7's median, rounded up to the \
         millisecond as Lambda bills) × 100,000 invocations at its memory. Prices, us-east-1: Lambda ${:.10} per \
         GB-s (x86_64), ${:.10} per GB-s (arm64), $0.20 per million requests; DynamoDB on-demand $0.625 per million \
         write request units; SQS standard $0.40 per million requests; SES $0.10 per 1,000 emails (AWS's pricing \
         pages, first tiers, no free tier; read in December 2026). Both contenders make the same AWS requests per \
         ticket: {WRITE_UNITS_PER_TICKET} DynamoDB write units (idempotency PutItem and UpdateItem, the \
         ticket-and-counter transaction at 2 units per item), {SQS_REQUESTS_PER_TICKET} SQS requests (SendMessage, \
         and the event source mappings' receive and delete per batch of 10 on both queues), 1 email: ${:.2} per \
         million tickets, which the notification-sender's own Lambda time (not counted) would add to alike. Cold \
         invocations are left out (one per execution environment, not per batch).\n",
        LAMBDA_X86_PER_GB_S,
        LAMBDA_ARM_PER_GB_S,
        shared_per_million()
    );
    let _ = writeln!(
        out,
        "| contender | memory | billed ms per batch | GB-s | Lambda x86_64 | Lambda arm64 | Lambda requests | DynamoDB + SQS + SES | total x86_64 | total arm64 |\n\
         |---|---|---|---|---|---|---|---|---|---|"
    );
    for c in cost_rows(r) {
        let _ = writeln!(
            out,
            "| {} | {} MB | {:.0} | {:.0} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** | **${:.2}** |",
            c.label,
            c.memory_mb,
            c.billed_ms,
            c.gb_seconds(),
            c.duration(LAMBDA_X86_PER_GB_S),
            c.duration(LAMBDA_ARM_PER_GB_S),
            c.requests(),
            shared_per_million(),
            c.total(LAMBDA_X86_PER_GB_S),
            c.total(LAMBDA_ARM_PER_GB_S)
        );
    }
    let _ = writeln!(out);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::batch_run::BatchRunResult;
    use crate::lambda_like::LambdaResults;
    use crate::stats::Summary;

    fn cold_result(label: &str, memory_mb: u32, cold_ms: f64) -> ColdResult {
        let one = |v: f64| Summary::of(&[v]).unwrap();
        ColdResult {
            label: label.into(),
            memory_mb,
            init_ms: one(cold_ms / 4.0),
            first_batch_ms: one(cold_ms * 3.0 / 4.0),
            cold_ms: one(cold_ms),
            cpu_ms: one(cold_ms / 20.0),
            handshakes: 2.0,
        }
    }

    fn warm_result(label: &str, scenario: Scenario, wall_ms: f64, cpu_us: f64) -> ScenarioResult {
        ScenarioResult {
            label: label.into(),
            scenario,
            batches: 1,
            messages: 10,
            wall_ms: Summary::of(&[wall_ms]).unwrap(),
            cpu_us_per_message: cpu_us,
            stat_cpu_us_per_message: cpu_us,
            in_batch_cpu_us_per_message: cpu_us,
        }
    }

    /// Rust @ 128 MB: cold 100 ms, warm fresh 50 ms at 400 µs a message; Python 15× slower
    /// cold, 4× slower warm; TypeScript 8× slower cold.
    pub(crate) fn lambda_results() -> LambdaResults {
        LambdaResults {
            cpu_shares: vec!["7.2%".into()],
            memory_mb: vec![(RUST_128.into(), 128)],
            cold_runs: 1,
            cold: vec![
                cold_result(RUST_128, 128, 100.0),
                cold_result(POWERTOOLS_128, 128, 1500.0),
                cold_result(POWERTOOLS_1024, 1024, 300.0),
                cold_result(TS_128, 128, 800.0),
                cold_result(TS_1024, 1024, 90.0),
            ],
            warm: BatchRunResult {
                scenarios: vec![
                    warm_result(RUST_128, Scenario::Fresh, 50.0, 400.0),
                    warm_result(RUST_128, Scenario::Duplicate, 10.0, 300.0),
                    warm_result(POWERTOOLS_128, Scenario::Fresh, 200.0, 6000.0),
                    warm_result(POWERTOOLS_1024, Scenario::Fresh, 60.0, 6000.0),
                    warm_result(TS_128, Scenario::Fresh, 300.0, 3000.0),
                    warm_result(TS_1024, Scenario::Fresh, 60.0, 3000.0),
                ],
                peak_rss_kib: Vec::new(),
                fresh_messages: Vec::new(),
            },
            warm_handshakes: 4,
            model_p50_ms: vec![("DynamoDB.PutItem".into(), 5.0)],
            warm_transactions: (10, 2),
        }
    }

    #[test]
    fn each_goal_of_issue_18_is_judged_from_the_runs_figures() {
        let rows = goal_rows(&crate::report::tests::sample());
        let row = |needle: &str| {
            rows.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no row with {needle}:\n{rows}"))
                .to_owned()
        };
        assert!(row("Powertools (Python) @ 128 MB ÷ Rust").ends_with("| 15.0× | met |"));
        assert!(row("Powertools (TypeScript) @ 128 MB ÷ Rust").ends_with("| 8.0× | **not met** |"));
        assert!(row("Powertools (TypeScript) @ 1,024 MB").ends_with("| 0.9× | **not met** |"));
        assert!(row("CPU per fresh message, Rust").ends_with("| 400 µs | met |"));
        assert!(row("CPU per duplicate message, Rust").ends_with("| 300 µs | **not met** |"));
        assert!(row("latency model on: Powertools (Python)").ends_with("| 4.0× | **not met** |"));
        // 100,000 invocations × 0.05 s × 0.125 GB × arm64's price, + requests + the shared AWS costs.
        let cost = 100_000.0 * 0.05 * 0.125 * LAMBDA_ARM_PER_GB_S + 0.02 + shared_per_million();
        assert!(row("cost per million tickets").contains(&format!("ticket-processor @ 128 MB ${cost:.2}")));
    }

    #[test]
    fn a_batch_of_ten_at_128_mb_for_100_ms_costs_what_lambdas_prices_say() {
        let row = CostRow {
            label: "x".into(),
            memory_mb: 128,
            billed_ms: 100.0,
        };
        // 100,000 invocations × 0.1 s × 0.125 GB = 1,250 GB-s.
        assert!((row.gb_seconds() - 1250.0).abs() < 1e-9);
        assert!((row.duration(LAMBDA_X86_PER_GB_S) - 0.020_833_375).abs() < 1e-9);
        assert!((row.requests() - 0.02).abs() < 1e-12);
        // 6 × $0.625 + 1.4 × $0.40 + 1,000 × $0.10.
        assert!((shared_per_million() - (3.75 + 0.56 + 100.0)).abs() < 1e-9);
    }
}
