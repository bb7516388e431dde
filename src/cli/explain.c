/* explain.c - `lazycogs explain`: what a read of a collection would touch,
 * per time step, tile and band, without reading a pixel. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char explain_usage[] =
    "usage: lazycogs explain FILE --crs CRS --bbox MINX,MINY,MAXX,MAXY\n"
    "                        --resolution R [options]\n"
    "\n"
    "Prints the read plan of the collection FILE: for every time step,\n"
    "spatial tile and band, the items (COGs) a read would touch, without\n"
    "reading a pixel; as the summary lazycogs' explain() prints, or as JSON.\n"
    "\n"
    "plan:\n"
    "  --chunk N              tiles of N x N pixels (default: the whole grid\n"
    "                         as one tile)\n"
    "  --time T               only this time step (as lazycogs read --time)\n"
    "  --fetch-headers        open every matched COG's header to report\n"
    "                         overview levels, pixel windows and the\n"
    "                         estimated requests and bytes\n"
    "  --json                 the whole plan as one JSON document\n";

struct explain_args {
    struct cli_collection_args c;
    size_t chunk;
    const char *time;
    bool fetch_headers, json;
};

static int parse_explain_args(int argc, char **argv, struct explain_args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        int r = cli_parse_collection_option(argc, argv, &i, "explain", &a->c);
        if (r == 2)
            return 2;
        if (r == 1)
            continue;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            printf("%s\n%s\n%s", explain_usage, cli_collection_usage,
                   cli_store_usage);
            exit(0);
        }
        if (strcmp(opt, "--fetch-headers") == 0) {
            a->fetch_headers = true;
            continue;
        }
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (opt[0] != '-' && a->c.href == NULL) {
            a->c.href = opt;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (strcmp(opt, "--chunk") == 0) {
            char *end = NULL;
            unsigned long long n = ok ? strtoull(v, &end, 10) : 0;
            ok = ok && v[0] >= '0' && v[0] <= '9' && *end == '\0' && n > 0 &&
                 n <= UINT32_MAX;
            a->chunk = (size_t)n;
        } else if (strcmp(opt, "--time") == 0) {
            a->time = v;
        } else {
            fprintf(stderr, "lazycogs explain: unknown argument '%s'\n\n%s",
                    opt, explain_usage);
            return 2;
        }
        if (!ok) {
            fprintf(stderr,
                    "lazycogs explain: bad or missing value for %s%s%s\n", opt,
                    v != NULL ? ": " : "", v != NULL ? v : "");
            return 2;
        }
        i++;
    }
    return cli_check_collection_args("explain", &a->c);
}

/* ---- printing helpers -----------------------------------------------------
 */

/* v as Python's repr(float) writes it: the shortest digits that read back
 * as v, fixed notation for exponents -4..15, ".0" for whole numbers. */
