/* test_parquet.c - the Parquet reader: Thrift, encodings, codecs, known
 * answers over tests/data/parquet, the bad-file corpus, reads and
 * allocation failures. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <libdeflate.h>
#include <lz4.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

#include "../../src/codec/decompress.h"
#include "../../src/parquet/parquet_internal.h"
#include "parquet_glue.h"
#include "test_util.h"

/*
 * Usage: test_parquet DIR, DIR being tests/data/parquet (written by
 * tools/make_parquet_fixtures.py, whose docstrings give the contents the
 * answers below come from).
 */

static const char *g_dir;

/* ---- a memory source that logs its reads -------------------------------- */

struct mem_src {
    uint8_t *data;
    size_t nbytes;
    bool hide_size; /* size unknown until the first read, as remote */
    bool read_once;
    size_t ncalls;    /* read calls */
    size_t nrequests; /* ranges */
    uint64_t log_offset[64];
    size_t log_nbytes[64];
    size_t log_call[64];
};

static int mem_read(void *opaque, struct lc_range_request *rq, size_t n,
                    bool allow_short, struct lc__errbuf *err)
{
    struct mem_src *m = opaque;
    for (size_t i = 0; i < n; i++) {
        if (m->nrequests < 64) {
            m->log_offset[m->nrequests] = rq[i].offset;
            m->log_nbytes[m->nrequests] = rq[i].nbytes;
            m->log_call[m->nrequests] = m->ncalls;
        }
        m->nrequests++;
        uint64_t avail =
            rq[i].offset < m->nbytes ? m->nbytes - rq[i].offset : 0;
        rq[i].nread = avail < rq[i].nbytes ? (size_t)avail : rq[i].nbytes;
        if (rq[i].nread > 0)
            memcpy(rq[i].buf, m->data + rq[i].offset, rq[i].nread);
        if (rq[i].nread < rq[i].nbytes && !allow_short)
            return lc__error(err, LC_ECORRUPT, "mem: read past the end");
    }
    m->ncalls++;
    m->read_once = true;
    return LC_OK;
}

static int mem_size(void *opaque, uint64_t *size_ret, struct lc__errbuf *err)
{
    struct mem_src *m = opaque;
    (void)err;
    if (m->hide_size && !m->read_once)
        return LC_EUNSUPPORTED;
    *size_ret = m->nbytes;
    return LC_OK;
}

static struct lc__parquet_source mem_source(struct mem_src *m, const char *name)
{
    struct lc__parquet_source s = {.opaque = m,
                                   .name = name,
                                   .read = mem_read,
                                   .size = mem_size,
                                   .close = NULL};
    return s;
}

/* Reads DIR/name into m (exactly sized, so ASan sees overreads). */
static bool load(const char *name, struct mem_src *m)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    memset(m, 0, sizeof(*m));
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        LC_CHECK_FAIL_("cannot open %s", path);
        return false;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    m->data = malloc(n > 0 ? (size_t)n : 1);
    m->nbytes = fread(m->data, 1, (size_t)n, fp);
    fclose(fp);
    return true;
}

static struct lc__parquet_file *open_mem(struct mem_src *m, const char *name)
{
    struct lc__parquet_source src = mem_source(m, name);
    struct lc__parquet_file *f = NULL;
    struct lc__errbuf err = {0};
    int status = lc__parquet_open(&src, NULL, NULL, &f, &err);
    if (status != LC_OK)
        LC_CHECK_FAIL_("%s: open gave %s: %s", name, lc_err_name(status),
                       err.msg);
    return f;
}

/* Reads the named columns (lc__parquet_find_column paths). */
static struct lc__parquet_table *
read_cols(struct lc__parquet_file *f, const char *const *paths, size_t n,
          const struct lc__parquet_read_options *opts)
{
    size_t idx[32];
    struct lc__errbuf err = {0};
    for (size_t i = 0; i < n; i++) {
        if (lc__parquet_find_column(f, paths[i], &idx[i]) != LC_OK) {
            LC_CHECK_FAIL_("no column %s", paths[i]);
            return NULL;
        }
    }
    struct lc__parquet_table *t = NULL;
    int status = lc__parquet_read(f, idx, n, opts, &t, &err);
    if (status != LC_OK)
        LC_CHECK_FAIL_("read gave %s: %s", lc_err_name(status), err.msg);
    return t;
}

static double f64_at(const struct lc__parquet_array *a, size_t k)
{
    double v;
    memcpy(&v, (const uint8_t *)a->values + 8 * k, 8);
    return v;
}

static int64_t i64_at(const struct lc__parquet_array *a, size_t k)
{
    int64_t v;
    memcpy(&v, (const uint8_t *)a->values + 8 * k, 8);
    return v;
}

static int32_t i32_at(const struct lc__parquet_array *a, size_t k)
{
    int32_t v;
    memcpy(&v, (const uint8_t *)a->values + 4 * k, 4);
    return v;
}

static bool str_is(const struct lc__parquet_array *a, size_t k, const char *s)
{
    size_t n = a->offsets[k + 1] - a->offsets[k];
    return n == strlen(s) && memcmp(a->data + a->offsets[k], s, n) == 0;
}

/* Checks the validity of path level lv of a against want ("1011"). */
static void check_valid(const struct lc__parquet_array *a, size_t lv,
                        const char *want, const char *what)
{
    size_t n = strlen(want);
    if (a->levels[lv].length != n) {
        LC_CHECK_FAIL_("%s: level %zu has %zu slots, expected %zu", what, lv,
                       a->levels[lv].length, n);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        if (lc__parquet_valid(a, lv, k) != (want[k] == '1'))
            LC_CHECK_FAIL_("%s: level %zu slot %zu validity %d", what, lv, k,
                           (int)lc__parquet_valid(a, lv, k));
    }
}

static void check_offsets(const struct lc__parquet_array *a, unsigned r,
                          const size_t *want, size_t nparents, const char *what)
{
    const size_t *off;
    size_t np, lv;
    if (lc__parquet_array_list(a, r, &off, &np, &lv) != LC_OK) {
        LC_CHECK_FAIL_("%s: no list level %u", what, r);
        return;
    }
    LC_ASSERT_UEQ(np, nparents);
    for (size_t k = 0; k <= nparents && k <= np; k++) {
        if (off[k] != want[k])
            LC_CHECK_FAIL_("%s: offset %zu is %zu, expected %zu", what, k,
                           off[k], want[k]);
    }
}

/* ---- Thrift ---------------------------------------------------------------
 */

static int parse_header(const uint8_t *p, size_t n,
                        struct lc__pq_page_header *h, struct lc__errbuf *err,
                        size_t *used)
{
    struct lc__thrift t = {.p = p,
                           .end = p + n,
                           .base = p,
                           .max_depth = 8,
                           .max_string = 16,
                           .name = "mem",
                           .where = "page header",
                           .err = err};
    int status = lc__pq_parse_page_header(&t, h);
    *used = (size_t)(t.p - p);
    return status;
}

