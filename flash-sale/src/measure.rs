//! The figures of a sale, from what it observed: the emulator's state at the end (tickets, the
//! event's counters, the dead letters) and the proxy's record (ticket writes, notifications
//! enqueued, sends accepted, every call), never from the workers' logs. Pure: tests hand it
//! crafted observations.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use emulation::call::ItemKey;
use emulation::limits::{ModelCounts, Verdict};
use emulation::queues::DeadLetter;
use emulation::sends::{EmailSend, PushSend};

use crate::figures::{OperationFigures, Outcomes, Percentiles, Receives, Sends, Throughput};
use crate::invocations::InvocationRecord;
use crate::recorder::Record;
use crate::sale::Sale;
use crate::tickets_state::{self, EventState};

/// What a sale observed, and how to read its clock.
pub struct Observations<'a> {
    pub sale: &'a Sale,
    pub tickets_table: &'a str,
    /// When the sale opened, and the run's scale: the model's time is wall time ÷ scale.
    pub t0: Instant,
    pub scale: f64,
    pub state: &'a EventState,
    pub record: &'a Record,
    pub emails: &'a [(Instant, EmailSend)],
    pub pushes: &'a [(Instant, PushSend)],
    pub invocations: &'a [InvocationRecord],
    pub ticket_dead_letters: &'a [DeadLetter],
    pub notification_dead_letters: &'a [DeadLetter],
    pub visibility_timeout: Duration,
}

impl Observations<'_> {
    /// Seconds of the model's time since the sale opened.
    pub fn model_s(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.t0).as_secs_f64() / self.scale
    }
}

/// How one person's request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Ticket,
    SoldOut,
    DeadLettered,
    Unresolved,
}

/// Each person's ending, and the sale's outcomes.
pub fn outcomes(obs: &Observations<'_>) -> (Vec<Ending>, Outcomes) {
    let people = obs.sale.people.len();
    let mut tickets = vec![0usize; people];
    for ticket in &obs.state.tickets {
        if let Some(i) = obs.sale.person_of(&ticket.user_id) {
            tickets[i] += 1;
        }
    }
    let mut sold_out = vec![false; people];
    for notification in obs.record.notifications.iter().filter(|n| n.kind == "sold-out") {
        if let Some(i) = obs.sale.person_of(&notification.user_id) {
            sold_out[i] = true;
        }
    }
    let mut dead = vec![false; people];
    for letter in obs.ticket_dead_letters {
        if let Some(i) = messages::TicketRequest::parse(&letter.body)
            .ok()
            .and_then(|r| obs.sale.person_of(&r.user_id))
        {
            dead[i] = true;
        }
    }
    let endings: Vec<Ending> = (0..people)
        .map(|i| match (tickets[i] > 0, sold_out[i], dead[i]) {
            (true, _, _) => Ending::Ticket,
            (false, true, _) => Ending::SoldOut,
            (false, false, true) => Ending::DeadLettered,
            _ => Ending::Unresolved,
        })
        .collect();
    let count = |ending| endings.iter().filter(|e| **e == ending).count();
    let ticket_items = obs.state.tickets.len() as u64;
    let outcomes = Outcomes {
        people,
        tickets: count(Ending::Ticket),
        sold_out: count(Ending::SoldOut),
        dead_lettered: count(Ending::DeadLettered),
        unresolved: count(Ending::Unresolved),
        conflicting: (0..people).filter(|&i| tickets[i] > 0 && sold_out[i]).count(),
        oversold: ticket_items.saturating_sub(obs.sale.seats),
        double_tickets: tickets.iter().filter(|n| **n > 1).count(),
        issued_counter: obs.state.issued,
        counter_matches: obs.state.issued == Some(ticket_items),
    };
    (endings, outcomes)
}

