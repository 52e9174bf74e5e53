//! Programs for the benchmarks: ~2 KB of Rust-like code that varies in
//! tokens and length, with a pseudo-random score.

use std::collections::BTreeMap;

use openevolve_db::{DatabaseConfig, FeatureBins, Metrics, Mutation, NewProgram, ProgramDatabase};

pub fn config(population_size: usize) -> DatabaseConfig {
    DatabaseConfig {
        population_size,
        archive_size: 100,
        num_islands: 5,
        feature_dimensions: vec!["complexity".into(), "diversity".into()],
        feature_bins: FeatureBins::All(10),
        feature_ranges: BTreeMap::from([("complexity".into(), [1500.0, 2600.0])]),
        random_seed: Some(7),
        ..DatabaseConfig::default()
    }
}

/// A small deterministic generator (SplitMix64), so runs are comparable.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

pub fn program(g: &mut Gen, i: u64) -> NewProgram {
    const OPS: [&str; 6] = ["+", "-", "*", "^", "|", "&"];
    let mut code = format!("// candidate {i}\nfn evolved(x: &[u64]) -> u64 {{\n    let mut acc = 0u64;\n");
    while code.len() < 1900 + (g.next() % 200) as usize {
        let (a, b, op) = (g.next() % 40, g.next() % 1000, OPS[(g.next() % 6) as usize]);
        code.push_str(&format!("    acc = acc.wrapping_add(x[{a} % x.len()] {op} {b}u64);\n"));
    }
    code.push_str("    acc\n}\n");
    NewProgram {
        code,
        language: "rust".into(),
        parent_id: None,
        island: (i % 5) as usize,
        generation: 1,
        iteration_found: i,
        metrics: Metrics::from([("combined_score".into(), (g.next() % 1_000_000) as f64 / 1e6)]),
        artifacts: BTreeMap::new(),
        model: Some("bench".into()),
        mutation: Mutation::Diff,
        prompt: None,
        behaviour: None,
        samples: 1,
    }
}

/// A database holding `n` programs (population cap `n`, so later inserts
/// evict one each and the size stays put).
pub fn filled(path: &std::path::Path, n: usize) -> (ProgramDatabase, Gen) {
    let mut db = ProgramDatabase::open(path, &config(n)).unwrap();
    let mut g = Gen(1);
    let mut first = program(&mut g, 0);
    first.mutation = Mutation::Initial;
    db.insert(first).unwrap();
    for i in 1..n as u64 {
        db.insert(program(&mut g, i)).unwrap();
    }
    (db, g)
}
