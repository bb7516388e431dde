/* jpeg.c - TIFF JPEG (compression 7) through turbojpeg. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <turbojpeg.h>

#include "codec_internal.h"

/*
 * A TIFF JPEG block is usually an "abbreviated" JPEG stream: SOI, frame and
 * scan, EOI, with the quantization and Huffman tables kept once for the
 * whole image in the JPEGTables tag (itself a stream of SOI, tables, EOI).
 * libtiff primes libjpeg with those tables once per file. A turbojpeg
 * handle can be primed too (tjDecompressHeader3 on the tables), but tables
 * stay in a handle, primed or read from a stream, and a later block that
 * lacks them would silently decode with another block's, or another
 * file's, tables. So every block gets a fresh handle (creating and
 * destroying one costs well under a microsecond) and a complete stream,
 * spliced from the two:
 *
 *   JPEGTables without its EOI  +  block without its SOI
 *
 * A block without tables then fails as it would in a new process.
 *
 * Colour: libtiff (and so GDAL) asks libjpeg for RGB output when the
 * photometric is YCbCr, and for the raw components otherwise. turbojpeg
 * converts whatever colorspace the stream declares (JFIF or component ids
 * 1,2,3 mean YCbCr; an Adobe marker with transform 0, which libtiff writes
 * for RGB, or ids 'R','G','B' mean RGB) into the requested pixel format, so
 * that is the same result when the stream and the photometric agree. When
 * they do not: photometric RGB over a YCbCr stream comes out raw, as from
 * libtiff (4:4:4 only; subsampled is LC_EUNSUPPORTED), and photometric
 * YCbCr over an RGB stream is LC_EUNSUPPORTED.
 *
 * Strictness: the stream must decode to exactly the block's width and
 * height, and libjpeg warnings (which include "premature end of data", a
 * truncated block) stop decoding and count as corrupt data, where libtiff
 * would report them and go on with grey pixels.
 */

/* The spliced stream of JPEGTables and the block, in the stream scratch. */
static int splice(struct lc__codec_ctx *ctx, const struct lc__block_format *f,
                  const uint8_t *in, size_t in_nbytes, const uint8_t **js_ret,
                  size_t *js_nbytes_ret, struct lc__errbuf *err)
{
    const uint8_t *t = f->jpeg_tables;
    size_t tn = f->jpeg_tables_nbytes;
    size_t n;
    uint8_t *p = NULL;

    LC_RETURN_IF(tn < 4 || t[0] != 0xff || t[1] != 0xd8 || t[tn - 2] != 0xff ||
                     t[tn - 1] != 0xd9,
                 err, LC_ECORRUPT,
                 "JPEG: the JPEGTables tag is not a JPEG tables stream "
                 "(SOI ... EOI)");
    LC_RETURN_IF(in_nbytes < 2 || in[0] != 0xff || in[1] != 0xd8, err,
                 LC_ECORRUPT, "JPEG: block does not start with SOI");
    LC_RETURN_IF(!lc__size_add(tn - 2, in_nbytes - 2, &n), err, LC_ENOMEM,
                 "JPEG: block too large to splice with its tables");
    LC_FORWARD_IF_ERROR(lc__codec_scratch(ctx, LC_SCRATCH_STREAM, n, &p, err));
    memcpy(p, t, tn - 2);
    memcpy(p + tn - 2, in + 2, in_nbytes - 2);
    *js_ret = p;
    *js_nbytes_ret = n;
    return LC_OK;
}

/* Raw components of a 4:4:4 three-component stream, interleaved. */
static int decode_raw(struct lc__codec_ctx *ctx, tjhandle tj, const uint8_t *js,
                      unsigned long js_nbytes, int w, int h, int flags,
                      uint8_t *out, struct lc__errbuf *err)
{
    size_t npix = (size_t)w * (size_t)h; /* out holds 3 * npix bytes */
    uint8_t *planes = NULL;

    LC_FORWARD_IF_ERROR(
        lc__codec_scratch(ctx, LC_SCRATCH_DATA, 3 * npix, &planes, err));
    unsigned char *dst[3] = {planes, planes + npix, planes + 2 * npix};
    int strides[3] = {w, w, w};
    LC_RETURN_IF(tjDecompressToYUVPlanes(tj, js, js_nbytes, dst, w, strides, h,
                                         flags) != 0,
                 err, LC_ECORRUPT, "JPEG: %s", tjGetErrorStr2(tj));
    for (size_t i = 0; i < npix; i++) {
        out[3 * i] = dst[0][i];
        out[3 * i + 1] = dst[1][i];
        out[3 * i + 2] = dst[2][i];
    }
    return LC_OK;
}

