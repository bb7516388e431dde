/* mosaic.c - mosaic state: creation, feeding items in order, early-exit
 * queries and the result (semantics in mosaic.h). */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>

#include "../common/alloc.h"
#include "mosaic_internal.h"

/*
 * Memory
 * ------
 *
 * The fixed state of a mosaic is one allocation carved into 64-byte aligned
 * regions; which regions exist depends on the method:
 *
 *   +------------------+  struct lc_mosaic
 *   | coverage bits    |  1 bit per value, rows padded to 64 bits  (all)
 *   | row counts       |  u32 per (band, row)                      (all)
 *   | values           |  value dtype per value       (first/highest/lowest)
 *   | acc              |  double per value: sum (mean) or mean (stdev)
 *   | m2               |  double per value                          (stdev)
 *   | count            |  u32 per value          (mean/median/stdev/count)
 *   | valid row        |  width bytes                               (all)
 *   | scratch row      |  width 8-byte values                       (all)
 *   | row offsets      |  width + 1 size_t                         (median)
 *   +------------------+
 *
 * A median also holds, per feed, the feed's validity bitmap over its own
 * rectangle and its valid values packed in (band, row, column) order, in
 * the value dtype: a feed of a small overlap costs only its overlap, and a
 * uint8 stack costs one byte per valid observation. The result is computed
 * row by row: each feed's values for the row are scattered into a per-row
 * array grouped by pixel (offsets from the per-value counts), then each
 * pixel's group is reduced to its middle: sorted without branches when
 * short (the usual few tens of items), by selection when long.
 */

struct median_feed {
    size_t band0;
    size_t nbands;
    size_t x0;
    size_t y0;
    size_t width;
    size_t height;
    size_t words_per_row;
    uint64_t *bits;  /* nbands * height * words_per_row */
    void *values;    /* nvalues values of the mosaic's dtype */
    size_t nvalues;  /* set bits in bits */
    size_t nbytes;   /* bits + values, counted against max_stack_nbytes */
    size_t consumed; /* lc__mosaic_get's cursor into values */
};

struct lc_mosaic {
    struct lc__mosaic_options opts;
    size_t esize;   /* bytes per value */
    size_t npixels; /* width * height */
    size_t nvalues; /* nbands * npixels */
    uint64_t nfed;
    struct lc__coverage cov;
    void **planes;      /* first/highest/lowest: each band's values */
    bool caller_planes; /* planes are opts.value_planes */
    double *acc;
    double *m2;
    uint32_t *count;
    uint8_t *valid;
    void *scratch;
    size_t *row_off;
    struct median_feed *feeds;
    size_t nfeeds;
    size_t feeds_cap;
    size_t stack_nbytes;
};

/* ---- methods ------------------------------------------------------------- */

static const char *const method_names[LC_MOSAIC_NMETHODS] = {
    "first", "highest", "lowest", "mean", "median", "stdev", "count"};
static const char *const method_classes[LC_MOSAIC_NMETHODS] = {
    "FirstMethod",  "HighestMethod", "LowestMethod", "MeanMethod",
    "MedianMethod", "StdevMethod",   "CountMethod"};

static bool method_ok(enum lc_mosaic_method method)
{
    return (unsigned)method < LC_MOSAIC_NMETHODS;
}

const char *lc__mosaic_method_name(enum lc_mosaic_method method)
{
    return method_ok(method) ? method_names[method] : NULL;
}

const char *lc__mosaic_method_class(enum lc_mosaic_method method)
{
    return method_ok(method) ? method_classes[method] : NULL;
}

static bool equal_ignore_case(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return false;
    }
    return *a == *b;
}

int lc__mosaic_method_from_name(const char *name,
                                enum lc_mosaic_method *method_ret,
                                struct lc__errbuf *err)
{
    LC_RETURN_IF(name == NULL, err, LC_EINVAL, "mosaic method name is NULL");
    for (unsigned i = 0; i < LC_MOSAIC_NMETHODS; i++) {
        if (equal_ignore_case(name, method_names[i]) ||
            strcmp(name, method_classes[i]) == 0) {
            *method_ret = (enum lc_mosaic_method)i;
            return LC_OK;
        }
    }
    return lc__error(err, LC_EINVAL,
                     "unknown mosaic method '%.64s' (expected first, "
                     "highest, lowest, mean, median, stdev or count)",
                     name);
}

bool lc__mosaic_requires_float(enum lc_mosaic_method method)
{
    return method == LC_MOSAIC_MEAN || method == LC_MOSAIC_MEDIAN ||
           method == LC_MOSAIC_STDEV;
}

static bool dtype_ok(enum lc_dtype dtype)
{
    return dtype >= LC_DTYPE_UINT8 && dtype <= LC_DTYPE_FLOAT64;
}

enum lc_dtype lc__mosaic_output_dtype(enum lc_mosaic_method method,
                                      enum lc_dtype value_dtype)
{
    if (!method_ok(method) || !dtype_ok(value_dtype))
        return LC_DTYPE_UNKNOWN;
    switch (method) {
    case LC_MOSAIC_FIRST:
    case LC_MOSAIC_HIGHEST:
    case LC_MOSAIC_LOWEST:
        return value_dtype;
    case LC_MOSAIC_COUNT:
        return LC_DTYPE_UINT16;
    case LC_MOSAIC_MEAN:
    case LC_MOSAIC_MEDIAN:
    case LC_MOSAIC_STDEV:
        break;
    }
    /* float32 holds every 8- and 16-bit integer exactly, not wider ones. */
    return lc_dtype_nbytes(value_dtype) >= 4 && value_dtype != LC_DTYPE_FLOAT32
               ? LC_DTYPE_FLOAT64
               : LC_DTYPE_FLOAT32;
}

