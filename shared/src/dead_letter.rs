//! Where permanently failed records go: a dead-letter queue, with attributes saying why.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lambda_events::sqs::SqsMessageAttribute;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use futures::future::{BoxFuture, FutureExt};

use crate::{Record, RecordError, attributes};

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error(
        "message {message_id} has {count} message attributes with the dead-letter ones, over SQS's limit of {}",
        attributes::MAX_MESSAGE_ATTRIBUTES
    )]
    TooManyAttributes { message_id: String, count: usize },
    #[error("message {message_id}: SendMessage to dead-letter queue {queue_url} failed: {message}")]
    Send {
        message_id: String,
        queue_url: String,
        message: String,
    },
}

/// Receives records that failed permanently. Implementations: [`SqsDeadLetterQueue`], [`MemoryDeadLetters`].
pub trait DeadLetterSink: Send + Sync {
    fn send<'a>(&'a self, record: &'a Record, error: &'a RecordError) -> BoxFuture<'a, Result<(), DeadLetterError>>;
}

/// The attributes the dead letter carries: the record's own, then why it failed.
/// Fails rather than dropping attributes when the total exceeds SQS's limit of 10.
pub fn dead_letter_attributes(
    record: &Record,
    error: &RecordError,
) -> Result<HashMap<String, SqsMessageAttribute>, DeadLetterError> {
    let mut all = record.message_attributes().clone();
    let mut add = |name: &str, value: String, data_type: &str| {
        let mut attribute = SqsMessageAttribute::default();
        attribute.string_value = Some(value);
        attribute.data_type = Some(data_type.to_owned());
        all.insert(name.to_owned(), attribute);
    };
    add(attributes::ERROR_KIND, error.kind().to_owned(), "String");
    add(
        attributes::ERROR_MESSAGE,
        truncate(error.message(), attributes::MAX_ERROR_MESSAGE_BYTES),
        "String",
    );
    add(
        attributes::SOURCE_QUEUE,
        record.source_queue_arn().unwrap_or("unknown").to_owned(),
        "String",
    );
    add(
        attributes::ORIGINAL_MESSAGE_ID,
        record.original_message_id().to_owned(),
        "String",
    );
    add(attributes::RECEIVE_COUNT, record.receive_count().to_string(), "Number");
    if all.len() > attributes::MAX_MESSAGE_ATTRIBUTES {
        return Err(DeadLetterError::TooManyAttributes {
            message_id: record.message_id().to_owned(),
            count: all.len(),
        });
    }
    Ok(all)
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
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

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
            let attributes = dead_letter_attributes(record, error)?;
            let mut request = self
                .client
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(record.body());
            for (name, attribute) in &attributes {
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
    pub message_id: String,
    pub body: String,
    pub attributes: HashMap<String, SqsMessageAttribute>,
}

impl DeadLetter {
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
    pub fn new() -> Self {
        Self::default()
    }

    pub fn letters(&self) -> Vec<DeadLetter> {
        self.letters.lock().unwrap().clone()
    }
}

impl DeadLetterSink for MemoryDeadLetters {
    fn send<'a>(&'a self, record: &'a Record, error: &'a RecordError) -> BoxFuture<'a, Result<(), DeadLetterError>> {
        let result = dead_letter_attributes(record, error).map(|attributes| {
            self.letters.lock().unwrap().push(DeadLetter {
                message_id: record.message_id().to_owned(),
                body: record.body().to_owned(),
                attributes,
            });
        });
        futures::future::ready(result).boxed()
    }
}
