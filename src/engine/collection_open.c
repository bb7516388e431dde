/* collection_open.c - phase 0: opening a collection (grid, items, time
 * steps, footprint index, bands, dtype and nodata). */
/* SPDX-License-Identifier: MIT */

/*
 * What open() does, in order (behaviour reference §2.1-§2.6)
 * ==========================================================
 *
 *   options ---- checked; time_period parsed (fails before any I/O)
 *      |
 *   output CRS -> WKT2, EPSG code; grid of bbox at resolution
 *      |
 *   catalogue -- lc__catalog_open: load (pushdown of bbox and datetime),
 *      |         filter (bbox, datetime, ids, CQL2), sort (sortby); the
 *      |         bbox in EPSG:4326 (edges densified) is found meanwhile
 *      |         (open_items)
 *      |
 *   first item -> bands (explicit, or its data assets)
 *      |
 *   items ------> time steps (one grouper key per item; sorted keys),
 *      |          R-tree over their bboxes
 *      |
 *   dtype and nodata <- the first item's raster:bands when they say all
 *   (catalogue_describes), else one COG header per band of the first item
 *   (header cache, in parallel)
 *
 * The cost is the catalogue load, plus one header fetch per band when
 * raster:bands do not say enough: nothing here depends on the size of the
 * grid or the number of chunks, and no pixel is read.
 *
 * Differences from the reference, on purpose:
 *   - the 4326 query box is the densified transform of the bbox's edges
 *     (the reference transforms the four corners only, which misses items
 *     near a curved edge);
 *   - items without any time (no datetime, no start_datetime) are left out
 *     of the collection, as the reference leaves them out of the time axis;
 *   - an explicit dtype that a float-only method cannot use is refused
 *     before the catalogue is read;
 *   - count's output dtype is uint16 (the reference casts counts into the
 *     sources' dtype);
 *   - dtype and nodata come from raster:bands when they say all, without
 *     a header fetch (catalogue_describes).
 */
#include "../common/common.h"

#include "../common/alloc.h"
#include "../common/text.h"
#include "../io/io.h"
#include "collection.h"
#include "header_cache.h"
#include "select.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX_CONCURRENT_READS 32
/* Header fetches in flight at once while sampling the bands. */
#define MAX_PROBE_THREADS 16

static char *dup_str(const struct lc_allocator *a, const char *s)
{
    size_t n = strlen(s);
    char *p = lc__malloc(a, n + 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

/* ---- options ------------------------------------------------------------ */

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static int check_strings(const char *const *list, size_t n, const char *what,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(n > 0 && list == NULL, err, LC_EINVAL,
                 "lc_collection_open: %s is NULL with n%s = %zu", what, what,
                 n);
    for (size_t i = 0; i < n; i++)
        LC_RETURN_IF(list[i] == NULL || list[i][0] == '\0', err, LC_EINVAL,
                     "lc_collection_open: %s[%zu] is NULL or empty", what, i);
    return LC_OK;
}

static bool is_float_dtype(enum lc_dtype d)
{
    return d == LC_DTYPE_FLOAT32 || d == LC_DTYPE_FLOAT64;
}

/* Everything that can be checked without I/O. */
static int check_options(const char *href,
                         const struct lc_collection_options *o,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(href == NULL || href[0] == '\0', err, LC_EINVAL,
                 "lc_collection_open: href is NULL or empty");
    LC_RETURN_IF(o == NULL, err, LC_EINVAL,
                 "lc_collection_open: options are required (crs, bbox, "
                 "resolution)");
    LC_RETURN_IF(o->struct_size != sizeof *o, err, LC_EINVAL,
                 "lc_collection_open: struct lc_collection_options of "
                 "unknown size %zu (expected %zu)",
                 o->struct_size, sizeof *o);
    LC_RETURN_IF(o->crs == NULL || o->crs[0] == '\0', err, LC_EINVAL,
                 "lc_collection_open: crs is required");
    LC_RETURN_IF(!all_finite(o->bbox, 4), err, LC_EINVAL,
                 "lc_collection_open: bbox [%g, %g, %g, %g] is not finite",
                 o->bbox[0], o->bbox[1], o->bbox[2], o->bbox[3]);
    LC_RETURN_IF(!(o->bbox[0] <= o->bbox[2] && o->bbox[1] <= o->bbox[3]), err,
                 LC_EINVAL,
                 "lc_collection_open: bbox [%.17g, %.17g, %.17g, %.17g] must "
                 "be (minx, miny, maxx, maxy) with minx <= maxx and "
                 "miny <= maxy",
                 o->bbox[0], o->bbox[1], o->bbox[2], o->bbox[3]);
    LC_RETURN_IF(!(isfinite(o->resolution) && o->resolution > 0.0), err,
                 LC_EINVAL,
                 "lc_collection_open: resolution must be a positive number, "
                 "got %g",
                 o->resolution);
    LC_RETURN_IF(o->bands != NULL && o->nbands == 0, err, LC_EINVAL,
                 "lc_collection_open: bands is an empty list");
    LC_FORWARD_IF_ERROR(check_strings(o->bands, o->nbands, "bands", err));
    LC_FORWARD_IF_ERROR(check_strings(o->ids, o->nids, "ids", err));
    LC_RETURN_IF((int)o->dtype < (int)LC_DTYPE_UNKNOWN ||
                     (int)o->dtype > (int)LC_DTYPE_FLOAT64,
                 err, LC_EINVAL, "lc_collection_open: unknown dtype %d",
                 (int)o->dtype);
    const char *method = lc__mosaic_method_class(o->mosaic_method);
    LC_RETURN_IF(method == NULL, err, LC_EINVAL,
                 "lc_collection_open: unknown mosaic method %d",
                 (int)o->mosaic_method);
    LC_RETURN_IF(o->errors != LC_ERRORS_RAISE && o->errors != LC_ERRORS_IGNORE,
                 err, LC_EINVAL,
                 "lc_collection_open: errors must be raise (0) or ignore "
                 "(1), got %d",
                 (int)o->errors);
    /* The reference's wording (it checks this after sampling the bands). */
    LC_RETURN_IF(o->dtype != LC_DTYPE_UNKNOWN &&
                     lc__mosaic_requires_float(o->mosaic_method) &&
                     !is_float_dtype(o->dtype),
                 err, LC_EINVAL,
                 "%s requires a floating-point dtype, but got explicit dtype "
                 "%s. Pass dtype='float32' or dtype='float64', or omit "
                 "dtype= to let lazycogs choose a float dtype automatically.",
                 method, lc_dtype_name(o->dtype));
    /* Deeper nesting recurses deeper: these two stay bounded. jansson
     * refuses more than 2048 levels on its own. */
    LC_RETURN_IF(o->limits.max_thrift_depth > 1000, err, LC_EINVAL,
                 "lc_collection_open: limits.max_thrift_depth must be at "
                 "most 1000, got %zu",
                 o->limits.max_thrift_depth);
    LC_RETURN_IF(o->limits.max_json_depth > 2000, err, LC_EINVAL,
                 "lc_collection_open: limits.max_json_depth must be at most "
                 "2000, got %zu",
                 o->limits.max_json_depth);
    return LC_OK;
}

/* ---- output grid -------------------------------------------------------- */

/* The CRS, its WKT and EPSG code, and the grid. */
static int open_grid(struct lc_collection *c,
                     const struct lc_collection_options *o,
                     struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(lc__crs_new(o->crs, &c->alloc, &c->crs, err));
    LC_FORWARD_IF_ERROR(lc__crs_wkt(c->crs, &c->alloc, &c->crs_wkt, err));
    c->epsg = lc__crs_epsg(c->crs);
    memcpy(c->bbox, o->bbox, sizeof c->bbox);
    LC_FORWARD_IF_ERROR(
        lc__grid_from_bbox(o->bbox, o->resolution, &c->grid, err));
    /* No area (a box across the antimeridian or near a pole): PROJ
     * searches among all operations. */
    if (lc__crs_area_around(c->crs, o->bbox, &c->area_box, NULL) == LC_OK)
        c->area = &c->area_box;
    return LC_OK;
}

/* The 4326 query box of the open options into box (PROJ's search for the
 * operation from the CRS to EPSG:4326 takes most of it: 6-25 ms in a new
 * process). Reads c's CRS and area only: the early thread calls it too. */
static int find_query_box(const struct lc_collection *c,
                          const struct lc_collection_options *o, double box[4],
                          struct lc__errbuf *err)
{
    /* (The search job parsed EPSG:4326 into the engine's cache.) */
    struct lc__crs *wgs84 = NULL;
    bool owned = false;
    LC_FORWARD_IF_ERROR(lc__engine_crs_get("EPSG:4326", &wgs84, &owned, err));
    struct lc__transform *tf = NULL;
    int status = lc__transform_get_in(c->crs, wgs84, c->area, &tf, err);
    if (status == LC_OK && lc__transform_is_identity(tf)) {
        memcpy(box, o->bbox, 4 * sizeof *box);
    } else if (status == LC_OK) {
        /* A result with minx > maxx crosses the antimeridian; the
         * catalogue query and the R-tree read boxes the same way. */
        status = lc__transform_bounds(tf, o->bbox, LC_DENSIFY_PTS, box, err);
    }
    lc__transform_release(tf);
    if (owned)
        lc__crs_free(wgs84);
    return status;
}

/* Sets c->bbox_4326 to the query box. */
static int open_query_box(struct lc_collection *c,
                          const struct lc_collection_options *o,
                          struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(find_query_box(c, o, c->bbox_4326, err));
    c->bbox_4326_exact = true;
    return LC_OK;
}

/* ---- the catalogue ------------------------------------------------------ */

/* Python's repr() of a str, as the reference's messages print names. */
static void put_repr(struct lc__strbuf *sb, const char *s)
{
    char q = strchr(s, '\'') != NULL && strchr(s, '"') == NULL ? '"' : '\'';
    lc__strbuf_putc(sb, q);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\\' || *p == q)
            lc__strbuf_putc(sb, '\\');
        lc__strbuf_putc(sb, *p);
    }
    lc__strbuf_putc(sb, q);
}

static int no_match(struct lc_collection *c,
                    const struct lc_collection_options *o, const char *href,
                    struct lc__errbuf *err)
{
    if (!c->bbox_4326_exact)
        LC_FORWARD_IF_ERROR(open_query_box(c, o, err));
    /* "No STAC items matched the query in '<href>' (bbox=[w, s, e, n],
     * datetime=<d>)." as the reference words it (Python reprs). */
    struct lc__strbuf sb;
    lc__strbuf_init(&sb, &c->alloc, LC_ERRMSG_CAP * 2);
    lc__strbuf_puts(&sb, "No STAC items matched the query in ");
    put_repr(&sb, href);
    lc__strbuf_puts(&sb, " (bbox=[");
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            lc__strbuf_puts(&sb, ", ");
        lc__strbuf_double_json(&sb, c->bbox_4326[i]);
    }
    lc__strbuf_printf(&sb, "], datetime=%s).",
                      o->datetime != NULL ? o->datetime : "None");
    int status = lc__error(err, LC_EINVAL, "%s",
                           sb.status == LC_OK ? sb.data
                                              : "No STAC items matched the "
                                                "query.");
    lc__strbuf_free(&sb);
    return status;
}

