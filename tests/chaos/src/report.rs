//! The figures of a run and each invariant's result, as printed at the end (and pasted into
//! docs/chaos.md).

use std::collections::BTreeMap;
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
    /// Which slice of the run: "standard queues" or "FIFO queues".
    pub slice: &'static str,
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

/// The verdict over every slice: "chaos run PASSED: 29 checked, 0 skipped (standard queues 14,
/// FIFO queues 15)"; FAILED or INCOMPLETE as [`Verdict::summary`] says, and FAILED when a slice
/// did not settle or a worker exited unexpectedly.
pub fn overall(slices: &[(RunFigures, Verdict)]) -> String {
    let all = Verdict {
        checks: slices.iter().flat_map(|(_, v)| v.checks.iter().cloned()).collect(),
        outcomes: Default::default(),
    };
    let per_slice: Vec<String> = slices
        .iter()
        .map(|(figures, verdict)| format!("{} {}", figures.slice, verdict.checked()))
        .collect();
    let trouble: Vec<String> = slices
        .iter()
        .flat_map(|(figures, _)| {
            let mut trouble = Vec::new();
            if !figures.settled {
                trouble.push(format!("{} did not settle", figures.slice));
            }
            if !figures.unexpected_exits.is_empty() {
                trouble.push(format!(
                    "{}: {} unexpected worker exits",
                    figures.slice,
                    figures.unexpected_exits.len()
                ));
            }
            trouble
        })
        .collect();
    let summary = if trouble.is_empty() {
        all.summary()
    } else {
        format!("FAILED ({}): {}", trouble.join(", "), all.summary())
    };
    format!("chaos run {summary} ({})", per_slice.join(", "))
}

/// The report's layout: `report.txt.j2`, filled from a [`ReportView`].
const TEMPLATE: &str = include_str!("report.txt.j2");

/// The report of one slice: its verdict, its figures and each invariant's result.
pub fn render(figures: &RunFigures, verdict: &Verdict) -> String {
    let mut environment = minijinja::Environment::new();
    environment.set_keep_trailing_newline(true);
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment
        .add_template("report.txt", TEMPLATE)
        .expect("the report template parses (tested)");
    environment
        .get_template("report.txt")
        .and_then(|template| template.render(ReportView::new(figures, verdict)))
        .expect("the report template renders (tested)")
}

/// What the template shows, computed: numbers formatted as the report prints them.
#[derive(Debug, serde::Serialize)]
pub struct ReportView {
    slice: &'static str,
    summary: String,
    exits: String,
    reproduce: String,
    duration_s: String,
    storm_s: String,
    settled: bool,
    o: OutcomesView,
    events: usize,
    producer_duplicates: usize,
    poison: usize,
    messages_sent: usize,
    calls: CallsView,
    model: Option<ModelView>,
    services: Vec<LineView>,
    functions: Vec<FunctionView>,
    freezes: usize,
    clock_offsets: String,
    unexpected_exits: ShownView,
    supervisor_errors: Vec<String>,
    redrive: Vec<RedriveView>,
    checks: Vec<CheckView>,
    log_dir: String,
}

#[derive(Debug, serde::Serialize)]
struct OutcomesView {
    requests: usize,
    capacity: u64,
    tickets: usize,
    sold_out: usize,
    dead_lettered: usize,
    poison_dead_letters: usize,
    pushes: usize,
    emails: usize,
    duplicate_sends_after_lost_answer: usize,
    duplicate_sends_after_kill: usize,
}

#[derive(Debug, serde::Serialize)]
struct CallsView {
    total: u64,
    faulty: u64,
    percent: String,
    by_kind: String,
}

#[derive(Debug, serde::Serialize)]
struct ModelView {
    admitted: u64,
    conflicts: u64,
    conflicting_transactions: u64,
    throttled: u64,
    throttled_transactions: u64,
}

#[derive(Debug, serde::Serialize)]
struct LineView {
    line: String,
}

