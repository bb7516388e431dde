/* mosaic.h - mosaic methods: combining the items of one time step, fed in
 * sort order, into one output chunk (first, highest, lowest, mean, median,
 * stdev, count). */
/* SPDX-License-Identifier: MIT */
#ifndef LC_MOSAIC_H
#define LC_MOSAIC_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * How the engine uses a mosaic
 * ----------------------------
 *
 *   lc__mosaic_new(method, dtype, nbands x height x width)     once per chunk
 *   for each item of the time step, in sort order:              (or reuse it
 *       for each source tile the item would bring:               through
 *           if lc__mosaic_rect_done(tile's destination rect):    lc__mosaic_
 *               skip it (never fetched)                          reset)
 *       warp the item into the chunk grid -> values + validity
 *       lc__mosaic_feed(values, mask and/or nodata)
 *       if lc__mosaic_is_done(): stop, later items cannot change anything
 *   lc__mosaic_get(out dtype, fill) -> caller's buffer
 *
 * Values are nbands planes of height x width, C order (band, y, x). A feed
 * may cover a sub-rectangle of the chunk and a range of its bands, so a
 * partly overlapping item costs only its overlap.
 *
 * A value fed is valid when all of these hold: the mask (if any) is
 * non-zero at its pixel; it differs from the nodata value (if any); and,
 * for float dtypes, it is not NaN. NaN is therefore never data: NaN nodata
 * masks NaN pixels (the reference compares with ==, so NaN nodata never
 * masks anything), and NaN pixels do not poison highest/lowest/mean.
 *
 * Per method (state kept per value; n = valid observations so far):
 *
 *   method   result                      state               output dtype
 *   first    first valid value in order  value + 1 bit       value dtype
 *   highest  max of valid values         value + 1 bit       value dtype
 *   lowest   min of valid values         value + 1 bit       value dtype
 *   mean     sum / n, in double          double sum, u32 n   float (*)
 *   median   middle value, mean of the   every valid value,  float (*)
 *            two middle ones for even n  packed per feed
 *   stdev    population (ddof 0)         Welford mean and    float (*)
 *            standard deviation          M2 in double, u32 n
 *   count    n (saturating at 65535)     u32 n               uint16
 *
 *   (*) lc__mosaic_output_dtype: float64 when the values are float64 or
 *       32/64-bit integers (which float32 would round), float32 otherwise.
 *       Any output dtype can be asked of lc__mosaic_get; the engine passes
 *       the DataArray's (the reference resolves integer sources with a
 *       float-only method to float32).
 *
 * Values that never got a valid observation are written as the fill value
 * (count writes 0: a count is never missing).
 *
 * Early exit: lc__mosaic_is_done is true only when no further item can
 * change the result - for first, once every value is valid; for the
 * other methods never, unless the caller asks for the reference's
 * behaviour with exit_when_covered (is_done once every value has at least
 * one valid observation, for every method).
 *
 * Differences from the reference's mosaic methods (behaviour reference
 * §1.7, §2.12, §6), on purpose:
 *   - early exit for highest/lowest/mean/median/stdev/count only with
 *     exit_when_covered (the reference always stops there, so e.g. count
 *     never exceeds 1 where the first item covers the chunk; its count is
 *     even done after any feed);
 *   - mean accumulates in double, not in the source dtype (the reference
 *     truncates intermediate means of integer sources);
 *   - mean/median/stdev results are float32 or float64 as above (the
 *     reference returns the source dtype for mean and float64 for
 *     median/stdev from read_chunk_async);
 *   - NaN is never valid data (see above);
 *   - median and stdev hold no masked stack: stdev needs O(1) per value
 *     (Welford), median only the valid values;
 *   - count saturates at 65535 instead of wrapping.
 * Kept: "No data has been fed to the mosaic method." from lc__mosaic_get
 * before any feed; is_done false before any feed; population stdev.
 *
 * A mosaic is not safe for concurrent use; separate mosaics may be used
 * from separate threads.
 */

/* Mosaic methods: enum lc_mosaic_method of include/lazycogs.h. */
#define LC_MOSAIC_NMETHODS 7

/* "first", "highest"... or NULL for a value outside the enum. */
const char *lc__mosaic_method_name(enum lc_mosaic_method method);

/* The reference's class name, "FirstMethod"..., or NULL. */
const char *lc__mosaic_method_class(enum lc_mosaic_method method);

/* Looks a method up by name ("first", case-insensitive) or class name
 * ("FirstMethod"). Returns LC_OK or LC_EINVAL (message lists the names). */
int lc__mosaic_method_from_name(const char *name,
                                enum lc_mosaic_method *method_ret,
                                struct lc__errbuf *err);

