/* test_time.c - ISO 8601 timestamps (src/common/isotime) and temporal
 * groupers (src/time): every case of the reference's test_temporal.py,
 * then leap years, ISO weeks across year ends, PnD before 2000, offsets,
 * sub-second PTnH, intervals and the parser's errors. */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include "../../src/common/isotime.h"
#include "../../src/time/temporal.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------- */

static struct lc__grouper grouper(const char *period)
{
    struct lc__grouper g = {LC_PERIOD_EXACT, 1, 0};
    struct lc__errbuf err = {0};

    if (lc__grouper_init(&g, period, &err) != LC_OK) {
        fprintf(stderr, "grouper %s: %s\n", period ? period : "None", err.msg);
        lc_test_failures++;
    }
    return g;
}

/* Key of an item datetime text; INT64_MIN (and a failure) if refused. */
static int64_t key_of(const struct lc__grouper *g, const char *text)
{
    struct lc__errbuf err = {0};
    int64_t us = 0, key = 0;

    if (lc__grouper_parse_datetime(g, text, strlen(text), &us, &err) != 0 ||
        lc__grouper_key(g, us, &key, &err) != 0) {
        fprintf(stderr, "key of %s: %s\n", text, err.msg);
        lc_test_failures++;
        return INT64_MIN;
    }
    return key;
}

/* Label, filter and coordinate texts; each helper owns a rotating set of
 * buffers so that two results can be compared in one check. */
static char *next_buf(void)
{
    static char bufs[8][LC_GROUPER_TEXT_CAP];
    static unsigned n;
    return bufs[n++ % 8];
}

static const char *label_of(const struct lc__grouper *g, const char *text)
{
    char *buf = next_buf();
    if (lc__grouper_label(g, key_of(g, text), buf, LC_GROUPER_TEXT_CAP) == 0)
        return "(label failed)";
    return buf;
}

static const char *filter_of(const struct lc__grouper *g, const char *text)
{
    char *buf = next_buf();
    if (lc__grouper_filter(g, key_of(g, text), buf, LC_GROUPER_TEXT_CAP) == 0)
        return "(filter failed)";
    return buf;
}

static int64_t coord_of(const struct lc__grouper *g, const char *text)
{
    int64_t coord = 0;
    struct lc__errbuf err = {0};

    if (lc__grouper_coord(g, key_of(g, text), &coord, &err) != 0) {
        fprintf(stderr, "coord of %s: %s\n", text, err.msg);
        lc_test_failures++;
    }
    return coord;
}

/* Seconds since the epoch of a UTC date, for datetime64[s] coordinates. */
static int64_t date_s(int64_t y, unsigned m, unsigned d)
{
    return lc__days_from_civil(y, m, d) * 86400;
}

/* The message of refusing text under g ("" when it was accepted). */
static const char *datetime_error(const struct lc__grouper *g, const char *text)
{
    static struct lc__errbuf err;
    int64_t us = 0;

    memset(&err, 0, sizeof(err));
    if (lc__grouper_parse_datetime(g, text, strlen(text), &us, &err) == 0)
        return "";
    return err.msg;
}

static const char *period_error(const char *period)
{
    static struct lc__errbuf err;
    struct lc__grouper g;

    memset(&err, 0, sizeof(err));
    if (lc__grouper_init(&g, period, &err) == 0)
        return "";
    return err.msg;
}

static bool contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

/* Labels of the sorted distinct groups of texts, joined by spaces. */
static const char *groups_of(const struct lc__grouper *g, const char **texts,
                             size_t n)
{
    static char out[1024];
    int64_t instants[32];
    int64_t *keys = NULL;
    size_t nkeys = 0;
    struct lc__errbuf err = {0};

    out[0] = '\0';
    for (size_t i = 0; i < n && i < 32; i++) {
        if (lc__grouper_parse_datetime(g, texts[i], strlen(texts[i]),
                                       &instants[i], &err) != 0) {
            fprintf(stderr, "%s: %s\n", texts[i], err.msg);
            lc_test_failures++;
            return out;
        }
    }
    if (lc__grouper_groups(g, instants, n, NULL, &keys, &nkeys, NULL, &err) !=
        0) {
        fprintf(stderr, "groups: %s\n", err.msg);
        lc_test_failures++;
        return out;
    }
    for (size_t i = 0; i < nkeys; i++) {
        char label[LC_GROUPER_TEXT_CAP];
        (void)lc__grouper_label(g, keys[i], label, sizeof(label));
        if (i > 0)
            strcat(out, " ");
        strcat(out, label);
    }
    lc__free(NULL, keys);
    return out;
}

/* ---- reference: _DayGrouper ---------------------------------------------- */

static void test_day(void)
{
    struct lc__grouper g = grouper("P1D");

    LC_ASSERT_STR_EQ(label_of(&g, "2023-01-15T10:30:00Z"), "2023-01-15");
    LC_ASSERT_STR_EQ(label_of(&g, "2023-01-15"), "2023-01-15");
    LC_ASSERT_STR_EQ(filter_of(&g, "2023-01-15"), "2023-01-15");
    LC_ASSERT_EQ(lc__grouper_coord_unit(&g), LC_TIME_UNIT_S);
    LC_ASSERT_EQ(coord_of(&g, "2023-01-15"), date_s(2023, 1, 15));
    LC_ASSERT_EQ(coord_of(&g, "2023-01-15"), INT64_C(1673740800));
    LC_ASSERT_EQ(key_of(&g, "2023-01-15T08:00:00Z"),
                 key_of(&g, "2023-01-15T22:59:59Z"));
    const char *sample[] = {"2023-03-01T00:00Z", "2023-01-15T00:00Z",
                            "2023-06-30T00:00Z"};
    LC_ASSERT_STR_EQ(groups_of(&g, sample, 3),
                     "2023-01-15 2023-03-01 2023-06-30");
}

