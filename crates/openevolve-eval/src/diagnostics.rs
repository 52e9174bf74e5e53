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
        let rendered: Vec<&str> = rendered
            .lines()
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
    fn bounds_size() {
        let line = r#"{"message":"e","level":"error","rendered":"error: something long\n"}"#;
        let input = vec![line; 100].join("\n");
        let out = trim_rustc_json(&input, 200);
        assert!(out.len() < 260, "{}", out.len());
        assert!(out.contains("more bytes cut"));
    }
}
