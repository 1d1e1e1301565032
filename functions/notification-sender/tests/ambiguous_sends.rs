//! Sends whose answer is lost are never resent by the SDK: a loopback provider reads each request
//! and then drops or resets the connection, or answers 500, and counts the requests it read.
//! Throttling answers, which prove the send was refused, are still retried by the SDK.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use futures::future::{BoxFuture, FutureExt};
use notification_sender::classify::{FailureClass, SendFailure};
use notification_sender::email::{EmailSender, SesEmailSender};
use notification_sender::push::{Push, PushSender, PushTarget, SnsPushSender};
use notification_sender::testing::{read_request, sample_email, sample_push};
use notification_sender::{NotificationSender, SenderConfig, clients};
use shared::idempotency::{IdempotencyConfig, MemoryStore};
use shared::testing::{CapturedLogs, message, sqs_message};
use shared::{Deadline, Idempotency, Record};
use tokio::io::AsyncWriteExt;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:pushes";
const SENDER: &str = "tickets@example.com";

/// What the loopback provider does once it has read a whole request.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Closes the connection without answering.
    Drop,
    /// Resets the connection (SO_LINGER 0).
    Reset,
    /// Answers SES's 500 InternalFailure (restJson1) or SNS's 500 InternalError (awsQuery).
    ServerError,
    /// Answers SES's 429 TooManyRequestsException or SNS's 400 Throttling.
    Throttling,
}

struct Provider {
    endpoint: String,
    requests: Arc<AtomicUsize>,
}

fn error_answer(path: &str, answer: Answer) -> String {
    let ses = path.contains("outbound-emails");
    let (status, headers, body) = match (ses, answer) {
        (true, Answer::ServerError) => (
            "500 Internal Server Error",
            "Content-Type: application/json\r\nx-amzn-ErrorType: InternalFailure\r\n",
            r#"{"message":"internal failure"}"#.to_owned(),
        ),
        (true, _) => (
            "429 Too Many Requests",
            "Content-Type: application/json\r\nx-amzn-ErrorType: TooManyRequestsException\r\n",
            r#"{"message":"Maximum sending rate exceeded."}"#.to_owned(),
        ),
        (false, Answer::ServerError) => (
            "500 Internal Server Error",
            "Content-Type: text/xml\r\n",
            sns_error("Receiver", "InternalError"),
        ),
        (false, _) => (
            "400 Bad Request",
            "Content-Type: text/xml\r\n",
            sns_error("Sender", "Throttling"),
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn sns_error(kind: &str, code: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{code}</Message></Error>\
         <RequestId>r-1</RequestId></ErrorResponse>"
    )
}

async fn provider(answer: Answer) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let counted = counted.clone();
            tokio::spawn(async move {
                let Some(path) = read_request(&mut stream).await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                match answer {
                    Answer::Drop => drop(stream),
                    Answer::Reset => {
                        #[allow(deprecated)]
                        let _ = stream.set_linger(Some(Duration::ZERO));
                        drop(stream);
                    }
                    Answer::ServerError | Answer::Throttling => {
                        let _ = stream.write_all(error_answer(&path, answer).as_bytes()).await;
                    }
                }
            });
        }
    });
    Provider { endpoint, requests }
}

impl Provider {
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The SDK configuration `main` loads, pointed here; retries after 10 ms instead of 1 s.
    async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sns::config::Credentials::new("t", "t", None, None, "test"))
            .retry_config(aws_config::retry::RetryConfig::standard().with_initial_backoff(Duration::from_millis(10)))
            .load()
            .await
    }
}

async fn send_email(provider: &Provider) -> SendFailure {
    let client = clients::ses(&provider.sdk().await);
    SesEmailSender::new(client, SENDER, None)
        .send(&sample_email())
        .await
        .unwrap_err()
}