/* ---- reference: _WeekGrouper --------------------------------------------- */

static void test_week(void)
{
    struct lc__grouper g = grouper("P1W");

    LC_ASSERT_STR_EQ(label_of(&g, "2023-01-09T00:00:00Z"), "2023-W02");
    LC_ASSERT_STR_EQ(label_of(&g, "2022-01-02T00:00:00Z"), "2021-W52");
    LC_ASSERT_STR_EQ(label_of(&g, "2022-01-03T00:00:00Z"), "2022-W01");
    LC_ASSERT_STR_EQ(filter_of(&g, "2023-01-11T12:00:00Z"),
                     "2023-01-09/2023-01-15");
    LC_ASSERT_STR_EQ(filter_of(&g, "2022-01-02T00:00:00Z"),
                     "2021-12-27/2022-01-02");
    LC_ASSERT_EQ(coord_of(&g, "2023-01-13T00:00:00Z"), date_s(2023, 1, 9));
    const char *sample[] = {"2023-03-08T00:00:00Z", "2023-01-10T00:00:00Z",
                            "2023-01-17T00:00:00Z"};
    LC_ASSERT_STR_EQ(groups_of(&g, sample, 3), "2023-W02 2023-W03 2023-W10");
    LC_ASSERT_EQ(key_of(&g, "2023-01-09T00:00:00Z"),
                 key_of(&g, "2023-01-13T00:00:00Z"));
    LC_ASSERT_STR_EQ(label_of(&g, "2023-01-08T23:59:59Z"), "2023-W01");
    LC_ASSERT_STR_EQ(label_of(&g, "2023-01-09T00:00:00Z"), "2023-W02");
}

/* ---- reference: _MonthGrouper -------------------------------------------- */

static void test_month(void)
{
    struct lc__grouper g = grouper("P1M");

    LC_ASSERT_STR_EQ(label_of(&g, "2023-01-15T10:30:00Z"), "2023-01");
    LC_ASSERT_STR_EQ(filter_of(&g, "2023-01-15"), "2023-01-01/2023-01-31");
    LC_ASSERT_STR_EQ(filter_of(&g, "2023-02-15"), "2023-02-01/2023-02-28");
    LC_ASSERT_STR_EQ(filter_of(&g, "2024-02-15"), "2024-02-01/2024-02-29");
    LC_ASSERT_STR_EQ(filter_of(&g, "2023-04-15"), "2023-04-01/2023-04-30");
    LC_ASSERT_EQ(coord_of(&g, "2023-01-15"), date_s(2023, 1, 1));
    const char *sample[] = {"2023-06-02", "2023-01-02", "2022-12-02"};
    LC_ASSERT_STR_EQ(groups_of(&g, sample, 3), "2022-12 2023-01 2023-06");
    LC_ASSERT_EQ(key_of(&g, "2023-01-01T00:00Z"),
                 key_of(&g, "2023-01-31T23:59Z"));
}

/* ---- reference: _YearGrouper --------------------------------------------- */

static void test_year(void)
{
    struct lc__grouper g = grouper("P1Y");

    LC_ASSERT_STR_EQ(label_of(&g, "2023-06-15T10:00:00Z"), "2023");
    LC_ASSERT_STR_EQ(filter_of(&g, "2023-06-15"), "2023-01-01/2023-12-31");
    LC_ASSERT_EQ(coord_of(&g, "2023-06-15"), date_s(2023, 1, 1));
    const char *sample[] = {"2024-05-05", "2022-05-05", "2023-05-05"};
    LC_ASSERT_STR_EQ(groups_of(&g, sample, 3), "2022 2023 2024");
    LC_ASSERT_EQ(key_of(&g, "2023-01-01T00:00Z"),
                 key_of(&g, "2023-12-31T23:59Z"));
}

/* ---- reference: _FixedDayGrouper ----------------------------------------- */

static void test_fixed_days(void)
{
    struct lc__grouper g = grouper("P16D");

    LC_ASSERT_EQ(key_of(&g, "2023-01-10T00:00Z"),
                 key_of(&g, "2023-01-12T00:00Z"));
    /* Bucket 0 is 2000-01-01 .. 2000-01-16. */
    int64_t last = key_of(&g, "2000-01-16T23:59Z");
    int64_t next = key_of(&g, "2000-01-17T00:00Z");
    LC_ASSERT_TRUE(last < next);
    LC_ASSERT_STR_EQ(label_of(&g, "2000-01-16T23:59Z"), "000000");
    LC_ASSERT_STR_EQ(label_of(&g, "2000-01-17T00:00Z"), "000001");
    /* A 16-day window, both ends included. */
    LC_ASSERT_STR_EQ(filter_of(&g, "2000-01-01T00:00Z"),
                     "2000-01-01/2000-01-16");
    int64_t start, end;
    lc__grouper_range(&g, key_of(&g, "2000-01-01T00:00Z"), &start, &end);
    LC_ASSERT_EQ(end - start, 16 * LC_US_PER_DAY);
    LC_ASSERT_EQ(coord_of(&g, "2000-01-10T00:00Z"), date_s(2000, 1, 1));
    /* Determinism: two groupers of the same period agree. */
    struct lc__grouper g2 = grouper("P16D");
    LC_ASSERT_EQ(key_of(&g, "2023-01-15T00:00Z"),
                 key_of(&g2, "2023-01-15T00:00Z"));
    LC_ASSERT_STR_EQ(filter_of(&g, "2023-01-15T00:00Z"),
                     filter_of(&g2, "2023-01-15T00:00Z"));
    struct lc__grouper p5 = grouper("P5D");
    const char *dates[] = {"2023-01-05T00:00Z", "2023-03-01T00:00Z",
                           "2023-06-15T00:00Z"};
    int64_t k0 = key_of(&p5, dates[0]), k1 = key_of(&p5, dates[1]);
    int64_t k2 = key_of(&p5, dates[2]);
    LC_ASSERT_TRUE(k0 < k1 && k1 < k2);
    LC_ASSERT_TRUE(strcmp(label_of(&p5, dates[0]), label_of(&p5, dates[1])) <
                   0);
}

