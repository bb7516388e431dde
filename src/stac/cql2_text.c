/* cql2_text.c - CQL2-Text: a recursive-descent parser and the writer. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>
#include <stdio.h>

#include "../common/alloc.h"
#include "cql2_internal.h"

/*
 * The grammar, loosest first (OGC 21-065r2 Annex B, with the leniencies
 * listed in cql2.h). Each level is one function below:
 *
 *   or        := and { OR and }
 *   and       := not { AND not }
 *   not       := NOT not | predicate
 *   predicate := additive [ cmp additive | [NOT] LIKE additive
 *                         | [NOT] BETWEEN additive AND additive
 *                         | [NOT] IN '(' or {',' or} ')'
 *                         | IS [NOT] NULL ]
 *   additive  := multiplicative { ('+' | '-') multiplicative }
 *   multiplicative := power { ('*' | '/' | '%' | DIV) power }
 *   power     := unary { '^' unary }
 *   unary     := '-' unary | '+' unary | primary
 *   primary   := number | string | TRUE | FALSE | NULL
 *              | DATE '(' string ')' | TIMESTAMP '(' string ')'
 *              | INTERVAL '(' end ',' end ')' | BBOX '(' numbers ')'
 *              | WKT geometry | name '(' [or {',' or}] ')'
 *              | property | '(' or {',' or} ')'
 *
 * Arithmetic is left-associative (a - b - c is (a - b) - c, and so is ^,
 * as in cql2-rs); a predicate takes one comparison (a = b = c is an
 * error). A minus before a number literal makes a negative literal; before
 * anything else it multiplies by -1 (as cql2-rs, so both render alike).
 * Every recursion counts against max_depth, so hostile nesting ends in
 * LC_ELIMIT, never in a stack overflow.
 */

enum tok_type {
    TOK_EOF,
    TOK_IDENT,
    TOK_QIDENT, /* "double-quoted name" */
    TOK_STRING, /* 'single-quoted', '' for a quote */
    TOK_NUMBER,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_EQ,
    TOK_NE,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_PERCENT,
    TOK_CARET,
    TOK_BAD /* a character no token starts with */
};

struct token {
    enum tok_type type;
    size_t start, end; /* bytes of the text */
};

struct parser {
    struct lc__cql2_builder *b;
    const char *s;
    size_t len;
    size_t pos; /* where the next token starts (after spaces) */
    struct token tok;
    size_t depth;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Identifiers (OGC 21-065r2 B.9): letters, '_' and ':' start one; digits
 * and '.' may follow. Any non-ASCII byte counts as a letter (the BNF
 * allows most of Unicode). */
static bool ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           c == ':' || (unsigned char)c >= 0x80;
}

static bool ident_part(char c)
{
    return ident_start(c) || is_digit(c) || c == '.';
}

/* Lexes the token starting at or after pos. */
static struct token lex_at(const struct parser *p, size_t pos)
{
    struct token t = {TOK_EOF, pos, pos};
    const char *s = p->s;
    size_t n = p->len;

    while (pos < n && is_space(s[pos]))
        pos++;
    t.start = t.end = pos;
    if (pos >= n)
        return t;
    char c = s[pos];
    size_t end = pos + 1;
    if (ident_start(c)) {
        while (end < n && ident_part(s[end]))
            end++;
        t.type = TOK_IDENT;
    } else if (is_digit(c) || (c == '.' && end < n && is_digit(s[end]))) {
        end = pos + lc__scan_number(s + pos, n - pos);
        t.type = TOK_NUMBER;
    } else if (c == '\'') {
        /* Find the closing quote; '' is a quote inside. end stays at the
         * opening quote when there is none (reported by the parser). */
        size_t i = pos + 1;
        for (;;) {
            if (i >= n) {
                end = pos;
                break;
            }
            if (s[i] == '\'') {
                if (i + 1 < n && s[i + 1] == '\'') {
                    i += 2;
                    continue;
                }
                end = i + 1;
                break;
            }
            i++;
        }
        t.type = TOK_STRING;
    } else if (c == '"') {
        const char *q = memchr(s + pos + 1, '"', n - pos - 1);
        end = q != NULL ? (size_t)(q - s) + 1 : pos;
        t.type = TOK_QIDENT;
    } else {
        char d = end < n ? s[end] : '\0';
        switch (c) {
        case '(':
            t.type = TOK_LPAREN;
            break;
        case ')':
            t.type = TOK_RPAREN;
            break;
        case ',':
            t.type = TOK_COMMA;
            break;
        case '=':
            t.type = TOK_EQ;
            break;
        case '<':
            t.type = d == '=' ? TOK_LE : d == '>' ? TOK_NE : TOK_LT;
            end += d == '=' || d == '>';
            break;
        case '>':
            t.type = d == '=' ? TOK_GE : TOK_GT;
            end += d == '=';
            break;
        case '!':
            t.type = d == '=' ? TOK_NE : TOK_BAD;
            end += d == '=';
            break;
        case '+':
            t.type = TOK_PLUS;
            break;
        case '-':
            t.type = TOK_MINUS;
            break;
        case '*':
            t.type = TOK_STAR;
            break;
        case '/':
            t.type = TOK_SLASH;
            break;
        case '%':
            t.type = TOK_PERCENT;
            break;
        case '^':
            t.type = TOK_CARET;
            break;
        default:
            t.type = TOK_BAD;
            break;
        }
    }
    t.end = end;
    return t;
}

static void next(struct parser *p)
{
    p->tok = lex_at(p, p->pos);
    p->pos = p->tok.end > p->tok.start ? p->tok.end : p->tok.start + 1;
    if (p->tok.type == TOK_EOF)
        p->pos = p->len;
}

