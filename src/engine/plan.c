/* plan.c - lc_collection_plan: what reads of windows would touch, without
 * reading a pixel (the engine of lazycogs' explain()). */
/* SPDX-License-Identifier: MIT */

/*
 * How a plan is made
 * ==================
 *
 *   request (bands, times, windows)
 *      |
 *   match ---- per window, lc__select_items (select.c): the very code a
 *      |       read runs, so the plan lists exactly the items a read of
 *      |       that window and step would match, in sort order
 *      |
 *   first ---- (mosaic first only) which COGs early exit would skip:
 *      |       per (window, step, band) a coverage raster of the window
 *      |       (cells of 8 x 8 pixels or more, at most 256 a side) is fed
 *      |       with the items' footprint polygons in sort order; a COG is
 *      |       skipped when every cell its footprint rect (the rect a read
 *      |       tests, lc__footprint_rect) touches is already covered
 *      |
 *   headers -- (fetch_headers) every distinct asset href through the
 *      |       header cache, several at once for remote assets; then per
 *      |       read, lc__select_source (select.c, as a read): level and
 *      |       source window; lc__cog_window_cost (src/tiff): the blocks
 *      |       the window touches, from the block index
 *      |
 *   plan ----- entries (window, step) -> items (k order) -> band reads
 *
 * The early-exit estimate is an approximation, and says so in the public
 * header: a read decides from the pixels it has mosaicked (nodata inside
 * a footprint is not coverage), the plan from footprints. A cell counts
 * as covered when a footprint polygon holds its four corners, exact for
 * convex footprints; a cell partly covered by several footprints counts
 * as not covered, so the plan may report fewer skips than a read makes
 * there, and more where footprints hold nodata.
 */
#include "../common/common.h"

#include "../common/alloc.h"
#include "../io/io.h"
#include "../tiff/tiff.h"
#include "header_cache.h"
#include "select.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

/* Threads opening remote headers at once. */
#define PLAN_HEADER_THREADS 16
/* Coverage raster cells: at least this many pixels a side, at most this
 * many cells a side. */
#define COVER_CELL_MIN 8
#define COVER_MAX_CELLS 256
/* Segments each footprint edge is cut into before it is projected. */
#define FOOTPRINT_SEGMENTS 8
/* Footprint points beyond which edges are not cut, and beyond which the
 * bbox stands for the footprint. */
#define FOOTPRINT_DENSIFY_MAX_POINTS 65536
#define FOOTPRINT_MAX_POINTS (1u << 20)

struct lc_plan {
    const struct lc_collection *c;
    size_t ntimes, nwindows, nbands;
    size_t nus;       /* distinct steps */
    size_t *time_map; /* [ntimes]: request time -> distinct step */
    size_t *offset;   /* [nwindows * nus + 1]: entries of (w, s) */
    size_t *k;        /* [nentries] */
    size_t nentries;
    struct lc_plan_read *reads; /* [nentries * nbands] */
};

static const struct lc_allocator *plan_alloc(const struct lc_plan *p)
{
    return &p->c->alloc;
}

void lc_plan_free(struct lc_plan *p)
{
    if (p == NULL)
        return;
    const struct lc_allocator *a = plan_alloc(p);
    lc__free(a, p->time_map);
    lc__free(a, p->offset);
    lc__free(a, p->k);
    lc__free(a, p->reads);
    lc__free(a, p);
}

/* ---- getters ------------------------------------------------------------- */

/* The entries of (t, w): [*first, *first + *n). */
static bool entries_of(const struct lc_plan *p, size_t t, size_t w,
                       size_t *first, size_t *n)
{
    if (p == NULL || t >= p->ntimes || w >= p->nwindows)
        return false;
    size_t e = w * p->nus + p->time_map[t];
    *first = p->offset[e];
    *n = p->offset[e + 1] - p->offset[e];
    return true;
}

size_t lc_plan_nitems(const struct lc_plan *p, size_t t, size_t w)
{
    size_t first, n;
    return entries_of(p, t, w, &first, &n) ? n : 0;
}

