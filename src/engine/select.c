/* select.c - what a read of a window touches: matching items, choosing
 * levels and source windows (shared by read.c and plan.c). */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "../common/alloc.h"
#include "../geo/approx.h"
#include "select.h"

#include <math.h>

void lc__rect_boundary(const double gt[6], double c0, double r0, double c1,
                       double r1, size_t nseg, double *x, double *y)
{
    size_t n = 0;
    for (size_t e = 0; e < 4; e++) {
        for (size_t i = 0; i < nseg; i++) {
            double f = (double)i / (double)nseg, col, row;
            switch (e) {
            case 0: /* top, west to east */
                col = c0 + (c1 - c0) * f;
                row = r0;
                break;
            case 1: /* east, north to south */
                col = c1;
                row = r0 + (r1 - r0) * f;
                break;
            case 2: /* bottom, east to west */
                col = c1 - (c1 - c0) * f;
                row = r1;
                break;
            default: /* west, south to north */
                col = c0;
                row = r1 - (r1 - r0) * f;
                break;
            }
            lc__gt_apply(gt, col, row, &x[n], &y[n]);
            n++;
        }
    }
}

bool lc__pixel_bounds(const double inv[6], const double *x, const double *y,
                      size_t n, double margin, uint32_t w, uint32_t h,
                      uint32_t out[4])
{
    double c0 = INFINITY, r0 = INFINITY, c1 = -INFINITY, r1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        double col, row;
        lc__gt_apply(inv, x[i], y[i], &col, &row);
        c0 = fmin(c0, col);
        c1 = fmax(c1, col);
        r0 = fmin(r0, row);
        r1 = fmax(r1, row);
    }
    if (!(c0 <= c1) || !(r0 <= r1))
        return false;
    c0 = floor(c0) - margin;
    r0 = floor(r0) - margin;
    c1 = ceil(c1) + margin;
    r1 = ceil(r1) + margin;
    c0 = fmax(c0, 0.0);
    r0 = fmax(r0, 0.0);
    c1 = fmin(c1, (double)w);
    r1 = fmin(r1, (double)h);
    if (!(c0 < c1) || !(r0 < r1))
        return false;
    out[0] = (uint32_t)c0;
    out[1] = (uint32_t)r0;
    out[2] = (uint32_t)c1;
    out[3] = (uint32_t)r1;
    return true;
}

/* ---- matching items ------------------------------------------------------ */

/* Metres per degree (of latitude, and of longitude at the equator). */
#define METRES_PER_DEGREE 111320.0
/* Most segments per edge of a window's densified edge. */
#define EDGE_MAX_SEGMENTS 256

/* Segments per edge of a window's densified edge: at most 64 pixels long
 * (the error of a chord grows with the square of its length), at least
 * LC__EDGE_SEGMENTS. */
static size_t edge_segments(const struct lc__grid *win)
{
    uint32_t side = win->width > win->height ? win->width : win->height;
    size_t n = (size_t)side / 64 + 1;
    return n < LC__EDGE_SEGMENTS   ? LC__EDGE_SEGMENTS
           : n > EDGE_MAX_SEGMENTS ? EDGE_MAX_SEGMENTS
                                   : n;
}

double lc__pixel_ground_size(const double gt[6], const char *crs)
{
    double s = fmax(hypot(gt[1], gt[4]), hypot(gt[2], gt[5]));
    if (!(s > 0.0) || !isfinite(s))
        return 0.0;
    struct lc__crs *k = NULL;
    bool owned = false;
    if (crs != NULL && crs[0] != '\0' &&
        lc__engine_crs_get(crs, &k, &owned, NULL) == LC_OK) {
        if (lc__crs_is_geographic(k))
            s *= METRES_PER_DEGREE;
        if (owned)
            lc__crs_free(k);
    }
    return s;
}

