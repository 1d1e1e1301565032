//! ticket-processor: issues each user at most one ticket per event, never more than the event's
//! capacity, then enqueues exactly one notification per outcome on notification-queue.
//!
//! Per SQS record (under `shared`'s messageId idempotency):
//! 1. [`request`]: the body is capped and parsed into a [`messages::TicketRequest`]; an invalid
//!    body is a permanent error naming the field.
//! 2. [`tickets`]: one `TransactWriteItems` puts the ticket if absent and increments the event's
//!    `issued` if below `capacity`; the cancellation reasons tell already-issued, sold-out and
//!    unknown-event apart.
//! 3. [`notify`]: the notification goes to notification-queue with a deterministic
//!    `notificationId`, so every copy of it (a producer duplicate, a re-run after a crash) carries
//!    the same id and notification-sender sends it once.
//!
//! Each invocation writes one EMF line ([`metrics`]: tickets issued, already issued, sold out,
//! conflicts, throttles, time to ticket), and a notification carries its request's X-Ray trace
//! header ([`notify`]).
//!
//! Both steps are safe to re-run: the transaction is conditional (a re-run finds the ticket and
//! returns it), and the enqueue is deduplicated downstream by `notificationId`.

pub mod config;
pub mod handler;
pub mod metrics;
pub mod notify;
pub mod request;
pub mod tickets;

pub use config::TicketConfig;
pub use handler::{Processed, TicketOutcome, TicketProcessor};
pub use notify::NotificationQueue;
pub use tickets::{Issuance, IssueError, Ticket, TicketTable};

/// Environment variables this function reads (besides `shared::worker::env::ALL`).
pub const ENV_VARS: &[&str] = &[config::env::TICKETS_TABLE_NAME, config::env::NOTIFICATION_QUEUE_URL];
