"""Remote reads through the C engine: HTTP faults, S3 signing, TLS, stores."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import http.server
import pickle
import ssl
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

import lazycogs
from lazycogs import _ext
from lazycogs.store import HTTPStore, S3Store, as_store, from_url, get_ranges

# Fast retries so fault tests take milliseconds, not seconds.
FAST = dict(retry_base=0.01, retry_max=0.05)


def _red(ci_world: Path) -> Path:
    return sorted((ci_world / "cogs").glob("*/red.tif"))[0]


def _rel(ci_world: Path, path: Path) -> str:
    return path.relative_to(ci_world).as_posix()


def _local(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def _requests_for(server, relpath: str) -> list[dict]:
    return [e for e in server.log if e["path"].endswith(relpath)]


# ---- HTTP ------------------------------------------------------------------


def test_http_read_equals_local_and_coalesces(http_world, ci_world):
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    with rasterio.open(path) as src:
        nrows = -(-src.height // src.block_shapes[0][0])
    store = HTTPStore.from_url(http_world.url)
    http_world.server.clear_log()
    ours = lazycogs.read_cog(http_world.href(rel), store=store)
    np.testing.assert_array_equal(ours, _local(path))
    http_world.server.wait_for_log(store.stats()["requests"])
    log = _requests_for(http_world.server, rel)
    # One prefix read at open, then at most one request per block row (the
    # tiles of a row are adjacent in a COG and are merged).
    assert 1 <= len(log) <= 1 + nrows
    assert all(e["status"] == 206 for e in log)
    stats = store.stats()
    assert stats["requests"] == len(log)
    assert stats["retries"] == 0


def test_coalescing_gap_option(http_server, ci_world):
    """With merging off, each tile outside the prefix is its own request."""
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    srv = http_server()
    merged = HTTPStore.from_url(srv.url)
    lazycogs.read_cog(f"{srv.url}/{rel}", store=merged)
    n_merged = len(srv.wait_for_log(merged.stats()["requests"]))
    srv.clear_log()
    separate = HTTPStore.from_url(srv.url, coalesce_gap_nbytes=2**64 - 1)
    ours = lazycogs.read_cog(f"{srv.url}/{rel}", store=separate)
    np.testing.assert_array_equal(ours, _local(path))
    assert len(srv.wait_for_log(separate.stats()["requests"])) > n_merged
    assert separate.stats()["coalesced_ranges"] == 0
    assert merged.stats()["coalesced_ranges"] >= 2


def test_default_coalescing_gap(http_server, tmp_path):
    """By default ranges at most 1 MiB apart share a request (as
    object_store merges), farther ones do not; the bytes are those asked
    for either way."""
    data = np.random.default_rng(5).integers(0, 256, 4 << 20, np.uint8)
    (tmp_path / "blob.bin").write_bytes(data.tobytes())
    srv = http_server(tmp_path)
    url = f"{srv.url}/blob.bin"
    for gap, want in (((1 << 20) - 100, 1), ((1 << 20) + 100, 2)):
        store = HTTPStore.from_url(srv.url)
        srv.clear_log()
        starts = [1000, 1100 + gap]
        got = get_ranges(store, url, starts=starts, lengths=[100, 100])
        assert got == [data[s:s + 100].tobytes() for s in starts]
        log = srv.wait_for_log(store.stats()["requests"])
        assert len(log) == want, (gap, [e["range"] for e in log])


@pytest.mark.parametrize("faults", [None, "ignore-range"])
def test_merged_request_pieces(http_server, tmp_path, faults):
    """The members of a merged request, overlapping or apart, each get their
    own bytes (written as they arrive, the gaps dropped), also when the
    server answers with the whole object."""
    data = np.random.default_rng(6).integers(0, 256, 3 << 20, np.uint8)
    (tmp_path / "blob.bin").write_bytes(data.tobytes())
    srv = http_server(tmp_path, faults=faults)
    store = HTTPStore.from_url(srv.url)
    starts = [700_000, 1000, 1050, 1100, 20_000, 1_500_000, 1_500_010]
    lengths = [5000, 100, 100, 50_000, 3, 100_000, 10]
    got = get_ranges(store, f"{srv.url}/blob.bin", starts=starts,
                     lengths=lengths)
    assert got == [data[s:s + k].tobytes() for s, k in zip(starts, lengths)]
    assert len(srv.wait_for_log(store.stats()["requests"])) == 1


@pytest.mark.parametrize("cap", [3, None])
def test_connections_per_host(http_server, ci_world, cap):
    """80 separate ranges asked at once, at 50 ms a request: the transfers
    share at most max_connections_per_host connections to the host, 32 by
    default."""
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    srv = http_server(latency_ms=50)
    options = dict(coalesce_gap_nbytes=2**64 - 1)
    if cap is not None:
        options["max_connections_per_host"] = cap
    store = HTTPStore.from_url(srv.url, **options)
    starts = [1000 * k for k in range(80)]
    got = get_ranges(store, f"{srv.url}/{rel}", starts=starts,
                     lengths=[10] * 80)
    data = path.read_bytes()
    assert got == [data[s:s + 10] for s in starts]
    conns = {e["conn"] for e in srv.wait_for_log(80)}
    if cap is None:
        assert 16 < len(conns) <= 32, len(conns)
    else:
        assert len(conns) == cap


@pytest.mark.parametrize("fault", [
    "503,first=2,retry_after=0",
    "429,first=2,retry_after=0",
    "reset,first=2",
    "truncate,first=2",
    "500,first=1",
])
def test_transient_faults_are_recovered(http_server, ci_world, fault):
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    srv = http_server(faults=fault)
    store = HTTPStore.from_url(srv.url, **FAST)
    ours = lazycogs.read_cog(f"{srv.url}/{rel}", store=store)
    np.testing.assert_array_equal(ours, _local(path))
    log = srv.wait_for_log(store.stats()["requests"])
    faulted = [e for e in log if e["fault"]]
    assert len(faulted) == int(fault.split("first=")[1].split(",")[0])
    # Every faulted request was retried: the server saw that many extra.
    assert store.stats()["retries"] == len(faulted)
    assert store.stats()["requests"] == len(log)


def test_retry_after_is_honoured(http_server, ci_world):
    rel = _rel(ci_world, _red(ci_world))
    srv = http_server(faults="503,first=1,retry_after=1")
    store = HTTPStore.from_url(srv.url, retry_base=0.01, retry_max=5)
    lazycogs.read_cog(f"{srv.url}/{rel}", store=store, window=(0, 0, 4, 4))
    first, second = srv.wait_for_log(2)[:2]
    assert first["status"] == 503
    assert second["time"] - first["time"] >= 0.9


def test_stalled_body_times_out_and_is_retried(http_server, ci_world):
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    srv = http_server(faults="stall,first=1,seconds=2.5")
    store = HTTPStore.from_url(srv.url, stall_timeout=1, **FAST)
    ours = lazycogs.read_cog(f"{srv.url}/{rel}", store=store)
    np.testing.assert_array_equal(ours, _local(path))
    assert store.stats()["retries"] == 1


def test_server_ignoring_range(http_server, ci_world):
    """A 200 answer to a range request: the right bytes are kept, and the
    transfer stops once the range has arrived."""
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    srv = http_server(faults="ignore-range")
    store = HTTPStore.from_url(srv.url)
    ours = lazycogs.read_cog(f"{srv.url}/{rel}", store=store)
    np.testing.assert_array_equal(ours, _local(path))
    assert all(e["status"] == 200 for e in srv.log)
    size = path.stat().st_size
    # Never the whole file per request: reading stops after the range.
    assert store.stats()["bytes"] < len(srv.log) * size


def test_permanent_errors_fail_with_clear_messages(http_server, ci_world):
    rel = _rel(ci_world, _red(ci_world))
    srv = http_server(faults="503")
    store = HTTPStore.from_url(srv.url, max_attempts=3, **FAST)
    with pytest.raises(lazycogs.HTTPStatusError) as excinfo:
        lazycogs.read_cog(f"{srv.url}/{rel}", store=store)
    msg = str(excinfo.value)
    assert "HTTP 503" in msg and "3 attempts" in msg and rel in msg
    assert len(srv.wait_for_log(3)) == 3

    srv.set_faults("403")
    srv.clear_log()
    with pytest.raises(lazycogs.HTTPStatusError, match="HTTP 403"):
        lazycogs.read_cog(f"{srv.url}/{rel}", store=store)
    assert len(srv.wait_for_log(1)) == 1  # 4xx: no retry
    time.sleep(0.2)
    assert len(srv.log) == 1

    srv.set_faults("")
    with pytest.raises(lazycogs.NotFoundError, match="HTTP 404"):
        lazycogs.read_cog(f"{srv.url}/cogs/missing.tif", store=store)


def test_secrets_never_in_errors(http_server):
    srv = http_server()
    url = (srv.url.replace("http://", "http://alice:hunter2@")
           + "/missing.tif?X-Amz-Signature=topsecret&token=abc123")
    with pytest.raises(lazycogs.LazycogsError) as excinfo:
        lazycogs.read_cog(url)
    msg = str(excinfo.value)
    for secret in ("hunter2", "topsecret", "abc123"):
        assert secret not in msg
    assert "REDACTED" in msg


def test_connection_refused_is_an_io_error():
    store = HTTPStore.from_url("http://127.0.0.1:9", max_attempts=2, **FAST,
                               connect_timeout=1)
    with pytest.raises(lazycogs.ReadError) as excinfo:
        lazycogs.read_cog("http://127.0.0.1:9/x.tif", store=store)
    assert "2 attempts" in str(excinfo.value)


def test_bearer_token_is_sent(http_server, ci_world):
    rel = _rel(ci_world, _red(ci_world))
    srv = http_server()
    store = HTTPStore.from_url(srv.url, bearer_token="tok-123")
    lazycogs.read_cog(f"{srv.url}/{rel}", store=store, window=(0, 0, 2, 2))
    assert {e["auth"] for e in srv.log} == {"Bearer"}
    assert "tok-123" not in repr(store)


# ---- TLS -------------------------------------------------------------------


@pytest.fixture
def tls_server(ci_world, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(ci_world), **k)

        def do_GET(self):  # minimal Range support for the test
            path = Path(self.translate_path(self.path))
            data = path.read_bytes()
            first, last = self.headers["Range"].split("=")[1].split("-")
            first, last = int(first), min(int(last), len(data) - 1)
            body = data[first:last + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", ca_file
    httpd.shutdown()
    httpd.server_close()


def test_tls_verification(tls_server, ci_world):
    base, ca_file = tls_server
    path = _red(ci_world)
    url = f"{base}/{_rel(ci_world, path)}"
    with pytest.raises(lazycogs.ReadError, match="(?i)certificate"):
        lazycogs.read_cog(url, store=HTTPStore.from_url(base, max_attempts=1))
    ours = lazycogs.read_cog(url, store=HTTPStore.from_url(base, ca_file=str(ca_file)))
    np.testing.assert_array_equal(ours, _local(path))


# ---- S3 (moto) -------------------------------------------------------------


def test_s3_signed_read(s3_server, ci_world):
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    store = S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url,
                    region=s3_server.region,
                    access_key_id=s3_server.access_key_id,
                    secret_access_key=s3_server.secret_access_key)
    ours = lazycogs.read_cog(s3_server.href(rel), store=store)
    np.testing.assert_array_equal(ours, _local(path))
    assert "secret_access_key=***" in repr(store)


def test_s3_signature_is_checked(s3_server, ci_world):
    """With moto verifying signatures, the wrong secret is rejected by the
    server (403, no retry) and the right one gets the data."""
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    with s3_server.signature_checks() as (key_id, secret):
        bad = S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url,
                      region=s3_server.region, access_key_id=key_id,
                      secret_access_key="not-the-secret")
        with pytest.raises(lazycogs.HTTPStatusError, match="HTTP 403") as excinfo:
            lazycogs.read_cog(s3_server.href(rel), store=bad)
        assert "not-the-secret" not in str(excinfo.value)
        assert "SignatureDoesNotMatch" in str(excinfo.value)
        good = S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url,
                       region=s3_server.region, access_key_id=key_id,
                       secret_access_key=secret)
        ours = lazycogs.read_cog(s3_server.href(rel), store=good)
    np.testing.assert_array_equal(ours, _local(path))


def test_s3_credentials_from_environment(s3_server, ci_world, monkeypatch):
    rel = _rel(ci_world, _red(ci_world))
    with s3_server.signature_checks() as (key_id, secret):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        monkeypatch.setenv("AWS_REGION", s3_server.region)
        store = S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url)
        lazycogs.read_cog(s3_server.href(rel), store=store, window=(0, 0, 2, 2))


def test_s3_credentials_from_profile_file(s3_server, ci_world, tmp_path,
                                          monkeypatch):
    rel = _rel(ci_world, _red(ci_world))
    with s3_server.signature_checks() as (key_id, secret):
        creds = tmp_path / "credentials"
        creds.write_text(f"[default]\naws_access_key_id = wrong\n"
                         f"aws_secret_access_key = wrong\n\n[reader]\n"
                         f"aws_access_key_id = {key_id}\n"
                         f"aws_secret_access_key = {secret}\n")
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
        store = S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url,
                        region=s3_server.region, profile="reader")
        lazycogs.read_cog(s3_server.href(rel), store=store, window=(0, 0, 2, 2))


def test_s3_unsigned_public_read(s3_server, ci_world):
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    store = from_url(f"s3://{s3_server.bucket}", endpoint=s3_server.endpoint_url,
                     region=s3_server.region, skip_signature=True)
    ours = lazycogs.read_cog(s3_server.href(rel), store=store)
    np.testing.assert_array_equal(ours, _local(path))


def test_s3_prefix_and_relative_href(s3_server, ci_world):
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    store = S3Store(s3_server.bucket, prefix=s3_server.prefix,
                    endpoint=s3_server.endpoint_url, region=s3_server.region,
                    skip_signature=True)
    ours = lazycogs.read_cog(rel, store=store)
    np.testing.assert_array_equal(ours, _local(path))


def test_s3_requester_pays_header(http_server, ci_world):
    """Path-style S3 against the loopback server (which logs x-amz-*
    headers): the requester-pays header and a signature are sent."""
    srv = http_server()
    rel = _rel(ci_world, _red(ci_world))
    bucket, key = rel.split("/", 1)
    store = S3Store(bucket, endpoint=srv.url, region="us-east-1",
                    access_key_id="AKID", secret_access_key="s3cr3t",
                    request_payer=True)
    lazycogs.read_cog(f"s3://{bucket}/{key}", store=store, window=(0, 0, 2, 2))
    for e in srv.log:
        assert e["amz"]["x-amz-request-payer"] == "requester"
        assert e["auth"] == "AWS4-HMAC-SHA256"
        assert "x-amz-content-sha256" in e["amz"] and "x-amz-date" in e["amz"]


def test_obstore_store_is_accepted(s3_server, ci_world):
    obstore = pytest.importorskip("obstore.store")
    path = _red(ci_world)
    rel = _rel(ci_world, path)
    ob = obstore.S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url,
                         region=s3_server.region, skip_signature=True,
                         client_options={"allow_http": True, "timeout": "30s"})
    ours = lazycogs.read_cog(s3_server.href(rel), store=ob)
    np.testing.assert_array_equal(ours, _local(path))
    converted = as_store(ob)
    assert isinstance(converted, S3Store)
    assert converted.options["stall_timeout"] == 30.0


def test_store_pickles_and_parses_s3_https_urls():
    store = from_url("https://sentinel-cogs.s3.us-west-2.amazonaws.com",
                     skip_signature=True)
    assert isinstance(store, S3Store)
    again = pickle.loads(pickle.dumps(store))
    assert type(again) is S3Store and again.url == store.url
    assert again.options == store.options
    with pytest.raises(ValueError, match="unknown store option"):
        from_url("s3://b", frobnicate=1)


def test_process_stats_grow(http_world, ci_world):
    before = _ext.process_stats()
    lazycogs.read_cog(http_world.href(_rel(ci_world, _red(ci_world))),
                      window=(0, 0, 2, 2))
    after = _ext.process_stats()
    assert after["requests"] > before["requests"]
    assert after["bytes"] > before["bytes"]


def test_fork_after_remote_reads(http_world, ci_world, tmp_path):
    """A process that has read over HTTP forks (multiprocessing's default
    on Linux): the child's remote reads work - they used to wait forever
    for the parent's I/O thread, which the child does not have - and so do
    the parent's after. Both compared with rasterio's read of the file."""
    import subprocess
    import sys

    path = _red(ci_world)
    np.save(tmp_path / "want.npy", _local(path))
    code = f"""
