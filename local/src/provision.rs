//! Creates the template's queues, tables, topics and email identities in the emulator, in
//! dependency order, and collects what the local runtime needs: each function's environment and
//! each SQS event source mapping.
//!
//! Why not moto's own CloudFormation (`CreateStack` on the transformed template with the Lambda
//! resources and what refers to them removed; tried with moto 5.2.5): it created the four queues
//! (attributes and redrive policies right), both tables (key schemas right) and both topics, but
//! left the idempotency table's `TimeToLiveSpecification` and both tables'
//! `PointInTimeRecoverySpecification` unapplied, does not support `AWS::SES::EmailIdentity` (an
//! unverified sender is rejected by SESv2), answered queue URLs with AWS's host, and took
//! 9.8 s (it creates the roles and log groups too); the functions' environments and the event
//! source mappings would still be evaluated here. So the creators below stay.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

use cfn_model::{Deployed, EvalError, Evaluator, Node, Physical, Resource, Scenario, Template, TemplateError};

use cfn_model::scalar_text as scalar_string;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{context}: {source}")]
    Evaluate { context: String, source: EvalError },
    #[error("transforming {path} with samtranslator failed: {message}")]
    Transform { path: String, message: String },
    #[error("{resource} ({kind}): {message}")]
    Create {
        resource: String,
        kind: String,
        message: String,
    },
}

/// A function of the template, as the local runtime starts it.
#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// The Lambda function name (`FunctionName`, else the binary): `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: String,
    /// The cargo binary (`Metadata.BuildProperties.Binary`, else the logical id).
    pub binary: String,
    pub environment: BTreeMap<String, String>,
    /// What Lambda itself sets from the function's `LoggingConfig`: `AWS_LAMBDA_LOG_FORMAT`,
    /// `AWS_LAMBDA_LOG_LEVEL`.
    pub runtime_environment: BTreeMap<String, String>,
    pub timeout_seconds: u64,
    /// `MemorySize`: Lambda gives the function this share of 1,769 MB of one vCPU.
    pub memory_mb: u32,
}

/// An SQS event source mapping of the template.
#[derive(Debug, Clone)]
pub struct EventSourceMapping {
    pub logical_id: String,
    pub function: String,
    pub queue_arn: String,
    pub queue_url: String,
    pub batch_size: usize,
    pub batching_window_seconds: u64,
    pub report_batch_item_failures: bool,
    /// Invocations at once: `ScalingConfig.MaximumConcurrency`, or in provisioned mode its
    /// `MinimumPollers` (one local poll loop each; the emulator does not scale pollers up).
    pub maximum_concurrency: usize,
    /// `ProvisionedPollerConfig`'s (minimum, maximum) pollers, in provisioned mode.
    pub provisioned_pollers: Option<(u64, u64)>,
    pub enabled: bool,
}

/// What the template became locally.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    /// What each created resource answers to `Ref` and `GetAtt`.
    pub deployed: Deployed,
    /// Logical id → kind, for every resource created in the emulator.
    pub created: BTreeMap<String, String>,
    /// Logical id → kind, for resources that have no local counterpart (roles, alarms, …).
    pub skipped: BTreeMap<String, String>,
    pub functions: Vec<Function>,
    pub event_source_mappings: Vec<EventSourceMapping>,
    pub outputs: BTreeMap<String, String>,
}

impl Stack {
    /// `Ref` of a resource (queue URL, table name, topic ARN).
    pub fn reference(&self, logical_id: &str) -> Option<String> {
        self.deployed
            .resources
            .get(logical_id)
            .and_then(|p| scalar_string(&p.reference))
    }

    pub fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        self.deployed
            .resources
            .get(logical_id)
            .and_then(|p| p.attributes.get(attribute))
            .and_then(scalar_string)
    }

    /// The function built from `binary`.
    pub fn function(&self, binary: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.binary == binary)
    }

    /// The function an event source mapping invokes.
    pub fn mapped_function(&self, mapping: &EventSourceMapping) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == mapping.function)
    }

    /// The logical id of the resource whose `Ref` is `reference`.
    pub fn logical_id_of(&self, reference: &str) -> Option<&str> {
        self.deployed
            .resources
            .iter()
            .find(|(_, p)| scalar_string(&p.reference).as_deref() == Some(reference))
            .map(|(id, _)| id.as_str())
    }
}

