//! The `executor:` and `slurm:` keys: defaults, parsing, and the checks
//! that run before any job is submitted.

use openevolve_eval::{EvaluatorConfig, ExecutorKind, SlurmConfig, SlurmExecutor};

fn problems(config: &EvaluatorConfig) -> Vec<String> {
    config.validate().into_iter().map(|(k, m)| format!("{k}: {m}")).collect()
}

#[test]
fn local_is_the_default_and_needs_no_slurm_settings() {
    let c = EvaluatorConfig::default();
    assert_eq!(c.executor, ExecutorKind::Local);
    assert_eq!(c.slurm, SlurmConfig::default());
    assert!(problems(&c).is_empty());
}

#[test]
fn the_slurm_section_parses_from_yaml_shaped_json() {
    let c: EvaluatorConfig = serde_json::from_value(serde_json::json!({
        "executor": "slurm",
        "slurm": {
            "shared_dir": "/shared/openevolve",
            "partition": "gpu",
            "gres": "gpu:1",
            "time_limit": "1:00:00",
            "extra_args": ["--qos=short"]
        }
    }))
    .unwrap();
    assert_eq!(c.executor, ExecutorKind::Slurm);
    assert_eq!(c.slurm.gres.as_deref(), Some("gpu:1"));
    assert_eq!(c.slurm.extra_args, ["--qos=short"]);
    assert_eq!(c.slurm.cpus_per_task, 1, "unset keys keep their defaults");
    assert!(problems(&c).is_empty(), "{:?}", problems(&c));

    let typo = serde_json::from_value::<EvaluatorConfig>(serde_json::json!({"slurm": {"partitoin": "gpu"}}));
    assert!(typo.unwrap_err().to_string().contains("partitoin"));
    let unknown = serde_json::from_value::<EvaluatorConfig>(serde_json::json!({"executor": "kubernetes"}));
    assert!(unknown.is_err());
}

#[test]
fn slurm_settings_are_checked_only_for_the_slurm_executor() {
    let bad = SlurmConfig {
        shared_dir: None,
        cpus_per_task: 0,
        poll_interval: 0.0,
        result_wait: -1.0,
        job_name_prefix: "has space".into(),
        ..SlurmConfig::default()
    };
    let local = EvaluatorConfig { slurm: bad.clone(), ..EvaluatorConfig::default() };
    assert!(problems(&local).is_empty());

    let slurm =
        EvaluatorConfig { executor: ExecutorKind::Slurm, in_process: true, slurm: bad, ..Default::default() };
    let found = problems(&slurm);
    for key in [
        "slurm.shared_dir",
        "slurm.cpus_per_task",
        "slurm.poll_interval",
        "slurm.result_wait",
        "slurm.job_name_prefix",
        "in_process",
    ] {
        assert!(found.iter().any(|p| p.starts_with(&format!("{key}:"))), "no problem for {key}: {found:?}");
    }
}

#[tokio::test]
async fn prepare_refuses_a_bad_config_before_building_anything() {
    let problem =
        openevolve_eval::ProblemFiles { evaluator: "no/such/evaluator.rs".into(), candidate_manifest: None };
    let cache = tempfile::tempdir().unwrap();
    let local = EvaluatorConfig::default();
    let err = SlurmExecutor::prepare(&problem, &local, cache.path(), "scope").await.err().expect("refused");
    assert!(err.to_string().contains("evaluator.executor must be `slurm`"), "{err}");

    let slurm = EvaluatorConfig {
        executor: ExecutorKind::Slurm,
        slurm: SlurmConfig {
            shared_dir: Some(cache.path().display().to_string()),
            job_runner: Some("no/such/openevolve-slurm-job".into()),
            ..SlurmConfig::default()
        },
        ..EvaluatorConfig::default()
    };
    let err = SlurmExecutor::prepare(&problem, &slurm, cache.path(), "scope").await.err().expect("refused");
    assert!(err.to_string().contains("cannot find the job runner"), "{err}");
}
