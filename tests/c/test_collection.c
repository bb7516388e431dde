/* test_collection.c - lc_collection_open: option checks, a small NDJSON
 * catalogue over the good TIFFs of tests/data (bands, time steps, dtype
 * and nodata, the reference's messages), and every allocation failure. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include "../../src/engine/collection.h"
#include "../../src/engine/header_cache.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- the catalogue ------------------------------------------------------ */

/* Written to a temporary file by write_catalog; %1$s is the directory of
 * the good TIFFs. Item e lies outside the test bbox; item f has no time;
 * item g's u16 asset is missing and h's has an empty href. */
static const char catalog_fmt[] =
    "{\"type\":\"Feature\",\"id\":\"a\",\"bbox\":[-93.4,45.1,-92.9,45.6],"
    "\"geometry\":null,\"properties\":{\"datetime\":\"2025-06-03T10:00:00Z\","
    "\"cc\":5},\"assets\":{"
    "\"thumb\":{\"href\":\"%1$s/thumb.jpg\",\"type\":\"image/jpeg\","
    "\"roles\":[\"thumbnail\"]},"
    "\"u16\":{\"href\":\"%1$s/small_deflate_pred2_u16.tif\","
    "\"roles\":[\"data\"]},"
    "\"rgb\":{\"href\":\"%1$s/small_jpeg_rgb.tif\","
    "\"type\":\"image/tiff; application=geotiff\",\"roles\":[\"visual\"]}}}\n"
    "{\"type\":\"Feature\",\"id\":\"b\",\"bbox\":[-93.0,45.3,-92.6,45.9],"
    "\"geometry\":null,\"properties\":{\"datetime\":\"2025-06-03T11:00:00Z\","
    "\"cc\":1},\"assets\":{"
    "\"u16\":{\"href\":\"%1$s/small_deflate_pred2_u16.tif\","
    "\"roles\":[\"data\"]},"
    "\"rgb\":{\"href\":\"%1$s/small_jpeg_rgb.tif\","
    "\"type\":\"image/tiff; application=geotiff\",\"roles\":[\"visual\"]}}}\n"
    "{\"type\":\"Feature\",\"id\":\"c\",\"bbox\":[-93.4,45.1,-92.9,45.6],"
    "\"geometry\":null,\"properties\":{\"datetime\":\"2025-06-04T10:00:00Z\","
    "\"cc\":9},\"assets\":{"
    "\"u16\":{\"href\":\"%1$s/small_deflate_pred2_u16.tif\","
    "\"roles\":[\"data\"]}}}\n"
    "{\"type\":\"Feature\",\"id\":\"d\",\"bbox\":[-93.4,45.1,-92.9,45.6],"
    "\"geometry\":null,\"properties\":{\"datetime\":null,"
    "\"start_datetime\":\"2025-06-05T00:00:00Z\","
    "\"end_datetime\":\"2025-06-06T00:00:00Z\"},\"assets\":{"
    "\"u16\":{\"href\":\"%1$s/small_deflate_pred2_u16.tif\","
    "\"roles\":[\"data\"]}}}\n"
    "{\"type\":\"Feature\",\"id\":\"e\",\"bbox\":[10,10,11,11],"
    "\"geometry\":null,\"properties\":{\"datetime\":\"2025-06-03T10:00:00Z\"},"
    "\"assets\":{\"u16\":{\"href\":\"%1$s/small_deflate_pred2_u16.tif\"}}}\n"
    "{\"type\":\"Feature\",\"id\":\"f\",\"bbox\":[-93.4,45.1,-92.9,45.6],"
    "\"geometry\":null,\"properties\":{\"datetime\":null},\"assets\":{"
    "\"u16\":{\"href\":\"%1$s/small_deflate_pred2_u16.tif\"}}}\n"
    "{\"type\":\"Feature\",\"id\":\"g\",\"bbox\":[-93.4,45.1,-92.9,45.6],"
    "\"geometry\":null,\"properties\":{\"datetime\":\"2025-06-07T10:00:00Z\"},"
    "\"assets\":{\"u16\":{\"href\":\"%1$s/missing.tif\"}}}\n"
    "{\"type\":\"Feature\",\"id\":\"h\",\"bbox\":[-93.4,45.1,-92.9,45.6],"
    "\"geometry\":null,\"properties\":{\"datetime\":\"2025-06-08T10:00:00Z\"},"
    "\"assets\":{\"u16\":{\"href\":\"\"}}}\n";

