//! Cold-start wiring shared by the SQS workers: configuration, AWS clients, batch processor,
//! idempotency. Built once per execution environment, reused by every invocation.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{ConfigError, Environment};
use crate::dead_letter::SqsDeadLetterQueue;
use crate::idempotency::{DynamoDbStore, Idempotency, IdempotencyConfig};
use crate::metrics::Metrics;
use crate::{BatchConfig, BatchProcessor};

/// Environment variables every SQS worker reads.
pub mod env {
    /// DynamoDB table for idempotency records (partition key `id`, TTL on `expiration`). Required.
    pub const IDEMPOTENCY_TABLE_NAME: &str = "IDEMPOTENCY_TABLE_NAME";
    /// Queue for permanently failed records. Optional: without it they are reported failed and
    /// reach the DLQ through the source queue's redrive policy after `maxReceiveCount` receives.
    pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";
    /// Records in flight at once, 1–1000. Default 10.
    pub const BATCH_CONCURRENCY: &str = "BATCH_CONCURRENCY";
    /// Don't start records with less than this many milliseconds left. Default 3000.
    pub const BATCH_DEADLINE_MARGIN_MS: &str = "BATCH_DEADLINE_MARGIN_MS";
    /// How long idempotency records count, in seconds. Default 1,209,600 (14 days).
    pub const IDEMPOTENCY_EXPIRES_AFTER_SECONDS: &str = "IDEMPOTENCY_EXPIRES_AFTER_SECONDS";
    /// Set by Lambda (and `cargo lambda watch`); the idempotency key prefix.
    pub const AWS_LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

    /// Every variable [`super::WorkerConfig::from_env`] reads.
    pub const ALL: [&str; 6] = [
        IDEMPOTENCY_TABLE_NAME,
        DEAD_LETTER_QUEUE_URL,
        BATCH_CONCURRENCY,
        BATCH_DEADLINE_MARGIN_MS,
        IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
        AWS_LAMBDA_FUNCTION_NAME,
    ];
}

/// The common configuration of an SQS worker.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    pub function_name: String,
    pub idempotency_table: String,
    pub dead_letter_queue_url: Option<String>,
    pub concurrency: usize,
    pub deadline_margin: Duration,
    pub idempotency_expires_after: Duration,
}

impl WorkerConfig {
    pub fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        let defaults = IdempotencyConfig::new("");
        let batch = BatchConfig::default();
        Ok(Self {
            function_name: environment.required(
                env::AWS_LAMBDA_FUNCTION_NAME,
                "the function name, set by Lambda; prefixes every idempotency key",
            )?,
            idempotency_table: environment.required(
                env::IDEMPOTENCY_TABLE_NAME,
                "the DynamoDB table that records processed messages",
            )?,
            dead_letter_queue_url: environment.optional_queue_url(env::DEAD_LETTER_QUEUE_URL)?,
            concurrency: environment.parse_in(env::BATCH_CONCURRENCY, batch.concurrency, 1..=1000)?,
            deadline_margin: Duration::from_millis(environment.parse_in(
                env::BATCH_DEADLINE_MARGIN_MS,
                batch.deadline_margin.as_millis() as u64,
                0..=900_000,
            )?),
            idempotency_expires_after: Duration::from_secs(environment.parse_in(
                env::IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
                defaults.expires_after.as_secs(),
                60..=366 * 24 * 3600,
            )?),
        })
    }

    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            concurrency: self.concurrency,
            deadline_margin: self.deadline_margin,
        }
    }

    pub fn idempotency_config(&self) -> IdempotencyConfig {
        IdempotencyConfig {
            expires_after: self.idempotency_expires_after,
            ..IdempotencyConfig::new(&self.function_name)
        }
    }
}

/// The batch processor and idempotency of a worker, with their AWS clients.
#[derive(Debug, Clone)]
pub struct Worker {
    pub batch: BatchProcessor,
    pub idempotency: Idempotency,
}

impl Worker {
    pub fn new(config: &WorkerConfig, sdk: &SdkConfig) -> Self {
        let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.idempotency_table);
        let idempotency = Idempotency::new(Arc::new(store), config.idempotency_config());
        let mut batch = BatchProcessor::new(config.batch_config());
        if let Some(url) = &config.dead_letter_queue_url {
            batch = batch.with_dead_letters(Arc::new(SqsDeadLetterQueue::new(aws_sdk_sqs::Client::new(sdk), url)));
        }
        Self { batch, idempotency }
    }

    /// Write one EMF line per invocation to `metrics` (see [`crate::metrics`]).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.batch = self.batch.with_metrics(metrics);
        self
    }
}

/// AWS configuration from the environment. `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`)
/// points every client at a local emulator; nothing else changes.
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}
