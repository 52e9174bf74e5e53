//! Scores a tiled matmul against MLX's own `matmul` on transformer shapes.
//!
//! Shapes (`C[m×n] = A[m×k]·B[k×n]`) are those of a Llama-style block: the
//! attention projections (q/o: d→d, k/v: d→kv), the MLP (gate/up: d→ffn,
//! down: ffn→d). Inference multiplies them at decode (1 token) and prefill
//! lengths; training at its batch's token count, plus the backward pass's
//! transposed products (input gradients `dY·W`, weight gradients `Xᵀ·dY`).
//!
//! Sealed (see "Sealed evaluation" in ARCHITECTURE.md): this judge never maps
//! the candidate and uses no MLX itself. The candidate's product runs in a
//! candidate process, MLX's `matmul` in a reference process the candidate
//! never touches, both through the routines below. A round gives both the
//! same fresh operands, a new pair per call, made untimed from a seed the
//! judge draws, each side's just before its own timing; the judge times
//! each side's batch of calls on its own clock (enough calls for about 10 ms
//! of `matmul`), the two taking turns to go first as often each, with the
//! candidate's processes stopped while the reference is timed. Afterwards
//! it asks both for the same randomly chosen entries of every product: the
//! largest difference over the reference's largest magnitude must stay
//! within the dtype's tolerance, or the candidate scores 0 (`incorrect`
//! artifact). Per shape, speed-up = the geometric mean over the rounds of
//! matmul's time / the candidate's (the table shows median times); per
//! phase, the geometric mean over its
//! shapes. `combined_score` = the weighted geometric mean of the phases'
//! speed-ups (inference 0.7, training 0.3; or training alone), so 1 means
//! as fast as MLX's kernel.
//!
//! Arguments (`evaluator.evaluator_args`): `size` `tiny` (f32, SmolLM2-135M
//! dimensions, for a CPU) or `full` (bf16, Llama-3-8B dimensions, for a GPU);
//! `mode` `mixed` or `training`; `rounds` (default 15).

use std::cell::RefCell;
use std::time::{Instant, UNIX_EPOCH};

use mlx_rs::{Array, Device, DeviceType, Dtype, random};
use openevolve_sdk::confine::Reads;
use openevolve_sdk::wire::{Wire, decode_all};
use openevolve_sdk::{Candidate, CandidateError, CandidateProcess, EvaluationResult, Library, ProcessRole};

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
    /// `f32` or `bf16`, as the routines take it.
    dtype: String,
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
        "tiny" => ("f32".to_string(), 1e-4, shapes(576, 192, 1536, [1, 128], 256)),
        // bf16 partial sums, rounded per tile, drift further than f32's.
        "full" => ("bf16".to_string(), 5e-2, shapes(4096, 1024, 14336, [1, 512], 4096)),
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

// ---- Routines: run in the candidate process and in the reference process.

/// One round's operands and products, kept in the process between routines.
#[derive(Default)]
struct Round {
    pairs: Vec<(Array, Array)>,
    products: Vec<Array>,
}

thread_local! {
    static ROUND: RefCell<Round> = RefCell::new(Round::default());
}

fn device_name() -> &'static str {
    match Device::try_default().and_then(|d| d.get_type()) {
        Ok(DeviceType::Gpu) => "gpu",
        _ => "cpu",
    }
}

fn reference_product(a: &Array, b: &Array, _: &str) -> Result<Array, mlx_rs::error::Exception> {
    a.matmul(b)
}

fn product_of(library: Option<&Library>) -> Result<Product, String> {
    match library {
        None => Ok(reference_product),
        Some(library) => openevolve_sdk::unsealed_fn!(
            *library,
            tiled_matmul: fn(&mlx_rs::Array, &mlx_rs::Array, &str) -> Result<mlx_rs::Array, mlx_rs::error::Exception>
        )
        .map_err(|e| e.to_string()),
    }
}

/// `(m, n, k)` → the candidate's tiles, and the device; a reference has none.
fn tiles_routine(library: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
    let (m, n, k) = decode_all::<(i32, i32, i32)>(input).map_err(|e| e.to_string())?;
    let tiles = match library {
        None => None,
        Some(library) => {
            let choose = openevolve_sdk::unsealed_fn!(*library, choose_tile_size: fn(i32, i32, i32, &str) -> (i32, i32, i32))
                .map_err(|e| e.to_string())?;
            Some(choose(m, n, k, device_name()))
        }
    };
    let mut out = Vec::new();
    (tiles, device_name().to_string()).encode(&mut out);
    Ok(out)
}

