//! dlq-redrive: moves failed messages from dead-letter queues back to their source queues,
//! invoked by an operator with a JSON request; returns a JSON report.
//!
//! - **replay** ([`replay`]): receive → send a copy → delete only what was sent. A redriven copy
//!   carries `original-message-id` (workers key idempotency on it, since the copy gets a new
//!   messageId) and `redrive-count`; at `REDRIVE_MAX_COUNT` a message is parked in the DLQ.
//!   A crash between send and delete can duplicate a message, never lose it.
//! - **dry run** ([`inspect`]), the default: counts by error kind and age and a sample; nothing
//!   moves, and every message is visible again when the invocation returns.
//! - **move-task** ([`move_task`]): SQS's StartMessageMoveTask / ListMessageMoveTasks /
//!   CancelMessageMoveTask (AWS only).
//!
//! `main.rs` reads [`RedriveConfig`] at cold start and hands each invocation to [`Redrive::invoke`],
//! which runs [`Redrive::handle`] and writes the invocation's EMF line ([`metrics`]: moved,
//! parked, failed).

pub mod config;
pub mod dlq;
pub mod error;
pub mod filter;
pub mod inspect;
pub mod letter;
pub mod metrics;
pub mod move_task;
pub mod pace;
pub mod queue_address;
pub mod redrive;
pub mod redriven;
pub mod replay;
pub mod report;
pub mod request;
pub mod settings;
pub mod source;

pub use config::{RedriveConfig, Route};
pub use error::{QueueError, RequestError};
pub use redrive::Redrive;
pub use report::{QueueReport, Report};
pub use request::Request;
pub use settings::Settings;

/// Environment variables this function reads (all of them: see `config`).
pub const ENV_VARS: &[&str] = &["REDRIVE_ROUTES", "REDRIVE_MAX_COUNT"];
