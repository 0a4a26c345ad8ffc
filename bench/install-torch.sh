#!/usr/bin/env bash
# Installs python3-torch (Debian's PyTorch, for bench/reference/) if /usr/bin/python3 cannot import
# torch. As root it runs apt-get; otherwise it prints the command to run. Not part of `make deps`:
# only `make bench-compare` needs it.
set -u
/usr/bin/python3 -c "import torch, numpy" 2>/dev/null && exit 0
echo "install-torch: /usr/bin/python3 cannot import torch (Debian package python3-torch)" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "install-torch: run as root: apt-get install -y python3-torch python3-numpy" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "install-torch: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >&2 ||
    { echo "install-torch: apt-get install failed" >&2; exit 1; }
echo "install-torch: installed python3-torch" >&2
