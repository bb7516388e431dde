/* test_warp.c - resampling kernels on small known arrays, every dtype,
 * nodata and masks, the same-grid fast path (src/warp). */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include "../../src/geo/approx.h"
#include "../../src/geo/crs.h"
#include "../../src/warp/warp.h"

#include <math.h>

#include "test_util.h"

static const enum lc_dtype all_dtypes[] = {
    LC_DTYPE_UINT8,   LC_DTYPE_INT8,   LC_DTYPE_UINT16, LC_DTYPE_INT16,
    LC_DTYPE_UINT32,  LC_DTYPE_INT32,  LC_DTYPE_UINT64, LC_DTYPE_INT64,
    LC_DTYPE_FLOAT32, LC_DTYPE_FLOAT64};

static void put(void *buf, enum lc_dtype t, size_t i, double v)
{
    switch (t) {
    case LC_DTYPE_UINT8:
        ((uint8_t *)buf)[i] = (uint8_t)v;
        break;
    case LC_DTYPE_INT8:
        ((int8_t *)buf)[i] = (int8_t)v;
        break;
    case LC_DTYPE_UINT16:
        ((uint16_t *)buf)[i] = (uint16_t)v;
        break;
    case LC_DTYPE_INT16:
        ((int16_t *)buf)[i] = (int16_t)v;
        break;
    case LC_DTYPE_UINT32:
        ((uint32_t *)buf)[i] = (uint32_t)v;
        break;
    case LC_DTYPE_INT32:
        ((int32_t *)buf)[i] = (int32_t)v;
        break;
    case LC_DTYPE_UINT64:
        ((uint64_t *)buf)[i] = (uint64_t)v;
        break;
    case LC_DTYPE_INT64:
        ((int64_t *)buf)[i] = (int64_t)v;
        break;
    case LC_DTYPE_FLOAT32:
        ((float *)buf)[i] = (float)v;
        break;
    case LC_DTYPE_FLOAT64:
        ((double *)buf)[i] = v;
        break;
    case LC_DTYPE_UNKNOWN:
        break;
    }
}

static double get(const void *buf, enum lc_dtype t, size_t i)
{
    switch (t) {
    case LC_DTYPE_UINT8:
        return ((const uint8_t *)buf)[i];
    case LC_DTYPE_INT8:
        return ((const int8_t *)buf)[i];
    case LC_DTYPE_UINT16:
        return ((const uint16_t *)buf)[i];
    case LC_DTYPE_INT16:
        return ((const int16_t *)buf)[i];
    case LC_DTYPE_UINT32:
        return ((const uint32_t *)buf)[i];
    case LC_DTYPE_INT32:
        return ((const int32_t *)buf)[i];
    case LC_DTYPE_UINT64:
        return (double)((const uint64_t *)buf)[i];
    case LC_DTYPE_INT64:
        return (double)((const int64_t *)buf)[i];
    case LC_DTYPE_FLOAT32:
        return ((const float *)buf)[i];
    case LC_DTYPE_FLOAT64:
        return ((const double *)buf)[i];
    case LC_DTYPE_UNKNOWN:
        break;
    }
    return NAN;
}

static bool is_signed(enum lc_dtype t)
{
    return t == LC_DTYPE_INT8 || t == LC_DTYPE_INT16 || t == LC_DTYPE_INT32 ||
           t == LC_DTYPE_INT64 || t == LC_DTYPE_FLOAT32 ||
           t == LC_DTYPE_FLOAT64;
}

/* Shared CRS and identity transform (same CRS: affine maps). */
static struct lc__crs *utm;
static struct lc__transform *ident;

/* A source grid of 1 m pixels with its top-left corner at (0, h). */
static void src_gt_of(uint32_t h, double gt[6])
{
    const double g[6] = {0, 1, 0, (double)h, 0, -1};
    memcpy(gt, g, sizeof(g));
}

static struct lc__srcmap *map_of(const double dst_gt[6], uint32_t w, uint32_t h,
                                 const double src_gt[6])
{
    struct lc__grid g;
    memcpy(g.gt, dst_gt, sizeof(g.gt));
    g.width = w;
    g.height = h;
    struct lc__srcmap *m = NULL;
    struct lc__errbuf err = {0};
    int st = lc__srcmap_new(ident, &g, src_gt, 0, 0, NULL, NULL, &m, &err);
    if (st != LC_OK)
        LC_CHECK_FAIL_("lc__srcmap_new: %s: %s", lc_err_name(st), err.msg);
    return m;
}