/* ---- creation ------------------------------------------------------------ */

#define REGION_ALIGN 64

/* Offsets of the regions in the workspace. */
struct layout {
    size_t bits, counts, values, planes, acc, m2, count, valid, scratch,
        row_off;
    size_t total;
};

/* Appends a region of nbytes (0: absent) at the next aligned offset. */
static bool region(size_t *cursor, size_t nbytes, size_t *offset_ret)
{
    size_t at = (*cursor + REGION_ALIGN - 1) / REGION_ALIGN * REGION_ALIGN;
    *offset_ret = at;
    return lc__size_add(at, nbytes, cursor);
}

static int check_options(const struct lc__mosaic_options *o,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(o == NULL, err, LC_EINVAL, "mosaic options are NULL");
    LC_RETURN_IF(!method_ok(o->method), err, LC_EINVAL,
                 "unknown mosaic method %d", (int)o->method);
    LC_RETURN_IF(!dtype_ok(o->dtype), err, LC_EINVAL,
                 "mosaic dtype %d is not a numeric dtype", (int)o->dtype);
    LC_RETURN_IF(o->nbands == 0 || o->width == 0 || o->height == 0, err,
                 LC_EINVAL, "mosaic of %zu x %zu x %zu values is empty",
                 o->nbands, o->height, o->width);
    LC_RETURN_IF(o->width > UINT32_MAX, err, LC_EINVAL,
                 "mosaic width %zu is 2^32 or more", o->width);
    LC_RETURN_IF(o->value_planes != NULL && o->method != LC_MOSAIC_FIRST &&
                     o->method != LC_MOSAIC_HIGHEST &&
                     o->method != LC_MOSAIC_LOWEST,
                 err, LC_EINVAL,
                 "only first, highest and lowest keep their values in the "
                 "caller's planes");
    return LC_OK;
}

static int compute_layout(const struct lc__mosaic_options *o, struct layout *l,
                          struct lc__errbuf *err)
{
    enum lc_mosaic_method mt = o->method;
    size_t esize = lc_dtype_nbytes(o->dtype);
    size_t npix = 0, nval = 0, bits_nb = 0, counts_nb = 0, values_nb = 0;
    size_t acc_nb = 0, planes_nb = 0;
    size_t m2_nb = 0, count_nb = 0, scratch_nb = 0, row_off_nb = 0;
    size_t cursor = sizeof(struct lc_mosaic);
    bool ok = lc__size_mul(o->width, o->height, &npix) &&
              lc__size_mul(npix, o->nbands, &nval) &&
              lc__coverage_sizes(o->width, o->height, o->nbands, &bits_nb,
                                 &counts_nb) &&
              lc__size_mul(o->width, 8, &scratch_nb);

    if (ok && (mt == LC_MOSAIC_FIRST || mt == LC_MOSAIC_HIGHEST ||
               mt == LC_MOSAIC_LOWEST)) {
        ok = lc__size_mul(o->nbands, sizeof(void *), &planes_nb);
        if (ok && o->value_planes == NULL)
            ok = lc__size_mul(nval, esize, &values_nb);
    }
    if (ok && (mt == LC_MOSAIC_MEAN || mt == LC_MOSAIC_STDEV))
        ok = lc__size_mul(nval, sizeof(double), &acc_nb);
    if (ok && mt == LC_MOSAIC_STDEV)
        m2_nb = acc_nb;
    if (ok && (mt == LC_MOSAIC_MEAN || mt == LC_MOSAIC_STDEV ||
               mt == LC_MOSAIC_MEDIAN || mt == LC_MOSAIC_COUNT))
        ok = lc__size_mul(nval, sizeof(uint32_t), &count_nb);
    if (ok && mt == LC_MOSAIC_MEDIAN)
        ok = lc__size_mul(o->width + 1, sizeof(size_t), &row_off_nb);
    ok = ok && region(&cursor, bits_nb, &l->bits) &&
         region(&cursor, counts_nb, &l->counts) &&
         region(&cursor, values_nb, &l->values) &&
         region(&cursor, planes_nb, &l->planes) &&
         region(&cursor, acc_nb, &l->acc) && region(&cursor, m2_nb, &l->m2) &&
         region(&cursor, count_nb, &l->count) &&
         region(&cursor, o->width, &l->valid) &&
         region(&cursor, scratch_nb, &l->scratch) &&
         region(&cursor, row_off_nb, &l->row_off);
    LC_RETURN_IF(!ok, err, LC_ELIMIT,
                 "mosaic of %zu x %zu x %zu values is too large", o->nbands,
                 o->height, o->width);
    l->total = cursor;
    if (values_nb == 0)
        l->values = 0;
    if (planes_nb == 0)
        l->planes = 0;
    if (acc_nb == 0)
        l->acc = 0;
    if (m2_nb == 0)
        l->m2 = 0;
    if (count_nb == 0)
        l->count = 0;
    if (row_off_nb == 0)
        l->row_off = 0;
    return LC_OK;
}

int lc__mosaic_estimate_nbytes(const struct lc__mosaic_options *opts,
                               size_t *nbytes_ret, struct lc__errbuf *err)
{
    struct layout l = {0};

    LC_FORWARD_IF_ERROR(check_options(opts, err));
    LC_FORWARD_IF_ERROR(compute_layout(opts, &l, err));
    *nbytes_ret = l.total;
    return LC_OK;
}

static void *region_ptr(void *base, size_t offset)
{
    return offset == 0 ? NULL : (char *)base + offset;
}

