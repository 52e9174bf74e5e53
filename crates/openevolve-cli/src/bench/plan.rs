//! What a bench runs and where: its arms (the built-in strategies, then the
//! `--arm` overlays), the config file each arm's runs read, and `plan.json`,
//! the record that lets a bench stopped in a folder continue there, and
//! refuses a different bench in the same folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use openevolve::{Config, SearchStrategy};
use openevolve_bench::ArmSpec;
use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use crate::Failure;
use crate::cli::BenchArgs;

/// One arm, ready to run.
pub struct Arm {
    pub spec: ArmSpec,
    pub strategy: SearchStrategy,
    /// The config its runs read: the problem's, or an overlay laid over it
    /// (written into the bench folder as `arms/NAME.yaml`).
    pub config_file: Option<PathBuf>,
    /// The text of that config, as `plan.json` records it.
    config_text: String,
}

/// `plan.json`: what must not change for a bench to be continued.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Plan {
    iterations: u64,
    arms: Vec<PlannedArm>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct PlannedArm {
    arm: String,
    strategy: String,
    /// The text of the config its runs read.
    config: String,
}

/// The arms of `args`, in the order they run for each seed.
pub fn arms(args: &BenchArgs, base: Option<&Path>, output: &Path) -> Result<Vec<Arm>, Failure> {
    let strategies: &[SearchStrategy] =
        if args.no_baselines { &[SearchStrategy::Evolution] } else { &SearchStrategy::ALL };
    let base_text = match base {
        Some(file) => read(file)?,
        None => String::new(),
    };
    let mut arms: Vec<Arm> = strategies
        .iter()
        .map(|&strategy| Arm {
            spec: ArmSpec { arm: strategy.name().into(), strategy: strategy.name().into(), overlay: None },
            strategy,
            config_file: base.map(Path::to_path_buf),
            config_text: base_text.clone(),
        })
        .collect();
    for (name, overlay) in &args.arms {
        if arms.iter().any(|a| &a.spec.arm == name) {
            return Err(Failure::BadInput(anyhow!(
                "--arm {name}: an arm of that name is already in this bench"
            )));
        }
        let config_text = overlaid(&base_text, overlay)?;
        let file = output.join("arms").join(format!("{name}.yaml"));
        std::fs::create_dir_all(output.join("arms"))
            .and_then(|()| std::fs::write(&file, &config_text))
            .with_context(|| format!("cannot write {}", file.display()))
            .map_err(Failure::RunFailed)?;
        arms.push(Arm {
            spec: ArmSpec {
                arm: name.clone(),
                strategy: SearchStrategy::Evolution.name().into(),
                overlay: Some(overlay.display().to_string()),
            },
            strategy: SearchStrategy::Evolution,
            config_file: Some(file),
            config_text,
        });
    }
    Ok(arms)
}

fn read(file: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(file)
        .with_context(|| format!("cannot read {}", file.display()))
        .map_err(Failure::BadInput)
}

/// The base config's text with `overlay` laid over it: mappings merge key
/// by key, anything else (a number, a list) is replaced.
fn overlaid(base_text: &str, overlay: &Path) -> Result<String, Failure> {
    let overlay_text = read(overlay)?;
    // The overlay must load on its own, so that its mistakes are reported
    // against its own file and lines.
    let loaded = Config::from_yaml_str(&overlay_text, overlay)?;
    crate::config_check::print_warnings(overlay, &loaded.warnings);
    // A base that does not parse is reported when its own arms load it.
    let mut merged: Value = serde_yaml::from_str(base_text).unwrap_or(Value::Null);
    let over: Value = serde_yaml::from_str(&overlay_text).unwrap_or(Value::Null);
    merge(&mut merged, over);
    Ok(serde_yaml::to_string(&merged).expect("YAML that was just read"))
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (_, Value::Null) => {}
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Writes `plan.json`, after checking that a bench already in `output` ran
/// the same number of iterations and the same arms under the same names.
/// Arms and seeds may be added.
pub fn record(output: &Path, iterations: u64, arms: &[Arm]) -> Result<(), Failure> {
    let path = output.join("plan.json");
    let planned = arms
        .iter()
        .map(|arm| PlannedArm {
            arm: arm.spec.arm.clone(),
            strategy: arm.strategy.name().into(),
            config: arm.config_text.clone(),
        })
        .collect();
    let mut plan = Plan { iterations, arms: planned };
    if let Ok(text) = std::fs::read_to_string(&path) {
        let earlier: Plan = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bench's plan: choose another --output", path.display()))
            .map_err(Failure::BadInput)?;
        check_continues(output, &earlier, &plan)?;
        let added: Vec<PlannedArm> = plan.arms.drain(..).filter(|a| !earlier.arms.contains(a)).collect();
        plan.arms = earlier.arms.into_iter().chain(added).collect();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&plan).expect("plain data") + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::RunFailed)
}

fn check_continues(output: &Path, earlier: &Plan, now: &Plan) -> Result<(), Failure> {
    let dir = output.display();
    if earlier.iterations != now.iterations {
        return Err(Failure::BadInput(anyhow!(
            "{dir} holds a bench of {} iterations per run; continue it with --iterations {0}, or choose another --output",
            earlier.iterations
        )));
    }
    for arm in &now.arms {
        if let Some(old) = earlier.arms.iter().find(|o| o.arm == arm.arm)
            && old != arm
        {
            return Err(Failure::BadInput(anyhow!(
                "arm `{}` ran in {dir} with another strategy or config than it has now; \
                 give the changed arm another name, or choose another --output",
                arm.arm
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_merges_mappings_and_replaces_the_rest() {
        let mut base: Value =
            serde_yaml::from_str("llm:\n  temperature: 0.7\n  models: [a, b]\ndatabase:\n  num_islands: 4\n")
                .unwrap();
        let over: Value =
            serde_yaml::from_str("llm:\n  models: [c]\ndatabase:\n  num_islands: 1\nrepair_turns: 2\n")
                .unwrap();
        merge(&mut base, over);
        let want: Value = serde_yaml::from_str(
            "llm:\n  temperature: 0.7\n  models: [c]\ndatabase:\n  num_islands: 1\nrepair_turns: 2\n",
        )
        .unwrap();
        assert_eq!(base, want);
    }
}
