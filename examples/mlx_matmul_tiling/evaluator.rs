//! Scores a tiled matmul against MLX's own `matmul` on transformer shapes.
//!
//! Shapes (`C[m×n] = A[m×k]·B[k×n]`) are those of a Llama-style block: the
//! attention projections (q/o: d→d, k/v: d→kv), the MLP (gate/up: d→ffn,
//! down: ffn→d). Inference multiplies them at decode (1 token) and prefill
//! lengths; training at its batch's token count, plus the backward pass's
//! transposed products (input gradients `dY·W`, weight gradients `Xᵀ·dY`).
//!
//! Every timed round uses fresh random inputs, and each of the candidate's
//! results is compared with `matmul`'s on the same inputs: the largest
//! difference over the largest magnitude must stay within the dtype's
//! tolerance, or the candidate scores 0 (`incorrect` artifact). A round
//! times a batch of calls (enough for about 2 ms of `matmul`), the two
//! taking turns to go first; times are medians over the rounds. Per shape, speed-up =
//! matmul's time / the candidate's; per phase, the geometric mean over its
//! shapes. `combined_score` = the weighted geometric mean of the phases'
//! speed-ups (inference 0.7, training 0.3; or training alone), so 1 means
//! as fast as MLX's kernel.
//!
//! Arguments (`evaluator.evaluator_args`): `size` `tiny` (f32, SmolLM2-135M
//! dimensions, for a CPU) or `full` (bf16, Llama-3-8B dimensions, for a GPU);
//! `mode` `mixed` or `training`; `rounds` (default 15).

use std::time::{Instant, UNIX_EPOCH};

use mlx_rs::{Array, Device, DeviceType, Dtype, random};
use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Inference,
    Training,
}

struct Shape {
    name: String,
    m: i32,
    k: i32,
    n: i32,
    phase: Phase,
}

struct Settings {
    dtype: Dtype,
    tolerance: f32,
    shapes: Vec<Shape>,
    training_only: bool,
    rounds: usize,
}

/// (name, input width, output width) of a block's projections.
fn projections(d: i32, kv: i32, ffn: i32) -> [(&'static str, i32, i32); 4] {
    [("q_o", d, d), ("k_v", d, kv), ("gate_up", d, ffn), ("down", ffn, d)]
}

fn shapes(d: i32, kv: i32, ffn: i32, decode_prefill: [i32; 2], train_tokens: i32) -> Vec<Shape> {
    let mut all = Vec::new();
    let shape = |name: String, m, k, n, phase| Shape { name, m, k, n, phase };
    for t in decode_prefill {
        for (p, i, o) in projections(d, kv, ffn) {
            all.push(shape(format!("infer {p} t={t}"), t, i, o, Phase::Inference));
        }
    }
    let t = train_tokens;
    for (p, i, o) in projections(d, kv, ffn) {
        all.push(shape(format!("train {p} forward"), t, i, o, Phase::Training));
        all.push(shape(format!("train {p} input grad"), t, o, i, Phase::Training));
        all.push(shape(format!("train {p} weight grad"), i, t, o, Phase::Training));
    }
    all
}

fn settings(args: Option<&str>) -> Result<Settings, String> {
    let args: serde_json::Value = match args {
        Some(text) => serde_json::from_str(text).map_err(|e| format!("evaluator_args: {e}"))?,
        None => serde_json::json!({}),
    };
    for key in args.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["size", "mode", "rounds"].contains(&key.as_str()) {
            return Err(format!("evaluator_args.{key}: unknown; this evaluator takes size, mode, rounds"));
        }
    }
    let training_only = match args["mode"].as_str().unwrap_or("mixed") {
        "mixed" => false,
        "training" => true,
        other => return Err(format!("evaluator_args.mode: {other:?}; expected \"mixed\" or \"training\"")),
    };
    let rounds = match &args["rounds"] {
        serde_json::Value::Null => 15,
        v => v.as_u64().filter(|r| (1..=100).contains(r)).ok_or("evaluator_args.rounds: 1 to 100")? as usize,
    };
    let (dtype, tolerance, shapes) = match args["size"].as_str().unwrap_or("tiny") {
        "tiny" => (Dtype::Float32, 1e-4, shapes(576, 192, 1536, [1, 128], 256)),
        // bf16 partial sums, rounded per tile, drift further than f32's.
        "full" => (Dtype::Bfloat16, 5e-2, shapes(4096, 1024, 14336, [1, 512], 4096)),
        other => return Err(format!("evaluator_args.size: {other:?}; expected \"tiny\" or \"full\"")),
    };
    Ok(Settings { dtype, tolerance, shapes, training_only, rounds })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn geometric_mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v.ln(), n + 1));
    (sum / n.max(1) as f64).exp()
}

