#!/bin/sh
# check_symbols.sh STATIC_LIB [SHARED_LIB] - fails on any exported symbol
# without the lazycogs prefix: the static library may define lc_ (public) and
# lc__ (internal) symbols; the shared library may export only public lc_ ones.
# SPDX-License-Identifier: MIT
set -eu
static_lib=$1
shared_lib=${2:-}
status=0

bad=$(nm -g --defined-only "$static_lib" | awk 'NF >= 3 { print $3 }' |
    grep -v '^lc_' || true)
if [ -n "$bad" ]; then
    echo "$static_lib defines global symbols without the lc_ prefix:"
    echo "$bad"
    status=1
fi

if [ -n "$shared_lib" ]; then
    exported=$(nm -D --defined-only "$shared_lib" | awk 'NF >= 3 { print $3 }')
    bad=$(echo "$exported" | grep -v '^lc_[a-z]' | grep -v '^$' || true)
    if [ -n "$bad" ]; then
        echo "$shared_lib exports symbols that are not public lc_ API:"
        echo "$bad"
        status=1
    fi
    if ! echo "$exported" | grep -q '^lc_version$'; then
        echo "$shared_lib does not export lc_version: check LC_API"
        status=1
    fi
fi
[ $status -eq 0 ] && echo "symbol check passed"
exit $status