/// Run the SAM transform (Python, from the venv) on `template_path`.
pub fn transform(python: &Path, template_path: &Path) -> Result<Value, ProvisionError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("sam_transform.py");
    let fail = |message: String| ProvisionError::Transform {
        path: template_path.display().to_string(),
        message,
    };
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg(template_path)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", python.display())))?;
    if !output.status.success() {
        return Err(fail(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| fail(format!("output is not JSON: {e}")))
}

/// Create every emulated resource of `template` through `sdk`.
pub async fn provision(
    template: &Template,
    parameters: &HashMap<String, String>,
    stack_name: &str,
    sdk: &SdkConfig,
) -> Result<Stack, ProvisionError> {
    let scenario = template
        .scenario(parameters)
        .map_err(|source| ProvisionError::Evaluate {
            context: "parameters".to_owned(),
            source,
        })?;
    let mut evaluation = Evaluation {
        template,
        scenario,
        deployed: Deployed::new(stack_name),
    };
    let mut resources = create_resources(&mut evaluation, stack_name, &Clients::new(sdk)).await?;
    let functions = functions(&evaluation, &resources.lambda_functions)?;
    let event_source_mappings = event_source_mappings(&evaluation, &mut resources)?;
    let outputs = outputs(&evaluation)?;
    Ok(Stack {
        name: stack_name.to_owned(),
        deployed: evaluation.deployed,
        created: resources.created,
        skipped: resources.skipped,
        functions,
        event_source_mappings,
        outputs,
    })
}

/// The template under its parameters, against what has been created so far.
struct Evaluation<'t> {
    template: &'t Template,
    scenario: Scenario,
    deployed: Deployed,
}

impl Evaluation<'_> {
    /// `node` evaluated (`AWS::NoValue` is null); `context` names it in an error.
    fn eval(&self, node: &Node, context: &str) -> Result<Value, ProvisionError> {
        Evaluator::deployed(self.template, &self.scenario, &self.deployed)
            .eval(node)
            .map(Option::unwrap_or_default)
            .map_err(|source| ProvisionError::Evaluate {
                context: context.to_owned(),
                source,
            })
    }

    /// A resource's properties, evaluated.
    fn properties(&self, resource: &Resource<'_>) -> Result<Value, ProvisionError> {
        self.eval(resource.properties(), &format!("{} ({})", resource.id, resource.kind))
    }

    /// Whether a resource's or an output's condition holds (no condition holds).
    fn holds(&self, condition: Option<&str>) -> Result<bool, ProvisionError> {
        let Some(name) = condition else { return Ok(true) };
        Evaluator::deployed(self.template, &self.scenario, &self.deployed)
            .condition(name)
            .map_err(|source| ProvisionError::Evaluate {
                context: format!("condition {name}"),
                source,
            })
    }
}

/// What the pass over the resources found, by logical id.
#[derive(Default)]
struct Resources {
    /// Created in the emulator → kind.
    created: BTreeMap<String, String>,
    /// No local counterpart → kind (with the reason, for a mapping of a queue that is not local).
    skipped: BTreeMap<String, String>,
    /// The `AWS::Lambda::Function`s, read once every resource they refer to exists.
    lambda_functions: Vec<String>,
    /// The `AWS::Lambda::EventSourceMapping`s, likewise.
    mappings: Vec<String>,
}

/// Every resource whose condition holds, in dependency order: created in the emulator, or given
/// a physical id so what refers to it evaluates.
async fn create_resources(
    evaluation: &mut Evaluation<'_>,
    stack_name: &str,
    clients: &Clients,
) -> Result<Resources, ProvisionError> {
    let template = evaluation.template;
    let mut resources = Resources::default();
    for logical_id in template.creation_order()? {
        let resource = template.resource(&logical_id).expect("creation_order names resources");
        if !evaluation.holds(resource.condition())? {
            continue;
        }
        let kind = resource.kind.to_owned();
        let physical = match resource.kind {
            "AWS::Lambda::Function" => {
                resources.lambda_functions.push(logical_id.clone());
                lambda_function(evaluation, &resource)?
            }
            "AWS::Lambda::EventSourceMapping" => {
                resources.mappings.push(logical_id.clone());
                synthetic(&logical_id, &kind, stack_name)
            }
            _ => match create(clients, evaluation, &resource, stack_name).await? {
                Some(physical) => {
                    resources.created.insert(logical_id.clone(), kind);
                    physical
                }
                None => {
                    resources.skipped.insert(logical_id.clone(), kind.clone());
                    synthetic(&logical_id, &kind, stack_name)
                }
            },
        };
        evaluation.deployed.resources.insert(logical_id, physical);
    }
    Ok(resources)
}

