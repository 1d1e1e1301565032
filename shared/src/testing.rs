//! Building SQS events in tests, and a clock later than the real one (feature `testing`).

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{Value, json};

/// ARN of the standard queue test records come from.
pub const STANDARD_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:test-queue";
/// ARN of the FIFO queue test records come from.
pub const FIFO_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:test-queue.fifo";

/// One SQS message as Lambda delivers it.
pub fn message(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": format!("handle-{message_id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1700000000001"
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": STANDARD_QUEUE_ARN,
        "awsRegion": "us-east-1"
    })
}

/// One FIFO message of `group`.
pub fn fifo_message(message_id: &str, group: &str, body: &str) -> Value {
    let mut message = message(message_id, body);
    message["attributes"]["MessageGroupId"] = json!(group);
    message["attributes"]["MessageDeduplicationId"] = json!(message_id);
    message["attributes"]["SequenceNumber"] = json!("1");
    message["eventSourceARN"] = json!(FIFO_QUEUE_ARN);
    message
}

/// `message` as SQS stamped it `ago` before now (its `SentTimestamp`), for ages and times to
/// ticket or to send.
pub fn sent_ago(mut message: Value, ago: std::time::Duration) -> Value {
    let sent_at = std::time::SystemTime::now() - ago;
    let epoch_ms = sent_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    message["attributes"]["SentTimestamp"] = json!(epoch_ms.to_string());
    message
}

/// The context Lambda passes an invocation: its request id, no deadline, no trace.
pub fn invocation_context(request_id: &str) -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.request_id = request_id.to_owned();
    context
}

/// Add a String message attribute to a message built above.
pub fn with_attribute(mut message: Value, name: &str, value: &str) -> Value {
    message["messageAttributes"][name] = json!({"stringValue": value, "dataType": "String"});
    message
}

/// An `SqsEvent` of these messages.
pub fn event(messages: impl IntoIterator<Item = Value>) -> SqsEvent {
    serde_json::from_value(json!({ "Records": messages.into_iter().collect::<Vec<_>>() }))
        .expect("a well-formed SQS event")
}

/// A single message as an `SqsMessage`.
pub fn sqs_message(message: Value) -> SqsMessage {
    serde_json::from_value(message).expect("a well-formed SQS message")
}

/// Log lines written through [`crate::logging::subscriber`] (the functions' own format), for
/// assertions on what a worker logs.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Nothing captured yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Capture this thread's logs until the guard drops (use a current-thread runtime so every
    /// record's future runs on this thread).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        tracing::subscriber::set_default(crate::logging::subscriber(move || writer.clone()))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Create an idempotency table as the template does (partition key `id`, TTL on `expiration`)
/// with a unique name, and return the name.
pub async fn create_idempotency_table(client: &aws_sdk_dynamodb::Client) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
    };
    let table = format!("idempotency-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("name and type are set"),
        )
        .send()
        .await
        .expect("create the idempotency table");
    client
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expiration")
                .enabled(true)
                .build()
                .expect("name and flag are set"),
        )
        .send()
        .await
        .expect("enable TTL on expiration");
    table
}

/// The real clock shifted by a fixed offset: another invocation, later (an idempotency
/// [`Clock`](crate::idempotency::Clock) for tests of lock expiry).
pub struct Later(pub std::time::Duration);

impl crate::idempotency::Clock for Later {
    fn now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now() + self.0
    }
}

/// The string value of a dead letter's (or any SQS message's) attribute `name`.
pub fn attribute<'a>(message: &'a aws_sdk_sqs::types::Message, name: &str) -> Option<&'a str> {
    message
        .message_attributes()
        .and_then(|attributes| attributes.get(name))
        .and_then(|value| value.string_value())
}

/// Checks the bad records of a batch against what the dead-letter queue holds: each
/// `(message id, error kind)` of `bad` was dead-lettered with that kind, `letters` hold exactly
/// one dead letter per bad record, carrying its original message id and kind and a reason that
/// names the record, with none of `addresses` in clear.
pub fn assert_dead_lettered(
    outcome: &crate::BatchOutcome,
    letters: &[aws_sdk_sqs::types::Message],
    bad: &[(&str, &str)],
    addresses: &[&str],
) {
    use crate::{RecordStatus, attributes};
    for &(id, kind) in bad {
        match outcome.status(id) {
            Some(RecordStatus::DeadLettered(error)) => assert_eq!(error.kind(), kind, "{id}: {error}"),
            other => panic!("{id}: expected dead-lettered as {kind}, got {other:?}"),
        }
        let letter = letters
            .iter()
            .find(|l| attribute(l, attributes::ORIGINAL_MESSAGE_ID) == Some(id))
            .unwrap_or_else(|| panic!("{id} is not in the DLQ"));
        assert_eq!(attribute(letter, attributes::ERROR_KIND), Some(kind), "{id}");
        let reason = attribute(letter, attributes::ERROR_MESSAGE).unwrap_or_default();
        assert!(reason.contains(id), "{id}: the reason names the record: {reason}");
        for address in addresses {
            assert!(!reason.contains(address), "{id}: {address} in clear in {reason}");
        }
    }
    assert_eq!(letters.len(), bad.len(), "one dead letter per bad record");
}
