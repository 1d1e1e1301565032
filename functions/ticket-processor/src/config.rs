//! Configuration from environment variables, read once at cold start.

use shared::RetryDelayConfig;
use shared::config::{ConfigError, Environment};
use shared::worker::WorkerConfig;

/// The variables this function reads beyond `shared::worker::env::ALL`.
pub mod env {
    /// The single-table tickets table (`pk`/`sk`): events, their counters and tickets
    /// ([`crate::schema`]). Required.
    pub const TICKETS_TABLE_NAME: &str = "TICKETS_TABLE_NAME";
    /// Where notifications go (standard or `.fifo`). Required; checked as a queue URL.
    pub const NOTIFICATION_QUEUE_URL: &str = "NOTIFICATION_QUEUE_URL";
}

#[derive(Debug, Clone, PartialEq)]
pub struct TicketConfig {
    pub worker: WorkerConfig,
    pub tickets_table: String,
    pub notification_queue_url: String,
}

impl TicketConfig {
    /// The retry delay is on unless `RETRY_DELAY=off`: a request someone waits for comes back
    /// in seconds, not after the queue's visibility timeout.
    pub fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            worker: WorkerConfig::from_env_with(environment, &RetryDelayConfig::on())?,
            tickets_table: environment.required(env::TICKETS_TABLE_NAME, crate::schema::TABLE_PURPOSE)?,
            notification_queue_url: environment.queue_url(
                env::NOTIFICATION_QUEUE_URL,
                "the SQS queue notification-sender consumes",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> Vec<(&'static str, &'static str)> {
        vec![
            ("AWS_LAMBDA_FUNCTION_NAME", "ticket-processor"),
            ("IDEMPOTENCY_TABLE_NAME", "idempotency"),
            (env::TICKETS_TABLE_NAME, "tickets"),
            (
                env::NOTIFICATION_QUEUE_URL,
                "https://sqs.us-east-1.amazonaws.com/123456789012/notification-queue.fifo",
            ),
        ]
    }

    #[test]
    fn a_complete_environment_is_read() {
        let config = TicketConfig::from_env(&Environment::from_pairs(complete())).unwrap();
        assert_eq!(config.tickets_table, "tickets");
        assert!(config.notification_queue_url.ends_with("notification-queue.fifo"));
        assert_eq!(config.worker.function_name, "ticket-processor");
        assert_eq!(config.worker.retry_delay, RetryDelayConfig::on(), "on by default here");
    }

    /// `ENV_VARS` is what this config reads beyond shared's: each one, when missing, fails the
    /// cold start naming it, and nothing else unknown is needed.
    #[test]
    fn each_variable_of_env_vars_is_required_and_named_when_missing() {
        for name in crate::ENV_VARS {
            let pairs = complete().into_iter().filter(|(k, _)| k != name);
            let error = TicketConfig::from_env(&Environment::from_pairs(pairs)).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Missing { name: missing, .. } if missing == name),
                "{name}: {error}"
            );
            assert!(error.to_string().contains(name), "{error}");
        }
        let ours: Vec<&str> = complete()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !shared::worker::env::ALL.contains(k))
            .collect();
        assert_eq!(ours, crate::ENV_VARS);
    }

    #[test]
    fn a_notification_queue_that_is_not_a_queue_url_fails_naming_the_variable() {
        let pairs = complete().into_iter().map(|(k, v)| {
            if k == env::NOTIFICATION_QUEUE_URL {
                (k, "notification-queue")
            } else {
                (k, v)
            }
        });
        let error = TicketConfig::from_env(&Environment::from_pairs(pairs)).unwrap_err();
        assert!(
            matches!(&error, ConfigError::Malformed { name, .. } if name == env::NOTIFICATION_QUEUE_URL),
            "{error}"
        );
    }
}
