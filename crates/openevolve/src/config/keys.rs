//! Which keys config.yaml may hold. The known keys are read off the serialized
//! defaults, so the structs stay the one list; a key OpenEvolve knows but we do
//! not implement is warned about and dropped, anything else is an error.

use serde_yaml::Value;

use super::{Config, ModelConfig};

/// Keys OpenEvolve accepts that openevolve-rs does not implement:
/// (section, key, what happens instead). `llm.models[]` stands for every entry
/// of `llm.models` and `llm.evaluator_models`.
const NOT_IMPLEMENTED: &[(&str, &str, &str)] = &[
    ("", "file_suffix", "candidates are always Rust source (.rs)"),
    ("", "enforce_evolve_blocks", "edits are always confined to EVOLVE-BLOCK regions"),
    ("", "diff_pattern", "the SEARCH/REPLACE block syntax is fixed"),
    ("", "max_tasks_per_child", "every evaluation runs in a fresh worker process"),
    ("llm", "init_client", "custom Python clients do not apply"),
    ("llm", "manual_mode", "there is no human-in-the-loop mode"),
    (
        "llm",
        "max_budget_usd",
        "OpenEvolve's per-call Claude Code budget; for a budget of the whole run use llm.run_budget_usd",
    ),
    ("llm", "max_ai_credits", "the GitHub Copilot CLI provider is not supported"),
    ("llm", "allow_all_tools", "the GitHub Copilot CLI provider is not supported"),
    ("llm.models[]", "init_client", "custom Python clients do not apply"),
    ("llm.models[]", "manual_mode", "there is no human-in-the-loop mode"),
    ("llm.models[]", "_manual_queue_dir", "there is no human-in-the-loop mode"),
    ("llm.models[]", "max_budget_usd", "OpenEvolve's per-call Claude Code budget"),
    ("llm.models[]", "max_ai_credits", "the GitHub Copilot CLI provider is not supported"),
    ("llm.models[]", "allow_all_tools", "the GitHub Copilot CLI provider is not supported"),
    ("prompt", "programs_as_changes_description", "programs are always shown as code"),
    ("prompt", "system_message_changes_description", "programs are always shown as code"),
    ("prompt", "initial_changes_description", "programs are always shown as code"),
    ("prompt", "use_meta_prompting", "meta-prompting is not implemented (nor is it in OpenEvolve)"),
    ("prompt", "meta_prompt_weight", "meta-prompting is not implemented (nor is it in OpenEvolve)"),
    (
        "prompt",
        "code_length_threshold",
        "deprecated in OpenEvolve; use prompt.suggest_simplification_after_chars",
    ),
    ("database", "in_memory", "the database is always a SQLite file"),
    ("database", "diversity_metric", "diversity is always measured by token-level edit distance"),
    ("database", "cleanup_old_artifacts", "artifacts live as long as the run's database"),
    ("database", "artifact_retention_days", "artifacts live as long as the run's database"),
    ("database", "max_snapshot_artifacts", "workers read the database directly, there are no snapshots"),
    ("database", "novelty_llm", "LLM novelty judging is not implemented"),
    ("database", "embedding_model", "embedding-based novelty is not implemented"),
    ("database", "embedding_api_base", "embedding-based novelty is not implemented"),
    ("database", "similarity_threshold", "embedding-based novelty is not implemented"),
    ("evaluator", "distributed", "evaluations run in local worker processes"),
];

/// Keys our structs carry (the LLM crate keeps a second ensemble) but that
/// nothing acts on yet: OpenEvolve's LLM review of each program as extra
/// metrics. Warned about and dropped like [`NOT_IMPLEMENTED`], so that no
/// config believes it is on.
const INERT: &[(&str, &str, &str)] = &[
    (
        "evaluator",
        "use_llm_feedback",
        "LLM feedback on programs is not implemented; scores are the evaluator's metrics alone",
    ),
    ("evaluator", "llm_feedback_weight", "LLM feedback on programs is not implemented"),
    ("llm", "evaluator_models", "only LLM feedback on programs would use them, and it is not implemented"),
];

/// Top-level keys that are not ours nor OpenEvolve's today, but that configs
/// written for older OpenEvolve versions still carry: (section, key, what to
/// write instead). Warned about and dropped, as OpenEvolve ignores them.
const OLD_SPELLINGS: &[(&str, &str, &str)] = &[
    (
        "",
        "allow_full_rewrites",
        "an old OpenEvolve key that OpenEvolve itself now ignores; write `diff_based_evolution: false` for full rewrites",
    ),
    ("", "max_program_length", "an old spelling; write `max_code_length`"),
];