/* ---- reference: grouper_from_period -------------------------------------- */

static void test_factory(void)
{
    static const char message[] =
        "Unsupported time_period 'invalid'. Supported values: None, 'P1D', "
        "'PnD' (n>1), 'P1W', 'P1M', 'P1Y', and 'PTnH' (n>=1).";

    LC_ASSERT_EQ(grouper("P1D").kind, LC_PERIOD_DAY);
    LC_ASSERT_EQ(grouper("P16D").kind, LC_PERIOD_DAYS);
    LC_ASSERT_EQ(grouper("P16D").n, 16);
    LC_ASSERT_EQ(grouper("P5D").kind, LC_PERIOD_DAYS);
    LC_ASSERT_EQ(grouper("P1W").kind, LC_PERIOD_WEEK);
    LC_ASSERT_EQ(grouper("P1M").kind, LC_PERIOD_MONTH);
    LC_ASSERT_EQ(grouper("P1Y").kind, LC_PERIOD_YEAR);
    LC_ASSERT_EQ(grouper(NULL).kind, LC_PERIOD_EXACT);
    LC_ASSERT_EQ(grouper("PT1H").kind, LC_PERIOD_HOURS);
    LC_ASSERT_EQ(grouper("PT6H").kind, LC_PERIOD_HOURS);
    LC_ASSERT_EQ(grouper("PT6H").n, 6);
    LC_ASSERT_STR_EQ(period_error("invalid"), message);
    const char *bad[] = {"P2M",  "P2Y",  "PT30M", "PT1.5H", "PT0H",
                         "P0D",  "P0W",  "",      "P",      "PT",
                         "P1",   "P1DD", "p1d",   "P1H",    "PT1D",
                         "P-1D", "P1D ", " P1D",  "P1D\n"};
    for (size_t i = 0; i < LC_ARRAY_SIZE(bad); i++) {
        const char *msg = period_error(bad[i]);
        if (!contains(msg, "Unsupported time_period '") ||
            !contains(msg, "Supported values: None, 'P1D'"))
            LC_CHECK_FAIL_("period \"%s\": \"%s\"", bad[i], msg);
    }
    /* Beyond the reference: leading zeros as Python's int(), PnW as 7n
     * days, and counts too large to compute with refused with a reason. */
    LC_ASSERT_EQ(grouper("P01D").kind, LC_PERIOD_DAY);
    LC_ASSERT_EQ(grouper("PT01H").n, 1);
    LC_ASSERT_EQ(grouper("P2W").kind, LC_PERIOD_DAYS);
    LC_ASSERT_EQ(grouper("P2W").n, 14);
    LC_ASSERT_EQ(grouper("P1000000D").n, 1000000);
    LC_ASSERT_TRUE(contains(period_error("P1000001D"), "too large"));
    LC_ASSERT_TRUE(contains(period_error("P142858W"), "too large"));
    LC_ASSERT_TRUE(
        contains(period_error("P99999999999999999999999D"), "too large"));
    LC_ASSERT_TRUE(contains(period_error("PT24000001H"), "too large"));
}

/* ---- reference: TimeStep contract, exact and hourly ---------------------- */

static void test_time_step_and_subdaily(void)
{
    struct lc__grouper day = grouper("P1D");
    LC_ASSERT_STR_EQ(label_of(&day, "2023-01-15"), "2023-01-15");
    LC_ASSERT_STR_EQ(filter_of(&day, "2023-01-15"), "2023-01-15");
    LC_ASSERT_EQ(coord_of(&day, "2023-01-15"), date_s(2023, 1, 15));

    struct lc__grouper exact = grouper(NULL);
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T10:00:00Z"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T11:00:00Z"),
                     "2023-01-15T11:00:00Z");
    LC_ASSERT_EQ(key_of(&exact, "2023-01-15T10:00:00Z"),
                 key_of(&exact, "2023-01-15T05:00:00-05:00"));
    const char *frac = "2023-01-15T10:00:00.123456Z";
    LC_ASSERT_STR_EQ(label_of(&exact, frac), "2023-01-15T10:00:00.123456Z");
    LC_ASSERT_STR_EQ(filter_of(&exact, frac), "2023-01-15T10:00:00.123456Z");
    LC_ASSERT_EQ(lc__grouper_coord_unit(&exact), LC_TIME_UNIT_NS);
    LC_ASSERT_EQ(coord_of(&exact, frac), INT64_C(1673776800123456000));

    struct lc__grouper hour = grouper("PT1H");
    const struct lc__grouper *subdaily[] = {&exact, &hour};
    for (size_t i = 0; i < 2; i++) {
        const char *msg = datetime_error(subdaily[i], "2023-01-01Tbad");
        LC_ASSERT_TRUE(contains(msg, "Invalid timestamp '2023-01-01Tbad'."));
        LC_ASSERT_STR_EQ(datetime_error(subdaily[i], "2023-01-15"),
                         "Timestamp '2023-01-15' must include a time "
                         "component for exact or sub-daily temporal "
                         "grouping.");
    }

    LC_ASSERT_STR_EQ(label_of(&hour, "2025-01-01T00:59:59Z"),
                     "2025-01-01T00:00:00Z");
    LC_ASSERT_STR_EQ(filter_of(&hour, "2025-01-01T00:59:59Z"),
                     "2025-01-01T00:00:00Z/2025-01-01T00:59:59Z");
    LC_ASSERT_EQ(lc__grouper_coord_unit(&hour), LC_TIME_UNIT_S);
    LC_ASSERT_EQ(coord_of(&hour, "2025-01-01T00:59:59Z"), date_s(2025, 1, 1));
    LC_ASSERT_TRUE(key_of(&hour, "2025-01-01T00:59:59Z") !=
                   key_of(&hour, "2025-01-01T01:00:00Z"));

    struct lc__grouper six = grouper("PT6H");
    LC_ASSERT_STR_EQ(label_of(&six, "2025-01-01T05:59:59Z"),
                     "2025-01-01T00:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&six, "2025-01-01T06:00:00Z"),
                     "2025-01-01T06:00:00Z");
    LC_ASSERT_STR_EQ(filter_of(&six, "2025-01-01T00:00:00Z"),
                     "2025-01-01T00:00:00Z/2025-01-01T05:59:59Z");
}

