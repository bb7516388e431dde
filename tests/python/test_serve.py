"""Tests of tools/serve.py: ranges, keep-alive, faults, latency, concurrency, CLI."""
# SPDX-License-Identifier: MIT
#
# Everything is observed from the client side (http.client or raw sockets),
# because that is what the C library will see; the request log is checked
# separately.  All servers bind 127.0.0.1 on kernel-chosen ports.
import http.client
import json
import random
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import serve  # tools/ is put on sys.path by conftest.py

SERVE_PY = Path(serve.__file__).resolve()
SIZE = 1_048_583  # > several 64 KiB write chunks, deliberately odd
SECRET = b"top secret, outside the served root\n"


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A served root with a seeded random binary file, small and empty
    files, a sub-directory and symlinks; plus a secret file *outside* it."""
    base = tmp_path_factory.mktemp("site")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    data = random.Random(1234).randbytes(SIZE)
    (root / "data.bin").write_bytes(data)
    (root / "small.txt").write_bytes(b"hello, ranges\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "sub" / "inner.bin").write_bytes(data[:1000])
    (base / "secret.txt").write_bytes(SECRET)
    (root / "escape.txt").symlink_to(base / "secret.txt")
    (root / "inside_link.bin").symlink_to(root / "data.bin")
    return root


@pytest.fixture(scope="module")
def data(site):
    """Contents of data.bin."""
    return (site / "data.bin").read_bytes()


def request(srv, path, headers=None, method="GET", timeout=5.0, body=None):
    """One request on a fresh connection -> (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def raw_exchange(port, text, timeout=5.0):
    """Send raw request bytes, read until EOF/reset/timeout.

    Returns (bytes received, the exception that ended reading or None)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    received = bytearray()
    error = None
    try:
        sock.sendall(text.encode("latin-1"))
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except OSError as exc:  # ConnectionResetError, TimeoutError, ...
        error = exc
    finally:
        sock.close()
    return bytes(received), error


def split_response(raw):
    """Split raw response bytes -> (status, {lower-case header: value}, body)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def expected_range(data, spec):
    """Independent model of a single satisfiable range-spec: (start, bytes)."""
    first, _, last = spec.partition("-")
    if first == "":
        n = int(last)
        start = max(len(data) - n, 0)
        return start, data[start:]
    start = int(first)
    stop = len(data) if last == "" else int(last) + 1
    return start, data[start:stop]


def statuses(srv, n, path="/data.bin", headers=None, method="GET"):
    """Status codes of n sequential requests on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    out = []
    try:
        for _ in range(n):
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            resp.read()
            out.append(resp.status)
    finally:
        conn.close()
    return out


# --------------------------------------------------------------------------
# Ranges
# --------------------------------------------------------------------------


def test_random_ranges_byte_exact(http_server, site, data):
    """300 seeded random ranges of all three forms, some past EOF, on one
    keep-alive connection: status, Content-Range, length and bytes exact."""
    srv = http_server(site)
    rng = random.Random(20240601)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        for _ in range(300):
            form = rng.choice(["closed", "closed", "open", "suffix"])
            if form == "closed":
                a = rng.randrange(SIZE)
                b = a + rng.choice([0, 1, rng.randrange(70000),
                                    rng.randrange(SIZE + 5000)])
                spec = f"{a}-{b}"
            elif form == "open":
                spec = f"{rng.randrange(SIZE)}-"
            else:
                spec = f"-{rng.randrange(1, SIZE + 100)}"
            conn.request("GET", "/data.bin", headers={"Range": f"bytes={spec}"})
            resp = conn.getresponse()
            body = resp.read()
            start, want = expected_range(data, spec)
            assert resp.status == 206, spec
            assert resp.headers["Content-Range"] == (
                f"bytes {start}-{start + len(want) - 1}/{SIZE}"), spec
            assert int(resp.headers["Content-Length"]) == len(want), spec
            assert body == want, spec
    finally:
        conn.close()


@pytest.mark.parametrize("spec", [
    "0-",                          # whole file, open-ended
    f"0-{SIZE - 1}",               # whole file, explicit
    f"{SIZE - 1}-{SIZE - 1}",      # last byte
    f"{SIZE - 1}-",                # last byte, open-ended
    "-1",                          # last byte, suffix
    f"-{SIZE}",                    # suffix == size
    f"-{SIZE + 12345}",            # suffix longer than the file -> whole
    f"{SIZE - 10}-{SIZE + 1000}",  # last-pos past EOF -> clamped
    "0-0",                         # first byte
])
def test_edge_ranges(http_server, site, data, spec):
    srv = http_server(site)
    status, headers, body = request(srv, "/data.bin",
                                    {"Range": f"bytes={spec}"})
    start, want = expected_range(data, spec)
    assert status == 206
    assert headers["Content-Range"] == (
        f"bytes {start}-{start + len(want) - 1}/{SIZE}")
    assert body == want


@pytest.mark.parametrize("header", [
    f"bytes={SIZE}-",
    f"bytes={SIZE + 5}-{SIZE + 10}",
    "bytes=-0",
    f"bytes={SIZE}-{SIZE},-0",
])
def test_unsatisfiable_is_416(http_server, site, header):
    srv = http_server(site)
    status, headers, body = request(srv, "/data.bin", {"Range": header})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{SIZE}"
    assert body == b""


@pytest.mark.parametrize("header", [
    "bytes=5-1",        # last-pos < first-pos is invalid, not unsatisfiable
    "bytes=abc",
    "bytes=1-2-3",
    "bytes=",
    "bytes=-",
    "bytes=--1",
    "bytes=+1-2",
    "bytes=0x1-2",
    "bytes=1 -2",
    "bytes=1-2,x",      # one bad element spoils the whole header
    "bytes 0-5",
    "items=0-5",        # unknown unit
])
def test_invalid_range_syntax_is_ignored(http_server, site, data, header):
    srv = http_server(site)
    status, headers, body = request(srv, "/data.bin", {"Range": header})
    assert status == 200
    assert "Content-Range" not in headers
    assert body == data


def test_range_unit_case_and_list_whitespace(http_server, site, data):
    srv = http_server(site)
    status, headers, body = request(srv, "/data.bin", {"Range": "BYTES=2-5"})
    assert (status, body) == (206, data[2:6])
    # empty list elements and whitespace around commas are allowed
    status, headers, body = request(srv, "/data.bin",
                                    {"Range": "bytes= , 10-19 ,"})
    assert (status, body) == (206, data[10:20])


def parse_multipart(content_type, body):
    """Parse a multipart/byteranges body -> [(Content-Range, bytes)]."""
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", content_type)
    assert match, content_type
    delimiter = b"--" + match.group(1).encode()
    assert body.startswith(delimiter + b"\r\n")
    assert body.endswith(b"\r\n" + delimiter + b"--\r\n")
    parts = []
    inner = body[len(delimiter):-len(b"\r\n" + delimiter + b"--\r\n")]
    for chunk in inner.split(b"\r\n" + delimiter):
        head, _, payload = chunk.partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in
                      head.decode().strip("\r\n").split("\r\n"))
        parts.append((fields["Content-Range"], payload))
    return parts


def test_multiple_ranges_multipart(http_server, site, data):
    """Several satisfiable ranges -> multipart/byteranges, in request order;
    unsatisfiable members are dropped."""
    srv = http_server(site)
    header = f"bytes=100-199, 0-9, -5, {SIZE + 10}-"
    status, headers, body = request(srv, "/data.bin", {"Range": header})
    assert status == 206
    assert int(headers["Content-Length"]) == len(body)
    parts = parse_multipart(headers["Content-Type"], body)
    assert parts == [
        (f"bytes 100-199/{SIZE}", data[100:200]),
        (f"bytes 0-9/{SIZE}", data[:10]),
        (f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}", data[-5:]),
    ]


def test_multiple_ranges_one_satisfiable_is_single_part(http_server, site,
                                                        data):
    srv = http_server(site)
    status, headers, body = request(srv, "/data.bin",
                                    {"Range": f"bytes=0-4,{SIZE}-"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes 0-4/{SIZE}"
    assert body == data[:5]


def test_empty_file(http_server, site):
    srv = http_server(site)
    assert request(srv, "/empty.bin")[::2] == (200, b"")
    status, headers, _ = request(srv, "/empty.bin", {"Range": "bytes=0-"})
    assert (status, headers["Content-Range"]) == (416, "bytes */0")
    # a suffix range is satisfiable but inexpressible: full (empty) 200
    assert request(srv, "/empty.bin", {"Range": "bytes=-5"})[::2] == (200,
                                                                      b"")


def test_head(http_server, site, data):
    """HEAD: full Content-Length, no body (the next response on the same
    connection would be corrupted otherwise), Range ignored per RFC 9110."""
    srv = http_server(site)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        for headers in ({}, {"Range": "bytes=0-9"}):
            conn.request("HEAD", "/data.bin", headers=headers)
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.headers["Content-Length"] == str(SIZE)
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert resp.read() == b""
        conn.request("GET", "/data.bin", headers={"Range": "bytes=0-9"})
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (206, data[:10])
    finally:
        conn.close()
    log = srv.wait_for_log(3)
    assert [(e["method"], e["bytes"]) for e in log] == [
        ("HEAD", 0), ("HEAD", 0), ("GET", 10)]


def test_keep_alive_reuses_one_connection(http_server, site):
    """Several requests (including 404 and 416 answers) on one
    HTTPConnection arrive on one server connection; a second client
    connection gets a new id."""
    srv = http_server(site)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        for path, rng in [("/data.bin", "bytes=0-9"), ("/nope", None),
                          ("/data.bin", f"bytes={SIZE}-"),
                          ("/small.txt", None), ("/data.bin", "bytes=-3")]:
            conn.request("GET", path,
                         headers={"Range": rng} if rng else {})
            conn.getresponse().read()
    finally:
        conn.close()
    request(srv, "/small.txt")
    log = srv.wait_for_log(6)
    assert len({e["conn"] for e in log[:5]}) == 1
    assert log[5]["conn"] != log[0]["conn"]
    assert [e["status"] for e in log] == [206, 404, 416, 200, 206, 200]


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------


def test_missing_and_directories_are_404(http_server, site):
    srv = http_server(site)
    for path in ["/missing.bin", "/sub", "/sub/", "/", "/sub/missing"]:
        assert request(srv, path)[0] == 404, path
    assert request(srv, "/sub/inner.bin")[0] == 200
    assert request(srv, "/inside_link.bin")[0] == 200  # symlink within root
    assert request(srv, "/data%2Ebin")[0] == 200        # escapes decoded


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/sub/..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/escape.txt",            # symlink pointing outside the root
    "//..//secret.txt",
])
def test_path_traversal_refused(http_server, site, path):
    srv = http_server(site)
    raw, _ = raw_exchange(srv.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                                    "Connection: close\r\n\r\n")
    status, _, body = split_response(raw)
    assert status in (403, 404)
    assert SECRET not in body


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------


@pytest.mark.parametrize("spec,status,retry_after", [
    ("503,retry_after=7", 503, "7"),
    ("503", 503, "1"),
    ("429", 429, "1"),
    ("500", 500, None),
    ("502,retry_after=2", 502, "2"),
])
def test_status_faults(http_server, site, spec, status, retry_after):
    srv = http_server(site, faults=spec)
    got, headers, body = request(srv, "/data.bin", {"Range": "bytes=0-9"})
    assert got == status
    assert headers.get("Retry-After") == retry_after
    assert int(headers["Content-Length"]) == len(body) > 0
    entry = srv.wait_for_log(1)[0]
    assert (entry["status"], entry["fault"]) == (status, spec.split(",")[0])


def test_status_fault_keeps_connection_usable(http_server, site, data):
    srv = http_server(site, faults="503,first=1")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request("GET", "/data.bin", headers={"Range": "bytes=0-3"})
        first = conn.getresponse()
        first.read()
        conn.request("GET", "/data.bin", headers={"Range": "bytes=0-3"})
        second = conn.getresponse()
        assert (first.status, second.status, second.read()) == (
            503, 206, data[:4])
    finally:
        conn.close()
    assert len({e["conn"] for e in srv.wait_for_log(2)}) == 1


def test_reset(http_server, site):
    """Headers and `bytes` body bytes arrive, then ECONNRESET."""
    srv = http_server(site, faults="reset,bytes=1000")
    raw, error = raw_exchange(srv.port, "GET /data.bin HTTP/1.1\r\n"
                                        "Host: x\r\n\r\n")
    assert isinstance(error, ConnectionResetError)
    if raw:  # the data sent before the RST normally arrives first
        status, headers, body = split_response(raw)
        assert status == 200 and headers["content-length"] == str(SIZE)
        assert len(body) <= 1000
    # through http.client: the body read fails
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead,
                        http.client.RemoteDisconnected)):
        request(srv, "/data.bin")
    entry = srv.wait_for_log(1)[0]
    assert (entry["fault"], entry["bytes"], entry["status"]) == (
        "reset", 1000, 200)


def test_truncate(http_server, site, data):
    """Full Content-Length announced, a short body, then a clean close."""
    srv = http_server(site, faults="truncate,bytes=5000")
    raw, error = raw_exchange(srv.port, "GET /data.bin HTTP/1.1\r\n"
                                        "Host: x\r\n\r\n")
    assert error is None  # orderly EOF, not a reset
    status, headers, body = split_response(raw)
    assert status == 200 and headers["content-length"] == str(SIZE)
    assert body == data[:5000]
    # default amount: half of the (ranged) body
    srv.set_faults("truncate")
    with pytest.raises(http.client.IncompleteRead) as info:
        request(srv, "/data.bin", {"Range": "bytes=0-99"})
    assert info.value.partial == data[:50]
    log = srv.wait_for_log(2)
    assert [(e["fault"], e["bytes"]) for e in log] == [("truncate", 5000),
                                                      ("truncate", 50)]


def test_client_going_away_mid_body(http_server, tmp_path):
    """A client that resets the connection after part of a large body: the
    server logs what it sent (not the whole body), drops the connection and
    serves the next request."""
    root = tmp_path / "big"
    root.mkdir()
    big = random.Random(99).randbytes(64 * 1024 * 1024)  # > socket buffers
    (root / "big.bin").write_bytes(big)
    srv = http_server(root)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while len(got) < 200_000:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection early"
        got += chunk
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # an RST: the server's next send fails
    entry = srv.wait_for_log(1)[0]
    assert entry["status"] == 200
    body_got = len(got) - got.index(b"\r\n\r\n") - 4
    assert body_got <= entry["bytes"] < len(big)
    status, _, body = request(srv, "/big.bin", {"Range": "bytes=1000-1999"})
    assert (status, body) == (206, big[1000:2000])


def test_stall(http_server, site):
    """Headers arrive, then nothing: a short client timeout fires long
    before the stall (3 s) ends."""
    srv = http_server(site, faults="stall,seconds=3,bytes=100")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=0.5)
    began = time.monotonic()
    try:
        conn.request("GET", "/data.bin")
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(TimeoutError):
            resp.read()
    finally:
        conn.close()
    assert time.monotonic() - began < 2.5
    # stopping the server ends the stall at once (no 3 s wait in teardown)
    began = time.monotonic()
    srv.stop()
    assert time.monotonic() - began < 1.5
    assert srv.log[0]["fault"] == "stall" and srv.log[0]["bytes"] == 100


def test_ignore_range(http_server, site, data):
    srv = http_server(site, faults="ignore-range,first=1")
    # a request without Range is not seen by an ignore-range rule ...
    assert request(srv, "/small.txt")[0] == 200
    # ... so the first ranged request is still the one that gets the fault
    status, headers, body = request(srv, "/data.bin", {"Range": "bytes=5-9"})
    assert (status, body) == (200, data)
    assert "Content-Range" not in headers
    assert request(srv, "/data.bin", {"Range": "bytes=5-9"})[::2] == (
        206, data[5:10])
    assert [e["fault"] for e in srv.wait_for_log(3)] == [
        None, "ignore-range", None]


def test_delay(http_server, site):
    srv = http_server(site, faults="delay,seconds=0.3,path=*.txt")
    began = time.monotonic()
    assert request(srv, "/small.txt")[0] == 200
    assert time.monotonic() - began >= 0.3
    began = time.monotonic()
    assert request(srv, "/data.bin", {"Range": "bytes=0-0"})[0] == 206
    assert time.monotonic() - began < 0.3


def test_settled_log_waits_for_requests_in_flight(http_server, site):
    """settled_log returns once every request that arrived is over: one
    still waiting for its answer is in the log it returns; one whose client
    reset the connection before the answer (the server's write fails, no
    entry is ever added) does not hold it up."""
    srv = http_server(site, faults="delay,seconds=0.4,path=*.txt")
    client = threading.Thread(target=request, args=(srv, "/small.txt"))
    began = time.monotonic()
    client.start()
    time.sleep(0.15)  # arrived, and waiting for its delay
    assert srv.log == []
    log = srv.settled_log()
    assert time.monotonic() - began >= 0.35
    assert [(e["path"], e["status"]) for e in log] == [("/small.txt", 200)]
    client.join()
    srv.clear_log()
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))  # close with a reset
    sock.close()
    began = time.monotonic()
    assert srv.settled_log(timeout=3.0) == []
    assert time.monotonic() - began < 1.0


def test_first_every_and_filters(http_server, site):
    srv = http_server(site, faults="503,first=2")
    assert statuses(srv, 4) == [503, 503, 200, 200]
    srv.set_faults("429,every=3")
    assert statuses(srv, 7) == [200, 200, 429, 200, 200, 429, 200]
    srv.set_faults("503,path=*.txt")
    assert statuses(srv, 2, "/small.txt") == [503, 503]
    assert statuses(srv, 2, "/data.bin", {"Range": "bytes=0-0"}) == [206, 206]
    srv.set_faults("503,path=/sub/*")
    assert statuses(srv, 1, "/sub/inner.bin") == [503]
    srv.set_faults("503,method=HEAD")
    assert statuses(srv, 1, method="HEAD") == [503]
    assert statuses(srv, 1) == [200]
    srv.set_faults("503,ranged=no")
    assert statuses(srv, 1) == [503]
    assert statuses(srv, 1, headers={"Range": "bytes=0-0"}) == [206]


def test_rules_evaluated_in_order(http_server, site):
    """A request taken by an earlier rule is not seen by later rules."""
    srv = http_server(site, faults="503,first=1; 429,every=2")
    # request 1 -> rule 1; requests 2,3,4 are requests 1,2,3 of rule 2
    assert statuses(srv, 4) == [503, 200, 429, 200]
    srv.set_faults("503,path=*.txt;truncate,path=*.bin,bytes=10")
    assert statuses(srv, 1, "/small.txt") == [503]
    with pytest.raises(http.client.IncompleteRead):
        request(srv, "/data.bin")


def test_prob_is_seeded(http_server, site):
    spec = "503,prob=0.5,seed=7"
    one = http_server(site, faults=spec)
    two = http_server(site, faults=spec)
    first = statuses(one, 40)
    assert first == statuses(two, 40)      # same seed, same sequence
    assert {200, 503} == set(first)        # and really random-ish
    one.set_faults(spec)                   # replacing rules restarts the RNG
    assert statuses(one, 40) == first
    one.set_faults("503,prob=0.5,seed=8")
    assert statuses(one, 40) != first


def test_set_faults_at_runtime(http_server, site):
    srv = http_server(site)
    assert statuses(srv, 1) == [200]
    srv.set_faults("429,retry_after=3")
    assert srv.faults == "429,retry_after=3"
    assert request(srv, "/data.bin")[1]["Retry-After"] == "3"
    with pytest.raises(ValueError):
        srv.set_faults("teapot")
    assert srv.faults == "429,retry_after=3"  # a bad SPEC changes nothing
    srv.set_faults("")
    assert statuses(srv, 1) == [200]


def test_control_endpoint(http_server, site, data):
    """Out-of-process control: faults, latency and the log over HTTP."""
    srv = http_server(site)
    status, _, body = request(srv, "/__control/faults", method="PUT",
                              body=b"503, first=1 ,retry_after=0")
    assert (status, body) == (200, b"503,first=1,retry_after=0\n")
    assert request(srv, "/__control/faults")[::2] == (
        200, b"503,first=1,retry_after=0\n")
    assert statuses(srv, 2, headers={"Range": "bytes=0-1"}) == [503, 206]

    status, _, body = request(srv, "/__control/faults", method="PUT",
                              body=b"503,first=zero")
    assert status == 400 and b"first" in body
    assert request(srv, "/__control/faults", method="DELETE")[::2] == (
        200, b"\n")
    assert request(srv, "/__control/ping")[::2] == (200, b"ok\n")

    status, headers, body = request(srv, "/__control/log?min=2")
    assert status == 200
    assert headers["Content-Type"] == "application/x-ndjson"
    entries = [json.loads(line) for line in body.decode().splitlines()]
    # control requests are not logged
    assert [(e["status"], e["fault"], e["range"]) for e in entries] == [
        (503, "503", "bytes=0-1"), (206, None, "bytes=0-1")]

    assert request(srv, "/__control/log", method="DELETE")[0] == 200
    assert request(srv, "/__control/log")[::2] == (200, b"")
    # ?min waits, but only up to ?timeout
    began = time.monotonic()
    assert request(srv, "/__control/log?min=1&timeout=0.2")[::2] == (200, b"")
    assert 0.15 < time.monotonic() - began < 2

    assert request(srv, "/__control/latency", method="PUT",
                   body=b"120")[::2] == (200, b"120\n")
    began = time.monotonic()
    assert request(srv, "/data.bin", {"Range": "bytes=0-0"})[::2] == (
        206, data[:1])
    assert time.monotonic() - began >= 0.12
    assert request(srv, "/__control/nothing")[0] == 404
    assert request(srv, "/__control/latency", method="PUT",
                   body=b"soon")[0] == 400


@pytest.mark.parametrize("spec", [
    "bogus", "600", "399", "503,first=0", "503,first=1,every=2",
    "503,prob=2", "503,path", "503,colour=red", "reset,bytes=-1",
    "503,method=POST", "503,first=1,first=2", "stall,seconds=x",
    "503,ranged=maybe",
])
def test_bad_specs_rejected(site, spec):
    with pytest.raises(ValueError):
        serve.parse_faults(spec)
    with pytest.raises(ValueError):
        serve.LoopbackServer(site, faults=spec)


def test_spec_round_trip():
    spec = ("503,path=*.tif,first=2,retry_after=0; reset,every=5,bytes=100;"
            " stall,method=GET,seconds=0.5; ignore-range,prob=0.25,seed=3;"
            " delay,ranged=no,seconds=2")
    rules = serve.parse_faults(spec)
    assert [r.kind for r in rules] == ["503", "reset", "stall",
                                       "ignore-range", "delay"]
    text = serve.format_faults(rules)
    assert serve.parse_faults(text) == rules
    assert serve.parse_faults("") == [] == serve.parse_faults(" ; ")


def test_log_records_everything(http_server, site, tmp_path):
    log_path = tmp_path / "requests.jsonl"
    srv = http_server(site, log_path=log_path, faults="truncate,path=*.txt")
    before = time.time()
    request(srv, "/data.bin", {"Range": "bytes=10-29"})
    request(srv, "/data.bin", method="HEAD")
    request(srv, "/missing")
    with pytest.raises(http.client.IncompleteRead):
        request(srv, "/small.txt")
    log = srv.wait_for_log(4)
    keys = ["method", "path", "range", "status", "bytes", "fault"]
    assert [[e[k] for k in keys] for e in log] == [
        ["GET", "/data.bin", "bytes=10-29", 206, 20, None],
        ["HEAD", "/data.bin", None, 200, 0, None],
        ["GET", "/missing", None, 404, len(b"not found\n"), None],
        ["GET", "/small.txt", None, 200, 7, "truncate"],
    ]
    assert [e["seq"] for e in log] == [1, 2, 3, 4]  # arrival order
    for entry in log:
        assert before - 1 <= entry["time"] <= time.time()
        assert isinstance(entry["conn"], int)
        assert entry["duration_ms"] >= 0
    # the file holds the same entries, one JSON object per line (in
    # completion order, which may differ from arrival order)
    lines = log_path.read_text().splitlines()
    from_file = [json.loads(line) for line in lines]
    assert sorted(from_file, key=lambda e: e["seq"]) == log
    srv.clear_log()
    assert srv.log == []
    assert len(log_path.read_text().splitlines()) == 4  # file keeps history


def test_log_is_in_arrival_order(http_server, site, tmp_path):
    """A stalled first request completes after a quick second one: the log
    still lists it first (by seq); the file has completion order."""
    log_path = tmp_path / "order.jsonl"
    srv = http_server(site, log_path=log_path,
                      faults="stall,first=1,seconds=0.4,bytes=10")
    slow = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        slow.request("GET", "/small.txt")
        resp = slow.getresponse()  # headers are out: request 1 has arrived
        assert request(srv, "/small.txt")[0] == 200
        with pytest.raises(http.client.IncompleteRead):
            resp.read()  # ends when the stall closes the connection
    finally:
        slow.close()
    log = srv.wait_for_log(2)
    assert [(e["seq"], e["fault"]) for e in log] == [(1, "stall"), (2, None)]
    from_file = [json.loads(x) for x in log_path.read_text().splitlines()]
    assert [e["seq"] for e in from_file] == [2, 1]


# --------------------------------------------------------------------------
# Latency and concurrency
# --------------------------------------------------------------------------


def test_latency_single_and_parallel(http_server, site, data):
    srv = http_server(site, latency_ms=200)
    began = time.monotonic()
    assert request(srv, "/data.bin", {"Range": "bytes=0-99"})[::2] == (
        206, data[:100])
    assert time.monotonic() - began >= 0.2

    def fetch(i):
        return request(srv, "/data.bin", {"Range": f"bytes={i}-{i + 9}"})

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(fetch, range(20)))
    elapsed = time.monotonic() - began
    assert [r[2] for r in results] == [data[i:i + 10] for i in range(20)]
    assert 0.2 <= elapsed < 1.5  # serial would be 20 x 0.2 s = 4 s
    srv.set_latency(0)
    began = time.monotonic()
    request(srv, "/small.txt")
    assert time.monotonic() - began < 0.2


def read_response(sock):
    """Read one Content-Length framed response from a raw socket."""
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside headers")
        buf += chunk
    status, headers, body = split_response(bytes(buf))
    need = int(headers["content-length"])
    body = bytearray(body)
    while len(body) < need:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside body")
        body += chunk
    return status, headers, bytes(body)


def test_200_concurrent_connections(http_server, site, data):
    """200 sockets connect and send before any response is read; with
    100 ms latency per request they must all be in flight together."""
    srv = http_server(site, latency_ms=100)
    rng = random.Random(99)
    socks, wanted = [], []
    began = time.monotonic()
    try:
        for _ in range(200):
            socks.append(socket.create_connection(("127.0.0.1", srv.port),
                                                  timeout=10))
        for sock in socks:
            a = rng.randrange(SIZE)
            b = min(a + rng.randrange(1, 20000), SIZE - 1)
            wanted.append((a, b))
            sock.sendall(f"GET /data.bin HTTP/1.1\r\nHost: x\r\n"
                         f"Range: bytes={a}-{b}\r\n\r\n".encode())
        for sock, (a, b) in zip(socks, wanted):
            status, headers, body = read_response(sock)
            assert status == 206
            assert headers["content-range"] == f"bytes {a}-{b}/{SIZE}"
            assert body == data[a:b + 1]
    finally:
        for sock in socks:
            sock.close()
    assert time.monotonic() - began < 10  # serial: 200 x 0.1 s = 20 s
    log = srv.wait_for_log(200)
    assert len({e["conn"] for e in log}) == 200


def test_stop_closes_keep_alive_connections_and_threads(http_server, site):
    srv = http_server(site)
    port = srv.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/small.txt")
    conn.getresponse().read()  # connection now idle, kept alive
    began = time.monotonic()
    srv.stop()
    assert time.monotonic() - began < 1.5
    conn.close()
    assert not [t for t in threading.enumerate()
                if t.name == f"serve-{port}"
                or t.name.startswith(f"serve-{port}-")]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    srv.stop()  # idempotent


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def read_line(proc, timeout):
    """Read one stdout line from proc, failing after `timeout` seconds."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            raise TimeoutError("no output from serve.py")
        return proc.stdout.readline()
    finally:
        sel.close()


def test_cli(site, data, tmp_path):
    log_path = tmp_path / "cli.jsonl"
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, str(SERVE_PY), str(site), "--port", "0",
         "--log", str(log_path), "--faults", "503,path=*.txt",
         "--port-file", str(port_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc, 10)
        match = re.fullmatch(r"serving (.+) at (http://127\.0\.0\.1:(\d+))\n",
                             line)
        assert match, line
        assert match.group(1) == str(site)
        port = int(match.group(3))
        assert port_file.read_text() == f"{port}\n"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/data.bin", headers={"Range": "bytes=7-70"})
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (206, data[7:71])
        conn.request("GET", "/small.txt")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 503
        conn.close()
        # no sleep needed: stop() joins connection threads before it closes
        # the log file, so the last entry is written even if still pending
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    entries = [json.loads(x) for x in log_path.read_text().splitlines()]
    assert [(e["path"], e["range"], e["status"], e["bytes"]) for e in
            entries] == [("/data.bin", "bytes=7-70", 206, 64),
                         ("/small.txt", None, 503, len(b"injected fault 503\n"))]


def test_cli_rejects_bad_spec(site):
    proc = subprocess.run(
        [sys.executable, str(SERVE_PY), str(site), "--faults", "nonsense"],
        capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2
    assert "unknown fault kind" in proc.stderr
