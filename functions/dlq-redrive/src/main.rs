use dlq_redrive::{Redrive, RedriveConfig};
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::Environment;

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let config = RedriveConfig::from_env(&Environment::from_process())?;
    let sqs = aws_sdk_sqs::Client::new(&shared::worker::sdk_config().await);
    let redrive = Redrive::new(config, sqs);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let redrive = &redrive;
        async move {
            redrive
                .handle(event.payload, shared::Deadline::from_context(&event.context))
                .await
        }
    }))
    .await
}
