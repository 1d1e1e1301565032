//! Sending copies to the source queue with SendMessageBatch.

use std::sync::Arc;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::{MAX_BATCH, refusal};
use crate::copy::LetterCopy;
use crate::error::{MessageError, QueueError};

/// SendMessageBatch's payload limit. SQS now accepts 1 MiB, but a queue may still be set to
/// 256 KiB; batching under the smaller limit is always accepted and costs only extra calls.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The outcome of sending some copies: one result per copy, in order, and the error of the call
/// that failed as a whole, if any (copies after it were not attempted).
#[derive(Debug)]
pub(crate) struct Sent {
    pub results: Vec<Result<(), MessageError>>,
    pub call_error: Option<QueueError>,
}

/// Sends `copies` (each with the DLQ messageId it came from, for error messages).
pub(crate) async fn send(sqs: &Client, queue_url: &str, copies: &[(&str, &LetterCopy)]) -> Sent {
    let mut results: Vec<Result<(), MessageError>> = Vec::with_capacity(copies.len());
    let mut start = 0;
    while start < copies.len() {
        let end = chunk_end(copies, start);
        let chunk = &copies[start..end];
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(index, (_, copy))| entry(copy, index.to_string()))
            .collect();
        let output = match sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let error = QueueError::sdk("SendMessageBatch", queue_url, error);
                let shared = Arc::new(error.clone());
                for (message_id, _) in &copies[start..] {
                    results.push(Err(MessageError::SendFailed {
                        message_id: (*message_id).to_owned(),
                        error: shared.clone(),
                    }));
                }
                return Sent {
                    results,
                    call_error: Some(error),
                };
            }
        };
        results.extend(entry_results(&output, chunk, queue_url));
        start = end;
    }
    Sent {
        results,
        call_error: None,
    }
}

/// One result per copy of `chunk`, from SendMessageBatch's answer. An entry SQS reports neither
/// way is treated as not sent: it stays in the DLQ.
fn entry_results(
    output: &SendMessageBatchOutput,
    chunk: &[(&str, &LetterCopy)],
    queue_url: &str,
) -> Vec<Result<(), MessageError>> {
    let mut results: Vec<Result<(), MessageError>> = chunk
        .iter()
        .map(|(message_id, _)| {
            Err(MessageError::SendUnreported {
                message_id: (*message_id).to_owned(),
                queue_url: queue_url.to_owned(),
            })
        })
        .collect();
    for success in &output.successful {
        if let Some(slot) = entry_index(&success.id).and_then(|i| results.get_mut(i)) {
            *slot = Ok(());
        }
    }
    for failure in &output.failed {
        if let Some(index) = entry_index(&failure.id).filter(|i| *i < chunk.len()) {
            results[index] = Err(MessageError::SendRefused {
                message_id: chunk[index].0.to_owned(),
                queue_url: queue_url.to_owned(),
                refusal: refusal(failure),
            });
        }
    }
    results
}

fn entry(copy: &LetterCopy, id: String) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(&copy.body)
        .set_message_attributes(Some(copy.attributes.clone()))
        .set_message_group_id(copy.group_id.clone())
        .set_message_deduplication_id(copy.deduplication_id.clone())
        .build()
        .expect("id and body are set")
}

/// Bytes a copy adds to a SendMessageBatch request, as SQS counts its size limit.
fn size(copy: &LetterCopy) -> usize {
    copy.body.len()
        + copy
            .attributes
            .iter()
            .map(|(name, value)| {
                name.len()
                    + value.data_type().len()
                    + value.string_value().map_or(0, str::len)
                    + value.binary_value().map_or(0, |b| b.as_ref().len())
            })
            .sum::<usize>()
}

/// The end of the batch starting at `start`: at most 10 entries and [`MAX_BATCH_BYTES`], but
/// always at least one entry (a single oversized message gets its own call and its own error).
fn chunk_end(copies: &[(&str, &LetterCopy)], start: usize) -> usize {
    let mut bytes = 0;
    let mut end = start;
    while end < copies.len() && end - start < MAX_BATCH {
        bytes += size(copies[end].1);
        if bytes > MAX_BATCH_BYTES && end > start {
            break;
        }
        end += 1;
    }
    end
}

fn entry_index(id: &str) -> Option<usize> {
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn copy(bytes: usize) -> LetterCopy {
        LetterCopy {
            body: "x".repeat(bytes),
            attributes: HashMap::new(),
            group_id: None,
            deduplication_id: None,
            enveloped: false,
        }
    }

    #[test]
    fn batches_stay_under_ten_entries_and_the_size_limit() {
        let small: Vec<LetterCopy> = (0..25).map(|_| copy(10)).collect();
        let refs: Vec<(&str, &LetterCopy)> = small.iter().map(|c| ("m", c)).collect();
        assert_eq!(chunk_end(&refs, 0), 10);
        assert_eq!(chunk_end(&refs, 20), 25);
        let big: Vec<LetterCopy> = (0..4).map(|_| copy(100 * 1024)).collect();
        let refs: Vec<(&str, &LetterCopy)> = big.iter().map(|c| ("m", c)).collect();
        assert_eq!(chunk_end(&refs, 0), 2);
        let huge = [copy(300 * 1024), copy(10)];
        let refs: Vec<(&str, &LetterCopy)> = huge.iter().map(|c| ("m", c)).collect();
        assert_eq!(chunk_end(&refs, 0), 1, "an oversized message goes alone");
    }
}
