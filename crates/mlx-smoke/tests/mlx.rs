//! mlx-rs on this machine, through the mlx-sys port: real MLX, real numbers.

use half::{bf16, f16};
use mlx_rs::ops::indexing::IndexOp;
use mlx_rs::{Array, Dtype, array};

#[test]
fn loaded_mlx_is_the_pinned_release() {
    mlx_smoke::check_mlx().unwrap();
}

#[test]
fn small_matmul_is_exact() {
    let a = array!([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let b = array!([[7.0f32, 8.0], [9.0, 10.0], [11.0, 12.0]]);
    let c = a.matmul(&b).unwrap();
    assert_eq!(c.shape(), &[2, 2]);
    assert_eq!(c.as_slice::<f32>(), &[58.0, 64.0, 139.0, 154.0]);
}

#[test]
fn matmul_matches_an_f64_reference() {
    // k = 48 products of values in [-1, 1): f32 rounding stays far below 1e-4.
    let err = mlx_smoke::matmul_max_error(64, 48, 32).unwrap();
    assert!(err < 1e-4, "max abs error {err}");
}

#[test]
fn half_precision_values_round_trip() {
    // Reads go through the port's f16/bf16 accessors (absent from mlx-c on x86_64).
    let x = Array::from_slice(&[1.5f32, -2.25, 1024.0], &[3]);
    let h = x.as_dtype(Dtype::Float16).unwrap();
    let b = x.as_dtype(Dtype::Bfloat16).unwrap();
    assert_eq!(h.as_slice::<f16>(), &[f16::from_f32(1.5), f16::from_f32(-2.25), f16::from_f32(1024.0)]);
    assert_eq!(b.as_slice::<bf16>(), &[bf16::from_f32(1.5), bf16::from_f32(-2.25), bf16::from_f32(1024.0)]);
    let third = h.index(2);
    assert_eq!(third.item_exact::<f16>(), f16::from_f32(1024.0));
    assert_eq!(b.index(1).item_exact::<bf16>(), bf16::from_f32(-2.25));
}

#[test]
fn mlp_loss_falls_with_value_and_grad_and_adamw() {
    let losses = mlx_smoke::train_mlp(150, 3).unwrap();
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(last < 0.1 * first, "loss went {first} -> {last}");
}

#[test]
fn compiled_graph_matches_eager() {
    let diff = mlx_smoke::compiled_matches_eager().unwrap();
    assert!(diff < 1e-4, "compiled vs eager differ by {diff}");
}

#[test]
fn matmul_throughput_is_measured() {
    let flops = mlx_smoke::matmul_flops(128, Dtype::Float32, 3).unwrap();
    assert!(flops.is_finite() && flops > 0.0, "{flops}");
}