int lc_plan_get_item(const struct lc_plan *p, size_t t, size_t w, size_t i,
                     struct lc_plan_item *item)
{
    size_t first, n;
    if (item == NULL || item->struct_size != sizeof *item ||
        !entries_of(p, t, w, &first, &n) || i >= n)
        return lc__publish(NULL, LC_EINVAL);
    const struct lc_collection *c = p->c;
    item->k = p->k[first + i];
    item->id = c->items->ids[c->item[item->k]];
    return LC_OK;
}

int lc_plan_get_read(const struct lc_plan *p, size_t t, size_t w, size_t i,
                     size_t b, struct lc_plan_read *read)
{
    size_t first, n;
    if (read == NULL || read->struct_size != sizeof *read ||
        !entries_of(p, t, w, &first, &n) || i >= n || b >= p->nbands)
        return lc__publish(NULL, LC_EINVAL);
    *read = p->reads[(first + i) * p->nbands + b];
    return LC_OK;
}

/* ---- early exit (first) -------------------------------------------------- */

/* A footprint in window pixels: rings of points, ring r being
 * pts[ring[r] .. ring[r + 1]) (x, y pairs; closed). */
struct footprint {
    double *xy;
    size_t npts, cap;
    size_t *ring;
    size_t nrings, ring_cap;
    bool ok; /* every point projected */
};

static bool fp_reserve(const struct lc_allocator *a, struct footprint *f,
                       size_t npts)
{
    if (f->npts + npts <= f->cap)
        return true;
    size_t cap = f->cap > 0 ? f->cap : 64;
    while (cap < f->npts + npts)
        cap *= 2;
    double *xy =
        lc__realloc(a, f->xy, f->npts * 2 * sizeof *xy, cap * 2 * sizeof *xy);
    if (xy == NULL)
        return false;
    f->xy = xy;
    f->cap = cap;
    return true;
}

static bool fp_begin_ring(const struct lc_allocator *a, struct footprint *f)
{
    if (f->nrings + 2 > f->ring_cap) {
        size_t cap = f->ring_cap > 0 ? f->ring_cap * 2 : 8;
        size_t *r =
            lc__realloc(a, f->ring, f->ring_cap * sizeof *r, cap * sizeof *r);
        if (r == NULL)
            return false;
        f->ring = r;
        f->ring_cap = cap;
    }
    f->ring[f->nrings] = f->npts;
    f->ring[f->nrings + 1] = f->npts;
    return true;
}

/* Adds a ring (lon/lat), each edge cut into nseg segments. */
static bool fp_add_ring(const struct lc_allocator *a, struct footprint *f,
                        const double *xy, size_t n, size_t nseg)
{
    if (n < 2)
        return true;
    if (!fp_begin_ring(a, f) || !fp_reserve(a, f, (n - 1) * nseg + 1))
        return false;
    for (size_t i = 0; i + 1 < n; i++) {
        for (size_t s = 0; s < nseg; s++) {
            double t = (double)s / (double)nseg;
            f->xy[2 * f->npts] = xy[2 * i] + (xy[2 * i + 2] - xy[2 * i]) * t;
            f->xy[2 * f->npts + 1] =
                xy[2 * i + 1] + (xy[2 * i + 3] - xy[2 * i + 1]) * t;
            f->npts++;
        }
    }
    f->xy[2 * f->npts] = xy[2 * (n - 1)];
    f->xy[2 * f->npts + 1] = xy[2 * (n - 1) + 1];
    f->npts++;
    f->nrings++;
    f->ring[f->nrings] = f->npts;
    return true;
}

static size_t geom_npoints(const struct lc__geom *g)
{
    size_t n = 0;
    if (g->type == LC__GEOM_POLYGON) {
        for (size_t r = 0; r < g->nseqs; r++)
            n += g->seqs[r].npoints;
    } else if (g->type == LC__GEOM_MULTIPOLYGON ||
               g->type == LC__GEOM_COLLECTION) {
        for (size_t i = 0; i < g->nparts; i++)
            n += geom_npoints(&g->parts[i]);
    }
    return n;
}

