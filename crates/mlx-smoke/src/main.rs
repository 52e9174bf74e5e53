//! `mlx-smoke`: shows that mlx-rs runs here and how fast.
//!
//!     mlx-smoke [--size N] [--dtype f32|bf16|f16] [--iters K] [--cpu]
//!
//! Prints the MLX version and backend, the default device's type (GPU on a CUDA
//! build with a usable GPU), a matmul check, a short training run, the memory
//! counters and the throughput of an N×N matmul on the default device
//! (defaults: 8192 in bf16 on a GPU, 512 in f32 on the CPU).

use std::process::ExitCode;

use mlx_rs::{Device, DeviceType, Dtype};
use mlx_smoke::{BACKEND, Result, SmokeError};

struct Args {
    size: Option<i32>,
    dtype: Option<Dtype>,
    iters: usize,
    cpu: bool,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut args = Args { size: None, dtype: None, iters: 10, cpu: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--size" => args.size = Some(value("--size")?.parse().map_err(|e| format!("--size: {e}"))?),
            "--iters" => args.iters = value("--iters")?.parse().map_err(|e| format!("--iters: {e}"))?,
            "--dtype" => {
                args.dtype = Some(match value("--dtype")?.as_str() {
                    "f32" => Dtype::Float32,
                    "bf16" => Dtype::Bfloat16,
                    "f16" => Dtype::Float16,
                    other => return Err(format!("--dtype must be f32, bf16 or f16, not {other}")),
                })
            }
            "--cpu" => args.cpu = true,
            "-h" | "--help" => {
                return Err("usage: mlx-smoke [--size N] [--dtype f32|bf16|f16] [--iters K] [--cpu]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn run(args: Args) -> Result<()> {
    mlx_smoke::check_mlx()?;
    if args.cpu {
        Device::set_default(&Device::cpu());
    }
    let device = mlx_smoke::default_device_type()?;
    let on_gpu = matches!(device, DeviceType::Gpu);
    let device_name = if on_gpu { "gpu" } else { "cpu" };
    println!(
        "mlx-smoke: MLX {} ({BACKEND} build), default device: {device_name}",
        mlx_smoke::loaded_mlx_version()
    );

    let err = mlx_smoke::matmul_max_error(64, 48, 32)?;
    println!("matmul 64x48 . 48x32 vs f64 reference: max abs error {err:.2e}");
    // On NVIDIA GPUs MLX runs f32 matmuls on tensor cores in TF32 (10-bit
    // mantissa), so the error is about ten times the CPU's.
    let tolerance = if on_gpu { 1e-2 } else { 1e-3 };
    if err > tolerance {
        return Err(SmokeError::Mismatch {
            what: "matmul error".into(),
            got: format!("{err}"),
            expected: format!("<= {tolerance:e}"),
        });
    }

    let losses = mlx_smoke::train_mlp(200, 0)?;
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    println!("training (value_and_grad + AdamW, 200 steps): loss {first:.4} -> {last:.4}");

    let diff = mlx_smoke::compiled_matches_eager()?;
    println!("compile: fused vs eager max abs difference {diff:.2e}");

    let mem = mlx_smoke::memory_probe(1 << 22)?;
    println!(
        "memory (16 MiB array): active {} -> {} B, peak {} B, cache after drop {} B, after clear {} B",
        mem.active_before, mem.active_with_array, mem.peak, mem.cache_after_drop, mem.cache_after_clear
    );

    let n = args.size.unwrap_or(if on_gpu { 8192 } else { 512 });
    // bf16 is what GPU training runs in; the CPU has no fast bf16 path.
    let dtype = args.dtype.unwrap_or(if on_gpu { Dtype::Bfloat16 } else { Dtype::Float32 });
    let flops = mlx_smoke::matmul_flops(n, dtype, args.iters)?;
    let dtype = format!("{dtype:?}").to_lowercase();
    println!(
        "matmul {n}x{n}x{n} {dtype} on {device_name}: {:.1} GFLOP/s ({:.1} TFLOP/s), {:.3} ms each",
        flops / 1e9,
        flops / 1e12,
        2.0 * (n as f64).powi(3) / flops * 1e3
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("mlx-smoke: {message}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mlx-smoke: {err}");
            ExitCode::FAILURE
        }
    }
}
