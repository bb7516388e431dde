/* test_stac_parquet.c - STAC items from stac-geoparquet: the real
 * catalogues of shared/realdata, pushdown, max_items, allocation failures.
 */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <math.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "../../src/common/isotime.h"
#include "../../src/stac/items_internal.h"
#include "parquet_glue.h"
#include "test_util.h"

/*
 * Usage:
 *   test_stac_parquet [REALDATA_STAC_DIR]
 *       the checks below; those on real files are skipped when the folder
 *       is absent;
 *   test_stac_parquet count PATH [--bbox W,S,E,N] [--datetime INTERVAL]
 *                              [--max-items N]
 *       prints "loaded N" (the rows the loader read, after pushdown and
 *       max_items) for tests/python/test_stac_parquet_oracle.py; exit 1
 *       with "LC_E...: message" on stderr when the load fails.
 *
 * The expected counts of the real files are those of SOURCES.md (written
 * from the files' footers by other tools).
 */

static int open_dataset(const char *path, struct lc__parquet_dataset **ds,
                        struct lc__errbuf *err)
{
    struct lc__parquet_opener opener = lc_glue_opener();
    return lc__parquet_dataset_open(path, &opener, NULL, NULL, ds, err);
}

static struct lc__stac_items *load(const char *path,
                                   const struct lc__stac_load_options *opts)
{
    struct lc__parquet_dataset *ds = NULL;
    struct lc__stac_items *t = NULL;
    struct lc__errbuf err = {0};
    int rc = open_dataset(path, &ds, &err);
    if (rc == LC_OK)
        rc = lc__stac_items_from_parquet(ds, opts, &t, &err);
    if (rc != LC_OK)
        LC_CHECK_FAIL_("%s: %s (%s)", path, lc_err_name(rc), err.msg);
    lc__parquet_dataset_close(ds);
    return t;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* a contains b, up to float rounding of the writer. */
static bool env_contains(const struct lc__envelope *a,
                         const struct lc__envelope *b)
{
    double eps = 1e-6;
    return a->minx <= b->minx + eps && a->miny <= b->miny + eps &&
           a->maxx >= b->maxx - eps && a->maxy >= b->maxy - eps;
}

/* Invariants every real catalogue meets. */
static void check_table(const char *path, const struct lc__stac_items *t,
                        size_t want_count)
{
    LC_ASSERT_UEQ(t->count, want_count);
    for (size_t i = 0; i < t->count; i++) {
        if (t->ids[i] == NULL || t->ids[i][0] == '\0')
            LC_CHECK_FAIL_("%s: item %zu has no id", path, i);
        if (t->datetime[i] == LC__STAC_NO_TIME &&
            t->start_datetime[i] == LC__STAC_NO_TIME)
            LC_CHECK_FAIL_("%s: item %s has no time", path, t->ids[i]);
        /* STAC items of 1990..2030. */
        int64_t dt = t->datetime[i] != LC__STAC_NO_TIME ? t->datetime[i]
                                                        : t->start_datetime[i];
        if (dt < INT64_C(631152000000000) || dt > INT64_C(1893456000000000))
            LC_CHECK_FAIL_("%s: item %s datetime %" PRId64, path, t->ids[i],
                           dt);
        if (t->geometry[i] == NULL) {
            LC_CHECK_FAIL_("%s: item %s has no geometry", path, t->ids[i]);
            continue;
        }
        struct lc__envelope g;
        lc__geom_envelope(t->geometry[i], &g);
        if (!env_contains(&t->bbox[i], &g))
            LC_CHECK_FAIL_("%s: item %s: bbox [%g %g %g %g] misses geometry "
                           "[%g %g %g %g]",
                           path, t->ids[i], t->bbox[i].minx, t->bbox[i].miny,
                           t->bbox[i].maxx, t->bbox[i].maxy, g.minx, g.miny,
                           g.maxx, g.maxy);
    }
}

/* x is pruned only when no item of the row group can cross the
 * antimeridian: here 4 mosaic tiles in x [-123.0003, -121.7272], y
 * [44.246, 45.154] (from their statistics, written by parquet-rs). */
static void test_antimeridian(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rustac/sentinel-1-global-mosaics.parquet",
             dir);
    if (!is_file(path))
        return;
    static const struct {
        struct lc__envelope box;
        size_t count;
    } cases[] = {
        {{170, 44, -121, 46}, 4},       /* x >= 170 or x <= -121 */
        {{170, 44, -125, 46}, 0},       /* x >= 170 or x <= -125 */
        {{-121.8, 44, -123.5, 46}, 4},  /* x >= -121.8 or x <= -123.5 */
        {{-121.5, 44, -123.5, 46}, 0},  /* x >= -121.5 or x <= -123.5 */
        {{-122, 44, -121, 46}, 4},      /* plain */
        {{-10, 44, 10, 46}, 0},         /* plain, elsewhere */
        {{-122.5, 50, -122, 60}, 0},    /* north of them */
        {{-122.5, -60, -122, 44.2}, 0}, /* south of them */
    };
    for (size_t c = 0; c < LC_ARRAY_SIZE(cases); c++) {
        struct lc__stac_load_options o = {.has_bbox = true,
                                          .bbox = cases[c].box};
        struct lc__stac_items *t = load(path, &o);
        if (t != NULL && t->count != cases[c].count)
            LC_CHECK_FAIL_("box %zu: %zu items, expected %zu", c, t->count,
                           cases[c].count);
        lc__stac_items_free(t);
    }
}

