//! The emulated AWS both contenders work against: the project's template provisioned in moto
//! (ticket-processor gets its real configuration from it), plus the Powertools handler's own
//! tables and queue of the same kinds, and one seeded event per contender.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, DeleteRequest, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification, WriteRequest,
};
use cfn_model::Template;
use local_stack::provision::{Stack, provision, transform};
use ticket_processor::schema::{self, Layout};

use crate::error::BenchError;
use crate::ticket_batches::TicketBatch;

/// Seats per benchmark event: more than any run issues, so every fresh request gets a ticket.
pub const EVENT_CAPACITY: u64 = 100_000_000;
/// The counters (K) of every contender's event: a sale's layout (events/seed/README.md, "Choosing
/// K": K = 8 for 400 requests a second). Every contender's handler knows it (`EVENT_SHARDS`), so
/// they do the same work. With one counter, a batch's 10 records in flight cancel each other's
/// transactions (`TransactionConflict`) and the CPU per message measures the retries.
pub const EVENT_SHARDS: u32 = 8;

/// What a contender's handler works on.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub tickets_table: String,
    pub idempotency_table: String,
    pub notification_queue_url: String,
    /// The queue the ticket requests come from (its ARN goes into each record).
    pub source_queue_arn: String,
    pub event_id: String,
    /// The event's counters (K).
    pub shards: u32,
}

impl Workspace {
    fn layout(&self) -> Layout {
        Layout::new(self.shards).unwrap_or(Layout::single())
    }
}

pub struct BenchStack {
    pub stack: Stack,
    pub sdk: SdkConfig,
    /// ticket-processor's tables and queues, from the template.
    pub rust: Workspace,
    /// The same tables and queues, an event of one counter (K = 1): a lever's row.
    pub rust_one_counter: Workspace,
    /// The Powertools handler's own, created alike.
    pub powertools: Workspace,
    /// The Powertools (TypeScript) handler's own, created alike.
    pub powertools_ts: Workspace,
}

impl BenchStack {
    /// Provision `template` (transformed with `moto_python`'s samtranslator) in the emulator
    /// behind `sdk`, create the Powertools handler's resources and seed both events.
    pub async fn create(template: &Path, moto_python: &Path, sdk: &SdkConfig) -> Result<Self, BenchError> {
        let document = transform(moto_python, template).map_err(|e| BenchError::setup("template.yaml", e))?;
        let template = Template::from_json(&document).map_err(|e| BenchError::setup("template.yaml", e))?;
        let parameters = HashMap::from([
            ("SenderEmail".to_owned(), "tickets@example.com".to_owned()),
            ("CreateSenderIdentity".to_owned(), "true".to_owned()),
            ("TableDeletionProtection".to_owned(), "false".to_owned()),
        ]);
        let stack = provision(&template, &parameters, "bench", sdk)
            .await
            .map_err(|e| BenchError::setup("template.yaml", e))?;
        let reference = |id: &str| {
            stack
                .reference(id)
                .ok_or_else(|| BenchError::setup(id, "not provisioned from template.yaml"))
        };
        let rust = Workspace {
            tickets_table: reference("TicketsTable")?,
            idempotency_table: reference("IdempotencyTable")?,
            notification_queue_url: reference("NotificationQueue")?,
            source_queue_arn: stack
                .attribute("TicketIssueQueue", "Arn")
                .ok_or_else(|| BenchError::setup("TicketIssueQueue", "has no Arn"))?,
            event_id: "bench-rust".to_owned(),
            shards: EVENT_SHARDS,
        };
        let rust_one_counter = Workspace {
            event_id: "bench-rust-one-counter".to_owned(),
            shards: 1,
            ..rust.clone()
        };

        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let powertools = powertools_workspace(&dynamodb, &sqs, "bench-powertools", &rust).await?;
        let powertools_ts = powertools_workspace(&dynamodb, &sqs, "bench-powertools-ts", &rust).await?;
        for workspace in [&rust, &rust_one_counter, &powertools, &powertools_ts] {
            seed_event(&dynamodb, workspace).await?;
        }
        Ok(Self {
            stack,
            sdk: sdk.clone(),
            rust,
            rust_one_counter,
            powertools,
            powertools_ts,
        })
    }

