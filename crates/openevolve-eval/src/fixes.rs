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
//! Suggestions with placeholders are never applied. Two slips small models
//! make often get a fix derived here, where rustc offers none
//! ([`derived_fixes`]): `std::f64::exp(x)` (the float modules hold
//! constants; the functions are `f64`'s methods) and `_` read as a value
//! in the loop `for _ in` (the loop's variable gets a name).

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

/// Fixes derived here for errors rustc gives no fix for, from its
/// `--error-format=json` output and the `source` it compiled as `file`:
/// a float module's path before a method (`std::f64::exp(x)` becomes
/// `f64::exp(x)`), and `_` read as a value inside a `for _ in` loop (the
/// loop's variable gets a name, and the reads use it).
pub fn derived_fixes(stderr: &str, file: &str, source: &str) -> Vec<Vec<Edit>> {
    let mut groups = Vec::new();
    for line in stderr.lines() {
        let Ok(diagnostic) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if diagnostic["level"] != "error" {
            continue;
        }
        groups.extend(float_module_fix(&diagnostic, file));
        groups.extend(loop_variable_fix(&diagnostic, file, source));
    }
    groups
}

/// The byte where `diagnostic`'s primary span in `file` starts.
fn primary_start<'a>(
    diagnostic: &'a serde_json::Value,
    file: &str,
) -> Option<(usize, &'a serde_json::Value)> {
    let spans = diagnostic["spans"].as_array()?;
    let span = spans.iter().find(|s| s["is_primary"] == true && s["file_name"] == file)?;
    Some((span["byte_start"].as_u64()? as usize, span))
}

/// For `cannot find function `exp` in module `std::f64``: the module path
/// before the name, as written on the diagnostic's line, replaced by the
/// primitive type (`f64::exp`, a method called as a function, builds).
fn float_module_fix(diagnostic: &serde_json::Value, file: &str) -> Option<Vec<Edit>> {
    let message = diagnostic["message"].as_str()?.strip_prefix("cannot find function `")?;
    let module = message.split_once("` in module `")?.1.strip_suffix('`')?;
    let primitive = match module {
        "std::f64" | "core::f64" => "f64",
        "std::f32" | "core::f32" => "f32",
        _ => return None,
    };
    let (start, span) = primary_start(diagnostic, file)?;
    // rustc's columns count chars from 1; the check keeps the edit to a
    // path written exactly so, without spaces or comments inside it.
    let line = &span["text"][0];
    let column = (line["highlight_start"].as_u64()? as usize).checked_sub(1)?;
    let before: String = line["text"].as_str()?.chars().take(column).collect();
    let path = format!("{module}::");
    if !before.ends_with(&path) {
        return None;
    }
    let range = start.checked_sub(path.len())?..start;
    Some(vec![Edit { range, replacement: format!("{primitive}::") }])
}

/// For `_` read as a value (`if _ % 100 == 0`) in the body of a `for _ in`
/// loop: the loop's `_` and this read become a name the source does not use.
/// Only where the code between the loop and the read is plain enough to
/// be sure which loop that is: no string or char literal, no block comment,
/// no closure taking `_` (whose `_` the read may have meant).
fn loop_variable_fix(diagnostic: &serde_json::Value, file: &str, source: &str) -> Option<Vec<Edit>> {
    let message = diagnostic["message"].as_str()?;
    if !message.starts_with("in expressions, `_` can only be used on the left-hand side") {
        return None;
    }
    let (read, _) = primary_start(diagnostic, file)?;
    if source.get(read..read + 1)? != "_" {
        return None;
    }
    let name = ["i", "n", "step", "round"].into_iter().find(|name| !uses_identifier(source, name))?;
    // The nearest `for _ in` before the read whose body is still open there.
    let mut end = read;
    let variable = loop {
        let at = source[..end].rfind("for _ in ")?;
        let code = without_line_comments(source.get(at..read)?);
        if ["\"", "'", "/*", "|_", "_|"].iter().any(|t| code.contains(t)) {
            return None;
        }
        if body_encloses_end(&code["for _ in ".len()..])? {
            break at + "for ".len();
        }
        end = at;
    };
    let edit = |at: usize| Edit { range: at..at + 1, replacement: name.to_string() };
    Some(vec![edit(variable), edit(read)])
}

/// `code` with each `//` comment cut, up to its line's end.
fn without_line_comments(code: &str) -> String {
    let cut = |line: &str| match (line.find("//"), line.ends_with('\n')) {
        (Some(at), true) => format!("{}\n", &line[..at]),
        (Some(at), false) => line[..at].to_string(),
        (None, _) => line.to_string(),
    };
    code.split_inclusive('\n').map(cut).collect()
}

