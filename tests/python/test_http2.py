"""HTTP/2 over TLS: the libcurl multi engine negotiates h2 by ALPN when the
server offers it, multiplexes concurrent range requests as streams of one
connection, and returns exactly the right bytes."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import lazycogs
from lazycogs.store import HTTPStore, get_ranges

pytest.importorskip("hypercorn")
trustme = pytest.importorskip("trustme")

from h2_server import H2Server, parse_range  # noqa: E402  (needs hypercorn)


def _curl_has_http2() -> bool:
    # The extension links the system libcurl; curl(1) reports its features.
    try:
        out = subprocess.run(["curl", "--version"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return True  # cannot tell: let the test decide
    return "HTTP2" in out or "nghttp2" in out


pytestmark = pytest.mark.skipif(not _curl_has_http2(),
                                reason="libcurl built without HTTP/2")


@pytest.fixture
def h2(ci_world, tmp_path):
    """(server, ca_file): hypercorn serving the ci world over HTTPS, each
    answer delayed a little so that concurrent requests overlap."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, certfile, keyfile = (tmp_path / n for n in
                                  ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    with H2Server(ci_world, certfile, keyfile, delay=0.02) as srv:
        yield srv, ca_file


def _red(ci_world: Path) -> Path:
    return sorted((ci_world / "cogs").glob("*/red.tif"))[0]


def _assert_h2_one_connection(log: list[dict]):
    assert log, "the server saw no request"
    versions = {e["http_version"] for e in log}
    assert versions == {"2"}, f"not all requests were HTTP/2: {versions}"
    ports = {e["client_port"] for e in log}
    # PIPEWAIT + CURLPIPE_MULTIPLEX: one connection expected; allow a second
    # (e.g. one opened before the first ALPN answer was known).
    assert len(ports) <= 2, f"{len(ports)} connections for {len(log)} requests"


def test_parse_range_rfc9110():
    """The test server's own range logic (RFC 9110 14.1.2 examples)."""
    assert parse_range("bytes=0-499", 10000) == (0, 499)
    assert parse_range("bytes=9500-", 10000) == (9500, 9999)
    assert parse_range("bytes=-500", 10000) == (9500, 9999)
    assert parse_range("bytes=9000-20000", 10000) == (9000, 9999)
    assert parse_range("bytes=10000-", 10000) == "unsatisfiable"
    assert parse_range("bytes=-0", 10000) == "unsatisfiable"
    assert parse_range("bytes=5-2", 10000) is None
    assert parse_range(None, 10000) is None


def test_read_cog_over_h2_equals_local(h2, ci_world):
    srv, ca_file = h2
    path = _red(ci_world)
    url = f"{srv.url}/{path.relative_to(ci_world).as_posix()}"
    # Coalescing off: every tile is its own request, so there are many
    # concurrent requests to multiplex.
    store = HTTPStore.from_url(srv.url, ca_file=str(ca_file),
                               coalesce_gap_nbytes=2**64 - 1)
    with rasterio.open(path) as src:
        expected = src.read()
        win = Window(3, 5, min(40, src.width - 3), min(33, src.height - 5))
        expected_win = src.read(window=win)

    ours = lazycogs.read_cog(url, store=store)
    np.testing.assert_array_equal(ours, expected)
    ours_win = lazycogs.read_cog(
        url, store=store,
        window=(win.col_off, win.row_off, win.width, win.height))
    np.testing.assert_array_equal(ours_win, expected_win)

    log = srv.wait_for_log(store.stats()["requests"])
    assert len(log) == store.stats()["requests"]
    assert all(e["status"] == 206 for e in log)
    _assert_h2_one_connection(log)


def test_get_ranges_scattered_over_h2(h2, ci_world):
    srv, ca_file = h2
    path = _red(ci_world)
    data = path.read_bytes()
    # 50 disjoint ranges, one in each of 50 random 1 KiB slots, asked for
    # in random order.
    rng = random.Random(7)
    slots = rng.sample(range(len(data) // 1024), 50)
    starts = [1024 * k + rng.randrange(0, 512) for k in slots]
    lengths = [rng.randint(1, 511) for _ in slots]
    store = HTTPStore.from_url(srv.url, ca_file=str(ca_file),
                               coalesce_gap_nbytes=2**64 - 1)
    got = get_ranges(store, path.relative_to(ci_world).as_posix(),
                     starts=starts, lengths=lengths)
    assert [bytes(g) for g in got] == [data[s:s + n]
                                       for s, n in zip(starts, lengths)]
    # Coalescing is off and the ranges have gaps: one request per range.
    log = srv.wait_for_log(50)
    assert len(log) == 50 == store.stats()["requests"]
    assert all(e["status"] == 206 for e in log)
    assert sorted(e["range"] for e in log) == sorted(
        f"bytes={s}-{s + n - 1}" for s, n in zip(starts, lengths))
    _assert_h2_one_connection(log)
    # Multiplexed, not one after another on a single connection: several
    # of the 50 requests were being answered at the same time.
    assert srv.max_in_flight() >= 4, srv.max_in_flight()
