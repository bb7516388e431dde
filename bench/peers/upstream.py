"""Runner: upstream lazycogs 0.7.0 from PyPI (bench/.venv-peers).

Same calls as the seed's demo notebook. Configuration this machine needs
(bench/setup, /work/shared/reference/peers-install.md): rustac 0.9.17's
DuckDB gets its extensions from bench/.duckdb-ext (it cannot download
them), and the obstore HTTP store needs allow_http for plain http on
loopback.
"""
# SPDX-License-Identifier: MIT
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lazycogs  # noqa: E402
import rustac  # noqa: E402
from obstore.store import HTTPStore  # noqa: E402

import _common  # noqa: E402
from _lazycogs_api import workloads  # noqa: E402

_state = {}


def make_open(spec, href=None, **over):
    href = href or spec["parquet"]
    if "client" not in _state:
        _state["client"] = rustac.DuckdbClient(
            extension_directory=spec["duckdb_extensions"])
    client = _state["client"]
    if href not in _state:
        # lazycogs.store_for() fails on http roots (it reads
        # HTTPStore.config, which obstore's HTTPStore lacks): build the
        # store for the server root directly.
        _state[href] = HTTPStore.from_url(spec["url"],
                                          client_options={"allow_http": True})
    args = dict(spec["open"])
    args.update(over)
    return lazycogs.open(href, store=_state[href], duckdb_client=client, **args)


if __name__ == "__main__":
    sys.exit(_common.main(workloads(make_open)))