static char catalog[256];

static void write_catalog(const char *good_dir)
{
    snprintf(catalog, sizeof catalog, "/tmp/lc_test_collection_XXXXXX");
    int fd = mkstemp(catalog);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        perror("mkstemp");
        exit(EXIT_FAILURE);
    }
    fprintf(f, catalog_fmt, good_dir);
    fclose(f);
}

/* ---- helpers ------------------------------------------------------------ */

static const char *const ids_abcd[] = {"a", "b", "c", "d", "f"};

static struct lc_collection_options options(void)
{
    struct lc_collection_options o = {
        .struct_size = sizeof o,
        .crs = "EPSG:4326",
        .bbox = {-93.5, 45.0, -92.5, 46.0},
        .resolution = 0.004, /* 250 x 250 */
        .ids = ids_abcd,
        .nids = LC_ARRAY_SIZE(ids_abcd),
    };
    return o;
}

/* Opens the catalogue, expecting status; on failure also checks that the
 * message contains want (when not NULL). Returns the collection or NULL. */
static struct lc_collection *open_expect(const struct lc_collection_options *o,
                                         int status, const char *want, int line)
{
    struct lc_collection *c = (struct lc_collection *)&c; /* not NULL */
    int got = lc_collection_open(catalog, o, &c);
    if (got != status)
        LC_CHECK_FAIL_("line %d: status %s, want %s (%s)", line,
                       lc_err_name(got), lc_err_name(status), lc_errmsg());
    if (got < 0 && c != NULL)
        LC_CHECK_FAIL_("line %d: failed open left a handle", line);
    if (got < 0 && want != NULL && strstr(lc_errmsg(), want) == NULL)
        LC_CHECK_FAIL_("line %d: message \"%s\" lacks \"%s\"", line,
                       lc_errmsg(), want);
    return got == LC_OK ? c : NULL;
}
#define OPEN_OK(o) open_expect((o), LC_OK, NULL, __LINE__)
#define OPEN_FAIL(o, want)                                                     \
    lc_collection_close(open_expect((o), LC_EINVAL, (want), __LINE__))

static struct lc_collection_info info_of(const struct lc_collection *c)
{
    struct lc_collection_info info = {.struct_size = sizeof info};
    LC_ASSERT_EQ(lc_collection_get_info(c, &info), LC_OK);
    return info;
}

/* ---- tests -------------------------------------------------------------- */