/* Whether bbox b (xmin > xmax: crossing the antimeridian, covering x >=
 * xmin and x <= xmax) meets box q (split at the antimeridian). */
static bool bbox_meets(const struct lc__envelope *b,
                       const struct lc__envelope *q)
{
    if (b->miny > q->maxy || b->maxy < q->miny)
        return false;
    double qx[2][2] = {{q->minx, q->maxx}, {q->minx, q->maxx}};
    if (q->minx > q->maxx) {
        qx[0][1] = 180;
        qx[1][0] = -180;
    }
    for (int k = 0; k < 2; k++) {
        bool x = b->minx <= b->maxx
                     ? b->minx <= qx[k][1] && qx[k][0] <= b->maxx
                     : qx[k][1] >= b->minx || qx[k][0] <= b->maxx;
        if (x)
            return true;
    }
    return false;
}

/*
 * The row-level pushdown of o (bbox, datetime, max_items) on path: the
 * items loaded are, in order, those of a load without pushdown whose bbox
 * meets the box and whose time the query's interval (the first max_items
 * of them), and lc__stac_items_filter selects the same items from both.
 */
static void check_pushdown(const char *path,
                           const struct lc__stac_load_options *o)
{
    struct lc__stac_items *all = load(path, NULL);
    struct lc__stac_items *some = load(path, o);
    if (all == NULL || some == NULL) {
        lc__stac_items_free(all);
        lc__stac_items_free(some);
        return;
    }
    struct lc__stac_query q = {.has_bbox = o->has_bbox,
                               .bbox = o->bbox,
                               .has_datetime = o->has_datetime,
                               .start_us = o->start_us,
                               .end_us = o->end_us};
    struct lc__stac_query q_time = {.has_datetime = o->has_datetime,
                                    .start_us = o->start_us,
                                    .end_us = o->end_us};
    size_t *time_ok = NULL, ntime = 0, *sel_all = NULL, nall = 0;
    size_t *sel_some = NULL, nsome = 0;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(
        lc__stac_items_filter(all, &q_time, NULL, &time_ok, &ntime, &err),
        LC_OK);
    LC_ASSERT_EQ(lc__stac_items_filter(all, &q, NULL, &sel_all, &nall, &err),
                 LC_OK);
    LC_ASSERT_EQ(lc__stac_items_filter(some, &q, NULL, &sel_some, &nsome, &err),
                 LC_OK);
    size_t want = 0;
    for (size_t k = 0; k < ntime; k++) {
        size_t i = time_ok[k];
        if (o->max_items > 0 && want == o->max_items)
            break;
        if (o->has_bbox && !bbox_meets(&all->bbox[i], &o->bbox))
            continue;
        if (want < some->count && strcmp(some->ids[want], all->ids[i]) != 0)
            LC_CHECK_FAIL_("%s: loaded item %zu is %s, expected %s", path, want,
                           some->ids[want], all->ids[i]);
        want++;
    }
    LC_ASSERT_UEQ(some->count, want);
    if (o->max_items == 0) {
        LC_ASSERT_UEQ(nsome, nall);
        for (size_t k = 0; k < nsome && k < nall; k++)
            LC_ASSERT_STR_EQ(some->ids[sel_some[k]], all->ids[sel_all[k]]);
    }
    free(time_ok);
    free(sel_all);
    free(sel_some);
    lc__stac_items_free(all);
    lc__stac_items_free(some);
}

