//! Idempotency against moto's DynamoDB (started by the harness on a free loopback port), and the
//! same scenarios on the in-memory store, which must behave identically.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use moto_harness::MotoServer;
use shared::idempotency::{DynamoDbStore, IdempotencyStore, MemoryStore, Status};
use shared::testing::Later;
use shared::testing::{create_idempotency_table, event, message, sqs_message, with_attribute};
use shared::{
    BatchProcessor, Deadline, ErrorClass, Idempotency, IdempotencyConfig, IdempotencyError, Outcome, Record,
    RecordError, RecordStatus, attributes,
};

const PREFIX: &str = "test-fn";

/// A DynamoDB-backed fixture: the store, a raw client for assertions, the table name.
struct Dynamo {
    client: aws_sdk_dynamodb::Client,
    table: String,
    store: Arc<DynamoDbStore>,
}

async fn dynamo() -> Dynamo {
    let sdk = MotoServer::shared().sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = create_idempotency_table(&client).await;
    Dynamo {
        store: Arc::new(DynamoDbStore::new(client.clone(), &table)),
        client,
        table,
    }
}

impl Dynamo {
    async fn item(&self, key: &str) -> Option<HashMap<String, AttributeValue>> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item[name].as_n().unwrap().parse().unwrap()
}

fn idempotency(store: Arc<dyn IdempotencyStore>) -> Idempotency {
    Idempotency::new(store, IdempotencyConfig::new(PREFIX))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

type Result<T> = std::result::Result<Outcome<T>, IdempotencyError<RecordError>>;

// ---------- scenarios, each run on DynamoDB (moto) and on the memory store ----------

async fn first_run_then_duplicate(store: Arc<dyn IdempotencyStore>) {
    let idem = idempotency(store);
    let key = idem.key("order-1");
    let calls = AtomicUsize::new(0);
    let work = || async {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok::<_, RecordError>(vec!["ticket-42".to_owned()])
    };
    let first: Result<Vec<String>> = idem.run(&key, b"payload", Deadline::NONE, work).await;
    assert_eq!(first.unwrap(), Outcome::Executed(vec!["ticket-42".to_owned()]));
    let second: Result<Vec<String>> = idem
        .run(&key, b"payload", Deadline::NONE, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, RecordError>(vec!["other".to_owned()])
        })
        .await;
    assert_eq!(second.unwrap(), Outcome::Duplicate(vec!["ticket-42".to_owned()]));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the duplicate did not run the work");
}

