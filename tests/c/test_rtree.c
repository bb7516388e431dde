/* test_rtree.c - the packed Hilbert R-tree against brute force. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include "../../src/index/rtree.h"

#include <math.h>

#include "test_util.h"

/*
 * The tree must answer exactly what a scan of every box answers, hits in
 * ascending item order. The scan below does not share the tree's
 * representation: it cuts each box's longitude range into arcs inside
 * [-180, 180] (a crossing box 170..-170 into 170..180 and -180..-170) and
 * treats 180 and -180 as the same meridian, while the tree unwraps boxes
 * past 180 and runs shifted queries. Coordinates are multiples of 1/1024
 * degree, so every +-360 either side computes is exact and the two must
 * agree to the last hit, touching boxes included (and the grid makes
 * touching common).
 */

/* ---- random numbers (splitmix64, seeded: runs are reproducible) --------- */

static uint64_t g_rng = 0x1234abcd5678ef01u;

static uint64_t rng_next(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi], on the 1/1024 grid. */
static double rnd(double lo, double hi)
{
    double u = (double)(rng_next() >> 11) / 9007199254740992.0;
    return floor((lo + u * (hi - lo)) * 1024.0) / 1024.0;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rng_next() % n);
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- brute force ----------------------------------------------------------
 */

struct arc {
    double lo, hi;
};

/* Cuts a longitude range into at most two arcs inside [-180, 180]. Handles
 * what the tests generate: crossing ranges (minx > maxx) with both ends in
 * [-180, 180], and plain ranges anywhere, possibly past +-180. */
static size_t arcs_of(double minx, double maxx, struct arc out[2])
{
    if (minx > maxx) {
        out[0] = (struct arc){minx, 180.0};
        out[1] = (struct arc){-180.0, maxx};
        return 2;
    }
    if (minx == -INFINITY || maxx == INFINITY || maxx - minx >= 360.0) {
        out[0] = (struct arc){-180.0, 180.0};
        return 1;
    }
    while (minx < -180.0) {
        minx += 360.0;
        maxx += 360.0;
    }
    while (minx > 180.0) {
        minx -= 360.0;
        maxx -= 360.0;
    }
    if (maxx <= 180.0) {
        out[0] = (struct arc){minx, maxx};
        return 1;
    }
    out[0] = (struct arc){minx, 180.0};
    out[1] = (struct arc){-180.0, maxx - 360.0};
    return 2;
}

static bool arcs_meet(struct arc a, struct arc b)
{
    if (a.lo <= b.hi && b.lo <= a.hi)
        return true;
    /* 180 and -180 are one meridian. */
    return (a.hi >= 180.0 && b.lo <= -180.0) ||
           (b.hi >= 180.0 && a.lo <= -180.0);
}

static bool brute_hit(const double *item, const double *q)
{
    if (item[3] < q[1] || item[1] > q[3])
        return false;
    struct arc ia[2];
    struct arc qa[2];
    size_t ni = arcs_of(item[0], item[2], ia);
    size_t nq = arcs_of(q[0], q[2], qa);
    for (size_t i = 0; i < ni; i++)
        for (size_t j = 0; j < nq; j++)
            if (arcs_meet(ia[i], qa[j]))
                return true;
    return false;
}

static size_t brute_query(const double *boxes, size_t n, const double *q,
                          size_t *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (brute_hit(boxes + 4 * i, q))
            out[count++] = i;
    return count;
}

/* ---- generators -----------------------------------------------------------
 */

static double g_centres[24][2];

static void make_centres(void)
{
    for (size_t i = 0; i < LC_ARRAY_SIZE(g_centres); i++) {
        g_centres[i][0] = rnd(-180.0, 180.0);
        g_centres[i][1] = rnd(-80.0, 80.0);
    }
    /* Two clusters on the antimeridian, where the tricky cases live. */
    g_centres[0][0] = 179.5;
    g_centres[1][0] = -179.75;
}

