//! The deploy documentation matches the template: its parameters table lists every parameter
//! with the template's default (and no parameter the template lacks), and its outputs table
//! names every output.

use crate::Finding;
use crate::checks::samconfig::Override;
use cfn_model::intrinsics::scalar_text;
use cfn_model::template::{Node, Template};

/// What the table says for a parameter without a default, and for an empty default.
pub const REQUIRED: &str = "(required)";
pub const EMPTY: &str = "(empty)";

pub const DOCUMENT: &str = "docs/deploy.md";

pub fn check(template: &Template, markdown: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let rows = table_rows(markdown, "### Parameters");
    if rows.is_empty() {
        return vec![Finding::new(DOCUMENT, "has no table under \"### Parameters\"")];
    }
    for (name, node) in template.parameters() {
        let expected = match node.get("Default") {
            None => REQUIRED.to_owned(),
            Some(Node::String(s)) if s.is_empty() => EMPTY.to_owned(),
            Some(default) => format!("`{}`", default_text(default)),
        };
        match rows
            .iter()
            .find(|row| row.first().map(String::as_str) == Some(&format!("`{name}`")))
        {
            None => findings.push(Finding::new(DOCUMENT, format!("does not document parameter {name}"))),
            Some(row) if row.get(1) != Some(&expected) => findings.push(Finding::new(
                DOCUMENT,
                format!(
                    "gives parameter {name} the default {:?}; the template's is {expected}",
                    row.get(1)
                ),
            )),
            Some(_) => {}
        }
    }
    for row in &rows {
        let name = row.first().map(|cell| cell.trim_matches('`')).unwrap_or_default();
        if template.parameter(name).is_none() {
            findings.push(Finding::new(
                DOCUMENT,
                format!("documents parameter {name}, which the template does not have"),
            ));
        }
    }
    let outputs = table_rows(markdown, "### Outputs");
    let documented: Vec<&str> = outputs
        .iter()
        .filter_map(|row| row.first())
        .flat_map(|cell| cell.split(", "))
        .map(|name| name.trim_matches('`'))
        .collect();
    for (name, _) in template.root().get("Outputs").map(Node::entries).unwrap_or(&[]) {
        if !documented.contains(&name.as_str()) {
            findings.push(Finding::new(DOCUMENT, format!("does not document output {name}")));
        }
    }
    findings
}

