/* read.c - `lazycogs read`: one time step of a collection to a GeoTIFF;
 * and the collection options `read` and `explain` share. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- collection options (shared with explain.c) ---------------------------
 */

const char cli_collection_usage[] =
    "collection (required: --crs, --bbox, --resolution):\n"
    "  --crs CRS              output CRS: EPSG:5070, WKT, PROJ string\n"
    "  --bbox MINX,MINY,MAXX,MAXY  output extent in that CRS\n"
    "  --resolution R         pixel size in CRS units\n"
    "  --bands A,B            asset keys, in output order (default: the\n"
    "                         data assets of the first matching item)\n"
    "  --time-period P        P1D (default), PnD, P1W, PnW, P1M, P1Y, PTnH,\n"
    "                         or none (one step per timestamp)\n"
    "  --datetime T           an instant, a date or START/END ('..' open)\n"
    "  --filter CQL2          CQL2 text, or CQL2-JSON starting with '{'\n"
    "  --sortby SPEC          item order in a step: '-eo:cloud_cover', JSON\n"
    "  --ids A,B              only these item ids\n"
    "  --mosaic M             first (default), highest, lowest, mean,\n"
    "                         median, stdev, count\n"
    "  --dtype D              output dtype (default: inferred)\n"
    "  --nodata V             output nodata (default: inferred)\n"
    "  --resampling R         nearest (default), bilinear, cubic, average,\n"
    "                         mode, min, max\n"
    "  --threads N            decode/warp/compress threads (default: CPUs)\n"
    "  --max-concurrent-reads N  items read at once (default 32)\n"
    "  --errors raise|ignore  an item that cannot be read fails the command\n"
    "                         (raise, default) or is skipped\n"
    "  --allowed-roots D1,D2  local hrefs (file://, paths) must lie in these\n"
    "                         folders (turns confinement on)\n"
    "  --confine-local-hrefs on|off|auto  confine local hrefs (auto, the\n"
    "                         default: on when the catalogue is remote)\n"
    "  --limit NAME=N         raise (or lower) a cap, e.g.\n"
    "                         max_block_nbytes=1073741824; repeatable; the\n"
    "                         names and defaults are in docs/limits.md\n";

/* --errors ignore: says which item was skipped and why (ctx: whether a
 * progress bar is on the current line). */
static void warn_ignored(void *ctx, const char *item_id, const char *message)
{
    (void)item_id;
    fprintf(stderr, "%slazycogs read: skipped: %s\n",
            *(const bool *)ctx ? "\n" : "", message);
}

static bool parse_double(const char *text, double *v)
{
    char *end;
    *v = strtod(text, &end);
    return end != text && *end == '\0';
}

static bool parse_size(const char *text, size_t *n)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    *n = (size_t)v;
    return *end == '\0' && v > 0 && v <= SIZE_MAX;
}

/* Parses "a,b,c,d" into four finite numbers. */
bool cli_parse_numbers(const char *text, double *v, int n)
{
    const char *p = text;
    for (int k = 0; k < n; k++) {
        char *end;
        v[k] = strtod(p, &end);
        if (end == p || !isfinite(v[k]) || *end != (k < n - 1 ? ',' : '\0'))
            return false;
        p = end + 1;
    }
    return true;
}

/* Splits a copy of text at commas; empty parts are dropped. */
static const char *const confine_names[] = {"on", "off", "auto"};

/* NAME=N into the cap NAME of limits (N > 0). */
static bool parse_limit(const char *text, struct lc_limits *limits)
{
    const char *eq = strchr(text, '=');
    size_t value;
    char name[64];
    if (eq == NULL || (size_t)(eq - text) >= sizeof name ||
        !parse_size(eq + 1, &value) || value == 0)
        return false;
    memcpy(name, text, (size_t)(eq - text));
    name[eq - text] = '\0';
    return lc_limits_set(limits, name, value) == LC_OK;
}

