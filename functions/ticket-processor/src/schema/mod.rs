//! The tickets table's key schema, and what tooling needs from it ([`seed_event`],
//! [`event_totals`], [`list_tickets`], [`parse_item`]). Nothing else spells a key.
//!
//! Single-table design, keys `pk`/`sk` (both strings). An event's seats are counted on K counter
//! items, K stored on the event (`shards`, absent = 1):
//!
//! | Item | `pk` | `sk` | Attributes |
//! |---|---|---|---|
//! | Event | `EVENT#<eventId>` | `META` | `capacity`, `shards` (K), `issued` (K = 1 only) |
//! | Counter *i* of K > 1 | `EVENT#<eventId>#SHARD#<i>` | `COUNTER` | `capacity` (its share), `issued` |
//! | Ticket, K > 1 | `EVENT#<eventId>#TICKET#<userId>` | `TICKET` | see [`Ticket`] |
//! | Ticket, K = 1 | `EVENT#<eventId>` | `TICKET#<userId>` | see [`Ticket`] |
//!
//! K = 1 is the layout every event had before sharding: the event item is its one counter and
//! its tickets share its partition. An event seeded before (no `shards`) reads as K = 1, so
//! tickets already issued stay where the one-ticket-per-user condition looks for them. With K > 1
//! every counter and every ticket has a partition key of its own: no item or partition is
//! written by more than its share of the sale. The shards' capacities sum to the event's
//! (`shard_capacities`), and K is fixed once the event is seeded.
//!
//! Ids are 1–128 characters of `[A-Za-z0-9._:-]` (`messages::TicketRequest`), never `#`, so a
//! key reads back unambiguously.

#[cfg(feature = "tooling")]
mod tooling;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

#[cfg(feature = "tooling")]
pub use tooling::{EventTotals, Seeded, ToolingError, event_totals, list_tickets, seed_event};

/// What the table holds, for the error naming a missing `TICKETS_TABLE_NAME`.
pub const TABLE_PURPOSE: &str = "the DynamoDB table holding events, their seat counters and tickets (keys pk/sk)";

/// An item as the SDK holds it.
pub type Item = HashMap<String, AttributeValue>;

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
/// Sort key of an event's item.
pub const EVENT_SK: &str = "META";
const COUNTER_SK: &str = "COUNTER";
const TICKET_SK: &str = "TICKET";
const TICKET_SK_PREFIX: &str = "TICKET#";

/// At most 99 counters: the sold-out check reads the ticket and every counter in one
/// `TransactGetItems` (100 items at most), and seeding writes the event and its counters in one
/// `TransactWriteItems` (100 actions at most).
pub const MAX_SHARDS: u32 = 99;

/// The key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    /// `{pk, sk}` as the SDK takes a key.
    pub fn to_item(&self) -> Item {
        HashMap::from([
            (PARTITION_KEY.to_owned(), AttributeValue::S(self.pk.clone())),
            (SORT_KEY.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.pk, self.sk)
    }
}

/// The event item's partition key.
pub fn event_pk(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}

/// The event item's key.
pub fn event_key(event_id: &str) -> Key {
    Key {
        pk: event_pk(event_id),
        sk: EVENT_SK.to_owned(),
    }
}

/// Where an event's seats are counted and its tickets kept: K counter shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    shards: u32,
}

impl Layout {
    /// K counters; `None` outside 1..=[`MAX_SHARDS`].
    pub fn new(shards: u32) -> Option<Self> {
        (1..=MAX_SHARDS).contains(&shards).then_some(Self { shards })
    }

    /// K = 1: the event item counts, the tickets share its partition (the layout before sharding).
    pub const fn single() -> Self {
        Self { shards: 1 }
    }

    pub const fn shards(&self) -> u32 {
        self.shards
    }

    pub fn is_single(&self) -> bool {
        self.shards == 1
    }

    /// The item counting shard `shard`'s seats: the event item itself when K = 1.
    pub fn counter_key(&self, event_id: &str, shard: u32) -> Key {
        if self.is_single() {
            return event_key(event_id);
        }
        Key {
            pk: format!("EVENT#{event_id}#SHARD#{shard}"),
            sk: COUNTER_SK.to_owned(),
        }
    }

    /// The key of `user_id`'s ticket for `event_id`.
    pub fn ticket_key(&self, event_id: &str, user_id: &str) -> Key {
        if self.is_single() {
            return Key {
                pk: event_pk(event_id),
                sk: format!("{TICKET_SK_PREFIX}{user_id}"),
            };
        }
        Key {
            pk: format!("EVENT#{event_id}#TICKET#{user_id}"),
            sk: TICKET_SK.to_owned(),
        }
    }
}

/// `capacity` split over `shards` counters as evenly as it goes: the shares sum to `capacity`.
pub fn shard_capacities(capacity: u64, shards: u32) -> Vec<u64> {
    let shards = u64::from(shards.max(1));
    (0..shards)
        .map(|i| capacity / shards + u64::from(i < capacity % shards))
        .collect()
}

/// An issued ticket, as stored (besides its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub ticket_id: String,
    pub event_id: String,
    pub user_id: String,
    /// RFC 3339, UTC, millisecond precision.
    pub issued_at: String,
    /// The SQS messageId the issuing request was first received under.
    pub message_id: String,
}

impl Ticket {
    /// The item of this ticket under `layout`.
    pub fn to_item(&self, layout: Layout) -> Result<Item, serde_dynamo::Error> {
        let mut item: Item = serde_dynamo::to_item(self)?;
        item.extend(layout.ticket_key(&self.event_id, &self.user_id).to_item());
        Ok(item)
    }

