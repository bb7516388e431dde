"""Shared pytest fixtures: the generated test world and the loopback servers."""
# SPDX-License-Identifier: MIT
#
# Fixtures
#   ci_world     (session)  Path of the ci-size world, catalogs with file:// hrefs.
#   http_server  (function) factory: http_server(root=None, latency_ms=0,
#                           faults=None, log_path=None) -> started
#                           serve.LoopbackServer; root defaults to the ci world;
#                           every server it made is stopped at teardown.
#   http_world   (session)  HttpWorld: the ci world behind one LoopbackServer,
#                           catalogs rewritten to http://127.0.0.1:PORT/... hrefs.
#                           Shared by the session: do not set faults / latency
#                           on it (use http_server for that).
#                           .server .url .world_dir .catalog_dir .items_parquet
#                           .items_pyarrow_parquet .items_ndjson .href(relpath)
#   s3_server    (session)  S3World: moto in server mode on loopback, bucket
#                           "lazycogs-test" holding the ci world under prefix
#                           "worlds/ci" (anonymous s3:GetObject allowed by a
#                           bucket policy), catalogs rewritten to
#                           s3://lazycogs-test/worlds/ci/... hrefs.
#                           .endpoint_url .bucket .prefix .region
#                           .access_key_id .secret_access_key (both "testing")
#                           .world_dir .catalog_dir .items_parquet
#                           .items_pyarrow_parquet .items_ndjson .keys
#                           .key(relpath) .href(relpath) .client(signed=True)
#                           .env() (AWS_* variables for subprocesses)
#
# Everything listens on 127.0.0.1 only, on ports picked by the kernel.
# LAZYCOGS_WORLD_DIR overrides where the ci world lives; LAZYCOGS_S3_UPLOAD=http
# makes s3_server upload through the S3 API instead of moto's backend.
import contextlib
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"
sys.path.insert(0, str(TOOLS))

import serve  # noqa: E402  (tools/serve.py, found through the path above)

# Catalog files write_catalogs() produces, by S3World/HttpWorld attribute.
CATALOG_FILES = {
    "items_parquet": "items.parquet",
    "items_pyarrow_parquet": "items-pyarrow.parquet",
    "items_ndjson": "items.ndjson",
}

S3_BUCKET = "lazycogs-test"
S3_PREFIX = "worlds/ci"
S3_REGION = "us-east-1"
S3_KEY = "testing"  # dummy access key id and secret; moto accepts anything


def _world_dir() -> Path:
    """Where the ci world lives; reused across runs (make_world skips work
    when the folder already holds a complete world of the same version)."""
    env = os.environ.get("LAZYCOGS_WORLD_DIR")
    return Path(env) if env else REPO / "_world" / "ci"


@pytest.fixture(scope="session")
def ci_world() -> Path:
    """Path of the ci-size test world (COGs + items.parquet etc.), file:// hrefs."""
    out = _world_dir()
    subprocess.run(
        [sys.executable, str(TOOLS / "make_world.py"), "--size", "ci",
         "--out", str(out)],
        check=True,
    )
    return out


