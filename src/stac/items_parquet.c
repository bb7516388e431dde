/* items_parquet.c - the stac-geoparquet loader: a parquet dataset into an
 * item table. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "../codec/codec.h"
#include "../common/alloc.h"
#include "../common/isotime.h"
#include "../common/text.h"
#include "items_internal.h"

/*
 * The loader works in three steps:
 *
 *   1. schema (first file): find the leaves the table needs - id, the
 *      times, bbox, the geometry named by the "geo" metadata, per asset
 *      key href, type, roles, proj:* and raster:bands, the requested properties
 *      and asset fields (every leaf below them) - check their types, and
 *      list their paths once each ("slots");
 *   2. with a bbox or datetime pushdown, a scan (lc__parquet_dataset_scan)
 *      of the bbox and time columns only, over the row groups that the
 *      statistics do not rule out (the row-group filter, which also
 *      remembers which rows of which file it let through, for messages
 *      naming the file and row): per row group, the rows that may meet
 *      the query (scan_rows) become candidates, up to max_items, and
 *      their times and bbox are kept;
 *   3. a scan of the other columns - of the candidates' rows only, in the
 *      row groups that have any (or, without pushdown, of every column
 *      and row the row-group filter lets through, up to max_items) - that
 *      fills the table row group by row group (fill_rows) while the next
 *      ones decode, copying strings and geometries into the table's
 *      arena. Repeated strings (media types, roles, proj:code) are shared
 *      through a small cache of recent values.
 *
 * All files of a dataset have the same leaf columns (the dataset checks),
 * so the schema of the first one describes all of them. Rows are named
 * 0-based within their file, as pyarrow numbers them.
 */

#define NONE SIZE_MAX

/* Statistics columns of the pushdown. */
enum { ST_XMIN, ST_YMIN, ST_XMAX, ST_YMAX, ST_DT, ST_START, ST_END, ST_N };

/* The rows of one row group let through: where they come from and where
 * they are in the (first) table read; with the row-level pushdown, which
 * of them are candidates (a bitmap at bits + sel_at, kept of them). */
struct segment {
    size_t file, rg;
    uint64_t file_row;
    size_t table_row;
    size_t rows;
    size_t sel_at, kept;
};

/* Slots of one asset's fields (or of the item-level proj:* fallbacks). */
struct asset_cols {
    size_t node; /* the asset's struct node, NONE */
    size_t href, type, roles, code, epsg, transform, shape;
    size_t nodata, data_type, scale, offset;
    size_t bands; /* a leaf below raster:bands whose outer list counts the
                     bands */
};

/* Recently interned strings, to share repeated values. */
#define CACHE_N 8
struct strcache {
    const char *s[CACHE_N];
    size_t n[CACHE_N];
    unsigned next;
};

/* A value that did not read, kept to be reported in table order. */
struct row_error {
    size_t item; /* SIZE_MAX: none */
    int status;
    char msg[LC_ERRMSG_CAP / 2];
};

struct loader {
    struct lc__parquet_dataset *ds;
    const struct lc__stac_load_options *opts;
    const struct lc_allocator *alloc;
    struct lc__parquet_file *f0;
    const char *name; /* of the first file, for schema messages */
    struct lc__errbuf *err;

    /* Projection: paths[npaths], each leaf (or Hive key) once. */
    size_t nleaves, nkeys;
    const char **paths;
    size_t npaths;
    size_t *slot_of_leaf; /* [nleaves] */
    size_t *slot_of_key;  /* [nkeys] */

    size_t id, times[3], geometry, bbox[4], bbox_list;
    size_t assets_node; /* the assets struct, NONE */
    const char **keys;  /* asset keys (borrowed names) */
    size_t nkeys_assets;
    struct asset_cols *acols; /* [nkeys_assets] */
    struct asset_cols item;   /* item-level proj:* */

    /* Pushdown and row bookkeeping (the row-group filter). */
    const char *stat_path[ST_N];
    size_t stat_leaf[ST_N];
    size_t stat_file;
    uint64_t file_row;
    size_t loaded;
    struct segment *segs;
    size_t nsegs, segcap;

    /*
     * The row-level pushdown (two_phase): phase 1 scans the columns the
     * bbox and datetime tests need (in_phase1 slots), one row group at a
     * time (t1), and keeps as candidates the rows that may meet the query,
     * with their times and bbox; phase 2 scans the other columns of the
     * candidates only. Rows are counted over the row groups the filter
     * lets through, as the segments count them: item i is row cand[i].
     * Without it, one scan reads every column and item i is row i.
     */
    bool two_phase, phase1;
    bool *in_phase1;    /* [npaths] */
    size_t *col_of;     /* [npaths]: column of the slot in its table */
    bool times1, bbox1; /* the times, the bbox are phase-1 columns */
    const struct lc__parquet_table *t1; /* the row group being scanned */
    uint8_t *bits;
    uint8_t *head_bits; /* the first max_items rows (one phase) */
    uint8_t *mask;      /* [rows of a row group] */
    size_t mask_cap;    /* bytes of mask */
    size_t seg;         /* the segment being scanned */
    size_t cursor;      /* the phase-2 filter's segment */
    /* Candidates: their rows (counted as segments count them) and what
     * phase 1 read of them; the first bad time of each column and the
     * first bad bbox, reported when the table is filled. */
    size_t ncand, cand_cap;
    size_t *cand;
    int64_t *ctime;            /* [3 * ncand] */
    struct lc__envelope *cbox; /* [ncand]; empty: none */
    struct row_error time_err[3], bbox_err;

    /* The rows being filled in: those of one row group (t), items base to
     * base + nview of the table. */
    const struct lc__parquet_table *t;
    size_t base, nview, visited;
    struct lc__stac_items *items;
    struct lc__strbuf sb;     /* JSON rendering, reused */
    struct lc__arena scratch; /* values while rendering one */
};

static const char *const type_names[] = {
    "BOOLEAN", "INT32",  "INT64",      "INT96",
    "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY",
};

static const char *type_name(enum lc__parquet_type t)
{
    return (unsigned)t < LC_ARRAY_SIZE(type_names) ? type_names[t] : "?";
}

/* ---- schema ---------------------------------------------------------------
 */

static const struct lc__parquet_node *node_at(const struct loader *L, size_t n)
{
    return lc__parquet_node(L->f0, n);
}

static const struct lc__parquet_column *leaf_at(const struct loader *L,
                                                size_t leaf)
{
    return lc__parquet_column(L->f0, leaf);
}

/* The child of node parent named name, or NONE. */
static size_t child_named(const struct loader *L, size_t parent,
                          const char *name)
{
    if (parent == NONE)
        return NONE;
    const struct lc__parquet_node *p = node_at(L, parent);
    for (size_t i = 0; i < p->nchildren; i++)
        if (strcmp(node_at(L, p->children[i])->name, name) == 0)
            return p->children[i];
    return NONE;
}

/* Index of node n on the paths of its leaves (0 for a top-level field). */
static size_t node_level(const struct loader *L, size_t n)
{
    size_t level = 0;
    while (node_at(L, n)->parent != 0 && node_at(L, n)->parent != NONE) {
        n = node_at(L, n)->parent;
        level++;
    }
    return level;
}