/* The first k items of a max_items load equal those of a whole load:
 * ids, times, bboxes, footprints and every asset's href and roles. The
 * loader stops decoding pages after the last row it keeps (flat and
 * repeated columns), so this checks what it kept is not cut short. */
static void check_head(const char *path, size_t k)
{
    struct lc__stac_load_options o = {.max_items = k};
    struct lc__stac_items *all = load(path, NULL);
    struct lc__stac_items *head = load(path, &o);
    if (all != NULL && head != NULL) {
        size_t n = all->count < k ? all->count : k;
        LC_ASSERT_UEQ(head->count, n);
        LC_ASSERT_UEQ(head->nassets, all->nassets);
        for (size_t i = 0; i < n && i < head->count; i++) {
            LC_ASSERT_STR_EQ(head->ids[i], all->ids[i]);
            LC_ASSERT_TRUE(head->datetime[i] == all->datetime[i]);
            LC_ASSERT_MEM_EQ(&head->bbox[i], &all->bbox[i],
                             sizeof head->bbox[i]);
            LC_ASSERT_TRUE((head->geometry[i] == NULL) ==
                           (all->geometry[i] == NULL));
            for (size_t a = 0; a < all->nassets && a < head->nassets; a++) {
                const struct lc__stac_asset *x =
                    &head->assets[i * head->nassets + a];
                const struct lc__stac_asset *y =
                    &all->assets[i * all->nassets + a];
                LC_ASSERT_TRUE((x->href == NULL) == (y->href == NULL));
                if (x->href != NULL && y->href != NULL)
                    LC_ASSERT_STR_EQ(x->href, y->href);
                LC_ASSERT_UEQ(x->nroles, y->nroles);
            }
        }
    }
    lc__stac_items_free(all);
    lc__stac_items_free(head);
}

