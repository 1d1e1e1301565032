//! Cold-start wiring shared by the SQS workers: configuration, AWS clients, batch processor,
//! idempotency. Built once per execution environment, reused by every invocation.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::aws_calls::{AwsCall, Target};
use crate::config::{ConfigError, Environment};
use crate::dead_letter::SqsDeadLetterQueue;
use crate::idempotency::{DynamoDbStore, Idempotency, IdempotencyConfig};
use crate::metrics::Metrics;
use crate::retry_delay::{MAX_VISIBILITY, RetryDelay, RetryDelayConfig};
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
    /// `on`: records reported failed come back after their retry delay (`ChangeMessageVisibility`
    /// on the source queue) instead of the queue's visibility timeout. Default per worker.
    pub const RETRY_DELAY: &str = "RETRY_DELAY";
    /// The backoff after a record's first receive, in seconds, doubling with each receive. Default 2.
    pub const RETRY_DELAY_BASE_SECONDS: &str = "RETRY_DELAY_BASE_SECONDS";
    /// The longest backoff, in seconds. Default 300.
    pub const RETRY_DELAY_MAX_SECONDS: &str = "RETRY_DELAY_MAX_SECONDS";

    /// Every variable [`super::WorkerConfig::from_env`] reads.
    pub const ALL: [&str; 9] = [
        IDEMPOTENCY_TABLE_NAME,
        DEAD_LETTER_QUEUE_URL,
        BATCH_CONCURRENCY,
        BATCH_DEADLINE_MARGIN_MS,
        IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
        AWS_LAMBDA_FUNCTION_NAME,
        RETRY_DELAY,
        RETRY_DELAY_BASE_SECONDS,
        RETRY_DELAY_MAX_SECONDS,
    ];
}

/// The AWS calls `shared` makes for a worker (see [`crate::aws_calls`]): idempotency records
/// (`idempotency/dynamodb.rs`, only items keyed `<function name>#…`) and dead letters
/// (`dead_letter.rs`).
pub const AWS_CALLS: &[AwsCall] = &[
    AwsCall::new(
        "put_item",
        &["dynamodb:PutItem"],
        Target::OwnItemsOf(env::IDEMPOTENCY_TABLE_NAME),
    ),
    AwsCall::new(
        "update_item",
        &["dynamodb:UpdateItem"],
        Target::OwnItemsOf(env::IDEMPOTENCY_TABLE_NAME),
    ),
    AwsCall::new(
        "delete_item",
        &["dynamodb:DeleteItem"],
        Target::OwnItemsOf(env::IDEMPOTENCY_TABLE_NAME),
    ),
    AwsCall::new(
        "send_message",
        &["sqs:SendMessage"],
        Target::Env(env::DEAD_LETTER_QUEUE_URL),
    ),
    // The retry delay (`retry_delay.rs`): on the queue a record came from, with its receipt handle.
    AwsCall::new(
        "change_message_visibility",
        &["sqs:ChangeMessageVisibility"],
        Target::EventSourceQueue,
    ),
];

/// The common configuration of an SQS worker.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME` (required): the prefix of every idempotency key.
    pub function_name: String,
    /// `IDEMPOTENCY_TABLE_NAME` (required): the table of processed messages.
    pub idempotency_table: String,
    /// `DEAD_LETTER_QUEUE_URL`: where permanent failures go; `None` reports them failed.
    pub dead_letter_queue_url: Option<String>,
    /// `BATCH_CONCURRENCY`, 1–1,000: [`BatchConfig::concurrency`].
    pub concurrency: usize,
    /// `BATCH_DEADLINE_MARGIN_MS`, up to 15 minutes: [`BatchConfig::deadline_margin`].
    pub deadline_margin: Duration,
    /// `IDEMPOTENCY_EXPIRES_AFTER_SECONDS`, 1 minute to 366 days:
    /// [`IdempotencyConfig::expires_after`].
    pub idempotency_expires_after: Duration,
    /// `RETRY_DELAY`, `RETRY_DELAY_BASE_SECONDS`, `RETRY_DELAY_MAX_SECONDS` (each 1 s to 12 h).
    pub retry_delay: RetryDelayConfig,
}

impl WorkerConfig {
    /// The configuration, with the retry delay off unless `RETRY_DELAY` turns it on.
    pub fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        Self::from_env_with(environment, &RetryDelayConfig::off())
    }

    /// The configuration, with `retry_delay` where `RETRY_DELAY*` are unset (a worker's default).
    pub fn from_env_with(environment: &Environment, retry_delay: &RetryDelayConfig) -> Result<Self, ConfigError> {
        let defaults = IdempotencyConfig::new("");
        let batch = BatchConfig::default();
        let max_visibility = MAX_VISIBILITY.as_secs();
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
            retry_delay: RetryDelayConfig {
                enabled: environment.switch(env::RETRY_DELAY, retry_delay.enabled)?,
                base: Duration::from_secs(environment.parse_in(
                    env::RETRY_DELAY_BASE_SECONDS,
                    retry_delay.base.as_secs(),
                    1..=max_visibility,
                )?),
                max: Duration::from_secs(environment.parse_in(
                    env::RETRY_DELAY_MAX_SECONDS,
                    retry_delay.max.as_secs(),
                    1..=max_visibility,
                )?),
            },
        })
    }

    /// The batch processor's part.
    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            concurrency: self.concurrency,
            deadline_margin: self.deadline_margin,
        }
    }

    /// Idempotency's part: keys under the function's name, the other settings at their defaults.
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
    /// Runs each batch, with the dead-letter queue and the retry delay when configured.
    pub batch: BatchProcessor,
    /// On the idempotency table.
    pub idempotency: Idempotency,
}

impl Worker {
    /// Builds the clients from `sdk`; no AWS call is made until the first batch.
    pub fn new(config: &WorkerConfig, sdk: &SdkConfig) -> Self {
        let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.idempotency_table);
        let idempotency = Idempotency::new(Arc::new(store), config.idempotency_config());
        let mut batch = BatchProcessor::new(config.batch_config());
        if let Some(url) = &config.dead_letter_queue_url {
            batch = batch.with_dead_letters(Arc::new(SqsDeadLetterQueue::new(aws_sdk_sqs::Client::new(sdk), url)));
        }
        if config.retry_delay.enabled {
            batch = batch.with_retry_delay(RetryDelay::new(
                aws_sdk_sqs::Client::new(sdk),
                config.retry_delay.clone(),
            ));
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