/// `(seed, m, k, n, dtype, calls)`: makes and evaluates a fresh pair of
/// operands per call, untimed.
fn operands_routine(_: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
    let (seed, m, k, n, dtype, calls) =
        decode_all::<(u64, i32, i32, i32, String, u32)>(input).map_err(|e| e.to_string())?;
    let dtype = if dtype == "bf16" { Dtype::Bfloat16 } else { Dtype::Float32 };
    let mut key = seed;
    let mut input = |rows: i32, cols: i32| -> Result<Array, String> {
        key = key.wrapping_add(1);
        let x = random::normal::<f32>(&[rows, cols][..], None, None, &random::key(key).map_err(mlx)?)
            .and_then(|x| x.as_dtype(dtype))
            .map_err(mlx)?;
        x.eval().map_err(mlx)?;
        Ok(x)
    };
    let pairs = (0..calls).map(|_| Ok((input(m, k)?, input(k, n)?))).collect::<Result<Vec<_>, String>>()?;
    ROUND.set(Round { pairs, products: Vec::new() });
    Ok(Vec::new())
}

/// Multiplies every pair of the round, evaluating each product: the part
/// the judge times.
fn multiply_routine(library: Option<&Library>, _: &[u8]) -> Result<Vec<u8>, String> {
    let product = product_of(library)?;
    let device = device_name();
    ROUND.with_borrow_mut(|round| {
        round.products.clear();
        for (a, b) in &round.pairs {
            let c = product(a, b, device).map_err(mlx)?;
            c.eval().map_err(mlx)?;
            round.products.push(c);
        }
        Ok(Vec::new())
    })
}

/// `[(call, row, col)]` → each product's shape and dtype, the entries asked
/// for (as f32), and the largest magnitude over all products.
fn entries_routine(_: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
    let wanted = decode_all::<Vec<(u32, u32, u32)>>(input).map_err(|e| e.to_string())?;
    ROUND.with_borrow(|round| {
        let mut shapes = Vec::new();
        let mut hosts = Vec::new();
        let mut largest = 0f32;
        for c in &round.products {
            shapes.push((c.shape().to_vec(), format!("{:?}", c.dtype())));
            let host = c.as_dtype(Dtype::Float32).map_err(mlx)?;
            let values = host.try_as_slice::<f32>().map_err(|e| e.to_string())?.to_vec();
            largest = values.iter().fold(largest, |m, v| m.max(v.abs()));
            hosts.push((values, c.shape().get(1).copied().unwrap_or(0) as usize));
        }
        let entries: Vec<f32> = wanted
            .iter()
            .map(|&(call, row, col)| {
                let (values, width) = hosts.get(call as usize)?;
                values.get(row as usize * width + col as usize).copied()
            })
            .map(|v| v.unwrap_or(f32::NAN))
            .collect();
        let mut out = Vec::new();
        (shapes, entries, largest).encode(&mut out);
        Ok(out)
    })
}

// ---- The judge.

/// Both sides of the comparison, each in its own process.
struct Sides {
    candidate: CandidateProcess,
    reference: CandidateProcess,
}

/// A reference routine's error is this evaluator's, not the candidate's (a
/// reference process that dies is one already, the SDK sees to that).
fn on_reference<T>(f: impl FnOnce() -> Result<T, String>) -> T {
    f().unwrap_or_else(|e| panic!("the reference process: {e}"))
}

/// Seconds per call of one side's `multiply`, on the judge's clock.
fn time_multiply(process: &CandidateProcess, calls: usize) -> Result<f64, String> {
    let start = Instant::now();
    process.call_routine("multiply", &[])?;
    Ok(start.elapsed().as_secs_f64() / calls as f64)
}

/// Shortest stretch a timed batch of calls should last: a routine call
/// costs tens of microseconds of its own, which this keeps to about 1%.
const MIN_BATCH_SECONDS: f64 = 10e-3;
/// Entries of each product compared with the reference's.
const ENTRIES_PER_CALL: u32 = 256;

struct Measured {
    reference: f64,
    candidate: f64,
    /// Geometric mean over the rounds of each round's reference ÷ candidate.
    speedup: f64,
    worst_error: f32,
}

