/* file.c - opening a Parquet file: the footer read, FileMetaData, row-group
 * checks, metadata and statistics accessors. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>

#include "parquet_internal.h"

/*
 * A Parquet file ends with its metadata:
 *
 *   "PAR1" | column chunks ... | FileMetaData (Thrift) | u32 len | "PAR1"
 *
 * Opening reads the tail in one range read (64 KiB, or the whole file when
 * smaller); when FileMetaData is longer than what that brought, one more
 * read fetches the rest. Remote sources learn the object's size only from
 * a first answer, so for them a 4-byte read of the leading magic comes
 * first. Nothing else is read until columns are asked for.
 */

#define LC_PQ_TAIL_NBYTES ((size_t)64 << 10)

void lc__pq_limits_fill(struct lc__parquet_limits *lim)
{
    if (lim->max_footer_nbytes == 0)
        lim->max_footer_nbytes = (size_t)128 << 20;
    if (lim->max_page_nbytes == 0)
        lim->max_page_nbytes = (size_t)256 << 20;
    if (lim->max_chunk_nbytes == 0)
        lim->max_chunk_nbytes =
            SIZE_MAX > UINT32_MAX ? (size_t)1 << 30 : (size_t)512 << 20;
    if (lim->max_row_groups == 0)
        lim->max_row_groups = 1000000;
    if (lim->max_schema_elements == 0)
        lim->max_schema_elements = 100000;
    if (lim->max_schema_depth == 0)
        lim->max_schema_depth = 64;
    if (lim->max_thrift_depth == 0)
        lim->max_thrift_depth = 32;
    if (lim->max_string_nbytes == 0)
        lim->max_string_nbytes = (size_t)64 << 20;
    if (lim->max_chunk_values == 0)
        lim->max_chunk_values = (uint64_t)1 << 28;
    if (lim->max_decoded_nbytes == 0)
        lim->max_decoded_nbytes =
            SIZE_MAX > UINT32_MAX ? (uint64_t)16 << 30 : (uint64_t)2 << 30;
    /* The schema depth bounds levels, which are 16-bit. */
    if (lim->max_schema_depth > 1000)
        lim->max_schema_depth = 1000;
}

/* Checks each row group against the schema. */
static int check_row_groups(struct lc__parquet_file *f, struct lc__errbuf *err)
{
    uint64_t rows = 0;

    for (size_t g = 0; g < f->meta.nrow_groups; g++) {
        const struct lc__pq_row_group *rg = &f->meta.row_groups[g];
        LC_RETURN_IF(rg->ncolumns != f->ncolumns, err, LC_ECORRUPT,
                     "%s: row group %zu has %zu column chunks, the schema "
                     "%zu leaf columns",
                     f->name, g, rg->ncolumns, f->ncolumns);
        LC_RETURN_IF((uint64_t)rg->num_rows > UINT64_MAX - rows, err,
                     LC_ECORRUPT, "%s: row counts overflow", f->name);
        rows += (uint64_t)rg->num_rows;
        for (size_t c = 0; c < rg->ncolumns; c++) {
            const struct lc__pq_chunk *ch = &rg->columns[c];
            const char *path = f->columns[c].path;
            LC_RETURN_IF(ch->encrypted, err, LC_EUNSUPPORTED,
                         "%s: column '%s' is encrypted", f->name, path);
            LC_RETURN_IF(ch->external, err, LC_EUNSUPPORTED,
                         "%s: column '%s' of row group %zu lies in another "
                         "file (ColumnChunk.file_path)",
                         f->name, path, g);
            LC_RETURN_IF(
                ch->type != (int32_t)f->columns[c].type, err, LC_ECORRUPT,
                "%s: row group %zu, column '%s': chunk of physical "
                "type %d, schema says %d",
                f->name, g, path, (int)ch->type, (int)f->columns[c].type);
            LC_RETURN_IF(ch->num_values < 0 || ch->total_compressed_size < 0 ||
                             ch->data_page_offset < 0,
                         err, LC_ECORRUPT,
                         "%s: row group %zu, column '%s': negative size or "
                         "offset",
                         f->name, g, path);
        }
    }
    f->num_rows = rows;
    return LC_OK;
}

