//! The report's part for issue 18 (performance as Lambda bills it): its goal rows, why a goal is
//! not met, the cold and warm sections and the cost per million tickets.

use crate::batch_run::{Scenario, ScenarioResult};
use crate::lambda_like::{ColdResult, LARGE_MB, SMALL_MB};
use crate::report_rows::{Context, Goal, value};
use crate::results::Results;
use emulation::stats::ratio;

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

/// Rows of the goals table (issue 18).
pub fn goal_rows(r: &Results) -> Vec<Goal> {
    let mut out = Vec::new();
    let mut row = |goal: &str, target: String, measured: String, met: Option<bool>| {
        out.push(Goal::new(18, goal, target, measured, met));
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
pub fn shortfalls(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    let share = SMALL_MB as f64 / emulation::cgroup::MEMORY_PER_VCPU_MB * 100.0;
    if let (Some(rust), Some(python)) = (cold(r, RUST_128), cold(r, POWERTOOLS_128))
        && cold_ratio(r, POWERTOOLS_128).is_some_and(|v| v < COLD_GOAL)
    {
        {
            out.push(format!(
                "**Cold invocation: {} (goal ≥ {COLD_GOAL}×).** Rust @ 128 MB: init {:.0} ms + first batch {:.0} ms, \
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
            ));
        }
    }
    if let Some(fresh) = warm(r, RUST_128, Scenario::Fresh)
        && fresh.cpu_us_per_message > CPU_FRESH_GOAL_US
    {
        {
            out.push(format!(
                "**CPU per fresh message: {:.0} µs (goal ≤ {CPU_FRESH_GOAL_US:.0} µs).** 4 AWS calls per message \
                 (section 4): {:.0} µs per call, with the TLS connections kept alive ({} handshakes in the whole warm \
                 run). The CPU goes with the SDK calls, not the handler's own work (section 5's micro-benchmark).",
                fresh.cpu_us_per_message,
                fresh.cpu_us_per_message / 4.0,
                r.lambda.warm_handshakes
            ));
        }
    }
    if let Some(duplicate) = warm(r, RUST_128, Scenario::Duplicate)
        && duplicate.cpu_us_per_message > CPU_DUPLICATE_GOAL_US
    {
        {
            out.push(format!(
                "**CPU per duplicate message: {:.0} µs (goal ≤ {CPU_DUPLICATE_GOAL_US:.0} µs).** One AWS call per \
                 duplicate (the conditional PutItem that finds the record): the SDK call's own CPU.",
                duplicate.cpu_us_per_message
            ));
        }
    }
    if let (Some(rust), Some(python)) = (
        warm(r, RUST_128, Scenario::Fresh),
        warm(r, POWERTOOLS_128, Scenario::Fresh),
    ) && warm_ratio(r, POWERTOOLS_128, Scenario::Fresh).is_some_and(|v| v < WARM_GOAL)
    {
        {
            let latency: f64 = r.lambda.model_p50_ms.iter().map(|(_, ms)| ms).sum();
            out.push(format!(
                "**Warm batch @ 128 MB: {} (goal ≥ {WARM_GOAL}×).** Rust's batch takes {:.0} ms (median) for {:.1} ms \
                 of CPU, which at {share:.1}% of a CPU is ~{:.0} ms of wall time; one record's four calls wait {latency:.0} \
                 ms at the model's medians. Powertools' batch takes {:.0} ms for {:.1} ms of CPU (~{:.0} ms at its share).",
                times(warm_ratio(r, POWERTOOLS_128, Scenario::Fresh)),
                rust.wall_ms.median,
                rust.cpu_us_per_message * 10.0 / 1e3,
                rust.cpu_us_per_message * 10.0 / 1e3 * 100.0 / share,
                python.wall_ms.median,
                python.cpu_us_per_message * 10.0 / 1e3,
                python.cpu_us_per_message * 10.0 / 1e3 * 100.0 / share,
            ));
        }
    }
    if let Some(value) = r.init_ratio("ticket-processor").filter(|v| *v > INIT_GOAL) {
        out.push(init_shortfall(r, value));
    }
    out
}

/// Why ticket-processor's init is over [`INIT_GOAL`]× hello-world's: its warm-up call, measured
/// by the run without it, and what remains.
fn init_shortfall(r: &Results, value: f64) -> String {
    let median = |label: &str| r.init(label).map(|i| i.init_ms.median);
    let mut text = format!("**Init of ticket-processor: {value:.1}× hello-world (goal ≤ {INIT_GOAL}×).**");
    if let (Some(with), Some(without), Some(hello)) = (
        median("ticket-processor"),
        median(crate::results::NO_WARM_UP),
        median(crate::results::BASELINE),
    ) {
        text.push_str(&format!(
            " Its warm-up GetItem (a round trip to the emulator, here moto over plain HTTP on a whole CPU) is {:.1} ms \
             of its {with:.1} ms; without it (`WARM_UP_AT_INIT=off`) init is {without:.1} ms, {} hello-world's \
             {hello:.1} ms. The warm-up moves the first connection's handshake out of the first batch: section 9 \
             shows what that does to the cold invocation as a whole, which is what Lambda bills.",
            with - without,
            times(ratio(without, hello)),
        ));
    }
    text
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

/// Sections 6 (cold), 7 (warm), 8 (cost) and 9 (levers).
pub fn context(r: &Results) -> Context {
    let l = &r.lambda;
    let cold_rows: Vec<Vec<String>> = l
        .cold
        .iter()
        .map(|c| {
            vec![
                c.label.clone(),
                format!("{:.0}", c.init_ms.median),
                format!("{:.0}", c.first_batch_ms.median),
                format!("**{:.0}**", c.cold_ms.median),
                format!("{:.0}", c.cold_ms.p95),
                format!("{:.0}", c.cpu_ms.median),
                format!("{:.1}", c.handshakes),
                times(cold_ratio(r, &c.label)),
            ]
        })
        .collect();
    let mut warm_rows = Vec::new();
    for scenario in [Scenario::Fresh, Scenario::Duplicate] {
        for s in l.warm.scenarios.iter().filter(|s| s.scenario == scenario) {
            let versus = warm(r, POWERTOOLS_128, scenario).and_then(|p| ratio(p.wall_ms.median, s.wall_ms.median));
            warm_rows.push(vec![
                scenario.as_str().to_owned(),
                s.label.clone(),
                format!("{:.1}", s.wall_ms.median),
                format!("{:.1}", s.wall_ms.p95),
                format!("{:.0}", s.cpu_us_per_message),
                times(versus),
            ]);
        }
    }
    let p50s: Vec<String> = l
        .model_p50_ms
        .iter()
        .map(|(op, ms)| format!("{op} {ms:.1} ms"))
        .collect();
    let (admitted, conflicts) = l.warm_transactions;
    Context::from([
        ("lambda", value(l)),
        ("cold", value(cold_rows)),
        ("warm", value(warm_rows)),
        ("model_p50s", value(p50s.join(", "))),
        (
            "transactions",
            value(std::collections::BTreeMap::from([
                ("admitted", admitted),
                ("conflicts", conflicts),
            ])),
        ),
        (
            "prices",
            value(std::collections::BTreeMap::from([
                ("x86", format!("{LAMBDA_X86_PER_GB_S:.10}")),
                ("arm", format!("{LAMBDA_ARM_PER_GB_S:.10}")),
                ("write_units", WRITE_UNITS_PER_TICKET.to_string()),
                ("sqs_requests", SQS_REQUESTS_PER_TICKET.to_string()),
                ("shared", format!("{:.2}", shared_per_million())),
            ])),
        ),
        ("costs", value(cost_table(r))),
        ("levers", value(lever_rows(r))),
        ("rust_128", value(RUST_128)),
    ])
}

/// Each lever beside ticket-processor as built and configured: the same runs, the same
/// cgroups, in the same turns.
fn lever_rows(r: &Results) -> Vec<Vec<String>> {
    let base = cold(r, RUST_128);
    let base_fresh = warm(r, RUST_128, Scenario::Fresh).map(|s| s.cpu_us_per_message);
    let base_duplicate = warm(r, RUST_128, Scenario::Duplicate).map(|s| s.cpu_us_per_message);
    let delta = |value: Option<f64>, base: Option<f64>| match (value, base.filter(|b| *b > 0.0)) {
        (Some(v), Some(b)) => format!("{:+.0}%", (v - b) / b * 100.0),
        _ => "n/a".into(),
    };
    r.lambda
        .cold
        .iter()
        .filter(|c| c.label.contains(" ["))
        .map(|lever| {
            let fresh = warm(r, &lever.label, Scenario::Fresh).map(|s| s.cpu_us_per_message);
            let duplicate = warm(r, &lever.label, Scenario::Duplicate).map(|s| s.cpu_us_per_message);
            vec![
                lever.label.clone(),
                format!("{:.1}", lever.init_ms.median),
                format!("{:.0}", lever.cold_ms.median),
                delta(Some(lever.cold_ms.median), base.map(|b| b.cold_ms.median)),
                format!("{:.1}", lever.handshakes),
                us(fresh),
                delta(fresh, base_fresh),
                us(duplicate),
                delta(duplicate, base_duplicate),
            ]
        })
        .collect()
}

fn cost_table(r: &Results) -> Vec<Vec<String>> {
    cost_rows(r)
        .iter()
        .map(|c| {
            vec![
                c.label.clone(),
                format!("{} MB", c.memory_mb),
                format!("{:.0}", c.billed_ms),
                format!("{:.0}", c.gb_seconds()),
                format!("${:.2}", c.duration(LAMBDA_X86_PER_GB_S)),
                format!("${:.2}", c.duration(LAMBDA_ARM_PER_GB_S)),
                format!("${:.2}", c.requests()),
                format!("${:.2}", shared_per_million()),
                format!("**${:.2}**", c.total(LAMBDA_X86_PER_GB_S)),
                format!("**${:.2}**", c.total(LAMBDA_ARM_PER_GB_S)),
            ]
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::batch_run::BatchRunResult;
    use crate::lambda_like::LambdaResults;
    use emulation::stats::Summary;

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

    const LEVER_128: &str = "ticket-processor [mimalloc] @ 128 MB";

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
                cold_result(LEVER_128, 128, 90.0),
            ],
            warm: BatchRunResult {
                scenarios: vec![
                    warm_result(RUST_128, Scenario::Fresh, 50.0, 400.0),
                    warm_result(RUST_128, Scenario::Duplicate, 10.0, 300.0),
                    warm_result(POWERTOOLS_128, Scenario::Fresh, 200.0, 6000.0),
                    warm_result(POWERTOOLS_1024, Scenario::Fresh, 60.0, 6000.0),
                    warm_result(TS_128, Scenario::Fresh, 300.0, 3000.0),
                    warm_result(TS_1024, Scenario::Fresh, 60.0, 3000.0),
                    warm_result(LEVER_128, Scenario::Fresh, 45.0, 300.0),
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
        let rows: String = goal_rows(&crate::report::tests::sample())
            .iter()
            .map(|g| format!("| {} | {} | {} | {} |\n", g.goal, g.target, g.measured, g.status))
            .collect();
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
    fn every_section_is_rendered_from_the_runs_results() {
        let report = crate::report::render(&crate::report::tests::sample()).unwrap();
        for heading in [
            "## Goals",
            "## Machine and versions",
            "## Method",
            "## 1. Init",
            "### Init breakdown",
            "## 2. Batch latency and CPU",
            "## 3. Memory",
            "## 4. Round trips",
            "### Where a batch's time goes",
            "## 5. Micro-benchmark",
            "## 6. As Lambda bills it: cold invocations",
            "## 7. As Lambda bills it: warm batches",
            "## 8. Cost per million tickets",
            "## 9. Levers",
        ] {
            assert!(report.contains(&format!("\n{heading}")), "no {heading:?} in:\n{report}");
        }
        // A lever's row: its figures and their change against ticket-processor @ 128 MB.
        assert!(
            report.contains(
                "| ticket-processor [mimalloc] @ 128 MB | 22.5 | 90 | -10% | 2.0 | 300 µs | -25% | n/a | n/a |"
            ),
            "{report}"
        );
        assert!(!report.contains("\n\n\n"), "no runs of blank lines:\n{report}");
        assert!(
            !report.contains("{{") && !report.contains("{%"),
            "every placeholder filled:\n{report}"
        );
    }

    /// A `results.json` as `bench` writes it (`$CARGO_TARGET_DIR/bench-logs/results.json`), read
    /// back as `bench --render` reads it.
    #[test]
    fn a_runs_results_file_renders_every_section() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/results.json");
        let results: Results = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let report = crate::report::render(&results).unwrap();
        for section in [
            "## Goals",
            "## 1. Init",
            "## 4. Round trips",
            "## 6. As Lambda",
            "## 8. Cost",
            "## 9. Levers",
        ] {
            assert!(report.contains(section), "no {section:?} in:\n{report}");
        }
        // Every contender of the run has its cold row, every lever its row in section 9.
        for cold in &results.lambda.cold {
            assert!(
                report.contains(&format!("| {} | ", cold.label)),
                "no row for {}",
                cold.label
            );
        }
        assert!(
            !report.contains("{{") && !report.contains("{%"),
            "every placeholder filled"
        );
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
