//! Loading config.yaml: defaults, the documented default file, env expansion,
//! and every kind of validation error, each naming its key and line.

use std::path::{Path, PathBuf};

use openevolve::config::{Config, ConfigError, ConfigProblem, FeatureBins};

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(yaml: &str) -> Result<openevolve::LoadedConfig, ConfigError> {
    Config::from_yaml_str_with_env(yaml, Path::new("test.yaml"), &no_env)
}

/// The problems of a config that must fail.
fn problems(yaml: &str) -> Vec<ConfigProblem> {
    match load(yaml) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected an invalid config, got {other:?}"),
    }
}

fn only_problem(yaml: &str) -> ConfigProblem {
    let mut p = problems(yaml);
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn resolved_default() -> Config {
    let mut c = Config::default();
    c.resolve();
    c
}

#[test]
fn an_empty_file_means_all_defaults() {
    let loaded = load("").unwrap();
    assert_eq!(loaded.config, resolved_default());
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.config.max_iterations, 10_000);
    assert_eq!(loaded.config.database.num_islands, 5);
    assert_eq!(loaded.config.llm.timeout, 60.0);
    assert_eq!(loaded.config.evaluator.cascade_thresholds, [0.5, 0.75, 0.9]);
}

#[test]
fn omitted_keys_take_defaults_next_to_given_ones() {
    let c = load("max_iterations: 7\ndatabase:\n  num_islands: 2\n").unwrap().config;
    assert_eq!(c.max_iterations, 7);
    assert_eq!(c.database.num_islands, 2);
    assert_eq!(c.database.population_size, 1000);
    assert_eq!(c.checkpoint_interval, 100);
}

#[test]
fn the_shipped_default_config_is_the_defaults() {
    let loaded = Config::load(&repo_root().join("configs/default_config.yaml")).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.config, resolved_default());
}

#[test]
fn the_shipped_default_config_documents_every_key() {
    let text = std::fs::read_to_string(repo_root().join("configs/default_config.yaml")).unwrap();
    let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let schema = serde_yaml::to_value(Config::default()).unwrap();
    let mut missing = Vec::new();
    missing_keys(&schema, &file, "", &mut missing);
    // Keys that are warned about and ignored are documented in comments.
    missing.retain(|path| !text.contains(&format!("# {}: ", path.rsplit('.').next().unwrap_or(path))));
    let model = serde_yaml::to_value(openevolve::config::ModelConfig::default()).unwrap();
    for key in model.as_mapping().unwrap().keys() {
        let key = key.as_str().unwrap();
        if !text.contains(&format!(" {key}: ")) {
            missing.push(format!("llm.models[].{key}"));
        }
    }
    assert!(missing.is_empty(), "configs/default_config.yaml lacks: {missing:?}");
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if !t.is_empty()
            && !t.starts_with('#')
            && !t.starts_with("- ")
            && t.contains(':')
            && !t.ends_with(':')
        {
            assert!(line.contains(" # "), "line {} has no comment: {line}", i + 1);
        }
    }
}

fn missing_keys(schema: &serde_yaml::Value, file: &serde_yaml::Value, path: &str, out: &mut Vec<String>) {
    let (Some(s), Some(f)) = (schema.as_mapping(), file.as_mapping()) else { return };
    for (k, v) in s {
        let k = k.as_str().unwrap();
        let p = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
        match f.get(k) {
            None => out.push(p),
            Some(fv) if !v.as_mapping().is_some_and(|m| m.is_empty()) => missing_keys(v, fv, &p, out),
            Some(_) => {}
        }
    }
}

#[test]
fn a_misspelled_section_names_line_key_and_suggestion() {
    let p = only_problem("max_iterations: 5\ndatabse:\n  num_islands: 2\n");
    assert_eq!((p.key.as_str(), p.line), ("databse", Some(2)));
    assert!(p.message.contains("did you mean `database`?"), "{}", p.message);
}

#[test]
fn a_misspelled_nested_key_names_line_key_and_suggestion() {
    let p = only_problem("database:\n  population_size: 10\n  num_island: 2\n");
    assert_eq!((p.key.as_str(), p.line), ("database.num_island", Some(3)));
    assert!(p.message.contains("did you mean `num_islands`?"), "{}", p.message);
    let shown = ConfigError::Invalid { file: "cfg.yaml".into(), problems: vec![p] }.to_string();
    assert!(shown.contains("cfg.yaml:line 3: `database.num_island`: unknown key"), "{shown}");
}

