use std::sync::atomic::{AtomicBool, Ordering};

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config::{ConfigError, Environment};
use shared::metrics::Metrics;
use shared::worker::{Worker, WorkerConfig, sdk_config};
use shared::{BatchError, Idempotent};
use ticket_processor::{TicketConfig, TicketProcessor, schema};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// One thread: the work waits on I/O, Lambda gives a function one vCPU or less below 1,769 MB,
// and a multi-thread runtime's cross-thread wake-ups cost CPU (BENCHMARKS.md, Method, "Runtime flavor").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let config = Environment::from_process().at_cold_start(Config::from_env)?;
    let function = Function::start(config).await;
    lambda_runtime::run(service_fn(|event| function.handle(event))).await
}

/// What ticket-processor reads at cold start: its configuration (the worker's in it) and how the
/// execution environment starts.
struct Config {
    ticket: TicketConfig,
    cold_start: ColdStart,
}

impl Config {
    fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        let ticket = TicketConfig::from_env(environment)?;
        let cold_start = ColdStart::from_env(environment, &ticket.worker)?;
        Ok(Self { ticket, cold_start })
    }
}

/// The execution environment: the worker (one for the first batch, one for every later batch)
/// and the ticket handler under idempotency.
struct Function {
    worker: Worker,
    first_worker: Worker,
    first_batch: AtomicBool,
    handler: Idempotent<TicketProcessor>,
}

impl Function {
    async fn start(config: Config) -> Self {
        let Config { ticket, cold_start } = config;
        let sdk = cold_start.sdk_config().await;
        let metrics = Metrics::stdout(&ticket.worker.function_name, ticket_processor::metrics::ALL);
        let worker = Worker::new(&ticket.worker, &sdk).with_metrics(metrics.clone());
        // The first batch runs on an empty connection pool: every record in flight opens (and
        // handshakes) connections of its own. FIRST_BATCH_CONCURRENCY bounds them.
        let first_batch_config = WorkerConfig {
            concurrency: cold_start.first_batch_concurrency,
            ..ticket.worker.clone()
        };
        let first_worker = Worker::new(&first_batch_config, &sdk).with_metrics(metrics);
        let handler = worker.idempotency.wrap(TicketProcessor::from_config(&ticket, &sdk));
        if cold_start.warm_up {
            warm_up(&sdk, &ticket.tickets_table).await;
        }
        Self {
            worker,
            first_worker,
            first_batch: AtomicBool::new(true),
            handler,
        }
    }

    async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, BatchError> {
        let worker = if self.first_batch.swap(false, Ordering::Relaxed) {
            &self.first_worker
        } else {
            &self.worker
        };
        worker.batch.process(event.payload, &event.context, &self.handler).await
    }
}

/// How the execution environment starts: the levers `make bench` measures beside each other
/// (BENCHMARKS.md, "Levers"), each at the setting that measured best by default.
struct ColdStart {
    /// `SHARED_HTTP_CLIENT` (on): one HTTPS client, so one connection pool and one TLS session
    /// cache, for every SDK client. Off, each client (idempotency, tickets, notifications, dead
    /// letters) builds its own and opens its own connections to the same endpoint.
    shared_http_client: bool,
    /// `WARM_UP_AT_INIT` (on): one DynamoDB GetItem during init, so the first batch finds a
    /// connection open and its new connections resume that TLS session instead of verifying
    /// the endpoint's certificate chain again. SQS has no call the role allows without effect:
    /// its first connection opens in the first batch.
    warm_up: bool,
    /// `FIRST_BATCH_CONCURRENCY` (`BATCH_CONCURRENCY`): records in flight in the first batch.
    first_batch_concurrency: usize,
}

impl ColdStart {
    const SHARED_HTTP_CLIENT: &str = "SHARED_HTTP_CLIENT";
    const WARM_UP_AT_INIT: &str = "WARM_UP_AT_INIT";
    const FIRST_BATCH_CONCURRENCY: &str = "FIRST_BATCH_CONCURRENCY";

    fn from_env(environment: &Environment, worker: &WorkerConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            shared_http_client: environment.switch(Self::SHARED_HTTP_CLIENT, true)?,
            warm_up: environment.switch(Self::WARM_UP_AT_INIT, true)?,
            first_batch_concurrency: environment.parse_in(
                Self::FIRST_BATCH_CONCURRENCY,
                worker.concurrency,
                1..=1000,
            )?,
        })
    }

    async fn sdk_config(&self) -> SdkConfig {
        let sdk = sdk_config().await;
        if !self.shared_http_client {
            return sdk;
        }
        // The SDK's default client (hyper 1, rustls with aws-lc), built once instead of per client.
        let client = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https();
        sdk.into_builder().http_client(client).build()
    }
}

/// Open a connection to DynamoDB during init: a GetItem of a key no event can have (event ids
/// never contain `#`). Its outcome does not matter: a failure only means the first batch opens
/// the connection, as without the warm-up.
async fn warm_up(sdk: &SdkConfig, tickets_table: &str) {
    let key = schema::event_key("#warm-up").to_item();
    let result = aws_sdk_dynamodb::Client::new(sdk)
        .get_item()
        .table_name(tickets_table)
        .set_key(Some(key))
        .send()
        .await;
    if let Err(error) = result {
        tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&error), "warm-up GetItem failed");
    }
}