/* True for mean, median and stdev (the reference's requires_float). */
bool lc__mosaic_requires_float(enum lc_mosaic_method method);

/* The natural output dtype of method over values of value_dtype (table
 * above), or LC_DTYPE_UNKNOWN for bad arguments. */
enum lc_dtype lc__mosaic_output_dtype(enum lc_mosaic_method method,
                                      enum lc_dtype value_dtype);

/* One mosaic: the state of one output chunk. Opaque. */
struct lc_mosaic;

/* Default cap on the values a median holds (2 GiB). */
#define LC_MOSAIC_DEFAULT_MAX_STACK_NBYTES ((size_t)1 << 31)

/* What lc__mosaic_new builds; all-zero fields mean the defaults noted. */
struct lc__mosaic_options {
    enum lc_mosaic_method method; /* [first] */
    enum lc_dtype dtype;          /* of the values fed; required */
    size_t nbands;                /* planes; required (>= 1) */
    size_t width;                 /* pixels; required, < 2^32 */
    size_t height;                /* pixels; required */
    /* true: is_done (and rect_done) once every value has one valid
     * observation, whatever the method: the reference's behaviour. */
    bool exit_when_covered;
    /* Bytes a median may hold (values and their bitmaps), beyond which
     * lc__mosaic_feed fails with LC_ELIMIT [LC_MOSAIC_DEFAULT_MAX_STACK_
     * NBYTES]. Ignored by the other methods, whose state is fixed. */
    size_t max_stack_nbytes;
    struct lc_allocator allocator; /* [malloc/free] */
    /* first, highest and lowest: where the values are kept, nbands planes
     * of height x width values of dtype owned by the caller (the engine's
     * output buffer: lc__mosaic_get_planes into the same planes then only
     * writes the fill where nothing was fed). The array is copied; the
     * planes must outlive the mosaic. NULL: inside the mosaic. */
    void *const *value_planes;
};

/*
 * Bytes of the fixed state a mosaic with these options allocates (one
 * workspace; a median adds what it holds per feed). Returns LC_OK, or
 * LC_EINVAL for bad options, LC_ELIMIT when the size does not fit size_t.
 */
int lc__mosaic_estimate_nbytes(const struct lc__mosaic_options *opts,
                               size_t *nbytes_ret, struct lc__errbuf *err);

/*
 * Creates a mosaic (options are copied). Returns LC_OK and *m_ret, or
 * LC_EINVAL (bad options: unknown method or dtype, a zero size, width of
 * 2^32 or more), LC_ELIMIT (sizes overflow), LC_ENOMEM; *m_ret is then
 * NULL.
 */
int lc__mosaic_new(const struct lc__mosaic_options *opts,
                   struct lc_mosaic **m_ret, struct lc__errbuf *err);

/* Frees a mosaic and everything it holds; NULL does nothing. */
void lc__mosaic_free(struct lc_mosaic *m);

/* Forgets everything fed, keeping the allocation, so that the mosaic serves
 * the next chunk or time step of the same shape. */
void lc__mosaic_reset(struct lc_mosaic *m);

/* One source fed to a mosaic: an item already warped to the chunk grid. */
struct lc__mosaic_src {
    /* nbands planes of height rows of width values of dtype, covering the
     * chunk's pixels [x0, x0 + width) x [y0, y0 + height) of its bands
     * [band0, band0 + nbands). Borrowed for the call only. May be the
     * mosaic's own values at the rectangle (lc__mosaic_value_plane, one
     * band, the chunk's row stride): a source written in place before
     * anything covered its rectangle, which the feed then only counts. */
    const void *data;
    enum lc_dtype dtype; /* must be the mosaic's */
    size_t band0;
    size_t nbands; /* 0: all the mosaic's bands from band0 */
    size_t x0;
    size_t y0;
    size_t width;
    size_t height;
    size_t row_stride;  /* values from one row to the next; 0: width */
    size_t band_stride; /* values from one plane to the next; 0: height *
                           row_stride */
    /* height rows of width bytes, non-zero where the pixel is valid (all
     * bands); NULL: every pixel. */
    const uint8_t *mask;
    size_t mask_stride; /* bytes from one mask row to the next; 0: width */
    bool has_nodata;    /* values equal to nodata are not valid */
    double nodata;      /* compared in dtype: a nodata value the dtype cannot
                           hold exactly (1.5 for uint8) matches nothing */
    /* NULL, or which values are valid, as lc__mosaic_valid_bits gave them
     * for this source (computed where the values are at hand, on another
     * thread): the feed then looks at neither mask nor nodata. */
    const uint64_t *valid_bits;
};

