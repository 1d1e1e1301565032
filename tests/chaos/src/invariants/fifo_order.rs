//! FIFO: within a message group, records in the order they were sent (`fifo-group-order`).

use std::collections::{BTreeMap, HashMap};

use std::time::Instant;

use super::Check;
use crate::load::LoadPlan;
use crate::observe::{Observed, QueueRole};

/// FIFO (issue 15): within a message group of ticket-issue-queue, records are processed in the
/// order they were sent. What the code promises: shared's batch processor runs a group's records
/// of a batch one after another and, after one fails, reports the group's later records failed
/// without running them (`RecordStatus::SkippedAfterGroupFailure`); SQS does not hand out a
/// group's later messages while an earlier one is in flight, and redelivers them in order. So a
/// record is never started (its idempotency lock asked of DynamoDB) before the record sent before
/// it in its group has completed (its completion write accepted). Judged on the proxy's record
/// ([`crate::ledger::Ledger`]): the first lock of each message against the first accepted
/// completion of the previous message of its group, both keyed on the messageId. A message that
/// left through the DLQ (retries exhausted, replayed by dlq-redrive, or still there) leaves its
/// group's order by SQS's design: it is not judged, and the next message is judged against the
/// last one before it that was.
pub fn fifo_group_order(
    plan: &LoadPlan,
    sent: &[crate::load::FifoSent],
    ledger: &crate::ledger::Ledger,
    observed: &Observed,
    deliveries: &[(Instant, Vec<String>)],
) -> Check {
    let mut check = Check::new(FIFO_GROUP_ORDER.0, FIFO_GROUP_ORDER.1);
    let first_lock = first_by_message(&ledger.locks);
    let first_completion = first_by_message(&ledger.timeline.completions);
    let left_order: std::collections::HashSet<&str> = ledger
        .redriven
        .iter()
        .map(String::as_str)
        .chain(
            observed
                .dead_letters
                .iter()
                .filter(|letter| letter.queue == QueueRole::TicketIssueDlq)
                .map(|letter| letter.original_message_id.as_deref().unwrap_or(&letter.message_id)),
        )
        .collect();
    let t0 = ledger.locks.iter().map(|(_, at)| *at).min();
    let ms = |at: Instant| t0.map_or(0, |t0| at.saturating_duration_since(t0).as_millis());
    let mut groups: BTreeMap<&str, Vec<&crate::load::FifoSent>> = BTreeMap::new();
    for message in sent
        .iter()
        .filter(|m| !matches!(m.outgoing, crate::load::Outgoing::Poison(_)))
    {
        groups.entry(message.group.as_str()).or_default().push(message);
    }
    let (mut pairs, mut excused, mut reordered) = (0, 0, 0);
    for (group, messages) in &groups {
        let mut previous: Option<(&str, Instant)> = None;
        for message in messages {
            let id = message.message_id.as_str();
            if left_order.contains(id) {
                excused += 1;
                continue;
            }
            let (Some(locked), Some(completed)) = (first_lock.get(id), first_completion.get(id)) else {
                check.violations.push(format!(
                    "group {group}: message {id} ({}) has {}: it never ran to completion and did not go to the DLQ",
                    request_label(plan, message.outgoing),
                    if first_lock.contains_key(id) {
                        "no accepted completion"
                    } else {
                        "no lock"
                    }
                ));
                continue;
            };
            if let Some((previous_id, previous_done)) = previous {
                pairs += 1;
                if *locked < previous_done && delivered_alone(deliveries, id, previous_id, previous_done) {
                    reordered += 1;
                    check.notes.push(format!(
                        "group {group}: message {id} was delivered by the emulator in a batch without message \
                         {previous_id}, sent before it and not yet completed (moto 5.2.5 reorders a group whose \
                         messages time out together; SQS does not): SQS's order, not the workers'"
                    ));
                } else if *locked < previous_done {
                    check.violations.push(format!(
                        "group {group}: message {id} ({}) started at +{} ms, before message {previous_id}, sent before \
                         it, completed at +{} ms",
                        request_label(plan, message.outgoing),
                        ms(*locked),
                        ms(previous_done)
                    ));
                }
            }
            previous = Some((id, *completed));
        }
    }
    check.notes.push(format!(
        "{} messages in {} groups: {pairs} consecutive pairs judged; {excused} messages left their group's order \
         through the DLQ (not judged); {reordered} delivered out of order by the emulator itself",
        groups.values().map(Vec::len).sum::<usize>(),
        groups.len()
    ));
    if pairs == 0 {
        return check.skip("no group had two messages that both ran to completion: nothing to judge the order by");
    }
    check
}

/// The earliest instant per messageId of idempotency records keyed `<prefix>#<messageId>`.
fn first_by_message(entries: &[(String, Instant)]) -> HashMap<String, Instant> {
    let mut first: HashMap<String, Instant> = HashMap::new();
    for (key, at) in entries {
        if let Some((_, id)) = key.rsplit_once('#') {
            first
                .entry(id.to_owned())
                .and_modify(|t| *t = (*t).min(*at))
                .or_insert(*at);
        }
    }
    first
}

/// Whether the emulator handed out `later` in a batch without `earlier` before it, before
/// `earlier` had completed (`earlier_done`): a group's later message delivered while the earlier
/// one, not completed, was still in the queue. The workers can only keep the order of what they
/// are given.
fn delivered_alone(deliveries: &[(Instant, Vec<String>)], later: &str, earlier: &str, earlier_done: Instant) -> bool {
    deliveries.iter().any(|(at, batch)| {
        let position = |id: &str| batch.iter().position(|m| m == id);
        *at < earlier_done
            && position(later).is_some()
            && !matches!((position(earlier), position(later)), (Some(e), Some(l)) if e < l)
    })
}

const FIFO_GROUP_ORDER: (&str, &str) = (
    "fifo-group-order",
    "within a FIFO message group of ticket-issue-queue, no record was started (idempotency lock asked) before the \
     record sent before it in the group had completed (completion accepted)",
);

/// The FIFO order check, not made (no FIFO slice ran): SKIPPED, with why.
pub fn fifo_group_order_not_made(why: String) -> Check {
    Check::new(FIFO_GROUP_ORDER.0, FIFO_GROUP_ORDER.1).skip(why)
}

fn request_label(plan: &LoadPlan, outgoing: crate::load::Outgoing) -> String {
    match outgoing {
        crate::load::Outgoing::Request(i) => format!("{}/{}", plan.requests[i].event_id, plan.requests[i].user_id),
        crate::load::Outgoing::Duplicate(i) => format!(
            "{}/{}, producer duplicate",
            plan.requests[i].event_id, plan.requests[i].user_id
        ),
        crate::load::Outgoing::Poison(k) => format!("poison {k}"),
    }
}
