/* codec.c - block format checks, dispatch to the decoders, deflate, zstd,
 * byte order, predictors and float16. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <libdeflate.h>
#include <stdatomic.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../x86/x86_internal.h"
#include "codec_internal.h"

/* ---- the context ---------------------------------------------------------
 */

int lc__codec_ctx_new(const struct lc_allocator *alloc,
                      struct lc__codec_ctx **ctx_ret)
{
    struct lc__codec_ctx *ctx;

    if (ctx_ret == NULL)
        return LC_EINVAL;
    *ctx_ret = NULL;
    ctx = lc__calloc(alloc, 1, sizeof(*ctx));
    if (ctx == NULL)
        return LC_ENOMEM;
    if (alloc != NULL)
        ctx->alloc = *alloc;
    *ctx_ret = ctx;
    return LC_OK;
}

void lc__codec_ctx_free(struct lc__codec_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (size_t i = 0; i < LC_ARRAY_SIZE(ctx->scratch); i++)
        lc__free(&ctx->alloc, ctx->scratch[i].p);
    ZSTD_freeDCtx(ctx->zstd);
    libdeflate_free_decompressor(ctx->deflate);
    /* Copied out first: the allocator lives inside the block it frees. */
    struct lc_allocator alloc = ctx->alloc;
    lc__free(&alloc, ctx);
}

int lc__codec_scratch(struct lc__codec_ctx *ctx,
                      enum lc__codec_scratch_slot slot, size_t nbytes,
                      uint8_t **p_ret, struct lc__errbuf *err)
{
    struct lc__codec_scratch *s = &ctx->scratch[slot];

    if (s->cap < nbytes) {
        /* No realloc: the old contents are not needed, so do not copy. */
        lc__free(&ctx->alloc, s->p);
        s->cap = 0;
        s->p = lc__malloc(&ctx->alloc, nbytes);
        LC_RETURN_IF(s->p == NULL, err, LC_ENOMEM,
                     "codec: cannot allocate %zu bytes of scratch", nbytes);
        s->cap = nbytes;
    }
    *p_ret = s->p;
    return LC_OK;
}

int lc__codec_deflate(struct lc__codec_ctx *ctx,
                      struct libdeflate_decompressor **d_ret,
                      struct lc__errbuf *err)
{
    if (ctx->deflate == NULL) {
        ctx->deflate = libdeflate_alloc_decompressor();
        LC_RETURN_IF(ctx->deflate == NULL, err, LC_ENOMEM,
                     "deflate: cannot allocate a decompressor");
    }
    *d_ret = ctx->deflate;
    return LC_OK;
}

int lc__codec_zstd(struct lc__codec_ctx *ctx, ZSTD_DCtx **z_ret,
                   struct lc__errbuf *err)
{
    if (ctx->zstd == NULL) {
        ctx->zstd = ZSTD_createDCtx();
        LC_RETURN_IF(ctx->zstd == NULL, err, LC_ENOMEM,
                     "zstd: cannot allocate a decompression context");
    }
    *z_ret = ctx->zstd;
    return LC_OK;
}

/* ---- format checks --------------------------------------------------------
 */

static const char *compression_name(uint16_t c)
{
    switch (c) {
    case LC_COMPRESSION_NONE:
        return "uncompressed";
    case LC_COMPRESSION_LZW:
        return "LZW";
    case LC_COMPRESSION_OJPEG:
        return "old-style JPEG";
    case LC_COMPRESSION_JPEG:
        return "JPEG";
    case LC_COMPRESSION_ADOBE_DEFLATE:
    case LC_COMPRESSION_DEFLATE:
        return "deflate";
    case LC_COMPRESSION_PACKBITS:
        return "PackBits";
    case LC_COMPRESSION_LERC:
        return "LERC";
    case LC_COMPRESSION_LZMA:
        return "LZMA";
    case LC_COMPRESSION_ZSTD:
        return "zstd";
    case LC_COMPRESSION_WEBP:
        return "WebP";
    case LC_COMPRESSION_JXL:
        return "JPEG-XL";
    default:
        return "unknown";
    }
}

