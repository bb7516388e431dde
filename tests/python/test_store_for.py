"""store_for, resolve and the Storage Extension (reference sections 1.2, 2.16).

Catalogues are written by the test as NDJSON and, where the layout matters,
as stac-geoparquet by rustac; stores are checked by their options and by
reading through them from the loopback HTTP server and moto.
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np
import pytest

import lazycogs
from lazycogs.store import resolve, root_of

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "stac"

V1 = "https://stac-extensions.github.io/storage/v1.0.0/schema.json"
V2 = "https://stac-extensions.github.io/storage/v2.0.0/schema.json"


def _item(assets, properties=None, extensions=(), item_id="item-1"):
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": list(extensions),
        "id": item_id,
        "geometry": {"type": "Polygon", "coordinates": [
            [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
        "bbox": [0, 0, 1, 1],
        "properties": {"datetime": "2025-06-01T00:00:00Z",
                       **(properties or {})},
        "links": [],
        "assets": assets,
    }


def _write(tmp_path, items, name="items.ndjson"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(it) + "\n" for it in items))
    return str(path)


TIF = "image/tiff; application=geotiff; profile=cloud-optimized"


# ---- resolve ----------------------------------------------------------------

@pytest.mark.parametrize("href, path", [
    ("s3://bucket/path/f.tif", "path/f.tif"),
    ("s3a://bucket/path/f.tif", "path/f.tif"),
    ("gs://bucket/a/b.tif", "a/b.tif"),
    ("https://host.example/x/y.tif?sig=abc", "x/y.tif"),
    ("http://host.example/x.tif", "x.tif"),
    ("file:///data/a.tif", "/data/a.tif"),
    ("https://acct.blob.core.windows.net/container/p.tif", "container/p.tif"),
])
def test_resolve_paths(href, path):
    store, got = resolve(href)
    assert got == path
    assert store is not None


def test_resolve_roots_and_cache():
    a, _ = resolve("s3://bucket-a/x.tif")
    a2, _ = resolve("S3://bucket-a/other/y.tif")
    b, _ = resolve("s3://bucket-b/x.tif")
    assert a is a2
    assert a is not b
    assert root_of("S3://bucket-a/k") == "s3://bucket-a"
    assert root_of("file:///tmp/x.tif") == "file:///"
    assert root_of("/tmp/x.tif") == "file:///"


def test_resolve_cache_is_thread_safe():
    got = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        for _ in range(2):
            got.append(resolve("https://threads.example/a.tif")[0])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 16
    assert len({id(s) for s in got}) == 1


def test_resolve_user_store_and_path_fn():
    user = lazycogs.store.from_url("s3://mine", region="eu-west-1")
    store, path = resolve("s3://mine/a/b.tif", user)
    assert store is user and path == "a/b.tif"
    store, path = resolve("https://acct.blob.core.windows.net/c/p.tif",
                          user, lambda h: h.split("/c/", 1)[1])
    assert store is user and path == "p.tif"
    _, path = resolve("https://acct.blob.core.windows.net/c/p.tif",
                      path_from_href=lambda h: "fixed/" + h[-5:])
    assert path == "fixed/p.tif"


def test_resolve_unsupported_scheme():
    with pytest.raises(ValueError, match="ftp"):
        resolve("ftp://host/x.tif")


# ---- store_for: asset choice and errors ------------------------------------

def test_store_for_no_items(tmp_path):
    path = tmp_path / "empty.ndjson"
    path.write_text("")
    with pytest.raises(ValueError, match="No STAC items"):
        lazycogs.store_for(str(path))


def test_store_for_missing_asset(tmp_path):
    href = _write(tmp_path, [_item({"B04": {"href": "s3://b/x.tif"}})])
    with pytest.raises(KeyError, match="nope.*item-1"):
        lazycogs.store_for(href, asset="nope")


def test_store_for_asset_choice(tmp_path):
    assets = {
        "thumbnail": {"href": "https://thumbs.example/t.png",
                      "type": "image/png", "roles": ["thumbnail"]},
        "meta": {"href": "https://meta.example/m.xml", "roles": ["metadata"]},
        "red": {"href": "s3://data-bucket/red.tif", "roles": ["data"]},
        "visual": {"href": "gs://other/visual.tif", "type": TIF},
    }
    href = _write(tmp_path, [_item(assets)])
    assert lazycogs.store_for(href).url == "s3://data-bucket"
    assert lazycogs.store_for(href, asset="visual").url == "gs://other"
    assert lazycogs.store_for(href, asset="thumbnail").url == \
        "https://thumbs.example"
    # A media type containing image/tiff also marks data; without any data
    # asset the first asset is used.
    only_tif = _write(tmp_path, [_item({
        "thumbnail": {"href": "https://t.example/t.png", "roles": ["x"]},
        "b1": {"href": "https://tif.example/b1.tif", "type": TIF}})],
        "tif.ndjson")
    assert lazycogs.store_for(only_tif).url == "https://tif.example"
    no_data = _write(tmp_path, [_item({
        "a": {"href": "https://first.example/a.xml"},
        "b": {"href": "https://second.example/b.xml"}})], "nodata.ndjson")
    assert lazycogs.store_for(no_data).url == "https://first.example"


def test_store_for_caller_options_win(tmp_path):
    href = _write(tmp_path, [_item(
        {"B04": {"href": "s3://bucket/x.tif", "roles": ["data"],
                 "storage:platform": "AWS", "storage:region": "us-west-2"}},
        extensions=[V1])])
    store = lazycogs.store_for(href, skip_signature=True, region="eu-north-1")
    assert store.options["skip_signature"] is True
    assert store.options["region"] == "eu-north-1"


# ---- Storage Extension v1 -------------------------------------------------------

def _options(tmp_path, asset_fields, properties=None, extensions=(V1,),
             href="s3://bucket/x.tif"):
    path = _write(tmp_path, [_item(
        {"B04": {"href": href, "roles": ["data"], **asset_fields}},
        properties, extensions)])
    return lazycogs.store_for(path).options


def test_v1_region_and_requester_pays(tmp_path):
    opts = _options(tmp_path, {"storage:platform": "AWS",
                               "storage:region": "us-west-2",
                               "storage:requester_pays": True,
                               "storage:tier": "Standard"})
    assert opts == {"region": "us-west-2", "request_payer": True}


def test_v1_item_level_and_lowercase(tmp_path):
    opts = _options(tmp_path, {}, {"storage:platform": "aws",
                                   "storage:region": "eu-central-1"})
    assert opts == {"region": "eu-central-1"}


def test_v1_asset_overrides_item(tmp_path):
    opts = _options(tmp_path, {"storage:region": "ap-south-1"},
                    {"storage:platform": "AWS",
                     "storage:region": "eu-central-1"})
    assert opts == {"region": "ap-south-1"}


def test_v1_other_platform_ignored(tmp_path):
    assert _options(tmp_path, {"storage:platform": "GCP",
                               "storage:region": "us-east1"}) == {}


def test_no_or_unknown_version_ignored(tmp_path):
    fields = {"storage:platform": "AWS", "storage:region": "us-west-2"}
    assert _options(tmp_path, fields, extensions=()) == {}
    v99 = "https://stac-extensions.github.io/storage/v99.0.0/schema.json"
    assert _options(tmp_path, fields, extensions=(v99,)) == {}


# ---- Storage Extension v2 --------------------------------------------------------

SCHEMES = {
    "aws-pays": {"type": "aws-s3", "platform": "https://{bucket}.s3.{region}.amazonaws.com",
                 "region": "us-west-2", "requester_pays": True},
    "ceph": {"type": "custom-s3", "platform": "https://objects.example.org",
             "region": "zone-1"},
    "azure": {"type": "ms-azure", "platform": "https://{account}.blob.core.windows.net",
              "region": "westeurope"},
}


@pytest.mark.parametrize("refs, expected", [
    (["aws-pays"], {"region": "us-west-2", "request_payer": True}),
    (["ceph"], {"region": "zone-1", "endpoint": "https://objects.example.org"}),
    (["azure"], {}),
    (["missing", "ceph"], {"region": "zone-1",
                           "endpoint": "https://objects.example.org"}),
    ([], {}),
])
def test_v2(tmp_path, refs, expected):
    opts = _options(tmp_path, {"storage:refs": refs},
                    {"storage:schemes": SCHEMES}, extensions=(V2,))
    assert opts == expected


def test_v2_templated_custom_platform_is_no_endpoint(tmp_path):
    schemes = {"s": {"type": "custom-s3",
                     "platform": "https://{bucket}.example.org",
                     "region": "r1"}}
    opts = _options(tmp_path, {"storage:refs": ["s"]},
                    {"storage:schemes": schemes}, extensions=(V2,))
    assert opts == {"region": "r1"}


def test_malformed_extension_is_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="lazycogs.store"):
        opts = _options(tmp_path, {"storage:refs": "not-a-list"},
                        {"storage:schemes": SCHEMES}, extensions=(V2,))
    assert opts == {}
    assert "storage" in caplog.text and "item-1" in caplog.text


def test_region_in_s3_host_is_not_repeated(tmp_path):
    opts = _options(
        tmp_path, {"storage:platform": "AWS", "storage:region": "us-west-2"},
        href="https://bucket.s3.us-west-2.amazonaws.com/x.tif")
    assert "region" not in opts


def test_v2_from_rustac_parquet(tmp_path):
    """The same inference when the catalogue is stac-geoparquet (storage
    fields are nested columns there)."""
    rustac = pytest.importorskip("rustac")
    item = _item({"B04": {"href": "s3://ceph-bucket/x.tif", "roles": ["data"],
                          "storage:refs": ["ceph"]}},
                 {"storage:schemes": SCHEMES}, extensions=(V2,))
    path = tmp_path / "items.parquet"
    rustac.write_sync(str(path), [item])
    store = lazycogs.store_for(str(path))
    assert store.url == "s3://ceph-bucket"
    assert store.options == {"region": "zone-1",
                             "endpoint": "https://objects.example.org"}


def test_realdata_sentinel1_mosaics():
    """A real v2 catalogue (CDSE): its first asset refers to the cdse-s3
    custom-s3 scheme."""
    path = REALDATA / "rustac" / "sentinel-1-global-mosaics.parquet"
    if not path.exists():
        pytest.skip("shared/realdata absent")
    import pyarrow.parquet as pq

    row = pq.read_table(path).slice(0, 1).to_pylist()[0]
    assets = {k: v for k, v in row["assets"].items() if v}
    key = next(k for k, v in assets.items() if "data" in (v.get("roles") or []))
    ref = assets[key]["storage:refs"][0]
    scheme = row["storage:schemes"][ref]
    store = lazycogs.store_for(str(path), skip_signature=True)
    assert store.url == "s3://" + assets[key]["href"].split("/")[2]
    assert store.options["endpoint"] == scheme["platform"]
    assert store.options.get("request_payer", False) == bool(
        scheme["requester_pays"])


# ---- the store reads ----------------------------------------------------------------

def _first_item(path):
    return json.loads(Path(path).read_text().splitlines()[0])


def _assert_reads_like_rasterio(href, store, local):
    rasterio = pytest.importorskip("rasterio")
    got = lazycogs.read_cog(href, store=store, window=(0, 0, 64, 64))
    with rasterio.open(local) as src:
        want = src.read(window=((0, 64), (0, 64)))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("catalogue", ["items_ndjson", "items_parquet"])
def test_store_for_reads_world_over_http(http_world, catalogue):
    """store_for on the world's catalogues with http:// hrefs gives a store
    through which an asset reads as rasterio reads the file."""
    store = lazycogs.store_for(str(getattr(http_world, catalogue)))
    first = _first_item(http_world.items_ndjson)
    href = first["assets"]["red"]["href"]
    assert store.url == http_world.url
    local = http_world.world_dir / href[len(http_world.url):].lstrip("/")
    _assert_reads_like_rasterio(href, store, local)


def test_store_for_reads_world_from_s3(s3_server, tmp_path):
    """A catalogue with s3:// hrefs and a v1 Storage Extension region: the
    store gets the region from the item, the endpoint and keys from the
    caller, and reads from moto."""
    first = _first_item(s3_server.items_ndjson)
    key = next(k for k, a in first["assets"].items()
               if "data" in a.get("roles", []))
    first["stac_extensions"].append(V1)
    first["assets"][key]["storage:platform"] = "AWS"
    first["assets"][key]["storage:region"] = s3_server.region
    catalogue = _write(tmp_path, [first])
    store = lazycogs.store_for(
        catalogue, endpoint=s3_server.endpoint_url,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key)
    href = first["assets"][key]["href"]
    assert store.url == f"s3://{s3_server.bucket}"
    assert store.options["region"] == s3_server.region
    local = s3_server.world_dir / href.split("/", 3)[3][len(s3_server.prefix) + 1:]
    _assert_reads_like_rasterio(href, store, local)
