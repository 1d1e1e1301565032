//! The chaos run: the release binaries of ticket-processor and notification-sender run against
//! the emulator (moto) while it is made hostile — faults between the workers and the emulator,
//! worker processes SIGKILLed mid-invocation, the same batch handed to two processes at once,
//! producer duplicates and poison messages — then dlq-redrive replays what exhausted its
//! retries, and the emulator's state (not the workers' logs) is checked against the invariants
//! of "exactly once".
//!
//! - [`params`]: the run's parameters, from the environment;
//! - [`rng`]: the seeded generator every random decision draws from;
//! - [`load`]: events, requests, producer duplicates and poison, and their paced sending;
//! - [`fault_shapes`], [`proxy`]: the fault-injecting proxy between the workers and moto;
//! - [`workers`]: process pools on Lambda Runtime APIs, and the supervisor that kills them;
//! - [`duplicates`]: an invoker that also hands a batch to a second process, concurrently;
//! - [`observe`]: the emulator's state at the end; [`invariants`]: what must hold in it;
//! - [`run`]: the phases of a run; [`report`]: the figures and the verdict.

pub mod duplicates;
pub mod fault_shapes;
pub mod invariants;
pub mod load;
pub mod observe;
pub mod params;
pub mod proxy;
pub mod report;
pub mod rng;
pub mod run;
pub mod workers;
