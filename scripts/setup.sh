#!/usr/bin/env bash
# Installs what openevolve-rs needs on a fresh Debian/Ubuntu machine, and
# nothing that is already there. Safe to run again: it only checks, then.
set -euo pipefail

need_rust="1.89"

# A C compiler builds the bundled SQLite; pkg-config helps -sys crates find libraries.
missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
# HTTPS to a remote LLM endpoint verifies against the system's certificates.
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: no Rust toolchain found. Install Rust $need_rust or newer (https://rustup.rs), then run this again." >&2
  exit 1
fi
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need_rust" "$have" | sort -V | head -1)" != "$need_rust" ]; then
  echo "setup: Rust $have is too old; openevolve-rs needs $need_rust or newer (rustup update)." >&2
  exit 1
fi