static void format_float(double v, char *buf, size_t cap)
{
    if (isnan(v) || isinf(v)) {
        (void)snprintf(buf, cap, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    int p = 1;
    char e[40];
    for (; p < 17; p++) {
        (void)snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    (void)snprintf(e, sizeof e, "%.*e", p - 1, v);
    int exp10 = atoi(strchr(e, 'e') + 1);
    if (exp10 < -4 || exp10 >= 16) {
        (void)snprintf(buf, cap, "%s", e);
        return;
    }
    int decimals = p - 1 - exp10 > 0 ? p - 1 - exp10 : 0;
    (void)snprintf(buf, cap, "%.*f", decimals, v);
    if (strchr(buf, '.') == NULL)
        (void)snprintf(buf + strlen(buf), cap - strlen(buf), ".0");
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_json_number(double v)
{
    char buf[64];
    if (!isfinite(v)) {
        fputs("null", stdout);
        return;
    }
    format_float(v, buf, sizeof buf);
    fputs(buf, stdout);
}

/* The step's time coordinate as ISO text (UTC, to the second). */
static void format_time(const struct lc_time_step *s, char *buf, size_t cap)
{
    int64_t sec = s->coord_unit == 1
                      ? s->coord / 1000000000 - (s->coord % 1000000000 < 0)
                      : s->coord;
    time_t tt = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        (void)snprintf(buf, cap, "%" PRId64, s->coord);
}

/* ---- the plan -------------------------------------------------------------
 */

struct tiles {
    size_t nx, ny, cw, ch;
    struct lc_window *windows;
};

struct counts {
    size_t chunk_reads, cog_reads, empty, one, many, max;
    size_t skipped;
    /* with headers */
    size_t nlevels; /* levels seen: level_counts[0..nlevels) */
    size_t *level_counts;
    size_t nwindows;
    double sum_w, sum_h;
    /* what the reads would fetch: COGs the tile meets, early exit aside */
    size_t nfetched;
    uint64_t est_requests, est_bytes;
};

/* Whether read r of a plan counts as a COG read: every matched item
 * without headers, only those with the asset with them (the reference
 * drops items lacking the asset once it opens headers). */
static bool counts_as_read(const struct lc_plan_read *r, bool headers)
{
    return !headers || r->href != NULL;
}

static int tally(const struct lc_plan *plan, size_t ntimes, size_t nwin,
                 size_t nbands, bool headers, struct counts *n)
{
    for (size_t t = 0; t < ntimes; t++) {
        for (size_t w = 0; w < nwin; w++) {
            size_t items = lc_plan_nitems(plan, t, w);
            for (size_t b = 0; b < nbands; b++) {
                size_t m = 0;
                for (size_t i = 0; i < items; i++) {
                    struct lc_plan_read r = {.struct_size = sizeof r};
                    if (lc_plan_get_read(plan, t, w, i, b, &r) != LC_OK ||
                        !counts_as_read(&r, headers))
                        continue;
                    m++;
                    n->skipped += r.skipped != 0;
                    if (r.has_header) {
                        if (r.level >= n->nlevels) {
                            size_t *p = realloc(n->level_counts,
                                                (r.level + 1) * sizeof *p);
                            if (p == NULL)
                                return 1;
                            for (size_t l = n->nlevels; l <= r.level; l++)
                                p[l] = 0;
                            n->level_counts = p;
                            n->nlevels = r.level + 1;
                        }
                        n->level_counts[r.level]++;
                    }
                    if (r.has_header && r.has_window) {
                        n->nwindows++;
                        n->sum_w += r.window.width;
                        n->sum_h += r.window.height;
                        if (!r.skipped) {
                            n->nfetched++;
                            n->est_requests += r.est_requests;
                            n->est_bytes += r.est_bytes;
                        }
                    }
                }
                n->chunk_reads++;
                n->cog_reads += m;
                n->empty += m == 0;
                n->one += m == 1;
                n->many += m >= 2;
                n->max = m > n->max ? m : n->max;
            }
        }
    }
    return 0;
}

/* The level keys the reference prints, "full" and "ovr <k>" (k from 0,
 * the finest overview), in string order, with their counts. */
struct level_key {
    char key[32];
    size_t count;
};

static int compare_keys(const void *a, const void *b)
{
    return strcmp(((const struct level_key *)a)->key,
                  ((const struct level_key *)b)->key);
}

static void print_levels(const struct counts *n)
{
    struct level_key *keys = calloc(n->nlevels + 1, sizeof *keys);
    size_t nkeys = 0;
    for (size_t l = 0; keys != NULL && l < n->nlevels; l++) {
        if (n->level_counts[l] == 0)
            continue;
        if (l == 0)
            (void)snprintf(keys[nkeys].key, sizeof keys[0].key, "full");
        else
            (void)snprintf(keys[nkeys].key, sizeof keys[0].key, "ovr %zu",
                           l - 1);
        keys[nkeys++].count = n->level_counts[l];
    }
    if (nkeys > 0)
        qsort(keys, nkeys, sizeof *keys, compare_keys);
    printf("Overview levels:      ");
    for (size_t k = 0; k < nkeys; k++)
        printf("%s%s: %zu", k == 0 ? " " : "  ", keys[k].key, keys[k].count);
    putchar('\n');
    free(keys);
}

static void print_summary(const struct explain_args *a, struct lc_collection *c,
                          const struct lc_collection_info *info,
                          const size_t *times, size_t ntimes,
                          const struct tiles *tl, const struct counts *n)
{
    char res[64];
    format_float(info->transform[0], res, sizeof res);
    printf("=== ExplainPlan ===\n");
    printf("Parquet:    %s\n", a->c.href);
    printf("CRS:        %s  |  Resolution: %s units/px  |  Grid: %u x %u px\n",
           a->c.opts.crs, res, info->width, info->height);
    printf("Bands (%zu):  ", info->nbands);
    for (size_t b = 0; b < info->nbands; b++)
        printf("%s%s", b == 0 ? "" : ", ", lc_collection_band(c, b));
    printf("\n");
    printf("Time steps: %zu (", ntimes);
    if (ntimes == 0) {
        printf("none");
    } else {
        struct lc_time_step s0 = {.struct_size = sizeof s0};
        struct lc_time_step s1 = {.struct_size = sizeof s1};
        char t0[64], t1[64];
        (void)lc_collection_get_time(c, times[0], &s0);
        (void)lc_collection_get_time(c, times[ntimes - 1], &s1);
        format_time(&s0, t0, sizeof t0);
        format_time(&s1, t1, sizeof t1);
        t0[10] = t1[10] = '\0';
        if (strcmp(t0, t1) == 0)
            printf("%s", t0);
        else
            printf("%s - %s", t0, t1);
    }
    printf(")\n");
    printf("Chunks:     %zu x %zu px -> %zux%zu spatial tiles\n", tl->cw,
           tl->ch, tl->nx, tl->ny);
    printf("\n");
    double denom = n->chunk_reads > 0 ? (double)n->chunk_reads : 1.0;
    printf("Total chunk reads:     %zu (%zu band(s) x %zu time step(s) x %zu "
           "spatial tile(s))\n",
           n->chunk_reads, info->nbands, ntimes, tl->nx * tl->ny);
    printf("Total COG reads:       %zu\n", n->cog_reads);
    printf("Chunks with 0 COGs:    %4zu (%.1f%%)\n", n->empty,
           100.0 * (double)n->empty / denom);
    printf("Chunks with 1 COG:     %4zu (%.1f%%)\n", n->one,
           100.0 * (double)n->one / denom);
    printf("Chunks with 2+ COGs:   %4zu (%.1f%%)\n", n->many,
           100.0 * (double)n->many / denom);
    printf("Max COGs per chunk:    %zu\n", n->max);
    if (!a->fetch_headers) {
        printf("(Pass --fetch-headers to see overview levels and pixel "
               "windows.)\n");
        return;
    }
    if (n->cog_reads == 0) {
        printf("Overview levels: n/a (no matched COG reads)\n");
    } else {
        double nw = n->nwindows > 0 ? (double)n->nwindows : 1.0;
        print_levels(n);
        printf("Avg read window:       %.0f x %.0f px\n", n->sum_w / nw,
               n->sum_h / nw);
        printf("(Use --json for per-item overview and window details.)\n");
    }
    /* Ours, as lazycogs' explain() prints them: what the reads would
     * fetch, and the COGs the first mosaic's early exit would skip. */
    printf("Est. requests:         %" PRIu64 " (%.1f MiB in %zu COG "
           "read(s))\n",
           n->est_requests, (double)n->est_bytes / (1024.0 * 1024.0),
           n->nfetched);
    printf("Early exit skips:      %zu of %zu COG read(s)\n", n->skipped,
           n->cog_reads);
}

static void print_json(const struct explain_args *a, struct lc_collection *c,
                       const struct lc_collection_info *info,
                       const size_t *times, size_t ntimes,
                       const struct tiles *tl, const struct lc_plan *plan,
                       const struct counts *n)
{
    printf("{\"href\": ");
    print_json_string(a->c.href);
    printf(", \"crs\": ");
    print_json_string(a->c.opts.crs);
    printf(", \"epsg\": %d, \"resolution\": ", info->epsg);
    print_json_number(info->transform[0]);
    printf(", \"transform\": [");
    for (int k = 0; k < 6; k++) {
        printf(k == 0 ? "" : ", ");
        print_json_number(info->transform[k]);
    }
    printf("], \"width\": %u, \"height\": %u, \"dtype\": \"%s\", \"nodata\": ",
           info->width, info->height, lc_dtype_name(info->dtype));
    if (info->has_nodata && isfinite(info->nodata))
        print_json_number(info->nodata);
    else if (info->has_nodata)
        printf(isnan(info->nodata) ? "\"nan\""
               : info->nodata > 0  ? "\"inf\""
                                   : "\"-inf\"");
    else
        printf("null");
    printf(", \"bands\": [");
    for (size_t b = 0; b < info->nbands; b++) {
        printf(b == 0 ? "" : ", ");
        print_json_string(lc_collection_band(c, b));
    }
    printf("], \"time_steps\": [");
    for (size_t t = 0; t < ntimes; t++) {
        struct lc_time_step s = {.struct_size = sizeof s};
        char iso[64];
        (void)lc_collection_get_time(c, times[t], &s);
        format_time(&s, iso, sizeof iso);
        printf("%s{\"time_index\": %zu, \"label\": ", t == 0 ? "" : ", ",
               times[t]);
        print_json_string(s.label);
        printf(", \"date_filter\": ");
        print_json_string(s.filter);
        printf(", \"time_coord\": \"%s\", \"nitems\": %zu}", iso, s.nitems);
    }
    printf("], \"chunk_width\": %zu, \"chunk_height\": %zu, \"tiles_x\": %zu, "
           "\"tiles_y\": %zu, \"fetch_headers\": %s",
           tl->cw, tl->ch, tl->nx, tl->ny, a->fetch_headers ? "true" : "false");
    printf(", \"total_chunk_reads\": %zu, \"total_cog_reads\": %zu, "
           "\"empty_chunk_count\": %zu, \"skipped_cog_reads\": %zu",
           n->chunk_reads, n->cog_reads, n->empty, n->skipped);
    printf(", \"chunk_reads\": [");
    bool first = true;
    for (size_t t = 0; t < ntimes; t++) {
        struct lc_time_step s = {.struct_size = sizeof s};
        (void)lc_collection_get_time(c, times[t], &s);
        for (size_t w = 0; w < tl->nx * tl->ny; w++) {
            const struct lc_window *win = &tl->windows[w];
            size_t items = lc_plan_nitems(plan, t, w);
            for (size_t b = 0; b < info->nbands; b++) {
                printf("%s\n{\"band\": ", first ? "" : ",");
                first = false;
                print_json_string(lc_collection_band(c, b));
                printf(", \"time_index\": %zu, \"date_filter\": ", times[t]);
                print_json_string(s.filter);
                printf(", \"chunk_row\": %zu, \"chunk_col\": %zu, "
                       "\"x0\": %u, \"y0\": %u, \"chunk_width\": %u, "
                       "\"chunk_height\": %u, \"cog_reads\": [",
                       w / tl->nx, w % tl->nx, win->col_off, win->row_off,
                       win->width, win->height);
                size_t m = 0;
                for (size_t i = 0; i < items; i++) {
                    struct lc_plan_item it = {.struct_size = sizeof it};
                    struct lc_plan_read r = {.struct_size = sizeof r};
                    if (lc_plan_get_item(plan, t, w, i, &it) != LC_OK ||
                        lc_plan_get_read(plan, t, w, i, b, &r) != LC_OK ||
                        !counts_as_read(&r, a->fetch_headers))
                        continue;
                    printf("%s{\"item_id\": ", m++ == 0 ? "" : ", ");
                    print_json_string(it.id);
                    printf(", \"asset_key\": ");
                    print_json_string(lc_collection_band(c, b));
                    printf(", \"href\": ");
                    print_json_string(r.href != NULL ? r.href : "");
                    printf(", \"skipped_by_early_exit\": %s",
                           r.skipped ? "true" : "false");
                    if (r.has_header) {
                        if (r.level == 0)
                            printf(", \"overview_level\": null");
                        else
                            printf(", \"overview_level\": %zu", r.level - 1);
                        printf(", \"overview_resolution\": ");
                        print_json_number(r.resolution);
                        if (r.has_window)
                            printf(", \"window_col_off\": %u, "
                                   "\"window_row_off\": %u, "
                                   "\"window_width\": %u, "
                                   "\"window_height\": %u",
                                   r.window.col_off, r.window.row_off,
                                   r.window.width, r.window.height);
                        else
                            printf(", \"window_col_off\": null, "
                                   "\"window_row_off\": null, "
                                   "\"window_width\": null, "
                                   "\"window_height\": null");
                        printf(", \"est_requests\": %" PRIu64
                               ", \"est_bytes\": %" PRIu64,
                               r.est_requests, r.est_bytes);
                    }
                    printf("}");
                }
                printf("], \"n_cog_reads\": %zu}", m);
            }
        }
    }
    printf("\n]}\n");
}

static int run_explain(struct explain_args *a, struct lc_collection *c)
{
    struct lc_collection_info info = {.struct_size = sizeof info};
    (void)lc_collection_get_info(c, &info);
    size_t one = 0;
    size_t ntimes = info.ntimes;
    int rc = 0;
    if (a->time != NULL) {
        rc = cli_select_time("explain", c, info.ntimes, a->time, &one);
        if (rc != 0)
            return rc;
        ntimes = 1;
    }
    struct tiles tl = {0};
    tl.cw = a->chunk > 0 && a->chunk < info.width ? a->chunk : info.width;
    tl.ch = a->chunk > 0 && a->chunk < info.height ? a->chunk : info.height;
    tl.nx = info.width > 0 ? (info.width + tl.cw - 1) / tl.cw : 1;
    tl.ny = info.height > 0 ? (info.height + tl.ch - 1) / tl.ch : 1;
    size_t *times = calloc(ntimes > 0 ? ntimes : 1, sizeof *times);
    size_t *bands = calloc(info.nbands > 0 ? info.nbands : 1, sizeof *bands);
    tl.windows = calloc(tl.nx * tl.ny, sizeof *tl.windows);
    struct counts n = {0};
    struct lc_plan *plan = NULL;
    if (times == NULL || bands == NULL || tl.windows == NULL) {
        fprintf(stderr, "lazycogs explain: out of memory\n");
        rc = 1;
        goto done;
    }
    for (size_t t = 0; t < ntimes; t++)
        times[t] = a->time != NULL ? one : t;
    for (size_t b = 0; b < info.nbands; b++)
        bands[b] = b;
    for (size_t y = 0; y < tl.ny; y++) {
        for (size_t x = 0; x < tl.nx; x++) {
            struct lc_window *w = &tl.windows[y * tl.nx + x];
            w->col_off = (uint32_t)(x * tl.cw);
            w->row_off = (uint32_t)(y * tl.ch);
            w->width = (uint32_t)(info.width - w->col_off < tl.cw
                                      ? info.width - w->col_off
                                      : tl.cw);
            w->height = (uint32_t)(info.height - w->row_off < tl.ch
                                       ? info.height - w->row_off
                                       : tl.ch);
        }
    }
    struct lc_plan_request rq = {.struct_size = sizeof rq};
    rq.bands = bands;
    rq.nbands = info.nbands;
    rq.times = times;
    rq.ntimes = ntimes;
    rq.windows = tl.windows;
    rq.nwindows = tl.nx * tl.ny;
    rq.fetch_headers = a->fetch_headers;
    int status = lc_collection_plan(c, &rq, &plan);
    if (status < 0) {
        fprintf(stderr, "lazycogs explain: %s: %s\n", lc_err_name(status),
                lc_errmsg());
        rc = 1;
        goto done;
    }
    if (tally(plan, ntimes, rq.nwindows, info.nbands, a->fetch_headers, &n) !=
        0) {
        fprintf(stderr, "lazycogs explain: out of memory\n");
        rc = 1;
        goto done;
    }
    if (a->json)
        print_json(a, c, &info, times, ntimes, &tl, plan, &n);
    else
        print_summary(a, c, &info, times, ntimes, &tl, &n);
    if (fflush(stdout) != 0)
        rc = 1;
done:
    lc_plan_free(plan);
    free(n.level_counts);
    free(times);
    free(bands);
    free(tl.windows);
    return rc;
}

int cli_explain(int argc, char **argv)
{
    struct explain_args a = {.c = {.opts = {.struct_size = sizeof a.c.opts},
                                   .store = {.struct_size = sizeof a.c.store}}};
    int rc = parse_explain_args(argc, argv, &a);
    struct lc_collection *c = NULL;
    if (rc == 0)
        rc = cli_open_collection("explain", &a.c, &c);
    if (rc == 0)
        rc = run_explain(&a, c);
    lc_collection_close(c);
    cli_free_collection_args(&a.c);
    return rc;
}
