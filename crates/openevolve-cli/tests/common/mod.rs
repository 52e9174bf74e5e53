//! Shared by the end-to-end tests: the `openevolve` binary, a scripted
//! OpenAI-compatible server on 127.0.0.1, and a look into a run's database.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use openevolve_testkit::{Reply, ScriptedLlm};

pub fn openevolve() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openevolve"));
    cmd.env_remove("OPENAI_API_KEY").env_remove("RUST_LOG");
    cmd
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `openevolve run` on `examples/<name>` with `config`, writing to `output`,
/// asking the scripted server `llm`; callers add flags and run it.
pub fn run_example(name: &str, config: &Path, output: &Path, llm: &ScriptedLlm) -> Command {
    let mut cmd = run_problem(name, config, output);
    cmd.args(["--model", "scripted", "--api-base", &llm.api_base]);
    cmd
}

/// `openevolve run` on example `name` with the config's own models and the
/// shared cache.
pub fn run_problem(name: &str, config: &Path, output: &Path) -> Command {
    let dir = repo_root().join("examples").join(name);
    let mut cmd = openevolve();
    cmd.arg("run")
        .arg(dir.join("initial.rs"))
        .arg(dir.join("evaluator.rs"))
        .arg("--config")
        .arg(config)
        .arg("--output")
        .arg(output)
        .arg("--cache-dir")
        .arg(cache_dir());
    cmd
}

/// `openevolve eval PROGRAM EVALUATOR --config CONFIG --json` with the
/// shared cache: whether it succeeded, and the evaluation it printed.
pub fn eval_any(program: &Path, evaluator: &Path, config: &Path) -> (bool, serde_json::Value) {
    eval_with(program, evaluator, config, &[])
}

/// `eval_any` with `--manifest MANIFEST`, once the command succeeded.
pub fn eval_json(program: &Path, evaluator: &Path, config: &Path, manifest: &Path) -> serde_json::Value {
    let (ok, evaluation) =
        eval_with(program, evaluator, config, &["--manifest".as_ref(), manifest.as_os_str()]);
    assert!(ok, "{}: failed\n{evaluation:#}", program.display());
    evaluation
}

fn eval_with(
    program: &Path,
    evaluator: &Path,
    config: &Path,
    extra: &[&std::ffi::OsStr],
) -> (bool, serde_json::Value) {
    let out = openevolve()
        .arg("eval")
        .arg(program)
        .arg(evaluator)
        .arg("--config")
        .arg(config)
        .args(extra)
        .arg("--json")
        // Relative on purpose: builds run elsewhere, and must still find it.
        .current_dir(cache_dir().parent().expect("the cache has a parent"))
        .arg("--cache-dir")
        .arg(cache_dir().file_name().expect("the cache has a name"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let evaluation = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: exit {:?}\n{stdout}\n{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), evaluation)
}

/// An MLX training example (`examples/<name>`) with its evaluator crate.
pub struct TrainingExample(pub &'static str);

impl TrainingExample {
    pub fn dir(&self) -> PathBuf {
        repo_root().join("examples").join(self.0)
    }

    /// The example's config with one trial of each variant instead of two.
    pub fn one_trial_config(&self, tmp: &Path) -> PathBuf {
        let text = std::fs::read_to_string(self.dir().join("config.yaml")).unwrap();
        assert!(text.contains("    trials: 2\n"), "the example's config changed: update this test");
        write_config(tmp, &text.replace("    trials: 2\n", "    trials: 1\n"))
    }

    /// `openevolve eval` of `program` (relative to the example), its summary
    /// or rejection printed.
    pub fn evaluate(&self, program: &str, config: &Path) -> serde_json::Value {
        let dir = self.dir();
        let evaluation =
            eval_json(&dir.join(program), &dir.join("evaluator"), config, &dir.join("candidate.toml"));
        eprintln!(
            "{program}: {}",
            evaluation["artifacts"]["summary"]
                .as_str()
                .or(evaluation["artifacts"]["rejected"].as_str())
                .unwrap_or("")
        );
        evaluation
    }
}

/// A metric of an evaluation's JSON.
pub fn metric(e: &serde_json::Value, name: &str) -> f64 {
    e["metrics"][name].as_f64().unwrap_or_else(|| panic!("no metric {name}: {e:#}"))
}

/// One build cache for every test of this binary: the SDK is built once.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openevolve-cli-cache")
}

/// A read-only look at a run's database.
pub fn query<T>(db: &Path, sql: &str, row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>) -> Vec<T> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open db");
    let mut stmt = conn.prepare(sql).expect("valid sql");
    stmt.query_map([], row).expect("query").collect::<Result<_, _>>().expect("rows")
}

