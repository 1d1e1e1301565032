//! 2. Poison in its DLQ with the right reason.

use super::{Check, Outcomes};
use crate::load::{LoadPlan, PoisonQueue};
use crate::observe::{Observed, QueueRole};

pub(super) fn check(plan: &LoadPlan, observed: &Observed, outcomes: &mut Outcomes) -> Check {
    let mut poison = Check::new(
        "poison-dead-lettered-with-its-reason",
        "every poison message is in its DLQ with the expected error-kind",
    );
    for p in &plan.poison {
        let role = match p.queue {
            PoisonQueue::TicketIssue => QueueRole::TicketIssueDlq,
            PoisonQueue::Notification => QueueRole::NotificationDlq,
        };
        let copies: Vec<&Option<String>> = observed
            .dead_letters
            .iter()
            .filter(|l| l.queue == role && l.body == p.body)
            .map(|l| &l.error_kind)
            .collect();
        outcomes.poison_dead_letters += copies.len();
        if copies.is_empty() {
            poison
                .violations
                .push(format!("{}: {:?} is not in it", role.name(), p.body));
        }
        for kind in &copies {
            if kind.as_deref() != Some(p.expected_kind) {
                poison.violations.push(format!(
                    "{}: {:?} has error-kind {kind:?}, expected {}",
                    role.name(),
                    p.body,
                    p.expected_kind
                ));
            }
        }
        if copies.len() > 1 {
            poison.notes.push(format!(
                "{}: {:?} is there {} times (dead-lettering is at least once: each delivery of a poison message dead-letters it)",
                role.name(),
                p.body,
                copies.len()
            ));
        }
    }
    poison
}
