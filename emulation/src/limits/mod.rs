//! The model of AWS's production limits, as a hook of the proxy. Every call is answered no
//! sooner than its operation's modelled latency after it arrived (concurrently: the emulator's
//! serialisation is not the clock; where the emulator is slower, its exchange says so). On top:
//!
//! - **DynamoDB optimistic concurrency** ([`holds`]): a TransactWriteItems or TransactGetItems
//!   naming an item an ongoing write transaction holds is cancelled with
//!   `TransactionCanceledException`, reason `TransactionConflict` at that item's index and `None`
//!   elsewhere; a PutItem, UpdateItem or DeleteItem on a held item gets
//!   `TransactionConflictException`. An admitted TransactWriteItems holds its items for its
//!   modelled service time (the latency drawn for it); a TransactGetItems holds nothing (no
//!   request conflicts with an ongoing one), but conflicts with a single write in progress.
//! - **DynamoDB throughput per partition key** ([`bucket`]): each partition key value has a write
//!   bucket and a read bucket (1,000 WCU/s and 3,000 RCU/s); an item costs one unit per 1 KB
//!   written or 4 KB read (half for an eventually consistent read), transactional items twice.
//!   A transaction over budget is cancelled with `ThrottlingError` (on-demand) or
//!   `ProvisionedThroughputExceeded` (provisioned) at the throttled items' indexes; a single call
//!   gets `ThrottlingException` or `ProvisionedThroughputExceededException` with the reason
//!   `Table<Read|Write>KeyRangeThroughputExceeded`.
//! - **SES's sending rate** and **SNS's Publish rate** per account: excess gets SESv2's 429
//!   `TooManyRequestsException` ("Maximum sending rate exceeded.") and SNS's `Throttling`.
//!
//! Refused calls consume nothing and hold nothing. Not modelled: Query and Scan capacity,
//! BatchWriteItem/BatchGetItem (unprocessed items), table-level and account-level DynamoDB
//! quotas, SQS limits (standard queues are nearly unlimited), SES's daily quota.
//!
//! Every figure is a parameter ([`params::Limits`]), with its default and source next to it.

pub mod bucket;
pub mod holds;
pub mod latency;
pub mod params;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::answers::{self, Answer, CancellationReason};
use crate::call::{Call, ItemAccess, PartitionKey, Service};
use crate::hook::{Decision, Hook};
use crate::rng::Rng;
use bucket::Bucket;
use holds::Holds;
use latency::LatencyTable;
use params::Limits;

/// What the model did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Verdict {
    Admitted,
    Conflict,
    Throttled,
}

/// Per operation (`DynamoDB.TransactWriteItems`), how many calls got each verdict.
pub type ModelCounts = BTreeMap<String, BTreeMap<Verdict, u64>>;

struct State {
    rng: Rng,
    holds: Holds,
    writes: HashMap<PartitionKey, Bucket>,
    reads: HashMap<PartitionKey, Bucket>,
    ses: Option<Bucket>,
    sns: Option<Bucket>,
    counts: ModelCounts,
}

pub struct LimitsModel {
    limits: Limits,
    latency: LatencyTable,
    state: Mutex<State>,
}

/// Units one item costs and on which bucket.
struct Cost {
    partition: PartitionKey,
    write: bool,
    units: f64,
}

