//! The emulation toolkit: what the local stack, the benchmark, the chaos run and the flash sale
//! put between the workers and the AWS emulator (moto), so the workers meet production's
//! conditions rather than moto's.
//!
//! - [`proxy`]: the one loopback proxy; it identifies every call once ([`call`], with each
//!   table's key schema from [`tables`]) and lets its [`hook`]s decide and observe;
//! - hooks: [`counting`] (the benchmark's round trips), [`faults`] (the chaos run's resets,
//!   delays, 500s and throttling), [`sends`] (what SNS and SES accepted), [`limits`] (the model of
//!   AWS's production limits);
//! - [`answers`]: the services' error answers, shaped as AWS sends them; [`queues`]: what a run
//!   reads from the emulator's queues;
//! - [`runtime_api`]: the Lambda Runtime API for one function process (deadline header, timeout
//!   kill), behind the [`invoke::Invoker`] trait; [`launch`]: one function process started as
//!   Lambda starts it (its environment, a [`cgroup`] with Lambda's CPU share, the end of its
//!   init); [`workers`]: release binaries on their own Runtime API, in pools;
//! - the CloudFormation model and evaluator are the `cfn-model` crate (`emulation/cfn`), a crate of
//!   its own so the template checks need none of this crate's HTTP, TLS and SDK dependencies;
//! - [`serve`]: the one HTTP/1 serve loop of the proxy and the Runtime API;
//! - [`tls`]: TLS as AWS endpoints speak it, in front of the proxy, with a CA made per run;
//! - [`rng`]: the seeded generator every random decision draws from; [`stats`]: summaries of
//!   samples; [`machine`]: the host and versions, for reports.

pub mod answers;
pub mod call;
pub mod cgroup;
pub mod counting;
pub mod faults;
pub mod form;
pub mod hook;
pub mod invoke;
pub mod launch;
pub mod limits;
pub mod machine;
pub mod proxy;
pub mod queues;
pub mod rng;
pub mod runtime_api;
pub mod sends;
pub mod serve;
pub mod stats;
pub mod tables;
pub mod tls;
pub mod workers;
