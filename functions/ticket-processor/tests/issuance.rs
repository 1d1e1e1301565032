//! The ticket rules against moto's DynamoDB and SQS: capacity, one ticket per user, duplicates,
//! concurrency, a crash between the ticket write and the enqueue, invalid input.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use messages::NotificationKind;
use moto_harness::unique_name;
use shared::testing::{Later, event, message};
use shared::{Deadline, Outcome, RecordHandler, RecordStatus, attributes};
use ticket_processor::testing::{Stack, blackhole, body, record};
use ticket_processor::{Processed, TicketOutcome};

/// Turns a hang into a failure; nothing here is a speed assertion.
const HANG: Duration = Duration::from_secs(60);

fn failures(outcome: &shared::BatchOutcome) -> Vec<String> {
    outcome
        .response()
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn ten_users_on_an_event_of_capacity_seven_get_seven_tickets_and_three_sold_out_notifications() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 7).await;
    let users: Vec<String> = (0..10).map(|i| format!("user-{i}")).collect();
    let batch = event(
        users
            .iter()
            .enumerate()
            .map(|(i, user)| message(&format!("m-{i}"), &body(&event_id, user))),
    );

    let handler = stack.idempotency().wrap(stack.processor());
    // Records run concurrently (default concurrency 10): capacity must hold under contention.
    let outcome = stack.batch().run(batch, Deadline::NONE, &handler).await.unwrap();

    assert_eq!(failures(&outcome), Vec::<String>::new());
    assert!(
        outcome.results.iter().all(|(_, s)| *s == RecordStatus::Processed),
        "{:?}",
        outcome.results
    );
    let tickets = stack.tickets(&event_id).await;
    assert_eq!(tickets.len(), 7, "{tickets:?}");
    assert_eq!(stack.issued(&event_id).await, 7);

    let notifications = stack.notifications().await;
    assert_eq!(notifications.len(), 10, "one notification per request");
    let issued: BTreeSet<(String, String)> = notifications
        .iter()
        .filter(|n| n.notification.kind == NotificationKind::TicketIssued)
        .map(|n| (n.notification.user_id.clone(), n.notification.notification_id.clone()))
        .collect();
    let expected: BTreeSet<(String, String)> = tickets
        .iter()
        .map(|t| (t.user_id.clone(), format!("ticket-issued#{}", t.ticket_id)))
        .collect();
    assert_eq!(issued, expected, "every ticket holder is notified with its ticket id");
    let sold_out: Vec<_> = notifications
        .iter()
        .filter(|n| n.notification.kind == NotificationKind::SoldOut)
        .map(|n| &n.notification)
        .collect();
    assert_eq!(sold_out.len(), 3);
    for notification in sold_out {
        assert_eq!(
            notification.notification_id,
            format!("sold-out#{event_id}#{}", notification.user_id)
        );
        assert!(!tickets.iter().any(|t| t.user_id == notification.user_id));
        let email = notification.contact.as_ref().and_then(|c| c.email.clone());
        assert_eq!(email, Some(format!("{}@example.com", notification.user_id)));
        assert_eq!(notification.locale.as_deref(), Some("en"));
    }
}

#[tokio::test]
async fn the_same_request_as_two_messages_issues_one_ticket_and_two_notifications_with_one_id() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 5).await;
    let handler = stack.idempotency().wrap(stack.processor());
    let request = body(&event_id, "user-1");

    let first = handler.handle(record("producer-try-1", &request)).await.unwrap();
    let second = handler.handle(record("producer-try-2", &request)).await.unwrap();

    let Outcome::Executed(first) = first else {
        panic!("{first:?}")
    };
    let Outcome::Executed(second) = second else {
        panic!("a different messageId is not an idempotency duplicate: {second:?}")
    };
    assert_eq!(first.outcome, TicketOutcome::Issued);
    assert_eq!(second.outcome, TicketOutcome::AlreadyIssued);
    assert_eq!(first.ticket_id, second.ticket_id);

    let tickets = stack.tickets(&event_id).await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(
        tickets[0].message_id, "producer-try-1",
        "the ticket records the message that issued it"
    );
    assert_eq!(stack.issued(&event_id).await, 1);
    let ids: Vec<String> = stack
        .notifications()
        .await
        .into_iter()
        .map(|n| n.notification.notification_id)
        .collect();
    assert_eq!(ids, vec![format!("ticket-issued#{}", tickets[0].ticket_id); 2]);
}

