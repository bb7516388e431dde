/* encoding.c - Parquet integer encodings: RLE/bit-packed hybrid, BIT_PACKED,
 * DELTA_BINARY_PACKED. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "parquet_internal.h"

/*
 * The three integer encodings below carry everything else: levels and
 * dictionary indices use the RLE/bit-packed hybrid (or, in old files,
 * BIT_PACKED); DELTA_BINARY_PACKED encodes integers and, inside the two
 * DELTA_*_BYTE_ARRAY encodings, string lengths. See Encodings.md.
 *
 * All three read from a byte span that may end anywhere: every run is
 * checked against the bytes left before it is decoded, and a count that
 * the stream announces never sizes an allocation (the caller allocates for
 * the n values it wants, a number it has already bounded).
 */

unsigned lc__pq_bit_width(uint64_t max)
{
    unsigned bw = 0;

    while (max != 0) {
        bw++;
        max >>= 1;
    }
    return bw;
}

/* ULEB128, at most 10 bytes. */
static bool read_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *v_ret)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return false;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *pp = p;
            *v_ret = v;
            return true;
        }
    }
    return false;
}

/*
 * Unpacks n values of bw bits (1..32), least significant bit first, from
 * in; reads exactly ceil(n * bw / 8) bytes.
 */
static void unpack32(const uint8_t *in, unsigned bw, uint32_t *out, size_t n)
{
    uint64_t acc = 0;
    unsigned bits = 0;
    uint32_t mask = bw == 32 ? UINT32_MAX : (UINT32_C(1) << bw) - 1;

    if (bw == 1) {
        /* Levels of flat optional columns and booleans: the common case. */
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            unsigned b = *in++;
            for (unsigned k = 0; k < 8; k++)
                out[i + k] = (b >> k) & 1;
        }
        if (i < n) {
            unsigned b = *in;
            for (unsigned k = 0; i < n; k++, i++)
                out[i] = (b >> k) & 1;
        }
        return;
    }
    /* While 8 bytes are left from a value's first byte: one unaligned
     * 64-bit load per value (bw + 7 <= 39 bits). */
    size_t nbytes = (n * bw + 7) / 8, i = 0;
    for (; i < n && ((i * bw) >> 3) + 8 <= nbytes; i++) {
        size_t bit = i * bw;
        out[i] = (uint32_t)(lc__load_le64(in + (bit >> 3)) >> (bit & 7)) & mask;
    }
    if (i == n)
        return;
    size_t bit = i * bw;
    in += bit >> 3;
    if ((bit & 7) != 0) {
        acc = *in++ >> (bit & 7);
        bits = 8 - (unsigned)(bit & 7);
    }
    for (; i < n; i++) {
        while (bits < bw) {
            acc |= (uint64_t)*in++ << bits;
            bits += 8;
        }
        out[i] = (uint32_t)acc & mask;
        acc >>= bw;
        bits -= bw;
    }
}

/* As unpack32 for widths 1..64. */
static void unpack64(const uint8_t *in, unsigned bw, uint64_t *out, size_t n)
{
    uint64_t mask = bw == 64 ? UINT64_MAX : (UINT64_C(1) << bw) - 1;
    size_t bitpos = 0;

    for (size_t i = 0; i < n; i++) {
        size_t byte = bitpos >> 3;
        unsigned shift = bitpos & 7;
        uint64_t v = (uint64_t)in[byte++] >> shift;
        unsigned got = 8 - shift;
        while (got < bw) {
            v |= (uint64_t)in[byte++] << got;
            got += 8;
        }
        out[i] = v & mask;
        bitpos += bw;
    }
}

/* Bytes holding n values of bw bits, or SIZE_MAX on overflow. */
static size_t packed_nbytes(size_t n, unsigned bw)
{
    size_t bits;

    if (!lc__size_mul(n, bw, &bits) || bits > SIZE_MAX - 7)
        return SIZE_MAX;
    return (bits + 7) / 8;
}

