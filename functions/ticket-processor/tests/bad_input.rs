//! Every class of bad input, at the function level on moto: the batch processor the function
//! runs, with its dead-letter queue. For each: the record's outcome, the batch response (a bad
//! record never fails the batch, and never silently succeeds), what is in the DLQ (the reason,
//! no address in clear), and that the good record beside it still gets its ticket.

use aws_lambda_events::sqs::SqsEvent;
use moto_harness::unique_name;
use serde_json::{Value, json};
use shared::testing::{assert_dead_lettered, attribute, event, message, with_attribute};
use shared::{BatchOutcome, Deadline, RecordStatus, attributes};
use ticket_processor::testing::{Stack, assert_nothing_retried, body};

/// The addresses the bad inputs below carry: none may reach a DLQ attribute in clear.
const ADDRESSES: [&str; 2] = ["kim.lee@example.com", "ana.ruiz@example.org"];

/// Runs `bad` (message id, SQS message, expected error kind) in one batch beside one valid
/// request, as the deployed function does, and checks every outcome.
async fn dead_letters_alone(stack: &Stack, bad: Vec<(&str, Value, &str)>) -> BatchOutcome {
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 10).await;
    let good = message("good", &body(&event_id, "fan-1"));
    let messages = bad.iter().map(|(_, message, _)| message.clone()).chain([good]);
    let outcome = stack.run(messages).await;

    assert_nothing_retried(&outcome);
    assert_eq!(outcome.status("good"), Some(&RecordStatus::Processed));
    assert_eq!(
        stack.tickets(&event_id).await.len(),
        1,
        "the good request got its ticket"
    );
    let letters = stack.dead_letters().await;
    let expected: Vec<(&str, &str)> = bad.iter().map(|(id, _, kind)| (*id, *kind)).collect();
    assert_dead_lettered(&outcome, &letters, &expected, &ADDRESSES);
    outcome
}

