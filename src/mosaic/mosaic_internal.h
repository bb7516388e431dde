/* mosaic_internal.h - inside the mosaic module: the coverage bitmap and the
 * per-dtype row kernels shared by its files. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_MOSAIC_INTERNAL_H
#define LC_MOSAIC_INTERNAL_H

#include "../common/common.h"

#include "mosaic.h"

/*
 * The coverage bitmap
 * -------------------
 *
 * One bit per value (plane, y, x): set once the value has a valid
 * observation. Rows are padded to whole 64-bit words so that a row segment
 * is tested or set a word at a time, and each row keeps its count of set
 * bits, so a full row is recognised without looking at its bits:
 *
 *   plane 0   row 0  [word 0][word 1]...[word W-1]   row_count[0]
 *             row 1  [word 0][word 1]...             row_count[1]
 *             ...
 *   plane 1   ...
 *
 *   W = ceil(width / 64); bit x % 64 of word x / 64 is pixel x.
 *
 * "Is [x0,x1) x [y0,y1) full?" costs one comparison per full row and
 * (x1 - x0) / 64 + 2 word tests per other row, with no extra state to keep
 * up to date (a summed-area table would answer in O(1) but cost 32 bits
 * per pixel and a rebuild per feed). For the engine's question, asked once
 * per source tile of a few hundred pixels a side, this is a few hundred
 * word tests at most.
 */
struct lc__coverage {
    size_t width;
    size_t height;
    size_t nplanes;
    size_t words_per_row;
    uint64_t *bits;      /* nplanes * height * words_per_row */
    uint32_t *row_count; /* nplanes * height */
    uint64_t covered;    /* set bits in all */
};

/* Sizes of the two arrays for a coverage of this shape; false when they
 * overflow size_t. */
bool lc__coverage_sizes(size_t width, size_t height, size_t nplanes,
                        size_t *bits_nbytes, size_t *counts_nbytes);

/* Points c at zeroed arrays of the sizes above. */
void lc__coverage_attach(struct lc__coverage *c, size_t width, size_t height,
                         size_t nplanes, uint64_t *bits, uint32_t *row_count);

/* Clears every bit. */
void lc__coverage_clear(struct lc__coverage *c);

static inline uint64_t *lc__coverage_row(const struct lc__coverage *c,
                                         size_t plane, size_t y)
{
    return c->bits + (plane * c->height + y) * c->words_per_row;
}

static inline bool lc__coverage_test(const struct lc__coverage *c, size_t plane,
                                     size_t x, size_t y)
{
    return (lc__coverage_row(c, plane, y)[x >> 6] >> (x & 63)) & 1;
}

/* Records that n more bits of row (plane, y) were set by a caller. */
static inline void lc__coverage_add(struct lc__coverage *c, size_t plane,
                                    size_t y, size_t n)
{
    c->row_count[plane * c->height + y] += (uint32_t)n;
    c->covered += n;
}

/* Bits 0..len-1 (len <= 64): valid[0..len), each 0 or 1 as lc__valid_row
 * writes them. Eight at a time: the multiply moves byte k's low bit to bit
 * 56 + k, and no two partial products meet, so nothing carries into the
 * top byte. */
static inline uint64_t lc__valid_bits(const uint8_t *valid, size_t len)
{
    uint64_t bits = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        bits |= (lc__load_le64(valid + i) * UINT64_C(0x0102040810204080) >> 56)
                << i;
    for (; i < len; i++)
        bits |= (uint64_t)valid[i] << i;
    return bits;
}

/* Sets the bits of row (plane, y) at x0 + i for every valid[i] == 1,
 * i < n; each valid byte must be 0 or 1 (as lc__valid_row writes). */
void lc__coverage_mark_row(struct lc__coverage *c, size_t plane, size_t y,
                           size_t x0, size_t n, const uint8_t *valid);

/* Sets the bits [x0, x0 + n) of row (plane, y), inside the row. */
void lc__coverage_set_range(struct lc__coverage *c, size_t plane, size_t y,
                            size_t x0, size_t n);

/* True when every bit of [x0, x1) x [y0, y1) (clipped) of plane, or of
 * every plane for SIZE_MAX, is set. */
bool lc__coverage_rect_full(const struct lc__coverage *c, size_t plane,
                            size_t x0, size_t y0, size_t x1, size_t y1);

static inline bool lc__coverage_full(const struct lc__coverage *c)
{
    return c->covered == (uint64_t)c->nplanes * c->height * c->width;
}

/* ---- per-dtype row kernels (mosaic_kernels.c) ---------------------------- */

/* A nodata value converted once per feed to the dtype's representation. */
struct lc__nodata {
    bool active; /* false: no value can equal it */
    union {
        int64_t i;
        uint64_t u;
        double f;
    } v;
};

/* Prepares nodata for dtype (has_nodata false: inactive). */
void lc__nodata_prepare(struct lc__nodata *nd, enum lc_dtype dtype,
                        bool has_nodata, double nodata);

/* valid[i] = mask[i] (or 1) && src[i] != nodata && !isnan(src[i]). */
void lc__valid_row(enum lc_dtype dtype, const void *src, size_t n,
                   const uint8_t *mask, const struct lc__nodata *nd,
                   uint8_t *valid);

/* dst[i] = (double)src[i]. */
void lc__load_f64_row(enum lc_dtype dtype, const void *src, size_t n,
                      double *dst);

/*
 * Highest/lowest: for each valid[i], the value x0 + i of the row either
 * takes src[i] (bit of cov_row clear: first observation, bit set) or keeps
 * the larger (is_max) / smaller of the two. Returns the bits newly set.
 */
size_t lc__maxmin_row(enum lc_dtype dtype, bool is_max, void *dst,
                      const void *src, const uint8_t *valid, size_t n,
                      uint64_t *cov_row, size_t x0);

/*
 * Converts n values of dtype src_dtype to dst_dtype with the rules of
 * lc__mosaic_get; scratch holds n 8-byte values. Equal dtypes copy.
 */
void lc__convert_row(enum lc_dtype src_dtype, const void *src,
                     enum lc_dtype dst_dtype, void *dst, size_t n,
                     void *scratch);

/* Stores n doubles into dst_dtype with the rules of lc__mosaic_get. */
void lc__store_f64_row(enum lc_dtype dst_dtype, const double *src, size_t n,
                       void *dst);

/* True for float32 and float64. */
static inline bool lc__dtype_is_float(enum lc_dtype dtype)
{
    return dtype == LC_DTYPE_FLOAT32 || dtype == LC_DTYPE_FLOAT64;
}

/* Middle value of n > 0 doubles (mean of the two middle ones for even n),
 * reordering them. */
double lc__median_inplace(double *v, size_t n);

#endif /* LC_MOSAIC_INTERNAL_H */