static bool split_list(const char *text, char **copy_ret,
                       const char ***list_ret, size_t *n_ret)
{
    char *copy = strdup(text);
    size_t n = 1;
    for (const char *p = text; *p != '\0'; p++)
        n += *p == ',';
    const char **list = calloc(n, sizeof *list);
    if (copy == NULL || list == NULL) {
        free(copy);
        free(list);
        return false;
    }
    size_t k = 0;
    for (char *p = copy;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        if (*p != '\0')
            list[k++] = p;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    free(*copy_ret);
    free((void *)*list_ret);
    *copy_ret = copy;
    *list_ret = list;
    *n_ret = k;
    return k > 0;
}

static const char *const mosaic_names[] = {
    "first", "highest", "lowest", "mean", "median", "stdev", "count"};

static const char *const resampling_names[] = {
    "nearest", "bilinear", "cubic", "average", "mode", "min", "max"};

static bool one_of(const char *v, const char *const *names, size_t n,
                   size_t *k_ret)
{
    for (size_t k = 0; k < n; k++) {
        if (strcmp(v, names[k]) == 0) {
            *k_ret = k;
            return true;
        }
    }
    return false;
}

/* Parses the option at argv[*i] when it is one of the collection's:
 * returns 1 (consumed, *i moved past its value), 0 (not one of them) or
 * 2 (a bad or missing value: the message is printed). */
int cli_parse_collection_option(int argc, char **argv, int *i, const char *cmd,
                                struct cli_collection_args *a)
{
    const char *opt = argv[*i];
    int r =
        cli_parse_store_option(argc, argv, i, &a->store, &a->any_store_option);
    if (r != 0) {
        if (r > 0)
            return 1;
        fprintf(stderr, "lazycogs %s: bad or missing value for %s\n", cmd, opt);
        return 2;
    }
    static const char *const with_value[] = {
        "--crs",           "--bbox",
        "--resolution",    "--bands",
        "--time-period",   "--datetime",
        "--filter",        "--sortby",
        "--ids",           "--mosaic",
        "--dtype",         "--nodata",
        "--resampling",    "--threads",
        "--errors",        "--max-concurrent-reads",
        "--allowed-roots", "--confine-local-hrefs",
        "--limit"};
    size_t which;
    if (!one_of(opt, with_value, LC_ARRAY_SIZE(with_value), &which))
        return 0;
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    struct lc_collection_options *o = &a->opts;
    bool ok = v != NULL;
    size_t k = 0;
    if (ok) {
        switch (which) {
        case 0:
            o->crs = v;
            break;
        case 1:
            ok = cli_parse_numbers(v, o->bbox, 4) && o->bbox[0] < o->bbox[2] &&
                 o->bbox[1] < o->bbox[3];
            a->has_bbox = true;
            break;
        case 2:
            ok = parse_double(v, &o->resolution) && o->resolution > 0 &&
                 isfinite(o->resolution);
            break;
        case 3:
            ok = split_list(v, &a->bands_copy, &a->bands, &o->nbands);
            o->bands = a->bands;
            break;
        case 4:
            o->time_period = v;
            break;
        case 5:
            o->datetime = v;
            break;
        case 6:
            o->filter = v;
            break;
        case 7:
            o->sortby = v;
            break;
        case 8:
            ok = split_list(v, &a->ids_copy, &a->ids, &o->nids);
            o->ids = a->ids;
            break;
        case 9:
            ok = one_of(v, mosaic_names, LC_ARRAY_SIZE(mosaic_names), &k);
            o->mosaic_method = (enum lc_mosaic_method)k;
            break;
        case 10:
            ok = false;
            for (int d = LC_DTYPE_UINT8; d <= LC_DTYPE_FLOAT64; d++) {
                if (strcmp(v, lc_dtype_name((enum lc_dtype)d)) == 0) {
                    o->dtype = (enum lc_dtype)d;
                    ok = true;
                }
            }
            break;
        case 11:
            ok = parse_double(v, &o->nodata);
            o->has_nodata = 1;
            break;
        case 12:
            ok = one_of(v, resampling_names, LC_ARRAY_SIZE(resampling_names),
                        &k);
            o->resampling = v;
            break;
        case 13:
            ok = parse_size(v, &o->nthreads) && o->nthreads <= 1024;
            break;
        case 14:
            ok = strcmp(v, "raise") == 0 || strcmp(v, "ignore") == 0;
            o->errors = v[0] == 'i' ? LC_ERRORS_IGNORE : LC_ERRORS_RAISE;
            break;
        case 15:
            ok = parse_size(v, &o->max_concurrent_reads);
            break;
        case 16:
            ok = split_list(v, &a->roots_copy, &a->roots,
                            &o->nallowed_local_roots);
            o->allowed_local_roots = a->roots;
            o->confine_local_hrefs = 1;
            break;
        case 17:
            ok = one_of(v, confine_names, LC_ARRAY_SIZE(confine_names), &k);
            o->confine_local_hrefs = k == 0 ? 1 : k == 1 ? -1 : 0;
            break;
        default:
            ok = parse_limit(v, &o->limits);
            break;
        }
    }
    if (!ok) {
        fprintf(stderr, "lazycogs %s: bad or missing value for %s%s%s\n", cmd,
                opt, v != NULL ? ": " : "", v != NULL ? v : "");
        return 2;
    }
    (*i)++;
    return 1;
}

/* Checks that the required options came; returns 0 or 2. */
int cli_check_collection_args(const char *cmd,
                              const struct cli_collection_args *a)
{
    const char *missing = a->href == NULL           ? "the catalogue FILE"
                          : a->opts.crs == NULL     ? "--crs"
                          : !a->has_bbox            ? "--bbox"
                          : a->opts.resolution <= 0 ? "--resolution"
                                                    : NULL;
    if (missing != NULL) {
        fprintf(stderr, "lazycogs %s: %s is required (lazycogs %s --help)\n",
                cmd, missing, cmd);
        return 2;
    }
    return 0;
}

/* Opens the stores the store options describe: one for the catalogue when
 * it is remote, one for the assets at the root of the first item's. */
static int open_stores(const char *cmd, struct cli_collection_args *a)
{
    int status = LC_OK;
    if (strstr(a->href, "://") != NULL && strncmp(a->href, "file://", 7) != 0)
        status = lc_store_open(a->href, &a->store, &a->opts.catalog_store);
    struct lc_catalog_store_info csi = {.struct_size = sizeof csi};
    if (status == LC_OK)
        status =
            lc_catalog_store_info(a->href, a->opts.catalog_store,
                                  a->bands != NULL ? a->bands[0] : NULL, &csi);
    if (status == LC_OK && csi.found_asset) {
        /* The Storage Extension's region and requester-pays unless the
         * command line says otherwise. */
        struct lc_store_options so = a->store;
        if (so.region == NULL && csi.has_region)
            so.region = csi.region;
        if (csi.request_payer)
            so.request_payer = 1;
        status = lc_store_open(csi.root, &so, &a->opts.store);
    }
    if (status < 0) {
        fprintf(stderr, "lazycogs %s: %s: %s\n", cmd, lc_err_name(status),
                lc_errmsg());
        return 1;
    }
    return 0;
}

/* Opens the collection; returns 0, or 1 after printing why not. */
int cli_open_collection(const char *cmd, struct cli_collection_args *a,
                        struct lc_collection **c_ret)
{
    *c_ret = NULL;
    if (a->any_store_option && open_stores(cmd, a) != 0)
        return 1;
    int status = lc_collection_open(a->href, &a->opts, c_ret);
    if (status < 0) {
        fprintf(stderr, "lazycogs %s: %s: %s\n", cmd, lc_err_name(status),
                lc_errmsg());
        return 1;
    }
    return 0;
}

void cli_free_collection_args(struct cli_collection_args *a)
{
    lc_store_close(a->opts.store);
    lc_store_close(a->opts.catalog_store);
    free(a->bands_copy);
    free((void *)a->bands);
    free(a->ids_copy);
    free((void *)a->ids);
    free(a->roots_copy);
    free((void *)a->roots);
}

/* ---- time step selection --------------------------------------------------
 */

/*
 * Dates for --time, with the public API only (no library date parser is
 * public): microseconds since 1970-01-01T00:00:00Z, proleptic Gregorian.
 */
#define US_PER_S INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_S)

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Reads exactly n digits at *p (moving it on) into *v. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int k = 0; k < n; k++) {
        if ((*p)[k] < '0' || (*p)[k] > '9')
            return false;
        *v = *v * 10 + ((*p)[k] - '0');
    }
    *p += n;
    return true;
}

