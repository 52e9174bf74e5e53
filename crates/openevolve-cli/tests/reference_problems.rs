//! The problems with published reference values (`examples/heilbronn_triangle`,
//! `examples/min_max_distance`): each initial program evaluates to its
//! stated score, a better answer scores higher by the independently computed
//! amount, and an invalid one scores 0 with the reason.

mod common;

use std::path::Path;

use common::*;

/// `examples/<name>/initial.rs` with the body of `place` replaced, evaluated.
fn evaluate_place(name: &str, body: Option<&str>, tmp: &Path) -> serde_json::Value {
    let dir = repo_root().join("examples").join(name);
    let initial = std::fs::read_to_string(dir.join("initial.rs")).unwrap();
    let program = match body {
        None => initial,
        Some(body) => {
            let start = initial.find("pub fn place(").expect("the example defines place");
            let end = start + initial[start..].find("\n}\n").expect("place ends") + 3;
            format!(
                "{}pub fn place(_rng: &mut SmallRng) -> Vec<(f64, f64)> {{\n{body}\n}}\n{}",
                &initial[..start],
                &initial[end..]
            )
        }
    };
    let file = tmp.join(format!("{name}-{}.rs", body.map_or(0, |b| b.len())));
    std::fs::write(&file, program).unwrap();
    let config = dir.join("config.yaml");
    eval_json(&file, &dir.join("evaluator.rs"), &config, &dir.join("candidate.toml"))
}

fn artifact<'a>(e: &'a serde_json::Value, name: &str) -> &'a str {
    e["artifacts"][name].as_str().unwrap_or_else(|| panic!("no artifact {name}: {e:#}"))
}

#[test]
fn heilbronn_triangle_scores_the_smallest_triangle_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let initial = evaluate_place("heilbronn_triangle", None, tmp.path());
    let start = metric(&initial, "combined_score");
    assert!((0.0155..0.0165).contains(&start), "the README says about 0.0159: {initial:#}");
    assert_eq!(metric(&initial, "validity"), 1.0);

    // Found by a random search in Python; its smallest triangle, computed
    // there, is 0.025079680001403523 of the whole.
    let better = "vec![(0.7797, 0.2616), (0.0556, 0.0397), (0.3294, 0.1563), (0.5728, 0.7216), (0.954, 0.0693), \
                  (0.3341, 0.3499), (0.1293, 0.221), (0.5091, 0.7281), (0.5618, 0.3568), (0.4448, 0.0044), (0.7152, 0.1401)]";
    let better = evaluate_place("heilbronn_triangle", Some(better), tmp.path());
    assert!((metric(&better, "min_area") - 0.025_079_680_001_403_523).abs() < 1e-12, "{better:#}");

    let outside = "let mut p: Vec<(f64, f64)> = (0..N).map(|k| (0.3 + 0.04 * k as f64, 0.1 + 0.001 * (k * k) as f64)).collect();\n\
                   p[4] = (0.5, 0.9);\np";
    let outside = evaluate_place("heilbronn_triangle", Some(outside), tmp.path());
    assert_eq!(metric(&outside, "combined_score"), 0.0);
    assert!(artifact(&outside, "invalid_points").starts_with("point 4 at (0.5"), "{outside:#}");
    let short = evaluate_place("heilbronn_triangle", Some("vec![(0.5, 0.1); 3]"), tmp.path());
    assert_eq!(artifact(&short, "invalid_points"), "expected 11 points, got 3");
}

#[test]
fn min_max_distance_scores_the_inverse_squared_ratio() {
    let tmp = tempfile::tempdir().unwrap();
    let initial = evaluate_place("min_max_distance", None, tmp.path());
    // The 4 x 4 grid: (3√2)² / 1² = 18.
    assert!((metric(&initial, "combined_score") - 1.0 / 18.0).abs() < 1e-12, "{initial:#}");
    assert!((metric(&initial, "ratio_squared") - 18.0).abs() < 1e-9);

    // A regular 16-gon: the ratio is the diameter over a side, 1 / sin(π/16).
    let polygon = "(0..N).map(|k| { let a = std::f64::consts::TAU * k as f64 / N as f64; (a.cos(), a.sin()) }).collect()";
    let polygon = evaluate_place("min_max_distance", Some(polygon), tmp.path());
    let expected = (std::f64::consts::PI / 16.0).sin().powi(2);
    assert!((metric(&polygon, "combined_score") - expected).abs() < 1e-12, "{polygon:#}");

    let twice = "let mut p: Vec<(f64, f64)> = (0..N).map(|k| ((k % 4) as f64, (k / 4) as f64)).collect();\np[9] = p[2];\np";
    let twice = evaluate_place("min_max_distance", Some(twice), tmp.path());
    assert_eq!(metric(&twice, "combined_score"), 0.0);
    assert!(artifact(&twice, "invalid_points").starts_with("points 2 and 9 coincide"), "{twice:#}");
}