/// Times both over `rounds` rounds (round 0 warms up and sizes the batch)
/// and checks random entries of every product.
fn measure(sides: &Sides, s: &Shape, set: &Settings, seed: u64) -> Result<Measured, String> {
    let mut rng = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: the entries to check, unknown to both processes until asked.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut reference, mut candidate, mut worst_error) = (Vec::new(), Vec::new(), 0f32);
    let mut calls = 1usize;
    // As many timed rounds with each side first, and each side's operands
    // made just before its own timing: on a small machine, a process timed
    // right after another one's work runs measurably slower, and any other
    // order hands that to one side (an A/A run, `matmul` against itself, came
    // out ×1.3 on the small shapes before).
    let rounds = set.rounds + set.rounds % 2;
    for round in 0..=rounds {
        let mut operands = Vec::new();
        (next(), s.m, s.k, s.n, set.dtype.clone(), calls as u32).encode(&mut operands);
        // The candidate's processes are stopped while the reference works,
        // and from the end of the candidate's own timing until its products
        // are checked, so no thread of its can finish them off untimed.
        let time_reference = || {
            on_reference(|| sides.reference.call_routine("operands", &operands));
            on_reference(|| time_multiply(&sides.reference, calls))
        };
        let time_candidate = || -> Result<f64, String> {
            sides.candidate.call_routine("operands", &operands)?;
            time_multiply(&sides.candidate, calls)
        };
        let (t_ref, t_cand, held) = if round % 2 == 0 {
            let r = {
                let _paused = sides.candidate.pause();
                time_reference()
            };
            let c = time_candidate()?;
            (r, c, sides.candidate.pause())
        } else {
            let c = time_candidate()?;
            let held = sides.candidate.pause();
            (time_reference(), c, held)
        };
        let wanted: Vec<(u32, u32, u32)> = (0..calls as u32)
            .flat_map(|call| (0..ENTRIES_PER_CALL).map(move |_| call))
            .map(|call| (call, (next() % s.m as u64) as u32, (next() % s.n as u64) as u32))
            .collect();
        let mut ask = Vec::new();
        wanted.encode(&mut ask);
        type Entries = (Vec<(Vec<i32>, String)>, Vec<f32>, f32);
        let (want_shapes, want, largest) =
            on_reference(|| decode_all::<Entries>(&sides.reference.call_routine("entries", &ask)?).map_err(|e| e.to_string()));
        drop(held);
        let (got_shapes, got, _) = decode_all::<Entries>(&sides.candidate.call_routine("entries", &ask)?)
            .map_err(|e| format!("its answer: {e}"))?;
        if got_shapes != want_shapes {
            let show = |v: &[(Vec<i32>, String)]| v.first().map(|(s, d)| format!("{s:?} {d}")).unwrap_or_default();
            return Err(format!(
                "{}: the result is {}; matmul gives {}",
                s.name,
                show(&got_shapes),
                show(&want_shapes)
            ));
        }
        let difference = got.iter().zip(&want).fold(0f32, |m, (g, w)| if (g - w).is_nan() { f32::INFINITY } else { m.max((g - w).abs()) });
        let error = difference / largest.max(f32::MIN_POSITIVE);
        if !(error <= set.tolerance) || got.len() != want.len() {
            return Err(format!(
                "{} (m={}, k={}, n={}): differs from matmul by {error:.2e} of its largest value (allowed {:.0e})",
                s.name, s.m, s.k, s.n, set.tolerance
            ));
        }
        worst_error = worst_error.max(error);
        if round == 0 {
            calls = ((MIN_BATCH_SECONDS / t_ref.max(1e-9)).ceil() as usize).clamp(1, 64);
        } else {
            reference.push(t_ref);
            candidate.push(t_cand);
        }
    }
    let speedup = geometric_mean(reference.iter().zip(&candidate).map(|(r, c)| r / c));
    Ok(Measured { reference: median(reference), candidate: median(candidate), speedup, worst_error })
}

fn evaluate(c: &Candidate) -> Result<EvaluationResult, CandidateError> {
    // A bad argument is the config's fault, not the candidate's: an evaluator error.
    let set = settings(c.evaluator_args()).unwrap_or_else(|e| panic!("{e}"));
    let sides = Sides {
        candidate: c.start_process_with(ProcessRole::Candidate, &Reads::Anywhere)?,
        reference: c.start_process_with(ProcessRole::Reference, &Reads::Anywhere)?,
    };
    // Inputs the candidate cannot have seen: a new seed each evaluation.
    let seed = UNIX_EPOCH.elapsed().map(|d| d.as_nanos() as u64).unwrap_or(1);
    let mut table = String::new();
    let (mut inference, mut training, mut worst) = (Vec::new(), Vec::new(), 0f32);
    for s in set.shapes.iter().filter(|s| !set.training_only || s.phase == Phase::Training) {
        let mut shape = Vec::new();
        (s.m, s.n, s.k).encode(&mut shape);
        let described = sides.candidate.call_routine("tiles", &shape).and_then(|answer| {
            decode_all::<(Option<(i32, i32, i32)>, String)>(&answer).map_err(|e| e.to_string())
        });
        let (tiles, device) = match described {
            Ok((Some(tiles), device)) => (tiles, device),
            Ok((None, _)) | Err(_) => return Err(CandidateError::Load(format!("{}: no tile sizes", s.name))),
        };
        if table.is_empty() {
            table = format!("{device}, {}, seed {seed}\nshape (m×k·k×n): tiles, matmul ms, tiled ms (per call), speed-up\n", set.dtype);
        }
        let m = match measure(&sides, s, &set, seed ^ (s.m as u64) << 32 ^ (s.k as u64) << 16 ^ s.n as u64) {
            Ok(m) => m,
            Err(why) => {
                return Ok(EvaluationResult::new()
                    .metric("combined_score", 0.0)
                    .metric("correct", 0.0)
                    .artifact("incorrect", why)
                    .artifact("timings", table));
            }
        };
        let speedup = m.speedup;
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

openevolve_sdk::evaluator!(
    evaluate,
    routines = &[
        ("tiles", tiles_routine),
        ("operands", operands_routine),
        ("multiply", multiply_routine),
        ("entries", entries_routine),
    ]
);