/* The dotted path of node n, for messages. */
static void node_path(const struct loader *L, size_t n, char *buf, size_t cap)
{
    size_t chain[64], depth = 0;
    for (size_t k = n; k != 0 && k != NONE && depth < 64;
         k = node_at(L, k)->parent)
        chain[depth++] = k;
    size_t len = 0;
    buf[0] = '\0';
    while (depth > 0 && len + 1 < cap) {
        int w = snprintf(buf + len, cap - len, "%s%s", len > 0 ? "." : "",
                         node_at(L, chain[--depth])->name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* What node n is, for messages: "INT64", "a struct", "a list of DOUBLE". */
static void describe(const struct loader *L, size_t n, char *buf, size_t cap)
{
    const struct lc__parquet_node *nd = node_at(L, n);
    switch (nd->kind) {
    case LC_PQ_NODE_PRIMITIVE:
        snprintf(buf, cap, "%s%s",
                 nd->repetition == LC_PQ_REPEATED ? "a repeated " : "",
                 type_name(nd->type));
        return;
    case LC_PQ_NODE_STRUCT:
        snprintf(buf, cap, "a struct");
        return;
    case LC_PQ_NODE_MAP:
        snprintf(buf, cap, "a map");
        return;
    case LC_PQ_NODE_LIST: {
        const struct lc__parquet_node *e = node_at(L, nd->element);
        if (e->kind == LC_PQ_NODE_PRIMITIVE)
            snprintf(buf, cap, "a list of %s", type_name(e->type));
        else
            snprintf(buf, cap, "a list of %s",
                     e->kind == LC_PQ_NODE_STRUCT ? "structs" : "lists");
        return;
    }
    }
    snprintf(buf, cap, "?");
}

static int type_error(const struct loader *L, size_t n, const char *expected)
{
    char path[256], what[64];
    node_path(L, n, path, sizeof path);
    describe(L, n, what, sizeof what);
    return lc__error(L->err, LC_ECORRUPT, "%s: column '%s' is %s, expected %s",
                     L->name, path, what, expected);
}

static bool is_string_leaf(const struct lc__parquet_column *c)
{
    enum lc__parquet_logical k = c->logical.kind;
    return c->type == LC_PQ_BYTE_ARRAY &&
           (k == LC_PQ_LOGICAL_NONE || k == LC_PQ_LOGICAL_STRING ||
            k == LC_PQ_LOGICAL_ENUM || k == LC_PQ_LOGICAL_JSON);
}

static bool is_number_leaf(const struct lc__parquet_column *c)
{
    enum lc__parquet_logical k = c->logical.kind;
    if (c->type == LC_PQ_INT32 || c->type == LC_PQ_INT64)
        return k == LC_PQ_LOGICAL_NONE || k == LC_PQ_LOGICAL_INTEGER;
    return c->type == LC_PQ_FLOAT || c->type == LC_PQ_DOUBLE;
}

static bool is_nodata_leaf(const struct lc__parquet_column *c)
{
    return is_number_leaf(c) || is_string_leaf(c);
}

static bool is_time_leaf(const struct lc__parquet_column *c)
{
    enum lc__parquet_logical k = c->logical.kind;
    return (c->type == LC_PQ_INT64 && k == LC_PQ_LOGICAL_TIMESTAMP) ||
           (c->type == LC_PQ_INT32 && k == LC_PQ_LOGICAL_DATE) ||
           c->type == LC_PQ_INT96 || is_string_leaf(c);
}

static bool is_wkb_leaf(const struct lc__parquet_column *c)
{
    return c->type == LC_PQ_BYTE_ARRAY &&
           c->logical.kind != LC_PQ_LOGICAL_DECIMAL;
}

/* Arrow's null type: a leaf that is always null, read as absent. */
static bool is_null_node(const struct loader *L, size_t n)
{
    const struct lc__parquet_node *nd = node_at(L, n);
    return nd->kind == LC_PQ_NODE_PRIMITIVE &&
           nd->logical.kind == LC_PQ_LOGICAL_NULL;
}

static size_t want_leaf(struct loader *L, size_t leaf)
{
    if (L->slot_of_leaf[leaf] == NONE) {
        L->slot_of_leaf[leaf] = L->npaths;
        L->paths[L->npaths++] = leaf_at(L, leaf)->path;
    }
    return L->slot_of_leaf[leaf];
}

/* Every leaf below node n (n included). */
static void want_subtree(struct loader *L, size_t n)
{
    const struct lc__parquet_node *nd = node_at(L, n);
    if (nd->kind == LC_PQ_NODE_PRIMITIVE) {
        want_leaf(L, nd->leaf);
        return;
    }
    for (size_t i = 0; i < nd->nchildren; i++)
        want_subtree(L, nd->children[i]);
}

/* The first leaf below node n. */
static size_t first_leaf(const struct loader *L, size_t n)
{
    const struct lc__parquet_node *nd = node_at(L, n);
    while (nd->kind != LC_PQ_NODE_PRIMITIVE) {
        if (nd->nchildren == 0)
            return NONE;
        nd = node_at(L, nd->children[0]);
    }
    return nd->leaf;
}

/*
 * The scalar field name of node parent (a struct in the rows' space):
 * *slot_ret is its slot, or NONE when the field is absent or always null.
 * A field of another type is LC_ECORRUPT.
 */
static int want_scalar(struct loader *L, size_t parent, const char *name,
                       bool (*ok)(const struct lc__parquet_column *),
                       const char *expected, size_t *slot_ret)
{
    *slot_ret = NONE;
    size_t n = child_named(L, parent, name);
    if (n == NONE || is_null_node(L, n))
        return LC_OK;
    const struct lc__parquet_node *nd = node_at(L, n);
    if (nd->kind != LC_PQ_NODE_PRIMITIVE || nd->repetition == LC_PQ_REPEATED ||
        !ok(leaf_at(L, nd->leaf)) || leaf_at(L, nd->leaf)->max_rep != 0)
        return type_error(L, n, expected);
    *slot_ret = want_leaf(L, nd->leaf);
    return LC_OK;
}

/* The same for a list of scalars, directly in the rows' space. */
static int want_list(struct loader *L, size_t parent, const char *name,
                     bool (*ok)(const struct lc__parquet_column *),
                     const char *expected, size_t *slot_ret)
{
    *slot_ret = NONE;
    size_t n = child_named(L, parent, name);
    if (n == NONE || is_null_node(L, n))
        return LC_OK;
    const struct lc__parquet_node *nd = node_at(L, n);
    if (nd->kind == LC_PQ_NODE_LIST && is_null_node(L, nd->element))
        return LC_OK;
    if (nd->kind != LC_PQ_NODE_LIST ||
        node_at(L, nd->element)->kind != LC_PQ_NODE_PRIMITIVE)
        return type_error(L, n, expected);
    const struct lc__parquet_column *c =
        leaf_at(L, node_at(L, nd->element)->leaf);
    if (!ok(c) || c->max_rep != 1)
        return type_error(L, n, expected);
    *slot_ret = want_leaf(L, c - leaf_at(L, 0));
    return LC_OK;
}

/* The proj:* columns below node (an asset, or the root). */
static int want_proj(struct loader *L, size_t node, struct asset_cols *ac)
{
    int status = want_scalar(L, node, "proj:code", is_string_leaf, "a string",
                             &ac->code);
    if (status == LC_OK)
        status = want_scalar(L, node, "proj:epsg", is_number_leaf, "an integer",
                             &ac->epsg);
    if (status == LC_OK)
        status = want_list(L, node, "proj:transform", is_number_leaf,
                           "a list of numbers", &ac->transform);
    if (status == LC_OK)
        status = want_list(L, node, "proj:shape", is_number_leaf,
                           "a list of integers", &ac->shape);
    return status;
}

/* A raster:bands column that is not the extension's list of structs is an
 * error, or with lenient_raster_bands left out (nothing of it is read). */
static int want_bands(struct loader *L, size_t asset, struct asset_cols *ac)
{
    bool lenient = L->opts->lenient_raster_bands;
    size_t n = child_named(L, asset, "raster:bands");
    if (n == NONE || is_null_node(L, n))
        return LC_OK;
    const struct lc__parquet_node *nd = node_at(L, n);
    if (nd->kind == LC_PQ_NODE_LIST && is_null_node(L, nd->element))
        return LC_OK;
    if (nd->kind != LC_PQ_NODE_LIST ||
        node_at(L, nd->element)->kind != LC_PQ_NODE_STRUCT ||
        node_at(L, n)->rep_level != 0)
        return lenient ? LC_OK : type_error(L, n, "a list of structs");
    size_t e = nd->element;
    struct {
        const char *name;
        bool (*ok)(const struct lc__parquet_column *);
        const char *expected;
        size_t *slot;
        size_t node;
    } fields[] = {
        {"nodata", is_nodata_leaf, "a number or a string", &ac->nodata, NONE},
        {"data_type", is_string_leaf, "a string", &ac->data_type, NONE},
        {"scale", is_number_leaf, "a number", &ac->scale, NONE},
        {"offset", is_number_leaf, "a number", &ac->offset, NONE},
    };
    /* Every field is checked before any is wanted. */
    for (size_t i = 0; i < LC_ARRAY_SIZE(fields); i++) {
        size_t c = child_named(L, e, fields[i].name);
        if (c == NONE || is_null_node(L, c))
            continue;
        const struct lc__parquet_node *cn = node_at(L, c);
        if (cn->kind != LC_PQ_NODE_PRIMITIVE ||
            cn->repetition == LC_PQ_REPEATED ||
            !fields[i].ok(leaf_at(L, cn->leaf)))
            return lenient ? LC_OK : type_error(L, c, fields[i].expected);
        fields[i].node = c;
    }
    for (size_t i = 0; i < LC_ARRAY_SIZE(fields); i++)
        if (fields[i].node != NONE)
            *fields[i].slot = want_leaf(L, node_at(L, fields[i].node)->leaf);
    size_t leaf = first_leaf(L, n);
    if (leaf != NONE)
        ac->bands = want_leaf(L, leaf);
    return LC_OK;
}

static int want_asset(struct loader *L, const char *key, struct asset_cols *ac)
{
    ac->node = child_named(L, L->assets_node, key);
    if (ac->node == NONE || node_at(L, ac->node)->kind != LC_PQ_NODE_STRUCT) {
        ac->node = NONE;
        return LC_OK;
    }
    int status =
        want_scalar(L, ac->node, "href", is_string_leaf, "a string", &ac->href);
    if (status == LC_OK && ac->href == NONE)
        return LC_OK; /* no asset of that key ever */
    if (status == LC_OK)
        status = want_scalar(L, ac->node, "type", is_string_leaf, "a string",
                             &ac->type);
    if (status == LC_OK)
        status = want_list(L, ac->node, "roles", is_string_leaf,
                           "a list of strings", &ac->roles);
    if (status == LC_OK)
        status = want_proj(L, ac->node, ac);
    if (status == LC_OK && !L->opts->without_raster_bands)
        status = want_bands(L, ac->node, ac);
    for (size_t i = 0; status == LC_OK && i < L->opts->nasset_fields; i++) {
        size_t f = child_named(L, ac->node, L->opts->asset_fields[i]);
        if (f != NONE)
            want_subtree(L, f);
    }
    return status;
}

/* The Hive key named name, or NONE. */
static size_t hive_key(const struct loader *L, const char *name)
{
    for (size_t k = 0; k < L->nkeys; k++)
        if (strcmp(lc__parquet_dataset_key(L->ds, k), name) == 0)
            return k;
    return NONE;
}

/*
 * Checks the "geo" metadata of file f (named fname): the primary column's
 * encoding must be WKB (or unsaid). For the first file, also finds the
 * geometry column's node in *node_ret (NONE when the file has none).
 */
static int check_geo(struct loader *L, const struct lc__parquet_file *f,
                     const char *fname, size_t *node_ret)
{
    const uint8_t *value;
    size_t nbytes;
    const char *primary = "geometry";
    json_t *geo = NULL;

    if (lc__parquet_metadata(f, "geo", &value, &nbytes) == LC_OK) {
        json_error_t jerr;
        geo = json_loadb((const char *)value, nbytes, 0, &jerr);
        if (geo == NULL || !json_is_object(geo)) {
            json_decref(geo);
            return lc__error(L->err, LC_ECORRUPT,
                             "%s: the 'geo' metadata is not a JSON object",
                             fname);
        }
        const char *p =
            json_string_value(json_object_get(geo, "primary_column"));
        if (p != NULL)
            primary = p;
        json_t *col = json_object_get(json_object_get(geo, "columns"), primary);
        json_t *enc = json_object_get(col, "encoding");
        if (enc != NULL && !json_is_string(enc)) {
            json_decref(geo);
            return lc__error(L->err, LC_ECORRUPT,
                             "%s: the 'geo' metadata gives column '%s' an "
                             "encoding that is not a string",
                             fname, primary);
        }
        if (enc != NULL && strcasecmp(json_string_value(enc), "WKB") != 0) {
            int status = lc__error(L->err, LC_EUNSUPPORTED,
                                   "%s: geometry column '%s' has encoding "
                                   "'%s'; only WKB is read",
                                   fname, primary, json_string_value(enc));
            json_decref(geo);
            return status;
        }
    }
    if (node_ret != NULL)
        *node_ret = child_named(L, 0, primary);
    json_decref(geo);
    return LC_OK;
}

/* Step 1: what to read. */
static int plan(struct loader *L)
{
    const struct lc__stac_load_options *o = L->opts;
    int status;

    /* id */
    size_t id = child_named(L, 0, "id");
    LC_RETURN_IF(id == NONE, L->err, LC_ECORRUPT, "%s: no column 'id'",
                 L->name);
    status = want_scalar(L, 0, "id", is_string_leaf, "a string", &L->id);
    if (status < 0)
        return status;
    LC_RETURN_IF(L->id == NONE, L->err, LC_ECORRUPT,
                 "%s: column 'id' is always null", L->name);

    /* times */
    static const char *const tnames[3] = {"datetime", "start_datetime",
                                          "end_datetime"};
    for (int k = 0; k < 3; k++) {
        status = want_scalar(L, 0, tnames[k], is_time_leaf,
                             "a timestamp, a date or a string", &L->times[k]);
        if (status < 0)
            return status;
    }

    /* geometry: every file's encoding must be WKB. */
    size_t gnode = NONE;
    for (size_t i = 0; i < lc__parquet_dataset_num_files(L->ds); i++) {
        status = check_geo(L, lc__parquet_dataset_file(L->ds, i),
                           lc__parquet_dataset_path(L->ds, i),
                           i == 0 ? &gnode : NULL);
        if (status < 0)
            return status;
    }
    if (gnode != NONE && !is_null_node(L, gnode)) {
        const struct lc__parquet_node *g = node_at(L, gnode);
        if (g->kind != LC_PQ_NODE_PRIMITIVE ||
            g->repetition == LC_PQ_REPEATED ||
            !is_wkb_leaf(leaf_at(L, g->leaf)))
            return type_error(L, gnode, "WKB bytes (BYTE_ARRAY)");
        L->geometry = want_leaf(L, g->leaf);
    }

    /* bbox: a struct or (old layout) a list of 4 or 6 numbers. */
    size_t b = child_named(L, 0, "bbox");
    if (b != NONE && !is_null_node(L, b)) {
        const struct lc__parquet_node *bn = node_at(L, b);
        if (bn->kind == LC_PQ_NODE_STRUCT) {
            static const char *const bnames[4] = {"xmin", "ymin", "xmax",
                                                  "ymax"};
            for (int k = 0; k < 4; k++) {
                status = want_scalar(L, b, bnames[k], is_number_leaf,
                                     "a number", &L->bbox[k]);
                if (status < 0)
                    return status;
                LC_RETURN_IF(L->bbox[k] == NONE, L->err, LC_ECORRUPT,
                             "%s: column 'bbox' has no field '%s'", L->name,
                             bnames[k]);
            }
        } else if (bn->kind == LC_PQ_NODE_LIST) {
            status = want_list(L, 0, "bbox", is_number_leaf,
                               "a struct {xmin, ymin, xmax, ymax} or a list "
                               "of numbers",
                               &L->bbox_list);
            if (status < 0)
                return status;
        } else {
            return type_error(L, b,
                              "a struct {xmin, ymin, xmax, ymax} or a list of "
                              "numbers");
        }
    }

    /* assets */
    L->assets_node = child_named(L, 0, "assets");
    if (L->assets_node != NONE &&
        node_at(L, L->assets_node)->kind != LC_PQ_NODE_STRUCT)
        L->assets_node = NONE;
    if (o->assets == NULL && o->nassets == 0) {
        if (L->assets_node != NONE) {
            const struct lc__parquet_node *an = node_at(L, L->assets_node);
            L->nkeys_assets = an->nchildren;
            L->keys = lc__calloc(L->alloc, an->nchildren + 1, sizeof(char *));
            LC_RETURN_IF(L->keys == NULL, L->err, LC_ENOMEM,
                         "%s: out of memory", L->name);
            for (size_t i = 0; i < an->nchildren; i++)
                L->keys[i] = node_at(L, an->children[i])->name;
        }
    } else {
        L->nkeys_assets = o->nassets;
        L->keys = lc__calloc(L->alloc, o->nassets + 1, sizeof(char *));
        LC_RETURN_IF(L->keys == NULL, L->err, LC_ENOMEM, "%s: out of memory",
                     L->name);
        for (size_t i = 0; i < o->nassets; i++)
            L->keys[i] = o->assets[i];
    }
    L->acols =
        lc__malloc_array(L->alloc, L->nkeys_assets + 1, sizeof *L->acols);
    LC_RETURN_IF(L->acols == NULL, L->err, LC_ENOMEM, "%s: out of memory",
                 L->name);
    for (size_t k = 0; k < L->nkeys_assets; k++) {
        struct asset_cols *ac = &L->acols[k];
        memset(ac, 0xff, sizeof *ac); /* every slot NONE */
        status = want_asset(L, L->keys[k], ac);
        if (status < 0)
            return status;
    }
    status = want_proj(L, 0, &L->item);
    if (status < 0)
        return status;

    /* properties */
    for (size_t i = 0; i < o->nfields; i++) {
        const char *name = lc__stac_property_name(o->fields[i]);
        size_t key = hive_key(L, name);
        if (key != NONE) {
            if (L->slot_of_key[key] == NONE) {
                L->slot_of_key[key] = L->npaths;
                L->paths[L->npaths++] = lc__parquet_dataset_key(L->ds, key);
            }
            continue;
        }
        size_t n = child_named(L, 0, name);
        if (n != NONE)
            want_subtree(L, n);
    }

    /* pushdown: the statistics' columns, by path (found in each file). */
    if (o->has_bbox && L->bbox[0] != NONE)
        for (int k = 0; k < 4; k++)
            L->stat_path[ST_XMIN + k] = L->paths[L->bbox[k]];
    if (o->has_datetime)
        for (int k = 0; k < 3; k++)
            if (L->times[k] != NONE)
                L->stat_path[ST_DT + k] = L->paths[L->times[k]];
    return LC_OK;
}

/* ---- pushdown -------------------------------------------------------------
 */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A timestamp in unit as microseconds; false when it does not fit. */
static bool unit_to_us(int64_t v, enum lc__parquet_time_unit unit, int64_t *us)
{
    switch (unit) {
    case LC_PQ_MILLIS:
        if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000 + 1)
            return false;
        *us = v * 1000;
        return true;
    case LC_PQ_MICROS:
        *us = v;
        return v != INT64_MIN;
    case LC_PQ_NANOS:
        *us = floor_div(v, 1000);
        return true;
    }
    return false;
}

static bool days_to_us(int64_t days, int64_t *us)
{
    if (days > INT64_MAX / LC_US_PER_DAY || days < INT64_MIN / LC_US_PER_DAY)
        return false;
    *us = days * LC_US_PER_DAY;
    return true;
}

/* A statistics bound of a numeric column as a double. */
static bool bound_number(const struct lc__parquet_column *c,
                         const struct lc__parquet_bound *b, double *v)
{
    bool is_unsigned =
        c->logical.kind == LC_PQ_LOGICAL_INTEGER && !c->logical.is_signed;
    switch (c->type) {
    case LC_PQ_DOUBLE:
        *v = b->v.f64;
        break;
    case LC_PQ_FLOAT:
        *v = b->v.f32;
        break;
    case LC_PQ_INT32:
        *v = b->v.i32;
        break;
    case LC_PQ_INT64:
        *v = (double)b->v.i64;
        break;
    case LC_PQ_BOOLEAN:
    case LC_PQ_INT96:
    case LC_PQ_BYTE_ARRAY:
    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
        return false;
    }
    return !is_unsigned && !isnan(*v);
}

/* min and max of leaf in row group rg, when every row has a value. */
static bool stat_range(const struct lc__parquet_file *f, size_t rg, size_t leaf,
                       double *mn, double *mx)
{
    struct lc__parquet_stats s;
    if (leaf == NONE || lc__parquet_column_stats(f, rg, leaf, &s) != LC_OK ||
        !s.has_min_max || !s.has_null_count || s.null_count != 0)
        return false;
    const struct lc__parquet_column *c = lc__parquet_column(f, leaf);
    return bound_number(c, &s.min, mn) && bound_number(c, &s.max, mx);
}

/*
 * Whether an item of row group rg may meet the query box. Items meet by
 * their geometry, which lies within their bbox; rows without a bbox use
 * their geometry alone, so any null bbox keeps the row group. An item
 * bbox with xmin > xmax crosses the antimeridian and covers x >= xmin and
 * x <= xmax; the statistics can rule out such items only when max(xmin)
 * <= min(xmax), so x is used only then (y always).
 */
static bool bbox_may_match(const struct loader *L,
                           const struct lc__parquet_file *f, size_t rg)
{
    double lo[4], hi[4];
    for (int k = 0; k < 4; k++)
        if (!stat_range(f, rg, L->stat_leaf[ST_XMIN + k], &lo[k], &hi[k]))
            return true;
    const struct lc__envelope *q = &L->opts->bbox;
    if (lo[ST_YMIN] > q->maxy || hi[ST_YMAX] < q->miny)
        return false;
    if (hi[ST_XMIN] <= lo[ST_XMAX]) {
        /* No item crosses: their x lie in [min(xmin), max(xmax)]. */
        bool left = lo[ST_XMIN] > q->maxx, right = hi[ST_XMAX] < q->minx;
        if (q->minx <= q->maxx ? (left || right) : (left && right))
            return false;
    }
    return true;
}

struct time_stats {
    bool present, has_range, has_nulls;
    int64_t min, max;
    uint64_t nulls;
};

static void time_stats(const struct lc__parquet_file *f, size_t rg, size_t leaf,
                       struct time_stats *ts)
{
    memset(ts, 0, sizeof *ts);
    struct lc__parquet_stats s;
    if (leaf == NONE || lc__parquet_column_stats(f, rg, leaf, &s) != LC_OK)
        return;
    ts->present = true;
    ts->has_nulls = s.has_null_count;
    ts->nulls = s.null_count;
    if (!s.has_min_max)
        return;
    const struct lc__parquet_column *c = lc__parquet_column(f, leaf);
    if (c->type == LC_PQ_INT64 && c->logical.kind == LC_PQ_LOGICAL_TIMESTAMP)
        ts->has_range = unit_to_us(s.min.v.i64, c->logical.unit, &ts->min) &&
                        unit_to_us(s.max.v.i64, c->logical.unit, &ts->max);
    else if (c->type == LC_PQ_INT32 && c->logical.kind == LC_PQ_LOGICAL_DATE)
        /* A date stands for its whole day. */
        ts->has_range = days_to_us(s.min.v.i32, &ts->min) &&
                        days_to_us((int64_t)s.max.v.i32 + 1, &ts->max);
}

/*
 * Whether an item of row group rg may meet [start_us, end_us]: an item
 * with a datetime by it, one without by [start_datetime, end_datetime].
 */
static bool time_may_match(const struct loader *L,
                           const struct lc__parquet_file *f, size_t rg,
                           uint64_t rows)
{
    int64_t s = L->opts->start_us, e = L->opts->end_us;
    struct time_stats dt, st, en;
    time_stats(f, rg, L->stat_leaf[ST_DT], &dt);
    time_stats(f, rg, L->stat_leaf[ST_START], &st);
    time_stats(f, rg, L->stat_leaf[ST_END], &en);

    /* Rows with a datetime. */
    bool with = dt.present && !(dt.has_nulls && dt.nulls >= rows);
    if (with && dt.has_range && (dt.max < s || dt.min > e))
        with = false;
    /* Rows without one. */
    bool without = !(dt.present && dt.has_nulls && dt.nulls == 0);
    if (without && !st.present && !en.present)
        without = false; /* no time at all: never meets */
    if (without && st.present && st.has_range && st.has_nulls &&
        st.nulls == 0 && st.min > e)
        without = false;
    if (without && en.present && en.has_range && en.has_nulls &&
        en.nulls == 0 && en.max < s)
        without = false;
    return with || without;
}

/* The row-group filter: pushdown, max_items, and the row bookkeeping. */
static bool keep_row_group(void *opaque, const struct lc__parquet_file *f,
                           size_t fi, size_t rg)
{
    struct loader *L = opaque;
    if (fi != L->stat_file) {
        L->stat_file = fi;
        L->file_row = 0;
        for (int k = 0; k < ST_N; k++) {
            L->stat_leaf[k] = NONE;
            if (L->stat_path[k] != NULL &&
                lc__parquet_find_column(f, L->stat_path[k], &L->stat_leaf[k]) !=
                    LC_OK)
                L->stat_leaf[k] = NONE;
        }
    }
    uint64_t rows = lc__parquet_row_group_num_rows(f, rg);
    uint64_t first = L->file_row;
    L->file_row += rows;
    if (rows == 0 || L->nsegs == L->segcap)
        return false;
    /* With the row-level pushdown, max_items counts candidates. */
    if (!L->phase1 && L->opts->max_items > 0 && L->loaded >= L->opts->max_items)
        return false;
    if (L->opts->has_bbox && !bbox_may_match(L, f, rg))
        return false;
    if (L->opts->has_datetime && !time_may_match(L, f, rg, rows))
        return false;
    L->segs[L->nsegs++] = (struct segment){.file = fi,
                                           .rg = rg,
                                           .file_row = first,
                                           .table_row = L->loaded,
                                           .rows = (size_t)rows};
    L->loaded += (size_t)rows;
    return true;
}

/* The one-phase filter. With max_items, the row group reaching it keeps
 * only the rows up to it: pages past them are not even decompressed, the
 * page holding the last one is decoded up to it, and strings are copied
 * for the rows kept only (the first item of a large catalogue costs a
 * fraction of the whole row group). */
static bool keep_row_group_rows(void *opaque, const struct lc__parquet_file *f,
                                size_t fi, size_t rg, const uint8_t **rows_ret)
{
    struct loader *L = opaque;
    *rows_ret = NULL;
    size_t before = L->loaded, max = L->opts->max_items;
    if (!keep_row_group(opaque, f, fi, rg))
        return false;
    if (L->two_phase || max == 0 || L->loaded <= max)
        return true;
    /* keep_row_group let it through: before < max. Only one row group
     * ends past max, so one bitmap serves. */
    size_t keep = max - before, rows = L->loaded - before;
    L->head_bits = lc__calloc(L->alloc, rows / 8 + 1, 1); /* covers them all */
    if (L->head_bits == NULL)
        return true; /* the whole row group, then: slower, not wrong */
    for (size_t r = 0; r < keep; r++)
        L->head_bits[r >> 3] |= (uint8_t)(1u << (r & 7));
    L->segs[L->nsegs - 1].rows = keep;
    L->loaded = max;
    *rows_ret = L->head_bits;
    return true;
}

/* The phase-2 filter: the row groups with candidates, and which rows. */
static bool keep_candidates(void *opaque, const struct lc__parquet_file *f,
                            size_t fi, size_t rg, const uint8_t **rows_ret)
{
    struct loader *L = opaque;
    (void)f;
    *rows_ret = NULL;
    while (L->cursor < L->nsegs &&
           (L->segs[L->cursor].file < fi ||
            (L->segs[L->cursor].file == fi && L->segs[L->cursor].rg < rg)))
        L->cursor++;
    if (L->cursor == L->nsegs)
        return false;
    const struct segment *s = &L->segs[L->cursor];
    if (s->file != fi || s->rg != rg || s->kept == 0)
        return false;
    *rows_ret = L->bits + s->sel_at;
    return true;
}

/* ---- values ---------------------------------------------------------------
 */

/* The array of a slot, indexed by item (phase-1 slots: see col_at). */
static const struct lc__parquet_array *arr(const struct loader *L, size_t slot)
{
    if (slot == NONE || (L->two_phase && L->in_phase1[slot]))
        return NULL;
    return &L->t->columns[L->col_of[slot]];
}

/* The array of a phase-2 slot for item i, and the row of item i in it. */
static const struct lc__parquet_array *
col_at(const struct loader *L, size_t slot, size_t i, size_t *row)
{
    *row = i - L->base;
    if (slot == NONE || (L->two_phase && L->in_phase1[slot]))
        return NULL; /* read in phase 1: see ctime, cbox */
    return &L->t->columns[L->col_of[slot]];
}

static inline bool valid_at(const struct lc__parquet_array *a, size_t k)
{
    return lc__parquet_valid(a, a->depth - 1, k);
}

static inline const uint8_t *bytes_at(const struct lc__parquet_array *a,
                                      size_t k, size_t *n)
{
    *n = a->offsets[k + 1] - a->offsets[k];
    return a->data + a->offsets[k];
}

/* Copies a string into the arena, sharing a recent equal one. */
static const char *intern(struct lc__arena *arena, struct strcache *c,
                          const uint8_t *p, size_t n)
{
    if (c != NULL)
        for (unsigned i = 0; i < CACHE_N; i++)
            if (c->s[i] != NULL && c->n[i] == n && memcmp(c->s[i], p, n) == 0)
                return c->s[i];
    char *s = lc__arena_strndup(arena, (const char *)p, n);
    if (s != NULL && c != NULL) {
        c->s[c->next] = s;
        c->n[c->next] = n;
        c->next = (c->next + 1) % CACHE_N;
    }
    return s;
}

static const char *string_at(struct lc__arena *arena, struct strcache *c,
                             const struct lc__parquet_array *a, size_t k)
{
    size_t n;
    const uint8_t *p = bytes_at(a, k, &n);
    return intern(arena, c, p, n);
}

/* The fixed-width value k of a, or NULL for a column of byte arrays (whose
 * values pointer is NULL: no arithmetic on it, which is undefined). */
static const uint8_t *fixed_at(const struct lc__parquet_array *a, size_t k)
{
    if (a->values == NULL)
        return NULL;
    return (const uint8_t *)a->values + k * a->value_nbytes;
}

/* A numeric value (is_number_leaf columns). */
static double number_at(const struct lc__parquet_array *a, size_t k)
{
    const uint8_t *v = fixed_at(a, k);
    const struct lc__parquet_column *c = a->column;
    bool is_unsigned =
        c->logical.kind == LC_PQ_LOGICAL_INTEGER && !c->logical.is_signed;
    switch (c->type) {
    case LC_PQ_INT32: {
        int32_t x;
        memcpy(&x, v, 4);
        return is_unsigned ? (double)(uint32_t)x : (double)x;
    }
    case LC_PQ_INT64: {
        int64_t x;
        memcpy(&x, v, 8);
        return is_unsigned ? (double)(uint64_t)x : (double)x;
    }
    case LC_PQ_FLOAT: {
        float x;
        memcpy(&x, v, 4);
        return x;
    }
    case LC_PQ_DOUBLE: {
        double x;
        memcpy(&x, v, 8);
        return x;
    }
    case LC_PQ_BOOLEAN:
    case LC_PQ_INT96:
    case LC_PQ_BYTE_ARRAY:
    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
        break;
    }
    return NAN;
}

/* An integral numeric value; false when it is not an integer in range. */
static bool int_at(const struct lc__parquet_array *a, size_t k, int64_t *out)
{
    const struct lc__parquet_column *c = a->column;
    if (c->type == LC_PQ_INT64 &&
        !(c->logical.kind == LC_PQ_LOGICAL_INTEGER && !c->logical.is_signed)) {
        memcpy(out, (const uint8_t *)a->values + k * 8, 8);
        return true;
    }
    double d = number_at(a, k);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
        d != floor(d))
        return false;
    *out = (int64_t)d;
    return true;
}

/*
 * A time value (is_time_leaf columns) in microseconds. Returns LC_OK,
 * LC_ELIMIT when it does not fit, or LC_EINVAL for a string that is not a
 * timestamp (msg says why).
 */
static int time_at(const struct lc__parquet_array *a, size_t k, int64_t *us,
                   struct lc__errbuf *msg)
{
    const struct lc__parquet_column *c = a->column;
    const uint8_t *v = fixed_at(a, k);
    bool ok = false;
    switch (c->type) {
    case LC_PQ_INT64: {
        int64_t x;
        memcpy(&x, v, 8);
        ok = unit_to_us(x, c->logical.unit, us);
        break;
    }
    case LC_PQ_INT32: {
        int32_t x;
        memcpy(&x, v, 4);
        ok = days_to_us(x, us);
        break;
    }
    case LC_PQ_INT96:
        *us = floor_div(lc__parquet_int96_ns(v), 1000);
        ok = true;
        break;
    case LC_PQ_BYTE_ARRAY: {
        size_t n;
        const uint8_t *s = bytes_at(a, k, &n);
        struct lc__isotime t;
        int status = lc__isotime_parse((const char *)s, n, &t, msg);
        if (status < 0)
            return LC_EINVAL;
        *us = t.us;
        return LC_OK;
    }
    case LC_PQ_BOOLEAN:
    case LC_PQ_FLOAT:
    case LC_PQ_DOUBLE:
    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
        break;
    }
    return ok && *us != LC__STAC_NO_TIME ? LC_OK : LC_ELIMIT;
}

/* A DECIMAL's unscaled value as a double. */
static double decimal_at(const struct lc__parquet_array *a, size_t k)
{
    const struct lc__parquet_column *c = a->column;
    double unscaled;
    if (c->type == LC_PQ_INT32 || c->type == LC_PQ_INT64) {
        int64_t x = 0;
        if (c->type == LC_PQ_INT32) {
            int32_t y;
            memcpy(&y, (const uint8_t *)a->values + 4 * k, 4);
            x = y;
        } else {
            memcpy(&x, (const uint8_t *)a->values + 8 * k, 8);
        }
        unscaled = (double)x;
    } else {
        size_t n;
        const uint8_t *p;
        if (c->type == LC_PQ_BYTE_ARRAY) {
            p = bytes_at(a, k, &n);
        } else {
            p = (const uint8_t *)a->values + k * a->value_nbytes;
            n = a->value_nbytes;
        }
        /* Big-endian two's complement. */
        unscaled = n > 0 && (p[0] & 0x80) ? -1.0 : 0.0;
        for (size_t i = 0; i < n; i++)
            unscaled = unscaled * 256.0 + (double)p[i];
    }
    return unscaled / pow(10.0, c->logical.scale);
}

static void set_int(struct lc__cql2_value *out, int64_t v)
{
    out->type = LC__CQL2_TNUMBER;
    out->is_int = true;
    out->i64 = v;
    out->num = (double)v;
}

static void set_num(struct lc__cql2_value *out, double v)
{
    out->type = LC__CQL2_TNUMBER;
    out->num = v;
}

/* Whether s[0..n) is well-formed UTF-8. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len = c < 0x80         ? 1
                     : (c >> 5) == 6  ? 2
                     : (c >> 4) == 14 ? 3
                     : (c >> 3) == 30 ? 4
                                      : 0;
        if (len == 0 || len > n - i || (len == 2 && c < 0xc2) ||
            (len == 4 && c > 0xf4))
            return false;
        for (size_t j = 1; j < len; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
        if (len == 3 &&
            ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0)))
            return false; /* overlong, surrogate */
        if (len == 4 &&
            ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90)))
            return false; /* overlong, past U+10FFFF */
        i += len;
    }
    return true;
}

