/* lerc.c - TIFF LERC (compression 34887) through the Lerc C API (lossless
 * float bands through lerc_fpl.c). */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <Lerc_c_api.h>
#include <libdeflate.h>
#include <zstd.h>

#include "codec_internal.h"

/*
 * A LERC block is one Lerc2 blob, optionally wrapped in a zlib or zstd
 * stream (LercParameters). We read it as libtiff's tif_lerc.c does, GDAL's
 * reader, including what it does with the blob's validity mask:
 *
 *   - float32/float64: masked (invalid) pixels become NaN. A multi-sample
 *     block may be one blob of nDim = samples with one mask, or (liblerc
 *     3+ writers, when NaNs differ between samples) nDim = 1 with one band
 *     per sample and one mask per band, which we interleave;
 *   - 8-bit unsigned with nDim = samples - 1: the last sample is an alpha
 *     channel kept as the mask (255 valid, 0 invalid), as GDAL writes
 *     RGBA with an unassociated alpha. libtiff also checks ExtraSamples,
 *     which the block format does not carry; a blob of samples - 1
 *     dimensions means nothing else, so the blob decides;
 *   - every other type: the mask is not applied, and masked pixels hold
 *     what liblerc writes there (zero); the file's nodata value, if any,
 *     says which they are. GDAL writes no mask for these types; for a
 *     blob that has one, libtiff asks liblerc for no mask, which liblerc
 *     refuses, so GDAL fails where we decode.
 *
 * Blobs whose mixed valid/invalid values need a per-band noData value
 * (liblerc 4 "_4D" blobs) are LC_EUNSUPPORTED, as lerc_decode() refuses
 * them; libtiff fails on them too.
 *
 * Byte order: libtiff byte-swaps a big-endian file's samples before
 * encoding and after decoding whatever the codec, so the blob of a
 * big-endian file holds swapped values; we swap after decoding as well,
 * but before writing NaN into masked pixels (libtiff writes the NaN first
 * and then swaps it into garbage).
 */

/* The zlib or zstd wrapper of a blob, removed into the stream scratch. */
static int unwrap(struct lc__codec_ctx *ctx, const struct lc__block_format *f,
                  const uint8_t *in, size_t in_nbytes, size_t out_nbytes,
                  const uint8_t **blob_ret, size_t *blob_nbytes_ret,
                  struct lc__errbuf *err)
{
    size_t cap;
    uint8_t *p = NULL;

    /* A blob is at most a little larger than its raw data; the cap is the
     * size of libtiff's own buffer for it, so anything libtiff wrote fits.
     */
    LC_RETURN_IF(!lc__size_add(out_nbytes, out_nbytes / 3, &cap) ||
                     !lc__size_add(cap, 256, &cap),
                 err, LC_ENOMEM, "LERC: block too large to unwrap");
    size_t zbound = ZSTD_compressBound(out_nbytes);
    if (!ZSTD_isError(zbound) && zbound > cap)
        cap = zbound;
    LC_FORWARD_IF_ERROR(
        lc__codec_scratch(ctx, LC_SCRATCH_STREAM, cap, &p, err));

    if (f->lerc_wrap == LC_LERC_WRAP_DEFLATE) {
        struct libdeflate_decompressor *d = NULL;
        size_t got = 0;
        LC_FORWARD_IF_ERROR(lc__codec_deflate(ctx, &d, err));
        enum libdeflate_result r =
            libdeflate_zlib_decompress(d, in, in_nbytes, p, cap, &got);
        LC_RETURN_IF(r == LIBDEFLATE_INSUFFICIENT_SPACE, err, LC_ECORRUPT,
                     "LERC: deflate-wrapped blob larger than %zu bytes", cap);
        LC_RETURN_IF(r != LIBDEFLATE_SUCCESS, err, LC_ECORRUPT,
                     "LERC: invalid or truncated deflate wrapper");
        *blob_nbytes_ret = got;
    } else {
        ZSTD_DCtx *z = NULL;
        LC_FORWARD_IF_ERROR(lc__codec_zstd(ctx, &z, err));
        size_t got = ZSTD_decompressDCtx(z, p, cap, in, in_nbytes);
        LC_RETURN_IF(ZSTD_isError(got), err, LC_ECORRUPT,
                     "LERC: zstd wrapper: %s", ZSTD_getErrorName(got));
        *blob_nbytes_ret = got;
    }
    *blob_ret = p;
    return LC_OK;
}

/* How the blob's dimensions map onto the block's samples. */
enum lerc_layout {
    LAYOUT_DEPTH, /* nDim = samples, one band: the block's own layout */
    LAYOUT_BANDS, /* nDim = 1, a band per sample (float only) */
    LAYOUT_ALPHA  /* nDim = samples - 1, alpha in the mask (8-bit) */
};

static void set_nan(uint8_t *p, unsigned bps)
{
    if (bps == 4) {
        const uint32_t nan32 = 0x7fc00000u;
        memcpy(p, &nan32, 4);
    } else {
        const uint64_t nan64 = 0x7ff8000000000000u;
        memcpy(p, &nan64, 8);
    }
}

