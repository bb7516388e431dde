/* lerc_fpl.c - LERC's lossless float coding ("FPL"), decoded without liblerc.
 */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <string.h>

#include "codec_internal.h"

/*
 * Why this file
 * =============
 *
 * Lerc2 version 6 stores a lossless float32/float64 band (maxZError 0) in
 * "image encode mode 3": byte planes, each Huffman- or run-coded, under a
 * byte-wise and a float-aware delta predictor. liblerc 4.0 decodes that
 * path without checking its input: a corrupt plane hits assert() (Debian
 * builds liblerc with assertions: the process aborts), reads past a plane
 * ("no encoding") or writes past one (packbits). So lc__codec_lerc_decode
 * sends every blob that holds such a band here, and liblerc never sees it;
 * every other blob still goes to liblerc.
 *
 * A blob is one Lerc2 blob per band, back to back. One band:
 *
 *   "Lerc2 " | version | checksum | nRows nCols nDepth numValid
 *   microBlockSize blobSize dataType nBlobsMore (int32) | 4 flag bytes |
 *   maxZError zMin zMax noData noDataOrig (float64)
 *   mask: int32 n, then n bytes of run-length coded bits (n = 0: all
 *         valid, none valid, or the previous band's mask)
 *   per-depth minima and maxima (nDepth values of the data type each)
 *   byte "one sweep" = 0, byte "image encode mode" = 3
 *   FPL: predictor code, then per byte of a value: byte index, delta
 *        level, uint32 size, and the plane coded in those bytes
 *
 * Bands with no valid pixel or one value are also decoded here (no
 * payload), so that a blob of such bands and FPL bands decodes whole. A
 * blob that also holds bands coded otherwise has its FPL bands decoded
 * here as a check, then goes to liblerc whole.
 * Everything is little-endian. The layout follows liblerc's reader, and
 * test_codec checks our output against liblerc's on blobs liblerc wrote.
 */

#define FPL_KEY "Lerc2 "
#define FPL_KEY_LEN 6
#define FPL_HEADER_V6 (FPL_KEY_LEN + 4 + 4 + 8 * 4 + 4 + 5 * 8)
#define FPL_DT_FLOAT 6
#define FPL_DT_DOUBLE 7
#define FPL_IEM_FPL 3
#define FPL_MAX_DELTA 5
/* A plane's symbols are bytes: a code table is at most 256 long (liblerc
 * allows 32768 and keeps the low byte; its encoder writes 256). */
#define FPL_MAX_SYMBOLS 256
#define FPL_LUT_BITS 12

enum band_kind { BAND_EMPTY, BAND_CONST, BAND_FPL, BAND_OTHER };

