/* read.c - reading column chunks: pages, decompression, levels, values, and
 * their assembly into arrays. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../codec/decompress.h"
#include "parquet_internal.h"

/*
 * The data path of one projected leaf, per row group:
 *
 *   column chunk bytes (fetched with the other projected chunks of the
 *   row group in one read)
 *     -> page header (Thrift) -> page body, decompressed
 *          v1: [rep levels][def levels][values], all compressed together
 *          v2: [rep levels][def levels] raw, then [values] compressed
 *          dictionary page: PLAIN values kept for the chunk's data pages
 *     -> levels: uint16 per entry (RLE/bit-packed hybrid or BIT_PACKED)
 *     -> values: dense, one per entry whose definition level is the max
 *          (PLAIN fixed-width values stay in the page: no copy; byte
 *          arrays are spans into the page or the dictionary, copied only
 *          for the rows kept; dictionary values of a flat page without
 *          nulls go straight to their place in the builder)
 *     -> assembly into the column's builder (below), of the rows kept
 *
 * A row selection (a bitmap per row group) keeps some rows only: entries
 * of other rows are skipped at assembly, and a page of a flat column (one
 * entry per row) with no row kept is not decompressed at all. Levels that
 * are one RLE run of the max (a page without nulls) are not decoded.
 *
 * Assembly follows the record shredding of Dremel in reverse. Each
 * repeated node on the leaf's path opens a "slot space" (its elements);
 * the other nodes live in the space of the nearest repeated ancestor, or in
 * the rows (space 0). An entry (d, r) starts a new slot in space r (a new
 * row when r is 0), then descends: in each space it reaches it pushes one
 * validity bit per optional node (present when d reaches the node's
 * definition level) and, before entering space s + 1, one list offset for
 * the repeated node that opens it; it enters space s + 1 only when d shows
 * that list is not empty. In the leaf's space it adds one value (null
 * unless d is the max). The builders therefore hold exactly Arrow's layout:
 * offsets per list, validity per optional node, values spaced by slot.
 *
 * Threads: each column chunk is decoded by one worker (its scratch, its
 * codec context) into a builder no other worker touches, so chunks may
 * decode in parallel; batches of row groups go through two banks (see
 * struct lc__pq_reader), the calling thread fetching and appending while
 * worker threads decode. The values are the same whatever the threads.
 *
 * Memory: builders and scratch buffers grow geometrically and are reused
 * from page to page, row group to row group (no allocation per value), and
 * every growth is charged against max_decoded_nbytes. Scratch sizes come
 * from counts already bounded (page value counts by the chunk's, the
 * chunk's by max_chunk_values; byte sizes by max_page_nbytes).
 */

/* A growable buffer. */
struct pq_buf {
    uint8_t *p;
    size_t n;   /* bytes in use (where the buffer is used as an array) */
    size_t cap; /* bytes allocated */
};

/* Per node on a builder's path. */
struct pq_blevel {
    uint16_t def_at; /* definition level reached when the node is present */
    bool optional;
    bool repeated;
    unsigned space;
    struct pq_buf bits; /* validity bitmap (optional nodes) */
    size_t nulls;
    struct pq_buf offsets; /* size_t list offsets (repeated nodes) */
};

/* The output column being built. */
struct pq_builder {
    const struct lc__parquet_column *col;
    struct lc__parquet_column const_col; /* constant columns */
    char *const_name;
    size_t depth;
    struct pq_blevel *lv;
    unsigned nspaces;
    size_t *count;    /* [nspaces] slots in each space */
    size_t *rep_node; /* [nspaces] path index opening space s (s >= 1) */
    size_t *first;    /* [nspaces] first path index of space s */
    size_t *end;      /* [nspaces] one past its last */
    uint16_t max_def;
    uint16_t max_rep;
    size_t value_nbytes;
    struct pq_buf values;   /* fixed-width values */
    struct pq_buf boffsets; /* size_t offsets (BYTE_ARRAY) */
    struct pq_buf data;     /* BYTE_ARRAY bytes */
    struct pq_buf def_levels, rep_levels;
    size_t nlevels;
    uint64_t planned;       /* rows the read will append (lc__pq_reader_plan) */
    uint64_t planned_bytes; /* and a guess of their bytes (byte arrays) */
    bool unplanned;         /* a row group whose size the footer cannot vouch */
};

/*
 * Scratch of one decoding thread: page and level buffers, dictionary,
 * codec context. A column chunk is decoded by one worker from start to
 * end; workers never share buffers.
 */
struct pq_worker {
    struct lc__codec_ctx *codec;
    struct pq_buf page; /* one decompressed page (or values section) */
    struct pq_buf u32;  /* levels and dictionary indices */
    struct pq_buf def, rep;
    struct pq_buf dense; /* decoded fixed-width values */
    struct pq_buf spans; /* struct lc__pq_span per decoded byte array */
    struct pq_buf lens;  /* size_t lengths (DELTA_BYTE_ARRAY) */
    struct pq_buf bytes; /* DELTA_BYTE_ARRAY values rebuilt */
    struct pq_buf u64;   /* DELTA_BINARY_PACKED output */
    struct pq_buf dict_values, dict_spans, dict_data;
};

/* At most this many decoding threads per read. */
#define PQ_MAX_THREADS 8

/*
 * A row group fetched and waiting to be decoded: its column chunks (read
 * with one call of the source), its constants and its row selection.
 */
struct pq_unit {
    struct lc__parquet_file *f;
    size_t rg;
    const size_t *leaves;
    const uint8_t *sel;
    size_t tag; /* the caller's, for the visitor */
    size_t rows, kept;
    size_t end_kept;         /* 1 + the last row sel keeps (last_kept) */
    struct pq_buf chunks;    /* the raw column chunks */
    struct pq_buf chunk_at;  /* size_t: offset of each chunk in chunks */
    struct pq_buf constants; /* const char *: constant column values */
    size_t total;            /* bytes of chunks */
};

/* One column chunk of a fetched row group. */
struct pq_task {
    unsigned unit;
    size_t col; /* output column */
    uint64_t start, len;
    const uint8_t *buf;
    int status;
    struct lc__errbuf err;
};

struct pq_bank;

/* A decoding thread: which batch, with which scratch. */
struct pq_thread {
    struct lc__pq_reader *r;
    struct pq_bank *bank;
    struct pq_worker *w;
};

/*
 * A batch of row groups: fetched by the calling thread, then decoded
 * (row group k into builder set k, each column chunk a task), then
 * consumed - appended to the table, or shown to the visitor - in order.
 */
struct pq_bank {
    struct pq_unit units[PQ_MAX_THREADS];
    struct pq_builder *sets[PQ_MAX_THREADS]; /* [ncols] each */
    unsigned nunits;
    struct pq_buf tasks; /* struct pq_task */
    size_t ntasks;
    atomic_size_t next;
    bool running; /* threads started and not joined */
    unsigned nstarted;
    pthread_t tid[PQ_MAX_THREADS];
    struct pq_thread th[PQ_MAX_THREADS];
    int status; /* of the decode, once over */
    struct lc__errbuf err;
};

struct lc__pq_reader {
    struct lc_allocator alloc;
    struct lc__parquet_limits lim;
    bool keep_levels;
    unsigned nthreads;
    /* bytes allocated for builders and scratch (workers add concurrently) */
    _Atomic uint64_t used;
    struct pq_worker w[PQ_MAX_THREADS];
    unsigned nworkers; /* of w[] set up */
    size_t ncols;
    const struct lc__parquet_file *f0; /* the schema's file */
    struct pq_builder *b;              /* [ncols]: the table being built */
    size_t nrows;
    /*
     * Row groups go through two banks of `batch` row groups each (the
     * threads). While the worker threads decode one bank, the calling
     * thread appends the rows of the other to the table (or shows them
     * to the visitor) and fetches the next row groups into it. With one
     * thread (or raw levels kept) a row group is decoded as soon as it is
     * fetched, straight into the table: `direct`.
     */
    bool direct;
    unsigned batch;
    struct pq_bank banks[2];
    unsigned cur; /* the bank being filled */
    /* scratch of the calling thread */
    struct pq_buf reqs; /* struct lc_range_request */
    /* scanning: the visitor, and the table view it is shown */
    lc__parquet_visit visit;
    void *visit_opaque;
    struct lc__parquet_array *view_arrays;
    struct lc__parquet_level *view_levels;
};

/* What is known about the chunk being decoded, for messages and checks. */
struct pq_chunk_ctx {
    struct lc__pq_reader *r;
    struct pq_worker *w;
    struct lc__parquet_file *f;
    struct pq_builder *b;
    const struct lc__parquet_column *col;
    const struct lc__pq_chunk *meta;
    size_t rg;
    uint64_t offset;      /* file offset of the chunk */
    uint64_t page_offset; /* file offset of the page being decoded */
    bool has_dict;
    size_t dict_n;
    const uint8_t *dict; /* the dictionary's PLAIN values */
    uint64_t seen;       /* level entries decoded so far */
    size_t page_entries; /* level entries of the data page being decoded */
    const uint8_t *sel;  /* rows of the row group to keep, NULL: all */
    uint64_t row;        /* rows started so far (repeated columns) */
    uint64_t rows;       /* the row group's */
    uint64_t end_kept;   /* 1 + the last row sel keeps (rows: no sel) */
    struct lc__errbuf *err;
};

/* ---- buffers -------------------------------------------------------------
 */

static int budget_error(struct lc__pq_reader *r, struct lc__errbuf *err)
{
    return lc__error(err, LC_ELIMIT,
                     "parquet: read needs more than %" PRIu64 " bytes of "
                     "memory (max_decoded_nbytes)",
                     r->lim.max_decoded_nbytes);
}

/* Makes b hold at least need bytes, keeping its contents; new bytes are
 * zeroed when zero is set (bitmaps). */
static int buf_reserve(struct lc__pq_reader *r, struct pq_buf *b, size_t need,
                       bool zero, struct lc__errbuf *err)
{
    if (need <= b->cap)
        return LC_OK;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint64_t grow = cap - b->cap, max = r->lim.max_decoded_nbytes;
    uint64_t before = atomic_fetch_add(&r->used, grow);
    if (before > max || grow > max - before) {
        atomic_fetch_sub(&r->used, grow);
        return budget_error(r, err);
    }
    uint8_t *p = lc__realloc(&r->alloc, b->p, b->cap, cap);
    if (p == NULL) {
        atomic_fetch_sub(&r->used, grow);
        return lc__error(err, LC_ENOMEM, "parquet: out of memory (%zu bytes)",
                         cap);
    }
    if (zero)
        memset(p + b->cap, 0, cap - b->cap);
    b->p = p;
    b->cap = cap;
    return LC_OK;
}

/* Reserves count elements of size each, overflow-checked. */
static int buf_reserve_n(struct lc__pq_reader *r, struct pq_buf *b,
                         size_t count, size_t size, bool zero,
                         struct lc__errbuf *err)
{
    size_t need;
    if (!lc__size_mul(count, size, &need))
        return budget_error(r, err);
    return buf_reserve(r, b, need, zero, err);
}

