//! Reading a database file that another process writes (the web view),
//! through the rules this crate owns, without opening it for writing.

use rusqlite::Connection;

use crate::database::META_CONFIG;
use crate::features::FeatureSpace;
use crate::{DatabaseConfig, DbError, store};

/// Each grid dimension's current range, in dimension order: the one the
/// user fixed, or the values seen so far (`None` before the first). Reads
/// the file as it is now; observed ranges widen as programs arrive.
pub fn feature_ranges(conn: &Connection) -> Result<Vec<Option<[f64; 2]>>, DbError> {
    let Some(stored) = store::meta(conn, META_CONFIG)? else { return Ok(Vec::new()) };
    let config: DatabaseConfig =
        serde_json::from_value(stored).map_err(|source| DbError::Json { what: "stored config", source })?;
    let mut space = FeatureSpace::new(&config, false);
    if !crate::grid::load_ranges(conn, &mut space)? {
        space = FeatureSpace::new(&config, true);
    }
    Ok(space.ranges())
}