async fn concurrent_duplicates_run_once(store: Arc<dyn IdempotencyStore>) {
    let idem = idempotency(store);
    let key = idem.key("order-concurrent");
    let calls = AtomicUsize::new(0);
    let attempt = || {
        idem.run(&key, b"same", Deadline::after(Duration::from_secs(30)), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, RecordError>(1u32)
        })
    };
    let results: Vec<Result<u32>> = futures::future::join_all((0..5).map(|_| attempt())).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "exactly one attempt ran the work");
    let executed = results.iter().filter(|r| matches!(r, Ok(Outcome::Executed(1)))).count();
    assert_eq!(executed, 1);
    for result in &results {
        match result {
            Ok(Outcome::Executed(_)) => {}
            Err(e @ IdempotencyError::InProgress { until_ms, .. }) => {
                let error: RecordError = IdempotencyError::<RecordError>::InProgress {
                    key: key.to_string(),
                    until_ms: *until_ms,
                }
                .into();
                assert_eq!(error.class(), ErrorClass::Retryable, "{e}");
                let lock_expiry = until_ms.expect("the held lock's expiry comes back with it");
                assert_eq!(
                    error.not_before(),
                    Some(std::time::UNIX_EPOCH + Duration::from_millis(lock_expiry)),
                    "a retry delay brings the record back once the lock has expired"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// How invocation A, whose lock expired, ends while invocation B holds the lock it took over.
#[derive(Clone, Copy)]
enum StaleEnd {
    Completes,
    Fails,
}

/// A locks and works past its in-progress expiry; B (a minute later) takes the lock over and,
/// while B is still working, A finishes. A's fenced completion or release must not touch B's lock:
/// B then completes normally and its result is the one stored.
async fn stale_owner_cannot_touch_the_new_owners_lock(store: Arc<dyn IdempotencyStore>, stale_end: StaleEnd) {
    use tokio::sync::oneshot::channel;
    let a = idempotency(store.clone());
    let b = idempotency(store.clone()).with_clock(Arc::new(Later(Duration::from_secs(60))));
    let key = a.key(match stale_end {
        StaleEnd::Completes => "takeover-complete",
        StaleEnd::Fails => "takeover-fail",
    });
    let (a_started, a_running) = channel::<()>();
    let (a_go, a_may_finish) = channel::<()>();
    let (a_finished, a_done) = channel::<()>();
    let (b_started, b_running) = channel::<()>();
    let (b_go, b_may_finish) = channel::<()>();

    let a_run = async {
        let result: Result<String> = a
            .run(&key, b"p", Deadline::after(Duration::from_secs(2)), || async move {
                a_started.send(()).unwrap();
                a_may_finish.await.unwrap();
                match stale_end {
                    StaleEnd::Completes => Ok("from A".to_owned()),
                    StaleEnd::Fails => Err(RecordError::retryable("boom", "A failed late")),
                }
            })
            .await;
        a_finished.send(()).unwrap();
        result
    };
    let b_run = async {
        a_running.await.unwrap();
        let result: Result<String> = b
            .run(&key, b"p", Deadline::after(Duration::from_secs(120)), || async move {
                b_started.send(()).unwrap();
                b_may_finish.await.unwrap();
                Ok("from B".to_owned())
            })
            .await;
        result
    };
    let conductor = async {
        b_running.await.unwrap();
        a_go.send(()).unwrap();
        a_done.await.unwrap();
        b_go.send(()).unwrap();
    };
    let (a_result, b_result, ()) = tokio::join!(a_run, b_run, conductor);
    match stale_end {
        StaleEnd::Completes => assert!(
            matches!(a_result, Err(IdempotencyError::LockLost { .. })),
            "{a_result:?}"
        ),
        StaleEnd::Fails => assert!(matches!(a_result, Err(IdempotencyError::Handler(_))), "{a_result:?}"),
    }
    assert_eq!(
        b_result.unwrap(),
        Outcome::Executed("from B".to_owned()),
        "B kept the lock it took over"
    );
    let third: Result<String> = b
        .run(&key, b"p", Deadline::NONE, || async {
            Ok::<_, RecordError>("from C".to_owned())
        })
        .await;
    assert_eq!(third.unwrap(), Outcome::Duplicate("from B".to_owned()));
}

async fn expired_lock_is_taken_over_and_the_stale_completion_rejected(store: Arc<dyn IdempotencyStore>) {
    stale_owner_cannot_touch_the_new_owners_lock(store, StaleEnd::Completes).await;
}

async fn stale_release_does_not_delete_the_new_owners_lock(store: Arc<dyn IdempotencyStore>) {
    stale_owner_cannot_touch_the_new_owners_lock(store, StaleEnd::Fails).await;
}

async fn failure_releases_the_lock(store: Arc<dyn IdempotencyStore>) {
    let idem = idempotency(store);
    let key = idem.key("order-fails");
    let failed: Result<u32> = idem
        .run(&key, b"p", Deadline::NONE, || async {
            Err(RecordError::retryable("throttled", "try later"))
        })
        .await;
    assert!(
        matches!(&failed, Err(IdempotencyError::Handler(e)) if e.kind() == "throttled"),
        "{failed:?}"
    );
    let retried: Result<u32> = idem
        .run(&key, b"p", Deadline::NONE, || async { Ok::<_, RecordError>(7) })
        .await;
    assert_eq!(
        retried.unwrap(),
        Outcome::Executed(7),
        "the retry ran: the lock was released"
    );
}

async fn a_panic_releases_the_lock_and_propagates(store: Arc<dyn IdempotencyStore>) {
    let idem = idempotency(store);
    let key = idem.key("order-panics");
    let panicked = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(idem.run(
        &key,
        b"p",
        Deadline::NONE,
        || async {
            if true {
                panic!("boom");
            }
            Ok::<u32, RecordError>(0)
        },
    )))
    .await;
    assert!(panicked.is_err(), "the panic propagates to the caller");
    let retried: Result<u32> = idem
        .run(&key, b"p", Deadline::NONE, || async { Ok::<_, RecordError>(1) })
        .await;
    assert_eq!(retried.unwrap(), Outcome::Executed(1));
}

async fn payload_mismatch_is_permanent(store: Arc<dyn IdempotencyStore>) {
    let idem = idempotency(store);
    let key = idem.key("order-mismatch");
    let _: Outcome<u32> = idem
        .run(&key, b"one", Deadline::NONE, || async { Ok::<_, RecordError>(1) })
        .await
        .unwrap();
    let calls = AtomicUsize::new(0);
    let other: Result<u32> = idem
        .run(&key, b"two", Deadline::NONE, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, RecordError>(2)
        })
        .await;
    assert!(
        matches!(other, Err(IdempotencyError::PayloadMismatch { .. })),
        "{other:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let error = RecordError::from(other.unwrap_err());
    assert!(error.is_permanent());
    assert_eq!(error.kind(), "idempotency-payload-mismatch");
}

async fn redriven_copy_keeps_its_key(store: Arc<dyn IdempotencyStore>) {
    let idem = idempotency(store);
    let calls = AtomicUsize::new(0);
    let handler = idem.wrap(|record: Record| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, RecordError>(record.body().len()) }
    });
    let original = message("msg-original", r#"{"userId":"u1"}"#);
    let redriven = with_attribute(
        message("msg-after-redrive", r#"{"userId":"u1"}"#),
        attributes::ORIGINAL_MESSAGE_ID,
        "msg-original",
    );
    let record = Record::new(sqs_message(redriven.clone()), Deadline::NONE).unwrap();
    assert_eq!(idem.record_key(&record).as_str(), "test-fn#msg-original");

    let processor = BatchProcessor::default();
    let first = processor
        .run(event([original]), Deadline::NONE, &handler)
        .await
        .unwrap();
    assert_eq!(first.status("msg-original"), Some(&RecordStatus::Processed));
    let second = processor
        .run(event([redriven]), Deadline::NONE, &handler)
        .await
        .unwrap();
    assert_eq!(second.status("msg-after-redrive"), Some(&RecordStatus::Duplicate));
    assert_eq!(second.summary.duplicates, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

async fn results_over_the_limit_are_refused_and_released(store: Arc<dyn IdempotencyStore>) {
    let config = IdempotencyConfig {
        max_result_bytes: 100,
        ..IdempotencyConfig::new(PREFIX)
    };
    let idem = Idempotency::new(store, config);
    let key = idem.key("order-big");
    let big: Result<String> = idem
        .run(&key, b"p", Deadline::NONE, || async {
            Ok::<_, RecordError>("x".repeat(200))
        })
        .await;
    assert!(
        matches!(
            big,
            Err(IdempotencyError::ResultTooLarge {
                size: 202,
                limit: 100,
                ..
            })
        ),
        "{big:?}"
    );
    let small: Result<String> = idem
        .run(&key, b"p", Deadline::NONE, || async {
            Ok::<_, RecordError>("ok".into())
        })
        .await;
    assert_eq!(small.unwrap(), Outcome::Executed("ok".into()));
}

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod on_dynamodb {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::dynamo().await.store).await;
                }
            )*
        }
        mod on_memory {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(std::sync::Arc::new(shared::idempotency::MemoryStore::new())).await;
                }
            )*
        }
    };
}

