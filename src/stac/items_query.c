/* items_query.c - the item table's queries: accessor, filter, sortby. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <jansson.h>
#include <math.h>
#include <strings.h>

#include "../common/alloc.h"
#include "items_internal.h"

/*
 * Three queries over the immutable table of items.h:
 *
 *   accessor  the value of a property of one item, for CQL2 and sorting;
 *   filter    bbox, datetime, ids and CQL2, cheapest test first, into a
 *             byte mask and then an exact-size index array;
 *   sort      by the first key, then runs of ties by the next: each step
 *             a stable radix or merge sort of 16-byte (key, slot) records
 *             made once per item (the comparator never calls the
 *             accessor).
 */

/* ---- the accessor ------------------------------------------------------ */

/* Where a property lives in the table. */
enum column_kind {
    COL_ID,
    COL_DATETIME,
    COL_START,
    COL_END,
    COL_GEOMETRY,
    COL_FIELD,
    COL_NONE
};

struct column {
    enum column_kind kind;
    size_t field; /* COL_FIELD: index in items->field_names */
};

static struct column find_column(const struct lc__stac_items *items,
                                 const char *name)
{
    name = lc__stac_property_name(name);
    if (strcmp(name, "id") == 0)
        return (struct column){COL_ID, 0};
    if (strcmp(name, "datetime") == 0)
        return (struct column){COL_DATETIME, 0};
    if (strcmp(name, "start_datetime") == 0)
        return (struct column){COL_START, 0};
    if (strcmp(name, "end_datetime") == 0)
        return (struct column){COL_END, 0};
    if (strcmp(name, "geometry") == 0)
        return (struct column){COL_GEOMETRY, 0};
    size_t k = lc__stac_field_index(items, name);
    if (k == SIZE_MAX)
        return (struct column){COL_NONE, 0};
    return (struct column){COL_FIELD, k};
}

static void set_time(struct lc__cql2_value *out, int64_t us)
{
    if (us != LC__STAC_NO_TIME) {
        out->type = LC__CQL2_TTIMESTAMP;
        out->us = us;
    }
}

static void column_value(const struct lc__stac_items *items, size_t i,
                         struct column col, struct lc__cql2_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = LC__CQL2_TNULL;
    switch (col.kind) {
    case COL_ID:
        if (items->ids[i] != NULL) {
            out->type = LC__CQL2_TSTRING;
            out->str = items->ids[i];
            out->len = strlen(items->ids[i]);
        }
        break;
    case COL_DATETIME:
        set_time(out, items->datetime[i]);
        break;
    case COL_START:
        set_time(out, items->start_datetime[i]);
        break;
    case COL_END:
        set_time(out, items->end_datetime[i]);
        break;
    case COL_GEOMETRY:
        if (items->geometry[i] != NULL) {
            out->type = LC__CQL2_TGEOMETRY;
            out->geom = items->geometry[i];
        }
        break;
    case COL_FIELD:
        *out = items->fields[i * items->nfields + col.field];
        break;
    case COL_NONE:
        break;
    }
}

void lc__stac_items_value(const struct lc__stac_items *items, size_t i,
                          const char *name, struct lc__cql2_value *out)
{
    column_value(items, i, find_column(items, name), out);
}

int lc__stac_items_get(void *record, const char *name,
                       struct lc__cql2_value *out)
{
    const struct lc__stac_record *r = record;
    lc__stac_items_value(r->items, r->index, name, out);
    return LC_OK;
}

/* ---- filter: time ------------------------------------------------------ */

/*
 * STAC API semantics: an item with a datetime meets [start, end] when the
 * datetime lies in it; otherwise its span [start_datetime, end_datetime]
 * must overlap it. An item with only one of start_datetime and
 * end_datetime (not valid STAC, but seen) is taken as an instant at the
 * end it has - the time the grouping into steps gives it too - rather
 * than as a span open on the other side, which would put it in every
 * later (or earlier) step.
 */
static bool time_meets(const struct lc__stac_items *items, size_t i,
                       int64_t start, int64_t end)
{
    if (start > end)
        return false; /* an empty interval; spans would still "overlap" */
    int64_t dt = items->datetime[i];
    if (dt != LC__STAC_NO_TIME)
        return start <= dt && dt <= end;
    int64_t s = items->start_datetime[i], e = items->end_datetime[i];
    if (s == LC__STAC_NO_TIME && e == LC__STAC_NO_TIME)
        return false;
    if (s == LC__STAC_NO_TIME)
        s = e;
    if (e == LC__STAC_NO_TIME)
        e = s;
    return s <= end && e >= start;
}

