//! The crates a problem's code may use. Candidates declare theirs in
//! `candidate.toml` (a Cargo `[dependencies]` table beside `initial.rs`); an
//! evaluator crate declares its own in its `Cargo.toml`. Either may also hold
//! `[patch.<source>]` tables (e.g. a platform port of a crate), which apply
//! to the whole set as they would at a workspace root. Both are built as one
//! dependency set, so the candidate and the evaluator link the very same
//! builds of the crates they share (passing an `mlx_rs::Array` between them
//! is sound only then).

use std::path::Path;

use toml::{Table, Value};

use crate::error::PrepareError;

/// The crate every candidate and evaluator builds against, from the sources
/// this build embeds.
pub(crate) const SDK_CRATE: &str = "openevolve-sdk";

/// The Rust edition the problem's code (the candidates, and an evaluator
/// built with them) compiles in: `[package] edition` of `candidate.toml`,
/// the newest when it says none. Small models write the Rust they have
/// read most, where `gen` (e.g. rand's `rng.gen()`) is still a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edition {
    E2015,
    E2018,
    E2021,
    #[default]
    E2024,
}

impl Edition {
    const ALL: [Edition; 4] = [Edition::E2015, Edition::E2018, Edition::E2021, Edition::E2024];

    /// As rustc's `--edition` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::E2015 => "2015",
            Edition::E2018 => "2018",
            Edition::E2021 => "2021",
            Edition::E2024 => "2024",
        }
    }
}

/// The tables `candidate.toml` may hold; anything else is refused, not ignored.
const CANDIDATE_TABLES: [&str; 3] = ["dependencies", "patch", "package"];

/// The edition `candidate.toml` (its text, read from `dir`) asks for, after
/// checking that it holds only what openevolve uses.
pub fn candidate_edition(candidate: Option<(&str, &Path)>) -> Result<Edition, PrepareError> {
    let Some((text, dir)) = candidate else { return Ok(Edition::default()) };
    let bad = |msg: String| PrepareError::DepsBuild(format!("candidate.toml in {}: {msg}", dir.display()));
    let table: Table = text.parse().map_err(|e: toml::de::Error| bad(e.to_string()))?;
    if let Some(key) = table.keys().find(|k| !CANDIDATE_TABLES.contains(&k.as_str())) {
        return Err(bad(format!("`{key}` is not used; the file holds {}", CANDIDATE_TABLES.join(", "))));
    }
    let Some(package) = table.get("package") else { return Ok(Edition::default()) };
    let Value::Table(package) = package else { return Err(bad("`package` must be a table".into())) };
    if let Some(key) = package.keys().find(|k| *k != "edition") {
        return Err(bad(format!("`package.{key}` is not used; `package` holds only `edition`")));
    }
    let names: Vec<&str> = Edition::ALL.iter().map(|e| e.as_str()).collect();
    match package.get("edition") {
        None => Ok(Edition::default()),
        Some(Value::String(name)) => Edition::ALL.into_iter().find(|e| e.as_str() == name).ok_or_else(|| {
            bad(format!("`package.edition` is \"{name}\"; it must be one of {}", names.join(", ")))
        }),
        Some(other) => {
            Err(bad(format!("`package.edition` must be a string, one of {}, not {other}", names.join(", "))))
        }
    }
}