int lc__codec_lerc_type(const struct lc__block_format *f)
{
    /* Lerc_types.h: char, uchar, short, ushort, int, uint, float, double. */
    bool sgn = f->sample_format == 2;

    if (f->sample_format == 3)
        return f->bits_per_sample == 32 ? 6 : f->bits_per_sample == 64 ? 7 : -1;
    switch (f->bits_per_sample) {
    case 8:
        return sgn ? 0 : 1;
    case 16:
        return sgn ? 2 : 3;
    case 32:
        return sgn ? 4 : 5;
    default:
        return -1; /* LERC has no 64-bit integers */
    }
}

/* Whether libtiff runs the predictor for this compression (it does not for
 * the others, which ignore the tag; GDAL reads them that way, so do we). */
static bool uses_predictor(uint16_t compression)
{
    return compression == LC_COMPRESSION_LZW ||
           compression == LC_COMPRESSION_DEFLATE ||
           compression == LC_COMPRESSION_ADOBE_DEFLATE ||
           compression == LC_COMPRESSION_ZSTD;
}

static int check_codec(const struct lc__block_format *f, struct lc__errbuf *err)
{
    const char *name = compression_name(f->compression);
    unsigned bits = f->bits_per_sample;
    bool u8 = bits == 8 && f->sample_format == 1;

    switch (f->compression) {
    case LC_COMPRESSION_NONE:
    case LC_COMPRESSION_PACKBITS:
        return LC_OK;
    case LC_COMPRESSION_LZW:
    case LC_COMPRESSION_ADOBE_DEFLATE:
    case LC_COMPRESSION_DEFLATE:
    case LC_COMPRESSION_ZSTD:
        if (f->predictor == 1 || f->predictor == 2)
            return LC_OK;
        if (f->predictor == 3) {
            LC_RETURN_IF(f->sample_format != 3, err, LC_EUNSUPPORTED,
                         "%s: floating-point predictor on %u-bit "
                         "non-float samples not supported",
                         name, bits);
            return LC_OK;
        }
        return lc__error(err, LC_EUNSUPPORTED, "%s: predictor %u not supported",
                         name, (unsigned)f->predictor);
    case LC_COMPRESSION_JPEG:
        LC_RETURN_IF(!u8, err, LC_EUNSUPPORTED,
                     "JPEG: only 8-bit unsigned samples are supported, not "
                     "%u-bit (sample format %u)",
                     bits, (unsigned)f->sample_format);
        LC_RETURN_IF(f->samples != 1 && f->samples != 3, err, LC_EUNSUPPORTED,
                     "JPEG: %u samples per pixel not supported (1 or 3)",
                     (unsigned)f->samples);
        LC_RETURN_IF(f->samples == 3 && f->photometric != 2 &&
                         f->photometric != 6,
                     err, LC_EUNSUPPORTED,
                     "JPEG: 3 samples with photometric %u not supported "
                     "(2 RGB or 6 YCbCr)",
                     (unsigned)f->photometric);
        return LC_OK;
    case LC_COMPRESSION_WEBP:
        LC_RETURN_IF(!u8, err, LC_EUNSUPPORTED,
                     "WebP: only 8-bit unsigned samples are supported, not "
                     "%u-bit (sample format %u)",
                     bits, (unsigned)f->sample_format);
        LC_RETURN_IF(f->samples != 3 && f->samples != 4, err, LC_EUNSUPPORTED,
                     "WebP: %u samples per pixel not supported (3 or 4)",
                     (unsigned)f->samples);
        return LC_OK;
    case LC_COMPRESSION_LERC:
        LC_RETURN_IF(lc__codec_lerc_type(f) < 0, err, LC_EUNSUPPORTED,
                     "LERC: %u-bit samples of sample format %u not supported",
                     bits, (unsigned)f->sample_format);
        LC_RETURN_IF(f->lerc_wrap > LC_LERC_WRAP_ZSTD, err, LC_EUNSUPPORTED,
                     "LERC: additional compression %u not supported",
                     (unsigned)f->lerc_wrap);
        return LC_OK;
    case LC_COMPRESSION_OJPEG:
    case LC_COMPRESSION_LZMA:
    case LC_COMPRESSION_JXL:
    default:
        return lc__error(err, LC_EUNSUPPORTED,
                         "compression %u (%s) not supported",
                         (unsigned)f->compression, name);
    }
}

