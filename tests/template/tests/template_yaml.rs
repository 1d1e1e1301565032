//! template.yaml against every check. The environment variables come from the function crates
//! themselves, so a variable added to the code fails here until the template sets it; the
//! expected IAM grants come from the AWS calls each crate declares (`AWS_CALLS`), and each
//! crate's sources are read to prove it declares every call it makes.
//!
//! The mutation tests break the real template in one place each and expect the check that
//! guards it to say so: a check that cannot fail proves nothing.

use cfn_model::{Scenario, Template};
use shared::aws_calls::{AwsCall, Target};
use template_checks::checks::dashboard::CodeMetrics;
use template_checks::checks::{
    alarms, dashboard, dead_letter_queues, dead_letter_routes, deploy_docs, encryption, environment, event_sources,
    iam, permissions, samconfig, scaling, source_calls, suppressions, tracing, visibility_timeout,
};
use template_checks::{Finding, report};

const TEMPLATE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");

/// A value for the parameter without a default, and alternatives to the empty defaults of the
/// optional ones, so that both branches of their conditions are checked.
const SAMPLES: [(&str, &str); 4] = [
    ("SenderEmail", "tickets@example.com"),
    ("SesConfigurationSet", "waiting-room"),
    ("AlarmEmail", "ops@example.com"),
    (
        PUSH_APPLICATIONS,
        "arn:aws:sns:us-east-1:123456789012:app/GCM/ticketing-android,arn:aws:sns:us-east-1:123456789012:app/APNS/ticketing-ios",
    ),
];

/// The parameter listing the platform applications whose device endpoints may get pushes.
const PUSH_APPLICATIONS: &str = "PushPlatformApplicationArns";
const CONTEXT: permissions::Context<'static> = permissions::Context {
    push_applications_parameter: PUSH_APPLICATIONS,
};

const REDRIVE_ROUTES: &str = "REDRIVE_ROUTES";

fn template_text() -> String {
    std::fs::read_to_string(TEMPLATE_PATH).unwrap_or_else(|e| panic!("read {TEMPLATE_PATH}: {e}"))
}

fn parse(text: &str) -> Template {
    Template::parse(text).unwrap_or_else(|e| panic!("{TEMPLATE_PATH}: {e}"))
}

fn scenarios(template: &Template) -> Vec<Scenario> {
    template.scenarios(&SAMPLES).expect("scenarios of template.yaml")
}

/// The template with `from` replaced by `to`; `from` must occur exactly once, so a mutation
/// never silently misses after the template changes.
fn mutated(from: &str, to: &str) -> Template {
    let text = template_text();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} must occur once in template.yaml"
    );
    parse(&text.replacen(from, to, 1))
}

