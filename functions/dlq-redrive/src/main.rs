use dlq_redrive::{Redrive, RedriveConfig, Report, RequestError};
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::Environment;
use shared::metrics::Metrics;

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let config = Environment::from_process().at_cold_start(RedriveConfig::from_env)?;
    let function = Function::start(config).await;
    lambda_runtime::run(service_fn(|event| function.handle(event))).await
}

/// The execution environment: the redrive on its SQS client.
struct Function {
    redrive: Redrive,
}

impl Function {
    async fn start(config: RedriveConfig) -> Self {
        let metrics = Metrics::stdout(&config.function_name, dlq_redrive::metrics::ALL);
        let sqs = aws_sdk_sqs::Client::new(&shared::worker::sdk_config().await);
        Self {
            redrive: Redrive::new(config, sqs).with_metrics(metrics),
        }
    }

    async fn handle(&self, event: LambdaEvent<serde_json::Value>) -> Result<Report, RequestError> {
        self.redrive.invoke(event.payload, &event.context).await
    }
}
