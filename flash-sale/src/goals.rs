//! The goals of "Flash sale, part 2" (issue 20, issuance) and "part 3" (issue 19,
//! notifications), each with its target and how this run fares against it.

use crate::figures::{Figures, Goal};

fn goal(issue: u32, goal: &str, target: &str, measured: String, met: Option<bool>) -> Goal {
    Goal {
        issue,
        goal: goal.to_owned(),
        target: target.to_owned(),
        measured,
        met,
    }
}

pub fn goals(f: &Figures) -> Vec<Goal> {
    let mut goals = issuance(f);
    goals.extend(notifications(f));
    goals
}

/// Issue 20's goals.
fn issuance(f: &Figures) -> Vec<Goal> {
    let o = &f.outcomes;
    let t = &f.throughput;
    vec![
        goal(
            20,
            "No request ends in a DLQ (this sale has no poison)",
            "0",
            format!(
                "{} request messages ({} people without another outcome)",
                f.ticket_dead_letters, o.dead_lettered
            ),
            Some(f.ticket_dead_letters == 0),
        ),
        goal(
            20,
            "Time to ticket p99",
            "≤ 5 s",
            format!("{:.1} s", f.time_to_ticket.p99),
            Some(f.time_to_ticket.count > 0 && f.time_to_ticket.p99 <= 5.0),
        ),
        goal(
            20,
            "Time to ticket max",
            "≤ 30 s",
            format!("{:.1} s", f.time_to_ticket.max),
            Some(f.time_to_ticket.count > 0 && f.time_to_ticket.max <= 30.0),
        ),
        goal(
            20,
            &format!(
                "Fairness: refused although someone admitted > {} s later got a ticket",
                f.parameters.fairness_window_s
            ),
            "0",
            format!("{} of {} refused", f.fairness_violations, f.refused),
            Some(f.fairness_violations == 0),
        ),
        goal(
            20,
            "Tickets per second until sold out, at 4× the single-item ceiling of today's design",
            "≥ 90% of the admission rate",
            match t.mean_to_admission {
                Some(ratio) => format!(
                    "{:.0}% ({:.1} tickets/s for {:.0} admitted/s)",
                    ratio * 100.0,
                    t.mean,
                    f.parameters.admission_rate.unwrap_or(0.0)
                ),
                None => "not measured: a burst has no admission rate".to_owned(),
            },
            match (t.mean_to_admission, f.parameters.admission.as_str()) {
                (Some(ratio), "4x") => Some(ratio >= 0.9),
                _ => None,
            },
        ),
        goal(
            20,
            "No oversell, no double ticket, every request accounted once",
            "0 / 0 / all",
            format!(
                "oversold {}, double tickets {}, {} people with two outcomes, {} unresolved",
                o.oversold, o.double_tickets, o.conflicting, o.unresolved
            ),
            Some(
                o.oversold == 0
                    && o.double_tickets == 0
                    && o.conflicting == 0
                    && o.unresolved == 0
                    && o.counter_matches,
            ),
        ),
    ]
}

/// Issue 19's goals.
fn notifications(f: &Figures) -> Vec<Goal> {
    let s = &f.sends;
    let emails_floor = f.parameters.requests as f64 / s.ses_rate;
    vec![
        goal(
            19,
            "Every notification's email and push sent exactly once",
            "each once",
            format!(
                "{} repeated emails, {} repeated pushes, {} people with a ticket or sold out but no email",
                s.repeated_emails, s.repeated_pushes, s.missing_emails
            ),
            Some(s.repeated_emails == 0 && s.repeated_pushes == 0 && s.missing_emails == 0),
        ),
        goal(
            19,
            "Notifications in a DLQ",
            "0",
            s.notifications_dead_lettered.to_string(),
            Some(s.notifications_dead_lettered == 0),
        ),
        goal(
            19,
            "SES's rate never exceeded (beyond the model's one-second burst)",
            "0 sends refused for rate",
            format!(
                "{} refused; at most {} attempts in one second (rate {}/s)",
                s.ses_throttled, s.ses_attempts_max_per_second, s.ses_rate
            ),
            Some(s.ses_throttled == 0),
        ),
        goal(
            19,
            "Time to email p99, against the physical limit (people ÷ SES rate)",
            &format!("≤ {emails_floor:.0} s"),
            format!(
                "{:.1} s of {} people emailed; {} with a ticket or sold out had no email by the end",
                f.time_to_email.p99, f.time_to_email.count, s.missing_emails
            ),
            Some(f.time_to_email.count > 0 && f.time_to_email.p99 <= emails_floor && s.missing_emails == 0),
        ),
        goal(
            19,
            "A refused sender never completes a step",
            "0 silent drops",
            "not measured by a sale: issue 19's test with moto's unverified sender".to_owned(),
            None,
        ),
    ]
}