static int run(const struct lc__srcmap *m, const struct lc__warp_src *src,
               enum lc__warp_method method, void *out, size_t out_nbytes,
               uint8_t *valid, double fill, bool skip)
{
    struct lc__warp_dst dst = {0};
    dst.data = out;
    dst.data_nbytes = out_nbytes;
    dst.valid = valid;
    dst.fill = fill;
    dst.skip_invalid = skip;
    struct lc__errbuf err = {0};
    int st = lc__warp(m, src, method, &dst, NULL, &err);
    if (st != LC_OK && st != LC_ENOSPACE && st != LC_EINVAL)
        LC_CHECK_FAIL_("lc__warp: %s: %s", lc_err_name(st), err.msg);
    return st;
}

/* ---- nearest ------------------------------------------------------------ */

/* Same CRS at twice the pixel size: each destination centre lies on a
 * corner of four source pixels, and GDAL's rule takes the one below and
 * to the right (x + 1e-10). */
static void test_nearest_every_dtype(void)
{
    enum { SW = 8, SH = 6, DW = 4, DH = 3 };
    double sgt[6];
    src_gt_of(SH, sgt);
    const double dgt[6] = {0, 2, 0, SH, 0, -2};
    struct lc__srcmap *m = map_of(dgt, DW, DH, sgt);
    if (m == NULL)
        return;
    for (size_t k = 0; k < LC_ARRAY_SIZE(all_dtypes); k++) {
        enum lc_dtype t = all_dtypes[k];
        uint64_t src[SW * SH], out[DW * DH];
        uint8_t valid[DW * DH];
        for (int i = 0; i < SW * SH; i++)
            put(src, t, (size_t)i, (double)(i % 100));
        struct lc__warp_src s = {src, t, SW, SH, 0, NULL, 0, false, 0};
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_NEAREST, out, sizeof(out), valid, 0, false),
            LC_OK);
        for (int j = 0; j < DH; j++) {
            for (int i = 0; i < DW; i++) {
                double want = (double)(((2 * j + 1) * SW + 2 * i + 1) % 100);
                double got = get(out, t, (size_t)(j * DW + i));
                if (got != want)
                    LC_CHECK_FAIL_("%s (%d,%d): %g != %g", lc_dtype_name(t), i,
                                   j, got, want);
                LC_ASSERT_EQ(valid[j * DW + i], 1);
            }
        }
    }
    lc__srcmap_free(m);
}

