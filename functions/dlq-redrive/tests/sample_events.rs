//! The request files in `events/dlq-redrive/` (for `cargo lambda invoke` and `sam remote invoke`)
//! are valid requests that ask for what the folder's README says, and the README lists each one.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use dlq_redrive::Request;
use dlq_redrive::request::{Command, Mode, ReplayPlan};
use serde_json::json;

fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/dlq-redrive")
}

/// The file parsed as the function parses a request, against the routes the template configures.
fn request(name: &str) -> Request {
    let path = folder().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let payload = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let ticket = common::mocked::route("ticket", false);
    let notification = common::mocked::route("notification", true);
    Request::parse(payload, &common::config(&[&ticket, &notification], 3))
        .unwrap_or_else(|e| panic!("{name} is refused: {e}"))
}

fn queues(request: &Request) -> Vec<&str> {
    request.routes.iter().map(|route| route.name.as_str()).collect()
}

fn replay_plan(request: &Request) -> &ReplayPlan {
    match &request.command {
        Command::Replay(plan) => plan,
        other => panic!("not a replay: {other:?}"),
    }
}

#[test]
fn dry_runs_inspect_the_queues_they_name_and_move_nothing() {
    let all = request("dry-run-all.json");
    assert_eq!(queues(&all), ["ticket", "notification"]);
    assert_eq!(
        replay_plan(&all),
        &ReplayPlan {
            dry_run: true,
            ..ReplayPlan::default()
        }
    );

    let ticket = request("dry-run-ticket.json");
    assert_eq!(queues(&ticket), ["ticket"]);
    assert!(replay_plan(&ticket).dry_run);

    let by_body = request("dry-run-notification-by-body-field.json");
    assert_eq!(queues(&by_body), ["notification"]);
    let plan = replay_plan(&by_body);
    assert!(plan.dry_run);
    assert_eq!(plan.max_messages, Some(100));
    assert_eq!(plan.filter.body["kind"], json!("ticket-issued"));
}

#[test]
fn replays_move_the_ticket_dlq_at_the_rate_or_with_the_filter_they_name() {
    let replay = request("replay-ticket.json");
    assert_eq!(queues(&replay), ["ticket"]);
    let plan = replay_plan(&replay);
    assert!(!plan.dry_run);
    assert_eq!(plan.max_per_second, Some(50));

    let by_kind = request("replay-ticket-by-error-kind.json");
    assert_eq!(queues(&by_kind), ["ticket"]);
    let plan = replay_plan(&by_kind);
    assert!(!plan.dry_run);
    assert_eq!(
        plan.filter.error_kind,
        Some(vec!["malformed-body".to_owned(), "retries-exhausted".to_owned()])
    );
}

#[test]
fn move_task_requests_start_list_and_cancel() {
    let start = request("move-task-start.json");
    assert_eq!((start.mode, queues(&start)), (Mode::MoveTask, vec!["ticket"]));
    assert_eq!(
        start.command,
        Command::MoveTaskStart {
            dry_run: false,
            max_per_second: Some(50),
            destination: None
        }
    );

    let status = request("move-task-status.json");
    assert_eq!(queues(&status), ["ticket", "notification"]);
    assert_eq!(status.command, Command::MoveTaskStatus);

    let cancel = request("move-task-cancel.json");
    assert_eq!(queues(&cancel), ["ticket"]);
    assert_eq!(cancel.command, Command::MoveTaskCancel { task_handle: None });
}

#[test]
fn every_request_file_is_checked_here_and_listed_in_the_readme() {
    let files: BTreeSet<String> = std::fs::read_dir(folder())
        .expect("events/dlq-redrive")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let checked: BTreeSet<String> = [
        "dry-run-all.json",
        "dry-run-ticket.json",
        "dry-run-notification-by-body-field.json",
        "replay-ticket.json",
        "replay-ticket-by-error-kind.json",
        "move-task-start.json",
        "move-task-status.json",
        "move-task-cancel.json",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(
        files, checked,
        "a request file this test does not check, or one that is gone"
    );
    let readme = std::fs::read_to_string(folder().join("README.md")).expect("events/dlq-redrive/README.md");
    for file in &files {
        assert!(readme.contains(&format!("`{file}`")), "README.md does not list {file}");
    }
}
