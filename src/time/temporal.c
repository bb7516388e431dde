/* temporal.c - temporal groupers: time_period parsing, bucket keys, ranges,
 * labels, filters and coordinates (semantics in temporal.h). */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "../common/isotime.h"
#include "temporal.h"

/* 2000-01-01, the anchor of PnD, PnW and PTnH buckets, in days and us. */
#define EPOCH2000_DAYS INT64_C(10957)
#define EPOCH2000_US (EPOCH2000_DAYS * LC_US_PER_DAY)
#define US_PER_HOUR (INT64_C(3600) * LC_US_PER_S)

/* Longest time_period or timestamp quoted in a message. */
#define QUOTE_MAX 64

static int unsupported(struct lc__errbuf *err, const char *period,
                       const char *extra)
{
    size_t len = strlen(period);
    int n = (int)(len < QUOTE_MAX ? len : QUOTE_MAX);
    return lc__error(err, LC_EINVAL,
                     "Unsupported time_period '%.*s%s'. Supported values: "
                     "None, 'P1D', 'PnD' (n>1), 'P1W', 'P1M', 'P1Y', and "
                     "'PTnH' (n>=1).%s",
                     n, period, len > QUOTE_MAX ? "..." : "", extra);
}

/* Reads the decimal count at *p (one digit at least), saturating at
 * INT64_MAX; advances *p past it. */
static bool read_count(const char **p, int64_t *n_ret)
{
    const char *s = *p;
    int64_t n = 0;

    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        int digit = *s - '0';
        n = n > (INT64_MAX - digit) / 10 ? INT64_MAX : n * 10 + digit;
        s++;
    }
    *p = s;
    *n_ret = n;
    return true;
}

int lc__grouper_init(struct lc__grouper *g, const char *time_period,
                     struct lc__errbuf *err)
{
    static const char too_big[] = " The count is too large (at most 1000000 "
                                  "days or 24000000 hours).";
    struct lc__grouper out = {LC_PERIOD_EXACT, 1, 0};
    int64_t n = 0;

    if (time_period == NULL) {
        *g = out;
        return LC_OK;
    }
    const char *p = time_period;
    if (*p++ != 'P')
        return unsupported(err, time_period, "");
    if (*p == 'T') {
        p++;
        if (!read_count(&p, &n) || p[0] != 'H' || p[1] != '\0' || n < 1)
            return unsupported(err, time_period, "");
        if (n > LC_PERIOD_MAX_HOURS)
            return unsupported(err, time_period, too_big);
        out.kind = LC_PERIOD_HOURS;
        out.n = n;
        out.width_us = n * US_PER_HOUR;
        *g = out;
        return LC_OK;
    }
    if (!read_count(&p, &n) || p[0] == '\0' || p[1] != '\0' || n < 1)
        return unsupported(err, time_period, "");
    switch (p[0]) {
    case 'D':
    case 'W': {
        int64_t per = p[0] == 'W' ? 7 : 1;
        if (n == 1) {
            out.kind = per == 7 ? LC_PERIOD_WEEK : LC_PERIOD_DAY;
            out.width_us = per * LC_US_PER_DAY;
            break;
        }
        if (n > LC_PERIOD_MAX_DAYS / per)
            return unsupported(err, time_period, too_big);
        out.kind = LC_PERIOD_DAYS;
        out.n = n * per;
        out.width_us = out.n * LC_US_PER_DAY;
        break;
    }
    case 'M':
        if (n != 1)
            return unsupported(err, time_period, "");
        out.kind = LC_PERIOD_MONTH;
        break;
    case 'Y':
        if (n != 1)
            return unsupported(err, time_period, "");
        out.kind = LC_PERIOD_YEAR;
        break;
    default:
        return unsupported(err, time_period, "");
    }
    *g = out;
    return LC_OK;
}

int lc__grouper_parse_datetime(const struct lc__grouper *g, const char *text,
                               size_t len, int64_t *us_ret,
                               struct lc__errbuf *err)
{
    struct lc__isotime t = {0};

    if (text == NULL)
        return lc__error(err, LC_EINVAL, "Invalid timestamp: NULL");
    if (memchr(text, '/', len) != NULL) {
        struct lc__isotime end;
        bool has_start = false, has_end = false;
        LC_FORWARD_IF_ERROR(lc__isotime_parse_interval(
            text, len, &t, &has_start, &end, &has_end, err));
        if (!has_start) {
            int n = (int)(len < QUOTE_MAX ? len : QUOTE_MAX);
            return lc__error(err, LC_EINVAL,
                             "Invalid timestamp '%.*s%s'. An interval without "
                             "a start cannot be grouped.",
                             n, text, len > QUOTE_MAX ? "..." : "");
        }
    } else {
        LC_FORWARD_IF_ERROR(lc__isotime_parse(text, len, &t, err));
    }
    if (!t.has_time &&
        (g->kind == LC_PERIOD_EXACT || g->kind == LC_PERIOD_HOURS)) {
        int n = (int)(len < QUOTE_MAX ? len : QUOTE_MAX);
        return lc__error(err, LC_EINVAL,
                         "Timestamp '%.*s%s' must include a time component "
                         "for exact or sub-daily temporal grouping.",
                         n, text, len > QUOTE_MAX ? "..." : "");
    }
    *us_ret = t.us;
    return LC_OK;
}

