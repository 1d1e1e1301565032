//! Which SNS and SES errors can go away on a retry, and which cannot.
//!
//! | class | SES SendEmail | SNS Publish | what happens |
//! |---|---|---|---|
//! | [`FailureClass::Rejected`] | `MessageRejected`, `BadRequestException`, moto's `InvalidParameterValue` (address without a domain) | `EndpointDisabled`, `InvalidParameter`, `InvalidParameterValue`, `ValidationException`, `NotFound` for a device endpoint | the channel's step completes as rejected: never retried |
//! | [`FailureClass::Misconfigured`] | `AccountSuspendedException`, `SendingPausedException`, `MailFromDomainNotVerifiedException`, `NotFoundException` (configuration set), credential errors | `AuthorizationError`, `NotFound` for the topic, `PlatformApplicationDisabled`, `InvalidSecurity`, KMS errors but throttling, credential errors | the record goes to the DLQ; the step is not stored, so a redrive after the fix sends |
//! | [`FailureClass::Transient`] | `TooManyRequestsException`, `LimitExceededException`, any throttling code, 429, 5xx, timeouts, network | `InternalError`, `KMSThrottling`, any throttling code, 429, 5xx, timeouts, network | the record is retried by SQS |
//!
//! Rejected means "this message or this recipient": the same request can never succeed, so
//! retrying only repeats the refusal. Misconfigured means "every message fails until an operator
//! acts": storing a rejection would make a later redrive skip the message. An error this table
//! does not know is transient: a retry is bounded by the queue's `maxReceiveCount`, after which the
//! message reaches the DLQ anyway, while guessing "permanent" could silently drop a notification.
//! Failing to build a request (a bug here) counts as misconfigured: it needs a human.

use std::fmt::Display;

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sns::operation::publish::PublishError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::push::PushTarget;
use shared::redact::mask_emails_in;

/// Whether a send can succeed if tried again, and who can make it succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The service refused this message or recipient; trying again cannot help.
    Rejected,
    /// Our configuration or account is wrong; no message succeeds until an operator fixes it.
    Misconfigured,
    /// Throttling, a service fault, a timeout or the network; a later try may succeed.
    Transient,
}

/// A failed SNS Publish or SES SendEmail. The message has every email address masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed with {code}: {message}")]
pub struct SendFailure {
    pub class: FailureClass,
    /// `SNS Publish` or `SES SendEmail`.
    pub operation: &'static str,
    /// The service's error code (`MessageRejected`), or what failed on our side (`Timeout`).
    pub code: String,
    pub message: String,
}

impl SendFailure {
    pub fn new(class: FailureClass, operation: &'static str, code: impl Into<String>, message: impl Display) -> Self {
        Self {
            class,
            operation,
            code: code.into(),
            message: mask_emails_in(&message.to_string()).into_owned(),
        }
    }
}

pub const SNS_PUBLISH: &str = "SNS Publish";
pub const SES_SEND_EMAIL: &str = "SES SendEmail";

pub fn publish_failure(error: &SdkError<PublishError, HttpResponse>, target: &PushTarget) -> SendFailure {
    classify(SNS_PUBLISH, error, |service_error| {
        use PublishError as E;
        Some(match service_error {
            E::EndpointDisabledException(_)
            | E::InvalidParameterException(_)
            | E::InvalidParameterValueException(_)
            | E::ValidationException(_) => FailureClass::Rejected,
            // A deleted device endpoint is the user's; a missing topic is ours.
            E::NotFoundException(_) => match target {
                PushTarget::Endpoint(_) => FailureClass::Rejected,
                PushTarget::Topic(_) => FailureClass::Misconfigured,
            },
            E::AuthorizationErrorException(_)
            | E::InvalidSecurityException(_)
            | E::PlatformApplicationDisabledException(_)
            | E::KmsAccessDeniedException(_)
            | E::KmsDisabledException(_)
            | E::KmsInvalidStateException(_)
            | E::KmsNotFoundException(_)
            | E::KmsOptInRequired(_) => FailureClass::Misconfigured,
            E::InternalErrorException(_) | E::KmsThrottlingException(_) => FailureClass::Transient,
            _ => return None,
        })
    })
}

pub fn send_email_failure(error: &SdkError<SendEmailError, HttpResponse>) -> SendFailure {
    classify(SES_SEND_EMAIL, error, |service_error| {
        use SendEmailError as E;
        Some(match service_error {
            E::MessageRejected(_) | E::BadRequestException(_) => FailureClass::Rejected,
            E::AccountSuspendedException(_)
            | E::SendingPausedException(_)
            | E::MailFromDomainNotVerifiedException(_)
            | E::NotFoundException(_) => FailureClass::Misconfigured,
            E::TooManyRequestsException(_) | E::LimitExceededException(_) => FailureClass::Transient,
            // SES v1's code for a malformed address, which moto also answers SESv2 with.
            other if other.code() == Some("InvalidParameterValue") => FailureClass::Rejected,
            _ => return None,
        })
    })
}

fn classify<E>(
    operation: &'static str,
    error: &SdkError<E, HttpResponse>,
    service_class: impl FnOnce(&E) -> Option<FailureClass>,
) -> SendFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (class, code) = match error {
        SdkError::ServiceError(context) => {
            let service_error = context.err();
            let status = context.raw().status().as_u16();
            let class = service_class(service_error).unwrap_or_else(|| class_of_unmodeled(service_error.code()));
            let code = service_error
                .code()
                .map_or_else(|| format!("HTTP {status}"), str::to_owned);
            let message = service_error.message().unwrap_or("no message");
            return SendFailure::new(class, operation, code, message);
        }
        SdkError::TimeoutError(_) => (FailureClass::Transient, "Timeout"),
        SdkError::DispatchFailure(_) => (FailureClass::Transient, "DispatchFailure"),
        SdkError::ResponseError(_) => (FailureClass::Transient, "ResponseError"),
        SdkError::ConstructionFailure(_) => (FailureClass::Misconfigured, "ConstructionFailure"),
        _ => (FailureClass::Transient, "Unknown"),
    };
    SendFailure::new(class, operation, code, shared::error_chain(error))
}

/// Codes every AWS service may answer with, whatever the operation's model says. Throttling
/// codes, 429, 5xx and anything unknown are transient (see the module comment).
fn class_of_unmodeled(code: Option<&str>) -> FailureClass {
    const CREDENTIALS: [&str; 7] = [
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    ];
    if code.is_some_and(|code| CREDENTIALS.contains(&code)) {
        FailureClass::Misconfigured
    } else {
        FailureClass::Transient
    }
}
