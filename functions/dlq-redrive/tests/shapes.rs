//! Dead letters of both shapes `shared` writes (plain, and enveloped when the message's own
//! attributes leave no room for the reason), made by shared's dead-letter sink on moto: a dry
//! run reads both (the original bodies, addresses masked), and a replay sends each back so that a
//! worker sees the message as the producer sent it.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{drain, route, sqs};
use dlq_redrive::letter::to_envelope;
use serde_json::{Value, json};
use shared::dead_letter::SqsDeadLetterQueue;
use shared::testing::{event, message, sqs_message};
use shared::{BatchProcessor, Deadline, Record, RecordError, attributes};

const ADDRESSES: [&str; 2] = ["kim.lee@example.com", "ana.ruiz@example.org"];

/// A poison message with `count` attributes of its own (one of them binary).
fn poison(id: &str, body: &str, count: usize) -> Value {
    let mut message = message(id, body);
    for i in 0..count.saturating_sub(1) {
        message["messageAttributes"][format!("producer-{i}")] =
            json!({"stringValue": format!("{id}-{i}"), "dataType": "String"});
    }
    if count > 0 {
        message["messageAttributes"]["blob"] = json!({"binaryValue": "AAEC/w==", "dataType": "Binary"});
    }
    message
}

/// An SQS message as Lambda hands it to a worker.
fn as_record(received: &aws_sdk_sqs::types::Message) -> Record {
    let attributes: serde_json::Map<String, Value> = received
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), serde_json::to_value(to_envelope(value)).unwrap()))
        .collect();
    let mut lambda = message(received.message_id().unwrap(), received.body().unwrap());
    lambda["messageAttributes"] = Value::Object(attributes);
    Record::new(sqs_message(lambda), Deadline::NONE).unwrap()
}

#[tokio::test]
async fn plain_and_enveloped_dead_letters_are_inspected_and_replayed_as_the_original_messages() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    // Three poison messages: room for the 5 dead-letter attributes (plain), none (10 of their own:
    // enveloped, and too many for the redrive attributes too), and 8 (enveloped when dead-lettered,
    // back to plain on redrive, where only 2 attributes are added).
    let sent = [
        poison("plain", r#"{"userId":"kim.lee@example.com"}"#, 2),
        poison("ten", r#"{"contact":"ana.ruiz@example.org"}"#, 10),
        poison("eight", "not json at all", 8),
    ];
    let refuse = |_: Record| async { Err::<(), _>(RecordError::permanent("invalid-field", "refused by the test")) };
    let outcome = BatchProcessor::default()
        .with_dead_letters(Arc::new(SqsDeadLetterQueue::new(sqs.clone(), &route.dlq_url)))
        .run(event(sent.clone()), Deadline::NONE, &refuse)
        .await
        .unwrap();
    assert_eq!(
        outcome.summary.permanent, 3,
        "every one dead-lettered: {:?}",
        outcome.results
    );

    let redrive = common::redrive(&sqs, &[&route], 3);
    let dry_run = redrive
        .handle(json!({"queue": "ticket"}), Deadline::NONE)
        .await
        .unwrap();
    let text = serde_json::to_string(&dry_run).unwrap();
    let inspection = &serde_json::to_value(&dry_run).unwrap()["queues"][0]["inspection"];
    assert_eq!(inspection["byErrorKind"]["invalid-field"], 3, "{text}");
    assert_eq!(inspection["wouldMove"], 3, "{text}");
    let bodies: Vec<&str> = inspection["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.contains(&r#"{"contact":"a***@example.org"}"#),
        "the envelope is opened: {bodies:?}"
    );
    assert!(bodies.contains(&r#"{"userId":"k***@example.com"}"#), "{bodies:?}");
    for address in ADDRESSES {
        assert!(!text.contains(address), "{address} in clear in the dry run: {text}");
    }

    let replay = redrive
        .handle(json!({"queue": "ticket", "dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    assert!(replay.ok, "{replay:#?}");
    assert_eq!(replay.queues[0].moved, 3);
    let arrived = drain(&sqs, &route.source_url).await;
    assert_eq!(arrived.len(), 3);
    let originals: HashMap<String, _> = sent
        .iter()
        .map(|m| (m["messageId"].as_str().unwrap().to_owned(), sqs_message(m.clone())))
        .collect();
    for received in &arrived {
        let record = as_record(received);
        let id = record.original_message_id().to_owned();
        let original = &originals[&id];
        assert_eq!(record.body(), original.body.as_deref().unwrap(), "{id}");
        for (name, attribute) in &original.message_attributes {
            assert_eq!(record.message_attributes().get(name), Some(attribute), "{id}: {name}");
        }
        assert_eq!(record.string_attribute(attributes::REDRIVE_COUNT), Some("1"));
        let on_the_wire = received.message_attributes().map_or(0, |a| a.len());
        let enveloped = received
            .message_attributes()
            .unwrap()
            .contains_key(attributes::DEAD_LETTER_ENVELOPE);
        match id.as_str() {
            "ten" => assert!(enveloped && on_the_wire == 3, "{id}: goes back enveloped"),
            "eight" => assert!(
                !enveloped && on_the_wire == 10,
                "{id}: fits again once the reason is gone"
            ),
            _ => assert!(!enveloped && on_the_wire == 4, "{id}"),
        }
    }
}
