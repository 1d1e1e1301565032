//! The tickets table, and the one transaction that issues a ticket.
//!
//! Single-table design, keys `pk`/`sk`:
//! - event:  `EVENT#<eventId>` / `META`, with `capacity` (N) and `issued` (N);
//! - ticket: `EVENT#<eventId>` / `TICKET#<userId>`, with `ticketId`, `eventId`, `userId`,
//!   `issuedAt` and `messageId` (the SQS messageId the issuing request was first received under).
//!
//! Issuing is one `TransactWriteItems` of two writes that happen together or not at all:
//! 1. put the ticket if absent: one ticket per user and event, however many messages ask;
//! 2. `issued = issued + 1` on the event if `issued < capacity`: never more than capacity.
//!
//! Both carry `ReturnValuesOnConditionCheckFailure = ALL_OLD`, so a cancelled transaction says
//! why without a second read: the existing ticket comes back in the first cancellation reason,
//! the full event item in the second (sold out), or no item at all (no such event). Only that
//! last, rare case is confirmed with a read before the record fails permanently.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_smithy_types::date_time::{DateTime, Format};
use messages::TicketRequest;
use serde::{Deserialize, Serialize};
use shared::RecordError;

type Item = HashMap<String, AttributeValue>;

/// Sort key of an event's item.
pub const EVENT_SK: &str = "META";

/// Partition key of an event and of its tickets.
pub fn event_pk(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}

/// Sort key of a user's ticket for an event.
pub fn ticket_sk(user_id: &str) -> String {
    format!("TICKET#{user_id}")
}

/// A transaction that lost a race with another one on the same items (a hot event item) is
/// retried here this many times in all before the record is handed back to SQS: a conflict
/// clears in milliseconds, a redelivery takes a whole visibility timeout.
const MAX_ATTEMPTS: u32 = 4;
/// First backoff after a conflict; doubled each time, plus up to as much again of jitter so
/// conflicting invocations spread out.
const CONFLICT_BACKOFF: Duration = Duration::from_millis(20);

/// Positions of the two writes in the transaction, and so of their cancellation reasons.
const TICKET_WRITE: usize = 0;
const EVENT_WRITE: usize = 1;

/// An issued ticket, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub ticket_id: String,
    pub event_id: String,
    pub user_id: String,
    /// RFC 3339, UTC, millisecond precision.
    pub issued_at: String,
    pub message_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TicketItem {
    pk: String,
    sk: String,
    ticket_id: String,
    event_id: String,
    user_id: String,
    issued_at: String,
    message_id: String,
}

impl From<&Ticket> for TicketItem {
    fn from(ticket: &Ticket) -> Self {
        TicketItem {
            pk: event_pk(&ticket.event_id),
            sk: ticket_sk(&ticket.user_id),
            ticket_id: ticket.ticket_id.clone(),
            event_id: ticket.event_id.clone(),
            user_id: ticket.user_id.clone(),
            issued_at: ticket.issued_at.clone(),
            message_id: ticket.message_id.clone(),
        }
    }
}

impl From<TicketItem> for Ticket {
    fn from(item: TicketItem) -> Self {
        Ticket {
            ticket_id: item.ticket_id,
            event_id: item.event_id,
            user_id: item.user_id,
            issued_at: item.issued_at,
            message_id: item.message_id,
        }
    }
}

/// The attributes of an event item that decide issuance; both optional so a malformed item is
/// reported as such rather than as a deserialization error.
#[derive(Debug, Deserialize)]
struct EventItem {
    capacity: Option<u64>,
    issued: Option<u64>,
}

/// How a ticket request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuance {
    /// This call wrote the ticket and counted it against capacity.
    Issued(Ticket),
    /// The user already had a ticket for this event (from an earlier message, or an earlier
    /// attempt of this one); nothing was written. The stored ticket.
    AlreadyIssued(Ticket),
    /// Every seat is taken; nothing was written. A normal outcome, not an error.
    SoldOut { capacity: u64, issued: u64 },
}

