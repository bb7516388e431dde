/* warp.c - resampling kernels: a source window into a destination block. */
/* SPDX-License-Identifier: MIT */

/*
 * Data flow of one warp
 * =====================
 *
 *   srcmap (src/geo)          per destination row j
 *   +----------------+        +-----------------------------+
 *   | affine/approx/ | -----> | sx[0..w), sy[0..w)  (double) |   workspace:
 *   | exact          |        +-----------------------------+   2 rows of
 *   +----------------+                      |                    positions
 *                                            v                    (+ mode
 *   source window (dtype T) ---> row kernel for T and method      scratch)
 *   + mask / nodata                          |
 *                                            v
 *                            destination row j (T) + valid bytes
 *
 * Aligned maps (same CRS, same pixel size, whole-pixel offset) skip the
 * positions and copy rows (copy_row). The per-dtype row kernels come from
 * warp_template.h, included once per dtype below, so the inner loops are
 * compiled for each type with no per-pixel type dispatch.
 */
#include "../common/common.h"

#include "warp.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../common/alloc.h"

/* Mode keeps every value of a footprint: refuse absurd footprints. */
#define LC_WARP_MODE_MAX_PIXELS ((size_t)1 << 20)

/* What a row kernel needs, prepared once per warp. */
struct kctx {
    enum lc__warp_method method;
    uint32_t width; /* destination row length */
    const void *src_data;
    size_t src_stride;
    uint32_t src_w;
    uint32_t src_h;
    const uint8_t *mask;
    size_t mask_stride;
    bool nodata_on;  /* nodata is a value of the dtype (not NaN) */
    bool nodata_nan; /* float dtype with NaN nodata */
    double nodata;
    void *dst_data;
    size_t dst_stride;
    uint8_t *valid;
    size_t valid_stride;
    double fill;
    bool skip_invalid;
    int64_t col_off; /* aligned maps */
    int64_t row_off;
    double hx; /* footprint half sizes, source pixels */
    double hy;
    void *scratch; /* mode: two arrays of scratch_half values */
    size_t scratch_half;
};

struct kernels {
    void (*nearest_index)(const struct kctx *c, const double *sx,
                          const double *sy, int32_t *idx);
    void (*nearest_prefetch)(const struct kctx *c, const int32_t *idx);
    void (*nearest_store)(const struct kctx *c, uint32_t j, const int32_t *idx);
    void (*copy_row)(const struct kctx *c, uint32_t j);
    void (*interp_row)(const struct kctx *c, uint32_t j, const double *sx,
                       const double *sy);
    void (*footprint_row)(const struct kctx *c, uint32_t j, const double *sx,
                          const double *sy);
    size_t value_nbytes;
};

/*
 * floor() without the libm call it becomes on baseline x86-64 (no SSE4.1
 * rounding instruction): through int64_t where that is exact, floor()
 * beyond (where every double is an integer anyway, or too large).
 */
static inline double fast_floor(double v)
{
    if (!(fabs(v) < 4503599627370496.0)) /* 2^52; also NaN */
        return floor(v);
    double t = (double)(int64_t)v;
    return t > v ? t - 1.0 : t;
}

static inline void cubic_weights(double t, double w[4])
{
    /* Keys (1981) with a = -0.5, at distances 1 + t, t, 1 - t, 2 - t. */
    const double a = -0.5;
    double d0 = 1.0 + t, d1 = t, d2 = 1.0 - t, d3 = 2.0 - t;
    w[0] = ((a * d0 - 5.0 * a) * d0 + 8.0 * a) * d0 - 4.0 * a;
    w[1] = ((a + 2.0) * d1 - (a + 3.0)) * d1 * d1 + 1.0;
    w[2] = ((a + 2.0) * d2 - (a + 3.0)) * d2 * d2 + 1.0;
    w[3] = ((a * d3 - 5.0 * a) * d3 + 8.0 * a) * d3 - 4.0 * a;
}

/* The nearest kernel's loops run ~7% slower or faster depending on where
 * the linker happens to place them (measured with bench_warp): aligning
 * the function keeps its speed from changing with unrelated code. */
#if defined(__GNUC__) || defined(__clang__)
#define LC_KERNEL_ALIGN __attribute__((aligned(64)))
#else
#define LC_KERNEL_ALIGN
#endif