/// Every environment variable each function's code reads.
fn environment_contract() -> Vec<(&'static str, Vec<&'static str>)> {
    let worker = |own: &[&'static str]| shared::worker::env::ALL.iter().chain(own).copied().collect();
    vec![
        ("TicketProcessorFunction", worker(ticket_processor::ENV_VARS)),
        ("NotificationSenderFunction", worker(notification_sender::ENV_VARS)),
        ("DlqRedriveFunction", dlq_redrive::ENV_VARS.to_vec()),
    ]
}

/// The AWS calls each function's code makes: its crates' declarations (`shared`'s count for
/// both SQS workers).
fn permission_contract() -> Vec<(&'static str, Vec<AwsCall>)> {
    vec![
        (
            "TicketProcessorFunction",
            [shared::worker::AWS_CALLS, ticket_processor::AWS_CALLS].concat(),
        ),
        (
            "NotificationSenderFunction",
            [shared::worker::AWS_CALLS, notification_sender::AWS_CALLS].concat(),
        ),
        ("DlqRedriveFunction", dlq_redrive::AWS_CALLS.to_vec()),
    ]
}

/// Each crate whose code calls AWS, with what it declares.
fn declarations() -> [(&'static str, &'static [AwsCall]); 4] {
    [
        ("shared", shared::worker::AWS_CALLS),
        ("ticket-processor", ticket_processor::AWS_CALLS),
        ("notification-sender", notification_sender::AWS_CALLS),
        ("dlq-redrive", dlq_redrive::AWS_CALLS),
    ]
}

/// Every metric each function's code writes (shared's and its own), from the crates.
fn metrics_contract() -> Vec<CodeMetrics<'static>> {
    use shared::metrics::{COLD_START, FUNCTION_NAME, Metric, NAMESPACE, batch};
    let names = |own: &[Metric], batch_worker: bool| {
        let shared: &[Metric] = if batch_worker { batch::ALL } else { &[] };
        let mut names = vec![COLD_START.name()];
        names.extend(shared.iter().chain(own).map(Metric::name));
        names
    };
    let code = |function, names| CodeMetrics {
        function,
        namespace: NAMESPACE,
        dimension: FUNCTION_NAME,
        names,
    };
    vec![
        code("TicketProcessorFunction", names(ticket_processor::metrics::ALL, true)),
        code(
            "NotificationSenderFunction",
            names(notification_sender::metrics::ALL, true),
        ),
        code("DlqRedriveFunction", names(dlq_redrive::metrics::ALL, false)),
    ]
}

/// Every check on `template`.
fn all_findings(template: &Template) -> Vec<Finding> {
    let scenarios = scenarios(template);
    let mut findings = Vec::new();
    findings.extend(event_sources::check(template));
    findings.extend(scaling::check(template, &scenarios));
    findings.extend(dead_letter_queues::check(template, &scenarios));
    findings.extend(visibility_timeout::check(template, &scenarios));
    for (function, variables) in environment_contract() {
        findings.extend(environment::check(template, function, &variables));
    }
    findings.extend(dead_letter_routes::check_worker_dead_letter_urls(
        template,
        &scenarios,
        shared::worker::env::DEAD_LETTER_QUEUE_URL,
    ));
    findings.extend(dead_letter_routes::check_redrive_routes(
        template,
        &scenarios,
        "DlqRedriveFunction",
        REDRIVE_ROUTES,
    ));
    findings.extend(iam::check(template));
    for (function, calls) in permission_contract() {
        findings.extend(permissions::check(template, &scenarios, function, &calls, CONTEXT));
    }
    findings.extend(encryption::check(template, &scenarios));
    findings.extend(suppressions::check(template));
    findings.extend(tracing::check(template, &scenarios));
    findings.extend(alarms::check(template, &scenarios));
    findings.extend(dashboard::check(template, &scenarios, &metrics_contract()));
    findings
}

fn assert_found(findings: &[Finding], resource: &str, needle: &str) {
    assert!(
        findings
            .iter()
            .any(|f| f.resource == resource && f.message.contains(needle)),
        "expected a finding for {resource} containing {needle:?}, got:\n{}",
        report(findings)
    );
}

#[test]
fn template_yaml_passes_every_check() {
    let findings = all_findings(&parse(&template_text()));
    assert!(findings.is_empty(), "template.yaml:\n{}", report(&findings));
}

#[test]
fn checks_run_with_standard_and_fifo_queues_and_every_optional_parameter_set_or_not() {
    let scenarios = scenarios(&parse(&template_text()));
    let described: Vec<String> = scenarios.iter().map(Scenario::describe).collect();
    for needed in [
        r#"UseFifoQueues="true""#,
        r#"UseFifoQueues="false""#,
        r#"PushPlatformApplicationArns="""#,
        r#"SesConfigurationSet="waiting-room""#,
        r#"SesConfigurationSet="""#,
        r#"AlarmEmail="ops@example.com""#,
        r#"TicketProcessorScaling="maximum-concurrency""#,
        r#"TicketProcessorScaling="provisioned-pollers""#,
    ] {
        assert!(
            described.iter().any(|d| d.contains(needed)),
            "no scenario with {needed}: {described:?}"
        );
    }
    assert!(scenarios.iter().any(|s| s.conditions["FifoQueues"]));
}

