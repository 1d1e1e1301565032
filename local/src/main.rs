//! `local-stack demo | up | send <queue> <body> | metrics | seed …`: the whole SAM app on this
//! machine. Run through make: `make demo`, `make up`, `make down`; `seed` through
//! `events/seed/seed-event`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use local_stack::scenario::{self, Scenario};
use local_stack::stack::{LocalStack, Options};
use serde_json::json;

/// The whole SAM app on this machine, against the AWS emulator (moto).
#[derive(Debug, Parser)]
#[command(name = "local-stack", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the stack, run the checked scenario, print what the emulator holds, stop.
    Demo,
    /// Start the stack and leave it running (`make up`; `make down` stops it).
    Up,
    /// Send a message body to a queue of the running stack.
    Send {
        /// ticket, notification, ticket-dlq or notification-dlq.
        queue: String,
        /// The message body (JSON).
        body: String,
    },
    /// Sum the running stack's EMF metrics lines per function.
    Metrics,
    /// Create an event in a tickets table wherever the environment points the SDK.
    Seed(SeedArgs),
}

/// `seed`'s options (events/seed/README.md).
#[derive(Debug, Args)]
struct SeedArgs {
    /// The tickets table.
    #[arg(long)]
    table: String,
    /// The event's id (1-128 characters of [A-Za-z0-9._:-]).
    #[arg(long)]
    event_id: String,
    /// Its seats.
    #[arg(long)]
    capacity: u64,
    /// K, the counters its seats are spread over.
    #[arg(long, default_value_t = 1)]
    shards: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        shared::logging::init();
    }
    let cli = Cli::parse();
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let result = match cli.command {
        Command::Demo => demo(&workspace).await,
        Command::Up => up(&workspace).await,
        Command::Send { queue, body } => send(&workspace, &queue, &body).await,
        Command::Seed(args) => seed(&args).await,
        Command::Metrics => metrics(&workspace),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("local-stack: {message}");
            ExitCode::FAILURE
        }
    }
}

fn say(line: &str) {
    println!("{line}");
}

