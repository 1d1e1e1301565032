//! Logs are JSON lines; every line written while a record runs carries its messageId, and each
//! batch ends with one summary line.

use shared::testing::{CapturedLogs, event, message};
use shared::{BatchProcessor, Deadline, Record, RecordError};

#[tokio::test]
async fn record_lines_carry_the_message_id_and_the_batch_ends_with_a_summary() {
    let captured = CapturedLogs::new();
    let _guard = captured.install();

    let handler = |record: Record| async move {
        tracing::info!(step = "working", "handling");
        if record.message_id() == "m2" {
            return Err(RecordError::retryable("busy", "try again"));
        }
        Ok(())
    };
    BatchProcessor::default()
        .run(
            event([message("m1", "{}"), message("m2", "{}")]),
            Deadline::NONE,
            &handler,
        )
        .await
        .unwrap();

    let text = captured.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    let handling: Vec<&serde_json::Value> = lines.iter().filter(|l| l["message"] == "handling").collect();
    assert_eq!(handling.len(), 2);
    let mut ids: Vec<&str> = handling
        .iter()
        .map(|l| l["span"]["message_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["m1", "m2"]);
    let failure = lines
        .iter()
        .find(|l| l["error_kind"] == "busy")
        .expect("the failure is logged");
    assert_eq!(failure["span"]["message_id"], "m2");
    assert_eq!(failure["level"], "WARN");

    let summaries: Vec<&serde_json::Value> = lines.iter().filter(|l| l["message"] == "batch processed").collect();
    assert_eq!(summaries.len(), 1);
    let summary = summaries[0];
    assert_eq!(summary["records"], 2);
    assert_eq!(summary["succeeded"], 1);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(summary["permanent"], 0);
    assert!(summary["duration_ms"].is_u64());
}
