//! The send budget: SES and SNS are sent to no faster than a configured rate, however many
//! invocations run at once.
//!
//! **Mechanism: one shared slot schedule per channel** (GCRA, the generic cell rate algorithm,
//! as a reservation). A bucket's whole state is its next free slot; every send first reserves a
//! slot with one conditional DynamoDB write ([`DynamoDbBudgetStore`]) and waits for it, so slots
//! are one `1 ÷ rate` apart whatever the number of invocations, execution environments or
//! records in flight: the rate holds because the schedule is shared, not because concurrency is
//! capped. The SDK's own retries of throttling answers stay as the backstop.
//!
//! - A slot is taken only when the send can still finish before the invocation's deadline: no
//!   later than the deadline minus [`SEND_DEADLINE_MARGIN`] (the call's time limit plus the
//!   step's writes), or [`MAX_WAIT_WITHOUT_DEADLINE`] from now without a deadline.
//! - When every slot up to then is taken, nothing is reserved and the send is *deferred*: the
//!   record fails retryably, naming the time a fresh invocation can expect a slot, and the retry
//!   delay (`shared::retry_delay`) brings it back then.
//! - Burst: none. Slots never come closer than one interval (an idle bucket starts at now), so
//!   the rate is exceeded only by the jitter of the requests' travel to the provider.
//! - **Reserved ahead by the reservation's own round trip.** A slot asked for "now" is only
//!   known when the store answers; a slot already past by then is sent at once, so sends whose
//!   reservations took different times would bunch (measured in `make flash-sale` with a slow
//!   DynamoDB: up to 28 SendEmail attempts in one second at a 14/s budget). Each budget asks for
//!   its slots no earlier than now plus the longest of its last [`ROUND_TRIPS_KEPT`] reservation
//!   round trips ([`RoundTrips`]), so the answer arrives before the slot and the send waits for
//!   it. On DynamoDB (milliseconds) this adds milliseconds to a send.
//!
//! **Clock offsets: tolerated up to ±1 s per process** (the tolerance of `shared::idempotency`,
//! "Clock offsets"). Slots are instants of the wall clock, and each process reserves and waits
//! for them in its own (`:now` of the reservation's condition, the wait until the slot): a
//! process whose clock runs d ahead sends d early in real time, one behind sends d late. So
//! within the tolerance two processes' consecutive slots, one interval apart in the schedule,
//! may go out up to 2 s closer together or further apart in real time: over any window, the
//! sends exceed the rate by at most 2 s worth of slots (28 emails at SES's 14/s, far fewer with
//! the usual offsets of milliseconds), which SES or SNS throttle and the SDK's retries absorb,
//! the backstop above. The deadline checks compare Lambda's deadline with the same clock: a
//! process 1 s behind starts its last send 1 s closer to the deadline than
//! [`SEND_DEADLINE_MARGIN`] says, leaving the step's writes 2 s of their 3 s
//! ([`STEP_WRITES`]): the completion write's first attempt still fits (it takes milliseconds),
//! only its retries are cut short.
//!
//! Failure modes, when the setting is wrong: a rate **above** the account's real one (another
//! sender in the account, a quota lowered by AWS) lets SES or SNS throttle: the SDK retries each
//! throttled call (standard mode, 3 attempts), then the record fails retryably and comes back
//! after its retry delay, within `maxReceiveCount` receives; the email's rate is also capped at
//! cold start by the account's own (`GetAccount`, [`crate::send_quota`]). A rate **below** it
//! only slows notifications down (the queue-age alarm shows it). If DynamoDB cannot take the
//! reservation, nothing is sent and the record is retried (`SendBudgetUnavailable`): the step's
//! own lock needs DynamoDB too.

mod dynamodb;
mod memory;
mod store;

pub use dynamodb::DynamoDbBudgetStore;
pub use memory::MemoryBudgetStore;
pub use store::{BudgetError, BudgetStore, Reservation, SlotRequest};

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use shared::{Deadline, Idempotency};

use crate::channels::Channel;
use crate::classify::{FailureClass, SendFailure};
use crate::clients::SEND_TIMEOUT;

/// What a step still does after its send returns: the completion write (tried again while its
/// lock has more than 2 s left, `shared::idempotency`) and the batch's own calls for the record.
pub const STEP_WRITES: Duration = Duration::from_secs(3);
/// No send starts with less than this left before the invocation's deadline: the send's time
/// limit plus the step's writes, so a send never outlives its invocation.
pub const SEND_DEADLINE_MARGIN: Duration = SEND_TIMEOUT.saturating_add(STEP_WRITES);
/// The longest wait for a slot when the invocation has no deadline (a local emulator).
pub const MAX_WAIT_WITHOUT_DEADLINE: Duration = Duration::from_secs(20);

