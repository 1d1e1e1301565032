//! BENCHMARKS.md, rendered from one run's results. Every figure in it comes from [`Results`];
//! the text around them says how they were measured and which goals they meet.

use std::fmt::Write;

use crate::BenchError;
use crate::batch_run::Scenario;
use crate::init_time::InitResult;
use crate::lambda_report;
use emulation::stats::ratio;

pub use crate::report_rows::Goal;
use crate::report_rows::{Context, status, value};
pub use crate::results::{BASELINE, IssuedCheck, NO_WARM_UP, PYTHON, RUST, Results, Settings, WORKERS};

/// The init-probe runs, each doing these parts of a worker's init (see bench/init-probe).
pub const INIT_PROBE_PARTS: [&str; 5] = ["", "logging", "sdk", "sdk,clients", "logging,sdk,clients"];

/// The label of the init-probe run doing `parts`.
pub fn probe_label(parts: &str) -> String {
    if parts.is_empty() {
        "init-probe: runtime only".to_owned()
    } else {
        format!("init-probe: {}", parts.replace(',', " + "))
    }
}

fn is_probe(label: &str) -> bool {
    label.starts_with("init-probe:")
}

/// The goals of issue 9.
pub const INIT_GOAL: f64 = 1.3;
pub const LATENCY_GOAL: f64 = 5.0;
pub const CPU_GOAL: f64 = 20.0;
pub const RSS_GOAL_MB: f64 = 32.0;

fn times(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}×")).unwrap_or_else(|| "n/a".into())
}

fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

/// The report's template (minijinja): the document's text and tables, filled with the run's figures.
pub const TEMPLATE: &str = include_str!("../templates/BENCHMARKS.md.j2");

/// The whole report: [`TEMPLATE`] rendered with the run's figures.
pub fn render(results: &Results) -> Result<String, BenchError> {
    let mut environment = minijinja::Environment::new();
    environment.set_trim_blocks(true);
    environment.set_keep_trailing_newline(true);
    let template_error = |e: minijinja::Error| BenchError::check("bench/templates/BENCHMARKS.md.j2", e);
    environment
        .add_template("BENCHMARKS.md", TEMPLATE)
        .map_err(template_error)?;
    let mut context = context(results);
    context.extend(lambda_report::context(results));
    let rendered = environment
        .get_template("BENCHMARKS.md")
        .and_then(|template| template.render(minijinja::Value::from_serialize(&context)))
        .map_err(template_error)?;
    // Blank lines where an empty section left two.
    Ok(rendered.replace("\n\n\n", "\n\n"))
}

/// Sections 1-5, the goals of issue 9 and the document's parts around them.
fn context(r: &Results) -> Context {
    let mut goals = goals(r);
    goals.extend(lambda_report::goal_rows(r));
    let mut shortfall_items = shortfalls(r);
    shortfall_items.extend(lambda_report::shortfalls(r));
    let issued: Vec<String> = r
        .issued
        .iter()
        .map(|c| format!("{} issued {} tickets", c.label, c.tickets))
        .collect();
    Context::from([
        ("goals", value(goals)),
        ("shortfalls", value(shortfall_items)),
        ("machine", value(machine_rows(r))),
        ("settings", value(&r.settings)),
        ("issued", value(issued.join(", "))),
        ("shards", value(crate::bench_stack::EVENT_SHARDS)),
        ("no_warm_up", value(NO_WARM_UP)),
        ("init", value(init_rows(r))),
        ("breakdown", value(breakdown_rows(r))),
        ("tick_ms", value(1000 / r.machine.clock_ticks_per_second.max(1))),
        ("batches", value(batch_rows(r))),
        ("memory", value(memory_rows(r))),
        ("micro", value(micro_rows(r))),
    ])
    .into_iter()
    .chain(round_trip_context(r))
    .collect()
}

