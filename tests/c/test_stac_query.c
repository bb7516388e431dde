/* test_stac_query.c - the item table's accessor, filter and sortby
 * (src/stac/items_query.c), against expectations worked out by hand or by
 * simple independent code in this file. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../src/common/isotime.h"
#include "../../src/stac/items_internal.h"
#include "test_util.h"

/*
 * Usage: test_stac_query [--bench]
 *
 * Unit cases: the accessor's types; the datetime rules (instants, spans,
 * items with only a start or an end, open query ends); bbox against
 * polygons, lines, points, items without geometry, boxes crossing the
 * antimeridian and boxes without area, and random shapes against the
 * geometry engine's own predicate; ids against a sorted lookup; CQL2
 * against a hand-written evaluation; sortby text and JSON forms and their
 * errors; sorting random tables with nulls, ties and mixed types against
 * a naive stable insertion sort; allocation failures. --bench times
 * 1M-item filters and sorts (the numbers are printed, not asserted).
 */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static double rnd_unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int64_t day_us(int y, unsigned m, unsigned d)
{
    return lc__days_from_civil(y, m, d) * LC_US_PER_DAY;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A table of n items with the given fields, ids "item-<i>". */
static struct lc__stac_items *make_table(size_t n, const char *const *fields,
                                         size_t nfields)
{
    struct lc__stac_load_options opts = {0};
    opts.fields = fields;
    opts.nfields = nfields;
    struct lc__stac_items *items = NULL;
    struct lc__errbuf err = {0};
    if (lc__stac_items_new(n, "test", &opts, NULL, 0, &items, &err) != LC_OK) {
        fprintf(stderr, "lc__stac_items_new: %s\n", err.msg);
        exit(EXIT_FAILURE);
    }
    for (size_t i = 0; i < n; i++) {
        char id[32];
        int len = snprintf(id, sizeof id, "item-%zu", i);
        items->ids[i] = lc__arena_strndup(&items->arena, id, (size_t)len);
    }
    return items;
}

static void set_wkt(struct lc__stac_items *items, size_t i, const char *wkt)
{
    struct lc__geom *g = NULL;
    struct lc__errbuf err = {0};
    if (lc__geom_from_wkt(&items->arena, wkt, strlen(wkt), NULL, NULL, &g, NULL,
                          &err) != LC_OK) {
        fprintf(stderr, "WKT %s: %s\n", wkt, err.msg);
        exit(EXIT_FAILURE);
    }
    items->geometry[i] = g;
    lc__geom_envelope(g, &items->bbox[i]);
}

static struct lc__cql2_value num_int(int64_t v)
{
    struct lc__cql2_value x = {0};
    x.type = LC__CQL2_TNUMBER;
    x.is_int = true;
    x.i64 = v;
    x.num = (double)v;
    return x;
}

static struct lc__cql2_value num_dbl(double v)
{
    struct lc__cql2_value x = {0};
    x.type = LC__CQL2_TNUMBER;
    x.num = v;
    return x;
}

static struct lc__cql2_value str_val(const char *s)
{
    struct lc__cql2_value x = {0};
    x.type = LC__CQL2_TSTRING;
    x.str = s;
    x.len = strlen(s);
    return x;
}

/* Runs the filter and compares the selection with expected[0..nexpected). */
static void check_filter(const struct lc__stac_items *items,
                         const struct lc__stac_query *q, const size_t *expected,
                         size_t nexpected, const char *what)
{
    size_t *index = NULL, count = 0;
    struct lc__errbuf err = {0};
    int status = lc__stac_items_filter(items, q, NULL, &index, &count, &err);
    if (status != LC_OK) {
        LC_CHECK_FAIL_("%s: status %d (%s)", what, status, err.msg);
        return;
    }
    bool same = count == nexpected;
    for (size_t k = 0; same && k < count; k++)
        same = index[k] == expected[k];
    if (!same) {
        fprintf(stderr, "%s: got", what);
        for (size_t k = 0; k < count; k++)
            fprintf(stderr, " %zu", index[k]);
        fprintf(stderr, ", expected");
        for (size_t k = 0; k < nexpected; k++)
            fprintf(stderr, " %zu", expected[k]);
        fputc('\n', stderr);
        LC_CHECK_FAIL_("%s: selection differs", what);
    }
    free(index);
}

#define CHECK_FILTER(items, q, what, ...)                                      \
    do {                                                                       \
        const size_t exp_[] = {SIZE_MAX, __VA_ARGS__};                         \
        check_filter((items), (q), exp_ + 1, sizeof exp_ / sizeof exp_[0] - 1, \
                     (what));                                                  \
    } while (0)

/* ---- accessor ---------------------------------------------------------- */

static void test_accessor(void)
{
    const char *fields[] = {"properties.eo:cloud_cover", "platform"};
    struct lc__stac_items *items = make_table(2, fields, 2);
    LC_ASSERT_UEQ(items->nfields, 2);
    items->datetime[0] = day_us(2020, 1, 2);
    items->start_datetime[1] = day_us(2020, 1, 3);
    set_wkt(items, 0, "POINT(1 2)");
    items->fields[0] = num_dbl(12.5);
    items->fields[1] = str_val("sentinel-2a");

    struct lc__cql2_value v;
    lc__stac_items_value(items, 0, "id", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TSTRING);
    LC_ASSERT_UEQ(v.len, 6);
    LC_ASSERT_TRUE(memcmp(v.str, "item-0", 6) == 0);
    lc__stac_items_value(items, 0, "datetime", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TTIMESTAMP);
    LC_ASSERT_EQ(v.us, day_us(2020, 1, 2));
    lc__stac_items_value(items, 1, "datetime", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TNULL);
    lc__stac_items_value(items, 1, "properties.start_datetime", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TTIMESTAMP);
    LC_ASSERT_EQ(v.us, day_us(2020, 1, 3));
    lc__stac_items_value(items, 0, "end_datetime", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TNULL);
    lc__stac_items_value(items, 0, "geometry", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TGEOMETRY);
    LC_ASSERT_TRUE(v.geom == items->geometry[0]);
    lc__stac_items_value(items, 1, "geometry", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TNULL);
    lc__stac_items_value(items, 0, "eo:cloud_cover", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TNUMBER);
    LC_ASSERT_TRUE(v.num == 12.5);
    lc__stac_items_value(items, 0, "properties.platform", &v);
    LC_ASSERT_EQ(v.type, LC__CQL2_TSTRING);
    lc__stac_items_value(items, 1, "platform", &v); /* not set: TNULL */
    LC_ASSERT_EQ(v.type, LC__CQL2_TNULL);
    lc__stac_items_value(items, 0, "gsd", &v); /* not loaded */
    LC_ASSERT_EQ(v.type, LC__CQL2_TNULL);
    lc__stac_items_value(items, 0, "bbox", &v); /* not a property */
    LC_ASSERT_EQ(v.type, LC__CQL2_TNULL);

    struct lc__stac_record r = {items, 0};
    memset(&v, 0xab, sizeof v);
    LC_ASSERT_EQ(lc__stac_items_get(&r, "platform", &v), LC_OK);
    LC_ASSERT_EQ(v.type, LC__CQL2_TSTRING);
    LC_ASSERT_UEQ(v.len, 11);
    lc__stac_items_free(items);
}

/* ---- datetime ---------------------------------------------------------- */

static void test_datetime(void)
{
    struct lc__stac_items *items = make_table(7, NULL, 0);
    items->datetime[0] = day_us(2020, 1, 10);
    items->start_datetime[1] = day_us(2020, 1, 5); /* a span */
    items->end_datetime[1] = day_us(2020, 1, 20);
    items->start_datetime[2] = day_us(2020, 1, 15); /* start only */
    items->end_datetime[3] = day_us(2020, 1, 25);   /* end only */
    /* 4: no time at all */
    items->datetime[5] = day_us(2020, 2, 1); /* datetime wins over span */
    items->start_datetime[5] = day_us(2020, 1, 1);
    items->end_datetime[5] = day_us(2020, 3, 1);
    items->datetime[6] = day_us(2020, 1, 20);

    struct lc__stac_query q = {0};
    q.has_datetime = true;
    q.start_us = day_us(2020, 1, 10);
    q.end_us = day_us(2020, 1, 20);
    CHECK_FILTER(items, &q, "closed, ends included", 0, 1, 2, 6);
    q.start_us = day_us(2020, 1, 21);
    q.end_us = INT64_MAX;
    CHECK_FILTER(items, &q, "open end", 3, 5);
    q.start_us = INT64_MIN;
    q.end_us = day_us(2020, 1, 5);
    CHECK_FILTER(items, &q, "open start", 1);
    q.start_us = INT64_MIN;
    q.end_us = INT64_MAX;
    CHECK_FILTER(items, &q, "both open: every item with a time", 0, 1, 2, 3, 5,
                 6);
    q.start_us = day_us(2020, 1, 22);
    q.end_us = day_us(2020, 1, 23);
    CHECK_FILTER(items, &q, "a gap");
    q.start_us = q.end_us = day_us(2020, 2, 1);
    CHECK_FILTER(items, &q, "an instant", 5);
    q.start_us = day_us(2020, 1, 25);
    q.end_us = day_us(2020, 1, 25);
    CHECK_FILTER(items, &q, "end-only item at its end", 3);
    q.start_us = day_us(2020, 1, 15);
    q.end_us = day_us(2020, 1, 15);
    CHECK_FILTER(items, &q, "start-only item at its start", 1, 2);
    q.start_us = day_us(2020, 1, 16);
    q.end_us = INT64_MAX;
    CHECK_FILTER(items, &q, "start-only item is an instant, not open", 1, 3, 5,
                 6);
    q.start_us = day_us(2020, 1, 20);
    q.end_us = day_us(2020, 1, 10);
    CHECK_FILTER(items, &q, "start after end selects nothing");
    lc__stac_items_free(items);
}

/* ---- bbox -------------------------------------------------------------- */

static struct lc__stac_query bbox_query(double w, double s, double e, double n)
{
    struct lc__stac_query q = {0};
    q.has_bbox = true;
    q.bbox = (struct lc__envelope){w, s, e, n};
    return q;
}

static void test_bbox(void)
{
    struct lc__stac_items *items = make_table(12, NULL, 0);
    set_wkt(items, 0, "POLYGON((0 0,10 0,10 10,0 10,0 0))");
    set_wkt(items, 1, "POINT(20 20)");
    set_wkt(items, 2, "LINESTRING(-5 5,30 5)");
    set_wkt(items, 3, "POLYGON((100 0,110 0,110 10,100 10,100 0))");
    items->bbox[4] = (struct lc__envelope){170, -10, -170, 10}; /* crosses */
    /* 5: neither geometry nor bbox */
    items->bbox[6] = (struct lc__envelope){40, 40, 50, 50};
    set_wkt(items, 7, "POLYGON((-179 0,-175 0,-175 5,-179 5,-179 0))");
    set_wkt(items, 8, "POLYGON((0 20,10 30,0 30,0 20))");
    set_wkt(items, 9,
            "MULTIPOLYGON(((-10 -10,-9 -10,-9 -9,-10 -9,-10 -10)),"
            "((50 50,51 50,51 51,50 51,50 50)))");
    set_wkt(items, 10, "POINT EMPTY");
    set_wkt(items, 11, "POINT(-179.8 1)");
    /* A wrong bbox must not hide the geometry (the geometry decides). */
    items->bbox[0] = (struct lc__envelope){0, 0, 1, 1};

    struct lc__stac_query q = bbox_query(2, 2, 4, 4);
    CHECK_FILTER(items, &q, "box inside a polygon, no vertex in the box", 0);
    q = bbox_query(15, 3, 16, 8);
    CHECK_FILTER(items, &q, "a line across the box", 2);
    q = bbox_query(6, 20, 10, 25);
    CHECK_FILTER(items, &q, "envelopes meet, shapes do not");
    q = bbox_query(5, 20, 10, 25);
    CHECK_FILTER(items, &q, "a corner touches a slanted edge", 8);
    q = bbox_query(175, -5, -176, 6);
    CHECK_FILTER(items, &q, "box crossing the antimeridian", 4, 7, 11);
    q = bbox_query(-169, -5, -168, 6);
    CHECK_FILTER(items, &q, "just east of a crossing bbox");
    q = bbox_query(20, 20, 20, 20);
    CHECK_FILTER(items, &q, "point box on a point", 1);
    q = bbox_query(5, 5, 5, 5);
    CHECK_FILTER(items, &q, "point box inside a polygon and on a line", 0, 2);
    q = bbox_query(105, -20, 105, 20);
    CHECK_FILTER(items, &q, "segment box through a polygon", 3);
    q = bbox_query(-180, -90, 180, 90);
    CHECK_FILTER(items, &q, "the world", 0, 1, 2, 3, 4, 6, 7, 8, 9, 11);
    q = bbox_query(50.5, 50.5, 60, 60);
    CHECK_FILTER(items, &q, "second part of a multipolygon", 9);
    q = bbox_query(10, 10, 40, 40);
    CHECK_FILTER(items, &q, "touching corners and edges", 0, 1, 6, 8);
    q = bbox_query(-180, 85, -170, 90);
    CHECK_FILTER(items, &q, "nothing up there");
    q = bbox_query(NAN, 0, 10, 10);
    CHECK_FILTER(items, &q, "a NaN box selects nothing");
    lc__stac_items_free(items);
}

/* Random small polygons and lines against random boxes: the filter's
 * shortcuts must agree with the engine's predicate on the box polygon. */
static void test_bbox_random(void)
{
    enum { N = 3000 };
    struct lc__stac_items *items = make_table(N, NULL, 0);
    for (size_t i = 0; i < N; i++) {
        double cx = rnd_unit() * 40 - 20, cy = rnd_unit() * 40 - 20;
        double r = rnd_unit() * 6;
        char wkt[256];
        int kind = (int)(rnd() % 3);
        double p[8];
        for (int k = 0; k < 8; k++)
            p[k] = (k % 2 ? cy : cx) + (rnd_unit() * 2 - 1) * r;
        if (kind == 0)
            snprintf(wkt, sizeof wkt,
                     "POLYGON((%.17g %.17g,%.17g %.17g,%.17g "
                     "%.17g,%.17g %.17g))",
                     p[0], p[1], p[2], p[3], p[4], p[5], p[0], p[1]);
        else if (kind == 1)
            snprintf(wkt, sizeof wkt, "LINESTRING(%.17g %.17g,%.17g %.17g)",
                     p[0], p[1], p[2], p[3]);
        else
            snprintf(wkt, sizeof wkt,
                     "POLYGON((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g "
                     "%.17g,%.17g %.17g))",
                     cx - r, cy - r, cx + r, cy - r, cx + r, cy + r, cx - r,
                     cy + r, cx - r, cy - r);
        set_wkt(items, i, wkt);
    }
    struct lc__arena arena;
    lc__arena_init(&arena, NULL);
    for (int t = 0; t < 40; t++) {
        double x0 = rnd_unit() * 40 - 20, y0 = rnd_unit() * 40 - 20;
        struct lc__envelope box = {x0, y0, x0 + rnd_unit() * 8,
                                   y0 + rnd_unit() * 8};
        struct lc__geom *poly = NULL;
        if (lc__geom_from_envelope(&arena, &box, &poly) != LC_OK)
            exit(EXIT_FAILURE);
        size_t *expected = malloc(N * sizeof *expected), n = 0;
        for (size_t i = 0; i < N; i++) {
            bool hit = false;
            lc__geom_predicate(LC__SPATIAL_INTERSECTS, items->geometry[i], poly,
                               NULL, &hit);
            if (hit)
                expected[n++] = i;
        }
        struct lc__stac_query q =
            bbox_query(box.minx, box.miny, box.maxx, box.maxy);
        check_filter(items, &q, expected, n, "random box vs the engine");
        free(expected);
    }
    lc__arena_free(&arena);
    lc__stac_items_free(items);
}

/* ---- ids --------------------------------------------------------------- */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_ids(void)
{
    enum { N = 20000, NIDS = 3000 };
    struct lc__stac_items *items = make_table(N, NULL, 0);
    items->ids[17] = NULL; /* a loader bug must not crash the filter */
    char(*buf)[32] = malloc(NIDS * sizeof *buf);
    const char **ids = malloc(NIDS * sizeof *ids);
    for (size_t k = 0; k < NIDS; k++) {
        /* Some ids twice, some absent from the table. */
        snprintf(buf[k], sizeof buf[k], "item-%u",
                 (unsigned)(rnd() % (N + N / 4)));
        ids[k] = buf[k];
    }
    const char **sorted = malloc(NIDS * sizeof *sorted);
    memcpy(sorted, ids, NIDS * sizeof *ids);
    qsort(sorted, NIDS, sizeof *sorted, cmp_cstr);
    size_t *expected = malloc(N * sizeof *expected), n = 0;
    for (size_t i = 0; i < N; i++)
        if (items->ids[i] != NULL &&
            bsearch(&items->ids[i], sorted, NIDS, sizeof *sorted, cmp_cstr))
            expected[n++] = i;
    struct lc__stac_query q = {0};
    q.ids = ids;
    q.nids = NIDS;
    check_filter(items, &q, expected, n, "ids");

    /* With datetime too: both must hold. */
    for (size_t i = 0; i < N; i++)
        items->datetime[i] = (int64_t)(i % 10) * LC_US_PER_DAY;
    q.has_datetime = true;
    q.start_us = 2 * LC_US_PER_DAY;
    q.end_us = 4 * LC_US_PER_DAY;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (expected[k] % 10 >= 2 && expected[k] % 10 <= 4)
            expected[m++] = expected[k];
    check_filter(items, &q, expected, m, "ids and datetime");

    const char *one[] = {"item-5"};
    struct lc__stac_query q1 = {0};
    q1.ids = one;
    q1.nids = 1;
    CHECK_FILTER(items, &q1, "one id", 5);
    q1.nids = 0; /* an empty list is no restriction */
    size_t *all = malloc(N * sizeof *all);
    for (size_t i = 0; i < N; i++)
        all[i] = i;
    check_filter(items, &q1, all, N, "empty id list");
    free(all);
    free(expected);
    free(sorted);
    free(ids);
    free(buf);
    lc__stac_items_free(items);
}

/* ---- CQL2 -------------------------------------------------------------- */

static struct lc__cql2 *parse_cql2(const char *text)
{
    struct lc__cql2 *t = NULL;
    struct lc__errbuf err = {0};
    if (lc__cql2_parse_text(text, strlen(text), NULL, &t, NULL, &err) !=
        LC_OK) {
        fprintf(stderr, "CQL2 %s: %s\n", text, err.msg);
        exit(EXIT_FAILURE);
    }
    return t;
}

static void test_cql2(void)
{
    enum { N = 2000 };
    const char *fields[] = {"eo:cloud_cover", "platform"};
    const char *platforms[] = {"sentinel-2a", "sentinel-2b", "landsat-9"};
    struct lc__stac_items *items = make_table(N, fields, 2);
    for (size_t i = 0; i < N; i++) {
        uint64_t r = rnd();
        if (r % 7 != 0) /* else null */
            items->fields[2 * i] =
                r % 3 ? num_int((int64_t)(r >> 8) % 100)
                      : num_dbl((double)((r >> 8) % 1000) / 10.0);
        if (r % 11 != 0)
            items->fields[2 * i + 1] = str_val(platforms[(r >> 20) % 3]);
        items->datetime[i] =
            day_us(2020, 1, 1) + (int64_t)(i % 60) * LC_US_PER_DAY;
        char wkt[128];
        double x = (double)(i % 50) - 25, y = (double)(i / 50 % 40) - 20;
        snprintf(wkt, sizeof wkt, "POLYGON((%g %g,%g %g,%g %g,%g %g))", x, y,
                 x + 1, y, x + 1, y + 1, x, y);
        set_wkt(items, i, wkt);
    }

    struct lc__cql2 *f =
        parse_cql2("\"eo:cloud_cover\" < 30 AND platform = 'sentinel-2a'");
    size_t *expected = malloc(N * sizeof *expected), n = 0;
    for (size_t i = 0; i < N; i++) {
        const struct lc__cql2_value *cc = &items->fields[2 * i];
        const struct lc__cql2_value *pf = &items->fields[2 * i + 1];
        double c = cc->is_int ? (double)cc->i64 : cc->num;
        if (cc->type == LC__CQL2_TNUMBER && c < 30 &&
            pf->type == LC__CQL2_TSTRING && strcmp(pf->str, "sentinel-2a") == 0)
            expected[n++] = i;
    }
    struct lc__stac_query q = {0};
    q.filter = f;
    check_filter(items, &q, expected, n, "cql2 comparison");

    /* All four tests together. */
    q.has_datetime = true;
    q.start_us = day_us(2020, 1, 11);
    q.end_us = day_us(2020, 1, 31);
    q.has_bbox = true;
    q.bbox = (struct lc__envelope){-10.5, -5.5, 10.5, 5.5};
    const char *ids[] = {"item-2",   "item-12",  "item-1012", "item-1762",
                         "item-765", "item-777", "item-1999"};
    q.ids = ids;
    q.nids = sizeof ids / sizeof ids[0];
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = expected[k];
        double x = (double)(i % 50) - 25, y = (double)(i / 50 % 40) - 20;
        bool in_ids = false;
        for (size_t j = 0; j < q.nids; j++) {
            char id[32];
            snprintf(id, sizeof id, "item-%zu", i);
            in_ids |= strcmp(id, ids[j]) == 0;
        }
        if (i % 60 >= 10 && i % 60 <= 30 && x + 1 >= -10.5 && x <= 10.5 &&
            y + 1 >= -5.5 && y <= 5.5 && in_ids)
            expected[m++] = i;
    }
    check_filter(items, &q, expected, m, "cql2, datetime, bbox and ids");
    lc__cql2_free(f);

    f = parse_cql2("id IN ('item-3', 'item-4') OR datetime >= "
                   "TIMESTAMP('2020-02-29T00:00:00Z')");
    q = (struct lc__stac_query){0};
    q.filter = f;
    n = 0;
    for (size_t i = 0; i < N; i++)
        if (i == 3 || i == 4 || i % 60 >= 59)
            expected[n++] = i;
    check_filter(items, &q, expected, n, "cql2 on id and datetime");
    lc__cql2_free(f);

    f = parse_cql2("S_INTERSECTS(geometry, BBOX(0.5, 0.5, 0.6, 0.6))");
    q.filter = f;
    /* Only the triangle with its corner at (0, 0) - item 25 + 20 * 50 -
     * reaches the box (it holds (0.6, 0.5)). */
    CHECK_FILTER(items, &q, "cql2 spatial", 25 + 20 * 50);
    lc__cql2_free(f);

    f = parse_cql2("avg(\"eo:cloud_cover\") > 1");
    q.filter = f;
    size_t *index = (size_t *)&q, count = 7;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__stac_items_filter(items, &q, NULL, &index, &count, &err),
                 LC_EUNSUPPORTED);
    LC_ASSERT_TRUE(index == NULL && count == 0);
    LC_ASSERT_TRUE(strstr(err.msg, "avg") != NULL);
    lc__cql2_free(f);

    free(expected);
    lc__stac_items_free(items);
}