/* How a token reads in messages: 'AND', ')', end of input. */
static void describe(const struct parser *p, const struct token *t, char *buf,
                     size_t cap)
{
    size_t n = t->end > t->start ? t->end - t->start : 1;
    switch (t->type) {
    case TOK_EOF:
        lc__copy_str(buf, cap, "end of input");
        return;
    case TOK_STRING:
        if (t->end == t->start) {
            lc__copy_str(buf, cap, "an unterminated string");
            return;
        }
        break;
    case TOK_QIDENT:
        if (t->end == t->start) {
            lc__copy_str(buf, cap, "an unterminated quoted name");
            return;
        }
        break;
    case TOK_IDENT:
    case TOK_NUMBER:
    case TOK_LPAREN:
    case TOK_RPAREN:
    case TOK_COMMA:
    case TOK_EQ:
    case TOK_NE:
    case TOK_LT:
    case TOK_LE:
    case TOK_GT:
    case TOK_GE:
    case TOK_PLUS:
    case TOK_MINUS:
    case TOK_STAR:
    case TOK_SLASH:
    case TOK_PERCENT:
    case TOK_CARET:
    case TOK_BAD:
        break;
    }
    if (n > 24)
        n = 24;
    (void)snprintf(buf, cap, "'%.*s%s'", (int)n, p->s + t->start,
                   t->end - t->start > 24 ? "..." : "");
}

static int fail(struct parser *p, const char *expected)
{
    char found[64];
    describe(p, &p->tok, found, sizeof(found));
    return lc__cql2_syntax(p->b, p->tok.start, expected, found);
}

static bool is_word(const struct parser *p, const struct token *t,
                    const char *kw)
{
    size_t n = strlen(kw);
    if (t->type != TOK_IDENT || t->end - t->start != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p->s[t->start + i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != kw[i])
            return false;
    }
    return true;
}

static bool at_word(const struct parser *p, const char *kw)
{
    return is_word(p, &p->tok, kw);
}

static const char *const kReserved[] = {"AND",     "OR",    "NOT", "LIKE",
                                        "BETWEEN", "IN",    "IS",  "NULL",
                                        "TRUE",    "FALSE", "DIV"};

static bool is_reserved(const struct parser *p, const struct token *t)
{
    for (size_t i = 0; i < LC_ARRAY_SIZE(kReserved); i++)
        if (is_word(p, t, kReserved[i]))
            return true;
    return false;
}

static int expect(struct parser *p, enum tok_type type, const char *what)
{
    if (p->tok.type != type)
        return fail(p, what);
    next(p);
    return LC_OK;
}

static int enter(struct parser *p)
{
    if (++p->depth > p->b->max_depth)
        return lc__error(p->b->err, LC_ELIMIT,
                         "CQL2 text: expressions nested deeper than %zu "
                         "levels at byte %zu",
                         p->b->max_depth, p->tok.start);
    return LC_OK;
}

static struct lc__cql2_node *new_node(struct parser *p, enum lc__cql2_kind kind,
                                      size_t at)
{
    return lc__cql2_node_new(p->b, kind, at);
}

static int op2(struct parser *p, enum lc__cql2_op op, struct lc__cql2_node *a,
               struct lc__cql2_node *b, size_t at, struct lc__cql2_node **out)
{
    struct lc__cql2_node *args[2] = {a, b};
    return lc__cql2_op_node(p->b, op, args, b != NULL ? 2 : 1, at, out);
}

/* A growable list of nodes, in the tree's arena. */
struct node_list {
    struct lc__cql2_node **items;
    size_t n, cap;
};

static int list_push(struct parser *p, struct node_list *l,
                     struct lc__cql2_node *n)
{
    if (l->n >= p->b->max_list_len)
        return lc__error(p->b->err, LC_ELIMIT,
                         "CQL2 text: a list of more than %zu elements at "
                         "byte %zu",
                         p->b->max_list_len, n->offset);
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 4;
        struct lc__cql2_node **items =
            lc__arena_calloc(&p->b->tree->arena, cap, sizeof(*items));
        LC_RETURN_IF(items == NULL, p->b->err, LC_ENOMEM,
                     "CQL2: out of memory");
        if (l->n > 0)
            memcpy(items, l->items, l->n * sizeof(*items));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = n;
    return LC_OK;
}

static int parse_or(struct parser *p, struct lc__cql2_node **out);
static int parse_unary(struct parser *p, struct lc__cql2_node **out);
static int parse_additive(struct parser *p, struct lc__cql2_node **out);

/* Elements separated by ',' up to ')' (the '(' already read). */
static int parse_list(struct parser *p, struct node_list *l, bool allow_empty)
{
    if (allow_empty && p->tok.type == TOK_RPAREN) {
        next(p);
        return LC_OK;
    }
    for (;;) {
        struct lc__cql2_node *e;
        LC_FORWARD_IF_ERROR(parse_or(p, &e));
        LC_FORWARD_IF_ERROR(list_push(p, l, e));
        if (p->tok.type == TOK_RPAREN) {
            next(p);
            return LC_OK;
        }
        if (p->tok.type != TOK_COMMA)
            return fail(p, "',' or ')'");
        next(p);
    }
}

/* The value of a string token, '' turned into ', in the arena. */
static int string_value(struct parser *p, const struct token *t,
                        const char **out, size_t *len)
{
    if (t->end == t->start) {
        char expected[96];
        (void)snprintf(expected, sizeof(expected),
                       "a closing quote for the string opened at byte %zu",
                       t->start);
        return lc__cql2_syntax(p->b, p->len, expected, "end of input");
    }
    const char *s = p->s + t->start + 1;
    size_t n = t->end - t->start - 2;
    LC_RETURN_IF(n > p->b->max_string_nbytes, p->b->err, LC_ELIMIT,
                 "CQL2 text: a string of %zu bytes at byte %zu (at most %zu "
                 "allowed)",
                 n, t->start, p->b->max_string_nbytes);
    char *v = lc__arena_alloc(&p->b->tree->arena, n + 1);
    LC_RETURN_IF(v == NULL, p->b->err, LC_ENOMEM, "CQL2: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        v[k++] = s[i];
        if (s[i] == '\'')
            i++; /* the second quote of '' */
    }
    v[k] = '\0';
    LC_RETURN_IF(memchr(v, '\0', k) != NULL, p->b->err, LC_EINVAL,
                 "CQL2 text: the string at byte %zu holds a NUL character",
                 t->start);
    *out = v;
    *len = k;
    return LC_OK;
}

