//! ticket-processor: issues each user at most one ticket per event, never more than the event's
//! capacity, then enqueues a notification. (Work in progress.)

/// Environment variables this function reads (besides `shared::worker::env::ALL`).
pub const ENV_VARS: &[&str] = &["TICKETS_TABLE_NAME", "NOTIFICATION_QUEUE_URL"];
