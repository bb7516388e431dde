/* items.c - `lazycogs items`: list the items a catalogue query selects. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

static const char items_usage[] =
    "usage: lazycogs items FILE [options] [store options]\n"
    "\n"
    "Lists the STAC items of FILE (stac-geoparquet file, directory or glob;\n"
    "NDJSON; a FeatureCollection or JSON array of items) that the query\n"
    "selects, in sortby order, one JSON object per line: id, datetime,\n"
    "start/end datetime, bbox, assets (href, type, roles, projection,\n"
    "raster:bands) and the requested properties.\n"
    "\n"
    "query:\n"
    "  --bbox W,S,E,N      footprints meeting this box (EPSG:4326)\n"
    "  --datetime T        an instant, a date or START/END ('..' open)\n"
    "  --filter CQL2       CQL2 text, or CQL2-JSON starting with '{'\n"
    "  --sortby SPEC       '-eo:cloud_cover,datetime' or JSON\n"
    "  --ids A,B           only these item ids\n"
    "  --limit N           print at most N items (after sorting)\n"
    "output:\n"
    "  --assets A,B        these asset keys (default: every key)\n"
    "  --fields F,G        these properties too\n"
    "  --asset-fields X,Y  these fields of each asset too\n"
    "  --geometry          the footprint as GeoJSON too\n"
    "  --json              one JSON document {\"count\": n, \"items\": [...]}\n"
    "  --stats             say on stderr how many items were loaded and\n"
    "                      selected\n"
    "  --max-items N       load at most N items of the catalogue\n";

/* Splits a comma-separated list in place; returns the count or -1. */
static int split_list(char *text, const char ***list_ret, size_t *n_ret)
{
    size_t n = 1;
    for (const char *p = text; *p != '\0'; p++)
        n += *p == ',';
    const char **list = calloc(n, sizeof *list);
    if (list == NULL)
        return -1;
    size_t k = 0;
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        if (*p != '\0')
            list[k++] = p;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    free(*list_ret);
    *list_ret = list;
    *n_ret = k;
    return 0;
}

static bool parse_bbox(const char *text, double bbox[4])
{
    double v[4];
    const char *p = text;
    for (int k = 0; k < 4; k++) {
        char *end;
        v[k] = strtod(p, &end);
        if (end == p || (k < 3 && *end != ',') || (k == 3 && *end != '\0'))
            return false;
        p = end + 1;
    }
    memcpy(bbox, v, sizeof v);
    return v[1] <= v[3];
}

static bool parse_count(const char *text, size_t *n)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || text[0] == '-')
        return false;
    *n = (size_t)v;
    return true;
}

struct items_args {
    const char *href;
    struct lc_items_query query;
    bool json, stats, any_store_option;
    struct lc_store_options store;
    /* The list arguments --ids, --fields, --assets, --asset-fields:
     * copies split in place. */
    struct {
        char *copy;
        const char **list;
        size_t n;
    } lists[4];
};

static const char *const list_names[4] = {"--ids", "--fields", "--assets",
                                          "--asset-fields"};

/* Parses an option that takes value v; returns false when v is bad and
 * sets *known to false when opt is no such option. */
static bool parse_value_option(struct items_args *a, const char *opt,
                               const char *v, bool *known)
{
    *known = true;
    for (size_t k = 0; k < LC_ARRAY_SIZE(list_names); k++) {
        if (strcmp(opt, list_names[k]) != 0)
            continue;
        free(a->lists[k].copy);
        a->lists[k].copy = strdup(v);
        return a->lists[k].copy != NULL &&
               split_list(a->lists[k].copy, &a->lists[k].list,
                          &a->lists[k].n) == 0;
    }
    if (strcmp(opt, "--bbox") == 0) {
        a->query.has_bbox = 1;
        return parse_bbox(v, a->query.bbox);
    }
    if (strcmp(opt, "--limit") == 0)
        return parse_count(v, &a->query.limit);
    if (strcmp(opt, "--max-items") == 0)
        return parse_count(v, &a->query.max_items);
    if (strcmp(opt, "--datetime") == 0)
        a->query.datetime = v;
    else if (strcmp(opt, "--filter") == 0)
        a->query.filter = v;
    else if (strcmp(opt, "--sortby") == 0)
        a->query.sortby = v;
    else
        *known = false;
    return true;
}

/* Parses argv; returns 0, or 2 after printing what is wrong. */
static int parse_args(int argc, char **argv, struct items_args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        int r = cli_parse_store_option(argc, argv, &i, &a->store,
                                       &a->any_store_option);
        if (r < 0) {
            fprintf(stderr, "lazycogs items: bad or missing value for %s\n",
                    opt);
            return 2;
        }
        if (r > 0)
            continue;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(items_usage, stdout);
            fputs(cli_store_usage, stdout);
            exit(0);
        }
        if (strcmp(opt, "--geometry") == 0) {
            a->query.with_geometry = 1;
            continue;
        }
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (strcmp(opt, "--stats") == 0) {
            a->stats = true;
            continue;
        }
        if (opt[0] != '-' && a->href == NULL) {
            a->href = opt;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool known = false;
        bool ok = v != NULL && parse_value_option(a, opt, v, &known);
        if (v != NULL && !known) {
            fprintf(stderr, "lazycogs items: unknown argument '%s'\n\n%s", opt,
                    items_usage);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "lazycogs items: bad or missing value for %s\n",
                    opt);
            return 2;
        }
        i++;
    }
    if (a->href == NULL) {
        fputs(items_usage, stderr);
        return 2;
    }
    a->query.ids = a->lists[0].list;
    a->query.nids = a->lists[0].n;
    a->query.fields = a->lists[1].list;
    a->query.nfields = a->lists[1].n;
    a->query.assets = a->lists[2].list;
    a->query.nassets = a->lists[2].n;
    a->query.asset_fields = a->lists[3].list;
    a->query.nasset_fields = a->lists[3].n;
    return 0;
}

static void free_args(struct items_args *a)
{
    for (size_t k = 0; k < LC_ARRAY_SIZE(a->lists); k++) {
        free(a->lists[k].list);
        free(a->lists[k].copy);
    }
}

/* Prints the JSON lines as they are, or as one document. */
static int print_items(const char *lines, size_t count, bool json)
{
    if (!json) {
        fputs(lines, stdout);
    } else {
        printf("{\"count\":%zu,\"items\":[", count);
        for (const char *p = lines; *p != '\0';) {
            const char *end = strchr(p, '\n');
            size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
            printf("%s%.*s", p == lines ? "" : ",", (int)n, p);
            p += n + (end != NULL);
        }
        printf("]}\n");
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int cli_items(int argc, char **argv)
{
    struct items_args a = {.query = {.struct_size = sizeof(a.query)},
                           .store = {.struct_size = sizeof(a.store)}};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        free_args(&a);
        return rc;
    }
    int status = LC_OK;
    if (a.any_store_option)
        status = lc_store_open(a.href, &a.store, &a.query.store);
    char *lines = NULL;
    size_t count = 0, loaded = 0;
    if (status == LC_OK)
        status = lc_items_json(a.href, &a.query, &lines, &count, &loaded);
    if (status < 0) {
        fprintf(stderr, "lazycogs items: %s: %s\n", lc_err_name(status),
                lc_errmsg());
        rc = 1;
    } else {
        if (a.stats)
            fprintf(stderr, "items: %zu loaded, %zu selected\n", loaded, count);
        rc = print_items(lines, count, a.json);
    }
    lc_free(lines);
    lc_store_close(a.query.store);
    free_args(&a);
    return rc;
}
