//! Reading config.yaml: text → YAML value → `${VAR}` expansion → key check →
//! typed config → derived values → value checks. Every problem found is
//! reported with its file, line and key.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::Config;
use super::env::expand_env;
use super::keys::check_keys;
use super::marks::KeyLines;

/// One thing wrong (or worth a warning) in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    /// Key path, e.g. `database.num_islands` or `llm.models[0].weight`; empty
    /// for the document as a whole.
    pub key: String,
    /// 1-based line of the key, when the file has it.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.key, self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", file.display())]
    Read { file: PathBuf, source: std::io::Error },
    #[error("{} is not valid YAML{}: {message}", file.display(), line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Syntax { file: PathBuf, line: Option<usize>, message: String },
    #[error("{}", render_invalid(file, problems))]
    Invalid { file: PathBuf, problems: Vec<ConfigProblem> },
}

fn render_invalid(file: &Path, problems: &[ConfigProblem]) -> String {
    let mut s = format!(
        "{} has {} problem{}:",
        file.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str(&format!("\n  {}:{p}", file.display()));
    }
    s
}

/// A config that passed every check, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub warnings: Vec<ConfigProblem>,
    /// The keys among `warnings` that the key check dropped: read as if the
    /// file did not hold them (what `config migrate` comments out).
    pub dropped_keys: Vec<String>,
}

impl Config {
    /// Loads, checks and resolves the config file at `path`.
    pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { file: path.to_path_buf(), source })?;
        let mut loaded = Config::from_yaml_str(&text, path)?;
        // As in OpenEvolve, a relative template_dir is relative to the config file.
        if let Some(dir) = &loaded.config.prompt.template_dir
            && Path::new(dir).is_relative()
            && let Some(base) = path.parent()
        {
            loaded.config.prompt.template_dir = Some(base.join(dir).to_string_lossy().into_owned());
        }
        Ok(loaded)
    }

    /// Like [`Config::load`] for text already read; `file` names it in messages.
    pub fn from_yaml_str(text: &str, file: &Path) -> Result<LoadedConfig, ConfigError> {
        Config::from_yaml_str_with_env(text, file, &|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_yaml_str`], reading `${VAR}` through `env`.
    pub fn from_yaml_str_with_env(
        text: &str,
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LoadedConfig, ConfigError> {
        let mut value: Value = serde_yaml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        })?;
        if value.is_null() {
            // An empty file means "all defaults".
            value = Value::Mapping(Default::default());
        }
        let lines = KeyLines::of(text);
        let at = |(key, message): (String, String)| ConfigProblem { line: lines.line_of(&key), key, message };
        if !value.is_mapping() {
            return Err(ConfigError::Invalid {
                file: file.to_path_buf(),
                problems: vec![at((
                    String::new(),
                    "the top level must be a mapping of keys to values".into(),
                ))],
            });
        }

        // Every problem in one pass: the key check drops the keys it
        // refuses, so the values of the others are still checked.
        let mut errors = Vec::new();
        expand_env(&mut value, "", env, &mut errors);
        let keys = check_keys(&mut value);
        errors.extend(keys.errors);
        let mut warnings: Vec<ConfigProblem> = keys.warnings.into_iter().map(at).collect();
        let dropped_keys = warnings.iter().map(|w| w.key.clone()).collect();

        let mut config: Config = match serde_path_to_error::deserialize(value) {
            Ok(config) => config,
            Err(e) => {
                let key = e.path().to_string();
                let key = if key == "." { String::new() } else { key };
                errors.push((key, explain_type_error(&e.into_inner().to_string())));
                return Err(invalid(file, errors.into_iter().map(at).collect()));
            }
        };
        // Checked as written, before models inherit and copy each other, so
        // each problem is reported once, at the line the user wrote.
        let checked = config.validate();
        warnings.extend(checked.warnings.into_iter().map(at));
        // A list entry with a refused key may lack a required one because of
        // it (`metrc` for `metric`): its other problems would only echo that.
        let refused_entries: Vec<String> = errors
            .iter()
            .filter_map(|(key, _)| key.rsplit_once('.').map(|(entry, _)| entry.to_string()))
            .filter(|entry| entry.ends_with(']'))
            .collect();
        errors.extend(
            checked
                .errors
                .into_iter()
                .filter(|(key, _)| !refused_entries.iter().any(|e| key.starts_with(e.as_str()))),
        );
        if !errors.is_empty() {
            return Err(invalid(file, errors.into_iter().map(at).collect()));
        }
        config.resolve();
        Ok(LoadedConfig { config, warnings, dropped_keys })
    }
}

fn invalid(file: &Path, problems: Vec<ConfigProblem>) -> ConfigError {
    ConfigError::Invalid { file: file.to_path_buf(), problems }
}

/// serde names Rust types ("expected u64"); say what to write instead.
fn explain_type_error(message: &str) -> String {
    const PLAIN: &[(&str, &str)] = &[
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected text"),
        ("expected a sequence", "expected a list"),
        ("expected struct ModelConfig", "expected a model (a mapping with name, weight, ...)"),
        (
            "did not match any variant of untagged enum FeatureBins",
            "expected a number of bins, or a mapping of dimension name to number of bins",
        ),
    ];
    let mut m = message.to_string();
    for (from, to) in PLAIN {
        m = m.replace(from, to);
    }
    m
}
