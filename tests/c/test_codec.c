/* test_codec.c - the block decoders: round trips through each library's own
 * encoder, GDAL-written known answers, predictors, byte order, float16 and
 * hostile streams (each with the error code it must give). */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include "../../src/codec/codec.h"
#include "../../src/codec/codec_internal.h"
#include "../../src/x86/x86_internal.h"

#include <Lerc_c_api.h>
#include <libdeflate.h>
#include <math.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>
#include <zstd.h>

#include "codec_kat.h"
#include "test_util.h"

/* ---- helpers -------------------------------------------------------------
 */

static struct lc__codec_ctx *g_ctx;

static struct lc__block_format fmt(uint16_t compression, unsigned bits,
                                   unsigned sample_format, unsigned samples,
                                   uint32_t width, uint32_t height)
{
    struct lc__block_format f = {0};
    f.compression = compression;
    f.predictor = 1;
    f.photometric = samples >= 3 ? 2 : 1;
    f.bits_per_sample = (uint16_t)bits;
    f.sample_format = (uint16_t)sample_format;
    f.samples = (uint16_t)samples;
    f.width = width;
    f.height = height;
    return f;
}

static size_t nbytes_of(const struct lc__block_format *f)
{
    size_t n = 0;
    struct lc__errbuf err;
    int st = lc__block_nbytes(f, &n, &err);
    if (st != LC_OK)
        fprintf(stderr, "lc__block_nbytes: %s\n", err.msg);
    return n;
}

/*
 * Decodes in into a fresh buffer of the format's size (with a guard zone
 * that must stay untouched), checks the status, and on success compares
 * with want (when not NULL). Returns the decoded buffer (caller frees) or
 * NULL on failure.
 */
static uint8_t *decode_check_(const struct lc__block_format *f, const void *in,
                              size_t in_nbytes, const void *want,
                              int want_status, const char *file, int line)
{
    size_t n = nbytes_of(f);
    uint8_t *out = malloc(n + 64);
    struct lc__errbuf err;

    lc__error_clear(&err);
    memset(out, 0xa5, n + 64);
    int st = lc__block_decode(g_ctx, f, in, in_nbytes, out, n, &err);
    if (st != want_status) {
        fprintf(stderr, "%s:%d: status %s, want %s (%s)\n", file, line,
                lc_err_name(st), lc_err_name(want_status), err.msg);
        lc_test_failures++;
    }
    if (st != LC_OK && err.msg[0] == '\0') {
        fprintf(stderr, "%s:%d: error without a message\n", file, line);
        lc_test_failures++;
    }
    for (size_t i = 0; i < 64; i++)
        if (out[n + i] != 0xa5) {
            fprintf(stderr, "%s:%d: write past the end\n", file, line);
            lc_test_failures++;
            break;
        }
    if (st == LC_OK && want != NULL && memcmp(out, want, n) != 0) {
        size_t i = 0;
        while (out[i] == ((const uint8_t *)want)[i])
            i++;
        fprintf(stderr, "%s:%d: output differs at byte %zu (%u != %u)\n", file,
                line, i, out[i], ((const uint8_t *)want)[i]);
        lc_test_failures++;
    }
    if (st != LC_OK) {
        free(out);
        return NULL;
    }
    return out;
}
#define decode_check(f, in, n, want, st)                                       \
    free(decode_check_((f), (in), (n), (want), (st), __FILE__, __LINE__))
#define decode_keep(f, in, n, st)                                              \
    decode_check_((f), (in), (n), NULL, (st), __FILE__, __LINE__)

/* A deterministic generator (xorshift), so failures reproduce. */
static uint32_t g_rng = 2463534242u;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

/* A smooth field plus noise, like real elevation or reflectance. */
static void fill_field(uint8_t *p, size_t nbytes, unsigned bps)
{
    size_t n = nbytes / bps;
    for (size_t i = 0; i < n; i++) {
        uint64_t v =
            (uint64_t)(1000 + 400 * sin((double)i / 37.0)) + (rnd() & 15);
        if (bps == 1)
            v &= 0xff;
        memcpy(p + i * bps, &v, bps); /* little-endian host */
    }
}

static void store_be(uint8_t *p, uint64_t v, unsigned bps)
{
    for (unsigned b = 0; b < bps; b++)
        p[b] = (uint8_t)(v >> (8 * (bps - 1 - b)));
}

static uint64_t load_ne(const uint8_t *p, unsigned bps)
{
    uint64_t v = 0;
    memcpy(&v, p, bps); /* little-endian host */
    return v;
}

/* Native samples to file order (a copy). */
static void to_file_order(uint8_t *dst, const uint8_t *src, size_t nbytes,
                          unsigned bps, bool big_endian)
{
    if (!big_endian || bps == 1) {
        memcpy(dst, src, nbytes);
        return;
    }
    for (size_t i = 0; i < nbytes; i += bps)
        store_be(dst + i, load_ne(src + i, bps), bps);
}

static size_t zlib_compress(const void *in, size_t n, uint8_t **out)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t cap = libdeflate_zlib_compress_bound(c, n);
    *out = malloc(cap);
    size_t got = libdeflate_zlib_compress(c, in, n, *out, cap);
    libdeflate_free_compressor(c);
    return got;
}

/* ---- format checks ---------------------------------------------------------
 */

static void expect_nbytes_status(const struct lc__block_format *f, int want)
{
    size_t n;
    struct lc__errbuf err;
    lc__error_clear(&err);
    int st = lc__block_nbytes(f, &n, &err);
    if (st != want)
        LC_CHECK_FAIL_("nbytes: %s, want %s (%s)", lc_err_name(st),
                       lc_err_name(want), err.msg);
}

static void test_block_nbytes(void)
{
    struct lc__block_format f = fmt(LC_COMPRESSION_NONE, 16, 1, 3, 5, 7);
    LC_ASSERT_UEQ(nbytes_of(&f), 5u * 7 * 3 * 2);
    f = fmt(LC_COMPRESSION_ZSTD, 64, 3, 1, 256, 256);
    LC_ASSERT_UEQ(nbytes_of(&f), 256u * 256 * 8);

    f = fmt(LC_COMPRESSION_NONE, 8, 1, 1, 0, 7);
    expect_nbytes_status(&f, LC_EINVAL);
    f = fmt(LC_COMPRESSION_NONE, 8, 1, 0, 7, 7);
    expect_nbytes_status(&f, LC_EINVAL);
    expect_nbytes_status(NULL, LC_EINVAL);
    f = fmt(LC_COMPRESSION_NONE, 12, 1, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_NONE, 1, 1, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_NONE, 8, 4, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_NONE, 8, 3, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    const uint16_t rejected[] = {LC_COMPRESSION_OJPEG,
                                 LC_COMPRESSION_LZMA,
                                 LC_COMPRESSION_JXL,
                                 2,
                                 4,
                                 0,
                                 65535};
    for (size_t i = 0; i < LC_ARRAY_SIZE(rejected); i++) {
        f = fmt(rejected[i], 8, 1, 1, 8, 8);
        expect_nbytes_status(&f, LC_EUNSUPPORTED);
    }
    f = fmt(LC_COMPRESSION_DEFLATE, 8, 1, 1, 8, 8);
    f.predictor = 4;
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f.predictor = 3; /* floating point predictor on integers */
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    /* Codecs without a predictor ignore the tag, as libtiff does. */
    f = fmt(LC_COMPRESSION_NONE, 8, 1, 1, 8, 8);
    f.predictor = 7;
    expect_nbytes_status(&f, LC_OK);
    f = fmt(LC_COMPRESSION_JPEG, 16, 1, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_JPEG, 8, 1, 4, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_JPEG, 8, 1, 3, 8, 8);
    f.photometric = 5;
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_WEBP, 8, 1, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_WEBP, 16, 1, 3, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_LERC, 64, 1, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_LERC, 16, 3, 1, 8, 8);
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    f = fmt(LC_COMPRESSION_LERC, 16, 1, 1, 8, 8);
    f.lerc_wrap = 3;
    expect_nbytes_status(&f, LC_EUNSUPPORTED);
    /* A size that does not fit in size_t. */
    f = fmt(LC_COMPRESSION_NONE, 64, 1, 65535, 0xffffffffu, 0xffffffffu);
    expect_nbytes_status(&f, LC_ELIMIT);
}

