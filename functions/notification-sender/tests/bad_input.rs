//! Every class of bad input, at the function level on moto: the batch processor the function
//! runs, with its dead-letter queue. For each: the record's outcome, the batch response (a bad
//! record never fails the batch, and never silently succeeds), what is in the DLQ (the reason,
//! no address in clear), and that the good record beside it is still sent.

use aws_lambda_events::sqs::SqsEvent;
use notification_sender::testing::{Fixture, delivery, ticket_issued};
use serde_json::{Value, json};
use shared::testing::{assert_dead_lettered, attribute, message};
use shared::{BatchOutcome, RecordStatus, attributes};

/// The addresses the bad inputs below carry: none may reach a DLQ attribute in clear.
const ADDRESSES: [&str; 2] = ["kim.lee@example.com", "ana.ruiz@example.org"];

fn notification(fields: Value) -> String {
    let mut body = json!({
        "notificationId": "sold-out#e-1#u-1", "kind": "sold-out", "eventId": "e-1", "userId": "u-1",
    });
    for (name, value) in fields.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(name);
        } else {
            body[name] = value.clone();
        }
    }
    body.to_string()
}

/// Every message of the fixture's DLQ, each once.
async fn drain_dead_letters(fixture: &Fixture) -> Vec<aws_sdk_sqs::types::Message> {
    moto_harness::sqs::drain(&aws_sdk_sqs::Client::new(&fixture.sdk), &fixture.dead_letter_queue_url).await
}

/// Runs `bad` (message id, SQS message, expected error kind) in one batch beside one valid
/// notification and checks every outcome.
async fn dead_letters_alone(fixture: &Fixture, bad: Vec<(&str, Value, &str)>) -> BatchOutcome {
    let sender = fixture.notification_sender().await;
    let good = delivery(
        "good",
        &ticket_issued("t-good", Some("fan@example.com"), None, Some("en")),
        1,
    );
    let messages = bad
        .iter()
        .map(|(_, message, _)| message.clone())
        .chain([good])
        .collect();
    let outcome = fixture.run(&sender, messages).await;

    assert!(
        outcome.response().batch_item_failures.is_empty(),
        "bad records are dead-lettered, not retried: {:?}",
        outcome.response()
    );
    assert_eq!(outcome.status("good"), Some(&RecordStatus::Processed));
    assert_eq!(
        (fixture.topic_pushes().len(), fixture.emails().len()),
        (1, 1),
        "only the good one is sent"
    );
    let letters = drain_dead_letters(fixture).await;
    let expected: Vec<(&str, &str)> = bad.iter().map(|(id, _, kind)| (*id, *kind)).collect();
    assert_dead_lettered(&outcome, &letters, &expected, &ADDRESSES);
    outcome
}

