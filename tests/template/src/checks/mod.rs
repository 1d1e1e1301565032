//! The checks, and what several of them need: the template's SQS event sources and the
//! dead-letter queue each queue redrives to.

pub mod alarms;
pub mod dashboard;
pub mod dead_letter_queues;
pub mod dead_letter_routes;
pub mod deploy_docs;
pub mod encryption;
pub mod environment;
pub mod event_sources;
pub mod iam;
pub mod permissions;
pub mod samconfig;
pub mod scaling;
pub mod source_calls;
pub mod suppressions;
pub mod tracing;
pub mod visibility_timeout;

use serde_json::Value;

use crate::Finding;
use cfn_model::template::{Node, Resource, SERVERLESS_FUNCTION, Template};
use cfn_model::{EvalError, Evaluator, Scenario};

/// An SQS queue triggering a function: a SAM `Events` entry of type SQS, or an
/// AWS::Lambda::EventSourceMapping reading a queue.
#[derive(Debug, Clone)]
pub struct SqsEventSource<'t> {
    /// `Function.Events.Name`, or the event source mapping's id.
    pub name: String,
    pub function: Option<Resource<'t>>,
    /// The queue, when it is an AWS::SQS::Queue of this template named by `!GetAtt Queue.Arn`.
    pub queue: Option<Resource<'t>>,
    /// The event's (or mapping's) properties.
    pub properties: &'t Node,
}

pub fn sqs_event_sources(template: &Template) -> Vec<SqsEventSource<'_>> {
    let mut sources = Vec::new();
    for function in template.resources_of(SERVERLESS_FUNCTION) {
        let events = function.property("Events").map(Node::entries).unwrap_or(&[]);
        for (name, event) in events {
            if event.get("Type").and_then(Node::as_str) != Some("SQS") {
                continue;
            }
            let properties = event.get("Properties").unwrap_or(&Node::Null);
            sources.push(SqsEventSource {
                name: format!("{}.Events.{name}", function.id),
                function: Some(function),
                queue: properties.get("Queue").and_then(|q| template.queue_by_arn(q)),
                properties,
            });
        }
    }
    for mapping in template.resources_of("AWS::Lambda::EventSourceMapping") {
        let Some(queue) = mapping
            .property("EventSourceArn")
            .and_then(|q| template.queue_by_arn(q))
        else {
            continue;
        };
        let function = mapping.property("FunctionName").and_then(|f| {
            f.ref_target()
                .or_else(|| f.get_att_target().map(|(id, _)| id))
                .and_then(|id| template.resource(id))
        });
        sources.push(SqsEventSource {
            name: mapping.id.to_owned(),
            function,
            queue: Some(queue),
            properties: mapping.properties(),
        });
    }
    sources
}

/// A JSON-valued property (CloudFormation takes an object or its JSON text), evaluated.
pub fn json_property(evaluator: &Evaluator<'_>, node: &Node) -> Result<Option<Value>, String> {
    match evaluator.eval(node).map_err(|e| e.to_string())? {
        Some(Value::String(text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("is not valid JSON ({e}): {text}")),
        other => Ok(other),
    }
}

/// `{{GetAtt:Id.Attribute}}` or `{{Ref:Id}}` (what [`Evaluator`] makes of references): the id.
pub fn symbol_target<'v>(value: &'v str, kind: &str) -> Option<&'v str> {
    let inner = value.strip_prefix("{{")?.strip_suffix("}}")?;
    let (found, target) = inner.split_once(':')?;
    (found == kind).then_some(target)
}

/// The queue `queue` dead-letters to in `scenario`: `Ok(None)` without a RedrivePolicy, an
/// error when the policy does not name a queue of this template.
pub fn dead_letter_queue<'t>(
    template: &'t Template,
    scenario: &Scenario,
    queue: &Resource<'t>,
) -> Result<Option<Resource<'t>>, String> {
    let Some(node) = queue.property("RedrivePolicy") else {
        return Ok(None);
    };
    let evaluator = Evaluator::new(template, scenario);
    let policy = json_property(&evaluator, node).map_err(|e| format!("RedrivePolicy {e}"))?;
    let target = policy
        .as_ref()
        .and_then(|p| p.get("deadLetterTargetArn"))
        .and_then(Value::as_str)
        .ok_or("RedrivePolicy has no deadLetterTargetArn")?;
    symbol_target(target, "GetAtt")
        .and_then(|t| t.strip_suffix(".Arn"))
        .and_then(|id| template.resource(id))
        .filter(|r| r.kind == cfn_model::template::SQS_QUEUE)
        .map(Some)
        .ok_or_else(|| {
            format!("RedrivePolicy.deadLetterTargetArn must be !GetAtt <queue>.Arn of a queue in this template, found {target}")
        })
}

/// Whether a queue is FIFO in `scenario`.
pub fn is_fifo(evaluator: &Evaluator<'_>, queue: &Resource<'_>) -> Result<bool, EvalError> {
    Ok(match queue.property("FifoQueue") {
        None => false,
        Some(node) => {
            matches!(evaluator.eval(node)?, Some(Value::Bool(true)))
                || evaluator.eval_string(node)?.as_deref() == Some("true")
        }
    })
}