/* One item box of a mix like a STAC archive: mostly small tiles in
 * clusters, some large, points, lines, boxes crossing or touching the
 * antimeridian, unwrapped boxes and a few covering every longitude. */
static void make_item(double *b)
{
    size_t kind = rnd_below(100);
    double x = rnd(-180.0, 180.0);
    double y = rnd(-90.0, 90.0);
    double w = rnd(0.0, 3.0);
    double h = rnd(0.0, 3.0);

    if (kind < 45) {
        const double *c = g_centres[rnd_below(LC_ARRAY_SIZE(g_centres))];
        x = c[0] + rnd(-5.0, 5.0);
        y = c[1] + rnd(-5.0, 5.0);
    } else if (kind < 60) {
        /* uniform small box */
    } else if (kind < 68) {
        w = rnd(0.0, 120.0);
        h = rnd(0.0, 60.0);
    } else if (kind < 73) {
        w = 0.0;
        h = 0.0;
    } else if (kind < 78) {
        if (rng_next() & 1)
            w = 0.0;
        else
            h = 0.0;
    } else if (kind < 88) {
        /* Crossing the antimeridian, STAC style (minx > maxx). */
        b[0] = rnd(160.0, 180.0);
        b[2] = rnd(-180.0, -160.0);
        if (kind == 87) {
            /* A wide crossing box, most of the world. */
            b[0] = rnd(0.0, 90.0);
            b[2] = rnd(-90.0, -1.0);
        }
        b[1] = clampd(y, -90.0, 90.0);
        b[3] = clampd(y + h, -90.0, 90.0);
        return;
    } else if (kind < 92) {
        /* Touching the antimeridian from either side, or lying on it. */
        size_t t = rnd_below(4);
        b[0] = t == 0   ? rnd(170.0, 180.0)
               : t == 1 ? -180.0
               : t == 2 ? 180.0
                        : -180.0;
        b[2] = t == 0 ? 180.0 : t == 1 ? rnd(-180.0, -170.0) : b[0];
        b[1] = clampd(y, -90.0, 90.0);
        b[3] = clampd(y + h, -90.0, 90.0);
        return;
    } else if (kind < 97) {
        /* Unwrapped past the antimeridian, east or west. */
        double lo = rnd(170.0, 180.0);
        double hi = rnd(180.0, 195.0);
        bool west = rng_next() & 1;
        b[0] = west ? lo - 360.0 : lo;
        b[2] = west ? hi - 360.0 : hi;
        b[1] = clampd(y, -90.0, 90.0);
        b[3] = clampd(y + h, -90.0, 90.0);
        return;
    } else {
        /* Every longitude, written two ways. */
        bool wide = rng_next() & 1;
        b[0] = wide ? -200.0 : -180.0;
        b[2] = wide ? 200.0 : 180.0;
        b[1] = clampd(y, -90.0, 90.0);
        b[3] = clampd(y + h, -90.0, 90.0);
        return;
    }
    x = clampd(x, -180.0, 180.0);
    b[0] = x;
    b[2] = clampd(x + w, -180.0, 180.0);
    b[1] = clampd(y, -90.0, 90.0);
    b[3] = clampd(y + h, -90.0, 90.0);
}

