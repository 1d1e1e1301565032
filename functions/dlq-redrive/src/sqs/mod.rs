//! Every SQS call dlq-redrive makes, and what each needs in IAM ([`AWS_CALLS`]): the DLQ side of
//! a dry run or replay (`dlq.rs`), sending copies to the source (`source.rs`), and the message
//! move task API (`tasks.rs`). The rest of the crate sees letters, copies and typed errors, not
//! SDK requests.

pub(crate) mod dlq;
pub(crate) mod source;
pub(crate) mod tasks;

use aws_sdk_sqs::types::BatchResultErrorEntry;
use shared::aws_calls::{AwsCall, Target};

use crate::config::env::REDRIVE_ROUTES;
use crate::error::EntryRefusal;

pub use dlq::depth;

/// The AWS calls this crate makes; `tests/template` derives the role's grants from them. Replay
/// and dry run work on each route's DLQ (`dlq.rs`) and send to its source (`source.rs`); move
/// tasks run on the DLQs (`tasks.rs`), and SQS also checks that the caller may send to the
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
        Target::EnvJsonField(REDRIVE_ROUTES, "moveDestinations"),
    ),
    AwsCall::new("list_message_move_tasks", &["sqs:ListMessageMoveTasks"], DLQS),
    AwsCall::new("cancel_message_move_task", &["sqs:CancelMessageMoveTask"], DLQS),
];

const DLQS: Target = Target::EnvJsonField(REDRIVE_ROUTES, "dlqArn");
const SOURCES: Target = Target::EnvJsonField(REDRIVE_ROUTES, "sourceArn");

/// SQS's largest batch.
pub(crate) const MAX_BATCH: usize = 10;

/// SQS's answer for a batch entry it refused.
fn refusal(entry: &BatchResultErrorEntry) -> EntryRefusal {
    EntryRefusal {
        code: entry.code.clone(),
        message: entry.message.clone(),
    }
}