int lc__block_nbytes(const struct lc__block_format *f, size_t *nbytes_ret,
                     struct lc__errbuf *err)
{
    size_t n;

    LC_RETURN_IF(f == NULL || nbytes_ret == NULL, err, LC_EINVAL,
                 "codec: no block format");
    LC_RETURN_IF(f->width == 0 || f->height == 0 || f->samples == 0, err,
                 LC_EINVAL, "codec: empty block (%ux%u pixels, %u samples)",
                 (unsigned)f->width, (unsigned)f->height, (unsigned)f->samples);
    unsigned bits = f->bits_per_sample;
    LC_RETURN_IF(bits != 8 && bits != 16 && bits != 32 && bits != 64, err,
                 LC_EUNSUPPORTED, "codec: %u bits per sample not supported",
                 bits);
    LC_RETURN_IF(f->sample_format < 1 || f->sample_format > 3, err,
                 LC_EUNSUPPORTED, "codec: sample format %u not supported",
                 (unsigned)f->sample_format);
    LC_RETURN_IF(f->sample_format == 3 && bits == 8, err, LC_EUNSUPPORTED,
                 "codec: 8-bit floating-point samples not supported");
    LC_FORWARD_IF_ERROR(check_codec(f, err));
    LC_RETURN_IF(!lc__size_mul(f->width, f->height, &n) ||
                     !lc__size_mul(n, f->samples, &n) ||
                     !lc__size_mul(n, bits / 8, &n),
                 err, LC_ELIMIT,
                 "codec: a block of %ux%u pixels of %u samples is too large",
                 (unsigned)f->width, (unsigned)f->height, (unsigned)f->samples);
    *nbytes_ret = n;
    return LC_OK;
}

/* ---- simple decompressors -------------------------------------------------
 */

static int decode_deflate(struct lc__codec_ctx *ctx, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err)
{
    struct libdeflate_decompressor *d = NULL;
    size_t got = 0;

    LC_FORWARD_IF_ERROR(lc__codec_deflate(ctx, &d, err));
    /* With actual_out_nbytes_ret, a short stream is SUCCESS with a smaller
     * count; a stream that wants more room than the block is
     * INSUFFICIENT_SPACE. Both are a block that does not match. */
    enum libdeflate_result r =
        libdeflate_zlib_decompress(d, in, in_nbytes, out, out_nbytes, &got);
    switch (r) {
    case LIBDEFLATE_SUCCESS:
        LC_RETURN_IF(got != out_nbytes, err, LC_ECORRUPT,
                     "deflate: stream decodes to %zu bytes, block has %zu", got,
                     out_nbytes);
        return LC_OK;
    case LIBDEFLATE_INSUFFICIENT_SPACE:
        return lc__error(err, LC_ECORRUPT,
                         "deflate: stream decodes to more than the %zu bytes "
                         "of the block",
                         out_nbytes);
    case LIBDEFLATE_BAD_DATA:
    case LIBDEFLATE_SHORT_OUTPUT:
    default:
        return lc__error(err, LC_ECORRUPT,
                         "deflate: invalid or truncated zlib stream");
    }
}