/* ---- sortby parsing ---------------------------------------------------- */

/* expected: "field" or "-field" entries joined by ','. */
static void check_sortby(const char *text, const char *expected)
{
    struct lc__stac_sortby *s = NULL;
    struct lc__errbuf err = {0};
    int status = lc__stac_sortby_parse(text, strlen(text), NULL, &s, &err);
    if (status != LC_OK) {
        LC_CHECK_FAIL_("sortby %s: status %d (%s)", text, status, err.msg);
        return;
    }
    char got[512] = "";
    for (size_t k = 0; k < s->nkeys; k++) {
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s%s%s", k ? "," : "",
                 s->keys[k].descending ? "-" : "", s->keys[k].field);
    }
    if (strcmp(got, expected) != 0)
        LC_CHECK_FAIL_("sortby %s: got '%s', expected '%s'", text, got,
                       expected);
    lc__stac_sortby_free(s);
}

static void check_sortby_error(const char *text, int status,
                               const char *message)
{
    struct lc__stac_sortby *s = (struct lc__stac_sortby *)&s;
    struct lc__errbuf err = {0};
    int got = lc__stac_sortby_parse(text, strlen(text), NULL, &s, &err);
    LC_ASSERT_EQ(got, status);
    LC_ASSERT_TRUE(s == NULL);
    if (strstr(err.msg, message) == NULL)
        LC_CHECK_FAIL_("sortby %s: message '%s' lacks '%s'", text, err.msg,
                       message);
}