static void make_query(double *q)
{
    size_t kind = rnd_below(13);
    double x = rnd(-180.0, 180.0);
    double y = rnd(-90.0, 90.0);
    double w = 0.0;
    double h = 0.0;

    if (rng_next() & 1) {
        const double *c = g_centres[rnd_below(LC_ARRAY_SIZE(g_centres))];
        x = clampd(c[0] + rnd(-3.0, 3.0), -180.0, 180.0);
        y = c[1] + rnd(-3.0, 3.0);
    }
    switch (kind) {
    case 0: /* tiny */
        w = rnd(0.0, 0.05);
        h = rnd(0.0, 0.05);
        break;
    case 1: /* chunk-sized */
    case 2:
        w = rnd(0.0, 2.0);
        h = rnd(0.0, 2.0);
        break;
    case 3:
        w = rnd(0.0, 30.0);
        h = rnd(0.0, 30.0);
        break;
    case 4: /* huge */
        x = rnd(-180.0, 0.0);
        w = rnd(100.0, 300.0);
        h = rnd(60.0, 170.0);
        y = rnd(-90.0, 0.0);
        break;
    case 5: /* point */
        break;
    case 6: /* point or line on the antimeridian */
        x = (rng_next() & 1) ? 180.0 : -180.0;
        h = rnd(0.0, 5.0);
        break;
    case 7: /* crossing the antimeridian */
        q[0] = rnd(150.0, 180.0);
        q[2] = rnd(-180.0, -150.0);
        q[1] = y;
        q[3] = y + rnd(0.0, 20.0);
        return;
    case 8: /* crossing, most of the world */
        q[0] = rnd(-20.0, 60.0);
        q[2] = rnd(-100.0, -30.0);
        q[1] = y - 20.0;
        q[3] = y + rnd(0.0, 20.0);
        return;
    case 9: /* every longitude */
        q[0] = (rng_next() & 1) ? -180.0 : -INFINITY;
        q[2] = (rng_next() & 1) ? 180.0 : INFINITY;
        q[1] = y - rnd(0.0, 10.0);
        q[3] = y;
        return;
    case 10: /* unwrapped past the antimeridian */
        q[0] = rnd(170.0, 180.0);
        q[2] = rnd(180.0, 190.0);
        if (rng_next() & 1) {
            q[0] -= 360.0;
            q[2] -= 360.0;
        }
        q[1] = y;
        q[3] = y + rnd(0.0, 10.0);
        return;
    case 11: /* everything */
        q[0] = -INFINITY;
        q[1] = -INFINITY;
        q[2] = INFINITY;
        q[3] = INFINITY;
        return;
    default: /* a latitude band */
        q[0] = rnd(-180.0, 180.0);
        q[2] = q[0] + rnd(0.0, 40.0);
        q[1] = -INFINITY;
        q[3] = rnd(-90.0, 90.0);
        return;
    }
    q[0] = x;
    q[2] = x + w;
    q[1] = y;
    q[3] = y + h;
}

/* ---- checks ---------------------------------------------------------------
 */

struct seen {
    size_t *items;
    size_t count;
    size_t cap;
};