static void test_bad_arguments(void)
{
    struct lc__block_format f = fmt(LC_COMPRESSION_NONE, 8, 1, 1, 4, 4);
    uint8_t in[16] = {0}, out[17];
    struct lc__errbuf err;

    LC_ASSERT_EQ(lc__block_decode(g_ctx, &f, in, 16, out, 17, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__block_decode(g_ctx, &f, in, 16, out, 15, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__block_decode(NULL, &f, in, 16, out, 16, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__block_decode(g_ctx, &f, NULL, 16, out, 16, &err),
                 LC_EINVAL);
    LC_ASSERT_EQ(lc__block_decode(g_ctx, NULL, in, 16, out, 16, &err),
                 LC_EINVAL);
    LC_ASSERT_EQ(lc__codec_ctx_new(NULL, NULL), LC_EINVAL);
    lc__codec_ctx_free(NULL);
}

/* ---- uncompressed and byte order -------------------------------------------
 */

static void test_none_and_byte_order(void)
{
    const unsigned depths[] = {8, 16, 32, 64};
    for (size_t d = 0; d < LC_ARRAY_SIZE(depths); d++) {
        unsigned bps = depths[d] / 8;
        struct lc__block_format f =
            fmt(LC_COMPRESSION_NONE, depths[d], 1, 2, 9, 5);
        size_t n = nbytes_of(&f);
        uint8_t *want = malloc(n), *file = malloc(n + 3);
        fill_field(want, n, bps);
        for (int be = 0; be <= 1; be++) {
            f.big_endian = be;
            to_file_order(file, want, n, bps, be);
            decode_check(&f, file, n, want, LC_OK);
            /* Extra bytes are ignored; missing ones are corrupt. */
            decode_check(&f, file, n + 3, want, LC_OK);
            decode_check(&f, file, n - 1, NULL, LC_ECORRUPT);
        }
        free(want);
        free(file);
    }
    struct lc__block_format f = fmt(LC_COMPRESSION_NONE, 8, 1, 1, 4, 4);
    decode_check(&f, NULL, 0, NULL, LC_ECORRUPT);
}

/* ---- deflate and zstd
 * --------------------------------------------------------
 */

static void test_deflate(void)
{
    struct lc__block_format f = fmt(LC_COMPRESSION_DEFLATE, 16, 1, 1, 64, 32);
    size_t n = nbytes_of(&f);
    uint8_t *raw = malloc(n + 1), *z;
    fill_field(raw, n + 1, 1);
    size_t zn = zlib_compress(raw, n, &z);

    decode_check(&f, z, zn, raw, LC_OK);
    f.compression = LC_COMPRESSION_ADOBE_DEFLATE;
    decode_check(&f, z, zn, raw, LC_OK);
    decode_check(&f, z, zn - 1, NULL, LC_ECORRUPT);     /* truncated */
    decode_check(&f, z, zn / 2, NULL, LC_ECORRUPT);     /* truncated */
    decode_check(&f, z + 2, zn - 2, NULL, LC_ECORRUPT); /* raw deflate */
    decode_check(&f, raw, 100, NULL, LC_ECORRUPT);      /* garbage */
    decode_check(&f, z, 0, NULL, LC_ECORRUPT);
    free(z);
    /* One byte short and one byte long. */
    zn = zlib_compress(raw, n - 1, &z);
    decode_check(&f, z, zn, NULL, LC_ECORRUPT);
    free(z);
    zn = zlib_compress(raw, n + 1, &z);
    decode_check(&f, z, zn, NULL, LC_ECORRUPT);
    free(z);
    /* A bad Adler-32 is corrupt too. */
    zn = zlib_compress(raw, n, &z);
    z[zn - 1] ^= 1;
    decode_check(&f, z, zn, NULL, LC_ECORRUPT);
    free(z);
    free(raw);
}

static void test_zstd(void)
{
    struct lc__block_format f = fmt(LC_COMPRESSION_ZSTD, 32, 3, 2, 40, 30);
    size_t n = nbytes_of(&f);
    uint8_t *raw = malloc(n + 1);
    size_t cap = ZSTD_compressBound(n + 1);
    uint8_t *z = malloc(cap);
    fill_field(raw, n + 1, 1);

    size_t zn = ZSTD_compress(z, cap, raw, n, 3);
    decode_check(&f, z, zn, raw, LC_OK);
    decode_check(&f, z, zn - 1, NULL, LC_ECORRUPT);
    decode_check(&f, z, 5, NULL, LC_ECORRUPT);
    decode_check(&f, raw, 64, NULL, LC_ECORRUPT);
    zn = ZSTD_compress(z, cap, raw, n - 1, 3);
    decode_check(&f, z, zn, NULL, LC_ECORRUPT);
    zn = ZSTD_compress(z, cap, raw, n + 1, 3);
    decode_check(&f, z, zn, NULL, LC_ECORRUPT);
    /* Two frames that together make the block are one valid stream. */
    size_t z1 = ZSTD_compress(z, cap, raw, n / 2, 1);
    size_t z2 = ZSTD_compress(z + z1, cap - z1, raw + n / 2, n - n / 2, 1);
    decode_check(&f, z, z1 + z2, raw, LC_OK);
    free(z);
    free(raw);
}

/* ---- LZW -------------------------------------------------------------------
 */

struct bitwriter {
    uint8_t *p;
    size_t n, cap;
    uint32_t acc;
    unsigned nbits;
};

static void put_code(struct bitwriter *w, unsigned code, unsigned width)
{
    w->acc = (w->acc << width) | code;
    w->nbits += width;
    while (w->nbits >= 8) {
        w->nbits -= 8;
        if (w->n < w->cap)
            w->p[w->n++] = (uint8_t)(w->acc >> w->nbits);
    }
}

static void flush_bits(struct bitwriter *w)
{
    if (w->nbits > 0 && w->n < w->cap)
        w->p[w->n++] = (uint8_t)(w->acc << (8 - w->nbits));
    w->nbits = 0;
}

/*
 * A TIFF LZW encoder following libtiff's LZWEncode: clear first, widen
 * when the next free code passes 2^width - 1, clear at 4094 free codes
 * (or, when clear_when_full is false, keep going with a full table), and
 * account for the decoder's last entry before EOI (LZWPostEncode).
 */
static size_t lzw_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                         bool clear_when_full)
{
    uint16_t(*child)[256] = calloc(4096, sizeof(*child));
    struct bitwriter w = {out, 0, cap, 0, 0};
    unsigned width = 9, next = 258;

    put_code(&w, 256, width);
    if (n > 0) {
        unsigned ent = in[0];
        for (size_t i = 1; i < n; i++) {
            unsigned c = in[i];
            if (child[ent][c] != 0) {
                ent = child[ent][c];
                continue;
            }
            put_code(&w, ent, width);
            /* The entry for the string just emitted plus c, unless the
             * table is full and there is no clear: then keep going. */
            unsigned prev = ent;
            ent = c;
            if (next >= 4096)
                continue;
            child[prev][c] = (uint16_t)next;
            next++;
            if (clear_when_full && next == 4094) {
                put_code(&w, 256, width);
                memset(child, 0, 4096 * sizeof(*child));
                width = 9;
                next = 258;
            } else if (next > (1u << width) - 1 && width < 12) {
                width++;
            }
        }
        put_code(&w, ent, width);
        if (next < 4096) {
            next++;
            if (clear_when_full && next == 4094) {
                put_code(&w, 256, width);
                width = 9;
            } else if (next > (1u << width) - 1 && width < 12) {
                width++;
            }
        }
    }
    put_code(&w, 257, width);
    flush_bits(&w);
    free(child);
    return w.n;
}

static void test_lzw_roundtrip(void)
{
    const size_t sizes[] = {1, 2, 3, 255, 256, 1000, 5000, 70000};
    for (size_t k = 0; k < LC_ARRAY_SIZE(sizes); k++) {
        size_t n = sizes[k];
        for (int kind = 0; kind < 4; kind++) {
            uint8_t *raw = malloc(n);
            for (size_t i = 0; i < n; i++) {
                switch (kind) {
                case 0:
                    raw[i] = (uint8_t)rnd();
                    break;
                case 1:
                    raw[i] = 7; /* one long run: KwKwK all the way */
                    break;
                case 2:
                    raw[i] = (uint8_t)(i / 100 + (rnd() & 3));
                    break;
                default:
                    raw[i] = (uint8_t)(i % 251);
                    break;
                }
            }
            size_t cap = 2 * n + 64;
            uint8_t *z = malloc(cap);
            struct lc__block_format f =
                fmt(LC_COMPRESSION_LZW, 8, 1, 1, (uint32_t)n, 1);
            for (int clear = 0; clear <= 1; clear++) {
                size_t zn = lzw_encode(raw, n, z, cap, clear);
                decode_check(&f, z, zn, raw, LC_OK);
                /* Without the EOI code: accepted, as libtiff does. */
                decode_check(&f, z, zn - 1, raw, LC_OK);
                if (n > 8)
                    decode_check(&f, z, zn / 2, NULL, LC_ECORRUPT);
            }
            if (n > 1) {
                /* One byte more or less than the block. */
                struct lc__block_format g = f;
                g.width = (uint32_t)n - 1;
                size_t zn = lzw_encode(raw, n, z, cap, true);
                decode_check(&g, z, zn, NULL, LC_ECORRUPT);
                g.width = (uint32_t)n + 1;
                decode_check(&g, z, zn, NULL, LC_ECORRUPT);
            }
            free(z);
            free(raw);
        }
    }
}

static void test_lzw_hostile(void)
{
    uint8_t buf[64];
    struct bitwriter w;
    struct lc__block_format f = fmt(LC_COMPRESSION_LZW, 8, 1, 1, 4, 1);

    /* A code beyond the table: only 258 exists after two literals. */
    w = (struct bitwriter){buf, 0, sizeof(buf), 0, 0};
    put_code(&w, 256, 9);
    put_code(&w, 'a', 9);
    put_code(&w, 'b', 9);
    put_code(&w, 300, 9);
    put_code(&w, 257, 9);
    flush_bits(&w);
    decode_check(&f, buf, w.n, NULL, LC_ECORRUPT);

    /* KwKwK right after a clear: there is no previous string. */
    w = (struct bitwriter){buf, 0, sizeof(buf), 0, 0};
    put_code(&w, 256, 9);
    put_code(&w, 258, 9);
    flush_bits(&w);
    decode_check(&f, buf, w.n, NULL, LC_ECORRUPT);

    /* Codes 256 + 258 = first use of a code being defined: fine. */
    w = (struct bitwriter){buf, 0, sizeof(buf), 0, 0};
    put_code(&w, 256, 9);
    put_code(&w, 'x', 9);
    put_code(&w, 258, 9); /* "xx" */
    put_code(&w, 'y', 9);
    put_code(&w, 257, 9);
    flush_bits(&w);
    decode_check(&f, buf, w.n, "xxxy", LC_OK);

    /* No clear code at the start is accepted (the table starts empty). */
    w = (struct bitwriter){buf, 0, sizeof(buf), 0, 0};
    put_code(&w, 'a', 9);
    put_code(&w, 'b', 9);
    put_code(&w, 258, 9); /* "ab" */
    put_code(&w, 257, 9);
    flush_bits(&w);
    decode_check(&f, buf, w.n, "abab", LC_OK);

    /* Data after the block is full is "more bytes than the block". */
    w = (struct bitwriter){buf, 0, sizeof(buf), 0, 0};
    put_code(&w, 256, 9);
    for (int i = 0; i < 5; i++)
        put_code(&w, 'a', 9);
    put_code(&w, 257, 9);
    flush_bits(&w);
    decode_check(&f, buf, w.n, NULL, LC_ECORRUPT);

    /* Old-style LZW (LSB-first) is recognised and refused. */
    const uint8_t old[] = {0x00, 0x01, 0x02, 0x03};
    decode_check(&f, old, sizeof(old), NULL, LC_EUNSUPPORTED);

    /* Only clears and an EOI: decodes to nothing, so corrupt. */
    w = (struct bitwriter){buf, 0, sizeof(buf), 0, 0};
    put_code(&w, 256, 9);
    put_code(&w, 256, 9);
    put_code(&w, 257, 9);
    flush_bits(&w);
    decode_check(&f, buf, w.n, NULL, LC_ECORRUPT);
    decode_check(&f, buf, 0, NULL, LC_ECORRUPT);

    /* Random garbage of every length never crashes. */
    struct lc__block_format g = fmt(LC_COMPRESSION_LZW, 8, 1, 1, 64, 4);
    for (int t = 0; t < 2000; t++) {
        size_t n = 1 + rnd() % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rnd();
        buf[0] = 0x80; /* a clear code, so it is not "old-style" */
        size_t on = nbytes_of(&g);
        uint8_t *out = malloc(on);
        struct lc__errbuf err;
        int st = lc__block_decode(g_ctx, &g, buf, n, out, on, &err);
        LC_ASSERT_TRUE(st == LC_OK || st == LC_ECORRUPT);
        free(out);
    }
}

static void test_lzw_kat(void)
{
    /* 16x16 uint8, written by GDAL. */
    uint8_t want[256];
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            want[y * 16 + x] = (uint8_t)(((x * y + x / 3) % 7) * 30);
    struct lc__block_format f = fmt(LC_COMPRESSION_LZW, 8, 1, 1, 16, 16);
    decode_check(&f, kat_lzw_u8, sizeof(kat_lzw_u8), want, LC_OK);

    /* 16x16 uint16, big-endian file, predictor 2. */
    uint16_t want16[256];
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            want16[y * 16 + x] =
                (uint16_t)((x * 1000 + y * 37 + 60000 * ((x + y) % 2)) % 65536);
    f = fmt(LC_COMPRESSION_LZW, 16, 1, 1, 16, 16);
    f.predictor = 2;
    f.big_endian = true;
    decode_check(&f, kat_lzw_u16_be_pred2, sizeof(kat_lzw_u16_be_pred2), want16,
                 LC_OK);
}

/* ---- PackBits --------------------------------------------------------------
 */

static size_t packbits_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < 128 && in[i + run] == in[i])
            run++;
        if (run >= 3) {
            out[o++] = (uint8_t)(257 - run);
            out[o++] = in[i];
            i += run;
            continue;
        }
        size_t lit = 0;
        while (i + lit < n && lit < 128 &&
               !(i + lit + 2 < n && in[i + lit] == in[i + lit + 1] &&
                 in[i + lit] == in[i + lit + 2]))
            lit++;
        if (lit == 0)
            lit = 1;
        out[o++] = (uint8_t)(lit - 1);
        memcpy(out + o, in + i, lit);
        o += lit;
        i += lit;
    }
    return o;
}

