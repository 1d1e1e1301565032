//! The dead-letter envelope: how a dead letter keeps its reason when the message leaves no room
//! for the dead-letter attributes.
//!
//! SQS allows 10 message attributes. A dead letter carries 5 of its own (`error-kind`,
//! `error-message`, `source-queue`, `original-message-id`, `receive-count`) beside the producer's.
//! When they do not all fit, the dead letter's **body** is this envelope, holding the producer's
//! body and attributes unchanged, and its attributes are the 5 dead-letter ones plus
//! `dead-letter-envelope: 1` (6 in all, whatever the producer sent):
//!
//! ```json
//! {"deadLetterEnvelope": 1,
//!  "body": "<the original body, as a JSON string>",
//!  "messageAttributes": {"trace-id": {"dataType": "String", "stringValue": "abc"},
//!                        "blob": {"dataType": "Binary", "binaryValue": "AAEC"}}}
//! ```
//!
//! Attributes have the shape of a Lambda SQS record's `messageAttributes` (binary values in
//! base64). Readers recognise the envelope by the attribute, never by the body alone:
//! - [`crate::Record::new`] opens it, so a worker handed an enveloped message (dlq-redrive sends
//!   one back enveloped when the copy would again exceed 10 attributes; an SQS move task sends it
//!   as it is) sees the original body and attributes;
//! - dlq-redrive opens it to filter, inspect and copy the message.

use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::SqsMessageAttribute;
use serde::{Deserialize, Serialize};

use crate::attributes;

/// The envelope's version, the value of its `dead-letter-envelope` attribute.
pub const VERSION: u32 = 1;

/// A dead letter's body when the message's attributes leave no room for the dead-letter ones
/// (see the module comment for its JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// The envelope's version: [`VERSION`].
    pub dead_letter_envelope: u32,
    /// The message's own body.
    pub body: String,
    /// The message's own attributes.
    #[serde(default)]
    pub message_attributes: BTreeMap<String, EnvelopeAttribute>,
}

/// One message attribute, as a Lambda SQS record writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeAttribute {
    /// `String`, `Number`, `Binary`, or one of them with a custom suffix (`Number.int`).
    pub data_type: String,
    /// The value of a `String` or `Number` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// The value of a `Binary` attribute (base64 in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Base64Data>,
}

impl Envelope {
    /// The envelope, at the current [`VERSION`], of `body` and its `attributes`.
    pub fn new(body: &str, attributes: BTreeMap<String, EnvelopeAttribute>) -> Self {
        Self {
            dead_letter_envelope: VERSION,
            body: body.to_owned(),
            message_attributes: attributes,
        }
    }

    /// The envelope of a Lambda record's body and attributes.
    pub fn of_record(body: &str, attributes: &HashMap<String, SqsMessageAttribute>) -> Self {
        Self::new(
            body,
            attributes
                .iter()
                .map(|(name, attribute)| (name.clone(), EnvelopeAttribute::from(attribute)))
                .collect(),
        )
    }

    /// The JSON a dead letter's body holds.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings and maps of strings always serialize")
    }

    /// The envelope in `body`, when `version` (the `dead-letter-envelope` attribute) says there is one.
    pub fn open(version: Option<&str>, body: &str) -> Option<Result<Self, String>> {
        let version = version?;
        Some(match version.trim().parse::<u32>() {
            Ok(VERSION) => {
                serde_json::from_str(body).map_err(|e| format!("the body is not a dead-letter envelope: {e}"))
            }
            _ => Err(format!(
                "attribute {} is {version:?}; this code reads envelope version {VERSION}",
                attributes::DEAD_LETTER_ENVELOPE
            )),
        })
    }

    /// The attributes as a Lambda record has them.
    pub fn record_attributes(&self) -> HashMap<String, SqsMessageAttribute> {
        self.message_attributes
            .iter()
            .map(|(name, attribute)| (name.clone(), attribute.to_record()))
            .collect()
    }
}

impl From<&SqsMessageAttribute> for EnvelopeAttribute {
    fn from(attribute: &SqsMessageAttribute) -> Self {
        Self {
            data_type: attribute.data_type.clone().unwrap_or_else(|| "String".to_owned()),
            string_value: attribute.string_value.clone(),
            binary_value: attribute.binary_value.clone(),
        }
    }
}

impl EnvelopeAttribute {
    /// A `Binary` (or `Binary.<custom>`) value.
    pub fn binary(data_type: &str, bytes: &[u8]) -> Self {
        let mut data = Base64Data::default();
        data.extend_from_slice(bytes);
        Self {
            data_type: data_type.to_owned(),
            string_value: None,
            binary_value: Some(data),
        }
    }

    /// The attribute as a Lambda SQS record has it.
    pub fn to_record(&self) -> SqsMessageAttribute {
        let mut attribute = SqsMessageAttribute::default();
        attribute.data_type = Some(self.data_type.clone());
        attribute.string_value = self.string_value.clone();
        attribute.binary_value = self.binary_value.clone();
        attribute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(data_type: &str, string: Option<&str>, binary: Option<&[u8]>) -> SqsMessageAttribute {
        match binary {
            Some(bytes) => EnvelopeAttribute::binary(data_type, bytes),
            None => EnvelopeAttribute {
                data_type: data_type.to_owned(),
                string_value: string.map(str::to_owned),
                binary_value: None,
            },
        }
        .to_record()
    }

    #[test]
    fn an_envelope_keeps_body_and_attributes_byte_for_byte() {
        let attributes = HashMap::from([
            ("trace-id".to_owned(), attribute("String", Some("abc"), None)),
            ("count".to_owned(), attribute("Number.int", Some("7"), None)),
            ("blob".to_owned(), attribute("Binary.gzip", None, Some(&[0, 1, 2, 255]))),
        ]);
        let body = "not json \"at all\" \u{1F600}";
        let json = Envelope::of_record(body, &attributes).to_json();
        assert!(json.contains(r#""binaryValue":"AAEC/w==""#), "{json}");
        let opened = Envelope::open(Some("1"), &json).unwrap().unwrap();
        assert_eq!(opened.body, body);
        assert_eq!(opened.record_attributes(), attributes);
    }

    #[test]
    fn only_the_attribute_makes_a_body_an_envelope() {
        let json = Envelope::new("b", BTreeMap::new()).to_json();
        assert_eq!(Envelope::open(None, &json), None);
        assert!(Envelope::open(Some("1"), "plain body").unwrap().is_err());
        let other_version = Envelope::open(Some("2"), &json).unwrap().unwrap_err();
        assert!(other_version.contains("version 1"), "{other_version}");
    }
}
