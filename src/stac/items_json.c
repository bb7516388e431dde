/* items_json.c - STAC items from JSON: FeatureCollection, array, Item,
 * NDJSON. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "../common/alloc.h"
#include "../common/isotime.h"
#include "../common/text.h"
#include "items_internal.h"

/*
 * How it goes:
 *
 *   text --jansson--> one document (FeatureCollection / array / Item):
 *                     the list of its item objects
 *        or, NDJSON:  the list of its non-blank lines
 *        --> asset keys: the requested ones, or every key in order of
 *            first appearance (a first pass over the items)
 *        --> lc__stac_items_new(count, ...) --> one pass filling the table
 *
 * NDJSON lines are parsed one at a time and freed at once (twice when
 * every asset key is wanted), so a large file never has all its items in
 * jansson's form, which takes several times the text's size.
 *
 * Every string the table keeps is copied into its arena, and every jansson
 * document is freed before returning. jansson allocates with malloc, not
 * with opts->alloc: only the table and the loader's own lists use it.
 *
 * jansson caps nesting at 2048 while parsing; a document deeper than
 * max_json_depth containers (load options; 0: DEFAULT_MAX_DEPTH) is
 * refused (LC_ELIMIT) before anything recurses over it. Integers beyond int64
 * make jansson fail; such a document (or NDJSON line) is read again with every
 * integer as a double.
 */

#define DEFAULT_MAX_DEPTH 64
/* Loading every asset key of a catalogue makes a dense table of
 * items x keys records: cap the keys, and refuse a table mostly empty. */
#define MAX_ASSET_KEYS 1024
#define SPARSE_MIN_RECORDS 65536
#define SPARSE_FACTOR 16

struct src_item {
    json_t *obj;        /* in root; NULL for an NDJSON line */
    size_t line;        /* NDJSON: 1-based line number */
    size_t offset, len; /* NDJSON: the line's bytes in text */
};

struct loader {
    const char *name;
    const struct lc__stac_load_options *opts;
    struct lc__errbuf *err;
    const char *text;
    bool ndjson;
    json_error_t whole; /* NDJSON: the error of reading text as one value */
    json_t *root;       /* the document, when not NDJSON */
    struct src_item *items;
    size_t count, cap;
    struct lc__stac_items *t;
};

/* ---- messages ------------------------------------------------------------
 */

static const char *kind_of(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

/* Records "NAME: item 4 "ID"<detail>" (NDJSON: "NAME line 3: item
 * "ID"<detail>"); detail starts with its own separator. */
static int item_fail(struct loader *l, size_t i, int status, const char *fmt,
                     ...) LC_PRINTF_LIKE(4, 5);

static int item_fail(struct loader *l, size_t i, int status, const char *fmt,
                     ...)
{
    char detail[LC_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);

    char where[160];
    if (l->ndjson)
        (void)snprintf(where, sizeof where, "line %zu: item", l->items[i].line);
    else
        (void)snprintf(where, sizeof where, ": item %zu", i + 1);
    const char *id = l->t != NULL ? l->t->ids[i] : NULL;
    return lc__error(l->err, status, "%s%s%s%s%.80s%s%s", l->name,
                     l->ndjson ? " " : "", where, id ? " \"" : "", id ? id : "",
                     id ? "\"" : "", detail);
}

static int no_memory(struct loader *l)
{
    return lc__error(l->err, LC_ENOMEM, "%s: out of memory", l->name);
}

/* ---- parsing -------------------------------------------------------------
 */

/* True when a container nests deeper than `left` levels below v. */
static bool too_deep(const json_t *v, size_t left)
{
    if (!json_is_object(v) && !json_is_array(v))
        return false;
    if (left == 0)
        return true;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (too_deep(json_array_get(v, i), left - 1))
                return true;
        return false;
    }
    const char *key;
    const json_t *member;
    json_object_foreach((json_t *)(uintptr_t)v, key,
                        member) if (too_deep(member, left - 1)) return true;
    return false;
}

/* How to raise a cap, for the messages of those with an option. */
#define RAISE_HINT(name)                                                       \
    "; raise it with limits={'" name "': ...} (docs/limits.md)"

static size_t max_depth(const struct loader *l)
{
    return l->opts->max_json_depth != 0 ? l->opts->max_json_depth
                                        : DEFAULT_MAX_DEPTH;
}

