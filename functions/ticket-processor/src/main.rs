use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::Environment;
use shared::metrics::Metrics;
use shared::worker::{Worker, sdk_config};
use ticket_processor::{TicketConfig, TicketProcessor};

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let config = TicketConfig::from_env(&Environment::from_process()).inspect_err(|error| {
        tracing::error!(%error, "cold start failed: configuration");
    })?;
    let sdk = sdk_config().await;
    let metrics = Metrics::stdout(&config.worker.function_name, ticket_processor::metrics::ALL);
    let worker = Worker::new(&config.worker, &sdk).with_metrics(metrics);
    let handler = worker.idempotency.wrap(TicketProcessor::from_config(&config, &sdk));
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (worker, handler) = (&worker, &handler);
        async move { worker.batch.process(event.payload, &event.context, handler).await }
    }))
    .await
}