/* ---- reference: sort invariant across all groupers ----------------------- */

static void test_sort_invariant(void)
{
    static const char *const periods[] = {"P1D", "P1W",  "P1M",  "P1Y", "P16D",
                                          "P5D", "None", "PT1H", "PT6H"};
    static const char *const sample[] = {
        "2022-12-28T00:00:00Z", "2023-01-02T00:00:00Z", "2023-01-09T00:00:00Z",
        "2023-02-15T00:00:00Z", "2023-06-30T00:00:00Z", "2023-12-31T23:59:59Z",
        "2024-01-01T00:00:00Z"};

    for (size_t p = 0; p < LC_ARRAY_SIZE(periods); p++) {
        struct lc__grouper g =
            grouper(strcmp(periods[p], "None") == 0 ? NULL : periods[p]);
        int64_t prev_key = INT64_MIN;
        char prev_label[LC_GROUPER_TEXT_CAP] = "";
        for (size_t i = 0; i < LC_ARRAY_SIZE(sample); i++) {
            int64_t key = key_of(&g, sample[i]);
            char label[LC_GROUPER_TEXT_CAP];
            (void)lc__grouper_label(&g, key, label, sizeof(label));
            if (key < prev_key || strcmp(label, prev_label) < 0)
                LC_CHECK_FAIL_("%s: %s sorts before the previous group",
                               periods[p], sample[i]);
            prev_key = key;
            memcpy(prev_label, label, sizeof(label));
        }
    }
}

/* ---- beyond the reference ------------------------------------------------ */

static void test_leap_years(void)
{
    struct lc__grouper month = grouper("P1M");
    LC_ASSERT_STR_EQ(filter_of(&month, "2000-02-10"), "2000-02-01/2000-02-29");
    LC_ASSERT_STR_EQ(filter_of(&month, "1900-02-10"), "1900-02-01/1900-02-28");
    LC_ASSERT_STR_EQ(filter_of(&month, "2100-02-10"), "2100-02-01/2100-02-28");
    LC_ASSERT_STR_EQ(filter_of(&month, "2023-12-10"), "2023-12-01/2023-12-31");
    int64_t s, e;
    lc__grouper_range(&month, key_of(&month, "2024-02-29T12:00:00Z"), &s, &e);
    LC_ASSERT_EQ(e - s, 29 * LC_US_PER_DAY);

    struct lc__grouper year = grouper("P1Y");
    lc__grouper_range(&year, key_of(&year, "2024-07-01"), &s, &e);
    LC_ASSERT_EQ(e - s, 366 * LC_US_PER_DAY);
    lc__grouper_range(&year, key_of(&year, "2100-07-01"), &s, &e);
    LC_ASSERT_EQ(e - s, 365 * LC_US_PER_DAY);
    lc__grouper_range(&year, key_of(&year, "2000-07-01"), &s, &e);
    LC_ASSERT_EQ(e - s, 366 * LC_US_PER_DAY);

    struct lc__grouper day = grouper("P1D");
    LC_ASSERT_STR_EQ(label_of(&day, "2024-02-29T23:59:59.999999Z"),
                     "2024-02-29");
    LC_ASSERT_STR_EQ(label_of(&day, "2024-02-28T23:30:00-01:00"), "2024-02-29");
    LC_ASSERT_STR_EQ(label_of(&day, "2024-02-29T23:30:00-01:00"), "2024-03-01");
    LC_ASSERT_TRUE(contains(datetime_error(&day, "2023-02-29"),
                            "Day 29 does not exist in 2023-02 at position 8."));
    LC_ASSERT_STR_EQ(datetime_error(&day, "2000-02-29"), "");
    LC_ASSERT_TRUE(contains(datetime_error(&day, "1900-02-29"),
                            "does not exist in 1900-02"));

    /* P16D across a leap day: 2024-02-29 is a day like any other. */
    struct lc__grouper p16 = grouper("P16D");
    LC_ASSERT_STR_EQ(filter_of(&p16, "2024-02-29"), "2024-02-20/2024-03-06");
}

