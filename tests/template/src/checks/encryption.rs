//! Every queue is encrypted at rest: SSE-SQS (`SqsManagedSseEnabled`) or SSE-KMS
//! (`KmsMasterKeyId`). checkov's CKV_AWS_27 only knows the latter and is suppressed in the
//! template for SSE-SQS queues; this check keeps that suppression honest.

use serde_json::Value;

use crate::Finding;
use crate::checks::ScenarioFindings;
use cfn_model::template::{SQS_QUEUE, Template};
use cfn_model::{Evaluator, Scenario};

pub fn check(template: &Template, scenarios: &[Scenario]) -> Vec<Finding> {
    let mut findings = ScenarioFindings::new(scenarios);
    for queue in template.resources_of(SQS_QUEUE) {
        for scenario in scenarios {
            let evaluator = Evaluator::new(template, scenario);
            let value = |name: &str| {
                queue
                    .property(name)
                    .and_then(|node| evaluator.eval(node).ok().flatten())
            };
            let sse_sqs = matches!(value("SqsManagedSseEnabled"), Some(Value::Bool(true)))
                || matches!(value("SqsManagedSseEnabled"), Some(Value::String(s)) if s == "true");
            let sse_kms = matches!(value("KmsMasterKeyId"), Some(Value::String(s)) if !s.is_empty());
            if !sse_sqs && !sse_kms {
                let finding = Finding::new(
                    queue.id,
                    "is not encrypted at rest: set SqsManagedSseEnabled: true (or KmsMasterKeyId)",
                );
                findings.add(finding, scenario);
            }
        }
    }
    findings.into_findings()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated, scenarios};

    #[test]
    fn the_fixture_passes() {
        let template = good();
        assert_eq!(check(&template, &scenarios(&template)), []);
    }

    #[test]
    fn an_unencrypted_queue_is_reported() {
        let template = mutated(
            "      VisibilityTimeout: 210\n      SqsManagedSseEnabled: true\n",
            "      VisibilityTimeout: 210\n      SqsManagedSseEnabled: false\n",
        );
        let findings = check(&template, &scenarios(&template));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].resource, "WorkQueue");
    }

    #[test]
    fn a_kms_key_counts_as_encryption() {
        let template = mutated(
            "      VisibilityTimeout: 210\n      SqsManagedSseEnabled: true\n",
            "      VisibilityTimeout: 210\n      KmsMasterKeyId: alias/aws/sqs\n",
        );
        assert_eq!(check(&template, &scenarios(&template)), []);
    }
}