static int number_node(struct parser *p, struct lc__cql2_node **out)
{
    const struct token *t = &p->tok;
    const char *s = p->s + t->start;
    size_t n = t->end - t->start;
    struct lc__cql2_node *node = new_node(p, LC__CQL2_NUMBER, t->start);
    if (node == NULL)
        return LC_ENOMEM;
    if (!lc__parse_double(s, n, &node->num))
        return fail(p, "a number that fits a double");
    /* Digits only: also keep the exact integer when it fits. */
    bool integral = true;
    int64_t v = 0;
    for (size_t i = 0; i < n && integral; i++) {
        if (!is_digit(s[i]) || __builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, s[i] - '0', &v))
            integral = false;
    }
    node->is_int = integral;
    node->i64 = integral ? v : 0;
    next(p);
    *out = node;
    return LC_OK;
}

static void negate(struct lc__cql2_node *n)
{
    n->num = -n->num;
    if (n->is_int) {
        if (n->i64 == INT64_MIN)
            n->is_int = false;
        else
            n->i64 = -n->i64;
    }
}

/* A string token holding a date or timestamp, or '..'. */
static int instant_string(struct parser *p, enum lc__cql2_kind want,
                          struct lc__cql2_node **out)
{
    const char *v;
    size_t n;
    size_t at = p->tok.start;
    LC_FORWARD_IF_ERROR(string_value(p, &p->tok, &v, &n));
    struct lc__cql2_node *node = new_node(p, want, at);
    if (node == NULL)
        return LC_ENOMEM;
    bool ok;
    if (want == LC__CQL2_DATE) {
        ok = lc__cql2_parse_date(v, n, &node->us);
    } else if (want == LC__CQL2_TIMESTAMP) {
        ok = lc__cql2_parse_timestamp(v, n, &node->us);
    } else if (n == 2 && v[0] == '.' && v[1] == '.') {
        node->kind = LC__CQL2_OPEN;
        ok = true;
    } else {
        bool is_date;
        ok = lc__cql2_parse_instant(v, n, &is_date, &node->us);
        node->kind = is_date ? LC__CQL2_DATE : LC__CQL2_TIMESTAMP;
    }
    if (!ok)
        return fail(p, want == LC__CQL2_DATE ? "a date such as '2020-01-31'"
                       : want == LC__CQL2_TIMESTAMP
                           ? "a timestamp such as '2020-01-31T12:00:00Z'"
                           : "a date, a timestamp or '..'");
    next(p);
    *out = node;
    return LC_OK;
}

/* DATE('...') or TIMESTAMP('...'), the name already read. */
static int parse_instant(struct parser *p, enum lc__cql2_kind kind,
                         struct lc__cql2_node **out)
{
    LC_FORWARD_IF_ERROR(expect(p, TOK_LPAREN, "'('"));
    if (p->tok.type != TOK_STRING)
        return fail(p, kind == LC__CQL2_DATE
                           ? "a date such as '2020-01-31'"
                           : "a timestamp such as '2020-01-31T12:00:00Z'");
    LC_FORWARD_IF_ERROR(instant_string(p, kind, out));
    return expect(p, TOK_RPAREN, "')'");
}

static int parse_interval(struct parser *p, size_t at,
                          struct lc__cql2_node **out)
{
    struct lc__cql2_node *node = new_node(p, LC__CQL2_INTERVAL, at);
    if (node == NULL)
        return LC_ENOMEM;
    node->args = lc__arena_calloc(&p->b->tree->arena, 2, sizeof(*node->args));
    LC_RETURN_IF(node->args == NULL, p->b->err, LC_ENOMEM,
                 "CQL2: out of memory");
    LC_FORWARD_IF_ERROR(expect(p, TOK_LPAREN, "'('"));
    for (int i = 0; i < 2; i++) {
        if (i == 1)
            LC_FORWARD_IF_ERROR(expect(p, TOK_COMMA, "','"));
        struct lc__cql2_node *end;
        if (p->tok.type == TOK_STRING) {
            LC_FORWARD_IF_ERROR(instant_string(p, LC__CQL2_OPEN, &end));
        } else {
            struct token start = p->tok;
            LC_FORWARD_IF_ERROR(parse_unary(p, &end));
            if (end->kind != LC__CQL2_PROPERTY &&
                end->kind != LC__CQL2_FUNCTION && end->kind != LC__CQL2_DATE &&
                end->kind != LC__CQL2_TIMESTAMP) {
                p->tok = start;
                return fail(p, "a date, a timestamp, '..', a property or "
                               "a function");
            }
        }
        node->args[i] = end;
    }
    node->nargs = 2;
    *out = node;
    return expect(p, TOK_RPAREN, "')'");
}

static int parse_bbox(struct parser *p, size_t at, struct lc__cql2_node **out)
{
    struct lc__cql2_node *node = new_node(p, LC__CQL2_BBOX, at);
    if (node == NULL)
        return LC_ENOMEM;
    LC_FORWARD_IF_ERROR(expect(p, TOK_LPAREN, "'('"));
    for (;;) {
        bool neg = false;
        while (p->tok.type == TOK_MINUS || p->tok.type == TOK_PLUS) {
            neg ^= p->tok.type == TOK_MINUS;
            next(p);
        }
        if (p->tok.type != TOK_NUMBER)
            return fail(p, "a number");
        struct lc__cql2_node *num;
        LC_FORWARD_IF_ERROR(number_node(p, &num));
        if (node->nbbox == 6)
            return lc__cql2_syntax(p->b, num->offset,
                                   "')' (a BBOX has 4 "
                                   "or 6 numbers)",
                                   "a seventh number");
        node->bbox[node->nbbox++] = neg ? -num->num : num->num;
        if (p->tok.type == TOK_RPAREN)
            break;
        LC_FORWARD_IF_ERROR(expect(p, TOK_COMMA, "',' or ')'"));
    }
    if (node->nbbox != 4 && node->nbbox != 6)
        return fail(p, "',' (a BBOX has 4 or 6 numbers)");
    next(p);
    LC_FORWARD_IF_ERROR(lc__cql2_bbox_geom(p->b, node));
    *out = node;
    return LC_OK;
}

