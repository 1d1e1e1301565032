//! DynamoDB helpers more than one crate's tests need.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType,
};

/// A new table named after `prefix` with string keys `pk` (partition) and `sk` (sort):
/// on-demand, or with 100 read and write units when `provisioned`.
pub async fn pk_sk_table(dynamodb: &Client, prefix: &str, provisioned: bool) -> String {
    let name = crate::unique_name(prefix);
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("name and type are set")
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    };
    let create = dynamodb
        .create_table()
        .table_name(&name)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"));
    let create = if provisioned {
        create.billing_mode(BillingMode::Provisioned).provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(100)
                .write_capacity_units(100)
                .build()
                .expect("units are set"),
        )
    } else {
        create.billing_mode(BillingMode::PayPerRequest)
    };
    create.send().await.unwrap_or_else(|e| {
        panic!(
            "CreateTable {name}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )
    });
    name
}
