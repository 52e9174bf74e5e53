//! `openevolve new DIR`: a small working problem to start from, the one the
//! guide's "Writing a problem" walks through (`docs/src/first-problem/`).

use std::path::Path;

use anyhow::{Context, anyhow};

use crate::Failure;

/// The problem's files, as the guide shows them.
const FILES: [(&str, &str); 4] = [
    ("initial.rs", include_str!("../../../docs/src/first-problem/initial.rs")),
    ("evaluator.rs", include_str!("../../../docs/src/first-problem/evaluator.rs")),
    ("config.yaml", include_str!("../../../docs/src/first-problem/config.yaml")),
    ("README.md", include_str!("../../../docs/src/first-problem/README.md")),
];

/// Writes the problem into `dir`, which must not hold any of its files.
pub fn new(dir: &Path) -> Result<u8, Failure> {
    if let Some((name, _)) = FILES.iter().find(|(name, _)| dir.join(name).exists()) {
        return Err(Failure::BadInput(anyhow!(
            "{} already exists; give `openevolve new` a folder without a problem in it",
            dir.join(name).display()
        )));
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
        .map_err(Failure::BadInput)?;
    for (name, text) in FILES {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(Failure::RunFailed)?;
    }
    println!("A problem is in {}: score it with", dir.display());
    println!("  openevolve eval {0}/initial.rs {0}/evaluator.rs", dir.display());
    println!("then evolve it with");
    println!("  openevolve run {0}/initial.rs {0}/evaluator.rs --config {0}/config.yaml", dir.display());
    Ok(0)
}