/* c->bbox_4326 as an envelope. */
static struct lc__envelope query_box(const struct lc_collection *c)
{
    return (struct lc__envelope){c->bbox_4326[0], c->bbox_4326[1],
                                 c->bbox_4326[2], c->bbox_4326[3]};
}

/* Loads and queries the catalogue: at most max_items of the candidates
 * the pushdown lets through (0: all), with the items that meet bbox (NULL:
 * no bbox test). The asset keys to load: the requested bands without
 * repeats, or NULL (every key) when bands are chosen from the first item. */
static int load_catalog(struct lc_collection *c, const char *href,
                        const struct lc_collection_options *o, size_t max_items,
                        const struct lc__envelope *bbox,
                        struct lc__catalog **catalog_ret,
                        struct lc__errbuf *err)
{
    const char **keys = NULL;
    size_t nkeys = 0;
    if (o->bands != NULL) {
        keys = lc__calloc(&c->alloc, o->nbands, sizeof *keys);
        LC_RETURN_IF(keys == NULL, err, LC_ENOMEM,
                     "%s: out of memory for %zu bands", href, o->nbands);
        for (size_t i = 0; i < o->nbands; i++) {
            bool seen = false;
            for (size_t j = 0; j < nkeys && !seen; j++)
                seen = strcmp(keys[j], o->bands[i]) == 0;
            if (!seen)
                keys[nkeys++] = o->bands[i];
        }
    }
    /* The caps of o->limits for the loaders (zero fields: defaults). */
    struct lc__parquet_limits pq_limits = {
        .max_footer_nbytes = o->limits.max_footer_nbytes,
        .max_page_nbytes = o->limits.max_page_nbytes,
        .max_chunk_nbytes = o->limits.max_chunk_nbytes,
        .max_thrift_depth = o->limits.max_thrift_depth,
    };
    struct lc__geom_limits geom_limits = {.max_points =
                                              o->limits.max_geometry_points};
    struct lc__stac_load_options load = {
        .alloc = &c->alloc,
        .assets = keys,
        .nassets = nkeys,
        .geom_limits = &geom_limits,
        .parquet_limits = &pq_limits,
        .max_json_nbytes = o->limits.max_json_nbytes,
        .max_json_depth = o->limits.max_json_depth,
        .lenient_raster_bands = true,
        .max_items = max_items,
    };
    struct lc__catalog_query query = {
        .filter = o->filter,
        .sortby = o->sortby,
        .datetime = o->datetime,
        .ids = o->ids,
        .nids = o->nids,
    };
    if (bbox != NULL) {
        query.has_bbox = true;
        query.bbox = *bbox;
    }
    int status = lc__catalog_open(href, o->catalog_store, &load, &query,
                                  catalog_ret, err);
    lc__free(&c->alloc, keys);
    return status;
}

/* ---- bands (§2.4) ------------------------------------------------------- */

static size_t find_key(const struct lc__stac_items *items, const char *key)
{
    for (size_t k = 0; k < items->nassets; k++)
        if (strcmp(items->asset_keys[k], key) == 0)
            return k;
    return SIZE_MAX;
}

/* Roles contain "data" or the media type contains "image/tiff". */
static bool is_data_asset(const struct lc__stac_asset *a)
{
    for (size_t r = 0; r < a->nroles; r++)
        if (strcmp(a->roles[r], "data") == 0)
            return true;
    return a->type != NULL && strstr(a->type, "image/tiff") != NULL;
}

static int set_bands(struct lc_collection *c, const size_t *index, size_t n,
                     struct lc__errbuf *err)
{
    c->bands = lc__calloc(&c->alloc, n, sizeof *c->bands);
    c->band_asset = lc__calloc(&c->alloc, n, sizeof *c->band_asset);
    LC_RETURN_IF(c->bands == NULL || c->band_asset == NULL, err, LC_ENOMEM,
                 "out of memory for %zu bands", n);
    for (size_t i = 0; i < n; i++) {
        c->bands[i] = dup_str(&c->alloc, c->items->asset_keys[index[i]]);
        LC_RETURN_IF(c->bands[i] == NULL, err, LC_ENOMEM,
                     "out of memory for %zu bands", n);
        c->band_asset[i] = index[i];
        c->nbands = i + 1;
    }
    return LC_OK;
}

/* The asset index of each band, chosen on row first of items (the first
 * item in sort order): *index_ret has *count_ret entries, to be freed. */
