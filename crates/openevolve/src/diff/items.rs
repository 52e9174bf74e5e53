//! Checks of a child's regions that need no build: the mistakes small
//! models make most with code they cannot see whole, caught here so that
//! the model hears of them at once and no compile is spent on them.
//!
//! - An item (fn, struct, const ...) a region defines that the fixed code,
//!   another region or the same region defines too.
//! - An item a region defined that the fixed code uses, gone from the child.
//! - Statements (`let ...`) where a region stands among items.
//! - A path that starts with a crate the build does not have (`rand::`).
//!
//! Code is parsed with `syn`; a region or fixed code that does not parse is
//! left to the compiler, whose errors say more than a guess would.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};

use super::DiffError;
use super::rewrite::fixed_lines;
use crate::regions::evolve_regions;

/// Rust's two namespaces of items: a function and a module may share a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Namespace {
    Value,
    Type,
}

/// The top-level items of `file` that have a name (impls and macro calls
/// have none), each with its namespace.
fn item_names(file: &syn::File) -> Vec<(String, Namespace)> {
    file.items
        .iter()
        .filter_map(|item| {
            let (ident, namespace) = match item {
                syn::Item::Fn(i) => (&i.sig.ident, Namespace::Value),
                syn::Item::Const(i) => (&i.ident, Namespace::Value),
                syn::Item::Static(i) => (&i.ident, Namespace::Value),
                syn::Item::Struct(i) => (&i.ident, Namespace::Type),
                syn::Item::Enum(i) => (&i.ident, Namespace::Type),
                syn::Item::Union(i) => (&i.ident, Namespace::Type),
                syn::Item::Type(i) => (&i.ident, Namespace::Type),
                syn::Item::Trait(i) => (&i.ident, Namespace::Type),
                syn::Item::Mod(i) => (&i.ident, Namespace::Type),
                _ => return None,
            };
            Some((ident.to_string(), namespace))
        })
        .collect()
}

/// Every identifier in `tokens`, at any depth (comments and strings are not tokens).
fn identifiers(tokens: TokenStream, into: &mut BTreeSet<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                into.insert(ident.to_string());
            }
            TokenTree::Group(group) => identifiers(group.stream(), into),
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
}

/// What a region's code is to the checks.
enum RegionCode {
    Items(Vec<(String, Namespace)>),
    /// Statements where items stand; the first `let` line, if one is.
    Statements(Option<String>),
    /// Neither: left to the compiler.
    Unparsed,
}

fn read_region(body: &str) -> RegionCode {
    if let Ok(file) = syn::parse_file(body) {
        return RegionCode::Items(item_names(&file));
    }
    if syn::parse_str::<syn::Block>(&format!("{{\n{body}\n}}")).is_ok() {
        let first = body.lines().map(str::trim).find(|l| l.starts_with("let ")).map(str::to_string);
        return RegionCode::Statements(first);
    }
    RegionCode::Unparsed
}

