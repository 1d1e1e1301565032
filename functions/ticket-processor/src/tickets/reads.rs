//! The strongly consistent reads issuing needs besides its transaction: the event's layout
//! (once per execution environment and event), and the rare confirmations of a cancellation that
//! returned no item.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;

use super::attempt::{existing_ticket, refused, sdk_failure};
use super::error::{Context, Problem};
use super::{Contention, Step, TicketTable};
use crate::schema::{EventItem, Item, Key, Layout, event_key};

impl TicketTable {
    /// The event's layout: remembered, or read from its item. An event without an item is
    /// unknown; one without a numeric capacity, a valid `shards`, or (K = 1) a numeric `issued`
    /// is malformed.
    pub(super) async fn layout(&self, context: &Context<'_>) -> Result<Layout, Step> {
        if let Some(layout) = self.inventory.layout(context.event_id) {
            return Ok(layout);
        }
        let key = event_key(context.event_id);
        let item = match self.get(&key).await {
            Ok(Some(item)) => item,
            Ok(None) => {
                return Err(Step::Failed(
                    context.error(Problem::UnknownEvent { key: key.to_string() }),
                ));
            }
            Err(error) => return Err(sdk_failure(context, "GetItem (event)", &error)),
        };
        let malformed =
            |reason: String| Step::Failed(context.error(Problem::MalformedEvent(format!("{key}: {reason}"))));
        let event: EventItem = serde_dynamo::from_item(item)
            .map_err(|e| malformed(format!("capacity, shards and issued must be non-negative numbers: {e}")))?;
        let layout = event.layout().map_err(malformed)?;
        if event.capacity.is_none() {
            return Err(malformed("no numeric capacity".into()));
        }
        if layout.is_single() && event.issued.is_none() {
            return Err(malformed("no numeric issued (seed it with 0)".into()));
        }
        self.inventory.remember(context.event_id, layout);
        Ok(layout)
    }

    /// DynamoDB said the ticket exists without returning it: read it. If it is gone again, the
    /// transaction is simply tried again.
    pub(super) async fn read_ticket(&self, layout: Layout, context: &Context<'_>) -> Step {
        match self.get(&layout.ticket_key(context.event_id, context.user_id)).await {
            Ok(Some(item)) => existing_ticket(item, context),
            Ok(None) => Step::Contention(Contention::Conflict),
            Err(error) => sdk_failure(context, "GetItem (ticket)", &error),
        }
    }

    /// The counter refused the seat and returned no item: it should not exist. When K = 1 the
    /// counter is the event item (deleted since it was read: the event is unknown); otherwise
    /// the event is missing a counter.
    pub(super) async fn confirm_counter(&self, layout: Layout, shard: u32, context: &Context<'_>) -> Step {
        let key = layout.counter_key(context.event_id, shard);
        match self.get(&key).await {
            Ok(Some(item)) => refused(layout, shard, item, context),
            Ok(None) => self.missing_counter(layout, &key, context),
            Err(error) => sdk_failure(context, "GetItem (counter)", &error),
        }
    }

    pub(super) fn missing_counter(&self, layout: Layout, key: &Key, context: &Context<'_>) -> Step {
        if layout.is_single() {
            self.inventory.forget(context.event_id);
            return Step::Failed(context.error(Problem::UnknownEvent { key: key.to_string() }));
        }
        Step::Failed(context.error(Problem::MalformedEvent(format!(
            "its event item says {} counters, and {key} is missing",
            layout.shards()
        ))))
    }

    async fn get(&self, key: &Key) -> Result<Option<Item>, SdkError<GetItemError>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }
}
