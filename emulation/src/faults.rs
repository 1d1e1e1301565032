//! The chaos run's hook: each call draws, from the seeded generator, whether it gets a fault and
//! which:
//!
//! - **reset**: the connection is closed with a TCP reset before the call is forwarded (the SDK
//!   sees an I/O error; the emulator never sees the request);
//! - **delay**: forwarded, and the answer held back 50–1,000 ms (below every SDK attempt timeout
//!   of the workers, so a delay slows a call but never makes the SDK send it twice);
//! - **server error**: answered 500 InternalFailure in the service's protocol, not forwarded;
//! - **throttling**: answered with the service's throttling error, not forwarded;
//! - **answer lost** (its own rate, [`FaultPolicy::answer_lost_rate`]): forwarded, the emulator
//!   applies it, and the connection is reset before its answer goes back. The SDK sees the same
//!   I/O error as a reset, but the write happened: a retried conditional write finds its own
//!   effect, a retried SendMessage enqueues a second copy, and an SNS Publish or SES SendEmail
//!   (no idempotency token) is classed ambiguous by notification-sender and sent again by the
//!   redelivery, by design (see docs/chaos.md; the run excuses exactly those repeats).
//!
//! The four classic faults answer without forwarding and never leave a half-applied write
//! behind; answer-lost is the one that does. A reset or a 500 looks just as ambiguous to the
//! worker as a lost answer, which sends again on redelivery: the emulator never saw the first, so
//! the run still expects one send.
//!
//! The n-th call draws the n-th decision of the seed's sequence; which call is n-th depends on
//! scheduling, so a seed reproduces the faults' mix and rate, not which call gets which.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::answers::{ErrorAnswer, fault};
use crate::call::{Call, Service};
use crate::hook::{Decision, Hook};
use crate::rng::Rng;

/// What the hook did with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Forwarded,
    Reset,
    Delayed,
    ServerError,
    Throttled,
    AnswerLost,
}

impl Outcome {
    /// The classic faults, drawn at [`FaultPolicy::rate`].
    pub const FAULTS: [Outcome; 4] = [
        Outcome::Reset,
        Outcome::Delayed,
        Outcome::ServerError,
        Outcome::Throttled,
    ];

    /// Every fault, as reported.
    pub const ALL_FAULTS: [Outcome; 5] = [
        Outcome::Reset,
        Outcome::Delayed,
        Outcome::ServerError,
        Outcome::Throttled,
        Outcome::AnswerLost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::Reset => "reset",
            Outcome::Delayed => "delayed",
            Outcome::ServerError => "500",
            Outcome::Throttled => "throttled",
            Outcome::AnswerLost => "answer-lost",
        }
    }
}

/// Which faults the hook draws from, and how often.
#[derive(Debug, Clone)]
pub struct FaultPolicy {
    pub rate: f64,
    /// Share of the calls the classic faults leave alone that are applied but lose their answer.
    pub answer_lost_rate: f64,
    /// The kinds drawn, equally likely. Default: all four.
    pub kinds: Vec<Outcome>,
    pub delay: (Duration, Duration),
}

impl FaultPolicy {
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            answer_lost_rate: 0.0,
            kinds: Outcome::FAULTS.to_vec(),
            delay: (Duration::from_millis(50), Duration::from_millis(1_000)),
        }
    }

    /// Every call gets `kind`: for tests of one fault's shape.
    pub fn always(kind: Outcome) -> Self {
        if kind == Outcome::AnswerLost {
            return Self {
                rate: 0.0,
                answer_lost_rate: 1.0,
                ..Self::new(0.0)
            };
        }
        Self {
            rate: 1.0,
            kinds: vec![kind],
            ..Self::new(1.0)
        }
    }
}

/// Per service, what the hook did with how many calls.
pub type FaultCounts = BTreeMap<(Service, Outcome), u64>;

pub struct FaultHook {
    rng: Mutex<Rng>,
    policy: FaultPolicy,
    /// The rates in force, as f64 bits: the chaos run turns faults off for its calm phase.
    rate: AtomicU64,
    answer_lost_rate: AtomicU64,
    counts: Mutex<FaultCounts>,
}

impl FaultHook {
    pub fn new(seed: u64, policy: FaultPolicy) -> Self {
        Self {
            rng: Mutex::new(Rng::fork(seed, "proxy")),
            rate: AtomicU64::new(policy.rate.to_bits()),
            answer_lost_rate: AtomicU64::new(policy.answer_lost_rate.to_bits()),
            policy,
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Change the classic faults' rate from now on (0: none).
    pub fn set_rate(&self, rate: f64) {
        self.rate.store(rate.to_bits(), Ordering::Relaxed);
    }

    /// Change the answer-lost rate from now on (0: none).
    pub fn set_answer_lost_rate(&self, rate: f64) {
        self.answer_lost_rate.store(rate.to_bits(), Ordering::Relaxed);
    }

    pub fn counts(&self) -> FaultCounts {
        self.counts.lock().unwrap().clone()
    }

    fn draw(&self) -> (Outcome, Duration) {
        let rate = f64::from_bits(self.rate.load(Ordering::Relaxed));
        let lost_rate = f64::from_bits(self.answer_lost_rate.load(Ordering::Relaxed));
        let mut rng = self.rng.lock().unwrap();
        // Every draw happens whatever the rates, so the sequence does not depend on them.
        let faulty = rng.chance(rate);
        let kind = self.policy.kinds[rng.below(self.policy.kinds.len() as u64) as usize];
        let (low, high) = self.policy.delay;
        let delay = Duration::from_millis(rng.between(low.as_millis() as u64, high.as_millis() as u64));
        let lost = rng.chance(lost_rate);
        let outcome = match (faulty, lost) {
            (true, _) => kind,
            (false, true) => Outcome::AnswerLost,
            (false, false) => Outcome::Forwarded,
        };
        (outcome, delay)
    }
}

impl Hook for FaultHook {
    fn name(&self) -> &'static str {
        "faults"
    }

    fn decide(&self, call: &Call, _now: Instant) -> Decision {
        let (outcome, delay) = self.draw();
        *self.counts.lock().unwrap().entry((call.service, outcome)).or_default() += 1;
        match outcome {
            Outcome::Forwarded => Decision::forward(),
            Outcome::Delayed => Decision::forward().delayed(delay),
            Outcome::Reset => Decision::reset(),
            Outcome::AnswerLost => Decision::lose_answer(),
            Outcome::ServerError => Decision::answer(fault(call.service, ErrorAnswer::ServerError)),
            Outcome::Throttled => Decision::answer(fault(call.service, ErrorAnswer::Throttling)),
        }
    }
}