/* json_loadb, read again with integers as doubles when one overflows. */
static json_t *load(const char *text, size_t len, json_error_t *je)
{
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, je);
    if (v == NULL && json_error_code(je) == json_error_numeric_overflow)
        v = json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
                       je);
    return v;
}

static int push_item(struct loader *l, struct src_item item)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64, nbytes;
        if (!lc__size_mul(cap, sizeof *l->items, &nbytes))
            return no_memory(l);
        struct src_item *items = lc__realloc(l->opts->alloc, l->items,
                                             l->cap * sizeof *l->items, nbytes);
        if (items == NULL)
            return no_memory(l);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = item;
    return LC_OK;
}

static bool is_blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return false;
    return true;
}

/* Lists the non-blank lines (up to max_items); nothing is parsed yet. */
static int parse_ndjson(struct loader *l, size_t len)
{
    size_t max = l->opts->max_items;
    const char *p = l->text, *end = l->text + len;
    size_t line = 0;
    l->ndjson = true;
    while (p < end && (max == 0 || l->count < max)) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (!is_blank(p, stop))
            LC_FORWARD_IF_ERROR(push_item(
                l, (struct src_item){NULL, line, (size_t)(p - l->text),
                                     (size_t)(stop - p)}));
        p = nl ? nl + 1 : end;
    }
    return LC_OK;
}

/* The object of item i: in the document, or parsed from its NDJSON line
 * (to be freed with json_decref when *owned). */
static int item_object(struct loader *l, size_t i, json_t **obj, bool *owned)
{
    const struct src_item *it = &l->items[i];
    *owned = false;
    if (!l->ndjson) {
        *obj = it->obj;
        return LC_OK;
    }
    json_error_t je;
    json_t *v = load(l->text + it->offset, it->len, &je);
    /* The first line no value by itself: a multi-line value with more
     * after it, which the error of the whole text describes best. */
    if (v == NULL && i == 0)
        return lc__error(l->err, LC_ECORRUPT,
                         "%s: %s at line %d, column %d (byte %d)", l->name,
                         l->whole.text, l->whole.line, l->whole.column,
                         l->whole.position);
    LC_RETURN_IF(v == NULL, l->err, LC_ECORRUPT, "%s line %zu: %s at column %d",
                 l->name, it->line, je.text, je.column);
    int rc = LC_OK;
    if (!json_is_object(v))
        rc = lc__error(l->err, LC_ECORRUPT,
                       "%s line %zu: expected an item (a JSON object), found "
                       "%s",
                       l->name, it->line, kind_of(v));
    else if (too_deep(v, max_depth(l)))
        rc = lc__error(l->err, LC_ELIMIT,
                       "%s line %zu: JSON nested deeper than %zu levels "
                       "(max_json_depth)" RAISE_HINT("max_json_depth"),
                       l->name, it->line, max_depth(l));
    if (rc < 0) {
        json_decref(v);
        return rc;
    }
    *obj = v;
    *owned = true;
    return LC_OK;
}

/* Reads the text into l->items. */
static int parse(struct loader *l, size_t len)
{
    const char *text = l->text;
    json_error_t je;
    /* Nothing but white space: an NDJSON file without lines. */
    if (is_blank(text, text + len)) {
        l->ndjson = true;
        return LC_OK;
    }
    l->root = load(text, len, &je);
    if (l->root == NULL) {
        if (json_error_code(&je) == json_error_end_of_input_expected) {
            l->whole = je;
            return parse_ndjson(l, len);
        }
        return lc__error(l->err, LC_ECORRUPT,
                         "%s: %s at line %d, column %d (byte %d)", l->name,
                         je.text, je.line, je.column, je.position);
    }
    LC_RETURN_IF(too_deep(l->root, max_depth(l)), l->err, LC_ELIMIT,
                 "%s: JSON nested deeper than %zu levels "
                 "(max_json_depth)" RAISE_HINT("max_json_depth"),
                 l->name, max_depth(l));

    json_t *list = NULL;
    if (json_is_object(l->root)) {
        json_t *features = json_object_get(l->root, "features");
        const char *type = json_string_value(json_object_get(l->root, "type"));
        if (features != NULL) {
            LC_RETURN_IF(!json_is_array(features), l->err, LC_ECORRUPT,
                         "%s: \"features\" is %s, not an array", l->name,
                         kind_of(features));
            list = features;
        } else if (type == NULL || strcmp(type, "Feature") == 0) {
            /* One item (as an NDJSON line, "type" may be left out). */
            return push_item(l, (struct src_item){.obj = l->root});
        } else {
            return lc__error(l->err, LC_ECORRUPT,
                             "%s: an object of type \"%.40s\", not an item "
                             "(\"Feature\") or a FeatureCollection",
                             l->name, type);
        }
    } else if (json_is_array(l->root)) {
        list = l->root;
    } else {
        return lc__error(l->err, LC_ECORRUPT,
                         "%s: %s, not an item, an array of items or a "
                         "FeatureCollection",
                         l->name, kind_of(l->root));
    }

    size_t n = json_array_size(list), max = l->opts->max_items;
    if (max > 0 && n > max)
        n = max;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        LC_RETURN_IF(!json_is_object(item), l->err, LC_ECORRUPT,
                     "%s: item %zu is %s, not an object", l->name, i + 1,
                     kind_of(item));
        LC_FORWARD_IF_ERROR(push_item(l, (struct src_item){.obj = item}));
    }
    return LC_OK;
}