/* A WKT type name (POINT, POINTZ...) followed by what starts its body. */
static bool at_geometry(struct parser *p)
{
    static const char *const names[] = {
        "POINT",           "LINESTRING",   "POLYGON",           "MULTIPOINT",
        "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION"};
    const struct token *t = &p->tok;
    if (t->type != TOK_IDENT)
        return false;
    bool named = false;
    for (size_t i = 0; i < LC_ARRAY_SIZE(names) && !named; i++) {
        size_t k = strlen(names[i]);
        size_t n = t->end - t->start;
        if (n < k || n > k + 2)
            continue;
        struct token head = {TOK_IDENT, t->start, t->start + k};
        struct token tail = {TOK_IDENT, t->start + k, t->end};
        named = is_word(p, &head, names[i]) &&
                (n == k || is_word(p, &tail, "Z") || is_word(p, &tail, "M") ||
                 is_word(p, &tail, "ZM"));
    }
    if (!named)
        return false;
    struct token after = lex_at(p, t->end);
    return after.type == TOK_LPAREN || is_word(p, &after, "Z") ||
           is_word(p, &after, "M") || is_word(p, &after, "ZM") ||
           is_word(p, &after, "EMPTY");
}

static int parse_geometry(struct parser *p, struct lc__cql2_node **out)
{
    size_t at = p->tok.start;
    struct lc__geom_limits limits = {.max_depth = p->b->max_depth};
    struct lc__text_error syn = {0};
    struct lc__errbuf gerr = {0};
    size_t used = 0;
    struct lc__cql2_node *node = new_node(p, LC__CQL2_GEOMETRY, at);
    if (node == NULL)
        return LC_ENOMEM;
    int rc = lc__geom_from_wkt(&p->b->tree->arena, p->s + at, p->len - at,
                               &limits, &used, &node->geom, &syn, &gerr);
    if (rc == LC_EINVAL) {
        char found[64];
        struct token t = lex_at(p, at + syn.offset);
        describe(p, &t, found, sizeof(found));
        return lc__cql2_syntax(p->b, at + syn.offset, syn.expected, found);
    }
    if (rc < 0)
        return lc__error(p->b->err, rc, "CQL2 text: geometry at byte %zu: %s",
                         at, gerr.msg);
    p->pos = at + used;
    next(p);
    *out = node;
    return LC_OK;
}

/* A call of the function name[0..len), the current token, followed by
 * '(': its arguments, then the node. at: where the name starts. */
static int parse_call(struct parser *p, const char *name, size_t len, size_t at,
                      struct lc__cql2_node **out)
{
    next(p); /* the name */
    next(p); /* '(' */
    LC_FORWARD_IF_ERROR(enter(p));
    struct node_list l = {0};
    LC_FORWARD_IF_ERROR(parse_list(p, &l, true));
    p->depth--;
    return lc__cql2_call(p->b, name, len, l.items, l.n, at, out);
}

static int parse_primary(struct parser *p, struct lc__cql2_node **out)
{
    struct token t = p->tok;
    size_t at = t.start;

    switch (t.type) {
    case TOK_NUMBER:
        return number_node(p, out);
    case TOK_STRING: {
        struct lc__cql2_node *n = new_node(p, LC__CQL2_STRING, at);
        if (n == NULL)
            return LC_ENOMEM;
        LC_FORWARD_IF_ERROR(string_value(p, &t, &n->str, &n->len));
        next(p);
        *out = n;
        return LC_OK;
    }
    case TOK_QIDENT:
        if (t.end == t.start) {
            char expected[96];
            (void)snprintf(expected, sizeof(expected),
                           "a closing '\"' for the name opened at byte %zu",
                           at);
            return lc__cql2_syntax(p->b, p->len, expected, "end of input");
        }
        if (lex_at(p, t.end).type == TOK_LPAREN) {
            /* A quoted function name ("-f"(x)), as the grammar allows and
             * as names from CQL2-JSON are written. */
            return parse_call(p, p->s + at + 1, t.end - at - 2, at, out);
        }
        LC_FORWARD_IF_ERROR(
            lc__cql2_property(p->b, p->s + at + 1, t.end - at - 2, at, out));
        next(p);
        return LC_OK;
    case TOK_LPAREN: {
        next(p);
        LC_FORWARD_IF_ERROR(enter(p));
        struct node_list l = {0};
        LC_FORWARD_IF_ERROR(parse_list(p, &l, false));
        p->depth--;
        if (l.n == 1) {
            l.items[0]->parenthesized = true;
            *out = l.items[0];
            return LC_OK;
        }
        struct lc__cql2_node *a = new_node(p, LC__CQL2_ARRAY, at);
        if (a == NULL)
            return LC_ENOMEM;
        a->args = l.items;
        a->nargs = l.n;
        *out = a;
        return LC_OK;
    }
    case TOK_IDENT:
        break;
    case TOK_EOF:
    case TOK_RPAREN:
    case TOK_COMMA:
    case TOK_EQ:
    case TOK_NE:
    case TOK_LT:
    case TOK_LE:
    case TOK_GT:
    case TOK_GE:
    case TOK_PLUS:
    case TOK_MINUS:
    case TOK_STAR:
    case TOK_SLASH:
    case TOK_PERCENT:
    case TOK_CARET:
    case TOK_BAD:
        return fail(p, "a property, a literal, a function or '('");
    }

    /* Names: keywords, literals with a name, calls, properties. */
    struct token after = lex_at(p, t.end);
    bool call = after.type == TOK_LPAREN;
    if (at_word(p, "TRUE") || at_word(p, "FALSE")) {
        struct lc__cql2_node *n = new_node(p, LC__CQL2_BOOL, at);
        if (n == NULL)
            return LC_ENOMEM;
        n->b = at_word(p, "TRUE");
        next(p);
        *out = n;
        return LC_OK;
    }
    if (at_word(p, "NULL")) {
        *out = new_node(p, LC__CQL2_NULL, at);
        if (*out == NULL)
            return LC_ENOMEM;
        next(p);
        return LC_OK;
    }
    if (call && at_word(p, "DATE")) {
        next(p);
        return parse_instant(p, LC__CQL2_DATE, out);
    }
    if (call && at_word(p, "TIMESTAMP")) {
        next(p);
        return parse_instant(p, LC__CQL2_TIMESTAMP, out);
    }
    if (call && at_word(p, "INTERVAL")) {
        next(p);
        return parse_interval(p, at, out);
    }
    if (call && at_word(p, "BBOX")) {
        next(p);
        return parse_bbox(p, at, out);
    }
    if (at_geometry(p))
        return parse_geometry(p, out);
    /* Operators written as calls are fine (like(x, 'a%'), in(x, ...)),
     * but a keyword is no property. */
    if (is_reserved(p, &t) &&
        !(call && (at_word(p, "LIKE") || at_word(p, "IN") ||
                   at_word(p, "BETWEEN") || at_word(p, "DIV"))))
        return fail(p, "a property, a literal, a function or '('");
    if (call)
        return parse_call(p, p->s + at, t.end - at, at, out);
    LC_FORWARD_IF_ERROR(
        lc__cql2_property(p->b, p->s + at, t.end - at, at, out));
    next(p);
    return LC_OK;
}

