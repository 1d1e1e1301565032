//! Permanent failures reach a real SQS dead-letter queue (moto), standard and FIFO, with the reason.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use moto_harness::sqs::drain;
use moto_harness::{MotoServer, unique_name};
use shared::dead_letter::SqsDeadLetterQueue;
use shared::testing::{event, fifo_message, message, with_attribute};
use shared::{BatchProcessor, Deadline, Record, RecordError, attributes};

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&MotoServer::shared().sdk_config().await)
}

async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut request = client.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request.send().await.unwrap().queue_url.unwrap()
}

fn string_attributes(message: &aws_sdk_sqs::types::Message) -> HashMap<String, String> {
    message
        .message_attributes()
        .map(|attributes| {
            attributes
                .iter()
                .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

async fn reject_invalid(record: Record) -> Result<(), RecordError> {
    record.json::<serde_json::Value>().map(|_| ())
}

#[tokio::test]
async fn a_poison_message_lands_in_a_standard_dlq_with_its_reason() {
    let client = sqs().await;
    let dlq = create_queue(&client, &unique_name("dlq")).await;
    let processor =
        BatchProcessor::default().with_dead_letters(Arc::new(SqsDeadLetterQueue::new(client.clone(), &dlq)));
    let poison = with_attribute(message("poison-1", "<xml/>"), "tenant", "acme");
    let outcome = processor
        .run(event([message("fine", "{}"), poison]), Deadline::NONE, &reject_invalid)
        .await
        .unwrap();
    assert!(outcome.response().batch_item_failures.is_empty());
    assert_eq!(outcome.summary.permanent, 1);

    let letters = drain(&client, &dlq).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].body(), Some("<xml/>"));
    let attrs = string_attributes(&letters[0]);
    assert_eq!(attrs[attributes::ERROR_KIND], "malformed-body");
    assert_eq!(attrs[attributes::ORIGINAL_MESSAGE_ID], "poison-1");
    assert_eq!(attrs[attributes::SOURCE_QUEUE], shared::testing::STANDARD_QUEUE_ARN);
    assert_eq!(attrs[attributes::RECEIVE_COUNT], "1");
    assert!(attrs[attributes::ERROR_MESSAGE].contains("poison-1"));
    assert_eq!(attrs["tenant"], "acme");
}

/// SQS's maximum of 10 attributes on the poison message: no room for the 5 dead-letter ones, so
/// the dead letter is an envelope (6 attributes), and the envelope gives back the original body and
/// every attribute byte for byte, binary included.
#[tokio::test]
async fn a_poison_message_with_ten_attributes_reaches_the_dlq_in_an_envelope_with_its_reason() {
    let client = sqs().await;
    let dlq = create_queue(&client, &unique_name("dlq")).await;
    let processor =
        BatchProcessor::default().with_dead_letters(Arc::new(SqsDeadLetterQueue::new(client.clone(), &dlq)));
    let mut poison = message("poison-10", "<xml>not json</xml>");
    for i in 0..9 {
        poison = with_attribute(poison, &format!("producer-{i}"), &format!("value {i}"));
    }
    poison["messageAttributes"]["blob"] = serde_json::json!({"binaryValue": "AAEC/w==", "dataType": "Binary.gzip"});
    let outcome = processor
        .run(event([poison.clone()]), Deadline::NONE, &reject_invalid)
        .await
        .unwrap();
    assert!(
        outcome.response().batch_item_failures.is_empty(),
        "dead-lettered, not retried"
    );
    assert_eq!(outcome.summary.permanent, 1);

    let letters = drain(&client, &dlq).await;
    assert_eq!(letters.len(), 1);
    let attrs = string_attributes(&letters[0]);
    assert_eq!(letters[0].message_attributes().unwrap().len(), 6, "{attrs:?}");
    assert_eq!(attrs[attributes::ERROR_KIND], "malformed-body");
    assert_eq!(attrs[attributes::ORIGINAL_MESSAGE_ID], "poison-10");
    assert_eq!(attrs[attributes::DEAD_LETTER_ENVELOPE], "1");
    assert!(attrs[attributes::ERROR_MESSAGE].contains("poison-10"));

    // A worker handed the enveloped letter (a move task, or a redrive that kept the envelope)
    // sees the original message.
    let mut enveloped = message("moved", letters[0].body().unwrap());
    for (name, value) in &attrs {
        enveloped = with_attribute(enveloped, name, value);
    }
    let record = Record::new(shared::testing::sqs_message(enveloped), Deadline::NONE).unwrap();
    assert_eq!(record.body(), "<xml>not json</xml>");
    let original = shared::testing::sqs_message(poison);
    for (name, attribute) in &original.message_attributes {
        assert_eq!(record.message_attributes().get(name), Some(attribute), "{name}");
    }
    assert_eq!(record.original_message_id(), "poison-10");
    assert!(record.string_attribute(attributes::ERROR_KIND).is_none());
}

#[tokio::test]
async fn a_fifo_dlq_keeps_the_group_and_drops_a_resend() {
    let client = sqs().await;
    let dlq = create_queue(&client, &format!("{}.fifo", unique_name("dlq"))).await;
    let processor =
        BatchProcessor::default().with_dead_letters(Arc::new(SqsDeadLetterQueue::new(client.clone(), &dlq)));
    let batch = || {
        event([
            fifo_message("f-poison", "user-7", "nope"),
            fifo_message("f-ok", "user-7", "{}"),
        ])
    };
    let first = processor.run(batch(), Deadline::NONE, &reject_invalid).await.unwrap();
    assert!(first.response().batch_item_failures.is_empty());
    // The same delivery again (say the invocation died after the send): deduplicated by messageId.
    processor.run(batch(), Deadline::NONE, &reject_invalid).await.unwrap();

    let letters = drain(&client, &dlq).await;
    assert_eq!(letters.len(), 1, "the resend was deduplicated");
    let system = letters[0].attributes().unwrap();
    assert_eq!(system[&MessageSystemAttributeName::MessageGroupId], "user-7");
    assert_eq!(system[&MessageSystemAttributeName::MessageDeduplicationId], "f-poison");
}
