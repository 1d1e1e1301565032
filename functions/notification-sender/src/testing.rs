//! A notification-sender wired to moto exactly as `main` wires it (topic, verified sender,
//! idempotency table and dead-letter queue of its own), plus senders that inject faults.
//! The tests' fixture (feature `testing`): notification-sender's own tests and the
//! cross-function tests (`tests/e2e`) use it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::classify::{FailureClass, SES_SEND_EMAIL, SNS_PUBLISH, SendFailure};
use crate::email::{Email, EmailSender, SesEmailSender};
use crate::push::{Push, PushSender, PushTarget, SnsPushSender};
use crate::templates::RenderedEmail;
use crate::{NotificationSender, SenderConfig};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::{BoxFuture, FutureExt};
use moto_harness::{MotoServer, unique_name};
use serde_json::{Value, json};
use shared::config::Environment;
use shared::testing::{create_idempotency_table, event, message};
use shared::worker::{Worker, WorkerConfig};
use shared::{BatchOutcome, Deadline};

pub const FUNCTION_NAME: &str = "notification-sender";

pub struct Fixture {
    pub moto: &'static MotoServer,
    pub sdk: SdkConfig,
    pub topic_arn: String,
    /// A verified SES identity unique to this fixture: its emails are this test's.
    pub sender: String,
    pub table: String,
    pub dead_letter_queue_url: String,
    pub worker_config: WorkerConfig,
    pub worker: Worker,
}

impl Fixture {
    /// Topic, verified sender, idempotency table and DLQ, all new.
    pub async fn new() -> Self {
        Self::with(Resources::default()).await
    }

    pub async fn with(resources: Resources) -> Self {
        let moto = MotoServer::shared();
        let sdk = moto.sdk_config().await;
        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic_arn = if resources.create_topic {
            sns.create_topic()
                .name(unique_name("pushes"))
                .send()
                .await
                .expect("create topic")
                .topic_arn
                .expect("topic arn")
        } else {
            format!(
                "arn:aws:sns:{}:{}:{}",
                moto_harness::REGION,
                moto_harness::ACCOUNT_ID,
                unique_name("missing-topic")
            )
        };
        let sender = format!("{}@tickets.example.com", unique_name("sender"));
        if resources.verify_sender {
            aws_sdk_sesv2::Client::new(&sdk)
                .create_email_identity()
                .email_identity(&sender)
                .send()
                .await
                .expect("verify sender");
        }
        let table = create_idempotency_table(&aws_sdk_dynamodb::Client::new(&sdk)).await;
        let queue = unique_name("notification-dlq");
        aws_sdk_sqs::Client::new(&sdk)
            .create_queue()
            .queue_name(&queue)
            .send()
            .await
            .expect("create dead-letter queue");
        let dead_letter_queue_url = moto.queue_url(&queue);
        let environment = Environment::from_pairs([
            ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
            ("IDEMPOTENCY_TABLE_NAME", table.as_str()),
            ("DEAD_LETTER_QUEUE_URL", dead_letter_queue_url.as_str()),
        ]);
        let worker_config = WorkerConfig::from_env(&environment).expect("worker config");
        let worker = Worker::new(&worker_config, &sdk);
        Self {
            moto,
            sdk,
            topic_arn,
            sender,
            table,
            dead_letter_queue_url,
            worker_config,
            worker,
        }
    }

    pub fn config(&self) -> SenderConfig {
        SenderConfig::from_env(&Environment::from_pairs([
            ("PUSH_TOPIC_ARN", self.topic_arn.as_str()),
            ("EMAIL_SENDER", self.sender.as_str()),
        ]))
        .expect("sender config")
    }

    /// The sender `main` builds (its send budgets in this fixture's table).
    pub async fn notification_sender(&self) -> NotificationSender {
        NotificationSender::from_sdk(
            &self.config(),
            &self.worker_config,
            self.worker.idempotency.clone(),
            &self.sdk,
        )
        .await
    }

