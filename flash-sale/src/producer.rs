//! The producer that plays the waiting room: each person is admitted at their time in the line
//! and their request sent to ticket-issue-queue (ten at a time), duplicates too. The producer is
//! not under test: it calls the emulator directly, not through the proxy.
//!
//! moto's queue gets slower as it grows, so the producer keeps at most `depth_cap` messages
//! visible in it; admitted people beyond that wait at the producer (they count in the queue
//! depth of the report, and their wait in their time to ticket, as they would in SQS).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::sale::Sale;

/// Wall-clock instant at which `due` (model seconds after `t0`) falls.
pub fn wall(t0: Instant, due: f64, scale: f64) -> Instant {
    t0 + Duration::from_secs_f64(due * scale)
}

/// Send the sale's messages as they become due; `sent` counts what is in the queue.
pub async fn produce(
    sale: &Sale,
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    depth_cap: u64,
    scale: f64,
    t0: Instant,
    sent: &AtomicUsize,
) -> Result<(), String> {
    let mut next = 0;
    while next < sale.messages.len() {
        tokio::time::sleep_until(wall(t0, sale.messages[next].due, scale).into()).await;
        while emulation::queues::depth(sqs, queue).await?.visible >= depth_cap {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let now = Instant::now();
        let chunk: Vec<usize> = (next..sale.messages.len())
            .take(10)
            .take_while(|&i| wall(t0, sale.messages[i].due, scale) <= now)
            .collect();
        let bodies: Vec<&str> = chunk
            .iter()
            .map(|&i| sale.people[sale.messages[i].person].body.as_str())
            .collect();
        emulation::queues::send_batch(sqs, queue, &bodies).await?;
        next += chunk.len();
        sent.store(next, Ordering::Relaxed);
    }
    Ok(())
}
