//! A CloudFormation template (as JSON, after the SAM transform) and the evaluation of its
//! intrinsic functions against the resources the local stack created.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum CfnError {
    #[error("template: {0}")]
    Malformed(String),
    #[error("{context}: unsupported intrinsic function {function}")]
    Unsupported { context: String, function: String },
    #[error("{context}: Ref to unknown name {name}")]
    UnknownRef { context: String, name: String },
    #[error("{context}: GetAtt {resource}.{attribute} is not known locally")]
    UnknownAttribute {
        context: String,
        resource: String,
        attribute: String,
    },
    #[error("dependency cycle among resources {0:?}")]
    Cycle(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    pub properties: Value,
    pub condition: Option<String>,
    pub metadata: Value,
}

/// The parts of a template the local stack uses.
#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, Value>,
    pub conditions: Map<String, Value>,
    pub resources: BTreeMap<String, Resource>,
    pub outputs: Map<String, Value>,
}

impl Template {
    pub fn from_json(document: &Value) -> Result<Self, CfnError> {
        let section = |name: &str| {
            document
                .get(name)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let parameters = section("Parameters")
            .into_iter()
            .map(|(name, p)| (name, p.get("Default").cloned().unwrap_or(Value::Null)))
            .collect();
        let mut resources = BTreeMap::new();
        for (logical_id, resource) in section("Resources") {
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| CfnError::Malformed(format!("resource {logical_id} has no Type")))?
                .to_owned();
            resources.insert(
                logical_id.clone(),
                Resource {
                    logical_id,
                    kind,
                    properties: resource.get("Properties").cloned().unwrap_or(Value::Object(Map::new())),
                    condition: resource.get("Condition").and_then(Value::as_str).map(str::to_owned),
                    metadata: resource.get("Metadata").cloned().unwrap_or(Value::Null),
                },
            );
        }
        Ok(Self {
            parameters,
            conditions: section("Conditions"),
            resources,
            outputs: section("Outputs"),
        })
    }

    /// Resource ids in an order where every resource comes after the resources it refers to.
    pub fn creation_order(&self) -> Result<Vec<String>, CfnError> {
        let mut deps: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for (id, resource) in &self.resources {
            let mut refs = BTreeSet::new();
            collect_refs(&resource.properties, &mut refs);
            refs.retain(|r| self.resources.contains_key(r) && r != id);
            deps.insert(id, refs);
        }
        let mut order = Vec::new();
        let mut done = BTreeSet::new();
        while done.len() < self.resources.len() {
            let ready: Vec<String> = self
                .resources
                .keys()
                .filter(|id| !done.contains(*id) && deps[id.as_str()].iter().all(|d| done.contains(d)))
                .cloned()
                .collect();
            if ready.is_empty() {
                let stuck = self
                    .resources
                    .keys()
                    .filter(|id| !done.contains(*id))
                    .cloned()
                    .collect();
                return Err(CfnError::Cycle(stuck));
            }
            for id in ready {
                done.insert(id.clone());
                order.push(id);
            }
        }
        Ok(order)
    }
}