/*
 * A byte array that is not annotated as text: WKB (rustac writes
 * proj:geometry so) as a geometry, else text when it is UTF-8 (old
 * writers leave strings unannotated), else null.
 */
static int binary_value(struct loader *L, struct lc__arena *arena,
                        struct strcache *cache, const uint8_t *p, size_t n,
                        bool maybe_text, struct lc__cql2_value *out)
{
    struct lc__geom *g;
    struct lc__errbuf msg; /* (no zeroing of 512 bytes per row) */
    msg.status = 0;
    msg.msg[0] = '\0';
    int status = lc__geom_from_wkb(arena, p, n, L->opts->geom_limits, &g, &msg);
    if (status == LC_ENOMEM)
        return status;
    if (status == LC_OK) {
        out->type = LC__CQL2_TGEOMETRY;
        out->geom = g;
    } else if (maybe_text && utf8_valid(p, n)) {
        out->type = LC__CQL2_TSTRING;
        out->len = n;
        out->str = intern(arena, cache, p, n);
        if (out->str == NULL)
            return LC_ENOMEM;
    }
    return LC_OK;
}

/*
 * Value slot k of leaf array a as a CQL2 value; strings and geometries go
 * to arena (strings through cache). Returns LC_OK or LC_ENOMEM.
 */