    /// A sender whose push and email go through the given wrappers (around the real ones).
    pub fn notification_sender_with(
        &self,
        push: Arc<dyn PushSender>,
        email: Arc<dyn EmailSender>,
    ) -> NotificationSender {
        NotificationSender::new(&self.config(), self.worker.idempotency.clone(), push, email)
    }

    pub fn sns(&self) -> SnsPushSender {
        SnsPushSender::new(aws_sdk_sns::Client::new(&self.sdk))
    }

    pub fn ses(&self) -> SesEmailSender {
        SesEmailSender::new(aws_sdk_sesv2::Client::new(&self.sdk), &self.sender, None)
    }

    /// One batch through the batch processor `main` uses (dead letters to the SQS DLQ).
    pub async fn run(&self, sender: &NotificationSender, messages: Vec<Value>) -> BatchOutcome {
        self.worker
            .batch
            .run(
                event(messages),
                Deadline::after(std::time::Duration::from_secs(60)),
                sender,
            )
            .await
            .expect("every test message has a messageId")
    }

    /// `sent_notifications` of this fixture's topic: `[id, message, subject, attributes, group]`.
    pub fn topic_pushes(&self) -> Vec<Value> {
        let data = self.moto.data();
        data["sns"]["Topic"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|topic| topic["arn"] == self.topic_arn.as_str())
            .map(|topic| topic["sent_notifications"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Messages SNS delivered to a platform endpoint.
    pub fn endpoint_messages(&self, endpoint_arn: &str) -> Vec<String> {
        let data = self.moto.data();
        data["sns"]["PlatformEndpoint"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|endpoint| endpoint["arn"] == endpoint_arn)
            .and_then(|endpoint| endpoint["messages"].as_object())
            .map(|messages| {
                messages
                    .values()
                    .map(|m| m.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Emails SES accepted from this fixture's sender: `{source, destinations, subject, body}`.
    pub fn emails(&self) -> Vec<Value> {
        let data = self.moto.data();
        data["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|message| message["source"] == self.sender.as_str())
            .cloned()
            .collect()
    }

    /// A push endpoint in moto, enabled or not.
    pub async fn push_endpoint(&self, enabled: bool) -> String {
        let sns = aws_sdk_sns::Client::new(&self.sdk);
        let application = sns
            .create_platform_application()
            .name(unique_name("app"))
            .platform("GCM")
            .attributes("PlatformCredential", "dummy")
            .send()
            .await
            .expect("create platform application")
            .platform_application_arn
            .expect("application arn");
        let endpoint = sns
            .create_platform_endpoint()
            .platform_application_arn(application)
            .token(unique_name("device"))
            .send()
            .await
            .expect("create endpoint")
            .endpoint_arn
            .expect("endpoint arn");
        if !enabled {
            sns.set_endpoint_attributes()
                .endpoint_arn(&endpoint)
                .attributes("Enabled", "false")
                .send()
                .await
                .expect("disable endpoint");
        }
        endpoint
    }

    /// Every message in the dead-letter queue, with its attributes.
    pub async fn dead_letters(&self) -> Vec<aws_sdk_sqs::types::Message> {
        aws_sdk_sqs::Client::new(&self.sdk)
            .receive_message()
            .queue_url(&self.dead_letter_queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive dead letters")
            .messages
            .unwrap_or_default()
    }

    /// The `error-kind` of every message in the dead-letter queue, sorted.
    pub async fn dead_letter_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self
            .dead_letters()
            .await
            .iter()
            .map(|letter| {
                letter.message_attributes().unwrap()["error-kind"]
                    .string_value()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        kinds.sort();
        kinds
    }

    /// The idempotency item of a notification's channel step.
    pub async fn step_item(&self, notification_id: &str, channel: &str) -> Option<HashMap<String, AttributeValue>> {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name(&self.table)
            .key(
                "id",
                AttributeValue::S(format!("{FUNCTION_NAME}#{notification_id}#{channel}")),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("get step item")
            .item
    }
}

/// An email to kim@example.com with short texts, for the senders alone.
pub fn sample_email() -> Email {
    Email {
        to: "kim@example.com".into(),
        content: RenderedEmail {
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
        },
    }
}

/// A ticket-issued push to `target`, for the senders alone.
pub fn sample_push(target: PushTarget) -> Push {
    Push {
        target,
        text: "hello".into(),
        user_id: "u1".into(),
        event_id: "e1".into(),
        kind: messages::NotificationKind::TicketIssued,
    }
}

/// Reads one whole HTTP request from a loopback provider's connection (head, then a body of its
/// Content-Length) and returns its path; `None` when the peer closed first.
pub async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&request).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        if body.len() >= length {
            return Some(head.split_whitespace().nth(1).unwrap_or("/").to_owned());
        }
    }
}

/// What [`Fixture::with`] creates.
pub struct Resources {
    pub create_topic: bool,
    pub verify_sender: bool,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            create_topic: true,
            verify_sender: true,
        }
    }
}

/// A ticket-issued notification-queue body as ticket-processor writes it.
pub fn ticket_issued(
    ticket_id: &str,
    email: Option<&str>,
    push_endpoint: Option<&str>,
    locale: Option<&str>,
) -> String {
    let mut contact = serde_json::Map::new();
    if let Some(email) = email {
        contact.insert("email".into(), json!(email));
    }
    if let Some(endpoint) = push_endpoint {
        contact.insert("pushEndpointArn".into(), json!(endpoint));
    }
    let mut body = json!({
        "notificationId": format!("ticket-issued#{ticket_id}"),
        "kind": "ticket-issued",
        "eventId": "concert-2026",
        "userId": "user-42",
        "ticketId": ticket_id,
        "issuedAt": "2026-11-22T10:00:00Z",
        "contact": contact,
    });
    if let Some(locale) = locale {
        body["locale"] = json!(locale);
    }
    body.to_string()
}

/// An SQS message as Lambda delivers it, received for the `receive_count`th time.
pub fn delivery(message_id: &str, body: &str, receive_count: u32) -> Value {
    let mut message = message(message_id, body);
    message["attributes"]["ApproximateReceiveCount"] = json!(receive_count.to_string());
    message
}

/// Wraps a real sender: counts calls and fails the first `fail_first` of them with a transient
/// error (as if SES or SNS had answered 503) without calling the service.
pub struct Faulty<S> {
    inner: S,
    fail_first: AtomicUsize,
    calls: AtomicUsize,
}

impl<S> Faulty<S> {
    pub fn failing_first(inner: S, fail_first: usize) -> Arc<Self> {
        Arc::new(Self {
            inner,
            fail_first: AtomicUsize::new(fail_first),
            calls: AtomicUsize::new(0),
        })
    }

    pub fn counting(inner: S) -> Arc<Self> {
        Self::failing_first(inner, 0)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// `true` when this call is to fail.
    fn inject(&self) -> bool {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok()
    }
}

fn injected(operation: &'static str) -> SendFailure {
    SendFailure::new(
        FailureClass::Transient,
        operation,
        "ServiceUnavailable",
        "injected fault: the service answered 503",
    )
}

impl<S: EmailSender> EmailSender for Faulty<S> {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<String, SendFailure>> {
        if self.inject() {
            return futures::future::ready(Err(injected(SES_SEND_EMAIL))).boxed();
        }
        self.inner.send(email)
    }
}

impl<S: PushSender> PushSender for Faulty<S> {
    fn publish<'a>(&'a self, push: &'a Push) -> BoxFuture<'a, Result<String, SendFailure>> {
        if self.inject() {
            return futures::future::ready(Err(injected(SNS_PUBLISH))).boxed();
        }
        self.inner.publish(push)
    }
}