/// Names a value refers to through Ref, GetAtt and Sub.
fn collect_refs(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, arg) = map.iter().next().unwrap();
            match key.as_str() {
                "Ref" => {
                    if let Some(name) = arg.as_str() {
                        into.insert(name.to_owned());
                    }
                }
                "Fn::GetAtt" => {
                    let resource = match arg {
                        Value::Array(parts) => parts.first().and_then(Value::as_str).map(str::to_owned),
                        Value::String(s) => s.split('.').next().map(str::to_owned),
                        _ => None,
                    };
                    into.extend(resource);
                }
                "Fn::Sub" => {
                    let text = match arg {
                        Value::String(s) => Some(s.as_str()),
                        Value::Array(parts) => {
                            parts.iter().skip(1).for_each(|v| collect_refs(v, into));
                            parts.first().and_then(Value::as_str)
                        }
                        _ => None,
                    };
                    for name in text.map(sub_names).unwrap_or_default() {
                        into.insert(name.split('.').next().unwrap_or(&name).to_owned());
                    }
                }
                _ => collect_refs(arg, into),
            }
        }
        Value::Object(map) => map.values().for_each(|v| collect_refs(v, into)),
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// `${Name}` and `${Name.Attr}` placeholders of a Sub string (not `${!Literal}`).
fn sub_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            names.push(name.trim().to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

/// What a created resource answers to `Ref` and `GetAtt`.
#[derive(Debug, Clone, Default)]
pub struct Physical {
    pub reference: Value,
    pub attributes: HashMap<String, Value>,
}

/// Evaluates intrinsic functions. Pseudo parameters describe the local stack.
#[derive(Debug, Clone)]
pub struct Evaluator {
    pub parameters: HashMap<String, Value>,
    pub conditions: Map<String, Value>,
    pub resources: HashMap<String, Physical>,
    pub region: String,
    pub account_id: String,
    pub stack_name: String,
}

/// Marker for `Ref: AWS::NoValue`: the property is removed.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Evaluator {
    pub fn new(template: &Template, overrides: &HashMap<String, String>, stack_name: &str) -> Self {
        let parameters = template
            .parameters
            .iter()
            .map(|(name, default)| {
                let value = overrides
                    .get(name)
                    .map(|v| Value::String(v.clone()))
                    .unwrap_or_else(|| default.clone());
                (name.clone(), value)
            })
            .collect();
        Self {
            parameters,
            conditions: template.conditions.clone(),
            resources: HashMap::new(),
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            stack_name: stack_name.to_owned(),
        }
    }

    /// Whether the named condition holds.
    pub fn condition(&self, name: &str) -> Result<bool, CfnError> {
        let definition = self
            .conditions
            .get(name)
            .ok_or_else(|| CfnError::Malformed(format!("unknown condition {name}")))?
            .clone();
        self.truth(&definition, &format!("condition {name}"))
    }

    fn truth(&self, value: &Value, context: &str) -> Result<bool, CfnError> {
        match self.evaluate(value, context)? {
            Value::Bool(b) => Ok(b),
            Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
            other => Err(CfnError::Malformed(format!("{context}: {other} is not a boolean"))),
        }
    }

    /// Evaluate every intrinsic in `value`; `context` names the place for error messages.
    pub fn evaluate(&self, value: &Value, context: &str) -> Result<Value, CfnError> {
        match value {
            Value::Object(map) if map.len() == 1 && is_intrinsic(map.keys().next().unwrap()) => {
                let (function, arg) = map.iter().next().unwrap();
                self.intrinsic(function, arg, context)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    let item = self.evaluate(item, context)?;
                    if item != Value::String(NO_VALUE.into()) {
                        out.insert(key.clone(), item);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    let item = self.evaluate(item, context)?;
                    if item != Value::String(NO_VALUE.into()) {
                        out.push(item);
                    }
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn intrinsic(&self, function: &str, arg: &Value, context: &str) -> Result<Value, CfnError> {
        let malformed = || CfnError::Malformed(format!("{context}: malformed {function}: {arg}"));
        match function {
            "Ref" => self.reference(arg.as_str().ok_or_else(malformed)?, context),
            "Fn::GetAtt" => self.get_att(arg, context, malformed),
            "Fn::Sub" => self.sub(arg, context, malformed),
            "Fn::Join" | "Fn::Select" | "Fn::Split" => self.list_function(function, arg, context, malformed),
            "Fn::If" | "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                self.condition_function(function, arg, context, malformed)
            }
            _ => Err(CfnError::Unsupported {
                context: context.to_owned(),
                function: function.to_owned(),
            }),
        }
    }

    /// `Fn::GetAtt`, as `[resource, attribute]` or `"resource.attribute"`.
    fn get_att(&self, arg: &Value, context: &str, malformed: impl Fn() -> CfnError) -> Result<Value, CfnError> {
        let (resource, attribute) = match arg {
            Value::Array(parts) if parts.len() == 2 => (
                parts[0].as_str().ok_or_else(&malformed)?.to_owned(),
                self.evaluate(&parts[1], context)?
                    .as_str()
                    .ok_or_else(&malformed)?
                    .to_owned(),
            ),
            Value::String(s) => {
                let (r, a) = s.split_once('.').ok_or_else(&malformed)?;
                (r.to_owned(), a.to_owned())
            }
            _ => return Err(malformed()),
        };
        self.attribute(&resource, &attribute, context)
    }

    /// `Fn::Sub`, as a string or `[string, variables]`.
    fn sub(&self, arg: &Value, context: &str, malformed: impl Fn() -> CfnError) -> Result<Value, CfnError> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(parts) if parts.len() == 2 => {
                let vars = match self.evaluate(&parts[1], context)? {
                    Value::Object(vars) => vars,
                    _ => return Err(malformed()),
                };
                (parts[0].as_str().ok_or_else(&malformed)?, vars)
            }
            _ => return Err(malformed()),
        };
        self.substitute(text, &vars, context).map(Value::String)
    }

    /// `Fn::Join`, `Fn::Select` and `Fn::Split`: each takes two arguments.
    fn list_function(
        &self,
        function: &str,
        arg: &Value,
        context: &str,
        malformed: impl Fn() -> CfnError,
    ) -> Result<Value, CfnError> {
        let parts = arg.as_array().filter(|p| p.len() == 2).ok_or_else(&malformed)?;
        match function {
            "Fn::Join" => {
                let delimiter = parts[0].as_str().ok_or_else(&malformed)?;
                let items = self.evaluate(&parts[1], context)?;
                let items = items.as_array().ok_or_else(&malformed)?;
                let strings: Vec<String> = items
                    .iter()
                    .map(scalar_string)
                    .collect::<Option<_>>()
                    .ok_or_else(&malformed)?;
                Ok(Value::String(strings.join(delimiter)))
            }
            "Fn::Select" => {
                let index = scalar_string(&self.evaluate(&parts[0], context)?)
                    .and_then(|s| s.parse::<usize>().ok())
                    .ok_or_else(&malformed)?;
                let list = self.evaluate(&parts[1], context)?;
                list.as_array()
                    .and_then(|l| l.get(index))
                    .cloned()
                    .ok_or_else(&malformed)
            }
            _ => {
                let delimiter = parts[0].as_str().ok_or_else(&malformed)?;
                let text = self.evaluate(&parts[1], context)?;
                let text = text.as_str().ok_or_else(&malformed)?;
                Ok(Value::Array(
                    text.split(delimiter).map(|s| Value::String(s.to_owned())).collect(),
                ))
            }
        }
    }

    /// `Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `Condition`.
    fn condition_function(
        &self,
        function: &str,
        arg: &Value,
        context: &str,
        malformed: impl Fn() -> CfnError,
    ) -> Result<Value, CfnError> {
        match function {
            "Fn::If" => {
                let parts = arg.as_array().filter(|p| p.len() == 3).ok_or_else(&malformed)?;
                let name = parts[0].as_str().ok_or_else(&malformed)?;
                let branch = if self.condition(name)? { &parts[1] } else { &parts[2] };
                self.evaluate(branch, context)
            }
            "Fn::Equals" => {
                let parts = arg.as_array().filter(|p| p.len() == 2).ok_or_else(&malformed)?;
                let a = self.evaluate(&parts[0], context)?;
                let b = self.evaluate(&parts[1], context)?;
                Ok(Value::Bool(scalar_string(&a) == scalar_string(&b)))
            }
            "Fn::Not" => {
                let parts = arg.as_array().filter(|p| p.len() == 1).ok_or_else(&malformed)?;
                Ok(Value::Bool(!self.truth(&parts[0], context)?))
            }
            "Fn::And" | "Fn::Or" => {
                let parts = arg.as_array().ok_or_else(&malformed)?;
                let values = parts
                    .iter()
                    .map(|p| self.truth(p, context))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Bool(if function == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                }))
            }
            _ => Ok(Value::Bool(self.condition(arg.as_str().ok_or_else(&malformed)?)?)),
        }
    }

    fn reference(&self, name: &str, context: &str) -> Result<Value, CfnError> {
        let pseudo = match name {
            "AWS::Region" => Some(self.region.clone()),
            "AWS::AccountId" => Some(self.account_id.clone()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::StackName" => Some(self.stack_name.clone()),
            "AWS::StackId" => Some(format!(
                "arn:aws:cloudformation:{}:{}:stack/{}/local",
                self.region, self.account_id, self.stack_name
            )),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            "AWS::NoValue" => Some(NO_VALUE.to_owned()),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Value::String(value));
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        if let Some(physical) = self.resources.get(name) {
            return Ok(physical.reference.clone());
        }
        Err(CfnError::UnknownRef {
            context: context.to_owned(),
            name: name.to_owned(),
        })
    }

    fn attribute(&self, resource: &str, attribute: &str, context: &str) -> Result<Value, CfnError> {
        self.resources
            .get(resource)
            .and_then(|p| p.attributes.get(attribute))
            .cloned()
            .ok_or_else(|| CfnError::UnknownAttribute {
                context: context.to_owned(),
                resource: resource.to_owned(),
                attribute: attribute.to_owned(),
            })
    }

    fn substitute(&self, text: &str, vars: &Map<String, Value>, context: &str) -> Result<String, CfnError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| CfnError::Malformed(format!("{context}: unclosed ${{ in Sub {text:?}")))?;
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                let value = match vars.get(name) {
                    Some(value) => value.clone(),
                    None => match name.split_once('.') {
                        Some((resource, attribute)) if !name.starts_with("AWS::") => {
                            self.attribute(resource, attribute, context)?
                        }
                        _ => self.reference(name, context)?,
                    },
                };
                out.push_str(
                    &scalar_string(&value).ok_or_else(|| {
                        CfnError::Malformed(format!("{context}: ${{{name}}} is not a scalar: {value}"))
                    })?,
                );
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key == "Condition" || key.starts_with("Fn::")
}