    /// A stored ticket item (its key attributes are ignored).
    pub fn from_item(item: Item) -> Result<Self, serde_dynamo::Error> {
        serde_dynamo::from_item(item)
    }
}

/// The numbers of a counter item (or of the event item when K = 1), as DynamoDB returns them.
/// Optional, so a malformed item is reported as such rather than as a deserialization error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Counter {
    pub capacity: Option<u64>,
    pub issued: Option<u64>,
}

/// The event item's attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EventItem {
    pub capacity: Option<u64>,
    pub shards: Option<u32>,
    pub issued: Option<u64>,
}

impl EventItem {
    /// The event's layout, or why its `shards` cannot be one.
    pub fn layout(&self) -> Result<Layout, String> {
        match self.shards {
            None => Ok(Layout::single()),
            Some(shards) => Layout::new(shards).ok_or_else(|| format!("shards is {shards}, outside 1..={MAX_SHARDS}")),
        }
    }
}

/// What an item of the table is, read from its key (for tooling that scans the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredItem {
    Event {
        event_id: String,
        item: EventItem,
    },
    Counter {
        event_id: String,
        shard: u32,
        counter: Counter,
    },
    Ticket(Ticket),
}

/// Reads one item of the table; `None` for an item that is none of ours or does not parse.
pub fn parse_item(item: &Item) -> Option<StoredItem> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let (pk, sk) = (text(PARTITION_KEY)?, text(SORT_KEY)?);
    let rest = pk.strip_prefix("EVENT#")?;
    match sk.as_str() {
        EVENT_SK => Some(StoredItem::Event {
            event_id: rest.to_owned(),
            item: serde_dynamo::from_item(item.clone()).ok()?,
        }),
        COUNTER_SK => {
            let (event_id, shard) = rest.rsplit_once("#SHARD#")?;
            Some(StoredItem::Counter {
                event_id: event_id.to_owned(),
                shard: shard.parse().ok()?,
                counter: serde_dynamo::from_item(item.clone()).ok()?,
            })
        }
        _ if sk == TICKET_SK || sk.starts_with(TICKET_SK_PREFIX) => {
            Ticket::from_item(item.clone()).ok().map(StoredItem::Ticket)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        Ticket {
            ticket_id: "t-1".into(),
            event_id: "e-1".into(),
            user_id: "u-1".into(),
            issued_at: "2026-11-22T10:00:00.000Z".into(),
            message_id: "m-1".into(),
        }
    }

    #[test]
    fn one_shard_keeps_the_layout_from_before_sharding() {
        let single = Layout::single();
        assert_eq!(single.counter_key("e-1", 0).to_string(), "EVENT#e-1/META");
        assert_eq!(single.ticket_key("e-1", "u-1").to_string(), "EVENT#e-1/TICKET#u-1");
        assert_eq!(
            EventItem::default().layout(),
            Ok(single),
            "an event without shards is K = 1"
        );
    }

    #[test]
    fn sharded_counters_and_tickets_have_partitions_of_their_own() {
        let layout = Layout::new(4).unwrap();
        assert_eq!(layout.counter_key("e-1", 3).to_string(), "EVENT#e-1#SHARD#3/COUNTER");
        assert_eq!(
            layout.ticket_key("e-1", "u-1").to_string(),
            "EVENT#e-1#TICKET#u-1/TICKET"
        );
        assert_eq!(Layout::new(0), None);
        assert_eq!(Layout::new(MAX_SHARDS + 1), None);
        let bad = EventItem {
            shards: Some(0),
            ..EventItem::default()
        };
        assert!(bad.layout().unwrap_err().contains("outside 1..=99"));
    }

    #[test]
    fn shard_capacities_sum_to_the_capacity() {
        assert_eq!(shard_capacities(10, 4), [3, 3, 2, 2]);
        assert_eq!(shard_capacities(2, 4), [1, 1, 0, 0]);
        assert_eq!(shard_capacities(7, 1), [7]);
        for (capacity, shards) in [(0, 3), (1000, 7), (99_999, 99)] {
            assert_eq!(shard_capacities(capacity, shards).iter().sum::<u64>(), capacity);
        }
    }

    #[test]
    fn every_item_reads_back_from_its_key() {
        for layout in [Layout::single(), Layout::new(8).unwrap()] {
            let item = ticket().to_item(layout).unwrap();
            assert_eq!(parse_item(&item), Some(StoredItem::Ticket(ticket())));
        }
        let mut counter = Layout::new(8).unwrap().counter_key("e:1.x", 7).to_item();
        counter.insert("capacity".into(), AttributeValue::N("5".into()));
        counter.insert("issued".into(), AttributeValue::N("2".into()));
        assert_eq!(
            parse_item(&counter),
            Some(StoredItem::Counter {
                event_id: "e:1.x".into(),
                shard: 7,
                counter: Counter {
                    capacity: Some(5),
                    issued: Some(2)
                },
            })
        );
        let mut event = event_key("e-1").to_item();
        event.insert("capacity".into(), AttributeValue::N("5".into()));
        event.insert("shards".into(), AttributeValue::N("8".into()));
        assert!(matches!(
            parse_item(&event),
            Some(StoredItem::Event { event_id, item }) if event_id == "e-1" && item.shards == Some(8)
        ));
        let mut foreign = event_key("e-1").to_item();
        foreign.insert("sk".into(), AttributeValue::S("OTHER".into()));
        assert_eq!(parse_item(&foreign), None);
    }
}
