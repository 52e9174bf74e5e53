//! Program identity: two programs are the same program when their
//! normalized code is the same. This module owns that rule: the database
//! keys stored programs by it (so a child that differs from a stored program
//! only in whitespace is a duplicate, not a new evaluation), and the diff
//! engine tells an unchanged child by it.

use crate::features::fnv1a;

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

/// The `code_hash` column: FNV-1a of the normalized code, as 16 hex digits.
/// Equal keys are confirmed on the normalized code itself.
pub(crate) fn code_key(code: &str) -> String {
    format!("{:016x}", fnv1a(normalize_code(code).as_bytes()))
}

/// Whether two codes are the same program.
pub(crate) fn same_program(a: &str, b: &str) -> bool {
    a == b || normalize_code(a) == normalize_code(b)
}
