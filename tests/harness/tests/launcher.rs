//! The launcher's patches keep moto's answers what they were: transactions stay atomic under
//! concurrent requests and a cancelled transaction leaves every item as it was (the patch
//! snapshots items, not tables), and SQS receives still honour visibility with many messages in
//! flight (the patch reads the retention period directly).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use moto_harness::{MotoServer, unique_name};

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

async fn table(dynamodb: &aws_sdk_dynamodb::Client) -> String {
    moto_harness::dynamodb::pk_sk_table(dynamodb, "launcher", false).await
}

fn counter_update(table: &str, cap: u64) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .key("pk", s("event"))
                .key("sk", s("counter"))
                .update_expression("SET #n = #n + :one")
                .condition_expression("#n < :cap")
                .expression_attribute_names("#n", "n")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":cap", n(cap))
                .build()
                .unwrap(),
        )
        .build()
}

fn ticket_put(table: &str, user: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .item("pk", s("event"))
                .item("sk", s(&format!("ticket-{user}")))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .unwrap(),
        )
        .build()
}

async fn items(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> HashMap<String, HashMap<String, AttributeValue>> {
    let scan = dynamodb.scan().table_name(table).send().await.unwrap();
    scan.items()
        .iter()
        .map(|item| (item["sk"].as_s().unwrap().clone(), item.clone()))
        .collect()
}

#[tokio::test]
async fn concurrent_transactions_never_exceed_the_counters_condition() {
    let sdk = MotoServer::shared().sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = table(&dynamodb).await;
    dynamodb
        .put_item()
        .table_name(&table)
        .item("pk", s("event"))
        .item("sk", s("counter"))
        .item("n", n(0))
        .send()
        .await
        .unwrap();
    let attempts = (0..40).map(|i| {
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        async move {
            dynamodb
                .transact_write_items()
                .transact_items(ticket_put(&table, &format!("u{i}")))
                .transact_items(counter_update(&table, 25))
                .send()
                .await
                .is_ok()
        }
    });
    let committed = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count();
    let items = items(&dynamodb, &table).await;
    let tickets = items.keys().filter(|k| k.starts_with("ticket-")).count();
    assert_eq!(committed, 25);
    assert_eq!(
        tickets, 25,
        "every committed transaction, and only those, wrote its ticket"
    );
    assert_eq!(items["counter"]["n"], n(25));
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_every_item_it_named_as_it_was() {
    let sdk = MotoServer::shared().sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = table(&dynamodb).await;
    for (sk, value) in [("counter", 3), ("other", 7)] {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("pk", s("event"))
            .item("sk", s(sk))
            .item("n", n(value))
            .send()
            .await
            .unwrap();
    }
    let before = items(&dynamodb, &table).await;

    // The put and the update are applied before the failing condition check is evaluated: both
    // must be undone.
    let failing_check = TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(&table)
                .key("pk", s("event"))
                .key("sk", s("other"))
                .condition_expression("#n = :zero")
                .expression_attribute_names("#n", "n")
                .expression_attribute_values(":zero", n(0))
                .build()
                .unwrap(),
        )
        .build();
    let error = dynamodb
        .transact_write_items()
        .transact_items(ticket_put(&table, "late"))
        .transact_items(counter_update(&table, 100))
        .transact_items(failing_check)
        .send()
        .await
        .unwrap_err();
    let reasons: Vec<String> = error
        .as_service_error()
        .and_then(|e| match e {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(cancelled),
            _ => None,
        })
        .map(|e| {
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(reasons, ["None", "None", "ConditionalCheckFailed"]);
    assert_eq!(
        items(&dynamodb, &table).await,
        before,
        "nothing of the cancelled transaction stays"
    );

    // Two actions on one item: rejected as a whole, nothing applied.
    let twice = dynamodb
        .transact_write_items()
        .transact_items(counter_update(&table, 100))
        .transact_items(ticket_put(&table, "x"))
        .transact_items(counter_update(&table, 100))
        .send()
        .await;
    assert!(twice.is_err());
    assert_eq!(items(&dynamodb, &table).await, before);

    // And one that commits changes what it names, and only that.
    dynamodb
        .transact_write_items()
        .transact_items(ticket_put(&table, "first"))
        .transact_items(counter_update(&table, 100))
        .send()
        .await
        .unwrap();
    let after = items(&dynamodb, &table).await;
    assert_eq!(after["counter"]["n"], n(4));
    assert!(after.contains_key("ticket-first"));
    assert_eq!(after["other"], before["other"]);
}

#[tokio::test]
async fn receives_skip_messages_in_flight_however_many_there_are() {
    let moto = MotoServer::shared();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let queue = sqs
        .create_queue()
        .queue_name(unique_name("launcher"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for batch in 0..30 {
        let entries = (0..10)
            .map(|i| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(format!("m{}", batch * 10 + i))
                    .build()
                    .unwrap()
            })
            .collect();
        sqs.send_message_batch()
            .queue_url(&queue)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..30 {
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .send()
            .await
            .unwrap();
        for message in received.messages() {
            assert!(
                seen.insert(message.body().unwrap().to_owned()),
                "a message in flight came back"
            );
        }
    }
    assert_eq!(seen.len(), 300, "every message was received once");
    let empty = sqs.receive_message().queue_url(&queue).send().await.unwrap();
    assert!(empty.messages().is_empty(), "all 300 are in flight");
}
