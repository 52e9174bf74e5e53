//! Compiling one source file against the dependency set with rustc itself:
//! no cargo, no resolution, no fingerprinting, one process. Outputs are
//! cached by a hash of (source, dependency set, flags).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::deps::{DepSet, hex};
use crate::diagnostics::{MAX_DIAGNOSTIC_BYTES, trim_rustc_json};
use crate::fixes::{self, Edit};
use crate::manifest::Edition;
use crate::toolchain::Toolchain;

/// What rustc should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A candidate or the in-process evaluator.
    Cdylib,
    /// The worker executable.
    Executable,
}

/// A candidate library ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltCandidate {
    pub library: PathBuf,
    /// Hash of the source and build inputs (the cache key).
    pub key: String,
    /// Wall time of the build (near zero on a cache hit).
    pub build_time: Duration,
    pub cached: bool,
}

impl BuiltCandidate {
    /// A library built elsewhere (e.g. by another tool) to evaluate as is;
    /// its fingerprint is still checked before anything is called.
    pub fn prebuilt(library: impl Into<PathBuf>) -> Self {
        Self { library: library.into(), key: String::new(), build_time: Duration::ZERO, cached: false }
    }
}

/// rustc refused the source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the candidate does not compile:\n{diagnostics}")]
pub struct BuildFailure {
    /// rustc's errors, trimmed (see [`crate::diagnostics`]).
    pub diagnostics: String,
    pub build_time: Duration,
    /// The source with rustc's suggested fixes (and the derived ones)
    /// applied, where that builds (and is then in the cache): see [`Compiler::compile_candidate`].
    pub fixed_source: Option<String>,
}

/// Rounds of rustc's suggestions tried on a failed candidate: fixing one
/// error (a `mut`) can bring the next to light (a moved value).
const FIX_ROUNDS: usize = 3;

/// What one rustc run refused: its trimmed errors and the fixes for the
/// source, rustc's suggestions and those derived from its errors.
struct Refusal {
    diagnostics: String,
    fixes: Vec<Vec<Edit>>,
}

impl Refusal {
    fn message(diagnostics: String) -> Self {
        Self { diagnostics, fixes: Vec::new() }
    }
}

