//! How a record failed, and whether trying again can help.

use std::fmt;
use std::time::{Duration, SystemTime};

/// Whether a failed record can succeed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// Report the record failed; SQS redelivers it after the visibility timeout, or after the
    /// retry delay when the batch processor has one ([`crate::retry_delay`]).
    Retryable,
    /// The record can never succeed (malformed, invalid, unknown reference). It goes to the
    /// configured dead-letter queue with the reason and counts as handled.
    Permanent,
}

/// The error a record handler returns: a class, a short machine-readable kind
/// (`malformed-body`, `invalid-field`, `throttled`, …), a human-readable message and, for a
/// retryable error, optionally the earliest time a retry can succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    class: ErrorClass,
    kind: String,
    message: String,
    not_before: Option<SystemTime>,
}

impl RecordError {
    /// An error of `class`; [`RecordError::retryable`] and [`RecordError::permanent`] say it shorter.
    pub fn new(class: ErrorClass, kind: impl Into<String>, message: impl fmt::Display) -> Self {
        Self {
            class,
            kind: kind.into(),
            message: message.to_string(),
            not_before: None,
        }
    }

    /// An error that may go away: throttling, timeouts, 5xx, a lock held by another worker.
    pub fn retryable(kind: impl Into<String>, message: impl fmt::Display) -> Self {
        Self::new(ErrorClass::Retryable, kind, message)
    }

    /// An error that will not go away however often the record is retried.
    pub fn permanent(kind: impl Into<String>, message: impl fmt::Display) -> Self {
        Self::new(ErrorClass::Permanent, kind, message)
    }

    /// Whether a retry can help.
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// Whether the record goes to the dead-letter queue rather than being retried.
    pub fn is_permanent(&self) -> bool {
        self.class == ErrorClass::Permanent
    }

    /// The machine-readable kind: dead letters carry it as `error-kind`, and dlq-redrive
    /// filters on it (see [`crate::error_kinds`]).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The human-readable message, as logged and carried by a dead letter as `error-message`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A retry cannot succeed before `at` (a lock that expires then, a send budget whose next
    /// token frees up then). With a retry delay configured, the batch processor makes SQS hand the
    /// record back at `at` instead of after its backoff by receive count. Ignored on a permanent
    /// error.
    pub fn retry_not_before(mut self, at: SystemTime) -> Self {
        self.not_before = Some(at);
        self
    }

    /// [`RecordError::retry_not_before`] `delay` from now.
    pub fn retry_after(self, delay: Duration) -> Self {
        self.retry_not_before(SystemTime::now() + delay)
    }

    /// The earliest time a retry can succeed, when the handler knows it.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.not_before.filter(|_| self.class == ErrorClass::Retryable)
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.class {
            ErrorClass::Retryable => "retryable",
            ErrorClass::Permanent => "permanent",
        };
        write!(f, "{class} {}: {}", self.kind, self.message)
    }
}

impl std::error::Error for RecordError {}

/// An error and its sources on one line, `: `-separated, skipping a source whose text the line
/// already ends with. For AWS SDK errors this gives `service error: ThrottlingException: Rate
/// exceeded`; the SDK's `DisplayErrorContext` would add the raw HTTP response's debug dump, which
/// buries the reason in logs and reports.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn sources_are_joined_and_repeats_skipped() {
        let error = Layer(
            "service error",
            Some(Box::new(Layer(
                "Throttled: slow down",
                Some(Box::new(Layer("slow down", None))),
            ))),
        );
        assert_eq!(error_chain(&error), "service error: Throttled: slow down");
    }
}
