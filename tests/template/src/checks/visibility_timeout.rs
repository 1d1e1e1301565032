//! A queue's visibility timeout is at least six times its consumer's timeout plus the
//! batching window (AWS's advice): otherwise a batch that is still running, or that Lambda
//! retries after throttling, becomes visible again and is processed twice.

use crate::Finding;
use crate::checks::{ScenarioFindings, sqs_event_sources};
use cfn_model::template::{Node, Template};
use cfn_model::{EvalError, Evaluator, Scenario};

pub const FACTOR: f64 = 6.0;
/// What SQS and Lambda use when the template says nothing.
pub const SQS_DEFAULT_VISIBILITY_TIMEOUT: f64 = 30.0;
pub const LAMBDA_DEFAULT_TIMEOUT: f64 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// The largest value the node can take (a parameter's MaxValue).
    Max,
    /// The smallest (a parameter's MinValue).
    Min,
}

pub fn check(template: &Template, scenarios: &[Scenario]) -> Vec<Finding> {
    let mut findings = ScenarioFindings::new(scenarios);
    for source in sqs_event_sources(template) {
        let (Some(function), Some(queue)) = (source.function, source.queue) else {
            continue;
        };
        for scenario in scenarios {
            let evaluator = Evaluator::new(template, scenario);
            let number = |node: Option<&Node>, bound, default| -> Result<f64, EvalError> {
                Ok(match node {
                    None => default,
                    Some(node) => bounded(template, &evaluator, node, bound)?.unwrap_or(default),
                })
            };
            let numbers = (
                number(
                    queue.property("VisibilityTimeout"),
                    Bound::Min,
                    SQS_DEFAULT_VISIBILITY_TIMEOUT,
                ),
                number(
                    template.function_property(&function, "Timeout"),
                    Bound::Max,
                    LAMBDA_DEFAULT_TIMEOUT,
                ),
                number(source.properties.get("MaximumBatchingWindowInSeconds"), Bound::Max, 0.0),
            );
            let (visibility, timeout, window) = match numbers {
                (Ok(v), Ok(t), Ok(w)) => (v, t, w),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    findings.add(
                        Finding::new(&source.name, format!("cannot compute the timeouts: {e}")),
                        scenario,
                    );
                    continue;
                }
            };
            let needed = FACTOR * timeout + window;
            if visibility < needed {
                let finding = Finding::new(
                    queue.id,
                    format!(
                        "VisibilityTimeout is {visibility} s, less than {FACTOR} x {}'s {timeout} s timeout + its \
                         {window} s batching window = {needed} s",
                        function.id,
                    ),
                );
                findings.add(finding, scenario);
            }
        }
    }
    findings.into_findings()
}

/// The node's value in the scenario; a parameter reference counts as its MaxValue or MinValue
/// (whichever is the worst case), since any value in range may be deployed.
fn bounded(
    template: &Template,
    evaluator: &Evaluator<'_>,
    node: &Node,
    bound: Bound,
) -> Result<Option<f64>, EvalError> {
    if let Some(name) = node.ref_target()
        && let Some(parameter) = template.parameter(name)
    {
        let key = match bound {
            Bound::Max => "MaxValue",
            Bound::Min => "MinValue",
        };
        if let Some(limit) = parameter.get(key) {
            return number(evaluator, limit);
        }
    }
    if let Some(("Fn::If", Node::List(parts))) = node.intrinsic()
        && parts.len() == 3
        && let Some(condition) = parts[0].as_str()
    {
        let branch = if evaluator.condition(condition)? {
            &parts[1]
        } else {
            &parts[2]
        };
        return bounded(template, evaluator, branch, bound);
    }
    number(evaluator, node)
}

fn number(evaluator: &Evaluator<'_>, node: &Node) -> Result<Option<f64>, EvalError> {
    match evaluator.eval_string(node)? {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| EvalError::Malformed {
            function: "number".into(),
            problem: format!("{text:?} is not a number"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated, scenarios};

    fn findings(template: &Template) -> Vec<Finding> {
        check(template, &scenarios(template))
    }

    #[test]
    fn the_fixture_passes() {
        assert_eq!(findings(&good()), []);
    }

    #[test]
    fn a_visibility_timeout_under_six_function_timeouts_is_reported() {
        let findings = findings(&mutated("VisibilityTimeout: 210", "VisibilityTimeout: 179"));
        // FIFO (no batching window) needs 180 s, standard (30 s window) 210 s.
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert_eq!(findings[0].resource, "WorkQueue");
        assert!(
            findings[0]
                .message
                .contains("179 s, less than 6 x WorkerFunction's 30 s timeout + its 0 s")
        );
        assert!(findings[0].message.contains(r#"(when UseFifoQueues="true")"#));
    }

    #[test]
    fn the_batching_window_counts_at_its_parameters_maximum() {
        let findings = findings(&mutated("VisibilityTimeout: 210", "VisibilityTimeout: 200"));
        // Only the standard queue has a batching window (FIFO event sources have none).
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("30 s batching window = 210 s"));
        assert!(findings[0].message.contains(r#"UseFifoQueues="false""#));
    }

    #[test]
    fn the_default_visibility_timeout_is_too_short_for_the_global_timeout() {
        let findings = findings(&mutated("      VisibilityTimeout: 210\n", ""));
        assert!(
            findings[0].message.contains("VisibilityTimeout is 30 s"),
            "{findings:?}"
        );
    }

    #[test]
    fn the_functions_own_timeout_overrides_the_global_one() {
        let template = mutated(
            "      Role: !GetAtt WorkerRole.Arn\n      Environment:\n        Variables:\n          DEAD_LETTER",
            "      Timeout: 60\n      Role: !GetAtt WorkerRole.Arn\n      Environment:\n        Variables:\n          DEAD_LETTER",
        );
        assert!(findings(&template)[0].message.contains("60 s timeout"));
    }
}
