//! The copy of a dead letter that goes back to its source queue.
//!
//! - Body and message attributes are kept byte for byte, except the dead-letter attributes
//!   (`error-kind`, `error-message`, `source-queue`, `receive-count`, `dead-letter-envelope`): they
//!   describe the last failure, would mislead once the message is retried, and take SQS's 10
//!   attribute slots.
//! - `original-message-id` is kept when present (and shaped like an SQS message id), else set to
//!   the DLQ messageId: the redrive gets a new messageId, and workers key idempotency on this
//!   attribute.
//! - `redrive-count` is one more than before.
//! - A message whose own attributes leave no room for those two (9 or 10 of its own) goes back
//!   **enveloped**: its body and attributes inside a [`shared::envelope::Envelope`], with
//!   `dead-letter-envelope`, `original-message-id` and `redrive-count` outside. The workers open
//!   the envelope (`shared::Record`), so they see the message as it was sent.
//! - FIFO: the message group is kept, and the deduplication id is derived from the original
//!   message id and the new redrive count, so a resend of the same redrive within SQS's 5-minute
//!   deduplication window (a run that crashed between send and delete) is dropped by SQS.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sqs::types::MessageAttributeValue;
use sha2::{Digest, Sha256};
use shared::attributes;
use shared::envelope::{self, Envelope};

use crate::error::MessageError;
use crate::letter::{Letter, to_envelope};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LetterCopy {
    pub body: String,
    pub attributes: HashMap<String, MessageAttributeValue>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    /// The copy is an envelope (the message's attributes left no room for the redrive ones).
    pub enveloped: bool,
}

