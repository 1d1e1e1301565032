//! The record handler: each channel is its own idempotent step keyed on
//! `<function>#<notificationId>#<channel>`, so a retry after partial success sends only what is
//! missing, and a second message with the same notificationId sends nothing.
//!
//! The record itself does not also run under messageId idempotency: the steps already cover every
//! side effect, on a key that also catches copies with a new messageId (producer duplicates), and
//! a record-level lock would cost two more DynamoDB writes per message for nothing.

use std::future::Future;
use std::sync::Arc;

use aws_config::SdkConfig;
use shared::worker::WorkerConfig;
use shared::{Handled, Idempotency, IdempotencyError, Outcome, Record, RecordError, RecordHandler};

use crate::budget::SendBudgets;
use crate::channels::{Channel, ChannelError, ChannelResult, Delivery, conclude};
use crate::classify::{FailureClass, SendFailure};
use crate::clients;
use crate::config::SenderConfig;
use crate::email::{EmailSender, SesEmailSender};
use crate::metrics;
use crate::plan::Plan;
use crate::push::{PushSender, SnsPushSender};
use crate::send_quota;
use shared::redact::{mask_email, mask_emails_in};

/// The `outcome` of a log line about a send whose answer was lost ([`crate::ambiguous`]).
pub const AMBIGUOUS_SEND: &str = "ambiguous-send";

pub struct NotificationSender {
    idempotency: Idempotency,
    push: Arc<dyn PushSender>,
    email: Arc<dyn EmailSender>,
    push_topic_arn: String,
    budgets: SendBudgets,
}

impl NotificationSender {
    /// A sender whose budgets, at the configured rates, live in this process only (tests; see
    /// [`NotificationSender::with_budgets`] and [`NotificationSender::from_sdk`]).
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
            budgets: SendBudgets::in_memory(config.push_send_rate, config.email_send_rate),
        }
    }

    /// Sends through these budgets instead.
    pub fn with_budgets(mut self, budgets: SendBudgets) -> Self {
        self.budgets = budgets;
        self
    }

    /// What `main` builds: SNS and SESv2 senders on clients built from `sdk`
    /// ([`crate::clients`]), and send budgets every invocation shares, in the worker's
    /// idempotency table, the email's capped by the account's SES rate ([`crate::send_quota`]).
    pub async fn from_sdk(
        config: &SenderConfig,
        worker: &WorkerConfig,
        idempotency: Idempotency,
        sdk: &SdkConfig,
    ) -> Self {
        let ses = clients::ses(sdk);
        let email_rate = send_quota::email_send_rate(config.email_send_rate, &ses).await;
        let budgets = SendBudgets::on_dynamodb(
            aws_sdk_dynamodb::Client::new(sdk),
            &worker.idempotency_table,
            &idempotency,
            config.push_send_rate,
            email_rate,
        );
        let email = SesEmailSender::new(ses, &config.email_sender, config.ses_configuration_set.clone());
        Self::new(
            config,
            idempotency,
            Arc::new(SnsPushSender::new(clients::sns(sdk))),
            Arc::new(email),
        )
        .with_budgets(budgets)
    }

    pub fn budgets(&self) -> &SendBudgets {
        &self.budgets
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
            (Channel::Push, plan.step_content(Channel::Push)),
            // A device endpoint comes from the message: whatever it holds, no address in clear.
            mask_emails_in(&plan.push.target.to_string()).into_owned(),
            || self.push.publish(&plan.push),
        );
        let email = async {
            match &plan.email {
                Some(email) => {
                    let step = (Channel::Email, plan.step_content(Channel::Email));
                    self.step(&record, notification_id, step, mask_email(&email.to), || {
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

    /// Runs one channel's send under its step key, bound to `content`. `send` is only called when
    /// this attempt holds the step's lock and the channel's budget gave it a slot; a rejection
    /// completes the step (stored, so never retried), any other failure releases it for the next
    /// attempt. Counts what happened in the invocation's metrics.
    async fn step<F, Fut>(
        &self,
        record: &Record,
        notification_id: &str,
        (channel, content): (Channel, Vec<u8>),
        recipient: String,
        send: F,
    ) -> ChannelResult
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, SendFailure>>,
    {
        let key = self.idempotency.key(&format!("{notification_id}#{channel}"));
        // The payload is the step's content (`Plan::step_content`): a copy of the notification is
        // skipped, another notification reusing its id is a permanent PayloadMismatch.
        let outcome = self
            .idempotency
            .run(&key, &content, record.deadline(), || async {
                let failed = |failure| ChannelError {
                    channel,
                    message_id: record.message_id().to_owned(),
                    notification_id: notification_id.to_owned(),
                    recipient: recipient.clone(),
                    failure,
                };
                // Holding the step's lock: wait for this channel's slot, or send nothing.
                self.budgets.of(channel).take(record.deadline()).await.map_err(failed)?;
                match send().await {
                    Ok(message_id) => Ok(Delivery::Delivered { message_id }),
                    Err(failure) if failure.class == FailureClass::Rejected => Ok(Delivery::Rejected {
                        code: failure.code,
                        reason: failure.message,
                    }),
                    Err(failure) => Err(failed(failure)),
                }
            })
            .await;
        step_result(record, notification_id, channel, &recipient, outcome)
    }
}

/// Counts a channel step's outcome in the invocation's metrics, logs it (the recipient masked),
/// and gives the channel's result.
fn step_result(
    record: &Record,
    notification_id: &str,
    channel: Channel,
    recipient: &str,
    outcome: Result<Outcome<Delivery>, IdempotencyError<ChannelError>>,
) -> ChannelResult {
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
            if let IdempotencyError::Handler(failed) = &error
                && failed.failure.class == FailureClass::Ambiguous
            {
                tracing::warn!(
                    notification_id,
                    channel,
                    recipient,
                    code = failed.failure.code,
                    outcome = AMBIGUOUS_SEND,
                    "ambiguous-send: the provider may have accepted it; not recorded, a redelivery sends again"
                );
            }
            let error = RecordError::from(error);
            tracing::warn!(notification_id, channel, recipient, error_kind = error.kind(), error = %error,
                "not sent");
            ChannelResult::Failed(error)
        }
    }
}

impl RecordHandler for NotificationSender {
    type Output = Handled;

    async fn handle(&self, record: Record) -> Result<Handled, RecordError> {
        self.send(record).await
    }
}
