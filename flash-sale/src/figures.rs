//! Every figure of a run, as written to JSON (for scripts, and as the committed baseline that a
//! later run's report shows beside its own). Times are seconds of the model's time.

use std::collections::BTreeMap;

use emulation::limits::params::LimitRow;
use emulation::machine::Host;
use serde::{Deserialize, Serialize};

/// p50, p95, p99 and max of a set of samples (nearest rank), and how many there were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(samples: &[f64]) -> Self {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
        if sorted.is_empty() {
            return Self::default();
        }
        sorted.sort_by(f64::total_cmp);
        let at = |p| emulation::stats::percentile_of_sorted(&sorted, p);
        Self {
            count: sorted.len(),
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            max: sorted[sorted.len() - 1],
        }
    }
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    pub seats: u64,
    /// K, the counters the event's seats were spread over (1 before sharding).
    #[serde(default = "one")]
    pub shards: u32,
    pub requests: usize,
    pub duplicates: f64,
    pub producer_duplicates: usize,
    pub admission: String,
    /// People per second (model's time); `None` for a burst.
    pub admission_rate: Option<f64>,
    pub fairness_window_s: f64,
    pub scale: f64,
    pub seed: u64,
    pub visibility_timeout_s: f64,
    /// ticket-issue-queue's and notification-queue's redrive policies.
    pub max_receive_count: Option<u32>,
    #[serde(default)]
    pub notification_max_receive_count: Option<u32>,
    pub batch_size: usize,
    pub maximum_concurrency: BTreeMap<String, usize>,
    pub cpu_share: String,
    pub bin_dir: String,
    pub command: String,
}

/// How each person's request ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    pub people: usize,
    pub tickets: usize,
    pub sold_out: usize,
    pub dead_lettered: usize,
    /// Still in a queue (or at the producer) when the run stopped.
    pub unresolved: usize,
    /// People with more than one of the outcomes above (must be 0).
    pub conflicting: usize,
    /// Ticket items beyond the seats.
    pub oversold: u64,
    /// People holding more than one ticket.
    pub double_tickets: usize,
    /// The event's `issued` counter as stored, and whether it equals the ticket items.
    pub issued_counter: Option<u64>,
    pub counter_matches: bool,
}

/// Sends per person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sends {
    pub emails: usize,
    pub people_emailed: usize,
    /// Emails beyond the first to one person.
    pub repeated_emails: usize,
    pub pushes: usize,
    pub people_pushed: usize,
    pub repeated_pushes: usize,
    /// Notifications enqueued by ticket-processor (one per person expected).
    pub notifications: usize,
    pub notifications_dead_lettered: usize,
    /// Resolved people (a ticket or sold out) without an email.
    pub missing_emails: usize,
    /// SES SendEmail calls the model refused for rate: the workers asked faster than SES allows.
    pub ses_throttled: u64,
    /// The most SendEmail calls attempted (accepted or refused) in any one second.
    pub ses_attempts_max_per_second: u64,
    pub ses_rate: f64,
}

/// What happened to the messages on each source queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Receives {
    pub messages: usize,
    /// Messages received more than once: handed back to SQS at least once.
    pub received_again: usize,
    /// Messages by the highest receive count seen.
    pub by_receive_count: BTreeMap<u32, usize>,
    /// Second receives sooner than the visibility timeout allows: moto handing a message out
    /// twice (an emulator artefact, not a redelivery).
    pub emulator_double_deliveries: usize,
    pub invocations: usize,
    /// Invocations that failed as a whole (error, timeout).
    pub failed_invocations: usize,
    /// Records the function reported failed (handed back to SQS).
    pub failed_records: usize,
}

/// One operation's calls: what the model did and how often moto was slower than the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationFigures {
    pub calls: usize,
    pub conflicts: u64,
    pub throttled: u64,
    /// Forwarded calls whose emulator time exceeded the modelled latency.
    pub emulator_slower: usize,
    pub forwarded: usize,
    /// Modelled latency and the emulator's own time of forwarded calls, milliseconds.
    pub modelled_ms: Percentiles,
    pub emulator_ms: Percentiles,
}