static void test_sortby_parse(void)
{
    check_sortby("eo:cloud_cover", "eo:cloud_cover");
    check_sortby("-datetime", "-datetime");
    check_sortby("+platform", "platform");
    check_sortby(" a , -b ,+c ", "a,-b,c");
    check_sortby("-eo:cloud_cover,datetime", "-eo:cloud_cover,datetime");
    check_sortby("properties.eo:cloud_cover,-properties.gsd",
                 "eo:cloud_cover,-gsd");
    check_sortby("", "");
    check_sortby("  \t", "");
    check_sortby("\"-datetime\"", "-datetime");
    check_sortby("\"a,-b\"", "a,-b");
    check_sortby("[\"-a\", \"b\", \"+c\"]", "-a,b,c");
    check_sortby("[{\"field\":\"a\",\"direction\":\"DESC\"},{\"field\":\"b\"},"
                 "{\"direction\":\"desc\"},\"-c\","
                 "{\"field\":\"d\",\"direction\":\"Asc\"},"
                 "{\"field\":\"e\",\"direction\":null}]",
                 "-a,b,-c,d,e");
    check_sortby("{\"field\":\"properties.x\",\"direction\":\"desc\"}", "-x");
    check_sortby("{\"direction\":\"asc\"}", "");
    check_sortby("[]", "");
    check_sortby(" [\"a\"] ", "a");
    /* The field of an object keeps a leading '-' (no sign there). */
    check_sortby("{\"field\":\"-x\"}", "-x");
    check_sortby("[{\"field\":\"-x\"}]", "-x");

    /* len bounds the text: no NUL needed. */
    struct lc__stac_sortby *s = NULL;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__stac_sortby_parse("abc,-def", 3, NULL, &s, &err), LC_OK);
    LC_ASSERT_UEQ(s->nkeys, 1);
    LC_ASSERT_STR_EQ(s->keys[0].field, "abc");
    lc__stac_sortby_free(s);
    lc__stac_sortby_free(NULL);

    check_sortby_error("a,,b", LC_EINVAL,
                       "sortby: empty field name at position 2");
    check_sortby_error("a,b,", LC_EINVAL,
                       "sortby: empty field name at position 3");
    check_sortby_error("-", LC_EINVAL,
                       "sortby: empty field name at position 1");
    check_sortby_error("properties.", LC_EINVAL, "empty field name");
    check_sortby_error("[{\"field\":\"a\",\"direction\":\"up\"}]", LC_EINVAL,
                       "sortby: direction 'up' is neither asc nor desc");
    check_sortby_error("{\"field\":\"a\",\"direction\":\"ascending\"}",
                       LC_EINVAL, "direction 'ascending' is neither");
    check_sortby_error("[\"a\", 1]", LC_EINVAL, "position 2 is a number");
    check_sortby_error("[{\"field\": 3}]", LC_EINVAL, "field is a number");
    check_sortby_error("[{\"field\":\"a\",\"direction\":5}]", LC_EINVAL,
                       "direction is a number");
    check_sortby_error("[{\"field\":\"\"}]", LC_EINVAL,
                       "sortby: empty field name at position 1");
    check_sortby_error("[\"a\", \"\"]", LC_EINVAL,
                       "empty field name at position 2");
    check_sortby_error("[\"a\"", LC_EINVAL, "sortby: malformed JSON");
    check_sortby_error("{\"field\":\"a\"} x", LC_EINVAL, "malformed JSON");
    check_sortby_error("[\"a\\u0000b\"]", LC_EINVAL, "malformed JSON");
    s = (struct lc__stac_sortby *)&err;
    LC_ASSERT_EQ(lc__stac_sortby_parse("a\0b", 3, NULL, &s, &err), LC_EINVAL);
    LC_ASSERT_TRUE(s == NULL && strstr(err.msg, "holds a NUL") != NULL);
}

