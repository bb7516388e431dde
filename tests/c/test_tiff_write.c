/* test_tiff_write.c - the GeoTIFF writer (lc_tiff_writer_*) through the
 * public API: images of every dtype, pixel- and band-interleaved, deflate
 * with and without predictor, uncompressed, classic and BigTIFF, written
 * in one call or window by window, read back through lc_cog_open and
 * compared bit for bit, with their georeferencing; and every error.
 * tests/python/test_cli_read.py checks the files with GDAL (rasterio). */
/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#define LC_EXPERIMENTAL 1
#include "lazycogs.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static char g_dir[256];

static uint64_t g_rng = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void)
{
    /* xorshift64*: deterministic, so a failure can be replayed */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545f4914f6cdd1du;
}

/* Fills n values of dtype: smooth ramps with noise (what the predictors
 * are for), and for floats some NaN, infinities, -0 and subnormals. */
static void fill(void *data, enum lc_dtype dtype, size_t n, uint32_t width)
{
    size_t sz = lc_dtype_nbytes(dtype);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_random();
        double ramp = (double)(i % width) * 3 + (double)(i / width) * 0.5;
        uint8_t *p = (uint8_t *)data + i * sz;
        if (dtype == LC_DTYPE_FLOAT32 || dtype == LC_DTYPE_FLOAT64) {
            double v = ramp + (double)(r % 1000) / 1000.0;
            switch (r >> 60) {
            case 0:
                v = NAN;
                break;
            case 1:
                v = (r & 1) ? INFINITY : -INFINITY;
                break;
            case 2:
                v = -0.0;
                break;
            case 3:
                v = dtype == LC_DTYPE_FLOAT32 ? 1e-40 : 1e-310;
                break;
            default:
                break;
            }
            if (dtype == LC_DTYPE_FLOAT32) {
                float f = (float)v;
                memcpy(p, &f, 4);
            } else {
                memcpy(p, &v, 8);
            }
        } else {
            /* the low bytes of a ramp plus noise; the whole range of the
             * type is reached through the wraparound of the high bits */
            uint64_t v = (uint64_t)ramp + (r & 7) + ((r >> 32) << 40);
            memcpy(p, &v, sz); /* little-endian hosts: the low bytes */
        }
    }
}

struct spec {
    const char *name;
    enum lc_dtype dtype;
    uint32_t width, height, nbands;
    uint32_t tile; /* 0: default 256 */
    int planar, uncompressed, no_predictor, bigtiff;
    size_t nthreads;
    uint32_t window; /* write windows of this many tiles' pixels; 0: one */
};