static void test_bad_options(void)
{
    struct lc_collection_options o = options();
    struct lc_collection *c = NULL;

    LC_ASSERT_EQ(lc_collection_open(NULL, &o, &c), LC_EINVAL);
    LC_ASSERT_EQ(lc_collection_open(catalog, NULL, &c), LC_EINVAL);
    LC_ASSERT_EQ(lc_collection_open(catalog, &o, NULL), LC_EINVAL);
    LC_ASSERT_TRUE(c == NULL);

    o.struct_size = sizeof o - 8;
    OPEN_FAIL(&o, "unknown size");
    o = options();
    o.crs = NULL;
    OPEN_FAIL(&o, "crs is required");
    o = options();
    o.crs = "EPSG:999999";
    OPEN_FAIL(&o, "not a CRS");
    o = options();
    o.bbox[2] = NAN;
    OPEN_FAIL(&o, "not finite");
    o = options();
    o.bbox[1] = 47.0;
    OPEN_FAIL(&o, "miny <= maxy");
    const double bad_res[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < LC_ARRAY_SIZE(bad_res); i++) {
        o = options();
        o.resolution = bad_res[i];
        OPEN_FAIL(&o, "resolution must be a positive number");
    }
    static const char *const empty[] = {""};
    o = options();
    o.bands = empty;
    o.nbands = 0;
    OPEN_FAIL(&o, "bands is an empty list");
    o.nbands = 1;
    OPEN_FAIL(&o, "bands[0] is NULL or empty");
    o = options();
    o.ids = NULL;
    OPEN_FAIL(&o, "ids is NULL");
    o = options();
    o.dtype = (enum lc_dtype)42;
    OPEN_FAIL(&o, "unknown dtype");
    o = options();
    o.mosaic_method = (enum lc_mosaic_method)7;
    OPEN_FAIL(&o, "unknown mosaic method");
    o = options();
    o.errors = (enum lc_errors_policy)2;
    OPEN_FAIL(&o, "errors must be");
    o = options();
    o.resampling = "lanczos";
    OPEN_FAIL(&o, "Unsupported resampling 'lanczos'");
    /* The reference's messages. */
    o = options();
    o.time_period = "P2M";
    OPEN_FAIL(&o, "Unsupported time_period 'P2M'. Supported values: None, "
                  "'P1D', 'PnD' (n>1), 'P1W', 'P1M', 'P1Y', and 'PTnH' "
                  "(n>=1).");
    o = options();
    o.mosaic_method = LC_MOSAIC_MEDIAN;
    o.dtype = LC_DTYPE_INT16;
    OPEN_FAIL(&o, "MedianMethod requires a floating-point dtype, but got "
                  "explicit dtype int16. Pass dtype='float32' or "
                  "dtype='float64', or omit dtype= to let lazycogs choose a "
                  "float dtype automatically.");
    /* None of these left anything behind. */
    lc_collection_close(NULL);
}

static void test_open(void)
{
    struct lc_collection_options o = options();
    struct lc_collection *c = OPEN_OK(&o);
    if (c == NULL)
        return;
    struct lc_collection_info info = info_of(c);
    LC_ASSERT_UEQ(info.width, 250);
    LC_ASSERT_UEQ(info.height, 250);
    LC_ASSERT_TRUE(info.transform[0] == 0.004 && info.transform[2] == -93.5 &&
                   info.transform[4] == -0.004 && info.transform[5] == 46.0 &&
                   info.transform[1] == 0.0 && info.transform[3] == 0.0);
    LC_ASSERT_EQ(info.epsg, 4326);
    LC_ASSERT_TRUE(info.crs_wkt != NULL &&
                   strncmp(info.crs_wkt, "GEOGCRS[", 8) == 0);
    /* Bands: the data assets, thumbnail left out. */
    LC_ASSERT_UEQ(info.nbands, 2);
    LC_ASSERT_STR_EQ(lc_collection_band(c, 0), "u16");
    LC_ASSERT_STR_EQ(lc_collection_band(c, 1), "rgb");
    LC_ASSERT_TRUE(lc_collection_band(c, 2) == NULL);
    /* u16 + u8 -> u16; neither file has a nodata. */
    LC_ASSERT_EQ(info.dtype, LC_DTYPE_UINT16);
    LC_ASSERT_EQ(info.has_nodata, 0);
    LC_ASSERT_EQ(info.dtype_explicit, 0);
    LC_ASSERT_EQ(info.nodata_explicit, 0);
    /* a, b on June 3; c; d by its start; f has no time. */
    LC_ASSERT_UEQ(info.nitems, 4);
    LC_ASSERT_UEQ(info.ntimes, 3);
    static const char *const labels[] = {"2025-06-03", "2025-06-04",
                                         "2025-06-05"};
    static const size_t counts[] = {2, 1, 1};
    for (size_t t = 0; t < 3; t++) {
        struct lc_time_step s = {.struct_size = sizeof s};
        LC_ASSERT_EQ(lc_collection_get_time(c, t, &s), LC_OK);
        LC_ASSERT_STR_EQ(s.label, labels[t]);
        LC_ASSERT_STR_EQ(s.filter, labels[t]);
        LC_ASSERT_UEQ(s.nitems, counts[t]);
        LC_ASSERT_EQ(s.coord_unit, 0);
        LC_ASSERT_EQ(s.coord, 1748908800 + 86400 * (int64_t)t);
    }
    struct lc_time_step s = {.struct_size = sizeof s};
    LC_ASSERT_EQ(lc_collection_get_time(c, 3, &s), LC_EINVAL);
    s.struct_size = 8;
    LC_ASSERT_EQ(lc_collection_get_time(c, 0, &s), LC_EINVAL);
    struct lc_collection_info bad = {.struct_size = 8};
    LC_ASSERT_EQ(lc_collection_get_info(c, &bad), LC_EINVAL);
    /* Internals the reader relies on: step items ascending in sort
     * order, step_of consistent, the R-tree over every item. */
    LC_ASSERT_UEQ(lc__rtree_nitems(c->rtree), c->nitems);
    for (size_t t = 0; t < c->ntimes; t++)
        for (size_t j = 0; j < c->steps[t].count; j++) {
            size_t k = c->step_items[c->steps[t].first + j];
            LC_ASSERT_UEQ(c->step_of[k], t);
            if (j > 0)
                LC_ASSERT_TRUE(k > c->step_items[c->steps[t].first + j - 1]);
        }
    LC_ASSERT_EQ(c->max_concurrent_reads, 32);
    LC_ASSERT_TRUE(c->nthreads >= 1);
    lc_collection_close(c);

    /* Exact grouping: one step per instant, ns coordinates. */
    o.time_period = "none";
    c = OPEN_OK(&o);
    if (c != NULL) {
        LC_ASSERT_UEQ(info_of(c).ntimes, 4);
        LC_ASSERT_EQ(lc_collection_get_time(c, 1, &s), LC_EINVAL);
        s.struct_size = sizeof s;
        LC_ASSERT_EQ(lc_collection_get_time(c, 1, &s), LC_OK);
        LC_ASSERT_STR_EQ(s.label, "2025-06-03T11:00:00Z");
        LC_ASSERT_EQ(s.coord_unit, 1);
        LC_ASSERT_EQ(s.coord, (1748908800 + 11 * 3600) * INT64_C(1000000000));
        lc_collection_close(c);
    }
}

