#!/usr/bin/env bash
# On an offline GPU machine: evaluates each program in DIR/bin (built here
# with `openevolve eval PROGRAM evaluator.rs --config config-gpu.yaml
# --build-only DIR/bin`) at the `full` size, after setting MLX up from the
# mlx-cuda-13 wheel in DIR (whole, or as wheel.part.* pieces). Results go to
# DIR/<program>.json.
#
#   examples/mlx_matmul_tiling/gpu-run.sh DIR [ROUNDS]
set -euo pipefail
dir="$(cd "${1:?usage: gpu-run.sh DIR [ROUNDS]}" && pwd)"
rounds="${2:-15}"
cd "$(dirname "$0")/../.."
source scripts/lib/mlx-gpu-runtime.sh && mlx_gpu_runtime "$dir"
chmod +x "$dir/bin/evaluator"
for so in "$dir"/bin/*.so; do
  name="$(basename "$so" .so)"
  echo "== $name: full size, $rounds rounds"
  "$dir/bin/evaluator" judge "$so" 0 "" "{\"size\":\"full\",\"mode\":\"mixed\",\"rounds\":$rounds}" 3>"$dir/$name.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps(r.get("metrics")), r.get("message", "")); print(r.get("artifacts",{}).get("timings") or r.get("artifacts",{}).get("incorrect",""))' "$dir/$name.json"
done
