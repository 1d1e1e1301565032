//! Dry run: receive and tally the DLQ's messages, move nothing, and make every message visible
//! again before returning.
//!
//! Each message gets the verdict a replay of the same request would give it (move, park, skip or
//! fail), so the operator can run the dry run, read it, and flip `dryRun` to false. FIFO
//! hold-backs (a message behind one that stays) are not predicted.

use std::time::SystemTime;

use aws_sdk_sqs::Client;
use shared::redact::mask_emails_in;
use shared::{Deadline, attributes};

use crate::config::Route;
use crate::dlq::DlqSession;
use crate::letter::Letter;
use crate::replay::{Decision, decide};
use crate::report::{Inspection, QueueReport, SampleMessage, StopReason, Verdict, preview};
use crate::request::ReplayPlan;
use crate::settings::Settings;

/// Characters of body (and error message) shown per sampled message.
const PREVIEW_CHARS: usize = 200;
const MAX_IDLE_RECEIVES: usize = 3;

pub struct Inspect<'a> {
    pub sqs: &'a Client,
    pub route: &'a Route,
    pub plan: &'a ReplayPlan,
    pub max_redrive_count: u32,
    pub settings: &'a Settings,
    pub deadline: Deadline,
}

impl Inspect<'_> {
    pub async fn run(&self, report: &mut QueueReport) {
        let mut dlq = DlqSession::new(self.sqs, &self.route.dlq_url, self.settings);
        let mut inspection = Inspection::default();
        let mut idle = 0;
        let stopped_by = loop {
            let left = self
                .plan
                .max_messages
                .map(|max| (max as u64).saturating_sub(inspection.inspected));
            if left == Some(0) {
                break StopReason::MaxMessages;
            }
            if !self.settings.time_for_another_batch(self.deadline) {
                break StopReason::Deadline;
            }
            let want = left.map_or(10, |left| left.min(10) as usize);
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
            for reason in received.unreadable {
                report.fail(reason);
            }
            if received.new.is_empty() {
                idle += 1;
                if idle >= MAX_IDLE_RECEIVES {
                    break StopReason::Empty;
                }
                continue;
            }
            idle = 0;
            let now = SystemTime::now();
            for letter in received.new {
                self.tally(&letter, now, &mut inspection);
                dlq.hold(&letter);
            }
        };
        for problem in dlq.release().await {
            report.note_failure(problem);
        }
        report.stopped_by = Some(stopped_by);
        tracing::info!(queue = %self.route.name, inspected = inspection.inspected,
            would_move = inspection.would_move, would_park = inspection.would_park, "dry run finished");
        report.inspection = Some(inspection);
    }

    fn tally(&self, letter: &Letter, now: SystemTime, inspection: &mut Inspection) {
        let verdict = self.verdict(letter);
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
        if inspection.sample.len() < self.settings.sample_size {
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
        match decide(letter, &self.plan.filter, self.max_redrive_count, self.route.is_fifo()) {
            Decision::Send(_) => Verdict::Move,
            Decision::Skip => Verdict::Skip,
            Decision::Park => Verdict::Park,
            Decision::Fail(_) => Verdict::Fail,
        }
    }
}