int lc__mosaic_new(const struct lc__mosaic_options *opts,
                   struct lc_mosaic **m_ret, struct lc__errbuf *err)
{
    struct layout l = {0};

    *m_ret = NULL;
    LC_FORWARD_IF_ERROR(check_options(opts, err));
    LC_FORWARD_IF_ERROR(compute_layout(opts, &l, err));
    /* The struct sits at offset 0; regions are aligned relative to it, and
     * the allocator's alignment (16 for malloc) is enough for every type
     * held, so no over-allocation is needed for correctness. */
    void *block = lc__calloc(&opts->allocator, 1, l.total);
    LC_RETURN_IF(block == NULL, err, LC_ENOMEM,
                 "out of memory for a mosaic of %zu bytes", l.total);
    struct lc_mosaic *m = block;
    m->opts = *opts;
    if (m->opts.max_stack_nbytes == 0)
        m->opts.max_stack_nbytes = LC_MOSAIC_DEFAULT_MAX_STACK_NBYTES;
    m->esize = lc_dtype_nbytes(opts->dtype);
    m->npixels = opts->width * opts->height;
    m->nvalues = m->npixels * opts->nbands;
    lc__coverage_attach(&m->cov, opts->width, opts->height, opts->nbands,
                        region_ptr(block, l.bits), region_ptr(block, l.counts));
    m->planes = region_ptr(block, l.planes);
    for (size_t b = 0; m->planes != NULL && b < opts->nbands; b++)
        m->planes[b] = opts->value_planes != NULL
                           ? opts->value_planes[b]
                           : (uint8_t *)region_ptr(block, l.values) +
                                 b * m->npixels * m->esize;
    m->caller_planes = m->planes != NULL && opts->value_planes != NULL;
    m->opts.value_planes = NULL; /* borrowed: copied into planes */
    m->acc = region_ptr(block, l.acc);
    m->m2 = region_ptr(block, l.m2);
    m->count = region_ptr(block, l.count);
    m->valid = region_ptr(block, l.valid);
    m->scratch = region_ptr(block, l.scratch);
    m->row_off = region_ptr(block, l.row_off);
    *m_ret = m;
    return LC_OK;
}

static void free_feeds(struct lc_mosaic *m)
{
    const struct lc_allocator *a = &m->opts.allocator;

    for (size_t i = 0; i < m->nfeeds; i++) {
        lc__free(a, m->feeds[i].bits);
        lc__free(a, m->feeds[i].values);
    }
    m->nfeeds = 0;
    m->stack_nbytes = 0;
}

void lc__mosaic_free(struct lc_mosaic *m)
{
    if (m == NULL)
        return;
    struct lc_allocator a = m->opts.allocator;
    free_feeds(m);
    lc__free(&a, m->feeds);
    lc__free(&a, m);
}

void lc__mosaic_reset(struct lc_mosaic *m)
{
    lc__coverage_clear(&m->cov);
    if (m->acc != NULL)
        memset(m->acc, 0, m->nvalues * sizeof(double));
    if (m->m2 != NULL)
        memset(m->m2, 0, m->nvalues * sizeof(double));
    if (m->count != NULL)
        memset(m->count, 0, m->nvalues * sizeof(uint32_t));
    free_feeds(m);
    m->nfed = 0;
}

uint64_t lc__mosaic_nfed(const struct lc_mosaic *m)
{
    return m->nfed;
}

void *lc__mosaic_value_plane(const struct lc_mosaic *m, size_t band)
{
    return m->caller_planes && band < m->opts.nbands ? m->planes[band] : NULL;
}

bool lc__mosaic_is_done(const struct lc_mosaic *m)
{
    if (m->nfed == 0)
        return false;
    if (m->opts.method != LC_MOSAIC_FIRST && !m->opts.exit_when_covered)
        return false;
    return lc__coverage_full(&m->cov);
}

bool lc__mosaic_rect_covered(const struct lc_mosaic *m, size_t band, size_t x0,
                             size_t y0, size_t x1, size_t y1)
{
    return lc__coverage_rect_full(&m->cov, band, x0, y0, x1, y1);
}

bool lc__mosaic_rect_done(const struct lc_mosaic *m, size_t band, size_t x0,
                          size_t y0, size_t x1, size_t y1)
{
    if (m->opts.method != LC_MOSAIC_FIRST && !m->opts.exit_when_covered)
        return false;
    return lc__coverage_rect_full(&m->cov, band, x0, y0, x1, y1);
}

/* ---- feeding ------------------------------------------------------------- */

/* A source with its defaults resolved. */
struct feed {
    const uint8_t *data;
    size_t band0, nbands, x0, y0, width, height;
    size_t row_stride, band_stride; /* in values */
    const uint8_t *mask;
    size_t mask_stride;
    struct lc__nodata nd;
    const uint64_t *valid_bits; /* NULL: from the values, mask and nd */
    size_t bits_words;          /* words per row of valid_bits */
};

static int resolve_src(const struct lc_mosaic *m,
                       const struct lc__mosaic_src *src, struct feed *f,
                       struct lc__errbuf *err)
{
    const struct lc__mosaic_options *o = &m->opts;

