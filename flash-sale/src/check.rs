//! The invariants of a sale, whatever its speed: `make test` runs a short sale and fails when
//! one breaks. A sale stopped at its time limit may leave requests in the queues; that is only a
//! failure when the sale must drain (`--check`).

use crate::figures::Figures;

/// Each invariant's name and what broke it (empty when it holds).
pub fn invariants(f: &Figures, must_drain: bool) -> Vec<(&'static str, Option<String>)> {
    let o = &f.outcomes;
    let broken = |holds: bool, what: String| (!holds).then_some(what);
    let mut invariants = vec![
        (
            "no oversell",
            broken(
                o.oversold == 0 && o.counter_matches,
                format!(
                    "{} ticket items for {} seats; issued counter {:?}",
                    o.tickets + o.oversold as usize,
                    f.parameters.seats,
                    o.issued_counter
                ),
            ),
        ),
        (
            "no double ticket",
            broken(
                o.double_tickets == 0,
                format!("{} people hold two tickets", o.double_tickets),
            ),
        ),
        (
            "every request accounted for once (a ticket, sold out, a dead letter, or still queued at the time limit)",
            broken(
                o.conflicting == 0
                    && o.tickets + o.sold_out + o.dead_lettered + o.unresolved == o.people
                    && (o.unresolved == 0 || !f.drained),
                format!(
                    "{} people: {} tickets, {} sold out, {} dead-lettered, {} unresolved, {} with two outcomes",
                    o.people, o.tickets, o.sold_out, o.dead_lettered, o.unresolved, o.conflicting
                ),
            ),
        ),
        (
            "the event sold out (or requests were still queued at the time limit)",
            broken(
                o.tickets as u64 == f.parameters.seats.min(o.people as u64)
                    || o.dead_lettered > 0
                    || (o.unresolved > 0 && !f.drained),
                format!(
                    "{} tickets for {} seats, nobody dead-lettered and nobody still queued",
                    o.tickets, f.parameters.seats
                ),
            ),
        ),
    ];
    invariants.push((
        "the proxy forwarded every call it was asked to",
        broken(
            f.proxy_errors.is_empty(),
            format!(
                "{} calls answered 502: {:?}",
                f.proxy_errors.len(),
                f.proxy_errors.first()
            ),
        ),
    ));
    if must_drain {
        invariants.push((
            "the sale drained before the time limit",
            broken(
                f.drained,
                format!("{} people unresolved at the time limit", o.unresolved),
            ),
        ));
    }
    invariants
}
