/* cql2.h - OGC CQL2 filters: text and JSON to one tree, rendering, eval. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_CQL2_H
#define LC_CQL2_H

#include "../common/common.h"

#include "../common/arena.h"
#include "../common/error.h"
#include "../common/text.h"
#include "../geo/geometry.h"

/*
 * CQL2 (OGC 21-065r2, "Common Query Language") filters select STAC items
 * by their properties. This module reads both encodings into one tree,
 * writes the tree back in either encoding, lists the properties a filter
 * uses, and evaluates a filter against one record at a time through an
 * accessor the item table implements.
 *
 *   "eo:cloud_cover < 10 AND S_INTERSECTS(geometry, BBOX(0,0,1,1))"
 *   {"op":"and","args":[...]}          --parse-->   struct lc__cql2
 *                                                     |        |
 *                  lc__cql2_to_text / _to_json  <-----+        +--> eval
 *
 * Conformance classes covered: basic CQL2, advanced comparison operators
 * (LIKE, BETWEEN, IN), case- and accent-insensitive comparison (CASEI,
 * ACCENTI), basic and full spatial functions (S_* with WKT, GeoJSON and
 * BBOX literals), temporal functions (all 15 T_*), array functions (A_*),
 * property-property comparisons, functions (parsed; see below) and
 * arithmetic (+ - * / % ^ div).
 *
 * Leniencies, as in cql2-rs (the reference implementation the tests
 * compare with): keywords and function names in any letter case; "!=" for
 * "<>"; the NULL literal; operators written as function calls
 * ("like(x, 'a%')", "in(x, 'a', 'b')", "not(x)"); a single value in
 * parentheses as an array operand ("A_CONTAINS(x, ('a'))"); timestamps
 * with a space for "T", a numeric offset or no zone (read as UTC).
 *
 * Property names: "properties.NAME" and "NAME" are the same property (the
 * prefix is dropped when parsing, in text and JSON, quoted or not). A
 * property the record does not have evaluates as NULL.
 *
 * Functions other than the built-in operators parse (so that filters can
 * be stored and rendered) but have no implementation: lc__cql2_validate
 * rejects them with LC_EUNSUPPORTED ("unknown function 'avg'"), and so
 * does evaluation if it reaches one.
 */

/* ---- the tree ---------------------------------------------------------- */

enum lc__cql2_kind {
    LC__CQL2_NULL,      /* the NULL literal */
    LC__CQL2_BOOL,      /* TRUE / FALSE */
    LC__CQL2_NUMBER,    /* numeric literal */
    LC__CQL2_STRING,    /* character literal */
    LC__CQL2_DATE,      /* DATE('2020-01-31') */
    LC__CQL2_TIMESTAMP, /* TIMESTAMP('2020-01-31T12:00:00Z') */
    LC__CQL2_OPEN,      /* '..': an open end of an INTERVAL */
    LC__CQL2_INTERVAL,  /* INTERVAL(start, end): args[0], args[1] */
    LC__CQL2_GEOMETRY,  /* WKT or GeoJSON literal */
    LC__CQL2_BBOX,      /* BBOX(w, s, e, n) or with heights */
    LC__CQL2_ARRAY,     /* (a, b, ...) in text, [a, b, ...] in JSON */
    LC__CQL2_PROPERTY,  /* a property name */
    LC__CQL2_OP,        /* a built-in operator or function: op, args */
    LC__CQL2_FUNCTION   /* any other function: name, args */
};