    LC_RETURN_IF(src == NULL || src->data == NULL, err, LC_EINVAL,
                 "mosaic source has no data");
    LC_RETURN_IF(src->dtype != o->dtype, err, LC_EINVAL,
                 "mosaic source dtype %s differs from the mosaic's %s",
                 lc_dtype_name(src->dtype), lc_dtype_name(o->dtype));
    LC_RETURN_IF(src->band0 >= o->nbands, err, LC_EINVAL,
                 "mosaic source band %zu is outside the %zu bands", src->band0,
                 o->nbands);
    f->nbands = src->nbands == 0 ? o->nbands - src->band0 : src->nbands;
    LC_RETURN_IF(f->nbands > o->nbands - src->band0, err, LC_EINVAL,
                 "mosaic source bands %zu..%zu are outside the %zu bands",
                 src->band0, src->band0 + f->nbands - 1, o->nbands);
    LC_RETURN_IF(src->x0 > o->width || src->width > o->width - src->x0 ||
                     src->y0 > o->height || src->height > o->height - src->y0,
                 err, LC_EINVAL,
                 "mosaic source rectangle %zu x %zu at (%zu, %zu) is outside "
                 "the %zu x %zu chunk",
                 src->width, src->height, src->x0, src->y0, o->width,
                 o->height);
    f->row_stride = src->row_stride == 0 ? src->width : src->row_stride;
    LC_RETURN_IF(f->row_stride < src->width, err, LC_EINVAL,
                 "mosaic source row stride %zu is less than its width %zu",
                 f->row_stride, src->width);
    size_t plane = 0;
    bool ok = lc__size_mul(f->row_stride, src->height, &plane);
    f->band_stride = src->band_stride == 0 ? plane : src->band_stride;
    LC_RETURN_IF(!ok || (src->height > 0 && f->band_stride < plane), err,
                 LC_EINVAL, "mosaic source band stride %zu is too small",
                 f->band_stride);
    f->mask_stride = src->mask_stride == 0 ? src->width : src->mask_stride;
    LC_RETURN_IF(src->mask != NULL && f->mask_stride < src->width, err,
                 LC_EINVAL,
                 "mosaic source mask stride %zu is less than its width %zu",
                 f->mask_stride, src->width);
    f->data = src->data;
    f->band0 = src->band0;
    f->x0 = src->x0;
    f->y0 = src->y0;
    f->width = src->width;
    f->height = src->height;
    f->mask = src->mask;
    lc__nodata_prepare(&f->nd, o->dtype, src->has_nodata, src->nodata);
    f->valid_bits = src->valid_bits;
    f->bits_words = lc__mosaic_bits_words(src->x0, src->width);
    return LC_OK;
}

size_t lc__mosaic_bits_words(size_t x0, size_t width)
{
    return width == 0 ? 0 : (x0 + width - 1) / 64 - x0 / 64 + 1;
}

void lc__mosaic_valid_bits(const struct lc__mosaic_src *src, uint64_t *bits)
{
    size_t es = lc_dtype_nbytes(src->dtype);
    size_t words = lc__mosaic_bits_words(src->x0, src->width);
    size_t row_stride = src->row_stride == 0 ? src->width : src->row_stride;
    size_t band_stride =
        src->band_stride == 0 ? row_stride * src->height : src->band_stride;
    size_t mask_stride = src->mask_stride == 0 ? src->width : src->mask_stride;
    size_t nbands = src->nbands == 0 ? 1 : src->nbands;
    struct lc__nodata nd;
    lc__nodata_prepare(&nd, src->dtype, src->has_nodata, src->nodata);
    uint8_t valid[64];
    for (size_t b = 0; b < nbands; b++) {
        for (size_t r = 0; r < src->height; r++) {
            const uint8_t *row = (const uint8_t *)src->data +
                                 (b * band_stride + r * row_stride) * es;
            const uint8_t *mask =
                src->mask == NULL ? NULL : src->mask + r * mask_stride;
            uint64_t *out = bits + (b * src->height + r) * words;
            /* Word by word, as the coverage is laid out: the first and
             * last may hold fewer than 64 of the row's pixels. */
            for (size_t i = 0, w = 0; i < src->width; w++) {
                size_t bit0 = (src->x0 + i) & 63;
                size_t len =
                    64 - bit0 < src->width - i ? 64 - bit0 : src->width - i;
                lc__valid_row(src->dtype, row + i * es, len,
                              mask == NULL ? NULL : mask + i, &nd, valid);
                out[w] = lc__valid_bits(valid, len) << bit0;
                i += len;
            }
        }
    }
}

static const uint8_t *src_row(const struct lc_mosaic *m, const struct feed *f,
                              size_t b, size_t r)
{
    return f->data + (b * f->band_stride + r * f->row_stride) * m->esize;
}

static const uint8_t *mask_row(const struct feed *f, size_t r)
{
    return f->mask == NULL ? NULL : f->mask + r * f->mask_stride;
}

/* The validity of row r of band b of a feed, one byte per value, in
 * m->valid. */
static void row_valid(struct lc_mosaic *m, const struct feed *f, size_t b,
                      size_t r)
{
    if (f->valid_bits == NULL) {
        lc__valid_row(m->opts.dtype, src_row(m, f, b, r), f->width,
                      mask_row(f, r), &f->nd, m->valid);
        return;
    }
    const uint64_t *row = f->valid_bits + (b * f->height + r) * f->bits_words;
    size_t w0 = f->x0 / 64;
    for (size_t i = 0; i < f->width; i++) {
        size_t x = f->x0 + i;
        m->valid[i] = (uint8_t)((row[x / 64 - w0] >> (x & 63)) & 1);
    }
}

/* The first run of set bits of w (not 0): where it starts, and how long it
 * is; after_run drops it (and the clear bits before it) from w. */
static inline void first_run(uint64_t w, unsigned *start, unsigned *len)
{
    unsigned s = (unsigned)__builtin_ctzll(w);
    uint64_t rest = ~(w >> s); /* its first set bit ends the run */
    *start = s;
    *len = rest == 0 ? 64 - s : (unsigned)__builtin_ctzll(rest);
}

