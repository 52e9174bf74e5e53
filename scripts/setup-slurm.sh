#!/usr/bin/env bash
# Installs what the Slurm tests need: Debian's slurm-wlm (slurmctld, slurmd
# and the client commands) and munge (authentication). Safe to run again:
# installed packages are left alone. The tests start and stop their own
# single-node cluster; this script starts no daemon.
set -euo pipefail

packages=(slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "slurm-wlm and munge are installed"
else
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for cmd in sbatch squeue scontrol scancel slurmctld slurmd munged; do
    command -v "$cmd" >/dev/null || { echo "setup-slurm: $cmd is missing after installing" >&2; exit 1; }
done
dpkg-query -W -f='${Package} ${Version}\n' slurm-wlm munge