static void buf_free(struct lc__pq_reader *r, struct pq_buf *b)
{
    lc__free(&r->alloc, b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ---- messages ------------------------------------------------------------
 */

/* Re-words err's message with the file, row group, column and page. */
static int chunk_error(struct pq_chunk_ctx *c, int status)
{
    char msg[LC_ERRMSG_CAP];

    lc__copy_str(msg, sizeof(msg), c->err != NULL ? c->err->msg : "");
    return lc__error(c->err, status,
                     "%s: row group %zu, column '%s', page at byte %" PRIu64
                     ": %s",
                     c->f->name, c->rg, c->col->path, c->page_offset, msg);
}

#define CHUNK_FAIL(c, status, ...)                                             \
    chunk_error((c), lc__error((c)->err, (status), __VA_ARGS__))

#define CHUNK_CHECK(c, cond, status, ...)                                      \
    do {                                                                       \
        if (LC_UNLIKELY(cond))                                                 \
            return CHUNK_FAIL((c), (status), __VA_ARGS__);                     \
    } while (0)

#define CHUNK_FORWARD(c, expr)                                                 \
    do {                                                                       \
        int lc__st_ = (expr);                                                  \
        if (LC_UNLIKELY(lc__st_ < 0))                                          \
            return chunk_error((c), lc__st_);                                  \
    } while (0)

/* ---- builders ------------------------------------------------------------
 */

static void builder_free(struct lc__pq_reader *r, struct pq_builder *b)
{
    if (b->lv != NULL) {
        for (size_t i = 0; i < b->depth; i++) {
            buf_free(r, &b->lv[i].bits);
            buf_free(r, &b->lv[i].offsets);
        }
    }
    lc__free(&r->alloc, b->lv);
    lc__free(&r->alloc, b->count);
    lc__free(&r->alloc, b->const_name);
    buf_free(r, &b->values);
    buf_free(r, &b->boffsets);
    buf_free(r, &b->data);
    buf_free(r, &b->def_levels);
    buf_free(r, &b->rep_levels);
}

static size_t value_nbytes(const struct lc__parquet_column *col)
{
    switch (col->type) {
    case LC_PQ_BOOLEAN:
        return 1;
    case LC_PQ_INT32:
    case LC_PQ_FLOAT:
        return 4;
    case LC_PQ_INT64:
    case LC_PQ_DOUBLE:
        return 8;
    case LC_PQ_INT96:
        return 12;
    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
        return (size_t)col->type_length;
    case LC_PQ_BYTE_ARRAY:
        return 0;
    }
    return 0;
}

static int builder_init(struct lc__pq_reader *r, struct pq_builder *b,
                        const struct lc__parquet_file *f,
                        const struct lc__parquet_column *col,
                        const char *const_name, struct lc__errbuf *err)
{
    if (col == NULL) {
        /* A constant (Hive partition) column: one required string. */
        size_t n = strlen(const_name) + 1;
        b->const_name = lc__malloc(&r->alloc, n);
        LC_RETURN_IF(b->const_name == NULL, err, LC_ENOMEM,
                     "parquet: out of memory");
        memcpy(b->const_name, const_name, n);
        b->const_col.path = b->const_name;
        b->const_col.depth = 1;
        b->const_col.path_parts = (const char *const *)&b->const_name;
        b->const_col.path_nodes = NULL;
        b->const_col.type = LC_PQ_BYTE_ARRAY;
        b->const_col.logical.kind = LC_PQ_LOGICAL_STRING;
        col = &b->const_col;
    }
    b->col = col;
    b->depth = col->depth;
    b->max_def = col->max_def;
    b->max_rep = col->max_rep;
    b->nspaces = (unsigned)col->max_rep + 1;
    b->value_nbytes = value_nbytes(col);
    b->lv = lc__calloc(&r->alloc, b->depth, sizeof(*b->lv));
    b->count = lc__calloc(&r->alloc, b->nspaces, 4 * sizeof(size_t));
    LC_RETURN_IF(b->lv == NULL || b->count == NULL, err, LC_ENOMEM,
                 "parquet: out of memory");
    b->rep_node = b->count + b->nspaces;
    b->first = b->rep_node + b->nspaces;
    b->end = b->first + b->nspaces;
    unsigned space = 0;
    for (size_t i = 0; i < b->depth; i++) {
        struct pq_blevel *l = &b->lv[i];
        if (col->path_nodes == NULL) {
            l->def_at = 0; /* the constant column: one required node */
        } else {
            const struct lc__parquet_node *nd =
                lc__parquet_node(f, col->path_nodes[i]);
            l->def_at = nd->def_level;
            l->optional = nd->repetition == LC_PQ_OPTIONAL;
            l->repeated = nd->repetition == LC_PQ_REPEATED;
        }
        if (l->repeated) {
            b->end[space] = i;
            space++;
            b->rep_node[space] = i;
            b->first[space] = i;
        }
        l->space = space;
    }
    b->end[space] = b->depth;
    LC_ASSERT(space == col->max_rep);
    /* Byte arrays start with offset 0. The data and values buffers exist
     * from the start, so that no pointer handed out is NULL (an array of
     * empty strings still has a data pointer). */
    if (b->value_nbytes == 0) {
        LC_FORWARD_IF_ERROR(
            buf_reserve(r, &b->boffsets, sizeof(size_t), false, err));
        memset(b->boffsets.p, 0, sizeof(size_t));
        b->boffsets.n = sizeof(size_t);
        LC_FORWARD_IF_ERROR(buf_reserve(r, &b->data, 1, false, err));
    } else {
        LC_FORWARD_IF_ERROR(
            buf_reserve(r, &b->values, b->value_nbytes, false, err));
    }
    return LC_OK;
}

static void set_bit(struct pq_blevel *l, size_t k, bool bit)
{
    uint8_t m = (uint8_t)(1u << (k & 7));
    if (bit)
        l->bits.p[k >> 3] |= m;
    else
        l->nulls++;
}

/* Sets bits [from, from + n) of l's bitmap (present slots). */
static void set_bits(struct pq_blevel *l, size_t from, size_t n)
{
    size_t k = from, end = from + n;
    for (; k < end && (k & 7) != 0; k++)
        l->bits.p[k >> 3] |= (uint8_t)(1u << (k & 7));
    if (end - k >= 8) {
        memset(l->bits.p + (k >> 3), 0xff, (end - k) >> 3);
        k += (end - k) & ~(size_t)7;
    }
    for (; k < end; k++)
        l->bits.p[k >> 3] |= (uint8_t)(1u << (k & 7));
}

/* Whether row k of a row-selection bitmap is kept (NULL: every row). */
static inline bool row_kept(const uint8_t *sel, uint64_t k)
{
    return sel == NULL || ((sel[k >> 3] >> (k & 7)) & 1) != 0;
}

/* 1 + the last of rows [0, n) sel keeps; 0 if none; n if sel is NULL.
 * Bytes of none are passed whole. */
static size_t last_kept(const uint8_t *sel, size_t n)
{
    if (sel == NULL)
        return n;
    for (size_t k = n; k > 0;) {
        if ((k & 7) == 0 && sel[(k >> 3) - 1] == 0) {
            k -= 8;
            continue;
        }
        if (row_kept(sel, k - 1))
            return k;
        k--;
    }
    return 0;
}

/* Whether any of rows [from, from + n) is kept. */
static bool any_kept(const uint8_t *sel, uint64_t from, uint64_t n)
{
    if (sel == NULL)
        return n > 0;
    uint64_t k = from, end = from + n;
    for (; k < end && (k & 7) != 0; k++)
        if (row_kept(sel, k))
            return true;
    for (; k + 8 <= end; k += 8)
        if (sel[k >> 3] != 0)
            return true;
    for (; k < end; k++)
        if (row_kept(sel, k))
            return true;
    return false;
}

/*
 * Dense values of one page: fixed-width values (nonnull * value_nbytes
 * bytes, possibly inside the page) or, for byte arrays, where each value
 * lies (in the page, the dictionary or the worker's scratch); the bytes
 * are copied into the builder only for the entries kept.
 */
struct pq_dense {
    const uint8_t *fixed;
    const struct lc__pq_span *bytes;
    size_t n;
    /* Where a decoder may put fixed-width values that need no scatter
     * (their place in the builder), or NULL. */
    uint8_t *fixed_out;
};

/* Reserves room in every buffer of b for n more entries. */
static int builder_reserve(struct lc__pq_reader *r, struct pq_builder *b,
                           size_t n, struct lc__errbuf *err)
{
    for (size_t i = 0; i < b->depth; i++) {
        struct pq_blevel *l = &b->lv[i];
        size_t slots = b->count[l->space];
        if (l->optional) {
            size_t bits;
            if (!lc__size_add(slots, n, &bits) || bits > SIZE_MAX - 7)
                return budget_error(r, err);
            LC_FORWARD_IF_ERROR(
                buf_reserve(r, &l->bits, (bits + 7) / 8, true, err));
        }
        if (l->repeated) {
            /* One offset per slot of the parent space, plus the last. */
            size_t parent = b->count[l->space - 1];
            size_t need;
            if (!lc__size_add(parent, n, &need) ||
                !lc__size_add(need, 1, &need))
                return budget_error(r, err);
            LC_FORWARD_IF_ERROR(buf_reserve_n(r, &l->offsets, need,
                                              sizeof(size_t), false, err));
        }
    }
    size_t leaf = b->count[b->nspaces - 1], need;
    if (!lc__size_add(leaf, n, &need) || !lc__size_add(need, 1, &need))
        return budget_error(r, err);
    if (b->value_nbytes > 0)
        return buf_reserve_n(r, &b->values, need, b->value_nbytes, false, err);
    return buf_reserve_n(r, &b->boffsets, need, sizeof(size_t), false, err);
}

/* Appends one value slot of the leaf space (the dense cursor advances when
 * the slot is valid). Byte arrays: the caller reserved b->data. */
static inline void push_value(struct pq_builder *b, size_t slot, bool valid,
                              const struct pq_dense *dv, size_t *cur)
{
    if (b->value_nbytes > 0) {
        uint8_t *dst = b->values.p + slot * b->value_nbytes;
        if (valid)
            memcpy(dst, dv->fixed + (*cur)++ * b->value_nbytes,
                   b->value_nbytes);
        else
            memset(dst, 0, b->value_nbytes);
    } else {
        size_t *off = (size_t *)(void *)b->boffsets.p;
        size_t len = 0;
        if (valid) {
            const struct lc__pq_span *v = &dv->bytes[(*cur)++];
            len = v->n;
            if (len > 0)
                memcpy(b->data.p + b->data.n, v->p, len);
            b->data.n += len;
        }
        off[slot + 1] = off[slot] + len;
    }
}

/*
 * Bytes the byte arrays of n flat entries add to the builder: those of
 * the rows kept (sel, from row `row`), or all of them.
 */
static uint64_t flat_bytes(const struct pq_builder *b, const uint16_t *def,
                           size_t n, const struct pq_dense *dv,
                           const uint8_t *sel, uint64_t row)
{
    /* No overflow: at most 2^28 values (max_chunk_values) of at most 2^32
     * bytes each. */
    uint64_t total = 0;
    size_t cur = 0;
    if (sel == NULL) {
        for (size_t k = 0; k < dv->n; k++)
            total += dv->bytes[k].n;
        return total;
    }
    for (size_t e = 0; e < n; e++) {
        bool valid = def == NULL || def[e] == b->max_def;
        if (valid && row_kept(sel, row + e))
            total += dv->bytes[cur].n;
        cur += valid;
    }
    return total;
}

/* The values of n flat entries (one slot each) at slot base: the common
 * widths get loops of their own, nulls read as zeros. */
static void scatter_flat(struct pq_builder *b, size_t base, const uint16_t *def,
                         size_t n, const struct pq_dense *dv)
{
    uint16_t max = b->max_def;
    size_t w = b->value_nbytes, cur = 0;
    bool all = def == NULL; /* a required column */

    if (w == 0) {
        size_t *off = (size_t *)(void *)b->boffsets.p + base;
        uint8_t *out = b->data.p + b->data.n;
        size_t at = off[0];
        for (size_t e = 0; e < n; e++) {
            if (all || def[e] == max) {
                const struct lc__pq_span *v = &dv->bytes[cur++];
                if (v->n > 0)
                    memcpy(out, v->p, v->n);
                out += v->n;
                at += v->n;
            }
            off[e + 1] = at;
        }
        b->data.n = (size_t)(out - b->data.p);
        return;
    }
    uint8_t *dst = b->values.p + base * w;
    const uint8_t *src = dv->fixed;
    if (w == 8) {
        for (size_t e = 0; e < n; e++, dst += 8) {
            if ((all || def[e] == max))
                memcpy(dst, src + 8 * cur++, 8);
            else
                memset(dst, 0, 8);
        }
    } else if (w == 4) {
        for (size_t e = 0; e < n; e++, dst += 4) {
            if ((all || def[e] == max))
                memcpy(dst, src + 4 * cur++, 4);
            else
                memset(dst, 0, 4);
        }
    } else {
        for (size_t e = 0; e < n; e++, dst += w) {
            if ((all || def[e] == max))
                memcpy(dst, src + w * cur++, w);
            else
                memset(dst, 0, w);
        }
    }
}

static void push_offset(struct pq_builder *b, unsigned space)
{
    struct pq_blevel *l = &b->lv[b->rep_node[space]];
    size_t *off = (size_t *)(void *)l->offsets.p;
    off[l->offsets.n / sizeof(size_t)] = b->count[space];
    l->offsets.n += sizeof(size_t);
}

/* Flat entries of the rows kept only (c->sel): one slot per kept row. */
static void assemble_flat_kept(struct pq_chunk_ctx *c, const uint16_t *def,
                               size_t n, const struct pq_dense *dv)
{
    struct pq_builder *b = c->b;
    size_t slot = b->count[0], cur = 0;
    for (size_t e = 0; e < n; e++) {
        bool valid = def == NULL || def[e] == b->max_def;
        if (!row_kept(c->sel, c->seen + e)) {
            cur += valid;
            continue;
        }
        for (size_t i = 0; i < b->depth; i++) {
            struct pq_blevel *l = &b->lv[i];
            if (l->optional)
                set_bit(l, slot, def == NULL || def[e] >= l->def_at);
        }
        push_value(b, slot, valid, dv, &cur);
        slot++;
    }
    b->count[0] = slot;
}

/*
 * Assembles n entries with levels def/rep (NULL when the max level is 0,
 * or, for def, when every entry has the max level)
 * and their dense values into b, keeping only the rows c->sel keeps. The
 * caller has checked the levels against their maxima and counted the
 * dense values.
 */
static int assemble(struct pq_chunk_ctx *c, const uint16_t *def,
                    const uint16_t *rep, size_t n, const struct pq_dense *dv)
{
    struct pq_builder *b = c->b;
    size_t cur = 0;

    CHUNK_FORWARD(c, builder_reserve(c->r, b, n, c->err));
    if (b->value_nbytes == 0) {
        /* Room for the bytes kept (repeated columns: for all of them). */
        uint64_t more = b->max_rep == 0
                            ? flat_bytes(b, def, n, dv, c->sel, c->seen)
                            : flat_bytes(b, def, 0, dv, NULL, 0);
        if (more >= c->r->lim.max_decoded_nbytes ||
            more >= SIZE_MAX - b->data.n)
            return chunk_error(c, budget_error(c->r, c->err));
        CHUNK_FORWARD(c,
                      buf_reserve(c->r, &b->data, b->data.n + (size_t)more + 1,
                                  false, c->err));
    }
    if (b->max_rep == 0 && c->sel != NULL) {
        assemble_flat_kept(c, def, n, dv);
        return LC_OK;
    }
    if (b->max_rep == 0) {
        /* Flat: one row slot per entry. */
        size_t base = b->count[0];
        for (size_t i = 0; i < b->depth; i++) {
            struct pq_blevel *l = &b->lv[i];
            if (!l->optional)
                continue;
            if (dv->n == n) { /* no nulls: every node present */
                set_bits(l, base, n);
                continue;
            }
            for (size_t e = 0; e < n; e++)
                set_bit(l, base + e, def[e] >= l->def_at);
        }
        if (dv->n == n && b->value_nbytes > 0) {
            uint8_t *dst = b->values.p + base * b->value_nbytes;
            /* (dictionary values may have been gathered in place) */
            if (n > 0 && dv->fixed != dst)
                memcpy(dst, dv->fixed, n * b->value_nbytes);
        } else {
            scatter_flat(b, base, def, n, dv);
        }
        b->count[0] += n;
        return LC_OK;
    }
    /* A page may go on with the last row of the page before. */
    bool kept = c->row == 0 || row_kept(c->sel, c->row - 1);
    for (size_t e = 0; e < n; e++) {
        unsigned d = def != NULL ? def[e] : b->max_def;
        unsigned s = rep[e];
        CHUNK_CHECK(c, s > 0 && d < b->lv[b->rep_node[s]].def_at, LC_ECORRUPT,
                    "entry %" PRIu64 " has repetition level %u but "
                    "definition level %u",
                    c->seen + e, s, d);
        if (s == 0)
            kept = row_kept(c->sel, c->row++);
        if (!kept) {
            cur += d == b->max_def;
            continue;
        }
        for (;;) {
            size_t slot = b->count[s]++;
            for (size_t j = b->first[s]; j < b->end[s]; j++) {
                struct pq_blevel *l = &b->lv[j];
                if (l->optional)
                    set_bit(l, slot, d >= l->def_at);
            }
            if (s == b->max_rep) {
                push_value(b, slot, d == b->max_def, dv, &cur);
                break;
            }
            push_offset(b, s + 1);
            if (d < b->lv[b->rep_node[s + 1]].def_at)
                break;
            s++;
        }
    }
    return LC_OK;
}

/* ---- values --------------------------------------------------------------
 */

enum pq_encoding {
    PQ_PLAIN = 0,
    PQ_PLAIN_DICTIONARY = 2,
    PQ_RLE = 3,
    PQ_BIT_PACKED = 4,
    PQ_DELTA_BINARY_PACKED = 5,
    PQ_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_DELTA_BYTE_ARRAY = 7,
    PQ_RLE_DICTIONARY = 8,
    PQ_BYTE_STREAM_SPLIT = 9
};

static const char *encoding_name(int32_t e)
{
    static const char *const names[] = {
        "PLAIN",
        "GROUP_VAR_INT",
        "PLAIN_DICTIONARY",
        "RLE",
        "BIT_PACKED",
        "DELTA_BINARY_PACKED",
        "DELTA_LENGTH_BYTE_ARRAY",
        "DELTA_BYTE_ARRAY",
        "RLE_DICTIONARY",
        "BYTE_STREAM_SPLIT",
        "ALP",
    };
    return e >= 0 && (size_t)e < LC_ARRAY_SIZE(names) ? names[e] : "unknown";
}

static const char *type_name(enum lc__parquet_type t)
{
    static const char *const names[] = {
        "BOOLEAN", "INT32",  "INT64",      "INT96",
        "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY",
    };
    return (size_t)t < LC_ARRAY_SIZE(names) ? names[t] : "unknown";
}

/* PLAIN byte arrays: <u32 length><bytes>...; spans[i] is where value i
 * lies in p[0..nbytes). */
static int plain_byte_arrays(struct pq_chunk_ctx *c, const uint8_t *p,
                             size_t nbytes, size_t n, struct lc__pq_span *spans)
{
    const uint8_t *end = p + nbytes;

    for (size_t i = 0; i < n; i++) {
        CHUNK_CHECK(c, end - p < 4, LC_ECORRUPT,
                    "PLAIN byte array %zu of %zu: length runs past the page", i,
                    n);
        size_t len = lc__load_le32(p);
        p += 4;
        CHUNK_CHECK(c, len > (size_t)(end - p), LC_ECORRUPT,
                    "PLAIN byte array %zu of %zu bytes runs past the page "
                    "(%zu bytes left)",
                    i, len, (size_t)(end - p));
        spans[i].p = p;
        spans[i].n = len;
        p += len;
    }
    return LC_OK;
}

/* Unpacks n PLAIN booleans (bits, least significant first) to bytes. */
static int plain_booleans(struct pq_chunk_ctx *c, const uint8_t *p,
                          size_t nbytes, size_t n, uint8_t *out)
{
    CHUNK_CHECK(c, (n + 7) / 8 > nbytes, LC_ECORRUPT,
                "%zu PLAIN booleans need %zu bytes, the page has %zu", n,
                (n + 7) / 8, nbytes);
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i >> 3] >> (i & 7)) & 1;
    return LC_OK;
}

