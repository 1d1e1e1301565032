//! `chaos`: one chaos run with the parameters given as flags or in the environment (`--help`;
//! see `chaos::params`). Prints the figures and each invariant's result, per slice, then the
//! verdict over both; exits 1 if any invariant fails or was not checked (SKIPPED), 2 if the run
//! could not be set up.

use chaos::params::{Args, Params};
use clap::Parser;

#[tokio::main]
async fn main() {
    // A malformed flag or variable: clap prints it, names it, and exits 2.
    let params = match Params::from_args(Args::parse()) {
        Ok(params) => params,
        Err(error) => {
            eprintln!("chaos: {error}");
            std::process::exit(2);
        }
    };
    println!(
        "chaos run: seed {}, {} requests, {} events, duplicates {}, faults {}, kill every ~{} ms",
        params.seed,
        params.requests,
        params.events,
        params.duplicate_rate,
        params.fault_rate,
        params.kill_interval.as_millis()
    );
    match chaos::run::run(&params).await {
        Ok(slices) => {
            let mut all_passed = true;
            for (figures, verdict) in &slices {
                print!("{}", chaos::report::render(figures, verdict));
                println!();
                // A skipped check fails the run too: it proves nothing (the report says INCOMPLETE).
                all_passed &= verdict.complete_and_passed() && figures.unexpected_exits.is_empty() && figures.settled;
            }
            println!("{}", chaos::report::overall(&slices));
            if !all_passed {
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!("chaos: {error}");
            std::process::exit(2);
        }
    }
}