static int pick_bands(struct lc_collection *c,
                      const struct lc__stac_items *items,
                      const struct lc_collection_options *o, size_t first,
                      size_t **index_ret, size_t *count_ret,
                      struct lc__errbuf *err)
{
    const struct lc__stac_asset *row = &items->assets[first * items->nassets];
    size_t n = o->bands != NULL ? o->nbands : items->nassets;
    size_t *index = lc__calloc(&c->alloc, n, sizeof *index);
    LC_RETURN_IF(index == NULL, err, LC_ENOMEM, "out of memory for %zu bands",
                 n);
    size_t count = 0;
    int status = LC_OK;
    if (o->bands != NULL) {
        /* An asset without href is no asset for the loaders, so a band
         * whose asset has none is reported missing. */
        struct lc__strbuf missing;
        lc__strbuf_init(&missing, &c->alloc, LC_ERRMSG_CAP);
        for (size_t i = 0; i < o->nbands; i++) {
            size_t k = find_key(items, o->bands[i]);
            if (k != SIZE_MAX && row[k].href != NULL) {
                index[count++] = k;
                continue;
            }
            lc__strbuf_puts(&missing, missing.len == 0 ? "[" : ", ");
            put_repr(&missing, o->bands[i]);
        }
        if (missing.len > 0) {
            lc__strbuf_putc(&missing, ']');
            status =
                lc__error(err, LC_EINVAL,
                          "Requested bands %s were not present on the "
                          "first matching item.",
                          missing.status == LC_OK ? missing.data : "[...]");
        }
        lc__strbuf_free(&missing);
    } else {
        /* Data assets in item order, else every asset the item has. */
        for (size_t k = 0; k < items->nassets; k++)
            if (row[k].href != NULL && is_data_asset(&row[k]))
                index[count++] = k;
        for (size_t k = 0; count == 0 && k < items->nassets; k++)
            if (row[k].href != NULL)
                index[count++] = k;
        if (count == 0)
            status = lc__error(err, LC_EINVAL,
                               "The first matching item '%s' has no assets "
                               "to read.",
                               items->ids[first]);
    }
    for (size_t i = 0; status == LC_OK && i < count; i++)
        if (row[index[i]].href[0] == '\0')
            status = lc__error(err, LC_EINVAL,
                               "Asset '%s' on the first matching item does "
                               "not have an href.",
                               items->asset_keys[index[i]]);
    if (status < 0) {
        lc__free(&c->alloc, index);
        return status;
    }
    *index_ret = index;
    *count_ret = count;
    return LC_OK;
}

/* Chooses the bands on the first item in sort order, item table row
 * first. */
static int choose_bands(struct lc_collection *c,
                        const struct lc_collection_options *o, size_t first,
                        struct lc__errbuf *err)
{
    size_t *index = NULL, count = 0;
    LC_FORWARD_IF_ERROR(pick_bands(c, c->items, o, first, &index, &count, err));
    int status = set_bands(c, index, count, err);
    lc__free(&c->alloc, index);
    return status;
}

/* ---- items, time steps, footprints (§2.6) ------------------------------ */

static int64_t item_instant(const struct lc__stac_items *items, size_t i)
{
    return items->datetime[i] != LC__STAC_NO_TIME ? items->datetime[i]
                                                  : items->start_datetime[i];
}

static bool bbox_known(const struct lc__envelope *b)
{
    return isfinite(b->minx) && isfinite(b->miny) && isfinite(b->maxx) &&
           isfinite(b->maxy);
}

/*
 * Keeps, in sort order, the selected items that have a time (the reference
 * skips the others when it builds the time axis) and a footprint (a bbox
 * query never selects an item without one; checked all the same, since the
 * R-tree refuses unknown boxes).
 */
static void keep_usable_items(struct lc_collection *c)
{
    struct lc__catalog *cat = c->catalog;
    size_t n = 0;
    for (size_t k = 0; k < cat->count; k++) {
        size_t i = cat->order[k];
        if (item_instant(c->items, i) != LC__STAC_NO_TIME &&
            bbox_known(&c->items->bbox[i]))
            cat->order[n++] = i;
    }
    cat->count = n;
    c->item = cat->order;
    c->nitems = n;
}

static int build_steps(struct lc_collection *c, struct lc__errbuf *err)
{
    size_t n = c->nitems;
    int64_t *instants = lc__calloc(&c->alloc, n, sizeof *instants);
    c->step_of = lc__calloc(&c->alloc, n, sizeof *c->step_of);
    c->step_items = lc__calloc(&c->alloc, n, sizeof *c->step_items);
    if (instants == NULL || c->step_of == NULL || c->step_items == NULL) {
        lc__free(&c->alloc, instants);
        return lc__error(err, LC_ENOMEM,
                         "out of memory for the time steps of %zu items", n);
    }
    for (size_t k = 0; k < n; k++)
        instants[k] = item_instant(c->items, c->item[k]);
    int64_t *keys = NULL;
    size_t nkeys = 0;
    int status = lc__grouper_groups(&c->grouper, instants, n, &c->alloc, &keys,
                                    &nkeys, c->step_of, err);
    lc__free(&c->alloc, instants);
    if (status < 0)
        return status;

    c->steps = lc__calloc(&c->alloc, nkeys, sizeof *c->steps);
    if (c->steps == NULL) {
        lc__free(&c->alloc, keys);
        return lc__error(err, LC_ENOMEM, "out of memory for %zu time steps",
                         nkeys);
    }
    c->ntimes = nkeys;
    for (size_t t = 0; t < nkeys && status == LC_OK; t++) {
        struct lc__step *s = &c->steps[t];
        s->key = keys[t];
        (void)lc__grouper_label(&c->grouper, s->key, s->label, sizeof s->label);
        (void)lc__grouper_filter(&c->grouper, s->key, s->filter,
                                 sizeof s->filter);
        status = lc__grouper_coord(&c->grouper, s->key, &s->coord, err);
    }
    lc__free(&c->alloc, keys);
    if (status < 0)
        return status;

    /* A counting sort of k by step keeps each step's items ascending. */
    for (size_t k = 0; k < n; k++)
        c->steps[c->step_of[k]].count++;
    size_t first = 0;
    for (size_t t = 0; t < nkeys; t++) {
        c->steps[t].first = first;
        first += c->steps[t].count;
        c->steps[t].count = 0;
    }
    for (size_t k = 0; k < n; k++) {
        struct lc__step *s = &c->steps[c->step_of[k]];
        c->step_items[s->first + s->count++] = k;
    }
    return LC_OK;
}

static int build_rtree(struct lc_collection *c, struct lc__errbuf *err)
{
    double *boxes = lc__calloc(&c->alloc, c->nitems, 4 * sizeof *boxes);
    LC_RETURN_IF(boxes == NULL, err, LC_ENOMEM,
                 "out of memory for the footprints of %zu items", c->nitems);
    for (size_t k = 0; k < c->nitems; k++) {
        const struct lc__envelope *b = &c->items->bbox[c->item[k]];
        boxes[4 * k + 0] = b->minx;
        boxes[4 * k + 1] = b->miny;
        boxes[4 * k + 2] = b->maxx;
        boxes[4 * k + 3] = b->maxy;
    }
    struct lc__rtree_options opts = {.allocator = c->alloc};
    int status = lc__rtree_build(boxes, c->nitems, &opts, &c->rtree, err);
    lc__free(&c->alloc, boxes);
    return status;
}

/* ---- dtype and nodata (§2.5) -------------------------------------------- */

/* One band's header fetch, possibly on its own thread. */
struct probe {
    const char *href;
    struct lc_store *store;
    const struct lc_limits *limits;
    struct lc_cog *cog;
    int status;
    struct lc__errbuf err;
};

static void run_probe(struct probe *p)
{
    bool cached = false;
    p->status = lc__header_cache_get_ex(p->href, p->store, p->limits, &p->cog,
                                        &cached, &p->err);
}

static void *probe_thread(void *arg)
{
    run_probe(arg);
    return NULL;
}

/* Opens every probe's COG, up to MAX_PROBE_THREADS at once: over a network
 * the headers then cost one round trip, not one per band. */
static void run_probes(struct probe *probes, size_t n)
{
    for (size_t start = 0; start < n; start += MAX_PROBE_THREADS) {
        size_t end =
            n - start > MAX_PROBE_THREADS ? start + MAX_PROBE_THREADS : n;
        pthread_t threads[MAX_PROBE_THREADS];
        bool started[MAX_PROBE_THREADS] = {false};
        /* The calling thread takes the first probe of the batch. */
        for (size_t i = start + 1; i < end; i++)
            started[i - start] = pthread_create(&threads[i - start], NULL,
                                                probe_thread, &probes[i]) == 0;
        run_probe(&probes[start]);
        for (size_t i = start + 1; i < end; i++) {
            if (started[i - start])
                (void)pthread_join(threads[i - start], NULL);
            else
                run_probe(&probes[i]);
        }
    }
}

/*
 * Whether the catalogue tells open() all that the first item's headers
 * would, so that it need not fetch them: for each band asset (asset[i] of
 * row), the first element of raster:bands (the band that is read, §2.4)
 * gives data_type unless dtype= is explicit and nodata unless nodata= is
 * explicit, and the asset has proj:transform (the pixel size that item
 * matching allows for, src_pixel_m).
 *
 * This saves open() a round trip; the reference (§2.5) always reads the
 * headers. The two agree unless a catalogue's raster:bands contradict its
 * COGs: every read checks each COG against the contract (§2.13), so such a
 * catalogue makes reads fail with a message naming the item, the asset and
 * the catalogue as the contract's source, where the reference would open
 * from the first item's COGs and fail on the items that differ from them.
 * A store that cannot open the COGs fails the first read, not open().
 */
