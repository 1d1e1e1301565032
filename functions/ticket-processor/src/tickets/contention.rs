//! Contention is handled where it happens: a transaction that lost a race (`TransactionConflict`)
//! or was throttled is tried again inside the invocation, with decorrelated jitter, for as long
//! as the invocation's deadline allows. Handing it back to SQS instead costs a receive and a
//! redelivery delay, and lets requests admitted later take the seats.

use std::time::Duration;

use shared::Deadline;
use shared::backoff::DecorrelatedJitter;
use tokio::time::Instant;

use super::error::{Context, IssueError, Problem};

/// Why an attempt is worth repeating at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contention {
    /// Another transaction held one of the items.
    Conflict,
    /// The table throttled the request (cancellation reason, or after the SDK's own retries).
    Throttled(String),
}

/// How long contended requests keep trying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentionRetry {
    /// Shortest pause: 10 ms, about one transaction's hold on its items.
    pub base: Duration,
    /// Longest pause: 500 ms, so a loser tries at least twice a second.
    pub cap: Duration,
    /// Retries stop this long before the invocation's deadline: the batch's deadline margin
    /// (`BATCH_DEADLINE_MARGIN_MS`, 3 s), room to enqueue the notification and record completion.
    pub deadline_margin: Duration,
    /// Without a deadline (`cargo lambda watch` sends none), retries stop after 10 s.
    pub without_deadline: Duration,
}

impl Default for ContentionRetry {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(500),
            deadline_margin: shared::BatchConfig::default().deadline_margin,
            without_deadline: Duration::from_secs(10),
        }
    }
}

impl ContentionRetry {
    /// The retry budget of one request starting now.
    pub(super) fn budget(&self, deadline: Deadline) -> Budget {
        let started = Instant::now();
        let stop_at = match deadline.remaining() {
            Some(left) => started + left.saturating_sub(self.deadline_margin),
            None => started + self.without_deadline,
        };
        Budget {
            started,
            stop_at,
            jitter: DecorrelatedJitter::new(self.base, self.cap),
            conflicts: 0,
            throttles: 0,
        }
    }
}

/// One request's retries so far.
#[derive(Debug)]
pub(super) struct Budget {
    started: Instant,
    stop_at: Instant,
    jitter: DecorrelatedJitter,
    pub conflicts: u32,
    pub throttles: u32,
}

impl Budget {
    /// Pause before the next attempt, or the error to give up with when the pause would end
    /// after the budget.
    pub(super) async fn wait(&mut self, contention: Contention, context: &Context<'_>) -> Result<(), IssueError> {
        match &contention {
            Contention::Conflict => self.conflicts += 1,
            Contention::Throttled(_) => self.throttles += 1,
        }
        let pause = self.jitter.next_pause();
        if Instant::now() + pause > self.stop_at {
            let attempts = self.conflicts + self.throttles;
            return Err(context.error(match contention {
                Contention::Conflict => Problem::Conflict {
                    attempts,
                    waited_ms: self.started.elapsed().as_millis() as u64,
                },
                Contention::Throttled(reason) => Problem::Throttled { attempts, reason },
            }));
        }
        tracing::debug!(
            ?contention,
            pause_ms = pause.as_millis() as u64,
            "contended; trying again"
        );
        tokio::time::sleep(pause).await;
        Ok(())
    }

    pub(super) fn contended(&self) -> bool {
        self.conflicts + self.throttles > 0
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: Context<'static> = Context {
        table: "tickets",
        message_id: "m-1",
        event_id: "e-1",
        user_id: "u-1",
    };

    /// On tokio's paused clock: every pause is taken in full, instantly.
    #[tokio::test(start_paused = true)]
    async fn retries_last_until_the_deadline_minus_the_margin() {
        let retry = ContentionRetry {
            deadline_margin: Duration::from_secs(3),
            ..ContentionRetry::default()
        };
        // 3.3 s left, 3 s of margin: 300 ms of retries, 10–500 ms each.
        let mut budget = retry.budget(Deadline::after(Duration::from_millis(3300)));
        let started = Instant::now();
        let mut waits = 0;
        let error = loop {
            match budget.wait(Contention::Conflict, &CONTEXT).await {
                Ok(()) => waits += 1,
                Err(error) => break error,
            }
        };
        assert!(waits >= 1, "at least the 10 ms pause fits");
        assert!(
            started.elapsed() <= Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        assert!(
            matches!(error.problem, Problem::Conflict { attempts, .. } if attempts == waits + 1),
            "{error}"
        );

        let mut none_left = retry.budget(Deadline::after(Duration::from_secs(2)));
        let throttled = none_left
            .wait(Contention::Throttled("ThrottlingError".into()), &CONTEXT)
            .await
            .unwrap_err();
        assert_eq!(throttled.kind(), "throttled");
        assert!(throttled.to_string().contains("ThrottlingError"), "{throttled}");
    }

    #[test]
    fn without_a_deadline_the_budget_is_capped() {
        let budget = ContentionRetry::default().budget(Deadline::NONE);
        let span = budget.stop_at - budget.started;
        assert_eq!(span, Duration::from_secs(10));
    }
}
