//! Queues on moto's server, seeding dead letters, reading what arrived, and a fault injector.
#![allow(dead_code)] // each test binary uses its own subset

pub(crate) mod mocked;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use dlq_redrive::config::env;
use dlq_redrive::{Redrive, RedriveConfig, Route, Timing};
use moto_harness::sqs::queue_arn;
use moto_harness::{MotoServer, unique_name};
use serde_json::json;
use shared::config::Environment;

pub(crate) async fn sqs() -> Client {
    Client::new(&MotoServer::shared().sdk_config().await)
}

/// A client whose DeleteMessageBatch calls fail before reaching SQS: the run "crashes" after its
/// sends succeeded and before anything is deleted. Counts the calls it stopped.
pub(crate) async fn sqs_failing_deletes() -> (Client, Arc<AtomicUsize>) {
    moto_harness::sqs::client_failing_deletes(&MotoServer::shared().sdk_config().await)
}

/// A source queue and its DLQ (FIFO when `fifo`), as a route named `name`.
pub(crate) async fn route(sqs: &Client, name: &str, fifo: bool) -> Route {
    let suffix = if fifo { ".fifo" } else { "" };
    let source_url = create_queue(sqs, &format!("{}{suffix}", unique_name(&format!("{name}-src"))), fifo).await;
    let dlq_url = create_queue(sqs, &format!("{}{suffix}", unique_name(&format!("{name}-dlq"))), fifo).await;
    Route {
        name: name.to_owned(),
        dlq_arn: queue_arn(sqs, &dlq_url).await,
        source_arn: queue_arn(sqs, &source_url).await,
        move_destinations: Vec::new(),
        dlq_url,
        source_url,
    }
}

async fn create_queue(sqs: &Client, name: &str, fifo: bool) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    if fifo {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

/// The configuration as the function reads it at cold start, through `REDRIVE_ROUTES`.
pub(crate) fn config(routes: &[&Route], max_redrive_count: u32) -> RedriveConfig {
    let routes: Vec<serde_json::Value> = routes
        .iter()
        .map(|r| {
            json!({"name": r.name, "dlqUrl": r.dlq_url, "dlqArn": r.dlq_arn,
                   "sourceUrl": r.source_url, "sourceArn": r.source_arn, "moveDestinations": r.move_destinations})
        })
        .collect();
    RedriveConfig::from_env(&Environment::from_pairs([
        (env::REDRIVE_ROUTES, serde_json::Value::from(routes).to_string()),
        (env::REDRIVE_MAX_COUNT, max_redrive_count.to_string()),
    ]))
    .expect("valid configuration")
}

/// Short long-polls keep the final empty receive cheap.
pub(crate) fn timing() -> Timing {
    Timing {
        wait_time: Duration::from_secs(1),
        ..Timing::default()
    }
}

pub(crate) fn redrive(sqs: &Client, routes: &[&Route], max_redrive_count: u32) -> Redrive {
    Redrive::new(config(routes, max_redrive_count), sqs.clone()).with_timing(timing())
}

pub(crate) fn string(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

pub(crate) fn number(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(value)
        .build()
        .unwrap()
}

/// The attributes `shared` writes when it dead-letters a permanent failure.
pub(crate) fn dead_letter_attributes(kind: &str, original_message_id: &str) -> HashMap<String, MessageAttributeValue> {
    HashMap::from([
        ("error-kind".to_owned(), string(kind)),
        ("error-message".to_owned(), string(&format!("{kind}: details"))),
        (
            "source-queue".to_owned(),
            string("arn:aws:sqs:us-east-1:123456789012:ticket-issue-queue"),
        ),
        ("receive-count".to_owned(), number("1")),
        ("original-message-id".to_owned(), string(original_message_id)),
    ])
}

/// Puts a message into a queue; returns its messageId. FIFO queues need `group`.
pub(crate) async fn seed(
    sqs: &Client,
    queue_url: &str,
    body: &str,
    attributes: HashMap<String, MessageAttributeValue>,
    group: Option<&str>,
) -> String {
    let mut request = sqs
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .set_message_attributes(Some(attributes).filter(|a| !a.is_empty()));
    if let Some(group) = group {
        request = request
            .message_group_id(group)
            .message_deduplication_id(uuid_like(body));
    }
    request.send().await.expect("send").message_id.expect("message id")
}

fn uuid_like(body: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("{:x}", hasher.finish())
}

#[allow(unused_imports)] // not every test binary drains a queue
pub(crate) use moto_harness::sqs::drain;

/// (visible, in flight) messages of a queue.
pub(crate) async fn depth(sqs: &Client, queue_url: &str) -> (u64, u64) {
    dlq_redrive::sqs::depth(sqs, queue_url).await.expect("queue depth")
}

pub(crate) fn attribute<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message
        .message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
}

pub(crate) fn group_of(message: &Message) -> Option<&str> {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
        .map(String::as_str)
}
