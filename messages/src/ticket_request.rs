//! `{"eventId", "userId", "requestedAt"?, "contact": {"email"?, "pushEndpointArn"?}?, "locale"?}`

use std::fmt;

use serde::{Deserialize, Serialize};
use shared::redact::mask_email;

use crate::parse::{InvalidMessage, check_id, kind_of, parse_json};

/// How to reach a user. Both fields optional. `Debug` masks the address (`k***@example.com`),
/// so no `{:?}` of a message holding a contact shows it. Only a JSON object is a contact (serde
/// would otherwise read `["kim@example.com"]` by position).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "ContactObject")]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_endpoint_arn: Option<String>,
}

/// What a contact is read from: any JSON object (unknown fields ignored), and nothing else.
#[derive(Deserialize)]
struct ContactObject(serde_json::Map<String, serde_json::Value>);

impl TryFrom<ContactObject> for Contact {
    type Error = String;

    fn try_from(ContactObject(fields): ContactObject) -> Result<Self, String> {
        let text = |name: &str| match fields.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.clone())),
            Some(other) => Err(format!("{name}: expected a string, found {}", kind_of(other))),
        };
        Ok(Self {
            email: text("email")?,
            push_endpoint_arn: text("pushEndpointArn")?,
        })
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contact")
            .field("email", &self.email.as_deref().map(mask_email))
            .field("push_endpoint_arn", &self.push_endpoint_arn)
            .finish()
    }
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

impl TicketRequest {
    /// Parse and validate a body. Errors name the field and never quote an address in clear.
    pub fn parse(body: &str) -> Result<Self, InvalidMessage> {
        let request: TicketRequest = parse_json(body, "ticket request")?;
        check_id("eventId", &request.event_id)?;
        check_id("userId", &request.user_id)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::is_valid_id;

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
        assert!(
            spaced.to_string().ends_with(r#"got "has space" (9 characters)"#),
            "{spaced}"
        );
        let typed = TicketRequest::parse(r#"{"eventId":5,"userId":"u"}"#).unwrap_err();
        assert_eq!(typed.field.as_deref(), Some("eventId"), "{typed}");
        let long = TicketRequest::parse(&format!(r#"{{"eventId":"{}","userId":"u"}}"#, "e".repeat(129))).unwrap_err();
        assert_eq!(long.field.as_deref(), Some("eventId"));
        let empty = TicketRequest::parse(r#"{"eventId":"","userId":"u"}"#).unwrap_err();
        assert_eq!(empty.field.as_deref(), Some("eventId"));
        assert!(TicketRequest::parse("not json").is_err());
    }

    #[test]
    fn no_error_or_debug_output_shows_an_address_in_clear() {
        for body in [
            r#"{"eventId":"e1","userId":"kim.lee@example.com"}"#,
            r#"{"eventId":"e1","userId":"u","contact":"kim.lee@example.com"}"#,
            r#"{"eventId":"e1","userId":"u","contact":{"email":["kim.lee@example.com"]}}"#,
            r#"{"eventId":"kim.lee＠example.com","userId":"u"}"#,
        ] {
            let error = TicketRequest::parse(body).unwrap_err().to_string();
            assert!(!error.contains("kim.lee"), "{body}: {error}");
            // Where the error quotes the value, it shows it masked.
            assert!(
                error.contains("k***@example.com") || !error.contains('"'),
                "{body}: {error}"
            );
        }
        for positional in [r#"["kim.lee@example.com"]"#, "[]", "5", r#"{"email":5}"#] {
            let body = format!(r#"{{"eventId":"e1","userId":"u","contact":{positional}}}"#);
            let error = TicketRequest::parse(&body).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("contact"), "{positional}: {error}");
        }
        let request =
            TicketRequest::parse(r#"{"eventId":"e1","userId":"u","contact":{"email":"kim.lee@example.com"}}"#).unwrap();
        let debug = format!("{request:?}");
        assert!(
            !debug.contains("kim.lee") && debug.contains("k***@example.com"),
            "{debug}"
        );
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
