/* thrift.c - Thrift compact protocol decoder for the Parquet footer and page
 * headers. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <stdio.h>

#include "parquet_internal.h"

/*
 * Parquet stores its metadata (FileMetaData in the footer, a PageHeader
 * before every page) as Thrift structs in the compact protocol. Rather than
 * generated code we read the few structs we need field by field and skip
 * everything else, so new fields in later versions of parquet.thrift are
 * ignored, as Thrift intends.
 *
 * The compact protocol, as far as we need it
 * (thrift/doc/specs/thrift-compact-protocol.md):
 *
 *   struct   := field* STOP(0x00)
 *   field    := (delta << 4 | type) [zigzag-varint id when delta == 0] value
 *               field ids are deltas from the previous field id of the
 *               same struct; booleans live in the type nibble (1 true,
 *               2 false) and have no value bytes
 *   i8       := one byte
 *   i16, i32, i64 := zigzag ULEB128 varint
 *   double   := 8 bytes little-endian
 *   binary   := varint length, bytes (strings too)
 *   list/set := (size << 4 | elemtype) [varint size when the nibble is 15]
 *               elements (booleans in lists take one byte each)
 *   map      := varint size [(keytype << 4 | valtype) when size > 0] pairs
 *
 * Hostile input: every read checks the bytes left; nesting is capped by
 * max_depth (skipping an unknown field recurses); strings by max_string;
 * and a list header's element count must fit in the bytes left, each
 * element taking at least min_nbytes bytes, before anything is allocated
 * for it. Field ids and order are not trusted either: a field may come
 * twice (the last one wins) and required fields are checked at the end of
 * each struct.
 */

int lc__thrift_corrupt(struct lc__thrift *t, const char *what)
{
    return lc__error(t->err, LC_ECORRUPT,
                     "%s: corrupt Thrift in the %s at byte %" PRIu64 ": %s",
                     t->name, t->where,
                     t->base_offset + (uint64_t)(t->p - t->base), what);
}

static int th_varint(struct lc__thrift *t, uint64_t *v_ret)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (t->p >= t->end)
            return lc__thrift_corrupt(t, "varint runs past the end");
        uint8_t b = *t->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v_ret = v;
            return LC_OK;
        }
    }
    return lc__thrift_corrupt(t, "varint longer than 10 bytes");
}

static int64_t zigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int th_enter(struct lc__thrift *t)
{
    if (++t->depth > t->max_depth)
        return lc__error(
            t->err, LC_ELIMIT,
            "%s: Thrift in the %s nests deeper than "
            "max_thrift_depth (%zu) at byte %" PRIu64 LC__PQ_RAISE_HINT(
                "max_thrift_depth"),
            t->name, t->where, t->max_depth,
            t->base_offset + (uint64_t)(t->p - t->base));
    return LC_OK;
}

static void th_leave(struct lc__thrift *t)
{
    t->depth--;
}

/* Reads a field header; *type_ret is LC_TH_STOP at the end of a struct. */
static int th_field(struct lc__thrift *t, int16_t *last_id, int *type_ret,
                    int16_t *id_ret)
{
    if (t->p >= t->end)
        return lc__thrift_corrupt(t, "struct runs past the end");
    uint8_t b = *t->p++;
    *type_ret = b & 0x0f;
    if (b == 0)
        return LC_OK;
    unsigned delta = b >> 4;
    if (delta != 0) {
        *id_ret = (int16_t)(*last_id + (int16_t)delta);
    } else {
        uint64_t v = 0;
        LC_FORWARD_IF_ERROR(th_varint(t, &v));
        int64_t id = zigzag(v);
        if (id < INT16_MIN || id > INT16_MAX)
            return lc__thrift_corrupt(t, "field id out of range");
        *id_ret = (int16_t)id;
    }
    *last_id = *id_ret;
    return LC_OK;
}

static int th_i64(struct lc__thrift *t, int type, int64_t *v_ret)
{
    uint64_t v = 0;

    switch (type) {
    case LC_TH_I8:
        if (t->p >= t->end)
            return lc__thrift_corrupt(t, "i8 runs past the end");
        *v_ret = (int8_t)*t->p++;
        return LC_OK;
    case LC_TH_I16:
    case LC_TH_I32:
    case LC_TH_I64:
        LC_FORWARD_IF_ERROR(th_varint(t, &v));
        *v_ret = zigzag(v);
        return LC_OK;
    default:
        return lc__thrift_corrupt(t, "integer field of a non-integer type");
    }
}

