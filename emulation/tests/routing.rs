//! The proxy with one emulator per service: DynamoDB's calls reach the emulator routed to it,
//! every other service's the default one, and what the proxy learns of tables (key schemas, for
//! the limits model) comes from DynamoDB's emulator.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use emulation::call::{Call, Service};
use emulation::hook::{Decision, Exchange, Hook};
use emulation::proxy::{Proxy, Upstreams};
use moto_harness::{MotoServer, sdk_config_at, unique_name};

/// Keeps every call the proxy identified.
#[derive(Default)]
struct Calls(Mutex<Vec<Call>>);

impl Hook for Calls {
    fn name(&self) -> &'static str {
        "calls"
    }

    fn decide(&self, _call: &Call, _now: Instant) -> Decision {
        Decision::forward()
    }

    fn observe(&self, exchange: &Exchange) {
        self.0.lock().unwrap().push(exchange.call.clone());
    }
}

#[test]
fn upstreams_route_one_service_and_default_the_others() {
    let upstreams = Upstreams::one("http://127.0.0.1:1/").with(Service::DynamoDb, "http://127.0.0.1:2");
    assert_eq!(upstreams.of(Service::DynamoDb), "http://127.0.0.1:2");
    for service in [Service::Sqs, Service::Ses, Service::Sns, Service::Other] {
        assert_eq!(upstreams.of(service), "http://127.0.0.1:1", "{service:?}");
    }
    let moved = upstreams.with(Service::DynamoDb, "http://127.0.0.1:3");
    assert_eq!(moved.of(Service::DynamoDb), "http://127.0.0.1:3", "the last route wins");
}

/// The tables an emulator holds.
async fn tables_of(sdk: aws_config::SdkConfig) -> Vec<String> {
    let listed = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send().await.unwrap();
    listed.table_names().to_vec()
}

/// The queues an emulator holds.
async fn queues_of(sdk: aws_config::SdkConfig) -> Vec<String> {
    let listed = aws_sdk_sqs::Client::new(&sdk).list_queues().send().await.unwrap();
    listed.queue_urls().to_vec()
}

#[tokio::test]
async fn dynamodb_goes_to_its_own_emulator_and_sqs_to_the_default_one() {
    // Private servers: the test asks each what it holds.
    let (main, tables) = (MotoServer::start(), MotoServer::start());
    let calls = Arc::new(Calls::default());
    let upstreams = Upstreams::one(&main.endpoint()).with(Service::DynamoDb, &tables.endpoint());
    let proxy = Proxy::start_routed(upstreams, vec![calls.clone()]).await.unwrap();
    let through = sdk_config_at(&proxy.endpoint()).await;
    let (dynamodb, sqs) = (
        aws_sdk_dynamodb::Client::new(&through),
        aws_sdk_sqs::Client::new(&through),
    );

    let table = unique_name("routed");
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
    // An item call: the proxy must describe the table (its key schema) at DynamoDB's emulator.
    dynamodb
        .put_item()
        .table_name(&table)
        .item("id", AttributeValue::S("a".into()))
        .send()
        .await
        .expect("PutItem through the proxy");
    let queue = unique_name("routed");
    sqs.create_queue()
        .queue_name(&queue)
        .send()
        .await
        .expect("CreateQueue through the proxy");

    let direct = |server: &MotoServer| {
        let endpoint = server.endpoint();
        async move { sdk_config_at(&endpoint).await }
    };
    let (at_main, at_tables) = (direct(&main).await, direct(&tables).await);
    assert_eq!(tables_of(at_tables.clone()).await, vec![table.clone()]);
    assert!(
        tables_of(at_main.clone()).await.is_empty(),
        "the table went to the default emulator"
    );
    assert!(queues_of(at_main).await.iter().any(|url| url.ends_with(&queue)));
    assert!(
        queues_of(at_tables).await.is_empty(),
        "the queue went to DynamoDB's emulator"
    );
    let item = aws_sdk_dynamodb::Client::new(&direct(&tables).await)
        .get_item()
        .table_name(&table)
        .key("id", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    assert!(item.item().is_some(), "the item is in DynamoDB's emulator");
    assert!(proxy.upstream_errors().is_empty(), "{:?}", proxy.upstream_errors());
    let calls = calls.0.lock().unwrap();
    let put = calls
        .iter()
        .find(|c| c.operation == "PutItem")
        .expect("the PutItem was seen");
    assert_eq!(
        put.items.len(),
        1,
        "the item was identified with the table's key schema: {put:?}"
    );
}
