//! The JSON messages the workers exchange. One definition, used by producers and consumers.
//!
//! - [`TicketRequest`]: body of a ticket-issue-queue message (from the waiting-room queue service).
//! - [`Notification`]: body of a notification-queue message (from ticket-processor).

mod notification;
mod ticket_request;

pub use notification::{Notification, NotificationKind};
pub use ticket_request::{Contact, InvalidMessage, TicketRequest, is_valid_id};
