//! The idempotency table once everything drained: no lock left in progress that has not expired
//! (`no-live-lock-left-in-progress`: a record still INPROGRESS whose lock is live would block its
//! message's next delivery), and every completed ticket-processor record's stored result agrees
//! with the tickets table (`stored-results-agree-with-tickets`: an issued ticket exists under that
//! id and its notification is that ticket's; a sold-out names a user without a ticket for an event
//! that is full).

use std::collections::{HashMap, HashSet};

use super::Check;
use crate::load::LoadPlan;
use crate::observe::{IdempotencyRecord, Observed, TicketState};

pub fn idempotency_checks(plan: &LoadPlan, observed: &Observed) -> Vec<Check> {
    vec![live_locks(observed), stored_results(plan, observed)]
}

fn live_locks(observed: &Observed) -> Check {
    let mut locks = Check::new(
        "no-live-lock-left-in-progress",
        "once everything drained, no idempotency record is INPROGRESS with a lock that has not expired",
    );
    let (mut in_progress, mut others) = (0, 0);
    for record in &observed.idempotency {
        match record.status.as_str() {
            // Not an idempotency record: notification-sender's send budget keeps its buckets in
            // the same table, without a status.
            "" => others += 1,
            "INPROGRESS" => {
                in_progress += 1;
                match record.in_progress_expiration {
                    Some(expiry) if expiry <= observed.idempotency_read_at_ms => {}
                    Some(expiry) => locks.violations.push(format!(
                        "{}: INPROGRESS, its lock expires {} ms after the end",
                        record.key,
                        expiry - observed.idempotency_read_at_ms
                    )),
                    None => locks
                        .violations
                        .push(format!("{}: INPROGRESS with no lock expiry", record.key)),
                }
            }
            "COMPLETED" => {}
            other => locks.violations.push(format!("{}: status {other:?}", record.key)),
        }
    }
    locks.notes.push(format!(
        "{} records, {in_progress} INPROGRESS with an expired lock, {others} items without a status (the send budget's)",
        observed.idempotency.len()
    ));
    if observed.idempotency.is_empty() {
        locks = locks.skip("the idempotency table was not read, or is empty");
    }
    locks
}

fn stored_results(plan: &LoadPlan, observed: &Observed) -> Check {
    let mut results = Check::new(
        "stored-results-agree-with-tickets",
        "every completed ticket-processor record's stored result agrees with the tickets table",
    );
    let tickets: HashMap<&str, &TicketState> = observed.tickets.iter().map(|t| (t.ticket_id.as_str(), t)).collect();
    let holders: HashSet<(&str, &str)> = observed
        .tickets
        .iter()
        .map(|t| (t.event_id.as_str(), t.user_id.as_str()))
        .collect();
    let full = |event_id: &str| {
        plan.events
            .iter()
            .find(|e| e.id == event_id)
            .is_some_and(|e| observed.tickets.iter().filter(|t| t.event_id == event_id).count() as u64 >= e.capacity)
    };
    let mut compared = 0;
    for record in observed.idempotency.iter().filter(|r| r.status == "COMPLETED") {
        let Some(processed) = stored_result(record) else {
            continue;
        };
        compared += 1;
        let broken = match (processed.outcome, &processed.ticket_id) {
            (ticket_processor::TicketOutcome::SoldOut, _) => {
                let mut parts = processed.notification_id.splitn(3, '#');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("sold-out"), Some(event_id), Some(user_id)) => {
                        if holders.contains(&(event_id, user_id)) {
                            Some(format!("sold out, but {event_id}/{user_id} holds a ticket"))
                        } else if !full(event_id) {
                            Some(format!("sold out, but {event_id} has a seat free"))
                        } else {
                            None
                        }
                    }
                    _ => Some(format!("sold out with notification {:?}", processed.notification_id)),
                }
            }
            (_, None) => Some("issued without a ticket id".to_owned()),
            (_, Some(ticket_id)) if !tickets.contains_key(ticket_id.as_str()) => {
                Some(format!("ticket {ticket_id} is not in the tickets table"))
            }
            (_, Some(ticket_id)) if processed.notification_id != format!("ticket-issued#{ticket_id}") => Some(format!(
                "ticket {ticket_id} with notification {:?}",
                processed.notification_id
            )),
            _ => None,
        };
        if let Some(broken) = broken {
            results.violations.push(format!("{}: {broken}", record.key));
        }
    }
    results
        .notes
        .push(format!("{compared} completed ticket-processor records compared"));
    if compared == 0 {
        results = results.skip("no completed ticket-processor record to compare");
    }
    results
}

/// A completed record's stored result, if it is ticket-processor's.
fn stored_result(record: &IdempotencyRecord) -> Option<ticket_processor::Processed> {
    record
        .data
        .as_deref()
        .and_then(|data| serde_json::from_str::<ticket_processor::Processed>(data).ok())
}
