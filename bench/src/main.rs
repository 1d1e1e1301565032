//! `bench`: runs the whole benchmark and writes BENCHMARKS.md. `make bench` builds what it
//! needs and runs it; see `bench --help`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bench::batch_run::{self, BatchRunResult, Contender, Plan};
use bench::bench_stack::{BenchStack, Workspace};
use bench::cli::{Args, Cli};
use bench::function_process::{FunctionProcess, FunctionSpec};
use bench::lambda_like::{self, LambdaPlan, LambdaResults};
use bench::profile::ProfilePlan;
use bench::report::{IssuedCheck, Results, Settings};
use bench::round_trips::RoundTripResult;
use bench::{BenchError, init_time, machine, micro, report, round_trips};
use clap::Parser;
use emulation::counting::CountingHook;
use emulation::proxy::Proxy;
use moto_harness::MotoServer;

#[tokio::main]
async fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let args = Cli::parse().resolve(&workspace);
    let outcome = match (&args.cli.render, &args.cli.profile) {
        (Some(results), _) => render_again(results, &args.output),
        (None, Some(perf_data)) => profile(&args, perf_data).await,
        (None, None) => run(&args).await,
    };
    if let Err(error) = outcome {
        eprintln!("bench failed: {error}");
        std::process::exit(1);
    }
}

/// The three contenders and what else the run starts, as Lambda would (128 MB, no CPU share:
/// `lambda_like` sets the shares of its own runs).
struct Functions {
    ticket_processor: FunctionSpec,
    powertools: FunctionSpec,
    powertools_ts: FunctionSpec,
    /// hello-world, the workers, the Powertools handlers and the init probe's runs.
    init: Vec<FunctionSpec>,
}

/// What the run measured, section by section.
struct Measured {
    init: Vec<bench::init_time::InitResult>,
    batches: BatchRunResult,
    round_trips: Vec<RoundTripResult>,
    lambda: LambdaResults,
    /// Fresh requests sent to each contender (label, count), over every section.
    fresh: Vec<(String, u64)>,
}

async fn run(args: &Args) -> Result<(), BenchError> {
    let log_dir = args.lambda_dir.join("../bench-logs");
    create_dir(&log_dir)?;
    // SAFETY (set_var): nothing else runs yet. The harness starts moto with this Python.
    unsafe { std::env::set_var("MOTO_PYTHON", &args.moto_python) };
    eprintln!("bench: machine and versions");
    let machine = machine::describe(&args.bench_python, &args.moto_python);
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let sdk = moto.sdk_config().await;
    eprintln!("bench: provisioning template.yaml in moto ({endpoint})");
    let stack = BenchStack::create(&args.workspace.join("template.yaml"), &args.moto_python, &sdk).await?;
    let functions = functions(args, &stack)?;
    let measured = measure(args, &stack, &functions, &endpoint, &log_dir).await?;
    let issued = check_issued(&stack, &functions, &measured.fresh).await?;
    if args.cli.smoke {
        eprintln!("bench: smoke run passed (no report written)");
        return Ok(());
    }
    let cli = &args.cli;
    let results = Results {
        machine,
        settings: Settings {
            init_runs: cli.init_runs,
            warmup: cli.warmup,
            batches: cli.batches,
            batch_size: BATCH_SIZE,
            round_trip_batches: cli.round_trip_batches,
            cold_runs: cli.cold_runs,
            lambda_warmup: cli.lambda_warmup,
            lambda_batches: cli.lambda_batches,
        },
        init: measured.init,
        batches: measured.batches,
        round_trips: measured.round_trips,
        micro: micro::read(&args.criterion_dir),
        lambda: measured.lambda,
        issued,
        load_average_at_end: emulation::machine::load_average(),
    };
    let json_path = log_dir.join("results.json");
    write(&json_path, serde_json::to_string_pretty(&results).unwrap_or_default())?;
    write(&args.output, report::render(&results)?)?;
    eprintln!(
        "bench: wrote {} (results: {})",
        args.output.display(),
        json_path.display()
    );
    Ok(())
}

