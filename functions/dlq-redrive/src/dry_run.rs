//! Dry run: receive and tally the DLQ's messages, move nothing, and make every message visible
//! again before returning.
//!
//! Each message gets the verdict a replay of the same request would give it (move, park, skip or
//! fail: [`decide`]), so the operator can run the dry run, read it, and flip `dryRun` to false.
//! FIFO hold-backs (a message behind one that stays) are not predicted.

use std::time::SystemTime;

use shared::attributes;
use shared::redact::mask_emails_in;

use crate::decision::{Decision, decide};
use crate::error::QueueError;
use crate::filter::Filter;
use crate::letter::Letter;
use crate::receive_loop::{Pass, ReceiveLoop};
use crate::report::{Inspection, QueueReport, SampleMessage, Verdict};
use crate::sqs::dlq::DlqSession;

/// Messages listed in a dry run's sample.
const MAX_SAMPLED: usize = 10;
/// Characters of body (and error message) shown per sampled message.
const PREVIEW_CHARS: usize = 200;

pub(crate) struct DryRun<'a> {
    filter: &'a Filter,
    max_redrive_count: u32,
    fifo: bool,
    inspection: Inspection,
}

impl<'a> DryRun<'a> {
    /// A dry run of a replay with `filter` and `max_redrive_count` on a FIFO (`fifo`) or standard DLQ.
    pub(crate) fn new(filter: &'a Filter, max_redrive_count: u32, fifo: bool) -> Self {
        Self {
            filter,
            max_redrive_count,
            fifo,
            inspection: Inspection::default(),
        }
    }

    /// Inspects the DLQ `receive_loop` reads; fills `report`'s inspection and stop reason.
    pub(crate) async fn run(mut self, receive_loop: &ReceiveLoop<'_>, report: &mut QueueReport) {
        receive_loop.run(&mut self, report).await;
        let inspection = self.inspection;
        tracing::info!(queue = %report.queue, inspected = inspection.inspected,
            would_move = inspection.would_move, would_park = inspection.would_park, "dry run finished");
        report.inspection = Some(inspection);
    }

    fn tally(&mut self, letter: &Letter, now: SystemTime) {
        let verdict = self.verdict(letter);
        let inspection = &mut self.inspection;
        inspection.inspected += 1;
        match verdict {
            Verdict::Move => inspection.would_move += 1,
            Verdict::Park => inspection.would_park += 1,
            Verdict::Skip => inspection.would_skip += 1,
            Verdict::Fail => inspection.would_fail += 1,
        }
        *inspection
            .by_error_kind
            .entry(mask_emails_in(letter.error_kind()).into_owned())
            .or_default() += 1;
        let age = letter.age_at(now);
        inspection.by_age.add(age);
        if let Some(age) = age {
            let seconds = age.as_secs();
            inspection.oldest_age_seconds = Some(inspection.oldest_age_seconds.map_or(seconds, |o| o.max(seconds)));
        }
        if inspection.sample.len() < MAX_SAMPLED {
            // A report is read by people and kept in consoles: every text from the message is
            // masked before it is cut (the body is the producer's, addresses and all).
            let masked = |text: &str| mask_emails_in(text).into_owned();
            inspection.sample.push(SampleMessage {
                message_id: letter.message_id.clone(),
                original_message_id: letter.original_message_id().to_owned(),
                error_kind: masked(letter.error_kind()),
                error_message: letter
                    .string_attribute(attributes::ERROR_MESSAGE)
                    .map(|message| preview(&masked(message), PREVIEW_CHARS)),
                age_seconds: age.map(|age| age.as_secs()),
                redrive_count: letter.string_attribute(attributes::REDRIVE_COUNT).map(masked),
                group_id: letter.group_id.as_deref().map(masked),
                body: preview(&masked(&letter.body), PREVIEW_CHARS),
                verdict,
            });
        }
    }

    fn verdict(&self, letter: &Letter) -> Verdict {
        match decide(letter, self.filter, self.max_redrive_count, self.fifo) {
            Decision::Send(_) => Verdict::Move,
            Decision::Skip => Verdict::Skip,
            Decision::Park => Verdict::Park,
            Decision::Fail(_) => Verdict::Fail,
        }
    }
}

impl Pass for DryRun<'_> {
    fn counted(&self, _report: &QueueReport) -> u64 {
        self.inspection.inspected
    }

    async fn take(
        &mut self,
        letters: Vec<Letter>,
        dlq: &mut DlqSession<'_>,
        _report: &mut QueueReport,
    ) -> Result<usize, QueueError> {
        let now = SystemTime::now();
        for letter in letters {
            self.tally(&letter, now);
            dlq.hold(&letter);
        }
        Ok(0)
    }
}

/// The first `max` characters of `text` (not bytes: never splits a character).
fn preview(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_cut_at_characters() {
        assert_eq!(preview("héllo", 2), "hé…");
        assert_eq!(preview("short", 200), "short");
    }
}
