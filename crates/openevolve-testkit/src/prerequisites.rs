//! What some tests need beyond cargo, and whether it is here.
//!
//! `scripts/test.sh` sets every prerequisite up and exports
//! `OPENEVOLVE_TEST_ALL=1`: then a missing one fails its test. Without that
//! variable (a plain `cargo test` on a fresh clone) a test whose
//! prerequisites are missing prints what is missing, with the script that
//! sets it up, and passes without running.

use std::path::{Path, PathBuf};

/// The variable that makes a missing prerequisite a failure.
pub const REQUIRE_ALL: &str = "OPENEVOLVE_TEST_ALL";

/// Something a test needs that a fresh machine lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prerequisite {
    /// Chromium and chromedriver, for the view's browser tests.
    Browser,
    /// Slurm's and munge's daemons, run as root: a one-node cluster.
    SlurmAsRoot,
    /// MLX's library, for the MLX examples and crates.
    Mlx,
    /// SmolLM2-135M and WordNet, which the LoRA training tests train on.
    LoraData,
}

impl Prerequisite {
    /// What is missing, and how to set it up; `None` when it is here.
    pub fn missing(self) -> Option<String> {
        let (what, here, script) = match self {
            Self::Browser => (
                "Chromium and chromedriver",
                ["/usr/bin/chromium", "/usr/bin/chromedriver"].iter().all(|p| Path::new(p).exists()),
                "scripts/setup-browser.sh",
            ),
            Self::SlurmAsRoot => (
                "Slurm and munge, run as root",
                is_root() && ["slurmctld", "slurmd", "munged", "sbatch"].iter().all(|t| on_path(t)),
                "scripts/setup-slurm.sh, as root",
            ),
            Self::Mlx => (
                "MLX's library (lib/libmlx.so)",
                mlx_prefix().join("lib/libmlx.so").is_file(),
                "scripts/setup-mlx.sh",
            ),
            Self::LoraData => (
                "SmolLM2-135M and WordNet",
                lora_model_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
                    && lora_data_dir().join("wordnet-3.0").is_dir(),
                "scripts/setup-lora-data.sh",
            ),
        };
        (!here).then(|| format!("{what}: run {script}"))
    }
}

/// Whether `test`, which needs `all`, can run here. A missing prerequisite
/// fails the test under [`REQUIRE_ALL`]; otherwise it is named on stderr and
/// the answer is `false`, so that the test returns at once.
pub fn ready(test: &str, all: &[Prerequisite]) -> bool {
    let missing: Vec<String> = all.iter().filter_map(|p| p.missing()).collect();
    if missing.is_empty() {
        return true;
    }
    let why = missing.join("; ");
    assert!(std::env::var_os(REQUIRE_ALL).is_none(), "{test} cannot run: missing {why}");
    eprintln!("skipped {test}: missing {why}");
    false
}

fn is_root() -> bool {
    // The owner of our own /proc entry is our effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

fn cache_home() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"))
}

/// Where `scripts/setup-mlx.sh` puts MLX (CPU backend), as `mlx-sys` finds it.
fn mlx_prefix() -> PathBuf {
    if let Some(prefix) = std::env::var_os("MLX_PREFIX") {
        return PathBuf::from(prefix);
    }
    let home =
        std::env::var_os("MLX_HOME").map_or_else(|| cache_home().join("openevolve/mlx"), PathBuf::from);
    let backend = std::env::var("MLX_BACKEND").unwrap_or_else(|_| "cpu".into());
    home.join(format!("{backend}-{MLX_VERSION}")).join("mlx")
}

/// The MLX version `scripts/setup-mlx.sh` installs.
const MLX_VERSION: &str = "0.32.2";

fn lora_model_dir() -> PathBuf {
    std::env::var_os("MLX_LORA_MODEL_DIR")
        .map_or_else(|| cache_home().join("openevolve/models"), PathBuf::from)
}

fn lora_data_dir() -> PathBuf {
    std::env::var_os("MLX_LORA_DATA_DIR").map_or_else(|| cache_home().join("openevolve/data"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_prerequisite_names_its_set_up_script() {
        // SAFETY: this test binary's other tests read no environment.
        unsafe { std::env::set_var("MLX_PREFIX", "/nonexistent/mlx") };
        let why = Prerequisite::Mlx.missing().expect("no MLX there");
        assert!(why.contains("scripts/setup-mlx.sh"), "{why}");
        if std::env::var_os(REQUIRE_ALL).is_none() {
            assert!(!ready("this test", &[Prerequisite::Mlx]));
        }
        unsafe { std::env::remove_var("MLX_PREFIX") };
    }

    #[test]
    fn the_mlx_version_is_the_one_the_set_up_script_installs() {
        let script = include_str!("../../../scripts/setup-mlx.sh");
        assert!(script.contains(&format!("MLX_VERSION=\"{MLX_VERSION}\"")), "update MLX_VERSION here");
    }
}
