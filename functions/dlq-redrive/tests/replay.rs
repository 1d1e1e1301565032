//! Replay against moto's SQS: messages go back intact with `original-message-id`, a crash between
//! send and delete duplicates and never loses, FIFO order holds, filters and limits are honoured.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use dlq_redrive::report::StopReason;
use serde_json::json;
use shared::Deadline;

#[tokio::test]
async fn twenty_five_dead_letters_go_back_with_bodies_and_attributes_intact() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    // Even messages were dead-lettered by shared (dead-letter attributes, original-message-id);
    // odd ones by the redrive policy (no error attributes: their DLQ messageId is the original).
    let mut expected = HashMap::new();
    for i in 0..25 {
        let body = json!({"seq": i, "eventId": "evt-1", "userId": format!("user-{i}")}).to_string();
        let mut attributes = HashMap::from([("trace-id".to_owned(), string(&format!("trace-{i}")))]);
        if i % 2 == 0 {
            attributes.extend(dead_letter_attributes("malformed-body", &format!("orig-{i}")));
        }
        let id = seed(&sqs, &route.dlq_url, &body, attributes.clone(), None).await;
        let mut want = attributes;
        for name in shared::attributes::DEAD_LETTER_ATTRIBUTES {
            want.remove(name);
        }
        let original = if i % 2 == 0 { format!("orig-{i}") } else { id };
        want.insert("original-message-id".into(), string(&original));
        want.insert("redrive-count".into(), number("1"));
        expected.insert(body, want);
    }

    let report = redrive(&sqs, &[&route], 3)
        .handle(json!({"queue": "ticket", "dryRun": false}), Deadline::NONE)
        .await
        .unwrap();

    let queue = &report.queues[0];
    assert!(report.ok, "{report:#?}");
    assert_eq!((queue.moved, queue.parked, queue.failed), (25, 0, 0));
    assert_eq!(queue.remaining, Some(0));
    assert_eq!(queue.stopped_by, Some(StopReason::Empty));
    let arrived = drain(&sqs, &route.source_url).await;
    assert_eq!(arrived.len(), 25);
    for message in &arrived {
        let body = message.body().unwrap();
        let want = expected
            .remove(body)
            .unwrap_or_else(|| panic!("unexpected or repeated body {body}"));
        assert_eq!(message.message_attributes().unwrap(), &want, "attributes of {body}");
    }
    assert!(expected.is_empty());
    assert_eq!(depth(&sqs, &route.dlq_url).await, (0, 0), "nothing left in the DLQ");
}