/* ---- asset keys ----------------------------------------------------------
 */

/* Every asset key of the items, in order of first appearance, into *keys
 * (freed with opts->alloc). The strings are the keys of *seen_ret, which
 * the caller frees with json_decref once the table has copied them. */
static int collect_asset_keys(struct loader *l, const char ***keys_ret,
                              size_t *nkeys_ret, json_t **seen_ret)
{
    const char **keys = NULL;
    size_t nkeys = 0, npresent = 0;
    json_t *seen = json_object();
    if (seen == NULL)
        return no_memory(l);
    int rc = LC_OK;
    for (size_t i = 0; i < l->count && rc == LC_OK; i++) {
        json_t *obj;
        bool owned;
        rc = item_object(l, i, &obj, &owned);
        if (rc < 0)
            break;
        json_t *assets = json_object_get(obj, "assets");
        const char *key;
        json_t *asset;
        json_object_foreach(assets, key, asset)
        {
            if (!json_is_object(asset))
                continue;
            npresent++;
            if (json_object_get(seen, key) != NULL)
                continue;
            if (nkeys == MAX_ASSET_KEYS) {
                rc = lc__error(l->err, LC_ELIMIT,
                               "%s: more than %d distinct asset keys; name "
                               "the assets to load",
                               l->name, MAX_ASSET_KEYS);
                break;
            }
            if (keys == NULL) {
                keys = lc__malloc_array(l->opts->alloc, MAX_ASSET_KEYS,
                                        sizeof *keys);
                if (keys == NULL) {
                    rc = no_memory(l);
                    break;
                }
            }
            if (json_object_set_new(seen, key, json_null()) != 0) {
                rc = no_memory(l);
                break;
            }
            /* seen's own copy outlives an NDJSON line's document. */
            keys[nkeys++] =
                json_object_iter_key(json_object_iter_at(seen, key));
        }
        if (owned)
            json_decref(obj);
    }
    /* A dense table of count * nkeys records: refuse one mostly empty. */
    size_t records = 0;
    if (rc == LC_OK &&
        (!lc__size_mul(l->count, nkeys, &records) ||
         (records > SPARSE_MIN_RECORDS && records / SPARSE_FACTOR > npresent)))
        rc = lc__error(l->err, LC_ELIMIT,
                       "%s: %zu asset keys over %zu items would make a "
                       "table of %zu records for %zu assets; name the "
                       "assets to load",
                       l->name, nkeys, l->count, records, npresent);
    if (rc < 0) {
        lc__free(l->opts->alloc, keys);
        json_decref(seen);
        return rc;
    }
    *keys_ret = keys;
    *nkeys_ret = nkeys;
    *seen_ret = seen;
    return LC_OK;
}

/* ---- values --------------------------------------------------------------
 */

static const char *copy_string(struct loader *l, const json_t *s)
{
    return lc__arena_strndup(&l->t->arena, json_string_value(s),
                             json_string_length(s));
}