static inline uint64_t after_run(uint64_t w, unsigned start, unsigned len)
{
    return start + len >= 64 ? 0 : w & (~UINT64_C(0) << (start + len));
}

/* Pixels [at, at + len) of a row, to be copied or filled once the run
 * stops: runs are found a 64-pixel word at a time, and one that goes on
 * into the next word is still one copy. */
struct pending_run {
    size_t at, len;
};

/* Adds [at, at + len) to p. True when it does not go on from p's run:
 * that one, now over, is in *done (if not empty), and p starts anew. */
static inline bool pending_add(struct pending_run *p, size_t at, size_t len,
                               struct pending_run *done)
{
    if (p->len > 0 && p->at + p->len == at) {
        p->len += len;
        return false;
    }
    *done = *p;
    *p = (struct pending_run){at, len};
    return done->len > 0;
}

/* First: takes the valid values whose coverage bit is clear, one coverage
 * word (64 values) at a time: the values to take are a mask, copied as
 * runs, a run going on from word to word (pending_run: a span where
 * nothing was covered yet is one copy, not one per word of at most 128
 * bytes: some 830,000 of them in W7). A source in place (src is dst) is only
 * counted. The valid values are given as bytes (valid[i]), or as bits laid out
 * as the coverage (bits: word x / 64 - x0 / 64 for x = x0 + i; then valid is
 * NULL). */
static size_t first_row(size_t esize, uint8_t *dst, const uint8_t *src,
                        const uint8_t *valid, const uint64_t *bits, size_t n,
                        uint64_t *cov, size_t x0)
{
    size_t added = 0;
    struct pending_run p = {0, 0}, done;
    bool copy = dst != src;
    for (size_t i = 0; i < n;) {
        size_t x = x0 + i;
        size_t bit0 = x & 63;
        size_t len = 64 - bit0 < n - i ? 64 - bit0 : n - i;
        uint64_t span = len == 64 ? ~UINT64_C(0) : (UINT64_C(1) << len) - 1;
        uint64_t word = cov[x >> 6];
        uint64_t take = ~(word >> bit0) & span;
        if (take != 0)
            take &= bits != NULL ? bits[(x >> 6) - (x0 >> 6)] >> bit0
                                 : lc__valid_bits(valid + i, len);
        if (take != 0) {
            cov[x >> 6] = word | take << bit0;
            added += (size_t)__builtin_popcountll(take);
        }
        for (uint64_t rest = copy ? take : 0; rest != 0;) {
            unsigned k, run;
            first_run(rest, &k, &run);
            if (pending_add(&p, i + k, run, &done))
                memcpy(dst + done.at * esize, src + done.at * esize,
                       done.len * esize);
            rest = after_run(rest, k, run);
        }
        i += len;
    }
    if (p.len > 0)
        memcpy(dst + p.at * esize, src + p.at * esize, p.len * esize);
    return added;
}

/* Row y of the values of plane (first, highest, lowest). */
static uint8_t *value_row(const struct lc_mosaic *m, size_t plane, size_t y)
{
    return (uint8_t *)m->planes[plane] + y * m->opts.width * m->esize;
}

/* Feeds one row of width values at (plane, y, x0) for every method but
 * median: its validity in m->valid, or for first in bits (first_row). */
static void feed_row(struct lc_mosaic *m, size_t plane, size_t y, size_t x0,
                     size_t n, const uint8_t *srow, const uint64_t *bits)
{
    size_t off = (plane * m->opts.height + y) * m->opts.width + x0;
    uint64_t *cov = lc__coverage_row(&m->cov, plane, y);
    const uint8_t *valid = m->valid;
    double *d = m->scratch;
    size_t added = 0;

    switch (m->opts.method) {
    case LC_MOSAIC_FIRST:
        added = first_row(m->esize, value_row(m, plane, y) + x0 * m->esize,
                          srow, valid, bits, n, cov, x0);
        lc__coverage_add(&m->cov, plane, y, added);
        return;
    case LC_MOSAIC_HIGHEST:
    case LC_MOSAIC_LOWEST:
        added = lc__maxmin_row(
            m->opts.dtype, m->opts.method == LC_MOSAIC_HIGHEST,
            value_row(m, plane, y) + x0 * m->esize, srow, valid, n, cov, x0);
        lc__coverage_add(&m->cov, plane, y, added);
        return;
    case LC_MOSAIC_MEAN: {
        double *sum = m->acc + off;
        uint32_t *cnt = m->count + off;
        lc__load_f64_row(m->opts.dtype, srow, n, d);
        /* A select, not a branch: vectorises, and an invalid NaN or inf
         * never reaches the sum. */
        for (size_t i = 0; i < n; i++) {
            sum[i] += valid[i] ? d[i] : 0.0;
            cnt[i] += valid[i];
        }
        break;
    }
    case LC_MOSAIC_STDEV: {
        /* Welford's update: exact for a constant series (M2 stays 0), and
         * stable where the naive sum of squares cancels. */
        double *mean = m->acc + off;
        double *m2 = m->m2 + off;
        uint32_t *cnt = m->count + off;
        lc__load_f64_row(m->opts.dtype, srow, n, d);
        for (size_t i = 0; i < n; i++) {
            if (valid[i]) {
                uint32_t k = ++cnt[i];
                double delta = d[i] - mean[i];
                mean[i] += delta / (double)k;
                m2[i] += delta * (d[i] - mean[i]);
            }
        }
        break;
    }
    case LC_MOSAIC_COUNT: {
        uint32_t *cnt = m->count + off;
        for (size_t i = 0; i < n; i++)
            cnt[i] += valid[i] && cnt[i] != UINT32_MAX;
        break;
    }
    case LC_MOSAIC_MEDIAN:
        LC_ASSERT(0);
        return;
    }
    lc__coverage_mark_row(&m->cov, plane, y, x0, n, valid);
}

