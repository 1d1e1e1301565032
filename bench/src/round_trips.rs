//! Round trips: every AWS call each contender makes, counted by the counting hook of its own proxy, per
//! fresh and per duplicate message; and from the same calls, how much of each batch's wall
//! time the handler spent with no call in flight (its own overhead, plus the stub's).
//!
//! This runs on separate processes from the latency run, so the proxy's extra hop never
//! weighs on the latency figures.

use std::collections::BTreeMap;

use crate::batch_run::{Contender, Scenario, invoke_batch};
use crate::bench_stack::BenchStack;
use crate::error::BenchError;
use crate::ticket_batches::{fresh_batch, redelivery};
use emulation::counting::{CountingHook, busy_time, count_by_operation};
use emulation::proxy::Proxy;
use emulation::stats::Summary;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RoundTripResult {
    pub label: String,
    pub scenario: Scenario,
    pub messages: usize,
    /// Calls per message, by operation (`DynamoDB.PutItem`, `SQS.SendMessage`, …).
    pub calls_per_message: BTreeMap<String, f64>,
    /// Per batch, milliseconds: the wall time, the time with at least one call in flight, and
    /// the rest (the handler's own time plus the Runtime API round trip).
    pub wall_ms: Summary,
    pub emulator_ms: Summary,
    pub handler_ms: Summary,
    /// CPU microseconds per message of the process in this run, whose connections (to the
    /// proxy) stay alive between calls.
    pub cpu_us_per_message: f64,
    /// TCP connections the process opened per message.
    pub connections_per_message: f64,
}

/// Count `batches` fresh batches, then their redeliveries, for each contender; `proxies[i]` is
/// the proxy contender `i`'s process sends its calls to. One fresh batch first warms each up.
pub async fn count(
    stack: &BenchStack,
    contenders: &[Contender<'_>],
    proxies: &[(&Proxy, &CountingHook)],
    batches: usize,
    batch_size: usize,
) -> Result<(Vec<RoundTripResult>, Vec<(String, u64)>), BenchError> {
    let mut results = Vec::new();
    let mut fresh_messages = Vec::new();
    for (contender, (proxy, counting)) in contenders.iter().zip(proxies) {
        let workspace = contender.workspace;
        let warmup = fresh_batch(&workspace.event_id, &workspace.source_queue_arn, batch_size);
        invoke_batch(contender.process, &warmup).await?;
        stack.forget_tickets(workspace, &warmup).await?;
        counting.take();
        proxy.take_connections();
        let fresh: Vec<_> = (0..batches)
            .map(|_| fresh_batch(&workspace.event_id, &workspace.source_queue_arn, batch_size))
            .collect();
        let duplicates: Vec<_> = fresh.iter().map(redelivery).collect();
        for (scenario, sent) in [(Scenario::Fresh, &fresh), (Scenario::Duplicate, &duplicates)] {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            let (mut wall, mut emulator, mut handler) = (Vec::new(), Vec::new(), Vec::new());
            let mut cpu = std::time::Duration::ZERO;
            for batch in sent {
                let cpu_before = contender.process.cpu_time()?;
                let elapsed = invoke_batch(contender.process, batch).await?;
                cpu += contender.process.cpu_time()? - cpu_before;
                let calls = counting.take();
                if scenario == Scenario::Fresh {
                    // Directly, not through the proxy: not the contender's calls.
                    stack.forget_tickets(workspace, batch).await?;
                }
                let busy = busy_time(&calls);
                for (operation, n) in count_by_operation(&calls) {
                    *counts.entry(operation).or_default() += n;
                }
                wall.push(elapsed.as_secs_f64() * 1e3);
                emulator.push(busy.as_secs_f64() * 1e3);
                handler.push(elapsed.saturating_sub(busy).as_secs_f64() * 1e3);
            }
            let messages = batches * batch_size;
            let summary = |samples: &[f64]| {
                Summary::of(samples).ok_or_else(|| BenchError::check(&contender.process.label, "no batches counted"))
            };
            results.push(RoundTripResult {
                label: contender.process.label.clone(),
                scenario,
                messages,
                calls_per_message: counts
                    .into_iter()
                    .map(|(operation, n)| (operation, n as f64 / messages as f64))
                    .collect(),
                wall_ms: summary(&wall)?,
                emulator_ms: summary(&emulator)?,
                handler_ms: summary(&handler)?,
                cpu_us_per_message: cpu.as_secs_f64() * 1e6 / messages as f64,
                connections_per_message: proxy.take_connections() as f64 / messages as f64,
            });
        }
        fresh_messages.push((contender.process.label.clone(), ((batches + 1) * batch_size) as u64));
    }
    Ok((results, fresh_messages))
}