import os, signal, sys
import numpy as np
import lazycogs
href, want = {http_world.href(_rel(ci_world, path))!r}, np.load({str(tmp_path / "want.npy")!r})
assert (lazycogs.read_cog(href, window=(0, 0, 8, 8)) == want[:, :8, :8]).all()
pid = os.fork()
if pid == 0:
    signal.alarm(30)
    ok = (lazycogs.read_cog(href, window=(5, 3, 40, 30)) == want[:, 3:33, 5:45]).all()
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
ok = (lazycogs.read_cog(href) == want).all()
print(os.waitstatus_to_exitcode(status), ok)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "0 True\n", out.stdout + out.stderr


_PRECONNECT_CHILD = """
import json, os, sys, time
import numpy as np
from lazycogs import _ext
local_href, remote_href, fork = sys.argv[1], sys.argv[2], sys.argv[3] == "fork"
kw = dict(crs="EPSG:5070", bbox=(150000.0, 2540000.0, 560000.0, 2740000.0),
          resolution=400.0)
def read(coll):
    info = coll.info()
    t = next(i for i, s in enumerate(coll.times()) if s["nitems"] > 0)
    out = np.zeros((len(coll.bands()), 1, 64, 64), info["dtype"])
    coll.read(list(range(len(coll.bands()))), [t], info["width"] // 2,
              info["height"] // 2, 64, 64, out)
    return out
remote = _ext.Collection(remote_href, kw)
time.sleep(0.3)  # the server accepts the connections meanwhile
marks = dict(nbands=len(remote.bands()), child_ok=True)
want = read(_ext.Collection(local_href, kw))
if fork:
    marks["fork"] = time.time()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if (read(remote) == want).all() else 3)
    _, status = os.waitpid(pid, 0)
    marks["child_ok"] = os.waitstatus_to_exitcode(status) == 0
marks["read"] = time.time()
marks["same"] = bool((read(remote) == want).all())
print(json.dumps(marks))
"""


