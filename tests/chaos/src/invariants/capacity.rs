//! 4–5. Capacity and the issued counter.

use super::Check;
use super::matching::Facts;

/// `tickets-within-capacity` and `issued-equals-tickets`.
pub(super) fn checks(facts: &Facts<'_>) -> [Check; 2] {
    let mut capacity = Check::new("tickets-within-capacity", "per event, tickets <= capacity");
    let mut issued = Check::new(
        "issued-equals-tickets",
        "per event, the capacity is as seeded, its counters hold exactly those seats, and issued (over \
         its counters) = the number of ticket items",
    );
    for event in &facts.plan.events {
        let count = facts.tickets_per_event(&event.id);
        if count > event.capacity {
            capacity
                .violations
                .push(format!("{}: {count} tickets for {} seats", event.id, event.capacity));
        }
        match facts.observed.events.get(&event.id) {
            None => issued.violations.push(format!("{}: the event item is gone", event.id)),
            Some(state) => {
                if state.capacity != Some(event.capacity) {
                    issued.violations.push(format!(
                        "{}: capacity {:?}, seeded {}",
                        event.id, state.capacity, event.capacity
                    ));
                }
                if state.counted_capacity != Some(event.capacity) {
                    issued.violations.push(format!(
                        "{}: its {} counters hold {:?} seats, seeded {}",
                        event.id, state.shards, state.counted_capacity, event.capacity
                    ));
                }
                if state.issued != Some(count) {
                    issued.violations.push(format!(
                        "{}: issued {:?} but {count} ticket items",
                        event.id, state.issued
                    ));
                }
            }
        }
    }
    [capacity, issued]
}
