//! move-task mode: SQS's own redrive, started, listed or cancelled for one DLQ ([`crate::sqs::tasks`]
//! makes the calls). AWS only: moto does not implement them.
//!
//! SQS moves every message as it is: no filter, no `redrive-count` limit, and no
//! `original-message-id` is added (messages dead-lettered by `shared` already carry one; those
//! moved by the redrive policy do not, so workers see them under a new messageId). Use replay
//! when that matters.

use aws_sdk_sqs::Client;

use crate::config::Route;
use crate::error::{CallFailure, QueueError};
use crate::report::{CancelledTask, MoveTask, MoveTaskReport, StartedTask, TaskRequest};
use crate::sqs::tasks;

const RUNNING: &str = "RUNNING";

/// What `start` asks SQS for: from the DLQ to `destination`, or to the route's source queue.
pub(crate) fn task_request(route: &Route, destination: Option<&str>, max_per_second: Option<u32>) -> TaskRequest {
    TaskRequest {
        source_arn: route.dlq_arn.clone(),
        destination_arn: destination.unwrap_or(&route.source_arn).to_owned(),
        max_per_second,
    }
}

pub(crate) async fn start(sqs: &Client, route: &Route, request: TaskRequest) -> Result<MoveTaskReport, QueueError> {
    let task_handle = tasks::start(sqs, &request).await.map_err(|e| emulator_hint(route, e))?;
    tracing::info!(source = %request.source_arn, destination = %request.destination_arn, %task_handle, "move task started");
    Ok(MoveTaskReport {
        started: Some(StartedTask { task_handle, request }),
        ..MoveTaskReport::default()
    })
}

pub(crate) async fn status(sqs: &Client, route: &Route) -> Result<MoveTaskReport, QueueError> {
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
/// an error: there is nothing to stop).
pub(crate) async fn cancel(
    sqs: &Client,
    route: &Route,
    task_handle: Option<&str>,
) -> Result<MoveTaskReport, QueueError> {
    let mut report = MoveTaskReport {
        tasks: list(sqs, route).await?,
        ..MoveTaskReport::default()
    };
    let Some(task_handle) = task_to_cancel(route, &report.tasks, task_handle)? else {
        report.note = Some("no running move task on this DLQ; nothing cancelled".into());
        return Ok(report);
    };
    let moved = tasks::cancel(sqs, &route.dlq_arn, &task_handle)
        .await
        .map_err(|e| emulator_hint(route, e))?;
    tracing::info!(dlq = %route.dlq_arn, %task_handle, "move task cancelled");
    report.cancelled = Some(CancelledTask {
        task_handle,
        approximate_number_of_messages_moved: moved,
    });
    Ok(report)
}

/// The handle to cancel: `named`, which must be one of the DLQ's `tasks`, or else the running
/// one, if any. SQS cancels any task by its handle alone, so a handle from another queue's listing
/// would stop that queue's redrive; the DLQ's own listing (ListMessageMoveTasks on its ARN) is the
/// proof.
fn task_to_cancel(route: &Route, tasks: &[MoveTask], named: Option<&str>) -> Result<Option<String>, QueueError> {
    let handles = || tasks.iter().filter_map(|task| task.task_handle.as_deref());
    match named {
        Some(named) if handles().any(|handle| handle == named) => Ok(Some(named.to_owned())),
        Some(named) => Err(QueueError {
            operation: "CancelMessageMoveTask",
            queue: route.dlq_arn.clone(),
            failure: CallFailure::ForeignTaskHandle {
                handle: shared::redact::describe_value(named),
                listed: match handles().next() {
                    Some(handle) => format!("the running task {handle}"),
                    None => "no running task".to_owned(),
                },
            },
        }),
        None => Ok(tasks
            .iter()
            .find(|task| task.status.as_deref() == Some(RUNNING))
            .and_then(|task| task.task_handle.clone())),
    }
}

async fn list(sqs: &Client, route: &Route) -> Result<Vec<MoveTask>, QueueError> {
    tasks::list(sqs, &route.dlq_arn)
        .await
        .map_err(|e| emulator_hint(route, e))
}

/// Local queues (moto, other emulators) cannot run move tasks; say so instead of leaving the
/// operator with the emulator's 500.
fn emulator_hint(route: &Route, error: QueueError) -> QueueError {
    let host = route
        .dlq_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    match error.failure {
        CallFailure::Sdk(message) if !host.contains(".amazonaws.com") => QueueError {
            failure: CallFailure::NotOnAws {
                error: message,
                host: host.to_owned(),
            },
            ..error
        },
        _ => error,
    }
}
