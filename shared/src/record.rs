//! One SQS record as the handler sees it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{SqsMessage, SqsMessageAttribute};
use serde::de::DeserializeOwned;

use crate::metrics::Recorder;
use crate::{Deadline, RecordError, attributes};

/// The system attribute SQS carries an X-Ray trace header in.
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// An SQS record with a guaranteed messageId, the invocation deadline and the invocation's
/// metrics.
#[derive(Debug, Clone)]
pub struct Record {
    message: SqsMessage,
    message_id: String,
    deadline: Deadline,
    metrics: Recorder,
}

impl Record {
    /// `None` when the message has no (or an empty) messageId: such a record cannot be reported.
    pub fn new(message: SqsMessage, deadline: Deadline) -> Option<Self> {
        let message_id = message.message_id.clone().filter(|id| !id.is_empty())?;
        Some(Self {
            message,
            message_id,
            deadline,
            metrics: Recorder::detached(),
        })
    }

    /// The record with the metrics of the invocation it runs in (the batch processor sets them).
    pub fn with_metrics(mut self, metrics: Recorder) -> Self {
        self.metrics = metrics;
        self
    }

    /// The invocation's metrics: what a handler adds here is written in the invocation's EMF line.
    pub fn metrics(&self) -> &Recorder {
        &self.metrics
    }

    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The messageId this message was first received under: the `original-message-id`
    /// attribute set by dlq-redrive when present, else the messageId.
    pub fn original_message_id(&self) -> &str {
        self.string_attribute(attributes::ORIGINAL_MESSAGE_ID)
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.message_id)
    }

    pub fn body(&self) -> &str {
        self.message.body.as_deref().unwrap_or_default()
    }

    /// The body parsed as JSON; a body that does not parse is a permanent `malformed-body` error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, RecordError> {
        serde_json::from_str(self.body()).map_err(|e| {
            RecordError::permanent(
                "malformed-body",
                format!(
                    "message {}: body is not valid JSON for this queue: {e}",
                    self.message_id
                ),
            )
        })
    }

    /// `MessageGroupId` of a FIFO record.
    pub fn group_id(&self) -> Option<&str> {
        self.message.attributes.get("MessageGroupId").map(String::as_str)
    }

    /// `ApproximateReceiveCount`, 0 when absent.
    pub fn receive_count(&self) -> u32 {
        self.message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(0)
    }

    /// When SQS accepted the message (`SentTimestamp`). A redriven copy's is the redrive's.
    pub fn sent_at(&self) -> Option<SystemTime> {
        let epoch_ms: u64 = self.message.attributes.get("SentTimestamp")?.parse().ok()?;
        UNIX_EPOCH.checked_add(Duration::from_millis(epoch_ms))
    }

    /// Time since SQS accepted the message, at `now`.
    pub fn age_at(&self, now: SystemTime) -> Option<Duration> {
        now.duration_since(self.sent_at()?).ok()
    }

    /// Whether this is a copy of a dead letter sent back by dlq-redrive (it carries
    /// `original-message-id`): its `SentTimestamp` is the redrive's, not the request's.
    pub fn is_redriven_copy(&self) -> bool {
        self.string_attribute(attributes::ORIGINAL_MESSAGE_ID).is_some()
    }

    /// The X-Ray trace header SQS carries with the message (`AWSTraceHeader`), when the sender
    /// was traced or set it.
    pub fn trace_header(&self) -> Option<&str> {
        self.message
            .attributes
            .get(AWS_TRACE_HEADER)
            .map(String::as_str)
            .filter(|header| !header.is_empty())
    }

    /// The ARN of the queue this record came from.
    pub fn source_queue_arn(&self) -> Option<&str> {
        self.message.event_source_arn.as_deref()
    }

    pub fn string_attribute(&self, name: &str) -> Option<&str> {
        self.message
            .message_attributes
            .get(name)
            .and_then(|attribute| attribute.string_value.as_deref())
    }

    pub fn message_attributes(&self) -> &std::collections::HashMap<String, SqsMessageAttribute> {
        &self.message.message_attributes
    }

    pub fn message(&self) -> &SqsMessage {
        &self.message
    }

    pub fn deadline(&self) -> Deadline {
        self.deadline
    }
}
