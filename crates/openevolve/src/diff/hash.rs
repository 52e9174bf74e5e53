//! Program identity: two programs are the same when their normalized code is.

use sha2::{Digest, Sha256};

/// The code with line endings as `\n`, trailing whitespace removed from each
/// line, and trailing blank lines removed (a non-empty result ends with one
/// `\n`). Edits that only touch these are not changes worth evaluating.
pub fn normalize_code(code: &str) -> String {
    let mut lines: Vec<&str> = code.split('\n').map(|l| l.trim_end()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut normalized = lines.join("\n");
    if !normalized.is_empty() {
        normalized.push('\n');
    }
    normalized
}

/// Stable identity of a program: lowercase hex SHA-256 of [`normalize_code`].
/// The same across runs, platforms and versions, so it may be stored.
pub fn code_hash(code: &str) -> String {
    let digest = Sha256::digest(normalize_code(code).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
