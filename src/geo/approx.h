/* approx.h - where each destination pixel centre falls in a source grid. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_GEO_APPROX_H
#define LC_GEO_APPROX_H

#include "../common/common.h"

#include "../common/error.h"
#include "crs.h"
#include "grid.h"

/*
 * A source map ("srcmap") answers, for every pixel (i, j) of a destination
 * block, at which continuous source pixel coordinates (sx, sy) its centre
 * lies: the centre (i + 0.5, j + 0.5) goes through the destination
 * geotransform, the dst -> src transform, and the inverse source
 * geotransform, in GDAL's order of operations, so that source pixel
 * floor(sx), floor(sy) is the one GDAL's nearest-neighbour warper reads.
 * Three kinds exist:
 *
 *   affine   the CRSs are equal: the map is exact and costs two
 *            multiply-adds per coordinate, no PROJ call at all;
 *   approx   PROJ on a sparse, adaptively refined grid of control points
 *            and bilinear interpolation in between, with the interpolation
 *            error bounded by max_error source pixels (see approx.c);
 *   exact    PROJ on every pixel (for tests and benchmarks).
 *
 * A built map never calls PROJ again and is immutable: lc__srcmap_row may
 * be called from several threads at once. Building it uses the transform,
 * so it runs on the thread that owns the transform.
 */

/* The error bound by default, in source pixels (GDAL's default too). */
#define LC_APPROX_MAX_ERROR 0.125
/* The largest first-level cell side by default, in destination pixels. */
#define LC_APPROX_MAX_CELL 128

/* Options of lc__srcmap_new; all-zero means the defaults. */
struct lc__approx_options {
    /* Largest distance allowed between an interpolated source position
     * and the exact one, in source pixels. 0: LC_APPROX_MAX_ERROR. */
    double max_error;
    /* Longest side of the first-level cells, in destination pixels, before
     * any refinement. 0: LC_APPROX_MAX_CELL. */
    uint32_t max_cell;
    /* Transform every pixel with PROJ (no interpolation). */
    bool exact;
    /*
     * Window independence. With anchor_gt NULL the destination block is
     * a grid of its own. Otherwise it is the window of a larger grid, the
     * anchor grid, of geotransform anchor_gt, whose pixel (anchor_col,
     * anchor_row) is the block's pixel (0, 0) (dst->gt must be the
     * window's geotransform, within a millionth of a pixel). Every
     * position is then computed from the anchor grid's pixel indices, and
     * the interpolation cells lie on multiples of max_cell in the anchor
     * grid's pixels, refined alike whatever block holds them: a pixel gets
     * bit-identical source coordinates in every block of the anchor grid
     * that contains it (minus the source window offsets, an exact
     * subtraction for positions inside the source window).
     */
    const double *anchor_gt;
    int64_t anchor_col;
    int64_t anchor_row;
    /* Where lc__srcmap_scale measures the scale, in destination CRS
     * coordinates: with has_scale_ref, at that point (one PROJ call while
     * building, the same for every block); otherwise across the block. */
    bool has_scale_ref;
    double scale_ref_x;
    double scale_ref_y;
};

struct lc__srcmap;

/* Figures about a built map, for tests and benchmarks. */
struct lc__srcmap_stats {
    size_t ntransformed; /* points given to PROJ while building */
    size_t ncells;       /* interpolation cells (0 unless approx) */
    int kind;            /* 0 affine, 1 approx, 2 exact */
};

/*
 * Builds the source map of the destination grid dst (the whole destination
 * block) into a source image: src_gt is the geotransform of the full source
 * level and (src_col_off, src_row_off) the origin, in that level's pixels,
 * of the window actually held in memory; the map's coordinates index that
 * window (GDAL computes them the same way: full-level pixel coordinates
 * minus the window offset, which keeps a point on a pixel edge on GDAL's
 * side of it). tf transforms destination CRS coordinates to source CRS
 * coordinates; an identity transform gives an affine map whatever the
 * options. opts may be NULL (defaults); alloc may be NULL (malloc/free) and
 * is kept by the map. Returns LC_OK and the map (free with
 * lc__srcmap_free), LC_EINVAL (NULL argument, bad options, singular src_gt),
 * LC_ELIMIT (an exact map over 2^28 pixels) or LC_ENOMEM.
 */
int lc__srcmap_new(struct lc__transform *tf, const struct lc__grid *dst,
                   const double src_gt[6], int64_t src_col_off,
                   int64_t src_row_off, const struct lc__approx_options *opts,
                   const struct lc_allocator *alloc,
                   struct lc__srcmap **map_ret, struct lc__errbuf *err);

/* Frees a map; NULL does nothing. */
void lc__srcmap_free(struct lc__srcmap *map);

/* Size of the destination block the map covers. */
uint32_t lc__srcmap_width(const struct lc__srcmap *map);
uint32_t lc__srcmap_height(const struct lc__srcmap *map);

/*
 * Writes the source coordinates of the width pixel centres of destination
 * row `row` (< height) into sx[0..width) and sy[0..width). A pixel whose
 * centre could not be transformed gets NaN in both.
 */
void lc__srcmap_row(const struct lc__srcmap *map, uint32_t row, double *sx,
                    double *sy);

/*
 * When the map is affine with the same pixel size as the source and no
 * rotation, and every destination pixel centre falls exactly on a source
 * pixel centre offset by whole pixels, returns true and the offsets: source
 * pixel (i + *col_off_ret, j + *row_off_ret) is destination pixel (i, j).
 * Warping is then a copy of rows.
 */
bool lc__srcmap_aligned(const struct lc__srcmap *map, int64_t *col_off_ret,
                        int64_t *row_off_ret);

/*
 * Source pixels per destination pixel along x and y (for kernels that
 * average over a footprint): exact for an affine map; at the options'
 * scale reference point when given; else from the map's corners and
 * middle. Both are > 0; 1 when no usable position is known.
 */
void lc__srcmap_scale(const struct lc__srcmap *map, double *sx_per_px_ret,
                      double *sy_per_px_ret);

/* Fills *stats_ret. */
void lc__srcmap_get_stats(const struct lc__srcmap *map,
                          struct lc__srcmap_stats *stats_ret);

/*
 * Target resolution in source CRS units for overview choice (reference
 * 2.11 step 3): |pixel width| of dst when tf is the identity, else |dx|
 * between the centre of dst (gt[0] + width/2 * gt[1], gt[3] + height/2 *
 * gt[5]) and the point one destination pixel east of it (x + gt[1]), both
 * transformed to the source CRS. Returns LC_OK, or
 * LC_EUNSUPPORTED when either point fails to transform.
 */
int lc__target_resolution(struct lc__transform *tf, const struct lc__grid *dst,
                          double *res_ret, struct lc__errbuf *err);

/* The same at the point (x, y) of the destination CRS instead of the
 * centre of a grid; gt gives the destination pixel width (gt[1]). */
int lc__target_resolution_at(struct lc__transform *tf, const double gt[6],
                             double x, double y, double *res_ret,
                             struct lc__errbuf *err);

#endif /* LC_GEO_APPROX_H */