/* Day number of the first day of the month or year holding day `days`. */
static int64_t month_start(int64_t days)
{
    int64_t y;
    unsigned m, d;

    lc__civil_from_days(days, &y, &m, &d);
    return lc__days_from_civil(y, m, 1);
}

static int64_t year_start(int64_t days)
{
    int64_t y;
    unsigned m, d;

    lc__civil_from_days(days, &y, &m, &d);
    return lc__days_from_civil(y, 1, 1);
}

int lc__grouper_key(const struct lc__grouper *g, int64_t us, int64_t *key_ret,
                    struct lc__errbuf *err)
{
    LC_RETURN_IF(us < LC_ISOTIME_MIN_US || us >= LC_ISOTIME_MAX_US, err,
                 LC_EINVAL,
                 "Timestamp %" PRId64 " us since 1970 is outside the years "
                 "1 to 9999",
                 us);
    int64_t days = lc__floordiv_i64(us, LC_US_PER_DAY);
    int64_t key = us;
    switch (g->kind) {
    case LC_PERIOD_EXACT:
        break;
    case LC_PERIOD_HOURS:
        key = EPOCH2000_US +
              lc__floordiv_i64(us - EPOCH2000_US, g->width_us) * g->width_us;
        break;
    case LC_PERIOD_DAY:
        key = days * LC_US_PER_DAY;
        break;
    case LC_PERIOD_DAYS:
        key = (EPOCH2000_DAYS +
               lc__floordiv_i64(days - EPOCH2000_DAYS, g->n) * g->n) *
              LC_US_PER_DAY;
        break;
    case LC_PERIOD_WEEK:
        key = (days - (int64_t)lc__iso_weekday(days) + 1) * LC_US_PER_DAY;
        break;
    case LC_PERIOD_MONTH:
        key = month_start(days) * LC_US_PER_DAY;
        break;
    case LC_PERIOD_YEAR:
        key = year_start(days) * LC_US_PER_DAY;
        break;
    }
    *key_ret = key;
    return LC_OK;
}

void lc__grouper_range(const struct lc__grouper *g, int64_t key,
                       int64_t *start_ret, int64_t *end_ret)
{
    int64_t days = lc__floordiv_i64(key, LC_US_PER_DAY);
    int64_t y;
    unsigned m, d;
    int64_t end = key + 1;

    switch (g->kind) {
    case LC_PERIOD_EXACT:
        break;
    case LC_PERIOD_HOURS:
    case LC_PERIOD_DAY:
    case LC_PERIOD_DAYS:
    case LC_PERIOD_WEEK:
        end = key + g->width_us;
        break;
    case LC_PERIOD_MONTH:
        lc__civil_from_days(days, &y, &m, &d);
        end = (days + lc__days_in_month(y, m)) * LC_US_PER_DAY;
        break;
    case LC_PERIOD_YEAR:
        lc__civil_from_days(days, &y, &m, &d);
        end = lc__days_from_civil(y + 1, 1, 1) * LC_US_PER_DAY;
        break;
    }
    *start_ret = key;
    *end_ret = end;
}

