#!/usr/bin/env bash
# On the GPU machine (no registries): joins the mlx-cuda-13 wheel brought in
# pieces by gpu-pack.sh, sets MLX up without compilers (the NVIDIA libraries come
# from the Python packages already installed, e.g. PyTorch's), runs mlx-smoke on
# the GPU, then the same bf16 matmul through PyTorch (cuBLAS), in one call so the
# two figures are comparable.
#
#   crates/mlx-smoke/gpu-smoke.sh DIR [N] [ITERS]
#
# DIR holds mlx-smoke and wheel.part.* (all pieces).
set -euo pipefail
dir="${1:?usage: gpu-smoke.sh DIR [N] [ITERS]}"
n="${2:-8192}"
iters="${3:-20}"
cd "$(dirname "$0")/../.."
source scripts/lib/mlx-gpu-runtime.sh && mlx_gpu_runtime "$dir"
chmod +x "$dir/mlx-smoke"
"$dir/mlx-smoke" --size "$n" --iters "$iters"
python3 crates/mlx-smoke/torch_matmul.py "$n" "$iters" bf16
