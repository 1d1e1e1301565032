//! dlq-redrive: moves failed messages from a dead-letter queue back to their source. (Work in progress.)

/// Environment variables this function reads.
pub const ENV_VARS: &[&str] = &["REDRIVE_ROUTES", "REDRIVE_MAX_COUNT"];
