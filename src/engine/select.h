/* select.h - what a read of a window touches: the items whose footprint
 * meets it and, per COG, the level and the source window. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ENGINE_SELECT_H
#define LC_ENGINE_SELECT_H

#include "../common/common.h"

#include "../common/error.h"
#include "../geo/crs.h"
#include "../geo/grid.h"
#include "collection.h"

/*
 * lc_collection_read (read.c) reads what these functions choose, and
 * lc_collection_plan (plan.c) only reports it: both call them, so a plan
 * says exactly which items, levels and source windows a read of the same
 * window would use.
 */

/* Segments per edge when a window edge is densified. */
#define LC__EDGE_SEGMENTS 16

/*
 * The process-wide cache of parsed CRSs (read.c): the CRS of text, shared
 * and immutable, or, when the cache is full, one of the caller's own that
 * *owned_ret says to free with lc__crs_free. Returns LC_OK or an
 * lc__crs_new error.
 */
int lc__engine_crs_get(const char *text, struct lc__crs **crs_ret,
                       bool *owned_ret, struct lc__errbuf *err);

/*
 * Starts PROJ's search for the operation from crs to EPSG:4326 over area
 * (NULL: none) on a thread of the read pool (read.c), and returns at once:
 * open() does this when its selection does not need the 4326 box, so that
 * the search runs while open() returns and its caller builds the array.
 * Reads find the operation shared (crs.c), or wait for the running search
 * rather than start one of their own. Failing, it does nothing: a read
 * then searches.
 */
void lc__engine_search_4326(const struct lc__crs *crs,
                            const struct lc__area *area);

/*
 * Prepares on a thread of the read pool (read.c) what the first read's band
 * tasks need for the CRSs the first items of c name (proj:code, as a read's
 * prewarm jobs do: the kind of each EPSG code, the CRS, the operation from
 * c's CRS over its area), and returns at once: open() does this as it
 * returns, so that the work runs while its caller builds the array, not
 * on a read's critical path. A read's match needs those CRSs too (the
 * source pixel size, lc__collection_src_pixel_m). Failing, it does
 * nothing.
 */
void lc__engine_prepare_items(const struct lc_collection *c);

/* Points along the boundary of the pixel rectangle [c0, c1] x [r0, r1] of
 * a grid, nseg segments per edge (4 * nseg points, corners included), as
 * coordinates through gt. */
void lc__rect_boundary(const double gt[6], double c0, double r0, double c1,
                       double r1, size_t nseg, double *x, double *y);

/* Pixel bounds of points through inv (an inverse geotransform): floor of
 * the minimum minus margin, ceil of the maximum plus margin, clamped to
 * [0, w] x [0, h], as {x0, y0, x1, y1}. Returns false when no point is
 * finite or the result is empty. */
bool lc__pixel_bounds(const double inv[6], const double *x, const double *y,
                      size_t n, double margin, uint32_t w, uint32_t h,
                      uint32_t out[4]);

/*
 * Ground size of a pixel of geotransform gt (GDAL order) in the CRS given
 * as text (NULL: unknown, taken as metres): its longer side, in metres,
 * degrees counting 111320 m. 0 when gt holds no usable size.
 */
double lc__pixel_ground_size(const double gt[6], const char *crs);

/*
 * How many pixels of a window item footprints are widened by when matched
 * against it (lc__select_items, lc__footprint_rect): a valid source pixel
 * may reach past its item's footprint by half its diagonal, and a pixel
 * of the window whose centre it holds must not be missed by any window
 * (or a pixel's value would depend on the window it is read in). So: one
 * pixel, plus the collection's largest source pixel (src_pixel_m) in
 * window pixels, rounded up.
 */
uint32_t lc__match_margin(const struct lc_collection *c,
                          const struct lc__grid *win);

/*
 * The items of some time steps whose footprint meets a window: the
 * window's edge, widened by lc__match_margin pixels and densified (every
 * 64 pixels at most), goes to EPSG:4326; the R-tree gives candidates in
 * ascending k, and each is tested against its footprint polygon (or bbox).
 * Items whose footprint cannot be tested exactly (antimeridian, poles) are
 * kept.
 */