static int th_i32(struct lc__thrift *t, int type, int32_t *v_ret)
{
    int64_t v = 0;

    LC_FORWARD_IF_ERROR(th_i64(t, type, &v));
    if (v < INT32_MIN || v > INT32_MAX)
        return lc__thrift_corrupt(t, "i32 value out of range");
    *v_ret = (int32_t)v;
    return LC_OK;
}

static int th_bool(struct lc__thrift *t, int type, bool *v_ret)
{
    if (type != LC_TH_TRUE && type != LC_TH_FALSE)
        return lc__thrift_corrupt(t, "bool field of a non-bool type");
    *v_ret = type == LC_TH_TRUE;
    return LC_OK;
}

static int th_binary(struct lc__thrift *t, int type, struct lc__pq_span *s)
{
    uint64_t n = 0;

    if (type != LC_TH_BINARY)
        return lc__thrift_corrupt(t, "string field of a non-string type");
    LC_FORWARD_IF_ERROR(th_varint(t, &n));
    if (n > (uint64_t)(t->end - t->p))
        return lc__thrift_corrupt(t, "string runs past the end");
    if (n > t->max_string)
        return lc__error(t->err, LC_ELIMIT,
                         "%s: string of %" PRIu64 " bytes in the %s "
                         "(limit %zu)",
                         t->name, n, t->where, t->max_string);
    s->p = t->p;
    s->n = (size_t)n;
    t->p += n;
    return LC_OK;
}

/*
 * Reads a list (or set) header. The count is checked against the bytes
 * left, assuming each element takes at least min_nbytes bytes, so that a
 * lying count never sizes an allocation.
 */
static int th_list(struct lc__thrift *t, int type, int *elem_type_ret,
                   size_t *count_ret, size_t min_nbytes)
{
    if (type != LC_TH_LIST && type != LC_TH_SET)
        return lc__thrift_corrupt(t, "list field of a non-list type");
    if (t->p >= t->end)
        return lc__thrift_corrupt(t, "list header runs past the end");
    uint8_t b = *t->p++;
    uint64_t n = b >> 4;
    *elem_type_ret = b & 0x0f;
    if (n == 15)
        LC_FORWARD_IF_ERROR(th_varint(t, &n));
    if (min_nbytes == 0)
        min_nbytes = 1;
    if (n > (uint64_t)(t->end - t->p) / min_nbytes) {
        char msg[96];
        snprintf(msg, sizeof(msg),
                 "list of %" PRIu64 " elements cannot fit in %zu bytes", n,
                 (size_t)(t->end - t->p));
        return lc__thrift_corrupt(t, msg);
    }
    *count_ret = (size_t)n;
    return LC_OK;
}

static int th_skip(struct lc__thrift *t, int type, bool in_list);

static int th_skip_struct(struct lc__thrift *t)
{
    int16_t last = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        LC_FORWARD_IF_ERROR(th_skip(t, type, false));
    }
    th_leave(t);
    return LC_OK;
}

