//! What notification-sender reads from its environment: the shared worker settings
//! ([`worker_config`]) and the sender's ([`SenderConfig`]), together a [`NotificationConfig`].

use shared::RetryDelayConfig;
use shared::config::{ConfigError, Environment};
use shared::worker::WorkerConfig;

/// Names of the variables [`SenderConfig::from_env`] reads.
pub mod env {
    /// SNS topic every push without a device endpoint is published to. Required.
    pub const PUSH_TOPIC_ARN: &str = "PUSH_TOPIC_ARN";
    /// The From address of emails; an SES verified identity. Required.
    pub const EMAIL_SENDER: &str = "EMAIL_SENDER";
    /// SES configuration set for sending events (bounces, complaints). Optional.
    pub const SES_CONFIGURATION_SET: &str = "SES_CONFIGURATION_SET";
    /// Emails per second every invocation together may send (the send budget). Default 14; the
    /// account's own rate (`GetAccount`) caps it at cold start.
    pub const EMAIL_SEND_RATE_PER_SECOND: &str = "EMAIL_SEND_RATE_PER_SECOND";
    /// Pushes (SNS Publish) per second every invocation together may send. Default 300.
    pub const PUSH_SEND_RATE_PER_SECOND: &str = "PUSH_SEND_RATE_PER_SECOND";
}

/// SES's rate for new production accounts, long the usual start ("Managing your Amazon SES
/// sending quotas"; the sandbox allows 1).
pub const DEFAULT_EMAIL_SEND_RATE: f64 = 14.0;
/// A share of SNS's Publish quota, which is thousands per second in most regions ("Amazon SNS
/// endpoints and quotas"), far below it so the budget's one DynamoDB item stays cool.
pub const DEFAULT_PUSH_SEND_RATE: f64 = 300.0;
/// Rates accepted: from one send every 100 s to 1,000 a second, the write rate of the one
/// DynamoDB partition a budget's item lives on (one write unit per send).
pub const SEND_RATES: std::ops::RangeInclusive<f64> = 0.01..=1000.0;

#[derive(Debug, Clone, PartialEq)]
pub struct SenderConfig {
    pub push_topic_arn: String,
    pub email_sender: String,
    pub ses_configuration_set: Option<String>,
    /// Emails per second (the send budget), before the account's own rate caps it.
    pub email_send_rate: f64,
    /// Pushes per second (the send budget).
    pub push_send_rate: f64,
}

impl SenderConfig {
    pub fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        let push_topic_arn = environment.required(
            env::PUSH_TOPIC_ARN,
            "the SNS topic pushes are published to when a message has no device endpoint",
        )?;
        if !is_sns_topic_arn(&push_topic_arn) {
            return Err(malformed(
                env::PUSH_TOPIC_ARN,
                push_topic_arn,
                "expected an SNS topic ARN such as arn:aws:sns:<region>:<account>:<topic>",
            ));
        }
        // A FIFO topic needs a message group on every publish; without one SNS refuses each push as
        // an invalid parameter, which this function records as a permanent rejection. Refusing the
        // configuration at cold start is the honest failure.
        if push_topic_arn.ends_with(".fifo") {
            return Err(malformed(
                env::PUSH_TOPIC_ARN,
                push_topic_arn,
                "FIFO topics are not supported; use a standard topic",
            ));
        }
        let email_sender = environment.required(
            env::EMAIL_SENDER,
            "the From address of emails, an SES verified identity",
        )?;
        if !email_sender.contains('@') {
            return Err(malformed(
                env::EMAIL_SENDER,
                email_sender,
                "expected an email address such as tickets@example.com",
            ));
        }
        Ok(Self {
            push_topic_arn,
            email_sender,
            ses_configuration_set: environment.optional(env::SES_CONFIGURATION_SET),
            email_send_rate: environment.parse_in(
                env::EMAIL_SEND_RATE_PER_SECOND,
                DEFAULT_EMAIL_SEND_RATE,
                SEND_RATES,
            )?,
            push_send_rate: environment.parse_in(env::PUSH_SEND_RATE_PER_SECOND, DEFAULT_PUSH_SEND_RATE, SEND_RATES)?,
        })
    }
}

/// Everything notification-sender reads at cold start: the worker's settings and the sender's.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationConfig {
    pub worker: WorkerConfig,
    pub sender: SenderConfig,
}

impl NotificationConfig {
    pub fn from_env(environment: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            worker: worker_config(environment)?,
            sender: SenderConfig::from_env(environment)?,
        })
    }
}

/// The shared worker settings, with the retry delay on unless `RETRY_DELAY` says `off`: a send
/// deferred by the budget comes back when a slot is free, a throttled or ambiguous one after its
/// backoff (1–2 s, 2–4 s, …), rather than after the queue's visibility timeout (210 s).
pub fn worker_config(environment: &Environment) -> Result<WorkerConfig, ConfigError> {
    WorkerConfig::from_env_with(environment, &RetryDelayConfig::on())
}

fn is_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6 && parts[0] == "arn" && parts[2] == "sns" && parts.iter().all(|part| !part.is_empty())
}

