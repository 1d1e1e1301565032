//! The local stack: the SAM app on the AWS emulator, triggered from SQS as in production.

/// The CloudFormation model and evaluator (one crate, shared with the template checks).
pub use cfn_model as cfn;
pub mod esm;
pub mod invoke;
pub mod metrics;
pub mod provision;
/// The Lambda Runtime API, now in the emulation toolkit; re-exported for its users' old imports.
pub use emulation::runtime_api;
pub mod scenario;
pub mod stack;
pub mod watch;