struct band {
    size_t nbytes; /* blobSize */
    int version, rows, cols, depth, nvalid, dt;
    double zmin, zmax, max_z_error;
    int32_t mask_nbytes;
    const uint8_t *mask_rle;
    const uint8_t *minmax; /* nDepth minima then maxima (version >= 4) */
    enum band_kind kind;
    const uint8_t *payload; /* the FPL part */
    size_t payload_nbytes;
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int32_t rdi32(const uint8_t *p)
{
    uint32_t u = rd32(p);
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

static double rdf64(const uint8_t *p)
{
    uint64_t u = (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
    double v;
    memcpy(&v, &u, 8);
    return v;
}

uint32_t lc__codec_lerc_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum1 = 0xffff, sum2 = 0xffff;
    size_t words = n / 2;
    while (words > 0) {
        size_t t = words >= 359 ? 359 : words;
        words -= t;
        do {
            sum1 += (uint32_t)*p++ << 8;
            sum2 += sum1 += *p++;
        } while (--t);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if (n & 1)
        sum2 += sum1 += (uint32_t)*p << 8;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return sum2 << 16 | sum1;
}

/* Reads the band at p (n bytes left in the blob) as far as its kind. */
static int parse_band(const uint8_t *p, size_t n, struct band *b,
                      struct lc__errbuf *err)
{
    memset(b, 0, sizeof *b);
    b->kind = BAND_OTHER;
    if (n < FPL_KEY_LEN + 4 || memcmp(p, FPL_KEY, FPL_KEY_LEN) != 0)
        return LC_OK; /* not Lerc2: liblerc's business */
    b->version = rdi32(p + FPL_KEY_LEN);
    if (b->version != 6)
        return LC_OK; /* FPL is version 6's (liblerc 4.0 reads no later) */
    LC_RETURN_IF(n < FPL_HEADER_V6, err, LC_ECORRUPT,
                 "LERC: truncated Lerc2 header");
    const uint8_t *q = p + FPL_KEY_LEN + 8;
    b->rows = rdi32(q);
    b->cols = rdi32(q + 4);
    b->depth = rdi32(q + 8);
    b->nvalid = rdi32(q + 12);
    int32_t blob_size = rdi32(q + 20);
    b->dt = rdi32(q + 24);
    q += 32 + 4; /* the ints, then 4 flag bytes */
    b->max_z_error = rdf64(q);
    b->zmin = rdf64(q + 8);
    b->zmax = rdf64(q + 16);
    LC_RETURN_IF(b->rows <= 0 || b->cols <= 0 || b->depth <= 0 ||
                     blob_size < FPL_HEADER_V6 + 4 || (size_t)blob_size > n,
                 err, LC_ECORRUPT, "LERC: bad Lerc2 band header");
    size_t npix;
    LC_RETURN_IF(!lc__size_mul((size_t)b->rows, (size_t)b->cols, &npix) ||
                     b->nvalid < 0 || (size_t)b->nvalid > npix,
                 err, LC_ECORRUPT, "LERC: bad Lerc2 band header");
    b->nbytes = (size_t)blob_size;
    if ((b->dt != FPL_DT_FLOAT && b->dt != FPL_DT_DOUBLE) ||
        b->max_z_error != 0.0)
        return LC_OK; /* not a lossless float band */
    LC_RETURN_IF(lc__codec_lerc_checksum(p + FPL_KEY_LEN + 8,
                                         b->nbytes - FPL_KEY_LEN - 8) !=
                     rd32(p + FPL_KEY_LEN + 4),
                 err, LC_ECORRUPT, "LERC: checksum mismatch");

    size_t pos = FPL_HEADER_V6;
    b->mask_nbytes = rdi32(p + pos);
    pos += 4;
    bool all_or_none = b->nvalid == 0 || (size_t)b->nvalid == npix;
    LC_RETURN_IF(b->mask_nbytes < 0 || (all_or_none && b->mask_nbytes != 0) ||
                     (size_t)b->mask_nbytes > b->nbytes - pos,
                 err, LC_ECORRUPT, "LERC: bad mask size %d", b->mask_nbytes);
    b->mask_rle = p + pos;
    pos += (size_t)b->mask_nbytes;
    if (b->nvalid == 0) {
        b->kind = BAND_EMPTY;
        return LC_OK;
    }
    if (b->zmin == b->zmax) {
        b->kind = BAND_CONST;
        return LC_OK;
    }
    size_t es = b->dt == FPL_DT_FLOAT ? 4 : 8, mm;
    LC_RETURN_IF(!lc__size_mul((size_t)b->depth, 2 * es, &mm) ||
                     mm > b->nbytes - pos,
                 err, LC_ECORRUPT, "LERC: truncated band ranges");
    b->minmax = p + pos;
    pos += mm;
    if (memcmp(b->minmax, b->minmax + mm / 2, mm / 2) == 0) {
        b->kind = BAND_CONST;
        return LC_OK;
    }
    LC_RETURN_IF(b->nbytes - pos < 2, err, LC_ECORRUPT,
                 "LERC: truncated band flags");
    if (p[pos] != 0 || p[pos + 1] != FPL_IEM_FPL)
        return LC_OK; /* "one sweep" or tiles: liblerc's business */
    pos += 2;
    b->kind = BAND_FPL;
    b->payload = p + pos;
    b->payload_nbytes = b->nbytes - pos;
    return LC_OK;
}

/* ---- the mask ------------------------------------------------------------ */

/* One run of a run-length code: run literal bytes of in, or in's next
 * byte run times. False when either side would overrun. */
static bool copy_run(uint8_t *out, size_t nout, size_t *got, const uint8_t *in,
                     size_t nin, size_t *pos, size_t run, bool literal)
{
    size_t take = literal ? run : 1;
    if (take > nin - *pos || run > nout - *got)
        return false;
    if (literal)
        memcpy(out + *got, in + *pos, run);
    else
        memset(out + *got, in[*pos], run);
    *got += run;
    *pos += take;
    return true;
}

/* Lerc's run-length code into exactly nbytes bytes: int16 counts, a
 * positive count of literal bytes or a negative count of one repeated
 * byte, ended by -32768. */
static int unrle(const uint8_t *in, size_t n, uint8_t *out, size_t nbytes,
                 struct lc__errbuf *err)
{
    size_t got = 0, pos = 0;
    for (;;) {
        LC_RETURN_IF(n - pos < 2, err, LC_ECORRUPT, "LERC: truncated mask");
        int16_t cnt = (int16_t)(uint16_t)(in[pos] | in[pos + 1] << 8);
        pos += 2;
        if (cnt == -32768)
            break;
        size_t run = cnt < 0 ? (size_t)(-(int32_t)cnt) : (size_t)cnt;
        LC_RETURN_IF(!copy_run(out, nbytes, &got, in, n, &pos, run, cnt > 0),
                     err, LC_ECORRUPT, "LERC: corrupt mask");
    }
    LC_RETURN_IF(got != nbytes, err, LC_ECORRUPT,
                 "LERC: mask of %zu bytes, %zu expected", got, nbytes);
    return LC_OK;
}

/* ---- Lerc's Huffman code --------------------------------------------- */

/* The tree of codes longer than the lookup table: at most one node per
 * bit of each such code, plus the root. */
#define FPL_MAX_NODES (1 + FPL_MAX_SYMBOLS * 32)

struct huff {
    uint16_t len[FPL_MAX_SYMBOLS];
    uint32_t code[FPL_MAX_SYMBOLS];
    int16_t lut_len[1 << FPL_LUT_BITS]; /* -1: not in the table */
    int16_t lut_sym[1 << FPL_LUT_BITS];
    int lut_bits;
    int skip; /* leading zero bits of every long code */
    /* Node 0 is the root; child 0 means none (the root is nobody's
     * child); sym -1 marks an inner node. */
    int32_t child[FPL_MAX_NODES][2];
    int16_t sym[FPL_MAX_NODES];
    size_t nnodes;
};

/* Lerc's BitStuffer2 (version >= 3): numBits-wide values, LSB first. */
static int unstuff(const uint8_t **pp, size_t *left, uint32_t *vals,
                   size_t count, unsigned bits, struct lc__errbuf *err)
{
    uint64_t nbits = (uint64_t)count * bits;
    size_t nbytes = (size_t)((nbits + 7) / 8);
    LC_RETURN_IF(count == 0 || bits >= 32 || nbytes > *left, err, LC_ECORRUPT,
                 "LERC: corrupt Huffman table");
    const uint8_t *p = *pp;
    uint64_t acc = 0;
    unsigned have = 0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        while (have < bits) {
            acc |= (uint64_t)p[at++] << have;
            have += 8;
        }
        vals[i] = (uint32_t)(acc & ((1u << bits) - 1));
        acc >>= bits;
        have -= bits;
    }
    *pp += nbytes;
    *left -= nbytes;
    return LC_OK;
}

/* BitStuffer2's block: a header byte (bits 0-4 the width, bit 5 a lookup
 * table, bits 6-7 the size of the count), the count, the values. */
static int bitstuffer2(const uint8_t **pp, size_t *left, uint32_t *vals,
                       size_t want, struct lc__errbuf *err)
{
    LC_RETURN_IF(*left < 1, err, LC_ECORRUPT, "LERC: corrupt Huffman table");
    uint8_t h = **pp;
    (*pp)++;
    (*left)--;
    unsigned bits = h & 31, nb = (h >> 6) == 0 ? 4 : 3 - (h >> 6);
    LC_RETURN_IF((nb != 1 && nb != 2 && nb != 4) || *left < nb, err,
                 LC_ECORRUPT, "LERC: corrupt Huffman table");
    uint32_t count = nb == 1   ? (*pp)[0]
                     : nb == 2 ? (uint32_t)((*pp)[0] | (*pp)[1] << 8)
                               : rd32(*pp);
    *pp += nb;
    *left -= nb;
    LC_RETURN_IF(count != want, err, LC_ECORRUPT,
                 "LERC: corrupt Huffman table");
    if (!(h & 32)) {
        if (bits == 0) {
            memset(vals, 0, want * sizeof *vals);
            return LC_OK;
        }
        return unstuff(pp, left, vals, count, bits, err);
    }
    LC_RETURN_IF(bits == 0 || *left < 1, err, LC_ECORRUPT,
                 "LERC: corrupt Huffman table");
    unsigned nlut = (unsigned)**pp - 1u; /* without the leading 0 */
    (*pp)++;
    (*left)--;
    uint32_t lut[256];
    lut[0] = 0;
    LC_FORWARD_IF_ERROR(unstuff(pp, left, lut + 1, nlut, bits, err));
    unsigned ibits = 0;
    while (nlut >> ibits)
        ibits++;
    LC_FORWARD_IF_ERROR(unstuff(pp, left, vals, count, ibits, err));
    for (size_t i = 0; i < count; i++) {
        LC_RETURN_IF(vals[i] > nlut, err, LC_ECORRUPT,
                     "LERC: corrupt Huffman table");
        vals[i] = lut[vals[i]];
    }
    return LC_OK;
}

static int32_t tree_node(struct huff *h)
{
    /* Cannot run out: see FPL_MAX_NODES. */
    h->child[h->nnodes][0] = h->child[h->nnodes][1] = 0;
    h->sym[h->nnodes] = -1;
    return (int32_t)h->nnodes++;
}

/* The code table (lengths, then the codes, MSB first in 32-bit words) and
 * the decoding tables, as liblerc builds them. */
static int huff_read(struct huff *h, const uint8_t **pp, size_t *left,
                     struct lc__errbuf *err)
{
    LC_RETURN_IF(*left < 16, err, LC_ECORRUPT, "LERC: corrupt Huffman table");
    int32_t version = rdi32(*pp), size = rdi32(*pp + 4);
    int32_t i0 = rdi32(*pp + 8), i1 = rdi32(*pp + 12);
    *pp += 16;
    *left -= 16;
    LC_RETURN_IF(version < 2 || size <= 0 || size > FPL_MAX_SYMBOLS || i0 < 0 ||
                     i0 >= i1 || i1 - i0 > size || i0 >= size,
                 err, LC_ECORRUPT, "LERC: corrupt Huffman table");
    uint32_t lens[FPL_MAX_SYMBOLS];
    LC_FORWARD_IF_ERROR(bitstuffer2(pp, left, lens, (size_t)(i1 - i0), err));
    memset(h->len, 0, sizeof h->len);
    for (int32_t i = i0; i < i1; i++) {
        int k = i < size ? i : i - size;
        LC_RETURN_IF(lens[i - i0] > 32, err, LC_ECORRUPT,
                     "LERC: Huffman code longer than 32 bits");
        h->len[k] = (uint16_t)lens[i - i0];
    }
    /* The codes. */
    const uint8_t *p = *pp;
    size_t avail = *left, used = 0;
    unsigned bit = 0;
    for (int32_t i = i0; i < i1; i++) {
        int k = i < size ? i : i - size;
        unsigned len = h->len[k];
        if (len == 0)
            continue;
        LC_RETURN_IF(avail - used < 4, err, LC_ECORRUPT,
                     "LERC: truncated Huffman codes");
        uint32_t c = (uint32_t)(rd32(p + used) << bit) >> (32 - len);
        if (32 - bit >= len) {
            bit += len;
            if (bit == 32) {
                bit = 0;
                used += 4;
            }
        } else {
            bit += len - 32;
            used += 4;
            LC_RETURN_IF(avail - used < 4, err, LC_ECORRUPT,
                         "LERC: truncated Huffman codes");
            c |= rd32(p + used) >> (32 - bit);
        }
        h->code[k] = c;
    }
    used += bit > 0 ? 4 : 0;
    LC_RETURN_IF(used > avail, err, LC_ECORRUPT,
                 "LERC: truncated Huffman codes");
    *pp += used;
    *left -= used;

    /* As liblerc decodes: a lookup table as wide as the longest code (12
     * bits at most), and for longer codes a tree whose walk starts past
     * the zero bits every long code begins with. */
    unsigned max_len = 0;
    for (int k = 0; k < size; k++)
        if (h->len[k] > max_len)
            max_len = h->len[k];
    LC_RETURN_IF(max_len == 0, err, LC_ECORRUPT, "LERC: empty Huffman table");
    h->lut_bits = max_len < FPL_LUT_BITS ? (int)max_len : FPL_LUT_BITS;
    for (size_t j = 0; j < (size_t)1 << h->lut_bits; j++)
        h->lut_len[j] = -1;
    int min_zeros = 32;
    for (int k = 0; k < size; k++) {
        int len = h->len[k];
        if (len == 0)
            continue;
        uint32_t code = h->code[k];
        if (len <= h->lut_bits) {
            uint32_t first = code << (h->lut_bits - len);
            uint32_t nfill = 1u << (h->lut_bits - len);
            for (uint32_t j = 0; j < nfill; j++) {
                h->lut_len[first | j] = (int16_t)len;
                h->lut_sym[first | j] = (int16_t)k;
            }
        } else {
            int width = 0;
            while (width < 32 && (code >> width) != 0)
                width++;
            if (width == 0)
                width = 1; /* liblerc counts the code 0 as one bit */
            if (len - width < min_zeros)
                min_zeros = len - width;
        }
    }
    h->skip = max_len > FPL_LUT_BITS ? min_zeros : 0;
    h->nnodes = 0;
    if (max_len <= FPL_LUT_BITS)
        return LC_OK;
    int32_t root = tree_node(h);
    for (int k = 0; k < size; k++) {
        int len = h->len[k];
        if (len <= h->lut_bits)
            continue;
        int32_t node = root;
        for (int j = len - h->skip - 1; j >= 0; j--) {
            unsigned b = (h->code[k] >> j) & 1u;
            if (h->child[node][b] == 0)
                h->child[node][b] = tree_node(h);
            node = h->child[node][b];
            if (j == 0)
                h->sym[node] = (int16_t)k;
        }
    }
    return LC_OK;
}

/* Decodes n symbols (MSB first in little-endian 32-bit words). */
static int huff_decode(const struct huff *h, const uint8_t *p, size_t avail,
                       uint8_t *out, size_t n, struct lc__errbuf *err)
{
    size_t at = 0;
    unsigned bit = 0;
    const int lb = h->lut_bits;
    for (size_t m = 0; m < n; m++) {
        LC_RETURN_IF(avail - at < 4, err, LC_ECORRUPT,
                     "LERC: truncated Huffman data");
        uint32_t w = rd32(p + at);
        uint32_t v = (uint32_t)(w << bit) >> (32 - lb);
        if (32 - (int)bit < lb) {
            LC_RETURN_IF(avail - at < 8, err, LC_ECORRUPT,
                         "LERC: truncated Huffman data");
            v |= rd32(p + at + 4) >> (64 - bit - (unsigned)lb);
        }
        if (h->lut_len[v] >= 0) {
            out[m] = (uint8_t)h->lut_sym[v];
            bit += (unsigned)h->lut_len[v];
            if (bit >= 32) {
                bit -= 32;
                at += 4;
            }
            continue;
        }
        LC_RETURN_IF(h->nnodes == 0, err, LC_ECORRUPT,
                     "LERC: invalid Huffman code");
        bit += (unsigned)h->skip;
        if (bit >= 32) {
            bit -= 32;
            at += 4;
        }
        int32_t node = 0;
        int sym = -1;
        while (sym < 0) {
            LC_RETURN_IF(avail - at < 4, err, LC_ECORRUPT,
                         "LERC: truncated Huffman data");
            unsigned b = (rd32(p + at) << bit) >> 31;
            if (++bit == 32) {
                bit = 0;
                at += 4;
            }
            node = h->child[node][b];
            LC_RETURN_IF(node == 0, err, LC_ECORRUPT,
                         "LERC: invalid Huffman code");
            sym = h->sym[node];
        }
        out[m] = (uint8_t)sym;
    }
    return LC_OK;
}

/* ---- one byte plane ------------------------------------------------------ */

/* A plane of n bytes from its coded form: a mode byte (0 Huffman, 1 one
 * repeated byte, 2 stored, 3 packbits), then the data. */
static int plane_decode(const uint8_t *in, size_t nin, uint8_t *out, size_t n,
                        struct huff *h, struct lc__errbuf *err)
{
    LC_RETURN_IF(nin < 1, err, LC_ECORRUPT, "LERC: empty byte plane");
    const uint8_t *p = in + 1;
    size_t left = nin - 1;
    switch (in[0]) {
    case 0:
        LC_FORWARD_IF_ERROR(huff_read(h, &p, &left, err));
        return huff_decode(h, p, left, out, n, err);
    case 1:
        LC_RETURN_IF(left < 5 || rd32(p + 1) != n, err, LC_ECORRUPT,
                     "LERC: corrupt repeated-byte plane");
        memset(out, p[0], n);
        return LC_OK;
    case 2:
        LC_RETURN_IF(left < n, err, LC_ECORRUPT,
                     "LERC: truncated stored plane");
        memcpy(out, p, n);
        return LC_OK;
    case 3: {
        /* A header byte b <= 127: b + 1 literal bytes; b > 127: the next
         * byte b - 126 times. */
        size_t got = 0, i = 0;
        while (i < left) {
            unsigned b = p[i++];
            size_t run = b <= 127 ? b + 1 : b - 126;
            LC_RETURN_IF(!copy_run(out, n, &got, p, left, &i, run, b <= 127),
                         err, LC_ECORRUPT, "LERC: corrupt packbits plane");
        }
        LC_RETURN_IF(got != n, err, LC_ECORRUPT,
                     "LERC: packbits plane of %zu bytes, %zu expected", got, n);
        return LC_OK;
    }
    default:
        return lc__error(err, LC_ECORRUPT, "LERC: unknown plane coding %u",
                         (unsigned)in[0]);
    }
}

/* ---- the float predictors ------------------------------------------------ */

/* FPL adds floats' bits field by field: the mantissas modulo their width,
 * the sign and exponent (a float's bits are moved to exponent, sign,
 * mantissa first, see undo_move) as one more field. */
static uint32_t add32(uint32_t a, uint32_t b)
{
    const uint32_t mant = 0x007fffffu;
    uint32_t hi = ((a >> 23) + (b >> 23)) & 0x1ffu;
    return ((a + b) & mant) | hi << 23;
}

static uint64_t add64(uint64_t a, uint64_t b)
{
    const uint64_t mant = 0x000fffffffffffffull;
    uint64_t hi = ((a >> 52) + (b >> 52)) & 0xfffu;
    return (((a & mant) + (b & mant)) & mant) | hi << 52;
}

/* Float32 bits were stored as exponent (8) | sign (1) | mantissa (23). */
static uint32_t undo_move(uint32_t a)
{
    return (a & 0x007fffffu) | (a >> 24 & 0xffu) << 23 | (a >> 23 & 1u) << 31;
}

static uint64_t unit_get(const uint8_t *p, size_t es)
{
    if (es == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void unit_put(uint8_t *p, size_t es, uint64_t v)
{
    if (es == 4) {
        uint32_t u = (uint32_t)v;
        memcpy(p, &u, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

static uint64_t unit_add(size_t es, uint64_t a, uint64_t b)
{
    return es == 4 ? add32((uint32_t)a, (uint32_t)b) : add64(a, b);
}

/* Undoes predictor 1 (deltas along rows) or 2 (along columns, then
 * rows) over a rows x cols grid of es-byte units. */
static void unpredict(uint8_t *u, size_t es, size_t cols, size_t rows,
                      unsigned predictor)
{
    if (predictor == 2) {
        for (size_t r = 1; r < rows; r++) {
            uint8_t *row = u + r * cols * es, *up = row - cols * es;
            for (size_t c = 0; c < cols; c++)
                unit_put(row + c * es, es,
                         unit_add(es, unit_get(row + c * es, es),
                                  unit_get(up + c * es, es)));
        }
    }
    if (predictor == 0)
        return;
    for (size_t r = 0; r < rows; r++) {
        uint8_t *row = u + r * cols * es;
        uint64_t prev = unit_get(row, es);
        for (size_t c = 1; c < cols; c++) {
            prev = unit_add(es, unit_get(row + c * es, es), prev);
            unit_put(row + c * es, es, prev);
        }
    }
}

/* ---- a band ---------------------------------------------------------------
 */

static int fpl_band(const struct band *b, uint8_t *out, uint8_t *planes,
                    struct huff *h, struct lc__errbuf *err)
{
    const size_t es = b->dt == FPL_DT_FLOAT ? 4 : 8;
    /* Several values per pixel are coded as a (pixels x depth) grid. */
    size_t cols = b->depth == 1 ? (size_t)b->cols : (size_t)b->depth;
    size_t rows =
        b->depth == 1 ? (size_t)b->rows : (size_t)b->rows * (size_t)b->cols;
    size_t n = cols * rows; /* fits: the caller sized out from it */
    const uint8_t *p = b->payload;
    size_t left = b->payload_nbytes;
    LC_RETURN_IF(left < 1 || p[0] > 2, err, LC_ECORRUPT,
                 "LERC: bad float predictor");
    unsigned predictor = p[0];
    p++;
    left--;
    bool seen[8] = {false};
    for (size_t k = 0; k < es; k++) {
        LC_RETURN_IF(left < 6, err, LC_ECORRUPT, "LERC: truncated byte plane");
        unsigned index = p[0], level = p[1];
        uint32_t csize = rd32(p + 2);
        p += 6;
        left -= 6;
        LC_RETURN_IF(index >= es || seen[index] || level > FPL_MAX_DELTA ||
                         csize > left,
                     err, LC_ECORRUPT, "LERC: bad byte plane header");
        seen[index] = true;
        uint8_t *plane = planes + (size_t)index * n;
        LC_FORWARD_IF_ERROR(plane_decode(p, csize, plane, n, h, err));
        p += csize;
        left -= csize;
        /* Byte deltas of order level, undone from the highest. */
        for (unsigned l = level; l > 0; l--)
            for (size_t i = l; i < n; i++)
                plane[i] = (uint8_t)(plane[i] + plane[i - 1]);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < es; k++)
            out[i * es + k] = planes[k * n + i];
    if (LC_HOST_BIG_ENDIAN)
        lc__codec_swap(out, n, (unsigned)es);
    unpredict(out, es, cols, rows, predictor);
    if (es == 4) {
        for (size_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, out + 4 * i, 4);
            v = undo_move(v);
            memcpy(out + 4 * i, &v, 4);
        }
    }
    return LC_OK; /* values in the host's order, as liblerc gives them */
}

/* Value m of a constant band's pixels: zMin, or with several values per
 * pixel and zMin != zMax the depth's own minimum (liblerc's rule). */
static void const_value(const struct band *b, size_t es, size_t m, uint8_t v[8])
{
    double z = b->zmin;
    if (b->depth > 1 && b->zmin != b->zmax && b->minmax != NULL) {
        memcpy(v, b->minmax + m * es, es);
        if (LC_HOST_BIG_ENDIAN)
            lc__codec_swap(v, 1, (unsigned)es);
        return;
    }
    if (es == 4) {
        float f = (float)z;
        memcpy(v, &f, 4);
    } else {
        memcpy(v, &z, 8);
    }
}

/* Band b's values when it is empty (zeros) or constant (valid pixels). */
static void fill_band(const struct band *b, const uint8_t *bits, uint8_t *out)
{
    const size_t es = b->dt == FPL_DT_FLOAT ? 4 : 8;
    size_t npix = (size_t)b->rows * (size_t)b->cols, d = (size_t)b->depth;
    memset(out, 0, npix * d * es);
    if (b->kind == BAND_EMPTY)
        return;
    for (size_t k = 0; k < npix; k++) {
        if (!(bits[k >> 3] & (0x80u >> (k & 7))))
            continue;
        for (size_t m = 0; m < d; m++)
            const_value(b, es, m, out + (k * d + m) * es);
    }
}

/* ---- the blob -------------------------------------------------------------
 */

int lc__codec_lerc_fpl(const struct lc_allocator *a, const uint8_t *blob,
                       size_t nbytes, unsigned nbands, unsigned nmasks,
                       uint8_t *masks, uint8_t *out, size_t out_nbytes,
                       bool *handled, struct lc__errbuf *err)
{
    *handled = false;
    struct band first;
    LC_FORWARD_IF_ERROR(parse_band(blob, nbytes, &first, err));
    if (first.version != 6 || first.nbytes == 0 ||
        (first.dt != FPL_DT_FLOAT && first.dt != FPL_DT_DOUBLE) ||
        first.max_z_error != 0.0)
        return LC_OK; /* no FPL band in this blob */
    LC_RETURN_IF(nbands == 0, err, LC_ECORRUPT, "LERC: no band");
    struct band *bands = lc__calloc(a, nbands, sizeof *bands);
    LC_RETURN_IF(bands == NULL, err, LC_ENOMEM, "LERC: out of memory");
    int status = LC_OK;
    bool any_fpl = false, any_other = false;
    size_t off = 0;
    for (unsigned i = 0; i < nbands && status == LC_OK; i++) {
        /* Band 0 is parsed already (its checksum spans the whole band). */
        if (i == 0)
            bands[0] = first;
        else
            status = parse_band(blob + off, nbytes - off, &bands[i], err);
        if (status < 0)
            break;
        const struct band *b = &bands[i];
        if (b->nbytes == 0 || b->version != first.version ||
            b->dt != first.dt || b->rows != first.rows ||
            b->cols != first.cols || b->depth != first.depth)
            status = lc__error(err, LC_ECORRUPT,
                               "LERC: band %u does not match band 0", i);
        any_fpl |= b->kind == BAND_FPL;
        any_other |= b->kind == BAND_OTHER;
        off += b->nbytes;
    }
    if (status == LC_OK && !any_fpl) {
        lc__free(a, bands); /* liblerc decodes it */
        return LC_OK;
    }
    const size_t es = first.dt == FPL_DT_FLOAT ? 4 : 8;
    const size_t npix = (size_t)first.rows * (size_t)first.cols;
    size_t band_nbytes = 0, total = 0;
    if (status == LC_OK &&
        (!lc__size_mul(npix, (size_t)first.depth * es, &band_nbytes) ||
         !lc__size_mul(band_nbytes, nbands, &total) || total > out_nbytes))
        status = lc__error(err, LC_ECORRUPT,
                           "LERC: blob of %u band(s) does not fill the block",
                           nbands);
    const size_t nbits = (npix + 7) / 8;
    uint8_t *bits = NULL, *planes = NULL;
    struct huff *h = NULL;
    if (status == LC_OK) {
        bits = lc__malloc(a, nbits);
        planes = lc__malloc(a, band_nbytes);
        h = lc__malloc(a, sizeof *h);
        if (bits == NULL || planes == NULL || h == NULL)
            status = lc__error(err, LC_ENOMEM, "LERC: out of memory");
    }
    for (unsigned i = 0; i < nbands && status == LC_OK; i++) {
        const struct band *b = &bands[i];
        if ((size_t)b->nvalid == npix)
            memset(bits, 0xff, nbits);
        else if (b->nvalid == 0)
            memset(bits, 0, nbits);
        else if (b->mask_nbytes > 0)
            status =
                unrle(b->mask_rle, (size_t)b->mask_nbytes, bits, nbits, err);
        else if (i == 0) /* "the previous band's mask", and there is none */
            status = lc__error(err, LC_ECORRUPT, "LERC: band 0 has no mask");
        if (status < 0)
            break;
        uint8_t *dst = out + (size_t)i * band_nbytes;
        if (b->kind == BAND_FPL)
            status = fpl_band(b, dst, planes, h, err);
        else if (b->kind != BAND_OTHER)
            fill_band(b, bits, dst);
        if (status == LC_OK && i < nmasks) {
            uint8_t *m = masks + (size_t)i * npix;
            for (size_t k = 0; k < npix; k++)
                m[k] = (bits[k >> 3] >> (7 - (k & 7))) & 1u;
        }
    }
    lc__free(a, h);
    lc__free(a, planes);
    lc__free(a, bits);
    /* A blob mixing FPL bands with others goes to liblerc whole, once its
     * FPL bands decoded here: liblerc then meets only FPL data that
     * decodes (this decoder refuses whatever liblerc would trip on). */
    if (status == LC_OK)
        *handled = !any_other;
    lc__free(a, bands);
    return status;
}