/// Creates a queue, table, topic or email identity in the emulator; `None` for a kind that has
/// no local counterpart (roles, alarms, …).
async fn create(
    clients: &Clients,
    evaluation: &Evaluation<'_>,
    resource: &Resource<'_>,
    stack_name: &str,
) -> Result<Option<Physical>, ProvisionError> {
    let logical_id = resource.id;
    let properties = || evaluation.properties(resource);
    let created = match resource.kind {
        "AWS::SQS::Queue" => clients.queue(logical_id, stack_name, &properties()?).await,
        "AWS::DynamoDB::Table" => clients.table(logical_id, stack_name, &properties()?).await,
        "AWS::SNS::Topic" => clients.topic(logical_id, stack_name, &properties()?).await,
        "AWS::SES::EmailIdentity" => clients.email_identity(&properties()?).await,
        _ => return Ok(None),
    };
    created.map(Some).map_err(|message| ProvisionError::Create {
        resource: logical_id.to_owned(),
        kind: resource.kind.to_owned(),
        message,
    })
}

/// A function's `Ref` (its name) and `Arn`, before the function itself is read.
fn lambda_function(evaluation: &Evaluation<'_>, resource: &Resource<'_>) -> Result<Physical, ProvisionError> {
    let context = format!("{} ({})", resource.id, resource.kind);
    let name = match resource.property("FunctionName") {
        Some(name) => scalar_string(&evaluation.eval(name, &context)?).unwrap_or_default(),
        None => binary_of(resource),
    };
    Ok(Physical {
        attributes: HashMap::from([(
            "Arn".to_owned(),
            json!(format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")),
        )]),
        reference: json!(name),
    })
}

/// The template's functions, with their environment and Lambda's defaults.
fn functions(evaluation: &Evaluation<'_>, lambda_functions: &[String]) -> Result<Vec<Function>, ProvisionError> {
    let mut functions = Vec::new();
    for logical_id in lambda_functions {
        let resource = evaluation
            .template
            .resource(logical_id)
            .expect("a resource of the template");
        let properties = evaluation.properties(&resource)?;
        let environment = properties
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
            .map(|vars| {
                vars.iter()
                    .map(|(k, v)| (k.clone(), scalar_string(v).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        functions.push(Function {
            runtime_environment: runtime_environment(&properties),
            name: scalar_string(&evaluation.deployed.resources[logical_id].reference).unwrap_or_default(),
            binary: binary_of(&resource),
            logical_id: logical_id.clone(),
            environment,
            timeout_seconds: properties.get("Timeout").and_then(number).unwrap_or(3),
            // Lambda's default when the template sets none.
            memory_mb: properties.get("MemorySize").and_then(number).unwrap_or(128) as u32,
        });
    }
    Ok(functions)
}

/// What Lambda sets from a function's `LoggingConfig`.
fn runtime_environment(properties: &Value) -> BTreeMap<String, String> {
    let mut runtime_environment = BTreeMap::new();
    if let Some(format) = properties.pointer("/LoggingConfig/LogFormat").and_then(scalar_string) {
        runtime_environment.insert("AWS_LAMBDA_LOG_FORMAT".to_owned(), format);
    }
    if let Some(level) = properties
        .pointer("/LoggingConfig/ApplicationLogLevel")
        .and_then(scalar_string)
    {
        runtime_environment.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level);
    }
    runtime_environment
}

/// The event source mappings whose source is a local queue; the others are added to
/// `resources.skipped` with the reason.
fn event_source_mappings(
    evaluation: &Evaluation<'_>,
    resources: &mut Resources,
) -> Result<Vec<EventSourceMapping>, ProvisionError> {
    let mut event_source_mappings = Vec::new();
    for logical_id in &resources.mappings {
        let resource = evaluation
            .template
            .resource(logical_id)
            .expect("a resource of the template");
        let properties = evaluation.properties(&resource)?;
        let queue_arn = properties
            .get("EventSourceArn")
            .and_then(scalar_string)
            .unwrap_or_default();
        let Some(queue_id) = evaluation
            .deployed
            .resources
            .iter()
            .find(|(_, p)| p.attributes.get("Arn").and_then(scalar_string).as_deref() == Some(queue_arn.as_str()))
            .map(|(id, _)| id.clone())
            .filter(|id| resources.created.get(id).map(String::as_str) == Some("AWS::SQS::Queue"))
        else {
            resources.skipped.insert(
                logical_id.clone(),
                format!("{} (source {queue_arn} is not a local queue)", resource.kind),
            );
            continue;
        };
        let queue_url = scalar_string(&evaluation.deployed.resources[&queue_id].reference).unwrap_or_default();
        event_source_mappings.push(event_source_mapping(
            logical_id.clone(),
            &properties,
            queue_arn,
            queue_url,
        ));
    }
    Ok(event_source_mappings)
}

/// The template's outputs whose condition holds, evaluated.
fn outputs(evaluation: &Evaluation<'_>) -> Result<BTreeMap<String, String>, ProvisionError> {
    let mut outputs = BTreeMap::new();
    for (name, output) in evaluation.template.outputs() {
        if !evaluation.holds(output.get("Condition").and_then(Node::as_str))? {
            continue;
        }
        if let Some(value) = output.get("Value") {
            let value = evaluation.eval(value, &format!("output {name}"))?;
            outputs.insert(name.clone(), scalar_string(&value).unwrap_or_else(|| value.to_string()));
        }
    }
    Ok(outputs)
}

/// An SQS event source mapping from its evaluated properties, with Lambda's defaults.
fn event_source_mapping(
    logical_id: String,
    properties: &Value,
    queue_arn: String,
    queue_url: String,
) -> EventSourceMapping {
    let provisioned_pollers = properties.get("ProvisionedPollerConfig").map(|config| {
        let pollers = |name: &str| config.get(name).and_then(number);
        // Lambda's defaults for SQS: 2 and 200.
        (
            pollers("MinimumPollers").unwrap_or(2),
            pollers("MaximumPollers").unwrap_or(200),
        )
    });
    let maximum_concurrency = match provisioned_pollers {
        Some((minimum, _)) => minimum,
        None => properties
            .pointer("/ScalingConfig/MaximumConcurrency")
            .and_then(number)
            .unwrap_or(2),
    };
    EventSourceMapping {
        function: properties
            .get("FunctionName")
            .and_then(scalar_string)
            .unwrap_or_default(),
        queue_url,
        queue_arn,
        batch_size: properties.get("BatchSize").and_then(number).unwrap_or(10) as usize,
        batching_window_seconds: properties
            .get("MaximumBatchingWindowInSeconds")
            .and_then(number)
            .unwrap_or(0),
        report_batch_item_failures: properties
            .get("FunctionResponseTypes")
            .and_then(Value::as_array)
            .is_some_and(|types| types.iter().any(|t| t == "ReportBatchItemFailures")),
        maximum_concurrency: maximum_concurrency as usize,
        provisioned_pollers,
        enabled: properties
            .get("Enabled")
            .map(|e| e != &json!(false) && e != &json!("false"))
            .unwrap_or(true),
        logical_id,
    }
}

/// `Metadata.BuildProperties.Binary` (SAM's rust-cargolambda), else the logical id.
fn binary_of(resource: &Resource<'_>) -> String {
    resource
        .metadata()
        .at(&["BuildProperties", "Binary"])
        .and_then(Node::as_str)
        .unwrap_or(resource.id)
        .to_owned()
}

fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `Ref`/`Arn` for a resource with no local counterpart, so templates referring to it evaluate.
fn synthetic(logical_id: &str, kind: &str, stack_name: &str) -> Physical {
    let name = format!("{stack_name}-{logical_id}");
    let service = kind.split("::").nth(1).unwrap_or("unknown").to_ascii_lowercase();
    Physical {
        attributes: HashMap::from([(
            "Arn".to_owned(),
            json!(format!("arn:aws:{service}:us-east-1:123456789012:{name}")),
        )]),
        reference: json!(name),
    }
}

/// A table's or an index's `KeySchema`.
fn key_schema(value: Option<&Value>) -> Result<Vec<KeySchemaElement>, String> {
    value
        .and_then(Value::as_array)
        .ok_or("KeySchema is missing")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k.get("AttributeName").and_then(scalar_string).unwrap_or_default())
                .key_type(KeyType::from(
                    k.get("KeyType").and_then(Value::as_str).unwrap_or("HASH"),
                ))
                .build()
                .map_err(text)
        })
        .collect()
}

/// A table's `AttributeDefinitions` (type `S` unless given).
fn attribute_definitions(properties: &Value) -> Result<Vec<AttributeDefinition>, String> {
    properties
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|definition| {
            AttributeDefinition::builder()
                .attribute_name(
                    definition
                        .get("AttributeName")
                        .and_then(scalar_string)
                        .unwrap_or_default(),
                )
                .attribute_type(ScalarAttributeType::from(
                    definition.get("AttributeType").and_then(Value::as_str).unwrap_or("S"),
                ))
                .build()
                .map_err(text)
        })
        .collect()
}

