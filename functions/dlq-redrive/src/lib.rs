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

use shared::aws_calls::{AwsCall, Target};

pub use config::{RedriveConfig, Route};
pub use error::{QueueError, RequestError};
pub use redrive::Redrive;
pub use report::{QueueReport, Report};
pub use request::Request;
pub use settings::Settings;

/// Environment variables this function reads (all of them: see `config`).
pub const ENV_VARS: &[&str] = &["REDRIVE_ROUTES", "REDRIVE_MAX_COUNT"];

/// The AWS calls this crate makes; `tests/template` derives the role's grants from them. Replay
/// and dry run work on each route's DLQ (`dlq.rs`) and send to its source (`source.rs`); move
/// tasks run on the DLQs (`move_task.rs`), and SQS also checks that the caller may send to the
/// destination: the source (declared above) or a `moveDestinations` queue.
pub const AWS_CALLS: &[AwsCall] = &[
    AwsCall::new("receive_message", &["sqs:ReceiveMessage"], DLQS),
    AwsCall::new("delete_message_batch", &["sqs:DeleteMessage"], DLQS),
    AwsCall::new(
        "change_message_visibility_batch",
        &["sqs:ChangeMessageVisibility"],
        DLQS,
    ),
    AwsCall::new("get_queue_attributes", &["sqs:GetQueueAttributes"], DLQS),
    AwsCall::new("send_message_batch", &["sqs:SendMessage"], SOURCES),
    AwsCall::new("start_message_move_task", &["sqs:StartMessageMoveTask"], DLQS),
    AwsCall::new(
        "start_message_move_task",
        &["sqs:SendMessage"],
        Target::EnvJsonField(config::env::REDRIVE_ROUTES, "moveDestinations"),
    ),
    AwsCall::new("list_message_move_tasks", &["sqs:ListMessageMoveTasks"], DLQS),
    AwsCall::new("cancel_message_move_task", &["sqs:CancelMessageMoveTask"], DLQS),
];

const DLQS: Target = Target::EnvJsonField(config::env::REDRIVE_ROUTES, "dlqArn");
const SOURCES: Target = Target::EnvJsonField(config::env::REDRIVE_ROUTES, "sourceArn");