static int decode_with(struct lc__codec_ctx *ctx, tjhandle tj,
                       const struct lc__block_format *f, const uint8_t *js,
                       size_t js_nbytes, uint8_t *out, struct lc__errbuf *err)
{
    int w = 0, h = 0, subsamp = -1, cs = -1;
    /* At most 500 scans (a progressive stream could otherwise make libjpeg
     * spin on thousands of tiny scans), and warnings are errors. */
    const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;

    LC_RETURN_IF(js_nbytes > ULONG_MAX, err, LC_ECORRUPT,
                 "JPEG: block too large");
    LC_RETURN_IF(tjDecompressHeader3(tj, js, (unsigned long)js_nbytes, &w, &h,
                                     &subsamp, &cs) != 0,
                 err, LC_ECORRUPT, "JPEG: %s", tjGetErrorStr2(tj));
    /* A tables-only stream "succeeds" and leaves w and h at 0. */
    LC_RETURN_IF((uint32_t)w != f->width || (uint32_t)h != f->height, err,
                 LC_ECORRUPT, "JPEG: stream is %dx%d pixels, block is %ux%u", w,
                 h, (unsigned)f->width, (unsigned)f->height);

    int pf;
    if (f->samples == 1) {
        LC_RETURN_IF(cs != TJCS_GRAY, err, LC_ECORRUPT,
                     "JPEG: colour stream in a one-sample block");
        pf = TJPF_GRAY;
    } else {
        LC_RETURN_IF(cs != TJCS_YCbCr && cs != TJCS_RGB, err, LC_ECORRUPT,
                     "JPEG: stream has no three-component colorspace");
        if (f->photometric == 2 && cs == TJCS_YCbCr) {
            LC_RETURN_IF(subsamp != TJSAMP_444, err, LC_EUNSUPPORTED,
                         "JPEG: subsampled YCbCr stream in an RGB block");
            return decode_raw(ctx, tj, js, (unsigned long)js_nbytes, w, h,
                              flags, out, err);
        }
        LC_RETURN_IF(f->photometric == 6 && cs == TJCS_RGB, err,
                     LC_EUNSUPPORTED,
                     "JPEG: RGB stream in a YCbCr block not supported");
        pf = TJPF_RGB;
    }
    /* w * samples fits in an int: the block is w*h*samples bytes and was
     * checked against the stream's dimensions, which are at most 65535. */
    LC_RETURN_IF(tjDecompress2(tj, js, (unsigned long)js_nbytes, out, w,
                               w * (int)f->samples, h, pf, flags) != 0,
                 err, LC_ECORRUPT, "JPEG: %s", tjGetErrorStr2(tj));
    return LC_OK;
}

int lc__codec_jpeg_decode(struct lc__codec_ctx *ctx,
                          const struct lc__block_format *f, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err)
{
    const uint8_t *js = in;
    size_t js_nbytes = in_nbytes;

    (void)out_nbytes; /* = width * height * samples, checked by the caller */
    if (f->jpeg_tables != NULL && f->jpeg_tables_nbytes > 0)
        LC_FORWARD_IF_ERROR(
            splice(ctx, f, in, in_nbytes, &js, &js_nbytes, err));

    /* A fresh handle per block (see the top of this file). */
    tjhandle tj = tjInitDecompress();
    LC_RETURN_IF(tj == NULL, err, LC_ENOMEM,
                 "JPEG: cannot create a decompressor");
    int status = decode_with(ctx, tj, f, js, js_nbytes, out, err);
    tjDestroy(tj);
    return status;
}
