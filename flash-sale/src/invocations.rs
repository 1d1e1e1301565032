//! An invoker between the event source mapping and a function's processes that keeps what each
//! invocation carried and answered: the records (messageId, `ApproximateReceiveCount`, body) and
//! the records the function reported failed. From these come the receives per message.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use emulation::invoke::{Invocation, InvokeError, Invoker};
use futures::future::BoxFuture;
use serde_json::Value;

/// One record of an SQS event, as the function received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub receive_count: u32,
    pub body: String,
}

/// One invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRecord {
    pub function: String,
    pub started: Instant,
    pub finished: Instant,
    pub records: Vec<Received>,
    /// messageIds in `batchItemFailures`.
    pub failed: Vec<String>,
    /// The invocation failed as a whole (error, timeout, crash).
    pub function_error: Option<String>,
}

pub struct RecordingInvoker {
    function: String,
    inner: Arc<dyn Invoker>,
    records: Arc<Mutex<Vec<InvocationRecord>>>,
}

impl RecordingInvoker {
    /// Invokes through `inner`, adding each invocation to `records`.
    pub fn new(function: &str, inner: Arc<dyn Invoker>, records: Arc<Mutex<Vec<InvocationRecord>>>) -> Self {
        Self {
            function: function.to_owned(),
            inner,
            records,
        }
    }
}

impl Invoker for RecordingInvoker {
    fn invoke<'a>(&'a self, function: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(async move {
            let started = Instant::now();
            let records = received(&payload);
            let result = self.inner.invoke(function, payload).await;
            let (failed, function_error) = match &result {
                Ok(invocation) => (failed(&invocation.payload), invocation.function_error.clone()),
                Err(error) => (Vec::new(), Some(error.to_string())),
            };
            self.records.lock().unwrap().push(InvocationRecord {
                function: self.function.clone(),
                started,
                finished: Instant::now(),
                records,
                failed,
                function_error,
            });
            result
        })
    }
}

/// The records of an SQS event.
pub fn received(payload: &[u8]) -> Vec<Received> {
    let event: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|record| Received {
            message_id: record["messageId"].as_str().unwrap_or_default().to_owned(),
            receive_count: record["attributes"]["ApproximateReceiveCount"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
            body: record["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// The messageIds a batch response lists as failed.
pub fn failed(response: &[u8]) -> Vec<String> {
    let response: Value = serde_json::from_slice(response).unwrap_or(Value::Null);
    response["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_failures_are_read_from_the_event_and_the_response() {
        let event = serde_json::json!({"Records": [
            {"messageId": "a", "body": "x", "attributes": {"ApproximateReceiveCount": "3"}},
            {"messageId": "b", "body": "y", "attributes": {}}
        ]});
        let records = received(event.to_string().as_bytes());
        assert_eq!(
            records[0],
            Received {
                message_id: "a".into(),
                receive_count: 3,
                body: "x".into()
            }
        );
        assert_eq!(records[1].receive_count, 1);
        assert_eq!(
            failed(br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#),
            vec!["b".to_owned()]
        );
        assert!(failed(b"{}").is_empty());
        assert!(failed(b"not json").is_empty());
    }
}
