//! The operations dashboard shows what a sale needs: for every source queue its depth and oldest
//! age, for every DLQ its depth, for every function its errors, throttles, duration and
//! concurrency, and every metric the functions' code writes (the caller passes them from the
//! crates, so a metric added to the code fails here until the dashboard shows it), under the
//! namespace and dimension the code writes them with.
//!
//! cfn-lint sees the body as an opaque string: a typo in a metric name, a dimension naming the
//! wrong function or a missing queue deploys and shows an empty graph.

use serde_json::Value;

use crate::Finding;
use crate::checks::dead_letter_queue;
use cfn_model::template::{SQS_QUEUE, Template};
use cfn_model::{Evaluator, Scenario};

pub const DASHBOARD: &str = "AWS::CloudWatch::Dashboard";

/// One graphed metric: namespace, name, and its dimensions as evaluated (`{{Ref:Function}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphed {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

/// Every metric the template's dashboards graph, in `scenario`.
pub fn graphed(template: &Template, scenario: &Scenario) -> Result<Vec<Graphed>, Finding> {
    let evaluator = Evaluator::new(template, scenario);
    let mut graphed = Vec::new();
    for dashboard in template.resources_of(DASHBOARD) {
        let problem = |message: String| Finding::new(dashboard.id, message);
        let body = dashboard
            .property("DashboardBody")
            .ok_or_else(|| problem("has no DashboardBody".to_owned()))?;
        let text = evaluator
            .eval_string(body)
            .map_err(|e| problem(format!("DashboardBody: {e}")))?
            .unwrap_or_default();
        let body: Value =
            serde_json::from_str(&text).map_err(|e| problem(format!("DashboardBody is not valid JSON: {e}")))?;
        let widgets = body["widgets"].as_array().cloned().unwrap_or_default();
        for metrics in widgets.iter().filter_map(|w| w["properties"]["metrics"].as_array()) {
            for row in metrics {
                graphed.push(row_metric(row).ok_or_else(|| {
                    problem(format!(
                        "graphs {row}: write each metric as [namespace, name, dimension, value, ..., {{options}}] (no \".\" shorthand)"
                    ))
                })?);
            }
        }
    }
    Ok(graphed)
}

fn row_metric(row: &Value) -> Option<Graphed> {
    let parts: Vec<&str> = row
        .as_array()?
        .iter()
        .take_while(|part| part.is_string())
        .map(|part| part.as_str())
        .collect::<Option<_>>()?;
    let [namespace, name, rest @ ..] = parts.as_slice() else {
        return None;
    };
    if *namespace == "." || *name == "." || rest.len() % 2 != 0 || rest.contains(&".") {
        return None;
    }
    Some(Graphed {
        namespace: namespace.to_string(),
        name: name.to_string(),
        dimensions: rest.chunks(2).map(|p| (p[0].to_owned(), p[1].to_owned())).collect(),
    })
}

/// What the code writes: (function id, EMF namespace, dimension name, metric names).
pub struct CodeMetrics<'a> {
    pub function: &'a str,
    pub namespace: &'a str,
    pub dimension: &'a str,
    pub names: Vec<&'a str>,
}