/// Iterations (after the initial program) committed so far; 0 while the
/// run has not created its database and tables yet.
pub fn committed_iterations(db: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM iterations WHERE iteration > 0", [], |r| r.get(0)).unwrap_or(0)
}

/// Polls `condition` until it holds or `limit` passes.
pub fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// Copies example `name`'s problem files (initial.rs, evaluator.rs and,
/// where it has one, candidate.toml) into `dir`.
pub fn copy_example(name: &str, dir: &Path) {
    let example = repo_root().join("examples").join(name);
    for file in ["initial.rs", "evaluator.rs", "candidate.toml"] {
        if example.join(file).is_file() {
            std::fs::copy(example.join(file), dir.join(file)).unwrap();
        }
    }
}

/// Writes `config.yaml` text into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Scripted text answers, in order.
pub fn replies(texts: &[&str]) -> Vec<Reply> {
    texts.iter().map(|s| Reply::Text(s.to_string())).collect()
}

/// A short run on one island, one evaluation at a time: a parent is always
/// the program the script expects, and runs are reproducible. Without
/// repair turns, so each answer of the script is one iteration.
pub const SEQUENTIAL_CONFIG: &str = "\
max_iterations: 6
checkpoint_interval: 2
random_seed: 7
repair_turns: 0
llm:
  retries: 0
  timeout: 30
database:
  num_islands: 1
  population_size: 100
evaluator:
  timeout: 30
  cascade_evaluation: false
  parallel_evaluations: 1
";

/// Scripted answers for examples/function_minimization, shared by the
/// end-to-end tests: an improvement, a build error, no blocks, a cheat.
pub const REFINE: &str = r#"Let me spend half the budget refining around the best point.

<<<<<<< SEARCH
    for _ in 1..budget {
        let x = rng.gen_range(-5.0..5.0);
        let y = rng.gen_range(-5.0..5.0);
        let value = objective(x, y);
        if value < best.2 {
            best = (x, y, value);
        }
    }
    best
=======
    // Half the budget explores, half refines around the best point.
    let explore = budget / 2;
    for _ in 1..explore {
        let x = rng.gen_range(-5.0..5.0);
        let y = rng.gen_range(-5.0..5.0);
        let value = objective(x, y);
        if value < best.2 {
            best = (x, y, value);
        }
    }
    let mut step = 0.5;
    for _ in explore..budget {
        let x = (best.0 + rng.gen_range(-step..step)).clamp(-5.0, 5.0);
        let y = (best.1 + rng.gen_range(-step..step)).clamp(-5.0, 5.0);
        let value = objective(x, y);
        if value < best.2 {
            best = (x, y, value);
        } else {
            step = (step * 0.995_f64).max(1e-4);
        }
    }
    best
>>>>>>> REPLACE
"#;

pub const BREAKS_THE_BUILD: &str =
    "<<<<<<< SEARCH\n    best\n=======\n    best.no_such_method()\n>>>>>>> REPLACE\n";
pub const NO_BLOCKS: &str = "The program looks fine to me as it is.";
pub const CHEATS: &str =
    "<<<<<<< SEARCH\n    best\n=======\n    (best.0, best.1, best.2 - 10.0)\n>>>>>>> REPLACE\n";

/// A full rewrite of function_minimization's search, as a small model
/// writes many: explore `explore` of the budget at random, then refine
/// around the best point with a step named `step` that starts at `first_step`
/// and shrinks on misses. `{n}` in any part becomes the request's number
/// (see `ScriptedLlm`), so answers can differ in numbers; `note` and `step`
/// change the code but not what it does.
pub fn refining_search(explore: &str, first_step: &str, step: &str, note: &str) -> String {
    format!(
        "```rust
pub fn search(budget: usize, rng: &mut SmallRng) -> (f64, f64, f64) {{
    // {note}
    let mut best = (0.0, 0.0, objective(0.0, 0.0));
    let explore = {explore};
    for _ in 1..explore {{
        let x = rng.gen_range(-5.0..5.0);
        let y = rng.gen_range(-5.0..5.0);
        let value = objective(x, y);
        if value < best.2 {{
            best = (x, y, value);
        }}
    }}
    let mut {step} = {first_step};
    for _ in explore.max(1)..budget {{
        let x = (best.0 + rng.gen_range(-{step}..{step})).clamp(-5.0, 5.0);
        let y = (best.1 + rng.gen_range(-{step}..{step})).clamp(-5.0, 5.0);
        let value = objective(x, y);
        if value < best.2 {{
            best = (x, y, value);
        }} else {{
            {step} = ({step} * 0.995_f64).max(1e-4);
        }}
    }}
    best
}}
```
"
    )
}