impl LetterCopy {
    /// The copy of `letter` for its `redrive_count`-th trip back. `fifo`: the source is a FIFO queue.
    pub(crate) fn of(letter: &Letter, redrive_count: u32, fifo: bool) -> Result<Self, MessageError> {
        if let Some(problem) = &letter.envelope_problem {
            return Err(problem.clone());
        }
        if fifo && letter.group_id.is_none() {
            return Err(MessageError::NoGroupId {
                message_id: letter.message_id.clone(),
            });
        }
        let own: HashMap<String, MessageAttributeValue> = letter
            .attributes
            .iter()
            .filter(|(name, _)| {
                !attributes::DEAD_LETTER_ATTRIBUTES.contains(&name.as_str())
                    && ![attributes::ORIGINAL_MESSAGE_ID, attributes::REDRIVE_COUNT].contains(&name.as_str())
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let original = letter.original_message_id().to_owned();
        let mut outer = HashMap::from([
            (attributes::ORIGINAL_MESSAGE_ID.to_owned(), string(&original)),
            (attributes::REDRIVE_COUNT.to_owned(), number(redrive_count)),
        ]);
        let enveloped = own.len() + outer.len() > attributes::MAX_MESSAGE_ATTRIBUTES;
        let body = if enveloped {
            let inner: BTreeMap<_, _> = own
                .iter()
                .map(|(name, value)| (name.clone(), to_envelope(value)))
                .collect();
            outer.insert(attributes::DEAD_LETTER_ENVELOPE.to_owned(), number(envelope::VERSION));
            Envelope::new(&letter.body, inner).to_json()
        } else {
            outer.extend(own);
            letter.body.clone()
        };
        Ok(Self {
            body,
            attributes: outer,
            // Standard queues accept a group id too (fair queues); keeping it keeps the tenant.
            group_id: letter.group_id.clone(),
            deduplication_id: fifo.then(|| deduplication_id(&original, redrive_count)),
            enveloped,
        })
    }
}

/// 64 hex characters: within SQS's 128-character limit whatever the original id looks like.
fn deduplication_id(original_message_id: &str, redrive_count: u32) -> String {
    hex::encode(Sha256::digest(format!("{original_message_id}#redrive-{redrive_count}")))
}

fn string(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data_type is set")
}

fn number(value: u32) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(value.to_string())
        .build()
        .expect("data_type is set")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::primitives::Blob;

    fn attribute(value: &str) -> MessageAttributeValue {
        string(value)
    }

    fn dead_letter() -> Letter {
        let mut attributes: HashMap<String, MessageAttributeValue> = attributes::DEAD_LETTER_ATTRIBUTES
            .iter()
            .map(|name| (name.to_string(), attribute("stale")))
            .collect();
        attributes.insert("trace-id".into(), attribute("abc"));
        attributes.insert(
            "blob".into(),
            MessageAttributeValue::builder()
                .data_type("Binary.gzip")
                .binary_value(Blob::new(vec![0, 1, 2]))
                .build()
                .unwrap(),
        );
        Letter {
            message_id: "dlq-id".into(),
            receipt_handle: "handle".into(),
            body: r#"{"x":1}"#.into(),
            attributes,
            group_id: Some("user-1".into()),
            sent_at_ms: None,
            envelope_problem: None,
        }
    }

    #[test]
    fn strips_dead_letter_attributes_keeps_the_rest_and_adds_the_redrive_ones() {
        let copy = LetterCopy::of(&dead_letter(), 1, false).unwrap();
        let mut names: Vec<&str> = copy.attributes.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["blob", "original-message-id", "redrive-count", "trace-id"]);
        assert_eq!(copy.attributes["original-message-id"].string_value(), Some("dlq-id"));
        assert_eq!(copy.attributes["redrive-count"].string_value(), Some("1"));
        assert_eq!(copy.attributes["redrive-count"].data_type(), "Number");
        assert_eq!(copy.attributes["blob"], dead_letter().attributes["blob"]);
        assert_eq!(copy.body, r#"{"x":1}"#);
        assert_eq!(copy.deduplication_id, None, "standard queues take no deduplication id");
        assert!(!copy.enveloped);
    }

    #[test]
    fn keeps_an_existing_original_message_id_and_derives_the_fifo_deduplication_id_from_it() {
        let mut letter = dead_letter();
        letter
            .attributes
            .insert(attributes::ORIGINAL_MESSAGE_ID.into(), attribute("first-id"));
        let copy = LetterCopy::of(&letter, 2, true).unwrap();
        assert_eq!(copy.attributes["original-message-id"].string_value(), Some("first-id"));
        assert_eq!(copy.group_id.as_deref(), Some("user-1"));
        assert_eq!(copy.deduplication_id, Some(deduplication_id("first-id", 2)));
        assert_ne!(deduplication_id("first-id", 2), deduplication_id("first-id", 3));
        assert_ne!(deduplication_id("first-id", 2), deduplication_id("other-id", 2));
        assert_eq!(deduplication_id("x", 1).len(), 64);
    }

    #[test]
    fn a_message_with_no_room_for_the_redrive_attributes_goes_back_enveloped() {
        let mut crowded = dead_letter();
        for i in 0..8 {
            crowded.attributes.insert(format!("extra-{i}"), attribute("v"));
        }
        let copy = LetterCopy::of(&crowded, 1, false).unwrap();
        assert!(copy.enveloped);
        let mut names: Vec<&str> = copy.attributes.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["dead-letter-envelope", "original-message-id", "redrive-count"]);
        let envelope = Envelope::open(Some("1"), &copy.body).unwrap().unwrap();
        assert_eq!(envelope.body, r#"{"x":1}"#);
        assert_eq!(envelope.message_attributes.len(), 10, "trace-id, blob and the 8 extras");
        assert_eq!(
            envelope.message_attributes["blob"],
            to_envelope(&dead_letter().attributes["blob"])
        );
    }

    #[test]
    fn refuses_copies_sqs_would_reject() {
        let mut no_group = dead_letter();
        no_group.group_id = None;
        assert!(
            LetterCopy::of(&no_group, 1, true)
                .unwrap_err()
                .to_string()
                .contains("MessageGroupId")
        );
        let mut broken = dead_letter();
        broken.envelope_problem = Some(MessageError::UnreadableEnvelope {
            message_id: "dlq-id".into(),
            problem: "not an envelope".into(),
        });
        assert!(
            LetterCopy::of(&broken, 1, false)
                .unwrap_err()
                .to_string()
                .contains("not an envelope")
        );
    }
}
