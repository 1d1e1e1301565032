//! Every source queue dead-letters into a queue of the same type (standard or FIFO) that keeps
//! messages 14 days and lets only its sources use it (RedriveAllowPolicy).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::Finding;
use crate::checks::{ScenarioFindings, dead_letter_queue, is_fifo, json_property, sqs_event_sources, symbol_target};
use cfn_model::template::{Resource, SQS_QUEUE, Template};
use cfn_model::{Evaluator, Scenario};

/// 14 days, the longest SQS keeps a message: a dead letter waits as long as possible for a
/// person to look at it.
pub const DEAD_LETTER_RETENTION_SECONDS: f64 = 1_209_600.0;

pub fn check(template: &Template, scenarios: &[Scenario]) -> Vec<Finding> {
    let mut findings = ScenarioFindings::new(scenarios);
    let consumed: Vec<(String, String)> = sqs_event_sources(template)
        .into_iter()
        .filter_map(|s| s.queue.map(|q| (q.id.to_owned(), s.name)))
        .collect();
    let sources: Vec<Resource<'_>> = template
        .resources_of(SQS_QUEUE)
        .filter(|q| q.property("RedrivePolicy").is_some() || consumed.iter().any(|(id, _)| id == q.id))
        .collect();

    for scenario in scenarios {
        let evaluator = Evaluator::new(template, scenario);
        let mut found = |finding: Finding| findings.add(finding, scenario);
        // Each dead-letter queue and the sources that redrive to it, in this scenario.
        let mut dead_letter_queues: Vec<(Resource<'_>, Vec<Resource<'_>>)> = Vec::new();
        for source in &sources {
            let dlq = match dead_letter_queue(template, scenario, source) {
                Ok(Some(dlq)) => dlq,
                Ok(None) => {
                    let consumer = consumed
                        .iter()
                        .find(|(id, _)| id == source.id)
                        .map(|(_, by)| by.as_str());
                    found(Finding::new(
                        source.id,
                        format!(
                            "is consumed by {} but has no RedrivePolicy: a message that always fails is \
                             retried until its retention period ends (and blocks its FIFO message group)",
                            consumer.unwrap_or("a function")
                        ),
                    ));
                    continue;
                }
                Err(problem) => {
                    found(Finding::new(source.id, problem));
                    continue;
                }
            };
            let max_receive_count = source
                .property("RedrivePolicy")
                .map(|node| json_property(&evaluator, node))
                .and_then(Result::ok)
                .flatten()
                .and_then(|policy| policy.get("maxReceiveCount").cloned());
            if max_receive_count.is_none() {
                found(Finding::new(source.id, "RedrivePolicy has no maxReceiveCount"));
            }
            match (is_fifo(&evaluator, source), is_fifo(&evaluator, &dlq)) {
                (Ok(source_fifo), Ok(dlq_fifo)) if source_fifo != dlq_fifo => found(Finding::new(
                    source.id,
                    format!(
                        "is {} but its dead-letter queue {} is {}: a queue's dead-letter queue must be of the \
                         same type",
                        kind(source_fifo),
                        dlq.id,
                        kind(dlq_fifo)
                    ),
                )),
                (Err(e), _) | (_, Err(e)) => found(Finding::new(source.id, format!("FifoQueue: {e}"))),
                _ => {}
            }
            match dead_letter_queues.iter_mut().find(|(d, _)| d.id == dlq.id) {
                Some((_, sources)) => sources.push(*source),
                None => dead_letter_queues.push((dlq, vec![*source])),
            }
        }
        for (dlq, sources) in &dead_letter_queues {
            check_retention(&evaluator, dlq).into_iter().for_each(&mut found);
            check_redrive_allow_policy(&evaluator, dlq, sources)
                .into_iter()
                .for_each(&mut found);
        }
    }
    findings.into_findings()
}

fn kind(fifo: bool) -> &'static str {
    if fifo { "FIFO" } else { "standard" }
}

fn check_retention(evaluator: &Evaluator<'_>, dlq: &Resource<'_>) -> Option<Finding> {
    let retention = dlq
        .property("MessageRetentionPeriod")
        .and_then(|node| evaluator.eval_string(node).ok().flatten())
        .and_then(|text| text.parse::<f64>().ok());
    (retention != Some(DEAD_LETTER_RETENTION_SECONDS)).then(|| {
        Finding::new(
            dlq.id,
            format!(
                "is a dead-letter queue keeping messages {} s; keep them {DEAD_LETTER_RETENTION_SECONDS} s \
                 (14 days, the most SQS allows) so dead letters wait for a person as long as possible",
                retention.map_or("the default 345600".to_owned(), |r| r.to_string())
            ),
        )
    })
}

