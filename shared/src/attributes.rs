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
/// Set (to the envelope's version, `1`) when the dead letter's body is a
/// [`crate::envelope::Envelope`] holding the message's body and attributes: the message had too
/// many attributes to add the dead-letter ones beside them.
pub const DEAD_LETTER_ENVELOPE: &str = "dead-letter-envelope";

/// Attributes that describe one dead-lettering; dlq-redrive removes them when it redrives.
pub const DEAD_LETTER_ATTRIBUTES: [&str; 5] = [
    ERROR_KIND,
    ERROR_MESSAGE,
    SOURCE_QUEUE,
    RECEIVE_COUNT,
    DEAD_LETTER_ENVELOPE,
];

/// The longest SQS message id: "The maximum length of a message ID is 100 characters" (Amazon
/// SQS Developer Guide, "Amazon SQS queue and message identifiers").
pub const MAX_MESSAGE_ID_CHARS: usize = 100;

/// Whether `value` has the shape of an SQS message id, so it may stand for one in an idempotency
/// key: 1–100 ASCII letters, digits and hyphens. SQS documents only the length; the ids it (and
/// moto) hands out are UUIDs (`059f36b4-87a3-44ab-83d2-661975830a7d`), and AWS advises not to rely
/// on the 36 characters, so any length up to the documented 100 is accepted, in the UUID alphabet
/// of either case. Anything else (empty, spaces, `#`, control characters, a 10 KB string) cannot be
/// an id SQS gave and would make a DynamoDB key that is invalid or not ours to choose.
pub fn is_message_id(value: &str) -> bool {
    (1..=MAX_MESSAGE_ID_CHARS).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// SQS allows at most 10 message attributes per message.
pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;
/// Error messages are cut to this many bytes in the `error-message` attribute.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_what_sqs_hands_out_up_to_the_documented_length() {
        for id in [
            "059f36b4-87a3-44ab-83d2-661975830a7d",
            "059F36B4-87A3-44AB",
            "m-1",
            &"a".repeat(100),
        ] {
            assert!(is_message_id(id), "{id}");
        }
        for id in [
            "",
            " ",
            "a b",
            "m#1",
            "a\n",
            "kim@example.com",
            "é",
            &"a".repeat(101),
            &"x".repeat(10_240),
        ] {
            assert!(!is_message_id(id), "{id:?}");
        }
    }
}