def test_first_read_takes_connections_opened_ahead(http_world, ci_world):
    """open() of a collection whose COGs are remote has a connection per
    band opened while the caller goes on, and the first read's requests
    take them instead of connecting: the server accepted every connection
    they came on before the read began (in a new process, whose curl has
    no connection of its own yet). A process forked after open() connects
    anew (the parent's connections are not its to use), and the parent's
    read still takes them. With a proxy in the environment (one that curl
    bypasses for the loopback host: no_proxy) open() opens none. Pixels:
    the local collection's, in the parent and in the child."""
    import json
    import os
    import subprocess
    import sys

    srv = http_world.server

    def run(mode, **env):
        srv.clear_log()
        out = subprocess.run(
            [sys.executable, "-c", _PRECONNECT_CHILD,
             str(ci_world / "items.parquet"), str(http_world.items_parquet),
             mode], capture_output=True, text=True, timeout=120,
            env=dict(os.environ, **env))
        assert out.returncode == 0, out.stderr
        marks = json.loads(out.stdout)
        assert marks["same"] and marks["child_ok"], marks
        return marks, srv.log

    marks, log = run("fork")
    parent = [e for e in log if e["time"] >= marks["read"]]
    child = [e for e in log if marks["fork"] <= e["time"] < marks["read"]]
    assert parent and child
    assert all(e["conn_time"] < marks["fork"] for e in parent), parent
    assert len({e["conn"] for e in parent}) <= marks["nbands"], parent
    assert all(e["conn_time"] >= marks["fork"] for e in child), child

    marks, log = run("alone", all_proxy="http://127.0.0.1:9",
                     no_proxy="127.0.0.1,localhost")
    assert log and all(e["conn_time"] >= marks["read"] for e in log), log


