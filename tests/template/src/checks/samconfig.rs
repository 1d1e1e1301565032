//! `samconfig.toml`'s parameter overrides name parameters the template has, with values it
//! accepts (AllowedValues, MinValue, MaxValue), and each environment fixes `Architecture` in
//! its global section, so that `sam build` and `sam deploy` agree on it.
//!
//! Reads only what it checks: `[<env>.<command>.parameters]` tables and their
//! `parameter_overrides`, either a list of `"Name=Value"` strings or one space-separated string.

use crate::Finding;
use cfn_model::intrinsics::scalar_text;
use cfn_model::template::{Node, Template};

pub const DOCUMENT: &str = "samconfig.toml";

/// One `parameter_overrides` entry: in which table, which parameter, what value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub table: String,
    pub name: String,
    pub value: String,
}

pub fn overrides(toml: &str) -> Result<Vec<Override>, String> {
    let mut found = Vec::new();
    let mut table = String::new();
    let mut lines = toml.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let line = line.trim();
        if line.starts_with('[') {
            table = line.trim_matches(['[', ']']).to_owned();
            continue;
        }
        let Some(value) = line.strip_prefix("parameter_overrides").map(str::trim_start) else {
            continue;
        };
        let value = value
            .strip_prefix('=')
            .ok_or_else(|| format!("line {}: parameter_overrides without =", number + 1))?
            .trim();
        let mut items = Vec::new();
        if value.starts_with('[') {
            let mut text = value.to_owned();
            while !text.contains(']') {
                let (_, next) = lines
                    .next()
                    .ok_or_else(|| format!("line {}: unterminated parameter_overrides list", number + 1))?;
                text.push_str(next.trim());
            }
            items.extend(quoted_strings(&text));
        } else {
            for item in quoted_strings(value) {
                items.extend(item.split_whitespace().map(str::to_owned));
            }
        }
        for item in items {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("[{table}] override {item:?} is not Name=Value"))?;
            found.push(Override {
                table: table.clone(),
                name: name.to_owned(),
                value: value.trim_matches(['"', '\'']).to_owned(),
            });
        }
    }
    Ok(found)
}

fn quoted_strings(text: &str) -> Vec<String> {
    text.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The environments (`default`, `prod`, ...) that have any table.
fn environments(toml: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in toml.lines().map(str::trim).filter(|l| l.starts_with('[')) {
        let environment = line
            .trim_matches(['[', ']'])
            .split('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !found.contains(&environment) {
            found.push(environment);
        }
    }
    found
}

pub fn check(template: &Template, toml: &str) -> Vec<Finding> {
    let overrides = match overrides(toml) {
        Ok(overrides) => overrides,
        Err(problem) => return vec![Finding::new(DOCUMENT, problem)],
    };
    let mut findings = Vec::new();
    for entry in &overrides {
        let Some(parameter) = template.parameter(&entry.name) else {
            findings.push(Finding::new(
                DOCUMENT,
                format!(
                    "[{}] overrides {}, which the template does not have",
                    entry.table, entry.name
                ),
            ));
            continue;
        };
        if let Some(problem) = rejection(parameter, &entry.value) {
            findings.push(Finding::new(
                DOCUMENT,
                format!(
                    "[{}] sets {}={:?}, which the template rejects: {problem}",
                    entry.table, entry.name, entry.value
                ),
            ));
        }
    }
    for environment in environments(toml) {
        let global = format!("{environment}.global.parameters");
        if !overrides.iter().any(|o| o.table == global && o.name == "Architecture") {
            findings.push(Finding::new(
                DOCUMENT,
                format!("[{global}] does not set Architecture: sam build and sam deploy could disagree on it"),
            ));
        }
    }
    findings
}

fn rejection(parameter: &Node, value: &str) -> Option<String> {
    let text = |node: &Node| match node {
        Node::String(s) => s.clone(),
        Node::Number(n) => scalar_text(&serde_json::Value::Number(n.clone())).unwrap_or_default(),
        Node::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    };
    if let Some(allowed) = parameter.get("AllowedValues") {
        let allowed: Vec<String> = allowed.items().into_iter().map(text).collect();
        if !allowed.iter().any(|a| a == value) {
            return Some(format!("not one of {allowed:?}"));
        }
    }
    let bound = |key: &str| parameter.get(key).and_then(|n| text(n).parse::<f64>().ok());
    let number = value.parse::<f64>();
    if parameter.get("Type").and_then(Node::as_str) == Some("Number") && number.is_err() {
        return Some("not a number".to_owned());
    }
    if let Ok(number) = number {
        if let Some(min) = bound("MinValue").filter(|min| number < *min) {
            return Some(format!("below MinValue {min}"));
        }
        if let Some(max) = bound("MaxValue").filter(|max| number > *max) {
            return Some(format!("above MaxValue {max}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "Parameters:\n  Architecture: {Type: String, Default: arm64, AllowedValues: [arm64, x86_64]}\n  \
                            Size: {Type: Number, Default: 10, MinValue: 1, MaxValue: 10}\nResources:\n  Q: {Type: AWS::SQS::Queue}\n";

    const CONFIG: &str = "version = 0.1\n[default.global.parameters]\nstack_name = \"dev\"\nparameter_overrides = [\n    \"Architecture=arm64\",\n    \"Size=5\",\n]\n\
                          [default.build.parameters]\nparallel = true\n\
                          [prod.global.parameters]\nparameter_overrides = \"Architecture=x86_64 Size=10\"\n";

    fn findings(config: &str) -> Vec<Finding> {
        check(&Template::parse(TEMPLATE).unwrap(), config)
    }

    #[test]
    fn both_override_forms_are_read() {
        let names: Vec<(String, String)> = overrides(CONFIG)
            .unwrap()
            .into_iter()
            .map(|o| (o.table, format!("{}={}", o.name, o.value)))
            .collect();
        assert_eq!(
            names,
            [
                ("default.global.parameters".to_owned(), "Architecture=arm64".to_owned()),
                ("default.global.parameters".to_owned(), "Size=5".to_owned()),
                ("prod.global.parameters".to_owned(), "Architecture=x86_64".to_owned()),
                ("prod.global.parameters".to_owned(), "Size=10".to_owned()),
            ]
        );
        assert_eq!(findings(CONFIG), []);
    }

    #[test]
    fn unknown_parameters_and_rejected_values_are_reported() {
        let messages: Vec<String> = findings(
            &CONFIG
                .replace("\"Size=5\"", "\"Sise=5\"")
                .replace("Size=10", "Size=11")
                .replace("x86_64", "arm32"),
        )
        .into_iter()
        .map(|f| f.message)
        .collect();
        assert_eq!(
            messages,
            [
                "[default.global.parameters] overrides Sise, which the template does not have",
                "[prod.global.parameters] sets Architecture=\"arm32\", which the template rejects: not one of [\"arm64\", \"x86_64\"]",
                "[prod.global.parameters] sets Size=\"11\", which the template rejects: above MaxValue 10",
            ]
        );
    }

    #[test]
    fn an_environment_without_its_architecture_is_reported() {
        let found = findings(&CONFIG.replace("Architecture=x86_64 ", ""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .starts_with("[prod.global.parameters] does not set Architecture")
        );
    }
}