/*
 * The interval [start, end) that text denotes: a year (YYYY), a month
 * (YYYY-MM), a day (YYYY-MM-DD), or an instant (an RFC 3339 date-time:
 * [T or space]hh:mm[:ss[.frac]][Z or +-hh[:mm]], UTC when no offset),
 * which is one microsecond long; *has_time says it was an instant.
 */
static bool parse_when(const char *text, int64_t *start, int64_t *end,
                       bool *has_time)
{
    const char *p = text;
    int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    *has_time = false;
    if (!digits(&p, 4, &y) || y < 1)
        return false;
    if (*p == '\0') {
        *start = days_from_civil(y, 1, 1) * US_PER_DAY;
        *end = days_from_civil(y + 1, 1, 1) * US_PER_DAY;
        return true;
    }
    if (*p++ != '-' || !digits(&p, 2, &mo) || mo < 1 || mo > 12)
        return false;
    int64_t month0 = days_from_civil(y, mo, 1);
    int64_t month1 =
        mo == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, mo + 1, 1);
    if (*p == '\0') {
        *start = month0 * US_PER_DAY;
        *end = month1 * US_PER_DAY;
        return true;
    }
    if (*p++ != '-' || !digits(&p, 2, &d) || d < 1 || d > month1 - month0)
        return false;
    int64_t day = month0 + d - 1;
    if (*p == '\0') {
        *start = day * US_PER_DAY;
        *end = *start + US_PER_DAY;
        return true;
    }
    if ((*p != 'T' && *p != 't' && *p != ' ') || (p++, !digits(&p, 2, &h)) ||
        *p++ != ':' || !digits(&p, 2, &mi) || h > 23 || mi > 59)
        return false;
    int64_t us = 0;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &sec) || sec > 59)
            return false;
        if (*p == '.' || *p == ',') {
            int64_t scale = 100000;
            if (*++p < '0' || *p > '9')
                return false;
            for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
                us += (*p - '0') * scale; /* digits past 1 us: dropped */
        }
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (!digits(&p, 2, &oh) || oh > 23)
            return false;
        if (*p == ':')
            p++;
        if (*p != '\0' && (!digits(&p, 2, &om) || om > 59))
            return false;
    }
    if (*p != '\0')
        return false;
    int64_t secs =
        day * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    *start = secs * US_PER_S + us;
    *end = *start + 1;
    *has_time = true;
    return true;
}