/// Compiles sources against one dependency set.
#[derive(Debug, Clone)]
pub struct Compiler {
    pub toolchain: Toolchain,
    pub deps: DepSet,
    pub opt_level: u8,
    pub edition: Edition,
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

impl Compiler {
    fn flags(&self, output: Output) -> Vec<OsString> {
        let crate_type = match output {
            Output::Cdylib => "cdylib",
            Output::Executable => "bin",
        };
        let edition = format!("--edition={}", self.edition.as_str());
        let mut args: Vec<OsString> = [
            edition.as_str(),
            "--crate-type",
            crate_type,
            "--error-format=json",
            "-A",
            "warnings",
            "-C",
            "debuginfo=0",
            // std's debug info dominates the output size and link time.
            "-C",
            "strip=debuginfo",
            "-C",
            "panic=unwind",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push("-C".into());
        args.push(format!("opt-level={}", self.opt_level).into());
        args.extend(self.deps.rustc_args());
        args
    }

    fn key(&self, source: &str, crate_name: &str, output: Output) -> String {
        let mut h = Sha256::new();
        h.update(source.as_bytes());
        h.update([0]);
        h.update(self.deps.hash.as_bytes());
        h.update(self.deps.stamp.as_bytes());
        h.update(crate_name.as_bytes());
        for f in self.flags(output) {
            h.update(f.as_encoded_bytes());
            h.update([0]);
        }
        hex(&h.finalize()[..16])
    }

    /// Where the output for `key` lives: `<deps>/<kind>/<key>/`.
    fn out_dir(&self, kind: &str, key: &str) -> PathBuf {
        self.deps.dir.join(kind).join(key)
    }

    /// Compiles `source` (cached by content). `kind` names the cache folder
    /// (`candidates`, `evaluators`).
    pub async fn compile(
        &self,
        source: &str,
        crate_name: &str,
        output: Output,
        kind: &str,
    ) -> Result<BuiltCandidate, BuildFailure> {
        self.compile_text(source, crate_name, output, kind).await.map_err(|(failure, _)| failure)
    }

    /// Compiles a candidate (a `cdylib` in `candidates/`) as [`Self::compile`]
    /// does; when it fails, also tries the source with rustc's
    /// suggested fixes and the derived ones applied (see [`crate::fixes`]), for a
    /// few rounds, and returns the first that builds as the failure's
    /// `fixed_source`. The failure itself is the original source's.
    pub async fn compile_candidate(
        &self,
        source: &str,
        crate_name: &str,
    ) -> Result<BuiltCandidate, BuildFailure> {
        let (output, kind) = (Output::Cdylib, "candidates");
        let (mut failure, mut fixes) = match self.compile_text(source, crate_name, output, kind).await {
            Ok(built) => return Ok(built),
            Err(refused) => refused,
        };
        let mut current = source.to_string();
        for _ in 0..FIX_ROUNDS {
            let Some(fixed) = fixes::apply(&current, &fixes) else { break };
            match self.compile_text(&fixed, crate_name, output, kind).await {
                Ok(_) => {
                    failure.fixed_source = Some(fixed);
                    break;
                }
                Err((_, next)) => (current, fixes) = (fixed, next),
            }
        }
        Err(failure)
    }

    async fn compile_text(
        &self,
        source: &str,
        crate_name: &str,
        output: Output,
        kind: &str,
    ) -> Result<BuiltCandidate, (BuildFailure, Vec<Vec<Edit>>)> {
        let key = self.key(source, crate_name, output);
        self.compile_keyed(Root::Text(source), key, crate_name, output, kind).await
    }

    /// Compiles the crate whose root file is `root` (e.g. an evaluator
    /// crate's `src/main.rs`), in place so its `mod` files are found; cached
    /// by the content of every `.rs` file beside and below the root.
    pub async fn compile_crate(
        &self,
        root: &Path,
        crate_name: &str,
        output: Output,
        kind: &str,
    ) -> Result<BuiltCandidate, BuildFailure> {
        let sources = crate_sources(root.parent().unwrap_or(Path::new("."))).map_err(|e| BuildFailure {
            diagnostics: format!("cannot read {}: {e}", root.display()),
            build_time: Duration::ZERO,
            fixed_source: None,
        })?;
        let key = self.key(&sources, crate_name, output);
        self.compile_keyed(Root::File(root), key, crate_name, output, kind)
            .await
            .map_err(|(failure, _)| failure)
    }

    async fn compile_keyed(
        &self,
        root: Root<'_>,
        key: String,
        crate_name: &str,
        output: Output,
        kind: &str,
    ) -> Result<BuiltCandidate, (BuildFailure, Vec<Vec<Edit>>)> {
        let start = Instant::now();
        let dir = self.out_dir(kind, &key);
        let file_name = match output {
            Output::Cdylib => format!("lib{crate_name}{}", std::env::consts::DLL_SUFFIX),
            Output::Executable => crate_name.to_string(),
        };
        let library = dir.join(&file_name);
        if library.is_file() {
            return Ok(BuiltCandidate { library, key, build_time: start.elapsed(), cached: true });
        }
        let fail = |refusal: Refusal| {
            let failure = BuildFailure {
                diagnostics: refusal.diagnostics,
                build_time: start.elapsed(),
                fixed_source: None,
            };
            (failure, refusal.fixes)
        };
        // Concurrent builds of one source (parallel evaluations, or several
        // runs sharing a cache) each work in their own folder, because rustc
        // names its intermediate files after the output, then rename the
        // result into place.
        let work =
            dir.join(format!(".build-{}-{}", std::process::id(), UNIQUE.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&work)
            .map_err(|e| fail(Refusal::message(format!("cannot create {}: {e}", work.display()))))?;
        let result = self.run_rustc(root, crate_name, output, &work, &dir.join(&file_name)).await;
        let _ = std::fs::remove_dir_all(&work);
        result.map_err(fail)?;
        Ok(BuiltCandidate { library, key, build_time: start.elapsed(), cached: false })
    }

    /// Runs rustc in `work` and moves its output to `library`.
    async fn run_rustc(
        &self,
        root: Root<'_>,
        crate_name: &str,
        output: Output,
        work: &Path,
        library: &Path,
    ) -> Result<(), Refusal> {
        let source_arg = match root {
            Root::Text(source) => {
                let file = format!("{crate_name}.rs");
                std::fs::write(work.join(&file), source)
                    .map_err(|e| Refusal::message(format!("cannot write the source: {e}")))?;
                // Relative, so diagnostics and panic locations say
                // `candidate.rs:12:5` rather than a cache path.
                PathBuf::from(file)
            }
            Root::File(path) => {
                std::path::absolute(path).map_err(|e| Refusal::message(format!("{}: {e}", path.display())))?
            }
        };
        let built = work.join("out");
        let out = self
            .toolchain
            .async_build_command(&self.toolchain.rustc)
            .args(self.flags(output))
            .arg("--crate-name")
            .arg(crate_name)
            .arg("-o")
            .arg(&built)
            .arg(source_arg)
            .current_dir(work)
            .env("OPENEVOLVE_DEPS_HASH", &self.deps.hash)
            .output()
            .await
            .map_err(|e| Refusal::message(format!("cannot run rustc: {e}")))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let fixes = match root {
                Root::Text(source) => {
                    let file = format!("{crate_name}.rs");
                    let mut fixes = fixes::suggested_fixes(&stderr, &file);
                    fixes.extend(fixes::derived_fixes(&stderr, &file, source));
                    fixes
                }
                Root::File(_) => Vec::new(),
            };
            return Err(Refusal { diagnostics: trim_rustc_json(&stderr, MAX_DIAGNOSTIC_BYTES), fixes });
        }
        std::fs::rename(&built, library).map_err(|e| Refusal::message(format!("cannot store the build: {e}")))
    }
}

/// What rustc compiles: text written into the cache, or a crate's own root file.
enum Root<'a> {
    Text(&'a str),
    File(&'a Path),
}

/// Every `.rs` file under `dir`, path and content, in a stable order: what
/// an in-place crate build depends on.
fn crate_sources(dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut all = String::new();
    for f in files {
        all.push_str(&f.strip_prefix(dir).unwrap_or(&f).to_string_lossy());
        all.push('\0');
        all.push_str(&std::fs::read_to_string(&f)?);
        all.push('\0');
    }
    Ok(all)
}