/// `--profile`: ticket-processor's warm batches under `perf record`.
async fn profile(args: &Args, perf_data: &Path) -> Result<(), BenchError> {
    let log_dir = args.lambda_dir.join("../bench-logs");
    create_dir(&log_dir)?;
    // SAFETY (set_var): nothing else runs yet. The harness starts moto with this Python.
    unsafe { std::env::set_var("MOTO_PYTHON", &args.moto_python) };
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let stack = BenchStack::create(&args.workspace.join("template.yaml"), &args.moto_python, &sdk).await?;
    let ticket_processor = rust_spec(args, &stack, "ticket-processor")?;
    let plan = ProfilePlan {
        warmup: 5,
        batches: args.cli.profile_batches,
        batch_size: BATCH_SIZE,
    };
    eprintln!(
        "bench: profiling {} warm batches of {} into {}",
        plan.batches,
        ticket_processor.program.display(),
        perf_data.display()
    );
    let cpu = bench::profile::record(&stack, &moto.endpoint(), &ticket_processor, perf_data, plan, &log_dir).await?;
    let messages = (plan.batches * plan.batch_size) as f64;
    eprintln!(
        "bench: {:.0} µs of CPU per fresh message while sampled",
        cpu.as_secs_f64() * 1e6 / messages
    );
    Ok(())
}

/// The report again from a run's `results.json` (after a change to the report alone).
fn render_again(results: &Path, output: &Path) -> Result<(), BenchError> {
    let json = std::fs::read_to_string(results).map_err(|source| BenchError::File {
        path: results.to_owned(),
        source,
    })?;
    let results: Results =
        serde_json::from_str(&json).map_err(|e| BenchError::check(results.display().to_string(), e))?;
    write(output, report::render(&results)?)?;
    eprintln!("bench: wrote {}", output.display());
    Ok(())
}

/// Records per batch: SQS's default batch size for a Lambda event source.
const BATCH_SIZE: usize = 10;

/// Every section in turn: init, batches on a whole CPU, round trips, then as Lambda bills it.
async fn measure(
    args: &Args,
    stack: &BenchStack,
    functions: &Functions,
    endpoint: &str,
    log_dir: &Path,
) -> Result<Measured, BenchError> {
    let cli = &args.cli;
    eprintln!("bench: init, {} starts of each function", cli.init_runs);
    let init = init_time::measure(&functions.init, cli.init_runs, endpoint, log_dir).await?;
    let plan = Plan {
        warmup: cli.warmup,
        batches: cli.batches,
        batch_size: BATCH_SIZE,
    };
    eprintln!(
        "bench: batches, {} warm-up + {} measured per scenario and contender, interleaved",
        plan.warmup, plan.batches
    );
    let batches = whole_cpu_batches(stack, functions, endpoint, log_dir, plan).await?;
    eprintln!(
        "bench: round trips, {} batches per scenario and contender",
        cli.round_trip_batches
    );
    let (round_trips, counted_fresh) =
        count_round_trips(stack, functions, endpoint, log_dir, cli.round_trip_batches).await?;
    let lambda_plan = LambdaPlan {
        cold_runs: cli.cold_runs,
        warm: Plan {
            warmup: cli.lambda_warmup,
            batches: cli.lambda_batches,
            batch_size: BATCH_SIZE,
        },
        lever_binaries: cli.levers.clone(),
    };
    let contenders = [
        &functions.ticket_processor,
        &functions.powertools,
        &functions.powertools_ts,
    ];
    let (lambda, lambda_fresh) = lambda_like::run(stack, endpoint, contenders, lambda_plan, log_dir).await?;
    let fresh = batches
        .fresh_messages
        .iter()
        .chain(&counted_fresh)
        .chain(&lambda_fresh)
        .cloned()
        .collect();
    Ok(Measured {
        init,
        batches,
        round_trips,
        lambda,
        fresh,
    })
}

/// Section 2: ticket-processor and the Powertools (Python) handler, batches interleaved.
async fn whole_cpu_batches(
    stack: &BenchStack,
    functions: &Functions,
    endpoint: &str,
    log_dir: &Path,
    plan: Plan,
) -> Result<BatchRunResult, BenchError> {
    let rust = FunctionProcess::start(
        &functions.ticket_processor,
        endpoint,
        &log_dir.join("batches-ticket-processor.log"),
    )
    .await?;
    let python =
        FunctionProcess::start(&functions.powertools, endpoint, &log_dir.join("batches-powertools.log")).await?;
    let batches = batch_run::run(stack, &both_contenders(stack, &rust, &python), plan).await;
    rust.stop().await;
    python.stop().await;
    batches
}