/* Destination partly outside the source; nodata, a mask and NaN nodata. */
static void test_nearest_nodata(void)
{
    enum { SW = 4, SH = 4, DW = 6, DH = 4 };
    double sgt[6];
    src_gt_of(SH, sgt);
    /* Half-pixel shift (not aligned) and two columns to the right of the
     * source. */
    const double dgt[6] = {0.25, 1, 0, SH, 0, -1};
    struct lc__srcmap *m = map_of(dgt, DW, DH, sgt);
    if (m == NULL)
        return;
    for (size_t k = 0; k < LC_ARRAY_SIZE(all_dtypes); k++) {
        enum lc_dtype t = all_dtypes[k];
        uint64_t src[SW * SH], out[DW * DH];
        uint8_t valid[DW * DH], mask[SW * SH];
        for (int i = 0; i < SW * SH; i++) {
            put(src, t, (size_t)i, (double)(10 + i));
            mask[i] = 255;
        }
        put(src, t, 5, 99); /* (1,1) is nodata */
        mask[10] = 0;       /* (2,2) is masked */
        double fill = is_signed(t) ? -7 : 7;
        struct lc__warp_src s = {src, t, SW, SH, 0, mask, 0, true, 99};
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_NEAREST, out, sizeof(out), valid, fill, false),
            LC_OK);
        for (int j = 0; j < DH; j++) {
            for (int i = 0; i < DW; i++) {
                /* Centre x = 0.25 + i + 0.5 -> source column i. */
                bool inside = i < SW;
                bool bad = (i == 1 && j == 1) || (i == 2 && j == 2);
                double want = inside && !bad ? 10 + j * SW + i : fill;
                double got = get(out, t, (size_t)(j * DW + i));
                if (got != want || valid[j * DW + i] != (inside && !bad))
                    LC_CHECK_FAIL_("%s (%d,%d): %g != %g (valid %d)",
                                   lc_dtype_name(t), i, j, got, want,
                                   valid[j * DW + i]);
            }
        }
        /* skip_invalid leaves invalid pixels as they were. */
        for (int i = 0; i < DW * DH; i++) {
            put(out, t, (size_t)i, 42);
            valid[i] = 9;
        }
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_NEAREST, out, sizeof(out), valid, fill, true),
            LC_OK);
        LC_ASSERT_TRUE(get(out, t, 1 * DW + 1) == 42 && valid[DW + 1] == 9);
        LC_ASSERT_TRUE(get(out, t, 0 * DW + 5) == 42 && valid[5] == 9);
        LC_ASSERT_TRUE(get(out, t, 0) == 10 && valid[0] == 1);
    }

    /* NaN nodata masks NaN values of float types. */
    float fsrc[SW * SH];
    float fout[DW * DH];
    uint8_t valid[DW * DH];
    for (int i = 0; i < SW * SH; i++)
        fsrc[i] = (float)i;
    fsrc[0] = NAN;
    struct lc__warp_src s = {fsrc, LC_DTYPE_FLOAT32, SW, SH, 0, NULL, 0, true,
                             NAN};
    LC_ASSERT_EQ(
        run(m, &s, LC_WARP_NEAREST, fout, sizeof(fout), valid, -1, false),
        LC_OK);
    LC_ASSERT_EQ(valid[0], 0);
    LC_ASSERT_TRUE(fout[0] == -1.0f);
    LC_ASSERT_EQ(valid[1], 1);
    /* A nodata value the dtype cannot hold masks nothing. */
    uint16_t usrc[SW * SH], uout[DW * DH];
    for (int i = 0; i < SW * SH; i++)
        usrc[i] = (uint16_t)i;
    struct lc__warp_src su = {usrc, LC_DTYPE_UINT16, SW, SH, 0, NULL, 0, true,
                              -9999};
    LC_ASSERT_EQ(
        run(m, &su, LC_WARP_NEAREST, uout, sizeof(uout), valid, 0, false),
        LC_OK);
    LC_ASSERT_EQ(valid[0], 1);
    LC_ASSERT_EQ(uout[0], 0);
    lc__srcmap_free(m);
}

/* The same-grid fast path: rows copied, offsets both ways. */
static void test_aligned_copy(void)
{
    enum { SW = 6, SH = 5, DW = 5, DH = 5 };
    double sgt[6];
    src_gt_of(SH, sgt);
    /* Destination starts 2 columns right and 1 row down of the source:
     * pixel (i, j) is source (i + 2, j + 1). */
    const double dgt[6] = {2, 1, 0, SH - 1, 0, -1};
    struct lc__srcmap *m = map_of(dgt, DW, DH, sgt);
    if (m == NULL)
        return;
    int64_t co, ro;
    LC_ASSERT_TRUE(lc__srcmap_aligned(m, &co, &ro));
    LC_ASSERT_EQ(co, 2);
    LC_ASSERT_EQ(ro, 1);
    for (size_t k = 0; k < LC_ARRAY_SIZE(all_dtypes); k++) {
        enum lc_dtype t = all_dtypes[k];
        for (int method = LC_WARP_NEAREST; method <= LC_WARP_MAX; method++) {
            uint64_t src[SW * SH], out[DW * DH];
            uint8_t valid[DW * DH];
            for (int i = 0; i < SW * SH; i++)
                put(src, t, (size_t)i, (double)(i + 1));
            put(src, t, 1 * SW + 3, 0); /* nodata at source (3, 1) */
            struct lc__warp_src s = {src, t, SW, SH, 0, NULL, 0, true, 0};
            LC_ASSERT_EQ(run(m, &s, (enum lc__warp_method)method, out,
                             sizeof(out), valid, 5, false),
                         LC_OK);
            for (int j = 0; j < DH; j++) {
                for (int i = 0; i < DW; i++) {
                    int sx = i + 2, sy = j + 1;
                    bool inside = sx < SW && sy < SH;
                    bool nod = sx == 3 && sy == 1;
                    double want = inside && !nod ? sy * SW + sx + 1 : 5;
                    double got = get(out, t, (size_t)(j * DW + i));
                    if (got != want || valid[j * DW + i] != (inside && !nod))
                        LC_CHECK_FAIL_(
                            "%s %s (%d,%d): %g != %g", lc_dtype_name(t),
                            lc__warp_method_name((enum lc__warp_method)method),
                            i, j, got, want);
                }
            }
        }
    }
    lc__srcmap_free(m);

    /* A window offset: the map indexes the window, not the level. */
    const double lgt[6] = {100, 1, 0, 200, 0, -1};
    const double wgt[6] = {103, 1, 0, 198, 0, -1};
    struct lc__grid g;
    memcpy(g.gt, wgt, sizeof(wgt));
    g.width = 2;
    g.height = 2;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__srcmap_new(ident, &g, lgt, 3, 2, NULL, NULL, &m, &err),
                 LC_OK);
    LC_ASSERT_TRUE(lc__srcmap_aligned(m, &co, &ro));
    LC_ASSERT_EQ(co, 0);
    LC_ASSERT_EQ(ro, 0);
    lc__srcmap_free(m);
}

