//! Metrics in CloudWatch Embedded Metric Format (EMF): one JSON line per invocation on stdout,
//! which Lambda sends to the function's log group and CloudWatch turns into metrics.
//!
//! - [`Metrics`] is built once per execution environment (cold start) with the function's name
//!   and the counts it reports; [`Metrics::start`] opens an [`Invocation`].
//! - An [`Invocation`] collects counts and timings while the invocation runs and writes its line
//!   when it is dropped: at the end of the invocation, whatever happened to its records (errors,
//!   a batch error, a panic unwinding through it). A timeout or a killed process writes nothing.
//! - A [`Recorder`] is a cheap clone of the invocation's collector. The batch processor hands one
//!   to every record ([`crate::Record::metrics`]), so a record handler, or code it calls, adds to
//!   the invocation's line: `record.metrics().add(TICKETS_ISSUED, 1)`.
//!
//! Namespace [`NAMESPACE`], one dimension, `FunctionName` (the Lambda function's name): never a
//! user, message or request id (those are high-cardinality; `RequestId` and `TraceId` are written
//! as properties, searchable in Logs Insights but not dimensions). Every line carries
//! `ColdStart` (1 on the first invocation of an execution environment, else 0), and zeros for
//! the declared counts nothing added to, so graphs and alarms see 0 rather than no data.
//!
//! The line is formatted by `metrique` (awslabs' unit-of-work metrics library, see
//! `emf.rs`); [`lines`] reads such lines back (tests, `make demo`'s summary).

mod emf;
pub mod lines;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tracing_subscriber::fmt::MakeWriter;

/// The CloudWatch namespace of every metric the functions write.
pub const NAMESPACE: &str = "TicketingWaitingRoom";
/// The one dimension: the Lambda function's name (`AWS_LAMBDA_FUNCTION_NAME`).
pub const FUNCTION_NAME: &str = "FunctionName";

/// A count summed over an invocation (unit `Count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Count(&'static str);

impl Count {
    /// The count named `name` (CamelCase, as CloudWatch shows it).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The metric's name in the EMF line.
    pub const fn name(&self) -> &'static str {
        self.0
    }

    /// As a [`Metric`], for a list of what a function reports.
    pub const fn metric(self) -> Metric {
        Metric::Count(self)
    }
}

/// A duration observed any number of times in an invocation (unit `Milliseconds`; each
/// observation is a data point, so CloudWatch gives percentiles over them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timing(&'static str);

impl Timing {
    /// The timing named `name` (CamelCase, as CloudWatch shows it).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The metric's name in the EMF line.
    pub const fn name(&self) -> &'static str {
        self.0
    }

    /// As a [`Metric`], for a list of what a function reports.
    pub const fn metric(self) -> Metric {
        Metric::Timing(self)
    }
}

/// Any metric, for lists of what a function reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// A count: declared ones are written as 0 when nothing added to them.
    Count(Count),
    /// A timing: written only when observed.
    Timing(Timing),
}

impl Metric {
    /// The metric's name in the EMF line.
    pub const fn name(&self) -> &'static str {
        match self {
            Metric::Count(count) => count.name(),
            Metric::Timing(timing) => timing.name(),
        }
    }
}

/// 1 on the first invocation of an execution environment, else 0.
pub const COLD_START: Count = Count::new("ColdStart");

/// What the batch processor writes for every SQS batch (the same counts as its summary log line).
pub mod batch {
    use super::{Count, Metric, Timing};

    /// Records in the batch.
    pub const RECORDS: Count = Count::new("Records");
    /// Records handled, duplicates included.
    pub const SUCCEEDED: Count = Count::new("Succeeded");
    /// Records idempotency found already done.
    pub const DUPLICATES: Count = Count::new("Duplicates");
    /// Records reported in `batchItemFailures` (SQS redelivers them), not-started ones included;
    /// on a batch error, every record of the batch.
    pub const FAILED: Count = Count::new("Failed");
    /// Records that failed permanently and went to the dead-letter queue.
    pub const DEAD_LETTERED: Count = Count::new("DeadLettered");
    /// Records not started for lack of time before the deadline.
    pub const NOT_STARTED: Count = Count::new("NotStarted");
    /// The batch's wall time.
    pub const DURATION: Timing = Timing::new("BatchDuration");

    /// Every metric of a batch.
    pub const ALL: &[Metric] = &[
        RECORDS.metric(),
        SUCCEEDED.metric(),
        DUPLICATES.metric(),
        FAILED.metric(),
        DEAD_LETTERED.metric(),
        NOT_STARTED.metric(),
        DURATION.metric(),
    ];
}

