//! The SDK's sources, embedded so that an installed `openevolve` binary can
//! write them into the dependency cache and build candidates against
//! exactly the SDK it was compiled with.

use std::io;
use std::path::Path;

/// (path inside the SDK crate, contents). A test checks this against the
/// SDK directory, so a new SDK file cannot be forgotten here.
pub const SDK_FILES: &[(&str, &str)] = &[
    ("build.rs", include_str!("../../openevolve-sdk/build.rs")),
    ("src/lib.rs", include_str!("../../openevolve-sdk/src/lib.rs")),
    ("src/abi.rs", include_str!("../../openevolve-sdk/src/abi.rs")),
    ("src/candidate.rs", include_str!("../../openevolve-sdk/src/candidate.rs")),
    ("src/confine.rs", include_str!("../../openevolve-sdk/src/confine.rs")),
    ("src/failure.rs", include_str!("../../openevolve-sdk/src/failure.rs")),
    ("src/judge.rs", include_str!("../../openevolve-sdk/src/judge.rs")),
    ("src/macros.rs", include_str!("../../openevolve-sdk/src/macros.rs")),
    ("src/measure.rs", include_str!("../../openevolve-sdk/src/measure.rs")),
    ("src/no_spawn.rs", include_str!("../../openevolve-sdk/src/no_spawn.rs")),
    ("src/process.rs", include_str!("../../openevolve-sdk/src/process.rs")),
    ("src/result.rs", include_str!("../../openevolve-sdk/src/result.rs")),
    ("src/serve.rs", include_str!("../../openevolve-sdk/src/serve.rs")),
    ("src/sys.rs", include_str!("../../openevolve-sdk/src/sys.rs")),
    ("src/verdict/mod.rs", include_str!("../../openevolve-sdk/src/verdict/mod.rs")),
    ("src/verdict/decode.rs", include_str!("../../openevolve-sdk/src/verdict/decode.rs")),
    ("src/verdict/encode.rs", include_str!("../../openevolve-sdk/src/verdict/encode.rs")),
    ("src/wire.rs", include_str!("../../openevolve-sdk/src/wire.rs")),
    ("src/worker.rs", include_str!("../../openevolve-sdk/src/worker.rs")),
];

/// A standalone manifest for the copy (the original inherits workspace keys).
pub fn sdk_manifest(version: &str) -> String {
    format!(
        "[package]\nname = \"openevolve-sdk\"\nversion = \"{version}\"\nedition = \"2024\"\nbuild = \"build.rs\"\n\n[lib]\npath = \"src/lib.rs\"\n"
    )
}

/// Writes the SDK crate (with `version` in its manifest) into `dir`.
pub fn write_sdk(dir: &Path, version: &str) -> io::Result<()> {
    for (path, text) in SDK_FILES {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_if_changed(&target, text.as_bytes())?;
    }
    write_if_changed(&dir.join("Cargo.toml"), sdk_manifest(version).as_bytes())
}

/// Leaves an unchanged file alone, so cargo (which looks at modification
/// times) does not rebuild what did not change.
pub(crate) fn write_if_changed(path: &Path, content: &[u8]) -> io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::SDK_FILES;

    /// Every SDK source file is embedded, so the cache copy builds the same SDK.
    #[test]
    fn embedded_files_match_the_sdk_directory() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openevolve-sdk");
        let mut on_disk = Vec::new();
        let mut folders = vec![root.join("src")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        on_disk.push("build.rs".into());
        on_disk.sort();
        let mut embedded: Vec<String> = SDK_FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