static int parse_unary(struct parser *p, struct lc__cql2_node **out)
{
    if (p->tok.type != TOK_MINUS && p->tok.type != TOK_PLUS)
        return parse_primary(p, out);
    bool minus = p->tok.type == TOK_MINUS;
    size_t at = p->tok.start;
    next(p);
    LC_FORWARD_IF_ERROR(enter(p));
    struct lc__cql2_node *operand;
    LC_FORWARD_IF_ERROR(parse_unary(p, &operand));
    p->depth--;
    if (!minus) {
        *out = operand;
        return LC_OK;
    }
    if (operand->kind == LC__CQL2_NUMBER) {
        negate(operand);
        operand->offset = at;
        *out = operand;
        return LC_OK;
    }
    struct lc__cql2_node *m1 = new_node(p, LC__CQL2_NUMBER, at);
    if (m1 == NULL)
        return LC_ENOMEM;
    m1->num = -1;
    m1->i64 = -1;
    m1->is_int = true;
    return op2(p, LC__CQL2_MUL, m1, operand, at, out);
}

static int parse_power(struct parser *p, struct lc__cql2_node **out)
{
    LC_FORWARD_IF_ERROR(parse_unary(p, out));
    while (p->tok.type == TOK_CARET) {
        size_t at = p->tok.start;
        next(p);
        struct lc__cql2_node *rhs;
        LC_FORWARD_IF_ERROR(parse_unary(p, &rhs));
        LC_FORWARD_IF_ERROR(op2(p, LC__CQL2_POW, *out, rhs, at, out));
    }
    return LC_OK;
}

static int parse_multiplicative(struct parser *p, struct lc__cql2_node **out)
{
    LC_FORWARD_IF_ERROR(parse_power(p, out));
    for (;;) {
        enum lc__cql2_op op;
        if (p->tok.type == TOK_STAR)
            op = LC__CQL2_MUL;
        else if (p->tok.type == TOK_SLASH)
            op = LC__CQL2_DIV;
        else if (p->tok.type == TOK_PERCENT)
            op = LC__CQL2_MOD;
        else if (at_word(p, "DIV"))
            op = LC__CQL2_INTDIV;
        else
            return LC_OK;
        size_t at = p->tok.start;
        next(p);
        struct lc__cql2_node *rhs;
        LC_FORWARD_IF_ERROR(parse_power(p, &rhs));
        LC_FORWARD_IF_ERROR(op2(p, op, *out, rhs, at, out));
    }
}

static int parse_additive(struct parser *p, struct lc__cql2_node **out)
{
    LC_FORWARD_IF_ERROR(parse_multiplicative(p, out));
    while (p->tok.type == TOK_PLUS || p->tok.type == TOK_MINUS) {
        enum lc__cql2_op op =
            p->tok.type == TOK_PLUS ? LC__CQL2_ADD : LC__CQL2_SUB;
        size_t at = p->tok.start;
        next(p);
        struct lc__cql2_node *rhs;
        LC_FORWARD_IF_ERROR(parse_multiplicative(p, &rhs));
        LC_FORWARD_IF_ERROR(op2(p, op, *out, rhs, at, out));
    }
    return LC_OK;
}

