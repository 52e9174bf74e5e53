//! `bench.json`: what one bench measured, arm by arm, and the statistics the
//! table and the plot show. The fields are documented in the guide's
//! "Measuring the search" chapter; a field is added, never renamed.

use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::{bootstrap_mean_interval, first_reach, mean, median, sorted, win_rate};

/// One run of one arm: the best score and the tokens spent so far after
/// each iteration (index 0: the initial program, before any LLM call).
#[derive(Debug, Clone, Serialize)]
pub struct RunCurve {
    pub seed: u64,
    /// The run's folder, relative to the bench folder.
    pub path: String,
    pub best: Vec<f64>,
    pub tokens: Vec<u64>,
}

/// What an arm is, before it runs.
#[derive(Debug, Clone, Serialize)]
pub struct ArmSpec {
    /// The arm's name in files, tables and plots.
    pub arm: String,
    /// `evolution`, `independent_sampling` or `sequential_refinement`.
    pub strategy: String,
    /// The config overlay the arm applies, as given on the command line.
    pub overlay: Option<String>,
}

/// The best scores at the last iteration, over the arm's seeds.
#[derive(Debug, Clone, Serialize)]
pub struct FinalScores {
    pub mean: f64,
    /// 95% percentile-bootstrap interval of the mean over seeds.
    pub mean_interval: [f64; 2],
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// How the arm's runs reached the report's threshold.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    /// Runs that reached it, of `runs`.
    pub reached: usize,
    pub runs: usize,
    /// Median over the runs that reached it; `None` when none did.
    pub median_iterations: Option<f64>,
    pub median_tokens: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArmReport {
    #[serde(flatten)]
    pub spec: ArmSpec,
    pub runs: Vec<RunCurve>,
    pub median_best: Vec<f64>,
    pub min_best: Vec<f64>,
    pub max_best: Vec<f64>,
    pub median_tokens: Vec<f64>,
    pub final_best: FinalScores,
    pub to_threshold: Reach,
}

/// How often a run of `arm` ends above a run of `against` (ties count ½).
#[derive(Debug, Clone, Serialize)]
pub struct WinRate {
    pub arm: String,
    pub against: String,
    pub rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub problem: String,
    pub iterations: u64,
    pub seeds: Vec<u64>,
    /// The score that `to_threshold` counts: `--threshold`, or else the
    /// median of every run's final best score.
    pub threshold: f64,
    pub arms: Vec<ArmReport>,
    pub win_rates: Vec<WinRate>,
}

impl BenchReport {
    /// The report of finished arms, each with its runs.
    pub fn new(
        problem: String,
        iterations: u64,
        seeds: Vec<u64>,
        arms: Vec<(ArmSpec, Vec<RunCurve>)>,
        threshold: Option<f64>,
    ) -> Self {
        let finals: Vec<f64> = arms.iter().flat_map(|(_, runs)| runs.iter().map(final_best)).collect();
        let threshold = threshold.unwrap_or_else(|| median(&finals));
        let arms: Vec<ArmReport> =
            arms.into_iter().map(|(spec, runs)| arm_report(spec, runs, threshold)).collect();
        let mut win_rates = Vec::new();
        for a in &arms {
            for b in arms.iter().filter(|b| b.spec.arm != a.spec.arm) {
                let rate = win_rate(&finals_of(a), &finals_of(b));
                win_rates.push(WinRate { arm: a.spec.arm.clone(), against: b.spec.arm.clone(), rate });
            }
        }
        Self { problem, iterations, seeds, threshold, arms, win_rates }
    }

