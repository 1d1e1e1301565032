use dlq_redrive::{Redrive, RedriveConfig};
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::Environment;
use shared::metrics::Metrics;

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let environment = Environment::from_process();
    let config = RedriveConfig::from_env(&environment)?;
    let function_name = environment
        .optional(shared::worker::env::AWS_LAMBDA_FUNCTION_NAME)
        .unwrap_or_else(|| "dlq-redrive".to_owned());
    let metrics = Metrics::stdout(function_name, dlq_redrive::metrics::ALL);
    let sqs = aws_sdk_sqs::Client::new(&shared::worker::sdk_config().await);
    let redrive = Redrive::new(config, sqs).with_metrics(metrics);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let redrive = &redrive;
        async move { redrive.invoke(event.payload, &event.context).await }
    }))
    .await
}