#[tokio::test]
async fn the_same_message_delivered_to_two_concurrent_invocations_issues_one_ticket() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 5).await;
    let delivery = || event([message("delivered-twice", &body(&event_id, "user-1"))]);
    // Two invocations: separate clients and processors, one idempotency table.
    let (handler_a, handler_b) = (
        stack.idempotency().wrap(stack.processor()),
        stack.idempotency().wrap(stack.processor()),
    );
    let (batch_a, batch_b) = (stack.batch(), stack.batch());

    let (a, b) = tokio::time::timeout(
        HANG,
        futures::future::join(
            batch_a.run(delivery(), Deadline::NONE, &handler_a),
            batch_b.run(delivery(), Deadline::NONE, &handler_b),
        ),
    )
    .await
    .expect("both invocations finish");
    let statuses = [
        a.unwrap().status("delivered-twice").unwrap().clone(),
        b.unwrap().status("delivered-twice").unwrap().clone(),
    ];
    let processed = statuses.iter().filter(|s| **s == RecordStatus::Processed).count();
    assert_eq!(processed, 1, "exactly one invocation ran the record: {statuses:?}");
    for status in &statuses {
        match status {
            RecordStatus::Processed | RecordStatus::Duplicate => {}
            RecordStatus::Failed(e) if e.kind() == "idempotency-in-progress" && !e.is_permanent() => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stack.tickets(&event_id).await.len(), 1);
    assert_eq!(stack.issued(&event_id).await, 1);
    assert_eq!(stack.notifications().await.len(), 1);

    // SQS redelivers the copy that saw the lock: it finds the stored result and sends nothing.
    let redelivered = stack.batch().run(delivery(), Deadline::NONE, &handler_a).await.unwrap();
    assert_eq!(redelivered.status("delivered-twice"), Some(&RecordStatus::Duplicate));
    assert_eq!(stack.tickets(&event_id).await.len(), 1);
    assert!(stack.notifications().await.is_empty());
}

/// Idempotency aside (a lock taken over while its first holder still runs, a completion that was
/// never recorded), running a message again finds its ticket: the transaction alone forbids a second.
#[tokio::test]
async fn without_the_idempotency_lock_a_second_run_of_a_message_finds_its_ticket() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 5).await;
    let request = body(&event_id, "user-1");
    let (first_invocation, second_invocation) = (stack.processor(), stack.processor());

    let first = first_invocation.process(&record("run-twice", &request)).await.unwrap();
    let second = second_invocation.process(&record("run-twice", &request)).await.unwrap();

    assert_eq!(first.outcome, TicketOutcome::Issued);
    assert_eq!(second.outcome, TicketOutcome::AlreadyIssued);
    assert_eq!(second.notification_id, first.notification_id);
    let tickets = stack.tickets(&event_id).await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(Some(&tickets[0].ticket_id), first.ticket_id.as_ref());
    assert_eq!(stack.issued(&event_id).await, 1);
}

#[tokio::test]
async fn a_crash_between_ticket_write_and_enqueue_is_repaired_on_retry_without_a_new_ticket() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 5).await;
    let delivery = || event([message("crashes", &body(&event_id, "user-1"))]);

    // Invocation 1: the ticket is written, then SendMessage hangs and the invocation dies (its
    // future is dropped, as Lambda's timeout kills it): no release, no completion.
    let (endpoint, mut connections) = blackhole().await;
    let hanging_sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&stack.sdk)
            .endpoint_url(endpoint)
            .build(),
    );
    let crashing = stack.idempotency().wrap(stack.processor_notifying_through(hanging_sqs));
    let batch = stack.batch();
    tokio::select! {
        outcome = batch.run(delivery(), Deadline::NONE, &crashing) => panic!("the enqueue should hang: {outcome:?}"),
        reached = connections.recv() => reached.expect("the enqueue reached the queue endpoint"),
        _ = tokio::time::sleep(HANG) => panic!("the enqueue was never attempted"),
    }

    let tickets = stack.tickets(&event_id).await;
    assert_eq!(tickets.len(), 1, "the ticket was written before the crash");
    assert_eq!(stack.issued(&event_id).await, 1);
    assert!(stack.notifications().await.is_empty(), "nothing was enqueued");
    assert_eq!(stack.idempotency_status("crashes").await.as_deref(), Some("INPROGRESS"));

    // A redelivery while the dead invocation's lock is live is retried later, not run.
    let early = stack
        .batch()
        .run(delivery(), Deadline::NONE, &stack.idempotency().wrap(stack.processor()))
        .await
        .unwrap();
    assert_eq!(failures(&early), ["crashes"]);
    assert!(matches!(early.status("crashes"), Some(RecordStatus::Failed(e)) if e.kind() == "idempotency-in-progress"));

    // After the lock expires (a lock without deadline lasts 15 minutes), the retry takes it over.
    let later = stack
        .idempotency()
        .with_clock(Arc::new(Later(Duration::from_secs(16 * 60))));
    let retried = stack
        .batch()
        .run(delivery(), Deadline::NONE, &later.wrap(stack.processor()))
        .await
        .unwrap();
    assert_eq!(retried.status("crashes"), Some(&RecordStatus::Processed));
    assert_eq!(
        stack.tickets(&event_id).await,
        tickets,
        "the same ticket, not a new one"
    );
    assert_eq!(stack.issued(&event_id).await, 1);
    let notifications = stack.notifications().await;
    assert_eq!(notifications.len(), 1);
    assert_eq!(
        notifications[0].notification.notification_id,
        format!("ticket-issued#{}", tickets[0].ticket_id)
    );
    assert_eq!(stack.idempotency_status("crashes").await.as_deref(), Some("COMPLETED"));
}

