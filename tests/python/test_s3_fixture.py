"""Tests of the s3_server and http_world fixtures: bytes and catalog hrefs."""
# SPDX-License-Identifier: MIT
#
# These check the fixtures themselves, so that a failing lazycogs test can be
# blamed on lazycogs: objects in moto are byte-identical to the world's
# files (through signed, unsigned and plain-HTTP ranged reads), and every
# href in the rewritten catalogs (all three formats) names an object that
# exists, in the bucket or on the loopback HTTP server.
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

CATALOGS = ("items_ndjson", "items_parquet", "items_pyarrow_parquet")


def catalog_hrefs(path: Path):
    """(asset hrefs, link hrefs) of every item in an ndjson/parquet catalog."""
    if path.suffix == ".ndjson":
        items = [json.loads(line) for line in path.read_text().splitlines()
                 if line.strip()]
    else:
        items = pq.read_table(path).to_pylist()
    assert items, f"no items in {path}"
    assets, links = [], []
    for item in items:
        # parquet struct columns turn absent assets into None
        assets += [a["href"] for a in (item["assets"] or {}).values() if a]
        links += [link["href"] for link in item.get("links") or []]
    return assets, links


def world_files(world_dir: Path):
    """Relative POSIX path -> size of every file of the world."""
    return {p.relative_to(world_dir).as_posix(): p.stat().st_size
            for p in world_dir.rglob("*") if p.is_file()}


def sample_cogs(world_dir: Path, n: int = 6):
    """A deterministic handful of COGs (largest and a seeded random few)."""
    cogs = sorted(world_dir.glob("cogs/*/*.tif"))
    assert cogs, "world has no COGs"
    rng = random.Random(5)
    picks = {max(cogs, key=lambda p: p.stat().st_size)}
    picks.update(rng.sample(cogs, min(n - 1, len(cogs))))
    return sorted(picks)


def random_ranges(size: int, rng: random.Random, n: int = 8):
    """Range header values (closed, open, suffix, clamped) with the slice
    each one selects."""
    out = [("bytes=0-15", slice(0, 16)),                 # TIFF header
           (f"bytes=-{min(100, size)}", slice(-min(100, size), None)),
           (f"bytes={size - 1}-", slice(size - 1, None)),
           (f"bytes={size - 3}-{size + 50}", slice(size - 3, None))]
    for _ in range(n):
        a = rng.randrange(size)
        b = a + rng.randrange(1, 100_000)
        out.append((f"bytes={a}-{b}", slice(a, b + 1)))
    return out


# --------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------


def bucket_listing(s3_server):
    """Key -> size of every object under the prefix, listed over HTTP."""
    s3 = s3_server.client()
    listed = {}
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=s3_server.bucket, Prefix=s3_server.prefix + "/")
    for page in pages:
        for obj in page.get("Contents", []):
            listed[obj["Key"]] = obj["Size"]
    return listed


def test_s3_bucket_holds_the_world(s3_server):
    """Every world file is in the bucket under the prefix, with its size."""
    listed = bucket_listing(s3_server)
    want = {s3_server.key(rel): size
            for rel, size in world_files(s3_server.world_dir).items()}
    assert listed == want
    assert sorted(s3_server.keys) == sorted(want)


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_s3_ranged_get_matches_local_file(s3_server, signed):
    s3 = s3_server.client(signed=signed)
    rng = random.Random(11)
    for path in sample_cogs(s3_server.world_dir):
        local = path.read_bytes()
        key = s3_server.key(path.relative_to(s3_server.world_dir))
        for header, part in random_ranges(len(local), rng):
            resp = s3.get_object(Bucket=s3_server.bucket, Key=key,
                                 Range=header)
            body = resp["Body"].read()
            want = local[part]
            start = part.indices(len(local))[0]
            assert body == want, (key, header)
            assert resp["ContentRange"] == (
                f"bytes {start}-{start + len(want) - 1}/{len(local)}")


