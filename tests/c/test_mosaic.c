/* test_mosaic.c - mosaic methods (src/mosaic): the reference's
 * test_mosaic_methods.py cases, the coverage bitmap, nodata and NaN,
 * sub-rectangles, conversions, limits and allocation failures.
 *
 * With --oracle it is instead the C side of tests/python/
 * test_mosaic_oracle.py: it reads one stack from stdin and writes the
 * result (format below), which Python compares with numpy.ma. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <math.h>

#include "../../src/common/alloc.h"
#include "../../src/mosaic/mosaic_internal.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------- */

static struct lc_mosaic *make(enum lc_mosaic_method method, enum lc_dtype dtype,
                              size_t nbands, size_t h, size_t w,
                              bool exit_when_covered)
{
    struct lc__mosaic_options o = {0};
    struct lc_mosaic *m = NULL;
    struct lc__errbuf err = {0};

    o.method = method;
    o.dtype = dtype;
    o.nbands = nbands;
    o.height = h;
    o.width = w;
    o.exit_when_covered = exit_when_covered;
    if (lc__mosaic_new(&o, &m, &err) != LC_OK) {
        fprintf(stderr, "lc__mosaic_new: %s\n", err.msg);
        lc_test_failures++;
        exit(EXIT_FAILURE);
    }
    return m;
}

/* Feeds a whole-chunk float32 source with a validity list (1 = valid),
 * like the reference tests' _masked(data, mask) with mask inverted. */
static void feed_f32(struct lc_mosaic *m, const float *data,
                     const uint8_t *valid, size_t n)
{
    struct lc__mosaic_src s = {0};
    struct lc__errbuf err = {0};

    s.data = data;
    s.dtype = LC_DTYPE_FLOAT32;
    s.width = n;
    s.height = 1;
    s.mask = valid;
    if (lc__mosaic_feed(m, &s, &err) != LC_OK) {
        fprintf(stderr, "feed: %s\n", err.msg);
        lc_test_failures++;
    }
}

/* The result as doubles (out dtype float64). */
static void get_f64(struct lc_mosaic *m, double fill, double *out, size_t n)
{
    struct lc__errbuf err = {0};

    if (lc__mosaic_get(m, LC_DTYPE_FLOAT64, fill, out, n * sizeof(double),
                       &err) != LC_OK) {
        fprintf(stderr, "get: %s\n", err.msg);
        lc_test_failures++;
    }
}

#define ASSERT_NEAR(a, b, tol)                                                 \
    do {                                                                       \
        double lc_a_ = (a), lc_b_ = (b);                                       \
        if (!(fabs(lc_a_ - lc_b_) <= (tol)))                                   \
            LC_CHECK_FAIL_("%s ~ %s: %.17g != %.17g", #a, #b, lc_a_, lc_b_);   \
    } while (0)

/* ---- reference: common contract ------------------------------------------ */

static void test_contract(void)
{
    for (int mt = 0; mt < LC_MOSAIC_NMETHODS; mt++) {
        struct lc_mosaic *m =
            make((enum lc_mosaic_method)mt, LC_DTYPE_FLOAT32, 1, 2, 2, false);
        double out[4];
        struct lc__errbuf err = {0};
        LC_ASSERT_EQ(
            lc__mosaic_get(m, LC_DTYPE_FLOAT64, 0, out, sizeof(out), &err),
            LC_EINVAL);
        LC_ASSERT_STR_EQ(err.msg, "No data has been fed to the mosaic method.");
        LC_ASSERT_TRUE(!lc__mosaic_is_done(m));
        LC_ASSERT_TRUE(!lc__mosaic_rect_done(m, 0, 0, 0, 2, 2));

        /* One fully valid tile: the reference is done for every method;
         * here only first is, unless exit_when_covered asks for it. */
        const float ones[4] = {1, 1, 1, 1};
        struct lc__mosaic_src s = {
            .data = ones, .dtype = LC_DTYPE_FLOAT32, .width = 2, .height = 2};
        LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
        LC_ASSERT_EQ(lc__mosaic_is_done(m), mt == LC_MOSAIC_FIRST);
        LC_ASSERT_EQ(lc__mosaic_rect_done(m, 0, 0, 0, 2, 2),
                     mt == LC_MOSAIC_FIRST);
        LC_ASSERT_TRUE(lc__mosaic_rect_covered(m, 0, 0, 0, 2, 2));
        lc__mosaic_free(m);

        m = make((enum lc_mosaic_method)mt, LC_DTYPE_FLOAT32, 1, 2, 2, true);
        LC_ASSERT_TRUE(!lc__mosaic_is_done(m));
        LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
        LC_ASSERT_TRUE(lc__mosaic_is_done(m));
        LC_ASSERT_TRUE(
            lc__mosaic_rect_done(m, LC_MOSAIC_ALL_BANDS, 0, 0, 2, 2));
        lc__mosaic_free(m);
    }
}

/* ---- reference: the methods ---------------------------------------------- */

static void test_first(void)
{
    struct lc_mosaic *m = make(LC_MOSAIC_FIRST, LC_DTYPE_FLOAT32, 1, 1, 2, 0);
    double out[2];

    feed_f32(m, (const float[]){1, 0}, (const uint8_t[]){1, 0}, 2);
    LC_ASSERT_TRUE(!lc__mosaic_is_done(m));
    feed_f32(m, (const float[]){9, 2}, (const uint8_t[]){1, 1}, 2);
    get_f64(m, 0, out, 2);
    ASSERT_NEAR(out[0], 1.0, 0);
    ASSERT_NEAR(out[1], 2.0, 0);
    LC_ASSERT_TRUE(lc__mosaic_is_done(m));
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_FIRST, LC_DTYPE_FLOAT32, 1, 1, 2, 0);
    feed_f32(m, (const float[]){1, 0}, (const uint8_t[]){1, 0}, 2);
    LC_ASSERT_TRUE(!lc__mosaic_is_done(m));
    feed_f32(m, (const float[]){0, 2}, (const uint8_t[]){0, 1}, 2);
    LC_ASSERT_TRUE(lc__mosaic_is_done(m));
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_FIRST, LC_DTYPE_FLOAT32, 1, 1, 2, 0);
    feed_f32(m, (const float[]){5, 6}, (const uint8_t[]){1, 1}, 2);
    feed_f32(m, (const float[]){99, 99}, (const uint8_t[]){1, 1}, 2);
    get_f64(m, 0, out, 2);
    ASSERT_NEAR(out[0], 5.0, 0);
    ASSERT_NEAR(out[1], 6.0, 0);
    lc__mosaic_free(m);
}

static void test_highest_lowest(void)
{
    double out[2];
    struct lc_mosaic *m = make(LC_MOSAIC_HIGHEST, LC_DTYPE_FLOAT32, 1, 1, 2, 0);

    feed_f32(m, (const float[]){3, 1}, (const uint8_t[]){1, 1}, 2);
    feed_f32(m, (const float[]){1, 5}, (const uint8_t[]){1, 1}, 2);
    get_f64(m, 0, out, 2);
    ASSERT_NEAR(out[0], 3.0, 0);
    ASSERT_NEAR(out[1], 5.0, 0);
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_LOWEST, LC_DTYPE_FLOAT32, 1, 1, 2, 0);
    feed_f32(m, (const float[]){3, 1}, (const uint8_t[]){1, 1}, 2);
    feed_f32(m, (const float[]){1, 5}, (const uint8_t[]){1, 1}, 2);
    get_f64(m, 0, out, 2);
    ASSERT_NEAR(out[0], 1.0, 0);
    ASSERT_NEAR(out[1], 1.0, 0);
    lc__mosaic_free(m);
}

