/* cql2_eval.c - evaluates a CQL2 tree on one record, three-valued. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>

#include "cql2_internal.h"

/*
 * Evaluation walks the tree once per record. Every node yields a value
 * (struct lc__cql2_value); predicates yield TBOOL, or TNULL for UNKNOWN,
 * which is how NULL propagates: a comparison with a TNULL operand is
 * TNULL, NOT TNULL is TNULL, and AND/OR follow Kleene's logic. The rules
 * are stated in full above lc__cql2_eval in cql2.h.
 *
 * Values computed on the way (lower-cased strings, array literals,
 * intervals) live in a scratch arena that takes memory only when one of
 * them is needed and is freed before returning; strings, geometries and
 * arrays the accessor returns are borrowed.
 */

struct ev {
    const struct lc__cql2 *tree;
    lc__cql2_get_fn get;
    void *record;
    const struct lc_allocator *alloc;
    struct lc__arena scratch;
    struct lc__errbuf *err;
};

enum tv { TV_FALSE, TV_TRUE, TV_UNKNOWN };

static void set_null(struct lc__cql2_value *v)
{
    memset(v, 0, sizeof(*v));
    v->type = LC__CQL2_TNULL;
}

static void set_bool(struct lc__cql2_value *v, bool b)
{
    memset(v, 0, sizeof(*v));
    v->type = LC__CQL2_TBOOL;
    v->b = b;
}

static void set_tv(struct lc__cql2_value *v, enum tv t)
{
    if (t == TV_UNKNOWN)
        set_null(v);
    else
        set_bool(v, t == TV_TRUE);
}

static enum tv truth(const struct lc__cql2_value *v)
{
    if (v->type != LC__CQL2_TBOOL)
        return TV_UNKNOWN;
    return v->b ? TV_TRUE : TV_FALSE;
}

static enum tv tv_and(enum tv a, enum tv b)
{
    if (a == TV_FALSE || b == TV_FALSE)
        return TV_FALSE;
    if (a == TV_UNKNOWN || b == TV_UNKNOWN)
        return TV_UNKNOWN;
    return TV_TRUE;
}

static enum tv tv_of(bool b)
{
    return b ? TV_TRUE : TV_FALSE;
}

static int eval(struct ev *e, const struct lc__cql2_node *n,
                struct lc__cql2_value *out);

/* ---- comparisons ------------------------------------------------------- */

static double num_of(const struct lc__cql2_value *v)
{
    return v->is_int ? (double)v->i64 : v->num;
}

/* One day, in microseconds. */
#define DAY_US INT64_C(86400000000)

static bool is_temporal(const struct lc__cql2_value *v)
{
    return v->type == LC__CQL2_TTIMESTAMP || v->type == LC__CQL2_TDATE ||
           v->type == LC__CQL2_TINTERVAL;
}

/*
 * The span of time a value stands for, as a closed interval [*s, *e]: an
 * instant is [t, t]; a date is its whole day, [00:00, 24:00 - 1 us] UTC
 * (CQL2 dates have the granularity of a day); an interval its ends; a
 * string holding an RFC 3339 date or timestamp the same as that literal.
 */
static bool time_range(const struct lc__cql2_value *v, int64_t *s, int64_t *e)
{
    bool is_date;
    switch (v->type) {
    case LC__CQL2_TTIMESTAMP:
        *s = *e = v->us;
        return true;
    case LC__CQL2_TDATE:
        *s = v->us;
        *e = v->us + DAY_US - 1;
        return true;
    case LC__CQL2_TINTERVAL:
        *s = v->start_us;
        *e = v->end_us;
        return true;
    case LC__CQL2_TSTRING:
        if (!lc__cql2_parse_instant(v->str, v->len, &is_date, s))
            return false;
        *e = is_date ? *s + DAY_US - 1 : *s;
        return true;
    case LC__CQL2_TNULL:
    case LC__CQL2_TBOOL:
    case LC__CQL2_TNUMBER:
    case LC__CQL2_TGEOMETRY:
    case LC__CQL2_TARRAY:
    case LC__CQL2_TJSON:
        break;
    }
    return false;
}

/* Orders an int64 and a double exactly (converting the int64 to a double
 * would round it above 2^53). */
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

