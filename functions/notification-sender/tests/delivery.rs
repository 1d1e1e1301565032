//! Sending against moto: what reaches SNS and SES (read back from `/moto-api/data.json`), once
//! per notification whatever the retries and duplicates.

use std::sync::Arc;

use notification_sender::testing::{Faulty, Fixture, delivery, ticket_issued};
use serde_json::json;
use shared::RecordStatus;

#[tokio::test]
async fn ticket_issued_with_email_and_push_sends_one_push_with_filter_attributes_and_one_email_with_the_ticket_id() {
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let body = ticket_issued("t-1001", Some("kim@example.com"), None, None);

    let outcome = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;

    assert_eq!(outcome.status("m-1"), Some(&RecordStatus::Processed));
    let pushes = fixture.topic_pushes();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(
        pushes[0][3],
        json!({
            "userId": {"Type": "String", "Value": "user-42"},
            "eventId": {"Type": "String", "Value": "concert-2026"},
            "kind": {"Type": "String", "Value": "ticket-issued"},
        })
    );
    let push_text = pushes[0][1].as_str().unwrap();
    assert!(
        push_text.contains("t-1001") && push_text.contains("발급"),
        "{push_text}"
    );

    let emails = fixture.emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["destinations"]["ToAddresses"], json!(["kim@example.com"]));
    // No locale: Korean. moto keeps the HTML body when there is one.
    let subject = emails[0]["subject"].as_str().unwrap();
    assert!(subject.contains("티켓이 발급되었습니다"), "{subject}");
    let html = emails[0]["body"].as_str().unwrap();
    assert!(
        html.contains("<strong>t-1001</strong>") && html.contains("lang=\"ko\""),
        "{html}"
    );
    assert!(fixture.step_item("ticket-issued#t-1001", "push").await.is_some());
    assert!(fixture.step_item("ticket-issued#t-1001", "email").await.is_some());
}

#[tokio::test]
async fn an_english_sold_out_goes_to_the_device_endpoint_and_the_address_in_english() {
    let fixture = Fixture::new().await;
    let endpoint = fixture.push_endpoint(true).await;
    let sender = fixture.notification_sender().await;
    let body = json!({
        "notificationId": "sold-out#concert-2026#user-7",
        "kind": "sold-out",
        "eventId": "concert-2026",
        "userId": "user-7",
        "contact": {"email": "lee@example.com", "pushEndpointArn": endpoint},
        "locale": "en-US",
    })
    .to_string();

    let outcome = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;

    assert_eq!(outcome.status("m-1"), Some(&RecordStatus::Processed));
    assert_eq!(
        fixture.topic_pushes().len(),
        0,
        "the endpoint takes the push, not the topic"
    );
    let device = fixture.endpoint_messages(&endpoint);
    assert_eq!(device, ["Sorry, concert-2026 is sold out."]);
    let emails = fixture.emails();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["subject"], "concert-2026 is sold out");
    assert!(emails[0]["body"].as_str().unwrap().contains("lang=\"en\""));
}

#[tokio::test]
async fn an_email_that_fails_once_is_sent_on_the_retry_and_the_push_is_not_repeated() {
    let fixture = Fixture::new().await;
    let push = Faulty::counting(fixture.sns());
    let email = Faulty::failing_first(fixture.ses(), 1);
    let sender = fixture.notification_sender_with(push.clone(), email.clone());
    let body = ticket_issued("t-2002", Some("park@example.com"), None, None);

    let first = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;

    let Some(RecordStatus::Failed(error)) = first.status("m-1") else {
        panic!("the record must be reported for redelivery: {:?}", first.results);
    };
    assert_eq!(error.kind(), "email-unavailable");
    assert!(!error.is_permanent());
    assert_eq!(first.response().batch_item_failures.len(), 1);
    assert_eq!((fixture.topic_pushes().len(), fixture.emails().len()), (1, 0));

    // SQS redelivers the same message.
    let retry = fixture.run(&sender, vec![delivery("m-1", &body, 2)]).await;

    assert_eq!(retry.status("m-1"), Some(&RecordStatus::Processed));
    assert_eq!(fixture.topic_pushes().len(), 1, "the push must not be sent twice");
    assert_eq!(fixture.emails().len(), 1);
    assert_eq!((push.calls(), email.calls()), (1, 2));
}

#[tokio::test]
async fn the_same_notification_id_in_several_messages_sends_one_push_and_one_email() {
    let fixture = Fixture::new().await;
    let push = Faulty::counting(fixture.sns());
    let email = Faulty::counting(fixture.ses());
    let sender = fixture.notification_sender_with(push.clone(), email.clone());
    let body = ticket_issued("t-3003", Some("choi@example.com"), None, None);
    // A producer duplicate: another messageId, and a body that differs (another locale).
    let copy = body.replace("\"kind\"", "\"locale\":\"en\",\"kind\"");
    assert_ne!(copy, body);

    // The copies arrive one after the other (concurrent copies: the next test).
    let first = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;
    let second = fixture.run(&sender, vec![delivery("m-2", &copy, 1)]).await;
    let third = fixture.run(&sender, vec![delivery("m-3", &body, 1)]).await;

    assert_eq!(first.status("m-1"), Some(&RecordStatus::Processed));
    assert_eq!(second.status("m-2"), Some(&RecordStatus::Duplicate));
    assert_eq!(third.status("m-3"), Some(&RecordStatus::Duplicate));
    assert_eq!(fixture.topic_pushes().len(), 1);
    assert_eq!(fixture.emails().len(), 1);
    assert_eq!((push.calls(), email.calls()), (1, 1));
}

