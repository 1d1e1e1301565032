use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use notification_sender::{NotificationSender, SenderConfig};
use shared::config::Environment;
use shared::metrics::Metrics;
use shared::worker::Worker;

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let environment = Environment::from_process();
    let worker_config = notification_sender::config::worker_config(&environment)?;
    let config = SenderConfig::from_env(&environment)?;
    let sdk = shared::worker::sdk_config().await;
    let metrics = Metrics::stdout(&worker_config.function_name, notification_sender::metrics::ALL);
    let worker = Worker::new(&worker_config, &sdk).with_metrics(metrics);
    let sender = NotificationSender::from_sdk(&config, &worker_config, worker.idempotency.clone(), &sdk).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (worker, sender) = (&worker, &sender);
        async move { worker.batch.process(event.payload, &event.context, sender).await }
    }))
    .await
}
