#!/usr/bin/env bash
# Installs what the Linux mlx-sys port (crates/mlx-sys) builds and runs against:
# system packages, the MLX wheel for one backend, and the mlx-c sources.
# Idempotent: when everything is present it only checks, in well under a second.
#
#   scripts/setup-mlx.sh                      # CPU backend (default)
#   scripts/setup-mlx.sh --backend cuda13     # CUDA 13 backend (mlx-cuda-13 wheel)
#   scripts/setup-mlx.sh --backend cuda13 --wheel FILE --runtime-only
#                                             # offline GPU machine: a wheel brought
#                                             # along, no compiler parts needed
#
# Everything lands under $MLX_HOME (default ${XDG_CACHE_HOME:-~/.cache}/openevolve/mlx):
#   <backend>-<mlx version>/mlx   the MLX prefix (lib/libmlx.so, include/) the build reads
#   mlx-c-<mlx-c version>/        mlx-c sources, copied from the pristine mlx-sys crate
# These versions move together; crates/mlx-sys/README.md says how to upgrade them.
set -euo pipefail

MLX_VERSION="0.32.2"
MLX_C_VERSION="0.7.0" # also the version of the crates.io mlx-sys that ships it

backend="cpu"
wheel=""
nvidia=""
runtime_only=0
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --backend) backend="${2:?--backend needs cpu or cuda13}"; shift 2 ;;
    --backend=*) backend="${1#*=}"; shift ;;
    --wheel) wheel="${2:?--wheel needs a file}"; shift 2 ;;
    --nvidia) nvidia="${2:?--nvidia needs the site-packages/nvidia folder}"; shift 2 ;;
    --runtime-only) runtime_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup-mlx: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$backend" in
  cpu) dist="mlx-cpu"; libs_dir="mlx_cpu.libs" ;;
  cuda13) dist="mlx-cuda-13"; libs_dir="mlx_cuda_13.libs" ;;
  *) echo "setup-mlx: backend must be cpu or cuda13, not '$backend'" >&2; exit 2 ;;
esac

home="${MLX_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/openevolve/mlx}"
root="$home/$backend-$MLX_VERSION"
prefix="$root/mlx"
mlxc="$home/mlx-c-$MLX_C_VERSION"
mkdir -p "$home"
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi

# --- system packages -------------------------------------------------------
# g++: builds mlx-c, and MLX's CPU `compile` runs it at run time.
# libclang: bindgen reads the mlx-c headers. OpenBLAS: the wheel's bundled
# reference BLAS is ~40x slower for matmul (see below).
multiarch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
openblas="/usr/lib/$multiarch/openblas-pthread/libopenblas.so.0"
missing=()
if ((!runtime_only)); then
  command -v g++ >/dev/null || missing+=(g++)
  # bindgen needs libclang itself and clang's own headers (stddef.h); a fresh
  # Debian has only libclang-cpp, which is neither.
  if [ -z "${LIBCLANG_PATH:-}" ]; then
    compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null &&
      compgen -G "/usr/lib/llvm-*/lib/clang/*/include/stddef.h" >/dev/null || missing+=(libclang-dev)
  fi
fi
if [ "$backend" = cpu ]; then
  [ -e "$openblas" ] || missing+=(libopenblas0-pthread)
  command -v g++ >/dev/null || missing+=(g++)
