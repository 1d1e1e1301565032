//! One run's results, as the report reads them: what every contender measured, and the ratios
//! the goals are judged on ([`crate::report`] and [`crate::lambda_report`] render them).

use crate::batch_run::{BatchRunResult, Scenario, ScenarioResult};
use crate::init_time::InitResult;
use crate::lambda_like::LambdaResults;
use crate::machine::Machine;
use crate::micro::MicroResult;
use crate::round_trips::RoundTripResult;
use emulation::stats::ratio;

pub const RUST: &str = "ticket-processor";
pub const PYTHON: &str = "powertools";
pub const BASELINE: &str = "hello-world";
pub const WORKERS: [&str; 3] = ["ticket-processor", "notification-sender", "dlq-redrive"];

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub init_runs: usize,
    pub warmup: usize,
    pub batches: usize,
    pub batch_size: usize,
    pub round_trip_batches: usize,
    pub cold_runs: usize,
    pub lambda_warmup: usize,
    pub lambda_batches: usize,
}

/// Tickets each contender's event counts at the end, checked equal to its fresh requests.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IssuedCheck {
    pub label: String,
    pub tickets: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub settings: Settings,
    pub init: Vec<InitResult>,
    pub batches: BatchRunResult,
    pub round_trips: Vec<RoundTripResult>,
    pub micro: Vec<MicroResult>,
    pub issued: Vec<IssuedCheck>,
    pub lambda: LambdaResults,
    pub load_average_at_end: String,
}

impl Results {
    pub(crate) fn init(&self, label: &str) -> Option<&InitResult> {
        self.init.iter().find(|r| r.label == label)
    }

    pub(crate) fn scenario(&self, label: &str, scenario: Scenario) -> Option<&ScenarioResult> {
        self.batches
            .scenarios
            .iter()
            .find(|r| r.label == label && r.scenario == scenario)
    }

    pub(crate) fn round_trip(&self, label: &str, scenario: Scenario) -> Option<&RoundTripResult> {
        self.round_trips
            .iter()
            .find(|r| r.label == label && r.scenario == scenario)
    }

    pub(crate) fn peak_rss_mb(&self, label: &str) -> Option<f64> {
        self.batches
            .peak_rss_kib
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, kib)| *kib as f64 / 1024.0)
    }

    /// Init of `worker` relative to the hello-world baseline (medians).
    pub fn init_ratio(&self, worker: &str) -> Option<f64> {
        ratio(self.init(worker)?.init_ms.median, self.init(BASELINE)?.init_ms.median)
    }

    /// Python's median batch wall time over Rust's.
    pub fn latency_ratio(&self, scenario: Scenario) -> Option<f64> {
        ratio(
            self.scenario(PYTHON, scenario)?.wall_ms.median,
            self.scenario(RUST, scenario)?.wall_ms.median,
        )
    }

    pub fn p95_ratio(&self, scenario: Scenario) -> Option<f64> {
        ratio(
            self.scenario(PYTHON, scenario)?.wall_ms.p95,
            self.scenario(RUST, scenario)?.wall_ms.p95,
        )
    }

    /// Python's CPU per message over Rust's.
    pub fn cpu_ratio(&self, scenario: Scenario) -> Option<f64> {
        ratio(
            self.scenario(PYTHON, scenario)?.cpu_us_per_message,
            self.scenario(RUST, scenario)?.cpu_us_per_message,
        )
    }

    /// Idempotency writes (PutItem + UpdateItem + DeleteItem) per message.
    pub fn idempotency_writes(&self, label: &str, scenario: Scenario) -> Option<f64> {
        let calls = &self.round_trip(label, scenario)?.calls_per_message;
        Some(
            ["DynamoDB.PutItem", "DynamoDB.UpdateItem", "DynamoDB.DeleteItem"]
                .iter()
                .filter_map(|op| calls.get(*op))
                .sum::<f64>()
                + 0.0,
        )
    }

    /// Reads (GetItem, Query, BatchGetItem) per message.
    pub fn reads(&self, label: &str, scenario: Scenario) -> Option<f64> {
        let calls = &self.round_trip(label, scenario)?.calls_per_message;
        Some(
            [
                "DynamoDB.GetItem",
                "DynamoDB.Query",
                "DynamoDB.BatchGetItem",
                "DynamoDB.TransactGetItems",
            ]
            .iter()
            .filter_map(|op| calls.get(*op))
            .sum::<f64>()
                + 0.0,
        )
    }

    pub fn total_calls(&self, label: &str, scenario: Scenario) -> Option<f64> {
        // `+ 0.0`: an empty sum is -0.0, which would print as "-0.00".
        Some(
            self.round_trip(label, scenario)?
                .calls_per_message
                .values()
                .sum::<f64>()
                + 0.0,
        )
    }
}

/// ticket-processor's init without its warm-up call (`WARM_UP_AT_INIT=off`), in section 1.
pub const NO_WARM_UP: &str = "ticket-processor (WARM_UP_AT_INIT=off)";
