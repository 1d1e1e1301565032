//! `bench`: runs the whole benchmark and writes BENCHMARKS.md. `make bench` builds what it
//! needs and runs it; see `bench --help`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bench::batch_run::{self, Contender, Plan};
use bench::bench_stack::BenchStack;
use bench::function_process::{FunctionProcess, FunctionSpec};
use bench::lambda_like::{self, LambdaPlan};
use bench::report::{IssuedCheck, Results, Settings};
use bench::{BenchError, init_time, machine, micro, report, round_trips};
use emulation::counting::CountingHook;
use emulation::proxy::Proxy;
use moto_harness::MotoServer;

const HELP: &str = "\
bench: the Rust workers side by side with a Powertools (Python) handler; writes BENCHMARKS.md

Options (defaults in brackets):
  --lambda-dir DIR       cargo lambda's output, DIR/<bin>/bootstrap [$CARGO_TARGET_DIR/lambda]
  --bench-python PATH    Python of the venv with Powertools and awslambdaric [.venv-bench/bin/python]
  --moto-python PATH     Python of the venv with moto [$MOTO_PYTHON or .venv/bin/python]
  --node PATH            Node.js for the Powertools (TypeScript) contender [node on PATH]
  --typescript-dir DIR   the TypeScript contender with its node_modules (npm ci) [bench/typescript]
  --criterion-dir DIR    criterion's results [$CARGO_TARGET_DIR/criterion]
  --output PATH          the report [BENCHMARKS.md]
  --init-runs N          starts of each function [30]
  --warmup N             batches discarded per scenario and contender [5]
  --batches N            batches measured per scenario and contender [40]
  --round-trip-batches N batches counted per scenario and contender [10]
  --cold-runs N          cold invocations (TLS, CPU share) of each contender [10]
  --lambda-warmup N      warm batches at Lambda's CPU share discarded per scenario and contender [3]
  --lambda-batches N     warm batches at Lambda's CPU share measured per scenario and contender [20]
  --lever WHAT=PATH      also run ticket-processor built otherwise (e.g. \"opt-level 3=DIR/bootstrap\") as a lever
  --smoke                1 init run, no warm-up, 1 batch each: checks the harness, writes no report
";

struct Args {
    workspace: PathBuf,
    lambda_dir: PathBuf,
    bench_python: PathBuf,
    moto_python: PathBuf,
    node: PathBuf,
    typescript_dir: PathBuf,
    criterion_dir: PathBuf,
    output: PathBuf,
    init_runs: usize,
    warmup: usize,
    batches: usize,
    round_trip_batches: usize,
    cold_runs: usize,
    lambda_warmup: usize,
    lambda_batches: usize,
    lever_binaries: Vec<(String, PathBuf)>,
    smoke: bool,
}

fn parse_args() -> Result<Args, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let mut args = Args {
        lambda_dir: target.join("lambda"),
        bench_python: workspace.join(".venv-bench/bin/python"),
        moto_python: std::env::var_os("MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join(".venv/bin/python")),
        criterion_dir: target.join("criterion"),
        node: on_path("node"),
        typescript_dir: workspace.join("bench/typescript"),
        output: workspace.join("BENCHMARKS.md"),
        workspace,
        init_runs: 30,
        warmup: 5,
        batches: 40,
        round_trip_batches: 10,
        cold_runs: 10,
        lambda_warmup: 3,
        lambda_batches: 20,
        lever_binaries: Vec::new(),
        smoke: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--help" || flag == "-h" {
            print!("{HELP}");
            std::process::exit(0);
        }
        if flag == "--smoke" {
            args.smoke = true;
            continue;
        }
        let value = given.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--lambda-dir" => args.lambda_dir = value.into(),
            "--bench-python" => args.bench_python = value.into(),
            "--moto-python" => args.moto_python = value.into(),
            "--node" => args.node = value.into(),
            "--typescript-dir" => args.typescript_dir = value.into(),
            "--criterion-dir" => args.criterion_dir = value.into(),
            "--output" => args.output = value.into(),
            "--init-runs" => args.init_runs = number()?.max(1),
            "--warmup" => args.warmup = number()?,
            "--batches" => args.batches = number()?.max(1),
            "--round-trip-batches" => args.round_trip_batches = number()?.max(1),
            "--cold-runs" => args.cold_runs = number()?.max(1),
            "--lambda-warmup" => args.lambda_warmup = number()?,
            "--lambda-batches" => args.lambda_batches = number()?.max(1),
            "--lever" => {
                let (what, path) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--lever {value}: expected WHAT=PATH"))?;
                args.lever_binaries.push((what.to_owned(), path.into()));
            }
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    if args.smoke {
        (args.init_runs, args.warmup, args.batches, args.round_trip_batches) = (1, 0, 1, 1);
        (args.cold_runs, args.lambda_warmup, args.lambda_batches) = (1, 0, 1);
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(&args).await {
        eprintln!("bench failed: {error}");
        std::process::exit(1);
    }
}

async fn run(args: &Args) -> Result<(), BenchError> {
    let log_dir = args.lambda_dir.join("../bench-logs");
    std::fs::create_dir_all(&log_dir).map_err(|source| BenchError::File {
        path: log_dir.clone(),
        source,
    })?;
    // SAFETY (set_var): nothing else runs yet. The harness starts moto with this Python.
    unsafe { std::env::set_var("MOTO_PYTHON", &args.moto_python) };
    eprintln!("bench: machine and versions");
    let machine = machine::describe(&args.bench_python, &args.moto_python);
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let sdk = moto.sdk_config().await;
    eprintln!("bench: provisioning template.yaml in moto ({endpoint})");
    let stack = BenchStack::create(&args.workspace.join("template.yaml"), &args.moto_python, &sdk).await?;

    let rust_spec = |binary: &str| -> Result<FunctionSpec, BenchError> {
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
    };
    let ticket_processor = rust_spec("ticket-processor")?;
    let powertools = powertools_spec(args, &stack, &ticket_processor)?;
    let powertools_ts = typescript_spec(args, &stack, &powertools)?;
    let hello_world = FunctionSpec {
        label: "hello-world".to_owned(),
        function_name: "bench-hello-world".to_owned(),
        program: bootstrap(&args.lambda_dir, "hello-world")?,
        args: Vec::new(),
        task_root: None,
        environment: Default::default(),
        timeout: Duration::from_secs(3),
        memory_mb: 128,
        cpu_share: None,
    };
    let mut init_specs = vec![
        hello_world,
        ticket_processor.clone(),
        rust_spec("notification-sender")?,
        rust_spec("dlq-redrive")?,
        powertools.clone(),
        powertools_ts.clone(),
    ];
    // The init breakdown: a worker's cold-start parts one at a time, ticket-processor's config.
    let probe = bootstrap(&args.lambda_dir, "init-probe")?;
    for parts in report::INIT_PROBE_PARTS {
        let mut environment = ticket_processor.environment.clone();
        environment.insert("INIT_PROBE".to_owned(), parts.to_owned());
        init_specs.push(FunctionSpec {
            label: report::probe_label(parts),
            function_name: ticket_processor.function_name.clone(),
            program: probe.clone(),
            args: Vec::new(),
            task_root: None,
            environment,
            timeout: ticket_processor.timeout,
            memory_mb: 128,
            cpu_share: None,
        });
    }

    eprintln!("bench: init, {} starts of each function", args.init_runs);
    let init = init_time::measure(&init_specs, args.init_runs, &endpoint, &log_dir).await?;

    let plan = Plan {
        warmup: args.warmup,
        batches: args.batches,
        batch_size: 10,
    };
    eprintln!(
        "bench: batches, {} warm-up + {} measured per scenario and contender, interleaved",
        plan.warmup, plan.batches
    );
    let rust_process = FunctionProcess::start(
        &ticket_processor,
        &endpoint,
        &log_dir.join("batches-ticket-processor.log"),
    )
    .await?;
    let python_process =
        FunctionProcess::start(&powertools, &endpoint, &log_dir.join("batches-powertools.log")).await?;
    let contenders = both_contenders(&stack, &rust_process, &python_process);
    let batches = batch_run::run(&stack, &contenders, plan).await?;
    rust_process.stop().await;
    python_process.stop().await;

    eprintln!(
        "bench: round trips, {} batches per scenario and contender",
        args.round_trip_batches
    );
    let (rust_counting, python_counting) = (Arc::new(CountingHook::new()), Arc::new(CountingHook::new()));
    let rust_proxy = Proxy::start(&endpoint, vec![rust_counting.clone()])
        .await
        .map_err(|e| BenchError::setup("counting proxy", e))?;
    let python_proxy = Proxy::start(&endpoint, vec![python_counting.clone()])
        .await
        .map_err(|e| BenchError::setup("counting proxy", e))?;
    let rust_process = FunctionProcess::start(
        &ticket_processor,
        &rust_proxy.endpoint(),
        &log_dir.join("round-trips-ticket-processor.log"),
    )
    .await?;
    let python_process = FunctionProcess::start(
        &powertools,
        &python_proxy.endpoint(),
        &log_dir.join("round-trips-powertools.log"),
    )
    .await?;
    let contenders = both_contenders(&stack, &rust_process, &python_process);
    let (round_trips, counted_fresh) = round_trips::count(
        &stack,
        &contenders,
        &[(&rust_proxy, &rust_counting), (&python_proxy, &python_counting)],
        args.round_trip_batches,
        plan.batch_size,
    )
    .await?;
    rust_process.stop().await;
    python_process.stop().await;

    let lambda_plan = LambdaPlan {
        cold_runs: args.cold_runs,
        warm: Plan {
            warmup: args.lambda_warmup,
            batches: args.lambda_batches,
            batch_size: plan.batch_size,
        },
        lever_binaries: args.lever_binaries.clone(),
    };
    let (lambda, lambda_fresh) = lambda_like::run(
        &stack,
        &endpoint,
        [&ticket_processor, &powertools, &powertools_ts],
        lambda_plan,
        &log_dir,
    )
    .await?;

    let mut issued = Vec::new();
    for (label, workspace) in [
        (&ticket_processor.label, &stack.rust),
        (&powertools.label, &stack.powertools),
        (&powertools_ts.label, &stack.powertools_ts),
    ] {
        let expected: u64 = batches
            .fresh_messages
            .iter()
            .chain(&counted_fresh)
            .chain(&lambda_fresh)
            .filter(|(l, _)| l == label)
            .map(|(_, n)| n)
            .sum();
        let actual = stack.issued(workspace).await?;
        if actual != expected {
            return Err(BenchError::check(
                label.as_str(),
                format!(
                    "issued {actual} tickets for {expected} fresh requests: the contenders did not do the same work"
                ),
            ));
        }
        issued.push(IssuedCheck {
            label: label.clone(),
            tickets: actual,
        });
    }

    if args.smoke {
        eprintln!("bench: smoke run passed (no report written)");
        return Ok(());
    }
    let results = Results {
        machine,
        settings: Settings {
            init_runs: args.init_runs,
            warmup: plan.warmup,
            batches: plan.batches,
            batch_size: plan.batch_size,
            round_trip_batches: args.round_trip_batches,
            cold_runs: args.cold_runs,
            lambda_warmup: args.lambda_warmup,
            lambda_batches: args.lambda_batches,
        },
        init,
        batches,
        round_trips,
        micro: micro::read(&args.criterion_dir),
        lambda,
        issued,
        load_average_at_end: machine::load_average(),
    };
    let json = serde_json::to_string_pretty(&results).unwrap_or_default();
    let json_path = log_dir.join("results.json");
    std::fs::write(&json_path, json).map_err(|source| BenchError::File {
        path: json_path,
        source,
    })?;
    std::fs::write(&args.output, report::render(&results)).map_err(|source| BenchError::File {
        path: args.output.clone(),
        source,
    })?;
    eprintln!("bench: wrote {}", args.output.display());
    Ok(())
}

/// The two contenders, Rust first, each with its own tables and queue.
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
    let workspace = &stack.powertools;
    let mut environment = std::collections::BTreeMap::from([
        ("TICKETS_TABLE_NAME".to_owned(), workspace.tickets_table.clone()),
        ("IDEMPOTENCY_TABLE_NAME".to_owned(), workspace.idempotency_table.clone()),
        (
            "NOTIFICATION_QUEUE_URL".to_owned(),
            workspace.notification_queue_url.clone(),
        ),
    ]);
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

/// `program` as the shell finds it on PATH (itself when it is not there: the error names it).
fn on_path(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(program))
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
    let workspace = &stack.powertools_ts;
    let mut environment = powertools.environment.clone();
    environment.insert("TICKETS_TABLE_NAME".to_owned(), workspace.tickets_table.clone());
    environment.insert("IDEMPOTENCY_TABLE_NAME".to_owned(), workspace.idempotency_table.clone());
    environment.insert(
        "NOTIFICATION_QUEUE_URL".to_owned(),
        workspace.notification_queue_url.clone(),
    );
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