static void test_mean(void)
{
    double out[2];
    struct lc_mosaic *m = make(LC_MOSAIC_MEAN, LC_DTYPE_FLOAT32, 1, 1, 2, 0);

    feed_f32(m, (const float[]){2, 4}, (const uint8_t[]){1, 1}, 2);
    feed_f32(m, (const float[]){4, 8}, (const uint8_t[]){1, 1}, 2);
    get_f64(m, 0, out, 2);
    ASSERT_NEAR(out[0], 3.0, 0);
    ASSERT_NEAR(out[1], 6.0, 0);
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_MEAN, LC_DTYPE_FLOAT32, 1, 1, 2, 0);
    feed_f32(m, (const float[]){4, 4}, (const uint8_t[]){1, 1}, 2);
    feed_f32(m, (const float[]){99, 8}, (const uint8_t[]){0, 1}, 2);
    get_f64(m, 0, out, 2);
    ASSERT_NEAR(out[0], 4.0, 0);
    ASSERT_NEAR(out[1], 6.0, 0);
    lc__mosaic_free(m);

    /* In double, not in the source dtype: the mean of uint8 1 and 2 is
     * 1.5 (the reference's running mean in uint8 gives 1). */
    m = make(LC_MOSAIC_MEAN, LC_DTYPE_UINT8, 1, 1, 1, 0);
    struct lc__mosaic_src s = {
        .dtype = LC_DTYPE_UINT8, .width = 1, .height = 1};
    struct lc__errbuf err = {0};
    s.data = (const uint8_t[]){1};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    s.data = (const uint8_t[]){2};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    float f;
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_FLOAT32, 0, &f, sizeof(f), &err),
                 LC_OK);
    ASSERT_NEAR(f, 1.5, 0);
    lc__mosaic_free(m);
}

static void test_median_stdev_count(void)
{
    double out[2];
    struct lc_mosaic *m = make(LC_MOSAIC_MEDIAN, LC_DTYPE_FLOAT32, 1, 1, 1, 0);

    for (int i = 0; i < 3; i++)
        feed_f32(m, (const float[]){(float)(1 + 2 * i)}, (const uint8_t[]){1},
                 1);
    get_f64(m, 0, out, 1);
    ASSERT_NEAR(out[0], 3.0, 0);
    /* Even count: the mean of the two middle values. */
    feed_f32(m, (const float[]){10}, (const uint8_t[]){1}, 1);
    get_f64(m, 0, out, 1);
    ASSERT_NEAR(out[0], 4.0, 0);
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_STDEV, LC_DTYPE_FLOAT32, 1, 1, 1, 0);
    for (int i = 0; i < 3; i++)
        feed_f32(m, (const float[]){7}, (const uint8_t[]){1}, 1);
    get_f64(m, 0, out, 1);
    ASSERT_NEAR(out[0], 0.0, 0);
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_STDEV, LC_DTYPE_FLOAT32, 1, 1, 1, 0);
    const float values[] = {2, 4, 4, 4, 5, 5, 7, 9};
    for (size_t i = 0; i < LC_ARRAY_SIZE(values); i++)
        feed_f32(m, &values[i], (const uint8_t[]){1}, 1);
    get_f64(m, 0, out, 1);
    ASSERT_NEAR(out[0], 2.0, 1e-12); /* np.std of the 8 values */
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_COUNT, LC_DTYPE_FLOAT32, 1, 1, 2, 0);
    feed_f32(m, (const float[]){1, 1}, (const uint8_t[]){1, 0}, 2);
    feed_f32(m, (const float[]){1, 1}, (const uint8_t[]){1, 1}, 2);
    uint16_t counts[2];
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(
        lc__mosaic_get(m, LC_DTYPE_UINT16, 9, counts, sizeof(counts), &err),
        LC_OK);
    LC_ASSERT_EQ(counts[0], 2);
    LC_ASSERT_EQ(counts[1], 1);
    /* A count keeps counting: never done by default. */
    LC_ASSERT_TRUE(!lc__mosaic_is_done(m));
    lc__mosaic_free(m);

    /* Zero observations read 0, not the fill; counts saturate. */
    m = make(LC_MOSAIC_COUNT, LC_DTYPE_UINT8, 1, 1, 2, 0);
    struct lc__mosaic_src s = {
        .dtype = LC_DTYPE_UINT8, .width = 1, .height = 1};
    s.data = (const uint8_t[]){1};
    for (int i = 0; i < 70000; i++)
        (void)lc__mosaic_feed(m, &s, &err);
    LC_ASSERT_EQ(
        lc__mosaic_get(m, LC_DTYPE_UINT16, 9, counts, sizeof(counts), &err),
        LC_OK);
    LC_ASSERT_EQ(counts[0], 65535);
    LC_ASSERT_EQ(counts[1], 0);
    lc__mosaic_free(m);
}

static void test_method_table(void)
{
    enum lc_mosaic_method mt = LC_MOSAIC_FIRST;
    struct lc__errbuf err = {0};

    LC_ASSERT_TRUE(!lc__mosaic_requires_float(LC_MOSAIC_FIRST));
    LC_ASSERT_TRUE(!lc__mosaic_requires_float(LC_MOSAIC_HIGHEST));
    LC_ASSERT_TRUE(!lc__mosaic_requires_float(LC_MOSAIC_LOWEST));
    LC_ASSERT_TRUE(!lc__mosaic_requires_float(LC_MOSAIC_COUNT));
    LC_ASSERT_TRUE(lc__mosaic_requires_float(LC_MOSAIC_MEAN));
    LC_ASSERT_TRUE(lc__mosaic_requires_float(LC_MOSAIC_MEDIAN));
    LC_ASSERT_TRUE(lc__mosaic_requires_float(LC_MOSAIC_STDEV));
    LC_ASSERT_STR_EQ(lc__mosaic_method_name(LC_MOSAIC_STDEV), "stdev");
    LC_ASSERT_STR_EQ(lc__mosaic_method_class(LC_MOSAIC_COUNT), "CountMethod");
    LC_ASSERT_TRUE(lc__mosaic_method_name((enum lc_mosaic_method)7) == NULL);
    LC_ASSERT_EQ(lc__mosaic_method_from_name("Median", &mt, &err), LC_OK);
    LC_ASSERT_EQ(mt, LC_MOSAIC_MEDIAN);
    LC_ASSERT_EQ(lc__mosaic_method_from_name("HighestMethod", &mt, &err),
                 LC_OK);
    LC_ASSERT_EQ(mt, LC_MOSAIC_HIGHEST);
    LC_ASSERT_EQ(lc__mosaic_method_from_name("max", &mt, &err), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(err.msg, "unknown mosaic method 'max'") != NULL);

    LC_ASSERT_EQ(lc__mosaic_output_dtype(LC_MOSAIC_FIRST, LC_DTYPE_INT16),
                 LC_DTYPE_INT16);
    LC_ASSERT_EQ(lc__mosaic_output_dtype(LC_MOSAIC_COUNT, LC_DTYPE_FLOAT64),
                 LC_DTYPE_UINT16);
    LC_ASSERT_EQ(lc__mosaic_output_dtype(LC_MOSAIC_MEAN, LC_DTYPE_UINT16),
                 LC_DTYPE_FLOAT32);
    LC_ASSERT_EQ(lc__mosaic_output_dtype(LC_MOSAIC_MEAN, LC_DTYPE_FLOAT32),
                 LC_DTYPE_FLOAT32);
    LC_ASSERT_EQ(lc__mosaic_output_dtype(LC_MOSAIC_MEDIAN, LC_DTYPE_INT32),
                 LC_DTYPE_FLOAT64);
    LC_ASSERT_EQ(lc__mosaic_output_dtype(LC_MOSAIC_STDEV, LC_DTYPE_FLOAT64),
                 LC_DTYPE_FLOAT64);
    LC_ASSERT_EQ(lc__mosaic_output_dtype(LC_MOSAIC_MEAN, LC_DTYPE_UNKNOWN),
                 LC_DTYPE_UNKNOWN);
}

