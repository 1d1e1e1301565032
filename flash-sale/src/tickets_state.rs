//! Everything the flash sale reads or writes in the tickets table, in one place: seeding the
//! event, the key of a person's ticket (to find its write in the proxy's record), and the table's
//! state at the end. It knows the table's layout only through what ticket-processor's library
//! exports (`event_pk`, `ticket_sk`, `EVENT_SK`, `Ticket`), so a change of layout in
//! ticket-processor is repointed here and nowhere else.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use emulation::call::{ItemKey, KeyPart};
use ticket_processor::Ticket;
use ticket_processor::tickets::{EVENT_SK, event_pk, ticket_sk};

/// The table's key attributes.
const PARTITION_KEY: &str = "pk";
const SORT_KEY: &str = "sk";

/// Create the event with `seats` seats, none issued.
pub async fn seed_event(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    event_id: &str,
    seats: u64,
) -> Result<(), String> {
    dynamodb
        .put_item()
        .table_name(table)
        .item(PARTITION_KEY, AttributeValue::S(event_pk(event_id)))
        .item(SORT_KEY, AttributeValue::S(EVENT_SK.to_owned()))
        .item("capacity", AttributeValue::N(seats.to_string()))
        .item("issued", AttributeValue::N("0".to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "seeding {event_id} in {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })
}

/// The key of `user_id`'s ticket for `event_id`, as a write of it appears in the proxy's record.
pub fn ticket_key(table: &str, event_id: &str, user_id: &str) -> ItemKey {
    ItemKey {
        table: table.to_owned(),
        partition: KeyPart::string(PARTITION_KEY, &event_pk(event_id)),
        sort: Some(KeyPart::string(SORT_KEY, &ticket_sk(user_id))),
    }
}

/// The event's state at the end of a sale.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventState {
    pub tickets: Vec<Ticket>,
    /// The event's own counters, as stored.
    pub capacity: Option<u64>,
    pub issued: Option<u64>,
}

/// Every ticket of `event_id` and the event's counters (a consistent scan of the table).
pub async fn read(dynamodb: &aws_sdk_dynamodb::Client, table: &str, event_id: &str) -> Result<EventState, String> {
    let mut state = EventState::default();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    let partition = AttributeValue::S(event_pk(event_id));
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| format!("Scan of {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        for item in page.items() {
            if item.get(PARTITION_KEY) != Some(&partition) {
                continue;
            }
            if item.get(SORT_KEY) == Some(&AttributeValue::S(EVENT_SK.to_owned())) {
                let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
                state.capacity = number("capacity");
                state.issued = number("issued");
            } else if let Ok(ticket) = serde_dynamo::from_item::<_, Ticket>(item.clone()) {
                state.tickets.push(ticket);
            }
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(state),
        }
    }
}