/// What an invocation has collected so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// Each count's sum so far, by name.
    pub counts: BTreeMap<&'static str, u64>,
    /// Milliseconds, in the order observed.
    pub timings: BTreeMap<&'static str, Vec<f64>>,
}

/// Adds to one invocation's metrics; cheap to clone, shared by every record of a batch. A
/// detached recorder (records built outside a batch, handlers tested alone) keeps what it is
/// given without writing it anywhere.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Collected>>);

impl Recorder {
    /// A recorder no invocation writes.
    pub fn detached() -> Self {
        Self::default()
    }

    /// Add `n` to `count`.
    pub fn add(&self, count: Count, n: u64) {
        *self.lock().counts.entry(count.name()).or_default() += n;
    }

    /// One observation of `timing`.
    pub fn observe(&self, timing: Timing, elapsed: Duration) {
        self.lock()
            .timings
            .entry(timing.name())
            .or_default()
            .push(elapsed.as_secs_f64() * 1000.0);
    }

    /// What was recorded so far.
    pub fn collected(&self) -> Collected {
        self.lock().clone()
    }

    fn take(&self) -> Collected {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Collected> {
        // A panic while holding this lock can only have happened in the few lines above; the
        // counts are still consistent.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A function's metrics, built once at cold start. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Emitter>,
}

struct Emitter {
    function_name: String,
    declared: Vec<Count>,
    sink: emf::Sink,
    cold: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("function_name", &self.inner.function_name)
            .field("declared", &self.inner.declared)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Lines go to stdout (Lambda sends stdout to the function's log group). `declared`: the
    /// function's metrics; its counts are written as 0 when nothing added to them.
    pub fn stdout(function_name: impl Into<String>, declared: &[Metric]) -> Self {
        Self::to_writer(function_name, declared, || std::io::stdout().lock())
    }

    /// Lines go to `writer` (tests capture them this way). Each line is written while holding one
    /// writer made by `writer`, so it is never interleaved with a log line.
    pub fn to_writer<W>(function_name: impl Into<String>, declared: &[Metric], writer: W) -> Self
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let declared = declared
            .iter()
            .filter_map(|metric| match metric {
                Metric::Count(count) => Some(*count),
                Metric::Timing(_) => None,
            })
            .collect();
        Self {
            inner: Arc::new(Emitter {
                function_name: function_name.into(),
                declared,
                sink: emf::Sink::new(writer),
                cold: AtomicBool::new(true),
            }),
        }
    }

    /// The value of the `FunctionName` dimension.
    pub fn function_name(&self) -> &str {
        &self.inner.function_name
    }

    /// Open the metrics of one invocation; its line is written when the returned value drops.
    pub fn start(&self, context: &lambda_runtime::Context) -> Invocation {
        let request_id = Some(context.request_id.clone()).filter(|id| !id.is_empty());
        self.start_with(request_id, context.xray_trace_id.clone())
    }

    /// [`Metrics::start`] with the invocation's request id and X-Ray trace header, when known.
    pub fn start_with(&self, request_id: Option<String>, trace_id: Option<String>) -> Invocation {
        Invocation {
            emitter: self.inner.clone(),
            recorder: Recorder::default(),
            cold_start: self.inner.cold.swap(false, Ordering::Relaxed),
            request_id,
            trace_id,
        }
    }
}

/// One invocation's metrics; written as one EMF line when dropped. Dereferences to its
/// [`Recorder`]; clones of that recorder that outlive the invocation add to nothing.
pub struct Invocation {
    emitter: Arc<Emitter>,
    recorder: Recorder,
    cold_start: bool,
    request_id: Option<String>,
    trace_id: Option<String>,
}

impl Invocation {
    /// The invocation's recorder, to hand to code that adds to its line.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Whether this is the first invocation of the execution environment (`ColdStart` 1).
    pub fn is_cold_start(&self) -> bool {
        self.cold_start
    }
}

impl std::ops::Deref for Invocation {
    type Target = Recorder;

    fn deref(&self) -> &Recorder {
        &self.recorder
    }
}

impl Drop for Invocation {
    fn drop(&mut self) {
        let mut collected = self.recorder.take();
        for count in self.emitter.declared.iter().chain([&COLD_START]) {
            collected.counts.entry(count.name()).or_default();
        }
        collected.counts.insert(COLD_START.name(), u64::from(self.cold_start));
        self.emitter.sink.write(emf::InvocationEntry {
            timestamp: SystemTime::now(),
            function_name: self.emitter.function_name.clone(),
            request_id: self.request_id.take(),
            trace_id: self.trace_id.take(),
            collected,
        });
    }
}
