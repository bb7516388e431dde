/* test_geometry.c - geometry readers, writers and predicates (src/geo). */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/geo/geometry.h"
#include "test_util.h"

/*
 * Usage: test_geometry [RELATE_CASES]
 *
 * Without arguments: known answers for the WKB, WKT and GeoJSON readers
 * (hostile input included), the writers, envelopes, exact orientation and
 * hand-made predicate cases. With the path of tests/data/geometry/
 * relate_cases.txt (written by tools/make_geometry_cases.py with shapely):
 * the full DE-9IM matrix of each random pair must equal GEOS's, and every
 * named predicate (with its envelope shortcuts) must agree with the one
 * the GEOS matrix gives.
 */

static struct lc__arena arena;

static struct lc__geom *wkt(const char *text)
{
    struct lc__geom *g = NULL;
    struct lc__errbuf err = {0};
    int rc = lc__geom_from_wkt(&arena, text, strlen(text), NULL, NULL, &g, NULL,
                               &err);
    if (rc != LC_OK) {
        LC_CHECK_FAIL_("WKT %s: %s", text, err.msg);
        exit(EXIT_FAILURE);
    }
    return g;
}

static void check_wkt_out(const char *in, const char *expected)
{
    struct lc__strbuf sb;
    lc__strbuf_init(&sb, NULL, 0);
    lc__geom_to_wkt(wkt(in), &sb);
    LC_ASSERT_EQ(sb.status, LC_OK);
    LC_ASSERT_STR_EQ(sb.data, expected);
    lc__strbuf_free(&sb);
}

static void check_geojson_out(const char *in, const char *expected)
{
    struct lc__strbuf sb;
    lc__strbuf_init(&sb, NULL, 0);
    lc__geom_to_geojson(wkt(in), &sb);
    LC_ASSERT_STR_EQ(sb.data, expected);
    lc__strbuf_free(&sb);
}

static void check_wkt_error(const char *in, int status, size_t offset,
                            const char *expected)
{
    struct lc__geom *g = NULL;
    struct lc__errbuf err = {0};
    struct lc__text_error syn = {0};
    int rc =
        lc__geom_from_wkt(&arena, in, strlen(in), NULL, NULL, &g, &syn, &err);
    LC_ASSERT_EQ(rc, status);
    if (status == LC_EINVAL) {
        if (syn.offset != offset || strstr(syn.expected, expected) == NULL)
            LC_CHECK_FAIL_("WKT %s: error at %zu expecting \"%s\" (%s), "
                           "wanted %zu \"%s\"",
                           in, syn.offset, syn.expected, err.msg, offset,
                           expected);
    }
}

