//! IAM grants name their actions and resources: no `Action: "*"`, no `sqs:*`/`dynamodb:*` (no
//! wildcard action at all), no `Resource: "*"` (but for actions that have no resource-level
//! permissions: X-Ray's writes, SES's GetAccount), no NotAction/NotResource, and no policy whose
//! actions the template does not show (managed policies, SAM policy templates, SAM's own role).

use crate::Finding;
use crate::checks::permissions::WITHOUT_RESOURCE_LEVEL;
use cfn_model::template::{Node, SERVERLESS_FUNCTION, Template};

/// A policy statement and where it is, for messages.
pub struct Statement<'t> {
    pub owner: &'t str,
    pub label: String,
    pub node: &'t Node,
}

/// The statements of every identity policy in the template: roles' inline policies,
/// AWS::IAM::Policy and ManagedPolicy documents, and serverless functions' inline `Policies`.
pub fn statements(template: &Template) -> Vec<Statement<'_>> {
    let mut found = Vec::new();
    for resource in template.resources() {
        match resource.kind {
            "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => {
                for policy in resource.property("Policies").map(Node::items).unwrap_or_default() {
                    let name = policy.get("PolicyName").and_then(Node::as_str).unwrap_or("policy");
                    push_statements(
                        &mut found,
                        resource.id,
                        name,
                        policy.get("PolicyDocument").unwrap_or(&Node::Null),
                    );
                }
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                push_statements(
                    &mut found,
                    resource.id,
                    "PolicyDocument",
                    resource.property("PolicyDocument").unwrap_or(&Node::Null),
                );
            }
            SERVERLESS_FUNCTION => {
                for policy in resource.property("Policies").map(Node::items).unwrap_or_default() {
                    if policy.get("Statement").is_some() {
                        push_statements(&mut found, resource.id, "Policies", policy);
                    }
                }
            }
            _ => {}
        }
    }
    found
}

fn push_statements<'t>(found: &mut Vec<Statement<'t>>, owner: &'t str, policy: &str, document: &'t Node) {
    let statements = document.get("Statement").map(Node::items).unwrap_or_default();
    for (index, node) in statements.into_iter().enumerate() {
        let sid = node
            .get("Sid")
            .and_then(Node::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("#{index}"));
        found.push(Statement {
            owner,
            label: format!("{policy} statement {sid}"),
            node,
        });
    }
}