#[test]
fn llm_model_is_pointed_at_models() {
    let p = only_problem("llm:\n  model: gpt-4o\n");
    assert_eq!(p.key, "llm.model");
    assert!(p.message.contains("`models`"), "{}", p.message);
}

#[test]
fn all_unknown_keys_are_reported_at_once() {
    let p = problems("databse: {}\nllm:\n  temprature: 0.5\n  models:\n    - name: a\n      wieght: 2\n");
    let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(keys, [("databse", Some(1)), ("llm.temprature", Some(3)), ("llm.models[0].wieght", Some(6))]);
}

#[test]
fn unknown_keys_and_bad_values_are_reported_in_one_pass() {
    let p = problems("databse: {}\nllm:\n  temperature: 3\n");
    let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(keys, [("databse", Some(1)), ("llm.temperature", Some(3))], "{p:?}");
    assert!(p[0].message.contains("did you mean `database`"), "{}", p[0].message);
}

#[test]
fn wrong_types_say_what_is_valid() {
    let p = only_problem("checkpoint_interval: 10\nmax_iterations: many\n");
    assert_eq!((p.key.as_str(), p.line), ("max_iterations", Some(2)));
    assert!(p.message.contains("expected a whole number, 0 or more"), "{}", p.message);

    let p = only_problem("database:\n  num_islands: -1\n");
    assert_eq!((p.key.as_str(), p.line), ("database.num_islands", Some(2)));
    assert!(p.message.contains("whole number"), "{}", p.message);

    let p = only_problem("diff_based_evolution: maybe\n");
    assert!(p.message.contains("true or false"), "{}", p.message);

    let p = only_problem("database:\n  feature_bins: lots\n");
    assert!(p.message.contains("mapping of dimension name to number of bins"), "{}", p.message);
}

#[test]
fn ratios_outside_zero_to_one_are_errors() {
    let p = only_problem("database:\n  exploitation_ratio: 0.1\n  exploration_ratio: 1.5\n");
    assert_eq!((p.key.as_str(), p.line), ("database.exploration_ratio", Some(3)));
    assert!(p.message.contains("between 0 and 1, got 1.5"), "{}", p.message);
    let p = only_problem("database:\n  migration_rate: -0.1\n");
    assert_eq!(p.key, "database.migration_rate");
}

#[test]
fn exploration_plus_exploitation_above_one_is_an_error() {
    let p = only_problem("database:\n  exploration_ratio: 0.5\n  exploitation_ratio: 0.6\n");
    assert_eq!(p.key, "database.exploitation_ratio");
    assert!(p.message.contains("at most 1"), "{}", p.message);
}

#[test]
fn zero_islands_is_an_error() {
    let p = only_problem("database:\n  num_islands: 0\n");
    assert_eq!((p.key.as_str(), p.line), ("database.num_islands", Some(2)));
    assert!(p.message.contains("at least 1"), "{}", p.message);
}

#[test]
fn negative_timeouts_are_errors() {
    let p = problems(
        "evaluator:\n  timeout: -5\nllm:\n  timeout: -1\n  models:\n    - name: m\n      timeout: 0\n",
    );
    let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        keys,
        [("llm.timeout", Some(4)), ("llm.models[0].timeout", Some(7)), ("evaluator.timeout", Some(2))]
    );
    assert!(p.iter().all(|p| p.message.contains("positive number of seconds")));
}