fn check_redrive_allow_policy(evaluator: &Evaluator<'_>, dlq: &Resource<'_>, sources: &[Resource<'_>]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let names: Vec<&str> = sources.iter().map(|s| s.id).collect();
    let policy = match dlq
        .property("RedriveAllowPolicy")
        .map(|node| json_property(evaluator, node))
    {
        None => {
            return vec![Finding::new(
                dlq.id,
                format!(
                    "has no RedriveAllowPolicy: any queue of the account may dead-letter into it; allow only \
                     {names:?} (redrivePermission byQueue)"
                ),
            )];
        }
        Some(Err(problem)) => return vec![Finding::new(dlq.id, format!("RedriveAllowPolicy {problem}"))],
        Some(Ok(policy)) => policy.unwrap_or(Value::Null),
    };
    let permission = policy.get("redrivePermission").and_then(Value::as_str);
    if permission != Some("byQueue") {
        findings.push(Finding::new(
            dlq.id,
            format!("RedriveAllowPolicy.redrivePermission is {permission:?}; byQueue limits it to {names:?}"),
        ));
    }
    let allowed: BTreeSet<String> = policy
        .get("sourceQueueArns")
        .and_then(Value::as_array)
        .map(|arns| arns.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let mut expected = BTreeSet::new();
    for source in sources {
        match source_arn(evaluator, source, &allowed) {
            Ok(arn) => {
                expected.insert(arn);
            }
            Err(problem) => findings.push(Finding::new(source.id, problem)),
        }
    }
    if allowed != expected {
        findings.push(Finding::new(
            dlq.id,
            format!(
                "RedriveAllowPolicy.sourceQueueArns is {allowed:?} but the queues dead-lettering into it are \
                 {expected:?}"
            ),
        ));
    }
    findings
}

/// The ARN by which a dead-letter queue's RedriveAllowPolicy names `source`: built from its
/// QueueName (a `!GetAtt` would be circular, the source's RedrivePolicy already refers to the
/// DLQ), or its `!GetAtt` when `allowed` uses that.
fn source_arn(evaluator: &Evaluator<'_>, source: &Resource<'_>, allowed: &BTreeSet<String>) -> Result<String, String> {
    let arn_attribute = format!("{}.Arn", source.id);
    if let Some(get_att) = allowed
        .iter()
        .find(|a| symbol_target(a, "GetAtt") == Some(arn_attribute.as_str()))
    {
        return Ok(get_att.clone());
    }
    let name = source.property("QueueName").ok_or(
        "has no QueueName, so its dead-letter queue's RedriveAllowPolicy cannot name its ARN without a \
             circular reference; give it an explicit name",
    )?;
    let name = evaluator
        .eval_string(name)
        .map_err(|e| format!("QueueName: {e}"))?
        .ok_or("QueueName is AWS::NoValue")?;
    Ok(format!(
        "arn:{{{{AWS::Partition}}}}:sqs:{{{{AWS::Region}}}}:{{{{AWS::AccountId}}}}:{name}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated, scenarios};

    fn findings(template: &Template) -> Vec<Finding> {
        check(template, &scenarios(template))
    }

    #[test]
    fn the_fixture_passes_as_standard_and_as_fifo() {
        let template = good();
        assert_eq!(scenarios(&template).len(), 2);
        assert_eq!(findings(&template), []);
    }

    #[test]
    fn a_consumed_queue_without_redrive_policy_is_reported() {
        let template = mutated(
            "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt WorkDeadLetterQueue.Arn\n        maxReceiveCount: 3\n",
            "",
        );
        let findings = findings(&template);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].resource, "WorkQueue");
        assert!(findings[0].message.contains("has no RedrivePolicy"));
    }

    #[test]
    fn a_standard_dead_letter_queue_of_a_fifo_queue_is_reported() {
        let template = mutated(
            "      FifoQueue: !If [FifoQueues, true, !Ref AWS::NoValue]\n      MessageRetentionPeriod",
            "      MessageRetentionPeriod",
        );
        let findings = findings(&template);
        assert!(
            findings.iter().any(|f| f.resource == "WorkQueue"
                && f.message
                    .contains("is FIFO but its dead-letter queue WorkDeadLetterQueue is standard")
                && f.message.contains(r#"UseFifoQueues="true""#)),
            "{findings:?}"
        );
    }

    #[test]
    fn a_short_dead_letter_retention_is_reported() {
        let template = mutated("MessageRetentionPeriod: 1209600", "MessageRetentionPeriod: 345600");
        assert!(findings(&template)[0].message.contains("keeping messages 345600 s"));
    }

    #[test]
    fn a_redrive_allow_policy_naming_another_queue_is_reported() {
        let template = mutated(
            "${AWS::StackName}-work${Suffix}\"\n            - Suffix",
            "${AWS::StackName}-other${Suffix}\"\n            - Suffix",
        );
        let findings = findings(&template);
        assert!(
            findings
                .iter()
                .any(|f| f.resource == "WorkDeadLetterQueue" && f.message.contains("-other")),
            "{findings:?}"
        );
    }

    #[test]
    fn a_redrive_permission_other_than_by_queue_is_reported() {
        let template = mutated("redrivePermission: byQueue", "redrivePermission: allowAll");
        assert!(
            findings(&template)[0]
                .message
                .contains(r#"redrivePermission is Some("allowAll")"#)
        );
    }

    #[test]
    fn a_dead_letter_target_outside_the_template_is_reported() {
        let template = mutated(
            "deadLetterTargetArn: !GetAtt WorkDeadLetterQueue.Arn",
            "deadLetterTargetArn: arn:aws:sqs:us-east-1:123456789012:elsewhere",
        );
        assert!(findings(&template)[0].message.contains("must be !GetAtt <queue>.Arn"));
    }
}