/* Writes "<first day>/<last day>" of [start, end), both whole days. */
static size_t date_range(int64_t start, int64_t end, char *buf, size_t cap)
{
    char a[LC_ISOTIME_FORMAT_CAP], b[LC_ISOTIME_FORMAT_CAP];

    if (lc__isotime_format(start, LC_ISOTIME_DATE, a, sizeof(a)) == 0 ||
        lc__isotime_format(end - LC_US_PER_DAY, LC_ISOTIME_DATE, b,
                           sizeof(b)) == 0)
        return 0;
    int n = snprintf(buf, cap, "%s/%s", a, b);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t lc__grouper_label(const struct lc__grouper *g, int64_t key, char *buf,
                         size_t cap)
{
    int64_t days = lc__floordiv_i64(key, LC_US_PER_DAY);
    int64_t y;
    unsigned m, d, week;
    int n = -1;

    switch (g->kind) {
    case LC_PERIOD_EXACT:
        return lc__isotime_format(key, LC_ISOTIME_AUTO, buf, cap);
    case LC_PERIOD_HOURS:
        return lc__isotime_format(key, LC_ISOTIME_SECONDS, buf, cap);
    case LC_PERIOD_DAY:
        return lc__isotime_format(key, LC_ISOTIME_DATE, buf, cap);
    case LC_PERIOD_DAYS:
        /* Python's f"{bucket:06d}": "-00001" for the bucket before 2000. */
        n = snprintf(buf, cap, "%06" PRId64, (days - EPOCH2000_DAYS) / g->n);
        break;
    case LC_PERIOD_WEEK:
        lc__iso_week(days, &y, &week);
        n = snprintf(buf, cap, "%04" PRId64 "-W%02u", y, week);
        break;
    case LC_PERIOD_MONTH:
        lc__civil_from_days(days, &y, &m, &d);
        n = snprintf(buf, cap, "%04" PRId64 "-%02u", y, m);
        break;
    case LC_PERIOD_YEAR:
        lc__civil_from_days(days, &y, &m, &d);
        n = snprintf(buf, cap, "%04" PRId64, y);
        break;
    }
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t lc__grouper_filter(const struct lc__grouper *g, int64_t key, char *buf,
                          size_t cap)
{
    int64_t start, end;
    char a[LC_ISOTIME_FORMAT_CAP], b[LC_ISOTIME_FORMAT_CAP];
    int n;

    lc__grouper_range(g, key, &start, &end);
    switch (g->kind) {
    case LC_PERIOD_EXACT:
        return lc__isotime_format(key, LC_ISOTIME_AUTO, buf, cap);
    case LC_PERIOD_DAY:
        return lc__isotime_format(key, LC_ISOTIME_DATE, buf, cap);
    case LC_PERIOD_HOURS:
        /* A closed range of whole seconds, as the reference sends rustac. */
        if (lc__isotime_format(start, LC_ISOTIME_SECONDS, a, sizeof(a)) == 0 ||
            lc__isotime_format(end - LC_US_PER_S, LC_ISOTIME_SECONDS, b,
                               sizeof(b)) == 0)
            return 0;
        n = snprintf(buf, cap, "%s/%s", a, b);
        return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
    case LC_PERIOD_DAYS:
    case LC_PERIOD_WEEK:
    case LC_PERIOD_MONTH:
    case LC_PERIOD_YEAR:
        return date_range(start, end, buf, cap);
    }
    return 0;
}

enum lc__time_unit lc__grouper_coord_unit(const struct lc__grouper *g)
{
    return g->kind == LC_PERIOD_EXACT ? LC_TIME_UNIT_NS : LC_TIME_UNIT_S;
}

int lc__grouper_coord(const struct lc__grouper *g, int64_t key,
                      int64_t *coord_ret, struct lc__errbuf *err)
{
    if (lc__grouper_coord_unit(g) == LC_TIME_UNIT_S) {
        *coord_ret = lc__floordiv_i64(key, LC_US_PER_S);
        return LC_OK;
    }
    int64_t ns;
    if (__builtin_mul_overflow(key, INT64_C(1000), &ns)) {
        char text[LC_ISOTIME_FORMAT_CAP];
        (void)lc__isotime_format(key, LC_ISOTIME_AUTO, text, sizeof(text));
        return lc__error(err, LC_EUNSUPPORTED,
                         "Timestamp %s cannot be a datetime64[ns] coordinate "
                         "(1677-09-21 to 2262-04-11)",
                         text);
    }
    *coord_ret = ns;
    return LC_OK;
}

static int compare_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa;
    int64_t b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

int lc__grouper_groups(const struct lc__grouper *g, const int64_t *instants,
                       size_t n, const struct lc_allocator *a,
                       int64_t **keys_ret, size_t *nkeys_ret,
                       size_t *group_of_item, struct lc__errbuf *err)
{
    *keys_ret = NULL;
    *nkeys_ret = 0;
    int64_t *keys = lc__malloc_array(a, n, sizeof(*keys));
    LC_RETURN_IF(keys == NULL, err, LC_ENOMEM,
                 "out of memory for the time steps of %zu items", n);
    for (size_t i = 0; i < n; i++) {
        int status = lc__grouper_key(g, instants[i], &keys[i], err);
        if (status < 0) {
            lc__free(a, keys);
            return status;
        }
    }
    if (n > 1)
        qsort(keys, n, sizeof(*keys), compare_i64);
    size_t nkeys = 0;
    for (size_t i = 0; i < n; i++) {
        if (nkeys == 0 || keys[nkeys - 1] != keys[i])
            keys[nkeys++] = keys[i];
    }
    if (group_of_item != NULL) {
        for (size_t i = 0; i < n; i++) {
            int64_t key = 0;
            (void)lc__grouper_key(g, instants[i], &key, NULL);
            /* Binary search: the key is present by construction. */
            size_t lo = 0, hi = nkeys;
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (keys[mid] <= key)
                    lo = mid;
                else
                    hi = mid;
            }
            LC_ASSERT(keys[lo] == key);
            group_of_item[i] = lo;
        }
    }
    *keys_ret = keys;
    *nkeys_ret = nkeys;
    return LC_OK;
}
