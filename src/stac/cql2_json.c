/* cql2_json.c - CQL2-JSON: reading (through jansson) and writing. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <jansson.h>
#include <stdio.h>

#include "cql2_internal.h"

/*
 * CQL2-JSON (OGC 21-065r2 Annex C, cql2.json schema) maps one to one onto
 * the tree:
 *
 *   {"op": NAME, "args": [...]}     OP (built-in) or FUNCTION
 *   {"property": NAME}              PROPERTY
 *   {"date": "..."}, {"timestamp": "..."}
 *   {"interval": [END, END]}        END: "..", a date or timestamp string,
 *                                   or a property/function/instant object
 *   {"bbox": [4 or 6 numbers]}
 *   {"type": ...}                   a GeoJSON geometry
 *   [...]                           ARRAY; string, number, true/false, null
 *
 * jansson parses the document (its own depth cap is 2048); the walk below
 * caps depth again with max_depth and keeps the JSON path of the value it
 * is on, which error messages name since jansson gives no offsets for
 * values.
 */

struct jreader {
    struct lc__cql2_builder *b;
    char path[256];
    size_t depth;
};

static size_t push_index(struct jreader *r, size_t i)
{
    size_t old = strlen(r->path);
    (void)snprintf(r->path + old, sizeof(r->path) - old, "[%zu]", i);
    return old;
}

static size_t push_key(struct jreader *r, const char *key)
{
    size_t old = strlen(r->path);
    (void)snprintf(r->path + old, sizeof(r->path) - old, "%s%s",
                   old > 0 ? "." : "", key);
    return old;
}

static int jfail(struct jreader *r, const char *expected, const json_t *j)
{
    const char *found = "a value";
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        found = "an object";
        break;
    case JSON_ARRAY:
        found = "an array";
        break;
    case JSON_STRING:
        found = "a string";
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        found = "a number";
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        found = "a boolean";
        break;
    case JSON_NULL:
        found = "null";
        break;
    }
    return lc__cql2_syntax(r->b, 0, expected, found);
}

static int string_of(struct jreader *r, const json_t *j, const char **s,
                     size_t *len)
{
    *s = json_string_value(j);
    *len = json_string_length(j);
    LC_RETURN_IF(*len > r->b->max_string_nbytes, r->b->err, LC_ELIMIT,
                 "CQL2 JSON: %s: a string of %zu bytes (at most %zu "
                 "allowed)",
                 r->path, *len, r->b->max_string_nbytes);
    return LC_OK;
}

static int read_node(struct jreader *r, const json_t *j,
                     struct lc__cql2_node **out);

/* An instant string of an interval end, or '..'. */
static int interval_end(struct jreader *r, const json_t *j,
                        struct lc__cql2_node **out)
{
    if (json_is_string(j)) {
        const char *s;
        size_t n;
        LC_FORWARD_IF_ERROR(string_of(r, j, &s, &n));
        struct lc__cql2_node *e = lc__cql2_node_new(r->b, LC__CQL2_OPEN, 0);
        if (e == NULL)
            return LC_ENOMEM;
        if (!(n == 2 && s[0] == '.' && s[1] == '.')) {
            bool is_date;
            if (!lc__cql2_parse_instant(s, n, &is_date, &e->us))
                return jfail(r, "a date, a timestamp or \"..\"", j);
            e->kind = is_date ? LC__CQL2_DATE : LC__CQL2_TIMESTAMP;
        }
        *out = e;
        return LC_OK;
    }
    LC_FORWARD_IF_ERROR(read_node(r, j, out));
    enum lc__cql2_kind k = (*out)->kind;
    if (k != LC__CQL2_PROPERTY && k != LC__CQL2_FUNCTION &&
        k != LC__CQL2_DATE && k != LC__CQL2_TIMESTAMP)
        return jfail(r, "an instant string, a property or a function", j);
    return LC_OK;
}

static int read_object(struct jreader *r, const json_t *j,
                       struct lc__cql2_node **out)
{
    struct lc__cql2_builder *b = r->b;
    const json_t *v;

