//! `maxPerSecond`: spaces batches so the average rate since the start stays at or under the limit.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    per_second: Option<u32>,
    started: Instant,
    sent: u64,
}

impl Pacer {
    pub(crate) fn new(per_second: Option<u32>) -> Self {
        Self {
            per_second,
            started: Instant::now(),
            sent: 0,
        }
    }

    /// The largest batch to take next: at most 10 (SQS's batch limit) and at most one second's worth,
    /// so a low rate is not met by bursts of 10.
    pub(crate) fn batch_size(&self) -> usize {
        self.per_second.map_or(10, |rate| (rate as usize).clamp(1, 10))
    }

    /// How long to wait before the next batch.
    pub(crate) fn delay(&self) -> Duration {
        delay(self.per_second, self.sent, self.started.elapsed())
    }

    pub(crate) fn record(&mut self, messages: usize) {
        self.sent += messages as u64;
    }
}

/// `sent` messages at `per_second` may not be done before `sent / per_second` seconds.
fn delay(per_second: Option<u32>, sent: u64, elapsed: Duration) -> Duration {
    let Some(rate) = per_second.filter(|rate| *rate > 0) else {
        return Duration::ZERO;
    };
    let earliest = Duration::from_secs_f64(sent as f64 / rate as f64);
    earliest.saturating_sub(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_the_average_rate_is_respected() {
        assert_eq!(delay(None, 1000, Duration::ZERO), Duration::ZERO);
        assert_eq!(delay(Some(5), 0, Duration::ZERO), Duration::ZERO);
        assert_eq!(
            delay(Some(5), 10, Duration::from_millis(500)),
            Duration::from_millis(1500)
        );
        assert_eq!(delay(Some(5), 10, Duration::from_secs(3)), Duration::ZERO);
        assert_eq!(delay(Some(1), 3, Duration::from_secs(1)), Duration::from_secs(2));
    }

    #[test]
    fn batches_never_exceed_one_seconds_worth() {
        assert_eq!(Pacer::new(None).batch_size(), 10);
        assert_eq!(Pacer::new(Some(3)).batch_size(), 3);
        assert_eq!(Pacer::new(Some(500)).batch_size(), 10);
    }
}