struct lc__selection {
    size_t count;    /* matched items */
    size_t *k;       /* [count] their positions in sort order, ascending */
    size_t *step;    /* [count] each one's index into the steps asked for */
    size_t *nper;    /* [nsteps] matched items per step asked for */
    uint32_t margin; /* lc__match_margin of the window */
    /* Chosen without the operation to EPSG:4326, while a search for it
     * runs: every item's footprint contains the window with a datum
     * shift's margin, so each one's footprint rectangle is the whole
     * window (lc__footprint_rect). The operation is still to be had: a
     * read that has none fails all the same. */
    bool covers_window;
};

/* steps: nsteps distinct collection time steps. Returns LC_OK (free sel
 * with lc__selection_free), LC_ENOMEM, LC_ELIMIT or a transform error. */
int lc__select_items(const struct lc_collection *c, const struct lc__grid *win,
                     const size_t *steps, size_t nsteps,
                     const struct lc_allocator *a, struct lc__selection *sel,
                     struct lc__errbuf *err);

/* What lc__select_items does while open()'s search for the operation to
 * EPSG:4326 runs: the selection without it, when every item the R-tree
 * finds for the window (grown by the datum's shift to WGS 84 at most)
 * contains it; then sel is lc__select_items's selection, with
 * covers_window. Returns 1 (sel filled), 0 (undecided) or an error (then
 * sel holds nothing to free). */
int lc__select_covering(const struct lc_collection *c,
                        const struct lc__grid *win, const size_t *steps,
                        size_t nsteps, const struct lc_allocator *a,
                        struct lc__selection *sel, struct lc__errbuf *err);

/* Frees what sel holds and zeroes it; an all-zero sel does nothing. */
void lc__selection_free(const struct lc_allocator *a,
                        struct lc__selection *sel);

/*
 * The footprint rectangle of an item in window pixels, margin pixels
 * wider (lc__match_margin), clamped to the window ({x0, y0, x1, y1};
 * empty when outside), from its bbox in EPSG:4326: what first's early
 * exit tests for coverage, and what a read's memory budget counts an
 * item in flight by. to_out (EPSG:4326 to the window's CRS) NULL,
 * or a bbox that does not transform, gives the whole window.
 */
void lc__footprint_rect(struct lc__transform *to_out,
                        const struct lc__grid *win, const double win_inv[6],
                        const struct lc__envelope *bbox, uint32_t margin,
                        uint32_t rect[4]);

/* The part of one COG a read of a window fetches. */
struct lc__source {
    size_t level;            /* 0: full resolution, 1..: overviews */
    struct lc_cog_level lv;  /* that level */
    bool overlaps;           /* false: the window misses the COG */
    struct lc_window window; /* of level, when overlaps */
    double ref[2];           /* the COG's reference point, in the grid's CRS */
};

/*
 * Chooses the level and the source window of one COG for a window win of
 * the collection's grid.
 *
 * The level does not depend on win, so that every window of the grid
 * reads a COG at the same level (reference §2.11 step 3 measures at the
 * window centre; we do the correct thing): the target resolution, in
 * source units, is measured at the COG's reference point, the centre of
 * its extent (densified and taken to the grid's CRS) clipped to the grid,
 * or the grid's centre when the two do not meet or the point does not
 * transform; then lc__overview_choose. The point is returned in src->ref
 * (read.c measures the warp's footprint scale there too).
 *
 * The source window is the window's edge, densified (unless tf is the
 * identity) every 64 pixels at most, through the level's inverse
 * geotransform, widened by the margin the resampling needs (its kernel's
 * reach beyond the pixel holding a position, and one pixel for the
 * densified edge and the approximate transformer), clamped to the level.
 * tf goes from the grid's CRS to the COG's. Returns LC_OK, or an error
 * with err naming the problem.
 */
int lc__select_source(const struct lc__grid *grid, const struct lc__grid *win,
                      enum lc__warp_method resampling, struct lc_cog *cog,
                      const struct lc_cog_info *info, struct lc__transform *tf,
                      struct lc__source *src, struct lc__errbuf *err);

#endif /* LC_ENGINE_SELECT_H */