/* ---- filter: ids ------------------------------------------------------- */

/* An open-addressing set of the query's ids (FNV-1a hashes). */
struct id_set {
    const char *const *ids;
    size_t *slots; /* index + 1 into ids, 0 empty; cap a power of two */
    size_t mask;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static int id_set_init(struct id_set *set, const char *const *ids, size_t nids,
                       const struct lc_allocator *alloc)
{
    size_t cap = 16;
    while (cap / 2 < nids) { /* at most half full */
        if (cap > SIZE_MAX / 4)
            return LC_ENOMEM;
        cap *= 2;
    }
    set->ids = ids;
    set->mask = cap - 1;
    set->slots = lc__calloc(alloc, cap, sizeof *set->slots);
    if (set->slots == NULL)
        return LC_ENOMEM;
    for (size_t k = 0; k < nids; k++) {
        if (ids[k] == NULL)
            continue;
        size_t j = (size_t)hash_str(ids[k]) & set->mask;
        while (set->slots[j] != 0 && strcmp(ids[set->slots[j] - 1], ids[k]))
            j = (j + 1) & set->mask;
        set->slots[j] = k + 1;
    }
    return LC_OK;
}

static bool id_set_has(const struct id_set *set, const char *id)
{
    if (id == NULL)
        return false;
    size_t j = (size_t)hash_str(id) & set->mask;
    while (set->slots[j] != 0) {
        if (strcmp(set->ids[set->slots[j] - 1], id) == 0)
            return true;
        j = (j + 1) & set->mask;
    }
    return false;
}

/* ---- filter: bbox ------------------------------------------------------ */

/*
 * The query box as one or two boxes (two when it crosses the
 * antimeridian: [west, 180] and [-180, east]), each with the geometry the
 * exact test uses: its polygon, or a point or a segment when the box has
 * no area (the predicates skip degenerate rings).
 */
struct query_box {
    size_t n;
    struct lc__envelope env[2];
    struct lc__geom *geom[2];
    struct lc__arena arena;
};

static bool env_meets(const struct lc__envelope *a,
                      const struct lc__envelope *b)
{
    /* Written so that a NaN anywhere means "no". */
    return a->minx <= b->maxx && b->minx <= a->maxx && a->miny <= b->maxy &&
           b->miny <= a->maxy;
}

static size_t split_antimeridian(const struct lc__envelope *box,
                                 struct lc__envelope out[2])
{
    out[0] = *box;
    if (!(box->minx > box->maxx))
        return 1;
    out[0].maxx = 180.0;
    out[1] = *box;
    out[1].minx = -180.0;
    return 2;
}

static int degenerate_geom(struct lc__arena *arena,
                           const struct lc__envelope *e, struct lc__geom **out)
{
    struct lc__geom *g = lc__arena_calloc(arena, 1, sizeof *g);
    struct lc__coordseq *seq = lc__arena_calloc(arena, 1, sizeof *seq);
    double *xy = lc__arena_calloc(arena, 4, sizeof *xy);
    if (g == NULL || seq == NULL || xy == NULL)
        return LC_ENOMEM;
    xy[0] = e->minx;
    xy[1] = e->miny;
    xy[2] = e->maxx;
    xy[3] = e->maxy;
    bool point = e->minx == e->maxx && e->miny == e->maxy;
    g->type = point ? LC__GEOM_POINT : LC__GEOM_LINESTRING;
    seq->npoints = point ? 1 : 2;
    seq->xy = xy;
    g->nseqs = 1;
    g->seqs = seq;
    *out = g;
    return LC_OK;
}

/* q->arena is initialised by the caller. */
static int query_box_init(struct query_box *q, const struct lc__envelope *box)
{
    q->n = split_antimeridian(box, q->env);
    for (size_t k = 0; k < q->n; k++) {
        const struct lc__envelope *e = &q->env[k];
        int status = (e->minx < e->maxx && e->miny < e->maxy)
                         ? lc__geom_from_envelope(&q->arena, e, &q->geom[k])
                         : degenerate_geom(&q->arena, e, &q->geom[k]);
        if (status < 0)
            return status;
    }
    return LC_OK;
}

/* What one pass over the vertices of a geometry finds. */
struct vertex_scan {
    const struct query_box *q;
    bool inside; /* some vertex lies in a query box */
    struct lc__envelope env;
};

static void scan_seq(struct vertex_scan *s, const struct lc__coordseq *seq)
{
    for (size_t p = 0; p < seq->npoints && !s->inside; p++) {
        double x = seq->xy[2 * p], y = seq->xy[2 * p + 1];
        for (size_t k = 0; k < s->q->n; k++) {
            const struct lc__envelope *e = &s->q->env[k];
            if (x >= e->minx && x <= e->maxx && y >= e->miny && y <= e->maxy)
                s->inside = true;
        }
        s->env.minx = x < s->env.minx ? x : s->env.minx;
        s->env.maxx = x > s->env.maxx ? x : s->env.maxx;
        s->env.miny = y < s->env.miny ? y : s->env.miny;
        s->env.maxy = y > s->env.maxy ? y : s->env.maxy;
    }
}

static void scan_geom(struct vertex_scan *s, const struct lc__geom *g)
{
    for (size_t k = 0; k < g->nseqs && !s->inside; k++)
        scan_seq(s, &g->seqs[k]);
    for (size_t k = 0; k < g->nparts && !s->inside; k++)
        scan_geom(s, &g->parts[k]);
}

/*
 * Whether the geometry meets the query box. Cheap answers first: a vertex
 * inside the box means yes, an envelope apart from the box means no; only
 * shapes that straddle an edge of the box with no vertex in it (a long
 * edge across a small box, a box inside a polygon) go to the exact test.
 * A degenerate polygon (fewer than three distinct points, which the exact
 * predicates skip) with a vertex in the box counts as meeting it.
 */
static int geom_meets(const struct query_box *q, const struct lc__geom *g,
                      const struct lc_allocator *alloc, bool *result)
{
    struct vertex_scan s = {
        q, false, {INFINITY, INFINITY, -INFINITY, -INFINITY}};
    scan_geom(&s, g);
    *result = s.inside;
    if (s.inside)
        return LC_OK;
    for (size_t k = 0; k < q->n; k++) {
        if (!env_meets(&s.env, &q->env[k]))
            continue;
        int status = lc__geom_predicate(LC__SPATIAL_INTERSECTS, g, q->geom[k],
                                        alloc, result);
        if (status < 0 || *result)
            return status;
    }
    return LC_OK;
}

/* An item without geometry: its bbox, which may cross the antimeridian
 * (finite minx > maxx) and may be empty (infinite, minx > maxx). */
static bool item_bbox_meets(const struct query_box *q,
                            const struct lc__envelope *bbox)
{
    if (!isfinite(bbox->minx) || !isfinite(bbox->maxx))
        return false;
    struct lc__envelope parts[2];
    size_t n = split_antimeridian(bbox, parts);
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < q->n; b++)
            if (env_meets(&parts[a], &q->env[b]))
                return true;
    return false;
}

