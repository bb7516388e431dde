/* cql2_util.c - CQL2 helpers: RFC 3339 instants, UTF-8 case and accents. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <stdio.h>

#include "../common/isotime.h"
#include "cql2_internal.h"

/* ---- instants ---------------------------------------------------------- */

/*
 * Reading goes through the library's RFC 3339 parser (common/isotime.h),
 * so that a date string in a filter and the same string in an item's
 * properties are the same instant. Instants are kept to years 0001-9999
 * in UTC, so that every one renders as a timestamp that reads back.
 */
static bool read_instant(const char *s, size_t len, struct lc__isotime *t)
{
    static const int64_t lo = INT64_C(-62135596800) * LC_US_PER_S;
    static const int64_t hi = INT64_C(253402300800) * LC_US_PER_S;
    return lc__isotime_parse(s, len, t, NULL) == LC_OK && t->us >= lo &&
           t->us < hi;
}

bool lc__cql2_parse_date(const char *s, size_t len, int64_t *us)
{
    struct lc__isotime t;
    if (len != 10 || !read_instant(s, len, &t) || t.has_time)
        return false;
    *us = t.us;
    return true;
}

bool lc__cql2_parse_timestamp(const char *s, size_t len, int64_t *us)
{
    struct lc__isotime t;
    if (!read_instant(s, len, &t) || !t.has_time)
        return false;
    *us = t.us;
    return true;
}

bool lc__cql2_parse_instant(const char *s, size_t len, bool *is_date,
                            int64_t *us)
{
    struct lc__isotime t;
    *is_date = false;
    if (!read_instant(s, len, &t) || (!t.has_time && len != 10))
        return false;
    *is_date = !t.has_time;
    *us = t.us;
    return true;
}

void lc__cql2_format_date(int64_t us, char *buf)
{
    int64_t y;
    unsigned m, d;
    lc__civil_from_days(lc__floordiv_i64(us, LC_US_PER_DAY), &y, &m, &d);
    (void)snprintf(buf, LC__CQL2_TIME_CAP, "%04" PRId64 "-%02u-%02u", y, m, d);
}

/* As cql2-rs writes timestamps: UTC, "Z", the fraction without trailing
 * zeros (none when whole). */
void lc__cql2_format_timestamp(int64_t us, char *buf)
{
    int64_t days = lc__floordiv_i64(us, LC_US_PER_DAY);
    int64_t rest = us - days * LC_US_PER_DAY; /* 0 .. one day - 1 */
    int64_t secs = rest / LC_US_PER_S;
    int64_t frac = rest % LC_US_PER_S;
    int64_t y;
    unsigned m, d;
    lc__civil_from_days(days, &y, &m, &d);
    int n = snprintf(
        buf, LC__CQL2_TIME_CAP, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m,
        d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    if (n <= 0)
        return;
    if (frac != 0) {
        char f[8];
        (void)snprintf(f, sizeof(f), "%06d", (int)frac);
        size_t fl = 6;
        while (fl > 0 && f[fl - 1] == '0')
            fl--;
        f[fl] = '\0';
        (void)snprintf(buf + n, LC__CQL2_TIME_CAP - (size_t)n, ".%sZ", f);
    } else {
        (void)snprintf(buf + n, LC__CQL2_TIME_CAP - (size_t)n, "Z");
    }
}

/* ---- UTF-8 ------------------------------------------------------------- */

size_t lc__utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0];
    size_t n;
    uint32_t min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        c &= 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        c &= 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        *cp = u[0];
        return 1;
    }
    if (n > len) {
        *cp = u[0];
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = u[0];
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        *cp = u[0];
        return 1;
    }
    *cp = c;
    return n;
}

static size_t utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/*
 * Simple lower-case mapping (Unicode's one-to-one mappings) for the
 * alphabets filters are written in: Basic Latin, Latin-1, Latin
 * Extended-A, Latin Extended Additional, Greek and Cyrillic.
 */
static uint32_t to_lower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7)
        return c + 32;
    if (c >= 0x100 && c <= 0x17f) {
        if (c == 0x130)
            return 'i';
        if (c == 0x178)
            return 0xff;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
            return c % 2 == 1 ? c + 1 : c;
        if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f)
            return c;
        return c % 2 == 0 ? c + 1 : c;
    }
    if ((c >= 0x1e00 && c <= 0x1e95) || (c >= 0x1ea0 && c <= 0x1eff))
        return c % 2 == 0 ? c + 1 : c;
    if (c == 0x1e9e)
        return 0xdf; /* capital sharp s */
    if (c == 0x386)
        return 0x3ac;
    if (c >= 0x388 && c <= 0x38a)
        return c + 37;
    if (c == 0x38c)
        return 0x3cc;
    if (c == 0x38e || c == 0x38f)
        return c + 63;
    if ((c >= 0x391 && c <= 0x3a1) || (c >= 0x3a3 && c <= 0x3ab))
        return c + 32;
    if (c >= 0x400 && c <= 0x40f)
        return c + 80;
    if (c >= 0x410 && c <= 0x42f)
        return c + 32;
    if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
        (c >= 0x4d0 && c <= 0x4ff))
        return c % 2 == 0 ? c + 1 : c;
    if (c >= 0x4c1 && c <= 0x4ce)
        return c % 2 == 1 ? c + 1 : c;
    return c;
}