static int decode_zstd(struct lc__codec_ctx *ctx, const uint8_t *in,
                       size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                       struct lc__errbuf *err)
{
    ZSTD_DCtx *z = NULL;

    LC_FORWARD_IF_ERROR(lc__codec_zstd(ctx, &z, err));
    /* Single-shot decoding writes straight into out and never allocates a
     * window, so a frame header asking for a huge window costs nothing. */
    size_t got = ZSTD_decompressDCtx(z, out, out_nbytes, in, in_nbytes);
    if (ZSTD_isError(got)) {
        LC_RETURN_IF(ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall, err,
                     LC_ECORRUPT,
                     "zstd: stream decodes to more than the %zu bytes of "
                     "the block",
                     out_nbytes);
        return lc__error(err, LC_ECORRUPT, "zstd: %s", ZSTD_getErrorName(got));
    }
    LC_RETURN_IF(got != out_nbytes, err, LC_ECORRUPT,
                 "zstd: stream decodes to %zu bytes, block has %zu", got,
                 out_nbytes);
    return LC_OK;
}

/* ---- byte order and predictors --------------------------------------------
 */

void lc__codec_swap(uint8_t *p, size_t n, unsigned nbytes_per_sample)
{
    /* memcpy keeps the loads legal at any alignment; compilers turn each
     * round trip into a load, a bswap and a store. */
    switch (nbytes_per_sample) {
    case 2:
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, p + 2 * i, 2);
            v = __builtin_bswap16(v);
            memcpy(p + 2 * i, &v, 2);
        }
        break;
    case 4:
        for (size_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, p + 4 * i, 4);
            v = __builtin_bswap32(v);
            memcpy(p + 4 * i, &v, 4);
        }
        break;
    case 8:
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, p + 8 * i, 8);
            v = __builtin_bswap64(v);
            memcpy(p + 8 * i, &v, 8);
        }
        break;
    default:
        LC_ASSERT(nbytes_per_sample == 1);
        break;
    }
}

/*
 * Horizontal differencing undone on one row of n samples, s interleaved
 * channels: each sample adds the one s samples before it, with unsigned
 * wraparound (libtiff's horAcc8/16/32/64). One channel gets its own loop
 * that keeps the running sum in a register.
 */