static int parse_predicate(struct parser *p, struct lc__cql2_node **out)
{
    struct lc__cql2_node *lhs;
    LC_FORWARD_IF_ERROR(parse_additive(p, &lhs));
    *out = lhs;

    size_t at = p->tok.start;
    enum lc__cql2_op cmp = LC__CQL2_OP_COUNT;
    switch (p->tok.type) {
    case TOK_EQ:
        cmp = LC__CQL2_EQ;
        break;
    case TOK_NE:
        cmp = LC__CQL2_NE;
        break;
    case TOK_LT:
        cmp = LC__CQL2_LT;
        break;
    case TOK_LE:
        cmp = LC__CQL2_LE;
        break;
    case TOK_GT:
        cmp = LC__CQL2_GT;
        break;
    case TOK_GE:
        cmp = LC__CQL2_GE;
        break;
    case TOK_EOF:
    case TOK_IDENT:
    case TOK_QIDENT:
    case TOK_STRING:
    case TOK_NUMBER:
    case TOK_LPAREN:
    case TOK_RPAREN:
    case TOK_COMMA:
    case TOK_PLUS:
    case TOK_MINUS:
    case TOK_STAR:
    case TOK_SLASH:
    case TOK_PERCENT:
    case TOK_CARET:
    case TOK_BAD:
        cmp = LC__CQL2_OP_COUNT;
        break;
    }
    if (cmp != LC__CQL2_OP_COUNT) {
        next(p);
        struct lc__cql2_node *rhs;
        LC_FORWARD_IF_ERROR(parse_additive(p, &rhs));
        return op2(p, cmp, lhs, rhs, at, out);
    }

    if (at_word(p, "IS")) {
        next(p);
        bool negated = at_word(p, "NOT");
        if (negated)
            next(p);
        if (!at_word(p, "NULL"))
            return fail(p, negated ? "NULL" : "NULL or NOT NULL");
        next(p);
        LC_FORWARD_IF_ERROR(op2(p, LC__CQL2_ISNULL, lhs, NULL, at, out));
        if (negated)
            LC_FORWARD_IF_ERROR(op2(p, LC__CQL2_NOT, *out, NULL, at, out));
        return LC_OK;
    }

    bool negated = false;
    if (at_word(p, "NOT")) {
        struct token t = lex_at(p, p->tok.end);
        if (!is_word(p, &t, "LIKE") && !is_word(p, &t, "BETWEEN") &&
            !is_word(p, &t, "IN")) {
            next(p);
            return fail(p, "LIKE, BETWEEN or IN after NOT");
        }
        negated = true;
        next(p);
    }
    if (at_word(p, "LIKE")) {
        next(p);
        struct lc__cql2_node *pat;
        LC_FORWARD_IF_ERROR(parse_additive(p, &pat));
        LC_FORWARD_IF_ERROR(op2(p, LC__CQL2_LIKE, lhs, pat, at, out));
    } else if (at_word(p, "BETWEEN")) {
        next(p);
        struct lc__cql2_node *args[3] = {lhs, NULL, NULL};
        LC_FORWARD_IF_ERROR(parse_additive(p, &args[1]));
        if (!at_word(p, "AND"))
            return fail(p, "AND (of BETWEEN ... AND ...)");
        next(p);
        LC_FORWARD_IF_ERROR(parse_additive(p, &args[2]));
        LC_FORWARD_IF_ERROR(
            lc__cql2_op_node(p->b, LC__CQL2_BETWEEN, args, 3, at, out));
    } else if (at_word(p, "IN")) {
        next(p);
        size_t list_at = p->tok.start;
        LC_FORWARD_IF_ERROR(expect(p, TOK_LPAREN, "'(' (a list of values)"));
        LC_FORWARD_IF_ERROR(enter(p));
        struct node_list l = {0};
        LC_FORWARD_IF_ERROR(parse_list(p, &l, false));
        p->depth--;
        struct lc__cql2_node *a = new_node(p, LC__CQL2_ARRAY, list_at);
        if (a == NULL)
            return LC_ENOMEM;
        a->args = l.items;
        a->nargs = l.n;
        LC_FORWARD_IF_ERROR(op2(p, LC__CQL2_IN, lhs, a, at, out));
    } else {
        return LC_OK;
    }
    if (negated)
        LC_FORWARD_IF_ERROR(op2(p, LC__CQL2_NOT, *out, NULL, at, out));
    return LC_OK;
}

static int parse_not(struct parser *p, struct lc__cql2_node **out)
{
    if (!at_word(p, "NOT"))
        return parse_predicate(p, out);
    size_t at = p->tok.start;
    next(p);
    LC_FORWARD_IF_ERROR(enter(p));
    struct lc__cql2_node *operand;
    LC_FORWARD_IF_ERROR(parse_not(p, &operand));
    p->depth--;
    return op2(p, LC__CQL2_NOT, operand, NULL, at, out);
}

/* A chain "x OP y OP z" of AND or OR, collected into one node (building
 * it pairwise would copy the list once per operand). */
static int parse_chain(struct parser *p, const char *word, enum lc__cql2_op op,
                       int (*operand)(struct parser *, struct lc__cql2_node **),
                       struct lc__cql2_node **out)
{
    LC_FORWARD_IF_ERROR(operand(p, out));
    if (!at_word(p, word))
        return LC_OK;
    struct node_list l = {0};
    LC_FORWARD_IF_ERROR(list_push(p, &l, *out));
    while (at_word(p, word)) {
        next(p);
        struct lc__cql2_node *rhs;
        LC_FORWARD_IF_ERROR(operand(p, &rhs));
        LC_FORWARD_IF_ERROR(list_push(p, &l, rhs));
    }
    return lc__cql2_op_node(p->b, op, l.items, l.n, l.items[0]->offset, out);
}

static int parse_and(struct parser *p, struct lc__cql2_node **out)
{
    return parse_chain(p, "AND", LC__CQL2_AND, parse_not, out);
}

static int parse_or(struct parser *p, struct lc__cql2_node **out)
{
    LC_FORWARD_IF_ERROR(enter(p));
    LC_FORWARD_IF_ERROR(parse_chain(p, "OR", LC__CQL2_OR, parse_and, out));
    p->depth--;
    return LC_OK;
}