/* 64-bit words per row of the validity bits of width values from column
 * x0: laid out as the mosaic's coverage, value x0 + i at bit (x0 + i) % 64
 * of the row's word (x0 + i) / 64 - x0 / 64. */
size_t lc__mosaic_bits_words(size_t x0, size_t width);

/* The validity of src's values (mask, nodata and NaN as a feed tests
 * them) into bits: nbands planes (0 counts as one) of height rows of
 * lc__mosaic_bits_words(x0, width) words each. */
void lc__mosaic_valid_bits(const struct lc__mosaic_src *src, uint64_t *bits);

/*
 * Feeds one source. Valid values update the state as the method says;
 * values outside the source's rectangle are untouched. Returns LC_OK,
 * LC_EINVAL (dtype differs from the mosaic's, rectangle or bands outside
 * the chunk, strides too small, data NULL), LC_ELIMIT (a median would
 * hold more than max_stack_nbytes) or LC_ENOMEM; after an error the state
 * is as before the call.
 */
int lc__mosaic_feed(struct lc_mosaic *m, const struct lc__mosaic_src *src,
                    struct lc__errbuf *err);

/*
 * Takes the values already in band's value plane (lc__mosaic_value_plane)
 * at [x0, x0 + width) x [y0, y0 + height) as the result there, every one
 * valid, without looking at them: they are marked covered and compared
 * with nothing. Meant for a chunk's only source, decoded into the plane,
 * whose invalid values already hold what the fill would write there.
 * Counts as a feed. LC_EINVAL when the mosaic keeps no values in the
 * caller's planes (first, highest and lowest with value_planes only) or
 * the rectangle is outside the chunk.
 */
int lc__mosaic_take_in_place(struct lc_mosaic *m, size_t band, size_t x0,
                             size_t y0, size_t width, size_t height,
                             struct lc__errbuf *err);

/* Number of successful feeds since creation or reset. */
uint64_t lc__mosaic_nfed(const struct lc_mosaic *m);

/* The caller's plane (value_planes) that keeps band's values; NULL when
 * the mosaic keeps its values itself, or keeps none (the other methods). */
void *lc__mosaic_value_plane(const struct lc_mosaic *m, size_t band);

/* True when no further feed can change the result (see above). False
 * before any feed. */
bool lc__mosaic_is_done(const struct lc_mosaic *m);

/* Selects every band in the rectangle queries. */
#define LC_MOSAIC_ALL_BANDS SIZE_MAX

/*
 * True when every value of band (or of every band, LC_MOSAIC_ALL_BANDS) in
 * the pixels [x0, x1) x [y0, y1), clipped to the chunk, has a valid
 * observation; O(rows + rows x width / 64). An empty rectangle is covered.
 */
bool lc__mosaic_rect_covered(const struct lc_mosaic *m, size_t band, size_t x0,
                             size_t y0, size_t x1, size_t y1);

/*
 * True when no further feed can change the result inside the rectangle:
 * lc__mosaic_rect_covered for first (and for every method with
 * exit_when_covered), false otherwise. The engine asks it per source tile
 * before fetching the tile.
 */
bool lc__mosaic_rect_done(const struct lc_mosaic *m, size_t band, size_t x0,
                          size_t y0, size_t x1, size_t y1);

/*
 * Writes the result, nbands x height x width values of out_dtype (C order)
 * into out (out_nbytes bytes), values without observation as fill
 * (converted to out_dtype as below). The state is unchanged: get may be
 * called again after more feeds.
 *
 * Conversions to out_dtype when it is not the natural output dtype: between
 * integer dtypes as C and numpy's astype do (wrapping modulo 2^bits); from
 * a float to an integer dtype rounding toward zero and saturating at the
 * dtype's limits, NaN giving 0; to a float dtype rounding to nearest.
 *
 * Returns LC_OK, LC_EINVAL ("No data has been fed to the mosaic method."
 * before any feed, or an unknown dtype), LC_ENOSPACE (out too small) or
 * LC_ENOMEM (a median needs scratch space).
 */
int lc__mosaic_get(struct lc_mosaic *m, enum lc_dtype out_dtype, double fill,
                   void *out, size_t out_nbytes, struct lc__errbuf *err);

/* As lc__mosaic_get, with each band's plane (height x width values of
 * out_dtype) written to planes[band] instead of one after the other: the
 * engine writes a step's bands straight into their places in a (band,
 * time, y, x) output. */
int lc__mosaic_get_planes(struct lc_mosaic *m, enum lc_dtype out_dtype,
                          double fill, void *const *planes,
                          struct lc__errbuf *err);

#endif /* LC_MOSAIC_H */