static int scalar_value(struct loader *L, struct lc__arena *arena,
                        struct strcache *cache,
                        const struct lc__parquet_array *a, size_t k,
                        struct lc__cql2_value *out)
{
    memset(out, 0, sizeof *out);
    if (!valid_at(a, k))
        return LC_OK;
    const struct lc__parquet_column *c = a->column;
    const struct lc__parquet_logical_type *lt = &c->logical;
    const uint8_t *v = fixed_at(a, k);
    bool is_unsigned = lt->kind == LC_PQ_LOGICAL_INTEGER && !lt->is_signed;

    if (lt->kind == LC_PQ_LOGICAL_NULL)
        return LC_OK;
    if (lt->kind == LC_PQ_LOGICAL_DECIMAL) {
        set_num(out, decimal_at(a, k));
        return LC_OK;
    }
    switch (c->type) {
    case LC_PQ_BOOLEAN:
        out->type = LC__CQL2_TBOOL;
        out->b = v[0] != 0;
        return LC_OK;
    case LC_PQ_INT32:
    case LC_PQ_INT64:
    case LC_PQ_INT96:
        if (lt->kind == LC_PQ_LOGICAL_TIMESTAMP ||
            lt->kind == LC_PQ_LOGICAL_DATE || c->type == LC_PQ_INT96) {
            int64_t us;
            if (time_at(a, k, &us, NULL) == LC_OK) {
                out->type = lt->kind == LC_PQ_LOGICAL_DATE
                                ? LC__CQL2_TDATE
                                : LC__CQL2_TTIMESTAMP;
                out->us = us;
            }
            return LC_OK;
        }
        if (c->type == LC_PQ_INT64 && is_unsigned) {
            uint64_t x;
            memcpy(&x, v, 8);
            if (x > (uint64_t)INT64_MAX)
                set_num(out, (double)x);
            else
                set_int(out, (int64_t)x);
            return LC_OK;
        }
        int64_t x;
        if (!int_at(a, k, &x))
            return LC_OK;
        set_int(out, x);
        return LC_OK;
    case LC_PQ_FLOAT:
    case LC_PQ_DOUBLE:
        set_num(out, number_at(a, k));
        return LC_OK;
    case LC_PQ_BYTE_ARRAY: {
        size_t n;
        const uint8_t *p = bytes_at(a, k, &n);
        if (lt->kind != LC_PQ_LOGICAL_STRING &&
            lt->kind != LC_PQ_LOGICAL_ENUM && lt->kind != LC_PQ_LOGICAL_JSON)
            return binary_value(L, arena, cache, p, n,
                                lt->kind == LC_PQ_LOGICAL_NONE, out);
        out->type = LC__CQL2_TSTRING;
        out->len = n;
        out->str = intern(arena, cache, p, n);
        return out->str == NULL ? LC_ENOMEM : LC_OK;
    }
    case LC_PQ_FIXED_LEN_BYTE_ARRAY:
        if (lt->kind == LC_PQ_LOGICAL_FLOAT16 && a->value_nbytes == 2) {
            uint16_t h;
            float fl;
            memcpy(&h, v, 2);
            lc__half_to_float(&h, &fl, 1);
            set_num(out, fl);
        } else if (lt->kind == LC_PQ_LOGICAL_UUID && a->value_nbytes == 16) {
            char text[37];
            size_t n = 0;
            for (int i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                    text[n++] = '-';
                n += (size_t)snprintf(text + n, sizeof text - n, "%02x", v[i]);
            }
            out->type = LC__CQL2_TSTRING;
            out->len = n;
            out->str = intern(arena, cache, (const uint8_t *)text, n);
            if (out->str == NULL)
                return LC_ENOMEM;
        }
        return LC_OK;
    }
    return LC_OK;
}

/* ---- JSON rendering of nested values ----------------------------------- */

/* The array of the first leaf below node n, and n's level on its path. */
static const struct lc__parquet_array *node_array(const struct loader *L,
                                                  size_t n, size_t *level_ret)
{
    size_t leaf = first_leaf(L, n);
    *level_ret = node_level(L, n);
    return leaf == NONE ? NULL : arr(L, L->slot_of_leaf[leaf]);
}

static void render_node(struct loader *L, size_t n, size_t k);

static void render_scalar(struct loader *L, const struct lc__parquet_array *a,
                          size_t k)
{
    struct lc__strbuf *sb = &L->sb;
    struct lc__cql2_value v;
    char buf[LC_ISOTIME_FORMAT_CAP];
    /* Strings and geometries go to the scratch arena, emptied by
     * node_value once the row is written. */
    if (scalar_value(L, &L->scratch, NULL, a, k, &v) < 0) {
        sb->status = LC_ENOMEM;
        return;
    }
    switch (v.type) {
    case LC__CQL2_TBOOL:
        lc__strbuf_puts(sb, v.b ? "true" : "false");
        return;
    case LC__CQL2_TNUMBER:
        if (v.is_int)
            lc__strbuf_printf(sb, "%" PRId64, v.i64);
        else
            lc__strbuf_double_json(sb, v.num);
        return;
    case LC__CQL2_TSTRING:
        lc__strbuf_json_string(sb, v.str, v.len);
        return;
    case LC__CQL2_TTIMESTAMP:
    case LC__CQL2_TDATE: {
        size_t len = lc__isotime_format(
            v.us, v.type == LC__CQL2_TDATE ? LC_ISOTIME_DATE : LC_ISOTIME_AUTO,
            buf, sizeof buf);
        lc__strbuf_json_string(sb, buf, len);
        return;
    }
    case LC__CQL2_TGEOMETRY:
        lc__geom_to_geojson(v.geom, sb);
        return;
    case LC__CQL2_TNULL:
    case LC__CQL2_TINTERVAL:
    case LC__CQL2_TARRAY:
    case LC__CQL2_TJSON:
        break;
    }
    lc__strbuf_puts(sb, "null");
}

/* Whether node n is present in slot k of its space. */
static bool node_present(const struct loader *L, size_t n, size_t k)
{
    size_t level;
    const struct lc__parquet_array *a = node_array(L, n, &level);
    return a != NULL && (node_at(L, n)->repetition != LC_PQ_OPTIONAL ||
                         lc__parquet_valid(a, level, k));
}