static void test_realdata(const char *dir)
{
    static const struct {
        const char *name;
        size_t count;
    } files[] = {
        {"rustac/100-landsat-items.parquet", 100},
        {"rustac/100-sentinel-2-items.parquet", 100},
        {"rustac/1000-sentinel-2-items.parquet", 1000},
        {"rustac/extended-item.parquet", 1},
        {"rustac/opr-one.parquet", 1},
        {"rustac/sentinel-1-global-mosaics.parquet", 4},
        {"stac-geoparquet/naip.parquet", 5},
    };
    char path[4096];
    for (size_t f = 0; f < LC_ARRAY_SIZE(files); f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f].name);
        if (!is_file(path)) {
            fprintf(stderr, "skipped (absent): %s\n", path);
            continue;
        }
        struct lc__stac_items *t = load(path, NULL);
        if (t == NULL)
            continue;
        check_table(path, t, files[f].count);
        check_head(path, 1);
        check_head(path, 3);
        /* Every asset key of the schema, in order; items have hrefs. */
        struct lc__parquet_dataset *ds = NULL;
        struct lc__errbuf err = {0};
        if (open_dataset(path, &ds, &err) == LC_OK) {
            const struct lc__parquet_file *pf = lc__parquet_dataset_file(ds, 0);
            size_t node;
            if (lc__parquet_find_node(pf, "assets", &node) == LC_OK) {
                const struct lc__parquet_node *an = lc__parquet_node(pf, node);
                LC_ASSERT_UEQ(t->nassets, an->nchildren);
                for (size_t k = 0; k < t->nassets && k < an->nchildren; k++)
                    LC_ASSERT_STR_EQ(
                        t->asset_keys[k],
                        lc__parquet_node(pf, an->children[k])->name);
            }
        }
        lc__parquet_dataset_close(ds);
        size_t hrefs = 0;
        for (size_t r = 0; r < t->count * t->nassets; r++)
            hrefs += t->assets[r].href != NULL;
        LC_ASSERT_TRUE(hrefs >= t->count);
        lc__stac_items_free(t);
    }

    /* The old layout: bbox a list of doubles, equal to the footprint's
     * envelope. */
    snprintf(path, sizeof path, "%s/stac-geoparquet/naip.parquet", dir);
    if (is_file(path)) {
        struct lc__stac_items *t = load(path, NULL);
        for (size_t i = 0; t != NULL && i < t->count; i++) {
            struct lc__envelope g;
            lc__geom_envelope(t->geometry[i], &g);
            LC_ASSERT_TRUE(fabs(g.minx - t->bbox[i].minx) < 1e-6 &&
                           fabs(g.maxy - t->bbox[i].maxy) < 1e-6);
        }
        lc__stac_items_free(t);
    }

    /* Timestamps as times, structs as JSON, booleans inside them. */
    snprintf(path, sizeof path, "%s/rustac/sentinel-1-global-mosaics.parquet",
             dir);
    if (is_file(path)) {
        const char *f[] = {"created", "_private", "gsd"};
        struct lc__stac_load_options o = {.fields = f, .nfields = 3};
        struct lc__stac_items *t = load(path, &o);
        for (size_t i = 0; t != NULL && i < t->count; i++) {
            const struct lc__cql2_value *v = &t->fields[i * 3];
            LC_ASSERT_EQ(v[0].type, LC__CQL2_TTIMESTAMP);
            LC_ASSERT_TRUE(v[0].us > INT64_C(1577836800000000)); /* 2020 */
            LC_ASSERT_EQ(v[1].type, LC__CQL2_TJSON);
            LC_ASSERT_TRUE(v[1].len > 0 && v[1].str[0] == '{' &&
                           (strstr(v[1].str, "\"visible\":true") != NULL ||
                            strstr(v[1].str, "\"visible\":false") != NULL));
            LC_ASSERT_TRUE(v[2].type == LC__CQL2_TNUMBER && v[2].is_int);
        }
        lc__stac_items_free(t);
    }

    snprintf(path, sizeof path, "%s/rustac/1000-sentinel-2-items.parquet", dir);
    if (!is_file(path))
        return;
    /* A key no item has, and a real one; properties of several types. */
    const char *keys[] = {"no-such-asset", "B04"};
    const char *fields[] = {"eo:cloud_cover",
                            "properties.platform",
                            "sat:relative_orbit",
                            "instruments",
                            "links",
                            "nothing",
                            "datetime"};
    struct lc__stac_load_options o = {
        .assets = keys,
        .nassets = 2,
        .fields = fields,
        .nfields = LC_ARRAY_SIZE(fields),
        .max_items = 10,
    };
    struct lc__stac_items *t = load(path, &o);
    if (t != NULL) {
        LC_ASSERT_UEQ(t->count, 10);
        LC_ASSERT_UEQ(t->nassets, 2);
        LC_ASSERT_UEQ(t->nfields, 6); /* datetime is not a field */
        for (size_t i = 0; i < t->count; i++) {
            const struct lc__stac_asset *none = &t->assets[i * 2];
            const struct lc__stac_asset *b04 = &t->assets[i * 2 + 1];
            LC_ASSERT_TRUE(none->href == NULL && none->type == NULL &&
                           none->nroles == 0 && none->nbands == 0);
            LC_ASSERT_TRUE(b04->href != NULL &&
                           strstr(b04->href, "B04") != NULL);
            /* proj:epsg is an item property here: the fallback. */
            LC_ASSERT_TRUE(b04->epsg > 32600 && b04->epsg < 32661);
            LC_ASSERT_TRUE(b04->proj_code != NULL &&
                           strncmp(b04->proj_code, "EPSG:326", 8) == 0);
            LC_ASSERT_TRUE(b04->has_transform && b04->has_shape);
            LC_ASSERT_TRUE(b04->transform[0] == 10.0 && b04->shape[0] > 0);
            const struct lc__cql2_value *v = &t->fields[i * t->nfields];
            LC_ASSERT_EQ(v[0].type, LC__CQL2_TNUMBER);
            LC_ASSERT_TRUE(v[0].num >= 0 && v[0].num <= 100);
            LC_ASSERT_EQ(v[1].type, LC__CQL2_TSTRING);
            LC_ASSERT_TRUE(strncmp(v[1].str, "Sentinel-2", 10) == 0);
            LC_ASSERT_EQ(v[2].type, LC__CQL2_TNUMBER);
            LC_ASSERT_TRUE(v[2].is_int && v[2].i64 > 0 && v[2].i64 <= 143);
            LC_ASSERT_EQ(v[3].type, LC__CQL2_TARRAY);
            LC_ASSERT_TRUE(v[3].nitems == 1 &&
                           v[3].items[0].type == LC__CQL2_TSTRING &&
                           strcmp(v[3].items[0].str, "msi") == 0);
            LC_ASSERT_EQ(v[4].type, LC__CQL2_TJSON);
            LC_ASSERT_TRUE(v[4].len > 2 && v[4].str[0] == '[' &&
                           strstr(v[4].str, "\"rel\":") != NULL);
            LC_ASSERT_EQ(v[5].type, LC__CQL2_TNULL);
        }
        lc__stac_items_free(t);
    }

    /* Pushdown on a file of one row group. Its items are in Colorado and
     * neighbours (lat 36..42) in 2024; parquet-rs 52 wrote no null counts,
     * so the statistics prove nothing about the bbox (a row without bbox
     * would be matched by its geometry) and the row group is read, but
     * the rows' bboxes do: none is loaded. */
    struct lc__stac_load_options far = {.has_bbox = true,
                                        .bbox = {10, -60, 20, -50}};
    t = load(path, &far);
    LC_ASSERT_TRUE(t != NULL && t->count == 0);
    lc__stac_items_free(t);
    check_pushdown(path, &far);
    char path2[4096];
    snprintf(path2, sizeof path2, "%s/rustac/100-sentinel-2-items.parquet",
             dir);
    if (is_file(path2)) {
        t = load(path2, &far);
        LC_ASSERT_TRUE(t != NULL && t->count == 0);
        lc__stac_items_free(t);
        struct lc__stac_load_options near = {.has_bbox = true,
                                             .bbox = {-105, 39, -104, 40}};
        check_pushdown(path2, &near);
    }
    /* Boxes and intervals over the 1000 items, some with max_items. */
    struct lc__stac_load_options cases[] = {
        {.has_bbox = true, .bbox = {-106, 38, -104, 40}},
        {.has_bbox = true, .bbox = {-104.5, 39.5, -104.4, 39.6}},
        {.has_bbox = true, .bbox = {170, 36, -105, 42}}, /* antimeridian */
        {.has_datetime = true,
         .start_us = INT64_C(1721433600000000), /* 2024-07-20 */
         .end_us = INT64_C(1722902399000000)},  /* 2024-08-05T23:59:59 */
        {.has_bbox = true,
         .bbox = {-106, 38, -104, 40},
         .has_datetime = true,
         .start_us = INT64_C(1722470400000000), /* 2024-08-01 */
         .end_us = INT64_MAX},
        {.has_bbox = true, .bbox = {-106, 38, -104, 40}, .max_items = 7},
    };
    for (size_t c = 0; c < LC_ARRAY_SIZE(cases); c++)
        check_pushdown(path, &cases[c]);
    /* 2100 onwards, and everything up to 1990. */
    struct lc__stac_load_options later = {.has_datetime = true,
                                          .start_us = INT64_C(4102444800000000),
                                          .end_us = INT64_MAX};
    t = load(path, &later);
    LC_ASSERT_TRUE(t != NULL && t->count == 0);
    lc__stac_items_free(t);
    struct lc__stac_load_options before = {.has_datetime = true,
                                           .start_us = INT64_MIN,
                                           .end_us = INT64_C(631152000000000)};
    t = load(path, &before);
    LC_ASSERT_TRUE(t != NULL && t->count == 0);
    lc__stac_items_free(t);
    struct lc__stac_load_options open = {
        .has_datetime = true, .start_us = INT64_MIN, .end_us = INT64_MAX};
    t = load(path, &open);
    LC_ASSERT_TRUE(t != NULL && t->count == 1000);
    lc__stac_items_free(t);
}

