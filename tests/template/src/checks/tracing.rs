//! Every function traces actively in X-Ray (`Tracing: Active` on a serverless function or in
//! `Globals.Function`; `TracingConfig.Mode: Active` on a plain one): without it, a request's
//! ticket and its notification (which carries the request's trace header) leave no trace.
//! The role's X-Ray grants are checked with the rest of its permissions.

use crate::Finding;
use cfn_model::template::{LAMBDA_FUNCTION, Template};
use cfn_model::{Evaluator, Scenario};

pub fn check(template: &Template, scenarios: &[Scenario]) -> Vec<Finding> {
    let Some(scenario) = scenarios.first() else {
        return Vec::new();
    };
    let evaluator = Evaluator::new(template, scenario);
    let mut findings = Vec::new();
    for function in template.functions() {
        let mode = if function.kind == LAMBDA_FUNCTION {
            function.properties().at(&["TracingConfig", "Mode"])
        } else {
            template.function_property(&function, "Tracing")
        };
        let mode = mode.map(|node| evaluator.eval_string(node).ok().flatten());
        if mode != Some(Some("Active".to_owned())) {
            findings.push(Finding::new(
                function.id,
                format!(
                    "traces {}: set Tracing: Active (in Globals.Function for every function)",
                    describe(mode)
                ),
            ));
        }
    }
    findings
}

fn describe(mode: Option<Option<String>>) -> String {
    match mode {
        None => "nothing (no Tracing)".to_owned(),
        Some(None) => "with a Tracing that does not evaluate".to_owned(),
        Some(Some(mode)) => format!("only in mode {mode}"),
    }
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
    fn a_function_without_active_tracing_is_reported() {
        let template = mutated("    Tracing: Active\n", "");
        let findings = check(&template, &scenarios(&template));
        let resources: Vec<&str> = findings.iter().map(|f| f.resource.as_str()).collect();
        assert_eq!(resources, ["WorkerFunction", "RedriveFunction"]);
        assert!(findings[0].message.contains("no Tracing"));
        let template = mutated("    Tracing: Active\n", "    Tracing: PassThrough\n");
        assert!(
            check(&template, &scenarios(&template))[0]
                .message
                .contains("mode PassThrough")
        );
    }
}
