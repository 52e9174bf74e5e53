//! `openevolve run` with `evaluator.executor: slurm` on a real single-node
//! Slurm cluster (started here, stopped by its guard): an evolution of
//! examples/function_minimization stores exactly what the local executor
//! stores; a controller killed with SIGKILL and resumed uses the results of
//! the jobs that finished meanwhile; Ctrl-C cancels this run's jobs and no
//! other. One test function: one cluster.

mod common;
#[path = "../../openevolve-eval/tests/slurm_cluster/mod.rs"]
mod slurm_cluster;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use slurm_cluster::SlurmCluster;

const SECRET: &str = "sk-cli-slurm-test-must-not-leak";

/// A new child on every request (`{n}` is the request number), which also
/// behaves differently (a point moved by n·1e-12, its value recomputed), so
/// the example's behaviour fingerprint does not take it for a duplicate.
const VARIANT: &str = "<<<<<<< SEARCH\n    best\n=======\n    let x = best.0 - 1e-12 * {n} as f64;\n    let best = (x, best.1, objective(x, best.1));\n    best\n>>>>>>> REPLACE\n";
/// A full rewrite (`diff_based_evolution: false`) whose child does not
/// depend on the parent: request `{n}` always gives the same program.
const REWRITE: &str = "```rust
// EVOLVE-BLOCK-START
pub fn search(budget: usize, rng: &mut SmallRng) -> (f64, f64, f64) {
    // rewrite {n}: every x moved by n·1e-9, so its own behaviour
    let mut best = (0.0, 0.0, objective(0.0, 0.0));
    for _ in 1..budget {
        let x = rng.gen_range(-5.0 + 1e-9 * {n} as f64..5.0);
        let y = rng.gen_range(-5.0..5.0);
        let value = objective(x, y);
        if value < best.2 {
            best = (x, y, value);
        }
    }
    best
}
// EVOLVE-BLOCK-END
```
";
/// A child that never returns: its job runs until stopped.
const HANGS: &str = "<<<<<<< SEARCH\n    best\n=======\n    loop {\n        std::hint::black_box(&best);\n    }\n>>>>>>> REPLACE\n";

fn slurm_config(base: &str, shared: &Path, runner: &Path) -> String {
    format!(
        "{base}  executor: slurm\n  slurm:\n    shared_dir: {}\n    poll_interval: 0.2\n    result_wait: 2\n    \
         job_name_prefix: oe-cli\n    job_runner: {}\n",
        shared.display(),
        runner.display()
    )
}

/// Builds `openevolve-slurm-job` (a binary of openevolve-eval, which this
/// package's tests do not build) and returns its path.
fn job_runner() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["build", "-p", "openevolve-eval", "--bin", "openevolve-slurm-job", "--message-format=json"])
        .current_dir(repo_root())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building the job runner failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "openevolve-slurm-job")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the job runner")
}

fn openevolve_run(
    config: &Path,
    output: &Path,
    llm: &ScriptedLlm,
    cluster: &SlurmCluster,
    extra: &[&str],
) -> Command {
    let dir = repo_root().join("examples/function_minimization");
    let mut cmd = openevolve();
    cmd.arg("run")
        .arg(dir.join("initial.rs"))
        .arg(dir.join("evaluator.rs"))
        .arg("--config")
        .arg(config)
        .arg("--output")
        .arg(output)
        .args(["--quiet", "--model", "scripted", "--api-base", &llm.api_base, "--cache-dir"])
        .arg(cache_dir())
        .args(extra)
        .env("SLURM_CONF", &cluster.conf)
        // A key in the controller's environment must reach no job.
        .env("OPENAI_API_KEY", SECRET);
    cmd
}

fn finish(cmd: &mut Command) {
    let out = cmd.output().expect("openevolve runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A run's stored content: programs, their artifacts, the iteration log
/// (everything but times and token counts).
fn content(db: &Path) -> Vec<String> {
    let mut rows = query(
        db,
        "SELECT id, code, parent_id, island, generation, iteration_found, metrics, fitness, features, cell_key, \
         mutation, prompt FROM programs ORDER BY id",
        |r| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    (r.get::<_, i64>(3)?, r.get::<_, i64>(4)?, r.get::<_, i64>(5)?),
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<f64>>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, String>(10)?,
                    r.get::<_, Option<String>>(11)?,
                )
            ))
        },
    );
    rows.extend(query(db, "SELECT program_id, name, inline FROM artifacts ORDER BY program_id, name", |r| {
        Ok(format!("{:?}", (r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<Vec<u8>>>(2)?)))
    }));
    rows.extend(query(
        db,
        "SELECT iteration, island, parent_id, child_id, outcome, message FROM iterations ORDER BY iteration",
        |r| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                )
            ))
        },
    ));
    rows
}

/// The job directories (`<shared>/run-*/<source hash>/`) with a job.
fn job_dirs(shared: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for run in std::fs::read_dir(shared).unwrap().flatten() {
        for job in std::fs::read_dir(run.path()).unwrap().flatten() {
            if job.path().join("job").is_file() {
                dirs.push(job.path());
            }
        }
    }
    dirs
}

fn recorded(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("job")).unwrap().split_whitespace().next().unwrap().parse().unwrap()
}

fn contains_secret(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let found = if path.is_dir() {
            contains_secret(&path)
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()).then_some(path)
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

#[test]
fn evolution_on_slurm_equals_local_resumes_after_sigkill_and_cancels_on_ctrl_c() {
    if !openevolve_testkit::ready(
        "evolution_on_slurm_equals_local_resumes_after_sigkill_and_cancels_on_ctrl_c",
        &[openevolve_testkit::Prerequisite::SlurmAsRoot],
    ) {
        return;
    }
    let runner = job_runner();
    let cluster = SlurmCluster::start();
    let tmp = tempfile::tempdir().unwrap();

    // 1. The same evolution, local and on Slurm, stores the same content.
    let script = replies(&[REFINE, BREAKS_THE_BUILD, VARIANT, "No change needed.", VARIANT, VARIANT]);
    let shared = cluster.root().join("shared-equal");
    std::fs::create_dir_all(&shared).unwrap();
    let local_cfg = write_config(&tmp.path().join("local-cfg").tap_mkdir(), SEQUENTIAL_CONFIG);
    let slurm_cfg = write_config(
        &tmp.path().join("slurm-cfg").tap_mkdir(),
        &slurm_config(SEQUENTIAL_CONFIG, &shared, &runner),
    );
    let local_out = tmp.path().join("local");
    let slurm_out = tmp.path().join("slurm");
    let llm = ScriptedLlm::start(script.clone(), 0, Duration::ZERO);
    finish(&mut openevolve_run(&local_cfg, &local_out, &llm, &cluster, &[]));
    let llm = ScriptedLlm::start(script.clone(), 0, Duration::ZERO);
    let jobs_before = cluster.all_jobs().len();
    finish(&mut openevolve_run(&slurm_cfg, &slurm_out, &llm, &cluster, &[]));
    let local = content(&local_out.join("evolution.db"));
    assert_eq!(content(&slurm_out.join("evolution.db")), local);
    // Every evaluated program went through a job: the initial one, the
    // refined child and the variants (not the build failure).
    let evaluated = job_dirs(&shared).len();
    assert!(evaluated >= 4, "{evaluated} job directories");
    assert_eq!(cluster.all_jobs().len() - jobs_before, evaluated);
    assert!(local.iter().any(|row| row.contains("build_failed")), "{local:#?}");
    assert_eq!(contains_secret(&shared), None);

    // 2. SIGKILL while a job is in flight; the job finishes without a
    // controller; the resumed run uses its result instead of a new job.
    let shared = cluster.root().join("shared-kill");
    std::fs::create_dir_all(&shared).unwrap();
    let kill_cfg = write_config(
        &tmp.path().join("kill-cfg").tap_mkdir(),
        // Rewrites: the child of an iteration is the same whichever parent
        // the resumed run samples.
        &slurm_config(
            &SEQUENTIAL_CONFIG.replace("max_iterations: 6", "max_iterations: 8\ndiff_based_evolution: false"),
            &shared,
            &runner,
        ),
    );
    let out = tmp.path().join("killed");
    let db = out.join("evolution.db");
    let script = replies(&[REWRITE]);
    let llm = ScriptedLlm::start(script.clone(), 0, Duration::ZERO);
    let mut child =
        openevolve_run(&kill_cfg, &out, &llm, &cluster, &[]).stderr(Stdio::null()).spawn().unwrap();
    assert!(
        wait_for(Duration::from_secs(120), || committed_iterations(&db) >= 2),
        "two iterations committed"
    );
    // In flight: known to Slurm and no result written yet, so the controller
    // cannot have taken its result before the kill. (A job Slurm still lists
    // while it completes may already be reported.)
    let in_flight = || {
        let active = cluster.active_jobs();
        job_dirs(&shared).iter().any(|d| {
            let job = recorded(d);
            active.contains(&job) && !d.join(format!("result-{job}.json")).is_file()
        })
    };
    assert!(wait_for(Duration::from_secs(60), in_flight), "a job in flight: {:?}", {
        query(&db, "SELECT iteration, outcome, message FROM iterations", |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
        })
    });
    child.kill().unwrap(); // SIGKILL: no cleanup, no scancel
    child.wait().unwrap();
    assert!(
        wait_for(Duration::from_secs(60), || cluster.active_jobs().is_empty()),
        "the orphaned job finishes"
    );
    let finished_unreported: Vec<(PathBuf, u64)> = job_dirs(&shared)
        .into_iter()
        .map(|d| {
            let job = recorded(&d);
            (d, job)
        })
        .filter(|(d, job)| d.join(format!("result-{job}.json")).is_file() && !d.join("reported").exists())
        .collect();
    assert_eq!(finished_unreported.len(), 1, "one job finished while no controller ran");
    let (orphan_dir, orphan) = finished_unreported[0].clone();
    let done = committed_iterations(&db) as usize;
    let jobs_before = cluster.all_jobs().len();
    let llm = ScriptedLlm::start(script, done, Duration::ZERO);
    finish(&mut openevolve_run(&kill_cfg, &out, &llm, &cluster, &["--checkpoint", out.to_str().unwrap()]));
    let events = std::fs::read_to_string(orphan_dir.parent().unwrap().join("events.log")).unwrap();
    let codes: Vec<(i64, String)> =
        query(&db, "SELECT iteration_found, code FROM programs ORDER BY id", |r| Ok((r.get(0)?, r.get(1)?)));
    let orphan_source = std::fs::read_to_string(orphan_dir.join("source.rs")).unwrap();
    assert!(
        events.contains(&format!("reused job {orphan} ")),
        "{events}\ncommitted before the kill: {done}\norphan:\n{orphan_source}\nprograms: {codes:#?}"
    );
    assert_eq!(recorded(&orphan_dir), orphan, "not resubmitted");
    assert_eq!(std::fs::read_to_string(orphan_dir.join("reported")).unwrap().trim(), orphan.to_string());
    let iterations: Vec<(i64, String)> =
        query(&db, "SELECT iteration, outcome FROM iterations ORDER BY iteration", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    assert_eq!(iterations.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..=8).collect::<Vec<_>>());
    // Each new job belongs to an iteration the first controller never reached.
    assert_eq!(cluster.all_jobs().len() - jobs_before, 8 - done - 1, "{iterations:?}");

    // 3. Ctrl-C (twice: no grace) cancels this run's running job; another
    // user's job on the same cluster keeps running.
    let foreign = cluster.submit_foreign_job();
    let shared = cluster.root().join("shared-ctrl-c");
    std::fs::create_dir_all(&shared).unwrap();
    let cfg = write_config(
        &tmp.path().join("ctrl-c-cfg").tap_mkdir(),
        &slurm_config(
            &SEQUENTIAL_CONFIG.replace("timeout: 30\n  cascade", "timeout: 600\n  cascade"),
            &shared,
            &runner,
        ),
    );
    let out = tmp.path().join("ctrl-c");
    let llm = ScriptedLlm::start(replies(&[HANGS]), 0, Duration::ZERO);
    let child = openevolve_run(&cfg, &out, &llm, &cluster, &[]).stderr(Stdio::null()).spawn().unwrap();
    let hanging = || {
        let hangs =
            |d: &PathBuf| std::fs::read_to_string(d.join("source.rs")).is_ok_and(|s| s.contains("loop {"));
        let running = |j: &u64| cluster.job_state(*j).as_deref() == Some("RUNNING");
        job_dirs(&shared).into_iter().filter(hangs).map(|d| recorded(&d)).find(running)
    };
    assert!(wait_for(Duration::from_secs(120), || hanging().is_some()), "the hanging child's job runs");
    let ours = hanging().unwrap();
    // One SIGINT: the controller waits its grace for the hanging evaluation,
    // then drops it, which cancels the job.
    // SAFETY: kill(2) on the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(130));
    assert!(
        wait_for(Duration::from_secs(30), || cluster.job_state(ours).as_deref() == Some("CANCELLED")),
        "job {ours}: {:?}",
        cluster.job_state(ours)
    );
    assert_eq!(cluster.job_state(foreign).as_deref(), Some("RUNNING"), "another job was cancelled");
    assert!(cluster.command("scancel").arg(foreign.to_string()).status().unwrap().success());
}

trait MkDir {
    fn tap_mkdir(self) -> PathBuf;
}

impl MkDir for PathBuf {
    /// Creates the directory and returns it.
    fn tap_mkdir(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
