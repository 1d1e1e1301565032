//! Batch latency and CPU: batches of ticket requests, fresh then all-duplicate, sent to each
//! contender in turn (the order alternating from one batch to the next) through its Runtime API
//! stub, every process talking to the same emulator.
//!
//! Wall time is measured per batch, from queuing the invocation to its response. CPU time is the
//! process's own (all threads) over each scenario's measured batches, divided by their messages;
//! a contender waiting for its next invocation while the other works uses none.

use std::time::{Duration, Instant};

use crate::bench_stack::{BenchStack, Workspace};
use crate::error::BenchError;
use crate::function_process::FunctionProcess;
use crate::ticket_batches::{TicketBatch, failed_message_ids, fresh_batch, redelivery};
use emulation::stats::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scenario {
    /// Every record is new: the work runs.
    Fresh,
    /// Every record was processed before: idempotency answers.
    Duplicate,
}

impl Scenario {
    pub fn as_str(&self) -> &'static str {
        match self {
            Scenario::Fresh => "fresh",
            Scenario::Duplicate => "all-duplicate",
        }
    }
}

/// A process and what it works on.
pub struct Contender<'a> {
    pub process: &'a FunctionProcess,
    pub workspace: &'a Workspace,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ScenarioResult {
    pub label: String,
    pub scenario: Scenario,
    pub batches: usize,
    pub messages: usize,
    /// Milliseconds per batch.
    pub wall_ms: Summary,
    /// CPU microseconds per message, from the process's CPU clock.
    pub cpu_us_per_message: f64,
    /// The same from `/proc/<pid>/stat` (10 ms ticks), as a cross-check.
    pub stat_cpu_us_per_message: f64,
    /// CPU microseconds per message used between sending each batch and its response only.
    pub in_batch_cpu_us_per_message: f64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BatchRunResult {
    pub scenarios: Vec<ScenarioResult>,
    /// Peak RSS of each contender over the whole run, KiB.
    pub peak_rss_kib: Vec<(String, u64)>,
    /// Fresh messages sent to each contender (warm-up included).
    pub fresh_messages: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: usize,
    pub batches: usize,
    pub batch_size: usize,
}

struct Tally {
    wall_ms: Vec<f64>,
    cpu: Duration,
    ticks: u64,
    in_batch_cpu: Duration,
}

/// Run both scenarios for every contender.
pub async fn run(stack: &BenchStack, contenders: &[Contender<'_>], plan: Plan) -> Result<BatchRunResult, BenchError> {
    let mut sent: Vec<Vec<TicketBatch>> = vec![Vec::new(); contenders.len()];
    let mut scenarios = Vec::new();
    for scenario in [Scenario::Fresh, Scenario::Duplicate] {
        let mut tallies: Vec<Option<(Tally, Duration, u64)>> = contenders.iter().map(|_| None).collect();
        let mut wall: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
        for round in 0..plan.warmup + plan.batches {
            if round == plan.warmup {
                for (index, contender) in contenders.iter().enumerate() {
                    tallies[index] = Some((
                        Tally {
                            wall_ms: Vec::new(),
                            cpu: Duration::ZERO,
                            ticks: 0,
                            in_batch_cpu: Duration::ZERO,
                        },
                        contender.process.cpu_time()?,
                        contender.process.cpu_ticks()?,
                    ));
                }
            }
            let order: Vec<usize> = if round % 2 == 0 {
                (0..contenders.len()).collect()
            } else {
                (0..contenders.len()).rev().collect()
            };
            for index in order {
                let contender = &contenders[index];
                let batch = match scenario {
                    Scenario::Fresh => {
                        let batch = fresh_batch(
                            &contender.workspace.event_id,
                            &contender.workspace.source_queue_arn,
                            plan.batch_size,
                        );
                        sent[index].push(batch.clone());
                        batch
                    }
                    Scenario::Duplicate => redelivery(&sent[index][round % sent[index].len()]),
                };
                let cpu_before = contender.process.cpu_time()?;
                let elapsed = invoke_batch(contender.process, &batch).await?;
                let in_batch = contender.process.cpu_time()? - cpu_before;
                if let Some((tally, _, _)) = tallies[index].as_mut() {
                    tally.in_batch_cpu += in_batch;
                }
                if scenario == Scenario::Fresh {
                    stack.forget_tickets(contender.workspace, &batch).await?;
                }
                if round >= plan.warmup {
                    wall[index].push(elapsed.as_secs_f64() * 1e3);
                }
            }
        }
        for (index, contender) in contenders.iter().enumerate() {
            let (mut tally, cpu_before, ticks_before) = tallies[index].take().expect("set at the first measured round");
            tally.cpu = contender.process.cpu_time()? - cpu_before;
            tally.ticks = contender.process.cpu_ticks()? - ticks_before;
            tally.wall_ms = std::mem::take(&mut wall[index]);
            let messages = plan.batches * plan.batch_size;
            let tick_us = 1e6 / crate::process_usage::clock_ticks_per_second() as f64;
            scenarios.push(ScenarioResult {
                label: contender.process.label.clone(),
                scenario,
                batches: plan.batches,
                messages,
                wall_ms: Summary::of(&tally.wall_ms)
                    .ok_or_else(|| BenchError::check(&contender.process.label, "no measured batches"))?,
                cpu_us_per_message: tally.cpu.as_secs_f64() * 1e6 / messages as f64,
                stat_cpu_us_per_message: tally.ticks as f64 * tick_us / messages as f64,
                in_batch_cpu_us_per_message: tally.in_batch_cpu.as_secs_f64() * 1e6 / messages as f64,
            });
        }
    }
    let mut peak_rss_kib = Vec::new();
    let mut fresh_messages = Vec::new();
    for (index, contender) in contenders.iter().enumerate() {
        peak_rss_kib.push((contender.process.label.clone(), contender.process.peak_rss_kib()?));
        fresh_messages.push((
            contender.process.label.clone(),
            sent[index].iter().map(|b| b.message_ids.len() as u64).sum(),
        ));
    }
    Ok(BatchRunResult {
        scenarios,
        peak_rss_kib,
        fresh_messages,
    })
}

/// Invoke one batch and check that every record succeeded; returns the wall time.
pub async fn invoke_batch(process: &FunctionProcess, batch: &TicketBatch) -> Result<Duration, BenchError> {
    let payload = batch.payload.clone();
    let started = Instant::now();
    let response = process.invoke(payload).await?;
    let elapsed = started.elapsed();
    let failed = failed_message_ids(&response).map_err(|e| BenchError::check(&process.label, e))?;
    if !failed.is_empty() {
        return Err(BenchError::check(
            &process.label,
            format!(
                "{} of {} records failed ({failed:?}); a benchmark of failures measures nothing; see {}",
                failed.len(),
                batch.message_ids.len(),
                process.log.display()
            ),
        ));
    }
    Ok(elapsed)
}