int lc__cql2_parse_text(const char *text, size_t len,
                        const struct lc__cql2_options *opts,
                        struct lc__cql2 **out,
                        struct lc__cql2_syntax_error *syntax,
                        struct lc__errbuf *err)
{
    struct lc__cql2_builder b;
    LC_RETURN_IF(out == NULL || (text == NULL && len > 0), err, LC_EINVAL,
                 "CQL2 text: NULL argument");
    LC_FORWARD_IF_ERROR(lc__cql2_builder_init(&b, opts, syntax, err));
    b.text = text != NULL ? text : "";
    b.text_len = len;
    struct parser p = {.b = &b, .s = text != NULL ? text : "", .len = len};
    int rc;
    if (len > b.max_text_nbytes) {
        rc = lc__error(err, LC_ELIMIT,
                       "CQL2 text: %zu bytes (at most %zu allowed)", len,
                       b.max_text_nbytes);
        goto fail;
    }
    next(&p);
    if (p.tok.type == TOK_EOF) {
        rc = fail(&p, "an expression");
        goto fail;
    }
    rc = parse_or(&p, &b.tree->root);
    if (rc < 0)
        goto fail;
    if (p.tok.type != TOK_EOF) {
        rc = fail(&p, p.tok.type == TOK_RPAREN
                          ? "the end of input (this ')' closes nothing)"
                          : "an operator, AND, OR or the end of input");
        goto fail;
    }
    *out = b.tree;
    return LC_OK;
fail:
    lc__cql2_free(b.tree);
    return rc;
}

/* ---- writer ------------------------------------------------------------ */

static void put_number(const struct lc__cql2_node *n, struct lc__strbuf *sb)
{
    if (n->is_int &&
        (n->i64 >= (INT64_C(1) << 53) || n->i64 <= -(INT64_C(1) << 53)))
        lc__strbuf_printf(sb, "%" PRId64, n->i64);
    else
        lc__strbuf_double_plain(sb, n->num);
}

static void put_string(const char *s, size_t len, struct lc__strbuf *sb)
{
    lc__strbuf_putc(sb, '\'');
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\'') {
            lc__strbuf_append(sb, s + start, i + 1 - start);
            lc__strbuf_putc(sb, '\'');
            start = i + 1;
        }
    }
    lc__strbuf_append(sb, s + start, len - start);
    lc__strbuf_putc(sb, '\'');
}

/* Whether the text parser reads name "(" as something other than a call:
 * a literal (DATE, TIMESTAMP, INTERVAL, BBOX) or a geometry ("POINT(",
 * "POLYGONZ("). A function of that name from CQL2-JSON must be quoted. */
static bool is_call_keyword(const char *s, size_t len)
{
    static const char *const words[] = {"DATE", "TIMESTAMP", "INTERVAL",
                                        "BBOX"};
    char buf[32];
    if (len + 1 >= sizeof(buf))
        return false; /* longer than any of them */
    memcpy(buf, s, len);
    buf[len] = '(';
    struct parser p = {.s = buf, .len = len + 1};
    p.tok = (struct token){TOK_IDENT, 0, len};
    for (size_t i = 0; i < LC_ARRAY_SIZE(words); i++)
        if (is_word(&p, &p.tok, words[i]))
            return true;
    return at_geometry(&p);
}

/* A name as written: bare when it reads back as this property (or
 * function), else double-quoted. A property name that itself starts with
 * "properties." (from "properties.properties.x") gets the prefix the
 * parser drops. */
static void put_name(const char *s, size_t len, bool property,
                     struct lc__strbuf *sb)
{
    bool bare = len > 0 && ident_start(s[0]) && (unsigned char)s[0] < 0x80;
    for (size_t i = 1; i < len && bare; i++)
        bare = ident_part(s[i]) && (unsigned char)s[i] < 0x80;
    if (bare) {
        struct parser p = {.s = s, .len = len};
        struct token t = {TOK_IDENT, 0, len};
        bare = !is_reserved(&p, &t) && (property || !is_call_keyword(s, len));
    }
    if (!bare)
        lc__strbuf_putc(sb, '"');
    if (property && len > 11 && memcmp(s, "properties.", 11) == 0)
        lc__strbuf_puts(sb, "properties.");
    lc__strbuf_append(sb, s, len);
    if (!bare)
        lc__strbuf_putc(sb, '"');
}

static void put_node(const struct lc__cql2_node *n, struct lc__strbuf *sb);

static int prec_of(const struct lc__cql2_node *n)
{
    return n->kind == LC__CQL2_OP ? (int)lc__cql2_op_info(n->op)->prec
                                  : LC__CQL2_PREC_ATOM;
}

/* The precedence operand i of op must have to go without parentheses
 * (cql2-rs precedence.rs: associative AND/OR/NOT, left-associative
 * arithmetic, non-associative predicates). */
static int required_prec(enum lc__cql2_op op, size_t i)
{
    int p = (int)lc__cql2_op_info(op)->prec;
    switch (p) {
    case LC__CQL2_PREC_ATOM:
        return 0;
    case LC__CQL2_PREC_OR:
    case LC__CQL2_PREC_AND:
    case LC__CQL2_PREC_NOT:
        return p;
    case LC__CQL2_PREC_ADDITIVE:
    case LC__CQL2_PREC_MULTIPLICATIVE:
    case LC__CQL2_PREC_POWER:
        return i == 0 ? p : p + 1;
    default:
        return p + 1;
    }
}

static void put_operand(const struct lc__cql2_node *op, size_t i,
                        struct lc__strbuf *sb)
{
    const struct lc__cql2_node *a = op->args[i];
    bool parens = prec_of(a) < required_prec(op->op, i);
    if (parens)
        lc__strbuf_putc(sb, '(');
    put_node(a, sb);
    if (parens)
        lc__strbuf_putc(sb, ')');
}

static void put_args(const struct lc__cql2_node *n, const char *sep,
                     struct lc__strbuf *sb)
{
    for (size_t i = 0; i < n->nargs; i++) {
        if (i > 0)
            lc__strbuf_puts(sb, sep);
        put_node(n->args[i], sb);
    }
}

static void put_instant(const struct lc__cql2_node *n, struct lc__strbuf *sb)
{
    char buf[LC__CQL2_TIME_CAP];
    if (n->kind == LC__CQL2_DATE)
        lc__cql2_format_date(n->us, buf);
    else
        lc__cql2_format_timestamp(n->us, buf);
    lc__strbuf_putc(sb, '\'');
    lc__strbuf_puts(sb, buf);
    lc__strbuf_putc(sb, '\'');
}

