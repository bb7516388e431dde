/* fuzz_isotime.c - libFuzzer target for ISO 8601 / RFC 3339 parsing
 * (src/common/isotime.c): timestamps and STAC datetime intervals. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "../src/common/isotime.h"

/*
 * The input is read as one timestamp and as an interval. Invariants (a
 * failure aborts):
 *   - a parsed instant lies in [LC_ISOTIME_MIN_US, LC_ISOTIME_MAX_US), its
 *     fields in their ranges, and every error message is non-empty;
 *   - formatting a parsed instant (each style) gives text that parses back
 *     to the same instant (truncated to the style's precision), and the
 *     AUTO style is exact;
 *   - a closed interval that parses does not end before it starts.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_format(int64_t us)
{
    static const enum lc__isotime_style kStyles[] = {
        LC_ISOTIME_DATE, LC_ISOTIME_SECONDS, LC_ISOTIME_AUTO};
    for (size_t s = 0; s < LC_ARRAY_SIZE(kStyles); s++) {
        char buf[LC_ISOTIME_FORMAT_CAP];
        size_t n = lc__isotime_format(us, kStyles[s], buf, sizeof(buf));
        if (n == 0 || n >= sizeof(buf) || buf[n] != '\0')
            abort();
        struct lc__isotime back;
        struct lc__errbuf err = {0};
        /* A year outside 1..9999 (an offset moved it there) is written in
         * the expanded form, which the parser refuses by design. */
        if (buf[0] == '+' || buf[0] == '-' || memcmp(buf, "0000", 4) == 0)
            continue;
        if (lc__isotime_parse(buf, n, &back, &err) != LC_OK) {
            fprintf(stderr, "formatted %s does not parse: %s\n", buf, err.msg);
            abort();
        }
        int64_t unit = kStyles[s] == LC_ISOTIME_DATE      ? LC_US_PER_DAY
                       : kStyles[s] == LC_ISOTIME_SECONDS ? LC_US_PER_S
                                                          : 1;
        if (back.us != lc__floordiv_i64(us, unit) * unit) {
            fprintf(stderr, "%lld formatted as %s reads back as %lld\n",
                    (long long)us, buf, (long long)back.us);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct lc__isotime t;
    struct lc__errbuf err = {0};

    if (lc__isotime_parse(text, size, &t, &err) == LC_OK) {
        if (t.us < LC_ISOTIME_MIN_US || t.us >= LC_ISOTIME_MAX_US ||
            t.ns_frac > 999 || t.frac_digits > 9 || t.offset_s <= -86400 ||
            t.offset_s >= 86400 || (!t.has_time && t.has_offset))
            abort();
        check_format(t.us);
    } else if (err.msg[0] == '\0') {
        abort();
    }

    struct lc__isotime a, b;
    bool has_a = false, has_b = false;
    err.msg[0] = '\0';
    if (lc__isotime_parse_interval(text, size, &a, &has_a, &b, &has_b, &err) ==
        LC_OK) {
        if (has_a && has_b && b.us < a.us)
            abort();
        if (has_a)
            check_format(a.us);
        if (has_b)
            check_format(b.us);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
