//! A deployment the local stack made: what each created resource answers to `Ref` and
//! `Fn::GetAtt`, and the pseudo parameters of the local stack.

use std::collections::HashMap;

use serde_json::Value;

use crate::intrinsics::Deployment;

/// What a created resource answers to `Ref` and `GetAtt`.
#[derive(Debug, Clone, Default)]
pub struct Physical {
    pub reference: Value,
    pub attributes: HashMap<String, Value>,
}

/// The resources created so far, by logical id, in one region and account.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    pub resources: HashMap<String, Physical>,
}

impl Deployed {
    /// Nothing created yet; moto's default region and account.
    pub fn new(stack_name: &str) -> Self {
        Self {
            stack_name: stack_name.to_owned(),
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            resources: HashMap::new(),
        }
    }
}

impl Deployment for Deployed {
    fn pseudo_parameter(&self, name: &str) -> Value {
        Value::String(match name {
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => self.account_id.clone(),
            "AWS::StackName" => self.stack_name.clone(),
            "AWS::StackId" => format!(
                "arn:aws:cloudformation:{}:{}:stack/{}/local",
                self.region, self.account_id, self.stack_name
            ),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            "AWS::NotificationARNs" => return Value::Array(Vec::new()),
            _ => "aws".to_owned(),
        })
    }

    fn reference(&self, id: &str) -> Option<Value> {
        self.resources.get(id).map(|p| p.reference.clone())
    }

    fn attribute(&self, id: &str, attribute: &str) -> Option<Value> {
        self.resources.get(id)?.attributes.get(attribute).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EvalError, Evaluator, Template};
    use serde_json::json;

    fn template() -> Template {
        Template::from_json(&json!({
            "Parameters": {"Env": {"Type": "String", "Default": "dev"}, "Size": {"Type": "Number", "Default": 10}},
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]}
            },
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}, "Later": {"Type": "AWS::SQS::Queue"}}
        }))
        .unwrap()
    }

    fn deployed() -> Deployed {
        let mut deployed = Deployed::new("stack");
        deployed.resources.insert(
            "Queue".into(),
            Physical {
                reference: json!("http://127.0.0.1:1/123456789012/q"),
                attributes: HashMap::from([("Arn".to_owned(), json!("arn:aws:sqs:us-east-1:123456789012:q"))]),
            },
        );
        deployed
    }

    #[test]
    fn intrinsics_evaluate_against_created_resources() {
        let (template, deployed) = (template(), deployed());
        let scenario = template.scenario(&HashMap::new()).unwrap();
        let evaluator = Evaluator::deployed(&template, &scenario, &deployed);
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
            evaluator.eval(&(&value).into()).unwrap(),
            Some(json!({
                "url": "http://127.0.0.1:1/123456789012/q",
                "arn": "arn:aws:sqs:us-east-1:123456789012:q",
                "arn2": "arn:aws:sqs:us-east-1:123456789012:q",
                "sub": "stack-dev-arn:aws:sqs:us-east-1:123456789012:q-${Literal}",
                "subvars": "us-east-1/10",
                "join": "a,10",
                "if": "small",
                "list": ["x", "b"]
            }))
        );
    }

    #[test]
    fn overrides_replace_defaults_and_decide_conditions() {
        let template = template();
        let scenario = template
            .scenario(&HashMap::from([("Env".to_owned(), "prod".to_owned())]))
            .unwrap();
        assert!(scenario.conditions["IsProd"] && !scenario.conditions["NotProd"]);
        assert!(matches!(
            template.scenario(&HashMap::from([("Nope".to_owned(), "x".to_owned())])),
            Err(EvalError::UnknownParameter(_))
        ));
    }

    #[test]
    fn unknown_names_uncreated_resources_and_functions_are_errors() {
        let (template, deployed) = (template(), deployed());
        let scenario = template.scenario(&HashMap::new()).unwrap();
        let evaluator = Evaluator::deployed(&template, &scenario, &deployed);
        let eval = |value: serde_json::Value| evaluator.eval(&(&value).into());
        assert!(matches!(eval(json!({"Ref": "Nope"})), Err(EvalError::UnknownRef(_))));
        assert!(matches!(
            eval(json!({"Ref": "Later"})),
            Err(EvalError::UnknownAttribute(_))
        ));
        assert!(matches!(
            eval(json!({"Fn::GetAtt": ["Queue", "Nope"]})),
            Err(EvalError::UnknownAttribute(_))
        ));
        assert!(matches!(
            eval(json!({"Fn::ImportValue": "x"})),
            Err(EvalError::Unsupported(_))
        ));
    }
}
