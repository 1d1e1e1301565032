//! The sample events in `events/notification-sender/` (for `cargo lambda invoke`) run against
//! moto with the outcomes their names promise.

use std::path::PathBuf;

use aws_lambda_events::sqs::SqsEvent;
use notification_sender::testing::Fixture;
use shared::{Deadline, RecordStatus};

fn sample(name: &str) -> SqsEvent {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/notification-sender")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not an SQS event: {e}", path.display()))
}

async fn run(fixture: &Fixture, name: &str) -> Vec<RecordStatus> {
    let sender = fixture.notification_sender().await;
    let outcome = fixture
        .worker
        .batch
        .run(
            sample(name),
            Deadline::after(std::time::Duration::from_secs(60)),
            &sender,
        )
        .await
        .unwrap();
    outcome.results.into_iter().map(|(_, status)| status).collect()
}

#[tokio::test]
async fn every_sample_event_runs_as_its_name_says() {
    let fixture = Fixture::new().await;

    assert_eq!(run(&fixture, "ticket-issued.json").await, [RecordStatus::Processed]);
    assert_eq!(run(&fixture, "sold-out-en.json").await, [RecordStatus::Processed]);
    assert_eq!(
        run(&fixture, "duplicate-first-copy.json").await,
        [RecordStatus::Processed]
    );
    assert_eq!(
        run(&fixture, "duplicate-second-copy.json").await,
        [RecordStatus::Duplicate]
    );
    let mixed = run(&fixture, "malformed-and-valid.json").await;
    let kinds: Vec<&str> = mixed
        .iter()
        .map(|status| match status {
            RecordStatus::DeadLettered(error) => error.kind(),
            RecordStatus::Processed => "processed",
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["malformed-body", "invalid-field", "processed"]);

    // One push per delivered notification, one email per notification with an address.
    assert_eq!(fixture.topic_pushes().len(), 4);
    assert_eq!(fixture.emails().len(), 3);
}
