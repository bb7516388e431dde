"""`lazycogs items`: the listing agrees with pyarrow and DuckDB, over files
and HTTP, and bad input gives clear errors."""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = shutil.which("lazycogs") or str(Path(sys.executable).parent / "lazycogs")


def _items(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "items", *args], capture_output=True,
                          text=True)


def _lines(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_query_equals_duckdb(ci_world):
    """Filter, datetime, sortby and limit over the rustac catalogue select
    and order what DuckDB's SQL selects and orders."""
    duckdb = pytest.importorskip("duckdb")
    path = ci_world / "items.parquet"
    got = _lines(_items(str(path), "--filter", "eo:cloud_cover < 60",
                        "--datetime", "2025-06-01/2025-07-15",
                        "--sortby", "-eo:cloud_cover,id", "--limit", "7",
                        "--assets", "red", "--fields", "platform"))
    sql = f"""
        SELECT id, "eo:cloud_cover" AS cc, platform, assets.red.href AS href
        FROM read_parquet('{path}')
        WHERE "eo:cloud_cover" < 60
          AND datetime >= TIMESTAMPTZ '2025-06-01 00:00:00+00'
          AND datetime <= TIMESTAMPTZ '2025-07-15 23:59:59.999999+00'
        ORDER BY "eo:cloud_cover" DESC NULLS LAST, id LIMIT 7"""
    want = duckdb.sql(sql).fetchall()
    assert len(want) == 7
    assert [(g["id"], g["properties"]["eo:cloud_cover"],
             g["properties"]["platform"], g["assets"]["red"]["href"])
            for g in got] == [tuple(w) for w in want]
    assert all(list(g["assets"]) == ["red"] for g in got)


def test_json_document_and_stats(ci_world):
    path = ci_world / "items.ndjson"
    lines = _lines(_items(str(path), "--ids", "nope"))
    assert lines == []
    result = _items(str(path), "--json", "--stats", "--limit", "3")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["count"] == 3 and len(doc["items"]) == 3
    n = sum(1 for _ in open(path))
    assert result.stderr.strip() == f"items: {n} loaded, 3 selected"


def test_geometry_and_bbox(ci_world):
    shapely = pytest.importorskip("shapely.geometry")
    path = ci_world / "items.ndjson"
    source = {it["id"]: it for it in map(json.loads, open(path))}
    bbox = (-94.0, 45.0, -93.0, 46.0)
    got = _lines(_items(str(path), "--geometry", "--bbox",
                        ",".join(map(str, bbox))))
    box = shapely.box(*bbox)
    want = {i for i, it in source.items()
            if shapely.shape(it["geometry"]).intersects(box)}
    assert {g["id"] for g in got} == want and want
    for g in got:
        assert shapely.shape(g["geometry"]).equals(
            shapely.shape(source[g["id"]]["geometry"]))


def test_over_http(http_world):
    """A remote stac-geoparquet is read with ranged GETs."""
    url = http_world.href("items.parquet")
    local = _lines(_items(str(http_world.world_dir / "items.parquet"),
                          "--assets", "red"))
    remote = _lines(_items(url, "--assets", "red"))
    assert [r["id"] for r in remote] == [r["id"] for r in local]


@pytest.mark.parametrize("args, code, words", [
    (["--filter", "eo:cloud_cover <"], 1, ["CQL2", "column"]),
    (["--sortby", '[{"field": "x", "direction": "up"}]'], 1, ["up"]),
    (["--datetime", "2025-13-01"], 1, ["2025-13-01"]),
    (["--bbox", "1,2,3"], 2, ["--bbox"]),
    (["--limit", "-1"], 2, ["--limit"]),
    (["--frobnicate", "x"], 2, ["--frobnicate"]),
])
def test_bad_arguments(ci_world, args, code, words):
    result = _items(str(ci_world / "items.ndjson"), *args)
    assert result.returncode == code
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr


def test_bad_files(tmp_path):
    missing = tmp_path / "nope.parquet"
    result = _items(str(missing))
    assert result.returncode == 1 and str(missing) in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    result = _items(str(broken))
    assert result.returncode == 1
    assert "broken.json" in result.stderr and "line" in result.stderr
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(b"PAR1" + b"\0" * 100)
    result = _items(str(truncated))
    assert result.returncode == 1 and "cut.parquet" in result.stderr