/* The interval a step covers, from its datetime filter: closed ranges of
 * days ("2025-06-01/2025-06-30") or of whole seconds (PTnH), one day, or
 * one instant (time_period none). */
static bool step_interval(const char *filter, int64_t *start, int64_t *end)
{
    const char *slash = strchr(filter, '/');
    bool has_time;
    if (slash == NULL)
        return parse_when(filter, start, end, &has_time);
    char first[64];
    int64_t ignored;
    size_t n = (size_t)(slash - filter);
    if (n >= sizeof first)
        return false;
    memcpy(first, filter, n);
    first[n] = '\0';
    if (!parse_when(first, start, &ignored, &has_time) ||
        !parse_when(slash + 1, end, &ignored, &has_time))
        return false;
    /* the end is the last day, or the last whole second, of the step */
    *end = has_time ? *end + US_PER_S : ignored;
    return true;
}

static void list_steps(struct lc_collection *c, size_t ntimes,
                       const size_t *which, size_t nwhich)
{
    size_t n = which != NULL ? nwhich : ntimes;
    for (size_t k = 0; k < n && k < 40; k++) {
        struct lc_time_step s = {.struct_size = sizeof s};
        (void)lc_collection_get_time(c, which != NULL ? which[k] : k, &s);
        fprintf(stderr, "%s%s", k == 0 ? "" : ", ", s.label);
    }
    if (n > 40)
        fprintf(stderr, ", ... (%zu in all)", n);
    fputc('\n', stderr);
}