def _rewrite_catalogs(world_dir: Path, href_base: str,
                      out_dir: Path) -> Dict[str, Path]:
    """Write the world's catalogs with asset hrefs rebased onto href_base
    (an s3:// or http:// prefix standing for world_dir) into out_dir.

    Returns {attribute name: path} for the files in CATALOG_FILES.
    """
    import make_world  # tools/make_world.py; imported late so that tests
    # which never touch the world do not depend on it (or its imports)

    items = make_world.load_items(world_dir)
    rebased = make_world.rebase_hrefs(items, world_dir, href_base)
    out_dir.mkdir(parents=True, exist_ok=True)
    make_world.write_catalogs(rebased, out_dir)
    paths = {attr: out_dir / name for attr, name in CATALOG_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise RuntimeError(f"write_catalogs did not produce {missing}")
    return paths


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


@pytest.fixture
def http_server(request):
    """Factory for running LoopbackServers, stopped when the test ends.

        srv = http_server(tmp_path, latency_ms=50, faults="503,first=1")
        srv.url, srv.port, srv.log, srv.set_faults("reset"), ...

    With root=None the ci world is served (and generated if needed).
    """
    servers: List[serve.LoopbackServer] = []

    def make(root=None, **kwargs) -> serve.LoopbackServer:
        if root is None:
            root = request.getfixturevalue("ci_world")
        srv = serve.LoopbackServer(root, **kwargs)
        servers.append(srv)
        return srv.start()

    yield make
    for srv in servers:
        srv.stop()


@dataclass
class HttpWorld:
    """The ci world served over loopback HTTP, with http:// catalogs."""

    server: serve.LoopbackServer
    url: str                   # base URL, e.g. http://127.0.0.1:40123
    world_dir: Path            # the served directory (file:// catalogs)
    catalog_dir: Path          # rewritten catalogs live here
    items_parquet: Path
    items_pyarrow_parquet: Path
    items_ndjson: Path

    def href(self, relpath) -> str:
        """http:// URL of a file given relative to the world directory."""
        return self.server.url_for(relpath)


@pytest.fixture(scope="session")
def http_world(ci_world, tmp_path_factory):
    """The ci world behind a session-wide LoopbackServer (no latency, no
    faults) with catalogs whose hrefs point at it."""
    with serve.LoopbackServer(ci_world) as srv:
        out = tmp_path_factory.mktemp("http_catalogs")
        paths = _rewrite_catalogs(ci_world, srv.url, out)
        yield HttpWorld(server=srv, url=srv.url, world_dir=ci_world,
                        catalog_dir=out, **paths)


# --------------------------------------------------------------------------
# S3 (moto)
# --------------------------------------------------------------------------


@dataclass
class S3World:
    """The ci world in a moto S3 bucket reachable on loopback.

    Objects are at s3://{bucket}/{prefix}/{path relative to world_dir};
    addressing is path-style (http://127.0.0.1:PORT/bucket/key).
    """

    endpoint_url: str
    bucket: str
    prefix: str
    region: str
    access_key_id: str
    secret_access_key: str
    world_dir: Path
    catalog_dir: Path
    items_parquet: Path
    items_pyarrow_parquet: Path
    items_ndjson: Path
    keys: List[str] = field(default_factory=list)  # every uploaded key
    _clients: list = field(default_factory=list, repr=False)
    _iam_key: tuple = field(default=(), repr=False)

    def key(self, relpath) -> str:
        """Object key of a file given relative to the world directory."""
        return f"{self.prefix}/{Path(relpath).as_posix()}"

    def href(self, relpath) -> str:
        """s3:// URL of a file given relative to the world directory."""
        return f"s3://{self.bucket}/{self.key(relpath)}"

    def client(self, signed: bool = True):
        """A boto3 S3 client for the endpoint (closed at session end).

        signed=False gives anonymous requests (botocore UNSIGNED)."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        config = Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            signature_version=None if signed else UNSIGNED,
        )
        client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key, config=config)
        self._clients.append(client)
        return client

    @contextlib.contextmanager
    def signature_checks(self):
        """While active, moto verifies every request's SigV4 signature
        against the keys of IAM users; yields (access_key_id, secret) of a
        user allowed to read everything. Outside it, any key is accepted."""
        from moto import settings

        iam = boto3_client("iam", self)
        if not self._iam_key:
            iam.create_user(UserName="lazycogs-reader")
            iam.put_user_policy(
                UserName="lazycogs-reader", PolicyName="read",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="lazycogs-reader")["AccessKey"]
            self._iam_key = (key["AccessKeyId"], key["SecretAccessKey"])
        iam.close()
        saved = settings.INITIAL_NO_AUTH_ACTION_COUNT
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        try:
            yield self._iam_key
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT = saved

    def env(self) -> Dict[str, str]:
        """Standard AWS SDK variables pointing a subprocess at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def boto3_client(service: str, world: "S3World"):
    """A boto3 client of another moto service on the same endpoint."""
    import boto3

    return boto3.session.Session().client(
        service, endpoint_url=world.endpoint_url, region_name=world.region,
        aws_access_key_id=world.access_key_id,
        aws_secret_access_key=world.secret_access_key)


def _put_objects_in_process(bucket, keys_and_paths) -> bool:
    """Store objects straight into moto's in-process S3 backend.

    ThreadedMotoServer serves the backend of this very process, so objects
    put here are what the HTTP endpoint returns.  This takes ~0.1 s for the
    ci world where ~600 PUTs through HTTP take ~5 s.  It uses moto's internal
    model API (moto is pinned in requirements-dev.txt); if that API is not
    there, return False and let the caller upload over HTTP instead.  The
    s3 tests list and read the objects back over HTTP either way.
    """
    if os.environ.get("LAZYCOGS_S3_UPLOAD") == "http":
        return False  # lets the slow, public-API path be exercised on demand
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        put = backend.put_object
    except (ImportError, KeyError, AttributeError):
        return False
    for key, path in keys_and_paths:
        put(bucket, key, Path(path).read_bytes())
    return True


@pytest.fixture(scope="session")
def s3_server(ci_world, tmp_path_factory):
    """moto S3 on 127.0.0.1 with the ci world uploaded; yields an S3World."""
    from boto3.s3.transfer import TransferConfig
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request at INFO; that is only noise here.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    world = None
    try:
        out = tmp_path_factory.mktemp("s3_catalogs")
        paths = _rewrite_catalogs(ci_world, f"s3://{S3_BUCKET}/{S3_PREFIX}",
                                  out)
        world = S3World(
            endpoint_url=f"http://{host}:{port}", bucket=S3_BUCKET,
            prefix=S3_PREFIX, region=S3_REGION, access_key_id=S3_KEY,
            secret_access_key=S3_KEY, world_dir=ci_world, catalog_dir=out,
            **paths)
        s3 = world.client()
        s3.create_bucket(Bucket=S3_BUCKET)
        # Anonymous reads, like a public open-data bucket, so unsigned
        # clients work too (moto answers 403 to them otherwise).
        s3.put_bucket_policy(Bucket=S3_BUCKET, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{S3_BUCKET}/*"],
            }],
        }))
        files = sorted(p for p in ci_world.rglob("*") if p.is_file())
        world.keys = [world.key(p.relative_to(ci_world)) for p in files]
        if not _put_objects_in_process(S3_BUCKET, zip(world.keys, files)):
            # Single PUTs (no multipart, no transfer threads): the files are
            # small, and this keeps the upload simple.
            single = TransferConfig(multipart_threshold=1 << 40,
                                    use_threads=False)
            for key, path in zip(world.keys, files):
                s3.upload_file(str(path), S3_BUCKET, key, Config=single)
        yield world
    finally:
        # Close client connection pools first: werkzeug serves each
        # keep-alive connection in its own thread, which only ends when the
        # client hangs up.
        for client in (world._clients if world else []):
            client.close()
        moto.stop()
        # ThreadedMotoServer.stop() ends serve_forever but leaves the
        # listening socket open; close it so the port is released.
        server = getattr(moto, "_server", None)
        if server is not None:
            server.socket.close()


# --------------------------------------------------------------------------
# The reference's synthetic COG, and small catalogues of COGs written here
# --------------------------------------------------------------------------

SYNTH_CRS = "EPSG:32632"
SYNTH_ORIGIN = (500000.0, 5600000.0)  # top-left corner
SYNTH_RES = 10.0
SYNTH_SIZE = 2048


def write_synthetic_cog(path, dtype="uint16", nodata=0, edit=None,
                        overviews=(2, 4, 8, 16)):
    """The reference's `synthetic_cog` (its tests/conftest.py), written with
    rasterio: 2048 x 2048, EPSG:32632, origin (500000, 5600000), 10 m,
    value (col + row*2048) % 65535 + 1, nodata 0, nearest overviews
    x2/4/8/16, then copied to a 64 x 64 tiled COG (overviews after the
    full-resolution image). edit(array) may change the pixels first;
    overviews=() writes none."""
    import numpy as np
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling
    from rasterio.transform import from_origin

    n = SYNTH_SIZE
    idx = np.arange(n * n, dtype=np.int64).reshape(n, n)
    arr = (idx % 65535 + 1).astype(dtype)
    if edit is not None:
        arr = edit(arr)
    profile = dict(driver="GTiff", width=n, height=n, count=1, dtype=dtype,
                   crs=SYNTH_CRS, nodata=nodata, tiled=True, blockxsize=64,
                   blockysize=64,
                   transform=from_origin(*SYNTH_ORIGIN, SYNTH_RES, SYNTH_RES))
    path = Path(path)
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(arr, 1)
        if overviews:
            dst.build_overviews(list(overviews), Resampling.nearest)
    rasterio.shutil.copy(tmp, path, driver="GTiff",
                         copy_src_overviews=bool(overviews),
                         tiled=True, blockxsize=64, blockysize=64,
                         compress="deflate")
    tmp.unlink()
    return path


def write_sparse_cog(path, side=40960):
    """A side x side uint8 GeoTIFF of 256 px tiles (EPSG:3857, 1 m pixels,
    origin (0, side)), all empty but the last tile, which holds 7. Its
    TileOffsets and TileByteCounts (100 KiB each at the default side) lie
    past the first 64 KiB, so readers load them lazily, and the last
    tile's entries come last."""
    import numpy as np
    import rasterio
    from rasterio.transform import Affine

    with rasterio.open(path, "w", driver="GTiff", width=side, height=side,
                       count=1, dtype="uint8", tiled=True, blockxsize=256,
                       blockysize=256, sparse_ok=True, compress="deflate",
                       crs="EPSG:3857",
                       transform=Affine(1, 0, 0, 0, -1, side)) as dst:
        win = rasterio.windows.Window(side - 256, side - 256, 256, 256)
        dst.write(np.full((1, 256, 256), 7, dtype="uint8"), window=win)
    return path


def stac_item(item_id, assets, datetime="2024-06-15T10:00:00Z", **props):
    """A STAC item whose assets are {key: COG path} and whose geometry is
    the first COG's extent (21 points per edge) in EPSG:4326."""
    import rasterio
    from pyproj import Transformer

    first = next(iter(assets.values()))
    with rasterio.open(first) as src:
        left, bottom, right, top = src.bounds
        crs = src.crs.to_string()
    t = [i / 20 for i in range(21)]
    xs = ([left + (right - left) * f for f in t] + [right] * 21 +
          [right - (right - left) * f for f in t] + [left] * 21)
    ys = ([top] * 21 + [top - (top - bottom) * f for f in t] + [bottom] * 21 +
          [bottom + (top - bottom) * f for f in t])
    lon, lat = Transformer.from_crs(crs, "EPSG:4326",
                                    always_xy=True).transform(xs, ys)
    ring = [[a, b] for a, b in zip(lon, lat)]
    ring.append(ring[0])
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": item_id,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [min(lon), min(lat), max(lon), max(lat)],
        "properties": dict(datetime=datetime, **props),
        "links": [],
        "assets": {k: {"href": str(p),
                       "type": "image/tiff; application=geotiff; "
                               "profile=cloud-optimized",
                       "roles": ["data"]} for k, p in assets.items()},
    }


def write_catalogue(items, path):
    """stac-geoparquet (rustac) for *.parquet, else NDJSON."""
    path = Path(path)
    if path.suffix == ".parquet":
        import rustac

        rustac.write_sync(str(path), items)
    else:
        path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


@pytest.fixture
def no_block_cache():
    """The block cache keeps nothing during the test: every read fetches its
    blocks, as tests that count a read's requests with warm headers
    expect."""
    from lazycogs import _ext

    previous = _ext.set_block_cache_budget(0)
    yield
    _ext.set_block_cache_budget(previous)


def without_raster_bands(table):
    """A pyarrow stac-geoparquet table with raster:bands taken out of every
    asset: open() then learns dtype and nodata from the first item's COG
    headers, as the reference does, instead of from the catalogue."""
    import pyarrow as pa

    def drop(arr, name):
        keep = [f.name for f in arr.type if f.name != name]
        return pa.StructArray.from_arrays(
            [arr.field(k) for k in keep], names=keep,
            mask=arr.is_null() if arr.null_count else None)

    assets = table.column("assets").combine_chunks()
    stripped = pa.StructArray.from_arrays(
        [drop(assets.field(f.name), "raster:bands") for f in assets.type],
        names=[f.name for f in assets.type],
        mask=assets.is_null() if assets.null_count else None)
    i = table.column_names.index("assets")
    return table.set_column(i, pa.field("assets", stripped.type), stripped)


@pytest.fixture(scope="session")
def synthetic_cog(tmp_path_factory):
    """Path of the reference's synthetic COG (see write_synthetic_cog)."""
    pytest.importorskip("rasterio")
    return write_synthetic_cog(
        tmp_path_factory.mktemp("synthetic") / "synthetic.tif")
