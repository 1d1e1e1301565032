//! The smallest Lambda function lambda_runtime makes: the init-time baseline of the benchmark.
//! No logging, no configuration, no AWS clients, so its init is the runtime's alone.

use lambda_runtime::{LambdaEvent, service_fn};

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(event.payload)
    }))
    .await
}