#[test]
fn the_redrive_routes_variable_is_one_the_code_reads() {
    assert!(
        dlq_redrive::ENV_VARS.contains(&REDRIVE_ROUTES),
        "{:?}",
        dlq_redrive::ENV_VARS
    );
}

#[test]
fn a_misspelt_report_batch_item_failures_fails() {
    let text = template_text().replace("- ReportBatchItemFailures", "- ReportBatchItemFailure");
    let findings = all_findings(&parse(&text));
    assert_found(
        &findings,
        "TicketProcessorFunction.Events.TicketIssueQueue",
        "ReportBatchItemFailure",
    );
    assert_found(
        &findings,
        "NotificationSenderFunction.Events.NotificationQueue",
        "ReportBatchItemFailure",
    );
}

#[test]
fn a_variable_the_code_reads_but_the_template_does_not_set_fails() {
    let findings = all_findings(&mutated(
        "          NOTIFICATION_QUEUE_URL: !Ref NotificationQueue\n",
        "",
    ));
    assert_found(
        &findings,
        "TicketProcessorFunction",
        "does not set NOTIFICATION_QUEUE_URL",
    );

    // As if the code started reading one more variable.
    let template = parse(&template_text());
    let mut variables = dlq_redrive::ENV_VARS.to_vec();
    variables.push("REDRIVE_BATCH_SIZE");
    assert_found(
        &environment::check(&template, "DlqRedriveFunction", &variables),
        "DlqRedriveFunction",
        "does not set REDRIVE_BATCH_SIZE",
    );
}

#[test]
fn a_worker_sending_permanent_failures_to_the_other_dead_letter_queue_fails() {
    let findings = all_findings(&mutated(
        "DEAD_LETTER_QUEUE_URL: !Ref NotificationDeadLetterQueue",
        "DEAD_LETTER_QUEUE_URL: !Ref TicketIssueDeadLetterQueue",
    ));
    assert_found(
        &findings,
        "NotificationSenderFunction",
        "expected !Ref NotificationDeadLetterQueue",
    );
}

#[test]
fn wildcard_actions_fail() {
    for (yaml, action) in [("\"*\"", "*"), ("sqs:*", "sqs:*"), ("dynamodb:*", "dynamodb:*")] {
        let findings = all_findings(&mutated(
            "                Action: sqs:SendMessage\n                Resource: !GetAtt NotificationQueue.Arn",
            &format!("                Action: {yaml}\n                Resource: !GetAtt NotificationQueue.Arn"),
        ));
        assert_found(
            &findings,
            "TicketProcessorRole",
            &format!("EnqueueNotifications: allows {action:?}"),
        );
    }
}

#[test]
fn a_grant_beyond_a_functions_calls_fails() {
    let findings = all_findings(&mutated(
        "                  - dynamodb:UpdateItem\n                Resource: !GetAtt TicketsTable.Arn",
        "                  - dynamodb:UpdateItem\n                  - dynamodb:Scan\n                Resource: !GetAtt TicketsTable.Arn",
    ));
    assert_found(
        &findings,
        "TicketProcessorFunction",
        "may dynamodb:Scan on {{GetAtt:TicketsTable.Arn}}, which none of its declared calls needs",
    );
}

/// The grants the issue named as unused are gone, and putting one back fails.
#[test]
fn grants_no_code_uses_fail() {
    let findings = all_findings(&mutated(
        "                  - dynamodb:UpdateItem\n                Resource: !GetAtt TicketsTable.Arn",
        "                  - dynamodb:UpdateItem\n                  - dynamodb:ConditionCheckItem\n                Resource: !GetAtt TicketsTable.Arn",
    ));
    assert_found(&findings, "TicketProcessorFunction", "may dynamodb:ConditionCheckItem");
    let findings = all_findings(&mutated(
        "              - Sid: RefillSourceQueues\n                Effect: Allow\n                Action: sqs:SendMessage\n",
        "              - Sid: RefillSourceQueues\n                Effect: Allow\n                Action: [sqs:SendMessage, sqs:GetQueueAttributes]\n",
    ));
    assert_found(
        &findings,
        "DlqRedriveFunction",
        "may sqs:GetQueueAttributes on {{GetAtt:TicketIssueQueue.Arn}}, which none of its declared calls needs",
    );
}