/* Skips one value of the given type; booleans take a byte only in lists. */
static int th_skip(struct lc__thrift *t, int type, bool in_list)
{
    uint64_t v = 0;
    struct lc__pq_span s = {0};
    size_t n = 0;
    int et = 0;

    switch (type) {
    case LC_TH_TRUE:
    case LC_TH_FALSE:
        if (!in_list)
            return LC_OK;
        /* A boolean in a list is one byte. */
        if (t->p >= t->end)
            return lc__thrift_corrupt(t, "bool runs past the end");
        t->p++;
        return LC_OK;
    case LC_TH_I8:
        if (t->p >= t->end)
            return lc__thrift_corrupt(t, "i8 runs past the end");
        t->p++;
        return LC_OK;
    case LC_TH_I16:
    case LC_TH_I32:
    case LC_TH_I64:
        return th_varint(t, &v);
    case LC_TH_DOUBLE:
        if (t->end - t->p < 8)
            return lc__thrift_corrupt(t, "double runs past the end");
        t->p += 8;
        return LC_OK;
    case LC_TH_BINARY:
        return th_binary(t, type, &s);
    case LC_TH_LIST:
    case LC_TH_SET:
        LC_FORWARD_IF_ERROR(th_list(t, type, &et, &n, 1));
        LC_FORWARD_IF_ERROR(th_enter(t));
        for (size_t i = 0; i < n; i++)
            LC_FORWARD_IF_ERROR(th_skip(t, et, true));
        th_leave(t);
        return LC_OK;
    case LC_TH_MAP: {
        LC_FORWARD_IF_ERROR(th_varint(t, &v));
        if (v == 0)
            return LC_OK;
        if (t->p >= t->end)
            return lc__thrift_corrupt(t, "map header runs past the end");
        uint8_t kv = *t->p++;
        if (v > (uint64_t)(t->end - t->p) / 2)
            return lc__thrift_corrupt(t, "map larger than the bytes left");
        LC_FORWARD_IF_ERROR(th_enter(t));
        for (uint64_t i = 0; i < v; i++) {
            LC_FORWARD_IF_ERROR(th_skip(t, kv >> 4, true));
            LC_FORWARD_IF_ERROR(th_skip(t, kv & 0x0f, true));
        }
        th_leave(t);
        return LC_OK;
    }
    case LC_TH_STRUCT:
        return th_skip_struct(t);
    default:
        return lc__thrift_corrupt(t, "unknown field type");
    }
}

/* Fails when a list holds elements of another type than expected. */
static int th_expect_elem(struct lc__thrift *t, int elem_type, int want,
                          size_t n)
{
    if (n > 0 && elem_type != want)
        return lc__thrift_corrupt(t, "list of the wrong element type");
    return LC_OK;
}

/* Allocates n elements of size nbytes, zeroed (NULL-safe for n == 0). */
static int th_alloc(struct lc__thrift *t, const struct lc_allocator *alloc,
                    size_t n, size_t nbytes, void **p_ret)
{
    *p_ret = lc__calloc(alloc, n == 0 ? 1 : n, nbytes);
    if (*p_ret == NULL)
        return lc__error(t->err, LC_ENOMEM, "%s: out of memory reading the %s",
                         t->name, t->where);
    return LC_OK;
}

/* ---- FileMetaData --------------------------------------------------------
 */

static int parse_time_unit(struct lc__thrift *t,
                           enum lc__parquet_time_unit *unit)
{
    int16_t last = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (type == LC_TH_STRUCT && id >= 1 && id <= 3)
            *unit = (enum lc__parquet_time_unit)(id - 1);
        LC_FORWARD_IF_ERROR(th_skip(t, type, false));
    }
    th_leave(t);
    return LC_OK;
}

/* TimestampType and TimeType: isAdjustedToUTC, unit. */
static int parse_time_type(struct lc__thrift *t,
                           struct lc__parquet_logical_type *lt)
{
    int16_t last = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (id == 1)
            LC_FORWARD_IF_ERROR(th_bool(t, type, &lt->utc));
        else if (id == 2 && type == LC_TH_STRUCT)
            LC_FORWARD_IF_ERROR(parse_time_unit(t, &lt->unit));
        else
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
    }
    th_leave(t);
    return LC_OK;
}

static int parse_int_type(struct lc__thrift *t,
                          struct lc__parquet_logical_type *lt)
{
    int16_t last = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        int32_t v = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (id == 1) {
            LC_FORWARD_IF_ERROR(th_i32(t, type, &v));
            lt->bit_width = (uint8_t)(v > 0 && v <= 64 ? v : 0);
        } else if (id == 2) {
            LC_FORWARD_IF_ERROR(th_bool(t, type, &lt->is_signed));
        } else {
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
        }
    }
    th_leave(t);
    return LC_OK;
}

static int parse_decimal_type(struct lc__thrift *t,
                              struct lc__parquet_logical_type *lt)
{
    int16_t last = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (id == 1)
            LC_FORWARD_IF_ERROR(th_i32(t, type, &lt->scale));
        else if (id == 2)
            LC_FORWARD_IF_ERROR(th_i32(t, type, &lt->precision));
        else
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
    }
    th_leave(t);
    return LC_OK;
}

