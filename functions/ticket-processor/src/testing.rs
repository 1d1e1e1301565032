//! The tests' fixture (feature `testing`): a tickets table, an idempotency table, a notification
//! queue and a dead-letter queue on moto, all uniquely named, and ways to read back what the
//! worker did. ticket-processor's own tests and the cross-function tests (`tests/e2e`) use it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::schema::{self, Seeded, event_key};
use crate::{NotificationQueue, Ticket, TicketProcessor, TicketTable};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use messages::Notification;
use moto_harness::{MotoServer, unique_name};
use shared::dead_letter::SqsDeadLetterQueue;
use shared::idempotency::DynamoDbStore;
use shared::{BatchProcessor, Idempotency, IdempotencyConfig};

/// The idempotency key prefix, as Lambda's function name would be.
pub const FUNCTION_NAME: &str = "ticket-processor";

pub struct Stack {
    pub sdk: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub tickets_table: String,
    pub idempotency_table: String,
    pub notification_queue_url: String,
    pub dead_letter_queue_url: String,
}

/// A notification as notification-sender would receive it.
#[derive(Debug, Clone)]
pub struct Received {
    pub notification: Notification,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

impl Stack {
    /// Everything on the test binary's shared moto server, with a standard notification queue.
    pub async fn new() -> Stack {
        Self::create(MotoServer::shared(), false).await
    }

    /// The same with a FIFO notification queue.
    pub async fn fifo() -> Stack {
        Self::create(MotoServer::shared(), true).await
    }

    async fn create(server: &MotoServer, fifo: bool) -> Stack {
        let sdk = server.sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let tickets_table = moto_harness::dynamodb::pk_sk_table(&dynamodb, "tickets", false).await;
        let idempotency_table = shared::testing::create_idempotency_table(&dynamodb).await;
        let mut notifications = sqs.create_queue().queue_name(if fifo {
            format!("{}.fifo", unique_name("notifications"))
        } else {
            unique_name("notifications")
        });
        if fifo {
            notifications = notifications.attributes(QueueAttributeName::FifoQueue, "true");
        }
        let notification_queue_url = notifications
            .send()
            .await
            .expect("create notification queue")
            .queue_url
            .unwrap();
        let dead_letter_queue_url = sqs
            .create_queue()
            .queue_name(unique_name("ticket-dlq"))
            .send()
            .await
            .expect("create dead-letter queue")
            .queue_url
            .unwrap();
        Stack {
            sdk,
            dynamodb,
            sqs,
            tickets_table,
            idempotency_table,
            notification_queue_url,
            dead_letter_queue_url,
        }
    }

    /// The event item an operator seeds: `capacity` seats, none issued, one counter.
    pub async fn seed_event(&self, event_id: &str, capacity: u64) {
        self.seed_sharded_event(event_id, capacity, 1).await;
    }

    /// An event whose seats are counted on `shards` counters.
    pub async fn seed_sharded_event(&self, event_id: &str, capacity: u64, shards: u32) {
        let seeded = schema::seed_event(&self.dynamodb, &self.tickets_table, event_id, capacity, shards)
            .await
            .expect("seed event");
        assert_eq!(seeded, Seeded::Created);
    }

    /// A processor with its own clients, as a separate invocation (or execution environment) has.
    pub fn processor(&self) -> TicketProcessor {
        self.processor_notifying_through(aws_sdk_sqs::Client::new(&self.sdk))
    }

    /// A processor whose notification queue client is `sqs` (e.g. one that hangs).
    pub fn processor_notifying_through(&self, sqs: aws_sdk_sqs::Client) -> TicketProcessor {
        TicketProcessor::new(
            TicketTable::new(aws_sdk_dynamodb::Client::new(&self.sdk), &self.tickets_table),
            NotificationQueue::new(sqs, &self.notification_queue_url),
        )
    }