/// The goals of issue 9 (sections 1-5).
fn goals(r: &Results) -> Vec<Goal> {
    let mut goals = Vec::new();
    for worker in WORKERS {
        let value = r.init_ratio(worker);
        goals.push(Goal::new(
            9,
            format!("init of {worker} vs hello-world (median)"),
            format!("≤ {INIT_GOAL}×"),
            times(value),
            value.map(|v| v <= INIT_GOAL),
        ));
    }
    for scenario in [Scenario::Fresh, Scenario::Duplicate] {
        let value = r.latency_ratio(scenario);
        goals.push(Goal::new(
            9,
            format!("batch latency, {}: Powertools ÷ Rust (median)", scenario.as_str()),
            format!("≥ {LATENCY_GOAL}× lower"),
            times(value),
            value.map(|v| v >= LATENCY_GOAL),
        ));
    }
    for scenario in [Scenario::Fresh, Scenario::Duplicate] {
        let value = r.cpu_ratio(scenario);
        goals.push(Goal::new(
            9,
            format!("CPU per message, {}: Powertools ÷ Rust", scenario.as_str()),
            format!("≥ {CPU_GOAL}× less"),
            times(value),
            value.map(|v| v >= CPU_GOAL),
        ));
    }
    let rss = r.peak_rss_mb(RUST);
    goals.push(Goal::new(
        9,
        "peak RSS of ticket-processor over the batch run",
        format!("≤ {RSS_GOAL_MB} MB"),
        optional(rss, |v| format!("{v:.1} MB")),
        rss.map(|v| v <= RSS_GOAL_MB),
    ));
    let writes = r.idempotency_writes(RUST, Scenario::Fresh);
    goals.push(Goal::new(
        9,
        "idempotency writes per fresh message",
        "2",
        optional(writes, |v| format!("{v:.2}")),
        writes.map(|v| (v - 2.0).abs() < 1e-9),
    ));
    let reads = r.reads(RUST, Scenario::Duplicate);
    let calls = r.total_calls(RUST, Scenario::Duplicate);
    goals.push(Goal::new(
        9,
        "reads per duplicate message (calls in all)",
        "0",
        format!(
            "{} ({} calls)",
            optional(reads, |v| format!("{v:.2}")),
            optional(calls, |v| format!("{v:.2}"))
        ),
        reads.map(|v| v == 0.0),
    ));
    goals
}

fn optional(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map(format).unwrap_or_else(|| "n/a".into())
}

fn machine_rows(r: &Results) -> Vec<(&'static str, String)> {
    let m = &r.machine;
    vec![
        ("cores (`nproc`)", m.cores.to_string()),
        ("CPU", m.cpu_model.clone()),
        ("memory", m.memory.clone()),
        ("kernel", m.kernel.clone()),
        ("CLK_TCK", m.clock_ticks_per_second.to_string()),
        ("rustc", m.rustc.clone()),
        ("cargo-lambda", m.cargo_lambda.clone()),
        ("Python", m.python.clone()),
        ("moto", m.moto.clone()),
        ("aws-lambda-powertools", m.powertools.clone()),
        ("awslambdaric", m.awslambdaric.clone()),
        ("boto3", m.boto3.clone()),
        ("load average at start (1, 5, 15 min)", m.load_average.clone()),
        ("load average at end", r.load_average_at_end.clone()),
    ]
}

fn init_rows(r: &Results) -> Vec<Vec<String>> {
    r.init
        .iter()
        .filter(|i| !is_probe(&i.label))
        .map(|result| {
            vec![
                result.label.clone(),
                ms(result.init_ms.median),
                ms(result.init_ms.p95),
                ms(result.init_ms.min),
                ms(result.init_ms.max),
                times(r.init_ratio(&result.label)),
                format!("{:.1} MB", result.rss_after_init_kib as f64 / 1024.0),
            ]
        })
        .collect()
}

/// Section 1's breakdown: the init-probe runs, each part of a worker's init on its own.
fn breakdown_rows(r: &Results) -> Vec<Vec<String>> {
    let probes: Vec<&InitResult> = r.init.iter().filter(|i| is_probe(&i.label)).collect();
    let Some(base) = probes.first() else {
        return Vec::new();
    };
    let hello = r.init(BASELINE);
    probes
        .iter()
        .map(|probe| {
            vec![
                probe.label.trim_start_matches("init-probe: ").to_owned(),
                ms(probe.init_ms.median),
                ms(probe.init_ms.p95),
                format!("{:+.2}", probe.init_ms.median - base.init_ms.median),
                times(hello.and_then(|h| ratio(probe.init_ms.median, h.init_ms.median))),
            ]
        })
        .collect()
}