/* Median: keeps the feed's bitmap and packed valid values. */
static int feed_median(struct lc_mosaic *m, const struct feed *f,
                       struct lc__errbuf *err)
{
    const struct lc_allocator *a = &m->opts.allocator;
    struct median_feed mf = {0};
    size_t bits_nbytes = 0;
    int status = LC_OK;

    mf.band0 = f->band0;
    mf.nbands = f->nbands;
    mf.x0 = f->x0;
    mf.y0 = f->y0;
    mf.width = f->width;
    mf.height = f->height;
    mf.words_per_row = f->width / 64 + (f->width % 64 != 0);
    if (f->width == 0 || f->height == 0)
        return LC_OK;
    size_t rows = f->nbands * f->height;
    bool ok =
        lc__size_mul(rows, mf.words_per_row * sizeof(uint64_t), &bits_nbytes);
    LC_RETURN_IF(
        !ok || bits_nbytes > m->opts.max_stack_nbytes - m->stack_nbytes, err,
        LC_ELIMIT, "median would hold more than %zu bytes (max_stack_nbytes)",
        m->opts.max_stack_nbytes);
    if (m->nfeeds == m->feeds_cap) {
        size_t cap = m->feeds_cap == 0 ? 16 : m->feeds_cap * 2;
        struct median_feed *grown = lc__realloc(
            a, m->feeds, m->feeds_cap * sizeof(*grown), cap * sizeof(*grown));
        LC_RETURN_IF(grown == NULL, err, LC_ENOMEM,
                     "out of memory for %zu median feeds", cap);
        m->feeds = grown;
        m->feeds_cap = cap;
    }
    mf.bits = lc__calloc(a, 1, bits_nbytes);
    LC_RETURN_IF(mf.bits == NULL, err, LC_ENOMEM,
                 "out of memory for a median feed bitmap of %zu bytes",
                 bits_nbytes);

    /* Pass 1: validity into the feed's bitmap, counting valid values. */
    for (size_t b = 0; b < f->nbands; b++) {
        for (size_t r = 0; r < f->height; r++) {
            uint64_t *row = mf.bits + (b * f->height + r) * mf.words_per_row;
            row_valid(m, f, b, r);
            for (size_t w = 0; w < mf.words_per_row; w++) {
                size_t len = f->width - w * 64 < 64 ? f->width - w * 64 : 64;
                row[w] = lc__valid_bits(m->valid + w * 64, len);
                mf.nvalues += (size_t)__builtin_popcountll(row[w]);
            }
        }
    }
    if (mf.nvalues == 0) {
        lc__free(a, mf.bits);
        return LC_OK; /* nothing valid: nothing to keep */
    }
    size_t values_nbytes = mf.nvalues * m->esize;
    mf.nbytes = bits_nbytes + values_nbytes;
    if (mf.nbytes > m->opts.max_stack_nbytes - m->stack_nbytes) {
        status = lc__error(err, LC_ELIMIT,
                           "median would hold more than %zu bytes "
                           "(max_stack_nbytes)",
                           m->opts.max_stack_nbytes);
        goto fail_bits;
    }
    mf.values = lc__malloc(a, values_nbytes);
    if (mf.values == NULL) {
        status = lc__error(err, LC_ENOMEM,
                           "out of memory for %zu median values", mf.nvalues);
        goto fail_bits;
    }

    /* Pass 2: pack the valid values; count them and mark coverage. */
    uint8_t *out = mf.values;
    for (size_t b = 0; b < f->nbands; b++) {
        size_t plane = f->band0 + b;
        for (size_t r = 0; r < f->height; r++) {
            size_t y = f->y0 + r;
            const uint64_t *row =
                mf.bits + (b * f->height + r) * mf.words_per_row;
            const uint8_t *srow = src_row(m, f, b, r);
            uint32_t *cnt =
                m->count + (plane * m->opts.height + y) * m->opts.width + f->x0;
            uint64_t *cov = lc__coverage_row(&m->cov, plane, y);
            size_t added = 0;
            for (size_t w = 0; w < mf.words_per_row; w++) {
                uint64_t bits = row[w];
                while (bits != 0) {
                    size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
                    bits &= bits - 1;
                    memcpy(out, srow + i * m->esize, m->esize);
                    out += m->esize;
                    cnt[i]++;
                    size_t x = f->x0 + i;
                    uint64_t bit = UINT64_C(1) << (x & 63);
                    if (!(cov[x >> 6] & bit)) {
                        cov[x >> 6] |= bit;
                        added++;
                    }
                }
            }
            lc__coverage_add(&m->cov, plane, y, added);
        }
    }
    m->feeds[m->nfeeds++] = mf;
    m->stack_nbytes += mf.nbytes;
    return LC_OK;

fail_bits:
    lc__free(a, mf.bits);
    return status;
}

int lc__mosaic_feed(struct lc_mosaic *m, const struct lc__mosaic_src *src,
                    struct lc__errbuf *err)
{
    struct feed f;