    if ((v = json_object_get(j, "op")) != NULL) {
        size_t old = push_key(r, "op");
        if (!json_is_string(v))
            return jfail(r, "an operator name", v);
        r->path[old] = '\0';
        const char *name;
        size_t len;
        LC_FORWARD_IF_ERROR(string_of(r, v, &name, &len));
        const json_t *a = json_object_get(j, "args");
        size_t nargs = 0;
        if (a != NULL) {
            old = push_key(r, "args");
            if (!json_is_array(a))
                return jfail(r, "an array of arguments", a);
            nargs = json_array_size(a);
            r->path[old] = '\0';
        }
        LC_RETURN_IF(nargs > b->max_list_len, b->err, LC_ELIMIT,
                     "CQL2 JSON: %s: more than %zu arguments", r->path,
                     b->max_list_len);
        struct lc__cql2_node **args =
            lc__arena_calloc(&b->tree->arena, nargs, sizeof(*args));
        LC_RETURN_IF(args == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
        old = push_key(r, "args");
        for (size_t i = 0; i < nargs; i++) {
            size_t o2 = push_index(r, i);
            LC_FORWARD_IF_ERROR(read_node(r, json_array_get(a, i), &args[i]));
            r->path[o2] = '\0';
        }
        r->path[old] = '\0';
        return lc__cql2_call(b, name, len, args, nargs, 0, out);
    }
    if ((v = json_object_get(j, "property")) != NULL) {
        size_t old = push_key(r, "property");
        if (!json_is_string(v))
            return jfail(r, "a property name", v);
        const char *name;
        size_t len;
        LC_FORWARD_IF_ERROR(string_of(r, v, &name, &len));
        LC_FORWARD_IF_ERROR(lc__cql2_property(b, name, len, 0, out));
        r->path[old] = '\0';
        return LC_OK;
    }
    if ((v = json_object_get(j, "date")) != NULL ||
        (v = json_object_get(j, "timestamp")) != NULL) {
        bool date = json_object_get(j, "date") != NULL;
        size_t old = push_key(r, date ? "date" : "timestamp");
        struct lc__cql2_node *n =
            lc__cql2_node_new(b, date ? LC__CQL2_DATE : LC__CQL2_TIMESTAMP, 0);
        if (n == NULL)
            return LC_ENOMEM;
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        bool ok =
            s != NULL && (date ? lc__cql2_parse_date(s, len, &n->us)
                               : lc__cql2_parse_timestamp(s, len, &n->us));
        if (!ok)
            return jfail(r,
                         date ? "a date such as \"2020-01-31\""
                              : "a timestamp such as "
                                "\"2020-01-31T12:00:00Z\"",
                         v);
        r->path[old] = '\0';
        *out = n;
        return LC_OK;
    }
    if ((v = json_object_get(j, "interval")) != NULL) {
        size_t old = push_key(r, "interval");
        if (!json_is_array(v) || json_array_size(v) != 2)
            return jfail(r, "an array of 2 instants", v);
        struct lc__cql2_node *n = lc__cql2_node_new(b, LC__CQL2_INTERVAL, 0);
        if (n == NULL)
            return LC_ENOMEM;
        n->args = lc__arena_calloc(&b->tree->arena, 2, sizeof(*n->args));
        LC_RETURN_IF(n->args == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
        for (size_t i = 0; i < 2; i++) {
            size_t o2 = push_index(r, i);
            LC_FORWARD_IF_ERROR(
                interval_end(r, json_array_get(v, i), &n->args[i]));
            r->path[o2] = '\0';
        }
        n->nargs = 2;
        r->path[old] = '\0';
        *out = n;
        return LC_OK;
    }
    if ((v = json_object_get(j, "bbox")) != NULL) {
        size_t old = push_key(r, "bbox");
        size_t n = json_is_array(v) ? json_array_size(v) : 0;
        if (n != 4 && n != 6)
            return jfail(r, "an array of 4 or 6 numbers", v);
        struct lc__cql2_node *node = lc__cql2_node_new(b, LC__CQL2_BBOX, 0);
        if (node == NULL)
            return LC_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(v, i);
            if (!json_is_number(x))
                return jfail(r, "an array of 4 or 6 numbers", x);
            node->bbox[i] = json_number_value(x);
        }
        node->nbbox = n;
        LC_FORWARD_IF_ERROR(lc__cql2_bbox_geom(b, node));
        r->path[old] = '\0';
        *out = node;
        return LC_OK;
    }
    if (json_object_get(j, "type") != NULL) {
        struct lc__cql2_node *n = lc__cql2_node_new(b, LC__CQL2_GEOMETRY, 0);
        if (n == NULL)
            return LC_ENOMEM;
        struct lc__geom_limits limits = {.max_depth = b->max_depth};
        struct lc__errbuf gerr = {0};
        int rc =
            lc__geom_from_geojson(&b->tree->arena, j, &limits, &n->geom, &gerr);
        if (rc == LC_EINVAL)
            return lc__cql2_syntax(b, 0, "a GeoJSON geometry", gerr.msg);
        if (rc < 0)
            return lc__error(b->err, rc, "CQL2 JSON: %s: %s", r->path,
                             gerr.msg);
        *out = n;
        return LC_OK;
    }
    return jfail(r,
                 "an object with \"op\", \"property\", \"date\", "
                 "\"timestamp\", \"interval\", \"bbox\" or a GeoJSON "
                 "\"type\"",
                 j);
}

static int read_node(struct jreader *r, const json_t *j,
                     struct lc__cql2_node **out)
{
    struct lc__cql2_builder *b = r->b;
    struct lc__cql2_node *n;