fn batch_rows(r: &Results) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for scenario in [Scenario::Fresh, Scenario::Duplicate] {
        for label in [RUST, PYTHON] {
            if let Some(result) = r.scenario(label, scenario) {
                let w = &result.wall_ms;
                rows.push(vec![
                    scenario.as_str().to_owned(),
                    label.to_owned(),
                    ms(w.median),
                    ms(w.p95),
                    ms(w.mean),
                    ms(w.min),
                    ms(w.max),
                    format!("{:.0}", result.cpu_us_per_message),
                    format!("{:.0}", result.stat_cpu_us_per_message),
                ]);
            }
        }
        rows.push(vec![
            scenario.as_str().to_owned(),
            "**Powertools ÷ Rust**".to_owned(),
            format!("**{}**", times(r.latency_ratio(scenario))),
            format!("**{}**", times(r.p95_ratio(scenario))),
            String::new(),
            String::new(),
            String::new(),
            format!("**{}**", times(r.cpu_ratio(scenario))),
            String::new(),
        ]);
    }
    rows
}

fn memory_rows(r: &Results) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = r
        .batches
        .peak_rss_kib
        .iter()
        .map(|(label, kib)| {
            let mb = *kib as f64 / 1024.0;
            let goal = if label == RUST {
                format!("≤ {RSS_GOAL_MB} MB: {}", status(Some(mb <= RSS_GOAL_MB)))
            } else {
                "(reference)".to_owned()
            };
            vec![label.clone(), format!("{mb:.1} MB"), goal]
        })
        .collect();
    if let (Some(rust), Some(python)) = (r.peak_rss_mb(RUST), r.peak_rss_mb(PYTHON)) {
        rows.push(vec![
            "**Powertools ÷ Rust**".to_owned(),
            format!("**{}**", times(ratio(python, rust))),
            String::new(),
        ]);
    }
    rows
}

/// Section 4: calls per message by operation, and where a batch's time goes.
fn round_trip_context(r: &Results) -> Context {
    let mut operations: Vec<&String> = r.round_trips.iter().flat_map(|t| t.calls_per_message.keys()).collect();
    operations.sort();
    operations.dedup();
    let calls: Vec<Vec<String>> = r
        .round_trips
        .iter()
        .map(|result| {
            let mut row = vec![result.label.clone(), result.scenario.as_str().to_owned()];
            for op in &operations {
                row.push(trim(result.calls_per_message.get(*op).copied().unwrap_or(0.0)));
            }
            row.push(trim(result.calls_per_message.values().sum()));
            row
        })
        .collect();
    let time_split: Vec<Vec<String>> = r
        .round_trips
        .iter()
        .map(|result| {
            vec![
                result.label.clone(),
                result.scenario.as_str().to_owned(),
                ms(result.wall_ms.median),
                ms(result.emulator_ms.median),
                ms(result.handler_ms.median),
                format!(
                    "{:.0}%",
                    100.0 * result.handler_ms.median / result.wall_ms.median.max(f64::MIN_POSITIVE)
                ),
                format!("{:.0}", result.cpu_us_per_message),
                trim(result.connections_per_message),
            ]
        })
        .collect();
    let handler_ratios: Vec<(&str, String)> = [Scenario::Fresh, Scenario::Duplicate]
        .into_iter()
        .filter_map(|scenario| {
            let (rust, python) = (r.round_trip(RUST, scenario)?, r.round_trip(PYTHON, scenario)?);
            Some((
                scenario.as_str(),
                times(ratio(python.handler_ms.median, rust.handler_ms.median)),
            ))
        })
        .collect();
    Context::from([
        ("operations", value(operations)),
        ("round_trips", value(calls)),
        ("time_split", value(time_split)),
        ("handler_ratios", value(handler_ratios)),
    ])
}

fn micro_rows(r: &Results) -> Vec<Vec<String>> {
    r.micro
        .iter()
        .map(|micro| {
            vec![
                micro.function.clone(),
                format!("{:.2} µs", micro.median_ns / 10.0 / 1e3),
                format!(
                    "{:.2}–{:.2} µs",
                    micro.lower_ns / 10.0 / 1e3,
                    micro.upper_ns / 10.0 / 1e3
                ),
                format!("{:.1} µs", micro.median_ns / 1e3),
            ]
        })
        .collect()
}

fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Each goal of issue 9 not met, with what this run measured about its cause.
fn shortfalls(r: &Results) -> Vec<String> {
    let mut items = Vec::new();
    for worker in WORKERS {
        if let Some(value) = r.init_ratio(worker).filter(|v| *v > INIT_GOAL) {
            items.push(format!(
                "**Init of {worker}: {value:.2}× hello-world (goal ≤ {INIT_GOAL}×).** {}",
                init_cause(r, worker)
            ));
        }
    }
    for scenario in [Scenario::Fresh, Scenario::Duplicate] {
        if let Some(value) = r.latency_ratio(scenario).filter(|v| *v < LATENCY_GOAL) {
            items.push(format!(
                "**Batch latency, {}: {value:.1}× (goal ≥ {LATENCY_GOAL}×).** {}",
                scenario.as_str(),
                latency_cause(r, scenario)
            ));
        }
        if let Some(value) = r.cpu_ratio(scenario).filter(|v| *v < CPU_GOAL) {
            items.push(format!(
                "**CPU per message, {}: {value:.1}× (goal ≥ {CPU_GOAL}×).** {}",
                scenario.as_str(),
                cpu_cause(r, scenario)
            ));
        }
    }
    if let Some(mb) = r.peak_rss_mb(RUST).filter(|v| *v > RSS_GOAL_MB) {
        items.push(format!(
            "**Peak RSS of ticket-processor: {mb:.1} MB (goal ≤ {RSS_GOAL_MB} MB).**"
        ));
    }
    items
}

fn init_cause(r: &Results, worker: &str) -> String {
    let (Some(w), Some(h)) = (r.init(worker), r.init(BASELINE)) else {
        return String::new();
    };
    let mut cause = format!(
        "It takes {} ms more than hello-world's {} ms (medians).",
        ms(w.init_ms.median - h.init_ms.median),
        ms(h.init_ms.median)
    );
    let probe = |parts: &str| r.init(&probe_label(parts)).map(|p| p.init_ms.median);
    if let (Some(runtime), Some(logging), Some(sdk), Some(clients)) =
        (probe(""), probe("logging"), probe("sdk"), probe("sdk,clients"))
    {
        let parts = [
            ("the AWS SDK configuration", sdk - runtime),
            ("the SDK clients", clients - sdk),
            ("logging", logging - runtime),
            (
                "the larger binary (runtime only vs hello-world)",
                runtime - h.init_ms.median,
            ),
        ];
        let described: Vec<String> = parts.iter().map(|(name, v)| format!("{name} {} ms", ms(*v))).collect();
        let _ = write!(cause, " Measured by part (init breakdown): {}.", described.join(", "));
        let largest = parts
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(name, _)| *name)
            .unwrap_or_default();
        if largest == parts[0].0 {
            let _ = write!(
                cause,
                " The SDK configuration is the largest: `aws_config::load_defaults` builds the default HTTPS \
                 client, which reads and parses the system's root certificates (strace of an init shows every \
                 file of /etc/ssl/certs opened), although the emulator is plain HTTP."
            );
        } else {
            let _ = write!(cause, " The largest part is {largest}.");
        }
    }
    cause
}

fn latency_cause(r: &Results, scenario: Scenario) -> String {
    let (Some(rust), Some(python)) = (r.round_trip(RUST, scenario), r.round_trip(PYTHON, scenario)) else {
        return String::new();
    };
    format!(
        "The emulator is busy {} ms of Rust's {} ms batch and {} ms of Powertools' {} ms (section 4): \
         the handlers' own time differs by {}, but wall time is mostly moto's.",
        ms(rust.emulator_ms.median),
        ms(rust.wall_ms.median),
        ms(python.emulator_ms.median),
        ms(python.wall_ms.median),
        times(ratio(python.handler_ms.median, rust.handler_ms.median))
    )
}