static bool catalogue_describes(const struct lc__stac_items *items, size_t row,
                                const size_t *asset, size_t n,
                                const struct lc_collection_options *o)
{
    for (size_t i = 0; i < n; i++) {
        const struct lc__stac_asset *a =
            &items->assets[row * items->nassets + asset[i]];
        if (a->nbands == 0 || !a->has_transform)
            return false;
        if (o->dtype == LC_DTYPE_UNKNOWN &&
            a->bands[0].data_type == LC_DTYPE_UNKNOWN)
            return false;
        if (o->has_nodata == 0 && !a->bands[0].has_nodata)
            return false;
    }
    return true;
}

/*
 * The first item's headers, fetched while the catalogue loads
 * ===========================================================
 *
 * Without sortby, the first matching item is the first row of the
 * catalogue that matches the query. open() loads the first row that can
 * meet the datetime on a thread of its own; if that row meets the 4326
 * query box, the same thread fetches its bands' headers while the whole
 * catalogue loads:
 *
 *   calling thread: CRS | own-datum boxes | whole catalogue    | dtype
 *   pool thread:                      4326 box (lc__engine_search_4326)
 *   early thread:   first row | sure box | headers (round trip)
 *
 * so the round trip overlaps the catalogue's parsing instead of following
 * it. The 4326 box waits for PROJ's search for a datum transformation
 * (6-25 ms in a new process); a "sure box" inside it does not: the box in
 * the CRS's own datum shrunk by the most a datum shift can move it
 * (lc__crs_bounds_inside_4326, under a millisecond). A first row that
 * meets the sure box meets the query box, and its headers are fetched at
 * once. A row that misses it, but meets the box around, takes the query
 * box itself (waiting for the search).
 *
 * No headers are fetched when the first row's raster:bands say all
 * (catalogue_describes): open() would not use them.
 *
 * The headers are used only when the item chosen after the whole load has
 * the same id and band hrefs, so the margin only decides how early the
 * fetch starts, never what open() returns. The fetch makes no request that
 * the open would not make (for a datum shift within the margin), unless
 * the open fails later for another reason (such an open then returns its
 * error once the fetch has ended).
 *
 * Not tried with sortby (the first item is known only after the sort),
 * path_from_href (it is called once per item, after the load), a JSON
 * catalogue (read whole either way), a remote catalogue (loading the first
 * row would fetch its footer and column chunks twice, in round trips the
 * whole load then waits for), or local hrefs under confinement (refused
 * or allowed only after the whole load).
 */
struct early_probe {
    struct lc_collection *c;
    const char *href;
    const struct lc_collection_options *o;
    struct lc__catalog *head; /* the first row, or NULL */
    struct probe *probes;     /* one per band of head's item */
    size_t nprobes;
    pthread_t thread; /* loads head, tests it, runs the probes */
    bool started;     /* the thread was started: mu and posted exist */
    bool running;     /* ... and is not joined yet */
    bool probed;      /* the probes ran: they hold results */
    /* The sure box the calling thread hands over: "posted" once decided,
     * "has" when there is one. */
    pthread_mutex_t mu;
    pthread_cond_t posted;
    bool sure_posted, has_sure;
    struct lc__envelope sure;
    bool abandoned; /* joined before the sure box was posted */
};

/* Whether the catalogue comes from elsewhere than the local file system. */
static bool catalogue_is_remote(const char *href,
                                const struct lc_collection_options *o)
{
    if (o->catalog_store != NULL && !lc__store_is_local(o->catalog_store))
        return true;
    return strstr(href, "://") != NULL && strncmp(href, "file://", 7) != 0;
}

/* Whether local band hrefs must lie in the allowed roots. */
static bool confinement_on(const char *href,
                           const struct lc_collection_options *o)
{
    return o->confine_local_hrefs > 0 ||
           (o->confine_local_hrefs == 0 && catalogue_is_remote(href, o));
}

/* Waits until the sure box is posted; false when it is none. *abandoned:
 * the calling thread joins, the thread has nothing more to do. */
static bool wait_sure_box(struct early_probe *e, struct lc__envelope *box,
                          bool *abandoned)
{
    pthread_mutex_lock(&e->mu);
    while (!e->sure_posted)
        pthread_cond_wait(&e->posted, &e->mu);
    bool has = e->has_sure;
    *box = e->sure;
    *abandoned = e->abandoned;
    pthread_mutex_unlock(&e->mu);
    return has;
}

/* Whether the first row meets box. */
static bool head_meets(struct early_probe *e, const struct lc__envelope *box)
{
    const struct lc__stac_items *items = e->head->items;
    size_t *kept = NULL, nkept = 0;
    struct lc__stac_query q = {.has_bbox = true, .bbox = *box};
    struct lc__errbuf quiet = {0};
    int status =
        lc__stac_items_filter(items, &q, &e->c->alloc, &kept, &nkept, &quiet);
    bool meets = status == LC_OK && nkept == 1 && kept[0] == e->head->order[0];
    lc__free(&e->c->alloc, kept);
    return meets;
}

/* The probes of the first row's bands; false when there are none to run. */
static bool make_probes(struct early_probe *e)
{
    struct lc_collection *c = e->c;
    const struct lc__stac_items *items = e->head->items;
    size_t row = e->head->order[0], *index = NULL, n = 0;
    struct lc__errbuf quiet = {0};
    if (pick_bands(c, items, e->o, row, &index, &n, &quiet) < 0)
        return false;
    if (catalogue_describes(items, row, index, n, e->o)) {
        lc__free(&c->alloc, index); /* the catalogue says what they would */
        return false;
    }
    e->probes = lc__calloc(&c->alloc, n, sizeof *e->probes);
    bool ok = e->probes != NULL;
    bool confined = confinement_on(e->href, e->o);
    for (size_t i = 0; ok && i < n; i++) {
        const char *band_href =
            items->assets[row * items->nassets + index[i]].href;
        char path[PATH_MAX];
        bool local = false;
        if (confined &&
            (lc__store_local_path(c->store, band_href, path, sizeof path,
                                  &local, &quiet) < 0 ||
             local))
            ok = false;
        e->probes[i] = (struct probe){
            .href = band_href, .store = c->store, .limits = &c->limits};
    }
    lc__free(&c->alloc, index);
    if (ok)
        e->nprobes = n;
    return ok;
}

/* Whether the first row meets the query box, for a row that misses the
 * sure box: surely not when it misses the box around; else the query box
 * decides (the thread waits for the pool's search, lc__engine_search_4326,
 * or searches). */
static bool head_meets_query_box(struct early_probe *e)
{
    double b[4];
    struct lc__errbuf quiet = {0};
    if (lc__crs_bounds_around_4326(e->c->crs, e->o->bbox, b, &quiet) == LC_OK) {
        struct lc__envelope around = {b[0], b[1], b[2], b[3]};
        if (!head_meets(e, &around))
            return false;
    }
    if (find_query_box(e->c, e->o, b, &quiet) < 0)
        return false;
    struct lc__envelope query = {b[0], b[1], b[2], b[3]};
    return head_meets(e, &query);
}

static void *early_thread(void *arg)
{
    struct early_probe *e = arg;
    struct lc__errbuf quiet = {0};
    if (load_catalog(e->c, e->href, e->o, 1, NULL, &e->head, &quiet) < 0 ||
        e->head->count == 0)
        return NULL;
    struct lc__envelope sure;
    bool abandoned;
    bool meets = wait_sure_box(e, &sure, &abandoned) && head_meets(e, &sure);
    if (!meets && !abandoned)
        meets = head_meets_query_box(e);
    if (meets && make_probes(e)) {
        run_probes(e->probes, e->nprobes);
        e->probed = true;
    }
    return NULL;
}

/* Posts the sure box (lc__crs_bounds_inside_4326), or none. */
static void post_sure_box(struct early_probe *e)
{
    if (!e->running)
        return;
    double in[4] = {0};
    struct lc__errbuf quiet = {0};
    bool ok =
        lc__crs_bounds_inside_4326(e->c->crs, e->c->bbox, in, &quiet) == LC_OK;
    struct lc__envelope sure = {in[0], in[1], in[2], in[3]};
    pthread_mutex_lock(&e->mu);
    e->sure_posted = true;
    e->has_sure = ok;
    e->sure = sure;
    pthread_cond_broadcast(&e->posted);
    pthread_mutex_unlock(&e->mu);
}

