/* cql2.c - CQL2 trees: operators, building, comparing, checking, freeing. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>
#include <stdio.h>

#include "../common/alloc.h"
#include "cql2_internal.h"

/*
 * Both readers (cql2_text.c, cql2_json.c) build the same tree through the
 * functions here, so that "a IN ('x')", "in(a, 'x')" and
 * {"op":"in","args":[{"property":"a"},["x"]]} are one tree; the writers
 * (cql2_text.c, cql2_json.c) and the evaluator (cql2_eval.c) only read it.
 *
 * A tree lives in one arena. Property names are interned: every PROPERTY
 * node naming "eo:cloud_cover" points at the same string, which is also
 * entry i of tree->props, so the item table can map names to columns once.
 */

#define DEFAULT_MAX_DEPTH 100
#define DEFAULT_MAX_STRING ((size_t)65536)
#define DEFAULT_MAX_LIST ((size_t)100000)
#define DEFAULT_MAX_TEXT ((size_t)16 << 20)

#define ANY SIZE_MAX
#define P_ATOM LC__CQL2_PREC_ATOM
#define P_PRED LC__CQL2_PREC_PREDICATE

static const struct lc__cql2_op_info kOps[LC__CQL2_OP_COUNT] = {
    [LC__CQL2_AND] = {"and", " AND ", 2, ANY, LC__CQL2_PREC_AND},
    [LC__CQL2_OR] = {"or", " OR ", 2, ANY, LC__CQL2_PREC_OR},
    [LC__CQL2_NOT] = {"not", NULL, 1, 1, LC__CQL2_PREC_NOT},
    [LC__CQL2_EQ] = {"=", " = ", 2, 2, P_PRED},
    [LC__CQL2_NE] = {"<>", " <> ", 2, 2, P_PRED},
    [LC__CQL2_LT] = {"<", " < ", 2, 2, P_PRED},
    [LC__CQL2_LE] = {"<=", " <= ", 2, 2, P_PRED},
    [LC__CQL2_GT] = {">", " > ", 2, 2, P_PRED},
    [LC__CQL2_GE] = {">=", " >= ", 2, 2, P_PRED},
    [LC__CQL2_LIKE] = {"like", " LIKE ", 2, 2, P_PRED},
    [LC__CQL2_BETWEEN] = {"between", " BETWEEN ", 3, 3, P_PRED},
    [LC__CQL2_IN] = {"in", " IN ", 2, 2, P_PRED},
    [LC__CQL2_ISNULL] = {"isNull", NULL, 1, 1, P_PRED},
    [LC__CQL2_CASEI] = {"casei", NULL, 1, 1, P_ATOM},
    [LC__CQL2_ACCENTI] = {"accenti", NULL, 1, 1, P_ATOM},
    [LC__CQL2_ADD] = {"+", " + ", 2, 2, LC__CQL2_PREC_ADDITIVE},
    [LC__CQL2_SUB] = {"-", " - ", 2, 2, LC__CQL2_PREC_ADDITIVE},
    [LC__CQL2_MUL] = {"*", " * ", 2, 2, LC__CQL2_PREC_MULTIPLICATIVE},
    [LC__CQL2_DIV] = {"/", " / ", 2, 2, LC__CQL2_PREC_MULTIPLICATIVE},
    [LC__CQL2_MOD] = {"%", " % ", 2, 2, LC__CQL2_PREC_MULTIPLICATIVE},
    [LC__CQL2_POW] = {"^", " ^ ", 2, 2, LC__CQL2_PREC_POWER},
    [LC__CQL2_INTDIV] = {"div", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_INTERSECTS] = {"s_intersects", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_EQUALS] = {"s_equals", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_DISJOINT] = {"s_disjoint", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_TOUCHES] = {"s_touches", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_WITHIN] = {"s_within", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_OVERLAPS] = {"s_overlaps", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_CROSSES] = {"s_crosses", NULL, 2, 2, P_ATOM},
    [LC__CQL2_S_CONTAINS] = {"s_contains", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_AFTER] = {"t_after", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_BEFORE] = {"t_before", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_CONTAINS] = {"t_contains", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_DISJOINT] = {"t_disjoint", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_DURING] = {"t_during", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_EQUALS] = {"t_equals", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_FINISHEDBY] = {"t_finishedBy", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_FINISHES] = {"t_finishes", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_INTERSECTS] = {"t_intersects", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_MEETS] = {"t_meets", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_METBY] = {"t_metBy", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_OVERLAPPEDBY] = {"t_overlappedBy", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_OVERLAPS] = {"t_overlaps", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_STARTEDBY] = {"t_startedBy", NULL, 2, 2, P_ATOM},
    [LC__CQL2_T_STARTS] = {"t_starts", NULL, 2, 2, P_ATOM},
    [LC__CQL2_A_EQUALS] = {"a_equals", NULL, 2, 2, P_ATOM},
    [LC__CQL2_A_CONTAINS] = {"a_contains", NULL, 2, 2, P_ATOM},
    [LC__CQL2_A_CONTAINEDBY] = {"a_containedBy", NULL, 2, 2, P_ATOM},
    [LC__CQL2_A_OVERLAPS] = {"a_overlaps", NULL, 2, 2, P_ATOM},
};

