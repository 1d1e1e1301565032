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
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tickets;

use shared::aws_calls::{AwsCall, Target};

pub use config::TicketConfig;
pub use handler::{Processed, TicketOutcome, TicketProcessor};
pub use notify::NotificationQueue;
pub use tickets::{ContentionRetry, Issuance, IssueError, Ticket, TicketTable};

/// Environment variables this function reads (besides `shared::worker::env::ALL`).
pub const ENV_VARS: &[&str] = &[config::env::TICKETS_TABLE_NAME, config::env::NOTIFICATION_QUEUE_URL];

/// The AWS calls this crate makes (besides `shared::worker::AWS_CALLS`); `tests/template` derives
/// the role's grants from them. TransactWriteItems (`tickets.rs`) is authorised per item: a Put
/// and an Update, no ConditionCheck.
pub const AWS_CALLS: &[AwsCall] = &[
    AwsCall::new(
        "transact_write_items",
        &["dynamodb:PutItem", "dynamodb:UpdateItem"],
        Target::Env(config::env::TICKETS_TABLE_NAME),
    ),
    AwsCall::new(
        "get_item",
        &["dynamodb:GetItem"],
        Target::Env(config::env::TICKETS_TABLE_NAME),
    ),
    // The sold-out snapshot (`tickets/sold_out.rs`): its Gets are authorised as GetItem.
    AwsCall::new(
        "transact_get_items",
        &["dynamodb:GetItem"],
        Target::Env(config::env::TICKETS_TABLE_NAME),
    ),
    AwsCall::new(
        "send_message",
        &["sqs:SendMessage"],
        Target::Env(config::env::NOTIFICATION_QUEUE_URL),
    ),
];
