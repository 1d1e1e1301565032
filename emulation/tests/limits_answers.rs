//! Each answer of the limits model, read by the real SDK client through the proxy in front of
//! moto, as the real service's error: the code, the cancellation reasons, and whether the SDK
//! retries it (the counting hook sees every attempt, so a retry is seen, not assumed). Also:
//! answers wait for the modelled latency, concurrently.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use emulation::counting::{CountingHook, count_by_operation};
use emulation::limits::LimitsModel;
use emulation::limits::params::{LatencySpec, Limits};
use emulation::proxy::Proxy;
use moto_harness::{MotoServer, unique_name};
use support::{ATTEMPTS, answer, sdk};

/// A proxy with the counting hook and the model `limits` in front of the shared moto server.
async fn modelled(limits: Limits) -> (Proxy, Arc<CountingHook>) {
    let counting = Arc::new(CountingHook::new());
    let proxy = Proxy::start(
        &MotoServer::shared().endpoint(),
        vec![counting.clone(), Arc::new(LimitsModel::new(limits))],
    )
    .await
    .expect("the proxy listens");
    (proxy, counting)
}

fn latency(operation: &str, ms: f64) -> LatencySpec {
    LatencySpec {
        service: emulation::call::Service::DynamoDb,
        operation: operation.into(),
        p50_ms: ms,
        p99_ms: ms,
    }
}

/// Attempts of `operation` the proxy saw.
fn attempts(counting: &CountingHook, operation: &str) -> usize {
    count_by_operation(&counting.take())
        .get(operation)
        .copied()
        .unwrap_or(0)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A table with `pk`/`sk`, created directly in moto; on-demand unless `provisioned`.
async fn table(provisioned: bool) -> String {
    let dynamodb = aws_sdk_dynamodb::Client::new(&MotoServer::shared().sdk_config().await);
    moto_harness::dynamodb::pk_sk_table(&dynamodb, "limits", provisioned).await
}

fn ticket_transaction(table: &str, user: &str) -> Vec<TransactWriteItem> {
    vec![
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .item("pk", s("event"))
                    .item("sk", s(&format!("ticket-{user}")))
                    .build()
                    .unwrap(),
            )
            .build(),
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(table)
                    .key("pk", s("event"))
                    .key("sk", s("counter"))
                    .update_expression("SET n = if_not_exists(n, :zero) + :one")
                    .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .unwrap(),
            )
            .build(),
    ]
}

fn cancellation_codes(error: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> Vec<String> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or_default().to_owned())
            .collect(),
        other => panic!("not a cancellation: {other:?}"),
    }
}

