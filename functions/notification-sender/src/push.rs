//! The push channel: one SNS Publish, to the user's device endpoint when the message names one,
//! else to the configured topic with `userId`, `eventId` and `kind` attributes for subscription
//! filter policies.

use std::fmt;

use aws_sdk_sns::types::MessageAttributeValue;
use futures::future::{BoxFuture, FutureExt};
use messages::NotificationKind;

use crate::classify::{FailureClass, SNS_PUBLISH, SendFailure, publish_failure};

/// Where a push is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    Topic(String),
    /// A platform application endpoint (one device).
    Endpoint(String),
}

impl PushTarget {
    /// A device endpoint comes from the message, so its refusal is the user's; the topic and every
    /// parameter of a topic publish are ours, so a refusal of one is our misconfiguration.
    pub fn refusal_class(&self) -> FailureClass {
        match self {
            PushTarget::Endpoint(_) => FailureClass::Rejected,
            PushTarget::Topic(_) => FailureClass::Misconfigured,
        }
    }
}

impl fmt::Display for PushTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushTarget::Topic(arn) => write!(f, "topic {arn}"),
            PushTarget::Endpoint(arn) => write!(f, "device endpoint {arn}"),
        }
    }
}

/// One push notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub target: PushTarget,
    pub text: String,
    pub user_id: String,
    pub event_id: String,
    pub kind: NotificationKind,
}

/// Publishes pushes. [`SnsPushSender`] in production; tests wrap it to inject faults.
pub trait PushSender: Send + Sync {
    /// Publishes `push` and returns SNS's message id.
    fn publish<'a>(&'a self, push: &'a Push) -> BoxFuture<'a, Result<String, SendFailure>>;
}

#[derive(Debug, Clone)]
pub struct SnsPushSender {
    client: aws_sdk_sns::Client,
}

impl SnsPushSender {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        Self { client }
    }
}

impl PushSender for SnsPushSender {
    fn publish<'a>(&'a self, push: &'a Push) -> BoxFuture<'a, Result<String, SendFailure>> {
        async move {
            let request = self.client.publish().message(&push.text);
            let request = match &push.target {
                // Filter policies only exist on topic subscriptions; a device endpoint has no
                // subscribers to filter, so it gets the bare message.
                PushTarget::Topic(arn) => request
                    .topic_arn(arn)
                    .message_attributes("userId", string_attribute(&push.user_id)?)
                    .message_attributes("eventId", string_attribute(&push.event_id)?)
                    .message_attributes("kind", string_attribute(push.kind.as_str())?),
                PushTarget::Endpoint(arn) => request.target_arn(arn),
            };
            let output = request
                .send()
                .await
                .map_err(|error| publish_failure(&error, push.target.refusal_class()))?;
            Ok(output.message_id().unwrap_or_default().to_owned())
        }
        .boxed()
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, SendFailure> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendFailure::new(FailureClass::Misconfigured, SNS_PUBLISH, "ConstructionFailure", e))
}