/*
 * Nearest's offsets for one destination row: the offset of the source
 * pixel of each destination pixel, or -1 (GDAL's bounds rule; NaN fails
 * every comparison), branch-free so that the compiler vectorises it. The
 * clamps keep the conversions defined for any input; int32 offsets hold
 * because nearest is taken only for windows under 2^31 values. The same
 * for every dtype: the offsets count values.
 */
static inline void nearest_offsets_row(const struct kctx *c, const double *sx,
                                       const double *sy, int32_t *idx)
{
    const uint32_t w = c->width;
    const double sw = c->src_w, sh = c->src_h;
    const double lx = (double)c->src_w - 1, ly = (double)c->src_h - 1;
    const int32_t stride = (int32_t)c->src_stride;
    for (uint32_t i = 0; i < w; i++) {
        double x0 = sx[i], y0 = sy[i];
        double x = x0 + 1e-10, y = y0 + 1e-10;
        int in = (x0 >= 0.0) & (y0 >= 0.0) & (x <= sw) & (y <= sh);
        double xc = x < lx ? x : lx;
        double yc = y < ly ? y : ly;
        xc = xc > 0.0 ? xc : 0.0;
        yc = yc > 0.0 ? yc : 0.0;
        int32_t off = (int32_t)yc * stride + (int32_t)xc;
        idx[i] = in ? off : -1;
    }
}

#define LC_T uint8_t
#define LC_SFX u8
#define LC_T_FLOAT 0
#define LC_T_LO 0.0
#define LC_T_HI 256.0
#define LC_T_MIN ((uint8_t)0)
#define LC_T_MAX UINT8_MAX
#include "warp_template.h"

#define LC_T int8_t
#define LC_SFX i8
#define LC_T_FLOAT 0
#define LC_T_LO -128.0
#define LC_T_HI 128.0
#define LC_T_MIN INT8_MIN
#define LC_T_MAX INT8_MAX
#include "warp_template.h"

#define LC_T uint16_t
#define LC_SFX u16
#define LC_T_FLOAT 0
#define LC_T_LO 0.0
#define LC_T_HI 65536.0
#define LC_T_MIN ((uint16_t)0)
#define LC_T_MAX UINT16_MAX
#include "warp_template.h"

#define LC_T int16_t
#define LC_SFX i16
#define LC_T_FLOAT 0
#define LC_T_LO -32768.0
#define LC_T_HI 32768.0
#define LC_T_MIN INT16_MIN
#define LC_T_MAX INT16_MAX
#include "warp_template.h"

#define LC_T uint32_t
#define LC_SFX u32
#define LC_T_FLOAT 0
#define LC_T_LO 0.0
#define LC_T_HI 4294967296.0
#define LC_T_MIN ((uint32_t)0)
#define LC_T_MAX UINT32_MAX
#include "warp_template.h"

#define LC_T int32_t
#define LC_SFX i32
#define LC_T_FLOAT 0
#define LC_T_LO -2147483648.0
#define LC_T_HI 2147483648.0
#define LC_T_MIN INT32_MIN
#define LC_T_MAX INT32_MAX
#include "warp_template.h"

#define LC_T uint64_t
#define LC_SFX u64
#define LC_T_FLOAT 0
#define LC_T_LO 0.0
#define LC_T_HI 18446744073709551616.0
#define LC_T_MIN ((uint64_t)0)
#define LC_T_MAX UINT64_MAX
#include "warp_template.h"

#define LC_T int64_t
#define LC_SFX i64
#define LC_T_FLOAT 0
#define LC_T_LO -9223372036854775808.0
#define LC_T_HI 9223372036854775808.0
#define LC_T_MIN INT64_MIN
#define LC_T_MAX INT64_MAX
#include "warp_template.h"

#define LC_T float
#define LC_SFX f32
#define LC_T_FLOAT 1
#define LC_T_LO (-FLT_MAX)
#define LC_T_HI FLT_MAX
#define LC_T_MIN (-FLT_MAX)
#define LC_T_MAX FLT_MAX
#include "warp_template.h"

#define LC_T double
#define LC_SFX f64
#define LC_T_FLOAT 1
#define LC_T_LO (-DBL_MAX)
#define LC_T_HI DBL_MAX
#define LC_T_MIN (-DBL_MAX)
#define LC_T_MAX DBL_MAX
#include "warp_template.h"

