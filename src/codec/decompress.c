/* decompress.c - whole-buffer snappy, gzip, zstd, LZ4 and brotli decoding. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <brotli/decode.h>
#include <libdeflate.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec_internal.h"
#include "decompress.h"

/*
 * Each decoder is given the exact decoded size (Parquet page headers carry
 * it) and must produce exactly that many bytes. The libraries differ in
 * how they report a size mismatch, so each wrapper checks the count it
 * gets back itself rather than trusting a success code alone.
 */

const char *lc__stream_codec_name(enum lc__stream_codec codec)
{
    switch (codec) {
    case LC_STREAM_NONE:
        return "uncompressed";
    case LC_STREAM_SNAPPY:
        return "snappy";
    case LC_STREAM_GZIP:
        return "gzip";
    case LC_STREAM_ZSTD:
        return "zstd";
    case LC_STREAM_LZ4_RAW:
        return "lz4_raw";
    case LC_STREAM_LZ4_HADOOP:
        return "lz4";
    case LC_STREAM_BROTLI:
        return "brotli";
    }
    return "unknown";
}

static int decode_snappy(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                         size_t out_nbytes, struct lc__errbuf *err)
{
    size_t n = 0;

    if (snappy_uncompressed_length((const char *)in, in_nbytes, &n) !=
        SNAPPY_OK)
        return lc__error(err, LC_ECORRUPT, "snappy: bad stream header");
    LC_RETURN_IF(n != out_nbytes, err, LC_ECORRUPT,
                 "snappy: stream decodes to %zu bytes, expected %zu", n,
                 out_nbytes);
    n = out_nbytes;
    if (snappy_uncompress((const char *)in, in_nbytes, (char *)out, &n) !=
            SNAPPY_OK ||
        n != out_nbytes)
        return lc__error(err, LC_ECORRUPT, "snappy: malformed stream");
    return LC_OK;
}

/* One gzip member or zlib stream at a time: Compression.md asks readers to
 * accept pages made of several gzip members. */
static int decode_gzip(struct lc__codec_ctx *ctx, const uint8_t *in,
                       size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                       struct lc__errbuf *err)
{
    struct libdeflate_decompressor *d;
    size_t in_pos = 0, out_pos = 0;

    LC_FORWARD_IF_ERROR(lc__codec_deflate(ctx, &d, err));
    if (in_nbytes < 2 || in[0] != 0x1f || in[1] != 0x8b) {
        size_t got = 0;
        enum libdeflate_result r = libdeflate_zlib_decompress_ex(
            d, in, in_nbytes, out, out_nbytes, NULL, &got);
        /* A bomb stops when out is full, having written no more. */
        LC_RETURN_IF(r == LIBDEFLATE_INSUFFICIENT_SPACE, err, LC_ECORRUPT,
                     "gzip: stream decodes to more than %zu bytes", out_nbytes);
        LC_RETURN_IF(r != LIBDEFLATE_SUCCESS, err, LC_ECORRUPT,
                     "gzip: neither a gzip nor a zlib stream (or corrupt)");
        LC_RETURN_IF(got != out_nbytes, err, LC_ECORRUPT,
                     "gzip: stream decodes to %zu bytes, expected %zu", got,
                     out_nbytes);
        return LC_OK;
    }
    while (in_pos < in_nbytes) {
        size_t used = 0, got = 0;
        enum libdeflate_result r = libdeflate_gzip_decompress_ex(
            d, in + in_pos, in_nbytes - in_pos, out + out_pos,
            out_nbytes - out_pos, &used, &got);
        LC_RETURN_IF(r == LIBDEFLATE_INSUFFICIENT_SPACE, err, LC_ECORRUPT,
                     "gzip: stream decodes to more than %zu bytes", out_nbytes);
        LC_RETURN_IF(r != LIBDEFLATE_SUCCESS || used == 0, err, LC_ECORRUPT,
                     "gzip: corrupt member at byte %zu", in_pos);
        in_pos += used;
        out_pos += got;
    }
    LC_RETURN_IF(out_pos != out_nbytes, err, LC_ECORRUPT,
                 "gzip: stream decodes to %zu bytes, expected %zu", out_pos,
                 out_nbytes);
    return LC_OK;
}

static int decode_zstd(struct lc__codec_ctx *ctx, const uint8_t *in,
                       size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                       struct lc__errbuf *err)
{
    ZSTD_DCtx *z;

    LC_FORWARD_IF_ERROR(lc__codec_zstd(ctx, &z, err));
    size_t n = ZSTD_decompressDCtx(z, out, out_nbytes, in, in_nbytes);
    LC_RETURN_IF(ZSTD_isError(n) &&
                     ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall,
                 err, LC_ECORRUPT,
                 "zstd: stream decodes to more than %zu bytes", out_nbytes);
    LC_RETURN_IF(ZSTD_isError(n), err, LC_ECORRUPT, "zstd: %s",
                 ZSTD_getErrorName(n));
    LC_RETURN_IF(n != out_nbytes, err, LC_ECORRUPT,
                 "zstd: stream decodes to %zu bytes, expected %zu", n,
                 out_nbytes);
    return LC_OK;
}

