//! The email channel: one SESv2 SendEmail with Simple content (subject, text and HTML bodies)
//! from the configured sender, optionally under a configuration set.

use std::fmt;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use futures::future::{BoxFuture, FutureExt};

use crate::classify::{FailureClass, SES_SEND_EMAIL, SendFailure, send_email_failure};
use crate::templates::RenderedEmail;
use shared::redact::mask_email;

/// One email to one recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub content: RenderedEmail,
}

/// Masks the recipient, so a stray `{:?}` cannot log an address.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &mask_email(&self.to))
            .field("subject", &self.content.subject)
            .finish_non_exhaustive()
    }
}

/// Sends emails. [`SesEmailSender`] in production; tests wrap it to inject faults.
pub trait EmailSender: Send + Sync {
    /// Sends `email` and returns SES's message id.
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<String, SendFailure>>;
}

#[derive(Debug, Clone)]
pub struct SesEmailSender {
    client: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesEmailSender {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set,
        }
    }
}

impl EmailSender for SesEmailSender {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<String, SendFailure>> {
        async move {
            let message = Message::builder()
                .subject(utf8(&email.content.subject)?)
                .body(
                    Body::builder()
                        .text(utf8(&email.content.text)?)
                        .html(utf8(&email.content.html)?)
                        .build(),
                )
                .build();
            let output = self
                .client
                .send_email()
                .from_email_address(&self.from)
                .destination(Destination::builder().to_addresses(&email.to).build())
                .content(EmailContent::builder().simple(message).build())
                .set_configuration_set_name(self.configuration_set.clone())
                .send()
                .await
                .map_err(|error| send_email_failure(&error, &self.from))?;
            Ok(output.message_id().unwrap_or_default().to_owned())
        }
        .boxed()
    }
}

/// Korean text needs an explicit charset: SES assumes 7-bit ASCII without one.
fn utf8(data: &str) -> Result<Content, SendFailure> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| SendFailure::new(FailureClass::Misconfigured, SES_SEND_EMAIL, "ConstructionFailure", e))
}
