#!/usr/bin/env bash
# On a build machine (registries reachable): builds the evaluator and the
# programs given (default: candidates/sparse_logits.rs) for MLX's CUDA 13
# backend and packs everything an offline GPU machine needs into OUT (default
# target/lora-gpu, ignored by git), in pieces of at most PIECE_MB (45) MB so
# that each can travel alone: bin/ (the evaluator and <program>.so), the
# mlx-cuda-13 wheel, the model file and the WordNet data.
# Then, on the GPU machine: gpu-run.sh OUT (see there).
#
#   examples/mlx_lora_finetuning/gpu-pack.sh [OUT] [PROGRAM.rs ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
ex=examples/mlx_lora_finetuning
out="${1:-target/lora-gpu}"
shift || true
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=("$ex/candidates/sparse_logits.rs")
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