static void test_wkt(void)
{
    check_wkt_out("POINT (1 2)", "POINT(1 2)");
    check_wkt_out("point(1.5e2 -0.0)", "POINT(150 -0)");
    check_wkt_out("POINT Z (1 2 3)", "POINT Z(1 2 3)");
    check_wkt_out("POINTZ(1 2 3)", "POINT Z(1 2 3)");
    check_wkt_out("POINT(1 2 3)", "POINT Z(1 2 3)");
    check_wkt_out("POINT M (1 2 3)", "POINT(1 2)");
    check_wkt_out("POINT ZM (1 2 3 4)", "POINT Z(1 2 3)");
    check_wkt_out("POINT EMPTY", "POINT EMPTY");
    check_wkt_out("LINESTRING(0 0, 1 1,2 0)", "LINESTRING(0 0,1 1,2 0)");
    check_wkt_out("POLYGON ((0 0, 1 0, 1 1, 0 0), (0.2 0.1, 0.3 0.1, 0.3 "
                  "0.2, 0.2 0.1))",
                  "POLYGON((0 0,1 0,1 1,0 0),(0.2 0.1,0.3 0.1,0.3 0.2,0.2 "
                  "0.1))");
    check_wkt_out("MULTIPOINT ((1 2), (3 4))", "MULTIPOINT(1 2,3 4)");
    check_wkt_out("MULTIPOINT (1 2, 3 4)", "MULTIPOINT(1 2,3 4)");
    check_wkt_out("MULTILINESTRING ((0 0, 1 1), (2 2, 3 3))",
                  "MULTILINESTRING((0 0,1 1),(2 2,3 3))");
    check_wkt_out("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 "
                  "5)))",
                  "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))");
    check_wkt_out("GEOMETRYCOLLECTION (POINT (1.9 2.00001), LINESTRING (179.0 "
                  "1.179148, 0.5 0.333333))",
                  "GEOMETRYCOLLECTION(POINT(1.9 2.00001),LINESTRING(179 "
                  "1.179148,0.5 0.333333))");
    check_wkt_out("GEOMETRYCOLLECTION EMPTY", "GEOMETRYCOLLECTION EMPTY");
    check_wkt_out("POLYGON Z ((0 0 1, 1 0 2, 1 1 3, 0 0 1))",
                  "POLYGON Z((0 0 1,1 0 2,1 1 3,0 0 1))");
    check_wkt_out("POINT(1e-7 123456789012345678)",
                  "POINT(0.0000001 123456789012345680)");

    check_geojson_out("POINT (1 2)",
                      "{\"type\":\"Point\",\"coordinates\":[1.0,2.0]}");
    check_geojson_out("POLYGON Z ((0 0 1, 1 0 2, 1 1 3, 0 0 1))",
                      "{\"type\":\"Polygon\",\"coordinates\":[[[0.0,0.0,1.0],"
                      "[1.0,0.0,2.0],[1.0,1.0,3.0],[0.0,0.0,1.0]]]}");
    check_geojson_out("GEOMETRYCOLLECTION (POINT (1e-7 1e21))",
                      "{\"type\":\"GeometryCollection\",\"geometries\":[{"
                      "\"type\":\"Point\",\"coordinates\":[1e-7,1e21]}]}");
    check_geojson_out("MULTIPOINT (1 2, 3 4)",
                      "{\"type\":\"MultiPoint\",\"coordinates\":[[1.0,2.0],["
                      "3.0,4.0]]}");

    check_wkt_error("POINT (1)", LC_EINVAL, 8, "a number");
    check_wkt_error("POINT (1 2", LC_EINVAL, 10, "')'");
    check_wkt_error("POINT (1 2, 3 4)", LC_EINVAL, 10, "')'");
    check_wkt_error("LINESTRING (1 2 3, 4 5)", LC_EINVAL, 22, "3 coord");
    check_wkt_error("POINT Z (1 2)", LC_EINVAL, 12, "3 coord");
    check_wkt_error("POLYGON ((0 0, 1 1) (1 2))", LC_EINVAL, 20, "',' or ')'");
    check_wkt_error("CIRCLE (1 2)", LC_EINVAL, 0, "a geometry type");
    check_wkt_error("POINTS (1 2)", LC_EINVAL, 0, "a geometry type");
    check_wkt_error("POINT (1 2) x", LC_EINVAL, 12, "end of the text");
    check_wkt_error("POINT (0x10 2)", LC_EINVAL, 8, "a number");
    check_wkt_error("POINT (1e999 2)", LC_EINVAL, 7, "a number");
    check_wkt_error("", LC_EINVAL, 0, "a geometry type");

    /* Nesting is capped. */
    char deep[4096] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "GEOMETRYCOLLECTION(");
    strcat(deep, "POINT(1 2)");
    for (int i = 0; i < 40; i++)
        strcat(deep, ")");
    check_wkt_error(deep, LC_ELIMIT, 0, "");

    /* A prefix: the CQL2 parser reads literals this way. */
    struct lc__geom *g = NULL;
    size_t used = 0;
    const char *text = "POINT(1 2), x) AND y";
    LC_ASSERT_EQ(lc__geom_from_wkt(&arena, text, strlen(text), NULL, &used, &g,
                                   NULL, NULL),
                 LC_OK);
    LC_ASSERT_UEQ(used, 10);
}

/* ---- WKB ------------------------------------------------------------- */

struct wkb_writer {
    uint8_t buf[4096];
    size_t n;
    bool be;
};