uint32_t lc__match_margin(const struct lc_collection *c,
                          const struct lc__grid *win)
{
    double r =
        fmin(hypot(win->gt[1], win->gt[4]), hypot(win->gt[2], win->gt[5]));
    if (lc__crs_is_geographic(c->crs)) {
        /* A degree of longitude is shortest at the grid's highest
         * latitude (that of the query box, or of the box around it:
         * higher by the datum-shift margin at most, a margin as wide or
         * wider). */
        double lat = fmax(fabs(c->bbox_4326[1]), fabs(c->bbox_4326[3]));
        double k =
            isfinite(lat) ? cos(fmin(lat, 89.9) * 0.017453292519943295) : 1.0;
        r *= METRES_PER_DEGREE * k;
    }
    double src_pixel_m = lc__collection_src_pixel_m(c);
    if (!(r > 0.0) || !isfinite(r) || !(src_pixel_m > 0.0))
        return 1;
    double m = 1.0 + ceil(src_pixel_m / r);
    return m < 65536.0 ? (uint32_t)m : 65536;
}

/* The polygon of box {minx, miny, maxx, maxy}, into xy, seq and poly. */
static void box_polygon(const double box[4], double xy[10],
                        struct lc__coordseq *seq, struct lc__geom *poly)
{
    const double ring[10] = {box[0], box[1], box[2], box[1], box[2],
                             box[3], box[0], box[3], box[0], box[1]};
    memcpy(xy, ring, sizeof ring);
    *seq = (struct lc__coordseq){5, xy, NULL};
    *poly =
        (struct lc__geom){.type = LC__GEOM_POLYGON, .nseqs = 1, .seqs = seq};
}

/* The footprint of item i: its geometry, or its bbox as a polygon (built
 * in xy, seq and poly); NULL when the planar predicates cannot test it: a
 * bbox crossing the antimeridian or degenerate, a footprint wider than
 * half the world (most likely wrapping around the antimeridian). */
static const struct lc__geom *footprint(const struct lc__stac_items *items,
                                        size_t i, double xy[10],
                                        struct lc__coordseq *seq,
                                        struct lc__geom *poly)
{
    const struct lc__geom *g = items->geometry[i];
    struct lc__envelope env;
    if (g != NULL) {
        lc__geom_envelope(g, &env);
    } else {
        env = items->bbox[i];
        if (!(env.minx < env.maxx) || !(env.miny < env.maxy))
            return NULL;
        const double b[4] = {env.minx, env.miny, env.maxx, env.maxy};
        box_polygon(b, xy, seq, poly);
        g = poly;
    }
    return env.maxx - env.minx <= 180.0 ? g : NULL;
}

/* Does the footprint of item i meet the window polygon? Conservative:
 * whatever cannot be tested exactly is kept. */
static int footprint_meets(const struct lc__stac_items *items, size_t i,
                           const struct lc__geom *wpoly,
                           const struct lc_allocator *a, bool *result)
{
    double xy[10];
    struct lc__coordseq seq;
    struct lc__geom poly;
    const struct lc__geom *g = footprint(items, i, xy, &seq, &poly);
    *result = true;
    if (g == NULL)
        return LC_OK;
    return lc__geom_predicate(LC__SPATIAL_INTERSECTS, g, wpoly, a, result);
}

/* Does the footprint of item i contain box (in degrees)? False whenever
 * that cannot be tested exactly. */
static int footprint_contains(const struct lc__stac_items *items, size_t i,
                              const double box[4], const struct lc_allocator *a,
                              bool *result)
{
    double xy[10], bxy[10];
    struct lc__coordseq seq, bseq;
    struct lc__geom poly, bpoly;
    const struct lc__geom *g = footprint(items, i, xy, &seq, &poly);
    *result = false;
    if (g == NULL)
        return LC_OK;
    box_polygon(box, bxy, &bseq, &bpoly);
    return lc__geom_predicate(LC__SPATIAL_CONTAINS, g, &bpoly, a, result);
}

void lc__selection_free(const struct lc_allocator *a, struct lc__selection *sel)
{
    lc__free(a, sel->k);
    lc__free(a, sel->step);
    lc__free(a, sel->nper);
    memset(sel, 0, sizeof *sel);
}

/* Which asked-for step each collection step is (SIZE_MAX: not asked), in
 * *step_pos_ret (free with a). */
