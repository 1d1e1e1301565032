//! Logs are JSON lines; every line written while a record runs carries its messageId, and each
//! batch ends with one summary line.

use std::sync::{Arc, Mutex};

use shared::testing::{event, message};
use shared::{BatchProcessor, Deadline, Record, RecordError};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn record_lines_carry_the_message_id_and_the_batch_ends_with_a_summary() {
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard = tracing::subscriber::set_default(shared::logging::subscriber(move || writer.clone()));

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

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
