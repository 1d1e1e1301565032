//! The run's parameters: command-line flags (`clap`), each also read from its `CHAOS_*`
//! environment variable, as the Makefile and docs/chaos.md set them. Every value has a default
//! sized for the short run `make test` does; `make chaos` sets the full run's.

use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;

pub mod env {
    pub const REQUESTS: &str = "CHAOS_REQUESTS";
    pub const DUPLICATE_RATE: &str = "CHAOS_DUPLICATE_RATE";
    pub const FAULT_RATE: &str = "CHAOS_FAULT_RATE";
    pub const KILL_INTERVAL_MS: &str = "CHAOS_KILL_INTERVAL_MS";
    pub const SEED: &str = "CHAOS_SEED";
    pub const EVENTS: &str = "CHAOS_EVENTS";
    pub const POISON: &str = "CHAOS_POISON";
    pub const WORKERS: &str = "CHAOS_WORKERS";
    pub const FUNCTION_TIMEOUT_MS: &str = "CHAOS_FUNCTION_TIMEOUT_MS";
    pub const VISIBILITY_TIMEOUT_S: &str = "CHAOS_VISIBILITY_TIMEOUT_S";
    pub const MAX_RECEIVE_COUNT: &str = "CHAOS_MAX_RECEIVE_COUNT";
    pub const QUEUE_DEPTH: &str = "CHAOS_QUEUE_DEPTH";
    pub const TIME_LIMIT_S: &str = "CHAOS_TIME_LIMIT_S";
    pub const BIN_DIR: &str = "CHAOS_BIN_DIR";
    pub const LOG_DIR: &str = "CHAOS_LOG_DIR";
    pub const TEMPLATE: &str = "CHAOS_TEMPLATE";
    pub const DATA_JSON_MAX: &str = "CHAOS_DATA_JSON_MAX";
    pub const ANSWER_LOST_RATE: &str = "CHAOS_ANSWER_LOST_RATE";
    pub const LIMITS_SCALE: &str = "CHAOS_LIMITS_SCALE";
    pub const FREEZE_INTERVAL_MS: &str = "CHAOS_FREEZE_INTERVAL_MS";
    pub const REDRIVE_CHAOS_ROUNDS: &str = "CHAOS_REDRIVE_CHAOS_ROUNDS";
    pub const CLOCK_SKEW_MS: &str = "CHAOS_CLOCK_SKEW_MS";
    pub const PARTITION_WRITE_UNITS: &str = "CHAOS_PARTITION_WRITE_UNITS";
    pub const FAKETIME_LIBRARY: &str = "CHAOS_FAKETIME_LIBRARY";
    pub const FIFO_REQUESTS: &str = "CHAOS_FIFO_REQUESTS";
}

/// The tolerance for clock offsets the code documents: each process's wall clock within ±1 s of
/// Lambda's (`shared::idempotency`, "Clock offsets"; restated beside `shared::retry_delay` and
/// notification-sender's send budget). The run refuses larger offsets: beyond it the code
/// promises nothing, so a failure would prove nothing.
pub const CLOCK_OFFSET_TOLERANCE_MS: u64 = 1_000;

