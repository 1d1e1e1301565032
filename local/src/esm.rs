//! A local SQS event source mapping: polls a queue, invokes the function with Lambda's SQS
//! event, and deletes what Lambda would delete.
//!
//! As AWS does (Lambda developer guide, "Handling errors for an SQS event source"):
//! - the batch is up to `BatchSize` messages, gathered for up to `MaximumBatchingWindowInSeconds`;
//! - an invocation error (function error, timeout, unreachable function) deletes nothing: every
//!   message reappears after the visibility timeout;
//! - with `ReportBatchItemFailures`, an empty/null response or an empty/null `batchItemFailures`
//!   deletes the whole batch; listed ids stay; a response that is not valid JSON, or an item with
//!   an empty, missing or unknown `itemIdentifier`, counts as a failure of the whole batch;
//! - without it, any successful invocation deletes the whole batch.
//!
//! Messages that keep failing move to the DLQ through the queue's redrive policy (the emulator's).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::Value;

use crate::provision::EventSourceMapping;
use emulation::invoke::Invoker;
use emulation::runtime_api::now_ms;

/// What to do with a batch after the invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    DeleteAll,
    /// Delete all but these messageIds.
    KeepFailed(Vec<String>),
    /// Delete nothing; the reason says why the whole batch failed.
    RetryAll(String),
}

/// Lambda's reading of an invocation result for a batch of `message_ids`.
pub fn judge(
    function_error: Option<&str>,
    payload: &[u8],
    message_ids: &[String],
    report_batch_item_failures: bool,
) -> Verdict {
    if let Some(error) = function_error {
        let detail = String::from_utf8_lossy(payload);
        return Verdict::RetryAll(format!("function error ({error}): {}", truncate(&detail, 300)));
    }
    if !report_batch_item_failures {
        return Verdict::DeleteAll;
    }
    let text = String::from_utf8_lossy(payload);
    if text.trim().is_empty() || text.trim() == "null" {
        return Verdict::DeleteAll;
    }
    let response: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(e) => return Verdict::RetryAll(format!("response is not valid JSON ({e})")),
    };
    let Some(object) = response.as_object() else {
        return Verdict::RetryAll(format!("response is not a JSON object: {}", truncate(&text, 200)));
    };
    let failures = match object.get("batchItemFailures") {
        None | Some(Value::Null) => return Verdict::DeleteAll,
        Some(Value::Array(items)) if items.is_empty() => return Verdict::DeleteAll,
        Some(Value::Array(items)) => items,
        Some(other) => return Verdict::RetryAll(format!("batchItemFailures is not a list: {other}")),
    };
    let mut keep = Vec::new();
    for item in failures {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && message_ids.iter().any(|m| m == id) => {
                if !keep.iter().any(|k| k == id) {
                    keep.push(id.to_owned());
                }
            }
            _ => return Verdict::RetryAll(format!("invalid batch item failure {item}: the whole batch is retried")),
        }
    }
    Verdict::KeepFailed(keep)
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Counters of one mapping, readable while it runs.
#[derive(Debug, Default)]
pub struct MappingStats {
    pub invocations: AtomicU64,
    pub records: AtomicU64,
    pub deleted: AtomicU64,
    /// Records left for redelivery (listed failures, or whole batches that failed).
    pub left: AtomicU64,
    /// Invocations whose whole batch failed (function error, invalid response).
    pub batch_failures: AtomicU64,
    /// When the last invocation ended, epoch ms (0: never).
    pub last_activity_ms: AtomicU64,
    /// Invocations in progress.
    pub in_flight: AtomicU64,
}

impl MappingStats {
    pub fn snapshot(&self) -> HashMap<&'static str, u64> {
        HashMap::from([
            ("invocations", self.invocations.load(Ordering::Relaxed)),
            ("records", self.records.load(Ordering::Relaxed)),
            ("deleted", self.deleted.load(Ordering::Relaxed)),
            ("left", self.left.load(Ordering::Relaxed)),
            ("batch_failures", self.batch_failures.load(Ordering::Relaxed)),
            ("in_flight", self.in_flight.load(Ordering::Relaxed)),
        ])
    }
}

