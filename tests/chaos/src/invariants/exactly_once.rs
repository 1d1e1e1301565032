//! Exactly one push and one email per notification (8.); a repeat is excused only by a lost
//! answer of that send or a kill of its sender between the send and its record.

use super::matching::{Channel, ExpectedNotification, SendCounts};
use super::{Check, Outcomes};
use crate::ledger::{TimedSend, Timeline};

pub(super) fn check(
    expected: &[ExpectedNotification],
    counts: &SendCounts<'_, '_>,
    timeline: &Timeline,
    outcomes: &mut Outcomes,
) -> Check {
    let mut exactly_once = Check::new(
        "one-push-and-one-email-per-notification",
        "every notification the outcomes call for is pushed once and emailed once, with the right \
         sender, recipient and content, and nothing else is sent",
    );
    for notification in expected {
        for channel in [Channel::Push, Channel::Email] {
            let key = (notification.id.clone(), channel);
            let count = counts.sends.get(&key).copied().unwrap_or(0);
            let lost = counts.lost.get(&key).copied().unwrap_or(0);
            let (kills, story) = if count > 1 {
                kills_and_story(notification, channel, counts, timeline)
            } else {
                (0, String::new())
            };
            match count {
                1 => {}
                0 => exactly_once
                    .violations
                    .push(format!("{} {channel:?}: never sent", notification.id)),
                n if n - 1 <= kills + lost => {
                    let after_lost = (n - 1).min(lost);
                    outcomes.duplicate_sends_after_lost_answer += after_lost;
                    outcomes.duplicate_sends_after_kill += n - 1 - after_lost;
                    exactly_once.notes.push(format!(
                        "{} {channel:?}: sent {n} times; {lost} accepted send(s) of it lost their answer, and {kills} \
                         kill(s) hit a process after the provider accepted it and before its completion was recorded \
                         (such a send is sent again by the retry)",
                        notification.id
                    ));
                }
                n => exactly_once.violations.push(format!(
                    "{} {channel:?}: sent {n} times ({lost} lost answers and {kills} kills between sending and record explain {}): {story}",
                    notification.id,
                    kills + lost
                )),
            }
        }
    }
    exactly_once.violations.extend(counts.unexpected.iter().cloned());
    exactly_once
}

/// The kills that excuse a repeat of this step, and the step's story for the report.
fn kills_and_story(
    notification: &ExpectedNotification,
    channel: Channel,
    counts: &SendCounts<'_, '_>,
    timeline: &Timeline,
) -> (usize, String) {
    let timed: Vec<&TimedSend> = counts
        .timed_by_step
        .get(&(notification.id.as_str(), channel))
        .cloned()
        .unwrap_or_default();
    let step = format!("{}#{}", notification.id, channel.key());
    (
        timeline.kills_between_acceptance_and_record(&step, &timed),
        timeline.explain(&step, &timed),
    )
}