static void test_selection_and_contract(void)
{
    struct lc_collection_options o = options();
    struct lc_collection *c;

    /* sortby decides the first item, whose assets are the bands: c has
     * only u16. */
    o.sortby = "-cc";
    c = OPEN_OK(&o);
    if (c != NULL) {
        LC_ASSERT_UEQ(info_of(c).nbands, 1);
        LC_ASSERT_STR_EQ(c->items->ids[c->item[0]], "c");
        lc_collection_close(c);
    }
    o = options();
    o.filter = "cc < 6";
    o.datetime = "2025-06-03";
    c = OPEN_OK(&o);
    if (c != NULL) {
        LC_ASSERT_UEQ(info_of(c).nitems, 2);
        LC_ASSERT_UEQ(info_of(c).ntimes, 1);
        lc_collection_close(c);
    }
    /* Explicit bands keep their order; missing ones are named. */
    static const char *const rgb_u16[] = {"rgb", "u16"};
    o = options();
    o.bands = rgb_u16;
    o.nbands = 2;
    o.nodata = -1.0;
    o.has_nodata = 1;
    c = OPEN_OK(&o);
    if (c != NULL) {
        LC_ASSERT_STR_EQ(lc_collection_band(c, 0), "rgb");
        struct lc_collection_info info = info_of(c);
        LC_ASSERT_TRUE(info.has_nodata && info.nodata == -1.0 &&
                       info.nodata_explicit);
        lc_collection_close(c);
    }
    static const char *const missing[] = {"nope", "u16", "zip"};
    o.bands = missing;
    o.nbands = 3;
    OPEN_FAIL(&o, "Requested bands ['nope', 'zip'] were not present on the "
                  "first matching item.");

    /* Methods: float-only over integers -> float32; count -> uint16. */
    static const struct {
        enum lc_mosaic_method method;
        enum lc_dtype dtype, want;
    } cases[] = {
        {LC_MOSAIC_MEAN, LC_DTYPE_UNKNOWN, LC_DTYPE_FLOAT32},
        {LC_MOSAIC_STDEV, LC_DTYPE_FLOAT64, LC_DTYPE_FLOAT64},
        {LC_MOSAIC_COUNT, LC_DTYPE_UNKNOWN, LC_DTYPE_UINT16},
        {LC_MOSAIC_HIGHEST, LC_DTYPE_INT32, LC_DTYPE_INT32},
    };
    for (size_t i = 0; i < LC_ARRAY_SIZE(cases); i++) {
        o = options();
        o.mosaic_method = cases[i].method;
        o.dtype = cases[i].dtype;
        c = OPEN_OK(&o);
        if (c != NULL) {
            LC_ASSERT_EQ(info_of(c).dtype, cases[i].want);
            LC_ASSERT_EQ(info_of(c).dtype_explicit,
                         cases[i].dtype != LC_DTYPE_UNKNOWN);
            lc_collection_close(c);
        }
    }

    /* Nothing matches: the reference's message. */
    o = options();
    o.bbox[0] = 0.0;
    o.bbox[1] = 0.0;
    o.bbox[2] = 1.0;
    o.bbox[3] = 1.0;
    char want[400];
    snprintf(want, sizeof want,
             "No STAC items matched the query in '%s' (bbox=[0.0, 0.0, "
             "1.0, 1.0], datetime=None).",
             catalog);
    OPEN_FAIL(&o, want);
    o = options();
    o.datetime = "2030-01-01/..";
    OPEN_FAIL(&o, "datetime=2030-01-01/..).");
    /* Only f (no time) selected: no time step either. */
    static const char *const only_f[] = {"f"};
    o = options();
    o.ids = only_f;
    o.nids = 1;
    OPEN_FAIL(&o, "No STAC items matched");

    /* The first item's asset cannot be opened, or has an empty href. */
    static const char *const only_g[] = {"g"};
    o.ids = only_g;
    c = open_expect(&o, LC_ENOTFOUND, "Store cannot open '", __LINE__);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "missing.tif") != NULL);
    lc_collection_close(c);
    static const char *const only_h[] = {"h"};
    o.ids = only_h;
    OPEN_FAIL(&o, "Asset 'u16' on the first matching item does not have an "
                  "href.");
}

