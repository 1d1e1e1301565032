//! Structured logs: JSON lines on stdout, one field set per record span.
//!
//! Levels:
//! - **this project's crates** ([`APPLICATION_TARGETS`]) log at `AWS_LAMBDA_LOG_LEVEL` (set by
//!   Lambda's advanced logging controls, `LoggingConfig` in the template), else `RUST_LOG`, else
//!   `info`. Lambda's names (`TRACE` … `FATAL`) and `off` are accepted; anything else means `info`.
//! - **every other crate** (the AWS SDK, hyper, lambda_runtime, …) logs at
//!   [`THIRD_PARTY_LOG_LEVEL`] when it is set, else at the application level **capped at `info`**.
//!   At `debug` and `trace` the SDK and hyper log requests and responses, bodies included — email
//!   addresses in clear — so `LogLevel=TRACE` in the template traces this project's code only;
//!   opening the SDK's logs takes this separate variable, on purpose.
//!
//! Format: JSON unless `AWS_LAMBDA_LOG_FORMAT=Text`. Inside a record, every line carries
//! `span.message_id`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Raises (or lowers) the level of every crate that is not this project's. Unset: the
/// application level, at most `info`. Above `info` the AWS SDK logs request bodies, personal data
/// included: set it only to debug a client, and not in production.
pub const THIRD_PARTY_LOG_LEVEL: &str = "THIRD_PARTY_LOG_LEVEL";

/// The tracing targets (crate names) of this project: they log at the application level.
pub const APPLICATION_TARGETS: [&str; 16] = [
    "shared",
    "messages",
    "ticket_processor",
    "notification_sender",
    "dlq_redrive",
    "local_stack",
    "chaos",
    "bench",
    "moto_harness",
    "template_checks",
    "hello_world",
    "init_probe",
    "emulation",
    "cfn_model",
    "flash_sale",
    "end_to_end",
];

/// Install the global subscriber writing to stdout. Later calls are no-ops.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

/// The subscriber [`init`] installs, writing to `writer`; tests capture logs with it.
pub fn subscriber<W>(writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    subscriber_with(writer, |name| std::env::var(name).ok())
}

/// [`subscriber`] reading its variables through `var` instead of the process environment.
pub fn subscriber_with<W>(writer: W, var: impl Fn(&str) -> Option<String>) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(&var))
        .with_target(false)
        .with_writer(writer);
    let text = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("text"));
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

/// A level name as Lambda or `RUST_LOG` spell it: `TRACE` … `ERROR`, `FATAL` (= error), `off`.
fn level(value: &str) -> Option<LevelFilter> {
    match value.trim().to_ascii_lowercase().as_str() {
        "fatal" => Some(LevelFilter::ERROR),
        other => other.parse().ok(),
    }
}

fn filter(var: &impl Fn(&str) -> Option<String>) -> EnvFilter {
    let application = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|name| var(name))
        .and_then(|value| level(&value))
        .unwrap_or(LevelFilter::INFO);
    let third_party = var(THIRD_PARTY_LOG_LEVEL)
        .and_then(|value| level(&value))
        .unwrap_or_else(|| application.min(LevelFilter::INFO));
    let mut directives = vec![third_party.to_string()];
    directives.extend(
        APPLICATION_TARGETS
            .iter()
            .map(|target| format!("{target}={application}")),
    );
    EnvFilter::try_new(directives.join(",")).expect("level names and crate names are valid directives")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::CapturedLogs;

    fn logged(variables: &[(&str, &str)]) -> String {
        let captured = CapturedLogs::new();
        let variables: Vec<(String, String)> = variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let writer = captured.clone();
        let subscriber = subscriber_with(
            move || writer.clone(),
            move |name| variables.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "sdk trace: request body");
            tracing::debug!(target: "hyper_util::client", "sdk debug");
            tracing::info!(target: "aws_config", "sdk info");
            tracing::trace!(target: "shared::batch", "app trace");
            tracing::trace!(target: "ticket_processor::handler", "function trace");
        });
        captured.text()
    }

    #[test]
    fn trace_for_the_application_keeps_third_party_crates_at_info() {
        let logs = logged(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")]);
        assert!(logs.contains("app trace") && logs.contains("function trace"), "{logs}");
        assert!(logs.contains("sdk info"), "{logs}");
        assert!(!logs.contains("sdk trace") && !logs.contains("sdk debug"), "{logs}");
        let logs = logged(&[("RUST_LOG", "trace")]);
        assert!(logs.contains("app trace") && !logs.contains("sdk trace"), "{logs}");
    }

    #[test]
    fn only_the_separate_variable_opens_third_party_logs() {
        let logs = logged(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE"), (THIRD_PARTY_LOG_LEVEL, "TRACE")]);
        assert!(logs.contains("sdk trace") && logs.contains("app trace"), "{logs}");
    }

    #[test]
    fn a_lower_application_level_lowers_third_party_crates_too() {
        let logs = logged(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]);
        assert!(logs.is_empty(), "{logs}");
        let logs = logged(&[("AWS_LAMBDA_LOG_LEVEL", "no-such-level")]);
        assert!(logs.contains("sdk info") && !logs.contains("app trace"), "{logs}");
    }

    /// Every crate of the workspace logs at the application level: none is left out of the list.
    #[test]
    fn every_workspace_crate_is_an_application_target() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let members = workspace
            .split("members = [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("the workspace lists its members");
        for member in members
            .split(',')
            .map(|m| m.trim().trim_matches('"'))
            .filter(|m| !m.is_empty())
        {
            let manifest = std::fs::read_to_string(root.join(member).join("Cargo.toml")).unwrap();
            let name = manifest
                .lines()
                .find_map(|line| line.strip_prefix("name = \""))
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or_else(|| panic!("{member} has no package name"));
            let target = name.replace('-', "_");
            assert!(
                APPLICATION_TARGETS.contains(&target.as_str()),
                "{member}: {target} is not listed"
            );
        }
    }
}