int lc__pq_rle_decode(const uint8_t *in, size_t nbytes, unsigned bw,
                      uint32_t *out, size_t n, size_t *used_ret,
                      struct lc__errbuf *err)
{
    const uint8_t *p = in, *end = in + nbytes;
    unsigned value_nbytes = (bw + 7) / 8;
    size_t i = 0;

    LC_RETURN_IF(bw > 32, err, LC_ECORRUPT,
                 "RLE/bit-packed data of bit width %u (at most 32)", bw);
    while (i < n) {
        uint64_t header = 0;
        LC_RETURN_IF(!read_uleb(&p, end, &header), err, LC_ECORRUPT,
                     "RLE/bit-packed data ends after %zu of %zu values", i, n);
        size_t left = n - i;
        if (header & 1) {
            /* Bit-packed: header >> 1 groups of 8 values, bw bytes each. */
            uint64_t groups = header >> 1;
            size_t take = groups >= (left + 7) / 8 ? left : (size_t)groups * 8;
            size_t need = packed_nbytes(take, bw);
            size_t avail = (size_t)(end - p);
            /* A last run may stop short of its final group's padding. */
            LC_RETURN_IF(need > avail, err, LC_ECORRUPT,
                         "bit-packed run of %zu values overruns its data "
                         "(%zu bytes left)",
                         take, avail);
            if (bw == 0)
                memset(out + i, 0, take * sizeof(*out));
            else
                unpack32(p, bw, out + i, take);
            i += take;
            uint64_t run_nbytes = groups * bw;
            p += run_nbytes > avail || groups > UINT64_MAX / 32
                     ? avail
                     : (size_t)run_nbytes;
        } else {
            uint64_t count = header >> 1;
            LC_RETURN_IF((size_t)(end - p) < value_nbytes, err, LC_ECORRUPT,
                         "RLE run value overruns its data");
            uint32_t v = 0;
            for (unsigned k = 0; k < value_nbytes; k++)
                v |= (uint32_t)p[k] << (8 * k);
            p += value_nbytes;
            LC_RETURN_IF(bw < 32 && (v >> bw) != 0, err, LC_ECORRUPT,
                         "RLE run value %" PRIu32 " wider than %u bits", v, bw);
            size_t take = count >= left ? left : (size_t)count;
            for (size_t k = 0; k < take; k++)
                out[i + k] = v;
            i += take;
        }
    }
    if (used_ret != NULL)
        *used_ret = (size_t)(p - in);
    return LC_OK;
}

int lc__pq_bitpacked_decode(const uint8_t *in, size_t nbytes, unsigned bw,
                            uint32_t *out, size_t n, size_t *used_ret,
                            struct lc__errbuf *err)
{
    size_t need = packed_nbytes(n, bw);

    LC_RETURN_IF(bw > 32, err, LC_ECORRUPT,
                 "BIT_PACKED data of bit width %u (at most 32)", bw);
    LC_RETURN_IF(need > nbytes, err, LC_ECORRUPT,
                 "BIT_PACKED data of %zu values needs %zu bytes, has %zu", n,
                 need, nbytes);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        for (unsigned b = 0; b < bw; b++, pos++)
            v = (v << 1) | ((in[pos >> 3] >> (7 - (pos & 7))) & 1);
        out[i] = v;
    }
    if (used_ret != NULL)
        *used_ret = need;
    return LC_OK;
}

/* ---- DELTA_BINARY_PACKED -------------------------------------------------
 */

/* Block sizes beyond this are refused; writers use 128 or 256. */
#define LC_PQ_MAX_DELTA_BLOCK (1u << 24)

struct delta_header {
    uint64_t block_size;
    uint64_t nminiblocks;
    uint64_t total;
    uint64_t first;
};

static int delta_header(const uint8_t **pp, const uint8_t *end,
                        struct delta_header *h, struct lc__errbuf *err)
{
    uint64_t first = 0;