const struct lc__cql2_op_info *lc__cql2_op_info(enum lc__cql2_op op)
{
    LC_ASSERT(op < LC__CQL2_OP_COUNT);
    return &kOps[op];
}

static char lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool same_word(const char *a, size_t len, const char *b)
{
    size_t n = strlen(b);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower_ascii(a[i]) != lower_ascii(b[i]))
            return false;
    return true;
}

bool lc__cql2_find_op(const char *name, size_t len, enum lc__cql2_op *op)
{
    for (int i = 0; i < LC__CQL2_OP_COUNT; i++) {
        if (same_word(name, len, kOps[i].name)) {
            *op = (enum lc__cql2_op)i;
            return true;
        }
    }
    if (len == 2 && name[0] == '!' && name[1] == '=') {
        *op = LC__CQL2_NE;
        return true;
    }
    return false;
}

/* ---- building ---------------------------------------------------------- */

int lc__cql2_builder_init(struct lc__cql2_builder *b,
                          const struct lc__cql2_options *opts,
                          struct lc__cql2_syntax_error *syntax,
                          struct lc__errbuf *err)
{
    const struct lc__cql2_options none = {0};
    if (opts == NULL)
        opts = &none;
    memset(b, 0, sizeof(*b));
    b->max_depth = opts->max_depth != 0 ? opts->max_depth : DEFAULT_MAX_DEPTH;
    b->max_string_nbytes = opts->max_string_nbytes != 0
                               ? opts->max_string_nbytes
                               : DEFAULT_MAX_STRING;
    b->max_list_len =
        opts->max_list_len != 0 ? opts->max_list_len : DEFAULT_MAX_LIST;
    b->max_text_nbytes =
        opts->max_text_nbytes != 0 ? opts->max_text_nbytes : DEFAULT_MAX_TEXT;
    b->syntax = syntax;
    b->err = err;
    if (syntax != NULL)
        memset(syntax, 0, sizeof(*syntax));
    b->tree = lc__calloc(opts->alloc, 1, sizeof(*b->tree));
    LC_RETURN_IF(b->tree == NULL, err, LC_ENOMEM, "CQL2: out of memory");
    lc__arena_init(&b->tree->arena, opts->alloc);
    return LC_OK;
}

