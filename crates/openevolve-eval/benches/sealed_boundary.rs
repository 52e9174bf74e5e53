//! Prints what the judge/candidate process boundary costs, measured side by
//! side in one run (rounds interleaved, medians):
//!
//! * per call: a small entry point called 2000 times by the judge through
//!   the proxy, against the same calls into the candidate mapped in the
//!   judge (the unsealed way);
//! * per evaluation of function_minimization and circle_packing: the
//!   example's evaluator sealed (judge + candidate process), against the
//!   same evaluator mapping the candidate itself in one worker process (the
//!   protocol before sealing).
//!
//! `cargo bench -p openevolve-eval --bench sealed_boundary`

use std::path::Path;
use std::time::{Duration, Instant};

use openevolve_eval::{Compiler, DepSet, EvaluatorConfig, EvaluatorHost, Toolchain};

const CALLS_CANDIDATE: &str = r#"
pub fn echo(points: Vec<(f64, f64, f64)>) -> Vec<(f64, f64, f64)> { points }
openevolve_sdk::export_candidate! { echo: fn(Vec<(f64, f64, f64)>) -> Vec<(f64, f64, f64)> }
"#;

/// Times 2000 calls in the judge; `ENTRY` is replaced by the way in.
const CALLS_EVALUATOR: &str = r#"
use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};
fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    let echo = ENTRY;
    let points = vec![(0.5, 0.25, 0.125); 26];
    let start = std::time::Instant::now();
    for _ in 0..2000 {
        assert_eq!(echo(points.clone()).len(), 26);
    }
    let ns = start.elapsed().as_nanos() as f64 / 2000.0;
    Ok(EvaluationResult::new().metric("combined_score", 1.0).metric("ns_per_call", ns))
}
openevolve_sdk::evaluator!(evaluate);
"#;

const SEALED_ENTRY: &str =
    "openevolve_sdk::candidate_fn!(candidate, echo: fn(Vec<(f64, f64, f64)>) -> Vec<(f64, f64, f64)>)?";

/// The same evaluator with the candidate mapped in the judge, for good.
fn unsealed(evaluator: &str) -> String {
    evaluator.replace(
        "openevolve_sdk::candidate_fn!(candidate,",
        "openevolve_sdk::unsealed_fn!(*Box::leak(Box::new(unsafe { candidate.map_unsealed() }?)),",
    )
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

struct Setup {
    host: EvaluatorHost,
    candidate: openevolve_eval::BuiltCandidate,
}

fn prepare(
    runtime: &tokio::runtime::Runtime,
    compiler: &Compiler,
    evaluator: &str,
    candidate: &str,
    cache: &Path,
) -> Setup {
    let config = EvaluatorConfig { cascade_evaluation: false, timeout: 60.0, ..Default::default() };
    let host =
        runtime.block_on(EvaluatorHost::with_compiler(compiler.clone(), evaluator, &config, cache)).unwrap();
    let candidate = runtime.block_on(host.build_candidate(candidate)).unwrap();
    Setup { host, candidate }
}

/// One evaluation: its wall time and its metrics.
fn evaluate(
    runtime: &tokio::runtime::Runtime,
    setup: &Setup,
) -> (Duration, std::collections::BTreeMap<String, f64>) {
    let start = Instant::now();
    let e = runtime.block_on(setup.host.evaluate_built(&setup.candidate));
    let took = start.elapsed();
    assert!(e.is_ok(), "{e:#?}");
    (took, e.metrics)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    let toolchain = Toolchain::detect().unwrap();
    let deps = DepSet::prepare(None, cache, &toolchain).unwrap();
    let compiler = Compiler { toolchain, deps, opt_level: 3, edition: Default::default() };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    const ROUNDS: usize = 15;

    let calls_sealed = CALLS_EVALUATOR.replace("ENTRY", SEALED_ENTRY);
    let pair = [
        prepare(&runtime, &compiler, &unsealed(&calls_sealed), CALLS_CANDIDATE, cache),
        prepare(&runtime, &compiler, &calls_sealed, CALLS_CANDIDATE, cache),
    ];
    let mut per_call = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (i, setup) in pair.iter().enumerate() {
            per_call[i].push(evaluate(&runtime, setup).1["ns_per_call"]);
        }
    }
    let (mapped, sealed) = (median(per_call[0].clone()), median(per_call[1].clone()));
    println!(
        "one call of fn(Vec<(f64, f64, f64)>) -> Vec<..> with 26 points (median of {ROUNDS} x 2000 calls):"
    );
    println!("  candidate mapped in the judge (unsealed): {:>8.1} µs", mapped / 1e3);
    println!(
        "  candidate process (sealed):               {:>8.1} µs  (+{:.1} µs per call)",
        sealed / 1e3,
        (sealed - mapped) / 1e3
    );

    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for example in ["function_minimization", "circle_packing"] {
        let dir = examples.join(example);
        let evaluator = std::fs::read_to_string(dir.join("evaluator.rs")).unwrap();
        let initial = std::fs::read_to_string(dir.join("initial.rs")).unwrap();
        let pair = [
            prepare(&runtime, &compiler, &unsealed(&evaluator), &initial, cache),
            prepare(&runtime, &compiler, &evaluator, &initial, cache),
        ];
        let mut times = [Vec::new(), Vec::new()];
        let mut scores = [0.0, 0.0];
        for _ in 0..ROUNDS {
            for (i, setup) in pair.iter().enumerate() {
                let (took, metrics) = evaluate(&runtime, setup);
                times[i].push(took.as_secs_f64() * 1e3);
                scores[i] = metrics["combined_score"];
            }
        }
        assert_eq!(scores[0], scores[1], "{example}: both ways score the same");
        let (one, two) = (median(times[0].clone()), median(times[1].clone()));
        println!("one evaluation of {example} (median of {ROUNDS}, score {:.6} both ways):", scores[1]);
        println!("  one worker process mapping the candidate (unsealed): {one:>7.2} ms");
        println!(
            "  judge + candidate process (sealed):                  {two:>7.2} ms  (+{:.2} ms)",
            two - one
        );
    }
}
