/* test_collection_plan.c - lc_collection_plan over the ci world: request
 * checks, agreement with lc_collection_read (items matched, blocks
 * fetched), plans from several threads at once, every allocation failure;
 * run under the sanitizers. tests/python/test_explain.py checks plans
 * against independent oracles. */
/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include "../../src/common/common.h"

#include "../../src/engine/collection.h"
#include "../../src/engine/select.h"
#include "../../src/geo/crs.h"
#include "../../src/tiff/tiff.h"
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define W 200
#define H 200

static const struct lc_window windows[] = {
    {0, 0, W, H}, {0, 0, 64, 64}, {150, 150, 50, 50}, {37, 91, 100, 60}};
#define NW (sizeof windows / sizeof windows[0])

static void corner_options(struct lc_collection_options *o,
                           enum lc_mosaic_method method)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->crs = "EPSG:32615";
    /* Where four zone-15 tiles of the ci world overlap. */
    o->bbox[0] = 495000.0;
    o->bbox[1] = 5185000.0;
    o->bbox[2] = 515000.0;
    o->bbox[3] = 5205000.0;
    o->resolution = 100.0;
    o->mosaic_method = method;
    o->nthreads = 1;
    o->sortby = "-eo:cloud_cover";
}

static struct lc_collection *open_corner(const char *catalog,
                                         enum lc_mosaic_method method)
{
    struct lc_collection_options o;
    corner_options(&o, method);
    struct lc_collection *c = NULL;
    if (lc_collection_open(catalog, &o, &c) != LC_OK)
        fprintf(stderr, "lc_collection_open: %s\n", lc_errmsg());
    return c;
}

static size_t all_times(const struct lc_collection *c, size_t *times,
                        size_t cap)
{
    struct lc_collection_info info = {.struct_size = sizeof info};
    lc_collection_get_info(c, &info);
    size_t n = info.ntimes < cap ? info.ntimes : cap;
    for (size_t i = 0; i < n; i++)
        times[i] = i;
    return n;
}

static struct lc_plan *make_plan(struct lc_collection *c, const size_t *bands,
                                 size_t nbands, const size_t *times,
                                 size_t ntimes, int headers, int *status_ret)
{
    struct lc_plan_request r = {.struct_size = sizeof r};
    r.bands = bands;
    r.nbands = nbands;
    r.times = times;
    r.ntimes = ntimes;
    r.windows = windows;
    r.nwindows = NW;
    r.fetch_headers = headers;
    struct lc_plan *p = NULL;
    *status_ret = lc_collection_plan(c, &r, &p);
    return p;
}

/* Reads one window with stats into out (W x H x 2 bands). */
static int read_window(struct lc_collection *c, size_t t,
                       const struct lc_window *win, uint16_t *out,
                       struct lc_read_stats *st)
{
    static const size_t bands[] = {0, 4};
    struct lc_read_request r = {.struct_size = sizeof r};
    *st = (struct lc_read_stats){.struct_size = sizeof *st};
    r.bands = bands;
    r.nbands = 2;
    r.times = &t;
    r.ntimes = 1;
    r.x0 = win->col_off;
    r.y0 = win->row_off;
    r.width = win->width;
    r.height = win->height;
    r.out = out;
    r.out_nbytes = 2 * W * H * sizeof *out;
    return lc_collection_read(c, &r, st);
}

/* Each (time, window) matches as many items as a read of it. With
 * highest (which reads every item) and headers cached by the plan, the
 * read fetches exactly the estimated blocks. First is not compared: its
 * skips are estimated from footprints, and a read may fetch the next item
 * before the one ahead is mosaicked (then drop it). The block cache is off:
 * the plan is made before the reads, and blocks one read kept would spare
 * the next reads requests the plan counted (test_block_cache). */