/// For `header`, the text after a loop's `for _ in`: whether the body's
/// `{` (the first outside parentheses and brackets) opens and is still open
/// at the text's end; `None` if there is no body.
fn body_encloses_end(header: &str) -> Option<bool> {
    let (mut nesting, mut depth) = (0usize, 0usize);
    let mut opened = false;
    for c in header.chars() {
        match c {
            '(' | '[' if !opened => nesting += 1,
            ')' | ']' if !opened => nesting = nesting.saturating_sub(1),
            '{' if !opened && nesting == 0 => (opened, depth) = (true, 1),
            '{' if opened => depth += 1,
            '}' if opened && depth == 1 => return Some(false),
            '}' if opened => depth -= 1,
            _ => {}
        }
    }
    opened.then_some(true)
}

/// Whether `name` occurs in `source` as an identifier.
fn uses_identifier(source: &str, name: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '_';
    source.match_indices(name).any(|(at, _)| {
        let before = source[..at].chars().next_back();
        let after = source[at + name.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
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
    fn a_float_module_path_before_a_function_becomes_the_primitive_type() {
        // The comment makes rustc's char columns differ from byte offsets.
        let source =
            "fn f(t: f64) -> f64 {\n    /* π */ std::f64::exp(-t) + core::f32::sqrt(2.0) as f64\n}\n";
        let diagnostic = |name: &str, module: &str, file: &str| {
            let line = source.lines().nth(1).unwrap();
            let at = line.find(&format!("{module}::{name}(")).unwrap() + module.len() + 2;
            let start = source.find(line).unwrap() + at;
            serde_json::json!({"level": "error", "message": format!("cannot find function `{name}` in module `{module}`"),
                "children": [], "spans": [{"file_name": file, "is_primary": true, "byte_start": start,
                "byte_end": start + name.len(), "text": [{"text": line, "highlight_start": line[..at].chars().count() + 1}]}]})
            .to_string()
        };
        let stderr =
            [diagnostic("exp", "std::f64", "c.rs"), diagnostic("sqrt", "core::f32", "c.rs")].join("\n");
        assert_eq!(
            apply(source, &derived_fixes(&stderr, "c.rs", source)).as_deref(),
            Some("fn f(t: f64) -> f64 {\n    /* π */ f64::exp(-t) + f32::sqrt(2.0) as f64\n}\n")
        );
        // Another module, another file, or a line that does not show the path: no edit.
        let other = diagnostic("exp", "std::f64", "c.rs").replace("std::f64`", "rand`");
        let elsewhere = diagnostic("exp", "std::f64", "other.rs");
        let moved = diagnostic("exp", "std::f64", "c.rs").replace("std::f64::exp(-t)", "std ::f64::exp(-t)");
        for stderr in [other, elsewhere, moved] {
            assert_eq!(derived_fixes(&stderr, "c.rs", source), Vec::<Vec<Edit>>::new(), "{stderr}");
        }
    }

    #[test]
    fn an_underscore_read_in_its_loop_gets_a_name_that_is_free() {
        let underscore = |source: &str, nth: usize| {
            let at = source.match_indices("if _").nth(nth).unwrap().0 + 3;
            serde_json::json!({"level": "error", "message": "in expressions, `_` can only be used on the left-hand side of an assignment",
                "children": [], "spans": [{"file_name": "c.rs", "is_primary": true, "byte_start": at, "byte_end": at + 1}]})
            .to_string()
        };
        // Two reads in the inner loop; the outer loop's `_` and the closed
        // loop before it stay; `i` is taken, so the name is `n`.
        let source = "fn f(i: u32) -> u32 {\n    let mut s = i;\n    for _ in 0..2 { s += 1; }\n    for _ in 0..3 {\n        for _ in 0..4 {\n            if _ % 2 == 0 { s += 1; }\n            if _ > 2 { s += 2; }\n        }\n    }\n    s\n}\n";
        let stderr = [underscore(source, 0), underscore(source, 1)].join("\n");
        let fixed = apply(source, &derived_fixes(&stderr, "c.rs", source)).unwrap();
        assert_eq!(
            fixed,
            source.replace("for _ in 0..4", "for n in 0..4").replace("if _", "if n"),
            "{fixed}"
        );
        // Braces in the loop's header and in a line comment do not count.
        let header = "fn f() {\n    for _ in (0..4).map(|k| { k * 2 }) {\n        // } ends nothing\n        if _ > 2 {}\n    }\n}\n";
        let fixed = apply(header, &derived_fixes(&underscore(header, 0), "c.rs", header)).unwrap();
        assert_eq!(fixed, header.replace("for _", "for i").replace("if _", "if i"));
        // No enclosing `for _ in` loop, a closure's `_` the read may mean, or
        // a literal between loop and read that may hide a brace: no edit.
        for source in [
            "fn f() -> u32 {\n    for _ in 0..2 { }\n    if _ { 1 } else { 0 }\n}\n",
            "fn f() {\n    for _ in 0..3 {\n        (0..4).for_each(|_| { if _ == 1 {} });\n    }\n}\n",
            "fn f() {\n    for _ in 0..3 {\n        let t = \"}\";\n        if _ == 1 {}\n    }\n}\n",
        ] {
            assert_eq!(
                derived_fixes(&underscore(source, 0), "c.rs", source),
                Vec::<Vec<Edit>>::new(),
                "{source}"
            );
        }
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