/* The dictionary page: num PLAIN values kept for the chunk. */
static int decode_dictionary(struct pq_chunk_ctx *c, int32_t encoding,
                             const uint8_t *p, size_t nbytes, int32_t num)
{
    struct lc__pq_reader *r = c->r;
    struct pq_worker *w = c->w;
    size_t vw = c->b->value_nbytes;

    CHUNK_CHECK(c, encoding != PQ_PLAIN && encoding != PQ_PLAIN_DICTIONARY,
                LC_EUNSUPPORTED, "dictionary page encoded %s",
                encoding_name(encoding));
    CHUNK_CHECK(c, num < 0, LC_ECORRUPT, "dictionary of %d values", (int)num);
    size_t n = (size_t)num;
    /* p lies in the worker's dict_data or in the column chunk: either
     * stays until the chunk is decoded. */
    if (c->col->type == LC_PQ_BYTE_ARRAY) {
        CHUNK_CHECK(c, n > nbytes / 4, LC_ECORRUPT,
                    "dictionary of %zu byte arrays in %zu bytes", n, nbytes);
        CHUNK_FORWARD(c,
                      buf_reserve_n(r, &w->dict_spans, n + 1,
                                    sizeof(struct lc__pq_span), false, c->err));
        LC_FORWARD_IF_ERROR(plain_byte_arrays(
            c, p, nbytes, n, (struct lc__pq_span *)(void *)w->dict_spans.p));
    } else if (c->col->type == LC_PQ_BOOLEAN) {
        CHUNK_FORWARD(c, buf_reserve(r, &w->dict_values, n, false, c->err));
        LC_FORWARD_IF_ERROR(plain_booleans(c, p, nbytes, n, w->dict_values.p));
        p = w->dict_values.p;
    } else {
        CHUNK_CHECK(c, n > nbytes / vw, LC_ECORRUPT,
                    "dictionary of %zu values of %zu bytes in %zu bytes", n, vw,
                    nbytes);
    }
    c->dict = p;
    c->has_dict = true;
    c->dict_n = n;
    return LC_OK;
}

/* Dictionary indices -> dense values. */
static int decode_dict_indices(struct pq_chunk_ctx *c, const uint8_t *p,
                               size_t nbytes, size_t n, struct pq_dense *dv)
{
    struct lc__pq_reader *r = c->r;
    struct pq_worker *wk = c->w;
    size_t w = c->b->value_nbytes;

    CHUNK_CHECK(c, !c->has_dict, LC_ECORRUPT,
                "dictionary-encoded page without a dictionary page");
    if (n == 0)
        return LC_OK;
    CHUNK_CHECK(c, nbytes < 1, LC_ECORRUPT, "empty dictionary-index page");
    unsigned bw = p[0];
    CHUNK_FORWARD(
        c, buf_reserve_n(r, &wk->u32, n, sizeof(uint32_t), false, c->err));
    uint32_t *idx = (uint32_t *)(void *)wk->u32.p;
    CHUNK_FORWARD(
        c, lc__pq_rle_decode(p + 1, nbytes - 1, bw, idx, n, NULL, c->err));
    size_t dn = c->dict_n;
    uint32_t top = 0;
    for (size_t i = 0; i < n; i++)
        top = idx[i] > top ? idx[i] : top;
    CHUNK_CHECK(c, top >= dn, LC_ECORRUPT,
                "dictionary index %" PRIu32 " of a dictionary of %zu values",
                top, dn);
    if (c->col->type == LC_PQ_BYTE_ARRAY) {
        /* Spans into the dictionary: bytes are copied only for the rows
         * kept. */
        CHUNK_FORWARD(c,
                      buf_reserve_n(r, &wk->spans, n,
                                    sizeof(struct lc__pq_span), false, c->err));
        struct lc__pq_span *out = (struct lc__pq_span *)(void *)wk->spans.p;
        const struct lc__pq_span *dict =
            (const struct lc__pq_span *)(const void *)wk->dict_spans.p;
        for (size_t i = 0; i < n; i++)
            out[i] = dict[idx[i]];
        dv->bytes = out;
        return LC_OK;
    }
    uint8_t *out = dv->fixed_out;
    if (out == NULL) {
        CHUNK_FORWARD(c, buf_reserve_n(r, &wk->dense, n, w, false, c->err));
        out = wk->dense.p;
    }
    const uint8_t *dict = c->dict;
    if (w == 4) {
        for (size_t i = 0; i < n; i++)
            memcpy(out + 4 * i, dict + 4 * (size_t)idx[i], 4);
    } else if (w == 8) {
        for (size_t i = 0; i < n; i++)
            memcpy(out + 8 * i, dict + 8 * (size_t)idx[i], 8);
    } else {
        for (size_t i = 0; i < n; i++)
            memcpy(out + w * i, dict + w * (size_t)idx[i], w);
    }
    dv->fixed = out;
    return LC_OK;
}

/* DELTA_BINARY_PACKED integers. */
static int decode_delta_ints(struct pq_chunk_ctx *c, const uint8_t *p,
                             size_t nbytes, size_t n, struct pq_dense *dv)
{
    struct lc__pq_reader *r = c->r;

    CHUNK_FORWARD(c, buf_reserve_n(r, &c->w->u64, n + 1, sizeof(uint64_t),
                                   false, c->err));
    uint64_t *v = (uint64_t *)(void *)c->w->u64.p;
    CHUNK_FORWARD(c, lc__pq_delta_decode(p, nbytes, v, n, NULL, c->err));
    if (c->col->type == LC_PQ_INT64) {
        dv->fixed = c->w->u64.p;
        return LC_OK;
    }
    /* INT32 takes the low 32 bits (the encoder wrapped around in 32). */
    CHUNK_FORWARD(c, buf_reserve_n(r, &c->w->dense, n + 1, 4, false, c->err));
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)v[i];
        memcpy(c->w->dense.p + 4 * i, &u, 4);
    }
    dv->fixed = c->w->dense.p;
    return LC_OK;
}

/* Decodes the lengths of a DELTA_LENGTH_BYTE_ARRAY (or the suffixes of a
 * DELTA_BYTE_ARRAY) section into lens; *used_ret: bytes of the lengths. */
static int delta_lengths(struct pq_chunk_ctx *c, const uint8_t *p,
                         size_t nbytes, size_t n, size_t *lens,
                         size_t *used_ret, size_t *total_ret)
{
    struct lc__pq_reader *r = c->r;

    CHUNK_FORWARD(c, buf_reserve_n(r, &c->w->u64, n + 1, sizeof(uint64_t),
                                   false, c->err));
    uint64_t *v = (uint64_t *)(void *)c->w->u64.p;
    CHUNK_FORWARD(c, lc__pq_delta_decode(p, nbytes, v, n, used_ret, c->err));
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        /* Lengths are int32 in the format. */
        CHUNK_CHECK(c, v[i] > INT32_MAX, LC_ECORRUPT,
                    "byte array length %" PRId64 " in a delta stream",
                    (int64_t)v[i]);
        lens[i] = (size_t)v[i];
        CHUNK_CHECK(c, lens[i] > SIZE_MAX - total, LC_ECORRUPT,
                    "byte array lengths overflow");
        total += lens[i];
    }
    *total_ret = total;
    return LC_OK;
}

static int decode_delta_length(struct pq_chunk_ctx *c, const uint8_t *p,
                               size_t nbytes, size_t n, struct pq_dense *dv)
{
    struct lc__pq_reader *r = c->r;
    struct pq_worker *w = c->w;
    size_t used, total;

    CHUNK_FORWARD(
        c, buf_reserve_n(r, &w->lens, n + 1, sizeof(size_t), false, c->err));
    CHUNK_FORWARD(c, buf_reserve_n(r, &w->spans, n + 1,
                                   sizeof(struct lc__pq_span), false, c->err));
    size_t *lens = (size_t *)(void *)w->lens.p;
    LC_FORWARD_IF_ERROR(delta_lengths(c, p, nbytes, n, lens, &used, &total));
    CHUNK_CHECK(c, total > nbytes - used, LC_ECORRUPT,
                "DELTA_LENGTH_BYTE_ARRAY strings of %zu bytes in %zu", total,
                nbytes - used);
    struct lc__pq_span *spans = (struct lc__pq_span *)(void *)w->spans.p;
    const uint8_t *at = p + used;
    for (size_t i = 0; i < n; i++) {
        spans[i].p = at;
        spans[i].n = lens[i];
        at += lens[i];
    }
    dv->bytes = spans;
    return LC_OK;
}

