//! A message received from a DLQ, with what redrive needs to know about it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
use shared::attributes;

/// The kind of a dead letter without an `error-kind` attribute: SQS's redrive policy moved it
/// after `maxReceiveCount` failed receives, so no code recorded why.
pub const RETRIES_EXHAUSTED: &str = "retries-exhausted";

#[derive(Debug, Clone)]
pub struct Letter {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub attributes: HashMap<String, MessageAttributeValue>,
    /// `MessageGroupId` (FIFO queues; standard fair queues may carry one too).
    pub group_id: Option<String>,
    /// `SentTimestamp`: when the message entered the DLQ (epoch ms).
    pub sent_at_ms: Option<u64>,
}

impl Letter {
    /// `Err` names what is missing: a message without an id or receipt handle cannot be moved.
    pub fn from_message(message: Message) -> Result<Self, String> {
        let message_id = message
            .message_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| "SQS returned a message without a MessageId".to_owned())?;
        let receipt_handle = message
            .receipt_handle
            .filter(|handle| !handle.is_empty())
            .ok_or_else(|| format!("message {message_id}: SQS returned it without a ReceiptHandle"))?;
        let system = message.attributes.unwrap_or_default();
        Ok(Self {
            group_id: system.get(&MessageSystemAttributeName::MessageGroupId).cloned(),
            sent_at_ms: system
                .get(&MessageSystemAttributeName::SentTimestamp)
                .and_then(|ms| ms.parse().ok()),
            message_id,
            receipt_handle,
            body: message.body.unwrap_or_default(),
            attributes: message.message_attributes.unwrap_or_default(),
        })
    }

    pub fn string_attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(|value| value.string_value())
    }

    /// The `error-kind` shared wrote when it dead-lettered the message, else [`RETRIES_EXHAUSTED`].
    pub fn error_kind(&self) -> &str {
        self.string_attribute(attributes::ERROR_KIND)
            .filter(|kind| !kind.is_empty())
            .unwrap_or(RETRIES_EXHAUSTED)
    }

    /// The id workers key idempotency on: an existing `original-message-id`, else this messageId
    /// (the redrive policy keeps the messageId when it moves a message to the DLQ).
    pub fn original_message_id(&self) -> &str {
        self.string_attribute(attributes::ORIGINAL_MESSAGE_ID)
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.message_id)
    }

    /// How often dlq-redrive has sent this message back already; 0 without the attribute.
    pub fn redrive_count(&self) -> Result<u32, String> {
        match self.string_attribute(attributes::REDRIVE_COUNT) {
            None => Ok(0),
            Some(count) => count.trim().parse().map_err(|_| {
                format!(
                    "message {}: attribute {} is {count:?}, not a whole number; left in the DLQ",
                    self.message_id,
                    attributes::REDRIVE_COUNT
                )
            }),
        }
    }

    /// Time spent in the DLQ at `now`.
    pub fn age_at(&self, now: SystemTime) -> Option<Duration> {
        let sent = UNIX_EPOCH + Duration::from_millis(self.sent_at_ms?);
        Some(now.duration_since(sent).unwrap_or_default())
    }
}
