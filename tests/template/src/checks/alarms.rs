//! The alarms an operator needs during a sale, each notifying someone (`AlarmActions`):
//! - every function: `AWS/Lambda` `Errors` (whole invocations failed) and `Throttles`;
//! - every dead-letter queue: dead letters **arriving**, even while it already holds some (a
//!   metric-math alarm over `NumberOfMessagesSent` and the change of visible + in-flight
//!   messages: SQS does not count the messages its redrive policy moves in `NumberOfMessagesSent`),
//!   and dead letters about to **expire**: days left = (DLQ retention − source retention − age of
//!   the oldest message) / 86400, alarmed at a threshold that leaves at least a day.
//!
//! cfn-lint checks an alarm's shape, not whether the alarms that matter exist or watch the right
//! resource; a renamed dimension value or a forgotten DLQ deploys silently.

use serde_json::Value;

use crate::Finding;
use crate::checks::{ScenarioFindings, dead_letter_queue};
use cfn_model::template::{Node, Resource, SQS_QUEUE, Template};
use cfn_model::{Evaluator, Scenario};

pub const ALARM: &str = "AWS::CloudWatch::Alarm";
/// SQS's default `MessageRetentionPeriod` (4 days).
pub const DEFAULT_RETENTION: f64 = 345_600.0;
const DAY: f64 = 86_400.0;

/// A metric an alarm reads: its query id (metric-math alarms), namespace, name and dimensions.
#[derive(Debug)]
pub struct AlarmMetric<'t> {
    pub id: Option<&'t str>,
    pub namespace: &'t str,
    pub name: &'t str,
    pub dimensions: Vec<(&'t str, &'t Node)>,
}

impl AlarmMetric<'_> {
    /// Whether this is `namespace`/`name` with dimension `dimension` set to `target` (the
    /// resource a `!Ref` or `!GetAtt <id>.<attribute>` names).
    fn is(&self, namespace: &str, name: &str, dimension: &str, target: Target<'_>) -> bool {
        self.namespace == namespace
            && self.name == name
            && self
                .dimensions
                .iter()
                .any(|(d, value)| *d == dimension && target.matches(value))
    }
}

#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Ref(&'a str),
    GetAtt(&'a str, &'a str),
}

impl Target<'_> {
    fn matches(&self, node: &Node) -> bool {
        match *self {
            Target::Ref(id) => node.ref_target() == Some(id),
            Target::GetAtt(id, attribute) => node.get_att_target() == Some((id, attribute)),
        }
    }
}

/// An alarm's metrics, expressions and whether it notifies anyone.
#[derive(Debug)]
pub struct AlarmView<'t> {
    pub resource: Resource<'t>,
    pub metrics: Vec<AlarmMetric<'t>>,
    /// The math expressions of a metric-math alarm.
    pub expressions: Vec<&'t str>,
    pub notifies: bool,
}

pub fn alarms(template: &Template) -> Vec<AlarmView<'_>> {
    template
        .resources_of(ALARM)
        .map(|resource| {
            let mut metrics = Vec::new();
            let mut expressions = Vec::new();
            if let Some(name) = resource.property("MetricName").and_then(Node::as_str) {
                metrics.push(metric(None, resource.properties(), name));
            }
            for query in resource.property("Metrics").map(Node::items).unwrap_or_default() {
                if let Some(expression) = query.get("Expression").and_then(Node::as_str) {
                    expressions.push(expression);
                }
                let id = query.get("Id").and_then(Node::as_str);
                if let Some(stat) = query.at(&["MetricStat", "Metric"])
                    && let Some(name) = stat.get("MetricName").and_then(Node::as_str)
                {
                    metrics.push(metric(id, stat, name));
                }
            }
            let notifies = resource
                .property("AlarmActions")
                .is_some_and(|actions| !actions.items().is_empty());
            AlarmView {
                resource,
                metrics,
                expressions,
                notifies,
            }
        })
        .collect()
}

/// The query id of the alarm's metric `namespace`/`name` on `target` (`Some(None)` for a plain
/// alarm's metric, `None` when the alarm does not read it).
fn alarm_metric_id<'t>(
    alarm: &AlarmView<'t>,
    namespace: &str,
    name: &str,
    dimension: &str,
    target: Target<'_>,
) -> Option<Option<&'t str>> {
    alarm
        .metrics
        .iter()
        .find(|m| m.is(namespace, name, dimension, target))
        .map(|m| m.id)
}

