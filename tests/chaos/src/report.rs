//! The figures of a run and each invariant's result, as printed at the end (and pasted into
//! docs/chaos.md).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::invariants::Verdict;
use emulation::call::Service;
use emulation::faults::{FaultCounts, Outcome};
use emulation::limits::Verdict as ModelVerdict;

/// Per SQS-triggered function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionFigures {
    pub invocations: u64,
    /// Invocations whose batch was also handed to a second process.
    pub duplicated: u64,
    /// Invocations that failed as a whole (a kill, a timeout).
    pub failed: u64,
    pub kills: usize,
    /// Processes its Runtime API killed at an invocation's deadline (after a freeze).
    pub timeouts: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedriveRound {
    pub moved: u64,
    pub summary: String,
    /// dlq-redrive's whole answer, for the personal-data scan.
    pub report: String,
    /// The invocation failed (e.g. its process was killed).
    pub failed: bool,
    /// Run under faults, with the supervisor killing workers.
    pub chaotic: bool,
    /// dlq-redrive's own process was SIGKILLed during it.
    pub killed: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RunFigures {
    pub parameters: Vec<(&'static str, String)>,
    pub duration: Duration,
    pub storm: Duration,
    pub settled: bool,
    pub messages_sent: usize,
    pub producer_duplicates: usize,
    pub poison: usize,
    pub events: usize,
    pub functions: BTreeMap<String, FunctionFigures>,
    /// Processes frozen (SIGSTOP) by the supervisor.
    pub freezes: usize,
    /// Each worker slot's wall-clock offset (`<binary>/<slot>: +350 ms`); empty: none.
    pub clock_offsets: Vec<String>,
    pub unexpected_exits: Vec<String>,
    pub supervisor_errors: Vec<String>,
    pub proxy: FaultCounts,
    /// What the limits model did, per operation (empty when it was off).
    pub model: emulation::limits::ModelCounts,
    pub redrive: Vec<RedriveRound>,
    pub log_dir: String,
}

const SHOWN: usize = 10;

pub fn render(figures: &RunFigures, verdict: &Verdict) -> String {
    let mut out = String::new();
    let exits = if figures.unexpected_exits.is_empty() {
        String::new()
    } else {
        format!("; FAILED: {} unexpected worker exits", figures.unexpected_exits.len())
    };
    let _ = writeln!(out, "chaos run {}{exits}", verdict.summary());
    let parameters: Vec<String> = figures.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(out, "reproduce: {}", parameters.join(" "));
    let _ = writeln!(
        out,
        "duration: {:.0} s (load and chaos until drained: {:.0} s; then faults and kills off, dlq-redrive replay, drain){}",
        figures.duration.as_secs_f64(),
        figures.storm.as_secs_f64(),
        if figures.settled {
            ""
        } else {
            "; DID NOT SETTLE within the time limit"
        }
    );
    let o = &verdict.outcomes;
    let _ = writeln!(
        out,
        "load: {} requests over {} events ({} seats), {} producer duplicates, {} poison messages: {} messages",
        o.requests, figures.events, o.capacity, figures.producer_duplicates, figures.poison, figures.messages_sent
    );
    let _ = writeln!(
        out,
        "outcomes: {} tickets, {} sold out, {} requests dead-lettered, {} poison dead letters; {} pushes, {} emails sent",
        o.tickets, o.sold_out, o.dead_lettered, o.poison_dead_letters, o.pushes, o.emails
    );
    if o.duplicate_sends_after_lost_answer > 0 {
        let _ = writeln!(
            out,
            "  {} send(s) repeated, each matched by an accepted send of that notification and channel whose answer was lost (see notes)",
            o.duplicate_sends_after_lost_answer
        );
    }
    if o.duplicate_sends_after_kill > 0 {
        let _ = writeln!(
            out,
            "  {} send(s) repeated, each matched by a SIGKILL of a notification-sender process holding that notification (see notes)",
            o.duplicate_sends_after_kill
        );
    }
    let total_calls: u64 = figures.proxy.values().sum();
    let faults: u64 = figures
        .proxy
        .iter()
        .filter(|((_, outcome), _)| *outcome != Outcome::Forwarded)
        .map(|(_, n)| n)
        .sum();
    let by_kind = |kind: Outcome| -> u64 {
        figures
            .proxy
            .iter()
            .filter(|((_, outcome), _)| *outcome == kind)
            .map(|(_, n)| n)
            .sum()
    };
    let _ = writeln!(
        out,
        "worker calls to the emulator: {total_calls}, faulty {faults} ({:.1}%): {}",
        percent(faults, total_calls),
        Outcome::ALL_FAULTS
            .iter()
            .map(|k| format!("{} {}", k.name(), by_kind(*k)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !figures.model.is_empty() {
        let verdicts = |wanted: ModelVerdict| -> u64 {
            figures
                .model
                .values()
                .flat_map(|by_verdict| by_verdict.iter())
                .filter(|(v, _)| **v == wanted)
                .map(|(_, n)| n)
                .sum()
        };
        let transactions = |wanted: ModelVerdict| -> u64 {
            figures
                .model
                .iter()
                .filter(|(operation, _)| operation.contains("Transact"))
                .flat_map(|(_, by_verdict)| by_verdict.iter())
                .filter(|(v, _)| **v == wanted)
                .map(|(_, n)| n)
                .sum()
        };
        let _ = writeln!(
            out,
            "limits model: {} calls admitted, {} TransactionConflict ({} of them transactions), {} throttled ({} transactions)",
            verdicts(ModelVerdict::Admitted),
            verdicts(ModelVerdict::Conflict),
            transactions(ModelVerdict::Conflict),
            verdicts(ModelVerdict::Throttled),
            transactions(ModelVerdict::Throttled)
        );
    }
    for service in Service::ALL {
        let calls: u64 = figures
            .proxy
            .iter()
            .filter(|((s, _), _)| *s == service)
            .map(|(_, n)| n)
            .sum();
        if calls == 0 {
            continue;
        }
        let service_faults: u64 = figures
            .proxy
            .iter()
            .filter(|((s, outcome), _)| *s == service && *outcome != Outcome::Forwarded)
            .map(|(_, n)| n)
            .sum();
        let _ = writeln!(
            out,
            "  {:<8} {calls:>6} calls, {service_faults:>5} faulty ({:.1}%)",
            service.name(),
            percent(service_faults, calls)
        );
    }
    for (binary, f) in &figures.functions {
        let _ = writeln!(
            out,
            "{binary}: {} invocations, {} handed to a second process too, {} failed whole, {} SIGKILLs, {} killed at the deadline (timeout)",
            f.invocations, f.duplicated, f.failed, f.kills, f.timeouts
        );
    }
    let _ = writeln!(out, "processes frozen until their deadline: {}", figures.freezes);
    if !figures.clock_offsets.is_empty() {
        let _ = writeln!(
            out,
            "wall-clock offsets (libfaketime): {}",
            figures.clock_offsets.join(", ")
        );
    }
    let _ = writeln!(out, "unexpected worker exits: {}", figures.unexpected_exits.len());
    for exit in figures.unexpected_exits.iter().take(SHOWN) {
        let _ = writeln!(out, "  - {exit}");
    }
    for error in figures.supervisor_errors.iter().take(SHOWN) {
        let _ = writeln!(out, "  supervisor error: {error}");
    }
    for (round, r) in figures.redrive.iter().enumerate() {
        let _ = writeln!(
            out,
            "dlq-redrive round {}{}{}: moved {} ({})",
            round + 1,
            if r.chaotic { " under faults and kills" } else { "" },
            if r.killed {
                ", its process killed mid-replay"
            } else {
                ""
            },
            r.moved,
            r.summary
        );
    }
    let _ = writeln!(out, "invariants:");
    for check in &verdict.checks {
        let mark = match (&check.skipped, check.failed()) {
            (_, true) => "FAIL",
            (Some(_), false) => "SKIPPED",
            (None, false) => "PASS",
        };
        let _ = writeln!(out, "  {mark} {}: {}", check.name, check.rule);
        if let Some(why) = &check.skipped {
            let _ = writeln!(out, "       not checked: {why}");
        }
        for violation in check.violations.iter().take(SHOWN) {
            let _ = writeln!(out, "       - {violation}");
        }
        if check.violations.len() > SHOWN {
            let _ = writeln!(out, "       … and {} more", check.violations.len() - SHOWN);
        }
        for note in check.notes.iter().take(SHOWN) {
            let _ = writeln!(out, "       note: {note}");
        }
        if check.notes.len() > SHOWN {
            let _ = writeln!(out, "       note: … and {} more", check.notes.len() - SHOWN);
        }
    }
    let _ = writeln!(out, "worker logs: {}", figures.log_dir);
    out
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}
