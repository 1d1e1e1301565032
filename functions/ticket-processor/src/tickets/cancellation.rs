//! What DynamoDB's cancellation reasons say about one issuing transaction.
//!
//! `TransactionCanceledException.CancellationReasons` has one entry per action, in request order
//! (`Code` `None` for an action that did not cause it). Codes (DynamoDB API reference,
//! TransactWriteItems): `ConditionalCheckFailed`, `TransactionConflict` (another transaction holds
//! the item), `ProvisionedThroughputExceeded` and `ThrottlingError` (throttled),
//! `ItemCollectionSizeLimitExceeded`, `ValidationError`. The SDK retries none of them.

use aws_sdk_dynamodb::types::CancellationReason;

use super::Contention;
use crate::schema::Item;

/// Position of the ticket put, and of its cancellation reason.
pub(super) const TICKET_WRITE: usize = 0;
/// Position of the counter update.
pub(super) const COUNTER_WRITE: usize = 1;

const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailed";
const NONE: &str = "None";
const THROTTLING_CODES: [&str; 2] = ["ThrottlingError", "ProvisionedThroughputExceeded"];

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cancellation {
    /// The ticket exists; its item when DynamoDB returned it.
    TicketExists(Option<Item>),
    /// The ticket was absent but the counter refused the increment: no seats left (item returned),
    /// or no counter item (no item).
    CounterRefused(Option<Item>),
    /// Another transaction held an item, or the table throttled: worth retrying at once.
    Contention(Contention),
    /// A reason retrying cannot change (`ValidationError`, or a code not listed above) at `write`.
    Rejected {
        write: usize,
        code: String,
        described: String,
    },
    /// No reason at all: not an answer DynamoDB gives.
    Unexplained,
}

/// A ticket that exists decides the outcome whatever the counter says (a duplicate request after
/// the event sold out still gets its ticket); the counter's refusal only counts when the ticket
/// write itself passed (`None`).
pub(super) fn classify(reasons: &[CancellationReason]) -> Cancellation {
    let code = |index: usize| reasons.get(index).and_then(CancellationReason::code).unwrap_or(NONE);
    let item = |index: usize| reasons.get(index).and_then(CancellationReason::item).cloned();
    if reasons.is_empty() {
        return Cancellation::Unexplained;
    }
    if code(TICKET_WRITE) == CONDITIONAL_CHECK_FAILED {
        return Cancellation::TicketExists(item(TICKET_WRITE));
    }
    if code(TICKET_WRITE) == NONE && code(COUNTER_WRITE) == CONDITIONAL_CHECK_FAILED {
        return Cancellation::CounterRefused(item(COUNTER_WRITE));
    }
    let codes: Vec<&str> = (0..reasons.len()).map(code).collect();
    if codes.contains(&"TransactionConflict") {
        return Cancellation::Contention(Contention::Conflict);
    }
    if let Some(throttled) = codes.iter().find(|c| THROTTLING_CODES.contains(c)) {
        return Cancellation::Contention(Contention::Throttled(format!("cancellation reason {throttled}")));
    }
    let Some(write) = codes.iter().position(|c| *c != NONE && *c != CONDITIONAL_CHECK_FAILED) else {
        return Cancellation::Unexplained;
    };
    let described: Vec<String> = reasons
        .iter()
        .map(|r| match r.message() {
            Some(message) => format!("{} ({message})", r.code().unwrap_or(NONE)),
            None => r.code().unwrap_or(NONE).to_owned(),
        })
        .collect();
    Cancellation::Rejected {
        write,
        code: codes[write].to_owned(),
        described: format!("cancellation reasons [{}]", described.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn reason(code: &str, item: Option<Item>) -> CancellationReason {
        CancellationReason::builder().code(code).set_item(item).build()
    }

    fn item(name: &str) -> Item {
        Item::from([(name.to_owned(), AttributeValue::S("x".into()))])
    }

    #[test]
    fn the_ticket_reason_wins_over_the_counter_reason() {
        let both = classify(&[
            reason("ConditionalCheckFailed", Some(item("ticket"))),
            reason("ConditionalCheckFailed", Some(item("counter"))),
        ]);
        assert_eq!(both, Cancellation::TicketExists(Some(item("ticket"))));
        let refused = classify(&[
            reason("None", None),
            reason("ConditionalCheckFailed", Some(item("counter"))),
        ]);
        assert_eq!(refused, Cancellation::CounterRefused(Some(item("counter"))));
        let missing = classify(&[reason("None", None), reason("ConditionalCheckFailed", None)]);
        assert_eq!(missing, Cancellation::CounterRefused(None));
    }

    #[test]
    fn conflicts_and_throttling_are_contention() {
        assert_eq!(
            classify(&[reason("None", None), reason("TransactionConflict", None)]),
            Cancellation::Contention(Contention::Conflict)
        );
        // A conflicting ticket write leaves open whether the ticket exists: the counter's refusal
        // cannot decide sold-out yet.
        assert_eq!(
            classify(&[
                reason("TransactionConflict", None),
                reason("ConditionalCheckFailed", Some(item("counter")))
            ]),
            Cancellation::Contention(Contention::Conflict)
        );
        for code in ["ThrottlingError", "ProvisionedThroughputExceeded"] {
            assert!(matches!(
                classify(&[reason("None", None), reason(code, None)]),
                Cancellation::Contention(Contention::Throttled(reason)) if reason.contains(code)
            ));
        }
    }

    #[test]
    fn validation_errors_and_unknown_codes_are_rejections_at_their_write() {
        let validation = classify(&[
            reason("None", None),
            CancellationReason::builder()
                .code("ValidationError")
                .message("An operand in the update expression has an incorrect data type")
                .build(),
        ]);
        assert!(
            matches!(&validation, Cancellation::Rejected { write: COUNTER_WRITE, code, described }
                if code == "ValidationError" && described.contains("incorrect data type")),
            "{validation:?}"
        );
        assert!(matches!(
            classify(&[reason("ItemCollectionSizeLimitExceeded", None), reason("None", None)]),
            Cancellation::Rejected {
                write: TICKET_WRITE,
                ..
            }
        ));
        assert_eq!(classify(&[]), Cancellation::Unexplained);
        assert_eq!(
            classify(&[reason("None", None), reason("None", None)]),
            Cancellation::Unexplained
        );
    }
}
