//! A function's environment sets every variable its code reads, and none that Lambda reserves.
//!
//! Callers pass the names from the crates themselves (`shared::worker::env::ALL`,
//! `ticket_processor::ENV_VARS`, ...), so a variable added to the code fails this check until
//! the template sets it.

use crate::Finding;
use cfn_model::template::{Node, Template};

/// Lambda sets `AWS_*` variables itself (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_REGION`, ...) and
/// rejects a function configuration that sets reserved ones.
pub const RESERVED_PREFIX: &str = "AWS_";

pub fn check(template: &Template, function_id: &str, variables: &[&str]) -> Vec<Finding> {
    let Some(function) = template.functions().find(|f| f.id == function_id) else {
        return vec![Finding::new(function_id, "is not a function of the template")];
    };
    let environment = template.environment(&function);
    let set = |name: &str| environment.iter().any(|(n, value)| *n == name && **value != Node::Null);
    let mut findings = Vec::new();
    for &name in variables {
        if name.starts_with(RESERVED_PREFIX) {
            if set(name) {
                findings.push(Finding::new(
                    function_id,
                    format!("sets {name}, which Lambda sets itself: the deployment would fail"),
                ));
            }
        } else if !set(name) {
            findings.push(Finding::new(
                function_id,
                format!("does not set {name}, which its code reads: the function would fail at cold start or run misconfigured"),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated};

    #[test]
    fn set_variables_pass_and_reserved_ones_are_left_to_lambda() {
        let findings = check(
            &good(),
            "WorkerFunction",
            &["DEAD_LETTER_QUEUE_URL", "TABLE", "AWS_LAMBDA_FUNCTION_NAME"],
        );
        assert_eq!(findings, []);
    }

    #[test]
    fn a_variable_the_code_reads_but_the_template_does_not_set_is_reported() {
        let findings = check(&good(), "WorkerFunction", &["TABLE", "NEW_SETTING"]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("does not set NEW_SETTING"));
    }

    #[test]
    fn a_null_value_counts_as_unset() {
        let template = mutated("TABLE: table", "TABLE:");
        assert!(
            check(&template, "WorkerFunction", &["TABLE"])[0]
                .message
                .contains("does not set TABLE")
        );
    }

    #[test]
    fn setting_a_reserved_variable_is_reported() {
        let template = mutated("TABLE: table", "AWS_LAMBDA_FUNCTION_NAME: worker");
        let findings = check(&template, "WorkerFunction", &["AWS_LAMBDA_FUNCTION_NAME"]);
        assert!(findings[0].message.contains("which Lambda sets itself"), "{findings:?}");
    }

    #[test]
    fn an_unknown_function_is_reported() {
        assert!(
            check(&good(), "NoSuchFunction", &[])[0]
                .message
                .contains("is not a function")
        );
    }
}
