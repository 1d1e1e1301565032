//! notification-sender: sends the push (SNS) and the email (SESv2), each exactly once. (Work in progress.)

/// Environment variables this function reads (besides `shared::worker::env::ALL`).
pub const ENV_VARS: &[&str] = &["PUSH_TOPIC_ARN", "EMAIL_SENDER", "SES_CONFIGURATION_SET"];