/* ---- coverage ------------------------------------------------------------ */

/* xorshift64*, deterministic across platforms. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static void test_coverage(void)
{
    static const size_t widths[] = {1, 63, 64, 65, 130, 200};

    for (size_t wi = 0; wi < LC_ARRAY_SIZE(widths); wi++) {
        size_t w = widths[wi], h = 7, np = 2;
        size_t bits_nb, counts_nb;
        LC_ASSERT_TRUE(lc__coverage_sizes(w, h, np, &bits_nb, &counts_nb));
        uint64_t *bits = calloc(1, bits_nb);
        uint32_t *counts = calloc(1, counts_nb);
        uint8_t *truth = calloc(np * h * w, 1);
        uint8_t *valid = malloc(w);
        struct lc__coverage c;
        lc__coverage_attach(&c, w, h, np, bits, counts);
        for (int round = 0; round < 40; round++) {
            size_t p = rnd() % np, y = rnd() % h, x0 = rnd() % w;
            size_t n = 1 + rnd() % (w - x0);
            for (size_t i = 0; i < n; i++) {
                valid[i] = rnd() % 4 != 0;
                truth[(p * h + y) * w + x0 + i] |= valid[i];
            }
            lc__coverage_mark_row(&c, p, y, x0, n, valid);
            /* Check the counts and 30 random rectangles against truth. */
            uint64_t total = 0;
            for (size_t i = 0; i < np * h * w; i++)
                total += truth[i];
            LC_ASSERT_UEQ(c.covered, total);
            for (int q = 0; q < 30; q++) {
                size_t qp = rnd() % (np + 1);
                size_t ax = rnd() % (w + 1), bx = rnd() % (w + 1);
                size_t ay = rnd() % (h + 1), by = rnd() % (h + 1);
                size_t xa = ax < bx ? ax : bx, xb = ax < bx ? bx : ax;
                size_t ya = ay < by ? ay : by, yb = ay < by ? by : ay;
                bool want = true;
                for (size_t pp = 0; pp < np; pp++) {
                    if (qp != np && pp != qp)
                        continue;
                    for (size_t yy = ya; yy < yb; yy++)
                        for (size_t xx = xa; xx < xb; xx++)
                            want = want && truth[(pp * h + yy) * w + xx];
                }
                bool got = lc__coverage_rect_full(&c, qp == np ? SIZE_MAX : qp,
                                                  xa, ya, xb, yb);
                if (got != want) {
                    LC_CHECK_FAIL_("w %zu plane %zu [%zu,%zu)x[%zu,%zu): %d", w,
                                   qp, xa, xb, ya, yb, got);
                    break;
                }
            }
        }
        /* Filling everything makes it full; clearing empties it. */
        memset(valid, 1, w);
        for (size_t p = 0; p < np; p++)
            for (size_t y = 0; y < h; y++)
                lc__coverage_mark_row(&c, p, y, 0, w, valid);
        LC_ASSERT_TRUE(lc__coverage_full(&c));
        LC_ASSERT_TRUE(lc__coverage_rect_full(&c, SIZE_MAX, 0, 0, w + 9, 99));
        LC_ASSERT_TRUE(!lc__coverage_rect_full(&c, np, 0, 0, 1, 1));
        lc__coverage_clear(&c);
        LC_ASSERT_UEQ(c.covered, 0);
        LC_ASSERT_TRUE(!lc__coverage_rect_full(&c, 0, 0, 0, 1, 1));
        LC_ASSERT_TRUE(lc__coverage_rect_full(&c, 0, 3, 0, 3, 1)); /* empty */
        free(bits);
        free(counts);
        free(truth);
        free(valid);
    }
}

/* ---- sub-rectangles, bands, strides -------------------------------------- */

static void test_subrect_and_bands(void)
{
    /* A 2-band 4 x 70 chunk fed by two partial items; the first item's
     * source has padded rows and planes. */
    struct lc_mosaic *m = make(LC_MOSAIC_FIRST, LC_DTYPE_INT16, 2, 4, 70, 0);
    int16_t item1[2][3][80]; /* band, row, padded x: covers x 60..69? */
    struct lc__errbuf err = {0};

    for (size_t b = 0; b < 2; b++)
        for (size_t r = 0; r < 3; r++)
            for (size_t x = 0; x < 80; x++)
                item1[b][r][x] = (int16_t)(100 * (b + 1) + 10 * r + x % 10);
    struct lc__mosaic_src s = {.data = item1,
                               .dtype = LC_DTYPE_INT16,
                               .x0 = 60,
                               .y0 = 1,
                               .width = 10,
                               .height = 3,
                               .row_stride = 80,
                               .band_stride = 3 * 80};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    LC_ASSERT_TRUE(
        lc__mosaic_rect_covered(m, LC_MOSAIC_ALL_BANDS, 60, 1, 70, 4));
    LC_ASSERT_TRUE(!lc__mosaic_rect_covered(m, 0, 59, 1, 70, 4));
    LC_ASSERT_TRUE(lc__mosaic_rect_done(m, 1, 62, 2, 64, 3));
    LC_ASSERT_TRUE(!lc__mosaic_is_done(m));

    /* Item 2: band 1 only, everything, value 7 with nodata 7 on row 0. */
    int16_t item2[4][70];
    for (size_t r = 0; r < 4; r++)
        for (size_t x = 0; x < 70; x++)
            item2[r][x] = (int16_t)(r == 0 ? 7 : -1);
    struct lc__mosaic_src s2 = {.data = item2,
                                .dtype = LC_DTYPE_INT16,
                                .band0 = 1,
                                .nbands = 1,
                                .width = 70,
                                .height = 4,
                                .has_nodata = true,
                                .nodata = 7};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s2, &err), LC_OK);
    LC_ASSERT_TRUE(lc__mosaic_rect_covered(m, 1, 0, 1, 70, 4));
    LC_ASSERT_TRUE(!lc__mosaic_rect_covered(m, 1, 0, 0, 70, 1));

    int16_t out[2][4][70];
    LC_ASSERT_EQ(
        lc__mosaic_get(m, LC_DTYPE_INT16, -9999, out, sizeof(out), &err),
        LC_OK);
    LC_ASSERT_EQ(out[0][0][65], -9999);
    LC_ASSERT_EQ(out[0][1][59], -9999);
    LC_ASSERT_EQ(out[0][1][60], 100);
    LC_ASSERT_EQ(out[0][3][69], 129);
    LC_ASSERT_EQ(out[1][2][61], 211);
    LC_ASSERT_EQ(out[1][2][5], -1);
    LC_ASSERT_EQ(out[1][0][5], -9999);
    lc__mosaic_free(m);
}

/* The fill of uncovered pixels goes a run of clear coverage bits at a time
 * (and first's copies a run of values), runs going on across words: every
 * width around a 64-pixel word, every output width of value, fills whose
 * bytes are all one (0, -1: a memset) or not, and coverage patterns with
 * whole words covered, whole words not, runs that cross words and single
 * pixels, checked pixel by pixel. */