#[test]
fn other_value_checks() {
    let cases = [
        ("log_level: LOUD\n", "log_level", "must be one of"),
        ("checkpoint_interval: 0\n", "checkpoint_interval", "at least 1"),
        ("llm:\n  temperature: 3\n", "llm.temperature", "between 0 and 2"),
        ("llm:\n  top_p: 0\n", "llm.top_p", "above 0"),
        ("build_repair_temperature: 2.5\n", "build_repair_temperature", "between 0 and 2"),
        ("llm:\n  models:\n    - weight: 1\n", "llm.models[0].name", "needs a name"),
        ("llm:\n  models:\n    - name: a\n      weight: 0\n", "llm.models", "weight above 0"),
        ("llm:\n  reasoning_effort: extreme\n", "llm.reasoning_effort", "one of"),
        ("evaluator:\n  parallel_evaluations: 0\n", "evaluator.parallel_evaluations", "at least 1"),
        (
            "evaluator:\n  cascade_thresholds: [0.1, 0.2, 0.3, 0.4]\n",
            "evaluator.cascade_thresholds",
            "at most 3",
        ),
        ("evolution_trace:\n  format: hdf5\n", "evolution_trace.format", "jsonl"),
        ("database:\n  feature_dimensions: []\n", "database.feature_dimensions", "at least one"),
        (
            "database:\n  feature_bins: {score: 4}\n",
            "database.feature_bins.score",
            "not in feature_dimensions",
        ),
        (
            "prompt:\n  island_system_messages: [a, b]\ndatabase:\n  num_islands: 1\n",
            "prompt.island_system_messages",
            "at most one per island",
        ),
    ];
    for (yaml, key, words) in cases {
        let p = only_problem(yaml);
        assert_eq!(p.key, key, "{yaml}");
        assert!(p.line.is_some(), "{yaml}: no line");
        assert!(p.message.contains(words), "{yaml}: {}", p.message);
    }
}

#[test]
fn env_references_expand_and_unset_ones_are_errors() {
    let env = |name: &str| (name == "MY_KEY").then(|| "sk-secret".to_string());
    let c = Config::from_yaml_str_with_env(
        "llm:\n  api_key: ${MY_KEY}\n  models: [{name: m}]\n",
        Path::new("t"),
        &env,
    )
    .unwrap()
    .config;
    assert_eq!(c.llm.api_key.as_deref(), Some("sk-secret"));
    assert_eq!(c.llm.models[0].api_key.as_deref(), Some("sk-secret"), "models inherit the key");

    let p = only_problem("llm:\n  models: [{name: m}]\n  api_key: ${MISSING_KEY}\n");
    assert_eq!((p.key.as_str(), p.line), ("llm.api_key", Some(3)));
    assert!(p.message.contains("`MISSING_KEY` is not set"), "{}", p.message);
}

#[test]
fn masked_config_hides_every_key() {
    let env = |_: &str| Some("sk-very-secret".to_string());
    let c = Config::from_yaml_str_with_env(
        "llm:\n  api_key: ${K}\n  models:\n    - name: a\n    - name: b\n      api_key: ${K2}\n",
        Path::new("t"),
        &env,
    )
    .unwrap()
    .config;
    let shown = serde_yaml::to_string(&c.masked()).unwrap();
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    assert!(shown.contains("********"));
}

#[test]
fn models_inherit_shared_settings_and_keep_their_own() {
    let c = load(
        "llm:\n  api_base: http://127.0.0.1:9/v1\n  temperature: 0.3\n  timeout: 20\n  models:\n    - name: a\n      weight: 0.8\n    - name: b\n      weight: 0.2\n      temperature: 0.9\n",
    )
    .unwrap()
    .config;
    let [a, b] = &c.llm.models[..] else { panic!("two models") };
    assert_eq!((a.temperature, b.temperature), (Some(0.3), Some(0.9)));
    assert_eq!(a.timeout, Some(20.0));
    assert_eq!(b.api_base.as_deref(), Some("http://127.0.0.1:9/v1"));
    assert_eq!(a.random_seed, Some(42), "the run seed reaches the models");
    assert_eq!(c.llm.evaluator_models, c.llm.models, "evaluator models default to the models");
    assert_eq!(c.database.random_seed, Some(42));
}

#[test]
fn legacy_primary_and_secondary_models_become_the_ensemble() {
    let c = load("llm:\n  primary_model: big\n  primary_model_weight: 0.7\n  secondary_model: small\n")
        .unwrap()
        .config;
    let names: Vec<_> = c.llm.models.iter().map(|m| (m.name.clone().unwrap(), m.weight)).collect();
    assert_eq!(names, [("big".to_string(), 0.7), ("small".to_string(), 0.2)]);
    assert_eq!(c.llm.primary_model, None);
}