/* Writes spec's image, reads it back, compares. */
static void roundtrip(const struct spec *s)
{
    char path[512];
    size_t sz = lc_dtype_nbytes(s->dtype);
    size_t plane = (size_t)s->width * s->height;
    size_t nbytes = plane * s->nbands * sz;
    uint8_t *data = malloc(nbytes), *back = malloc(nbytes);
    uint8_t *win = malloc(nbytes);
    LC_ASSERT_TRUE(data != NULL && back != NULL && win != NULL);
    if (data == NULL || back == NULL || win == NULL)
        goto out;
    fill(data, s->dtype, plane * s->nbands, s->width);
    (void)snprintf(path, sizeof path, "%s/%s.tif", g_dir, s->name);

    const char *desc[3] = {"red", "green & <blue>", "nir"};
    struct lc_tiff_writer_options o = {.struct_size = sizeof o};
    o.width = s->width;
    o.height = s->height;
    o.nbands = s->nbands;
    o.dtype = s->dtype;
    o.tile_width = o.tile_height = s->tile;
    o.planar = s->planar;
    o.uncompressed = s->uncompressed;
    o.no_predictor = s->no_predictor;
    o.bigtiff = s->bigtiff;
    o.nthreads = s->nthreads;
    o.has_transform = 1;
    double t[6] = {30, 0, 499980, 0, -30, 5300040};
    memcpy(o.transform, t, sizeof t);
    o.epsg = 32615;
    o.has_nodata = 1;
    o.nodata = s->dtype == LC_DTYPE_FLOAT32 ? NAN : 7;
    o.band_descriptions = s->nbands <= 3 ? desc : NULL;

    struct lc_tiff_writer *w = NULL;
    int status = lc_tiff_writer_open(path, &o, &w);
    LC_ASSERT_EQ(status, LC_OK);
    if (status != LC_OK) {
        fprintf(stderr, "%s: %s\n", s->name, lc_errmsg());
        goto out;
    }
    uint32_t tile = s->tile > 0 ? s->tile : 256;
    uint32_t step = s->window > 0 ? s->window * tile : UINT32_MAX;
    /* Windows bottom-up, right to left: the order must not matter. */
    for (uint32_t y0 = (s->height - 1) / step * step;; y0 -= step) {
        for (uint32_t x0 = (s->width - 1) / step * step;; x0 -= step) {
            uint32_t ww = s->width - x0 < step ? s->width - x0 : step;
            uint32_t wh = s->height - y0 < step ? s->height - y0 : step;
            for (uint32_t b = 0; b < s->nbands; b++)
                for (uint32_t y = 0; y < wh; y++)
                    memcpy(win + (((size_t)b * wh + y) * ww) * sz,
                           data +
                               (b * plane + (size_t)(y0 + y) * s->width + x0) *
                                   sz,
                           ww * sz);
            status = lc_tiff_writer_write(w, x0, y0, ww, wh, win,
                                          (size_t)ww * wh * s->nbands * sz);
            LC_ASSERT_EQ(status, LC_OK);
            if (status != LC_OK)
                fprintf(stderr, "%s: %s\n", s->name, lc_errmsg());
            if (x0 == 0)
                break;
        }
        if (y0 == 0)
            break;
    }
    LC_ASSERT_EQ(lc_tiff_writer_finish(w), LC_OK);
    lc_tiff_writer_close(w);

    struct lc_cog *cog = NULL;
    status = lc_cog_open(path, &cog);
    LC_ASSERT_EQ(status, LC_OK);
    if (status != LC_OK) {
        fprintf(stderr, "%s: %s\n", s->name, lc_errmsg());
        goto out;
    }
    struct lc_cog_info info = {.struct_size = sizeof info};
    LC_ASSERT_EQ(lc_cog_get_info(cog, &info), LC_OK);
    LC_ASSERT_UEQ(info.width, s->width);
    LC_ASSERT_UEQ(info.height, s->height);
    LC_ASSERT_UEQ(info.samples, s->nbands);
    LC_ASSERT_EQ(info.dtype, s->dtype);
    LC_ASSERT_UEQ(info.block_width, tile);
    LC_ASSERT_UEQ(info.block_height, tile);
    LC_ASSERT_EQ(info.tiled, 1);
    LC_ASSERT_EQ(info.planar_separate, s->planar && s->nbands > 1);
    LC_ASSERT_UEQ(info.compression, s->uncompressed ? 1 : 8);
    bool is_float =
        s->dtype == LC_DTYPE_FLOAT32 || s->dtype == LC_DTYPE_FLOAT64;
    LC_ASSERT_UEQ(info.predictor, s->uncompressed || s->no_predictor ? 1
                                  : is_float                         ? 3
                                                                     : 2);
    LC_ASSERT_EQ(info.bigtiff, s->bigtiff);
    LC_ASSERT_EQ(info.epsg, 32615);
    LC_ASSERT_STR_EQ(info.crs, "EPSG:32615");
    LC_ASSERT_EQ(info.pixel_is_point, 0);
    LC_ASSERT_EQ(info.georef, LC_GEOREF_TIEPOINT);
    double gdal[6] = {499980, 30, 0, 5300040, 0, -30};
    LC_ASSERT_MEM_EQ(info.geotransform, gdal, sizeof gdal);
    LC_ASSERT_EQ(info.has_nodata, 1);
    if (s->dtype == LC_DTYPE_FLOAT32)
        LC_ASSERT_TRUE(isnan(info.nodata));
    else
        LC_ASSERT_TRUE(info.nodata == 7);
    LC_ASSERT_UEQ(info.nlevels, 1);

    struct lc_window all = {0, 0, s->width, s->height};
    memset(back, 0xA5, nbytes);
    status = lc_cog_read_window(cog, 0, &all, NULL, 0, back, nbytes);
    LC_ASSERT_EQ(status, LC_OK);
    if (status != LC_OK)
        fprintf(stderr, "%s: %s\n", s->name, lc_errmsg());
    if (memcmp(back, data, nbytes) != 0)
        LC_CHECK_FAIL_("%s: pixels read back differ", s->name);
    lc_cog_close(cog);
out:
    free(data);
    free(back);
    free(win);
}

