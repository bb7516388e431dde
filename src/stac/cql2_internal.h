/* cql2_internal.h - what the CQL2 parsers, writers and evaluator share. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_CQL2_INTERNAL_H
#define LC_CQL2_INTERNAL_H

#include "../common/common.h"

#include "cql2.h"

/* Precedence levels of the text form, loosest first (as cql2-rs renders;
 * ATOM: self-delimiting - literals, names, calls, parentheses). */
enum lc__cql2_prec {
    LC__CQL2_PREC_OR = 1,
    LC__CQL2_PREC_AND = 2,
    LC__CQL2_PREC_NOT = 3,
    LC__CQL2_PREC_PREDICATE = 4,
    LC__CQL2_PREC_ADDITIVE = 5,
    LC__CQL2_PREC_MULTIPLICATIVE = 6,
    LC__CQL2_PREC_POWER = 7,
    LC__CQL2_PREC_ATOM = 100
};

struct lc__cql2_op_info {
    const char *name;  /* CQL2-JSON "op", and the call name in text */
    const char *infix; /* text infix form (" AND ", " = "...), or NULL */
    size_t min_args, max_args;
    enum lc__cql2_prec prec;
};

/* The table entry of op (a function, not an exported array: sanitizer
 * builds would add unprefixed symbols for a global). */
const struct lc__cql2_op_info *lc__cql2_op_info(enum lc__cql2_op op);

/* Finds a built-in operator by its JSON or call name, in any case. */
bool lc__cql2_find_op(const char *name, size_t len, enum lc__cql2_op *op);

/* State of one parse, shared by the text and JSON readers. */
struct lc__cql2_builder {
    struct lc__cql2 *tree;
    size_t props_cap;
    size_t *intern; /* hash table of property indexes + 1 (0: empty) */
    size_t intern_cap;
    size_t max_depth, max_string_nbytes, max_list_len, max_text_nbytes;
    struct lc__cql2_syntax_error *syntax;
    struct lc__errbuf *err;
    const char *text; /* text input, for line and column; NULL for JSON */
    size_t text_len;
    const char *json_path; /* JSON input: path of the value being read */
};

/* Creates the tree and resolves the options. */
int lc__cql2_builder_init(struct lc__cql2_builder *b,
                          const struct lc__cql2_options *opts,
                          struct lc__cql2_syntax_error *syntax,
                          struct lc__errbuf *err);

/* Records a syntax error (LC_EINVAL) at offset: "expected X, found Y". */
int lc__cql2_syntax(struct lc__cql2_builder *b, size_t offset,
                    const char *expected, const char *found);

struct lc__cql2_node *lc__cql2_node_new(struct lc__cql2_builder *b,
                                        enum lc__cql2_kind kind, size_t offset);

/* A PROPERTY node for name (the "properties." prefix dropped). */
int lc__cql2_property(struct lc__cql2_builder *b, const char *name, size_t len,
                      size_t offset, struct lc__cql2_node **out);

/*
 * Builds a call of name with args (copied): a built-in operator when the
 * name is one (normalising IN lists, A_* one-value arrays, nested AND/OR,
 * and checking the number of arguments), a FUNCTION node otherwise.
 */
int lc__cql2_call(struct lc__cql2_builder *b, const char *name, size_t len,
                  struct lc__cql2_node **args, size_t nargs, size_t offset,
                  struct lc__cql2_node **out);

/* An OP node for op with args (copied), AND/OR flattened. */
int lc__cql2_op_node(struct lc__cql2_builder *b, enum lc__cql2_op op,
                     struct lc__cql2_node **args, size_t nargs, size_t offset,
                     struct lc__cql2_node **out);

/* Fills node->geom of a BBOX node from its numbers (LC_EINVAL when south
 * is north of north). */
int lc__cql2_bbox_geom(struct lc__cql2_builder *b, struct lc__cql2_node *n);

/* Copies len bytes to the arena, checking the string cap. */
int lc__cql2_strdup(struct lc__cql2_builder *b, const char *s, size_t len,
                    size_t offset, const char **out);

/* ---- time -------------------------------------------------------------- */

/* "YYYY-MM-DD" -> its midnight UTC in microseconds. */
bool lc__cql2_parse_date(const char *s, size_t len, int64_t *us);
/* RFC 3339 date-time as common/isotime.h reads it ("T", "t" or " "
 * between date and time; "Z", an offset or nothing (UTC); the fraction
 * cut to microseconds), in years 0001-9999 once in UTC. */
bool lc__cql2_parse_timestamp(const char *s, size_t len, int64_t *us);
/* Either of the two; *is_date says which. */
bool lc__cql2_parse_instant(const char *s, size_t len, bool *is_date,
                            int64_t *us);
/* "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (fraction trimmed). */
#define LC__CQL2_TIME_CAP 48
void lc__cql2_format_date(int64_t us, char *buf);
void lc__cql2_format_timestamp(int64_t us, char *buf);

/* ---- text in UTF-8 ----------------------------------------------------- */

/* Decodes one code point at s (len > 0 bytes); invalid UTF-8 decodes as
 * its first byte. Returns the bytes used (1 to 4). */
size_t lc__utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Lower-cases s into out (room for 2 * len + 4 bytes); returns length. */
size_t lc__cql2_casei(const char *s, size_t len, char *out);
/* Removes accents from s into out (room for len + 1); returns length. */
size_t lc__cql2_accenti(const char *s, size_t len, char *out);
/* SQL LIKE with '%', '_' and '\' escapes, over code points. */
bool lc__cql2_like(const char *s, size_t slen, const char *pat, size_t plen);

#endif /* LC_CQL2_INTERNAL_H */
