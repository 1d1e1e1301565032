//! Every checkov suppression says why (`Metadata.checkov.skip: [{id, comment}]`), and nothing
//! silences cfn-lint, which must pass as it is.

use crate::Finding;
use cfn_model::template::{Node, Template};

/// Shorter than this is not a reason ("n/a", "not needed").
pub const MIN_REASON_CHARS: usize = 30;

pub fn check(template: &Template) -> Vec<Finding> {
    let mut findings = Vec::new();
    if template.root().at(&["Metadata", "cfn-lint"]).is_some() {
        findings.push(Finding::new(
            "Metadata",
            "configures cfn-lint in the template; cfn-lint must pass without suppressions",
        ));
    }
    for resource in template.resources() {
        let metadata = resource.metadata();
        if metadata.get("cfn-lint").is_some() {
            findings.push(Finding::new(
                resource.id,
                "suppresses cfn-lint checks in its Metadata; cfn-lint must pass without suppressions",
            ));
        }
        let Some(checkov) = metadata.get("checkov") else {
            continue;
        };
        let skips = checkov.get("skip").map(Node::items).unwrap_or_default();
        if skips.is_empty() {
            findings.push(Finding::new(resource.id, "has Metadata.checkov without a skip list"));
        }
        for skip in skips {
            let id = skip.get("id").and_then(Node::as_str).unwrap_or_default();
            let comment = skip.get("comment").and_then(Node::as_str).unwrap_or_default().trim();
            if !id.starts_with("CKV") {
                findings.push(Finding::new(
                    resource.id,
                    format!("checkov skip {skip:?} has no check id"),
                ));
            } else if comment.chars().count() < MIN_REASON_CHARS {
                findings.push(Finding::new(
                    resource.id,
                    format!(
                        "checkov skip {id} gives no reason (comment {comment:?}); say why the check does not apply"
                    ),
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated};

    #[test]
    fn the_fixture_passes() {
        assert_eq!(check(&good()), []);
    }

    #[test]
    fn a_suppression_without_a_reason_is_reported() {
        let template = mutated(
            "comment: The function calls only AWS APIs, no resources in a VPC.",
            "comment: n/a",
        );
        let findings = check(&template);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("CKV_AWS_117 gives no reason"));

        let template = mutated(
            "\n            comment: The function calls only AWS APIs, no resources in a VPC.",
            "",
        );
        assert!(check(&template)[0].message.contains("gives no reason"));
    }

    #[test]
    fn a_cfn_lint_suppression_is_reported() {
        let template = mutated(
            "      checkov:\n",
            "      cfn-lint: {config: {ignore_checks: [W3005]}}\n      checkov:\n",
        );
        assert!(check(&template)[0].message.contains("suppresses cfn-lint"));
    }
}