/* Appends v as compact JSON, members in document order. */
static void write_json(struct lc__strbuf *sb, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        const json_t *member;
        bool first = true;
        lc__strbuf_putc(sb, '{');
        json_object_foreach((json_t *)(uintptr_t)v, key, member)
        {
            if (!first)
                lc__strbuf_putc(sb, ',');
            first = false;
            lc__strbuf_json_string(sb, key, strlen(key));
            lc__strbuf_putc(sb, ':');
            write_json(sb, member);
        }
        lc__strbuf_putc(sb, '}');
        return;
    }
    case JSON_ARRAY:
        lc__strbuf_putc(sb, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            write_json(sb, json_array_get(v, i));
        }
        lc__strbuf_putc(sb, ']');
        return;
    case JSON_STRING:
        lc__strbuf_json_string(sb, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        lc__strbuf_printf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    case JSON_REAL:
        lc__strbuf_double_json(sb, json_real_value(v));
        return;
    case JSON_TRUE:
        lc__strbuf_puts(sb, "true");
        return;
    case JSON_FALSE:
        lc__strbuf_puts(sb, "false");
        return;
    case JSON_NULL:
        lc__strbuf_puts(sb, "null");
        return;
    }
}

/* An array CQL2 can hold: scalars and arrays of them, no object. */
static bool plain_array(const json_t *a)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i);
        if (json_is_object(e) || (json_is_array(e) && !plain_array(e)))
            return false;
    }
    return true;
}

/* Converts a JSON value to a CQL2 value in the table's arena. */
static int to_value(struct loader *l, const json_t *v,
                    struct lc__cql2_value *out)
{
    memset(out, 0, sizeof *out);
    switch (json_typeof(v)) {
    case JSON_NULL:
        out->type = LC__CQL2_TNULL;
        return LC_OK;
    case JSON_TRUE:
    case JSON_FALSE:
        out->type = LC__CQL2_TBOOL;
        out->b = json_is_true(v);
        return LC_OK;
    case JSON_INTEGER:
        out->type = LC__CQL2_TNUMBER;
        out->is_int = true;
        out->i64 = (int64_t)json_integer_value(v);
        out->num = (double)out->i64;
        return LC_OK;
    case JSON_REAL:
        out->type = LC__CQL2_TNUMBER;
        out->num = json_real_value(v);
        return LC_OK;
    case JSON_STRING:
        /* Date strings stay strings: CQL2 compares them with times. */
        out->type = LC__CQL2_TSTRING;
        out->str = copy_string(l, v);
        out->len = json_string_length(v);
        return out->str != NULL ? LC_OK : no_memory(l);
    case JSON_ARRAY:
        if (plain_array(v)) {
            size_t n = json_array_size(v);
            struct lc__cql2_value *items =
                lc__arena_calloc(&l->t->arena, n, sizeof *items);
            if (items == NULL && n > 0)
                return no_memory(l);
            for (size_t i = 0; i < n; i++)
                LC_FORWARD_IF_ERROR(
                    to_value(l, json_array_get(v, i), &items[i]));
            out->type = LC__CQL2_TARRAY;
            out->items = items;
            out->nitems = n;
            return LC_OK;
        }
        break;
    case JSON_OBJECT:
        break;
    }
    /* An object, or an array holding one: its text. */
    struct lc__strbuf sb;
    lc__strbuf_init(&sb, l->opts->alloc, 0);
    write_json(&sb, v);
    if (sb.status == LC_OK) {
        out->type = LC__CQL2_TJSON;
        out->str = lc__arena_strndup(&l->t->arena, sb.data, sb.len);
        out->len = sb.len;
    }
    int status = sb.status;
    lc__strbuf_free(&sb);
    if (status == LC_OK && out->str == NULL)
        status = LC_ENOMEM;
    if (status < 0)
        return lc__error(l->err, status, "%s: %s writing a JSON value", l->name,
                         lc_strerror(status));
    return LC_OK;
}

/* A number that is an integer (written as one, or as an integral real
 * when integers were read as doubles) in [lo, hi]. */
static bool integer_in(const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    double d;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < lo || i > hi)
            return false;
        *out = (int64_t)i;
        return true;
    }
    if (!json_is_real(v))
        return false;
    d = json_real_value(v);
    /* Within +-9e18 the cast is defined; then compare as integers. */
    if (!(d >= -9e18 && d <= 9e18) || d != trunc(d))
        return false;
    int64_t i = (int64_t)d;
    if (i < lo || i > hi)
        return false;
    *out = i;
    return true;
}

