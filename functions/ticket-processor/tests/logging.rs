//! What the worker logs about a request: enough to follow it, never an email address in clear.

use moto_harness::unique_name;
use shared::testing::{CapturedLogs, message, sqs_message};
use shared::{Deadline, Record, RecordHandler};
use ticket_processor::testing::{Stack, body};

#[tokio::test]
async fn the_outcome_is_logged_with_the_email_masked_and_the_notification_keeps_it_in_full() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 1).await;
    let handler = stack.idempotency().wrap(stack.processor());
    let captured = CapturedLogs::new();

    {
        // The test runtime is single-threaded, so this thread's subscriber sees every line.
        let _logs = captured.install();
        for (message_id, user) in [("m-issued", "kim.lee"), ("m-sold-out", "ana.ruiz")] {
            let record = Record::new(sqs_message(message(message_id, &body(&event_id, user))), Deadline::NONE).unwrap();
            handler.handle(record).await.unwrap();
        }
    }

    let logs = captured.text();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .filter(|line: &serde_json::Value| line["event_id"] == serde_json::json!(event_id))
        .collect();
    let outcomes: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["outcome"].as_str().unwrap(), l["email"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [("issued", "k***@example.com"), ("sold-out", "a***@example.com")]
    );
    for email in ["kim.lee@example.com", "ana.ruiz@example.com"] {
        assert!(!logs.contains(email), "{email} appears in clear in the logs:\n{logs}");
    }

    let delivered: Vec<String> = stack
        .notifications()
        .await
        .into_iter()
        .filter_map(|n| n.notification.contact.and_then(|c| c.email))
        .collect();
    assert_eq!(delivered, ["kim.lee@example.com", "ana.ruiz@example.com"]);
}