/* DELTA_BYTE_ARRAY: prefix lengths, then suffixes as DELTA_LENGTH. */
static int decode_delta_byte_array(struct pq_chunk_ctx *c, const uint8_t *p,
                                   size_t nbytes, size_t n, struct pq_dense *dv)
{
    struct lc__pq_reader *r = c->r;
    struct pq_worker *w = c->w;
    struct pq_builder *b = c->b;
    size_t used1, used2, suffix_total;

    if (n == 0)
        return LC_OK;
    /* Prefix lengths, kept in lens for now. */
    CHUNK_FORWARD(c, buf_reserve_n(r, &w->lens, 2 * n + 1, sizeof(size_t),
                                   false, c->err));
    size_t *prefix = (size_t *)(void *)w->lens.p;
    size_t *suffix = prefix + n;
    size_t prefix_total;
    LC_FORWARD_IF_ERROR(
        delta_lengths(c, p, nbytes, n, prefix, &used1, &prefix_total));
    LC_FORWARD_IF_ERROR(delta_lengths(c, p + used1, nbytes - used1, n, suffix,
                                      &used2, &suffix_total));
    const uint8_t *sdata = p + used1 + used2;
    size_t savail = nbytes - used1 - used2;
    CHUNK_CHECK(c, suffix_total > savail, LC_ECORRUPT,
                "DELTA_BYTE_ARRAY suffixes of %zu bytes in %zu", suffix_total,
                savail);
    /* Each value is a prefix of the previous value plus its suffix. */
    size_t total = 0, prev = 0;
    for (size_t i = 0; i < n; i++) {
        CHUNK_CHECK(c, prefix[i] > prev, LC_ECORRUPT,
                    "DELTA_BYTE_ARRAY prefix of %zu bytes after a value of "
                    "%zu",
                    prefix[i], prev);
        prev = prefix[i] + suffix[i];
        CHUNK_CHECK(c, prev > r->lim.max_page_nbytes - total, LC_ELIMIT,
                    "DELTA_BYTE_ARRAY page expands past %zu bytes",
                    r->lim.max_page_nbytes);
        total += prev;
    }
    bool fixed = c->col->type == LC_PQ_FIXED_LEN_BYTE_ARRAY;
    struct pq_buf *out = fixed ? &w->dense : &w->bytes;
    CHUNK_FORWARD(c, buf_reserve(r, out, total + 1, false, c->err));
    if (!fixed)
        CHUNK_FORWARD(c,
                      buf_reserve_n(r, &w->spans, n + 1,
                                    sizeof(struct lc__pq_span), false, c->err));
    struct lc__pq_span *spans = (struct lc__pq_span *)(void *)w->spans.p;
    uint8_t *o = out->p;
    const uint8_t *last = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = prefix[i] + suffix[i];
        CHUNK_CHECK(c, fixed && len != b->value_nbytes, LC_ECORRUPT,
                    "DELTA_BYTE_ARRAY value of %zu bytes in a column of "
                    "fixed length %zu",
                    len, b->value_nbytes);
        if (prefix[i] > 0)
            memmove(o, last, prefix[i]);
        if (suffix[i] > 0)
            memcpy(o + prefix[i], sdata, suffix[i]);
        sdata += suffix[i];
        last = o;
        if (!fixed) {
            spans[i].p = o;
            spans[i].n = len;
        }
        o += len;
    }
    if (fixed)
        dv->fixed = w->dense.p;
    else
        dv->bytes = spans;
    return LC_OK;
}

static int decode_byte_stream_split(struct pq_chunk_ctx *c, const uint8_t *p,
                                    size_t nbytes, size_t n,
                                    struct pq_dense *dv)
{
    struct lc__pq_reader *r = c->r;
    size_t w = c->b->value_nbytes;

    CHUNK_CHECK(c, nbytes / w < n || nbytes != n * w, LC_ECORRUPT,
                "BYTE_STREAM_SPLIT section of %zu bytes for %zu values of "
                "%zu bytes",
                nbytes, n, w);
    CHUNK_FORWARD(c, buf_reserve_n(r, &c->w->dense, n + 1, w, false, c->err));
    uint8_t *out = c->w->dense.p;
    for (size_t k = 0; k < w; k++) {
        const uint8_t *s = p + k * n;
        for (size_t i = 0; i < n; i++)
            out[i * w + k] = s[i];
    }
    dv->fixed = out;
    return LC_OK;
}

/* Decodes the n dense values of a data page. */
static int decode_values(struct pq_chunk_ctx *c, int32_t encoding,
                         const uint8_t *p, size_t nbytes, size_t n,
                         struct pq_dense *dv)
{
    struct lc__pq_reader *r = c->r;
    struct pq_builder *b = c->b;
    enum lc__parquet_type type = c->col->type;
    size_t w = b->value_nbytes;

    dv->n = n;
    dv->fixed = NULL;
    dv->bytes = NULL;
    dv->fixed_out = NULL;
    /* A flat page without nulls, all of whose rows are kept: values may go
     * straight to their place in the builder. */
    if (b->max_rep == 0 && c->sel == NULL && n == c->page_entries && w > 0) {
        CHUNK_FORWARD(c, builder_reserve(r, b, n, c->err));
        dv->fixed_out = b->values.p + b->count[0] * w;
    }
    switch (encoding) {
    case PQ_PLAIN:
        if (type == LC_PQ_BYTE_ARRAY) {
            CHUNK_FORWARD(c, buf_reserve_n(r, &c->w->spans, n + 1,
                                           sizeof(struct lc__pq_span), false,
                                           c->err));
            dv->bytes = (const struct lc__pq_span *)(void *)c->w->spans.p;
            return plain_byte_arrays(
                c, p, nbytes, n, (struct lc__pq_span *)(void *)c->w->spans.p);
        }
        if (type == LC_PQ_BOOLEAN) {
            CHUNK_FORWARD(c,
                          buf_reserve(r, &c->w->dense, n + 1, false, c->err));
            dv->fixed = c->w->dense.p;
            return plain_booleans(c, p, nbytes, n, c->w->dense.p);
        }
        CHUNK_CHECK(c, nbytes / w < n, LC_ECORRUPT,
                    "%zu PLAIN values of %zu bytes in a section of %zu", n, w,
                    nbytes);
        dv->fixed = p; /* no copy: the page outlives the assembly */
        return LC_OK;
    case PQ_PLAIN_DICTIONARY:
    case PQ_RLE_DICTIONARY:
        return decode_dict_indices(c, p, nbytes, n, dv);
    case PQ_RLE: {
        CHUNK_CHECK(c, type != LC_PQ_BOOLEAN, LC_EUNSUPPORTED,
                    "RLE values of type %s", type_name(type));
        CHUNK_CHECK(c, nbytes < 4, LC_ECORRUPT,
                    "RLE booleans without their length");
        size_t len = lc__load_le32(p);
        CHUNK_CHECK(c, len > nbytes - 4, LC_ECORRUPT,
                    "RLE booleans of %zu bytes in a section of %zu", len,
                    nbytes - 4);
        CHUNK_FORWARD(c, buf_reserve_n(r, &c->w->u32, n + 1, sizeof(uint32_t),
                                       false, c->err));
        CHUNK_FORWARD(c, buf_reserve(r, &c->w->dense, n + 1, false, c->err));
        uint32_t *u = (uint32_t *)(void *)c->w->u32.p;
        CHUNK_FORWARD(c, lc__pq_rle_decode(p + 4, len, 1, u, n, NULL, c->err));
        for (size_t i = 0; i < n; i++)
            c->w->dense.p[i] = (uint8_t)u[i];
        dv->fixed = c->w->dense.p;
        return LC_OK;
    }
    case PQ_DELTA_BINARY_PACKED:
        CHUNK_CHECK(c, type != LC_PQ_INT32 && type != LC_PQ_INT64,
                    LC_EUNSUPPORTED, "DELTA_BINARY_PACKED values of type %s",
                    type_name(type));
        return decode_delta_ints(c, p, nbytes, n, dv);
    case PQ_DELTA_LENGTH_BYTE_ARRAY:
        CHUNK_CHECK(c, type != LC_PQ_BYTE_ARRAY, LC_EUNSUPPORTED,
                    "DELTA_LENGTH_BYTE_ARRAY values of type %s",
                    type_name(type));
        return decode_delta_length(c, p, nbytes, n, dv);
    case PQ_DELTA_BYTE_ARRAY:
        CHUNK_CHECK(
            c, type != LC_PQ_BYTE_ARRAY && type != LC_PQ_FIXED_LEN_BYTE_ARRAY,
            LC_EUNSUPPORTED, "DELTA_BYTE_ARRAY values of type %s",
            type_name(type));
        return decode_delta_byte_array(c, p, nbytes, n, dv);
    case PQ_BYTE_STREAM_SPLIT:
        CHUNK_CHECK(c,
                    type == LC_PQ_BOOLEAN || type == LC_PQ_BYTE_ARRAY ||
                        type == LC_PQ_INT96,
                    LC_EUNSUPPORTED, "BYTE_STREAM_SPLIT values of type %s",
                    type_name(type));
        return decode_byte_stream_split(c, p, nbytes, n, dv);
    default:
        return CHUNK_FAIL(c, LC_EUNSUPPORTED, "values encoded %s (%d)",
                          encoding_name(encoding), (int)encoding);
    }
}

/* ---- pages ---------------------------------------------------------------
 */

static int stream_codec(struct pq_chunk_ctx *c, enum lc__stream_codec *out)
{
    switch (c->meta->codec) {
    case 0:
        *out = LC_STREAM_NONE;
        return LC_OK;
    case 1:
        *out = LC_STREAM_SNAPPY;
        return LC_OK;
    case 2:
        *out = LC_STREAM_GZIP;
        return LC_OK;
    case 4:
        *out = LC_STREAM_BROTLI;
        return LC_OK;
    case 5:
        *out = LC_STREAM_LZ4_HADOOP;
        return LC_OK;
    case 6:
        *out = LC_STREAM_ZSTD;
        return LC_OK;
    case 7:
        *out = LC_STREAM_LZ4_RAW;
        return LC_OK;
    default:
        break;
    }
    return CHUNK_FAIL(c, LC_EUNSUPPORTED, "compression codec %s (%d)",
                      c->meta->codec == 3 ? "LZO" : "unknown",
                      (int)c->meta->codec);
}

/* Decompresses in[0..in_n) into the page scratch (exactly out_n bytes). */
static int decompress_to(struct pq_chunk_ctx *c, struct pq_buf *to,
                         const uint8_t *in, size_t in_n, size_t out_n,
                         const uint8_t **out_ret)
{
    struct lc__pq_reader *r = c->r;
    enum lc__stream_codec codec = LC_STREAM_NONE;

    LC_FORWARD_IF_ERROR(stream_codec(c, &codec));
    if (codec == LC_STREAM_NONE) {
        /* Uncompressed pages are used where they lie. */
        CHUNK_CHECK(c, in_n != out_n, LC_ECORRUPT,
                    "uncompressed page of %zu bytes says it holds %zu", in_n,
                    out_n);
        *out_ret = in;
        return LC_OK;
    }
    CHUNK_FORWARD(c, buf_reserve(r, to, out_n + 1, false, c->err));
    CHUNK_FORWARD(c, lc__stream_decompress(c->w->codec, codec, in, in_n, to->p,
                                           out_n, c->err));
    *out_ret = to->p;
    return LC_OK;
}

/* Decompresses in[0..in_n) into the page scratch (exactly out_n bytes),
 * or uses it where it lies when it is not compressed. */
static int decompress(struct pq_chunk_ctx *c, const uint8_t *in, size_t in_n,
                      size_t out_n, const uint8_t **out_ret)
{
    return decompress_to(c, &c->w->page, in, in_n, out_n, out_ret);
}

/* Narrows decoded levels to uint16, checking each against max. */
static int narrow_levels(struct pq_chunk_ctx *c, const uint32_t *in,
                         uint16_t *out, size_t n, unsigned max,
                         const char *what)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad |= in[i] > max ? 1u : 0u;
        out[i] = (uint16_t)in[i];
    }
    if (bad) {
        for (size_t i = 0; i < n; i++)
            CHUNK_CHECK(c, in[i] > max, LC_ECORRUPT,
                        "%s level %" PRIu32 " above the column's maximum %u",
                        what, in[i], max);
    }
    return LC_OK;
}

/*
 * Decodes n levels of max `max` from p (v1: with the encoding's framing;
 * v2: exactly nbytes of RLE, raw set). *used_ret: bytes consumed.
 */
/*
 * Whether RLE/bit-packed data q[0..len) starts with one RLE run of at
 * least n copies of max: the levels of a page without nulls, which then
 * need not be decoded.
 */
static bool one_run_of(const uint8_t *q, size_t len, size_t n, unsigned max)
{
    uint64_t header = 0;
    size_t i = 0;
    for (unsigned shift = 0; i < len && shift < 64; shift += 7) {
        uint8_t byte = q[i++];
        header |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            unsigned vbytes = (lc__pq_bit_width(max) + 7) / 8;
            if ((header & 1) != 0 || (header >> 1) < n || len - i < vbytes)
                return false;
            uint32_t v = 0;
            for (unsigned k = 0; k < vbytes; k++)
                v |= (uint32_t)q[i + k] << (8 * k);
            return v == max;
        }
    }
    return false;
}