pub fn check(template: &Template) -> Vec<Finding> {
    let mut findings = Vec::new();
    for function in template.resources_of(SERVERLESS_FUNCTION) {
        if template.function_property(&function, "Role").is_none() {
            findings.push(Finding::new(
                function.id,
                "has no Role: SAM would create one with AWS managed policies that grant on every resource \
                 (AWSLambdaSQSQueueExecutionRole for SQS events); give it a role listing its own actions and \
                 resources",
            ));
        }
        for policy in function.property("Policies").map(Node::items).unwrap_or_default() {
            match policy {
                Node::Map(entries) if policy.get("Statement").is_none() => findings.push(Finding::new(
                    function.id,
                    format!(
                        "uses SAM policy template {:?}, whose actions the template does not show",
                        entries.iter().map(|(k, _)| k).collect::<Vec<_>>()
                    ),
                )),
                Node::Map(_) => {}
                other => findings.push(Finding::new(
                    function.id,
                    format!("attaches policy {other:?}, whose actions the template does not show"),
                )),
            }
        }
    }
    for resource in template.resources() {
        if let Some(arns) = resource.property("ManagedPolicyArns")
            && !arns.items().is_empty()
        {
            findings.push(Finding::new(
                resource.id,
                "attaches ManagedPolicyArns, whose actions the template does not show; list them inline",
            ));
        }
    }
    for statement in statements(template) {
        let node = statement.node;
        if node.get("Effect").and_then(Node::as_str) != Some("Allow") {
            continue;
        }
        let mut problem = |message: String| {
            findings.push(Finding::new(statement.owner, format!("{}: {message}", statement.label)));
        };
        for key in ["NotAction", "NotResource"] {
            if node.get(key).is_some() {
                problem(format!("uses {key}, which allows everything it does not list"));
            }
        }
        let actions = node.get("Action").map(Node::items).unwrap_or_default();
        if actions.is_empty() && node.get("NotAction").is_none() {
            problem("has no Action".to_owned());
        }
        for action in &actions {
            match action.as_str() {
                Some(action) if action.contains('*') => {
                    problem(format!("allows {action:?}; list the actions the function calls"))
                }
                Some(_) => {}
                None => problem(format!("has an action that is not a literal string: {action:?}")),
            }
        }
        // Actions with no resource-level permissions: `*` is their only resource.
        let only_without_resource_level = !actions.is_empty()
            && actions
                .iter()
                .all(|action| action.as_str().is_some_and(|a| WITHOUT_RESOURCE_LEVEL.contains(&a)));
        for resource in node.get("Resource").map(Node::items).unwrap_or_default() {
            if resource.as_str() == Some("*") && !only_without_resource_level {
                problem("allows every resource (\"*\"); name the function's own resources".to_owned());
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
    fn wildcard_actions_are_reported() {
        for wildcard in ["\"*\"", "sqs:*", "dynamodb:*", "sqs:Send*"] {
            let template = mutated("Action: sqs:SendMessage", &format!("Action: {wildcard}"));
            let findings = check(&template);
            assert_eq!(findings.len(), 1, "{wildcard}: {findings:?}");
            assert_eq!(findings[0].resource, "WorkerRole");
            assert!(
                findings[0].message.starts_with("worker statement DeadLetter: allows"),
                "{findings:?}"
            );
        }
    }

    #[test]
    fn a_wildcard_in_an_action_list_is_reported() {
        let template = mutated(
            "sqs:DeleteMessage, sqs:GetQueueAttributes]",
            "sqs:DeleteMessage, \"*\"]",
        );
        assert!(check(&template)[0].message.contains("statement Consume: allows \"*\""));
    }

    #[test]
    fn ses_get_account_alone_may_be_granted_on_every_resource() {
        let alone = mutated(
            "Action: sqs:SendMessage\n                Resource: !GetAtt WorkDeadLetterQueue.Arn",
            "Action: ses:GetAccount\n                Resource: \"*\"",
        );
        assert_eq!(check(&alone), []);
        let mixed = mutated(
            "Action: sqs:SendMessage\n                Resource: !GetAtt WorkDeadLetterQueue.Arn",
            "Action: [ses:GetAccount, sqs:SendMessage]\n                Resource: \"*\"",
        );
        assert!(check(&mixed)[0].message.contains("allows every resource"));
    }

    #[test]
    fn every_resource_and_not_action_are_reported() {
        let template = mutated("Resource: !GetAtt WorkDeadLetterQueue.Arn", "Resource: \"*\"");
        assert!(check(&template)[0].message.contains("allows every resource"));
        let template = mutated("Action: sqs:SendMessage", "NotAction: iam:*");
        let messages: Vec<String> = check(&template).into_iter().map(|f| f.message).collect();
        assert!(messages.iter().any(|m| m.contains("uses NotAction")), "{messages:?}");
    }

    #[test]
    fn every_resource_is_allowed_only_for_actions_without_resource_level_permissions() {
        let traces = "Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]\n                Resource: \"*\"";
        let template = mutated(
            "Action: sqs:SendMessage\n                Resource: !GetAtt WorkDeadLetterQueue.Arn",
            traces,
        );
        assert_eq!(check(&template), []);
        let mixed = "Action: [xray:PutTraceSegments, sqs:SendMessage]\n                Resource: \"*\"";
        let template = mutated(
            "Action: sqs:SendMessage\n                Resource: !GetAtt WorkDeadLetterQueue.Arn",
            mixed,
        );
        assert!(check(&template)[0].message.contains("allows every resource"));
    }

    #[test]
    fn a_function_without_its_own_role_is_reported() {
        let template = mutated(
            "    Properties:\n      Role: !GetAtt WorkerRole.Arn\n      Environment:\n        Variables:\n          DEAD_LETTER",
            "    Properties:\n      Environment:\n        Variables:\n          DEAD_LETTER",
        );
        let findings = check(&template);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].resource, "WorkerFunction");
        assert!(findings[0].message.contains("has no Role"));
    }

    #[test]
    fn sam_policy_templates_and_managed_policies_are_reported() {
        let template = mutated(
            "      Role: !GetAtt WorkerRole.Arn\n      Environment:\n        Variables:\n          DEAD_LETTER",
            "      Role: !GetAtt WorkerRole.Arn\n      Policies:\n        - SQSPollerPolicy: {QueueName: q}\n        - AWSLambdaExecute\n      Environment:\n        Variables:\n          DEAD_LETTER",
        );
        let messages: Vec<String> = check(&template).into_iter().map(|f| f.message).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("SAM policy template [\"SQSPollerPolicy\"]"));
        assert!(messages[1].contains("AWSLambdaExecute"));
    }
}
