//! `openevolve config migrate`: a config written for OpenEvolve, as
//! openevolve-rs reads it. Every key that would only be warned about and
//! dropped (a key we do not implement, a section for the problem's own code,
//! an old spelling) is commented out where it stands, with the reason above
//! it; the rest of the file, comments and order included, stays as written.
//! The result loads without warnings and behaves as the original does.

use std::path::Path;

use super::{Config, ConfigError};

/// A migrated config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Migrated {
    pub text: String,
    /// Keys commented out, by their path.
    pub dropped: Vec<String>,
    /// Keys that could not be commented out (a list entry's first key),
    /// with why they would be dropped; the header names them.
    pub left: Vec<String>,
}

const MARK: &str = "# openevolve-rs:";

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The lines of the key at 0-based `start`: its own and every deeper one after it.
fn block_end(lines: &[String], start: usize) -> usize {
    let depth = indent(&lines[start]);
    let mut end = start + 1;
    let mut last = start + 1;
    while end < lines.len() {
        let line = &lines[end];
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            end += 1;
            continue;
        }
        if indent(line) <= depth {
            break;
        }
        end += 1;
        last = end;
    }
    last
}

/// Whether `line` holds a key or value (not blank, not a comment).
fn is_code(line: &str) -> bool {
    !line.trim().is_empty() && !line.trim_start().starts_with('#')
}

/// The section line a nested key at 0-based `start` belongs to.
fn parent(lines: &[String], start: usize) -> Option<usize> {
    let depth = indent(&lines[start]);
    (0..start).rev().find(|&i| is_code(&lines[i]) && indent(&lines[i]) < depth)
}

/// `text` (the config file `file`, its `${VAR}`s read through `env`) with
/// every dropped key commented out. A config with errors is refused with
/// them: they need a person.
pub fn migrate(
    text: &str,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Migrated, ConfigError> {
    let loaded = Config::from_yaml_str_with_env(text, file, env)?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut left = Vec::new();
    // (first line, end, key, why), on the lines as written.
    let mut drops: Vec<(usize, usize, String, String)> = Vec::new();
    for w in loaded.warnings.into_iter().filter(|w| loaded.dropped_keys.contains(&w.key)) {
        match w.line.map(|l| l - 1).filter(|&l| l < lines.len() && !lines[l].trim_start().starts_with("- ")) {
            Some(start) => drops.push((start, block_end(&lines, start), w.key, w.message)),
            None => left.push(format!("{}: {}", w.key, w.message)),
        }
    }
    let dropped_line = |i: usize| drops.iter().any(|(s, e, ..)| (*s..*e).contains(&i));
    // A section whose keys all go would read as null: it goes too.
    let mut emptied: Vec<usize> = drops.iter().filter_map(|(start, ..)| parent(&lines, *start)).collect();
    emptied.sort_unstable();
    emptied.dedup();
    emptied.retain(|&p| (p + 1..block_end(&lines, p)).filter(|&i| is_code(&lines[i])).all(dropped_line));
    for &p in &emptied {
        let pad = " ".repeat(indent(&lines[p]));
        lines[p] = format!("{pad}# {}  {MARK} left without keys", lines[p].trim());
    }
    // Bottom up, so that a note put above a key moves no line still to do.
    drops.sort_by_key(|(start, ..)| std::cmp::Reverse(*start));
    for (start, end, key, why) in &drops {
        let pad = " ".repeat(indent(&lines[*start]));
        for line in &mut lines[*start..*end] {
            *line = format!("{pad}# {}", &line[pad.len().min(line.len())..]).trim_end().to_string();
        }
        lines.insert(*start, format!("{pad}{MARK} dropped `{key}`: {why}"));
    }
    let dropped: Vec<String> = drops.into_iter().rev().map(|(_, _, key, _)| key).collect();
    let mut header = vec![format!(
        "{MARK} migrated from {} by `openevolve config migrate`: {} key{} dropped, as openevolve-rs would drop {}.",
        file.display(),
        dropped.len(),
        if dropped.len() == 1 { "" } else { "s" },
        if dropped.len() == 1 { "it" } else { "them" },
    )];
    header.extend(left.iter().map(|l| format!("{MARK} left in place, and dropped when read: {l}")));
    let text = header.into_iter().chain(lines).map(|l| format!("{l}\n")).collect();
    Ok(Migrated { text, dropped, left })
}