#[tokio::test]
async fn a_crash_between_send_and_delete_duplicates_with_the_same_original_message_id_and_loses_nothing() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    for i in 0..3 {
        let attributes = dead_letter_attributes("dependency-down", &format!("orig-{i}"));
        seed(&sqs, &route.dlq_url, &format!(r#"{{"seq":{i}}}"#), attributes, None).await;
    }
    let hidden_briefly = dlq_redrive::Timing {
        visibility_timeout: Some(Duration::from_secs(2)),
        ..timing()
    };
    let (crashing, stopped) = sqs_failing_deletes().await;
    let crashed = dlq_redrive::Redrive::new(config(&[&route], 3), crashing)
        .with_timing(hidden_briefly.clone())
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    let queue = &crashed.queues[0];
    assert!(
        stopped.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the delete was attempted"
    );
    assert_eq!((queue.moved, queue.not_deleted), (3, 3), "{queue:#?}");
    assert_eq!(queue.stopped_by, Some(StopReason::Error));
    assert!(!crashed.ok);
    assert!(queue.errors[0].contains("DeleteMessageBatch"), "{:?}", queue.errors);
    assert_eq!(depth(&sqs, &route.dlq_url).await, (0, 3), "still in the DLQ, hidden");

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let rerun = dlq_redrive::Redrive::new(config(&[&route], 3), sqs.clone())
        .with_timing(hidden_briefly)
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    assert!(rerun.ok, "{rerun:#?}");
    assert_eq!(rerun.queues[0].moved, 3);
    assert_eq!(depth(&sqs, &route.dlq_url).await, (0, 0));

    let arrived = drain(&sqs, &route.source_url).await;
    assert_eq!(arrived.len(), 6, "each message twice: duplicated, not lost");
    let mut copies: HashMap<&str, Vec<_>> = HashMap::new();
    for message in &arrived {
        copies
            .entry(attribute(message, "original-message-id").expect("original-message-id"))
            .or_default()
            .push(message);
    }
    assert_eq!(copies.len(), 3);
    for (original, pair) in copies {
        assert_eq!(pair.len(), 2, "{original}");
        assert_ne!(
            pair[0].message_id(),
            pair[1].message_id(),
            "SQS gave each copy its own messageId"
        );
        assert_eq!(pair[0].body(), pair[1].body(), "{original}");
        assert_eq!(pair[0].message_attributes(), pair[1].message_attributes(), "{original}");
    }
}

#[tokio::test]
async fn on_fifo_a_resend_after_a_crash_is_dropped_by_deduplication() {
    let sqs = sqs().await;
    let route = route(&sqs, "notification", true).await;
    for i in 0..3 {
        seed(
            &sqs,
            &route.dlq_url,
            &format!("fifo-crash-{i}"),
            HashMap::new(),
            Some("user-1"),
        )
        .await;
    }
    let hidden_briefly = dlq_redrive::Timing {
        visibility_timeout: Some(Duration::from_secs(2)),
        ..timing()
    };
    let (crashing, _) = sqs_failing_deletes().await;
    let crashed = dlq_redrive::Redrive::new(config(&[&route], 3), crashing)
        .with_timing(hidden_briefly.clone())
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    assert_eq!(crashed.queues[0].not_deleted, 3);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let rerun = dlq_redrive::Redrive::new(config(&[&route], 3), sqs.clone())
        .with_timing(hidden_briefly)
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    assert!(rerun.ok, "{rerun:#?}");
    assert_eq!(depth(&sqs, &route.dlq_url).await, (0, 0));

    let arrived = drain(&sqs, &route.source_url).await;
    let bodies: Vec<&str> = arrived.iter().map(|m| m.body().unwrap()).collect();
    assert_eq!(
        bodies,
        ["fifo-crash-0", "fifo-crash-1", "fifo-crash-2"],
        "one copy each, in order"
    );
}

#[tokio::test]
async fn fifo_replay_keeps_the_order_of_every_message_group() {
    let sqs = sqs().await;
    let route = route(&sqs, "notification", true).await;
    for seq in 0..5 {
        for group in ["a", "b", "c"] {
            seed(
                &sqs,
                &route.dlq_url,
                &format!("{group}-{seq}"),
                HashMap::new(),
                Some(group),
            )
            .await;
        }
    }
    let report = redrive(&sqs, &[&route], 3)
        .handle(json!({"queue": "notification", "dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.queues[0].moved, 15);

    let mut by_group: HashMap<String, Vec<String>> = HashMap::new();
    for message in drain(&sqs, &route.source_url).await {
        by_group
            .entry(group_of(&message).expect("group id kept").to_owned())
            .or_default()
            .push(message.body().unwrap().to_owned());
    }
    for group in ["a", "b", "c"] {
        let want: Vec<String> = (0..5).map(|seq| format!("{group}-{seq}")).collect();
        assert_eq!(by_group[group], want, "group {group}");
    }
}

#[tokio::test]
async fn on_fifo_a_parked_message_holds_back_the_rest_of_its_group() {
    let sqs = sqs().await;
    let route = route(&sqs, "notification", true).await;
    let parked_attributes = HashMap::from([("redrive-count".to_owned(), number("3"))]);
    seed(&sqs, &route.dlq_url, "a-0", HashMap::new(), Some("a")).await;
    let parked = seed(&sqs, &route.dlq_url, "a-1", parked_attributes, Some("a")).await;
    seed(&sqs, &route.dlq_url, "a-2", HashMap::new(), Some("a")).await;
    seed(&sqs, &route.dlq_url, "b-0", HashMap::new(), Some("b")).await;

    let report = redrive(&sqs, &[&route], 3)
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    let queue = &report.queues[0];
    assert_eq!((queue.moved, queue.parked, queue.held_back), (2, 1, 1), "{queue:#?}");
    assert_eq!(queue.parked_message_ids, [parked]);
    let mut moved: Vec<String> = drain(&sqs, &route.source_url)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    moved.sort();
    assert_eq!(moved, ["a-0", "b-0"], "a-2 may not overtake the parked a-1");
    let stayed: Vec<String> = drain(&sqs, &route.dlq_url)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    assert_eq!(stayed, ["a-1", "a-2"], "both stay, visible again at once, in order");
}

#[tokio::test]
async fn a_filter_moves_only_matching_messages_and_leaves_the_rest_visible() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    for (i, kind) in ["malformed-body", "invalid-field", "malformed-body", "invalid-field"]
        .iter()
        .enumerate()
    {
        let body = json!({"seq": i, "eventId": format!("evt-{i}")}).to_string();
        seed(
            &sqs,
            &route.dlq_url,
            &body,
            dead_letter_attributes(kind, &format!("o{i}")),
            None,
        )
        .await;
    }
    for i in 4..6 {
        let body = json!({"seq": i, "eventId": format!("evt-{i}")}).to_string();
        seed(&sqs, &route.dlq_url, &body, HashMap::new(), None).await;
    }
    let redrive = redrive(&sqs, &[&route], 3);

    let by_kind = redrive
        .handle(
            json!({"dryRun": false, "filter": {"errorKind": "malformed-body"}}),
            Deadline::NONE,
        )
        .await
        .unwrap();
    let queue = &by_kind.queues[0];
    assert_eq!((queue.moved, queue.skipped), (2, 4), "{queue:#?}");
    assert_eq!(
        depth(&sqs, &route.dlq_url).await,
        (4, 0),
        "skipped messages are visible again right away"
    );
    let kinds: Vec<String> = drain(&sqs, &route.source_url)
        .await
        .iter()
        .map(|m| serde_json::from_str::<serde_json::Value>(m.body().unwrap()).unwrap()["seq"].to_string())
        .collect();
    assert_eq!(sorted(kinds), ["0", "2"]);

    let by_body = redrive
        .handle(
            json!({"dryRun": false, "filter": {"errorKind": "retries-exhausted", "body": {"eventId": "evt-5"}}}),
            Deadline::NONE,
        )
        .await
        .unwrap();
    assert_eq!(by_body.queues[0].moved, 1);
    let arrived = drain(&sqs, &route.source_url).await;
    assert_eq!(arrived.len(), 1);
    assert!(arrived[0].body().unwrap().contains(r#""eventId":"evt-5""#));
    assert_eq!(depth(&sqs, &route.dlq_url).await, (3, 0));
}

#[tokio::test]
async fn the_redrive_count_limit_parks_a_message_and_a_bad_count_fails_only_that_message() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    let parked = seed(
        &sqs,
        &route.dlq_url,
        "third-time",
        HashMap::from([("redrive-count".to_owned(), number("3"))]),
        None,
    )
    .await;
    seed(
        &sqs,
        &route.dlq_url,
        "second-time",
        HashMap::from([("redrive-count".to_owned(), number("2"))]),
        None,
    )
    .await;
    seed(&sqs, &route.dlq_url, "first-time", HashMap::new(), None).await;
    let bad = seed(
        &sqs,
        &route.dlq_url,
        "bad-count",
        HashMap::from([("redrive-count".to_owned(), string("lots"))]),
        None,
    )
    .await;

    let report = redrive(&sqs, &[&route], 3)
        .handle(json!({"dryRun": false}), Deadline::NONE)
        .await
        .unwrap();
    let queue = &report.queues[0];
    assert_eq!((queue.moved, queue.parked, queue.failed), (2, 1, 1), "{queue:#?}");
    assert_eq!(queue.parked_message_ids, [parked.as_str()]);
    assert!(
        queue.failures[0].contains(&bad) && queue.failures[0].contains("redrive-count"),
        "{:?}",
        queue.failures
    );
    assert!(!report.ok);

    let counts: HashMap<String, String> = drain(&sqs, &route.source_url)
        .await
        .iter()
        .map(|m| {
            (
                m.body().unwrap().to_owned(),
                attribute(m, "redrive-count").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        HashMap::from([("second-time".into(), "3".into()), ("first-time".into(), "1".into())])
    );
    let stayed = drain(&sqs, &route.dlq_url).await;
    let stayed_ids = sorted(stayed.iter().map(|m| m.message_id().unwrap().to_owned()).collect());
    assert_eq!(
        stayed_ids,
        sorted(vec![parked, bad]),
        "parked and failed stay, visible at once"
    );
}

#[tokio::test]
async fn max_messages_and_the_deadline_stop_a_replay() {
    let sqs = sqs().await;
    let route = route(&sqs, "ticket", false).await;
    for i in 0..12 {
        seed(&sqs, &route.dlq_url, &format!("m{i}"), HashMap::new(), None).await;
    }
    let redrive = redrive(&sqs, &[&route], 3);
    let limited = redrive
        .handle(
            json!({"dryRun": false, "maxMessages": 5, "maxPerSecond": 100}),
            Deadline::NONE,
        )
        .await
        .unwrap();
    let queue = &limited.queues[0];
    assert_eq!(queue.moved, 5);
    assert_eq!(queue.stopped_by, Some(StopReason::MaxMessages));
    assert_eq!(queue.remaining, Some(7));

    // Less time left than the margin: no batch starts.
    let late = redrive
        .handle(json!({"dryRun": false}), Deadline::after(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(late.queues[0].moved, 0);
    assert_eq!(late.queues[0].stopped_by, Some(StopReason::Deadline));
    assert_eq!(depth(&sqs, &route.source_url).await.0, 5);
    assert_eq!(depth(&sqs, &route.dlq_url).await, (7, 0));
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}