static void put_u32(struct wkb_writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->buf[w->n++] = (uint8_t)(w->be ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put_f64(struct wkb_writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++)
        w->buf[w->n++] = (uint8_t)(w->be ? v >> (56 - 8 * i) : v >> (8 * i));
}

static void put_header(struct wkb_writer *w, uint32_t type)
{
    w->buf[w->n++] = w->be ? 0 : 1;
    put_u32(w, type);
}

static int read_wkb(const struct wkb_writer *w, struct lc__geom **g,
                    struct lc__errbuf *err)
{
    return lc__geom_from_wkb(&arena, w->buf, w->n, NULL, g, err);
}

static void check_wkb_text(const struct wkb_writer *w, const char *expected)
{
    struct lc__geom *g = NULL;
    struct lc__errbuf err = {0};
    int rc = read_wkb(w, &g, &err);
    LC_ASSERT_EQ(rc, LC_OK);
    if (rc != LC_OK) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    struct lc__strbuf sb;
    lc__strbuf_init(&sb, NULL, 0);
    lc__geom_to_wkt(g, &sb);
    LC_ASSERT_STR_EQ(sb.data, expected);
    lc__strbuf_free(&sb);
}

static void check_wkb_error(const struct wkb_writer *w, int status,
                            const char *needle)
{
    struct lc__geom *g = NULL;
    struct lc__errbuf err = {0};
    int rc = read_wkb(w, &g, &err);
    LC_ASSERT_EQ(rc, status);
    if (strstr(err.msg, needle) == NULL)
        LC_CHECK_FAIL_("WKB error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_wkb(void)
{
    struct wkb_writer w = {.be = false};

    /* A polygon, little- then big-endian. */
    for (int be = 0; be < 2; be++) {
        w.n = 0;
        w.be = be != 0;
        put_header(&w, 3);
        put_u32(&w, 1);
        put_u32(&w, 4);
        const double xy[] = {0, 0, 1, 0, 1, 1, 0, 0};
        for (size_t i = 0; i < LC_ARRAY_SIZE(xy); i++)
            put_f64(&w, xy[i]);
        check_wkb_text(&w, "POLYGON((0 0,1 0,1 1,0 0))");
    }

    /* ISO Z (1001) and EWKB Z with SRID: Z is dropped. */
    w.n = 0;
    w.be = false;
    put_header(&w, 1001);
    put_f64(&w, 1);
    put_f64(&w, 2);
    put_f64(&w, 3);
    check_wkb_text(&w, "POINT(1 2)");
    w.n = 0;
    put_header(&w, 0x80000000u | 0x20000000u | 2);
    put_u32(&w, 4326);
    put_u32(&w, 2);
    for (int i = 0; i < 6; i++)
        put_f64(&w, i);
    check_wkb_text(&w, "LINESTRING(0 1,3 4)");
    /* ZM (3001) in a multipoint of mixed byte orders. */
    w.n = 0;
    put_header(&w, 3004);
    put_u32(&w, 2);
    put_header(&w, 3001);
    for (int i = 0; i < 4; i++)
        put_f64(&w, i);
    w.be = true;
    put_header(&w, 3001);
    for (int i = 0; i < 4; i++)
        put_f64(&w, 10 + i);
    w.be = false;
    check_wkb_text(&w, "MULTIPOINT(0 1,10 11)");
    /* POINT EMPTY as NaN coordinates. */
    w.n = 0;
    put_header(&w, 1);
    put_f64(&w, NAN);
    put_f64(&w, NAN);
    check_wkb_text(&w, "POINT EMPTY");
    /* A collection holding an empty polygon. */
    w.n = 0;
    put_header(&w, 7);
    put_u32(&w, 1);
    put_header(&w, 3);
    put_u32(&w, 0);
    check_wkb_text(&w, "GEOMETRYCOLLECTION(POLYGON EMPTY)");

    /* Empty rings are skipped (fuzz regression: WKT cannot write them). */
    w.n = 0;
    put_header(&w, 3);
    put_u32(&w, 2);
    put_u32(&w, 0);
    put_u32(&w, 4);
    {
        const double xy[] = {0, 0, 1, 0, 1, 1, 0, 0};
        for (size_t i = 0; i < LC_ARRAY_SIZE(xy); i++)
            put_f64(&w, xy[i]);
    }
    check_wkb_text(&w, "POLYGON((0 0,1 0,1 1,0 0))");
    /* Non-finite coordinates are corrupt (NaN only means POINT EMPTY). */
    w.n = 0;
    put_header(&w, 2);
    put_u32(&w, 2);
    put_f64(&w, 0);
    put_f64(&w, 0);
    put_f64(&w, INFINITY);
    put_f64(&w, 1);
    check_wkb_error(&w, LC_ECORRUPT, "not a finite number at byte 25");

    /* Hostile input. */
    w.n = 0;
    check_wkb_error(&w, LC_ECORRUPT, "truncated geometry at byte 0");
    w.n = 0;
    w.buf[w.n++] = 7;
    put_u32(&w, 1);
    check_wkb_error(&w, LC_ECORRUPT, "byte order 7 at byte 0");
    w.n = 0;
    put_header(&w, 2);
    put_u32(&w, 0x7fffffff);
    check_wkb_error(&w, LC_ECORRUPT, "at byte 5");
    w.n = 0;
    put_header(&w, 3);
    put_u32(&w, 1);
    put_u32(&w, 1000000000);
    put_f64(&w, 1);
    check_wkb_error(&w, LC_ECORRUPT, "ring of 1000000000 at byte 9");
    w.n = 0;
    put_header(&w, 6);
    put_u32(&w, 0xffffffffu);
    check_wkb_error(&w, LC_ECORRUPT, "multi-geometry of 4294967295");
    w.n = 0;
    put_header(&w, 1);
    put_f64(&w, 1);
    check_wkb_error(&w, LC_ECORRUPT, "truncated point at byte 5");
    w.n = 0;
    put_header(&w, 9);
    check_wkb_error(&w, LC_EUNSUPPORTED, "type 9");
    w.n = 0;
    put_header(&w, 4242);
    check_wkb_error(&w, LC_ECORRUPT, "type 4242");
    w.n = 0;
    put_header(&w, 4);
    put_u32(&w, 1);
    put_header(&w, 2);
    put_u32(&w, 0);
    check_wkb_error(&w, LC_ECORRUPT, "Point part of type 2 at byte 9");
    w.n = 0;
    put_header(&w, 1);
    put_f64(&w, 1);
    put_f64(&w, 2);
    w.buf[w.n++] = 0;
    check_wkb_error(&w, LC_ECORRUPT, "1 bytes after the geometry");
    /* Collections nested 100 deep hit the depth cap, not the stack. */
    w.n = 0;
    for (int i = 0; i < 100; i++) {
        put_header(&w, 7);
        put_u32(&w, 1);
    }
    put_header(&w, 1);
    put_f64(&w, 1);
    put_f64(&w, 2);
    check_wkb_error(&w, LC_ELIMIT, "nested deeper than 32");
    /* The point cap. */
    struct lc__geom_limits lim = {.max_points = 3};
    struct lc__geom *g = NULL;
    w.n = 0;
    put_header(&w, 2);
    put_u32(&w, 4);
    for (int i = 0; i < 8; i++)
        put_f64(&w, i);
    LC_ASSERT_EQ(lc__geom_from_wkb(&arena, w.buf, w.n, &lim, &g, NULL),
                 LC_ELIMIT);
    /* Every truncation of a valid multipolygon fails cleanly. */
    w.n = 0;
    put_header(&w, 6);
    put_u32(&w, 2);
    for (int p = 0; p < 2; p++) {
        put_header(&w, 3);
        put_u32(&w, 1);
        put_u32(&w, 4);
        const double xy[] = {0, 0, 1, 0, 1, 1, 0, 0};
        for (size_t i = 0; i < LC_ARRAY_SIZE(xy); i++)
            put_f64(&w, xy[i] + p);
    }
    for (size_t cut = 0; cut < w.n; cut++) {
        /* A heap copy ending exactly at cut, so ASan sees overreads. */
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, w.buf, cut);
        LC_ASSERT_EQ(lc__geom_from_wkb(&arena, copy, cut, NULL, &g, NULL),
                     LC_ECORRUPT);
        free(copy);
    }
}

/* ---- GeoJSON --------------------------------------------------------- */

static void check_geojson(const char *json, int status, const char *out)
{
    struct lc__geom *g = NULL;
    struct lc__errbuf err = {0};
    int rc =
        lc__geom_from_geojson_text(&arena, json, strlen(json), NULL, &g, &err);
    LC_ASSERT_EQ(rc, status);
    if (rc != LC_OK) {
        if (strstr(err.msg, out) == NULL)
            LC_CHECK_FAIL_("GeoJSON error \"%s\" lacks \"%s\"", err.msg, out);
        return;
    }
    struct lc__strbuf sb;
    lc__strbuf_init(&sb, NULL, 0);
    lc__geom_to_wkt(g, &sb);
    LC_ASSERT_STR_EQ(sb.data, out);
    lc__strbuf_free(&sb);
}

static void test_geojson(void)
{
    check_geojson("{\"type\":\"Point\",\"coordinates\":[1,2]}", LC_OK,
                  "POINT(1 2)");
    check_geojson("{\"type\":\"Point\",\"coordinates\":[1,2,3,4]}", LC_OK,
                  "POINT Z(1 2 3)");
    check_geojson("{\"type\":\"LineString\",\"coordinates\":[[1,2,3],[4,5]]}",
                  LC_OK, "LINESTRING(1 2,4 5)");
    check_geojson("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],"
                  "[1,1],[0,0]]]],\"bbox\":[0,0,1,1]}",
                  LC_OK, "MULTIPOLYGON(((0 0,1 0,1 1,0 0)))");
    check_geojson("{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":"
                  "\"Point\",\"coordinates\":[1,2]},{\"type\":\"LineString\","
                  "\"coordinates\":[]}]}",
                  LC_OK, "GEOMETRYCOLLECTION(POINT(1 2),LINESTRING EMPTY)");
    check_geojson("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1]]]}",
                  LC_EINVAL, "coordinates[0][1]: expected a position");
    check_geojson("{\"type\":\"Circle\",\"coordinates\":[0,0]}", LC_EINVAL,
                  "not a GeoJSON geometry type");
    check_geojson("{\"type\":\"Point\"}", LC_EINVAL, "coordinates: missing");
    check_geojson("[1,2]", LC_EINVAL, "expected a geometry object");
    check_geojson("{\"type\":\"Point\",\"coordinates\":[1,\"2\"]}", LC_EINVAL,
                  "expected a position");
    check_geojson("{\"type\":", LC_EINVAL, "GeoJSON:");
}

/* ---- orientation and predicates ------------------------------------- */

static void test_orient(void)
{
    const double a[2] = {0, 0}, b[2] = {1, 1};
    const double on[2] = {0.5, 0.5}, left[2] = {0, 1};
    LC_ASSERT_EQ(lc__orient2d_sign(a, b, on), 0);
    LC_ASSERT_EQ(lc__orient2d_sign(a, b, left), 1);
    LC_ASSERT_EQ(lc__orient2d_sign(b, a, left), -1);
    /* Points a rounding error off a line whose naive determinant comes
     * out wrong (the classic example of Kettner et al.). */
    const double p[2] = {0.5, 0.5};
    const double q[2] = {12, 12};
    const double r[2] = {24, 24};
    LC_ASSERT_EQ(lc__orient2d_sign(p, q, r), 0);
    double x = 0.5;
    for (int i = 0; i < 64; i++) {
        const double c[2] = {x, 0.5};
        int s = lc__orient2d_sign(p, q, c);
        /* c is on the horizontal through p: right of p->q iff x > 0.5. */
        int expect = x > 0.5 ? -1 : x < 0.5 ? 1 : 0;
        LC_ASSERT_EQ(s, expect);
        x = nextafter(x, 1.0);
    }
    const double big[2] = {1e15, 1e15 + 1};
    const double o[2] = {0, 0};
    const double far[2] = {2e15, 2e15 + 2};
    LC_ASSERT_EQ(lc__orient2d_sign(o, big, far), 0);
}

static bool pred(enum lc__spatial_pred p, const char *a, const char *b)
{
    bool r = false;
    LC_ASSERT_EQ(lc__geom_predicate(p, wkt(a), wkt(b), NULL, &r), LC_OK);
    return r;
}

static void test_predicates(void)
{
    const char *sq = "POLYGON((0 0,4 0,4 4,0 4,0 0))";
    const char *sq_cw = "POLYGON((0 0,0 4,4 4,4 0,0 0))";
    const char *right = "POLYGON((4 0,8 0,8 4,4 4,4 0))";
    const char *corner = "POLYGON((4 4,8 4,8 8,4 8,4 4))";
    const char *inner = "POLYGON((1 1,2 1,2 2,1 2,1 1))";
    const char *holed = "POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 2,1 1))";

    LC_ASSERT_TRUE(pred(LC__SPATIAL_EQUALS, sq, sq_cw));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_TOUCHES, sq, right));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_INTERSECTS, sq, right));
    LC_ASSERT_TRUE(!pred(LC__SPATIAL_OVERLAPS, sq, right));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_TOUCHES, sq, corner));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_CONTAINS, sq, inner));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_WITHIN, inner, sq));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_INTERSECTS, holed, inner));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_TOUCHES, holed, inner));
    LC_ASSERT_TRUE(!pred(LC__SPATIAL_CONTAINS, holed, "POINT(1.5 1.5)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_DISJOINT, holed, "POINT(1.5 1.5)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_CONTAINS, holed, "POINT(3 3)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_TOUCHES, holed, "POINT(2 1.5)"));
    LC_ASSERT_TRUE(
        pred(LC__SPATIAL_OVERLAPS, sq, "POLYGON((2 2,6 2,6 6,2 6,2 2))"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_CROSSES, sq, "LINESTRING(-1 2,5 2)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_TOUCHES, sq, "LINESTRING(4 1,4 3)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_CONTAINS, sq, "LINESTRING(1 1,3 3)"));
    /* A line along the boundary is not contained (interiors must meet). */
    LC_ASSERT_TRUE(!pred(LC__SPATIAL_CONTAINS, sq, "LINESTRING(0 0,4 0)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_CROSSES, "LINESTRING(0 0,2 2)",
                        "LINESTRING(0 2,2 0)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_OVERLAPS, "LINESTRING(0 0,2 0)",
                        "LINESTRING(1 0,3 0)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_TOUCHES, "LINESTRING(0 0,2 0)",
                        "LINESTRING(2 0,3 5)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_EQUALS, "LINESTRING(0 0,2 0)",
                        "LINESTRING(2 0,1 0,0 0)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_EQUALS, "MULTIPOINT(1 1,2 2)",
                        "MULTIPOINT(2 2,1 1,1 1)"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_EQUALS, "POINT EMPTY", "POLYGON EMPTY"));
    LC_ASSERT_TRUE(pred(LC__SPATIAL_DISJOINT, "POINT EMPTY", sq));
    LC_ASSERT_TRUE(!pred(LC__SPATIAL_WITHIN, "POINT EMPTY", sq));
    /* No antimeridian handling: 170..190 does not reach -175. */
    LC_ASSERT_TRUE(pred(LC__SPATIAL_DISJOINT,
                        "POLYGON((170 0,190 0,190 10,170 10,170 0))",
                        "POINT(-175 5)"));
    /* An unclosed ring is closed implicitly. */
    LC_ASSERT_TRUE(
        pred(LC__SPATIAL_CONTAINS, "POLYGON((0 0,4 0,4 4,0 4))", "POINT(1 1)"));

    /* Envelopes. */
    struct lc__envelope e;
    lc__geom_envelope(wkt("GEOMETRYCOLLECTION(POINT(-1 5),LINESTRING(2 -3,"
                          "4 0))"),
                      &e);
    LC_ASSERT_TRUE(e.minx == -1 && e.miny == -3 && e.maxx == 4 && e.maxy == 5);
    lc__geom_envelope(wkt("POLYGON EMPTY"), &e);
    LC_ASSERT_TRUE(e.minx > e.maxx);
    struct lc__geom *box = NULL;
    LC_ASSERT_EQ(lc__geom_from_envelope(
                     &arena, &(struct lc__envelope){0, 0, 4, 4}, &box),
                 LC_OK);
    LC_ASSERT_TRUE(pred(LC__SPATIAL_EQUALS, sq,
                        "POLYGON((0 0,4 0,4 4,0 4,0 "
                        "0))"));
    bool r = false;
    LC_ASSERT_EQ(lc__geom_predicate(LC__SPATIAL_EQUALS, box, wkt(sq), NULL, &r),
                 LC_OK);
    LC_ASSERT_TRUE(r);
}

/* ---- allocation failures --------------------------------------------- */

struct failing {
    int fail_at, count, live;
};

static void *failing_alloc(void *opaque, size_t n)
{
    struct failing *f = opaque;
    if (f->count++ == f->fail_at)
        return NULL;
    void *p = malloc(n);
    f->live += p != NULL;
    return p;
}

static void failing_free(void *opaque, void *p)
{
    struct failing *f = opaque;
    f->live -= p != NULL;
    free(p);
}

/* Every allocation of relate and of the readers may fail: LC_ENOMEM, and
 * nothing leaks. */
static void test_alloc_failures(void)
{
    const char *a_wkt = "GEOMETRYCOLLECTION(POLYGON((0 0,10 0,10 10,0 10,0 0),"
                        "(2 2,4 2,4 4,2 4,2 2)),LINESTRING(-5 5,15 5),POINT(3 "
                        "3),MULTILINESTRING((0 0,1 1),(1 1,2 0)))";
    const char *b_wkt = "POLYGON((5 -5,15 -5,15 5,5 5,5 -5))";
    struct lc__geom *a = wkt(a_wkt), *b = wkt(b_wkt);
    int ok = -1;
    for (int i = 0; i < 1000 && ok < 0; i++) {
        struct failing f = {.fail_at = i};
        struct lc_allocator al = {failing_alloc, failing_free, &f};
        struct lc__de9im m;
        int rc = lc__geom_relate(a, b, &al, &m);
        if (rc == LC_OK)
            ok = i;
        else
            LC_ASSERT_EQ(rc, LC_ENOMEM);
        LC_ASSERT_EQ(f.live, 0);
    }
    LC_ASSERT_TRUE(ok > 0);
    ok = -1;
    for (int i = 0; i < 1000 && ok < 0; i++) {
        struct failing f = {.fail_at = i};
        struct lc_allocator al = {failing_alloc, failing_free, &f};
        struct lc__arena ar;
        struct lc__geom *g = NULL;
        lc__arena_init(&ar, &al);
        int rc = lc__geom_from_wkt(&ar, a_wkt, strlen(a_wkt), NULL, NULL, &g,
                                   NULL, NULL);
        if (rc == LC_OK)
            ok = i;
        else
            LC_ASSERT_EQ(rc, LC_ENOMEM);
        lc__arena_free(&ar);
        LC_ASSERT_EQ(f.live, 0);
    }
    LC_ASSERT_TRUE(ok > 0);
}

/* ---- the shapely oracle ---------------------------------------------- */

static int run_cases(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    static const char *names[] = {"intersects", "disjoint", "contains",
                                  "within",     "equals",   "touches",
                                  "crosses",    "overlaps"};
    char line[16384];
    int ncases = 0, bad = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *bar1 = strchr(line, '|');
        char *bar2 = bar1 != NULL ? strchr(bar1 + 1, '|') : NULL;
        if (bar2 == NULL || strlen(bar2 + 1) != 9) {
            LC_CHECK_FAIL_("bad case line: %s", line);
            continue;
        }
        *bar1 = *bar2 = '\0';
        struct lc__geom *a = wkt(line), *b = wkt(bar1 + 1);
        struct lc__de9im m, want;
        LC_ASSERT_EQ(lc__geom_relate(a, b, NULL, &m), LC_OK);
        char got[10];
        for (int i = 0; i < 9; i++) {
            int8_t v = m.m[i / 3][i % 3];
            got[i] = v < 0 ? 'F' : (char)('0' + v);
            char c = bar2[1 + i];
            want.m[i / 3][i % 3] = c == 'F' ? -1 : (int8_t)(c - '0');
        }
        got[9] = '\0';
        want.dim_a = (int8_t)lc__geom_dimension(a);
        want.dim_b = (int8_t)lc__geom_dimension(b);
        ncases++;
        if (strcmp(got, bar2 + 1) != 0) {
            if (bad++ < 20)
                LC_CHECK_FAIL_("relate(%s, %s) = %s, GEOS says %s", line,
                               bar1 + 1, got, bar2 + 1);
            else
                lc_test_failures++;
        }
        for (int p = 0; p <= LC__SPATIAL_OVERLAPS; p++) {
            bool r = false;
            LC_ASSERT_EQ(
                lc__geom_predicate((enum lc__spatial_pred)p, a, b, NULL, &r),
                LC_OK);
            bool w = lc__de9im_predicate((enum lc__spatial_pred)p, &want);
            if (r != w)
                LC_CHECK_FAIL_("%s(%s, %s) = %d, GEOS matrix says %d", names[p],
                               line, bar1 + 1, r, w);
        }
        lc__arena_free(&arena);
    }
    fclose(f);
    printf("%d relate cases, %d differ from GEOS\n", ncases, bad);
    return ncases;
}

int main(int argc, char **argv)
{
    lc__arena_init(&arena, NULL);
    test_wkt();
    test_wkb();
    test_geojson();
    test_orient();
    test_predicates();
    test_alloc_failures();
    lc__arena_free(&arena);
    if (argc > 1 && run_cases(argv[1]) <= 0)
        lc_test_failures++;
    lc__arena_free(&arena);
    LC_TEST_END();
}