on_both_stores!(
    first_run_then_duplicate,
    concurrent_duplicates_run_once,
    expired_lock_is_taken_over_and_the_stale_completion_rejected,
    stale_release_does_not_delete_the_new_owners_lock,
    failure_releases_the_lock,
    a_panic_releases_the_lock_and_propagates,
    payload_mismatch_is_permanent,
    redriven_copy_keeps_its_key,
    results_over_the_limit_are_refused_and_released,
);

// ---------- what DynamoDB holds ----------

#[tokio::test]
async fn dynamodb_items_have_the_documented_shape() {
    let fixture = dynamo().await;
    let idem = idempotency(fixture.store.clone());
    let key = idem.key("shape");
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let (finish, may_finish) = tokio::sync::oneshot::channel::<()>();
    let deadline = Deadline::after(Duration::from_secs(30));
    let run = idem.run(&key, b"payload", deadline, || async move {
        started.send(()).unwrap();
        may_finish.await.unwrap();
        Ok::<_, RecordError>(serde_json::json!({"ticketId": "t-1"}))
    });
    let inspect = async {
        running.await.unwrap();
        let item = fixture.item(key.as_str()).await.expect("the lock item exists");
        finish.send(()).unwrap();
        item
    };
    let (result, in_progress) = tokio::join!(run, inspect);
    result.unwrap();

    assert_eq!(in_progress["status"].as_s().unwrap(), "INPROGRESS");
    assert_eq!(
        number(&in_progress, "in_progress_expiration"),
        deadline.epoch_ms().unwrap()
    );
    assert!(in_progress["lock_token"].as_s().unwrap().len() >= 32);
    assert_eq!(
        in_progress["validation"].as_s().unwrap(),
        "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5",
        "SHA-256 of the payload"
    );

    let done = fixture.item(key.as_str()).await.unwrap();
    assert_eq!(done["status"].as_s().unwrap(), "COMPLETED");
    assert_eq!(done["data"].as_s().unwrap(), r#"{"ticketId":"t-1"}"#);
    assert!(!done.contains_key("in_progress_expiration"));
    let expected = now_ms() / 1000 + 14 * 24 * 3600;
    let expiration = number(&done, "expiration");
    assert!(
        expiration.abs_diff(expected) < 60,
        "expiration {expiration} is 14 days out ({expected})"
    );
}

#[tokio::test]
async fn in_progress_expiry_is_never_zero_or_in_the_past() {
    let fixture = dynamo().await;
    let idem = idempotency(fixture.store.clone());
    for (name, deadline, min_ms, max_ms) in [
        ("past-deadline", Deadline::at_epoch_ms(1), 900, 1_500),
        (
            "no-deadline",
            Deadline::NONE,
            15 * 60 * 1000 - 1_000,
            15 * 60 * 1000 + 1_000,
        ),
    ] {
        let key = idem.key(name);
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let (finish, may_finish) = tokio::sync::oneshot::channel::<()>();
        let run = idem.run(&key, b"p", deadline, || async move {
            started.send(()).unwrap();
            may_finish.await.unwrap();
            Ok::<_, RecordError>(())
        });
        let inspect = async {
            running.await.unwrap();
            let item = fixture.item(key.as_str()).await.unwrap();
            finish.send(()).unwrap();
            item
        };
        let before = now_ms();
        let (result, item) = tokio::join!(run, inspect);
        result.unwrap();
        let until = number(&item, "in_progress_expiration");
        assert!(
            until >= before + min_ms && until <= now_ms() + max_ms,
            "{name}: in_progress_expiration {until} is not {min_ms}..{max_ms} ms after {before}"
        );
    }
}

#[tokio::test]
async fn a_completed_record_past_its_expiration_is_taken_over() {
    let fixture = dynamo().await;
    let config = IdempotencyConfig {
        expires_after: Duration::from_secs(60),
        ..IdempotencyConfig::new(PREFIX)
    };
    let early = Idempotency::new(fixture.store.clone(), config.clone());
    let late = Idempotency::new(fixture.store.clone(), config).with_clock(Arc::new(Later(Duration::from_secs(120))));
    let key = early.key("expired");
    let _: Outcome<u32> = early
        .run(&key, b"p", Deadline::NONE, || async { Ok::<_, RecordError>(1) })
        .await
        .unwrap();
    let again: Result<u32> = late
        .run(&key, b"p", Deadline::NONE, || async { Ok::<_, RecordError>(2) })
        .await;
    assert_eq!(
        again.unwrap(),
        Outcome::Executed(2),
        "TTL deletion is lazy: the expiration is checked in the condition"
    );
}

#[tokio::test]
async fn the_memory_store_reports_what_it_holds() {
    let store = Arc::new(MemoryStore::new());
    let idem = idempotency(store.clone());
    let key = idem.key("memory");
    let _: Outcome<u32> = idem
        .run(&key, b"p", Deadline::NONE, || async { Ok::<_, RecordError>(3) })
        .await
        .unwrap();
    let record = store.get(key.as_str()).unwrap();
    assert_eq!(record.status, Status::Completed);
    assert_eq!(record.data.as_deref(), Some("3"));
}