/* Orders a and b into *c (-1, 0, 1); false when they do not compare. */
static bool compare(const struct lc__cql2_value *a,
                    const struct lc__cql2_value *b, int *c)
{
    if (a->type == LC__CQL2_TNUMBER && b->type == LC__CQL2_TNUMBER) {
        if (a->is_int && b->is_int)
            *c = (a->i64 > b->i64) - (a->i64 < b->i64);
        else if (a->is_int)
            *c = cmp_int_double(a->i64, b->num);
        else if (b->is_int)
            *c = -cmp_int_double(b->i64, a->num);
        else
            *c = (a->num > b->num) - (a->num < b->num);
        return true;
    }
    if (a->type == LC__CQL2_TSTRING && b->type == LC__CQL2_TSTRING) {
        size_t n = a->len < b->len ? a->len : b->len;
        int r = n > 0 ? memcmp(a->str, b->str, n) : 0;
        if (r == 0)
            r = (a->len > b->len) - (a->len < b->len);
        *c = (r > 0) - (r < 0);
        return true;
    }
    if (a->type == LC__CQL2_TBOOL && b->type == LC__CQL2_TBOOL) {
        *c = (int)a->b - (int)b->b;
        return true;
    }
    /* Time: a string counts when the other side is a time. Spans compare
     * as wholes: before when a ends before b starts, after when a starts
     * after b ends, equal when they share an instant (so an instant equals
     * the date of its day, and dates and instants order as SQL's do where
     * they do not overlap). */
    int64_t as, ae, bs, be;
    if (!(is_temporal(a) || is_temporal(b)) ||
        (a->type == LC__CQL2_TSTRING && !is_temporal(b)) ||
        (b->type == LC__CQL2_TSTRING && !is_temporal(a)) ||
        !time_range(a, &as, &ae) || !time_range(b, &bs, &be))
        return false;
    *c = ae < bs ? -1 : as > be ? 1 : 0;
    return true;
}

static enum tv compare_tv(enum lc__cql2_op op, const struct lc__cql2_value *a,
                          const struct lc__cql2_value *b)
{
    int c;
    if (a->type == LC__CQL2_TNULL || b->type == LC__CQL2_TNULL ||
        !compare(a, b, &c))
        return TV_UNKNOWN;
    /* Each helper below handles a subset of the operators: switching on
     * the int keeps -Wswitch-enum for the switches meant to be complete. */
    switch ((int)op) {
    case LC__CQL2_EQ:
        return tv_of(c == 0);
    case LC__CQL2_NE:
        return tv_of(c != 0);
    case LC__CQL2_LT:
        return tv_of(c < 0);
    case LC__CQL2_LE:
        return tv_of(c <= 0);
    case LC__CQL2_GT:
        return tv_of(c > 0);
    case LC__CQL2_GE:
        return tv_of(c >= 0);
    default:
        return TV_UNKNOWN;
    }
}

/* ---- arrays ------------------------------------------------------------ */

/* Whether x is an element of arr: TRUE, FALSE, or UNKNOWN when no element
 * equals x but x or some element is NULL. Values of different types are
 * simply different. */
static enum tv element_of(const struct lc__cql2_value *x,
                          const struct lc__cql2_value *arr)
{
    if (x->type == LC__CQL2_TNULL)
        return TV_UNKNOWN;
    bool unknown = false;
    for (size_t i = 0; i < arr->nitems; i++) {
        const struct lc__cql2_value *y = &arr->items[i];
        int c;
        if (y->type == LC__CQL2_TNULL)
            unknown = true;
        else if (compare(x, y, &c) && c == 0)
            return TV_TRUE;
    }
    return unknown ? TV_UNKNOWN : TV_FALSE;
}

/* Every element of b is in a. */
static enum tv array_contains(const struct lc__cql2_value *a,
                              const struct lc__cql2_value *b)
{
    enum tv r = TV_TRUE;
    for (size_t i = 0; i < b->nitems && r != TV_FALSE; i++)
        r = tv_and(r, element_of(&b->items[i], a));
    return r;
}

