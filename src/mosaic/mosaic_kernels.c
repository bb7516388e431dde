/* mosaic_kernels.c - per-dtype row kernels of the mosaic: validity, max/min,
 * conversions, and the median selection. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>

#include "mosaic_internal.h"

/*
 * Every kernel exists once per dtype, stamped out by the X-macro below: the
 * name, the C type, and its kind (I signed, U unsigned, F float), which
 * picks how nodata is held and whether NaN can occur. The loops are plain
 * and branch-light so the compiler vectorises them; the dispatch switch
 * runs once per row, not per value.
 */
#define LC_MOSAIC_DTYPES(X)                                                    \
    X(UINT8, uint8_t, U)                                                       \
    X(INT8, int8_t, I)                                                         \
    X(UINT16, uint16_t, U)                                                     \
    X(INT16, int16_t, I)                                                       \
    X(UINT32, uint32_t, U)                                                     \
    X(INT32, int32_t, I)                                                       \
    X(UINT64, uint64_t, U)                                                     \
    X(INT64, int64_t, I)                                                       \
    X(FLOAT32, float, F)                                                       \
    X(FLOAT64, double, F)

#define LC_INT_DTYPES(X)                                                       \
    X(UINT8, uint8_t, UINT8_MAX, 0)                                            \
    X(INT8, int8_t, INT8_MAX, INT8_MIN)                                        \
    X(UINT16, uint16_t, UINT16_MAX, 0)                                         \
    X(INT16, int16_t, INT16_MAX, INT16_MIN)                                    \
    X(UINT32, uint32_t, UINT32_MAX, 0)                                         \
    X(INT32, int32_t, INT32_MAX, INT32_MIN)                                    \
    X(UINT64, uint64_t, UINT64_MAX, 0)                                         \
    X(INT64, int64_t, INT64_MAX, INT64_MIN)

/* The nodata value as T, by kind, and whether a value can be NaN. */
#define ND_AS_I(T, nd) ((T)(nd)->v.i)
#define ND_AS_U(T, nd) ((T)(nd)->v.u)
#define ND_AS_F(T, nd) ((T)(nd)->v.f)
#define IS_NAN_I(x) 0
#define IS_NAN_U(x) 0
#define IS_NAN_F(x) ((x) != (x))

/* ---- nodata -------------------------------------------------------------- */

/* True when v is an integer in [lo, hi_excl). */
static bool integral_in(double v, double lo, double hi_excl)
{
    return v >= lo && v < hi_excl && v == trunc(v);
}

void lc__nodata_prepare(struct lc__nodata *nd, enum lc_dtype dtype,
                        bool has_nodata, double nodata)
{
    nd->active = false;
    nd->v.u = 0;
    if (!has_nodata || nodata != nodata)
        return; /* NaN nodata: NaN is never valid anyway */
    switch (dtype) {
    case LC_DTYPE_UINT8:
        nd->active = integral_in(nodata, 0, 256.0);
        break;
    case LC_DTYPE_UINT16:
        nd->active = integral_in(nodata, 0, 65536.0);
        break;
    case LC_DTYPE_UINT32:
        nd->active = integral_in(nodata, 0, 4294967296.0);
        break;
    case LC_DTYPE_UINT64:
        nd->active = integral_in(nodata, 0, 18446744073709551616.0);
        break;
    case LC_DTYPE_INT8:
        nd->active = integral_in(nodata, -128.0, 128.0);
        break;
    case LC_DTYPE_INT16:
        nd->active = integral_in(nodata, -32768.0, 32768.0);
        break;
    case LC_DTYPE_INT32:
        nd->active = integral_in(nodata, -2147483648.0, 2147483648.0);
        break;
    case LC_DTYPE_INT64:
        nd->active =
            integral_in(nodata, -9223372036854775808.0, 9223372036854775808.0);
        break;
    case LC_DTYPE_FLOAT32:
        /* A value float32 cannot hold (1e300, 0.1 is fine: it rounds to
         * the float32 a file would store) matches nothing. */
        nd->active =
            nodata >= -3.4028234663852886e38 && nodata <= 3.4028234663852886e38;
        nd->v.f = nodata;
        return;
    case LC_DTYPE_FLOAT64:
        nd->active = true;
        nd->v.f = nodata;
        return;
    case LC_DTYPE_UNKNOWN:
        return;
    }
    if (!nd->active)
        return;
    if (dtype == LC_DTYPE_UINT8 || dtype == LC_DTYPE_UINT16 ||
        dtype == LC_DTYPE_UINT32 || dtype == LC_DTYPE_UINT64)
        nd->v.u = (uint64_t)nodata;
    else
        nd->v.i = (int64_t)nodata;
}