static void test_packbits(void)
{
    /* The example of the TIFF 6.0 specification, section 9. */
    const uint8_t packed[] = {0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa,
                              0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa};
    const uint8_t unpacked[] = {0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa,
                                0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22, 0xaa, 0xaa,
                                0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
    struct lc__block_format f =
        fmt(LC_COMPRESSION_PACKBITS, 8, 1, 1, sizeof(unpacked), 1);
    decode_check(&f, packed, sizeof(packed), unpacked, LC_OK);
    /* -128 is a no-op, as padding anywhere. */
    uint8_t padded[sizeof(packed) + 2];
    padded[0] = 0x80;
    memcpy(padded + 1, packed, sizeof(packed));
    padded[sizeof(padded) - 1] = 0x80;
    decode_check(&f, padded, sizeof(padded), unpacked, LC_OK);
    /* Truncated: a literal run past the end, a repeat without its byte. */
    decode_check(&f, packed, 4, NULL, LC_ECORRUPT);
    decode_check(&f, packed, 13, NULL, LC_ECORRUPT);
    decode_check(&f, packed, 14, NULL, LC_ECORRUPT);
    /* A run past the end of the block; leftover data. */
    f.width = sizeof(unpacked) - 1;
    decode_check(&f, packed, sizeof(packed), NULL, LC_ECORRUPT);
    f.width = sizeof(unpacked) + 1;
    decode_check(&f, packed, sizeof(packed), NULL, LC_ECORRUPT);
    const uint8_t extra[] = {0xff, 0x11, 0x00, 0x22};
    f.width = 2;
    decode_check(&f, extra, sizeof(extra), NULL, LC_ECORRUPT);

    /* Round trips. */
    for (int t = 0; t < 50; t++) {
        size_t n = 1 + rnd() % 3000;
        uint8_t *raw = malloc(n), *z = malloc(2 * n + 8);
        for (size_t i = 0; i < n; i++)
            raw[i] = (uint8_t)((rnd() % 4 == 0) ? rnd() : i / 50);
        size_t zn = packbits_encode(raw, n, z);
        f.width = (uint32_t)n;
        decode_check(&f, z, zn, raw, LC_OK);
        free(raw);
        free(z);
    }

    /* GDAL-written 16x16 uint8. */
    uint8_t want[256];
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            want[y * 16 + x] = (uint8_t)(((x / 4) * 50 + (y % 3)) % 256);
    f = fmt(LC_COMPRESSION_PACKBITS, 8, 1, 1, 16, 16);
    decode_check(&f, kat_packbits_u8, sizeof(kat_packbits_u8), want, LC_OK);
}

/* ---- predictors ------------------------------------------------------------
 */

/* Forward horizontal differencing on native samples, then file order. */
static void apply_predictor2(uint8_t *file, const uint8_t *native,
                             const struct lc__block_format *f)
{
    unsigned bps = f->bits_per_sample / 8;
    size_t row = (size_t)f->width * f->samples;
    uint64_t mask = bps == 8 ? ~0ull : (1ull << (8 * bps)) - 1;
    for (size_t y = 0; y < f->height; y++)
        for (size_t i = 0; i < row; i++) {
            size_t k = y * row + i;
            uint64_t v = load_ne(native + k * bps, bps);
            if (i >= f->samples)
                v = (v - load_ne(native + (k - f->samples) * bps, bps)) & mask;
            if (f->big_endian)
                store_be(file + k * bps, v, bps);
            else
                memcpy(file + k * bps, &v, bps);
        }
}

/* libtiff's fpDiff: byte planes, most significant first, then bytewise
 * differencing with a distance of `samples` bytes, from the end. */
static void apply_predictor3(uint8_t *file, const uint8_t *native,
                             const struct lc__block_format *f)
{
    unsigned bps = f->bits_per_sample / 8;
    size_t wc = (size_t)f->width * f->samples;
    size_t rb = wc * bps;
    for (size_t y = 0; y < f->height; y++) {
        const uint8_t *src = native + y * rb;
        uint8_t *dst = file + y * rb;
        for (size_t k = 0; k < wc; k++)
            for (unsigned b = 0; b < bps; b++)
                dst[b * wc + k] = src[k * bps + (bps - 1 - b)];
        for (size_t i = rb; i-- > f->samples;)
            dst[i] = (uint8_t)(dst[i] - dst[i - f->samples]);
    }
}

static void test_predictors(void)
{
    /* Known answers first. 8-bit, 2 samples: wraps mod 256. */
    const uint8_t p8[] = {10, 200, 5, 100, 250, 0};
    const uint8_t w8[] = {10, 200, 15, 44, 9, 44};
    struct lc__block_format f = fmt(LC_COMPRESSION_ZSTD, 8, 1, 2, 3, 1);
    f.predictor = 2;
    uint8_t z[256];
    size_t zn = ZSTD_compress(z, sizeof(z), p8, sizeof(p8), 1);
    decode_check(&f, z, zn, w8, LC_OK);
    /* 16-bit big-endian file, one sample: 0xfff0, +0x0020 -> 0x0010. */
    const uint8_t p16[] = {0xff, 0xf0, 0x00, 0x20, 0xff, 0xff};
    const uint16_t w16[] = {0xfff0, 0x0010, 0x000f};
    f = fmt(LC_COMPRESSION_ZSTD, 16, 1, 1, 3, 1);
    f.predictor = 2;
    f.big_endian = true;
    zn = ZSTD_compress(z, sizeof(z), p16, sizeof(p16), 1);
    decode_check(&f, z, zn, w16, LC_OK);
    /* Floating point: 1.0f is 3f 80 00 00, as planes 3f|80|00|00, then
     * differenced bytewise: 3f 41 80 00. The same in either file order. */
    const uint8_t p3[] = {0x3f, 0x41, 0x80, 0x00};
    const float w3 = 1.0f;
    f = fmt(LC_COMPRESSION_ZSTD, 32, 3, 1, 1, 1);
    f.predictor = 3;
    zn = ZSTD_compress(z, sizeof(z), p3, sizeof(p3), 1);
    decode_check(&f, z, zn, &w3, LC_OK);
    f.big_endian = true;
    decode_check(&f, z, zn, &w3, LC_OK);

    /* Round trips for every depth, 1 and 3 samples, both byte orders, and
     * widths below, at and across the 8 samples of a vector (16-bit rows
     * of one sample are summed 8 at a time). */
    const unsigned depths[] = {8, 16, 32, 64};
    const uint32_t widths[] = {1, 8, 37};
    for (size_t d = 0; d < LC_ARRAY_SIZE(depths); d++)
        for (unsigned s = 1; s <= 3; s += 2)
            for (int be = 0; be <= 1; be++)
                for (int pred = 2; pred <= 3; pred++)
                    for (size_t wi = 0; wi < LC_ARRAY_SIZE(widths); wi++) {
                        unsigned bits = depths[d];
                        if (pred == 3 && bits == 8)
                            continue;
                        f = fmt(LC_COMPRESSION_DEFLATE, bits, pred == 3 ? 3 : 1,
                                s, widths[wi], 5);
                        f.predictor = (uint16_t)pred;
                        f.big_endian = be;
                        size_t n = nbytes_of(&f);
                        uint8_t *native = malloc(n), *file = malloc(n), *c;
                        fill_field(native, n, bits / 8);
                        if (pred == 2)
                            apply_predictor2(file, native, &f);
                        else
                            apply_predictor3(file, native, &f);
                        size_t cn = zlib_compress(file, n, &c);
                        decode_check(&f, c, cn, native, LC_OK);
                        f.compression = LC_COMPRESSION_LZW;
                        uint8_t *l = malloc(2 * n + 64);
                        size_t ln = lzw_encode(file, n, l, 2 * n + 64, true);
                        decode_check(&f, l, ln, native, LC_OK);
                        free(l);
                        free(c);
                        free(native);
                        free(file);
                    }
}

/* The kernel that undoes predictor 2 on one 16-bit channel: the one the
 * environment asks for, and, for the SSE2 kernel, the same sums as the
 * serial definition on rows of every length from 0 to 100 (vectors, tails
 * and wraparound). */
static void test_predictor_kernels(void)
{
    const char *off = getenv("LAZYCOGS_DISABLE_SIMD");
    const char *want = off != NULL && *off != '\0' ? "portable" : "sse2";
#ifndef LC_HAVE_X86_KERNELS
    want = "portable";
#endif
    LC_ASSERT_STR_EQ(lc__codec_kernel_name(), want);
#ifdef LC_HAVE_X86_KERNELS
    uint32_t seed = 7;
    for (size_t n = 0; n <= 100; n++) {
        uint16_t row[100], ref[100];
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            row[i] = (uint16_t)(seed >> 16);
        }
        uint16_t sum = 0;
        for (size_t i = 0; i < n; i++)
            ref[i] = sum = (uint16_t)(sum + row[i]);
        lc__x86_hor_acc16_sse2((uint8_t *)row, n);
        LC_ASSERT_TRUE(n == 0 || memcmp(row, ref, n * 2) == 0);
    }
#endif
}

