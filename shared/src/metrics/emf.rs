//! An invocation's metrics as one EMF line, through metrique: its EMF formatter (the
//! `_aws.CloudWatchMetrics` directive, units, validation in debug builds) and its
//! `FlushImmediately` sink, which writes each entry when it is appended, with no background
//! thread: Lambda freezes the process between invocations, so nothing may wait to be written.

use metrique::emf::Emf;
use metrique::writer::format::FormatExt;
use metrique::writer::sink::FlushImmediately;
use metrique::writer::unit::NegativeScale;
use metrique::writer::{
    BoxEntrySink, Entry, EntrySink, EntryWriter, MetricFlags, Observation, Unit, Value, ValueWriter,
};
use std::time::SystemTime;
use tracing_subscriber::fmt::MakeWriter;

use super::{Collected, FUNCTION_NAME, NAMESPACE};

/// Where an invocation's entry goes.
pub(super) struct Sink(BoxEntrySink);

impl Sink {
    pub(super) fn new<W>(writer: W) -> Self
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let format = Emf::builder(NAMESPACE.to_owned(), vec![vec![FUNCTION_NAME.to_owned()]]).build();
        Self(FlushImmediately::new_boxed(format.output_to_makewriter(writer)))
    }

    pub(super) fn write(&self, entry: InvocationEntry) {
        self.0.append(entry);
    }
}

/// One invocation: the dimension, two properties and every metric collected.
pub(super) struct InvocationEntry {
    pub timestamp: SystemTime,
    pub function_name: String,
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub collected: Collected,
}

impl Entry for InvocationEntry {
    fn write<'a>(&'a self, writer: &mut impl EntryWriter<'a>) {
        writer.timestamp(self.timestamp);
        writer.value(FUNCTION_NAME, self.function_name.as_str());
        if let Some(request_id) = &self.request_id {
            writer.value("RequestId", request_id.as_str());
        }
        if let Some(trace_id) = &self.trace_id {
            writer.value("TraceId", trace_id.as_str());
        }
        for (name, count) in &self.collected.counts {
            writer.value(*name, &Counted(*count));
        }
        for (name, milliseconds) in &self.collected.timings {
            writer.value(*name, &Milliseconds(milliseconds));
        }
    }
}

/// A count, unit `Count`.
struct Counted(u64);

impl Value for Counted {
    fn write(&self, writer: impl ValueWriter) {
        writer.metric([Observation::Unsigned(self.0)], Unit::Count, [], MetricFlags::empty());
    }
}

/// Observations in milliseconds; EMF writes several as `{"Values": [...], "Counts": [...]}`.
/// None (a timing that was never observed) writes nothing.
struct Milliseconds<'a>(&'a [f64]);

impl Value for Milliseconds<'_> {
    fn write(&self, writer: impl ValueWriter) {
        writer.metric(
            self.0.iter().map(|ms| Observation::Floating(*ms)),
            Unit::Second(NegativeScale::Milli),
            [],
            MetricFlags::empty(),
        );
    }
}