/// Each person with a ticket whose write was seen, and when the proxy first accepted that write.
fn ticket_writes(obs: &Observations<'_>, endings: &[Ending]) -> Vec<(usize, Instant)> {
    let mut first_put: HashMap<&ItemKey, Instant> = HashMap::new();
    for (at, key) in &obs.record.puts {
        first_put.entry(key).or_insert(*at);
    }
    let ticket_key = |i: usize| {
        let user_id = &obs.sale.people[i].user_id;
        tickets_state::ticket_key(obs.tickets_table, &obs.sale.event_id, user_id, obs.state.shards)
    };
    (0..endings.len())
        .filter(|&i| endings[i] == Ending::Ticket)
        .filter_map(|i| Some((i, *first_put.get(&ticket_key(i))?)))
        .collect()
}

/// Admission → the ticket's write accepted at the proxy, for each person with a ticket whose
/// write was seen.
pub fn time_to_ticket(obs: &Observations<'_>, endings: &[Ending]) -> Vec<f64> {
    ticket_writes(obs, endings)
        .into_iter()
        .map(|(i, put)| obs.model_s(put) - obs.sale.admitted_at(i))
        .collect()
}

/// The first receive of each person's request by `function` (any of their messages, the
/// producer's duplicates too) to their ticket's write accepted at the proxy, for each person with
/// a ticket: the time the workers took, without the wait in the queue.
pub fn receive_to_ticket(obs: &Observations<'_>, endings: &[Ending], function: &str) -> Vec<f64> {
    let mut first_receive: HashMap<usize, Instant> = HashMap::new();
    for invocation in obs.invocations.iter().filter(|i| i.function == function) {
        for record in &invocation.records {
            let Some(person) = messages::TicketRequest::parse(&record.body)
                .ok()
                .and_then(|request| obs.sale.person_of(&request.user_id))
            else {
                continue;
            };
            let first = first_receive.entry(person).or_insert(invocation.started);
            *first = (*first).min(invocation.started);
        }
    }
    ticket_writes(obs, endings)
        .into_iter()
        .filter_map(|(i, put)| {
            let received = first_receive.get(&i)?;
            Some(put.saturating_duration_since(*received).as_secs_f64() / obs.scale)
        })
        .collect()
}

/// The first accepted email to each person, by person.
fn first_emails(obs: &Observations<'_>) -> HashMap<usize, (Instant, usize)> {
    let people: HashMap<&str, usize> = obs
        .sale
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.email.as_str(), i))
        .collect();
    let mut first: HashMap<usize, (Instant, usize)> = HashMap::new();
    for (at, email) in obs.emails {
        for to in &email.to {
            if let Some(&i) = people.get(to.as_str()) {
                let entry = first.entry(i).or_insert((*at, 0));
                entry.0 = entry.0.min(*at);
                entry.1 += 1;
            }
        }
    }
    first
}

/// Admission → the first email accepted by SES, for each person emailed.
pub fn time_to_email(obs: &Observations<'_>) -> Vec<f64> {
    first_emails(obs)
        .into_iter()
        .map(|(i, (at, _))| obs.model_s(at) - obs.sale.admitted_at(i))
        .collect()
}

/// People refused (sold out or dead-lettered) although someone admitted more than `window`
/// seconds after them got a ticket; and how many were refused.
pub fn fairness(sale: &Sale, endings: &[Ending], window: f64) -> (usize, usize) {
    let last_ticket = endings
        .iter()
        .enumerate()
        .filter(|(_, e)| **e == Ending::Ticket)
        .map(|(i, _)| sale.admitted_at(i))
        .fold(f64::NEG_INFINITY, f64::max);
    let refused: Vec<usize> = endings
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Ending::SoldOut | Ending::DeadLettered))
        .map(|(i, _)| i)
        .collect();
    let violations = refused
        .iter()
        .filter(|&&i| last_ticket > sale.admitted_at(i) + window)
        .count();
    (violations, refused.len())
}

