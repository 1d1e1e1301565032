//! What the proxy's tests share: SDK configuration pointed at a proxy, and what one call came to
//! as the SDK read it.
#![allow(dead_code)]

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Attempts the test clients' SDK makes at most (standard retry mode).
pub(crate) const ATTEMPTS: u32 = 3;

/// Clients of `endpoint` that retry fast, so a test sees every attempt quickly.
pub(crate) async fn sdk(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "emulation-test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .load()
        .await
}

/// What one call came to: the error's code and HTTP status, or success.
#[derive(Debug)]
pub(crate) struct Answer {
    pub ok: bool,
    pub code: Option<String>,
    pub message: Option<String>,
    pub status: Option<u16>,
    pub dispatch_failure: bool,
}

pub(crate) fn answer<O, E: ProvideErrorMetadata>(
    result: Result<O, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Answer {
    match result {
        Ok(_) => Answer {
            ok: true,
            code: None,
            message: None,
            status: None,
            dispatch_failure: false,
        },
        Err(error) => Answer {
            ok: false,
            code: error.code().map(str::to_owned),
            message: error.message().map(str::to_owned),
            status: error.raw_response().map(|r| r.status().as_u16()),
            dispatch_failure: matches!(error, SdkError::DispatchFailure(_)),
        },
    }
}
