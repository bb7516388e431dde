/* bench_codec.c - decode speed of each codec on realistic 512x512 tiles.
 * Not a test: build with -DLC_BUILD_BENCH=ON (and a Release build type),
 * run build/<dir>/bench/bench_codec. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include "../src/codec/codec.h"

#include <Lerc_c_api.h>
#include <libdeflate.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <zstd.h>

/*
 * Each engine encodes the tile it is given with the codec's own library
 * (LZW with a small libtiff-style encoder below) and fills in the block
 * format; the timed part is lc__block_decode alone, repeated for at least
 * half a second. Throughput counts decoded bytes.
 */

enum { W = 512, H = 512 };

struct engine {
    const char *name;
    /* Encodes the tile (16-bit or 8-bit RGB, as the engine needs) into a
     * malloc'ed *out; returns its size, or 0 on failure. */
    size_t (*encode)(struct lc__block_format *f, uint8_t **out);
};

static uint16_t g_u16[W * H];    /* smooth field plus noise */
static uint8_t g_rgb[W * H * 3]; /* the same, as 8-bit colour */

static void make_tiles(void)
{
    uint32_t rng = 12345;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            rng = rng * 1664525u + 1013904223u;
            double v = 2000 + 1500 * sin(x / 40.0) * cos(y / 55.0) +
                       300 * sin((x + y) / 17.0) + (double)(rng >> 28) - 8;
            g_u16[y * W + x] = (uint16_t)v;
            uint8_t *p = g_rgb + (y * W + x) * 3;
            p[0] = (uint8_t)(v / 16);
            p[1] = (uint8_t)(255 - v / 16);
            p[2] = (uint8_t)((x * y / 64 + (rng >> 29)) & 0xff);
        }
}

static struct lc__block_format u16_format(uint16_t compression)
{
    struct lc__block_format f = {0};
    f.compression = compression;
    f.predictor = 1;
    f.photometric = 1;
    f.bits_per_sample = 16;
    f.sample_format = 1;
    f.samples = 1;
    f.width = W;
    f.height = H;
    return f;
}

static const uint16_t *pred2_tile(void);

static size_t enc_deflate_pred2(struct lc__block_format *f, uint8_t **out)
{
    const uint16_t *diff = pred2_tile();
    *f = u16_format(LC_COMPRESSION_ADOBE_DEFLATE);
    f->predictor = 2;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t cap = libdeflate_zlib_compress_bound(c, sizeof(g_u16));
    *out = malloc(cap);
    size_t n = libdeflate_zlib_compress(c, diff, sizeof(g_u16), *out, cap);
    libdeflate_free_compressor(c);
    return n;
}

static size_t enc_zstd(struct lc__block_format *f, uint8_t **out)
{
    *f = u16_format(LC_COMPRESSION_ZSTD);
    size_t cap = ZSTD_compressBound(sizeof(g_u16));
    *out = malloc(cap);
    size_t n = ZSTD_compress(*out, cap, g_u16, sizeof(g_u16), 9);
    return ZSTD_isError(n) ? 0 : n;
}

