/* warp_template.h - the per-dtype row kernels of warp.c. */
/* SPDX-License-Identifier: MIT */

/*
 * Included once per dtype by warp.c (STYLE rule 23: template-by-include is
 * kept for the measured-hot resampling loops). Before each inclusion,
 * warp.c defines:
 *
 *   LC_T        the C type of one value (uint16_t, float, ...)
 *   LC_SFX      the suffix of the generated names (u16, f32, ...)
 *   LC_T_FLOAT  1 for float and double, else 0
 *   LC_T_LO     the smallest value of the type, as a double (exact)
 *   LC_T_HI     the first double above the largest value of an integer
 *               type (2^bits or 2^(bits-1)), unused for floats
 *   LC_T_MIN    the smallest value (integers) as a constant of the type
 *   LC_T_MAX    the largest finite value, as a constant of the type
 *
 * and the file undefines them at its end. Every function is static; the
 * names are suffixed, e.g. nearest_row_u16.
 */
#ifndef LC_T
#error "warp_template.h is included by warp.c only"
#endif

#define LC_CAT2(a, b) a##_##b
#define LC_CAT(a, b) LC_CAT2(a, b)
#define LC_FN(name) LC_CAT(name, LC_SFX)

/* A double into the type: integers round half up and saturate (GDAL's
 * GWKClampValueT); floats convert, saturating finite values. */
static inline LC_T LC_FN(from_double)(double v)
{
#if LC_T_FLOAT
    if (v > LC_T_MAX && !isinf(v))
        return LC_T_MAX;
    if (v < -LC_T_MAX && !isinf(v))
        return -LC_T_MAX;
    return (LC_T)v;
#else
    if (!(v == v))
        return (LC_T)0;
    double r = fast_floor(v + 0.5);
    if (r <= LC_T_LO)
        return LC_T_MIN;
    if (r >= LC_T_HI)
        return LC_T_MAX;
    return (LC_T)r;
#endif
}

/* The nodata test of one value, given the prepared context. */
static inline bool LC_FN(is_nodata)(const struct kctx *c, LC_T v, LC_T nd)
{
#if LC_T_FLOAT
    if (c->nodata_nan)
        return v != v;
#endif
    return c->nodata_on && v == nd;
}

/* Whether source pixel (ix, iy), inside the window, is valid. */
static inline bool LC_FN(src_valid)(const struct kctx *c, const LC_T *data,
                                    size_t ix, size_t iy, LC_T nd, LC_T *v_ret)
{
    LC_T v = data[iy * c->src_stride + ix];
    *v_ret = v;
    if (c->mask != NULL && c->mask[iy * c->mask_stride + ix] == 0)
        return false;
    return !LC_FN(is_nodata)(c, v, nd);
}

/* ---- nearest ------------------------------------------------------------ */

/* A prefetch of the source lines a row of offsets points into: lc__warp
 * computes row j + 1's offsets before it stores row j, so they have a
 * row's time to arrive. Touching the source along a slanted line loads a
 * new cache line every few pixels, each in another source row, which the
 * hardware prefetcher does not foresee. */
static void LC_FN(nearest_prefetch)(const struct kctx *c, const int32_t *idx)
{
#if defined(__GNUC__) || defined(__clang__)
    const LC_T *data = c->src_data;
    /* Half a line apart: every line is touched at least once. */
    const uint32_t step = 32 / sizeof(LC_T) != 0 ? 32 / sizeof(LC_T) : 1;
    for (uint32_t i = 0; i < c->width; i += step) {
        if (idx[i] >= 0)
            __builtin_prefetch(data + idx[i]);
    }
#else
    (void)c;
    (void)idx;
#endif
}

/* Pass 1 of nearest, for one destination row: its source offsets, then
 * the prefetch of the lines they point into. */
static void LC_FN(nearest_index)(const struct kctx *c, const double *sx,
                                 const double *sy, int32_t *idx)
{
    nearest_offsets_row(c, sx, sy, idx);
    LC_FN(nearest_prefetch)(c, idx);
}