static void test_thrift(void)
{
    struct lc__pq_page_header h;
    struct lc__errbuf err = {0};
    size_t used;

    /* type=0, sizes 100/50 (zigzag 200/100), data page header {num 7,
     * enc 8, def 3, rep 3}, STOP. */
    static const uint8_t v1[] = {0x15, 0x00, 0x15, 0xc8, 0x01, 0x15,
                                 0x64, 0x2c, 0x15, 0x0e, 0x15, 0x10,
                                 0x15, 0x06, 0x15, 0x06, 0x00, 0x00};
    LC_ASSERT_EQ(parse_header(v1, sizeof(v1), &h, &err, &used), LC_OK);
    LC_ASSERT_UEQ(used, sizeof(v1));
    LC_ASSERT_EQ(h.type, 0);
    LC_ASSERT_EQ(h.uncompressed_page_size, 100);
    LC_ASSERT_EQ(h.compressed_page_size, 50);
    LC_ASSERT_EQ(h.num_values, 7);
    LC_ASSERT_EQ(h.encoding, 8);

    /* Unknown fields of every type are skipped: field 20 (long form) a
     * double, 21 a binary, 22 a list of bools, 23 a map<i32,binary>, 24 a
     * set of structs, 25 a nested struct, 26 i8, 27 true; then v2 header
     * field 8 (long form) with is_compressed false. */
    static const uint8_t skip[] = {
        0x15, 0x06,                                           /* type 3 */
        0x15, 0x08, 0x15, 0x08,                               /* sizes 4, 4 */
        0x07, 0x28, 1,    2,    3,    4,    5,    6,    7, 8, /* 20: double */
        0x18, 0x02, 'h',  'i',                                /* 21: binary */
        0x19, 0x11, 0x01,                                     /* 22: [true] */
        0x1b, 0x01, 0x58, 0x02, 0x01, 'x',                    /* 23: {1: "x"} */
        0x1a, 0x1c, 0x15, 0x02, 0x00,                         /* 24: {s} */
        0x1c, 0x1c, 0x16, 0x04, 0x00, 0x00,                   /* 25: nested */
        0x13, 0x7f,                                           /* 26: i8 */
        0x11,                                                 /* 27: true */
        0x0c, 0x10,                                           /* 8: v2 */
        0x15, 0x0a, 0x15, 0x02, 0x15, 0x04, 0x15, 0x00,       /* 5, 1, 2, 0 */
        0x15, 0x04, 0x15, 0x02, 0x12, 0x00,                   /* 2, 1, false */
        0x00};
    LC_ASSERT_EQ(parse_header(skip, sizeof(skip), &h, &err, &used), LC_OK);
    LC_ASSERT_EQ(h.type, 3);
    LC_ASSERT_EQ(h.num_values, 5);
    LC_ASSERT_EQ(h.num_nulls, 1);
    LC_ASSERT_EQ(h.def_nbytes, 2);
    LC_ASSERT_EQ(h.rep_nbytes, 1);
    LC_ASSERT_TRUE(!h.is_compressed);
    LC_ASSERT_UEQ(used, sizeof(skip));

    /* Every truncation of a valid header is an error, never a crash. */
    for (size_t n = 0; n < sizeof(skip) - 1; n++) {
        uint8_t *cut = malloc(n + 1);
        memcpy(cut, skip, n);
        int status = parse_header(cut, n, &h, &err, &used);
        if (status != LC_ECORRUPT)
            LC_CHECK_FAIL_("cut at %zu gave %s", n, lc_err_name(status));
        free(cut);
    }
    /* Nesting past max_depth (8 here). */
    uint8_t deep[64] = {0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x0c, 0x28};
    size_t n = 8;
    for (int i = 0; i < 20; i++)
        deep[n++] = 0x1c;
    for (int i = 0; i < 22; i++)
        deep[n++] = 0x00;
    LC_ASSERT_EQ(parse_header(deep, n, &h, &err, &used), LC_ELIMIT);
    /* A string longer than max_string (16). */
    static const uint8_t longstr[] = {0x15, 0x00, 0x15, 0x00, 0x15,
                                      0x00, 0x08, 0x28, 0x20};
    uint8_t buf[64];
    memcpy(buf, longstr, sizeof(longstr));
    memset(buf + sizeof(longstr), 'a', 40);
    LC_ASSERT_EQ(parse_header(buf, sizeof(longstr) + 40, &h, &err, &used),
                 LC_ELIMIT);
    /* A list whose count cannot fit in the bytes left. */
    static const uint8_t biglist[] = {0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x09,
                                      0x28, 0xf5, 0xff, 0xff, 0xff, 0x0f, 0x00};
    LC_ASSERT_EQ(parse_header(biglist, sizeof(biglist), &h, &err, &used),
                 LC_ECORRUPT);
    /* Missing sizes. */
    static const uint8_t nosize[] = {0x15, 0x00, 0x00};
    LC_ASSERT_EQ(parse_header(nosize, sizeof(nosize), &h, &err, &used),
                 LC_ECORRUPT);
    /* A data page without its DataPageHeader. */
    static const uint8_t nosub[] = {0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x00};
    LC_ASSERT_EQ(parse_header(nosub, sizeof(nosub), &h, &err, &used),
                 LC_ECORRUPT);
}

/* ---- encodings ------------------------------------------------------------
 */