static void test_predictor_kats(void)
{
    /* GDAL: float32, 2 samples, pixel-interleaved, predictor 3. */
    float want[16 * 16 * 2];
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            want[(y * 16 + x) * 2] = (float)((x - 7.25) * (y + 0.5));
            want[(y * 16 + x) * 2 + 1] = (float)(x * 0.125 - y * 1024.0);
        }
    struct lc__block_format f =
        fmt(LC_COMPRESSION_ADOBE_DEFLATE, 32, 3, 2, 16, 16);
    f.predictor = 3;
    decode_check(&f, kat_deflate_f32x2_pred3, sizeof(kat_deflate_f32x2_pred3),
                 want, LC_OK);

    /* GDAL: int32, big-endian file, predictor 2, zstd. */
    int32_t want32[256];
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            want32[y * 16 + x] = x * 100000 - y * 7777777 + 3;
    f = fmt(LC_COMPRESSION_ZSTD, 32, 2, 1, 16, 16);
    f.predictor = 2;
    f.big_endian = true;
    decode_check(&f, kat_zstd_i32_be_pred2, sizeof(kat_zstd_i32_be_pred2),
                 want32, LC_OK);

    /* GDAL: float16 (NBITS=16), predictor 3; compared after conversion. */
    f = fmt(LC_COMPRESSION_ADOBE_DEFLATE, 16, 3, 1, 16, 16);
    f.predictor = 3;
    uint8_t *h = decode_keep(&f, kat_deflate_f16_pred3,
                             sizeof(kat_deflate_f16_pred3), LC_OK);
    if (h != NULL) {
        uint16_t halves[256];
        float got[256];
        memcpy(halves, h, sizeof(halves));
        lc__half_to_float(halves, got, 256);
        LC_ASSERT_MEM_EQ(got, kat_deflate_f16_pred3_expect, sizeof(got));
        free(h);
    }
}

/* ---- float16 ---------------------------------------------------------------
 */

static float half_reference(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float s = (h & 0x8000) ? -1.0f : 1.0f;
    if (e == 0)
        return s * ldexpf((float)m, -24);
    if (e == 31)
        return m ? NAN : s * INFINITY;
    return s * ldexpf((float)(m + 1024), e - 25);
}

static uint32_t bits_of(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    return b;
}

static void test_half_to_float(void)
{
    const uint16_t in[] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff,
                           0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00,
                           0x7e00, 0x7c01, 0x3555, 0x8001};
    const uint32_t want[] = {0x00000000, 0x80000000, 0x3f800000, 0xc0000000,
                             0x477fe000, 0x33800000, 0x387fc000, 0x38800000,
                             0x7f800000, 0xff800000, 0x7fc00000, 0x7f802000,
                             0x3eaaa000, 0xb3800000};
    float out[LC_ARRAY_SIZE(in)];
    lc__half_to_float(in, out, LC_ARRAY_SIZE(in));
    for (size_t i = 0; i < LC_ARRAY_SIZE(in); i++)
        LC_ASSERT_UEQ(bits_of(out[i]), want[i]);
    LC_ASSERT_TRUE(out[4] == 65504.0f);
    LC_ASSERT_TRUE(out[5] == 0x1p-24f);

    /* All 65536 values against an independent reference. */
    static uint16_t all[65536];
    static float conv[65536];
    for (uint32_t i = 0; i < 65536; i++)
        all[i] = (uint16_t)i;
    lc__half_to_float(all, conv, 65536);
    for (uint32_t i = 0; i < 65536; i++) {
        float r = half_reference((uint16_t)i);
        bool ok = isnan(r) ? isnan(conv[i]) : bits_of(r) == bits_of(conv[i]);
        if (!ok) {
            LC_CHECK_FAIL_("half 0x%04x: 0x%08x != 0x%08x", i, bits_of(conv[i]),
                           bits_of(r));
            break;
        }
    }
}

