//! Keeping the MAP-Elites grid in step with its observed ranges (see
//! [`crate::features`]): the ranges saved with the database, and the
//! re-binning of every program when one widens.

use rusqlite::Connection;

use crate::DbError;
use crate::features::FeatureSpace;
use crate::fitness::strictly_fitter;
use crate::index::Index;
use crate::store;

/// Where the current ranges are saved, one `[low, high]` or `null` per
/// dimension, in dimension order. Absent in databases made before observed
/// ranges.
pub const META_FEATURE_RANGES: &str = "db.feature_ranges";

pub(crate) fn save_ranges(conn: &Connection, space: &FeatureSpace) -> Result<(), DbError> {
    store::set_meta(conn, META_FEATURE_RANGES, &serde_json::to_value(space.ranges()).expect("numbers"))
}

/// Restores the saved ranges into `space`; false when none were saved.
pub(crate) fn load_ranges(conn: &Connection, space: &mut FeatureSpace) -> Result<bool, DbError> {
    let Some(value) = store::meta(conn, META_FEATURE_RANGES)? else { return Ok(false) };
    let saved: Vec<Option<[f64; 2]>> = serde_json::from_value(value)
        .map_err(|source| DbError::Json { what: "stored feature ranges", source })?;
    space.restore_ranges(&saved);
    Ok(true)
}

/// Puts every stored program into its cell under the current ranges, and
/// gives each cell of each island to the fittest program in it (the lower
/// id on a tie, as inserting them in order would). Depends only on the
/// stored programs, so a resumed run re-bins exactly as the original did.
pub(crate) fn rebin(conn: &Connection, index: &mut Index, space: &FeatureSpace) -> Result<(), DbError> {
    store::clear_cells(conn)?;
    index.clear_cells();
    for (id, values) in store::all_features(conn)? {
        let Some(hot) = index.get(id).copied() else { continue };
        let cell_key = space.cell_key(&space.bins_of(&values));
        if cell_key != hot.cell_key {
            store::set_cell_key(conn, id, cell_key)?;
            index.set_cell_key(id, cell_key);
        }
        let occupant = index.islands[hot.island].cells.get(&cell_key).copied();
        let takes = occupant
            .is_none_or(|old| strictly_fitter(hot.fitness, index.get(old).map_or(f64::NAN, |h| h.fitness)));
        if takes {
            store::set_cell(conn, hot.island, cell_key, id)?;
            index.take_cell(id);
        }
    }
    Ok(())
}