static void test_encodings(void)
{
    struct lc__errbuf err = {0};
    uint32_t out[64];
    size_t used;

    LC_ASSERT_EQ(lc__pq_bit_width(0), 0);
    LC_ASSERT_EQ(lc__pq_bit_width(1), 1);
    LC_ASSERT_EQ(lc__pq_bit_width(7), 3);
    LC_ASSERT_EQ(lc__pq_bit_width(8), 4);

    /* Encodings.md: 0..7 bit-packed with width 3 (one group of 8). */
    static const uint8_t bp[] = {0x03, 0x88, 0xc6, 0xfa};
    LC_ASSERT_EQ(lc__pq_rle_decode(bp, sizeof(bp), 3, out, 8, &used, &err),
                 LC_OK);
    for (uint32_t i = 0; i < 8; i++)
        LC_ASSERT_UEQ(out[i], i);
    LC_ASSERT_UEQ(used, 4);
    /* An RLE run of 300 fives, then 3 bit-packed values of a group. */
    static const uint8_t mix[] = {0xd8, 0x04, 0x05, 0x03, 0x88, 0xc6, 0xfa};
    uint32_t big[303];
    LC_ASSERT_EQ(lc__pq_rle_decode(mix, sizeof(mix), 3, big, 303, NULL, &err),
                 LC_OK);
    LC_ASSERT_UEQ(big[0], 5);
    LC_ASSERT_UEQ(big[299], 5);
    LC_ASSERT_UEQ(big[300], 0);
    LC_ASSERT_UEQ(big[302], 2);
    /* Running out of data is an error. */
    LC_ASSERT_EQ(lc__pq_rle_decode(mix, 2, 3, big, 303, NULL, &err),
                 LC_ECORRUPT);
    LC_ASSERT_EQ(lc__pq_rle_decode(bp, sizeof(bp), 33, out, 1, NULL, &err),
                 LC_ECORRUPT);
    /* Width 0: an RLE run with no value bytes. */
    static const uint8_t zero[] = {0x14};
    LC_ASSERT_EQ(lc__pq_rle_decode(zero, 1, 0, out, 10, NULL, &err), LC_OK);
    LC_ASSERT_UEQ(out[9], 0);

    /* Encodings.md BIT_PACKED example: 0..7, width 3, MSB first. */
    static const uint8_t msb[] = {0x05, 0x39, 0x77};
    LC_ASSERT_EQ(lc__pq_bitpacked_decode(msb, 3, 3, out, 8, &used, &err),
                 LC_OK);
    for (uint32_t i = 0; i < 8; i++)
        LC_ASSERT_UEQ(out[i], i);
    LC_ASSERT_EQ(lc__pq_bitpacked_decode(msb, 2, 3, out, 8, &used, &err),
                 LC_ECORRUPT);

    /* Encodings.md delta examples (block size 8, 1 miniblock). */
    uint64_t v[16];
    static const uint8_t ex1[] = {8, 1, 5, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    LC_ASSERT_EQ(lc__pq_delta_decode(ex1, 6, v, 5, &used, &err), LC_OK);
    for (int i = 0; i < 5; i++)
        LC_ASSERT_UEQ(v[i], (uint64_t)i + 1);
    LC_ASSERT_UEQ(used, 6);
    /* 7, 5, 3, 1, 2, 3, 4, 5: min delta -2, width 2, 0 0 0 3 3 3 3. */
    static const uint8_t ex2[] = {8, 1, 8, 14, 3, 2, 0xc0, 0xff};
    LC_ASSERT_EQ(lc__pq_delta_decode(ex2, sizeof(ex2), v, 8, &used, &err),
                 LC_OK);
    static const int64_t want2[] = {7, 5, 3, 1, 2, 3, 4, 5};
    for (int i = 0; i < 8; i++)
        LC_ASSERT_EQ((int64_t)v[i], want2[i]);
    uint64_t count = 0;
    LC_ASSERT_EQ(lc__pq_delta_count(ex2, sizeof(ex2), &count, &err), LC_OK);
    LC_ASSERT_UEQ(count, 8);
    /* Asking for more than the stream holds, and truncation. */
    LC_ASSERT_EQ(lc__pq_delta_decode(ex2, sizeof(ex2), v, 9, &used, &err),
                 LC_ECORRUPT);
    LC_ASSERT_EQ(lc__pq_delta_decode(ex2, 7, v, 8, &used, &err), LC_ECORRUPT);
    /* A block size that is not a multiple of 8 values per miniblock. */
    static const uint8_t badhdr[] = {12, 1, 1, 0};
    LC_ASSERT_EQ(lc__pq_delta_decode(badhdr, 4, v, 1, &used, &err),
                 LC_ECORRUPT);
    /* Width 64 and wrap-around: INT64_MIN then +1 with min delta 0. */
    uint8_t w64[96];
    size_t k = 0;
    w64[k++] = 8;
    w64[k++] = 1;
    w64[k++] = 2;
    /* zigzag(INT64_MIN) = 2^64 - 1: ten 0xff...0x01 bytes */
    for (int i = 0; i < 9; i++)
        w64[k++] = 0xff;
    w64[k++] = 0x01;
    w64[k++] = 0;  /* min delta 0 */
    w64[k++] = 64; /* width 64 */
    memset(w64 + k, 0, 64);
    w64[k] = 1; /* delta 1 */
    LC_ASSERT_EQ(lc__pq_delta_decode(w64, k + 64, v, 2, &used, &err), LC_OK);
    LC_ASSERT_EQ((int64_t)v[0], INT64_MIN);
    LC_ASSERT_EQ((int64_t)v[1], INT64_MIN + 1);
}

/* ---- codecs ---------------------------------------------------------------
 */

static void test_codecs(void)
{
    struct lc__codec_ctx *ctx;
    struct lc__errbuf err = {0};
    uint8_t in[5000], comp[12000], out[5000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)((i * 7) % 13 + (i / 100));

    LC_ASSERT_EQ(lc__codec_ctx_new(NULL, &ctx), LC_OK);

    /* uncompressed */
    LC_ASSERT_EQ(
        lc__stream_decompress(ctx, LC_STREAM_NONE, in, 10, out, 10, &err),
        LC_OK);
    LC_ASSERT_EQ(
        lc__stream_decompress(ctx, LC_STREAM_NONE, in, 10, out, 11, &err),
        LC_ECORRUPT);
    /* snappy */
    size_t n = sizeof(comp);
    LC_ASSERT_EQ(
        snappy_compress((const char *)in, sizeof(in), (char *)comp, &n),
        SNAPPY_OK);
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_SNAPPY, comp, n, out,
                                       sizeof(in), &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(in, out, sizeof(in));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_SNAPPY, comp, n, out,
                                       sizeof(in) - 1, &err),
                 LC_ECORRUPT);
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_SNAPPY, comp, n / 2, out,
                                       sizeof(in), &err),
                 LC_ECORRUPT);
    /* gzip: two members, and a zlib stream */
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t n1 = libdeflate_gzip_compress(c, in, 2000, comp, sizeof(comp));
    size_t n2 = libdeflate_gzip_compress(c, in + 2000, 3000, comp + n1,
                                         sizeof(comp) - n1);
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_GZIP, comp, n1 + n2, out,
                                       sizeof(in), &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(in, out, sizeof(in));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_GZIP, comp, n1 + n2, out,
                                       sizeof(in) - 1, &err),
                 LC_ECORRUPT);
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_GZIP, comp, n1 + n2 - 3,
                                       out, sizeof(in), &err),
                 LC_ECORRUPT);
    n = libdeflate_zlib_compress(c, in, sizeof(in), comp, sizeof(comp));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_GZIP, comp, n, out,
                                       sizeof(in), &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(in, out, sizeof(in));
    libdeflate_free_compressor(c);
    /* zstd */
    n = ZSTD_compress(comp, sizeof(comp), in, sizeof(in), 3);
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_ZSTD, comp, n, out,
                                       sizeof(in), &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(in, out, sizeof(in));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_ZSTD, comp, n, out,
                                       sizeof(in) + 1, &err),
                 LC_ECORRUPT);
    /* lz4 raw, and Hadoop-framed in two frames */
    int r = LZ4_compress_default((const char *)in, (char *)comp, sizeof(in),
                                 sizeof(comp));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_LZ4_RAW, comp, (size_t)r,
                                       out, sizeof(in), &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(in, out, sizeof(in));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_LZ4_RAW, comp, (size_t)r,
                                       out, sizeof(in) - 1, &err),
                 LC_ECORRUPT);
    /* the raw block also reads as legacy LZ4 (the fallback) */
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_LZ4_HADOOP, comp,
                                       (size_t)r, out, sizeof(in), &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(in, out, sizeof(in));
    size_t pos = 0;
    for (int part = 0; part < 2; part++) {
        size_t off = part ? 3000 : 0, len = part ? 2000 : 3000;
        int cl =
            LZ4_compress_default((const char *)in + off, (char *)comp + pos + 8,
                                 (int)len, (int)(sizeof(comp) - pos - 8));
        uint8_t *h = comp + pos;
        h[0] = 0;
        h[1] = (uint8_t)(len >> 16);
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        h[4] = (uint8_t)(cl >> 24);
        h[5] = (uint8_t)(cl >> 16);
        h[6] = (uint8_t)(cl >> 8);
        h[7] = (uint8_t)cl;
        pos += 8 + (size_t)cl;
    }
    memset(out, 0, sizeof(out));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_LZ4_HADOOP, comp, pos,
                                       out, sizeof(in), &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(in, out, sizeof(in));
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_LZ4_HADOOP, comp, pos,
                                       out, sizeof(in) - 5, &err),
                 LC_ECORRUPT);
    /* brotli: "hello hello hello brotli parquet", written by pyarrow */
    static const uint8_t br[] = {
        27,  31, 0,   0,  196, 109, 108, 93,  247, 53,  104, 4,   65,  37,  150,
        131, 36, 163, 80, 29,  158, 211, 129, 9,   141, 187, 176, 212, 125, 26};
    static const char text[] = "hello hello hello brotli parquet";
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_BROTLI, br, sizeof(br),
                                       out, sizeof(text) - 1, &err),
                 LC_OK);
    LC_ASSERT_MEM_EQ(out, text, sizeof(text) - 1);
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_BROTLI, br, sizeof(br),
                                       out, sizeof(text) - 2, &err),
                 LC_ECORRUPT);
    LC_ASSERT_EQ(lc__stream_decompress(ctx, LC_STREAM_BROTLI, br, 10, out,
                                       sizeof(text) - 1, &err),
                 LC_ECORRUPT);
    /* garbage through every codec: errors only */
    for (int codec = 1; codec <= 6; codec++) {
        int st = lc__stream_decompress(ctx, (enum lc__stream_codec)codec, in,
                                       64, out, 100, &err);
        if (st != LC_ECORRUPT)
            LC_CHECK_FAIL_("garbage through %s gave %s",
                           lc__stream_codec_name(codec), lc_err_name(st));
    }
    LC_ASSERT_EQ(lc__stream_decompress(ctx, (enum lc__stream_codec)99, in, 4,
                                       out, 4, &err),
                 LC_EUNSUPPORTED);
    lc__codec_ctx_free(ctx);
}

