//! Each invocation writes one EMF line whose counts are what the queues show afterwards: moved
//! messages are in the source queue, parked and failed ones still in the DLQ.

mod common;

use std::collections::HashMap;

use common::{depth, drain, number, route, seed, sqs, string};
use dlq_redrive::metrics::{ALL, REDRIVE_FAILED, REDRIVE_MOVED, REDRIVE_PARKED};
use serde_json::json;
use shared::metrics::Metrics;
use shared::metrics::lines::{EmfLine, Totals};
use shared::testing::CapturedLogs;

#[tokio::test]
async fn the_line_counts_what_moved_what_was_parked_and_what_failed() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    for body in ["first-time", "also-first"] {
        seed(&sqs, &route.dlq_url, body, HashMap::new(), None).await;
    }
    let parked = HashMap::from([("redrive-count".to_owned(), number("3"))]);
    seed(&sqs, &route.dlq_url, "third-time", parked, None).await;
    let bad = HashMap::from([("redrive-count".to_owned(), string("lots"))]);
    seed(&sqs, &route.dlq_url, "bad-count", bad, None).await;
    let captured = CapturedLogs::new();
    let writer = captured.clone();
    let redrive = common::redrive(&sqs, &[&route], 3)
        .with_metrics(Metrics::to_writer("dlq-redrive", ALL, move || writer.clone()));
    let context = shared::testing::invocation_context("op-1");

    let dry_run = redrive.invoke(json!({}), &context).await.unwrap();
    assert!(dry_run.dry_run);
    let report = redrive.invoke(json!({"dryRun": false}), &context).await.unwrap();
    assert!(redrive.invoke(json!({"mode": "teleport"}), &context).await.is_err());

    let lines = EmfLine::parse_all(&captured.text());
    assert_eq!(
        lines.len(),
        3,
        "one per invocation, the invalid request's too:\n{}",
        captured.text()
    );
    let moved_by_line: Vec<f64> = lines.iter().map(|l| l.sum(REDRIVE_MOVED.name())).collect();
    assert_eq!(moved_by_line, [0.0, 2.0, 0.0], "a dry run moves nothing");
    let totals = Totals::of(&lines);
    let sum = |name: &str| totals.sum("dlq-redrive", name) as u64;
    assert_eq!(sum(REDRIVE_MOVED.name()), report.queues[0].moved);
    assert_eq!(sum(REDRIVE_PARKED.name()), 1);
    assert_eq!(sum(REDRIVE_FAILED.name()), 1);
    assert_eq!(sum("ColdStart"), 1);
    assert_eq!(
        drain(&sqs, &route.source_url).await.len() as u64,
        sum(REDRIVE_MOVED.name())
    );
    let (visible, in_flight) = depth(&sqs, &route.dlq_url).await;
    assert_eq!(
        visible + in_flight,
        sum(REDRIVE_PARKED.name()) + sum(REDRIVE_FAILED.name())
    );
}