fn default_text(node: &Node) -> String {
    match node {
        Node::String(s) => s.clone(),
        Node::Number(n) => scalar_text(&serde_json::Value::Number(n.clone())).unwrap_or_default(),
        Node::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// What the environments table says for a parameter an environment does not override.
pub const NOT_OVERRIDDEN: &str = "(default)";

/// The table after the line starting [`ENVIRONMENTS_INTRO`] has a column per environment
/// (`default`, `prod`, in backticks in the header) and a row per parameter; each cell is the
/// environment's override from samconfig.toml. Every override that differs from the
/// template's default has its row.
pub const ENVIRONMENTS_INTRO: &str = "The environments override these";

pub fn check_environments(template: &Template, markdown: &str, overrides: &[Override]) -> Vec<Finding> {
    let header: Vec<String> = table_lines(markdown, ENVIRONMENTS_INTRO)
        .into_iter()
        .next()
        .unwrap_or_default();
    let environments: Vec<String> = header
        .iter()
        .skip(1)
        .map(|cell| cell.split('`').nth(1).unwrap_or_default().to_owned())
        .collect();
    if environments.is_empty() {
        return vec![Finding::new(
            DOCUMENT,
            format!("has no table after \"{ENVIRONMENTS_INTRO}\""),
        )];
    }
    let rows = table_rows(markdown, ENVIRONMENTS_INTRO);
    let value = |environment: &str, name: &str| {
        overrides
            .iter()
            .find(|o| o.table == format!("{environment}.global.parameters") && o.name == name)
            .map(|o| o.value.clone())
    };
    let mut findings = Vec::new();
    for row in &rows {
        let name = row.first().map(|cell| cell.trim_matches('`')).unwrap_or_default();
        for (environment, cell) in environments.iter().zip(row.iter().skip(1)) {
            let expected = value(environment, name).map_or(NOT_OVERRIDDEN.to_owned(), |v| format!("`{v}`"));
            if *cell != expected {
                findings.push(Finding::new(
                    DOCUMENT,
                    format!("says {environment} sets {name} to {cell}; samconfig.toml says {expected}"),
                ));
            }
        }
    }
    for entry in overrides {
        let environment = entry.table.split('.').next().unwrap_or_default();
        let default = template
            .parameter(&entry.name)
            .and_then(|p| p.get("Default"))
            .map(default_text);
        let listed = rows
            .iter()
            .any(|row| row.first().map(|c| c.trim_matches('`')) == Some(entry.name.as_str()));
        if environments.iter().any(|e| e == environment) && default.as_deref() != Some(entry.value.as_str()) && !listed
        {
            findings.push(Finding::new(
                DOCUMENT,
                format!(
                    "does not list {}'s override {}={}",
                    environment, entry.name, entry.value
                ),
            ));
        }
    }
    findings
}

/// The body rows of the first table after `heading`, as trimmed cells.
pub fn table_rows(markdown: &str, heading: &str) -> Vec<Vec<String>> {
    table_lines(markdown, heading).into_iter().skip(2).collect()
}

/// Every row of the first table after the line starting with `heading`, header included.
fn table_lines(markdown: &str, heading: &str) -> Vec<Vec<String>> {
    let Some(start) = markdown.lines().position(|line| line.trim().starts_with(heading)) else {
        return Vec::new();
    };
    markdown
        .lines()
        .skip(start + 1)
        .skip_while(|line| !line.trim_start().starts_with('|'))
        .take_while(|line| line.trim_start().starts_with('|'))
        .map(|line| {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "Parameters:\n  Size: {Type: Number, Default: 10}\n  Email: {Type: String}\n  Set: {Type: String, Default: ''}\n\
                            Resources:\n  Q: {Type: AWS::SQS::Queue}\nOutputs:\n  QueueUrl: {Value: !Ref Q}\n  QueueArn: {Value: !GetAtt Q.Arn}\n";

    const DOCS: &str = "# Deploy\n\n### Parameters\n\n| Parameter | Default | Meaning |\n| --- | --- | --- |\n\
                        | `Size` | `10` | Batch size. |\n| `Email` | (required) | Sender. |\n| `Set` | (empty) | Optional. |\n\n\
                        ### Outputs\n\n| Output | What |\n| --- | --- |\n| `QueueUrl`, `QueueArn` | The queue. |\n";

    fn findings(docs: &str) -> Vec<Finding> {
        check(&Template::parse(TEMPLATE).unwrap(), docs)
    }

    #[test]
    fn documentation_matching_the_template_passes() {
        assert_eq!(findings(DOCS), []);
    }

    #[test]
    fn the_environments_table_follows_samconfig() {
        let template = Template::parse(TEMPLATE).unwrap();
        let docs = "The environments override these:\n\n| Parameter | `default` (dev) | `prod` |\n| --- | --- | --- |\n| `Size` | `5` | (default) |\n";
        let overrides = |prod_size: &str| {
            let entry = |table: &str, value: &str| Override {
                table: table.into(),
                name: "Size".into(),
                value: value.into(),
            };
            vec![
                entry("default.global.parameters", "5"),
                entry("prod.global.parameters", prod_size),
            ]
        };
        // prod sets the template's default: no need to list it, but the table says it does not.
        let found = check_environments(&template, docs, &overrides("10"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].message,
            "says prod sets Size to (default); samconfig.toml says `10`"
        );
        assert_eq!(check_environments(&template, docs, &overrides("10")[..1]), []);
        let found = check_environments(
            &template,
            &docs.replace("| `Size` | `5` | (default) |\n", ""),
            &overrides("7"),
        );
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "does not list default's override Size=5",
                "does not list prod's override Size=7"
            ]
        );
    }

    #[test]
    fn a_wrong_default_is_reported() {
        let found = findings(&DOCS.replace("| `10` |", "| `20` |"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .contains("gives parameter Size the default Some(\"`20`\"); the template's is `10`")
        );
    }

    #[test]
    fn missing_and_unknown_parameters_and_outputs_are_reported() {
        let found = findings(&DOCS.replace("| `Email` |", "| `Sender` |").replace("`QueueUrl`, ", ""));
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "does not document parameter Email",
                "documents parameter Sender, which the template does not have",
                "does not document output QueueUrl"
            ]
        );
    }
}