static void test_iso_weeks(void)
{
    static const struct {
        const char *date, *label, *filter;
    } cases[] = {
        {"2020-12-31", "2020-W53", "2020-12-28/2021-01-03"},
        {"2021-01-03", "2020-W53", "2020-12-28/2021-01-03"},
        {"2021-01-04", "2021-W01", "2021-01-04/2021-01-10"},
        {"2015-12-31", "2015-W53", "2015-12-28/2016-01-03"},
        {"2016-01-03", "2015-W53", "2015-12-28/2016-01-03"},
        {"2008-12-29", "2009-W01", "2008-12-29/2009-01-04"},
        {"2026-12-31", "2026-W53", "2026-12-28/2027-01-03"},
        {"2027-01-03", "2026-W53", "2026-12-28/2027-01-03"},
        {"2019-12-30", "2020-W01", "2019-12-30/2020-01-05"},
        {"1999-01-01", "1998-W53", "1998-12-28/1999-01-03"},
        {"2004-12-31", "2004-W53", "2004-12-27/2005-01-02"},
        {"2005-01-02", "2004-W53", "2004-12-27/2005-01-02"},
    };
    struct lc__grouper g = grouper("P1W");

    for (size_t i = 0; i < LC_ARRAY_SIZE(cases); i++) {
        LC_ASSERT_STR_EQ(label_of(&g, cases[i].date), cases[i].label);
        LC_ASSERT_STR_EQ(filter_of(&g, cases[i].date), cases[i].filter);
    }
    /* Week 53 and week 1 of the next year sort in order. */
    const char *dates[] = {"2021-01-04", "2020-12-31", "2021-01-03",
                           "2020-12-27"};
    LC_ASSERT_STR_EQ(groups_of(&g, dates, 4), "2020-W52 2020-W53 2021-W01");
    /* Monday of a week from its number, both ways. */
    int64_t iso_year;
    unsigned week;
    lc__iso_week(lc__days_from_civil(2021, 1, 3), &iso_year, &week);
    LC_ASSERT_EQ(iso_year, 2020);
    LC_ASSERT_EQ(week, 53);
    LC_ASSERT_EQ(lc__iso_week_monday(2020, 53),
                 lc__days_from_civil(2020, 12, 28));
    LC_ASSERT_EQ(lc__iso_week_monday(2009, 1),
                 lc__days_from_civil(2008, 12, 29));
    /* Every day of 1990..2040 lies in the week its key's Monday starts. */
    for (int64_t d = lc__days_from_civil(1990, 1, 1);
         d < lc__days_from_civil(2040, 1, 1); d++) {
        int64_t key = 0;
        (void)lc__grouper_key(&g, d * LC_US_PER_DAY + 1, &key, NULL);
        int64_t monday = key / LC_US_PER_DAY;
        lc__iso_week(d, &iso_year, &week);
        if (lc__iso_weekday(monday) != 1 || d - monday < 0 || d - monday > 6 ||
            lc__iso_week_monday(iso_year, week) != monday) {
            LC_CHECK_FAIL_("ISO week of day %" PRId64, d);
            break;
        }
    }
}

static void test_fixed_days_before_2000(void)
{
    struct lc__grouper g = grouper("P16D");

    LC_ASSERT_STR_EQ(label_of(&g, "1999-12-31"), "-00001");
    LC_ASSERT_STR_EQ(filter_of(&g, "1999-12-31"), "1999-12-16/1999-12-31");
    LC_ASSERT_EQ(coord_of(&g, "1999-12-31"), date_s(1999, 12, 16));
    LC_ASSERT_STR_EQ(label_of(&g, "1999-12-01"), "-00002");
    LC_ASSERT_STR_EQ(filter_of(&g, "1999-12-01"), "1999-11-30/1999-12-15");
    /* Chronological, where the reference's string sort would put -00001
     * before -00002. */
    const char *dates[] = {"2000-01-05", "1999-12-20", "1999-12-01"};
    LC_ASSERT_STR_EQ(groups_of(&g, dates, 3), "-00002 -00001 000000");
    LC_ASSERT_STR_EQ(label_of(&g, "1900-01-01"), "-02283");
    LC_ASSERT_STR_EQ(filter_of(&g, "1900-01-01"), "1899-12-28/1900-01-12");

    struct lc__grouper p5 = grouper("P5D");
    LC_ASSERT_STR_EQ(filter_of(&p5, "1999-12-31"), "1999-12-27/1999-12-31");
    LC_ASSERT_STR_EQ(filter_of(&p5, "1900-01-01"), "1899-12-31/1900-01-04");
    LC_ASSERT_STR_EQ(filter_of(&p5, "0001-01-01"), "0000-12-31/0001-01-04");

    /* PnW is 7n days from 2000-01-01, a Saturday, as in the reference. */
    struct lc__grouper p2w = grouper("P2W");
    LC_ASSERT_STR_EQ(filter_of(&p2w, "2000-01-14"), "2000-01-01/2000-01-14");
    LC_ASSERT_STR_EQ(filter_of(&p2w, "2000-01-15"), "2000-01-15/2000-01-28");
    LC_ASSERT_STR_EQ(filter_of(&p2w, "1999-12-31"), "1999-12-18/1999-12-31");
}

