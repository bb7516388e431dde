#!/bin/sh
# run.sh - runs libFuzzer targets one after another (make fuzz-run).
# SPDX-License-Identifier: MIT
#
#   fuzz/run.sh [-t SECONDS] [TARGET...]     (default: 600 s, every target)
#
# Each target fuzzes a scratch copy of its checked-in corpus
# (build/fuzz/work/<corpus>) with its dictionary, at low priority, and
# crash files land in build/fuzz/artifacts/<corpus>/. New inputs are not
# merged back: see fuzz/README.md for that step.
set -eu
cd "$(dirname "$0")/.."
B=build/fuzz
secs=600
if [ "${1:-}" = "-t" ]; then
    secs=$2
    shift 2
fi
targets=${*:-"fuzz_codec fuzz_cog fuzz_parquet fuzz_thrift fuzz_stac_parquet
    fuzz_items_json fuzz_cql2 fuzz_cql2_json fuzz_geometry fuzz_isotime"}
status=0
for t in $targets; do
    c=${t#fuzz_}
    case $c in
    codec | cog) dict=-dict=fuzz/dict/tiff.dict ;;
    cql2 | cql2_json) dict=-dict=fuzz/dict/cql2.dict ;;
    items_json) dict=-dict=fuzz/dict/json.dict ;;
    *) dict= ;;
    esac
    mkdir -p $B/work/$c $B/artifacts/$c $B/logs
    cp -n fuzz/corpus/$c/* $B/work/$c/ 2>/dev/null || true
    echo "== $t: $secs s (log: $B/logs/$t.log)"
    if nice -n 10 $B/fuzz/$t -max_total_time="$secs" -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 -artifact_prefix=$B/artifacts/$c/ \
        $dict $B/work/$c >$B/logs/$t.log 2>&1; then
        grep -E '^stat::number_of_executed_units' $B/logs/$t.log || true
    else
        status=1
        echo "$t: FINDING, see $B/logs/$t.log and $B/artifacts/$c/"
        grep -E '^SUMMARY' $B/logs/$t.log || tail -n 5 $B/logs/$t.log
    fi
done
exit $status
