//! ticket-processor: issues each user at most one ticket per event, never more than the event's
//! capacity, then enqueues exactly one notification per outcome on notification-queue.
//!
//! Per SQS record (under `shared`'s messageId idempotency):
//! 1. [`request`]: the body is capped and parsed into a [`messages::TicketRequest`]; an invalid
//!    body is a permanent error naming the field.
//! 2. [`tickets`]: one `TransactWriteItems` puts the ticket if absent and takes a seat from one
//!    of the event's K counters ([`schema`]) if it has one left; the cancellation reasons tell
//!    already-issued, an exhausted counter and contention apart. Contention is retried in the
//!    invocation; sold-out is answered only once every counter is confirmed full.
//! 3. [`notify`]: the notification goes to notification-queue with a deterministic
//!    `notificationId`, so every copy of it (a producer duplicate, a re-run after a crash) carries
//!    the same id and notification-sender sends it once.
//!
//! Both steps are safe to re-run: the transaction is conditional (a re-run finds the ticket and
//! returns it), and the enqueue is deduplicated downstream by `notificationId`.

pub mod config;
pub mod handler;
pub mod notify;
pub mod request;
pub mod schema;
pub mod tickets;

pub use config::TicketConfig;
pub use handler::{Processed, TicketOutcome, TicketProcessor};
pub use notify::NotificationQueue;
pub use tickets::{ContentionRetry, Issuance, IssueError, Ticket, TicketTable};

/// Environment variables this function reads (besides `shared::worker::env::ALL`).
pub const ENV_VARS: &[&str] = &[config::env::TICKETS_TABLE_NAME, config::env::NOTIFICATION_QUEUE_URL];