/// A scalar as CloudFormation stringifies it.
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evaluator() -> Evaluator {
        let template = Template::from_json(&json!({
            "Parameters": {"Env": {"Type": "String", "Default": "dev"}, "Size": {"Type": "Number", "Default": 10}},
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]}
            },
            "Resources": {}
        }))
        .unwrap();
        let mut evaluator = Evaluator::new(&template, &HashMap::new(), "stack");
        evaluator.resources.insert(
            "Queue".into(),
            Physical {
                reference: json!("http://127.0.0.1:1/123456789012/q"),
                attributes: HashMap::from([("Arn".to_owned(), json!("arn:aws:sqs:us-east-1:123456789012:q"))]),
            },
        );
        evaluator
    }

    #[test]
    fn intrinsics_evaluate() {
        let e = evaluator();
        let value = json!({
            "url": {"Ref": "Queue"},
            "arn": {"Fn::GetAtt": ["Queue", "Arn"]},
            "arn2": {"Fn::GetAtt": "Queue.Arn"},
            "sub": {"Fn::Sub": "${AWS::StackName}-${Env}-${Queue.Arn}-${!Literal}"},
            "subvars": {"Fn::Sub": ["${X}/${Size}", {"X": {"Ref": "AWS::Region"}}]},
            "join": {"Fn::Join": [",", ["a", {"Ref": "Size"}]]},
            "if": {"Fn::If": ["IsProd", "big", "small"]},
            "gone": {"Fn::If": ["NotProd", {"Ref": "AWS::NoValue"}, "kept"]},
            "list": ["x", {"Ref": "AWS::NoValue"}, {"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}]
        });
        assert_eq!(
            e.evaluate(&value, "test").unwrap(),
            json!({
                "url": "http://127.0.0.1:1/123456789012/q",
                "arn": "arn:aws:sqs:us-east-1:123456789012:q",
                "arn2": "arn:aws:sqs:us-east-1:123456789012:q",
                "sub": "stack-dev-arn:aws:sqs:us-east-1:123456789012:q-${Literal}",
                "subvars": "us-east-1/10",
                "join": "a,10",
                "if": "small",
                "list": ["x", "b"]
            })
        );
    }

    #[test]
    fn unknown_names_and_functions_are_errors() {
        let e = evaluator();
        assert!(matches!(
            e.evaluate(&json!({"Ref": "Nope"}), "t"),
            Err(CfnError::UnknownRef { .. })
        ));
        assert!(matches!(
            e.evaluate(&json!({"Fn::GetAtt": ["Queue", "Nope"]}), "t"),
            Err(CfnError::UnknownAttribute { .. })
        ));
        assert!(matches!(
            e.evaluate(&json!({"Fn::ImportValue": "x"}), "t"),
            Err(CfnError::Unsupported { .. })
        ));
    }

    #[test]
    fn creation_order_puts_dependencies_first() {
        let template = Template::from_json(&json!({"Resources": {
            "A": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["B", "Arn"]}}}},
            "B": {"Type": "AWS::SQS::Queue"},
            "C": {"Type": "X", "Properties": {"V": {"Fn::Sub": "${A.Arn} ${B}"}}}
        }}))
        .unwrap();
        let order = template.creation_order().unwrap();
        let pos = |id: &str| order.iter().position(|x| x == id).unwrap();
        assert!(pos("B") < pos("A") && pos("A") < pos("C"), "{order:?}");
        let cyclic = Template::from_json(&json!({"Resources": {
            "A": {"Type": "X", "Properties": {"V": {"Ref": "B"}}},
            "B": {"Type": "X", "Properties": {"V": {"Ref": "A"}}}
        }}))
        .unwrap();
        assert!(matches!(cyclic.creation_order(), Err(CfnError::Cycle(_))));
    }
}