static void put_op(const struct lc__cql2_node *n, struct lc__strbuf *sb)
{
    const struct lc__cql2_op_info *info = lc__cql2_op_info(n->op);
    switch (n->op) {
    case LC__CQL2_NOT:
        lc__strbuf_puts(sb, "NOT ");
        put_operand(n, 0, sb);
        return;
    case LC__CQL2_ISNULL:
        put_operand(n, 0, sb);
        lc__strbuf_puts(sb, " IS NULL");
        return;
    case LC__CQL2_BETWEEN:
        put_operand(n, 0, sb);
        lc__strbuf_puts(sb, " BETWEEN ");
        put_operand(n, 1, sb);
        lc__strbuf_puts(sb, " AND ");
        put_operand(n, 2, sb);
        return;
    case LC__CQL2_AND:
    case LC__CQL2_OR:
    case LC__CQL2_EQ:
    case LC__CQL2_NE:
    case LC__CQL2_LT:
    case LC__CQL2_LE:
    case LC__CQL2_GT:
    case LC__CQL2_GE:
    case LC__CQL2_LIKE:
    case LC__CQL2_IN:
    case LC__CQL2_ADD:
    case LC__CQL2_SUB:
    case LC__CQL2_MUL:
    case LC__CQL2_DIV:
    case LC__CQL2_MOD:
    case LC__CQL2_POW:
        for (size_t i = 0; i < n->nargs; i++) {
            if (i > 0)
                lc__strbuf_puts(sb, info->infix);
            put_operand(n, i, sb);
        }
        return;
    case LC__CQL2_CASEI:
    case LC__CQL2_ACCENTI:
    case LC__CQL2_INTDIV:
    case LC__CQL2_S_INTERSECTS:
    case LC__CQL2_S_EQUALS:
    case LC__CQL2_S_DISJOINT:
    case LC__CQL2_S_TOUCHES:
    case LC__CQL2_S_WITHIN:
    case LC__CQL2_S_OVERLAPS:
    case LC__CQL2_S_CROSSES:
    case LC__CQL2_S_CONTAINS:
    case LC__CQL2_T_AFTER:
    case LC__CQL2_T_BEFORE:
    case LC__CQL2_T_CONTAINS:
    case LC__CQL2_T_DISJOINT:
    case LC__CQL2_T_DURING:
    case LC__CQL2_T_EQUALS:
    case LC__CQL2_T_FINISHEDBY:
    case LC__CQL2_T_FINISHES:
    case LC__CQL2_T_INTERSECTS:
    case LC__CQL2_T_MEETS:
    case LC__CQL2_T_METBY:
    case LC__CQL2_T_OVERLAPPEDBY:
    case LC__CQL2_T_OVERLAPS:
    case LC__CQL2_T_STARTEDBY:
    case LC__CQL2_T_STARTS:
    case LC__CQL2_A_EQUALS:
    case LC__CQL2_A_CONTAINS:
    case LC__CQL2_A_CONTAINEDBY:
    case LC__CQL2_A_OVERLAPS:
    case LC__CQL2_OP_COUNT:
        break;
    }
    lc__strbuf_puts(sb, info->name);
    lc__strbuf_putc(sb, '(');
    put_args(n, ", ", sb);
    lc__strbuf_putc(sb, ')');
}

static void put_node(const struct lc__cql2_node *n, struct lc__strbuf *sb)
{
    char buf[LC__CQL2_TIME_CAP];
    switch (n->kind) {
    case LC__CQL2_NULL:
        lc__strbuf_puts(sb, "NULL");
        return;
    case LC__CQL2_BOOL:
        lc__strbuf_puts(sb, n->b ? "true" : "false");
        return;
    case LC__CQL2_NUMBER:
        put_number(n, sb);
        return;
    case LC__CQL2_STRING:
        put_string(n->str, n->len, sb);
        return;
    case LC__CQL2_DATE:
        lc__cql2_format_date(n->us, buf);
        lc__strbuf_printf(sb, "DATE('%s')", buf);
        return;
    case LC__CQL2_TIMESTAMP:
        lc__cql2_format_timestamp(n->us, buf);
        lc__strbuf_printf(sb, "TIMESTAMP('%s')", buf);
        return;
    case LC__CQL2_OPEN:
        lc__strbuf_puts(sb, "'..'");
        return;
    case LC__CQL2_INTERVAL:
        lc__strbuf_puts(sb, "INTERVAL(");
        for (size_t i = 0; i < n->nargs; i++) {
            const struct lc__cql2_node *e = n->args[i];
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            if (e->kind == LC__CQL2_DATE || e->kind == LC__CQL2_TIMESTAMP)
                put_instant(e, sb);
            else
                put_node(e, sb);
        }
        lc__strbuf_putc(sb, ')');
        return;
    case LC__CQL2_GEOMETRY:
        lc__geom_to_wkt(n->geom, sb);
        return;
    case LC__CQL2_BBOX:
        lc__strbuf_puts(sb, "BBOX(");
        for (size_t i = 0; i < n->nbbox; i++) {
            if (i > 0)
                lc__strbuf_puts(sb, ", ");
            lc__strbuf_double_plain(sb, n->bbox[i]);
        }
        lc__strbuf_putc(sb, ')');
        return;
    case LC__CQL2_ARRAY:
        lc__strbuf_putc(sb, '(');
        put_args(n, ", ", sb);
        lc__strbuf_putc(sb, ')');
        return;
    case LC__CQL2_PROPERTY:
        put_name(n->str, n->len, true, sb);
        return;
    case LC__CQL2_FUNCTION:
        /* CQL2-JSON may name a function anything ("-f"): quoted then. */
        put_name(n->str, n->len, false, sb);
        lc__strbuf_putc(sb, '(');
        put_args(n, ", ", sb);
        lc__strbuf_putc(sb, ')');
        return;
    case LC__CQL2_OP:
        put_op(n, sb);
        return;
    }
}

void lc__cql2_to_text(const struct lc__cql2 *tree, struct lc__strbuf *sb)
{
    put_node(tree->root, sb);
}