/* Joins the thread, if one runs, posting "no box" if the sure box is not
 * posted yet so that it cannot wait for ever. */
static void join_early(struct early_probe *e)
{
    if (!e->running)
        return;
    pthread_mutex_lock(&e->mu);
    e->abandoned = !e->sure_posted;
    e->sure_posted = true;
    pthread_cond_broadcast(&e->posted);
    pthread_mutex_unlock(&e->mu);
    (void)pthread_join(e->thread, NULL);
    e->running = false;
}

/* Starts the early thread when the conditions hold. Nothing here fails the
 * open: the whole load reports what is wrong. */
static void begin_early_probe(struct lc_collection *c, const char *href,
                              const struct lc_collection_options *o,
                              struct early_probe *e)
{
    *e = (struct early_probe){.c = c, .href = href, .o = o};
    if (o->sortby != NULL || o->map_href != NULL ||
        !lc__catalog_named_parquet(href) || catalogue_is_remote(href, o))
        return;
    if (pthread_mutex_init(&e->mu, NULL) != 0)
        return;
    if (pthread_cond_init(&e->posted, NULL) != 0) {
        pthread_mutex_destroy(&e->mu);
        return;
    }
    e->started = pthread_create(&e->thread, NULL, early_thread, e) == 0;
    e->running = e->started;
    if (!e->started) {
        pthread_cond_destroy(&e->posted);
        pthread_mutex_destroy(&e->mu);
    }
}

/* Waits for the early fetch; when its headers are those of the bands of
 * item first, hands its probes over (n of them, freed by the caller),
 * else returns NULL. */
static struct probe *take_early_probes(const struct lc_collection *c,
                                       size_t first, struct early_probe *e)
{
    join_early(e);
    if (!e->probed || e->nprobes != c->nbands)
        return NULL;
    const struct lc__stac_items *head = e->head->items;
    if (strcmp(head->ids[e->head->order[0]], c->items->ids[first]) != 0)
        return NULL;
    for (size_t i = 0; i < c->nbands; i++) {
        const char *href =
            c->items->assets[first * c->items->nassets + c->band_asset[i]].href;
        if (strcmp(e->probes[i].href, href) != 0)
            return NULL;
    }
    struct probe *probes = e->probes;
    e->probes = NULL;
    e->nprobes = 0;
    return probes;
}

static void finish_early_probe(struct early_probe *e)
{
    join_early(e);
    if (e->started) {
        pthread_cond_destroy(&e->posted);
        pthread_mutex_destroy(&e->mu);
    }
    for (size_t i = 0; e->probes != NULL && i < e->nprobes; i++)
        lc__header_cache_release(e->probes[i].cog);
    if (e->c != NULL)
        lc__free(&e->c->alloc, e->probes);
    lc__catalog_free(e->head);
    *e = (struct early_probe){0};
}

static unsigned dtype_bits(enum lc_dtype d)
{
    return (unsigned)(lc_dtype_nbytes(d) * 8);
}

static bool is_signed_int(enum lc_dtype d)
{
    return d == LC_DTYPE_INT8 || d == LC_DTYPE_INT16 || d == LC_DTYPE_INT32 ||
           d == LC_DTYPE_INT64;
}

static enum lc_dtype int_dtype(unsigned bits, bool is_signed)
{
    switch (bits) {
    case 8:
        return is_signed ? LC_DTYPE_INT8 : LC_DTYPE_UINT8;
    case 16:
        return is_signed ? LC_DTYPE_INT16 : LC_DTYPE_UINT16;
    case 32:
        return is_signed ? LC_DTYPE_INT32 : LC_DTYPE_UINT32;
    default:
        return is_signed ? LC_DTYPE_INT64 : LC_DTYPE_UINT64;
    }
}

/*
 * The reference's promotion of the sampled dtypes: all equal -> that one;
 * any float -> float64 if any is float64, else float32; integers of one
 * signedness -> the widest; mixed -> the narrowest signed integer holding
 * both (u8 + i8 -> i16, u16 + i16 -> i32), which does not exist for uint64
 * with any signed integer.
 */
static int promote_dtypes(const enum lc_dtype *dtypes, size_t n,
                          enum lc_dtype *dtype_ret, struct lc__errbuf *err)
{
    bool same = true, any_float = false, any_f64 = false;
    unsigned max_signed = 0, max_unsigned = 0;
    for (size_t i = 0; i < n; i++) {
        enum lc_dtype d = dtypes[i];
        LC_RETURN_IF(d == LC_DTYPE_UNKNOWN, err, LC_EINVAL,
                     "Unsupported sampled dtypes: band %zu has no numeric "
                     "dtype.",
                     i);
        same = same && d == dtypes[0];
        any_float = any_float || is_float_dtype(d);
        any_f64 = any_f64 || d == LC_DTYPE_FLOAT64;
        unsigned bits = dtype_bits(d);
        if (is_signed_int(d) && bits > max_signed)
            max_signed = bits;
        else if (!is_float_dtype(d) && !is_signed_int(d) && bits > max_unsigned)
            max_unsigned = bits;
    }
    if (same) {
        *dtype_ret = dtypes[0];
    } else if (any_float) {
        *dtype_ret = any_f64 ? LC_DTYPE_FLOAT64 : LC_DTYPE_FLOAT32;
    } else if (max_signed == 0 || max_unsigned == 0) {
        *dtype_ret = int_dtype(max_signed > 0 ? max_signed : max_unsigned,
                               max_signed > 0);
    } else {
        unsigned need =
            max_signed > max_unsigned ? max_signed : max_unsigned * 2;
        LC_RETURN_IF(need > 64, err, LC_EINVAL,
                     "Cannot safely promote sampled dtypes containing both "
                     "uint64 and int64.");
        *dtype_ret = int_dtype(need, true);
    }
    return LC_OK;
}

/*
 * The reference's nodata inference: values the headers do not have are
 * ignored, NaN is tracked apart; none -> unknown, only NaN -> NaN, one
 * value and no NaN -> that value (0 and 0.0 agree); anything else is a
 * conflict.
 */
static int infer_nodata(const struct lc_cog_info *infos, size_t n,
                        bool *has_ret, double *nodata_ret,
                        struct lc__errbuf *err)
{
    bool saw_nan = false, saw_value = false;
    double value = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!infos[i].has_nodata)
            continue;
        if (isnan(infos[i].nodata)) {
            saw_nan = true;
        } else if (!saw_value) {
            saw_value = true;
            value = infos[i].nodata;
        } else {
            LC_RETURN_IF(infos[i].nodata != value, err, LC_EINVAL,
                         "Conflicting sampled nodata values; pass nodata= "
                         "explicitly.");
        }
    }
    LC_RETURN_IF(saw_nan && saw_value, err, LC_EINVAL,
                 "Conflicting sampled nodata values; pass nodata= "
                 "explicitly.");
    *has_ret = saw_nan || saw_value;
    *nodata_ret = saw_nan ? NAN : value;
    return LC_OK;
}

static int resolve_contract(struct lc_collection *c,
                            const struct lc_collection_options *o,
                            const struct lc_cog_info *infos,
                            struct lc__errbuf *err)
{
    enum lc_dtype *dtypes = lc__calloc(&c->alloc, c->nbands, sizeof *dtypes);
    LC_RETURN_IF(dtypes == NULL, err, LC_ENOMEM, "out of memory for %zu bands",
                 c->nbands);
    for (size_t i = 0; i < c->nbands; i++)
        dtypes[i] = infos[i].dtype;
    /* An explicit dtype wins: the sampled ones are not even promoted. */
    c->dtype_explicit = o->dtype != LC_DTYPE_UNKNOWN;
    enum lc_dtype sampled = LC_DTYPE_UNKNOWN;
    int status = c->dtype_explicit
                     ? LC_OK
                     : promote_dtypes(dtypes, c->nbands, &sampled, err);
    lc__free(&c->alloc, dtypes);
    if (status < 0)
        return status;

