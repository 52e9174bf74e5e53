//! Pack 26 circles into the unit square so that the sum of their radii is as
//! large as possible. Circles may touch but not overlap, and must lie inside
//! the square. The evaluator checks both exactly (within 1e-9).

/// Number of circles to place.
pub const N: usize = 26;

/// Largest radii for fixed centres: each circle first takes the room to the
/// nearest wall, then every overlapping pair shrinks in proportion until none
/// overlaps.
pub fn radii_for(centres: &[(f64, f64)]) -> Vec<f64> {
    let mut radii: Vec<f64> = centres.iter().map(|&(x, y)| x.min(y).min(1.0 - x).min(1.0 - y).max(0.0)).collect();
    for i in 0..centres.len() {
        for j in (i + 1)..centres.len() {
            let (dx, dy) = (centres[i].0 - centres[j].0, centres[i].1 - centres[j].1);
            let d = (dx * dx + dy * dy).sqrt();
            if radii[i] + radii[j] > d {
                let scale = d / (radii[i] + radii[j]);
                radii[i] *= scale;
                radii[j] *= scale;
            }
        }
    }
    radii
}

// EVOLVE-BLOCK-START
/// Returns N circles as (x, y, radius).
pub fn pack() -> Vec<(f64, f64, f64)> {
    // A 5 x 5 grid, and one more circle in the middle of the square.
    let mut centres = Vec::with_capacity(N);
    for row in 0..5 {
        for col in 0..5 {
            centres.push((0.1 + 0.2 * col as f64, 0.1 + 0.2 * row as f64));
        }
    }
    centres.push((0.4, 0.4));
    let radii = radii_for(&centres);
    centres.iter().zip(radii).map(|(&(x, y), r)| (x, y, r)).collect()
}
// EVOLVE-BLOCK-END

openevolve_sdk::export_candidate! { pack: fn() -> Vec<(f64, f64, f64)> }

#[allow(dead_code)]
fn main() {
    let circles = pack();
    let sum: f64 = circles.iter().map(|c| c.2).sum();
    println!("{} circles, sum of radii {sum:.6}", circles.len());
}