    /// The template's environment of function `binary`.
    pub fn environment(&self, binary: &str) -> Result<(String, BTreeMap<String, String>, u64), BenchError> {
        let function = self
            .stack
            .function(binary)
            .ok_or_else(|| BenchError::setup(binary, "no such function in template.yaml"))?;
        Ok((
            function.name.clone(),
            function.environment.clone(),
            function.timeout_seconds,
        ))
    }

    /// Delete the tickets `batch` issued (its event's `issued` count stays). moto copies a whole
    /// table on every TransactWriteItems (`copy.deepcopy`, to roll back a cancelled one), so its
    /// cost grows with the table; real DynamoDB's does not. Deleting them between batches, outside
    /// any measurement, keeps every batch's transactions as cheap as the first one's.
    pub async fn forget_tickets(&self, workspace: &Workspace, batch: &TicketBatch) -> Result<(), BenchError> {
        let deletes = batch
            .user_ids
            .iter()
            .map(|user| {
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .set_key(Some(workspace.layout().ticket_key(&workspace.event_id, user).to_item()))
                            .build()
                            .expect("the key is set"),
                    )
                    .build()
            })
            .collect();
        let output = aws_sdk_dynamodb::Client::new(&self.sdk)
            .batch_write_item()
            .request_items(&workspace.tickets_table, deletes)
            .send()
            .await
            .map_err(|e| sdk_failure(&workspace.tickets_table, e))?;
        if output.unprocessed_items().is_some_and(|items| !items.is_empty()) {
            return Err(BenchError::setup(
                &workspace.tickets_table,
                "BatchWriteItem left tickets undeleted",
            ));
        }
        Ok(())
    }

    /// Tickets issued so far for `workspace`'s event (its `issued` counter).
    pub async fn issued(&self, workspace: &Workspace) -> Result<u64, BenchError> {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        schema::event_totals(&client, &workspace.tickets_table, &workspace.event_id)
            .await
            .map_err(|e| BenchError::setup(&workspace.tickets_table, e))?
            .map(|totals| totals.issued)
            .ok_or_else(|| {
                BenchError::setup(
                    &workspace.tickets_table,
                    format!("event {} does not exist", workspace.event_id),
                )
            })
    }
}

/// A Powertools handler's tables (its idempotency table in Powertools' schema: `id`, TTL on
/// `expiration`), queue and event, all named `<prefix>-…`.
async fn powertools_workspace(
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
    rust: &Workspace,
) -> Result<Workspace, BenchError> {
    let queue = format!("{prefix}-notification-queue");
    Ok(Workspace {
        tickets_table: create_table(dynamodb, &format!("{prefix}-tickets"), &["pk", "sk"], None).await?,
        idempotency_table: create_table(dynamodb, &format!("{prefix}-idempotency"), &["id"], Some("expiration"))
            .await?,
        notification_queue_url: sqs
            .create_queue()
            .queue_name(&queue)
            .send()
            .await
            .map_err(|e| sdk_failure(&queue, e))?
            .queue_url
            .unwrap_or_default(),
        source_queue_arn: rust.source_queue_arn.clone(),
        event_id: prefix.to_owned(),
        shards: EVENT_SHARDS,
    })
}

async fn create_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
    keys: &[&str],
    ttl: Option<&str>,
) -> Result<String, BenchError> {
    let mut request = dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (index, key) in keys.iter().enumerate() {
        let key_type = if index == 0 { KeyType::Hash } else { KeyType::Range };
        request = request
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*key)
                    .key_type(key_type)
                    .build()
                    .expect("name and type are set"),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("name and type are set"),
            );
    }
    request.send().await.map_err(|e| sdk_failure(name, e))?;
    if let Some(attribute) = ttl {
        dynamodb
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .expect("name and flag are set"),
            )
            .send()
            .await
            .map_err(|e| sdk_failure(name, e))?;
    }
    Ok(name.to_owned())
}

async fn seed_event(dynamodb: &aws_sdk_dynamodb::Client, workspace: &Workspace) -> Result<(), BenchError> {
    schema::seed_event(
        dynamodb,
        &workspace.tickets_table,
        &workspace.event_id,
        EVENT_CAPACITY,
        workspace.shards,
    )
    .await
    .map_err(|e| BenchError::setup(&workspace.tickets_table, e))?;
    Ok(())
}

fn sdk_failure(resource: &str, error: impl std::error::Error) -> BenchError {
    BenchError::setup(resource, aws_sdk_dynamodb::error::DisplayErrorContext(error))
}