def test_azure_sas_is_appended(http_server, ci_world):
    rel = _rel(ci_world, _red(ci_world))
    srv = http_server()
    store = HTTPStore.from_url(srv.url, azure_sas="sv=2024&sig=abc%2Fdef")
    lazycogs.read_cog(rel, store=store, window=(0, 0, 2, 2))
    assert srv.log and all(e["path"].endswith("?sv=2024&sig=abc%2Fdef")
                           for e in srv.log)


def test_netrc_credentials(http_server, ci_world, tmp_path, monkeypatch):
    rel = _rel(ci_world, _red(ci_world))
    srv = http_server()
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login earthdata password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    store = HTTPStore.from_url(srv.url, use_netrc=True)
    lazycogs.read_cog(f"{srv.url}/{rel}", store=store, window=(0, 0, 2, 2))
    # The server logs a request after answering it: wait for all of them
    # before looking (or clearing), so none lands in the next read's log.
    log = srv.wait_for_log(store.stats()["requests"])
    assert {e["auth"] for e in log} == {"Basic"}
    plain = HTTPStore.from_url(srv.url)
    srv.clear_log()
    lazycogs.read_cog(f"{srv.url}/{rel}", store=plain, window=(0, 0, 2, 2))
    log = srv.wait_for_log(plain.stats()["requests"])
    assert len(log) == plain.stats()["requests"]
    assert {e["auth"] for e in log} == {None}


