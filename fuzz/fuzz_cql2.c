/* fuzz_cql2.c - libFuzzer target for the CQL2 parsers (src/stac/cql2*). */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "../src/stac/cql2.h"

/*
 * The input is read both as CQL2-Text and as CQL2-JSON. Whatever parses is
 * also rendered, validated and evaluated against a synthetic record, and
 * for text input two invariants are checked (a failure aborts):
 *   - the normalised text parses back to the same tree;
 *   - so does the CQL2-JSON rendering, unless the input is not UTF-8
 *     (JSON strings must be).
 * JSON input that parses must also read back from its JSON and its text
 * rendering. Caps stay at their defaults, so deep nesting and long lists
 * are part of what is fuzzed. fuzz_cql2_json.c builds this file with
 * LC_FUZZ_CQL2_JSON_ONLY: the JSON parser alone, with a corpus of its own.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The accessor: a value whose type depends on the property name, so that
 * every operator meets both fitting and unfitting operands. */
static struct lc__arena *g_arena;
static struct lc__geom *g_poly;

static const struct lc__cql2_value kItems[] = {
    {.type = LC__CQL2_TNUMBER, .num = 1, .i64 = 1, .is_int = true},
    {.type = LC__CQL2_TSTRING, .str = "a", .len = 1},
    {.type = LC__CQL2_TNULL}};

static int get(void *record, const char *name, struct lc__cql2_value *out)
{
    (void)record;
    memset(out, 0, sizeof(*out));
    size_t h = 0;
    for (const char *p = name; *p != '\0'; p++)
        h = h * 31 + (unsigned char)*p;
    switch (h % 9) {
    case 0:
        out->type = LC__CQL2_TNULL;
        break;
    case 1:
        out->type = LC__CQL2_TNUMBER;
        out->num = 2.5;
        break;
    case 2:
        out->type = LC__CQL2_TNUMBER;
        out->is_int = true;
        out->i64 = INT64_MAX;
        out->num = (double)INT64_MAX;
        break;
    case 3:
        out->type = LC__CQL2_TSTRING;
        out->str = "2020-01-02T03:04:05Z";
        out->len = strlen(out->str);
        break;
    case 4:
        out->type = LC__CQL2_TSTRING;
        out->str = "Ünïcode_%x";
        out->len = strlen(out->str);
        break;
    case 5:
        out->type = LC__CQL2_TTIMESTAMP;
        out->us = INT64_C(1577934245000000);
        break;
    case 6:
        out->type = LC__CQL2_TBOOL;
        out->b = true;
        break;
    case 7:
        out->type = LC__CQL2_TARRAY;
        out->items = kItems;
        out->nitems = LC_ARRAY_SIZE(kItems);
        break;
    default:
        out->type = g_poly != NULL ? LC__CQL2_TGEOMETRY : LC__CQL2_TNULL;
        out->geom = g_poly;
        break;
    }
    return LC_OK;
}

#ifndef LC_FUZZ_CQL2_JSON_ONLY
static bool valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (len == 0 || len > n - i || (len == 2 && c < 0xc2))
            return false;
        uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}
#endif

static void render(const struct lc__cql2 *t, bool json, struct lc__strbuf *sb)
{
    lc__strbuf_init(sb, NULL, 0);
    if (json)
        lc__cql2_to_json(t, sb);
    else
        lc__cql2_to_text(t, sb);
    if (sb->status != LC_OK)
        abort();
}

static void exercise(const struct lc__cql2 *t)
{
    enum lc__cql2_truth r;
    struct lc__errbuf err;
    (void)lc__cql2_validate(t, &err);
    (void)lc__cql2_eval(t, get, NULL, NULL, &r, &err);
    for (size_t i = 0; i < lc__cql2_property_count(t); i++)
        if (lc__cql2_property_name(t, i) == NULL)
            abort();
}

