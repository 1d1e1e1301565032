//! A Lambda function that does only the parts of a worker's init named in `INIT_PROBE`
//! (comma-separated), then serves like hello-world. The benchmark starts it with each part on
//! its own to measure what a worker's init costs beyond the bare runtime's:
//! - `logging`: `shared::logging::init()` (the JSON tracing subscriber and its level filter);
//! - `sdk`: `shared::worker::sdk_config()` (`aws_config::load_defaults`: region, credentials,
//!   endpoint, and the default HTTPS client);
//! - `clients`: a DynamoDB and an SQS client from that configuration, as ticket-processor builds.

use lambda_runtime::{LambdaEvent, service_fn};

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let parts = std::env::var("INIT_PROBE").unwrap_or_default();
    let has = |part: &str| parts.split(',').any(|p| p.trim() == part);
    if has("logging") {
        shared::logging::init();
    }
    let sdk = if has("sdk") {
        Some(shared::worker::sdk_config().await)
    } else {
        None
    };
    let clients = sdk
        .as_ref()
        .filter(|_| has("clients"))
        .map(|sdk| (aws_sdk_dynamodb::Client::new(sdk), aws_sdk_sqs::Client::new(sdk)));
    let clients = &clients;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let _ = clients;
        Ok::<_, lambda_runtime::Error>(event.payload)
    }))
    .await
}
