//! The key schema, ARN and billing mode of each DynamoDB table the proxy meets, read from the
//! emulator with `DescribeTable` the first time a table is named, then kept.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{BillingMode, KeyType};

/// What identifying an item of a table needs, and what a throttling answer names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableInfo {
    pub partition_key: String,
    pub sort_key: Option<String>,
    pub arn: String,
    /// `PAY_PER_REQUEST` (on-demand); `false` for provisioned capacity.
    pub on_demand: bool,
}

/// Tables known so far; unknown ones are described through the emulator.
pub struct Tables {
    client: aws_sdk_dynamodb::Client,
    known: Mutex<HashMap<String, Option<TableInfo>>>,
}

impl Tables {
    /// Describe tables at `upstream` (the emulator), with dummy credentials.
    pub async fn new(upstream: &str) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(upstream)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "emulation"))
            .load()
            .await;
        Self {
            client: aws_sdk_dynamodb::Client::new(&sdk),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// What is known of `table` (`None`: not a table the emulator has, or not described yet).
    pub fn get(&self, table: &str) -> Option<TableInfo> {
        self.known.lock().unwrap().get(table).cloned().flatten()
    }

    /// Describe every table of `tables` not seen yet. A table that does not exist is remembered
    /// as such only until it is named again (it may be created later).
    pub async fn learn(&self, tables: &[String]) {
        for table in tables {
            if self.get(table).is_some() {
                continue;
            }
            let info = self.describe(table).await;
            self.known.lock().unwrap().insert(table.clone(), info);
        }
    }

    async fn describe(&self, table: &str) -> Option<TableInfo> {
        let output = self.client.describe_table().table_name(table).send().await.ok()?;
        let description = output.table?;
        let key = |kind: KeyType| {
            description
                .key_schema()
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| k.attribute_name().to_owned())
        };
        Some(TableInfo {
            partition_key: key(KeyType::Hash)?,
            sort_key: key(KeyType::Range),
            arn: description.table_arn().unwrap_or_default().to_owned(),
            on_demand: description
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .is_some_and(|mode| *mode == BillingMode::PayPerRequest),
        })
    }
}