/* ---- allocation failures ------------------------------------------------ */

static void test_allocation_failures(void)
{
    struct lc_collection_options o = options();
    o.filter = "cc >= 0 or cc is null";
    o.sortby = "datetime";
    size_t n;
    for (n = 0; n < 100000; n++) {
        struct lc_test_failing f = {.fail_at = n};
        struct lc_allocator a = {lc_test_failing_alloc, lc_test_failing_free,
                                 &f};
        struct lc__errbuf err = {0};
        struct lc_collection *c = NULL;
        int status = lc__collection_open(catalog, &o, &a, &c, &err);
        if (status == LC_OK) {
            LC_ASSERT_UEQ(c->ntimes, 3);
            LC_ASSERT_UEQ(c->nbands, 2);
        }
        lc_collection_close(c);
        if (f.live != 0)
            LC_CHECK_FAIL_("failing allocation %zu leaves %zu blocks", n,
                           f.live);
        if (status == LC_OK)
            break;
        if (status != LC_ENOMEM) {
            LC_CHECK_FAIL_("failing allocation %zu gave %s (%s)", n,
                           lc_err_name(status), err.msg);
            break;
        }
    }
    LC_ASSERT_TRUE(n > 10 && n < 100000);
    fprintf(stderr, "open succeeded after %zu failing allocations\n", n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_collection TESTS_DATA_GOOD_DIR\n");
        return EXIT_FAILURE;
    }
    write_catalog(argv[1]);
    test_bad_options();
    test_open();
    test_selection_and_contract();
    test_allocation_failures();
    unlink(catalog);
    lc__header_cache_clear();
    lc__geo_thread_cleanup();
    LC_TEST_END();
}