/* Adds the polygons of g; points and lines have no area. */
static bool fp_add_geom(const struct lc_allocator *a, struct footprint *f,
                        const struct lc__geom *g, size_t nseg)
{
    if (g->type == LC__GEOM_POLYGON) {
        for (size_t r = 0; r < g->nseqs; r++)
            if (!fp_add_ring(a, f, g->seqs[r].xy, g->seqs[r].npoints, nseg))
                return false;
    } else if (g->type == LC__GEOM_MULTIPOLYGON ||
               g->type == LC__GEOM_COLLECTION) {
        for (size_t i = 0; i < g->nparts; i++)
            if (!fp_add_geom(a, f, &g->parts[i], nseg))
                return false;
    }
    return true;
}

/* Builds item i's footprint in window pixels into f (reset first).
 * Returns false when out of memory; f->ok says whether it is usable. */
static bool footprint_build(const struct lc_allocator *a,
                            const struct lc__stac_items *items, size_t i,
                            struct lc__transform *to_out,
                            const double win_inv[6], struct footprint *f)
{
    f->npts = 0;
    f->nrings = 0;
    f->ok = false;
    const struct lc__geom *g = items->geometry[i];
    size_t npts = g != NULL ? geom_npoints(g) : 0;
    struct lc__envelope env;
    if (g != NULL && npts <= FOOTPRINT_MAX_POINTS) {
        lc__geom_envelope(g, &env);
        size_t nseg = npts * FOOTPRINT_SEGMENTS <= FOOTPRINT_DENSIFY_MAX_POINTS
                          ? FOOTPRINT_SEGMENTS
                          : 1;
        if (!fp_add_geom(a, f, g, nseg))
            return false;
    } else {
        env = items->bbox[i];
        if (!(env.minx < env.maxx) || !(env.miny < env.maxy))
            return true; /* crossing the antimeridian, or degenerate */
        double r[10] = {env.minx, env.miny, env.maxx, env.miny, env.maxx,
                        env.maxy, env.minx, env.maxy, env.minx, env.miny};
        if (!fp_add_ring(a, f, r, 5, FOOTPRINT_SEGMENTS))
            return false;
    }
    /* Wrapping around the antimeridian: the planar rings would lie. */
    if (f->npts == 0 || !(env.maxx - env.minx <= 180.0))
        return true;
    /* lc__transform_points takes separate x and y arrays: project through
     * a scratch copy. */
    double *x = lc__malloc_array(a, f->npts, 2 * sizeof *x);
    if (x == NULL)
        return false;
    double *y = x + f->npts;
    for (size_t p = 0; p < f->npts; p++) {
        x[p] = f->xy[2 * p];
        y[p] = f->xy[2 * p + 1];
    }
    size_t nfail = lc__transform_points(to_out, x, y, f->npts);
    for (size_t p = 0; p < f->npts; p++)
        lc__gt_apply(win_inv, x[p], y[p], &f->xy[2 * p], &f->xy[2 * p + 1]);
    lc__free(a, x);
    f->ok = nfail == 0;
    return true;
}