static void test_agrees_with_reads(const char *catalog,
                                   enum lc_mosaic_method method)
{
    struct lc_collection *c = open_corner(catalog, method);
    LC_ASSERT_TRUE(c != NULL);
    if (c == NULL)
        return;
    size_t budget = lc__block_cache_set_budget(0);
    size_t times[16];
    size_t nt = all_times(c, times, 16);
    static const size_t bands[] = {0, 4};
    int status;
    struct lc_plan *p = make_plan(c, bands, 2, times, nt, 1, &status);
    LC_ASSERT_EQ(status, LC_OK);
    size_t total = 0, nread = 0;
    uint16_t *out = malloc(2 * W * H * sizeof *out);
    for (size_t t = 0; p != NULL && t < nt; t++) {
        for (size_t w = 0; w < NW; w++) {
            struct lc_read_stats st;
            LC_ASSERT_EQ(read_window(c, times[t], &windows[w], out, &st),
                         LC_OK);
            size_t n = lc_plan_nitems(p, t, w);
            LC_ASSERT_UEQ(n, st.items_matched);
            total += n;
            uint64_t ranges = 0, bytes = 0;
            size_t kept = 0, prev_k = 0;
            for (size_t i = 0; i < n; i++) {
                struct lc_plan_item it = {.struct_size = sizeof it};
                LC_ASSERT_EQ(lc_plan_get_item(p, t, w, i, &it), LC_OK);
                LC_ASSERT_TRUE(it.id != NULL && it.id[0] != '\0');
                LC_ASSERT_TRUE(i == 0 || it.k > prev_k);
                prev_k = it.k;
                bool any = false;
                for (size_t b = 0; b < 2; b++) {
                    struct lc_plan_read rd = {.struct_size = sizeof rd};
                    LC_ASSERT_EQ(lc_plan_get_read(p, t, w, i, b, &rd), LC_OK);
                    LC_ASSERT_TRUE(rd.href != NULL && rd.has_header);
                    LC_ASSERT_TRUE(method == LC_MOSAIC_FIRST || !rd.skipped);
                    if (rd.skipped || !rd.has_window)
                        continue;
                    any = true;
                    ranges += rd.est_ranges;
                    bytes += rd.est_bytes;
                    /* Local files: no coalescing. */
                    LC_ASSERT_UEQ(rd.est_requests, rd.est_ranges);
                }
                kept += any;
            }
            LC_ASSERT_UEQ(st.cogs_opened, 0);
            if (method != LC_MOSAIC_FIRST) {
                LC_ASSERT_UEQ(st.items_read, kept);
                LC_ASSERT_UEQ(st.requests, ranges);
                LC_ASSERT_UEQ(st.bytes, bytes);
            }
            nread += st.items_read;
        }
    }
    LC_ASSERT_TRUE(total > nt);
    LC_ASSERT_TRUE(nread > 0);
    free(out);
    lc_plan_free(p);
    lc_collection_close(c);
    lc__block_cache_set_budget(budget);
}

/* A read again of a window whose blocks the first read kept makes no
 * request, gives the same pixels, and a plan made then estimates no range;
 * with the cache emptied (budget 0), the read fetches them all again. */
static void test_block_cache(const char *catalog)
{
    struct lc_collection *c = open_corner(catalog, LC_MOSAIC_HIGHEST);
    LC_ASSERT_TRUE(c != NULL);
    if (c == NULL)
        return;
    size_t nblocks = 0, nbytes = 0;
    size_t budget = lc__block_cache_set_budget(0);
    lc__block_cache_stats(&nblocks, &nbytes);
    LC_ASSERT_UEQ(nblocks, 0);
    LC_ASSERT_UEQ(nbytes, 0);
    lc__block_cache_set_budget(budget);
    uint16_t *a = calloc(2 * W * H, sizeof *a);
    uint16_t *b = calloc(2 * W * H, sizeof *b);
    struct lc_read_stats st1, st2, st3;
    const struct lc_window *win = &windows[0];
    LC_ASSERT_EQ(read_window(c, 0, win, a, &st1), LC_OK);
    LC_ASSERT_TRUE(st1.requests > 0 && st1.bytes > 0);
    lc__block_cache_stats(&nblocks, &nbytes);
    LC_ASSERT_UEQ(nblocks, st1.requests); /* local files: one per block */
    LC_ASSERT_UEQ(nbytes, st1.bytes);

    LC_ASSERT_EQ(read_window(c, 0, win, b, &st2), LC_OK);
    LC_ASSERT_UEQ(st2.requests, 0);
    LC_ASSERT_UEQ(st2.bytes, 0);
    LC_ASSERT_UEQ(st2.items_read, st1.items_read);
    LC_ASSERT_TRUE(memcmp(a, b, 2 * W * H * sizeof *a) == 0);

    /* windows[0] is the plan's window 0. */
    static const size_t t = 0, bands[] = {0, 4};
    int status;
    struct lc_plan *p = make_plan(c, bands, 2, &t, 1, 1, &status);
    LC_ASSERT_EQ(status, LC_OK);
    LC_ASSERT_TRUE(p != NULL && lc_plan_nitems(p, 0, 0) == st1.items_matched);
    for (size_t i = 0; p != NULL && i < lc_plan_nitems(p, 0, 0); i++)
        for (size_t k = 0; k < 2; k++) {
            struct lc_plan_read rd = {.struct_size = sizeof rd};
            LC_ASSERT_EQ(lc_plan_get_read(p, 0, 0, i, k, &rd), LC_OK);
            LC_ASSERT_UEQ(rd.est_ranges, 0);
        }
    lc_plan_free(p);

    lc__block_cache_set_budget(0);
    memset(b, 0, 2 * W * H * sizeof *b);
    LC_ASSERT_EQ(read_window(c, 0, win, b, &st3), LC_OK);
    LC_ASSERT_UEQ(st3.requests, st1.requests);
    LC_ASSERT_UEQ(st3.bytes, st1.bytes);
    LC_ASSERT_TRUE(memcmp(a, b, 2 * W * H * sizeof *a) == 0);
    lc__block_cache_set_budget(budget);
    free(a);
    free(b);
    lc_collection_close(c);
}