#[derive(Debug, serde::Serialize)]
struct FunctionView {
    binary: String,
    invocations: u64,
    duplicated: u64,
    failed: u64,
    kills: usize,
    timeouts: usize,
}

#[derive(Debug, serde::Serialize)]
struct ShownView {
    count: usize,
    shown: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
struct RedriveView {
    chaotic: bool,
    killed: bool,
    moved: u64,
    summary: String,
}

#[derive(Debug, serde::Serialize)]
struct CheckView {
    mark: &'static str,
    name: &'static str,
    rule: &'static str,
    skipped: Option<String>,
    violations: Vec<String>,
    more_violations: usize,
    notes: Vec<String>,
    more_notes: usize,
}

impl ReportView {
    pub fn new(figures: &RunFigures, verdict: &Verdict) -> Self {
        let o = &verdict.outcomes;
        Self {
            slice: figures.slice,
            summary: verdict.summary(),
            exits: if figures.unexpected_exits.is_empty() {
                String::new()
            } else {
                format!("; FAILED: {} unexpected worker exits", figures.unexpected_exits.len())
            },
            reproduce: figures
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            duration_s: format!("{:.0}", figures.duration.as_secs_f64()),
            storm_s: format!("{:.0}", figures.storm.as_secs_f64()),
            settled: figures.settled,
            o: OutcomesView {
                requests: o.requests,
                capacity: o.capacity,
                tickets: o.tickets,
                sold_out: o.sold_out,
                dead_lettered: o.dead_lettered,
                poison_dead_letters: o.poison_dead_letters,
                pushes: o.pushes,
                emails: o.emails,
                duplicate_sends_after_lost_answer: o.duplicate_sends_after_lost_answer,
                duplicate_sends_after_kill: o.duplicate_sends_after_kill,
            },
            events: figures.events,
            producer_duplicates: figures.producer_duplicates,
            poison: figures.poison,
            messages_sent: figures.messages_sent,
            calls: calls_view(&figures.proxy),
            model: model_view(&figures.model),
            services: service_lines(&figures.proxy),
            functions: figures
                .functions
                .iter()
                .map(|(binary, f)| FunctionView {
                    binary: binary.clone(),
                    invocations: f.invocations,
                    duplicated: f.duplicated,
                    failed: f.failed,
                    kills: f.kills,
                    timeouts: f.timeouts,
                })
                .collect(),
            freezes: figures.freezes,
            clock_offsets: figures.clock_offsets.join(", "),
            unexpected_exits: ShownView {
                count: figures.unexpected_exits.len(),
                shown: figures.unexpected_exits.iter().take(SHOWN).cloned().collect(),
            },
            supervisor_errors: figures.supervisor_errors.iter().take(SHOWN).cloned().collect(),
            redrive: figures
                .redrive
                .iter()
                .map(|r| RedriveView {
                    chaotic: r.chaotic,
                    killed: r.killed,
                    moved: r.moved,
                    summary: r.summary.clone(),
                })
                .collect(),
            checks: verdict.checks.iter().map(check_view).collect(),
            log_dir: figures.log_dir.clone(),
        }
    }
}

fn calls_view(proxy: &FaultCounts) -> CallsView {
    let total: u64 = proxy.values().sum();
    let faulty: u64 = proxy
        .iter()
        .filter(|((_, outcome), _)| *outcome != Outcome::Forwarded)
        .map(|(_, n)| n)
        .sum();
    let by_kind = |kind: Outcome| -> u64 {
        proxy
            .iter()
            .filter(|((_, outcome), _)| *outcome == kind)
            .map(|(_, n)| n)
            .sum()
    };
    CallsView {
        total,
        faulty,
        percent: format!("{:.1}", percent(faulty, total)),
        by_kind: Outcome::ALL_FAULTS
            .iter()
            .map(|k| format!("{} {}", k.name(), by_kind(*k)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn model_view(model: &emulation::limits::ModelCounts) -> Option<ModelView> {
    if model.is_empty() {
        return None;
    }
    let count = |transactions_only: bool, wanted: ModelVerdict| -> u64 {
        model
            .iter()
            .filter(|(operation, _)| !transactions_only || operation.contains("Transact"))
            .flat_map(|(_, by_verdict)| by_verdict.iter())
            .filter(|(v, _)| **v == wanted)
            .map(|(_, n)| n)
            .sum()
    };
    Some(ModelView {
        admitted: count(false, ModelVerdict::Admitted),
        conflicts: count(false, ModelVerdict::Conflict),
        conflicting_transactions: count(true, ModelVerdict::Conflict),
        throttled: count(false, ModelVerdict::Throttled),
        throttled_transactions: count(true, ModelVerdict::Throttled),
    })
}

/// One line per service that had calls: its calls and faults.
fn service_lines(proxy: &FaultCounts) -> Vec<LineView> {
    let mut lines = Vec::new();
    for service in Service::ALL {
        let calls: u64 = proxy.iter().filter(|((s, _), _)| *s == service).map(|(_, n)| n).sum();
        if calls == 0 {
            continue;
        }
        let service_faults: u64 = proxy
            .iter()
            .filter(|((s, outcome), _)| *s == service && *outcome != Outcome::Forwarded)
            .map(|(_, n)| n)
            .sum();
        lines.push(LineView {
            line: format!(
                "{:<8} {calls:>6} calls, {service_faults:>5} faulty ({:.1}%)",
                service.name(),
                percent(service_faults, calls)
            ),
        });
    }
    lines
}

fn check_view(check: &crate::invariants::Check) -> CheckView {
    CheckView {
        mark: match (&check.skipped, check.failed()) {
            (_, true) => "FAIL",
            (Some(_), false) => "SKIPPED",
            (None, false) => "PASS",
        },
        name: check.name,
        rule: check.rule,
        skipped: check.skipped.clone(),
        violations: check.violations.iter().take(SHOWN).cloned().collect(),
        more_violations: check.violations.len().saturating_sub(SHOWN),
        notes: check.notes.iter().take(SHOWN).cloned().collect(),
        more_notes: check.notes.len().saturating_sub(SHOWN),
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::{Check, Outcomes};
    use emulation::limits::Verdict as ModelVerdict;

    /// Figures and a verdict with every section of the report filled: model counts, clock
    /// offsets, unexpected exits, supervisor errors, a killed redrive round, and checks that
    /// pass, fail (with more violations and notes than shown) and were skipped.
    pub(crate) fn everything() -> (RunFigures, Verdict) {
        let mut proxy = FaultCounts::new();
        proxy.insert((Service::Sqs, Outcome::Forwarded), 90);
        proxy.insert((Service::Sqs, Outcome::Reset), 10);
        proxy.insert((Service::DynamoDb, Outcome::AnswerLost), 5);
        let model = BTreeMap::from([(
            "TransactWriteItems".to_owned(),
            BTreeMap::from([
                (ModelVerdict::Admitted, 7),
                (ModelVerdict::Conflict, 3),
                (ModelVerdict::Throttled, 1),
            ]),
        )]);
        let figures = RunFigures {
            slice: "FIFO queues",
            parameters: vec![("CHAOS_SEED", "1".to_owned())],
            duration: Duration::from_secs(61),
            storm: Duration::from_secs(40),
            settled: false,
            messages_sent: 71,
            producer_duplicates: 9,
            poison: 3,
            events: 4,
            functions: BTreeMap::from([(
                "ticket-processor".to_owned(),
                FunctionFigures {
                    invocations: 12,
                    duplicated: 2,
                    failed: 1,
                    kills: 3,
                    timeouts: 1,
                },
            )]),
            freezes: 2,
            clock_offsets: vec!["ticket-processor/0: +350 ms".to_owned()],
            unexpected_exits: vec!["notification-sender/1 exited".to_owned()],
            supervisor_errors: vec!["could not kill".to_owned()],
            proxy,
            model,
            redrive: vec![RedriveRound {
                moved: 2,
                summary: "ok=true".to_owned(),
                chaotic: true,
                killed: true,
                ..RedriveRound::default()
            }],
            log_dir: "/logs".to_owned(),
        };
        let mut failing = Check::new("failing", "breaks");
        failing.violations = (0..12).map(|i| format!("violation {i}")).collect();
        failing.notes = (0..11).map(|i| format!("note {i}")).collect();
        let verdict = Verdict {
            checks: vec![
                Check::new("holding", "holds"),
                failing,
                Check::new("not-made", "skipped").skip("no record"),
            ],
            outcomes: Outcomes {
                requests: 60,
                capacity: 40,
                duplicate_sends_after_lost_answer: 1,
                duplicate_sends_after_kill: 2,
                ..Outcomes::default()
            },
        };
        (figures, verdict)
    }

    #[test]
    fn the_template_renders_every_section() {
        let (figures, verdict) = everything();
        let report = render(&figures, &verdict);
        for line in [
            "chaos run, FIFO queues: FAILED: 1 of 2 checked failed, 1 skipped; FAILED: 1 unexpected worker exits\n",
            "reproduce: CHAOS_SEED=1\n",
            "duration: 61 s (load and chaos until drained: 40 s; then faults and kills off, dlq-redrive replay, drain); DID NOT SETTLE within the time limit\n",
            "load: 60 requests over 4 events (40 seats), 9 producer duplicates, 3 poison messages: 71 messages\n",
            "\n  1 send(s) repeated, each matched by an accepted send",
            "\n  2 send(s) repeated, each matched by a SIGKILL",
            "worker calls to the emulator: 105, faulty 15 (14.3%): ",
            "limits model: 7 calls admitted, 3 TransactionConflict (3 of them transactions), 1 throttled (1 transactions)\n",
            "\n  sqs         100 calls,    10 faulty (10.0%)\n",
            "ticket-processor: 12 invocations, 2 handed to a second process too, 1 failed whole, 3 SIGKILLs, 1 killed at the deadline (timeout)\n",
            "processes frozen until their deadline: 2\n",
            "wall-clock offsets (libfaketime): ticket-processor/0: +350 ms\n",
            "unexpected worker exits: 1\n  - notification-sender/1 exited\n",
            "  supervisor error: could not kill\n",
            "dlq-redrive round 1 under faults and kills, its process killed mid-replay: moved 2 (ok=true)\n",
            "invariants:\n  PASS holding: holds\n  FAIL failing: breaks\n       - violation 0\n",
            "       - violation 9\n       … and 2 more\n       note: note 0\n",
            "       note: note 9\n       note: … and 1 more\n",
            "  SKIPPED not-made: skipped\n       not checked: no record\n",
            "worker logs: /logs\n",
        ] {
            assert!(report.contains(line), "{line:?} missing from:\n{report}");
        }
        assert!(report.ends_with("worker logs: /logs\n"), "{report}");
        assert!(!report.contains("violation 10"), "{report}");
    }

    #[test]
    fn a_quiet_run_leaves_the_optional_lines_out() {
        let (mut figures, mut verdict) = everything();
        figures.model.clear();
        figures.clock_offsets.clear();
        figures.settled = true;
        verdict.outcomes = Outcomes::default();
        let report = render(&figures, &verdict);
        for absent in [
            "limits model:",
            "wall-clock offsets",
            "DID NOT SETTLE",
            "send(s) repeated",
        ] {
            assert!(!report.contains(absent), "{absent:?} in:\n{report}");
        }
    }

    #[test]
    fn the_overall_verdict_counts_every_slice() {
        let (mut figures, verdict) = everything();
        figures.settled = true;
        figures.unexpected_exits.clear();
        let line = overall(&[(figures.clone(), verdict.clone()), (figures, verdict)]);
        assert_eq!(
            line,
            "chaos run FAILED: 2 of 4 checked failed, 2 skipped (FIFO queues 2, FIFO queues 2)"
        );
    }
}