/* Pass 2 of nearest: destination row j from its offsets (nearest_index):
 * gather, validity, store. */
LC_KERNEL_ALIGN
static void LC_FN(nearest_store)(const struct kctx *cin, uint32_t j,
                                 const int32_t *idx)
{
    const struct kctx kc = *cin; /* see copy_row */
    const struct kctx *c = &kc;
    const LC_T *data = c->src_data;
    LC_T *out = (LC_T *)c->dst_data + (size_t)j * c->dst_stride;
    uint8_t *valid =
        c->valid != NULL ? c->valid + (size_t)j * c->valid_stride : NULL;
    const LC_T fill = LC_FN(from_double)(c->fill);
    const LC_T nd = c->nodata_on ? (LC_T)c->nodata : (LC_T)0;
    const uint32_t w = c->width;
    const bool checks = c->mask != NULL || c->nodata_on || c->nodata_nan;

    for (uint32_t i = 0; i < w; i++) {
        int32_t k = idx[i];
        bool ok = false;
        LC_T v = fill;
        if (k >= 0) {
            v = data[k];
            ok = true;
            if (checks) {
                size_t mk = (size_t)k;
                if (c->mask != NULL && c->mask_stride != c->src_stride)
                    mk = mk / c->src_stride * c->mask_stride +
                         mk % c->src_stride;
                ok = !(c->mask != NULL && c->mask[mk] == 0) &&
                     !LC_FN(is_nodata)(c, v, nd);
            }
        }
        if (ok) {
            out[i] = v;
            if (valid != NULL)
                valid[i] = 1;
        } else if (!c->skip_invalid) {
            out[i] = fill;
            if (valid != NULL)
                valid[i] = 0;
        }
    }
}

/* ---- aligned copy -------------------------------------------------------- */

/* Destination row j from source row j + row_off, columns shifted by
 * col_off, for an aligned map. */
static void LC_FN(copy_row)(const struct kctx *cin, uint32_t j)
{
    /* A local copy: stores through the uint8_t valid pointer may alias
     * anything, and would otherwise force every field to be reloaded for
     * every pixel. */
    const struct kctx kc = *cin;
    const struct kctx *c = &kc;
    LC_T *out = (LC_T *)c->dst_data + (size_t)j * c->dst_stride;
    uint8_t *valid =
        c->valid != NULL ? c->valid + (size_t)j * c->valid_stride : NULL;
    const LC_T fill = LC_FN(from_double)(c->fill);
    const LC_T nd = c->nodata_on ? (LC_T)c->nodata : (LC_T)0;
    int64_t r = (int64_t)j + c->row_off;
    int64_t i0 = -c->col_off, i1 = (int64_t)c->src_w - c->col_off;
    if (r < 0 || r >= (int64_t)c->src_h) {
        i0 = 0;
        i1 = 0;
    }
    i0 = i0 < 0 ? 0 : i0;
    i1 = i1 > (int64_t)c->width ? (int64_t)c->width : i1;
    if (i1 < i0)
        i1 = i0;
    if (!c->skip_invalid) {
        for (int64_t i = 0; i < i0; i++)
            out[i] = fill;
        for (int64_t i = i1; i < (int64_t)c->width; i++)
            out[i] = fill;
        if (valid != NULL) {
            memset(valid, 0, (size_t)i0);
            memset(valid + i1, 0, (size_t)((int64_t)c->width - i1));
        }
    }
    if (i1 == i0)
        return;
    /* Source column of destination column i0; never before the row. */
    size_t s0 = (size_t)(i0 + c->col_off);
    size_t n = (size_t)(i1 - i0);
    const LC_T *src =
        (const LC_T *)c->src_data + (size_t)r * c->src_stride + s0;
    const bool checks = c->mask != NULL || c->nodata_on || c->nodata_nan;
    if (!checks) {
        memcpy(out + i0, src, n * sizeof(LC_T));
        if (valid != NULL)
            memset(valid + i0, 1, n);
        return;
    }
    const uint8_t *mrow =
        c->mask != NULL ? c->mask + (size_t)r * c->mask_stride + s0 : NULL;
    LC_T *o = out + i0;
    uint8_t *vo = valid != NULL ? valid + i0 : NULL;
    for (size_t i = 0; i < n; i++) {
        LC_T v = src[i];
        bool ok =
            !(mrow != NULL && mrow[i] == 0) && !LC_FN(is_nodata)(c, v, nd);
        if (ok) {
            o[i] = v;
            if (vo != NULL)
                vo[i] = 1;
        } else if (!c->skip_invalid) {
            o[i] = fill;
            if (vo != NULL)
                vo[i] = 0;
        }
    }
}

