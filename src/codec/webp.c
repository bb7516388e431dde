/* webp.c - TIFF WebP (compression 50001) through libwebp. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <webp/decode.h>

#include "codec_internal.h"

/*
 * A WebP block is a complete WebP file, lossy or lossless, of 3 (RGB) or 4
 * (RGBA) 8-bit samples. libwebp decodes straight into the block: RGB drops
 * an alpha channel the stream may have, RGBA fills 255 when it has none, as
 * libtiff's reader does.
 */
int lc__codec_webp_decode(const struct lc__block_format *f, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err)
{
    int w = 0, h = 0;

    LC_RETURN_IF(!WebPGetInfo(in, in_nbytes, &w, &h), err, LC_ECORRUPT,
                 "WebP: not a WebP stream");
    LC_RETURN_IF((uint32_t)w != f->width || (uint32_t)h != f->height, err,
                 LC_ECORRUPT, "WebP: stream is %dx%d pixels, block is %ux%u", w,
                 h, (unsigned)f->width, (unsigned)f->height);
    /* w * 4 fits in an int: WebP images are at most 16383 pixels wide. */
    int stride = w * (int)f->samples;
    const uint8_t *r =
        f->samples == 4
            ? WebPDecodeRGBAInto(in, in_nbytes, out, out_nbytes, stride)
            : WebPDecodeRGBInto(in, in_nbytes, out, out_nbytes, stride);
    LC_RETURN_IF(r == NULL, err, LC_ECORRUPT,
                 "WebP: invalid or truncated stream");
    return LC_OK;
}