type Product = fn(&Array, &Array, &str) -> Result<Array, mlx_rs::error::Exception>;

fn mlx(e: mlx_rs::error::Exception) -> String {
    e.to_string()
}

/// Calls `f` on each left operand, evaluating each product; returns the
/// seconds per call and the products.
fn timed(lefts: &[Array], f: impl Fn(&Array) -> Result<Array, String>) -> Result<(f64, Vec<Array>), String> {
    let start = Instant::now();
    let mut out = Vec::with_capacity(lefts.len());
    for a in lefts {
        let c = f(a)?;
        c.eval().map_err(mlx)?;
        out.push(c);
    }
    Ok((start.elapsed().as_secs_f64() / lefts.len() as f64, out))
}

struct Measured {
    reference: f64,
    candidate: f64,
    worst_error: f32,
}

/// Shortest stretch a timed batch of calls should last: single small
/// products take microseconds, below what one clock reading resolves well.
const MIN_BATCH_SECONDS: f64 = 2e-3;

/// The candidate's product against `matmul`'s: shape, dtype and values.
fn check(s: &Shape, got: &Array, want: &Array, tolerance: f32) -> Result<f32, String> {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        return Err(format!(
            "{}: the result is {:?} {:?}; matmul gives {:?} {:?}",
            s.name,
            got.shape(),
            got.dtype(),
            want.shape(),
            want.dtype()
        ));
    }
    let max_abs = |x: &Array| -> Result<f32, String> {
        Ok(x.as_dtype(Dtype::Float32)
            .and_then(|x| x.abs())
            .and_then(|x| x.max(None))
            .map_err(mlx)?
            .item_exact::<f32>())
    };
    let error = max_abs(&got.subtract(want).map_err(mlx)?)? / max_abs(want)?.max(f32::MIN_POSITIVE);
    if !(error <= tolerance) {
        return Err(format!(
            "{} (m={}, k={}, n={}): differs from matmul by {error:.2e} of its largest value (allowed {tolerance:.0e})",
            s.name, s.m, s.k, s.n
        ));
    }
    Ok(error)
}

/// Times both over `rounds` rounds and checks every product. Each round has
/// a fresh right operand (a weight) and a fresh left operand per call, so
/// nothing can be reused from an earlier call; which of the two goes first
/// alternates by round.
fn measure(tiled: Product, s: &Shape, set: &Settings, device: &str, seed: u64) -> Result<Measured, String> {
    let input = |rows, cols, key| -> Result<Array, String> {
        let x = random::normal::<f32>(&[rows, cols][..], None, None, &random::key(key).map_err(mlx)?)
            .map_err(mlx)?;
        let x = x.as_dtype(set.dtype).map_err(mlx)?;
        x.eval().map_err(mlx)?;
        Ok(x)
    };
    let mut key = seed;
    let mut next_key = || {
        key = key.wrapping_add(1);
        key
    };
    let (mut reference, mut candidate, mut worst_error) = (Vec::new(), Vec::new(), 0f32);
    let mut calls = 1usize;
    // Round 0 warms both up, checks, and sizes the batches; it is not timed.
    for round in 0..=set.rounds {
        let b = input(s.k, s.n, next_key())?;
        let lefts = (0..calls).map(|_| input(s.m, s.k, next_key())).collect::<Result<Vec<_>, _>>()?;
        let run_reference = || timed(&lefts, |a| a.matmul(&b).map_err(mlx));
        let run_candidate = || timed(&lefts, |a| tiled(a, &b, device).map_err(mlx));
        let ((t_ref, want), (t_cand, got)) = if round % 2 == 0 {
            let r = run_reference()?;
            (r, run_candidate()?)
        } else {
            let c = run_candidate()?;
            (run_reference()?, c)
        };
        for (g, w) in got.iter().zip(&want) {
            worst_error = worst_error.max(check(s, g, w, set.tolerance)?);
        }
        if round == 0 {
            calls = ((MIN_BATCH_SECONDS / t_ref.max(1e-9)).ceil() as usize).clamp(1, 64);
        } else {
            reference.push(t_ref);
            candidate.push(t_cand);
        }
    }
    Ok(Measured { reference: median(reference), candidate: median(candidate), worst_error })
}

