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
wheel="$dir/mlx_cuda_13-0.32.2-py3-none-manylinux_2_35_x86_64.whl"
[ -e "$wheel" ] || cat "$dir"/wheel.part.* >"$wheel"
scripts/setup-mlx.sh --backend cuda13 --runtime-only --wheel "$wheel"
prefix="${MLX_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/openevolve/mlx}/cuda13-0.32.2/mlx"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
chmod +x "$dir/mlx-smoke"
LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$dir/mlx-smoke" --size "$n" --iters "$iters"
python3 crates/mlx-smoke/torch_matmul.py "$n" "$iters" bf16