    LC_RETURN_IF(!read_uleb(pp, end, &h->block_size) ||
                     !read_uleb(pp, end, &h->nminiblocks) ||
                     !read_uleb(pp, end, &h->total) ||
                     !read_uleb(pp, end, &first),
                 err, LC_ECORRUPT, "DELTA_BINARY_PACKED header truncated");
    h->first = (first >> 1) ^ (UINT64_C(0) - (first & 1));
    LC_RETURN_IF(h->block_size == 0 || h->nminiblocks == 0 ||
                     h->block_size > LC_PQ_MAX_DELTA_BLOCK ||
                     h->block_size % h->nminiblocks != 0 ||
                     (h->block_size / h->nminiblocks) % 8 != 0,
                 err, LC_ECORRUPT,
                 "DELTA_BINARY_PACKED block of %" PRIu64 " values in %" PRIu64
                 " miniblocks",
                 h->block_size, h->nminiblocks);
    return LC_OK;
}

int lc__pq_delta_count(const uint8_t *in, size_t nbytes, uint64_t *count_ret,
                       struct lc__errbuf *err)
{
    struct delta_header h;
    const uint8_t *p = in;

    LC_FORWARD_IF_ERROR(delta_header(&p, in + nbytes, &h, err));
    *count_ret = h.total;
    return LC_OK;
}

int lc__pq_delta_decode(const uint8_t *in, size_t nbytes, uint64_t *out,
                        size_t n, size_t *used_ret, struct lc__errbuf *err)
{
    const uint8_t *p = in, *end = in + nbytes;
    struct delta_header h;

    LC_FORWARD_IF_ERROR(delta_header(&p, end, &h, err));
    LC_RETURN_IF(h.total < n, err, LC_ECORRUPT,
                 "DELTA_BINARY_PACKED stream of %" PRIu64 " values where %zu "
                 "are needed",
                 h.total, n);
    size_t per_mb = (size_t)(h.block_size / h.nminiblocks);
    uint64_t last = h.first;
    uint64_t left = h.total; /* values still to walk, decoded or not */
    size_t got = 0;
    if (left > 0) {
        if (n > 0)
            out[got++] = last;
        left--;
    }
    while (left > 0) {
        uint64_t zz = 0;
        LC_RETURN_IF(!read_uleb(&p, end, &zz), err, LC_ECORRUPT,
                     "DELTA_BINARY_PACKED block header truncated");
        uint64_t min_delta = (zz >> 1) ^ (UINT64_C(0) - (zz & 1));
        LC_RETURN_IF((uint64_t)(end - p) < h.nminiblocks, err, LC_ECORRUPT,
                     "DELTA_BINARY_PACKED bit widths truncated");
        const uint8_t *widths = p;
        p += h.nminiblocks;
        for (uint64_t m = 0; m < h.nminiblocks && left > 0; m++) {
            unsigned bw = widths[m];
            LC_RETURN_IF(bw > 64, err, LC_ECORRUPT,
                         "DELTA_BINARY_PACKED miniblock of bit width %u", bw);
            /* per_mb is a multiple of 8, so this is whole bytes. */
            size_t mb_nbytes = per_mb / 8 * bw;
            LC_RETURN_IF((size_t)(end - p) < mb_nbytes, err, LC_ECORRUPT,
                         "DELTA_BINARY_PACKED miniblock truncated (%zu of "
                         "%zu bytes)",
                         (size_t)(end - p), mb_nbytes);
            size_t take = left < per_mb ? (size_t)left : per_mb;
            if (got < n) {
                size_t k = n - got < take ? n - got : take;
                uint64_t *o = out + got;
                if (bw == 0) {
                    for (size_t j = 0; j < k; j++) {
                        last += min_delta;
                        o[j] = last;
                    }
                } else {
                    unpack64(p, bw, o, k);
                    for (size_t j = 0; j < k; j++) {
                        last += min_delta + o[j];
                        o[j] = last;
                    }
                }
                got += k;
            }
            p += mb_nbytes;
            left -= take;
        }
    }
    if (used_ret != NULL)
        *used_ret = (size_t)(p - in);
    return LC_OK;
}
