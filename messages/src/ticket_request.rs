//! `{"eventId", "userId", "requestedAt"?, "contact": {"email"?, "pushEndpointArn"?}?, "locale"?}`

use serde::{Deserialize, Serialize};

/// How to reach a user. Both fields optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_endpoint_arn: Option<String>,
}

/// A request to issue `user_id` a ticket for `event_id`. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketRequest {
    pub event_id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// Why a message body is not a valid message; `field` names the offending field when there is one.
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
            reason: reason.into(),
        }
    }
}

/// Ids are 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

impl TicketRequest {
    /// Parse and validate a body. Errors name the field.
    pub fn parse(body: &str) -> Result<Self, InvalidMessage> {
        let request: TicketRequest = serde_json::from_str(body).map_err(|e| InvalidMessage {
            field: missing_field(&e.to_string()),
            reason: format!("not a valid ticket request: {e}"),
        })?;
        for (field, id) in [("eventId", &request.event_id), ("userId", &request.user_id)] {
            if !is_valid_id(id) {
                return Err(InvalidMessage::field(
                    field,
                    format!(
                        "must be 1-128 characters of [A-Za-z0-9._:-], got {:?}",
                        truncate(id, 40)
                    ),
                ));
            }
        }
        Ok(request)
    }
}

/// serde_json says "missing field `userId`" or "invalid type: … for field `userId`"? Only the
/// former names the field reliably; pull it out so the error has a field.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_request_parses_and_unknown_fields_are_ignored() {
        let request = TicketRequest::parse(
            r#"{"eventId":"concert-2026","userId":"user:42","requestedAt":"2026-11-22T10:00:00Z",
                "contact":{"email":"a@example.com","pushEndpointArn":"arn:aws:sns:us-east-1:1:endpoint/APNS/app/x"},
                "locale":"en","queuePosition":17}"#,
        )
        .unwrap();
        assert_eq!(request.event_id, "concert-2026");
        assert_eq!(request.user_id, "user:42");
        assert_eq!(request.contact.unwrap().email.as_deref(), Some("a@example.com"));
        assert_eq!(request.locale.as_deref(), Some("en"));
    }

    #[test]
    fn errors_name_the_field() {
        let missing = TicketRequest::parse(r#"{"eventId":"e1"}"#).unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("userId"));
        let spaced = TicketRequest::parse(r#"{"eventId":"e1","userId":"has space"}"#).unwrap_err();
        assert_eq!(spaced.field.as_deref(), Some("userId"));
        assert!(spaced.to_string().starts_with("userId: must be 1-128"), "{spaced}");
        let long = TicketRequest::parse(&format!(r#"{{"eventId":"{}","userId":"u"}}"#, "e".repeat(129))).unwrap_err();
        assert_eq!(long.field.as_deref(), Some("eventId"));
        let empty = TicketRequest::parse(r#"{"eventId":"","userId":"u"}"#).unwrap_err();
        assert_eq!(empty.field.as_deref(), Some("eventId"));
        assert!(TicketRequest::parse("not json").is_err());
    }

    #[test]
    fn ids_allow_exactly_the_documented_characters() {
        assert!(is_valid_id("Aa0._:-"));
        assert!(is_valid_id(&"x".repeat(128)));
        for bad in ["", "a b", "a/b", "a#b", "é", "a\n"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }
}
