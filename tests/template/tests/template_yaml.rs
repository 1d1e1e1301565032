//! template.yaml against every check. The environment variables come from the function crates
//! themselves, so a variable added to the code fails here until the template sets it; the
//! expected IAM grants are the calls each function makes.
//!
//! The mutation tests break the real template in one place each and expect the check that
//! guards it to say so: a check that cannot fail proves nothing.

use template_checks::checks::{
    dead_letter_queues, dead_letter_routes, deploy_docs, encryption, environment, event_sources, iam, permissions,
    samconfig, scaling, suppressions, visibility_timeout,
};
use template_checks::{Finding, Scenario, Template, report};

const TEMPLATE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");

/// A value for the parameter without a default, and alternatives to the empty defaults of the
/// optional ones, so that both branches of their conditions are checked.
const SAMPLES: [(&str, &str); 3] = [
    ("SenderEmail", "tickets@example.com"),
    ("SesConfigurationSet", "waiting-room"),
    ("AlarmEmail", "ops@example.com"),
];

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

const ARN_PREFIX: &str = "arn:{{AWS::Partition}}";

/// The calls each function makes, as (action, resource) grants.
fn permission_contract() -> Vec<(&'static str, Vec<(String, String)>)> {
    let grant = |action: &str, resource: &str| (action.to_owned(), resource.to_owned());
    let get_att = |id: &str| format!("{{{{GetAtt:{id}.Arn}}}}");
    let logs = |log_group: &str| {
        vec![
            grant("logs:CreateLogStream", &get_att(log_group)),
            grant("logs:PutLogEvents", &get_att(log_group)),
        ]
    };
    // ChangeMessageVisibility: shared's retry delay, on the worker's own source queue only.
    let consume = |queue: &str| {
        [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        ]
        .map(|action| grant(action, &get_att(queue)))
        .to_vec()
    };
    let idempotency = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        .map(|action| grant(action, &get_att("IdempotencyTable")))
        .to_vec();
    let region_account = format!("{ARN_PREFIX}:{{service}}:{{{{AWS::Region}}}}:{{{{AWS::AccountId}}}}");
    let in_account =
        |service: &str, resource: &str| format!("{}:{resource}", region_account.replace("{service}", service));

    let mut ticket_processor = logs("TicketProcessorLogGroup");
    ticket_processor.extend(consume("TicketIssueQueue"));
    ticket_processor.push(grant("sqs:SendMessage", &get_att("TicketIssueDeadLetterQueue")));
    ticket_processor.push(grant("sqs:SendMessage", &get_att("NotificationQueue")));
    ticket_processor.extend(idempotency.clone());
    for action in [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    ] {
        ticket_processor.push(grant(action, &get_att("TicketsTable")));
    }

    let mut notification_sender = logs("NotificationSenderLogGroup");
    notification_sender.extend(consume("NotificationQueue"));
    notification_sender.push(grant("sqs:SendMessage", &get_att("NotificationDeadLetterQueue")));
    notification_sender.extend(idempotency);
    notification_sender.push(grant("sns:Publish", "{{Ref:PushTopic}}"));
    notification_sender.push(grant("sns:Publish", &in_account("sns", "endpoint/*")));
    // The account's SES sending rate at cold start (no resource-level permissions).
    notification_sender.push(grant("ses:GetAccount", "*"));
    for identity in [
        "identity/tickets@example.com",
        "identity/example.com",
        "configuration-set/waiting-room",
    ] {
        notification_sender.push(grant("ses:SendEmail", &in_account("ses", identity)));
    }

    let mut dlq_redrive = logs("DlqRedriveLogGroup");
    for dlq in ["TicketIssueDeadLetterQueue", "NotificationDeadLetterQueue"] {
        for action in [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            "sqs:StartMessageMoveTask",
            "sqs:ListMessageMoveTasks",
            "sqs:CancelMessageMoveTask",
        ] {
            dlq_redrive.push(grant(action, &get_att(dlq)));
        }
    }
    for source in ["TicketIssueQueue", "NotificationQueue"] {
        dlq_redrive.push(grant("sqs:SendMessage", &get_att(source)));
        dlq_redrive.push(grant("sqs:GetQueueAttributes", &get_att(source)));
    }

    vec![
        ("TicketProcessorFunction", ticket_processor),
        ("NotificationSenderFunction", notification_sender),
        ("DlqRedriveFunction", dlq_redrive),
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
    for (function, grants) in permission_contract() {
        let grants: Vec<(&str, &str)> = grants.iter().map(|(a, r)| (a.as_str(), r.as_str())).collect();
        findings.extend(permissions::check(template, &scenarios, function, &grants));
    }
    findings.extend(encryption::check(template, &scenarios));
    findings.extend(suppressions::check(template));
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
        "                  - dynamodb:ConditionCheckItem\n",
        "                  - dynamodb:ConditionCheckItem\n                  - dynamodb:Scan\n",
    ));
    assert_found(
        &findings,
        "TicketProcessorFunction",
        "may dynamodb:Scan on {{GetAtt:TicketsTable.Arn}}, which none of its calls needs",
    );
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
