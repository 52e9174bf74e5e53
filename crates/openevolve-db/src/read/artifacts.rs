//! A program's artifacts as a reader sees them: small ones are stored
//! inline, large ones in files under the run's artifacts folder.

use super::Reader;
use std::path::Path;

use rusqlite::{OptionalExtension, params};

use crate::{DbError, ProgramId};

/// One artifact of a program.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactEntry {
    pub name: String,
    pub is_text: bool,
    pub size: i64,
    /// The text, for a text artifact of at most the inline limit asked for
    /// (lossy UTF-8; `None` when its file is gone).
    pub text: Option<String>,
}

/// `id`'s artifacts by name, with the text of text artifacts of at most
/// `inline_limit` bytes; large ones are read from `artifacts_dir`.
pub fn list(
    reader: &Reader,
    artifacts_dir: &Path,
    id: ProgramId,
    inline_limit: i64,
) -> Result<Vec<ArtifactEntry>, DbError> {
    let conn = &reader.conn;
    type Stored = (String, bool, i64, Option<Vec<u8>>, Option<String>);
    let rows: Vec<Stored> = conn
        .prepare(
            "SELECT name, is_text, size, CASE WHEN is_text AND size <= ?2 THEN inline END, file \
             FROM artifacts WHERE program_id = ?1 ORDER BY name",
        )?
        .query_map(params![id, inline_limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let lossy = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Ok(rows
        .into_iter()
        .map(|(name, is_text, size, inline, file)| {
            let text = match (is_text && size <= inline_limit, inline, file) {
                (false, _, _) => None,
                (true, Some(bytes), _) => Some(lossy(bytes)),
                (true, None, Some(rel)) => std::fs::read(artifacts_dir.join(rel)).ok().map(lossy),
                (true, None, None) => Some(String::new()),
            };
            ArtifactEntry { name, is_text, size, text }
        })
        .collect())
}

/// An artifact's bytes and whether they are text; `None` when `id` has no
/// artifact `name`.
pub fn bytes(
    reader: &Reader,
    artifacts_dir: &Path,
    id: ProgramId,
    name: &str,
) -> Result<Option<(bool, Vec<u8>)>, DbError> {
    let conn = &reader.conn;
    let stored: Option<(bool, Option<Vec<u8>>, Option<String>)> = conn
        .query_row(
            "SELECT is_text, inline, file FROM artifacts WHERE program_id = ?1 AND name = ?2",
            params![id, name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((is_text, inline, file)) = stored else { return Ok(None) };
    let bytes = match (inline, file) {
        (Some(bytes), _) => bytes,
        (None, Some(rel)) => {
            let path = artifacts_dir.join(rel);
            std::fs::read(&path).map_err(|source| DbError::ArtifactFile { path, source })?
        }
        (None, None) => Vec::new(),
    };
    Ok(Some((is_text, bytes)))
}