/// A value parser that also checks the value is within `low..=high`.
fn within<T>(low: T, high: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
    T::Err: Display,
{
    move |text: &str| {
        let value: T = text.trim().parse().map_err(|e: T::Err| e.to_string())?;
        if low <= value && value <= high {
            Ok(value)
        } else {
            Err(format!("must be between {low} and {high}"))
        }
    }
}

/// One chaos run (docs/chaos.md): every flag can also be set by its `CHAOS_*` variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "chaos",
    about = "The chaos run: the release binaries against moto under faults, kills, duplicates and poison"
)]
pub struct Args {
    /// Distinct ticket requests (event, user) sent.
    #[arg(long, env = env::REQUESTS, value_name = env::REQUESTS, default_value_t = 300, value_parser = within(1usize, 100_000))]
    pub requests: usize,
    /// Requests of the FIFO slice (0: none, and its order check is SKIPPED).
    #[arg(long, env = env::FIFO_REQUESTS, value_name = env::FIFO_REQUESTS, default_value_t = 60, value_parser = within(0usize, 100_000))]
    pub fifo_requests: usize,
    /// Share of requests sent again as a new message, and of batches handed to two processes.
    #[arg(long, env = env::DUPLICATE_RATE, value_name = env::DUPLICATE_RATE, default_value_t = 0.2, value_parser = within(0.0f64, 1.0))]
    pub duplicate_rate: f64,
    /// Share of worker calls that get a fault (reset, delay, 500, throttling).
    #[arg(long, env = env::FAULT_RATE, value_name = env::FAULT_RATE, default_value_t = 0.1, value_parser = within(0.0f64, 0.5))]
    pub fault_rate: f64,
    /// Share of worker calls applied with their answer lost.
    #[arg(long, env = env::ANSWER_LOST_RATE, value_name = env::ANSWER_LOST_RATE, default_value_t = 0.02, value_parser = within(0.0f64, 0.5))]
    pub answer_lost_rate: f64,
    /// The limits model in slow motion ×this (0: off).
    #[arg(long, env = env::LIMITS_SCALE, value_name = env::LIMITS_SCALE, default_value_t = 4.0, value_parser = within(0.0f64, 100.0))]
    pub limits_scale: f64,
    /// Write units a DynamoDB partition serves per second of the model's time.
    #[arg(long, env = env::PARTITION_WRITE_UNITS, value_name = env::PARTITION_WRITE_UNITS, default_value_t = 100.0, value_parser = within(1.0f64, 1_000.0))]
    pub partition_write_units: f64,
    /// A busy worker process is SIGKILLed about this often, in ms (0: never).
    #[arg(long, env = env::KILL_INTERVAL_MS, value_name = env::KILL_INTERVAL_MS, default_value_t = 4_000, value_parser = within(0u64, 3_600_000))]
    pub kill_interval_ms: u64,
    /// A busy worker process is frozen about this often, in ms (0: never).
    #[arg(long, env = env::FREEZE_INTERVAL_MS, value_name = env::FREEZE_INTERVAL_MS, default_value_t = 30_000, value_parser = within(0u64, 3_600_000))]
    pub freeze_interval_ms: u64,
    /// dlq-redrive rounds under faults and kills, each killing dlq-redrive mid-replay.
    #[arg(long, env = env::REDRIVE_CHAOS_ROUNDS, value_name = env::REDRIVE_CHAOS_ROUNDS, default_value_t = 1, value_parser = within(0usize, 10))]
    pub redrive_chaos_rounds: usize,
    /// Each worker process's wall clock off by up to ± this, in ms (0: none; at most the
    /// documented tolerance, 1,000).
    #[arg(long, env = env::CLOCK_SKEW_MS, value_name = env::CLOCK_SKEW_MS, default_value_t = 1_000, value_parser = within(0u64, 60_000))]
    pub clock_skew_ms: u64,
    /// libfaketime's multi-threaded preload library.
    #[arg(long, env = env::FAKETIME_LIBRARY, value_name = env::FAKETIME_LIBRARY, default_value = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")]
    pub faketime_library: PathBuf,
    /// Fixes the load plan and the fault draws.
    #[arg(long, env = env::SEED, value_name = env::SEED, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, env = env::EVENTS, value_name = env::EVENTS, default_value_t = 4, value_parser = within(1usize, 1_000))]
    pub events: usize,
    /// Poison messages on ticket-issue-queue (a third as many on notification-queue).
    #[arg(long, env = env::POISON, value_name = env::POISON, default_value_t = 6, value_parser = within(0usize, 10_000))]
    pub poison: usize,
    /// Processes per SQS-triggered function.
    #[arg(long, env = env::WORKERS, value_name = env::WORKERS, default_value_t = 3, value_parser = within(2usize, 20))]
    pub workers: usize,
    #[arg(long, env = env::FUNCTION_TIMEOUT_MS, value_name = env::FUNCTION_TIMEOUT_MS, default_value_t = 15_000, value_parser = within(5_000u64, 900_000))]
    pub function_timeout_ms: u64,
    #[arg(long, env = env::VISIBILITY_TIMEOUT_S, value_name = env::VISIBILITY_TIMEOUT_S, default_value_t = 18, value_parser = within(1u32, 43_200))]
    pub visibility_timeout_s: u32,
    #[arg(long, env = env::MAX_RECEIVE_COUNT, value_name = env::MAX_RECEIVE_COUNT, default_value_t = 3, value_parser = within(1u32, 1_000))]
    pub max_receive_count: u32,
    #[arg(long, env = env::QUEUE_DEPTH, value_name = env::QUEUE_DEPTH, default_value_t = 40, value_parser = within(1usize, 10_000))]
    pub queue_depth: usize,
    #[arg(long, env = env::TIME_LIMIT_S, value_name = env::TIME_LIMIT_S, default_value_t = 600, value_parser = within(10u64, 86_400))]
    pub time_limit_s: u64,
    /// Where `<bin>/bootstrap` are (default: `$CARGO_TARGET_DIR/lambda`).
    #[arg(long, env = env::BIN_DIR, value_name = env::BIN_DIR)]
    pub bin_dir: Option<PathBuf>,
    /// Where the worker processes' logs go (default: `$CARGO_TARGET_DIR/chaos/seed-<seed>`).
    #[arg(long, env = env::LOG_DIR, value_name = env::LOG_DIR)]
    pub log_dir: Option<PathBuf>,
    /// The SAM template (default: the workspace's template.yaml).
    #[arg(long, env = env::TEMPLATE, value_name = env::TEMPLATE)]
    pub template: Option<PathBuf>,
    #[arg(long, env = env::DATA_JSON_MAX, value_name = env::DATA_JSON_MAX, default_value_t = 500, value_parser = within(0usize, 100_000))]
    pub data_json_max: usize,
    /// The build's target directory (default: the workspace's `target`).
    #[arg(long, env = "CARGO_TARGET_DIR", value_name = "CARGO_TARGET_DIR", hide = true)]
    pub cargo_target_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Distinct ticket requests (event, user) sent.
    pub requests: usize,
    /// Requests of the FIFO slice, run after the standard one on the template's FIFO queues with
    /// the same workers and faults (0: no FIFO slice, and its order check is SKIPPED).
    pub fifo_requests: usize,
    /// Share of requests sent a second time as a new message (producer duplicate), and share of
    /// invocations whose batch is also handed to a second process at the same time.
    pub duplicate_rate: f64,
    /// Share of worker→emulator calls that get a fault (reset, delay, 500, throttling).
    pub fault_rate: f64,
    /// Share of worker→emulator calls the emulator applies but whose answer is lost (the
    /// connection is reset before it), drawn among the calls the classic faults leave alone.
    pub answer_lost_rate: f64,
    /// The limits model of AWS (`emulation::limits`) in slow motion ×this, after the fault hook:
    /// DynamoDB's TransactionConflict cancellations (a transaction holds its items for its
    /// modelled service time × scale) and per-partition throttling (rates ÷ scale). SES's and
    /// SNS's account rates are kept at production's (the flash sale measures those). 0: off.
    pub limits_scale: f64,
    /// Write units one DynamoDB partition serves per second in the run (the model's time), in
    /// place of production's 1,000: lowered so that the run's hot items (an event's counter, the
    /// send budget's bucket) are throttled now and then, the rate parameter of that fault.
    pub partition_write_units: f64,
    /// A busy worker process is SIGKILLed about this often (0: never).
    pub kill_interval: Duration,
    /// A busy worker process is frozen (SIGSTOP) about this often (0: never), and killed by its
    /// Runtime API when its invocation passes the deadline, as Lambda's timeout does.
    pub freeze_interval: Duration,
    /// dlq-redrive rounds run before the calm ones with faults and kills still on, each with a
    /// SIGKILL of dlq-redrive's process at a random point (0–1.5 s into it) of the replay.
    pub redrive_chaos_rounds: usize,
    /// Each worker process's wall clock is off by a seeded offset within ± this (libfaketime;
    /// monotonic clocks untouched). 0: no offsets.
    pub clock_skew_ms: u64,
    /// libfaketime's multi-threaded preload library (Debian's `faketime` package).
    pub faketime_library: PathBuf,
    pub seed: u64,
    pub events: usize,
    /// Poison messages on ticket-issue-queue; a third as many go to notification-queue.
    pub poison: usize,
    /// Processes per SQS-triggered function (the event source mapping's maximum concurrency).
    pub workers: usize,
    /// The functions' timeout for the run (the template's 30 s would make every redelivery slow);
    /// above notification-sender's 11 s send margin (its 8 s SNS/SES call timeout and 3 s of
    /// writes: no send starts with less left), as the template's is.
    pub function_timeout: Duration,
    /// The source queues' visibility timeout for the run, set after provisioning.
    pub visibility_timeout_s: u32,
    /// The template's MaxReceiveCount parameter for the run.
    pub max_receive_count: u32,
    /// The producer waits while ticket-issue-queue holds this many visible messages (moto's
    /// ReceiveMessage slows down with queue depth).
    pub queue_depth: usize,
    /// The whole run fails if it has not settled by then: a hang becomes a failure.
    pub time_limit: Duration,
    /// Where `<bin>/bootstrap` are (cargo lambda build --release output).
    pub bin_dir: PathBuf,
    /// Where the worker processes' logs go.
    pub log_dir: PathBuf,
    pub template: PathBuf,
    /// Runs of at most this many requests also read moto's `/moto-api/data.json` and check that
    /// it holds exactly the sends the proxy saw (larger runs make it gigabytes).
    pub data_json_max: usize,
}