/// Start, run the scenario, print the outcome, stop. Ctrl-C stops everything too.
async fn demo(workspace: &Path) -> Result<ExitCode, String> {
    let started = Instant::now();
    println!("== local stack: template.yaml on the AWS emulator, SQS-triggered, no Docker, no AWS ==");
    let options = Options::for_workspace(workspace);
    let stack = tokio::select! {
        stack = LocalStack::start(&options, &|line| say(&format!("→ {line}"))) => stack.map_err(|e| e.to_string())?,
        _ = tokio::signal::ctrl_c() => return Ok(ExitCode::from(130)),
    };
    println!("stack up in {:.1} s\n", started.elapsed().as_secs_f64());
    let run_started = Instant::now();
    let scenario = Scenario::default();
    let outcome = tokio::select! {
        outcome = scenario::run(&stack, &scenario, &say) => outcome,
        _ = tokio::signal::ctrl_c() => {
            println!("\ninterrupted; stopping everything");
            stack.shutdown().await;
            return Ok(ExitCode::from(130));
        }
    };
    stack.shutdown().await;
    let outcome = outcome?;
    println!("\n{}", outcome.table());
    println!(
        "scenario {:.1} s, total {:.1} s; function logs in {}",
        run_started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64(),
        options.state_dir.join("logs").display()
    );
    Ok(if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Start the stack, seed the events the sample events use, print copy-paste commands, and run
/// until SIGINT/SIGTERM (`make down`).
async fn up(workspace: &Path) -> Result<ExitCode, String> {
    let options = Options::for_workspace(workspace);
    let stack = LocalStack::start(&options, &|line| say(&format!("→ {line}")))
        .await
        .map_err(|e| e.to_string())?;
    for (event, capacity, shards) in [("concert-2026", 100, 4), ("tiny-gig", 1, 1)] {
        stack.seed_event(event, capacity, shards).await?;
    }
    let endpoints = stack.endpoints();
    let state = json!({
        "pid": std::process::id(),
        "moto": stack.moto.endpoint(),
        "functions": endpoints,
        "queues": {
            "ticket": stack.queue_url("TicketIssueQueue")?,
            "notification": stack.queue_url("NotificationQueue")?,
            "ticket-dlq": stack.queue_url("TicketIssueDeadLetterQueue")?,
            "notification-dlq": stack.queue_url("NotificationDeadLetterQueue")?,
        },
        "outputs": stack.stack.outputs,
    });
    let port = |binary: &str| {
        endpoints
            .get(binary)
            .and_then(|e| e.rsplit(':').next())
            .unwrap_or("?")
            .to_owned()
    };
    let commands = format!(
        "The local stack is up. Functions log to .local/logs/<function>.log.\n\
         \n\
         Invoke a function directly (the event source mappings also run):\n\
         \x20 cargo lambda invoke ticket-processor --data-file events/ticket-processor/valid-batch.json -A 127.0.0.1 -P {tp}\n\
         \x20 cargo lambda invoke notification-sender --data-file events/notification-sender/ticket-issued.json -A 127.0.0.1 -P {ns}\n\
         \x20 cargo lambda invoke dlq-redrive --data-file events/dlq-redrive/dry-run-all.json -A 127.0.0.1 -P {dr}\n\
         (with the venv on PATH: export PATH=$PWD/.venv/bin:$PATH)\n\
         \n\
         Send a message to ticket-issue-queue (events concert-2026 and tiny-gig are seeded):\n\
         \x20 cargo run -q -p local-stack -- send ticket '{{\"eventId\":\"concert-2026\",\"userId\":\"fan-42\",\"contact\":{{\"email\":\"fan-42@example.com\"}}}}'\n\
         \n\
         Watch the metrics: each invocation writes one EMF line (CloudWatch's format) to its log:\n\
         \x20 tail -f .local/logs/*.log | grep --line-buffered '\"_aws\"'\n\
         \x20 cargo run -q -p local-stack -- metrics     # what they add up to, per function\n\
         \n\
         Look inside the emulator (what was pushed and emailed, every table and queue):\n\
         \x20 curl -s {moto}/moto-api/data.json | python3 -m json.tool | less\n\
         Point your own tools at it: {tools}\n\
         \n\
         Stop everything: make down\n",
        tp = port("ticket-processor"),
        ns = port("notification-sender"),
        dr = port("dlq-redrive"),
        moto = stack.moto.endpoint(),
        tools = emulation::launch::emulator_environment(&stack.moto.endpoint())
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    std::fs::write(
        options.state_dir.join("stack.json"),
        serde_json::to_string_pretty(&state).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(options.state_dir.join("commands.txt"), &commands).map_err(|e| e.to_string())?;
    println!("\n{commands}");

    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    println!("stopping");
    stack.shutdown().await;
    let _ = std::fs::remove_file(options.state_dir.join("stack.json"));
    let _ = std::fs::remove_file(options.state_dir.join("commands.txt"));
    Ok(ExitCode::SUCCESS)
}

/// The functions' metrics so far: the sums of the EMF lines in the stack's function logs.
fn metrics(workspace: &Path) -> Result<ExitCode, String> {
    let logs = Options::for_workspace(workspace).state_dir.join("logs");
    print!(
        "{}",
        local_stack::metrics::summary(&local_stack::metrics::read_logs(&logs)?)
    );
    Ok(ExitCode::SUCCESS)
}

/// Send a message body to a queue of the running stack (`make up`).
async fn send(workspace: &Path, queue: &str, body: &str) -> Result<ExitCode, String> {
    let path = Options::for_workspace(workspace).state_dir.join("stack.json");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .map_err(|_| format!("{} not found: is the stack up (make up)?", path.display()))?,
    )
    .map_err(|e| e.to_string())?;
    let url = state["queues"][queue]
        .as_str()
        .ok_or_else(|| format!("unknown queue {queue:?}; one of ticket, notification, ticket-dlq, notification-dlq"))?;
    let moto = state["moto"].as_str().unwrap_or_default();
    let sdk = moto_harness::sdk_config_at(moto).await;
    let message_id = local_stack::stack::send_message(&sdk, url, body).await?;
    println!("sent {message_id} to {queue}");
    Ok(ExitCode::SUCCESS)
}

/// Create an event in a tickets table wherever the environment points the SDK (`AWS_ENDPOINT_URL`
/// for the emulator; AWS otherwise), through ticket-processor's schema. An existing event is left
/// as it is (exit 0, said so).
async fn seed(args: &SeedArgs) -> Result<ExitCode, String> {
    let SeedArgs {
        table,
        event_id,
        capacity,
        shards,
    } = args;
    let (capacity, shards) = (*capacity, *shards);
    let client = aws_sdk_dynamodb::Client::new(&shared::worker::sdk_config().await);
    match ticket_processor::schema::seed_event(&client, table, event_id, capacity, shards).await {
        Ok(ticket_processor::schema::Seeded::Created) => {
            println!("event {event_id} created in {table}: {capacity} seats on {shards} counters");
        }
        Ok(ticket_processor::schema::Seeded::AlreadyExists) => {
            println!("event {event_id} already exists in {table}; left unchanged");
        }
        Err(error) => return Err(error.to_string()),
    }
    Ok(ExitCode::SUCCESS)
}
