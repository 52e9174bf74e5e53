#!/usr/bin/env bash
# On the GPU machine (no registries, no Rust): joins the pieces
# mlx-training-gpu-pack.sh made, sets MLX up without compilers (the NVIDIA libraries come from the
# Python packages already installed, e.g. PyTorch's), then evaluates programs of DIR/bin
# (the names given, else every one) at SIZE (`full` unless given): baseline and candidate,
# TRIALS times each, exactly as `openevolve eval` would. Each result is DIR/<program>.json.
#
#   scripts/mlx-training-gpu-run.sh DIR [TRIALS [SIZE [PROGRAM ...]]]
set -euo pipefail
usage="usage: mlx-training-gpu-run.sh DIR [TRIALS [SIZE [PROGRAM ...]]]"
dir="$(cd "${1:?$usage}" && pwd)"
trials="${2:-3}"
size="${3:-full}"
shift $(($# < 3 ? $# : 3))
cd "$(dirname "$0")/.."
source scripts/lib/mlx-gpu-runtime.sh && mlx_gpu_runtime "$dir"
export MLX_LORA_MODEL_DIR="$dir/models" MLX_LORA_DATA_DIR="$dir/data"
mkdir -p "$MLX_LORA_MODEL_DIR" "$MLX_LORA_DATA_DIR"
model="$MLX_LORA_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -e "$model" ] || cat "$dir"/model.part.* >"$model"
[ -d "$MLX_LORA_DATA_DIR/wordnet-3.0" ] || tar -xzf "$dir/wordnet.tar.gz" -C "$MLX_LORA_DATA_DIR"
echo "model sha256: $(sha256sum "$model" | cut -c1-16)…"
chmod +x "$dir/bin/evaluator"
programs=("$@")
if [ ${#programs[@]} -eq 0 ]; then
  for so in "$dir"/bin/*.so; do programs+=("$(basename "$so" .so)"); done
fi
work="$(mktemp -d)"
for name in "${programs[@]}"; do
  echo "== $name: $size size, $trials trials of each; device memory in use: $(nvidia-smi --query-gpu=memory.used --format=csv,noheader || echo '?')"
  (cd "$work" && "$dir/bin/evaluator" judge "$dir/bin/$name.so" 0 "" "{\"size\":\"$size\",\"trials\":$trials}" 3>"$dir/$name.json")
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r.get("artifacts",{}).get("summary") or r)' "$dir/$name.json"
done