/* ---- sorting ----------------------------------------------------------- */

/* The reference order: classes, then values; numbers through long double
 * (exact for int64 and double), NaN after numbers; nulls last. */
static int ref_class(const struct lc__cql2_value *v)
{
    switch (v->type) {
    case LC__CQL2_TBOOL:
        return 0;
    case LC__CQL2_TNUMBER:
        return 1;
    case LC__CQL2_TSTRING:
        return 2;
    case LC__CQL2_TTIMESTAMP:
    case LC__CQL2_TDATE:
        return 3;
    case LC__CQL2_TNULL:
        return 9;
    case LC__CQL2_TINTERVAL:
    case LC__CQL2_TGEOMETRY:
    case LC__CQL2_TARRAY:
    case LC__CQL2_TJSON:
        break;
    }
    return 4;
}

static int ref_cmp_value(const struct lc__cql2_value *a,
                         const struct lc__cql2_value *b)
{
    int ca = ref_class(a), cb = ref_class(b);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    switch (ca) {
    case 0:
        return (int)a->b - (int)b->b;
    case 1: {
        bool an = !a->is_int && isnan(a->num), bn = !b->is_int && isnan(b->num);
        if (an || bn)
            return (int)an - (int)bn;
        long double x = a->is_int ? (long double)a->i64 : (long double)a->num;
        long double y = b->is_int ? (long double)b->i64 : (long double)b->num;
        return (x > y) - (x < y);
    }
    case 2:
        return strcmp(a->str, b->str); /* no NUL inside the test strings */
    case 3:
        return (a->us > b->us) - (a->us < b->us);
    case 4:
        if (a->type != b->type)
            return a->type < b->type ? -1 : 1;
        return a->type == LC__CQL2_TJSON ? strcmp(a->str, b->str) : 0;
    default:
        return 0;
    }
}