/* ---- JPEG ------------------------------------------------------------------
 */

/*
 * Splits a complete JPEG into TIFF's JPEGTables (SOI, DQT and DHT
 * segments, EOI) and an abbreviated block (the rest). With adobe_rgb, the
 * JFIF marker is dropped and an Adobe marker with transform 0 (RGB, as
 * libtiff writes for photometric RGB) is put in its place.
 */
static void jpeg_split(const uint8_t *j, size_t n, uint8_t *tables, size_t *tn,
                       uint8_t *block, size_t *bn, bool adobe_rgb)
{
    static const uint8_t adobe[] = {0xff, 0xee, 0x00, 0x0e, 'A',  'd',
                                    'o',  'b',  'e',  0x00, 0x64, 0x00,
                                    0x00, 0x00, 0x00, 0x00};
    size_t t = 0, b = 0, pos = 2;
    tables[t++] = 0xff;
    tables[t++] = 0xd8;
    block[b++] = 0xff;
    block[b++] = 0xd8;
    if (adobe_rgb) {
        memcpy(block + b, adobe, sizeof(adobe));
        b += sizeof(adobe);
    }
    while (pos + 4 <= n) {
        uint8_t marker = j[pos + 1];
        if (marker == 0xda) {
            memcpy(block + b, j + pos, n - pos);
            b += n - pos;
            break;
        }
        size_t len = 2 + ((size_t)j[pos + 2] << 8 | j[pos + 3]);
        if (marker == 0xdb || marker == 0xc4) {
            memcpy(tables + t, j + pos, len);
            t += len;
        } else if (!(adobe_rgb && marker == 0xe0)) {
            memcpy(block + b, j + pos, len);
            b += len;
        }
        pos += len;
    }
    tables[t++] = 0xff;
    tables[t++] = 0xd9;
    *tn = t;
    *bn = b;
}

static void test_jpeg(void)
{
    const int w = 48, h = 32;
    uint8_t rgb[48 * 32 * 3], gray[48 * 32];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + (y * w + x) * 3;
            p[0] = (uint8_t)(x * 5);
            p[1] = (uint8_t)(y * 7);
            p[2] = (uint8_t)((x * y) & 0xff);
            gray[y * w + x] = (uint8_t)(x * 3 + y);
        }
    tjhandle c = tjInitCompress(), d = tjInitDecompress();
    unsigned char *j420 = NULL, *j444 = NULL, *jg = NULL;
    unsigned long n420 = 0, n444 = 0, ng = 0;
    LC_ASSERT_EQ(
        tjCompress2(c, rgb, w, 0, h, TJPF_RGB, &j420, &n420, TJSAMP_420, 85, 0),
        0);
    LC_ASSERT_EQ(
        tjCompress2(c, rgb, w, 0, h, TJPF_RGB, &j444, &n444, TJSAMP_444, 85, 0),
        0);
    LC_ASSERT_EQ(
        tjCompress2(c, gray, w, 0, h, TJPF_GRAY, &jg, &ng, TJSAMP_GRAY, 85, 0),
        0);
    uint8_t ref[48 * 32 * 3], refg[48 * 32], raw[48 * 32 * 3];
    tjDecompress2(d, j420, n420, ref, w, 0, h, TJPF_RGB, 0);
    tjDecompress2(d, jg, ng, refg, w, 0, h, TJPF_GRAY, 0);
    {
        /* The raw components of the 4:4:4 stream, interleaved. */
        static uint8_t planes[3][48 * 32];
        unsigned char *pl[3] = {planes[0], planes[1], planes[2]};
        int strides[3] = {w, w, w};
        tjDecompressToYUVPlanes(d, j444, n444, pl, w, strides, h, 0);
        for (int i = 0; i < w * h; i++)
            for (int k = 0; k < 3; k++)
                raw[i * 3 + k] = planes[k][i];
    }

    uint8_t *tables = malloc(n420 + n444 + 64);
    uint8_t *block = malloc(n420 + n444 + 64);
    size_t tn, bn;

    /* Complete streams, no JPEGTables. */
    struct lc__block_format f = fmt(LC_COMPRESSION_JPEG, 8, 1, 3, 48, 32);
    f.photometric = 6;
    decode_check(&f, j420, n420, ref, LC_OK);
    struct lc__block_format g = fmt(LC_COMPRESSION_JPEG, 8, 1, 1, 48, 32);
    decode_check(&g, jg, ng, refg, LC_OK);

    /* TIFF style: tables in the tag, abbreviated block. */
    jpeg_split(j420, n420, tables, &tn, block, &bn, false);
    f.jpeg_tables = tables;
    f.jpeg_tables_nbytes = tn;
    decode_check(&f, block, bn, ref, LC_OK);
    /* The same block without its tables: libjpeg-turbo has default
     * Huffman tables but no quantization tables, so it must fail; and a
     * handle used before must not lend it the previous block's. */
    struct lc__block_format nt = f;
    nt.jpeg_tables = NULL;
    nt.jpeg_tables_nbytes = 0;
    decode_check(&nt, block, bn, NULL, LC_ECORRUPT);
    /* Tables without any table in them: corrupt, for the same reason. */
    const uint8_t only_soi_eoi[] = {0xff, 0xd8, 0xff, 0xd9};
    nt.jpeg_tables = only_soi_eoi;
    nt.jpeg_tables_nbytes = sizeof(only_soi_eoi);
    decode_check(&nt, block, bn, NULL, LC_ECORRUPT);
    /* Tables that are not SOI ... EOI, a block without SOI. */
    nt.jpeg_tables = tables + 2;
    nt.jpeg_tables_nbytes = tn - 2;
    decode_check(&nt, block, bn, NULL, LC_ECORRUPT);
    decode_check(&f, block + 2, bn - 2, NULL, LC_ECORRUPT);
    /* Truncated block, garbage block, wrong dimensions. */
    decode_check(&f, block, bn - 40, NULL, LC_ECORRUPT);
    decode_check(&f, block, bn / 2, NULL, LC_ECORRUPT);
    decode_check(&f, block, 2, NULL, LC_ECORRUPT);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rnd();
    junk[0] = 0xff;
    junk[1] = 0xd8;
    decode_check(&f, junk, sizeof(junk), NULL, LC_ECORRUPT);
    struct lc__block_format small = f;
    small.width = 32;
    decode_check(&small, block, bn, NULL, LC_ECORRUPT);
    small = f;
    small.height = 16;
    decode_check(&small, block, bn, NULL, LC_ECORRUPT);
    /* A colour stream in a one-sample block and the reverse. */
    g.jpeg_tables = tables;
    g.jpeg_tables_nbytes = tn;
    decode_check(&g, block, bn, NULL, LC_ECORRUPT);
    decode_check(&f, jg, ng, NULL, LC_ECORRUPT);

    /* Photometric RGB over a YCbCr (JFIF) 4:4:4 stream: raw components,
     * as libtiff gives; over 4:2:0: unsupported. */
    struct lc__block_format r = fmt(LC_COMPRESSION_JPEG, 8, 1, 3, 48, 32);
    r.photometric = 2;
    jpeg_split(j444, n444, tables, &tn, block, &bn, false);
    r.jpeg_tables = tables;
    r.jpeg_tables_nbytes = tn;
    decode_check(&r, block, bn, raw, LC_OK);
    decode_check(&r, j420, n420, NULL, LC_EUNSUPPORTED);
    /* An RGB stream (Adobe transform 0) is not colour-converted: the same
     * raw components come out. In a YCbCr block it is unsupported. */
    jpeg_split(j444, n444, tables, &tn, block, &bn, true);
    decode_check(&r, block, bn, raw, LC_OK);
    f.jpeg_tables = tables;
    f.jpeg_tables_nbytes = tn;
    decode_check(&f, block, bn, NULL, LC_EUNSUPPORTED);

    /* GDAL: 16x16 YCbCr tile with JPEGTables, decoded as GDAL does. */
    f = fmt(LC_COMPRESSION_JPEG, 8, 1, 3, 16, 16);
    f.photometric = 6;
    f.jpeg_tables = kat_jpeg_ycbcr_tables;
    f.jpeg_tables_nbytes = sizeof(kat_jpeg_ycbcr_tables);
    decode_check(&f, kat_jpeg_ycbcr, sizeof(kat_jpeg_ycbcr),
                 kat_jpeg_ycbcr_expect, LC_OK);

    free(tables);
    free(block);
    tjFree(j420);
    tjFree(j444);
    tjFree(jg);
    tjDestroy(c);
    tjDestroy(d);
}

/* ---- WebP ------------------------------------------------------------------
 */