/* Whether item i meets the query box: its geometry, or without one its
 * bbox. */
static int item_meets(const struct query_box *q,
                      const struct lc__stac_items *items, size_t i,
                      const struct lc_allocator *alloc, bool *result)
{
    if (items->geometry[i] == NULL) {
        *result = item_bbox_meets(q, &items->bbox[i]);
        return LC_OK;
    }
    return geom_meets(q, items->geometry[i], alloc, result);
}

/* ---- filter ------------------------------------------------------------ */

int lc__stac_items_filter(const struct lc__stac_items *items,
                          const struct lc__stac_query *query,
                          const struct lc_allocator *alloc, size_t **index_ret,
                          size_t *count_ret, struct lc__errbuf *err)
{
    *index_ret = NULL;
    *count_ret = 0;
    size_t n = items->count;
    bool use_ids = query->ids != NULL && query->nids > 0;
    struct id_set ids = {0};
    struct query_box box = {0};
    uint8_t *keep = NULL;
    int status = LC_OK;

    lc__arena_init(&box.arena, alloc);
    if (use_ids &&
        (status = id_set_init(&ids, query->ids, query->nids, alloc)) < 0)
        goto fail;
    if (query->has_bbox && (status = query_box_init(&box, &query->bbox)) < 0)
        goto fail;
    keep = lc__malloc(alloc, n);
    if (keep == NULL) {
        status = LC_ENOMEM;
        goto fail;
    }

    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = true;
        if (query->has_datetime)
            ok = time_meets(items, i, query->start_us, query->end_us);
        if (ok && use_ids)
            ok = id_set_has(&ids, items->ids[i]);
        if (ok && query->has_bbox &&
            (status = item_meets(&box, items, i, alloc, &ok)) < 0)
            goto fail;
        if (ok && query->filter != NULL) {
            struct lc__stac_record record = {items, i};
            enum lc__cql2_truth truth;
            status = lc__cql2_eval(query->filter, lc__stac_items_get, &record,
                                   alloc, &truth, err);
            if (status < 0)
                goto done; /* err already says why */
            ok = truth == LC__CQL2_TRUE;
        }
        keep[i] = ok;
        count += ok;
    }

    size_t *index = lc__malloc_array(alloc, count, sizeof *index);
    if (index == NULL) {
        status = LC_ENOMEM;
        goto fail;
    }
    for (size_t i = 0, j = 0; i < n; i++)
        if (keep[i])
            index[j++] = i;
    *index_ret = index;
    *count_ret = count;
    goto done;