impl Params {
    /// The parameters of `args` (flags or `CHAOS_*` variables, already range-checked by clap),
    /// with the defaults that depend on the build, and the checks that relate two of them.
    pub fn from_args(args: Args) -> Result<Self, String> {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = args
            .cargo_target_dir
            .clone()
            .unwrap_or_else(|| workspace.join("target"));
        if args.clock_skew_ms > CLOCK_OFFSET_TOLERANCE_MS {
            return Err(format!(
                "{}={}: above the tolerance for clock offsets the code documents, ±{CLOCK_OFFSET_TOLERANCE_MS} ms per \
                 process (shared::idempotency, \"Clock offsets\")",
                env::CLOCK_SKEW_MS,
                args.clock_skew_ms
            ));
        }
        if u64::from(args.visibility_timeout_s) * 1000 <= args.function_timeout_ms + args.clock_skew_ms {
            return Err(format!(
                "{}={}: must exceed the function timeout ({} ms) plus the clock offsets ({} ms), as on AWS, or \
                 messages come back while still being processed (a process whose clock is ahead takes a lock over \
                 early)",
                env::VISIBILITY_TIMEOUT_S,
                args.visibility_timeout_s,
                args.function_timeout_ms,
                args.clock_skew_ms
            ));
        }
        Ok(Self {
            requests: args.requests,
            fifo_requests: args.fifo_requests,
            duplicate_rate: args.duplicate_rate,
            fault_rate: args.fault_rate,
            answer_lost_rate: args.answer_lost_rate,
            limits_scale: args.limits_scale,
            partition_write_units: args.partition_write_units,
            kill_interval: Duration::from_millis(args.kill_interval_ms),
            freeze_interval: Duration::from_millis(args.freeze_interval_ms),
            redrive_chaos_rounds: args.redrive_chaos_rounds,
            clock_skew_ms: args.clock_skew_ms,
            faketime_library: args.faketime_library,
            seed: args.seed,
            events: args.events,
            poison: args.poison,
            workers: args.workers,
            function_timeout: Duration::from_millis(args.function_timeout_ms),
            visibility_timeout_s: args.visibility_timeout_s,
            max_receive_count: args.max_receive_count,
            queue_depth: args.queue_depth,
            time_limit: Duration::from_secs(args.time_limit_s),
            bin_dir: args.bin_dir.unwrap_or_else(|| target.join("lambda")),
            log_dir: args
                .log_dir
                .unwrap_or_else(|| target.join("chaos").join(format!("seed-{}", args.seed))),
            template: args.template.unwrap_or_else(|| workspace.join("template.yaml")),
            data_json_max: args.data_json_max,
        })
    }

