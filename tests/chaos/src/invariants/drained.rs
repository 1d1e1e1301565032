//! 9. Queues drained.

use super::Check;
use crate::observe::{Observed, QueueRole};

pub(super) fn check(observed: &Observed) -> Check {
    let mut drained = Check::new(
        "queues-drained",
        "the source queues are empty, and nothing is in flight or delayed in the DLQs",
    );
    for queue in &observed.queues {
        let leftover = if queue.role.is_dead_letter_queue() {
            queue.in_flight + queue.delayed
        } else {
            queue.visible + queue.in_flight + queue.delayed
        };
        if leftover > 0 {
            drained.violations.push(format!(
                "{}: {} visible, {} in flight, {} delayed",
                queue.role.name(),
                queue.visible,
                queue.in_flight,
                queue.delayed
            ));
        }
    }
    for role in [
        QueueRole::TicketIssue,
        QueueRole::Notification,
        QueueRole::TicketIssueDlq,
        QueueRole::NotificationDlq,
    ] {
        if !observed.queues.iter().any(|q| q.role == role) {
            drained.violations.push(format!("{}: not observed", role.name()));
        }
    }
    drained
}