/* The rendering (text or JSON) of t parses back to t. */
static void round_trip(const struct lc__cql2 *t, bool json)
{
    struct lc__strbuf sb;
    struct lc__cql2 *back = NULL;
    struct lc__errbuf err = {0};

    render(t, json, &sb);
    int rc =
        json ? lc__cql2_parse_json(sb.data, sb.len, NULL, &back, NULL, &err)
             : lc__cql2_parse_text(sb.data, sb.len, NULL, &back, NULL, &err);
    /* A rendering may nest a little deeper than its source (parentheses),
     * so a source at the nesting cap may not read back. */
    if (rc == LC_ELIMIT) {
        lc__strbuf_free(&sb);
        return;
    }
    if (rc != LC_OK || !lc__cql2_equal(t, back)) {
        struct lc__strbuf orig;
        render(t, false, &orig);
        fprintf(stderr,
                "round trip (%s) failed: %s\n  tree: %s\n  rendered: "
                "%s\n",
                json ? "JSON" : "text", rc != LC_OK ? err.msg : "not equal",
                orig.data, sb.data);
        if (back != NULL) {
            struct lc__strbuf b2;
            render(back, false, &b2);
            fprintf(stderr, "  read back: %s\n", b2.data);
            lc__strbuf_free(&b2);
        }
        abort();
    }
    lc__cql2_free(back);
    lc__strbuf_free(&sb);
}

/* Whether a tree from JSON has no CQL2-Text form that reads back (see
 * lc__cql2_to_text), as with cql2-rs: a property or function name holding
 * '"' (a quoted name ends at the next '"'), an empty array ("()" is refused
 * by the text grammar), and a one-element array other than an operand of
 * an array operator or the list of IN ("('a')" reads as 'a'). in_list says
 * n is such an operand. */
static bool no_text_form(const struct lc__cql2_node *n, bool in_list)
{
    if ((n->kind == LC__CQL2_PROPERTY || n->kind == LC__CQL2_FUNCTION) &&
        memchr(n->str, '"', n->len) != NULL)
        return true;
    if (n->kind == LC__CQL2_ARRAY && n->nargs == 0)
        return true;
    if (n->kind == LC__CQL2_ARRAY && n->nargs == 1 && !in_list)
        return true;
    bool array_op = n->kind == LC__CQL2_OP && n->op >= LC__CQL2_A_EQUALS &&
                    n->op <= LC__CQL2_A_OVERLAPS;
    bool in = n->kind == LC__CQL2_OP && n->op == LC__CQL2_IN;
    for (size_t i = 0; i < n->nargs; i++)
        if (no_text_form(n->args[i], array_op || (in && i == 1)))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_arena == NULL) {
        static struct lc__arena arena;
        static const char poly[] = "POLYGON((0 0,10 0,10 10,0 10,0 0))";
        lc__arena_init(&arena, NULL);
        g_arena = &arena;
        if (lc__geom_from_wkt(&arena, poly, strlen(poly), NULL, NULL, &g_poly,
                              NULL, NULL) != LC_OK)
            abort();
    }
    const char *text = (const char *)data;
    struct lc__cql2 *t = NULL;
    struct lc__cql2_syntax_error syn;

#ifndef LC_FUZZ_CQL2_JSON_ONLY
    if (lc__cql2_parse_text(text, size, NULL, &t, &syn, NULL) == LC_OK) {
        exercise(t);
        round_trip(t, false);
        if (valid_utf8(data, size))
            round_trip(t, true);
        lc__cql2_free(t);
    } else if (syn.offset > size) {
        abort(); /* an error position past the input */
    }
    t = NULL;
#endif
    if (lc__cql2_parse_json(text, size, NULL, &t, &syn, NULL) == LC_OK) {
        exercise(t);
        round_trip(t, true);
        if (!no_text_form(t->root, false))
            round_trip(t, false);
        lc__cql2_free(t);
    }
    return 0;
}
