//! Names of the SQS message attributes this project reads and writes.
//!
//! `shared` writes the dead-letter attributes when it moves a permanently failed record to a DLQ;
//! dlq-redrive writes `original-message-id` and `redrive-count` when it sends a dead letter back.

/// The messageId the message had when it was first received. A redriven message gets a new
/// messageId from SQS; idempotency keys use this attribute instead when it is present.
pub const ORIGINAL_MESSAGE_ID: &str = "original-message-id";
/// How many times dlq-redrive has sent this message back to its source queue.
pub const REDRIVE_COUNT: &str = "redrive-count";
/// The [`crate::RecordError::kind`] that sent the message to the DLQ.
pub const ERROR_KIND: &str = "error-kind";
/// The error message (truncated to [`MAX_ERROR_MESSAGE_BYTES`]).
pub const ERROR_MESSAGE: &str = "error-message";
/// The ARN of the queue the message was consumed from.
pub const SOURCE_QUEUE: &str = "source-queue";
/// `ApproximateReceiveCount` when the record failed permanently.
pub const RECEIVE_COUNT: &str = "receive-count";

/// Attributes that describe one dead-lettering; dlq-redrive removes them when it redrives.
pub const DEAD_LETTER_ATTRIBUTES: [&str; 4] = [ERROR_KIND, ERROR_MESSAGE, SOURCE_QUEUE, RECEIVE_COUNT];

/// SQS allows at most 10 message attributes per message.
pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;
/// Error messages are cut to this many bytes in the `error-message` attribute.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;
