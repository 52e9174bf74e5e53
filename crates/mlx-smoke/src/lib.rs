//! Checks that mlx-rs really computes on this machine: matmul values against a
//! reference, a small network trained with `value_and_grad` + AdamW, `compile`,
//! the memory counters, and a matmul throughput figure. Used by the
//! `mlx-smoke` binary and by the tests.

use std::ffi::CStr;
use std::time::Instant;

use mlx_rs::builder::Builder;
use mlx_rs::error::Exception;
use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::{Module, ModuleParameters as _};
use mlx_rs::nn::{self, Linear, LinearBuilder};
use mlx_rs::optimizers::{AdamW, Optimizer};
use mlx_rs::{Array, Device, DeviceType, Dtype, memory, ops, random, transforms};

/// The MLX release the mlx-sys port is built for (mlx-c 0.7.0 needs exactly it).
pub const MLX_VERSION: &str = "0.32.2";
/// The backend this crate was built against: `cpu` or `cuda13` (`MLX_BACKEND`).
pub const BACKEND: &str = env!("MLX_SMOKE_BACKEND");

#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error("MLX: {0}")]
    Mlx(#[from] Exception),
    #[error(
        "the libmlx.so loaded at run time is MLX {found}, but this program was built for MLX \
         {MLX_VERSION}; run scripts/setup-mlx.sh{} and rebuild, or fix LD_LIBRARY_PATH",
        backend_flag()
    )]
    WrongMlx { found: String },
    #[error("{what}: got {got}, expected {expected}")]
    Mismatch { what: String, got: String, expected: String },
}

fn backend_flag() -> String {
    if BACKEND == "cpu" { String::new() } else { format!(" --backend {BACKEND}") }
}

pub type Result<T> = std::result::Result<T, SmokeError>;

/// The MLX version reported by the libmlx.so actually loaded.
pub fn loaded_mlx_version() -> String {
    // SAFETY: mlx_version fills a fresh mlx_string, which is freed after copying.
    unsafe {
        let mut s = mlx_sys::mlx_string_new();
        if mlx_sys::mlx_version(&mut s) != 0 {
            return "unknown".into();
        }
        let version = CStr::from_ptr(mlx_sys::mlx_string_data(s)).to_string_lossy().into_owned();
        mlx_sys::mlx_string_free(s);
        version
    }
}

/// Fails with the fix when the loaded MLX is not the one the port was built for
/// (e.g. LD_LIBRARY_PATH pointing at another install).
pub fn check_mlx() -> Result<()> {
    let found = loaded_mlx_version();
    if found == MLX_VERSION { Ok(()) } else { Err(SmokeError::WrongMlx { found }) }
}

pub fn default_device_type() -> Result<DeviceType> {
    Ok(Device::try_default()?.get_type()?)
}

fn mismatch(what: &str, got: impl std::fmt::Debug, expected: impl std::fmt::Debug) -> SmokeError {
    SmokeError::Mismatch { what: what.into(), got: format!("{got:?}"), expected: format!("{expected:?}") }
}

/// Deterministic, non-trivial test data: values in [-1, 1) from a small LCG.
pub fn test_data(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Computes an (m×k)·(k×n) matmul in MLX (f32) and in plain Rust (f64), and
/// returns the largest absolute difference.
pub fn matmul_max_error(m: usize, k: usize, n: usize) -> Result<f64> {
    let a = test_data(m * k, 1);
    let b = test_data(k * n, 2);
    let am = Array::from_slice(&a, &[m as i32, k as i32]);
    let bm = Array::from_slice(&b, &[k as i32, n as i32]);
    let c = am.matmul(&bm)?;
    c.eval()?;
    if c.shape() != [m as i32, n as i32] {
        return Err(mismatch("matmul shape", c.shape(), [m, n]));
    }
    let got = c.as_slice::<f32>();
    let mut worst = 0.0f64;
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k).map(|p| a[i * k + p] as f64 * b[p * n + j] as f64).sum();
            worst = worst.max((got[i * n + j] as f64 - want).abs());
        }
    }
    Ok(worst)
}

/// A two-layer perceptron, the smallest network that needs real backprop.
#[derive(Debug, ModuleParameters)]
pub struct Mlp {
    #[param]
    hidden: Linear,
    #[param]
    out: Linear,
}