impl LimitsModel {
    pub fn new(limits: Limits) -> Self {
        Self {
            latency: LatencyTable::new(&limits.latencies, limits.scale),
            state: Mutex::new(State {
                rng: Rng::fork(limits.seed, "limits"),
                holds: Holds::default(),
                writes: HashMap::new(),
                reads: HashMap::new(),
                ses: None,
                sns: None,
                counts: BTreeMap::new(),
            }),
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn latency(&self) -> &LatencyTable {
        &self.latency
    }

    /// Verdicts so far, per operation.
    pub fn counts(&self) -> ModelCounts {
        self.state.lock().unwrap().counts.clone()
    }

    /// The mean time a transaction holds its items: 1 ÷ this is the most transactions per
    /// second one item can take (the conflict-bound ceiling), in the run's time.
    pub fn mean_transaction_hold(&self) -> Duration {
        let mean_ms = self.latency.of(Service::DynamoDb, "TransactWriteItems").mean();
        Duration::from_secs_f64(mean_ms / 1_000.0)
    }

    /// Write units per second one partition key takes, in the run's time.
    pub fn partition_write_rate(&self) -> f64 {
        self.limits.rate(self.limits.partition_write_units_per_second)
    }

    /// What an item costs: units per 1 KB written or 4 KB read (at least one), eventually
    /// consistent reads half, transactional items `transactional_multiplier` times.
    fn cost(&self, item: &ItemAccess, transactional: bool) -> Cost {
        let l = &self.limits;
        let write = item.access.writes();
        let size = item.size_bytes.max(1) as f64;
        let mut units = if write {
            (size / l.write_unit_bytes).ceil()
        } else {
            (size / l.read_unit_bytes).ceil() * if item.consistent { 1.0 } else { 0.5 }
        };
        if transactional {
            units *= l.transactional_multiplier;
        }
        Cost {
            partition: item.key.partition_key(),
            write,
            units,
        }
    }

    /// What `call` costs on the partition it charges most (at transactional prices for a
    /// transaction): one ticket's worth of a partition's budget, for its throughput ceiling.
    pub fn hottest_partition_units(&self, call: &Call) -> f64 {
        let transactional = call.operation.starts_with("Transact");
        let costs: Vec<Cost> = call.items.iter().map(|item| self.cost(item, transactional)).collect();
        totals(&costs).into_values().fold(0.0, f64::max)
    }

    /// The partitions of `costs` whose bucket cannot take their total at `now`.
    fn over_budget(&self, state: &mut State, costs: &[Cost], now: Instant) -> Vec<PartitionKey> {
        let mut over = Vec::new();
        for ((partition, write), units) in totals(costs) {
            if !self.bucket(state, &partition, write, now).admits(units, now) {
                over.push(partition);
            }
        }
        over
    }

    fn bucket<'s>(&self, state: &'s mut State, partition: &PartitionKey, write: bool, now: Instant) -> &'s mut Bucket {
        let (buckets, rate) = if write {
            (&mut state.writes, self.limits.partition_write_units_per_second)
        } else {
            (&mut state.reads, self.limits.partition_read_units_per_second)
        };
        buckets
            .entry(partition.clone())
            .or_insert_with(|| Bucket::new(self.limits.rate(rate), self.limits.burst_seconds_in_force(), now))
    }

    fn charge(&self, state: &mut State, costs: &[Cost], now: Instant) {
        for cost in costs {
            self.bucket(state, &cost.partition, cost.write, now).take(cost.units);
        }
    }

    /// TransactWriteItems and TransactGetItems.
    fn transaction(&self, state: &mut State, call: &Call, now: Instant, due: Instant) -> (Verdict, Option<Answer>) {
        let reading = call.operation == "TransactGetItems";
        let conflicts: Vec<bool> = call
            .items
            .iter()
            .map(|item| state.holds.held(&item.key, now) || (reading && state.holds.being_written(&item.key, now)))
            .collect();
        if conflicts.iter().any(|c| *c) {
            let reasons: Vec<CancellationReason> = conflicts
                .iter()
                .map(|c| {
                    if *c {
                        CancellationReason::TransactionConflict
                    } else {
                        CancellationReason::None
                    }
                })
                .collect();
            return (Verdict::Conflict, Some(answers::transaction_canceled(&reasons)));
        }
        let costs: Vec<Cost> = call.items.iter().map(|item| self.cost(item, true)).collect();
        let over = self.over_budget(state, &costs, now);
        if !over.is_empty() {
            let reasons: Vec<CancellationReason> = call
                .items
                .iter()
                .map(|item| match call.table_info.get(&item.key.table) {
                    Some(table) if over.contains(&item.key.partition_key()) => CancellationReason::throttled(table),
                    _ => CancellationReason::None,
                })
                .collect();
            return (Verdict::Throttled, Some(answers::transaction_canceled(&reasons)));
        }
        self.charge(state, &costs, now);
        // Only a write transaction holds its items: DynamoDB lists no conflict with an ongoing
        // TransactGetItems, so concurrent reads of one item never cancel each other.
        if !reading {
            for item in &call.items {
                state.holds.hold(item.key.clone(), due);
            }
        }
        (Verdict::Admitted, None)
    }