size_t lc__cql2_casei(const char *s, size_t len, char *out)
{
    size_t at = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t n = lc__utf8_decode(s + i, len - i, &c);
        if (n == 1 && (unsigned char)s[i] >= 0x80) {
            out[at++] = s[i]; /* invalid UTF-8 is kept as it is */
        } else {
            at += utf8_encode(to_lower(c), out + at);
        }
        i += n;
    }
    out[at] = '\0';
    return at;
}

/*
 * Base letters of U+00C0 .. U+017F; '*' keeps the character (ligatures,
 * letters without a base such as thorn or eth's lower case, signs).
 */
static const char kBase[192 + 1] = "AAAAAA*CEEEEIIII"  /* U+00C0 */
                                   "DNOOOOO*OUUUUY**"  /* U+00D0 */
                                   "aaaaaa*ceeeeiiii"  /* U+00E0 */
                                   "dnooooo*ouuuuy*y"  /* U+00F0 */
                                   "AaAaAaCcCcCcCcDd"  /* U+0100 */
                                   "DdEeEeEeEeEeGgGg"  /* U+0110 */
                                   "GgGgHhHhIiIiIiIi"  /* U+0120 */
                                   "Ii**JjKk*LlLlLlL"  /* U+0130 */
                                   "lLlNnNnNn***OoOo"  /* U+0140 */
                                   "Oo**RrRrRrSsSsSs"  /* U+0150 */
                                   "SsTtTtTtUuUuUuUu"  /* U+0160 */
                                   "UuUuWwYyYZzZzZz*"; /* U+0170 */

size_t lc__cql2_accenti(const char *s, size_t len, char *out)
{
    size_t at = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t n = lc__utf8_decode(s + i, len - i, &c);
        if (n == 1 && (unsigned char)s[i] >= 0x80) {
            out[at++] = s[i];
        } else if (c >= 0x300 && c <= 0x36f) {
            /* A combining mark (decomposed accents): dropped. */
        } else if (c >= 0xc0 && c <= 0x17f && kBase[c - 0xc0] != '*') {
            out[at++] = kBase[c - 0xc0];
        } else {
            memcpy(out + at, s + i, n);
            at += n;
        }
        i += n;
    }
    out[at] = '\0';
    return at;
}

/* One element of a LIKE pattern at p[*i]: a wildcard or a literal. */
enum like_tok { LIKE_ANY_RUN, LIKE_ANY_ONE, LIKE_LITERAL };

static enum like_tok like_next(const char *p, size_t plen, size_t *i,
                               uint32_t *lit)
{
    if (p[*i] == '%') {
        (*i)++;
        return LIKE_ANY_RUN;
    }
    if (p[*i] == '_') {
        (*i)++;
        return LIKE_ANY_ONE;
    }
    if (p[*i] == '\\' && *i + 1 < plen)
        (*i)++;
    *i += lc__utf8_decode(p + *i, plen - *i, lit);
    return LIKE_LITERAL;
}

/*
 * The classic wildcard matcher: walk both strings, remember the last '%'
 * and where the text stood then, and on a mismatch let that '%' swallow
 * one more character. O(len(s) * len(pattern)) at worst, no recursion.
 */
bool lc__cql2_like(const char *s, size_t slen, const char *p, size_t plen)
{
    size_t si = 0, pi = 0;
    size_t star_p = SIZE_MAX, star_s = 0;

    while (si < slen) {
        if (pi < plen) {
            size_t next = pi;
            uint32_t lit = 0;
            enum like_tok t = like_next(p, plen, &next, &lit);
            if (t == LIKE_ANY_RUN) {
                star_p = next;
                star_s = si;
                pi = next;
                continue;
            }
            uint32_t c;
            size_t n = lc__utf8_decode(s + si, slen - si, &c);
            if (t == LIKE_ANY_ONE || c == lit) {
                si += n;
                pi = next;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        uint32_t c;
        star_s += lc__utf8_decode(s + star_s, slen - star_s, &c);
        si = star_s;
        pi = star_p;
    }
    while (pi < plen && p[pi] == '%')
        pi++;
    return pi == plen;
}