    LC_RETURN_IF(++r->depth > b->max_depth, b->err, LC_ELIMIT,
                 "CQL2 JSON: %s: nested deeper than %zu levels", r->path,
                 b->max_depth);
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        LC_FORWARD_IF_ERROR(read_object(r, j, out));
        r->depth--;
        return LC_OK;
    case JSON_ARRAY: {
        size_t len = json_array_size(j);
        LC_RETURN_IF(len > b->max_list_len, b->err, LC_ELIMIT,
                     "CQL2 JSON: %s: an array of more than %zu elements",
                     r->path, b->max_list_len);
        n = lc__cql2_node_new(b, LC__CQL2_ARRAY, 0);
        if (n == NULL)
            return LC_ENOMEM;
        n->args = lc__arena_calloc(&b->tree->arena, len, sizeof(*n->args));
        LC_RETURN_IF(n->args == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
        for (size_t i = 0; i < len; i++) {
            size_t old = push_index(r, i);
            LC_FORWARD_IF_ERROR(
                read_node(r, json_array_get(j, i), &n->args[i]));
            r->path[old] = '\0';
        }
        n->nargs = len;
        break;
    }
    case JSON_STRING:
        n = lc__cql2_node_new(b, LC__CQL2_STRING, 0);
        if (n == NULL)
            return LC_ENOMEM;
        LC_FORWARD_IF_ERROR(string_of(r, j, &n->str, &n->len));
        LC_RETURN_IF(memchr(n->str, '\0', n->len) != NULL, b->err, LC_EINVAL,
                     "CQL2 JSON: %s: a string holding a NUL character",
                     r->path);
        /* The string belongs to jansson's document: copy it. */
        LC_FORWARD_IF_ERROR(lc__cql2_strdup(b, n->str, n->len, 0, &n->str));
        break;
    case JSON_INTEGER:
        n = lc__cql2_node_new(b, LC__CQL2_NUMBER, 0);
        if (n == NULL)
            return LC_ENOMEM;
        n->i64 = (int64_t)json_integer_value(j);
        n->num = (double)n->i64;
        n->is_int = true;
        break;
    case JSON_REAL:
        n = lc__cql2_node_new(b, LC__CQL2_NUMBER, 0);
        if (n == NULL)
            return LC_ENOMEM;
        n->num = json_real_value(j);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        n = lc__cql2_node_new(b, LC__CQL2_BOOL, 0);
        if (n == NULL)
            return LC_ENOMEM;
        n->b = json_is_true(j);
        break;
    case JSON_NULL:
    default:
        n = lc__cql2_node_new(b, LC__CQL2_NULL, 0);
        if (n == NULL)
            return LC_ENOMEM;
        break;
    }
    r->depth--;
    *out = n;
    return LC_OK;
}

int lc__cql2_parse_json(const char *json, size_t len,
                        const struct lc__cql2_options *opts,
                        struct lc__cql2 **out,
                        struct lc__cql2_syntax_error *syntax,
                        struct lc__errbuf *err)
{
    struct lc__cql2_builder b;
    json_error_t jerr;

    LC_RETURN_IF(out == NULL || json == NULL, err, LC_EINVAL,
                 "CQL2 JSON: NULL argument");
    LC_FORWARD_IF_ERROR(lc__cql2_builder_init(&b, opts, syntax, err));
    int rc;
    if (len > b.max_text_nbytes) {
        rc = lc__error(err, LC_ELIMIT,
                       "CQL2 JSON: %zu bytes (at most %zu allowed)", len,
                       b.max_text_nbytes);
        goto fail;
    }
    json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        if (syntax != NULL) {
            syntax->offset = (size_t)(jerr.position > 0 ? jerr.position : 0);
            syntax->line = (size_t)(jerr.line > 0 ? jerr.line : 0);
            syntax->column = (size_t)(jerr.column > 0 ? jerr.column : 0);
            lc__copy_str(syntax->expected, sizeof(syntax->expected),
                         "well-formed JSON");
            lc__copy_str(syntax->found, sizeof(syntax->found), jerr.text);
        }
        rc = lc__error(err, LC_EINVAL,
                       "CQL2 JSON: %s at line %d, column %d (byte %d)",
                       jerr.text, jerr.line, jerr.column, jerr.position);
        goto fail;
    }
    struct jreader r = {.b = &b};
    b.json_path = r.path;
    rc = read_node(&r, root, &b.tree->root);
    json_decref(root);
    if (rc < 0)
        goto fail;
    *out = b.tree;
    return LC_OK;
fail:
    lc__cql2_free(b.tree);
    return rc;
}