fail:
    if (status == LC_ENOMEM)
        lc__error(err, status, "%s: out of memory filtering %zu items",
                  items->source, n);
done:
    lc__free(alloc, keep);
    lc__free(alloc, ids.slots);
    lc__arena_free(&box.arena);
    return status;
}

int lc__stac_items_keep_meeting(const struct lc__stac_items *items,
                                const struct lc__envelope *bbox,
                                const struct lc_allocator *alloc, size_t *index,
                                size_t *count, struct lc__errbuf *err)
{
    struct query_box box = {0};
    lc__arena_init(&box.arena, alloc);
    int status = query_box_init(&box, bbox);
    size_t kept = 0;
    for (size_t k = 0; k < *count && status == LC_OK; k++) {
        bool ok = false;
        status = item_meets(&box, items, index[k], alloc, &ok);
        if (ok)
            index[kept++] = index[k];
    }
    lc__arena_free(&box.arena);
    if (status == LC_ENOMEM)
        return lc__error(err, status, "%s: out of memory filtering %zu items",
                         items->source, *count);
    if (status == LC_OK)
        *count = kept;
    return status;
}

/* ---- sortby: parsing --------------------------------------------------- */

struct sortby_builder {
    struct lc__stac_sortby *sortby;
    size_t cap;
    struct lc__errbuf *err;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Adds key number `position` (1-based, for messages): name[0..n), with a
 * leading '+' or '-' read as the direction when signs is set. */
static int add_key(struct sortby_builder *b, const char *name, size_t n,
                   bool signs, bool descending, size_t position)
{
    trim(&name, &n);
    if (signs && n > 0 && (name[0] == '+' || name[0] == '-')) {
        descending = name[0] == '-';
        name++;
        n--;
        trim(&name, &n);
    }
    static const char prefix[] = "properties.";
    if (n >= sizeof prefix - 1 &&
        memcmp(name, prefix, sizeof prefix - 1) == 0) {
        name += sizeof prefix - 1;
        n -= sizeof prefix - 1;
    }
    if (n == 0)
        return lc__error(b->err, LC_EINVAL,
                         "sortby: empty field name at position %zu", position);
    if (memchr(name, '\0', n) != NULL)
        return lc__error(b->err, LC_EINVAL,
                         "sortby: the field name at position %zu holds a NUL",
                         position);
    struct lc__stac_sortby *s = b->sortby;
    if (s->nkeys == b->cap) {
        size_t cap = b->cap == 0 ? 4 : b->cap * 2;
        struct lc__stac_sortkey *keys =
            lc__arena_calloc(&s->arena, cap, sizeof *keys);
        if (keys == NULL)
            return lc__error(b->err, LC_ENOMEM, "sortby: out of memory");
        if (s->nkeys > 0)
            memcpy(keys, s->keys, s->nkeys * sizeof *keys);
        s->keys = keys;
        b->cap = cap;
    }
    char *copy = lc__arena_strndup(&s->arena, name, n);
    if (copy == NULL)
        return lc__error(b->err, LC_ENOMEM, "sortby: out of memory");
    s->keys[s->nkeys++] = (struct lc__stac_sortkey){copy, descending};
    return LC_OK;
}

/* "a,-b, +c": comma-separated keys with optional signs. */
static int parse_text_list(struct sortby_builder *b, const char *text,
                           size_t len)
{
    const char *s = text;
    size_t n = len;
    trim(&s, &n);
    if (n == 0)
        return LC_OK; /* nothing to sort by */
    size_t position = 1, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',')
            continue;
        int status = add_key(b, s + start, i - start, true, false, position);
        if (status < 0)
            return status;
        position++;
        start = i + 1;
    }
    return LC_OK;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
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
        return "null";
    }
    return "a value";
}

