//! notification-queue: one SendMessage per notification, FIFO-aware.
//!
//! Sending is safe to repeat: every copy of a notification carries the same deterministic
//! `notificationId`, which notification-sender deduplicates on (and a FIFO queue too, for five
//! minutes, through `MessageDeduplicationId`).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeNameForSends, MessageSystemAttributeValue};
use messages::Notification;
use sha2::{Digest, Sha256};
use shared::RecordError;

/// SQS limits `MessageDeduplicationId` to 128 characters.
const MAX_DEDUPLICATION_ID: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("message {message_id}: notification {notification_id} cannot be serialized: {reason}")]
    Serialize {
        message_id: String,
        notification_id: String,
        reason: String,
    },
    #[error("message {message_id}: SendMessage of notification {notification_id} to {queue_url} failed: {reason}")]
    Send {
        message_id: String,
        notification_id: String,
        queue_url: String,
        reason: String,
    },
}

/// Both retryable: the ticket outcome is already stored, so a re-run of the record only repeats
/// the enqueue (a queue that is missing or denies access is the environment's fault, not the message's).
impl From<NotifyError> for RecordError {
    fn from(error: NotifyError) -> Self {
        RecordError::retryable("notification-enqueue", &error)
    }
}

/// The queue notification-sender consumes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct NotificationQueue {
    client: Client,
    queue_url: String,
}

impl NotificationQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn is_fifo(&self) -> bool {
        self.queue_url.ends_with(".fifo")
    }

    /// Send `notification`; on a FIFO queue grouped by user (a user's notifications stay in
    /// order, users don't wait for each other) and deduplicated by notification id.
    /// `message_id` is the record's, for errors. `trace_header` (the record's `AWSTraceHeader`)
    /// goes on as the notification's `AWSTraceHeader` system attribute, which SQS prefers to the
    /// `X-Amzn-Trace-Id` HTTP header the SDK sets from the invocation's own trace: the
    /// notification joins the request's trace, not this batch invocation's.
    pub async fn enqueue(
        &self,
        notification: &Notification,
        message_id: &str,
        trace_header: Option<&str>,
    ) -> Result<(), NotifyError> {
        let body = serde_json::to_string(notification).map_err(|e| NotifyError::Serialize {
            message_id: message_id.to_owned(),
            notification_id: notification.notification_id.clone(),
            reason: e.to_string(),
        })?;
        let mut request = self.client.send_message().queue_url(&self.queue_url).message_body(body);
        if self.is_fifo() {
            request = request
                .message_group_id(&notification.user_id)
                .message_deduplication_id(deduplication_id(&notification.notification_id));
        }
        if let Some(header) = trace_header {
            let attribute = MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(header)
                .build()
                .expect("the data type is set");
            request = request.message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, attribute);
        }
        request.send().await.map_err(|e| NotifyError::Send {
            message_id: message_id.to_owned(),
            notification_id: notification.notification_id.clone(),
            queue_url: self.queue_url.clone(),
            reason: shared::error_chain(&e),
        })?;
        Ok(())
    }
}

/// The notification id itself, or — when it is longer than SQS allows (`sold-out#<eventId>#<userId>`
/// can reach 266 characters) — `sha256:` and its hex digest, which is just as deterministic.
pub fn deduplication_id(notification_id: &str) -> String {
    if notification_id.len() <= MAX_DEDUPLICATION_ID {
        notification_id.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(notification_id.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::send_message::SendMessageOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[test]
    fn deduplication_ids_fit_sqs_and_stay_deterministic() {
        assert_eq!(deduplication_id("ticket-issued#t-1"), "ticket-issued#t-1");
        let long = format!("sold-out#{}#{}", "e".repeat(128), "u".repeat(128));
        let id = deduplication_id(&long);
        assert!(id.len() <= MAX_DEDUPLICATION_ID, "{id}");
        assert_eq!(id, deduplication_id(&long));
        assert_ne!(id, deduplication_id(&long.replace("#u", "#v")));
    }

    #[tokio::test]
    async fn fifo_sends_group_by_user_and_deduplicate_by_notification_id() {
        let long_user = "u".repeat(128);
        let expected_dedup = deduplication_id(&format!("sold-out#e-1#{long_user}"));
        let rule = mock!(aws_sdk_sqs::Client::send_message)
            .match_requests(move |r| {
                r.message_group_id() == Some(long_user.as_str())
                    && r.message_deduplication_id() == Some(expected_dedup.as_str())
                    && r.message_body().is_some_and(|b| b.contains("\"kind\":\"sold-out\""))
            })
            .then_output(|| SendMessageOutput::builder().message_id("sqs-1").build());
        let client = mock_client!(aws_sdk_sqs, [&rule]);
        let queue = NotificationQueue::new(client, "http://127.0.0.1:1/123456789012/notifications.fifo");
        let notification = Notification::sold_out("e-1", &"u".repeat(128), None, None);
        queue.enqueue(&notification, "m-1", None).await.unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn the_records_trace_header_goes_on_as_the_aws_trace_header_system_attribute() {
        const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let carries = |expected: Option<&'static str>| {
            mock!(aws_sdk_sqs::Client::send_message)
                .match_requests(move |r| {
                    let header = r
                        .message_system_attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeNameForSends::AwsTraceHeader))
                        .map(|v| (v.data_type(), v.string_value()));
                    header == expected.map(|h| ("String", Some(h)))
                })
                .then_output(|| SendMessageOutput::builder().message_id("sqs-1").build())
        };
        let (with, without) = (carries(Some(HEADER)), carries(None));
        let client = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&with, &without]);
        let queue = NotificationQueue::new(client, "http://127.0.0.1:1/123456789012/notifications");
        let notification = Notification::ticket_issued("e-1", "u-1", "t-1", "2026-11-22T10:00:00Z", None, None);
        queue.enqueue(&notification, "m-1", Some(HEADER)).await.unwrap();
        queue.enqueue(&notification, "m-2", None).await.unwrap();
        assert_eq!((with.num_calls(), without.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn standard_sends_carry_no_group_and_failures_are_retryable() {
        let rule = mock!(aws_sdk_sqs::Client::send_message)
            .match_requests(|r| r.message_group_id().is_none() && r.message_deduplication_id().is_none())
            .then_error(|| {
                aws_sdk_sqs::operation::send_message::SendMessageError::QueueDoesNotExist(
                    aws_sdk_sqs::types::error::QueueDoesNotExist::builder()
                        .message("no such queue")
                        .build(),
                )
            });
        let client = mock_client!(aws_sdk_sqs, [&rule]);
        let queue = NotificationQueue::new(client, "http://127.0.0.1:1/123456789012/notifications");
        let notification = Notification::ticket_issued("e-1", "u-1", "t-1", "2026-11-22T10:00:00Z", None, None);
        let error = RecordError::from(queue.enqueue(&notification, "m-7", None).await.unwrap_err());
        assert_eq!(rule.num_calls(), 1);
        assert!(!error.is_permanent());
        assert_eq!(error.kind(), "notification-enqueue");
        for part in ["m-7", "ticket-issued#t-1", "notifications"] {
            assert!(error.message().contains(part), "{part}: {error}");
        }
    }
}