static enum tv array_op(enum lc__cql2_op op, const struct lc__cql2_value *a,
                        const struct lc__cql2_value *b)
{
    if (a->type != LC__CQL2_TARRAY || b->type != LC__CQL2_TARRAY)
        return TV_UNKNOWN;
    switch ((int)op) {
    case LC__CQL2_A_EQUALS:
        return tv_and(array_contains(a, b), array_contains(b, a));
    case LC__CQL2_A_CONTAINS:
        return array_contains(a, b);
    case LC__CQL2_A_CONTAINEDBY:
        return array_contains(b, a);
    case LC__CQL2_A_OVERLAPS: {
        enum tv r = TV_FALSE;
        for (size_t i = 0; i < a->nitems; i++) {
            enum tv t = element_of(&a->items[i], b);
            if (t == TV_TRUE)
                return TV_TRUE;
            if (t == TV_UNKNOWN)
                r = TV_UNKNOWN;
        }
        return r;
    }
    default:
        return TV_UNKNOWN;
    }
}

/* ---- time -------------------------------------------------------------- */

/* OGC 21-065r2 table 7 (after Allen's interval algebra). */
static enum tv temporal_op(enum lc__cql2_op op, const struct lc__cql2_value *a,
                           const struct lc__cql2_value *b)
{
    int64_t as, ae, bs, be;
    if (!time_range(a, &as, &ae) || !time_range(b, &bs, &be))
        return TV_UNKNOWN;
    switch ((int)op) {
    case LC__CQL2_T_AFTER:
        return tv_of(as > be);
    case LC__CQL2_T_BEFORE:
        return tv_of(ae < bs);
    case LC__CQL2_T_CONTAINS:
        return tv_of(as < bs && ae > be);
    case LC__CQL2_T_DISJOINT:
        return tv_of(!(as <= be && ae >= bs));
    case LC__CQL2_T_DURING:
        return tv_of(as > bs && ae < be);
    case LC__CQL2_T_EQUALS:
        return tv_of(as == bs && ae == be);
    case LC__CQL2_T_FINISHEDBY:
        return tv_of(as < bs && ae == be);
    case LC__CQL2_T_FINISHES:
        return tv_of(as > bs && ae == be);
    case LC__CQL2_T_INTERSECTS:
        return tv_of(as <= be && ae >= bs);
    case LC__CQL2_T_MEETS:
        return tv_of(ae == bs);
    case LC__CQL2_T_METBY:
        return tv_of(as == be);
    case LC__CQL2_T_OVERLAPPEDBY:
        return tv_of(as > bs && as < be && ae > be);
    case LC__CQL2_T_OVERLAPS:
        return tv_of(as < bs && ae > bs && ae < be);
    case LC__CQL2_T_STARTEDBY:
        return tv_of(as == bs && ae > be);
    case LC__CQL2_T_STARTS:
        return tv_of(as == bs && ae < be);
    default:
        return TV_UNKNOWN;
    }
}

/* An interval end: a date, timestamp (or a string holding one) or '..'.
 * A date starts an interval at its first instant and ends one at its
 * last, so INTERVAL('2020-01-01', '2020-01-31') covers all of January. */
static int interval_end(struct ev *e, const struct lc__cql2_node *n, bool start,
                        int64_t *us, bool *null)
{
    struct lc__cql2_value v;
    int64_t s, t;
    *null = false;
    if (n->kind == LC__CQL2_OPEN) {
        *us = start ? LC__CQL2_OPEN_START : LC__CQL2_OPEN_END;
        return LC_OK;
    }
    LC_FORWARD_IF_ERROR(eval(e, n, &v));
    if (v.type != LC__CQL2_TINTERVAL && time_range(&v, &s, &t))
        *us = start ? s : t;
    else
        *null = true;
    return LC_OK;
}

/* ---- the walk ---------------------------------------------------------- */

static enum lc__spatial_pred spatial_pred(enum lc__cql2_op op)
{
    switch ((int)op) {
    case LC__CQL2_S_EQUALS:
        return LC__SPATIAL_EQUALS;
    case LC__CQL2_S_DISJOINT:
        return LC__SPATIAL_DISJOINT;
    case LC__CQL2_S_TOUCHES:
        return LC__SPATIAL_TOUCHES;
    case LC__CQL2_S_WITHIN:
        return LC__SPATIAL_WITHIN;
    case LC__CQL2_S_OVERLAPS:
        return LC__SPATIAL_OVERLAPS;
    case LC__CQL2_S_CROSSES:
        return LC__SPATIAL_CROSSES;
    case LC__CQL2_S_CONTAINS:
        return LC__SPATIAL_CONTAINS;
    default:
        return LC__SPATIAL_INTERSECTS;
    }
}

