/* temporal.h - temporal grouping of item instants into the time steps of the
 * time axis (time_period None, PTnH, P1D, PnD, P1W, PnW, P1M, P1Y). */
/* SPDX-License-Identifier: MIT */
#ifndef LC_TEMPORAL_H
#define LC_TEMPORAL_H

#include "../common/common.h"

#include "../common/alloc.h"
#include "../common/error.h"

/*
 * A grouper maps every item instant (int64 UTC microseconds, see
 * common/isotime.h) to a bucket. A bucket is named by its key, the instant
 * it starts at, and covers [start, end). Keys are plain integers, so sorting
 * them is chronological for every period, before 2000 as after; the
 * reference's string labels are still produced for explain() and messages.
 *
 *   period     bucket                               label        filter (*)
 *   None       the instant itself                   ...T10:00:00.5Z = label
 *   PTnH       n hours from 2000-01-01T00:00Z       ...T06:00:00Z start/end-1s
 *   P1D        the UTC day                          2023-01-15   = label
 *   PnD (n>1)  n days from 2000-01-01               000123       first/last day
 *   P1W        ISO week, Monday to Sunday           2021-W52     Monday/Sunday
 *   PnW (n>1)  7n days from 2000-01-01 (a Saturday) as PnD       as PnD
 *   P1M        calendar month                       2023-02      01/last day
 *   P1Y        calendar year                        2023         01-01/12-31
 *
 *   (*) the reference's rustac `datetime=` predicate: closed ranges of
 *       dates, or of whole seconds for PTnH.
 *
 * Coordinates (lc__grouper_coord): the bucket start as numpy datetime64[s]
 * for every period but None, which gives datetime64[ns] of the instant (the
 * reference's coordinate dtypes; its datetime64[D] day coordinates are
 * stored by xarray as datetime64[s]).
 *
 * Differences from the reference (behaviour reference §2.6 and §6), on
 * purpose:
 *   - Every instant is normalised to UTC before grouping, for every period.
 *     The reference takes the literal date prefix of the text for
 *     P1D/PnD/P1W/P1M/P1Y, so 2023-01-15T23:30-05:00 falls on 2023-01-15
 *     there and on 2023-01-16 (its UTC day) here.
 *   - An item datetime written as an interval "start/end" is grouped by its
 *     start (the reference reads the first characters of the text, which is
 *     the start's date for day-like periods and a parse error otherwise).
 *   - PnD buckets before 2000 sort before later ones (the reference sorts
 *     labels such as "-00001" as strings, after "000000"); exact keys with
 *     and without fractional seconds sort chronologically.
 *   - PTnH floors sub-second instants correctly (the reference truncates
 *     the elapsed seconds towards zero, which misplaces fractional instants
 *     before 2000-01-01).
 *   - Timestamps are parsed strictly (common/isotime.h) for every period;
 *     the reference never parses the text for P1D/P1M/P1Y. A space or a
 *     lower-case t may separate date and time (RFC 3339 allows both),
 *     where the reference wants a 'T' for None and PTnH. Messages for bad
 *     timestamps start with the reference's "Invalid timestamp '<v>'." and
 *     go on to say what was expected at which position.
 *   - P0D, P0W and counts too large to represent are refused when the
 *     period is parsed; the reference accepts P0D/P0W and divides by zero
 *     later.
 *   - Exact grouping keeps microseconds, as Python's datetime does: digits
 *     below the microsecond do not separate items.
 * Kept as the reference does it: PnD and PnW are anchored at 2000-01-01,
 * so PnW windows start on Saturdays, not Mondays; PTnH is anchored at
 * 2000-01-01T00:00:00Z; bare dates are refused for None and PTnH.
 */

enum lc__period_kind {
    LC_PERIOD_EXACT = 0, /* time_period None */
    LC_PERIOD_HOURS,     /* PTnH, n >= 1 */
    LC_PERIOD_DAY,       /* P1D */
    LC_PERIOD_DAYS,      /* PnD (n > 1) and PnW (n > 1, as 7n days) */
    LC_PERIOD_WEEK,      /* P1W */
    LC_PERIOD_MONTH,     /* P1M */
    LC_PERIOD_YEAR       /* P1Y */
};

/* Largest bucket of PnD/PnW and of PTnH (about 2700 years). */
#define LC_PERIOD_MAX_DAYS INT64_C(1000000)
#define LC_PERIOD_MAX_HOURS (LC_PERIOD_MAX_DAYS * 24)

/* A parsed time_period; plain data, freely copied, safe to share between
 * threads. */