/* ---- allocation failures --------------------------------------------------
 */

/* Counting atomically: the loader's threads allocate at once. */
struct failing {
    size_t fail_at;
    atomic_size_t nallocs;
    atomic_size_t live;
};

static void *failing_alloc(void *opaque, size_t nbytes)
{
    struct failing *f = opaque;
    if (atomic_fetch_add(&f->nallocs, 1) == f->fail_at)
        return NULL;
    void *p = malloc(nbytes);
    if (p != NULL)
        atomic_fetch_add(&f->live, 1);
    return p;
}

static void failing_free(void *opaque, void *ptr)
{
    struct failing *f = opaque;
    if (ptr != NULL)
        atomic_fetch_sub(&f->live, 1);
    free(ptr);
}

/* Loads ds with each allocation in turn failing (o's allocator replaced):
 * each load either succeeds or fails with LC_ENOMEM, and frees all it
 * took. */
static void each_allocation_fails(struct lc__parquet_dataset *ds,
                                  const char *path,
                                  struct lc__stac_load_options o)
{
    struct lc__errbuf err = {0};
    size_t n;
    for (n = 0; n < 100000; n++) {
        struct failing f = {.fail_at = n};
        struct lc_allocator alloc = {failing_alloc, failing_free, &f};
        o.alloc = &alloc;
        struct lc__stac_items *t = NULL;
        int rc = lc__stac_items_from_parquet(ds, &o, &t, &err);
        lc__stac_items_free(t);
        if (atomic_load(&f.live) != 0)
            LC_CHECK_FAIL_("%s: failing allocation %zu leaves %zu blocks", path,
                           n, atomic_load(&f.live));
        if (rc == LC_OK)
            break;
        if (rc != LC_ENOMEM) {
            LC_CHECK_FAIL_("%s: failing allocation %zu gave %s (%s)", path, n,
                           lc_err_name(rc), err.msg);
            break;
        }
    }
    LC_ASSERT_TRUE(n > 5 && n < 100000);
}

