//! Small models asked for a region often write out fixed code with it: a
//! helper defined outside the regions, the `use` lines, the export macro.
//! The copy would define the item twice and the child would not build, so a
//! region body loses every top-level item that repeats one of the fixed
//! code's items line for line (whitespace aside), and the change notes say so.

use super::locate::squash;

/// A top-level item of the fixed code, as whitespace-squashed lines,
/// comments and attributes left out, the first without its visibility.
struct FixedItem {
    lines: Vec<String>,
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("//") || t.starts_with("/*") || t.starts_with('*')
}

fn is_attribute(line: &str) -> bool {
    line.trim_start().starts_with("#[")
}

/// Net braces a line opens; strings and chars with braces are rare in the
/// item headers this looks at, so they are not parsed.
fn brace_delta(line: &str) -> i64 {
    line.chars().map(|c| (c == '{') as i64 - (c == '}') as i64).sum()
}

/// The top-level items of `fixed` (the code outside the regions).
fn fixed_items(fixed: &[&str]) -> Vec<FixedItem> {
    let mut items = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut depth = 0i64;
    for line in fixed {
        let starts_at_top = depth == 0 && !line.starts_with(char::is_whitespace);
        if depth == 0 && (line.trim().is_empty() || is_comment(line) || is_attribute(line)) {
            continue;
        }
        if depth == 0 && !starts_at_top {
            continue;
        }
        if !is_comment(line) {
            current.push(match current.is_empty() {
                true => without_visibility(line),
                false => squash(line),
            });
        }
        depth += brace_delta(line);
        let trimmed = line.trim_end();
        if depth <= 0 && (trimmed.ends_with('}') || trimmed.ends_with(';')) {
            depth = 0;
            items.push(FixedItem { lines: std::mem::take(&mut current) });
        }
    }
    items
}

/// A line squashed, without a leading `pub` or `pub(...)`: a copy that
/// drops or adds the visibility still defines the item twice.
fn without_visibility(line: &str) -> String {
    let squashed = squash(line);
    let rest = match squashed.strip_prefix("pub") {
        Some(rest) if rest.starts_with(' ') => rest.trim_start(),
        Some(rest) if rest.starts_with('(') => rest.split_once(')').map_or(rest, |(_, r)| r).trim_start(),
        _ => return squashed,
    };
    rest.to_string()
}

/// `body` without the items it copies from `fixed`; the first line of each
/// dropped copy is returned, for the notes.
pub(crate) fn drop_fixed_copies(body: &str, fixed: &[&str]) -> (String, Vec<String>) {
    let items = fixed_items(fixed);
    let mut lines: Vec<&str> = body.lines().collect();
    let mut dropped = Vec::new();
    for item in &items {
        // Code lines of the body with their positions; comments may differ.
        let code: Vec<(usize, String)> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !is_comment(l))
            .map(|(i, l)| (i, squash(l)))
            .collect();
        let first_matches = |line: &str| without_visibility(line) == item.lines[0];
        let n = item.lines.len();
        let found = (0..code.len().saturating_sub(n - 1)).find(|&s| {
            !lines[code[s].0].starts_with(char::is_whitespace)
                && first_matches(lines[code[s].0])
                && (1..n).all(|k| code.get(s + k).is_some_and(|(_, l)| *l == item.lines[k]))
        });
        let Some(start) = found else { continue };
        let (mut first, last) = (code[start].0, code[start + n - 1].0);
        // Its doc comments and attributes go with it.
        while first > 0 && (is_comment(lines[first - 1]) || is_attribute(lines[first - 1])) {
            first -= 1;
        }
        dropped.push(code[start].1.clone());
        lines.drain(first..=last);
    }
    let mut out: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if !body.ends_with('\n') {
        out.pop();
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXED: &str = "use std::f64::consts::PI;\n\n/// The function.\npub fn objective(x: f64) -> f64 {\n    x.sin() * PI\n}\n\npub struct Rng(u64);\n\nopenevolve_sdk::export_candidate! { run: fn(u64) -> f64 }\n";

    #[test]
    fn drops_items_copied_from_the_fixed_code_and_keeps_the_rest() {
        let fixed: Vec<&str> = FIXED.lines().collect();
        let body = "use std::f64::consts::PI;\n/// copied, with its doc\nfn objective(x: f64) -> f64 {\n  x.sin()  * PI\n}\n\npub fn search(n: u64) -> f64 {\n    let r = Rng(n);\n    objective(r.0 as f64)\n}\nopenevolve_sdk::export_candidate! { run: fn(u64) -> f64 }\n";
        let (kept, dropped) = drop_fixed_copies(body, &fixed);
        assert_eq!(
            kept,
            "\npub fn search(n: u64) -> f64 {\n    let r = Rng(n);\n    objective(r.0 as f64)\n}\n"
        );
        assert_eq!(dropped.len(), 3, "{dropped:?}");
    }

    #[test]
    fn a_changed_item_or_a_nested_one_is_not_a_copy() {
        let fixed: Vec<&str> = FIXED.lines().collect();
        // A different body: the build will say it is defined twice.
        let changed = "pub fn objective(x: f64) -> f64 {\n    x.cos()\n}\n";
        assert_eq!(drop_fixed_copies(changed, &fixed), (changed.to_string(), vec![]));
        // Inside a function a `use` is the body's own.
        let nested = "fn f() -> f64 {\n    use std::f64::consts::PI;\n    PI\n}\n";
        assert_eq!(drop_fixed_copies(nested, &fixed), (nested.to_string(), vec![]));
    }
}
