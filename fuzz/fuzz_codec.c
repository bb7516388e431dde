/* fuzz_codec.c - libFuzzer target for the block decoders (src/codec). */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include "../src/codec/codec.h"
#include "../src/codec/codec_internal.h"

#include <stdlib.h>
#include <string.h>

/*
 * Input layout: the compressed block, then 8 bytes that choose the block
 * format (so mutations of the stream and of the format are independent):
 *
 *   tail[0]  compression (index into kCompressions)
 *   tail[1]  predictor (% 3 + 1) and sample type (/ 3 % 10)
 *   tail[2]  samples (% 4 + 1), big-endian (0x40), YCbCr (0x80),
 *            LERC wrap (bits 4-5, % 3)
 *   tail[3]  width - 1 (low 8 bits), tail[4] & 3: width bits 8-9
 *   tail[5]  height - 1
 *   tail[6..7] JPEG only: little-endian length of a JPEGTables prefix of
 *            the block (0: none)
 *
 * Blocks are at most 1024x256 pixels, so each run stays fast.
 *
 * An unwrapped LERC block gets each Lerc2 band's checksum made right
 * before decoding: otherwise almost every mutation stops at the checksum
 * and the decoders behind it are never reached.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t kCompressions[] = {
    LC_COMPRESSION_NONE, LC_COMPRESSION_LZW, LC_COMPRESSION_JPEG,
    LC_COMPRESSION_ADOBE_DEFLATE, LC_COMPRESSION_PACKBITS,
    LC_COMPRESSION_DEFLATE, LC_COMPRESSION_LERC, LC_COMPRESSION_ZSTD,
    LC_COMPRESSION_WEBP, LC_COMPRESSION_OJPEG,
    /* Refused as unsupported, but through the same dispatch. */
    LC_COMPRESSION_LZMA, LC_COMPRESSION_JXL};

static const struct {
    uint16_t bits, sample_format;
} kTypes[] = {{8, 1},  {8, 2},  {16, 1}, {16, 2}, {16, 3},
              {32, 1}, {32, 2}, {32, 3}, {64, 1}, {64, 3}};

/* Sets the checksum of every Lerc2 band (version >= 3) of the blob. */
static void fix_lerc_checksums(uint8_t *blob, size_t n)
{
    size_t off = 0;
    while (n - off >= 38 && memcmp(blob + off, "Lerc2 ", 6) == 0) {
        int32_t version, blob_size;
        memcpy(&version, blob + off + 6, 4);
        memcpy(&blob_size, blob + off + 34, 4);
        if (version < 3 || blob_size < 14 || (size_t)blob_size > n - off)
            return;
        uint32_t c =
            lc__codec_lerc_checksum(blob + off + 14, (size_t)blob_size - 14);
        memcpy(blob + off + 10, &c, 4);
        off += (size_t)blob_size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lc__codec_ctx *ctx;
    struct lc__block_format f = {0};
    struct lc__errbuf err;
    size_t nbytes;

    if (size < 8)
        return 0;
    if (ctx == NULL && lc__codec_ctx_new(NULL, &ctx) != LC_OK)
        abort();
    const uint8_t *tail = data + size - 8;
    size -= 8;

    f.compression = kCompressions[tail[0] % LC_ARRAY_SIZE(kCompressions)];
    f.predictor = (uint16_t)(1 + tail[1] % 3);
    f.bits_per_sample = kTypes[(tail[1] / 3) % LC_ARRAY_SIZE(kTypes)].bits;
    f.sample_format =
        kTypes[(tail[1] / 3) % LC_ARRAY_SIZE(kTypes)].sample_format;
    f.samples = (uint16_t)(1 + tail[2] % 4);
    f.big_endian = (tail[2] & 0x40) != 0;
    f.photometric = f.samples == 1 ? 1 : (tail[2] & 0x80) ? 6 : 2;
    f.lerc_version = 4;
    f.lerc_wrap = (uint32_t)(((tail[2] >> 4) & 3) % 3);
    f.width = 1 + (uint32_t)tail[3] + 256 * (uint32_t)(tail[4] & 3);
    f.height = 1 + (uint32_t)tail[5];

    const uint8_t *block = data;
    size_t tables_nbytes = (size_t)tail[6] | (size_t)tail[7] << 8;
    if (f.compression == LC_COMPRESSION_JPEG && tables_nbytes > 0 &&
        tables_nbytes <= size) {
        f.jpeg_tables = data;
        f.jpeg_tables_nbytes = tables_nbytes;
        block += tables_nbytes;
        size -= tables_nbytes;
    }

    if (lc__block_nbytes(&f, &nbytes, &err) != LC_OK)
        return 0;
    /* Exactly the block's size, so ASan sees any write past it. */
    uint8_t *out = malloc(nbytes);
    uint8_t *fixed = NULL;
    if (f.compression == LC_COMPRESSION_LERC &&
        f.lerc_wrap == LC_LERC_WRAP_NONE && size > 0) {
        fixed = malloc(size);
        if (fixed == NULL)
            abort();
        memcpy(fixed, block, size);
        fix_lerc_checksums(fixed, size);
        block = fixed;
    }
    if (out == NULL)
        abort();
    int st = lc__block_decode(ctx, &f, block, size, out, nbytes, &err);
    free(fixed);
    /* Only these may come out of hostile input. */
    if (st != LC_OK && st != LC_ECORRUPT && st != LC_EUNSUPPORTED)
        abort();
    free(out);
    return 0;
}