/// Why a ticket could not be issued. Every variant names the record, the event and the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("message {message_id}: unknown event {event_id}: table {table} has no {pk}/META item", pk = event_pk(event_id))]
    UnknownEvent {
        message_id: String,
        event_id: String,
        table: String,
    },
    #[error("message {message_id}: event {event_id} in table {table} is malformed: {reason}")]
    MalformedEvent {
        message_id: String,
        event_id: String,
        table: String,
        reason: String,
    },
    #[error(
        "message {message_id}: the stored ticket of user {user_id} for event {event_id} in table {table} is malformed: {reason}"
    )]
    MalformedTicket {
        message_id: String,
        event_id: String,
        user_id: String,
        table: String,
        reason: String,
    },
    #[error(
        "message {message_id}: event {event_id} in table {table}: TransactWriteItems conflicted with concurrent transactions {attempts} times"
    )]
    Conflict {
        message_id: String,
        event_id: String,
        table: String,
        attempts: u32,
    },
    #[error("message {message_id}: event {event_id}: table {table} is throttling: {reason}")]
    Throttled {
        message_id: String,
        event_id: String,
        table: String,
        reason: String,
    },
    #[error("message {message_id}: event {event_id}: {operation} on table {table} failed: {reason}")]
    Unavailable {
        message_id: String,
        event_id: String,
        table: String,
        operation: &'static str,
        reason: String,
    },
}

impl IssueError {
    /// `unknown-event`, `malformed-event` and `malformed-ticket` are the data's fault and never go
    /// away by retrying. Everything else, including a missing table or denied access, is the
    /// environment's: the record is retried (and reaches the DLQ through the queue's redrive
    /// policy if it never recovers) rather than dead-lettered while the table is misconfigured.
    pub fn kind(&self) -> &'static str {
        match self {
            IssueError::UnknownEvent { .. } => "unknown-event",
            IssueError::MalformedEvent { .. } => "malformed-event",
            IssueError::MalformedTicket { .. } => "malformed-ticket",
            IssueError::Conflict { .. } => "transaction-conflict",
            IssueError::Throttled { .. } => "throttled",
            IssueError::Unavailable { .. } => "tickets-unavailable",
        }
    }

    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            IssueError::UnknownEvent { .. } | IssueError::MalformedEvent { .. } | IssueError::MalformedTicket { .. }
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

/// What the cancellation reasons of one attempt say.
#[derive(Debug, Clone, PartialEq)]
enum Cancellation {
    /// The ticket exists; its item when DynamoDB returned it.
    TicketExists(Option<Item>),
    /// The ticket was absent but the event refused the increment: sold out (item returned),
    /// or no such event (no item).
    EventRefused(Option<Item>),
    /// Another transaction held one of the items.
    Conflict,
    Throttled(String),
    Other(String),
}

const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailed";
const THROTTLING_CODES: [&str; 3] = [
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Reads the per-write cancellation reasons. A ticket that exists decides the outcome whatever
/// the event says (a duplicate request after the event sold out still gets its ticket); the
/// event's refusal only counts when the ticket write itself passed (`None`).
fn classify(reasons: &[CancellationReason]) -> Cancellation {
    let code = |index: usize| reasons.get(index).and_then(CancellationReason::code).unwrap_or("None");
    let item = |index: usize| reasons.get(index).and_then(CancellationReason::item).cloned();
    if code(TICKET_WRITE) == CONDITIONAL_CHECK_FAILED {
        return Cancellation::TicketExists(item(TICKET_WRITE));
    }
    if code(TICKET_WRITE) == "None" && code(EVENT_WRITE) == CONDITIONAL_CHECK_FAILED {
        return Cancellation::EventRefused(item(EVENT_WRITE));
    }
    let codes: Vec<&str> = (0..reasons.len().max(2)).map(code).collect();
    if codes.contains(&"TransactionConflict") {
        return Cancellation::Conflict;
    }
    if let Some(throttled) = codes.iter().find(|c| THROTTLING_CODES.contains(c)) {
        return Cancellation::Throttled(format!("cancellation reason {throttled}"));
    }
    let described: Vec<String> = reasons
        .iter()
        .map(|r| match r.message() {
            Some(message) => format!("{} ({message})", r.code().unwrap_or("None")),
            None => r.code().unwrap_or("None").to_owned(),
        })
        .collect();
    Cancellation::Other(format!("transaction cancelled: [{}]", described.join(", ")))
}

/// One attempt's result: an answer, a conflict worth retrying here, or an error for the record.
enum Attempt {
    Done(Issuance),
    Conflict,
    Failed(IssueError),
}

/// The tickets table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TicketTable {
    client: Client,
    table: String,
}

