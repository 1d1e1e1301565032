//! A provider that accepts a send but answers slowly must get it once. Found by the chaos run
//! (docs/chaos.md): with a 5 s attempt timeout the SDK gave up on a SendEmail that moto was still
//! accepting, sent it again, and the user got the email three times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notification_sender::email::SesEmailSender;
use notification_sender::push::SnsPushSender;
use notification_sender::testing::read_request;
use notification_sender::{NotificationSender, SenderConfig, clients};
use shared::idempotency::{IdempotencyConfig, MemoryStore};
use shared::testing::{message, sqs_message};
use shared::{Deadline, Handled, Idempotency, Record};
use tokio::io::AsyncWriteExt;

/// Slower than the old attempt timeout (5 s), within the call's time limit (`clients::SEND_TIMEOUT`, 8 s).
const ANSWER_AFTER: Duration = Duration::from_secs(6);

/// Answers SNS Publish and SESv2 SendEmail with success after `ANSWER_AFTER`; counts requests per path.
async fn slow_provider() -> (String, Arc<Mutex<HashMap<String, usize>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let counted = counts.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let counts = counted.clone();
            tokio::spawn(async move {
                let Some(path) = read_request(&mut stream).await else {
                    return;
                };
                *counts.lock().unwrap().entry(path.clone()).or_default() += 1;
                tokio::time::sleep(ANSWER_AFTER).await;
                let (content_type, body) = if path.contains("outbound-emails") {
                    ("application/json", r#"{"MessageId":"email-1"}"#.to_owned())
                } else {
                    (
                        "text/xml",
                        "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>\
                         <MessageId>push-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId>\
                         </ResponseMetadata></PublishResponse>"
                            .to_owned(),
                    )
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (format!("http://{address}"), counts)
}

#[tokio::test]
async fn a_slow_but_successful_send_is_awaited_not_sent_again() {
    let (endpoint, counts) = slow_provider().await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sns::config::Credentials::new("t", "t", None, None, "test"))
        .load()
        .await;
    let config = SenderConfig {
        push_topic_arn: "arn:aws:sns:us-east-1:123456789012:pushes".into(),
        email_sender: "tickets@example.com".into(),
        ses_configuration_set: None,
        email_send_rate: 14.0,
        push_send_rate: 300.0,
    };
    let idempotency = Idempotency::new(
        Arc::new(MemoryStore::new()),
        IdempotencyConfig::new("notification-sender"),
    );
    // The clients `main` builds; the budgets in memory (this provider speaks no DynamoDB).
    let email = SesEmailSender::new(clients::ses(&sdk), &config.email_sender, None);
    let push = SnsPushSender::new(clients::sns(&sdk));
    let sender = NotificationSender::new(&config, idempotency, Arc::new(push), Arc::new(email));
    let body = r#"{"notificationId":"ticket-issued#t-1","kind":"ticket-issued","eventId":"e-1","userId":"u-1",
                   "ticketId":"t-1","contact":{"email":"kim@example.com"},"locale":"en"}"#;
    let record = Record::new(sqs_message(message("m-1", body)), Deadline::NONE).unwrap();

    let result = sender.send(record).await;

    assert_eq!(result, Ok(Handled::Processed));
    let counts = counts.lock().unwrap().clone();
    assert_eq!(counts.get("/v2/email/outbound-emails"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("/"), Some(&1), "{counts:?}");
}
