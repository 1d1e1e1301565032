//! The send budget against moto's DynamoDB: slots are one interval apart however many
//! invocations reserve at once; several concurrent batch runs, each with its own clients as
//! separate invocations have, never send faster than the rate; sends that no slot fits in time
//! are deferred, not sent, and name when to come back.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::future::{BoxFuture, FutureExt};
use notification_sender::NotificationSender;
use notification_sender::budget::{
    BudgetError, BudgetStore, DynamoDbBudgetStore, Reservation, SEND_DEADLINE_MARGIN, SendBudgets, SlotRequest,
};
use notification_sender::classify::SendFailure;
use notification_sender::email::{Email, EmailSender};
use notification_sender::testing::{Faulty, Fixture, delivery, ticket_issued};
use shared::testing::event;
use shared::{Deadline, RecordStatus};

/// Records every slot the store grants, per bucket.
struct Recording<S> {
    inner: S,
    granted: Mutex<Vec<(String, SystemTime)>>,
}

impl<S: BudgetStore> BudgetStore for Recording<S> {
    fn reserve<'a>(&'a self, bucket: &'a str, request: SlotRequest) -> BoxFuture<'a, Result<Reservation, BudgetError>> {
        async move {
            let reservation = self.inner.reserve(bucket, request).await?;
            if let Reservation::Granted(slot) = reservation {
                self.granted.lock().unwrap().push((bucket.to_owned(), slot));
            }
            Ok(reservation)
        }
        .boxed()
    }
}

/// Records when each email went to SES, then sends it.
struct Timed<S> {
    inner: S,
    sent_at: Arc<Mutex<Vec<Instant>>>,
}

impl<S: EmailSender> EmailSender for Timed<S> {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<String, SendFailure>> {
        self.sent_at.lock().unwrap().push(Instant::now());
        self.inner.send(email)
    }
}

fn store(fixture: &Fixture) -> DynamoDbBudgetStore {
    DynamoDbBudgetStore::new(aws_sdk_dynamodb::Client::new(&fixture.sdk), &fixture.table)
}

#[tokio::test]
async fn concurrent_reservations_get_distinct_slots_one_interval_apart_and_a_full_bucket_reserves_nothing() {
    let fixture = Fixture::new().await;
    let interval = Duration::from_millis(50);
    let now = SystemTime::now();
    let request = SlotRequest {
        now,
        interval,
        latest: now + Duration::from_millis(999),
    };
    // 25 invocations, each with its own client, reserve at the same moment.
    let stores: Vec<DynamoDbBudgetStore> = (0..25).map(|_| store(&fixture)).collect();
    let answers = futures::future::join_all(
        stores
            .iter()
            .map(|s| s.reserve("fixture#send-budget#email-sends", request)),
    )
    .await;

    let mut slots: Vec<SystemTime> = Vec::new();
    let mut full = Vec::new();
    for answer in answers {
        match answer.unwrap() {
            Reservation::Granted(slot) => slots.push(slot),
            Reservation::Full { next_free } => full.push(next_free),
        }
    }
    slots.sort();
    assert_eq!(slots.len(), 20, "slots now, +50 ms, … +950 ms fit before the latest");
    let now_us = now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_micros() as u64;
    assert_eq!(
        slots[0],
        SystemTime::UNIX_EPOCH + Duration::from_micros(now_us),
        "an idle bucket starts now"
    );
    for pair in slots.windows(2) {
        assert_eq!(pair[1].duration_since(pair[0]).unwrap(), interval, "{slots:?}");
    }
    // The other five found it full, named the first free slot and took nothing.
    assert_eq!(full.len(), 5);
    let next_free = *slots.last().unwrap() + interval;
    assert!(full.iter().all(|free| *free == next_free), "{full:?}");
    let later = store(&fixture)
        .reserve(
            "fixture#send-budget#email-sends",
            SlotRequest {
                latest: now + Duration::from_secs(5),
                ..request
            },
        )
        .await
        .unwrap();
    assert_eq!(later, Reservation::Granted(next_free));
}

