/* parquet_dump.c - prints Parquet columns as JSON lines, the C side of the
 * pyarrow oracle (tests/python/test_parquet_oracle.py). Not a CTest. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "parquet_glue.h"

/*
 * Usage: parquet_dump [options] PATH [COLUMN...]
 *
 * Without options, prints one JSON object per row holding the top-level
 * columns named (all of them when none is), nested values rebuilt from
 * the leaves' arrays the way pyarrow's to_pylist() shows them: structs as
 * objects, lists as arrays, maps as arrays of [key, value] pairs. Values:
 * integers as numbers (timestamps, dates and times in the file's unit,
 * INT96 in nanoseconds), floats exactly (%.17g; NaN, Infinity), strings
 * as strings, other byte arrays as "hex:...".
 *
 * Options:
 *   --schema      one JSON line per leaf column (path, short path, types,
 *                 levels) instead of rows
 *   --info        one JSON line: rows, row groups, created_by, columns
 *   --meta KEY    the key-value metadata value of KEY, raw
 *   --stats       one JSON line per row group and leaf with its statistics
 *   --rg LIST     read only these row groups (comma-separated)
 *   --dataset     PATH is a dataset (directory, Hive partitions, glob);
 *                 partition keys print as string columns
 *   --io-stats    print "requests N bytes M" of the file's reads to stderr
 *   --keep K,M    read only rows r of row group g (r counted from 0 in the
 *                 row group) with (7 r + 3 g) mod K < M (a row selection)
 *   --keep-range A,B  read only rows A <= r < B of each row group
 *   --threads N   decoding threads (0: the default)
 * Exit status 0, or 1 with the error name and message on stderr.
 */

/* The row selection of --keep / --keep-range: bitmaps made on demand. */
struct keep {
    bool on;
    unsigned long k, m, a, b;
    uint8_t **maps;
    size_t nmaps;
};

static const uint8_t *keep_map(struct keep *kp, size_t rg, uint64_t rows)
{
    if (!kp->on)
        return NULL;
    uint8_t *map = calloc(rows / 8 + 1, 1);
    kp->maps = realloc(kp->maps, (kp->nmaps + 1) * sizeof *kp->maps);
    kp->maps[kp->nmaps++] = map;
    for (uint64_t r = 0; r < rows; r++) {
        bool in = kp->k > 0 ? (7 * r + 3 * rg) % kp->k < kp->m
                            : r >= kp->a && r < kp->b;
        if (in)
            map[r >> 3] |= (uint8_t)(1u << (r & 7));
    }
    return map;
}

static bool keep_filter(void *opaque, const struct lc__parquet_file *f,
                        size_t fi, size_t rg, const uint8_t **rows_ret)
{
    (void)fi;
    *rows_ret = keep_map(opaque, rg, lc__parquet_row_group_num_rows(f, rg));
    return true;
}

struct dump {
    const struct lc__parquet_file *f; /* schema (first file) */
    const struct lc__parquet_table *t;
    size_t *array_of_leaf; /* leaf index -> table column, SIZE_MAX */
};

/* ---- JSON output ----------------------------------------------------------
 */