/* ---- known answers --------------------------------------------------------
 */

static void test_flat(void)
{
    struct mem_src m;
    if (!load("flat.parquet", &m))
        return;
    struct lc__parquet_file *f = open_mem(&m, "flat.parquet");
    if (f == NULL) {
        free(m.data);
        return;
    }
    LC_ASSERT_UEQ(lc__parquet_num_rows(f), 6);
    LC_ASSERT_UEQ(lc__parquet_num_row_groups(f), 2);
    LC_ASSERT_UEQ(lc__parquet_row_group_num_rows(f, 1), 3);
    LC_ASSERT_UEQ(lc__parquet_num_columns(f), 9);
    LC_ASSERT_TRUE(strncmp(lc__parquet_created_by(f), "parquet-cpp", 11) == 0);
    /* Open read the whole small file once, from its tail. */
    LC_ASSERT_UEQ(m.ncalls, 1);
    LC_ASSERT_UEQ(m.log_offset[0], 0);
    LC_ASSERT_UEQ(m.log_nbytes[0], m.nbytes);

    static const char *const cols[] = {"id",       "x",   "y",   "flag", "ts",
                                       "ts_local", "day", "nul", "u16"};
    struct lc__parquet_table *t = read_cols(f, cols, 9, NULL);
    if (t != NULL) {
        LC_ASSERT_UEQ(t->nrows, 6);
        const struct lc__parquet_array *a = t->columns;
        static const char xv[] = "101101";
        for (size_t k = 0; k < 6; k++) {
            char id[16];
            snprintf(id, sizeof(id), "item-%zu", k);
            LC_ASSERT_TRUE(str_is(&a[0], k, id));
            LC_ASSERT_TRUE(lc__parquet_valid(&a[1], 0, k) == (xv[k] == '1'));
            if (xv[k] == '1')
                LC_ASSERT_EQ(i64_at(&a[1], k), (int64_t)(k + 1) * 10);
            LC_ASSERT_EQ(i64_at(&a[4], k), 1600000000000 + (int64_t)k * 1000);
            LC_ASSERT_EQ(i64_at(&a[5], k), 1600000000000000000 + (int64_t)k);
            LC_ASSERT_EQ(i32_at(&a[6], k), 18000 + (int32_t)k);
            LC_ASSERT_TRUE(!lc__parquet_valid(&a[7], 0, k));
            LC_ASSERT_EQ(i32_at(&a[8], k), 65535 - (int32_t)k);
        }
        LC_ASSERT_TRUE(a[0].levels[0].validity == NULL);
        LC_ASSERT_UEQ(a[1].levels[0].null_count, 2);
        check_valid(&a[2], 0, "110111", "y");
        LC_ASSERT_TRUE(f64_at(&a[2], 3) == 3.5);
        check_valid(&a[3], 0, "110111", "flag");
        static const uint8_t flags[] = {1, 0, 0, 1, 1, 0};
        LC_ASSERT_MEM_EQ(a[3].values, flags, 6);
        /* Types. */
        const struct lc__parquet_column *ts = a[4].column;
        LC_ASSERT_EQ(ts->logical.kind, LC_PQ_LOGICAL_TIMESTAMP);
        LC_ASSERT_EQ(ts->logical.unit, LC_PQ_MILLIS);
        LC_ASSERT_TRUE(ts->logical.utc);
        LC_ASSERT_EQ(a[5].column->logical.unit, LC_PQ_NANOS);
        LC_ASSERT_TRUE(!a[5].column->logical.utc);
        LC_ASSERT_EQ(a[6].column->logical.kind, LC_PQ_LOGICAL_DATE);
        LC_ASSERT_EQ(a[7].column->logical.kind, LC_PQ_LOGICAL_NULL);
        LC_ASSERT_EQ(a[8].column->logical.kind, LC_PQ_LOGICAL_INTEGER);
        LC_ASSERT_EQ(a[8].column->logical.bit_width, 16);
        LC_ASSERT_TRUE(!a[8].column->logical.is_signed);
        LC_ASSERT_EQ(a[0].column->logical.kind, LC_PQ_LOGICAL_STRING);
    }
    lc__parquet_table_free(t);
    /* Projection: one column of each row group, one read per row group,
     * one range each, exactly the chunk. */
    size_t before = m.ncalls, before_rq = m.nrequests;
    static const char *const one[] = {"y"};
    t = read_cols(f, one, 1, NULL);
    LC_ASSERT_UEQ(m.ncalls - before, 2);
    LC_ASSERT_UEQ(m.nrequests - before_rq, 2);
    struct lc__parquet_chunk_info ci;
    LC_ASSERT_EQ(lc__parquet_chunk_info(f, 1, 2, &ci), LC_OK);
    LC_ASSERT_UEQ(m.log_offset[before_rq + 1], ci.offset);
    LC_ASSERT_UEQ(m.log_nbytes[before_rq + 1], ci.nbytes);
    LC_ASSERT_EQ(ci.codec, 1);
    lc__parquet_table_free(t);
    /* Three columns of one row group: one read call of three ranges. */
    before = m.ncalls;
    before_rq = m.nrequests;
    static const char *const three[] = {"id", "ts", "u16"};
    size_t rg1 = 1;
    struct lc__parquet_read_options o = {.row_groups = &rg1, .nrow_groups = 1};
    t = read_cols(f, three, 3, &o);
    LC_ASSERT_UEQ(m.ncalls - before, 1);
    LC_ASSERT_UEQ(m.nrequests - before_rq, 3);
    if (t != NULL) {
        LC_ASSERT_UEQ(t->nrows, 3);
        LC_ASSERT_TRUE(str_is(&t->columns[0], 0, "item-3"));
    }
    lc__parquet_table_free(t);
    /* Bad arguments. */
    struct lc__errbuf err = {0};
    size_t bad = 99;
    LC_ASSERT_EQ(lc__parquet_read(f, &bad, 1, NULL, &t, &err), LC_EINVAL);
    size_t col0 = 0;
    o.row_groups = &bad;
    LC_ASSERT_EQ(lc__parquet_read(f, &col0, 1, &o, &t, &err), LC_EINVAL);
    LC_ASSERT_TRUE(t == NULL);
    lc__parquet_close(f);
    free(m.data);
}

