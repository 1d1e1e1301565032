//! Where permanently failed records go: a dead-letter queue, with attributes saying why.
//!
//! A dead letter has one of two shapes (both read by dlq-redrive, and by [`Record::new`]):
//! - **plain**: the record's body and attributes, plus `error-kind`, `error-message`,
//!   `source-queue`, `original-message-id` and `receive-count`, when that makes at most SQS's 10;
//! - **envelope**: otherwise the body is an [`Envelope`] of the record's body and attributes, and
//!   the attributes are the 5 dead-letter ones plus `dead-letter-envelope`. A message with SQS's
//!   maximum of 10 attributes is still dead-lettered with its reason.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lambda_events::sqs::SqsMessageAttribute;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use futures::future::{BoxFuture, FutureExt};

use crate::envelope::{self, Envelope};
use crate::{Record, RecordError, attributes};

/// A dead letter that could not be sent: the record is then reported failed, not lost.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// `SendMessage` to the dead-letter queue failed.
    #[error("message {message_id}: SendMessage to dead-letter queue {queue_url} failed: {message}")]
    Send {
        /// The record's messageId.
        message_id: String,
        /// The dead-letter queue.
        queue_url: String,
        /// The SDK error, with its sources.
        message: String,
    },
}

/// Receives records that failed permanently. Implementations: [`SqsDeadLetterQueue`], [`MemoryDeadLetters`].
pub trait DeadLetterSink: Send + Sync {
    /// Keeps `record` with the reason `error`; `Err` when it could not, so the caller reports
    /// the record failed instead.
    fn send<'a>(&'a self, record: &'a Record, error: &'a RecordError) -> BoxFuture<'a, Result<(), DeadLetterError>>;
}

/// The body and attributes a dead letter is sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterMessage {
    /// The record's body, or the envelope holding it and its attributes.
    pub body: String,
    /// The message attributes, the dead-letter reason's included (10 at most).
    pub attributes: HashMap<String, SqsMessageAttribute>,
    /// Whether the body is an [`Envelope`] (the record's attributes left no room).
    pub enveloped: bool,
}

/// The dead letter of `record`: plain when its attributes and the 5 dead-letter ones fit SQS's
/// limit of 10, else enveloped (see the module comment).
pub fn dead_letter_message(record: &Record, error: &RecordError) -> DeadLetterMessage {
    let reason = reason_attributes(record, error);
    let own: HashMap<String, SqsMessageAttribute> = record
        .message_attributes()
        .iter()
        .filter(|(name, _)| !reason.contains_key(*name) && name.as_str() != attributes::DEAD_LETTER_ENVELOPE)
        .map(|(name, attribute)| (name.clone(), attribute.clone()))
        .collect();
    if own.len() + reason.len() <= attributes::MAX_MESSAGE_ATTRIBUTES {
        let mut all = own;
        all.extend(reason);
        return DeadLetterMessage {
            body: record.body().to_owned(),
            attributes: all,
            enveloped: false,
        };
    }
    let mut outer = reason;
    outer.insert(
        attributes::DEAD_LETTER_ENVELOPE.to_owned(),
        attribute(envelope::VERSION.to_string(), "Number"),
    );
    DeadLetterMessage {
        body: Envelope::of_record(record.body(), record.message_attributes()).to_json(),
        attributes: outer,
        enveloped: true,
    }
}

/// Why the record failed, as the 5 dead-letter attributes.
fn reason_attributes(record: &Record, error: &RecordError) -> HashMap<String, SqsMessageAttribute> {
    HashMap::from([
        (
            attributes::ERROR_KIND.to_owned(),
            attribute(error.kind().to_owned(), "String"),
        ),
        (
            attributes::ERROR_MESSAGE.to_owned(),
            attribute(truncate(error.message(), attributes::MAX_ERROR_MESSAGE_BYTES), "String"),
        ),
        (
            attributes::SOURCE_QUEUE.to_owned(),
            attribute(record.source_queue_arn().unwrap_or("unknown").to_owned(), "String"),
        ),
        (
            attributes::ORIGINAL_MESSAGE_ID.to_owned(),
            attribute(record.original_message_id().to_owned(), "String"),
        ),
        (
            attributes::RECEIVE_COUNT.to_owned(),
            attribute(record.receive_count().to_string(), "Number"),
        ),
    ])
}

fn attribute(value: String, data_type: &str) -> SqsMessageAttribute {
    let mut attribute = SqsMessageAttribute::default();
    attribute.string_value = Some(value);
    attribute.data_type = Some(data_type.to_owned());
    attribute
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Sends dead letters to an SQS queue. For a FIFO queue (URL ending in `.fifo`) the record's
/// message group is kept and the messageId is the deduplication id, so a resend is dropped.
#[derive(Debug, Clone)]
pub struct SqsDeadLetterQueue {
    client: Client,
    queue_url: String,
}

impl SqsDeadLetterQueue {
    /// Sends to `queue_url` with `client`; nothing is checked until the first send.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// The dead-letter queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

fn to_sdk(attribute: &SqsMessageAttribute) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(attribute.data_type.clone().unwrap_or_else(|| "String".to_owned()))
        .set_string_value(attribute.string_value.clone())
        .set_binary_value(attribute.binary_value.as_ref().map(|b| Blob::new(b.0.clone())))
        .build()
        .expect("data_type is always set")
}

impl DeadLetterSink for SqsDeadLetterQueue {
    fn send<'a>(&'a self, record: &'a Record, error: &'a RecordError) -> BoxFuture<'a, Result<(), DeadLetterError>> {
        async move {
            let letter = dead_letter_message(record, error);
            let mut request = self
                .client
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(&letter.body);
            for (name, attribute) in &letter.attributes {
                request = request.message_attributes(name, to_sdk(attribute));
            }
            if self.queue_url.ends_with(".fifo") {
                request = request
                    .message_group_id(record.group_id().unwrap_or("dead-letters"))
                    .message_deduplication_id(record.message_id());
            }
            request.send().await.map_err(|e| DeadLetterError::Send {
                message_id: record.message_id().to_owned(),
                queue_url: self.queue_url.clone(),
                message: crate::error_chain(&e),
            })?;
            Ok(())
        }
        .boxed()
    }
}

/// A dead letter as [`MemoryDeadLetters`] keeps it.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The failed record's messageId.
    pub message_id: String,
    /// The body as it would be sent (see [`DeadLetterMessage::body`]).
    pub body: String,
    /// The attributes as they would be sent, the reason's included.
    pub attributes: HashMap<String, SqsMessageAttribute>,
}

impl DeadLetter {
    /// A string attribute's value (`error-kind`, …); `None` if absent or binary.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(|a| a.string_value.as_deref())
    }
}

/// Keeps dead letters in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<Vec<DeadLetter>>,
}

impl MemoryDeadLetters {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every letter sent so far, in the order they were sent.
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.letters.lock().unwrap().clone()
    }
}

impl DeadLetterSink for MemoryDeadLetters {
    fn send<'a>(&'a self, record: &'a Record, error: &'a RecordError) -> BoxFuture<'a, Result<(), DeadLetterError>> {
        let letter = dead_letter_message(record, error);
        self.letters.lock().unwrap().push(DeadLetter {
            message_id: record.message_id().to_owned(),
            body: letter.body,
            attributes: letter.attributes,
        });
        futures::future::ready(Ok(())).boxed()
    }
}
