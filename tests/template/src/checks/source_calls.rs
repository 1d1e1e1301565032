//! Which AWS SDK operations a crate's code calls, read from its sources: every method call with
//! no argument whose name is an operation of an AWS SDK the crate depends on
//! (`.put_item()`, `.send_message()`: the SDK's fluent builders take none), in the modules the
//! crate builds (from `src/lib.rs` and `src/main.rs`, following `mod` declarations), leaving out
//! `#[cfg(test)]` code and the `testing` and `tooling` features' (not the deployed code).
//!
//! The SDKs' operations are the modules under each SDK crate's `src/operation/` (one per API
//! operation), found with `cargo metadata`: a new SDK version's operations are known without a
//! list kept here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use syn::visit::Visit;

use crate::sources::{crate_roots, parse_deployed};

/// Operation name → where it is called (`src/tickets.rs`).
pub type Calls = BTreeMap<String, BTreeSet<String>>;

/// The SDK operations a workspace package's code calls (`package`: its name in Cargo.toml).
pub fn sdk_calls(metadata: &Value, package: &str) -> Result<Calls, String> {
    let manifest = package_of(metadata, package)?["manifest_path"]
        .as_str()
        .ok_or("no manifest_path")?
        .to_owned();
    let root = Path::new(&manifest).parent().ok_or("a manifest has a directory")?;
    let operations = sdk_operations(metadata, package)?;
    let mut calls = Calls::new();
    for modules in crate_roots(root)? {
        for module in modules {
            let shown = module.file.display().to_string();
            for operation in calls_in_file(&module.syntax, &operations) {
                calls.entry(operation).or_default().insert(shown.clone());
            }
        }
    }
    Ok(calls)
}

/// `cargo metadata` of the workspace for this machine's platform (offline, from Cargo.lock: the
/// packages of other platforms are not downloaded).
pub fn cargo_metadata(workspace: &Path) -> Result<Value, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    let version = String::from_utf8_lossy(&version.stdout);
    let host = version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .ok_or("rustc -vV names no host")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--frozen",
            "--filter-platform",
            host,
        ])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata: {}", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))
}

fn package_of<'m>(metadata: &'m Value, name: &str) -> Result<&'m Value, String> {
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .ok_or_else(|| format!("no package {name} in cargo metadata"))
}

/// The operations of every `aws-sdk-*` crate `package` depends on (normal dependencies).
pub fn sdk_operations(metadata: &Value, package: &str) -> Result<BTreeSet<String>, String> {
    let mut operations = BTreeSet::new();
    for dependency in package_of(metadata, package)?["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = dependency["name"].as_str().unwrap_or_default();
        if !name.starts_with("aws-sdk-") || !dependency["kind"].is_null() {
            continue;
        }
        let sdk = package_of(metadata, name)?;
        let manifest = Path::new(sdk["manifest_path"].as_str().ok_or("no manifest_path")?);
        let directory = manifest.parent().unwrap_or(Path::new(".")).join("src/operation");
        let entries = std::fs::read_dir(&directory).map_err(|e| format!("{}: {e}", directory.display()))?;
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                operations.insert(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    Ok(operations)
}

/// The calls of `operations` in `source` (one file's text), for unit tests and [`sdk_calls`].
pub fn calls_in_source(source: &str, operations: &BTreeSet<String>) -> Result<BTreeSet<String>, String> {
    let file = parse_deployed(source).map_err(|e| e.to_string())?;
    Ok(calls_in_file(&file, operations))
}

fn calls_in_file(file: &syn::File, operations: &BTreeSet<String>) -> BTreeSet<String> {
    let mut visitor = CallVisitor {
        operations,
        found: BTreeSet::new(),
    };
    visitor.visit_file(file);
    visitor.found
}

struct CallVisitor<'o> {
    operations: &'o BTreeSet<String>,
    found: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for CallVisitor<'_> {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        if call.args.is_empty() && self.operations.contains(&name) {
            self.found.insert(name);
        }
        syn::visit::visit_expr_method_call(self, call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operations() -> BTreeSet<String> {
        ["put_item", "send_message", "publish", "scan"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn fluent_calls_of_sdk_operations_are_found_and_test_code_is_not() {
        let source = r#"
            async fn f(client: &Client) {
                client.put_item().table_name("t").send().await;
                let request = self.sqs.send_message().queue_url(u);
                other.publish(3); // an argument: not an SDK builder
                x.clone();
            }
            #[cfg(test)]
            mod tests { fn g() { c.publish().send(); } }
            #[test]
            fn h() { c.publish(); }
            #[cfg(feature = "testing")]
            mod testing { fn t() { c.publish(); } }
            #[cfg(feature = "tooling")]
            mod tooling { fn s() { c.scan(); } }
            impl S { #[cfg(test)] fn t() { c.scan(); } }
        "#;
        let found = calls_in_source(source, &operations()).unwrap();
        assert_eq!(
            found,
            ["put_item", "send_message"].iter().map(|s| s.to_string()).collect()
        );
    }
}
