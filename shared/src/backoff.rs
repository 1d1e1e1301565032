//! Jittered backoff: how long to wait before trying again.
//!
//! Two shapes, after the AWS Architecture Blog's "Exponential Backoff And Jitter" (2015):
//! - [`DecorrelatedJitter`] for retries inside one invocation (a transaction that lost a race):
//!   each pause is drawn between `base` and three times the previous one, capped, so concurrent
//!   losers spread out instead of colliding again in lockstep;
//! - [`by_attempt`] for a retry counted by someone else (SQS's `ApproximateReceiveCount`): the
//!   n-th pause is `base × 2^(n-1)`, capped, then "equal jitter" takes a random point in its upper
//!   half, so it never drops to zero.

use std::time::Duration;

/// Pauses between `base` and `cap`, each drawn from `[base, 3 × previous]`.
#[derive(Debug, Clone)]
pub struct DecorrelatedJitter {
    base: Duration,
    cap: Duration,
    previous: Duration,
}

impl DecorrelatedJitter {
    /// Starts at `base`; a `cap` below `base` is raised to `base`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        let cap = cap.max(base);
        Self {
            base,
            cap,
            previous: base,
        }
    }

    /// The next pause, drawn with `fraction` in [0, 1) (see [`random_fraction`]).
    pub fn next_with(&mut self, fraction: f64) -> Duration {
        let upper = (self.previous * 3).min(self.cap).max(self.base);
        let pause = self.base + (upper - self.base).mul_f64(fraction.clamp(0.0, 1.0));
        self.previous = pause;
        pause
    }

    /// The next pause, drawn at random.
    pub fn next_pause(&mut self) -> Duration {
        self.next_with(random_fraction())
    }
}

/// The pause before attempt `attempt + 1` after `attempt` failed ones (`attempt` ≥ 1):
/// `min(cap, base × 2^(attempt-1))`, then a point in its upper half chosen by `fraction` in [0, 1).
pub fn by_attempt(base: Duration, cap: Duration, attempt: u32, fraction: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    let full = base.saturating_mul(1u32 << doublings.min(31)).min(cap);
    full / 2 + (full / 2).mul_f64(fraction.clamp(0.0, 1.0))
}

/// A uniformly random number in [0, 1).
pub fn random_fraction() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn decorrelated_pauses_stay_between_base_and_cap_and_grow_from_the_previous_one() {
        let mut jitter = DecorrelatedJitter::new(10 * MS, 400 * MS);
        assert_eq!(jitter.next_with(0.0), 10 * MS, "the lowest draw is the base");
        // From a previous 10 ms, the highest draw is 30 ms; then 90 ms, 270 ms, capped at 400 ms.
        assert_eq!(jitter.next_with(1.0), 30 * MS);
        assert_eq!(jitter.next_with(1.0), 90 * MS);
        assert_eq!(jitter.next_with(1.0), 270 * MS);
        assert_eq!(jitter.next_with(1.0), 400 * MS);
        assert_eq!(jitter.next_with(1.0), 400 * MS);
        let mut random = DecorrelatedJitter::new(10 * MS, 400 * MS);
        for _ in 0..1000 {
            let pause = random.next_pause();
            assert!((10 * MS..=400 * MS).contains(&pause), "{pause:?}");
        }
    }

    #[test]
    fn pauses_by_attempt_double_up_to_the_cap_and_never_reach_zero() {
        let (base, cap) = (Duration::from_secs(2), Duration::from_secs(300));
        assert_eq!(by_attempt(base, cap, 1, 0.0), Duration::from_secs(1));
        assert_eq!(by_attempt(base, cap, 1, 1.0), Duration::from_secs(2));
        assert_eq!(by_attempt(base, cap, 2, 1.0), Duration::from_secs(4));
        assert_eq!(by_attempt(base, cap, 3, 0.5), Duration::from_secs(6));
        assert_eq!(by_attempt(base, cap, 9, 1.0), cap, "2 s × 2^8 = 512 s, capped");
        assert_eq!(by_attempt(base, cap, 1000, 0.0), cap / 2, "no overflow however large");
        assert_eq!(
            by_attempt(base, cap, 0, 1.0),
            base,
            "a count of 0 (attribute missing) is the first attempt"
        );
    }
}
