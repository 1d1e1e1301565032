//! The benchmark of issue 9: the Rust workers side by side with what users would pick instead, a
//! Powertools for AWS Lambda (Python) handler, on the same machine in the same run.
//!
//! `make bench` builds the release binaries as `sam build` does, then runs `bench` (src/main.rs),
//! which measures and writes BENCHMARKS.md:
//! - [`init_time`]: exec → first `GET …/invocation/next`, against the Runtime API stub;
//! - [`batch_run`]: wall time and CPU per batch of ticket requests, fresh and duplicate, and the
//!   peak RSS of each contender;
//! - [`round_trips`]: AWS calls per message, counted by the `emulation` proxy's counting hook;
//! - [`lambda_like`]: issue 18, performance as Lambda bills it: cold invocations over TLS and warm
//!   batches with the latency model, each process at its memory's CPU share; [`lambda_report`]
//!   renders its goals, sections and the cost per million tickets;
//! - the criterion micro-benchmark `benches/batch_overhead.rs` ([`micro`] reads its results).

pub mod batch_run;
pub mod bench_stack;
pub mod cli;
pub mod error;
pub mod function_process;
pub mod init_time;
pub mod lambda_like;
pub mod lambda_report;
pub mod machine;
pub mod micro;
pub mod process_usage;
pub mod profile;
pub mod report;
pub mod report_rows;
pub mod results;
pub mod round_trips;
pub mod ticket_batches;

pub use error::BenchError;
