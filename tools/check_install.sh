#!/bin/sh
# check_install.sh BUILD_DIR "SANITIZER_FLAGS" - installs the build into a
# temporary prefix and builds a small consumer against it twice: through
# find_package(lazycogs) and through pkg-config (shared and static).
# SPDX-License-Identifier: MIT
set -eu
build=$1
san_flags=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log"

mkdir "$work/consumer"
cat > "$work/consumer/main.c" <<'C'
#include <lazycogs.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    if (lc_version() != LC_VERSION_NUMBER)
        return 1;
    if (strcmp(lc_err_name(LC_ECORRUPT), "LC_ECORRUPT") != 0)
        return 1;
    return 0;
}
C
cat > "$work/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(lazycogs REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE lazycogs::lazycogs)
CM

libdir=$(dirname "$(find "$prefix" -name 'lazycogs.pc')")/..
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 1. find_package
cmake -S "$work/consumer" -B "$work/consumer/build" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san_flags" \
    > "$work/cmake.log"
cmake --build "$work/consumer/build" > "$work/build.log"
"$work/consumer/build/consumer"
echo "find_package consumer: ok"

# 2. pkg-config, shared and static
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046,SC2086
cc $san_flags -o "$work/pc_shared" "$work/consumer/main.c" \
    $(pkg-config --cflags --libs lazycogs)
"$work/pc_shared"
# The static archive needs the libraries named in Requires.private; their
# shared versions are what Debian's -dev packages provide, so ask for those
# rather than `--static`, which also wants static builds of curl's own deps.
deps=$(pkg-config --print-requires-private lazycogs | tr '\n' ' ')
# shellcheck disable=SC2046,SC2086
cc $san_flags -o "$work/pc_static" "$work/consumer/main.c" \
    $(pkg-config --cflags lazycogs) "$libdir/liblazycogs.a" \
    $(pkg-config --libs $deps) -lpthread -lm
"$work/pc_static"
echo "pkg-config consumers (shared, static): ok"