pub fn sends(obs: &Observations<'_>, endings: &[Ending], counts: &ModelCounts, ses_rate: f64) -> Sends {
    let emails = first_emails(obs);
    let mut pushes: HashMap<&str, usize> = HashMap::new();
    for (_, push) in obs.pushes {
        if let Some(user) = push.attributes.get("userId") {
            *pushes.entry(user.as_str()).or_default() += 1;
        }
    }
    let mut per_second: BTreeMap<u64, u64> = BTreeMap::new();
    for call in obs.record.calls.iter().filter(|c| c.operation == "SES.SendEmail") {
        *per_second.entry(obs.model_s(call.arrived) as u64).or_default() += 1;
    }
    let resolved = |i: &usize| matches!(endings[*i], Ending::Ticket | Ending::SoldOut);
    Sends {
        emails: obs.emails.len(),
        people_emailed: emails.len(),
        repeated_emails: emails.values().map(|(_, n)| n - 1).sum(),
        pushes: obs.pushes.len(),
        people_pushed: pushes.len(),
        repeated_pushes: pushes.values().map(|n| n - 1).sum(),
        notifications: obs.record.notifications.len(),
        notifications_dead_lettered: obs.notification_dead_letters.len(),
        missing_emails: (0..endings.len())
            .filter(resolved)
            .filter(|i| !emails.contains_key(i))
            .count(),
        ses_throttled: verdicts(counts, "SES.SendEmail", Verdict::Throttled),
        ses_attempts_max_per_second: per_second.values().copied().max().unwrap_or(0),
        ses_rate,
    }
}

fn verdicts(counts: &ModelCounts, operation: &str, verdict: Verdict) -> u64 {
    counts
        .get(operation)
        .and_then(|v| v.get(&verdict))
        .copied()
        .unwrap_or(0)
}

/// Receives of the messages one function was invoked with.
pub fn receives(invocations: &[InvocationRecord], function: &str, visibility: Duration) -> Receives {
    let mine: Vec<&InvocationRecord> = invocations.iter().filter(|i| i.function == function).collect();
    // Each receipt: when, its receive count, and whether it ended in a failure (the record
    // reported failed, or the whole invocation): a failed record may come back at once, its
    // visibility set by the retry delay (ChangeMessageVisibility).
    let mut seen: HashMap<&str, Vec<(Instant, u32, bool)>> = HashMap::new();
    for invocation in &mine {
        for record in &invocation.records {
            let failed = invocation.function_error.is_some() || invocation.failed.contains(&record.message_id);
            seen.entry(&record.message_id)
                .or_default()
                .push((invocation.started, record.receive_count, failed));
        }
    }
    let mut figures = Receives {
        messages: seen.len(),
        invocations: mine.len(),
        failed_invocations: mine.iter().filter(|i| i.function_error.is_some()).count(),
        failed_records: mine.iter().map(|i| i.failed.len()).sum(),
        ..Receives::default()
    };
    let too_soon = visibility.mul_f64(0.9);
    for receipts in seen.values_mut() {
        receipts.sort();
        let highest = receipts.iter().map(|(_, count, _)| *count).max().unwrap_or(1);
        *figures.by_receive_count.entry(highest).or_default() += 1;
        if highest > 1 {
            figures.received_again += 1;
        }
        // Handed out again before its visibility timeout ended although nobody failed it.
        if receipts
            .windows(2)
            .any(|w| !w[0].2 && w[1].0.saturating_duration_since(w[0].0) < too_soon)
        {
            figures.emulator_double_deliveries += 1;
        }
    }
    figures
}

