//! Every way dlq-redrive fails, one enum per boundary: the configuration ([`RoutesError`],
//! [`AddressError`]), the operator's request ([`RequestError`], [`FilterError`]), an SQS call
//! ([`QueueError`]) and one dead letter ([`MessageError`]). Each names what it is about: the route,
//! the field, the operation and queue, the message.

use std::fmt;
use std::sync::Arc;

/// `REDRIVE_ROUTES` cannot be used; the function stops at cold start naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    #[error("not a JSON array of routes: {0}")]
    NotRoutes(String),
    #[error("the array is empty: configure at least one route")]
    Empty,
    #[error("route {index} ({name:?}): {problem}")]
    Route {
        index: usize,
        name: String,
        problem: RouteProblem,
    },
}

/// What is wrong with one route of `REDRIVE_ROUTES`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteProblem {
    #[error("name must be 1-80 letters, digits, - or _")]
    BadName,
    #[error("the name is used by an earlier route; names must be unique")]
    DuplicateName,
    /// `field` is `dlqUrl`, `dlqArn`, `sourceUrl` or `sourceArn`.
    #[error("{field}: {error}")]
    BadAddress { field: &'static str, error: AddressError },
    #[error("{url_field} {url:?} and {arn_field} {arn:?} name different queues")]
    DifferentQueues {
        url_field: &'static str,
        url: String,
        arn_field: &'static str,
        arn: String,
    },
    #[error("the DLQ and the source are the same queue")]
    SameQueue,
    #[error("the DLQ {dlq} and the source {source_queue} must both be FIFO or both standard")]
    MixedFifo { dlq: String, source_queue: String },
    #[error("moveDestinations: {0}")]
    BadDestination(AddressError),
    #[error("moveDestinations: the DLQ itself is not a destination")]
    DestinationIsTheDlq,
    #[error("moveDestinations: {destination} and the DLQ {dlq} must both be FIFO or both standard")]
    DestinationMixedFifo { destination: String, dlq: String },
    // One DLQ mapped to two sources would need per-message routing that redrive-policy dead
    // letters cannot provide (they carry no source-queue attribute).
    #[error("the DLQ is used by an earlier route; each DLQ goes back to one source")]
    SharedDlq,
}

/// A queue ARN or URL that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{arn:?} is not an SQS queue ARN (expected arn:<partition>:sqs:<region>:<account>:<queue>)")]
    NotAnArn { arn: String },
    #[error("{url:?} is not an SQS queue URL (expected https://sqs.<region>.amazonaws.com/<account>/<queue>)")]
    NotAUrl { url: String },
    #[error("{url:?} has no host (expected https://sqs.<region>.amazonaws.com/<account>/<queue>)")]
    NoHost { url: String },
    /// `address` is the whole ARN or URL.
    #[error("{address:?}: account {account:?} is not a 12-digit AWS account id")]
    BadAccount { address: String, account: String },
    #[error(
        "{address:?}: {name:?} is not a valid SQS queue name (1-80 letters, digits, - or _, optionally ending in .fifo)"
    )]
    BadQueueName { address: String, name: String },
}

