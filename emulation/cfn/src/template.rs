//! A CloudFormation/SAM template as a tree. CloudFormation's short-form tags (`!Ref X`,
//! `!Sub ...`, `!GetAtt A.B`) and their long forms (`Ref: X`, `Fn::Sub: ...`) read into the same
//! [`Node::Intrinsic`], so checks never care which form a template uses. A template reads from
//! YAML (`template.yaml`, for the checks) or from JSON (the SAM transform's output, for the
//! local stack) into the same tree.

use std::collections::BTreeSet;

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// A number as the template wrote it (integers stay integers).
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    /// A mapping, in the template's order.
    Map(Vec<(String, Node)>),
    /// An intrinsic function by its long name (`Ref`, `Condition`, `Fn::Sub`, ...) and argument.
    Intrinsic(String, Box<Node>),
}

/// Intrinsic functions CloudFormation defines; a tag outside this list is a typo.
const FUNCTIONS: [&str; 17] = [
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "ToJsonString",
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("{path}: tag {tag} is not a CloudFormation intrinsic function")]
    UnknownTag { path: String, tag: String },
    #[error("{path}: mapping key {key} is not a string")]
    NonStringKey { path: String, key: String },
    #[error("the template has no Resources mapping")]
    NoResources,
    #[error("resource {0} has no Type")]
    NoType(String),
    #[error("dependency cycle among resources {0:?}")]
    Cycle(Vec<String>),
}

/// A YAML number as JSON keeps it: an integer stays one; `.nan` and `.inf` (which JSON has no
/// number for) stay text.
fn yaml_number(n: &serde_yaml_ng::Number) -> Node {
    let number = if let Some(u) = n.as_u64() {
        Some(serde_json::Number::from(u))
    } else if let Some(i) = n.as_i64() {
        Some(serde_json::Number::from(i))
    } else {
        n.as_f64().and_then(serde_json::Number::from_f64)
    };
    number.map_or_else(|| Node::String(n.to_string()), Node::Number)
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The entries of a mapping; none for anything else.
    pub fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a list; a single item for anything else but null (CloudFormation accepts
    /// one statement, action or resource where it accepts a list).
    pub fn items(&self) -> Vec<&Node> {
        match self {
            Node::List(items) => items.iter().collect(),
            Node::Null => Vec::new(),
            other => vec![other],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The intrinsic function's name and argument, when this is one.
    pub fn intrinsic(&self) -> Option<(&str, &Node)> {
        match self {
            Node::Intrinsic(name, argument) => Some((name, argument)),
            _ => None,
        }
    }

    /// The resource id of `!Ref Id`.
    pub fn ref_target(&self) -> Option<&str> {
        match self.intrinsic() {
            Some(("Ref", Node::String(id))) => Some(id),
            _ => None,
        }
    }

    /// The resource id and attribute of `!GetAtt Id.Attribute` or `Fn::GetAtt: [Id, Attribute]`.
    pub fn get_att_target(&self) -> Option<(&str, &str)> {
        match self.intrinsic() {
            Some(("Fn::GetAtt", Node::String(target))) => target.split_once('.'),
            Some(("Fn::GetAtt", Node::List(parts))) => match parts.as_slice() {
                [Node::String(id), Node::String(attribute)] => Some((id, attribute)),
                _ => None,
            },
            _ => None,
        }
    }

    fn from_yaml(yaml: Yaml, path: &str) -> Result<Node, TemplateError> {
        Ok(match yaml {
            Yaml::Null => Node::Null,
            Yaml::Bool(b) => Node::Bool(b),
            Yaml::Number(n) => yaml_number(&n),
            Yaml::String(s) => Node::String(s),
            Yaml::Sequence(items) => Node::List(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| Node::from_yaml(item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Yaml::Mapping(mapping) => {
                let mut entries = Vec::with_capacity(mapping.len());
                for (key, value) in mapping {
                    let key = match key {
                        Yaml::String(key) => key,
                        other => {
                            return Err(TemplateError::NonStringKey {
                                path: path.to_owned(),
                                key: format!("{other:?}"),
                            });
                        }
                    };
                    let child = format!("{path}.{key}");
                    entries.push((key, Node::from_yaml(value, &child)?));
                }
                long_form_intrinsic(entries)
            }
            Yaml::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let name = match tag.trim_start_matches('!') {
                    "Ref" => "Ref".to_owned(),
                    "Condition" => "Condition".to_owned(),
                    function if FUNCTIONS.contains(&function) => format!("Fn::{function}"),
                    _ => {
                        return Err(TemplateError::UnknownTag {
                            path: path.to_owned(),
                            tag,
                        });
                    }
                };
                let argument = Node::from_yaml(tagged.value, &format!("{path}.{tag}"))?;
                Node::Intrinsic(name, Box::new(argument))
            }
        })
    }
}

impl From<&Json> for Node {
    /// JSON's long forms (`{"Ref": "X"}`, `{"Fn::Sub": ...}`) read as YAML's do.
    fn from(json: &Json) -> Node {
        match json {
            Json::Null => Node::Null,
            Json::Bool(b) => Node::Bool(*b),
            Json::Number(n) => Node::Number(n.clone()),
            Json::String(s) => Node::String(s.clone()),
            Json::Array(items) => Node::List(items.iter().map(Node::from).collect()),
            Json::Object(map) => long_form_intrinsic(map.iter().map(|(k, v)| (k.clone(), Node::from(v))).collect()),
        }
    }
}

/// `{Ref: X}`, `{Fn::Sub: ...}` and `{Condition: Name}` are intrinsics; other mappings stay maps.
fn long_form_intrinsic(mut entries: Vec<(String, Node)>) -> Node {
    let is_intrinsic = match entries.as_slice() {
        [(key, _)] if key == "Ref" || key.starts_with("Fn::") => true,
        [(key, Node::String(_))] if key == "Condition" => true,
        _ => false,
    };
    if is_intrinsic {
        let (name, argument) = entries.pop().expect("one entry");
        Node::Intrinsic(name, Box::new(argument))
    } else {
        Node::Map(entries)
    }
}

/// One entry of the Resources section.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'t> {
    pub id: &'t str,
    pub kind: &'t str,
    pub node: &'t Node,
}

impl<'t> Resource<'t> {
    pub fn properties(&self) -> &'t Node {
        self.node.get("Properties").unwrap_or(&Node::Null)
    }

    pub fn property(&self, name: &str) -> Option<&'t Node> {
        self.properties().get(name)
    }

    pub fn metadata(&self) -> &'t Node {
        self.node.get("Metadata").unwrap_or(&Node::Null)
    }

    /// The name of the condition the resource is created under, if any.
    pub fn condition(&self) -> Option<&'t str> {
        self.node.get("Condition").and_then(Node::as_str)
    }
}

