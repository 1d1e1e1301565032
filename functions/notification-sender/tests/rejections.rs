//! Permanent failures against moto: a rejected channel is recorded and never retried; a record
//! that no channel can deliver goes to the dead-letter queue with the reason, once; a
//! misconfiguration (a missing topic, a sender SES has not verified) goes to the DLQ without being
//! recorded, so a redrive after the fix sends.

use std::sync::Arc;

use aws_sdk_sqs::types::Message;
use notification_sender::testing::{Faulty, Fixture, Resources, delivery, ticket_issued};
use shared::RecordStatus;
use shared::testing::with_attribute;

fn attribute<'a>(letter: &'a Message, name: &str) -> &'a str {
    letter.message_attributes().unwrap()[name].string_value().unwrap()
}

fn stored_result(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> serde_json::Value {
    assert_eq!(item["status"].as_s().unwrap(), "COMPLETED");
    serde_json::from_str(item["data"].as_s().unwrap()).unwrap()
}

#[tokio::test]
async fn an_unverified_sender_dead_letters_the_record_unrecorded_so_a_redrive_after_verifying_sends_the_email() {
    let fixture = Fixture::with(Resources {
        verify_sender: false,
        ..Resources::default()
    })
    .await;
    let email = Faulty::counting(fixture.ses());
    let sender = fixture.notification_sender_with(Arc::new(fixture.sns()), email.clone());
    let body = ticket_issued("t-6006", Some("kang@example.com"), None, None);

    let first = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;

    // moto refuses the sender: "Email address not verified <sender>" (MessageRejected). That is
    // ours to fix, not the recipient's: nothing is stored, the record goes to the DLQ.
    let Some(RecordStatus::DeadLettered(error)) = first.status("m-1") else {
        panic!("{:?}", first.results);
    };
    assert_eq!(error.kind(), "email-misconfigured");
    assert!(first.response().batch_item_failures.is_empty());
    assert_eq!(
        (fixture.topic_pushes().len(), fixture.emails().len(), email.calls()),
        (1, 0, 1),
        "the push does not wait for the email"
    );
    assert!(fixture.step_item("ticket-issued#t-6006", "email").await.is_none());
    let letters = fixture.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(attribute(&letters[0], "error-kind"), "email-misconfigured");
    let reason = attribute(&letters[0], "error-message");
    assert!(
        reason.contains("MessageRejected") && reason.contains("not verified") && !reason.contains(&fixture.sender),
        "{reason}"
    );

    // An operator verifies the sender, then dlq-redrive sends the dead letter back.
    aws_sdk_sesv2::Client::new(&fixture.sdk)
        .create_email_identity()
        .email_identity(&fixture.sender)
        .send()
        .await
        .unwrap();
    let redriven = with_attribute(delivery("m-redriven", &body, 1), "original-message-id", "m-1");
    let redrive = fixture.run(&sender, vec![redriven]).await;

    assert_eq!(redrive.status("m-redriven"), Some(&RecordStatus::Processed));
    assert_eq!(fixture.emails().len(), 1, "the email goes out after the fix");
    assert_eq!(
        fixture.topic_pushes().len(),
        1,
        "the push was sent before and is not repeated"
    );
    assert_eq!(
        stored_result(&fixture.step_item("ticket-issued#t-6006", "email").await.unwrap())["result"],
        "delivered"
    );
}

#[tokio::test]
async fn a_record_no_channel_can_deliver_goes_to_the_dead_letter_queue_with_the_reasons_once() {
    let fixture = Fixture::new().await;
    let disabled = fixture.push_endpoint(false).await;
    let push = Faulty::counting(fixture.sns());
    let email = Faulty::counting(fixture.ses());
    let sender = fixture.notification_sender_with(push.clone(), email.clone());
    // moto refuses an address without a domain (InvalidParameterValue); the endpoint is disabled.
    let body = ticket_issued("t-7007", Some("yoon@"), Some(&disabled), None);

    let first = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;

    let Some(RecordStatus::DeadLettered(error)) = first.status("m-1") else {
        panic!("{:?}", first.results);
    };
    assert_eq!(error.kind(), "no-usable-channel");
    assert!(first.response().batch_item_failures.is_empty(), "not retried by SQS");
    let letters = fixture.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(attribute(&letters[0], "error-kind"), "no-usable-channel");
    let reason = attribute(&letters[0], "error-message");
    assert!(
        reason.contains("m-1") && reason.contains("EndpointDisabled") && reason.contains("InvalidParameterValue"),
        "{reason}"
    );
    assert!(!reason.contains("yoon@"), "the address is masked: {reason}");
    assert_eq!(
        stored_result(&fixture.step_item("ticket-issued#t-7007", "push").await.unwrap())["result"],
        "rejected"
    );
    assert_eq!(
        stored_result(&fixture.step_item("ticket-issued#t-7007", "email").await.unwrap())["result"],
        "rejected"
    );

    // A copy arriving later (say a redrive) is refused from the records, without any call.
    let again = fixture.run(&sender, vec![delivery("m-2", &body, 1)]).await;

    assert!(matches!(again.status("m-2"), Some(RecordStatus::DeadLettered(e)) if e.kind() == "no-usable-channel"));
    assert_eq!((push.calls(), email.calls()), (1, 1));
    assert_eq!(fixture.emails().len(), 0);
    assert!(fixture.endpoint_messages(&disabled).is_empty());
}

#[tokio::test]
async fn a_missing_topic_dead_letters_the_record_unrecorded_so_a_redrive_after_the_fix_sends_only_the_push() {
    let fixture = Fixture::with(Resources {
        create_topic: false,
        ..Resources::default()
    })
    .await;
    let sender = fixture.notification_sender().await;
    let body = ticket_issued("t-8008", Some("han@example.com"), None, None);

    let first = fixture.run(&sender, vec![delivery("m-1", &body, 1)]).await;

    let Some(RecordStatus::DeadLettered(error)) = first.status("m-1") else {
        panic!("{:?}", first.results);
    };
    assert_eq!(error.kind(), "push-misconfigured");
    assert!(error.message().contains(&fixture.topic_arn), "names the topic: {error}");
    assert_eq!(fixture.emails().len(), 1, "the email does not wait for the push");
    assert!(fixture.step_item("ticket-issued#t-8008", "push").await.is_none());
    let letters = fixture.dead_letters().await;
    assert_eq!(attribute(&letters[0], "error-kind"), "push-misconfigured");

    // An operator creates the topic, then dlq-redrive sends the dead letter back.
    let topic_name = fixture.topic_arn.rsplit(':').next().unwrap();
    aws_sdk_sns::Client::new(&fixture.sdk)
        .create_topic()
        .name(topic_name)
        .send()
        .await
        .unwrap();
    let redriven = with_attribute(delivery("m-redriven", &body, 1), "original-message-id", "m-1");
    let redrive = fixture.run(&sender, vec![redriven]).await;

    assert_eq!(redrive.status("m-redriven"), Some(&RecordStatus::Processed));
    assert_eq!(fixture.topic_pushes().len(), 1);
    assert_eq!(
        fixture.emails().len(),
        1,
        "the email was sent before and is not repeated"
    );
}