/* The coverage raster of one window. */
struct cover {
    uint32_t width, height; /* window pixels */
    uint32_t cs;            /* cell size in pixels */
    size_t ncx, ncy;
    uint8_t *corner; /* [(ncx + 1) * (ncy + 1)]: corner inside */
    uint8_t *inside; /* [ncx * ncy]: cell inside the footprint */
    double *cross;   /* crossings of one row */
    size_t cross_cap;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Marks the cells f holds whole (all four corners inside, even-odd rule
 * over every ring). Returns false when out of memory. */
static bool cover_cells(const struct lc_allocator *a, struct cover *cv,
                        const struct footprint *f)
{
    size_t ncells = cv->ncx * cv->ncy;
    memset(cv->inside, 0, ncells);
    if (!f->ok)
        return true;
    size_t nseg = f->npts; /* an upper bound on the crossings of a row */
    if (nseg > cv->cross_cap) {
        double *c = lc__realloc(a, cv->cross, cv->cross_cap * sizeof *c,
                                nseg * sizeof *c);
        if (c == NULL)
            return false;
        cv->cross = c;
        cv->cross_cap = nseg;
    }
    for (size_t j = 0; j <= cv->ncy; j++) {
        double y = (double)(j * cv->cs < cv->height ? j * cv->cs : cv->height);
        size_t m = 0;
        for (size_t r = 0; r < f->nrings; r++) {
            for (size_t p = f->ring[r]; p + 1 < f->ring[r + 1]; p++) {
                double x0 = f->xy[2 * p], y0 = f->xy[2 * p + 1];
                double x1 = f->xy[2 * p + 2], y1 = f->xy[2 * p + 3];
                if ((y0 <= y && y < y1) || (y1 <= y && y < y0))
                    cv->cross[m++] = x0 + (y - y0) * (x1 - x0) / (y1 - y0);
            }
        }
        qsort(cv->cross, m, sizeof *cv->cross, cmp_double);
        size_t at = 0;
        for (size_t i = 0; i <= cv->ncx; i++) {
            double x =
                (double)(i * cv->cs < cv->width ? i * cv->cs : cv->width);
            while (at < m && cv->cross[at] < x)
                at++;
            cv->corner[j * (cv->ncx + 1) + i] = (uint8_t)(at & 1);
        }
    }
    for (size_t j = 0; j < cv->ncy; j++) {
        const uint8_t *c0 = cv->corner + j * (cv->ncx + 1);
        const uint8_t *c1 = c0 + cv->ncx + 1;
        for (size_t i = 0; i < cv->ncx; i++)
            cv->inside[j * cv->ncx + i] = c0[i] & c0[i + 1] & c1[i] & c1[i + 1];
    }
    return true;
}

/* Is every cell the pixel rect {x0, y0, x1, y1} touches covered? An empty
 * rect is (as lc__mosaic_rect_done says). */
static bool rect_covered(const struct cover *cv, const uint8_t *covered,
                         const uint32_t rect[4])
{
    if (rect[0] >= rect[2] || rect[1] >= rect[3])
        return true;
    size_t i0 = rect[0] / cv->cs, i1 = (rect[2] - 1) / cv->cs;
    size_t j0 = rect[1] / cv->cs, j1 = (rect[3] - 1) / cv->cs;
    for (size_t j = j0; j <= j1; j++)
        for (size_t i = i0; i <= i1; i++)
            if (!covered[j * cv->ncx + i])
                return false;
    return true;
}

/* Marks the reads of window w that early exit would skip. */
static int early_exit(struct lc_plan *p, size_t w, const struct lc__grid *win,
                      struct lc__transform *to_out, struct lc__errbuf *err)
{
    const struct lc_collection *c = p->c;
    const struct lc_allocator *a = plan_alloc(p);
    struct cover cv = {.width = win->width, .height = win->height};
    struct footprint f = {0};
    uint8_t *covered = NULL;
    int status = LC_OK;

