# Sourced by the GPU-machine scripts (offline, no compilers): sets MLX's CUDA
# 13 runtime up from the mlx-cuda-13 wheel in DIR (whole, or in the
# wheel.part.* pieces the pack scripts split it into), puts libmlx.so on
# LD_LIBRARY_PATH and prints the GPU. Run from the repository root.
#
#   source scripts/lib/mlx-gpu-runtime.sh && mlx_gpu_runtime DIR
mlx_gpu_runtime() {
  local dir="$1"
  local wheel="$dir/mlx_cuda_13-0.32.2-py3-none-manylinux_2_35_x86_64.whl"
  [ -e "$wheel" ] || cat "$dir"/wheel.part.* >"$wheel"
  scripts/setup-mlx.sh --backend cuda13 --runtime-only --wheel "$wheel"
  local prefix="${MLX_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/openevolve/mlx}/cuda13-0.32.2/mlx"
  export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
}