/* The LogicalType union: one field set, its id naming the type. */
static int parse_logical(struct lc__thrift *t,
                         struct lc__parquet_logical_type *lt)
{
    int16_t last = 0;

    memset(lt, 0, sizeof(*lt));
    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (type != LC_TH_STRUCT)
            return lc__thrift_corrupt(t, "LogicalType member is no struct");
        switch (id) {
        case 1:  /* STRING */
        case 2:  /* MAP */
        case 3:  /* LIST */
        case 4:  /* ENUM */
        case 6:  /* DATE */
        case 11: /* UNKNOWN (null) */
        case 12: /* JSON */
        case 13: /* BSON */
        case 14: /* UUID */
        case 15: /* FLOAT16 */
        case 16: /* VARIANT */
        case 17: /* GEOMETRY */
        case 18: /* GEOGRAPHY */
            lt->kind = (enum lc__parquet_logical)id;
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        case 5:
            lt->kind = LC_PQ_LOGICAL_DECIMAL;
            LC_FORWARD_IF_ERROR(parse_decimal_type(t, lt));
            break;
        case 7:
        case 8:
            lt->kind = id == 7 ? LC_PQ_LOGICAL_TIME : LC_PQ_LOGICAL_TIMESTAMP;
            LC_FORWARD_IF_ERROR(parse_time_type(t, lt));
            break;
        case 10:
            lt->kind = LC_PQ_LOGICAL_INTEGER;
            LC_FORWARD_IF_ERROR(parse_int_type(t, lt));
            break;
        default:
            lt->kind = LC_PQ_LOGICAL_OTHER;
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
    }
    th_leave(t);
    return LC_OK;
}

static int parse_schema_elem(struct lc__thrift *t, struct lc__pq_schema_elem *e)
{
    int16_t last = 0;
    bool has_name = false;

    e->type = -1;
    e->repetition = -1;
    e->num_children = -1;
    e->converted_type = -1;
    e->field_id = -1;
    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        switch (id) {
        case 1:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->type));
            break;
        case 2:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->type_length));
            break;
        case 3:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->repetition));
            break;
        case 4:
            LC_FORWARD_IF_ERROR(th_binary(t, type, &e->name));
            has_name = true;
            break;
        case 5:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->num_children));
            break;
        case 6:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->converted_type));
            break;
        case 7:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->scale));
            break;
        case 8:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->precision));
            break;
        case 9:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &e->field_id));
            break;
        case 10:
            if (type != LC_TH_STRUCT)
                return lc__thrift_corrupt(t, "logicalType is no struct");
            LC_FORWARD_IF_ERROR(parse_logical(t, &e->logical));
            e->has_logical = true;
            break;
        default:
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
    }
    th_leave(t);
    if (!has_name)
        return lc__thrift_corrupt(t, "SchemaElement without a name");
    return LC_OK;
}

static int parse_stats(struct lc__thrift *t, struct lc__pq_stats *s)
{
    int16_t last = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        switch (id) {
        case 1:
            LC_FORWARD_IF_ERROR(th_binary(t, type, &s->max));
            s->has_max = true;
            break;
        case 2:
            LC_FORWARD_IF_ERROR(th_binary(t, type, &s->min));
            s->has_min = true;
            break;
        case 3:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &s->null_count));
            s->has_null_count = true;
            break;
        case 5:
            LC_FORWARD_IF_ERROR(th_binary(t, type, &s->max_value));
            s->has_max_value = true;
            break;
        case 6:
            LC_FORWARD_IF_ERROR(th_binary(t, type, &s->min_value));
            s->has_min_value = true;
            break;
        default:
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
    }
    th_leave(t);
    return LC_OK;
}

static int parse_column_meta(struct lc__thrift *t, struct lc__pq_chunk *c)
{
    int16_t last = 0;
    unsigned seen = 0; /* bit i: required field i + 1 */

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        switch (id) {
        case 1:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &c->type));
            break;
        case 4:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &c->codec));
            break;
        case 5:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &c->num_values));
            break;
        case 6:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &c->total_uncompressed_size));
            break;
        case 7:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &c->total_compressed_size));
            break;
        case 9:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &c->data_page_offset));
            break;
        case 11:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &c->dictionary_page_offset));
            c->has_dictionary_page_offset = true;
            break;
        case 12:
            if (type != LC_TH_STRUCT)
                return lc__thrift_corrupt(t, "statistics is no struct");
            LC_FORWARD_IF_ERROR(parse_stats(t, &c->stats));
            c->has_stats = true;
            break;
        default:
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
        if (id >= 1 && id <= 9)
            seen |= 1u << (id - 1);
    }
    th_leave(t);
    /* type, codec, num_values, total_compressed_size, data_page_offset */
    const unsigned need = 1u << 0 | 1u << 3 | 1u << 4 | 1u << 6 | 1u << 8;
    if ((seen & need) != need)
        return lc__thrift_corrupt(t, "ColumnMetaData lacks a required field");
    return LC_OK;
}