static void test_utc_normalisation(void)
{
    struct lc__grouper day = grouper("P1D");
    LC_ASSERT_STR_EQ(label_of(&day, "2023-01-15T23:30:00-05:00"), "2023-01-16");
    LC_ASSERT_STR_EQ(label_of(&day, "2023-01-16T00:30:00+01:00"), "2023-01-15");
    LC_ASSERT_STR_EQ(label_of(&day, "2023-01-15T12:00:00+14:00"), "2023-01-14");
    LC_ASSERT_STR_EQ(label_of(&day, "2023-01-15T10:00:00"), "2023-01-15");

    /* Offsets are applied as written: no time-zone database, no DST. */
    struct lc__grouper exact = grouper(NULL);
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-03-26T02:30:00+01:00"),
                     "2023-03-26T01:30:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-03-26T03:30:00+02:00"),
                     "2023-03-26T01:30:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T15:30:00+05:30"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T15:30:00+0530"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T15:00:00+05"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T10:00:00-00:00"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15t10:00:00z"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15 10:00:00Z"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T10:00Z"),
                     "2023-01-15T10:00:00Z");
    /* A naive time is UTC. */
    LC_ASSERT_EQ(key_of(&exact, "2023-01-15T10:00:00"),
                 key_of(&exact, "2023-01-15T10:00:00Z"));

    struct lc__grouper week = grouper("P1W");
    LC_ASSERT_STR_EQ(label_of(&week, "2023-01-09T01:00:00+02:00"), "2023-W01");
    struct lc__grouper month = grouper("P1M");
    LC_ASSERT_STR_EQ(label_of(&month, "2023-02-01T00:15:00+00:30"), "2023-01");
    struct lc__grouper year = grouper("P1Y");
    LC_ASSERT_STR_EQ(label_of(&year, "2023-01-01T00:30:00+01:00"), "2022");
    LC_ASSERT_STR_EQ(label_of(&year, "2022-12-31T23:30:00-01:00"), "2023");
    /* Even the first instant of year 1 can move into year 0. */
    LC_ASSERT_STR_EQ(label_of(&year, "0001-01-01T00:30:00+01:00"), "0000");
    LC_ASSERT_STR_EQ(label_of(&exact, "9999-12-31T23:30:00-01:00"),
                     "+010000-01-01T00:30:00Z");
}

static void test_subsecond_hours(void)
{
    struct lc__grouper hour = grouper("PT1H");

    /* The reference truncates -0.5 s to 0 and puts this in 2000. */
    LC_ASSERT_STR_EQ(label_of(&hour, "1999-12-31T23:59:59.5Z"),
                     "1999-12-31T23:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&hour, "2000-01-01T00:00:00.000001Z"),
                     "2000-01-01T00:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&hour, "2025-01-01T00:59:59.999999Z"),
                     "2025-01-01T00:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&hour, "2025-01-01T01:00:00.000001Z"),
                     "2025-01-01T01:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&hour, "2025-01-01T00:59:59.9999999Z"),
                     "2025-01-01T00:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&hour, "1969-12-31T23:59:59.999Z"),
                     "1969-12-31T23:00:00Z");

    struct lc__grouper six = grouper("PT6H");
    LC_ASSERT_STR_EQ(label_of(&six, "1999-12-31T17:59:59.999999Z"),
                     "1999-12-31T12:00:00Z");
    LC_ASSERT_STR_EQ(filter_of(&six, "1999-12-31T18:00:00.25Z"),
                     "1999-12-31T18:00:00Z/1999-12-31T23:59:59Z");

    /* PT5H is anchored at 2000-01-01T00:00Z, not at midnight each day. */
    struct lc__grouper five = grouper("PT5H");
    LC_ASSERT_STR_EQ(label_of(&five, "2000-01-01T04:59:59Z"),
                     "2000-01-01T00:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&five, "2000-01-02T00:00:00Z"),
                     "2000-01-01T20:00:00Z");
    LC_ASSERT_STR_EQ(label_of(&five, "1999-12-31T23:00:00Z"),
                     "1999-12-31T19:00:00Z");

    /* Exact grouping keeps microseconds; sub-microsecond digits are kept
     * by the parser but do not separate instants. */
    struct lc__grouper exact = grouper(NULL);
    LC_ASSERT_EQ(key_of(&exact, "2023-01-15T10:00:00.1234561Z"),
                 key_of(&exact, "2023-01-15T10:00:00.1234569Z"));
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T10:00:00.5Z"),
                     "2023-01-15T10:00:00.500000Z");
    /* Mixed whole and fractional seconds sort chronologically. */
    const char *texts[] = {"2023-01-15T10:00:01Z", "2023-01-15T10:00:00.5Z",
                           "2023-01-15T10:00:00Z"};
    LC_ASSERT_STR_EQ(groups_of(&exact, texts, 3),
                     "2023-01-15T10:00:00Z 2023-01-15T10:00:00.500000Z "
                     "2023-01-15T10:00:01Z");
}

static void test_intervals(void)
{
    struct lc__grouper day = grouper("P1D");
    LC_ASSERT_STR_EQ(
        label_of(&day, "2023-01-15T10:00:00Z/2023-01-20T00:00:00Z"),
        "2023-01-15");
    LC_ASSERT_STR_EQ(label_of(&day, "2023-01-15/2023-01-20"), "2023-01-15");
    LC_ASSERT_STR_EQ(label_of(&day, "2023-01-15T23:00:00-02:00/.."),
                     "2023-01-16");
    struct lc__grouper exact = grouper(NULL);
    LC_ASSERT_STR_EQ(label_of(&exact, "2023-01-15T10:00:00Z/"),
                     "2023-01-15T10:00:00Z");
    LC_ASSERT_TRUE(contains(datetime_error(&exact, "2023-01-15/2023-01-20"),
                            "must include a time component"));
    LC_ASSERT_TRUE(
        contains(datetime_error(&day, "../2023-01-20"), "without a start"));
    LC_ASSERT_TRUE(contains(datetime_error(&day, "2023-01-20/2023-01-15"),
                            "ends before it starts at position 11"));
    LC_ASSERT_TRUE(contains(datetime_error(&day, "2023-01-20/2023-13-15"),
                            "Month must be 01 to 12 at position 16"));

    struct lc__isotime a, b;
    bool has_a = false, has_b = false;
    struct lc__errbuf err = {0};
    const char *text = "2023-01-15T10:00:00Z/2023-01-15T10:00:00.000000001Z";
    LC_ASSERT_EQ(lc__isotime_parse_interval(text, strlen(text), &a, &has_a, &b,
                                            &has_b, &err),
                 LC_OK);
    LC_ASSERT_TRUE(has_a && has_b);
    LC_ASSERT_EQ(b.ns_frac, 1);
    text = "2023-01-15T10:00:00Z";
    LC_ASSERT_EQ(lc__isotime_parse_interval(text, strlen(text), &a, &has_a, &b,
                                            &has_b, &err),
                 LC_EINVAL);
    LC_ASSERT_TRUE(contains(err.msg, "Expected '/'"));
}