/* The step --time names: its label, or the one step whose interval meets
 * the date or instant given. Returns 0, 1 (no or several steps: listed)
 * or 2 (not a date). */
int cli_select_time(const char *cmd, struct lc_collection *c, size_t ntimes,
                    const char *want, size_t *t_ret)
{
    *t_ret = 0;
    if (want == NULL)
        return 0;
    for (size_t t = 0; t < ntimes; t++) {
        struct lc_time_step s = {.struct_size = sizeof s};
        if (lc_collection_get_time(c, t, &s) == LC_OK &&
            strcmp(s.label, want) == 0) {
            *t_ret = t;
            return 0;
        }
    }
    int64_t a0, a1;
    bool has_time;
    if (!parse_when(want, &a0, &a1, &has_time)) {
        fprintf(stderr,
                "lazycogs %s: bad value for --time: %s (a step label, a "
                "year, a month YYYY-MM, a date or an RFC 3339 instant)\n",
                cmd, want);
        return 2;
    }
    size_t *hits = calloc(ntimes > 0 ? ntimes : 1, sizeof *hits);
    if (hits == NULL) {
        fprintf(stderr, "lazycogs %s: out of memory\n", cmd);
        return 1;
    }
    size_t nhits = 0;
    for (size_t t = 0; t < ntimes; t++) {
        struct lc_time_step s = {.struct_size = sizeof s};
        int64_t b0, b1;
        if (lc_collection_get_time(c, t, &s) == LC_OK &&
            step_interval(s.filter, &b0, &b1) && a0 < b1 && b0 < a1)
            hits[nhits++] = t;
    }
    int rc = 0;
    if (nhits == 1) {
        *t_ret = hits[0];
    } else if (nhits == 0) {
        fprintf(stderr,
                "lazycogs %s: --time %s matches no time step; the %zu "
                "step(s) are: ",
                cmd, want, ntimes);
        list_steps(c, ntimes, NULL, 0);
        rc = 1;
    } else {
        fprintf(stderr,
                "lazycogs %s: --time %s matches %zu time steps; give one "
                "of: ",
                cmd, want, nhits);
        list_steps(c, ntimes, hits, nhits);
        rc = 1;
    }
    free(hits);
    return rc;
}

/* ---- lazycogs read --------------------------------------------------------
 */

static const char read_usage[] =
    "usage: lazycogs read FILE --crs CRS --bbox MINX,MINY,MAXX,MAXY\n"
    "                     --resolution R --out OUT.tif [options]\n"
    "\n"
    "Reads one time step of the collection that the catalogue FILE (a\n"
    "stac-geoparquet file, directory or glob, NDJSON or JSON) lists,\n"
    "reprojected and mosaicked onto the grid, and writes it as a tiled\n"
    "(256 x 256), deflate-compressed GeoTIFF (BigTIFF past 4 GiB) with its\n"
    "CRS (which needs an EPSG code), transform, nodata and band names.\n"
    "\n"
    "output:\n"
    "  --out PATH             the GeoTIFF to write (required)\n"
    "  --time T               the time step: its label (2025-06-03,\n"
    "                         2025-W23, 2025-06...) or a date or instant\n"
    "                         inside it (default: the first step)\n"
    "  --window X0,Y0,W,H     only this pixel window of the grid\n"
    "  --interleave pixel|band  pixel (default) or one plane per band\n"
    "  --compress deflate|none  deflate (default: predictor 2 for\n"
    "                         integers, 3 for floats) or none\n"
    "  --chunk N              read blocks of N x N pixels, a multiple of\n"
    "                         256 (default 1024)\n"
    "  --progress             a progress bar on stderr even when it is not\n"
    "                         a terminal\n"
    "  --quiet                no progress bar, no summary\n";

struct read_args {
    struct cli_collection_args c;
    const char *out;
    const char *time;
    bool has_window, progress, quiet, planar, uncompressed;
    uint32_t window[4];
    uint32_t chunk;
};

static bool parse_window(const char *text, uint32_t w[4])
{
    double v[4];
    if (!cli_parse_numbers(text, v, 4))
        return false;
    for (int k = 0; k < 4; k++) {
        if (v[k] < 0 || v[k] > UINT32_MAX || v[k] != floor(v[k]))
            return false;
        w[k] = (uint32_t)v[k];
    }
    return w[2] > 0 && w[3] > 0;
}