/* {"field": f, "direction": "asc" | "desc"}; no "field": ignored. */
static int parse_json_object(struct sortby_builder *b, const json_t *obj,
                             size_t position)
{
    const json_t *field = json_object_get(obj, "field");
    if (field == NULL)
        return LC_OK; /* as the reference does */
    if (!json_is_string(field))
        return lc__error(b->err, LC_EINVAL,
                         "sortby: position %zu: field is %s, not a string",
                         position, json_kind(field));
    bool descending = false;
    const json_t *dir = json_object_get(obj, "direction");
    if (dir != NULL && !json_is_null(dir)) {
        if (!json_is_string(dir))
            return lc__error(b->err, LC_EINVAL,
                             "sortby: position %zu: direction is %s, not a "
                             "string",
                             position, json_kind(dir));
        const char *d = json_string_value(dir);
        size_t dlen = json_string_length(dir);
        if (dlen == 4 && strncasecmp(d, "desc", 4) == 0)
            descending = true;
        else if (!(dlen == 3 && strncasecmp(d, "asc", 3) == 0))
            return lc__error(b->err, LC_EINVAL,
                             "sortby: direction '%.*s' is neither asc nor desc",
                             (int)(dlen < 64 ? dlen : 64), d);
    }
    return add_key(b, json_string_value(field), json_string_length(field),
                   false, descending, position);
}

static int parse_json_entry(struct sortby_builder *b, const json_t *v,
                            size_t position)
{
    if (json_is_string(v))
        return add_key(b, json_string_value(v), json_string_length(v), true,
                       false, position);
    if (json_is_object(v))
        return parse_json_object(b, v, position);
    return lc__error(b->err, LC_EINVAL,
                     "sortby: position %zu is %s, not a field name or a "
                     "{\"field\", \"direction\"} object",
                     position, json_kind(v));
}

static int parse_json(struct sortby_builder *b, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (root == NULL)
        return lc__error(b->err, LC_EINVAL,
                         "sortby: malformed JSON at line %d, column %d: %s",
                         jerr.line, jerr.column, jerr.text);
    int status = LC_OK;
    if (json_is_string(root)) {
        /* A JSON string holds the text form ("-datetime,id"). */
        status = parse_text_list(b, json_string_value(root),
                                 json_string_length(root));
    } else if (json_is_array(root)) {
        for (size_t k = 0; k < json_array_size(root) && status == LC_OK; k++)
            status = parse_json_entry(b, json_array_get(root, k), k + 1);
    } else if (json_is_object(root)) {
        status = parse_json_object(b, root, 1);
    } else {
        status = lc__error(b->err, LC_EINVAL,
                           "sortby: JSON %s is no sortby (expected a string, "
                           "an array or an object)",
                           json_kind(root));
    }
    json_decref(root);
    return status;
}

int lc__stac_sortby_parse(const char *text, size_t len,
                          const struct lc_allocator *alloc,
                          struct lc__stac_sortby **sortby_ret,
                          struct lc__errbuf *err)
{
    *sortby_ret = NULL;
    struct lc__stac_sortby *s = lc__calloc(alloc, 1, sizeof *s);
    if (s == NULL)
        return lc__error(err, LC_ENOMEM, "sortby: out of memory");
    lc__arena_init(&s->arena, alloc);
    struct sortby_builder b = {s, 0, err};

    size_t skip = 0;
    while (skip < len && is_space(text[skip]))
        skip++;
    bool json = skip < len &&
                (text[skip] == '[' || text[skip] == '{' || text[skip] == '"');
    int status =
        json ? parse_json(&b, text, len) : parse_text_list(&b, text, len);
    if (status < 0) {
        lc__stac_sortby_free(s);
        return status;
    }
    *sortby_ret = s;
    return LC_OK;
}

void lc__stac_sortby_free(struct lc__stac_sortby *sortby)
{
    if (sortby == NULL)
        return;
    struct lc_allocator alloc = sortby->arena.alloc;
    lc__arena_free(&sortby->arena);
    lc__free(&alloc, sortby);
}

/* ---- sort -------------------------------------------------------------- */

/* Classes of values, in sort order; NULL last. */
enum sort_class {
    CLS_BOOL,
    CLS_NUMBER,
    CLS_STRING,
    CLS_TIME,
    CLS_OTHER,
    CLS_NULL
};

/* One item's value of one key, reduced to what ordering needs. */
struct sort_value {
    uint8_t cls;    /* enum sort_class */
    uint8_t is_int; /* CLS_NUMBER: i holds the exact value */
    uint8_t type;   /* CLS_OTHER: the enum lc__cql2_type */
    union {
        int64_t i; /* integers, times (us), booleans (0, 1) */
        double d;  /* other numbers */
    } v;
    const char *str; /* CLS_STRING, and TJSON text */
    size_t len;
};