fn evaluate(c: &Candidate) -> Result<EvaluationResult, CandidateError> {
    // MLX arrays cannot cross a process boundary: this evaluator maps the
    // candidate itself and is not sealed yet (ARCHITECTURE.md says so).
    // SAFETY: this judge accepts running the candidate's code.
    let library = unsafe { c.map_unsealed() }?;
    let tiled = openevolve_sdk::unsealed_fn!(
        library,
        tiled_matmul: fn(&mlx_rs::Array, &mlx_rs::Array, &str) -> Result<mlx_rs::Array, mlx_rs::error::Exception>
    )?;
    let choose =
        openevolve_sdk::unsealed_fn!(library, choose_tile_size: fn(i32, i32, i32, &str) -> (i32, i32, i32))?;
    // A bad argument is the config's fault, not the candidate's: an evaluator error.
    let set = settings(c.evaluator_args()).unwrap_or_else(|e| panic!("{e}"));
    let device = match Device::try_default().and_then(|d| d.get_type()) {
        Ok(DeviceType::Gpu) => "gpu",
        _ => "cpu",
    };
    // Inputs the candidate cannot have seen: a new seed each evaluation.
    let seed = UNIX_EPOCH.elapsed().map(|d| d.as_nanos() as u64).unwrap_or(1);
    let mut table = format!(
        "{device}, {:?}, seed {seed}\nshape (m×k·k×n): tiles, matmul ms, tiled ms (per call), speed-up\n",
        set.dtype
    );
    let (mut inference, mut training, mut worst) = (Vec::new(), Vec::new(), 0f32);
    for s in set.shapes.iter().filter(|s| !set.training_only || s.phase == Phase::Training) {
        let tiles = choose(s.m, s.n, s.k, device);
        let m = match measure(tiled, s, &set, device, seed) {
            Ok(m) => m,
            Err(why) => {
                return Ok(EvaluationResult::new()
                    .metric("combined_score", 0.0)
                    .metric("correct", 0.0)
                    .artifact("incorrect", why)
                    .artifact("timings", table));
            }
        };
        let speedup = m.reference / m.candidate;
        worst = worst.max(m.worst_error);
        table.push_str(&format!(
            "{} ({}×{}·{}×{}): {tiles:?}, {:.3}, {:.3}, ×{speedup:.3}\n",
            s.name,
            s.m,
            s.k,
            s.k,
            s.n,
            1e3 * m.reference,
            1e3 * m.candidate
        ));
        match s.phase {
            Phase::Inference => inference.push(speedup),
            Phase::Training => training.push(speedup),
        }
    }
    let training_speedup = geometric_mean(training.iter().copied());
    let mut result =
        EvaluationResult::new().metric("correct", 1.0).metric("training_speedup", training_speedup);
    let combined = if set.training_only {
        training_speedup
    } else {
        let inference_speedup = geometric_mean(inference.iter().copied());
        result = result.metric("inference_speedup", inference_speedup);
        (0.7 * inference_speedup.ln() + 0.3 * training_speedup.ln()).exp()
    };
    Ok(result
        .metric("combined_score", combined)
        .metric("max_relative_error", worst as f64)
        .artifact("timings", table))
}

openevolve_sdk::evaluator!(evaluate);
