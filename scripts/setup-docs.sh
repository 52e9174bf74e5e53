#!/usr/bin/env bash
# mdBook, which builds the user guide in docs/. Installs nothing when it is there.
set -euo pipefail
version="0.5.4"
if command -v mdbook >/dev/null && mdbook --version | grep -q "v$version"; then
  exit 0
fi
echo "setup-docs: installing mdbook $version with cargo"
cargo install mdbook --locked --version "$version"
