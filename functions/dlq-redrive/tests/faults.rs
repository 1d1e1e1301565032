//! Replay under injected SQS faults (aws-smithy-mocks): only messages whose send succeeded are
//! deleted, everything else stays in the DLQ and is made visible again, and FIFO order survives
//! a refused entry.

mod common;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;
use aws_sdk_sqs::types::error::RequestThrottled;
use aws_smithy_mocks::mock;
use common::mocked::{self, Calls};
use dlq_redrive::report::StopReason;
use serde_json::json;
use shared::Deadline;

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

#[tokio::test]
async fn a_refused_send_entry_is_not_deleted_and_is_made_visible_again() {
    let route = mocked::route("ticket", false);
    let (sends, deletes, releases) = (Calls::default(), Calls::default(), Calls::default());
    let receive = mocked::receive_once(vec![
        mocked::message("m1", None),
        mocked::message("m2", None),
        mocked::message("m3", None),
    ]);
    let send = mocked::send(&["m2"], sends.clone());
    let delete = mocked::delete(&[], deletes.clone());
    let release = mocked::change_visibility(releases.clone());
    let depth = mocked::depth();
    let client = mocked::client(&[&receive, &send, &delete, &release, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();

    let queue = &report.queues[0];
    assert_eq!((queue.moved, queue.failed), (2, 1), "{queue:#?}");
    assert!(
        queue.failures[0].contains("m2") && queue.failures[0].contains("InternalError"),
        "{:?}",
        queue.failures
    );
    assert!(!report.ok);
    assert_eq!(sends.all(), [vec!["m1", "m2", "m3"]]);
    assert_eq!(
        sorted(deletes.all()),
        ["rh-m1", "rh-m3"],
        "only what reached the source"
    );
    assert_eq!(
        releases.all(),
        [("rh-m2".to_owned(), 0)],
        "the refused one is visible again at once"
    );
}

#[tokio::test]
async fn a_refused_delete_entry_is_reported_and_left_hidden_not_resent_in_the_same_run() {
    let route = mocked::route("ticket", false);
    let (sends, deletes, releases) = (Calls::default(), Calls::default(), Calls::default());
    let receive = mocked::receive_once(vec![mocked::message("m1", None), mocked::message("m2", None)]);
    let send = mocked::send(&[], sends.clone());
    let delete = mocked::delete(&["rh-m2"], deletes.clone());
    let release = mocked::change_visibility(releases.clone());
    let depth = mocked::depth();
    let client = mocked::client(&[&receive, &send, &delete, &release, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();

    let queue = &report.queues[0];
    assert_eq!((queue.moved, queue.not_deleted, queue.failed), (2, 1, 0), "{queue:#?}");
    assert!(queue.failures[0].contains("m2") && queue.failures[0].contains("original-message-id"));
    assert!(!report.ok, "a copy left behind is worth the operator's attention");
    assert_eq!(sends.all().len(), 1);
    assert!(
        releases.all().is_empty(),
        "made visible now, it would be sent again at once"
    );
}

#[tokio::test]
async fn a_failed_send_call_stops_the_run_deletes_nothing_and_releases_the_batch() {
    let route = mocked::route("ticket", false);
    let (deletes, releases) = (Calls::<String>::default(), Calls::default());
    let receive = mocked::receive_once(vec![mocked::message("m1", None), mocked::message("m2", None)]);
    let send = mock!(Client::send_message_batch).then_error(|| {
        SendMessageBatchError::RequestThrottled(RequestThrottled::builder().message("slow down").build())
    });
    let delete = mocked::delete(&[], deletes.clone());
    let release = mocked::change_visibility(releases.clone());
    let depth = mocked::depth();
    let client = mocked::client(&[&receive, &send, &delete, &release, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();

    let queue = &report.queues[0];
    assert_eq!((queue.moved, queue.failed), (0, 2), "{queue:#?}");
    assert_eq!(queue.stopped_by, Some(StopReason::Error));
    assert!(queue.errors[0].contains("SendMessageBatch") && queue.errors[0].contains(&route.source_url));
    assert!(deletes.all().is_empty());
    let released: Vec<String> = releases.all().into_iter().map(|(handle, _)| handle).collect();
    assert_eq!(sorted(released), ["rh-m1", "rh-m2"]);
    assert_eq!(receive.num_calls(), 1, "no receive after the failure");
}

#[tokio::test]
async fn on_fifo_a_refused_entry_keeps_the_rest_of_its_group_in_the_dlq() {
    let route = mocked::route("notification", true);
    let (sends, deletes, releases) = (Calls::default(), Calls::default(), Calls::default());
    let receive = mocked::receive_once(vec![
        mocked::message("a1", Some("a")),
        mocked::message("a2", Some("a")),
        mocked::message("b1", Some("b")),
        mocked::message("a3", Some("a")),
        mocked::message("b2", Some("b")),
    ]);
    let send = mocked::send(&["a1"], sends.clone());
    let delete = mocked::delete(&[], deletes.clone());
    let release = mocked::change_visibility(releases.clone());
    let depth = mocked::depth();
    let client = mocked::client(&[&receive, &send, &delete, &release, &depth]);

    let report = mocked::redrive(client, &[&route])
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();

    let queue = &report.queues[0];
    assert_eq!((queue.moved, queue.failed, queue.held_back), (2, 1, 2), "{queue:#?}");
    assert_eq!(
        sends.all(),
        [vec!["a1", "b1"], vec!["b2"]],
        "one message per group per call; nothing of group a after a1 was refused"
    );
    assert_eq!(sorted(deletes.all()), ["rh-b1", "rh-b2"]);
    let released: Vec<String> = releases.all().into_iter().map(|(handle, _)| handle).collect();
    assert_eq!(sorted(released), ["rh-a1", "rh-a2", "rh-a3"]);
}