static void test_webp(void)
{
    const int w = 40, h = 24;
    uint8_t rgba[40 * 24 * 4], rgb[40 * 24 * 3];
    for (int i = 0; i < w * h; i++) {
        rgba[i * 4] = rgb[i * 3] = (uint8_t)(i * 3);
        rgba[i * 4 + 1] = rgb[i * 3 + 1] = (uint8_t)(i / 7);
        rgba[i * 4 + 2] = rgb[i * 3 + 2] = (uint8_t)(i ^ 0x55);
        rgba[i * 4 + 3] = (uint8_t)(i % 3 ? 255 : 17);
    }
    uint8_t *ll3 = NULL, *ll4 = NULL, *lossy = NULL;
    size_t n3 = WebPEncodeLosslessRGB(rgb, w, h, w * 3, &ll3);
    size_t n4 = WebPEncodeLosslessRGBA(rgba, w, h, w * 4, &ll4);
    size_t nl = WebPEncodeRGB(rgb, w, h, w * 3, 75, &lossy);
    LC_ASSERT_TRUE(n3 > 0 && n4 > 0 && nl > 0);

    struct lc__block_format f3 = fmt(LC_COMPRESSION_WEBP, 8, 1, 3, 40, 24);
    struct lc__block_format f4 = fmt(LC_COMPRESSION_WEBP, 8, 1, 4, 40, 24);
    decode_check(&f3, ll3, n3, rgb, LC_OK);
    decode_check(&f4, ll4, n4, rgba, LC_OK);
    /* Lossy: the same pixels as libwebp's own simple decoder. */
    int rw, rh;
    uint8_t *ref = WebPDecodeRGB(lossy, nl, &rw, &rh);
    decode_check(&f3, lossy, nl, ref, LC_OK);
    WebPFree(ref);
    /* RGBA from a stream without alpha: alpha 255. */
    uint8_t *o = decode_keep(&f4, ll3, n3, LC_OK);
    if (o != NULL) {
        for (int i = 0; i < w * h; i++)
            if (o[i * 4 + 3] != 255 || memcmp(o + i * 4, rgb + i * 3, 3)) {
                LC_CHECK_FAIL_("WebP RGB as RGBA: pixel %d", i);
                break;
            }
        free(o);
    }
    /* Hostile. */
    decode_check(&f3, ll3, n3 / 2, NULL, LC_ECORRUPT);
    decode_check(&f3, lossy, nl - 10, NULL, LC_ECORRUPT);
    decode_check(&f3, ll3, 10, NULL, LC_ECORRUPT);
    decode_check(&f3, rgb, 200, NULL, LC_ECORRUPT);
    struct lc__block_format bad = f3;
    bad.width = 41;
    decode_check(&bad, ll3, n3, NULL, LC_ECORRUPT);
    bad = f3;
    bad.height = 23;
    decode_check(&bad, ll3, n3, NULL, LC_ECORRUPT);
    WebPFree(ll3);
    WebPFree(ll4);
    WebPFree(lossy);
}

/* ---- LERC ------------------------------------------------------------------
 */

static uint8_t *lerc_blob(const void *data, unsigned dt, int ndim, int w, int h,
                          int nbands, int nmasks, const uint8_t *valid,
                          unsigned *n)
{
    unsigned cap = 0;
    LC_ASSERT_EQ(lerc_computeCompressedSize(data, dt, ndim, w, h, nbands,
                                            nmasks, valid, 0, &cap),
                 0);
    uint8_t *blob = malloc(cap);
    LC_ASSERT_EQ(lerc_encode(data, dt, ndim, w, h, nbands, nmasks, valid, 0,
                             blob, cap, n),
                 0);
    return blob;
}

static void test_lerc_types(void)
{
    /* Every type, 1 and 2 samples, lossless, as-is and wrapped. */
    const struct {
        unsigned bits, sf, dt;
    } types[] = {{8, 2, 0},  {8, 1, 1},  {16, 2, 2}, {16, 1, 3},
                 {32, 2, 4}, {32, 1, 5}, {32, 3, 6}, {64, 3, 7}};
    for (size_t t = 0; t < LC_ARRAY_SIZE(types); t++)
        for (unsigned s = 1; s <= 2; s++) {
            struct lc__block_format f =
                fmt(LC_COMPRESSION_LERC, types[t].bits, types[t].sf, s, 33, 17);
            size_t n = nbytes_of(&f);
            uint8_t *raw = malloc(n);
            fill_field(raw, n, 1);
            if (types[t].sf == 3) /* finite floats */
                for (size_t i = 0; i < n / (types[t].bits / 8); i++) {
                    if (types[t].bits == 32) {
                        float v = (float)(i % 97) * 0.25f - 3.0f;
                        memcpy(raw + 4 * i, &v, 4);
                    } else {
                        double v = (double)(i % 89) * 0.125 - 5.0;
                        memcpy(raw + 8 * i, &v, 8);
                    }
                }
            unsigned bn = 0;
            uint8_t *blob =
                lerc_blob(raw, types[t].dt, (int)s, 33, 17, 1, 0, NULL, &bn);
            decode_check(&f, blob, bn, raw, LC_OK);
            /* Truncated, padded, the wrong type, the wrong size. */
            decode_check(&f, blob, bn - 1, NULL, LC_ECORRUPT);
            decode_check(&f, blob, bn / 2, NULL, LC_ECORRUPT);
            uint8_t *padded = malloc(bn + 1);
            memcpy(padded, blob, bn);
            padded[bn] = 0;
            decode_check(&f, padded, bn + 1, NULL, LC_ECORRUPT);
            free(padded);
            struct lc__block_format g = f;
            g.sample_format = types[t].sf == 1 ? 2 : 1;
            if (types[t].sf != 3)
                decode_check(&g, blob, bn, NULL, LC_ECORRUPT);
            g = f;
            g.width = 32;
            decode_check(&g, blob, bn, NULL, LC_ECORRUPT);
            g = f;
            g.samples = (uint16_t)(s + 1);
            /* (8-bit unsigned with one sample more is RGB + alpha.) */
            if (types[t].dt != 1)
                decode_check(&g, blob, bn, NULL, LC_ECORRUPT);

            /* Wrapped in zlib and in zstd. */
            uint8_t *z;
            size_t zn = zlib_compress(blob, bn, &z);
            f.lerc_wrap = LC_LERC_WRAP_DEFLATE;
            decode_check(&f, z, zn, raw, LC_OK);
            decode_check(&f, z, zn - 1, NULL, LC_ECORRUPT);
            decode_check(&f, blob, bn, NULL, LC_ECORRUPT);
            free(z);
            size_t zcap = ZSTD_compressBound(bn);
            z = malloc(zcap);
            zn = ZSTD_compress(z, zcap, blob, bn, 3);
            f.lerc_wrap = LC_LERC_WRAP_ZSTD;
            decode_check(&f, z, zn, raw, LC_OK);
            decode_check(&f, z, zn - 1, NULL, LC_ECORRUPT);
            free(z);

            /* A big-endian file's blob holds byte-swapped values. */
            if (types[t].bits > 8) {
                unsigned bps = types[t].bits / 8;
                uint8_t *sw = malloc(n);
                to_file_order(sw, raw, n, bps, true);
                free(blob);
                blob =
                    lerc_blob(sw, types[t].dt, (int)s, 33, 17, 1, 0, NULL, &bn);
                f.lerc_wrap = LC_LERC_WRAP_NONE;
                f.big_endian = true;
                decode_check(&f, blob, bn, raw, LC_OK);
                free(sw);
            }
            free(blob);
            free(raw);
        }
}

