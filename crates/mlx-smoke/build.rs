fn main() {
    // libmlx.so is linked dynamically; the smoke binary and tests need its rpath.
    mlx_link::emit();
    // So the program can say which MLX build it was linked against.
    let backend = std::env::var("DEP_MLX_BACKEND").unwrap_or_else(|_| "cpu".into());
    println!("cargo:rustc-env=MLX_SMOKE_BACKEND={backend}");
}