/* ---- bilinear and cubic -------------------------------------------------- */

/* A linear ramp is reproduced exactly by both, inside the window. */
static void test_interp_ramp(void)
{
    enum { SW = 12, SH = 10, DW = 14, DH = 10 };
    double sgt[6];
    src_gt_of(SH, sgt);
    /* Half the pixel size, a quarter-pixel shift. */
    const double dgt[6] = {2.25, 0.5, 0, SH - 2.25, 0, -0.5};
    struct lc__srcmap *m = map_of(dgt, DW, DH, sgt);
    if (m == NULL)
        return;
    double src[SW * SH], out[DW * DH];
    uint8_t valid[DW * DH];
    for (int y = 0; y < SH; y++)
        for (int x = 0; x < SW; x++)
            src[y * SW + x] = 3.0 * x + 5.0 * y;
    for (int method = LC_WARP_BILINEAR; method <= LC_WARP_CUBIC; method++) {
        struct lc__warp_src s = {
            src, LC_DTYPE_FLOAT64, SW, SH, 0, NULL, 0, false, 0};
        LC_ASSERT_EQ(run(m, &s, (enum lc__warp_method)method, out, sizeof(out),
                         valid, -1, false),
                     LC_OK);
        for (int j = 0; j < DH; j++) {
            for (int i = 0; i < DW; i++) {
                /* Source position of the centre, in pixel units. */
                double px = 2.25 + (i + 0.5) * 0.5;
                double py = 2.25 + (j + 0.5) * 0.5;
                double want = 3.0 * (px - 0.5) + 5.0 * (py - 0.5);
                if (!(fabs(out[j * DW + i] - want) < 1e-9) ||
                    valid[j * DW + i] != 1)
                    LC_CHECK_FAIL_(
                        "%s (%d,%d): %.12g != %.12g",
                        lc__warp_method_name((enum lc__warp_method)method), i,
                        j, out[j * DW + i], want);
            }
        }
    }
    lc__srcmap_free(m);
}

/* Nodata never blends in: weights renormalise over valid pixels; integer
 * results round half up and saturate. */
