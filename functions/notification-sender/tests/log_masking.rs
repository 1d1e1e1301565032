//! Captured logs of sends, a retry, a rejection that quotes an address and a body with an
//! address in the wrong place: addresses only ever appear masked.

use std::sync::Arc;

use notification_sender::testing::{Faulty, Fixture, Resources, delivery, ticket_issued};
use shared::RecordStatus;
use shared::testing::CapturedLogs;

// A current-thread runtime: the subscriber set below is this thread's, and every record runs here.
#[tokio::test(flavor = "current_thread")]
async fn logs_show_addresses_only_masked() {
    // The sender is unverified, so SES's refusal quotes it ("Email address not verified <sender>").
    let fixture = Fixture::with(Resources {
        verify_sender: false,
        ..Resources::default()
    })
    .await;
    let email = Faulty::failing_first(fixture.ses(), 1);
    let sender = fixture.notification_sender_with(Arc::new(fixture.sns()), email);
    let recipient = "kim.minsu@example.com";
    let body = ticket_issued("t-9009", Some(recipient), None, Some("en"));
    let misplaced =
        r#"{"notificationId":"n-1","kind":"sold-out","eventId":"e1","userId":"u1","contact":"lee.jiwoo@example.org"}"#;

    let logs = CapturedLogs::new();
    let _subscriber = logs.install();
    // 1: the email fails transiently (injected); the misplaced address is an invalid `contact`.
    let first = fixture
        .run(
            &sender,
            vec![delivery("m-1", &body, 1), delivery("m-bad", misplaced, 1)],
        )
        .await;
    // 2: the retry reaches SES, which refuses the unverified sender (misconfigured: to the DLQ).
    let retry = fixture.run(&sender, vec![delivery("m-1", &body, 2)]).await;
    drop(_subscriber);

    assert!(matches!(first.status("m-1"), Some(RecordStatus::Failed(e)) if e.kind() == "email-unavailable"));
    assert!(matches!(first.status("m-bad"), Some(RecordStatus::DeadLettered(e)) if e.kind() == "invalid-field"));
    assert!(matches!(retry.status("m-1"), Some(RecordStatus::DeadLettered(e)) if e.kind() == "email-misconfigured"));
    let text = logs.text();
    for clear in [recipient, "lee.jiwoo@example.org", fixture.sender.as_str()] {
        assert!(!text.contains(clear), "{clear} appears in clear in the logs:\n{text}");
    }
    // The masked forms show the logs did cover each address.
    let masked_sender = format!("{}***@tickets.example.com", &fixture.sender[..1]);
    for masked in ["k***@example.com", "l***@example.org", masked_sender.as_str()] {
        assert!(text.contains(masked), "{masked} missing from the logs:\n{text}");
    }
}
