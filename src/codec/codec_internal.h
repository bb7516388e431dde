/* codec_internal.h - what the files of src/codec/ share with each other. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_CODEC_INTERNAL_H
#define LC_CODEC_INTERNAL_H

#include "../common/common.h"

#include "../common/alloc.h"
#include "../common/error.h"
#include "codec.h"

/* The host's byte order; samples come out of the codec in this order. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LC_HOST_BIG_ENDIAN 1
#else
#define LC_HOST_BIG_ENDIAN 0
#endif

/*
 * A context owns three growable scratch buffers, one per role, so that one
 * decode can hold a compressed stream, a decoded intermediate and a mask at
 * the same time. Each only grows, up to the largest block seen, and is
 * freed with the context. Their sizes always derive from in_nbytes and
 * out_nbytes, which the caller has already bounded, never from a size read
 * from the stream itself.
 */
enum lc__codec_scratch_slot {
    LC_SCRATCH_STREAM = 0, /* a spliced JPEG stream, an unwrapped LERC blob */
    LC_SCRATCH_DATA = 1,   /* LERC band planes, JPEG planes, predictor row */
    LC_SCRATCH_MASK = 2,   /* LERC validity masks */
    LC_SCRATCH_COUNT = 3
};

struct lc__codec_scratch {
    uint8_t *p;
    size_t cap;
};

/*
 * The third-party decoder states are created on first use, so a context
 * that only ever sees LZW never creates a zstd context. (JPEG gets a fresh
 * turbojpeg handle per block, see jpeg.c.) They allocate
 * with the C library's malloc: libdeflate 1.14 and turbojpeg take no
 * per-object allocator, and zstd's (ZSTD_customMem) is experimental API
 * that a shared libzstd need not keep stable.
 */
struct lc__codec_ctx {
    struct lc_allocator alloc; /* a copy, so the caller's may go away */
    struct libdeflate_decompressor *deflate;
    struct ZSTD_DCtx_s *zstd;
    struct lc__codec_scratch scratch[LC_SCRATCH_COUNT];
};

/*
 * Returns in *p_ret a scratch buffer of at least nbytes bytes for the given
 * role, or LC_ENOMEM. Its previous contents are lost.
 */
int lc__codec_scratch(struct lc__codec_ctx *ctx,
                      enum lc__codec_scratch_slot slot, size_t nbytes,
                      uint8_t **p_ret, struct lc__errbuf *err);

/*
 * Lazily created decompressors of the context (LC_OK or LC_ENOMEM); LERC
 * uses them to unwrap its deflate- or zstd-wrapped blobs.
 */
int lc__codec_deflate(struct lc__codec_ctx *ctx,
                      struct libdeflate_decompressor **d_ret,
                      struct lc__errbuf *err);
int lc__codec_zstd(struct lc__codec_ctx *ctx, struct ZSTD_DCtx_s **z_ret,
                   struct lc__errbuf *err);

/*
 * Reverses the bytes of each of n samples of nbytes_per_sample bytes
 * (2, 4 or 8) in place: file byte order to native and back.
 */
void lc__codec_swap(uint8_t *p, size_t n, unsigned nbytes_per_sample);

/*
 * The decoders. Each one fills out[0..out_nbytes) exactly or fails; the
 * format has already been checked by the caller (lc__block_decode), so they
 * check only what comes from the stream. Outputs are in file byte order
 * for LZW and PackBits, native for LERC, 8-bit for JPEG and WebP.
 */
int lc__codec_lzw_decode(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                         size_t out_nbytes, struct lc__errbuf *err);
int lc__codec_packbits_decode(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                              size_t out_nbytes, struct lc__errbuf *err);
int lc__codec_jpeg_decode(struct lc__codec_ctx *ctx,
                          const struct lc__block_format *f, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err);
int lc__codec_webp_decode(const struct lc__block_format *f, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err);
int lc__codec_lerc_decode(struct lc__codec_ctx *ctx,
                          const struct lc__block_format *f, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err);

/* Decodes a LERC blob holding Lerc2 v6 lossless float bands ("FPL", image
 * encode mode 3) without liblerc, whose decoder of them is unsafe (see
 * lerc_fpl.c): nbands bands into out (band after band), and the validity
 * of the first nmasks bands into masks (npix bytes each, 1 valid). Sets
 * *handled false for a blob without such a band, and for one that also
 * holds bands coded otherwise (its FPL bands checked: liblerc may decode
 * it); out and masks then hold nothing useful. */
int lc__codec_lerc_fpl(const struct lc_allocator *a, const uint8_t *blob,
                       size_t nbytes, unsigned nbands, unsigned nmasks,
                       uint8_t *masks, uint8_t *out, size_t out_nbytes,
                       bool *handled, struct lc__errbuf *err);

/* Lerc2's checksum (Fletcher-32 over bytes, as liblerc computes it) of
 * the n bytes at p: a band blob from byte 14 (after its key, version and
 * checksum) to its end. */
uint32_t lc__codec_lerc_checksum(const uint8_t *p, size_t n);

/* The LERC data type code of a format, or -1 when LERC cannot hold it. */
int lc__codec_lerc_type(const struct lc__block_format *f);

#endif /* LC_CODEC_INTERNAL_H */
