//! `make flash-sale`: one event's flash sale run through the release binaries of the workers,
//! the emulated SQS event sources of `template.yaml` and the limits model of AWS
//! (`emulation::limits`), measured from the emulator's state and the proxy's record.
//!
//! - [`params`]: the command line; [`sale`]: the line of people and when each is admitted;
//! - [`setup`]: moto, the template, the proxy and its hooks, the worker processes;
//!   [`tickets_state`]: the one module that knows the tickets table's layout;
//! - [`producer`]: the waiting room sending the requests; [`recorder`], [`invocations`]: what the
//!   proxy and the event sources saw;
//! - [`run`]: the phases of a sale; [`measure`], [`goals`]: the figures and the goals of issues 19
//!   and 20; [`figures`]: all of them, as JSON;
//! - [`report`], [`chart`]: FLASH-SALE.md and its SVG chart;
//! - [`check`]: the invariants `make test`'s short sale asserts.

pub mod chart;
pub mod check;
pub mod figures;
pub mod goals;
pub mod invocations;
pub mod measure;
pub mod params;
pub mod producer;
pub mod recorder;
pub mod report;
pub mod run;
pub mod sale;
pub mod setup;
pub mod tickets_state;