/// Checks `child`'s regions against its fixed code and against `parent`,
/// whose regions it replaced.
pub(crate) fn check_items(parent: &str, child: &str) -> Result<(), DiffError> {
    let (Ok(regions), Ok(parent_regions)) = (evolve_regions(child), evolve_regions(parent)) else {
        return Ok(());
    };
    let fixed_text = fixed_lines(child, &regions).join("\n");
    let (Ok(fixed), Ok(tokens)) = (syn::parse_file(&fixed_text), fixed_text.parse::<TokenStream>()) else {
        return Ok(());
    };
    let fixed_items: BTreeSet<(String, Namespace)> = item_names(&fixed).into_iter().collect();
    let mut fixed_uses = BTreeSet::new();
    identifiers(tokens, &mut fixed_uses);
    let mut defined: Vec<((String, Namespace), String)> = Vec::new(); // (item, region label)
    for (i, (region, before)) in regions.iter().zip(&parent_regions).enumerate() {
        let label = region.label(i);
        // Only a region that stands among items in the parent is held to them.
        let RegionCode::Items(before) = read_region(&parent[before.body.clone()]) else { continue };
        let items = match read_region(&child[region.body.clone()]) {
            RegionCode::Items(items) => items,
            RegionCode::Statements(first) => {
                return Err(DiffError::StatementsAtItemLevel { region: label, first });
            }
            RegionCode::Unparsed => continue,
        };
        for item in &items {
            let elsewhere = match defined.iter().find(|(d, _)| d == item) {
                Some((_, l)) if *l == label => Some("the same region".to_string()),
                Some((_, l)) => Some(format!("region {l}")),
                None => fixed_items.contains(item).then(|| "the fixed code".to_string()),
            };
            if let Some(elsewhere) = elsewhere {
                return Err(DiffError::DefinedTwice { region: label, name: item.0.clone(), elsewhere });
            }
            defined.push((item.clone(), label.clone()));
        }
        let kept = |name: &str| items.iter().any(|(n, _)| n == name);
        if let Some((name, _)) = before.iter().find(|(n, _)| fixed_uses.contains(n) && !kept(n)) {
            return Err(DiffError::UsedItemDropped { region: label, name: name.clone() });
        }
    }
    Ok(())
}

/// Names a path may start with that are no crate of the dependency set.
const PATH_ROOTS: &[&str] = &[
    "std",
    "core",
    "alloc",
    "crate",
    "self",
    "super",
    "openevolve_sdk",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "bool",
    "char",
    "str",
];

/// The first lower-case name that starts a path (`rand::` in `use
/// rand::Rng` or `rand::random()`) in `tokens` and is none of `allowed`.
fn unknown_path_root(tokens: TokenStream, allowed: &dyn Fn(&str) -> bool) -> Option<String> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let colon = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => {
                if let Some(name) = unknown_path_root(group.stream(), allowed) {
                    return Some(name);
                }
            }
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                // A path goes on with a name, a `{` group or `*`; `::<`
                // is a turbofish (`collect::<Vec<_>>`), no path.
                let goes_on = match trees.get(i + 3) {
                    Some(TokenTree::Ident(_) | TokenTree::Group(_)) => true,
                    Some(TokenTree::Punct(p)) => p.as_char() == '*',
                    _ => false,
                };
                let starts_path = colon(trees.get(i + 1)) && colon(trees.get(i + 2)) && goes_on;
                let after = |c: char| matches!(i.checked_sub(1).and_then(|j| trees.get(j)), Some(TokenTree::Punct(p)) if p.as_char() == c);
                let inside_path = after(':') || after('.');
                let lower = name.starts_with(|c: char| c.is_ascii_lowercase());
                if starts_path && !inside_path && lower && !allowed(&name) {
                    return Some(name);
                }
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
    None
}

/// The names besides crates that may start a path in `tokens`: the
/// program's own modules (`mod geometry`) and what `use` declarations bring
/// in: every name of a use tree but its root (`Rng` and `nn` of `use
/// rand::Rng` and `use mlx_rs::{Array, nn}`), whose root is a path root
/// like any other.
fn local_path_roots(tokens: TokenStream, into: &mut BTreeSet<String>) {
    let mut in_use = false;
    let mut root_seen = false;
    let mut after_mod = false;
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) if after_mod => {
                into.insert(ident.to_string());
                after_mod = false;
            }
            TokenTree::Ident(ident) if !in_use && ident == "mod" => after_mod = true,
            TokenTree::Ident(ident) if !in_use && ident == "use" => (in_use, root_seen) = (true, false),
            TokenTree::Ident(ident) if in_use => {
                if root_seen {
                    into.insert(ident.to_string());
                }
                root_seen = true;
            }
            TokenTree::Group(group) if in_use => identifiers(group.stream(), into),
            TokenTree::Group(group) => local_path_roots(group.stream(), into),
            TokenTree::Punct(p) if p.as_char() == ';' => in_use = false,
            _ => {}
        }
    }
}