static void arith(enum lc__cql2_op op, const struct lc__cql2_value *a,
                  const struct lc__cql2_value *b, struct lc__cql2_value *out)
{
    set_null(out);
    if (a->type != LC__CQL2_TNUMBER || b->type != LC__CQL2_TNUMBER)
        return;
    bool ints = a->is_int && b->is_int;
    int64_t i = a->i64, j = b->i64, r;
    double x = num_of(a), y = num_of(b), d;
    switch ((int)op) {
    case LC__CQL2_ADD:
        if (ints && !__builtin_add_overflow(i, j, &r))
            goto integer;
        d = x + y;
        break;
    case LC__CQL2_SUB:
        if (ints && !__builtin_sub_overflow(i, j, &r))
            goto integer;
        d = x - y;
        break;
    case LC__CQL2_MUL:
        if (ints && !__builtin_mul_overflow(i, j, &r))
            goto integer;
        d = x * y;
        break;
    case LC__CQL2_DIV:
        if (y == 0)
            return;
        d = x / y;
        break;
    case LC__CQL2_MOD:
        if (y == 0)
            return;
        if (ints) {
            r = j == -1 ? 0 : i % j;
            goto integer;
        }
        d = fmod(x, y);
        break;
    case LC__CQL2_INTDIV:
        if (y == 0)
            return;
        if (ints && !(i == INT64_MIN && j == -1)) {
            r = i / j;
            goto integer;
        }
        d = trunc(x / y);
        break;
    case LC__CQL2_POW:
        d = pow(x, y);
        break;
    default:
        return;
    }
    if (!isfinite(d))
        return;
    out->type = LC__CQL2_TNUMBER;
    out->num = d;
    return;
integer:
    out->type = LC__CQL2_TNUMBER;
    out->is_int = true;
    out->i64 = r;
    out->num = (double)r;
}

static int eval_args(struct ev *e, const struct lc__cql2_node *n,
                     struct lc__cql2_value *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        LC_FORWARD_IF_ERROR(eval(e, n->args[i], &v[i]));
    return LC_OK;
}

static int eval_op(struct ev *e, const struct lc__cql2_node *n,
                   struct lc__cql2_value *out)
{
    struct lc__cql2_value v[3];
    enum lc__cql2_op op = n->op;