/* ---- bilinear and cubic ------------------------------------------------ */

/* Bilinear at (x, y) (pixel-corner coordinates): false when no valid
 * pixel carries weight. */
static inline bool LC_FN(bilinear_at)(const struct kctx *c, double x, double y,
                                      LC_T nd, double *v_ret)
{
    const LC_T *data = c->src_data;
    double fx = x - 0.5, fy = y - 0.5;
    double flx = fast_floor(fx), fly = fast_floor(fy);
    int64_t ix = (int64_t)flx, iy = (int64_t)fly;
    double dx = fx - flx, dy = fy - fly;
    const double wx[2] = {1.0 - dx, dx};
    const double wy[2] = {1.0 - dy, dy};
    double acc = 0.0, wsum = 0.0;
    for (int b = 0; b < 2; b++) {
        int64_t yy = iy + b;
        if (yy < 0 || yy >= (int64_t)c->src_h || wy[b] == 0.0)
            continue;
        for (int a = 0; a < 2; a++) {
            int64_t xx = ix + a;
            if (xx < 0 || xx >= (int64_t)c->src_w || wx[a] == 0.0)
                continue;
            LC_T v;
            if (!LC_FN(src_valid)(c, data, (size_t)xx, (size_t)yy, nd, &v))
                continue;
            double w = wx[a] * wy[b];
            acc += w * (double)v;
            wsum += w;
        }
    }
    if (!(wsum > 1e-6))
        return false;
    *v_ret = acc / wsum;
    return true;
}

static inline bool LC_FN(cubic_at)(const struct kctx *c, double x, double y,
                                   LC_T nd, double *v_ret)
{
    const LC_T *data = c->src_data;
    double fx = x - 0.5, fy = y - 0.5;
    double flx = fast_floor(fx), fly = fast_floor(fy);
    int64_t ix = (int64_t)flx - 1, iy = (int64_t)fly - 1;
    if (ix < 0 || iy < 0 || ix + 4 > (int64_t)c->src_w ||
        iy + 4 > (int64_t)c->src_h)
        return LC_FN(bilinear_at)(c, x, y, nd, v_ret);
    double wx[4], wy[4];
    cubic_weights(fx - flx, wx);
    cubic_weights(fy - fly, wy);
    double acc = 0.0;
    for (int b = 0; b < 4; b++) {
        double row = 0.0;
        for (int a = 0; a < 4; a++) {
            LC_T v;
            if (!LC_FN(src_valid)(c, data, (size_t)(ix + a), (size_t)(iy + b),
                                  nd, &v))
                return LC_FN(bilinear_at)(c, x, y, nd, v_ret);
            row += wx[a] * (double)v;
        }
        acc += wy[b] * row;
    }
    *v_ret = acc;
    return true;
}