pub fn check(template: &Template, scenarios: &[Scenario], code: &[CodeMetrics<'_>]) -> Vec<Finding> {
    let Some(scenario) = scenarios.first() else {
        return Vec::new();
    };
    if template.resources_of(DASHBOARD).next().is_none() {
        return vec![Finding::new("Resources", "has no AWS::CloudWatch::Dashboard")];
    }
    let graphed = match graphed(template, scenario) {
        Ok(graphed) => graphed,
        Err(finding) => return vec![finding],
    };
    let shown = |namespace: &str, name: &str, dimension: &str, value: &str| {
        graphed.iter().any(|g| {
            g.namespace == namespace && g.name == name && g.dimensions == [(dimension.to_owned(), value.to_owned())]
        })
    };
    let mut findings = Vec::new();
    let mut require = |resource: &str, namespace: &str, name: &str, dimension: &str, value: String| {
        if !shown(namespace, name, dimension, &value) {
            findings.push(Finding::new(
                resource,
                format!("the dashboard does not graph {namespace} {name} with {dimension} = {value}"),
            ));
        }
    };
    for function in template.functions() {
        for name in ["Errors", "Throttles", "Duration", "ConcurrentExecutions"] {
            require(
                function.id,
                "AWS/Lambda",
                name,
                "FunctionName",
                format!("{{{{Ref:{}}}}}", function.id),
            );
        }
    }
    for entry in code {
        for name in &entry.names {
            let value = format!("{{{{Ref:{}}}}}", entry.function);
            require(entry.function, entry.namespace, name, entry.dimension, value);
        }
    }
    for queue in template.resources_of(SQS_QUEUE) {
        let name = format!("{{{{GetAtt:{}.QueueName}}}}", queue.id);
        require(
            queue.id,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            name.clone(),
        );
        if let Ok(Some(_)) = dead_letter_queue(template, scenario, &queue) {
            require(queue.id, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", name);
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties: {RedrivePolicy: {deadLetterTargetArn: !GetAtt WorkDlq.Arn, maxReceiveCount: 3}}
  WorkDlq: {Type: AWS::SQS::Queue}
  Worker:
    Type: AWS::Serverless::Function
    Properties: {Handler: bootstrap}
  Board:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardBody: !Sub |
        {"widgets": [
          {"type": "metric", "properties": {"region": "${AWS::Region}", "metrics": [
            ["AWS/Lambda", "Errors", "FunctionName", "${Worker}"],
            ["AWS/Lambda", "Throttles", "FunctionName", "${Worker}"],
            ["AWS/Lambda", "Duration", "FunctionName", "${Worker}", {"stat": "p99"}],
            ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", "${Worker}"],
            ["App", "Widgets", "FunctionName", "${Worker}", {"stat": "Sum"}],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${Work.QueueName}"],
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "${Work.QueueName}"],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${WorkDlq.QueueName}"]
          ]}},
          {"type": "text", "properties": {"markdown": "hello"}}
        ]}
"#;

    fn findings(text: &str) -> Vec<Finding> {
        let template = Template::parse(text).unwrap();
        let scenarios = template.scenarios(&[]).unwrap();
        let code = [CodeMetrics {
            function: "Worker",
            namespace: "App",
            dimension: "FunctionName",
            names: vec!["Widgets"],
        }];
        check(&template, &scenarios, &code)
    }

    fn mutated(from: &str, to: &str) -> Vec<Finding> {
        assert_eq!(TEMPLATE.matches(from).count(), 1, "{from:?}");
        findings(&TEMPLATE.replacen(from, to, 1))
    }

    #[test]
    fn the_fixture_passes() {
        assert_eq!(findings(TEMPLATE), []);
    }

    #[test]
    fn a_code_metric_missing_or_under_another_namespace_or_function_is_reported() {
        let found = mutated(r#"["App", "Widgets""#, r#"["Other", "Widgets""#);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].message,
            "the dashboard does not graph App Widgets with FunctionName = {{Ref:Worker}}"
        );
        let found = mutated(
            r#""Widgets", "FunctionName", "${Worker}""#,
            r#""Widgets", "FunctionName", "worker""#,
        );
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn missing_queue_and_function_metrics_are_reported() {
        let found = mutated(
            r#"            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "${Work.QueueName}"],
"#,
            "",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].resource, "Work");
        let found = mutated(r#""ConcurrentExecutions""#, r#""Invocations""#);
        assert_eq!(found[0].resource, "Worker");
    }

    #[test]
    fn shorthand_rows_and_invalid_json_are_reported() {
        let found = mutated(r#"["AWS/Lambda", "Throttles""#, r#"[".", "Throttles""#);
        assert!(found[0].message.contains("no \".\" shorthand"), "{found:?}");
        let found = mutated(r#"{"type": "text""#, r#"{"type": text""#);
        assert!(found[0].message.contains("not valid JSON"), "{found:?}");
    }
}
