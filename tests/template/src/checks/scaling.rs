//! Every SQS event source scales in exactly one way, in every scenario: `ScalingConfig.
//! MaximumConcurrency` (Lambda's own pollers, capped) or provisioned mode (`ProvisionedPollerConfig`
//! with `MinimumPollers` ≤ `MaximumPollers`, 2–200 and 2–2,000 for SQS). Lambda refuses a mapping
//! that sets both (Lambda developer guide, "Configuring scaling behavior for SQS event source
//! mappings": mutually exclusive), and one that sets neither starts as many invocations as the
//! queue allows; cfn-lint accepts both.

use serde_json::Value;

use crate::Finding;
use crate::checks::{ScenarioFindings, sqs_event_sources};
use cfn_model::template::Template;
use cfn_model::{Evaluator, Scenario};

/// SQS limits of provisioned mode (Lambda developer guide, "Lambda parameters for Amazon SQS
/// event source mappings"): minimum 2–200, maximum 2–2,000 pollers.
const MINIMUM_POLLERS: (u64, u64) = (2, 200);
const MAXIMUM_POLLERS: (u64, u64) = (2, 2000);

pub fn check(template: &Template, scenarios: &[Scenario]) -> Vec<Finding> {
    let mut findings = ScenarioFindings::new(scenarios);
    for source in sqs_event_sources(template) {
        for scenario in scenarios {
            let evaluator = Evaluator::new(template, scenario);
            let evaluated = |name: &str| -> Result<Option<Value>, String> {
                match source.properties.get(name) {
                    None => Ok(None),
                    Some(node) => evaluator.eval(node).map_err(|e| format!("{name}: {e}")),
                }
            };
            let problem = match (evaluated("ScalingConfig"), evaluated("ProvisionedPollerConfig")) {
                (Err(problem), _) | (_, Err(problem)) => Some(problem),
                (Ok(scaling), Ok(provisioned)) => problem(scaling.as_ref(), provisioned.as_ref()),
            };
            if let Some(problem) = problem {
                findings.add(Finding::new(&source.name, problem), scenario);
            }
        }
    }
    findings.into_findings()
}

fn problem(scaling: Option<&Value>, provisioned: Option<&Value>) -> Option<String> {
    let maximum_concurrency = scaling.and_then(|s| s.get("MaximumConcurrency"));
    match (maximum_concurrency, provisioned) {
        (Some(_), Some(_)) => Some(
            "sets both ScalingConfig.MaximumConcurrency and ProvisionedPollerConfig: Lambda refuses an SQS \
             event source mapping with both"
                .into(),
        ),
        (None, None) => Some(
            "sets neither ScalingConfig.MaximumConcurrency nor ProvisionedPollerConfig: nothing bounds the \
             invocations the queue starts; make one of them a parameter"
                .into(),
        ),
        (Some(_), None) => None,
        (None, Some(config)) => pollers_problem(config),
    }
}

fn pollers_problem(config: &Value) -> Option<String> {
    let number = |name: &str| {
        let value = config.get(name)?;
        value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && *n >= 0.0)
                    .map(|n| n as u64)
            })
            .or_else(|| value.as_str()?.parse().ok())
    };
    let (Some(minimum), Some(maximum)) = (number("MinimumPollers"), number("MaximumPollers")) else {
        return Some(format!(
            "ProvisionedPollerConfig {config} does not set numeric MinimumPollers and MaximumPollers"
        ));
    };
    let within = |n: u64, (low, high): (u64, u64)| (low..=high).contains(&n);
    if !within(minimum, MINIMUM_POLLERS) || !within(maximum, MAXIMUM_POLLERS) || minimum > maximum {
        return Some(format!(
            "ProvisionedPollerConfig has MinimumPollers {minimum} and MaximumPollers {maximum}; SQS takes \
             2-200 and 2-2000, the minimum at most the maximum"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated, scenarios};

    const CAPPED: &str = "ScalingConfig:\n              MaximumConcurrency: 5";

    fn findings(template: &Template) -> Vec<Finding> {
        check(template, &scenarios(template))
    }

    #[test]
    fn the_fixture_passes() {
        assert_eq!(findings(&good()), []);
    }

    #[test]
    fn provisioned_mode_alone_passes_and_with_maximum_concurrency_is_reported() {
        let provisioned = "ProvisionedPollerConfig:\n              MinimumPollers: 2\n              MaximumPollers: 20";
        assert_eq!(findings(&mutated(CAPPED, provisioned)), []);
        let both = mutated(CAPPED, &format!("{CAPPED}\n            {provisioned}"));
        let found = findings(&both);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("sets both"), "{}", found[0].message);
    }

    #[test]
    fn neither_and_impossible_poller_counts_are_reported() {
        assert!(findings(&mutated(CAPPED, ""))[0].message.contains("sets neither"));
        for pollers in [
            "MinimumPollers: 30\n              MaximumPollers: 20",
            "MinimumPollers: 1\n              MaximumPollers: 20",
            "MaximumPollers: 20",
        ] {
            let template = mutated(CAPPED, &format!("ProvisionedPollerConfig:\n              {pollers}"));
            let found = findings(&template);
            assert_eq!(found.len(), 1, "{pollers}: {found:?}");
            assert!(
                found[0].message.contains("ProvisionedPollerConfig"),
                "{}",
                found[0].message
            );
        }
    }

    #[test]
    fn a_mode_chosen_by_a_condition_is_checked_in_each_scenario() {
        let template = mutated(
            CAPPED,
            "ScalingConfig: !If [FifoQueues, !Ref AWS::NoValue, {MaximumConcurrency: 5}]\n            \
             ProvisionedPollerConfig: !If [FifoQueues, {MinimumPollers: 2, MaximumPollers: 20}, {MinimumPollers: 2, MaximumPollers: 20}]",
        );
        let found = findings(&template);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("sets both") && found[0].message.contains(r#"UseFifoQueues="false""#),
            "only where both apply: {}",
            found[0].message
        );
    }
}