static void LC_FN(interp_row)(const struct kctx *cin, uint32_t j,
                              const double *sx, const double *sy)
{
    const struct kctx kc = *cin; /* see copy_row */
    const struct kctx *c = &kc;
    LC_T *out = (LC_T *)c->dst_data + (size_t)j * c->dst_stride;
    uint8_t *valid =
        c->valid != NULL ? c->valid + (size_t)j * c->valid_stride : NULL;
    const LC_T fill = LC_FN(from_double)(c->fill);
    const LC_T nd = c->nodata_on ? (LC_T)c->nodata : (LC_T)0;
    const double sw = c->src_w, sh = c->src_h;
    const size_t last_x = (size_t)c->src_w - 1, last_y = (size_t)c->src_h - 1;
    for (uint32_t i = 0; i < c->width; i++) {
        double x = sx[i];
        double y = sy[i];
        bool ok = false;
        double r = 0.0;
        if (x >= 0.0 && y >= 0.0 && x + 1e-10 <= sw && y + 1e-10 <= sh) {
            /* Through int64_t: one instruction, where a conversion to an
             * unsigned type is a branchy sequence on x86-64. */
            size_t ix = (size_t)(int64_t)(x + 1e-10);
            size_t iy = (size_t)(int64_t)(y + 1e-10);
            ix = ix > last_x ? last_x : ix;
            iy = iy > last_y ? last_y : iy;
            LC_T v;
            /* The pixel under the centre decides validity. */
            if (LC_FN(src_valid)(c, c->src_data, ix, iy, nd, &v)) {
                if (c->method == LC_WARP_CUBIC)
                    ok = LC_FN(cubic_at)(c, x, y, nd, &r);
                else
                    ok = LC_FN(bilinear_at)(c, x, y, nd, &r);
            }
        }
        if (ok) {
            out[i] = LC_FN(from_double)(r);
            if (valid != NULL)
                valid[i] = 1;
        } else if (!c->skip_invalid) {
            out[i] = fill;
            if (valid != NULL)
                valid[i] = 0;
        }
    }
}

/* ---- footprint kernels: average, mode, min, max ------------------------ */

static int LC_FN(cmp)(const void *a, const void *b)
{
    LC_T x = *(const LC_T *)a;
    LC_T y = *(const LC_T *)b;
    return (x > y) - (x < y);
}

/* Number of values equal to v in sorted[0..n). */
static size_t LC_FN(count_of)(const LC_T *sorted, size_t n, LC_T v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t e = lo;
    while (e < n && !(v < sorted[e]) && !(sorted[e] < v))
        e++;
    return e - lo;
}

/* The most frequent of vals[0..n) (n > 0); ties go to the value met first.
 * sorted has room for n values. */
static LC_T LC_FN(mode_of)(const LC_T *vals, LC_T *sorted, size_t n)
{
    memcpy(sorted, vals, n * sizeof(LC_T));
    qsort(sorted, n, sizeof(LC_T), LC_FN(cmp));
    size_t best = 0;
    for (size_t k = 0; k < n;) {
        size_t e = k + 1;
        while (e < n && !(sorted[k] < sorted[e]))
            e++;
        best = e - k > best ? e - k : best;
        k = e;
    }
    for (size_t q = 0; q < n; q++) {
        if (LC_FN(count_of)(sorted, n, vals[q]) == best)
            return vals[q];
    }
    return vals[0];
}

/* The footprint's pixel range [*x0, *x1) x [*y0, *y1) for a position;
 * false when it is outside the window or empty. */
static inline bool LC_FN(footprint)(const struct kctx *c, double x, double y,
                                    double *fx0, double *fx1, double *fy0,
                                    double *fy1, size_t r[4])
{
    if (!(x >= 0.0 && y >= 0.0 && x + 1e-10 <= c->src_w &&
          y + 1e-10 <= c->src_h))
        return false;
    *fx0 = x - c->hx;
    *fx1 = x + c->hx;
    *fy0 = y - c->hy;
    *fy1 = y + c->hy;
    double a = fast_floor(*fx0 + 1e-10), b = -fast_floor(-(*fx1 - 1e-10));
    double d = fast_floor(*fy0 + 1e-10), e = -fast_floor(-(*fy1 - 1e-10));
    a = a < 0.0 ? 0.0 : a;
    d = d < 0.0 ? 0.0 : d;
    b = b > (double)c->src_w ? (double)c->src_w : b;
    e = e > (double)c->src_h ? (double)c->src_h : e;
    if (!(b > a && e > d))
        return false;
    r[0] = (size_t)a;
    r[1] = (size_t)b;
    r[2] = (size_t)d;
    r[3] = (size_t)e;
    return true;
}

