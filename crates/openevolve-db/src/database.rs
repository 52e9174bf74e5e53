//! `ProgramDatabase`: opening and inserting. Where a program lands (cells,
//! archive, eviction) is `placement.rs`; the queries the rest of the system
//! needs are in `queries.rs`; sampling and migration live in their own
//! modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::json;

use crate::features::{FeatureSpace, fnv1a, jaccard_distance, token_shingles};
use crate::fitness::{fitness_with_stderr, ranking_fitness};
use crate::index::Index;
use crate::placement::{evict, load_index, place, remove_files, update_archive};
use crate::rng::DeterministicRng;
use crate::store::{self, ProgramRow};
use crate::{CellChange, DatabaseConfig, DbError, InsertOutcome, Mutation, NewProgram, ProgramId};

// Meta keys this crate owns; callers' own keys must not start with "db.".
pub(crate) const META_CONFIG: &str = "db.config";
pub(crate) const META_SEED: &str = "db.rng_seed";
pub(crate) const META_RNG_POS: &str = "db.rng_word_pos";
pub(crate) const META_ISLAND_GENERATIONS: &str = "db.island_generations";
pub(crate) const META_LAST_MIGRATION: &str = "db.last_migration_generation";

/// Where a new program goes: its islands (every one for the initial
/// program), its fitness, feature values and cell, and whether its values
/// widened a dimension's range (then every program is re-binned).
struct Placed {
    islands: Vec<usize>,
    mean: f64,
    stderr: f64,
    features: Vec<f64>,
    widened: bool,
    cell_key: u64,
}

/// The program database of one run, in one SQLite file.
pub struct ProgramDatabase {
    pub(crate) conn: Connection,
    pub(crate) config: DatabaseConfig,
    pub(crate) space: FeatureSpace,
    pub(crate) index: Index,
    pub(crate) rng: DeterministicRng,
    pub(crate) artifacts_dir: PathBuf,
    /// Generations (children stored) per island, for migration timing.
    pub(crate) island_generations: Vec<u64>,
    pub(crate) last_migration_generation: u64,
    /// Token shingles of the current diversity reference programs.
    diversity_cache: BTreeMap<ProgramId, Vec<u64>>,
    /// Artifact files of programs evicted inside an open iteration
    /// transaction: removed once it commits, since a rollback keeps them.
    pub(crate) pending_orphans: Vec<PathBuf>,
    /// Artifact files written inside an open iteration transaction:
    /// removed if it rolls back.
    pub(crate) pending_written: Vec<PathBuf>,
}

impl ProgramDatabase {
    /// Opens (creating or migrating) the database at `path`. An existing
    /// database keeps its seed and RNG position, so a resumed run continues
    /// the same random stream; its grid settings must match `config`.
    pub fn open(path: impl AsRef<Path>, config: &DatabaseConfig) -> Result<Self, DbError> {
        let path = path.as_ref();
        let problems = config.validate();
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
            return Err(DbError::InvalidConfig(text.join("; ")));
        }
        let mut conn = Connection::open(path)?;
        crate::schema::prepare(&mut conn)?;
        crate::schema::attach_prompt_log(&conn, &crate::snapshot::prompt_log_path(path))?;
        let stored_config = store::meta(&conn, META_CONFIG)?;
        // Made before observed ranges: no saved ranges beside a saved config.
        let legacy =
            stored_config.is_some() && store::meta(&conn, crate::grid::META_FEATURE_RANGES)?.is_none();
        let mut space = FeatureSpace::new(config, legacy);

        if let Some(stored) = stored_config {
            let stored: DatabaseConfig = serde_json::from_value(stored)
                .map_err(|source| DbError::Json { what: "stored config", source })?;
            let stored_space = FeatureSpace::new(&stored, legacy);
            if stored_space.describe() != space.describe() {
                return Err(DbError::ConfigMismatch {
                    key: "feature_dimensions/feature_bins/feature_ranges",
                    stored: stored_space.describe(),
                    given: space.describe(),
                });
            }
            if stored.num_islands != config.num_islands {
                return Err(DbError::ConfigMismatch {
                    key: "num_islands",
                    stored: stored.num_islands.to_string(),
                    given: config.num_islands.to_string(),
                });
            }
        }
        store::set_meta(&conn, META_CONFIG, &serde_json::to_value(config).expect("config serializes"))?;
        if !legacy && !crate::grid::load_ranges(&conn, &mut space)? {
            crate::grid::save_ranges(&conn, &space)?;
        }

