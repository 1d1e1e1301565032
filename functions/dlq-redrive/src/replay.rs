//! Replay: send copies of the DLQ's messages to the source, delete only what was sent.
//!
//! Safety order per batch: receive (hidden for the rest of the run) → send → delete exactly the
//! messages whose send succeeded. A crash after the send and before the delete leaves the DLQ
//! message to come back after its visibility timeout; the next run sends it again with the same
//! `original-message-id` (and, on FIFO, the same deduplication id), so it can be duplicated,
//! never lost. Messages that stay (parked, filtered out, failed) are made visible again at the end.
//!
//! FIFO: copies of one message group go out in DLQ order, one per SendMessageBatch call per group,
//! so a refused entry can never be overtaken by a later message of its group; once a message of
//! a group stays in the DLQ, the rest of that group stays behind it (`heldBack`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aws_sdk_sqs::Client;

use crate::config::Route;
use crate::copy::LetterCopy;
use crate::decision::{Decision, decide};
use crate::error::{EntryFailure, MessageError, QueueError};
use crate::filter::Filter;
use crate::letter::Letter;
use crate::receive_loop::{Pass, ReceiveLoop};
use crate::report::QueueReport;
use crate::sqs::dlq::DlqSession;
use crate::sqs::source;

pub(crate) struct Replay<'a> {
    sqs: &'a Client,
    route: &'a Route,
    filter: &'a Filter,
    max_redrive_count: u32,
    /// FIFO groups with a message that stays in the DLQ: their later messages stay behind it.
    blocked_groups: HashSet<String>,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(sqs: &'a Client, route: &'a Route, filter: &'a Filter, max_redrive_count: u32) -> Self {
        Self {
            sqs,
            route,
            filter,
            max_redrive_count,
            blocked_groups: HashSet::new(),
        }
    }

    /// Replays the DLQ `receive_loop` reads; fills `report`'s counts, failures and stop reason.
    pub(crate) async fn run(mut self, receive_loop: &ReceiveLoop<'_>, report: &mut QueueReport) {
        let stopped_by = receive_loop.run(&mut self, report).await;
        tracing::info!(queue = %self.route.name, moved = report.moved, parked = report.parked,
            failed = report.failed, skipped = report.skipped, held_back = report.held_back,
            not_deleted = report.not_deleted, stopped_by = ?stopped_by, "replay finished");
    }

    /// The message group that orders `letter`: FIFO sources only.
    fn fifo_group(&self, letter: &Letter) -> Option<String> {
        letter.group_id.clone().filter(|_| self.route.is_fifo())
    }

    /// Decides each letter of a batch. Those that stay in the DLQ are held and counted (and block
    /// their FIFO group); the rest are returned with their copies, in DLQ order.
    fn sort(
        &mut self,
        letters: Vec<Letter>,
        dlq: &mut DlqSession<'_>,
        report: &mut QueueReport,
    ) -> Vec<(Letter, LetterCopy)> {
        let mut to_send = Vec::new();
        for letter in letters {
            let group = self.fifo_group(&letter);
            if group.as_ref().is_some_and(|g| self.blocked_groups.contains(g)) {
                report.held_back += 1;
                dlq.hold(&letter);
                continue;
            }
            match decide(&letter, self.filter, self.max_redrive_count, self.route.is_fifo()) {
                Decision::Send(copy) => {
                    to_send.push((letter, copy));
                    continue;
                }
                Decision::Skip => report.skipped += 1,
                Decision::Park => report.park(&letter.message_id),
                Decision::Fail(error) => report.fail(error),
            }
            dlq.hold(&letter);
            self.blocked_groups.extend(group);
        }
        to_send
    }

    /// Sends the copies: FIFO in rounds, one message per group per call, so a refused entry
    /// holds back the rest of its group. Returns the letters whose copy reached the source, and
    /// the error of a call that failed as a whole (nothing after it was sent).
    async fn send(
        &mut self,
        to_send: Vec<(Letter, LetterCopy)>,
        dlq: &mut DlqSession<'_>,
        report: &mut QueueReport,
    ) -> (Vec<Letter>, Option<QueueError>) {
        // Everything in `to_send` precedes, in its group, any message held by `sort`; only a
        // refused send blocks the group's later rounds.
        let rounds = if self.route.is_fifo() {
            rounds_by_group(to_send)
        } else {
            vec![to_send]
        };
        let mut refused_groups = HashSet::new();
        let mut sent = Vec::new();
        let mut call_error = None;
        for round in rounds {
            let mut sendable = Vec::new();
            for (letter, copy) in round {
                if self.fifo_group(&letter).is_some_and(|g| refused_groups.contains(&g)) {
                    report.held_back += 1;
                    dlq.hold(&letter);
                } else if call_error.is_some() {
                    report.fail(MessageError::NotAttempted {
                        message_id: letter.message_id.clone(),
                    });
                    dlq.hold(&letter);
                } else {
                    sendable.push((letter, copy));
                }
            }
            if sendable.is_empty() {
                continue;
            }
            let copies: Vec<(&str, &LetterCopy)> = sendable
                .iter()
                .map(|(letter, copy)| (letter.message_id.as_str(), copy))
                .collect();
            let outcome = source::send(self.sqs, &self.route.source_url, &copies).await;
            for ((letter, _), result) in sendable.into_iter().zip(outcome.results) {
                match result {
                    Ok(()) => sent.push(letter),
                    Err(error) => {
                        report.fail(error);
                        dlq.hold(&letter);
                        refused_groups.extend(self.fifo_group(&letter));
                    }
                }
            }
            call_error = call_error.or(outcome.call_error);
        }
        self.blocked_groups.extend(refused_groups);
        (sent, call_error)
    }

    /// Deletes the letters whose copies reached the source. A copy whose delete is refused, or
    /// whose delete call fails, is counted `notDeleted`; a failed call is also returned.
    async fn delete_sent(
        &self,
        sent: &[Letter],
        dlq: &DlqSession<'_>,
        report: &mut QueueReport,
    ) -> Result<(), QueueError> {
        let not_deleted = |message_id: &str, cause| MessageError::NotDeleted {
            message_id: message_id.to_owned(),
            source_url: self.route.source_url.clone(),
            cause,
        };
        let sent_refs: Vec<&Letter> = sent.iter().collect();
        match dlq.delete(&sent_refs).await {
            Ok(refused) => {
                for (message_id, refusal) in refused {
                    report.not_deleted += 1;
                    report.note_failure(not_deleted(&message_id, EntryFailure::Refused(refusal)));
                }
                Ok(())
            }
            Err(error) => {
                report.not_deleted += sent.len() as u64;
                let shared = Arc::new(error.clone());
                for letter in sent {
                    report.note_failure(not_deleted(&letter.message_id, EntryFailure::Call(shared.clone())));
                }
                Err(error)
            }
        }
    }
}