/// Identifies the record and resource in every error of one request.
struct Context<'a> {
    table: &'a str,
    message_id: &'a str,
    event_id: &'a str,
    user_id: &'a str,
}

impl Context<'_> {
    fn unknown_event(&self) -> IssueError {
        IssueError::UnknownEvent {
            message_id: self.message_id.to_owned(),
            event_id: self.event_id.to_owned(),
            table: self.table.to_owned(),
        }
    }

    fn malformed_event(&self, reason: impl Into<String>) -> IssueError {
        IssueError::MalformedEvent {
            message_id: self.message_id.to_owned(),
            event_id: self.event_id.to_owned(),
            table: self.table.to_owned(),
            reason: reason.into(),
        }
    }

    fn malformed_ticket(&self, reason: impl Into<String>) -> IssueError {
        IssueError::MalformedTicket {
            message_id: self.message_id.to_owned(),
            event_id: self.event_id.to_owned(),
            user_id: self.user_id.to_owned(),
            table: self.table.to_owned(),
            reason: reason.into(),
        }
    }

    fn conflict(&self, attempts: u32) -> IssueError {
        IssueError::Conflict {
            message_id: self.message_id.to_owned(),
            event_id: self.event_id.to_owned(),
            table: self.table.to_owned(),
            attempts,
        }
    }

    fn throttled(&self, reason: impl Into<String>) -> IssueError {
        IssueError::Throttled {
            message_id: self.message_id.to_owned(),
            event_id: self.event_id.to_owned(),
            table: self.table.to_owned(),
            reason: reason.into(),
        }
    }

    fn unavailable(&self, operation: &'static str, reason: impl Into<String>) -> IssueError {
        IssueError::Unavailable {
            message_id: self.message_id.to_owned(),
            event_id: self.event_id.to_owned(),
            table: self.table.to_owned(),
            operation,
            reason: reason.into(),
        }
    }

    /// Throttling after the SDK's own retries is `Throttled`; any other failure `Unavailable`.
    fn sdk_error<E, R>(&self, operation: &'static str, error: &SdkError<E, R>) -> IssueError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let reason = shared::error_chain(error);
        let code = error.as_service_error().and_then(ProvideErrorMetadata::code);
        match code {
            Some("ThrottlingException" | "ProvisionedThroughputExceededException" | "RequestLimitExceeded") => {
                self.throttled(reason)
            }
            _ => self.unavailable(operation, reason),
        }
    }
}