/// A table's `GlobalSecondaryIndexes` (projection `ALL` unless given).
fn global_secondary_indexes(properties: &Value) -> Result<Vec<GlobalSecondaryIndex>, String> {
    properties
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(index.get("IndexName").and_then(scalar_string).unwrap_or_default())
                .set_key_schema(Some(key_schema(index.get("KeySchema"))?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            index
                                .pointer("/Projection/ProjectionType")
                                .and_then(Value::as_str)
                                .unwrap_or("ALL"),
                        ))
                        .build(),
                )
                .build()
                .map_err(text)
        })
        .collect()
}

struct Clients {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    sns: aws_sdk_sns::Client,
    sesv2: aws_sdk_sesv2::Client,
}

/// A CloudFormation boolean property: `true`, or the string `"true"` (what a parameter gives).
fn is_true(value: &Value) -> bool {
    value == &json!(true) || value == &json!("true")
}

fn text(error: impl std::error::Error) -> String {
    shared::error_chain(&error)
}

impl Clients {
    fn new(sdk: &SdkConfig) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            sesv2: aws_sdk_sesv2::Client::new(sdk),
        }
    }

    async fn queue(&self, logical_id: &str, stack_name: &str, properties: &Value) -> Result<Physical, String> {
        let fifo = properties.get("FifoQueue").is_some_and(is_true);
        let name = properties.get("QueueName").and_then(scalar_string).unwrap_or_else(|| {
            let base = format!("{stack_name}-{logical_id}");
            if fifo { format!("{base}.fifo") } else { base }
        });
        let mut request = self.sqs.create_queue().queue_name(&name);
        // Attributes moto understands; RedriveAllowPolicy is not implemented by moto (skipped).
        let mapping = [
            ("DelaySeconds", QueueAttributeName::DelaySeconds),
            ("MaximumMessageSize", QueueAttributeName::MaximumMessageSize),
            ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
            (
                "ReceiveMessageWaitTimeSeconds",
                QueueAttributeName::ReceiveMessageWaitTimeSeconds,
            ),
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            ("FifoQueue", QueueAttributeName::FifoQueue),
            (
                "ContentBasedDeduplication",
                QueueAttributeName::ContentBasedDeduplication,
            ),
            ("DeduplicationScope", QueueAttributeName::DeduplicationScope),
            ("FifoThroughputLimit", QueueAttributeName::FifoThroughputLimit),
            ("SqsManagedSseEnabled", QueueAttributeName::SqsManagedSseEnabled),
            ("RedrivePolicy", QueueAttributeName::RedrivePolicy),
        ];
        for (property, attribute) in mapping {
            if let Some(value) = properties.get(property) {
                let value = match value {
                    Value::Object(_) => value.to_string(),
                    other => scalar_string(other).unwrap_or_default(),
                };
                request = request.attributes(attribute, value);
            }
        }
        let url = request.send().await.map_err(text)?.queue_url.unwrap_or_default();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(text)?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        Ok(Physical {
            reference: json!(url),
            attributes: HashMap::from([
                ("Arn".to_owned(), json!(arn)),
                ("QueueName".to_owned(), json!(name)),
                ("QueueUrl".to_owned(), json!(url)),
            ]),
        })
    }

    async fn table(&self, logical_id: &str, stack_name: &str, properties: &Value) -> Result<Physical, String> {
        let name = properties
            .get("TableName")
            .and_then(scalar_string)
            .unwrap_or_else(|| format!("{stack_name}-{logical_id}"));
        let mut request = self
            .dynamodb
            .create_table()
            .table_name(&name)
            .set_key_schema(Some(key_schema(properties.get("KeySchema"))?))
            .billing_mode(BillingMode::from(
                properties
                    .get("BillingMode")
                    .and_then(Value::as_str)
                    .unwrap_or("PAY_PER_REQUEST"),
            ));
        for definition in attribute_definitions(properties)? {
            request = request.attribute_definitions(definition);
        }
        for index in global_secondary_indexes(properties)? {
            request = request.global_secondary_indexes(index);
        }
        if let Some(protected) = properties.get("DeletionProtectionEnabled") {
            request = request.deletion_protection_enabled(is_true(protected));
        }
        let description = request.send().await.map_err(text)?.table_description;
        self.time_to_live(&name, properties).await?;
        self.point_in_time_recovery(&name, properties).await?;
        let arn = description.and_then(|d| d.table_arn).unwrap_or_default();
        Ok(Physical {
            reference: json!(name),
            attributes: HashMap::from([("Arn".to_owned(), json!(arn))]),
        })
    }

    /// `TimeToLiveSpecification`, when enabled: a call of its own after the table exists.
    async fn time_to_live(&self, table: &str, properties: &Value) -> Result<(), String> {
        if let Some(ttl) = properties.get("TimeToLiveSpecification")
            && ttl.get("Enabled").is_some_and(is_true)
        {
            self.dynamodb
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(ttl.get("AttributeName").and_then(scalar_string).unwrap_or_default())
                        .enabled(true)
                        .build()
                        .map_err(text)?,
                )
                .send()
                .await
                .map_err(text)?;
        }
        Ok(())
    }

    /// `PointInTimeRecoverySpecification`, when enabled: a call of its own after the table exists.
    async fn point_in_time_recovery(&self, table: &str, properties: &Value) -> Result<(), String> {
        if properties
            .pointer("/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled")
            .is_some_and(is_true)
        {
            self.dynamodb
                .update_continuous_backups()
                .table_name(table)
                .point_in_time_recovery_specification(
                    PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .map_err(text)?,
                )
                .send()
                .await
                .map_err(text)?;
        }
        Ok(())
    }

    async fn topic(&self, logical_id: &str, stack_name: &str, properties: &Value) -> Result<Physical, String> {
        let fifo = properties.get("FifoTopic").is_some_and(is_true);
        let name = properties.get("TopicName").and_then(scalar_string).unwrap_or_else(|| {
            let base = format!("{stack_name}-{logical_id}");
            if fifo { format!("{base}.fifo") } else { base }
        });
        let mut request = self.sns.create_topic().name(&name);
        if fifo {
            request = request.attributes("FifoTopic", "true");
        }
        if let Some(key) = properties.get("KmsMasterKeyId").and_then(scalar_string) {
            request = request.attributes("KmsMasterKeyId", key);
        }
        let arn = request.send().await.map_err(text)?.topic_arn.unwrap_or_default();
        for subscription in properties
            .get("Subscription")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.sns
                .subscribe()
                .topic_arn(&arn)
                .protocol(subscription.get("Protocol").and_then(scalar_string).unwrap_or_default())
                .endpoint(subscription.get("Endpoint").and_then(scalar_string).unwrap_or_default())
                .send()
                .await
                .map_err(text)?;
        }
        Ok(Physical {
            reference: json!(arn),
            attributes: HashMap::from([
                ("TopicArn".to_owned(), json!(arn)),
                ("TopicName".to_owned(), json!(name)),
            ]),
        })
    }

    async fn email_identity(&self, properties: &Value) -> Result<Physical, String> {
        let identity = properties
            .get("EmailIdentity")
            .and_then(scalar_string)
            .ok_or("EmailIdentity is missing")?;
        self.sesv2
            .create_email_identity()
            .email_identity(&identity)
            .send()
            .await
            .map_err(text)?;
        Ok(Physical {
            reference: json!(identity),
            attributes: HashMap::new(),
        })
    }
}
