#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite. Every set-up step
# is idempotent and only checks when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# MLX for the mlx-* crates (CPU backend): system packages, the MLX wheel, mlx-c sources.
scripts/setup-mlx.sh
# SmolLM2-135M (GGUF) and WordNet for the mlx-lora training tests.
scripts/setup-lora-data.sh
# Chromium and chromedriver for the end-to-end test of `openevolve view`.
scripts/setup-browser.sh
# slurm-wlm and munge: the Slurm executor's tests start their own one-node cluster.
scripts/setup-slurm.sh
# Python with pip, which the local model provider's tests use.
scripts/setup-local-model.sh
# mdBook for the user guide, which must build (its includes are real files).
scripts/setup-docs.sh
mdbook build docs
# Every prerequisite is set up above: a test that finds one missing fails.
export OPENEVOLVE_TEST_ALL=1
cargo test --workspace --locked "$@"
# The local model provider on a real GGUF (SmolLM2, fetched above with the
# LoRA data; the llama.cpp server wheel is fetched on first use).
cargo test --locked -p openevolve-llm --test local_model "$@" -- --include-ignored
