//! The demo scenario end to end, as `make demo` runs it: template.yaml provisioned in moto, the
//! functions under `cargo lambda watch`, SQS event source mappings polling, dlq-redrive replaying;
//! then the EMF lines the functions wrote to their logs, summed, against what moto holds.

use std::path::PathBuf;
use std::time::Duration;

use local_stack::scenario::{self, Scenario};
use local_stack::stack::{LocalStack, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scenario_meets_every_expectation() {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let mut options = Options::for_workspace(&workspace);
    // Its own state directory, so a `make up` stack in .local/ is left alone.
    options.state_dir = std::env::temp_dir().join(moto_harness::unique_name("local-stack-test"));
    let stack = LocalStack::start(&options, &|line| println!("{line}"))
        .await
        .expect("the stack starts");
    let scenario = Scenario {
        capacity: 3,
        users: 5,
        drain_timeout: Duration::from_secs(180),
        ..Scenario::default()
    };
    let outcome = scenario::run(&stack, &scenario, &|line| println!("{line}")).await;
    stack.shutdown().await;
    let outcome = outcome.expect("the scenario ran");
    println!("{}", outcome.table());
    assert!(outcome.checks.len() >= 15, "{}", outcome.table());
    assert!(outcome.passed(), "{}", outcome.table());
    let check = |what: &str| {
        outcome
            .checks
            .iter()
            .find(|c| c.what.starts_with(what))
            .cloned()
            .unwrap()
    };
    assert_eq!(check("tickets issued").actual, "3");
    assert_eq!(check("sold-out pushes").actual, "2");
    let metric = |what: &str| {
        outcome
            .metrics
            .iter()
            .find(|c| c.what.starts_with(what))
            .cloned()
            .unwrap()
    };
    assert!(outcome.metrics.len() >= 8, "{}", outcome.table());
    assert_eq!(metric("TicketsIssued").actual, "4", "3 seats and the redriven late fan");
    assert_eq!(metric("PushSent/EmailSent").actual, "6/6");
}