fn metric<'t>(id: Option<&'t str>, node: &'t Node, name: &'t str) -> AlarmMetric<'t> {
    let dimensions = node
        .get("Dimensions")
        .map(Node::items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| Some((d.get("Name")?.as_str()?, d.get("Value")?)))
        .collect();
    AlarmMetric {
        id,
        namespace: node.get("Namespace").and_then(Node::as_str).unwrap_or_default(),
        name,
        dimensions,
    }
}

pub fn check(template: &Template, scenarios: &[Scenario]) -> Vec<Finding> {
    let alarms = alarms(template);
    let mut findings = Vec::new();
    for function in template.functions() {
        for (metric, why) in [
            (
                "Errors",
                "whole invocations that failed (every record of the batch comes back)",
            ),
            ("Throttles", "invocations Lambda refused to start"),
        ] {
            let watched = alarms.iter().any(|alarm| {
                alarm.notifies
                    && alarm
                        .metrics
                        .iter()
                        .any(|m| m.is("AWS/Lambda", metric, "FunctionName", Target::Ref(function.id)))
            });
            if !watched {
                findings.push(Finding::new(
                    function.id,
                    format!(
                        "no alarm that notifies anyone watches AWS/Lambda {metric} with FunctionName = !Ref {}: {why} would go unnoticed",
                        function.id
                    ),
                ));
            }
        }
    }
    let mut dead_letter = ScenarioFindings::new(scenarios);
    for scenario in scenarios {
        for queue in template.resources_of(SQS_QUEUE) {
            let Ok(Some(dlq)) = dead_letter_queue(template, scenario, &queue) else {
                continue; // no DLQ, or a broken policy the dead_letter_queues check reports
            };
            let evaluator = Evaluator::new(template, scenario);
            for finding in check_dead_letter_queue(&alarms, &evaluator, &queue, &dlq) {
                dead_letter.add(finding, scenario);
            }
        }
    }
    findings.extend(dead_letter.into_findings());
    findings
}

