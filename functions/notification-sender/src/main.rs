use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use notification_sender::{NotificationConfig, NotificationSender};
use shared::BatchError;
use shared::config::Environment;
use shared::metrics::Metrics;
use shared::worker::Worker;

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let config = Environment::from_process().at_cold_start(NotificationConfig::from_env)?;
    let function = Function::start(config).await;
    lambda_runtime::run(service_fn(|event| function.handle(event))).await
}

/// The execution environment: the worker and the sender (its send budgets shared by every
/// invocation).
struct Function {
    worker: Worker,
    sender: NotificationSender,
}

impl Function {
    async fn start(config: NotificationConfig) -> Self {
        let sdk = shared::worker::sdk_config().await;
        let metrics = Metrics::stdout(&config.worker.function_name, notification_sender::metrics::ALL);
        let worker = Worker::new(&config.worker, &sdk).with_metrics(metrics);
        let sender =
            NotificationSender::from_sdk(&config.sender, &config.worker, worker.idempotency.clone(), &sdk).await;
        Self { worker, sender }
    }

    async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, BatchError> {
        self.worker
            .batch
            .process(event.payload, &event.context, &self.sender)
            .await
    }
}
