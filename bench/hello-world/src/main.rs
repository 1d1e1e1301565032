//! The smallest Lambda function lambda_runtime makes: the init-time baseline of the benchmark.
//! No logging, no configuration, no AWS clients, so its init is the runtime's alone.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(event.payload)
    }))
    .await
}