#define LC_DEFINE_HOR_ACC(bits)                                                \
    static void hor_acc##bits(uint8_t *row, size_t n, size_t s)                \
    {                                                                          \
        const size_t w = (bits) / 8;                                           \
        uint##bits##_t a, b;                                                   \
        if (s == 1) {                                                          \
            memcpy(&a, row, w);                                                \
            for (size_t i = 1; i < n; i++) {                                   \
                memcpy(&b, row + i * w, w);                                    \
                a = (uint##bits##_t)(a + b);                                   \
                memcpy(row + i * w, &a, w);                                    \
            }                                                                  \
            return;                                                            \
        }                                                                      \
        for (size_t i = s; i < n; i++) {                                       \
            memcpy(&a, row + (i - s) * w, w);                                  \
            memcpy(&b, row + i * w, w);                                        \
            b = (uint##bits##_t)(a + b);                                       \
            memcpy(row + i * w, &b, w);                                        \
        }                                                                      \
    }
LC_DEFINE_HOR_ACC(8)
LC_DEFINE_HOR_ACC(16)
LC_DEFINE_HOR_ACC(32)
LC_DEFINE_HOR_ACC(64)
#undef LC_DEFINE_HOR_ACC

/*
 * The row kernel of predictor 2 for one 16-bit channel - the commonest
 * layout of Earth-observation COGs, and a serial chain of adds in
 * hor_acc16 - is the SSE2 kernel where there is one. It is chosen on the
 * first call (STYLE rule 23); test builds honour LAZYCOGS_DISABLE_SIMD,
 * so that CI runs the portable loop as well.
 */
typedef void (*hor_acc16_one_fn)(uint8_t *row, size_t n);

static void hor_acc16_portable(uint8_t *row, size_t n)
{
    hor_acc16(row, n, 1);
}

static void hor_acc16_resolve(uint8_t *row, size_t n);
static _Atomic(hor_acc16_one_fn) hor_acc16_one = hor_acc16_resolve;

static hor_acc16_one_fn hor_acc16_best(void)
{
#ifdef LC_HAVE_X86_KERNELS
    if (!lc__simd_disabled())
        return lc__x86_hor_acc16_sse2;
#endif
    return hor_acc16_portable;
}

static void hor_acc16_resolve(uint8_t *row, size_t n)
{
    hor_acc16_one_fn f = hor_acc16_best();
    atomic_store_explicit(&hor_acc16_one, f, memory_order_relaxed);
    f(row, n);
}

const char *lc__codec_kernel_name(void)
{
    return hor_acc16_best() == hor_acc16_portable ? "portable" : "sse2";
}

static void undo_predictor2(const struct lc__block_format *f, uint8_t *out)
{
    size_t bps = f->bits_per_sample / 8;
    size_t n = (size_t)f->width * f->samples; /* samples per row */
    size_t row_nbytes = n * bps; /* no overflow: out holds height rows */

    for (size_t y = 0; y < f->height; y++) {
        uint8_t *row = out + y * row_nbytes;
        switch (bps) {
        case 1:
            hor_acc8(row, n, f->samples);
            break;
        case 2:
            if (f->samples == 1)
                atomic_load_explicit(&hor_acc16_one, memory_order_relaxed)(row,
                                                                           n);
            else
                hor_acc16(row, n, f->samples);
            break;
        case 4:
            hor_acc32(row, n, f->samples);
            break;
        default:
            hor_acc64(row, n, f->samples);
            break;
        }
    }
}

/*
 * The floating-point predictor (libtiff fpAcc, TIFF Technical Note 3):
 * each row is stored as bps byte planes of width*samples bytes, the most
 * significant byte of every value first whatever the file's byte order,
 * and the whole row was then differenced byte by byte with a distance of
 * `samples` bytes. Undoing it gives native values: no swap follows.
 */
static int undo_predictor3(struct lc__codec_ctx *ctx,
                           const struct lc__block_format *f, uint8_t *out,
                           struct lc__errbuf *err)
{
    size_t bps = f->bits_per_sample / 8;
    size_t wc = (size_t)f->width * f->samples;
    size_t row_nbytes = wc * bps;
    size_t s = f->samples;
    uint8_t *tmp = NULL;

    LC_FORWARD_IF_ERROR(
        lc__codec_scratch(ctx, LC_SCRATCH_DATA, row_nbytes, &tmp, err));
    for (size_t y = 0; y < f->height; y++) {
        uint8_t *row = out + y * row_nbytes;
        for (size_t i = s; i < row_nbytes; i++)
            row[i] = (uint8_t)(row[i] + row[i - s]);
        memcpy(tmp, row, row_nbytes);
        for (size_t b = 0; b < bps; b++) {
            /* Byte b of a native value comes from plane b (big-endian
             * host) or plane bps-1-b (little-endian host). */
            const uint8_t *plane =
                tmp + (LC_HOST_BIG_ENDIAN ? b : bps - 1 - b) * wc;
            uint8_t *dst = row + b;
            for (size_t k = 0; k < wc; k++)
                dst[k * bps] = plane[k];
        }
    }
    return LC_OK;
}

/* ---- decode ---------------------------------------------------------------
 */

int lc__block_decode(struct lc__codec_ctx *ctx,
                     const struct lc__block_format *f, const uint8_t *in,
                     size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                     struct lc__errbuf *err)
{
    size_t nbytes;

    LC_RETURN_IF(ctx == NULL || out == NULL || (in == NULL && in_nbytes > 0),
                 err, LC_EINVAL, "codec: NULL context or buffer");
    LC_FORWARD_IF_ERROR(lc__block_nbytes(f, &nbytes, err));
    LC_RETURN_IF(out_nbytes != nbytes, err, LC_EINVAL,
                 "codec: output buffer has %zu bytes, the block needs %zu",
                 out_nbytes, nbytes);
    /* Every block decodes to at least one byte, so nothing cannot be
     * valid; and the decoders never see a NULL input. */
    LC_RETURN_IF(in_nbytes == 0, err, LC_ECORRUPT, "%s: empty block",
                 compression_name(f->compression));

    switch (f->compression) {
    case LC_COMPRESSION_NONE:
        /* Extra bytes are ignored, as libtiff does: some writers store a
         * full-height last strip, or pad. Missing bytes are corrupt. */
        LC_RETURN_IF(in_nbytes < out_nbytes, err, LC_ECORRUPT,
                     "uncompressed: block has %zu bytes, needs %zu", in_nbytes,
                     out_nbytes);
        memcpy(out, in, out_nbytes);
        break;
    case LC_COMPRESSION_LZW:
        LC_FORWARD_IF_ERROR(
            lc__codec_lzw_decode(in, in_nbytes, out, out_nbytes, err));
        break;
    case LC_COMPRESSION_ADOBE_DEFLATE:
    case LC_COMPRESSION_DEFLATE:
        LC_FORWARD_IF_ERROR(
            decode_deflate(ctx, in, in_nbytes, out, out_nbytes, err));
        break;
    case LC_COMPRESSION_ZSTD:
        LC_FORWARD_IF_ERROR(
            decode_zstd(ctx, in, in_nbytes, out, out_nbytes, err));
        break;
    case LC_COMPRESSION_PACKBITS:
        LC_FORWARD_IF_ERROR(
            lc__codec_packbits_decode(in, in_nbytes, out, out_nbytes, err));
        break;
    case LC_COMPRESSION_JPEG:
        /* 8-bit only: nothing to swap, and no predictor. */
        return lc__codec_jpeg_decode(ctx, f, in, in_nbytes, out, out_nbytes,
                                     err);
    case LC_COMPRESSION_WEBP:
        return lc__codec_webp_decode(f, in, in_nbytes, out, out_nbytes, err);
    case LC_COMPRESSION_LERC:
        /* Swaps on its own, before it writes NaN into masked pixels. */
        return lc__codec_lerc_decode(ctx, f, in, in_nbytes, out, out_nbytes,
                                     err);
    default:
        /* lc__block_nbytes has rejected every other compression. */
        LC_ASSERT(0);
        return lc__error(err, LC_EUNSUPPORTED, "codec: compression %u",
                         (unsigned)f->compression);
    }

    bool predict = uses_predictor(f->compression);
    if (predict && f->predictor == 3)
        return undo_predictor3(ctx, f, out, err);
    if (f->bits_per_sample > 8 && f->big_endian != LC_HOST_BIG_ENDIAN)
        lc__codec_swap(out, out_nbytes / (f->bits_per_sample / 8),
                       f->bits_per_sample / 8);
    if (predict && f->predictor == 2)
        undo_predictor2(f, out);
    return LC_OK;
}

/* ---- float16 --------------------------------------------------------------
 */

void lc__half_to_float(const uint16_t *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = in[i];
        uint32_t sign = (h & 0x8000u) << 16;
        uint32_t exp = (h >> 10) & 0x1fu;
        uint32_t mant = h & 0x3ffu;
        uint32_t bits;
        float v;

        if (exp == 0) {
            /* Zero or subnormal: mant * 2^-24, exact in a float. */
            v = (float)mant * 0x1p-24f;
            memcpy(&bits, &v, 4);
            bits |= sign;
        } else if (exp == 31) {
            /* Infinity, or NaN with its payload and quiet bit kept. */
            bits = sign | 0x7f800000u | (mant << 13);
        } else {
            bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
        }
        memcpy(&out[i], &bits, 4);
    }
}