/// One `[dependencies]` fragment for the dependency set: the candidates'
/// (`candidate.toml`, read from `candidate_dir`) and, for an evaluator
/// crate, its `Cargo.toml`'s. Relative `path` dependencies are made absolute,
/// since the set is built elsewhere; a crate declared differently in the two
/// files is an error naming both.
pub fn dependency_fragment(
    candidate: Option<(&str, &Path)>,
    evaluator_crate: Option<(&str, &Path)>,
) -> Result<String, PrepareError> {
    let mut deps = Merged::default();
    let mut patches: Vec<(String, Merged)> = Vec::new();
    for (text, dir, file) in candidate
        .map(|(t, d)| (t, d, "candidate.toml"))
        .into_iter()
        .chain(evaluator_crate.map(|(t, d)| (t, d, "the evaluator crate's Cargo.toml")))
    {
        let bad = |msg: String| PrepareError::DepsBuild(format!("{file} in {}: {msg}", dir.display()));
        let table: Table = text.parse().map_err(|e: toml::de::Error| bad(e.to_string()))?;
        if let Some(table) = table.get("dependencies") {
            let Value::Table(table) = table else { return Err(bad("`dependencies` must be a table".into())) };
            // The SDK is the one this openevolve embeds, whatever a file says:
            // an evaluator crate names it only so that it builds on its own.
            let mut table = table.clone();
            table.remove(SDK_CRATE);
            deps.add(&table, dir, file, "").map_err(bad)?;
        }
        if let Some(table) = table.get("patch") {
            let Value::Table(sources) = table else { return Err(bad("`patch` must be a table".into())) };
            for (source, table) in sources {
                let Value::Table(table) = table else {
                    return Err(bad(format!("`patch.{source}` must be a table")));
                };
                let index = match patches.iter().position(|(s, _)| s == source) {
                    Some(i) => i,
                    None => {
                        patches.push((source.clone(), Merged::default()));
                        patches.len() - 1
                    }
                };
                patches[index].1.add(table, dir, file, &format!("patch.{source}.")).map_err(bad)?;
            }
        }
    }
    let mut wrapper = Table::new();
    if !deps.table.is_empty() {
        wrapper.insert("dependencies".into(), Value::Table(deps.table));
    }
    let patch: Table = patches.into_iter().map(|(source, m)| (source, Value::Table(m.table))).collect();
    if !patch.is_empty() {
        wrapper.insert("patch".into(), Value::Table(patch));
    }
    if wrapper.is_empty() {
        return Ok(String::new());
    }
    Ok(toml::to_string(&wrapper).expect("a table of strings and tables serializes"))
}

