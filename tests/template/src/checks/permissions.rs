//! Each function's role grants exactly what the function needs, derived from the code: the AWS
//! calls its crates declare (`shared::aws_calls`), resolved through its environment in the
//! template to the resources they act on, plus what the platform needs for it (its SQS event
//! sources, its log group, X-Ray when traced). Every (action, resource, condition) the role
//! allows must be needed, and every needed one granted, in every scenario: a grant without the
//! condition a call needs (the idempotency table's `dynamodb:LeadingKeys`) is both a grant too
//! wide and a need unmet.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use shared::aws_calls::{AwsCall, Target};

use crate::Finding;
use crate::checks::{ScenarioFindings, iam::statements, json_property, sqs_event_sources};
use cfn_model::template::{Node, Resource, Template};
use cfn_model::{Evaluator, Scenario};

/// An action on a resource under a condition, as [`Evaluator`] renders them:
/// `("sqs:SendMessage", "{{GetAtt:NotificationQueue.Arn}}", "")`; the condition is its JSON
/// (keys sorted), empty for none.
pub type Grant = (String, String, String);

/// What the template names that the code cannot know.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The CommaDelimitedList parameter of SNS platform application ARNs whose device
    /// endpoints a function may publish to ([`Target::PushEndpoints`]).
    pub push_applications_parameter: &'a str,
}

/// What a function with active tracing sends its segments with.
pub const X_RAY_WRITES: [&str; 2] = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/// Actions that have no resource types ("Actions, resources, and condition keys", the Service
/// Authorization Reference): `*` is the only resource IAM accepts for them.
pub const WITHOUT_RESOURCE_LEVEL: [&str; 3] = [X_RAY_WRITES[0], X_RAY_WRITES[1], "ses:GetAccount"];

/// What the function's role allows in `scenario`.
pub fn granted(template: &Template, function_id: &str, scenario: &Scenario) -> Result<BTreeSet<Grant>, String> {
    let function = function_of(template, function_id)?;
    let role = template
        .function_property(&function, "Role")
        .and_then(Node::get_att_target)
        .filter(|(_, attribute)| *attribute == "Arn")
        .map(|(id, _)| id)
        .ok_or("has no Role: !GetAtt <role>.Arn")?;
    let evaluator = Evaluator::new(template, scenario);
    let mut granted = BTreeSet::new();
    for statement in statements(template).into_iter().filter(|s| s.owner == role) {
        if statement.node.get("Effect").and_then(Node::as_str) != Some("Allow") {
            continue;
        }
        let list = |key: &str| -> Result<Vec<String>, String> {
            match statement.node.get(key) {
                None => Ok(Vec::new()),
                Some(node) => match evaluator
                    .eval(node)
                    .map_err(|e| format!("{}: {key}: {e}", statement.label))?
                {
                    None => Ok(Vec::new()),
                    Some(value) => texts(&value).ok_or_else(|| format!("{}: {key} is not text", statement.label)),
                },
            }
        };
        let condition = match statement.node.get("Condition") {
            None => String::new(),
            Some(node) => evaluator
                .eval(node)
                .map_err(|e| format!("{}: Condition: {e}", statement.label))?
                .map(|value| value.to_string())
                .unwrap_or_default(),
        };
        for action in list("Action")? {
            for resource in list("Resource")? {
                granted.insert((action.clone(), resource, condition.clone()));
            }
        }
    }
    Ok(granted)
}

/// What the function needs in `scenario`, each grant with why: `calls` are its crates'
/// declarations.
pub fn needed(
    template: &Template,
    function_id: &str,
    scenario: &Scenario,
    calls: &[AwsCall],
    context: Context<'_>,
) -> Result<BTreeMap<Grant, Vec<String>>, String> {
    let function = function_of(template, function_id)?;
    let resolver = Resolver {
        template,
        function,
        evaluator: Evaluator::new(template, scenario),
        scenario,
        context,
    };
    let mut needed: BTreeMap<Grant, Vec<String>> = BTreeMap::new();
    let mut need = |actions: &[&str], resources: Vec<(String, String)>, why: String| {
        for action in actions {
            for (resource, condition) in &resources {
                needed
                    .entry((action.to_string(), resource.clone(), condition.clone()))
                    .or_default()
                    .push(why.clone());
            }
        }
    };
    for call in calls {
        need(
            call.actions,
            resolver.resolve(call.resource)?,
            format!("its call {}", call.operation),
        );
    }
    for (actions, resources, why) in resolver.platform()? {
        need(actions, resources, why.to_owned());
    }
    Ok(needed)
}