#[tokio::test]
async fn another_notification_reusing_an_id_is_a_payload_mismatch_in_the_dead_letter_queue_not_a_duplicate() {
    let fixture = Fixture::new().await;
    let push = Faulty::counting(fixture.sns());
    let email = Faulty::counting(fixture.ses());
    let sender = fixture.notification_sender_with(push.clone(), email.clone());
    let original = ticket_issued("t-3010", Some("choi@example.com"), None, None);
    // Same notificationId, another recipient: not a copy of the notification that was sent.
    let impostor = original.replace("choi@example.com", "moon@example.com");
    // Same notificationId, another ticket and user.
    let other_ticket = original
        .replace("\"ticketId\":\"t-3010\"", "\"ticketId\":\"t-9999\"")
        .replace("user-42", "user-43");
    assert_ne!(other_ticket, original);

    let first = fixture.run(&sender, vec![delivery("m-1", &original, 1)]).await;
    let second = fixture
        .run(
            &sender,
            vec![delivery("m-2", &impostor, 1), delivery("m-3", &other_ticket, 1)],
        )
        .await;

    assert_eq!(first.status("m-1"), Some(&RecordStatus::Processed));
    for id in ["m-2", "m-3"] {
        assert!(
            matches!(second.status(id), Some(RecordStatus::DeadLettered(e)) if e.kind() == "idempotency-payload-mismatch"),
            "{id}: {:?}",
            second.status(id)
        );
    }
    assert!(
        second.response().batch_item_failures.is_empty(),
        "permanent: not retried"
    );
    assert_eq!(fixture.dead_letter_kinds().await, ["idempotency-payload-mismatch"; 2]);
    assert_eq!((push.calls(), email.calls()), (1, 1), "nothing sent for the impostors");
    assert_eq!(fixture.emails().len(), 1);
    assert_eq!(
        fixture.emails()[0]["destinations"]["ToAddresses"],
        json!(["choi@example.com"])
    );
}

#[tokio::test]
async fn copies_of_one_notification_processed_concurrently_send_once() {
    // Three copies in one batch run at the same time. Each channel's lock goes to one copy; a copy
    // that finds a lock held fails retryably (SQS redelivers it). Nothing is sent twice, and the
    // redelivery completes every copy without sending again.
    let fixture = Fixture::new().await;
    let push = Faulty::counting(fixture.sns());
    let email = Faulty::counting(fixture.ses());
    let sender = fixture.notification_sender_with(push.clone(), email.clone());
    let body = ticket_issued("t-3004", Some("kang@example.com"), None, None);
    let copies = ["c-1", "c-2", "c-3"];
    let first = fixture
        .run(&sender, copies.iter().map(|id| delivery(id, &body, 1)).collect())
        .await;

    assert_eq!(fixture.topic_pushes().len(), 1);
    assert_eq!(fixture.emails().len(), 1);
    assert_eq!((push.calls(), email.calls()), (1, 1));
    let redeliver: Vec<&str> = first
        .results
        .iter()
        .filter_map(|(id, status)| match status {
            RecordStatus::Processed | RecordStatus::Duplicate => None,
            RecordStatus::Failed(e) if !e.is_permanent() => Some(id.as_str()),
            other => panic!("{id}: {other:?}"),
        })
        .collect();

    let second = fixture
        .run(&sender, redeliver.iter().map(|id| delivery(id, &body, 2)).collect())
        .await;
    for (id, status) in &second.results {
        assert_eq!(status, &RecordStatus::Duplicate, "{id}");
    }
    assert_eq!((push.calls(), email.calls()), (1, 1), "the redelivery sent nothing");
    assert_eq!(fixture.topic_pushes().len(), 1);
    assert_eq!(fixture.emails().len(), 1);
}

#[tokio::test]
async fn a_message_without_an_address_sends_only_the_push() {
    let fixture = Fixture::new().await;
    let email = Faulty::counting(fixture.ses());
    let sender = fixture.notification_sender_with(Arc::new(fixture.sns()), email.clone());
    let body = ticket_issued("t-4004", None, None, Some("ko-KR"));

    let outcome = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;

    assert_eq!(outcome.status("m-1"), Some(&RecordStatus::Processed));
    assert_eq!(fixture.topic_pushes().len(), 1);
    assert_eq!(email.calls(), 0);
    assert!(fixture.step_item("ticket-issued#t-4004", "email").await.is_none());
}

#[tokio::test]
async fn malformed_and_invalid_messages_fail_alone_and_reach_the_dead_letter_queue() {
    let fixture = Fixture::new().await;
    let sender = fixture.notification_sender().await;
    let good = ticket_issued("t-5005", Some("jung@example.com"), None, None);
    let no_ticket = good.replace("\"ticketId\":\"t-5005\",", "");
    assert_ne!(no_ticket, good);

    let outcome = fixture
        .run(
            &sender,
            vec![
                delivery("m-bad-json", "{not json", 1),
                delivery("m-good", &good, 1),
                delivery("m-no-ticket", &no_ticket, 1),
            ],
        )
        .await;

    assert_eq!(outcome.status("m-good"), Some(&RecordStatus::Processed));
    for (message_id, kind) in [("m-bad-json", "malformed-body"), ("m-no-ticket", "invalid-field")] {
        let Some(RecordStatus::DeadLettered(error)) = outcome.status(message_id) else {
            panic!("{message_id}: {:?}", outcome.status(message_id));
        };
        assert_eq!(error.kind(), kind);
        assert!(error.message().contains(message_id), "{error}");
    }
    assert!(outcome.response().batch_item_failures.is_empty());
    assert_eq!(fixture.dead_letter_kinds().await, ["invalid-field", "malformed-body"]);
    assert_eq!((fixture.topic_pushes().len(), fixture.emails().len()), (1, 1));
}
