/* coverage.c - the coverage bitmap of a mosaic: which values have a valid
 * observation, and whether a rectangle is full (layout in
 * mosaic_internal.h). */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "mosaic_internal.h"

bool lc__coverage_sizes(size_t width, size_t height, size_t nplanes,
                        size_t *bits_nbytes, size_t *counts_nbytes)
{
    size_t words = width / 64 + (width % 64 != 0);
    size_t rows, nwords;

    return lc__size_mul(height, nplanes, &rows) &&
           lc__size_mul(rows, words, &nwords) &&
           lc__size_mul(nwords, sizeof(uint64_t), bits_nbytes) &&
           lc__size_mul(rows, sizeof(uint32_t), counts_nbytes);
}

void lc__coverage_attach(struct lc__coverage *c, size_t width, size_t height,
                         size_t nplanes, uint64_t *bits, uint32_t *row_count)
{
    c->width = width;
    c->height = height;
    c->nplanes = nplanes;
    c->words_per_row = width / 64 + (width % 64 != 0);
    c->bits = bits;
    c->row_count = row_count;
    c->covered = 0;
}

void lc__coverage_clear(struct lc__coverage *c)
{
    size_t rows = c->nplanes * c->height;

    memset(c->bits, 0, rows * c->words_per_row * sizeof(uint64_t));
    memset(c->row_count, 0, rows * sizeof(uint32_t));
    c->covered = 0;
}

void lc__coverage_mark_row(struct lc__coverage *c, size_t plane, size_t y,
                           size_t x0, size_t n, const uint8_t *valid)
{
    uint64_t *row = lc__coverage_row(c, plane, y);
    size_t added = 0;
    size_t i = 0;

    while (i < n) {
        size_t x = x0 + i;
        size_t w = x >> 6;
        size_t bit = x & 63;
        size_t take = 64 - bit < n - i ? 64 - bit : n - i;
        uint64_t set = lc__valid_bits(valid + i, take) << bit;
        uint64_t fresh = set & ~row[w];
        row[w] |= set;
        added += (size_t)__builtin_popcountll(fresh);
        i += take;
    }
    lc__coverage_add(c, plane, y, added);
}

/* Bits [a, b) of a word, 0 <= a < b <= 64. */
static uint64_t bit_range(size_t a, size_t b)
{
    uint64_t hi = b == 64 ? ~UINT64_C(0) : (UINT64_C(1) << b) - 1;
    return hi & ~((UINT64_C(1) << a) - 1);
}

void lc__coverage_set_range(struct lc__coverage *c, size_t plane, size_t y,
                            size_t x0, size_t n)
{
    uint64_t *row = lc__coverage_row(c, plane, y);
    size_t added = 0;
    size_t x = x0, end = x0 + n;

    while (x < end) {
        size_t base = x & ~(size_t)63;
        size_t stop = end - base < 64 ? end - base : 64;
        uint64_t set = bit_range(x - base, stop);
        added += (size_t)__builtin_popcountll(set & ~row[base >> 6]);
        row[base >> 6] |= set;
        x = base + stop;
    }
    lc__coverage_add(c, plane, y, added);
}

static bool row_full(const struct lc__coverage *c, size_t plane, size_t y,
                     size_t x0, size_t x1)
{
    if (c->row_count[plane * c->height + y] == c->width)
        return true;
    const uint64_t *row = lc__coverage_row(c, plane, y);
    size_t w0 = x0 >> 6;
    size_t w1 = (x1 - 1) >> 6;
    if (w0 == w1) {
        uint64_t want = bit_range(x0 & 63, ((x1 - 1) & 63) + 1);
        return (row[w0] & want) == want;
    }
    uint64_t first = bit_range(x0 & 63, 64);
    if ((row[w0] & first) != first)
        return false;
    for (size_t w = w0 + 1; w < w1; w++) {
        if (row[w] != ~UINT64_C(0))
            return false;
    }
    uint64_t last = bit_range(0, ((x1 - 1) & 63) + 1);
    return (row[w1] & last) == last;
}

bool lc__coverage_rect_full(const struct lc__coverage *c, size_t plane,
                            size_t x0, size_t y0, size_t x1, size_t y1)
{
    if (x1 > c->width)
        x1 = c->width;
    if (y1 > c->height)
        y1 = c->height;
    if (x0 >= x1 || y0 >= y1)
        return true;
    size_t p0 = plane == SIZE_MAX ? 0 : plane;
    size_t p1 = plane == SIZE_MAX ? c->nplanes : plane + 1;
    /* A band the mosaic does not have is never covered. */
    if (p1 > c->nplanes)
        return false;
    for (size_t p = p0; p < p1; p++) {
        for (size_t y = y0; y < y1; y++) {
            if (!row_full(c, p, y, x0, x1))
                return false;
        }
    }
    return true;
}
