//! The fixture template, transformed by samtranslator, becomes real resources in moto.

use std::collections::HashMap;
use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use cfn_model::Template;
use local_stack::provision::{Stack, provision, transform};
use moto_harness::{MotoServer, python, unique_name};

#[tokio::test]
async fn every_resource_of_the_template_is_created_with_its_attributes() {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let document = transform(
        &python(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini-template.yaml"),
    )
    .expect("samtranslator transforms the fixture");
    let template = Template::from_json(&document).unwrap();
    let stack_name = unique_name("mini");
    let stack = provision(&template, &HashMap::new(), &stack_name, &sdk)
        .await
        .expect("provisioned");

    let work_url = assert_queues(&stack, &stack_name, &sdk).await;
    let table = assert_table(&stack, &sdk).await;
    let topic = assert_topic_and_identity(&stack, &sdk).await;
    assert_function(&stack, &stack_name, &table, &work_url, &topic);
    assert_event_source_mapping(&stack, &stack_name, &work_url);

    assert_eq!(stack.outputs["WorkQueueUrl"], work_url);
    assert!(
        stack.skipped.contains_key("WorkerRole"),
        "IAM has no local counterpart: {:?}",
        stack.skipped
    );
}

/// Queues, with the redrive policy pointing at the DLQ; a conditional one left out. The work
/// queue's URL.
async fn assert_queues(stack: &Stack, stack_name: &str, sdk: &SdkConfig) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let work_url = stack.reference("WorkQueue").unwrap();
    assert!(work_url.ends_with(&format!("{stack_name}-work")), "{work_url}");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&work_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "120");
    let redrive: serde_json::Value = serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        stack.attribute("WorkDLQ", "Arn").unwrap()
    );
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "3");
    assert!(
        stack.reference("ProdOnlyQueue").is_none(),
        "a resource whose condition is false is not created"
    );
    work_url
}

/// The table with its key and TTL; its name.
async fn assert_table(stack: &Stack, sdk: &SdkConfig) -> String {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table = stack.reference("Table").unwrap();
    let description = dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(description.key_schema()[0].attribute_name(), "id");
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description().unwrap().attribute_name(),
        Some("expiration")
    );
    table
}

/// The topic and the email identity exist; the topic's ARN.
async fn assert_topic_and_identity(stack: &Stack, sdk: &SdkConfig) -> String {
    let topic = stack.reference("Topic").unwrap();
    let sns = aws_sdk_sns::Client::new(sdk);
    sns.get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .expect("the topic exists");
    let ses = aws_sdk_sesv2::Client::new(sdk);
    ses.get_email_identity()
        .email_identity("tickets@example.com")
        .send()
        .await
        .expect("the identity exists");
    topic
}

/// The function's environment, every intrinsic evaluated.
fn assert_function(stack: &Stack, stack_name: &str, table: &str, work_url: &str, topic: &str) {
    let worker = stack.function("worker-bin").expect("the function, found by its binary");
    assert_eq!(worker.logical_id, "Worker");
    assert_eq!(
        worker.name,
        format!("{stack_name}-worker"),
        "FunctionName is the Lambda name"
    );
    assert_eq!(worker.timeout_seconds, 20);
    assert_eq!(worker.memory_mb, 128, "Lambda's default MemorySize");
    assert_eq!(worker.environment["TABLE"], table);
    assert_eq!(worker.environment["QUEUE_URL"], work_url);
    assert_eq!(worker.environment["TOPIC"], topic);
    assert_eq!(worker.environment["MODE"], "relaxed");
    let routes: serde_json::Value = serde_json::from_str(&worker.environment["ROUTES"]).unwrap();
    assert_eq!(routes[0]["dlq"], stack.reference("WorkDLQ").unwrap());
}

/// The SQS event source mapping, invoking the function by its name.
fn assert_event_source_mapping(stack: &Stack, stack_name: &str, work_url: &str) {
    assert_eq!(stack.event_source_mappings.len(), 1);
    let esm = &stack.event_source_mappings[0];
    assert_eq!(esm.function, format!("{stack_name}-worker"));
    assert_eq!(
        stack.mapped_function(esm).map(|f| f.binary.as_str()),
        Some("worker-bin")
    );
    assert_eq!(esm.queue_url, work_url);
    assert_eq!(esm.batch_size, 5);
    assert_eq!(esm.batching_window_seconds, 1);
    assert!(esm.report_batch_item_failures);
    assert_eq!(esm.maximum_concurrency, 3);
}

#[tokio::test]
async fn the_projects_template_provisions_with_every_function_fully_configured() {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let document =
        transform(&python(), &workspace.join("template.yaml")).expect("samtranslator transforms template.yaml");
    let template = Template::from_json(&document).unwrap();
    let parameters = HashMap::from([
        ("SenderEmail".to_owned(), "tickets@example.com".to_owned()),
        ("CreateSenderIdentity".to_owned(), "true".to_owned()),
    ]);
    let stack_name = unique_name("twr");
    let stack = provision(&template, &parameters, &stack_name, &sdk)
        .await
        .expect("provisioned");

    for binary in ["ticket-processor", "notification-sender", "dlq-redrive"] {
        let function = stack
            .function(binary)
            .unwrap_or_else(|| panic!("{binary} is in the template"));
        assert_eq!(function.name, format!("{stack_name}-{binary}"));
        for (name, value) in &function.environment {
            assert!(
                !value.contains("{\"Ref\"") && !value.contains("Fn::"),
                "{binary} {name} is unevaluated: {value}"
            );
        }
    }
    let mapped: Vec<&str> = stack
        .event_source_mappings
        .iter()
        .map(|m| {
            stack
                .mapped_function(m)
                .expect("the mapping's function exists")
                .binary
                .as_str()
        })
        .collect();
    assert_eq!(mapped.len(), 2, "{mapped:?}");
    assert!(mapped.contains(&"ticket-processor") && mapped.contains(&"notification-sender"));
    for mapping in &stack.event_source_mappings {
        assert!(mapping.report_batch_item_failures, "{}", mapping.logical_id);
    }
    let ticket = stack.function("ticket-processor").unwrap();
    assert_eq!(ticket.memory_mb, 512, "TicketProcessorMemorySize's default");
    let sender = stack.function("notification-sender").unwrap();
    assert_eq!(sender.memory_mb, 128, "the template's Globals MemorySize");
    assert_eq!(
        ticket.environment["NOTIFICATION_QUEUE_URL"],
        stack.reference("NotificationQueue").unwrap()
    );
    assert!(stack.created.values().any(|kind| kind == "AWS::SES::EmailIdentity"));
    let ticket_mapping = |stack: &local_stack::provision::Stack| {
        stack
            .event_source_mappings
            .iter()
            .find(|m| stack.mapped_function(m).is_some_and(|f| f.binary == "ticket-processor"))
            .cloned()
            .unwrap()
    };
    let capped = ticket_mapping(&stack);
    assert_eq!((capped.provisioned_pollers, capped.maximum_concurrency), (None, 5));

    // Provisioned mode: the same template runs locally, one poll loop per minimum poller.
    let mut parameters = parameters;
    parameters.insert("TicketProcessorScaling".into(), "provisioned-pollers".into());
    parameters.insert("TicketProcessorMinimumPollers".into(), "3".into());
    let stack = provision(&template, &parameters, &unique_name("twr"), &sdk)
        .await
        .expect("provisioned in provisioned mode");
    let provisioned = ticket_mapping(&stack);
    assert_eq!(provisioned.provisioned_pollers, Some((3, 20)));
    assert_eq!(provisioned.maximum_concurrency, 3);
}