/* The parser alone: what it accepts, and where it stops. */
static void test_parser(void)
{
    struct lc__isotime t;
    struct lc__errbuf err = {0};
    const char *text = "2023-01-15T10:00:00.123456789+02:00";

    LC_ASSERT_EQ(lc__isotime_parse(text, strlen(text), &t, &err), LC_OK);
    LC_ASSERT_EQ(t.us, INT64_C(1673769600123456));
    LC_ASSERT_EQ(t.ns_frac, 789);
    LC_ASSERT_EQ(t.frac_digits, 9);
    LC_ASSERT_EQ(t.offset_s, 7200);
    LC_ASSERT_TRUE(t.has_time && t.has_offset);
    text = "2023-01-15";
    LC_ASSERT_EQ(lc__isotime_parse(text, strlen(text), &t, &err), LC_OK);
    LC_ASSERT_TRUE(!t.has_time && !t.has_offset);
    LC_ASSERT_EQ(t.us, INT64_C(1673740800) * LC_US_PER_S);
    text = "2023-01-15T10:00:00,5Z";
    LC_ASSERT_EQ(lc__isotime_parse(text, strlen(text), &t, &err), LC_OK);
    LC_ASSERT_EQ(t.us % LC_US_PER_S, 500000);
    text = "1969-12-31T23:59:59.999999Z";
    LC_ASSERT_EQ(lc__isotime_parse(text, strlen(text), &t, &err), LC_OK);
    LC_ASSERT_EQ(t.us, -1);
    /* Not NUL-terminated: only len bytes are read. */
    LC_ASSERT_EQ(lc__isotime_parse("2023-01-15T10:00:00Zgarbage", 20, &t, &err),
                 LC_OK);

    static const struct {
        const char *text, *message;
    } bad[] = {
        {"", "Expected a 4-digit year at position 0."},
        {"2023-1-15", "Expected a 2-digit month at position 5."},
        {"20230115", "Expected '-' after the year at position 4."},
        {"2023-W02-1", "Expected a 2-digit month at position 5."},
        {"2023-001", "Month must be 01 to 12 at position 5."},
        {"2023-01-5", "Expected a 2-digit day at position 8."},
        {"2023-0115", "Expected '-' after the month at position 7."},
        {"0000-01-01", "Year 0000 is out of range (0001 to 9999) at "
                       "position 0."},
        {"2023-00-10", "Month must be 01 to 12 at position 5."},
        {"2023-13-10", "Month must be 01 to 12 at position 5."},
        {"2023-04-31", "Day 31 does not exist in 2023-04 at position 8."},
        {"2023-04-00", "Day must be 01 to 31 at position 8."},
        {"2023-01-15X10:00", "Expected 'T' and a time, or the end at "
                             "position 10."},
        {"2023-01-15T", "Expected a 2-digit hour at position 11."},
        {"2023-01-15T24:00:00Z", "Hour must be 00 to 23 at position 11."},
        {"2023-01-15T10Z", "Expected ':' and 2-digit minutes at position "
                           "13."},
        {"2023-01-15T10:60Z", "Minutes must be 00 to 59 at position 14."},
        {"2023-01-15T23:59:60Z", "Leap second 60 is not supported"},
        {"2023-01-15T10:00:61Z", "Seconds must be 00 to 59 at position 17."},
        {"2023-01-15T10:00:00.Z", "Expected fractional digits at position "
                                  "20."},
        {"2023-01-15T10:00:00.1234567890Z", "At most 9 fractional digits "
                                            "are supported at position 29."},
        {"2023-01-15T10:00:00+2:00", "Expected 2-digit offset hours at "
                                     "position 20."},
        {"2023-01-15T10:00:00+24:00", "Offset hours must be 00 to 23 at "
                                      "position 20."},
        {"2023-01-15T10:00:00+02:60", "Offset minutes must be 00 to 59 at "
                                      "position 23."},
        {"2023-01-15T10:00:00+02:", "Expected 2-digit offset minutes at "
                                    "position 23."},
        {"2023-01-15T10:00:00Zjunk", "Unexpected character at position 20."},
        {"2023-01-15T10:00:00 ", "Expected an offset (Z, +hh:mm or -hh:mm) "
                                 "or the end at position 19."},
        {"2023-01-15T10:00:00Z ", "Unexpected character at position 20."},
    };
    for (size_t i = 0; i < LC_ARRAY_SIZE(bad); i++) {
        memset(&err, 0, sizeof(err));
        int status =
            lc__isotime_parse(bad[i].text, strlen(bad[i].text), &t, &err);
        char prefix[128];
        snprintf(prefix, sizeof(prefix), "Invalid timestamp '%s'. ",
                 bad[i].text);
        if (status != LC_EINVAL || strncmp(err.msg, prefix, strlen(prefix)) ||
            !contains(err.msg, bad[i].message))
            LC_CHECK_FAIL_("\"%s\": status %d, \"%s\"", bad[i].text, status,
                           err.msg);
    }
    /* A long text is quoted cut short, never overflowing the message. */
    char longtext[600];
    memset(longtext, '9', sizeof(longtext));
    memcpy(longtext, "2023-01-15T", 11);
    LC_ASSERT_EQ(lc__isotime_parse(longtext, sizeof(longtext), &t, &err),
                 LC_EINVAL);
    LC_ASSERT_TRUE(contains(err.msg, "...'. Hour must be 00 to 23"));
}

