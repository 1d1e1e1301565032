//! SQS's message move task calls: StartMessageMoveTask, ListMessageMoveTasks and
//! CancelMessageMoveTask. AWS only: moto does not implement them.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::ListMessageMoveTasksResultEntry;

use crate::error::{CallFailure, QueueError};
use crate::report::{MoveTask, TaskRequest};

/// ListMessageMoveTasks returns at most this many, most recent first.
const MAX_LISTED_TASKS: i32 = 10;

/// Starts the task `request` describes; returns its handle.
pub(crate) async fn start(sqs: &Client, request: &TaskRequest) -> Result<String, QueueError> {
    const OPERATION: &str = "StartMessageMoveTask";
    let output = sqs
        .start_message_move_task()
        .source_arn(&request.source_arn)
        .destination_arn(&request.destination_arn)
        .set_max_number_of_messages_per_second(request.max_per_second.map(|rate| rate as i32))
        .send()
        .await
        .map_err(|e| QueueError::sdk(OPERATION, &request.source_arn, e))?;
    output.task_handle.ok_or_else(|| QueueError {
        operation: OPERATION,
        queue: request.source_arn.clone(),
        failure: CallFailure::NoTaskHandle,
    })
}

/// The recent move tasks from the DLQ `dlq_arn`, most recent first.
pub(crate) async fn list(sqs: &Client, dlq_arn: &str) -> Result<Vec<MoveTask>, QueueError> {
    let output = sqs
        .list_message_move_tasks()
        .source_arn(dlq_arn)
        .max_results(MAX_LISTED_TASKS)
        .send()
        .await
        .map_err(|e| QueueError::sdk("ListMessageMoveTasks", dlq_arn, e))?;
    Ok(output.results().iter().map(move_task).collect())
}

/// Cancels the task `task_handle` (of the DLQ `dlq_arn`); returns how many messages it had moved.
pub(crate) async fn cancel(sqs: &Client, dlq_arn: &str, task_handle: &str) -> Result<i64, QueueError> {
    let output = sqs
        .cancel_message_move_task()
        .task_handle(task_handle)
        .send()
        .await
        .map_err(|e| QueueError::sdk("CancelMessageMoveTask", dlq_arn, e))?;
    Ok(output.approximate_number_of_messages_moved)
}

fn move_task(entry: &ListMessageMoveTasksResultEntry) -> MoveTask {
    MoveTask {
        task_handle: entry.task_handle().map(str::to_owned),
        status: entry.status().map(str::to_owned),
        source_arn: entry.source_arn().map(str::to_owned),
        destination_arn: entry.destination_arn().map(str::to_owned),
        max_per_second: entry.max_number_of_messages_per_second(),
        approximate_number_of_messages_moved: entry.approximate_number_of_messages_moved(),
        approximate_number_of_messages_to_move: entry.approximate_number_of_messages_to_move(),
        failure_reason: entry.failure_reason().map(str::to_owned),
        started_timestamp: entry.started_timestamp(),
    }
}
