//! The body of a ticket-issue-queue message, capped and validated.

use messages::TicketRequest;
use shared::{Record, RecordError, error_kinds};

/// A ticket request is well under 1 KiB; anything over this is not one, and is refused before
/// parsing so a huge body costs no JSON work.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The record's ticket request. Every failure is permanent (the body will never change): kind
/// `body-too-large`, `invalid-field` (the message names the field: missing, of the wrong type or
/// breaking the id rule) or `malformed-body` (empty, not JSON, not a JSON object). No message
/// quotes an email address in clear.
pub fn parse(record: &Record) -> Result<TicketRequest, RecordError> {
    let body = record.body_within(MAX_BODY_BYTES, "ticket request")?;
    TicketRequest::parse(body).map_err(|invalid| {
        let kind = if invalid.field.is_some() {
            error_kinds::INVALID_FIELD
        } else {
            error_kinds::MALFORMED_BODY
        };
        RecordError::permanent(
            kind,
            format!("message {}: invalid ticket request: {invalid}", record.message_id()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Deadline;
    use shared::testing::{message, sqs_message};

    fn record(body: &str) -> Record {
        Record::new(sqs_message(message("m-1", body)), Deadline::NONE).unwrap()
    }

    #[test]
    fn a_valid_body_parses() {
        let request = parse(&record(r#"{"eventId":"e-1","userId":"u-1","extra":true}"#)).unwrap();
        assert_eq!((request.event_id.as_str(), request.user_id.as_str()), ("e-1", "u-1"));
    }

    #[test]
    fn each_kind_of_invalid_body_is_permanent_and_says_why() {
        for (body, kind, mentions) in [
            ("not json", "malformed-body", "not a valid ticket request"),
            ("", "malformed-body", "empty"),
            ("[]", "malformed-body", "must be a JSON object"),
            (
                r#"{"eventId":5,"userId":"u"}"#,
                "invalid-field",
                "eventId: invalid type",
            ),
            (r#"{"eventId":"e-1"}"#, "invalid-field", "userId"),
            (
                r#"{"eventId":"e-1","userId":"has space"}"#,
                "invalid-field",
                "userId: must be",
            ),
            (r#"{"eventId":"","userId":"u"}"#, "invalid-field", "eventId: must be"),
        ] {
            let error = parse(&record(body)).unwrap_err();
            assert!(error.is_permanent(), "{body}: {error}");
            assert_eq!(error.kind(), kind, "{body}: {error}");
            assert!(error.message().contains(mentions), "{body}: {error}");
            assert!(error.message().contains("m-1"), "names the record: {error}");
        }
    }

    #[test]
    fn a_body_over_the_cap_is_refused_before_parsing() {
        let at_cap = format!(
            r#"{{"eventId":"e","userId":"u","pad":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES - 40)
        );
        assert!(at_cap.len() <= MAX_BODY_BYTES);
        assert!(parse(&record(&at_cap)).is_ok());
        let over = format!(
            r#"{{"eventId":"e","userId":"u","pad":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        let error = parse(&record(&over)).unwrap_err();
        assert_eq!(error.kind(), "body-too-large");
        assert!(error.is_permanent());
    }
}