/// Findings gathered over several scenarios: each distinct one once, saying in which
/// scenarios it occurs unless it occurs in all of them.
#[derive(Debug)]
pub struct ScenarioFindings {
    scenarios: usize,
    found: Vec<(Finding, Vec<String>)>,
}

impl ScenarioFindings {
    pub fn new(scenarios: &[Scenario]) -> Self {
        Self {
            scenarios: scenarios.len(),
            found: Vec::new(),
        }
    }

    pub fn add(&mut self, finding: Finding, scenario: &Scenario) {
        let when = scenario.describe();
        match self.found.iter_mut().find(|(f, _)| *f == finding) {
            Some((_, whens)) if !whens.contains(&when) => whens.push(when),
            Some(_) => {}
            None => self.found.push((finding, vec![when])),
        }
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.found
            .into_iter()
            .map(|(mut finding, whens)| {
                if whens.len() < self.scenarios {
                    finding.message = format!("{} (when {})", finding.message, whens.join("; "));
                }
                finding
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A small template in the shape of the real one, for the checks' unit tests: each test
    //! breaks one thing in it and expects its check to say so.

    use cfn_model::{Scenario, Template};

    pub(crate) const GOOD: &str = r#"
Parameters:
  UseFifoQueues: {Type: String, Default: "false", AllowedValues: ["true", "false"]}
  BatchingWindow: {Type: Number, Default: 0, MinValue: 0, MaxValue: 30}
Conditions:
  FifoQueues: !Equals [!Ref UseFifoQueues, "true"]
Globals:
  Function:
    Timeout: 30
    Tracing: Active
Resources:
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub
        - "${AWS::StackName}-work${Suffix}"
        - Suffix: !If [FifoQueues, ".fifo", ""]
      FifoQueue: !If [FifoQueues, true, !Ref AWS::NoValue]
      VisibilityTimeout: 210
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDeadLetterQueue.Arn
        maxReceiveCount: 3
  WorkDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub
        - "${AWS::StackName}-work-dlq${Suffix}"
        - Suffix: !If [FifoQueues, ".fifo", ""]
      FifoQueue: !If [FifoQueues, true, !Ref AWS::NoValue]
      MessageRetentionPeriod: 1209600
      SqsManagedSseEnabled: true
      RedriveAllowPolicy:
        redrivePermission: byQueue
        sourceQueueArns:
          - !Sub
            - "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-work${Suffix}"
            - Suffix: !If [FifoQueues, ".fifo", ""]
  WorkerLogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: 7
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  WorkerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: worker
          PolicyDocument:
            Statement:
              - Sid: WriteLogs
                Effect: Allow
                Action: [logs:CreateLogStream, logs:PutLogEvents]
                Resource: !GetAtt WorkerLogGroup.Arn
              - Sid: Consume
                Effect: Allow
                Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]
                Resource: !GetAtt WorkQueue.Arn
              - Sid: DeadLetter
                Effect: Allow
                Action: sqs:SendMessage
                Resource: !GetAtt WorkDeadLetterQueue.Arn
              - Sid: WriteTraces
                Effect: Allow
                Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]
                Resource: "*"
  WorkerFunction:
    Type: AWS::Serverless::Function
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_117
            comment: The function calls only AWS APIs, no resources in a VPC.
    Properties:
      Role: !GetAtt WorkerRole.Arn
      Environment:
        Variables:
          DEAD_LETTER_QUEUE_URL: !Ref WorkDeadLetterQueue
          RECORDS_TABLE: !Ref Table
          TABLE: table
      FunctionName: !Sub "${AWS::StackName}-worker"
      LoggingConfig:
        LogGroup: !Ref WorkerLogGroup
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 10
            MaximumBatchingWindowInSeconds: !If [FifoQueues, !Ref AWS::NoValue, !Ref BatchingWindow]
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: 5
            MetricsConfig:
              Metrics: [EventCount]
  RedriveFunction:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt WorkerRole.Arn
      Environment:
        Variables:
          ROUTES: !Sub '[{"name":"work","dlqUrl":"${WorkDeadLetterQueue}","dlqArn":"${WorkDeadLetterQueue.Arn}","sourceUrl":"${WorkQueue}","sourceArn":"${WorkQueue.Arn}"}]'
"#;

    /// The fixture with `from` replaced by `to`; `from` must occur exactly once.
    pub(crate) fn mutated(from: &str, to: &str) -> Template {
        assert_eq!(GOOD.matches(from).count(), 1, "{from:?} must occur once in the fixture");
        Template::parse(&GOOD.replacen(from, to, 1)).expect("the mutated fixture parses")
    }

    pub(crate) fn good() -> Template {
        Template::parse(GOOD).expect("the fixture parses")
    }

    pub(crate) fn scenarios(template: &Template) -> Vec<Scenario> {
        template.scenarios(&[]).expect("scenarios")
    }
}
