//! move-task mode on mocked SQS (moto does not implement the message move task API): the
//! requests carry the right ARNs and rate, and the report shows what SQS answered.

mod common;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::cancel_message_move_task::CancelMessageMoveTaskOutput;
use aws_sdk_sqs::operation::list_message_move_tasks::ListMessageMoveTasksOutput;
use aws_sdk_sqs::operation::start_message_move_task::{StartMessageMoveTaskError, StartMessageMoveTaskOutput};
use aws_sdk_sqs::types::ListMessageMoveTasksResultEntry;
use aws_sdk_sqs::types::error::UnsupportedOperation;
use aws_smithy_mocks::{Rule, mock};
use common::mocked::{self, Calls};
use serde_json::json;
use shared::Deadline;

/// StartMessageMoveTask recording (source, destination, rate) and answering with a task handle.
fn start(calls: Calls<(String, String, Option<i32>)>) -> Rule {
    mock!(Client::start_message_move_task).then_compute_output(move |request| {
        calls.push((
            request.source_arn().unwrap_or_default().to_owned(),
            request.destination_arn().unwrap_or_default().to_owned(),
            request.max_number_of_messages_per_second(),
        ));
        StartMessageMoveTaskOutput::builder()
            .task_handle(format!("handle-for-{}", request.source_arn().unwrap_or_default()))
            .build()
    })
}

fn task(status: &str, handle: Option<&str>, moved: i64) -> ListMessageMoveTasksResultEntry {
    ListMessageMoveTasksResultEntry::builder()
        .status(status)
        .set_task_handle(handle.map(str::to_owned))
        .source_arn("arn:aws:sqs:us-east-1:123456789012:ticket-dlq")
        .destination_arn("arn:aws:sqs:us-east-1:123456789012:ticket-queue")
        .max_number_of_messages_per_second(50)
        .approximate_number_of_messages_moved(moved)
        .approximate_number_of_messages_to_move(100)
        .started_timestamp(1_700_000_000_000)
        .build()
}

/// ListMessageMoveTasks recording the source ARN and answering with `tasks`.
fn list(tasks: Vec<ListMessageMoveTasksResultEntry>, calls: Calls<String>) -> Rule {
    mock!(Client::list_message_move_tasks).then_compute_output(move |request| {
        calls.push(request.source_arn().unwrap_or_default().to_owned());
        ListMessageMoveTasksOutput::builder()
            .set_results(Some(tasks.clone()))
            .build()
    })
}

fn cancel(calls: Calls<String>) -> Rule {
    mock!(Client::cancel_message_move_task).then_compute_output(move |request| {
        calls.push(request.task_handle().unwrap_or_default().to_owned());
        CancelMessageMoveTaskOutput::builder()
            .approximate_number_of_messages_moved(42)
            .build()
    })
}