/// How many of a budget's latest reservation round trips decide how far ahead it reserves.
pub const ROUND_TRIPS_KEPT: usize = 16;
/// The most a budget reserves ahead, whatever its round trips.
pub const MAX_RESERVE_AHEAD: Duration = Duration::from_secs(2);

/// `operation` of the failures the budget answers with.
pub const SEND_BUDGET: &str = "send budget";

/// One channel's budget: its rate and the bucket its slots are reserved in.
#[derive(Clone)]
pub struct SendBudget {
    store: Arc<dyn BudgetStore>,
    bucket: String,
    rate: f64,
    interval: Duration,
    round_trips: Arc<RoundTrips>,
}

/// A granted slot: when the send may go, and how late the store's answer made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The reserved time.
    pub at: SystemTime,
    /// How long after `at` the answer came (zero when it came before the slot).
    pub late_by: Duration,
}

/// The latest reservation round trips of one budget (every clone shares them).
#[derive(Debug, Default)]
pub struct RoundTrips(Mutex<VecDeque<Duration>>);

impl RoundTrips {
    /// How far ahead of now to ask for a slot: the longest of the kept round trips, at most
    /// [`MAX_RESERVE_AHEAD`].
    pub fn ahead(&self) -> Duration {
        let kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.iter().max().copied().unwrap_or_default().min(MAX_RESERVE_AHEAD)
    }

    /// Keeps one more round trip, forgetting the oldest beyond [`ROUND_TRIPS_KEPT`].
    pub fn record(&self, round_trip: Duration) {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() == ROUND_TRIPS_KEPT {
            kept.pop_front();
        }
        kept.push_back(round_trip);
    }
}

