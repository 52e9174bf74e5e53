//! The allocator counters are process-wide: this file runs in its own process,
//! with one test, so nothing else allocates meanwhile.

#[test]
fn memory_counters_track_an_allocation() {
    const ELEMENTS: i32 = 1 << 22; // 16 MiB of f32
    let bytes = ELEMENTS as usize * 4;
    let m = mlx_smoke::memory_probe(ELEMENTS).unwrap();
    assert!(m.active_with_array >= m.active_before + bytes, "{m:?}");
    assert!(m.peak >= m.active_with_array, "{m:?}");
    // A freed buffer stays in MLX's cache until the cache is cleared.
    assert!(m.cache_after_drop >= bytes, "{m:?}");
    assert_eq!(m.cache_after_clear, 0, "{m:?}");
}
