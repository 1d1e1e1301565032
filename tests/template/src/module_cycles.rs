//! Cycles between a crate's top-level modules: module `a` naming `crate::b::…` (or
//! `super::b::…` from a child of the root) depends on `b`; a crate whose modules depend on each
//! other in a circle has no order to read them in. Names the crate root re-exports
//! (`pub use config::Settings;` in `lib.rs`) count as their module's. Test code is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use syn::visit::Visit;

use crate::sources::{ModuleFile, crate_roots};

/// Top-level module → the top-level modules it names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The cycles of the package in `package_dir`, each as the modules in it (`["classify", "push"]`).
pub fn package_cycles(package_dir: &Path) -> Result<Vec<Vec<String>>, String> {
    let mut cycles = Vec::new();
    for modules in crate_roots(package_dir)? {
        cycles.extend(cycles_of(&graph(&modules)));
    }
    Ok(cycles)
}

/// The dependencies between the top-level modules of one crate root's files.
pub fn graph(modules: &[ModuleFile]) -> Graph {
    let top_level: BTreeSet<String> = modules
        .iter()
        .filter(|m| m.path.len() == 1)
        .map(|m| m.path[0].clone())
        .collect();
    let mut re_exports = BTreeMap::new();
    for root in modules.iter().filter(|m| m.path.is_empty()) {
        let mut visitor = Names::new(&[]);
        visitor.visit_file(&root.syntax);
        for (module, name) in visitor.uses {
            if let Some(name) = name {
                re_exports.insert(name, module);
            }
        }
    }
    let mut graph = Graph::new();
    for module in modules.iter().filter(|m| !m.path.is_empty()) {
        let from = &module.path[0];
        let mut visitor = Names::new(&module.path);
        visitor.visit_file(&module.syntax);
        let named = visitor
            .paths
            .into_iter()
            .chain(visitor.uses.into_iter().map(|(first, _)| first));
        let edges = graph.entry(from.clone()).or_default();
        for first in named {
            let target = re_exports.get(&first).unwrap_or(&first);
            if target != from && top_level.contains(target) {
                edges.insert(target.clone());
            }
        }
    }
    graph
}

/// The strongly connected components of more than one module (Tarjan's algorithm), each sorted.
pub fn cycles_of(graph: &Graph) -> Vec<Vec<String>> {
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    tarjan.components
}

struct Tarjan<'g> {
    graph: &'g Graph,
    index: BTreeMap<&'g str, usize>,
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    next: usize,
    components: Vec<Vec<String>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, node: &'g str) {
        self.index.insert(node, self.next);
        self.low.insert(node, self.next);
        self.next += 1;
        self.stack.push(node);
        self.on_stack.insert(node);
        for next in self.graph.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !self.index.contains_key(next) {
                self.visit(next);
                let low = self.low[node].min(self.low[next]);
                self.low.insert(node, low);
            } else if self.on_stack.contains(next) {
                let low = self.low[node].min(self.index[next]);
                self.low.insert(node, low);
            }
        }
        if self.low[node] == self.index[node] {
            let mut component = Vec::new();
            while let Some(member) = self.stack.pop() {
                self.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                self.components.push(component);
            }
        }
    }
}

/// The first module named after `crate::` in the paths and `use` trees of one file, resolving
/// `super::` from the file's own module path.
struct Names<'p> {
    module_path: &'p [String],
    paths: Vec<String>,
    /// From `use` trees: (the first module, the last name when it is a plain re-export).
    uses: Vec<(String, Option<String>)>,
}

impl<'p> Names<'p> {
    fn new(module_path: &'p [String]) -> Self {
        Self {
            module_path,
            paths: Vec::new(),
            uses: Vec::new(),
        }
    }

    /// The crate-root-relative first segment of a path written `segments` in this file.
    fn first_module(&self, segments: &[String]) -> Option<String> {
        match segments.first().map(String::as_str) {
            Some("crate") => segments.get(1).cloned(),
            Some("super") => {
                let supers = segments.iter().take_while(|s| *s == "super").count();
                let base = self.module_path.len().checked_sub(supers)?;
                match base {
                    0 => segments.get(supers).cloned(),
                    _ => self.module_path.first().cloned(),
                }
            }
            _ => None,
        }
    }
}