/// Errors and warnings from the key check, as (key path, message).
#[derive(Default)]
pub struct KeyReport {
    pub errors: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
}

/// Checks every key of `user` against the known keys; removes the keys it
/// warns about or refuses, so the typed pass sees known keys alone.
pub fn check_keys(user: &mut Value) -> KeyReport {
    let schema = serde_yaml::to_value(Config::default()).expect("defaults serialize");
    let mut report = KeyReport::default();
    walk(user, &schema, &schema, "", "", &mut report);
    report
}

fn walk(user: &mut Value, schema: &Value, root: &Value, path: &str, section: &str, out: &mut KeyReport) {
    match user {
        Value::Mapping(map) => {
            // A map whose default is empty (template_variations, feature_ranges)
            // is the user's to fill: its keys are names, not settings.
            let Value::Mapping(known) = schema else { return };
            if known.is_empty() {
                return;
            }
            let keys: Vec<Value> = map.keys().cloned().collect();
            for key in keys {
                let Some(name) = key.as_str() else {
                    out.errors.push((path.to_string(), format!("keys must be text, found {key:?}")));
                    continue;
                };
                let child_path = join(path, name);
                if let Some((_, _, why)) = INERT.iter().find(|(s, k, _)| *s == section && *k == name) {
                    out.warnings.push((child_path, format!("ignored by openevolve-rs: {why}")));
                    map.remove(&key);
                } else if let Some(child_schema) = known.get(name) {
                    let child_section = join(section, name);
                    let child = map.get_mut(&key).expect("key listed above");
                    walk(child, child_schema, root, &child_path, &child_section, out);
                } else if let Some((_, _, why)) =
                    NOT_IMPLEMENTED.iter().find(|(s, k, _)| *s == section && *k == name)
                {
                    out.warnings
                        .push((child_path, format!("not supported by openevolve-rs and ignored: {why}")));
                    map.remove(&key);
                } else if let Some(why) = passed_through(name, section, known, root) {
                    out.warnings.push((child_path, why));
                    map.remove(&key);
                } else {
                    let msg = unknown_key_message(name, section, known, root);
                    out.errors.push((child_path, msg));
                    // Dropped, so that the other keys' values are still checked.
                    map.remove(&key);
                }
            }
        }
        Value::Sequence(items) => {
            let Some(element) = element_schema(section) else { return };
            let element_section = format!("{}[]", section.replace("evaluator_models", "models"));
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &element, root, &format!("{path}[{i}]"), &element_section, out);
            }
        }
        _ => {}
    }
}

fn element_schema(section: &str) -> Option<Value> {
    match section {
        "llm.models" | "llm.evaluator_models" => {
            Some(serde_yaml::to_value(ModelConfig::default()).expect("defaults serialize"))
        }
        "database.objectives" => {
            Some(serde_yaml::to_value(openevolve_db::Objective::default()).expect("defaults serialize"))
        }
        _ => None,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Why an unknown top-level key is only warned about, if it is: OpenEvolve
/// ignores unknown keys there and many of its configs carry sections for the
/// problem's own code (`algotune:`), so such a key is passed over, unless it
/// looks like a misspelt key of ours, which stays an error.
fn passed_through(name: &str, section: &str, known: &serde_yaml::Mapping, root: &Value) -> Option<String> {
    if !section.is_empty() {
        return None;
    }
    let hint = match OLD_SPELLINGS.iter().find(|(_, k, _)| *k == name) {
        Some((_, _, hint)) => format!(" ({hint})"),
        None if nearest(name, &known_names(known, section)).is_some() => return None,
        None => match find_key(root, name, "") {
            Some(elsewhere) => format!(" (openevolve-rs reads this setting at `{elsewhere}`)"),
            None => String::new(),
        },
    };
    Some(format!(
        "not an openevolve-rs setting, ignored as OpenEvolve ignores it{hint}; settings for an evaluator go in `evaluator.evaluator_args`"
    ))
}

/// The keys a section knows, with the OpenEvolve keys that are only warned about.
fn known_names<'a>(known: &'a serde_yaml::Mapping, section: &str) -> Vec<&'a str> {
    known
        .keys()
        .filter_map(Value::as_str)
        .chain(NOT_IMPLEMENTED.iter().filter(|(s, _, _)| *s == section).map(|(_, k, _)| *k))
        .collect()
}