/// Invalid bodies of every kind, between two valid requests.
fn batch_with_invalid_records(event_id: &str) -> aws_lambda_events::sqs::SqsEvent {
    event([
        message("valid-1", &body(event_id, "user-1")),
        message("not-json", "{\"eventId\": \"e\", "),
        message("missing-user", &format!(r#"{{"eventId":"{event_id}"}}"#)),
        message("spaced-id", &format!(r#"{{"eventId":"{event_id}","userId":"user 3"}}"#)),
        message(
            "huge",
            &format!(
                r#"{{"eventId":"{event_id}","userId":"user-4","pad":"{}"}}"#,
                "x".repeat(300 * 1024)
            ),
        ),
        message("valid-2", &body(event_id, "user-2")),
    ])
}

const INVALID: [(&str, &str, &str); 4] = [
    ("not-json", "malformed-body", "not a valid ticket request"),
    ("missing-user", "invalid-field", "userId"),
    ("spaced-id", "invalid-field", "userId: must be 1-128 characters"),
    ("huge", "body-too-large", "over the 65536-byte limit"),
];

#[tokio::test]
async fn invalid_bodies_go_to_the_dead_letter_queue_alone_and_the_rest_of_the_batch_succeeds() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 5).await;
    let handler = stack.idempotency().wrap(stack.processor());

    let outcome = stack
        .batch()
        .run(batch_with_invalid_records(&event_id), Deadline::NONE, &handler)
        .await
        .unwrap();

    assert_eq!(
        failures(&outcome),
        Vec::<String>::new(),
        "dead-lettered records count as handled"
    );
    assert_eq!(outcome.status("valid-1"), Some(&RecordStatus::Processed));
    assert_eq!(outcome.status("valid-2"), Some(&RecordStatus::Processed));
    for (id, kind, _) in INVALID {
        assert!(
            matches!(outcome.status(id), Some(RecordStatus::DeadLettered(e)) if e.kind() == kind),
            "{id}: {:?}",
            outcome.status(id)
        );
    }
    let letters = stack.dead_letters().await;
    assert_eq!(letters.len(), 4);
    for (id, kind, mentions) in INVALID {
        let letter = letters
            .iter()
            .find(|l| attribute(l, attributes::ORIGINAL_MESSAGE_ID) == Some(id))
            .unwrap_or_else(|| panic!("{id} is in the DLQ"));
        assert_eq!(attribute(letter, attributes::ERROR_KIND), Some(kind));
        let reason = attribute(letter, attributes::ERROR_MESSAGE).unwrap();
        assert!(reason.contains(mentions) && reason.contains(id), "{id}: {reason}");
    }
    let users: BTreeSet<String> = stack.tickets(&event_id).await.into_iter().map(|t| t.user_id).collect();
    assert_eq!(users, BTreeSet::from(["user-1".to_owned(), "user-2".to_owned()]));
    assert_eq!(stack.notifications().await.len(), 2);
}

#[tokio::test]
async fn without_a_dead_letter_queue_invalid_bodies_alone_are_reported_failed() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 5).await;
    let handler = stack.idempotency().wrap(stack.processor());

    let outcome = stack
        .batch_without_dead_letters()
        .run(batch_with_invalid_records(&event_id), Deadline::NONE, &handler)
        .await
        .unwrap();

    assert_eq!(failures(&outcome), INVALID.map(|(id, _, _)| id));
    for (id, kind, _) in INVALID {
        assert!(
            matches!(outcome.status(id), Some(RecordStatus::Failed(e)) if e.kind() == kind && e.is_permanent()),
            "{id}: {:?}",
            outcome.status(id)
        );
    }
    assert_eq!(stack.tickets(&event_id).await.len(), 2);
    assert_eq!(stack.issued(&event_id).await, 2);
}