static void test_interp_nodata_and_rounding(void)
{
    double sgt[6];
    src_gt_of(2, sgt);
    /* One destination pixel whose centre sits at source (1.0, 1.0): the
     * corner of the four pixels, each with weight 1/4. Its containing
     * pixel (GDAL's rule) is (1, 1). */
    const double dgt[6] = {0.5, 1, 0, 1.5, 0, -1};
    struct lc__srcmap *m = map_of(dgt, 1, 1, sgt);
    if (m == NULL)
        return;
    uint8_t valid;
    {
        uint16_t src[4] = {10, 20, 30, 40}, out = 0;
        struct lc__warp_src s = {src, LC_DTYPE_UINT16, 2, 2, 0, NULL, 0, true,
                                 0};
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_BILINEAR, &out, sizeof(out), &valid, 0, false),
            LC_OK);
        LC_ASSERT_EQ(out, 25);
        src[0] = 0; /* nodata: (20 + 30 + 40) / 3 = 30 */
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_BILINEAR, &out, sizeof(out), &valid, 0, false),
            LC_OK);
        LC_ASSERT_EQ(out, 30);
        LC_ASSERT_EQ(valid, 1);
        src[3] = 0; /* the containing pixel is nodata: invalid */
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_BILINEAR, &out, sizeof(out), &valid, 7, false),
            LC_OK);
        LC_ASSERT_EQ(out, 7);
        LC_ASSERT_EQ(valid, 0);
        /* Cubic at the window edge falls back to bilinear. */
        src[0] = 10;
        src[3] = 40;
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_CUBIC, &out, sizeof(out), &valid, 0, false),
            LC_OK);
        LC_ASSERT_EQ(out, 25);
    }
    {
        uint8_t src[4] = {0, 255, 0, 255}, out = 0;
        struct lc__warp_src s = {src, LC_DTYPE_UINT8, 2, 2, 0, NULL,
                                 0,   false,          0};
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_BILINEAR, &out, sizeof(out), &valid, 0, false),
            LC_OK);
        LC_ASSERT_EQ(out, 128); /* 127.5 rounds half up */
    }
    {
        int16_t src[4] = {-3, -4, -3, -4}, out = 0;
        struct lc__warp_src s = {src, LC_DTYPE_INT16, 2, 2, 0, NULL,
                                 0,   false,          0};
        LC_ASSERT_EQ(
            run(m, &s, LC_WARP_BILINEAR, &out, sizeof(out), &valid, 0, false),
            LC_OK);
        LC_ASSERT_EQ(out, -3); /* -3.5 rounds half up */
    }
    lc__srcmap_free(m);

    /* Cubic undershoot and overshoot saturate an unsigned type: at x = 3.0
     * the taps are columns 1..4 with weights -1/16, 9/16, 9/16, -1/16. */
    enum { N = 8 };
    double g8[6];
    src_gt_of(N, g8);
    const double d8[6] = {2.5, 1, 0, N - 3.5, 0, -1};
    m = map_of(d8, 1, 1, g8);
    if (m == NULL)
        return;
    uint8_t step[N * N], out = 77;
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            step[y * N + x] = x < 4 ? 0 : 255; /* taps 0, 0, 0, 255 */
    struct lc__warp_src s = {step, LC_DTYPE_UINT8, N, N, 0, NULL, 0, false, 0};
    LC_ASSERT_EQ(run(m, &s, LC_WARP_CUBIC, &out, sizeof(out), &valid, 0, false),
                 LC_OK);
    LC_ASSERT_EQ(out, 0); /* -15.9 */
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            step[y * N + x] = x < 4 ? 255 : 0; /* taps 255, 255, 255, 0 */
    LC_ASSERT_EQ(run(m, &s, LC_WARP_CUBIC, &out, sizeof(out), &valid, 0, false),
                 LC_OK);
    LC_ASSERT_EQ(out, 255); /* 270.9 */
    lc__srcmap_free(m);
}

/* ---- footprint kernels --------------------------------------------------- */