/// Polls one queue for one function.
pub struct Poller {
    pub mapping: EventSourceMapping,
    pub sqs: aws_sdk_sqs::Client,
    pub invoker: Arc<dyn Invoker>,
    pub stats: Arc<MappingStats>,
    pub region: String,
    /// Long-poll wait of an empty queue. Short keeps shutdown prompt.
    pub wait: Duration,
}

impl Poller {
    /// Poll until `stop` turns true, with `maximum_concurrency` invocations at most. The
    /// concurrent pollers take turns to receive and delete (moto's SQS is not thread-safe under
    /// concurrent ReceiveMessage calls: it can hand one message to two of them, or fail with a
    /// 500); their invocations still run concurrently.
    pub async fn run(self: Arc<Self>, stop: tokio::sync::watch::Receiver<bool>) {
        let receiving = Arc::new(tokio::sync::Mutex::new(()));
        let workers = (0..self.mapping.maximum_concurrency.max(1)).map(|_| {
            let poller = self.clone();
            let receiving = receiving.clone();
            let mut stop = stop.clone();
            async move {
                while !*stop.borrow() {
                    tokio::select! {
                        result = poller.poll(Some(&receiving)) => {
                            if let Err(error) = result {
                                tracing::warn!(mapping = %poller.mapping.logical_id, %error, "poll failed");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            }
                        }
                        _ = stop.changed() => {}
                    }
                }
            }
        });
        futures::future::join_all(workers).await;
    }

    /// Receive one batch (if any), invoke, delete per the verdict. Returns the verdict.
    pub async fn poll_once(&self) -> Result<Option<Verdict>, String> {
        self.poll(None).await
    }

    /// One poll; its receive and its delete hold `receiving` if given.
    async fn poll(&self, receiving: Option<&tokio::sync::Mutex<()>>) -> Result<Option<Verdict>, String> {
        let batch = match receiving {
            Some(lock) => {
                let _turn = lock.lock().await;
                self.receive_batch().await?
            }
            None => self.receive_batch().await?,
        };
        if batch.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = batch
            .iter()
            .map(|m| m.message_id().unwrap_or_default().to_owned())
            .collect();
        let mut event = SqsEvent::default();
        event.records = batch.iter().map(|m| self.record(m)).collect();
        self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        self.stats.records.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let result = self
            .invoker
            .invoke(
                &self.mapping.function,
                serde_json::to_vec(&event).expect("an SqsEvent serialises"),
            )
            .await;
        let verdict = match result {
            Ok(invocation) => judge(
                invocation.function_error.as_deref(),
                &invocation.payload,
                &ids,
                self.mapping.report_batch_item_failures,
            ),
            Err(error) => Verdict::RetryAll(error.to_string()),
        };
        let delete: Vec<&Message> = match &verdict {
            Verdict::DeleteAll => batch.iter().collect(),
            Verdict::KeepFailed(keep) => batch
                .iter()
                .filter(|m| !keep.iter().any(|k| Some(k.as_str()) == m.message_id()))
                .collect(),
            Verdict::RetryAll(reason) => {
                self.stats.batch_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(mapping = %self.mapping.logical_id, reason, "whole batch left for redelivery");
                Vec::new()
            }
        };
        // Deletes take the receivers' turn too: moto's SQS iterates the in-flight set while
        // receiving, and a concurrent delete changes it ("Set changed size during iteration").
        let deleted = match receiving {
            Some(lock) => {
                let _turn = lock.lock().await;
                self.delete(&delete).await
            }
            None => self.delete(&delete).await,
        };
        self.stats.deleted.fetch_add(deleted, Ordering::Relaxed);
        self.stats
            .left
            .fetch_add(batch.len() as u64 - deleted, Ordering::Relaxed);
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.stats.last_activity_ms.store(now_ms(), Ordering::Relaxed);
        Ok(Some(verdict))
    }