static const struct kernels *kernels_for(enum lc_dtype dtype)
{
    switch (dtype) {
    case LC_DTYPE_UINT8:
        return &kernels_u8;
    case LC_DTYPE_INT8:
        return &kernels_i8;
    case LC_DTYPE_UINT16:
        return &kernels_u16;
    case LC_DTYPE_INT16:
        return &kernels_i16;
    case LC_DTYPE_UINT32:
        return &kernels_u32;
    case LC_DTYPE_INT32:
        return &kernels_i32;
    case LC_DTYPE_UINT64:
        return &kernels_u64;
    case LC_DTYPE_INT64:
        return &kernels_i64;
    case LC_DTYPE_FLOAT32:
        return &kernels_f32;
    case LC_DTYPE_FLOAT64:
        return &kernels_f64;
    case LC_DTYPE_UNKNOWN:
        return NULL;
    }
    return NULL;
}

static const char *const method_names[] = {
    "nearest", "bilinear", "cubic", "average", "mode", "min", "max"};

const char *lc__warp_method_name(enum lc__warp_method method)
{
    size_t k = (size_t)method;
    return k < LC_ARRAY_SIZE(method_names) ? method_names[k] : "unknown";
}

int lc__warp_method_parse(const char *name, enum lc__warp_method *method_ret)
{
    if (name != NULL && method_ret != NULL) {
        for (size_t k = 0; k < LC_ARRAY_SIZE(method_names); k++) {
            if (strcmp(name, method_names[k]) == 0) {
                *method_ret = (enum lc__warp_method)k;
                return LC_OK;
            }
        }
    }
    return LC_EINVAL;
}

/*
 * Whether nodata is a value of dtype: integers need an integral value in
 * range (else no pixel can equal it), floats any non-NaN value (NaN is
 * handled apart). float32 also needs the value to survive the conversion.
 */
static bool nodata_representable(enum lc_dtype dtype, double v)
{
    double lo = 0.0, hi = -1.0;
    switch (dtype) {
    case LC_DTYPE_FLOAT32:
        return !isnan(v) && (isinf(v) || fabs(v) <= FLT_MAX);
    case LC_DTYPE_FLOAT64:
        return !isnan(v);
    case LC_DTYPE_UINT8:
        lo = 0.0;
        hi = 255.0;
        break;
    case LC_DTYPE_INT8:
        lo = -128.0;
        hi = 127.0;
        break;
    case LC_DTYPE_UINT16:
        lo = 0.0;
        hi = 65535.0;
        break;
    case LC_DTYPE_INT16:
        lo = -32768.0;
        hi = 32767.0;
        break;
    case LC_DTYPE_UINT32:
        lo = 0.0;
        hi = 4294967295.0;
        break;
    case LC_DTYPE_INT32:
        lo = -2147483648.0;
        hi = 2147483647.0;
        break;
    case LC_DTYPE_UINT64:
        /* Below 2^64; the largest double under it is exact. */
        return v == floor(v) && v >= 0.0 && v < 18446744073709551616.0;
    case LC_DTYPE_INT64:
        return v == floor(v) && v >= -9223372036854775808.0 &&
               v < 9223372036854775808.0;
    case LC_DTYPE_UNKNOWN:
        return false;
    }
    return v == floor(v) && v >= lo && v <= hi;
}

static bool is_float(enum lc_dtype dtype)
{
    return dtype == LC_DTYPE_FLOAT32 || dtype == LC_DTYPE_FLOAT64;
}

/*
 * Checks a source and a destination block of w x h pixels, and prepares
 * the kernels' context for them (the method's fields are the caller's).
 */
