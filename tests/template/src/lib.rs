//! Checks of `template.yaml` that cfn-lint and checkov do not make.
//!
//! cfn-lint validates the template against CloudFormation's schemas and checkov against
//! security rules; neither knows this application's contract:
//! - every SQS event reports partial batch failures and publishes its `EventCount` metrics
//!   ([`checks::event_sources`]; cfn-lint accepts a misspelt `ReportBatchItemFailure`, and then
//!   one failed record retries the whole batch);
//! - every source queue dead-letters into a queue of its own type that allows only it to
//!   redrive ([`checks::dead_letter_queues`]), and the functions are told the right queues
//!   ([`checks::dead_letter_routes`]);
//! - every SQS event source scales one way: a maximum concurrency or provisioned pollers, never
//!   both ([`checks::scaling`]);
//! - visibility timeouts outlast six function timeouts ([`checks::visibility_timeout`]);
//! - every environment variable the code reads is set ([`checks::environment`]);
//! - IAM grants name their actions and resources ([`checks::iam`]) and no function gets more
//!   than its calls need ([`checks::permissions`]);
//! - queues are encrypted and every checkov suppression says why ([`checks::encryption`],
//!   [`checks::suppressions`]);
//! - every function traces actively ([`checks::tracing`]), has Errors and Throttles alarms, and
//!   every DLQ alarms on new dead letters and on dead letters about to expire
//!   ([`checks::alarms`]); the dashboard graphs every queue, every function and every metric the
//!   code writes ([`checks::dashboard`]);
//! - `samconfig.toml` overrides only parameters the template has, with values it accepts
//!   ([`checks::samconfig`]), and `docs/deploy.md` documents every parameter with its default
//!   and every output ([`checks::deploy_docs`]).
//!
//! Beside the template: no crate of the workspace has modules that depend on each other in a
//! circle ([`module_cycles`], from the sources as [`sources`] reads them), and no function body
//! of the checked crates is longer than 100 lines ([`function_length`]).
//!
//! Each check returns [`Finding`]s; none means the template passes. Values that depend on
//! parameters are checked in every [`Scenario`](cfn_model::Scenario) of the parameters that conditions depend on.

pub mod checks;
pub mod finding;
pub mod function_length;
pub mod module_cycles;
pub mod sources;

pub use finding::{Finding, report};
