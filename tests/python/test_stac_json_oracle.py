"""STAC items from JSON (src/stac/items_json.c) against Python's json.

For every JSON / NDJSON file of realdata/stac and the ci world's
items.ndjson, `items_dump FILE --fields ...` (tests/c/items_dump, the dump
format of the item tests) must print exactly the items Python's json module
reads from the same file, value by value:
  - id; datetime, start_datetime, end_datetime to the microsecond (both
    sides parsed here, independently of the library);
  - bbox: the 2D part of the item's bbox, else the envelope of its geometry
    (shapely), else null;
  - every asset with a string href: href, type, roles, proj:code / proj:epsg
    (the asset's, else the item's; proj:epsg written as "EPSG:<n>"),
    proj:transform (first 6 numbers), proj:shape, raster:bands (nodata,
    data_type, scale, offset with their defaults);
  - requested properties, looked up in "properties" then among the item's
    own members: scalars, lists and objects (objects as compact JSON in
    document order).
Collection documents are not items: items_dump fails naming the type.

Cross-check of the two loaders: the same items written to stac-geoparquet
(rustac, else stac-geoparquet) and read back by items_dump give the same
ids, times, bboxes, assets and scalar properties as the JSON (objects are
left out: parquet structs gain null members for keys other items have;
strings holding times compare as instants, writers make them timestamps;
rustac keeps milliseconds). The world's items.ndjson is checked against its
items.parquet (rustac) and items-pyarrow.parquet. Skipped until the parquet
loader reads the world's items.parquet.

Environment:
  LAZYCOGS_BUILD_DIR        CMake build folder holding tests/c/items_dump
                            (default: build/asan); skipped if absent
  LAZYCOGS_REALDATA_STAC    realdata stac folder (default shared/realdata/stac
                            beside the checkout); skipped if absent
"""
# SPDX-License-Identifier: MIT
import json
import math
import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("LAZYCOGS_BUILD_DIR", REPO / "build" / "asan"))
ITEMS_DUMP = BUILD_DIR / "tests" / "c" / "items_dump"
REALDATA = Path(os.environ.get("LAZYCOGS_REALDATA_STAC",
                               REPO.parent / "shared" / "realdata" / "stac"))

DTYPES = {"uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
          "int64", "float32", "float64"}
FIXED = {"id", "datetime", "start_datetime", "end_datetime", "geometry", "bbox"}


def _json_files():
    if not REALDATA.is_dir():
        return []
    return sorted(p for p in REALDATA.rglob("*")
                  if p.suffix in (".json", ".ndjson") and p.is_file())


# ---- Python's reading ----------------------------------------------------