fn cpu_cause(r: &Results, scenario: Scenario) -> String {
    let (Some(rust), Some(python)) = (r.scenario(RUST, scenario), r.scenario(PYTHON, scenario)) else {
        return String::new();
    };
    let (Some(rust_trips), Some(python_trips)) = (r.round_trip(RUST, scenario), r.round_trip(PYTHON, scenario)) else {
        return String::new();
    };
    let (Some(rust_calls), Some(python_calls)) = (r.total_calls(RUST, scenario), r.total_calls(PYTHON, scenario))
    else {
        return String::new();
    };
    let per_call = |cpu: f64, calls: f64| if calls > 0.0 { cpu / calls } else { f64::NAN };
    format!(
        "Both make the same AWS calls ({} per message for Rust, {} for Powertools), and the CPU goes with them: \
         {:.0} µs per call for Rust, {:.0} µs for Powertools. moto answers every call with `Connection: close`, \
         so each call also opens a new TCP connection, a kernel cost both pay alike. Through the counting proxy, \
         which keeps connections alive ({} and {} connections per message), the same work took {:.0} µs per \
         message for Rust and {:.0} µs for Powertools ({}).",
        trim(rust_calls),
        trim(python_calls),
        per_call(rust.cpu_us_per_message, rust_calls),
        per_call(python.cpu_us_per_message, python_calls),
        trim(rust_trips.connections_per_message),
        trim(python_trips.connections_per_message),
        rust_trips.cpu_us_per_message,
        python_trips.cpu_us_per_message,
        times(ratio(python_trips.cpu_us_per_message, rust_trips.cpu_us_per_message))
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::batch_run::{BatchRunResult, ScenarioResult};
    use crate::init_time::InitResult;
    use crate::micro::MicroResult;
    use crate::round_trips::RoundTripResult;
    use emulation::stats::Summary;

    fn summary(median: f64) -> Summary {
        Summary::of(&[median * 0.9, median, median * 1.2]).unwrap()
    }

    fn init(label: &str, median_ms: f64) -> InitResult {
        InitResult {
            label: label.into(),
            init_ms: summary(median_ms),
            rss_after_init_kib: 4096,
        }
    }

    fn scenario(label: &str, scenario: Scenario, wall_ms: f64, cpu_us: f64) -> ScenarioResult {
        ScenarioResult {
            label: label.into(),
            scenario,
            batches: 3,
            messages: 30,
            wall_ms: summary(wall_ms),
            cpu_us_per_message: cpu_us,
            stat_cpu_us_per_message: cpu_us,
            in_batch_cpu_us_per_message: cpu_us,
        }
    }

    fn round_trip(label: &str, scenario: Scenario, calls: &[(&str, f64)], wall: f64, emulator: f64) -> RoundTripResult {
        RoundTripResult {
            label: label.into(),
            scenario,
            messages: 10,
            calls_per_message: calls
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>(),
            wall_ms: summary(wall),
            emulator_ms: summary(emulator),
            handler_ms: summary(wall - emulator),
            cpu_us_per_message: 50.0,
            connections_per_message: 0.1,
        }
    }

    /// A run whose sections 1-5 meet their goals.
    pub(crate) fn sample() -> Results {
        results(11.0, 6.0, 20 * 1024)
    }

    /// Rust: fresh 40 ms, duplicates 10 ms; Powertools `latency_factor` times slower, 30× the CPU.
    fn results(notification_sender_init_ms: f64, latency_factor: f64, rust_rss_kib: u64) -> Results {
        let fresh_calls = [
            ("DynamoDB.PutItem", 1.0),
            ("DynamoDB.TransactWriteItems", 1.0),
            ("DynamoDB.UpdateItem", 1.0),
            ("SQS.SendMessage", 1.0),
        ];
        Results {
            machine: crate::machine::describe(
                std::path::Path::new("/nonexistent"),
                std::path::Path::new("/nonexistent"),
            ),
            settings: Settings {
                init_runs: 20,
                warmup: 2,
                batches: 3,
                batch_size: 10,
                round_trip_batches: 1,
                cold_runs: 2,
                lambda_warmup: 1,
                lambda_batches: 3,
            },
            init: vec![
                init(BASELINE, 10.0),
                init("ticket-processor", 12.0),
                init("notification-sender", notification_sender_init_ms),
                init("dlq-redrive", 11.0),
                init(PYTHON, 900.0),
                init(&probe_label(""), 10.2),
                init(&probe_label("logging"), 10.5),
                init(&probe_label("sdk"), 13.5),
                init(&probe_label("sdk,clients"), 13.7),
                init(&probe_label("logging,sdk,clients"), 14.0),
            ],
            batches: BatchRunResult {
                scenarios: vec![
                    scenario(RUST, Scenario::Fresh, 40.0, 100.0),
                    scenario(PYTHON, Scenario::Fresh, 40.0 * latency_factor, 3000.0),
                    scenario(RUST, Scenario::Duplicate, 10.0, 20.0),
                    scenario(PYTHON, Scenario::Duplicate, 10.0 * latency_factor, 600.0),
                ],
                peak_rss_kib: vec![(RUST.into(), rust_rss_kib), (PYTHON.into(), 90_000)],
                fresh_messages: vec![(RUST.into(), 50), (PYTHON.into(), 50)],
            },
            round_trips: vec![
                round_trip(RUST, Scenario::Fresh, &fresh_calls, 40.0, 36.0),
                round_trip(RUST, Scenario::Duplicate, &[("DynamoDB.PutItem", 1.0)], 10.0, 9.0),
                round_trip(PYTHON, Scenario::Fresh, &fresh_calls, 120.0, 60.0),
                round_trip(PYTHON, Scenario::Duplicate, &[("DynamoDB.PutItem", 1.0)], 30.0, 15.0),
            ],
            micro: vec![MicroResult {
                function: "fresh".into(),
                median_ns: 25_000.0,
                lower_ns: 24_000.0,
                upper_ns: 26_000.0,
            }],
            issued: vec![IssuedCheck {
                label: RUST.into(),
                tickets: 50,
            }],
            lambda: crate::lambda_report::tests::lambda_results(),
            load_average_at_end: "0.5 0.4 0.3".into(),
        }
    }

    fn goal_line<'a>(report: &'a str, starts: &str) -> &'a str {
        report
            .lines()
            .find(|l| l.contains(starts))
            .unwrap_or_else(|| panic!("no line with {starts:?} in:\n{report}"))
    }

    #[test]
    fn every_goal_is_rated_from_the_measurements() {
        let report = render(&results(11.0, 6.0, 20 * 1024)).unwrap();
        assert!(goal_line(&report, "init of ticket-processor").contains("1.2×"));
        assert!(goal_line(&report, "init of ticket-processor").ends_with("| met |"));
        assert!(goal_line(&report, "batch latency, fresh").contains("6.0×"));
        assert!(goal_line(&report, "CPU per message, fresh").contains("30.0×"));
        assert!(goal_line(&report, "peak RSS of ticket-processor").contains("20.0 MB"));
        assert!(goal_line(&report, "idempotency writes per fresh message").contains("| 2.00 |"));
        assert!(goal_line(&report, "reads per duplicate message").contains("0.00 (1.00 calls)"));
        std::fs::write("/tmp/bench-report-sample.md", &report).ok();
        let issue_9_shortfalls = [
            "- **Init of",
            "- **Batch latency",
            "- **CPU per message",
            "- **Peak RSS",
        ];
        assert!(
            !report
                .lines()
                .any(|l| issue_9_shortfalls.iter().any(|s| l.starts_with(s))),
            "{report}"
        );
        let earlier_goals: Vec<&str> = report
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| 18 |"))
            .collect();
        assert!(!earlier_goals.iter().any(|l| l.contains("not met")), "{report}");
        assert!(
            report.contains("| fresh | 2.50 µs | 2.40–2.60 µs | 25.0 µs |"),
            "micro-benchmark per record:\n{report}"
        );
    }

    #[test]
    fn a_goal_missed_is_flagged_and_named_with_its_measured_cause() {
        let report = render(&results(14.0, 3.0, 40 * 1024)).unwrap();
        assert!(goal_line(&report, "init of notification-sender").contains("**not met**"));
        assert!(goal_line(&report, "batch latency, fresh").contains("3.0× | **not met**"));
        assert!(goal_line(&report, "peak RSS of ticket-processor").contains("**not met**"));
        assert!(report.contains("### Short of a goal, and why"), "{report}");
        let latency = goal_line(&report, "**Batch latency, fresh: 3.0×");
        // The cause is the emulator's share, measured at the proxy: 36 of Rust's 40 ms.
        assert!(latency.contains("36.0 ms of Rust's 40.0 ms"), "{latency}");
        let init = goal_line(&report, "**Init of notification-sender: 1.40×");
        assert!(init.contains("4.00 ms more"), "{init}");
        // The breakdown's parts, and the largest of them named as the cause.
        assert!(init.contains("the AWS SDK configuration 3.30 ms"), "{init}");
        assert!(init.contains("logging 0.30 ms"), "{init}");
        assert!(init.contains("The SDK configuration is the largest"), "{init}");
        assert!(
            report.contains("| sdk + clients | 13.7 |"),
            "breakdown table:\n{report}"
        );
        assert!(report.contains("- **Init of notification-sender"), "{report}");
    }
}