static int ref_cmp_items(const struct lc__stac_items *items,
                         const struct lc__stac_sortkey *keys, size_t nkeys,
                         size_t i, size_t j)
{
    for (size_t k = 0; k < nkeys; k++) {
        struct lc__cql2_value a, b;
        lc__stac_items_value(items, i, keys[k].field, &a);
        lc__stac_items_value(items, j, keys[k].field, &b);
        bool an = a.type == LC__CQL2_TNULL, bn = b.type == LC__CQL2_TNULL;
        if (an && bn)
            continue;
        if (an != bn)
            return an ? 1 : -1;
        int c = ref_cmp_value(&a, &b);
        if (c != 0)
            return keys[k].descending ? (c < 0 ? 1 : -1) : (c < 0 ? -1 : 1);
    }
    return 0;
}

/* Naive stable insertion sort: O(n^2), obviously right. */
static void ref_sort(const struct lc__stac_items *items,
                     const struct lc__stac_sortkey *keys, size_t nkeys,
                     size_t *index, size_t n)
{
    for (size_t a = 1; a < n; a++) {
        size_t x = index[a], b = a;
        while (b > 0 &&
               ref_cmp_items(items, keys, nkeys, index[b - 1], x) > 0) {
            index[b] = index[b - 1];
            b--;
        }
        index[b] = x;
    }
}