static int prepare(uint32_t w, uint32_t h, const struct lc__warp_src *src,
                   const struct lc__warp_dst *dst, struct kctx *c,
                   const struct kernels **k_ret, struct lc__errbuf *err)
{
    const struct kernels *k = kernels_for(src->dtype);
    LC_RETURN_IF(k == NULL, err, LC_EINVAL, "unknown dtype %d",
                 (int)src->dtype);
    LC_RETURN_IF(src->data == NULL || dst->data == NULL, err, LC_EINVAL,
                 "NULL source or destination data");
    LC_RETURN_IF(src->width == 0 || src->height == 0, err, LC_EINVAL,
                 "empty source window");
    size_t src_stride = src->row_stride != 0 ? src->row_stride : src->width;
    size_t mask_stride = src->mask_stride != 0 ? src->mask_stride : src->width;
    size_t dst_stride = dst->row_stride != 0 ? dst->row_stride : w;
    size_t valid_stride = dst->valid_stride != 0 ? dst->valid_stride : w;
    LC_RETURN_IF(src_stride < src->width || mask_stride < src->width ||
                     dst_stride < w || valid_stride < w,
                 err, LC_EINVAL, "a row stride is shorter than its row");
    size_t need;
    if (!lc__size_mul((size_t)(h - 1), dst_stride, &need) ||
        !lc__size_add(need, w, &need) ||
        !lc__size_mul(need, k->value_nbytes, &need))
        return lc__error(err, LC_EINVAL, "destination size overflows");
    LC_RETURN_IF(dst->data_nbytes < need, err, LC_ENOSPACE,
                 "destination holds %zu bytes, the block needs %zu",
                 dst->data_nbytes, need);

    *c = (struct kctx){0};
    c->width = w;
    c->src_data = src->data;
    c->src_stride = src_stride;
    c->src_w = src->width;
    c->src_h = src->height;
    c->mask = src->mask;
    c->mask_stride = mask_stride;
    if (src->has_nodata) {
        c->nodata_nan = is_float(src->dtype) && isnan(src->nodata);
        c->nodata_on = nodata_representable(src->dtype, src->nodata);
        c->nodata = src->nodata;
    }
    c->dst_data = dst->data;
    c->dst_stride = dst_stride;
    c->valid = dst->valid;
    c->valid_stride = valid_stride;
    c->fill = dst->fill;
    c->skip_invalid = dst->skip_invalid;
    *k_ret = k;
    return LC_OK;
}

/* Nearest keeps source offsets in int32 (its first pass vectorises that
 * way); larger windows are refused rather than mis-indexed. */
static int check_offsets_fit(size_t src_stride, uint32_t src_height,
                             struct lc__errbuf *err)
{
    LC_RETURN_IF(src_stride > INT32_MAX ||
                     (size_t)src_height > (size_t)INT32_MAX / src_stride,
                 err, LC_ELIMIT,
                 "source window of %zu x %u values is over 2^31 for "
                 "nearest",
                 src_stride, src_height);
    return LC_OK;
}

int lc__warp(const struct lc__srcmap *map, const struct lc__warp_src *src,
             enum lc__warp_method method, const struct lc__warp_dst *dst,
             const struct lc_allocator *alloc, struct lc__errbuf *err)
{
    LC_RETURN_IF(map == NULL || src == NULL || dst == NULL, err, LC_EINVAL,
                 "NULL argument to lc__warp");
    LC_RETURN_IF((size_t)method >= LC_ARRAY_SIZE(method_names), err, LC_EINVAL,
                 "unknown warp method %d", (int)method);
    uint32_t w = lc__srcmap_width(map), h = lc__srcmap_height(map);
    struct kctx c;
    const struct kernels *k;
    LC_FORWARD_IF_ERROR(prepare(w, h, src, dst, &c, &k, err));
    c.method = method;

    /* Same grid: every method picks the source pixel itself. */
    if (lc__srcmap_aligned(map, &c.col_off, &c.row_off)) {
        for (uint32_t j = 0; j < h; j++)
            k->copy_row(&c, j);
        return LC_OK;
    }

    if (method == LC_WARP_NEAREST)
        LC_FORWARD_IF_ERROR(check_offsets_fit(c.src_stride, c.src_h, err));
    const struct lc_allocator *a = alloc;
    /* Workspace: positions of one row, then (nearest) the offsets of two
     * rows. */
    size_t ws_nbytes = 2 * (size_t)w * sizeof(double) + 2 * (size_t)w * 4;
    double *sx = lc__malloc(a, ws_nbytes);
    LC_RETURN_IF(sx == NULL, err, LC_ENOMEM,
                 "out of memory for the warp row workspace");
    double *sy = sx + w;
    int32_t *idx[2] = {(int32_t *)(void *)(sy + w)};
    idx[1] = idx[0] + w;

    if (method == LC_WARP_AVERAGE || method == LC_WARP_MODE ||
        method == LC_WARP_MIN || method == LC_WARP_MAX) {
        double fx, fy;
        lc__srcmap_scale(map, &fx, &fy);
        c.hx = 0.5 * fx;
        c.hy = 0.5 * fy;
        if (method == LC_WARP_MODE) {
            double nx = ceil(2.0 * c.hx) + 2.0, ny = ceil(2.0 * c.hy) + 2.0;
            double n = nx * ny;
            if (!(n <= (double)LC_WARP_MODE_MAX_PIXELS)) {
                lc__free(a, sx);
                return lc__error(err, LC_ELIMIT,
                                 "mode footprint of %.0f pixels is over the "
                                 "limit",
                                 n);
            }
            c.scratch_half = (size_t)n;
            c.scratch =
                lc__malloc_array(a, 2 * c.scratch_half, k->value_nbytes);
            if (c.scratch == NULL) {
                lc__free(a, sx);
                return lc__error(err, LC_ENOMEM,
                                 "out of memory for the mode workspace");
            }
        }
    }

    if (method == LC_WARP_NEAREST && h > 0) {
        /* Row j + 1's offsets (and the prefetch of its source lines) come
         * before row j's stores: see nearest_index. */
        lc__srcmap_row(map, 0, sx, sy);
        k->nearest_index(&c, sx, sy, idx[0]);
        for (uint32_t j = 0; j < h; j++) {
            if (j + 1 < h) {
                lc__srcmap_row(map, j + 1, sx, sy);
                k->nearest_index(&c, sx, sy, idx[(j + 1) & 1]);
            }
            k->nearest_store(&c, j, idx[j & 1]);
        }
    } else if (method != LC_WARP_NEAREST) {
        bool interp = method == LC_WARP_BILINEAR || method == LC_WARP_CUBIC;
        for (uint32_t j = 0; j < h; j++) {
            lc__srcmap_row(map, j, sx, sy);
            if (interp)
                k->interp_row(&c, j, sx, sy);
            else
                k->footprint_row(&c, j, sx, sy);
        }
    }
    lc__free(a, c.scratch);
    lc__free(a, sx);
    return LC_OK;
}

