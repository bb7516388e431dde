"""Security: secrets never leak, TLS is verified, local hrefs are confined.

* Credentials (S3 keys and session token, bearer token, SAS-like query
  strings, user:password@ in URLs) are configured and every error path we
  can reach is driven; exception text (with __cause__ chains), log records
  at DEBUG, reprs and the CLI's stderr are all grepped for the secrets.
* TLS: an untrusted certificate fails with a clear error by default;
  trusting its CA (ca_file) works.
* file:// and plain-path asset hrefs: confined to allowed_local_roots, on by
  default for a remote catalogue (so a remote catalogue cannot make us read
  /etc/passwd); symlinks and ".." are resolved before the check.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lazycogs
from lazycogs.store import HTTPStore, S3Store, from_url

SECRETS = ("S3-SECRET-KEY-abc", "S3-SESSION-TOKEN-xyz", "BEARER-SECRET-tok",
           "SAS-SECRET-sig", "PASSWORD-SECRET-pw")
SAS = "sv=2024-01-01&se=2030-01-01&sig=SAS-SECRET-sig"
USERINFO = "alice:PASSWORD-SECRET-pw@"
# The zone-15 corner of the ci world (as tests/python/test_collection_read).
BBOX = (495000.0, 5185000.0, 515000.0, 5205000.0)
OPEN = dict(bbox=BBOX, crs="EPSG:32615", resolution=100.0, bands=["red"])


def _all_text(exc: BaseException) -> str:
    """Everything an exception shows: str, repr, args, attributes and the
    whole __cause__ / __context__ chain."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts += [str(exc), repr(exc), repr(exc.args),
                  repr({k: v for k, v in vars(exc).items()
                        if k != "__traceback__"})]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def _assert_clean(text: str, what: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked in {what}:\n{text}"


class Grep:
    """Collects every text an error path produced; checks it at the end."""

    def __init__(self, caplog):
        self.caplog = caplog
        self.texts: list[tuple[str, str]] = []
        self.errors = 0

    def run(self, what, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except (lazycogs.LazycogsError, lazycogs.ChunkReadError, OSError,
                ValueError) as exc:  # the errors users see; bugs propagate
            self.errors += 1
            self.texts.append((what, _all_text(exc)))
            return exc
        self.texts.append((what, repr(result)))
        return result

    def check(self):
        # Ours: the "lazycogs" loggers (moto, in this process, logs the
        # requests it receives, credentials included: not our leak).
        ours = [r for r in self.caplog.records
                if r.name.split(".")[0] == "lazycogs"]
        self.texts.append(("logs", "\n".join(
            f"{r.name} {r.levelname} {r.getMessage()}" for r in ours)))
        for what, text in self.texts:
            _assert_clean(text, what)


def _item(item_id, hrefs: dict, world: Path, date="2025-09-01T17:00:00Z"):
    """A STAC item over the ci world's 15TVM tile with the given hrefs,
    without raster:bands: open() then fetches the headers, so the error
    paths of open() are tried too."""
    base = next(json.loads(line) for line in
                (world / "items.ndjson").read_text().splitlines()
                if "_T15TVM_" in json.loads(line)["id"])
    item = {k: base[k] for k in ("type", "stac_version", "geometry", "bbox",
                                 "stac_extensions") if k in base}
    item.update(id=item_id, links=[],
                properties={**base["properties"], "datetime": date})
    asset = {k: v for k, v in base["assets"]["red"].items()
             if k != "raster:bands"}
    item["assets"] = {k: {**asset, "href": h} for k, h in hrefs.items()}
    return item


def _tvm(world: Path) -> Path:
    return sorted((world / "cogs").glob("*_T15TVM_*/red.tif"))[0]


def _write(path: Path, items) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


# --------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------


def test_http_error_paths_never_show_secrets(http_server, ci_world, tmp_path,
                                             caplog):
    caplog.set_level(logging.DEBUG)
    grep = Grep(caplog)
    srv = http_server()
    host = srv.url.split("://")[1]
    rel = _tvm(ci_world).relative_to(ci_world).as_posix()
    fast = dict(max_attempts=2, retry_base=0.01, retry_max=0.02)
    bearer = HTTPStore.from_url(srv.url, bearer_token="BEARER-SECRET-tok",
                                azure_sas=SAS, **fast)
    grep.texts.append(("store repr", repr(bearer) + str(bearer)))
    url_store = from_url(f"http://{USERINFO}{host}/x?{SAS}")
    grep.texts.append(("URL store repr", repr(url_store) + str(url_store)))

    signed = f"http://{USERINFO}{host}/{rel}?{SAS}"
    missing = f"http://{USERINFO}{host}/cogs/missing.tif?{SAS}"
    catalog = _write(tmp_path / "signed.ndjson",
                     [_item("signed", {"red": signed}, ci_world)])
    broken = _write(tmp_path / "missing.ndjson",
                    [_item("missing", {"red": missing}, ci_world)])
    # 404 at open (the header probe), through both kinds of store.
    grep.run("404 open", lazycogs.open, str(broken), **OPEN)
    grep.run("404 open, bearer", lazycogs.open, str(broken), store=bearer,
             **OPEN)
    grep.run("404 read_cog", lazycogs.read_cog, missing)
    # 403, 500 after retries, at open and inside a chunk read.
    for fault in ("403", "500"):
        srv.set_faults(fault)
        grep.run(f"{fault} open", lazycogs.open, str(catalog), store=bearer,
                 **OPEN)
        srv.set_faults("")
    da = lazycogs.open(str(catalog), store=bearer, **OPEN)
    ign = lazycogs.open(str(catalog), store=bearer, errors="ignore", **OPEN)
    srv.set_faults("403,ranged=yes")
    err = grep.run("ChunkReadError", lambda: da.values)
    grep.run("errors=ignore", lambda: ign.values)
    grep.run("explain", lambda: da.lazycogs.explain(fetch_headers=True)
             .summary())
    srv.set_faults("truncate")
    grep.run("truncated", lazycogs.read_cog, signed,
             store=HTTPStore.from_url(srv.url, max_attempts=1))
    srv.set_faults("delay,seconds=5")
    grep.run("timeout", lazycogs.read_cog, signed, store=HTTPStore.from_url(
        srv.url, first_byte_timeout=0.5, max_attempts=1))
    srv.set_faults("")
    # A file that is no TIFF (corrupt).
    jpg = next((ci_world / "cogs").glob("*/thumbnail.jpg"))
    grep.run("corrupt", lazycogs.read_cog,
             f"http://{USERINFO}{host}/{jpg.relative_to(ci_world).as_posix()}"
             f"?{SAS}")
    # DNS failure, connection refused.
    grep.run("dns", lazycogs.read_cog,
             f"http://{USERINFO}no-such-host.invalid/a.tif?{SAS}",
             store=HTTPStore.from_url("http://no-such-host.invalid",
                                      max_attempts=1))
    grep.run("refused", lazycogs.read_cog,
             f"http://{USERINFO}127.0.0.1:9/a.tif?{SAS}",
             store=HTTPStore.from_url("http://127.0.0.1:9", max_attempts=1))
    # A remote catalogue read through a signed URL: explain's summary.
    cat_srv = http_server(tmp_path)
    remote = lazycogs.open(f"{cat_srv.url}/signed.ndjson?{SAS}", store=bearer,
                           **OPEN)
    plan = remote.lazycogs.explain(fetch_headers=True)
    grep.texts.append(("explain", repr(plan) + plan.summary()))
    assert "Parquet:    http://127" in plan.summary()
    # A remote catalogue with a signed URL that is missing.
    grep.run("remote catalogue", lazycogs.open,
             f"http://{USERINFO}{host}/nope.parquet?{SAS}", **OPEN)
    grep.check()
    assert isinstance(err, lazycogs.ChunkReadError)
    assert grep.errors >= 12
    # The messages still say where: the URL, redacted.
    assert f"http://REDACTED@{host}/{rel}?REDACTED" in str(err)
    assert any("Failed to read bands" in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)


def test_s3_error_paths_never_show_secrets(s3_server, ci_world, caplog):
    caplog.set_level(logging.DEBUG)
    grep = Grep(caplog)
    rel = _tvm(ci_world).relative_to(ci_world).as_posix()
    with s3_server.signature_checks() as (key_id, _secret):
        store = S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url,
                        region=s3_server.region, access_key_id=key_id,
                        secret_access_key="S3-SECRET-KEY-abc",
                        session_token="S3-SESSION-TOKEN-xyz", max_attempts=1)
        grep.texts.append(("S3 store repr", repr(store) + str(store)))
        # moto refuses the unknown session token (400 InvalidToken)...
        exc = grep.run("bad token", lazycogs.read_cog,
                       s3_server.href(rel), store=store)
        no_token = S3Store(
            s3_server.bucket, endpoint=s3_server.endpoint_url,
            region=s3_server.region, access_key_id=key_id,
            secret_access_key="S3-SECRET-KEY-abc", max_attempts=1)
        # ...and without it, the signature (403 SignatureDoesNotMatch).
        exc403 = grep.run("bad signature", lazycogs.read_cog,
                          s3_server.href(rel), store=no_token)
        grep.run("bad signature, missing key", lazycogs.read_cog,
                 s3_server.href("cogs/nope.tif"), store=store)
        grep.run("bad signature, open", lazycogs.open,
                 str(s3_server.items_parquet), store=store, **OPEN)
    grep.check()
    assert isinstance(exc, lazycogs.HTTPStatusError)
    assert "HTTP 400" in str(exc) and "InvalidToken" in str(exc)
    assert isinstance(exc403, lazycogs.HTTPStatusError)
    assert "HTTP 403" in str(exc403)


def _cli() -> str | None:
    build = os.environ.get("LAZYCOGS_BUILD_DIR")
    for cand in (os.environ.get("LAZYCOGS_CLI"),
                 build and str(Path(build) / "lazycogs"),
                 shutil.which("lazycogs"),
                 str(Path(sys.executable).parent / "lazycogs")):
        if cand and Path(cand).is_file():
            return cand
    return None


def test_cli_stderr_never_shows_secrets(http_server, ci_world, tmp_path):
    cli = _cli()
    if cli is None:
        pytest.skip("no lazycogs command built")
    srv = http_server()
    host = srv.url.split("://")[1]
    missing = f"http://{USERINFO}{host}/cogs/missing.tif?{SAS}"
    catalog = _write(tmp_path / "c.ndjson",
                     [_item("missing", {"red": missing}, ci_world)])
    runs = [
        [cli, "info", missing],
        [cli, "info", missing, "--bearer-token", "BEARER-SECRET-tok"],
        [cli, "read", str(catalog), "--crs", "EPSG:32615", "--bbox",
         ",".join(str(v) for v in BBOX), "--resolution", "100", "--out",
         str(tmp_path / "o.tif")],
        [cli, "items", f"http://{USERINFO}{host}/none.parquet?{SAS}"],
    ]
    for args in runs:
        proc = subprocess.run(args, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode != 0, args
        assert proc.stderr.strip(), args
        _assert_clean(proc.stderr + proc.stdout, f"stderr of {args[1]}")


# --------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------


def test_tls_verified_by_default_through_open(ci_world, tmp_path):
    trustme = pytest.importorskip("trustme")
    pytest.importorskip("hypercorn")
    from h2_server import H2Server

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, certfile, keyfile = (tmp_path / n for n in
                                  ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    path = _tvm(ci_world)
    with H2Server(ci_world, certfile, keyfile) as srv:
        href = f"{srv.url}/{path.relative_to(ci_world).as_posix()}"
        catalog = _write(tmp_path / "tls.ndjson",
                         [_item("tls", {"red": href}, ci_world)])
        # The default store: verification on, the CA unknown.
        with pytest.raises(lazycogs.ReadError, match="(?i)certificate"):
            lazycogs.open(str(catalog), **OPEN)
        with pytest.raises(lazycogs.ReadError, match="(?i)certificate"):
            lazycogs.open(str(catalog), store=HTTPStore.from_url(srv.url),
                          **OPEN)
        trusted = HTTPStore.from_url(srv.url, ca_file=str(ca_file))
        got = lazycogs.open(str(catalog), store=trusted, **OPEN).values
    local = _write(tmp_path / "local.ndjson",
                   [_item("tls", {"red": str(path)}, ci_world)])
    expected = lazycogs.open(str(local), **OPEN).values
    np.testing.assert_array_equal(got, expected)
    assert (got != 0).any()


# --------------------------------------------------------------------------
# Local hrefs confined to allowed roots
# --------------------------------------------------------------------------


@pytest.fixture
def remote_catalogues(http_server, ci_world, tmp_path):
    """A server for tmp_path/served, where tests put NDJSON catalogues whose
    hrefs are local paths; returns (server, served dir)."""
    served = tmp_path / "served"
    served.mkdir()
    return http_server(served), served


def test_remote_catalogue_cannot_read_local_files(remote_catalogues,
                                                  ci_world, tmp_path):
    srv, served = remote_catalogues
    cog = _tvm(ci_world)
    _write(served / "passwd.ndjson",
           [_item("evil", {"red": "file:///etc/passwd"}, ci_world)])
    _write(served / "plain.ndjson", [_item("evil", {"red": "/etc/passwd"},
                                           ci_world)])
    _write(served / "world.ndjson", [_item("good", {"red": str(cog)},
                                           ci_world)])
    for name, href in (("passwd", "file:///etc/passwd"),
                       ("plain", "/etc/passwd")):
        with pytest.raises(lazycogs.InvalidArgumentError) as excinfo:
            lazycogs.open(f"{srv.url}/{name}.ndjson", **OPEN)
        msg = str(excinfo.value)
        assert f"'{href}'" in msg and "item 'evil'" in msg
        assert "allowed local roots" in msg and "remote" in msg
    # Even the world's own COGs: a remote catalogue reads no local file...
    with pytest.raises(lazycogs.InvalidArgumentError, match="outside"):
        lazycogs.open(f"{srv.url}/world.ndjson", **OPEN)
    # ...unless their folder is allowed; /etc/passwd still is not.
    got = lazycogs.open(f"{srv.url}/world.ndjson",
                        allowed_local_roots=[str(ci_world)], **OPEN).values
    local = lazycogs.open(str(served / "world.ndjson"), **OPEN).values
    np.testing.assert_array_equal(got, local)
    assert (got != 0).any()
    with pytest.raises(lazycogs.InvalidArgumentError, match="/etc/passwd"):
        lazycogs.open(f"{srv.url}/passwd.ndjson",
                      allowed_local_roots=[str(ci_world)], **OPEN)
    # The server was asked for the catalogues only, never for a COG.
    assert all(e["path"].endswith(".ndjson") for e in srv.log)


def test_symlinks_and_dotdot_are_resolved(remote_catalogues, ci_world,
                                          tmp_path):
    srv, served = remote_catalogues
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "ok.tif").symlink_to(_tvm(ci_world))  # pointing outside
    shutil.copy(_tvm(ci_world), allowed / "copy.tif")
    cases = {
        "symlink": str(allowed / "ok.tif"),
        "dotdot": f"{allowed}/../../../../../../etc/passwd",
        "dotdot_url": f"file://{allowed}/../allowed" + "/.." * 30
                      + "/etc/passwd",
    }
    for name, href in cases.items():
        _write(served / f"{name}.ndjson", [_item(name, {"red": href},
                                                 ci_world)])
        with pytest.raises(lazycogs.InvalidArgumentError) as excinfo:
            lazycogs.open(f"{srv.url}/{name}.ndjson",
                          allowed_local_roots=[str(allowed)], **OPEN)
        assert f"'{href}'" in str(excinfo.value)
        assert "resolves to" in str(excinfo.value)
    # A real file inside the root, reached through "..", is fine.
    inside = f"{allowed}/../allowed/copy.tif"
    _write(served / "inside.ndjson", [_item("in", {"red": inside}, ci_world)])
    got = lazycogs.open(f"{srv.url}/inside.ndjson",
                        allowed_local_roots=[str(allowed)], **OPEN).values
    assert (got != 0).any()
    # A root that is itself a symlink is resolved too.
    link_root = tmp_path / "link_root"
    link_root.symlink_to(allowed)
    got2 = lazycogs.open(f"{srv.url}/inside.ndjson",
                         allowed_local_roots=[str(link_root)], **OPEN).values
    np.testing.assert_array_equal(got, got2)


def test_local_catalogue_is_unaffected_unless_asked(ci_world, tmp_path):
    cog = _tvm(ci_world)
    catalog = _write(tmp_path / "local.ndjson",
                     [_item("a", {"red": str(cog)}, ci_world)])
    by_path = lazycogs.open(str(catalog), **OPEN).values
    assert (by_path != 0).any()
    url = _write(tmp_path / "url.ndjson",
                 [_item("a", {"red": cog.as_uri()}, ci_world)])
    np.testing.assert_array_equal(lazycogs.open(str(url), **OPEN).values,
                                  by_path)
    # Explicit roots apply to local catalogues too.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(lazycogs.InvalidArgumentError,
                       match="only hrefs under allowed_local_roots"):
        lazycogs.open(str(catalog), allowed_local_roots=[str(elsewhere)],
                      **OPEN)
    with pytest.raises(lazycogs.InvalidArgumentError, match="outside"):
        lazycogs.open(str(catalog), allowed_local_roots=[], **OPEN)
    np.testing.assert_array_equal(
        lazycogs.open(str(catalog), allowed_local_roots=[str(ci_world)],
                      **OPEN).values, by_path)
    with pytest.raises(lazycogs.InvalidArgumentError, match="cannot resolve"):
        lazycogs.open(str(catalog), allowed_local_roots=[str(tmp_path / "no")],
                      **OPEN)
    with pytest.raises(TypeError):
        lazycogs.open(str(catalog), allowed_local_roots=str(ci_world), **OPEN)


def test_catalogue_from_s3_is_remote_too(s3_server, ci_world):
    """Confinement keys on where the catalogue is read from: an s3://
    catalogue (through catalog_store) counts as remote."""
    evil = _item("evil", {"red": "file:///etc/passwd"}, ci_world)
    s3_server.client().put_object(Bucket=s3_server.bucket,
                                  Key="evil/items.ndjson",
                                  Body=(json.dumps(evil) + "\n").encode())
    store = S3Store(s3_server.bucket, endpoint=s3_server.endpoint_url,
                    region=s3_server.region, skip_signature=True)
    with pytest.raises(lazycogs.InvalidArgumentError,
                       match="'file:///etc/passwd'.*remote"):
        lazycogs.open(f"s3://{s3_server.bucket}/evil/items.ndjson",
                      catalog_store=store, **OPEN)
    with pytest.raises(lazycogs.InvalidArgumentError, match="remote"):
        lazycogs.open("evil/items.ndjson", catalog_store=store, **OPEN)