/// Checks that `code`'s regions name no crate but `crates` (and the
/// standard library), where the executor said which crates there are.
pub(crate) fn check_crates(code: &str, crates: &[String]) -> Result<(), DiffError> {
    let Ok(regions) = evolve_regions(code) else { return Ok(()) };
    let Ok(all) = code.parse::<TokenStream>() else { return Ok(()) };
    let mut local = BTreeSet::new();
    local_path_roots(all, &mut local);
    let allowed =
        |name: &str| PATH_ROOTS.contains(&name) || crates.iter().any(|c| c == name) || local.contains(name);
    for (i, region) in regions.iter().enumerate() {
        let Ok(tokens) = code[region.body.clone()].parse::<TokenStream>() else { continue };
        if let Some(name) = unknown_path_root(tokens, &allowed) {
            let available = match crates {
                [] => "it can use the standard library only".to_string(),
                _ => format!("it can use the standard library and {}", crates.join(", ")),
            };
            return Err(DiffError::UnavailableCrate { region: region.label(i), name, available });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "use std::fmt;\n\nfn helper(x: f64) -> f64 { x }\n\n// EVOLVE-BLOCK-START\npub fn search(n: u64) -> f64 {\n    helper(n as f64)\n}\n// EVOLVE-BLOCK-END\n\nfn main() { println!(\"{}\", search(3)); }\n";

    fn child(region: &str) -> String {
        PARENT.replace("pub fn search(n: u64) -> f64 {\n    helper(n as f64)\n}\n", region)
    }

    #[test]
    fn a_region_may_add_items_and_keep_what_the_fixed_code_uses() {
        let ok = child(
            "fn twice(x: f64) -> f64 { 2.0 * x }\npub fn search(n: u64) -> f64 {\n    twice(helper(n as f64))\n}\n",
        );
        assert_eq!(check_items(PARENT, &ok), Ok(()));
    }

    #[test]
    fn a_redefined_fixed_item_is_refused_before_the_build() {
        let twice =
            child("fn helper(x: f64) -> f64 { -x }\npub fn search(n: u64) -> f64 { helper(n as f64) }\n");
        let e = check_items(PARENT, &twice).unwrap_err();
        assert_eq!(
            e,
            DiffError::DefinedTwice {
                region: "1".into(),
                name: "helper".into(),
                elsewhere: "the fixed code".into()
            }
        );
        assert!(
            e.to_string().contains("region 1 defines `helper`, which the fixed code already defines"),
            "{e}"
        );
        let same = child("pub fn search(n: u64) -> f64 { 1.0 }\npub fn search(n: u64) -> f64 { 2.0 }\n");
        assert!(check_items(PARENT, &same).unwrap_err().to_string().contains("the same region"));
    }

    #[test]
    fn a_dropped_item_that_the_fixed_code_calls_is_refused() {
        let renamed = child("pub fn find(n: u64) -> f64 { helper(n as f64) }\n");
        assert_eq!(
            check_items(PARENT, &renamed),
            Err(DiffError::UsedItemDropped { region: "1".into(), name: "search".into() })
        );
    }

    #[test]
    fn statements_among_items_are_refused_and_code_that_does_not_parse_is_left_to_rustc() {
        let loose = child("let best = 0.0;\npub fn search(n: u64) -> f64 { best }\n");
        let e = check_items(PARENT, &loose).unwrap_err();
        assert!(e.to_string().contains("statements outside any function (`let best = 0.0;`)"), "{e}");
        let broken = child("pub fn search(n: u64) -> f64 { helper(n as f64 }\n");
        assert_eq!(check_items(PARENT, &broken), Ok(()));
    }

    #[test]
    fn a_region_inside_a_function_is_not_held_to_items() {
        let parent = "fn run() -> u32 {\n    let mut x = 1;\n    // EVOLVE-BLOCK-START\n    x += 1;\n    // EVOLVE-BLOCK-END\n    x\n}\n";
        let child = parent.replace("x += 1;", "let y = 2;\n    x += y;");
        assert_eq!(check_items(parent, &child), Ok(()));
    }

    #[test]
    fn a_function_and_a_module_may_share_a_name() {
        let with_module = child("mod search {}\npub fn search(n: u64) -> f64 { helper(n as f64) }\n");
        assert_eq!(check_items(PARENT, &with_module), Ok(()));
    }

    #[test]
    fn a_crate_the_build_lacks_is_refused_and_the_standard_library_is_not() {
        let with_rand = child("use rand::Rng;\npub fn search(n: u64) -> f64 { helper(n as f64) }\n");
        let e = check_crates(&with_rand, &[]).unwrap_err();
        assert!(
            e.to_string().contains(
                "uses the crate `rand`, which this program cannot use; it can use the standard library only"
            ),
            "{e}"
        );
        assert_eq!(check_crates(&with_rand, &["rand".to_string()]), Ok(()));
        let called = child("pub fn search(n: u64) -> f64 { let r: f64 = fastrand::f64(); helper(r) }\n");
        assert!(check_crates(&called, &[]).is_err());
        let std_only = child(
            "pub fn search(n: u64) -> f64 {\n    let v: Vec<f64> = Vec::new();\n    std::f64::consts::PI + f64::EPSILON + u64::MAX as f64 + geometry::area() + v.len() as f64\n}\nmod geometry { pub fn area() -> f64 { 1.0 } }\n",
        );
        assert_eq!(check_crates(&std_only, &[]), Ok(()));
        // A module brought in by a `use` of an available crate starts paths too.
        let imported = format!(
            "use mlx_rs::{{Array, nn}};\n{}",
            child("pub fn search(n: u64) -> f64 { nn::relu(n) }\n")
        );
        assert_eq!(check_crates(&imported, &["mlx_rs".to_string()]), Ok(()));
        // Turbofishes are no paths.
        let turbofish = child(
            "fn twice<T>(x: T) -> T { x }\npub fn search(n: u64) -> f64 {\n    let v = (0..n).map(|i| i as f64).collect::<Vec<f64>>();\n    twice::<f64>(v[0])\n}\n",
        );
        assert_eq!(check_crates(&turbofish, &[]), Ok(()));
    }

    #[test]
    fn the_examples_and_their_reference_candidates_pass_the_checks() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let crates = |example: &str| -> Vec<String> {
            let names: &[&str] = match example {
                "function_minimization" | "heilbronn_triangle" | "min_max_distance" => &["rand"],
                "circle_packing" => &[],
                _ => &["mlx_lora", "mlx_rs"],
            };
            names.iter().map(|n| n.to_string()).collect()
        };
        let mut checked = 0;
        for example in std::fs::read_dir(&examples).unwrap().map(|e| e.unwrap().path()) {
            let name = example.file_name().unwrap().to_string_lossy().into_owned();
            let candidates = std::fs::read_dir(example.join("candidates")).into_iter().flatten();
            let files = candidates.map(|e| e.unwrap().path()).chain([example.join("initial.rs")]);
            for file in files.filter(|f| f.extension().is_some_and(|e| e == "rs")) {
                let code = std::fs::read_to_string(&file).unwrap();
                let initial = std::fs::read_to_string(example.join("initial.rs")).unwrap();
                assert_eq!(check_crates(&code, &crates(&name)), Ok(()), "{}", file.display());
                assert_eq!(check_items(&initial, &code), Ok(()), "{}", file.display());
                checked += 1;
            }
        }
        assert!(checked >= 8, "{checked}");
    }

    #[test]
    fn two_regions_may_not_define_one_name() {
        let parent = "// EVOLVE-BLOCK-START a\nfn f() {}\n// EVOLVE-BLOCK-END\n// EVOLVE-BLOCK-START b\nfn g() {}\n// EVOLVE-BLOCK-END\nfn main() { f(); g(); }\n";
        let child = parent.replace("fn g() {}", "fn g() {}\nfn f() {}");
        assert_eq!(
            check_items(parent, &child),
            Err(DiffError::DefinedTwice {
                region: "b".into(),
                name: "f".into(),
                elsewhere: "region a".into()
            })
        );
    }
}
