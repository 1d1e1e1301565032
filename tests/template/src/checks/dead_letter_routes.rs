//! The functions are told the right dead-letter queues: each SQS worker's dead-letter URL is
//! the DLQ of the queue it consumes, and dlq-redrive's routes pair every source queue with its
//! own DLQ.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::Finding;
use crate::checks::{ScenarioFindings, dead_letter_queue, sqs_event_sources, symbol_target};
use cfn_model::template::{SQS_QUEUE, Template};
use cfn_model::{Evaluator, Scenario};

/// Each SQS worker's `variable` (its DEAD_LETTER_QUEUE_URL) is `!Ref` of the dead-letter queue
/// of the queue it consumes: permanent failures go where that queue's redrive sends the rest.
pub fn check_worker_dead_letter_urls(template: &Template, scenarios: &[Scenario], variable: &str) -> Vec<Finding> {
    let mut findings = ScenarioFindings::new(scenarios);
    for source in sqs_event_sources(template) {
        let (Some(function), Some(queue)) = (source.function, source.queue) else {
            continue;
        };
        let Some((_, node)) = template
            .environment(&function)
            .into_iter()
            .find(|(n, _)| *n == variable)
        else {
            continue; // checks::environment reports a missing variable
        };
        for scenario in scenarios {
            let Ok(Some(dlq)) = dead_letter_queue(template, scenario, &queue) else {
                continue; // checks::dead_letter_queues reports it
            };
            let value = Evaluator::new(template, scenario).eval_string(node);
            let expected = format!("{{{{Ref:{}}}}}", dlq.id);
            if value.as_ref().ok().and_then(Option::as_deref) != Some(expected.as_str()) {
                let finding = Finding::new(
                    function.id,
                    format!(
                        "{variable} is {value:?}, but the dead-letter queue of {}, which it consumes, is {} \
                         (expected !Ref {})",
                        queue.id, dlq.id, dlq.id,
                    ),
                );
                findings.add(finding, scenario);
            }
        }
    }
    findings.into_findings()
}

const ROUTE_FIELDS: [&str; 5] = ["name", "dlqUrl", "dlqArn", "sourceUrl", "sourceArn"];

