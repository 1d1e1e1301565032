//! Ambiguous sends: a Publish or SendEmail whose request may have reached SNS or SES but whose
//! answer was lost. Neither takes an idempotency token, so resending one may deliver it twice.
//!
//! | what happened | sent? | the SDK retries within the call |
//! |---|---|---|
//! | a throttling answer (`Throttling`, `TooManyRequestsException`, 429, …) | no: the provider refused it | yes (the standard retry mode's backoff) |
//! | the connection could not be opened (refused, DNS, connect timeout) | no: nothing was written | yes |
//! | a 5xx answer that is not a throttling code | unknown: a fault may follow acceptance | **no** ([`AmbiguousSendsAreNotRetried`]) |
//! | a timeout, a connection reset or closed after the request went out, an unreadable answer | unknown | **no** |
//!
//! What happens to an ambiguous send afterwards is the handler's decision ([`crate::handler`]):
//! logged as `ambiguous-send`, the step's lock released, the record retried by SQS after its
//! retry delay, and the redelivery sends again (at least once, per channel: see the README).

use std::error::Error;
use std::marker::PhantomData;

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes that prove the request was refused, not accepted: the SDK's own throttling codes,
/// SNS's KMS throttling (the message was not published) and a bare 429 (`HTTP 429`, the code
/// [`crate::classify`] gives an answer without one).
pub fn is_throttling(code: &str) -> bool {
    aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code)
        || code == "KMSThrottlingException"
        || code == "KMSThrottling"
        || code == "HTTP 429"
}

/// An answer with this status and code may have followed the provider's acceptance: a 5xx that
/// is not a throttling code.
pub fn is_ambiguous_answer(status: u16, code: Option<&str>) -> bool {
    status >= 500 && !code.is_some_and(is_throttling)
}

/// Whether a connector error happened before the request was written: the connection could not
/// be opened. Every other connector error (a reset or a close mid-exchange) may have followed
/// the request.
pub fn request_never_sent(error: &ConnectorError) -> bool {
    let mut source: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(client_error) = current.downcast_ref::<hyper_util::client::legacy::Error>() {
            return client_error.is_connect();
        }
        source = current.source();
    }
    false
}

/// A retry classifier that forbids the SDK's retry of an ambiguous send (the table above); it has
/// no opinion otherwise, so the default classifiers still retry throttling answers and failed
/// connections. `E` is the operation's error type, for its error code.
#[derive(Debug)]
pub struct AmbiguousSendsAreNotRetried<E> {
    _operation_error: PhantomData<fn() -> E>,
}

impl<E> Default for AmbiguousSendsAreNotRetried<E> {
    fn default() -> Self {
        Self {
            _operation_error: PhantomData,
        }
    }
}

impl<E> ClassifyRetry for AmbiguousSendsAreNotRetried<E>
where
    E: Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        if let Some(response) = ctx.response() {
            let code = error
                .as_operation_error()
                .and_then(|error| error.downcast_ref::<E>())
                .and_then(ProvideErrorMetadata::code);
            return if is_ambiguous_answer(response.status().as_u16(), code) {
                RetryAction::RetryForbidden
            } else {
                RetryAction::NoActionIndicated
            };
        }
        match error.as_connector_error() {
            Some(connector) if request_never_sent(connector) => RetryAction::NoActionIndicated,
            // A timeout, a reset or close after connecting, an answer that could not be read.
            _ if error.is_timeout_error() || error.is_response_error() || error.is_connector_error() => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "Ambiguous sends are not retried"
    }

    // Runs after the SDK's classifiers; a RetryForbidden from any classifier is final anyway.
    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_5xx_is_ambiguous_unless_its_code_is_throttling() {
        assert!(is_ambiguous_answer(500, Some("InternalFailure")));
        assert!(is_ambiguous_answer(503, None));
        assert!(!is_ambiguous_answer(503, Some("SlowDown")));
        assert!(!is_ambiguous_answer(429, None));
        assert!(!is_ambiguous_answer(400, Some("Throttling")));
        assert!(is_throttling("TooManyRequestsException") && is_throttling("KMSThrottling"));
        assert!(!is_throttling("InternalError"));
    }
}
