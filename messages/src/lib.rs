//! The JSON messages the workers exchange. One definition, used by producers and consumers.
//!
//! - [`TicketRequest`]: body of a ticket-issue-queue message (from the waiting-room queue service).
//! - [`Notification`]: body of a notification-queue message (from ticket-processor).
//!
//! Both parse with errors that name the field ([`InvalidMessage`]) and never quote an email
//! address in clear; [`Contact`]'s `Debug` masks its address, so neither does the `Debug` of any
//! message holding one.

mod notification;
mod parse;
mod ticket_request;

pub use notification::{Notification, NotificationKind};
pub use parse::{ID_RULE, InvalidMessage, check_id, describe_value, is_valid_id};
pub use ticket_request::{Contact, TicketRequest};
