//! The per-record handler the batch processor drives, and what it reports back.

use std::future::Future;

use crate::{Record, RecordError};

/// How a record that did not fail was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The handler ran and succeeded.
    Processed,
    /// Idempotency found the work already done; the handler did not run.
    Duplicate,
}

impl From<()> for Handled {
    fn from(_: ()) -> Self {
        Handled::Processed
    }
}

/// Handles one SQS record. Implemented for every `Fn(Record) -> impl Future<Output =
/// Result<T, RecordError>>`, and by [`crate::Idempotent`]. The batch processor takes handlers whose
/// output is `Into<Handled>`: `()`, [`Handled`], or the [`crate::Outcome`] of an idempotent handler.
pub trait RecordHandler: Sync {
    /// What a record that did not fail gives.
    type Output;

    /// Handles `record`; an `Err` fails this record only, retried or dead-lettered by its class.
    /// Called concurrently for the records of a batch (in order within a FIFO message group).
    fn handle(&self, record: Record) -> impl Future<Output = Result<Self::Output, RecordError>> + Send;
}

impl<F, Fut, T> RecordHandler for F
where
    F: Fn(Record) -> Fut + Sync,
    Fut: Future<Output = Result<T, RecordError>> + Send,
{
    type Output = T;

    fn handle(&self, record: Record) -> impl Future<Output = Result<T, RecordError>> + Send {
        self(record)
    }
}