pub fn check(
    template: &Template,
    scenarios: &[Scenario],
    function_id: &str,
    calls: &[AwsCall],
    context: Context<'_>,
) -> Vec<Finding> {
    let mut findings = ScenarioFindings::new(scenarios);
    for scenario in scenarios {
        let (granted, needed) = match (
            granted(template, function_id, scenario),
            needed(template, function_id, scenario, calls, context),
        ) {
            (Ok(granted), Ok(needed)) => (granted, needed),
            (Err(problem), _) | (_, Err(problem)) => return vec![Finding::new(function_id, problem)],
        };
        for grant in granted.iter().filter(|grant| !needed.contains_key(*grant)) {
            let message = format!("may {}, which none of its declared calls needs", describe(grant));
            findings.add(Finding::new(function_id, message), scenario);
        }
        for (grant, why) in needed.iter().filter(|(grant, _)| !granted.contains(*grant)) {
            let message = format!("may not {}, which {} needs", describe(grant), why.join(" and "));
            findings.add(Finding::new(function_id, message), scenario);
        }
    }
    findings.into_findings()
}

fn describe((action, resource, condition): &Grant) -> String {
    if condition.is_empty() {
        format!("{action} on {resource}")
    } else {
        format!("{action} on {resource} if {condition}")
    }
}

fn function_of<'t>(template: &'t Template, function_id: &str) -> Result<Resource<'t>, String> {
    template
        .functions()
        .find(|f| f.id == function_id)
        .ok_or_else(|| "is not a function of the template".to_owned())
}

/// Resolves declared targets to the resources (and conditions) of one function in one scenario.
struct Resolver<'t> {
    template: &'t Template,
    function: Resource<'t>,
    evaluator: Evaluator<'t>,
    scenario: &'t Scenario,
    context: Context<'t>,
}

const ARN_PREFIX: &str = "arn:{{AWS::Partition}}";

/// Actions, the (resource, condition) pairs they are needed on, and why.
type PlatformNeed = (&'static [&'static str], Vec<(String, String)>, &'static str);

