//! Errors at the two boundaries: the operator's request, and calls to SQS.

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

/// An SQS call that failed as a whole (after the SDK's retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on {queue} failed: {message}")]
pub struct QueueError {
    pub operation: &'static str,
    /// URL or ARN of the queue the call was about.
    pub queue: String,
    pub message: String,
}

impl QueueError {
    pub fn new<E>(operation: &'static str, queue: &str, error: E) -> Self
    where
        E: std::error::Error,
    {
        Self {
            operation,
            queue: queue.to_owned(),
            message: shared::error_chain(&error),
        }
    }
}
