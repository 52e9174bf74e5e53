//! Prints medians: building a small changed candidate with the host's
//! rustc path vs a plain `cargo build` of the same candidate crate (both
//! after the dependencies are built), and the dispatch overhead of one
//! evaluation in worker-process and in-process mode.
//!
//! `cargo bench -p openevolve-eval --bench build_and_dispatch`

use std::path::Path;
use std::time::{Duration, Instant};

use openevolve_eval::{Compiler, DepSet, EvaluatorConfig, EvaluatorHost, Toolchain};

/// A candidate the size of OpenEvolve's function_minimization example.
const CANDIDATE: &str = r#"
// EVOLVE-BLOCK-START
/// Random search for the minimum of a function with many local minima.
pub fn search_algorithm(iterations: usize, bounds: (f64, f64)) -> (f64, f64, f64) {
    let mut rng = SplitMix(SEED);
    let span = bounds.1 - bounds.0;
    let mut best_x = bounds.0 + rng.next_f64() * span;
    let mut best_y = bounds.0 + rng.next_f64() * span;
    let mut best_value = evaluate_function(best_x, best_y);
    for _ in 0..iterations {
        let x = bounds.0 + rng.next_f64() * span;
        let y = bounds.0 + rng.next_f64() * span;
        let value = evaluate_function(x, y);
        if value < best_value {
            best_value = value;
            best_x = x;
            best_y = y;
        }
    }
    (best_x, best_y, best_value)
}
// EVOLVE-BLOCK-END

const SEED: u64 = 42;

struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub fn evaluate_function(x: f64, y: f64) -> f64 {
    (x).sin() * (y).cos() + (x * y).sin() + (x * x + y * y) / 20.0
}

pub fn run_search() -> (f64, f64, f64) {
    search_algorithm(1000, (-5.0, 5.0))
}

openevolve_sdk::export_candidate! { run_search: fn() -> (f64, f64, f64) }
"#;

const EVALUATOR: &str = r#"
use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};
fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    let run = openevolve_sdk::candidate_fn!(candidate, run_search: fn() -> (f64, f64, f64))?;
    let (_, _, value) = run();
    Ok(EvaluationResult::new().metric("combined_score", 1.0 / (1.0 + (value + 1.5187).abs())))
}
openevolve_sdk::evaluator!(evaluate);
"#;

fn changed(i: usize) -> String {
    CANDIDATE.replace("search_algorithm(1000,", &format!("search_algorithm({},", 1000 + i))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    let toolchain = Toolchain::detect().unwrap();
    let deps = DepSet::prepare(None, cache, &toolchain).unwrap();
    let compiler = Compiler { toolchain, deps, opt_level: 3, edition: Default::default() };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    const BUILDS: usize = 9;

    // The host's path: rustc alone against the prebuilt dependency set.
    runtime
        .block_on(compiler.compile(&changed(0), "candidate", openevolve_eval::Output::Cdylib, "candidates"))
        .unwrap();
    let ours: Vec<Duration> = (1..=BUILDS)
        .map(|i| {
            let built = runtime
                .block_on(compiler.compile(
                    &changed(i),
                    "candidate",
                    openevolve_eval::Output::Cdylib,
                    "candidates",
                ))
                .unwrap();
            assert!(!built.cached);
            built.build_time
        })
        .collect();

    // A plain cargo crate for the same candidate, its dependency (the SDK)
    // already built by a first build.
    let krate = cache.join("plain-cargo");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"candidate\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nopenevolve-sdk = {{ path = {:?} }}\n\n[profile.release]\nopt-level = 3\ndebug = false\n",
            compiler.deps.dir.join("crate").join("sdk")
        ),
    )
    .unwrap();
    let cargo_build_in = |i: usize, target_dir: &Path| {
        std::fs::write(krate.join("src/lib.rs"), changed(i)).unwrap();
        let start = Instant::now();
        let out = compiler
            .toolchain
            .build_command(&compiler.toolchain.cargo())
            .args(["build", "--release", "--quiet", "--target-dir"])
            .arg(target_dir)
            .current_dir(&krate)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        start.elapsed()
    };
    let shared_target = krate.join("target");
    cargo_build_in(0, &shared_target);
    let warm: Vec<Duration> = (1..=BUILDS).map(|i| cargo_build_in(i, &shared_target)).collect();
    // What a builder without a shared dependency set does: a fresh crate
    // build per child, its dependencies compiled again each time.
    let fresh: Vec<Duration> =
        (1..=BUILDS).map(|i| cargo_build_in(i, &cache.join(format!("fresh-target-{i}")))).collect();
    let (ours, warm, fresh) = (median(ours), median(warm), median(fresh));
    println!("build of a small changed candidate (median of {BUILDS}):");
    println!("  openevolve (rustc direct, deps prebuilt):           {}", ms(ours));
    println!(
        "  cargo build --release, same target dir (deps built): {}  ({:.1}x)",
        ms(warm),
        warm.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "  cargo build --release, fresh crate per child:        {}  ({:.1}x)",
        ms(fresh),
        fresh.as_secs_f64() / ours.as_secs_f64()
    );

    const DISPATCHES: usize = 31;
    for in_process in [false, true] {
        let config =
            EvaluatorConfig { in_process, cascade_evaluation: false, timeout: 30.0, ..Default::default() };
        let host = runtime
            .block_on(EvaluatorHost::with_compiler(compiler.clone(), EVALUATOR, &config, cache))
            .unwrap();
        let built = runtime.block_on(host.build_candidate(CANDIDATE)).unwrap();
        let samples: Vec<Duration> = (0..DISPATCHES)
            .map(|_| {
                let start = Instant::now();
                let e = runtime.block_on(host.evaluate_built(&built));
                assert!(e.is_ok(), "{e:#?}");
                start.elapsed()
            })
            .collect();
        let mode = if in_process { "in-process" } else { "worker process" };
        println!(
            "one evaluation, {mode} (median of {DISPATCHES}, 1000-step search included): {}",
            ms(median(samples))
        );
    }
}
