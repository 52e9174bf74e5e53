//! The candidate dependency set: built once with cargo, cached, and then
//! handed to every candidate compile as `--extern`/`-L` flags.
//!
//! A problem declares its crates in `candidate.toml` beside `initial.rs`: a
//! Cargo manifest fragment holding a `[dependencies]` table, e.g.
//!
//! ```toml
//! [dependencies]
//! rand = { version = "0.8", default-features = false, features = ["small_rng"] }
//! ```
//!
//! It is appended to a generated crate that also depends on the SDK (written
//! out from the copy embedded in this crate). `cargo metadata` names the
//! direct dependencies; `cargo build --release --message-format=json` names
//! their rlibs. Everything lives in `<cache>/deps-<key>/`, where the key
//! hashes the generated manifest, the SDK sources and `rustc -vV`; the key
//! is also the fingerprint's dependency-set hash. Unchanged, it is reused
//! across runs.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{PrepareError, io_err};
use crate::sdk_source::{SDK_FILES, write_if_changed, write_sdk};
use crate::toolchain::Toolchain;

/// Release settings of the deps build; candidates compile with the same
/// opt-level so inlined generic code behaves alike.
const DEPS_PROFILE: &str = "\n[profile.release]\nopt-level = 3\ndebug = false\npanic = \"unwind\"\n";

/// A built dependency set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DepSet {
    pub dir: PathBuf,
    /// Short hex key; the `OPENEVOLVE_DEPS_HASH` compiled into fingerprints.
    pub hash: String,
    /// Changes whenever a built library changes: local (`path`) crates can
    /// change while the manifest, and so `hash`, stays the same. Part of
    /// every candidate's cache key.
    #[serde(default)]
    pub stamp: String,
    /// Extern crate name → rlib (or proc-macro library).
    pub externs: BTreeMap<String, PathBuf>,
    pub lib_dirs: Vec<PathBuf>,
    /// Folders of native libraries the dependencies' build scripts link
    /// (e.g. `libmlx.so`): cargo passes them only to its own final links.
    #[serde(default)]
    pub native_dirs: Vec<PathBuf>,
}

impl DepSet {
    /// Builds (or reuses) the dependency set for `manifest_fragment` (the
    /// text of `candidate.toml`, or `None` for the SDK alone). Blocking.
    pub fn prepare(
        manifest_fragment: Option<&str>,
        cache_root: &Path,
        toolchain: &Toolchain,
    ) -> Result<Self, PrepareError> {
        Self::prepare_with_sdk_version(manifest_fragment, cache_root, toolchain, openevolve_sdk::SDK_VERSION)
    }

    /// As [`DepSet::prepare`], with the SDK copy claiming `sdk_version`
    /// (what a candidate built by another SDK release would see).
    pub fn prepare_with_sdk_version(
        manifest_fragment: Option<&str>,
        cache_root: &Path,
        toolchain: &Toolchain,
        sdk_version: &str,
    ) -> Result<Self, PrepareError> {
        let manifest = generated_manifest(manifest_fragment.unwrap_or(""));
        let hash = deps_key(&manifest, sdk_version, toolchain);
        let dir = cache_root.join(format!("deps-{hash}"));
        let record = dir.join("deps.json");
        // Registry crates never change under a version; local ones do, so
        // with those cargo decides what to rebuild (nothing, usually: a
        // second or so).
        if let Ok(text) = std::fs::read_to_string(&record)
            && let Ok(set) = serde_json::from_str::<DepSet>(&text)
            && set.externs.values().all(|p| p.is_file())
            && !has_local_crates(manifest_fragment.unwrap_or(""))
        {
            return Ok(set);
        }
        let crate_dir = dir.join("crate");
        std::fs::create_dir_all(crate_dir.join("src")).map_err(io_err(&crate_dir))?;
        write_sdk(&crate_dir.join("sdk"), sdk_version).map_err(io_err(&crate_dir))?;
        write_if_changed(&crate_dir.join("Cargo.toml"), manifest.as_bytes()).map_err(io_err(&crate_dir))?;
        write_if_changed(&crate_dir.join("src/lib.rs"), b"// Generated: only its dependencies matter.\n")
            .map_err(io_err(&crate_dir))?;

        let target_dir = dir.join("target");
        let manifest_path = crate_dir.join("Cargo.toml");
        let direct = direct_dependencies(toolchain, &manifest_path)?;
        let (artifacts, native_dirs) = build_artifacts(toolchain, &manifest_path, &target_dir, &hash)?;
        let mut externs = BTreeMap::new();
        for (name, pkg) in direct {
            let Some(lib) = artifacts.get(&pkg) else {
                return Err(PrepareError::DepsBuild(format!(
                    "cargo built no library for dependency `{name}` ({pkg})"
                )));
            };
            externs.insert(name, lib.clone());
        }
        let stamp = library_stamp(&hash, &externs);
        let set = DepSet {
            dir: dir.clone(),
            hash,
            stamp,
            externs,
            lib_dirs: vec![target_dir.join("release").join("deps")],
            native_dirs,
        };
        let tmp = dir.join("deps.json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&set).expect("plain data serializes"))
            .map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &record).map_err(io_err(&record))?;
        Ok(set)
    }