/* LZ4's API counts in int. */
static bool lz4_fits(size_t in_nbytes, size_t out_nbytes)
{
    return in_nbytes <= (size_t)LZ4_MAX_INPUT_SIZE &&
           out_nbytes <= (size_t)INT_MAX;
}

static bool lz4_block(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                      size_t out_nbytes)
{
    int n = LZ4_decompress_safe((const char *)in, (char *)out, (int)in_nbytes,
                                (int)out_nbytes);
    return n >= 0 && (size_t)n == out_nbytes;
}

/*
 * The Hadoop framing that parquet-mr wrote for its LZ4 codec: blocks of
 * <decoded size, big-endian u32> <compressed size, big-endian u32> <LZ4
 * block>, one after the other. Like parquet-cpp, one compressed block per
 * frame is assumed (that is what Hadoop's writer produces for pages).
 */
static bool lz4_hadoop(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                       size_t out_nbytes)
{
    size_t in_pos = 0, out_pos = 0;

    while (in_pos < in_nbytes) {
        if (in_nbytes - in_pos < 8)
            return false;
        size_t dlen = lc__load_be32(in + in_pos);
        size_t clen = lc__load_be32(in + in_pos + 4);
        in_pos += 8;
        if (clen > in_nbytes - in_pos || dlen > out_nbytes - out_pos)
            return false;
        if (!lz4_block(in + in_pos, clen, out + out_pos, dlen))
            return false;
        in_pos += clen;
        out_pos += dlen;
    }
    return out_pos == out_nbytes;
}

static int decode_lz4(bool hadoop, const uint8_t *in, size_t in_nbytes,
                      uint8_t *out, size_t out_nbytes, struct lc__errbuf *err)
{
    LC_RETURN_IF(!lz4_fits(in_nbytes, out_nbytes), err, LC_ELIMIT,
                 "lz4: buffer of %zu/%zu bytes is too large for LZ4", in_nbytes,
                 out_nbytes);
    /* Framed first, then raw: a raw block that happens to parse as a
     * frame is all but impossible, the other way round it is not. */
    if (hadoop && lz4_hadoop(in, in_nbytes, out, out_nbytes))
        return LC_OK;
    LC_RETURN_IF(!lz4_block(in, in_nbytes, out, out_nbytes), err, LC_ECORRUPT,
                 "%s: corrupt stream, or it does not decode to %zu bytes",
                 hadoop ? "lz4" : "lz4_raw", out_nbytes);
    return LC_OK;
}

static int decode_brotli(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                         size_t out_nbytes, struct lc__errbuf *err)
{
    size_t n = out_nbytes;
    BrotliDecoderResult r = BrotliDecoderDecompress(in_nbytes, in, &n, out);
    LC_RETURN_IF(r != BROTLI_DECODER_RESULT_SUCCESS, err, LC_ECORRUPT,
                 "brotli: corrupt stream, or it decodes to more than %zu "
                 "bytes",
                 out_nbytes);
    LC_RETURN_IF(n != out_nbytes, err, LC_ECORRUPT,
                 "brotli: stream decodes to %zu bytes, expected %zu", n,
                 out_nbytes);
    return LC_OK;
}

int lc__stream_decompress(struct lc__codec_ctx *ctx,
                          enum lc__stream_codec codec, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err)
{
    LC_RETURN_IF(ctx == NULL || (out == NULL && out_nbytes > 0) ||
                     (in == NULL && in_nbytes > 0),
                 err, LC_EINVAL, "decompress: NULL argument");
    if (codec == LC_STREAM_NONE) {
        LC_RETURN_IF(in_nbytes != out_nbytes, err, LC_ECORRUPT,
                     "uncompressed: %zu bytes stored, expected %zu", in_nbytes,
                     out_nbytes);
        if (out_nbytes > 0)
            memcpy(out, in, out_nbytes);
        return LC_OK;
    }
    /* Nothing in, nothing out: some writers store empty pages that way. */
    if (in_nbytes == 0 && out_nbytes == 0)
        return LC_OK;
    LC_RETURN_IF(in_nbytes == 0, err, LC_ECORRUPT,
                 "%s: empty stream, expected %zu decoded bytes",
                 lc__stream_codec_name(codec), out_nbytes);
    switch (codec) {
    case LC_STREAM_NONE:
        break;
    case LC_STREAM_SNAPPY:
        return decode_snappy(in, in_nbytes, out, out_nbytes, err);
    case LC_STREAM_GZIP:
        return decode_gzip(ctx, in, in_nbytes, out, out_nbytes, err);
    case LC_STREAM_ZSTD:
        return decode_zstd(ctx, in, in_nbytes, out, out_nbytes, err);
    case LC_STREAM_LZ4_RAW:
        return decode_lz4(false, in, in_nbytes, out, out_nbytes, err);
    case LC_STREAM_LZ4_HADOOP:
        return decode_lz4(true, in, in_nbytes, out, out_nbytes, err);
    case LC_STREAM_BROTLI:
        return decode_brotli(in, in_nbytes, out, out_nbytes, err);
    }
    return lc__error(err, LC_EUNSUPPORTED, "decompress: unknown codec %d",
                     (int)codec);
}
