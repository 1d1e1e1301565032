//! Replay: receive from the DLQ, send copies to the source, delete only what was sent.
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

use aws_sdk_sqs::Client;
use shared::Deadline;

use crate::config::Route;
use crate::dlq::{DlqSession, Received};
use crate::error::QueueError;
use crate::filter::Filter;
use crate::letter::Letter;
use crate::pace::Pacer;
use crate::redriven::Redriven;
use crate::report::{QueueReport, StopReason};
use crate::request::ReplayPlan;
use crate::settings::Settings;
use crate::source;

/// Receives that bring back only messages this run already handled end the run: what is left is
/// what this run keeps in the DLQ.
const MAX_IDLE_RECEIVES: usize = 3;

pub struct Replay<'a> {
    pub sqs: &'a Client,
    pub route: &'a Route,
    pub plan: &'a ReplayPlan,
    pub max_redrive_count: u32,
    pub settings: &'a Settings,
    pub deadline: Deadline,
}

/// What replay does with one message, before sending. A dry run shows the same decisions.
pub enum Decision {
    Send(Redriven),
    /// Does not match the filter.
    Skip,
    /// `redrive-count` has reached the limit.
    Park,
    Fail(String),
}

/// The checks, in order: filter, redrive count, limit, whether SQS would accept the copy.
pub fn decide(letter: &Letter, filter: &Filter, max_redrive_count: u32, fifo: bool) -> Decision {
    if !filter.matches(letter) {
        return Decision::Skip;
    }
    let count = match letter.redrive_count() {
        Ok(count) => count,
        Err(reason) => return Decision::Fail(reason),
    };
    if count >= max_redrive_count {
        return Decision::Park;
    }
    match Redriven::of(letter, count + 1, fifo) {
        Ok(copy) => Decision::Send(copy),
        Err(reason) => Decision::Fail(reason),
    }
}

