//! A progress bar a person can follow: iterations, best score, work in
//! flight, failures, tokens and cost.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use openevolve_db::Outcome;
use openevolve_llm::UsageSnapshot;

pub struct Progress {
    bar: Option<ProgressBar>,
    best: Option<f64>,
    failures: u64,
    in_flight: usize,
    tokens: u64,
    cost_usd: f64,
}

impl Progress {
    /// A bar over `total` iterations, `done` of them already committed; none
    /// when `show` is false (indicatif also hides it when stderr is no terminal).
    pub fn new(show: bool, total: u64, done: u64) -> Self {
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_position(done);
            bar
        });
        Self { bar, best: None, failures: 0, in_flight: 0, tokens: 0, cost_usd: 0.0 }
    }

    pub fn best(&mut self, fitness: f64) {
        self.best = Some(fitness);
        self.redraw();
    }

    pub fn in_flight(&mut self, n: usize) {
        if n != self.in_flight {
            self.in_flight = n;
            self.redraw();
        }
    }

    pub fn committed(&mut self, iteration: u64, outcome: Outcome, best: Option<f64>, usage: &UsageSnapshot) {
        if !outcome.stored_child() {
            self.failures += 1;
        }
        self.best = best.or(self.best);
        self.tokens = usage.total.prompt_tokens + usage.total.completion_tokens;
        self.cost_usd = usage.total.cost_usd;
        if let Some(bar) = &self.bar {
            bar.set_position(iteration);
        }
        self.redraw();
    }

    fn redraw(&self) {
        let Some(bar) = &self.bar else { return };
        let best = self.best.map_or("-".to_string(), |b| format!("{b:.4}"));
        bar.set_message(format!(
            "best {best} | in flight {} | failed {} | {} tokens | ${:.4}",
            self.in_flight, self.failures, self.tokens, self.cost_usd
        ));
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
