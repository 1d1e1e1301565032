//! A message received from a DLQ, with what redrive needs to know about it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use shared::envelope::{Envelope, EnvelopeAttribute};
use shared::{attributes, error_kinds};

use crate::error::MessageError;

/// A dead letter, in either shape `shared` writes: plain, or enveloped (the body is a
/// [`shared::envelope::Envelope`]). An enveloped letter is seen opened: `body` and `attributes`
/// are the original message's, with the dead-letter attributes beside them.
#[derive(Debug, Clone)]
pub struct Letter {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub attributes: HashMap<String, MessageAttributeValue>,
    /// Why an announced envelope could not be opened (the letter then stays in the DLQ).
    pub envelope_problem: Option<MessageError>,
    /// `MessageGroupId` (FIFO queues; standard fair queues may carry one too).
    pub group_id: Option<String>,
    /// `SentTimestamp`: when the message entered the DLQ (epoch ms).
    pub sent_at_ms: Option<u64>,
}

impl Letter {
    /// The letter as redrive sees it: an envelope's body and attributes replace the received ones,
    /// with the dead-letter attributes (they say why the message is here) kept beside them.
    pub fn opened(mut self) -> Self {
        let version = self.string_attribute(attributes::DEAD_LETTER_ENVELOPE);
        match Envelope::open(version, &self.body) {
            None => {}
            Some(Ok(envelope)) => {
                let mut opened: HashMap<String, MessageAttributeValue> = envelope
                    .message_attributes
                    .iter()
                    .map(|(name, attribute)| (name.clone(), to_sdk(attribute)))
                    .collect();
                opened.extend(self.attributes.drain());
                self.attributes = opened;
                self.body = envelope.body;
            }
            Some(Err(problem)) => {
                self.envelope_problem = Some(MessageError::UnreadableEnvelope {
                    message_id: self.message_id.clone(),
                    problem,
                });
            }
        }
        self
    }

    pub fn string_attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(|value| value.string_value())
    }

    /// The `error-kind` shared wrote when it dead-lettered the message, else
    /// [`error_kinds::RETRIES_EXHAUSTED`].
    pub fn error_kind(&self) -> &str {
        self.string_attribute(attributes::ERROR_KIND)
            .filter(|kind| !kind.is_empty())
            .unwrap_or(error_kinds::RETRIES_EXHAUSTED)
    }

    /// The id workers key idempotency on: an existing `original-message-id` shaped like an SQS
    /// message id, else this messageId (the redrive policy keeps the messageId when it moves a
    /// message to the DLQ).
    pub fn original_message_id(&self) -> &str {
        self.string_attribute(attributes::ORIGINAL_MESSAGE_ID)
            .filter(|id| attributes::is_message_id(id))
            .unwrap_or(&self.message_id)
    }

    /// How often dlq-redrive has sent this message back already; 0 without the attribute.
    pub fn redrive_count(&self) -> Result<u32, MessageError> {
        match self.string_attribute(attributes::REDRIVE_COUNT) {
            None => Ok(0),
            Some(count) => count.trim().parse().map_err(|_| MessageError::BadRedriveCount {
                message_id: self.message_id.clone(),
                value: shared::redact::describe_value(count),
            }),
        }
    }

    /// Time spent in the DLQ at `now`.
    pub fn age_at(&self, now: SystemTime) -> Option<Duration> {
        let sent = UNIX_EPOCH + Duration::from_millis(self.sent_at_ms?);
        Some(now.duration_since(sent).unwrap_or_default())
    }
}

/// An attribute as SQS's SDK takes it.
fn to_sdk(attribute: &EnvelopeAttribute) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(&attribute.data_type)
        .set_string_value(attribute.string_value.clone())
        .set_binary_value(attribute.binary_value.as_ref().map(|bytes| Blob::new(bytes.to_vec())))
        .build()
        .expect("data_type is set")
}

/// An attribute as an envelope holds it.
pub fn to_envelope(attribute: &MessageAttributeValue) -> EnvelopeAttribute {
    match attribute.binary_value() {
        Some(bytes) => EnvelopeAttribute::binary(attribute.data_type(), bytes.as_ref()),
        None => EnvelopeAttribute {
            data_type: attribute.data_type().to_owned(),
            string_value: attribute.string_value().map(str::to_owned),
            binary_value: None,
        },
    }
}