static int step_positions(const struct lc_collection *c, const size_t *steps,
                          size_t nsteps, const struct lc_allocator *a,
                          size_t **step_pos_ret, struct lc__errbuf *err)
{
    size_t *step_pos =
        lc__malloc_array(a, c->ntimes > 0 ? c->ntimes : 1, sizeof *step_pos);
    LC_RETURN_IF(step_pos == NULL, err, LC_ENOMEM, "out of memory");
    for (size_t t = 0; t < c->ntimes; t++)
        step_pos[t] = SIZE_MAX;
    for (size_t s = 0; s < nsteps; s++)
        if (steps[s] < c->ntimes)
            step_pos[steps[s]] = s;
    *step_pos_ret = step_pos;
    return LC_OK;
}

/* The asked-for step of the item at k, or SIZE_MAX. */
static size_t item_step(const struct lc_collection *c, const size_t *step_pos,
                        size_t k)
{
    if (k >= c->nitems || c->step_of[k] >= c->ntimes)
        return SIZE_MAX;
    return step_pos[c->step_of[k]];
}

/* Room in sel for n items (sel->nper is the caller's). */
static int selection_reserve(struct lc__selection *sel, size_t n,
                             const struct lc_allocator *a,
                             struct lc__errbuf *err)
{
    sel->k = lc__malloc_array(a, n > 0 ? n : 1, sizeof *sel->k);
    sel->step = lc__malloc_array(a, n > 0 ? n : 1, sizeof *sel->step);
    LC_RETURN_IF(sel->k == NULL || sel->step == NULL, err, LC_ENOMEM,
                 "out of memory");
    return LC_OK;
}

/* The window's edge, margin pixels out from it on each side, densified
 * (np = 4 * edge_segments(win) points into px, py), and its box (wb). */
static size_t window_edge(const struct lc__grid *win, double margin, double *px,
                          double *py, double wb[4])
{
    size_t nseg = edge_segments(win), np = 4 * nseg;
    lc__rect_boundary(win->gt, -margin, -margin, win->width + margin,
                      win->height + margin, nseg, px, py);
    wb[0] = wb[1] = INFINITY;
    wb[2] = wb[3] = -INFINITY;
    for (size_t i = 0; i < np; i++) {
        wb[0] = fmin(wb[0], px[i]);
        wb[1] = fmin(wb[1], py[i]);
        wb[2] = fmax(wb[2], px[i]);
        wb[3] = fmax(wb[3], py[i]);
    }
    return np;
}

/*
 * lc__select_items without the operation to EPSG:4326, for the reads that
 * come while open()'s search for it runs (the first reads of a new
 * process; the search takes 6-25 ms there). The window's box (in its CRS)
 * goes to longitude and latitude of the CRS's own datum and is grown by
 * the most a datum shift moves it (lc__crs_bounds_around_4326): a box
 * holding the window's box in 4326 and its densified edge. Every item the
 * R-tree finds for it must cover it (its footprint contains the box): such
 * an item meets the window whatever the shift, and an item whose bbox
 * misses the box misses the window's 4326 box too. So the selection is the
 * one the operation gives. An item that only meets the box may go either
 * way: then nothing is decided here.
 */