/* Built-in operators. The comments give the CQL2-JSON "op" names. */
enum lc__cql2_op {
    LC__CQL2_AND,     /* and: two or more args */
    LC__CQL2_OR,      /* or: two or more args */
    LC__CQL2_NOT,     /* not */
    LC__CQL2_EQ,      /* = */
    LC__CQL2_NE,      /* <> */
    LC__CQL2_LT,      /* < */
    LC__CQL2_LE,      /* <= */
    LC__CQL2_GT,      /* > */
    LC__CQL2_GE,      /* >= */
    LC__CQL2_LIKE,    /* like: value, pattern */
    LC__CQL2_BETWEEN, /* between: value, low, high */
    LC__CQL2_IN,      /* in: value, ARRAY */
    LC__CQL2_ISNULL,  /* isNull */
    LC__CQL2_CASEI,   /* casei */
    LC__CQL2_ACCENTI, /* accenti */
    LC__CQL2_ADD,     /* + */
    LC__CQL2_SUB,     /* - */
    LC__CQL2_MUL,     /* * */
    LC__CQL2_DIV,     /* / */
    LC__CQL2_MOD,     /* % */
    LC__CQL2_POW,     /* ^ */
    LC__CQL2_INTDIV,  /* div */
    LC__CQL2_S_INTERSECTS,
    LC__CQL2_S_EQUALS,
    LC__CQL2_S_DISJOINT,
    LC__CQL2_S_TOUCHES,
    LC__CQL2_S_WITHIN,
    LC__CQL2_S_OVERLAPS,
    LC__CQL2_S_CROSSES,
    LC__CQL2_S_CONTAINS,
    LC__CQL2_T_AFTER,
    LC__CQL2_T_BEFORE,
    LC__CQL2_T_CONTAINS,
    LC__CQL2_T_DISJOINT,
    LC__CQL2_T_DURING,
    LC__CQL2_T_EQUALS,
    LC__CQL2_T_FINISHEDBY,
    LC__CQL2_T_FINISHES,
    LC__CQL2_T_INTERSECTS,
    LC__CQL2_T_MEETS,
    LC__CQL2_T_METBY,
    LC__CQL2_T_OVERLAPPEDBY,
    LC__CQL2_T_OVERLAPS,
    LC__CQL2_T_STARTEDBY,
    LC__CQL2_T_STARTS,
    LC__CQL2_A_EQUALS,
    LC__CQL2_A_CONTAINS,
    LC__CQL2_A_CONTAINEDBY,
    LC__CQL2_A_OVERLAPS,
    LC__CQL2_OP_COUNT
};

/* One node; which fields mean something depends on kind. */
struct lc__cql2_node {
    enum lc__cql2_kind kind;
    enum lc__cql2_op op; /* OP */
    /* Byte offset of the node in the CQL2 text it was read from (0 for
     * JSON input), for messages. */
    size_t offset;
    bool b;      /* BOOL */
    double num;  /* NUMBER: the value as a double */
    int64_t i64; /* NUMBER: the exact value when is_int */
    bool is_int; /* NUMBER written without fraction or exponent and
                    fitting int64 */
    /* STRING: the value (UTF-8, may not hold NUL); PROPERTY: the name
     * without any "properties." prefix, the pointer shared by every node
     * naming it (lc__cql2_property_name); FUNCTION: the name as written. */
    const char *str;
    size_t len;
    size_t prop; /* PROPERTY: index in the property list */
    /* DATE, TIMESTAMP: microseconds since 1970-01-01T00:00:00Z (a date:
     * its midnight, UTC). */
    int64_t us;
    /* GEOMETRY: the literal; BBOX: its box as a polygon, or two for a box
     * crossing the antimeridian (west > east), for evaluation. */
    struct lc__geom *geom;
    double bbox[6]; /* BBOX: 4 or 6 numbers as written */
    size_t nbbox;
    /* OP, FUNCTION: arguments; ARRAY: elements; INTERVAL: start, end. */
    struct lc__cql2_node **args;
    size_t nargs;
    /* Text only: the node was written in parentheses. A_* operators take
     * "('a')" as a one-element array; the renderer ignores it. */
    bool parenthesized;
};

/* A parsed filter: the tree, its arena, its properties. Immutable after
 * parsing: evaluation from several threads at once is safe. */
