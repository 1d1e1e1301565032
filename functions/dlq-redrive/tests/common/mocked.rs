//! SQS clients answered by aws-smithy-mocks rules, for exact fault injection and for the
//! move-task calls moto does not implement. Every rule records the requests it answered.

use std::sync::{Arc, Mutex};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::change_message_visibility_batch::ChangeMessageVisibilityBatchOutput;
use aws_sdk_sqs::operation::delete_message_batch::DeleteMessageBatchOutput;
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchResultEntry, DeleteMessageBatchResultEntry, Message,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchResultEntry,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use dlq_redrive::{Redrive, Route};

/// A route on made-up AWS queues (nothing is sent anywhere: the client is mocked).
pub(crate) fn route(name: &str, fifo: bool) -> Route {
    let suffix = if fifo { ".fifo" } else { "" };
    let url = |queue: &str| format!("https://sqs.us-east-1.amazonaws.com/123456789012/{name}-{queue}{suffix}");
    let arn = |queue: &str| format!("arn:aws:sqs:us-east-1:123456789012:{name}-{queue}{suffix}");
    Route {
        name: name.to_owned(),
        dlq_url: url("dlq"),
        dlq_arn: arn("dlq"),
        source_url: url("queue"),
        source_arn: arn("queue"),
        move_destinations: Vec::new(),
    }
}

pub(crate) fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_sqs, RuleMode::MatchAny, rules, |config| config
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled()))
}

pub(crate) fn redrive(client: Client, routes: &[&Route]) -> Redrive {
    Redrive::new(super::config(routes, 3), client).with_timing(super::timing())
}

/// What a rule saw, one item per call (or per entry).
#[derive(Debug)]
pub(crate) struct Calls<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Calls<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for Calls<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T: Clone> Calls<T> {
    pub(crate) fn push(&self, item: T) {
        self.0.lock().unwrap().push(item);
    }

    pub(crate) fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}

/// A DLQ message: messageId `id`, receipt handle `rh-<id>`, body `<id>`.
pub(crate) fn message(id: &str, group: Option<&str>) -> Message {
    let mut message = Message::builder()
        .message_id(id)
        .receipt_handle(format!("rh-{id}"))
        .body(id)
        .attributes(MessageSystemAttributeName::SentTimestamp, "1700000000000");
    if let Some(group) = group {
        message = message.attributes(MessageSystemAttributeName::MessageGroupId, group);
    }
    message.build()
}

/// The DLQ returns `messages` once, then nothing.
pub(crate) fn receive_once(messages: Vec<Message>) -> Rule {
    mock!(Client::receive_message)
        .sequence()
        .output(move || {
            ReceiveMessageOutput::builder()
                .set_messages(Some(messages.clone()))
                .build()
        })
        .output(|| ReceiveMessageOutput::builder().build())
        .repeatedly()
        .build()
}

pub(crate) fn depth() -> Rule {
    mock!(Client::get_queue_attributes).then_output(|| {
        GetQueueAttributesOutput::builder()
            .attributes(QueueAttributeName::ApproximateNumberOfMessages, "0")
            .attributes(QueueAttributeName::ApproximateNumberOfMessagesNotVisible, "0")
            .build()
    })
}

/// SendMessageBatch that records each call's bodies and refuses entries whose body is in `refuse`.
pub(crate) fn send(refuse: &'static [&'static str], calls: Calls<Vec<String>>) -> Rule {
    mock!(Client::send_message_batch).then_compute_output(move |request| {
        let entries = request.entries();
        calls.push(entries.iter().map(|e| e.message_body().to_owned()).collect());
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for entry in entries {
            if refuse.contains(&entry.message_body()) {
                failed.push(
                    BatchResultErrorEntry::builder()
                        .id(entry.id())
                        .sender_fault(false)
                        .code("InternalError")
                        .message("injected per-entry failure")
                        .build()
                        .unwrap(),
                );
            } else {
                successful.push(
                    SendMessageBatchResultEntry::builder()
                        .id(entry.id())
                        .message_id(format!("new-{}", entry.message_body()))
                        .md5_of_message_body("-")
                        .build()
                        .unwrap(),
                );
            }
        }
        SendMessageBatchOutput::builder()
            .set_successful(Some(successful))
            .set_failed(Some(failed))
            .build()
            .unwrap()
    })
}

/// DeleteMessageBatch that records receipt handles and refuses those in `refuse`.
pub(crate) fn delete(refuse: &'static [&'static str], calls: Calls<String>) -> Rule {
    mock!(Client::delete_message_batch).then_compute_output(move |request| {
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for entry in request.entries() {
            calls.push(entry.receipt_handle().to_owned());
            if refuse.contains(&entry.receipt_handle()) {
                failed.push(
                    BatchResultErrorEntry::builder()
                        .id(entry.id())
                        .sender_fault(false)
                        .code("InternalError")
                        .message("injected per-entry failure")
                        .build()
                        .unwrap(),
                );
            } else {
                successful.push(DeleteMessageBatchResultEntry::builder().id(entry.id()).build().unwrap());
            }
        }
        DeleteMessageBatchOutput::builder()
            .set_successful(Some(successful))
            .set_failed(Some(failed))
            .build()
            .unwrap()
    })
}

/// ChangeMessageVisibilityBatch that records (receipt handle, timeout) and accepts everything.
pub(crate) fn change_visibility(calls: Calls<(String, i32)>) -> Rule {
    mock!(Client::change_message_visibility_batch).then_compute_output(move |request| {
        let mut successful = Vec::new();
        for entry in request.entries() {
            calls.push((
                entry.receipt_handle().to_owned(),
                entry.visibility_timeout().unwrap_or(-1),
            ));
            successful.push(
                ChangeMessageVisibilityBatchResultEntry::builder()
                    .id(entry.id())
                    .build()
                    .unwrap(),
            );
        }
        ChangeMessageVisibilityBatchOutput::builder()
            .set_successful(Some(successful))
            .set_failed(Some(Vec::new()))
            .build()
            .unwrap()
    })
}
