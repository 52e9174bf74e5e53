//! The Slurm executor against a real single-node cluster: results equal the
//! local host's; `--gres` GPUs reach the contained worker; Slurm's time
//! limit, its memory limit and an outside
//! scancel become the right failures; dropping an evaluation cancels its
//! job and no other; a new executor uses the results of jobs that finished
//! while none watched, and awaits jobs still running; a job lost to a node
//! failure is resubmitted. One test function: the cluster is started once
//! and stopped by its guard, and the process environment (SLURM_CONF, a
//! fake API key) is set before any thread starts.

mod common;
mod slurm_cluster;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{cache_dir, candidate};
use openevolve_eval::{
    Evaluation, EvaluatorConfig, EvaluatorHost, Executor, ExecutorKind, FailureReason, ProblemFiles,
    SlurmConfig, SlurmExecutor,
};
use slurm_cluster::SlurmCluster;

const SECRET: &str = "sk-slurm-test-must-not-leak-42";

fn problem() -> ProblemFiles {
    ProblemFiles {
        evaluator: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/evaluators/basic.rs"),
        candidate_manifest: None,
    }
}

fn config(shared: &Path) -> EvaluatorConfig {
    EvaluatorConfig {
        timeout: 20.0,
        max_retries: 0,
        cascade_evaluation: false,
        parallel_evaluations: 2,
        executor: ExecutorKind::Slurm,
        slurm: SlurmConfig {
            shared_dir: Some(shared.display().to_string()),
            poll_interval: 0.2,
            result_wait: 2.0,
            job_runner: Some(env!("CARGO_BIN_EXE_openevolve-slurm-job").into()),
            ..SlurmConfig::default()
        },
        ..EvaluatorConfig::default()
    }
}

