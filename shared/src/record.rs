//! One SQS record as the handler sees it.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{SqsMessage, SqsMessageAttribute};
use serde::de::DeserializeOwned;

use crate::envelope::Envelope;
use crate::metrics::Recorder;
use crate::redact::mask_emails_in;
use crate::{Deadline, RecordError, attributes, error_kinds};

/// The system attribute SQS carries an X-Ray trace header in.
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// An SQS record with a guaranteed messageId, the invocation deadline and the invocation's
/// metrics. A dead-letter envelope ([`crate::envelope`]) is opened: the handler sees the original
/// body and attributes.
#[derive(Clone)]
pub struct Record {
    message: SqsMessage,
    message_id: String,
    /// A valid `original-message-id` attribute ([`attributes::is_message_id`]).
    original_message_id: Option<String>,
    deadline: Deadline,
    metrics: Recorder,
}

impl Record {
    /// `None` when the message has no (or an empty) messageId: such a record cannot be reported.
    pub fn new(mut message: SqsMessage, deadline: Deadline) -> Option<Self> {
        let message_id = message.message_id.clone().filter(|id| !id.is_empty())?;
        open_envelope(&mut message, &message_id);
        let original_message_id = message
            .message_attributes
            .get(attributes::ORIGINAL_MESSAGE_ID)
            .and_then(|attribute| attribute.string_value.as_deref())
            .and_then(|id| {
                if attributes::is_message_id(id) {
                    return Some(id.to_owned());
                }
                // The value itself is not logged: it is not an id, so it could be anything.
                tracing::warn!(
                    message_id,
                    length = id.len(),
                    "attribute {} ignored: not the shape of an SQS message id (1-100 of [A-Za-z0-9-]); \
                     the idempotency key uses the messageId",
                    attributes::ORIGINAL_MESSAGE_ID
                );
                None
            });
        Some(Self {
            message,
            message_id,
            original_message_id,
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

    /// The SQS messageId of this delivery: what `batchItemFailures` reports.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The messageId this message was first received under: the `original-message-id`
    /// attribute set by dlq-redrive when present and shaped like a message id, else the messageId.
    pub fn original_message_id(&self) -> &str {
        self.original_message_id.as_deref().unwrap_or(&self.message_id)
    }

    /// The body; empty when SQS delivered none (`"body": null`).
    pub fn body(&self) -> &str {
        self.message.body.as_deref().unwrap_or_default()
    }

    /// The body, or a permanent `body-too-large` error when it is over `max_bytes`: a handler
    /// refuses an oversized body before parsing it, so it costs no JSON work. `what` names what
    /// the body should be, for the error.
    pub fn body_within(&self, max_bytes: usize, what: &str) -> Result<&str, RecordError> {
        let body = self.body();
        if body.len() <= max_bytes {
            return Ok(body);
        }
        Err(RecordError::permanent(
            error_kinds::BODY_TOO_LARGE,
            format!(
                "message {}: body is {} bytes, over the {max_bytes}-byte limit of a {what}",
                self.message_id,
                body.len()
            ),
        ))
    }

    /// The body parsed as JSON; a body that does not parse is a permanent `malformed-body` error
    /// (addresses the parse error quotes are masked).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, RecordError> {
        serde_json::from_str(self.body()).map_err(|e| {
            RecordError::permanent(
                error_kinds::MALFORMED_BODY,
                format!(
                    "message {}: body is not valid JSON for this queue: {}",
                    self.message_id,
                    mask_emails_in(&e.to_string())
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

    /// A message attribute's string value; `None` when absent or binary.
    pub fn string_attribute(&self, name: &str) -> Option<&str> {
        self.message
            .message_attributes
            .get(name)
            .and_then(|attribute| attribute.string_value.as_deref())
    }

    /// The message attributes (an enveloped dead letter's are the original message's).
    pub fn message_attributes(&self) -> &std::collections::HashMap<String, SqsMessageAttribute> {
        &self.message.message_attributes
    }

    /// The SQS message as Lambda delivered it.
    pub fn message(&self) -> &SqsMessage {
        &self.message
    }

    /// The invocation's deadline.
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }
}

/// Shows the body with addresses masked and attribute names without their values: a stray
/// `{:?}` of a record cannot log an address.
impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut attribute_names: Vec<&str> = self.message.message_attributes.keys().map(String::as_str).collect();
        attribute_names.sort_unstable();
        f.debug_struct("Record")
            .field("message_id", &self.message_id)
            .field("original_message_id", &self.original_message_id)
            .field("body", &mask_emails_in(self.body()))
            .field("attribute_names", &attribute_names)
            .field("group_id", &self.group_id())
            .field("receive_count", &self.receive_count())
            .field("source_queue_arn", &self.source_queue_arn())
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Replaces an enveloped message's body and attributes by the original ones; the attributes
/// set outside the envelope since (`original-message-id`, `redrive-count`) win, the dead-letter
/// ones are dropped. A body that is not the envelope its attribute announces stays as it is (the
/// handler then refuses it).
fn open_envelope(message: &mut SqsMessage, message_id: &str) {
    let version = message
        .message_attributes
        .get(attributes::DEAD_LETTER_ENVELOPE)
        .and_then(|attribute| attribute.string_value.as_deref());
    let body = message.body.as_deref().unwrap_or_default();
    match Envelope::open(version, body) {
        None => {}
        Some(Ok(envelope)) => {
            let mut inner = envelope.record_attributes();
            for (name, attribute) in message.message_attributes.drain() {
                if !attributes::DEAD_LETTER_ATTRIBUTES.contains(&name.as_str()) {
                    inner.insert(name, attribute);
                }
            }
            message.message_attributes = inner;
            message.body = Some(envelope.body);
        }
        Some(Err(reason)) => {
            tracing::warn!(message_id, %reason, "attribute {} set but the envelope cannot be opened", attributes::DEAD_LETTER_ENVELOPE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn message(body: &str, attributes: &[(&str, &str)]) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some("m-1".into());
        message.body = Some(body.into());
        message.message_attributes = attributes
            .iter()
            .map(|(name, value)| {
                let mut attribute = SqsMessageAttribute::default();
                attribute.string_value = Some(value.to_string());
                attribute.data_type = Some("String".into());
                (name.to_string(), attribute)
            })
            .collect::<HashMap<_, _>>();
        message
    }

    #[test]
    fn an_original_message_id_not_shaped_like_an_sqs_id_is_ignored() {
        let uuid = "059f36b4-87a3-44ab-83d2-661975830a7d";
        for (value, expected) in [
            (uuid, uuid),
            ("", "m-1"),
            ("kim@example.com", "m-1"),
            ("a\u{0}b", "m-1"),
            (&*"x".repeat(10_240), "m-1"),
        ] {
            let record = Record::new(message("{}", &[("original-message-id", value)]), Deadline::NONE).unwrap();
            assert_eq!(record.original_message_id(), expected, "{value:?}");
        }
    }

    #[test]
    fn debug_masks_the_body_and_leaves_attribute_values_out() {
        let record = Record::new(
            message(
                r#"{"contact":{"email":"kim.lee@example.com"}}"#,
                &[("note", "lee@b.com")],
            ),
            Deadline::NONE,
        )
        .unwrap();
        let debug = format!("{record:?}");
        assert!(debug.contains("k***@example.com"), "{debug}");
        assert!(!debug.contains("kim.lee") && !debug.contains("lee@b.com"), "{debug}");
        assert!(debug.contains("\"note\""), "{debug}");
    }

    #[test]
    fn an_enveloped_message_is_seen_as_the_original() {
        let original = HashMap::from([(
            "trace-id".to_owned(),
            message("", &[("trace-id", "abc")]).message_attributes["trace-id"].clone(),
        )]);
        let envelope = Envelope::of_record(r#"{"eventId":"e"}"#, &original).to_json();
        let record = Record::new(
            message(
                &envelope,
                &[
                    ("dead-letter-envelope", "1"),
                    ("error-kind", "invalid-field"),
                    ("original-message-id", "first-id"),
                    ("redrive-count", "1"),
                ],
            ),
            Deadline::NONE,
        )
        .unwrap();
        assert_eq!(record.body(), r#"{"eventId":"e"}"#);
        let names: BTreeMap<&str, &str> = record
            .message_attributes()
            .iter()
            .map(|(name, a)| (name.as_str(), a.string_value.as_deref().unwrap()))
            .collect();
        assert_eq!(
            names,
            BTreeMap::from([
                ("original-message-id", "first-id"),
                ("redrive-count", "1"),
                ("trace-id", "abc")
            ])
        );
        assert_eq!(record.original_message_id(), "first-id");

        let broken = Record::new(
            message("not an envelope", &[("dead-letter-envelope", "1")]),
            Deadline::NONE,
        )
        .unwrap();
        assert_eq!(broken.body(), "not an envelope");
    }

    #[test]
    fn a_body_over_the_limit_is_a_permanent_error_naming_the_limit() {
        let record = Record::new(message(&"x".repeat(11), &[]), Deadline::NONE).unwrap();
        assert_eq!(record.body_within(11, "thing").unwrap().len(), 11);
        let error = record.body_within(10, "thing").unwrap_err();
        assert!(error.is_permanent());
        assert_eq!(error.kind(), "body-too-large");
        assert!(
            error.message().contains("m-1") && error.message().contains("10-byte limit of a thing"),
            "{error}"
        );
    }
}