    async fn receive_batch(&self) -> Result<Vec<Message>, String> {
        let mut batch: Vec<Message> = Vec::new();
        let window = Duration::from_secs(self.mapping.batching_window_seconds);
        let started = Instant::now();
        while batch.len() < self.mapping.batch_size {
            let waited = started.elapsed();
            if !batch.is_empty() && waited >= window {
                break;
            }
            let wait = if batch.is_empty() {
                self.wait
            } else {
                (window - waited).min(self.wait)
            };
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.mapping.queue_url)
                .max_number_of_messages((self.mapping.batch_size - batch.len()).min(10) as i32)
                .wait_time_seconds(wait.as_secs().max(if batch.is_empty() { 1 } else { 0 }) as i32)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| shared::error_chain(&e))?;
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() && (batch.is_empty() || window.is_zero()) {
                break;
            }
            batch.extend(messages);
            if window.is_zero() {
                break;
            }
        }
        Ok(batch)
    }

    /// A message in the shape Lambda's SQS event gives it.
    fn record(&self, message: &Message) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = message.message_id.clone();
        record.receipt_handle = message.receipt_handle.clone();
        record.body = message.body.clone();
        record.md5_of_body = message.md5_of_body.clone();
        record.md5_of_message_attributes = message.md5_of_message_attributes.clone();
        record.attributes = message
            .attributes()
            .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect())
            .unwrap_or_default();
        record.message_attributes = message
            .message_attributes()
            .map(|a| a.iter().map(|(name, value)| (name.clone(), attribute(value))).collect())
            .unwrap_or_default();
        record.event_source = Some("aws:sqs".to_owned());
        record.event_source_arn = Some(self.mapping.queue_arn.clone());
        record.aws_region = Some(self.region.clone());
        record
    }

    async fn delete(&self, messages: &[&Message]) -> u64 {
        let mut deleted = 0;
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            match self
                .sqs
                .delete_message_batch()
                .queue_url(&self.mapping.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(output) => {
                    deleted += output.successful().len() as u64;
                    for failure in output.failed() {
                        tracing::warn!(mapping = %self.mapping.logical_id, id = failure.id(), "delete failed");
                    }
                }
                Err(e) => {
                    tracing::warn!(mapping = %self.mapping.logical_id, error = %shared::error_chain(&e), "delete failed")
                }
            }
        }
        deleted
    }
}

/// A message attribute as Lambda's SQS event gives it (string or binary; the list values SQS
/// reserves are empty).
fn attribute(value: &MessageAttributeValue) -> SqsMessageAttribute {
    let mut attribute = SqsMessageAttribute::default();
    attribute.string_value = value.string_value.clone();
    attribute.binary_value = value.binary_value().map(|b| {
        let mut data = Base64Data::default();
        data.extend_from_slice(b.as_ref());
        data
    });
    attribute.data_type = Some(value.data_type().to_owned());
    attribute
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn successes_delete_the_whole_batch() {
        for payload in [
            "",
            "null",
            "{}",
            r#"{"batchItemFailures":[]}"#,
            r#"{"batchItemFailures":null}"#,
        ] {
            assert_eq!(
                judge(None, payload.as_bytes(), &ids(), true),
                Verdict::DeleteAll,
                "{payload:?}"
            );
        }
    }

    #[test]
    fn listed_failures_stay_and_the_rest_is_deleted() {
        let payload = br#"{"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"b"}]}"#;
        assert_eq!(
            judge(None, payload, &ids(), true),
            Verdict::KeepFailed(vec!["b".into()])
        );
    }

    #[test]
    fn invalid_responses_fail_the_whole_batch() {
        for payload in [
            r#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifer":"a"}]}"#,
            r#"{"batchItemFailures":"a"}"#,
            "not json",
            "[1,2]",
        ] {
            assert!(
                matches!(judge(None, payload.as_bytes(), &ids(), true), Verdict::RetryAll(_)),
                "{payload:?}"
            );
        }
    }

    #[test]
    fn a_function_error_fails_the_whole_batch_and_without_reporting_success_deletes_all() {
        assert!(matches!(
            judge(Some("Unhandled"), b"{}", &ids(), true),
            Verdict::RetryAll(_)
        ));
        assert!(matches!(
            judge(Some("Unhandled"), b"{}", &ids(), false),
            Verdict::RetryAll(_)
        ));
        let partial = br#"{"batchItemFailures":[{"itemIdentifier":"a"}]}"#;
        assert_eq!(judge(None, partial, &ids(), false), Verdict::DeleteAll);
    }
}
