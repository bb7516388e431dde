#!/bin/sh
# check_include_graph.sh REPO - each module in src/ may include headers only
# from the modules DESIGN.md lets it depend on, so dependencies point one way.
# SPDX-License-Identifier: MIT
set -eu
repo=$1
status=0

allowed() {
    case $1 in
    common) echo "" ;;
    io | index | geo | time | x86) echo "common" ;;
    codec) echo "common x86" ;;
    tiff) echo "common io codec" ;;
    parquet) echo "common codec" ;;
    stac) echo "common codec parquet geo" ;;
    warp) echo "common geo" ;;
    mosaic) echo "common geo warp" ;;
    engine) echo "common io codec tiff parquet stac index geo warp mosaic time" ;;
    cli) echo "common engine" ;;
    *) echo "UNKNOWN" ;;
    esac
}

for dir in "$repo"/src/*/; do
    module=$(basename "$dir")
    ok=$(allowed "$module")
    if [ "$ok" = "UNKNOWN" ]; then
        echo "src/$module: module not in the dependency table of this script"
        status=1
        continue
    fi
    for dep in $(grep -ho '#include "\.\./[a-z0-9_]*/' "$dir"*.[ch] 2>/dev/null |
        sed 's|#include "\.\./||; s|/$||' | sort -u); do
        case " $ok " in
        *" $dep "*) ;;
        *)
            echo "src/$module includes src/$dep, which it may not depend on"
            status=1
            ;;
        esac
    done
done
[ $status -eq 0 ] && echo "include graph check passed"
exit $status
