//! The chaos run: the release binaries of ticket-processor and notification-sender run against
//! the emulator (moto) while it is made hostile — faults between the workers and the emulator,
//! worker processes SIGKILLed mid-invocation, the same batch handed to two processes at once,
//! producer duplicates and poison messages — then dlq-redrive replays what exhausted its
//! retries, and the emulator's state (not the workers' logs) is checked against the invariants
//! of "exactly once".
//!
//! - [`params`]: the run's parameters, from the environment;
//! - [`load`]: events, requests, producer duplicates and poison, and their paced sending;
//! - the proxy between the workers and moto, its fault hook, and the worker pools on Lambda
//!   Runtime APIs come from the `emulation` toolkit; [`supervisor`] kills the pools' processes;
//! - [`duplicates`]: an invoker that also hands a batch to a second process, concurrently;
//! - [`observe`]: the emulator's state at the end; [`invariants`]: what must hold in it;
//! - [`ledger`]: the proxy's record, in time, of ticket transactions and sold-out enqueues;
//! - [`tap`]: a record of the sends independent of the proxy (moto's own deliveries and count);
//! - [`run`]: the phases of a run; [`report`]: the figures and the verdict.

pub mod duplicates;
pub mod invariants;
pub mod ledger;
pub mod load;
pub mod observe;
pub mod params;
pub mod report;
pub mod run;
pub mod supervisor;
pub mod tap;