static int decode_levels(struct pq_chunk_ctx *c, int32_t encoding, bool v2,
                         const uint8_t *p, size_t nbytes, size_t n,
                         unsigned max, struct pq_buf *dst, const char *what,
                         size_t *used_ret, bool *all_max)
{
    struct lc__pq_reader *r = c->r;
    unsigned bw = lc__pq_bit_width(max);

    /* (all_max: may the levels be left undecoded when they are all max) */
    if (all_max != NULL) {
        *all_max = false;
        if (v2 && one_run_of(p, nbytes, n, max)) {
            *used_ret = nbytes;
            *all_max = true;
            return LC_OK;
        }
        if (!v2 && encoding == PQ_RLE && nbytes >= 4 &&
            lc__load_le32(p) <= nbytes - 4 &&
            one_run_of(p + 4, lc__load_le32(p), n, max)) {
            *used_ret = 4 + (size_t)lc__load_le32(p);
            *all_max = true;
            return LC_OK;
        }
    }

    CHUNK_FORWARD(c, buf_reserve_n(r, &c->w->u32, n + 1, sizeof(uint32_t),
                                   false, c->err));
    CHUNK_FORWARD(
        c, buf_reserve_n(r, dst, n + 1, sizeof(uint16_t), false, c->err));
    uint32_t *u = (uint32_t *)(void *)c->w->u32.p;
    if (v2) {
        CHUNK_FORWARD(c, lc__pq_rle_decode(p, nbytes, bw, u, n, NULL, c->err));
        *used_ret = nbytes;
    } else if (encoding == PQ_RLE) {
        CHUNK_CHECK(c, nbytes < 4, LC_ECORRUPT,
                    "%s levels: length prefix runs past the page", what);
        size_t len = lc__load_le32(p);
        CHUNK_CHECK(c, len > nbytes - 4, LC_ECORRUPT,
                    "%s levels of %zu bytes in %zu bytes left", what, len,
                    nbytes - 4);
        CHUNK_FORWARD(c, lc__pq_rle_decode(p + 4, len, bw, u, n, NULL, c->err));
        *used_ret = 4 + len;
    } else if (encoding == PQ_BIT_PACKED) {
        CHUNK_FORWARD(
            c, lc__pq_bitpacked_decode(p, nbytes, bw, u, n, used_ret, c->err));
    } else {
        return CHUNK_FAIL(c, LC_EUNSUPPORTED, "%s levels encoded %s", what,
                          encoding_name(encoding));
    }
    return narrow_levels(c, u, (uint16_t *)(void *)dst->p, n, max, what);
}

/* Levels, values and assembly of one data page (v1 or v2). */
static int data_page(struct pq_chunk_ctx *c, const struct lc__pq_page_header *h,
                     const uint8_t *body, size_t comp, size_t uncomp)
{
    struct lc__pq_reader *r = c->r;
    struct pq_builder *b = c->b;
    bool v2 = h->type == 3;

    CHUNK_CHECK(c, h->num_values < 0, LC_ECORRUPT, "data page of %d values",
                (int)h->num_values);
    size_t n = (size_t)h->num_values;
    CHUNK_CHECK(c, n > (uint64_t)c->meta->num_values - c->seen, LC_ECORRUPT,
                "pages hold more than the %" PRId64 " values of the column "
                "chunk",
                c->meta->num_values);
    /* A flat column has one entry per row: a page of rows none of which
     * is kept is not even decompressed. */
    if (b->max_rep == 0 && c->sel != NULL && !any_kept(c->sel, c->seen, n)) {
        c->seen += n;
        return LC_OK;
    }
    /* A repeated one, once a row past the last kept one has started: the
     * rest of the chunk is all past it (its rows are taken as counted). */
    if (b->max_rep > 0 && c->row > c->end_kept) {
        c->seen += n;
        c->row = c->rows;
        return LC_OK;
    }
    const uint8_t *vals;
    size_t vals_n;
    const uint16_t *def = NULL, *rep = NULL;
    if (!v2) {
        const uint8_t *page;
        LC_FORWARD_IF_ERROR(decompress(c, body, comp, uncomp, &page));
        size_t pos = 0, used = 0;
        if (b->max_rep > 0) {
            LC_FORWARD_IF_ERROR(decode_levels(c, h->rep_encoding, false, page,
                                              uncomp, n, b->max_rep, &c->w->rep,
                                              "repetition", &used, NULL));
            pos += used;
            rep = (const uint16_t *)(const void *)c->w->rep.p;
        }
        if (b->max_def > 0) {
            bool all;
            LC_FORWARD_IF_ERROR(decode_levels(
                c, h->def_encoding, false, page + pos, uncomp - pos, n,
                b->max_def, &c->w->def, "definition", &used,
                r->keep_levels ? NULL : &all));
            pos += used;
            if (r->keep_levels || !all)
                def = (const uint16_t *)(const void *)c->w->def.p;
        }
        vals = page + pos;
        vals_n = uncomp - pos;
    } else {
        CHUNK_CHECK(c, h->rep_nbytes < 0 || h->def_nbytes < 0, LC_ECORRUPT,
                    "negative level sizes in a v2 page header");
        size_t rl = (size_t)h->rep_nbytes, dl = (size_t)h->def_nbytes;
        CHUNK_CHECK(c, rl > comp || dl > comp - rl || rl + dl > uncomp,
                    LC_ECORRUPT,
                    "v2 levels of %zu + %zu bytes in a page of %zu (%zu "
                    "uncompressed)",
                    rl, dl, comp, uncomp);
        size_t used;
        if (b->max_rep > 0) {
            LC_FORWARD_IF_ERROR(decode_levels(c, PQ_RLE, true, body, rl, n,
                                              b->max_rep, &c->w->rep,
                                              "repetition", &used, NULL));
            rep = (const uint16_t *)(const void *)c->w->rep.p;
        }
        if (b->max_def > 0) {
            bool all;
            LC_FORWARD_IF_ERROR(decode_levels(
                c, PQ_RLE, true, body + rl, dl, n, b->max_def, &c->w->def,
                "definition", &used, r->keep_levels ? NULL : &all));
            if (r->keep_levels || !all)
                def = (const uint16_t *)(const void *)c->w->def.p;
        }
        const uint8_t *in = body + rl + dl;
        size_t in_n = comp - rl - dl;
        vals_n = uncomp - rl - dl;
        if (h->is_compressed) {
            LC_FORWARD_IF_ERROR(decompress(c, in, in_n, vals_n, &vals));
        } else {
            vals = in;
            vals_n = in_n;
        }
    }
    if (rep != NULL && c->seen == 0 && n > 0)
        CHUNK_CHECK(c, rep[0] != 0, LC_ECORRUPT,
                    "column chunk starts inside a row (repetition level %u)",
                    (unsigned)rep[0]);
    /* The entries from the first row past the last kept one on are not
     * assembled, and PLAIN and dictionary values before them decode
     * without the others (the first item of a big catalogue need not
     * decode the whole first page). */
    size_t n_all = n;
    if (c->end_kept < c->rows &&
        (h->encoding == PQ_PLAIN || h->encoding == PQ_PLAIN_DICTIONARY ||
         h->encoding == PQ_RLE_DICTIONARY)) {
        if (rep == NULL) {
            /* One entry per row; some row of the page is kept (above). */
            if (c->seen + n > c->end_kept)
                n = (size_t)(c->end_kept - c->seen);
        } else {
            uint64_t row = c->row;
            for (size_t i = 0; i < n; i++) {
                if (rep[i] == 0 && row++ == c->end_kept) {
                    n = i;
                    break;
                }
            }
        }
    }
    size_t nonnull = n;
    if (def != NULL) {
        nonnull = 0;
        for (size_t i = 0; i < n; i++)
            nonnull += def[i] == b->max_def;
    }
    struct pq_dense dv;
    c->page_entries = n;
    LC_FORWARD_IF_ERROR(
        decode_values(c, h->encoding, vals, vals_n, nonnull, &dv));
    if (r->keep_levels && (def != NULL || rep != NULL) && n > 0) {
        size_t at = b->nlevels;
        if (def != NULL) {
            CHUNK_FORWARD(c, buf_reserve_n(r, &b->def_levels, at + n,
                                           sizeof(uint16_t), false, c->err));
            memcpy(b->def_levels.p + at * 2, def, n * 2);
        }
        if (rep != NULL) {
            CHUNK_FORWARD(c, buf_reserve_n(r, &b->rep_levels, at + n,
                                           sizeof(uint16_t), false, c->err));
            memcpy(b->rep_levels.p + at * 2, rep, n * 2);
        }
        b->nlevels += n;
    }
    LC_FORWARD_IF_ERROR(assemble(c, def, rep, n, &dv));
    c->seen += n_all;
    if (n < n_all && rep != NULL)
        c->row = c->rows; /* the rest: past the last kept row */
    return LC_OK;
}

/* Decodes the column chunk in buf[0..nbytes) into c->b. */
static int read_chunk(struct pq_chunk_ctx *c, const uint8_t *buf, size_t nbytes)
{
    struct lc__pq_reader *r = c->r;
    const struct lc__parquet_limits *lim = &r->lim;
    size_t pos = 0;
    char where[LC_ERRMSG_CAP / 2];

    /* Thrift errors name the file, row group and column. */
    snprintf(where, sizeof(where), "%s: row group %zu, column '%s'", c->f->name,
             c->rg, c->col->path);
    CHUNK_CHECK(c, (uint64_t)c->meta->num_values > lim->max_chunk_values,
                LC_ELIMIT,
                "column chunk of %" PRId64 " values (limit %" PRIu64 ")",
                c->meta->num_values, lim->max_chunk_values);
    /* A column without repetition has one level entry per row. */
    int64_t rows = c->f->meta.row_groups[c->rg].num_rows;
    CHUNK_CHECK(
        c, c->b->max_rep == 0 && c->meta->num_values != rows, LC_ECORRUPT,
        "column chunk of %" PRId64 " values in a row group of %" PRId64 " rows",
        c->meta->num_values, rows);
    while (pos < nbytes && c->seen < (uint64_t)c->meta->num_values) {
        struct lc__pq_page_header h;
        c->page_offset = c->offset + pos;
        struct lc__thrift t = {
            .p = buf + pos,
            .end = buf + nbytes,
            .base = buf + pos,
            .base_offset = c->page_offset,
            .max_depth = lim->max_thrift_depth,
            .max_string = lim->max_string_nbytes,
            .name = where,
            .where = "page header",
            .err = c->err,
        };
        LC_FORWARD_IF_ERROR(lc__pq_parse_page_header(&t, &h));
        size_t hdr_n = (size_t)(t.p - (buf + pos));
        pos += hdr_n;
        CHUNK_CHECK(c,
                    h.compressed_page_size < 0 || h.uncompressed_page_size < 0,
                    LC_ECORRUPT, "negative page size (%d, %d)",
                    (int)h.compressed_page_size, (int)h.uncompressed_page_size);
        size_t comp = (size_t)h.compressed_page_size;
        size_t uncomp = (size_t)h.uncompressed_page_size;
        CHUNK_CHECK(c, comp > nbytes - pos, LC_ECORRUPT,
                    "page of %zu bytes overruns the column chunk (%zu bytes "
                    "left)",
                    comp, nbytes - pos);
        CHUNK_CHECK(
            c, comp > lim->max_page_nbytes || uncomp > lim->max_page_nbytes,
            LC_ELIMIT,
            "page of %zu bytes (%zu uncompressed) exceeds max_page_nbytes "
            "(%zu)" LC__PQ_RAISE_HINT("max_page_nbytes"),
            comp, uncomp, lim->max_page_nbytes);
        const uint8_t *body = buf + pos;
        switch (h.type) {
        case 2: {
            CHUNK_CHECK(c, c->has_dict || c->seen > 0, LC_ECORRUPT,
                        "dictionary page after the first page");
            /* The data pages reuse the page scratch: a dictionary is
             * decompressed where it stays (or used where it lies). */
            struct pq_buf *to = &c->w->dict_data;
            if (c->col->type == LC_PQ_BOOLEAN)
                to = &c->w->page; /* unpacked into dict_values */
            const uint8_t *page;
            LC_FORWARD_IF_ERROR(
                decompress_to(c, to, body, comp, uncomp, &page));
            LC_FORWARD_IF_ERROR(
                decode_dictionary(c, h.encoding, page, uncomp, h.num_values));
            break;
        }
        case 0:
        case 3:
            LC_FORWARD_IF_ERROR(data_page(c, &h, body, comp, uncomp));
            break;
        default:
            break; /* index pages and unknown types are skipped */
        }
        pos += comp;
    }
    c->page_offset = c->offset + pos;
    CHUNK_CHECK(c, c->seen != (uint64_t)c->meta->num_values, LC_ECORRUPT,
                "column chunk ends after %" PRIu64 " of its %" PRId64 " values",
                c->seen, c->meta->num_values);
    return LC_OK;
}

/* ---- the reader ----------------------------------------------------------
 */

static int worker_init(struct lc__pq_reader *r, struct pq_worker *w)
{
    return lc__codec_ctx_new(&r->alloc, &w->codec);
}

