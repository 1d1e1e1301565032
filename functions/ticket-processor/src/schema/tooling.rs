//! What tooling does with the tickets table (the local stack, the chaos run, the benchmarks, an
//! operator): seed an event, read its totals, list its tickets. The worker itself never lists.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};

use super::{Counter, EventItem, Item, Layout, MAX_SHARDS, Ticket, event_key, event_pk, shard_capacities};

#[derive(Debug, thiserror::Error)]
pub enum ToolingError {
    #[error("event {event_id}: {reason}")]
    Invalid { event_id: String, reason: String },
    #[error("{operation} on table {table} failed: {reason}")]
    Call {
        operation: &'static str,
        table: String,
        reason: String,
    },
    #[error("event {event_id} in table {table} is malformed: {reason}")]
    Malformed {
        event_id: String,
        table: String,
        reason: String,
    },
}

fn malformed(table: &str, event_id: &str, reason: String) -> ToolingError {
    ToolingError::Malformed {
        event_id: event_id.to_owned(),
        table: table.to_owned(),
        reason,
    }
}

fn call(operation: &'static str, table: &str) -> impl FnOnce(&dyn std::error::Error) -> ToolingError {
    move |error| ToolingError::Call {
        operation,
        table: table.to_owned(),
        reason: shared::error_chain(error),
    }
}

/// Whether [`seed_event`] created the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    Created,
    /// The event existed; nothing was changed (re-seeding a live event would reset its counts
    /// and let it sell its seats again).
    AlreadyExists,
}

/// Create `event_id` with `capacity` seats counted on `shards` counters, all at once (one
/// `TransactWriteItems` when K > 1), unless it exists. K = 1 writes the event item alone, in the
/// layout from before sharding. `shards` must lie in 1..=[`MAX_SHARDS`] and not exceed the seats.
pub async fn seed_event(
    client: &Client,
    table: &str,
    event_id: &str,
    capacity: u64,
    shards: u32,
) -> Result<Seeded, ToolingError> {
    let invalid = |reason: String| ToolingError::Invalid {
        event_id: event_id.to_owned(),
        reason,
    };
    if !messages::is_valid_id(event_id) {
        return Err(invalid("an event id is 1-128 characters of [A-Za-z0-9._:-]".into()));
    }
    let layout = Layout::new(shards).ok_or_else(|| invalid(format!("shards must lie in 1..={MAX_SHARDS}")))?;
    if u64::from(shards) > capacity.max(1) {
        return Err(invalid(format!(
            "{shards} shards for {capacity} seats: a shard would have none"
        )));
    }
    let number = |n: u64| AttributeValue::N(n.to_string());
    let mut event = event_key(event_id).to_item();
    event.insert("capacity".into(), number(capacity));
    event.insert("shards".into(), number(u64::from(shards)));
    let mut items = Vec::new();
    if layout.is_single() {
        event.insert("issued".into(), number(0));
    } else {
        for (shard, share) in (0..shards).zip(shard_capacities(capacity, shards)) {
            let mut counter = layout.counter_key(event_id, shard).to_item();
            counter.insert("capacity".into(), number(share));
            counter.insert("issued".into(), number(0));
            items.push(counter);
        }
    }
    items.insert(0, event);
    let puts = items.into_iter().map(|item| {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    });
    let result = client
        .transact_write_items()
        .set_transact_items(Some(puts.collect()))
        .send()
        .await;
    let Err(error) = result else {
        return Ok(Seeded::Created);
    };
    let exists = match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .first()
            .is_some_and(|event_reason| event_reason.code() == Some("ConditionalCheckFailed")),
        _ => false,
    };
    if exists {
        return Ok(Seeded::AlreadyExists);
    }
    Err(call("TransactWriteItems (seed)", table)(&error))
}

/// An event's seats and how many are issued, summed over its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTotals {
    pub capacity: u64,
    pub issued: u64,
    pub shards: u32,
}

