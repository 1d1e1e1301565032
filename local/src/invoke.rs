//! Invoking a function through the Lambda Invoke API (`/2015-03-31/functions/<fn>/invocations`),
//! which `cargo lambda watch` serves locally. The invocation types are the emulation
//! toolkit's ([`emulation::invoke`]).

use futures::future::BoxFuture;

use emulation::invoke::{Invocation, InvokeError, Invoker};

/// The Invoke API at `endpoint`, through aws-sdk-lambda.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_lambda::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            // An invocation can take as long as the function's timeout.
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(std::time::Duration::from_secs(900))
                    .build(),
            )
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_lambda::Client::from_conf(config),
        }
    }
}

impl Invoker for LambdaInvoker {
    fn invoke<'a>(&'a self, function: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(async move {
            let output = self
                .client
                .invoke()
                .function_name(function)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .map_err(|e| InvokeError {
                    function: function.to_owned(),
                    message: shared::error_chain(&e),
                })?;
            Ok(Invocation {
                function_error: output.function_error,
                payload: output.payload.map(|p| p.into_inner()).unwrap_or_default(),
            })
        })
    }
}
