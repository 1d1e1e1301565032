//! The proxy with the counting hook in front of a real moto server: SDK calls pass through
//! unchanged and each is counted under its operation, with the time it was in flight.

use std::sync::Arc;
use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use emulation::counting::{CountingHook, busy_time, count_by_operation};
use emulation::proxy::Proxy;
use moto_harness::{MotoServer, unique_name};

#[tokio::test]
async fn calls_through_the_proxy_reach_moto_and_are_counted_by_operation() {
    let moto = MotoServer::shared();
    let counting = Arc::new(CountingHook::new());
    let proxy = Proxy::start(&moto.endpoint(), vec![counting.clone()]).await.unwrap();
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(proxy.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let started = Instant::now();

    let table = unique_name("proxied");
    dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateTable through the proxy");
    for id in ["a", "b"] {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("id", AttributeValue::S(id.into()))
            .send()
            .await
            .expect("PutItem through the proxy");
    }
    let queue = sqs
        .create_queue()
        .queue_name(unique_name("proxied"))
        .send()
        .await
        .expect("CreateQueue through the proxy")
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&queue)
        .message_body("hello")
        .send()
        .await
        .expect("SendMessage through the proxy");
    let wall = started.elapsed();

    // What went through really reached moto: read it back directly.
    let direct = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let item = direct
        .get_item()
        .table_name(&table)
        .key("id", AttributeValue::S("b".into()))
        .send()
        .await
        .unwrap()
        .item;
    assert!(item.is_some(), "the proxied PutItem reached moto");

    let calls = counting.take();
    let counts = count_by_operation(&calls);
    assert_eq!(counts.get("DynamoDB.CreateTable"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("DynamoDB.PutItem"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("SQS.CreateQueue"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("SQS.SendMessage"), Some(&1), "{counts:?}");
    assert_eq!(calls.len(), 5, "{counts:?}");
    let busy = busy_time(&calls);
    assert!(!busy.is_zero() && busy <= wall, "busy {busy:?} of {wall:?}");
    assert!(counting.take().is_empty(), "take drains the record");
    let connections = proxy.take_connections();
    // moto closes every connection; through the proxy the SDK's connections stay alive.
    assert!((1..=2).contains(&connections), "{connections} connections for 5 calls");
    assert_eq!(proxy.take_connections(), 0);
}
