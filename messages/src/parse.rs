//! Reading a message body: why it is not a valid message, naming the field, with any email
//! address it quotes masked.

use serde::de::DeserializeOwned;
pub use shared::redact::describe_value;
use shared::redact::mask_emails_in;

/// Why a message body is not a valid message; `field` names the offending field when there is
/// one (`userId`, `contact.email`). The reason never holds an email address in clear: serde
/// quotes the value it refused, and a misplaced address is still an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct InvalidMessage {
    pub field: Option<String>,
    pub reason: String,
}

impl InvalidMessage {
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            reason: mask_emails_in(&reason.into()).into_owned(),
        }
    }

    /// The body as a whole is wrong (empty, not JSON, not an object).
    pub fn body(reason: impl Into<String>) -> Self {
        Self {
            field: None,
            reason: mask_emails_in(&reason.into()).into_owned(),
        }
    }
}

/// The rule every id of a message follows.
pub const ID_RULE: &str = "must be 1-128 characters of [A-Za-z0-9._:-]";

/// Ids are 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// `Err` when `id` breaks [`ID_RULE`], naming `field` and describing the value safely.
pub fn check_id(field: &str, id: &str) -> Result<(), InvalidMessage> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(InvalidMessage::field(
            field,
            format!("{ID_RULE}, got {}", describe_value(id)),
        ))
    }
}

/// Parses a JSON body into `T` (`what` names it in errors: "ticket request"). A body that is
/// empty, not JSON or not a JSON object is refused as a whole; a missing field or a field of the
/// wrong type or value is refused naming the field.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &str, what: &str) -> Result<T, InvalidMessage> {
    if let Some(refused) = not_an_object(body, what) {
        return Err(refused);
    }
    let mut deserializer = serde_json::Deserializer::from_str(body);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => match deserializer.end() {
            Ok(()) => Ok(value),
            Err(trailing) => Err(InvalidMessage::body(format!("not a valid {what}: {trailing}"))),
        },
        Err(error) => Err(refusal(error, what)),
    }
}

/// Why `body` is refused as a whole before it is read as a `what`: empty, not JSON, or JSON
/// that is not an object.
fn not_an_object(body: &str, what: &str) -> Option<InvalidMessage> {
    if body.trim().is_empty() {
        return Some(InvalidMessage::body(format!(
            "the body is empty (an SQS body that is null or blank), not a {what}"
        )));
    }
    // serde reads a struct from a JSON array too (by position): only an object is a message.
    if first_char(body) != Some('{') {
        return Some(InvalidMessage::body(
            match serde_json::from_str::<serde_json::Value>(body) {
                Ok(value) => format!(
                    "not a valid {what}: the body must be a JSON object, not {}",
                    kind_of(&value)
                ),
                Err(error) => format!("not a valid {what}: {error}"),
            },
        ));
    }
    None
}

/// A JSON object that is not a valid `what`: a missing field or a field of the wrong type or
/// value is named (with its path: `contact.email`); anything else refuses the body.
fn refusal(error: serde_path_to_error::Error<serde_json::Error>, what: &str) -> InvalidMessage {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = inner.to_string();
    if let Some(field) = missing_field(&message) {
        let field = if path == "." { field } else { format!("{path}.{field}") };
        return InvalidMessage::field(&field, "is missing");
    }
    if path != "." && inner.is_data() {
        return InvalidMessage::field(&path, message);
    }
    InvalidMessage::body(format!("not a valid {what}: {message}"))
}

pub(crate) fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn first_char(body: &str) -> Option<char> {
    body.trim_start().chars().next()
}

/// serde_json says "missing field `userId` at line 1 column 17": the field's name.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Inner {
        email: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Outer {
        user_id: String,
        contact: Option<Inner>,
    }

    fn refused(body: &str) -> InvalidMessage {
        parse_json::<Outer>(body, "thing").unwrap_err()
    }

    #[test]
    fn the_whole_body_is_refused_when_empty_not_json_or_not_an_object() {
        for body in [
            "",
            "  ",
            "not json",
            "[1,2]",
            "42",
            "\"text\"",
            "null",
            "{\"userId\":\"u\"} trailing",
        ] {
            let error = refused(body);
            assert_eq!(error.field, None, "{body:?}: {error}");
            assert!(error.reason.contains("thing"), "{body:?}: {error}");
        }
        assert!(
            refused("[1]").reason.contains("must be a JSON object"),
            "{}",
            refused("[1]")
        );
        assert!(refused("").reason.contains("empty"));
    }

    #[test]
    fn a_field_that_is_missing_or_of_the_wrong_type_is_named() {
        assert_eq!(refused("{}").to_string(), "userId: is missing");
        assert_eq!(refused(r#"{"userId":5}"#).field.as_deref(), Some("userId"));
        assert_eq!(
            refused(r#"{"userId":"u","contact":{"email":7}}"#).field.as_deref(),
            Some("contact.email")
        );
    }

    #[test]
    fn a_refused_value_holding_an_address_is_masked() {
        let error = refused(r#"{"userId":"u","contact":"kim.lee@example.com"}"#);
        assert_eq!(error.field.as_deref(), Some("contact"));
        assert!(!error.to_string().contains("kim.lee@"), "{error}");
        assert!(error.to_string().contains("k***@example.com"), "{error}");
    }
}