int lc__codec_lerc_decode(struct lc__codec_ctx *ctx,
                          const struct lc__block_format *f, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err)
{
    const uint8_t *blob = in;
    size_t blob_nbytes = in_nbytes;
    const int dt = lc__codec_lerc_type(f);
    const unsigned bps = f->bits_per_sample / 8;
    const bool is_float = f->sample_format == 3;
    const size_t s = f->samples;
    const size_t npix = (size_t)f->width * f->height; /* <= out_nbytes */
    unsigned info[11] = {0};

    if (f->lerc_wrap != LC_LERC_WRAP_NONE)
        LC_FORWARD_IF_ERROR(unwrap(ctx, f, in, in_nbytes, out_nbytes, &blob,
                                   &blob_nbytes, err));
    LC_RETURN_IF(blob_nbytes > UINT_MAX, err, LC_ECORRUPT,
                 "LERC: blob too large");
    LC_RETURN_IF(lerc_getBlobInfo(blob, (unsigned)blob_nbytes, info, NULL,
                                  (int)LC_ARRAY_SIZE(info), 0) != 0,
                 err, LC_ECORRUPT, "LERC: not a valid LERC blob");

    unsigned ndim = info[2], ncols = info[3], nrows = info[4];
    unsigned nbands = info[5], nmasks = info[8];
    LC_RETURN_IF(info[1] != (unsigned)dt, err, LC_ECORRUPT,
                 "LERC: blob has data type %u, block needs %d", info[1], dt);
    LC_RETURN_IF(ncols != f->width || nrows != f->height, err, LC_ECORRUPT,
                 "LERC: blob is %ux%u pixels, block is %ux%u", ncols, nrows,
                 (unsigned)f->width, (unsigned)f->height);
    LC_RETURN_IF(info[7] != blob_nbytes, err, LC_ECORRUPT,
                 "LERC: blob says %u bytes, block has %zu", info[7],
                 blob_nbytes);
    LC_RETURN_IF(info[10] != 0, err, LC_EUNSUPPORTED,
                 "LERC: blobs with noData values not supported");
    /* Lerc takes int dimensions; the blob's equal the block's. */
    LC_RETURN_IF(ncols > INT_MAX || nrows > INT_MAX || s > INT_MAX, err,
                 LC_ECORRUPT, "LERC: block too large");

    enum lerc_layout layout;
    if (ndim == s && nbands == 1 && nmasks <= 1)
        layout = LAYOUT_DEPTH;
    else if (is_float && s > 1 && ndim == 1 && nbands == s &&
             (nmasks <= 1 || nmasks == s))
        layout = LAYOUT_BANDS;
    else if (dt == 1 && s > 1 && ndim == s - 1 && nbands == 1 && nmasks <= 1)
        layout = LAYOUT_ALPHA;
    else
        return lc__error(err, LC_ECORRUPT,
                         "LERC: blob of %u dimension(s), %u band(s) and %u "
                         "mask(s) does not fit a block of %zu samples",
                         ndim, nbands, nmasks, s);

    /* liblerc must be given every mask the blob has (it fails otherwise);
     * LAYOUT_ALPHA asks for one even when the blob has none, and liblerc
     * then fills it with 1 (all valid). */
    unsigned want_masks = layout == LAYOUT_ALPHA ? 1 : nmasks;
    uint8_t *mask = NULL;
    if (want_masks > 0)
        LC_FORWARD_IF_ERROR(lc__codec_scratch(ctx, LC_SCRATCH_MASK,
                                              npix * want_masks, &mask, err));

    /* Band-sequential blobs decode aside, then interleave into out. */
    uint8_t *dst = out;
    if (layout == LAYOUT_BANDS)
        LC_FORWARD_IF_ERROR(
            lc__codec_scratch(ctx, LC_SCRATCH_DATA, out_nbytes, &dst, err));
    bool handled = false;
    LC_FORWARD_IF_ERROR(lc__codec_lerc_fpl(&ctx->alloc, blob, blob_nbytes,
                                           nbands, want_masks, mask, dst,
                                           out_nbytes, &handled, err));
    if (!handled) {
        lerc_status st = lerc_decode(
            blob, (unsigned)blob_nbytes, (int)want_masks, mask, (int)ndim,
            (int)ncols, (int)nrows, (int)nbands, (unsigned)dt, dst);
        LC_RETURN_IF(st != 0, err, LC_ECORRUPT,
                     "LERC: cannot decode the blob (liblerc status %u)", st);
    }

    if (layout == LAYOUT_BANDS) {
        for (size_t i = 0; i < npix; i++)
            for (size_t b = 0; b < s; b++)
                memcpy(out + (i * s + b) * bps, dst + (b * npix + i) * bps,
                       bps);
    } else if (layout == LAYOUT_ALPHA) {
        /* In place from the last pixel: pixel i moves from i*(s-1) to i*s,
         * never onto a pixel not yet moved. */
        for (size_t i = npix; i-- > 0;) {
            memmove(out + i * s, out + i * (s - 1), s - 1);
            out[i * s + s - 1] = mask[i] ? 255 : 0;
        }
    }

    if (bps > 1 && f->big_endian != LC_HOST_BIG_ENDIAN)
        lc__codec_swap(out, out_nbytes / bps, bps);

    if (is_float && want_masks > 0) {
        for (size_t i = 0; i < npix; i++)
            for (size_t b = 0; b < s; b++) {
                size_t m = want_masks == s ? b * npix + i : i;
                if (mask[m] == 0)
                    set_nan(out + (i * s + b) * bps, bps);
            }
    }
    return LC_OK;
}