    /// The FIFO slice's parameters: its requests, a third of the poison (at least 3: one of each
    /// kind), its own log directory, and no redrive round under chaos (the standard slice has
    /// them: a replay killed mid-way hides what it received for a minute, which would double
    /// the slice's time; the calm replays run on the FIFO queues); the rest as the standard
    /// slice's: the same faults, kills, freezes, duplicates and clock offsets.
    pub fn fifo_slice(&self) -> Self {
        Self {
            requests: self.fifo_requests,
            poison: (self.poison / 3).max(3),
            redrive_chaos_rounds: 0,
            log_dir: self.log_dir.join("fifo"),
            ..self.clone()
        }
    }

    /// `KEY=value` lines that reproduce this run.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        vec![
            (env::SEED, self.seed.to_string()),
            (env::REQUESTS, self.requests.to_string()),
            (env::FIFO_REQUESTS, self.fifo_requests.to_string()),
            (env::EVENTS, self.events.to_string()),
            (env::DUPLICATE_RATE, self.duplicate_rate.to_string()),
            (env::FAULT_RATE, self.fault_rate.to_string()),
            (env::ANSWER_LOST_RATE, self.answer_lost_rate.to_string()),
            (env::LIMITS_SCALE, self.limits_scale.to_string()),
            (env::PARTITION_WRITE_UNITS, self.partition_write_units.to_string()),
            (env::KILL_INTERVAL_MS, self.kill_interval.as_millis().to_string()),
            (env::FREEZE_INTERVAL_MS, self.freeze_interval.as_millis().to_string()),
            (env::REDRIVE_CHAOS_ROUNDS, self.redrive_chaos_rounds.to_string()),
            (env::CLOCK_SKEW_MS, self.clock_skew_ms.to_string()),
            (env::POISON, self.poison.to_string()),
            (env::WORKERS, self.workers.to_string()),
            (env::FUNCTION_TIMEOUT_MS, self.function_timeout.as_millis().to_string()),
            (env::VISIBILITY_TIMEOUT_S, self.visibility_timeout_s.to_string()),
            (env::MAX_RECEIVE_COUNT, self.max_receive_count.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Params, String> {
        let args = Args::try_parse_from(["chaos", "--cargo-target-dir", "/t"].iter().chain(flags))
            .map_err(|e| e.to_string())?;
        Params::from_args(args)
    }

    #[test]
    fn the_limits_models_buckets_hold_one_wall_second_at_any_scale() {
        for scale in ["1", "4", "10"] {
            let limits = crate::run::chaos_limits(&parse(&["--limits-scale", scale]).unwrap());
            assert!((limits.burst_seconds_in_force() - 1.0).abs() < 1e-9, "scale {scale}");
        }
    }

    #[test]
    fn defaults_are_the_short_run_and_values_are_range_checked_by_name() {
        let params = parse(&[]).unwrap();
        assert_eq!((params.requests, params.seed, params.events), (300, 1, 4));
        assert_eq!(params.bin_dir, PathBuf::from("/t/lambda"));
        let error = parse(&["--fault-rate", "0.9"]).unwrap_err();
        assert!(error.contains(env::FAULT_RATE), "{error}");
        let error = parse(&["--answer-lost-rate", "2"]).unwrap_err();
        assert!(error.contains(env::ANSWER_LOST_RATE), "{error}");
        let error = parse(&["--seed", "x"]).unwrap_err();
        assert!(error.contains(env::SEED), "{error}");
        let error = parse(&["--visibility-timeout-s", "5"]).unwrap_err();
        assert!(error.contains("function timeout"), "{error}");
        let error = parse(&["--clock-skew-ms", "1001"]).unwrap_err();
        assert!(
            error.contains(env::CLOCK_SKEW_MS) && error.contains("tolerance"),
            "{error}"
        );
        let at_the_tolerance = parse(&["--clock-skew-ms", "1000"]).unwrap();
        assert_eq!(at_the_tolerance.clock_skew_ms, CLOCK_OFFSET_TOLERANCE_MS);
        let fifo = at_the_tolerance.fifo_slice();
        assert_eq!((fifo.requests, fifo.poison), (60, 3));
    }

    #[test]
    fn every_variable_the_makefile_and_the_docs_use_is_a_flag_s_environment_variable() {
        use clap::CommandFactory;
        let command = Args::command();
        let variables: Vec<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_env().map(|v| v.to_string_lossy().into_owned()))
            .collect();
        for name in [
            env::REQUESTS,
            env::FIFO_REQUESTS,
            env::DUPLICATE_RATE,
            env::FAULT_RATE,
            env::KILL_INTERVAL_MS,
            env::SEED,
            env::EVENTS,
            env::POISON,
            env::WORKERS,
            env::FUNCTION_TIMEOUT_MS,
            env::VISIBILITY_TIMEOUT_S,
            env::MAX_RECEIVE_COUNT,
            env::QUEUE_DEPTH,
            env::TIME_LIMIT_S,
            env::BIN_DIR,
            env::LOG_DIR,
            env::TEMPLATE,
            env::DATA_JSON_MAX,
            env::ANSWER_LOST_RATE,
            env::LIMITS_SCALE,
            env::FREEZE_INTERVAL_MS,
            env::REDRIVE_CHAOS_ROUNDS,
            env::CLOCK_SKEW_MS,
            env::PARTITION_WRITE_UNITS,
            env::FAKETIME_LIBRARY,
        ] {
            assert!(variables.iter().any(|v| v == name), "{name} is read");
        }
        let makefile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Makefile")).unwrap();
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/chaos.md")).unwrap();
        for text in [makefile, docs] {
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("CHAOS_") && word.len() > "CHAOS_".len() {
                    assert!(variables.iter().any(|v| v == word), "{word} is used but not read");
                }
            }
        }
    }
}