static void test_checks(const char *catalog)
{
    struct lc_collection *c = open_corner(catalog, LC_MOSAIC_FIRST);
    LC_ASSERT_TRUE(c != NULL);
    if (c == NULL)
        return;
    size_t band = 0, time = 0, bad = 99;
    struct lc_window win = {0, 0, 10, 10};
    struct lc_plan_request r = {.struct_size = sizeof r};
    r.bands = &band;
    r.nbands = 1;
    r.times = &time;
    r.ntimes = 1;
    r.windows = &win;
    r.nwindows = 1;
    struct lc_plan *p = NULL;

    LC_ASSERT_EQ(lc_collection_plan(NULL, &r, &p), LC_EINVAL);
    LC_ASSERT_EQ(lc_collection_plan(c, NULL, &p), LC_EINVAL);
    LC_ASSERT_EQ(lc_collection_plan(c, &r, NULL), LC_EINVAL);
    r.struct_size = 8;
    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "struct_size 8") != NULL);
    r.struct_size = sizeof r;
    r.bands = &bad;
    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "band index 99") != NULL);
    r.bands = &band;
    r.times = &bad;
    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "time index 99") != NULL);
    r.times = &time;
    win.col_off = W - 5;
    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "outside the grid") != NULL);
    win.col_off = 0;
    win.width = 0;
    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_EINVAL);
    win.width = 10;
    r.windows = NULL;
    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_EINVAL);
    r.windows = &win;
    LC_ASSERT_TRUE(p == NULL);

    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_OK);
    size_t n = lc_plan_nitems(p, 0, 0);
    LC_ASSERT_UEQ(lc_plan_nitems(p, 1, 0), 0);
    LC_ASSERT_UEQ(lc_plan_nitems(p, 0, 1), 0);
    LC_ASSERT_UEQ(lc_plan_nitems(NULL, 0, 0), 0);
    struct lc_plan_item it = {.struct_size = sizeof it};
    struct lc_plan_read rd = {.struct_size = sizeof rd};
    LC_ASSERT_EQ(lc_plan_get_item(p, 0, 0, n, &it), LC_EINVAL);
    if (n > 0) {
        LC_ASSERT_EQ(lc_plan_get_read(p, 0, 0, 0, 0, &rd), LC_OK);
        LC_ASSERT_TRUE(!rd.has_header); /* no fetch_headers */
        LC_ASSERT_EQ(lc_plan_get_read(p, 0, 0, 0, 1, &rd), LC_EINVAL);
        it.struct_size = 4;
        LC_ASSERT_EQ(lc_plan_get_item(p, 0, 0, 0, &it), LC_EINVAL);
        rd.struct_size = 4;
        LC_ASSERT_EQ(lc_plan_get_read(p, 0, 0, 0, 0, &rd), LC_EINVAL);
    }
    lc_plan_free(p);
    lc_plan_free(NULL);

    /* Nothing asked: an empty plan. */
    r.nbands = r.ntimes = r.nwindows = 0;
    LC_ASSERT_EQ(lc_collection_plan(c, &r, &p), LC_OK);
    LC_ASSERT_UEQ(lc_plan_nitems(p, 0, 0), 0);
    lc_plan_free(p);
    lc_collection_close(c);
}