/* ---- validity ------------------------------------------------------------ */

/* One loop per case, each without branches (& of 0/1 values, not &&), so
 * that the compiler vectorises them: the mosaic runs this over every row
 * of every item on the calling thread, and the one loop with the tests
 * inside ran a value at a time. */
#define DEFINE_VALID_ROW(NAME, T, KIND)                                        \
    static void valid_row_##NAME(                                              \
        const T *restrict s, size_t n, const uint8_t *restrict mask,           \
        const struct lc__nodata *nd, uint8_t *restrict valid)                  \
    {                                                                          \
        T ndv = ND_AS_##KIND(T, nd);                                           \
        if (mask == NULL && nd->active) {                                      \
            for (size_t i = 0; i < n; i++)                                     \
                valid[i] = (uint8_t)((s[i] != ndv) & !IS_NAN_##KIND(s[i]));    \
        } else if (mask == NULL) {                                             \
            for (size_t i = 0; i < n; i++)                                     \
                valid[i] = (uint8_t)!IS_NAN_##KIND(s[i]);                      \
        } else {                                                               \
            int nd_on = nd->active;                                            \
            for (size_t i = 0; i < n; i++)                                     \
                valid[i] =                                                     \
                    (uint8_t)((mask[i] != 0) & !(nd_on & (s[i] == ndv)) &      \
                              !IS_NAN_##KIND(s[i]));                           \
        }                                                                      \
    }
LC_MOSAIC_DTYPES(DEFINE_VALID_ROW)

void lc__valid_row(enum lc_dtype dtype, const void *src, size_t n,
                   const uint8_t *mask, const struct lc__nodata *nd,
                   uint8_t *valid)
{
    switch (dtype) {
#define CASE_VALID_ROW(NAME, T, KIND)                                          \
    case LC_DTYPE_##NAME:                                                      \
        valid_row_##NAME((const T *)src, n, mask, nd, valid);                  \
        return;
        LC_MOSAIC_DTYPES(CASE_VALID_ROW)
#undef CASE_VALID_ROW
    case LC_DTYPE_UNKNOWN:
        break;
    }
    memset(valid, 0, n);
}

/* ---- highest / lowest ---------------------------------------------------- */

/*
 * A row is done one coverage word (64 values) at a time, the word kept in a
 * register. Where the word is already full - every value of the span has
 * an observation, the common case after the first item - the loop is a
 * plain masked max/min that vectorises; otherwise each value is taken when
 * valid and either first or better, without a data-dependent branch.
 */
#define MAXMIN_SPAN(T, BETTER)                                                 \
    do {                                                                       \
        if ((word & span) == span) {                                           \
            for (size_t k = 0; k < len; k++) {                                 \
                T v = s[k];                                                    \
                T d = o[k];                                                    \
                o[k] = (ok[k] && BETTER(v, d)) ? v : d;                        \
            }                                                                  \
            break;                                                             \
        }                                                                      \
        for (size_t k = 0; k < len; k++) {                                     \
            uint64_t had = (word >> (bit0 + k)) & 1;                           \
            uint64_t good = ok[k] != 0;                                        \
            T v = s[k];                                                        \
            T d = o[k];                                                        \
            o[k] = (good && (!had || BETTER(v, d))) ? v : d;                   \
            set |= good << (bit0 + k);                                         \
        }                                                                      \
    } while (0)
#define GREATER(a, b) ((a) > (b))
#define LESS(a, b) ((a) < (b))

#define DEFINE_MAXMIN_ROW(NAME, T, KIND)                                       \
    static size_t maxmin_row_##NAME(bool is_max, T *dst, const T *src,         \
                                    const uint8_t *valid, size_t n,            \
                                    uint64_t *cov, size_t x0)                  \
    {                                                                          \
        size_t added = 0;                                                      \
        for (size_t i = 0; i < n;) {                                           \
            size_t x = x0 + i;                                                 \
            size_t bit0 = x & 63;                                              \
            size_t len = 64 - bit0 < n - i ? 64 - bit0 : n - i;                \
            uint64_t span =                                                    \
                (len == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << len) - 1))        \
                << bit0;                                                       \
            uint64_t word = cov[x >> 6];                                       \
            uint64_t set = 0;                                                  \
            const T *s = src + i;                                              \
            T *o = dst + i;                                                    \
            const uint8_t *ok = valid + i;                                     \
            if (is_max)                                                        \
                MAXMIN_SPAN(T, GREATER);                                       \
            else                                                               \
                MAXMIN_SPAN(T, LESS);                                          \
            cov[x >> 6] = word | set;                                          \
            added += (size_t)__builtin_popcountll(set & ~word);                \
            i += len;                                                          \
        }                                                                      \
        return added;                                                          \
    }