/* Tiles never written read back as the nodata value. */
static void test_sparse(void)
{
    char path[512];
    (void)snprintf(path, sizeof path, "%s/sparse.tif", g_dir);
    struct lc_tiff_writer_options o = {.struct_size = sizeof o};
    o.width = 40;
    o.height = 20;
    o.nbands = 1;
    o.dtype = LC_DTYPE_UINT16;
    o.tile_width = o.tile_height = 16;
    o.has_nodata = 1;
    o.nodata = 9;
    o.has_transform = 1;
    double t[6] = {0.5, 0, -10, 0, -0.5, 50};
    memcpy(o.transform, t, sizeof t);
    o.epsg = 4326;
    struct lc_tiff_writer *w = NULL;
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &o, &w), LC_OK);
    uint16_t ones[16 * 16];
    for (size_t i = 0; i < 256; i++)
        ones[i] = 1;
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 16, 0, 16, 16, ones, sizeof ones),
                 LC_OK);
    LC_ASSERT_EQ(lc_tiff_writer_finish(w), LC_OK);
    lc_tiff_writer_close(w);

    struct lc_cog *cog = NULL;
    LC_ASSERT_EQ(lc_cog_open(path, &cog), LC_OK);
    if (cog == NULL)
        return;
    struct lc_cog_info info = {.struct_size = sizeof info};
    (void)lc_cog_get_info(cog, &info);
    LC_ASSERT_EQ(info.epsg, 4326); /* a geographic CRS */
    LC_ASSERT_TRUE(info.geotransform[0] == -10 && info.geotransform[3] == 50);
    uint16_t back[40 * 20];
    struct lc_window all = {0, 0, 40, 20};
    LC_ASSERT_EQ(lc_cog_read_window(cog, 0, &all, NULL, 0, back, sizeof back),
                 LC_OK);
    for (uint32_t y = 0; y < 20; y++)
        for (uint32_t x = 0; x < 40; x++)
            if (back[y * 40 + x] != (x >= 16 && x < 32 && y < 16 ? 1 : 9)) {
                LC_CHECK_FAIL_("sparse: pixel %u,%u is %u", x, y,
                               back[y * 40 + x]);
                y = 20;
                break;
            }
    lc_cog_close(cog);
}

/* An image that could pass 4 GiB is BigTIFF by itself; one written
 * tile of it reads back, the unwritten ones as 0. */
static void test_auto_bigtiff(void)
{
    char path[512];
    (void)snprintf(path, sizeof path, "%s/huge.tif", g_dir);
    struct lc_tiff_writer_options o = {.struct_size = sizeof o};
    o.width = o.height = 70000; /* 4.9 GB of uint8 */
    o.nbands = 1;
    o.dtype = LC_DTYPE_UINT8;
    struct lc_tiff_writer *w = NULL;
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &o, &w), LC_OK);
    static uint8_t tile[256 * 256];
    for (size_t i = 0; i < sizeof tile; i++)
        tile[i] = (uint8_t)(i * 7 + 1);
    LC_ASSERT_EQ(
        lc_tiff_writer_write(w, 69888, 69888, 112, 112, tile, sizeof tile),
        LC_OK);
    LC_ASSERT_EQ(lc_tiff_writer_finish(w), LC_OK);
    lc_tiff_writer_close(w);
    struct lc_cog *cog = NULL;
    LC_ASSERT_EQ(lc_cog_open(path, &cog), LC_OK);
    if (cog == NULL)
        return;
    struct lc_cog_info info = {.struct_size = sizeof info};
    (void)lc_cog_get_info(cog, &info);
    LC_ASSERT_EQ(info.bigtiff, 1);
    LC_ASSERT_UEQ(info.width, 70000);
    static uint8_t back[112 * 112];
    struct lc_window win = {69888, 69888, 112, 112};
    LC_ASSERT_EQ(lc_cog_read_window(cog, 0, &win, NULL, 0, back, sizeof back),
                 LC_OK);
    LC_ASSERT_MEM_EQ(back, tile, 112); /* the first row */
    LC_ASSERT_MEM_EQ(back + 111 * 112, tile + 111 * 112, 112);
    struct lc_window other = {0, 0, 16, 1};
    LC_ASSERT_EQ(lc_cog_read_window(cog, 0, &other, NULL, 0, back, 16), LC_OK);
    LC_ASSERT_TRUE(back[0] == 0 && back[15] == 0);
    lc_cog_close(cog);
}

