//! `{"notificationId", "kind", "eventId", "userId", "ticketId"?, "issuedAt"?, "contact"?, "locale"?}`

use serde::{Deserialize, Serialize};

use crate::Contact;
use crate::parse::{InvalidMessage, parse_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotificationKind {
    TicketIssued,
    SoldOut,
}

impl NotificationKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            NotificationKind::TicketIssued => "ticket-issued",
            NotificationKind::SoldOut => "sold-out",
        }
    }
}

/// What notification-sender sends a user. `notification_id` is deterministic, so every copy of
/// the same notification (redelivery, producer duplicate) carries the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub notification_id: String,
    pub kind: NotificationKind,
    pub event_id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl Notification {
    /// Parse a body. Errors name the field (a missing `kind`, an unknown one) and never quote an
    /// address in clear. The ids' rules are the consumer's to check.
    pub fn parse(body: &str) -> Result<Self, InvalidMessage> {
        parse_json(body, "notification")
    }

    /// `ticket-issued#<ticketId>`.
    pub fn ticket_issued(
        event_id: &str,
        user_id: &str,
        ticket_id: &str,
        issued_at: &str,
        contact: Option<Contact>,
        locale: Option<String>,
    ) -> Self {
        Self {
            notification_id: format!("ticket-issued#{ticket_id}"),
            kind: NotificationKind::TicketIssued,
            event_id: event_id.to_owned(),
            user_id: user_id.to_owned(),
            ticket_id: Some(ticket_id.to_owned()),
            issued_at: Some(issued_at.to_owned()),
            contact,
            locale,
        }
    }

    /// `sold-out#<eventId>#<userId>`.
    pub fn sold_out(event_id: &str, user_id: &str, contact: Option<Contact>, locale: Option<String>) -> Self {
        Self {
            notification_id: format!("sold-out#{event_id}#{user_id}"),
            kind: NotificationKind::SoldOut,
            event_id: event_id.to_owned(),
            user_id: user_id.to_owned(),
            ticket_id: None,
            issued_at: None,
            contact,
            locale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_camel_case_with_kebab_kinds() {
        let n = Notification::sold_out("e1", "u1", None, Some("en".into()));
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"notificationId":"sold-out#e1#u1","kind":"sold-out","eventId":"e1","userId":"u1","locale":"en"})
        );
        let back: Notification = serde_json::from_value(json).unwrap();
        assert_eq!(back, n);
        let issued = Notification::ticket_issued("e1", "u1", "t-9", "2026-11-22T10:00:00Z", None, None);
        assert_eq!(issued.notification_id, "ticket-issued#t-9");
        assert_eq!(serde_json::to_value(&issued).unwrap()["kind"], "ticket-issued");
    }

    #[test]
    fn parse_errors_name_the_field() {
        let body = |kind: &str| format!(r#"{{"notificationId":"n","kind":"{kind}","eventId":"e","userId":"u"}}"#);
        assert!(Notification::parse(&body("sold-out")).is_ok());
        let unknown = Notification::parse(&body("refund")).unwrap_err();
        assert_eq!(unknown.field.as_deref(), Some("kind"), "{unknown}");
        let missing = Notification::parse(r#"{"notificationId":"n","eventId":"e","userId":"u"}"#).unwrap_err();
        assert_eq!(missing.to_string(), "kind: is missing");
        assert_eq!(Notification::parse("[]").unwrap_err().field, None);
    }
}