static void test_calendar_and_format(void)
{
    /* Day numbers and dates agree over 5000 years, day by day. */
    int64_t y = -1000;
    unsigned m = 1, d = 1;
    int64_t start = lc__days_from_civil(-1000, 1, 1);
    for (int64_t day = start; day < start + 365 * 5000; day++) {
        int64_t yy;
        unsigned mm, dd;
        lc__civil_from_days(day, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d ||
            lc__days_from_civil(y, m, d) != day) {
            LC_CHECK_FAIL_("day %" PRId64 ": %" PRId64 "-%u-%u", day, yy, mm,
                           dd);
            break;
        }
        if (++d > lc__days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    LC_ASSERT_EQ(lc__days_from_civil(1970, 1, 1), 0);
    LC_ASSERT_EQ(lc__days_from_civil(2000, 1, 1), 10957);
    LC_ASSERT_EQ(lc__iso_weekday(lc__days_from_civil(2000, 1, 1)), 6);
    LC_ASSERT_EQ(lc__floordiv_i64(-1, 16), -1);
    LC_ASSERT_EQ(lc__floordiv_i64(-16, 16), -1);
    LC_ASSERT_EQ(lc__floordiv_i64(-17, 16), -2);
    LC_ASSERT_EQ(lc__floormod_i64(-17, 16), 15);

    char buf[LC_ISOTIME_FORMAT_CAP];
    LC_ASSERT_TRUE(lc__isotime_format(-1, LC_ISOTIME_AUTO, buf, sizeof(buf)) >
                   0);
    LC_ASSERT_STR_EQ(buf, "1969-12-31T23:59:59.999999Z");
    (void)lc__isotime_format(0, LC_ISOTIME_SECONDS, buf, sizeof(buf));
    LC_ASSERT_STR_EQ(buf, "1970-01-01T00:00:00Z");
    (void)lc__isotime_format(LC_ISOTIME_MIN_US, LC_ISOTIME_DATE, buf,
                             sizeof(buf));
    LC_ASSERT_STR_EQ(buf, "0000-12-31");
    (void)lc__isotime_format(LC_ISOTIME_MAX_US, LC_ISOTIME_DATE, buf,
                             sizeof(buf));
    LC_ASSERT_STR_EQ(buf, "+010000-01-02");
    (void)lc__isotime_format(lc__days_from_civil(-5, 3, 1) * LC_US_PER_DAY,
                             LC_ISOTIME_DATE, buf, sizeof(buf));
    LC_ASSERT_STR_EQ(buf, "-000005-03-01");
    LC_ASSERT_EQ(lc__isotime_format(0, LC_ISOTIME_DATE, buf, 10), 0);
    LC_ASSERT_EQ(lc__isotime_format(0, LC_ISOTIME_DATE, buf, 11), 10);
}

static void test_groups_api(void)
{
    struct lc__grouper g = grouper("P1M");
    int64_t instants[6];
    const char *texts[] = {"2023-03-05", "2023-01-02", "2023-03-30",
                           "2022-12-31", "2023-01-31", "2023-03-01"};
    size_t group_of[6];
    int64_t *keys = NULL;
    size_t nkeys = 0;
    struct lc__errbuf err = {0};

    for (size_t i = 0; i < 6; i++)
        instants[i] = key_of(&g, texts[i]) + LC_US_PER_DAY;
    LC_ASSERT_EQ(lc__grouper_groups(&g, instants, 6, NULL, &keys, &nkeys,
                                    group_of, &err),
                 LC_OK);
    LC_ASSERT_UEQ(nkeys, 3);
    static const size_t expected[6] = {2, 1, 2, 0, 1, 2};
    for (size_t i = 0; i < 6; i++)
        LC_ASSERT_UEQ(group_of[i], expected[i]);
    lc__free(NULL, keys);

    LC_ASSERT_EQ(
        lc__grouper_groups(&g, NULL, 0, NULL, &keys, &nkeys, NULL, &err),
        LC_OK);
    LC_ASSERT_UEQ(nkeys, 0);
    LC_ASSERT_TRUE(keys != NULL);
    lc__free(NULL, keys);

    /* Instants from a file are checked for range. */
    int64_t wild[2] = {0, INT64_MAX};
    LC_ASSERT_EQ(
        lc__grouper_groups(&g, wild, 2, NULL, &keys, &nkeys, NULL, &err),
        LC_EINVAL);
    LC_ASSERT_TRUE(keys == NULL);
    LC_ASSERT_TRUE(contains(err.msg, "outside the years 1 to 9999"));

    /* None coordinates are datetime64[ns], which stops in 2262. */
    struct lc__grouper exact = grouper(NULL);
    int64_t coord = 0;
    LC_ASSERT_EQ(lc__grouper_coord(&exact,
                                   key_of(&exact, "2300-01-01T00:00:00Z"),
                                   &coord, &err),
                 LC_EUNSUPPORTED);
    LC_ASSERT_TRUE(contains(err.msg, "datetime64[ns]"));
    LC_ASSERT_EQ(coord_of(&exact, "1800-01-01T00:00:00Z"),
                 date_s(1800, 1, 1) * INT64_C(1000000000));
}

int main(void)
{
    test_day();
    test_week();
    test_month();
    test_year();
    test_fixed_days();
    test_factory();
    test_time_step_and_subdaily();
    test_sort_invariant();
    test_leap_years();
    test_iso_weeks();
    test_fixed_days_before_2000();
    test_utc_normalisation();
    test_subsecond_hours();
    test_intervals();
    test_parser();
    test_calendar_and_format();
    test_groups_api();
    LC_TEST_END();
}
