#!/usr/bin/env bash
# On a build machine (registries reachable): builds mlx-smoke for the CUDA 13
# backend and packs what the offline GPU machine needs into OUT (default
# target/gpu, ignored by git): the binary and the mlx-cuda-13 wheel split into
# pieces small enough to travel one per call (the wheel is ~88 MB).
# Then, on the GPU machine: crates/mlx-smoke/gpu-smoke.sh (see there).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-target/gpu}"
piece="${PIECE_MB:-45}M"
scripts/setup-mlx.sh --backend cuda13
# A target folder of its own: switching the shared one between backends would
# rebuild mlx-rs and everything above it each time.
target="${CARGO_TARGET_DIR:-target/cuda13}"
MLX_BACKEND=cuda13 CARGO_TARGET_DIR="$target" cargo build -p mlx-smoke
mkdir -p "$out"
rm -f "$out"/wheel.part.*
cp "$target/debug/mlx-smoke" "$out/mlx-smoke"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "mlx-cuda-13==0.32.2"
split -b "$piece" "$tmp"/*.whl "$out/wheel.part."
# The binary's rpath points at this machine's cache; gpu-smoke.sh sets LD_LIBRARY_PATH.
ls -l "$out"