impl Mlp {
    pub fn new(inputs: i32, hidden: i32) -> Result<Self> {
        Ok(Self {
            hidden: LinearBuilder::new(inputs, hidden).build()?,
            out: LinearBuilder::new(hidden, 1).build()?,
        })
    }
}

impl Module<&Array> for Mlp {
    type Output = Array;
    type Error = Exception;

    fn forward(&mut self, x: &Array) -> std::result::Result<Array, Exception> {
        let h = nn::relu(self.hidden.forward(x)?)?;
        self.out.forward(&h)
    }

    fn training_mode(&mut self, mode: bool) {
        self.hidden.training_mode(mode);
        self.out.training_mode(mode);
    }
}

/// Trains [`Mlp`] on y = Σ sin(2x) with `nn::value_and_grad` and AdamW;
/// returns the loss of every step.
pub fn train_mlp(steps: usize, seed: u64) -> Result<Vec<f32>> {
    const SAMPLES: i32 = 256;
    const INPUTS: i32 = 4;
    random::seed(seed)?;
    let x = Array::from_slice(&test_data((SAMPLES * INPUTS) as usize, seed), &[SAMPLES, INPUTS]);
    let y = ops::sum_axes(&ops::sin(&(&x * 2.0f32))?, &[1], true)?;
    let mut model = Mlp::new(INPUTS, 32)?;
    let mut optimizer = AdamW::new(0.01);

    let loss_fn = |model: &mut Mlp, (x, y): (&Array, &Array)| -> std::result::Result<Array, Exception> {
        let err = model.forward(x)? - y;
        ops::mean(&ops::square(&err)?, None)
    };
    let mut value_and_grad = nn::value_and_grad(loss_fn);
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (loss, grads) = value_and_grad(&mut model, (&x, &y))?;
        optimizer.update(&mut model, grads)?;
        transforms::eval_params(model.parameters())?;
        losses.push(loss.item_exact::<f32>());
    }
    Ok(losses)
}

/// Runs `exp(x·x + 1) - x` through `transforms::compile` and checks it against
/// the uncompiled graph (on the CPU, compile fuses kernels with g++ at run time).
pub fn compiled_matches_eager() -> Result<f32> {
    let f = |inputs: &[Array]| -> std::result::Result<Vec<Array>, Exception> {
        let x = &inputs[0];
        Ok(vec![ops::exp(&(x * x + 1.0f32))? - x])
    };
    let x = Array::from_slice(&test_data(1024, 7), &[32, 32]);
    let eager = f(std::slice::from_ref(&x))?.remove(0);
    let mut compiled = transforms::compile::compile(f, None);
    let fused = compiled(std::slice::from_ref(&x))?.remove(0);
    let diff = ops::max(&ops::abs(&(&eager - &fused))?, None)?;
    Ok(diff.item_exact::<f32>())
}

/// MLX's allocator counters around one allocation of `bytes`.
#[derive(Debug, Clone, Copy)]
pub struct MemoryReport {
    pub active_before: usize,
    pub active_with_array: usize,
    pub peak: usize,
    pub cache_after_drop: usize,
    pub cache_after_clear: usize,
}

pub fn memory_probe(elements: i32) -> Result<MemoryReport> {
    memory::clear_cache()?;
    memory::reset_peak_memory()?;
    let active_before = memory::active_memory()?;
    let a = ops::ones::<f32>(&[elements])?;
    a.eval()?;
    let active_with_array = memory::active_memory()?;
    let peak = memory::peak_memory()?;
    drop(a);
    let cache_after_drop = memory::cache_memory()?;
    memory::clear_cache()?;
    let cache_after_clear = memory::cache_memory()?;
    Ok(MemoryReport { active_before, active_with_array, peak, cache_after_drop, cache_after_clear })
}

/// Throughput of an n×n×n matmul in `dtype` on the default device, in FLOP/s:
/// one warm-up, then `iters` products each evaluated (MLX's eval waits for the
/// device), timed together.
pub fn matmul_flops(n: i32, dtype: Dtype, iters: usize) -> Result<f64> {
    let a = random::normal::<f32>(&[n, n], None, None, None)?.as_dtype(dtype)?;
    let b = random::normal::<f32>(&[n, n], None, None, None)?.as_dtype(dtype)?;
    transforms::eval([&a, &b])?;
    a.matmul(&b)?.eval()?;
    let start = Instant::now();
    for _ in 0..iters {
        a.matmul(&b)?.eval()?;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(2.0 * (n as f64).powi(3) * iters as f64 / seconds)
}