struct lc__grouper {
    enum lc__period_kind kind;
    int64_t n;        /* hours (HOURS), days (DAYS), otherwise 1 */
    int64_t width_us; /* bucket length when fixed (HOURS, DAY, DAYS, WEEK);
                         0 for EXACT, MONTH and YEAR */
};

/*
 * Parses time_period (NULL means None: exact instants) into *g. Accepts
 * exactly the reference's grammar, ^P(\d+)(D|W|M|Y)$ and ^PT(\d+)H$, with
 * the counts it supports. Anything else returns LC_EINVAL with the
 * reference's message: "Unsupported time_period '<v>'. Supported values:
 * None, 'P1D', 'PnD' (n>1), 'P1W', 'P1M', 'P1Y', and 'PTnH' (n>=1)." (a
 * count beyond LC_PERIOD_MAX_* gets its own sentence after the first).
 */
int lc__grouper_init(struct lc__grouper *g, const char *time_period,
                     struct lc__errbuf *err);

/*
 * Reads an item datetime text (len bytes) as the instant g groups: a
 * timestamp, or the start of a "start/end" interval. Bare dates mean their
 * midnight UTC, except for None and PTnH, which need a time. Returns LC_OK,
 * or LC_EINVAL with the reference's messages: "Invalid timestamp '<v>'. ..."
 * (with what was expected where) and "Timestamp '<v>' must include a time
 * component for exact or sub-daily temporal grouping.".
 */
int lc__grouper_parse_datetime(const struct lc__grouper *g, const char *text,
                               size_t len, int64_t *us_ret,
                               struct lc__errbuf *err);

/*
 * The key (bucket start) of instant us. Returns LC_OK, or LC_EINVAL when us
 * lies outside the years 1 to 9999 (LC_ISOTIME_MIN_US..MAX_US).
 */
int lc__grouper_key(const struct lc__grouper *g, int64_t us, int64_t *key_ret,
                    struct lc__errbuf *err);

/* The bucket [*start_ret, *end_ret) of a key returned by lc__grouper_key. */
void lc__grouper_range(const struct lc__grouper *g, int64_t key,
                       int64_t *start_ret, int64_t *end_ret);

/* Longest label or filter text, NUL included. */
#define LC_GROUPER_TEXT_CAP 96

/*
 * The reference's label of a bucket ("2023-01-15", "2023-W02", "000123",
 * "2023-01-15T10:00:00.123456Z"...) and its rustac datetime filter
 * ("2023-01-09/2023-01-15", "2025-01-01T00:00:00Z/2025-01-01T00:59:59Z"...),
 * written NUL-terminated into buf (cap bytes). Return the length, or 0 when
 * cap is too small (LC_GROUPER_TEXT_CAP always suffices).
 */
size_t lc__grouper_label(const struct lc__grouper *g, int64_t key, char *buf,
                         size_t cap);
size_t lc__grouper_filter(const struct lc__grouper *g, int64_t key, char *buf,
                          size_t cap);

/* Units of a datetime64 coordinate. */
enum lc__time_unit {
    LC_TIME_UNIT_S = 0, /* datetime64[s] */
    LC_TIME_UNIT_NS = 1 /* datetime64[ns] */
};

/* The unit of g's coordinates: ns for None, s for every other period. */
enum lc__time_unit lc__grouper_coord_unit(const struct lc__grouper *g);

/*
 * The coordinate of a bucket: its start counted in lc__grouper_coord_unit
 * units since the epoch. Returns LC_OK, or LC_EUNSUPPORTED when a None
 * coordinate falls outside what datetime64[ns] holds (1677-09-21 to
 * 2262-04-11).
 */
int lc__grouper_coord(const struct lc__grouper *g, int64_t key,
                      int64_t *coord_ret, struct lc__errbuf *err);

/*
 * The time steps of a set of items: the distinct keys of the n instants,
 * sorted (chronologically), in a new array *keys_ret of *nkeys_ret entries
 * allocated with a (free it with lc__free(a, ...)). When group_of_item is
 * not NULL it receives, for each instant, the index of its key in
 * *keys_ret. n == 0 gives *nkeys_ret == 0 and a valid empty array. Returns
 * LC_OK, LC_EINVAL (an instant out of range) or LC_ENOMEM; on failure
 * *keys_ret is NULL.
 */
int lc__grouper_groups(const struct lc__grouper *g, const int64_t *instants,
                       size_t n, const struct lc_allocator *a,
                       int64_t **keys_ret, size_t *nkeys_ret,
                       size_t *group_of_item, struct lc__errbuf *err);

#endif /* LC_TEMPORAL_H */