async fn publish(provider: &Provider) -> SendFailure {
    let client = clients::sns(&provider.sdk().await);
    SnsPushSender::new(client)
        .publish(&sample_push(PushTarget::Topic(TOPIC.into())))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_lost_answer_is_ambiguous_and_sent_once() {
    for answer in [Answer::Drop, Answer::Reset, Answer::ServerError] {
        let ses = provider(answer).await;
        let failure = send_email(&ses).await;
        assert_eq!(failure.class, FailureClass::Ambiguous, "{answer:?}: {failure}");
        assert_eq!(ses.requests(), 1, "{answer:?}: SendEmail must not be resent by the SDK");

        let sns = provider(answer).await;
        let failure = publish(&sns).await;
        assert_eq!(failure.class, FailureClass::Ambiguous, "{answer:?}: {failure}");
        assert_eq!(sns.requests(), 1, "{answer:?}: Publish must not be resent by the SDK");
    }
}

#[tokio::test]
async fn without_the_classifier_the_sdk_would_send_a_lost_answer_three_times() {
    // The control: the same provider and SDK configuration, a plain client.
    let ses = provider(Answer::Drop).await;
    let plain = aws_sdk_sesv2::Client::new(&ses.sdk().await);
    SesEmailSender::new(plain, SENDER, None)
        .send(&sample_email())
        .await
        .unwrap_err();
    assert_eq!(ses.requests(), 3);
}

#[tokio::test]
async fn a_throttling_answer_is_retried_by_the_sdk_and_stays_transient() {
    let ses = provider(Answer::Throttling).await;
    let failure = send_email(&ses).await;
    assert_eq!(
        (failure.class, failure.code.as_str()),
        (FailureClass::Transient, "TooManyRequestsException")
    );
    assert_eq!(
        ses.requests(),
        3,
        "throttling proves the send was refused: the SDK retries it"
    );

    let sns = provider(Answer::Throttling).await;
    let failure = publish(&sns).await;
    assert_eq!(
        (failure.class, failure.code.as_str()),
        (FailureClass::Transient, "Throttling")
    );
    assert_eq!(sns.requests(), 3);
}

/// Publishes nothing and succeeds: the push is not what these tests look at.
struct PushOk;

impl PushSender for PushOk {
    fn publish<'a>(&'a self, _push: &'a Push) -> BoxFuture<'a, Result<String, SendFailure>> {
        futures::future::ready(Ok("push-1".to_owned())).boxed()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_ambiguous_email_is_logged_not_recorded_and_sent_again_by_a_redelivery() {
    let ses = provider(Answer::Drop).await;
    let config = SenderConfig {
        push_topic_arn: TOPIC.into(),
        email_sender: SENDER.into(),
        ses_configuration_set: None,
        email_send_rate: 14.0,
        push_send_rate: 300.0,
    };
    let idempotency = Idempotency::new(
        Arc::new(MemoryStore::new()),
        IdempotencyConfig::new("notification-sender"),
    );
    let email = SesEmailSender::new(clients::ses(&ses.sdk().await), SENDER, None);
    let sender = NotificationSender::new(&config, idempotency, Arc::new(PushOk), Arc::new(email));
    let body = r#"{"notificationId":"ticket-issued#t-1","kind":"ticket-issued","eventId":"e-1","userId":"u-1",
                   "ticketId":"t-1","contact":{"email":"kim@example.com"}}"#;
    let record = || Record::new(sqs_message(message("m-1", body)), Deadline::NONE).unwrap();

    let logs = CapturedLogs::new();
    let subscriber = logs.install();
    let first = sender.send(record()).await.unwrap_err();
    drop(subscriber);

    assert_eq!((first.kind(), first.is_permanent()), ("email-ambiguous", false));
    assert_eq!(ses.requests(), 1);
    let line = logs
        .text()
        .lines()
        .find(|line| line.contains(r#""outcome":"ambiguous-send""#))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no ambiguous-send line:\n{}", logs.text()));
    assert!(
        line.contains("ticket-issued#t-1") && line.contains("k***@example.com"),
        "{line}"
    );

    // The step was not recorded: the redelivery sends the email again (at least once).
    let again = sender.send(record()).await.unwrap_err();
    assert_eq!(again.kind(), "email-ambiguous");
    assert_eq!(ses.requests(), 2);
}
