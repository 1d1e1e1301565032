//! No address of the load in clear (`no-address-in-clear`).

use super::Check;

/// No email address of the load in clear in the workers' logs, the dead letters' attributes or
/// dlq-redrive's reports: `found` is what `moto_harness::personal_data` found there, `searched`
/// says what was searched.
pub fn personal_data(found: &[moto_harness::personal_data::Found], searched: String) -> Check {
    let mut check = Check::new(
        "no-address-in-clear",
        "no email address of the load appears in clear in a log, a dead letter's attributes or a report",
    );
    check.notes.push(searched);
    check
        .violations
        .extend(found.iter().take(20).map(|finding| finding.to_string()));
    if found.len() > 20 {
        check.violations.push(format!("… and {} more", found.len() - 20));
    }
    check
}
