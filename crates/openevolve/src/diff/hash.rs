//! Program identity: two programs are the same when their normalized code is
//! (the rule is `openevolve_db`'s, which keys stored programs by it).

pub use openevolve_db::normalize_code;
use sha2::{Digest, Sha256};

/// Stable identity of a program: lowercase hex SHA-256 of [`normalize_code`].
/// The same across runs, platforms and versions, so it may be stored.
pub fn code_hash(code: &str) -> String {
    let digest = Sha256::digest(normalize_code(code).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
