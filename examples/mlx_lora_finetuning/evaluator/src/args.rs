//! The evaluator's arguments (config.yaml's `evaluator.evaluator_args`) and
//! the role this process plays, which the parent adds for its children.

use std::path::PathBuf;

use mlx_lora::experiment::Experiment;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The standard implementation, compiled into this evaluator.
    Baseline,
    Candidate,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Baseline => "baseline",
            Variant::Candidate => "candidate",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Role {
    /// The whole evaluation (what openevolve asks for).
    Evaluate,
    /// One training run in a child process: train, save the adapters there;
    /// `check` first compares the candidate's parts with the reference.
    Train { variant: Variant, adapters: PathBuf, check: bool },
}

#[derive(Debug, Clone)]
pub struct Args {
    /// `tiny` (CPU, CI) or `full` (GPU).
    pub size: String,
    /// Runs of each variant.
    pub trials: usize,
    pub role: Role,
    /// The arguments as given, passed on to children.
    raw: Map<String, Value>,
}

const KEYS: [&str; 2] = ["size", "trials"];

impl Args {
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let raw: Map<String, Value> = match text {
            None => Map::new(),
            Some(t) => {
                serde_json::from_str(t).map_err(|e| format!("evaluator_args: not a JSON object: {e}"))?
            }
        };
        let bad = |key: &str, want: &str| format!("evaluator_args.{key}: expected {want}, got {}", raw[key]);
        for key in raw.keys() {
            if !KEYS.contains(&key.as_str()) && !key.starts_with("role") {
                return Err(format!("evaluator_args.{key}: unknown; this evaluator takes {KEYS:?}"));
            }
        }
        let size = match raw.get("size") {
            None => "tiny".to_string(),
            Some(Value::String(s)) if s == "tiny" || s == "full" => s.clone(),
            Some(_) => return Err(bad("size", "\"tiny\" or \"full\"")),
        };
        let trials = match raw.get("trials") {
            None => {
                if size == "tiny" {
                    2
                } else {
                    3
                }
            }
            Some(v) => match v.as_u64() {
                Some(n @ 1..=20) => n as usize,
                _ => return Err(bad("trials", "a whole number from 1 to 20")),
            },
        };
        let role = match raw.get("role").and_then(Value::as_str) {
            None | Some("evaluate") => Role::Evaluate,
            Some(v @ ("baseline" | "candidate")) => Role::Train {
                variant: if v == "baseline" { Variant::Baseline } else { Variant::Candidate },
                adapters: PathBuf::from(
                    raw.get("role_adapters").and_then(Value::as_str).ok_or("role_adapters missing")?,
                ),
                check: raw.get("role_check").and_then(Value::as_bool).unwrap_or(false),
            },
            Some(other) => return Err(format!("role {other:?} is not one of this evaluator's")),
        };
        Ok(Self { size, trials, role, raw })
    }

    pub fn experiment(&self) -> Result<Experiment, String> {
        Experiment::by_name(&self.size).map_err(|e| e.to_string())
    }

    /// The arguments a child playing `role` gets.
    pub fn for_child(&self, role: &Role) -> String {
        let mut raw = self.raw.clone();
        if let Role::Train { variant, adapters, check } = role {
            raw.insert("role".into(), json!(variant.name()));
            raw.insert("role_adapters".into(), json!(adapters.to_string_lossy()));
            raw.insert("role_check".into(), json!(check));
        }
        Value::Object(raw).to_string()
    }
}
