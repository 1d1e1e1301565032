//! One EMF line per invocation: the batch's counts, what the records added, the cold start, the
//! function as the only dimension; written even when records or the whole batch fail.

use std::time::Duration;

use serde_json::json;
use shared::metrics::lines::{EmfLine, Totals};
use shared::metrics::{Count, FUNCTION_NAME, Metrics, NAMESPACE, Timing, batch};
use shared::testing::{CapturedLogs, event, message, with_attribute};
use shared::{BatchProcessor, Record, RecordError};

const WIDGETS: Count = Count::new("Widgets");
const NEVER_ADDED: Count = Count::new("NeverAdded");
const WIDGET_TIME: Timing = Timing::new("WidgetTime");

fn context(request_id: &str) -> lambda_runtime::Context {
    let mut context = shared::testing::invocation_context(request_id);
    context.xray_trace_id = Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".to_owned());
    context
}

fn processor(captured: &CapturedLogs) -> BatchProcessor {
    let writer = captured.clone();
    let metrics = Metrics::to_writer(
        "shop-widgets",
        &[WIDGETS.metric(), NEVER_ADDED.metric(), WIDGET_TIME.metric()],
        move || writer.clone(),
    );
    BatchProcessor::default().with_metrics(metrics)
}

/// Adds one widget per record; fails `bad`, panics on `boom`, rejects `poison` permanently.
async fn widgets(record: Record) -> Result<(), RecordError> {
    match record.message_id() {
        "bad" => Err(RecordError::retryable("busy", "later")),
        "boom" => panic!("the handler blew up"),
        "poison" => Err(RecordError::permanent("malformed-body", "never")),
        _ => {
            record.metrics().add(WIDGETS, 1);
            record.metrics().observe(WIDGET_TIME, Duration::from_millis(250));
            Ok(())
        }
    }
}

#[tokio::test]
async fn each_invocation_writes_one_line_with_the_batch_and_the_records_metrics() {
    let captured = CapturedLogs::new();
    let processor = processor(&captured);
    let batch = event(["a", "b", "bad", "boom", "poison"].map(|id| message(id, "{}")));
    let response = processor.process(batch, &context("req-1"), &widgets).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 3, "bad, boom and poison (no DLQ)");

    let lines = EmfLine::parse_all(&captured.text());
    assert_eq!(lines.len(), 1, "{}", captured.text());
    let line = &lines[0];
    assert_eq!(line.namespace, NAMESPACE);
    assert_eq!(line.dimensions, vec![vec![FUNCTION_NAME.to_owned()]]);
    assert_eq!(line.function_name, "shop-widgets");
    for (metric, expected) in [
        (batch::RECORDS, 5.0),
        (batch::SUCCEEDED, 2.0),
        (batch::DUPLICATES, 0.0),
        (batch::FAILED, 3.0),
        (batch::DEAD_LETTERED, 0.0),
        (batch::NOT_STARTED, 0.0),
        (WIDGETS, 2.0),
        (NEVER_ADDED, 0.0),
        (shared::metrics::COLD_START, 1.0),
    ] {
        assert_eq!(line.sum(metric.name()), expected, "{}: {}", metric.name(), line.json);
        assert_eq!(line.unit(metric.name()), Some("Count"), "{}", metric.name());
    }
    assert_eq!(line.samples(WIDGET_TIME.name()), 2);
    assert_eq!(line.sum(WIDGET_TIME.name()), 500.0);
    assert_eq!(line.unit(WIDGET_TIME.name()), Some("Milliseconds"));
    assert_eq!(line.samples(batch::DURATION.name()), 1);
    assert_eq!(line.json["RequestId"], json!("req-1"));
    assert!(line.json["TraceId"].as_str().unwrap().starts_with("Root=1-"));
    // Properties, never dimensions: the only dimension is the function.
    assert!(line.json.get("MessageId").is_none());
}

#[tokio::test]
async fn only_the_first_invocation_is_a_cold_start_and_lines_add_up() {
    let captured = CapturedLogs::new();
    let processor = processor(&captured);
    for request in ["r1", "r2", "r3"] {
        let batch = event([
            message(&format!("{request}-a"), "{}"),
            message(&format!("{request}-b"), "{}"),
        ]);
        processor.process(batch, &context(request), &widgets).await.unwrap();
    }
    let lines = EmfLine::parse_all(&captured.text());
    let cold: Vec<f64> = lines.iter().map(|l| l.sum("ColdStart")).collect();
    assert_eq!(cold, [1.0, 0.0, 0.0]);
    let totals = Totals::of(&lines);
    assert_eq!(totals.lines["shop-widgets"], 3);
    assert_eq!(totals.sum("shop-widgets", "Records"), 6.0);
    assert_eq!(totals.sum("shop-widgets", WIDGETS.name()), 6.0);
    assert_eq!(totals.samples("shop-widgets", WIDGET_TIME.name()), 6);
}

#[tokio::test]
async fn a_batch_error_still_writes_its_line() {
    let captured = CapturedLogs::new();
    let processor = processor(&captured);
    let mut missing = message("x", "{}");
    missing["messageId"] = json!(null);
    let batch = event([message("a", "{}"), missing]);
    assert!(processor.process(batch, &context("req-err"), &widgets).await.is_err());

    let lines = EmfLine::parse_all(&captured.text());
    assert_eq!(lines.len(), 1, "{}", captured.text());
    assert_eq!(lines[0].sum("Records"), 2.0);
    assert_eq!(lines[0].sum("Failed"), 2.0);
    assert_eq!(lines[0].sum(WIDGETS.name()), 0.0, "no record ran");
}

#[tokio::test]
async fn without_metrics_nothing_is_written_and_records_get_a_detached_recorder() {
    let captured = CapturedLogs::new();
    let _logs = captured.install();
    let outcome = BatchProcessor::default()
        .run(event([message("a", "{}")]), shared::Deadline::NONE, &widgets)
        .await
        .unwrap();
    assert_eq!(outcome.summary.succeeded, 1);
    assert!(EmfLine::parse_all(&captured.text()).is_empty());
}

#[test]
fn records_tell_their_age_their_trace_header_and_whether_they_were_redriven() {
    let mut fresh = message("m1", "{}");
    fresh["attributes"]["AWSTraceHeader"] = json!("Root=1-abc-def;Parent=1234;Sampled=1");
    let record = Record::new(shared::testing::sqs_message(fresh), shared::Deadline::NONE).unwrap();
    let sent = std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
    assert_eq!(record.sent_at(), Some(sent));
    assert_eq!(
        record.age_at(sent + Duration::from_millis(1500)),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(record.trace_header(), Some("Root=1-abc-def;Parent=1234;Sampled=1"));
    assert!(!record.is_redriven_copy());

    let copy = with_attribute(message("m2", "{}"), shared::attributes::ORIGINAL_MESSAGE_ID, "m1");
    let record = Record::new(shared::testing::sqs_message(copy), shared::Deadline::NONE).unwrap();
    assert!(record.is_redriven_copy());
    assert_eq!(record.trace_header(), None);
}

#[test]
fn other_log_lines_are_not_metrics() {
    assert_eq!(EmfLine::parse(r#"{"level":"INFO","message":"batch processed"}"#), None);
    assert_eq!(EmfLine::parse("not json"), None);
    assert_eq!(EmfLine::parse(""), None);
}
