//! A token bucket: a rate per second and a depth of `burst` seconds of that rate. A request
//! that needs more than the bucket can ever hold is admitted from a full bucket and leaves it in
//! debt, so over any long period the bucket admits exactly its rate, whatever the request sizes.

use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn new(rate: f64, burst_seconds: f64, now: Instant) -> Self {
        let capacity = (rate * burst_seconds).max(f64::MIN_POSITIVE);
        Self {
            rate,
            capacity,
            tokens: capacity,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        if now > self.at {
            let elapsed = (now - self.at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
            self.at = now;
        }
    }

    /// Whether `units` could be taken at `now` (nothing is taken).
    pub fn admits(&mut self, units: f64, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= units.min(self.capacity) - 1e-9
    }

    /// Take `units` (after [`Bucket::admits`] said yes).
    pub fn take(&mut self, units: f64) {
        self.tokens -= units;
    }

    /// Take `units` at `now` if they are there.
    pub fn try_take(&mut self, units: f64, now: Instant) -> bool {
        let admitted = self.admits(units, now);
        if admitted {
            self.take(units);
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Offer `units` every `every` for `seconds`; what is admitted.
    fn offered(bucket: &mut Bucket, start: Instant, units: f64, every: Duration, seconds: u64) -> f64 {
        let mut admitted = 0.0;
        let mut now = start;
        while now < start + Duration::from_secs(seconds) {
            if bucket.try_take(units, now) {
                admitted += units;
            }
            now += every;
        }
        admitted
    }

    #[test]
    fn under_overload_a_bucket_admits_its_rate_plus_its_depth_exactly() {
        let start = Instant::now();
        // 1,000 units/s offered in 1-unit requests at 4,000/s for 10 s.
        let mut bucket = Bucket::new(1_000.0, 1.0, start);
        let admitted = offered(&mut bucket, start, 1.0, Duration::from_micros(250), 10);
        assert!((admitted - 11_000.0).abs() <= 1.0, "{admitted}");
        // 4-unit requests (a transactional write of two items' worth on one partition).
        let mut bucket = Bucket::new(1_000.0, 1.0, start);
        let admitted = offered(&mut bucket, start, 4.0, Duration::from_micros(250), 10);
        assert!((admitted - 11_000.0).abs() <= 4.0, "{admitted}");
    }

    #[test]
    fn under_its_rate_everything_is_admitted_and_an_oversized_request_leaves_a_debt() {
        let start = Instant::now();
        let mut bucket = Bucket::new(14.0, 1.0, start);
        let admitted = offered(&mut bucket, start, 1.0, Duration::from_millis(100), 5);
        assert_eq!(admitted, 50.0);
        // Rate 2/s, depth 2: a request of 5 is admitted from a full bucket, leaving 3 in debt;
        // the next request of 1 waits until the bucket holds 1 again, 2 s later.
        let mut small = Bucket::new(2.0, 1.0, start);
        assert!(small.try_take(5.0, start));
        assert!(!small.try_take(1.0, start + Duration::from_millis(1_900)));
        assert!(small.try_take(1.0, start + Duration::from_millis(2_000)));
    }
}