#[test]
fn openevolve_keys_we_do_not_implement_are_warnings() {
    let loaded = load("max_tasks_per_child: 4\ndatabase:\n  in_memory: true\n  embedding_model: x\nllm:\n  init_client: x\n").unwrap();
    let keys: Vec<_> = loaded.warnings.iter().map(|w| (w.key.as_str(), w.line)).collect();
    assert_eq!(
        keys,
        [
            ("max_tasks_per_child", Some(1)),
            ("database.in_memory", Some(3)),
            ("database.embedding_model", Some(4)),
            ("llm.init_client", Some(6))
        ]
    );
    assert!(loaded.warnings.iter().all(|w| w.message.contains("not supported")));
}

#[test]
fn a_patience_below_one_disables_early_stopping_with_a_warning() {
    let loaded = load("early_stopping_patience: -1\n").unwrap();
    assert_eq!(loaded.config.early_stopping_patience, None);
    assert_eq!(
        (loaded.warnings[0].key.as_str(), loaded.warnings[0].line),
        ("early_stopping_patience", Some(1))
    );
    assert_eq!(load("early_stopping_patience: 5\n").unwrap().config.early_stopping_patience, Some(5));
}

#[test]
fn old_openevolve_keys_are_passed_over_with_a_specific_hint() {
    let loaded = load("allow_full_rewrites: true\n").unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].message.contains("diff_based_evolution: false"), "{:?}", loaded.warnings);
}

#[test]
fn unknown_top_level_sections_are_passed_over_as_openevolve_does_but_typos_are_not() {
    // OpenEvolve hands such sections to the problem's code; we warn and go on.
    let loaded = load("algotune:\n  num_trials: 5\nparallel_evaluations: 4\nmax_iterations: 3\n").unwrap();
    let warned: Vec<_> = loaded.warnings.iter().map(|w| (w.key.as_str(), w.line)).collect();
    assert_eq!(warned, [("algotune", Some(1)), ("parallel_evaluations", Some(3))]);
    assert!(loaded.warnings[1].message.contains("`evaluator.parallel_evaluations`"), "{:?}", loaded.warnings);
    assert_eq!(loaded.config.max_iterations, 3);
    assert_eq!(
        loaded.config.evaluator.parallel_evaluations,
        openevolve::Config::default().evaluator.parallel_evaluations
    );
    // A misspelt key of ours stays an error that names it; so does any
    // unknown key inside a section.
    let p = only_problem("max_iteration: 3\n");
    assert!(p.message.contains("did you mean `max_iterations`"), "{}", p.message);
    let p = only_problem("database:\n  algotune: 1\n");
    assert!(p.message.starts_with("unknown key `algotune`"), "{}", p.message);
}

#[test]
fn a_language_other_than_rust_is_a_warning() {
    let loaded = load("language: python\n").unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!((loaded.warnings[0].key.as_str(), loaded.warnings[0].line), ("language", Some(1)));
}

#[test]
fn feature_bins_take_a_number_or_a_map() {
    let c = load("database:\n  feature_bins: {complexity: 4, diversity: 6}\n").unwrap().config;
    assert_eq!(c.database.feature_bins.for_dimension("diversity"), 6);
    let c = load("database:\n  feature_bins: 3\n").unwrap().config;
    assert_eq!(c.database.feature_bins, FeatureBins::All(3));
}

#[test]
fn a_relative_template_dir_is_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/config.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "prompt:\n  template_dir: my_templates\n").unwrap();
    let c = Config::load(&file).unwrap().config;
    assert_eq!(c.prompt.template_dir.map(PathBuf::from), Some(dir.path().join("sub/my_templates")));
}

#[test]
fn syntax_errors_name_the_line() {
    match load("a: 1\nb: [unclosed\n") {
        Err(ConfigError::Syntax { line: Some(_), .. }) => {}
        other => panic!("expected a syntax error with a line, got {other:?}"),
    }
    let p = only_problem("- just\n- a list\n");
    assert!(p.message.contains("top level must be a mapping"));
}