static void test_fill_runs(void)
{
    const double fills[] = {77.0, 0.0, -1.0};
    const enum lc_dtype dtypes[] = {LC_DTYPE_UINT8, LC_DTYPE_INT16,
                                    LC_DTYPE_FLOAT32, LC_DTYPE_FLOAT64};
    const size_t widths[] = {1, 2, 63, 64, 65, 127, 128, 129, 200};
    uint32_t seed = 12345;
    for (size_t wi = 0; wi < LC_ARRAY_SIZE(widths); wi++) {
        size_t w = widths[wi];
        for (int pattern = 0; pattern < 6; pattern++) {
            float data[200];
            uint8_t valid[200];
            size_t x = 0;
            while (x < w) {
                /* Runs of 1..80 pixels, alternating; pattern 0 none
                 * valid, 1 all valid, the others random. */
                seed = seed * 1103515245u + 12345u;
                size_t run = 1 + (seed >> 16) % (pattern == 2 ? 3 : 80);
                bool on = pattern == 1 || (pattern > 1 && (seed >> 8) & 1);
                for (size_t k = 0; k < run && x < w; k++, x++) {
                    valid[x] = pattern != 0 && on;
                    data[x] = (float)(x % 50 + 1);
                }
            }
            for (size_t d = 0; d < LC_ARRAY_SIZE(dtypes); d++) {
                for (size_t f = 0; f < LC_ARRAY_SIZE(fills); f++) {
                    /* The fill as the dtype holds it (uint8 saturates -1). */
                    uint8_t fill_bytes[8];
                    double fill;
                    lc__store_f64_row(dtypes[d], &fills[f], 1, fill_bytes);
                    lc__load_f64_row(dtypes[d], fill_bytes, 1, &fill);
                    struct lc_mosaic *m =
                        make(LC_MOSAIC_FIRST, LC_DTYPE_FLOAT32, 1, 1, w, 0);
                    feed_f32(m, data, valid, w);
                    double out_f64[200];
                    uint8_t out[200 * 8];
                    struct lc__errbuf err = {0};
                    LC_ASSERT_EQ(lc__mosaic_get(m, dtypes[d], fills[f], out,
                                                w * lc_dtype_nbytes(dtypes[d]),
                                                &err),
                                 LC_OK);
                    lc__load_f64_row(dtypes[d], out, w, out_f64);
                    for (size_t i = 0; i < w; i++) {
                        double want = valid[i] ? data[i] : fill;
                        if (out_f64[i] != want)
                            LC_CHECK_FAIL_("width %zu pattern %d dtype %d "
                                           "fill %g px %zu: %g != %g",
                                           w, pattern, (int)dtypes[d], fills[f],
                                           i, out_f64[i], want);
                    }
                    lc__mosaic_free(m);
                }
            }
        }
    }
}

/* ---- nodata, NaN, exactness of wide integers ----------------------------- */

static void test_nodata_and_nan(void)
{
    struct lc__errbuf err = {0};

    /* uint8 nodata that uint8 cannot hold matches nothing. */
    static const double no_match[] = {1.5, 256, -1, NAN};
    for (size_t i = 0; i < LC_ARRAY_SIZE(no_match); i++) {
        struct lc_mosaic *m = make(LC_MOSAIC_COUNT, LC_DTYPE_UINT8, 1, 1, 3, 0);
        const uint8_t px[3] = {1, 0, 255};
        struct lc__mosaic_src s = {.data = px,
                                   .dtype = LC_DTYPE_UINT8,
                                   .width = 3,
                                   .height = 1,
                                   .has_nodata = true,
                                   .nodata = no_match[i]};
        LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
        uint16_t c[3];
        LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_UINT16, 0, c, sizeof(c), &err),
                     LC_OK);
        LC_ASSERT_TRUE(c[0] == 1 && c[1] == 1 && c[2] == 1);
        lc__mosaic_free(m);
    }

    /* NaN is never valid; NaN nodata is what masks it. */
    for (int with_nd = 0; with_nd < 2; with_nd++) {
        struct lc_mosaic *m =
            make(LC_MOSAIC_HIGHEST, LC_DTYPE_FLOAT64, 1, 1, 3, 0);
        const double a[3] = {NAN, 1, -5};
        const double b[3] = {2, NAN, -7};
        struct lc__mosaic_src s = {.data = a,
                                   .dtype = LC_DTYPE_FLOAT64,
                                   .width = 3,
                                   .height = 1,
                                   .has_nodata = with_nd,
                                   .nodata = NAN};
        LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
        s.data = b;
        LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
        double out[3];
        get_f64(m, -1, out, 3);
        ASSERT_NEAR(out[0], 2, 0);
        ASSERT_NEAR(out[1], 1, 0);
        ASSERT_NEAR(out[2], -5, 0);
        lc__mosaic_free(m);
    }

    /* float32 nodata compares in float32: 0.1 matches the stored 0.1f. */
    struct lc_mosaic *m = make(LC_MOSAIC_COUNT, LC_DTYPE_FLOAT32, 1, 1, 2, 0);
    const float f[2] = {0.1f, 0.2f};
    struct lc__mosaic_src s = {.data = f,
                               .dtype = LC_DTYPE_FLOAT32,
                               .width = 2,
                               .height = 1,
                               .has_nodata = true,
                               .nodata = 0.1};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    uint16_t c[2];
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_UINT16, 0, c, sizeof(c), &err),
                 LC_OK);
    LC_ASSERT_TRUE(c[0] == 0 && c[1] == 1);
    lc__mosaic_free(m);

    /* uint64 and int64 extremes stay exact through highest/lowest/first. */
    m = make(LC_MOSAIC_HIGHEST, LC_DTYPE_UINT64, 1, 1, 2, 0);
    const uint64_t u1[2] = {UINT64_MAX - 1, 5};
    const uint64_t u2[2] = {UINT64_MAX, UINT64_MAX - 2};
    struct lc__mosaic_src su = {.data = u1,
                                .dtype = LC_DTYPE_UINT64,
                                .width = 2,
                                .height = 1,
                                .has_nodata = true,
                                .nodata = 5};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &su, &err), LC_OK);
    su.data = u2;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &su, &err), LC_OK);
    uint64_t uo[2];
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_UINT64, 0, uo, sizeof(uo), &err),
                 LC_OK);
    LC_ASSERT_UEQ(uo[0], UINT64_MAX);
    LC_ASSERT_UEQ(uo[1], UINT64_MAX - 2);
    lc__mosaic_free(m);

    m = make(LC_MOSAIC_LOWEST, LC_DTYPE_INT64, 1, 1, 1, 0);
    const int64_t i1 = INT64_MIN + 1, i2 = INT64_MIN;
    struct lc__mosaic_src si = {
        .data = &i1, .dtype = LC_DTYPE_INT64, .width = 1, .height = 1};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &si, &err), LC_OK);
    si.data = &i2;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &si, &err), LC_OK);
    int64_t io;
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_INT64, 0, &io, sizeof(io), &err),
                 LC_OK);
    LC_ASSERT_EQ(io, INT64_MIN);
    lc__mosaic_free(m);
}

/* ---- output conversions -------------------------------------------------- */

