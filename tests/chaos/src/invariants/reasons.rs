//! 3. Nothing in a DLQ without a reason, nothing unknown.

use std::collections::HashSet;

use super::Check;
use super::matching::Facts;
use crate::observe::QueueRole;

pub(super) fn check(facts: &Facts<'_>) -> Check {
    let mut reasons = Check::new(
        "dead-letters-have-a-reason",
        "after the replay, every DLQ message carries an error-kind and is a message of the load",
    );
    let poison_bodies: HashSet<&str> = facts.plan.poison.iter().map(|p| p.body.as_str()).collect();
    for letter in &facts.observed.dead_letters {
        if letter.error_kind.is_none() {
            reasons.violations.push(format!(
                "{} message {} has no error-kind (retries exhausted, not replayed): {:.120}",
                letter.queue.name(),
                letter.message_id,
                letter.body
            ));
        }
        let known = poison_bodies.contains(letter.body.as_str())
            || (letter.queue == QueueRole::TicketIssueDlq && facts.request_bodies.contains_key(letter.body.as_str()));
        if !known {
            reasons.violations.push(format!(
                "{} message {} is not a message of the load: {:.120}",
                letter.queue.name(),
                letter.message_id,
                letter.body
            ));
        }
    }
    reasons
}