/// "unknown key", with the nearest known key of the same section, or the
/// section where a key of that exact name lives, or the list of valid keys.
fn unknown_key_message(name: &str, section: &str, known: &serde_yaml::Mapping, root: &Value) -> String {
    if let Some(best) = nearest(name, &known_names(known, section)) {
        return format!("unknown key `{name}`; did you mean `{best}`?");
    }
    if let Some(elsewhere) = find_key(root, name, "") {
        return format!("unknown key `{name}` here; it belongs at `{elsewhere}`");
    }
    let mut valid: Vec<&str> = known.keys().filter_map(Value::as_str).collect();
    valid.sort_unstable();
    format!("unknown key `{name}`; valid keys here: {}", valid.join(", "))
}

/// The candidate closest to `name` by edit distance, if close enough to be a
/// plausible typo.
fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

/// Path of a key called `name` anywhere in the schema.
fn find_key(schema: &Value, name: &str, path: &str) -> Option<String> {
    let Value::Mapping(map) = schema else { return None };
    if map.contains_key(name) {
        return Some(join(path, name));
    }
    map.iter().find_map(|(k, v)| find_key(v, name, &join(path, k.as_str()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> (Value, KeyReport) {
        let mut v: Value = serde_yaml::from_str(yaml).unwrap();
        let r = check_keys(&mut v);
        (v, r)
    }

    #[test]
    fn suggests_the_nearest_key() {
        let (_, r) = check("databse:\n  num_islands: 2\n");
        assert_eq!(
            r.errors,
            vec![("databse".into(), "unknown key `databse`; did you mean `database`?".into())]
        );
        let (_, r) = check("database:\n  num_island: 2\n");
        assert_eq!(r.errors[0].0, "database.num_island");
        assert!(r.errors[0].1.contains("did you mean `num_islands`?"), "{}", r.errors[0].1);
    }

    #[test]
    fn points_to_the_right_section() {
        let (_, r) = check("database:\n  temperature: 0.5\n");
        assert!(r.errors[0].1.contains("belongs at `llm.temperature`"), "{}", r.errors[0].1);
        // At the top level OpenEvolve ignores it, so it is a warning that says where it goes.
        let (v, r) = check("num_islands: 3\n");
        assert!(r.errors.is_empty());
        assert!(
            r.warnings[0].1.contains("reads this setting at `database.num_islands`"),
            "{}",
            r.warnings[0].1
        );
        assert!(v.get("num_islands").is_none());
    }

    #[test]
    fn lists_valid_keys_when_nothing_is_close() {
        let (_, r) = check("evolution_trace:\n  zzzzzzzzzz: 1\n");
        assert!(r.errors[0].1.contains("valid keys here: buffer_size, compress"), "{}", r.errors[0].1);
    }

    #[test]
    fn warns_and_drops_openevolve_only_keys() {
        let (v, r) =
            check("database:\n  in_memory: true\nllm:\n  models:\n    - name: m\n      init_client: x\n");
        assert!(r.errors.is_empty());
        let keys: Vec<&str> = r.warnings.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["database.in_memory", "llm.models[0].init_client"]);
        assert!(v["database"].get("in_memory").is_none());
        assert!(v["llm"]["models"][0].get("init_client").is_none());
    }

    #[test]
    fn warns_about_and_drops_llm_feedback_which_nothing_acts_on() {
        let (v, r) = check(
            "evaluator:\n  use_llm_feedback: true\n  llm_feedback_weight: 0.3\nllm:\n  evaluator_models:\n    - name: judge\n",
        );
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let keys: Vec<&str> = r.warnings.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["evaluator.use_llm_feedback", "evaluator.llm_feedback_weight", "llm.evaluator_models"]
        );
        assert!(r.warnings[0].1.contains("not implemented"), "{}", r.warnings[0].1);
        assert!(v["evaluator"].get("use_llm_feedback").is_none());
        assert!(v["llm"].get("evaluator_models").is_none());
    }

    #[test]
    fn checks_model_entries_and_leaves_free_form_maps_alone() {
        let (_, r) = check(
            "llm:\n  models:\n    - name: m\n      wieght: 1\nprompt:\n  template_variations:\n    anything: [a]\n",
        );
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].0, "llm.models[0].wieght");
        assert!(r.errors[0].1.contains("`weight`"));
    }
}