static void test_conversions(void)
{
    struct lc__errbuf err = {0};

    /* Mean of +inf and -inf is NaN: 0 in an integer output. Means beyond
     * the integer range saturate; the fill saturates too. */
    struct lc_mosaic *m = make(LC_MOSAIC_MEAN, LC_DTYPE_FLOAT64, 1, 1, 4, 0);
    const double a[4] = {INFINITY, 300, -300, 0};
    const double b[4] = {-INFINITY, 300, -300, 0};
    const uint8_t mask[4] = {1, 1, 1, 0};
    struct lc__mosaic_src s = {.data = a,
                               .dtype = LC_DTYPE_FLOAT64,
                               .width = 4,
                               .height = 1,
                               .mask = mask};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    s.data = b;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    uint8_t u8[4];
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_UINT8, 1e9, u8, sizeof(u8), &err),
                 LC_OK);
    LC_ASSERT_TRUE(u8[0] == 0 && u8[1] == 255 && u8[2] == 0 && u8[3] == 255);
    int8_t i8[4];
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_INT8, -1e9, i8, sizeof(i8), &err),
                 LC_OK);
    LC_ASSERT_TRUE(i8[0] == 0 && i8[1] == 127 && i8[2] == -128 &&
                   i8[3] == -128);
    lc__mosaic_free(m);

    /* Integer to integer wraps like numpy's astype; to float rounds. */
    m = make(LC_MOSAIC_FIRST, LC_DTYPE_INT32, 1, 1, 3, 0);
    const int32_t v[3] = {-1, 300, 16777217};
    struct lc__mosaic_src s2 = {
        .data = v, .dtype = LC_DTYPE_INT32, .width = 3, .height = 1};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s2, &err), LC_OK);
    uint8_t w8[3];
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_UINT8, 0, w8, sizeof(w8), &err),
                 LC_OK);
    LC_ASSERT_TRUE(w8[0] == 255 && w8[1] == 44 && w8[2] == 1);
    float f32[3];
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_FLOAT32, 0, f32, sizeof(f32), &err),
                 LC_OK);
    LC_ASSERT_TRUE(f32[0] == -1.0f && f32[1] == 300.0f &&
                   f32[2] == 16777216.0f);
    uint64_t u64[3];
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_UINT64, 0, u64, sizeof(u64), &err),
                 LC_OK);
    LC_ASSERT_UEQ(u64[0], UINT64_MAX);
    /* A buffer one byte short is refused, an unknown dtype too. */
    LC_ASSERT_EQ(
        lc__mosaic_get(m, LC_DTYPE_UINT64, 0, u64, sizeof(u64) - 1, &err),
        LC_ENOSPACE);
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_UNKNOWN, 0, u64, sizeof(u64), &err),
                 LC_EINVAL);
    lc__mosaic_free(m);
}

/* ---- bad arguments, limits, reset ---------------------------------------- */

static void test_errors_and_reset(void)
{
    struct lc__mosaic_options o = {
        .dtype = LC_DTYPE_UINT16, .nbands = 1, .width = 8, .height = 8};
    struct lc_mosaic *m = NULL;
    struct lc__errbuf err = {0};
    size_t nbytes = 0;

    LC_ASSERT_EQ(lc__mosaic_estimate_nbytes(&o, &nbytes, &err), LC_OK);
    LC_ASSERT_TRUE(nbytes > 64 * 2 && nbytes < 4096);
    o.method = (enum lc_mosaic_method)42;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_EINVAL);
    LC_ASSERT_TRUE(m == NULL);
    o.method = LC_MOSAIC_MEDIAN;
    o.dtype = LC_DTYPE_UNKNOWN;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_EINVAL);
    o.dtype = LC_DTYPE_UINT16;
    o.width = 0;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_EINVAL);
    o.width = (size_t)UINT32_MAX + 1;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_EINVAL);
    o.width = SIZE_MAX / 4;
    o.height = SIZE_MAX / 4;
    o.width = UINT32_MAX;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_ELIMIT);
    LC_ASSERT_TRUE(m == NULL);
    o.width = 8;
    o.height = 8;
    o.max_stack_nbytes = 200;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_OK);

    uint16_t px[64];
    for (size_t i = 0; i < 64; i++)
        px[i] = (uint16_t)i;
    struct lc__mosaic_src s = {
        .data = px, .dtype = LC_DTYPE_UINT16, .width = 8, .height = 8};
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK); /* 64 + 128 bytes */
    uint8_t as_u8[64];
    s.dtype = LC_DTYPE_UINT8;
    s.data = as_u8;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(err.msg, "dtype uint8 differs") != NULL);
    s.dtype = LC_DTYPE_UINT16;
    s.data = px;
    s.x0 = 1;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    s.x0 = 0;
    s.band0 = 1;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    s.band0 = 0;
    s.nbands = 2;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    s.nbands = 0;
    s.row_stride = 7;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    s.row_stride = 0;
    s.band_stride = 63;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    s.band_stride = 0;
    s.mask = as_u8;
    s.mask_stride = 3;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    s.mask = NULL;
    s.data = NULL;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_EINVAL);
    s.data = px;
    /* The second full feed would pass the 200-byte cap: refused, and the
     * state is as before. */
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_ELIMIT);
    LC_ASSERT_TRUE(strstr(err.msg, "max_stack_nbytes") != NULL);
    LC_ASSERT_UEQ(lc__mosaic_nfed(m), 1);
    double out[64];
    get_f64(m, 0, out, 64);
    LC_ASSERT_TRUE(out[0] == 0 && out[63] == 63);
    /* A feed with nothing valid holds nothing, so it fits. */
    s.has_nodata = true;
    s.nodata = 0;
    s.height = 1;
    s.y0 = 0;
    for (size_t i = 0; i < 8; i++)
        px[i] = 0;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    /* An empty rectangle is a no-op feed. */
    s.height = 0;
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    LC_ASSERT_UEQ(lc__mosaic_nfed(m), 3);

    lc__mosaic_reset(m);
    LC_ASSERT_UEQ(lc__mosaic_nfed(m), 0);
    LC_ASSERT_TRUE(!lc__mosaic_rect_covered(m, 0, 0, 0, 1, 1));
    LC_ASSERT_EQ(lc__mosaic_get(m, LC_DTYPE_FLOAT64, 0, out, sizeof(out), &err),
                 LC_EINVAL);
    s.height = 8;
    s.has_nodata = false;
    for (size_t i = 0; i < 64; i++)
        px[i] = (uint16_t)(2 * i);
    LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
    get_f64(m, 0, out, 64);
    LC_ASSERT_TRUE(out[0] == 0 && out[63] == 126);
    lc__mosaic_free(m);
    lc__mosaic_free(NULL);
}

/* Every allocation failure returns LC_ENOMEM and leaves a working mosaic;
 * allocations and frees balance. */
struct counting {
    size_t allocs, frees, budget;
};

static void *counting_alloc(void *opaque, size_t nbytes)
{
    struct counting *c = opaque;
    if (c->allocs == c->budget)
        return NULL;
    c->allocs++;
    return malloc(nbytes);
}

static void counting_free(void *opaque, void *ptr)
{
    struct counting *c = opaque;
    c->frees++;
    free(ptr);
}

static void test_allocation_failures(void)
{
    bool finished = false;

    for (size_t budget = 0; !finished && budget < 200; budget++) {
        struct counting c = {.budget = budget};
        struct lc__mosaic_options o = {.method = LC_MOSAIC_MEDIAN,
                                       .dtype = LC_DTYPE_UINT8,
                                       .nbands = 1,
                                       .width = 5,
                                       .height = 3};
        o.allocator = (struct lc_allocator){counting_alloc, counting_free, &c};
        struct lc_mosaic *m = NULL;
        struct lc__errbuf err = {0};
        int status = lc__mosaic_new(&o, &m, &err);
        if (status != LC_OK) {
            LC_ASSERT_EQ(status, LC_ENOMEM);
            LC_ASSERT_UEQ(c.allocs, c.frees);
            continue;
        }
        uint8_t px[15];
        size_t fed = 0;
        for (size_t k = 0; k < 20 && status == LC_OK; k++) {
            for (size_t i = 0; i < 15; i++)
                px[i] = (uint8_t)(k * 10 + i);
            struct lc__mosaic_src s = {
                .data = px, .dtype = LC_DTYPE_UINT8, .width = 5, .height = 3};
            status = lc__mosaic_feed(m, &s, &err);
            fed += status == LC_OK;
        }
        LC_ASSERT_UEQ(lc__mosaic_nfed(m), fed);
        double out[15];
        if (fed > 0) {
            int gs =
                lc__mosaic_get(m, LC_DTYPE_FLOAT64, 0, out, sizeof(out), &err);
            if (gs == LC_OK) {
                /* The median of k*10+i over the k fed is its middle. */
                double want = (double)(fed - 1) * 10 / 2;
                ASSERT_NEAR(out[0], want, 1e-9);
            } else {
                LC_ASSERT_EQ(gs, LC_ENOMEM);
                status = gs;
            }
        }
        finished = status == LC_OK;
        lc__mosaic_free(m);
        LC_ASSERT_UEQ(c.allocs, c.frees);
    }
    LC_ASSERT_TRUE(finished);
}