struct lc__cql2 {
    struct lc__arena arena;
    struct lc__cql2_node *root;
    const char **props; /* distinct property names, in order of first use */
    size_t nprops;
};

/*
 * Caps for untrusted filters (STYLE.md rule 17); all-zero means the
 * defaults in brackets.
 */
struct lc__cql2_options {
    const struct lc_allocator *alloc; /* NULL: malloc/free */
    size_t max_depth;                 /* nesting of expressions [100] */
    size_t max_string_nbytes;         /* one literal or name [65536] */
    size_t max_list_len;              /* array elements, function arguments,
                                         AND/OR operands [100000] */
    size_t max_text_nbytes;           /* the whole filter [16 MiB] */
};

/* Where a filter failed to parse. */
struct lc__cql2_syntax_error {
    size_t offset;      /* byte offset into the text (JSON: see below) */
    size_t line;        /* 1-based */
    size_t column;      /* 1-based, in bytes */
    char expected[128]; /* e.g. "')' or ','" */
    char found[64];     /* the token found, e.g. "'AND'", "end of input" */
};

/*
 * Parses CQL2-Text (len bytes, not necessarily NUL-terminated). Returns:
 *   LC_OK         *out is the tree, freed with lc__cql2_free;
 *   LC_EINVAL     a syntax error: *syntax (when not NULL) says where and
 *                 what was expected, and err holds "CQL2 text: expected
 *                 ')' or ',' at line 1, column 12 (byte 11), found 'AND'";
 *                 also bad literals (DATE('2020-13-01'), an unterminated
 *                 string, a known operator with the wrong number of
 *                 arguments);
 *   LC_ELIMIT     nesting, a string, a list or the text passed a cap;
 *   LC_ENOMEM.
 */
int lc__cql2_parse_text(const char *text, size_t len,
                        const struct lc__cql2_options *opts,
                        struct lc__cql2 **out,
                        struct lc__cql2_syntax_error *syntax,
                        struct lc__errbuf *err);

/*
 * Parses CQL2-JSON into the same tree as the equivalent text. Errors as
 * for text; a malformed JSON document reports jansson's byte offset, line
 * and column, a well-formed document that is no CQL2 reports the JSON path
 * of the offending value in err and syntax->expected ("args[1].interval:
 * expected an array of 2 instants"), with syntax->offset 0.
 */
int lc__cql2_parse_json(const char *json, size_t len,
                        const struct lc__cql2_options *opts,
                        struct lc__cql2 **out,
                        struct lc__cql2_syntax_error *syntax,
                        struct lc__errbuf *err);

/* Frees a tree; NULL does nothing. */
void lc__cql2_free(struct lc__cql2 *tree);

/*
 * Appends the tree as normalised CQL2-Text, as cql2-rs writes it: single
 * spaces around infix operators, AND/OR/NOT/LIKE/BETWEEN/IN/IS NULL in
 * capitals, other operators and functions as lower-case calls
 * ("s_intersects(a, b)", "t_finishedBy(a, b)", "div(a, b)"), parentheses
 * only where precedence needs them, numbers in shortest round-trip form
 * without exponent, timestamps in UTC with "Z" and no trailing zero in the
 * fraction, property names quoted only where a bare name would not read
 * back. Deliberate differences from cql2-rs:
 *   - "properties.x" renders as "x" (the prefix is dropped when parsing);
 *   - a property name that is a keyword ("and") is quoted;
 *   - integers beyond 2^53 render exactly (cql2-rs rounds them to
 *     doubles); fractions of seconds keep at most 6 digits;
 *   - a function name from CQL2-JSON that is not a bare name ("-f") is
 *     quoted like a property name ("-f"(x)), which the text parser reads.
 * Some trees from CQL2-JSON have no CQL2-Text form and, as with cql2-rs,
 * their text does not read back: a name holding '"' (written quoted as it
 * is), an empty array (written "()", which the text grammar refuses) and
 * a one-element array other than the list of IN or an operand of an
 * array operator (["a"] is written "('a')", which reads as 'a').
 * Errors (LC_ENOMEM, LC_ELIMIT) end up in sb->status.
 */
