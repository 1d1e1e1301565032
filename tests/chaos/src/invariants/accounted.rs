//! 1. Every request accounted for exactly once.

use std::collections::HashSet;

use super::matching::Facts;
use super::{Check, Outcomes};

pub(super) fn check(facts: &Facts<'_>, told_sold_out: &HashSet<(String, String)>, outcomes: &mut Outcomes) -> Check {
    let mut accounted = Check::new(
        "every-request-accounted-once",
        "each request ends as exactly one of: a ticket, a sold-out notification, a DLQ message with a reason",
    );
    for request in &facts.plan.requests {
        let key = (request.event_id.as_str(), request.user_id.as_str());
        let has_ticket = facts.tickets.contains_key(&key);
        let sold_out = told_sold_out.contains(&(request.event_id.clone(), request.user_id.clone()));
        let dead = facts.dead_requests.contains_key(request.body.as_str());
        outcomes.tickets += usize::from(has_ticket);
        outcomes.sold_out += usize::from(sold_out);
        outcomes.dead_lettered += usize::from(dead);
        match usize::from(has_ticket) + usize::from(sold_out) + usize::from(dead) {
            1 => {}
            0 => accounted.violations.push(format!(
                "{}/{}: lost: no ticket, no sold-out notification, no dead letter",
                request.event_id, request.user_id
            )),
            _ => accounted.violations.push(format!(
                "{}/{}: more than one outcome (ticket: {has_ticket}, sold out: {sold_out}, dead-lettered: {dead})",
                request.event_id, request.user_id
            )),
        }
    }
    accounted
}
