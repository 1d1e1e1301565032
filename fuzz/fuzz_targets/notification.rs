//! `Notification`'s wire format: whatever deserialises serialises back to the same value, and a
//! notification built from arbitrary fields reads back as itself.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use messages::{Contact, Notification, NotificationKind};

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Json(&'a [u8]),
    Fields {
        sold_out: bool,
        event_id: String,
        user_id: String,
        ticket_id: String,
        issued_at: String,
        email: Option<String>,
        push_endpoint_arn: Option<String>,
        locale: Option<String>,
    },
}

fuzz_target!(|input: Input<'_>| {
    match input {
        Input::Json(bytes) => {
            if let Ok(notification) = serde_json::from_slice::<Notification>(bytes) {
                let json = serde_json::to_string(&notification).unwrap();
                assert_eq!(serde_json::from_str::<Notification>(&json).unwrap(), notification);
            }
        }
        Input::Fields {
            sold_out,
            event_id,
            user_id,
            ticket_id,
            issued_at,
            email,
            push_endpoint_arn,
            locale,
        } => {
            let contact = (email.is_some() || push_endpoint_arn.is_some()).then_some(Contact {
                email,
                push_endpoint_arn,
            });
            let notification = if sold_out {
                Notification::sold_out(&event_id, &user_id, contact, locale)
            } else {
                Notification::ticket_issued(&event_id, &user_id, &ticket_id, &issued_at, contact, locale)
            };
            let expected_kind = if sold_out {
                NotificationKind::SoldOut
            } else {
                NotificationKind::TicketIssued
            };
            assert_eq!(notification.kind, expected_kind);
            let json = serde_json::to_string(&notification).unwrap();
            assert_eq!(serde_json::from_str::<Notification>(&json).unwrap(), notification);
        }
    }
});
