"""CQL2 filters (src/stac/cql2*.c) against independent evaluators.

The C helper tests/c/cql2_tool parses each filter (CQL2-Text, and the
CQL2-JSON the `cql2` package - cql2-rs - writes for it), evaluates it over
the records of realdata/cql2/cql2testdata.ndjson and prints the records it
selects. They must be exactly the records cql2-rs's `Expr.matches` selects,
for:
  - every expression of operators_tests.txt and ats-expressions.txt (the
    OGC abstract test suite made concrete for that data);
  - a few hundred random filters (seeded) combining every operator family
    over the non-null fields, spatial ones against the data's hexagons;
and the normalised text must equal cql2-rs's `to_text()`.

NULL logic is where cql2-rs 0.6 stops short: it raises on a NULL operand
instead of evaluating three-valued logic, so filters over the nullable field
are checked against DuckDB SQL instead (hand-written equivalents, SQL
three-valued logic), which is what the C evaluator documents.

Syntax errors: the reported byte offset, line, column and expectation.

Environment:
  LAZYCOGS_BUILD_DIR      CMake build folder holding tests/c/cql2_tool
                          (default: build/asan of this checkout); skipped if absent
  LAZYCOGS_REALDATA_CQL2  the realdata cql2 folder (default
                          shared/realdata/cql2 beside the checkout); skipped if absent
"""
# SPDX-License-Identifier: MIT
import json
import os
import random
import subprocess
from pathlib import Path

import pytest

cql2 = pytest.importorskip("cql2")

BUILD_DIR = Path(os.environ.get(
    "LAZYCOGS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build" / "asan"))
TOOL = BUILD_DIR / "tests" / "c" / "cql2_tool"
REALDATA = Path(os.environ.get("LAZYCOGS_REALDATA_CQL2",
                               Path(__file__).resolve().parents[3] / "shared" / "realdata" / "cql2"))
NDJSON = REALDATA / "cql2testdata.ndjson"


def _records():
    if not NDJSON.is_file():
        return []
    return [json.loads(line) for line in NDJSON.read_text().splitlines()
            if line.strip()]


RECORDS = _records()