    if (c->dtype_explicit) {
        /* check_options refused an integer dtype for float-only methods. */
        c->contract_dtype = o->dtype;
        c->dtype = o->dtype;
    } else {
        c->contract_dtype = sampled;
        if (lc__mosaic_requires_float(o->mosaic_method) &&
            !is_float_dtype(sampled))
            c->contract_dtype = LC_DTYPE_FLOAT32;
        c->dtype = o->mosaic_method == LC_MOSAIC_COUNT
                       ? lc__mosaic_output_dtype(LC_MOSAIC_COUNT, sampled)
                       : c->contract_dtype;
    }

    c->nodata_explicit = o->has_nodata != 0;
    if (c->nodata_explicit) {
        c->has_nodata = true;
        c->nodata = o->nodata;
        return LC_OK;
    }
    return infer_nodata(infos, c->nbands, &c->has_nodata, &c->nodata, err);
}

/* The largest ground size of a pixel of the sampled headers (infos, one
 * per band). */
static double headers_pixel_size(const struct lc_collection *c,
                                 const struct lc_cog_info *infos)
{
    double best = 0.0;
    for (size_t b = 0; b < c->nbands; b++)
        best = fmax(best,
                    lc__pixel_ground_size(infos[b].geotransform, infos[b].crs));
    return best;
}

/*
 * The largest ground size of a source pixel, over the proj:transform of
 * every selected item's band assets and the sampled headers. Codes repeat
 * from item to item: each run of one code is looked up once.
 */
double lc__collection_src_pixel_m(const struct lc_collection *c)
{
    struct lc__src_pixel *cache = c->src_pixel;
    double best;
    if (__atomic_load_n(&cache->known, __ATOMIC_ACQUIRE)) {
        __atomic_load(&cache->m, &best, __ATOMIC_RELAXED);
        return best;
    }
    const struct lc__stac_items *items = c->items;
    best = c->headers_pixel_m;
    for (size_t b = 0; b < c->nbands; b++) {
        const char *code = NULL;
        double unit = 1.0; /* metres per CRS unit, about */
        for (size_t k = 0; k < c->nitems; k++) {
            const struct lc__stac_asset *a =
                &items->assets[c->item[k] * items->nassets + c->band_asset[b]];
            if (a->href == NULL || !a->has_transform)
                continue;
            const double *t = a->transform; /* a b c d e f */
            double px = fmax(hypot(t[0], t[3]), hypot(t[1], t[4]));
            if (!(px > 0.0) || !isfinite(px))
                continue;
            if (a->proj_code != NULL &&
                (code == NULL || strcmp(code, a->proj_code) != 0)) {
                const double one[6] = {0, 1, 0, 0, 0, 1};
                code = a->proj_code;
                /* Items in the collection's own projected CRS need no
                 * lookup: a new process's first read (W6, one scene in
                 * its own CRS) spent 1.3-1.8 ms in PROJ's database here,
                 * before its first request. */
                unit = c->epsg != 0 && a->epsg == c->epsg &&
                               !lc__crs_is_geographic(c->crs)
                           ? 1.0
                           : lc__pixel_ground_size(one, code);
            }
            best = fmax(best, px * (a->proj_code != NULL ? unit : 1.0));
        }
    }
    /* Reads that find it at once each store the same value. */
    __atomic_store(&cache->m, &best, __ATOMIC_RELAXED);
    __atomic_store_n(&cache->known, true, __ATOMIC_RELEASE);
    return best;
}

/* Opens one header per band of the first item (or takes the early
 * fetch's) and infers dtype and nodata from them; or takes them from the
 * catalogue, when it has them (catalogue_describes). */
static int sample_bands(struct lc_collection *c,
                        const struct lc_collection_options *o, size_t first,
                        struct early_probe *early, struct lc__errbuf *err)
{
    size_t n = c->nbands;
    if (catalogue_describes(c->items, first, c->band_asset, n, o)) {
        struct lc_cog_info *infos = lc__calloc(&c->alloc, n, sizeof *infos);
        LC_RETURN_IF(infos == NULL, err, LC_ENOMEM,
                     "out of memory for %zu bands", n);
        for (size_t i = 0; i < n; i++) {
            const struct lc__stac_raster_band *rb =
                c->items->assets[first * c->items->nassets + c->band_asset[i]]
                    .bands;
            infos[i].dtype = rb->data_type;
            infos[i].has_nodata = rb->has_nodata;
            infos[i].nodata = rb->nodata;
        }
        c->contract_from_catalogue = true;
        int status = resolve_contract(c, o, infos, err);
        lc__free(&c->alloc, infos);
        return status;
    }
    struct probe *probes = take_early_probes(c, first, early);
    bool fetched = probes != NULL;
    if (!fetched)
        probes = lc__calloc(&c->alloc, n, sizeof *probes);
    struct lc_cog_info *infos = lc__calloc(&c->alloc, n, sizeof *infos);
    int status = LC_OK;
    if (probes == NULL || infos == NULL) {
        status = lc__error(err, LC_ENOMEM, "out of memory for %zu bands", n);
        goto out;
    }
    if (!fetched) {
        const struct lc__stac_asset *row =
            &c->items->assets[first * c->items->nassets];
        for (size_t i = 0; i < n; i++)
            probes[i] = (struct probe){.href = row[c->band_asset[i]].href,
                                       .store = c->store,
                                       .limits = &c->limits};
        run_probes(probes, n);
    }
    for (size_t i = 0; i < n && status == LC_OK; i++) {
        struct probe *p = &probes[i];
        if (p->status < 0) {
            /* The reference's advice, adapted: its message names the
             * href and carries the store's error. */
            status = lc__error(err, p->status,
                               "Store cannot open '%s': %s. Pass a "
                               "configured store= argument to "
                               "lazycogs.open() to authenticate.",
                               p->href, p->err.msg);
            break;
        }
        infos[i].struct_size = sizeof infos[i];
        status = lc_cog_get_info(p->cog, &infos[i]);
        if (status < 0)
            status =
                lc__error(err, status, "%s: cannot describe the COG", p->href);
    }
    if (status == LC_OK)
        status = resolve_contract(c, o, infos, err);
    if (status == LC_OK)
        c->headers_pixel_m = headers_pixel_size(c, infos);
out:
    for (size_t i = 0; probes != NULL && i < n; i++)
        lc__header_cache_release(probes[i].cog);
    lc__free(&c->alloc, probes);
    lc__free(&c->alloc, infos);
    return status;
}

/* ---- open and close ----------------------------------------------------- */

/* Most decode/warp threads a collection may ask for. */
#define MAX_THREADS 1024

/* The default number of decode/warp threads: LAZYCOGS_REPROJECT_WORKERS
 * (the reference's variable, with its messages) or the CPU count. */
static int default_threads(size_t *n_ret, struct lc__errbuf *err)
{
    const char *v = getenv("LAZYCOGS_REPROJECT_WORKERS");
    if (v == NULL) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        *n_ret = n > 0 ? (size_t)n : 1;
        return LC_OK;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    while (end != NULL && isspace((unsigned char)*end))
        end++;
    LC_RETURN_IF(
        end == v || end == NULL || *end != '\0' || errno != 0, err, LC_EINVAL,
        "LAZYCOGS_REPROJECT_WORKERS must be an integer, got '%.40s'", v);
    LC_RETURN_IF(n < 1, err, LC_EINVAL, "worker count must be >= 1, got %lld",
                 n);
    LC_RETURN_IF(n > MAX_THREADS, err, LC_EINVAL,
                 "worker count must be <= %d, got %lld", MAX_THREADS, n);
    *n_ret = (size_t)n;
    return LC_OK;
}

/* Replaces the selected items' band hrefs by what map_href makes of them
 * (path_from_href), once, so that reads never call back. */
static int map_hrefs(struct lc_collection *c,
                     const struct lc_collection_options *o,
                     struct lc__errbuf *err)
{
    if (o->map_href == NULL)
        return LC_OK;
    struct lc__stac_items *items = c->catalog->items;
    for (size_t k = 0; k < c->nitems; k++) {
        for (size_t b = 0; b < c->nbands; b++) {
            struct lc__stac_asset *a =
                &items->assets[c->item[k] * items->nassets + c->band_asset[b]];
            if (a->href == NULL)
                continue;
            char *mapped = o->map_href(o->map_href_opaque, a->href);
            LC_RETURN_IF(mapped == NULL, err, LC_EINVAL,
                         "path_from_href failed for '%s' of item '%s'", a->href,
                         items->ids[c->item[k]]);
            a->href = lc__arena_strndup(&items->arena, mapped, strlen(mapped));
            free(mapped);
            LC_RETURN_IF(a->href == NULL, err, LC_ENOMEM, "out of memory");
        }
    }
    return LC_OK;
}

