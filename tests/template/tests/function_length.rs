//! No function body of the checked crates is longer than 100 lines, tests included.

use template_checks::function_length::{CHECKED, MAX_LINES, long_functions};

#[test]
fn no_function_of_the_checked_crates_is_longer_than_the_limit() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut long = Vec::new();
    for package in CHECKED {
        let directory = workspace.join(package);
        assert!(directory.join("Cargo.toml").exists(), "{package} is not a package");
        for function in long_functions(&directory).expect("the package's sources parse") {
            long.push(format!(
                "{package}/{}:{} {}: {} lines",
                function.file.display(),
                function.line,
                function.name,
                function.lines
            ));
        }
    }
    assert!(
        long.is_empty(),
        "function bodies over {MAX_LINES} lines (split them by phase or role):\n{}",
        long.join("\n")
    );
}