/// Section 4: the same two, each behind a counting proxy.
async fn count_round_trips(
    stack: &BenchStack,
    functions: &Functions,
    endpoint: &str,
    log_dir: &Path,
    batches: usize,
) -> Result<(Vec<RoundTripResult>, Vec<(String, u64)>), BenchError> {
    let (rust_counting, python_counting) = (Arc::new(CountingHook::new()), Arc::new(CountingHook::new()));
    let proxy = |hook: &Arc<CountingHook>| Proxy::start(endpoint, vec![hook.clone()]);
    let rust_proxy = proxy(&rust_counting)
        .await
        .map_err(|e| BenchError::setup("counting proxy", e))?;
    let python_proxy = proxy(&python_counting)
        .await
        .map_err(|e| BenchError::setup("counting proxy", e))?;
    let rust = FunctionProcess::start(
        &functions.ticket_processor,
        &rust_proxy.endpoint(),
        &log_dir.join("round-trips-ticket-processor.log"),
    )
    .await?;
    let python = FunctionProcess::start(
        &functions.powertools,
        &python_proxy.endpoint(),
        &log_dir.join("round-trips-powertools.log"),
    )
    .await?;
    let counted = round_trips::count(
        stack,
        &both_contenders(stack, &rust, &python),
        &[(&rust_proxy, &rust_counting), (&python_proxy, &python_counting)],
        batches,
        BATCH_SIZE,
    )
    .await;
    rust.stop().await;
    python.stop().await;
    counted
}

/// Each contender's event counts exactly the fresh requests sent to it: they did the same work.
async fn check_issued(
    stack: &BenchStack,
    functions: &Functions,
    fresh: &[(String, u64)],
) -> Result<Vec<IssuedCheck>, BenchError> {
    let mut issued = Vec::new();
    let contenders: [(&str, &[&Workspace]); 3] = [
        (
            &functions.ticket_processor.label,
            &[&stack.rust, &stack.rust_one_counter],
        ),
        (&functions.powertools.label, &[&stack.powertools]),
        (&functions.powertools_ts.label, &[&stack.powertools_ts]),
    ];
    for (label, workspaces) in contenders {
        let expected: u64 = fresh.iter().filter(|(l, _)| l == label).map(|(_, n)| n).sum();
        let mut actual = 0;
        for workspace in workspaces {
            actual += stack.issued(workspace).await?;
        }
        if actual != expected {
            return Err(BenchError::check(
                label,
                format!(
                    "issued {actual} tickets for {expected} fresh requests: the contenders did not do the same work"
                ),
            ));
        }
        issued.push(IssuedCheck {
            label: label.to_owned(),
            tickets: actual,
        });
    }
    Ok(issued)
}

/// The two contenders of sections 2 and 4, Rust first, each with its own tables and queue.
fn both_contenders<'a>(
    stack: &'a BenchStack,
    rust: &'a FunctionProcess,
    python: &'a FunctionProcess,
) -> [Contender<'a>; 2] {
    [
        Contender {
            process: rust,
            workspace: &stack.rust,
        },
        Contender {
            process: python,
            workspace: &stack.powertools,
        },
    ]
}

/// The contenders and the init runs' functions.
fn functions(args: &Args, stack: &BenchStack) -> Result<Functions, BenchError> {
    let ticket_processor = rust_spec(args, stack, "ticket-processor")?;
    let powertools = powertools_spec(args, stack, &ticket_processor)?;
    let powertools_ts = typescript_spec(args, stack, &powertools)?;
    let hello_world = FunctionSpec {
        label: "hello-world".to_owned(),
        function_name: "bench-hello-world".to_owned(),
        program: bootstrap(&args.lambda_dir, "hello-world")?,
        args: Vec::new(),
        task_root: None,
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(3),
        memory_mb: 128,
        cpu_share: None,
    };
    let mut init = vec![
        hello_world,
        ticket_processor.clone(),
        rust_spec(args, stack, "notification-sender")?,
        rust_spec(args, stack, "dlq-redrive")?,
        powertools.clone(),
        powertools_ts.clone(),
    ];
    // ticket-processor without its warm-up call: the init the warm-up adds to.
    let mut no_warm_up = ticket_processor.clone();
    no_warm_up.label = report::NO_WARM_UP.to_owned();
    no_warm_up
        .environment
        .insert("WARM_UP_AT_INIT".to_owned(), "off".to_owned());
    init.push(no_warm_up);
    // The init breakdown: a worker's cold-start parts one at a time, ticket-processor's config.
    let probe = bootstrap(&args.lambda_dir, "init-probe")?;
    for parts in report::INIT_PROBE_PARTS {
        let mut spec = ticket_processor.clone();
        spec.label = report::probe_label(parts);
        spec.program = probe.clone();
        spec.environment.insert("INIT_PROBE".to_owned(), parts.to_owned());
        init.push(spec);
    }
    Ok(Functions {
        ticket_processor,
        powertools,
        powertools_ts,
        init,
    })
}