/// Without the LeadingKeys condition a worker could overwrite the other's idempotency records.
#[test]
fn deleting_the_leading_keys_condition_fails() {
    let text = template_text();
    let condition = "                Condition:\n                  ForAllValues:StringLike:\n                    dynamodb:LeadingKeys:\n                      - !Sub \"${AWS::StackName}-ticket-processor#*\"\n";
    let findings = all_findings(&parse(&text.replacen(condition, "", 1)));
    assert!(text.contains(condition));
    assert_found(
        &findings,
        "TicketProcessorFunction",
        "may dynamodb:PutItem on {{GetAtt:IdempotencyTable.Arn}}, which none of its declared calls needs",
    );
    assert_found(
        &findings,
        "TicketProcessorFunction",
        r#"may not dynamodb:PutItem on {{GetAtt:IdempotencyTable.Arn}} if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["{{AWS::StackName}}-ticket-processor#*"]}}, which its call put_item needs"#,
    );
}

#[test]
fn device_endpoints_are_scoped_to_the_listed_platform_applications() {
    let findings = all_findings(&mutated(
        "                  - !Ref PushTopic\n",
        "                  - [!Ref PushTopic, !Sub \"arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:endpoint/*\"]\n",
    ));
    assert_found(
        &findings,
        "NotificationSenderFunction",
        "may sns:Publish on arn:{{AWS::Partition}}:sns:{{AWS::Region}}:{{AWS::AccountId}}:endpoint/*, which none",
    );
    let template = parse(&template_text());
    let scenario = scenarios(&template)
        .into_iter()
        .find(|s| !s.parameters[PUSH_APPLICATIONS].is_empty())
        .unwrap();
    let granted = permissions::granted(&template, "NotificationSenderFunction", &scenario).unwrap();
    let endpoints: Vec<&str> = granted
        .iter()
        .filter(|(action, resource, _)| action == "sns:Publish" && resource.contains(":endpoint/"))
        .map(|(_, resource, _)| resource.as_str())
        .collect();
    assert_eq!(
        endpoints,
        [
            "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/ticketing-ios/*",
            "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/ticketing-android/*"
        ]
    );
}

#[test]
fn a_call_declared_but_not_granted_fails() {
    let template = parse(&template_text());
    let mut calls = dlq_redrive::AWS_CALLS.to_vec();
    calls.push(AwsCall::new(
        "purge_queue",
        &["sqs:PurgeQueue"],
        Target::EnvJsonField("REDRIVE_ROUTES", "dlqArn"),
    ));
    let findings = permissions::check(&template, &scenarios(&template), "DlqRedriveFunction", &calls, CONTEXT);
    assert_found(
        &findings,
        "DlqRedriveFunction",
        "may not sqs:PurgeQueue on {{GetAtt:TicketIssueDeadLetterQueue.Arn}}, which its call purge_queue needs",
    );
}

