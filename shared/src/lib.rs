#![doc = include_str!("../README.md")]

pub mod attributes;
pub mod aws_calls;
pub mod backoff;
pub mod batch;
pub mod config;
pub mod dead_letter;
pub mod deadline;
pub mod envelope;
pub mod error;
pub mod error_kinds;
pub mod handler;
pub mod idempotency;
pub mod logging;
pub mod metrics;
pub mod record;
pub mod redact;
pub mod retry_delay;
#[cfg(feature = "testing")]
pub mod testing;
pub mod worker;

pub use batch::{BatchConfig, BatchError, BatchOutcome, BatchProcessor, BatchSummary, RecordStatus};
pub use deadline::Deadline;
pub use error::{ErrorClass, RecordError, error_chain};
pub use handler::{Handled, RecordHandler};
pub use idempotency::{Idempotency, IdempotencyConfig, IdempotencyError, IdempotencyKey, Idempotent, Outcome};
pub use record::Record;
pub use retry_delay::{RetryDelay, RetryDelayConfig};