impl TicketTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Issue `request.user_id` a ticket for `request.event_id`, at most once and within capacity.
    /// `message_id` is recorded on a ticket this call writes.
    pub async fn issue(&self, request: &TicketRequest, message_id: &str) -> Result<Issuance, IssueError> {
        let context = Context {
            table: &self.table,
            message_id,
            event_id: &request.event_id,
            user_id: &request.user_id,
        };
        let ticket = Ticket {
            ticket_id: uuid::Uuid::new_v4().to_string(),
            event_id: request.event_id.clone(),
            user_id: request.user_id.clone(),
            issued_at: now_rfc3339(),
            message_id: message_id.to_owned(),
        };
        for attempt in 1..=MAX_ATTEMPTS {
            match self.attempt(&ticket, &context).await {
                Attempt::Done(issuance) => return Ok(issuance),
                Attempt::Failed(error) => return Err(error),
                Attempt::Conflict if attempt < MAX_ATTEMPTS => {
                    tracing::info!(attempt, event_id = %request.event_id, "ticket transaction conflicted; retrying");
                    tokio::time::sleep(conflict_backoff(attempt)).await;
                }
                Attempt::Conflict => {}
            }
        }
        Err(context.conflict(MAX_ATTEMPTS))
    }

    async fn attempt(&self, ticket: &Ticket, context: &Context<'_>) -> Attempt {
        let item = match serde_dynamo::to_item(TicketItem::from(ticket)) {
            Ok(item) => item,
            Err(e) => return Attempt::Failed(context.malformed_ticket(format!("cannot be written: {e}"))),
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table name and item are set");
        let increment = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(event_pk(&ticket.event_id)))
            .key("sk", AttributeValue::S(EVENT_SK.to_owned()))
            .update_expression("SET #issued = #issued + :one")
            .condition_expression("attribute_exists(pk) AND #issued < #capacity")
            .expression_attribute_names("#issued", "issued")
            .expression_attribute_names("#capacity", "capacity")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table name, key and update expression are set");
        // In TICKET_WRITE, EVENT_WRITE order: the cancellation reasons come back in this order.
        let writes = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(increment).build(),
        ];

        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Attempt::Done(Issuance::Issued(ticket.clone())),
            Err(error) => error,
        };
        let reasons = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled.cancellation_reasons(),
            Some(service) if service.code() == Some("TransactionConflictException") => return Attempt::Conflict,
            _ => return Attempt::Failed(context.sdk_error("TransactWriteItems", &error)),
        };
        match classify(reasons) {
            Cancellation::TicketExists(Some(item)) => match parse_ticket(item, context) {
                Ok(existing) => Attempt::Done(Issuance::AlreadyIssued(existing)),
                Err(error) => Attempt::Failed(error),
            },
            Cancellation::TicketExists(None) => self.read_existing_ticket(context).await,
            Cancellation::EventRefused(Some(item)) => refused_by_event(item, context),
            Cancellation::EventRefused(None) => self.confirm_unknown_event(context).await,
            Cancellation::Conflict => Attempt::Conflict,
            Cancellation::Throttled(reason) => Attempt::Failed(context.throttled(reason)),
            Cancellation::Other(reason) => Attempt::Failed(context.unavailable("TransactWriteItems", reason)),
        }
    }

    /// DynamoDB said the ticket exists without returning it: read it (strongly consistent). If it
    /// is gone again, the transaction is simply retried.
    async fn read_existing_ticket(&self, context: &Context<'_>) -> Attempt {
        match self.get(event_pk(context.event_id), ticket_sk(context.user_id)).await {
            Ok(Some(item)) => match parse_ticket(item, context) {
                Ok(existing) => Attempt::Done(Issuance::AlreadyIssued(existing)),
                Err(error) => Attempt::Failed(error),
            },
            Ok(None) => Attempt::Conflict,
            Err(error) => Attempt::Failed(context.sdk_error("GetItem (ticket)", &error)),
        }
    }

    /// The event refused the increment and returned no item: it should not exist. Confirmed with
    /// a strongly consistent read before failing the record permanently.
    async fn confirm_unknown_event(&self, context: &Context<'_>) -> Attempt {
        match self.get(event_pk(context.event_id), EVENT_SK.to_owned()).await {
            Ok(None) => Attempt::Failed(context.unknown_event()),
            Ok(Some(item)) => refused_by_event(item, context),
            Err(error) => Attempt::Failed(context.sdk_error("GetItem (event)", &error)),
        }
    }

    async fn get(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<Item>, SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }
}

fn parse_ticket(item: Item, context: &Context<'_>) -> Result<Ticket, IssueError> {
    serde_dynamo::from_item::<_, TicketItem>(item)
        .map(Ticket::from)
        .map_err(|e| context.malformed_ticket(e.to_string()))
}

/// The event item as it was when it refused the increment.
fn refused_by_event(item: Item, context: &Context<'_>) -> Attempt {
    let event: EventItem = match serde_dynamo::from_item(item) {
        Ok(event) => event,
        Err(e) => {
            return Attempt::Failed(
                context.malformed_event(format!("capacity and issued must be non-negative numbers: {e}")),
            );
        }
    };
    match (event.capacity, event.issued) {
        (Some(capacity), Some(issued)) if issued >= capacity => Attempt::Done(Issuance::SoldOut { capacity, issued }),
        // Seats were free when read back: the item changed between the check and the read.
        (Some(_), Some(_)) => Attempt::Conflict,
        (None, _) => Attempt::Failed(context.malformed_event("the META item has no numeric capacity")),
        (_, None) => Attempt::Failed(context.malformed_event("the META item has no numeric issued (seed it with 0)")),
    }
}

