//! From an SQS record to what to send: the parsed, checked notification, its push and its email.

use messages::{ID_RULE, Notification, NotificationKind, describe_value, is_valid_id};
use shared::{Record, RecordError, error_kinds};

use crate::channels::Channel;
use crate::email::Email;
use crate::push::{Push, PushTarget};
use crate::templates::{self, Language, Values};

/// Longest accepted notificationId, in bytes: it becomes part of DynamoDB keys (2,048 bytes at
/// most) and ticket-processor's ids are far shorter (`ticket-issued#<id of at most 128>`).
const MAX_NOTIFICATION_ID_BYTES: usize = 512;

/// A notification is well under 1 KiB (ids, a contact, a locale); anything over this is not one,
/// and is refused before parsing so a huge body costs no JSON work.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a record is not a notification this function can send. All are permanent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNotification {
    #[error("message {message_id}: body is {size} bytes, over the {MAX_BODY_BYTES}-byte limit of a notification")]
    TooLarge { message_id: String, size: usize },
    #[error("message {message_id}: body is not a notification: {reason}")]
    Malformed { message_id: String, reason: String },
    #[error("message {message_id}, notification {notification_id}: field {field} {reason}")]
    InvalidField {
        message_id: String,
        /// The notificationId as [`describe_value`] shows it (it may be what is invalid).
        notification_id: String,
        field: String,
        reason: String,
    },
}

impl From<InvalidNotification> for RecordError {
    fn from(error: InvalidNotification) -> Self {
        let kind = match error {
            InvalidNotification::TooLarge { .. } => error_kinds::BODY_TOO_LARGE,
            InvalidNotification::Malformed { .. } => error_kinds::MALFORMED_BODY,
            InvalidNotification::InvalidField { .. } => error_kinds::INVALID_FIELD,
        };
        RecordError::permanent(kind, error)
    }
}

/// One notification, ready to send.
#[derive(Debug, Clone)]
pub struct Plan {
    pub notification: Notification,
    pub language: Language,
    pub push: Push,
    /// `None` when the message carries no email address.
    pub email: Option<Email>,
}

impl Plan {
    /// Parses and checks the record's body. The push goes to the device endpoint when the
    /// message names one, else to `push_topic_arn`.
    pub fn from_record(record: &Record, push_topic_arn: &str) -> Result<Self, InvalidNotification> {
        let message_id = record.message_id();
        let body = record.body();
        if body.len() > MAX_BODY_BYTES {
            return Err(InvalidNotification::TooLarge {
                message_id: message_id.to_owned(),
                size: body.len(),
            });
        }
        // Errors name the field (a missing or unknown `kind`, …); none quotes an address in clear.
        let notification = Notification::parse(body).map_err(|invalid| match invalid.field {
            Some(field) => InvalidNotification::InvalidField {
                message_id: message_id.to_owned(),
                notification_id: "(unread)".to_owned(),
                field,
                reason: invalid.reason,
            },
            None => InvalidNotification::Malformed {
                message_id: message_id.to_owned(),
                reason: invalid.reason,
            },
        })?;
        check(record.message_id(), &notification)?;

        let language = Language::from_locale(notification.locale.as_deref());
        let values = Values::of(&notification);
        let contact = notification.contact.as_ref();
        let endpoint = contact
            .and_then(|c| c.push_endpoint_arn.as_deref())
            .map(str::trim)
            .filter(|arn| !arn.is_empty());
        let push = Push {
            target: match endpoint {
                Some(arn) => PushTarget::Endpoint(arn.to_owned()),
                None => PushTarget::Topic(push_topic_arn.to_owned()),
            },
            text: templates::push(notification.kind, language, values),
            user_id: notification.user_id.clone(),
            event_id: notification.event_id.clone(),
            kind: notification.kind,
        };
        // Whether an address is deliverable is SES's call (a refusal is a recorded rejection);
        // only a blank one counts as absent.
        let email = contact
            .and_then(|c| c.email.as_deref())
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(|address| Email {
                to: address.to_owned(),
                content: templates::email(notification.kind, language, values),
            });
        Ok(Self {
            language,
            push,
            email,
            notification,
        })
    }
}

