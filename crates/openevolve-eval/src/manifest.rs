//! The crates a problem's code may use. Candidates declare theirs in
//! `candidate.toml` (a Cargo `[dependencies]` table beside `initial.rs`); an
//! evaluator crate declares its own in its `Cargo.toml`. Both are built as one
//! dependency set, so the candidate and the evaluator link the very same
//! builds of the crates they share (passing an `mlx_rs::Array` between them
//! is sound only then).

use std::path::Path;

use toml::{Table, Value};

use crate::error::PrepareError;

/// One `[dependencies]` fragment for the dependency set: the candidates'
/// (`candidate.toml`, read from `candidate_dir`) and, for an evaluator
/// crate, its `Cargo.toml`'s. Relative `path` dependencies are made absolute,
/// since the set is built elsewhere; a crate declared differently in the two
/// files is an error naming both.
pub fn dependency_fragment(
    candidate: Option<(&str, &Path)>,
    evaluator_crate: Option<(&str, &Path)>,
) -> Result<String, PrepareError> {
    let mut merged = Table::new();
    let mut origin: Vec<(String, &'static str)> = Vec::new();
    for (text, dir, file) in candidate
        .map(|(t, d)| (t, d, "candidate.toml"))
        .into_iter()
        .chain(evaluator_crate.map(|(t, d)| (t, d, "the evaluator crate's Cargo.toml")))
    {
        let bad = |msg: String| PrepareError::DepsBuild(format!("{file} in {}: {msg}", dir.display()));
        let table: Table = text.parse().map_err(|e: toml::de::Error| bad(e.to_string()))?;
        let Some(deps) = table.get("dependencies") else { continue };
        let Value::Table(deps) = deps else { return Err(bad("`dependencies` must be a table".into())) };
        for (name, spec) in deps {
            let spec = absolute_paths(spec.clone(), dir);
            match merged.get(name) {
                Some(existing) if *existing != spec => {
                    let first = origin.iter().find(|(n, _)| n == name).map_or("", |(_, f)| f);
                    return Err(bad(format!(
                        "`{name}` is declared as {spec} here but as {existing} in {first}; declare it the same way in both"
                    )));
                }
                Some(_) => {}
                None => {
                    merged.insert(name.clone(), spec);
                    origin.push((name.clone(), file));
                }
            }
        }
    }
    if merged.is_empty() {
        return Ok(String::new());
    }
    let mut wrapper = Table::new();
    wrapper.insert("dependencies".into(), Value::Table(merged));
    Ok(toml::to_string(&wrapper).expect("a table of strings and tables serializes"))
}

fn absolute_paths(spec: Value, dir: &Path) -> Value {
    match spec {
        Value::Table(mut t) => {
            if let Some(Value::String(p)) = t.get("path")
                && Path::new(p).is_relative()
            {
                let abs = dir.join(p);
                let abs = abs.canonicalize().unwrap_or(abs);
                t.insert("path".into(), Value::String(abs.to_string_lossy().into_owned()));
            }
            Value::Table(t)
        }
        other => other,
    }
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
        assert_eq!(deps["local"]["path"].as_str(), Some("/problems/p/evaluator/../lib"));
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
    fn no_dependencies_is_an_empty_fragment() {
        assert_eq!(dependency_fragment(None, None).unwrap(), "");
        assert_eq!(dependency_fragment(Some(("", Path::new("."))), None).unwrap(), "");
    }
}
