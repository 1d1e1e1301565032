//! Structured logs: JSON lines on stdout, one field set per record span.
//!
//! Level: `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls, `LoggingConfig` in the
//! template), else `RUST_LOG` (full `EnvFilter` syntax), else `info`. Format: JSON unless
//! `AWS_LAMBDA_LOG_FORMAT=Text`. Inside a record, every line carries `span.message_id`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Install the global subscriber writing to stdout. Later calls are no-ops.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

/// The subscriber [`init`] installs, writing to `writer`; tests capture logs with it.
pub fn subscriber<W>(writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_target(false)
        .with_writer(writer);
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    if text {
        Box::new(builder.finish())
    } else {
        Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        )
    }
}

fn filter() -> EnvFilter {
    if let Ok(level) = std::env::var("AWS_LAMBDA_LOG_LEVEL") {
        // Lambda's levels: TRACE DEBUG INFO WARN ERROR FATAL.
        let level = match level.to_ascii_lowercase().as_str() {
            "fatal" => "error".to_owned(),
            other => other.to_owned(),
        };
        if let Ok(filter) = EnvFilter::try_new(&level) {
            return filter;
        }
    }
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}