impl<'ast> Visit<'ast> for Names<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(first) = self.first_module(&segments) {
            self.paths.push(first);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut flattened = Vec::new();
        flatten(&item.tree, Vec::new(), &mut flattened);
        for segments in flattened {
            if self.module_path.is_empty() {
                // The crate root's `pub use module::Name;` re-exports a module's name.
                let relative = segments.strip_prefix(&["crate".to_owned()][..]).unwrap_or(&segments);
                if let [module, name] = relative {
                    self.uses.push((module.clone(), Some(name.clone())));
                }
            } else if let Some(first) = self.first_module(&segments) {
                self.uses.push((first, None));
            }
        }
    }
}

/// Every path a `use` tree names (`a::{b, c::d}` → `a::b`, `a::c::d`), renames by their source.
fn flatten(tree: &syn::UseTree, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let with = |name: &syn::Ident| {
        let mut path = prefix.clone();
        path.push(name.to_string());
        path
    };
    match tree {
        syn::UseTree::Path(path) => flatten(&path.tree, with(&path.ident), out),
        syn::UseTree::Name(name) => out.push(with(&name.ident)),
        syn::UseTree::Rename(rename) => out.push(with(&rename.ident)),
        syn::UseTree::Glob(_) => out.push(prefix),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                flatten(item, prefix.clone(), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(path: &[&str], source: &str) -> ModuleFile {
        ModuleFile {
            path: path.iter().map(|s| s.to_string()).collect(),
            file: path.join("/").into(),
            syntax: crate::sources::parse_deployed(source).unwrap(),
        }
    }

    #[test]
    fn two_modules_importing_each_other_are_a_cycle() {
        let modules = [
            module(&[], "pub mod classify; pub mod push; pub mod plan;"),
            module(&["classify"], "use crate::push::PushTarget;"),
            module(&["push"], "use crate::classify::{FailureClass, publish_failure};"),
            module(&["plan"], "use crate::push::Push; fn f() { crate::classify::x(); }"),
        ];
        assert_eq!(
            cycles_of(&graph(&modules)),
            vec![vec!["classify".to_owned(), "push".to_owned()]]
        );
    }

    #[test]
    fn paths_super_paths_re_exports_and_globs_are_dependencies_and_test_code_is_not() {
        let modules = [
            module(&[], "pub mod a; pub mod b; pub mod c; pub mod d; pub use d::Settings;"),
            module(&["a"], "fn f() -> crate::b::B { todo!() }"),
            module(&["b"], "use super::c::*;"),
            module(&["c"], "fn g(s: crate::Settings) {}"),
            module(
                &["d"],
                "#[cfg(test)] mod tests { use crate::a::f; } struct D; impl D { #[cfg(test)] fn t() { crate::b::x(); } } fn h() {}",
            ),
            module(&["d", "inner"], "use super::super::a::f;"),
        ];
        let graph = graph(&modules);
        assert_eq!(graph["a"], BTreeSet::from(["b".to_owned()]));
        assert_eq!(graph["b"], BTreeSet::from(["c".to_owned()]));
        assert_eq!(graph["c"], BTreeSet::from(["d".to_owned()]));
        // d::inner's `super::super::a` is the crate's `a`: d depends on a, closing a circle.
        assert_eq!(graph["d"], BTreeSet::from(["a".to_owned()]));
        assert_eq!(cycles_of(&graph).len(), 1);
    }

    #[test]
    fn a_tree_of_modules_has_no_cycle() {
        let modules = [
            module(&[], "pub mod a; pub mod b;"),
            module(&["a"], "use crate::b::B;"),
            module(&["b"], "pub struct B;"),
        ];
        assert!(cycles_of(&graph(&modules)).is_empty());
    }
}