/// The event's totals (`None`: no such event), from strongly consistent reads of the event and
/// its counters. The counters are read one `BatchGetItem` at a time, not as one snapshot, which
/// would cancel the sale's concurrent transactions: under load the sum is of moments a few
/// milliseconds apart; at rest it is exact.
pub async fn event_totals(client: &Client, table: &str, event_id: &str) -> Result<Option<EventTotals>, ToolingError> {
    let Some((event, layout)) = read_event(client, table, event_id).await? else {
        return Ok(None);
    };
    let malformed = |reason: String| malformed(table, event_id, reason);
    let capacity = event.capacity.ok_or_else(|| malformed("no numeric capacity".into()))?;
    if layout.is_single() {
        let issued = event.issued.ok_or_else(|| malformed("no numeric issued".into()))?;
        return Ok(Some(EventTotals {
            capacity,
            issued,
            shards: 1,
        }));
    }
    let (mut shard_capacity, mut issued) = (0, 0);
    for (shard, counter) in read_counters(client, table, event_id, layout)
        .await?
        .into_iter()
        .enumerate()
    {
        let counter = counter.ok_or_else(|| malformed(format!("counter {shard} is missing")))?;
        let (Some(share), Some(count)) = (counter.capacity, counter.issued) else {
            return Err(malformed(format!("counter {shard} has no numeric capacity and issued")));
        };
        shard_capacity += share;
        issued += count;
    }
    if shard_capacity != capacity {
        return Err(malformed(format!(
            "its counters hold {shard_capacity} seats, not its capacity {capacity}"
        )));
    }
    Ok(Some(EventTotals {
        capacity,
        issued,
        shards: layout.shards(),
    }))
}

/// Every ticket of the event, read strongly consistently: one `Query` of the event's partition
/// when K = 1; a `Scan` when K > 1, since every ticket has a partition of its own (tooling only:
/// a scan reads the whole table).
pub async fn list_tickets(client: &Client, table: &str, event_id: &str) -> Result<Vec<Ticket>, ToolingError> {
    let Some((_, layout)) = read_event(client, table, event_id).await? else {
        return Ok(Vec::new());
    };
    let mut tickets = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let (items, next) = if layout.is_single() {
            let page = client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :ticket)")
                .expression_attribute_values(":pk", AttributeValue::S(event_pk(event_id)))
                .expression_attribute_values(":ticket", AttributeValue::S(super::TICKET_SK_PREFIX.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call("Query (tickets)", table)(&e))?;
            (page.items.unwrap_or_default(), page.last_evaluated_key)
        } else {
            let prefix = layout.ticket_key(event_id, "").pk;
            let page = client
                .scan()
                .table_name(table)
                .filter_expression("begins_with(pk, :prefix) AND sk = :ticket")
                .expression_attribute_values(":prefix", AttributeValue::S(prefix))
                .expression_attribute_values(":ticket", AttributeValue::S(super::TICKET_SK.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call("Scan (tickets)", table)(&e))?;
            (page.items.unwrap_or_default(), page.last_evaluated_key)
        };
        for item in items {
            tickets.push(
                Ticket::from_item(item)
                    .map_err(|e| malformed(table, event_id, format!("a ticket does not read back: {e}")))?,
            );
        }
        match next {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(tickets),
        }
    }
}

async fn read_event(client: &Client, table: &str, event_id: &str) -> Result<Option<(EventItem, Layout)>, ToolingError> {
    let output = client
        .get_item()
        .table_name(table)
        .set_key(Some(event_key(event_id).to_item()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| call("GetItem (event)", table)(&e))?;
    let Some(item) = output.item else {
        return Ok(None);
    };
    let malformed = |reason: String| malformed(table, event_id, reason);
    let event: EventItem = serde_dynamo::from_item(item).map_err(|e| malformed(e.to_string()))?;
    let layout = event.layout().map_err(malformed)?;
    Ok(Some((event, layout)))
}

/// Each counter of a sharded event, in shard order (`None`: missing).
async fn read_counters(
    client: &Client,
    table: &str,
    event_id: &str,
    layout: Layout,
) -> Result<Vec<Option<Counter>>, ToolingError> {
    let keys: Vec<Item> = (0..layout.shards())
        .map(|shard| layout.counter_key(event_id, shard).to_item())
        .collect();
    let mut found: Vec<Item> = Vec::new();
    let mut pending = keys.clone();
    while !pending.is_empty() {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(pending))
            .consistent_read(true)
            .build()
            .expect("keys are set");
        let output = client
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(|e| call("BatchGetItem (counters)", table)(&e))?;
        found.extend(output.responses.and_then(|mut r| r.remove(table)).unwrap_or_default());
        pending = output
            .unprocessed_keys
            .and_then(|mut u| u.remove(table))
            .map(|k| k.keys)
            .unwrap_or_default();
    }
    Ok(keys
        .iter()
        .map(|key| {
            found
                .iter()
                .find(|item| item.get("pk") == key.get("pk"))
                .and_then(|item| serde_dynamo::from_item(item.clone()).ok())
        })
        .collect())
}