static void test_footprint(void)
{
    enum { SW = 4, SH = 4 };
    double sgt[6];
    src_gt_of(SH, sgt);
    const double dgt[6] = {0, 2, 0, SH, 0, -2};
    struct lc__srcmap *m = map_of(dgt, 2, 2, sgt);
    if (m == NULL)
        return;
    /* Blocks: top-left {1,1,2,3}, top-right {5,6,6,5},
     * bottom-left {0(nodata),4,4,8}, bottom-right all nodata. */
    const double vals[SW * SH] = {1, 1, 5, 6, 2, 3, 6, 5,
                                  0, 4, 0, 0, 4, 8, 0, 0};
    for (size_t k = 0; k < LC_ARRAY_SIZE(all_dtypes); k++) {
        enum lc_dtype t = all_dtypes[k];
        uint64_t src[SW * SH], out[4];
        uint8_t valid[4];
        for (int i = 0; i < SW * SH; i++)
            put(src, t, (size_t)i, vals[i]);
        struct lc__warp_src s = {src, t, SW, SH, 0, NULL, 0, true, 0};
        struct {
            enum lc__warp_method method;
            double want[3];
        } cases[] = {{LC_WARP_AVERAGE, {1.75, 5.5, 16.0 / 3.0}},
                     {LC_WARP_MODE, {1, 5, 4}},
                     {LC_WARP_MIN, {1, 5, 4}},
                     {LC_WARP_MAX, {3, 6, 8}}};
        for (size_t c = 0; c < LC_ARRAY_SIZE(cases); c++) {
            LC_ASSERT_EQ(
                run(m, &s, cases[c].method, out, sizeof(out), valid, 9, false),
                LC_OK);
            for (int p = 0; p < 3; p++) {
                double want = cases[c].want[p];
                if (t != LC_DTYPE_FLOAT32 && t != LC_DTYPE_FLOAT64)
                    want = floor(want + 0.5);
                double got = get(out, t, (size_t)p);
                double tol = t == LC_DTYPE_FLOAT32 ? 1e-6 : 0.0;
                if (!(fabs(got - want) <= tol) || valid[p] != 1)
                    LC_CHECK_FAIL_("%s %s block %d: %g != %g", lc_dtype_name(t),
                                   lc__warp_method_name(cases[c].method), p,
                                   got, want);
            }
            LC_ASSERT_EQ(valid[3], 0);
            LC_ASSERT_TRUE(get(out, t, 3) == 9);
        }
    }
    lc__srcmap_free(m);

    /* Area weights: a 1.5x footprint covering half pixels. */
    const double d3[6] = {0, 1.5, 0, SH, 0, -1.5};
    m = map_of(d3, 2, 2, sgt);
    if (m == NULL)
        return;
    double src[SW * SH], out[4];
    uint8_t valid[4];
    for (int y = 0; y < SH; y++)
        for (int x = 0; x < SW; x++)
            src[y * SW + x] = x;
    struct lc__warp_src s = {src, LC_DTYPE_FLOAT64, SW, SH, 0, NULL, 0, false,
                             0};
    LC_ASSERT_EQ(run(m, &s, LC_WARP_AVERAGE, out, sizeof(out), valid, 0, false),
                 LC_OK);
    /* Footprint [0, 1.5): (1 * 0 + 0.5 * 1) / 1.5 = 1/3; [1.5, 3):
     * (0.5 * 1 + 1 * 2) / 1.5 = 5/3. */
    LC_ASSERT_TRUE(fabs(out[0] - 1.0 / 3.0) < 1e-12);
    LC_ASSERT_TRUE(fabs(out[1] - 5.0 / 3.0) < 1e-12);
    lc__srcmap_free(m);
}

/* Ties in mode go to the value met first. */
static void test_mode_ties(void)
{
    double sgt[6];
    src_gt_of(2, sgt);
    const double dgt[6] = {0, 2, 0, 2, 0, -2};
    struct lc__srcmap *m = map_of(dgt, 1, 1, sgt);
    if (m == NULL)
        return;
    int32_t src[4] = {7, 3, 3, 7}, out = 0;
    uint8_t valid;
    struct lc__warp_src s = {src, LC_DTYPE_INT32, 2, 2, 0, NULL, 0, false, 0};
    LC_ASSERT_EQ(run(m, &s, LC_WARP_MODE, &out, sizeof(out), &valid, 0, false),
                 LC_OK);
    LC_ASSERT_EQ(out, 7);
    src[0] = 3;
    LC_ASSERT_EQ(run(m, &s, LC_WARP_MODE, &out, sizeof(out), &valid, 0, false),
                 LC_OK);
    LC_ASSERT_EQ(out, 3);
    lc__srcmap_free(m);
}

/* The map of a w x h block of 55 or 60 m EPSG:5070 pixels (res) from
 * (234000, 2467000) into a 60 m UTM 15N source window whose first pixel is
 * (col_off, row_off) of the image at (500000, 5000000); NULL (and a
 * failure counted) when PROJ cannot make it. */
static struct lc__srcmap *cross_map(uint32_t w, uint32_t h, double res,
                                    uint32_t col_off, uint32_t row_off)
{
    struct lc__crs *aea = NULL;
    struct lc__transform *tf = NULL;
    struct lc__srcmap *m = NULL;
    struct lc__errbuf err = {0};
    const double sgt[6] = {500000, 60, 0, 5000000, 0, -60};
    struct lc__grid g = {{234000, res, 0, 2467000, 0, -res}, w, h};
    LC_ASSERT_EQ(lc__crs_new("EPSG:5070", NULL, &aea, &err), LC_OK);
    if (aea != NULL)
        LC_ASSERT_EQ(lc__transform_get(aea, utm, &tf, &err), LC_OK);
    if (tf != NULL)
        LC_ASSERT_EQ(
            lc__srcmap_new(tf, &g, sgt, col_off, row_off, NULL, NULL, &m, &err),
            LC_OK);
    lc__transform_release(tf);
    lc__crs_free(aea);
    return m;
}

