//! What a run reads from the emulator's queues itself (directly, not through the proxy): how
//! many messages each holds, and every dead letter with its attributes.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry};

/// A queue's counters (`ApproximateNumberOf…`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Depth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl Depth {
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

fn text<E: std::error::Error>(operation: &str, resource: &str, error: E) -> String {
    format!(
        "{operation} of {resource}: {}",
        aws_sdk_sqs::error::DisplayErrorContext(error)
    )
}

pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Depth, String> {
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| text("GetQueueAttributes", url, e))?;
    let count = |name: QueueAttributeName| {
        output
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok(Depth {
        visible: count(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

/// Send `bodies` (at most ten) in one SendMessageBatch; an entry that fails fails the batch.
pub async fn send_batch(sqs: &aws_sdk_sqs::Client, url: &str, bodies: &[&str]) -> Result<usize, String> {
    let entries = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(*body)
                .build()
                .expect("id and body are set")
        })
        .collect();
    let output = sqs
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| text("SendMessageBatch", url, e))?;
    if !output.failed().is_empty() {
        return Err(format!(
            "SendMessageBatch to {url}: entries failed: {:?}",
            output.failed()
        ));
    }
    Ok(output.successful().len())
}

/// One message of a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    /// Its String message attributes (`error-kind`, `original-message-id`, …).
    pub attributes: BTreeMap<String, String>,
    pub receive_count: Option<u32>,
}

/// Every message of a queue, each once: received with a long visibility timeout, so each stays
/// hidden for the rest of the run once read (read the counters first).
pub async fn dead_letters(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<DeadLetter>, String> {
    let mut letters: Vec<DeadLetter> = Vec::new();
    let mut empty_receives = 0;
    while empty_receives < 2 {
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .wait_time_seconds(0)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| text("ReceiveMessage", url, e))?;
        let messages = output.messages();
        if messages.is_empty() {
            empty_receives += 1;
            continue;
        }
        for message in messages {
            let message_id = message.message_id().unwrap_or_default().to_owned();
            if letters.iter().any(|l| l.message_id == message_id) {
                continue;
            }
            letters.push(DeadLetter {
                message_id,
                body: message.body().unwrap_or_default().to_owned(),
                attributes: message
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .filter_map(|(name, value)| Some((name.clone(), value.string_value()?.to_owned())))
                    .collect(),
                receive_count: message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok()),
            });
        }
    }
    Ok(letters)
}