/* ---- local hrefs: confinement to allowed roots --------------------------- */

/* Whether the resolved path lies in the resolved folder root. */
static bool path_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n > 0 && root[n - 1] == '/')
        n--; /* "/" itself */
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/*
 * With confinement on, refuses every selected item's band href that would
 * be read from the local file system unless, resolved (symlinks, ".."), it
 * lies in one of the allowed roots. Runs before any header is read.
 */
static int confine_local_hrefs(struct lc_collection *c, const char *href,
                               const struct lc_collection_options *o,
                               struct lc__errbuf *err)
{
    if (!confinement_on(href, o))
        return LC_OK;
    LC_RETURN_IF(o->nallowed_local_roots > 0 && o->allowed_local_roots == NULL,
                 err, LC_EINVAL, "allowed_local_roots is NULL");
    size_t nroots = o->nallowed_local_roots;
    size_t nbytes;
    LC_RETURN_IF(!lc__size_mul(nroots, PATH_MAX, &nbytes), err, LC_ELIMIT,
                 "too many allowed_local_roots (%zu)", nroots);
    char *roots = lc__malloc(&c->alloc, nbytes > 0 ? nbytes : 1);
    LC_RETURN_IF(roots == NULL, err, LC_ENOMEM, "out of memory");
    int status = LC_OK;
    for (size_t i = 0; i < nroots && status == LC_OK; i++) {
        const char *root = o->allowed_local_roots[i];
        if (root == NULL || !lc__file_resolve(root, roots + i * PATH_MAX))
            status = lc__error(err, LC_EINVAL,
                               "allowed_local_roots: cannot resolve '%s': %s",
                               root != NULL ? root : "(null)",
                               root != NULL ? strerror(errno) : "NULL");
    }
    const struct lc__stac_items *items = c->catalog->items;
    for (size_t k = 0; k < c->nitems && status == LC_OK; k++) {
        for (size_t b = 0; b < c->nbands && status == LC_OK; b++) {
            const struct lc__stac_asset *a =
                &items->assets[c->item[k] * items->nassets + c->band_asset[b]];
            const char *id = items->ids[c->item[k]];
            char path[PATH_MAX], real[PATH_MAX];
            bool local = false;
            if (a->href == NULL)
                continue;
            status = lc__store_local_path(c->store, a->href, path, sizeof path,
                                          &local, err);
            if (status < 0 || !local)
                continue;
            bool allowed = false;
            bool resolved = lc__file_resolve(path, real);
            const char *why = resolved ? real : strerror(errno);
            for (size_t i = 0; resolved && i < nroots && !allowed; i++)
                allowed = path_under(real, roots + i * PATH_MAX);
            if (allowed)
                continue;
            status = lc__error(
                err, LC_EINVAL,
                "Local asset href '%s' (band '%s' of item '%s', %s '%s') is "
                "outside the allowed local roots: %s",
                a->href, c->bands[b], id,
                resolved ? "it resolves to" : "it cannot be resolved:", why,
                o->confine_local_hrefs > 0
                    ? "only hrefs under allowed_local_roots may be read"
                    : "the catalogue is remote, so its local hrefs are "
                      "refused unless allowed_local_roots names their "
                      "folder");
        }
    }
    lc__free(&c->alloc, roots);
    return status;
}

/*
 * The selection without waiting for the 4326 box
 * ==============================================
 *
 * The 4326 query box waits for PROJ's search for a datum transformation
 * (6-25 ms in a new process); the selection seldom needs it. Two boxes
 * in the CRS's own datum, under a millisecond, bound it: one grown by the
 * most a datum shift moves it (lc__crs_bounds_around_4326), one shrunk by
 * as much (lc__crs_bounds_inside_4326). The catalogue loads with the box
 * around for its pushdown and filter, while a pool thread searches
 * (lc__engine_search_4326). When every item loaded also meets the box
 * inside, the selection is what the query box would select, and open()
 * returns without the search: its reads, which need the operation, find
 * it found or wait for it. Otherwise (an item near the query box's edge)
 * the calling thread takes the search's result, or waits for it, and the
 * selection is narrowed to the items that meet the query box itself
 * (lc__catalog_narrow), in their order. When there are no such boxes
 * (near the antimeridian or a pole, an unusual datum), the search comes
 * first; when the query box is too small for a box inside, the load and
 * the search overlap all the same.
 *
 * Until the query box is found, c->bbox_4326 holds the box around it
 * (bbox_4326_exact false); no_match finds it for its message. A search
 * that fails (PROJ has no way from the CRS's datum to WGS 84) then fails
 * the reads, not open().
 */
static int load_selection(struct lc_collection *c, const char *href,
                          const struct lc_collection_options *o,
                          struct lc__errbuf *err)
{
    double around[4], inside[4] = {0};
    if (lc__crs_bounds_around_4326(c->crs, o->bbox, around, NULL) < 0) {
        LC_FORWARD_IF_ERROR(open_query_box(c, o, err));
        struct lc__envelope box = query_box(c);
        return load_catalog(c, href, o, 0, &box, &c->catalog, err);
    }
    lc__engine_search_4326(c->crs, c->area);
    memcpy(c->bbox_4326, around, sizeof c->bbox_4326);
    struct lc__envelope wide = {around[0], around[1], around[2], around[3]};
    /* A query box narrower than twice the margin has no box inside. */
    bool has_inside =
        lc__crs_bounds_inside_4326(c->crs, o->bbox, inside, NULL) == LC_OK;
    struct lc__envelope sure = {inside[0], inside[1], inside[2], inside[3]};
    bool all_sure = false;
    int status = load_catalog(c, href, o, 0, &wide, &c->catalog, err);
    if (status == LC_OK && has_inside)
        status = lc__catalog_all_meet(c->catalog, &sure, &all_sure, err);
    if (status < 0 || all_sure)
        return status;
    LC_FORWARD_IF_ERROR(open_query_box(c, o, err));
    struct lc__envelope box = query_box(c);
    return lc__catalog_narrow(c->catalog, &box, err);
}

/* The catalogue and everything open() makes of it. */
static int open_items(struct lc_collection *c, const char *href,
                      const struct lc_collection_options *o,
                      struct early_probe *early, struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(load_selection(c, href, o, err));
    c->items = c->catalog->items;
    if (c->catalog->count == 0)
        return no_match(c, o, href, err);
    size_t first = c->catalog->order[0];
    LC_FORWARD_IF_ERROR(choose_bands(c, o, first, err));
    keep_usable_items(c);
    if (c->nitems == 0)
        return no_match(c, o, href, err);
    LC_FORWARD_IF_ERROR(map_hrefs(c, o, err));
    LC_FORWARD_IF_ERROR(confine_local_hrefs(c, href, o, err));
    LC_FORWARD_IF_ERROR(build_steps(c, err));
    LC_FORWARD_IF_ERROR(build_rtree(c, err));
    return sample_bands(c, o, first, early, err);
}

/*
 * Has connections for the first read opened while the caller goes on
 * (lc__store_preconnect): it asks for every band's header of its first
 * item at once, so one connection per band. Not when open() read the
 * first item's headers itself: those connections wait in curl's pool.
 */
static void preconnect(const struct lc_collection *c)
{
    if (!c->contract_from_catalogue)
        return;
    const struct lc__stac_items *items = c->items;
    size_t first = c->item[0];
    lc__store_preconnect(
        c->store, items->assets[first * items->nassets + c->band_asset[0]].href,
        c->nbands);
}