int lc__select_covering(const struct lc_collection *c,
                        const struct lc__grid *win, const size_t *steps,
                        size_t nsteps, const struct lc_allocator *a,
                        struct lc__selection *sel, struct lc__errbuf *err)
{
    memset(sel, 0, sizeof *sel);
    if (c->rtree == NULL || c->nitems == 0 || nsteps == 0)
        return 0;
    double px[4 * EDGE_MAX_SEGMENTS], py[4 * EDGE_MAX_SEGMENTS], wb[4], box[4];
    uint32_t margin = lc__match_margin(c, win);
    (void)window_edge(win, margin, px, py, wb);
    if (lc__crs_bounds_around_4326(c->crs, wb, box, NULL) < 0)
        return 0;
    struct lc__rtree_hits hits = {0};
    size_t *step_pos = NULL;
    sel->margin = margin;
    sel->nper = lc__calloc(a, nsteps, sizeof *sel->nper);
    int status = sel->nper != NULL
                     ? step_positions(c, steps, nsteps, a, &step_pos, err)
                     : lc__error(err, LC_ENOMEM, "out of memory");
    if (status == LC_OK)
        status = lc__rtree_query(c->rtree, box, &hits, err);
    if (status == LC_OK)
        status = selection_reserve(sel, hits.count, a, err);
    bool decided = status == LC_OK;
    for (size_t h_i = 0; h_i < hits.count && decided; h_i++) {
        size_t k = hits.items[h_i], s = item_step(c, step_pos, k);
        if (s == SIZE_MAX)
            continue;
        if (footprint_contains(c->items, c->item[k], box, a, &decided) < 0) {
            status = lc__error(err, LC_ENOMEM, "out of memory");
            decided = false;
        } else if (decided) {
            sel->k[sel->count] = k;
            sel->step[sel->count] = s;
            sel->count++;
            sel->nper[s]++;
        }
    }
    lc__rtree_hits_free(c->rtree, &hits);
    lc__free(a, step_pos);
    if (!decided) {
        lc__selection_free(a, sel);
        return status;
    }
    sel->covers_window = true;
    return 1;
}

int lc__select_items(const struct lc_collection *c, const struct lc__grid *win,
                     const size_t *steps, size_t nsteps,
                     const struct lc_allocator *a, struct lc__selection *sel,
                     struct lc__errbuf *err)
{
    struct lc__crs *wgs84 = NULL;
    bool wgs84_owned = false;
    struct lc__transform *to_4326 = NULL;
    struct lc__rtree_hits hits = {0};
    size_t *step_pos = NULL;
    int status;

    memset(sel, 0, sizeof *sel);
    /* While open()'s search for the operation to 4326 runs, the items
     * may be chosen without it. */
    if ((status = lc__engine_crs_get("EPSG:4326", &wgs84, &wgs84_owned, err)) <
        0)
        return status;
    if (!lc__transform_found(c->crs, wgs84, c->area) &&
        (status = lc__select_covering(c, win, steps, nsteps, a, sel, err)) != 0)
        goto out;
    sel->nper = lc__calloc(a, nsteps > 0 ? nsteps : 1, sizeof *sel->nper);
    if (sel->nper == NULL) {
        status = lc__error(err, LC_ENOMEM, "out of memory");
        goto out;
    }
    if (c->rtree == NULL || c->nitems == 0 || nsteps == 0) {
        status = LC_OK;
        goto out;
    }
    /* The margin first: in a new process it looks up the items' CRSs in
     * PROJ's database (a millisecond or two), which then overlaps the
     * search for the transform to 4326 that open() started, instead of
     * following it. */
    sel->margin = lc__match_margin(c, win);
    if ((status = step_positions(c, steps, nsteps, a, &step_pos, err)) < 0)
        goto out;

    /* The window, margin pixels wider each side: its box in its CRS, and
     * in 4326 its bbox for the R-tree and its densified edge as the
     * polygon of the exact test. */
    double px[4 * EDGE_MAX_SEGMENTS + 1], py[4 * EDGE_MAX_SEGMENTS + 1], wb[4];
    size_t np = window_edge(win, sel->margin, px, py, wb);
    if ((status = lc__transform_get_in(c->crs, wgs84, c->area, &to_4326, err)) <
        0)
        goto out;
    double box[4];
    if ((status = lc__transform_bounds(to_4326, wb, 0, box, err)) < 0)
        goto out;
    size_t nfail = lc__transform_points(to_4326, px, py, np);
    px[np] = px[0];
    py[np] = py[0];
    /* The polygon test is exact only for a window whose edge maps to a
     * simple ring within one turn of longitude and away from the poles. */
    bool exact = nfail == 0 && box[0] <= box[2] && box[2] - box[0] < 180.0 &&
                 box[1] > -90.0 && box[3] < 90.0;
    double wxy[2 * (4 * EDGE_MAX_SEGMENTS + 1)];
    for (size_t i = 0; i <= np; i++) {
        wxy[2 * i] = px[i];
        wxy[2 * i + 1] = py[i];
    }
    struct lc__coordseq wseq = {np + 1, wxy, NULL};
    struct lc__geom wpoly = {
        .type = LC__GEOM_POLYGON, .nseqs = 1, .seqs = &wseq};