/* A rotated transform goes to ModelTransformation. */
static void test_rotated(void)
{
    char path[512];
    (void)snprintf(path, sizeof path, "%s/rotated.tif", g_dir);
    struct lc_tiff_writer_options o = {.struct_size = sizeof o};
    o.width = o.height = 16;
    o.nbands = 1;
    o.dtype = LC_DTYPE_UINT8;
    o.has_transform = 1;
    double t[6] = {10, 2, 1000, 3, -10, 2000};
    memcpy(o.transform, t, sizeof t);
    struct lc_tiff_writer *w = NULL;
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &o, &w), LC_OK);
    uint8_t px[16 * 16] = {0};
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 0, 0, 16, 16, px, sizeof px), LC_OK);
    LC_ASSERT_EQ(lc_tiff_writer_finish(w), LC_OK);
    lc_tiff_writer_close(w);
    struct lc_cog *cog = NULL;
    LC_ASSERT_EQ(lc_cog_open(path, &cog), LC_OK);
    if (cog == NULL)
        return;
    struct lc_cog_info info = {.struct_size = sizeof info};
    (void)lc_cog_get_info(cog, &info);
    LC_ASSERT_EQ(info.georef, LC_GEOREF_TRANSFORM);
    double gdal[6] = {1000, 10, 2, 2000, 3, -10};
    LC_ASSERT_MEM_EQ(info.geotransform, gdal, sizeof gdal);
    LC_ASSERT_EQ(info.rotated, 1);
    LC_ASSERT_STR_EQ(info.crs, "");
    LC_ASSERT_EQ(info.has_nodata, 0);
    lc_cog_close(cog);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_errors(void)
{
    char path[512];
    (void)snprintf(path, sizeof path, "%s/errors.tif", g_dir);
    struct lc_tiff_writer_options o = {.struct_size = sizeof o};
    o.width = 40;
    o.height = 20;
    o.nbands = 2;
    o.dtype = LC_DTYPE_INT16;
    o.tile_width = o.tile_height = 16;
    struct lc_tiff_writer *w = (struct lc_tiff_writer *)&o;

    /* Options */
    struct lc_tiff_writer_options bad = o;
    bad.struct_size = 8;
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &bad, &w), LC_EINVAL);
    LC_ASSERT_TRUE(w == NULL);
    bad = o;
    bad.dtype = LC_DTYPE_UNKNOWN;
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &bad, &w), LC_EINVAL);
    bad = o;
    bad.tile_width = 20;
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &bad, &w), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "multiples of 16") != NULL);
    bad = o;
    bad.height = 0;
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &bad, &w), LC_EINVAL);
    bad = o;
    bad.epsg = 4979; /* geographic 3D */
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &bad, &w), LC_EUNSUPPORTED);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "EPSG:4979") != NULL);
    bad.epsg = 1; /* no such CRS */
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &bad, &w), LC_EINVAL);
    LC_ASSERT_TRUE(!exists(path)); /* nothing created for bad options */
    LC_ASSERT_EQ(lc_tiff_writer_open(NULL, &o, &w), LC_EINVAL);
    LC_ASSERT_EQ(lc_tiff_writer_open(path, NULL, &w), LC_EINVAL);

    /* A missing directory: ENOTFOUND naming the path. */
    char missing[600];
    (void)snprintf(missing, sizeof missing, "%s/no/such/dir/x.tif", g_dir);
    LC_ASSERT_EQ(lc_tiff_writer_open(missing, &o, &w), LC_ENOTFOUND);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), missing) != NULL);

    /* Windows */
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &o, &w), LC_OK);
    LC_ASSERT_TRUE(exists(path));
    int16_t px[2 * 20 * 40] = {0};
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 8, 0, 16, 16, px, sizeof px),
                 LC_EINVAL); /* not on a tile edge */
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "whole 16 x 16 tiles") != NULL);
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 0, 0, 20, 16, px, sizeof px),
                 LC_EINVAL); /* ends inside a tile */
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 32, 0, 16, 16, px, sizeof px),
                 LC_EINVAL); /* past the right edge */
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 0, 0, 16, 16, px, 100), LC_ENOSPACE);
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 32, 16, 8, 4, px, sizeof px), LC_OK);
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 0, 16, 40, 4, px, sizeof px),
                 LC_EINVAL); /* tile 2,1 again */
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "written twice") != NULL);
    /* Closing without finishing removes the file. */
    lc_tiff_writer_close(w);
    LC_ASSERT_TRUE(!exists(path));

    /* Finish twice; write after finish. */
    LC_ASSERT_EQ(lc_tiff_writer_open(path, &o, &w), LC_OK);
    LC_ASSERT_EQ(lc_tiff_writer_finish(w), LC_OK);
    LC_ASSERT_EQ(lc_tiff_writer_finish(w), LC_EINVAL);
    LC_ASSERT_EQ(lc_tiff_writer_write(w, 0, 0, 16, 16, px, sizeof px),
                 LC_EINVAL);
    lc_tiff_writer_close(w);
    LC_ASSERT_TRUE(exists(path)); /* finished: kept */
    lc_tiff_writer_close(NULL);
    LC_ASSERT_EQ(lc_tiff_writer_finish(NULL), LC_EINVAL);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    (void)snprintf(g_dir, sizeof g_dir, "%s/lc_tiff_write_XXXXXX",
                   tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    static const struct spec specs[] = {
        {"u8", LC_DTYPE_UINT8, 300, 200, 3, 0, 0, 0, 0, 0, 1, 0},
        {"i8", LC_DTYPE_INT8, 300, 200, 1, 0, 0, 0, 0, 0, 1, 0},
        {"u16", LC_DTYPE_UINT16, 300, 200, 3, 0, 0, 0, 0, 0, 4, 1},
        {"i16_planar", LC_DTYPE_INT16, 300, 200, 3, 64, 1, 0, 0, 0, 3, 2},
        {"u32", LC_DTYPE_UINT32, 100, 70, 2, 32, 0, 0, 0, 0, 2, 1},
        {"i32_big", LC_DTYPE_INT32, 100, 70, 2, 32, 0, 0, 0, 1, 1, 0},
        {"u64", LC_DTYPE_UINT64, 50, 40, 1, 16, 0, 0, 0, 0, 1, 0},
        {"i64", LC_DTYPE_INT64, 50, 40, 2, 16, 1, 0, 0, 0, 2, 1},
        {"f32", LC_DTYPE_FLOAT32, 300, 200, 3, 0, 0, 0, 0, 0, 8, 1},
        {"f32_planar", LC_DTYPE_FLOAT32, 300, 200, 2, 128, 1, 0, 0, 0, 2, 1},
        {"f64", LC_DTYPE_FLOAT64, 130, 90, 1, 64, 0, 0, 0, 0, 1, 1},
        {"f64_big", LC_DTYPE_FLOAT64, 130, 90, 4, 64, 0, 0, 0, 1, 3, 0},
        {"u16_raw", LC_DTYPE_UINT16, 70, 50, 3, 32, 0, 1, 0, 0, 1, 1},
        {"f32_nopred", LC_DTYPE_FLOAT32, 70, 50, 2, 32, 0, 0, 1, 0, 1, 0},
        {"u8_planar_raw", LC_DTYPE_UINT8, 70, 50, 3, 32, 1, 1, 0, 0, 2, 0},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        roundtrip(&specs[i]);
    test_sparse();
    test_auto_bigtiff();
    test_rotated();
    test_errors();

    /* Leave nothing behind. */
    char cmd[600];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (lc_test_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    LC_TEST_END();
}