static void test_nested(void)
{
    struct mem_src m;
    if (!load("nested.parquet", &m))
        return;
    struct lc__parquet_file *f = open_mem(&m, "nested.parquet");
    if (f == NULL) {
        free(m.data);
        return;
    }
    const uint8_t *geo;
    size_t geo_n;
    LC_ASSERT_EQ(lc__parquet_metadata(f, "geo", &geo, &geo_n), LC_OK);
    LC_ASSERT_TRUE(geo_n > 20 &&
                   memcmp(geo, "{\"version\":\"1.1.0\"", 18) == 0);
    LC_ASSERT_EQ(lc__parquet_metadata(f, "nope", &geo, &geo_n), LC_ENOTFOUND);

    /* Paths and the shorthands of lists and maps. */
    size_t idx, node;
    LC_ASSERT_EQ(lc__parquet_find_column(f, "bbox_list", &idx), LC_OK);
    LC_ASSERT_STR_EQ(lc__parquet_column(f, idx)->path,
                     "bbox_list.list.element");
    LC_ASSERT_EQ(lc__parquet_find_column(f, "raster:bands.nodata", &idx),
                 LC_OK);
    LC_ASSERT_STR_EQ(lc__parquet_column(f, idx)->path,
                     "raster:bands.list.element.nodata");
    LC_ASSERT_EQ(lc__parquet_find_column(f, "props.key", &idx), LC_OK);
    LC_ASSERT_STR_EQ(lc__parquet_column(f, idx)->path, "props.key_value.key");
    LC_ASSERT_EQ(lc__parquet_find_column(f, "assets.red.roles", &idx), LC_OK);
    LC_ASSERT_EQ(lc__parquet_find_column(f, "bbox", &idx), LC_ENOTFOUND);
    LC_ASSERT_EQ(lc__parquet_find_node(f, "bbox_list", &node), LC_OK);
    LC_ASSERT_EQ(lc__parquet_node(f, node)->kind, LC_PQ_NODE_LIST);
    LC_ASSERT_EQ(lc__parquet_find_node(f, "props", &node), LC_OK);
    LC_ASSERT_EQ(lc__parquet_node(f, node)->kind, LC_PQ_NODE_MAP);
    LC_ASSERT_EQ(lc__parquet_find_node(f, "bbox", &node), LC_OK);
    LC_ASSERT_EQ(lc__parquet_node(f, node)->kind, LC_PQ_NODE_STRUCT);
    LC_ASSERT_UEQ(lc__parquet_node(f, node)->nchildren, 4);

    static const char *const cols[] = {
        "bbox.xmin",       "bbox.ymax",           "bbox_list",
        "proj:transform",  "raster:bands.nodata", "raster:bands.data_type",
        "assets.red.href", "assets.red.roles",    "assets.blue.href",
        "props.key",       "props.value",         "geometry"};
    struct lc__parquet_table *t = read_cols(f, cols, 12, NULL);
    if (t == NULL)
        goto out;
    const struct lc__parquet_array *a = t->columns;
    LC_ASSERT_UEQ(t->nrows, 4);
    /* bbox struct */
    check_valid(&a[0], 0, "1011", "bbox");
    LC_ASSERT_TRUE(f64_at(&a[0], 2) == -1.0 && f64_at(&a[0], 3) == 10.0);
    LC_ASSERT_TRUE(f64_at(&a[1], 0) == 3.0 && f64_at(&a[1], 2) == -1.5);
    /* list<double> with a null, an empty list and a null element */
    static const size_t bl[] = {0, 4, 4, 4, 8};
    check_offsets(&a[2], 1, bl, 4, "bbox_list");
    check_valid(&a[2], 0, "1011", "bbox_list");
    check_valid(&a[2], 2, "11111011", "bbox_list elements");
    LC_ASSERT_TRUE(f64_at(&a[2], 3) == 3.0 && f64_at(&a[2], 7) == 8.0);
    static const size_t pt[] = {0, 6, 12, 12, 12};
    check_offsets(&a[3], 1, pt, 4, "proj:transform");
    check_valid(&a[3], 0, "1101", "proj:transform");
    LC_ASSERT_TRUE(f64_at(&a[3], 2) == 100.0 && f64_at(&a[3], 10) == -10.0);
    /* list<struct>: raster:bands */
    static const size_t rb[] = {0, 2, 2, 2, 4};
    check_offsets(&a[4], 1, rb, 4, "raster:bands");
    check_valid(&a[4], 0, "1011", "raster:bands");
    check_valid(&a[4], 2, "1101", "raster:bands element");
    check_valid(&a[4], 3, "1001", "raster:bands nodata");
    LC_ASSERT_TRUE(f64_at(&a[4], 0) == 0.0 && f64_at(&a[4], 3) == -9999.0);
    check_valid(&a[5], 3, "1101", "raster:bands data_type");
    LC_ASSERT_TRUE(str_is(&a[5], 0, "uint16") && str_is(&a[5], 1, "uint8") &&
                   str_is(&a[5], 2, "") && str_is(&a[5], 3, "int16"));
    /* assets.red.href: struct of struct */
    check_valid(&a[6], 0, "1101", "assets");
    check_valid(&a[6], 1, "1001", "assets.red");
    check_valid(&a[6], 2, "1001", "assets.red.href");
    LC_ASSERT_TRUE(str_is(&a[6], 0, "s3://b/r0.tif") &&
                   str_is(&a[6], 3, "s3://b/r3.tif"));
    static const size_t ro[] = {0, 1, 1, 1, 1};
    check_offsets(&a[7], 1, ro, 4, "assets.red.roles");
    check_valid(&a[7], 2, "1001", "assets.red.roles");
    LC_ASSERT_TRUE(str_is(&a[7], 0, "data"));
    check_valid(&a[8], 1, "1100", "assets.blue");
    LC_ASSERT_TRUE(str_is(&a[8], 1, "s3://b/b1.tif"));
    /* map<string, int64> */
    static const size_t mo[] = {0, 2, 2, 2, 3};
    check_offsets(&a[9], 1, mo, 4, "props");
    check_valid(&a[9], 0, "1011", "props");
    LC_ASSERT_TRUE(str_is(&a[9], 0, "a") && str_is(&a[9], 2, "c"));
    check_valid(&a[10], 2, "110", "props.value");
    LC_ASSERT_EQ(i64_at(&a[10], 1), 2);
    /* WKB geometry: POINT(1 2) */
    check_valid(&a[11], 0, "1101", "geometry");
    LC_ASSERT_UEQ(a[11].offsets[1] - a[11].offsets[0], 21);
    double x, y;
    memcpy(&x, a[11].data + a[11].offsets[0] + 5, 8);
    memcpy(&y, a[11].data + a[11].offsets[0] + 13, 8);
    LC_ASSERT_TRUE(x == 1.0 && y == 2.0);
    /* lc__parquet_array_list on a flat column */
    const size_t *off;
    size_t np, lv;
    LC_ASSERT_EQ(lc__parquet_array_list(&a[0], 1, &off, &np, &lv), LC_EINVAL);
    LC_ASSERT_EQ(lc__parquet_array_list(&a[2], 0, &off, &np, &lv), LC_EINVAL);
    lc__parquet_table_free(t);
    /* keep_levels returns the raw levels too. */
    static const char *const bbl[] = {"bbox_list"};
    struct lc__parquet_read_options o = {.keep_levels = true};
    t = read_cols(f, bbl, 1, &o);
    if (t != NULL) {
        const struct lc__parquet_array *b = &t->columns[0];
        LC_ASSERT_UEQ(b->nlevels, 10); /* 8 elements, a null, an empty */
        static const uint16_t defs[] = {3, 3, 3, 3, 0, 1, 3, 2, 3, 3};
        static const uint16_t reps[] = {0, 1, 1, 1, 0, 0, 0, 1, 1, 1};
        LC_ASSERT_MEM_EQ(b->def_levels, defs, sizeof(defs));
        LC_ASSERT_MEM_EQ(b->rep_levels, reps, sizeof(reps));
    }
    lc__parquet_table_free(t);
    /* No row group at all: empty arrays, lists with their one offset. */
    size_t none = 0;
    struct lc__parquet_read_options empty = {.row_groups = &none,
                                             .nrow_groups = 0};
    t = read_cols(f, cols, 12, &empty);
    if (t != NULL) {
        LC_ASSERT_UEQ(t->nrows, 0);
        static const size_t zero[] = {0};
        check_offsets(&t->columns[4], 1, zero, 0, "empty raster:bands");
        LC_ASSERT_UEQ(t->columns[11].nvalues, 0);
        LC_ASSERT_UEQ(t->columns[11].offsets[0], 0);
    }
    lc__parquet_table_free(t);
out:
    lc__parquet_close(f);
    free(m.data);
}