static int read_footer(struct lc__parquet_file *f, struct lc__errbuf *err)
{
    uint64_t size = 0;
    bool probed = false;
    uint8_t head[4];

    int status = f->src.size(f->src.opaque, &size, err);
    if (status == LC_EUNSUPPORTED) {
        /* A remote object tells its size with its first answer. */
        struct lc_range_request rq = {.offset = 0, .nbytes = 4, .buf = head};
        LC_FORWARD_IF_ERROR(f->src.read(f->src.opaque, &rq, 1, true, err));
        LC_RETURN_IF(
            rq.nread < 4 || memcmp(head, "PAR1", 4) != 0, err, LC_ECORRUPT,
            "%s: not a Parquet file (no PAR1 magic at the start)", f->name);
        probed = true;
        status = f->src.size(f->src.opaque, &size, err);
    }
    LC_FORWARD_IF_ERROR(status);
    f->file_nbytes = size;
    LC_RETURN_IF(size < 12, err, LC_ECORRUPT,
                 "%s: file of %" PRIu64 " bytes is too small for Parquet "
                 "(at least 12)",
                 f->name, size);

    size_t tail_n = size < LC_PQ_TAIL_NBYTES ? (size_t)size : LC_PQ_TAIL_NBYTES;
    uint8_t *tail = lc__malloc(&f->alloc, tail_n);
    LC_RETURN_IF(tail == NULL, err, LC_ENOMEM, "%s: out of memory", f->name);
    f->footer_buf = tail;
    struct lc_range_request rq = {
        .offset = size - tail_n, .nbytes = tail_n, .buf = tail};
    LC_FORWARD_IF_ERROR(f->src.read(f->src.opaque, &rq, 1, false, err));

    const uint8_t *magic = tail + tail_n - 4;
    LC_RETURN_IF(memcmp(magic, "PARE", 4) == 0, err, LC_EUNSUPPORTED,
                 "%s: encrypted footer (PARE) is not supported", f->name);
    LC_RETURN_IF(memcmp(magic, "PAR1", 4) != 0, err, LC_ECORRUPT,
                 "%s: not a Parquet file (no PAR1 magic at the end)", f->name);
    if (!probed && tail_n == size)
        LC_RETURN_IF(memcmp(tail, "PAR1", 4) != 0, err, LC_ECORRUPT,
                     "%s: not a Parquet file (no PAR1 magic at the start)",
                     f->name);
    uint32_t footer_n = lc__load_le32(tail + tail_n - 8);
    LC_RETURN_IF(footer_n > size - 12, err, LC_ECORRUPT,
                 "%s: footer length %" PRIu32 " does not fit in a file of "
                 "%" PRIu64 " bytes (truncated file?)",
                 f->name, footer_n, size);
    LC_RETURN_IF(footer_n > f->lim.max_footer_nbytes, err, LC_ELIMIT,
                 "%s: footer of %" PRIu32 " bytes exceeds max_footer_nbytes "
                 "(%zu)" LC__PQ_RAISE_HINT("max_footer_nbytes"),
                 f->name, footer_n, f->lim.max_footer_nbytes);
    LC_RETURN_IF(footer_n == 0, err, LC_ECORRUPT, "%s: empty footer", f->name);

    const uint8_t *footer;
    if ((size_t)footer_n + 8 <= tail_n) {
        footer = tail + tail_n - 8 - footer_n;
    } else {
        /* The tail holds the footer's end: fetch the beginning. */
        uint8_t *buf = lc__malloc(&f->alloc, footer_n);
        LC_RETURN_IF(buf == NULL, err, LC_ENOMEM,
                     "%s: out of memory for a footer of %" PRIu32 " bytes",
                     f->name, footer_n);
        size_t have = tail_n - 8;
        size_t missing = footer_n - have;
        memcpy(buf + missing, tail, have);
        lc__free(&f->alloc, tail);
        f->footer_buf = buf;
        struct lc_range_request more = {
            .offset = size - 8 - footer_n, .nbytes = missing, .buf = buf};
        LC_FORWARD_IF_ERROR(f->src.read(f->src.opaque, &more, 1, false, err));
        footer = buf;
    }

    struct lc__thrift t = {
        .p = footer,
        .end = footer + footer_n,
        .base = footer,
        .base_offset = size - 8 - footer_n,
        .max_depth = f->lim.max_thrift_depth,
        .max_string = f->lim.max_string_nbytes,
        .name = f->name,
        .where = "footer",
        .err = err,
    };
    LC_FORWARD_IF_ERROR(lc__pq_parse_meta(&t, &f->alloc, f->lim.max_row_groups,
                                          f->lim.max_schema_elements,
                                          &f->meta));
    LC_RETURN_IF(f->meta.encrypted, err, LC_EUNSUPPORTED,
                 "%s: encrypted columns are not supported", f->name);
    return LC_OK;
}

