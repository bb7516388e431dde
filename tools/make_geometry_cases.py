#!/usr/bin/env python3
"""Writes tests/data/geometry/relate_cases.txt: random geometry pairs with the
DE-9IM matrix shapely (GEOS) computes for them, the oracle of
tests/c/test_geometry.c for src/geo/relate.c.

Each line is  WKT_A|WKT_B|MATRIX  with MATRIX the 9-character DE-9IM string
(e.g. "212101212"). Most geometries have small integer coordinates, so that
shared vertices, shared edges, vertices on edges and collinear overlaps -
the cases where a floating-point implementation goes wrong - are frequent;
the rest have random doubles (general position, real crossings). Only valid
geometries are kept (shapely's is_valid), since the matrix of an invalid
geometry is not well defined.

Usage: .venv/bin/python tools/make_geometry_cases.py [--count N] [--seed S]
The output is deterministic for a given shapely version, seed and count.
"""
# SPDX-License-Identifier: MIT
import argparse
import math
import random
from pathlib import Path

import shapely
from shapely import wkt as shapely_wkt
from shapely.geometry import (GeometryCollection, LineString, MultiLineString,
                              MultiPoint, MultiPolygon, Point, Polygon)

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "data" / "geometry" / "relate_cases.txt"


def coord(rng, grid):
    if grid:
        return (rng.randint(0, 8), rng.randint(0, 8))
    return (round(rng.uniform(0, 8), 6), round(rng.uniform(0, 8), 6))


def star_polygon(rng, grid):
    """A simple polygon: points sorted by angle around a centre."""
    cx, cy = (rng.uniform(2, 6), rng.uniform(2, 6))
    n = rng.randint(3, 7)
    pts = set()
    while len(pts) < n:
        pts.add(coord(rng, grid))
    pts = sorted(pts, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    if rng.random() < 0.5:
        pts.reverse()  # either orientation
    return Polygon(pts)


def box_polygon(rng, grid):
    (x0, y0), (x1, y1) = coord(rng, grid), coord(rng, grid)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    if x0 == x1 or y0 == y1:
        x1, y1 = x0 + 2, y0 + 2
    shell = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if rng.random() < 0.3 and x1 - x0 >= 3 and y1 - y0 >= 3:
        # A hole strictly inside (or touching the shell at a vertex).
        hx, hy = x0 + 1, y0 + 1
        hole = [(hx, hy), (hx + 1, hy), (hx + 1, hy + 1), (hx, hy + 1)]
        if rng.random() < 0.5:
            hole.reverse()
        return Polygon(shell, [hole])
    return Polygon(shell)


def linestring(rng, grid):
    n = rng.randint(2, 4)
    pts = [coord(rng, grid) for _ in range(n)]
    if rng.random() < 0.15:
        pts.append(pts[0])  # closed
    return LineString(pts)


def random_geometry(rng, grid):
    kind = rng.choices(
        ["point", "line", "star", "box", "mpoint", "mline", "mpoly", "gc"],
        weights=[10, 20, 25, 20, 5, 8, 8, 4])[0]
    if kind == "point":
        return Point(coord(rng, grid))
    if kind == "line":
        return linestring(rng, grid)
    if kind == "star":
        return star_polygon(rng, grid)
    if kind == "box":
        return box_polygon(rng, grid)
    if kind == "mpoint":
        return MultiPoint([coord(rng, grid) for _ in range(rng.randint(2, 4))])
    if kind == "mline":
        return MultiLineString([linestring(rng, grid).coords
                                for _ in range(rng.randint(2, 3))])
    if kind == "mpoly":
        a, b = box_polygon(rng, grid), box_polygon(rng, grid)
        return MultiPolygon([a, b])
    return GeometryCollection([Point(coord(rng, grid)),
                               linestring(rng, grid)])


def is_mixed(g):
    return type(g) is GeometryCollection


def parts_of(g):
    return list(g.geoms) if hasattr(g, "geoms") else [g]


def flat_closed_line(g):
    """A closed linestring whose shoelace area is zero."""
    if not isinstance(g, LineString) or not g.is_closed:
        return False
    c = list(g.coords)
    area2 = sum(x0 * y1 - x1 * y0
                for (x0, y0), (x1, y1) in zip(c, c[1:] + c[:1]))
    return area2 == 0


def to_wkt(g):
    return shapely_wkt.dumps(g, trim=True, rounding_precision=-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=20240611)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lines = []
    while len(lines) < args.count:
        grid = rng.random() < 0.8
        a, b = random_geometry(rng, grid), random_geometry(rng, grid)
        if not (a.is_valid and b.is_valid) or a.is_empty or b.is_empty:
            continue
        # Collections whose parts overlap each other are outside what
        # relate.c promises (parts are not merged first).
        if isinstance(a, GeometryCollection) and not isinstance(
                a, (MultiPoint, MultiLineString, MultiPolygon)):
            if a.geoms[0].intersects(a.geoms[1]):
                continue
        if isinstance(b, GeometryCollection) and not isinstance(
                b, (MultiPoint, MultiLineString, MultiPolygon)):
            if b.geoms[0].intersects(b.geoms[1]):
                continue
        # Multilines whose parts overlap along a stretch are not simple
        # unions either; keep those whose parts meet at points at most.
        # GEOS 3.13+ (RelateNG) also reports no boundary at all for a
        # multiline with one closed part and open ones, although its own
        # boundary() lists the open parts' endpoints (the mod-2 rule of
        # OGC 06-103r4, which relate.c follows): skip those too.
        for g in (a, b):
            if isinstance(g, MultiLineString):
                parts = list(g.geoms)
                if any(parts[i].intersection(parts[j]).length > 0
                       for i in range(len(parts))
                       for j in range(i + 1, len(parts))):
                    break
                if any(p.is_closed for p in parts):
                    break
                # The same for endpoints the mod-2 rule cancels (shared by
                # two parts): MULTILINESTRING((2 1,5 7),(5 7,0 7)) gets
                # another matrix than LINESTRING(2 1,5 7,0 7) from GEOS.
                ends = [c for p in parts for c in (p.coords[0], p.coords[-1])]
                if len(set(ends)) < len(ends):
                    break
        else:
            # GEOS 3.14 also says a closed line enclosing no area, such as
            # LINESTRING(5 2,0 5,5 2), is covered by any collection of a
            # point and a line touching it.
            if is_mixed(a) or is_mixed(b):
                if any(flat_closed_line(p) for p in parts_of(a) + parts_of(b)):
                    continue
            lines.append(f"{to_wkt(a)}|{to_wkt(b)}|{a.relate(b)}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# DE-9IM oracle for tests/c/test_geometry.c, written by "
              f"tools/make_geometry_cases.py (shapely {shapely.__version__}, "
              f"GEOS {shapely.geos_version_string}, seed {args.seed}).\n"
              "# WKT_A|WKT_B|DE-9IM\n")
    OUT.write_text(header + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases to {OUT}")


if __name__ == "__main__":
    main()
