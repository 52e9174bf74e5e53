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
wheel="$dir/mlx_cuda_13-0.32.2-py3-none-manylinux_2_35_x86_64.whl"
[ -e "$wheel" ] || cat "$dir"/wheel.part.* >"$wheel"
scripts/setup-mlx.sh --backend cuda13 --runtime-only --wheel "$wheel"
prefix="${MLX_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/openevolve/mlx}/cuda13-0.32.2/mlx"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
chmod +x "$dir/bin/evaluator"
for so in "$dir"/bin/*.so; do
  name="$(basename "$so" .so)"
  echo "== $name: full size, $rounds rounds"
  "$dir/bin/evaluator" run "$so" 0 "$dir/$name.json" "{\"size\":\"full\",\"mode\":\"mixed\",\"rounds\":$rounds}"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps(r.get("metrics")), r.get("message", "")); print(r.get("artifacts",{}).get("timings") or r.get("artifacts",{}).get("incorrect",""))' "$dir/$name.json"
done