impl std::fmt::Debug for SendBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBudget")
            .field("bucket", &self.bucket)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl SendBudget {
    /// `rate_per_second` sends a second, at least one microsecond apart.
    pub fn new(store: Arc<dyn BudgetStore>, bucket: impl Into<String>, rate_per_second: f64) -> Self {
        // Rounded up: never a slot closer than the rate allows.
        let interval = Duration::from_micros((1e6 / rate_per_second).ceil().max(1.0) as u64);
        Self {
            store,
            bucket: bucket.into(),
            rate: rate_per_second,
            interval,
            round_trips: Arc::default(),
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves a slot the send can wait for before `deadline` and waits until it comes. A
    /// [`FailureClass::Deferred`] failure when there is none (nothing was reserved, nothing may
    /// be sent); a [`FailureClass::Transient`] one when the store is unavailable.
    pub async fn take(&self, deadline: Deadline) -> Result<Slot, SendFailure> {
        let now = SystemTime::now();
        let latest = match deadline.epoch_ms() {
            Some(ms) => (SystemTime::UNIX_EPOCH + Duration::from_millis(ms)).checked_sub(SEND_DEADLINE_MARGIN),
            None => Some(now + MAX_WAIT_WITHOUT_DEADLINE),
        };
        let Some(latest) = latest.filter(|latest| *latest >= now) else {
            return Err(SendFailure::new(
                FailureClass::Deferred,
                SEND_BUDGET,
                "DeadlineTooClose",
                format!(
                    "less than {} ms left before the invocation's deadline: not enough for a send and its writes",
                    SEND_DEADLINE_MARGIN.as_millis()
                ),
            ));
        };
        let request = SlotRequest {
            now: (now + self.round_trips.ahead()).min(latest),
            interval: self.interval,
            latest,
        };
        let started = Instant::now();
        let reservation = self.store.reserve(&self.bucket, request).await;
        self.round_trips.record(started.elapsed());
        match reservation {
            Ok(Reservation::Granted(at)) => {
                let late_by = match at.duration_since(SystemTime::now()) {
                    Ok(wait) => {
                        tokio::time::sleep(wait).await;
                        Duration::ZERO
                    }
                    Err(past) => past.duration(),
                };
                Ok(Slot { at, late_by })
            }
            Ok(Reservation::Full { next_free }) => {
                let window = latest.duration_since(now).unwrap_or_default();
                Err(SendFailure::new(
                    FailureClass::Deferred,
                    SEND_BUDGET,
                    "SendBudgetFull",
                    format!(
                        "{}: every slot at {}/s is taken for the next {} ms",
                        self.bucket,
                        self.rate,
                        window.as_millis()
                    ),
                )
                .retry_not_before(Some(retry_time(
                    next_free,
                    window,
                    shared::backoff::random_fraction(),
                ))))
            }
            Err(error) => Err(SendFailure::new(
                FailureClass::Transient,
                SEND_BUDGET,
                "SendBudgetUnavailable",
                error,
            )),
        }
    }
}

/// When a deferred send can expect a slot: an invocation that starts then can wait `window` for
/// one, so `next_free - window`; spread over the first half of the window so that the sends
/// deferred together do not all come back at once.
fn retry_time(next_free: SystemTime, window: Duration, fraction: f64) -> SystemTime {
    let earliest = next_free.checked_sub(window).unwrap_or(next_free);
    earliest + (window / 2).mul_f64(fraction.clamp(0.0, 1.0))
}

/// The budgets of both channels.
#[derive(Debug, Clone)]
pub struct SendBudgets {
    pub push: SendBudget,
    pub email: SendBudget,
}

impl SendBudgets {
    /// Budgets in this process only: for tests and senders that share nothing.
    pub fn in_memory(push_rate: f64, email_rate: f64) -> Self {
        let store: Arc<dyn BudgetStore> = Arc::new(MemoryBudgetStore::new());
        Self {
            push: SendBudget::new(store.clone(), bucket(Channel::Push), push_rate),
            email: SendBudget::new(store, bucket(Channel::Email), email_rate),
        }
    }

    /// Budgets every invocation shares: items of `table` keyed
    /// `<key prefix>#send-budget#<channel>-sends` (the idempotency table, under the function's
    /// prefix, which its role may write).
    pub fn on_dynamodb(
        client: aws_sdk_dynamodb::Client,
        table: &str,
        keys: &Idempotency,
        push_rate: f64,
        email_rate: f64,
    ) -> Self {
        Self::on_store(
            Arc::new(DynamoDbBudgetStore::new(client, table)),
            keys,
            push_rate,
            email_rate,
        )
    }

    /// Budgets in `store`, keyed as [`SendBudgets::on_dynamodb`] keys them.
    pub fn on_store(store: Arc<dyn BudgetStore>, keys: &Idempotency, push_rate: f64, email_rate: f64) -> Self {
        let key = |channel| keys.key(&bucket(channel)).as_str().to_owned();
        Self {
            push: SendBudget::new(store.clone(), key(Channel::Push), push_rate),
            email: SendBudget::new(store, key(Channel::Email), email_rate),
        }
    }

    pub fn of(&self, channel: Channel) -> &SendBudget {
        match channel {
            Channel::Push => &self.push,
            Channel::Email => &self.email,
        }
    }
}

/// A bucket's name. It ends in `-sends`, so it can never be a step's key, which ends in the
/// channel (`<notificationId>#push`, `…#email`).
fn bucket(channel: Channel) -> String {
    format!("send-budget#{channel}-sends")
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    async fn reserve(store: &MemoryBudgetStore, now: u64, latest: u64) -> Reservation {
        store
            .reserve(
                "b",
                SlotRequest {
                    now: T0 + ms(now),
                    interval: ms(100),
                    latest: T0 + ms(latest),
                },
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn slots_are_one_interval_apart_from_now_and_a_full_bucket_reserves_nothing() {
        let store = MemoryBudgetStore::new();
        assert_eq!(
            reserve(&store, 10_000, 10_250).await,
            Reservation::Granted(T0 + ms(10_000))
        );
        assert_eq!(
            reserve(&store, 10_000, 10_250).await,
            Reservation::Granted(T0 + ms(10_100))
        );
        assert_eq!(
            reserve(&store, 10_010, 10_250).await,
            Reservation::Granted(T0 + ms(10_200))
        );
        // 10.3 s is after the latest slot wanted: nothing reserved, the first free slot named.
        assert_eq!(
            reserve(&store, 10_010, 10_250).await,
            Reservation::Full {
                next_free: T0 + ms(10_300)
            }
        );
        assert_eq!(
            reserve(&store, 10_010, 10_300).await,
            Reservation::Granted(T0 + ms(10_300))
        );
        // Idle since: no burst from the time that passed, the next slot is now.
        assert_eq!(
            reserve(&store, 50_000, 60_000).await,
            Reservation::Granted(T0 + ms(50_000))
        );
        assert_eq!(
            reserve(&store, 50_000, 60_000).await,
            Reservation::Granted(T0 + ms(50_100))
        );
    }

    #[test]
    fn the_interval_is_rounded_up_and_buckets_are_never_step_keys() {
        let budgets = SendBudgets::in_memory(300.0, 14.0);
        assert_eq!(budgets.email.interval(), Duration::from_micros(71_429));
        assert_eq!(budgets.push.interval(), Duration::from_micros(3_334));
        for channel in [Channel::Push, Channel::Email] {
            let name = bucket(channel);
            assert!(!name.ends_with("#push") && !name.ends_with("#email"), "{name}");
        }
    }

    #[test]
    fn a_deferred_send_comes_back_when_a_fresh_invocation_can_wait_for_its_slot() {
        let next_free = T0 + ms(100_000);
        assert_eq!(retry_time(next_free, ms(19_000), 0.0), T0 + ms(81_000));
        assert_eq!(retry_time(next_free, ms(19_000), 1.0), T0 + ms(90_500));
    }

    #[tokio::test]
    async fn no_slot_is_taken_too_close_to_the_deadline() {
        let budgets = SendBudgets::in_memory(300.0, 14.0);
        let deadline = Deadline::after(SEND_DEADLINE_MARGIN - Duration::from_millis(1));
        let failure = budgets.email.take(deadline).await.unwrap_err();
        assert_eq!(
            (failure.class, failure.code.as_str(), failure.retry_not_before),
            (FailureClass::Deferred, "DeadlineTooClose", None)
        );
        let enough = Deadline::after(SEND_DEADLINE_MARGIN + Duration::from_secs(1));
        assert!(budgets.email.take(enough).await.is_ok());
    }

    #[tokio::test]
    async fn sends_beyond_what_the_invocation_can_wait_for_are_deferred_with_a_time() {
        // 2 per second, 1.7 s of slots left before the deadline's margin: 0, 0.5, 1.0, 1.5 s.
        let budgets = SendBudgets::in_memory(300.0, 2.0);
        let deadline = Deadline::after(SEND_DEADLINE_MARGIN + Duration::from_millis(1_700));
        let started = std::time::Instant::now();
        let (granted, deferred): (Vec<_>, Vec<_>) =
            futures::future::join_all((0..6).map(|_| budgets.email.take(deadline)))
                .await
                .into_iter()
                .partition(Result::is_ok);
        assert!(
            started.elapsed() >= Duration::from_millis(1_400),
            "waited for the slots"
        );
        assert_eq!((granted.len(), deferred.len()), (4, 2), "{deferred:?}");
        for failure in deferred.into_iter().map(Result::unwrap_err) {
            assert_eq!(
                (failure.class, failure.code.as_str()),
                (FailureClass::Deferred, "SendBudgetFull")
            );
            assert!(failure.retry_not_before.is_some());
        }
    }

    /// A store that takes `latencies` in turn to answer (half before the reservation, half
    /// after), as a slow DynamoDB does.
    struct Slow {
        inner: MemoryBudgetStore,
        latencies: Vec<Duration>,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl BudgetStore for Slow {
        fn reserve<'a>(
            &'a self,
            bucket: &'a str,
            request: SlotRequest,
        ) -> futures::future::BoxFuture<'a, Result<Reservation, BudgetError>> {
            use futures::FutureExt;
            let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let latency = self.latencies[call % self.latencies.len()];
            async move {
                tokio::time::sleep(latency / 2).await;
                let reservation = self.inner.reserve(bucket, request).await;
                tokio::time::sleep(latency / 2).await;
                reservation
            }
            .boxed()
        }
    }

    #[tokio::test]
    async fn slots_are_reserved_ahead_by_the_round_trip_so_a_slow_store_answers_before_them() {
        let store = Arc::new(Slow {
            inner: MemoryBudgetStore::new(),
            latencies: [600, 40, 450, 80].map(ms).to_vec(),
            calls: Default::default(),
        });
        let budget = SendBudget::new(store, "b", 20.0);
        // The first reservation (600 ms) teaches the budget its store's round trip.
        budget.take(Deadline::NONE).await.unwrap();
        assert!(budget.round_trips.ahead() >= ms(600));

        // Reserved from now, the 600 ms answers would come hundreds of ms after their slots
        // and their sends would go out together with those of the fast answers.
        let slots = futures::future::join_all((0..12).map(|_| budget.take(Deadline::NONE))).await;
        for slot in slots {
            let slot = slot.unwrap();
            assert!(slot.late_by <= ms(100), "{slot:?}");
        }
    }

    #[test]
    fn a_budget_reserves_ahead_by_its_longest_recent_round_trip_within_a_cap() {
        let trips = RoundTrips::default();
        assert_eq!(trips.ahead(), Duration::ZERO);
        trips.record(ms(300));
        for _ in 1..ROUND_TRIPS_KEPT {
            trips.record(ms(10));
        }
        assert_eq!(trips.ahead(), ms(300));
        trips.record(ms(10));
        assert_eq!(trips.ahead(), ms(10), "the oldest is forgotten");
        trips.record(ms(60_000));
        assert_eq!(trips.ahead(), MAX_RESERVE_AHEAD);
    }
}
