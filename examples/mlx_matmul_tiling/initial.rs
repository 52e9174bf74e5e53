//! A tiled matrix product built from MLX operations, for the shapes a
//! transformer multiplies (see README.md). The evaluator checks every result
//! against MLX's own `matmul` and times both on the same inputs.

use mlx_rs::Array;
use mlx_rs::error::Exception;
use mlx_rs::ops::concatenate;
use mlx_rs::ops::indexing::IndexOp;

// EVOLVE-BLOCK-START
/// Tile sizes `(tm, tn, tk)` for `C[m×n] = A[m×k]·B[k×n]` on `device`
/// ("cpu" or "gpu").
pub fn choose_tile_size(m: i32, n: i32, k: i32, device: &str) -> (i32, i32, i32) {
    let _ = device;
    (m.min(128), n.min(128), k.min(128))
}

/// `A·B` tile by tile: each output tile sums the products of a row of tiles
/// of `A` and a column of tiles of `B`.
pub fn tiled_matmul(a: &Array, b: &Array, device: &str) -> Result<Array, Exception> {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let (tm, tn, tk) = choose_tile_size(m, n, k, device);
    let (tm, tn, tk) = (tm.max(1), tn.max(1), tk.max(1));
    let mut rows = Vec::new();
    for i in (0..m).step_by(tm as usize) {
        let mut row = Vec::new();
        for j in (0..n).step_by(tn as usize) {
            let mut tile: Option<Array> = None;
            for p in (0..k).step_by(tk as usize) {
                let a_tile = a.index((i..(i + tm).min(m), p..(p + tk).min(k)));
                let b_tile = b.index((p..(p + tk).min(k), j..(j + tn).min(n)));
                let product = a_tile.matmul(&b_tile)?;
                tile = Some(match tile {
                    None => product,
                    Some(sum) => sum.add(&product)?,
                });
            }
            row.push(tile.expect("k is at least 1"));
        }
        rows.push(concatenate(&row, 1)?);
    }
    concatenate(&rows, 0)
}
// EVOLVE-BLOCK-END

openevolve_sdk::export_candidate! {
    tiled_matmul: fn(&mlx_rs::Array, &mlx_rs::Array, &str) -> Result<mlx_rs::Array, mlx_rs::error::Exception>,
    choose_tile_size: fn(i32, i32, i32, &str) -> (i32, i32, i32),
}