async fn slurm(config: &EvaluatorConfig, scope: &str) -> Arc<SlurmExecutor> {
    Arc::new(
        SlurmExecutor::prepare(&problem(), config, &cache_dir(), scope)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

/// What must match between executors: everything but wall times, and the
/// thread ids a panic message prints.
fn outcome(e: &Evaluation) -> impl PartialEq + std::fmt::Debug + use<> {
    let artifacts: Vec<(String, String)> =
        e.artifacts.iter().map(|(k, v)| (k.clone(), without_ids(v))).collect();
    (e.metrics.clone(), artifacts, e.failure.clone(), e.stage_reached, e.attempts)
}

/// "thread '<unnamed>' (15615) panicked" -> "thread '<unnamed>' (_) panicked".
fn without_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("' (") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && tail[digits..].starts_with(')') {
            out.push('_');
            rest = &tail[digits..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn reason(e: &Evaluation) -> FailureReason {
    e.failure.as_ref().unwrap_or_else(|| panic!("expected a failure: {e:#?}")).reason
}

fn message(e: &Evaluation) -> &str {
    &e.failure.as_ref().unwrap().message
}

/// The job id recorded for `source`, once submitted.
fn recorded_job(exec: &SlurmExecutor, source: &str) -> Option<u64> {
    std::fs::read_to_string(exec.job_dir(source).join("job")).ok()?.split_whitespace().next()?.parse().ok()
}

async fn until<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls a future a while without finishing it, then forgets it: like a
/// controller that died (no drop, so no scancel) after submitting.
async fn submit_then_vanish(
    fut: impl Future<Output = Evaluation> + Send + 'static,
    exec: &SlurmExecutor,
    source: &str,
) -> u64 {
    let mut fut = Box::pin(fut);
    let job = tokio::select! {
        e = &mut fut => panic!("finished before it could be abandoned: {e:#?}"),
        job = until(Duration::from_secs(120), "the job is submitted", || recorded_job(exec, source)) => job,
    };
    std::mem::forget(fut);
    job
}

#[test]
fn slurm_executor_runs_contains_maps_cancels_and_resumes() {
    if !openevolve_testkit::ready(
        "slurm_executor_runs_contains_maps_cancels_and_resumes",
        &[openevolve_testkit::Prerequisite::SlurmAsRoot],
    ) {
        return;
    }
    let cluster = SlurmCluster::start();
    // SAFETY: no other thread runs yet: the runtime starts below.
    unsafe {
        std::env::set_var("SLURM_CONF", &cluster.conf);
        std::env::set_var("OPENAI_API_KEY", SECRET);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    runtime.block_on(scenarios(&cluster));
}

async fn scenarios(cluster: &SlurmCluster) {
    let shared = cluster.root().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let base = config(&shared);

    // Slurm's own time limit (whole minutes, checked every ~30 s): the
    // longest case, so it runs beside all the others.
    let time_limited = EvaluatorConfig {
        timeout: 600.0,
        slurm: SlurmConfig { time_limit: Some("1".into()), ..base.slurm.clone() },
        ..base.clone()
    };
    let timeout_case = {
        let exec = slurm(&time_limited, "time-limit").await;
        tokio::spawn(async move {
            let start = Instant::now();
            let e = exec.evaluate(candidate("loop_forever")).await;
            (e, start.elapsed())
        })
    };

    let exec = slurm(&base, "main").await;
    let local_config = EvaluatorConfig { executor: ExecutorKind::Local, ..base.clone() };
    let local = Arc::new(EvaluatorHost::prepare(&problem(), &local_config, &cache_dir()).await.unwrap());

    // 1. The same candidates give the same results as the local host:
    // scores, a panic, a build error, and no API key in the job.
    for name in ["good", "panic", "read_secret", "compile_error"] {
        let (remote, here) =
            tokio::join!(exec.clone().evaluate(candidate(name)), local.clone().evaluate(candidate(name)));
        assert_eq!(outcome(&remote), outcome(&here), "{name}: slurm {remote:#?} local {here:#?}");
        assert!(!format!("{remote:?}").contains(SECRET));
    }
    let secret = exec.clone().evaluate(candidate("read_secret") + "// again\n").await;
    assert_eq!(secret.metrics["combined_score"], 1.0, "{secret:#?}");
    assert!(secret.artifacts["stdout"].contains("run time: None, build time: None"), "{secret:#?}");
    // Nothing of the submitter's environment went into the job's files.
    for entry in walk(exec.run_dir()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "{} holds the key",
            entry.display()
        );
    }

    // GPUs: `--gres=gpu:1` gives the job one device, and the contained
    // worker sees Slurm's choice (its environment is otherwise clean).
    let gpu = EvaluatorConfig {
        slurm: SlurmConfig { gres: Some("gpu:1".into()), ..base.slurm.clone() },
        ..base.clone()
    };
    let (on_gpu, without) = tokio::join!(
        async { slurm(&gpu, "gpu").await.evaluate(candidate("read_devices")).await },
        exec.clone().evaluate(candidate("read_devices")),
    );
    let seen = &on_gpu.artifacts["stdout"];
    assert!(
        seen.contains("CUDA_VISIBLE_DEVICES=Some(\"0\")")
            || seen.contains("CUDA_VISIBLE_DEVICES=Some(\"1\")"),
        "{on_gpu:#?}"
    );
    assert!(without.artifacts["stdout"].contains("CUDA_VISIBLE_DEVICES=None"), "{without:#?}");

    // An evaluator given as a crate folder (with a module) runs as well.
    let crate_problem = cluster.root().join("crate-problem");
    std::fs::create_dir_all(crate_problem.join("src")).unwrap();
    std::fs::write(
        crate_problem.join("Cargo.toml"),
        "[package]\nname = \"crate-evaluator\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(crate_problem.join("src/halve.rs"), "pub fn halve(x: f64) -> f64 { x / 2.0 }\n").unwrap();
    std::fs::write(
        crate_problem.join("src/main.rs"),
        "mod halve;\n\
         use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};\n\
         fn evaluate(c: &Candidate) -> Result<EvaluationResult, CandidateError> {\n\
             let run = openevolve_sdk::candidate_fn!(c, run: fn() -> f64)?;\n\
             Ok(EvaluationResult::new().metric(\"combined_score\", halve::halve(run())))\n\
         }\n\
         openevolve_sdk::evaluator!(evaluate);\n",
    )
    .unwrap();
    let files = ProblemFiles { evaluator: crate_problem, candidate_manifest: None };
    let crate_exec = Arc::new(
        SlurmExecutor::prepare(&files, &base, &cache_dir(), "crate").await.unwrap_or_else(|e| panic!("{e}")),
    );
    let halved = crate_exec.evaluate(candidate("good")).await;
    assert_eq!(halved.metrics.get("combined_score"), Some(&0.5), "{halved:#?}");

    // 2. Memory: the worker's own limit (RLIMIT_AS) inside the job, and
    // Slurm's (--mem, enforced here by sampling) when the job outgrows it.
    let rlimited = EvaluatorConfig { memory_limit_mb: Some(64), ..base.clone() };
    let slurm_mem = EvaluatorConfig {
        slurm: SlurmConfig { memory: Some("150M".into()), ..base.slurm.clone() },
        ..base.clone()
    };
    let (by_rlimit, by_slurm) = tokio::join!(
        async { slurm(&rlimited, "rlimit").await.evaluate(candidate("allocate")).await },
        async { slurm(&slurm_mem, "slurm-mem").await.evaluate(candidate("grow_slowly")).await },
    );
    assert_eq!(reason(&by_rlimit), FailureReason::MemoryLimit, "{by_rlimit:#?}");
    assert_eq!(reason(&by_slurm), FailureReason::MemoryLimit, "{by_slurm:#?}");
    assert!(
        message(&by_slurm).contains("Slurm killed job") && message(&by_slurm).contains("--mem=150M"),
        "{by_slurm:#?}"
    );

    // 3. A job cancelled from outside is a failure that says so.
    let forever = EvaluatorConfig { timeout: 600.0, ..base.clone() };
    let long = slurm(&forever, "forever").await;
    let src = candidate("loop_forever");
    let task = tokio::spawn(long.clone().evaluate(src.clone()));
    let job = until(Duration::from_secs(60), "job recorded", || recorded_job(&long, &src)).await;
    until(Duration::from_secs(60), "job running", || (cluster.job_state(job)? == "RUNNING").then_some(()))
        .await;
    assert!(cluster.command("scancel").arg(job.to_string()).status().unwrap().success());
    let cancelled = tokio::time::timeout(Duration::from_secs(60), task).await.expect("reported").unwrap();
    assert_eq!(reason(&cancelled), FailureReason::WorkerFailed, "{cancelled:#?}");
    assert!(message(&cancelled).contains("cancelled outside this run"), "{cancelled:#?}");

    // 4. Dropping an evaluation (Ctrl-C) cancels its job, and only its job.
    let foreign = cluster.submit_foreign_job();
    let src = candidate("loop_forever") + "// dropped\n";
    let task = tokio::spawn(long.clone().evaluate(src.clone()));
    let job = until(Duration::from_secs(60), "job recorded", || recorded_job(&long, &src)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    until(Duration::from_secs(30), "the dropped evaluation's job is cancelled", || {
        (cluster.job_state(job)? == "CANCELLED").then_some(())
    })
    .await;
    let abandoned = std::fs::read_to_string(long.job_dir(&src).join("abandoned")).unwrap();
    assert_eq!(abandoned.trim(), job.to_string());
    let foreign_state = cluster.job_state(foreign).unwrap();
    assert!(
        ["PENDING", "RUNNING"].contains(&foreign_state.as_str()),
        "foreign job {foreign}: {foreign_state}"
    );
    assert!(cluster.command("scancel").arg(foreign.to_string()).status().unwrap().success());
    // A later evaluation of that source resubmits instead of reporting the
    // cancellation it caused itself.
    let dropped_then_again = {
        let again = slurm(&forever, "forever").await;
        let task = tokio::spawn(again.clone().evaluate(src.clone()));
        let next = until(Duration::from_secs(60), "resubmitted", || {
            recorded_job(&again, &src).filter(|j| *j != job)
        })
        .await;
        task.abort();
        let _ = task.await;
        next
    };
    assert_ne!(dropped_then_again, job);

    // 5. Resume: an executor that vanished after submitting; a new one for
    // the same run uses the finished job's result and submits nothing.
    let fresh = candidate("good") + "// resumed\n";
    let first = submit_then_vanish(exec.clone().evaluate(fresh.clone()), &exec, &fresh).await;
    until(Duration::from_secs(60), "the abandoned job finishes", || {
        exec.job_dir(&fresh).join(format!("result-{first}.json")).is_file().then_some(())
    })
    .await;
    let jobs_before = cluster.all_jobs().len();
    let resumed = slurm(&base, "main").await;
    assert_eq!(resumed.run_dir(), exec.run_dir());
    let reused = resumed.clone().evaluate(fresh.clone()).await;
    assert_eq!(outcome(&reused), outcome(&local.clone().evaluate(fresh.clone()).await));
    assert_eq!(cluster.all_jobs().len(), jobs_before, "no job submitted for a finished result");
    let events = std::fs::read_to_string(exec.run_dir().join("events.log")).unwrap();
    assert!(events.contains(&format!("reused job {first}")), "{events}");
    // Handed out once: evaluating it again runs a new job.
    let again = resumed.clone().evaluate(fresh.clone()).await;
    assert_eq!(outcome(&again), outcome(&reused));
    assert_ne!(recorded_job(&resumed, &fresh), Some(first));

    // ... and a job still running is awaited, not submitted twice.
    let slow = candidate("sleepy");
    let running = submit_then_vanish(exec.clone().evaluate(slow.clone()), &exec, &slow).await;
    let jobs_before = cluster.all_jobs().len();
    let awaited = resumed.clone().evaluate(slow.clone()).await;
    assert!(awaited.is_ok(), "{awaited:#?}");
    assert_eq!(cluster.all_jobs().len(), jobs_before);
    let events = std::fs::read_to_string(exec.run_dir().join("events.log")).unwrap();
    assert!(events.contains(&format!("awaiting job {running}")), "{events}");

    // 6. Slurm's time limit (started first, above).
    let (timed_out, took) = timeout_case.await.unwrap();
    assert_eq!(reason(&timed_out), FailureReason::Timeout, "{timed_out:#?}");
    assert!(message(&timed_out).contains("time limit (--time=1)"), "{timed_out:#?}");
    assert!(took < Duration::from_secs(300), "{took:?}");

    // 7. A node failure: the job is lost and resubmitted, once, under a new
    // id; the evaluation then completes. Last, alone: it downs the node.
    let node_fail = slurm(&base, "node-fail").await;
    let src = candidate("sleepy") + "// node failure\n";
    let task = tokio::spawn(node_fail.clone().evaluate(src.clone()));
    let job = until(Duration::from_secs(60), "job recorded", || recorded_job(&node_fail, &src)).await;
    until(Duration::from_secs(60), "job running", || (cluster.job_state(job)? == "RUNNING").then_some(()))
        .await;
    let node = String::from_utf8(cluster.command("hostname").arg("-s").output().unwrap().stdout).unwrap();
    let set_node = |state: &str| {
        let mut cmd = cluster.command("scontrol");
        cmd.args(["update", &format!("nodename={}", node.trim()), &format!("state={state}")]);
        if state == "down" {
            cmd.arg("reason=test");
        }
        cmd.output().unwrap()
    };
    assert!(set_node("down").status.success());
    until(Duration::from_secs(60), "the job fails with its node", || {
        (cluster.job_state(job)? == "NODE_FAIL").then_some(())
    })
    .await;
    // ReturnToService=2 may bring the node back on its own (slurmd still
    // answers); then `resume` is refused as a no-op, which is fine.
    let _ = set_node("resume");
    until(Duration::from_secs(60), "the node is back", || {
        let out = cluster.command("sinfo").args(["-h", "-o", "%t"]).output().ok()?;
        let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        ["idle", "mix", "alloc"].contains(&state.as_str()).then_some(())
    })
    .await;
    let survived = tokio::time::timeout(Duration::from_secs(120), task).await.expect("finishes").unwrap();
    assert!(survived.is_ok(), "{survived:#?}");
    let second = recorded_job(&node_fail, &src).unwrap();
    assert_ne!(second, job);
    let record = std::fs::read_to_string(node_fail.job_dir(&src).join("job")).unwrap();
    assert_eq!(record.trim(), format!("{second} 2"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