#[tokio::test]
async fn several_invocations_sending_at_once_stay_within_the_rate() {
    const RATE: f64 = 10.0;
    const INVOCATIONS: usize = 4;
    const RECORDS: usize = 10;
    let fixture = Fixture::new().await;
    // One recorder of the slots granted, around one DynamoDB client per invocation would be
    // closer to Lambda; DynamoDB (moto, serialised) decides either way, so one client records all.
    let recording = Arc::new(Recording {
        inner: store(&fixture),
        granted: Mutex::default(),
    });
    let sent_at = Arc::new(Mutex::new(Vec::new()));
    // Each invocation: its own sender, clients and DynamoDB client; one budget item between them.
    let senders: Vec<NotificationSender> = (0..INVOCATIONS)
        .map(|_| {
            let email = Arc::new(Timed {
                inner: fixture.ses(),
                sent_at: sent_at.clone(),
            });
            let budgets = SendBudgets::on_store(recording.clone(), &fixture.worker.idempotency, 1000.0, RATE);
            fixture
                .notification_sender_with(Arc::new(fixture.sns()), email)
                .with_budgets(budgets)
        })
        .collect();
    let started = Instant::now();
    let runs = senders.iter().enumerate().map(|(invocation, sender)| {
        let messages = (0..RECORDS)
            .map(|i| {
                let ticket = format!("t-{invocation}-{i}");
                delivery(
                    &format!("m-{invocation}-{i}"),
                    &ticket_issued(&ticket, Some("kim@example.com"), None, None),
                    1,
                )
            })
            .collect();
        fixture.run(sender, messages)
    });
    let outcomes = futures::future::join_all(runs).await;
    let elapsed = started.elapsed();

    for outcome in &outcomes {
        assert!(
            outcome
                .results
                .iter()
                .all(|(_, status)| *status == RecordStatus::Processed),
            "{:?}",
            outcome.results
        );
    }
    let total = INVOCATIONS * RECORDS;
    assert_eq!(fixture.emails().len(), total);
    // What the budget granted: email slots exactly one interval (100 ms) apart or more.
    let mut slots: Vec<SystemTime> = recording
        .granted
        .lock()
        .unwrap()
        .iter()
        .filter(|(bucket, _)| bucket.ends_with("#send-budget#email-sends"))
        .map(|(_, slot)| *slot)
        .collect();
    slots.sort();
    assert_eq!(slots.len(), total);
    for pair in slots.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]).unwrap() >= Duration::from_millis(100),
            "{slots:?}"
        );
    }
    assert!(
        elapsed >= Duration::from_millis(3_900),
        "{total} emails at {RATE}/s take 3.9 s at least: {elapsed:?}"
    );
    // What SES saw: in any second, at most the rate plus SES's one-second burst (the limits
    // model's, docs/limits.md); without the budget all 40 would go within the first second.
    let mut times = sent_at.lock().unwrap().clone();
    times.sort();
    for (i, start) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(
            within as f64 <= 2.0 * RATE,
            "{within} emails within one second from #{i}"
        );
    }
}

#[tokio::test]
async fn sends_no_slot_fits_before_the_deadline_are_deferred_unsent_with_the_time_to_come_back() {
    let fixture = Fixture::new().await;
    let email = Faulty::counting(fixture.ses());
    let budgets = SendBudgets::on_dynamodb(
        aws_sdk_dynamodb::Client::new(&fixture.sdk),
        &fixture.table,
        &fixture.worker.idempotency,
        1000.0,
        2.0,
    );
    let sender = fixture
        .notification_sender_with(Arc::new(fixture.sns()), email.clone())
        .with_budgets(budgets);
    // 2 emails a second and at most 2 s of slots (less by the time the steps reserve): at most
    // five emails (0, 0.5, … 2 s), the others deferred.
    let deadline = Deadline::after(SEND_DEADLINE_MARGIN + Duration::from_secs(2));
    let messages = (0..10).map(|i| {
        delivery(
            &format!("m-{i}"),
            &ticket_issued(&format!("t-50{i}"), Some("kim@example.com"), None, None),
            1,
        )
    });
    let outcome = fixture
        .worker
        .batch
        .run(event(messages), deadline, &sender)
        .await
        .unwrap();

    let deferred: Vec<_> = outcome
        .results
        .iter()
        .filter_map(|(_, status)| match status {
            RecordStatus::Failed(error) => Some(error.clone()),
            _ => None,
        })
        .collect();
    let sent = email.calls();
    assert!((1..=5).contains(&sent), "{sent} emails in at most 2 s at 2/s");
    assert_eq!(fixture.emails().len(), sent);
    assert_eq!(deferred.len(), 10 - sent, "{:?}", outcome.results);
    let now = SystemTime::now();
    for error in &deferred {
        assert_eq!(error.kind(), "email-deferred", "{error}");
        assert!(error.message().contains("SendBudgetFull"), "{error}");
        // The first free slot is at most 2.5 s after the start, and a fresh invocation could
        // wait the same 2 s for it: back within a second, not after a visibility timeout.
        let at = error.not_before().expect("a deferred send names its time");
        assert!(at <= now + Duration::from_secs(1), "{at:?}");
    }
    // The pushes went out (their budget had room) and were recorded: a retry sends only emails.
    assert_eq!(fixture.topic_pushes().len(), 10);
    let mut emails_recorded = 0;
    for i in 0..10 {
        emails_recorded += usize::from(
            fixture
                .step_item(&format!("ticket-issued#t-50{i}"), "email")
                .await
                .is_some(),
        );
    }
    assert_eq!(emails_recorded, sent, "a deferred email's step is not recorded");
}

#[tokio::test]
async fn a_send_that_could_not_finish_before_the_deadline_does_not_start() {
    let fixture = Fixture::new().await;
    let push = Faulty::counting(fixture.sns());
    let email = Faulty::counting(fixture.ses());
    let sender = fixture.notification_sender_with(push.clone(), email.clone());
    // Past the batch's margin (the record starts) but short of a send's time limit and writes.
    let deadline = Deadline::after(SEND_DEADLINE_MARGIN - Duration::from_secs(1));
    let body = ticket_issued("t-6001", Some("kim@example.com"), None, None);
    let outcome = fixture
        .worker
        .batch
        .run(event([delivery("m-1", &body, 1)]), deadline, &sender)
        .await
        .unwrap();

    let Some(RecordStatus::Failed(error)) = outcome.status("m-1") else {
        panic!("{:?}", outcome.results);
    };
    assert!(
        error.kind().ends_with("-deferred") && error.message().contains("DeadlineTooClose"),
        "{error}"
    );
    assert_eq!((push.calls(), email.calls()), (0, 0), "nothing was sent");
    for channel in ["push", "email"] {
        assert!(
            fixture.step_item("ticket-issued#t-6001", channel).await.is_none(),
            "{channel}: lock released"
        );
    }
}