impl Replay<'_> {
    /// Runs the replay and fills `report`'s counts, failures and stop reason.
    pub async fn run(&self, report: &mut QueueReport) {
        let mut dlq = DlqSession::new(self.sqs, &self.route.dlq_url, self.settings);
        let mut pacer = Pacer::new(self.plan.max_per_second);
        let mut blocked_groups = HashSet::new();
        let mut idle = 0;
        let stopped_by = loop {
            let left = self
                .plan
                .max_messages
                .map(|max| (max as u64).saturating_sub(report.moved));
            if left == Some(0) {
                break StopReason::MaxMessages;
            }
            let delay = pacer.delay();
            if !self
                .settings
                .time_for_another_batch(deadline_after(self.deadline, delay))
            {
                break StopReason::Deadline;
            }
            tokio::time::sleep(delay).await;
            let want = left.map_or(pacer.batch_size(), |left| (left as usize).min(pacer.batch_size()));
            let received = match dlq.receive(want, self.deadline).await {
                Ok(received) => received,
                Err(error) => {
                    report.error(error);
                    break StopReason::Error;
                }
            };
            if received.is_empty() {
                break StopReason::Empty;
            }
            let Received { new, unreadable, .. } = received;
            for reason in unreadable {
                report.fail(reason);
            }
            if new.is_empty() {
                idle += 1;
                if idle >= MAX_IDLE_RECEIVES {
                    break StopReason::Empty;
                }
                continue;
            }
            idle = 0;
            match self.replay_batch(new, &mut dlq, &mut blocked_groups, report).await {
                Ok(sent) => pacer.record(sent),
                Err(error) => {
                    report.error(error);
                    break StopReason::Error;
                }
            }
        };
        for problem in dlq.release().await {
            report.note_failure(problem);
        }
        report.stopped_by = Some(stopped_by);
        tracing::info!(queue = %self.route.name, moved = report.moved, parked = report.parked,
            failed = report.failed, skipped = report.skipped, held_back = report.held_back,
            not_deleted = report.not_deleted, stopped_by = ?stopped_by, "replay finished");
    }

    /// Decides, sends and deletes one received batch. Returns how many copies were sent; an
    /// error means a call failed as a whole and the run should stop.
    async fn replay_batch(
        &self,
        letters: Vec<Letter>,
        dlq: &mut DlqSession<'_>,
        blocked_groups: &mut HashSet<String>,
        report: &mut QueueReport,
    ) -> Result<usize, QueueError> {
        let fifo = self.route.is_fifo();
        let fifo_group = |letter: &Letter| letter.group_id.clone().filter(|_| fifo);
        let mut to_send: Vec<(Letter, Redriven)> = Vec::new();
        for letter in letters {
            let group = fifo_group(&letter);
            if group.as_ref().is_some_and(|g| blocked_groups.contains(g)) {
                report.held_back += 1;
                dlq.hold(&letter);
                continue;
            }
            match decide(&letter, &self.plan.filter, self.max_redrive_count, fifo) {
                Decision::Send(copy) => {
                    to_send.push((letter, copy));
                    continue;
                }
                Decision::Skip => report.skipped += 1,
                Decision::Park => report.park(&letter.message_id),
                Decision::Fail(reason) => report.fail(reason),
            }
            dlq.hold(&letter);
            blocked_groups.extend(group);
        }

        // Everything in `to_send` precedes, in its group, any message held above; only a refused
        // send blocks the group's later rounds.
        let rounds = if fifo { rounds_by_group(to_send) } else { vec![to_send] };
        let mut refused_groups = HashSet::new();
        let mut sent: Vec<Letter> = Vec::new();
        let mut call_error = None;
        for round in rounds {
            let mut sendable = Vec::new();
            for (letter, copy) in round {
                if fifo_group(&letter).is_some_and(|g| refused_groups.contains(&g)) {
                    report.held_back += 1;
                    dlq.hold(&letter);
                } else if call_error.is_some() {
                    report.fail(format!(
                        "message {}: not sent because an earlier SendMessageBatch call failed; left in the DLQ",
                        letter.message_id
                    ));
                    dlq.hold(&letter);
                } else {
                    sendable.push((letter, copy));
                }
            }
            if sendable.is_empty() {
                continue;
            }
            let copies: Vec<(&str, &Redriven)> = sendable
                .iter()
                .map(|(letter, copy)| (letter.message_id.as_str(), copy))
                .collect();
            let outcome = source::send(self.sqs, &self.route.source_url, &copies).await;
            for ((letter, _), result) in sendable.into_iter().zip(outcome.results) {
                match result {
                    Ok(()) => sent.push(letter),
                    Err(reason) => {
                        report.fail(reason);
                        dlq.hold(&letter);
                        refused_groups.extend(fifo_group(&letter));
                    }
                }
            }
            call_error = call_error.or(outcome.call_error);
        }
        blocked_groups.extend(refused_groups);

        report.moved += sent.len() as u64;
        if !sent.is_empty() {
            let sent_refs: Vec<&Letter> = sent.iter().collect();
            match dlq.delete(&sent_refs).await {
                Ok(refused) => {
                    for (message_id, why) in refused {
                        report.not_deleted += 1;
                        report.note_failure(self.not_deleted(&message_id, &why));
                    }
                }
                Err(error) => {
                    report.not_deleted += sent.len() as u64;
                    for letter in &sent {
                        report.note_failure(self.not_deleted(&letter.message_id, &error.to_string()));
                    }
                    return Err(error);
                }
            }
        }
        match call_error {
            Some(error) => Err(error),
            None => Ok(sent.len()),
        }
    }

    fn not_deleted(&self, message_id: &str, why: &str) -> String {
        format!(
            "message {message_id}: sent to {} but not deleted from the DLQ ({why}); it comes back after its \
             visibility timeout and a later run sends it again with the same original-message-id, which workers \
             recognise as a duplicate",
            self.route.source_url
        )
    }
}

/// Splits FIFO copies into rounds: round i holds the i-th message of every group, in DLQ order.
fn rounds_by_group(copies: Vec<(Letter, Redriven)>) -> Vec<Vec<(Letter, Redriven)>> {
    let mut position: HashMap<Option<String>, usize> = HashMap::new();
    let mut rounds: Vec<Vec<(Letter, Redriven)>> = Vec::new();
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

/// The deadline as it will look after waiting `delay`.
fn deadline_after(deadline: Deadline, delay: std::time::Duration) -> Deadline {
    match deadline.epoch_ms() {
        Some(ms) => Deadline::at_epoch_ms(ms.saturating_sub(delay.as_millis() as u64)),
        None => Deadline::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(id: &str, group: &str) -> (Letter, Redriven) {
        let letter = Letter {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: id.into(),
            attributes: HashMap::new(),
            group_id: Some(group.into()),
            sent_at_ms: None,
            envelope_problem: None,
        };
        let copy = Redriven::of(&letter, 1, true).unwrap();
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
