//! The one receive loop of a dry run and a replay: receive a batch from the DLQ, hand the
//! messages this run has not seen to the [`Pass`], and stop when the DLQ is empty, `maxMessages`
//! is reached, the deadline is near or a call fails. Every message the pass kept in the DLQ is
//! made visible again before the loop returns.

use std::time::Duration;

use aws_sdk_sqs::Client;
use shared::Deadline;

use crate::error::QueueError;
use crate::letter::Letter;
use crate::pace::Pacer;
use crate::report::{QueueReport, StopReason};
use crate::sqs::dlq::{DlqSession, Received};
use crate::timing::Timing;

/// Receives that bring back only messages this run already handled end the run: what is left is
/// what this run keeps in the DLQ.
const MAX_IDLE_RECEIVES: usize = 3;

/// What a dry run or a replay does with the messages the loop receives.
pub(crate) trait Pass {
    /// What counts against `maxMessages` so far: messages inspected (dry run) or moved (replay).
    fn counted(&self, report: &QueueReport) -> u64;

    /// Handles a batch of messages this run has not seen; holds every one that stays in the DLQ.
    /// Returns how many copies went to the source (the pace counts them); an error is a call
    /// that failed as a whole, and ends the run.
    async fn take(
        &mut self,
        letters: Vec<Letter>,
        dlq: &mut DlqSession<'_>,
        report: &mut QueueReport,
    ) -> Result<usize, QueueError>;
}

/// One DLQ's loop, with the limits of the request.
pub(crate) struct ReceiveLoop<'a> {
    pub sqs: &'a Client,
    pub dlq_url: &'a str,
    pub timing: &'a Timing,
    pub deadline: Deadline,
    pub max_messages: Option<u32>,
    /// Average sends per second (`maxPerSecond`); `None`: no pacing (and a dry run sends nothing).
    pub max_per_second: Option<u32>,
}

impl ReceiveLoop<'_> {
    /// Runs `pass` until a stop reason, which it also records in `report`.
    pub(crate) async fn run(&self, pass: &mut impl Pass, report: &mut QueueReport) -> StopReason {
        let mut dlq = DlqSession::new(self.sqs, self.dlq_url, self.timing);
        let stopped_by = self.receive_until_stopped(pass, &mut dlq, report).await;
        for problem in dlq.release().await {
            report.note_failure(problem);
        }
        report.stopped_by = Some(stopped_by);
        stopped_by
    }

    async fn receive_until_stopped(
        &self,
        pass: &mut impl Pass,
        dlq: &mut DlqSession<'_>,
        report: &mut QueueReport,
    ) -> StopReason {
        let mut pacer = Pacer::new(self.max_per_second);
        let mut idle = 0;
        loop {
            let left = self
                .max_messages
                .map(|max| (max as u64).saturating_sub(pass.counted(report)));
            if left == Some(0) {
                return StopReason::MaxMessages;
            }
            let delay = pacer.delay();
            if !self.timing.time_for_another_batch(deadline_after(self.deadline, delay)) {
                return StopReason::Deadline;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let want = left.map_or(pacer.batch_size(), |left| (left as usize).min(pacer.batch_size()));
            let received = match dlq.receive(want, self.deadline).await {
                Ok(received) => received,
                Err(error) => {
                    report.error(error);
                    return StopReason::Error;
                }
            };
            if received.is_empty() {
                return StopReason::Empty;
            }
            let Received { new, unreadable, .. } = received;
            for error in unreadable {
                report.fail(error);
            }
            if new.is_empty() {
                idle += 1;
                if idle >= MAX_IDLE_RECEIVES {
                    return StopReason::Empty;
                }
                continue;
            }
            idle = 0;
            match pass.take(new, dlq, report).await {
                Ok(sent) => pacer.record(sent),
                Err(error) => {
                    report.error(error);
                    return StopReason::Error;
                }
            }
        }
    }
}

/// The deadline as it will look after waiting `delay`.
fn deadline_after(deadline: Deadline, delay: Duration) -> Deadline {
    match deadline.epoch_ms() {
        Some(ms) => Deadline::at_epoch_ms(ms.saturating_sub(delay.as_millis() as u64)),
        None => Deadline::NONE,
    }
}