fn check_dead_letter_queue<'t>(
    alarms: &[AlarmView<'t>],
    evaluator: &Evaluator<'_>,
    source: &Resource<'_>,
    dlq: &Resource<'_>,
) -> Vec<Finding> {
    let queue = Target::GetAtt(dlq.id, "QueueName");
    let on_dlq = |alarm: &AlarmView<'t>, name: &str| alarm_metric_id(alarm, "AWS/SQS", name, "QueueName", queue);
    let mut findings = Vec::new();
    let arrivals = alarms.iter().any(|alarm| {
        alarm.notifies
            && [
                "NumberOfMessagesSent",
                "ApproximateNumberOfMessagesVisible",
                "ApproximateNumberOfMessagesNotVisible",
            ]
            .iter()
            .all(|name| on_dlq(alarm, name).is_some())
            && alarm.expressions.iter().any(|e| e.contains("DIFF("))
    });
    if !arrivals {
        findings.push(Finding::new(
            dlq.id,
            "no alarm notifies when dead letters arrive: a metric-math alarm over NumberOfMessagesSent (the workers' \
             own dead letters) and DIFF of ApproximateNumberOfMessagesVisible + ApproximateNumberOfMessagesNotVisible \
             (what SQS's redrive policy moves, which NumberOfMessagesSent does not count); a not-empty alarm \
             notifies only when the queue first fills",
        ));
    }
    let retention = |queue: &Resource<'_>| -> Option<f64> {
        match queue.property("MessageRetentionPeriod") {
            None => Some(DEFAULT_RETENTION),
            Some(node) => evaluator.eval_string(node).ok()??.parse().ok(),
        }
    };
    let (Some(kept), Some(source_kept)) = (retention(dlq), retention(source)) else {
        findings.push(Finding::new(dlq.id, "MessageRetentionPeriod is not a number"));
        return findings;
    };
    let expiry = alarms.iter().filter(|alarm| alarm.notifies).find_map(|alarm| {
        let id = on_dlq(alarm, "ApproximateAgeOfOldestMessage")??;
        let expected = format!("({kept} - {source_kept} - {id}) / 86400");
        let squeeze = |text: &str| text.split_whitespace().collect::<String>();
        alarm
            .expressions
            .iter()
            .any(|e| squeeze(e) == squeeze(&expected))
            .then_some(alarm)
    });
    let Some(alarm) = expiry else {
        findings.push(Finding::new(
            dlq.id,
            format!(
                "no alarm warns before dead letters expire: one on the days left, \
                 ({kept} - {source_kept} - <ApproximateAgeOfOldestMessage id>) / 86400, its retention less the \
                 longest a message can spend in {} first (SQS counts a standard queue's retention from the first enqueue)",
                source.id
            ),
        ));
        return findings;
    };
    let threshold = alarm
        .resource
        .property("Threshold")
        .and_then(|node| evaluator.eval(node).ok().flatten())
        .and_then(|value| match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
    let days = (kept - source_kept) / DAY;
    let comparison = alarm.resource.property("ComparisonOperator").and_then(Node::as_str);
    match threshold {
        Some(t) if (1.0..days).contains(&t) && comparison.is_some_and(|c| c.starts_with("LessThan")) => {}
        _ => findings.push(Finding::new(
            alarm.resource.id,
            format!(
                "must fire when the days left fall to a threshold of at least 1 and under {days} (the most a dead \
                 letter can have left), found {threshold:?} with {comparison:?}"
            ),
        )),
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  WarningDays: {Type: Number, Default: 3}
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 345600
      RedrivePolicy: {deadLetterTargetArn: !GetAtt WorkDlq.Arn, maxReceiveCount: 3}
  WorkDlq:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
  Topic: {Type: AWS::SNS::Topic}
  Worker:
    Type: AWS::Serverless::Function
    Properties: {Handler: bootstrap}
  WorkerErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{Name: FunctionName, Value: !Ref Worker}]
      AlarmActions: [!Ref Topic]
  WorkerThrottles:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Throttles
      Dimensions: [{Name: FunctionName, Value: !Ref Worker}]
      AlarmActions: [!Ref Topic]
  Arrivals:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Metrics:
        - {Id: sent, MetricStat: {Metric: {Namespace: AWS/SQS, MetricName: NumberOfMessagesSent, Dimensions: [{Name: QueueName, Value: !GetAtt WorkDlq.QueueName}]}}}
        - {Id: visible, MetricStat: {Metric: {Namespace: AWS/SQS, MetricName: ApproximateNumberOfMessagesVisible, Dimensions: [{Name: QueueName, Value: !GetAtt WorkDlq.QueueName}]}}}
        - {Id: inFlight, MetricStat: {Metric: {Namespace: AWS/SQS, MetricName: ApproximateNumberOfMessagesNotVisible, Dimensions: [{Name: QueueName, Value: !GetAtt WorkDlq.QueueName}]}}}
        - {Id: arrived, Expression: "MAX([sent, DIFF(visible + inFlight)])"}
      AlarmActions: [!Ref Topic]
  Expiry:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Metrics:
        - {Id: age, MetricStat: {Metric: {Namespace: AWS/SQS, MetricName: ApproximateAgeOfOldestMessage, Dimensions: [{Name: QueueName, Value: !GetAtt WorkDlq.QueueName}]}}}
        - {Id: daysLeft, Expression: (1209600 - 345600 - age) / 86400}
      Threshold: !Ref WarningDays
      ComparisonOperator: LessThanOrEqualToThreshold
      AlarmActions: [!Ref Topic]
"#;

    fn findings(text: &str) -> Vec<Finding> {
        let template = Template::parse(text).unwrap();
        let scenarios = template.scenarios(&[]).unwrap();
        check(&template, &scenarios)
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
    fn a_function_without_an_errors_alarm_or_with_one_notifying_nobody_is_reported() {
        let found = mutated("MetricName: Errors", "MetricName: Invocations");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("AWS/Lambda Errors"), "{found:?}");
        let silent = TEMPLATE.replacen(
            "      AlarmActions: [!Ref Topic]\n  WorkerThrottles",
            "  WorkerThrottles",
            1,
        );
        let found = findings(&silent);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].resource, "Worker");
    }

    #[test]
    fn a_dead_letter_queue_alarmed_only_on_sends_is_reported() {
        let found = mutated(
            "{Id: arrived, Expression: \"MAX([sent, DIFF(visible + inFlight)])\"}",
            "{Id: arrived, Expression: sent}",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].resource, "WorkDlq");
        assert!(found[0].message.contains("dead letters arrive"), "{found:?}");
    }

    #[test]
    fn an_expiry_alarm_out_of_step_with_the_retentions_or_too_late_is_reported() {
        let found = mutated("MessageRetentionPeriod: 345600", "MessageRetentionPeriod: 604800");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("(1209600 - 604800 - "), "{found:?}");
        let found = mutated(
            "WarningDays: {Type: Number, Default: 3}",
            "WarningDays: {Type: Number, Default: 10}",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].resource, "Expiry");
        let found = mutated("LessThanOrEqualToThreshold", "GreaterThanThreshold");
        assert_eq!(found[0].resource, "Expiry");
    }
}
