// Prints the GPU selection it was given (Slurm sets it for --gres=gpu).
pub fn run() -> f64 {
    println!("CUDA_VISIBLE_DEVICES={:?}", std::env::var("CUDA_VISIBLE_DEVICES").ok());
    1.0
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