impl Plan {
    /// What a channel's step is bound to, its idempotency payload: the notification's kind, event,
    /// user and ticket, and the channel's recipient (the device endpoint, or `topic` for the
    /// topic, where the user is an attribute; the email address). Every copy of one notification
    /// agrees on these whatever else differs (locale, `issuedAt`); a different notification that
    /// reuses the id does not, and its step fails as a permanent `PayloadMismatch` instead of
    /// being skipped as already sent.
    pub fn step_content(&self, channel: Channel) -> Vec<u8> {
        let recipient = match channel {
            Channel::Push => match &self.push.target {
                PushTarget::Endpoint(arn) => arn.as_str(),
                PushTarget::Topic(_) => "topic",
            },
            Channel::Email => self.email.as_ref().map_or("", |email| email.to.as_str()),
        };
        let notification = &self.notification;
        let content = StepContent {
            kind: notification.kind.as_str(),
            event_id: &notification.event_id,
            user_id: &notification.user_id,
            ticket_id: notification.ticket_id.as_deref(),
            recipient,
        };
        serde_json::to_vec(&content).expect("strings serialize")
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StepContent<'a> {
    kind: &'a str,
    event_id: &'a str,
    user_id: &'a str,
    ticket_id: Option<&'a str>,
    recipient: &'a str,
}

fn check(message_id: &str, notification: &Notification) -> Result<(), InvalidNotification> {
    let invalid = |field: &str, reason: String| InvalidNotification::InvalidField {
        message_id: message_id.to_owned(),
        notification_id: describe_value(&notification.notification_id),
        field: field.to_owned(),
        reason,
    };
    let id = &notification.notification_id;
    if id.trim().is_empty() || id.len() > MAX_NOTIFICATION_ID_BYTES || id.chars().any(char::is_control) {
        return Err(invalid(
            "notificationId",
            format!(
                "must be 1-{MAX_NOTIFICATION_ID_BYTES} bytes without control characters, got {} bytes",
                id.len()
            ),
        ));
    }
    for (field, value) in [("eventId", &notification.event_id), ("userId", &notification.user_id)] {
        if !is_valid_id(value) {
            return Err(invalid(field, format!("{ID_RULE}, got {}", describe_value(value))));
        }
    }
    match (notification.kind, notification.ticket_id.as_deref()) {
        // The ticket email exists to hand over the ticket id.
        (NotificationKind::TicketIssued, None) => Err(invalid("ticketId", "is required for ticket-issued".to_owned())),
        (_, Some(ticket_id)) if !is_valid_id(ticket_id) => Err(invalid(
            "ticketId",
            format!("{ID_RULE}, got {}", describe_value(ticket_id)),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Deadline;
    use shared::testing::{message, sqs_message};

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:pushes";

    fn plan(body: &str) -> Result<Plan, InvalidNotification> {
        let record = Record::new(sqs_message(message("m-1", body)), Deadline::NONE).unwrap();
        Plan::from_record(&record, TOPIC)
    }

    #[test]
    fn a_ticket_notification_becomes_a_topic_push_and_an_email() {
        let plan = plan(
            r#"{"notificationId":"ticket-issued#t-1","kind":"ticket-issued","eventId":"e1","userId":"u1",
                "ticketId":"t-1","contact":{"email":"kim@example.com"},"locale":"en-US"}"#,
        )
        .unwrap();
        assert_eq!(plan.language, Language::English);
        assert_eq!(plan.push.target, PushTarget::Topic(TOPIC.into()));
        assert_eq!((plan.push.user_id.as_str(), plan.push.event_id.as_str()), ("u1", "e1"));
        let email = plan.email.unwrap();
        assert_eq!(email.to, "kim@example.com");
        assert!(email.content.text.contains("t-1"));
        assert!(!format!("{email:?}").contains("kim@"), "Debug must mask the address");
    }

    #[test]
    fn a_device_endpoint_takes_the_push_and_blank_contacts_count_as_absent() {
        let plan = plan(
            r#"{"notificationId":"sold-out#e1#u1","kind":"sold-out","eventId":"e1","userId":"u1",
                "contact":{"email":"  ","pushEndpointArn":" arn:aws:sns:us-east-1:1:endpoint/GCM/app/x "}}"#,
        )
        .unwrap();
        assert_eq!(
            plan.push.target,
            PushTarget::Endpoint("arn:aws:sns:us-east-1:1:endpoint/GCM/app/x".into())
        );
        assert!(plan.email.is_none());
        assert_eq!(plan.language, Language::Korean);
        let no_contact = super::tests::plan(
            r#"{"notificationId":"sold-out#e1#u1","kind":"sold-out","eventId":"e1","userId":"u1",
                "contact":{"pushEndpointArn":""}}"#,
        )
        .unwrap();
        assert_eq!(no_contact.push.target, PushTarget::Topic(TOPIC.into()));
    }

    #[test]
    fn bad_bodies_are_permanent_errors_naming_the_message_and_field() {
        let malformed = plan("not json").unwrap_err();
        assert!(matches!(&malformed, InvalidNotification::Malformed { message_id, .. } if message_id == "m-1"));
        assert_eq!(RecordError::from(malformed).kind(), "malformed-body");

        for (body, field) in [
            (
                r#"{"notificationId":"","kind":"sold-out","eventId":"e1","userId":"u1"}"#,
                "notificationId",
            ),
            (
                r#"{"notificationId":"n","kind":"sold-out","eventId":"e 1","userId":"u1"}"#,
                "eventId",
            ),
            (
                r#"{"notificationId":"n","kind":"ticket-issued","eventId":"e1","userId":"u1"}"#,
                "ticketId",
            ),
            (
                r#"{"notificationId":"n","kind":"sold-out","eventId":"e1","userId":"u/1"}"#,
                "userId",
            ),
        ] {
            let error = plan(body).unwrap_err();
            assert!(
                matches!(&error, InvalidNotification::InvalidField { field: f, .. } if f == field),
                "{body}: {error}"
            );
            let record_error = RecordError::from(error);
            assert!(record_error.is_permanent());
            assert_eq!(record_error.kind(), "invalid-field");
            assert!(record_error.message().contains("m-1"), "{record_error}");
        }
    }

    #[test]
    fn a_steps_content_is_the_notification_and_recipient_not_its_wording() {
        let body = |locale: &str, email: &str, ticket: &str| {
            format!(
                r#"{{"notificationId":"ticket-issued#t-1","kind":"ticket-issued","eventId":"e1","userId":"u1",
                    "ticketId":"{ticket}","issuedAt":"2026-11-22T10:00:00Z","contact":{{"email":"{email}"}},
                    "locale":"{locale}"}}"#
            )
        };
        let first = plan(&body("en", "kim@example.com", "t-1")).unwrap();
        assert_eq!(
            String::from_utf8(first.step_content(Channel::Email)).unwrap(),
            r#"{"kind":"ticket-issued","eventId":"e1","userId":"u1","ticketId":"t-1","recipient":"kim@example.com"}"#
        );
        assert_eq!(
            String::from_utf8(first.step_content(Channel::Push)).unwrap(),
            r#"{"kind":"ticket-issued","eventId":"e1","userId":"u1","ticketId":"t-1","recipient":"topic"}"#
        );
        let other_language = plan(&body("ko", "kim@example.com", "t-1")).unwrap();
        for channel in [Channel::Push, Channel::Email] {
            assert_eq!(first.step_content(channel), other_language.step_content(channel));
        }
        let other_address = plan(&body("en", "lee@example.com", "t-1")).unwrap();
        assert_ne!(
            first.step_content(Channel::Email),
            other_address.step_content(Channel::Email)
        );
        assert_eq!(
            first.step_content(Channel::Push),
            other_address.step_content(Channel::Push)
        );
        let other_ticket = plan(&body("en", "kim@example.com", "t-2")).unwrap();
        for channel in [Channel::Push, Channel::Email] {
            assert_ne!(first.step_content(channel), other_ticket.step_content(channel));
        }
    }

    #[test]
    fn a_parse_error_quoting_an_address_is_masked() {
        let error = plan(
            r#"{"notificationId":"n","kind":"sold-out","eventId":"e1","userId":"u1","contact":"kim@example.com"}"#,
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(
            !text.contains("kim@example.com") && text.contains("k***@example.com"),
            "{text}"
        );
    }
}
