//! Builds mlx-c against an MLX taken from the MLX Python wheels, links
//! `libmlx.so` dynamically and generates the Rust bindings. README.md says what
//! differs from the crates.io mlx-sys and why.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Display;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::{env, fs};

/// The MLX that mlx-c 0.7.0 is written against (its CMakeLists pins this tag);
/// mlx-c does not compile against other MLX releases.
const MLX_VERSION: &str = "0.32.2";
/// mlx-c as shipped in the crates.io mlx-sys of the same version as this crate.
const MLX_C_VERSION: &str = "0.7.0";
const BACKENDS: [&str; 2] = ["cpu", "cuda13"];
const SETUP: &str = "scripts/setup-mlx.sh";

fn main() {
    for var in
        ["MLX_PREFIX", "MLX_BACKEND", "MLX_HOME", "MLX_C_SRC", "XDG_CACHE_HOME", "HOME", "CXX", "CXXFLAGS"]
    {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        fail(
            "this port builds MLX for Linux only",
            "on macOS drop the [patch.crates-io] entry for mlx-sys and use the crates.io crate",
        );
    }
    for feature in ["METAL", "ACCELERATE"] {
        if env::var_os(format!("CARGO_FEATURE_{feature}")).is_some() {
            println!(
                "cargo:warning=mlx-sys: feature `{}` selects an Apple backend and is ignored on Linux \
                 (depend on mlx-rs with default-features = false)",
                feature.to_lowercase()
            );
        }
    }

    let backend = env::var("MLX_BACKEND").unwrap_or_else(|_| "cpu".into());
    if !BACKENDS.contains(&backend.as_str()) {
        fail(
            format_args!("MLX_BACKEND is `{backend}`; it must be one of {BACKENDS:?}"),
            "unset MLX_BACKEND for the CPU, or set MLX_BACKEND=cuda13",
        );
    }
    let prefix = mlx_prefix(&backend);
    check_mlx(&prefix, &backend);
    let mlxc = mlx_c_source();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let compat = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("compat/format_fallback.h");
    println!("cargo:rerun-if-changed={}", compat.display());
    println!("cargo:rerun-if-changed={}", prefix.join("include/mlx/version.h").display());
    println!("cargo:rerun-if-changed={}", prefix.join("lib/libmlx.so").display());
    println!("cargo:rerun-if-changed={}", mlxc.join("mlx/c").display());
    println!("cargo:rerun-if-changed={}", mlxc.join("CMakeLists.txt").display());

    // mlx-c takes about a minute on two cores: skip it while nothing it depends
    // on has changed (the build script also reruns for unrelated env changes).
    // One folder per backend, so switching MLX_BACKEND back and forth relinks
    // instead of recompiling.
    let key = build_key(&[&prefix, &mlxc, &compat]);
    let lib_dir = out.join(format!("mlxc-{backend}"));
    let stamp = lib_dir.join("stamp");
    let bindings = lib_dir.join("bindings.rs");
    let fresh = fs::read_to_string(&stamp).is_ok_and(|s| s == key)
        && lib_dir.join("libmlxc.a").is_file()
        && bindings.is_file();
    if !fresh {
        let _ = fs::remove_file(&stamp);
        compile_mlx_c(&mlxc, &prefix, &compat, &lib_dir);
        generate_bindings(&mlxc, &prefix, &bindings);
        fs::write(&stamp, &key).expect("write the mlx-c build stamp");
    }
    println!("cargo:rustc-env=MLX_SYS_BINDINGS={}", bindings.display());

    // mlx-c declares the f16/bf16 accessors only where the C compiler has those
    // types (aarch64); elsewhere lib.rs supplies them. Decide from what bindgen saw.
    println!("cargo::rustc-check-cfg=cfg(mlx_sys_half_shim)");
    let generated = fs::read_to_string(&bindings).expect("read the generated bindings");
    if !generated.contains("fn mlx_array_item_float16") {
        println!("cargo:rustc-cfg=mlx_sys_half_shim");
    }

    let mlx_lib = prefix.join("lib");
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=static=mlxc");
    println!("cargo:rustc-link-search=native={}", mlx_lib.display());
    println!("cargo:rustc-link-lib=dylib=mlx");
    println!("cargo:rustc-link-lib=dylib=stdc++");
    // Link arguments do not reach dependents' executables (cargo's rule); this
    // crate's own tests get them here, other crates through the mlx-link crate
    // reading the metadata below.
    println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{}", mlx_lib.display());
    if backend != "cpu" {
        // The CUDA libraries libmlx.so needs may be absent where we build.
        println!("cargo:rustc-link-arg-tests=-Wl,--allow-shlib-undefined");
    }

    // Read by dependents' build scripts as DEP_MLX_<KEY>.
    println!("cargo::metadata=lib_dir={}", mlx_lib.display());
    println!("cargo::metadata=backend={backend}");
    println!("cargo::metadata=version={MLX_VERSION}");
    let include =
        env::join_paths([prefix.join("include"), mlxc.clone()]).expect("include paths must not contain ':'");
    println!("cargo::metadata=include={}", include.display());
}