static void LC_FN(footprint_row)(const struct kctx *cin, uint32_t j,
                                 const double *sx, const double *sy)
{
    const struct kctx kc = *cin; /* see copy_row */
    const struct kctx *c = &kc;
    LC_T *out = (LC_T *)c->dst_data + (size_t)j * c->dst_stride;
    uint8_t *valid =
        c->valid != NULL ? c->valid + (size_t)j * c->valid_stride : NULL;
    const LC_T fill = LC_FN(from_double)(c->fill);
    const LC_T nd = c->nodata_on ? (LC_T)c->nodata : (LC_T)0;
    LC_T *scratch = c->scratch;
    for (uint32_t i = 0; i < c->width; i++) {
        double fx0, fx1, fy0, fy1;
        size_t rg[4];
        bool ok = false;
        LC_T res = fill;
        if (LC_FN(footprint)(c, sx[i], sy[i], &fx0, &fx1, &fy0, &fy1, rg)) {
            double acc = 0.0, wsum = 0.0;
            size_t n = 0;
            LC_T best = 0;
            for (size_t yy = rg[2]; yy < rg[3]; yy++) {
                double wy = fmin((double)yy + 1.0, fy1) - fmax((double)yy, fy0);
                for (size_t xx = rg[0]; xx < rg[1]; xx++) {
                    LC_T v;
                    if (!LC_FN(src_valid)(c, c->src_data, xx, yy, nd, &v))
                        continue;
                    switch (c->method) {
                    case LC_WARP_AVERAGE: {
                        double wx =
                            fmin((double)xx + 1.0, fx1) - fmax((double)xx, fx0);
                        double w = wx * wy;
                        if (w > 0.0) {
                            acc += w * (double)v;
                            wsum += w;
                        }
                        break;
                    }
                    case LC_WARP_MIN:
                        best = n == 0 || v < best ? v : best;
                        n++;
                        break;
                    case LC_WARP_MAX:
                        best = n == 0 || v > best ? v : best;
                        n++;
                        break;
                    case LC_WARP_MODE:
                        scratch[n++] = v;
                        break;
                    case LC_WARP_NEAREST:
                    case LC_WARP_BILINEAR:
                    case LC_WARP_CUBIC:
                        break;
                    }
                }
            }
            if (c->method == LC_WARP_AVERAGE) {
                if (wsum > 1e-10) {
                    ok = true;
                    res = LC_FN(from_double)(acc / wsum);
                }
            } else if (c->method == LC_WARP_MODE) {
                if (n > 0) {
                    ok = true;
                    res = LC_FN(mode_of)(scratch, scratch + c->scratch_half, n);
                }
            } else if (n > 0) {
                ok = true;
                res = best;
            }
        }
        if (ok) {
            out[i] = res;
            if (valid != NULL)
                valid[i] = 1;
        } else if (!c->skip_invalid) {
            out[i] = fill;
            if (valid != NULL)
                valid[i] = 0;
        }
    }
}

static const struct kernels LC_FN(kernels) = {
    LC_FN(nearest_index), LC_FN(nearest_prefetch), LC_FN(nearest_store),
    LC_FN(copy_row),      LC_FN(interp_row),       LC_FN(footprint_row),
    sizeof(LC_T)};

#undef LC_FN
#undef LC_CAT
#undef LC_CAT2
#undef LC_T
#undef LC_SFX
#undef LC_T_FLOAT
#undef LC_T_LO
#undef LC_T_HI
#undef LC_T_MIN
#undef LC_T_MAX
