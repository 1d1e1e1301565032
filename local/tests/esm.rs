//! The local event source mapping against moto's SQS, with a scripted function.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue, QueueAttributeName,
};
use emulation::invoke::{Invocation, InvokeError, Invoker};
use futures::future::BoxFuture;
use local_stack::esm::{MappingStats, Poller, Verdict};
use local_stack::provision::EventSourceMapping;
use moto_harness::{MotoServer, unique_name};

/// A function that answers from a script and records the events it got.
struct Scripted {
    answer: Box<dyn Fn(&SqsEvent) -> Invocation + Send + Sync>,
    events: Mutex<Vec<SqsEvent>>,
}

impl Invoker for Scripted {
    fn invoke<'a>(&'a self, _function: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        let event: SqsEvent = serde_json::from_slice(&payload).expect("the ESM sends a Lambda SQS event");
        let invocation = (self.answer)(&event);
        self.events.lock().unwrap().push(event);
        Box::pin(async move { Ok(invocation) })
    }
}

fn answer(payload: &str) -> Invocation {
    Invocation {
        function_error: None,
        payload: payload.as_bytes().to_vec(),
    }
}

struct Fixture {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    dlq_url: String,
    poller: Poller,
    function: Arc<Scripted>,
}

async fn fixture(answer: impl Fn(&SqsEvent) -> Invocation + Send + Sync + 'static) -> Fixture {
    let sqs = aws_sdk_sqs::Client::new(&MotoServer::shared().sdk_config().await);
    let dlq_url = sqs
        .create_queue()
        .queue_name(unique_name("esm-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = arn(&sqs, &dlq_url).await;
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_name("esm"))
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = arn(&sqs, &queue_url).await;
    let function = Arc::new(Scripted {
        answer: Box::new(answer),
        events: Mutex::new(Vec::new()),
    });
    let poller = Poller {
        mapping: EventSourceMapping {
            logical_id: "TestMapping".into(),
            function: "test-fn".into(),
            queue_arn,
            queue_url: queue_url.clone(),
            batch_size: 10,
            batching_window_seconds: 0,
            report_batch_item_failures: true,
            maximum_concurrency: 2,
            provisioned_pollers: None,
            enabled: true,
        },
        sqs: sqs.clone(),
        invoker: function.clone(),
        stats: Arc::new(MappingStats::default()),
        region: "us-east-1".into(),
        wait: Duration::from_secs(1),
    };
    Fixture {
        sqs,
        queue_url,
        dlq_url,
        poller,
        function,
    }
}

async fn arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

const TRACE_HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

async fn send(f: &Fixture, bodies: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for body in bodies {
        let sent = f
            .sqs
            .send_message()
            .queue_url(&f.queue_url)
            .message_body(*body)
            .message_attributes(
                "origin",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("test")
                    .build()
                    .unwrap(),
            )
            .message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                MessageSystemAttributeValue::builder()
                    .data_type("String")
                    .string_value(TRACE_HEADER)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        ids.push(sent.message_id.unwrap());
    }
    ids
}

async fn count(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let n = |name| attributes[&name].parse().unwrap();
    (
        n(QueueAttributeName::ApproximateNumberOfMessages),
        n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

#[tokio::test]
async fn the_event_has_lambdas_shape() {
    let f = fixture(|_| answer("")).await;
    let ids = send(&f, &["one"]).await;
    assert_eq!(f.poller.poll_once().await.unwrap(), Some(Verdict::DeleteAll));
    let events = f.function.events.lock().unwrap();
    let record = &events[0].records[0];
    assert_eq!(record.message_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(record.body.as_deref(), Some("one"));
    assert_eq!(record.attributes["ApproximateReceiveCount"], "1");
    // As Lambda does: the producer's trace header reaches the function with the record.
    assert_eq!(record.attributes["AWSTraceHeader"], TRACE_HEADER);
    assert_eq!(
        record.message_attributes["origin"].string_value.as_deref(),
        Some("test")
    );
    assert_eq!(
        record.event_source_arn.as_deref(),
        Some(f.poller.mapping.queue_arn.as_str())
    );
    assert!(record.receipt_handle.is_some());
}

#[tokio::test]
async fn a_partial_failure_deletes_only_the_successes() {
    let failing = Arc::new(Mutex::new(String::new()));
    let target = failing.clone();
    let f = fixture(move |_| {
        answer(&format!(
            r#"{{"batchItemFailures":[{{"itemIdentifier":"{}"}}]}}"#,
            target.lock().unwrap()
        ))
    })
    .await;
    let ids = send(&f, &["a", "b", "c"]).await;
    *failing.lock().unwrap() = ids[1].clone();

    let verdict = f.poller.poll_once().await.unwrap();
    assert_eq!(verdict, Some(Verdict::KeepFailed(vec![ids[1].clone()])));
    tokio::time::sleep(Duration::from_millis(1500)).await; // past the 1 s visibility timeout
    let received = f
        .sqs
        .receive_message()
        .queue_url(&f.queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let left: Vec<String> = received
        .messages()
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    assert_eq!(left, ["b"], "only the reported failure came back");
}

#[tokio::test]
async fn an_unknown_identifier_retries_the_whole_batch() {
    let f = fixture(|_| answer(r#"{"batchItemFailures":[{"itemIdentifier":"not-in-this-batch"}]}"#)).await;
    send(&f, &["a", "b"]).await;
    let verdict = f.poller.poll_once().await.unwrap();
    assert!(matches!(verdict, Some(Verdict::RetryAll(_))), "{verdict:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(&f.sqs, &f.queue_url).await, (2, 0), "nothing was deleted");
}

#[tokio::test]
async fn a_function_error_retries_the_whole_batch_and_the_redrive_policy_moves_it_to_the_dlq() {
    let f = fixture(|_| Invocation {
        function_error: Some("Unhandled".into()),
        payload: br#"{"errorType":"Panic","errorMessage":"boom"}"#.to_vec(),
    })
    .await;
    send(&f, &["doomed"]).await;
    for _ in 0..2 {
        assert!(matches!(
            f.poller.poll_once().await.unwrap(),
            Some(Verdict::RetryAll(_))
        ));
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    // The third receive finds the message over maxReceiveCount (2): moto moves it to the DLQ.
    assert_eq!(f.poller.poll_once().await.unwrap(), None);
    assert_eq!(count(&f.sqs, &f.dlq_url).await.0, 1);
    assert_eq!(count(&f.sqs, &f.queue_url).await, (0, 0));
    assert_eq!(
        f.poller.stats.batch_failures.load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}