/// A worker of the template, with its configuration from it.
fn rust_spec(args: &Args, stack: &BenchStack, binary: &str) -> Result<FunctionSpec, BenchError> {
    let (function_name, environment, timeout) = stack.environment(binary)?;
    Ok(FunctionSpec {
        label: binary.to_owned(),
        function_name,
        program: bootstrap(&args.lambda_dir, binary)?,
        args: Vec::new(),
        task_root: None,
        environment,
        timeout: Duration::from_secs(timeout),
        memory_mb: 128,
        cpu_share: None,
    })
}

fn bootstrap(lambda_dir: &Path, binary: &str) -> Result<PathBuf, BenchError> {
    let path = lambda_dir.join(binary).join("bootstrap");
    if path.is_file() {
        Ok(path)
    } else {
        Err(BenchError::check(
            binary,
            format!(
                "{} is missing: build it with `cargo lambda build --release --bin {binary}` (make bench does)",
                path.display()
            ),
        ))
    }
}

/// The Powertools handler under awslambdaric, configured like ticket-processor but with its own
/// tables and queue.
fn powertools_spec(
    args: &Args,
    stack: &BenchStack,
    ticket_processor: &FunctionSpec,
) -> Result<FunctionSpec, BenchError> {
    if !args.bench_python.is_file() {
        return Err(BenchError::check(
            "powertools",
            format!(
                "{} is missing: make bench creates .venv-bench",
                args.bench_python.display()
            ),
        ));
    }
    let mut environment = workspace_environment(&stack.powertools);
    if let Some(expires) = ticket_processor.environment.get("IDEMPOTENCY_EXPIRES_AFTER_SECONDS") {
        environment.insert("IDEMPOTENCY_EXPIRES_AFTER_SECONDS".to_owned(), expires.clone());
    }
    Ok(FunctionSpec {
        label: "powertools".to_owned(),
        function_name: "bench-ticket-processor-powertools".to_owned(),
        program: args.bench_python.clone(),
        args: vec![
            "-m".to_owned(),
            "awslambdaric".to_owned(),
            "ticket_handler.handler".to_owned(),
        ],
        task_root: Some(args.workspace.join("bench/python")),
        environment,
        timeout: ticket_processor.timeout,
        memory_mb: 128,
        cpu_share: None,
    })
}

/// What a Powertools handler is configured with: its workspace's tables, queue and event layout.
fn workspace_environment(workspace: &Workspace) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("TICKETS_TABLE_NAME".to_owned(), workspace.tickets_table.clone()),
        ("IDEMPOTENCY_TABLE_NAME".to_owned(), workspace.idempotency_table.clone()),
        (
            "NOTIFICATION_QUEUE_URL".to_owned(),
            workspace.notification_queue_url.clone(),
        ),
        ("EVENT_SHARDS".to_owned(), workspace.shards.to_string()),
    ])
}

/// The Powertools (TypeScript) handler under aws-lambda-ric on Node.js, configured like the
/// Python one but with its own tables and queue.
fn typescript_spec(args: &Args, stack: &BenchStack, powertools: &FunctionSpec) -> Result<FunctionSpec, BenchError> {
    let ric = args.typescript_dir.join("node_modules/aws-lambda-ric/bin/index.mjs");
    if !ric.is_file() || !args.node.is_file() {
        return Err(BenchError::check(
            "powertools-ts",
            format!(
                "{} or {} is missing: make bench installs the TypeScript contender (npm ci in bench/typescript) and needs Node.js",
                args.node.display(),
                ric.display()
            ),
        ));
    }
    let mut environment = powertools.environment.clone();
    environment.extend(workspace_environment(&stack.powertools_ts));
    Ok(FunctionSpec {
        label: "powertools-ts".to_owned(),
        function_name: "bench-ticket-processor-powertools-ts".to_owned(),
        program: args.node.clone(),
        args: vec![ric.display().to_string(), "ticket_handler.handler".to_owned()],
        task_root: Some(args.typescript_dir.clone()),
        environment,
        timeout: powertools.timeout,
        memory_mb: 128,
        cpu_share: None,
    })
}

fn create_dir(path: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(path).map_err(|source| BenchError::File {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, contents: String) -> Result<(), BenchError> {
    std::fs::write(path, contents).map_err(|source| BenchError::File {
        path: path.to_owned(),
        source,
    })
}