void lc__parquet_close(struct lc__parquet_file *f)
{
    if (f == NULL)
        return;
    if (f->src.close != NULL)
        f->src.close(f->src.opaque);
    lc__pq_free_schema(f);
    lc__pq_meta_free(&f->alloc, &f->meta);
    lc__free(&f->alloc, f->footer_buf);
    lc__free(&f->alloc, f->created_by);
    lc__free(&f->alloc, f->name);
    struct lc_allocator alloc = f->alloc;
    lc__free(&alloc, f);
}

int lc__parquet_open(const struct lc__parquet_source *src,
                     const struct lc_allocator *alloc,
                     const struct lc__parquet_limits *limits,
                     struct lc__parquet_file **file_ret, struct lc__errbuf *err)
{
    if (file_ret != NULL)
        *file_ret = NULL;
    if (src == NULL || file_ret == NULL || src->read == NULL ||
        src->size == NULL) {
        if (src != NULL && src->close != NULL)
            src->close(src->opaque);
        return lc__error(err, LC_EINVAL, "parquet: NULL source or result");
    }
    const char *name = src->name != NULL ? src->name : "(parquet)";
    struct lc__parquet_file *f = lc__calloc(alloc, 1, sizeof(*f));
    size_t name_n = strlen(name) + 1;
    char *name_copy = lc__malloc(alloc, name_n);
    if (f == NULL || name_copy == NULL) {
        lc__free(alloc, f);
        lc__free(alloc, name_copy);
        /* The message first: name may belong to the source (an io's). */
        int status = lc__error(err, LC_ENOMEM, "%s: out of memory", name);
        if (src->close != NULL)
            src->close(src->opaque);
        return status;
    }
    memcpy(name_copy, name, name_n);
    if (alloc != NULL)
        f->alloc = *alloc;
    if (limits != NULL)
        f->lim = *limits;
    lc__pq_limits_fill(&f->lim);
    f->src = *src;
    f->name = name_copy;
    f->src.name = name_copy;

    int status = read_footer(f, err);
    if (status == LC_OK)
        status = lc__pq_build_schema(f, err);
    if (status == LC_OK)
        status = check_row_groups(f, err);
    if (status == LC_OK) {
        const struct lc__pq_span *cb = &f->meta.created_by;
        f->created_by = lc__malloc(&f->alloc, cb->n + 1);
        if (f->created_by == NULL) {
            status = lc__error(err, LC_ENOMEM, "%s: out of memory", f->name);
        } else {
            if (cb->n > 0)
                memcpy(f->created_by, cb->p, cb->n);
            f->created_by[cb->n] = '\0';
        }
    }
    if (status < 0) {
        lc__parquet_close(f);
        return status;
    }
    *file_ret = f;
    return LC_OK;
}

/* ---- accessors -----------------------------------------------------------
 */

const char *lc__parquet_name(const struct lc__parquet_file *f)
{
    return f->name;
}

uint64_t lc__parquet_num_rows(const struct lc__parquet_file *f)
{
    return f->num_rows;
}

const char *lc__parquet_created_by(const struct lc__parquet_file *f)
{
    return f->created_by;
}

uint64_t lc__parquet_file_nbytes(const struct lc__parquet_file *f)
{
    return f->file_nbytes;
}

size_t lc__parquet_num_nodes(const struct lc__parquet_file *f)
{
    return f->nnodes;
}

const struct lc__parquet_node *
lc__parquet_node(const struct lc__parquet_file *f, size_t index)
{
    return index < f->nnodes ? &f->nodes[index] : NULL;
}

size_t lc__parquet_num_columns(const struct lc__parquet_file *f)
{
    return f->ncolumns;
}

const struct lc__parquet_column *
lc__parquet_column(const struct lc__parquet_file *f, size_t index)
{
    return index < f->ncolumns ? &f->columns[index] : NULL;
}

size_t lc__parquet_num_metadata(const struct lc__parquet_file *f)
{
    return f->meta.nkv;
}

void lc__parquet_metadata_at(const struct lc__parquet_file *f, size_t i,
                             const uint8_t **key_ret, size_t *key_nbytes_ret,
                             const uint8_t **value_ret,
                             size_t *value_nbytes_ret)
{
    const struct lc__pq_kv *kv = &f->meta.kv[i];
    *key_ret = kv->key.p;
    *key_nbytes_ret = kv->key.n;
    *value_ret = kv->has_value ? kv->value.p : NULL;
    *value_nbytes_ret = kv->has_value ? kv->value.n : 0;
}