int lc__cql2_syntax(struct lc__cql2_builder *b, size_t offset,
                    const char *expected, const char *found)
{
    if (b->text == NULL) {
        /* JSON: no offsets once jansson has parsed, but a path. */
        const char *path = b->json_path != NULL && b->json_path[0] != '\0'
                               ? b->json_path
                               : "(root)";
        if (b->syntax != NULL) {
            memset(b->syntax, 0, sizeof(*b->syntax));
            (void)snprintf(b->syntax->expected, sizeof(b->syntax->expected),
                           "%s: %s", path, expected);
            lc__copy_str(b->syntax->found, sizeof(b->syntax->found), found);
        }
        return lc__error(b->err, LC_EINVAL,
                         "CQL2 JSON: %s: expected %s, found %s", path, expected,
                         found);
    }
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset && i < b->text_len; i++) {
        if (b->text[i] == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    if (b->syntax != NULL) {
        b->syntax->offset = offset;
        b->syntax->line = line;
        b->syntax->column = column;
        lc__copy_str(b->syntax->expected, sizeof(b->syntax->expected),
                     expected);
        lc__copy_str(b->syntax->found, sizeof(b->syntax->found), found);
    }
    return lc__error(b->err, LC_EINVAL,
                     "CQL2 text: expected %s at line %zu, column %zu (byte "
                     "%zu), found %s",
                     expected, line, column, offset, found);
}

struct lc__cql2_node *lc__cql2_node_new(struct lc__cql2_builder *b,
                                        enum lc__cql2_kind kind, size_t offset)
{
    struct lc__cql2_node *n = lc__arena_calloc(&b->tree->arena, 1, sizeof(*n));
    if (n == NULL) {
        (void)lc__error(b->err, LC_ENOMEM, "CQL2: out of memory");
        return NULL;
    }
    n->kind = kind;
    n->offset = offset;
    return n;
}

int lc__cql2_strdup(struct lc__cql2_builder *b, const char *s, size_t len,
                    size_t offset, const char **out)
{
    LC_RETURN_IF(len > b->max_string_nbytes, b->err, LC_ELIMIT,
                 "CQL2: a string or name of %zu bytes at byte %zu (at most "
                 "%zu allowed)",
                 len, offset, b->max_string_nbytes);
    LC_RETURN_IF(memchr(s, '\0', len) != NULL, b->err, LC_EINVAL,
                 "CQL2: a string or name at byte %zu holds a NUL character",
                 offset);
    char *p = lc__arena_strndup(&b->tree->arena, s, len);
    LC_RETURN_IF(p == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
    *out = p;
    return LC_OK;
}

/*
 * Interning: an open-addressing table (in the tree's arena, at most half
 * full, rebuilt twice as large when it fills) maps names to their index in
 * tree->props, so that a filter naming 100000 properties parses in linear
 * time.
 */
static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int intern_grow(struct lc__cql2_builder *b)
{
    struct lc__cql2 *t = b->tree;
    size_t cap = b->intern_cap != 0 ? b->intern_cap * 2 : 16;
    size_t *slots = lc__arena_calloc(&t->arena, cap, sizeof(*slots));
    const char **props = lc__arena_calloc(&t->arena, cap / 2, sizeof(*props));
    LC_RETURN_IF(slots == NULL || props == NULL, b->err, LC_ENOMEM,
                 "CQL2: out of memory");
    if (t->nprops > 0)
        memcpy(props, t->props, t->nprops * sizeof(*props));
    for (size_t i = 0; i < t->nprops; i++) {
        size_t h = (size_t)hash_name(props[i], strlen(props[i])) & (cap - 1);
        while (slots[h] != 0)
            h = (h + 1) & (cap - 1);
        slots[h] = i + 1;
    }
    b->intern = slots;
    b->intern_cap = cap;
    t->props = props;
    b->props_cap = cap / 2;
    return LC_OK;
}

int lc__cql2_property(struct lc__cql2_builder *b, const char *name, size_t len,
                      size_t offset, struct lc__cql2_node **out)
{
    static const char prefix[] = "properties.";
    const size_t np = sizeof(prefix) - 1;
    struct lc__cql2 *t = b->tree;

    if (len > np && memcmp(name, prefix, np) == 0) {
        name += np;
        len -= np;
    }
    LC_RETURN_IF(len == 0, b->err, LC_EINVAL,
                 "CQL2: an empty property name at byte %zu", offset);
    struct lc__cql2_node *n = lc__cql2_node_new(b, LC__CQL2_PROPERTY, offset);
    if (n == NULL)
        return LC_ENOMEM;
    if (t->nprops + 1 > b->props_cap)
        LC_FORWARD_IF_ERROR(intern_grow(b));
    size_t h = (size_t)hash_name(name, len) & (b->intern_cap - 1);
    while (b->intern[h] != 0) {
        const char *s = t->props[b->intern[h] - 1];
        if (strlen(s) == len && memcmp(s, name, len) == 0)
            break;
        h = (h + 1) & (b->intern_cap - 1);
    }
    if (b->intern[h] == 0) {
        const char *copy;
        LC_FORWARD_IF_ERROR(lc__cql2_strdup(b, name, len, offset, &copy));
        t->props[t->nprops] = copy;
        b->intern[h] = ++t->nprops;
    }
    n->prop = b->intern[h] - 1;
    n->str = t->props[n->prop];
    n->len = len;
    *out = n;
    return LC_OK;
}

static bool is_array_op(enum lc__cql2_op op)
{
    return op >= LC__CQL2_A_EQUALS && op <= LC__CQL2_A_OVERLAPS;
}

/* Wraps n into a one-element ARRAY. */
static int wrap_array(struct lc__cql2_builder *b, struct lc__cql2_node **n)
{
    struct lc__cql2_node *a =
        lc__cql2_node_new(b, LC__CQL2_ARRAY, (*n)->offset);
    if (a == NULL)
        return LC_ENOMEM;
    a->args = lc__arena_alloc(&b->tree->arena, sizeof(*a->args));
    LC_RETURN_IF(a->args == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
    a->args[0] = *n;
    a->nargs = 1;
    *n = a;
    return LC_OK;
}

int lc__cql2_op_node(struct lc__cql2_builder *b, enum lc__cql2_op op,
                     struct lc__cql2_node **args, size_t nargs, size_t offset,
                     struct lc__cql2_node **out)
{
    struct lc__cql2_node *n = lc__cql2_node_new(b, LC__CQL2_OP, offset);
    if (n == NULL)
        return LC_ENOMEM;
    n->op = op;
    /* AND inside AND (and OR inside OR) is one list: "(a AND b) AND c"
     * and "a AND (b AND c)" are the tree of "a AND b AND c". */
    size_t total = 0;
    for (size_t i = 0; i < nargs; i++) {
        bool splice = (op == LC__CQL2_AND || op == LC__CQL2_OR) &&
                      args[i]->kind == LC__CQL2_OP && args[i]->op == op;
        total += splice ? args[i]->nargs : 1;
    }
    LC_RETURN_IF(total > b->max_list_len, b->err, LC_ELIMIT,
                 "CQL2: more than %zu arguments at byte %zu", b->max_list_len,
                 offset);
    n->args = lc__arena_calloc(&b->tree->arena, total, sizeof(*n->args));
    LC_RETURN_IF(n->args == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
    for (size_t i = 0; i < nargs; i++) {
        bool splice = (op == LC__CQL2_AND || op == LC__CQL2_OR) &&
                      args[i]->kind == LC__CQL2_OP && args[i]->op == op;
        if (splice) {
            for (size_t j = 0; j < args[i]->nargs; j++)
                n->args[n->nargs++] = args[i]->args[j];
        } else {
            n->args[n->nargs++] = args[i];
        }
    }
    *out = n;
    return LC_OK;
}

int lc__cql2_call(struct lc__cql2_builder *b, const char *name, size_t len,
                  struct lc__cql2_node **args, size_t nargs, size_t offset,
                  struct lc__cql2_node **out)
{
    enum lc__cql2_op op;

    if (!lc__cql2_find_op(name, len, &op)) {
        struct lc__cql2_node *n =
            lc__cql2_node_new(b, LC__CQL2_FUNCTION, offset);
        if (n == NULL)
            return LC_ENOMEM;
        LC_FORWARD_IF_ERROR(lc__cql2_strdup(b, name, len, offset, &n->str));
        n->len = len;
        n->nargs = nargs;
        n->args = lc__arena_calloc(&b->tree->arena, nargs, sizeof(*n->args));
        LC_RETURN_IF(n->args == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
        if (nargs > 0)
            memcpy(n->args, args, nargs * sizeof(*args));
        *out = n;
        return LC_OK;
    }
    const struct lc__cql2_op_info *info = &kOps[op];
    if (op == LC__CQL2_IN && nargs >= 2) {
        /* in(x, ('a', 'b')), in(x, 'a'), in(x, 'a', 'b'). */
        if (nargs > 2) {
            struct lc__cql2_node *list =
                lc__cql2_node_new(b, LC__CQL2_ARRAY, args[1]->offset);
            if (list == NULL)
                return LC_ENOMEM;
            list->nargs = nargs - 1;
            list->args = lc__arena_calloc(&b->tree->arena, nargs - 1,
                                          sizeof(*list->args));
            LC_RETURN_IF(list->args == NULL, b->err, LC_ENOMEM,
                         "CQL2: out of memory");
            memcpy(list->args, args + 1, (nargs - 1) * sizeof(*args));
            struct lc__cql2_node *two[2] = {args[0], list};
            return lc__cql2_op_node(b, op, two, 2, offset, out);
        }
        if (args[1]->kind != LC__CQL2_ARRAY)
            LC_FORWARD_IF_ERROR(wrap_array(b, &args[1]));
    }
    if (nargs < info->min_args || nargs > info->max_args) {
        char expected[96];
        if (info->max_args == SIZE_MAX)
            (void)snprintf(expected, sizeof(expected), "at least %zu arguments",
                           info->min_args);
        else
            (void)snprintf(expected, sizeof(expected), "%zu argument%s",
                           info->min_args, info->min_args == 1 ? "" : "s");
        char found[64];
        (void)snprintf(found, sizeof(found), "%zu for %s", nargs, info->name);
        return lc__cql2_syntax(b, offset, expected, found);
    }
    if (is_array_op(op)) {
        for (size_t i = 0; i < nargs; i++)
            if (args[i]->parenthesized && args[i]->kind != LC__CQL2_ARRAY)
                LC_FORWARD_IF_ERROR(wrap_array(b, &args[i]));
    }
    return lc__cql2_op_node(b, op, args, nargs, offset, out);
}

int lc__cql2_bbox_geom(struct lc__cql2_builder *b, struct lc__cql2_node *n)
{
    struct lc__arena *arena = &b->tree->arena;
    const double *v = n->bbox;
    size_t half = n->nbbox / 2;
    double w = v[0], s = v[1], e = v[half], north = v[half + 1];

    LC_RETURN_IF(s > north, b->err, LC_EINVAL,
                 "CQL2: BBOX at byte %zu has its south edge (%g) north of "
                 "its north edge (%g)",
                 n->offset, s, north);
    if (w <= e) {
        struct lc__envelope env = {w, s, e, north};
        LC_RETURN_IF(lc__geom_from_envelope(arena, &env, &n->geom) < 0, b->err,
                     LC_ENOMEM, "CQL2: out of memory");
        return LC_OK;
    }
    /* West east of east: the box crosses the antimeridian (OGC 21-065r2
     * section 7.10, as for STAC bbox), so it is two boxes. */
    struct lc__geom *g = lc__arena_calloc(arena, 1, sizeof(*g));
    LC_RETURN_IF(g == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
    g->type = LC__GEOM_MULTIPOLYGON;
    g->parts = lc__arena_calloc(arena, 2, sizeof(*g->parts));
    LC_RETURN_IF(g->parts == NULL, b->err, LC_ENOMEM, "CQL2: out of memory");
    struct lc__envelope envs[2] = {{w, s, 180, north}, {-180, s, e, north}};
    for (int i = 0; i < 2; i++) {
        struct lc__geom *p;
        LC_RETURN_IF(lc__geom_from_envelope(arena, &envs[i], &p) < 0, b->err,
                     LC_ENOMEM, "CQL2: out of memory");
        g->parts[i] = *p;
    }
    g->nparts = 2;
    n->geom = g;
    return LC_OK;
}

/* ---- the tree ---------------------------------------------------------- */

void lc__cql2_free(struct lc__cql2 *tree)
{
    if (tree == NULL)
        return;
    struct lc_allocator alloc = tree->arena.alloc;
    lc__arena_free(&tree->arena);
    lc__free(&alloc, tree);
}

size_t lc__cql2_property_count(const struct lc__cql2 *tree)
{
    return tree->nprops;
}

const char *lc__cql2_property_name(const struct lc__cql2 *tree, size_t i)
{
    return i < tree->nprops ? tree->props[i] : NULL;
}

static bool node_equal(const struct lc__cql2_node *a,
                       const struct lc__cql2_node *b)
{
    if (a->kind != b->kind || a->nargs != b->nargs)
        return false;
    switch (a->kind) {
    case LC__CQL2_NULL:
    case LC__CQL2_OPEN:
    case LC__CQL2_ARRAY:
    case LC__CQL2_INTERVAL:
        break;
    case LC__CQL2_BOOL:
        if (a->b != b->b)
            return false;
        break;
    case LC__CQL2_NUMBER:
        if (a->is_int && b->is_int ? a->i64 != b->i64 : a->num != b->num)
            return false;
        break;
    case LC__CQL2_STRING:
    case LC__CQL2_PROPERTY:
    case LC__CQL2_FUNCTION:
        if (a->len != b->len || memcmp(a->str, b->str, a->len) != 0)
            return false;
        break;
    case LC__CQL2_DATE:
    case LC__CQL2_TIMESTAMP:
        if (a->us != b->us)
            return false;
        break;
    case LC__CQL2_GEOMETRY:
        if (!lc__geom_equal_exact(a->geom, b->geom))
            return false;
        break;
    case LC__CQL2_BBOX:
        if (a->nbbox != b->nbbox ||
            memcmp(a->bbox, b->bbox, a->nbbox * sizeof(double)) != 0)
            return false;
        break;
    case LC__CQL2_OP:
        if (a->op != b->op)
            return false;
        break;
    }
    for (size_t i = 0; i < a->nargs; i++)
        if (!node_equal(a->args[i], b->args[i]))
            return false;
    return true;
}

bool lc__cql2_equal(const struct lc__cql2 *a, const struct lc__cql2 *b)
{
    return node_equal(a->root, b->root);
}

/* ---- validation -------------------------------------------------------- */

static const char *kind_name(enum lc__cql2_kind k)
{
    switch (k) {
    case LC__CQL2_NULL:
        return "NULL";
    case LC__CQL2_BOOL:
        return "a boolean";
    case LC__CQL2_NUMBER:
        return "a number";
    case LC__CQL2_STRING:
        return "a string";
    case LC__CQL2_DATE:
        return "a date";
    case LC__CQL2_TIMESTAMP:
        return "a timestamp";
    case LC__CQL2_OPEN:
        return "'..'";
    case LC__CQL2_INTERVAL:
        return "an interval";
    case LC__CQL2_GEOMETRY:
        return "a geometry";
    case LC__CQL2_BBOX:
        return "a bbox";
    case LC__CQL2_ARRAY:
        return "an array";
    case LC__CQL2_PROPERTY:
        return "a property";
    case LC__CQL2_OP:
        return "an expression";
    case LC__CQL2_FUNCTION:
        return "a function";
    }
    return "?";
}

/* Whether a literal of kind k can be an operand of op (anything that is
 * not a literal is decided at evaluation). */
static bool literal_fits(enum lc__cql2_op op, const struct lc__cql2_node *n)
{
    switch (n->kind) {
    case LC__CQL2_PROPERTY:
    case LC__CQL2_FUNCTION:
    case LC__CQL2_NULL:
        return true;
    case LC__CQL2_OP:
        /* Operators yield booleans, numbers or strings. */
        return !(op >= LC__CQL2_S_INTERSECTS && op <= LC__CQL2_A_OVERLAPS);
    case LC__CQL2_GEOMETRY:
    case LC__CQL2_BBOX:
        return op >= LC__CQL2_S_INTERSECTS && op <= LC__CQL2_S_CONTAINS;
    case LC__CQL2_DATE:
    case LC__CQL2_TIMESTAMP:
    case LC__CQL2_INTERVAL:
        return op >= LC__CQL2_T_AFTER && op <= LC__CQL2_T_STARTS;
    case LC__CQL2_STRING: {
        bool is_date;
        int64_t us;
        if (op >= LC__CQL2_T_AFTER && op <= LC__CQL2_T_STARTS)
            return lc__cql2_parse_instant(n->str, n->len, &is_date, &us);
        return !(op >= LC__CQL2_S_INTERSECTS && op <= LC__CQL2_A_OVERLAPS);
    }
    case LC__CQL2_ARRAY:
        return is_array_op(op);
    case LC__CQL2_BOOL:
    case LC__CQL2_NUMBER:
    case LC__CQL2_OPEN:
        return !(op >= LC__CQL2_S_INTERSECTS && op <= LC__CQL2_A_OVERLAPS);
    }
    return true;
}

static int validate_node(const struct lc__cql2_node *n, size_t depth,
                         struct lc__errbuf *err)
{
    if (n->kind == LC__CQL2_FUNCTION)
        return lc__error(err, LC_EUNSUPPORTED,
                         "CQL2: unknown function '%s' at byte %zu (only the "
                         "built-in operators can be evaluated)",
                         n->str, n->offset);
    if (n->kind == LC__CQL2_OP && n->op >= LC__CQL2_S_INTERSECTS) {
        for (size_t i = 0; i < n->nargs; i++) {
            if (!literal_fits(n->op, n->args[i]))
                return lc__error(err, LC_EINVAL,
                                 "CQL2: %s at byte %zu: argument %zu is %s, "
                                 "which it cannot compare",
                                 kOps[n->op].name, n->offset, i + 1,
                                 kind_name(n->args[i]->kind));
        }
    }
    for (size_t i = 0; i < n->nargs; i++)
        LC_FORWARD_IF_ERROR(validate_node(n->args[i], depth + 1, err));
    return LC_OK;
}

int lc__cql2_validate(const struct lc__cql2 *tree, struct lc__errbuf *err)
{
    LC_RETURN_IF(tree == NULL, err, LC_EINVAL, "CQL2: NULL tree");
    return validate_node(tree->root, 0, err);
}
