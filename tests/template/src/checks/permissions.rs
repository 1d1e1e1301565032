//! Each function's role grants exactly the actions its calls need on its own resources: every
//! (action, resource) pair the role allows must be in the function's expected list, and every
//! expected pair must be granted in some scenario.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::checks::{ScenarioFindings, iam::statements};
use crate::template::{Node, Template};
use crate::{Evaluator, Finding, Scenario};

/// An action on a resource, as [`Evaluator`] renders it: `("sqs:SendMessage",
/// "{{GetAtt:NotificationQueue.Arn}}")`.
pub type Grant = (String, String);

/// What the function's role allows in `scenario`.
pub fn grants(template: &Template, function_id: &str, scenario: &Scenario) -> Result<BTreeSet<Grant>, String> {
    let function = template
        .functions()
        .find(|f| f.id == function_id)
        .ok_or("is not a function of the template")?;
    let role = template
        .function_property(&function, "Role")
        .and_then(Node::get_att_target)
        .filter(|(_, attribute)| *attribute == "Arn")
        .map(|(id, _)| id)
        .ok_or("has no Role: !GetAtt <role>.Arn")?;
    let evaluator = Evaluator::new(template, scenario);
    let mut granted = BTreeSet::new();
    for statement in statements(template).into_iter().filter(|s| s.owner == role) {
        if statement.node.get("Effect").and_then(Node::as_str) != Some("Allow") {
            continue;
        }
        let list = |key: &str| -> Result<Vec<String>, String> {
            match statement.node.get(key) {
                None => Ok(Vec::new()),
                Some(node) => match evaluator
                    .eval(node)
                    .map_err(|e| format!("{}: {key}: {e}", statement.label))?
                {
                    None => Ok(Vec::new()),
                    Some(value) => texts(&value).ok_or_else(|| format!("{}: {key} is not text", statement.label)),
                },
            }
        };
        for action in list("Action")? {
            for resource in list("Resource")? {
                granted.insert((action.clone(), resource));
            }
        }
    }
    Ok(granted)
}

pub fn check(
    template: &Template,
    scenarios: &[Scenario],
    function_id: &str,
    expected: &[(&str, &str)],
) -> Vec<Finding> {
    let expected: BTreeSet<Grant> = expected.iter().map(|(a, r)| (a.to_string(), r.to_string())).collect();
    let mut findings = ScenarioFindings::new(scenarios);
    let mut ever_granted = BTreeSet::new();
    for scenario in scenarios {
        let granted = match grants(template, function_id, scenario) {
            Ok(granted) => granted,
            Err(problem) => return vec![Finding::new(function_id, problem)],
        };
        for (action, resource) in granted.difference(&expected) {
            let finding = Finding::new(
                function_id,
                format!("may {action} on {resource}, which none of its calls needs"),
            );
            findings.add(finding, scenario);
        }
        ever_granted.extend(granted);
    }
    let mut findings = findings.into_findings();
    for (action, resource) in expected.difference(&ever_granted) {
        findings.push(Finding::new(
            function_id,
            format!("may not {action} on {resource}, which its calls need"),
        ));
    }
    findings
}

/// A string or a list of strings (an evaluated Action or Resource), as texts.
pub(crate) fn texts(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated, scenarios};

    const WORKER: [(&str, &str); 4] = [
        ("sqs:ReceiveMessage", "{{GetAtt:WorkQueue.Arn}}"),
        ("sqs:DeleteMessage", "{{GetAtt:WorkQueue.Arn}}"),
        ("sqs:GetQueueAttributes", "{{GetAtt:WorkQueue.Arn}}"),
        ("sqs:SendMessage", "{{GetAtt:WorkDeadLetterQueue.Arn}}"),
    ];

    #[test]
    fn the_fixture_grants_exactly_the_expected_pairs() {
        let template = good();
        assert_eq!(check(&template, &scenarios(&template), "WorkerFunction", &WORKER), []);
    }

    #[test]
    fn an_extra_grant_is_reported() {
        let template = mutated(
            "Resource: !GetAtt WorkDeadLetterQueue.Arn",
            "Resource: [!GetAtt WorkDeadLetterQueue.Arn, !GetAtt WorkQueue.Arn]",
        );
        let findings = check(&template, &scenarios(&template), "WorkerFunction", &WORKER);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .message
                .starts_with("may sqs:SendMessage on {{GetAtt:WorkQueue.Arn}}")
        );
    }

    #[test]
    fn a_missing_grant_is_reported() {
        let template = mutated(
            "[sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]",
            "[sqs:ReceiveMessage, sqs:DeleteMessage]",
        );
        let findings = check(&template, &scenarios(&template), "WorkerFunction", &WORKER);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .message
                .starts_with("may not sqs:GetQueueAttributes on {{GetAtt:WorkQueue.Arn}}")
        );
    }
}