    /// `-L dependency=…` and `--extern name=…` for rustc.
    pub fn rustc_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        for dir in &self.lib_dirs {
            let mut a = OsString::from("dependency=");
            a.push(dir);
            args.push("-L".into());
            args.push(a);
        }
        for dir in &self.native_dirs {
            let mut a = OsString::from("native=");
            a.push(dir);
            args.push("-L".into());
            args.push(a);
            // Found again at run time without LD_LIBRARY_PATH.
            let mut rpath = OsString::from("link-arg=-Wl,-rpath,");
            rpath.push(dir);
            args.push("-C".into());
            args.push(rpath);
        }
        for (name, path) in &self.externs {
            let mut a = OsString::from(format!("{name}="));
            a.push(path);
            args.push("--extern".into());
            args.push(a);
        }
        args
    }
}

fn generated_manifest(fragment: &str) -> String {
    format!(
        "[package]\nname = \"openevolve-candidate-deps\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         # Keeps this crate out of any workspace around the cache directory.\n[workspace]\n{DEPS_PROFILE}\n\
         [dependencies.openevolve-sdk]\npath = \"sdk\"\n\n# candidate.toml\n{fragment}\n"
    )
}

/// Whether the fragment names a crate by `path` (a dependency or a patch).
fn has_local_crates(fragment: &str) -> bool {
    fn any_path(value: &toml::Value) -> bool {
        match value {
            toml::Value::Table(t) => t.contains_key("path") || t.values().any(any_path),
            _ => false,
        }
    }
    fragment.parse::<toml::Table>().is_ok_and(|t| t.values().any(any_path))
}

/// `hash` plus each library's path, size and modification time.
fn library_stamp(hash: &str, externs: &BTreeMap<String, PathBuf>) -> String {
    let mut h = Sha256::new();
    h.update(hash.as_bytes());
    for (name, path) in externs {
        h.update(name.as_bytes());
        h.update(path.as_os_str().as_encoded_bytes());
        if let Ok(meta) = std::fs::metadata(path) {
            h.update(meta.len().to_le_bytes());
            if let Ok(modified) =
                meta.modified().map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default())
            {
                h.update(modified.as_nanos().to_le_bytes());
            }
        }
    }
    hex(&h.finalize()[..8])
}

fn deps_key(manifest: &str, sdk_version: &str, toolchain: &Toolchain) -> String {
    let mut h = Sha256::new();
    for part in [manifest, sdk_version, &toolchain.version_verbose] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (name, value) in &toolchain.build_env {
        h.update(name.as_bytes());
        h.update([b'=']);
        h.update(value.as_bytes());
        h.update([0]);
    }
    for (path, text) in SDK_FILES {
        h.update(path.as_bytes());
        h.update(text.as_bytes());
    }
    hex(&h.finalize()[..8])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// (extern crate name, package id) of the generated crate's dependencies.
fn direct_dependencies(
    toolchain: &Toolchain,
    manifest: &Path,
) -> Result<Vec<(String, String)>, PrepareError> {
    let out = toolchain
        .build_command(&toolchain.cargo())
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .output()
        .map_err(io_err("cargo"))?;
    if !out.status.success() {
        return Err(PrepareError::DepsBuild(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| PrepareError::DepsBuild(format!("unreadable cargo metadata: {e}")))?;
    let root = meta["resolve"]["root"].as_str().unwrap_or_default();
    let node = meta["resolve"]["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == root))
        .ok_or_else(|| PrepareError::DepsBuild("cargo metadata has no root package".into()))?;
    Ok(node["deps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d["name"].as_str()?.to_string(), d["pkg"].as_str()?.to_string())))
        .collect())
}

/// Runs the release build; returns package id → its library file, and the
/// native library folders build scripts asked to link from.
fn build_artifacts(
    toolchain: &Toolchain,
    manifest: &Path,
    target_dir: &Path,
    hash: &str,
) -> Result<(BTreeMap<String, PathBuf>, Vec<PathBuf>), PrepareError> {
    let out = toolchain
        .build_command(&toolchain.cargo())
        .args(["build", "--release", "--message-format=json-render-diagnostics", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        // Dependencies compiled into fingerprints see the same hash.
        .env("OPENEVOLVE_DEPS_HASH", hash)
        .output()
        .map_err(io_err("cargo"))?;
    if !out.status.success() {
        return Err(PrepareError::DepsBuild(crate::diagnostics::tail(
            &String::from_utf8_lossy(&out.stderr),
            8000,
        )));
    }
    let mut libs = BTreeMap::new();
    let mut native_dirs: Vec<PathBuf> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] == "build-script-executed" {
            for path in msg["linked_paths"].as_array().into_iter().flatten().filter_map(|p| p.as_str()) {
                // "native=/dir", "all=/dir" or a bare "/dir".
                let dir = PathBuf::from(path.split_once('=').map_or(path, |(_, d)| d));
                if !native_dirs.contains(&dir) {
                    native_dirs.push(dir);
                }
            }
            continue;
        }
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds: Vec<&str> =
            msg["target"]["kind"].as_array().into_iter().flatten().filter_map(|k| k.as_str()).collect();
        let wanted = if kinds.contains(&"proc-macro") {
            std::env::consts::DLL_SUFFIX
        } else if kinds.iter().any(|k| *k == "lib" || *k == "rlib") {
            ".rlib"
        } else {
            continue;
        };
        let file = msg["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(wanted));
        if let (Some(id), Some(file)) = (msg["package_id"].as_str(), file) {
            libs.insert(id.to_string(), PathBuf::from(file));
        }
    }
    Ok((libs, native_dirs))
}