/* ---- one item ------------------------------------------------------------
 */

static int read_time(struct loader *l, size_t i, const json_t *props,
                     const char *key, int64_t *out)
{
    const json_t *v = json_object_get(props, key);
    if (v == NULL || json_is_null(v))
        return LC_OK;
    if (!json_is_string(v))
        return item_fail(l, i, LC_ECORRUPT,
                         ": properties.%s is %s, not an RFC 3339 string", key,
                         kind_of(v));
    struct lc__isotime t;
    struct lc__errbuf terr = {0};
    if (lc__isotime_parse(json_string_value(v), json_string_length(v), &t,
                          &terr) < 0)
        return item_fail(l, i, LC_ECORRUPT, ": properties.%s: %s", key,
                         terr.msg);
    *out = t.us;
    return LC_OK;
}

static int read_geometry_and_bbox(struct loader *l, size_t i,
                                  const json_t *item)
{
    struct lc__stac_items *t = l->t;
    const json_t *g = json_object_get(item, "geometry");
    if (g != NULL && !json_is_null(g)) {
        if (!json_is_object(g))
            return item_fail(l, i, LC_ECORRUPT,
                             ": geometry is %s, not a GeoJSON object",
                             kind_of(g));
        struct lc__geom *geom;
        struct lc__errbuf gerr = {0};
        int rc = lc__geom_from_geojson(&t->arena, g, l->opts->geom_limits,
                                       &geom, &gerr);
        if (rc == LC_ENOMEM)
            return no_memory(l);
        if (rc < 0)
            return item_fail(l, i, rc == LC_ELIMIT ? LC_ELIMIT : LC_ECORRUPT,
                             ": geometry: %s", gerr.msg);
        t->geometry[i] = geom;
    }

    const json_t *b = json_object_get(item, "bbox");
    if (b == NULL || json_is_null(b)) {
        if (t->geometry[i] != NULL && !lc__geom_is_empty(t->geometry[i]))
            lc__geom_envelope(t->geometry[i], &t->bbox[i]);
        return LC_OK;
    }
    size_t n = json_is_array(b) ? json_array_size(b) : 0;
    double x[6];
    bool ok = n == 4 || n == 6;
    for (size_t k = 0; k < n && ok; k++) {
        ok = json_is_number(json_array_get(b, k));
        x[k] = json_number_value(json_array_get(b, k));
    }
    if (!ok)
        return item_fail(l, i, LC_ECORRUPT,
                         ": bbox is not an array of 4 or 6 numbers");
    /* 3D: minx, miny, minz, maxx, maxy, maxz. */
    size_t hi = n == 4 ? 2 : 3;
    t->bbox[i] = (struct lc__envelope){x[0], x[1], x[hi], x[hi + 1]};
    return LC_OK;
}

/* The member key of the asset, or else of the item's properties; null
 * counts as absent (as in stac-geoparquet, where both are a null). */
static const json_t *asset_or_item(const json_t *asset, const json_t *props,
                                   const char *key)
{
    const json_t *v = json_object_get(asset, key);
    if (v == NULL || json_is_null(v))
        v = json_object_get(props, key);
    return v != NULL && !json_is_null(v) ? v : NULL;
}

static int read_projection(struct loader *l, const json_t *asset,
                           const json_t *props, struct lc__stac_asset *out)
{
    /* proj:code, else proj:epsg; the asset's own, else the item's. */
    const json_t *sources[2] = {asset, props};
    for (size_t s = 0; s < 2 && out->proj_code == NULL; s++) {
        const json_t *code = json_object_get(sources[s], "proj:code");
        const json_t *epsg = json_object_get(sources[s], "proj:epsg");
        int64_t e;
        if (json_is_string(code)) {
            out->proj_code = copy_string(l, code);
            if (out->proj_code == NULL)
                return no_memory(l);
        } else if (epsg != NULL && integer_in(epsg, 1, INT32_MAX, &e)) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "EPSG:%" PRId64, e);
            out->proj_code = lc__arena_strndup(&l->t->arena, buf, (size_t)n);
            if (out->proj_code == NULL)
                return no_memory(l);
        }
    }
    if (out->proj_code != NULL)
        out->epsg =
            lc__stac_epsg_from_code(out->proj_code, strlen(out->proj_code));

    const json_t *tr = asset_or_item(asset, props, "proj:transform");
    size_t n = json_array_size(tr);
    if (n == 6 || n == 9) {
        out->has_transform = true;
        for (size_t k = 0; k < 6 && out->has_transform; k++) {
            const json_t *x = json_array_get(tr, k);
            out->has_transform = json_is_number(x);
            out->transform[k] = json_number_value(x);
        }
    }
    const json_t *shape = asset_or_item(asset, props, "proj:shape");
    if (json_array_size(shape) == 2)
        out->has_shape =
            integer_in(json_array_get(shape, 0), 0, INT64_MAX,
                       &out->shape[0]) &&
            integer_in(json_array_get(shape, 1), 0, INT64_MAX, &out->shape[1]);
    if (!out->has_shape)
        out->shape[0] = out->shape[1] = 0;
    return LC_OK;
}