/// Crate entries gathered from both files, with the file each came from.
#[derive(Default)]
struct Merged {
    table: Table,
    origin: Vec<(String, &'static str)>,
}

impl Merged {
    fn add(&mut self, entries: &Table, dir: &Path, file: &'static str, prefix: &str) -> Result<(), String> {
        for (name, spec) in entries {
            let spec = absolute_paths(spec.clone(), dir);
            match self.table.get(name) {
                Some(existing) if *existing != spec => {
                    let first = self.origin.iter().find(|(n, _)| n == name).map_or("", |(_, f)| f);
                    return Err(format!(
                        "`{prefix}{name}` is declared as {spec} here but as {existing} in {first}; declare it the same way in both"
                    ));
                }
                Some(_) => {}
                None => {
                    self.table.insert(name.clone(), spec);
                    self.origin.push((name.clone(), file));
                }
            }
        }
        Ok(())
    }
}

fn absolute_paths(spec: Value, dir: &Path) -> Value {
    match spec {
        Value::Table(mut t) => {
            if let Some(Value::String(p)) = t.get("path")
                && Path::new(p).is_relative()
            {
                let abs = dir.join(p);
                let abs = abs.canonicalize().unwrap_or_else(|_| lexically_normal(&abs));
                t.insert("path".into(), Value::String(abs.to_string_lossy().into_owned()));
            }
            Value::Table(t)
        }
        other => other,
    }
}

/// `a/b/../c` as `a/c`, for paths that do not exist (yet).
fn lexically_normal(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_both_tables_and_makes_paths_absolute() {
        let dir = Path::new("/problems/p");
        let fragment = dependency_fragment(
            Some(("[dependencies]\nrand = \"0.8\"\n", dir)),
            Some((
                "[package]\nname = \"e\"\n[dependencies]\nrand = \"0.8\"\nlocal = { path = \"../lib\" }\n",
                &dir.join("evaluator"),
            )),
        )
        .unwrap();
        let table: Table = fragment.parse().unwrap();
        let deps = table["dependencies"].as_table().unwrap();
        assert_eq!(deps["rand"].as_str(), Some("0.8"));
        assert_eq!(deps["local"]["path"].as_str(), Some("/problems/p/lib"));
    }

    #[test]
    fn a_crate_declared_differently_is_an_error_naming_both_files() {
        let dir = Path::new("/p");
        let err = dependency_fragment(
            Some(("[dependencies]\nrand = \"0.8\"\n", dir)),
            Some(("[dependencies]\nrand = \"0.9\"\n", dir)),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`rand`") && err.contains("candidate.toml") && err.contains("evaluator crate"),
            "{err}"
        );
    }

    #[test]
    fn patch_tables_are_merged_with_absolute_paths() {
        let fragment = dependency_fragment(
            Some((
                "[dependencies]\nmlx-rs = \"0.33\"\n[patch.crates-io]\nmlx-sys = { path = \"port\" }\n",
                Path::new("/p"),
            )),
            Some(("[patch.crates-io]\nmlx-sys = { path = \"../port\" }\n", Path::new("/p/evaluator"))),
        )
        .unwrap();
        let table: Table = fragment.parse().unwrap();
        assert_eq!(table["patch"]["crates-io"]["mlx-sys"]["path"].as_str(), Some("/p/port"));
        assert_eq!(table["dependencies"]["mlx-rs"].as_str(), Some("0.33"));
        let clash = dependency_fragment(
            Some(("[patch.crates-io]\nmlx-sys = { path = \"a\" }\n", Path::new("/p"))),
            Some(("[patch.crates-io]\nmlx-sys = { path = \"b\" }\n", Path::new("/p"))),
        )
        .unwrap_err()
        .to_string();
        assert!(clash.contains("`patch.crates-io.mlx-sys`"), "{clash}");
    }

    #[test]
    fn an_evaluator_crate_may_name_the_sdk_which_the_embedded_one_replaces() {
        let fragment = dependency_fragment(
            None,
            Some((
                "[dependencies]\nopenevolve-sdk = { path = \"../../../crates/openevolve-sdk\" }\nrand = \"0.8\"\n",
                Path::new("/p/evaluator"),
            )),
        )
        .unwrap();
        let table: Table = fragment.parse().unwrap();
        assert!(!table["dependencies"].as_table().unwrap().contains_key("openevolve-sdk"), "{fragment}");
        assert_eq!(table["dependencies"]["rand"].as_str(), Some("0.8"));
    }

    #[test]
    fn no_dependencies_is_an_empty_fragment() {
        assert_eq!(dependency_fragment(None, None).unwrap(), "");
        assert_eq!(dependency_fragment(Some(("", Path::new("."))), None).unwrap(), "");
    }

    #[test]
    fn the_edition_comes_from_the_package_table_and_anything_unknown_is_refused() {
        let dir = Path::new("problem");
        let edition = |text: &str| candidate_edition(Some((text, dir)));
        assert_eq!(candidate_edition(None).unwrap(), Edition::E2024);
        assert_eq!(edition("[dependencies]\nrand = \"0.8\"\n").unwrap(), Edition::E2024);
        let chosen = edition("[package]\nedition = \"2021\"\n[dependencies]\nrand = \"0.8\"\n").unwrap();
        assert_eq!(chosen.as_str(), "2021");
        let wrong = edition("[package]\nedition = \"2020\"\n").unwrap_err().to_string();
        assert!(
            wrong.contains("candidate.toml in problem") && wrong.contains("2015, 2018, 2021, 2024"),
            "{wrong}"
        );
        let unused = edition("[package]\nname = \"x\"\n").unwrap_err().to_string();
        assert!(unused.contains("`package.name` is not used"), "{unused}");
        let table = edition("[dev-dependencies]\nrand = \"0.8\"\n").unwrap_err().to_string();
        assert!(table.contains("`dev-dependencies` is not used"), "{table}");
    }
}