void lc__cql2_to_text(const struct lc__cql2 *tree, struct lc__strbuf *sb);

/* Appends the tree as compact CQL2-JSON, as cql2-rs writes it (numbers
 * always with a fraction or exponent: 4.0, 1e-7). */
void lc__cql2_to_json(const struct lc__cql2 *tree, struct lc__strbuf *sb);

/* True when the two trees are the same: same node kinds and operators,
 * same values (numbers compared as doubles), same geometries. */
bool lc__cql2_equal(const struct lc__cql2 *a, const struct lc__cql2 *b);

/* The distinct property names the filter uses (prefix dropped), so the
 * item table decodes only those columns. Names stay valid until the tree
 * is freed. */
size_t lc__cql2_property_count(const struct lc__cql2 *tree);
const char *lc__cql2_property_name(const struct lc__cql2 *tree, size_t i);

/*
 * Checks what can be checked before any record is read: every function is
 * known (LC_EUNSUPPORTED "unknown function 'avg' at byte 0" otherwise),
 * and the literal operands of spatial, temporal and array operators have
 * the right type (LC_EINVAL "s_intersects at byte 0: argument 2 is a
 * number, not a geometry"). Returns LC_OK otherwise.
 */
int lc__cql2_validate(const struct lc__cql2 *tree, struct lc__errbuf *err);

/* ---- evaluation -------------------------------------------------------- */

/* Types of the values an accessor returns and evaluation computes. */
enum lc__cql2_type {
    LC__CQL2_TNULL,
    LC__CQL2_TBOOL,
    LC__CQL2_TNUMBER,
    LC__CQL2_TSTRING,
    LC__CQL2_TTIMESTAMP, /* an instant */
    LC__CQL2_TDATE,      /* a day: us is its midnight UTC (see eval) */
    LC__CQL2_TINTERVAL,
    LC__CQL2_TGEOMETRY,
    LC__CQL2_TARRAY,
    /* A JSON object (or an array holding one) an item table returns for a
     * property: str/len hold its compact JSON text. No operator compares
     * it (all but IS NULL are UNKNOWN). */
    LC__CQL2_TJSON
};

#define LC__CQL2_OPEN_START INT64_MIN /* interval start of '..' */
#define LC__CQL2_OPEN_END INT64_MAX   /* interval end of '..' */

struct lc__cql2_value {
    enum lc__cql2_type type;
    bool b;                      /* TBOOL */
    double num;                  /* TNUMBER */
    int64_t i64;                 /* TNUMBER when is_int: the exact value */
    bool is_int;                 /* TNUMBER */
    const char *str;             /* TSTRING, TJSON: UTF-8, len bytes */
    size_t len;                  /* TSTRING, TJSON */
    int64_t us;                  /* TTIMESTAMP, TDATE: microseconds (UTC) */
    int64_t start_us, end_us;    /* TINTERVAL, with the OPEN_* values */
    const struct lc__geom *geom; /* TGEOMETRY */
    const struct lc__cql2_value *items; /* TARRAY */
    size_t nitems;                      /* TARRAY */
};

/*
 * The accessor: fills *out with the value of property `name` of `record`
 * (type TNULL when the record has no such property or its value is null)
 * and returns LC_OK, or returns a negative status to stop the evaluation
 * (which then returns that status). name is always one of the pointers
 * lc__cql2_property_name returns, so an implementation may map pointers
 * (or their index) to columns once. Pointers stored in *out (strings,
 * geometries, arrays) must stay valid until lc__cql2_eval returns.
 * A string whose text is an RFC 3339 date or timestamp compares with
 * temporal values, so an accessor may return datetimes as strings.
 */
typedef int (*lc__cql2_get_fn)(void *record, const char *name,
                               struct lc__cql2_value *out);

