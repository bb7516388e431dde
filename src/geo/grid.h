/* grid.h - pixel grids: affine geotransforms, bbox to grid, windows. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_GEO_GRID_H
#define LC_GEO_GRID_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * Conventions (behaviour reference, section 2.2)
 * ==============================================
 *
 * A geotransform is six doubles in GDAL order:
 *
 *   gt[0]  x of the top-left corner of the top-left pixel
 *   gt[1]  pixel width (x step per column)
 *   gt[2]  x step per row (rotation; 0 for north-up grids)
 *   gt[3]  y of the top-left corner of the top-left pixel
 *   gt[4]  y step per column (rotation; 0 for north-up grids)
 *   gt[5]  pixel height (y step per row; negative for north-up grids)
 *
 * so pixel (col, row), in continuous pixel coordinates where pixel k spans
 * [k, k + 1), is at x = gt[0] + col*gt[1] + row*gt[2],
 * y = gt[3] + col*gt[4] + row*gt[5]. The centre of pixel (i, j) is
 * (i + 0.5, j + 0.5). The affine package and STAC's proj:transform use the
 * row-major order (a, b, c, d, e, f) = (gt[1], gt[2], gt[0], gt[4], gt[5],
 * gt[3]); lc__gt_from_affine and lc__gt_to_affine convert.
 */

/* Largest width or height of a grid (keeps pixel indices in int32). */
#define LC_GRID_MAX_DIM 0x7fffffffu

/* A grid of width x height pixels placed by a geotransform. */
struct lc__grid {
    double gt[6];
    uint32_t width;
    uint32_t height;
};

/* Row-major affine (a, b, c, d, e, f) to GDAL order, and back. */
void lc__gt_from_affine(const double affine[6], double gt[6]);
void lc__gt_to_affine(const double gt[6], double affine[6]);

/* Applies gt to continuous pixel coordinates (col, row). */
void lc__gt_apply(const double gt[6], double col, double row, double *x_ret,
                  double *y_ret);

/*
 * Inverts a geotransform, as GDALInvGeoTransform does (a north-up one
 * without computing a determinant, so the arithmetic, and the pixel chosen
 * for a point on a pixel edge, is GDAL's). Returns LC_OK or LC_EINVAL when
 * gt is singular or not finite.
 */
int lc__gt_invert(const double gt[6], double inv[6], struct lc__errbuf *err);

/* True for a grid without rotation terms (gt[2] == gt[4] == 0). */
bool lc__gt_is_north_up(const double gt[6]);

/*
 * The grid of bbox = {minx, miny, maxx, maxy} at square pixels of res CRS
 * units, exactly as the reference builds it: width = max(1, round((maxx -
 * minx) / res)), height likewise, where round is Python's (half to even:
 * 2.5 -> 2, 3.5 -> 4); geotransform (minx, res, 0, maxy, 0, -res), so the
 * grid hangs from the top-left corner (minx, maxy) and its right and bottom
 * edges are minx + width*res and maxy - height*res, not maxx and miny when
 * the bbox is not a multiple of res. Returns LC_OK, LC_EINVAL (res not
 * finite and positive, bbox not finite, maxx < minx or maxy < miny) or
 * LC_ELIMIT (a side over LC_GRID_MAX_DIM pixels).
 */
int lc__grid_from_bbox(const double bbox[4], double res,
                       struct lc__grid *grid_ret, struct lc__errbuf *err);

/* Python's round() of a double to an integer value: half to even. */
double lc__round_half_even(double v);

/*
 * Pixel-centre coordinates of a north-up grid: xs[i] = gt[0] + (i + 0.5) *
 * gt[1] for i < width (ascending for a positive pixel width), ys[j] = gt[3]
 * + (j + 0.5) * gt[5] for j < height (descending, north to south). Either
 * array may be NULL. Returns LC_OK, or LC_EINVAL for a rotated grid.
 */
int lc__grid_coords(const struct lc__grid *grid, double *xs, double *ys,
                    struct lc__errbuf *err);

/*
 * The sub-grid of width x height pixels starting at (col_off, row_off):
 * same pixel size, origin moved by the offsets (gt[0] + col_off*gt[1] +
 * row_off*gt[2], gt[3] + col_off*gt[4] + row_off*gt[5]), as the affine
 * package's `affine * Affine.translation(col_off, row_off)`. The window
 * must lie inside the grid and not be empty. Returns LC_OK or LC_EINVAL.
 */
int lc__grid_window(const struct lc__grid *grid, uint32_t col_off,
                    uint32_t row_off, uint32_t width, uint32_t height,
                    struct lc__grid *sub_ret, struct lc__errbuf *err);

/* The extent {minx, miny, maxx, maxy} of the grid's four corners. */
void lc__grid_bounds(const struct lc__grid *grid, double bbox[4]);

/*
 * lazycogs.align_bbox (reference 1.3): expands bbox = {minx, miny, maxx,
 * maxy} outward onto the lines of the grid of affine, given in row-major
 * order (a, b, c, d, e, f) as in STAC's proj:transform:
 *   minx = c + floor((minx - c) / a) * a,  maxx = c + ceil((maxx - c) / a) * a
 *   miny = f + floor((miny - f) / |e|) * |e|, maxy likewise with ceil.
 * Returns LC_OK or LC_EINVAL (a or e zero or not finite, bbox not finite).
 */
int lc__align_bbox(const double affine[6], const double bbox[4], double out[4],
                   struct lc__errbuf *err);

/*
 * Overview choice (reference 2.11 step 3): given the target resolution in
 * source CRS units, the full-resolution pixel size native_res and the pixel
 * sizes of the overviews from finest to coarsest, returns in *level_ret 0
 * for full resolution or 1 + the index of the chosen overview. Full
 * resolution when there are no overviews or target_res <= native_res;
 * otherwise the coarsest overview, walking from the finest, whose pixel size
 * is <= target_res, stopping at the first coarser one; full resolution when
 * none qualifies. (30 m over [20, 40, 80] at 10 m native -> 20 m; 15 m ->
 * full; 200 m -> 80 m.) Returns LC_OK or LC_EINVAL (a size not finite and
 * positive, target_res NaN, ovr_res NULL with novr > 0).
 */
int lc__overview_choose(double target_res, double native_res,
                        const double *ovr_res, size_t novr, size_t *level_ret,
                        struct lc__errbuf *err);

#endif /* LC_GEO_GRID_H */
