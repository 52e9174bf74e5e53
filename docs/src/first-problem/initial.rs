//! Find the lowest point of a bumpy function on [-5, 5]²: the program that
//! evolution starts from. Only the code between the EVOLVE-BLOCK markers
//! changes; everything else is fixed (see the guide's "Writing a problem").

/// The function to minimise. Fixed: the evaluator scores against its own copy.
pub fn objective(x: f64, y: f64) -> f64 {
    x.sin() * y.cos() + (x * y).sin() + (x * x + y * y) / 20.0
}

// EVOLVE-BLOCK-START
/// The lowest point of `objective` that this search finds, as (x, y).
pub fn search() -> (f64, f64) {
    // A coarse grid: easy to beat.
    let mut best = (0.0, 0.0);
    for i in 0..=20 {
        for j in 0..=20 {
            let (x, y) = (0.5 * i as f64 - 5.0, 0.5 * j as f64 - 5.0);
            if objective(x, y) < objective(best.0, best.1) {
                best = (x, y);
            }
        }
    }
    best
}
// EVOLVE-BLOCK-END

// What the evaluator may call: the name and type of each entry point.
openevolve_sdk::export_candidate! { search: fn() -> (f64, f64) }
