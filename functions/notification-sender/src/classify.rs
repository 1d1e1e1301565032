//! Which SNS and SES errors can go away on a retry, and which cannot.
//!
//! | class | SES SendEmail | SNS Publish | what happens |
//! |---|---|---|---|
//! | [`FailureClass::Rejected`] | `MessageRejected` about the recipient or the content (not naming our sender, not "not verified"), `BadRequestException`, moto's `InvalidParameterValue` (address without a domain) | to a device endpoint: `EndpointDisabled`, `InvalidParameter`, `InvalidParameterValue`, `ValidationException`, `NotFound` | the channel's step completes as rejected: never retried |
//! | [`FailureClass::Misconfigured`] | `MessageRejected` naming our sender or saying an identity is "not verified" (an unverified sender; in the sandbox, every unverified recipient), `AccountSuspendedException`, `SendingPausedException`, `MailFromDomainNotVerifiedException`, `NotFoundException` (configuration set), credential errors | on our topic: `NotFound`, `InvalidParameter`, `InvalidParameterValue`, `ValidationException`; `AuthorizationError`, `PlatformApplicationDisabled`, `InvalidSecurity`, KMS errors but throttling, credential errors | the record goes to the DLQ; the step is not stored, so a redrive after the fix sends |
//! | [`FailureClass::Transient`] | `TooManyRequestsException`, `LimitExceededException`, any throttling code, 429, unknown 4xx codes, a connection that could not be opened | `KMSThrottling`, any throttling code, 429, unknown 4xx codes, a connection that could not be opened | the record is retried by SQS |
//! | [`FailureClass::Ambiguous`] | a 5xx that is not throttling, a timeout, a connection lost after the request went out, an unreadable answer | the same | not retried by the SDK ([`crate::ambiguous`]); logged `ambiguous-send`, the record retried by SQS |
//!
//! Rejected means "this message or this recipient": the same request can never succeed, so
//! retrying only repeats the refusal. Misconfigured means "every message fails until an operator
//! acts": storing a rejection would make a later redrive skip the message, and for a sender SES
//! refuses it would drop every email of a sale. An error this table does not know is transient: a
//! retry is bounded by the queue's `maxReceiveCount`, after which the message reaches the DLQ
//! anyway, while guessing "permanent" could silently drop a notification. Failing to build a
//! request (a bug here) counts as misconfigured: it needs a human.

use std::fmt::Display;
use std::time::SystemTime;

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sns::operation::publish::PublishError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::ambiguous;
use shared::redact::mask_emails_in;

/// Whether a send can succeed if tried again, and who can make it succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The service refused this message or recipient; trying again cannot help.
    Rejected,
    /// Our configuration or account is wrong; no message succeeds until an operator fixes it.
    Misconfigured,
    /// Throttling, a connection that could not be opened, an unknown error; the provider did not
    /// take the message, and a later try may succeed.
    Transient,
    /// The request may have reached the provider and been accepted, but the answer was lost (a
    /// 5xx, a timeout, a connection lost after the request went out): sent or not, nobody knows.
    Ambiguous,
    /// Not attempted: the send budget has no slot this invocation can wait for, or too little
    /// time is left to finish a send. Nothing reached the provider.
    Deferred,
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
    /// The earliest time a retry can succeed, when known (a deferred send: the budget's next slot).
    pub retry_not_before: Option<SystemTime>,
}

impl SendFailure {
    pub fn new(class: FailureClass, operation: &'static str, code: impl Into<String>, message: impl Display) -> Self {
        Self {
            class,
            operation,
            code: code.into(),
            message: mask_emails_in(&message.to_string()).into_owned(),
            retry_not_before: None,
        }
    }

    /// A retry cannot succeed before `at`.
    pub fn retry_not_before(mut self, at: Option<SystemTime>) -> Self {
        self.retry_not_before = at;
        self
    }
}

pub const SNS_PUBLISH: &str = "SNS Publish";
pub const SES_SEND_EMAIL: &str = "SES SendEmail";