/* Every allocation of the loader fails once, with requested fields. */
static void test_alloc_failures(const char *path)
{
    if (!is_file(path))
        return;
    struct lc__parquet_dataset *ds = NULL;
    struct lc__errbuf err = {0};
    if (open_dataset(path, &ds, &err) != LC_OK) {
        LC_CHECK_FAIL_("%s: %s", path, err.msg);
        return;
    }
    const char *fields[] = {"eo:cloud_cover", "instruments", "links"};
    const char *afields[] = {"title"};
    each_allocation_fails(ds, path,
                          (struct lc__stac_load_options){
                              .nthreads = 1,
                              .fields = fields,
                              .nfields = LC_ARRAY_SIZE(fields),
                              .asset_fields = afields,
                              .nasset_fields = 1,
                          });
    lc__parquet_dataset_close(ds);
}

/* Item i of tests/data/parquet/stac_big.parquet as written
 * (tools/make_parquet_fixtures.py write_stac_big). */
static void check_big_item(const struct lc__stac_items *t, size_t i)
{
    char want[64];
    snprintf(want, sizeof want, "item-%04zu", i);
    LC_ASSERT_STR_EQ(t->ids[i], want);
    const struct lc__geom *g = t->geometry[i];
    LC_ASSERT_TRUE(g != NULL && g->type == LC__GEOM_POLYGON && g->nseqs == 1);
    if (g == NULL || g->nseqs != 1)
        return;
    LC_ASSERT_EQ(g->seqs[0].npoints, 5 + i % 7);
    LC_ASSERT_TRUE(g->seqs[0].xy[0] == (double)i / 100 &&
                   g->seqs[0].xy[1] == 45.0);
    LC_ASSERT_TRUE(t->bbox[i].minx == (double)i / 100 &&
                   t->bbox[i].miny < 45.5 && t->bbox[i].maxy > 45.5);
    const char *keys[] = {"red", "green", "blue"};
    for (size_t k = 0; k < 3; k++) {
        const struct lc__stac_asset *a = &t->assets[i * t->nassets + k];
        snprintf(want, sizeof want, "s3://fixtures/item-%04zu/%s.tif", i,
                 keys[k]);
        LC_ASSERT_STR_EQ(a->href, want);
        LC_ASSERT_TRUE(a->nroles == 1 && strcmp(a->roles[0], "data") == 0);
    }
}