/// Build-script failures end here: what is wrong, and the command that fixes it.
fn fail(problem: impl Display, fix: impl Display) -> ! {
    panic!("\n\nmlx-sys (Linux port): {problem}\n  fix: {fix}\n");
}

fn env_path(var: &str) -> Option<PathBuf> {
    env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// `$MLX_HOME`, else `$XDG_CACHE_HOME/openevolve/mlx`, else `~/.cache/openevolve/mlx`:
/// where scripts/setup-mlx.sh puts MLX and the mlx-c sources.
fn mlx_home() -> PathBuf {
    if let Some(home) = env_path("MLX_HOME") {
        return home;
    }
    let cache = env_path("XDG_CACHE_HOME")
        .or_else(|| env_path("HOME").map(|home| home.join(".cache")))
        .unwrap_or_else(|| fail("neither MLX_HOME, XDG_CACHE_HOME nor HOME is set", "set MLX_HOME"));
    cache.join("openevolve").join("mlx")
}

fn mlx_prefix(backend: &str) -> PathBuf {
    env_path("MLX_PREFIX").unwrap_or_else(|| mlx_home().join(format!("{backend}-{MLX_VERSION}")).join("mlx"))
}

fn setup_command(backend: &str) -> String {
    if backend == "cpu" { SETUP.to_string() } else { format!("{SETUP} --backend {backend}") }
}

/// The prefix must hold exactly the MLX that mlx-c was written against.
fn check_mlx(prefix: &Path, backend: &str) {
    let version_h = prefix.join("include/mlx/version.h");
    let Ok(text) = fs::read_to_string(&version_h) else {
        fail(
            format_args!("no MLX {MLX_VERSION} ({backend}) at {}", prefix.display()),
            format_args!(
                "run `{}` (or point MLX_PREFIX at an MLX {MLX_VERSION} install)",
                setup_command(backend)
            ),
        );
    };
    let part = |name: &str| {
        text.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("#define")?.trim();
            let value = rest.strip_prefix(name)?;
            value.starts_with(char::is_whitespace).then(|| value.trim().to_string())
        })
    };
    let found = match (part("MLX_VERSION_MAJOR"), part("MLX_VERSION_MINOR"), part("MLX_VERSION_PATCH")) {
        (Some(a), Some(b), Some(c)) => format!("{a}.{b}.{c}"),
        _ => "an unknown version".to_string(),
    };
    if found != MLX_VERSION {
        fail(
            format_args!(
                "{} holds MLX {found}, but mlx-c {MLX_C_VERSION} needs exactly MLX {MLX_VERSION}",
                prefix.display()
            ),
            format_args!(
                "run `{}` and unset MLX_PREFIX, or point MLX_PREFIX at MLX {MLX_VERSION}",
                setup_command(backend)
            ),
        );
    }
    if !prefix.join("lib/libmlx.so").is_file() {
        fail(
            format_args!("{} has MLX headers but no lib/libmlx.so", prefix.display()),
            format_args!("remove {} and run `{}`", prefix.display(), setup_command(backend)),
        );
    }
}