fn malformed(name: &str, value: String, reason: &str) -> ConfigError {
    ConfigError::Malformed {
        name: name.to_owned(),
        value,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:notifications";

    fn config(pairs: &[(&str, &str)]) -> Result<SenderConfig, ConfigError> {
        SenderConfig::from_env(&Environment::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn reads_every_variable_it_declares() {
        let read = config(&[
            (env::PUSH_TOPIC_ARN, TOPIC),
            (env::EMAIL_SENDER, "tickets@example.com"),
            (env::SES_CONFIGURATION_SET, "ticketing"),
            (env::EMAIL_SEND_RATE_PER_SECOND, "1"),
            (env::PUSH_SEND_RATE_PER_SECOND, "0.5"),
        ])
        .unwrap();
        assert_eq!(
            read,
            SenderConfig {
                push_topic_arn: TOPIC.into(),
                email_sender: "tickets@example.com".into(),
                ses_configuration_set: Some("ticketing".into()),
                email_send_rate: 1.0,
                push_send_rate: 0.5,
            }
        );
        assert_eq!(
            crate::ENV_VARS,
            [
                env::PUSH_TOPIC_ARN,
                env::EMAIL_SENDER,
                env::SES_CONFIGURATION_SET,
                env::EMAIL_SEND_RATE_PER_SECOND,
                env::PUSH_SEND_RATE_PER_SECOND,
            ]
        );
    }

    #[test]
    fn send_rates_default_to_ses_production_start_and_a_share_of_sns_and_must_be_positive() {
        let read = config(&[(env::PUSH_TOPIC_ARN, TOPIC), (env::EMAIL_SENDER, "tickets@example.com")]).unwrap();
        assert_eq!((read.email_send_rate, read.push_send_rate), (14.0, 300.0));
        for (name, value) in [
            (env::EMAIL_SEND_RATE_PER_SECOND, "0"),
            (env::EMAIL_SEND_RATE_PER_SECOND, "fast"),
            (env::PUSH_SEND_RATE_PER_SECOND, "5000"),
        ] {
            let error = config(&[
                (env::PUSH_TOPIC_ARN, TOPIC),
                (env::EMAIL_SENDER, "tickets@example.com"),
                (name, value),
            ])
            .unwrap_err();
            assert!(
                matches!(&error, ConfigError::Malformed { name: n, .. } if n == name),
                "{error}"
            );
        }
    }

    #[test]
    fn the_function_config_holds_the_workers_and_names_a_missing_variable_of_either() {
        let sender = [(env::PUSH_TOPIC_ARN, TOPIC), (env::EMAIL_SENDER, "tickets@example.com")];
        let worker = [
            ("AWS_LAMBDA_FUNCTION_NAME", "notification-sender"),
            ("IDEMPOTENCY_TABLE_NAME", "t"),
        ];
        let read = |pairs: Vec<(&str, &str)>| NotificationConfig::from_env(&Environment::from_pairs(pairs));
        let config = read(sender.iter().chain(&worker).copied().collect()).unwrap();
        assert_eq!(config.worker.function_name, "notification-sender");
        assert_eq!(config.worker.retry_delay, RetryDelayConfig::on());
        assert_eq!(config.sender.push_topic_arn, TOPIC);
        let missing_table = read(sender.iter().chain(&worker[..1]).copied().collect()).unwrap_err();
        assert!(
            matches!(&missing_table, ConfigError::Missing { name, .. } if name == "IDEMPOTENCY_TABLE_NAME"),
            "{missing_table}"
        );
        let missing_sender = read(sender[..1].iter().chain(&worker).copied().collect()).unwrap_err();
        assert!(
            matches!(&missing_sender, ConfigError::Missing { name, .. } if name == env::EMAIL_SENDER),
            "{missing_sender}"
        );
    }

    #[test]
    fn the_retry_delay_is_on_unless_turned_off() {
        let worker = |pairs: &[(&str, &str)]| {
            let mut all = vec![
                ("AWS_LAMBDA_FUNCTION_NAME", "notification-sender"),
                ("IDEMPOTENCY_TABLE_NAME", "t"),
            ];
            all.extend_from_slice(pairs);
            worker_config(&Environment::from_pairs(all)).unwrap()
        };
        assert_eq!(worker(&[]).retry_delay, RetryDelayConfig::on());
        assert!(!worker(&[("RETRY_DELAY", "off")]).retry_delay.enabled);
    }

    #[test]
    fn the_configuration_set_is_optional_and_blank_means_unset() {
        let read = config(&[
            (env::PUSH_TOPIC_ARN, TOPIC),
            (env::EMAIL_SENDER, "Tickets <tickets@example.com>"),
            (env::SES_CONFIGURATION_SET, " "),
        ])
        .unwrap();
        assert_eq!(read.ses_configuration_set, None);
    }

    #[test]
    fn missing_or_malformed_variables_are_named() {
        let missing_topic = config(&[(env::EMAIL_SENDER, "tickets@example.com")]).unwrap_err();
        assert!(
            matches!(&missing_topic, ConfigError::Missing { name, .. } if name == env::PUSH_TOPIC_ARN),
            "{missing_topic}"
        );
        let missing_sender = config(&[(env::PUSH_TOPIC_ARN, TOPIC)]).unwrap_err();
        assert!(
            matches!(&missing_sender, ConfigError::Missing { name, .. } if name == env::EMAIL_SENDER),
            "{missing_sender}"
        );
        for (topic, sender, bad) in [
            ("notifications", "tickets@example.com", env::PUSH_TOPIC_ARN),
            (
                "arn:aws:sqs:us-east-1:123456789012:queue",
                "tickets@example.com",
                env::PUSH_TOPIC_ARN,
            ),
            (
                "arn:aws:sns:us-east-1:123456789012:n.fifo",
                "tickets@example.com",
                env::PUSH_TOPIC_ARN,
            ),
            (TOPIC, "tickets", env::EMAIL_SENDER),
        ] {
            let error = config(&[(env::PUSH_TOPIC_ARN, topic), (env::EMAIL_SENDER, sender)]).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Malformed { name, .. } if name == bad),
                "{topic} {sender}: {error}"
            );
            assert!(error.to_string().contains(bad), "{error}");
        }
    }
}
