//! Shared set-up: one dependency build (SDK only) per test binary, kept in
//! cargo's per-target temp dir so reruns reuse it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use openevolve_eval::{Compiler, DepSet, EvaluatorConfig, EvaluatorHost, Toolchain};

pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openevolve-eval-cache")
}

pub fn compiler() -> Compiler {
    static COMPILER: OnceLock<Compiler> = OnceLock::new();
    COMPILER
        .get_or_init(|| {
            std::fs::create_dir_all(cache_dir()).unwrap();
            let toolchain = Toolchain::detect().expect("a Rust toolchain");
            let deps = DepSet::prepare(None, &cache_dir(), &toolchain).expect("the SDK builds");
            Compiler { toolchain, deps, opt_level: 2, edition: Default::default() }
        })
        .clone()
}

fn read(dir: &str, name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join(dir).join(format!("{name}.rs"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn candidate(name: &str) -> String {
    read("candidates", name)
}

/// Short timeout, no retries, no cascade: what most tests want.
pub fn config() -> EvaluatorConfig {
    EvaluatorConfig { timeout: 20.0, max_retries: 0, cascade_evaluation: false, ..EvaluatorConfig::default() }
}

pub async fn host(evaluator: &str, config: EvaluatorConfig) -> EvaluatorHost {
    let compiler = tokio::task::spawn_blocking(compiler).await.unwrap();
    EvaluatorHost::with_compiler(compiler, &read("evaluators", evaluator), &config, &cache_dir())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// True when `pid` no longer runs (gone, or a zombie waiting for init).
pub fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state =
                stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string));
            matches!(state.as_deref(), Some("Z") | Some("X"))
        }
    }
}