#[tokio::test]
async fn wrong_json_types_and_bodies_that_are_not_objects_are_dead_lettered() {
    let stack = Stack::new().await;
    dead_letters_alone(
        &stack,
        vec![
            ("not-json", message("not-json", "issue me a ticket"), "malformed-body"),
            ("array", message("array", r#"["e-1","u-1"]"#), "malformed-body"),
            ("string", message("string", r#""e-1""#), "malformed-body"),
            ("number", message("number", "42"), "malformed-body"),
            ("json-null", message("json-null", "null"), "malformed-body"),
            (
                "number-id",
                message("number-id", r#"{"eventId":7,"userId":"u-1"}"#),
                "invalid-field",
            ),
            (
                "object-id",
                message("object-id", r#"{"eventId":"e","userId":{"id":"u-1"}}"#),
                "invalid-field",
            ),
            (
                "contact-list",
                message("contact-list", r#"{"eventId":"e","userId":"u","contact":[]}"#),
                "invalid-field",
            ),
            (
                "missing-user",
                message("missing-user", r#"{"eventId":"e"}"#),
                "invalid-field",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_null_or_empty_sqs_body_is_malformed() {
    let stack = Stack::new().await;
    let mut null_body = message("null-body", "");
    null_body["body"] = Value::Null;
    dead_letters_alone(
        &stack,
        vec![
            ("null-body", null_body, "malformed-body"),
            ("empty-body", message("empty-body", ""), "malformed-body"),
            ("blank-body", message("blank-body", " \n "), "malformed-body"),
        ],
    )
    .await;
}

#[tokio::test]
async fn empty_huge_unicode_and_control_character_ids_are_invalid_fields() {
    let stack = Stack::new().await;
    let request = |event_id: &str, user_id: &str| json!({"eventId": event_id, "userId": user_id}).to_string();
    let ten_kb = "x".repeat(10 * 1024);
    let outcome = dead_letters_alone(
        &stack,
        vec![
            (
                "empty-event",
                message("empty-event", &request("", "u-1")),
                "invalid-field",
            ),
            (
                "empty-user",
                message("empty-user", &request("e-1", "")),
                "invalid-field",
            ),
            (
                "huge-event",
                message("huge-event", &request(&ten_kb, "u-1")),
                "invalid-field",
            ),
            (
                "huge-user",
                message("huge-user", &request("e-1", &ten_kb)),
                "invalid-field",
            ),
            (
                "unicode-user",
                message("unicode-user", &request("e-1", "김민수")),
                "invalid-field",
            ),
            (
                "nul-user",
                message("nul-user", &request("e-1", "u\u{0}1")),
                "invalid-field",
            ),
            (
                "newline-event",
                message("newline-event", &request("e\n1", "u-1")),
                "invalid-field",
            ),
        ],
    )
    .await;
    let Some(RecordStatus::DeadLettered(huge)) = outcome.status("huge-user") else {
        unreachable!()
    };
    assert!(
        huge.message().len() < 400 && huge.message().contains("10240 characters"),
        "a 10 KB id is described, not echoed: {huge}"
    );
    let Some(RecordStatus::DeadLettered(nul)) = outcome.status("nul-user") else {
        unreachable!()
    };
    assert!(
        nul.message().contains(r#""u\01""#),
        "control characters are escaped: {nul}"
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_too_large() {
    let stack = Stack::new().await;
    let padded = json!({"eventId": "e-1", "userId": "u-1", "pad": "x".repeat(64 * 1024)}).to_string();
    dead_letters_alone(
        &stack,
        vec![("too-large", message("too-large", &padded), "body-too-large")],
    )
    .await;
}

/// The issue's reproduction: a `contact` that is a string holding an address, and a `userId`
/// that is an address (in several spellings): refused naming the field, the address masked.
#[tokio::test]
async fn addresses_in_the_wrong_field_are_dead_lettered_masked() {
    let stack = Stack::new().await;
    let outcome = dead_letters_alone(
        &stack,
        vec![
            (
                "contact-string",
                message(
                    "contact-string",
                    r#"{"eventId":"e-1","userId":"u-1","contact":"kim.lee@example.com"}"#,
                ),
                "invalid-field",
            ),
            (
                "email-user",
                message("email-user", r#"{"eventId":"e-1","userId":"kim.lee@example.com"}"#),
                "invalid-field",
            ),
            (
                "full-width-user",
                message(
                    "full-width-user",
                    r#"{"eventId":"e-1","userId":"ana.ruiz＠example.org"}"#,
                ),
                "invalid-field",
            ),
            (
                "quoted-user",
                message("quoted-user", r#"{"eventId":"e-1","userId":"\"kim.lee\"@example.com"}"#),
                "invalid-field",
            ),
        ],
    )
    .await;
    for (id, field) in [
        ("contact-string", "contact:"),
        ("email-user", "userId:"),
        ("full-width-user", "userId:"),
    ] {
        let Some(RecordStatus::DeadLettered(error)) = outcome.status(id) else {
            unreachable!()
        };
        assert!(error.message().contains(field), "{id}: {error}");
        assert!(
            error.message().contains("***@example"),
            "{id}: masked, not dropped: {error}"
        );
    }
}

#[tokio::test]
async fn a_record_without_an_event_source_arn_is_still_processed_or_dead_lettered() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 10).await;
    let mut good = message("no-arn-good", &body(&event_id, "fan-2"));
    let mut bad = message("no-arn-bad", "not json");
    for record in [&mut good, &mut bad] {
        record.as_object_mut().unwrap().remove("eventSourceARN");
    }
    let outcome = stack.run([good, bad]).await;

    assert!(outcome.response().batch_item_failures.is_empty());
    assert_eq!(outcome.status("no-arn-good"), Some(&RecordStatus::Processed));
    assert_eq!(stack.tickets(&event_id).await.len(), 1);
    let letters = stack.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(attribute(&letters[0], attributes::ERROR_KIND), Some("malformed-body"));
    assert_eq!(attribute(&letters[0], attributes::SOURCE_QUEUE), Some("unknown"));
}

#[tokio::test]
async fn an_empty_records_list_is_an_empty_success() {
    let stack = Stack::new().await;
    let handler = stack.idempotency().wrap(stack.processor());
    let empty: SqsEvent = serde_json::from_value(json!({"Records": []})).unwrap();
    let context = lambda_runtime::Context::default();
    let response = stack.batch().process(empty, &context, &handler).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(stack.dead_letters().await.is_empty());
    assert!(stack.notifications().await.is_empty());
}

/// SQS may put one message in a batch twice (same messageId): one ticket, one notification, and
/// a bad one dead-lettered once; nothing is reported failed.
#[tokio::test]
async fn two_copies_of_one_message_id_issue_one_ticket_and_dead_letter_once() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 10).await;
    let good = body(&event_id, "fan-3");
    let batch = event([
        message("twice", &good),
        message("bad-twice", "not json"),
        message("twice", &good),
        message("bad-twice", "not json"),
    ]);
    let handler = stack.idempotency().wrap(stack.processor());
    let outcome = stack.batch().run(batch, Deadline::NONE, &handler).await.unwrap();

    assert_nothing_retried(&outcome);
    let statuses: Vec<&RecordStatus> = outcome.results.iter().map(|(_, status)| status).collect();
    assert_eq!(statuses[0], &RecordStatus::Processed);
    assert_eq!(
        statuses[2],
        &RecordStatus::Duplicate,
        "the copy found the first one's result"
    );
    assert_eq!(stack.tickets(&event_id).await.len(), 1);
    assert_eq!(stack.notifications().await.len(), 1);
    assert_eq!(
        stack.dead_letters().await.len(),
        1,
        "the bad message is dead-lettered once"
    );
}

/// `original-message-id` is a producer-settable attribute: a value that is not shaped like an
/// SQS message id is ignored (the key uses the messageId), never sent to DynamoDB, where a 10 KB
/// or empty key is a ValidationException the record would retry forever as `idempotency-store`.
#[tokio::test]
async fn an_original_message_id_that_is_not_an_sqs_message_id_is_ignored() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 10).await;
    let bad_ids = [
        ("huge-original", "x".repeat(10 * 1024)),
        ("empty-original", String::new()),
        ("address-original", "kim.lee@example.com".to_owned()),
        ("hash-original", "ticket-processor#other".to_owned()),
    ];
    let messages = bad_ids.iter().enumerate().map(|(i, (id, original))| {
        with_attribute(
            message(id, &body(&event_id, &format!("fan-{i}"))),
            attributes::ORIGINAL_MESSAGE_ID,
            original,
        )
    });
    let outcome = stack.run(messages).await;

    assert_nothing_retried(&outcome);
    for (id, _) in &bad_ids {
        assert_eq!(outcome.status(id), Some(&RecordStatus::Processed), "{id}");
        assert_eq!(
            stack.idempotency_status(id).await.as_deref(),
            Some("COMPLETED"),
            "{id}: keyed on its messageId"
        );
    }
    assert_eq!(stack.tickets(&event_id).await.len(), bad_ids.len());
}

/// A poison message carrying SQS's maximum of 10 attributes: dead-lettered with its reason, in
/// the envelope (no room for 5 more attributes), not reported failed until the redrive policy.
#[tokio::test]
async fn a_poison_message_with_ten_attributes_is_dead_lettered_with_its_reason() {
    let stack = Stack::new().await;
    let mut poison = message("crowded", r#"{"eventId":"e-1","userId":"kim.lee@example.com"}"#);
    for i in 0..attributes::MAX_MESSAGE_ATTRIBUTES {
        poison = with_attribute(poison, &format!("producer-{i}"), &format!("v{i}"));
    }
    let outcome = stack.run([poison]).await;
    assert_nothing_retried(&outcome);
    let letters = stack.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(attribute(&letters[0], attributes::ERROR_KIND), Some("invalid-field"));
    assert_eq!(attribute(&letters[0], attributes::DEAD_LETTER_ENVELOPE), Some("1"));
    assert_eq!(attribute(&letters[0], attributes::ORIGINAL_MESSAGE_ID), Some("crowded"));
    let envelope = shared::envelope::Envelope::open(Some("1"), letters[0].body().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(envelope.message_attributes.len(), attributes::MAX_MESSAGE_ATTRIBUTES);
}