static void check_sort(const struct lc__stac_items *items,
                       const struct lc__stac_sortkey *keys, size_t nkeys,
                       const size_t *index, size_t n, const char *what)
{
    size_t *got = malloc((n + 1) * sizeof *got);
    size_t *exp = malloc((n + 1) * sizeof *exp);
    memcpy(got, index, n * sizeof *got);
    memcpy(exp, index, n * sizeof *exp);
    struct lc__errbuf err = {0};
    int status = lc__stac_items_sort(items, keys, nkeys, got, n, NULL, &err);
    LC_ASSERT_EQ(status, LC_OK);
    ref_sort(items, keys, nkeys, exp, n);
    size_t bad = SIZE_MAX;
    for (size_t k = 0; k < n && bad == SIZE_MAX; k++)
        if (got[k] != exp[k])
            bad = k;
    if (bad != SIZE_MAX)
        LC_CHECK_FAIL_("%s: position %zu holds item %zu, expected %zu", what,
                       bad, got[bad], exp[bad]);
    /* Stability, checked directly: ties keep the input order. */
    for (size_t k = 1; k < n; k++) {
        if (ref_cmp_items(items, keys, nkeys, got[k - 1], got[k]) > 0)
            LC_CHECK_FAIL_("%s: not sorted at %zu", what, k);
    }
    free(got);
    free(exp);
}

/* Columns: mixed numbers (ints beyond 2^53 with doubles: compared
 * exactly, with tie-breaks), strings, booleans, times, mixed types, ints
 * only and doubles with small ints (both sorted by radix). */
static const char *const sort_fields[] = {"num",   "str",  "flag", "when",
                                          "mixed", "ints", "dbls"};
enum { NSORT_FIELDS = 7 };
/* Some share their first 8 bytes (the radix prefix) and differ later. */
static const char *const some_strings[] = {
    "",        "a",  "ab",       "b",         "B",         "\xc3\xa9",
    "a b",     "zz", "prefix-0", "prefix-00", "prefix-01", "prefix-0\x01",
    "prefix-1"};
enum { NSTRINGS = sizeof some_strings / sizeof some_strings[0] };

static struct lc__cql2_value random_number(void)
{
    static const int64_t ints[] = {
        0, 1, -1, 3, INT64_C(9007199254740993), INT64_MAX, INT64_MIN};
    static const double dbls[] = {
        0.5,    -0.0,    3.0, 2.999999, 9007199254740992.0,
        9.3e18, -9.3e18, NAN, INFINITY, -INFINITY};
    uint64_t r = rnd();
    if (r % 2)
        return num_int(ints[(r >> 8) % (sizeof ints / sizeof ints[0])]);
    return num_dbl(dbls[(r >> 8) % (sizeof dbls / sizeof dbls[0])]);
}

static struct lc__cql2_value random_value(int column)
{
    struct lc__cql2_value v = {0};
    uint64_t r = rnd();
    if (r % 5 == 0)
        return v; /* null */
    switch (column == 4 ? (int)(r >> 3) % 5 : column) {
    case 0:
        return random_number();
    case 1:
        return str_val(some_strings[(r >> 8) % NSTRINGS]);
    case 2:
        v.type = LC__CQL2_TBOOL;
        v.b = (r >> 8) & 1;
        return v;
    case 3:
        v.type = (r >> 8) & 1 ? LC__CQL2_TDATE : LC__CQL2_TTIMESTAMP;
        v.us = day_us(2020, 1, 1 + (unsigned)((r >> 9) % 3)) +
               ((r >> 12) & 1 ? 0 : LC_US_PER_DAY / 2);
        return v;
    case 5: {
        static const int64_t ints[] = {0,
                                       1,
                                       -1,
                                       7,
                                       INT64_MAX,
                                       INT64_MIN,
                                       INT64_C(1) << 40,
                                       -(INT64_C(1) << 40),
                                       INT64_C(9007199254740993)};
        if ((r >> 8) % 3 == 0)
            return num_int((int64_t)(rnd() >> (r % 64)) - INT64_C(99));
        return num_int(ints[(r >> 10) % (sizeof ints / sizeof ints[0])]);
    }
    case 6: {
        static const double dbls[] = {0.5,       -0.0,   0.0, 3.0,
                                      -2.5,      1e300,  NAN, INFINITY,
                                      -INFINITY, -1e-300};
        if ((r >> 8) % 3 == 0)
            return num_int((int64_t)(r >> 20) % 5 - 2 +
                           ((r >> 9) & 1 ? INT64_C(9007199254740992) : 0));
        return num_dbl(dbls[(r >> 10) % (sizeof dbls / sizeof dbls[0])]);
    }
    default:
        v.type = LC__CQL2_TJSON;
        v.str = (r >> 8) & 1 ? "{\"a\":1}" : "[{\"b\":2}]";
        v.len = strlen(v.str);
        return v;
    }
}