    LC_FORWARD_IF_ERROR(resolve_src(m, src, &f, err));
    if (m->opts.method == LC_MOSAIC_MEDIAN) {
        LC_FORWARD_IF_ERROR(feed_median(m, &f, err));
        m->nfed++;
        return LC_OK;
    }
    for (size_t b = 0; b < f.nbands; b++) {
        size_t plane = f.band0 + b;
        for (size_t r = 0; r < f.height; r++) {
            size_t y = f.y0 + r;
            /* First never changes a covered value: skip covered rows
             * before looking at them. */
            if (m->opts.method == LC_MOSAIC_FIRST &&
                lc__coverage_rect_full(&m->cov, plane, f.x0, y, f.x0 + f.width,
                                       y + 1))
                continue;
            const uint8_t *srow = src_row(m, &f, b, r);
            /* First takes given bits as they are. */
            const uint64_t *bits = NULL;
            if (f.valid_bits != NULL && m->opts.method == LC_MOSAIC_FIRST)
                bits = f.valid_bits + (b * f.height + r) * f.bits_words;
            else
                row_valid(m, &f, b, r);
            feed_row(m, plane, y, f.x0, f.width, srow, bits);
        }
    }
    m->nfed++;
    return LC_OK;
}

int lc__mosaic_take_in_place(struct lc_mosaic *m, size_t band, size_t x0,
                             size_t y0, size_t width, size_t height,
                             struct lc__errbuf *err)
{
    const struct lc__mosaic_options *o = &m->opts;

    /* Only first, highest and lowest take caller planes (lc__mosaic_new). */
    LC_RETURN_IF(lc__mosaic_value_plane(m, band) == NULL, err, LC_EINVAL,
                 "mosaic band %zu keeps no values in the caller's plane", band);
    LC_RETURN_IF(x0 > o->width || width > o->width - x0 || y0 > o->height ||
                     height > o->height - y0,
                 err, LC_EINVAL,
                 "mosaic rectangle %zu x %zu at (%zu, %zu) is outside the "
                 "%zu x %zu chunk",
                 width, height, x0, y0, o->width, o->height);
    for (size_t y = y0; y < y0 + height; y++)
        lc__coverage_set_range(&m->cov, band, y, x0, width);
    m->nfed++;
    return LC_OK;
}

/* ---- the result ---------------------------------------------------------- */

/*
 * Median of one row: scatters every feed's values of (plane, y) into vals,
 * grouped by pixel, then selects each pixel's middle value into d.
 */
static void median_row(struct lc_mosaic *m, size_t plane, size_t y,
                       double *vals, double *d)
{
    size_t w = m->opts.width;
    const uint32_t *cnt = m->count + (plane * m->opts.height + y) * w;
    size_t *off = m->row_off;
    /* The scratch row (also d's) holds one feed's row at a time while the
     * values are scattered; d is written only after. */
    double *tmp = m->scratch;

    off[0] = 0;
    for (size_t x = 0; x < w; x++)
        off[x + 1] = off[x] + cnt[x];
    for (size_t k = 0; k < m->nfeeds; k++) {
        struct median_feed *mf = &m->feeds[k];
        if (plane < mf->band0 || plane - mf->band0 >= mf->nbands ||
            y < mf->y0 || y - mf->y0 >= mf->height)
            continue;
        const uint64_t *row =
            mf->bits + ((plane - mf->band0) * mf->height + (y - mf->y0)) *
                           mf->words_per_row;
        size_t nrow = 0;
        for (size_t i = 0; i < mf->words_per_row; i++)
            nrow += (size_t)__builtin_popcountll(row[i]);
        lc__load_f64_row(m->opts.dtype,
                         (const uint8_t *)mf->values + mf->consumed * m->esize,
                         nrow, tmp);
        mf->consumed += nrow;
        size_t j = 0;
        for (size_t i = 0; i < mf->words_per_row; i++) {
            uint64_t bits = row[i];
            while (bits != 0) {
                size_t x = mf->x0 + i * 64 + (size_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                vals[off[x]++] = tmp[j++];
            }
        }
    }
    /* off[x] now ends pixel x's group, which holds cnt[x] values. */
    for (size_t x = 0; x < w; x++)
        d[x] = cnt[x] == 0 ? 0
                           : lc__median_inplace(vals + off[x] - cnt[x], cnt[x]);
}

/* Largest number of median values in one row, for the row buffer. */
static size_t max_row_values(const struct lc_mosaic *m)
{
    size_t best = 0;

    for (size_t r = 0; r < m->opts.nbands * m->opts.height; r++) {
        const uint32_t *cnt = m->count + r * m->opts.width;
        size_t total = 0;
        for (size_t x = 0; x < m->opts.width; x++)
            total += cnt[x];
        if (total > best)
            best = total;
    }
    return best;
}

/* What every get checks first. */
static int check_get(const struct lc_mosaic *m, enum lc_dtype out_dtype,
                     struct lc__errbuf *err)
{
    LC_RETURN_IF(m->nfed == 0, err, LC_EINVAL,
                 "No data has been fed to the mosaic method.");
    LC_RETURN_IF(!dtype_ok(out_dtype), err, LC_EINVAL,
                 "mosaic output dtype %d is not a numeric dtype",
                 (int)out_dtype);
    return LC_OK;
}

int lc__mosaic_get(struct lc_mosaic *m, enum lc_dtype out_dtype, double fill,
                   void *out, size_t out_nbytes, struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(check_get(m, out_dtype, err));
    size_t oes = lc_dtype_nbytes(out_dtype);
    size_t need = 0;
    LC_RETURN_IF(!lc__size_mul(m->nvalues, oes, &need) || out_nbytes < need,
                 err, LC_ENOSPACE,
                 "mosaic output needs %zu bytes, the buffer has %zu",
                 m->nvalues * oes, out_nbytes);
    /* nvalues = nbands x height x width fits: so does each plane's offset */
    size_t plane_nbytes = m->opts.height * m->opts.width * oes;
    void *stack_planes[16];
    void **planes = stack_planes;
    if (m->opts.nbands > LC_ARRAY_SIZE(stack_planes)) {
        planes = lc__malloc_array(&m->opts.allocator, m->opts.nbands,
                                  sizeof *planes);
        LC_RETURN_IF(planes == NULL, err, LC_ENOMEM,
                     "out of memory for %zu planes", m->opts.nbands);
    }
    for (size_t b = 0; b < m->opts.nbands; b++)
        planes[b] = (uint8_t *)out + b * plane_nbytes;
    int status = lc__mosaic_get_planes(m, out_dtype, fill, planes, err);
    if (planes != stack_planes)
        lc__free(&m->opts.allocator, planes);
    return status;
}

/* n copies of the value of oes bytes at fill from dst on: a memset when
 * its bytes are all one (0, the usual fill, or -1), else loops of a size
 * known to the compiler per case, so that they vectorise. */
static void fill_run(uint8_t *dst, size_t oes, const uint8_t *fill, size_t n)
{
    bool one_byte = true;
    for (size_t k = 1; k < oes; k++)
        one_byte = one_byte && fill[k] == fill[0];
    if (one_byte) {
        memset(dst, fill[0], n * oes);
        return;
    }
    switch (oes) {
    case 2:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 2, fill, 2);
        return;
    case 4:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 4, fill, 4);
        return;
    case 8:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 8, fill, 8);
        return;
    default:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * oes, fill, oes);
        return;
    }
}

