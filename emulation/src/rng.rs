//! A small seeded generator (SplitMix64): the same seed gives the same sequence on every machine
//! and every build, which is all a reproducible run needs. Each concern forks its own stream, so
//! adding a draw in one (say, the proxy) does not shift another's (the load).

/// SplitMix64 (Steele, Lea, Flood 2014): one u64 of state, passes BigCrush, trivially seedable.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for `label`, derived from `seed` alone.
    pub fn fork(seed: u64, label: &str) -> Self {
        // FNV-1a of the label, mixed with the seed: stable across Rust versions (unlike std's hasher).
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in label.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = Self::new(seed ^ hash);
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in low..=high.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_its_sequence_and_forks_are_independent() {
        let draw = |mut rng: Rng| (0..5).map(|_| rng.next_u64()).collect::<Vec<_>>();
        assert_eq!(draw(Rng::new(7)), draw(Rng::new(7)));
        assert_ne!(draw(Rng::new(7)), draw(Rng::new(8)));
        assert_eq!(draw(Rng::fork(7, "load")), draw(Rng::fork(7, "load")));
        assert_ne!(draw(Rng::fork(7, "load")), draw(Rng::fork(7, "proxy")));
    }

    #[test]
    fn draws_stay_in_range_and_chance_follows_its_rate() {
        let mut rng = Rng::new(42);
        let mut hits = 0;
        for _ in 0..10_000 {
            assert!((0.0..1.0).contains(&rng.unit()));
            assert!(rng.below(3) < 3);
            assert!((5..=9).contains(&rng.between(5, 9)));
            hits += usize::from(rng.chance(0.2));
        }
        assert!((1_700..2_300).contains(&hits), "{hits} of 10,000 at 20%");
        assert_eq!(rng.below(0), 0);
    }
}