static void test_lerc_masks(void)
{
    enum { W = 20, H = 10, N = W * H };
    uint8_t valid[3 * N];
    for (int i = 0; i < 3 * N; i++)
        valid[i] = (i % 7) != 3;

    /* float32, one sample, masked pixels become NaN. */
    float data[3 * N], want[3 * N];
    for (int i = 0; i < 3 * N; i++)
        data[i] = (float)i * 0.5f;
    unsigned bn;
    uint8_t *blob = lerc_blob(data, 6, 1, W, H, 1, 1, valid, &bn);
    struct lc__block_format f = fmt(LC_COMPRESSION_LERC, 32, 3, 1, W, H);
    uint8_t *o = decode_keep(&f, blob, bn, LC_OK);
    for (int i = 0; o != NULL && i < N; i++) {
        float v;
        memcpy(&v, o + 4 * i, 4);
        if (valid[i] ? v != data[i] : bits_of(v) != 0x7fc00000u) {
            LC_CHECK_FAIL_("LERC float mask: pixel %d", i);
            break;
        }
    }
    free(o);
    free(blob);

    /* float64, 3 samples as nDim = 3 with one mask: whole pixels NaN. */
    double d3[3 * N];
    for (int i = 0; i < 3 * N; i++)
        d3[i] = (double)i * 0.25;
    blob = lerc_blob(d3, 7, 3, W, H, 1, 1, valid, &bn);
    f = fmt(LC_COMPRESSION_LERC, 64, 3, 3, W, H);
    o = decode_keep(&f, blob, bn, LC_OK);
    for (int i = 0; o != NULL && i < 3 * N; i++) {
        double v;
        memcpy(&v, o + 8 * i, 8);
        bool ok = valid[i / 3] ? v == d3[i] : isnan(v);
        if (!ok) {
            LC_CHECK_FAIL_("LERC double nDim=3 mask: sample %d", i);
            break;
        }
    }
    free(o);
    free(blob);

    /* float32, 3 samples as 3 bands with a mask each (what liblerc 3+
     * writers do when NaNs differ between samples): interleaved. */
    blob = lerc_blob(data, 6, 1, W, H, 3, 3, valid, &bn);
    for (int i = 0; i < N; i++)
        for (int b = 0; b < 3; b++)
            want[i * 3 + b] = valid[b * N + i] ? data[b * N + i] : NAN;
    f = fmt(LC_COMPRESSION_LERC, 32, 3, 3, W, H);
    o = decode_keep(&f, blob, bn, LC_OK);
    for (int i = 0; o != NULL && i < 3 * N; i++) {
        float v;
        memcpy(&v, o + 4 * i, 4);
        bool ok = isnan(want[i]) ? bits_of(v) == 0x7fc00000u : v == want[i];
        if (!ok) {
            LC_CHECK_FAIL_("LERC bands: sample %d", i);
            break;
        }
    }
    free(o);
    free(blob);
    /* ... and the same bands without masks. */
    blob = lerc_blob(data, 6, 1, W, H, 3, 0, NULL, &bn);
    for (int i = 0; i < N; i++)
        for (int b = 0; b < 3; b++)
            want[i * 3 + b] = data[b * N + i];
    decode_check(&f, blob, bn, want, LC_OK);
    free(blob);

    /* uint16 with a mask: decoded, masked pixels are 0 (see lerc.c). */
    uint16_t u[N], uw[N];
    for (int i = 0; i < N; i++) {
        u[i] = (uint16_t)(1000 + i);
        uw[i] = valid[i] ? u[i] : 0;
    }
    blob = lerc_blob(u, 3, 1, W, H, 1, 1, valid, &bn);
    f = fmt(LC_COMPRESSION_LERC, 16, 1, 1, W, H);
    decode_check(&f, blob, bn, uw, LC_OK);
    free(blob);

    /* uint8 RGB + mask for a 4-sample block: alpha from the mask. */
    uint8_t rgb[3 * N], rgba[4 * N];
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 3; k++) {
            rgb[i * 3 + k] = (uint8_t)(i + 50 * k);
            rgba[i * 4 + k] = valid[i] ? rgb[i * 3 + k] : 0;
            rgba[i * 4 + 3] = valid[i] ? 255 : 0;
        }
    blob = lerc_blob(rgb, 1, 3, W, H, 1, 1, valid, &bn);
    f = fmt(LC_COMPRESSION_LERC, 8, 1, 4, W, H);
    decode_check(&f, blob, bn, rgba, LC_OK);
    free(blob);
    /* Without a mask: alpha 255 everywhere. */
    blob = lerc_blob(rgb, 1, 3, W, H, 1, 0, NULL, &bn);
    for (int i = 0; i < N; i++) {
        memcpy(rgba + i * 4, rgb + i * 3, 3);
        rgba[i * 4 + 3] = 255;
    }
    decode_check(&f, blob, bn, rgba, LC_OK);
    free(blob);
}

/* ---- LERC's lossless float coding (lerc_fpl.c) --------------------------
 *
 * Blobs liblerc wrote, decoded by lerc_fpl.c and by liblerc: equal values
 * and masks. A census of the coded planes makes sure every plane coding
 * and predictor was among them. Then mutated blobs, with their checksum
 * made right again, go through lerc_fpl.c only (liblerc aborts on some). */

struct fpl_census {
    unsigned modes[4]; /* plane codings: Huffman, one byte, stored, packbits */
    unsigned preds[3]; /* predictors: none, rows, rows and columns */
};

/* Where band 0's FPL payload starts in a Lerc2 v6 blob, or 0. */
static size_t fpl_payload_at(const uint8_t *b, size_t n)
{
    int32_t v[8];
    if (n < 98 || memcmp(b, "Lerc2 ", 6) != 0)
        return 0;
    memcpy(v, b + 14, sizeof v);
    int32_t version, depth = v[2], nvalid = v[3], dt = v[6];
    memcpy(&version, b + 6, 4);
    double zmin, zmax;
    memcpy(&zmin, b + 58, 8);
    memcpy(&zmax, b + 66, 8);
    if (version != 6 || nvalid == 0 || zmin == zmax || (dt != 6 && dt != 7))
        return 0;
    int32_t mask_n;
    memcpy(&mask_n, b + 90, 4);
    size_t at = 94 + (size_t)mask_n + 2 * (size_t)depth * (dt == 6 ? 4 : 8);
    if (at + 3 > n || b[at] != 0 || b[at + 1] != 3)
        return 0;
    return at + 2;
}

static void fpl_count(const uint8_t *b, size_t n, struct fpl_census *c)
{
    size_t at = fpl_payload_at(b, n);
    if (at == 0)
        return;
    int32_t dt;
    memcpy(&dt, b + 38, 4);
    c->preds[b[at] % 3]++;
    at++;
    for (int k = 0; k < (dt == 6 ? 4 : 8) && at + 7 <= n; k++) {
        uint32_t csize;
        memcpy(&csize, b + at + 2, 4);
        c->modes[b[at + 6] & 3]++;
        at += 6 + csize;
    }
}

/* Compares lerc_fpl.c with liblerc on one blob; returns whether lerc_fpl.c
 * took it. */
static bool fpl_compare(const uint8_t *blob, unsigned bn, unsigned dt, int ndim,
                        int w, int h, int nbands, int nmasks, const char *what)
{
    size_t es = dt == 6 ? 4 : 8, npix = (size_t)w * h;
    size_t n = npix * (size_t)ndim * (size_t)nbands * es;
    uint8_t *want = calloc(n, 1), *got = calloc(n, 1);
    uint8_t *want_m = calloc(npix * 3 + 1, 1), *got_m = calloc(npix * 3 + 1, 1);
    LC_ASSERT_EQ(
        lerc_decode(blob, bn, nmasks, want_m, ndim, w, h, nbands, dt, want), 0);
    bool handled = false;
    struct lc__errbuf err = {0};
    int st =
        lc__codec_lerc_fpl(NULL, blob, bn, (unsigned)nbands, (unsigned)nmasks,
                           got_m, got, n, &handled, &err);
    LC_ASSERT_EQ(st, LC_OK);
    if (st != LC_OK)
        fprintf(stderr, "  %s: %s\n", what, err.msg);
    if (handled) {
        if (memcmp(want, got, n) != 0)
            LC_CHECK_FAIL_("LERC FPL %s: values differ from liblerc's", what);
        if (memcmp(want_m, got_m, npix * (size_t)nmasks) != 0)
            LC_CHECK_FAIL_("LERC FPL %s: masks differ from liblerc's", what);
    }
    free(want);
    free(got);
    free(want_m);
    free(got_m);
    return handled;
}

/* Payload bytes of band 0 changed, one to three at a time, the checksum
 * made right: lerc_fpl.c must answer LC_OK or an error, and never touch
 * memory it does not own (ASan). */
static void fpl_mutate(const uint8_t *blob, unsigned bn, int nbands,
                       size_t out_n, unsigned rounds)
{
    size_t at = fpl_payload_at(blob, bn);
    int32_t size0;
    memcpy(&size0, blob + 34, 4); /* blobSize */
    if (at == 0 || (size_t)size0 <= at)
        return;
    uint8_t *copy = malloc(bn), *out = malloc(out_n), *m = malloc(out_n);
    for (unsigned r = 0; r < rounds; r++) {
        memcpy(copy, blob, bn);
        unsigned nflips = 1 + rnd() % 3;
        for (unsigned k = 0; k < nflips; k++) {
            size_t pos = at - 1 + rnd() % ((size_t)size0 - at + 1);
            copy[pos] =
                (uint8_t)(r % 2 ? rnd() : copy[pos] ^ (1u << rnd() % 8));
        }
        uint32_t c = lc__codec_lerc_checksum(copy + 14, (size_t)size0 - 14);
        memcpy(copy + 10, &c, 4);
        bool handled = false;
        struct lc__errbuf err = {0};
        int st = lc__codec_lerc_fpl(NULL, copy, bn, (unsigned)nbands, 1, m, out,
                                    out_n, &handled, &err);
        if (st != LC_OK && st != LC_ECORRUPT && st != LC_EUNSUPPORTED) {
            LC_CHECK_FAIL_("LERC FPL mutation: status %s", lc_err_name(st));
            break;
        }
    }
    free(copy);
    free(out);
    free(m);
}

