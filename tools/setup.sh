#!/usr/bin/env bash
# Installs every system (apt) and Python (pip, into .venv) dependency; safe to re-run.
# SPDX-License-Identifier: MIT
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian 12 packages: the C toolchain, the libraries the C library links
# (found by CMake through pkg-config), and Python with venv support.
apt_packages=(
    build-essential pkg-config cmake ninja-build git clang-format
    python3 python3-venv python3-dev
    libcurl4-openssl-dev libproj-dev libdeflate-dev libzstd-dev
    libturbojpeg0-dev libwebp-dev liblerc-dev libsnappy-dev liblz4-dev
    libbrotli-dev libssl-dev libjansson-dev
    gdal-bin
)

missing=()
for pkg in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
        grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# Python: one virtual environment in .venv. pip runs only when
# requirements-dev.txt changed since the last successful install.
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
stamp=.venv/.requirements-dev.sha256
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r requirements-dev.txt
    echo "$want" > "$stamp"
fi
echo "setup: done"