static void test_sort_random(void)
{
    enum { N = 400 };
    struct lc__stac_items *items = make_table(N, sort_fields, NSORT_FIELDS);
    for (size_t i = 0; i < N; i++) {
        for (int c = 0; c < NSORT_FIELDS; c++)
            items->fields[i * NSORT_FIELDS + (size_t)c] = random_value(c);
        uint64_t r = rnd();
        if (r % 4)
            items->datetime[i] = day_us(2021, 5, 1 + (unsigned)(r >> 8) % 4);
        /* A few shared ids, to sort by id with ties. */
        if (r % 9 == 0)
            items->ids[i] = "dup";
    }
    const char *names[] = {"num",      "str",    "flag",          "when",
                           "mixed",    "ints",   "dbls",          "id",
                           "datetime", "absent", "properties.num"};
    const size_t nnames = sizeof names / sizeof names[0];
    size_t index[N];
    for (int t = 0; t < 600; t++) {
        struct lc__stac_sortkey keys[3];
        size_t nkeys = 1 + (size_t)(rnd() % 3);
        for (size_t k = 0; k < nkeys; k++) {
            keys[k].field = names[rnd() % nnames];
            keys[k].descending = rnd() & 1;
        }
        /* Every item, a subset in a scrambled order, or a handful. */
        size_t n = 0;
        if (t % 3 == 0) {
            for (size_t i = 0; i < N; i++)
                index[n++] = i;
        } else if (t % 3 == 1) {
            for (size_t i = 0; i < N; i++)
                if (rnd() % 3)
                    index[n++] = (i * 7919) % N;
        } else {
            for (size_t k = rnd() % 5; k > 0; k--)
                index[n++] = rnd() % N;
        }
        char what[128];
        snprintf(what, sizeof what, "sort %zu keys, first %s%s", nkeys,
                 keys[0].descending ? "-" : "", keys[0].field);
        check_sort(items, keys, nkeys, index, n, what);
    }
    lc__stac_items_free(items);
}

/* Mixed types in one field, worked out by hand. */
static void test_sort_types(void)
{
    const char *fields[] = {"v"};
    struct lc__stac_items *items = make_table(10, fields, 1);
    struct lc__cql2_value *v = items->fields;
    v[0].type = LC__CQL2_TBOOL, v[0].b = true;
    v[1] = num_int(3);
    v[2] = str_val("abc");
    v[3].type = LC__CQL2_TTIMESTAMP, v[3].us = day_us(2020, 1, 1) + 1;
    v[4].type = LC__CQL2_TJSON, v[4].str = "{}", v[4].len = 2;
    /* v[5] null */
    v[6].type = LC__CQL2_TBOOL, v[6].b = false;
    v[7] = num_dbl(9007199254740992.0); /* 2^53 */
    v[8].type = LC__CQL2_TDATE, v[8].us = day_us(2020, 1, 1);
    v[9] = num_int(INT64_C(9007199254740993)); /* rounds to 2^53 */

    size_t index[10];
    for (size_t i = 0; i < 10; i++)
        index[i] = i;
    struct lc__stac_sortkey key = {"v", false};
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__stac_items_sort(items, &key, 1, index, 10, NULL, &err),
                 LC_OK);
    const size_t asc[] = {6, 0, 1, 7, 9, 2, 8, 3, 4, 5};
    for (size_t i = 0; i < 10; i++)
        LC_ASSERT_UEQ(index[i], asc[i]);
    key.descending = true;
    LC_ASSERT_EQ(lc__stac_items_sort(items, &key, 1, index, 10, NULL, &err),
                 LC_OK);
    const size_t desc[] = {4, 3, 8, 2, 9, 7, 1, 0, 6, 5};
    for (size_t i = 0; i < 10; i++)
        LC_ASSERT_UEQ(index[i], desc[i]);

    /* Ties keep their order, in both directions; nkeys 0 leaves it. */
    for (size_t i = 0; i < 10; i++) {
        v[i] = num_int(i % 2 ? 1 : 0);
        index[i] = 9 - i;
    }
    key.descending = false;
    lc__stac_items_sort(items, &key, 1, index, 10, NULL, &err);
    const size_t ties[] = {8, 6, 4, 2, 0, 9, 7, 5, 3, 1};
    for (size_t i = 0; i < 10; i++)
        LC_ASSERT_UEQ(index[i], ties[i]);
    key.descending = true;
    lc__stac_items_sort(items, &key, 1, index, 10, NULL, &err);
    const size_t ties_desc[] = {9, 7, 5, 3, 1, 8, 6, 4, 2, 0};
    for (size_t i = 0; i < 10; i++)
        LC_ASSERT_UEQ(index[i], ties_desc[i]);
    LC_ASSERT_EQ(lc__stac_items_sort(items, &key, 0, index, 10, NULL, &err),
                 LC_OK);
    for (size_t i = 0; i < 10; i++)
        LC_ASSERT_UEQ(index[i], ties_desc[i]);
    lc__stac_items_free(items);
}

/* ---- allocation failures ----------------------------------------------- */

struct fail_state {
    long left; /* allocations that succeed before one fails */
};

static void *fail_alloc(void *opaque, size_t nbytes)
{
    struct fail_state *s = opaque;
    if (s->left-- <= 0)
        return NULL;
    return malloc(nbytes);
}

static void fail_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