/* Parses argv; returns 0, or 2 after printing what is wrong. */
static int parse_read_args(int argc, char **argv, struct read_args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        int r = cli_parse_collection_option(argc, argv, &i, "read", &a->c);
        if (r == 2)
            return 2;
        if (r == 1)
            continue;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            printf("%s\n%s\n%s", read_usage, cli_collection_usage,
                   cli_store_usage);
            exit(0);
        }
        if (strcmp(opt, "--progress") == 0) {
            a->progress = true;
            continue;
        }
        if (strcmp(opt, "--quiet") == 0 || strcmp(opt, "-q") == 0) {
            a->quiet = true;
            continue;
        }
        if (opt[0] != '-' && a->c.href == NULL) {
            a->c.href = opt;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (strcmp(opt, "--out") == 0 || strcmp(opt, "-o") == 0) {
            a->out = v;
            ok = ok && v[0] != '\0';
        } else if (strcmp(opt, "--time") == 0) {
            a->time = v;
        } else if (strcmp(opt, "--window") == 0) {
            a->has_window = true;
            ok = ok && parse_window(v, a->window);
        } else if (strcmp(opt, "--interleave") == 0) {
            ok = ok && (strcmp(v, "pixel") == 0 || strcmp(v, "band") == 0);
            a->planar = ok && v[0] == 'b';
        } else if (strcmp(opt, "--compress") == 0) {
            ok = ok && (strcmp(v, "deflate") == 0 || strcmp(v, "none") == 0);
            a->uncompressed = ok && v[0] == 'n';
        } else if (strcmp(opt, "--chunk") == 0) {
            size_t n = 0;
            ok = ok && parse_size(v, &n) && n % 256 == 0 && n <= 16384;
            a->chunk = (uint32_t)n;
        } else {
            fprintf(stderr, "lazycogs read: unknown argument '%s'\n\n%s", opt,
                    read_usage);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "lazycogs read: bad or missing value for %s%s%s\n",
                    opt, v != NULL ? ": " : "", v != NULL ? v : "");
            return 2;
        }
        i++;
    }
    int rc = cli_check_collection_args("read", &a->c);
    if (rc == 0 && a->out == NULL) {
        fprintf(stderr, "lazycogs read: --out is required (lazycogs read "
                        "--help)\n");
        rc = 2;
    }
    return rc;
}

/* Set by SIGINT/SIGTERM: the read in progress stops, the file goes. */
static volatile sig_atomic_t g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    g_cancel = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void draw_progress(size_t done, size_t total, double t0, bool last)
{
    enum { BAR = 30 };
    size_t filled = total > 0 ? done * BAR / total : BAR;
    char bar[BAR + 1];
    for (size_t k = 0; k < BAR; k++)
        bar[k] = k < filled ? '#' : '-';
    bar[BAR] = '\0';
    fprintf(stderr, "\rreading [%s] %3zu%% %zu/%zu blocks %.1f s", bar,
            total > 0 ? done * 100 / total : 100, done, total, now_s() - t0);
    if (last)
        fputc('\n', stderr);
    fflush(stderr);
}

/* What the read of the whole window amounts to. */
struct read_totals {
    size_t matched, read, skipped, failed;
    uint64_t requests, bytes;
    double header_s, fetch_s, decode_s, warp_s, match_s, mosaic_s;
    uint64_t pixels_warped;
};

