//! The invocation deadline, from `Context.deadline` (epoch milliseconds).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When the current invocation times out. `None` when the caller has no deadline
/// (a local run without a Runtime API); code must still behave sensibly then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline {
    epoch_ms: Option<u64>,
}

impl Deadline {
    /// No deadline.
    pub const NONE: Deadline = Deadline { epoch_ms: None };

    /// A deadline at `epoch_ms` milliseconds since the Unix epoch, taken as given (see
    /// [`Deadline::from_context`] for Lambda's).
    pub fn at_epoch_ms(epoch_ms: u64) -> Self {
        Self {
            epoch_ms: Some(epoch_ms),
        }
    }

    /// From the Lambda context, at the start of an invocation. Lambda never starts an invocation
    /// after its deadline, so a deadline already past is an emulator's placeholder (`cargo lambda
    /// watch` 1.9 sends a fixed 600000, ten minutes after 1970; a hand-built `Context` has 0) and
    /// means none, rather than one that would stop every record from starting.
    pub fn from_context(ctx: &lambda_runtime::Context) -> Self {
        let deadline = Self::at_epoch_ms(ctx.deadline);
        if deadline.remaining().is_some_and(|left| left.is_zero()) {
            if ctx.deadline != 0 {
                tracing::warn!(
                    deadline_ms = ctx.deadline,
                    "the invocation's deadline has already passed: not a Lambda deadline (a local emulator?); running without one"
                );
            }
            return Self::NONE;
        }
        deadline
    }

    /// A deadline `after` from now.
    pub fn after(after: Duration) -> Self {
        Self::at_epoch_ms(epoch_ms(SystemTime::now()) + after.as_millis() as u64)
    }

    /// Milliseconds since the Unix epoch; `None` without a deadline.
    pub fn epoch_ms(&self) -> Option<u64> {
        self.epoch_ms
    }

    /// Time left at `now`; `None` without a deadline, zero once passed.
    pub fn remaining_at(&self, now: SystemTime) -> Option<Duration> {
        self.epoch_ms
            .map(|deadline| Duration::from_millis(deadline.saturating_sub(epoch_ms(now))))
    }

    /// Time left now; `None` without a deadline, zero once passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.remaining_at(SystemTime::now())
    }
}

pub(crate) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}