static int parse_column_chunk(struct lc__thrift *t, struct lc__pq_chunk *c)
{
    int16_t last = 0;
    bool has_meta = false;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        struct lc__pq_span s = {0};
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        switch (id) {
        case 1:
            LC_FORWARD_IF_ERROR(th_binary(t, type, &s));
            c->external = s.n > 0;
            break;
        case 3:
            if (type != LC_TH_STRUCT)
                return lc__thrift_corrupt(t, "meta_data is no struct");
            LC_FORWARD_IF_ERROR(parse_column_meta(t, c));
            has_meta = true;
            break;
        case 8:
        case 9:
            c->encrypted = true;
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        default:
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
    }
    th_leave(t);
    if (!has_meta && !c->encrypted)
        return lc__thrift_corrupt(t, "ColumnChunk without meta_data");
    return LC_OK;
}

/* The smallest a ColumnChunk can be with its required fields: the list
 * element count of a row group's columns is checked against it. */
#define LC_PQ_MIN_CHUNK_NBYTES 12

static int parse_row_group(struct lc__thrift *t,
                           const struct lc_allocator *alloc,
                           struct lc__pq_row_group *rg)
{
    int16_t last = 0;
    bool has_columns = false, has_rows = false;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0, et = 0;
        int16_t id = 0;
        size_t n = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        switch (id) {
        case 1:
            if (has_columns)
                return lc__thrift_corrupt(t, "RowGroup columns given twice");
            LC_FORWARD_IF_ERROR(
                th_list(t, type, &et, &n, LC_PQ_MIN_CHUNK_NBYTES));
            LC_FORWARD_IF_ERROR(th_expect_elem(t, et, LC_TH_STRUCT, n));
            LC_FORWARD_IF_ERROR(th_alloc(t, alloc, n, sizeof(*rg->columns),
                                         (void **)&rg->columns));
            has_columns = true;
            LC_FORWARD_IF_ERROR(th_enter(t));
            for (size_t i = 0; i < n; i++) {
                LC_FORWARD_IF_ERROR(parse_column_chunk(t, &rg->columns[i]));
                rg->ncolumns = i + 1;
            }
            th_leave(t);
            break;
        case 3:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &rg->num_rows));
            has_rows = true;
            break;
        default:
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
    }
    th_leave(t);
    if (!has_columns || !has_rows)
        return lc__thrift_corrupt(t, "RowGroup lacks columns or num_rows");
    if (rg->num_rows < 0)
        return lc__thrift_corrupt(t, "RowGroup with a negative row count");
    return LC_OK;
}

static int parse_kv(struct lc__thrift *t, struct lc__pq_kv *kv)
{
    int16_t last = 0;
    bool has_key = false;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (id == 1) {
            LC_FORWARD_IF_ERROR(th_binary(t, type, &kv->key));
            has_key = true;
        } else if (id == 2) {
            LC_FORWARD_IF_ERROR(th_binary(t, type, &kv->value));
            kv->has_value = true;
        } else {
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
        }
    }
    th_leave(t);
    if (!has_key)
        return lc__thrift_corrupt(t, "KeyValue without a key");
    return LC_OK;
}

void lc__pq_meta_free(const struct lc_allocator *alloc,
                      struct lc__pq_meta *meta)
{
    if (meta->row_groups != NULL) {
        for (size_t i = 0; i < meta->nrow_groups; i++)
            lc__free(alloc, meta->row_groups[i].columns);
    }
    lc__free(alloc, meta->row_groups);
    lc__free(alloc, meta->schema);
    lc__free(alloc, meta->kv);
    memset(meta, 0, sizeof(*meta));
}

