//! Events whose seats are counted on K counters, against moto: capacity holds under concurrency,
//! every ticket and counter has its own partition, sold out is answered only when every counter
//! is full (also from what another invocation saw), and an event seeded before sharding keeps its
//! tickets.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use moto_harness::unique_name;
use shared::testing::{event, message};
use shared::{Deadline, RecordHandler, RecordStatus};
use ticket_processor::schema::{self, EventTotals, Layout, StoredItem, parse_item};
use ticket_processor::testing::{Stack, assert_nothing_retried, body, record};
use ticket_processor::{Processed, TicketOutcome};

#[tokio::test]
async fn eleven_users_on_seven_seats_over_three_counters_get_seven_tickets() {
    let stack = Stack::new().await;
    let event_id = unique_name("festival");
    stack.seed_sharded_event(&event_id, 7, 3).await;
    let batch = event((0..11).map(|i| message(&format!("m-{i}"), &body(&event_id, &format!("user-{i}")))));
    let handler = stack.idempotency().wrap(stack.processor());

    let outcome = stack.batch().run(batch, Deadline::NONE, &handler).await.unwrap();

    assert_nothing_retried(&outcome);
    assert!(outcome.results.iter().all(|(_, s)| *s == RecordStatus::Processed));
    let tickets = stack.tickets(&event_id).await;
    assert_eq!(tickets.len(), 7, "{tickets:?}");
    let users: BTreeSet<&str> = tickets.iter().map(|t| t.user_id.as_str()).collect();
    assert_eq!(users.len(), 7, "one ticket per user");
    let totals = schema::event_totals(&stack.dynamodb, &stack.tickets_table, &event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        totals,
        EventTotals {
            capacity: 7,
            issued: 7,
            shards: 3
        }
    );
    let notifications = stack.notifications().await;
    assert_eq!(notifications.len(), 11);

    // Each counter holds its share, full; each ticket and counter is a partition of its own.
    let mut partitions = BTreeSet::new();
    for item in stack.items().await {
        let pk = item["pk"].as_s().unwrap().clone();
        assert!(partitions.insert(pk.clone()), "{pk} holds two items");
        if let Some(StoredItem::Counter { counter, .. }) = parse_item(&item) {
            assert_eq!(counter.issued, counter.capacity, "{pk}");
        }
    }
    assert_eq!(partitions.len(), 1 + 3 + 7, "the event, its counters, its tickets");
}

#[tokio::test]
async fn sold_out_and_duplicates_are_answered_the_same_by_a_later_invocation() {
    let stack = Stack::new().await;
    let event_id = unique_name("festival");
    stack.seed_sharded_event(&event_id, 2, 2).await;
    let first = stack.idempotency().wrap(stack.processor());
    let request = |message_id: &str, user: &str| record(message_id, &body(&event_id, user));
    for (message_id, user) in [("m-1", "holder-1"), ("m-2", "holder-2")] {
        let processed: Processed = first.handle(request(message_id, user)).await.unwrap().into_value();
        assert_eq!(processed.outcome, TicketOutcome::Issued);
    }
    // The first invocation sees both counters refuse; a later one (another environment: nothing
    // known) does too; the first one again confirms from its memory with one snapshot.
    let late: Processed = first.handle(request("m-3", "late-1")).await.unwrap().into_value();
    assert_eq!(late.outcome, TicketOutcome::SoldOut);
    let other = stack.idempotency().wrap(stack.processor());
    let late: Processed = other.handle(request("m-4", "late-2")).await.unwrap().into_value();
    assert_eq!(late.outcome, TicketOutcome::SoldOut);
    let again: Processed = first.handle(request("m-5", "late-3")).await.unwrap().into_value();
    assert_eq!(again.outcome, TicketOutcome::SoldOut);
    // A holder's duplicate request after the sell-out still gets its ticket back.
    let duplicate: Processed = first.handle(request("m-6", "holder-2")).await.unwrap().into_value();
    assert_eq!(duplicate.outcome, TicketOutcome::AlreadyIssued);
    assert_eq!(stack.issued(&event_id).await, 2);
    assert_eq!(stack.tickets(&event_id).await.len(), 2);
}

/// An event created before sharding: an event item without `shards`, tickets in its partition.
/// After the upgrade it reads as K = 1, so a holder's new request finds the old ticket (not a
/// second one under a new key), and new tickets join the old ones.
#[tokio::test]
async fn an_event_seeded_before_sharding_keeps_its_tickets_and_one_ticket_per_user() {
    let stack = Stack::new().await;
    let event_id = unique_name("legacy");
    let single = Layout::single();
    let mut event = schema::event_key(&event_id).to_item();
    event.insert("capacity".into(), AttributeValue::N("3".into()));
    event.insert("issued".into(), AttributeValue::N("1".into()));
    let old_ticket = ticket_processor::Ticket {
        ticket_id: "t-before-upgrade".into(),
        event_id: event_id.clone(),
        user_id: "early-fan".into(),
        issued_at: "2026-01-01T00:00:00.000Z".into(),
        message_id: "m-old".into(),
    };
    for item in [event, old_ticket.to_item(single).unwrap()] {
        stack
            .dynamodb
            .put_item()
            .table_name(&stack.tickets_table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let handler = stack.idempotency().wrap(stack.processor());

    let again: Processed = handler
        .handle(record("m-again", &body(&event_id, "early-fan")))
        .await
        .unwrap()
        .into_value();
    let new: Processed = handler
        .handle(record("m-new", &body(&event_id, "new-fan")))
        .await
        .unwrap()
        .into_value();

    assert_eq!(again.outcome, TicketOutcome::AlreadyIssued);
    assert_eq!(again.ticket_id.as_deref(), Some("t-before-upgrade"));
    assert_eq!(new.outcome, TicketOutcome::Issued);
    assert_eq!(stack.issued(&event_id).await, 2);
    let users: BTreeSet<String> = stack.tickets(&event_id).await.into_iter().map(|t| t.user_id).collect();
    assert_eq!(users, BTreeSet::from(["early-fan".to_owned(), "new-fan".to_owned()]));
}

#[tokio::test]
async fn seeding_refuses_to_touch_an_existing_event_and_checks_its_arguments() {
    let stack = Stack::new().await;
    let event_id = unique_name("festival");
    stack.seed_sharded_event(&event_id, 10, 4).await;
    let again = schema::seed_event(&stack.dynamodb, &stack.tickets_table, &event_id, 99, 2)
        .await
        .unwrap();
    assert_eq!(again, schema::Seeded::AlreadyExists);
    let totals = schema::event_totals(&stack.dynamodb, &stack.tickets_table, &event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((totals.capacity, totals.shards), (10, 4), "left unchanged");
    for (id, capacity, shards, mentions) in [
        ("bad id", 10, 1, "1-128 characters"),
        ("e-1", 10, 0, "1..=99"),
        ("e-1", 3, 4, "a shard would have none"),
    ] {
        let error = schema::seed_event(&stack.dynamodb, &stack.tickets_table, id, capacity, shards)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(mentions), "{error}");
    }
    assert_eq!(
        schema::event_totals(&stack.dynamodb, &stack.tickets_table, "never-seeded")
            .await
            .unwrap(),
        None
    );
}
