/* text.c - a growable string builder, and doubles to and from text. */
/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "text.h"

/* ---- string builder -------------------------------------------------- */

void lc__strbuf_init(struct lc__strbuf *sb, const struct lc_allocator *alloc,
                     size_t max_nbytes)
{
    memset(sb, 0, sizeof(*sb));
    if (alloc != NULL)
        sb->alloc = *alloc;
    sb->max_nbytes = max_nbytes != 0 ? max_nbytes : SIZE_MAX / 2;
}

/* Makes room for n more bytes plus the NUL; false (status set) if not. */
static bool reserve(struct lc__strbuf *sb, size_t n)
{
    if (sb->status != LC_OK)
        return false;
    if (n > sb->max_nbytes - sb->len) {
        sb->status = LC_ELIMIT;
        return false;
    }
    size_t need = sb->len + n + 1;
    if (need <= sb->cap)
        return true;
    size_t cap = sb->cap != 0 ? sb->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = lc__realloc(&sb->alloc, sb->data, sb->cap, cap);
    if (p == NULL) {
        sb->status = LC_ENOMEM;
        return false;
    }
    sb->data = p;
    sb->cap = cap;
    return true;
}

void lc__strbuf_append(struct lc__strbuf *sb, const char *s, size_t n)
{
    if (!reserve(sb, n))
        return;
    if (n > 0)
        memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void lc__strbuf_puts(struct lc__strbuf *sb, const char *s)
{
    lc__strbuf_append(sb, s, strlen(s));
}

void lc__strbuf_putc(struct lc__strbuf *sb, char c)
{
    lc__strbuf_append(sb, &c, 1);
}

void lc__strbuf_printf(struct lc__strbuf *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (sb->status == LC_OK)
            sb->status = LC_EINVAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        lc__strbuf_append(sb, small, (size_t)n);
        return;
    }
    if (!reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    (void)vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void lc__strbuf_double_plain(struct lc__strbuf *sb, double v)
{
    char buf[LC_DOUBLE_TEXT_CAP];
    lc__strbuf_append(sb, buf, lc__format_double_plain(v, buf));
}

void lc__strbuf_double_json(struct lc__strbuf *sb, double v)
{
    char buf[LC_DOUBLE_TEXT_CAP];
    lc__strbuf_append(sb, buf, lc__format_double_json(v, buf));
}

void lc__strbuf_json_string(struct lc__strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    lc__strbuf_putc(sb, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        lc__strbuf_append(sb, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"':
            lc__strbuf_puts(sb, "\\\"");
            break;
        case '\\':
            lc__strbuf_puts(sb, "\\\\");
            break;
        case '\n':
            lc__strbuf_puts(sb, "\\n");
            break;
        case '\r':
            lc__strbuf_puts(sb, "\\r");
            break;
        case '\t':
            lc__strbuf_puts(sb, "\\t");
            break;
        default: {
            char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            lc__strbuf_puts(sb, esc);
            break;
        }
        }
    }
    lc__strbuf_append(sb, s + start, n - start);
    lc__strbuf_putc(sb, '"');
}

void lc__strbuf_free(struct lc__strbuf *sb)
{
    lc__free(&sb->alloc, sb->data);
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->status = LC_OK;
}

/* ---- doubles to text ------------------------------------------------- */

/*
 * The shortest decimal digits d1 d2 ... dn (no leading or trailing zeros,
 * n <= 17) with v = 0.d1d2...dn * 10^point, |v| > 0 and finite. Tries 1 to
 * 17 significant digits with printf's correctly rounded %e, keeping the
 * first that reads back exactly; 17 always does for IEEE doubles.
 */
static size_t shortest_digits(double v, char digits[20], int *point)
{
    char buf[48];

    for (int prec = 1; prec <= 17; prec++) {
        (void)snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
        if (prec < 17 && strtod(buf, NULL) != v)
            continue;
        /* buf is "[-]d[.ddd]e[+-]xx", with the locale's decimal point. */
        size_t n = 0;
        const char *p = buf;
        if (*p == '-')
            p++;
        while (*p != 'e' && *p != '\0') {
            if (*p >= '0' && *p <= '9' && n < 19)
                digits[n++] = *p;
            p++;
        }
        int exp10 = *p == 'e' ? atoi(p + 1) : 0;
        while (n > 1 && digits[n - 1] == '0')
            n--;
        digits[n] = '\0';
        *point = exp10 + 1;
        return n;
    }
    /* Not reached for finite doubles. */
    digits[0] = '0';
    digits[1] = '\0';
    *point = 1;
    return 1;
}

static size_t put_zeros(char *buf, size_t at, int count)
{
    for (int i = 0; i < count; i++)
        buf[at++] = '0';
    return at;
}

size_t lc__format_double_plain(double v, char *buf)
{
    size_t at = 0;

    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (signbit(v))
        buf[at++] = '-';
    if (isinf(v)) {
        memcpy(buf + at, "inf", 4);
        return at + 3;
    }
    if (v == 0) {
        buf[at++] = '0';
        buf[at] = '\0';
        return at;
    }
    char digits[20];
    int point;
    size_t n = shortest_digits(v, digits, &point);
    if (point <= 0) {
        buf[at++] = '0';
        buf[at++] = '.';
        at = put_zeros(buf, at, -point);
        memcpy(buf + at, digits, n);
        at += n;
    } else if ((size_t)point >= n) {
        memcpy(buf + at, digits, n);
        at += n;
        at = put_zeros(buf, at, point - (int)n);
    } else {
        memcpy(buf + at, digits, (size_t)point);
        at += (size_t)point;
        buf[at++] = '.';
        memcpy(buf + at, digits + point, n - (size_t)point);
        at += n - (size_t)point;
    }
    buf[at] = '\0';
    return at;
}

size_t lc__format_double_json(double v, char *buf)
{
    size_t at = 0;

    if (!isfinite(v)) {
        memcpy(buf, "null", 5);
        return 4;
    }
    if (signbit(v))
        buf[at++] = '-';
    if (v == 0) {
        memcpy(buf + at, "0.0", 4);
        return at + 3;
    }
    char digits[20];
    int point;
    size_t n = shortest_digits(v, digits, &point);
    int k = point - (int)n; /* v = digits * 10^k */
    if (k >= 0 && point <= 16) {
        memcpy(buf + at, digits, n);
        at += n;
        at = put_zeros(buf, at, k);
        buf[at++] = '.';
        buf[at++] = '0';
    } else if (point > 0 && point <= 16) {
        memcpy(buf + at, digits, (size_t)point);
        at += (size_t)point;
        buf[at++] = '.';
        memcpy(buf + at, digits + point, n - (size_t)point);
        at += n - (size_t)point;
    } else if (point > -5 && point <= 0) {
        buf[at++] = '0';
        buf[at++] = '.';
        at = put_zeros(buf, at, -point);
        memcpy(buf + at, digits, n);
        at += n;
    } else {
        buf[at++] = digits[0];
        if (n > 1) {
            buf[at++] = '.';
            memcpy(buf + at, digits + 1, n - 1);
            at += n - 1;
        }
        at += (size_t)snprintf(buf + at, 8, "e%d", point - 1);
    }
    buf[at] = '\0';
    return at;
}

/* ---- text to doubles ------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t lc__scan_number(const char *s, size_t len)
{
    size_t i = 0;
    size_t ndigits = 0;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && is_digit(s[i])) {
        i++;
        ndigits++;
    }
    if (i < len && s[i] == '.') {
        size_t frac = 0;
        while (i + 1 + frac < len && is_digit(s[i + 1 + frac]))
            frac++;
        if (ndigits > 0 || frac > 0) {
            i += 1 + frac;
            ndigits += frac;
        }
    }
    if (ndigits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t expdigits = 0;
        while (j < len && is_digit(s[j])) {
            j++;
            expdigits++;
        }
        if (expdigits > 0)
            i = j;
    }
    return i;
}

bool lc__parse_double(const char *s, size_t len, double *out)
{
    char buf[1001];

    if (len == 0 || len >= sizeof(buf) || lc__scan_number(s, len) != len)
        return false;
    /* strtod reads the locale's decimal point; the library never changes
     * the locale, but the program it runs in may. */
    const struct lconv *lc = localeconv();
    char dp = lc != NULL && lc->decimal_point != NULL &&
                      lc->decimal_point[0] != '\0' &&
                      lc->decimal_point[1] == '\0'
                  ? lc->decimal_point[0]
                  : '.';
    for (size_t i = 0; i < len; i++)
        buf[i] = s[i] == '.' ? dp : s[i];
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if ((size_t)(end - buf) != len || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool lc__env_nbytes(const char *name, size_t *ret)
{
    const char *v = getenv(name);
    char *end;

    if (v == NULL || *v < '0' || *v > '9')
        return false;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end != '\0' || errno == ERANGE || n > SIZE_MAX)
        return false;
    *ret = (size_t)n;
    return true;
}