#[tokio::test]
async fn wrong_json_types_and_bodies_that_are_not_objects_are_dead_lettered() {
    let fixture = Fixture::new().await;
    dead_letters_alone(
        &fixture,
        vec![
            ("not-json", message("not-json", "{not json"), "malformed-body"),
            ("array", message("array", r#"["sold-out"]"#), "malformed-body"),
            ("string", message("string", r#""sold-out""#), "malformed-body"),
            ("number", message("number", "7"), "malformed-body"),
            ("json-null", message("json-null", "null"), "malformed-body"),
            (
                "number-user",
                message("number-user", &notification(json!({"userId": 42}))),
                "invalid-field",
            ),
            (
                "contact-number",
                message("contact-number", &notification(json!({"contact": 1}))),
                "invalid-field",
            ),
            (
                "locale-object",
                message("locale-object", &notification(json!({"locale": {"lang": "en"}}))),
                "invalid-field",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_null_or_empty_sqs_body_is_malformed() {
    let fixture = Fixture::new().await;
    let mut null_body = message("null-body", "");
    null_body["body"] = Value::Null;
    dead_letters_alone(
        &fixture,
        vec![
            ("null-body", null_body, "malformed-body"),
            ("empty-body", message("empty-body", ""), "malformed-body"),
        ],
    )
    .await;
}

#[tokio::test]
async fn notifications_with_a_missing_field_or_an_unknown_kind_are_invalid_fields() {
    let fixture = Fixture::new().await;
    let outcome = dead_letters_alone(
        &fixture,
        vec![
            (
                "no-id",
                message("no-id", &notification(json!({"notificationId": null}))),
                "invalid-field",
            ),
            (
                "no-kind",
                message("no-kind", &notification(json!({"kind": null}))),
                "invalid-field",
            ),
            (
                "no-event",
                message("no-event", &notification(json!({"eventId": null}))),
                "invalid-field",
            ),
            (
                "no-user",
                message("no-user", &notification(json!({"userId": null}))),
                "invalid-field",
            ),
            (
                "no-ticket",
                message("no-ticket", &notification(json!({"kind": "ticket-issued"}))),
                "invalid-field",
            ),
            (
                "unknown-kind",
                message("unknown-kind", &notification(json!({"kind": "refund"}))),
                "invalid-field",
            ),
        ],
    )
    .await;
    for (id, field) in [("no-kind", "kind"), ("unknown-kind", "kind"), ("no-ticket", "ticketId")] {
        let Some(RecordStatus::DeadLettered(error)) = outcome.status(id) else {
            unreachable!()
        };
        assert!(error.message().contains(field), "{id}: names {field}: {error}");
    }
}

#[tokio::test]
async fn empty_huge_unicode_and_control_character_ids_are_invalid_fields() {
    let fixture = Fixture::new().await;
    let ten_kb = "x".repeat(10 * 1024);
    let outcome = dead_letters_alone(
        &fixture,
        vec![
            (
                "empty-id",
                message("empty-id", &notification(json!({"notificationId": ""}))),
                "invalid-field",
            ),
            (
                "empty-event",
                message("empty-event", &notification(json!({"eventId": ""}))),
                "invalid-field",
            ),
            (
                "empty-user",
                message("empty-user", &notification(json!({"userId": ""}))),
                "invalid-field",
            ),
            (
                "empty-ticket",
                message("empty-ticket", &notification(json!({"ticketId": ""}))),
                "invalid-field",
            ),
            (
                "oversized-id",
                message(
                    "oversized-id",
                    &notification(json!({"notificationId": "n".repeat(513)})),
                ),
                "invalid-field",
            ),
            (
                "huge-id",
                message("huge-id", &notification(json!({"notificationId": ten_kb}))),
                "invalid-field",
            ),
            (
                "huge-user",
                message("huge-user", &notification(json!({"userId": ten_kb}))),
                "invalid-field",
            ),
            (
                "control-id",
                message(
                    "control-id",
                    &notification(json!({"notificationId": "sold-out\u{7}#1"})),
                ),
                "invalid-field",
            ),
            (
                "unicode-user",
                message("unicode-user", &notification(json!({"userId": "김민수"}))),
                "invalid-field",
            ),
        ],
    )
    .await;
    let Some(RecordStatus::DeadLettered(huge)) = outcome.status("huge-id") else {
        unreachable!()
    };
    assert!(
        huge.message().len() < 400,
        "a 10 KB id is described, not echoed: {huge}"
    );
}

/// notificationIds are not ids of the id rule: any text without control characters, up to 512
/// bytes (Korean included) is sent.
#[tokio::test]
async fn a_unicode_notification_id_is_sent() {
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let body = notification(json!({"notificationId": "매진#e-1#u-1"}));
    let outcome = fixture.run(&sender, vec![message("unicode-id", &body)]).await;
    assert_eq!(outcome.status("unicode-id"), Some(&RecordStatus::Processed));
    assert_eq!(fixture.topic_pushes().len(), 1);
}

#[tokio::test]
async fn a_body_over_64_kib_is_too_large() {
    let fixture = Fixture::new().await;
    let padded = notification(json!({"pad": "x".repeat(64 * 1024)}));
    dead_letters_alone(
        &fixture,
        vec![("too-large", message("too-large", &padded), "body-too-large")],
    )
    .await;
}

#[tokio::test]
async fn addresses_in_the_wrong_field_are_dead_lettered_masked() {
    let fixture = Fixture::new().await;
    let outcome = dead_letters_alone(
        &fixture,
        vec![
            (
                "contact-string",
                message(
                    "contact-string",
                    &notification(json!({"contact": "kim.lee@example.com"})),
                ),
                "invalid-field",
            ),
            (
                "email-user",
                message("email-user", &notification(json!({"userId": "ana.ruiz＠example.org"}))),
                "invalid-field",
            ),
            (
                "email-kind",
                message("email-kind", &notification(json!({"kind": "kim.lee@example.com"}))),
                "invalid-field",
            ),
        ],
    )
    .await;
    for id in ["contact-string", "email-user", "email-kind"] {
        let Some(RecordStatus::DeadLettered(error)) = outcome.status(id) else {
            unreachable!()
        };
        assert!(
            error.message().contains("***@example"),
            "{id}: masked, not dropped: {error}"
        );
    }
}

/// A device endpoint is the producer's text: an address put there is never logged in clear,
/// and the refusal is recorded (SNS rejects what is not an endpoint ARN), not dead-lettered.
#[tokio::test(flavor = "current_thread")]
async fn an_address_as_the_push_endpoint_is_never_logged_in_clear() {
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let body =
        notification(json!({"contact": {"pushEndpointArn": "kim.lee@example.com", "email": "ana.ruiz@example.org"}}));
    let logs = shared::testing::CapturedLogs::new();
    let guard = logs.install();
    let outcome = fixture.run(&sender, vec![message("endpoint-address", &body)]).await;
    drop(guard);

    assert!(
        outcome.response().batch_item_failures.is_empty(),
        "{:?}",
        outcome.results
    );
    let text = logs.text();
    for address in ADDRESSES {
        assert!(!text.contains(address), "{address} in clear in the logs:\n{text}");
    }
    assert!(
        text.contains("k***@example.com"),
        "the endpoint is logged masked:\n{text}"
    );
}

#[tokio::test]
async fn a_record_without_an_event_source_arn_is_still_sent_or_dead_lettered() {
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let mut good = message("no-arn-good", &notification(json!({})));
    let mut bad = message("no-arn-bad", "not json");
    for record in [&mut good, &mut bad] {
        record.as_object_mut().unwrap().remove("eventSourceARN");
    }
    let outcome = fixture.run(&sender, vec![good, bad]).await;

    assert!(outcome.response().batch_item_failures.is_empty());
    assert_eq!(outcome.status("no-arn-good"), Some(&RecordStatus::Processed));
    assert_eq!(fixture.topic_pushes().len(), 1);
    let letters = drain_dead_letters(&fixture).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(attribute(&letters[0], attributes::ERROR_KIND), Some("malformed-body"));
    assert_eq!(attribute(&letters[0], attributes::SOURCE_QUEUE), Some("unknown"));
}

#[tokio::test]
async fn an_empty_records_list_is_an_empty_success() {
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let empty: SqsEvent = serde_json::from_value(json!({"Records": []})).unwrap();
    let response = fixture
        .worker
        .batch
        .process(empty, &lambda_runtime::Context::default(), &sender)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(drain_dead_letters(&fixture).await.is_empty());
    assert!(fixture.topic_pushes().is_empty());
}

#[tokio::test]
async fn two_copies_of_one_message_id_send_once_and_dead_letter_once() {
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let good = ticket_issued("t-twice", Some("twice@example.com"), None, None);
    let outcome = fixture
        .run(
            &sender,
            vec![
                message("twice", &good),
                message("bad-twice", "not json"),
                message("twice", &good),
                message("bad-twice", "not json"),
            ],
        )
        .await;

    assert!(
        outcome.response().batch_item_failures.is_empty(),
        "{:?}",
        outcome.results
    );
    assert_eq!(outcome.results[0].1, RecordStatus::Processed);
    assert_eq!(outcome.results[2].1, RecordStatus::Duplicate);
    assert_eq!((fixture.topic_pushes().len(), fixture.emails().len()), (1, 1));
    assert_eq!(drain_dead_letters(&fixture).await.len(), 1);
}