impl Resolver<'_> {
    fn resolve(&self, target: Target) -> Result<Vec<(String, String)>, String> {
        let unconditioned = |resources: Vec<String>| resources.into_iter().map(|r| (r, String::new())).collect();
        Ok(match target {
            Target::Env(variable) => unconditioned(vec![self.resource_named_by(variable)?]),
            Target::OwnItemsOf(variable) => {
                let name = self
                    .function
                    .property("FunctionName")
                    .map(|node| self.text(node, "FunctionName"))
                    .transpose()?
                    .ok_or("has no FunctionName: its own items are keyed by it")?;
                let condition = json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [format!("{name}#*")]}});
                vec![(self.resource_named_by(variable)?, condition.to_string())]
            }
            Target::EnvJsonField(variable, field) => unconditioned(self.json_field(variable, field)?),
            Target::SesIdentityOf(variable) => {
                let address = self.text(self.variable(variable)?, variable)?;
                let domain = address.rsplit_once('@').map(|(_, d)| d.to_owned()).unwrap_or_default();
                let identity =
                    |name: &str| format!("{ARN_PREFIX}:ses:{{{{AWS::Region}}}}:{{{{AWS::AccountId}}}}:identity/{name}");
                unconditioned(vec![identity(&address), identity(&domain)])
            }
            Target::SesConfigurationSet(variable) => {
                let name = self.text(self.variable(variable)?, variable)?;
                let set =
                    format!("{ARN_PREFIX}:ses:{{{{AWS::Region}}}}:{{{{AWS::AccountId}}}}:configuration-set/{name}");
                unconditioned(if name.is_empty() { vec![] } else { vec![set] })
            }
            Target::PushEndpoints => unconditioned(self.push_endpoints()?),
            Target::EventSourceQueue => unconditioned(self.event_source_queues().into_iter().map(queue_arn).collect()),
            Target::AnyResource => unconditioned(vec!["*".to_owned()]),
        })
    }

    /// What the platform needs besides the code's calls: the event sources' polling, the log
    /// group, X-Ray when traced.
    fn platform(&self) -> Result<Vec<PlatformNeed>, String> {
        let unconditioned = |resources: Vec<String>| resources.into_iter().map(|r| (r, String::new())).collect();
        let mut needs = Vec::new();
        let queues: Vec<String> = self.event_source_queues().into_iter().map(queue_arn).collect();
        if !queues.is_empty() {
            const POLL: &[&str] = &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];
            needs.push((POLL, unconditioned(queues), "its SQS event source"));
        }
        let log_group = self
            .template
            .function_property(&self.function, "LoggingConfig")
            .and_then(|config| config.get("LogGroup"))
            .and_then(Node::ref_target)
            .ok_or("has no LoggingConfig.LogGroup: !Ref <its AWS::Logs::LogGroup>")?;
        const LOGS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];
        needs.push((
            LOGS,
            unconditioned(vec![format!("{{{{GetAtt:{log_group}.Arn}}}}")]),
            "its log group",
        ));
        let traced = self
            .template
            .function_property(&self.function, "Tracing")
            .map(|node| self.text(node, "Tracing"))
            .transpose()?
            .is_some_and(|mode| mode == "Active");
        if traced {
            needs.push((&X_RAY_WRITES, unconditioned(vec!["*".to_owned()]), "its X-Ray tracing"));
        }
        Ok(needs)
    }

    fn variable(&self, variable: &str) -> Result<&Node, String> {
        self.template
            .environment(&self.function)
            .into_iter()
            .find(|(name, _)| *name == variable)
            .map(|(_, node)| node)
            .ok_or_else(|| format!("does not set {variable}, which its declared calls act on"))
    }

    fn text(&self, node: &Node, what: &str) -> Result<String, String> {
        self.evaluator
            .eval_string(node)
            .map_err(|e| format!("{what}: {e}"))
            .map(Option::unwrap_or_default)
    }

    /// The ARN of the template resource a variable names (`!Ref Queue`, `!GetAtt Queue.Arn`).
    fn resource_named_by(&self, variable: &str) -> Result<String, String> {
        let node = self.variable(variable)?;
        if let Some((id, "Arn")) = node.get_att_target() {
            return Ok(format!("{{{{GetAtt:{id}.Arn}}}}"));
        }
        let resource = node
            .ref_target()
            .and_then(|id| self.template.resource(id))
            .ok_or_else(|| format!("{variable} must be !Ref or !GetAtt <resource>.Arn of this template"))?;
        match resource.kind {
            "AWS::DynamoDB::Table" | "AWS::SQS::Queue" => Ok(format!("{{{{GetAtt:{}.Arn}}}}", resource.id)),
            // A topic's Ref is its ARN.
            "AWS::SNS::Topic" => Ok(format!("{{{{Ref:{}}}}}", resource.id)),
            other => Err(format!(
                "{variable} names a {other}, whose ARN these checks do not know"
            )),
        }
    }

    /// The values of `field` in the JSON array a variable holds (a string or a list of them each).
    fn json_field(&self, variable: &str, field: &str) -> Result<Vec<String>, String> {
        let routes = json_property(&self.evaluator, self.variable(variable)?)
            .map_err(|e| format!("{variable} {e}"))?
            .unwrap_or(Value::Null);
        let mut values = Vec::new();
        for route in routes
            .as_array()
            .ok_or_else(|| format!("{variable} is not a JSON array"))?
        {
            match &route[field] {
                Value::Null => {}
                Value::String(value) => values.push(value.clone()),
                Value::Array(items) => {
                    values.extend(items.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_default()))
                }
                other => return Err(format!("{variable}: {field} is {other}, not text")),
            }
        }
        Ok(values)
    }

    /// `arn:…:endpoint/<platform>/<application>/*` for each platform application ARN
    /// (`arn:…:app/<platform>/<application>`) the context's parameter lists in this scenario.
    fn push_endpoints(&self) -> Result<Vec<String>, String> {
        let parameter = self.context.push_applications_parameter;
        let value = self
            .scenario
            .parameters
            .get(parameter)
            .ok_or_else(|| format!("the template has no parameter {parameter} scoping device endpoints"))?;
        value
            .split(',')
            .map(str::trim)
            .filter(|arn| !arn.is_empty())
            .map(|arn| {
                arn.split_once(":app/")
                    .map(|(account, application)| format!("{account}:endpoint/{application}/*"))
                    .ok_or_else(|| format!("{parameter}: {arn} is not a platform application ARN"))
            })
            .collect()
    }

    fn event_source_queues(&self) -> Vec<Resource<'_>> {
        sqs_event_sources(self.template)
            .into_iter()
            .filter(|source| source.function.is_some_and(|f| f.id == self.function.id))
            .filter_map(|source| source.queue)
            .collect()
    }
}

fn queue_arn(queue: Resource<'_>) -> String {
    format!("{{{{GetAtt:{}.Arn}}}}", queue.id)
}

