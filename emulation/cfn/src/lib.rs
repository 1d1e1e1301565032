//! One CloudFormation model, used by the local stack (`local`) and the template checks
//! (`tests/template`).
//!
//! - [`template`]: a template as a tree of [`Node`]s, read from YAML with CloudFormation's
//!   short-form tags (`template.yaml`) or from JSON (the SAM transform's output), with the
//!   accessors both users need (resources, functions, parameters, conditions, outputs, the order
//!   in which resources can be created);
//! - [`intrinsics`]: the one evaluator of intrinsic functions, for one [`Scenario`] of parameter
//!   values, against a [`Deployment`]: [`Symbolic`] for the checks, [`deployed::Deployed`]
//!   (what the local stack created) for the local stack.
//!
//! A crate of its own rather than a module of `emulation`: the template checks need no HTTP,
//! TLS or AWS SDK, and `local` (which `emulation` still depends on) uses it.

pub mod deployed;
pub mod intrinsics;
pub mod template;

pub use deployed::{Deployed, Physical};
pub use intrinsics::{Deployment, EvalError, Evaluator, Scenario, Symbolic, scalar_text};
pub use template::{Node, Resource, Template, TemplateError};