/* Writes fill into the pixels of a row of w that no feed covered (clear
 * bits of cov), a run of clear bits at a time, a run going on from word to
 * word (pending_run): large uncovered areas are the common case (no item
 * there), and a test per pixel cost more than the stores. */
static void fill_uncovered(uint8_t *dst, size_t oes, const uint8_t *fill,
                           const uint64_t *cov, size_t w)
{
    struct pending_run p = {0, 0}, done;
    for (size_t x0 = 0; x0 < w; x0 += 64) {
        uint64_t holes = ~cov[x0 >> 6];
        if (w - x0 < 64)
            holes &= (UINT64_C(1) << (w - x0)) - 1; /* not past the row */
        while (holes != 0) {
            unsigned start, len;
            first_run(holes, &start, &len);
            if (pending_add(&p, x0 + start, len, &done))
                fill_run(dst + done.at * oes, oes, fill, done.len);
            holes = after_run(holes, start, len);
        }
    }
    if (p.len > 0)
        fill_run(dst + p.at * oes, oes, fill, p.len);
}

int lc__mosaic_get_planes(struct lc_mosaic *m, enum lc_dtype out_dtype,
                          double fill, void *const *planes,
                          struct lc__errbuf *err)
{
    const struct lc__mosaic_options *o = &m->opts;
    size_t w = o->width;
    double *vals = NULL;

    LC_FORWARD_IF_ERROR(check_get(m, out_dtype, err));
    size_t oes = lc_dtype_nbytes(out_dtype);
    if (o->method == LC_MOSAIC_MEDIAN) {
        size_t nvals = max_row_values(m);
        vals = lc__malloc_array(&o->allocator, nvals, sizeof(double));
        LC_RETURN_IF(vals == NULL, err, LC_ENOMEM,
                     "out of memory for a median row of %zu values", nvals);
        for (size_t k = 0; k < m->nfeeds; k++)
            m->feeds[k].consumed = 0;
    }
    uint8_t fill_bytes[8];
    lc__store_f64_row(out_dtype, &fill, 1, fill_bytes);

    /* d is the row in double for the float methods; it shares the
     * scratch row with lc__convert_row, which the other methods use. */
    double *d = m->scratch;
    for (size_t plane = 0; plane < o->nbands; plane++) {
        for (size_t y = 0; y < o->height; y++) {
            size_t off = (plane * o->height + y) * w;
            uint8_t *dst = (uint8_t *)planes[plane] + y * w * oes;
            const uint32_t *cnt = m->count == NULL ? NULL : m->count + off;
            switch (o->method) {
            case LC_MOSAIC_FIRST:
            case LC_MOSAIC_HIGHEST:
            case LC_MOSAIC_LOWEST:
                /* Kept in the caller's planes: already in place. */
                if (value_row(m, plane, y) != dst || out_dtype != o->dtype)
                    lc__convert_row(o->dtype, value_row(m, plane, y), out_dtype,
                                    dst, w, m->scratch);
                break;
            case LC_MOSAIC_MEAN:
                for (size_t x = 0; x < w; x++)
                    d[x] = cnt[x] == 0 ? 0 : m->acc[off + x] / (double)cnt[x];
                lc__store_f64_row(out_dtype, d, w, dst);
                break;
            case LC_MOSAIC_STDEV:
                for (size_t x = 0; x < w; x++)
                    d[x] =
                        cnt[x] == 0 ? 0 : sqrt(m->m2[off + x] / (double)cnt[x]);
                lc__store_f64_row(out_dtype, d, w, dst);
                break;
            case LC_MOSAIC_COUNT:
                for (size_t x = 0; x < w; x++)
                    d[x] = cnt[x] > UINT16_MAX ? UINT16_MAX : cnt[x];
                lc__store_f64_row(out_dtype, d, w, dst);
                continue; /* a count is never missing: no fill */
            case LC_MOSAIC_MEDIAN:
                median_row(m, plane, y, vals, d);
                lc__store_f64_row(out_dtype, d, w, dst);
                break;
            }
            if (m->cov.row_count[plane * o->height + y] != w)
                fill_uncovered(dst, oes, fill_bytes,
                               lc__coverage_row(&m->cov, plane, y), w);
        }
    }
    lc__free(&o->allocator, vals);
    return LC_OK;
}
