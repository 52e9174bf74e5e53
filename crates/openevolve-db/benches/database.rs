//! Median cost of insert and of sampling with 1k, 10k and 100k stored
//! programs of ~2 KB each: `cargo bench -p openevolve-db --bench database`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod workload;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("program_database");
    group.sample_size(50).warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(4));
    for n in [1_000usize, 10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let (mut db, mut g) = workload::filled(&dir.path().join("bench.db"), n);
        let mut i = n as u64;
        group.bench_with_input(BenchmarkId::new("insert", n), &n, |b, _| {
            b.iter(|| {
                i += 1;
                db.insert(workload::program(&mut g, i)).unwrap()
            })
        });
        assert_eq!(db.len(), n, "the population stays at its cap");
        let mut island = 0;
        group.bench_with_input(BenchmarkId::new("sample_parent", n), &n, |b, _| {
            b.iter(|| {
                island = (island + 1) % 5;
                db.sample_parent(island).unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::new("sample_parent_and_inspirations", n), &n, |b, _| {
            b.iter(|| {
                island = (island + 1) % 5;
                let parent = db.sample_parent(island).unwrap();
                db.sample_inspirations(island, parent.id, 3, 2).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