int lc__pq_parse_meta(struct lc__thrift *t, const struct lc_allocator *alloc,
                      size_t max_row_groups, size_t max_schema,
                      struct lc__pq_meta *meta)
{
    int16_t last = 0;
    unsigned seen = 0;

    memset(meta, 0, sizeof(*meta));
    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0, et = 0;
        int16_t id = 0;
        size_t n = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        switch (id) {
        case 1:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &meta->version));
            break;
        case 2:
            if (meta->schema != NULL)
                return lc__thrift_corrupt(t, "schema given twice");
            LC_FORWARD_IF_ERROR(th_list(t, type, &et, &n, 3));
            LC_FORWARD_IF_ERROR(th_expect_elem(t, et, LC_TH_STRUCT, n));
            if (n > max_schema)
                return lc__error(t->err, LC_ELIMIT,
                                 "%s: schema of %zu elements (limit %zu)",
                                 t->name, n, max_schema);
            LC_FORWARD_IF_ERROR(th_alloc(t, alloc, n, sizeof(*meta->schema),
                                         (void **)&meta->schema));
            LC_FORWARD_IF_ERROR(th_enter(t));
            for (size_t i = 0; i < n; i++) {
                LC_FORWARD_IF_ERROR(parse_schema_elem(t, &meta->schema[i]));
                meta->nschema = i + 1;
            }
            th_leave(t);
            break;
        case 3:
            LC_FORWARD_IF_ERROR(th_i64(t, type, &meta->num_rows));
            break;
        case 4:
            if (meta->row_groups != NULL)
                return lc__thrift_corrupt(t, "row_groups given twice");
            LC_FORWARD_IF_ERROR(th_list(t, type, &et, &n, 4));
            LC_FORWARD_IF_ERROR(th_expect_elem(t, et, LC_TH_STRUCT, n));
            if (n > max_row_groups)
                return lc__error(t->err, LC_ELIMIT,
                                 "%s: %zu row groups (limit %zu)", t->name, n,
                                 max_row_groups);
            LC_FORWARD_IF_ERROR(th_alloc(t, alloc, n, sizeof(*meta->row_groups),
                                         (void **)&meta->row_groups));
            LC_FORWARD_IF_ERROR(th_enter(t));
            for (size_t i = 0; i < n; i++) {
                /* Counted first, so that a failure frees its columns. */
                meta->nrow_groups = i + 1;
                LC_FORWARD_IF_ERROR(
                    parse_row_group(t, alloc, &meta->row_groups[i]));
            }
            th_leave(t);
            break;
        case 5:
            if (meta->kv != NULL)
                return lc__thrift_corrupt(t, "key_value_metadata twice");
            LC_FORWARD_IF_ERROR(th_list(t, type, &et, &n, 3));
            LC_FORWARD_IF_ERROR(th_expect_elem(t, et, LC_TH_STRUCT, n));
            LC_FORWARD_IF_ERROR(
                th_alloc(t, alloc, n, sizeof(*meta->kv), (void **)&meta->kv));
            LC_FORWARD_IF_ERROR(th_enter(t));
            for (size_t i = 0; i < n; i++) {
                LC_FORWARD_IF_ERROR(parse_kv(t, &meta->kv[i]));
                meta->nkv = i + 1;
            }
            th_leave(t);
            break;
        case 6:
            LC_FORWARD_IF_ERROR(th_binary(t, type, &meta->created_by));
            break;
        case 8:
            meta->encrypted = true;
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        default:
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
        if (id >= 1 && id <= 4)
            seen |= 1u << (id - 1);
    }
    th_leave(t);
    /* schema, num_rows, row_groups (version is not checked: some writers
     * leave it out and nothing depends on it). */
    if ((seen & 0xe) != 0xe)
        return lc__thrift_corrupt(t, "FileMetaData lacks schema, num_rows "
                                     "or row_groups");
    return LC_OK;
}

/* ---- PageHeader ----------------------------------------------------------
 */

