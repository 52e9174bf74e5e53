//! Trimming rustc's diagnostics to what helps the next prompt: the errors
//! with their spans, without warnings, summaries and `--explain` hints.

/// Most bytes of diagnostics kept for one failed build.
pub const MAX_DIAGNOSTIC_BYTES: usize = 6 * 1024;
const MAX_ERRORS: usize = 8;

/// Renders the `error`-level diagnostics from rustc's `--error-format=json`
/// output, at most `max_bytes` (cut on a line boundary, with a note).
pub fn trim_rustc_json(stderr: &str, max_bytes: usize) -> String {
    let mut errors = Vec::new();
    let mut other = Vec::new();
    for line in stderr.lines() {
        let Ok(diag) = serde_json::from_str::<serde_json::Value>(line) else {
            // Not JSON: a linker or driver message; keep it.
            if !line.trim().is_empty() {
                other.push(line.to_string());
            }
            continue;
        };
        if diag["level"] != "error" {
            continue;
        }
        let message = diag["message"].as_str().unwrap_or_default();
        // The closing summaries carry no information of their own.
        if message.starts_with("aborting due to") {
            continue;
        }
        let rendered = diag["rendered"].as_str().unwrap_or(message);
        let rendered: Vec<&str> = without_impl_lists(rendered)
            .filter(|l| !l.starts_with("For more information") && !l.starts_with("Some errors have detailed"))
            .collect();
        errors.push(rendered.join("\n").trim_end().to_string());
    }
    let total = errors.len();
    let mut text = errors.into_iter().take(MAX_ERRORS).collect::<Vec<_>>().join("\n\n");
    if total > MAX_ERRORS {
        text.push_str(&format!("\n\n... and {} more errors", total - MAX_ERRORS));
    }
    if !other.is_empty() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&other.join("\n"));
    }
    head(&text, max_bytes)
}

/// The lines of `rendered` without rustc's lists of the types that do
/// implement a trait (`= help: the following other types implement trait
/// `Mul<Rhs>`:` and eight lines of `&f128`, `&f16`..., `and 69 others`):
/// they name none of the program's own types, and a repair prompt that
/// carries them costs a CPU model seconds of reading.
fn without_impl_lists(rendered: &str) -> impl Iterator<Item = &str> {
    let mut list_indent: Option<usize> = None;
    rendered.lines().filter(move |line| {
        let indent = line.len() - line.trim_start().len();
        if list_indent.is_some_and(|at| indent > at) {
            return false;
        }
        let help = line.trim_start().strip_prefix("= help: the following ");
        list_indent = help.filter(|h| h.contains("implement trait")).map(|_| indent);
        list_indent.is_none()
    })
}

/// The first `max_bytes` of `text`, cut at a line (or char) boundary.
pub fn head(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind('\n').filter(|&i| i > max_bytes / 2).unwrap_or(cut);
    format!("{}\n... ({} more bytes cut)", &text[..cut], text.len() - cut)
}

/// The last `max_bytes` of `text` (where build tools put the cause).
pub fn tail(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut start = text.len() - max_bytes;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("({start} bytes cut) ...\n{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_errors_drops_warnings_and_summaries() {
        let input = [
            r#"{"$message_type":"diagnostic","message":"unused variable: `x`","level":"warning","rendered":"warning: unused variable"}"#,
            r#"{"$message_type":"diagnostic","message":"mismatched types","level":"error","rendered":"error[E0308]: mismatched types\n --> c.rs:3:5\n  |\n3 |     1.0\n  |     ^^^ expected `u32`, found floating-point number\n"}"#,
            r#"{"$message_type":"diagnostic","message":"aborting due to 1 previous error","level":"error","rendered":"error: aborting due to 1 previous error\n"}"#,
            r#"{"$message_type":"diagnostic","message":"For more information about this error, try `rustc --explain E0308`.","level":"failure-note","rendered":"For more information about this error, try `rustc --explain E0308`.\n"}"#,
        ]
        .join("\n");
        let out = trim_rustc_json(&input, 10_000);
        assert!(out.starts_with("error[E0308]: mismatched types\n --> c.rs:3:5"), "{out}");
        assert!(!out.contains("warning"), "{out}");
        assert!(!out.contains("aborting"), "{out}");
        assert!(!out.contains("For more information"), "{out}");
    }

    #[test]
    fn drops_the_lists_of_types_that_implement_a_trait_and_keeps_what_follows() {
        let head = "error[E0277]: cannot multiply `{integer}` by `{float}`\n  --> c.rs:42:52\n   |\n42 |     let r = n * 0.95;\n   |               ^ no implementation for `{integer} * {float}`\n   |\n   = help: the trait `Mul<{float}>` is not implemented for `{integer}`\n";
        let list = "   = help: the following other types implement trait `Mul<Rhs>`:\n             `&f128` implements `Mul<f128>`\n             `&f64` implements `Mul`\n           and 69 others\n";
        let after = "   = note: a note after the list\nhelp: consider using a floating-point literal";
        let rendered = format!("{head}{list}{after}\n");
        let line = serde_json::json!({"message": "cannot multiply", "level": "error", "rendered": rendered});
        assert_eq!(trim_rustc_json(&line.to_string(), 10_000), format!("{head}{after}"));
    }

    #[test]
    fn bounds_size() {
        let line = r#"{"message":"e","level":"error","rendered":"error: something long\n"}"#;
        let input = vec![line; 100].join("\n");
        let out = trim_rustc_json(&input, 200);
        assert!(out.len() < 260, "{}", out.len());
        assert!(out.contains("more bytes cut"));
    }
}
