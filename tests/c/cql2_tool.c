/* cql2_tool.c - runs CQL2 filters for tests/python/test_cql2_oracle.py. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/stac/cql2.h"

/*
 * Usage: cql2_tool [NDJSON]
 *
 * Reads commands from stdin, one JSON array a line:
 *   ["text", FILTER]   parse FILTER as CQL2-Text
 *   ["json", FILTER]   parse FILTER (a string) as CQL2-JSON
 * and writes one JSON object a line to stdout:
 *   {"ok": true, "text": normalised text, "json": CQL2-JSON (a string),
 *    "properties": [...], "validate": "" or its message,
 *    "matches": [indexes of the NDJSON records the filter selects],
 *    "unknown": [indexes where it is UNKNOWN], "eval_error": "" or ...}
 *   {"ok": false, "status": "LC_EINVAL", "message": ...,
 *    "offset": B, "line": L, "column": C, "expected": ..., "found": ...}
 *
 * Each NDJSON record is a JSON object; the accessor looks a property up at
 * the top level, then in "properties", and returns JSON values as CQL2
 * values: null, booleans, numbers (integers exact), strings (dates stay
 * strings: evaluation reads them as instants where compared with one),
 * arrays, and GeoJSON objects as geometries.
 */

struct record {
    json_t *obj;
    struct lc__arena *arena; /* values built for one evaluation */
};

static int to_value(struct lc__arena *arena, const json_t *v,
                    struct lc__cql2_value *out)
{
    memset(out, 0, sizeof(*out));
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
        out->type = LC__CQL2_TSTRING;
        out->str = json_string_value(v);
        out->len = json_string_length(v);
        return LC_OK;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        struct lc__cql2_value *items =
            lc__arena_calloc(arena, n, sizeof(*items));
        if (items == NULL)
            return LC_ENOMEM;
        for (size_t i = 0; i < n; i++)
            LC_FORWARD_IF_ERROR(
                to_value(arena, json_array_get(v, i), &items[i]));
        out->type = LC__CQL2_TARRAY;
        out->items = items;
        out->nitems = n;
        return LC_OK;
    }
    case JSON_OBJECT: {
        struct lc__geom *g = NULL;
        if (lc__geom_from_geojson(arena, v, NULL, &g, NULL) != LC_OK) {
            out->type = LC__CQL2_TNULL; /* an object we cannot use */
            return LC_OK;
        }
        out->type = LC__CQL2_TGEOMETRY;
        out->geom = g;
        return LC_OK;
    }
    }
    return LC_OK;
}

static int get(void *record, const char *name, struct lc__cql2_value *out)
{
    struct record *r = record;
    const json_t *v = json_object_get(r->obj, name);
    if (v == NULL) {
        const json_t *props = json_object_get(r->obj, "properties");
        v = props != NULL ? json_object_get(props, name) : NULL;
    }
    if (v == NULL) {
        memset(out, 0, sizeof(*out));
        out->type = LC__CQL2_TNULL;
        return LC_OK;
    }
    return to_value(r->arena, v, out);
}

static json_t **load_ndjson(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 0, n = 0;
    json_t **recs = NULL;
    char *line = NULL;
    size_t linecap = 0;
    while (getline(&line, &linecap, f) > 0) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (o == NULL)
            continue;
        if (n == cap) {
            cap = cap != 0 ? cap * 2 : 64;
            recs = realloc(recs, cap * sizeof(*recs));
        }
        recs[n++] = o;
    }
    free(line);
    fclose(f);
    *count = n;
    return recs;
}

static void run(const char *kind, const char *filter, json_t **recs,
                size_t nrecs)
{
    struct lc__cql2 *tree = NULL;
    struct lc__cql2_syntax_error syn;
    struct lc__errbuf err = {0};
    int rc = strcmp(kind, "json") == 0
                 ? lc__cql2_parse_json(filter, strlen(filter), NULL, &tree,
                                       &syn, &err)
                 : lc__cql2_parse_text(filter, strlen(filter), NULL, &tree,
                                       &syn, &err);
    json_t *out = json_object();
    if (rc != LC_OK) {
        json_object_set_new(out, "ok", json_false());
        json_object_set_new(out, "status", json_string(lc_err_name(rc)));
        json_object_set_new(out, "message", json_string(err.msg));
        json_object_set_new(out, "offset",
                            json_integer((json_int_t)syn.offset));
        json_object_set_new(out, "line", json_integer((json_int_t)syn.line));
        json_object_set_new(out, "column",
                            json_integer((json_int_t)syn.column));
        json_object_set_new(out, "expected", json_string(syn.expected));
        json_object_set_new(out, "found", json_string(syn.found));
    } else {
        struct lc__strbuf sb;
        json_object_set_new(out, "ok", json_true());
        lc__strbuf_init(&sb, NULL, 0);
        lc__cql2_to_text(tree, &sb);
        json_object_set_new(out, "text", json_string(sb.data));
        lc__strbuf_free(&sb);
        lc__cql2_to_json(tree, &sb);
        json_object_set_new(out, "json", json_string(sb.data));
        lc__strbuf_free(&sb);
        json_t *props = json_array();
        for (size_t i = 0; i < lc__cql2_property_count(tree); i++)
            json_array_append_new(props,
                                  json_string(lc__cql2_property_name(tree, i)));
        json_object_set_new(out, "properties", props);
        struct lc__errbuf verr = {0};
        json_object_set_new(out, "validate",
                            json_string(lc__cql2_validate(tree, &verr) == LC_OK
                                            ? ""
                                            : verr.msg));
        json_t *matches = json_array(), *unknown = json_array();
        const char *eval_error = "";
        struct lc__arena arena;
        lc__arena_init(&arena, NULL);
        for (size_t i = 0; i < nrecs; i++) {
            struct record r = {recs[i], &arena};
            enum lc__cql2_truth t;
            int erc = lc__cql2_eval(tree, get, &r, NULL, &t, &verr);
            lc__arena_free(&arena);
            if (erc != LC_OK) {
                eval_error = verr.msg;
                break;
            }
            if (t == LC__CQL2_TRUE)
                json_array_append_new(matches, json_integer((json_int_t)i));
            else if (t == LC__CQL2_UNKNOWN)
                json_array_append_new(unknown, json_integer((json_int_t)i));
        }
        json_object_set_new(out, "matches", matches);
        json_object_set_new(out, "unknown", unknown);
        json_object_set_new(out, "eval_error", json_string(eval_error));
        lc__cql2_free(tree);
    }
    char *s = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(out);
}

int main(int argc, char **argv)
{
    size_t nrecs = 0;
    json_t **recs = NULL;
    if (argc > 1) {
        recs = load_ndjson(argv[1], &nrecs);
        if (recs == NULL) {
            fprintf(stderr, "cql2_tool: cannot read %s\n", argv[1]);
            return EXIT_FAILURE;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_error_t jerr;
        json_t *cmd = json_loads(line, 0, &jerr);
        const char *kind = json_string_value(json_array_get(cmd, 0));
        const char *filter = json_string_value(json_array_get(cmd, 1));
        if (kind == NULL || filter == NULL) {
            fprintf(stderr, "cql2_tool: expected [\"text\"|\"json\", "
                            "FILTER]\n");
            json_decref(cmd);
            continue;
        }
        run(kind, filter, recs, nrecs);
        json_decref(cmd);
    }
    free(line);
    for (size_t i = 0; i < nrecs; i++)
        json_decref(recs[i]);
    free(recs);
    return EXIT_SUCCESS;
}