LC_MOSAIC_DTYPES(DEFINE_MAXMIN_ROW)

size_t lc__maxmin_row(enum lc_dtype dtype, bool is_max, void *dst,
                      const void *src, const uint8_t *valid, size_t n,
                      uint64_t *cov_row, size_t x0)
{
    switch (dtype) {
#define CASE_MAXMIN_ROW(NAME, T, KIND)                                         \
    case LC_DTYPE_##NAME:                                                      \
        return maxmin_row_##NAME(is_max, (T *)dst, (const T *)src, valid, n,   \
                                 cov_row, x0);
        LC_MOSAIC_DTYPES(CASE_MAXMIN_ROW)
#undef CASE_MAXMIN_ROW
    case LC_DTYPE_UNKNOWN:
        break;
    }
    return 0;
}

/* ---- conversions --------------------------------------------------------- */

#define DEFINE_LOAD_F64(NAME, T, KIND)                                         \
    static void load_f64_##NAME(const T *s, size_t n, double *d)               \
    {                                                                          \
        for (size_t i = 0; i < n; i++)                                         \
            d[i] = (double)s[i];                                               \
    }
LC_MOSAIC_DTYPES(DEFINE_LOAD_F64)

void lc__load_f64_row(enum lc_dtype dtype, const void *src, size_t n,
                      double *dst)
{
    switch (dtype) {
#define CASE_LOAD_F64(NAME, T, KIND)                                           \
    case LC_DTYPE_##NAME:                                                      \
        load_f64_##NAME((const T *)src, n, dst);                               \
        return;
        LC_MOSAIC_DTYPES(CASE_LOAD_F64)
#undef CASE_LOAD_F64
    case LC_DTYPE_UNKNOWN:
        break;
    }
    memset(dst, 0, n * sizeof(double));
}

/* Integer to integer goes through int64, which carries every value's low
 * 64 bits, so narrowing wraps modulo 2^bits exactly as numpy's astype. */
#define DEFINE_INT_CONV(NAME, T, TMAX, TMIN)                                   \
    static void load_i64_##NAME(const T *s, size_t n, int64_t *d)              \
    {                                                                          \
        for (size_t i = 0; i < n; i++)                                         \
            d[i] = (int64_t)s[i];                                              \
    }                                                                          \
    static void store_i64_##NAME(const int64_t *s, size_t n, T *d)             \
    {                                                                          \
        for (size_t i = 0; i < n; i++)                                         \
            d[i] = (T)s[i];                                                    \
    }                                                                          \
    static void store_f64_##NAME(const double *s, size_t n, T *d)              \
    {                                                                          \
        for (size_t i = 0; i < n; i++) {                                       \
            double v = s[i];                                                   \
            if (v != v)                                                        \
                d[i] = 0;                                                      \
            else if (v <= (double)(TMIN))                                      \
                d[i] = (T)(TMIN);                                              \
            else if (v >= (double)(TMAX))                                      \
                d[i] = (T)(TMAX);                                              \
            else                                                               \
                d[i] = (T)v;                                                   \
        }                                                                      \
    }
LC_INT_DTYPES(DEFINE_INT_CONV)

static void store_f64_FLOAT32(const double *s, size_t n, float *d)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (float)s[i];
}

static void store_f64_FLOAT64(const double *s, size_t n, double *d)
{
    memcpy(d, s, n * sizeof(double));
}

void lc__store_f64_row(enum lc_dtype dst_dtype, const double *src, size_t n,
                       void *dst)
{
    switch (dst_dtype) {
#define CASE_STORE_F64(NAME, T, KIND)                                          \
    case LC_DTYPE_##NAME:                                                      \
        store_f64_##NAME(src, n, (T *)dst);                                    \
        return;
        LC_MOSAIC_DTYPES(CASE_STORE_F64)
#undef CASE_STORE_F64
    case LC_DTYPE_UNKNOWN:
        break;
    }
}

