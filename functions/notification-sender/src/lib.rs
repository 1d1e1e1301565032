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
//! - [`handler`]: the record handler (addresses are masked with `shared::redact`);
//! - [`metrics`]: what each invocation's EMF line counts (sends per channel, rejected,
//!   throttled, misconfigured, time to send).

pub mod ambiguous;
pub mod budget;
pub mod channels;
pub mod classify;
pub mod clients;
pub mod config;
pub mod email;
pub mod handler;
pub mod metrics;
pub mod plan;
pub mod push;
pub mod send_quota;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;

use shared::aws_calls::{AwsCall, Target};

pub use config::{NotificationConfig, SenderConfig};
pub use handler::NotificationSender;

/// Environment variables this function reads (besides `shared::worker::env::ALL`).
pub const ENV_VARS: &[&str] = &[
    config::env::PUSH_TOPIC_ARN,
    config::env::EMAIL_SENDER,
    config::env::SES_CONFIGURATION_SET,
    config::env::EMAIL_SEND_RATE_PER_SECOND,
    config::env::PUSH_SEND_RATE_PER_SECOND,
];

/// The AWS calls this crate makes (besides `shared::worker::AWS_CALLS`); `tests/template` derives
/// the role's grants from them. A push goes to the topic, or to the device endpoint the message
/// names (`push.rs`); an email is sent as `EMAIL_SENDER`, through `SES_CONFIGURATION_SET` when set
/// (`email.rs`).
pub const AWS_CALLS: &[AwsCall] = &[
    AwsCall::new("publish", &["sns:Publish"], Target::Env(config::env::PUSH_TOPIC_ARN)),
    AwsCall::new("publish", &["sns:Publish"], Target::PushEndpoints),
    AwsCall::new(
        "send_email",
        &["ses:SendEmail"],
        Target::SesIdentityOf(config::env::EMAIL_SENDER),
    ),
    AwsCall::new(
        "send_email",
        &["ses:SendEmail"],
        Target::SesConfigurationSet(config::env::SES_CONFIGURATION_SET),
    ),
    // The send budget's shared schedule (`budget/dynamodb.rs`): items keyed
    // `<function>#send-budget#…` in the idempotency table.
    AwsCall::new(
        "update_item",
        &["dynamodb:UpdateItem"],
        Target::OwnItemsOf(shared::worker::env::IDEMPOTENCY_TABLE_NAME),
    ),
    // The account's SES sending rate, once at cold start (`send_quota.rs`); GetAccount has no
    // resource types.
    AwsCall::new("get_account", &["ses:GetAccount"], Target::AnyResource),
];
