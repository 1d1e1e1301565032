//! The local stack: the SAM app on the AWS emulator, triggered from SQS as in production.

pub mod cfn;
pub mod esm;
pub mod invoke;
pub mod metrics;
pub mod provision;
pub mod runtime_api;
pub mod scenario;
pub mod stack;
pub mod watch;
