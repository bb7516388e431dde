#!/bin/sh
# with_server.sh DIR COMMAND... - runs COMMAND with a loopback tools/serve.py
# serving DIR; the command gets the base URL as LAZYCOGS_TEST_URL. The
# server is stopped however the command ends. Used by CTest for C tests of
# the HTTP engine (so they run under ASan/UBSan against a real server).
# SPDX-License-Identifier: MIT
set -eu
dir=$1
shift
# No DIR (a world not generated yet): the command runs without a server
# and decides itself whether it can (tests skip).
[ -d "$dir" ] || exec "$@"
here=$(cd "$(dirname "$0")" && pwd)
python=python3
[ -x "$here/../.venv/bin/python" ] && python="$here/../.venv/bin/python"
work=$(mktemp -d)
"$python" "$here/serve.py" "$dir" --port 0 --port-file "$work/port" \
    > "$work/stdout" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
i=0
while [ ! -s "$work/port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "with_server: serve.py did not start" >&2
        cat "$work/stdout" >&2
        exit 1
    fi
    sleep 0.1
done
LAZYCOGS_TEST_URL="http://127.0.0.1:$(cat "$work/port")"
export LAZYCOGS_TEST_URL
"$@"
