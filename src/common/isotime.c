/* isotime.c - ISO 8601 / RFC 3339 timestamp parsing, calendar arithmetic and
 * formatting (grammar and guarantees in isotime.h). */
/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <stdio.h>

#include "isotime.h"

/* ---- civil calendar ------------------------------------------------------ */

unsigned lc__days_in_month(int64_t y, unsigned m)
{
    static const uint8_t days[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};

    LC_ASSERT(m >= 1 && m <= 12);
    if (m == 2 && lc__is_leap_year(y))
        return 29;
    return days[m - 1];
}

/*
 * The two conversions count in 400-year eras of 146097 days, with years
 * starting on 1 March so that the leap day is the last day of the year
 * (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms").
 */
int64_t lc__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = lc__floordiv_i64(y, 400);
    int64_t yoe = y - era * 400;                          /* 0..399 */
    int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9; /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;    /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  /* 0..146096 */
    return era * 146097 + doe - 719468;
}

void lc__civil_from_days(int64_t days, int64_t *y_ret, unsigned *m_ret,
                         unsigned *d_ret)
{
    int64_t z = days + 719468;
    int64_t era = lc__floordiv_i64(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

    *y_ret = yoe + era * 400 + (m <= 2);
    *m_ret = m;
    *d_ret = d;
}

void lc__iso_week(int64_t days, int64_t *iso_year_ret, unsigned *week_ret)
{
    /* The week belongs to the year of its Thursday. */
    int64_t thursday = days - (int64_t)lc__iso_weekday(days) + 4;
    int64_t y;
    unsigned m, d;

    lc__civil_from_days(thursday, &y, &m, &d);
    int64_t jan1 = lc__days_from_civil(y, 1, 1);
    *iso_year_ret = y;
    *week_ret = (unsigned)((thursday - jan1) / 7 + 1);
}

int64_t lc__iso_week_monday(int64_t iso_year, unsigned week)
{
    /* 4 January is always in week 1. */
    int64_t jan4 = lc__days_from_civil(iso_year, 1, 4);
    int64_t monday1 = jan4 - (int64_t)lc__iso_weekday(jan4) + 1;
    return monday1 + 7 * ((int64_t)week - 1);
}

/* ---- parsing ------------------------------------------------------------- */

/* The text being parsed, for positions and messages. */
struct cursor {
    const char *whole; /* the text named in messages */
    size_t whole_len;
    const char *s; /* the part being parsed: whole + base */
    size_t len;
    size_t base;
    size_t pos; /* within s */
};

/* Longest piece of the text quoted in a message. */
#define QUOTE_MAX 120

static int fail(struct lc__errbuf *err, const struct cursor *c, size_t pos,
                const char *what)
{
    int n = (int)(c->whole_len < QUOTE_MAX ? c->whole_len : QUOTE_MAX);
    return lc__error(
        err, LC_EINVAL, "Invalid timestamp '%.*s%s'. %s at position %zu.", n,
        c->whole, c->whole_len > QUOTE_MAX ? "..." : "", what, c->base + pos);
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Reads exactly n digits at the cursor into *v. */
static bool take_digits(struct cursor *c, size_t n, unsigned *v)
{
    unsigned x = 0;

    if (c->len - c->pos < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = c->s[c->pos + i];
        if (!is_digit(ch))
            return false;
        x = x * 10 + (unsigned)(ch - '0');
    }
    c->pos += n;
    *v = x;
    return true;
}

static bool take_char(struct cursor *c, char ch)
{
    if (c->pos < c->len && c->s[c->pos] == ch) {
        c->pos++;
        return true;
    }
    return false;
}

static bool at_end(const struct cursor *c)
{
    return c->pos == c->len;
}

/* Two digits at the cursor, checked against max; what names the field. */
static int take_field(struct cursor *c, unsigned max, const char *expected,
                      const char *range, unsigned *v, struct lc__errbuf *err)
{
    size_t at = c->pos;

    if (!take_digits(c, 2, v))
        return fail(err, c, at, expected);
    if (*v > max)
        return fail(err, c, at, range);
    return LC_OK;
}

static int parse_date(struct cursor *c, int64_t *days_ret,
                      struct lc__errbuf *err)
{
    unsigned y, m, d;

    if (!take_digits(c, 4, &y))
        return fail(err, c, c->pos, "Expected a 4-digit year");
    if (y == 0)
        return fail(err, c, 0, "Year 0000 is out of range (0001 to 9999)");
    if (!take_char(c, '-'))
        return fail(err, c, c->pos, "Expected '-' after the year");
    size_t month_at = c->pos;
    LC_FORWARD_IF_ERROR(take_field(c, 12, "Expected a 2-digit month",
                                   "Month must be 01 to 12", &m, err));
    if (m == 0)
        return fail(err, c, month_at, "Month must be 01 to 12");
    if (!take_char(c, '-'))
        return fail(err, c, c->pos, "Expected '-' after the month");
    size_t day_at = c->pos;
    LC_FORWARD_IF_ERROR(take_field(c, 31, "Expected a 2-digit day",
                                   "Day must be 01 to 31", &d, err));
    if (d == 0)
        return fail(err, c, day_at, "Day must be 01 to 31");
    if (d > lc__days_in_month(y, m)) {
        char what[64];
        (void)snprintf(what, sizeof(what),
                       "Day %02u does not exist in %04u-%02u", d, y, m);
        return fail(err, c, day_at, what);
    }
    *days_ret = lc__days_from_civil(y, m, d);
    return LC_OK;
}

/* Offset after a time: Z, or +hh, +hhmm, +hh:mm (and -). */
static int parse_offset(struct cursor *c, struct lc__isotime *t,
                        struct lc__errbuf *err)
{
    if (at_end(c))
        return LC_OK;
    char ch = c->s[c->pos];
    if (ch == 'Z' || ch == 'z') {
        c->pos++;
        t->has_offset = true;
        t->offset_s = 0;
        return LC_OK;
    }
    if (ch != '+' && ch != '-')
        return fail(err, c, c->pos,
                    "Expected an offset (Z, +hh:mm or -hh:mm) or the end");
    c->pos++;
    unsigned hh, mm = 0;
    LC_FORWARD_IF_ERROR(take_field(c, 23, "Expected 2-digit offset hours",
                                   "Offset hours must be 00 to 23", &hh, err));
    if (take_char(c, ':')) {
        LC_FORWARD_IF_ERROR(take_field(c, 59, "Expected 2-digit offset minutes",
                                       "Offset minutes must be 00 to 59", &mm,
                                       err));
    } else if (!at_end(c) && is_digit(c->s[c->pos])) {
        LC_FORWARD_IF_ERROR(take_field(c, 59, "Expected 2-digit offset minutes",
                                       "Offset minutes must be 00 to 59", &mm,
                                       err));
    }
    int32_t off = (int32_t)(hh * 3600 + mm * 60);
    t->has_offset = true;
    t->offset_s = ch == '-' ? -off : off;
    return LC_OK;
}

static int parse_time(struct cursor *c, int64_t *secs_ret, uint32_t *frac_ns,
                      uint8_t *frac_digits, struct lc__errbuf *err)
{
    unsigned hh, mm, ss = 0;

    LC_FORWARD_IF_ERROR(take_field(c, 23, "Expected a 2-digit hour",
                                   "Hour must be 00 to 23", &hh, err));
    if (!take_char(c, ':'))
        return fail(err, c, c->pos, "Expected ':' and 2-digit minutes");
    LC_FORWARD_IF_ERROR(take_field(c, 59, "Expected 2-digit minutes",
                                   "Minutes must be 00 to 59", &mm, err));
    *frac_ns = 0;
    *frac_digits = 0;
    if (take_char(c, ':')) {
        size_t sec_at = c->pos;
        LC_FORWARD_IF_ERROR(take_field(c, 60, "Expected 2-digit seconds",
                                       "Seconds must be 00 to 59", &ss, err));
        if (ss == 60)
            return fail(err, c, sec_at,
                        "Leap second 60 is not supported (seconds must be "
                        "00 to 59)");
        if (c->pos < c->len && (c->s[c->pos] == '.' || c->s[c->pos] == ',')) {
            c->pos++;
            size_t frac_at = c->pos;
            uint32_t ns = 0;
            unsigned n = 0;
            while (c->pos < c->len && is_digit(c->s[c->pos])) {
                if (n == 9)
                    return fail(err, c, c->pos,
                                "At most 9 fractional digits are supported");
                ns = ns * 10 + (uint32_t)(c->s[c->pos] - '0');
                n++;
                c->pos++;
            }
            if (n == 0)
                return fail(err, c, frac_at, "Expected fractional digits");
            for (unsigned i = n; i < 9; i++)
                ns *= 10;
            *frac_ns = ns;
            *frac_digits = (uint8_t)n;
        }
    }
    *secs_ret = (int64_t)hh * 3600 + (int64_t)mm * 60 + (int64_t)ss;
    return LC_OK;
}

static int parse_one(struct cursor *c, struct lc__isotime *t_ret,
                     struct lc__errbuf *err)
{
    struct lc__isotime t = {0};
    int64_t days = 0;
    int64_t secs = 0;
    uint32_t frac_ns = 0;

    LC_FORWARD_IF_ERROR(parse_date(c, &days, err));
    if (!at_end(c)) {
        char sep = c->s[c->pos];
        if (sep != 'T' && sep != 't' && sep != ' ')
            return fail(err, c, c->pos, "Expected 'T' and a time, or the end");
        c->pos++;
        LC_FORWARD_IF_ERROR(
            parse_time(c, &secs, &frac_ns, &t.frac_digits, err));
        t.has_time = true;
        LC_FORWARD_IF_ERROR(parse_offset(c, &t, err));
        if (!at_end(c))
            return fail(err, c, c->pos, "Unexpected character");
    }
    t.ns_frac = frac_ns % 1000;
    t.us = (days * 86400 + secs - t.offset_s) * LC_US_PER_S +
           (int64_t)(frac_ns / 1000);
    *t_ret = t;
    return LC_OK;
}

int lc__isotime_parse(const char *text, size_t len, struct lc__isotime *t_ret,
                      struct lc__errbuf *err)
{
    struct cursor c = {text, len, text, len, 0, 0};

    if (text == NULL)
        return lc__error(err, LC_EINVAL, "Invalid timestamp: NULL");
    return parse_one(&c, t_ret, err);
}

static bool is_open_end(const char *s, size_t len)
{
    return len == 0 || (len == 2 && s[0] == '.' && s[1] == '.');
}

int lc__isotime_parse_interval(const char *text, size_t len,
                               struct lc__isotime *start_ret, bool *has_start,
                               struct lc__isotime *end_ret, bool *has_end,
                               struct lc__errbuf *err)
{
    if (text == NULL)
        return lc__error(err, LC_EINVAL, "Invalid timestamp: NULL");
    const char *slash = memchr(text, '/', len);
    struct cursor whole = {text, len, text, len, 0, 0};
    if (slash == NULL)
        return fail(err, &whole, len, "Expected '/' between start and end");

    size_t start_len = (size_t)(slash - text);
    size_t end_base = start_len + 1;
    struct cursor a = {text, len, text, start_len, 0, 0};
    struct cursor b = {text, len, slash + 1, len - end_base, end_base, 0};
    struct lc__isotime start = {0}, end = {0};

    *has_start = !is_open_end(a.s, a.len);
    *has_end = !is_open_end(b.s, b.len);
    if (*has_start)
        LC_FORWARD_IF_ERROR(parse_one(&a, &start, err));
    if (*has_end)
        LC_FORWARD_IF_ERROR(parse_one(&b, &end, err));
    if (*has_start && *has_end &&
        (end.us < start.us ||
         (end.us == start.us && end.ns_frac < start.ns_frac)))
        return fail(err, &whole, end_base,
                    "The interval ends before it starts");
    if (*has_start)
        *start_ret = start;
    if (*has_end)
        *end_ret = end;
    return LC_OK;
}

/* ---- formatting ---------------------------------------------------------- */

size_t lc__isotime_format(int64_t us, enum lc__isotime_style style, char *buf,
                          size_t cap)
{
    int64_t days = lc__floordiv_i64(us, LC_US_PER_DAY);
    int64_t in_day = us - days * LC_US_PER_DAY; /* 0 .. 86399999999 */
    int64_t y;
    unsigned m, d;
    char year[16];
    int n = -1;

    lc__civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999)
        (void)snprintf(year, sizeof(year), "%04" PRId64, y);
    else
        (void)snprintf(year, sizeof(year), "%+07" PRId64, y);

    unsigned secs = (unsigned)(in_day / LC_US_PER_S);
    unsigned micros = (unsigned)(in_day % LC_US_PER_S);
    unsigned hh = secs / 3600, mm = secs / 60 % 60, ss = secs % 60;
    switch (style) {
    case LC_ISOTIME_DATE:
        n = snprintf(buf, cap, "%s-%02u-%02u", year, m, d);
        break;
    case LC_ISOTIME_AUTO:
        if (micros != 0) {
            n = snprintf(buf, cap, "%s-%02u-%02uT%02u:%02u:%02u.%06uZ", year, m,
                         d, hh, mm, ss, micros);
            break;
        }
        n = snprintf(buf, cap, "%s-%02u-%02uT%02u:%02u:%02uZ", year, m, d, hh,
                     mm, ss);
        break;
    case LC_ISOTIME_SECONDS:
        n = snprintf(buf, cap, "%s-%02u-%02uT%02u:%02u:%02uZ", year, m, d, hh,
                     mm, ss);
        break;
    }
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}