impl Pass for Replay<'_> {
    fn counted(&self, report: &QueueReport) -> u64 {
        report.moved
    }

    /// Decides, sends and deletes one batch.
    async fn take(
        &mut self,
        letters: Vec<Letter>,
        dlq: &mut DlqSession<'_>,
        report: &mut QueueReport,
    ) -> Result<usize, QueueError> {
        let to_send = self.sort(letters, dlq, report);
        let (sent, call_error) = self.send(to_send, dlq, report).await;
        report.moved += sent.len() as u64;
        if !sent.is_empty() {
            self.delete_sent(&sent, dlq, report).await?;
        }
        match call_error {
            Some(error) => Err(error),
            None => Ok(sent.len()),
        }
    }
}

/// Splits FIFO copies into rounds: round i holds the i-th message of every group, in DLQ order.
fn rounds_by_group(copies: Vec<(Letter, LetterCopy)>) -> Vec<Vec<(Letter, LetterCopy)>> {
    let mut position: HashMap<Option<String>, usize> = HashMap::new();
    let mut rounds: Vec<Vec<(Letter, LetterCopy)>> = Vec::new();
    for (letter, copy) in copies {
        let slot = position.entry(letter.group_id.clone()).or_default();
        if rounds.len() <= *slot {
            rounds.push(Vec::new());
        }
        rounds[*slot].push((letter, copy));
        *slot += 1;
    }
    rounds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(id: &str, group: &str) -> (Letter, LetterCopy) {
        let letter = Letter {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: id.into(),
            attributes: HashMap::new(),
            group_id: Some(group.into()),
            sent_at_ms: None,
            envelope_problem: None,
        };
        let copy = LetterCopy::of(&letter, 1, true).unwrap();
        (letter, copy)
    }

    #[test]
    fn rounds_keep_each_groups_order_with_one_message_per_group() {
        let batch = vec![
            letter("a1", "a"),
            letter("a2", "a"),
            letter("b1", "b"),
            letter("a3", "a"),
            letter("b2", "b"),
            letter("c1", "c"),
        ];
        let rounds: Vec<Vec<String>> = rounds_by_group(batch)
            .into_iter()
            .map(|round| round.into_iter().map(|(l, _)| l.message_id).collect())
            .collect();
        assert_eq!(rounds, [vec!["a1", "b1", "c1"], vec!["a2", "b2"], vec!["a3"]]);
    }
}