static int record_hit(void *opaque, size_t item)
{
    struct seen *s = opaque;
    if (s->count == s->cap)
        return LC_ENOSPACE;
    s->items[s->count++] = item;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a;
    size_t y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static size_t g_mismatches;

static void report_mismatch(const char *what, size_t n, size_t node_size,
                            const double *q, size_t got, size_t want)
{
    if (g_mismatches++ < 10)
        LC_CHECK_FAIL_("n=%zu node_size=%zu query (%.10g %.10g %.10g %.10g): "
                       "%s gives %zu hits, brute force %zu (or other items)",
                       n, node_size, q[0], q[1], q[2], q[3], what, got, want);
    else
        lc_test_failures++;
}

static void check_tree(const double *boxes, size_t n, size_t node_size,
                       size_t nqueries, const char *label)
{
    struct lc__rtree_options opts = {.node_size = node_size};
    struct lc__rtree *tree = NULL;
    struct lc__errbuf err = {0};

    int status = lc__rtree_build(boxes, n, &opts, &tree, &err);
    LC_ASSERT_EQ(status, LC_OK);
    if (status != LC_OK) {
        fprintf(stderr, "%s: %s\n", label, err.msg);
        return;
    }
    LC_ASSERT_UEQ(lc__rtree_nitems(tree), n);

    size_t *want = malloc((n + 1) * sizeof(size_t));
    struct seen seen = {malloc((n + 1) * sizeof(size_t)), 0, n + 1};
    struct lc__rtree_hits hits = {0};
    size_t total = 0;
    for (size_t i = 0; i < nqueries; i++) {
        double q[4];
        make_query(q);
        size_t nwant = brute_query(boxes, n, q, want);
        total += nwant;

        status = lc__rtree_query(tree, q, &hits, &err);
        LC_ASSERT_EQ(status, LC_OK);
        if (hits.count != nwant ||
            (nwant > 0 &&
             memcmp(hits.items, want, nwant * sizeof(size_t)) != 0))
            report_mismatch("lc__rtree_query", n, node_size, q, hits.count,
                            nwant);

        /* The callback form: the same set, each item once. */
        seen.count = 0;
        status = lc__rtree_search(tree, q, record_hit, &seen, &err);
        LC_ASSERT_EQ(status, LC_OK);
        qsort(seen.items, seen.count, sizeof(size_t), cmp_size);
        if (seen.count != nwant ||
            (nwant > 0 &&
             memcmp(seen.items, want, nwant * sizeof(size_t)) != 0))
            report_mismatch("lc__rtree_search", n, node_size, q, seen.count,
                            nwant);
    }
    printf("%s: n=%zu node_size=%zu: %zu queries, %zu hits, %zu bytes\n", label,
           n, node_size, nqueries, total, lc__rtree_nbytes(tree));
    lc__rtree_hits_free(tree, &hits);
    LC_ASSERT_TRUE(hits.items == NULL && hits.cap == 0);
    lc__rtree_free(tree);
    free(seen.items);
    free(want);
}

static void test_random_trees(void)
{
    static const struct {
        size_t n;
        size_t nqueries;
        size_t node_sizes[6];
    } cases[] = {
        {0, 50, {2, 16}},
        {1, 200, {2, 16, 1024}},
        {2, 200, {2, 3, 16}},
        {3, 200, {2, 16}},
        {15, 300, {2, 4, 16}},
        {16, 300, {2, 16}},
        {17, 300, {2, 16, 17}},
        {257, 300, {2, 16, 256}},
        {1000, 400, {2, 3, 4, 16, 64, 1024}},
        {10000, 300, {2, 9, 16, 100}},
        {200000, 60, {16, 5}},
    };

    make_centres();
    for (size_t c = 0; c < LC_ARRAY_SIZE(cases); c++) {
        size_t n = cases[c].n;
        double *boxes = malloc((4 * n + 1) * sizeof(double));
        for (size_t i = 0; i < n; i++)
            make_item(boxes + 4 * i);
        for (size_t k = 0; k < 6 && cases[c].node_sizes[k] != 0; k++)
            check_tree(boxes, n, cases[c].node_sizes[k], cases[c].nqueries,
                       "random");
        free(boxes);
    }
}

/* Special layouts: every item the same box (an extent of zero width), all
 * on one line, all points on the antimeridian, sorted and reversed runs. */
static void test_degenerate_layouts(void)
{
    size_t n = 3000;
    double *boxes = malloc(4 * n * sizeof(double));

    for (size_t i = 0; i < n; i++) {
        boxes[4 * i + 0] = 10.0;
        boxes[4 * i + 1] = 20.0;
        boxes[4 * i + 2] = 10.0;
        boxes[4 * i + 3] = 20.0;
    }
    check_tree(boxes, n, 16, 200, "same point");
    for (size_t i = 0; i < n; i++) {
        boxes[4 * i + 0] = -180.0 + (double)(i % 360);
        boxes[4 * i + 1] = 5.0;
        boxes[4 * i + 2] = boxes[4 * i + 0] + 1.0;
        boxes[4 * i + 3] = 5.0;
    }
    check_tree(boxes, n, 8, 200, "one line");
    for (size_t i = 0; i < n; i++) {
        boxes[4 * i + 0] = (i & 1) ? 180.0 : -180.0;
        boxes[4 * i + 1] = (double)(i % 180) - 90.0;
        boxes[4 * i + 2] = boxes[4 * i + 0];
        boxes[4 * i + 3] = boxes[4 * i + 1];
    }
    check_tree(boxes, n, 4, 300, "antimeridian points");
    for (size_t i = 0; i < n; i++) {
        double x = 179.0 - (double)i / 16.0;
        boxes[4 * i + 0] = x;
        boxes[4 * i + 1] = -1.0;
        boxes[4 * i + 2] = -x;
        boxes[4 * i + 3] = 1.0;
    }
    check_tree(boxes, n, 16, 200, "nested crossing boxes");
    free(boxes);
}

/* Hand-written cases whose answers are known without brute force. */
static void expect_hits(const struct lc__rtree *tree, double minx, double miny,
                        double maxx, double maxy, const size_t *want,
                        size_t nwant)
{
    struct lc__rtree_hits hits = {0};
    double q[4] = {minx, miny, maxx, maxy};

    LC_ASSERT_EQ(lc__rtree_query(tree, q, &hits, NULL), LC_OK);
    LC_ASSERT_UEQ(hits.count, nwant);
    if (hits.count == nwant && nwant > 0)
        LC_ASSERT_MEM_EQ(hits.items, want, nwant * sizeof(size_t));
    else if (hits.count != nwant)
        fprintf(stderr, "  (query %g %g %g %g)\n", minx, miny, maxx, maxy);
    lc__rtree_hits_free(tree, &hits);
}

static void test_known_answers(void)
{
    static const double boxes[] = {
        170.0,  -10.0, -170.0, 10.0,  /* 0: crosses the antimeridian */
        -10.0,  -10.0, 10.0,   10.0,  /* 1: around (0, 0) */
        175.0,  20.0,  185.0,  30.0,  /* 2: unwrapped east */
        -185.0, 40.0,  -175.0, 50.0,  /* 3: unwrapped west */
        180.0,  -60.0, 180.0,  -60.0, /* 4: point on the antimeridian */
        -180.0, 60.0,  180.0,  70.0,  /* 5: every longitude */
        5.0,    5.0,   5.0,    5.0,   /* 6: a point inside item 1 */
    };
    struct lc__rtree *tree = NULL;

    LC_ASSERT_EQ(lc__rtree_build(boxes, 7, NULL, &tree, NULL), LC_OK);
    if (tree == NULL)
        return;
    expect_hits(tree, 175.0, -1.0, 176.0, 1.0, (size_t[]){0}, 1);
    expect_hits(tree, -176.0, -1.0, -175.0, 1.0, (size_t[]){0}, 1);
    expect_hits(tree, -169.0, -1.0, 169.0, 1.0, (size_t[]){1}, 1);
    expect_hits(tree, -170.0, -1.0, 170.0, 1.0, (size_t[]){0, 1}, 2);
    /* A crossing query meets the crossing item once, not twice. */
    expect_hits(tree, 179.0, -90.0, -179.0, 90.0, (size_t[]){0, 2, 3, 4, 5}, 5);
    expect_hits(tree, -178.0, 25.0, -178.0, 25.0, (size_t[]){2}, 1);
    expect_hits(tree, 178.0, 45.0, 178.0, 45.0, (size_t[]){3}, 1);
    expect_hits(tree, -180.0, -60.0, -180.0, -60.0, (size_t[]){4}, 1);
    expect_hits(tree, 540.0, -60.0, 540.0, -60.0, (size_t[]){4}, 1);
    expect_hits(tree, 0.0, 65.0, 0.0, 65.0, (size_t[]){5}, 1);
    expect_hits(tree, 5.0, 5.0, 5.0, 5.0, (size_t[]){1, 6}, 2);
    expect_hits(tree, 5.0, 5.0, 365.0, 5.0, (size_t[]){0, 1, 6}, 3);
    expect_hits(tree, 10.0, 10.0, 10.0, 10.0, (size_t[]){1}, 1);
    expect_hits(tree, 10.0, 10.000001, 10.0, 11.0, NULL, 0);
    expect_hits(tree, -INFINITY, -INFINITY, INFINITY, INFINITY,
                (size_t[]){0, 1, 2, 3, 4, 5, 6}, 7);
    expect_hits(tree, -1.0, -INFINITY, 1.0, -11.0, NULL, 0);
    lc__rtree_free(tree);
}

static int stop_after_one(void *opaque, size_t item)
{
    size_t *calls = opaque;
    (void)item;
    (*calls)++;
    return 1;
}

static int fail_at_once(void *opaque, size_t item)
{
    (void)opaque;
    (void)item;
    return LC_ECANCELLED;
}

static int count_calls(void *opaque, size_t item)
{
    size_t *calls = opaque;
    (void)item;
    (*calls)++;
    return 0;
}

static void test_errors(void)
{
    double good[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    double bad[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    struct lc__errbuf err = {0};

    /* A failed build sets *tree_ret to NULL, whatever it held. */
    struct lc__rtree *keep = NULL;
    LC_ASSERT_EQ(lc__rtree_build(good, 2, NULL, &keep, NULL), LC_OK);
    struct lc__rtree *tree = keep;

    /* Bad items: NaN, infinities, inverted latitude. */
    for (size_t k = 0; k < 4; k++) {
        memcpy(bad, good, sizeof(bad));
        bad[4 + k] = NAN;
        tree = keep;
        LC_ASSERT_EQ(lc__rtree_build(bad, 2, NULL, &tree, &err), LC_EINVAL);
        LC_ASSERT_TRUE(tree == NULL);
        LC_ASSERT_TRUE(strstr(err.msg, "item 1") != NULL);
        bad[4 + k] = (k & 1) ? -INFINITY : INFINITY;
        LC_ASSERT_EQ(lc__rtree_build(bad, 2, NULL, &tree, NULL), LC_EINVAL);
    }
    memcpy(bad, good, sizeof(bad));
    bad[1] = 2.0;
    LC_ASSERT_EQ(lc__rtree_build(bad, 2, NULL, &tree, &err), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(err.msg, "miny") != NULL);
    LC_ASSERT_EQ(lc__rtree_build(NULL, 2, NULL, &tree, NULL), LC_EINVAL);
    LC_ASSERT_EQ(
        lc__rtree_build(good, LC__RTREE_MAX_ITEMS + 1, NULL, &tree, NULL),
        LC_ELIMIT);
    lc__rtree_free(keep);

    /* Node sizes. */
    struct lc__rtree_options opts = {.node_size = 1};
    LC_ASSERT_EQ(lc__rtree_build(good, 2, &opts, &tree, NULL), LC_EINVAL);
    opts.node_size = LC__RTREE_MAX_NODE_SIZE + 1;
    LC_ASSERT_EQ(lc__rtree_build(good, 2, &opts, &tree, NULL), LC_EINVAL);
    opts.node_size = LC__RTREE_MAX_NODE_SIZE;
    LC_ASSERT_EQ(lc__rtree_build(good, 2, &opts, &tree, NULL), LC_OK);
    lc__rtree_free(tree);

    /* n = 0 with NULL boxes is an empty tree; bad queries still fail. */
    LC_ASSERT_EQ(lc__rtree_build(NULL, 0, NULL, &tree, NULL), LC_OK);
    double everything[4] = {-INFINITY, -INFINITY, INFINITY, INFINITY};
    struct lc__rtree_hits hits = {0};
    LC_ASSERT_EQ(lc__rtree_query(tree, everything, &hits, NULL), LC_OK);
    LC_ASSERT_UEQ(hits.count, 0);
    double nanq[4] = {0, NAN, 1, 1};
    LC_ASSERT_EQ(lc__rtree_query(tree, nanq, &hits, NULL), LC_EINVAL);
    lc__rtree_hits_free(tree, &hits);
    lc__rtree_free(tree);

    /* Bad queries: the callback is never called. */
    LC_ASSERT_EQ(lc__rtree_build(good, 2, NULL, &tree, NULL), LC_OK);
    static const double bad_queries[][4] = {
        {NAN, 0, 1, 1},       {0, NAN, 1, 1},
        {0, 0, NAN, 1},       {0, 0, 1, NAN},
        {0, 2, 1, 1},         {INFINITY, 0, 1, 1},
        {0, 0, -INFINITY, 1}, {INFINITY, 0, INFINITY, 1},
    };
    for (size_t i = 0; i < LC_ARRAY_SIZE(bad_queries); i++) {
        size_t calls = 0;
        LC_ASSERT_EQ(
            lc__rtree_search(tree, bad_queries[i], count_calls, &calls, &err),
            LC_EINVAL);
        LC_ASSERT_UEQ(calls, 0);
        hits.count = 99;
        LC_ASSERT_EQ(lc__rtree_query(tree, bad_queries[i], &hits, NULL),
                     LC_EINVAL);
        LC_ASSERT_UEQ(hits.count, 0);
    }

    /* A callback stops the search with its value. */
    size_t calls = 0;
    LC_ASSERT_EQ(
        lc__rtree_search(tree, everything, stop_after_one, &calls, NULL), 1);
    LC_ASSERT_UEQ(calls, 1);
    LC_ASSERT_EQ(lc__rtree_search(tree, everything, fail_at_once, NULL, NULL),
                 LC_ECANCELLED);
    lc__rtree_hits_free(tree, &hits);
    lc__rtree_free(tree);
    lc__rtree_free(NULL);
    lc__rtree_hits_free(NULL, NULL);
}

/* Coordinates far outside lon/lat ranges still build a working tree. */
static void test_extreme_coordinates(void)
{
    static const double boxes[] = {
        -1e300, -1e300, -1e300, -1e300, 1e300, 1e300, 1e300, 1e300, -1e308, 0.0,
        1e308,  1.0,    0.0,    -1e308, 0.0,   1e308, 1e10,  5.0,   -1e10,  6.0,
    };
    struct lc__rtree *tree = NULL;

    LC_ASSERT_EQ(lc__rtree_build(boxes, 5, NULL, &tree, NULL), LC_OK);
    if (tree == NULL)
        return;
    expect_hits(tree, -INFINITY, -INFINITY, INFINITY, INFINITY,
                (size_t[]){0, 1, 2, 3, 4}, 5);
    expect_hits(tree, -INFINITY, 0.5, INFINITY, 0.5, (size_t[]){2, 3}, 2);
    lc__rtree_free(tree);
}

/* ---- Hilbert curve --------------------------------------------------------
 */

/* The textbook algorithm (Wikipedia, "Hilbert curve", xy2d). */
static uint32_t hilbert_reference(uint32_t x, uint32_t y)
{
    uint32_t d = 0;
    for (uint32_t s = 1u << 15; s > 0; s >>= 1) {
        uint32_t rx = (x & s) > 0;
        uint32_t ry = (y & s) > 0;
        d += s * s * ((3 * rx) ^ ry);
        if (ry == 0) {
            if (rx == 1) {
                x = 65535 - x;
                y = 65535 - y;
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
    }
    return d;
}

static uint32_t hilbert1(uint32_t x, uint32_t y)
{
    uint32_t d;
    lc__rtree_hilbert(&x, &y, &d, 1);
    return d;
}

static void test_hilbert(void)
{
    /* Many points at once (the block loop and its tail), then one. */
    enum { N = 1000003 };
    uint32_t *xs = malloc(N * sizeof(uint32_t));
    uint32_t *ys = malloc(N * sizeof(uint32_t));
    uint32_t *ds = malloc(N * sizeof(uint32_t));
    for (size_t i = 0; i < N; i++) {
        xs[i] = (uint32_t)(rng_next() & 0xffff);
        ys[i] = (uint32_t)(rng_next() & 0xffff);
        if (i < 4) {
            xs[i] = (i & 1) ? 65535 : 0;
            ys[i] = (i & 2) ? 65535 : 0;
        }
    }
    lc__rtree_hilbert(xs, ys, ds, N);
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
        uint32_t want = hilbert_reference(xs[i], ys[i]);
        if (ds[i] != want && bad++ < 5)
            LC_CHECK_FAIL_("hilbert(%u, %u) = %u, reference %u", xs[i], ys[i],
                           ds[i], want);
    }
    LC_ASSERT_UEQ(bad, 0);
    free(xs);
    free(ys);
    free(ds);
    LC_ASSERT_UEQ(hilbert1(0, 0), 0);
    LC_ASSERT_UEQ(hilbert1(65535, 0), UINT32_MAX);
    LC_ASSERT_UEQ(hilbert1(12345, 54321), hilbert_reference(12345, 54321));

    /* The first 4^8 steps fill the 256 x 256 corner, one cell each, every
     * step to a neighbouring cell: the locality the tree relies on. */
    enum { S = 256 };
    static uint32_t cell_of[S * S];
    static bool filled[S * S];
    for (uint32_t y = 0; y < S; y++) {
        for (uint32_t x = 0; x < S; x++) {
            uint32_t d = hilbert1(x, y);
            LC_ASSERT_TRUE(d < S * S);
            if (d < S * S) {
                LC_ASSERT_TRUE(!filled[d]);
                filled[d] = true;
                cell_of[d] = y * S + x;
            }
        }
    }
    size_t jumps = 0;
    for (uint32_t d = 1; d < S * S; d++) {
        int dx = (int)(cell_of[d] % S) - (int)(cell_of[d - 1] % S);
        int dy = (int)(cell_of[d] / S) - (int)(cell_of[d - 1] / S);
        if (abs(dx) + abs(dy) != 1)
            jumps++;
    }
    LC_ASSERT_UEQ(jumps, 0);
}

/* ---- allocation failures --------------------------------------------------
 */

/*
 * For N = 0, 1, 2...: build a tree whose Nth allocation fails, then run
 * queries that grow a hit list up to every item (and its sort scratch).
 * Each run must succeed or fail with LC_ENOMEM and leave nothing
 * allocated once the list and tree are freed. The tree itself must be one
 * allocation.
 */
static void test_alloc_failures(void)
{
    size_t n = 5000;
    double *boxes = malloc(4 * n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        make_item(boxes + 4 * i);
    static const double queries[][4] = {
        {0.0, 0.0, 0.0, 0.0},
        {-10.0, -10.0, 10.0, 10.0},
        {-INFINITY, -INFINITY, INFINITY, INFINITY},
    };

    size_t k;
    for (k = 0; k < 1000; k++) {
        struct lc_test_failing f = {.fail_at = k};
        struct lc__rtree_options opts = {
            .allocator = {lc_test_failing_alloc, lc_test_failing_free, &f}};
        struct lc__rtree *tree = NULL;
        struct lc__errbuf err = {0};
        int status = lc__rtree_build(boxes, n, &opts, &tree, &err);
        if (status == LC_OK) {
            LC_ASSERT_UEQ(f.live, 1);
            struct lc__rtree_hits hits = {0};
            for (size_t i = 0; i < LC_ARRAY_SIZE(queries) && status == LC_OK;
                 i++) {
                status = lc__rtree_query(tree, queries[i], &hits, &err);
                if (status != LC_OK)
                    LC_ASSERT_UEQ(hits.count, 0);
            }
            lc__rtree_hits_free(tree, &hits);
            lc__rtree_free(tree);
        } else {
            LC_ASSERT_TRUE(tree == NULL);
        }
        if (f.live != 0)
            LC_CHECK_FAIL_("failing allocation %zu leaves %zu blocks", k,
                           f.live);
        if (status == LC_OK)
            break;
        if (status != LC_ENOMEM) {
            LC_CHECK_FAIL_("failing allocation %zu gave %s (%s)", k,
                           lc_err_name(status), err.msg);
            break;
        }
        LC_ASSERT_TRUE(err.msg[0] != '\0');
    }
    printf("allocation failures: %zu handled\n", k);
    LC_ASSERT_TRUE(k > 3 && k < 1000);
    free(boxes);
}

int main(void)
{
    test_hilbert();
    test_known_answers();
    test_errors();
    test_extreme_coordinates();
    test_degenerate_layouts();
    test_alloc_failures();
    test_random_trees();
    LC_TEST_END();
}
