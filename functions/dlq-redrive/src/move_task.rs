//! move-task mode: SQS's own redrive (StartMessageMoveTask, ListMessageMoveTasks,
//! CancelMessageMoveTask). AWS only: moto does not implement these calls.
//!
//! SQS moves every message as it is: no filter, no `redrive-count` limit, and no
//! `original-message-id` is added (messages dead-lettered by `shared` already carry one; those
//! moved by the redrive policy do not, so workers see them under a new messageId). Use replay
//! when that matters.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::ListMessageMoveTasksResultEntry;
use serde::Serialize;

use crate::config::Route;
use crate::error::QueueError;

/// ListMessageMoveTasks returns at most this many, most recent first.
const MAX_LISTED_TASKS: i32 = 10;
const RUNNING: &str = "RUNNING";

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveTaskReport {
    /// A dry run of `start`: what would be started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_start: Option<TaskRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<StartedTask>,
    /// The DLQ's recent move tasks, most recent first (`status`, and `cancel` without a handle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<MoveTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<CancelledTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRequest {
    pub source_arn: String,
    pub destination_arn: String,
    /// `None`: SQS picks the rate.
    pub max_per_second: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedTask {
    pub task_handle: String,
    #[serde(flatten)]
    pub request: TaskRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledTask {
    pub task_handle: String,
    pub approximate_number_of_messages_moved: i64,
}

/// One entry of ListMessageMoveTasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveTask {
    /// Only running tasks have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    /// RUNNING, FAILED, CANCELLING, CANCELLED or COMPLETED.
    pub status: Option<String>,
    pub source_arn: Option<String>,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<i32>,
    pub approximate_number_of_messages_moved: i64,
    pub approximate_number_of_messages_to_move: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Epoch milliseconds.
    pub started_timestamp: i64,
}

impl From<&ListMessageMoveTasksResultEntry> for MoveTask {
    fn from(entry: &ListMessageMoveTasksResultEntry) -> Self {
        Self {
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
}

/// What `start` asks SQS for: from the DLQ to `destination`, or to the route's source queue.
pub fn task_request(route: &Route, destination: Option<&str>, max_per_second: Option<u32>) -> TaskRequest {
    TaskRequest {
        source_arn: route.dlq_arn.clone(),
        destination_arn: destination.unwrap_or(&route.source_arn).to_owned(),
        max_per_second,
    }
}

pub async fn start(sqs: &Client, route: &Route, request: TaskRequest) -> Result<MoveTaskReport, QueueError> {
    let output = sqs
        .start_message_move_task()
        .source_arn(&request.source_arn)
        .destination_arn(&request.destination_arn)
        .set_max_number_of_messages_per_second(request.max_per_second.map(|rate| rate as i32))
        .send()
        .await
        .map_err(|e| emulator_hint(route, QueueError::new("StartMessageMoveTask", &request.source_arn, e)))?;
    let task_handle = output.task_handle.ok_or_else(|| QueueError {
        operation: "StartMessageMoveTask",
        queue: request.source_arn.clone(),
        message: "the response has no TaskHandle".into(),
    })?;
    tracing::info!(source = %request.source_arn, destination = %request.destination_arn, %task_handle, "move task started");
    Ok(MoveTaskReport {
        started: Some(StartedTask { task_handle, request }),
        ..MoveTaskReport::default()
    })
}

pub async fn status(sqs: &Client, route: &Route) -> Result<MoveTaskReport, QueueError> {
    let tasks = list(sqs, route).await?;
    let note = tasks
        .is_empty()
        .then(|| "no move task on this DLQ in the last 14 days".to_owned());
    Ok(MoveTaskReport {
        tasks,
        note,
        ..MoveTaskReport::default()
    })
}

/// Cancels the task `task_handle`, or the DLQ's running task when `None` (no running task is not
/// an error: there is nothing to stop). A named handle must be a task of this DLQ: SQS cancels any
/// task by its handle alone, so a handle from another queue's listing would stop that queue's
/// redrive; the DLQ's own listing (ListMessageMoveTasks on its ARN) is the proof.
pub async fn cancel(sqs: &Client, route: &Route, task_handle: Option<&str>) -> Result<MoveTaskReport, QueueError> {
    let mut report = MoveTaskReport {
        tasks: list(sqs, route).await?,
        ..MoveTaskReport::default()
    };
    let running = report
        .tasks
        .iter()
        .find(|task| task.status.as_deref() == Some(RUNNING))
        .and_then(|task| task.task_handle.clone());
    let task_handle = match (task_handle, running) {
        (Some(named), _)
            if report
                .tasks
                .iter()
                .any(|task| task.task_handle.as_deref() == Some(named)) =>
        {
            named.to_owned()
        }
        (Some(named), _) => {
            return Err(QueueError {
                operation: "CancelMessageMoveTask",
                queue: route.dlq_arn.clone(),
                message: format!(
                    "refused: task handle {} is not a move task of this DLQ (ListMessageMoveTasks on it lists {}); \
                     nothing cancelled",
                    shared::redact::describe_value(named),
                    match report
                        .tasks
                        .iter()
                        .filter_map(|task| task.task_handle.as_deref())
                        .next()
                    {
                        Some(handle) => format!("the running task {handle}"),
                        None => "no running task".to_owned(),
                    }
                ),
            });
        }
        (None, Some(handle)) => handle,
        (None, None) => {
            report.note = Some("no running move task on this DLQ; nothing cancelled".into());
            return Ok(report);
        }
    };
    let output = sqs
        .cancel_message_move_task()
        .task_handle(&task_handle)
        .send()
        .await
        .map_err(|e| emulator_hint(route, QueueError::new("CancelMessageMoveTask", &route.dlq_arn, e)))?;
    tracing::info!(dlq = %route.dlq_arn, %task_handle, "move task cancelled");
    report.cancelled = Some(CancelledTask {
        task_handle,
        approximate_number_of_messages_moved: output.approximate_number_of_messages_moved,
    });
    Ok(report)
}

async fn list(sqs: &Client, route: &Route) -> Result<Vec<MoveTask>, QueueError> {
    let output = sqs
        .list_message_move_tasks()
        .source_arn(&route.dlq_arn)
        .max_results(MAX_LISTED_TASKS)
        .send()
        .await
        .map_err(|e| emulator_hint(route, QueueError::new("ListMessageMoveTasks", &route.dlq_arn, e)))?;
    Ok(output.results().iter().map(MoveTask::from).collect())
}

/// Local queues (moto, other emulators) cannot run move tasks; say so instead of leaving the
/// operator with the emulator's 500.
fn emulator_hint(route: &Route, mut error: QueueError) -> QueueError {
    let host = route
        .dlq_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    if !host.contains(".amazonaws.com") {
        error.message.push_str(&format!(
            " (the DLQ is on {host}, not AWS: move-task mode runs only on AWS, local emulators such as moto \
             do not implement the message move task API; use mode replay there)"
        ));
    }
    error
}