fn conflict_backoff(attempt: u32) -> Duration {
    let base = CONFLICT_BACKOFF * 2u32.pow(attempt - 1);
    let jitter_ms = (uuid::Uuid::new_v4().as_u128() % (base.as_millis() + 1)) as u64;
    base + Duration::from_millis(jitter_ms)
}

fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    DateTime::from_millis(now.as_millis() as i64)
        .fmt(Format::DateTime)
        .expect("the current time is within RFC 3339's range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn reason(code: &str, item: Option<Item>) -> CancellationReason {
        CancellationReason::builder().code(code).set_item(item).build()
    }

    fn cancelled(reasons: Vec<CancellationReason>) -> TransactWriteItemsError {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .message("Transaction cancelled")
                .set_cancellation_reasons(Some(reasons))
                .build(),
        )
    }

    fn n(value: u64) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    fn event_item(capacity: u64, issued: u64) -> Item {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(event_pk("e-1"))),
            ("sk".to_owned(), AttributeValue::S(EVENT_SK.to_owned())),
            ("capacity".to_owned(), n(capacity)),
            ("issued".to_owned(), n(issued)),
        ])
    }

    fn stored_ticket() -> Ticket {
        Ticket {
            ticket_id: "t-stored".into(),
            event_id: "e-1".into(),
            user_id: "u-1".into(),
            issued_at: "2026-11-22T10:00:00Z".into(),
            message_id: "m-first".into(),
        }
    }

    fn request() -> TicketRequest {
        TicketRequest::parse(r#"{"eventId":"e-1","userId":"u-1"}"#).unwrap()
    }

    #[test]
    fn the_ticket_reason_wins_over_the_event_reason() {
        let ticket = serde_dynamo::to_item(TicketItem::from(&stored_ticket())).unwrap();
        let both = classify(&[
            reason("ConditionalCheckFailed", Some(ticket)),
            reason("ConditionalCheckFailed", Some(event_item(1, 1))),
        ]);
        assert!(matches!(both, Cancellation::TicketExists(Some(_))), "{both:?}");
        let sold_out = classify(&[
            reason("None", None),
            reason("ConditionalCheckFailed", Some(event_item(1, 1))),
        ]);
        assert_eq!(sold_out, Cancellation::EventRefused(Some(event_item(1, 1))));
        let missing = classify(&[reason("None", None), reason("ConditionalCheckFailed", None)]);
        assert_eq!(missing, Cancellation::EventRefused(None));
    }

    #[test]
    fn conflicts_throttling_and_the_rest_are_told_apart() {
        assert_eq!(
            classify(&[reason("TransactionConflict", None), reason("None", None)]),
            Cancellation::Conflict
        );
        // A conflicting ticket write leaves open whether the ticket exists: the event's refusal
        // cannot decide sold-out yet.
        assert_eq!(
            classify(&[
                reason("TransactionConflict", None),
                reason("ConditionalCheckFailed", Some(event_item(1, 1)))
            ]),
            Cancellation::Conflict
        );
        assert!(matches!(
            classify(&[reason("None", None), reason("ThrottlingError", None)]),
            Cancellation::Throttled(_)
        ));
        assert!(matches!(
            classify(&[reason("ValidationError", None), reason("None", None)]),
            Cancellation::Other(reason) if reason.contains("ValidationError")
        ));
        assert!(matches!(classify(&[]), Cancellation::Other(_)));
    }

    #[tokio::test]
    async fn a_conflict_is_retried_in_process_and_then_issues() {
        let transact = mock!(Client::transact_write_items)
            .sequence()
            .error(|| cancelled(vec![reason("None", None), reason("TransactionConflict", None)]))
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&transact]);
        let issuance = TicketTable::new(client, "tickets")
            .issue(&request(), "m-1")
            .await
            .unwrap();
        assert!(
            matches!(&issuance, Issuance::Issued(t) if t.message_id == "m-1"),
            "{issuance:?}"
        );
        assert_eq!(transact.num_calls(), 2);
    }

    #[tokio::test]
    async fn conflicts_that_do_not_clear_are_a_retryable_record_error() {
        let transact = mock!(Client::transact_write_items)
            .sequence()
            .error(|| cancelled(vec![reason("None", None), reason("TransactionConflict", None)]))
            .times(MAX_ATTEMPTS as usize)
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&transact]);
        let error = TicketTable::new(client, "tickets")
            .issue(&request(), "m-1")
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                IssueError::Conflict {
                    attempts: MAX_ATTEMPTS,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(transact.num_calls(), MAX_ATTEMPTS as usize);
        let record = RecordError::from(error);
        assert!(!record.is_permanent());
        assert_eq!(record.kind(), "transaction-conflict");
        assert!(
            record.message().contains("m-1") && record.message().contains("tickets"),
            "{record}"
        );
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_retryable() {
        let throttled = mock!(Client::transact_write_items)
            .then_error(|| cancelled(vec![reason("ThrottlingError", None), reason("None", None)]));
        let client = mock_client!(aws_sdk_dynamodb, [&throttled]);
        let error = TicketTable::new(client, "tickets")
            .issue(&request(), "m-1")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "throttled", "{error}");
        assert!(!error.is_permanent());

        // 500s are retried by the SDK first; the rule answers every attempt.
        let server_error = mock!(Client::transact_write_items).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
                aws_smithy_types::body::SdkBody::from(r#"{"__type":"InternalServerError","message":"boom"}"#),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, [&server_error]);
        let error = TicketTable::new(client, "tickets")
            .issue(&request(), "m-1")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "tickets-unavailable", "{error}");
        assert!(!RecordError::from(error).is_permanent());
    }

    #[tokio::test]
    async fn an_event_refusal_without_an_item_is_confirmed_by_a_read() {
        let transact = mock!(Client::transact_write_items)
            .then_error(|| cancelled(vec![reason("None", None), reason("ConditionalCheckFailed", None)]));
        let missing = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&transact, &missing]);
        let error = TicketTable::new(client, "tickets")
            .issue(&request(), "m-1")
            .await
            .unwrap_err();
        assert!(matches!(error, IssueError::UnknownEvent { .. }), "{error}");
        assert_eq!(missing.num_calls(), 1);
        let record = RecordError::from(error);
        assert!(record.is_permanent());
        assert_eq!(record.kind(), "unknown-event");

        // Had the read found the event full, it would be sold out, not unknown.
        let transact = mock!(Client::transact_write_items)
            .then_error(|| cancelled(vec![reason("None", None), reason("ConditionalCheckFailed", None)]));
        let full =
            mock!(Client::get_item).then_output(|| GetItemOutput::builder().set_item(Some(event_item(2, 2))).build());
        let client = mock_client!(aws_sdk_dynamodb, [&transact, &full]);
        let issuance = TicketTable::new(client, "tickets")
            .issue(&request(), "m-1")
            .await
            .unwrap();
        assert_eq!(issuance, Issuance::SoldOut { capacity: 2, issued: 2 });
    }

    #[tokio::test]
    async fn an_existing_ticket_without_an_item_is_read_back() {
        let transact = mock!(Client::transact_write_items)
            .then_error(|| cancelled(vec![reason("ConditionalCheckFailed", None), reason("None", None)]));
        let stored = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(serde_dynamo::to_item(TicketItem::from(&stored_ticket())).unwrap()))
                .build()
        });
        let client = mock_client!(aws_sdk_dynamodb, [&transact, &stored]);
        let issuance = TicketTable::new(client, "tickets")
            .issue(&request(), "m-2")
            .await
            .unwrap();
        assert_eq!(issuance, Issuance::AlreadyIssued(stored_ticket()));
    }

    #[tokio::test]
    async fn an_event_without_capacity_is_malformed_and_permanent() {
        let mut no_capacity = event_item(1, 0);
        no_capacity.remove("capacity");
        let transact = mock!(Client::transact_write_items).then_error(move || {
            cancelled(vec![
                reason("None", None),
                reason("ConditionalCheckFailed", Some(no_capacity.clone())),
            ])
        });
        let client = mock_client!(aws_sdk_dynamodb, [&transact]);
        let error = TicketTable::new(client, "tickets")
            .issue(&request(), "m-1")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "malformed-event", "{error}");
        assert!(error.is_permanent());
        assert!(error.to_string().contains("capacity"), "{error}");
    }
}