/* Reads the window block by block into the writer. Returns 0 or 1. */
static int copy_blocks(struct lc_collection *c, struct lc_tiff_writer *w,
                       const struct read_args *a, size_t t,
                       const struct lc_collection_info *info,
                       const uint32_t win[4], struct read_totals *tot)
{
    size_t nbands = info->nbands;
    size_t sz = lc_dtype_nbytes(info->dtype);
    uint32_t chunk = a->chunk > 0 ? a->chunk : 1024;
    uint32_t bw = win[2] < chunk ? win[2] : chunk;
    uint32_t bh = win[3] < chunk ? win[3] : chunk;
    size_t nbx = (win[2] + (size_t)chunk - 1) / chunk;
    size_t nby = (win[3] + (size_t)chunk - 1) / chunk;
    size_t nbytes = nbands * bw * bh * sz;
    size_t *bands = calloc(nbands, sizeof *bands);
    void *buf = malloc(nbytes);
    bool show = !a->quiet && (a->progress || isatty(STDERR_FILENO));
    double t0 = now_s();
    int rc = 0;

    if (bands == NULL || buf == NULL) {
        fprintf(stderr, "lazycogs read: out of memory for a %u x %u block\n",
                bw, bh);
        free(bands);
        free(buf);
        return 1;
    }
    for (size_t b = 0; b < nbands; b++)
        bands[b] = b;
    if (show)
        draw_progress(0, nbx * nby, t0, false);
    for (size_t by = 0; by < nby && rc == 0; by++) {
        for (size_t bx = 0; bx < nbx && rc == 0; bx++) {
            uint32_t x = (uint32_t)(bx * chunk), y = (uint32_t)(by * chunk);
            uint32_t cw = win[2] - x < chunk ? win[2] - x : chunk;
            uint32_t ch = win[3] - y < chunk ? win[3] - y : chunk;
            struct lc_read_request rq = {.struct_size = sizeof rq};
            rq.bands = bands;
            rq.nbands = nbands;
            rq.times = &t;
            rq.ntimes = 1;
            rq.x0 = win[0] + x;
            rq.y0 = win[1] + y;
            rq.width = cw;
            rq.height = ch;
            rq.out = buf;
            rq.out_nbytes = nbytes;
            rq.cancel = (const volatile int *)&g_cancel;
            rq.on_ignored = warn_ignored;
            rq.on_ignored_ctx = &show;
            struct lc_read_stats st = {.struct_size = sizeof st};
            int status = lc_collection_read(c, &rq, &st);
            if (status == LC_OK)
                status = lc_tiff_writer_write(w, x, y, cw, ch, buf,
                                              nbands * cw * ch * sz);
            if (status < 0) {
                if (show)
                    fputc('\n', stderr);
                if (status == LC_ECANCELLED)
                    fprintf(stderr,
                            "lazycogs read: interrupted; %s "
                            "removed\n",
                            a->out);
                else
                    fprintf(stderr, "lazycogs read: %s: %s\n",
                            lc_err_name(status), lc_errmsg());
                rc = 1;
                break;
            }
            tot->matched += st.items_matched;
            tot->read += st.items_read;
            tot->skipped += st.items_skipped;
            tot->failed += st.items_failed;
            tot->requests += st.requests;
            tot->bytes += st.bytes;
            tot->header_s += st.header_seconds;
            tot->fetch_s += st.fetch_seconds;
            tot->decode_s += st.decode_seconds;
            tot->warp_s += st.warp_seconds;
            tot->pixels_warped += st.pixels_warped;
            tot->match_s += st.match_seconds;
            tot->mosaic_s += st.mosaic_seconds;
            if (show)
                draw_progress(by * nbx + bx + 1, nbx * nby, t0,
                              by * nbx + bx + 1 == nbx * nby);
        }
    }
    free(bands);
    free(buf);
    return rc;
}