/* ---- the median selection ------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_median_selection(void)
{
    double v[300], sorted[300];

    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + rnd() % 300;
        unsigned spread = (unsigned)(1 + rnd() % 50); /* many duplicates */
        for (size_t i = 0; i < n; i++)
            v[i] = sorted[i] = (double)(rnd() % spread) - 20;
        qsort(sorted, n, sizeof(double), cmp_double);
        double want =
            n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        double got = lc__median_inplace(v, n);
        if (got != want) {
            LC_CHECK_FAIL_("median of %zu values: %g != %g", n, got, want);
            break;
        }
    }
}

/* ---- oracle mode --------------------------------------------------------- */

/*
 * stdin, little-endian: "LCMO", then int64 method, dtype, nbands, height,
 * width, nitems, exit_when_covered, has_nodata, out_dtype; float64 nodata,
 * fill. Per item: int64 x0, y0, w, h, has_mask; nbands*h*w values; h*w
 * mask bytes if has_mask.
 * stdout: nitems bytes of is_done after each feed, then the result
 * (nbands*height*width values of out_dtype). Exit status 0, or 2 with a
 * message on stderr.
 */
static bool read_exact(void *buf, size_t n)
{
    return fread(buf, 1, n, stdin) == n;
}

static bool read_i64(int64_t *v)
{
    return read_exact(v, sizeof(*v));
}

static int oracle(void)
{
    char magic[4];
    int64_t f[9];
    double nodata, fill;
    struct lc__errbuf err = {0};

    if (!read_exact(magic, 4) || memcmp(magic, "LCMO", 4) != 0)
        return fprintf(stderr, "oracle: bad magic\n"), 2;
    for (size_t i = 0; i < 9; i++)
        if (!read_i64(&f[i]))
            return fprintf(stderr, "oracle: short header\n"), 2;
    if (!read_exact(&nodata, 8) || !read_exact(&fill, 8))
        return fprintf(stderr, "oracle: short header\n"), 2;
    struct lc__mosaic_options o = {0};
    o.method = (enum lc_mosaic_method)f[0];
    o.dtype = (enum lc_dtype)f[1];
    o.nbands = (size_t)f[2];
    o.height = (size_t)f[3];
    o.width = (size_t)f[4];
    size_t nitems = (size_t)f[5];
    o.exit_when_covered = f[6] != 0;
    bool has_nodata = f[7] != 0;
    enum lc_dtype out_dtype = (enum lc_dtype)f[8];
    struct lc_mosaic *m = NULL;
    if (lc__mosaic_new(&o, &m, &err) != LC_OK)
        return fprintf(stderr, "oracle: %s\n", err.msg), 2;
    size_t es = lc_dtype_nbytes(o.dtype);
    uint8_t *done = calloc(nitems + 1, 1);
    size_t cap = o.nbands * o.height * o.width * 8 + o.height * o.width;
    uint8_t *buf = malloc(cap + 1);
    int rc = 0;
    for (size_t k = 0; k < nitems; k++) {
        int64_t r[5];
        for (size_t i = 0; i < 5; i++)
            if (!read_i64(&r[i])) {
                rc = 2;
                break;
            }
        if (rc != 0)
            break;
        size_t w = (size_t)r[2], h = (size_t)r[3];
        size_t nval = o.nbands * w * h;
        if (nval * es + w * h > cap ||
            !read_exact(buf, nval * es + (r[4] ? w * h : 0))) {
            rc = 2;
            break;
        }
        struct lc__mosaic_src s = {.data = buf,
                                   .dtype = o.dtype,
                                   .x0 = (size_t)r[0],
                                   .y0 = (size_t)r[1],
                                   .width = w,
                                   .height = h,
                                   .mask = r[4] ? buf + nval * es : NULL,
                                   .has_nodata = has_nodata,
                                   .nodata = nodata};
        if (lc__mosaic_feed(m, &s, &err) != LC_OK) {
            fprintf(stderr, "oracle: feed %zu: %s\n", k, err.msg);
            rc = 2;
            break;
        }
        done[k] = lc__mosaic_is_done(m);
    }
    size_t out_nbytes =
        o.nbands * o.height * o.width * lc_dtype_nbytes(out_dtype);
    void *out = malloc(out_nbytes + 1);
    if (rc == 0 &&
        lc__mosaic_get(m, out_dtype, fill, out, out_nbytes, &err) != LC_OK) {
        fprintf(stderr, "oracle: get: %s\n", err.msg);
        rc = 2;
    }
    if (rc == 0) {
        fwrite(done, 1, nitems, stdout);
        fwrite(out, 1, out_nbytes, stdout);
    } else if (err.msg[0] == '\0') {
        fprintf(stderr, "oracle: short input\n");
    }
    free(out);
    free(buf);
    free(done);
    lc__mosaic_free(m);
    return rc;
}

/* first, highest and lowest keeping their values in the caller's planes
 * (as the engine keeps them in its output) give what an internal mosaic
 * gives; other methods refuse them. */
static void test_value_planes(void)
{
    static const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {9, 0, 7, 1, 8, 2};
    static const uint8_t va[6] = {1, 0, 1, 0, 0, 1}, vb[6] = {1, 1, 0, 0, 1, 1};
    const enum lc_mosaic_method methods[] = {LC_MOSAIC_FIRST, LC_MOSAIC_HIGHEST,
                                             LC_MOSAIC_LOWEST};
    for (size_t k = 0; k < LC_ARRAY_SIZE(methods); k++) {
        /* Two bands of 2 x 3; planes apart and out of order in memory,
         * holding garbage before the first feed. */
        float mem[20];
        for (size_t i = 0; i < 20; i++)
            mem[i] = -77.0f;
        void *planes[2] = {mem + 12, mem + 2};
        struct lc__mosaic_options o = {.method = methods[k],
                                       .dtype = LC_DTYPE_FLOAT32,
                                       .nbands = 2,
                                       .width = 3,
                                       .height = 2,
                                       .value_planes = planes};
        struct lc_mosaic *m = NULL, *ref = NULL;
        struct lc__errbuf err = {0};
        LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_OK);
        o.value_planes = NULL;
        LC_ASSERT_EQ(lc__mosaic_new(&o, &ref, &err), LC_OK);
        if (m == NULL || ref == NULL)
            goto next;
        for (size_t band = 0; band < 2; band++) {
            for (int f = 0; f < 2; f++) {
                struct lc__mosaic_src s = {.data = f == 0 ? a : b,
                                           .dtype = LC_DTYPE_FLOAT32,
                                           .band0 = band,
                                           .nbands = 1,
                                           .width = 3,
                                           .height = 2,
                                           .mask = f == 0 ? va : vb};
                LC_ASSERT_EQ(lc__mosaic_feed(m, &s, &err), LC_OK);
                LC_ASSERT_EQ(lc__mosaic_feed(ref, &s, &err), LC_OK);
            }
        }
        /* Kept in place: the planes hold the values before any get
         * (pixel 0 is valid in both sources: 1 and 9). */
        LC_ASSERT_TRUE(((float *)planes[0])[0] ==
                       (methods[k] == LC_MOSAIC_HIGHEST ? 9.0f : 1.0f));
        float want[12];
        LC_ASSERT_EQ(
            lc__mosaic_get(ref, LC_DTYPE_FLOAT32, -1, want, sizeof want, &err),
            LC_OK);
        LC_ASSERT_EQ(
            lc__mosaic_get_planes(m, LC_DTYPE_FLOAT32, -1, planes, &err),
            LC_OK);
        for (size_t i = 0; i < 6; i++) {
            LC_ASSERT_TRUE(((float *)planes[0])[i] == want[i]);
            LC_ASSERT_TRUE(((float *)planes[1])[i] == want[6 + i]);
        }
        /* Nothing outside the planes was written. */
        LC_ASSERT_TRUE(mem[0] == -77.0f && mem[1] == -77.0f &&
                       mem[8] == -77.0f && mem[11] == -77.0f &&
                       mem[18] == -77.0f && mem[19] == -77.0f);
    next:
        lc__mosaic_free(m);
        lc__mosaic_free(ref);
    }
    void *planes[1] = {NULL};
    struct lc__mosaic_options o = {.method = LC_MOSAIC_MEAN,
                                   .dtype = LC_DTYPE_FLOAT32,
                                   .nbands = 1,
                                   .width = 1,
                                   .height = 1,
                                   .value_planes = planes};
    struct lc_mosaic *m = NULL;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_EINVAL);
    LC_ASSERT_TRUE(m == NULL);
}