pub const SERVERLESS_FUNCTION: &str = "AWS::Serverless::Function";
pub const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";
pub const SQS_QUEUE: &str = "AWS::SQS::Queue";

#[derive(Debug, Clone)]
pub struct Template {
    root: Node,
}

impl Template {
    /// A template in YAML (or JSON, which is YAML), with short-form tags.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let yaml: Yaml = serde_yaml_ng::from_str(text)?;
        Template::new(Node::from_yaml(yaml, "")?)
    }

    /// A template already read as JSON, e.g. the SAM transform's output.
    pub fn from_json(document: &Json) -> Result<Template, TemplateError> {
        Template::new(Node::from(document))
    }

    fn new(root: Node) -> Result<Template, TemplateError> {
        let Some(Node::Map(resources)) = root.get("Resources") else {
            return Err(TemplateError::NoResources);
        };
        if let Some((id, _)) = resources
            .iter()
            .find(|(_, r)| r.get("Type").and_then(Node::as_str).is_none())
        {
            return Err(TemplateError::NoType(id.clone()));
        }
        Ok(Template { root })
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    pub fn resources(&self) -> impl Iterator<Item = Resource<'_>> {
        self.root
            .get("Resources")
            .unwrap_or(&Node::Null)
            .entries()
            .iter()
            .map(|(id, node)| Resource {
                id,
                kind: node.get("Type").and_then(Node::as_str).unwrap_or(""),
                node,
            })
    }

    pub fn resource(&self, id: &str) -> Option<Resource<'_>> {
        self.resources().find(|r| r.id == id)
    }

    pub fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = Resource<'a>> + 'a {
        self.resources().filter(move |r| r.kind == kind)
    }

    /// Serverless and plain Lambda functions.
    pub fn functions(&self) -> impl Iterator<Item = Resource<'_>> {
        self.resources()
            .filter(|r| r.kind == SERVERLESS_FUNCTION || r.kind == LAMBDA_FUNCTION)
    }

    /// The template's outputs, by name.
    pub fn outputs(&self) -> &[(String, Node)] {
        self.root.get("Outputs").map(Node::entries).unwrap_or(&[])
    }

    /// Resource ids in an order where every resource comes after the resources it refers to
    /// (by `Ref`, `Fn::GetAtt` or a `Fn::Sub` placeholder) and after those in its `DependsOn`.
    pub fn creation_order(&self) -> Result<Vec<String>, TemplateError> {
        let dependencies: Vec<(&str, BTreeSet<String>)> = self
            .resources()
            .map(|resource| {
                let mut names = BTreeSet::new();
                referred(resource.node, &mut names);
                names.extend(
                    resource
                        .node
                        .get("DependsOn")
                        .into_iter()
                        .flat_map(Node::items)
                        .filter_map(Node::as_str)
                        .map(str::to_owned),
                );
                names.retain(|name| name != resource.id && self.resource(name).is_some());
                (resource.id, names)
            })
            .collect();
        let mut order: Vec<String> = Vec::new();
        while order.len() < dependencies.len() {
            let ready: Vec<String> = dependencies
                .iter()
                .filter(|(id, names)| !order.iter().any(|o| o == id) && names.iter().all(|n| order.contains(n)))
                .map(|(id, _)| (*id).to_owned())
                .collect();
            if ready.is_empty() {
                let stuck = dependencies
                    .iter()
                    .map(|(id, _)| (*id).to_owned())
                    .filter(|id| !order.contains(id));
                return Err(TemplateError::Cycle(stuck.collect()));
            }
            order.extend(ready);
        }
        Ok(order)
    }

    pub fn parameters(&self) -> &[(String, Node)] {
        self.root.get("Parameters").map(Node::entries).unwrap_or(&[])
    }

    pub fn parameter(&self, name: &str) -> Option<&Node> {
        self.root.get("Parameters").and_then(|p| p.get(name))
    }

    pub fn conditions(&self) -> &[(String, Node)] {
        self.root.get("Conditions").map(Node::entries).unwrap_or(&[])
    }

    /// A function's property, or for a serverless function the one in `Globals.Function`.
    pub fn function_property<'t>(&'t self, function: &Resource<'t>, name: &str) -> Option<&'t Node> {
        function.property(name).or_else(|| {
            (function.kind == SERVERLESS_FUNCTION)
                .then(|| self.root.at(&["Globals", "Function", name]))
                .flatten()
        })
    }

    /// A function's environment variables: `Globals.Function` ones overridden by its own.
    pub fn environment<'t>(&'t self, function: &Resource<'t>) -> Vec<(&'t str, &'t Node)> {
        let own = function.properties().at(&["Environment", "Variables"]);
        let global = (function.kind == SERVERLESS_FUNCTION)
            .then(|| self.root.at(&["Globals", "Function", "Environment", "Variables"]))
            .flatten();
        let mut variables: Vec<(&'t str, &'t Node)> = Vec::new();
        for (name, value) in global.into_iter().chain(own).flat_map(Node::entries) {
            variables.retain(|(existing, _)| existing != name);
            variables.push((name, value));
        }
        variables
    }

    /// The AWS::SQS::Queue that `node` names by `!GetAtt Queue.Arn`.
    pub fn queue_by_arn(&self, node: &Node) -> Option<Resource<'_>> {
        match node.get_att_target() {
            Some((id, "Arn")) => self.resource(id).filter(|r| r.kind == SQS_QUEUE),
            _ => None,
        }
    }
}

