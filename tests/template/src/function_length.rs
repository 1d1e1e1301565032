//! Functions short enough to read at once: no function body in the crates of [`CHECKED`] is
//! longer than [`MAX_LINES`] lines, from its opening brace to its closing one. Tests count too:
//! every `.rs` file under a package's `src`, `tests`, `benches` and `examples` is read, and
//! every free function, method and default trait method in it (nested ones included).

use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The longest a function body may be, in lines, braces included.
pub const MAX_LINES: usize = 100;

/// The packages checked, as directories from the workspace root.
pub const CHECKED: &[&str] = &[
    "shared",
    "functions/ticket-processor",
    "functions/notification-sender",
    "functions/dlq-redrive",
    "messages",
    "local",
    "tests/template",
    "emulation/cfn",
    "emulation",
    "tests/chaos",
    "tests/harness",
    "tests/e2e",
    "bench",
    "flash-sale",
];

/// A package's directories whose `.rs` files are read.
const SOURCE_DIRECTORIES: [&str; 4] = ["src", "tests", "benches", "examples"];

/// A function and the length of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionLength {
    /// Its file, relative to the package's directory.
    pub file: PathBuf,
    /// Its name (a method's, without its type).
    pub name: String,
    /// The line of its body's opening brace, from 1.
    pub line: usize,
    /// Lines from the body's opening brace to its closing one, both included.
    pub lines: usize,
}

/// The functions of the package in `package_dir` whose body is longer than [`MAX_LINES`].
pub fn long_functions(package_dir: &Path) -> Result<Vec<FunctionLength>, String> {
    let mut files = Vec::new();
    for directory in SOURCE_DIRECTORIES {
        rust_files(&package_dir.join(directory), &mut files)?;
    }
    let mut long = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let relative = file.strip_prefix(package_dir).unwrap_or(&file);
        long.extend(
            function_lengths(relative, &source)?
                .into_iter()
                .filter(|function| function.lines > MAX_LINES),
        );
    }
    Ok(long)
}

/// Every function with a body in `source` (the text of `file`), in the order they appear.
pub fn function_lengths(file: &Path, source: &str) -> Result<Vec<FunctionLength>, String> {
    let syntax = syn::parse_file(source).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut visitor = Lengths {
        file,
        functions: Vec::new(),
    };
    visitor.visit_file(&syntax);
    Ok(visitor.functions)
}

/// The `.rs` files under `directory` (none when it does not exist), sorted.
fn rust_files(directory: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    if !directory.is_dir() {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(|e| format!("{}: {e}", directory.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", directory.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

struct Lengths<'a> {
    file: &'a Path,
    functions: Vec<FunctionLength>,
}

impl Lengths<'_> {
    fn record(&mut self, name: &syn::Ident, body: &syn::Block) {
        // Line numbers need proc-macro2's `span-locations` feature; without it they are all 0.
        let open = body.brace_token.span.open().start().line;
        let close = body.brace_token.span.close().end().line;
        self.functions.push(FunctionLength {
            file: self.file.to_owned(),
            name: name.to_string(),
            line: open,
            lines: close - open + 1,
        });
    }
}

impl<'ast> Visit<'ast> for Lengths<'_> {
    fn visit_item_fn(&mut self, function: &'ast syn::ItemFn) {
        self.record(&function.sig.ident, &function.block);
        syn::visit::visit_item_fn(self, function);
    }

    fn visit_impl_item_fn(&mut self, function: &'ast syn::ImplItemFn) {
        self.record(&function.sig.ident, &function.block);
        syn::visit::visit_impl_item_fn(self, function);
    }

    fn visit_trait_item_fn(&mut self, function: &'ast syn::TraitItemFn) {
        if let Some(body) = &function.default {
            self.record(&function.sig.ident, body);
        }
        syn::visit::visit_trait_item_fn(self, function);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function named `name` whose body spans `lines` lines.
    fn function(name: &str, lines: usize) -> String {
        format!("fn {name}() {{\n{}}}\n", "    let _ = 1;\n".repeat(lines - 2))
    }

    #[test]
    fn every_body_is_measured_from_brace_to_brace_methods_and_nested_functions_included() {
        let source = format!(
            "{}struct S;\nimpl S {{\n{}}}\ntrait T {{\n    fn required(&self);\n{}}}\nfn outer() {{\n{}}}\n",
            function("free", 3),
            function("method", 100),
            function("provided", 5),
            function("nested", 101),
        );
        let lengths: Vec<(String, usize)> = function_lengths(Path::new("x.rs"), &source)
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.lines))
            .collect();
        assert_eq!(
            lengths,
            [
                ("free".to_owned(), 3),
                ("method".to_owned(), 100),
                ("provided".to_owned(), 5),
                ("outer".to_owned(), 103),
                ("nested".to_owned(), 101),
            ]
        );
    }

    #[test]
    fn only_a_body_over_the_limit_is_reported() {
        let directory = std::env::temp_dir().join(format!("function-length-{}", std::process::id()));
        std::fs::create_dir_all(directory.join("tests")).unwrap();
        std::fs::write(directory.join("tests/long.rs"), function("at_limit", MAX_LINES)).unwrap();
        std::fs::write(directory.join("tests/longer.rs"), function("over", MAX_LINES + 1)).unwrap();
        let long = long_functions(&directory);
        std::fs::remove_dir_all(&directory).unwrap();
        assert_eq!(
            long.unwrap(),
            [FunctionLength {
                file: PathBuf::from("tests/longer.rs"),
                name: "over".to_owned(),
                line: 1,
                lines: MAX_LINES + 1,
            }]
        );
    }
}