static int parse_data_page_header(struct lc__thrift *t,
                                  struct lc__pq_page_header *h, bool v2)
{
    int16_t last = 0;
    unsigned seen = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        int32_t *field = NULL;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (!v2) {
            switch (id) {
            case 1:
                field = &h->num_values;
                break;
            case 2:
                field = &h->encoding;
                break;
            case 3:
                field = &h->def_encoding;
                break;
            case 4:
                field = &h->rep_encoding;
                break;
            default:
                break;
            }
        } else {
            switch (id) {
            case 1:
                field = &h->num_values;
                break;
            case 2:
                field = &h->num_nulls;
                break;
            case 3:
                field = &h->num_rows;
                break;
            case 4:
                field = &h->encoding;
                break;
            case 5:
                field = &h->def_nbytes;
                break;
            case 6:
                field = &h->rep_nbytes;
                break;
            case 7:
                LC_FORWARD_IF_ERROR(th_bool(t, type, &h->is_compressed));
                continue;
            default:
                break;
            }
        }
        if (field != NULL) {
            LC_FORWARD_IF_ERROR(th_i32(t, type, field));
            seen |= 1u << (id - 1);
        } else {
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
        }
    }
    th_leave(t);
    unsigned need = v2 ? 0x3f : 0x0f;
    if ((seen & need) != need)
        return lc__thrift_corrupt(t, v2 ? "DataPageHeaderV2 lacks a required "
                                          "field"
                                        : "DataPageHeader lacks a required "
                                          "field");
    return LC_OK;
}

static int parse_dict_page_header(struct lc__thrift *t,
                                  struct lc__pq_page_header *h)
{
    int16_t last = 0;
    unsigned seen = 0;

    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        if (id == 1) {
            LC_FORWARD_IF_ERROR(th_i32(t, type, &h->num_values));
            seen |= 1;
        } else if (id == 2) {
            LC_FORWARD_IF_ERROR(th_i32(t, type, &h->encoding));
            seen |= 2;
        } else {
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
        }
    }
    th_leave(t);
    if (seen != 3)
        return lc__thrift_corrupt(t, "DictionaryPageHeader lacks a required "
                                     "field");
    return LC_OK;
}

int lc__pq_parse_page_header(struct lc__thrift *t, struct lc__pq_page_header *h)
{
    int16_t last = 0;
    unsigned seen = 0;
    int sub = 0; /* field id of the sub-header parsed */

    memset(h, 0, sizeof(*h));
    h->is_compressed = true;
    LC_FORWARD_IF_ERROR(th_enter(t));
    for (;;) {
        int type = 0;
        int16_t id = 0;
        LC_FORWARD_IF_ERROR(th_field(t, &last, &type, &id));
        if (type == LC_TH_STOP)
            break;
        switch (id) {
        case 1:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &h->type));
            seen |= 1;
            break;
        case 2:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &h->uncompressed_page_size));
            seen |= 2;
            break;
        case 3:
            LC_FORWARD_IF_ERROR(th_i32(t, type, &h->compressed_page_size));
            seen |= 4;
            break;
        case 5:
        case 7:
        case 8:
            /* The sub-header of the page's type; the others, should a
             * writer add them, are skipped. Type (field 1) comes first in
             * every writer, but do not rely on it. */
            if (type != LC_TH_STRUCT)
                return lc__thrift_corrupt(t, "page sub-header is no struct");
            if (sub == 0 && id == 5 && (!(seen & 1) || h->type == 0)) {
                LC_FORWARD_IF_ERROR(parse_data_page_header(t, h, false));
                sub = id;
            } else if (sub == 0 && id == 7 && (!(seen & 1) || h->type == 2)) {
                LC_FORWARD_IF_ERROR(parse_dict_page_header(t, h));
                sub = id;
            } else if (sub == 0 && id == 8 && (!(seen & 1) || h->type == 3)) {
                LC_FORWARD_IF_ERROR(parse_data_page_header(t, h, true));
                sub = id;
            } else {
                LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            }
            break;
        default:
            LC_FORWARD_IF_ERROR(th_skip(t, type, false));
            break;
        }
    }
    th_leave(t);
    if (seen != 7)
        return lc__thrift_corrupt(t, "PageHeader lacks type or sizes");
    static const int want[4] = {5, 0, 7, 8}; /* by page type */
    if (h->type >= 0 && h->type <= 3 && want[h->type] != 0 &&
        sub != want[h->type])
        return lc__thrift_corrupt(t, "PageHeader lacks the header of its "
                                     "page type");
    return LC_OK;
}
