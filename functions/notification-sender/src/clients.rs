//! The SNS and SESv2 clients the senders use, as production builds them: a time limit on each
//! call, and no SDK retry of a send that may have reached the provider ([`crate::ambiguous`]).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sns::config::timeout::TimeoutConfig;
use aws_sdk_sns::operation::publish::PublishError;

use crate::ambiguous::AmbiguousSendsAreNotRetried;

/// A whole SNS or SES call with the SDK's retries; a hang becomes a retryable record failure
/// before the function's timeout instead of a killed invocation. 8 s covers the standard retry
/// mode's three attempts at a throttled send (backoffs of at most 1 s and 2 s) with SES's
/// slowest answers to spare. There is no shorter per-attempt timeout on purpose: Publish and
/// SendEmail take no idempotency token, and an answer lost to a timeout is ambiguous
/// ([`crate::ambiguous`]). The SDK retries only answers that prove the send was refused
/// (throttling) and connections that could not be opened. No send starts unless this much time,
/// and the step's writes, are left before the invocation's deadline
/// ([`crate::budget::SEND_DEADLINE_MARGIN`]).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(8);

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder().operation_timeout(SEND_TIMEOUT).build()
}

/// The SNS client for Publish, from `sdk` (region, credentials, endpoint, retry mode).
pub fn sns(sdk: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(sdk)
            .timeout_config(timeouts())
            .retry_classifier(AmbiguousSendsAreNotRetried::<PublishError>::default())
            .build(),
    )
}

/// The SESv2 client for SendEmail, from `sdk`.
pub fn ses(sdk: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(sdk)
            .timeout_config(timeouts())
            .retry_classifier(AmbiguousSendsAreNotRetried::<SendEmailError>::default())
            .build(),
    )
}
