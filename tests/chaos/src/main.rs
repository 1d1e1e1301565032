//! `chaos`: one chaos run with the parameters in the environment (see `chaos::params`). Prints the
//! figures and each invariant's result; exits 1 if any invariant fails or was not checked
//! (SKIPPED), 2 if the run could not be set up.

use chaos::params::Params;
use shared::config::Environment;

#[tokio::main]
async fn main() {
    let params = match Params::from_env(&Environment::from_process()) {
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
        Ok((figures, verdict)) => {
            print!("{}", chaos::report::render(&figures, &verdict));
            // A skipped check fails the run too: it proves nothing (the report says INCOMPLETE).
            if !(verdict.complete_and_passed() && figures.unexpected_exits.is_empty() && figures.settled) {
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!("chaos: {error}");
            std::process::exit(2);
        }
    }
}