def test_s3_plain_http_ranged_get(s3_server):
    """What a minimal client does: unsigned path-style GET with Range."""
    path = sample_cogs(s3_server.world_dir, 1)[0]
    local = path.read_bytes()
    key = s3_server.key(path.relative_to(s3_server.world_dir))
    url = f"{s3_server.endpoint_url}/{s3_server.bucket}/{key}"
    with requests.Session() as http:
        http.trust_env = False  # never route loopback through a proxy
        resp = http.get(url, headers={"Range": "bytes=100-4195"}, timeout=10)
        assert resp.status_code == 206
        assert resp.content == local[100:4196]
        missing = http.get(url + ".nope", timeout=10)
        assert missing.status_code in (403, 404)


def test_s3_env_describes_endpoint(s3_server):
    env = s3_server.env()
    assert env["AWS_ENDPOINT_URL"] == s3_server.endpoint_url
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_REGION"] == s3_server.region


@pytest.mark.parametrize("catalog", CATALOGS)
def test_s3_catalog_hrefs_exist_in_bucket(s3_server, catalog):
    assets, links = catalog_hrefs(getattr(s3_server, catalog))
    base = f"s3://{s3_server.bucket}/{s3_server.prefix}/"
    keys = set(bucket_listing(s3_server))
    for href in assets + links:
        assert href.startswith(base), href
        assert href[len("s3://" + s3_server.bucket) + 1:] in keys, href
    # every COG of the world is referenced exactly once
    cogs = {s3_server.href(p.relative_to(s3_server.world_dir))
            for p in s3_server.world_dir.glob("cogs/*/*.tif")}
    tifs = [h for h in assets if h.endswith(".tif")]
    assert sorted(tifs) == sorted(cogs)


def test_catalog_formats_agree(s3_server):
    """The three rewritten catalogs list the same hrefs in the same order."""
    first = catalog_hrefs(s3_server.items_ndjson)
    for catalog in CATALOGS[1:]:
        assert catalog_hrefs(getattr(s3_server, catalog)) == first, catalog


# --------------------------------------------------------------------------
# HTTP world
# --------------------------------------------------------------------------


@pytest.mark.parametrize("catalog", CATALOGS)
def test_http_world_catalog_hrefs(http_world, catalog):
    """All hrefs point at the loopback server and name existing files."""
    assets, links = catalog_hrefs(getattr(http_world, catalog))
    files = world_files(http_world.world_dir)
    base = http_world.url + "/"
    assert base.startswith("http://127.0.0.1:")
    for href in assets + links:
        assert href.startswith(base), href
        assert href[len(base):] in files, href


def test_http_world_serves_catalog_targets(http_world):
    """HEAD every asset href (sizes match) and GET a few, whole and ranged."""
    assets, links = catalog_hrefs(http_world.items_ndjson)
    files = world_files(http_world.world_dir)
    rng = random.Random(3)
    seen = len(http_world.server.log)
    with requests.Session() as http:
        http.trust_env = False
        for href in sorted(set(assets + links)):
            resp = http.head(href, timeout=10)
            assert resp.status_code == 200, href
            size = files[href[len(http_world.url) + 1:]]
            assert int(resp.headers["Content-Length"]) == size, href
        for href in rng.sample(sorted(h for h in assets
                                      if h.endswith(".tif")), 3):
            local = (http_world.world_dir /
                     href[len(http_world.url) + 1:]).read_bytes()
            assert http.get(href, timeout=10).content == local
            resp = http.get(href, headers={"Range": "bytes=8-1031"},
                            timeout=10)
            assert (resp.status_code, resp.content) == (206, local[8:1032])
    # all of that went over very few connections (keep-alive works with a
    # real client library, too)
    log = http_world.server.log[seen:]
    assert len(log) > len(set(assets))
    assert len({e["conn"] for e in log}) <= 3
    assert http_world.href("cogs/x/red.tif") == http_world.url + \
        "/cogs/x/red.tif"


def test_http_server_factory_defaults_to_the_ci_world(http_server, ci_world):
    srv = http_server(latency_ms=0)
    local = (ci_world / "items.ndjson").read_bytes()
    with requests.Session() as http:
        http.trust_env = False
        resp = http.get(srv.url_for("items.ndjson"),
                        headers={"Range": "bytes=-64"}, timeout=10)
    assert (resp.status_code, resp.content) == (206, local[-64:])