/// `refused` is the class of a refusal of the publish's parameters: it depends on whose the target
/// is ([`crate::push::PushTarget::refusal_class`]).
pub fn publish_failure(error: &SdkError<PublishError, HttpResponse>, refused: FailureClass) -> SendFailure {
    classify(SNS_PUBLISH, error, |service_error| {
        use PublishError as E;
        Some(match service_error {
            E::EndpointDisabledException(_)
            | E::InvalidParameterException(_)
            | E::InvalidParameterValueException(_)
            | E::ValidationException(_)
            | E::NotFoundException(_) => refused,
            E::AuthorizationErrorException(_)
            | E::InvalidSecurityException(_)
            | E::PlatformApplicationDisabledException(_)
            | E::KmsAccessDeniedException(_)
            | E::KmsDisabledException(_)
            | E::KmsInvalidStateException(_)
            | E::KmsNotFoundException(_)
            | E::KmsOptInRequired(_) => FailureClass::Misconfigured,
            E::KmsThrottlingException(_) => FailureClass::Transient,
            // InternalError (500): decided by its status, ambiguous.
            _ => return None,
        })
    })
}

/// `sender` is the configured From address (`EMAIL_SENDER`): a refusal that names it is ours.
pub fn send_email_failure(error: &SdkError<SendEmailError, HttpResponse>, sender: &str) -> SendFailure {
    classify(SES_SEND_EMAIL, error, |service_error| {
        use SendEmailError as E;
        Some(match service_error {
            E::MessageRejected(_) if refuses_our_identity(service_error.message(), sender) => {
                FailureClass::Misconfigured
            }
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
            let class = match service_class(service_error) {
                Some(class) => class,
                None if ambiguous::is_ambiguous_answer(status, service_error.code()) => FailureClass::Ambiguous,
                None => class_of_unmodeled(service_error.code()),
            };
            let code = service_error
                .code()
                .map_or_else(|| format!("HTTP {status}"), str::to_owned);
            let message = service_error.message().unwrap_or("no message");
            return SendFailure::new(class, operation, code, message);
        }
        SdkError::TimeoutError(_) => (FailureClass::Ambiguous, "Timeout"),
        SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
            Some(connector) if ambiguous::request_never_sent(connector) => (FailureClass::Transient, "DispatchFailure"),
            _ => (FailureClass::Ambiguous, "DispatchFailure"),
        },
        SdkError::ResponseError(_) => (FailureClass::Ambiguous, "ResponseError"),
        SdkError::ConstructionFailure(_) => (FailureClass::Misconfigured, "ConstructionFailure"),
        _ => (FailureClass::Ambiguous, "Unknown"),
    };
    SendFailure::new(class, operation, code, shared::error_chain(error))
}

/// SES refuses a sender it has not verified (or, in the sandbox, any recipient it has not) with
/// `MessageRejected` "Email address is not verified. The following identities failed the check
/// …: <identities>" (moto: "Email address not verified <sender>"), and a sender this account may
/// not use with "… is not authorized to send …": problems of ours, not of the recipient.
fn refuses_our_identity(message: Option<&str>, sender: &str) -> bool {
    let Some(message) = message.map(str::to_ascii_lowercase) else {
        return false;
    };
    let address = sender_address(sender).to_ascii_lowercase();
    message.contains("not verified")
        || message.contains("not authorized")
        || (!address.is_empty() && message.contains(&address))
}

/// The address of a From value that may carry a display name (`Tickets <tickets@example.com>`).
fn sender_address(sender: &str) -> &str {
    match (sender.rfind('<'), sender.rfind('>')) {
        (Some(open), Some(close)) if open < close => sender[open + 1..close].trim(),
        _ => sender.trim(),
    }
}

/// Codes every AWS service may answer with, whatever the operation's model says. Credential
/// errors are misconfiguration; 4xx throttling codes and anything unknown below 500 are transient
/// (5xx are ambiguous; see the module comment).
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