/*
 * A row group of 3000 items, which the loader fills on two threads (the
 * geometries and the last asset on the second): every value as written,
 * the same with one thread, and every allocation failing in turn with
 * threads (each load then succeeds or fails with LC_ENOMEM, freeing all).
 */
static void test_big_row_group(const char *path)
{
    struct lc__parquet_dataset *ds = NULL;
    struct lc__errbuf err = {0};
    if (open_dataset(path, &ds, &err) != LC_OK) {
        LC_CHECK_FAIL_("%s: %s", path, err.msg);
        return;
    }
    for (unsigned nthreads = 1; nthreads <= 2; nthreads++) {
        struct lc__stac_load_options o = {.nthreads = nthreads};
        struct lc__stac_items *t = NULL;
        LC_ASSERT_EQ(lc__stac_items_from_parquet(ds, &o, &t, &err), LC_OK);
        if (t == NULL)
            break;
        LC_ASSERT_EQ(t->count, 3000);
        LC_ASSERT_EQ(t->nassets, 3);
        for (size_t i = 0; i < t->count && t->count == 3000; i++)
            check_big_item(t, i);
        lc__stac_items_free(t);
    }
    each_allocation_fails(ds, path,
                          (struct lc__stac_load_options){.nthreads = 2});
    lc__parquet_dataset_close(ds);
}

static void test_bad_arguments(void)
{
    struct lc__stac_items *t = (struct lc__stac_items *)&t;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__stac_items_from_parquet(NULL, NULL, &t, &err), LC_EINVAL);
    struct lc__parquet_dataset *ds = NULL;
    LC_ASSERT_EQ(open_dataset("/nonexistent/items.parquet", &ds, &err) < 0, 1);
}

/* ---- count mode -------------------------------------------------------------
 */

static int count_mode(int argc, char **argv)
{
    struct lc__stac_load_options o = {0};
    const char *path = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--bbox") == 0 && i + 1 < argc) {
            struct lc__envelope *b = &o.bbox;
            if (sscanf(argv[++i], "%lf,%lf,%lf,%lf", &b->minx, &b->miny,
                       &b->maxx, &b->maxy) != 4)
                return 2;
            o.has_bbox = true;
        } else if (strcmp(argv[i], "--datetime") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            struct lc__isotime s, e;
            bool has_s = false, has_e = false;
            struct lc__errbuf err = {0};
            if (lc__isotime_parse_interval(v, strlen(v), &s, &has_s, &e, &has_e,
                                           &err) != LC_OK) {
                fprintf(stderr, "%s\n", err.msg);
                return 2;
            }
            o.has_datetime = true;
            o.start_us = has_s ? s.us : INT64_MIN;
            o.end_us = has_e ? e.us : INT64_MAX;
        } else if (strcmp(argv[i], "--max-items") == 0 && i + 1 < argc) {
            o.max_items = (size_t)strtoull(argv[++i], NULL, 10);
        } else {
            path = argv[i];
        }
    }
    if (path == NULL)
        return 2;
    struct lc__parquet_dataset *ds = NULL;
    struct lc__stac_items *t = NULL;
    struct lc__errbuf err = {0};
    int rc = open_dataset(path, &ds, &err);
    if (rc == LC_OK)
        rc = lc__stac_items_from_parquet(ds, &o, &t, &err);
    lc__parquet_dataset_close(ds);
    if (rc != LC_OK) {
        fprintf(stderr, "%s: %s\n", lc_err_name(rc), err.msg);
        return 1;
    }
    printf("loaded %zu\n", t->count);
    lc__stac_items_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "count") == 0)
        return count_mode(argc, argv);
    test_bad_arguments();
    if (argc > 2)
        test_big_row_group(argv[2]);
    if (argc > 1) {
        char path[4096];
        test_realdata(argv[1]);
        test_antimeridian(argv[1]);
        snprintf(path, sizeof path, "%s/rustac/100-landsat-items.parquet",
                 argv[1]);
        test_alloc_failures(path);
    }
    LC_TEST_END();
}