#[tokio::test]
async fn conflicts_are_read_as_dynamodbs_and_the_sdk_does_not_retry_them() {
    let table = table(false).await;
    let mut limits = Limits::default();
    limits.latencies.insert(0, latency("TransactWriteItems", 1_500.0));
    let (proxy, counting) = modelled(limits).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk(&proxy.endpoint()).await);

    // The winner holds the event's counter for its 1.5 s service time.
    let winner = {
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        tokio::spawn(async move {
            dynamodb
                .transact_write_items()
                .set_transact_items(Some(ticket_transaction(&table, "first")))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // While it holds them, another ticket's transaction and a single write on the counter.
    let transaction = dynamodb
        .transact_write_items()
        .set_transact_items(Some(ticket_transaction(&table, "second")))
        .send();
    let single = dynamodb
        .update_item()
        .table_name(&table)
        .key("pk", s("event"))
        .key("sk", s("counter"))
        .update_expression("SET touched = :t")
        .expression_attribute_values(":t", s("yes"))
        .send();
    let (loser, single) = tokio::join!(transaction, single);
    let loser = loser.unwrap_err();
    assert_eq!(cancellation_codes(&loser), ["None", "TransactionConflict"]);
    let read = answer::<(), _>(Err(loser));
    assert_eq!(read.code.as_deref(), Some("TransactionCanceledException"));
    assert!(
        read.message.unwrap().contains("[None, TransactionConflict]"),
        "the message lists the reasons as DynamoDB's does"
    );
    let read = answer(single);
    assert_eq!(read.code.as_deref(), Some("TransactionConflictException"), "{read:?}");
    winner.await.unwrap().expect("the winner commits");
    let counts = count_by_operation(&counting.take());
    assert_eq!(
        counts.get("DynamoDB.TransactWriteItems"),
        Some(&2),
        "the winner's and the loser's, each once: the SDK does not retry a cancelled transaction"
    );
    assert_eq!(
        counts.get("DynamoDB.UpdateItem"),
        Some(&1),
        "nor a conflicting single write"
    );
}

#[tokio::test]
async fn throttled_calls_are_throttling_errors_the_sdk_retries_and_throttled_transactions_are_not() {
    let (on_demand, provisioned) = (table(false).await, table(true).await);
    let limits = Limits {
        partition_write_units_per_second: 2.0,
        ..Limits::default()
    };
    let (proxy, counting) = modelled(limits).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk(&proxy.endpoint()).await);
    let put = |table: &str, sk: &str| {
        dynamodb
            .put_item()
            .table_name(table)
            .item("pk", s("hot"))
            .item("sk", s(sk))
            .send()
    };
    for (table, expected) in [
        (&on_demand, "ThrottlingException"),
        (&provisioned, "ProvisionedThroughputExceededException"),
    ] {
        put(table, "a").await.expect("the first unit");
        put(table, "b").await.expect("the second unit");
        counting.take();
        let read = answer(put(table, "c").await);
        assert_eq!(read.code.as_deref(), Some(expected), "{read:?}");
        assert_eq!(read.status, Some(400));
        assert!(
            THROTTLING_ERRORS.contains(&expected),
            "the SDK classes {expected} as throttling"
        );
        assert_eq!(
            attempts(&counting, "DynamoDB.PutItem"),
            ATTEMPTS as usize,
            "the SDK retried {expected}"
        );
    }

    // Transactions over a partition's budget: two transactional items of one partition cost 4
    // units, the partition takes 2 per second. The first is admitted from the full bucket and
    // leaves it in debt; the next is cancelled with ThrottlingError at both items, which the SDK
    // does not retry (the caller must).
    let transaction = |user: &str| {
        dynamodb
            .transact_write_items()
            .set_transact_items(Some(ticket_transaction(&on_demand, user)))
            .send()
    };
    transaction("first").await.expect("admitted from the full bucket");
    counting.take();
    let throttled = transaction("second").await.unwrap_err();
    assert_eq!(cancellation_codes(&throttled), ["ThrottlingError", "ThrottlingError"]);
    assert_eq!(attempts(&counting, "DynamoDB.TransactWriteItems"), 1);
}

#[tokio::test]
async fn ses_and_sns_over_their_rates_answer_their_own_throttling_errors_which_the_sdk_retries() {
    let moto = MotoServer::shared();
    let direct = moto.sdk_config().await;
    let sender = format!("{}@example.com", unique_name("sender"));
    aws_sdk_sesv2::Client::new(&direct)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let topic = aws_sdk_sns::Client::new(&direct)
        .create_topic()
        .name(unique_name("push"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let limits = Limits {
        ses_max_send_rate: 1.0,
        sns_publish_rate: 1.0,
        ..Limits::default()
    };
    let (proxy, counting) = modelled(limits).await;
    let config = sdk(&proxy.endpoint()).await;
    let (ses, sns) = (aws_sdk_sesv2::Client::new(&config), aws_sdk_sns::Client::new(&config));
    let email = || {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let text = |t: &str| Content::builder().data(t).build().unwrap();
        ses.send_email()
            .from_email_address(&sender)
            .destination(Destination::builder().to_addresses("fan@example.com").build())
            .content(
                EmailContent::builder()
                    .simple(
                        Message::builder()
                            .subject(text("s"))
                            .body(Body::builder().text(text("b")).build())
                            .build(),
                    )
                    .build(),
            )
            .send()
    };
    assert!(answer(email().await).ok, "the first email is within the rate");
    counting.take();
    let read = answer(email().await);
    assert_eq!(read.code.as_deref(), Some("TooManyRequestsException"), "{read:?}");
    assert_eq!(read.status, Some(429));
    assert_eq!(read.message.as_deref(), Some("Maximum sending rate exceeded."));
    assert!(THROTTLING_ERRORS.contains(&"TooManyRequestsException"));
    assert_eq!(attempts(&counting, "SES.SendEmail"), ATTEMPTS as usize);

    let publish = || sns.publish().topic_arn(&topic).message("hello").send();
    assert!(answer(publish().await).ok);
    counting.take();
    let read = answer(publish().await);
    assert_eq!(read.code.as_deref(), Some("Throttling"), "{read:?}");
    assert_eq!(read.status, Some(400));
    assert!(THROTTLING_ERRORS.contains(&"Throttling"));
    assert_eq!(attempts(&counting, "SNS.Publish"), ATTEMPTS as usize);
}

#[tokio::test]
async fn answers_wait_for_the_modelled_latency_and_are_served_concurrently() {
    let table = table(false).await;
    let mut limits = Limits::default();
    limits.latencies.insert(0, latency("GetItem", 400.0));
    let (proxy, _) = modelled(limits).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk(&proxy.endpoint()).await);
    let started = Instant::now();
    let reads = (0..6).map(|i| {
        dynamodb
            .get_item()
            .table_name(&table)
            .key("pk", s("event"))
            .key("sk", s(&format!("none-{i}")))
            .send()
    });
    let results = futures::future::join_all(reads).await;
    let elapsed = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    assert!(
        elapsed >= Duration::from_millis(400),
        "{elapsed:?}: held for the modelled latency"
    );
    assert!(
        elapsed < Duration::from_millis(1_600),
        "{elapsed:?}: six 400 ms reads are served at once, not one after the other"
    );
}
