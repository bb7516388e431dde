/* text.h - a growable string builder, and doubles to and from text. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_TEXT_H
#define LC_TEXT_H

#include "common.h"

/*
 * A string builder with a maximum size (STYLE.md rule 17: every growable
 * buffer carries one). Appends never fail loudly: the first failure is kept
 * in status (LC_ENOMEM, or LC_ELIMIT when the text would pass max_nbytes)
 * and every later append does nothing, so a writer checks once at the end.
 * data is NUL-terminated whenever it is not NULL.
 */
struct lc__strbuf {
    struct lc_allocator alloc; /* a copy; all-NULL means malloc/free */
    char *data;
    size_t len;
    size_t cap;
    size_t max_nbytes; /* longest text allowed, NUL excluded */
    int status;        /* LC_OK or the first failure */
};

/* Prepares an empty builder; max_nbytes 0 means SIZE_MAX / 2. */
void lc__strbuf_init(struct lc__strbuf *sb, const struct lc_allocator *alloc,
                     size_t max_nbytes);
void lc__strbuf_append(struct lc__strbuf *sb, const char *s, size_t n);
void lc__strbuf_puts(struct lc__strbuf *sb, const char *s);
void lc__strbuf_putc(struct lc__strbuf *sb, char c);
void lc__strbuf_printf(struct lc__strbuf *sb, const char *fmt, ...)
    LC_PRINTF_LIKE(2, 3);
/* Appends lc__format_double_plain / _json of v. */
void lc__strbuf_double_plain(struct lc__strbuf *sb, double v);
void lc__strbuf_double_json(struct lc__strbuf *sb, double v);
/* Appends s (n bytes of UTF-8) as a JSON string, quotes included. */
void lc__strbuf_json_string(struct lc__strbuf *sb, const char *s, size_t n);
/* Frees the text; the builder is empty again (status cleared). */
void lc__strbuf_free(struct lc__strbuf *sb);

/*
 * Doubles as text. Both writers use the shortest digit string that reads
 * back to exactly v (at most 17 significant digits).
 *
 * lc__format_double_plain writes positional notation without exponent, as
 * Rust's f64 Display does and as cql2-rs renders CQL2 text: 150, 0.1,
 * -0, 0.0000001, 123456789012345680. NaN and infinities give "NaN", "inf"
 * and "-inf". buf needs LC_DOUBLE_TEXT_CAP bytes; returns the length.
 *
 * lc__format_double_json writes what serde_json (ryu) writes: a decimal
 * point always ("150.0", "-0.0", "0.0001"), and an exponent outside
 * 1e-5 <= |v| < 1e16 ("1e-7", "1.5e300"). Non-finite values give "null".
 */
#define LC_DOUBLE_TEXT_CAP 400
size_t lc__format_double_plain(double v, char *buf);
size_t lc__format_double_json(double v, char *buf);

/*
 * Reads the whole of s[0..len) as a decimal number: an optional sign,
 * digits with an optional fraction (".5" and "5." included), an optional
 * exponent ("e-7", "E+3"). No hex, "inf", "nan", or spaces. Returns false
 * when the text is not such a number, is longer than 1000 bytes, or its
 * value overflows a double. Independent of the C locale's decimal point.
 */
bool lc__parse_double(const char *s, size_t len, double *out);

/* Length of the longest prefix of s[0..len) that lc__parse_double could
 * read (0 when s does not start with a number). */
size_t lc__scan_number(const char *s, size_t len);

/* The environment variable name as a whole number of bytes ("0" up to
 * SIZE_MAX, digits only): true and *ret set, or false when it is unset or
 * anything else. */
bool lc__env_nbytes(const char *name, size_t *ret);

#endif /* LC_TEXT_H */