/* ---- a reprojected warp and argument checks -------------------------- */

static void test_cross_crs_and_errors(void)
{
    /* A uniform source stays uniform; the block's corner lies outside. */
    enum { SW = 64, SH = 64, DW = 40, DH = 40 };
    struct lc__srcmap *m = cross_map(DW, DH, 60, 0, 0);
    if (m == NULL)
        return;
    static uint16_t src[SW * SH];
    uint16_t out[DW * DH];
    uint8_t valid[DW * DH];
    for (int i = 0; i < SW * SH; i++)
        src[i] = 1234;
    struct lc__warp_src s = {src, LC_DTYPE_UINT16, SW, SH, 0, NULL,
                             0,   false,           0};
    for (int method = LC_WARP_NEAREST; method <= LC_WARP_MAX; method++) {
        LC_ASSERT_EQ(run(m, &s, (enum lc__warp_method)method, out, sizeof(out),
                         valid, 0, false),
                     LC_OK);
        size_t nvalid = 0;
        for (int i = 0; i < DW * DH; i++) {
            if (valid[i]) {
                nvalid++;
                LC_ASSERT_EQ(out[i], 1234);
            } else {
                LC_ASSERT_EQ(out[i], 0);
            }
        }
        LC_ASSERT_TRUE(nvalid > 100 && nvalid < DW * DH);
    }

    /* Errors. */
    LC_ASSERT_EQ(
        run(m, &s, LC_WARP_NEAREST, out, sizeof(out) - 1, valid, 0, false),
        LC_ENOSPACE);
    s.dtype = LC_DTYPE_UNKNOWN;
    LC_ASSERT_EQ(run(m, &s, LC_WARP_NEAREST, out, sizeof(out), valid, 0, false),
                 LC_EINVAL);
    s.dtype = LC_DTYPE_UINT16;
    LC_ASSERT_EQ(
        run(m, &s, (enum lc__warp_method)99, out, sizeof(out), valid, 0, false),
        LC_EINVAL);
    s.row_stride = SW - 1;
    LC_ASSERT_EQ(run(m, &s, LC_WARP_NEAREST, out, sizeof(out), valid, 0, false),
                 LC_EINVAL);
    LC_ASSERT_EQ(lc__warp(NULL, &s, LC_WARP_NEAREST, NULL, NULL, NULL),
                 LC_EINVAL);

    enum lc__warp_method parsed;
    LC_ASSERT_EQ(lc__warp_method_parse("cubic", &parsed), LC_OK);
    LC_ASSERT_EQ(parsed, LC_WARP_CUBIC);
    LC_ASSERT_EQ(lc__warp_method_parse("lanczos", &parsed), LC_EINVAL);
    LC_ASSERT_STR_EQ(lc__warp_method_name(LC_WARP_MODE), "mode");
    LC_ASSERT_STR_EQ(lc__warp_method_name((enum lc__warp_method)42), "unknown");
    lc__srcmap_free(m);
}

/* Nearest in two passes (offsets once, then each source through them)
 * gives exactly lc__warp's nearest, for every dtype, with a mask and a
 * nodata value, on a cross-CRS map whose block reaches past the source. */