static void reduce(const struct lc__cql2_value *in, struct sort_value *out)
{
    memset(out, 0, sizeof *out);
    switch (in->type) {
    case LC__CQL2_TNULL:
        out->cls = CLS_NULL;
        break;
    case LC__CQL2_TBOOL:
        out->cls = CLS_BOOL;
        out->v.i = in->b;
        break;
    case LC__CQL2_TNUMBER:
        out->cls = CLS_NUMBER;
        out->is_int = in->is_int;
        if (in->is_int)
            out->v.i = in->i64;
        else
            out->v.d = in->num;
        break;
    case LC__CQL2_TSTRING:
        out->cls = CLS_STRING;
        out->str = in->str;
        out->len = in->len;
        break;
    case LC__CQL2_TTIMESTAMP:
    case LC__CQL2_TDATE:
        out->cls = CLS_TIME;
        out->v.i = in->us;
        break;
    case LC__CQL2_TINTERVAL:
    case LC__CQL2_TGEOMETRY:
    case LC__CQL2_TARRAY:
    case LC__CQL2_TJSON:
        out->cls = CLS_OTHER;
        out->type = (uint8_t)in->type;
        if (in->type == LC__CQL2_TJSON) {
            out->str = in->str;
            out->len = in->len;
        }
        break;
    }
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* Orders an int64 and a non-NaN double exactly (converting the int64 to a
 * double would round it above 2^53); as in cql2_eval.c. */
static int cmp_int_double(int64_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    return (d > t) ? -1 : (d < t) ? 1 : 0;
}

/* Numbers: exact, NaN after every other number (as DuckDB sorts it). */
static int cmp_number(const struct sort_value *a, const struct sort_value *b)
{
    if (a->is_int && b->is_int)
        return cmp_i64(a->v.i, b->v.i);
    bool anan = !a->is_int && isnan(a->v.d);
    bool bnan = !b->is_int && isnan(b->v.d);
    if (anan || bnan)
        return (int)anan - (int)bnan;
    if (a->is_int)
        return cmp_int_double(a->v.i, b->v.d);
    if (b->is_int)
        return -cmp_int_double(b->v.i, a->v.d);
    return (a->v.d > b->v.d) - (a->v.d < b->v.d);
}

static int cmp_bytes(const struct sort_value *a, const struct sort_value *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int r = n > 0 ? memcmp(a->str, b->str, n) : 0;
    if (r != 0)
        return r < 0 ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

/* Orders two non-null values. */
static int cmp_value(const struct sort_value *a, const struct sort_value *b)
{
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    switch ((enum sort_class)a->cls) {
    case CLS_BOOL:
    case CLS_TIME:
        return cmp_i64(a->v.i, b->v.i);
    case CLS_NUMBER:
        return cmp_number(a, b);
    case CLS_STRING:
        return cmp_bytes(a, b);
    case CLS_OTHER:
        /* By type; JSON texts bytewise; arrays and geometries tie. */
        if (a->type != b->type)
            return a->type < b->type ? -1 : 1;
        return a->type == LC__CQL2_TJSON ? cmp_bytes(a, b) : 0;
    case CLS_NULL:
        break;
    }
    return 0;
}

/*
 * Sorting by the first key, then the runs of ties by the second key, and so
 * on: every step is stable, so ties of all keys keep their input order.
 * Later keys only ever sort the (usually short) runs of ties.
 *
 * A step reduces each non-null value to a 64-bit key that preserves the
 * order (the nulls are set aside, in order, and appended). When the keys
 * say everything (one class of value, and numbers that are all integers
 * or all exact as doubles) the step is a radix sort on them; otherwise a
 * merge sort compares them and, on a tie, the values themselves. Either
 * way the data sorted are 16-byte records read in sequence, not the
 * accessor nor scattered values.
 */
struct sort_rec {
    uint64_t key;
    size_t slot; /* position in the caller's index array */
};

#define TWO_POW_53 9007199254740992.0

/* Doubles as unsigned integers in the same order; -0 = 0, NaN last. */
static uint64_t double_key(double d)
{
    if (isnan(d))
        return UINT64_MAX;
    if (d == 0)
        d = 0.0;
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return (b >> 63) ? ~b : b | (UINT64_C(1) << 63);
}

static uint64_t i64_key(int64_t i)
{
    return (uint64_t)i ^ (UINT64_C(1) << 63);
}

/* The first 8 bytes, big-endian, zero-padded: bytewise order, with ties. */
static uint64_t prefix_key(const char *s, size_t len)
{
    uint64_t k = 0;
    for (size_t j = 0; j < 8; j++)
        k = k << 8 | (j < len ? (unsigned char)s[j] : 0u);
    return k;
}

/* An order-preserving key of a value within its class. Integers go
 * through doubles, which keeps their order but may make ties. Strings
 * skip the lcp bytes every string of the run starts with ("S2B_..."). */
static uint64_t class_key(const struct sort_value *v, bool ints_exact,
                          size_t lcp)
{
    switch ((enum sort_class)v->cls) {
    case CLS_BOOL:
        return (uint64_t)v->v.i;
    case CLS_TIME:
        return i64_key(v->v.i);
    case CLS_NUMBER:
        if (v->is_int)
            return ints_exact ? i64_key(v->v.i) : double_key((double)v->v.i);
        return double_key(v->v.d);
    case CLS_STRING:
        return prefix_key(v->str + lcp, v->len - lcp);
    case CLS_OTHER:
        return (uint64_t)v->type << 56 |
               (v->str != NULL ? prefix_key(v->str, v->len) >> 8 : 0);
    case CLS_NULL:
        break;
    }
    return 0;
}

struct pass {
    const struct sort_value *values; /* [n], by slot */
    bool exact;                      /* keys decide: no tie-break needed */
    bool descending;
};

static int cmp_rec(const struct pass *p, const struct sort_rec *a,
                   const struct sort_rec *b)
{
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    if (p->exact)
        return 0;
    int c = cmp_value(&p->values[a->slot], &p->values[b->slot]);
    return p->descending ? -c : c;
}

/* Stable: runs of RUN sorted by insertion, then merged pairwise, bottom
 * up, between a and tmp. Returns the array holding the result. */
#define RUN 16

static struct sort_rec *merge_sort(const struct pass *p, struct sort_rec *a,
                                   struct sort_rec *tmp, size_t n)
{
    for (size_t lo = 0; lo < n; lo += RUN) {
        size_t hi = lo + RUN < n ? lo + RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            struct sort_rec x = a[i];
            size_t j = i;
            while (j > lo && cmp_rec(p, &a[j - 1], &x) > 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
    }
    struct sort_rec *src = a, *dst = tmp;
    for (size_t width = RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = mid + width < n ? mid + width : n;
            size_t i = lo, j = mid, k = lo;
            if (mid == hi || cmp_rec(p, &src[mid - 1], &src[mid]) <= 0) {
                /* Already in order: copy the pair of runs. */
                memcpy(dst + lo, src + lo, (hi - lo) * sizeof *dst);
                continue;
            }
            while (i < mid && j < hi)
                dst[k++] =
                    cmp_rec(p, &src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct sort_rec *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* Stable LSD radix sort on the keys, a byte at a time, skipping bytes all
 * keys share. Returns the array holding the result. */
static struct sort_rec *radix_sort(struct sort_rec *a, struct sort_rec *tmp,
                                   size_t n)
{
    if (n < 2)
        return a;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[(a[i].key >> shift) & 0xff]++;
        if (count[(a[0].key >> shift) & 0xff] == n)
            continue;
        size_t sum = 0;
        for (size_t b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i].key >> shift) & 0xff]++] = a[i];
        struct sort_rec *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

/* Scratch of a sort: perm[n] slots in the current order, values[n] by
 * slot (of the key being sorted by), recs[n] and tmp[n], and starts[n]
 * marking where each run of ties of the keys so far begins. */
struct sort_work {
    size_t *perm;
    struct sort_value *values;
    struct sort_rec *recs, *tmp;
    uint8_t *starts;
};

/* Stably sorts the slots perm[0..n) by key. */
static void sort_run(const struct lc__stac_items *items,
                     const struct lc__stac_sortkey *key, const size_t *index,
                     size_t *perm, size_t n, struct sort_work *w)
{
    struct column col = find_column(items, key->field);
    /* What the values are: one class or several; numbers all integers,
     * or all exact as doubles. */
    int cls = -1;
    bool mixed = false, all_ints = true, doubles_exact = true;
    const char *first = NULL; /* the first string, and the prefix length */
    size_t lcp = 0;           /* all strings share with it */
    for (size_t j = 0; j < n; j++) {
        struct lc__cql2_value v;
        column_value(items, index[perm[j]], col, &v);
        struct sort_value *sv = &w->values[perm[j]];
        reduce(&v, sv);
        if (sv->cls == CLS_NULL)
            continue;
        if (cls < 0)
            cls = sv->cls;
        mixed |= sv->cls != cls;
        if (sv->cls == CLS_NUMBER) {
            all_ints &= sv->is_int;
            if (sv->is_int && (sv->v.i > (int64_t)TWO_POW_53 ||
                               sv->v.i < -(int64_t)TWO_POW_53))
                doubles_exact = false;
        }
        if (sv->cls == CLS_STRING) {
            if (first == NULL) {
                first = sv->str;
                lcp = sv->len;
            }
            size_t k = 0;
            while (k < lcp && k < sv->len && sv->str[k] == first[k])
                k++;
            lcp = k;
        }
    }
    if (cls < 0)
        return; /* all null: nothing moves */
    bool ints_exact = !mixed && cls == CLS_NUMBER && all_ints;
    struct pass p = {w->values, false, key->descending};
    p.exact = !mixed && (cls == CLS_BOOL || cls == CLS_TIME ||
                         (cls == CLS_NUMBER && (all_ints || doubles_exact)));

    /* Records of the non-null values in the current order; the null slots
     * move to the front of perm (never past the slot being read). */
    size_t m = 0, z = 0;
    for (size_t j = 0; j < n; j++) {
        size_t slot = perm[j];
        const struct sort_value *sv = &w->values[slot];
        if (sv->cls == CLS_NULL) {
            perm[z++] = slot;
            continue;
        }
        uint64_t k = class_key(sv, ints_exact, lcp);
        /* Several classes: the class in the top bits, the rest coarser. */
        if (mixed)
            k = (uint64_t)sv->cls << 61 | k >> 3;
        w->recs[m++] = (struct sort_rec){key->descending ? ~k : k, slot};
    }
    struct sort_rec *sorted = p.exact ? radix_sort(w->recs, w->tmp, m)
                                      : merge_sort(&p, w->recs, w->tmp, m);
    /* Nulls last, whatever the direction. */
    memmove(perm + m, perm, z * sizeof *perm);
    for (size_t j = 0; j < m; j++)
        perm[j] = sorted[j].slot;
}

static bool same_value(const struct sort_value *a, const struct sort_value *b)
{
    if (a->cls == CLS_NULL || b->cls == CLS_NULL)
        return a->cls == b->cls;
    return cmp_value(a, b) == 0;
}

int lc__stac_items_sort(const struct lc__stac_items *items,
                        const struct lc__stac_sortkey *keys, size_t nkeys,
                        size_t *index, size_t n,
                        const struct lc_allocator *alloc,
                        struct lc__errbuf *err)
{
    if (nkeys == 0 || n < 2)
        return LC_OK;
    struct sort_work w;
    w.perm = lc__malloc_array(alloc, n, sizeof *w.perm);
    w.values = lc__malloc_array(alloc, n, sizeof *w.values);
    w.recs = lc__malloc_array(alloc, n, sizeof *w.recs);
    w.tmp = lc__malloc_array(alloc, n, sizeof *w.tmp);
    w.starts = lc__calloc(alloc, n, 1);
    int status = LC_OK;
    if (w.perm == NULL || w.values == NULL || w.recs == NULL || w.tmp == NULL ||
        w.starts == NULL) {
        status = lc__error(err, LC_ENOMEM,
                           "%s: out of memory sorting %zu items by %zu keys",
                           items->source, n, nkeys);
        goto done;
    }
    for (size_t s = 0; s < n; s++)
        w.perm[s] = s;
    w.starts[0] = 1;
    for (size_t k = 0; k < nkeys; k++) {
        bool ties = false;
        for (size_t lo = 0, hi; lo < n; lo = hi) {
            for (hi = lo + 1; hi < n && !w.starts[hi]; hi++)
                ;
            if (hi - lo < 2)
                continue;
            sort_run(items, &keys[k], index, w.perm + lo, hi - lo, &w);
            /* Split the run where this key's values change; the values of
             * its slots are this key's until a later run is sorted. */
            for (size_t j = lo + 1; j < hi; j++) {
                if (!same_value(&w.values[w.perm[j - 1]], &w.values[w.perm[j]]))
                    w.starts[j] = 1;
                else
                    ties = true;
            }
        }
        if (!ties)
            break;
    }
    /* The item indices in their new order, through the spare records. */
    size_t *out = (size_t *)(void *)w.values;
    for (size_t j = 0; j < n; j++)
        out[j] = index[w.perm[j]];
    memcpy(index, out, n * sizeof *index);
done:
    lc__free(alloc, w.perm);
    lc__free(alloc, w.values);
    lc__free(alloc, w.recs);
    lc__free(alloc, w.tmp);
    lc__free(alloc, w.starts);
    return status;
}
