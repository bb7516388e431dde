/* isotime.h - ISO 8601 / RFC 3339 timestamps: parsing, civil calendar
 * arithmetic and formatting, on int64 microseconds since the Unix epoch. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ISOTIME_H
#define LC_ISOTIME_H

#include "common.h"

#include "error.h"

/*
 * Instants are int64 microseconds since 1970-01-01T00:00:00Z (UTC, no leap
 * seconds: every day has 86400 s), on the proleptic Gregorian calendar, as
 * numpy's datetime64 and Arrow's timestamp[us, UTC] count them.
 *
 * The parser accepts what STAC items carry (RFC 3339) plus the ISO 8601
 * spellings Python's datetime.fromisoformat accepts in the same layout,
 * because the behaviour reference parses with it:
 *
 *   timestamp = date [ sep time [ offset ] ]
 *   date      = YYYY "-" MM "-" DD              year 0001..9999
 *   sep       = "T" | "t" | " "
 *   time      = hh ":" mm [ ":" ss [ frac ] ]   hh 00..23, ss 00..59
 *   frac      = ( "." | "," ) 1*9DIGIT
 *   offset    = "Z" | "z" | ( "+" | "-" ) hh [ [ ":" ] mm ]
 *
 * A time without an offset is read as UTC (as the reference does with naive
 * timestamps); a bare date means its midnight UTC. The offset is applied, so
 * 05:00:00-05:00 and 10:00:00Z are the same instant (UTC has no DST, and the
 * text carries its own offset, so nothing depends on a time-zone database).
 * Refused, with the position of the first offending character: basic format
 * (20230115T100000Z), week and ordinal dates, hour-only times, hour 24,
 * leap second 60, more than 9 fractional digits, year 0000, impossible days
 * (2023-02-29), trailing characters. Digits below the microsecond are kept
 * apart in ns_frac; the instant itself is truncated to the microsecond, as
 * Python's datetime does.
 */

#define LC_US_PER_S INT64_C(1000000)
#define LC_US_PER_DAY (INT64_C(86400) * LC_US_PER_S)

/* The instants the parser can produce and the formatters accept:
 * [0001-01-01T00:00:00Z, 10000-01-01T00:00:00Z) widened by one day on each
 * side for offsets (0001-01-01T00:00+01:00 is in year 0 in UTC). */
#define LC_ISOTIME_MIN_US (INT64_C(-62135596800) * LC_US_PER_S - LC_US_PER_DAY)
#define LC_ISOTIME_MAX_US (INT64_C(253402300800) * LC_US_PER_S + LC_US_PER_DAY)

/* What lc__isotime_parse found. */
struct lc__isotime {
    int64_t us;          /* the instant, UTC microseconds since the epoch */
    uint32_t ns_frac;    /* 0..999 nanoseconds below the microsecond */
    int32_t offset_s;    /* the offset written, seconds east of UTC (0: Z) */
    uint8_t frac_digits; /* fractional digits written, 0..9 */
    bool has_time;       /* false for a bare date */
    bool has_offset;     /* false for a bare date or a naive time */
};

/*
 * Parses the len bytes at text (no NUL needed) as one timestamp. Returns
 * LC_OK and fills *t_ret, or LC_EINVAL with a message in err of the form
 * "Invalid timestamp '<text>'. Expected <what> at position <n>." (0-based
 * byte position). Thread-safe.
 */
int lc__isotime_parse(const char *text, size_t len, struct lc__isotime *t_ret,
                      struct lc__errbuf *err);

/*
 * Parses a STAC-style datetime that may be an interval "start/end" (either
 * side a timestamp as above; "" or ".." for an open end). Fills *start_ret
 * and *end_ret (unset sides are left alone) and says which sides were given.
 * A closed interval must not end before it starts. Returns LC_OK or
 * LC_EINVAL with a message. Thread-safe.
 */
int lc__isotime_parse_interval(const char *text, size_t len,
                               struct lc__isotime *start_ret, bool *has_start,
                               struct lc__isotime *end_ret, bool *has_end,
                               struct lc__errbuf *err);

/* ---- civil calendar ------------------------------------------------------ */

/* Floor division and the matching non-negative remainder (b > 0). */
static inline int64_t lc__floordiv_i64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static inline int64_t lc__floormod_i64(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static inline bool lc__is_leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days in month m (1..12) of year y. */
unsigned lc__days_in_month(int64_t y, unsigned m);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d, and back.
 * Exact for every int32 year; m is 1..12, d 1..31. */
int64_t lc__days_from_civil(int64_t y, unsigned m, unsigned d);
void lc__civil_from_days(int64_t days, int64_t *y_ret, unsigned *m_ret,
                         unsigned *d_ret);

/* ISO weekday of a day number: 1 = Monday .. 7 = Sunday. */
static inline unsigned lc__iso_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday. */
    return (unsigned)lc__floormod_i64(days + 3, 7) + 1;
}

/* ISO 8601 week of a day number: the week-numbering year (which differs
 * from the calendar year for a few days around 1 January) and the week
 * 1..53. Week 1 is the week holding the year's first Thursday. */
void lc__iso_week(int64_t days, int64_t *iso_year_ret, unsigned *week_ret);

/* Day number of the Monday of ISO week `week` of iso_year. */
int64_t lc__iso_week_monday(int64_t iso_year, unsigned week);

/* ---- formatting ---------------------------------------------------------- */

enum lc__isotime_style {
    LC_ISOTIME_DATE,    /* 2023-01-15 */
    LC_ISOTIME_SECONDS, /* 2023-01-15T10:00:00Z */
    LC_ISOTIME_AUTO     /* ...T10:00:00Z, or ...T10:00:00.123456Z when the
                           microseconds are not 0 (Python's isoformat
                           timespec="auto" followed by Z) */
};

/* Longest text a formatter writes, NUL included. */
#define LC_ISOTIME_FORMAT_CAP 40

/*
 * Writes the instant us in style into buf (cap bytes, NUL-terminated) and
 * returns the length, or 0 when cap is too small. Years 0..9999 take four
 * digits; others (reachable only through arithmetic, never from the parser)
 * are written in the ISO 8601 expanded form with a sign and six digits.
 * Thread-safe.
 */
size_t lc__isotime_format(int64_t us, enum lc__isotime_style style, char *buf,
                          size_t cap);

#endif /* LC_ISOTIME_H */