    switch (op) {
    case LC__CQL2_AND:
    case LC__CQL2_OR: {
        /* Stops at the first operand that decides. */
        enum tv decide = op == LC__CQL2_AND ? TV_FALSE : TV_TRUE;
        bool unknown = false;
        for (size_t i = 0; i < n->nargs; i++) {
            LC_FORWARD_IF_ERROR(eval(e, n->args[i], &v[0]));
            enum tv t = truth(&v[0]);
            if (t == decide) {
                set_tv(out, decide);
                return LC_OK;
            }
            unknown = unknown || t == TV_UNKNOWN;
        }
        set_tv(out, unknown ? TV_UNKNOWN
                            : (decide == TV_FALSE ? TV_TRUE : TV_FALSE));
        return LC_OK;
    }
    case LC__CQL2_NOT: {
        LC_FORWARD_IF_ERROR(eval(e, n->args[0], &v[0]));
        enum tv t = truth(&v[0]);
        set_tv(out, t == TV_UNKNOWN ? t : t == TV_TRUE ? TV_FALSE : TV_TRUE);
        return LC_OK;
    }
    case LC__CQL2_EQ:
    case LC__CQL2_NE:
    case LC__CQL2_LT:
    case LC__CQL2_LE:
    case LC__CQL2_GT:
    case LC__CQL2_GE:
        LC_FORWARD_IF_ERROR(eval_args(e, n, v, 2));
        set_tv(out, compare_tv(op, &v[0], &v[1]));
        return LC_OK;
    case LC__CQL2_ISNULL:
        LC_FORWARD_IF_ERROR(eval(e, n->args[0], &v[0]));
        set_bool(out, v[0].type == LC__CQL2_TNULL);
        return LC_OK;
    case LC__CQL2_LIKE:
        LC_FORWARD_IF_ERROR(eval_args(e, n, v, 2));
        if (v[0].type != LC__CQL2_TSTRING || v[1].type != LC__CQL2_TSTRING)
            set_null(out);
        else
            set_bool(out,
                     lc__cql2_like(v[0].str, v[0].len, v[1].str, v[1].len));
        return LC_OK;
    case LC__CQL2_BETWEEN:
        LC_FORWARD_IF_ERROR(eval_args(e, n, v, 3));
        set_tv(out, tv_and(compare_tv(LC__CQL2_GE, &v[0], &v[1]),
                           compare_tv(LC__CQL2_LE, &v[0], &v[2])));
        return LC_OK;
    case LC__CQL2_IN: {
        LC_FORWARD_IF_ERROR(eval(e, n->args[0], &v[0]));
        if (v[0].type == LC__CQL2_TNULL) {
            set_null(out);
            return LC_OK;
        }
        /* Elements are evaluated one at a time, so a long literal list
         * needs no scratch memory; a type mismatch is UNKNOWN, as for =.
         */
        const struct lc__cql2_node *list = n->args[1];
        enum tv r = TV_FALSE;
        for (size_t i = 0; i < list->nargs; i++) {
            LC_FORWARD_IF_ERROR(eval(e, list->args[i], &v[1]));
            enum tv t = compare_tv(LC__CQL2_EQ, &v[0], &v[1]);
            if (t == TV_TRUE) {
                set_bool(out, true);
                return LC_OK;
            }
            if (t == TV_UNKNOWN)
                r = TV_UNKNOWN;
        }
        set_tv(out, r);
        return LC_OK;
    }
    case LC__CQL2_CASEI:
    case LC__CQL2_ACCENTI: {
        LC_FORWARD_IF_ERROR(eval(e, n->args[0], &v[0]));
        if (v[0].type != LC__CQL2_TSTRING) {
            set_null(out);
            return LC_OK;
        }
        char *buf = lc__arena_alloc(&e->scratch, 2 * v[0].len + 4);
        LC_RETURN_IF(buf == NULL, e->err, LC_ENOMEM, "CQL2: out of memory");
        *out = v[0];
        out->str = buf;
        out->len = op == LC__CQL2_CASEI
                       ? lc__cql2_casei(v[0].str, v[0].len, buf)
                       : lc__cql2_accenti(v[0].str, v[0].len, buf);
        return LC_OK;
    }
    case LC__CQL2_ADD:
    case LC__CQL2_SUB:
    case LC__CQL2_MUL:
    case LC__CQL2_DIV:
    case LC__CQL2_MOD:
    case LC__CQL2_POW:
    case LC__CQL2_INTDIV:
        LC_FORWARD_IF_ERROR(eval_args(e, n, v, 2));
        arith(op, &v[0], &v[1], out);
        return LC_OK;
    case LC__CQL2_S_INTERSECTS:
    case LC__CQL2_S_EQUALS:
    case LC__CQL2_S_DISJOINT:
    case LC__CQL2_S_TOUCHES:
    case LC__CQL2_S_WITHIN:
    case LC__CQL2_S_OVERLAPS:
    case LC__CQL2_S_CROSSES:
    case LC__CQL2_S_CONTAINS: {
        LC_FORWARD_IF_ERROR(eval_args(e, n, v, 2));
        if (v[0].type != LC__CQL2_TGEOMETRY ||
            v[1].type != LC__CQL2_TGEOMETRY) {
            set_null(out);
            return LC_OK;
        }
        bool r;
        int rc = lc__geom_predicate(spatial_pred(op), v[0].geom, v[1].geom,
                                    e->alloc, &r);
        LC_RETURN_IF(rc < 0, e->err, rc,
                     "CQL2: %s at byte %zu: out of "
                     "memory",
                     lc__cql2_op_info(op)->name, n->offset);
        set_bool(out, r);
        return LC_OK;
    }
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
        LC_FORWARD_IF_ERROR(eval_args(e, n, v, 2));
        set_tv(out, temporal_op(op, &v[0], &v[1]));
        return LC_OK;
    case LC__CQL2_A_EQUALS:
    case LC__CQL2_A_CONTAINS:
    case LC__CQL2_A_CONTAINEDBY:
    case LC__CQL2_A_OVERLAPS:
        LC_FORWARD_IF_ERROR(eval_args(e, n, v, 2));
        set_tv(out, array_op(op, &v[0], &v[1]));
        return LC_OK;
    case LC__CQL2_OP_COUNT:
        break;
    }
    set_null(out);
    return LC_OK;
}

