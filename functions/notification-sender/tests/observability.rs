//! notification-sender's EMF lines against moto: the sends they count are the pushes and emails
//! SNS and SES accepted, the dead letters those in the DLQ; rejections, throttling and
//! misconfiguration are counted where each channel's outcome is known.

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use notification_sender::classify::{FailureClass, SES_SEND_EMAIL, SendFailure};
use notification_sender::email::{Email, EmailSender};
use notification_sender::metrics::{
    ALL, EMAIL_SENT, PUSH_SENT, SENDS_MISCONFIGURED, SENDS_REJECTED, SENDS_THROTTLED, TIME_TO_SEND,
};
use notification_sender::testing::{Fixture, Resources, delivery, ticket_issued};
use shared::metrics::lines::{EmfLine, Totals};
use shared::metrics::{Metrics, batch};
use shared::testing::{CapturedLogs, event, invocation_context, sent_ago};
use shared::{BatchProcessor, RecordStatus};

/// SES answering every email with its throttling error.
struct ThrottledEmail;

impl EmailSender for ThrottledEmail {
    fn send<'a>(&'a self, _email: &'a Email) -> BoxFuture<'a, Result<String, SendFailure>> {
        let failure = SendFailure::new(
            FailureClass::Transient,
            SES_SEND_EMAIL,
            "TooManyRequestsException",
            "Maximum sending rate exceeded.",
        );
        futures::future::ready(Err(failure)).boxed()
    }
}

fn measured(fixture: &Fixture, captured: &CapturedLogs) -> BatchProcessor {
    let writer = captured.clone();
    let metrics = Metrics::to_writer("notification-sender", ALL, move || writer.clone());
    fixture.worker.batch.clone().with_metrics(metrics)
}

#[tokio::test]
async fn the_emf_lines_count_what_sns_and_ses_accepted_and_what_went_to_the_dead_letter_queue() {
    let fixture = Fixture::new().await;
    let captured = CapturedLogs::new();
    let processor = measured(&fixture, &captured);
    let waited = Duration::from_secs(1);
    let kim = ticket_issued("t-1", Some("kim@example.com"), None, None);
    // moto refuses an address without a domain: the email is rejected, the push goes.
    let refused = ticket_issued("t-3", Some("lee@"), None, None);
    let first = event([
        sent_ago(delivery("m-1", &kim, 1), waited),
        sent_ago(delivery("m-3", &refused, 1), waited),
        sent_ago(delivery("m-4", "{not a notification", 1), waited),
    ]);
    processor
        .process(first, &invocation_context("r-1"), &fixture.notification_sender().await)
        .await
        .unwrap();
    // A copy of m-1's notification (a producer duplicate), then SES throttling every email.
    processor
        .process(
            event([sent_ago(delivery("m-2", &kim, 1), waited)]),
            &invocation_context("r-2"),
            &fixture.notification_sender().await,
        )
        .await
        .unwrap();
    let throttled = fixture.notification_sender_with(Arc::new(fixture.sns()), Arc::new(ThrottledEmail));
    let park = ticket_issued("t-5", Some("park@example.com"), None, None);
    let response = processor
        .process(
            event([sent_ago(delivery("m-5", &park, 1), waited)]),
            &invocation_context("r-3"),
            &throttled,
        )
        .await
        .unwrap();
    assert_eq!(response.batch_item_failures.len(), 1, "m-5 is retried for its email");

    let lines = EmfLine::parse_all(&captured.text());
    assert_eq!(lines.len(), 3, "{}", captured.text());
    let totals = Totals::of(&lines);
    let sum = |name: &str| totals.sum("notification-sender", name) as usize;
    assert_eq!(sum(PUSH_SENT.name()), fixture.topic_pushes().len());
    assert_eq!(sum(PUSH_SENT.name()), 3, "t-1, t-3 and t-5");
    assert_eq!(sum(EMAIL_SENT.name()), fixture.emails().len());
    assert_eq!(sum(EMAIL_SENT.name()), 1, "kim's");
    assert_eq!(sum(SENDS_REJECTED.name()), 1, "lee@");
    assert_eq!(sum(SENDS_THROTTLED.name()), 1, "park's email");
    assert_eq!(sum(SENDS_MISCONFIGURED.name()), 0);
    assert_eq!(sum(batch::DEAD_LETTERED.name()), fixture.dead_letters().await.len());
    assert_eq!(sum(batch::DEAD_LETTERED.name()), 1, "m-4");
    assert_eq!(sum(batch::DUPLICATES.name()), 1, "m-2 sent nothing");
    assert_eq!(sum(batch::FAILED.name()), 1, "m-5");
    // One time to send per notification with a channel delivered now: m-1, m-3, m-5.
    assert_eq!(totals.samples("notification-sender", TIME_TO_SEND.name()), 3);
    let (_, points) = &lines[0].metrics[TIME_TO_SEND.name()];
    assert!(
        points.iter().all(|(ms, _)| (1000.0..61_000.0).contains(ms)),
        "{points:?}"
    );
}

#[tokio::test]
async fn a_missing_topic_counts_as_misconfigured() {
    let fixture = Fixture::with(Resources {
        create_topic: false,
        ..Resources::default()
    })
    .await;
    let captured = CapturedLogs::new();
    let processor = measured(&fixture, &captured);
    let body = ticket_issued("t-8", Some("han@example.com"), None, None);
    let outcome = processor
        .run_recorded(
            event([delivery("m-8", &body, 1)]),
            shared::Deadline::NONE,
            &fixture.notification_sender().await,
            &shared::metrics::Recorder::detached(),
        )
        .await
        .unwrap();
    assert!(matches!(outcome.status("m-8"), Some(RecordStatus::DeadLettered(_))));
    // run_recorded with a detached recorder writes nothing; process writes the line.
    assert!(EmfLine::parse_all(&captured.text()).is_empty());
    let redelivery = event([delivery("m-9", &body.replace("t-8", "t-9"), 1)]);
    processor
        .process(
            redelivery,
            &invocation_context("r-9"),
            &fixture.notification_sender().await,
        )
        .await
        .unwrap();
    let lines = EmfLine::parse_all(&captured.text());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].sum(SENDS_MISCONFIGURED.name()), 1.0);
    assert_eq!(
        lines[0].sum(EMAIL_SENT.name()),
        1.0,
        "the email does not wait for the push"
    );
    assert_eq!(lines[0].sum(PUSH_SENT.name()), 0.0);
}