/*
 * Sources fed with their validity as bits (lc__mosaic_valid_bits: how a
 * read's task hands it over) give every method the result of the same
 * sources fed plain: int16 with a nodata value, float32 with NaN, masks
 * or none, rectangles at columns that are not multiples of 64, rows wider
 * apart than the rectangle. And a first source written into the caller's
 * value planes before the feed (a read's first item decoded in place) is
 * only counted: the same result again.
 */
static void test_valid_bits(void)
{
    enum { W = 150, H = 9, NB = 2, NSRC = 4, STRIDE = 160 };
    static int16_t vals[NSRC][NB][H][STRIDE];
    static float fvals[NSRC][NB][H][STRIDE];
    static uint8_t masks[NSRC][H][STRIDE];
    static uint64_t bits[NB * H * 8];
    for (int dt = 0; dt < 2; dt++) {
        enum lc_dtype dtype = dt == 0 ? LC_DTYPE_INT16 : LC_DTYPE_FLOAT32;
        size_t rect[NSRC][4]; /* x0, y0, w, h */
        for (size_t k = 0; k < NSRC; k++) {
            size_t x0 = rnd() % 100, y0 = rnd() % 4;
            rect[k][0] = k == 0 ? 37 : x0;
            rect[k][1] = k == 0 ? 1 : y0;
            rect[k][2] = k == 0 ? W - 37 : 1 + rnd() % (W - x0);
            rect[k][3] = k == 0 ? H - 1 : 1 + rnd() % (H - y0);
            for (size_t b = 0; b < NB; b++)
                for (size_t y = 0; y < H; y++)
                    for (size_t x = 0; x < STRIDE; x++) {
                        int v = (int)(rnd() % 7);
                        vals[k][b][y][x] = (int16_t)(v == 0 ? -9999 : v * 10);
                        fvals[k][b][y][x] = v == 0 ? NAN : (float)v;
                    }
            for (size_t y = 0; y < H; y++)
                for (size_t x = 0; x < STRIDE; x++)
                    masks[k][y][x] = rnd() % 5 != 0;
        }
        for (int method = 0; method < LC_MOSAIC_NMETHODS; method++) {
            enum lc_dtype mdt =
                lc__mosaic_requires_float(method) ? LC_DTYPE_FLOAT32 : dtype;
            if (mdt != dtype)
                continue; /* the float methods: float32 only */
            struct lc_mosaic *plain = make(method, dtype, NB, H, W, false);
            struct lc_mosaic *given = make(method, dtype, NB, H, W, false);
            struct lc__errbuf err = {0};
            for (size_t k = 0; k < NSRC; k++) {
                struct lc__mosaic_src s = {
                    .data = dt == 0 ? (const void *)&vals[k][0][rect[k][1]][0]
                                    : (const void *)&fvals[k][0][rect[k][1]][0],
                    .dtype = dtype,
                    .nbands = NB,
                    .x0 = rect[k][0],
                    .y0 = rect[k][1],
                    .width = rect[k][2],
                    .height = rect[k][3],
                    .row_stride = STRIDE,
                    .band_stride = H * STRIDE,
                    .mask = k % 2 == 1 ? &masks[k][rect[k][1]][0] : NULL,
                    .mask_stride = STRIDE,
                    .has_nodata = dt == 0,
                    .nodata = -9999};
                LC_ASSERT_EQ(lc__mosaic_feed(plain, &s, &err), LC_OK);
                LC_ASSERT_TRUE(lc__mosaic_bits_words(s.x0, s.width) <= 8);
                lc__mosaic_valid_bits(&s, bits);
                s.valid_bits = bits;
                s.mask = (const uint8_t *)"garbage: not looked at";
                s.mask_stride = 0;
                s.has_nodata = false;
                LC_ASSERT_EQ(lc__mosaic_feed(given, &s, &err), LC_OK);
            }
            static double want[NB * H * W], got[NB * H * W];
            LC_ASSERT_EQ(lc__mosaic_get(plain, LC_DTYPE_FLOAT64, -1, want,
                                        sizeof want, &err),
                         LC_OK);
            LC_ASSERT_EQ(lc__mosaic_get(given, LC_DTYPE_FLOAT64, -1, got,
                                        sizeof got, &err),
                         LC_OK);
            size_t differ = 0;
            for (size_t i = 0; i < NB * H * W; i++)
                differ +=
                    !(want[i] == got[i] || (isnan(want[i]) && isnan(got[i])));
            if (differ != 0)
                LC_CHECK_FAIL_("valid bits, %s, dtype %d: %zu values differ",
                               lc__mosaic_method_name(method), dt, differ);
            lc__mosaic_free(plain);
            lc__mosaic_free(given);
        }
    }

    /* First in place: source 0 written into the planes, then fed from
     * there with its bits; source 1 fed as usual. */
    static int16_t planes_mem[NB][H][W];
    void *planes[NB] = {planes_mem[0], planes_mem[1]};
    struct lc__mosaic_options o = {.method = LC_MOSAIC_FIRST,
                                   .dtype = LC_DTYPE_INT16,
                                   .nbands = NB,
                                   .width = W,
                                   .height = H,
                                   .value_planes = planes};
    struct lc_mosaic *m = NULL;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_OK);
    struct lc_mosaic *ref =
        make(LC_MOSAIC_FIRST, LC_DTYPE_INT16, NB, H, W, false);
    if (m == NULL)
        return;
    for (size_t b = 0; b < NB; b++) {
        for (size_t y = 0; y < H; y++)
            for (size_t x = 0; x < W; x++)
                planes_mem[b][y][x] = 555; /* garbage outside the source */
        for (size_t y = 2; y < 7; y++)
            memcpy(&planes_mem[b][y][30], &vals[0][b][y][0], 100 * 2);
        struct lc__mosaic_src in_place = {.data = &planes_mem[b][2][30],
                                          .dtype = LC_DTYPE_INT16,
                                          .band0 = b,
                                          .nbands = 1,
                                          .x0 = 30,
                                          .y0 = 2,
                                          .width = 100,
                                          .height = 5,
                                          .row_stride = W,
                                          .has_nodata = true,
                                          .nodata = -9999};
        struct lc__mosaic_src usual = in_place;
        usual.data = &vals[0][b][2][0];
        usual.row_stride = STRIDE;
        LC_ASSERT_EQ(lc__mosaic_feed(ref, &usual, &err), LC_OK);
        lc__mosaic_valid_bits(&in_place, bits);
        in_place.valid_bits = bits;
        LC_ASSERT_EQ(lc__mosaic_feed(m, &in_place, &err), LC_OK);
    }
    struct lc__mosaic_src second = {.data = &vals[1][0][0][0],
                                    .dtype = LC_DTYPE_INT16,
                                    .width = W,
                                    .height = H,
                                    .row_stride = STRIDE,
                                    .band_stride = H * STRIDE,
                                    .has_nodata = true,
                                    .nodata = -9999};
    LC_ASSERT_EQ(lc__mosaic_feed(ref, &second, &err), LC_OK);
    LC_ASSERT_EQ(lc__mosaic_feed(m, &second, &err), LC_OK);
    static int16_t want16[NB * H * W];
    LC_ASSERT_EQ(
        lc__mosaic_get(ref, LC_DTYPE_INT16, -9999, want16, sizeof want16, &err),
        LC_OK);
    LC_ASSERT_EQ(lc__mosaic_get_planes(m, LC_DTYPE_INT16, -9999, planes, &err),
                 LC_OK);
    LC_ASSERT_TRUE(memcmp(planes_mem, want16, sizeof want16) == 0);
    lc__mosaic_free(m);
    lc__mosaic_free(ref);
}

