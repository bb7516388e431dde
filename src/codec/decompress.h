/* decompress.h - whole-buffer decompressors of generic streams (Parquet). */
/* SPDX-License-Identifier: MIT */
#ifndef LC_DECOMPRESS_H
#define LC_DECOMPRESS_H

#include "../common/common.h"

#include "../common/error.h"
#include "codec.h"

/*
 * Where lc__block_decode (codec.h) knows TIFF blocks, these functions know
 * nothing but a compressed buffer and the exact size it must decode to.
 * They serve the Parquet reader, whose page headers give both sizes, and
 * anything else that stores a general-purpose compressed stream.
 *
 * Every function fills out[0..out_nbytes) exactly or fails: a stream that
 * decodes to fewer or more bytes is LC_ECORRUPT, never a short copy. None
 * reads outside in[0..in_nbytes) or writes outside out[0..out_nbytes).
 */

/* The stream formats. Values are ours, not Parquet's CompressionCodec. */
enum lc__stream_codec {
    LC_STREAM_NONE = 0,    /* a plain copy; in_nbytes must equal out_nbytes */
    LC_STREAM_SNAPPY = 1,  /* raw Snappy (libsnappy), not the framing format */
    LC_STREAM_GZIP = 2,    /* RFC 1952 gzip, several members allowed; a zlib
                              (RFC 1950) stream is accepted too, as zlib's
                              inflate with automatic header detection does */
    LC_STREAM_ZSTD = 3,    /* one or more zstd frames */
    LC_STREAM_LZ4_RAW = 4, /* one LZ4 block, no framing (Parquet LZ4_RAW) */
    LC_STREAM_LZ4_HADOOP = 5, /* Parquet's deprecated LZ4: Hadoop framing
                                 (big-endian decoded and block sizes before
                                 each LZ4 block), falling back to one raw
                                 block as parquet-cpp does */
    LC_STREAM_BROTLI = 6      /* RFC 7932 brotli */
};

/* Static name of a codec ("snappy", "gzip"...), for messages. */
const char *lc__stream_codec_name(enum lc__stream_codec codec);

/*
 * Decompresses in[0..in_nbytes) into out, which receives exactly
 * out_nbytes bytes. ctx provides the reusable libdeflate and zstd states
 * (created on first use); it may not be NULL. Returns LC_OK, or with a
 * message naming the codec in err: LC_ECORRUPT (a malformed stream, or one
 * that decodes to a size other than out_nbytes), LC_EUNSUPPORTED (an
 * unknown codec value), LC_ENOMEM, LC_EINVAL (NULL ctx, or NULL out with
 * out_nbytes > 0). The caller adds the file and position to the message.
 * One context per thread, as for lc__block_decode.
 */
int lc__stream_decompress(struct lc__codec_ctx *ctx,
                          enum lc__stream_codec codec, const uint8_t *in,
                          size_t in_nbytes, uint8_t *out, size_t out_nbytes,
                          struct lc__errbuf *err);

#endif /* LC_DECOMPRESS_H */
