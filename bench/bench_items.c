/* bench_items.c - open + filter + sort + index of a stac-geoparquet file. */
/* SPDX-License-Identifier: MIT */
/*
 * usage: bench_items FILE REPEATS W,S,E,N DATETIME FILTER SORTBY
 *
 * Times, per repeat, what `lazycogs.open()` does with a catalogue before
 * any pixel is read: load the columns the engine needs (id, times, bbox,
 * WKB footprints, the "red" asset's href/type/roles, the filter and sortby
 * fields), filter (bbox, datetime, CQL2), sort, and build the R-tree over
 * the selected items. Prints one JSON object with the best time of each
 * phase in milliseconds (bench/bench_items.py compares it with pyarrow and
 * DuckDB).
 */
#include "../src/common/common.h"

#include "../src/engine/catalog.h"
#include "../src/index/rtree.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(const char *what, int status, const struct lc__errbuf *err)
{
    fprintf(stderr, "bench_items: %s: %s: %s\n", what, lc_err_name(status),
            err->msg);
    return 1;
}

struct timing {
    double load, filter, sort, index;
    size_t loaded, selected;
};

static int run_once(const char *path, const struct lc__envelope *bbox,
                    const char *datetime, const char *filter,
                    const char *sortby, struct timing *t)
{
    struct lc__errbuf err = {0};
    struct lc__cql2 *tree = NULL;
    struct lc__stac_sortby *sort = NULL;
    struct lc__stac_items *items = NULL;
    size_t *order = NULL, count = 0;
    struct lc__rtree *rtree = NULL;
    double *boxes = NULL;
    int rc = 1;

    double t0 = now_ms();
    struct lc__stac_query q = {.has_bbox = true, .bbox = *bbox};
    int status =
        lc__catalog_parse_datetime(datetime, &q.start_us, &q.end_us, &err);
    q.has_datetime = true;
    if (status == LC_OK)
        status = lc__cql2_parse_text(filter, strlen(filter), NULL, &tree, NULL,
                                     &err);
    if (status == LC_OK)
        status =
            lc__stac_sortby_parse(sortby, strlen(sortby), NULL, &sort, &err);
    if (status < 0) {
        rc = fail("query", status, &err);
        goto out;
    }
    q.filter = tree;
    const char *fields[8];
    size_t nfields = 0;
    for (size_t i = 0; i < lc__cql2_property_count(tree) && nfields < 4; i++)
        fields[nfields++] = lc__cql2_property_name(tree, i);
    for (size_t i = 0; i < sort->nkeys && nfields < 8; i++)
        fields[nfields++] = sort->keys[i].field;
    const char *assets[] = {"red"};
    struct lc__stac_load_options opts = {
        .assets = assets,
        .nassets = 1,
        .fields = fields,
        .nfields = nfields,
        .has_bbox = true,
        .bbox = *bbox,
        .has_datetime = true,
        .start_us = q.start_us,
        .end_us = q.end_us,
    };
    status = lc__catalog_load(path, NULL, &opts, 0, &items, &err);
    if (status < 0) {
        rc = fail("load", status, &err);
        goto out;
    }
    double t1 = now_ms();
    status = lc__stac_items_filter(items, &q, NULL, &order, &count, &err);
    if (status < 0) {
        rc = fail("filter", status, &err);
        goto out;
    }
    double t2 = now_ms();
    status = lc__stac_items_sort(items, sort->keys, sort->nkeys, order, count,
                                 NULL, &err);
    if (status < 0) {
        rc = fail("sort", status, &err);
        goto out;
    }
    double t3 = now_ms();
    boxes = malloc((count > 0 ? count : 1) * 4 * sizeof *boxes);
    if (boxes == NULL)
        goto out;
    for (size_t k = 0; k < count; k++) {
        const struct lc__envelope *b = &items->bbox[order[k]];
        boxes[4 * k + 0] = b->minx;
        boxes[4 * k + 1] = b->miny;
        boxes[4 * k + 2] = b->maxx;
        boxes[4 * k + 3] = b->maxy;
    }
    status = lc__rtree_build(boxes, count, NULL, &rtree, &err);
    if (status < 0) {
        rc = fail("index", status, &err);
        goto out;
    }
    double t4 = now_ms();
    *t = (struct timing){t1 - t0, t2 - t1,      t3 - t2,
                         t4 - t3, items->count, count};
    rc = 0;
out:
    lc__rtree_free(rtree);
    free(boxes);
    free(order);
    lc__stac_items_free(items);
    lc__stac_sortby_free(sort);
    lc__cql2_free(tree);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: bench_items FILE REPEATS W,S,E,N DATETIME "
                        "FILTER SORTBY\n");
        return 2;
    }
    int repeats = atoi(argv[2]);
    struct lc__envelope bbox;
    if (repeats < 1 || sscanf(argv[3], "%lf,%lf,%lf,%lf", &bbox.minx,
                              &bbox.miny, &bbox.maxx, &bbox.maxy) != 4) {
        fprintf(stderr, "bench_items: bad REPEATS or bbox\n");
        return 2;
    }
    struct timing best = {DBL_MAX, DBL_MAX, DBL_MAX, DBL_MAX, 0, 0};
    double best_total = DBL_MAX;
    for (int r = 0; r < repeats; r++) {
        struct timing t;
        if (run_once(argv[1], &bbox, argv[4], argv[5], argv[6], &t) != 0)
            return 1;
        double total = t.load + t.filter + t.sort + t.index;
        if (total < best_total) {
            best_total = total;
            best = t;
        }
    }
    printf("{\"load_ms\": %.3f, \"filter_ms\": %.3f, \"sort_ms\": %.3f, "
           "\"index_ms\": %.3f, \"total_ms\": %.3f, \"loaded\": %zu, "
           "\"selected\": %zu}\n",
           best.load, best.filter, best.sort, best.index, best_total,
           best.loaded, best.selected);
    return 0;
}
