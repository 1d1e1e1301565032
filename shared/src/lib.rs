//! Idempotent, deadline-aware SQS batch processing for Rust Lambda workers.
//!
//! - [`BatchProcessor`] turns an `SqsEvent` into an `SqsBatchResponse` that AWS always accepts:
//!   per-record isolation (parse errors, handler errors, panics), FIFO group ordering, a deadline
//!   cut-off, and permanent errors routed to a dead-letter queue with the reason.
//! - [`Idempotency`] runs a record, or a step of one, at most once per key, with a DynamoDB store
//!   whose writes are conditional and fenced. See [`idempotency`] for the defaults and why.
//! - [`worker`] wires both from environment variables at cold start; [`logging`] sets up JSON logs.
//!
//! ```no_run
//! use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
//! use lambda_runtime::{LambdaEvent, service_fn};
//! use shared::{Record, RecordError, config::Environment, worker::{Worker, WorkerConfig}};
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct Greeting { name: String }
//!
//! async fn greet(record: Record) -> Result<String, RecordError> {
//!     let greeting: Greeting = record.json()?; // bad JSON fails this record only
//!     Ok(format!("hello {}", greeting.name))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     shared::logging::init();
//!     let config = WorkerConfig::from_env(&Environment::from_process())?;
//!     let worker = Worker::new(&config, &shared::worker::sdk_config().await);
//!     let handler = worker.idempotency.wrap(greet);
//!     lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
//!         let (worker, handler) = (&worker, &handler);
//!         async move { worker.batch.process(event.payload, &event.context, handler).await }
//!     }))
//!     .await
//! }
//! ```

pub mod attributes;
pub mod batch;
pub mod config;
pub mod dead_letter;
pub mod deadline;
pub mod error;
pub mod handler;
pub mod idempotency;
pub mod logging;
pub mod record;
#[cfg(feature = "testing")]
pub mod testing;
pub mod worker;

pub use batch::{BatchConfig, BatchError, BatchOutcome, BatchProcessor, BatchSummary, RecordStatus};
pub use deadline::Deadline;
pub use error::{ErrorClass, RecordError, error_chain};
pub use handler::{Handled, RecordHandler};
pub use idempotency::{Idempotency, IdempotencyConfig, IdempotencyError, IdempotencyKey, Idempotent, Outcome};
pub use record::Record;
