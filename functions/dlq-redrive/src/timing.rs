//! Timing of a dry run or replay: long polling, how long received messages stay hidden, the
//! deadline margin.

use std::time::Duration;

use shared::Deadline;

/// Fixed in production ([`Timing::default`]); tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Long-poll wait of each ReceiveMessage. An empty receive ends the run, so this is also
    /// what the last, empty receive costs. Default 2 s: long enough that SQS asks all its servers
    /// (a short poll can miss messages), short enough to keep invocations of several DLQs quick.
    pub wait_time: Duration,
    /// How long received messages stay hidden. `None` (default): until the invocation's deadline
    /// plus [`Timing::visibility_slack`], so messages that stay in the DLQ (parked, filtered
    /// out, failed) are not received twice in one run; they are made visible again when the run
    /// ends. Only a crash leaves them hidden until the timeout passes.
    pub visibility_timeout: Option<Duration>,
    /// Added to the time left when deriving the visibility timeout.
    pub visibility_slack: Duration,
    /// No new receive starts with less than this (plus [`Timing::wait_time`]) left: room for the
    /// batch's send and delete, releasing held messages and the report. Default 5 s.
    pub deadline_margin: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            wait_time: Duration::from_secs(2),
            visibility_timeout: None,
            visibility_slack: Duration::from_secs(30),
            deadline_margin: Duration::from_secs(5),
        }
    }
}

/// Without a deadline (a local run), messages stay hidden this long: the longest Lambda invocation.
const WITHOUT_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// SQS's limit for a visibility timeout.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

impl Timing {
    /// The visibility timeout for a receive now, in whole seconds as SQS takes it.
    pub fn visibility_timeout_seconds(&self, deadline: Deadline) -> i32 {
        let timeout = self
            .visibility_timeout
            .unwrap_or_else(|| deadline.remaining().unwrap_or(WITHOUT_DEADLINE) + self.visibility_slack);
        timeout.min(MAX_VISIBILITY).as_secs().max(1) as i32
    }

    /// Whether another receive (with its long-poll wait) may start before the deadline.
    pub fn time_for_another_batch(&self, deadline: Deadline) -> bool {
        deadline
            .remaining()
            .is_none_or(|left| left >= self.deadline_margin + self.wait_time)
    }

    pub fn wait_time_seconds(&self) -> i32 {
        self.wait_time.as_secs().min(20) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_hidden_past_the_deadline_unless_set() {
        let timing = Timing::default();
        let seconds = timing.visibility_timeout_seconds(Deadline::after(Duration::from_secs(60)));
        assert!((85..=90).contains(&seconds), "{seconds}");
        assert_eq!(timing.visibility_timeout_seconds(Deadline::NONE), 15 * 60 + 30);
        let fixed = Timing {
            visibility_timeout: Some(Duration::from_secs(2)),
            ..Timing::default()
        };
        assert_eq!(
            fixed.visibility_timeout_seconds(Deadline::after(Duration::from_secs(600))),
            2
        );
    }

    #[test]
    fn no_batch_starts_within_the_margin() {
        let timing = Timing::default();
        assert!(timing.time_for_another_batch(Deadline::NONE));
        assert!(timing.time_for_another_batch(Deadline::after(Duration::from_secs(60))));
        assert!(!timing.time_for_another_batch(Deadline::after(Duration::from_secs(6))));
    }
}
