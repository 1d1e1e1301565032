//! Evaluates intrinsic functions the way CloudFormation would for one set of parameter values
//! (a [`Scenario`]). What only a deployment knows (resources' `Ref` and `GetAtt`, pseudo
//! parameters) comes from a [`Deployment`]: [`Symbolic`] leaves it symbolic (`!Ref Queue` becomes
//! `{{Ref:Queue}}`, `!GetAtt Queue.Arn` `{{GetAtt:Queue.Arn}}`, `${AWS::Region}`
//! `{{AWS::Region}}`), so the template checks compare wiring ("this variable holds that queue's
//! URL") as plain strings; the local stack answers with the resources it created
//! ([`crate::deployed::Deployed`]).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::template::{Node, Template};

/// Parameter values and the condition values they imply.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub parameters: BTreeMap<String, String>,
    pub conditions: BTreeMap<String, bool>,
    /// The parameters this scenario varies, for messages.
    varied: Vec<String>,
}

impl Scenario {
    /// `UseFifoQueues=true, ...`: the varied parameters, so a finding says when it happens.
    pub fn describe(&self) -> String {
        if self.varied.is_empty() {
            return "default parameters".to_owned();
        }
        self.varied
            .iter()
            .map(|name| format!("{name}={:?}", self.parameters[name]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("!Ref {0} names no parameter, resource or pseudo parameter")]
    UnknownRef(String),
    #[error("!GetAtt {0} names no resource")]
    UnknownGetAtt(String),
    #[error("!GetAtt {0}: the deployment does not know this attribute (yet)")]
    UnknownAttribute(String),
    #[error("condition {0} is not defined in Conditions")]
    UnknownCondition(String),
    #[error("{0} is not a parameter of the template")]
    UnknownParameter(String),
    #[error("parameter {0} has no Default and no sample value")]
    NoParameterValue(String),
    #[error("{function}: {problem}")]
    Malformed { function: String, problem: String },
    #[error("{0} is not supported by these checks")]
    Unsupported(String),
}

fn malformed(function: &str, problem: impl Into<String>) -> EvalError {
    EvalError::Malformed {
        function: function.to_owned(),
        problem: problem.into(),
    }
}

/// What a deployment of the template knows: its resources' `Ref` and `GetAtt` values and the
/// pseudo parameters (`AWS::Region`, ...). `None` where it does not know (yet).
pub trait Deployment {
    fn pseudo_parameter(&self, name: &str) -> Value;
    fn reference(&self, id: &str) -> Option<Value>;
    fn attribute(&self, id: &str, attribute: &str) -> Option<Value>;
}

/// No deployment: values stay symbolic, `{{Ref:Id}}`, `{{GetAtt:Id.Attribute}}`, `{{AWS::Region}}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Symbolic;

impl Deployment for Symbolic {
    fn pseudo_parameter(&self, name: &str) -> Value {
        Value::String(format!("{{{{{name}}}}}"))
    }

    fn reference(&self, id: &str) -> Option<Value> {
        Some(Value::String(format!("{{{{Ref:{id}}}}}")))
    }

    fn attribute(&self, id: &str, attribute: &str) -> Option<Value> {
        Some(Value::String(format!("{{{{GetAtt:{id}.{attribute}}}}}")))
    }
}

pub const PSEUDO_PARAMETERS: [&str; 7] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Text of a scalar the way CloudFormation passes it to a string property.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

fn parameter_default(node: &Node) -> Option<String> {
    node_text(node.get("Default")?)
}

/// A scalar node's text (numbers and booleans as CloudFormation renders them).
pub fn node_text(node: &Node) -> Option<String> {
    match node {
        Node::String(s) => Some(s.clone()),
        Node::Number(n) => scalar_text(&Value::Number(n.clone())),
        Node::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Template {
    /// One scenario: every parameter's default, replaced by `overrides` (as `sam deploy
    /// --parameter-overrides` does); a parameter with neither stays unset.
    pub fn scenario(&self, overrides: &HashMap<String, String>) -> Result<Scenario, EvalError> {
        if let Some(name) = overrides.keys().find(|name| self.parameter(name).is_none()) {
            return Err(EvalError::UnknownParameter(name.clone()));
        }
        let parameters = self
            .parameters()
            .iter()
            .filter_map(|(name, node)| {
                let value = overrides.get(name).cloned().or_else(|| parameter_default(node))?;
                Some((name.clone(), value))
            })
            .collect();
        self.with_conditions(parameters, Vec::new())
    }

    /// The scenario of `parameters`, with the value of every condition.
    fn with_conditions(
        &self,
        parameters: BTreeMap<String, String>,
        varied: Vec<String>,
    ) -> Result<Scenario, EvalError> {
        let mut scenario = Scenario {
            parameters,
            conditions: BTreeMap::new(),
            varied,
        };
        let mut conditions = BTreeMap::new();
        for (name, _) in self.conditions() {
            conditions.insert(name.clone(), Evaluator::new(self, &scenario).condition(name)?);
        }
        scenario.conditions = conditions;
        Ok(scenario)
    }

    /// Every combination of the values of the parameters that conditions depend on: each
    /// allowed value, or the default and the sample, for parameters without allowed values.
    /// Parameters without a default take their sample (`samples`), in every scenario.
    pub fn scenarios(&self, samples: &[(&str, &str)]) -> Result<Vec<Scenario>, EvalError> {
        let sample = |name: &str| samples.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        let mut base = BTreeMap::new();
        for (name, node) in self.parameters() {
            if let Some(value) = parameter_default(node).or_else(|| sample(name)) {
                base.insert(name.clone(), value);
            }
        }
        let mut referenced = Vec::new();
        for (_, condition) in self.conditions() {
            collect_refs(condition, &mut referenced);
        }
        let mut scenarios = vec![(base, Vec::<String>::new())];
        for name in referenced {
            let Some(node) = self.parameter(&name) else { continue };
            let mut values: Vec<String> = node
                .get("AllowedValues")
                .map(|allowed| allowed.items().into_iter().filter_map(node_text).collect())
                .unwrap_or_default();
            if values.is_empty() {
                values.extend(parameter_default(node));
                values.extend(sample(&name));
                values.dedup();
            }
            if values.len() < 2 {
                continue;
            }
            let (name, values) = (&name, &values);
            scenarios = scenarios
                .into_iter()
                .flat_map(|(parameters, varied)| {
                    values.iter().map(move |value| {
                        let mut parameters = parameters.clone();
                        parameters.insert(name.clone(), value.clone());
                        let mut varied = varied.clone();
                        varied.push(name.clone());
                        (parameters, varied)
                    })
                })
                .collect();
        }
        scenarios
            .into_iter()
            .map(|(parameters, varied)| self.with_conditions(parameters, varied))
            .collect()
    }
}

fn collect_refs(node: &Node, into: &mut Vec<String>) {
    match node {
        Node::Intrinsic(name, argument) if name == "Ref" => {
            if let Node::String(target) = argument.as_ref()
                && !into.contains(target)
            {
                into.push(target.clone());
            }
        }
        Node::Intrinsic(_, argument) => collect_refs(argument, into),
        Node::List(items) => items.iter().for_each(|item| collect_refs(item, into)),
        Node::Map(entries) => entries.iter().for_each(|(_, value)| collect_refs(value, into)),
        _ => {}
    }
}

/// Evaluates nodes of one template under one scenario, for one deployment.
pub struct Evaluator<'a> {
    template: &'a Template,
    scenario: &'a Scenario,
    deployment: &'a dyn Deployment,
}

impl<'a> Evaluator<'a> {
    /// Resources and pseudo parameters stay [`Symbolic`].
    pub fn new(template: &'a Template, scenario: &'a Scenario) -> Self {
        Self::deployed(template, scenario, &Symbolic)
    }

    /// Resources and pseudo parameters as `deployment` knows them.
    pub fn deployed(template: &'a Template, scenario: &'a Scenario, deployment: &'a dyn Deployment) -> Self {
        Self {
            template,
            scenario,
            deployment,
        }
    }

    /// The value CloudFormation would see; `None` for `AWS::NoValue` (the property is absent).
    pub fn eval(&self, node: &Node) -> Result<Option<Value>, EvalError> {
        Ok(Some(match node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.clone()),
            Node::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.extend(self.eval(item)?);
                }
                Value::Array(values)
            }
            Node::Map(entries) => {
                let mut object = serde_json::Map::new();
                for (key, value) in entries {
                    if let Some(value) = self.eval(value)? {
                        object.insert(key.clone(), value);
                    }
                }
                Value::Object(object)
            }
            Node::Intrinsic(name, argument) => return self.intrinsic(name, argument),
        }))
    }

    /// The value as text (numbers and booleans as CloudFormation renders them).
    pub fn eval_string(&self, node: &Node) -> Result<Option<String>, EvalError> {
        match self.eval(node)? {
            None => Ok(None),
            Some(value) => scalar_text(&value)
                .map(Some)
                .ok_or_else(|| malformed("value", format!("expected text, found {value}"))),
        }
    }

    pub fn condition(&self, name: &str) -> Result<bool, EvalError> {
        if let Some(value) = self.scenario.conditions.get(name) {
            return Ok(*value);
        }
        let node = self
            .template
            .conditions()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, node)| node)
            .ok_or_else(|| EvalError::UnknownCondition(name.to_owned()))?;
        self.truth(node)
    }

    fn truth(&self, node: &Node) -> Result<bool, EvalError> {
        match node.intrinsic() {
            Some(("Condition", Node::String(name))) => self.condition(name),
            Some(("Fn::Equals", Node::List(pair))) if pair.len() == 2 => {
                let text = |node: &Node| -> Result<Option<String>, EvalError> {
                    Ok(self.eval(node)?.and_then(|v| scalar_text(&v)))
                };
                Ok(text(&pair[0])? == text(&pair[1])?)
            }
            Some(("Fn::Not", Node::List(one))) if one.len() == 1 => Ok(!self.truth(&one[0])?),
            Some(("Fn::And", Node::List(all))) => all.iter().try_fold(true, |acc, c| Ok(acc && self.truth(c)?)),
            Some(("Fn::Or", Node::List(any))) => any.iter().try_fold(false, |acc, c| Ok(acc || self.truth(c)?)),
            _ => Err(malformed("condition", format!("{node:?} is not a condition function"))),
        }
    }

    fn reference(&self, target: &str) -> Result<Option<Value>, EvalError> {
        if target == "AWS::NoValue" {
            return Ok(None);
        }
        if PSEUDO_PARAMETERS.contains(&target) {
            return Ok(Some(self.deployment.pseudo_parameter(target)));
        }
        if let Some(parameter) = self.template.parameter(target) {
            let value = self
                .scenario
                .parameters
                .get(target)
                .ok_or_else(|| EvalError::NoParameterValue(target.to_owned()))?;
            // A list parameter's Ref is a list (of one empty string when the value is empty).
            let is_list = parameter
                .get("Type")
                .and_then(Node::as_str)
                .is_some_and(|kind| kind == "CommaDelimitedList" || kind.starts_with("List<"));
            return Ok(Some(if is_list {
                Value::Array(
                    value
                        .split(',')
                        .map(|item| Value::String(item.trim().to_owned()))
                        .collect(),
                )
            } else {
                Value::String(value.clone())
            }));
        }
        if self.template.resource(target).is_some() {
            return self
                .deployment
                .reference(target)
                .map(Some)
                .ok_or_else(|| EvalError::UnknownAttribute(format!("{target} (its Ref)")));
        }
        Err(EvalError::UnknownRef(target.to_owned()))
    }

    fn get_att(&self, id: &str, attribute: &str) -> Result<Value, EvalError> {
        if self.template.resource(id).is_none() {
            return Err(EvalError::UnknownGetAtt(format!("{id}.{attribute}")));
        }
        self.deployment
            .attribute(id, attribute)
            .ok_or_else(|| EvalError::UnknownAttribute(format!("{id}.{attribute}")))
    }

    fn intrinsic(&self, name: &str, argument: &Node) -> Result<Option<Value>, EvalError> {
        let text = |node: &Node| -> Result<String, EvalError> {
            self.eval_string(node)?
                .ok_or_else(|| malformed(name, "an argument is AWS::NoValue"))
        };
        match (name, argument) {
            ("Ref", Node::String(target)) => self.reference(target),
            ("Fn::GetAtt", _) => {
                let (id, attribute) = Node::Intrinsic(name.to_owned(), Box::new(argument.clone()))
                    .get_att_target()
                    .map(|(i, a)| (i.to_owned(), a.to_owned()))
                    .ok_or_else(|| malformed(name, format!("expected Resource.Attribute, found {argument:?}")))?;
                self.get_att(&id, &attribute).map(Some)
            }
            ("Fn::If", Node::List(parts)) if parts.len() == 3 => {
                let condition = parts[0]
                    .as_str()
                    .ok_or_else(|| malformed(name, "the condition must be a name"))?;
                let branch = if self.condition(condition)? {
                    &parts[1]
                } else {
                    &parts[2]
                };
                self.eval(branch)
            }
            ("Fn::Sub", Node::String(format)) => self.substitute(format, &[]).map(|s| Some(Value::String(s))),
            ("Fn::Sub", Node::List(parts)) if parts.len() == 2 => {
                let format = parts[0]
                    .as_str()
                    .ok_or_else(|| malformed(name, "the first argument must be a string"))?;
                let mut variables = Vec::new();
                for (variable, node) in parts[1].entries() {
                    variables.push((variable.as_str(), text(node)?));
                }
                self.substitute(format, &variables).map(|s| Some(Value::String(s)))
            }
            ("Fn::Join", Node::List(parts)) if parts.len() == 2 => {
                let delimiter = text(&parts[0])?;
                let items = match self.eval(&parts[1])? {
                    Some(Value::Array(items)) => items,
                    other => return Err(malformed(name, format!("expected a list, found {other:?}"))),
                };
                let texts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                let texts = texts.ok_or_else(|| malformed(name, "list items must be text"))?;
                Ok(Some(Value::String(texts.join(&delimiter))))
            }
            ("Fn::Split", Node::List(parts)) if parts.len() == 2 => {
                let delimiter = text(&parts[0])?;
                let source = text(&parts[1])?;
                Ok(Some(Value::Array(
                    source
                        .split(delimiter.as_str())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                )))
            }
            ("Fn::Select", Node::List(parts)) if parts.len() == 2 => {
                let index: usize = text(&parts[0])?
                    .parse()
                    .map_err(|_| malformed(name, "the index must be a number"))?;
                match self.eval(&parts[1])? {
                    Some(Value::Array(items)) => items
                        .get(index)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| malformed(name, format!("index {index} is past the end of the list"))),
                    other => Err(malformed(name, format!("expected a list, found {other:?}"))),
                }
            }
            ("Fn::FindInMap", Node::List(parts)) if parts.len() == 3 => {
                let keys = [text(&parts[0])?, text(&parts[1])?, text(&parts[2])?];
                let node = self
                    .template
                    .root()
                    .at(&["Mappings", &keys[0], &keys[1], &keys[2]])
                    .ok_or_else(|| malformed(name, format!("Mappings has no {}", keys.join("."))))?;
                self.eval(node)
            }
            (other, _) => Err(EvalError::Unsupported(format!("{other} with argument {argument:?}"))),
        }
    }

    /// `${Name}` from `variables`, parameters, pseudo parameters or resources (`${Id}` is its
    /// Ref, `${Id.Attribute}` its GetAtt); `${!Literal}` stays `${Literal}`.
    fn substitute(&self, format: &str, variables: &[(&str, String)]) -> Result<String, EvalError> {
        let mut out = String::with_capacity(format.len());
        let mut rest = format;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| malformed("Fn::Sub", format!("unclosed ${{ in {format:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some((_, value)) = variables.iter().find(|(v, _)| *v == name) {
                out.push_str(value);
            } else if let Some((id, attribute)) = name.split_once('.').filter(|_| !name.starts_with("AWS::")) {
                out.push_str(&scalar_text(&self.get_att(id, attribute)?).unwrap_or_default());
            } else {
                let value = self
                    .reference(name)?
                    .ok_or_else(|| malformed("Fn::Sub", format!("${{{name}}} is AWS::NoValue")))?;
                out.push_str(&scalar_text(&value).unwrap_or_default());
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Fifo: {Type: String, Default: "false", AllowedValues: ["true", "false"]}
  Email: {Type: String}
  Optional: {Type: String, Default: ""}
  Names: {Type: CommaDelimitedList, Default: "a, b"}
Conditions:
  IsFifo: !Equals [!Ref Fifo, "true"]
  HasOptional: !Not [!Equals [!Ref Optional, ""]]
  Both: !And [{Condition: IsFifo}, {Condition: HasOptional}]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub
        - "${AWS::StackName}-q${Suffix}"
        - Suffix: !If [IsFifo, ".fifo", ""]
      FifoQueue: !If [IsFifo, true, !Ref AWS::NoValue]
      Domain: !Select [1, !Split ["@", !Ref Email]]
      Arn: !Sub "${Queue.Arn} ${Queue} ${!Literal}"
      Joined: !Join [",", [a, !Ref Email]]
      Listed: !Join ["+", !Ref Names]
"#;

    fn evaluate(scenario: &Scenario, property: &str) -> Option<Value> {
        let template = Template::parse(TEMPLATE).unwrap();
        let node = template.resource("Queue").unwrap().property(property).unwrap().clone();
        Evaluator::new(&template, scenario).eval(&node).unwrap()
    }

    fn scenarios() -> Vec<Scenario> {
        Template::parse(TEMPLATE)
            .unwrap()
            .scenarios(&[("Email", "a@example.com"), ("Optional", "set")])
            .unwrap()
    }

    #[test]
    fn scenarios_cover_allowed_values_and_samples_of_condition_parameters() {
        let scenarios = scenarios();
        let described: Vec<String> = scenarios.iter().map(Scenario::describe).collect();
        assert_eq!(
            described,
            [
                r#"Fifo="true", Optional="""#,
                r#"Fifo="true", Optional="set""#,
                r#"Fifo="false", Optional="""#,
                r#"Fifo="false", Optional="set""#,
            ]
        );
        let both: Vec<bool> = scenarios.iter().map(|s| s.conditions["Both"]).collect();
        assert_eq!(both, [false, true, false, false]);
    }

    #[test]
    fn if_sub_select_split_join_and_no_value_evaluate_per_scenario() {
        let scenarios = scenarios();
        let (fifo, standard) = (&scenarios[0], &scenarios[2]);
        assert_eq!(
            evaluate(fifo, "QueueName"),
            Some(Value::String("{{AWS::StackName}}-q.fifo".into()))
        );
        assert_eq!(
            evaluate(standard, "QueueName"),
            Some(Value::String("{{AWS::StackName}}-q".into()))
        );
        assert_eq!(evaluate(fifo, "FifoQueue"), Some(Value::Bool(true)));
        assert_eq!(evaluate(standard, "FifoQueue"), None);
        assert_eq!(evaluate(fifo, "Domain"), Some(Value::String("example.com".into())));
        assert_eq!(
            evaluate(fifo, "Arn"),
            Some(Value::String("{{GetAtt:Queue.Arn}} {{Ref:Queue}} ${Literal}".into()))
        );
        assert_eq!(evaluate(fifo, "Joined"), Some(Value::String("a,a@example.com".into())));
        assert_eq!(
            evaluate(fifo, "Listed"),
            Some(Value::String("a+b".into())),
            "a list parameter is a list"
        );
    }

    #[test]
    fn unknown_references_are_errors() {
        let template = Template::parse(TEMPLATE).unwrap();
        let scenario = &scenarios()[0];
        let evaluator = Evaluator::new(&template, scenario);
        let unknown = Node::Intrinsic("Ref".into(), Box::new(Node::String("Nope".into())));
        assert_eq!(evaluator.eval(&unknown), Err(EvalError::UnknownRef("Nope".into())));
        let sub = Node::Intrinsic("Fn::Sub".into(), Box::new(Node::String("${Nope.Arn}".into())));
        assert_eq!(evaluator.eval(&sub), Err(EvalError::UnknownGetAtt("Nope.Arn".into())));
    }
}