static bool nodata_of(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (s == NULL)
        return false;
    if (strcasecmp(s, "nan") == 0)
        *out = NAN;
    else if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "+inf") == 0)
        *out = INFINITY;
    else if (strcasecmp(s, "-inf") == 0)
        *out = -INFINITY;
    else
        return false;
    return true;
}

static int read_bands(struct loader *l, const json_t *asset,
                      struct lc__stac_asset *out)
{
    const json_t *bands = json_object_get(asset, "raster:bands");
    size_t n = json_array_size(bands);
    if (n == 0)
        return LC_OK;
    struct lc__stac_raster_band *b =
        lc__arena_calloc(&l->t->arena, n, sizeof *b);
    if (b == NULL)
        return no_memory(l);
    for (size_t k = 0; k < n; k++) {
        const json_t *band = json_array_get(bands, k);
        const json_t *dt = json_object_get(band, "data_type");
        const json_t *scale = json_object_get(band, "scale");
        const json_t *offset = json_object_get(band, "offset");
        b[k].has_nodata =
            nodata_of(json_object_get(band, "nodata"), &b[k].nodata);
        b[k].data_type = json_is_string(dt)
                             ? lc__stac_dtype_from_name(json_string_value(dt),
                                                        json_string_length(dt))
                             : LC_DTYPE_UNKNOWN;
        b[k].scale = json_is_number(scale) ? json_number_value(scale) : 1.0;
        b[k].offset = json_is_number(offset) ? json_number_value(offset) : 0.0;
    }
    out->bands = b;
    out->nbands = n;
    return LC_OK;
}

static int read_asset(struct loader *l, const json_t *asset,
                      const json_t *props, struct lc__stac_asset *out)
{
    const json_t *href = json_object_get(asset, "href");
    /* No href: as if the item had no such asset (everything zero). */
    if (!json_is_string(href))
        return LC_OK;
    out->href = copy_string(l, href);
    if (out->href == NULL)
        return no_memory(l);
    const json_t *type = json_object_get(asset, "type");
    if (json_is_string(type) && (out->type = copy_string(l, type)) == NULL)
        return no_memory(l);

    const json_t *roles = json_object_get(asset, "roles");
    size_t nroles = 0;
    for (size_t k = 0; k < json_array_size(roles); k++)
        nroles += json_is_string(json_array_get(roles, k));
    if (nroles > 0) {
        const char **r = lc__arena_calloc(&l->t->arena, nroles, sizeof *r);
        if (r == NULL)
            return no_memory(l);
        size_t j = 0;
        for (size_t k = 0; k < json_array_size(roles); k++) {
            const json_t *role = json_array_get(roles, k);
            if (!json_is_string(role))
                continue;
            if ((r[j++] = copy_string(l, role)) == NULL)
                return no_memory(l);
        }
        out->roles = r;
        out->nroles = nroles;
    }

    LC_FORWARD_IF_ERROR(read_projection(l, asset, props, out));
    if (!l->opts->without_raster_bands)
        LC_FORWARD_IF_ERROR(read_bands(l, asset, out));

    /* lc__stac_items_new gave each asset record its own array of values:
     * filling it is this loader's job, hence the cast. */
    struct lc__cql2_value *fields =
        (struct lc__cql2_value *)(uintptr_t)out->fields;
    for (size_t f = 0; f < l->t->nasset_fields; f++) {
        const json_t *v = json_object_get(asset, l->t->asset_field_names[f]);
        if (v != NULL)
            LC_FORWARD_IF_ERROR(to_value(l, v, &fields[f]));
    }
    return LC_OK;
}

