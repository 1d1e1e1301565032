//! SQS helpers more than one crate's tests need.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sqs::error::BoxError;
use aws_sdk_sqs::operation::delete_message_batch::DeleteMessageBatchInput;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};

/// A client whose DeleteMessageBatch calls fail before reaching SQS: a run "crashes" after its
/// sends succeeded and before anything is deleted. Counts the calls it stopped.
pub fn client_failing_deletes(sdk: &SdkConfig) -> (Client, Arc<AtomicUsize>) {
    let stopped = Arc::new(AtomicUsize::new(0));
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .interceptor(FailDeletes(stopped.clone()))
        .build();
    (Client::from_conf(config), stopped)
}

#[derive(Debug)]
struct FailDeletes(Arc<AtomicUsize>);

impl Intercept for FailDeletes {
    fn name(&self) -> &'static str {
        "FailDeletes"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context.input().downcast_ref::<DeleteMessageBatchInput>().is_some() {
            self.0.fetch_add(1, Ordering::SeqCst);
            return Err("injected crash between SendMessageBatch and DeleteMessageBatch".into());
        }
        Ok(())
    }
}

/// The queue's ARN.
pub async fn queue_arn(sqs: &Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue ARN")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("QueueArn")
}

/// Every message on the queue, each once, with its system and message attributes, in the order
/// received; each is deleted (which lets a FIFO group's next message through).
pub async fn drain(sqs: &Client, queue_url: &str) -> Vec<Message> {
    let mut all = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(300)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for message in &messages {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().expect("a receipt handle"))
                .send()
                .await
                .expect("delete");
        }
        all.extend(messages);
    }
}