/// The request cannot be run as given. Nothing was received, moved or started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(
        "invalid request: the request must be a JSON object such as {{}} or {{\"queue\":\"ticket\",\"dryRun\":false}}, not {found}"
    )]
    NotAnObject { found: String },
    #[error("invalid request: {message}")]
    Malformed { message: String },
    /// `queue` as [`shared::redact::describe_value`] shows it.
    #[error("invalid request: queue {queue} is not a configured DLQ; use one of {configured:?}, or its DLQ URL or ARN")]
    UnknownQueue { queue: String, configured: Vec<String> },
    #[error("invalid request: {field} does not apply to {applies_to}: {why}")]
    NotApplicable {
        field: &'static str,
        applies_to: String,
        why: &'static str,
    },
    #[error("invalid request: {field} is {value}, must be between {min} and {max}")]
    OutOfRange {
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    #[error("invalid request: filter: {0}")]
    Filter(#[from] FilterError),
    #[error("invalid request: {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// Lets the handler return a `RequestError`: the invocation fails with this type and message.
impl From<RequestError> for lambda_runtime::Diagnostic {
    fn from(error: RequestError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "InvalidRequest".to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// A filter that cannot be right, found when the request is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("filter.errorKind is an empty list, which matches nothing")]
    NoErrorKind,
    #[error("filter.body and filter.attributes need non-empty names")]
    EmptyName,
}

/// An SQS call that failed as a whole (after the SDK's retries), or was refused before it was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on {queue} failed: {failure}")]
pub struct QueueError {
    pub operation: &'static str,
    /// URL or ARN of the queue the call was about.
    pub queue: String,
    pub failure: CallFailure,
}

impl QueueError {
    /// The SDK's error, as [`shared::error_chain`] describes it.
    pub fn sdk<E: std::error::Error>(operation: &'static str, queue: &str, error: E) -> Self {
        Self {
            operation,
            queue: queue.to_owned(),
            failure: CallFailure::Sdk(shared::error_chain(&error)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    #[error("{0}")]
    Sdk(String),
    /// The SDK's error on a queue outside AWS: only AWS implements the message move task API.
    #[error(
        "{error} (the DLQ is on {host}, not AWS: move-task mode runs only on AWS, local emulators such as moto \
         do not implement the message move task API; use mode replay there)"
    )]
    NotOnAws { error: String, host: String },
    #[error("the response has no TaskHandle")]
    NoTaskHandle,
    /// Refused before calling: SQS cancels any task by its handle alone, so a handle this DLQ's
    /// listing does not show could stop another queue's redrive.
    #[error(
        "refused: task handle {handle} is not a move task of this DLQ (ListMessageMoveTasks on it lists {listed}); \
         nothing cancelled"
    )]
    ForeignTaskHandle { handle: String, listed: String },
}

/// Why one dead letter stayed in the DLQ, or what became of it after its copy was sent. Each
/// names the message (its DLQ messageId).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("SQS returned a message without a MessageId")]
    NoMessageId,
    #[error("message {message_id}: SQS returned it without a ReceiptHandle")]
    NoReceiptHandle { message_id: String },
    /// `problem` is why [`shared::envelope::Envelope::open`] could not open it.
    #[error("message {message_id}: {problem}; left in the DLQ")]
    UnreadableEnvelope { message_id: String, problem: String },
    /// `value` as [`shared::redact::describe_value`] shows it.
    #[error(
        "message {message_id}: attribute {} is {value}, not a whole number; left in the DLQ",
        shared::attributes::REDRIVE_COUNT
    )]
    BadRedriveCount { message_id: String, value: String },
    #[error("message {message_id}: no MessageGroupId, which a FIFO queue requires; left in the DLQ")]
    NoGroupId { message_id: String },
    #[error("message {message_id}: not sent because an earlier SendMessageBatch call failed; left in the DLQ")]
    NotAttempted { message_id: String },
    /// `error` is the call's, shared by every message it carried.
    #[error("message {message_id}: not sent ({error}); left in the DLQ")]
    SendFailed { message_id: String, error: Arc<QueueError> },
    #[error("message {message_id}: SendMessageBatch to {queue_url} did not report it; left in the DLQ")]
    SendUnreported { message_id: String, queue_url: String },
    #[error("message {message_id}: SendMessageBatch to {queue_url} refused it ({refusal}); left in the DLQ")]
    SendRefused {
        message_id: String,
        queue_url: String,
        refusal: EntryRefusal,
    },
    #[error(
        "message {message_id}: sent to {source_url} but not deleted from the DLQ ({cause}); it comes back after its \
         visibility timeout and a later run sends it again with the same original-message-id, which workers \
         recognise as a duplicate"
    )]
    NotDeleted {
        message_id: String,
        source_url: String,
        cause: EntryFailure,
    },
    #[error(
        "message {message_id}: not made visible again ({cause}); it stays hidden in the DLQ until its visibility timeout ends"
    )]
    StaysHidden { message_id: String, cause: EntryFailure },
}

/// Why one entry of a batch call did not go through: SQS refused it, or the whole call failed
/// (that error is shared by every entry of the call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryFailure {
    #[error("{0}")]
    Refused(EntryRefusal),
    #[error("{0}")]
    Call(Arc<QueueError>),
}

/// SQS's answer for a batch entry it refused: `code: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRefusal {
    pub code: String,
    pub message: Option<String>,
}

impl fmt::Display for EntryRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => write!(f, "{}: {message}", self.code),
            None => f.write_str(&self.code),
        }
    }
}