fn attribute<'a>(message: &'a aws_sdk_sqs::types::Message, name: &str) -> Option<&'a str> {
    message
        .message_attributes()
        .and_then(|attributes| attributes.get(name))
        .and_then(|value| value.string_value())
}

#[tokio::test]
async fn an_unknown_event_is_a_permanent_error_and_writes_nothing() {
    let stack = Stack::new().await;
    let event_id = unique_name("never-seeded");
    let handler = stack.idempotency().wrap(stack.processor());

    let outcome = stack
        .batch()
        .run(
            event([message("orphan", &body(&event_id, "user-1"))]),
            Deadline::NONE,
            &handler,
        )
        .await
        .unwrap();

    match outcome.status("orphan") {
        Some(RecordStatus::DeadLettered(e)) => {
            assert_eq!(e.kind(), "unknown-event");
            for part in ["orphan", event_id.as_str(), stack.tickets_table.as_str()] {
                assert!(e.message().contains(part), "the error names {part}: {e}");
            }
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(stack.items().await.is_empty(), "nothing was written");
    assert!(stack.notifications().await.is_empty());
    assert_eq!(stack.dead_letters().await.len(), 1);
}

#[tokio::test]
async fn a_duplicate_request_after_the_event_sold_out_gets_its_ticket_again_not_sold_out() {
    let stack = Stack::new().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 1).await;
    let handler = stack.idempotency().wrap(stack.processor());
    let run = |message_id: &'static str, user: &'static str| {
        let record = record(message_id, &body(&event_id, user));
        let handler = &handler;
        async move { handler.handle(record).await.unwrap().into_value() }
    };

    let holder: Processed = run("m-1", "holder").await;
    let late: Processed = run("m-2", "latecomer").await;
    let again: Processed = run("m-3", "holder").await;

    assert_eq!(holder.outcome, TicketOutcome::Issued);
    assert_eq!(late.outcome, TicketOutcome::SoldOut);
    assert_eq!(late.notification_id, format!("sold-out#{event_id}#latecomer"));
    assert_eq!(again.outcome, TicketOutcome::AlreadyIssued);
    assert_eq!(again.notification_id, holder.notification_id);
    assert_eq!(stack.issued(&event_id).await, 1);
    let kinds: Vec<NotificationKind> = stack
        .notifications()
        .await
        .into_iter()
        .map(|n| n.notification.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            NotificationKind::TicketIssued,
            NotificationKind::SoldOut,
            NotificationKind::TicketIssued
        ]
    );
}

#[tokio::test]
async fn a_fifo_notification_queue_groups_by_user_and_drops_copies_of_a_notification() {
    let stack = Stack::fifo().await;
    let event_id = unique_name("concert");
    stack.seed_event(&event_id, 1).await;
    let handler = stack.idempotency().wrap(stack.processor());
    for (message_id, user) in [
        ("m-1", "user-1"),
        ("m-2", "user-1"),
        ("m-3", "user-2"),
        ("m-4", "user-2"),
    ] {
        handler
            .handle(record(message_id, &body(&event_id, user)))
            .await
            .unwrap();
    }

    let received = stack.notifications().await;
    let ticket = &stack.tickets(&event_id).await[0];
    let mut seen: Vec<(String, String, String)> = received
        .iter()
        .map(|r| {
            assert_eq!(
                r.deduplication_id.as_deref(),
                Some(r.notification.notification_id.as_str())
            );
            (
                r.group_id.clone().unwrap(),
                r.notification.user_id.clone(),
                r.notification.notification_id.clone(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "user-1".into(),
                "user-1".into(),
                format!("ticket-issued#{}", ticket.ticket_id)
            ),
            ("user-2".into(), "user-2".into(), format!("sold-out#{event_id}#user-2")),
        ],
        "each user's second copy was deduplicated by the FIFO queue"
    );
}
