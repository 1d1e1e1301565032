//! Why a ticket could not be issued, naming the record, the event and the table.

use shared::{RecordError, error_kinds};

/// A ticket request that failed: which one, where, and the [`Problem`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {message_id}: event {event_id} in table {table}: {problem}")]
pub struct IssueError {
    pub message_id: String,
    pub event_id: String,
    pub table: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("unknown event: there is no {key} item")]
    UnknownEvent { key: String },
    #[error("the event is malformed: {0}")]
    MalformedEvent(String),
    #[error("the stored ticket of user {user_id} is malformed: {reason}")]
    MalformedTicket { user_id: String, reason: String },
    #[error("DynamoDB refused the transaction for a reason retrying cannot change: {0}")]
    Rejected(String),
    #[error(
        "TransactWriteItems lost to concurrent transactions {attempts} times in {waited_ms} ms; the invocation has no time left to retry"
    )]
    Conflict { attempts: u32, waited_ms: u64 },
    #[error("the table is throttling ({attempts} attempts; the invocation has no time left to retry): {reason}")]
    Throttled { attempts: u32, reason: String },
    #[error("{operation} failed: {reason}")]
    Unavailable { operation: &'static str, reason: String },
}

impl IssueError {
    /// `unknown-event`, `malformed-event`, `malformed-ticket` and `transaction-rejected` are the
    /// data's fault and never go away by retrying. Everything else, including a missing table or
    /// denied access, is the environment's: the record is retried (and reaches the DLQ through the
    /// queue's redrive policy if it never recovers) rather than dead-lettered while the table is
    /// misconfigured.
    pub fn kind(&self) -> &'static str {
        match self.problem {
            // The permanent kinds are a dead letter's `error-kind`, a wire protocol spelled in
            // shared; the retryable ones are only logged.
            Problem::UnknownEvent { .. } => error_kinds::UNKNOWN_EVENT,
            Problem::MalformedEvent(_) => error_kinds::MALFORMED_EVENT,
            Problem::MalformedTicket { .. } => error_kinds::MALFORMED_TICKET,
            Problem::Rejected(_) => error_kinds::TRANSACTION_REJECTED,
            Problem::Conflict { .. } => "transaction-conflict",
            Problem::Throttled { .. } => "throttled",
            Problem::Unavailable { .. } => "tickets-unavailable",
        }
    }

    pub fn is_permanent(&self) -> bool {
        matches!(
            self.problem,
            Problem::UnknownEvent { .. }
                | Problem::MalformedEvent(_)
                | Problem::MalformedTicket { .. }
                | Problem::Rejected(_)
        )
    }
}

impl From<IssueError> for RecordError {
    fn from(error: IssueError) -> Self {
        if error.is_permanent() {
            RecordError::permanent(error.kind(), &error)
        } else {
            RecordError::retryable(error.kind(), &error)
        }
    }
}

/// The record and resource one request's errors name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    pub table: &'a str,
    pub message_id: &'a str,
    pub event_id: &'a str,
    pub user_id: &'a str,
}

impl Context<'_> {
    pub(super) fn error(&self, problem: Problem) -> IssueError {
        IssueError {
            message_id: self.message_id.to_owned(),
            event_id: self.event_id.to_owned(),
            table: self.table.to_owned(),
            problem,
        }
    }

    pub(super) fn malformed_ticket(&self, reason: impl std::fmt::Display) -> IssueError {
        self.error(Problem::MalformedTicket {
            user_id: self.user_id.to_owned(),
            reason: reason.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_names_the_record_the_event_and_the_table_and_says_whether_to_retry() {
        let context = Context {
            table: "tickets",
            message_id: "m-1",
            event_id: "e-1",
            user_id: "u-1",
        };
        let permanent = [
            context.error(Problem::UnknownEvent {
                key: "EVENT#e-1/META".into(),
            }),
            context.error(Problem::MalformedEvent("no numeric capacity".into())),
            context.malformed_ticket("missing field `ticketId`"),
            context.error(Problem::Rejected("[None, ValidationError]".into())),
        ];
        let retryable = [
            context.error(Problem::Conflict {
                attempts: 9,
                waited_ms: 2000,
            }),
            context.error(Problem::Throttled {
                attempts: 3,
                reason: "ThrottlingError".into(),
            }),
            context.error(Problem::Unavailable {
                operation: "TransactWriteItems",
                reason: "500".into(),
            }),
        ];
        for error in permanent.iter().chain(&retryable) {
            let text = error.to_string();
            for part in ["m-1", "e-1", "tickets"] {
                assert!(text.contains(part), "{part}: {text}");
            }
            let record = RecordError::from(error.clone());
            assert_eq!(record.kind(), error.kind());
            assert_eq!(record.is_permanent(), permanent.contains(error), "{text}");
        }
        assert!(permanent[2].to_string().contains("user u-1"));
    }
}