/// Per operation: calls, the model's verdicts, modelled and emulator times.
pub fn operations(record: &Record, counts: &ModelCounts) -> BTreeMap<String, OperationFigures> {
    let mut by_operation: BTreeMap<String, Vec<&crate::recorder::CallSummary>> = BTreeMap::new();
    for call in &record.calls {
        by_operation.entry(call.operation.clone()).or_default().push(call);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    by_operation
        .into_iter()
        .map(|(operation, calls)| {
            let forwarded: Vec<_> = calls.iter().filter(|c| c.emulator.is_some()).collect();
            let figures = OperationFigures {
                calls: calls.len(),
                conflicts: verdicts(counts, &operation, Verdict::Conflict),
                throttled: verdicts(counts, &operation, Verdict::Throttled),
                emulator_slower: forwarded.iter().filter(|c| c.emulator_was_slower()).count(),
                forwarded: forwarded.len(),
                modelled_ms: Percentiles::of(&calls.iter().filter_map(|c| c.modelled.map(ms)).collect::<Vec<_>>()),
                emulator_ms: Percentiles::of(&forwarded.iter().filter_map(|c| c.emulator.map(ms)).collect::<Vec<_>>()),
            };
            (operation, figures)
        })
        .collect()
}

/// Forwarded calls whose emulator time exceeded the modelled latency, of all forwarded calls.
pub fn emulator_slower_share(operations: &BTreeMap<String, OperationFigures>) -> f64 {
    let forwarded: usize = operations.values().map(|o| o.forwarded).sum();
    let slower: usize = operations.values().map(|o| o.emulator_slower).sum();
    if forwarded == 0 {
        0.0
    } else {
        slower as f64 / forwarded as f64
    }
}

/// The model's ceiling for one event (production units: the model's time), and the run's ticket
/// rate against it.
pub struct Ceiling {
    pub partition_write_units_per_second: f64,
    /// Mean transaction hold in the model's time.
    pub mean_hold_s: f64,
}

pub fn throughput(obs: &Observations<'_>, ceiling: &Ceiling, admission_rate: Option<f64>) -> Throughput {
    let mut times: Vec<f64> = obs.record.puts.iter().map(|(at, _)| obs.model_s(*at)).collect();
    times.sort_by(f64::total_cmp);
    let mut per_second = vec![0u64; times.last().map_or(0, |t| *t as usize + 1)];
    for t in &times {
        per_second[*t as usize] += 1;
    }
    let mut units = obs.record.transaction_units.clone();
    units.sort_by(f64::total_cmp);
    let units_per_ticket = units.get(units.len() / 2).copied().unwrap_or(0.0);
    // No ticket written: no units known, only the conflict-bound ceiling (0 stands for unknown).
    let write_ceiling = if units_per_ticket > 0.0 {
        ceiling.partition_write_units_per_second / units_per_ticket
    } else {
        0.0
    };
    let conflict_ceiling = 1.0 / ceiling.mean_hold_s;
    let limit = if write_ceiling > 0.0 {
        write_ceiling.min(conflict_ceiling)
    } else {
        conflict_ceiling
    };
    // Selling: until the last seat's ticket (or the last ticket when seats were left).
    let sold = (obs.sale.seats as usize).min(times.len());
    let selling_s = if sold == 0 { 0.0 } else { times[sold - 1] };
    let mean = if selling_s > 0.0 { sold as f64 / selling_s } else { 0.0 };
    let peak = per_second.iter().copied().max().unwrap_or(0) as f64;
    Throughput {
        units_per_ticket,
        write_ceiling,
        conflict_ceiling,
        ceiling: limit,
        selling_s,
        mean,
        peak,
        mean_to_ceiling: mean / limit,
        peak_to_ceiling: peak / limit,
        mean_to_admission: admission_rate.map(|rate| mean / rate),
        per_second,
    }
}

/// Dead letters by `error-kind`; those SQS's redrive policy moved have none: `retries-exhausted`.
pub fn dead_letter_kinds(letters: &[&DeadLetter]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for letter in letters {
        let kind = letter
            .attributes
            .get(shared::attributes::ERROR_KIND)
            .cloned()
            .unwrap_or_else(|| "retries-exhausted".to_owned());
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}

#[cfg(test)]
mod tests;
