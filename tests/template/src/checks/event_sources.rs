//! Every SQS event reports partial batch failures, sets its batching knobs (its scaling:
//! [`super::scaling`]) and publishes its own metrics (`MetricsConfig: {Metrics: [EventCount]}`:
//! polled, invoked, failed, deleted events; without it an operator cannot tell an idle queue from a
//! stuck poller).
//!
//! cfn-lint accepts any string in `FunctionResponseTypes`, so a misspelt
//! `ReportBatchItemFailure` deploys, and Lambda then ignores the `batchItemFailures` the
//! functions return: one failed record makes SQS redeliver the whole batch.

use crate::{Finding, checks::sqs_event_sources};
use cfn_model::template::{Node, Template};

pub const REPORT_BATCH_ITEM_FAILURES: &str = "ReportBatchItemFailures";
pub const EVENT_COUNT: &str = "EventCount";

/// Settings every SQS event sets (issue: batch size and batching window are parameters).
const REQUIRED: [(&[&str], &str); 2] = [
    (&["BatchSize"], "records per invocation"),
    (
        &["MaximumBatchingWindowInSeconds"],
        "how long the event source waits to fill a batch",
    ),
];

pub fn check(template: &Template) -> Vec<Finding> {
    let mut findings = Vec::new();
    for source in sqs_event_sources(template) {
        let response_types: Vec<String> = source
            .properties
            .get("FunctionResponseTypes")
            .map(|types| types.items().into_iter().map(describe).collect())
            .unwrap_or_default();
        if !response_types.iter().any(|t| t == REPORT_BATCH_ITEM_FAILURES) {
            findings.push(Finding::new(
                &source.name,
                format!(
                    "FunctionResponseTypes is {response_types:?}, without {REPORT_BATCH_ITEM_FAILURES}: Lambda \
                     ignores the batchItemFailures the function returns and redelivers the whole batch when \
                     one record fails"
                ),
            ));
        }
        let metrics: Vec<String> = source
            .properties
            .at(&["MetricsConfig", "Metrics"])
            .map(|metrics| metrics.items().into_iter().map(describe).collect())
            .unwrap_or_default();
        if !metrics.iter().any(|m| m == EVENT_COUNT) {
            findings.push(Finding::new(
                &source.name,
                format!(
                    "MetricsConfig.Metrics is {metrics:?}, without {EVENT_COUNT}: the event source mapping publishes                      none of its own counts (polled, invoked, failed, deleted events)"
                ),
            ));
        }
        for (path, meaning) in REQUIRED {
            if source.properties.at(path).is_none() {
                findings.push(Finding::new(
                    &source.name,
                    format!("sets no {} ({meaning}); make it a parameter", path.join(".")),
                ));
            }
        }
        if source.queue.is_none() {
            findings.push(Finding::new(
                &source.name,
                "does not name its queue as !GetAtt <queue>.Arn of a queue in this template, so its \
                 dead-letter queue and visibility timeout cannot be checked",
            ));
        }
    }
    findings
}

fn describe(node: &Node) -> String {
    node.as_str().map(str::to_owned).unwrap_or_else(|| format!("{node:?}"))
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
    fn a_misspelt_report_batch_item_failures_is_reported() {
        let template = mutated("[ReportBatchItemFailures]", "[ReportBatchItemFailure]");
        let findings = check(&template);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].resource, "WorkerFunction.Events.Work");
        assert!(
            findings[0].message.contains(r#"["ReportBatchItemFailure"]"#),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn missing_response_types_are_reported() {
        let template = mutated("FunctionResponseTypes: [ReportBatchItemFailures]", "");
        assert!(check(&template)[0].message.contains("FunctionResponseTypes is []"));
    }

    #[test]
    fn an_event_source_without_event_count_metrics_is_reported() {
        let template = mutated("            MetricsConfig:\n              Metrics: [EventCount]\n", "");
        let findings = check(&template);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .message
                .starts_with("MetricsConfig.Metrics is [], without EventCount")
        );
    }

    #[test]
    fn missing_batch_settings_are_reported() {
        let template = mutated("BatchSize: 10", "");
        assert!(check(&template)[0].message.contains("sets no BatchSize"));
    }

    #[test]
    fn a_queue_outside_the_template_is_reported() {
        let template = mutated(
            "Queue: !GetAtt WorkQueue.Arn",
            "Queue: arn:aws:sqs:us-east-1:123456789012:elsewhere",
        );
        assert!(check(&template)[0].message.contains("does not name its queue"));
    }
}