static void test_encodings_file(void)
{
    struct mem_src m;
    if (!load("encodings.parquet", &m))
        return;
    struct lc__parquet_file *f = open_mem(&m, "encodings.parquet");
    if (f == NULL) {
        free(m.data);
        return;
    }
    static const char *const cols[] = {"delta32", "delta64", "dlba",    "dba",
                                       "bss32",   "bss64",   "rle_bool"};
    struct lc__parquet_table *t = read_cols(f, cols, 7, NULL);
    if (t != NULL) {
        const struct lc__parquet_array *a = t->columns;
        LC_ASSERT_UEQ(t->nrows, 300);
        for (size_t i = 0; i < 300; i++) {
            char s[64];
            LC_ASSERT_EQ(i32_at(&a[0], i), (int32_t)((i * 7919) % 1000) - 500);
            LC_ASSERT_TRUE(lc__parquet_valid(&a[1], 0, i) == (i % 10 != 3));
            if (i % 10 != 3)
                LC_ASSERT_EQ(i64_at(&a[1], i), (int64_t)i * 1000000007);
            LC_ASSERT_TRUE(lc__parquet_valid(&a[2], 0, i) == (i % 9 != 0));
            LC_ASSERT_UEQ(a[2].offsets[i + 1] - a[2].offsets[i],
                          i % 9 != 0 ? i % 13 : 0);
            snprintf(s, sizeof(s), "prefix-%04zu-%zu", i / 10, i);
            LC_ASSERT_TRUE(str_is(&a[3], i, s));
            float f32;
            memcpy(&f32, (const uint8_t *)a[4].values + 4 * i, 4);
            LC_ASSERT_TRUE(f32 == (float)i * 0.25f);
            if (i % 7 != 0)
                LC_ASSERT_TRUE(f64_at(&a[5], i) == (double)i / 3);
            LC_ASSERT_UEQ(((const uint8_t *)a[6].values)[i], i % 3 == 0);
        }
    }
    lc__parquet_table_free(t);
    lc__parquet_close(f);
    free(m.data);
}

static void test_stats(void)
{
    struct mem_src m;
    if (!load("stats.parquet", &m))
        return;
    struct lc__parquet_file *f = open_mem(&m, "stats.parquet");
    if (f == NULL) {
        free(m.data);
        return;
    }
    struct lc__parquet_stats s;
    LC_ASSERT_UEQ(lc__parquet_num_row_groups(f), 3);
    for (size_t g = 0; g < 3; g++) {
        LC_ASSERT_EQ(lc__parquet_column_stats(f, g, 0, &s), LC_OK);
        LC_ASSERT_TRUE(s.has_min_max);
        LC_ASSERT_TRUE(s.min.v.f64 == 4.0 * g && s.max.v.f64 == 4.0 * g + 3);
        LC_ASSERT_TRUE(s.has_null_count && s.null_count == 0);
        LC_ASSERT_UEQ(s.num_values, 4);
        LC_ASSERT_EQ(lc__parquet_column_stats(f, g, 1, &s), LC_OK);
        LC_ASSERT_EQ(s.min.v.i64, (int64_t)(4000000 * g));
        LC_ASSERT_EQ(s.max.v.i64, (int64_t)(4000000 * g + 3000000));
        LC_ASSERT_EQ(lc__parquet_column_stats(f, g, 2, &s), LC_OK);
        char lo[8];
        snprintf(lo, sizeof(lo), "n%02zu", 4 * g);
        LC_ASSERT_TRUE(s.has_min_max && s.min.nbytes == 3 &&
                       memcmp(s.min.bytes, lo, 3) == 0);
    }
    LC_ASSERT_EQ(lc__parquet_column_stats(f, 0, 3, &s), LC_OK);
    LC_ASSERT_TRUE(!s.has_min_max && s.has_null_count && s.null_count == 4);
    LC_ASSERT_EQ(lc__parquet_column_stats(f, 1, 3, &s), LC_OK);
    LC_ASSERT_TRUE(s.has_min_max && s.min.v.i32 == 4 && s.max.v.i32 == 7);
    LC_ASSERT_EQ(lc__parquet_column_stats(f, 3, 0, &s), LC_EINVAL);
    LC_ASSERT_EQ(lc__parquet_column_stats(f, 0, 9, &s), LC_EINVAL);

    /* Skipping by statistics: row groups with xmin >= 5 only, listed out of
     * order; the chunks of the skipped group are never read. */
    size_t keep[3], nkeep = 0;
    for (size_t g = 3; g-- > 0;) {
        lc__parquet_column_stats(f, g, 0, &s);
        if (s.max.v.f64 >= 5.0)
            keep[nkeep++] = g;
    }
    LC_ASSERT_UEQ(nkeep, 2);
    size_t before = m.nrequests;
    static const char *const cols[] = {"xmin", "name"};
    struct lc__parquet_read_options o = {.row_groups = keep,
                                         .nrow_groups = nkeep};
    struct lc__parquet_table *t = read_cols(f, cols, 2, &o);
    LC_ASSERT_UEQ(m.nrequests - before, 4);
    struct lc__parquet_chunk_info c0;
    lc__parquet_chunk_info(f, 0, 3, &c0);
    for (size_t i = before; i < m.nrequests && i < 64; i++)
        LC_ASSERT_TRUE(m.log_offset[i] >= c0.offset + c0.nbytes);
    if (t != NULL) {
        LC_ASSERT_UEQ(t->nrows, 8);
        LC_ASSERT_TRUE(f64_at(&t->columns[0], 0) == 8.0);
        LC_ASSERT_TRUE(f64_at(&t->columns[0], 7) == 7.0);
        LC_ASSERT_TRUE(str_is(&t->columns[1], 4, "n04"));
    }
    lc__parquet_table_free(t);
    lc__parquet_close(f);
    free(m.data);
}

