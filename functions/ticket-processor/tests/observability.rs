//! What ticket-processor tells an operator, checked against moto: the EMF lines of a run add up
//! to what the tables and queues hold, and a notification carries its request's trace header.

use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use messages::NotificationKind;
use moto_harness::unique_name;
use serde_json::{Value, json};
use shared::metrics::lines::{EmfLine, Totals};
use shared::metrics::{Metrics, batch};
use shared::testing::{CapturedLogs, event, invocation_context, message, sent_ago, with_attribute};
use ticket_processor::metrics::{ALL, ALREADY_ISSUED, SOLD_OUT, TICKETS_ISSUED, TIME_TO_TICKET};
use ticket_processor::testing::{Stack, body};

const TRACE_HEADER: &str = "Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad;Sampled=1";

#[tokio::test]
async fn the_emf_lines_of_a_run_add_up_to_what_the_tables_and_queues_hold() {
    let stack = Stack::new().await;
    let event_id = unique_name("gig");
    stack.seed_event(&event_id, 3).await;
    let captured = CapturedLogs::new();
    let writer = captured.clone();
    let metrics = Metrics::to_writer("ticket-processor", ALL, move || writer.clone());
    let batch_processor = stack.batch().with_metrics(metrics);
    let handler = stack.idempotency().wrap(stack.processor());
    let waited = Duration::from_secs(2);

    // Three people for three seats, a poison message and a request for an event that does not
    // exist yet; then two more people, a producer duplicate of fan-0's request, SQS delivering
    // m-1 again, and dlq-redrive's copy of the early request once its event exists.
    let late_event = unique_name("late");
    let mut first: Vec<Value> = (0..3)
        .map(|i| {
            sent_ago(
                message(&format!("m-{i}"), &body(&event_id, &format!("fan-{i}"))),
                waited,
            )
        })
        .collect();
    first.push(sent_ago(message("m-poison", "not json"), waited));
    first.push(sent_ago(message("m-late", &body(&late_event, "fan-9")), waited));
    let response = batch_processor
        .process(event(first), &invocation_context("r-1"), &handler)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    stack.seed_event(&late_event, 1).await;
    let copy = with_attribute(
        sent_ago(message("m-copy", &body(&late_event, "fan-9")), waited),
        "original-message-id",
        "m-late",
    );
    let second = event([
        sent_ago(message("m-3", &body(&event_id, "fan-3")), waited),
        sent_ago(message("m-4", &body(&event_id, "fan-4")), waited),
        sent_ago(message("m-dup", &body(&event_id, "fan-0")), waited),
        sent_ago(message("m-1", &body(&event_id, "fan-1")), waited),
        copy,
    ]);
    batch_processor
        .process(second, &invocation_context("r-2"), &handler)
        .await
        .unwrap();

    let lines = EmfLine::parse_all(&captured.text());
    assert_eq!(lines.len(), 2, "one line per invocation:\n{}", captured.text());
    let totals = Totals::of(&lines);
    let sum = |name: &str| totals.sum("ticket-processor", name) as usize;

    let tickets = stack.tickets(&event_id).await.len() + stack.tickets(&late_event).await.len();
    let notifications = stack.notifications().await;
    let of_kind = |kind| notifications.iter().filter(|n| n.notification.kind == kind).count();
    let dead_letters = stack.dead_letters().await;
    assert_eq!(sum(TICKETS_ISSUED.name()), tickets);
    assert_eq!(tickets, 4);
    assert_eq!(sum(SOLD_OUT.name()), of_kind(NotificationKind::SoldOut));
    assert_eq!(sum(SOLD_OUT.name()), 2);
    assert_eq!(sum(ALREADY_ISSUED.name()), 1, "m-dup");
    assert_eq!(
        sum(TICKETS_ISSUED.name()) + sum(ALREADY_ISSUED.name()),
        of_kind(NotificationKind::TicketIssued)
    );
    assert_eq!(sum(batch::DEAD_LETTERED.name()), dead_letters.len());
    assert_eq!(dead_letters.len(), 2, "the poison and the early request");
    assert_eq!(sum(batch::DUPLICATES.name()), 1, "m-1 again");
    assert_eq!(sum(batch::RECORDS.name()), 10);
    assert_eq!(sum(batch::FAILED.name()), 0);
    assert_eq!(sum("ColdStart"), 1);

    // One time to ticket per ticket issued but the redriven copy's, each at least the two
    // seconds the message waited.
    assert_eq!(totals.samples("ticket-processor", TIME_TO_TICKET.name()), 3);
    for line in &lines {
        if let Some((unit, points)) = line.metrics.get(TIME_TO_TICKET.name()) {
            assert_eq!(unit, "Milliseconds");
            for (ms, _) in points {
                assert!((2000.0..62_000.0).contains(ms), "time to ticket {ms} ms");
            }
        }
    }
}

#[tokio::test]
async fn the_notification_carries_the_trace_header_of_its_request() {
    let stack = Stack::new().await;
    let event_id = unique_name("traced");
    stack.seed_event(&event_id, 1).await;
    let mut traced = message("m-traced", &body(&event_id, "fan-1"));
    traced["attributes"]["AWSTraceHeader"] = json!(TRACE_HEADER);
    let untraced = message("m-untraced", &body(&event_id, "fan-2"));
    let handler = stack.idempotency().wrap(stack.processor());
    stack
        .batch()
        .run(event([traced, untraced]), shared::Deadline::NONE, &handler)
        .await
        .unwrap();

    let received = stack.drain(&stack.notification_queue_url).await;
    assert_eq!(received.len(), 2);
    for message in received {
        let notification: messages::Notification = serde_json::from_str(message.body().unwrap()).unwrap();
        let header = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::AwsTraceHeader))
            .map(String::as_str);
        match notification.user_id.as_str() {
            "fan-1" => assert_eq!(header, Some(TRACE_HEADER)),
            _ => assert_eq!(header, None, "no header in, none out"),
        }
    }
}
