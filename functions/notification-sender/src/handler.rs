//! The record handler: each channel is its own idempotent step keyed on
//! `<function>#<notificationId>#<channel>`, so a retry after partial success sends only what is
//! missing, and a second message with the same notificationId sends nothing.
//!
//! The record itself does not also run under messageId idempotency: the steps already cover every
//! side effect, on a key that also catches copies with a new messageId (producer duplicates), and
//! a record-level lock would cost two more DynamoDB writes per message for nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sns::config::timeout::TimeoutConfig;
use shared::{Handled, Idempotency, IdempotencyError, Outcome, Record, RecordError, RecordHandler};

use crate::channels::{Channel, ChannelError, ChannelResult, Delivery, conclude};
use crate::classify::{FailureClass, SendFailure};
use crate::config::SenderConfig;
use crate::email::{EmailSender, SesEmailSender};
use crate::metrics;
use crate::plan::Plan;
use crate::push::{PushSender, SnsPushSender};
use shared::redact::{mask_email, mask_emails_in};

/// A whole SNS or SES call with the SDK's retries; a hang becomes a retryable record failure well
/// before a typical function timeout instead of a killed invocation. There is no shorter
/// per-attempt timeout on purpose: Publish and SendEmail take no idempotency token, so an attempt
/// abandoned while the provider is still accepting it would be sent again by the SDK's retry (the
/// chaos run saw an email sent three times that way). The SDK still retries throttling and 5xx
/// answers, which the provider gives instead of sending.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

pub struct NotificationSender {
    idempotency: Idempotency,
    push: Arc<dyn PushSender>,
    email: Arc<dyn EmailSender>,
    push_topic_arn: String,
}

impl NotificationSender {
    pub fn new(
        config: &SenderConfig,
        idempotency: Idempotency,
        push: Arc<dyn PushSender>,
        email: Arc<dyn EmailSender>,
    ) -> Self {
        Self {
            idempotency,
            push,
            email,
            push_topic_arn: config.push_topic_arn.clone(),
        }
    }

    /// SNS and SESv2 senders on clients built from `sdk`, with call timeouts.
    pub fn from_sdk(config: &SenderConfig, idempotency: Idempotency, sdk: &SdkConfig) -> Self {
        let timeouts = TimeoutConfig::builder().operation_timeout(OPERATION_TIMEOUT).build();
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk)
                .timeout_config(timeouts.clone())
                .build(),
        );
        let ses = aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(sdk)
                .timeout_config(timeouts)
                .build(),
        );
        let email = SesEmailSender::new(ses, &config.email_sender, config.ses_configuration_set.clone());
        Self::new(config, idempotency, Arc::new(SnsPushSender::new(sns)), Arc::new(email))
    }

    /// Sends the record's push and email (concurrently: neither waits on the other's failure).
    pub async fn send(&self, record: Record) -> Result<Handled, RecordError> {
        let plan = Plan::from_record(&record, &self.push_topic_arn)?;
        let notification_id = plan.notification.notification_id.as_str();
        tracing::info!(
            notification_id,
            kind = plan.notification.kind.as_str(),
            language = plan.language.code(),
            has_email = plan.email.is_some(),
            "sending notification"
        );
        let push = self.step(
            &record,
            notification_id,
            Channel::Push,
            // A device endpoint comes from the message: whatever it holds, no address in clear.
            mask_emails_in(&plan.push.target.to_string()).into_owned(),
            || self.push.publish(&plan.push),
        );
        let email = async {
            match &plan.email {
                Some(email) => {
                    self.step(&record, notification_id, Channel::Email, mask_email(&email.to), || {
                        self.email.send(email)
                    })
                    .await
                }
                None => ChannelResult::NoAddress,
            }
        };
        let (push, email) = futures::join!(push, email);
        let results = [(Channel::Push, push), (Channel::Email, email)];
        metrics::observe_time_to_send(&record, &results, std::time::SystemTime::now());
        conclude(record.message_id(), notification_id, &results)
    }

    /// Runs one channel's send under its step key. `send` is only called when this attempt holds
    /// the step's lock; a rejection completes the step (stored, so never retried), any other
    /// failure releases it for the next attempt. Counts what happened in the invocation's metrics.
    async fn step<F, Fut>(
        &self,
        record: &Record,
        notification_id: &str,
        channel: Channel,
        recipient: String,
        send: F,
    ) -> ChannelResult
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, SendFailure>>,
    {
        let key = self.idempotency.key(&format!("{notification_id}#{channel}"));
        // The payload is the notificationId itself: every copy of a notification, whatever else
        // differs (a locale, a contact), is the same notification and must not be sent twice.
        let outcome = self
            .idempotency
            .run(&key, notification_id.as_bytes(), record.deadline(), || async {
                match send().await {
                    Ok(message_id) => Ok(Delivery::Delivered { message_id }),
                    Err(failure) if failure.class == FailureClass::Rejected => Ok(Delivery::Rejected {
                        code: failure.code,
                        reason: failure.message,
                    }),
                    Err(failure) => Err(ChannelError {
                        channel,
                        message_id: record.message_id().to_owned(),
                        notification_id: notification_id.to_owned(),
                        recipient: recipient.clone(),
                        failure,
                    }),
                }
            })
            .await;
        let counts = record.metrics();
        match &outcome {
            Ok(Outcome::Executed(Delivery::Delivered { .. })) => counts.add(metrics::sent(channel), 1),
            Ok(Outcome::Executed(Delivery::Rejected { .. })) => counts.add(metrics::SENDS_REJECTED, 1),
            Err(IdempotencyError::Handler(error)) => metrics::count_failure(counts, &error.failure),
            Ok(Outcome::Duplicate(_)) | Err(_) => {}
        }
        let channel = channel.as_str();
        match outcome {
            Ok(Outcome::Executed(Delivery::Delivered { message_id })) => {
                tracing::info!(notification_id, channel, recipient, message_id, "sent");
                ChannelResult::Delivered { earlier: false }
            }
            Ok(Outcome::Duplicate(Delivery::Delivered { message_id })) => {
                tracing::info!(notification_id, channel, recipient, message_id, "already sent; skipped");
                ChannelResult::Delivered { earlier: true }
            }
            Ok(Outcome::Executed(Delivery::Rejected { code, reason })) => {
                tracing::error!(
                    notification_id,
                    channel,
                    recipient,
                    code,
                    reason,
                    "rejected permanently; recorded and not retried"
                );
                ChannelResult::Rejected {
                    earlier: false,
                    code,
                    reason,
                }
            }
            Ok(Outcome::Duplicate(Delivery::Rejected { code, reason })) => {
                tracing::warn!(
                    notification_id,
                    channel,
                    recipient,
                    code,
                    reason,
                    "rejected earlier; skipped"
                );
                ChannelResult::Rejected {
                    earlier: true,
                    code,
                    reason,
                }
            }
            Err(error) => {
                let error = RecordError::from(error);
                tracing::warn!(notification_id, channel, recipient, error_kind = error.kind(), error = %error,
                    "not sent");
                ChannelResult::Failed(error)
            }
        }
    }
}

impl RecordHandler for NotificationSender {
    type Output = Handled;

    async fn handle(&self, record: Record) -> Result<Handled, RecordError> {
        self.send(record).await
    }
}