static void test_written_by_us(void)
{
    struct mem_src m;
    /* LZ4 with Hadoop framing (codec 5): two pages in one chunk. */
    if (load("lz4_hadoop.parquet", &m)) {
        struct lc__parquet_file *f = open_mem(&m, "lz4_hadoop.parquet");
        static const char *const cols[] = {"v", "s"};
        struct lc__parquet_table *t = f ? read_cols(f, cols, 2, NULL) : NULL;
        if (t != NULL) {
            LC_ASSERT_UEQ(t->nrows, 10);
            for (size_t i = 0; i < 10; i++)
                LC_ASSERT_EQ(i64_at(&t->columns[0], i), 3 * (int64_t)i);
            check_valid(&t->columns[1], 0, "1101111011", "s");
            LC_ASSERT_TRUE(str_is(&t->columns[1], 4, "epsilon") &&
                           str_is(&t->columns[1], 1, ""));
            struct lc__parquet_chunk_info ci;
            lc__parquet_chunk_info(f, 0, 0, &ci);
            LC_ASSERT_EQ(ci.codec, 5);
        }
        lc__parquet_table_free(t);
        lc__parquet_close(f);
        free(m.data);
    }
    /* Legacy lists. */
    if (load("legacy_lists.parquet", &m)) {
        struct lc__parquet_file *f = open_mem(&m, "legacy_lists.parquet");
        size_t idx, node;
        if (f != NULL) {
            LC_ASSERT_EQ(lc__parquet_find_column(f, "arr", &idx), LC_OK);
            LC_ASSERT_STR_EQ(lc__parquet_column(f, idx)->path, "arr.array");
            LC_ASSERT_EQ(lc__parquet_find_column(f, "tup.v", &idx), LC_OK);
            LC_ASSERT_STR_EQ(lc__parquet_column(f, idx)->path,
                             "tup.tup_tuple.v");
            LC_ASSERT_EQ(lc__parquet_find_node(f, "tup", &node), LC_OK);
            LC_ASSERT_EQ(lc__parquet_node(f, node)->kind, LC_PQ_NODE_LIST);
            /* the _tuple group is the element (a struct) */
            LC_ASSERT_EQ(
                lc__parquet_node(f, lc__parquet_node(f, node)->element)->kind,
                LC_PQ_NODE_STRUCT);
        }
        static const char *const cols[] = {"arr", "tup.v", "pairs.a",
                                           "pairs.b"};
        struct lc__parquet_table *t = f ? read_cols(f, cols, 4, NULL) : NULL;
        if (t != NULL) {
            const struct lc__parquet_array *a = t->columns;
            static const size_t ao[] = {0, 2, 2, 2, 4};
            check_offsets(&a[0], 1, ao, 4, "arr");
            check_valid(&a[0], 0, "1011", "arr");
            LC_ASSERT_EQ(i32_at(&a[0], 3), 4);
            static const size_t to[] = {0, 1, 1, 3, 3};
            check_offsets(&a[1], 1, to, 4, "tup");
            check_valid(&a[1], 0, "1110", "tup");
            LC_ASSERT_EQ(i64_at(&a[1], 2), 9);
            static const size_t po[] = {0, 2, 2, 3, 3};
            check_offsets(&a[2], 1, po, 4, "pairs");
            LC_ASSERT_EQ(i32_at(&a[2], 2), 7);
            check_valid(&a[3], 1, "101", "pairs.b");
            LC_ASSERT_TRUE(str_is(&a[3], 2, "z"));
        }
        lc__parquet_table_free(t);
        lc__parquet_close(f);
        free(m.data);
    }
}

/* ---- how the footer is read ---------------------------------------------- */

static void test_footer_reads(void)
{
    struct mem_src m;
    /* A footer larger than the 64 KiB tail: a second read fetches the
     * rest, and nothing else is read. */
    if (load("big_footer.parquet", &m)) {
        struct lc__parquet_file *f = open_mem(&m, "big_footer.parquet");
        LC_ASSERT_UEQ(m.ncalls, 2);
        LC_ASSERT_UEQ(m.log_nbytes[0], 65536);
        LC_ASSERT_UEQ(m.log_offset[0], m.nbytes - 65536);
        LC_ASSERT_UEQ(m.log_offset[1] + m.log_nbytes[1], m.nbytes - 65536);
        const uint8_t *v;
        size_t n;
        LC_ASSERT_TRUE(f != NULL &&
                       lc__parquet_metadata(f, "padding", &v, &n) == LC_OK &&
                       n == 40000 && v[26] == 'a');
        lc__parquet_close(f);
        free(m.data);
    }
    /* A source that knows its size only after a first read (remote): a
     * 4-byte read of the head magic, then the tail. */
    if (load("nested.parquet", &m)) {
        m.hide_size = true;
        struct lc__parquet_file *f = open_mem(&m, "nested.parquet");
        LC_ASSERT_UEQ(m.ncalls, 2);
        LC_ASSERT_UEQ(m.log_offset[0], 0);
        LC_ASSERT_UEQ(m.log_nbytes[0], 4);
        LC_ASSERT_UEQ(m.log_nbytes[1], m.nbytes);
        lc__parquet_close(f);
        free(m.data);
    }
}

/* ---- datasets -------------------------------------------------------------
 */

static void test_datasets(void)
{
    char path[4096];
    struct lc__parquet_opener op = lc_glue_opener();
    struct lc__parquet_dataset *ds = NULL;
    struct lc__errbuf err = {0};
    struct lc__parquet_table *t = NULL;

    /* Hive partitions: keys become string columns. */
    snprintf(path, sizeof(path), "%s/dataset/hive", g_dir);
    int status = lc__parquet_dataset_open(path, &op, NULL, NULL, &ds, &err);
    LC_ASSERT_EQ(status, LC_OK);
    if (status == LC_OK) {
        LC_ASSERT_UEQ(lc__parquet_dataset_num_files(ds), 3);
        LC_ASSERT_UEQ(lc__parquet_dataset_num_keys(ds), 2);
        LC_ASSERT_STR_EQ(lc__parquet_dataset_key(ds, 0), "year");
        LC_ASSERT_STR_EQ(lc__parquet_dataset_value(ds, 2, 0), "2021");
        LC_ASSERT_STR_EQ(lc__parquet_dataset_value(ds, 1, 1), "02");
        static const char *const cols[] = {"month", "id", "year"};
        status = lc__parquet_dataset_read(ds, cols, 3, NULL, NULL, &t, &err);
        LC_ASSERT_EQ(status, LC_OK);
        if (t != NULL) {
            LC_ASSERT_UEQ(t->nrows, 6);
            for (size_t i = 0; i < 6; i++)
                LC_ASSERT_EQ(i64_at(&t->columns[1], i), (int64_t)i + 1);
            LC_ASSERT_TRUE(str_is(&t->columns[2], 2, "2020") &&
                           str_is(&t->columns[2], 3, "2021") &&
                           str_is(&t->columns[0], 2, "02"));
            LC_ASSERT_STR_EQ(t->columns[0].column->path, "month");
        }
        lc__parquet_table_free(t);
        static const char *const nope[] = {"nope"};
        LC_ASSERT_EQ(
            lc__parquet_dataset_read(ds, nope, 1, NULL, NULL, &t, &err),
            LC_ENOTFOUND);
        lc__parquet_dataset_close(ds);
    }
    /* A plain directory: *.parquet and *.geoparquet, sorted. */
    snprintf(path, sizeof(path), "%s/dataset/multi", g_dir);
    status = lc__parquet_dataset_open(path, &op, NULL, NULL, &ds, &err);
    LC_ASSERT_EQ(status, LC_OK);
    if (status == LC_OK) {
        LC_ASSERT_UEQ(lc__parquet_dataset_num_files(ds), 3);
        LC_ASSERT_UEQ(lc__parquet_dataset_num_keys(ds), 0);
        LC_ASSERT_TRUE(
            strstr(lc__parquet_dataset_path(ds, 2), "c.geoparquet") != NULL);
        static const char *const cols[] = {"id"};
        status = lc__parquet_dataset_read(ds, cols, 1, NULL, NULL, &t, &err);
        if (t != NULL) {
            static const int64_t want[] = {1, 10, 11, 20};
            LC_ASSERT_UEQ(t->nrows, 4);
            for (size_t i = 0; i < 4; i++)
                LC_ASSERT_EQ(i64_at(&t->columns[0], i), want[i]);
        }
        lc__parquet_table_free(t);
        lc__parquet_dataset_close(ds);
    }
    /* A glob, with the partitions below its fixed part. */
    snprintf(path, sizeof(path), "%s/dataset/hive/year=202?/month=01/*.parquet",
             g_dir);
    status = lc__parquet_dataset_open(path, &op, NULL, NULL, &ds, &err);
    LC_ASSERT_EQ(status, LC_OK);
    if (status == LC_OK) {
        LC_ASSERT_UEQ(lc__parquet_dataset_num_files(ds), 2);
        LC_ASSERT_UEQ(lc__parquet_dataset_num_keys(ds), 2);
        lc__parquet_dataset_close(ds);
    }
    /* Files of different schemas, and nothing at all. */
    snprintf(path, sizeof(path), "%s/dataset/mismatch", g_dir);
    status = lc__parquet_dataset_open(path, &op, NULL, NULL, &ds, &err);
    LC_ASSERT_EQ(status, LC_EINVAL);
    LC_ASSERT_TRUE(strstr(err.msg, "b.parquet") != NULL);
    LC_ASSERT_TRUE(ds == NULL);
    snprintf(path, sizeof(path), "%s/dataset/none*.parquet", g_dir);
    LC_ASSERT_EQ(lc__parquet_dataset_open(path, &op, NULL, NULL, &ds, &err),
                 LC_ENOTFOUND);
    snprintf(path, sizeof(path), "%s/bad", g_dir);
    /* A directory holding a broken file fails with its error. */
    status = lc__parquet_dataset_open(path, &op, NULL, NULL, &ds, &err);
    LC_ASSERT_TRUE(status < 0);
}