    /// GetItem, PutItem, UpdateItem, DeleteItem.
    fn single_item(&self, state: &mut State, call: &Call, now: Instant, due: Instant) -> (Verdict, Option<Answer>) {
        let Some(item) = call.items.first() else {
            return (Verdict::Admitted, None);
        };
        let write = item.access.writes();
        if write && state.holds.held(&item.key, now) {
            return (Verdict::Conflict, Some(answers::transaction_conflict()));
        }
        let cost = [self.cost(item, false)];
        if !self.over_budget(state, &cost, now).is_empty()
            && let Some(table) = call.table_info.get(&item.key.table)
        {
            return (Verdict::Throttled, Some(answers::dynamodb_throttled(table, write)));
        }
        self.charge(state, &cost, now);
        if write {
            state.holds.writing(item.key.clone(), due);
        }
        (Verdict::Admitted, None)
    }

    /// One per-account rate: SES SendEmail, SNS Publish.
    fn account_rate(
        &self,
        bucket: &mut Option<Bucket>,
        rate: f64,
        now: Instant,
        refusal: fn() -> Answer,
    ) -> (Verdict, Option<Answer>) {
        let bucket = bucket
            .get_or_insert_with(|| Bucket::new(self.limits.rate(rate), self.limits.burst_seconds_in_force(), now));
        if bucket.try_take(1.0, now) {
            (Verdict::Admitted, None)
        } else {
            (Verdict::Throttled, Some(refusal()))
        }
    }
}

/// Units per partition and direction (write or read).
fn totals(costs: &[Cost]) -> BTreeMap<(PartitionKey, bool), f64> {
    let mut totals: BTreeMap<(PartitionKey, bool), f64> = BTreeMap::new();
    for cost in costs {
        *totals.entry((cost.partition.clone(), cost.write)).or_default() += cost.units;
    }
    totals
}

impl Hook for LimitsModel {
    fn name(&self) -> &'static str {
        "limits"
    }

    fn decide(&self, call: &Call, now: Instant) -> Decision {
        let mut guard = self.state.lock().unwrap();
        let state = &mut *guard;
        let latency = self.latency.draw(call.service, &call.operation, &mut state.rng);
        let due = now + latency;
        state.holds.prune(now);
        let (verdict, answer) = match (call.service, call.operation.as_str()) {
            (Service::DynamoDb, "TransactWriteItems" | "TransactGetItems") => self.transaction(state, call, now, due),
            (Service::DynamoDb, "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem") => {
                self.single_item(state, call, now, due)
            }
            (Service::Ses, "SendEmail") => self.account_rate(
                &mut state.ses,
                self.limits.ses_max_send_rate,
                now,
                answers::ses_sending_rate_exceeded,
            ),
            (Service::Sns, "Publish") => self.account_rate(
                &mut state.sns,
                self.limits.sns_publish_rate,
                now,
                answers::sns_throttled,
            ),
            _ => (Verdict::Admitted, None),
        };
        *state
            .counts
            .entry(call.full_name())
            .or_default()
            .entry(verdict)
            .or_default() += 1;
        match answer {
            Some(answer) => Decision::answer(answer).not_before(due),
            None => Decision::forward().not_before(due),
        }
    }
}