static void test_lerc_fpl(void)
{
    enum { W = 67, H = 45, N = W * H };
    struct fpl_census census = {{0}, {0}};
    unsigned handled = 0, cases = 0;
    uint8_t valid[3 * N];
    for (int i = 0; i < 3 * N; i++)
        valid[i] = (i % 11) != 4;
    for (unsigned pattern = 0; pattern < 6; pattern++)
        for (unsigned dt = 6; dt <= 7; dt++)
            for (int ndim = 1; ndim <= 3; ndim += 2)
                for (int nbands = 1; nbands <= 2; nbands++)
                    for (int nmasks = 0; nmasks <= 1; nmasks++) {
                        size_t nv = (size_t)N * ndim * nbands;
                        double *v = malloc(nv * sizeof *v);
                        for (size_t i = 0; i < nv; i++) {
                            size_t px = i / (size_t)ndim % N;
                            double x = (double)(px % W), y = (double)(px / W);
                            switch (pattern) {
                            case 0: /* smooth */
                                v[i] = 100 * sin(y * 0.11) +
                                       40 * cos(x * 0.07) +
                                       (double)(i % (size_t)ndim);
                                break;
                            case 1: /* noise */
                                v[i] = (double)(int32_t)rnd() * 1e-3;
                                break;
                            case 2: /* steps: runs of one value */
                                v[i] = (double)((px / 23) % 5) * 1.5;
                                break;
                            case 3: /* sparse: mostly 0 */
                                v[i] = rnd() % 100 == 0
                                           ? (double)(rnd() % 100000) * 0.37
                                           : 0.0;
                                break;
                            case 4: /* a random walk along each row */
                                v[i] = (x == 0 ? (double)(rnd() % 1000)
                                               : v[i - (size_t)ndim]) +
                                       (double)(rnd() % 16) * 0.125;
                                break;
                            default: /* band 2 constant, band 1 smooth */
                                v[i] = i >= nv / (size_t)nbands && nbands > 1
                                           ? 7.25
                                           : sin(x * 0.3) * cos(y * 0.2);
                                break;
                            }
                        }
                        size_t es = dt == 6 ? 4 : 8;
                        uint8_t *raw = malloc(nv * es);
                        for (size_t i = 0; i < nv; i++) {
                            if (dt == 6) {
                                float f = (float)v[i];
                                memcpy(raw + 4 * i, &f, 4);
                            } else {
                                memcpy(raw + 8 * i, &v[i], 8);
                            }
                        }
                        unsigned bn = 0;
                        uint8_t *blob =
                            lerc_blob(raw, dt, ndim, W, H, nbands, nmasks,
                                      nmasks ? valid : NULL, &bn);
                        char what[64];
                        snprintf(what, sizeof what,
                                 "pattern %u dt %u ndim %d bands %d masks %d",
                                 pattern, dt, ndim, nbands, nmasks);
                        fpl_count(blob, bn, &census);
                        handled += fpl_compare(blob, bn, dt, ndim, W, H, nbands,
                                               nmasks, what);
                        cases++;
                        if (nmasks == 1 && nbands == 1)
                            fpl_mutate(blob, bn, nbands, nv * es, 400);
                        free(blob);
                        free(raw);
                        free(v);
                    }
    /* Most blobs hold FPL bands, and every coding and predictor came up. */
    LC_ASSERT_TRUE(handled * 2 > cases);
    for (int k = 0; k < 4; k++)
        if (census.modes[k] == 0)
            LC_CHECK_FAIL_("LERC FPL: no plane coded in mode %d", k);
    for (int k = 0; k < 3; k++)
        if (census.preds[k] == 0)
            LC_CHECK_FAIL_("LERC FPL: no blob with predictor %d", k);
    fprintf(stderr,
            "LERC FPL: %u of %u blobs; modes %u %u %u %u, "
            "predictors %u %u %u\n",
            handled, cases, census.modes[0], census.modes[1], census.modes[2],
            census.modes[3], census.preds[0], census.preds[1], census.preds[2]);
}

static void test_lerc_hostile_and_kats(void)
{
    struct lc__block_format f = fmt(LC_COMPRESSION_LERC, 32, 3, 1, 16, 16);
    uint8_t junk[256];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rnd();
    decode_check(&f, junk, sizeof(junk), NULL, LC_ECORRUPT);
    memcpy(junk, "Lerc2 ", 6);
    decode_check(&f, junk, sizeof(junk), NULL, LC_ECORRUPT);
    decode_check(&f, junk, 0, NULL, LC_ECORRUPT);
    /* A wrapper that inflates past the cap (raw size * 4/3 + 256 bytes,
     * or ZSTD_compressBound if larger). */
    size_t big = 16 * 16 * 4 * 2 + 4096;
    uint8_t *zeros = calloc(1, big), *z;
    size_t zn = zlib_compress(zeros, big, &z);
    f.lerc_wrap = LC_LERC_WRAP_DEFLATE;
    decode_check(&f, z, zn, NULL, LC_ECORRUPT);
    free(z);
    z = malloc(ZSTD_compressBound(big));
    zn = ZSTD_compress(z, ZSTD_compressBound(big), zeros, big, 1);
    f.lerc_wrap = LC_LERC_WRAP_ZSTD;
    decode_check(&f, z, zn, NULL, LC_ECORRUPT);
    free(z);
    free(zeros);

    /* GDAL: float32 with NaNs, LERC_DEFLATE. */
    float want[256];
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            want[y * 16 + x] =
                (x + 2 * y) % 5 == 0 ? NAN : (float)((x - 7.25) * (y + 0.5));
    f = fmt(LC_COMPRESSION_LERC, 32, 3, 1, 16, 16);
    f.lerc_version = 4;
    f.lerc_wrap = LC_LERC_WRAP_DEFLATE;
    uint8_t *o = decode_keep(&f, kat_lerc_deflate_f32,
                             sizeof(kat_lerc_deflate_f32), LC_OK);
    for (int i = 0; o != NULL && i < 256; i++) {
        float v;
        memcpy(&v, o + 4 * i, 4);
        bool ok = isnan(want[i]) ? isnan(v) : v == want[i];
        if (!ok) {
            LC_CHECK_FAIL_("GDAL LERC float: pixel %d", i);
            break;
        }
    }
    free(o);
    /* GDAL: RGBA with an alpha band, LERC keeps alpha as the mask. */
    f = fmt(LC_COMPRESSION_LERC, 8, 1, 4, 16, 16);
    f.lerc_version = 4;
    decode_check(&f, kat_lerc_rgba, sizeof(kat_lerc_rgba), kat_lerc_rgba_expect,
                 LC_OK);
}

/* ---- context and allocation ------------------------------------------------
 */

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

static void test_allocator(void)
{
    struct counting cnt = {0, 0, 0};
    struct lc_allocator a = {counting_alloc, counting_free, &cnt};
    struct lc__codec_ctx *ctx = NULL;

    LC_ASSERT_EQ(lc__codec_ctx_new(&a, &ctx), LC_ENOMEM);
    LC_ASSERT_TRUE(ctx == NULL);

    /* Enough for the context, not for the JPEG splice scratch. */
    cnt.budget = 1;
    LC_ASSERT_EQ(lc__codec_ctx_new(&a, &ctx), LC_OK);
    struct lc__block_format f = fmt(LC_COMPRESSION_JPEG, 8, 1, 3, 16, 16);
    f.photometric = 6;
    f.jpeg_tables = kat_jpeg_ycbcr_tables;
    f.jpeg_tables_nbytes = sizeof(kat_jpeg_ycbcr_tables);
    uint8_t out[16 * 16 * 3];
    struct lc__errbuf err;
    LC_ASSERT_EQ(lc__block_decode(ctx, &f, kat_jpeg_ycbcr,
                                  sizeof(kat_jpeg_ycbcr), out, sizeof(out),
                                  &err),
                 LC_ENOMEM);
    cnt.budget = 100;
    LC_ASSERT_EQ(lc__block_decode(ctx, &f, kat_jpeg_ycbcr,
                                  sizeof(kat_jpeg_ycbcr), out, sizeof(out),
                                  &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(out, kat_jpeg_ycbcr_expect, sizeof(out));
    /* The context is reusable across codecs and sizes. */
    struct lc__block_format g = fmt(LC_COMPRESSION_DEFLATE, 32, 3, 2, 16, 16);
    g.predictor = 3;
    float fo[512];
    LC_ASSERT_EQ(lc__block_decode(ctx, &g, kat_deflate_f32x2_pred3,
                                  sizeof(kat_deflate_f32x2_pred3),
                                  (uint8_t *)fo, sizeof(fo), &err),
                 LC_OK);
    lc__codec_ctx_free(ctx);
    LC_ASSERT_UEQ(cnt.frees, cnt.allocs);
}

int main(void)
{
    LC_ASSERT_EQ(lc__codec_ctx_new(NULL, &g_ctx), LC_OK);
    test_block_nbytes();
    test_bad_arguments();
    test_none_and_byte_order();
    test_deflate();
    test_zstd();
    test_lzw_roundtrip();
    test_lzw_hostile();
    test_lzw_kat();
    test_packbits();
    test_predictors();
    test_predictor_kernels();
    test_predictor_kats();
    test_half_to_float();
    test_jpeg();
    test_webp();
    test_lerc_types();
    test_lerc_masks();
    test_lerc_hostile_and_kats();
    test_lerc_fpl();
    test_allocator();
    lc__codec_ctx_free(g_ctx);
    LC_TEST_END();
}