int lc__warp_nearest_offsets(const struct lc__srcmap *map, uint32_t src_width,
                             uint32_t src_height, int32_t *offsets,
                             size_t noffsets, const struct lc_allocator *alloc,
                             struct lc__errbuf *err)
{
    LC_RETURN_IF(map == NULL || offsets == NULL, err, LC_EINVAL,
                 "NULL argument to lc__warp_nearest_offsets");
    LC_RETURN_IF(src_width == 0 || src_height == 0, err, LC_EINVAL,
                 "empty source window");
    int64_t col, row;
    LC_RETURN_IF(lc__srcmap_aligned(map, &col, &row), err, LC_EINVAL,
                 "an aligned map has no offsets (lc__warp copies rows)");
    LC_FORWARD_IF_ERROR(check_offsets_fit(src_width, src_height, err));
    uint32_t w = lc__srcmap_width(map), h = lc__srcmap_height(map);
    size_t need;
    LC_RETURN_IF(
        !lc__size_mul(w, h, &need) || noffsets < need, err, LC_ENOSPACE,
        "offsets hold %zu values, the block needs %u x %u", noffsets, w, h);
    double *sx = lc__malloc_array(alloc, 2 * (size_t)w, sizeof(double));
    LC_RETURN_IF(sx == NULL, err, LC_ENOMEM,
                 "out of memory for the warp row workspace");
    double *sy = sx + w;
    struct kctx c = {.width = w,
                     .src_stride = src_width,
                     .src_w = src_width,
                     .src_h = src_height};
    for (uint32_t j = 0; j < h; j++) {
        lc__srcmap_row(map, j, sx, sy);
        nearest_offsets_row(&c, sx, sy, offsets + (size_t)j * w);
    }
    lc__free(alloc, sx);
    return LC_OK;
}

int lc__warp_nearest_apply(const int32_t *offsets, uint32_t width,
                           uint32_t height, const struct lc__warp_src *src,
                           const struct lc__warp_dst *dst,
                           struct lc__errbuf *err)
{
    LC_RETURN_IF(offsets == NULL || src == NULL || dst == NULL || width == 0 ||
                     height == 0,
                 err, LC_EINVAL,
                 "NULL or empty argument to "
                 "lc__warp_nearest_apply");
    struct kctx c;
    const struct kernels *k;
    LC_FORWARD_IF_ERROR(prepare(width, height, src, dst, &c, &k, err));
    LC_RETURN_IF(c.src_stride != src->width, err, LC_EINVAL,
                 "offsets count values of rows without padding");
    LC_FORWARD_IF_ERROR(check_offsets_fit(c.src_stride, c.src_h, err));
    c.method = LC_WARP_NEAREST;
    /* As lc__warp: row j + 1's source lines are prefetched before row j
     * is stored. */
    k->nearest_prefetch(&c, offsets);
    for (uint32_t j = 0; j < height; j++) {
        if (j + 1 < height)
            k->nearest_prefetch(&c, offsets + (size_t)(j + 1) * width);
        k->nearest_store(&c, j, offsets + (size_t)j * width);
    }
    return LC_OK;
}