    uint32_t big = win->width > win->height ? win->width : win->height;
    cv.cs = (big + COVER_MAX_CELLS - 1) / COVER_MAX_CELLS;
    if (cv.cs < COVER_CELL_MIN)
        cv.cs = COVER_CELL_MIN;
    cv.ncx = (win->width + cv.cs - 1) / cv.cs;
    cv.ncy = (win->height + cv.cs - 1) / cv.cs;
    size_t ncells = cv.ncx * cv.ncy;
    double win_inv[6];
    LC_FORWARD_IF_ERROR(lc__gt_invert(win->gt, win_inv, err));
    uint32_t margin = lc__match_margin(c, win); /* as the read's */
    cv.corner = lc__malloc_array(a, cv.ncx + 1, cv.ncy + 1);
    cv.inside = lc__malloc(a, ncells);
    covered = lc__malloc_array(a, p->nbands, ncells);
    if (cv.corner == NULL || cv.inside == NULL || covered == NULL)
        goto nomem;
    for (size_t s = 0; s < p->nus; s++) {
        memset(covered, 0, p->nbands * ncells);
        size_t e0 = p->offset[w * p->nus + s],
               e1 = p->offset[w * p->nus + s + 1];
        for (size_t e = e0; e < e1; e++) {
            size_t index = c->item[p->k[e]];
            uint32_t rect[4];
            lc__footprint_rect(to_out, win, win_inv, &c->items->bbox[index],
                               margin, rect);
            bool built = false;
            for (size_t j = 0; j < p->nbands; j++) {
                struct lc_plan_read *r = &p->reads[e * p->nbands + j];
                uint8_t *cov = covered + j * ncells;
                if (r->href == NULL)
                    continue; /* nothing read, nothing covered */
                if (rect_covered(&cv, cov, rect)) {
                    r->skipped = 1;
                    continue;
                }
                if (!built) {
                    if (!footprint_build(a, c->items, index, to_out, win_inv,
                                         &f) ||
                        !cover_cells(a, &cv, &f))
                        goto nomem;
                    built = true;
                }
                for (size_t q = 0; q < ncells; q++)
                    cov[q] |= cv.inside[q];
            }
        }
    }
    goto out;
nomem:
    status = lc__error(err, LC_ENOMEM, "out of memory");
out:
    lc__free(a, f.xy);
    lc__free(a, f.ring);
    lc__free(a, cv.cross);
    lc__free(a, cv.corner);
    lc__free(a, cv.inside);
    lc__free(a, covered);
    return status;
}

/* ---- headers ------------------------------------------------------------- */

struct headers {
    const struct lc_allocator *alloc;
    struct lc_store *store;
    const struct lc_limits *limits; /* the collection's caps */
    const char **href;              /* distinct, sorted */
    size_t n;
    struct lc_cog **cog;
    int *status;
    char **msg;  /* of failed opens */
    size_t next; /* atomic */
};

static void headers_open_one(struct headers *h, size_t i)
{
    struct lc__errbuf err = {0};
    bool cached;
    h->status[i] = lc__header_cache_get_ex(h->href[i], h->store, h->limits,
                                           &h->cog[i], &cached, &err);
    if (h->status[i] < 0) {
        size_t len = strlen(err.msg);
        h->msg[i] = lc__malloc(h->alloc, len + 1);
        if (h->msg[i] != NULL)
            memcpy(h->msg[i], err.msg, len + 1);
    }
}

static void *headers_worker(void *arg)
{
    struct headers *h = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&h->next, 1, __ATOMIC_RELAXED);
        if (i >= h->n)
            break;
        headers_open_one(h, i);
    }
    return NULL;
}

static bool href_is_remote(const char *href)
{
    return strstr(href, "://") != NULL && strncmp(href, "file://", 7) != 0;
}

