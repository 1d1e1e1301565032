//! notification-sender: consumes notification-queue and sends each notification's push (SNS) and
//! email (SESv2) exactly once, each as its own idempotent step. See README.md.
//!
//! - [`plan`]: the SQS record → the checked notification, its push and its email;
//! - [`budget`]: the send budget: every send waits for a slot of its channel's shared schedule;
//! - [`send_quota`]: the account's SES sending rate, read at cold start;
//! - [`templates`]: Korean and English texts, compiled in;
//! - [`push`], [`email`]: the SNS and SESv2 calls behind small traits tests can wrap;
//! - [`classify`]: which service errors are rejections, misconfiguration, transient or ambiguous;
//! - [`ambiguous`]: sends whose request may have reached the provider, never retried by the SDK;
//! - [`clients`]: the SNS and SESv2 clients as production builds them;
//! - [`channels`]: what a step stores and how channel results decide the record's;
//! - [`handler`]: the record handler; [`mask`]: email addresses as logs show them.

pub mod ambiguous;
pub mod budget;
pub mod channels;
pub mod classify;
pub mod clients;
pub mod config;
pub mod email;
pub mod handler;
pub mod plan;
pub mod push;
pub mod send_quota;
pub mod templates;

pub use config::SenderConfig;
pub use handler::NotificationSender;

/// Environment variables this function reads (besides `shared::worker::env::ALL`).
pub const ENV_VARS: &[&str] = &[
    config::env::PUSH_TOPIC_ARN,
    config::env::EMAIL_SENDER,
    config::env::SES_CONFIGURATION_SET,
    config::env::EMAIL_SEND_RATE_PER_SECOND,
    config::env::PUSH_SEND_RATE_PER_SECOND,
];
