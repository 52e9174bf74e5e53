//! Where the model and the raw data live (never in the repository).

use std::path::PathBuf;

use crate::{Error, Result};

/// File name of the base model inside the model folder.
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Folder of the WordNet files inside the data folder.
pub const WORDNET_DIR: &str = "wordnet-3.0";

fn cache_dir() -> PathBuf {
    match (std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME")) {
        (Some(x), _) if !x.is_empty() => PathBuf::from(x),
        (_, Some(h)) if !h.is_empty() => PathBuf::from(h).join(".cache"),
        _ => std::env::temp_dir(),
    }
    .join("openevolve")
}

/// `$MLX_LORA_MODEL_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/openevolve/models`.
pub fn model_dir() -> PathBuf {
    std::env::var_os("MLX_LORA_MODEL_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("models"))
}

/// `$MLX_LORA_DATA_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/openevolve/data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("MLX_LORA_DATA_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("data"))
}

/// Token ids of the tokenized data sets (`data::tokenize_all_cached`):
/// `tokens` in the data folder.
pub fn token_cache_dir() -> PathBuf {
    data_dir().join("tokens")
}

/// The SmolLM2-135M-Instruct GGUF file, which must exist.
pub fn smollm2_gguf() -> Result<PathBuf> {
    let path = model_dir().join(SMOLLM2_GGUF);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Missing { path: path.display().to_string(), var: "MLX_LORA_MODEL_DIR" })
    }
}

/// The folder with WordNet's `data.*` files, which must exist.
pub fn wordnet_dir() -> Result<PathBuf> {
    let path = data_dir().join(WORDNET_DIR);
    if path.join("data.noun").is_file() {
        Ok(path)
    } else {
        Err(Error::Missing { path: path.display().to_string(), var: "MLX_LORA_DATA_DIR" })
    }
}

/// The install prefixes of the shared libraries this process has mapped
/// from a `lib` folder (`<prefix>/lib/libmlx.so`, and on a GPU the CUDA
/// wheels' `<prefix>/lib/libnvrtc.so`): MLX compiles kernels at run time
/// against the headers beside them, so a run confined to what it may read
/// needs them.
pub fn library_prefixes() -> Vec<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut prefixes: Vec<PathBuf> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(std::path::Path::new)
        .filter(|p| p.extension().is_some_and(|e| e == "so") || p.to_string_lossy().contains(".so."))
        .filter_map(|p| p.parent())
        .filter(|dir| dir.file_name().is_some_and(|n| n == "lib" || n == "lib64"))
        .filter_map(|dir| dir.parent().map(std::path::Path::to_path_buf))
        .filter(|prefix| prefix.parent().is_some_and(|up| up != std::path::Path::new("/")))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes
}