/* Opens every header, several at once when they are remote. */
static void headers_open(struct headers *h)
{
    pthread_t th[PLAN_HEADER_THREADS];
    size_t nth = 0, want = 0;

    for (size_t i = 0; i < h->n && want == 0; i++)
        if (href_is_remote(h->href[i]))
            want = h->n < PLAN_HEADER_THREADS ? h->n : PLAN_HEADER_THREADS;
    if (want > 1) {
        /* Signals stay with the caller's threads (Python's main thread). */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (; nth < want; nth++)
            if (pthread_create(&th[nth], NULL, headers_worker, h) != 0)
                break;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    headers_worker(h); /* the calling thread helps (or does it all) */
    for (size_t t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void headers_free(struct headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        lc__header_cache_release(h->cog != NULL ? h->cog[i] : NULL);
        if (h->msg != NULL)
            lc__free(h->alloc, h->msg[i]);
    }
    lc__free(h->alloc, h->href);
    lc__free(h->alloc, h->cog);
    lc__free(h->alloc, h->status);
    lc__free(h->alloc, h->msg);
}

/* Level, window and cost of one read whose COG is open. */
static int read_details(const struct lc_collection *c, struct lc_cog *cog,
                        const struct lc__grid *win, struct lc_plan_read *r,
                        struct lc__errbuf *err)
{
    const char *href = r->href;
    struct lc_cog_info info = {.struct_size = sizeof info};
    int status;

    if ((status = lc_cog_get_info(cog, &info)) < 0)
        return lc__error(err, status, "%s", lc_errmsg());
    bool no_crs = info.crs == NULL || info.crs[0] == '\0';
    LC_RETURN_IF(info.georef == LC_GEOREF_NONE ||
                     info.georef == LC_GEOREF_GCPS || no_crs,
                 err, LC_EUNSUPPORTED, "%s: no %s", href,
                 no_crs ? "CRS" : "geotransform");
    struct lc__crs *src_crs = NULL;
    bool owned = false;
    struct lc__errbuf e2 = {0};
    if ((status = lc__engine_crs_get(info.crs, &src_crs, &owned, &e2)) < 0)
        return lc__error(err, status, "%s: %s", href, e2.msg);
    struct lc__transform *tf = NULL;
    status = lc__transform_get_in(c->crs, src_crs, c->area, &tf, &e2);
    if (status < 0) {
        lc__error(err, status, "%s: %s", href, e2.msg);
        goto out;
    }
    struct lc__source src;
    if ((status = lc__select_source(&c->grid, win, c->resampling, cog, &info,
                                    tf, &src, &e2)) < 0) {
        lc__error(err, status, "%s: %s", href, e2.msg);
        goto out;
    }
    r->has_header = 1;
    r->level = src.level;
    r->resolution = fabs(src.lv.geotransform[1]);
    if (src.overlaps) {
        r->has_window = 1;
        r->window = src.window;
        struct lc__window_cost cost;
        bool remote = href_is_remote(href);
        status = lc__cog_window_cost(
            cog, src.level, &src.window,
            remote ? LC__COALESCE_GAP_DEFAULT : SIZE_MAX, &cost, &e2);
        if (status < 0) {
            lc__error(err, status, "%s", e2.msg);
            goto out;
        }
        r->est_ranges = cost.nranges;
        r->est_requests = remote ? cost.nrequests : cost.nranges;
        r->est_bytes = cost.nbytes;
    }
out:
    lc__transform_release(tf);
    if (owned)
        lc__crs_free(src_crs);
    return status;
}

/* Opens the headers of every read and fills in their details. */
static int fetch_headers(struct lc_plan *p, const struct lc_window *windows,
                         struct lc__errbuf *err)
{
    const struct lc_collection *c = p->c;
    const struct lc_allocator *a = plan_alloc(p);
    struct headers h = {.alloc = a, .store = c->store, .limits = &c->limits};
    size_t nreads = p->nentries * p->nbands;
    int status = LC_OK;

    h.href = lc__malloc_array(a, nreads, sizeof *h.href);
    if (h.href == NULL)
        return lc__error(err, LC_ENOMEM, "out of memory");
    for (size_t i = 0; i < nreads; i++)
        if (p->reads[i].href != NULL)
            h.href[h.n++] = p->reads[i].href;
    qsort(h.href, h.n, sizeof *h.href, cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < h.n; i++)
        if (n == 0 || strcmp(h.href[n - 1], h.href[i]) != 0)
            h.href[n++] = h.href[i];
    h.n = n;
    h.cog = lc__calloc(a, n, sizeof *h.cog);
    h.status = lc__calloc(a, n, sizeof *h.status);
    h.msg = lc__calloc(a, n, sizeof *h.msg);
    if (h.cog == NULL || h.status == NULL || h.msg == NULL) {
        h.n = 0;
        status = lc__error(err, LC_ENOMEM, "out of memory");
        goto out;
    }
    headers_open(&h);

    for (size_t w = 0; w < p->nwindows && status == LC_OK; w++) {
        struct lc__grid win;
        status =
            lc__grid_window(&c->grid, windows[w].col_off, windows[w].row_off,
                            windows[w].width, windows[w].height, &win, err);
        size_t e0 = p->offset[w * p->nus], e1 = p->offset[(w + 1) * p->nus];
        for (size_t i = e0 * p->nbands; i < e1 * p->nbands && status == LC_OK;
             i++) {
            struct lc_plan_read *r = &p->reads[i];
            if (r->href == NULL)
                continue;
            const char **at =
                bsearch(&r->href, h.href, h.n, sizeof *h.href, cmp_str);
            size_t j = (size_t)(at - h.href);
            struct lc__errbuf e2 = {0};
            int st = h.status[j];
            if (st < 0)
                lc__error(&e2, st, "%s",
                          h.msg[j] != NULL ? h.msg[j] : "out of memory");
            else
                st = read_details(c, h.cog[j], &win, r, &e2);
            /* A read skips a COG it cannot use under errors="ignore". */
            if (st < 0 && (c->errors == LC_ERRORS_RAISE || st == LC_ENOMEM)) {
                status = lc__error(err, st, "%s", e2.msg);
            } else if (st < 0) {
                r->has_header = 0;
                r->has_window = 0;
            }
        }
    }
out:
    headers_free(&h);
    return status;
}

/* ---- the plan ------------------------------------------------------------ */

static int check_request(const struct lc_collection *c,
                         const struct lc_plan_request *req,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(req->struct_size != sizeof *req, err, LC_EINVAL,
                 "lc_collection_plan: request struct_size %zu, expected %zu",
                 req->struct_size, sizeof *req);
    LC_RETURN_IF((req->nbands > 0 && req->bands == NULL) ||
                     (req->ntimes > 0 && req->times == NULL) ||
                     (req->nwindows > 0 && req->windows == NULL),
                 err, LC_EINVAL,
                 "lc_collection_plan: bands, times or windows is NULL");
    for (size_t i = 0; i < req->nbands; i++)
        LC_RETURN_IF(req->bands[i] >= c->nbands, err, LC_EINVAL,
                     "lc_collection_plan: band index %zu out of range (the "
                     "collection has %zu bands)",
                     req->bands[i], c->nbands);
    for (size_t i = 0; i < req->ntimes; i++)
        LC_RETURN_IF(req->times[i] >= c->ntimes, err, LC_EINVAL,
                     "lc_collection_plan: time index %zu out of range (the "
                     "collection has %zu time steps)",
                     req->times[i], c->ntimes);
    for (size_t i = 0; i < req->nwindows; i++) {
        const struct lc_window *w = &req->windows[i];
        LC_RETURN_IF(w->width == 0 || w->height == 0 ||
                         (uint64_t)w->col_off + w->width > c->grid.width ||
                         (uint64_t)w->row_off + w->height > c->grid.height,
                     err, LC_EINVAL,
                     "lc_collection_plan: window %zu (x %u..%" PRIu64
                     ", y %u..%" PRIu64 ") is empty or outside the grid of "
                     "%u x %u pixels",
                     i, w->col_off, (uint64_t)w->col_off + w->width, w->row_off,
                     (uint64_t)w->row_off + w->height, c->grid.width,
                     c->grid.height);
    }
    return LC_OK;
}

/* Matches the items of every window and lays out the entries. */
static int match(struct lc_plan *p, const struct lc_plan_request *req,
                 const size_t *us, struct lc__errbuf *err)
{
    const struct lc_collection *c = p->c;
    const struct lc_allocator *a = plan_alloc(p);
    size_t nslots, nreads;
    int status = LC_OK;

    if (!lc__size_mul(p->nwindows, p->nus, &nslots) ||
        !lc__size_add(nslots, 1, &nslots))
        return lc__error(err, LC_ELIMIT, "lc_collection_plan: too large");
    struct lc__selection *sel = lc__calloc(a, p->nwindows, sizeof *sel);
    p->offset = lc__calloc(a, nslots, sizeof *p->offset);
    if (sel == NULL || p->offset == NULL) {
        lc__free(a, sel);
        return lc__error(err, LC_ENOMEM, "out of memory");
    }
    size_t total = 0;
    for (size_t w = 0; w < p->nwindows && status == LC_OK; w++) {
        const struct lc_window *rw = &req->windows[w];
        struct lc__grid win;
        status = lc__grid_window(&c->grid, rw->col_off, rw->row_off, rw->width,
                                 rw->height, &win, err);
        if (status == LC_OK)
            status = lc__select_items(c, &win, us, p->nus, a, &sel[w], err);
        for (size_t s = 0; s < p->nus && status == LC_OK; s++) {
            p->offset[w * p->nus + s] = total;
            total += sel[w].nper[s];
        }
    }
    if (status < 0)
        goto out;
    p->offset[nslots - 1] = total;
    p->nentries = total;
    if (!lc__size_mul(total, p->nbands, &nreads)) {
        status = lc__error(err, LC_ELIMIT, "lc_collection_plan: too large");
        goto out;
    }
    p->k = lc__malloc_array(a, total, sizeof *p->k);
    p->reads = lc__calloc(a, nreads, sizeof *p->reads);
    size_t *fill = lc__calloc(a, p->nus, sizeof *fill);
    if (p->k == NULL || p->reads == NULL || fill == NULL) {
        lc__free(a, fill);
        status = lc__error(err, LC_ENOMEM, "out of memory");
        goto out;
    }
    const struct lc__stac_items *items = c->items;
    for (size_t w = 0; w < p->nwindows; w++) {
        memset(fill, 0, p->nus * sizeof *fill);
        for (size_t i = 0; i < sel[w].count; i++) {
            size_t s = sel[w].step[i];
            size_t e = p->offset[w * p->nus + s] + fill[s]++;
            p->k[e] = sel[w].k[i];
            size_t index = c->item[p->k[e]];
            for (size_t j = 0; j < p->nbands; j++) {
                struct lc_plan_read *r = &p->reads[e * p->nbands + j];
                r->struct_size = sizeof *r;
                r->href = items
                              ->assets[index * items->nassets +
                                       c->band_asset[req->bands[j]]]
                              .href;
            }
        }
    }
    lc__free(a, fill);
out:
    for (size_t w = 0; w < p->nwindows; w++)
        lc__selection_free(a, &sel[w]);
    lc__free(a, sel);
    return status;
}

int lc_collection_plan(struct lc_collection *c,
                       const struct lc_plan_request *req,
                       struct lc_plan **plan_ret)
{
    struct lc__errbuf err = {0};
    struct lc_plan *p = NULL;
    size_t *us = NULL;
    struct lc__crs *wgs84 = NULL;
    bool wgs84_owned = false;
    struct lc__transform *to_out = NULL;
    int status;

    if (plan_ret != NULL)
        *plan_ret = NULL;
    if (c == NULL || req == NULL || plan_ret == NULL)
        return lc__publish(NULL, LC_EINVAL);
    if ((status = check_request(c, req, &err)) < 0)
        return lc__publish(&err, status);
    const struct lc_allocator *a = &c->alloc;
    p = lc__calloc(a, 1, sizeof *p);
    if (p == NULL)
        return lc__publish(&err, lc__error(&err, LC_ENOMEM, "out of memory"));
    p->c = c;
    p->ntimes = req->ntimes;
    p->nwindows = req->nwindows;
    p->nbands = req->nbands;
    p->time_map = lc__malloc_array(a, req->ntimes, sizeof *p->time_map);
    us = lc__malloc_array(a, req->ntimes, sizeof *us);
    if (p->time_map == NULL || us == NULL) {
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto fail;
    }
    /* Distinct steps, in first-appearance order. */
    for (size_t i = 0; i < req->ntimes; i++) {
        size_t s = 0;
        while (s < p->nus && us[s] != req->times[i])
            s++;
        if (s == p->nus)
            us[p->nus++] = req->times[i];
        p->time_map[i] = s;
    }
    if ((status = match(p, req, us, &err)) < 0)
        goto fail;

    if (c->method == LC_MOSAIC_FIRST && p->nentries > 0) {
        if ((status = lc__engine_crs_get("EPSG:4326", &wgs84, &wgs84_owned,
                                         &err)) < 0 ||
            (status = lc__transform_get_in(wgs84, c->crs, c->area, &to_out,
                                           &err)) < 0)
            goto fail;
        for (size_t w = 0; w < p->nwindows && status == LC_OK; w++) {
            const struct lc_window *rw = &req->windows[w];
            struct lc__grid win;
            status = lc__grid_window(&c->grid, rw->col_off, rw->row_off,
                                     rw->width, rw->height, &win, &err);
            if (status == LC_OK)
                status = early_exit(p, w, &win, to_out, &err);
        }
        if (status < 0)
            goto fail;
    }
    if (req->fetch_headers && p->nentries > 0 &&
        (status = fetch_headers(p, req->windows, &err)) < 0)
        goto fail;

    lc__transform_release(to_out);
    if (wgs84_owned)
        lc__crs_free(wgs84);
    lc__free(a, us);
    *plan_ret = p;
    return LC_OK;

fail:
    lc__transform_release(to_out);
    if (wgs84_owned)
        lc__crs_free(wgs84);
    lc__free(a, us);
    lc_plan_free(p);
    lc__redact_urls(err.msg, sizeof err.msg);
    return lc__publish(&err, status);
}