static void worker_free(struct lc__pq_reader *r, struct pq_worker *w)
{
    struct pq_buf *scratch[] = {
        &w->page,        &w->u32,        &w->def,   &w->rep,
        &w->dense,       &w->spans,      &w->lens,  &w->u64,
        &w->dict_values, &w->dict_spans, &w->bytes, &w->dict_data,
    };
    for (size_t i = 0; i < LC_ARRAY_SIZE(scratch); i++)
        buf_free(r, scratch[i]);
    lc__codec_ctx_free(w->codec);
    w->codec = NULL;
}

static void set_free(struct lc__pq_reader *r, struct pq_builder *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < r->ncols; i++)
        builder_free(r, &set[i]);
    lc__free(&r->alloc, set);
}

static void bank_join(struct pq_bank *bank);

void lc__pq_reader_free(struct lc__pq_reader *r)
{
    if (r == NULL)
        return;
    for (unsigned k = 0; k < 2; k++) {
        struct pq_bank *bank = &r->banks[k];
        bank_join(bank);
        for (unsigned u = 0; u < PQ_MAX_THREADS; u++) {
            if (bank->sets[u] != r->b)
                set_free(r, bank->sets[u]);
            buf_free(r, &bank->units[u].chunks);
            buf_free(r, &bank->units[u].chunk_at);
            buf_free(r, &bank->units[u].constants);
        }
        buf_free(r, &bank->tasks);
    }
    set_free(r, r->b);
    for (unsigned k = 0; k < r->nworkers; k++)
        worker_free(r, &r->w[k]);
    buf_free(r, &r->reqs);
    lc__free(&r->alloc, r->view_arrays);
    lc__free(&r->alloc, r->view_levels);
    struct lc_allocator alloc = r->alloc;
    lc__free(&alloc, r);
}

unsigned lc__pq_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > PQ_MAX_THREADS ? PQ_MAX_THREADS : (unsigned)n;
}

/* Builder set k of a bank, made like the table's on first use. */
static int get_set(struct lc__pq_reader *r, struct pq_bank *bank, unsigned k,
                   struct lc__errbuf *err)
{
    if (bank->sets[k] != NULL)
        return LC_OK;
    if (r->direct) {
        bank->sets[k] = r->b;
        return LC_OK;
    }
    struct pq_builder *set = lc__calloc(&r->alloc, r->ncols + 1, sizeof(*set));
    LC_RETURN_IF(set == NULL, err, LC_ENOMEM, "parquet: out of memory");
    bank->sets[k] = set;
    for (size_t i = 0; i < r->ncols; i++) {
        const struct pq_builder *like = &r->b[i];
        LC_FORWARD_IF_ERROR(builder_init(
            r, &set[i], r->f0, like->const_name != NULL ? NULL : like->col,
            like->const_name, err));
    }
    return LC_OK;
}

int lc__pq_reader_new(const struct lc__parquet_file *f,
                      const struct lc__parquet_column *const *cols,
                      const char *const *const_names, size_t ncolumns,
                      bool keep_levels, unsigned nthreads,
                      struct lc__pq_reader **reader_ret, struct lc__errbuf *err)
{
    *reader_ret = NULL;
    struct lc__pq_reader *r = lc__calloc(&f->alloc, 1, sizeof(*r));
    LC_RETURN_IF(r == NULL, err, LC_ENOMEM, "%s: out of memory", f->name);
    r->alloc = f->alloc;
    r->lim = f->lim;
    r->keep_levels = keep_levels;
    r->f0 = f;
    atomic_init(&r->used, 0);
    atomic_init(&r->banks[0].next, 0);
    atomic_init(&r->banks[1].next, 0);
    if (nthreads == 0)
        nthreads = lc__pq_default_threads();
    r->nthreads = nthreads > PQ_MAX_THREADS ? PQ_MAX_THREADS : nthreads;
    /* Raw levels are kept per column in row order: one row group at a
     * time, then. */
    r->direct = keep_levels || r->nthreads <= 1;
    r->batch = r->direct ? 1 : r->nthreads;
    r->b = lc__calloc(&r->alloc, ncolumns + 1, sizeof(*r->b));
    int status = LC_OK;
    if (r->b == NULL) {
        status = lc__error(err, LC_ENOMEM, "%s: out of memory", f->name);
        goto fail;
    }
    r->ncols = ncolumns;
    status = worker_init(r, &r->w[0]);
    if (status < 0) {
        status = lc__error(err, status, "%s: out of memory", f->name);
        goto fail;
    }
    r->nworkers = 1;
    for (size_t i = 0; i < ncolumns; i++) {
        status = builder_init(r, &r->b[i], f, cols[i],
                              cols[i] == NULL ? const_names[i] : NULL, err);
        if (status < 0)
            goto fail;
    }
    *reader_ret = r;
    return LC_OK;
fail:
    lc__pq_reader_free(r);
    return status;
}

/* Empties a builder, keeping its memory. */
static void builder_reset(struct pq_builder *b)
{
    for (size_t i = 0; i < b->depth; i++) {
        struct pq_blevel *l = &b->lv[i];
        if (l->optional && b->count[l->space] > 0)
            memset(l->bits.p, 0, (b->count[l->space] + 7) / 8);
        l->nulls = 0;
        l->offsets.n = 0;
    }
    for (unsigned sp = 0; sp < b->nspaces; sp++)
        b->count[sp] = 0;
    b->data.n = 0;
    b->nlevels = 0;
}

/*
 * Appends the slots of builder s to those of d (same column): validity
 * bits and list offsets of every level (offsets shifted by the slots d
 * already has in the space they index), values, bytes.
 */
static int builder_append(struct lc__pq_reader *r, struct pq_builder *d,
                          const struct pq_builder *s, struct lc__errbuf *err)
{
    size_t most = 0;
    for (unsigned sp = 0; sp < s->nspaces; sp++)
        most = s->count[sp] > most ? s->count[sp] : most;
    LC_FORWARD_IF_ERROR(builder_reserve(r, d, most, err));
    for (size_t i = 0; i < d->depth; i++) {
        struct pq_blevel *l = &d->lv[i];
        const struct pq_blevel *m = &s->lv[i];
        size_t at = d->count[l->space], n = s->count[l->space];
        if (l->optional) {
            if (m->nulls == 0) {
                set_bits(l, at, n);
            } else {
                for (size_t k = 0; k < n; k++)
                    if (lc__parquet_bit(m->bits.p, k))
                        l->bits.p[(at + k) >> 3] |=
                            (uint8_t)(1u << ((at + k) & 7));
            }
            l->nulls += m->nulls;
        }
        if (l->repeated) {
            size_t add = m->offsets.n / sizeof(size_t);
            LC_FORWARD_IF_ERROR(buf_reserve(
                r, &l->offsets, l->offsets.n + m->offsets.n + 1, false, err));
            size_t *dst = (size_t *)(void *)(l->offsets.p + l->offsets.n);
            const size_t *src = (const size_t *)(const void *)m->offsets.p;
            for (size_t k = 0; k < add; k++)
                dst[k] = src[k] + at;
            l->offsets.n += m->offsets.n;
        }
    }
    size_t leaf = d->count[d->nspaces - 1], n = s->count[s->nspaces - 1];
    if (d->value_nbytes > 0) {
        if (n > 0)
            memcpy(d->values.p + leaf * d->value_nbytes, s->values.p,
                   n * d->value_nbytes);
    } else {
        LC_FORWARD_IF_ERROR(
            buf_reserve(r, &d->data, d->data.n + s->data.n + 1, false, err));
        size_t *off = (size_t *)(void *)d->boffsets.p + leaf;
        const size_t *soff = (const size_t *)(const void *)s->boffsets.p;
        for (size_t k = 1; k <= n; k++)
            off[k] = off[0] + soff[k];
        if (s->data.n > 0)
            memcpy(d->data.p + d->data.n, s->data.p, s->data.n);
        d->data.n += s->data.n;
    }
    for (unsigned sp = 0; sp < d->nspaces; sp++)
        d->count[sp] += s->count[sp];
    return LC_OK;
}

/* Appends rows copies of a constant string to a constant column. */
static int add_constant(struct lc__pq_reader *r, struct pq_builder *b,
                        const char *value, size_t rows, struct lc__errbuf *err)
{
    size_t len = strlen(value), total;

    if (!lc__size_mul(len, rows, &total))
        return budget_error(r, err);
    LC_FORWARD_IF_ERROR(builder_reserve(r, b, rows, err));
    LC_FORWARD_IF_ERROR(
        buf_reserve(r, &b->data, b->data.n + total, false, err));
    size_t *off = (size_t *)(void *)b->boffsets.p;
    size_t at = b->count[0];
    for (size_t i = 0; i < rows; i++) {
        memcpy(b->data.p + b->data.n, value, len);
        b->data.n += len;
        off[at + i + 1] = off[at + i] + len;
    }
    b->count[0] += rows;
    return LC_OK;
}

/* Where a column chunk lies: from its dictionary page if it has one. */
static void chunk_range(const struct lc__pq_chunk *ch, uint64_t *start_ret,
                        uint64_t *len_ret)
{
    uint64_t start = (uint64_t)ch->data_page_offset;

    /* Some writers store 0 for "no dictionary". */
    if (ch->has_dictionary_page_offset && ch->dictionary_page_offset > 0 &&
        (uint64_t)ch->dictionary_page_offset < start)
        start = (uint64_t)ch->dictionary_page_offset;
    *start_ret = start;
    *len_ret = (uint64_t)ch->total_compressed_size;
}

int lc__parquet_chunk_info(const struct lc__parquet_file *f, size_t rg,
                           size_t column,
                           struct lc__parquet_chunk_info *info_ret)
{
    if (f == NULL || info_ret == NULL || rg >= f->meta.nrow_groups ||
        column >= f->ncolumns)
        return LC_EINVAL;
    const struct lc__pq_chunk *ch = &f->meta.row_groups[rg].columns[column];
    memset(info_ret, 0, sizeof(*info_ret));
    info_ret->codec = ch->codec;
    chunk_range(ch, &info_ret->offset, &info_ret->nbytes);
    info_ret->uncompressed_nbytes = (uint64_t)ch->total_uncompressed_size;
    info_ret->num_values = (uint64_t)ch->num_values;
    return LC_OK;
}

/* Decodes one column chunk of a bank with worker w. */
static int decode_task(struct lc__pq_reader *r, struct pq_bank *bank,
                       struct pq_worker *w, const struct pq_task *t,
                       struct lc__errbuf *err)
{
    const struct pq_unit *u = &bank->units[t->unit];
    struct pq_builder *b = &bank->sets[t->unit][t->col];
    size_t leaf = u->leaves[t->col];
    struct pq_chunk_ctx c = {
        .r = r,
        .w = w,
        .f = u->f,
        .b = b,
        .col = &u->f->columns[leaf],
        .meta = &u->f->meta.row_groups[u->rg].columns[leaf],
        .rg = u->rg,
        .offset = t->start,
        .page_offset = t->start,
        .sel = u->sel,
        .rows = u->rows,
        .end_kept = u->end_kept,
        .err = err,
    };
    size_t before = b->count[0];
    LC_FORWARD_IF_ERROR(read_chunk(&c, t->buf, (size_t)t->len));
    /* A repeated column counts its rows as it goes (c.row); a flat one
     * has one entry per row, which read_chunk checked. */
    LC_RETURN_IF(b->max_rep > 0 && c.row != u->rows, err, LC_ECORRUPT,
                 "%s: row group %zu, column '%s' holds %" PRIu64 " rows, the "
                 "row group %zu",
                 u->f->name, u->rg, c.col->path, c.row, u->rows);
    LC_RETURN_IF(b->count[0] - before != u->kept, err, LC_ECORRUPT,
                 "%s: row group %zu, column '%s' holds %zu rows, the row "
                 "group %zu",
                 u->f->name, u->rg, c.col->path, b->count[0] - before, u->rows);
    return LC_OK;
}

/* Takes the bank's tasks one by one until none is left. */
static void *work(void *arg)
{
    struct pq_thread *th = arg;
    struct pq_bank *bank = th->bank;
    struct pq_task *tasks = (struct pq_task *)(void *)bank->tasks.p;
    for (;;) {
        size_t i = atomic_fetch_add(&bank->next, 1);
        if (i >= bank->ntasks)
            break;
        tasks[i].status =
            decode_task(th->r, bank, th->w, &tasks[i], &tasks[i].err);
    }
    return NULL;
}

