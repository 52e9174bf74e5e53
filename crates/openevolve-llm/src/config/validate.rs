//! Checks of `llm:` values that types alone cannot express: each problem
//! names its key and what would be valid.

use super::*;

impl LlmConfig {
    /// Checks ranges that types alone cannot express.
    pub fn validate(&self) -> Vec<InvalidValue> {
        let mut problems = Vec::new();
        check_sampling(&mut problems, "", self.temperature, self.top_p);
        if self.timeout <= 0.0 {
            problems.push((
                "timeout".into(),
                format!("must be a positive number of seconds, got {}", self.timeout),
            ));
        }
        if self.retry_delay < 0.0 {
            problems
                .push(("retry_delay".into(), format!("must be 0 or more seconds, got {}", self.retry_delay)));
        }
        if self.max_tokens == 0 {
            problems.push(("max_tokens".into(), "must be at least 1, got 0".into()));
        }
        if !(self.ucb_exploration.is_finite() && self.ucb_exploration >= 0.0) {
            problems.push((
                "ucb_exploration".into(),
                format!("must be a number of 0 or more, got {}", self.ucb_exploration),
            ));
        }
        check_effort(&mut problems, "", &self.reasoning_effort);
        check_prices(
            &mut problems,
            "",
            self.input_cost_per_million_tokens,
            self.output_cost_per_million_tokens,
        );
        if let Some(b) = self.run_budget_usd.filter(|b| !(b.is_finite() && *b > 0.0)) {
            problems
                .push(("run_budget_usd".into(), format!("must be a positive amount of US dollars, got {b}")));
        }
        if self.max_concurrent_requests == 0 {
            problems.push(("max_concurrent_requests".into(), "must be at least 1, got 0".into()));
        }
        check_provider(&mut problems, "", self.provider.as_deref());
        if self.local_threads == Some(0) {
            problems.push(("local_threads".into(), "must be at least 1, got 0".into()));
        }
        if self.local_slots == Some(0) {
            problems.push(("local_slots".into(), "must be at least 1, got 0".into()));
        }
        if self.local_context < 512 {
            problems.push((
                "local_context".into(),
                format!("must be at least 512 tokens, got {}", self.local_context),
            ));
        }
        if self.local_python.trim().is_empty() {
            problems.push(("local_python".into(), "must name a Python interpreter".into()));
        }
        for (list, models) in [("models", &self.models), ("evaluator_models", &self.evaluator_models)] {
            for (i, m) in models.iter().enumerate() {
                self.check_model(&mut problems, &format!("{list}[{i}]."), m);
            }
            if !models.is_empty() && models.iter().all(|m| m.weight <= 0.0) {
                problems.push((list.into(), "at least one model needs a weight above 0".into()));
            }
        }
        problems
    }

    /// The problems of one model of a list; `at` is its key prefix
    /// (`models[0].`).
    fn check_model(&self, problems: &mut Vec<InvalidValue>, at: &str, m: &ModelConfig) {
        if m.name.as_deref().is_none_or(str::is_empty) {
            problems.push((format!("{at}name"), "every model needs a name".into()));
        }
        if !(m.weight.is_finite() && m.weight >= 0.0) {
            problems.push((format!("{at}weight"), format!("must be 0 or more, got {}", m.weight)));
        }
        check_sampling(problems, at, m.temperature, m.top_p);
        check_local_model(problems, at, m, self.provider.as_deref());
        if let Some(t) = m.timeout.filter(|t| *t <= 0.0) {
            problems.push((format!("{at}timeout"), format!("must be a positive number of seconds, got {t}")));
        }
        if let Some(d) = m.retry_delay.filter(|d| *d < 0.0) {
            problems.push((format!("{at}retry_delay"), format!("must be 0 or more seconds, got {d}")));
        }
        check_effort(problems, at, &m.reasoning_effort);
        check_prices(problems, at, m.input_cost_per_million_tokens, m.output_cost_per_million_tokens);
        // A budget is only a promise if every model's calls can be priced.
        if self.run_budget_usd.is_some() {
            let prices = [
                (
                    "input_cost_per_million_tokens",
                    m.input_cost_per_million_tokens,
                    self.input_cost_per_million_tokens,
                ),
                (
                    "output_cost_per_million_tokens",
                    m.output_cost_per_million_tokens,
                    self.output_cost_per_million_tokens,
                ),
            ];
            for (key, own, shared) in prices {
                if own.or(shared).is_none() {
                    problems.push((
                        format!("{at}{key}"),
                        "needed because llm.run_budget_usd is set (give it here or at llm: level)".into(),
                    ));
                }
            }
        }
    }
}

fn check_provider(problems: &mut Vec<InvalidValue>, at: &str, provider: Option<&str>) {
    if let Some(p) = provider.filter(|p| ![PROVIDER_OPENAI, PROVIDER_LOCAL].contains(p)) {
        problems.push((
            format!("{at}provider"),
            format!(
                "provider `{p}` is not supported; use `{PROVIDER_OPENAI}` (an OpenAI-compatible endpoint) or `{PROVIDER_LOCAL}` (a GGUF model on this machine)"
            ),
        ));
    }
}

fn check_local_model(
    problems: &mut Vec<InvalidValue>,
    at: &str,
    m: &ModelConfig,
    shared_provider: Option<&str>,
) {
    check_provider(problems, at, m.provider.as_deref());
    let local = match m.provider.as_deref().or(shared_provider) {
        Some(p) => p == PROVIDER_LOCAL,
        None => m.is_local(),
    };
    if !local {
        if m.model_path.is_some() {
            problems.push((
                format!("{at}model_path"),
                "only a model with `provider: local` runs a GGUF file".into(),
            ));
        }
        return;
    }
    let name = m.name.as_deref().unwrap_or_default();
    if m.model_path.as_deref().is_none_or(str::is_empty)
        && !name.is_empty()
        && crate::local::catalog::find(name).is_none()
    {
        problems.push((
            format!("{at}name"),
            format!(
                "no local model is called `{name}`; use one of {} or give `model_path: FILE.gguf`",
                crate::local::catalog::names().join(", ")
            ),
        ));
    }
}

fn check_sampling(problems: &mut Vec<InvalidValue>, at: &str, temperature: Option<f64>, top_p: Option<f64>) {
    if let Some(t) = temperature.filter(|t| !(0.0..=2.0).contains(t)) {
        problems.push((format!("{at}temperature"), format!("must be between 0 and 2, got {t}")));
    }
    if let Some(p) = top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
        problems.push((format!("{at}top_p"), format!("must be above 0 and at most 1, got {p}")));
    }
}

fn check_prices(problems: &mut Vec<InvalidValue>, at: &str, input: Option<f64>, output: Option<f64>) {
    for (key, price) in [("input_cost_per_million_tokens", input), ("output_cost_per_million_tokens", output)]
    {
        if let Some(p) = price.filter(|p| !(p.is_finite() && *p >= 0.0)) {
            problems.push((format!("{at}{key}"), format!("must be 0 or more US dollars, got {p}")));
        }
    }
}

fn check_effort(problems: &mut Vec<InvalidValue>, at: &str, effort: &Option<String>) {
    const EFFORTS: [&str; 4] = ["minimal", "low", "medium", "high"];
    if let Some(e) = effort.as_deref().filter(|e| !EFFORTS.contains(e)) {
        problems.push((
            format!("{at}reasoning_effort"),
            format!("must be one of {}, got `{e}`", EFFORTS.join(", ")),
        ));
    }
}
