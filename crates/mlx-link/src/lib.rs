//! For build scripts of crates that build executables or tests on top of
//! `mlx-rs`. The mlx-sys port links `libmlx.so` dynamically, but cargo passes a
//! library's link arguments only to that library's own targets, never to its
//! dependents' binaries; so each such crate adds the rpath itself:
//!
//! ```toml
//! [dependencies]
//! mlx-sys.workspace = true          # direct, so that DEP_MLX_* reaches build.rs
//! [build-dependencies]
//! mlx-link.workspace = true
//! ```
//! ```ignore
//! // build.rs
//! fn main() { mlx_link::emit(); }
//! ```

use std::env;

/// Link arguments for executables and tests that load MLX, from the metadata
/// that the mlx-sys port publishes (`DEP_MLX_LIB_DIR`, `DEP_MLX_BACKEND`).
/// `None` when the calling crate does not depend on mlx-sys directly.
pub fn link_args() -> Option<Vec<String>> {
    let lib_dir = env::var("DEP_MLX_LIB_DIR").ok()?;
    let mut args = vec![format!("-Wl,-rpath,{lib_dir}")];
    if env::var("DEP_MLX_BACKEND").is_ok_and(|backend| backend != "cpu") {
        // libmlx.so needs the CUDA libraries, which the build machine may lack;
        // they are resolved when the program starts on the GPU machine.
        args.push("-Wl,--allow-shlib-undefined".to_string());
    }
    Some(args)
}

/// Prints the cargo instructions that give this crate's binaries, tests,
/// examples and benches an rpath to `libmlx.so`.
///
/// # Panics
/// When the calling crate lacks the direct `mlx-sys` dependency that carries
/// the metadata, with a message saying so.
pub fn emit() {
    let args = link_args().unwrap_or_else(|| {
        panic!(
            "mlx-link: DEP_MLX_LIB_DIR is not set; add `mlx-sys.workspace = true` to this \
             crate's [dependencies] (a direct dependency is what passes the port's metadata)"
        )
    });
    for arg in args {
        println!("cargo:rustc-link-arg={arg}");
    }
}