    pub fn idempotency(&self) -> Idempotency {
        let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&self.sdk), &self.idempotency_table);
        Idempotency::new(Arc::new(store), IdempotencyConfig::new(FUNCTION_NAME))
    }

    /// Runs `messages` as the deployed function does (idempotency around the processor, the
    /// batch processor with its DLQ, no deadline).
    pub async fn run(&self, messages: impl IntoIterator<Item = serde_json::Value>) -> shared::BatchOutcome {
        let handler = self.idempotency().wrap(self.processor());
        self.batch()
            .run(shared::testing::event(messages), shared::Deadline::NONE, &handler)
            .await
            .expect("every record has a messageId")
    }

    /// The batch processor of the deployed function: default concurrency, permanent failures to the DLQ.
    pub fn batch(&self) -> BatchProcessor {
        self.with_dead_letters(BatchProcessor::default())
    }

    /// Without DEAD_LETTER_QUEUE_URL: permanent failures are reported in `batchItemFailures`.
    pub fn batch_without_dead_letters(&self) -> BatchProcessor {
        BatchProcessor::default()
    }

    fn with_dead_letters(&self, batch: BatchProcessor) -> BatchProcessor {
        batch.with_dead_letters(Arc::new(SqsDeadLetterQueue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            &self.dead_letter_queue_url,
        )))
    }

    /// Every ticket of `event_id`, read back consistently.
    pub async fn tickets(&self, event_id: &str) -> Vec<Ticket> {
        schema::list_tickets(&self.dynamodb, &self.tickets_table, event_id)
            .await
            .expect("list tickets")
    }

    /// The event's `issued` total, over its counters.
    pub async fn issued(&self, event_id: &str) -> u64 {
        schema::event_totals(&self.dynamodb, &self.tickets_table, event_id)
            .await
            .expect("event totals")
            .expect("the event exists")
            .issued
    }

    /// Every item of the table (events, counters and tickets).
    pub async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamodb
            .scan()
            .table_name(&self.tickets_table)
            .consistent_read(true)
            .send()
            .await
            .expect("scan")
            .items
            .unwrap_or_default()
    }

    /// Whether the event's item exists.
    pub async fn event_exists(&self, event_id: &str) -> bool {
        self.dynamodb
            .get_item()
            .table_name(&self.tickets_table)
            .set_key(Some(event_key(event_id).to_item()))
            .consistent_read(true)
            .send()
            .await
            .expect("get event")
            .item
            .is_some()
    }

    /// Drains the notification queue: everything enqueued since the last call.
    pub async fn notifications(&self) -> Vec<Received> {
        self.drain(&self.notification_queue_url)
            .await
            .into_iter()
            .map(|message| Received {
                notification: serde_json::from_str(message.body().unwrap()).expect("a notification body"),
                group_id: system_attribute(&message, MessageSystemAttributeName::MessageGroupId),
                deduplication_id: system_attribute(&message, MessageSystemAttributeName::MessageDeduplicationId),
            })
            .collect()
    }

    /// Drains the dead-letter queue.
    pub async fn dead_letters(&self) -> Vec<aws_sdk_sqs::types::Message> {
        self.drain(&self.dead_letter_queue_url).await
    }

    /// Every message on `queue_url`, received once and deleted.
    pub async fn drain(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        moto_harness::sqs::drain(&self.sqs, queue_url).await
    }

    /// `status` of the idempotency record of `message_id`.
    pub async fn idempotency_status(&self, message_id: &str) -> Option<String> {
        self.dynamodb
            .get_item()
            .table_name(&self.idempotency_table)
            .key("id", AttributeValue::S(format!("{FUNCTION_NAME}#{message_id}")))
            .consistent_read(true)
            .send()
            .await
            .expect("get idempotency record")
            .item
            .and_then(|item| item.get("status").and_then(|s| s.as_s().ok()).cloned())
    }
}

fn system_attribute(message: &aws_sdk_sqs::types::Message, name: MessageSystemAttributeName) -> Option<String> {
    message
        .attributes()
        .and_then(|attributes| attributes.get(&name))
        .cloned()
}

/// Asserts that no record of `outcome` was handed back to SQS (none in `batchItemFailures`).
pub fn assert_nothing_retried(outcome: &shared::BatchOutcome) {
    assert!(
        outcome.response().batch_item_failures.is_empty(),
        "nothing is handed back to SQS: {:?}",
        outcome.results
    );
}

/// A record of `body`, as SQS delivers it, without a deadline.
pub fn record(message_id: &str, body: &str) -> shared::Record {
    shared::Record::new(
        shared::testing::sqs_message(shared::testing::message(message_id, body)),
        shared::Deadline::NONE,
    )
    .unwrap()
}

/// A ticket request body.
pub fn body(event_id: &str, user_id: &str) -> String {
    serde_json::json!({
        "eventId": event_id,
        "userId": user_id,
        "requestedAt": "2026-11-22T10:00:00Z",
        "contact": { "email": format!("{user_id}@example.com") },
        "locale": "en",
    })
    .to_string()
}

/// A TCP endpoint that accepts connections and never answers: an SQS client pointed at it hangs,
/// as a call does when Lambda's timeout is about to kill the invocation. Each accepted connection
/// is reported on the returned channel.
pub async fn blackhole() -> (String, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, connections) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = accepted.send(());
        }
    });
    (endpoint, connections)
}
