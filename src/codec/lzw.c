/* lzw.c - TIFF LZW decoding (MSB-first codes of 9 to 12 bits, early
 * change). */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "codec_internal.h"

/*
 * TIFF LZW (TIFF 6.0 section 13, as libtiff writes it): codes are read
 * most significant bit first; 256 clears the table, 257 ends the strip;
 * the first free code is 258; the code width grows from 9 bits one code
 * early ("early change"), as soon as the next free code is 2^width - 1,
 * and stops at 12 bits. Once 4096 codes exist, no more are added until a
 * clear (libtiff's writer clears at 4094).
 *
 * Every string in the table is a copy of output already written: the
 * string of the code added while decoding code c is the previous code's
 * output plus the first byte of c's, and those bytes sit side by side in
 * the output. So the table is flat, an (offset, length) pair per code, and
 * decoding a code is one copy from earlier in the output: no per-code
 * string building, no chains to walk, and nothing allocated. The source of
 * a copy always ends at or before where it is written, except in the
 * "KwKwK" case (the code being defined right now), handled on its own.
 *
 * The loop per code is what the decoder's speed is made of (blocks of
 * noisy 16-bit data decode to 1-3 bytes a code): the first code after a
 * clear, which adds no string, has a loop of its own, so the main loop
 * adds one for every code without asking; the width and the table's end
 * share one test (limit); and the copy's test for room also finds a
 * string too long. Together 27% less time than a test for each, on the 36
 * LZW blocks of a bench-world COG.
 */

#define LC_LZW_CLEAR 256u
#define LC_LZW_EOI 257u
#define LC_LZW_FIRST 258u
#define LC_LZW_NCODES 4096u

/* A most-significant-bit-first bit reader over in[0..in_nbytes). */
struct bitreader {
    uint64_t buf;   /* the next bits, left-aligned */
    unsigned nbits; /* how many of them are valid */
    const uint8_t *p;
    const uint8_t *end;
};

static inline void refill(struct bitreader *br)
{
    if (LC_LIKELY(br->end - br->p >= 8)) {
        /* Load 8 bytes, keep as many whole bytes as fit, and count only
         * those: bits below nbits are then the stream's next bits, and
         * the next refill ORs the same bits into the same places. */
        br->buf |= lc__load_be64(br->p) >> br->nbits;
        br->p += (63 - br->nbits) >> 3;
        br->nbits |= 56;
        return;
    }
    while (br->nbits <= 56 && br->p < br->end) {
        br->buf |= (uint64_t)*br->p++ << (56 - br->nbits);
        br->nbits += 8;
    }
}

/*
 * Copies the len bytes at src to out + op, where src (a literal, or an
 * earlier part of out) ends at or before out + op; false when they do not
 * fit. When there is room after the string, 16-byte chunks are copied
 * through a temporary: a chunk may read bytes an earlier chunk wrote, but
 * only beyond the string's end, and may write up to 15 bytes past it,
 * which later codes overwrite.
 */
static inline bool put_string(uint8_t *out, size_t out_nbytes, size_t op,
                              const uint8_t *src, size_t len)
{
    if (LC_LIKELY(out_nbytes - op >= len + 16)) {
        for (size_t k = 0; k < len; k += 16) {
            uint8_t t[16];
            memcpy(t, src + k, 16);
            memcpy(out + op + k, t, 16);
        }
        return true;
    }
    if (len > out_nbytes - op)
        return false;
    memcpy(out + op, src, len);
    return true;
}

/* The strings of the codes below 256, one byte each; 16 more bytes so
 * that a 16-byte chunk may be read from any of them. */
static const uint8_t literals[256 + 16] = {
#define LC_LZW_L4(n) (n), (n) + 1, (n) + 2, (n) + 3
#define LC_LZW_L16(n)                                                          \
    LC_LZW_L4(n), LC_LZW_L4((n) + 4), LC_LZW_L4((n) + 8), LC_LZW_L4((n) + 12)
#define LC_LZW_L64(n)                                                          \
    LC_LZW_L16(n), LC_LZW_L16((n) + 16), LC_LZW_L16((n) + 32),                 \
        LC_LZW_L16((n) + 48)
    LC_LZW_L64(0), LC_LZW_L64(64), LC_LZW_L64(128), LC_LZW_L64(192)
#undef LC_LZW_L64
#undef LC_LZW_L16
#undef LC_LZW_L4
};

static int too_long(size_t out_nbytes, struct lc__errbuf *err)
{
    return lc__error(err, LC_ECORRUPT,
                     "LZW: stream decodes to more than the %zu bytes of the "
                     "block",
                     out_nbytes);
}

