//! Issuing a ticket: at most one per user and event, never more than the event's seats, the
//! same outcome on every redelivery.
//!
//! A request reads its event's layout (K counters, [`crate::schema`]; once per execution
//! environment), then tries counters in random order, one transaction each (`attempt`): put the
//! ticket if absent and take a seat from that counter. A counter that refuses is exhausted for
//! good and the next one is tried; "sold out" is answered only when every counter refused in this
//! request's own transactions, or a snapshot of all of them confirms it (`sold_out`).
//!
//! Contention is handled here (`contention`): a transaction cancelled by `TransactionConflict`
//! or throttling is tried again after a decorrelated-jitter pause, on another random counter,
//! until the invocation's deadline minus the batch margin; only then does the record fail
//! (retryable), to come back after its retry delay.

mod attempt;
mod cancellation;
mod contention;
mod error;
mod inventory;
mod reads;
mod sold_out;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_dynamodb::Client;
use aws_smithy_types::date_time::{DateTime, Format};
use messages::TicketRequest;
use shared::Deadline;
use shared::metrics::Recorder;

use crate::schema::Layout;
pub use crate::schema::Ticket;
pub use contention::{Contention, ContentionRetry};
pub use error::{IssueError, Problem};

use contention::Budget;
use error::Context;
use inventory::{Inventory, Seats, ShardSearch};

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

/// What one step of a request found.
#[derive(Debug)]
enum Step {
    Done(Issuance),
    /// The counter has no seats left (it refused, the ticket being absent).
    Exhausted(u32, Seats),
    /// The sold-out snapshot found seats on counters thought exhausted.
    Reopened(Vec<u32>),
    /// Worth trying again after a pause.
    Contention(Contention),
    Failed(IssueError),
}

/// The tickets table. Cheap to clone; clones share what they know of events' layouts.
#[derive(Debug, Clone)]
pub struct TicketTable {
    client: Client,
    table: String,
    retry: ContentionRetry,
    inventory: Arc<Inventory>,
}

impl TicketTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            retry: ContentionRetry::default(),
            inventory: Arc::default(),
        }
    }

    /// How long contended requests keep trying.
    pub fn with_contention_retry(mut self, retry: ContentionRetry) -> Self {
        self.retry = retry;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Issue `request.user_id` a ticket for `request.event_id`, at most once and within capacity.
    /// `message_id` is recorded on a ticket this call writes; contention is retried until
    /// `deadline` minus the retry's margin, and every conflict and throttle it met is counted on
    /// `metrics` (retried away or not).
    pub async fn issue(
        &self,
        request: &TicketRequest,
        message_id: &str,
        deadline: Deadline,
        metrics: &Recorder,
    ) -> Result<Issuance, IssueError> {
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
        let mut budget = self.retry.budget(deadline);
        let result = match self.read_layout(&context, &mut budget).await {
            Ok(layout) => self.take_seat(&ticket, layout, &context, &mut budget).await,
            Err(error) => Err(error),
        };
        if budget.contended() {
            crate::metrics::count_contention(metrics, budget.conflicts, budget.throttles);
            tracing::info!(
                event_id = context.event_id,
                conflicts = budget.conflicts,
                throttles = budget.throttles,
                elapsed_ms = budget.elapsed().as_millis() as u64,
                done = result.is_ok(),
                "ticket transaction contended"
            );
        }
        result
    }

    async fn read_layout(&self, context: &Context<'_>, budget: &mut Budget) -> Result<Layout, IssueError> {
        loop {
            match self.layout(context).await {
                Ok(layout) => return Ok(layout),
                Err(Step::Contention(contention)) => budget.wait(contention, context).await?,
                Err(Step::Failed(error)) => return Err(error),
                Err(other) => unreachable!("reading a layout ends in {other:?}"),
            }
        }
    }

    /// Counters in random order until one gives a seat, the ticket turns out to exist, every
    /// counter is confirmed full, or the budget runs out.
    async fn take_seat(
        &self,
        ticket: &Ticket,
        layout: Layout,
        context: &Context<'_>,
        budget: &mut Budget,
    ) -> Result<Issuance, IssueError> {
        let mut search = ShardSearch::new(layout, self.inventory.exhausted(context.event_id));
        loop {
            let step = match (search.next_shard(), search.sold_out()) {
                (Some(shard), _) => self.attempt(ticket, layout, shard, context).await,
                (None, Some(seats)) => Step::Done(Issuance::SoldOut {
                    capacity: seats.capacity,
                    issued: seats.issued,
                }),
                (None, None) => self.confirm_sold_out(layout, context).await,
            };
            match step {
                Step::Done(issuance) => return Ok(issuance),
                Step::Failed(error) => return Err(error),
                Step::Exhausted(shard, seats) => {
                    search.refused(shard, seats);
                    self.inventory.mark_exhausted(context.event_id, shard);
                }
                Step::Reopened(shards) => {
                    search.reopen(&shards);
                    self.inventory.reopen(context.event_id, &shards);
                    budget.wait(Contention::Conflict, context).await?;
                }
                Step::Contention(contention) => budget.wait(contention, context).await?,
            }
        }
    }
}

fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    DateTime::from_millis(now.as_millis() as i64)
        .fmt(Format::DateTime)
        .expect("the current time is within RFC 3339's range")
}