/* The outcome of a filter on one record, three-valued (SQL logic). */
enum lc__cql2_truth {
    LC__CQL2_FALSE = 0,
    LC__CQL2_TRUE = 1,
    LC__CQL2_UNKNOWN = 2
};

/*
 * Evaluates the filter on one record. A record is selected when *result is
 * LC__CQL2_TRUE.
 *
 * NULL semantics (three-valued, as SQL and the CQL2 standard's NULL
 * handling): a comparison, LIKE, BETWEEN, IN, spatial, temporal or array
 * operator with a NULL operand is UNKNOWN; NOT UNKNOWN is UNKNOWN;
 * AND is FALSE if any operand is FALSE, else UNKNOWN if any is UNKNOWN;
 * OR is TRUE if any operand is TRUE, else UNKNOWN if any is UNKNOWN;
 * IS NULL is never UNKNOWN. x IN (list) is TRUE if x equals an element,
 * else UNKNOWN if x or an element is NULL, else FALSE.
 *
 * Types: an operand of the wrong type (a string compared with a number,
 * a number given to S_INTERSECTS) makes the operator UNKNOWN too, and so
 * does arithmetic on NULL, division by zero and a non-finite result.
 * Numbers compare exactly (an int64 with an int64 or a double without
 * rounding either); strings compare bytewise (code point order); booleans
 * as false < true.
 *
 * Time: a timestamp is an instant; a date has the granularity of a day
 * and stands for all of it, [00:00, 24:00) UTC - a DATE literal, a TDATE
 * value, a date string read where a time is expected, and a date at either
 * end of an INTERVAL (so INTERVAL('2020-01-01', '2020-01-31') covers all of
 * January 31). A string compared with a time is read as an RFC 3339 date
 * or timestamp (UNKNOWN if it is neither). Comparisons of times compare
 * spans: a < b when a ends before b starts, a > b when a starts after b
 * ends, a = b when they share an instant (a timestamp equals the date of
 * its day; midnight is after the previous date). The T_* operators treat
 * instants as zero-length intervals and follow the standard's table 7
 * (T_BEFORE: a.end < b.start, T_MEETS: a.end = b.start, T_DURING: a.start
 * > b.start and a.end < b.end, ...; T_INTERSECTS: not T_DISJOINT), with
 * '..' ends unbounded.
 *
 * Array operators use set semantics (order and duplicates ignored, as
 * cql2-rs does; elements compare as with =): A_EQUALS
 * same elements, A_CONTAINS every element of b is in a, A_CONTAINEDBY
 * every element of a is in b, A_OVERLAPS some element in common.
 * LIKE: '%' any run of characters, '_' one character (code point), '\'
 * escapes the next character; case-sensitive unless CASEI is used. CASEI
 * lower-cases Latin, Greek and Cyrillic letters; ACCENTI removes
 * combining marks and the accents of the Latin-1 and Latin Extended-A
 * letters; other characters are unchanged. A filter whose value is not a
 * boolean (a bare number, say) is UNKNOWN.
 *
 * Where cql2-rs 0.6 (the reference the tests compare with) differs, on
 * purpose: it raises instead of evaluating NULL operands three-valued; it
 * reads dates inside INTERVAL and date strings as midnight instants, and
 * orders timestamps inside a DATE's day inconsistently (ts >= DATE and
 * ts <= DATE both false); it orders values of unlike types.
 *
 * Returns LC_OK; LC_EUNSUPPORTED for an unknown function; LC_ENOMEM;
 * or what get returned. Thread-safe for one tree and separate records.
 * alloc (NULL: malloc) provides scratch memory, freed before returning.
 */
int lc__cql2_eval(const struct lc__cql2 *tree, lc__cql2_get_fn get,
                  void *record, const struct lc_allocator *alloc,
                  enum lc__cql2_truth *result, struct lc__errbuf *err);

#endif /* LC_CQL2_H */