static void load_i64_row(enum lc_dtype dtype, const void *src, size_t n,
                         int64_t *dst)
{
    switch (dtype) {
#define CASE_LOAD_I64(NAME, T, TMAX, TMIN)                                     \
    case LC_DTYPE_##NAME:                                                      \
        load_i64_##NAME((const T *)src, n, dst);                               \
        return;
        LC_INT_DTYPES(CASE_LOAD_I64)
#undef CASE_LOAD_I64
    case LC_DTYPE_FLOAT32:
    case LC_DTYPE_FLOAT64:
    case LC_DTYPE_UNKNOWN:
        break;
    }
    memset(dst, 0, n * sizeof(int64_t));
}

static void store_i64_row(enum lc_dtype dtype, const int64_t *src, size_t n,
                          void *dst)
{
    switch (dtype) {
#define CASE_STORE_I64(NAME, T, TMAX, TMIN)                                    \
    case LC_DTYPE_##NAME:                                                      \
        store_i64_##NAME(src, n, (T *)dst);                                    \
        return;
        LC_INT_DTYPES(CASE_STORE_I64)
#undef CASE_STORE_I64
    case LC_DTYPE_FLOAT32:
    case LC_DTYPE_FLOAT64:
    case LC_DTYPE_UNKNOWN:
        break;
    }
}

void lc__convert_row(enum lc_dtype src_dtype, const void *src,
                     enum lc_dtype dst_dtype, void *dst, size_t n,
                     void *scratch)
{
    if (src_dtype == dst_dtype) {
        memcpy(dst, src, n * lc_dtype_nbytes(src_dtype));
        return;
    }
    if (lc__dtype_is_float(src_dtype) || lc__dtype_is_float(dst_dtype)) {
        lc__load_f64_row(src_dtype, src, n, scratch);
        lc__store_f64_row(dst_dtype, scratch, n, dst);
        return;
    }
    load_i64_row(src_dtype, src, n, scratch);
    store_i64_row(dst_dtype, scratch, n, dst);
}

/* ---- median -------------------------------------------------------------- */

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/*
 * Sorts a short array without data-dependent branches: each value sinks
 * into place through a sweep of min/max pairs, which compile to minsd and
 * maxsd. A sort of a few random values by ordinary insertion mispredicts a
 * branch about every other comparison; measured on 10 values this is 3.5x
 * faster, and ahead of selection up to about 40. It is kept out of line:
 * inlined into its callers, gcc 12 turns the min/max pairs back into
 * branches.
 */
#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

static NOINLINE void sort_small(double *v, size_t n)
{
    for (size_t a = 1; a < n; a++) {
        double x = v[a];
        for (size_t b = a; b > 0; b--) {
            double p = v[b - 1];
            double lo = p < x ? p : x;
            double hi = p < x ? x : p;
            v[b] = hi;
            x = lo;
        }
        v[0] = x;
    }
}

/* Up to this many values a median sorts them all. */
#define SORT_MAX 40

/* Reorders v[0..n) so that v[k] is the k-th smallest, everything before it
 * no larger and everything after no smaller (Hoare's selection with a
 * median-of-three pivot; sort_small for short ranges). No NaN. */
static void select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;

    while (hi - lo > 16) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo])
            swap_d(&v[mid], &v[lo]);
        if (v[hi] < v[lo])
            swap_d(&v[hi], &v[lo]);
        if (v[hi] < v[mid])
            swap_d(&v[hi], &v[mid]);
        double pivot = v[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (pivot < v[j])
                j--;
            if (i <= j) {
                swap_d(&v[i], &v[j]);
                i++;
                j--;
            }
        }
        /* Now v[lo..j] <= pivot <= v[i..hi], and j < i. */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
    sort_small(v + lo, hi - lo + 1);
}

double lc__median_inplace(double *v, size_t n)
{
    size_t k = n / 2;

    LC_ASSERT(n > 0);
    if (n <= SORT_MAX) {
        sort_small(v, n);
        return n % 2 == 1 ? v[k] : (v[k - 1] + v[k]) / 2;
    }
    select_kth(v, n, k);
    if (n % 2 == 1)
        return v[k];
    /* The other middle value is the largest of the lower part. */
    double lower = v[0];
    for (size_t i = 1; i < k; i++) {
        if (v[i] > lower)
            lower = v[i];
    }
    return (lower + v[k]) / 2;
}