def read_document(path):
    """(kind, items) as Python's json module reads the file."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return "ndjson", [json.loads(line) for line in text.splitlines()
                          if line.strip()]
    if isinstance(doc, list):
        return "array", doc
    if "features" in doc:
        return "featurecollection", doc["features"]
    if doc.get("type", "Feature") == "Feature":
        return "item", [doc]
    return doc.get("type"), None


_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?$")


def micros(text):
    """RFC 3339 text to microseconds since the epoch (fraction truncated)."""
    if text is None:
        return None
    m = _TIME.match(text)
    assert m, text
    y, mo, d, hh, mm, ss, frac, off = m.groups()
    t = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0),
                 int(ss or 0), tzinfo=timezone.utc)
    us = (t - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
    us += int((frac or "0")[:6].ljust(6, "0"))
    if off and off not in "Zz":
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        us -= sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60) * 10**6
    return us


def expected_bbox(item):
    bbox = item.get("bbox")
    if bbox is not None:
        return list(bbox[:2]) + list(bbox[3:5] if len(bbox) == 6 else bbox[2:4])
    if item.get("geometry") is None:
        return None
    from shapely.geometry import shape
    g = shape(item["geometry"])
    return None if g.is_empty else list(g.bounds)


def _integer(v):
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer())


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def expected_asset(asset, props):
    def own_or_item(key):
        v = asset.get(key)
        return v if v is not None else props.get(key)

    code = None
    for src in (asset, props):
        if isinstance(src.get("proj:code"), str):
            code = src["proj:code"]
        elif _integer(src.get("proj:epsg")) and src["proj:epsg"] > 0:
            code = "EPSG:%d" % src["proj:epsg"]
        if code is not None:
            break
    epsg = None
    if code is not None and re.fullmatch(r"(?i)epsg:\d+", code):
        epsg = int(code[5:]) or None
    tr = own_or_item("proj:transform")
    transform = (list(map(float, tr[:6]))
                 if isinstance(tr, list) and len(tr) in (6, 9)
                 and all(map(_number, tr[:6])) else None)
    sh = own_or_item("proj:shape")
    shape = ([int(x) for x in sh] if isinstance(sh, list) and len(sh) == 2
             and all(_integer(x) and x >= 0 for x in sh) else None)

    bands = []
    for b in asset.get("raster:bands") or []:
        b = b if isinstance(b, dict) else {}
        # Numbers as the dump writes them (doubles); non-finite as strings.
        nodata = b.get("nodata")
        if isinstance(nodata, str):
            nodata = {"nan": "nan", "inf": "inf", "+inf": "inf",
                      "-inf": "-inf"}.get(nodata.lower())
        elif _number(nodata):
            nodata = float(nodata)
        else:
            nodata = None
        dt = b.get("data_type")
        scale, offset = b.get("scale"), b.get("offset")
        bands.append({
            "nodata": nodata,
            "data_type": dt if dt in DTYPES else None,
            "scale": float(scale) if _number(scale) else 1.0,
            "offset": float(offset) if _number(offset) else 0.0,
        })
    return {
        "href": asset["href"],
        "type": asset.get("type") if isinstance(asset.get("type"), str) else None,
        "roles": [r for r in asset.get("roles") or [] if isinstance(r, str)],
        "proj:code": code,
        "proj:epsg": epsg,
        "proj:transform": transform,
        "proj:shape": shape,
        "raster:bands": bands,
    }


def expected_property(item, name):
    props = item.get("properties") or {}
    if name in props:
        return props[name]
    return item.get(name)


def canonical(value):
    """JSON text with object members in their order: checks order too."""
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


def choose_fields(items):
    """Scalars, lists and objects the items have, plus top-level members
    and one name no item has."""
    kinds = {"scalar": [], "list": [], "object": []}
    seen = set()
    for item in items:
        for key, value in (item.get("properties") or {}).items():
            if key in seen or key in FIXED or "," in key:
                continue
            seen.add(key)
            if isinstance(value, dict) or (
                    isinstance(value, list)
                    and any(isinstance(v, dict) for v in value)):
                kinds["object"].append(key)
            elif isinstance(value, list):
                kinds["list"].append(key)
            else:
                kinds["scalar"].append(key)
    fields = (sorted(kinds["scalar"])[:5] + sorted(kinds["list"])[:3]
              + sorted(kinds["object"])[:3]
              + ["collection", "stac_extensions", "no_such_property"])
    return list(dict.fromkeys(fields))


# ---- the C side ----------------------------------------------------------

def items_dump(path, *args, check=True):
    if not ITEMS_DUMP.is_file():
        pytest.skip(f"{ITEMS_DUMP} not built")
    # Invalid UTF-8 in the output must not hide the rest of it.
    r = subprocess.run([str(ITEMS_DUMP), str(path), *args],
                       capture_output=True, encoding="utf-8",
                       errors="replace", timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"items_dump {path} {' '.join(args)}: {r.stderr}")
    return r


def dumped(path, *args):
    out = items_dump(path, *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def compare_file(path, max_fields=None):
    kind, items = read_document(path)
    if items is None:
        r = items_dump(path, check=False)
        assert r.returncode == 1, r.stdout[:200]
        assert f'"{kind}"' in r.stderr and str(path) in r.stderr, r.stderr
        return 0
    fields = choose_fields(items)
    got = dumped(path, "--fields", ",".join(fields))
    assert len(got) == len(items), path
    for want, line in zip(items, got):
        where = f"{path} item {want['id']}"
        assert line["id"] == want["id"], where
        props = want.get("properties") or {}
        for key in ("datetime", "start_datetime", "end_datetime"):
            assert micros(line[key]) == micros(props.get(key)), (where, key)
        assert line["bbox"] == expected_bbox(want), where

        want_assets = {k: expected_asset(a, props)
                       for k, a in (want.get("assets") or {}).items()
                       if isinstance(a, dict) and isinstance(a.get("href"), str)}
        assert set(line["assets"]) == set(want_assets), where
        for key, a in want_assets.items():
            got_asset = line["assets"][key]
            for member, value in a.items():
                assert canonical(got_asset[member]) == canonical(value), (
                    where, key, member, got_asset[member], value)

        assert list(line["properties"]) == fields, where
        for name in fields:
            value = expected_property(want, name)
            assert canonical(line["properties"][name]) == canonical(value), (
                where, name, line["properties"][name], value)
    return len(items)


# ---- tests ---------------------------------------------------------------

@pytest.mark.skipif(not _json_files(), reason="realdata/stac absent")
@pytest.mark.parametrize("path", _json_files(),
                         ids=lambda p: str(p.relative_to(REALDATA)))
def test_realdata_json_matches_python(path):
    compare_file(path)


def test_world_ndjson_matches_python(ci_world):
    assert compare_file(ci_world / "items.ndjson") > 0


def test_requested_assets_and_max_items(ci_world):
    path = ci_world / "items.ndjson"
    _, items = read_document(path)
    keys = list(items[0]["assets"])[:2] + ["no-such-asset"]
    got = dumped(path, "--assets", ",".join(keys), "--max-items", "5")
    assert [g["id"] for g in got] == [i["id"] for i in items[:5]]
    for want, line in zip(items, got):
        assert set(line["assets"]) == {k for k in keys if k in want["assets"]}


def test_errors_name_file_and_place(tmp_path):
    cases = {
        "noid.json": ('[{"type":"Feature","properties":{}},'
                      '{"type":"Feature","properties":{}}]',
                      "item 1 has no id"),
        "lines.ndjson": ('{"type":"Feature","id":"a","properties":{}}\n\n'
                         '{"type":"Feature","id":"b","properties":'
                         '{"datetime":"2020-02-30T00:00:00Z"}}\n',
                         'line 3: item "b": properties.datetime'),
        "broken.json": ('{"type": "FeatureCollection",\n "features": [}\n',
                        "line 2, column"),
    }
    for name, (text, needle) in cases.items():
        p = tmp_path / name
        p.write_text(text)
        r = items_dump(p, check=False)
        assert r.returncode == 1
        assert name in r.stderr and needle in r.stderr, r.stderr


# ---- parquet cross-check -------------------------------------------------

def _parquet_loader_works(ci_world):
    r = items_dump(ci_world / "items.parquet", "--max-items", "1", check=False)
    return r.returncode == 0 and r.stdout.strip() != ""


def _comparable(from_json, from_parquet, ms):
    """What both loaders must agree on. Writers store properties that are
    JSON objects as structs (null members added) or WKB (proj:geometry),
    and RFC 3339 strings ("created") as timestamps: objects are left out,
    strings holding times compare as instants; rustac keeps milliseconds.
    """
    def instant(text):
        us = micros(text) if isinstance(text, str) and _TIME.match(text) else text
        return us - us % 1000 if ms and isinstance(us, int) else us

    for a, b in zip(from_json, from_parquet):
        for line in (a, b):
            for key in ("datetime", "start_datetime", "end_datetime"):
                line[key] = instant(line[key])
        for name, value in a["properties"].items():
            if isinstance(value, dict) or (isinstance(value, list) and any(
                    isinstance(x, (dict, list)) for x in value)):
                a["properties"][name] = b["properties"][name] = "(object)"
            elif isinstance(value, str) and _TIME.match(value):
                a["properties"][name] = instant(value)
                b["properties"][name] = instant(b["properties"][name])


def _write_parquet(items, out):
    """Writes items as stac-geoparquet; returns True when the writer keeps
    times to the millisecond only (rustac)."""
    errors = []
    try:
        import pyarrow.parquet as pq
        from stac_geoparquet.arrow import parse_stac_items_to_arrow
        pq.write_table(parse_stac_items_to_arrow(items).read_all(), out)
        return False
    except Exception as e:  # noqa: BLE001 - try the other writer
        errors.append(f"stac-geoparquet: {e}")
    try:
        import rustac
        rustac.write_sync(str(out), items)
        return True
    except Exception as e:  # noqa: BLE001
        errors.append(f"rustac: {e}")
    pytest.skip("; ".join(errors))


def _cross_check(json_path, parquet_path, items, ms):
    fields = choose_fields(items)
    args = ("--fields", ",".join(fields))
    from_json = dumped(json_path, *args)
    from_parquet = dumped(parquet_path, *args)
    assert len(from_parquet) == len(from_json)
    _comparable(from_json, from_parquet, ms)
    for a, b in zip(from_json, from_parquet):
        assert a == b, (json_path, parquet_path, a["id"])


@pytest.mark.skipif(not _json_files(), reason="realdata/stac absent")
@pytest.mark.parametrize("path", _json_files(),
                         ids=lambda p: str(p.relative_to(REALDATA)))
def test_realdata_json_and_parquet_agree(path, tmp_path, ci_world):
    if not _parquet_loader_works(ci_world):
        pytest.skip("the parquet loader does not read items.parquet yet")
    _, items = read_document(path)
    if not items:
        pytest.skip("not items")
    out = tmp_path / (path.stem + ".parquet")
    ms = _write_parquet(items, out)
    _cross_check(path, out, items, ms)


@pytest.mark.parametrize("parquet,ms", [("items.parquet", True),
                                        ("items-pyarrow.parquet", False)])
def test_world_ndjson_and_parquet_agree(ci_world, parquet, ms):
    if not _parquet_loader_works(ci_world):
        pytest.skip("the parquet loader does not read items.parquet yet")
    _, items = read_document(ci_world / "items.ndjson")
    _cross_check(ci_world / "items.ndjson", ci_world / parquet, items, ms)
