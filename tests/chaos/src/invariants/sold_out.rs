//! 7. Sold out only when full: in the end state, and in time (`sold-out-decided-when-full`).

use std::collections::{HashMap, HashSet};

use super::Check;
use super::matching::Facts;
use crate::load::LoadPlan;

pub(super) fn only_when_full(facts: &Facts<'_>, told_sold_out: &HashSet<(String, String)>) -> Check {
    let mut sold_out_full = Check::new(
        "sold-out-only-when-full",
        "a sold-out notification goes only to users of events whose every seat is taken",
    );
    for request in &facts.plan.requests {
        let sold_out = told_sold_out.contains(&(request.event_id.clone(), request.user_id.clone()));
        if sold_out && !facts.event_full(&request.event_id) {
            sold_out_full.violations.push(format!(
                "{}/{}: told sold out while {} had {} of {} seats taken",
                request.event_id,
                request.user_id,
                request.event_id,
                facts.tickets_per_event(&request.event_id),
                facts
                    .plan
                    .events
                    .iter()
                    .find(|e| e.id == request.event_id)
                    .map_or(0, |e| e.capacity)
            ));
        }
    }
    sold_out_full
}

/// "Sold out" decided only when full, judged in time on the proxy's [`crate::ledger::Ledger`]:
/// when a sold-out notification for an event reached the emulator, at least that event's capacity
/// of ticket transactions had been applied (counted from when each was forwarded). The end state
/// cannot show this: a sold-out sent while a seat was free passes there once the event fills up.
pub fn sold_out_in_time(plan: &LoadPlan, ledger: &crate::ledger::Ledger) -> Check {
    let mut check = Check::new(
        "sold-out-decided-when-full",
        "every sold-out notification was enqueued after its event's capacity of ticket transactions had been \
         applied (the proxy's record of committed transactions, in time)",
    );
    let capacities: HashMap<&str, u64> = plan.events.iter().map(|e| (e.id.as_str(), e.capacity)).collect();
    let mut commits: HashMap<&str, Vec<std::time::Instant>> = HashMap::new();
    for commit in &ledger.commits {
        commits.entry(commit.event_id.as_str()).or_default().push(commit.asked);
    }
    for times in commits.values_mut() {
        times.sort();
    }
    for sent in &ledger.sold_out {
        let Some(capacity) = capacities.get(sent.event_id.as_str()) else {
            check.violations.push(format!(
                "{}/{}: sold out for an event the load does not have",
                sent.event_id, sent.user_id
            ));
            continue;
        };
        let before = commits
            .get(sent.event_id.as_str())
            .map_or(0, |times| times.partition_point(|t| *t < sent.arrived)) as u64;
        if before < *capacity {
            check.violations.push(format!(
                "{}/{}: told sold out when {before} of its {capacity} seats had been committed",
                sent.event_id, sent.user_id
            ));
        }
    }
    check.notes.push(format!(
        "{} sold-out enqueues judged against {} applied ticket transactions",
        ledger.sold_out.len(),
        ledger.commits.len()
    ));
    if ledger.commits.is_empty() {
        return check.skip("the proxy recorded no ticket transaction: nothing to judge the sold-outs by");
    }
    check
}
