//! Building SQS events in tests (feature `testing`).

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