/* Tasks largest first, so that the last ones to start are short. */
static int by_size(const void *a, const void *b)
{
    const struct pq_task *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? 1 : -1;
    if (x->unit != y->unit)
        return x->unit < y->unit ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* Whether task x comes before task y in the order of a serial read. */
static bool before(const struct pq_task *x, const struct pq_task *y)
{
    return x->unit != y->unit ? x->unit < y->unit : x->col < y->col;
}

/* Waits for a bank's threads, and sets its status: that of the first
 * failing task in the order of a serial read. */
static void bank_join(struct pq_bank *bank)
{
    if (!bank->running)
        return;
    for (unsigned k = 0; k < bank->nstarted; k++)
        pthread_join(bank->tid[k], NULL);
    bank->running = false;
    const struct pq_task *tasks = (const struct pq_task *)(void *)bank->tasks.p;
    const struct pq_task *failed = NULL;
    for (size_t i = 0; i < bank->ntasks; i++)
        if (tasks[i].status < 0 &&
            (failed == NULL || before(&tasks[i], failed)))
            failed = &tasks[i];
    if (failed != NULL) {
        bank->status = failed->status;
        bank->err = failed->err;
    }
}

/* Decodes what is left of a bank's tasks on this thread too, joins the
 * bank and returns its status (err: its message). */
static int bank_wait(struct lc__pq_reader *r, struct pq_bank *bank,
                     struct lc__errbuf *err)
{
    if (bank->running) {
        struct pq_thread self = {r, bank, &r->w[0]};
        work(&self);
    }
    bank_join(bank);
    if (bank->status < 0 && err != NULL)
        *err = bank->err;
    return bank->status;
}

/* Below this many bytes of chunks, a batch is decoded on the calling
 * thread alone: starting threads would cost more than they save. Chunks
 * decode to many times their size (dictionaries expand, every value is
 * copied into fresh memory): decoding the 10k-item bench catalogue's 200
 * KB of chunks is about half of its 28 ms load in a fresh process, and
 * open() of it gains 2-3 ms from a second thread. */
#define PQ_PARALLEL_MIN_NBYTES ((size_t)64 * 1024)

/*
 * Starts decoding a bank: on up to r->nthreads threads (each column chunk
 * on one of them, with a worker of its own, into a builder no other task
 * touches), or, for a small batch (or a direct read), on the calling
 * thread in order (row group, then column), stopping at the first error.
 * Either way every builder receives the same values. The constant
 * columns are filled first, on the calling thread.
 */
static int bank_launch(struct lc__pq_reader *r, struct pq_bank *bank,
                       struct lc__errbuf *err)
{
    unsigned n = bank->nunits;
    size_t ntasks = 0, total = 0;
    bank->status = LC_OK;
    LC_FORWARD_IF_ERROR(buf_reserve_n(r, &bank->tasks, n * r->ncols + 1,
                                      sizeof(struct pq_task), false, err));
    struct pq_task *tasks = (void *)bank->tasks.p;
    for (unsigned k = 0; k < n; k++) {
        struct pq_unit *u = &bank->units[k];
        const size_t *at = (const size_t *)(const void *)u->chunk_at.p;
        const char *const *consts =
            (const char *const *)(const void *)u->constants.p;
        for (size_t i = 0; i < r->ncols; i++) {
            struct pq_builder *b = &bank->sets[k][i];
            if (b->const_name != NULL) {
                LC_FORWARD_IF_ERROR(
                    add_constant(r, b, consts[i], u->kept, err));
                continue;
            }
            uint64_t start, len;
            chunk_range(&u->f->meta.row_groups[u->rg].columns[u->leaves[i]],
                        &start, &len);
            tasks[ntasks++] = (struct pq_task){.unit = k,
                                               .col = i,
                                               .start = start,
                                               .len = len,
                                               .buf = u->chunks.p + at[i]};
        }
        total += u->total;
    }
    bank->ntasks = ntasks;
    /* nthreads - 1 threads: the calling thread is the last decoder once
     * it has nothing else to do (bank_wait). */
    unsigned nw = r->nthreads - 1;
    if (nw > ntasks)
        nw = (unsigned)ntasks;
    if (nw > PQ_MAX_THREADS - 1)
        nw = PQ_MAX_THREADS - 1;
    if (r->direct || total < PQ_PARALLEL_MIN_NBYTES)
        nw = 0;
    while (r->nworkers < nw + 1) {
        if (worker_init(r, &r->w[r->nworkers]) < 0) {
            worker_free(r, &r->w[r->nworkers]);
            break; /* fewer threads, then */
        }
        r->nworkers++;
    }
    if (nw + 1 > r->nworkers)
        nw = r->nworkers - 1;
    if (nw > 0) {
        qsort(tasks, ntasks, sizeof *tasks, by_size);
        for (size_t i = 0; i < ntasks; i++)
            tasks[i].status = LC_OK;
        atomic_store(&bank->next, 0);
        bank->nstarted = 0;
        for (unsigned k = 0; k < nw; k++) {
            /* (worker 0 is the calling thread's) */
            bank->th[k] = (struct pq_thread){r, bank, &r->w[k + 1]};
            if (pthread_create(&bank->tid[bank->nstarted], NULL, work,
                               &bank->th[k]) == 0)
                bank->nstarted++;
        }
        if (bank->nstarted > 0) {
            bank->running = true;
            return LC_OK;
        }
    }
    /* On this thread. */
    for (size_t i = 0; i < ntasks; i++) {
        bank->status = decode_task(r, bank, &r->w[0], &tasks[i], &bank->err);
        if (bank->status < 0)
            break;
    }
    return LC_OK;
}

/* Rows of a row group of n rows that sel keeps. */
static size_t count_kept(const uint8_t *sel, size_t n)
{
    if (sel == NULL)
        return n;
    size_t kept = 0;
    for (size_t k = 0; k < n / 8; k++)
        kept += (size_t)__builtin_popcount(sel[k]);
    for (size_t k = n / 8 * 8; k < n; k++)
        kept += row_kept(sel, k);
    return kept;
}

/* The builders of a set as a table of the rows they hold, borrowing their
 * memory (closing offsets pushed); the set must be emptied after. */
static int view_set(struct lc__pq_reader *r, struct pq_builder *set,
                    struct lc__parquet_table *view, struct lc__errbuf *err)
{
    size_t nlevels = 0;
    for (size_t i = 0; i < r->ncols; i++)
        nlevels += set[i].depth;
    if (r->view_arrays == NULL) {
        r->view_arrays =
            lc__calloc(&r->alloc, r->ncols + 1, sizeof(*r->view_arrays));
        r->view_levels =
            lc__calloc(&r->alloc, nlevels + 1, sizeof(*r->view_levels));
        LC_RETURN_IF(r->view_arrays == NULL || r->view_levels == NULL, err,
                     LC_ENOMEM, "parquet: out of memory");
    }
    struct lc__parquet_level *lv = r->view_levels;
    for (size_t i = 0; i < r->ncols; i++) {
        struct pq_builder *b = &set[i];
        struct lc__parquet_array *a = &r->view_arrays[i];
        memset(a, 0, sizeof(*a));
        a->column = b->const_name != NULL ? &b->const_col : b->col;
        a->depth = b->depth;
        a->levels = lv;
        a->nrows = b->count[0];
        for (size_t d = 0; d < b->depth; d++) {
            struct pq_blevel *l = &b->lv[d];
            lv[d] = (struct lc__parquet_level){.length = b->count[l->space]};
            if (l->repeated) {
                LC_FORWARD_IF_ERROR(buf_reserve(
                    r, &l->offsets, l->offsets.n + sizeof(size_t), false, err));
                push_offset(b, l->space);
                lv[d].offsets = (const size_t *)(const void *)l->offsets.p;
            }
            if (l->optional && l->nulls > 0) {
                lv[d].null_count = l->nulls;
                lv[d].validity = l->bits.p;
            }
        }
        lv += b->depth;
        a->nvalues = b->count[b->nspaces - 1];
        a->value_nbytes = b->value_nbytes;
        if (b->value_nbytes > 0) {
            a->values = b->values.p;
        } else {
            a->offsets = (const size_t *)(const void *)b->boffsets.p;
            a->data = b->data.p;
            a->data_nbytes = b->data.n;
        }
    }
    view->nrows = r->ncols > 0 ? set[0].count[0] : 0;
    view->ncolumns = r->ncols;
    view->columns = r->view_arrays;
    return LC_OK;
}

/*
 * Hands over the rows of a decoded bank, in order: each set appended to
 * the table and emptied (a direct read decoded into the table already),
 * or shown to the visitor and emptied.
 */
static int bank_consume(struct lc__pq_reader *r, struct pq_bank *bank,
                        struct lc__errbuf *err)
{
    unsigned n = bank->nunits;
    bank->nunits = 0;
    for (unsigned k = 0; k < n; k++) {
        struct pq_builder *set = bank->sets[k];
        if (r->visit != NULL) {
            struct lc__parquet_table view;
            if (r->ncols == 0)
                view = (struct lc__parquet_table){bank->units[k].kept, 0, NULL};
            else
                LC_FORWARD_IF_ERROR(view_set(r, set, &view, err));
            LC_FORWARD_IF_ERROR(r->visit(r->visit_opaque, &view,
                                         bank->units[k].tag, bank->units[k].rg,
                                         err));
            for (size_t i = 0; i < r->ncols; i++)
                builder_reset(&set[i]);
        } else if (set != r->b) {
            for (size_t i = 0; i < r->ncols; i++) {
                LC_FORWARD_IF_ERROR(builder_append(r, &r->b[i], &set[i], err));
                builder_reset(&set[i]);
            }
        }
        r->nrows += bank->units[k].kept;
    }
    return LC_OK;
}

/*
 * The bank being filled is full (or the read is ending): waits for the
 * other bank's decode, starts this one's, and, while it runs, consumes
 * the other. With `last`, also waits for this one and consumes it.
 */
static int cycle(struct lc__pq_reader *r, bool last, struct lc__errbuf *err)
{
    struct pq_bank *x = &r->banks[r->cur], *y = &r->banks[r->cur ^ 1];
    if (r->direct) {
        /* One bank, decoded on this thread into the table: at once. */
        if (x->nunits == 0)
            return LC_OK;
        LC_FORWARD_IF_ERROR(bank_launch(r, x, err));
        LC_FORWARD_IF_ERROR(bank_wait(r, x, err));
        return bank_consume(r, x, err);
    }
    LC_FORWARD_IF_ERROR(bank_wait(r, y, err));
    if (x->nunits > 0)
        LC_FORWARD_IF_ERROR(bank_launch(r, x, err));
    int status = bank_consume(r, y, err);
    r->cur ^= 1;
    if (status < 0 || !last)
        return status;
    LC_FORWARD_IF_ERROR(bank_wait(r, x, err));
    return bank_consume(r, x, err);
}

/* Fetches row group rg of f into the next unit of the bank being filled
 * (lc__pq_reader_add). */
static int fetch(struct lc__pq_reader *r, struct lc__parquet_file *f, size_t rg,
                 const size_t *leaves, const char *const *constants,
                 const uint8_t *rows_kept, size_t tag, struct lc__errbuf *err)
{
    const struct lc__pq_row_group *g = &f->meta.row_groups[rg];
    size_t rows = (size_t)g->num_rows;

    LC_RETURN_IF((uint64_t)g->num_rows > SIZE_MAX - r->nrows, err, LC_ELIMIT,
                 "%s: too many rows", f->name);
    LC_RETURN_IF(rows_kept != NULL && r->keep_levels, err, LC_EINVAL,
                 "%s: a row selection cannot keep levels", f->name);
    struct pq_bank *bank = &r->banks[r->cur];
    unsigned k = bank->nunits;
    LC_FORWARD_IF_ERROR(get_set(r, bank, k, err));
    struct pq_unit *u = &bank->units[k];
    u->f = f;
    u->rg = rg;
    u->tag = tag;
    u->leaves = leaves;
    u->sel = rows_kept;
    u->rows = rows;
    u->kept = count_kept(rows_kept, rows);
    u->end_kept = last_kept(rows_kept, rows);
    /* The ranges of the projected chunks, read all at once. */
    LC_FORWARD_IF_ERROR(buf_reserve_n(r, &r->reqs, r->ncols + 1,
                                      sizeof(struct lc_range_request), false,
                                      err));
    LC_FORWARD_IF_ERROR(buf_reserve_n(r, &u->chunk_at, r->ncols + 1,
                                      sizeof(size_t), false, err));
    LC_FORWARD_IF_ERROR(buf_reserve_n(r, &u->constants, r->ncols + 1,
                                      sizeof(char *), false, err));
    struct lc_range_request *reqs = (void *)r->reqs.p;
    size_t *at = (size_t *)(void *)u->chunk_at.p;
    const char **consts = (const char **)(void *)u->constants.p;
    size_t nreqs = 0, total = 0;
    for (size_t i = 0; i < r->ncols; i++) {
        if (r->b[i].const_name != NULL) {
            consts[i] = constants[i];
            continue;
        }
        const struct lc__pq_chunk *ch = &g->columns[leaves[i]];
        const char *path = f->columns[leaves[i]].path;
        uint64_t start, len;
        chunk_range(ch, &start, &len);
        LC_RETURN_IF(len > r->lim.max_chunk_nbytes, err, LC_ELIMIT,
                     "%s: row group %zu, column '%s': chunk of %" PRIu64
                     " bytes exceeds max_chunk_nbytes (%zu)" LC__PQ_RAISE_HINT(
                         "max_chunk_nbytes"),
                     f->name, rg, path, len, r->lim.max_chunk_nbytes);
        LC_RETURN_IF(start > f->file_nbytes || len > f->file_nbytes - start,
                     err, LC_ECORRUPT,
                     "%s: row group %zu, column '%s': chunk at bytes %" PRIu64
                     "+%" PRIu64 " reaches past the end of the file (%" PRIu64
                     " bytes)",
                     f->name, rg, path, start, len, f->file_nbytes);
        at[i] = total;
        LC_RETURN_IF(!lc__size_add(total, (size_t)len, &total), err, LC_ELIMIT,
                     "%s: chunks too large", f->name);
    }
    LC_FORWARD_IF_ERROR(buf_reserve(r, &u->chunks, total + 1, false, err));
    u->total = total;
    for (size_t i = 0; i < r->ncols; i++) {
        if (r->b[i].const_name != NULL)
            continue;
        uint64_t start, len;
        chunk_range(&g->columns[leaves[i]], &start, &len);
        if (len == 0)
            continue;
        reqs[nreqs++] = (struct lc_range_request){
            .offset = start, .nbytes = (size_t)len, .buf = u->chunks.p + at[i]};
    }
    if (nreqs > 0)
        LC_FORWARD_IF_ERROR(
            f->src.read(f->src.opaque, reqs, nreqs, false, err));
    bank->nunits++;
    return LC_OK;
}

int lc__pq_reader_add(struct lc__pq_reader *r, struct lc__parquet_file *f,
                      size_t rg, const size_t *leaves,
                      const char *const *constants, const uint8_t *rows_kept,
                      size_t tag, struct lc__errbuf *err)
{
    int status = fetch(r, f, rg, leaves, constants, rows_kept, tag, err);
    if (status < 0) {
        /* The row groups decoding meanwhile come first: their error, if
         * any, is the one to report. */
        struct pq_bank *other = &r->banks[r->cur ^ 1];
        struct lc__errbuf earlier = {0};
        if (bank_wait(r, other, &earlier) < 0) {
            if (err != NULL)
                *err = earlier;
            return other->status;
        }
        return status;
    }
    if (r->banks[r->cur].nunits == r->batch)
        return cycle(r, false, err);
    return LC_OK;
}

int lc__pq_reader_flush(struct lc__pq_reader *r, struct lc__errbuf *err)
{
    return cycle(r, true, err);
}

void lc__pq_reader_set_visitor(struct lc__pq_reader *r, lc__parquet_visit visit,
                               void *opaque)
{
    r->visit = visit;
    r->visit_opaque = opaque;
}

/* ---- tables --------------------------------------------------------------
 */

struct pq_table {
    struct lc__parquet_table pub;
    struct lc_allocator alloc;
    size_t ncols;
    struct lc__parquet_array *arrays;
    struct lc__parquet_level *levels;
    struct lc__parquet_column *const_cols; /* [ncols], constants only */
    char **const_names;                    /* [ncols] */
};

/* Frees memory the public structs expose as const. */
static void free_const(const struct lc_allocator *a, const void *p)
{
    lc__free(a, (void *)(uintptr_t)p);
}

void lc__parquet_table_free(struct lc__parquet_table *pub)
{
    if (pub == NULL)
        return;
    struct pq_table *t = LC_CONTAINER_OF(pub, struct pq_table, pub);
    const struct lc_allocator *a = &t->alloc;
    if (t->arrays != NULL) {
        for (size_t i = 0; i < t->ncols; i++) {
            struct lc__parquet_array *ar = &t->arrays[i];
            for (size_t k = 0; ar->levels != NULL && k < ar->depth; k++) {
                free_const(a, ar->levels[k].validity);
                free_const(a, ar->levels[k].offsets);
            }
            free_const(a, ar->values);
            free_const(a, ar->offsets);
            free_const(a, ar->data);
            free_const(a, ar->def_levels);
            free_const(a, ar->rep_levels);
        }
    }
    if (t->const_names != NULL) {
        for (size_t i = 0; i < t->ncols; i++)
            lc__free(a, t->const_names[i]);
    }
    lc__free(a, t->const_names);
    lc__free(a, t->const_cols);
    lc__free(a, t->levels);
    lc__free(a, t->arrays);
    struct lc_allocator alloc = t->alloc;
    lc__free(&alloc, t);
}

/* Takes a buffer's memory (NULL when empty and not needed). */
static void *take(struct pq_buf *b)
{
    void *p = b->p;
    b->p = NULL;
    b->n = b->cap = 0;
    return p;
}

int lc__pq_reader_finish(struct lc__pq_reader *r,
                         struct lc__parquet_table **table_ret,
                         struct lc__errbuf *err)
{
    *table_ret = NULL;
    int flushed = cycle(r, true, err);
    if (flushed < 0) {
        lc__pq_reader_free(r);
        return flushed;
    }
    size_t nlevels = 0;
    for (size_t i = 0; i < r->ncols; i++) {
        struct pq_builder *b = &r->b[i];
        nlevels += b->depth;
        /* Room for the last offset of each list (a read of no rows has
         * allocated nothing yet). */
        for (size_t k = 0; k < b->depth; k++) {
            struct pq_buf *o = &b->lv[k].offsets;
            int status =
                b->lv[k].repeated
                    ? buf_reserve(r, o, o->n + sizeof(size_t), false, err)
                    : LC_OK;
            if (status < 0) {
                lc__pq_reader_free(r);
                return status;
            }
        }
    }
    struct pq_table *t = lc__calloc(&r->alloc, 1, sizeof(*t));
    if (t != NULL) {
        t->alloc = r->alloc;
        t->ncols = r->ncols;
        t->arrays = lc__calloc(&r->alloc, r->ncols + 1, sizeof(*t->arrays));
        t->levels = lc__calloc(&r->alloc, nlevels + 1, sizeof(*t->levels));
        t->const_cols =
            lc__calloc(&r->alloc, r->ncols + 1, sizeof(*t->const_cols));
        t->const_names =
            lc__calloc(&r->alloc, r->ncols + 1, sizeof(*t->const_names));
    }
    if (t == NULL || t->arrays == NULL || t->levels == NULL ||
        t->const_cols == NULL || t->const_names == NULL) {
        lc__parquet_table_free(t == NULL ? NULL : &t->pub);
        lc__pq_reader_free(r);
        return lc__error(err, LC_ENOMEM, "parquet: out of memory");
    }
    struct lc__parquet_level *lv = t->levels;
    for (size_t i = 0; i < r->ncols; i++) {
        struct pq_builder *b = &r->b[i];
        struct lc__parquet_array *a = &t->arrays[i];
        a->column = b->col;
        if (b->const_name != NULL) {
            t->const_cols[i] = b->const_col;
            t->const_names[i] = b->const_name;
            b->const_name = NULL;
            t->const_cols[i].path = t->const_names[i];
            t->const_cols[i].path_parts =
                (const char *const *)&t->const_names[i];
            a->column = &t->const_cols[i];
        }
        a->depth = b->depth;
        a->levels = lv;
        a->nrows = r->nrows;
        for (size_t k = 0; k < b->depth; k++) {
            struct pq_blevel *l = &b->lv[k];
            lv[k].length = b->count[l->space];
            if (l->repeated) {
                /* The last offset closes the last parent slot. */
                push_offset(b, l->space);
                lv[k].offsets = take(&l->offsets);
            }
            if (l->optional && l->nulls > 0) {
                lv[k].null_count = l->nulls;
                lv[k].validity = take(&l->bits);
            }
        }
        lv += b->depth;
        a->nvalues = b->count[b->nspaces - 1];
        a->value_nbytes = b->value_nbytes;
        if (b->value_nbytes > 0) {
            a->values = take(&b->values);
        } else {
            a->offsets = take(&b->boffsets);
            a->data_nbytes = b->data.n;
            a->data = take(&b->data);
        }
        a->nlevels = b->nlevels;
        a->def_levels = take(&b->def_levels);
        a->rep_levels = take(&b->rep_levels);
    }
    t->pub.nrows = r->nrows;
    t->pub.ncolumns = r->ncols;
    t->pub.columns = t->arrays;
    lc__pq_reader_free(r);
    *table_ret = &t->pub;
    return LC_OK;
}

void lc__pq_reader_plan(struct lc__pq_reader *r,
                        const struct lc__parquet_file *f, size_t rg,
                        const size_t *leaves, const uint8_t *rows_kept)
{
    const struct lc__pq_row_group *g = &f->meta.row_groups[rg];
    bool sane =
        g->num_rows >= 0 && (uint64_t)g->num_rows <= r->lim.max_chunk_values;
    uint64_t rows = sane ? count_kept(rows_kept, (size_t)g->num_rows) : 0;
    for (size_t i = 0; i < r->ncols; i++) {
        struct pq_builder *b = &r->b[i];
        if (b->const_name == NULL &&
            (!sane || b->max_rep > 0 ||
             g->columns[leaves[i]].num_values != g->num_rows))
            b->unplanned = true;
        b->planned += rows;
        /* Bytes of a byte-array column: its share of the chunk's
         * uncompressed size (a guess, for the first allocation only). */
        int64_t bytes = g->columns[leaves[i]].total_uncompressed_size;
        if (b->const_name == NULL && b->value_nbytes == 0 && sane &&
            g->num_rows > 0 && bytes > 0 &&
            (uint64_t)bytes <= r->lim.max_chunk_nbytes)
            b->planned_bytes +=
                (uint64_t)((double)bytes * (double)rows / (double)g->num_rows);
    }
}

/*
 * Sizes the buffers of flat columns for the rows planned, so they are
 * allocated once rather than grown by doubling (a copy of every byte).
 * Only where the chunks' value counts agree with the row counts: both come
 * from the footer, and a lying file must not reserve what it never fills.
 */
int lc__pq_reader_reserve(struct lc__pq_reader *r, struct lc__errbuf *err)
{
    for (size_t i = 0; i < r->ncols; i++) {
        struct pq_builder *b = &r->b[i];
        if (b->unplanned || b->planned == 0 || b->planned > SIZE_MAX / 16)
            continue;
        LC_FORWARD_IF_ERROR(builder_reserve(r, b, (size_t)b->planned, err));
        /* The guess of bytes may be wrong (or a lie): it only sizes the
         * buffer when the budget allows, growth does the rest. */
        struct lc__errbuf ignored = {0};
        if (b->planned_bytes > 0 && b->planned_bytes < SIZE_MAX / 2)
            (void)buf_reserve(r, &b->data, (size_t)b->planned_bytes + 1, false,
                              &ignored);
    }
    return LC_OK;
}

int lc__parquet_read(struct lc__parquet_file *f, const size_t *columns,
                     size_t ncolumns,
                     const struct lc__parquet_read_options *opts,
                     struct lc__parquet_table **table_ret,
                     struct lc__errbuf *err)
{
    static const struct lc__parquet_read_options defaults = {0};

    if (table_ret != NULL)
        *table_ret = NULL;
    LC_RETURN_IF(f == NULL || table_ret == NULL ||
                     (columns == NULL && ncolumns > 0),
                 err, LC_EINVAL, "parquet: NULL argument");
    if (opts == NULL)
        opts = &defaults;
    for (size_t i = 0; i < ncolumns; i++)
        LC_RETURN_IF(columns[i] >= f->ncolumns, err, LC_EINVAL,
                     "%s: no leaf column %zu (the file has %zu)", f->name,
                     columns[i], f->ncolumns);
    for (size_t i = 0; i < opts->nrow_groups && opts->row_groups != NULL; i++)
        LC_RETURN_IF(opts->row_groups[i] >= f->meta.nrow_groups, err, LC_EINVAL,
                     "%s: no row group %zu (the file has %zu)", f->name,
                     opts->row_groups[i], f->meta.nrow_groups);
    const struct lc__parquet_column **cols =
        lc__calloc(&f->alloc, ncolumns + 1, sizeof(*cols));
    LC_RETURN_IF(cols == NULL, err, LC_ENOMEM, "%s: out of memory", f->name);
    for (size_t i = 0; i < ncolumns; i++)
        cols[i] = &f->columns[columns[i]];
    struct lc__pq_reader *r;
    int status = lc__pq_reader_new(f, cols, NULL, ncolumns, opts->keep_levels,
                                   opts->nthreads, &r, err);
    lc__free(&f->alloc, (void *)cols);
    LC_FORWARD_IF_ERROR(status);
    size_t n =
        opts->row_groups != NULL ? opts->nrow_groups : f->meta.nrow_groups;
    for (size_t i = 0; i < n; i++)
        lc__pq_reader_plan(r, f,
                           opts->row_groups != NULL ? opts->row_groups[i] : i,
                           columns, opts->rows != NULL ? opts->rows[i] : NULL);
    status = lc__pq_reader_reserve(r, err);
    if (status < 0) {
        lc__pq_reader_free(r);
        return status;
    }
    for (size_t i = 0; i < n; i++) {
        size_t rg = opts->row_groups != NULL ? opts->row_groups[i] : i;
        const uint8_t *kept = opts->rows != NULL ? opts->rows[i] : NULL;
        status = lc__pq_reader_add(r, f, rg, columns, NULL, kept, 0, err);
        if (status < 0) {
            lc__pq_reader_free(r);
            return status;
        }
    }
    return lc__pq_reader_finish(r, table_ret, err);
}

int lc__parquet_array_list(const struct lc__parquet_array *a, unsigned r,
                           const size_t **offsets_ret, size_t *nparents_ret,
                           size_t *level_ret)
{
    unsigned seen = 0;

    if (r == 0)
        return LC_EINVAL;
    for (size_t i = 0; i < a->depth; i++) {
        if (a->levels[i].offsets == NULL || ++seen != r)
            continue;
        *offsets_ret = a->levels[i].offsets;
        *nparents_ret = i == 0 ? a->nrows : a->levels[i - 1].length;
        *level_ret = i;
        return LC_OK;
    }
    return LC_EINVAL;
}
