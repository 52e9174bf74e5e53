#!/usr/bin/env bash
# For the MLX training examples (mlx_lora_finetuning, mlx_finetuning_memory).
# On a build machine (registries reachable): builds the example's evaluator
# and the programs given (default: its initial.rs) for MLX's CUDA 13 backend
# and packs everything an offline GPU machine needs into OUT (ignored by git
# under target/), in pieces of at most PIECE_MB (45) MB so that each can
# travel alone: bin/ (the evaluator and <program>.so), the mlx-cuda-13
# wheel, the model file and the WordNet data.
# Then, on the GPU machine: scripts/mlx-training-gpu-run.sh OUT (see there).
#
#   scripts/mlx-training-gpu-pack.sh EXAMPLE_DIR OUT [PROGRAM.rs ...]
set -euo pipefail
ex="${1:?usage: mlx-training-gpu-pack.sh EXAMPLE_DIR OUT [PROGRAM.rs ...]}"
out="${2:?usage: mlx-training-gpu-pack.sh EXAMPLE_DIR OUT [PROGRAM.rs ...]}"
shift 2
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=("$ex/initial.rs")
cd "$(dirname "$0")/.."
piece="${PIECE_MB:-45}M"

scripts/setup-mlx.sh --backend cuda13
scripts/setup-lora-data.sh
cargo build --release -p openevolve-cli
rm -rf "$out"
mkdir -p "$out/bin"
# config-gpu.yaml sets MLX_BACKEND=cuda13 for the builds.
for program in "${programs[@]}"; do
  target/release/openevolve eval "$program" "$ex/evaluator" --config "$ex/config-gpu.yaml" \
    --manifest "$ex/candidate.toml" --build-only "$out/bin"
done

models="${MLX_LORA_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/openevolve/models}"
data="${MLX_LORA_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/openevolve/data}"
split -b "$piece" "$models/SmolLM2-135M-Instruct.Q4_1.gguf" "$out/model.part."
tar -czf "$out/wordnet.tar.gz" -C "$data" wordnet-3.0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "mlx-cuda-13==0.32.2"
split -b "$piece" "$tmp"/*.whl "$out/wheel.part."
ls -l "$out" "$out/bin"