static int eval(struct ev *e, const struct lc__cql2_node *n,
                struct lc__cql2_value *out)
{
    set_null(out);
    switch (n->kind) {
    case LC__CQL2_NULL:
    case LC__CQL2_OPEN:
        return LC_OK;
    case LC__CQL2_BOOL:
        set_bool(out, n->b);
        return LC_OK;
    case LC__CQL2_NUMBER:
        out->type = LC__CQL2_TNUMBER;
        out->num = n->num;
        out->i64 = n->i64;
        out->is_int = n->is_int;
        return LC_OK;
    case LC__CQL2_STRING:
        out->type = LC__CQL2_TSTRING;
        out->str = n->str;
        out->len = n->len;
        return LC_OK;
    case LC__CQL2_DATE:
    case LC__CQL2_TIMESTAMP:
        out->type =
            n->kind == LC__CQL2_DATE ? LC__CQL2_TDATE : LC__CQL2_TTIMESTAMP;
        out->us = n->us;
        return LC_OK;
    case LC__CQL2_INTERVAL: {
        bool null0, null1;
        int64_t s, t;
        LC_FORWARD_IF_ERROR(interval_end(e, n->args[0], true, &s, &null0));
        LC_FORWARD_IF_ERROR(interval_end(e, n->args[1], false, &t, &null1));
        if (null0 || null1)
            return LC_OK; /* NULL */
        out->type = LC__CQL2_TINTERVAL;
        out->start_us = s;
        out->end_us = t;
        return LC_OK;
    }
    case LC__CQL2_GEOMETRY:
    case LC__CQL2_BBOX:
        out->type = LC__CQL2_TGEOMETRY;
        out->geom = n->geom;
        return LC_OK;
    case LC__CQL2_ARRAY: {
        struct lc__cql2_value *items =
            lc__arena_calloc(&e->scratch, n->nargs, sizeof(*items));
        LC_RETURN_IF(items == NULL, e->err, LC_ENOMEM, "CQL2: out of memory");
        for (size_t i = 0; i < n->nargs; i++)
            LC_FORWARD_IF_ERROR(eval(e, n->args[i], &items[i]));
        out->type = LC__CQL2_TARRAY;
        out->items = items;
        out->nitems = n->nargs;
        return LC_OK;
    }
    case LC__CQL2_PROPERTY: {
        int rc = e->get(e->record, n->str, out);
        if (rc < 0)
            return rc;
        return LC_OK;
    }
    case LC__CQL2_FUNCTION:
        return lc__error(e->err, LC_EUNSUPPORTED,
                         "CQL2: unknown function '%s' at byte %zu", n->str,
                         n->offset);
    case LC__CQL2_OP:
        return eval_op(e, n, out);
    }
    return LC_OK;
}

int lc__cql2_eval(const struct lc__cql2 *tree, lc__cql2_get_fn get,
                  void *record, const struct lc_allocator *alloc,
                  enum lc__cql2_truth *result, struct lc__errbuf *err)
{
    LC_RETURN_IF(tree == NULL || get == NULL || result == NULL, err, LC_EINVAL,
                 "CQL2: NULL argument");
    struct ev e = {
        .tree = tree, .get = get, .record = record, .alloc = alloc, .err = err};
    lc__arena_init(&e.scratch, alloc);
    struct lc__cql2_value v;
    int rc = eval(&e, tree->root, &v);
    lc__arena_free(&e.scratch);
    if (rc < 0)
        return rc;
    enum tv t = truth(&v);
    *result = t == TV_TRUE    ? LC__CQL2_TRUE
              : t == TV_FALSE ? LC__CQL2_FALSE
                              : LC__CQL2_UNKNOWN;
    return LC_OK;
}