/*
 * lc__mosaic_take_in_place: the values in the caller's plane at a
 * rectangle taken as fed, every one valid. When the invalid ones already
 * hold the fill, the result equals a feed of the same values with that
 * nodata (rows crossing a 64-bit word of the coverage; what lies outside
 * the rectangle gets the fill); a later first feed leaves the rectangle
 * alone; only first, highest and lowest with caller planes take it.
 */
static void test_take_in_place(void)
{
    enum { W = 70, H = 3, X0 = 5, Y0 = 1, RW = 62, RH = 2 };
    const int16_t nd = -9999;
    int16_t plane[W * H], src[RW * RH];
    for (size_t i = 0; i < RW * RH; i++)
        src[i] = i % 7 == 3 ? nd : (int16_t)(i * 13 % 1000);
    const enum lc_mosaic_method methods[] = {LC_MOSAIC_FIRST, LC_MOSAIC_HIGHEST,
                                             LC_MOSAIC_LOWEST};
    for (size_t k = 0; k < LC_ARRAY_SIZE(methods); k++) {
        for (size_t i = 0; i < W * H; i++)
            plane[i] = 1234; /* garbage outside the rectangle */
        for (size_t y = 0; y < RH; y++)
            memcpy(plane + (Y0 + y) * W + X0, src + y * RW, RW * sizeof *src);
        void *planes[1] = {plane};
        struct lc__mosaic_options o = {.method = methods[k],
                                       .dtype = LC_DTYPE_INT16,
                                       .nbands = 1,
                                       .width = W,
                                       .height = H,
                                       .value_planes = planes};
        struct lc_mosaic *m = NULL, *ref = NULL;
        struct lc__errbuf err = {0};
        LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_OK);
        o.value_planes = NULL;
        LC_ASSERT_EQ(lc__mosaic_new(&o, &ref, &err), LC_OK);
        if (m == NULL || ref == NULL)
            goto next;
        LC_ASSERT_EQ(lc__mosaic_take_in_place(m, 0, X0, Y0, RW, RH, &err),
                     LC_OK);
        LC_ASSERT_UEQ(lc__mosaic_nfed(m), 1);
        LC_ASSERT_TRUE(lc__mosaic_rect_covered(m, 0, X0, Y0, X0 + RW, H));
        LC_ASSERT_TRUE(!lc__mosaic_rect_covered(m, 0, 0, 0, X0 + 1, 1));
        LC_ASSERT_TRUE(!lc__mosaic_rect_covered(m, 0, X0 + RW - 1, Y0, W, H));
        struct lc__mosaic_src s = {.data = src,
                                   .dtype = LC_DTYPE_INT16,
                                   .nbands = 1,
                                   .x0 = X0,
                                   .y0 = Y0,
                                   .width = RW,
                                   .height = RH,
                                   .has_nodata = true,
                                   .nodata = nd};
        LC_ASSERT_EQ(lc__mosaic_feed(ref, &s, &err), LC_OK);
        int16_t want[W * H];
        LC_ASSERT_EQ(
            lc__mosaic_get(ref, LC_DTYPE_INT16, nd, want, sizeof want, &err),
            LC_OK);
        LC_ASSERT_EQ(lc__mosaic_get_planes(m, LC_DTYPE_INT16, nd, planes, &err),
                     LC_OK);
        LC_ASSERT_EQ(memcmp(plane, want, sizeof want), 0);
        if (methods[k] == LC_MOSAIC_FIRST) {
            /* A second source covers the chunk: first keeps the rectangle
             * (its nodata values included) and fills around it. */
            int16_t all[W * H];
            for (size_t i = 0; i < W * H; i++)
                all[i] = 5;
            struct lc__mosaic_src s2 = {.data = all,
                                        .dtype = LC_DTYPE_INT16,
                                        .nbands = 1,
                                        .width = W,
                                        .height = H};
            LC_ASSERT_EQ(lc__mosaic_feed(m, &s2, &err), LC_OK);
            LC_ASSERT_TRUE(lc__mosaic_is_done(m));
            LC_ASSERT_EQ(
                lc__mosaic_get_planes(m, LC_DTYPE_INT16, nd, planes, &err),
                LC_OK);
            for (size_t y = 0; y < H; y++)
                for (size_t x = 0; x < W; x++) {
                    bool in = x >= X0 && x < X0 + RW && y >= Y0;
                    LC_ASSERT_EQ(plane[y * W + x],
                                 in ? src[(y - Y0) * RW + x - X0] : 5);
                }
        }
    next:
        lc__mosaic_free(m);
        lc__mosaic_free(ref);
    }

    /* Refused: a rectangle outside the chunk, a band it does not have, a
     * mosaic that keeps its own values, a method that keeps none. */
    void *planes[1] = {plane};
    struct lc__mosaic_options o = {.method = LC_MOSAIC_FIRST,
                                   .dtype = LC_DTYPE_INT16,
                                   .nbands = 1,
                                   .width = W,
                                   .height = H,
                                   .value_planes = planes};
    struct lc_mosaic *m = NULL;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_OK);
    LC_ASSERT_EQ(lc__mosaic_take_in_place(m, 0, X0, Y0, W, 1, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__mosaic_take_in_place(m, 0, 0, H, 1, 1, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__mosaic_take_in_place(m, 1, 0, 0, 1, 1, &err), LC_EINVAL);
    LC_ASSERT_UEQ(lc__mosaic_nfed(m), 0);
    lc__mosaic_free(m);
    o.value_planes = NULL;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_OK);
    LC_ASSERT_EQ(lc__mosaic_take_in_place(m, 0, 0, 0, 1, 1, &err), LC_EINVAL);
    lc__mosaic_free(m);
    o.method = LC_MOSAIC_MEAN;
    LC_ASSERT_EQ(lc__mosaic_new(&o, &m, &err), LC_OK);
    LC_ASSERT_EQ(lc__mosaic_take_in_place(m, 0, 0, 0, 1, 1, &err), LC_EINVAL);
    lc__mosaic_free(m);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--oracle") == 0)
        return oracle();
    test_contract();
    test_first();
    test_highest_lowest();
    test_mean();
    test_median_stdev_count();
    test_method_table();
    test_coverage();
    test_subrect_and_bands();
    test_fill_runs();
    test_nodata_and_nan();
    test_conversions();
    test_errors_and_reset();
    test_allocation_failures();
    test_median_selection();
    test_value_planes();
    test_valid_bits();
    test_take_in_place();
    LC_TEST_END();
}