static void test_nearest_two_passes(void)
{
    enum { SW = 64, SH = 48, DW = 45, DH = 37 };
    struct lc__srcmap *m = cross_map(DW, DH, 55, 3, 2), *aligned = NULL;
    struct lc__errbuf err = {0};
    if (m == NULL)
        return;
    static int32_t off[DW * DH];
    LC_ASSERT_EQ(lc__warp_nearest_offsets(m, SW, SH, off, DW * DH, NULL, &err),
                 LC_OK);
    size_t inside = 0;
    for (int i = 0; i < DW * DH; i++)
        inside += off[i] >= 0;
    LC_ASSERT_TRUE(inside > 100 && inside < DW * DH);

    static double src[SW * SH];
    static uint8_t mask[SW * SH];
    static double a[DW * DH], b[DW * DH];
    uint8_t va[DW * DH], vb[DW * DH];
    for (size_t d = 0; d < LC_ARRAY_SIZE(all_dtypes); d++) {
        enum lc_dtype t = all_dtypes[d];
        for (int i = 0; i < SW * SH; i++) {
            put(src, t, (size_t)i, (double)((i * 37) % 101));
            mask[i] = (uint8_t)(i % 7 != 0);
        }
        struct lc__warp_src s = {src, t, SW, SH, 0, mask, 0, true, 5};
        memset(a, 0xAB, sizeof a);
        memset(b, 0xCD, sizeof b);
        memset(va, 2, sizeof va);
        memset(vb, 3, sizeof vb);
        struct lc__warp_dst da = {
            .data = a, .data_nbytes = sizeof a, .valid = va, .fill = 9};
        struct lc__warp_dst db = da;
        db.data = b;
        db.valid = vb;
        LC_ASSERT_EQ(lc__warp(m, &s, LC_WARP_NEAREST, &da, NULL, &err), LC_OK);
        LC_ASSERT_EQ(lc__warp_nearest_apply(off, DW, DH, &s, &db, &err), LC_OK);
        size_t nbytes = (size_t)DW * DH * lc_dtype_nbytes(t);
        LC_ASSERT_TRUE(memcmp(a, b, nbytes) == 0);
        LC_ASSERT_TRUE(memcmp(va, vb, sizeof va) == 0);
        /* Some pixels of each kind: valid, masked or nodata, outside. */
        size_t nvalid = 0;
        for (int i = 0; i < DW * DH; i++)
            nvalid += va[i];
        LC_ASSERT_TRUE(nvalid > 50 && nvalid < inside);
        LC_ASSERT_EQ(get(b, t, 0), 9.0);
    }

    /* Errors. */
    struct lc__warp_src s = {
        src, LC_DTYPE_FLOAT64, SW, SH, SW + 1, NULL, 0, false, 0};
    struct lc__warp_dst db = {.data = b, .data_nbytes = sizeof b};
    LC_ASSERT_EQ(lc__warp_nearest_apply(off, DW, DH, &s, &db, &err),
                 LC_EINVAL); /* padded rows */
    s.row_stride = 0;
    db.data_nbytes = sizeof b - 1;
    LC_ASSERT_EQ(lc__warp_nearest_apply(off, DW, DH, &s, &db, &err),
                 LC_ENOSPACE);
    LC_ASSERT_EQ(lc__warp_nearest_apply(NULL, DW, DH, &s, &db, &err),
                 LC_EINVAL);
    LC_ASSERT_EQ(
        lc__warp_nearest_offsets(m, SW, SH, off, DW * DH - 1, NULL, &err),
        LC_ENOSPACE);
    LC_ASSERT_EQ(lc__warp_nearest_offsets(m, 0, SH, off, DW * DH, NULL, &err),
                 LC_EINVAL);
    LC_ASSERT_EQ(
        lc__warp_nearest_offsets(m, 65536, 32768, off, DW * DH, NULL, &err),
        LC_ELIMIT);
    double gt[6];
    src_gt_of(SH, gt);
    aligned = map_of(gt, 8, 8, gt);
    LC_ASSERT_EQ(
        lc__warp_nearest_offsets(aligned, SW, SH, off, DW * DH, NULL, &err),
        LC_EINVAL);
    lc__srcmap_free(aligned);
    lc__srcmap_free(m);
}

int main(void)
{
    struct lc__errbuf err = {0};
    if (lc__crs_new("EPSG:32615", NULL, &utm, &err) != LC_OK ||
        lc__transform_get(utm, utm, &ident, &err) != LC_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return EXIT_FAILURE;
    }
    test_nearest_every_dtype();
    test_nearest_nodata();
    test_aligned_copy();
    test_interp_ramp();
    test_interp_nodata_and_rounding();
    test_footprint();
    test_mode_ties();
    test_cross_crs_and_errors();
    test_nearest_two_passes();
    lc__transform_release(ident);
    lc__crs_free(utm);
    lc__geo_thread_cleanup();
    LC_TEST_END();
}