/// OpenEvolve's own example configs: each loads, or fails naming exactly the
/// keys we do not support. The corpus is not shipped with the project; CI
/// points OPENEVOLVE_COMPAT_DIR at it.
#[test]
fn openevolve_example_configs_load_or_name_unsupported_keys() {
    let Some(dir) = std::env::var_os("OPENEVOLVE_COMPAT_DIR") else {
        eprintln!("OPENEVOLVE_COMPAT_DIR not set; the corpus check runs in CI");
        return;
    };
    let any_env = |_: &str| Some("value-from-env".to_string());
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 60, "corpus at {dir:?} has only {} files", files.len());
    let (mut loaded, mut refused) = (0, 0);
    let mut unexpected = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        match Config::from_yaml_str_with_env(&text, file, &any_env) {
            Ok(before) => {
                loaded += 1;
                // Migrated, it loads as it did, with no key left to drop.
                let migrated = openevolve::config::migrate(&text, file, &any_env).unwrap();
                let after =
                    Config::from_yaml_str_with_env(&migrated.text, file, &any_env).unwrap_or_else(|e| {
                        panic!("{}: migrated, it fails: {e}\n{}", file.display(), migrated.text)
                    });
                assert_eq!(
                    after.dropped_keys.len(),
                    migrated.left.len(),
                    "{}: {:?}",
                    file.display(),
                    after.warnings
                );
                assert_eq!(after.config, before.config, "{}", file.display());
            }
            Err(ConfigError::Invalid { problems, .. }) => {
                refused += 1;
                for p in &problems {
                    // What we do not support is a key, or (for `provider`) a value.
                    let unsupported =
                        p.message.starts_with("unknown key") || p.message.contains("is not supported");
                    if !(unsupported && p.line.is_some() && !p.key.is_empty()) {
                        unexpected.push(format!("{}: {p}", file.display()));
                    }
                }
                println!(
                    "{}: refused: {}",
                    file.display(),
                    problems.iter().map(|p| p.key.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
            Err(e) => unexpected.push(format!("{}: {e}", file.display())),
        }
    }
    println!("{loaded} loaded, {refused} refused");
    assert!(loaded >= 60, "only {loaded} of {} configs load", files.len());
    assert!(
        unexpected.is_empty(),
        "refused for a reason other than an unknown key:\n{}",
        unexpected.join("\n")
    );
}

#[test]
fn objectives_are_checked_entry_by_entry() {
    let p = only_problem("database:\n  objectives:\n    - {metrc: speed_ratio, direction: maximize}\n");
    assert!(p.key.contains("objectives[0].metrc") && p.message.contains("metric"), "{p:?}");
    let p = only_problem("database:\n  objectives:\n    - {metric: speed_ratio, direction: upward}\n");
    assert!(p.key.contains("objectives"), "{p:?}");
    assert!(p.message.contains("maximize") && p.message.contains("minimize"), "{p:?}");
    let p = only_problem("database:\n  objectives:\n    - {direction: minimize}\n");
    assert!(p.key.contains("objectives[0].metric"), "{p:?}");
}

#[test]
fn an_openevolve_config_migrates_to_one_that_loads_without_warnings() {
    let original = "max_iterations: 7\nallow_full_rewrites: true  # old\ndatabase:\n  in_memory: true\nllm:\n  temperature: 0.5\n  manual_mode: false\nalgotune:\n  num_trials: 5\n\n  data_size: 10\nevaluator:\n  timeout: 9\n";
    let migrated = openevolve::config::migrate(original, Path::new("oe.yaml"), &no_env).unwrap();
    assert_eq!(
        migrated.dropped,
        ["allow_full_rewrites", "database.in_memory", "llm.manual_mode", "algotune"]
    );
    let reloaded = load(&migrated.text).unwrap();
    assert!(reloaded.warnings.is_empty(), "{:?}\n{}", reloaded.warnings, migrated.text);
    // What stays is read as before; what goes says why, where it stood.
    let before = load(original).unwrap().config;
    assert_eq!(reloaded.config, before);
    assert!(
        migrated.text.contains("# openevolve-rs: dropped `algotune`: not an openevolve-rs setting"),
        "{}",
        migrated.text
    );
    assert!(
        migrated.text.contains("# algotune:\n#   num_trials: 5\n#\n#   data_size: 10\nevaluator:"),
        "{}",
        migrated.text
    );
    assert!(migrated.text.contains("# database:  # openevolve-rs: left without keys"), "{}", migrated.text);
    // Errors need a person: they are refused, not guessed at.
    assert!(matches!(
        openevolve::config::migrate("databse: {}\n", Path::new("x.yaml"), &no_env),
        Err(ConfigError::Invalid { .. })
    ));
}
