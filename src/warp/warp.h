/* warp.h - resampling kernels: a source window into a destination block. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_WARP_WARP_H
#define LC_WARP_WARP_H

#include "../common/common.h"

#include "../common/error.h"
#include "../geo/approx.h"

/*
 * A warp fills every pixel of a destination block from a source window,
 * given the block's source map (src/geo/approx.h: where each destination
 * pixel centre falls, in the window's continuous pixel coordinates, pixel k
 * spanning [k, k + 1)). The source and destination share one dtype; values
 * are never converted between types except by the interpolating kernels,
 * which round half up and clamp into the type like GDAL.
 *
 * Validity. A source pixel is valid unless the window's mask says 0 there
 * or its value equals the nodata value (NaN nodata matches NaN values; a
 * nodata value the dtype cannot hold matches nothing). A kernel never
 * blends an invalid source pixel into a value: where it has no valid input
 * the destination pixel is invalid, gets the fill value and a 0 in the
 * validity mask (or is left untouched with skip_invalid).
 *
 * Position rules, shared by every method and equal to GDAL's
 * GWKCheckAndComputeSrcOffsets: a position (x, y) is inside the window when
 * x >= 0, y >= 0, x + 1e-10 <= width and y + 1e-10 <= height; the pixel
 * containing it is (int)(x + 1e-10), (int)(y + 1e-10), clamped to the last
 * column and row. A position outside, or NaN, makes an invalid pixel.
 *
 *   nearest   the pixel containing the destination pixel centre (the
 *             behaviour reference's semantics; GDAL's, 1e-10 included).
 *   bilinear  the 2x2 pixels around the position, weights renormalised
 *             over the valid ones inside the window; invalid when the pixel
 *             containing the position is invalid.
 *   cubic     Keys cubic convolution (a = -0.5) over 4x4 pixels when all
 *             16 are inside and valid, else bilinear; invalid when the
 *             containing pixel is invalid.
 *   average   area-weighted mean of the valid pixels under the destination
 *             pixel's footprint (its size in source pixels from
 *             lc__srcmap_scale), for downsampling.
 *   mode      the most frequent valid value under the footprint (ties: the
 *             one met first, row by row).
 *   min, max  the smallest or largest valid value under the footprint.
 *
 * Same-grid fast path: when the map is aligned (lc__srcmap_aligned: same
 * CRS, same pixel size, whole-pixel offset), every method reduces to the
 * source pixel itself, and rows are copied with memcpy.
 */

enum lc__warp_method {
    LC_WARP_NEAREST = 0,
    LC_WARP_BILINEAR = 1,
    LC_WARP_CUBIC = 2,
    LC_WARP_AVERAGE = 3,
    LC_WARP_MODE = 4,
    LC_WARP_MIN = 5,
    LC_WARP_MAX = 6
};

/* Static lowercase name of a method ("nearest", ...), or "unknown". */
const char *lc__warp_method_name(enum lc__warp_method method);

/* Parses a method name as lc__warp_method_name writes it; LC_EINVAL when
 * name is none of them. */
int lc__warp_method_parse(const char *name, enum lc__warp_method *method_ret);

/* The source window in memory. */
struct lc__warp_src {
    const void *data;    /* height rows of width values of dtype */
    enum lc_dtype dtype; /* any but LC_DTYPE_UNKNOWN */
    uint32_t width;
    uint32_t height;
    size_t row_stride;   /* values from one row to the next; 0: width */
    const uint8_t *mask; /* NULL, or 0 where a pixel is invalid */
    size_t mask_stride;  /* bytes from one mask row to the next; 0: width */
    bool has_nodata;     /* nodata below applies */
    double nodata;
};

/* The destination block: lc__srcmap_width x lc__srcmap_height pixels. */
struct lc__warp_dst {
    void *data;          /* rows of values of the source's dtype */
    size_t row_stride;   /* values from one row to the next; 0: width */
    size_t data_nbytes;  /* capacity of data, checked */
    uint8_t *valid;      /* NULL, or 1/0 per pixel: got a valid value */
    size_t valid_stride; /* bytes from one valid row to the next; 0: width */
    double fill;         /* value of invalid pixels (saturated into dtype) */
    bool skip_invalid;   /* leave invalid pixels (value and valid) as they
                            are, e.g. to warp a second source over a first */
};

/*
 * Warps src into dst through map with the given method. alloc (may be
 * NULL) provides the row workspace. Returns LC_OK, LC_EINVAL (NULL or
 * inconsistent arguments: unknown dtype or method, strides shorter than a
 * row), LC_ENOSPACE (dst->data_nbytes too small), LC_ELIMIT (a mode
 * footprint over 2^20 pixels) or LC_ENOMEM. Thread-safe for distinct
 * destinations: map and src are only read.
 */
int lc__warp(const struct lc__srcmap *map, const struct lc__warp_src *src,
             enum lc__warp_method method, const struct lc__warp_dst *dst,
             const struct lc_allocator *alloc, struct lc__errbuf *err);

/*
 * Nearest in two passes, for several sources laid out alike (the bands of
 * an item, read from the same window of COGs with one geotransform): the
 * offsets of a block are computed once, then each source is stored through
 * them. Together they give exactly what lc__warp's nearest gives.
 *
 * lc__warp_nearest_offsets: for every pixel of the block of map (row by
 * row, lc__srcmap_width x lc__srcmap_height), the offset of its source
 * pixel in a window of src_width x src_height values without row padding,
 * or -1 outside. offsets holds noffsets values. LC_EINVAL for an aligned
 * map (lc__warp copies those), LC_ELIMIT for a window of 2^31 values or
 * more, LC_ENOSPACE, LC_ENOMEM.
 *
 * lc__warp_nearest_apply: the block of width x height pixels of dst from
 * src (whose row_stride must be 0 or its width) through offsets. Errors as
 * lc__warp's. Both are thread-safe for distinct outputs.
 */
int lc__warp_nearest_offsets(const struct lc__srcmap *map, uint32_t src_width,
                             uint32_t src_height, int32_t *offsets,
                             size_t noffsets, const struct lc_allocator *alloc,
                             struct lc__errbuf *err);
int lc__warp_nearest_apply(const int32_t *offsets, uint32_t width,
                           uint32_t height, const struct lc__warp_src *src,
                           const struct lc__warp_dst *dst,
                           struct lc__errbuf *err);

#endif /* LC_WARP_WARP_H */