static int read_item(struct loader *l, size_t i, const json_t *item)
{
    struct lc__stac_items *t = l->t;

    const json_t *id = json_object_get(item, "id");
    if (id == NULL || json_is_null(id))
        return item_fail(l, i, LC_ECORRUPT, " has no id");
    if (!json_is_string(id))
        return item_fail(l, i, LC_ECORRUPT, ": id is %s, not a string",
                         kind_of(id));
    t->ids[i] = copy_string(l, id);
    if (t->ids[i] == NULL)
        return no_memory(l);

    /* A missing or non-object "properties" reads as empty. */
    const json_t *props = json_object_get(item, "properties");
    if (!json_is_object(props))
        props = NULL;
    LC_FORWARD_IF_ERROR(read_time(l, i, props, "datetime", &t->datetime[i]));
    LC_FORWARD_IF_ERROR(
        read_time(l, i, props, "start_datetime", &t->start_datetime[i]));
    LC_FORWARD_IF_ERROR(
        read_time(l, i, props, "end_datetime", &t->end_datetime[i]));
    LC_FORWARD_IF_ERROR(read_geometry_and_bbox(l, i, item));

    const json_t *assets = json_object_get(item, "assets");
    for (size_t k = 0; k < t->nassets; k++) {
        const json_t *asset = json_object_get(assets, t->asset_keys[k]);
        if (json_is_object(asset))
            LC_FORWARD_IF_ERROR(
                read_asset(l, asset, props, &t->assets[i * t->nassets + k]));
    }

    /* Properties first, then the item's own members ("collection"). */
    for (size_t f = 0; f < t->nfields; f++) {
        const char *name = t->field_names[f];
        const json_t *v = json_object_get(props, name);
        if (v == NULL)
            v = json_object_get(item, name);
        if (v != NULL)
            LC_FORWARD_IF_ERROR(to_value(l, v, &t->fields[i * t->nfields + f]));
    }
    return LC_OK;
}

/* ---- entry point ---------------------------------------------------------
 */

static int read_items(struct loader *l)
{
    int rc = LC_OK;
    for (size_t i = 0; i < l->count && rc == LC_OK; i++) {
        json_t *obj;
        bool owned;
        rc = item_object(l, i, &obj, &owned);
        if (rc < 0)
            break;
        rc = read_item(l, i, obj);
        if (owned)
            json_decref(obj);
    }
    return rc;
}

int lc__stac_items_from_json(const char *text, size_t len, const char *name,
                             const struct lc__stac_load_options *opts,
                             struct lc__stac_items **items_ret,
                             struct lc__errbuf *err)
{
    static const struct lc__stac_load_options no_options;
    if (items_ret != NULL)
        *items_ret = NULL;
    if (name == NULL)
        name = "JSON";
    LC_RETURN_IF(items_ret == NULL || (text == NULL && len > 0), err, LC_EINVAL,
                 "%s: NULL argument", name);
    if (text == NULL)
        text = "";
    struct loader l = {
        .name = name,
        .opts = opts != NULL ? opts : &no_options,
        .err = err,
        .text = text,
    };

    const char **all_keys = NULL;
    size_t nall_keys = 0;
    json_t *seen_keys = NULL;
    int rc = parse(&l, len);
    if (rc == LC_OK && l.opts->nassets == 0)
        rc = collect_asset_keys(&l, &all_keys, &nall_keys, &seen_keys);
    if (rc == LC_OK) {
        const char *const *keys =
            l.opts->nassets > 0 ? l.opts->assets : all_keys;
        size_t nkeys = l.opts->nassets > 0 ? l.opts->nassets : nall_keys;
        rc = lc__stac_items_new(l.count, name, l.opts, keys, nkeys, &l.t, err);
    }
    lc__free(l.opts->alloc, all_keys);
    json_decref(seen_keys);
    if (rc == LC_OK)
        rc = read_items(&l);

    json_decref(l.root);
    lc__free(l.opts->alloc, l.items);
    if (rc < 0) {
        lc__stac_items_free(l.t);
        return rc;
    }
    *items_ret = l.t;
    return LC_OK;
}