static int run_read(struct read_args *a, struct lc_collection *c)
{
    struct lc_collection_info info = {.struct_size = sizeof info};
    (void)lc_collection_get_info(c, &info);
    if (info.ntimes == 0 || info.nbands == 0) {
        fprintf(stderr, "lazycogs read: %s: the collection is empty\n",
                a->c.href);
        return 1;
    }
    size_t t = 0;
    int rc = cli_select_time("read", c, info.ntimes, a->time, &t);
    if (rc != 0)
        return rc;
    uint32_t win[4] = {0, 0, info.width, info.height};
    if (a->has_window) {
        memcpy(win, a->window, sizeof win);
        if (win[0] >= info.width || win[1] >= info.height ||
            win[2] > info.width - win[0] || win[3] > info.height - win[1]) {
            fprintf(stderr,
                    "lazycogs read: bad value for --window: %u,%u,%u,%u "
                    "does not fit the %u x %u grid\n",
                    win[0], win[1], win[2], win[3], info.width, info.height);
            return 2;
        }
    }
    if (info.epsg == 0) {
        fprintf(stderr,
                "lazycogs read: the output CRS %s has no EPSG code, and the "
                "GeoTIFF needs one: give --crs as EPSG:<code>\n",
                a->c.opts.crs);
        return 1;
    }

    const char **names = calloc(info.nbands, sizeof *names);
    if (names == NULL) {
        fprintf(stderr, "lazycogs read: out of memory\n");
        return 1;
    }
    for (size_t b = 0; b < info.nbands; b++)
        names[b] = lc_collection_band(c, b);
    struct lc_tiff_writer_options wo = {.struct_size = sizeof wo};
    wo.width = win[2];
    wo.height = win[3];
    wo.nbands = (uint32_t)info.nbands;
    wo.dtype = info.dtype;
    wo.planar = a->planar;
    wo.uncompressed = a->uncompressed;
    wo.has_transform = 1;
    memcpy(wo.transform, info.transform, sizeof wo.transform);
    /* The window's own origin. */
    wo.transform[2] += win[0] * info.transform[0] + win[1] * info.transform[1];
    wo.transform[5] += win[0] * info.transform[3] + win[1] * info.transform[4];
    wo.epsg = info.epsg;
    wo.has_nodata = info.has_nodata;
    wo.nodata = info.nodata;
    wo.band_descriptions = names;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    wo.nthreads = a->c.opts.nthreads > 0 ? a->c.opts.nthreads
                  : ncpu > 0             ? (size_t)ncpu
                                         : 1;
    struct lc_tiff_writer *w = NULL;
    int status = lc_tiff_writer_open(a->out, &wo, &w);
    free(names);
    if (status < 0) {
        fprintf(stderr, "lazycogs read: %s: %s\n", lc_err_name(status),
                lc_errmsg());
        return 1;
    }

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double t0 = now_s();
    struct read_totals tot = {0};
    rc = copy_blocks(c, w, a, t, &info, win, &tot);
    if (rc == 0) {
        status = lc_tiff_writer_finish(w);
        if (status < 0) {
            fprintf(stderr, "lazycogs read: %s: %s\n", lc_err_name(status),
                    lc_errmsg());
            rc = 1;
        }
    }
    lc_tiff_writer_close(w); /* removes the file unless finished */
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (g_cancel)
        return 130;
    if (rc == 0 && !a->quiet) {
        struct lc_time_step s = {.struct_size = sizeof s};
        (void)lc_collection_get_time(c, t, &s);
        fprintf(stderr,
                "wrote %s: %u x %u px, %zu band(s) of %s, time step %s "
                "(%zu item(s)): %zu read, %zu skipped (covered), %zu "
                "failed; %" PRIu64 " bytes in %" PRIu64 " request(s); %.2f s\n",
                a->out, win[2], win[3], info.nbands, lc_dtype_name(info.dtype),
                s.label, s.nitems, tot.read, tot.skipped, tot.failed, tot.bytes,
                tot.requests, now_s() - t0);
        fprintf(stderr,
                "stages: headers %.2f s, fetch %.2f s, decode %.2f s, warp "
                "%.2f s (%" PRIu64 " pixels; summed over worker threads); "
                "match %.2f s, mosaic %.2f s\n",
                tot.header_s, tot.fetch_s, tot.decode_s, tot.warp_s,
                tot.pixels_warped, tot.match_s, tot.mosaic_s);
    }
    return rc;
}

int cli_read(int argc, char **argv)
{
    struct read_args a = {.c = {.opts = {.struct_size = sizeof a.c.opts},
                                .store = {.struct_size = sizeof a.c.store}}};
    int rc = parse_read_args(argc, argv, &a);
    struct lc_collection *c = NULL;
    if (rc == 0)
        rc = cli_open_collection("read", &a.c, &c);
    if (rc == 0)
        rc = run_read(&a, c);
    lc_collection_close(c);
    cli_free_collection_args(&a.c);
    return rc;
}
