//! Configuration errors name the variable; defaults are what the docs say.

use std::time::Duration;

use shared::RetryDelayConfig;
use shared::config::{ConfigError, Environment};
use shared::worker::{WorkerConfig, env};

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        (env::AWS_LAMBDA_FUNCTION_NAME, "ticket-processor"),
        (env::IDEMPOTENCY_TABLE_NAME, "idempotency"),
    ]
}

#[test]
fn a_failed_cold_start_is_logged_naming_the_variable_and_returned() {
    let logs = shared::testing::CapturedLogs::new();
    let error = {
        let _guard = logs.install();
        Environment::from_pairs([(env::AWS_LAMBDA_FUNCTION_NAME, "ticket-processor")])
            .at_cold_start(WorkerConfig::from_env)
            .unwrap_err()
    };
    assert!(matches!(&error, ConfigError::Missing { name, .. } if name == "IDEMPOTENCY_TABLE_NAME"));
    let line: serde_json::Value = serde_json::from_str(logs.text().lines().next().expect("one line")).unwrap();
    assert_eq!(line["level"], "ERROR", "{line}");
    assert!(
        line.to_string()
            .contains("missing environment variable IDEMPOTENCY_TABLE_NAME"),
        "{line}"
    );
    assert!(line.to_string().contains("cold start failed: configuration"), "{line}");
    let config = Environment::from_pairs(base())
        .at_cold_start(WorkerConfig::from_env)
        .unwrap();
    assert_eq!(config.idempotency_table, "idempotency");
}

#[test]
fn defaults() {
    let config = WorkerConfig::from_env(&Environment::from_pairs(base())).unwrap();
    assert_eq!(config.function_name, "ticket-processor");
    assert_eq!(config.idempotency_table, "idempotency");
    assert_eq!(config.dead_letter_queue_url, None);
    assert_eq!(config.concurrency, 10);
    assert_eq!(config.deadline_margin, Duration::from_secs(3));
    assert_eq!(config.idempotency_expires_after, Duration::from_secs(14 * 24 * 3600));
    assert_eq!(config.idempotency_config().key_prefix, "ticket-processor");
    assert_eq!(
        config.retry_delay,
        RetryDelayConfig::off(),
        "off unless the worker or RETRY_DELAY says on"
    );
    assert_eq!(config.retry_delay.base, Duration::from_secs(2));
    assert_eq!(config.retry_delay.max, Duration::from_secs(300));
}

#[test]
fn the_retry_delay_defaults_per_worker_and_the_environment_overrides_it() {
    let on = WorkerConfig::from_env_with(&Environment::from_pairs(base()), &RetryDelayConfig::on()).unwrap();
    assert_eq!(on.retry_delay, RetryDelayConfig::on());

    let mut pairs = base();
    pairs.extend([
        (env::RETRY_DELAY, "OFF"),
        (env::RETRY_DELAY_BASE_SECONDS, "1"),
        (env::RETRY_DELAY_MAX_SECONDS, "60"),
    ]);
    let config = WorkerConfig::from_env_with(&Environment::from_pairs(pairs), &RetryDelayConfig::on()).unwrap();
    assert_eq!(
        config.retry_delay,
        RetryDelayConfig {
            enabled: false,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    );

    let mut pairs = base();
    pairs.push((env::RETRY_DELAY, "on"));
    assert!(
        WorkerConfig::from_env(&Environment::from_pairs(pairs))
            .unwrap()
            .retry_delay
            .enabled
    );
}

#[test]
fn a_missing_variable_is_named() {
    let error = WorkerConfig::from_env(&Environment::from_pairs([(env::AWS_LAMBDA_FUNCTION_NAME, "f")])).unwrap_err();
    assert!(matches!(&error, ConfigError::Missing { name, .. } if name == "IDEMPOTENCY_TABLE_NAME"));
    assert!(error.to_string().contains("IDEMPOTENCY_TABLE_NAME"), "{error}");
    let blank = WorkerConfig::from_env(&Environment::from_pairs([
        (env::AWS_LAMBDA_FUNCTION_NAME, "f"),
        (env::IDEMPOTENCY_TABLE_NAME, "  "),
    ]))
    .unwrap_err();
    assert!(
        blank.to_string().contains("IDEMPOTENCY_TABLE_NAME"),
        "an empty value counts as missing: {blank}"
    );
}

#[test]
fn malformed_values_are_named_with_the_reason() {
    for (name, value, reason) in [
        (env::BATCH_CONCURRENCY, "ten", "invalid digit"),
        (env::BATCH_CONCURRENCY, "0", "between 1 and 1000"),
        (env::BATCH_DEADLINE_MARGIN_MS, "-5", "invalid digit"),
        (env::DEAD_LETTER_QUEUE_URL, "my-dlq", "SQS queue URL"),
        (env::IDEMPOTENCY_EXPIRES_AFTER_SECONDS, "5", "between 60"),
        (env::RETRY_DELAY, "yes", "expected on or off"),
        (env::RETRY_DELAY_BASE_SECONDS, "0", "between 1 and 43200"),
        (env::RETRY_DELAY_MAX_SECONDS, "86400", "between 1 and 43200"),
    ] {
        let mut pairs = base();
        pairs.push((name, value));
        let error = WorkerConfig::from_env(&Environment::from_pairs(pairs)).unwrap_err();
        let text = error.to_string();
        assert!(text.contains(name) && text.contains(reason), "{name}={value}: {text}");
    }
}

#[test]
fn queue_urls_of_aws_and_of_the_emulator_are_accepted() {
    for url in [
        "https://sqs.us-east-1.amazonaws.com/123456789012/ticket-issue-dlq",
        "http://127.0.0.1:5000/123456789012/ticket-issue-dlq.fifo",
    ] {
        let mut pairs = base();
        pairs.push((env::DEAD_LETTER_QUEUE_URL, url));
        let config = WorkerConfig::from_env(&Environment::from_pairs(pairs)).unwrap();
        assert_eq!(config.dead_letter_queue_url.as_deref(), Some(url));
    }
}