/* ---- the bad-file corpus ------------------------------------------------- */

static void test_bad(void)
{
    char path[4096], line[512], name[256], want_open[64], want_read[64];
    int ncases = 0;

    snprintf(path, sizeof(path), "%s/bad/EXPECTED", g_dir);
    FILE *list = fopen(path, "r");
    if (list == NULL) {
        LC_CHECK_FAIL_("cannot open %s", path);
        return;
    }
    while (fgets(line, sizeof(line), list) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%255s %63s %63s", name, want_open, want_read) != 3) {
            LC_CHECK_FAIL_("bad EXPECTED line: %s", line);
            continue;
        }
        ncases++;
        snprintf(path, sizeof(path), "%s/bad/%s", g_dir, name);
        struct lc__errbuf err = {0};
        struct lc__parquet_file *f = NULL;
        int status = lc_glue_open_file(path, NULL, &f, &err);
        if (strcmp(lc_err_name(status), want_open) != 0)
            LC_CHECK_FAIL_("%s: open gave %s (%s), expected %s", name,
                           lc_err_name(status), err.msg, want_open);
        if (status < 0) {
            LC_ASSERT_TRUE(f == NULL);
            if (strstr(err.msg, name) == NULL)
                LC_CHECK_FAIL_("%s: message does not name the file: %s", name,
                               err.msg);
            continue;
        }
        size_t cols[64], n = lc__parquet_num_columns(f);
        for (size_t i = 0; i < n && i < 64; i++)
            cols[i] = i;
        struct lc__parquet_table *t = NULL;
        status = lc__parquet_read(f, cols, n, NULL, &t, &err);
        if (strcmp(lc_err_name(status), want_read) != 0)
            LC_CHECK_FAIL_("%s: read gave %s (%s), expected %s", name,
                           lc_err_name(status), err.msg, want_read);
        if (status < 0) {
            LC_ASSERT_TRUE(t == NULL);
            if (strstr(err.msg, name) == NULL)
                LC_CHECK_FAIL_("%s: message does not name the file: %s", name,
                               err.msg);
            /* Chunk errors name the column. */
            if (strstr(err.msg, "page at byte") != NULL &&
                strstr(err.msg, "column 'x'") == NULL)
                LC_CHECK_FAIL_("%s: message does not name the column: %s", name,
                               err.msg);
        }
        lc__parquet_table_free(t);
        lc__parquet_close(f);
    }
    fclose(list);
    LC_ASSERT_TRUE(ncases >= 30);
    printf("%d bad Parquet files checked\n", ncases);
}

/* ---- limits and allocation failures -------------------------------------- */

static void test_limits(void)
{
    struct mem_src m;
    if (!load("encodings.parquet", &m))
        return;
    struct lc__parquet_source src = mem_source(&m, "encodings.parquet");
    struct lc__parquet_limits lim = {.max_decoded_nbytes = 4096};
    struct lc__parquet_file *f = NULL;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(lc__parquet_open(&src, NULL, &lim, &f, &err), LC_OK);
    if (f != NULL) {
        size_t cols[7] = {0, 1, 2, 3, 4, 5, 6};
        struct lc__parquet_table *t = NULL;
        LC_ASSERT_EQ(lc__parquet_read(f, cols, 7, NULL, &t, &err), LC_ELIMIT);
        LC_ASSERT_TRUE(t == NULL);
        lc__parquet_close(f);
    }
    src = mem_source(&m, "encodings.parquet");
    struct lc__parquet_limits small = {.max_footer_nbytes = 100};
    LC_ASSERT_EQ(lc__parquet_open(&src, NULL, &small, &f, &err), LC_ELIMIT);
    src = mem_source(&m, "encodings.parquet");
    struct lc__parquet_limits pages = {.max_page_nbytes = 16};
    LC_ASSERT_EQ(lc__parquet_open(&src, NULL, &pages, &f, &err), LC_OK);
    if (f != NULL) {
        size_t col = 0;
        struct lc__parquet_table *t = NULL;
        LC_ASSERT_EQ(lc__parquet_read(f, &col, 1, NULL, &t, &err), LC_ELIMIT);
        lc__parquet_close(f);
    }
    free(m.data);
}

struct fail_alloc {
    long countdown; /* fail when it reaches 0; negative: never */
    long nalloc, nfree;
};

static void *fa_alloc(void *opaque, size_t n)
{
    struct fail_alloc *fa = opaque;
    if (fa->countdown == 0)
        return NULL;
    if (fa->countdown > 0)
        fa->countdown--;
    fa->nalloc++;
    return malloc(n);
}

static void fa_free(void *opaque, void *p)
{
    struct fail_alloc *fa = opaque;
    if (p != NULL)
        fa->nfree++;
    free(p);
}

static void test_alloc_failures(void)
{
    struct mem_src m;
    if (!load("nested.parquet", &m))
        return;
    int final = LC_ENOMEM;
    long n;
    for (n = 0; n < 100000 && final == LC_ENOMEM; n++) {
        struct fail_alloc fa = {.countdown = n};
        struct lc_allocator a = {
            .alloc = fa_alloc, .free = fa_free, .opaque = &fa};
        struct lc__parquet_source src = mem_source(&m, "nested.parquet");
        struct lc__parquet_file *f = NULL;
        struct lc__errbuf err = {0};
        int status = lc__parquet_open(&src, &a, NULL, &f, &err);
        if (status == LC_OK) {
            size_t cols[32], nc = lc__parquet_num_columns(f);
            for (size_t i = 0; i < nc; i++)
                cols[i] = i;
            struct lc__parquet_table *t = NULL;
            status = lc__parquet_read(f, cols, nc, NULL, &t, &err);
            if (status == LC_OK)
                LC_ASSERT_UEQ(t->nrows, 4);
            lc__parquet_table_free(t);
            lc__parquet_close(f);
        }
        if (status != LC_OK && status != LC_ENOMEM)
            LC_CHECK_FAIL_("allocation %ld failing gave %s: %s", n,
                           lc_err_name(status), err.msg);
        if (fa.nalloc != fa.nfree)
            LC_CHECK_FAIL_("allocation %ld failing: %ld allocations, %ld "
                           "frees",
                           n, fa.nalloc, fa.nfree);
        final = status;
    }
    LC_ASSERT_EQ(final, LC_OK);
    printf("allocation failures: %ld points tested\n", n);
    free(m.data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_parquet DIR\n");
        return 2;
    }
    g_dir = argv[1];
    test_thrift();
    test_encodings();
    test_codecs();
    test_flat();
    test_nested();
    test_encodings_file();
    test_stats();
    test_written_by_us();
    test_footer_reads();
    test_datasets();
    test_bad();
    test_limits();
    test_alloc_failures();
    LC_TEST_END();
}
