/* packbits.c - PackBits (Macintosh run-length) decoding. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "codec_internal.h"

/*
 * Each run starts with a header byte n, read as signed: 0..127 copies the
 * next n + 1 bytes, -127..-1 repeats the next byte 1 - n times, and -128
 * does nothing. The block must come out exactly out_nbytes long, and every
 * run must fit in it and in the input. Unlike libtiff, which clips a run
 * that crosses the end of the block and ignores leftover input, a run
 * past the end is corrupt; left over input is allowed only as -128 no-op
 * bytes, which writers use as padding.
 */
int lc__codec_packbits_decode(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                              size_t out_nbytes, struct lc__errbuf *err)
{
    size_t ip = 0;
    size_t op = 0;

    while (ip < in_nbytes) {
        unsigned n = in[ip++];
        if (n == 128)
            continue;
        if (n < 128) {
            size_t len = (size_t)n + 1;
            LC_RETURN_IF(len > in_nbytes - ip, err, LC_ECORRUPT,
                         "PackBits: literal run of %zu bytes past the end "
                         "of the stream",
                         len);
            LC_RETURN_IF(len > out_nbytes - op, err, LC_ECORRUPT,
                         "PackBits: stream decodes to more than the %zu "
                         "bytes of the block",
                         out_nbytes);
            memcpy(out + op, in + ip, len);
            ip += len;
            op += len;
        } else {
            size_t len = 257 - (size_t)n;
            LC_RETURN_IF(ip == in_nbytes, err, LC_ECORRUPT,
                         "PackBits: repeat run past the end of the stream");
            LC_RETURN_IF(len > out_nbytes - op, err, LC_ECORRUPT,
                         "PackBits: stream decodes to more than the %zu "
                         "bytes of the block",
                         out_nbytes);
            memset(out + op, in[ip++], len);
            op += len;
        }
    }
    LC_RETURN_IF(op != out_nbytes, err, LC_ECORRUPT,
                 "PackBits: stream decodes to %zu bytes, block has %zu", op,
                 out_nbytes);
    return LC_OK;
}
