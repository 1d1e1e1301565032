//! The `error-kind` values a dead letter can carry: a wire protocol between the workers that write
//! them ([`crate::RecordError::permanent`] → the `error-kind` attribute) and the operators and
//! dlq-redrive that read them (`byErrorKind` in a dry run, `filter.errorKind` in a request).
//! Spelled once here; a changed string would strand filters and alarms written against the old one.
//!
//! Only permanent errors reach a DLQ with their kind. A retryable error's kind (`throttled`,
//! `panic`, …) is only logged: a message that keeps failing that way is moved by the queue's
//! redrive policy, without an `error-kind`, and dlq-redrive calls it [`RETRIES_EXHAUSTED`].
//! notification-sender's channel failures are `<channel>-rejected` and `<channel>-misconfigured`
//! (`push`, `email`), composed in its `channels.rs`.

/// A dead letter without an `error-kind`: SQS's redrive policy moved it after `maxReceiveCount`
/// failed receives, so no code recorded why.
pub const RETRIES_EXHAUSTED: &str = "retries-exhausted";

/// The body is over the worker's size limit ([`crate::Record::body_within`]).
pub const BODY_TOO_LARGE: &str = "body-too-large";
/// The body is not JSON, or not the JSON object the queue carries.
pub const MALFORMED_BODY: &str = "malformed-body";
/// A field of the body is missing, of the wrong type or breaks its rule (the message names it).
pub const INVALID_FIELD: &str = "invalid-field";

/// The messageId was processed before with a different payload ([`crate::idempotency`]).
pub const IDEMPOTENCY_PAYLOAD_MISMATCH: &str = "idempotency-payload-mismatch";
/// The handler's result is too large to store ([`crate::idempotency`]).
pub const IDEMPOTENCY_RESULT_TOO_LARGE: &str = "idempotency-result-too-large";
/// A result could not be serialized, or the stored one deserialized ([`crate::idempotency`]).
pub const IDEMPOTENCY_STORED_RESULT: &str = "idempotency-stored-result";

/// ticket-processor: the request names an event the tickets table does not hold.
pub const UNKNOWN_EVENT: &str = "unknown-event";
/// ticket-processor: the event's item is malformed.
pub const MALFORMED_EVENT: &str = "malformed-event";
/// ticket-processor: the user's stored ticket is malformed.
pub const MALFORMED_TICKET: &str = "malformed-ticket";
/// ticket-processor: DynamoDB refused the transaction for a reason retrying cannot change.
pub const TRANSACTION_REJECTED: &str = "transaction-rejected";

/// notification-sender: no channel could deliver (every one rejected, or no address and the
/// push rejected).
pub const NO_USABLE_CHANNEL: &str = "no-usable-channel";

/// Every kind above.
pub const ALL: &[&str] = &[
    RETRIES_EXHAUSTED,
    BODY_TOO_LARGE,
    MALFORMED_BODY,
    INVALID_FIELD,
    IDEMPOTENCY_PAYLOAD_MISMATCH,
    IDEMPOTENCY_RESULT_TOO_LARGE,
    IDEMPOTENCY_STORED_RESULT,
    UNKNOWN_EVENT,
    MALFORMED_EVENT,
    MALFORMED_TICKET,
    TRANSACTION_REJECTED,
    NO_USABLE_CHANNEL,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_lowercase_kebab_case_words() {
        let mut seen = std::collections::HashSet::new();
        for kind in ALL {
            assert!(seen.insert(kind), "{kind} twice");
            let words_ok = kind
                .split('-')
                .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()));
            assert!(words_ok, "{kind:?} is not kebab-case");
        }
    }
}
