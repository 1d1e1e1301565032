//! Which dead letters a request is about: by error kind, message attributes and top-level body fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::FilterError;
use crate::letter::Letter;

/// Every part that is given must match (AND). An empty filter matches every message.
///
/// ```json
/// {"errorKind": ["malformed-body", "retries-exhausted"],
///  "attributes": {"source-queue": "arn:aws:sqs:…:ticket-issue-queue"},
///  "body": {"eventId": "evt-42"}}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// One kind or a list; a message matches when its kind is one of them. Messages without an
    /// `error-kind` attribute have kind `retries-exhausted`.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<Vec<String>>,
    /// Message attributes that must have exactly these string values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Top-level fields of the JSON body that must equal these JSON values (`"3"` ≠ `3`).
    /// A body that is not a JSON object matches no body filter.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub body: BTreeMap<String, Value>,
}

impl Filter {
    /// Why the filter cannot be right, if it cannot; checked when the request is read.
    pub fn problems(&self) -> Option<FilterError> {
        if self.error_kind.as_ref().is_some_and(|kinds| kinds.is_empty()) {
            return Some(FilterError::NoErrorKind);
        }
        if self.body.keys().any(|field| field.is_empty()) || self.attributes.keys().any(|name| name.is_empty()) {
            return Some(FilterError::EmptyName);
        }
        None
    }

    pub fn matches(&self, letter: &Letter) -> bool {
        let kind_matches = self
            .error_kind
            .as_ref()
            .is_none_or(|kinds| kinds.iter().any(|kind| kind == letter.error_kind()));
        let attributes_match = self
            .attributes
            .iter()
            .all(|(name, value)| letter.string_attribute(name) == Some(value.as_str()));
        kind_matches && attributes_match && self.body_matches(&letter.body)
    }

    fn body_matches(&self, body: &str) -> bool {
        if self.body.is_empty() {
            return true;
        }
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body) else {
            return false;
        };
        self.body
            .iter()
            .all(|(field, expected)| fields.get(field) == Some(expected))
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(kind) => vec![kind],
        OneOrMany::Many(kinds) => kinds,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::MessageAttributeValue;
    use serde_json::json;
    use shared::attributes;

    fn letter(body: &str, attributes: &[(&str, &str)]) -> Letter {
        Letter {
            message_id: "m1".into(),
            receipt_handle: "r1".into(),
            body: body.into(),
            attributes: attributes
                .iter()
                .map(|(name, value)| {
                    let value = MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(*value)
                        .build()
                        .unwrap();
                    (name.to_string(), value)
                })
                .collect(),
            group_id: None,
            sent_at_ms: None,
            envelope_problem: None,
        }
    }

    fn filter(value: serde_json::Value) -> Filter {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn error_kind_matches_one_or_any_of_a_list_and_defaults_to_retries_exhausted() {
        let malformed = letter("{}", &[(attributes::ERROR_KIND, "malformed-body")]);
        let exhausted = letter("{}", &[]);
        assert!(filter(json!({"errorKind": "malformed-body"})).matches(&malformed));
        assert!(!filter(json!({"errorKind": "malformed-body"})).matches(&exhausted));
        assert!(filter(json!({"errorKind": "retries-exhausted"})).matches(&exhausted));
        let both = filter(json!({"errorKind": ["malformed-body", "retries-exhausted"]}));
        assert!(both.matches(&malformed) && both.matches(&exhausted));
        assert!(Filter::default().matches(&malformed));
    }

    #[test]
    fn attributes_and_body_fields_must_all_match() {
        let message = letter(
            r#"{"eventId":"evt-1","seats":2,"nested":{"a":1}}"#,
            &[("source-queue", "arn:q"), (attributes::ERROR_KIND, "invalid-field")],
        );
        assert!(filter(json!({"body": {"eventId": "evt-1", "seats": 2}})).matches(&message));
        assert!(
            !filter(json!({"body": {"seats": "2"}})).matches(&message),
            "types differ"
        );
        assert!(!filter(json!({"body": {"missing": null}})).matches(&message));
        assert!(
            filter(json!({"attributes": {"source-queue": "arn:q"}, "errorKind": "invalid-field"})).matches(&message)
        );
        assert!(!filter(json!({"attributes": {"source-queue": "arn:q"}, "errorKind": "other"})).matches(&message));
        assert!(!filter(json!({"body": {"eventId": "evt-1"}})).matches(&letter("not json", &[])));
    }

    #[test]
    fn bad_filters_are_refused() {
        assert!(serde_json::from_value::<Filter>(json!({"kind": "x"})).is_err());
        assert!(serde_json::from_value::<Filter>(json!({"errorKind": 3})).is_err());
        assert!(filter(json!({"errorKind": []})).problems().is_some());
        assert!(filter(json!({"body": {"": 1}})).problems().is_some());
        assert!(filter(json!({"errorKind": "x"})).problems().is_none());
    }
}