    /// The table a bench prints at the end.
    pub fn table(&self) -> String {
        let mut t = format!(
            "{} · {} iterations · seeds {:?} · threshold {:.4}\n{:<24} {:>28} {:>24} {:>9} {:>11} {:>10} {:>10}\n",
            self.problem,
            self.iterations,
            self.seeds,
            self.threshold,
            "arm",
            "best score: median [min, max]",
            "mean [95% bootstrap]",
            "reached",
            "iterations",
            "tokens",
            "tokens/run"
        );
        let or_dash = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        for arm in &self.arms {
            let (f, r) = (&arm.final_best, &arm.to_threshold);
            let _ = writeln!(
                t,
                "{:<24} {:>28} {:>24} {:>9} {:>11} {:>10} {:>10.0}",
                arm.spec.arm,
                format!("{:.4} [{:.4}, {:.4}]", f.median, f.min, f.max),
                format!("{:.4} [{:.4}, {:.4}]", f.mean, f.mean_interval[0], f.mean_interval[1]),
                format!("{} of {}", r.reached, r.runs),
                or_dash(r.median_iterations),
                or_dash(r.median_tokens),
                arm.median_tokens.last().copied().unwrap_or(f64::NAN)
            );
        }
        t.push_str("win rate (a run of the row ends above a run of the column; ties ½):\n");
        for a in &self.arms {
            let rates: Vec<String> = self
                .win_rates
                .iter()
                .filter(|w| w.arm == a.spec.arm)
                .map(|w| format!("{} {:.2}", w.against, w.rate))
                .collect();
            let _ = writeln!(t, "  {:<22} {}", a.spec.arm, rates.join(" · "));
        }
        t
    }
}

fn final_best(run: &RunCurve) -> f64 {
    run.best.last().copied().unwrap_or(f64::NAN)
}

fn finals_of(arm: &ArmReport) -> Vec<f64> {
    arm.runs.iter().map(final_best).collect()
}

fn arm_report(spec: ArmSpec, runs: Vec<RunCurve>, threshold: f64) -> ArmReport {
    let len = runs.iter().map(|r| r.best.len()).min().unwrap_or(0);
    let at = |i: usize, f: &dyn Fn(&RunCurve, usize) -> f64| -> Vec<f64> {
        runs.iter().map(|r| f(r, i)).collect()
    };
    let best_at = |i| at(i, &|r, i| r.best[i]);
    let extreme = |i, last: bool| {
        let v = sorted(&best_at(i));
        (if last { v.last() } else { v.first() }).copied().unwrap_or(f64::NAN)
    };
    let finals: Vec<f64> = runs.iter().map(final_best).collect();
    let reaches: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| first_reach(&r.best, threshold).map(|i| (i as f64, r.tokens[i] as f64)))
        .collect();
    let reached_median = |f: fn(&(f64, f64)) -> f64| {
        Some(median(&reaches.iter().map(f).collect::<Vec<_>>())).filter(|_| !reaches.is_empty())
    };
    let ordered = sorted(&finals);
    let final_best = FinalScores {
        mean: mean(&finals),
        mean_interval: bootstrap_mean_interval(&finals, 0).into(),
        median: median(&finals),
        min: ordered.first().copied().unwrap_or(f64::NAN),
        max: ordered.last().copied().unwrap_or(f64::NAN),
    };
    let to_threshold = Reach {
        reached: reaches.len(),
        runs: runs.len(),
        median_iterations: reached_median(|r| r.0),
        median_tokens: reached_median(|r| r.1),
    };
    ArmReport {
        median_best: (0..len).map(|i| median(&best_at(i))).collect(),
        min_best: (0..len).map(|i| extreme(i, false)).collect(),
        max_best: (0..len).map(|i| extreme(i, true)).collect(),
        median_tokens: (0..len).map(|i| median(&at(i, &|r, i| r.tokens[i] as f64))).collect(),
        spec,
        runs,
        final_best,
        to_threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, best: &[f64]) -> RunCurve {
        let tokens = (0..best.len() as u64).map(|i| i * 100).collect();
        RunCurve { seed, path: format!("x/seed_{seed}"), best: best.to_vec(), tokens }
    }

    fn spec(name: &str) -> ArmSpec {
        ArmSpec { arm: name.into(), strategy: "evolution".into(), overlay: None }
    }

    #[test]
    fn a_report_counts_reaches_and_wins_over_seeds() {
        let arms = vec![
            (spec("a"), vec![run(1, &[0.1, 0.5, 0.9]), run(2, &[0.1, 0.1, 0.4])]),
            (spec("b"), vec![run(1, &[0.1, 0.2, 0.3]), run(2, &[0.1, 0.3, 0.3])]),
        ];
        let report = BenchReport::new("p".into(), 2, vec![1, 2], arms, Some(0.4));
        let a = &report.arms[0];
        assert_eq!(a.median_best, [0.1, 0.3, 0.65]);
        assert_eq!((a.min_best[2], a.max_best[2]), (0.4, 0.9));
        assert_eq!((a.to_threshold.reached, a.to_threshold.runs), (2, 2));
        // Run 1 reaches 0.4 at iteration 1, run 2 at iteration 2.
        assert_eq!(a.to_threshold.median_iterations, Some(1.5));
        assert_eq!(a.to_threshold.median_tokens, Some(150.0));
        assert_eq!(report.arms[1].to_threshold.median_iterations, None);
        // a's 0.9 and 0.4 beat both of b's 0.3s.
        assert_eq!(report.win_rates[0].rate, 1.0);
        assert_eq!(report.win_rates[1].rate, 0.0);
        let table = report.table();
        assert!(table.contains("2 of 2") && table.contains("0 of 2"), "{table}");
    }

    #[test]
    fn without_a_threshold_the_median_final_score_is_used() {
        let arms = vec![(spec("a"), vec![run(1, &[0.0, 1.0]), run(2, &[0.0, 2.0]), run(3, &[0.0, 3.0])])];
        let report = BenchReport::new("p".into(), 1, vec![1, 2, 3], arms, None);
        assert_eq!(report.threshold, 2.0);
        assert_eq!(report.arms[0].to_threshold.reached, 2);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["arms"][0]["arm"], "a", "the spec is flattened into the arm");
        assert_eq!(json["arms"][0]["final_best"]["median"], 2.0);
    }
}
