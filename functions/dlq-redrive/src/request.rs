//! The operator's request: parsed strictly, checked against the configuration, defaults filled in.
//!
//! Defaults make the empty request `{}` safe: a dry run (replay mode) of every configured DLQ.
//! Nothing moves unless the request says `"dryRun": false`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{RedriveConfig, Route};
use crate::error::RequestError;
use crate::filter::Filter;
use crate::queue_address::QueueArn;
use shared::redact::{describe_value, mask_emails_in};

/// `MaxNumberOfMessagesPerSecond` of StartMessageMoveTask is limited to 500; replay uses the same range.
pub const MAX_PER_SECOND: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// SQS's StartMessageMoveTask moves the messages (AWS only; no filter, no attributes added).
    MoveTask,
    /// This function receives, sends and deletes the messages itself.
    Replay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Start,
    Status,
    Cancel,
}

/// The request as the operator writes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRequest {
    queue: Option<String>,
    mode: Option<Mode>,
    dry_run: Option<bool>,
    max_messages: Option<u64>,
    max_per_second: Option<u64>,
    filter: Option<Filter>,
    action: Option<Action>,
    destination: Option<String>,
    task_handle: Option<String>,
}

/// What to do on each selected DLQ.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Replay, or with `dry_run` only inspect, the DLQ.
    Replay(ReplayPlan),
    /// StartMessageMoveTask; with `dry_run`, inspect the DLQ and report what would start.
    MoveTaskStart {
        dry_run: bool,
        max_per_second: Option<u32>,
        /// Destination ARN; `None`: the route's source queue.
        destination: Option<String>,
    },
    MoveTaskStatus,
    MoveTaskCancel {
        /// `None`: cancel whatever task is running on the DLQ.
        task_handle: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplayPlan {
    pub dry_run: bool,
    /// Per DLQ: at most this many messages moved (dry run: inspected). `None`: until the DLQ is empty.
    pub max_messages: Option<u32>,
    pub max_per_second: Option<u32>,
    pub filter: Filter,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub routes: Vec<Route>,
    pub mode: Mode,
    pub action: Option<Action>,
    pub command: Command,
}

impl Request {
    /// Parses and checks a request. `null` (an invocation without payload) counts as `{}`.
    pub fn parse(payload: Value, config: &RedriveConfig) -> Result<Self, RequestError> {
        let raw: RawRequest = match payload {
            Value::Null => RawRequest::default(),
            Value::Object(_) => serde_path_to_error::deserialize(payload).map_err(|e| {
                let message = match e.path().to_string() {
                    root if root == "." => e.inner().to_string(),
                    path => format!("{path}: {}", e.inner()),
                };
                RequestError::Malformed {
                    message: safe(&message),
                }
            })?,
            other => {
                return Err(RequestError::NotAnObject {
                    found: describe_value(&other.to_string()),
                });
            }
        };
        let routes = match &raw.queue {
            None => config.routes.clone(),
            Some(queue) => vec![config.route(queue).cloned().ok_or_else(|| RequestError::UnknownQueue {
                queue: describe_value(queue),
                configured: config.route_names().into_iter().map(str::to_owned).collect(),
            })?],
        };
        // An action only exists for move tasks, so naming one selects that mode.
        let mode = raw.mode.unwrap_or(if raw.action.is_some() {
            Mode::MoveTask
        } else {
            Mode::Replay
        });
        let max_per_second = raw
            .max_per_second
            .map(|rate| in_range("maxPerSecond", rate, 1, MAX_PER_SECOND as u64))
            .transpose()?;
        let command = match mode {
            Mode::Replay => replay(&raw, max_per_second)?,
            Mode::MoveTask => move_task(&raw, &routes, max_per_second)?,
        };
        let action = (mode == Mode::MoveTask).then(|| raw.action.unwrap_or(Action::Start));
        Ok(Self {
            routes,
            mode,
            action,
            command,
        })
    }

    pub fn dry_run(&self) -> bool {
        match &self.command {
            Command::Replay(plan) => plan.dry_run,
            Command::MoveTaskStart { dry_run, .. } => *dry_run,
            Command::MoveTaskStatus | Command::MoveTaskCancel { .. } => false,
        }
    }
}

fn replay(raw: &RawRequest, max_per_second: Option<u32>) -> Result<Command, RequestError> {
    let not_for_replay = |field| RequestError::NotApplicable {
        field,
        applies_to: "mode replay".into(),
        why: "it belongs to mode move-task",
    };
    if raw.action.is_some() {
        return Err(not_for_replay("action"));
    }
    if raw.task_handle.is_some() {
        return Err(not_for_replay("taskHandle"));
    }
    if raw.destination.is_some() {
        return Err(RequestError::NotApplicable {
            field: "destination",
            applies_to: "mode replay".into(),
            why: "replay always sends a message back to the source queue of its DLQ",
        });
    }
    let filter = raw.filter.clone().unwrap_or_default();
    if let Some(problem) = filter.problems() {
        return Err(RequestError::Filter(problem));
    }
    Ok(Command::Replay(ReplayPlan {
        dry_run: raw.dry_run.unwrap_or(true),
        max_messages: raw
            .max_messages
            .map(|max| in_range("maxMessages", max, 1, 1_000_000))
            .transpose()?,
        max_per_second,
        filter,
    }))
}

fn move_task(raw: &RawRequest, routes: &[Route], max_per_second: Option<u32>) -> Result<Command, RequestError> {
    let action = raw.action.unwrap_or(Action::Start);
    if let Some((field, why)) = not_for_action(raw, action) {
        return Err(RequestError::NotApplicable {
            field,
            applies_to: format!("mode move-task, action {}", action_name(action)),
            why,
        });
    }
    match action {
        Action::Start => {
            let destination = raw
                .destination
                .as_deref()
                .map(|destination| check_destination(destination, raw, routes))
                .transpose()?;
            Ok(Command::MoveTaskStart {
                dry_run: raw.dry_run.unwrap_or(true),
                max_per_second,
                destination,
            })
        }
        Action::Status => Ok(Command::MoveTaskStatus),
        Action::Cancel => {
            let invalid = |reason: &str| RequestError::Invalid {
                field: "taskHandle",
                reason: reason.into(),
            };
            if raw
                .task_handle
                .as_deref()
                .is_some_and(|handle| handle.trim().is_empty())
            {
                return Err(invalid("is empty; leave it out to cancel the DLQ's running task"));
            }
            if raw.task_handle.is_some() && raw.queue.is_none() {
                return Err(invalid("also name the queue (the DLQ) the task runs on"));
            }
            Ok(Command::MoveTaskCancel {
                task_handle: raw.task_handle.clone(),
            })
        }
    }
}

/// The first field the move-task `action` does not take, and why.
fn not_for_action(raw: &RawRequest, action: Action) -> Option<(&'static str, &'static str)> {
    const EVERY_MESSAGE: &str =
        "StartMessageMoveTask moves every message of the DLQ; use mode replay to move only some";
    if raw.filter.is_some() {
        return Some(("filter", EVERY_MESSAGE));
    }
    if raw.max_messages.is_some() {
        return Some(("maxMessages", EVERY_MESSAGE));
    }
    if action != Action::Start {
        if raw.max_per_second.is_some() {
            return Some(("maxPerSecond", "the rate is set when a task starts"));
        }
        if raw.destination.is_some() {
            return Some(("destination", "the destination is set when a task starts"));
        }
    }
    if action != Action::Cancel && raw.task_handle.is_some() {
        return Some(("taskHandle", "a task handle only names the task to cancel"));
    }
    match action {
        Action::Status if raw.dry_run.is_some() => Some(("dryRun", "status only reads; leave dryRun out")),
        Action::Cancel if raw.dry_run == Some(true) => Some((
            "dryRun",
            "cancel has no dry run (action status shows the running task); leave dryRun out",
        )),
        _ => None,
    }
}

/// A move task may only go where the DLQ's messages belong: the route's source queue, or a
/// destination REDRIVE_ROUTES lists for that DLQ (`moveDestinations`). Moving one queue's dead
/// letters into another worker's queue would hand it messages it cannot read.
fn check_destination(destination: &str, raw: &RawRequest, routes: &[Route]) -> Result<String, RequestError> {
    let invalid = |reason: String| RequestError::Invalid {
        field: "destination",
        reason,
    };
    QueueArn::parse(destination).map_err(|e| {
        invalid(format!(
            "{}; StartMessageMoveTask takes a queue ARN",
            safe(&e.to_string())
        ))
    })?;
    if raw.queue.is_none() {
        return Err(invalid("also name the queue (the DLQ) whose messages go there".into()));
    }
    let route = &routes[0];
    if destination == route.dlq_arn {
        return Err(invalid("the destination is the DLQ itself".into()));
    }
    if destination != route.source_arn && !route.move_destinations.iter().any(|allowed| allowed == destination) {
        let also = if route.move_destinations.is_empty() {
            String::new()
        } else {
            format!(" or one of its moveDestinations {:?}", route.move_destinations)
        };
        return Err(invalid(format!(
            "{} is not where the dead letters of {} ({}) may go: only its source {}{also}; \
             list other destinations for this DLQ in REDRIVE_ROUTES (moveDestinations)",
            destination, route.name, route.dlq_arn, route.source_arn
        )));
    }
    Ok(destination.to_owned())
}

/// Operator text quoted in an error: addresses masked, at most 300 characters.
fn safe(text: &str) -> String {
    let masked = mask_emails_in(text);
    match masked.char_indices().nth(300) {
        Some((end, _)) => format!("{}…", &masked[..end]),
        None => masked.into_owned(),
    }
}

fn in_range(field: &'static str, value: u64, min: u64, max: u64) -> Result<u32, RequestError> {
    if (min..=max).contains(&value) {
        Ok(value as u32)
    } else {
        Err(RequestError::OutOfRange { field, value, min, max })
    }
}

pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Start => "start",
        Action::Status => "status",
        Action::Cancel => "cancel",
    }
}