static void put_string(const uint8_t *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            putchar('\\');
            putchar(c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

static void put_hex(const uint8_t *s, size_t n)
{
    printf("\"hex:");
    for (size_t i = 0; i < n; i++)
        printf("%02x", s[i]);
    putchar('"');
}

static void put_double(double v)
{
    if (isnan(v))
        printf("NaN");
    else if (isinf(v))
        printf(v > 0 ? "Infinity" : "-Infinity");
    else
        printf("%.17g", v);
}

static bool is_text(const struct lc__parquet_logical_type *lt)
{
    return lt->kind == LC_PQ_LOGICAL_STRING || lt->kind == LC_PQ_LOGICAL_ENUM ||
           lt->kind == LC_PQ_LOGICAL_JSON;
}

/* A DECIMAL as "dec:<unscaled integer>" (INT32, INT64, or big-endian two's
 * complement bytes of up to 16 bytes; longer ones as hex). */
static void put_decimal(const struct lc__parquet_array *a, size_t k)
{
    const uint8_t *p;
    size_t n;

    if (a->column->type == LC_PQ_INT32 || a->column->type == LC_PQ_INT64) {
        int64_t x = 0;
        if (a->column->type == LC_PQ_INT32) {
            int32_t y;
            memcpy(&y, (const uint8_t *)a->values + 4 * k, 4);
            x = y;
        } else {
            memcpy(&x, (const uint8_t *)a->values + 8 * k, 8);
        }
        printf("\"dec:%" PRId64 "\"", x);
        return;
    }
    if (a->column->type == LC_PQ_BYTE_ARRAY) {
        p = a->data + a->offsets[k];
        n = a->offsets[k + 1] - a->offsets[k];
    } else {
        p = (const uint8_t *)a->values + k * a->value_nbytes;
        n = a->value_nbytes;
    }
    if (n == 0 || n > 16) {
        put_hex(p, n);
        return;
    }
    __int128 x = (p[0] & 0x80) ? -1 : 0;
    for (size_t i = 0; i < n; i++)
        x = (__int128)(((unsigned __int128)x << 8) | p[i]);
    char buf[48], *q = buf + sizeof(buf);
    bool neg = x < 0;
    unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)x
                              : (unsigned __int128)x;
    *--q = '\0';
    do {
        *--q = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    if (neg)
        *--q = '-';
    printf("\"dec:%s\"", q);
}

/* Prints value slot k of leaf array a. */
static void put_value(const struct lc__parquet_array *a, size_t k)
{
    const struct lc__parquet_column *c = a->column;
    const struct lc__parquet_logical_type *lt = &c->logical;
    bool is_unsigned = lt->kind == LC_PQ_LOGICAL_INTEGER && !lt->is_signed;

    if (!lc__parquet_valid(a, a->depth - 1, k) ||
        lt->kind == LC_PQ_LOGICAL_NULL) {
        printf("null");
        return;
    }
    const uint8_t *v = (const uint8_t *)a->values + k * a->value_nbytes;
    if (lt->kind == LC_PQ_LOGICAL_DECIMAL) {
        put_decimal(a, k);
        return;
    }
    switch (c->type) {
    case LC_PQ_BOOLEAN:
        printf(v[0] ? "true" : "false");
        return;
    case LC_PQ_INT32: {
        int32_t x;
        memcpy(&x, v, 4);
        if (is_unsigned)
            printf("%" PRIu32, (uint32_t)x);
        else
            printf("%" PRId32, x);
        return;
    }
    case LC_PQ_INT64: {
        int64_t x;
        memcpy(&x, v, 8);
        if (is_unsigned)
            printf("%" PRIu64, (uint64_t)x);
        else
            printf("%" PRId64, x);
        return;
    }
    case LC_PQ_INT96:
        printf("%" PRId64, lc__parquet_int96_ns(v));
        return;
    case LC_PQ_FLOAT: {
        float x;
        memcpy(&x, v, 4);
        put_double((double)x);
        return;
    }
    case LC_PQ_DOUBLE: {
        double x;
        memcpy(&x, v, 8);
        put_double(x);
        return;
    }
    case LC_PQ_BYTE_ARRAY: {
        const uint8_t *s = a->data + a->offsets[k];
        size_t n = a->offsets[k + 1] - a->offsets[k];
        if (is_text(lt))
            put_string(s, n);
        else
            put_hex(s, n);
        return;
    }
    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
        put_hex(v, a->value_nbytes);
        return;
    }
}

/* ---- nested values ---------------------------------------------------------
 */

/* The array of the first leaf below node n, and n's index on its path. */
static const struct lc__parquet_array *array_for(const struct dump *d, size_t n,
                                                 size_t *level_ret)
{
    const struct lc__parquet_node *nd = lc__parquet_node(d->f, n);
    size_t level = 0;
    for (size_t k = n; lc__parquet_node(d->f, k)->parent != 0; level++)
        k = lc__parquet_node(d->f, k)->parent;
    while (nd->kind != LC_PQ_NODE_PRIMITIVE) {
        if (nd->nchildren == 0)
            return NULL;
        nd = lc__parquet_node(d->f, nd->children[0]);
    }
    *level_ret = level;
    size_t i = d->array_of_leaf[nd->leaf];
    return i == SIZE_MAX ? NULL : &d->t->columns[i];
}

static void put_node(const struct dump *d, size_t n, size_t k);

/* The value of a repeated node's element j: a leaf value or a struct. */
static void put_element(const struct dump *d, size_t n, size_t j);

/* Elements of repeated node r in parent slot k, as a JSON array (or pairs
 * for a map's key_value). */
static void put_repeated(const struct dump *d, size_t r, size_t k, bool map,
                         size_t element)
{
    size_t level;
    const struct lc__parquet_array *a = array_for(d, r, &level);
    const struct lc__parquet_node *rn = lc__parquet_node(d->f, r);

    putchar('[');
    if (a != NULL) {
        const size_t *off = a->levels[level].offsets;
        for (size_t j = off[k]; j < off[k + 1]; j++) {
            if (j > off[k])
                putchar(',');
            if (map) {
                putchar('[');
                put_node(d, rn->children[0], j);
                putchar(',');
                if (rn->nchildren > 1)
                    put_node(d, rn->children[1], j);
                else
                    printf("null");
                putchar(']');
            } else if (element == r) {
                put_element(d, r, j);
            } else {
                put_node(d, element, j);
            }
        }
    }
    putchar(']');
}

static void put_fields(const struct dump *d, size_t n, size_t k)
{
    const struct lc__parquet_node *nd = lc__parquet_node(d->f, n);

    putchar('{');
    for (size_t i = 0; i < nd->nchildren; i++) {
        const struct lc__parquet_node *c =
            lc__parquet_node(d->f, nd->children[i]);
        if (i > 0)
            putchar(',');
        put_string((const uint8_t *)c->name, strlen(c->name));
        putchar(':');
        if (c->repetition == LC_PQ_REPEATED)
            put_repeated(d, nd->children[i], k, false, nd->children[i]);
        else
            put_node(d, nd->children[i], k);
    }
    putchar('}');
}

static void put_element(const struct dump *d, size_t n, size_t j)
{
    const struct lc__parquet_node *nd = lc__parquet_node(d->f, n);
    size_t level;
    const struct lc__parquet_array *a = array_for(d, n, &level);

    if (nd->kind == LC_PQ_NODE_PRIMITIVE)
        put_value(a, j);
    else
        put_fields(d, n, j);
}

static void put_node(const struct dump *d, size_t n, size_t k)
{
    const struct lc__parquet_node *nd = lc__parquet_node(d->f, n);
    size_t level;
    const struct lc__parquet_array *a = array_for(d, n, &level);

    if (a == NULL) {
        printf("{}");
        return;
    }
    if (nd->repetition == LC_PQ_REPEATED) {
        /* A repeated field outside LIST/MAP: a list in its parent slot. */
        put_repeated(d, n, k, false, n);
        return;
    }
    if (nd->repetition == LC_PQ_OPTIONAL && !lc__parquet_valid(a, level, k)) {
        printf("null");
        return;
    }
    switch (nd->kind) {
    case LC_PQ_NODE_PRIMITIVE:
        put_value(a, k);
        return;
    case LC_PQ_NODE_STRUCT:
        put_fields(d, n, k);
        return;
    case LC_PQ_NODE_LIST:
        put_repeated(d, nd->children[0], k, false, nd->element);
        return;
    case LC_PQ_NODE_MAP:
        put_repeated(d, nd->children[0], k, true, nd->element);
        return;
    }
}

/* ---- commands --------------------------------------------------------------
 */

static const char *type_names[] = {
    "BOOLEAN", "INT32",  "INT64",      "INT96",
    "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY",
};

static void put_schema(const struct lc__parquet_file *f)
{
    for (size_t i = 0; i < lc__parquet_num_columns(f); i++) {
        const struct lc__parquet_column *c = lc__parquet_column(f, i);
        size_t idx = SIZE_MAX;
        printf("{\"path\":");
        put_string((const uint8_t *)c->path, strlen(c->path));
        printf(",\"parts\":[");
        for (size_t k = 0; k < c->depth; k++) {
            if (k > 0)
                putchar(',');
            put_string((const uint8_t *)c->path_parts[k],
                       strlen(c->path_parts[k]));
        }
        printf("],\"type\":\"%s\",\"type_length\":%d,\"logical\":%d,"
               "\"unit\":%d,\"utc\":%s,\"max_def\":%u,\"max_rep\":%u",
               type_names[c->type], (int)c->type_length, (int)c->logical.kind,
               (int)c->logical.unit, c->logical.utc ? "true" : "false",
               (unsigned)c->max_def, (unsigned)c->max_rep);
        lc__parquet_find_column(f, c->path, &idx);
        printf(",\"found\":%zu}\n", idx);
    }
}

static void put_stats(const struct lc__parquet_file *f)
{
    for (size_t g = 0; g < lc__parquet_num_row_groups(f); g++) {
        for (size_t i = 0; i < lc__parquet_num_columns(f); i++) {
            const struct lc__parquet_column *c = lc__parquet_column(f, i);
            struct lc__parquet_stats s;
            lc__parquet_column_stats(f, g, i, &s);
            printf("{\"rg\":%zu,\"path\":", g);
            put_string((const uint8_t *)c->path, strlen(c->path));
            struct lc__parquet_chunk_info ci;
            lc__parquet_chunk_info(f, g, i, &ci);
            printf(",\"num_values\":%" PRIu64
                   ",\"codec\":%d,\"offset\":%" PRIu64 ",\"nbytes\":%" PRIu64,
                   s.num_values, (int)ci.codec, ci.offset, ci.nbytes);
            if (s.has_null_count)
                printf(",\"null_count\":%" PRIu64, s.null_count);
            if (s.has_min_max) {
                const struct lc__parquet_bound *b[2] = {&s.min, &s.max};
                for (int k = 0; k < 2; k++) {
                    printf(",\"%s\":", k == 0 ? "min" : "max");
                    switch (c->type) {
                    case LC_PQ_BOOLEAN:
                        printf(b[k]->v.b ? "true" : "false");
                        break;
                    case LC_PQ_INT32:
                        printf("%" PRId32, b[k]->v.i32);
                        break;
                    case LC_PQ_INT64:
                        printf("%" PRId64, b[k]->v.i64);
                        break;
                    case LC_PQ_FLOAT:
                        put_double(b[k]->v.f32);
                        break;
                    case LC_PQ_DOUBLE:
                        put_double(b[k]->v.f64);
                        break;
                    case LC_PQ_INT96:
                    case LC_PQ_BYTE_ARRAY:
                    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
                        put_hex(b[k]->bytes, b[k]->nbytes);
                        break;
                    }
                }
            }
            printf("}\n");
        }
    }
}

static int fail(int status, const struct lc__errbuf *err)
{
    fprintf(stderr, "%s: %s\n", lc_err_name(status),
            err->msg[0] != '\0' ? err->msg : lc_strerror(status));
    return 1;
}

int main(int argc, char **argv)
{
    bool schema = false, info = false, stats = false, dataset = false;
    bool io_stats = false;
    const char *meta = NULL, *rg_list = NULL, *path = NULL;
    struct keep kp = {0};
    unsigned nthreads = 0;
    int first_col = argc;
    struct lc__errbuf err = {0};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--schema") == 0) {
            schema = true;
        } else if (strcmp(argv[i], "--info") == 0) {
            info = true;
        } else if (strcmp(argv[i], "--stats") == 0) {
            stats = true;
        } else if (strcmp(argv[i], "--dataset") == 0) {
            dataset = true;
        } else if (strcmp(argv[i], "--io-stats") == 0) {
            io_stats = true;
        } else if (strcmp(argv[i], "--meta") == 0 && i + 1 < argc) {
            meta = argv[++i];
        } else if (strcmp(argv[i], "--rg") == 0 && i + 1 < argc) {
            rg_list = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
            kp.on = sscanf(argv[++i], "%lu,%lu", &kp.k, &kp.m) == 2 && kp.k > 0;
        } else if (strcmp(argv[i], "--keep-range") == 0 && i + 1 < argc) {
            kp.on = sscanf(argv[++i], "%lu,%lu", &kp.a, &kp.b) == 2;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            nthreads = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            path = argv[i];
            first_col = i + 1;
            break;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: parquet_dump [--schema|--info|--stats|--meta "
                        "KEY] [--rg LIST] [--dataset] [--io-stats] PATH "
                        "[COLUMN...]\n");
        return 2;
    }

    struct lc__parquet_file *file = NULL;
    struct lc__parquet_dataset *ds = NULL;
    struct lc__io *io = NULL;
    int status;
    if (dataset) {
        struct lc__parquet_opener op = lc_glue_opener();
        status = lc__parquet_dataset_open(path, &op, NULL, NULL, &ds, &err);
        if (status < 0)
            return fail(status, &err);
        file = lc__parquet_dataset_file(ds, 0);
    } else {
        status = lc__io_open_href(path, NULL, NULL, &io, &err);
        if (status < 0)
            return fail(status, &err);
        struct lc__parquet_source src = lc_glue_source(io);
        status = lc__parquet_open(&src, NULL, NULL, &file, &err);
        if (status < 0)
            return fail(status, &err);
    }
    const struct lc__parquet_file *f = file;
    int rc = 0;

    if (schema) {
        put_schema(f);
        goto out;
    }
    if (stats) {
        put_stats(f);
        goto out;
    }
    if (meta != NULL) {
        const uint8_t *v;
        size_t n;
        if (lc__parquet_metadata(f, meta, &v, &n) != LC_OK) {
            rc = 1;
            goto out;
        }
        fwrite(v, 1, n, stdout);
        goto out;
    }
    if (info) {
        printf("{\"num_rows\":%" PRIu64 ",\"row_groups\":[",
               lc__parquet_num_rows(f));
        for (size_t g = 0; g < lc__parquet_num_row_groups(f); g++)
            printf("%s%" PRIu64, g ? "," : "",
                   lc__parquet_row_group_num_rows(f, g));
        printf("],\"created_by\":");
        put_string((const uint8_t *)lc__parquet_created_by(f),
                   strlen(lc__parquet_created_by(f)));
        printf(",\"columns\":%zu,\"file_nbytes\":%" PRIu64 "}\n",
               lc__parquet_num_columns(f), lc__parquet_file_nbytes(f));
        goto out;
    }

    /* The top-level fields to print, and every leaf below them. */
    const struct lc__parquet_node *root = lc__parquet_node(f, 0);
    size_t nfields = 0;
    size_t *fields = calloc(root->nchildren + (size_t)argc + 1, sizeof(size_t));
    const char **keys = calloc((size_t)argc + 1, sizeof(char *));
    size_t nkeys = 0;
    for (int i = first_col; i < argc; i++) {
        bool found = false;
        for (size_t k = 0; k < root->nchildren; k++) {
            if (strcmp(lc__parquet_node(f, root->children[k])->name, argv[i]) ==
                0) {
                fields[nfields++] = root->children[k];
                found = true;
                break;
            }
        }
        if (!found && ds != NULL) {
            for (size_t k = 0; k < lc__parquet_dataset_num_keys(ds); k++) {
                if (strcmp(lc__parquet_dataset_key(ds, k), argv[i]) == 0) {
                    keys[nkeys++] = argv[i];
                    found = true;
                }
            }
        }
        if (!found) {
            fprintf(stderr, "LC_ENOTFOUND: no top-level column '%s'\n",
                    argv[i]);
            rc = 1;
            free(fields);
            free((void *)keys);
            goto out;
        }
    }
    if (first_col >= argc) {
        for (size_t k = 0; k < root->nchildren; k++)
            fields[nfields++] = root->children[k];
        for (size_t k = 0; ds != NULL && k < lc__parquet_dataset_num_keys(ds);
             k++)
            keys[nkeys++] = lc__parquet_dataset_key(ds, k);
    }
    size_t ncols = lc__parquet_num_columns(f);
    size_t *leaves = calloc(ncols + nkeys + 1, sizeof(size_t));
    size_t nleaves = 0;
    for (size_t i = 0; i < ncols; i++) {
        const struct lc__parquet_column *c = lc__parquet_column(f, i);
        for (size_t k = 0; k < nfields; k++) {
            if (c->path_nodes[0] == fields[k])
                leaves[nleaves++] = i;
        }
    }
    struct lc__parquet_table *t = NULL;
    size_t *rgs = NULL, nrgs = 0;
    if (rg_list != NULL) {
        rgs = calloc(strlen(rg_list) + 1, sizeof(size_t));
        for (const char *p = rg_list; *p != '\0';) {
            char *end;
            rgs[nrgs++] = strtoul(p, &end, 10);
            p = *end == ',' ? end + 1 : end;
            if (end == p && *p != '\0')
                break;
        }
    }
    if (ds != NULL) {
        const char **paths = calloc(nleaves + nkeys + 1, sizeof(char *));
        for (size_t i = 0; i < nleaves; i++)
            paths[i] = lc__parquet_column(f, leaves[i])->path;
        for (size_t i = 0; i < nkeys; i++)
            paths[nleaves + i] = keys[i];
        struct lc__parquet_dataset_read_options ro = {
            .filter = kp.on ? keep_filter : NULL,
            .opaque = &kp,
            .nthreads = nthreads};
        status = lc__parquet_dataset_read_ex(ds, paths, nleaves + nkeys, &ro,
                                             &t, &err);
        free((void *)paths);
    } else {
        size_t n = rgs != NULL ? nrgs : lc__parquet_num_row_groups(f);
        const uint8_t **rows = calloc(n + 1, sizeof *rows);
        for (size_t i = 0; i < n; i++) {
            size_t rg = rgs != NULL ? rgs[i] : i;
            rows[i] = keep_map(&kp, rg, lc__parquet_row_group_num_rows(f, rg));
        }
        struct lc__parquet_read_options opts = {.row_groups = rgs,
                                                .nrow_groups = nrgs,
                                                .rows = kp.on ? rows : NULL,
                                                .nthreads = nthreads};
        status = lc__parquet_read(file, leaves, nleaves, &opts, &t, &err);
        free((void *)rows);
    }
    free(rgs);
    for (size_t i = 0; i < kp.nmaps; i++)
        free(kp.maps[i]);
    free((void *)kp.maps);
    if (status < 0) {
        rc = fail(status, &err);
    } else {
        struct dump d = {.f = f, .t = t};
        d.array_of_leaf = malloc((ncols + 1) * sizeof(size_t));
        for (size_t i = 0; i < ncols; i++)
            d.array_of_leaf[i] = SIZE_MAX;
        for (size_t i = 0; i < nleaves; i++)
            d.array_of_leaf[leaves[i]] = i;
        for (size_t row = 0; row < t->nrows; row++) {
            putchar('{');
            for (size_t k = 0; k < nfields; k++) {
                const char *name = lc__parquet_node(f, fields[k])->name;
                if (k > 0)
                    putchar(',');
                put_string((const uint8_t *)name, strlen(name));
                putchar(':');
                put_node(&d, fields[k], row);
            }
            for (size_t k = 0; k < nkeys; k++) {
                const struct lc__parquet_array *a = &t->columns[nleaves + k];
                if (k > 0 || nfields > 0)
                    putchar(',');
                put_string((const uint8_t *)keys[k], strlen(keys[k]));
                putchar(':');
                put_value(a, row);
            }
            printf("}\n");
        }
        free(d.array_of_leaf);
    }
    lc__parquet_table_free(t);
    free(leaves);
    free(fields);
    free((void *)keys);
out:
    if (io_stats && ds == NULL) {
        uint64_t nreq, nbytes;
        lc__io_stats(io, &nreq, &nbytes);
        fprintf(stderr, "requests %" PRIu64 " bytes %" PRIu64 "\n", nreq,
                nbytes);
    }
    if (ds != NULL)
        lc__parquet_dataset_close(ds);
    else
        lc__parquet_close(file);
    return rc;
}