int lc__codec_lzw_decode(const uint8_t *in, size_t in_nbytes, uint8_t *out,
                         size_t out_nbytes, struct lc__errbuf *err)
{
    /* For each code: where its string starts (in literals, or in out for
     * the codes from LC_LZW_FIRST), and its length (at most 4096 - 258 +
     * 1, so 16 bits are enough; 0 for the clear and end codes, which have
     * no string). Literals and table codes then decode alike: one copy.
     * One more entry than codes: a full table writes that one. */
    const uint8_t *strs[LC_LZW_NCODES + 1];
    uint16_t lens[LC_LZW_NCODES + 1];
    struct bitreader br = {0, 0, in, in + in_nbytes};
    unsigned width = 9;
    unsigned next = LC_LZW_FIRST;
    /* Adding the entry next + 1 == limit either widens the codes or fills
     * the table. */
    unsigned limit = (1u << 9) - 1;
    size_t prev_start = 0, prev_len = 0;
    size_t op = 0;

    /* Old-style (pre-TIFF 6, LSB-first) LZW begins with a clear code
     * written least significant bit first; libtiff detects it the same
     * way. */
    LC_RETURN_IF(in_nbytes >= 2 && in[0] == 0 && (in[1] & 1) != 0, err,
                 LC_EUNSUPPORTED,
                 "LZW: old-style (LSB-first) LZW not supported");
    for (unsigned c = 0; c < 256; c++) {
        strs[c] = literals + c;
        lens[c] = 1;
    }
    lens[LC_LZW_CLEAR] = 0;
    lens[LC_LZW_EOI] = 0;

    for (;;) {
        /* The first code of the stream or after a clear: a literal (or
         * another clear, or the end). A refill leaves at least 56 bits
         * while 8 bytes of input remain: four codes' worth. Out of data
         * without an EOI ends the stream: libtiff accepts it. */
        if (br.nbits < width) {
            refill(&br);
            if (br.nbits < width)
                break;
        }
        unsigned code = (unsigned)(br.buf >> (64 - width));
        br.buf <<= width;
        br.nbits -= width;
        if (code == LC_LZW_CLEAR)
            continue;
        if (code == LC_LZW_EOI)
            break;
        LC_RETURN_IF(code > 255, err, LC_ECORRUPT,
                     "LZW: code %u is not in the table (next free code %u)",
                     code, next);
        if (op == out_nbytes)
            return too_long(out_nbytes, err);
        prev_start = op;
        prev_len = 1;
        out[op++] = (uint8_t)code;

        /* Every other code, until a clear. */
        bool cleared = false;
        while (!cleared) {
            if (br.nbits < width) {
                refill(&br);
                if (br.nbits < width)
                    break;
            }
            code = (unsigned)(br.buf >> (64 - width));
            br.buf <<= width;
            br.nbits -= width;

            size_t start = op;
            size_t len;
            if (LC_LIKELY(code < next)) {
                len = lens[code];
                if (LC_UNLIKELY(len == 0)) {
                    if (code == LC_LZW_EOI)
                        break;
                    width = 9;
                    next = LC_LZW_FIRST;
                    limit = (1u << 9) - 1;
                    cleared = true;
                    continue;
                }
                if (!put_string(out, out_nbytes, op, strs[code], len))
                    return too_long(out_nbytes, err);
            } else if (code == next) {
                /* KwKwK: the previous string plus its own first byte. */
                len = prev_len + 1;
                if (len > out_nbytes - op)
                    return too_long(out_nbytes, err);
                (void)put_string(out, out_nbytes, op, out + prev_start,
                                 prev_len);
                out[op + prev_len] = out[prev_start];
            } else {
                return lc__error(err, LC_ECORRUPT,
                                 "LZW: code %u is not in the table (next free "
                                 "code %u)",
                                 code, next);
            }
            op += len;

            strs[next] = out + prev_start;
            lens[next] = (uint16_t)(prev_len + 1);
            if (LC_UNLIKELY(next + 1 >= limit)) {
                if (next < LC_LZW_NCODES)
                    next++;
                if (width < 12 && next == (1u << width) - 1)
                    width++;
                limit = width < 12 ? (1u << width) - 1 : LC_LZW_NCODES;
            } else {
                next++;
            }
            prev_start = start;
            prev_len = len;
        }
        if (!cleared)
            break;
    }

    LC_RETURN_IF(op != out_nbytes, err, LC_ECORRUPT,
                 "LZW: stream decodes to %zu bytes, block has %zu", op,
                 out_nbytes);
    return LC_OK;
}