/// The names a node refers to through `Ref`, `Fn::GetAtt` and `Fn::Sub` placeholders (for a
/// `Name.Attribute` placeholder, the `Name`).
fn referred(node: &Node, into: &mut BTreeSet<String>) {
    if let Some(name) = node.ref_target() {
        into.insert(name.to_owned());
    } else if let Some((id, _)) = node.get_att_target() {
        into.insert(id.to_owned());
    } else if let Some(("Fn::Sub", argument)) = node.intrinsic() {
        let format = argument
            .as_str()
            .or_else(|| argument.items().first().and_then(|f| f.as_str()));
        for name in format.map(sub_placeholders).unwrap_or_default() {
            into.insert(name.split('.').next().unwrap_or(name).to_owned());
        }
        argument
            .items()
            .iter()
            .skip(1)
            .for_each(|variables| referred(variables, into));
        return;
    }
    match node {
        Node::Intrinsic(_, argument) => referred(argument, into),
        Node::List(items) => items.iter().for_each(|item| referred(item, into)),
        Node::Map(entries) => entries.iter().for_each(|(_, value)| referred(value, into)),
        _ => {}
    }
}

/// The `${Name}` and `${Name.Attribute}` placeholders of a `Fn::Sub` format (not `${!Literal}`).
pub fn sub_placeholders(format: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].trim();
        if !name.starts_with('!') {
            names.push(name);
        }
        rest = &after[end + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_forms_read_the_same() {
        let short = Template::parse(
            "Resources:\n  A:\n    Type: T\n    Properties:\n      X: !Ref P\n      Y: !GetAtt Q.Arn\n      Z: !Sub '${P}'\n",
        )
        .unwrap();
        let long = Template::parse(
            "Resources:\n  A:\n    Type: T\n    Properties:\n      X: {Ref: P}\n      Y: {'Fn::GetAtt': [Q, Arn]}\n      Z: {'Fn::Sub': '${P}'}\n",
        )
        .unwrap();
        let (a, b) = (short.resource("A").unwrap(), long.resource("A").unwrap());
        assert_eq!(a.property("X"), b.property("X"));
        assert_eq!(a.property("Z"), b.property("Z"));
        assert_eq!(a.property("Y").unwrap().get_att_target(), Some(("Q", "Arn")));
        assert_eq!(b.property("Y").unwrap().get_att_target(), Some(("Q", "Arn")));
    }

    #[test]
    fn an_unknown_tag_is_an_error_naming_where() {
        let error = Template::parse("Resources:\n  A:\n    Type: T\n    Properties:\n      X: !Reff P\n").unwrap_err();
        assert!(
            matches!(&error, TemplateError::UnknownTag { path, tag } if path == ".Resources.A.Properties.X" && tag == "!Reff"),
            "{error}"
        );
    }

    #[test]
    fn json_reads_as_yaml_does() {
        let yaml =
            Template::parse("Resources:\n  A:\n    Type: T\n    Properties:\n      N: 180\n      X: !Ref P\n").unwrap();
        let json = Template::from_json(
            &serde_json::json!({"Resources": {"A": {"Type": "T", "Properties": {"N": 180, "X": {"Ref": "P"}}}}}),
        )
        .unwrap();
        assert_eq!(
            yaml.resource("A").unwrap().properties(),
            json.resource("A").unwrap().properties()
        );
        assert_eq!(
            json.resource("A").unwrap().property("N"),
            Some(&Node::Number(180.into()))
        );
    }

    #[test]
    fn creation_order_puts_dependencies_first() {
        let template = Template::from_json(&serde_json::json!({"Resources": {
            "A": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["B", "Arn"]}}}},
            "B": {"Type": "AWS::SQS::Queue"},
            "C": {"Type": "X", "Properties": {"V": {"Fn::Sub": "${A.Arn} ${B}"}}},
            "D": {"Type": "X", "DependsOn": "E"},
            "E": {"Type": "X"}
        }}))
        .unwrap();
        let order = template.creation_order().unwrap();
        let pos = |id: &str| order.iter().position(|x| x == id).unwrap();
        assert!(
            pos("B") < pos("A") && pos("A") < pos("C") && pos("E") < pos("D"),
            "{order:?}"
        );
        let cyclic = Template::from_json(&serde_json::json!({"Resources": {
            "A": {"Type": "X", "Properties": {"V": {"Ref": "B"}}},
            "B": {"Type": "X", "Properties": {"V": {"Ref": "A"}}}
        }}))
        .unwrap();
        assert!(matches!(cyclic.creation_order(), Err(TemplateError::Cycle(_))));
    }

    #[test]
    fn a_template_without_resources_is_rejected() {
        assert!(matches!(
            Template::parse("Parameters: {}\n"),
            Err(TemplateError::NoResources)
        ));
    }

    #[test]
    fn function_environment_merges_globals_under_the_functions_own() {
        let template = Template::parse(
            "Globals:\n  Function:\n    Timeout: 9\n    Environment:\n      Variables:\n        A: global\n        B: global\n\
             Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          B: own\n",
        )
        .unwrap();
        let function = template.resource("F").unwrap();
        let environment = template.environment(&function);
        assert_eq!(
            environment,
            vec![
                ("A", &Node::String("global".into())),
                ("B", &Node::String("own".into()))
            ]
        );
        assert_eq!(
            template.function_property(&function, "Timeout"),
            Some(&Node::Number(9.into()))
        );
    }
}