#[tokio::test]
async fn start_moves_from_the_dlq_to_its_source_at_the_requested_rate() {
    let route = mocked::route("ticket", false);
    let starts = Calls::default();
    let (start, depth) = (start(starts.clone()), mocked::depth());
    let client = mocked::client(&[&start, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(
            json!({"queue": "ticket", "mode": "move-task", "action": "start", "dryRun": false, "maxPerSecond": 50}),
            Deadline::NONE,
        )
        .await
        .unwrap();

    assert_eq!(
        starts.all(),
        [(route.dlq_arn.clone(), route.source_arn.clone(), Some(50))]
    );
    assert!(report.ok && !report.dry_run, "{report:#?}");
    let json = serde_json::to_value(&report).unwrap();
    let started = &json["queues"][0]["moveTask"]["started"];
    assert_eq!(started["taskHandle"], format!("handle-for-{}", route.dlq_arn));
    assert_eq!(started["sourceArn"], route.dlq_arn);
    assert_eq!(started["destinationArn"], route.source_arn);
    assert_eq!(json["action"], "start");
    assert_eq!(json["mode"], "move-task");
}

#[tokio::test]
async fn start_goes_to_a_configured_destination_and_leaves_the_rate_to_sqs_when_unset() {
    let mut route = mocked::route("ticket", false);
    let elsewhere = "arn:aws:sqs:us-east-1:123456789012:ticket-quarantine";
    route.move_destinations = vec![elsewhere.to_owned()];
    let starts = Calls::default();
    let (start, depth) = (start(starts.clone()), mocked::depth());
    let client = mocked::client(&[&start, &depth]);

    mocked::redrive(client, &[&route])
        .handle(
            json!({"queue": "ticket", "mode": "move-task", "dryRun": false, "destination": elsewhere}),
            Deadline::NONE,
        )
        .await
        .unwrap();

    assert_eq!(starts.all(), [(route.dlq_arn.clone(), elsewhere.to_owned(), None)]);
}

/// notification-dlq's messages are notifications: moving them into ticket-issue-queue would hand
/// ticket-processor bodies it cannot read. Refused before any SQS call, naming the allowed queue.
#[tokio::test]
async fn a_move_task_across_routes_or_to_an_unlisted_queue_is_refused() {
    let (ticket, notification) = (mocked::route("ticket", false), mocked::route("notification", false));
    // A client with no rules panics on any call: the request must fail before one.
    let redrive = mocked::redrive(mocked::client(&[]), &[&ticket, &notification]);
    for destination in [
        ticket.source_arn.as_str(),
        "arn:aws:sqs:us-east-1:123456789012:anything",
    ] {
        let error = redrive
            .handle(
                json!({"queue": "notification", "mode": "move-task", "dryRun": false, "destination": destination}),
                Deadline::NONE,
            )
            .await
            .unwrap_err();
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "InvalidRequest");
        let message = diagnostic.error_message;
        assert!(
            message.contains(destination) && message.contains(&notification.source_arn),
            "names the refused and the allowed queue: {message}"
        );
        assert!(message.contains("moveDestinations"), "{message}");
    }
}

#[tokio::test]
async fn a_dry_run_start_inspects_and_starts_nothing() {
    let route = mocked::route("ticket", false);
    let starts = Calls::default();
    let start = start(starts.clone());
    let receive = mocked::receive_once(vec![mocked::message("m1", None)]);
    let release = mocked::change_visibility(Calls::default());
    let depth = mocked::depth();
    let client = mocked::client(&[&start, &receive, &release, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(
            json!({"queue": "ticket", "mode": "move-task", "maxPerSecond": 10}),
            Deadline::NONE,
        )
        .await
        .unwrap();

    assert!(starts.all().is_empty(), "a dry run starts no task");
    assert!(report.dry_run);
    let json = serde_json::to_value(&report).unwrap();
    let queue = &json["queues"][0];
    assert_eq!(queue["moveTask"]["wouldStart"]["destinationArn"], route.source_arn);
    assert_eq!(queue["moveTask"]["wouldStart"]["maxPerSecond"], 10);
    assert_eq!(queue["inspection"]["inspected"], 1);
}

#[tokio::test]
async fn status_lists_the_tasks_of_every_dlq_as_sqs_reports_them() {
    let (ticket, notification) = (mocked::route("ticket", false), mocked::route("notification", false));
    let lists = Calls::default();
    let tasks = vec![task("RUNNING", Some("h-1"), 7), task("FAILED", None, 3)];
    let (list, depth) = (list(tasks, lists.clone()), mocked::depth());
    let client = mocked::client(&[&list, &depth]);

    let report = mocked::redrive(client, &[&ticket, &notification])
        .handle(json!({"action": "status"}), Deadline::NONE)
        .await
        .unwrap();

    assert_eq!(lists.all(), [ticket.dlq_arn.clone(), notification.dlq_arn.clone()]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["mode"], "move-task", "an action implies move-task mode");
    let listed = &json["queues"][0]["moveTask"]["tasks"];
    assert_eq!(listed[0]["status"], "RUNNING");
    assert_eq!(listed[0]["taskHandle"], "h-1");
    assert_eq!(listed[0]["approximateNumberOfMessagesMoved"], 7);
    assert_eq!(listed[0]["approximateNumberOfMessagesToMove"], 100);
    assert_eq!(listed[0]["maxPerSecond"], 50);
    assert_eq!(listed[1]["status"], "FAILED");
    assert!(listed[1].get("taskHandle").is_none());
}

#[tokio::test]
async fn cancel_stops_the_named_task_of_the_dlq_or_finds_the_running_one() {
    let route = mocked::route("ticket", false);
    let (lists, cancels) = (Calls::default(), Calls::default());
    let tasks = vec![task("COMPLETED", None, 100), task("RUNNING", Some("h-running"), 7)];
    let (list, cancel, depth) = (list(tasks, lists.clone()), cancel(cancels.clone()), mocked::depth());
    let client = mocked::client(&[&list, &cancel, &depth]);
    let redrive = mocked::redrive(client, &[&route]);

    let named = redrive
        .handle(
            json!({"queue": "ticket", "action": "cancel", "taskHandle": "h-running"}),
            Deadline::NONE,
        )
        .await
        .unwrap();
    assert_eq!(cancels.all(), ["h-running"]);
    assert_eq!(
        lists.all(),
        [route.dlq_arn.as_str()],
        "the handle is checked against the DLQ's tasks"
    );
    let json = serde_json::to_value(&named).unwrap();
    assert_eq!(
        json["queues"][0]["moveTask"]["cancelled"]["approximateNumberOfMessagesMoved"],
        42
    );

    redrive
        .handle(json!({"queue": "ticket", "action": "cancel"}), Deadline::NONE)
        .await
        .unwrap();
    assert_eq!(cancels.all(), ["h-running", "h-running"]);
}

/// SQS cancels any task by its handle alone: a handle that the named DLQ's listing does not show
/// (another queue's task, a typo) is refused and nothing is cancelled.
#[tokio::test]
async fn a_task_handle_that_is_not_the_dlqs_is_refused() {
    let route = mocked::route("ticket", false);
    let cancels = Calls::default();
    let (list, cancel, depth) = (
        list(vec![task("RUNNING", Some("h-running"), 7)], Calls::default()),
        cancel(cancels.clone()),
        mocked::depth(),
    );
    let client = mocked::client(&[&list, &cancel, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(
            json!({"queue": "ticket", "action": "cancel", "taskHandle": "h-of-notification-dlq"}),
            Deadline::NONE,
        )
        .await
        .unwrap();

    assert!(cancels.all().is_empty(), "nothing cancelled");
    assert!(!report.ok);
    let error = &report.queues[0].errors[0];
    assert!(
        error.starts_with("CancelMessageMoveTask on arn:aws:sqs:us-east-1:123456789012:ticket-dlq failed: refused"),
        "{error}"
    );
    assert!(
        error.contains("h-of-notification-dlq") && error.contains("h-running"),
        "{error}"
    );
}

#[tokio::test]
async fn cancel_without_a_running_task_cancels_nothing() {
    let route = mocked::route("ticket", false);
    let cancels = Calls::default();
    let (list, cancel, depth) = (
        list(vec![task("COMPLETED", None, 100)], Calls::default()),
        cancel(cancels.clone()),
        mocked::depth(),
    );
    let client = mocked::client(&[&list, &cancel, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(json!({"action": "cancel"}), Deadline::NONE)
        .await
        .unwrap();

    assert!(cancels.all().is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert!(
        json["queues"][0]["moveTask"]["note"]
            .as_str()
            .unwrap()
            .contains("no running move task")
    );
}

#[tokio::test]
async fn a_refused_start_is_reported_with_the_operation_and_the_queue() {
    let route = mocked::route("ticket", false);
    let start = mock!(Client::start_message_move_task).then_error(|| {
        StartMessageMoveTaskError::UnsupportedOperation(
            UnsupportedOperation::builder()
                .message("a task is already running")
                .build(),
        )
    });
    let depth = mocked::depth();
    let client = mocked::client(&[&start, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(json!({"mode": "move-task", "dryRun": false}), Deadline::NONE)
        .await
        .unwrap();

    assert!(!report.ok);
    let error = &report.queues[0].errors[0];
    assert!(
        error.contains("StartMessageMoveTask") && error.contains(&route.dlq_arn),
        "{error}"
    );
    assert!(error.contains("already running"), "{error}");
    assert!(
        !error.contains("emulators"),
        "an AWS queue gets no emulator hint: {error}"
    );
}

#[tokio::test]
async fn on_local_queues_a_move_task_error_says_move_tasks_need_aws() {
    let mut route = mocked::route("ticket", false);
    route.dlq_url = "http://127.0.0.1:5000/123456789012/ticket-dlq".into();
    route.source_url = "http://127.0.0.1:5000/123456789012/ticket-queue".into();
    // What moto answers: an HTML 500 page.
    let list = mock!(Client::list_message_move_tasks).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
            aws_smithy_types::body::SdkBody::from("<!doctype html><title>500 Internal Server Error</title>"),
        )
    });
    let depth = mocked::depth();
    let client = mocked::client(&[&list, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(json!({"action": "status"}), Deadline::NONE)
        .await
        .unwrap();

    let error = &report.queues[0].errors[0];
    assert!(error.starts_with("ListMessageMoveTasks on arn:aws:sqs:"), "{error}");
    assert!(
        error.contains("runs only on AWS") && error.contains("127.0.0.1:5000"),
        "{error}"
    );
    assert!(!error.contains("SdkBody"), "no raw response dump: {error}");
}
