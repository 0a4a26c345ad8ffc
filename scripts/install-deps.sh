#!/usr/bin/env bash
# Installs the Debian packages genxfer needs to build and test, if any is missing (with the
# argument `reference`, those of the reference baselines too).
# As root it runs apt-get; otherwise it prints the command to run. Does nothing when all are present.
set -u
# python3-numpy: tests/test_load_model_py.c runs examples/load_model.py (skipped without it).
# clang, libclang-rt-14-dev (libFuzzer, sanitizers) and libomp-dev (clang's OpenMP): the fuzz
# targets of fuzz/ (make fuzz, and their short run in make test). libdnnl-dev: oneDNN, whose SGEMM
# runs every matrix product (core/gemm.c); OpenBLAS remains for the PCA's LAPACK eigensolver.
pkgs=(gcc make pkg-config libopenblas-openmp-dev zlib1g-dev libhdf5-dev libcjson-dev
      libcairo2-dev libcmocka-dev libdnnl-dev python3-numpy clang libclang-rt-14-dev libomp-dev)
# `install-deps.sh reference`: also what bench/reference/forest.py needs (make controls)
[ "${1:-}" = reference ] && pkgs+=(python3-sklearn python3-h5py)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "install-deps: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { echo "install-deps: apt-get install failed" >&2; exit 1; }
echo "install-deps: installed ${missing[*]}" >&2