static int open_collection(struct lc_collection *c, const char *href,
                           const struct lc_collection_options *o,
                           struct lc__errbuf *err)
{
    /* time_period: NULL is the reference's default "P1D"; "none" (any
     * case of its first letter, as Python's None) groups exact instants. */
    const char *period = o->time_period != NULL ? o->time_period : "P1D";
    if (strcmp(period, "none") == 0 || strcmp(period, "None") == 0)
        period = NULL;
    c->limits = o->limits;
    LC_FORWARD_IF_ERROR(lc__grouper_init(&c->grouper, period, err));
    c->resampling = LC_WARP_NEAREST;
    LC_RETURN_IF(o->resampling != NULL &&
                     lc__warp_method_parse(o->resampling, &c->resampling) < 0,
                 err, LC_EINVAL,
                 "Unsupported resampling '%.100s'. Supported values: "
                 "'nearest', 'bilinear', 'cubic', 'average', 'mode', 'min' "
                 "and 'max'.",
                 o->resampling);
    c->method = o->mosaic_method;
    c->errors = o->errors;
    c->max_concurrent_reads = o->max_concurrent_reads > 0
                                  ? o->max_concurrent_reads
                                  : DEFAULT_MAX_CONCURRENT_READS;
    c->nthreads = o->nthreads;
    if (c->nthreads == 0)
        LC_FORWARD_IF_ERROR(default_threads(&c->nthreads, err));
    LC_RETURN_IF(c->nthreads > MAX_THREADS, err, LC_EINVAL,
                 "nthreads must be <= %d, got %zu", MAX_THREADS, c->nthreads);
    c->href = dup_str(&c->alloc, href);
    LC_RETURN_IF(c->href == NULL, err, LC_ENOMEM, "out of memory");
    if (o->store != NULL) {
        lc__store_ref(o->store);
        c->store = o->store;
    }

    struct early_probe early = {0};
    begin_early_probe(c, href, o, &early);
    int status = open_grid(c, o, err);
    if (status == LC_OK) {
        post_sure_box(&early);
        status = open_items(c, href, o, &early, err);
    }
    finish_early_probe(&early);
    if (status == LC_OK) {
        preconnect(c);
        lc__engine_prepare_items(c);
    }
    if (status == LC_OK && lc__readahead_init(c, o->readahead >= 0) < 0)
        status = lc__error(err, LC_ENOMEM, "%s: out of memory", href);
    return status;
}

int lc__collection_open(const char *href,
                        const struct lc_collection_options *opts,
                        const struct lc_allocator *alloc,
                        struct lc_collection **collection_ret,
                        struct lc__errbuf *err)
{
    LC_RETURN_IF(collection_ret == NULL, err, LC_EINVAL,
                 "lc_collection_open: collection_ret is NULL");
    *collection_ret = NULL;
    LC_FORWARD_IF_ERROR(check_options(href, opts, err));
    struct lc_collection *c = lc__calloc(alloc, 1, sizeof *c);
    LC_RETURN_IF(c == NULL, err, LC_ENOMEM, "%s: out of memory", href);
    if (alloc != NULL)
        c->alloc = *alloc;
    c->src_pixel = lc__calloc(&c->alloc, 1, sizeof *c->src_pixel);
    if (c->src_pixel == NULL) {
        lc__free(&c->alloc, c);
        return lc__error(err, LC_ENOMEM, "%s: out of memory", href);
    }
    int status = open_collection(c, href, opts, err);
    if (status < 0) {
        lc_collection_close(c);
        return status;
    }
    *collection_ret = c;
    return LC_OK;
}

int lc_limits_set(struct lc_limits *limits, const char *name, size_t value)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"max_ifds", offsetof(struct lc_limits, max_ifds)},
        {"max_block_nbytes", offsetof(struct lc_limits, max_block_nbytes)},
        {"max_tag_nbytes", offsetof(struct lc_limits, max_tag_nbytes)},
        {"max_footer_nbytes", offsetof(struct lc_limits, max_footer_nbytes)},
        {"max_page_nbytes", offsetof(struct lc_limits, max_page_nbytes)},
        {"max_chunk_nbytes", offsetof(struct lc_limits, max_chunk_nbytes)},
        {"max_thrift_depth", offsetof(struct lc_limits, max_thrift_depth)},
        {"max_json_nbytes", offsetof(struct lc_limits, max_json_nbytes)},
        {"max_json_depth", offsetof(struct lc_limits, max_json_depth)},
        {"max_geometry_points",
         offsetof(struct lc_limits, max_geometry_points)},
    };
    struct lc__errbuf err = {0};
    if (limits == NULL || name == NULL)
        return lc__publish(NULL, LC_EINVAL);
    for (size_t i = 0; i < LC_ARRAY_SIZE(fields); i++) {
        if (strcmp(name, fields[i].name) == 0) {
            memcpy((char *)limits + fields[i].offset, &value, sizeof value);
            return lc__publish(NULL, LC_OK);
        }
    }
    char names[256] = "";
    for (size_t i = 0; i < LC_ARRAY_SIZE(fields); i++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%s", i > 0 ? ", " : "",
                 fields[i].name);
    }
    int status = lc__error(&err, LC_EINVAL,
                           "unknown limit '%.100s'; the limits are %s "
                           "(docs/limits.md)",
                           name, names);
    return lc__publish(&err, status);
}

int lc_collection_open(const char *href,
                       const struct lc_collection_options *opts,
                       struct lc_collection **collection_ret)
{
    struct lc__errbuf err = {0};
    int status = lc__collection_open(href, opts, NULL, collection_ret, &err);
    /* Messages name hrefs, which may carry signatures or passwords. */
    lc__redact_urls(err.msg, sizeof err.msg);
    return lc__publish(&err, status);
}

void lc_collection_close(struct lc_collection *c)
{
    if (c == NULL)
        return;
    struct lc_allocator a = c->alloc;
    lc__readahead_stop(c);
    lc__rtree_free(c->rtree);
    lc__free(&a, c->steps);
    lc__free(&a, c->step_items);
    lc__free(&a, c->step_of);
    for (size_t i = 0; c->bands != NULL && i < c->nbands; i++)
        lc__free(&a, c->bands[i]);
    lc__free(&a, c->bands);
    lc__free(&a, c->band_asset);
    lc__catalog_free(c->catalog);
    lc__crs_free(c->crs);
    lc__free(&a, c->crs_wkt);
    lc_store_close(c->store);
    lc__free(&a, c->href);
    lc__free(&a, c->src_pixel);
    lc__free(&a, c);
}

/* ---- queries ------------------------------------------------------------ */

static int get_info(const struct lc_collection *c,
                    struct lc_collection_info *info, struct lc__errbuf *err)
{
    LC_RETURN_IF(c == NULL || info == NULL, err, LC_EINVAL,
                 "lc_collection_get_info: collection and info are required");
    LC_RETURN_IF(info->struct_size != sizeof *info, err, LC_EINVAL,
                 "lc_collection_get_info: struct lc_collection_info of "
                 "unknown size %zu",
                 info->struct_size);
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->nbands = c->nbands;
    info->ntimes = c->ntimes;
    info->width = c->grid.width;
    info->height = c->grid.height;
    lc__gt_to_affine(c->grid.gt, info->transform);
    info->dtype = c->dtype;
    info->has_nodata = c->has_nodata;
    info->nodata = c->has_nodata ? c->nodata : 0.0;
    info->dtype_explicit = c->dtype_explicit;
    info->nodata_explicit = c->nodata_explicit;
    info->mosaic_method = c->method;
    info->nitems = c->nitems;
    info->epsg = c->epsg;
    info->crs_wkt = c->crs_wkt;
    info->nthreads = c->nthreads;
    return LC_OK;
}

int lc_collection_get_info(const struct lc_collection *collection,
                           struct lc_collection_info *info_ret)
{
    struct lc__errbuf err = {0};
    return lc__publish(&err, get_info(collection, info_ret, &err));
}

const char *lc_collection_band(const struct lc_collection *collection, size_t i)
{
    if (collection == NULL || i >= collection->nbands)
        return NULL;
    return collection->bands[i];
}

static int get_time(const struct lc_collection *c, size_t t,
                    struct lc_time_step *step, struct lc__errbuf *err)
{
    LC_RETURN_IF(c == NULL || step == NULL, err, LC_EINVAL,
                 "lc_collection_get_time: collection and step are required");
    LC_RETURN_IF(step->struct_size != sizeof *step, err, LC_EINVAL,
                 "lc_collection_get_time: struct lc_time_step of unknown "
                 "size %zu",
                 step->struct_size);
    LC_RETURN_IF(t >= c->ntimes, err, LC_EINVAL,
                 "lc_collection_get_time: time step %zu of %zu", t, c->ntimes);
    const struct lc__step *s = &c->steps[t];
    step->label = s->label;
    step->filter = s->filter;
    step->coord = s->coord;
    step->coord_unit =
        lc__grouper_coord_unit(&c->grouper) == LC_TIME_UNIT_NS ? 1 : 0;
    step->nitems = s->count;
    return LC_OK;
}

int lc_collection_get_time(const struct lc_collection *collection, size_t t,
                           struct lc_time_step *step_ret)
{
    struct lc__errbuf err = {0};
    return lc__publish(&err, get_time(collection, t, step_ret, &err));
}