/* Structs as objects (null members left out, as in the item JSON). */
static void render_fields(struct loader *L, size_t n, size_t k)
{
    const struct lc__parquet_node *nd = node_at(L, n);
    bool first = true;
    lc__strbuf_putc(&L->sb, '{');
    for (size_t i = 0; i < nd->nchildren; i++) {
        size_t c = nd->children[i];
        if (node_at(L, c)->repetition != LC_PQ_REPEATED &&
            !node_present(L, c, k))
            continue;
        if (!first)
            lc__strbuf_putc(&L->sb, ',');
        first = false;
        const char *name = node_at(L, c)->name;
        lc__strbuf_json_string(&L->sb, name, strlen(name));
        lc__strbuf_putc(&L->sb, ':');
        render_node(L, c, k);
    }
    lc__strbuf_putc(&L->sb, '}');
}

/* The elements of repeated node r in parent slot k: a JSON array, or for a
 * map an object (string keys) or an array of [key, value] pairs. */
static void render_repeated(struct loader *L, size_t r, size_t k, bool map,
                            size_t element)
{
    size_t level;
    const struct lc__parquet_array *a = node_array(L, r, &level);
    const struct lc__parquet_node *rn = node_at(L, r);
    const size_t *off = a == NULL ? NULL : a->levels[level].offsets;
    bool object = map && rn->nchildren == 2 &&
                  node_at(L, rn->children[0])->kind == LC_PQ_NODE_PRIMITIVE &&
                  is_string_leaf(leaf_at(L, node_at(L, rn->children[0])->leaf));
    lc__strbuf_putc(&L->sb, object ? '{' : '[');
    for (size_t j = off == NULL ? 0 : off[k]; off != NULL && j < off[k + 1];
         j++) {
        if (j > off[k])
            lc__strbuf_putc(&L->sb, ',');
        if (map) {
            if (!object)
                lc__strbuf_putc(&L->sb, '[');
            render_node(L, rn->children[0], j);
            lc__strbuf_putc(&L->sb, object ? ':' : ',');
            if (rn->nchildren > 1)
                render_node(L, rn->children[1], j);
            else
                lc__strbuf_puts(&L->sb, "null");
            if (!object)
                lc__strbuf_putc(&L->sb, ']');
        } else if (element == r) {
            /* The repeated node holds the values itself. */
            if (rn->kind == LC_PQ_NODE_PRIMITIVE)
                render_scalar(L, a, j);
            else
                render_fields(L, r, j);
        } else {
            render_node(L, element, j);
        }
    }
    lc__strbuf_putc(&L->sb, object ? '}' : ']');
}

static void render_node(struct loader *L, size_t n, size_t k)
{
    const struct lc__parquet_node *nd = node_at(L, n);
    size_t level;
    const struct lc__parquet_array *a = node_array(L, n, &level);
    if (a == NULL) {
        lc__strbuf_puts(&L->sb, "null");
        return;
    }
    if (nd->repetition == LC_PQ_REPEATED) {
        render_repeated(L, n, k, false, n);
        return;
    }
    if (nd->repetition == LC_PQ_OPTIONAL && !lc__parquet_valid(a, level, k)) {
        lc__strbuf_puts(&L->sb, "null");
        return;
    }
    switch (nd->kind) {
    case LC_PQ_NODE_PRIMITIVE:
        render_scalar(L, a, k);
        return;
    case LC_PQ_NODE_STRUCT:
        render_fields(L, n, k);
        return;
    case LC_PQ_NODE_LIST:
        render_repeated(L, nd->children[0], k, false, nd->element);
        return;
    case LC_PQ_NODE_MAP:
        render_repeated(L, nd->children[0], k, true, nd->element);
        return;
    }
}

/*
 * The value of node n (a top-level column, or a field of an asset) in row
 * `row`: a scalar, an array of scalars, or the compact JSON of anything
 * else.
 */
static int node_value(struct loader *L, struct lc__arena *arena,
                      struct strcache *cache, size_t n, size_t row,
                      struct lc__cql2_value *out)
{
    const struct lc__parquet_node *nd = node_at(L, n);
    memset(out, 0, sizeof *out);
    if (nd->kind == LC_PQ_NODE_PRIMITIVE && nd->repetition != LC_PQ_REPEATED)
        return scalar_value(L, arena, cache, arr(L, L->slot_of_leaf[nd->leaf]),
                            row, out);
    if (!node_present(L, n, row))
        return LC_OK;
    if (nd->kind == LC_PQ_NODE_LIST &&
        node_at(L, nd->element)->kind == LC_PQ_NODE_PRIMITIVE &&
        leaf_at(L, node_at(L, nd->element)->leaf)->max_rep == 1) {
        const struct lc__parquet_array *a =
            arr(L, L->slot_of_leaf[node_at(L, nd->element)->leaf]);
        const size_t *off;
        size_t nparents, level;
        if (lc__parquet_array_list(a, 1, &off, &nparents, &level) != LC_OK ||
            row >= nparents)
            return LC_OK;
        size_t count = off[row + 1] - off[row];
        struct lc__cql2_value *items =
            lc__arena_calloc(arena, count, sizeof *items);
        if (items == NULL && count > 0)
            return LC_ENOMEM;
        for (size_t j = 0; j < count; j++) {
            int status =
                scalar_value(L, arena, cache, a, off[row] + j, &items[j]);
            if (status < 0)
                return status;
        }
        out->type = LC__CQL2_TARRAY;
        out->items = items;
        out->nitems = count;
        return LC_OK;
    }
    L->sb.len = 0;
    render_node(L, n, row);
    lc__arena_free(&L->scratch);
    if (L->sb.status < 0)
        return L->sb.status;
    out->type = LC__CQL2_TJSON;
    out->len = L->sb.len;
    out->str = lc__arena_strndup(arena, L->sb.data, L->sb.len);
    return out->str == NULL ? LC_ENOMEM : LC_OK;
}

/* ---- filling the table ----------------------------------------------------
 */

/* The file and the row in it of item `row`. */
static void locate(const struct loader *L, size_t row, const char **file,
                   uint64_t *file_row)
{
    if (L->two_phase)
        row = L->cand[row]; /* the candidate's row, as segments count */
    size_t lo = 0, hi = L->nsegs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->segs[mid].table_row <= row)
            lo = mid;
        else
            hi = mid;
    }
    const struct segment *s = &L->segs[lo];
    *file = lc__parquet_dataset_path(L->ds, s->file);
    *file_row = s->file_row + (row - s->table_row);
}

/* "FILE: column 'C' row N[ (item 'ID')]: MESSAGE". */
static int row_error(const struct loader *L, const struct lc__stac_items *it,
                     int status, size_t row, size_t slot, const char *fmt, ...)
    LC_PRINTF_LIKE(6, 7);

