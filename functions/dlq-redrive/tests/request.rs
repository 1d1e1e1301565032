//! Requests: `{}` is a safe default, unknown fields and contradictions are refused with a clear
//! error before any SQS call.

mod common;

use dlq_redrive::request::{Action, Command, Mode, ReplayPlan};
use dlq_redrive::{Request, RequestError};
use serde_json::{Value, json};
use shared::Deadline;

fn config() -> dlq_redrive::RedriveConfig {
    let ticket = common::mocked::route("ticket", false);
    let notification = common::mocked::route("notification", true);
    common::config(&[&ticket, &notification], 3)
}

fn parse(request: Value) -> Result<Request, RequestError> {
    Request::parse(request, &config())
}

fn error(request: Value) -> String {
    parse(request.clone())
        .map(|parsed| panic!("{request} was accepted: {parsed:?}"))
        .unwrap_err()
        .to_string()
}

#[test]
fn an_empty_request_is_a_dry_run_replay_of_every_dlq() {
    for empty in [json!({}), Value::Null] {
        let request = parse(empty).unwrap();
        assert_eq!(request.routes.len(), 2);
        assert_eq!(request.mode, Mode::Replay);
        assert_eq!(
            request.command,
            Command::Replay(ReplayPlan {
                dry_run: true,
                ..ReplayPlan::default()
            })
        );
    }
}

#[test]
fn a_queue_is_named_by_its_route_name_dlq_url_or_dlq_arn() {
    let config = config();
    let notification = &config.routes[1];
    for name in [&notification.name, &notification.dlq_url, &notification.dlq_arn] {
        let request = Request::parse(json!({"queue": name}), &config).unwrap();
        assert_eq!(request.routes, std::slice::from_ref(notification));
    }
    let unknown = error(json!({"queue": "tickets"}));
    assert!(
        unknown.contains("\"tickets\"") && unknown.contains("ticket") && unknown.contains("notification"),
        "{unknown}"
    );
}

#[test]
fn a_full_replay_request_is_read_as_written() {
    let request = parse(json!({
        "queue": "ticket", "mode": "replay", "dryRun": false, "maxMessages": 100, "maxPerSecond": 20,
        "filter": {"errorKind": ["malformed-body"], "body": {"eventId": "evt-1"}}
    }))
    .unwrap();
    let Command::Replay(plan) = request.command else {
        panic!("a replay")
    };
    assert!(!plan.dry_run);
    assert_eq!((plan.max_messages, plan.max_per_second), (Some(100), Some(20)));
    assert_eq!(plan.filter.error_kind, Some(vec!["malformed-body".to_owned()]));
}

#[test]
fn unknown_fields_and_wrong_types_are_refused_naming_the_field() {
    let unknown = error(json!({"queue": "ticket", "dry_run": false}));
    assert!(
        unknown.contains("unknown field `dry_run`") && unknown.contains("dryRun"),
        "{unknown}"
    );
    assert!(error(json!({"filter": {"kind": "x"}})).contains("unknown field `kind`"));
    assert!(error(json!({"mode": "move"})).contains("unknown variant `move`"));
    assert!(error(json!({"maxMessages": -1})).contains("-1"));
    assert!(error(json!({"dryRun": "no"})).contains("invalid type"));
    assert!(error(json!(["ticket"])).contains("JSON object"));
}

