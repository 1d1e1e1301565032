//! The local stack: the SAM app on the AWS emulator, triggered from SQS as in production.

pub mod esm;
pub mod invoke;
pub mod metrics;
pub mod provision;
pub mod scenario;
pub mod stack;
pub mod watch;