static int row_error(const struct loader *L, const struct lc__stac_items *it,
                     int status, size_t row, size_t slot, const char *fmt, ...)
{
    char msg[LC_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file;
    uint64_t file_row;
    locate(L, row, &file, &file_row);
    const char *id = it != NULL && row < it->count ? it->ids[row] : NULL;
    return lc__error(L->err, status,
                     "%s: column '%s' row %" PRIu64 "%s%s%s: %s", file,
                     L->paths[slot], file_row, id != NULL ? " (item '" : "",
                     id != NULL ? id : "", id != NULL ? "')" : "", msg);
}

static int no_memory(const struct loader *L)
{
    return lc__error(L->err, LC_ENOMEM, "%s: out of memory for the items",
                     L->name);
}

/*
 * The fill_* functions fill items L->base .. L->base + L->nview of the
 * table from rows 0 .. L->nview of L->t (one row group's).
 */

static int fill_ids(struct loader *L, struct lc__stac_items *it)
{
    const struct lc__parquet_array *a = arr(L, L->id);
    for (size_t r = 0; r < L->nview; r++) {
        size_t i = L->base + r;
        if (!valid_at(a, r))
            return row_error(L, NULL, LC_ECORRUPT, i, L->id,
                             "item has no id (null)");
        it->ids[i] = string_at(&it->arena, NULL, a, r);
        if (it->ids[i] == NULL)
            return no_memory(L);
    }
    return LC_OK;
}

static bool list_at(const struct lc__parquet_array *a, size_t row,
                    size_t *start, size_t *count);

/*
 * The time of row `row` of a (NULL or null: LC__STAC_NO_TIME). Returns
 * LC_OK, or LC_ECORRUPT with the reason in msg.
 */
static int row_time(const struct lc__parquet_array *a, size_t row, int64_t *out,
                    struct lc__errbuf *msg)
{
    *out = LC__STAC_NO_TIME;
    if (a == NULL || !valid_at(a, row))
        return LC_OK;
    int status = time_at(a, row, out, msg);
    if (status == LC_EINVAL)
        return LC_ECORRUPT; /* msg says why */
    if (status < 0) {
        *out = LC__STAC_NO_TIME;
        return lc__error(msg, LC_ECORRUPT, "time out of range");
    }
    return LC_OK;
}

/*
 * The bbox of row `row` (b: the struct's four arrays, or lst: the list),
 * empty when null. Returns LC_OK, or LC_ECORRUPT with the reason in msg.
 */
static int row_bbox(const struct lc__parquet_array *const b[4],
                    const struct lc__parquet_array *lst, size_t row,
                    struct lc__envelope *e, struct lc__errbuf *msg)
{
    *e = (struct lc__envelope){INFINITY, INFINITY, -INFINITY, -INFINITY};
    size_t s, n;
    if (b[0] != NULL) {
        if (valid_at(b[0], row) && valid_at(b[1], row) && valid_at(b[2], row) &&
            valid_at(b[3], row))
            *e = (struct lc__envelope){
                number_at(b[0], row), number_at(b[1], row),
                number_at(b[2], row), number_at(b[3], row)};
    } else if (list_at(lst, row, &s, &n) && n > 0) {
        if (n != 4 && n != 6)
            return lc__error(msg, LC_ECORRUPT,
                             "bbox has %zu numbers, expected 4 or 6", n);
        for (size_t j = 0; j < n; j++)
            if (!valid_at(lst, s + j))
                return lc__error(msg, LC_ECORRUPT, "bbox holds a null");
        /* [minx, miny, (minz,) maxx, maxy(, maxz)] */
        size_t h = n / 2;
        *e = (struct lc__envelope){number_at(lst, s), number_at(lst, s + 1),
                                   number_at(lst, s + h),
                                   number_at(lst, s + h + 1)};
    }
    return LC_OK;
}

static int fill_times(struct loader *L, struct lc__stac_items *it)
{
    int64_t *out[3] = {it->datetime, it->start_datetime, it->end_datetime};
    for (int k = 0; k < 3; k++) {
        size_t end = L->base + L->nview;
        if (L->times1) {
            const struct row_error *e = &L->time_err[k];
            if (e->item >= L->base && e->item < end)
                return row_error(L, it, e->status, e->item, L->times[k], "%s",
                                 e->msg);
            for (size_t i = L->base; i < end; i++)
                out[k][i] = L->ctime[3 * i + (size_t)k];
            continue;
        }
        for (size_t i = L->base; L->times[k] != NONE && i < end; i++) {
            size_t row;
            const struct lc__parquet_array *a = col_at(L, L->times[k], i, &row);
            struct lc__errbuf msg; /* (no zeroing of 512 bytes per row) */
            msg.status = 0;
            msg.msg[0] = '\0';
            if (row_time(a, row, &out[k][i], &msg) < 0)
                return row_error(L, it, LC_ECORRUPT, i, L->times[k], "%s",
                                 msg.msg);
        }
    }
    return LC_OK;
}

static int fill_geometry(struct loader *L, struct lc__stac_items *it)
{
    const struct lc__parquet_array *a = arr(L, L->geometry);
    for (size_t r = 0; a != NULL && r < L->nview; r++) {
        size_t i = L->base + r;
        if (!valid_at(a, r))
            continue;
        size_t n;
        const uint8_t *p = bytes_at(a, r, &n);
        struct lc__geom *g;
        struct lc__errbuf msg; /* (no zeroing of 512 bytes per row) */
        msg.status = 0;
        msg.msg[0] = '\0';
        int status =
            lc__geom_from_wkb(&it->arena, p, n, L->opts->geom_limits, &g, &msg);
        if (status == LC_ENOMEM)
            return no_memory(L);
        if (status < 0)
            return row_error(L, it,
                             status == LC_ELIMIT ? LC_ELIMIT : LC_ECORRUPT, i,
                             L->geometry, "%s", msg.msg);
        it->geometry[i] = g;
    }
    return LC_OK;
}

static int fill_bbox(struct loader *L, struct lc__stac_items *it)
{
    size_t slot = L->bbox[0] != NONE ? L->bbox[0] : L->bbox_list;
    size_t end = L->base + L->nview;
    if (L->bbox1 && L->bbox_err.item >= L->base && L->bbox_err.item < end)
        return row_error(L, it, L->bbox_err.status, L->bbox_err.item, slot,
                         "%s", L->bbox_err.msg);
    for (size_t i = L->base; i < end; i++) {
        struct lc__envelope *e = &it->bbox[i];
        if (L->bbox1) {
            *e = L->cbox[i];
        } else if (slot != NONE) {
            const struct lc__parquet_array *b[4] = {NULL, NULL, NULL, NULL};
            size_t row = i;
            for (int k = 0; k < 4; k++)
                b[k] = col_at(L, L->bbox[k], i, &row);
            const struct lc__parquet_array *lst =
                col_at(L, L->bbox_list, i, &row);
            struct lc__errbuf msg; /* (no zeroing of 512 bytes per row) */
            msg.status = 0;
            msg.msg[0] = '\0';
            if (row_bbox(b, lst, row, e, &msg) < 0)
                return row_error(L, it, LC_ECORRUPT, i, slot, "%s", msg.msg);
        }
        bool none = e->minx == INFINITY && e->miny == INFINITY &&
                    e->maxx == -INFINITY && e->maxy == -INFINITY;
        if (none && it->geometry[i] != NULL)
            lc__geom_envelope(it->geometry[i], e);
    }
    return LC_OK;
}

/* The elements of row `row` of a list leaf: *start and *count. */
static bool list_at(const struct lc__parquet_array *a, size_t row,
                    size_t *start, size_t *count)
{
    const size_t *off;
    size_t nparents, level;
    if (a == NULL ||
        lc__parquet_array_list(a, 1, &off, &nparents, &level) != LC_OK ||
        row >= nparents)
        return false;
    *start = off[row];
    *count = off[row + 1] - off[row];
    return true;
}

static bool transform_at(const struct lc__parquet_array *a, size_t row,
                         double t[6])
{
    size_t s, n;
    if (!list_at(a, row, &s, &n) || (n != 6 && n != 9))
        return false;
    for (size_t j = 0; j < 6; j++) {
        if (!valid_at(a, s + j))
            return false;
        t[j] = number_at(a, s + j);
    }
    return true;
}

static bool shape_at(const struct lc__parquet_array *a, size_t row,
                     int64_t shape[2])
{
    size_t s, n;
    return list_at(a, row, &s, &n) && n == 2 && valid_at(a, s) &&
           valid_at(a, s + 1) && int_at(a, s, &shape[0]) &&
           int_at(a, s + 1, &shape[1]);
}

/* proj:code, or "EPSG:<n>" from proj:epsg, of cols in row; *code_ret
 * stays NULL when neither is there. */
static int code_at(struct loader *L, struct lc__stac_items *it,
                   struct strcache *cache, const struct asset_cols *cols,
                   size_t row, struct lc__stac_asset *rec)
{
    const struct lc__parquet_array *code = arr(L, cols->code);
    const struct lc__parquet_array *epsg = arr(L, cols->epsg);
    int64_t n;
    if (code != NULL && valid_at(code, row)) {
        rec->proj_code = string_at(&it->arena, cache, code, row);
        if (rec->proj_code == NULL)
            return no_memory(L);
        rec->epsg =
            lc__stac_epsg_from_code(rec->proj_code, strlen(rec->proj_code));
    } else if (epsg != NULL && valid_at(epsg, row) && int_at(epsg, row, &n) &&
               n > 0 && n <= INT32_MAX) {
        char text[32];
        int len = snprintf(text, sizeof text, "EPSG:%" PRId64, n);
        rec->proj_code =
            intern(&it->arena, cache, (const uint8_t *)text, (size_t)len);
        if (rec->proj_code == NULL)
            return no_memory(L);
        rec->epsg = (int32_t)n;
    }
    return LC_OK;
}

static int fill_roles(struct loader *L, struct lc__stac_items *it,
                      struct strcache *cache, const struct lc__parquet_array *a,
                      size_t row, const struct lc__stac_asset *prev,
                      struct lc__stac_asset *rec)
{
    size_t s, n;
    if (!list_at(a, row, &s, &n) || n == 0)
        return LC_OK;
    /* The same roles as the previous item's share its array. */
    if (prev != NULL && prev->nroles == n) {
        bool same = true;
        for (size_t j = 0; same && j < n; j++) {
            size_t len;
            const uint8_t *p = bytes_at(a, s + j, &len);
            same = valid_at(a, s + j) && strlen(prev->roles[j]) == len &&
                   memcmp(prev->roles[j], p, len) == 0;
        }
        if (same) {
            rec->roles = prev->roles;
            rec->nroles = n;
            return LC_OK;
        }
    }
    const char **roles = lc__arena_alloc(&it->arena, n * sizeof *roles);
    if (roles == NULL)
        return no_memory(L);
    size_t count = 0;
    for (size_t j = 0; j < n; j++) {
        if (!valid_at(a, s + j))
            continue;
        roles[count] = string_at(&it->arena, cache, a, s + j);
        if (roles[count] == NULL)
            return no_memory(L);
        count++;
    }
    rec->roles = roles;
    rec->nroles = count;
    return LC_OK;
}

static int fill_bands(struct loader *L, struct lc__stac_items *it,
                      const struct asset_cols *ac, size_t row,
                      const struct lc__stac_asset *prev,
                      struct lc__stac_asset *rec)
{
    const struct lc__parquet_array *count = arr(L, ac->bands);
    const struct lc__parquet_array *nodata = arr(L, ac->nodata);
    const struct lc__parquet_array *dtype = arr(L, ac->data_type);
    const struct lc__parquet_array *scale = arr(L, ac->scale);
    const struct lc__parquet_array *offset = arr(L, ac->offset);
    size_t s, n;
    if (!list_at(count, row, &s, &n) || n == 0)
        return LC_OK;
    struct lc__stac_raster_band one[8];
    struct lc__stac_raster_band *bands = one;
    if (n > LC_ARRAY_SIZE(one)) {
        bands = lc__arena_alloc(&it->arena, n * sizeof *bands);
        if (bands == NULL)
            return no_memory(L);
    }
    memset(bands, 0, n * sizeof *bands);
    for (size_t j = 0; j < n; j++) {
        struct lc__stac_raster_band *b = &bands[j];
        size_t e = s + j;
        b->data_type = LC_DTYPE_UNKNOWN;
        b->scale = 1;
        b->offset = 0;
        if (nodata != NULL && e < nodata->nvalues && valid_at(nodata, e)) {
            if (nodata->column->type == LC_PQ_BYTE_ARRAY) {
                size_t len;
                const char *p = (const char *)bytes_at(nodata, e, &len);
                if (len == 3 && strncasecmp(p, "nan", 3) == 0) {
                    b->has_nodata = true;
                    b->nodata = NAN;
                } else if (len == 3 && strncasecmp(p, "inf", 3) == 0) {
                    b->has_nodata = true;
                    b->nodata = INFINITY;
                } else if (len == 4 && strncasecmp(p, "-inf", 4) == 0) {
                    b->has_nodata = true;
                    b->nodata = -INFINITY;
                } else {
                    b->has_nodata = lc__parse_double(p, len, &b->nodata);
                }
            } else {
                b->has_nodata = true;
                b->nodata = number_at(nodata, e);
            }
        }
        if (dtype != NULL && e < dtype->nvalues && valid_at(dtype, e)) {
            size_t len;
            const char *p = (const char *)bytes_at(dtype, e, &len);
            b->data_type = lc__stac_dtype_from_name(p, len);
        }
        if (scale != NULL && e < scale->nvalues && valid_at(scale, e))
            b->scale = number_at(scale, e);
        if (offset != NULL && e < offset->nvalues && valid_at(offset, e))
            b->offset = number_at(offset, e);
    }
    /* Items of a collection mostly repeat their bands: share them. */
    if (prev != NULL && prev->nbands == n &&
        memcmp(prev->bands, bands, n * sizeof *bands) == 0) {
        rec->bands = prev->bands;
    } else if (bands == one) {
        struct lc__stac_raster_band *copy =
            lc__arena_alloc(&it->arena, n * sizeof *copy);
        if (copy == NULL)
            return no_memory(L);
        memcpy(copy, one, n * sizeof *copy);
        rec->bands = copy;
    } else {
        rec->bands = bands;
    }
    rec->nbands = n;
    return LC_OK;
}

static int fill_asset(struct loader *L, struct lc__stac_items *it, size_t k)
{
    const struct asset_cols *ac = &L->acols[k];
    const struct lc__parquet_array *href = arr(L, ac->href);
    const struct lc__parquet_array *type = arr(L, ac->type);
    const struct lc__parquet_array *roles = arr(L, ac->roles);
    struct strcache type_cache = {0}, roles_cache = {0}, code_cache = {0};
    const struct lc__stac_asset *prev = NULL;
    size_t nassets = it->nassets;
    int status;

    for (size_t r = 0; href != NULL && r < L->nview; r++) {
        size_t i = L->base + r;
        if (!valid_at(href, r))
            continue;
        struct lc__stac_asset *rec = &it->assets[i * nassets + k];
        rec->href = string_at(&it->arena, NULL, href, r);
        if (rec->href == NULL)
            return no_memory(L);
        if (type != NULL && valid_at(type, r)) {
            rec->type = string_at(&it->arena, &type_cache, type, r);
            if (rec->type == NULL)
                return no_memory(L);
        }
        status = fill_roles(L, it, &roles_cache, roles, r, prev, rec);
        if (status == LC_OK)
            status = code_at(L, it, &code_cache, ac, r, rec);
        if (status == LC_OK && rec->proj_code == NULL)
            status = code_at(L, it, &code_cache, &L->item, r, rec);
        if (status < 0)
            return status;
        rec->has_transform =
            transform_at(arr(L, ac->transform), r, rec->transform) ||
            transform_at(arr(L, L->item.transform), r, rec->transform);
        rec->has_shape = shape_at(arr(L, ac->shape), r, rec->shape) ||
                         shape_at(arr(L, L->item.shape), r, rec->shape);
        status = fill_bands(L, it, ac, r, prev, rec);
        if (status < 0)
            return status;
        prev = rec;
    }
    if (href == NULL)
        return LC_OK;

    /* The requested asset fields. */
    for (size_t f = 0; f < it->nasset_fields; f++) {
        size_t n = child_named(L, ac->node, it->asset_field_names[f]);
        struct strcache cache = {0};
        for (size_t r = 0; n != NONE && r < L->nview; r++) {
            struct lc__stac_asset *rec =
                &it->assets[(L->base + r) * nassets + k];
            if (rec->href == NULL)
                continue;
            status =
                node_value(L, &it->arena, &cache, n, r,
                           (struct lc__cql2_value *)(uintptr_t)&rec->fields[f]);
            if (status < 0)
                return no_memory(L);
        }
    }
    return LC_OK;
}

static int fill_fields(struct loader *L, struct lc__stac_items *it)
{
    for (size_t f = 0; f < it->nfields; f++) {
        const char *name = it->field_names[f];
        size_t key = hive_key(L, name);
        size_t n = key == NONE ? child_named(L, 0, name) : NONE;
        struct strcache cache = {0};
        for (size_t r = 0; r < L->nview; r++) {
            struct lc__cql2_value *v =
                &it->fields[(L->base + r) * it->nfields + f];
            int status = LC_OK;
            if (key != NONE)
                status = scalar_value(L, &it->arena, &cache,
                                      arr(L, L->slot_of_key[key]), r, v);
            else if (n != NONE)
                status = node_value(L, &it->arena, &cache, n, r, v);
            else
                break;
            if (status < 0)
                return no_memory(L);
        }
    }
    return LC_OK;
}

/*
 * A row group of many rows is filled on two threads: a second one fills
 * the geometries (parsing the WKB is a fifth of a load) and the last
 * asset, the calling thread the rest: in a profile of open() of the
 * 10k-item bench catalogue, 15 ms of the calling thread's 26 ms of CPU
 * were spent here, on one core. Each column has one writer; the second thread
 * works on copies of the loader (its own JSON buffer, scratch arena and error)
 * and of the table's header (its own arena, adopted by the table's after), so
 * nothing is shared but the columns' arrays. The error reported is the one a
 * fill on one thread would report: that of the earliest failing stage, in the
 * order below.
 */
#define FILL_PARALLEL_MIN_ROWS 2048

/* The stages of a fill, in order: times, geometry, bbox, asset k, fields
 * (the ids come first, on the calling thread, for the messages). */
enum { STAGE_TIMES, STAGE_GEOMETRY, STAGE_BBOX, STAGE_ASSET0 };

struct fill_part {
    struct loader L;
    struct lc__stac_items it;
    struct lc__errbuf err;
    size_t asset;        /* the asset it fills (NONE: none) */
    size_t failed_stage; /* SIZE_MAX: none */
    int status;          /* of the failed stage */
};

static void *fill_part_run(void *arg)
{
    struct fill_part *p = arg;
    p->status = fill_geometry(&p->L, &p->it);
    if (p->status < 0)
        p->failed_stage = STAGE_GEOMETRY;
    else if (p->asset != NONE &&
             (p->status = fill_asset(&p->L, &p->it, p->asset)) < 0)
        p->failed_stage = STAGE_ASSET0 + p->asset;
    return NULL;
}

/* Starts the second thread of a fill (NULL: none; one thread does all). */
static struct fill_part *
fill_part_start(struct loader *L, struct lc__stac_items *it, pthread_t *tid)
{
    if (L->nview < FILL_PARALLEL_MIN_ROWS || L->opts->nthreads == 1 ||
        (L->opts->nthreads == 0 && sysconf(_SC_NPROCESSORS_ONLN) < 2))
        return NULL;
    struct fill_part *p = lc__malloc(L->alloc, sizeof *p);
    if (p == NULL)
        return NULL;
    p->L = *L;
    p->L.err = &p->err;
    lc__strbuf_init(&p->L.sb, L->alloc, 0);
    lc__arena_init(&p->L.scratch, L->alloc);
    p->it = *it;
    lc__arena_init(&p->it.arena, &it->arena.alloc);
    p->err.status = 0;
    p->err.msg[0] = '\0';
    p->asset = it->nassets > 1 ? it->nassets - 1 : NONE;
    p->failed_stage = SIZE_MAX;
    if (pthread_create(tid, NULL, fill_part_run, p) != 0) {
        lc__strbuf_free(&p->L.sb);
        lc__free(L->alloc, p);
        return NULL;
    }
    return p;
}

static int fill(struct loader *L, struct lc__stac_items *it)
{
    int status = fill_ids(L, it);
    if (status < 0)
        return status;
    pthread_t tid;
    struct fill_part *part = fill_part_start(L, it, &tid);
    size_t nmine =
        part != NULL && part->asset != NONE ? it->nassets - 1 : it->nassets;
    size_t stage = STAGE_TIMES;
    status = fill_times(L, it);
    if (status == LC_OK && part == NULL) {
        stage = STAGE_GEOMETRY;
        status = fill_geometry(L, it);
    }
    if (status == LC_OK) {
        stage = STAGE_BBOX;
        status = fill_bbox(L, it);
    }
    for (size_t k = 0; status == LC_OK && k < nmine; k++) {
        stage = STAGE_ASSET0 + k;
        status = fill_asset(L, it, k);
    }
    if (status == LC_OK) {
        stage = STAGE_ASSET0 + it->nassets;
        status = fill_fields(L, it);
    }
    if (part == NULL)
        return status;
    pthread_join(tid, NULL);
    lc__arena_adopt(&it->arena, &part->it.arena);
    lc__strbuf_free(&part->L.sb);
    lc__arena_free(&part->L.scratch);
    if (part->failed_stage != SIZE_MAX &&
        (status == LC_OK || part->failed_stage < stage)) {
        if (L->err != NULL)
            *L->err = part->err;
        status = part->status;
    }
    lc__free(L->alloc, part);
    return status;
}

/* ---- row-level pushdown ---------------------------------------------------
 */

/* A phase-1 array (NULL when the slot is absent). */
static const struct lc__parquet_array *arr1(const struct loader *L, size_t slot)
{
    if (slot == NONE || !L->in_phase1[slot])
        return NULL;
    return &L->t1->columns[L->col_of[slot]];
}

/* A value of a numeric bbox column; a FLOAT one widened by one ulp
 * outwards (lo: down), as a writer may have rounded it inwards. */
static double bbox_value(const struct lc__parquet_array *a, size_t row, bool lo)
{
    if (a->column->type == LC_PQ_DOUBLE) {
        double v;
        memcpy(&v, (const uint8_t *)a->values + 8 * row, 8);
        return v;
    }
    double v = number_at(a, row);
    if (a->column->type == LC_PQ_FLOAT)
        v = nextafterf((float)v, lo ? -INFINITY : INFINITY);
    return v;
}

/*
 * Whether the item in row `row` of t1 may meet the query box, by its
 * bbox: the conservative test of bbox_may_match, per row. A row without
 * a usable bbox (null, not 4 or 6 numbers, NaN, infinite) is kept: its
 * geometry decides. A bbox with xmin > xmax crosses the antimeridian and
 * covers x >= xmin and x <= xmax; a query box crossing it is [west, 180]
 * and [-180, east], as lc__stac_items_filter splits it.
 */
static bool bbox_row_may_match(const struct loader *L, size_t row)
{
    double v[4]; /* xmin, ymin, xmax, ymax */
    if (L->bbox[0] != NONE) {
        for (int k = 0; k < 4; k++) {
            const struct lc__parquet_array *a = arr1(L, L->bbox[k]);
            if (!valid_at(a, row))
                return true;
            v[k] = bbox_value(a, row, k < 2);
        }
    } else {
        const struct lc__parquet_array *a = arr1(L, L->bbox_list);
        size_t s, n;
        if (!list_at(a, row, &s, &n) || (n != 4 && n != 6))
            return true;
        size_t at[4] = {s, s + 1, s + n / 2, s + n / 2 + 1};
        for (int k = 0; k < 4; k++) {
            if (!valid_at(a, at[k]))
                return true;
            v[k] = bbox_value(a, at[k], k < 2);
        }
    }
    for (int k = 0; k < 4; k++)
        if (!isfinite(v[k]))
            return true;
    if (v[1] > v[3])
        return true; /* not a box: the geometry decides */
    const struct lc__envelope *q = &L->opts->bbox;
    /* (A query with miny > maxy is a degenerate segment to the filter:
     * its y still lie between the two.) */
    double qy0 = q->miny < q->maxy ? q->miny : q->maxy;
    double qy1 = q->miny < q->maxy ? q->maxy : q->miny;
    if (v[1] > qy1 || v[3] < qy0)
        return false;
    double qx[2][2] = {{q->minx, q->maxx}, {q->minx, q->maxx}};
    int nq = 1;
    if (q->minx > q->maxx) {
        qx[0][1] = 180.0;
        qx[1][0] = -180.0;
        nq = 2;
    }
    for (int k = 0; k < nq; k++) {
        if (v[0] <= v[2] ? (v[0] <= qx[k][1] && qx[k][0] <= v[2])
                         : (qx[k][1] >= v[0] || qx[k][0] <= v[2]))
            return true;
    }
    return false;
}

/*
 * Whether the item in row `row` of t1 meets [start_us, end_us], with the
 * STAC semantics of lc__stac_items_filter (an item with only start or
 * only end is that instant; no time never meets). A time that does not
 * read keeps the row: the load reports it.
 */
static bool time_row_may_match(const struct loader *L, size_t row)
{
    int64_t t[3] = {LC__STAC_NO_TIME, LC__STAC_NO_TIME, LC__STAC_NO_TIME};
    for (int k = 0; k < 3; k++) {
        const struct lc__parquet_array *a = arr1(L, L->times[k]);
        if (a == NULL || !valid_at(a, row))
            continue;
        if (time_at(a, row, &t[k], NULL) != LC_OK)
            return true;
        if (k == 0)
            break; /* a datetime decides alone */
    }
    int64_t start = L->opts->start_us, end = L->opts->end_us;
    if (start > end)
        return false;
    if (t[0] != LC__STAC_NO_TIME)
        return start <= t[0] && t[0] <= end;
    int64_t s = t[1], e = t[2];
    if (s == LC__STAC_NO_TIME && e == LC__STAC_NO_TIME)
        return false;
    if (s == LC__STAC_NO_TIME)
        s = e;
    if (e == LC__STAC_NO_TIME)
        e = s;
    return s <= end && e >= start;
}

/* The values of a DOUBLE leaf without nulls, else NULL. */
static const double *plain_doubles(const struct lc__parquet_array *a)
{
    if (a == NULL || a->column->type != LC_PQ_DOUBLE)
        return NULL;
    for (size_t k = 0; k < a->depth; k++)
        if (a->levels[k].validity != NULL)
            return NULL;
    return a->values;
}

/*
 * m[r] = whether row first + r of t1 (r < n) may meet the bbox. The common
 * layout (a struct of four DOUBLE without nulls) is tested without
 * branches; anything else row by row.
 */
static void bbox_mask(const struct loader *L, size_t first, size_t n,
                      uint8_t *m)
{
    const double *c[4] = {NULL, NULL, NULL, NULL};
    bool fast = L->bbox[0] != NONE;
    for (int k = 0; fast && k < 4; k++)
        fast = (c[k] = plain_doubles(arr1(L, L->bbox[k]))) != NULL;
    if (!fast) {
        for (size_t r = 0; r < n; r++)
            m[r] &= bbox_row_may_match(L, first + r);
        return;
    }
    const struct lc__envelope *q = &L->opts->bbox;
    double qy0 = q->miny < q->maxy ? q->miny : q->maxy;
    double qy1 = q->miny < q->maxy ? q->maxy : q->miny;
    /* The query's x as one or two ranges, as bbox_row_may_match. */
    double ax0 = q->minx, ax1 = q->maxx, bx0 = q->minx, bx1 = q->maxx;
    if (q->minx > q->maxx) {
        ax1 = 180.0;
        bx0 = -180.0;
    }
    const double *x0 = c[0] + first, *y0 = c[1] + first, *x1 = c[2] + first,
                 *y1 = c[3] + first;
    for (size_t r = 0; r < n; r++) {
        /* v - v is 0 for a finite v, NaN otherwise. */
        int usable = (x0[r] - x0[r] == 0) & (y0[r] - y0[r] == 0) &
                     (x1[r] - x1[r] == 0) & (y1[r] - y1[r] == 0) &
                     (y0[r] <= y1[r]);
        int ys = (y0[r] <= qy1) & (y1[r] >= qy0);
        int plain = (x0[r] <= ax1) & (ax0 <= x1[r]);
        plain |= (x0[r] <= bx1) & (bx0 <= x1[r]);
        int crossing = (ax1 >= x0[r]) | (ax0 <= x1[r]);
        crossing |= (bx1 >= x0[r]) | (bx0 <= x1[r]);
        int xs = x0[r] <= x1[r] ? plain : crossing;
        m[r] &= (uint8_t)((usable ^ 1) | (ys & xs));
    }
}

/*
 * m[r] = whether row first + r of t1 may meet the datetime: datetimes in
 * microseconds compared without branches, other rows (null datetime,
 * other types) by time_row_may_match.
 */
static void time_mask(const struct loader *L, size_t first, size_t n,
                      uint8_t *m)
{
    const struct lc__parquet_array *a = arr1(L, L->times[0]);
    if (a == NULL || a->column->type != LC_PQ_INT64 ||
        a->column->logical.kind != LC_PQ_LOGICAL_TIMESTAMP ||
        a->column->logical.unit != LC_PQ_MICROS ||
        L->opts->start_us > L->opts->end_us) {
        for (size_t r = 0; r < n; r++)
            m[r] &= time_row_may_match(L, first + r);
        return;
    }
    const int64_t *v = a->values; /* NULL when no value is set */
    int64_t start = L->opts->start_us, end = L->opts->end_us;
    for (size_t r = 0; r < n; r++) {
        if (!valid_at(a, first + r) || v[first + r] == LC__STAC_NO_TIME)
            m[r] &= time_row_may_match(L, first + r);
        else
            m[r] &= (uint8_t)((v[first + r] >= start) & (v[first + r] <= end));
    }
}

static int alloc_bits(struct loader *L);

/* Keeps the first error of a kind. */
static void note_error(struct row_error *e, size_t item, int status,
                       const char *msg)
{
    if (e->item != SIZE_MAX)
        return;
    e->item = item;
    e->status = status;
    lc__copy_str(e->msg, sizeof e->msg, msg);
}

/* Room for one more candidate. */
static int grow_candidates(struct loader *L)
{
    if (L->ncand < L->cand_cap)
        return LC_OK;
    /* A first guess: a sixteenth of the rows the statistics let through,
     * so that few queries grow the arrays more than once or twice. */
    size_t cap = L->cand_cap * 2;
    if (cap < 1024)
        cap = L->loaded / 16 > 1024 ? L->loaded / 16 : 1024;
    size_t *cand = lc__realloc(L->alloc, L->cand, L->cand_cap * sizeof *cand,
                               cap * sizeof *cand);
    if (cand == NULL)
        return no_memory(L);
    L->cand = cand;
    if (L->times1) {
        int64_t *t =
            lc__realloc(L->alloc, L->ctime, 3 * L->cand_cap * sizeof *t,
                        3 * cap * sizeof *t);
        if (t == NULL)
            return no_memory(L);
        L->ctime = t;
    }
    if (L->bbox1) {
        struct lc__envelope *e = lc__realloc(
            L->alloc, L->cbox, L->cand_cap * sizeof *e, cap * sizeof *e);
        if (e == NULL)
            return no_memory(L);
        L->cbox = e;
    }
    L->cand_cap = cap;
    return LC_OK;
}

/*
 * The phase-1 visitor: of the rows of one row group (the bbox and time
 * columns), marks the candidates - those that may meet the bbox and the
 * datetime, up to max_items in all - in the segment's bitmap, and keeps
 * what the table needs of them.
 */
static int scan_rows(void *opaque, const struct lc__parquet_table *rows,
                     size_t fi, size_t rg, struct lc__errbuf *err)
{
    struct loader *L = opaque;
    const struct lc__stac_load_options *o = L->opts;
    (void)err;
    while (L->seg < L->nsegs &&
           (L->segs[L->seg].file != fi || L->segs[L->seg].rg != rg))
        L->seg++;
    LC_RETURN_IF(L->seg == L->nsegs || rows->nrows != L->segs[L->seg].rows,
                 L->err, LC_ECORRUPT,
                 "%s: row group %zu: %zu rows read where it holds %zu",
                 lc__parquet_dataset_path(L->ds, fi), rg, rows->nrows,
                 L->seg < L->nsegs ? L->segs[L->seg].rows : 0);
    /* Every segment is known by now: the filter saw every row group. */
    if (L->bits == NULL) {
        int status = alloc_bits(L);
        if (status < 0)
            return status;
    }
    struct segment *sg = &L->segs[L->seg];
    size_t n = rows->nrows;
    size_t limit = o->max_items > 0 ? o->max_items : SIZE_MAX;
    if (n == 0 || L->ncand >= limit)
        return LC_OK;
    if (n > L->mask_cap) {
        uint8_t *m = lc__realloc(L->alloc, L->mask, L->mask_cap, n);
        if (m == NULL)
            return no_memory(L);
        L->mask = m;
        L->mask_cap = n;
    }
    L->t1 = rows;
    uint8_t *m = L->mask;
    memset(m, 1, n);
    if (o->has_datetime)
        time_mask(L, 0, n, m);
    if (L->bbox1)
        bbox_mask(L, 0, n, m);

    const struct lc__parquet_array *t[3], *b[4], *lst = arr1(L, L->bbox_list);
    for (int k = 0; k < 3; k++)
        t[k] = L->times1 ? arr1(L, L->times[k]) : NULL;
    for (int k = 0; k < 4; k++)
        b[k] = arr1(L, L->bbox[k]);
    uint8_t *bits = L->bits + sg->sel_at;
    for (size_t r = 0; r < n && L->ncand < limit; r++) {
        if (!m[r])
            continue;
        int status = grow_candidates(L);
        if (status < 0)
            return status;
        size_t i = L->ncand;
        struct lc__errbuf msg; /* (no zeroing of 512 bytes per row) */
        msg.status = 0;
        msg.msg[0] = '\0';
        for (int k = 0; L->times1 && k < 3; k++)
            if (row_time(t[k], r, &L->ctime[3 * i + (size_t)k], &msg) < 0)
                note_error(&L->time_err[k], i, LC_ECORRUPT, msg.msg);
        if (L->bbox1 && row_bbox(b, lst, r, &L->cbox[i], &msg) < 0)
            note_error(&L->bbox_err, i, LC_ECORRUPT, msg.msg);
        bits[r >> 3] |= (uint8_t)(1u << (r & 7));
        L->cand[L->ncand++] = sg->table_row + r;
        sg->kept++;
    }
    L->t1 = NULL;
    return LC_OK;
}

/* Bitmaps of candidates, one per segment. */
static int alloc_bits(struct loader *L)
{
    size_t nbytes = 0;
    for (size_t k = 0; k < L->nsegs; k++) {
        L->segs[k].sel_at = nbytes;
        if (!lc__size_add(nbytes, L->segs[k].rows / 8 + 1, &nbytes))
            return lc__error(L->err, LC_ELIMIT, "%s: too many rows", L->name);
    }
    L->bits = lc__calloc(L->alloc, nbytes + 1, 1);
    return L->bits == NULL ? no_memory(L) : LC_OK;
}

/*
 * Splits the slots between the phases: the bbox columns (with has_bbox)
 * and the times (with has_datetime) in phase 1, the rest in phase 2; and
 * lists each phase's paths. Without a pushdown, everything is phase 2.
 */
static int split_phases(struct loader *L, const char ***p1, size_t *n1,
                        const char ***p2, size_t *n2)
{
    const struct lc__stac_load_options *o = L->opts;
    L->in_phase1 = lc__calloc(L->alloc, L->npaths + 1, sizeof(bool));
    L->col_of = lc__malloc_array(L->alloc, L->npaths + 1, sizeof(size_t));
    *p1 = lc__malloc_array(L->alloc, L->npaths + 1, sizeof(char *));
    *p2 = lc__malloc_array(L->alloc, L->npaths + 1, sizeof(char *));
    if (L->in_phase1 == NULL || L->col_of == NULL || *p1 == NULL || *p2 == NULL)
        return no_memory(L);
    size_t spatial[5] = {L->bbox[0], L->bbox[1], L->bbox[2], L->bbox[3],
                         L->bbox_list};
    bool any = false;
    for (int k = 0; o->has_bbox && k < 5; k++)
        if (spatial[k] != NONE)
            any = L->bbox1 = L->in_phase1[spatial[k]] = true;
    for (int k = 0; o->has_datetime && k < 3; k++)
        if (L->times[k] != NONE)
            any = L->times1 = L->in_phase1[L->times[k]] = true;
    /* has_datetime without any time column: the row-group filter keeps
     * nothing, and phase 1 reads no column. */
    L->two_phase = any || o->has_datetime;
    *n1 = *n2 = 0;
    for (size_t k = 0; k < L->npaths; k++) {
        if (L->two_phase && L->in_phase1[k]) {
            L->col_of[k] = *n1;
            (*p1)[(*n1)++] = L->paths[k];
        } else {
            L->in_phase1[k] = false;
            L->col_of[k] = *n2;
            (*p2)[(*n2)++] = L->paths[k];
        }
    }
    return LC_OK;
}

/* The table, once the number of items is known: the candidates, or the
 * rows of the row groups read (every filter call comes before the first
 * row group is decoded), up to max_items. */
static int new_table(struct loader *L)
{
    size_t count = L->two_phase ? L->ncand : L->loaded;
    if (L->opts->max_items > 0 && count > L->opts->max_items)
        count = L->opts->max_items;
    return lc__stac_items_new(count, L->name, L->opts, L->keys, L->nkeys_assets,
                              &L->items, L->err);
}

/* The last visitor: fills the items of one row group's rows. */
static int fill_rows(void *opaque, const struct lc__parquet_table *rows,
                     size_t fi, size_t rg, struct lc__errbuf *err)
{
    struct loader *L = opaque;
    (void)fi;
    (void)rg;
    (void)err;
    if (L->items == NULL) {
        int status = new_table(L);
        if (status < 0)
            return status;
    }
    size_t count = L->items->count;
    L->t = rows;
    L->base = L->visited;
    L->nview = L->base < count ? count - L->base : 0;
    if (L->nview > rows->nrows)
        L->nview = rows->nrows;
    int status = L->nview > 0 ? fill(L, L->items) : LC_OK;
    L->visited += rows->nrows;
    L->t = NULL;
    return status;
}

/* ---- entry ----------------------------------------------------------------
 */

int lc__stac_items_from_parquet(struct lc__parquet_dataset *ds,
                                const struct lc__stac_load_options *opts,
                                struct lc__stac_items **items_ret,
                                struct lc__errbuf *err)
{
    static const struct lc__stac_load_options no_options;
    LC_RETURN_IF(items_ret == NULL || ds == NULL ||
                     lc__parquet_dataset_num_files(ds) == 0,
                 err, LC_EINVAL, "stac-geoparquet: no dataset");
    *items_ret = NULL;
    if (opts == NULL)
        opts = &no_options;

    struct loader L = {0};
    L.ds = ds;
    L.opts = opts;
    L.alloc = opts->alloc;
    L.err = err;
    L.f0 = lc__parquet_dataset_file(ds, 0);
    L.name = lc__parquet_dataset_path(ds, 0);
    L.nleaves = lc__parquet_num_columns(L.f0);
    L.nkeys = lc__parquet_dataset_num_keys(ds);
    L.id = L.geometry = L.bbox_list = L.assets_node = NONE;
    for (int k = 0; k < 4; k++)
        L.bbox[k] = NONE;
    for (int k = 0; k < 3; k++)
        L.times[k] = NONE;
    memset(&L.item, 0xff, sizeof L.item);
    L.stat_file = NONE;
    for (int k = 0; k < 3; k++)
        L.time_err[k].item = SIZE_MAX;
    L.bbox_err.item = SIZE_MAX;
    lc__strbuf_init(&L.sb, opts->alloc, 0);
    lc__arena_init(&L.scratch, opts->alloc);

    const char **p1 = NULL, **p2 = NULL;
    size_t n1 = 0, n2 = 0;
    int status = LC_OK;
    size_t nrgs = 0;
    for (size_t i = 0; i < lc__parquet_dataset_num_files(ds); i++)
        if (!lc__size_add(
                nrgs,
                lc__parquet_num_row_groups(lc__parquet_dataset_file(ds, i)),
                &nrgs)) {
            status =
                lc__error(err, LC_ELIMIT, "%s: too many row groups", L.name);
            goto out;
        }
    L.paths =
        lc__malloc_array(L.alloc, L.nleaves + L.nkeys + 1, sizeof *L.paths);
    L.slot_of_leaf = lc__malloc_array(L.alloc, L.nleaves + 1, sizeof(size_t));
    L.slot_of_key = lc__malloc_array(L.alloc, L.nkeys + 1, sizeof(size_t));
    L.segs = lc__malloc_array(L.alloc, nrgs + 1, sizeof *L.segs);
    if (L.paths == NULL || L.slot_of_leaf == NULL || L.slot_of_key == NULL ||
        L.segs == NULL) {
        status = lc__error(err, LC_ENOMEM, "%s: out of memory", L.name);
        goto out;
    }
    L.segcap = nrgs;
    memset(L.slot_of_leaf, 0xff, (L.nleaves + 1) * sizeof(size_t));
    memset(L.slot_of_key, 0xff, (L.nkeys + 1) * sizeof(size_t));

    status = plan(&L);
    if (status < 0)
        goto out;
    status = split_phases(&L, &p1, &n1, &p2, &n2);
    if (status < 0)
        goto out;
    struct lc__parquet_dataset_read_options ro = {.filter = keep_row_group_rows,
                                                  .opaque = &L,
                                                  .nthreads = opts->nthreads};
    L.phase1 = L.two_phase;
    if (L.two_phase) {
        status = lc__parquet_dataset_scan(ds, p1, n1, &ro, scan_rows, &L, err);
        if (status < 0)
            goto out;
        L.phase1 = false;
        ro.filter = keep_candidates;
    }
    status = lc__parquet_dataset_scan(ds, p2, n2, &ro, fill_rows, &L, err);
    if (status == LC_OK && L.items == NULL)
        status = new_table(&L); /* no row group read */
    if (status == LC_OK && L.visited != (L.two_phase ? L.ncand : L.loaded))
        status = lc__error(err, LC_ECORRUPT,
                           "%s: %zu rows read where the row groups hold %zu",
                           L.name, L.visited, L.two_phase ? L.ncand : L.loaded);
    if (status < 0)
        goto out;
    *items_ret = L.items;
    L.items = NULL;
out:
    lc__stac_items_free(L.items);
    lc__free(L.alloc, (void *)p1);
    lc__free(L.alloc, (void *)p2);
    lc__free(L.alloc, L.in_phase1);
    lc__free(L.alloc, L.col_of);
    lc__free(L.alloc, L.bits);
    lc__free(L.alloc, L.head_bits);
    lc__free(L.alloc, L.cand);
    lc__free(L.alloc, L.ctime);
    lc__free(L.alloc, L.cbox);
    lc__free(L.alloc, L.mask);
    lc__strbuf_free(&L.sb);
    lc__arena_free(&L.scratch);
    lc__free(L.alloc, (void *)L.paths);
    lc__free(L.alloc, L.slot_of_leaf);
    lc__free(L.alloc, L.slot_of_key);
    lc__free(L.alloc, L.segs);
    lc__free(L.alloc, (void *)L.keys);
    lc__free(L.alloc, L.acols);
    return status;
}