/// Every bad value an operator may type: refused naming the field, and quoted (when at all)
/// masked, escaped and cut, so a 10 KB value or an address never lands whole in the error.
#[test]
fn bad_values_are_refused_clearly_without_echoing_them_whole() {
    let empty = error(json!({"queue": ""}));
    assert!(
        empty.contains(r#"queue "" (0 characters) is not a configured DLQ"#),
        "{empty}"
    );
    let huge = error(json!({"queue": "x".repeat(10 * 1024)}));
    assert!(huge.len() < 400 && huge.contains("10240 characters"), "{huge}");
    let address = error(json!({"queue": "kim.lee@example.com"}));
    assert!(
        address.contains("k***@example.com") && !address.contains("kim.lee"),
        "{address}"
    );
    let control = error(json!({"queue": "김\u{0}"}));
    assert!(control.contains(r#""김\0""#), "{control}");
    let unknown_field = error(json!({"kim.lee@example.com": 1}));
    assert!(
        unknown_field.contains("k***@example.com") && !unknown_field.contains("kim.lee"),
        "{unknown_field}"
    );
    let not_an_object = error(json!("kim.lee@example.com"));
    assert!(
        not_an_object.contains("JSON object") && !not_an_object.contains("kim.lee"),
        "{not_an_object}"
    );
    assert!(error(json!({"queue": 5})).contains("invalid type"));
    assert!(error(json!({"maxPerSecond": "5"})).contains("invalid type"));
    assert!(error(json!({"filter": {"errorKind": 5}})).contains("filter"));
    let handle = error(json!({"queue": "ticket", "action": "cancel", "taskHandle": ""}));
    assert!(handle.contains("taskHandle") && handle.contains("empty"), "{handle}");
    let destination = error(json!({"queue": "ticket", "mode": "move-task", "destination": ""}));
    assert!(
        destination.contains("destination") && destination.contains("ARN"),
        "{destination}"
    );
    let huge_destination = error(json!({"queue": "ticket", "mode": "move-task", "destination": "y".repeat(10 * 1024)}));
    assert!(huge_destination.len() < 500, "{huge_destination}");
}

#[test]
fn limits_are_range_checked() {
    assert!(error(json!({"maxPerSecond": 0})).contains("maxPerSecond is 0, must be between 1 and 500"));
    assert!(error(json!({"maxPerSecond": 501})).contains("maxPerSecond"));
    assert!(error(json!({"maxMessages": 0})).contains("maxMessages"));
    assert!(error(json!({"filter": {"errorKind": []}})).contains("empty list"));
}

#[test]
fn fields_of_the_other_mode_are_refused() {
    assert!(error(json!({"mode": "replay", "action": "start"})).contains("action does not apply to mode replay"));
    assert!(error(json!({"destination": "arn:aws:sqs:us-east-1:123456789012:x"})).contains("destination"));
    assert!(error(json!({"taskHandle": "h"})).contains("taskHandle"));
    let filter = error(json!({"mode": "move-task", "filter": {"errorKind": "x"}}));
    assert!(
        filter.contains("filter does not apply to mode move-task") && filter.contains("replay"),
        "{filter}"
    );
    assert!(error(json!({"mode": "move-task", "maxMessages": 5})).contains("maxMessages"));
    assert!(error(json!({"action": "status", "maxPerSecond": 5})).contains("maxPerSecond"));
    assert!(error(json!({"action": "status", "dryRun": true})).contains("dryRun"));
    assert!(error(json!({"action": "start", "taskHandle": "h"})).contains("taskHandle"));
}

#[test]
fn move_task_requests_are_checked() {
    let request = parse(json!({"action": "cancel", "queue": "ticket", "taskHandle": "h"})).unwrap();
    assert_eq!((request.mode, request.action), (Mode::MoveTask, Some(Action::Cancel)));
    assert_eq!(
        request.command,
        Command::MoveTaskCancel {
            task_handle: Some("h".into())
        }
    );
    assert!(!request.dry_run(), "cancel is never a dry run");
    assert!(error(json!({"action": "cancel", "dryRun": true})).contains("no dry run"));
    assert!(error(json!({"action": "cancel", "taskHandle": "h"})).contains("also name the queue"));

    let start = parse(json!({"mode": "move-task", "queue": "ticket"})).unwrap();
    assert!(start.dry_run(), "start is a dry run unless dryRun is false");
    assert_eq!(start.action, Some(Action::Start));
    let not_arn = error(json!({"mode": "move-task", "queue": "ticket", "destination": "https://sqs/1/q"}));
    assert!(not_arn.contains("destination") && not_arn.contains("ARN"), "{not_arn}");
    let fifo = "arn:aws:sqs:us-east-1:123456789012:elsewhere.fifo";
    assert!(error(json!({"mode": "move-task", "queue": "ticket", "destination": fifo})).contains("moveDestinations"));
    assert!(error(json!({"mode": "move-task", "destination": fifo})).contains("also name the queue"));
}

#[tokio::test]
async fn the_handler_refuses_a_bad_request_as_an_invalid_request_error_without_calling_sqs() {
    // A client with no rules panics on any call: the request must fail before one.
    let client = common::mocked::client(&[]);
    let route = common::mocked::route("ticket", false);
    let error = common::mocked::redrive(client, &[&route])
        .handle(json!({"queue": "ticket", "bogus": 1}), Deadline::NONE)
        .await
        .unwrap_err();
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "InvalidRequest");
    assert!(
        diagnostic.error_message.contains("unknown field `bogus`"),
        "{}",
        diagnostic.error_message
    );
}