def test_get_ranges(http_world, ci_world):
    path = _red(ci_world)
    data = path.read_bytes()
    got = get_ranges(HTTPStore.from_url(http_world.url),
                     http_world.href(_rel(ci_world, path)),
                     starts=[0, 100, len(data) - 10, len(data) + 5],
                     lengths=[8, 1000, 50, 4])
    assert got == [data[:8], data[100:1100], data[-10:], b""]


@pytest.mark.parametrize("auth", ["bearer", "netrc"])
def test_redirect_to_another_host_drops_credentials(http_server, ci_world,
                                                    tmp_path, monkeypatch, auth):
    """NASA Earthdata style: the first host redirects to another (here
    'localhost' vs '127.0.0.1'); credentials go to the first host only."""
    rel = _rel(ci_world, _red(ci_world))
    target = http_server()
    target_url = target.url.replace("127.0.0.1", "localhost")
    front = http_server(faults=f"redirect,location={target_url}")
    if auth == "bearer":
        store = HTTPStore.from_url(front.url, bearer_token="tok-123")
    else:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login u password p\n"
                         "machine localhost login other password q\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        store = HTTPStore.from_url(front.url, use_netrc=True)
    ours = lazycogs.read_cog(f"{front.url}/{rel}", store=store)
    np.testing.assert_array_equal(ours, _local(_red(ci_world)))
    assert front.log and all(e["status"] == 302 for e in front.log)
    assert {e["auth"] for e in front.log} == {"Bearer" if auth == "bearer" else "Basic"}
    assert target.log and all(e["status"] == 206 for e in target.log)
    if auth == "bearer":
        assert {e["auth"] for e in target.log} == {None}
