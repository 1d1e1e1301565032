//! No crate of the workspace has top-level modules that depend on each other in a circle.

use template_checks::checks::source_calls::cargo_metadata;
use template_checks::module_cycles::package_cycles;

#[test]
fn no_crate_in_the_workspace_has_a_module_cycle() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let metadata = cargo_metadata(&workspace).expect("cargo metadata");
    let members = metadata["workspace_members"].as_array().expect("workspace members");
    let mut cycles = Vec::new();
    let mut packages = 0;
    for package in metadata["packages"].as_array().expect("packages") {
        if !members.contains(&package["id"]) {
            continue;
        }
        packages += 1;
        let manifest = std::path::Path::new(package["manifest_path"].as_str().expect("manifest_path"));
        let directory = manifest.parent().expect("a manifest has a directory");
        for cycle in package_cycles(directory).expect("the package's sources") {
            cycles.push(format!("{}: {}", package["name"], cycle.join(" ↔ ")));
        }
    }
    assert!(packages >= 10, "only {packages} workspace packages found");
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}
