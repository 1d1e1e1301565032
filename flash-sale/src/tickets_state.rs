//! Everything the flash sale reads or writes in the tickets table, in one place: seeding the
//! event on K counters, the key of a person's ticket (to find its write in the proxy's record),
//! and the table's state at the end. It knows the table's layout only through
//! `ticket_processor::schema`, the one module that spells it.

use emulation::call::{ItemKey, KeyPart};
use ticket_processor::Ticket;
use ticket_processor::schema::{self, Layout, PARTITION_KEY, SORT_KEY, Seeded};

/// Create the event with `seats` seats over `shards` counters, none issued.
pub async fn seed_event(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    event_id: &str,
    seats: u64,
    shards: u32,
) -> Result<(), String> {
    match schema::seed_event(dynamodb, table, event_id, seats, shards).await {
        Ok(Seeded::Created) => Ok(()),
        Ok(Seeded::AlreadyExists) => Err(format!("seeding {event_id} in {table}: the event already exists")),
        Err(error) => Err(format!("seeding {event_id} in {table}: {error}")),
    }
}

/// The key of `user_id`'s ticket for `event_id` on an event of `shards` counters, as a write of
/// it appears in the proxy's record.
pub fn ticket_key(table: &str, event_id: &str, user_id: &str, shards: u32) -> ItemKey {
    let key = Layout::new(shards)
        .unwrap_or(Layout::single())
        .ticket_key(event_id, user_id);
    ItemKey {
        table: table.to_owned(),
        partition: KeyPart::string(PARTITION_KEY, &key.pk),
        sort: Some(KeyPart::string(SORT_KEY, &key.sk)),
    }
}

/// The event's state at the end of a sale.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventState {
    pub tickets: Vec<Ticket>,
    /// The event's capacity and the seats issued over all its counters, as stored.
    pub capacity: Option<u64>,
    pub issued: Option<u64>,
    /// K, the event's counters.
    pub shards: u32,
}

/// Every ticket of `event_id` and the event's totals (strongly consistent reads, at rest).
pub async fn read(dynamodb: &aws_sdk_dynamodb::Client, table: &str, event_id: &str) -> Result<EventState, String> {
    let totals = schema::event_totals(dynamodb, table, event_id)
        .await
        .map_err(|e| format!("reading {event_id}'s counters in {table}: {e}"))?;
    let tickets = schema::list_tickets(dynamodb, table, event_id)
        .await
        .map_err(|e| format!("listing {event_id}'s tickets in {table}: {e}"))?;
    Ok(EventState {
        tickets,
        capacity: totals.map(|t| t.capacity),
        issued: totals.map(|t| t.issued),
        shards: totals.map_or(1, |t| t.shards),
    })
}