def _suite_expressions():
    if not REALDATA.is_dir():
        return []
    out = []
    for line in (REALDATA / "operators_tests.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            out.append(line)
    for line in (REALDATA / "ats-expressions.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line.split("|", 1)[1])
    return out


# ---- random filters ------------------------------------------------------

def _random_filters(count, seed=20240611):
    """Filters over the fields that are never null (cql2-rs raises on NULL
    operands) and without type mismatches (cql2-rs orders unlike types)."""
    rng = random.Random(seed)

    def num():
        field = rng.choice(["intfield", "floatfield"])
        op = rng.choice(["=", "<>", "<", "<=", ">", ">="])
        value = rng.choice([rng.randint(0, 115),
                            rng.randint(0, 115) + 0.1,
                            round(rng.uniform(-5, 120), 3)])
        if rng.random() < 0.25:
            aop = rng.choice(["+", "-", "*", "/", "%"])
            k = rng.randint(1, 5)
            return f"{field} {aop} {k} {op} {value}"
        return f"{field} {op} {value}"

    def between():
        field = rng.choice(["intfield", "floatfield"])
        a, b = sorted((rng.randint(0, 115), rng.randint(0, 115)))
        neg = "NOT " if rng.random() < 0.3 else ""
        return f"{field} {neg}BETWEEN {a} AND {b}"

    def in_list():
        neg = "NOT " if rng.random() < 0.3 else ""
        if rng.random() < 0.5:
            vals = ", ".join(str(rng.randint(0, 115)) for _ in range(4))
            return f"intfield {neg}IN ({vals})"
        vals = ", ".join(
            f"'{rng.choice(['item', 'Item', 'itém'])}_{rng.randint(0, 115)}'"
            for _ in range(4))
        return f"textfield {neg}IN ({vals})"

    def like():
        pat = rng.choice(["item_%", "Item_%", "itém_%", "%1", "%_1_",
                          "_tem%", "%", "item\\_1%", "%é%", "Item_3_",
                          "%10%"])
        neg = "NOT " if rng.random() < 0.3 else ""
        if rng.random() < 0.3:
            return f"casei(textfield) {neg}LIKE casei('{pat.upper()}')"
        if rng.random() < 0.2:
            return f"accenti(textfield) {neg}LIKE accenti('{pat}')"
        return f"textfield {neg}LIKE '{pat}'"

    def boolean():
        return rng.choice(["boolfield", "NOT boolfield", "boolfield = true",
                           "boolfield <> true", "boolfield > false"])

    def day():
        # 2020-01-01 + n days (2020 is a leap year).
        n = rng.randint(1, 130)
        months = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        m, d = 1, 1 + n
        while d > months[m - 1]:
            d -= months[m - 1]
            m += 1
        return f"2020-{m:02d}-{d:02d}"

    def timestamp(midnight=False):
        hour = 0 if midnight else rng.choice([0, 0, 1, rng.randint(0, 23)])
        return f"TIMESTAMP('{day()}T{hour:02d}:00:00Z')"

    def interval():
        a, b = sorted((timestamp(), timestamp()))
        a, b = a[len("TIMESTAMP("):-1], b[len("TIMESTAMP("):-1]
        if rng.random() < 0.15:
            a = "'..'"
        elif rng.random() < 0.15:
            b = "'..'"
        return f"INTERVAL({a}, {b})"

    # Where this evaluator and cql2-rs 0.6 mean different things, the
    # random filters do not go (the C tests pin this evaluator's meaning):
    # cql2-rs reads date strings (datefield, dates inside INTERVAL) as
    # midnight instants where a date here is its whole day, and it orders a
    # timestamp inside a DATE's day inconsistently (ts_end, at 01:00).
    def temporal():
        op = rng.choice(["T_AFTER", "T_BEFORE", "T_CONTAINS", "T_DISJOINT",
                         "T_DURING", "T_EQUALS", "T_FINISHEDBY",
                         "T_FINISHES", "T_INTERSECTS", "T_MEETS", "T_METBY",
                         "T_OVERLAPPEDBY", "T_OVERLAPS", "T_STARTEDBY",
                         "T_STARTS"])
        left = rng.choice(["ts_start", "ts_end",
                           "INTERVAL(ts_start, ts_end)"])
        r = rng.random()
        right = (timestamp() if r < 0.4 else
                 f"DATE('{day()}')" if r < 0.6 else interval())
        if rng.random() < 0.5:
            left, right = right, left
        return f"{op}({left}, {right})"

    def temporal_cmp():
        op = rng.choice(["=", "<>", "<", "<=", ">", ">="])
        r = rng.random()
        if r < 0.4:
            return f"{rng.choice(['ts_start', 'ts_end'])} {op} {timestamp()}"
        if r < 0.7:
            field = rng.choice(["ts_start", "datefield"])
            return f"{field} {op} DATE('{day()}')"
        return f"datefield {op} {timestamp(midnight=True)}"

    # Literals with few digits: cql2-rs does not read long decimals exactly
    # (191.13287165260294 becomes ...297), so coordinates of the records'
    # own hexagons are left to test_spatial_predicates_match_shapely.
    def geometry():
        kind = rng.random()
        if kind < 0.4:
            x0, x1 = sorted(rng.sample(range(-200, 200, 10), 2))
            y0, y1 = sorted(rng.sample(range(-90, 91, 10), 2))
            return f"BBOX({x0}, {y0}, {x1}, {y1})"
        if kind < 0.6:
            x0, y0 = rng.uniform(-200, 200), rng.uniform(-90, 90)
            x1, y1 = rng.uniform(-200, 200), rng.uniform(-90, 90)
            return f"LINESTRING({x0:.4f} {y0:.4f}, {x1:.4f} {y1:.4f})"
        if kind < 0.8:
            pts = [(rng.uniform(-200, 200), rng.uniform(-90, 90))
                   for _ in range(2)]
            inner = ", ".join(f"({x:.4f} {y:.4f})" for x, y in pts)
            return f"MULTIPOINT({inner})"
        x, y = rng.uniform(-200, 200), rng.uniform(-90, 90)
        return f"POINT({x:.4f} {y:.4f})"

    def spatial():
        op = rng.choice(["S_INTERSECTS", "S_EQUALS", "S_DISJOINT",
                         "S_TOUCHES", "S_WITHIN", "S_OVERLAPS", "S_CROSSES",
                         "S_CONTAINS"])
        a, b = "geom", geometry()
        if rng.random() < 0.3:
            a, b = b, a
        return f"{op}({a}, {b})"

    def array():
        op = rng.choice(["A_EQUALS", "A_CONTAINS", "A_CONTAINEDBY",
                         "A_OVERLAPS"])
        base = rng.randint(0, 110)
        vals = ", ".join(str(base + rng.randint(0, 4))
                         for _ in range(rng.randint(1, 4)))
        a, b = "intarrayfield", f"({vals})"
        if rng.random() < 0.5:
            a, b = b, a
        return f"{op}({a}, {b})"

    leaves = [num, between, in_list, like, boolean, temporal, temporal_cmp,
              spatial, array]

    def tree(depth):
        r = rng.random()
        if depth == 0 or r < 0.45:
            return rng.choice(leaves)()
        if r < 0.6:
            return f"NOT ({tree(depth - 1)})"
        op = rng.choice(["AND", "OR"])
        return f"({tree(depth - 1)}) {op} ({tree(depth - 1)})"

    return [tree(rng.randint(0, 3)) for _ in range(count)]


# ---- running the helper -------------------------------------------------

def _run_tool(lines):
    if not TOOL.is_file():
        pytest.skip(f"{TOOL} not built (set LAZYCOGS_BUILD_DIR)")
    if not NDJSON.is_file():
        pytest.skip(f"{NDJSON} missing (set LAZYCOGS_REALDATA_CQL2)")
    run = subprocess.run([str(TOOL), str(NDJSON)],
                         input="".join(json.dumps(line) + "\n"
                                       for line in lines),
                         capture_output=True, text=True, check=True)
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(out) == len(lines), run.stderr
    return out


def _expected(expr):
    """Records cql2-rs selects (an error on a record selects nothing)."""
    parsed = cql2.parse_text(expr)
    out = []
    for i, rec in enumerate(RECORDS):
        try:
            if parsed.matches(rec):
                out.append(i)
        except Exception:  # noqa: BLE001 - cql2-rs raises on NULLs
            pass
    return out


def _check_against_cql2(exprs):
    lines = [["text", e] for e in exprs]
    lines += [["json", json.dumps(cql2.parse_text(e).to_json())]
              for e in exprs]
    out = _run_tool(lines)
    n = len(exprs)
    failures = []
    for k, expr in enumerate(exprs):
        want = _expected(expr)
        want_text = cql2.parse_text(expr).to_text()
        for form, got in (("text", out[k]), ("json", out[n + k])):
            if not got["ok"]:
                failures.append(f"{form} {expr!r}: {got['message']}")
                continue
            if got["eval_error"]:
                failures.append(f"{form} {expr!r}: {got['eval_error']}")
            elif got["matches"] != want:
                failures.append(
                    f"{form} {expr!r}: selects {got['matches']}, cql2-rs "
                    f"{want}")
        if out[k]["ok"] and out[k]["text"] != want_text:
            failures.append(f"text {expr!r}: renders {out[k]['text']!r}, "
                            f"cql2-rs {want_text!r}")
    return failures


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no realdata/cql2")
def test_suite_expressions_match_cql2():
    exprs = _suite_expressions()
    assert len(exprs) > 200
    failures = _check_against_cql2(exprs)
    assert not failures, "\n".join(failures[:40])


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no realdata/cql2")
def test_random_filters_match_cql2():
    exprs = _random_filters(400)
    failures = _check_against_cql2(exprs)
    assert not failures, "\n".join(failures[:40])
    # The filters select something now and then, or the test proves little.
    out = _run_tool([["text", e] for e in exprs])
    selective = [o for o in out if 0 < len(o["matches"]) < len(RECORDS)]
    assert len(selective) > len(exprs) // 4


# ---- spatial predicates against shapely (GEOS) ---------------------------

def _spatial_literals():
    """WKT literals built from the records' hexagons, written with every
    digit (repr), so shared vertices and edges are hit exactly."""
    rng = random.Random(7)
    rings = [r["geom"]["coordinates"][0] for r in RECORDS]

    def wkt_ring(ring):
        return ", ".join(f"{x!r} {y!r}" for x, y in ring)

    out = []
    for ring in rng.sample(rings, 12):
        out.append(f"POLYGON(({wkt_ring(ring)}))")  # equals, touches
        x, y = rng.choice(ring)
        out.append(f"POINT({x!r} {y!r})")  # a vertex shared by hexagons
        (x0, y0), (x1, y1) = ring[0], ring[3]
        out.append(f"LINESTRING({x0!r} {y0!r}, {x1!r} {y1!r})")  # diagonal
        (x0, y0), (x1, y1) = ring[1], ring[2]
        out.append(f"LINESTRING({x0!r} {y0!r}, {x1!r} {y1!r})")  # an edge
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        out.append(f"BBOX({min(xs)!r}, {min(ys)!r}, {max(xs)!r}, "
                   f"{max(ys)!r})")
        cx, cy = sum(xs[:-1]) / 6, sum(ys[:-1]) / 6
        out.append(f"POINT({cx!r} {cy!r})")
    return out


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no realdata/cql2")
def test_spatial_predicates_match_shapely():
    shapely = pytest.importorskip("shapely")
    from shapely import wkt as shapely_wkt
    from shapely.geometry import box, shape

    geoms = [shape(r["geom"]) for r in RECORDS]
    ops = {"S_INTERSECTS": "intersects", "S_EQUALS": "equals",
           "S_DISJOINT": "disjoint", "S_TOUCHES": "touches",
           "S_WITHIN": "within", "S_OVERLAPS": "overlaps",
           "S_CROSSES": "crosses", "S_CONTAINS": "contains"}
    cases = []
    for lit in _spatial_literals():
        if lit.startswith("BBOX"):
            g = box(*[float(v) for v in lit[5:-1].split(",")])
        else:
            g = shapely_wkt.loads(lit)
        for op, method in ops.items():
            for lit_first in (False, True):
                a, b = (g, None) if lit_first else (None, g)
                want = [i for i, h in enumerate(geoms)
                        if getattr(a or h, method)(b or h)]
                expr = (f"{op}({lit}, geom)" if lit_first
                        else f"{op}(geom, {lit})")
                cases.append((expr, want))
    out = _run_tool([["text", e] for e, _ in cases])
    failures = [f"{e}: selects {o['matches']}, shapely {w}"
                for (e, w), o in zip(cases, out)
                if not o["ok"] or o["matches"] != w]
    assert not failures, "\n".join(failures[:20])
    # Far from vacuous: most literals touch, overlap or equal something.
    assert sum(1 for _, w in cases if w) > len(cases) // 3


# ---- NULL logic against DuckDB -------------------------------------------

# (CQL2 filter, the same filter in SQL over the NDJSON columns)
NULL_CASES = [
    ("nfield = true", "nfield = true"),
    ("nfield <> true", "nfield <> true"),
    ("NOT nfield = true", "NOT (nfield = true)"),
    ("nfield IS NULL", "nfield IS NULL"),
    ("nfield IS NOT NULL", "nfield IS NOT NULL"),
    ("nfield = true OR intfield < 5", "nfield = true OR intfield < 5"),
    ("nfield = true AND intfield < 40", "nfield = true AND intfield < 40"),
    ("NOT (nfield = false OR intfield > 100)",
     "NOT (nfield = false OR intfield > 100)"),
    ("nfield IN (true)", "nfield IN (true)"),
    ("intfield IN (1, 2, missing)", "intfield IN (1, 2, NULL)"),
    ("intfield NOT IN (1, 2, missing)", "intfield NOT IN (1, 2, NULL)"),
    ("intfield BETWEEN missing AND 10", "intfield BETWEEN NULL AND 10"),
    ("missing + 1 > 0 OR boolfield", "NULL + 1 > 0 OR boolfield"),
]


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no realdata/cql2")
def test_null_logic_matches_duckdb():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT row_number() OVER () - 1 AS i, * FROM "
        "read_json(?, format='newline_delimited', "
        "columns={'intfield': 'BIGINT', 'boolfield': 'BOOLEAN', "
        "'nfield': 'BOOLEAN'})", [str(NDJSON)])
    out = _run_tool([["text", c] for c, _ in NULL_CASES])
    for (cql, sql), got in zip(NULL_CASES, out):
        want = [r[0] for r in con.execute(
            f"SELECT i FROM t WHERE {sql} ORDER BY i").fetchall()]
        assert got["ok"], got
        assert got["matches"] == want, (cql, got["matches"], want)


# ---- syntax errors --------------------------------------------------------

# (filter, byte offset, line, column, text the expectation contains,
#  whether cql2-rs rejects the filter too - it is lenient with some)
SYNTAX_ERRORS = [
    ("", 0, 1, 1, "an expression", True),
    ("intfield =", 10, 1, 11, "a property, a literal, a function or '('",
     True),
    ("intfield = 1 textfield", 13, 1, 14,
     "an operator, AND, OR or the end of input", True),
    ("(intfield = 1", 13, 1, 14, "',' or ')'", True),
    ("intfield = 1)", 12, 1, 13, "this ')' closes nothing", True),
    ("intfield IN 1", 12, 1, 13, "'(' (a list of values)", False),
    ("intfield BETWEEN 1 OR 2", 19, 1, 20, "AND (of BETWEEN", True),
    ("intfield IS 1", 12, 1, 13, "NULL or NOT NULL", True),
    ("intfield NOT 1", 13, 1, 14, "LIKE, BETWEEN or IN after NOT", True),
    ("textfield = 'abc", 16, 1, 17,
     "a closing quote for the string opened at byte 12", True),
    ("datefield = DATE('2020-02-30')", 17, 1, 18, "a date such as", False),
    ("t_before(ts_start, INTERVAL('soon', '..'))", 28, 1, 29,
     "a date, a timestamp or '..'", False),
    ("s_intersects(geom, POINT(1))", 26, 1, 27, "a number", False),
    ("s_intersects(geom, BBOX(1, 2, 3))", 31, 1, 32,
     "a BBOX has 4 or 6 numbers", False),
    ("s_intersects(geom)", 0, 1, 1, "2 arguments", False),
    ("intfield = 1 AND\n  textfield @ 'x'", 29, 2, 13,
     "an operator, AND, OR or the end of input", True),
    ("intfield = 1 AND", 16, 1, 17, "a property, a literal", True),
]


@pytest.mark.parametrize("case", SYNTAX_ERRORS, ids=lambda c: repr(c[0]))
def test_syntax_error_position(case):
    text, offset, line, column, expected, cql2_rejects = case
    got = _run_tool([["text", text]])[0]
    assert not got["ok"]
    assert got["status"] == "LC_EINVAL"
    assert (got["offset"], got["line"], got["column"]) == (offset, line,
                                                            column), got
    assert expected in got["expected"], got
    assert f"byte {offset}" in got["message"], got
    if cql2_rejects:
        with pytest.raises(Exception):  # noqa: B017
            cql2.parse_text(text)