/* ---- several threads ------------------------------------------------------
 */

struct planner {
    struct lc_collection *c;
    size_t nt;
    size_t counts[16 * NW];
    int status;
};

static void *planner_main(void *arg)
{
    struct planner *pl = arg;
    size_t times[16];
    static const size_t bands[] = {0, 1, 2, 4};
    for (size_t i = 0; i < pl->nt; i++)
        times[i] = i;
    for (int rep = 0; rep < 3; rep++) {
        struct lc_plan *p =
            make_plan(pl->c, bands, 4, times, pl->nt, 1, &pl->status);
        if (pl->status != LC_OK)
            return NULL;
        for (size_t t = 0; t < pl->nt; t++)
            for (size_t w = 0; w < NW; w++)
                pl->counts[t * NW + w] = lc_plan_nitems(p, t, w);
        lc_plan_free(p);
    }
    return NULL;
}

static void test_threads(const char *catalog)
{
    struct lc_collection *c = open_corner(catalog, LC_MOSAIC_FIRST);
    LC_ASSERT_TRUE(c != NULL);
    if (c == NULL)
        return;
    size_t times[16];
    size_t nt = all_times(c, times, 16);
    struct planner pl[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&pl[i], 0, sizeof pl[i]);
        pl[i].c = c;
        pl[i].nt = nt;
        LC_ASSERT_EQ(pthread_create(&th[i], NULL, planner_main, &pl[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        LC_ASSERT_EQ(pl[i].status, LC_OK);
        LC_ASSERT_MEM_EQ(pl[i].counts, pl[0].counts, sizeof pl[0].counts);
    }
    lc_collection_close(c);
}

/* ---- allocation failures ------------------------------------------------ */

static void test_allocation_failures(const char *catalog)
{
    struct lc_test_failing f = {.fail_at = SIZE_MAX};
    struct lc_allocator a = {lc_test_failing_alloc, lc_test_failing_free, &f};
    struct lc_collection_options o;
    corner_options(&o, LC_MOSAIC_FIRST);
    struct lc__errbuf err = {0};
    struct lc_collection *c = NULL;
    LC_ASSERT_EQ(lc__collection_open(catalog, &o, &a, &c, &err), LC_OK);
    if (c == NULL)
        return;
    size_t times[16];
    size_t nt = all_times(c, times, 16);
    static const size_t bands[] = {0, 4};
    size_t live = f.live, n;
    for (n = 0; n < 100000; n++) {
        f.fail_at = f.nallocs + n;
        int status;
        struct lc_plan *p = make_plan(c, bands, 2, times, nt, 1, &status);
        lc_plan_free(p);
        f.fail_at = SIZE_MAX;
        if (f.live != live)
            LC_CHECK_FAIL_("failing allocation %zu leaves %zu blocks", n,
                           f.live - live);
        if (status == LC_OK)
            break;
        if (status != LC_ENOMEM) {
            LC_CHECK_FAIL_("failing allocation %zu gave %s (%s)", n,
                           lc_err_name(status), lc_errmsg());
            break;
        }
    }
    LC_ASSERT_TRUE(n > 5 && n < 100000);
    fprintf(stderr, "plan succeeded after %zu failing allocations\n", n);
    lc_collection_close(c);
    LC_ASSERT_UEQ(f.live, 0);
}

/* The largest source pixel the match margin uses is in metres whether the
 * items are in the collection's own CRS or not: over the ci world's UTM
 * items (zone 15, the corner collection's own CRS, and others), it is the
 * largest proj:transform pixel size of the selected items' assets, the
 * sampled headers' included. */
static void test_source_pixel(const char *catalog)
{
    struct lc_collection *c = open_corner(catalog, LC_MOSAIC_FIRST);
    LC_ASSERT_TRUE(c != NULL);
    if (c == NULL)
        return;
    const struct lc__stac_items *items = c->items;
    double want = c->headers_pixel_m;
    size_t own = 0;
    for (size_t b = 0; b < c->nbands; b++) {
        for (size_t k = 0; k < c->nitems; k++) {
            const struct lc__stac_asset *a =
                &items->assets[c->item[k] * items->nassets + c->band_asset[b]];
            if (a->href == NULL || !a->has_transform)
                continue;
            LC_ASSERT_TRUE(a->epsg / 100 == 326); /* UTM north, metres */
            own += a->epsg == c->epsg;
            double px = a->transform[0] > -a->transform[4] ? a->transform[0]
                                                           : -a->transform[4];
            if (px > want)
                want = px;
        }
    }
    LC_ASSERT_TRUE(own > 0 && want > 0.0);
    LC_ASSERT_TRUE(lc__collection_src_pixel_m(c) == want);
    lc_collection_close(c);
}

/* The ci world's corner in EPSG:5070 (Conus Albers, on NAD83) at 1 km, the
 * query box from (150000, 2580000) to (maxx, maxy). */
static struct lc_collection *open_albers(const char *catalog, double maxx,
                                         double maxy)
{
    struct lc_collection_options o;
    corner_options(&o, LC_MOSAIC_FIRST);
    o.crs = "EPSG:5070";
    const double bbox[4] = {150000.0, 2580000.0, maxx, maxy};
    memcpy(o.bbox, bbox, sizeof bbox);
    o.resolution = 1000.0;
    struct lc_collection *c = NULL;
    LC_ASSERT_EQ(lc_collection_open(catalog, &o, &c), LC_OK);
    return c;
}

/* Items chosen without the operation to EPSG:4326 (lc__select_covering:
 * what a read takes while open()'s search for it runs) are, whenever it
 * decides, the items lc__select_items chooses with it, in order; it
 * decides for windows inside footprints and not for all windows. */
static void test_covering_selection(const char *catalog)
{
    /* NAD83 (Conus Albers) around the ci world's corner: the selection
     * needs the datum transformation to WGS 84. */
    struct lc_collection *c = open_albers(catalog, 320000.0, 2740000.0);
    if (c == NULL)
        return;
    size_t steps[256];
    size_t ns = all_times(c, steps, 256);
    struct lc__errbuf err = {0};
    /* The operation found first: lc__select_items then never goes
     * without it. */
    struct lc__crs *wgs84 = NULL;
    bool owned = false;
    struct lc__transform *to_4326 = NULL;
    LC_ASSERT_EQ(lc__engine_crs_get("EPSG:4326", &wgs84, &owned, &err), LC_OK);
    LC_ASSERT_EQ(lc__transform_get_in(c->crs, wgs84, c->area, &to_4326, &err),
                 LC_OK);
    size_t decided = 0, undecided = 0;
    for (uint32_t y = 0; y < c->grid.height; y += 7) {
        for (uint32_t x = 0; x < c->grid.width; x += 7) {
            for (uint32_t side = 1; side <= 21; side += 20) {
                struct lc__grid win;
                if (x + side > c->grid.width || y + side > c->grid.height ||
                    lc__grid_window(&c->grid, x, y, side, side, &win, &err) !=
                        LC_OK)
                    continue;
                struct lc__selection exact = {0}, early = {0};
                LC_ASSERT_EQ(
                    lc__select_items(c, &win, steps, ns, NULL, &exact, &err),
                    LC_OK);
                int got =
                    lc__select_covering(c, &win, steps, ns, NULL, &early, &err);
                LC_ASSERT_TRUE(got == 0 || got == 1);
                LC_ASSERT_TRUE(!exact.covers_window);
                if (got == 1) {
                    decided++;
                    LC_ASSERT_TRUE(early.covers_window);
                    LC_ASSERT_EQ(early.count, exact.count);
                    bool same = early.count == exact.count;
                    for (size_t i = 0; same && i < exact.count; i++)
                        same = early.k[i] == exact.k[i] &&
                               early.step[i] == exact.step[i];
                    for (size_t s = 0; same && s < ns; s++)
                        same = early.nper[s] == exact.nper[s];
                    if (!same)
                        LC_CHECK_FAIL_("window %u, %u (%u px): chosen "
                                       "otherwise without the operation",
                                       x, y, side);
                } else {
                    undecided++;
                    LC_ASSERT_EQ(early.count, 0);
                }
                lc__selection_free(NULL, &exact);
                lc__selection_free(NULL, &early);
            }
        }
    }
    if (decided == 0 || undecided == 0)
        LC_CHECK_FAIL_("decided %zu windows, left %zu", decided, undecided);
    lc__transform_release(to_4326);
    if (owned)
        lc__crs_free(wgs84);
    lc_collection_close(c);
}

/* open() has what the first read needs for its items' CRSs prepared on the
 * pool (lc__engine_prepare_items): the operations from the collection's
 * CRS to each are found without a read. First in main: no other test of
 * this process has looked for them over this area. */
static void test_items_prepared_at_open(const char *catalog)
{
    struct lc_collection *c = open_albers(catalog, 330000.0, 2750000.0);
    if (c == NULL)
        return;
    const struct lc__stac_items *items = c->items;
    const char *codes[4];
    size_t ncodes = 0;
    for (size_t i = 0; i < c->nitems && ncodes < 4; i++) {
        const char *code =
            items->assets[c->item[i] * items->nassets + c->band_asset[0]]
                .proj_code;
        size_t k = 0;
        while (code != NULL && k < ncodes && strcmp(codes[k], code) != 0)
            k++;
        if (code != NULL && k == ncodes)
            codes[ncodes++] = code;
    }
    LC_ASSERT_TRUE(ncodes >= 1);
    for (size_t k = 0; k < ncodes; k++) {
        struct lc__errbuf err = {0};
        struct lc__crs *crs = NULL;
        bool owned = false;
        LC_ASSERT_EQ(lc__engine_crs_get(codes[k], &crs, &owned, &err), LC_OK);
        if (crs == NULL)
            continue;
        /* Up to 10 s (a slow sanitizer build): no read will search it. */
        bool found = false;
        for (int tries = 0; tries < 1000 && !found; tries++) {
            found = lc__transform_found(c->crs, crs, c->area);
            if (!found)
                nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
        if (!found)
            LC_CHECK_FAIL_("EPSG:5070 -> %s: not found after open()", codes[k]);
        if (owned)
            lc__crs_free(crs);
    }
    lc_collection_close(c);
}

/* lc__engine_crs_get from several threads at once: one CRS for all (made
 * once, the others wait for it), and a text PROJ rejects fails for each
 * of them, none left waiting. */
struct crs_get_arg {
    const char *text;
    struct lc__crs *crs;
    int status;
};

static void *crs_get_thread(void *p)
{
    struct crs_get_arg *a = p;
    bool owned = false;
    struct lc__errbuf err = {0};
    a->status = lc__engine_crs_get(a->text, &a->crs, &owned, &err);
    if (owned) /* the cache holds far fewer than its cap here */
        a->status = LC_ELIMIT;
    return NULL;
}

static void test_crs_get_threads(void)
{
    enum { N = 8 };
    pthread_t th[N];
    struct crs_get_arg args[N];
    for (size_t i = 0; i < N; i++) {
        args[i] = (struct crs_get_arg){
            i % 2 == 0 ? "EPSG:32618" : "EPSG:99999999", NULL, LC_OK};
        LC_ASSERT_EQ(pthread_create(&th[i], NULL, crs_get_thread, &args[i]), 0);
    }
    for (size_t i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < N; i++) {
        if (i % 2 == 0) {
            LC_ASSERT_EQ(args[i].status, LC_OK);
            LC_ASSERT_TRUE(args[i].crs != NULL && args[i].crs == args[0].crs);
        } else {
            LC_ASSERT_TRUE(args[i].status < 0);
        }
    }
}

int main(int argc, char **argv)
{
    char catalog[4096];
    struct stat sb;

    if (argc < 2) {
        fprintf(stderr, "usage: test_collection_plan WORLD_DIR\n");
        return 2;
    }
    snprintf(catalog, sizeof catalog, "%s/items.parquet", argv[1]);
    if (stat(catalog, &sb) != 0) {
        fprintf(stderr, "skipped: no %s (run tools/make_world.py)\n", catalog);
        return 77;
    }
    test_items_prepared_at_open(catalog);
    test_crs_get_threads();
    test_checks(catalog);
    test_agrees_with_reads(catalog, LC_MOSAIC_HIGHEST);
    test_agrees_with_reads(catalog, LC_MOSAIC_FIRST);
    test_block_cache(catalog);
    test_threads(catalog);
    test_source_pixel(catalog);
    test_covering_selection(catalog);
    test_allocation_failures(catalog);
    LC_TEST_END();
}
