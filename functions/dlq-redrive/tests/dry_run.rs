//! Dry runs against moto's SQS: counts and a sample, nothing moved, everything visible again.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::*;
use dlq_redrive::report::{StopReason, Verdict};
use serde_json::json;
use shared::Deadline;

#[tokio::test]
async fn an_empty_request_is_a_dry_run_of_every_dlq_that_moves_nothing() {
    let sqs = sqs().await;
    let ticket = route(&sqs, "ticket", false).await;
    let notification = route(&sqs, "notification", true).await;
    for i in 0..2 {
        let attributes = dead_letter_attributes("malformed-body", &format!("o{i}"));
        seed(&sqs, &ticket.dlq_url, &format!(r#"{{"seq":{i}}}"#), attributes, None).await;
    }
    seed(&sqs, &ticket.dlq_url, "exhausted", HashMap::new(), None).await;
    let tired = HashMap::from([("redrive-count".to_owned(), number("3"))]);
    let parked = seed(&sqs, &ticket.dlq_url, "tired", tired, None).await;
    let long_body = "x".repeat(500);
    seed(&sqs, &notification.dlq_url, &long_body, HashMap::new(), Some("user-1")).await;

    let report = redrive(&sqs, &[&ticket, &notification], 3)
        .handle(json!({}), Deadline::NONE)
        .await
        .unwrap();

    assert!(report.dry_run && report.ok, "{report:#?}");
    assert_eq!(report.queues.len(), 2, "every configured DLQ");
    let queue = &report.queues[0];
    assert_eq!(queue.moved, 0);
    assert_eq!(queue.stopped_by, Some(StopReason::Empty));
    assert_eq!(queue.remaining, Some(4), "all visible again when the report is written");
    let inspection = queue.inspection.as_ref().expect("a dry run inspects");
    assert_eq!(inspection.inspected, 4);
    assert_eq!((inspection.would_move, inspection.would_park), (3, 1));
    assert_eq!(
        inspection.by_error_kind,
        BTreeMap::from([("malformed-body".to_owned(), 2), ("retries-exhausted".to_owned(), 2)])
    );
    assert_eq!(inspection.by_age.under_1h, 4);
    assert_eq!(inspection.sample.len(), 4);
    let tired = inspection.sample.iter().find(|s| s.message_id == parked).unwrap();
    assert_eq!(tired.verdict, Verdict::Park);
    assert_eq!(tired.redrive_count.as_deref(), Some("3"));
    let malformed = inspection.sample.iter().find(|s| s.body == r#"{"seq":0}"#).unwrap();
    assert_eq!(malformed.original_message_id, "o0");
    assert_eq!(malformed.error_message.as_deref(), Some("malformed-body: details"));

    let fifo = report.queues[1].inspection.as_ref().unwrap();
    assert_eq!(fifo.inspected, 1);
    assert_eq!(fifo.sample[0].group_id.as_deref(), Some("user-1"));
    assert_eq!(
        fifo.sample[0].body.chars().count(),
        201,
        "200 characters and an ellipsis"
    );

    assert_eq!(depth(&sqs, &ticket.source_url).await, (0, 0), "nothing moved");
    assert_eq!(depth(&sqs, &notification.source_url).await, (0, 0));
    assert_eq!(
        drain(&sqs, &ticket.dlq_url).await.len(),
        4,
        "receivable at once, no visibility wait"
    );
    assert_eq!(drain(&sqs, &notification.dlq_url).await.len(), 1);
}

#[tokio::test]
async fn a_dry_run_with_a_filter_and_a_limit_predicts_the_replay() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    for i in 0..6 {
        let kind = if i < 2 { "invalid-field" } else { "dependency-down" };
        let attributes = dead_letter_attributes(kind, &format!("o{i}"));
        seed(&sqs, &route.dlq_url, &format!("m{i}"), attributes, None).await;
    }
    let redrive = redrive(&sqs, &[&route], 3);
    let request = json!({"queue": "ticket", "filter": {"errorKind": "invalid-field"}, "maxMessages": 5});

    let dry = redrive.handle(request.clone(), Deadline::NONE).await.unwrap();
    let inspection = dry.queues[0].inspection.as_ref().unwrap();
    assert_eq!(inspection.inspected, 5, "maxMessages bounds the inspection");
    assert_eq!(dry.queues[0].stopped_by, Some(StopReason::MaxMessages));
    assert_eq!(inspection.would_move + inspection.would_skip, 5);
    assert_eq!(depth(&sqs, &route.dlq_url).await, (6, 0));

    let mut real = request;
    real["dryRun"] = json!(false);
    let replay = redrive.handle(real, Deadline::NONE).await.unwrap();
    assert_eq!(replay.queues[0].moved, 2, "only the invalid-field messages");
    assert_eq!(depth(&sqs, &route.source_url).await.0, 2);
}