/// Tickets per second against the model's ceiling for one event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Units one ticket's transaction costs on its hottest partition.
    pub units_per_ticket: f64,
    /// The partition's write limit ÷ units per ticket.
    pub write_ceiling: f64,
    /// 1 ÷ the mean time a transaction holds its items.
    pub conflict_ceiling: f64,
    pub ceiling: f64,
    /// Until the last seat was sold (or the run ended): seconds, and tickets per second.
    pub selling_s: f64,
    pub mean: f64,
    pub peak: f64,
    pub mean_to_ceiling: f64,
    pub peak_to_ceiling: f64,
    /// Tickets per second ÷ people admitted per second until the event sold out.
    pub mean_to_admission: Option<f64>,
    /// Tickets in each second of the model's time from the sale's start.
    pub per_second: Vec<u64>,
}

/// One sample of the run's state, every second of wall time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds of the model's time since the sale opened.
    pub t: f64,
    pub admitted: usize,
    /// Admitted but not yet sent by the producer.
    pub waiting_at_producer: usize,
    pub ticket_queue_visible: u64,
    pub ticket_queue_in_flight: u64,
    pub notification_queue_visible: u64,
    pub notification_queue_in_flight: u64,
    pub tickets: usize,
}

/// How a goal of issue 19 or 20 fares in this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    pub issue: u32,
    pub goal: String,
    pub target: String,
    pub measured: String,
    /// `None`: this run cannot tell (another test measures it, or the run's parameters differ).
    pub met: Option<bool>,
}

/// Fields added after the committed baseline was made carry `#[serde(default)]`, so the baseline
/// still reads (`tests/report.rs` fails first when one does not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub label: String,
    pub commit: String,
    pub parameters: Parameters,
    pub limits: Vec<LimitRow>,
    pub host: Host,
    pub load_average_at_end: String,
    pub cpu_share: String,
    /// Wall seconds: the whole run, and the sale until drained (or stopped).
    pub run_s: f64,
    pub sale_wall_s: f64,
    /// CPU seconds the runner itself used (the proxy and its model, the producer, the event
    /// sources): it shares the machine with moto and the workers.
    pub runner_cpu_s: f64,
    /// The sale's length in the model's time: from its start until the last request resolved.
    pub sale_s: f64,
    pub drained: bool,
    pub outcomes: Outcomes,
    pub time_to_ticket: Percentiles,
    /// The workers' part of the time to ticket: from the first time a worker received the
    /// person's request (any of their messages) to the ticket's write; the rest is the wait in
    /// the queue (and at the producer). Runs before this figure existed have none (count 0).
    #[serde(default)]
    pub receive_to_ticket: Percentiles,
    pub time_to_email: Percentiles,
    pub fairness_violations: usize,
    pub refused: usize,
    pub sends: Sends,
    pub ticket_receives: Receives,
    pub notification_receives: Receives,
    /// Messages in each dead-letter queue at the end, and by `error-kind` (`retries-exhausted`
    /// when SQS's redrive policy moved it).
    pub ticket_dead_letters: usize,
    pub notification_dead_letters: usize,
    pub dead_letter_kinds: BTreeMap<String, usize>,
    pub operations: BTreeMap<String, OperationFigures>,
    /// Forwarded calls whose emulator time exceeded the modelled latency, of all forwarded.
    pub emulator_slower_share: f64,
    /// Calls the proxy could not forward (answered 502): its own failures, which must be 0 for the
    /// run to mean anything.
    #[serde(default)]
    pub proxy_errors: Vec<String>,
    pub throughput: Throughput,
    /// Per function: the processes' throttled periods ÷ periods, and throttled seconds.
    pub cpu_throttling: BTreeMap<String, (f64, f64)>,
    pub timeline: Vec<Sample>,
    /// Time-to-ticket samples (seconds), for the chart's distribution.
    pub time_to_ticket_samples: Vec<f64>,
    pub goals: Vec<Goal>,
}
