#!/bin/sh
# check_format.sh CLANG_FORMAT REPO - fails when a C file is not formatted
# as .clang-format says (run `make format` to fix).
# SPDX-License-Identifier: MIT
set -eu
clang_format=$1
cd "$2"
# Virtual environments (bench/.venv-*) hold third-party C sources.
files=$(find include src tests/c python fuzz bench -path '*/.venv*' -prune \
    -o -name '*.[ch]' -print 2>/dev/null |
    sort)
# shellcheck disable=SC2086
"$clang_format" --dry-run --Werror $files
echo "format check passed ($(echo "$files" | wc -l) files)"
