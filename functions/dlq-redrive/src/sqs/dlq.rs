//! The DLQ side of a run: receive with long polling, delete what was sent, and make every message
//! that stays in the DLQ visible again when the run ends.
//!
//! Messages that stay (parked, filtered out, failed, inspected by a dry run) are *held*: hidden
//! until [`DlqSession::release`], so one run does not receive them twice. A run that crashes
//! leaves them hidden until the visibility timeout passes; nothing is lost either way.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use shared::Deadline;

use super::{MAX_BATCH, refusal};
use crate::error::{EntryFailure, EntryRefusal, MessageError, QueueError};
use crate::letter::Letter;
use crate::timing::Timing;

/// One dry run's or replay's dealings with its DLQ: what it has received, and what it holds.
pub(crate) struct DlqSession<'a> {
    sqs: &'a Client,
    queue_url: &'a str,
    timing: &'a Timing,
    /// messageId → its latest receipt handle, for messages to make visible again at the end.
    held: BTreeMap<String, String>,
    seen: HashSet<String>,
}

/// One receive's messages.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Messages this run has not seen before.
    pub new: Vec<Letter>,
    /// Messages this run had already handled (they came back after their visibility timeout or,
    /// on a standard queue, as a second delivery); held again, not counted again.
    pub repeated: usize,
    /// Messages that cannot be handled (no messageId or receipt handle).
    pub unreadable: Vec<MessageError>,
}

impl Received {
    pub(crate) fn is_empty(&self) -> bool {
        self.new.is_empty() && self.repeated == 0 && self.unreadable.is_empty()
    }
}

impl<'a> DlqSession<'a> {
    pub(crate) fn new(sqs: &'a Client, queue_url: &'a str, timing: &'a Timing) -> Self {
        Self {
            sqs,
            queue_url,
            timing,
            held: BTreeMap::new(),
            seen: HashSet::new(),
        }
    }

    /// Receives up to `max` (≤ 10) messages, hidden long enough to cover the rest of the run.
    pub(crate) async fn receive(&mut self, max: usize, deadline: Deadline) -> Result<Received, QueueError> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(self.queue_url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .wait_time_seconds(self.timing.wait_time_seconds())
            .visibility_timeout(self.timing.visibility_timeout_seconds(deadline))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| QueueError::sdk("ReceiveMessage", self.queue_url, e))?;
        let mut received = Received::default();
        for message in output.messages.unwrap_or_default() {
            match letter_of(message) {
                Err(reason) => received.unreadable.push(reason),
                Ok(letter) if !self.seen.insert(letter.message_id.clone()) => {
                    if self.held.contains_key(&letter.message_id) {
                        self.hold(&letter);
                    }
                    received.repeated += 1;
                }
                Ok(letter) => received.new.push(letter),
            }
        }
        Ok(received)
    }

    /// Keeps `letter` in the DLQ: it is made visible again by [`DlqSession::release`].
    pub(crate) fn hold(&mut self, letter: &Letter) {
        self.held
            .insert(letter.message_id.clone(), letter.receipt_handle.clone());
    }

    /// Deletes messages whose copies reached the source. Returns the entries SQS refused, by
    /// messageId.
    pub(crate) async fn delete(&self, letters: &[&Letter]) -> Result<Vec<(String, EntryRefusal)>, QueueError> {
        let mut refused = Vec::new();
        for chunk in letters.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, letter)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(&letter.receipt_handle)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let output = self
                .sqs
                .delete_message_batch()
                .queue_url(self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::sdk("DeleteMessageBatch", self.queue_url, e))?;
            for failure in &output.failed {
                refused.push((message_id_of(chunk, &failure.id), refusal(failure)));
            }
        }
        Ok(refused)
    }

    /// Makes every held message visible again now. Returns an error for each one that stays hidden
    /// (until its visibility timeout passes).
    pub(crate) async fn release(&mut self) -> Vec<MessageError> {
        let held: Vec<(String, String)> = std::mem::take(&mut self.held).into_iter().collect();
        let mut problems = Vec::new();
        for chunk in held.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, (_, receipt_handle))| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(receipt_handle)
                        .visibility_timeout(0)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let result = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            let stays_hidden = |id: &str, cause| MessageError::StaysHidden {
                message_id: id.to_owned(),
                cause,
            };
            match result {
                Ok(output) => {
                    for failure in &output.failed {
                        let id = chunk
                            .get(failure.id.parse::<usize>().unwrap_or(usize::MAX))
                            .map_or(failure.id.as_str(), |(id, _)| id.as_str());
                        problems.push(stays_hidden(id, EntryFailure::Refused(refusal(failure))));
                    }
                }
                Err(error) => {
                    let error = Arc::new(QueueError::sdk("ChangeMessageVisibilityBatch", self.queue_url, error));
                    problems.extend(
                        chunk
                            .iter()
                            .map(|(id, _)| stays_hidden(id, EntryFailure::Call(error.clone()))),
                    );
                }
            }
        }
        problems
    }
}

/// `ApproximateNumberOfMessages` and `ApproximateNumberOfMessagesNotVisible` of a queue.
pub async fn depth(sqs: &Client, queue_url: &str) -> Result<(u64, u64), QueueError> {
    let output = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| QueueError::sdk("GetQueueAttributes", queue_url, e))?;
    let attributes = output.attributes.unwrap_or_default();
    let count = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|value| value.parse().ok())
            .unwrap_or_default()
    };
    Ok((
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

fn message_id_of(chunk: &[&Letter], entry_id: &str) -> String {
    entry_id
        .parse::<usize>()
        .ok()
        .and_then(|index| chunk.get(index))
        .map_or_else(
            || format!("(batch entry {entry_id})"),
            |letter| letter.message_id.clone(),
        )
}

/// A received message as redrive reads it. A message without an id or receipt handle cannot be
/// moved: the error names what is missing.
fn letter_of(message: Message) -> Result<Letter, MessageError> {
    let message_id = message
        .message_id
        .filter(|id| !id.is_empty())
        .ok_or(MessageError::NoMessageId)?;
    let receipt_handle = message
        .receipt_handle
        .filter(|handle| !handle.is_empty())
        .ok_or_else(|| MessageError::NoReceiptHandle {
            message_id: message_id.clone(),
        })?;
    let system = message.attributes.unwrap_or_default();
    let letter = Letter {
        group_id: system.get(&MessageSystemAttributeName::MessageGroupId).cloned(),
        sent_at_ms: system
            .get(&MessageSystemAttributeName::SentTimestamp)
            .and_then(|ms| ms.parse().ok()),
        message_id,
        receipt_handle,
        body: message.body.unwrap_or_default(),
        attributes: message.message_attributes.unwrap_or_default(),
        envelope_problem: None,
    };
    Ok(letter.opened())
}
