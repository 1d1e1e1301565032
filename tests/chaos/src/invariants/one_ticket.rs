//! 6. One ticket per user and event, and only for requests.

use std::collections::HashMap;

use super::Check;
use super::matching::Facts;

pub(super) fn check(facts: &Facts<'_>) -> Check {
    let mut one_ticket = Check::new(
        "one-ticket-per-user-and-event",
        "no user holds two tickets for one event (users read from the items, each stored under its own key), every \
         ticket answers a request, ticket ids are unique",
    );
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for ((event_id, user_id), ticket_ids) in &facts.tickets {
        if ticket_ids.len() > 1 {
            one_ticket.violations.push(format!(
                "{event_id}/{user_id}: {} tickets {ticket_ids:?}",
                ticket_ids.len()
            ));
        }
        if !facts.requests.contains_key(&(*event_id, *user_id)) {
            one_ticket
                .violations
                .push(format!("{event_id}/{user_id}: a ticket nobody requested"));
        }
        for id in ticket_ids {
            *ids.entry(id).or_default() += 1;
        }
    }
    one_ticket
        .violations
        .extend(facts.observed.misfiled_tickets.iter().cloned());
    for (id, count) in ids {
        if count > 1 || id.is_empty() {
            one_ticket
                .violations
                .push(format!("ticket id {id:?} is on {count} tickets"));
        }
    }
    one_ticket
}
