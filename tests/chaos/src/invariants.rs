//! What must hold in the emulator's state after a run, and the figures that say how the run went.
//! Pure: [`check`] reads an [`Observed`] state against the plan, so tests hand it crafted states
//! that break one invariant each. One module per invariant (or pair of invariants judged in one
//! pass); [`check`] runs those of the end state in report order, and the run adds the ones judged
//! on the proxy's record and on moto's ([`sold_out_in_time`], [`idempotency_checks`],
//! [`sends_agree`], [`personal_data`], [`fifo_group_order`]).

mod accounted;
mod capacity;
mod drained;
mod exactly_once;
mod fifo_order;
mod idempotency;
mod matching;
mod moto_sends;
mod one_ticket;
mod personal_data;
mod poison;
mod reasons;
mod sold_out;

pub use fifo_order::{fifo_group_order, fifo_group_order_not_made};
pub use idempotency::idempotency_checks;
pub use moto_sends::{MotoSends, sends_agree};
pub use personal_data::personal_data;
pub use sold_out::sold_out_in_time;

use crate::load::LoadPlan;
use crate::observe::Observed;

/// What the run expects beyond the plan.
pub struct Expectations<'a> {
    pub plan: &'a LoadPlan,
    /// `EMAIL_SENDER`.
    pub sender: &'a str,
    /// The push topic's ARN.
    pub push_topic: &'a str,
    /// Per process, when sends and completions were accepted and when processes were killed:
    /// what a repeated send is excused by.
    pub timeline: &'a crate::ledger::Timeline,
}

/// One invariant's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub rule: &'static str,
    /// What broke it; empty when it holds.
    pub violations: Vec<String>,
    /// What is worth knowing but does not break it.
    pub notes: Vec<String>,
    /// Why the check was not made, if it was not: a check not made is SKIPPED, never PASS.
    pub skipped: Option<String>,
}

impl Check {
    pub(crate) fn new(name: &'static str, rule: &'static str) -> Self {
        Self {
            name,
            rule,
            violations: Vec::new(),
            notes: Vec::new(),
            skipped: None,
        }
    }

    /// Made, and nothing broke it. A skipped check has not passed.
    pub fn passed(&self) -> bool {
        self.skipped.is_none() && self.violations.is_empty()
    }

    /// Made, and something broke it.
    pub fn failed(&self) -> bool {
        !self.violations.is_empty()
    }

    /// Not made, and why: reported as SKIPPED, and counted apart in the verdict.
    pub fn skip(mut self, why: impl Into<String>) -> Self {
        self.skipped = Some(why.into());
        self
    }
}

/// How the requests ended, and what was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub requests: usize,
    pub tickets: usize,
    pub sold_out: usize,
    pub dead_lettered: usize,
    pub capacity: u64,
    pub pushes: usize,
    pub emails: usize,
    pub poison_dead_letters: usize,
    /// Sends beyond the first of a notification and channel, each caused by a SIGKILL between
    /// the provider's acceptance and the idempotency record.
    pub duplicate_sends_after_kill: usize,
    /// Sends beyond the first of a notification and channel, each caused by an accepted send
    /// whose answer was lost (notification-sender sends an ambiguous send again, by design).
    pub duplicate_sends_after_lost_answer: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub checks: Vec<Check>,
    pub outcomes: Outcomes,
}

impl Verdict {
    /// No check failed (skipped ones are counted by [`Verdict::skipped`], and shown).
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(Check::failed)
    }

    /// Checks made.
    pub fn checked(&self) -> usize {
        self.checks.iter().filter(|c| c.skipped.is_none()).count()
    }

    /// Checks not made.
    pub fn skipped(&self) -> usize {
        self.checks.iter().filter(|c| c.skipped.is_some()).count()
    }

    /// Every check made and none failed: a run with a check skipped has not passed.
    pub fn complete_and_passed(&self) -> bool {
        self.passed() && self.skipped() == 0
    }

    /// "PASSED: 14 checked, 0 skipped" / "INCOMPLETE: 13 checked, 1 skipped" (none failed, but
    /// not every check was made) / "FAILED: 2 of 14 checked failed, 1 skipped".
    pub fn summary(&self) -> String {
        let failed = self.checks.iter().filter(|c| c.failed()).count();
        if failed == 0 && self.skipped() == 0 {
            format!("PASSED: {} checked, 0 skipped", self.checked())
        } else if failed == 0 {
            format!("INCOMPLETE: {} checked, {} skipped", self.checked(), self.skipped())
        } else {
            format!(
                "FAILED: {failed} of {} checked failed, {} skipped",
                self.checked(),
                self.skipped()
            )
        }
    }
}

/// Every invariant of the end state, in report order. Violations are listed in full; the report
/// shortens them.
pub fn check(expect: &Expectations<'_>, observed: &Observed) -> Verdict {
    let plan: &LoadPlan = expect.plan;
    let mut outcomes = Outcomes {
        requests: plan.requests.len(),
        capacity: plan.capacity(),
        pushes: observed.pushes.len(),
        emails: observed.emails.len(),
        ..Outcomes::default()
    };
    let facts = matching::Facts::new(plan, observed);
    let expected = facts.expected();
    let matcher = matching::Matcher::new(&expected, expect);
    let counts = matching::SendCounts::new(&matcher, observed, expect.timeline);
    let told_sold_out = matching::told_sold_out(plan, observed);

    let accounted = accounted::check(&facts, &told_sold_out, &mut outcomes);
    let poison = poison::check(plan, observed, &mut outcomes);
    let reasons = reasons::check(&facts);
    let [capacity, issued] = capacity::checks(&facts);
    let one_ticket = one_ticket::check(&facts);
    let sold_out_full = sold_out::only_when_full(&facts, &told_sold_out);
    let exactly_once = exactly_once::check(&expected, &counts, expect.timeline, &mut outcomes);
    let drained = drained::check(observed);
    Verdict {
        checks: vec![
            accounted,
            poison,
            reasons,
            capacity,
            issued,
            one_ticket,
            sold_out_full,
            exactly_once,
            drained,
        ],
        outcomes,
    }
}