        let seed = match store::meta(&conn, META_SEED)?.and_then(|v| v.as_u64()) {
            Some(seed) => seed,
            None => {
                let seed = config.random_seed.unwrap_or_else(entropy_seed);
                store::set_meta(&conn, META_SEED, &json!(seed))?;
                seed
            }
        };
        // u128 does not fit a JSON number; keep it as a decimal string.
        let word_pos = store::meta(&conn, META_RNG_POS)?
            .and_then(|v| v.as_str().and_then(|s| s.parse::<u128>().ok()))
            .unwrap_or(0);
        let mut island_generations: Vec<u64> = match store::meta(&conn, META_ISLAND_GENERATIONS)? {
            Some(v) => serde_json::from_value(v)
                .map_err(|source| DbError::Json { what: "island generations", source })?,
            None => Vec::new(),
        };
        island_generations.resize(config.num_islands, 0);
        let last_migration_generation =
            store::meta(&conn, META_LAST_MIGRATION)?.and_then(|v| v.as_u64()).unwrap_or(0);

        let artifacts_dir = match &config.artifacts_base_path {
            Some(dir) => PathBuf::from(dir),
            None => crate::snapshot::default_artifacts_dir(path),
        };
        let index = load_index(&conn, config)?;
        Ok(Self {
            conn,
            config: config.clone(),
            space,
            index,
            rng: DeterministicRng::new(seed, word_pos),
            artifacts_dir,
            island_generations,
            last_migration_generation,
            diversity_cache: BTreeMap::new(),
            pending_orphans: Vec::new(),
            pending_written: Vec::new(),
        })
    }

    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// Programs stored.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Stores a program in one transaction: its row and artifacts, its cell
    /// (taken when empty or the program is strictly fitter), the archive,
    /// and evictions down to `population_size`. When this returns, the
    /// program survives a kill of the process. An `Initial` program is stored
    /// once per island.
    pub fn insert(&mut self, program: NewProgram) -> Result<InsertOutcome, DbError> {
        let islands: Vec<usize> = if program.mutation == Mutation::Initial {
            (0..self.config.num_islands).collect()
        } else {
            self.check_island(program.island)?;
            vec![program.island]
        };
        let (mean, stderr) = fitness_with_stderr(&program.metrics, &self.config.feature_dimensions);
        let diversity = if self.space.uses_diversity() { Some(self.diversity(&program.code)?) } else { None };
        let features =
            self.space.values(&program.code, &program.metrics, mean, || diversity.unwrap_or(0.0))?;
        let widened = self.space.widen(&features);
        let cell_key = self.space.cell_key(&self.space.bins_of(&features));
        let placed = Placed { islands, mean, stderr, features, widened, cell_key };
        let mut written = Vec::new();
        match self.write_program(&program, &placed, &mut written) {
            Ok((ids, cells, evicted, orphans)) => {
                match self.conn.is_autocommit() {
                    true => remove_files(&orphans),
                    false => {
                        self.pending_orphans.extend(orphans);
                        self.pending_written.extend(written);
                    }
                }
                for id in &evicted {
                    self.diversity_cache.remove(id);
                }
                let best = self.index.best().expect("an insert leaves at least one program");
                Ok(InsertOutcome { ids, cells, evicted, best })
            }
            Err(err) => {
                self.recover_after_failed_write(&written)?;
                Err(err)
            }
        }
    }

    /// Writes `program` where `placed` says, in a savepoint: its own
    /// transaction, or a part of the iteration's when one is open. Returns
    /// its ids, cell changes, the evicted programs and their orphaned
    /// artifact files; `written` collects the artifact files it wrote.
    fn write_program(
        &mut self,
        program: &NewProgram,
        placed: &Placed,
        written: &mut Vec<PathBuf>,
    ) -> Result<(Vec<ProgramId>, Vec<CellChange>, Vec<ProgramId>, Vec<PathBuf>), DbError> {
        let fit = ranking_fitness(placed.mean, placed.stderr, self.config.noise_z);
        let code_hash = crate::identity::code_key(&program.code);
        let prompt = program.prompt.as_deref().filter(|_| self.config.log_prompts);
        let tx = self.conn.savepoint()?;
        if placed.widened {
            crate::grid::rebin(&tx, &mut self.index, &self.space)?;
            crate::grid::save_ranges(&tx, &self.space)?;
        }
        let mut ids = Vec::new();
        let mut cells = Vec::new();
        for &island in &placed.islands {
            let row = ProgramRow {
                code: &program.code,
                code_hash: &code_hash,
                language: &program.language,
                parent_id: program.parent_id,
                island,
                generation: program.generation,
                iteration_found: program.iteration_found,
                metrics: &program.metrics,
                fitness: placed.mean,
                fitness_stderr: placed.stderr,
                samples: program.samples.max(1),
                features: &placed.features,
                cell_key: placed.cell_key,
                model: program.model.as_deref(),
                mutation: program.mutation,
                prompt,
                migrated_from: None,
                behaviour: program.behaviour.as_deref(),
            };
            let id = store::insert_program(&tx, &row)?;
            let threshold = self.config.artifact_size_threshold;
            store::insert_artifacts(&tx, id, &program.artifacts, threshold, &self.artifacts_dir, written)?;
            cells.push(place(&tx, &mut self.index, id, island, placed.cell_key, fit)?);
            update_archive(&tx, &mut self.index, id, self.config.archive_size)?;
            ids.push(id);
        }
        if program.mutation != Mutation::Initial {
            self.island_generations[program.island] += 1;
        }
        store::set_meta(&tx, META_ISLAND_GENERATIONS, &json!(self.island_generations))?;
        save_rng_position(&tx, &self.rng)?;
        let (evicted, orphans) =
            evict(&tx, &mut self.index, self.config.population_size, &self.artifacts_dir)?;
        tx.commit()?;
        Ok((ids, cells, evicted, orphans))
    }

    /// After a rolled-back write the in-memory index may be ahead of the file:
    /// rebuild it from the file, which is the truth.
    pub(crate) fn recover_after_failed_write(&mut self, written: &[PathBuf]) -> Result<(), DbError> {
        remove_files(written);
        self.index = load_index(&self.conn, &self.config)?;
        crate::grid::load_ranges(&self.conn, &mut self.space)?;
        self.island_generations = match store::meta(&self.conn, META_ISLAND_GENERATIONS)? {
            Some(v) => serde_json::from_value(v).unwrap_or_default(),
            None => Vec::new(),
        };
        self.island_generations.resize(self.config.num_islands, 0);
        self.diversity_cache.clear();
        Ok(())
    }

    /// Mean token-bigram Jaccard distance to the `diversity_reference_size`
    /// fittest programs (0 while there are none).
    pub(crate) fn diversity(&mut self, code: &str) -> Result<f64, DbError> {
        let reference: Vec<ProgramId> = self
            .index
            .ranking
            .iter()
            .rev()
            .take(self.config.diversity_reference_size)
            .map(|r| r.id)
            .collect();
        if reference.is_empty() {
            return Ok(0.0);
        }
        self.diversity_cache.retain(|id, _| reference.contains(id));
        for &id in &reference {
            if !self.diversity_cache.contains_key(&id) {
                let shingles = token_shingles(&store::load_code(&self.conn, id)?);
                self.diversity_cache.insert(id, shingles);
            }
        }
        let own = token_shingles(code);
        let total: f64 = reference.iter().map(|id| jaccard_distance(&own, &self.diversity_cache[id])).sum();
        Ok(total / reference.len() as f64)
    }

    pub(crate) fn check_island(&self, island: usize) -> Result<(), DbError> {
        if island >= self.config.num_islands {
            return Err(DbError::NoSuchIsland { island, num_islands: self.config.num_islands });
        }
        Ok(())
    }

    /// Stores a run-level value (iteration counter, controller state...).
    /// Keys starting with `db.` belong to this crate.
    pub fn set_meta(&self, key: &str, value: &serde_json::Value) -> Result<(), DbError> {
        store::set_meta(&self.conn, key, value)
    }

    pub fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, DbError> {
        store::meta(&self.conn, key)
    }

    /// The run's seed: `random_seed` of the first open (the caller resolves
    /// the top-level seed into it), or drawn once and stored when it was
    /// unset. The database owns it; a resumed run reads it from here.
    pub fn run_seed(&self) -> u64 {
        self.rng.seed()
    }

    /// Position of the sampling stream (tests compare runs by it).
    pub fn rng_position(&self) -> u128 {
        self.rng.word_pos()
    }
}

/// Writes the stream position inside `tx`, the transaction of a write: the
/// position survives exactly when the write does.
pub(crate) fn save_rng_position(tx: &Connection, rng: &DeterministicRng) -> Result<(), DbError> {
    // u128 does not fit a JSON number; keep it as a decimal string.
    store::set_meta(tx, META_RNG_POS, &json!(rng.word_pos().to_string()))
}

/// A seed when neither the config nor the file gives one: time and process id.
fn entropy_seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    fnv1a(format!("{nanos}:{}", std::process::id()).as_bytes())
}
