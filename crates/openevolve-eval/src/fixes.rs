//! rustc's suggested fixes: the machine-applicable ones `cargo fix` applies
//! (`mut` on a binding assigned twice or borrowed mutably, `.clone()` where
//! a value was moved and then used) and the maybe-incorrect ones that are
//! whole code (a type on an ambiguous float, `x.exp()` for `exp(x)`). Small
//! models make these slips often, and rustc says how to fix them, so a
//! candidate that fails only on them need not cost a repair turn with the
//! model. A maybe-incorrect fix may change what the code does; that is
//! safe to try because the result is only a candidate: the compiler keeps
//! it only if it builds, the controller evaluates it only if it changes the
//! EVOLVE-BLOCK regions alone, and the judge scores it like any answer.
//! Suggestions with placeholders are never applied.

use std::ops::Range;

/// One replacement of a byte range of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

/// The suggested fixes of rustc's `--error-format=json` output that apply
/// to `file` (the source's name as rustc was given it), as groups of edits:
/// a suggestion's parts apply together or not at all.
pub fn suggested_fixes(stderr: &str, file: &str) -> Vec<Vec<Edit>> {
    let mut groups = Vec::new();
    for line in stderr.lines() {
        let Ok(diagnostic) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if diagnostic["level"] != "error" {
            continue;
        }
        let children = diagnostic["children"].as_array().map(Vec::as_slice).unwrap_or_default();
        for suggestion in std::iter::once(&diagnostic).chain(children) {
            let spans = suggestion["spans"].as_array().map(Vec::as_slice).unwrap_or_default();
            let parts: Vec<&serde_json::Value> =
                spans.iter().filter(|s| s["suggested_replacement"].is_string()).collect();
            if parts.is_empty() {
                continue;
            }
            let edits: Option<Vec<Edit>> = parts
                .iter()
                .map(|s| {
                    let whole_code = matches!(
                        s["suggestion_applicability"].as_str(),
                        Some("MachineApplicable" | "MaybeIncorrect")
                    );
                    let applies = whole_code && s["file_name"] == file;
                    let (start, end) = (s["byte_start"].as_u64()? as usize, s["byte_end"].as_u64()? as usize);
                    applies.then(|| Edit {
                        range: start..end,
                        replacement: s["suggested_replacement"].as_str().unwrap_or_default().to_string(),
                    })
                })
                .collect();
            if let Some(edits) = edits {
                groups.push(edits);
            }
        }
    }
    groups
}

/// `source` with the groups applied, skipping a group that overlaps one
/// taken before it, does not fit the source, or has two parts for one
/// range (rustc gives alternatives, such as imports to choose from, as
/// parts at one point); `None` if none applied.
pub fn apply(source: &str, groups: &[Vec<Edit>]) -> Option<String> {
    let mut taken: Vec<&Edit> = Vec::new();
    for group in groups {
        let fits = group.iter().all(|e| {
            e.range.start <= e.range.end
                && e.range.end <= source.len()
                && source.is_char_boundary(e.range.start)
                && source.is_char_boundary(e.range.end)
        });
        // Two edits at one point (both inserting there) count as overlapping.
        let overlaps = |a: &Edit, b: &Edit| a.range.start <= b.range.end && b.range.start <= a.range.end;
        let clear = group.iter().all(|e| taken.iter().all(|t| !overlaps(e, t) || *t == e));
        let alternatives =
            group.iter().enumerate().any(|(i, a)| group[i + 1..].iter().any(|b| a.range == b.range));
        if fits && clear && !alternatives {
            taken.extend(group.iter().filter(|e| !taken.contains(e)).collect::<Vec<_>>());
        }
    }
    if taken.is_empty() {
        return None;
    }
    taken.sort_by_key(|e| std::cmp::Reverse(e.range.start));
    let mut fixed = source.to_string();
    for edit in taken {
        fixed.replace_range(edit.range.clone(), &edit.replacement);
    }
    Some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(file: &str, start: usize, end: usize, text: &str, applicability: &str) -> serde_json::Value {
        serde_json::json!({"file_name": file, "byte_start": start, "byte_end": end,
                           "suggested_replacement": text, "suggestion_applicability": applicability})
    }

    fn error(children: Vec<serde_json::Value>) -> String {
        serde_json::json!({"level": "error", "message": "m", "spans": [], "children": children}).to_string()
    }

    #[test]
    fn takes_whole_code_suggestions_for_the_file_only() {
        let stderr = [
            error(vec![serde_json::json!({"spans": [span("c.rs", 4, 4, "mut ", "MachineApplicable")]})]),
            error(vec![serde_json::json!({"spans": [span("c.rs", 16, 16, ": f32", "MaybeIncorrect")]})]),
            error(vec![serde_json::json!({"spans": [span("c.rs", 12, 12, "/* Type */", "HasPlaceholders")]})]),
            error(vec![serde_json::json!({"spans": [span("c.rs", 13, 13, "x", "Unspecified")]})]),
            error(vec![serde_json::json!({"spans": [span("other.rs", 1, 1, "mut ", "MachineApplicable")]})]),
            // A warning's suggestion is not needed for the build.
            serde_json::json!({"level": "warning", "children": [{"spans": [span("c.rs", 0, 0, "x", "MachineApplicable")]}]})
                .to_string(),
            "not json".to_string(),
        ]
        .join("\n");
        let groups = suggested_fixes(&stderr, "c.rs");
        let edit = |at, text: &str| Edit { range: at..at, replacement: text.into() };
        assert_eq!(groups, vec![vec![edit(4, "mut ")], vec![edit(16, ": f32")]]);
        assert_eq!(
            apply("let x = 1; let y = 2.0;", &groups).as_deref(),
            Some("let mut x = 1; let y: f32 = 2.0;")
        );
    }

    #[test]
    fn a_group_applies_whole_or_not_at_all_and_overlaps_are_skipped() {
        let edit = |start, end, text: &str| Edit { range: start..end, replacement: text.into() };
        let source = "abcdef";
        let groups = vec![
            vec![edit(1, 2, "B"), edit(4, 5, "E")],
            // Overlaps the first group's second part: skipped whole.
            vec![edit(0, 0, "<"), edit(4, 4, "!")],
            // Out of range: skipped.
            vec![edit(3, 99, "?")],
            // The same edit twice (rustc repeats a suggestion for two errors).
            vec![edit(6, 6, ";")],
            vec![edit(6, 6, ";")],
            // Alternatives at one point (imports to choose from): none taken.
            vec![edit(3, 3, "x"), edit(3, 3, "y")],
        ];
        assert_eq!(apply(source, &groups).as_deref(), Some("aBcdEf;"));
        assert_eq!(apply(source, &[]), None);
    }
}
