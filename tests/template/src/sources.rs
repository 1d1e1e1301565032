//! A crate's module tree, read from its sources: the files its crate roots (`src/lib.rs`,
//! `src/main.rs`) build, following `mod` declarations, without the code that is not deployed
//! (`#[cfg(test)]`, `#[test]`, and the `testing` and `tooling` features): [`parse_deployed`]
//! strips it once, so the visitors that read these files walk what remains and need no
//! exclusions of their own.

use std::path::{Path, PathBuf};

use syn::visit_mut::VisitMut;

/// One module's file, parsed.
pub struct ModuleFile {
    /// Its path from the crate root (empty for the root itself): `["budget", "slots"]`.
    pub path: Vec<String>,
    /// Its file, relative to the package's directory (`src/budget/slots.rs`).
    pub file: PathBuf,
    pub syntax: syn::File,
}

/// The module files of each crate root of the package in `package_dir`: one list for
/// `src/lib.rs` and one for `src/main.rs`, when they exist (they are distinct crates).
pub fn crate_roots(package_dir: &Path) -> Result<Vec<Vec<ModuleFile>>, String> {
    let mut roots = Vec::new();
    for entry in ["src/lib.rs", "src/main.rs"] {
        let file = package_dir.join(entry);
        if file.exists() {
            let mut modules = Vec::new();
            collect(&file, package_dir, Vec::new(), &mut modules)?;
            roots.push(modules);
        }
    }
    Ok(roots)
}

fn collect(file: &Path, package_dir: &Path, path: Vec<String>, modules: &mut Vec<ModuleFile>) -> Result<(), String> {
    let source = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let syntax = parse_deployed(&source).map_err(|e| format!("{}: {e}", file.display()))?;
    let directory = module_directory(file);
    for item in &syntax.items {
        if let syn::Item::Mod(module) = item
            && module.content.is_none()
        {
            let name = module.ident.to_string();
            let candidates = [
                directory.join(format!("{name}.rs")),
                directory.join(&name).join("mod.rs"),
            ];
            let child = candidates
                .iter()
                .find(|candidate| candidate.exists())
                .ok_or_else(|| format!("{}: no file for mod {name}", file.display()))?;
            let mut child_path = path.clone();
            child_path.push(name);
            collect(child, package_dir, child_path, modules)?;
        }
    }
    modules.push(ModuleFile {
        path,
        file: file.strip_prefix(package_dir).unwrap_or(file).to_owned(),
        syntax,
    });
    Ok(())
}

/// Where the files of a module's children are: beside `lib.rs`/`main.rs`/`mod.rs`, else in the
/// directory named after the module.
fn module_directory(file: &Path) -> PathBuf {
    let directory = file.parent().unwrap_or(Path::new(".")).to_owned();
    match file.file_name().and_then(|n| n.to_str()) {
        Some("lib.rs" | "main.rs" | "mod.rs") => directory,
        _ => directory.join(file.file_stem().unwrap_or_default()),
    }
}

/// One file's source, parsed, without the items [`excluded`] names: at any depth, in modules,
/// `impl` and `trait` blocks and function bodies.
pub fn parse_deployed(source: &str) -> syn::Result<syn::File> {
    let mut file = syn::parse_file(source)?;
    StripExcluded.visit_file_mut(&mut file);
    Ok(file)
}

/// Removes excluded items wherever items appear, then walks into what is left.
struct StripExcluded;

impl VisitMut for StripExcluded {
    fn visit_file_mut(&mut self, file: &mut syn::File) {
        file.items.retain(|item| !excluded(item_attributes(item)));
        syn::visit_mut::visit_file_mut(self, file);
    }

    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        if let Some((_, items)) = &mut module.content {
            items.retain(|item| !excluded(item_attributes(item)));
        }
        syn::visit_mut::visit_item_mod_mut(self, module);
    }

    fn visit_item_impl_mut(&mut self, block: &mut syn::ItemImpl) {
        block.items.retain(|item| {
            !excluded(match item {
                syn::ImplItem::Const(c) => &c.attrs,
                syn::ImplItem::Fn(f) => &f.attrs,
                syn::ImplItem::Type(t) => &t.attrs,
                syn::ImplItem::Macro(m) => &m.attrs,
                _ => &[],
            })
        });
        syn::visit_mut::visit_item_impl_mut(self, block);
    }

    fn visit_item_trait_mut(&mut self, block: &mut syn::ItemTrait) {
        block.items.retain(|item| {
            !excluded(match item {
                syn::TraitItem::Const(c) => &c.attrs,
                syn::TraitItem::Fn(f) => &f.attrs,
                syn::TraitItem::Type(t) => &t.attrs,
                syn::TraitItem::Macro(m) => &m.attrs,
                _ => &[],
            })
        });
        syn::visit_mut::visit_item_trait_mut(self, block);
    }

    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        block.stmts.retain(|statement| match statement {
            syn::Stmt::Item(item) => !excluded(item_attributes(item)),
            syn::Stmt::Local(local) => !excluded(&local.attrs),
            _ => true,
        });
        syn::visit_mut::visit_block_mut(self, block);
    }
}

/// An item's attributes (none for an item syn does not model).
fn item_attributes(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]`, `#[test]`, `#[cfg(feature = "testing")]` and `#[cfg(feature = "tooling")]`
/// (ticket-processor's schema tooling for the local stack and the runners) code is not the
/// deployed code.
pub fn excluded(attributes: &[syn::Attribute]) -> bool {
    attributes.iter().any(|attribute| {
        let path = attribute.path();
        if path.is_ident("test") || path.segments.last().is_some_and(|s| s.ident == "test") {
            return true;
        }
        if !path.is_ident("cfg") {
            return false;
        }
        let tokens = match &attribute.meta {
            syn::Meta::List(list) => list.tokens.to_string().replace(' ', ""),
            _ => String::new(),
        };
        tokens == "test" || tokens.contains("feature=\"testing\"") || tokens.contains("feature=\"tooling\"")
    })
}
