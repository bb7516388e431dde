/* codec.h - decoders of TIFF block compressions and predictors. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_CODEC_H
#define LC_CODEC_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * The codec module turns one compressed TIFF block (a tile, or a strip,
 * which the TIFF layer treats as a full-width block) into raw samples. It
 * knows nothing of files, IFDs or I/O: the caller hands it the compressed
 * bytes and the block's format, and a buffer of exactly the decoded size.
 *
 *   compressed bytes --decompress--> samples in file byte order
 *                    --predictor---> samples in native byte order
 *
 * Output layout: rows of `width` pixels, each of `samples` interleaved
 * samples of bits_per_sample bits, in the host's byte order, predictors
 * undone. float16 samples stay 16-bit (lc__half_to_float converts). JPEG
 * with photometric YCbCr comes out as RGB, as GDAL reads it.
 */

/* TIFF Compression tag values. */
enum lc__compression {
    LC_COMPRESSION_NONE = 1,
    LC_COMPRESSION_LZW = 5,
    LC_COMPRESSION_OJPEG = 6, /* old-style JPEG: rejected as unsupported */
    LC_COMPRESSION_JPEG = 7,
    LC_COMPRESSION_ADOBE_DEFLATE = 8,
    LC_COMPRESSION_PACKBITS = 32773,
    LC_COMPRESSION_DEFLATE = 32946,
    LC_COMPRESSION_LERC = 34887,
    LC_COMPRESSION_LZMA = 34925, /* rejected as unsupported */
    LC_COMPRESSION_ZSTD = 50000,
    LC_COMPRESSION_WEBP = 50001,
    LC_COMPRESSION_JXL = 50002 /* rejected as unsupported */
};

/* LercParameters tag, second value: what wraps the LERC blob. */
enum lc__lerc_wrap {
    LC_LERC_WRAP_NONE = 0,
    LC_LERC_WRAP_DEFLATE = 1,
    LC_LERC_WRAP_ZSTD = 2
};

/* Everything the decoder needs to know about one block. */
struct lc__block_format {
    uint16_t compression;     /* enum lc__compression value */
    uint16_t predictor;       /* 1 none, 2 horizontal, 3 floating point */
    uint16_t photometric;     /* TIFF Photometric; for 3-sample JPEG: 6
                                 YCbCr (decoded to RGB) or 2 RGB */
    uint16_t bits_per_sample; /* 8, 16, 32 or 64 */
    uint16_t sample_format;   /* 1 unsigned int, 2 signed int, 3 float */
    uint16_t samples;         /* samples per pixel in this block (1 when
                                 the file is planar-separate) */
    uint32_t width;           /* block width in pixels */
    uint32_t height;          /* rows in this block (a last strip may be
                                 shorter than RowsPerStrip) */
    bool big_endian;          /* byte order of the file */
    /* JPEGTables tag contents (a JPEG stream of tables only), or NULL. */
    const uint8_t *jpeg_tables;
    size_t jpeg_tables_nbytes;
    /* LercParameters tag: LERC version and enum lc__lerc_wrap. */
    uint32_t lerc_version;
    uint32_t lerc_wrap;
};

/*
 * Reusable decoder state (libdeflate and zstd decompressors, created on
 * first use, and scratch buffers that grow to the largest block seen).
 * JPEG takes a fresh turbojpeg handle per block (see jpeg.c). The context
 * and its scratch are allocated through the allocator given at creation;
 * the libraries' own state uses their default malloc. One context per
 * thread: a context is never used by two threads at once, but separate
 * contexts may be used concurrently.
 */
struct lc__codec_ctx;

/*
 * Creates a context in *ctx_ret; alloc may be NULL (the C library's
 * malloc) and is copied, so it need not outlive the call. Returns LC_OK,
 * LC_ENOMEM, or LC_EINVAL when ctx_ret is NULL.
 */
int lc__codec_ctx_new(const struct lc_allocator *alloc,
                      struct lc__codec_ctx **ctx_ret);

/* Frees a context; NULL does nothing. */
void lc__codec_ctx_free(struct lc__codec_ctx *ctx);

/*
 * Returns the exact decoded size in bytes of a block of format f in
 * *nbytes_ret, or, with a message in err: LC_EINVAL (NULL arguments, zero
 * width, height or samples); LC_EUNSUPPORTED (bit depth, sample format,
 * compression, predictor, or a combination the codec cannot hold, such as
 * 16-bit JPEG or 64-bit integer LERC); LC_ELIMIT (the size overflows).
 * So a caller can check a format once, when it opens a file. Predictor is
 * checked only for LZW, deflate and zstd: the other compressions ignore
 * it, as libtiff does.
 */
int lc__block_nbytes(const struct lc__block_format *f, size_t *nbytes_ret,
                     struct lc__errbuf *err);

/*
 * Decodes in[0..in_nbytes) into out, which must hold exactly
 * lc__block_nbytes(f) bytes (out_nbytes). Returns LC_OK, or:
 *   LC_ECORRUPT      the stream is malformed, or decodes to more or fewer
 *                    bytes than out_nbytes (never a short or overlong copy);
 *   LC_EUNSUPPORTED  a compression, predictor or layout not implemented
 *                    (any lc__block_nbytes error is returned as it is);
 *   LC_ENOMEM        an allocation failed;
 *   LC_EINVAL        out_nbytes does not match the format, or ctx, f or
 *                    out is NULL (in may be NULL when in_nbytes is 0).
 * The message in err names the codec and the problem; the caller adds the
 * file name. On error the contents of out are unspecified. Never reads
 * outside in[0..in_nbytes) or writes outside out[0..out_nbytes).
 *
 * Where libtiff is lenient, we follow it in three places only: an
 * uncompressed block may have more bytes than needed (the rest is
 * ignored: writers pad, or store a full last strip); an LZW stream may
 * end without its EOI code; PackBits may carry -128 no-op bytes. LERC
 * validity masks become NaN for floats and alpha for 8-bit RGB+alpha
 * blobs, as GDAL reads them (details in lerc.c).
 */
int lc__block_decode(struct lc__codec_ctx *ctx,
                     const struct lc__block_format *f, const uint8_t *in,
                     size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                     struct lc__errbuf *err);

/*
 * Converts n IEEE 754 half-precision values (native uint16_t, as
 * lc__block_decode leaves them) to single precision, exactly: subnormals,
 * infinities and NaN payloads included. in and out must not overlap.
 */
void lc__half_to_float(const uint16_t *in, float *out, size_t n);

/* Which kernel undoes predictor 2 on 16-bit rows of one channel:
 * "sse2" or "portable" (for tests). */
const char *lc__codec_kernel_name(void);

#endif /* LC_CODEC_H */