int lc__parquet_metadata(const struct lc__parquet_file *f, const char *key,
                         const uint8_t **value_ret, size_t *nbytes_ret)
{
    size_t n = strlen(key);

    /* The last pair of a key wins, as Arrow reads them. */
    for (size_t i = f->meta.nkv; i-- > 0;) {
        const struct lc__pq_kv *kv = &f->meta.kv[i];
        if (kv->key.n == n && memcmp(kv->key.p, key, n) == 0) {
            if (!kv->has_value)
                return LC_ENOTFOUND;
            *value_ret = kv->value.p;
            *nbytes_ret = kv->value.n;
            return LC_OK;
        }
    }
    return LC_ENOTFOUND;
}

size_t lc__parquet_num_row_groups(const struct lc__parquet_file *f)
{
    return f->meta.nrow_groups;
}

uint64_t lc__parquet_row_group_num_rows(const struct lc__parquet_file *f,
                                        size_t rg)
{
    return rg < f->meta.nrow_groups ? (uint64_t)f->meta.row_groups[rg].num_rows
                                    : 0;
}

/* Decodes a PLAIN bound of the column's type; false when it cannot be. */
static bool decode_bound(const struct lc__parquet_column *c,
                         const struct lc__pq_span *s,
                         struct lc__parquet_bound *b)
{
    b->bytes = s->p;
    b->nbytes = s->n;
    switch (c->type) {
    case LC_PQ_BOOLEAN:
        if (s->n < 1)
            return false;
        b->v.b = (s->p[0] & 1) != 0;
        return true;
    case LC_PQ_INT32:
        if (s->n < 4)
            return false;
        b->v.i32 = (int32_t)lc__load_le32(s->p);
        return true;
    case LC_PQ_INT64:
        if (s->n < 8)
            return false;
        b->v.i64 = (int64_t)lc__load_le64(s->p);
        return true;
    case LC_PQ_FLOAT: {
        if (s->n < 4)
            return false;
        uint32_t u = lc__load_le32(s->p);
        memcpy(&b->v.f32, &u, 4);
        return !isnan(b->v.f32);
    }
    case LC_PQ_DOUBLE: {
        if (s->n < 8)
            return false;
        uint64_t u = lc__load_le64(s->p);
        memcpy(&b->v.f64, &u, 8);
        return !isnan(b->v.f64);
    }
    case LC_PQ_INT96:
    case LC_PQ_BYTE_ARRAY:
    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
        return true;
    }
    return false;
}

int lc__parquet_column_stats(const struct lc__parquet_file *f, size_t rg,
                             size_t column, struct lc__parquet_stats *out)
{
    if (f == NULL || out == NULL || rg >= f->meta.nrow_groups ||
        column >= f->ncolumns)
        return LC_EINVAL;
    memset(out, 0, sizeof(*out));
    const struct lc__pq_chunk *ch = &f->meta.row_groups[rg].columns[column];
    const struct lc__parquet_column *c = &f->columns[column];
    out->num_values = (uint64_t)ch->num_values;
    if (!ch->has_stats)
        return LC_OK;
    const struct lc__pq_stats *s = &ch->stats;
    if (s->has_null_count && s->null_count >= 0) {
        out->has_null_count = true;
        out->null_count = (uint64_t)s->null_count;
    }
    const struct lc__pq_span *lo = NULL, *hi = NULL;
    if (s->has_min_value && s->has_max_value) {
        lo = &s->min_value;
        hi = &s->max_value;
    } else if (s->has_min && s->has_max) {
        /* The legacy fields are sorted signed: right for signed numbers
         * only (not strings, unsigned integers or INT96). */
        bool numeric = c->type == LC_PQ_INT32 || c->type == LC_PQ_INT64 ||
                       c->type == LC_PQ_FLOAT || c->type == LC_PQ_DOUBLE ||
                       c->type == LC_PQ_BOOLEAN;
        bool is_unsigned =
            c->logical.kind == LC_PQ_LOGICAL_INTEGER && !c->logical.is_signed;
        if (numeric && !is_unsigned) {
            lo = &s->min;
            hi = &s->max;
        }
    }
    if (lo != NULL && decode_bound(c, lo, &out->min) &&
        decode_bound(c, hi, &out->max))
        out->has_min_max = true;
    return LC_OK;
}

int64_t lc__parquet_int96_ns(const uint8_t *p)
{
    /* Julian day 2440588 is 1970-01-01. */
    uint64_t nanos = lc__load_le64(p);
    int64_t days = (int64_t)lc__load_le32(p + 8) - 2440588;
    return (int64_t)((uint64_t)days * UINT64_C(86400000000000) + nanos);
}