/// `function`'s `variable` (REDRIVE_ROUTES) is a JSON list with one route per queue that has a
/// dead-letter queue: `{"name", "dlqUrl", "dlqArn", "sourceUrl", "sourceArn"}`, each URL and ARN
/// that of the right queue.
pub fn check_redrive_routes(
    template: &Template,
    scenarios: &[Scenario],
    function_id: &str,
    variable: &str,
) -> Vec<Finding> {
    let Some(function) = template.functions().find(|f| f.id == function_id) else {
        return vec![Finding::new(function_id, "is not a function of the template")];
    };
    let Some((_, node)) = template
        .environment(&function)
        .into_iter()
        .find(|(n, _)| *n == variable)
    else {
        return vec![Finding::new(function_id, format!("does not set {variable}"))];
    };
    let mut findings = ScenarioFindings::new(scenarios);
    for scenario in scenarios {
        let mut problem =
            |message: String| findings.add(Finding::new(function_id, format!("{variable}: {message}")), scenario);
        let text = match Evaluator::new(template, scenario).eval_string(node) {
            Ok(Some(text)) => text,
            other => {
                problem(format!("does not evaluate to text: {other:?}"));
                continue;
            }
        };
        let routes = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(routes)) => routes,
            Ok(other) => {
                problem(format!("is not a JSON list: {other}"));
                continue;
            }
            Err(e) => {
                problem(format!("is not valid JSON ({e}): {text}"));
                continue;
            }
        };
        let mut names = BTreeSet::new();
        let mut routed = BTreeSet::new();
        for route in &routes {
            let field = |name: &str| route.get(name).and_then(Value::as_str).unwrap_or_default();
            let missing: Vec<&str> = ROUTE_FIELDS.iter().copied().filter(|f| field(f).is_empty()).collect();
            if !missing.is_empty() {
                problem(format!("route {route} lacks {missing:?}"));
                continue;
            }
            if !names.insert(field("name").to_owned()) {
                problem(format!("two routes are named {:?}", field("name")));
            }
            let source = symbol_target(field("sourceArn"), "GetAtt")
                .and_then(|t| t.strip_suffix(".Arn"))
                .and_then(|id| template.resource(id))
                .filter(|r| r.kind == SQS_QUEUE);
            let Some(source) = source else {
                problem(format!(
                    "route {:?}: sourceArn {} is not !GetAtt <queue>.Arn",
                    field("name"),
                    field("sourceArn")
                ));
                continue;
            };
            routed.insert(source.id);
            let dlq = match dead_letter_queue(template, scenario, &source) {
                Ok(Some(dlq)) => dlq,
                _ => {
                    problem(format!(
                        "route {:?}: {} has no dead-letter queue",
                        field("name"),
                        source.id
                    ));
                    continue;
                }
            };
            let expected = [
                ("sourceUrl", format!("{{{{Ref:{}}}}}", source.id)),
                ("dlqUrl", format!("{{{{Ref:{}}}}}", dlq.id)),
                ("dlqArn", format!("{{{{GetAtt:{}.Arn}}}}", dlq.id)),
            ];
            for (name, value) in expected {
                if field(name) != value {
                    problem(format!(
                        "route {:?}: {name} is {}, expected {value} ({} dead-letters into {})",
                        field("name"),
                        field(name),
                        source.id,
                        dlq.id
                    ));
                }
            }
        }
        for queue in template.resources_of(SQS_QUEUE) {
            if queue.property("RedrivePolicy").is_some() && !routed.contains(queue.id) {
                problem(format!("has no route for {}, which has a dead-letter queue", queue.id));
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
        let scenarios = scenarios(&template);
        assert_eq!(
            check_worker_dead_letter_urls(&template, &scenarios, "DEAD_LETTER_QUEUE_URL"),
            []
        );
        assert_eq!(
            check_redrive_routes(&template, &scenarios, "RedriveFunction", "ROUTES"),
            []
        );
    }

    #[test]
    fn a_worker_pointed_at_the_wrong_dead_letter_queue_is_reported() {
        let template = mutated(
            "DEAD_LETTER_QUEUE_URL: !Ref WorkDeadLetterQueue",
            "DEAD_LETTER_QUEUE_URL: !Ref WorkQueue",
        );
        let findings = check_worker_dead_letter_urls(&template, &scenarios(&template), "DEAD_LETTER_QUEUE_URL");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("expected !Ref WorkDeadLetterQueue"));
    }

    #[test]
    fn a_route_with_a_swapped_url_is_reported() {
        let template = mutated(r#""dlqUrl":"${WorkDeadLetterQueue}""#, r#""dlqUrl":"${WorkQueue}""#);
        let findings = check_redrive_routes(&template, &scenarios(&template), "RedriveFunction", "ROUTES");
        assert!(
            findings[0]
                .message
                .contains("dlqUrl is {{Ref:WorkQueue}}, expected {{Ref:WorkDeadLetterQueue}}"),
            "{findings:?}"
        );
    }

    #[test]
    fn a_missing_route_and_invalid_json_are_reported() {
        let template = mutated(
            r#"'[{"name":"work","#,
            r#"'[{"name":"work","#.replace("[{", "[], [{").as_str(),
        );
        let findings = check_redrive_routes(&template, &scenarios(&template), "RedriveFunction", "ROUTES");
        assert!(findings[0].message.contains("is not valid JSON"), "{findings:?}");

        let template = mutated(
            r#"'[{"name":"work","dlqUrl":"${WorkDeadLetterQueue}","dlqArn":"${WorkDeadLetterQueue.Arn}","sourceUrl":"${WorkQueue}","sourceArn":"${WorkQueue.Arn}"}]'"#,
            "'[]'",
        );
        let findings = check_redrive_routes(&template, &scenarios(&template), "RedriveFunction", "ROUTES");
        assert!(
            findings[0].message.contains("has no route for WorkQueue"),
            "{findings:?}"
        );
    }
}