/// `$MLX_C_SRC`, else the copy that setup-mlx.sh makes from the crates.io mlx-sys.
fn mlx_c_source() -> PathBuf {
    let dir = env_path("MLX_C_SRC").unwrap_or_else(|| mlx_home().join(format!("mlx-c-{MLX_C_VERSION}")));
    let cmake = fs::read_to_string(dir.join("CMakeLists.txt")).unwrap_or_default();
    if !cmake.contains(&format!("set(MLX_C_VERSION {MLX_C_VERSION})")) {
        fail(
            format_args!("no mlx-c {MLX_C_VERSION} sources at {}", dir.display()),
            format_args!("run `{SETUP}` (or point MLX_C_SRC at mlx-c {MLX_C_VERSION})"),
        );
    }
    dir
}

/// The mlx-c library sources, read from mlx-c's own CMakeLists so that an
/// upgrade picks up added or dropped files (commented-out entries are skipped).
fn mlx_c_sources(mlxc: &Path) -> Vec<PathBuf> {
    let cmake = fs::read_to_string(mlxc.join("CMakeLists.txt")).expect("read mlx-c CMakeLists.txt");
    let block = cmake
        .split_once("set(mlxc-src")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(block, _)| block)
        .unwrap_or_else(|| fail("mlx-c's CMakeLists.txt has no `set(mlxc-src ...)` list", SETUP));
    let sources: Vec<PathBuf> = block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| mlxc.join(line.trim_start_matches("${CMAKE_CURRENT_LIST_DIR}/")))
        .collect();
    assert!(!sources.is_empty(), "mlx-c source list is empty");
    sources
}

fn build_key(paths: &[&Path]) -> String {
    let mut hasher = DefaultHasher::new();
    MLX_VERSION.hash(&mut hasher);
    include_str!("build.rs").hash(&mut hasher);
    include_str!("compat/format_fallback.h").hash(&mut hasher);
    for path in paths {
        path.hash(&mut hasher);
    }
    for var in ["CXX", "CXXFLAGS", "PROFILE", "OPT_LEVEL", "TARGET"] {
        env::var_os(var).hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

fn compile_mlx_c(mlxc: &Path, prefix: &Path, compat: &Path, lib_dir: &Path) {
    fs::create_dir_all(lib_dir).expect("create the mlx-c output folder");
    cc::Build::new()
        .cpp(true)
        .std("c++20")
        .files(mlx_c_sources(mlxc))
        .include(mlxc)
        .include(prefix.join("include"))
        .flag("-include")
        .flag(compat.to_str().expect("the crate path is UTF-8"))
        .warnings(false)
        .cargo_metadata(false)
        .out_dir(lib_dir)
        .compile("mlxc");
}

fn generate_bindings(mlxc: &Path, prefix: &Path, out: &Path) {
    let mut headers: Vec<PathBuf> = fs::read_dir(mlxc.join("mlx/c"))
        .expect("list mlx-c headers")
        .map(|entry| entry.expect("read mlx-c header folder").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "h"))
        .collect();
    headers.sort();
    let builder = headers.iter().fold(
        bindgen::Builder::default()
            .clang_arg(format!("-I{}", mlxc.display()))
            .clang_arg(format!("-I{}", prefix.join("include").display()))
            // libc's allocator prototypes come in through <stdlib.h>; they are
            // not ours to export, and newer rustc lints their c_ulong sizes.
            .blocklist_function("malloc")
            .blocklist_function("realloc"),
        |builder, header| builder.header(header.to_string_lossy()),
    );
    let bindings = builder.generate().unwrap_or_else(|err| {
        fail(
            format_args!("bindgen could not read the mlx-c headers: {err}"),
            format_args!("run `{SETUP}` (it installs libclang-dev)"),
        )
    });
    bindings.write_to_file(out).expect("write bindings.rs");
}