fi
if ((${#missing[@]})); then
  echo "setup-mlx: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- mlx-c sources -----------------------------------------------------------
# Taken from the pristine crates.io mlx-sys crate, which ships mlx-c under src/mlx-c;
# a throwaway manifest makes cargo fetch and unpack it. Nothing of it is committed.
if ((!runtime_only)) && [ ! -e "$mlxc/.complete" ]; then
  echo "setup-mlx: fetching mlx-c $MLX_C_VERSION (crates.io mlx-sys $MLX_C_VERSION)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/fetch/src"
  : >"$tmp/fetch/src/lib.rs"
  cat >"$tmp/fetch/Cargo.toml" <<EOF
[package]
name = "mlx-c-fetch"
version = "0.0.0"
edition = "2021"
[dependencies]
mlx-sys = { version = "=$MLX_C_VERSION", default-features = false }
[workspace]
EOF
  cargo fetch --quiet --manifest-path "$tmp/fetch/Cargo.toml"
  crate_dir="$(cargo metadata --quiet --format-version 1 --manifest-path "$tmp/fetch/Cargo.toml" |
    python3 -c 'import json,os,sys; m=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"]=="mlx-sys"))')"
  src="$crate_dir/src/mlx-c"
  grep -q "set(MLX_C_VERSION $MLX_C_VERSION)" "$src/CMakeLists.txt" || {
    echo "setup-mlx: $src is not mlx-c $MLX_C_VERSION" >&2
    exit 1
  }
  rm -rf "$mlxc.tmp" "$mlxc"
  cp -r "$src" "$mlxc.tmp"
  touch "$mlxc.tmp/.complete"
  mv "$mlxc.tmp" "$mlxc"
fi

# --- the MLX wheel -------------------------------------------------------------
# A wheel is a zip whose mlx/ folder is an install prefix (lib/libmlx.so,
# include/, share/cmake/MLX); libmlx.so finds its bundled libraries through an
# rpath relative to itself, so the wheel is unpacked whole, as pip would.
if [ ! -e "$root/.complete" ]; then
  tmp_wheel="$(mktemp -d)"
  if [ -z "$wheel" ]; then
    echo "setup-mlx: downloading $dist==$MLX_VERSION from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --dest "$tmp_wheel" "$dist==$MLX_VERSION"
    wheel="$(ls "$tmp_wheel"/*.whl)"
  fi
  case "$(basename "$wheel")" in
    "${dist//-/_}-$MLX_VERSION-"*.whl) ;;
    *) echo "setup-mlx: $wheel is not a $dist $MLX_VERSION wheel" >&2; exit 1 ;;
  esac
  rm -rf "$root.tmp" "$root"
  python3 -m zipfile -e "$wheel" "$root.tmp"
  rm -rf "$tmp_wheel"
  touch "$root.tmp/.complete"
  mv "$root.tmp" "$root"
fi
got="$(awk '/#define MLX_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep="."}' \
  "$prefix/include/mlx/version.h")"
if [ "$got" != "$MLX_VERSION" ]; then
  echo "setup-mlx: $prefix holds MLX $got, expected $MLX_VERSION; remove $root and run again" >&2
  exit 1
fi

# --- BLAS ------------------------------------------------------------------------
# The wheel bundles reference BLAS/LAPACK (a 512x512 f32 matmul takes ~100 ms);
# OpenBLAS exports every BLAS and LAPACK symbol libmlx.so imports, so the bundled
# files become links to it (~40x faster). Only where OpenBLAS is installed.
if [ -e "$openblas" ]; then
  for lib in "$root/$libs_dir"/libblas-*.so* "$root/$libs_dir"/liblapack-*.so*; do
    [ -e "$lib" ] || [ -L "$lib" ] || continue
    [ "$(readlink "$lib")" = "$openblas" ] || ln -sf "$openblas" "$lib"
  done
fi

# --- NVIDIA libraries (cuda13) ---------------------------------------------------
# libmlx.so looks for cuBLAS, cuDNN, NCCL, cuFFT and NVRTC in ../../nvidia/*/lib
# beside itself, where pip would have put the NVIDIA wheels; point that at an
# existing install (e.g. PyTorch's) instead of bringing ~2 GB again.
if [ "$backend" = cuda13 ] && [ ! -e "$root/nvidia" ]; then
  if [ -z "$nvidia" ]; then
    nvidia="$(python3 -c 'import nvidia, os; print(list(nvidia.__path__)[0])' 2>/dev/null || true)"
  fi
  if [ -n "$nvidia" ] && [ -d "$nvidia" ]; then
    ln -sfn "$nvidia" "$root/nvidia"
  else
    echo "setup-mlx: note: no NVIDIA Python packages found; building works, but running needs" \
      "cuBLAS/cuDNN/NCCL/cuFFT/NVRTC 13: pass --nvidia <site-packages>/nvidia or set LD_LIBRARY_PATH"
  fi
fi

echo "setup-mlx: MLX $MLX_VERSION ($backend) ready at $prefix"
if [ "$backend" != cpu ]; then
  echo "setup-mlx: build with MLX_BACKEND=$backend in the environment"
fi