static void test_alloc_failures(void)
{
    const char *fields[] = {"num"};
    struct lc__stac_items *items = make_table(50, fields, 1);
    for (size_t i = 0; i < 50; i++) {
        items->fields[i] = num_int((int64_t)(i * 37 % 11));
        set_wkt(items, i,
                i % 2 ? "POLYGON((0 0,4 0,4 4,0 0))" : "LINESTRING(-1 2,9 2)");
    }
    struct lc__cql2 *f = parse_cql2("num < 5 AND id LIKE 'item-%'");
    const char *ids[] = {"item-1", "item-2", "item-3"};
    struct lc__stac_query q = bbox_query(1, 1, 2, 3);
    q.ids = ids;
    q.nids = 3;
    q.filter = f;
    struct lc__stac_sortkey keys[] = {{"num", true}, {"id", false}};
    bool filter_ok = false, sort_ok = false, parse_ok = false;
    for (long limit = 0; limit < 200; limit++) {
        struct fail_state st = {limit};
        struct lc_allocator a = {fail_alloc, fail_free, &st};
        struct lc__errbuf err = {0};
        size_t *index = NULL, count = 0;
        int status = lc__stac_items_filter(items, &q, &a, &index, &count, &err);
        LC_ASSERT_TRUE(status == LC_OK || status == LC_ENOMEM);
        if (status == LC_OK) {
            filter_ok = true;
            LC_ASSERT_UEQ(count, 2); /* item-1 (num 4), item-3 (num 1) */
            a.free(a.opaque, index);
        } else {
            LC_ASSERT_TRUE(index == NULL && count == 0);
        }

        st.left = limit;
        size_t order[50];
        for (size_t i = 0; i < 50; i++)
            order[i] = i;
        status = lc__stac_items_sort(items, keys, 2, order, 50, &a, &err);
        LC_ASSERT_TRUE(status == LC_OK || status == LC_ENOMEM);
        sort_ok |= status == LC_OK;
        if (status != LC_OK)
            for (size_t i = 0; i < 50; i++)
                LC_ASSERT_UEQ(order[i], i); /* untouched on failure */

        st.left = limit;
        struct lc__stac_sortby *s = NULL;
        const char *text = "[{\"field\":\"a\",\"direction\":\"desc\"},\"b\","
                           "\"c\",\"d\",\"e\",\"f\"]";
        status = lc__stac_sortby_parse(text, strlen(text), &a, &s, &err);
        LC_ASSERT_TRUE(status == LC_OK || status == LC_ENOMEM);
        if (status == LC_OK) {
            parse_ok = true;
            LC_ASSERT_UEQ(s->nkeys, 6);
        }
        lc__stac_sortby_free(s);
    }
    /* jansson allocates with malloc, so parse can succeed early. */
    LC_ASSERT_TRUE(filter_ok && sort_ok && parse_ok);
    lc__cql2_free(f);
    lc__stac_items_free(items);
}

/* ---- bench ------------------------------------------------------------- */

static void bench(void)
{
    enum { N = 1000000, NIDS = 10000 };
    const char *fields[] = {"eo:cloud_cover"};
    struct lc__stac_items *items = make_table(N, fields, 1);
    for (size_t i = 0; i < N; i++) {
        uint64_t r = rnd();
        items->fields[i] = r % 10 ? num_dbl((double)(r >> 11) / 9.0e13)
                                  : num_int((int64_t)(r >> 40) % 100);
        items->datetime[i] = day_us(2020, 1, 1) +
                             (int64_t)((r >> 20) % (3 * 365)) * LC_US_PER_DAY;
        double x = (double)((r >> 5) % 3600) / 10.0 - 180.0;
        double y = (double)((r >> 30) % 1700) / 10.0 - 85.0;
        char wkt[160];
        snprintf(wkt, sizeof wkt,
                 "POLYGON((%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f))",
                 x, y, x + 1, y, x + 1, y + 1, x, y + 1, x, y);
        set_wkt(items, i, wkt);
    }
    struct lc__stac_query q = bbox_query(-20.05, -30.05, 40.05, 50.05);
    q.has_datetime = true;
    q.start_us = day_us(2020, 6, 1);
    q.end_us = day_us(2021, 6, 1);
    size_t *index = NULL, count = 0;
    struct lc__errbuf err = {0};
    double t0 = now_s();
    lc__stac_items_filter(items, &q, NULL, &index, &count, &err);
    printf("filter bbox+datetime over %d items: %zu selected in %.3f s\n", N,
           count, now_s() - t0);
    free(index);

    struct lc__cql2 *f = parse_cql2("\"eo:cloud_cover\" < 10 AND "
                                    "datetime >= DATE('2021-01-01')");
    struct lc__stac_query qf = {0};
    qf.filter = f;
    t0 = now_s();
    lc__stac_items_filter(items, &qf, NULL, &index, &count, &err);
    printf("filter CQL2 (2 comparisons) over %d items: %zu selected in "
           "%.3f s\n",
           N, count, now_s() - t0);
    free(index);
    lc__cql2_free(f);

    const char **ids = malloc(NIDS * sizeof *ids);
    for (size_t k = 0; k < NIDS; k++)
        ids[k] = items->ids[rnd() % N];
    struct lc__stac_query qi = {0};
    qi.ids = ids;
    qi.nids = NIDS;
    t0 = now_s();
    lc__stac_items_filter(items, &qi, NULL, &index, &count, &err);
    printf("filter %d ids over %d items: %zu selected in %.3f s\n", NIDS, N,
           count, now_s() - t0);
    free(index);
    free(ids);

    size_t *order = malloc(N * sizeof *order);
    for (size_t i = 0; i < N; i++)
        order[i] = i;
    struct lc__stac_sortkey key = {"eo:cloud_cover", false};
    t0 = now_s();
    lc__stac_items_sort(items, &key, 1, order, N, NULL, &err);
    printf("sort %d items by one number: %.3f s\n", N, now_s() - t0);
    struct lc__stac_sortkey key2[] = {{"datetime", true}, {"id", false}};
    t0 = now_s();
    lc__stac_items_sort(items, key2, 2, order, N, NULL, &err);
    printf("sort %d items by -datetime,id: %.3f s\n", N, now_s() - t0);
    struct lc__stac_sortkey key3 = {"id", true};
    t0 = now_s();
    lc__stac_items_sort(items, &key3, 1, order, N, NULL, &err);
    printf("sort %d items by -id: %.3f s\n", N, now_s() - t0);
    free(order);
    lc__stac_items_free(items);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        bench();
        return EXIT_SUCCESS;
    }
    test_accessor();
    test_datetime();
    test_bbox();
    test_bbox_random();
    test_ids();
    test_cql2();
    test_sortby_parse();
    test_sort_random();
    test_sort_types();
    test_alloc_failures();
    LC_TEST_END();
}