/// Each crate declares exactly the SDK operations its code calls: a call made but not declared
/// would be denied in production (or granted by hand without a trace in the code), a declared
/// call no longer made would keep a grant alive for nothing.
#[test]
fn every_aws_call_in_the_code_is_declared_and_every_declaration_is_called() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let metadata = source_calls::cargo_metadata(&workspace).expect("cargo metadata");
    for (package, declared) in declarations() {
        let called = source_calls::sdk_calls(&metadata, package).expect("the crate's sources");
        let declared: std::collections::BTreeSet<&str> = declared.iter().map(|call| call.operation).collect();
        let made: std::collections::BTreeSet<&str> = called.keys().map(String::as_str).collect();
        let undeclared: Vec<String> = made
            .difference(&declared)
            .map(|operation| format!("{operation} ({:?})", called[*operation]))
            .collect();
        assert!(
            undeclared.is_empty(),
            "{package} calls {undeclared:?} without declaring them in its AWS_CALLS"
        );
        let unused: Vec<&&str> = declared.difference(&made).collect();
        assert!(
            unused.is_empty(),
            "{package} declares {unused:?} in its AWS_CALLS but its code never calls them"
        );
        assert!(
            !made.is_empty(),
            "{package}: no call found; is the scan looking at its sources?"
        );
    }
}

/// The scan sees an undeclared call, and only in the deployed code.
#[test]
fn an_sdk_call_the_code_makes_is_found_by_the_scan() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let metadata = source_calls::cargo_metadata(&workspace).expect("cargo metadata");
    let operations = source_calls::sdk_operations(&metadata, "dlq-redrive").unwrap();
    assert!(operations.contains("purge_queue") && operations.contains("send_message_batch"));
    let source = "async fn purge(sqs: &Client, url: &str) { sqs.purge_queue().queue_url(url).send().await; }";
    let found = source_calls::calls_in_source(source, &operations).unwrap();
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["purge_queue"]);
}

/// The policy operators attach to invoke dlq-redrive: that function, and the stack listing
/// `sam remote invoke` needs to find it, nothing else.
#[test]
fn the_operator_policy_allows_invoking_dlq_redrive_only() {
    let template = parse(&template_text());
    let scenario = &scenarios(&template)[0];
    let evaluator = cfn_model::Evaluator::new(&template, scenario);
    let statements: Vec<(String, String)> = iam::statements(&template)
        .into_iter()
        .filter(|s| s.owner == "DlqRedriveOperatorPolicy")
        .map(|s| {
            let text = |key: &str| {
                evaluator
                    .eval(s.node.get(key).unwrap())
                    .unwrap()
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            };
            (text("Action"), text("Resource"))
        })
        .collect();
    assert_eq!(
        statements,
        [
            (
                "lambda:InvokeFunction".to_owned(),
                "{{GetAtt:DlqRedriveFunction.Arn}}".to_owned()
            ),
            (
                "cloudformation:ListStackResources".to_owned(),
                "{{AWS::StackId}}".to_owned()
            ),
        ]
    );
    let output = template
        .root()
        .at(&["Outputs", "DlqRedriveOperatorPolicyArn", "Value"])
        .unwrap();
    assert_eq!(output.ref_target(), Some("DlqRedriveOperatorPolicy"));
}

