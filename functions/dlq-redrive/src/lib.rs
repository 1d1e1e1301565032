//! dlq-redrive: moves failed messages from dead-letter queues back to their source queues,
//! invoked by an operator with a JSON request; returns a JSON report.
//!
//! `main.rs` reads [`RedriveConfig`] at cold start and hands each invocation to the handler,
//! [`Redrive::invoke`]: [`Redrive::handle`] parses the [`Request`], runs it on each selected DLQ
//! and returns the [`Report`]; then the invocation's EMF line is written ([`metrics`]).
//!
//! - **dry run**, the default: counts by error kind and age and a sample; nothing moves, and every
//!   message is visible again when the invocation returns.
//! - **replay**: receive → send a copy → delete only what was sent. A copy carries
//!   `original-message-id` (workers key idempotency on it, since the copy gets a new messageId)
//!   and `redrive-count`; at `REDRIVE_MAX_COUNT` a message is parked in the DLQ. A crash between
//!   send and delete can duplicate a message, never lose it.
//! - **move-task**: SQS's StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask
//!   (AWS only).
//!
//! The dry run and the replay share one receive loop and one decision per message, so a dry run
//! predicts the replay of the same request. Every SQS call is in [`sqs`]; every failure is a
//! typed error in [`error`].

pub mod config;
mod copy;
mod decision;
mod dry_run;
pub mod error;
pub mod filter;
mod handler;
pub mod letter;
pub mod metrics;
mod move_task;
mod pace;
mod queue_address;
mod receive_loop;
mod replay;
pub mod report;
pub mod request;
pub mod sqs;
mod timing;

pub use config::{RedriveConfig, Route};
pub use error::{QueueError, RequestError};
pub use handler::Redrive;
pub use report::{QueueReport, Report};
pub use request::Request;
pub use sqs::AWS_CALLS;
pub use timing::Timing;

/// Environment variables this function reads (all of them: see [`config`]).
pub const ENV_VARS: &[&str] = &[config::env::REDRIVE_ROUTES, config::env::REDRIVE_MAX_COUNT];