    if ((status = lc__rtree_query(c->rtree, box, &hits, err)) < 0 ||
        (status = selection_reserve(sel, hits.count, a, err)) < 0)
        goto out;
    for (size_t h_i = 0; h_i < hits.count; h_i++) {
        size_t k = hits.items[h_i], s = item_step(c, step_pos, k);
        if (s == SIZE_MAX)
            continue;
        bool meets = true;
        if (exact && (status = footprint_meets(c->items, c->item[k], &wpoly, a,
                                               &meets)) < 0) {
            status = lc__error(err, status, "out of memory");
            goto out;
        }
        if (!meets)
            continue;
        sel->k[sel->count] = k;
        sel->step[sel->count] = s;
        sel->count++;
        sel->nper[s]++;
    }
    status = LC_OK;
out:
    if (status > 0)
        status = LC_OK; /* lc__select_covering decided */
    if (status < 0)
        lc__selection_free(a, sel);
    lc__free(a, step_pos);
    lc__rtree_hits_free(c->rtree, &hits);
    lc__transform_release(to_4326);
    if (wgs84_owned)
        lc__crs_free(wgs84);
    return status;
}

void lc__footprint_rect(struct lc__transform *to_out,
                        const struct lc__grid *win, const double win_inv[6],
                        const struct lc__envelope *bbox, uint32_t margin,
                        uint32_t rect[4])
{
    rect[0] = 0;
    rect[1] = 0;
    rect[2] = win->width;
    rect[3] = win->height;
    if (to_out == NULL || !(bbox->minx <= bbox->maxx) ||
        !(bbox->miny <= bbox->maxy))
        return;
    double b[4] = {bbox->minx, bbox->miny, bbox->maxx, bbox->maxy}, o[4];
    if (lc__transform_bounds(to_out, b, 0, o, NULL) < 0 || !(o[0] <= o[2]))
        return;
    double x[4] = {o[0], o[2], o[0], o[2]}, y[4] = {o[1], o[1], o[3], o[3]};
    uint32_t r[4];
    if (lc__pixel_bounds(win_inv, x, y, 4, (double)margin, win->width,
                         win->height, r))
        memcpy(rect, r, sizeof r);
    else
        rect[2] = rect[0] = rect[3] = rect[1] = 0; /* outside: empty */
}

/* ---- level and source window --------------------------------------------- */

/* Margin, in source pixels, around the source window: room for the
 * densified edge's error and for what a kernel reads beyond the pixel
 * holding a position (so that no window loses a pixel another window of
 * the grid would use). scale: source pixels per destination pixel, about;
 * the footprint methods reach half of it (plus a tenth for its change
 * across the window). */
static double source_margin(enum lc__warp_method m, bool identity, double scale)
{
    switch (m) {
    case LC_WARP_NEAREST:
        return identity ? 0.0 : 1.0;
    case LC_WARP_BILINEAR:
        return 2.0;
    case LC_WARP_CUBIC:
        return 3.0;
    case LC_WARP_AVERAGE:
    case LC_WARP_MODE:
    case LC_WARP_MIN:
    case LC_WARP_MAX:
        if (!(scale > 0.0) || !(scale < 1e6))
            scale = 1.0;
        return 1.0 + ceil(0.55 * scale);
    }
    return 1.0;
}

