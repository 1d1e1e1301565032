//! The run's parameters, read once from the environment. Every value has a default sized for the
//! short run `make test` does; `make chaos` sets the full run's.

use std::path::PathBuf;
use std::time::Duration;

use shared::config::{ConfigError, Environment};

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Distinct ticket requests (event, user) sent.
    pub requests: usize,
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
    pub fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = environment
            .optional("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let seed = environment.parse_or(env::SEED, 1u64)?;
        let params = Self {
            requests: environment.parse_in(env::REQUESTS, 300, 1..=100_000)?,
            duplicate_rate: environment.parse_in(env::DUPLICATE_RATE, 0.2, 0.0..=1.0)?,
            fault_rate: environment.parse_in(env::FAULT_RATE, 0.1, 0.0..=0.5)?,
            answer_lost_rate: environment.parse_in(env::ANSWER_LOST_RATE, 0.02, 0.0..=0.5)?,
            limits_scale: environment.parse_in(env::LIMITS_SCALE, 4.0, 0.0..=100.0)?,
            partition_write_units: environment.parse_in(env::PARTITION_WRITE_UNITS, 100.0, 1.0..=1_000.0)?,
            kill_interval: Duration::from_millis(environment.parse_in(env::KILL_INTERVAL_MS, 4_000, 0..=3_600_000)?),
            freeze_interval: Duration::from_millis(environment.parse_in(
                env::FREEZE_INTERVAL_MS,
                30_000,
                0..=3_600_000,
            )?),
            redrive_chaos_rounds: environment.parse_in(env::REDRIVE_CHAOS_ROUNDS, 1, 0..=10)?,
            clock_skew_ms: environment.parse_in(env::CLOCK_SKEW_MS, 1_000, 0..=60_000)?,
            faketime_library: environment
                .optional(env::FAKETIME_LIBRARY)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")),
            seed,
            events: environment.parse_in(env::EVENTS, 4, 1..=1_000)?,
            poison: environment.parse_in(env::POISON, 6, 0..=10_000)?,
            workers: environment.parse_in(env::WORKERS, 3, 2..=20)?,
            function_timeout: Duration::from_millis(environment.parse_in(
                env::FUNCTION_TIMEOUT_MS,
                15_000,
                5_000..=900_000,
            )?),
            visibility_timeout_s: environment.parse_in(env::VISIBILITY_TIMEOUT_S, 18, 1..=43_200)?,
            max_receive_count: environment.parse_in(env::MAX_RECEIVE_COUNT, 3, 1..=1_000)?,
            queue_depth: environment.parse_in(env::QUEUE_DEPTH, 40, 1..=10_000)?,
            time_limit: Duration::from_secs(environment.parse_in(env::TIME_LIMIT_S, 600, 10..=86_400)?),
            bin_dir: environment
                .optional(env::BIN_DIR)
                .map(PathBuf::from)
                .unwrap_or_else(|| target.join("lambda")),
            log_dir: environment
                .optional(env::LOG_DIR)
                .map(PathBuf::from)
                .unwrap_or_else(|| target.join("chaos").join(format!("seed-{seed}"))),
            template: environment
                .optional(env::TEMPLATE)
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace.join("template.yaml")),
            data_json_max: environment.parse_in(env::DATA_JSON_MAX, 500, 0..=100_000)?,
        };
        if params.visibility_timeout_s as u128 * 1000 <= params.function_timeout.as_millis() {
            return Err(ConfigError::Malformed {
                name: env::VISIBILITY_TIMEOUT_S.to_owned(),
                value: params.visibility_timeout_s.to_string(),
                reason: format!(
                    "must exceed the function timeout ({} ms), as on AWS, or messages come back while still being processed",
                    params.function_timeout.as_millis()
                ),
            });
        }
        Ok(params)
    }

    /// `KEY=value` lines that reproduce this run.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        vec![
            (env::SEED, self.seed.to_string()),
            (env::REQUESTS, self.requests.to_string()),
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

    #[test]
    fn defaults_are_the_short_run_and_values_are_range_checked_by_name() {
        let params = Params::from_env(&Environment::from_pairs([("CARGO_TARGET_DIR", "/t")])).unwrap();
        assert_eq!((params.requests, params.seed, params.events), (300, 1, 4));
        assert_eq!(params.bin_dir, PathBuf::from("/t/lambda"));
        let error = Params::from_env(&Environment::from_pairs([(env::FAULT_RATE, "0.9")])).unwrap_err();
        assert!(error.to_string().contains(env::FAULT_RATE), "{error}");
        let error = Params::from_env(&Environment::from_pairs([(env::ANSWER_LOST_RATE, "2")])).unwrap_err();
        assert!(error.to_string().contains(env::ANSWER_LOST_RATE), "{error}");
        let error = Params::from_env(&Environment::from_pairs([(env::SEED, "x")])).unwrap_err();
        assert!(error.to_string().contains(env::SEED), "{error}");
        let error = Params::from_env(&Environment::from_pairs([(env::VISIBILITY_TIMEOUT_S, "5")])).unwrap_err();
        assert!(error.to_string().contains("function timeout"), "{error}");
    }
}