/* ---- writer ------------------------------------------------------------ */

static void put_json(const struct lc__cql2_node *n, struct lc__strbuf *sb);

static void put_args(const struct lc__cql2_node *n, struct lc__strbuf *sb)
{
    lc__strbuf_putc(sb, '[');
    for (size_t i = 0; i < n->nargs; i++) {
        if (i > 0)
            lc__strbuf_putc(sb, ',');
        put_json(n->args[i], sb);
    }
    lc__strbuf_putc(sb, ']');
}

static void put_instant_string(const struct lc__cql2_node *n,
                               struct lc__strbuf *sb)
{
    char buf[LC__CQL2_TIME_CAP];
    if (n->kind == LC__CQL2_DATE)
        lc__cql2_format_date(n->us, buf);
    else
        lc__cql2_format_timestamp(n->us, buf);
    lc__strbuf_json_string(sb, buf, strlen(buf));
}

static void put_json(const struct lc__cql2_node *n, struct lc__strbuf *sb)
{
    switch (n->kind) {
    case LC__CQL2_NULL:
        lc__strbuf_puts(sb, "null");
        return;
    case LC__CQL2_BOOL:
        lc__strbuf_puts(sb, n->b ? "true" : "false");
        return;
    case LC__CQL2_NUMBER:
        if (n->is_int &&
            (n->i64 >= (INT64_C(1) << 53) || n->i64 <= -(INT64_C(1) << 53)))
            lc__strbuf_printf(sb, "%" PRId64, n->i64);
        else
            lc__strbuf_double_json(sb, n->num);
        return;
    case LC__CQL2_STRING:
        lc__strbuf_json_string(sb, n->str, n->len);
        return;
    case LC__CQL2_DATE:
        lc__strbuf_puts(sb, "{\"date\":");
        put_instant_string(n, sb);
        lc__strbuf_putc(sb, '}');
        return;
    case LC__CQL2_TIMESTAMP:
        lc__strbuf_puts(sb, "{\"timestamp\":");
        put_instant_string(n, sb);
        lc__strbuf_putc(sb, '}');
        return;
    case LC__CQL2_OPEN:
        lc__strbuf_puts(sb, "\"..\"");
        return;
    case LC__CQL2_INTERVAL:
        lc__strbuf_puts(sb, "{\"interval\":[");
        for (size_t i = 0; i < n->nargs; i++) {
            const struct lc__cql2_node *e = n->args[i];
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            if (e->kind == LC__CQL2_DATE || e->kind == LC__CQL2_TIMESTAMP)
                put_instant_string(e, sb);
            else
                put_json(e, sb);
        }
        lc__strbuf_puts(sb, "]}");
        return;
    case LC__CQL2_GEOMETRY:
        lc__geom_to_geojson(n->geom, sb);
        return;
    case LC__CQL2_BBOX:
        lc__strbuf_puts(sb, "{\"bbox\":[");
        for (size_t i = 0; i < n->nbbox; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            lc__strbuf_double_json(sb, n->bbox[i]);
        }
        lc__strbuf_puts(sb, "]}");
        return;
    case LC__CQL2_ARRAY:
        put_args(n, sb);
        return;
    case LC__CQL2_PROPERTY:
        lc__strbuf_puts(sb, "{\"property\":");
        if (n->len > 11 && memcmp(n->str, "properties.", 11) == 0) {
            /* The reader drops one "properties." prefix: give it one. */
            struct lc__strbuf name;
            lc__strbuf_init(&name, &sb->alloc, 0);
            lc__strbuf_puts(&name, "properties.");
            lc__strbuf_append(&name, n->str, n->len);
            if (name.status != LC_OK && sb->status == LC_OK)
                sb->status = name.status;
            else
                lc__strbuf_json_string(sb, name.data, name.len);
            lc__strbuf_free(&name);
        } else {
            lc__strbuf_json_string(sb, n->str, n->len);
        }
        lc__strbuf_putc(sb, '}');
        return;
    case LC__CQL2_FUNCTION:
    case LC__CQL2_OP:
        lc__strbuf_puts(sb, "{\"op\":");
        if (n->kind == LC__CQL2_OP)
            lc__strbuf_json_string(sb, lc__cql2_op_info(n->op)->name,
                                   strlen(lc__cql2_op_info(n->op)->name));
        else
            lc__strbuf_json_string(sb, n->str, n->len);
        lc__strbuf_puts(sb, ",\"args\":");
        put_args(n, sb);
        lc__strbuf_putc(sb, '}');
        return;
    }
}

void lc__cql2_to_json(const struct lc__cql2 *tree, struct lc__strbuf *sb)
{
    put_json(tree->root, sb);
}
