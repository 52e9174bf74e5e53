fn main() {
    // libmlx.so is linked dynamically; tests and examples need its rpath.
    mlx_link::emit();
}