#[test]
fn provisioned_pollers_combined_with_a_maximum_concurrency_fail_in_that_mode_only() {
    let findings = all_findings(&mutated(
        "              - ProvisionedPollers\n              - !Ref AWS::NoValue\n              - MaximumConcurrency",
        "              - ProvisionedPollers\n              - MaximumConcurrency: 10\n              - MaximumConcurrency",
    ));
    assert_found(
        &findings,
        "TicketProcessorFunction.Events.TicketIssueQueue",
        r#"sets both ScalingConfig.MaximumConcurrency and ProvisionedPollerConfig: Lambda refuses an SQS event source mapping with both (when "#,
    );
    assert!(
        findings
            .iter()
            .all(|f| !f.message.contains(r#"TicketProcessorScaling="maximum-concurrency""#)),
        "{}",
        report(&findings)
    );
}

#[test]
fn provisioned_pollers_without_their_bounds_fail() {
    let findings = all_findings(&mutated(
        "                MaximumPollers: !Ref TicketProcessorMaximumPollers\n",
        "",
    ));
    assert_found(
        &findings,
        "TicketProcessorFunction.Events.TicketIssueQueue",
        "does not set numeric MinimumPollers and MaximumPollers",
    );
    let findings = all_findings(&mutated(
        "      - MaximumConcurrency: !Ref TicketProcessorMaximumConcurrency",
        "      - !Ref AWS::NoValue",
    ));
    assert_found(
        &findings,
        "TicketProcessorFunction.Events.TicketIssueQueue",
        "sets neither",
    );
}

#[test]
fn a_short_visibility_timeout_fails() {
    let findings = all_findings(&mutated(
        "      # 6 x TicketProcessorFunction's 30 s timeout + the 30 s maximum batching window.\n      VisibilityTimeout: 210",
        "      VisibilityTimeout: 180",
    ));
    assert_found(
        &findings,
        "TicketIssueQueue",
        "VisibilityTimeout is 180 s, less than 6 x TicketProcessorFunction's 30 s timeout + its 30 s batching window = 210 s",
    );
}

#[test]
fn a_standard_dead_letter_queue_for_a_fifo_queue_fails() {
    let findings = all_findings(&mutated(
        "-notification-dlq${Suffix}\"\n        - Suffix: !If [FifoQueues, \".fifo\", \"\"]\n      FifoQueue: !If [FifoQueues, true, !Ref AWS::NoValue]\n",
        "-notification-dlq${Suffix}\"\n        - Suffix: !If [FifoQueues, \".fifo\", \"\"]\n",
    ));
    assert_found(
        &findings,
        "NotificationQueue",
        r#"is FIFO but its dead-letter queue NotificationDeadLetterQueue is standard: a queue's dead-letter queue must be of the same type (when UseFifoQueues="true""#,
    );
}

#[test]
fn a_redrive_allow_policy_naming_the_wrong_source_fails() {
    let findings = all_findings(&mutated(
        "${AWS::AccountId}:${AWS::StackName}-ticket-issue-queue${Suffix}",
        "${AWS::AccountId}:${AWS::StackName}-notification-queue${Suffix}",
    ));
    assert_found(
        &findings,
        "TicketIssueDeadLetterQueue",
        "RedriveAllowPolicy.sourceQueueArns is",
    );
}

#[test]
fn functions_without_active_tracing_fail() {
    let findings = all_findings(&mutated("    Tracing: Active\n", ""));
    for function in [
        "TicketProcessorFunction",
        "NotificationSenderFunction",
        "DlqRedriveFunction",
    ] {
        assert_found(&findings, function, "traces nothing (no Tracing)");
    }
}

#[test]
fn an_sqs_event_without_event_count_metrics_fails() {
    let text = template_text();
    let without = text.replacen(
        "            MetricsConfig:\n              Metrics:\n                - EventCount\n",
        "",
        1,
    );
    assert_ne!(without, text);
    assert_found(
        &all_findings(&parse(&without)),
        "TicketProcessorFunction.Events.TicketIssueQueue",
        "without EventCount",
    );
}

#[test]
fn a_function_whose_errors_alarm_watches_another_function_fails() {
    let findings = all_findings(&mutated(
        "      MetricName: Errors\n      Dimensions:\n        - Name: FunctionName\n          Value: !Ref NotificationSenderFunction\n",
        "      MetricName: Errors\n      Dimensions:\n        - Name: FunctionName\n          Value: !Ref TicketProcessorFunction\n",
    ));
    assert_found(&findings, "NotificationSenderFunction", "AWS/Lambda Errors");
}

#[test]
fn a_dead_letter_queue_alarmed_only_on_sends_fails() {
    let text = template_text();
    let without_diff = text.replacen(
        "Expression: MAX([sent, DIFF(visible + inFlight)])",
        "Expression: sent",
        1,
    );
    assert_ne!(without_diff, text);
    assert_found(
        &all_findings(&parse(&without_diff)),
        "TicketIssueDeadLetterQueue",
        "no alarm notifies when dead letters arrive",
    );
}

#[test]
fn a_longer_source_retention_without_the_expiry_alarm_in_step_fails() {
    let text = template_text();
    let longer = text.replacen(
        "      MessageRetentionPeriod: 345600\n",
        "      MessageRetentionPeriod: 604800\n",
        1,
    );
    assert_ne!(longer, text);
    assert_found(
        &all_findings(&parse(&longer)),
        "TicketIssueDeadLetterQueue",
        "(1209600 - 604800 - <ApproximateAgeOfOldestMessage id>) / 86400",
    );
}

#[test]
fn a_metric_the_code_writes_but_the_dashboard_does_not_show_fails() {
    let template = parse(&template_text());
    let scenarios = scenarios(&template);
    let mut contract = metrics_contract();
    contract[1].names.push("SendsLost");
    assert_found(
        &dashboard::check(&template, &scenarios, &contract),
        "NotificationSenderFunction",
        "does not graph TicketingWaitingRoom SendsLost with FunctionName = {{Ref:NotificationSenderFunction}}",
    );
    let findings = all_findings(&mutated(
        r#"["TicketingWaitingRoom", "TimeToSend", "FunctionName", "${NotificationSenderFunction}", {"label": "to send p50""#,
        r#"["TicketingWaitingRoom", "TimeToSend", "FunctionName", "${TicketProcessorFunction}", {"label": "to send p50""#,
    ));
    assert!(
        findings.is_empty(),
        "the p99 line still shows TimeToSend: {}",
        report(&findings)
    );
    let renamed = template_text().replace(r#""TimeToSend", "FunctionName""#, r#""TimeToSent", "FunctionName""#);
    assert_found(
        &all_findings(&parse(&renamed)),
        "NotificationSenderFunction",
        "TimeToSend",
    );
}

#[test]
fn a_checkov_suppression_without_a_reason_fails() {
    let text = template_text();
    let comment = text
        .split("- id: CKV_AWS_119\n            comment: >-\n")
        .nth(1)
        .and_then(|rest| rest.split("\n    Properties:").next())
        .expect("IdempotencyTable's CKV_AWS_119 suppression")
        .to_owned();
    let findings = all_findings(&mutated(&format!("comment: >-\n{comment}\n"), "comment: n/a\n"));
    assert_found(
        &findings,
        "IdempotencyTable",
        "checkov skip CKV_AWS_119 gives no reason",
    );
}

fn repository_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {full}: {e}"))
}

#[test]
fn samconfig_overrides_parameters_the_template_accepts() {
    let findings = samconfig::check(&parse(&template_text()), &repository_file("samconfig.toml"));
    assert!(findings.is_empty(), "samconfig.toml:\n{}", report(&findings));
}

#[test]
fn the_deploy_documentation_lists_every_parameter_with_its_default_and_every_output() {
    let findings = deploy_docs::check(&parse(&template_text()), &repository_file("docs/deploy.md"));
    assert!(findings.is_empty(), "docs/deploy.md:\n{}", report(&findings));
}

#[test]
fn a_changed_default_fails_the_documentation_check() {
    let template = mutated(
        "  QueueAgeAlarmThresholdSeconds:\n    Type: Number\n    Default: 300\n",
        "  QueueAgeAlarmThresholdSeconds:\n    Type: Number\n    Default: 600\n",
    );
    let findings = deploy_docs::check(&template, &repository_file("docs/deploy.md"));
    assert_found(
        &findings,
        deploy_docs::DOCUMENT,
        "gives parameter QueueAgeAlarmThresholdSeconds the default",
    );
}

#[test]
fn the_deploy_documentation_shows_each_environments_overrides() {
    let overrides = samconfig::overrides(&repository_file("samconfig.toml")).expect("samconfig.toml");
    let findings =
        deploy_docs::check_environments(&parse(&template_text()), &repository_file("docs/deploy.md"), &overrides);
    assert!(findings.is_empty(), "docs/deploy.md:\n{}", report(&findings));
}
