#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# MLX for the mlx-* crates (CPU backend): system packages, the MLX wheel, mlx-c sources.
scripts/setup-mlx.sh
# Chromium and chromedriver for the end-to-end test of `openevolve view`.
scripts/setup-browser.sh
cargo test --workspace --locked "$@"