/// A string or a list of strings (an evaluated Action or Resource), as texts.
pub(crate) fn texts(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{good, mutated, scenarios};

    const CONTEXT: Context<'static> = Context {
        push_applications_parameter: "PushApplications",
    };
    /// The fixture worker's code: a dead letter to the queue DEAD_LETTER_QUEUE_URL names.
    const WORKER: &[AwsCall] = &[AwsCall::new(
        "send_message",
        &["sqs:SendMessage"],
        Target::Env("DEAD_LETTER_QUEUE_URL"),
    )];

    fn findings(template: &Template, calls: &[AwsCall]) -> Vec<String> {
        check(template, &scenarios(template), "WorkerFunction", calls, CONTEXT)
            .into_iter()
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn the_fixture_grants_exactly_what_its_calls_and_its_platform_need() {
        assert_eq!(findings(&good(), WORKER), Vec::<String>::new());
    }

    #[test]
    fn an_extra_grant_is_reported() {
        let template = mutated(
            "Resource: !GetAtt WorkDeadLetterQueue.Arn",
            "Resource: [!GetAtt WorkDeadLetterQueue.Arn, !GetAtt WorkQueue.Arn]",
        );
        assert_eq!(
            findings(&template, WORKER),
            ["may sqs:SendMessage on {{GetAtt:WorkQueue.Arn}}, which none of its declared calls needs"]
        );
    }

    #[test]
    fn a_missing_grant_names_the_call_or_the_platform_that_needs_it() {
        let template = mutated(
            "[sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]",
            "[sqs:ReceiveMessage, sqs:DeleteMessage]",
        );
        assert_eq!(
            findings(&template, WORKER),
            ["may not sqs:GetQueueAttributes on {{GetAtt:WorkQueue.Arn}}, which its SQS event source needs"]
        );
        let more = [
            WORKER[0],
            AwsCall::new("publish", &["sns:Publish"], Target::Env("DEAD_LETTER_QUEUE_URL")),
        ];
        assert_eq!(
            findings(&good(), &more),
            ["may not sns:Publish on {{GetAtt:WorkDeadLetterQueue.Arn}}, which its call publish needs"]
        );
    }

    #[test]
    fn a_condition_is_part_of_the_grant() {
        let own_items = [
            WORKER[0],
            AwsCall::new("put_item", &["dynamodb:PutItem"], Target::OwnItemsOf("RECORDS_TABLE")),
        ];
        let with = |condition: &str| {
            mutated(
                "              - Sid: DeadLetter",
                &format!(
                    "              - Sid: Records\n                Effect: Allow\n                Action: dynamodb:PutItem\n                Resource: !GetAtt Table.Arn\n{condition}              - Sid: DeadLetter"
                ),
            )
        };
        let condition = "                Condition:\n                  ForAllValues:StringLike:\n                    dynamodb:LeadingKeys: [!Sub \"${AWS::StackName}-worker#*\"]\n";
        assert_eq!(findings(&with(condition), &own_items), Vec::<String>::new());
        let unconditioned = findings(&with(""), &own_items);
        assert_eq!(unconditioned.len(), 2, "{unconditioned:?}");
        assert!(unconditioned[0].starts_with("may dynamodb:PutItem on {{GetAtt:Table.Arn}}, which none"));
        assert!(unconditioned[1].contains("dynamodb:LeadingKeys") && unconditioned[1].contains("its call put_item"));
    }

    /// A worker that changes its own records' visibility declares it on its event source's queue.
    #[test]
    fn a_call_on_the_event_source_queue_needs_a_grant_on_it() {
        let own_queue = [
            WORKER[0],
            AwsCall::new(
                "change_message_visibility",
                &["sqs:ChangeMessageVisibility"],
                Target::EventSourceQueue,
            ),
        ];
        assert_eq!(
            findings(&good(), &own_queue),
            [
                "may not sqs:ChangeMessageVisibility on {{GetAtt:WorkQueue.Arn}}, which its call change_message_visibility needs"
            ]
        );
        let granted = mutated(
            "[sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]",
            "[sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes, sqs:ChangeMessageVisibility]",
        );
        assert_eq!(findings(&granted, &own_queue), Vec::<String>::new());
        assert_eq!(
            findings(&granted, WORKER),
            ["may sqs:ChangeMessageVisibility on {{GetAtt:WorkQueue.Arn}}, which none of its declared calls needs"]
        );
    }

    #[test]
    fn a_traced_function_needs_x_ray_on_every_resource() {
        let template = mutated(
            "              - Sid: WriteTraces\n                Effect: Allow\n                Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]\n                Resource: \"*\"\n",
            "",
        );
        let missing = findings(&template, WORKER);
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(missing[0].starts_with("may not xray:PutTelemetryRecords on *, which its X-Ray tracing needs"));
    }
}