/* The COG's reference point (see lc__select_source) into ref. */
static void reference_point(const struct lc__grid *grid,
                            const struct lc_cog_info *info,
                            struct lc__transform *tf, double ref[2])
{
    double gb[4];
    lc__grid_bounds(grid, gb);
    ref[0] = 0.5 * (gb[0] + gb[2]);
    ref[1] = 0.5 * (gb[1] + gb[3]);
    size_t nseg = lc__transform_is_identity(tf) ? 1 : LC__EDGE_SEGMENTS;
    double x[4 * LC__EDGE_SEGMENTS], y[4 * LC__EDGE_SEGMENTS];
    lc__rect_boundary(info->geotransform, 0, 0, info->width, info->height, nseg,
                      x, y);
    lc__transform_points_inverse(tf, x, y, 4 * nseg);
    double b[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < 4 * nseg; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        b[0] = fmin(b[0], x[i]);
        b[1] = fmin(b[1], y[i]);
        b[2] = fmax(b[2], x[i]);
        b[3] = fmax(b[3], y[i]);
    }
    double x0 = fmax(b[0], gb[0]), x1 = fmin(b[2], gb[2]);
    double y0 = fmax(b[1], gb[1]), y1 = fmin(b[3], gb[3]);
    if (x0 <= x1 && y0 <= y1) {
        ref[0] = 0.5 * (x0 + x1);
        ref[1] = 0.5 * (y0 + y1);
    }
}

int lc__select_source(const struct lc__grid *grid, const struct lc__grid *win,
                      enum lc__warp_method resampling, struct lc_cog *cog,
                      const struct lc_cog_info *info, struct lc__transform *tf,
                      struct lc__source *src, struct lc__errbuf *err)
{
    bool identity = lc__transform_is_identity(tf);
    int status;

    memset(src, 0, sizeof *src);
    /* Overview (§2.11 step 3): the target resolution, in source units, at
     * the COG's reference point, so the same in every window; at the
     * grid's centre if the point does not transform. */
    double target;
    reference_point(grid, info, tf, src->ref);
    if (lc__target_resolution_at(tf, grid->gt, src->ref[0], src->ref[1],
                                 &target, NULL) < 0) {
        double gb[4];
        lc__grid_bounds(grid, gb);
        src->ref[0] = 0.5 * (gb[0] + gb[2]);
        src->ref[1] = 0.5 * (gb[1] + gb[3]);
        LC_FORWARD_IF_ERROR(lc__target_resolution_at(
            tf, grid->gt, src->ref[0], src->ref[1], &target, err));
    }
    size_t novr = info->nlevels > 0 ? info->nlevels - 1 : 0;
    double ovr_res[64];
    if (novr > LC_ARRAY_SIZE(ovr_res))
        novr = LC_ARRAY_SIZE(ovr_res);
    for (size_t l = 0; l < novr; l++) {
        struct lc_cog_level lv = {.struct_size = sizeof lv};
        if (lc_cog_get_level(cog, l + 1, &lv) < 0) {
            novr = l;
            break;
        }
        ovr_res[l] = fabs(lv.geotransform[1]);
    }
    LC_FORWARD_IF_ERROR(lc__overview_choose(target, fabs(info->geotransform[1]),
                                            ovr_res, novr, &src->level, err));
    src->lv.struct_size = sizeof src->lv;
    if ((status = lc_cog_get_level(cog, src->level, &src->lv)) < 0)
        return lc__error(err, status, "%s", lc_errmsg());

    /* Source window: the window's edge in the level's pixels. */
    size_t nseg = identity ? 1 : edge_segments(win);
    double bx[4 * EDGE_MAX_SEGMENTS], by[4 * EDGE_MAX_SEGMENTS];
    lc__rect_boundary(win->gt, 0, 0, win->width, win->height, nseg, bx, by);
    lc__transform_points(tf, bx, by, 4 * nseg);
    double inv[6];
    LC_FORWARD_IF_ERROR(lc__gt_invert(src->lv.geotransform, inv, err));
    uint32_t sw[4];
    if (!lc__pixel_bounds(inv, bx, by, 4 * nseg,
                          source_margin(resampling, identity,
                                        target / fabs(src->lv.geotransform[1])),
                          src->lv.width, src->lv.height, sw))
        return LC_OK; /* no overlap */
    src->overlaps = true;
    src->window.col_off = sw[0];
    src->window.row_off = sw[1];
    src->window.width = sw[2] - sw[0];
    src->window.height = sw[3] - sw[1];
    return LC_OK;
}