/* Horizontal differencing of the tile (predictor 2), for LZW. */
static const uint16_t *pred2_tile(void)
{
    static uint16_t diff[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            diff[y * W + x] = (uint16_t)(g_u16[y * W + x] -
                                         (x > 0 ? g_u16[y * W + x - 1] : 0));
    return diff;
}

/* libtiff's LZWEncode, simplified: a 2-D child table instead of a hash. */
static size_t lzw_encode(const uint16_t *tile, struct lc__block_format *f,
                         uint8_t **out)
{
    const uint8_t *in = (const uint8_t *)tile;
    size_t n = sizeof(g_u16), o = 0;
    uint16_t(*child)[256] = calloc(4096, sizeof(*child));
    uint8_t *p = malloc(2 * n);
    uint64_t acc = 0;
    unsigned nbits = 0, width = 9, next = 258, ent = in[0];
#define PUT(code)                                                              \
    do {                                                                       \
        acc = (acc << width) | (code);                                         \
        nbits += width;                                                        \
        while (nbits >= 8) {                                                   \
            nbits -= 8;                                                        \
            p[o++] = (uint8_t)(acc >> nbits);                                  \
        }                                                                      \
    } while (0)
    PUT(256u);
    for (size_t i = 1; i < n; i++) {
        unsigned c = in[i];
        if (child[ent][c] != 0) {
            ent = child[ent][c];
            continue;
        }
        PUT(ent);
        child[ent][c] = (uint16_t)next++;
        ent = c;
        if (next == 4094) {
            PUT(256u);
            memset(child, 0, 4096 * sizeof(*child));
            width = 9;
            next = 258;
        } else if (next > (1u << width) - 1) {
            width++;
        }
    }
    PUT(ent);
    if (++next > (1u << width) - 1)
        width++;
    PUT(257u);
#undef PUT
    if (nbits > 0)
        p[o++] = (uint8_t)(acc << (8 - nbits));
    free(child);
    *f = u16_format(LC_COMPRESSION_LZW);
    *out = p;
    return o;
}

static size_t enc_lzw(struct lc__block_format *f, uint8_t **out)
{
    return lzw_encode(g_u16, f, out);
}

static size_t enc_lzw_pred2(struct lc__block_format *f, uint8_t **out)
{
    size_t n = lzw_encode(pred2_tile(), f, out);
    f->predictor = 2;
    return n;
}

static size_t enc_lerc(struct lc__block_format *f, uint8_t **out)
{
    unsigned cap = 0, n = 0;
    *f = u16_format(LC_COMPRESSION_LERC);
    if (lerc_computeCompressedSize(g_u16, 3, 1, W, H, 1, 0, NULL, 0, &cap))
        return 0;
    *out = malloc(cap);
    if (lerc_encode(g_u16, 3, 1, W, H, 1, 0, NULL, 0, *out, cap, &n))
        return 0;
    return n;
}

/* The u16 field as float32 reflectance (lossless LERC codes it as FPL:
 * byte planes, Huffman, decoded by lerc_fpl.c). */
static float g_f32[W * H];

static size_t enc_lerc_f32(struct lc__block_format *f, uint8_t **out)
{
    unsigned cap = 0, n = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        g_f32[i] = (float)g_u16[i] * 1e-4f;
    *f = u16_format(LC_COMPRESSION_LERC);
    f->bits_per_sample = 32;
    f->sample_format = 3;
    if (lerc_computeCompressedSize(g_f32, 6, 1, W, H, 1, 0, NULL, 0, &cap))
        return 0;
    *out = malloc(cap);
    if (lerc_encode(g_f32, 6, 1, W, H, 1, 0, NULL, 0, *out, cap, &n))
        return 0;
    return n;
}

static struct lc__block_format rgb_format(uint16_t compression)
{
    struct lc__block_format f = u16_format(compression);
    f.bits_per_sample = 8;
    f.samples = 3;
    f.photometric = 6;
    return f;
}

static size_t enc_jpeg(struct lc__block_format *f, uint8_t **out)
{
    tjhandle c = tjInitCompress();
    unsigned char *j = NULL;
    unsigned long n = 0;
    *f = rgb_format(LC_COMPRESSION_JPEG);
    int r = tjCompress2(c, g_rgb, W, 0, H, TJPF_RGB, &j, &n, TJSAMP_420, 75, 0);
    tjDestroy(c);
    if (r != 0)
        return 0;
    *out = malloc(n);
    memcpy(*out, j, n);
    tjFree(j);
    return n;
}

static size_t enc_webp(struct lc__block_format *f, uint8_t **out, bool lossy)
{
    uint8_t *w = NULL;
    *f = rgb_format(LC_COMPRESSION_WEBP);
    f->photometric = 2;
    size_t n = lossy ? WebPEncodeRGB(g_rgb, W, H, W * 3, 75, &w)
                     : WebPEncodeLosslessRGB(g_rgb, W, H, W * 3, &w);
    *out = malloc(n);
    memcpy(*out, w, n);
    WebPFree(w);
    return n;
}

static size_t enc_webp_lossy(struct lc__block_format *f, uint8_t **out)
{
    return enc_webp(f, out, true);
}

static size_t enc_webp_lossless(struct lc__block_format *f, uint8_t **out)
{
    return enc_webp(f, out, false);
}

static const struct engine engines[] = {
    {"deflate+pred2 u16", enc_deflate_pred2},
    {"zstd-9 u16", enc_zstd},
    {"lzw u16", enc_lzw},
    {"lzw+pred2 u16", enc_lzw_pred2},
    {"lerc lossless u16", enc_lerc},
    {"lerc lossless f32", enc_lerc_f32},
    {"jpeg q75 4:2:0 rgb8", enc_jpeg},
    {"webp lossy q75 rgb8", enc_webp_lossy},
    {"webp lossless rgb8", enc_webp_lossless},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    struct lc__codec_ctx *ctx;
    struct lc__errbuf err;

    make_tiles();
    if (lc__codec_ctx_new(NULL, &ctx) != LC_OK)
        return EXIT_FAILURE;
    printf("%-22s %10s %8s %10s %10s\n", "codec (512x512 tile)", "bytes",
           "ratio", "us/tile", "MB/s");
    for (size_t e = 0; e < LC_ARRAY_SIZE(engines); e++) {
        struct lc__block_format f;
        uint8_t *in = NULL;
        size_t in_nbytes = engines[e].encode(&f, &in);
        size_t nbytes;
        if (in_nbytes == 0 || lc__block_nbytes(&f, &nbytes, &err) != LC_OK) {
            fprintf(stderr, "%s: cannot encode\n", engines[e].name);
            free(in);
            continue;
        }
        uint8_t *out = malloc(nbytes);
        /* Warm up (and check) once, then time. */
        if (lc__block_decode(ctx, &f, in, in_nbytes, out, nbytes, &err)) {
            fprintf(stderr, "%s: %s\n", engines[e].name, err.msg);
            return EXIT_FAILURE;
        }
        unsigned iters = 0;
        double t0 = now(), t;
        do {
            (void)lc__block_decode(ctx, &f, in, in_nbytes, out, nbytes, &err);
            iters++;
            t = now() - t0;
        } while (t < 0.5);
        printf("%-22s %10zu %8.2f %10.1f %10.1f\n", engines[e].name, in_nbytes,
               (double)nbytes / (double)in_nbytes, t / iters * 1e6,
               (double)nbytes * iters / t / 1e6);
        if (engines[e].encode == enc_lerc_f32) {
            /* liblerc's own decoder of the same blob, for comparison. */
            iters = 0;
            t0 = now();
            do {
                (void)lerc_decode(in, (unsigned)in_nbytes, 0, NULL, 1, W, H, 1,
                                  6, out);
                iters++;
                t = now() - t0;
            } while (t < 0.5);
            printf("%-22s %10zu %8.2f %10.1f %10.1f\n", "  liblerc lerc_decode",
                   in_nbytes, (double)nbytes / (double)in_nbytes,
                   t / iters * 1e6, (double)nbytes * iters / t / 1e6);
        }
        free(out);
        free(in);
    }
    lc__codec_ctx_free(ctx);
    return EXIT_SUCCESS;
}
