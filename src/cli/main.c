/* main.c - the `lazycogs` command-line tool. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage_text[] =
    "usage: lazycogs [--version | --help] <command> [args]\n"
    "\n"
    "Read windows of many Cloud-Optimized GeoTIFFs listed in a\n"
    "stac-geoparquet file as one (band, time, y, x) array.\n"
    "\n"
    "commands:\n"
    "  version    print the library version\n"
    "  errors     list the library's status codes, names and meanings\n"
    "  info HREF [--json] [store options: lazycogs info --help]\n"
    "             describe a GeoTIFF: size, blocks, data type, compression,\n"
    "             overviews, mask, CRS, geotransform, nodata, and the bytes\n"
    "             read to learn all that\n"
    "  items FILE [--bbox W,S,E,N] [--datetime T] [--filter CQL2] ...\n"
    "             list the STAC items of a stac-geoparquet, NDJSON or JSON\n"
    "             catalogue that a query selects, one JSON object per line\n"
    "             (lazycogs items --help)\n"
    "  read FILE --crs CRS --bbox X0,Y0,X1,Y1 --resolution R --out OUT.tif\n"
    "             read one time step of a collection (reprojected, mosaicked)\n"
    "             into a tiled, deflate-compressed GeoTIFF (lazycogs read\n"
    "             --help)\n"
    "  explain FILE --crs CRS --bbox X0,Y0,X1,Y1 --resolution R [--json]\n"
    "             print the read plan: per time step, tile and band, the\n"
    "             COGs a read would touch (lazycogs explain --help)\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help and exit\n"
    "  -V, --version  print the version and exit\n";

static int print_version(void)
{
    printf("lazycogs %s\n", lc_version_string());
    return 0;
}

static int print_errors(void)
{
    /* Walk the same X-macro table the library is built from, so this list
     * can never drift from lc_strerror(). */
    printf("%-6s %-18s %s\n", "code", "name", "meaning");
#define LC_ERRNO_ROW(name, value, text)                                        \
    printf("%-6d %-18s %s\n", (value), lc_err_name(value), lc_strerror(value));
    LC_ERRNO_MAP(LC_ERRNO_ROW)
#undef LC_ERRNO_ROW
    return 0;
}

static const char *compression_name(uint32_t c)
{
    switch (c) {
    case 1:
        return "none";
    case 5:
        return "lzw";
    case 7:
        return "jpeg";
    case 8:
    case 32946:
        return "deflate";
    case 32773:
        return "packbits";
    case 34887:
        return "lerc";
    case 50000:
        return "zstd";
    case 50001:
        return "webp";
    default:
        return "other";
    }
}

/* Prints s as a JSON string literal. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Prints a double as JSON (which has no nan or inf: those become strings). */
static void print_json_number(double v)
{
    if (isnan(v))
        fputs("\"nan\"", stdout);
    else if (isinf(v))
        fputs(v > 0 ? "\"inf\"" : "\"-inf\"", stdout);
    else
        printf("%.17g", v);
}

static void print_info_json(const char *href, struct lc_cog *cog,
                            const struct lc_cog_info *info)
{
    printf("{\"href\": ");
    print_json_string(href);
    printf(", \"width\": %u, \"height\": %u", info->width, info->height);
    printf(", \"block_width\": %u, \"block_height\": %u", info->block_width,
           info->block_height);
    printf(", \"tiled\": %s", info->tiled ? "true" : "false");
    printf(", \"dtype\": \"%s\", \"bits_per_sample\": %u",
           lc_dtype_name(info->dtype), info->bits_per_sample);
    printf(", \"samples\": %u, \"interleave\": \"%s\"", info->samples,
           info->planar_separate ? "band" : "pixel");
    printf(", \"compression\": \"%s\", \"compression_tag\": %u",
           compression_name(info->compression), info->compression);
    printf(", \"predictor\": %u, \"photometric\": %u", info->predictor,
           info->photometric);
    printf(", \"bigtiff\": %s, \"byte_order\": \"%s\"",
           info->bigtiff ? "true" : "false",
           info->big_endian ? "big" : "little");
    printf(", \"mask\": %s", info->has_mask ? "true" : "false");
    printf(", \"levels\": [");
    for (size_t i = 0; i < info->nlevels; i++) {
        struct lc_cog_level lv = {.struct_size = sizeof(lv)};
        (void)lc_cog_get_level(cog, i, &lv);
        printf("%s{\"width\": %u, \"height\": %u, \"block_width\": %u, "
               "\"block_height\": %u, \"mask\": %s, \"resolution\": [",
               i == 0 ? "" : ", ", lv.width, lv.height, lv.block_width,
               lv.block_height, lv.has_mask ? "true" : "false");
        print_json_number(lv.geotransform[1]);
        fputs(", ", stdout);
        print_json_number(fabs(lv.geotransform[5]));
        fputs("]}", stdout);
    }
    printf("], \"crs\": ");
    print_json_string(info->crs);
    printf(", \"epsg\": %d", info->epsg);
    static const char *const georef_names[] = {"none", "tiepoint",
                                               "transformation", "gcps"};
    printf(", \"georef\": \"%s\"", georef_names[info->georef]);
    if (info->georef == LC_GEOREF_TIEPOINT ||
        info->georef == LC_GEOREF_TRANSFORM) {
        printf(", \"geotransform\": [");
        for (int i = 0; i < 6; i++) {
            if (i > 0)
                fputs(", ", stdout);
            print_json_number(info->geotransform[i]);
        }
        printf("], \"rotated\": %s", info->rotated ? "true" : "false");
    }
    printf(", \"pixel_is_point\": %s", info->pixel_is_point ? "true" : "false");
    printf(", \"nodata\": ");
    if (info->has_nodata)
        print_json_number(info->nodata);
    else
        fputs("null", stdout);
    printf(", \"scale\": ");
    print_json_number(info->scale);
    printf(", \"offset\": ");
    print_json_number(info->offset);
    printf(", \"file_bytes\": %" PRIu64 ", \"requests\": %" PRIu64
           ", \"bytes_read\": %" PRIu64 "}\n",
           info->file_nbytes, info->nrequests, info->nbytes_read);
}

static void print_info_text(const char *href, struct lc_cog *cog,
                            const struct lc_cog_info *info)
{
    printf("%s\n", href);
    printf("  size:        %u x %u, %u sample(s) of %s (%u-bit), %s "
           "interleaved\n",
           info->width, info->height, info->samples, lc_dtype_name(info->dtype),
           info->bits_per_sample, info->planar_separate ? "band" : "pixel");
    printf("  blocks:      %s %u x %u\n", info->tiled ? "tiles" : "strips",
           info->block_width, info->block_height);
    printf("  compression: %s (%u), predictor %u, photometric %u\n",
           compression_name(info->compression), info->compression,
           info->predictor, info->photometric);
    printf("  format:      %s, %s-endian\n",
           info->bigtiff ? "BigTIFF" : "classic TIFF",
           info->big_endian ? "big" : "little");
    for (size_t i = 0; i < info->nlevels; i++) {
        struct lc_cog_level lv = {.struct_size = sizeof(lv)};
        (void)lc_cog_get_level(cog, i, &lv);
        printf("  %s %zu: %u x %u, blocks %u x %u, resolution %.10g x "
               "%.10g%s\n",
               i == 0 ? "level  " : "overview", i, lv.width, lv.height,
               lv.block_width, lv.block_height, lv.geotransform[1],
               fabs(lv.geotransform[5]), lv.has_mask ? ", mask" : "");
    }
    printf("  crs:         %s\n", info->crs[0] != '\0' ? info->crs : "(none)");
    if (info->georef == LC_GEOREF_TIEPOINT ||
        info->georef == LC_GEOREF_TRANSFORM)
        printf("  transform:   %.17g, %.17g, %.17g, %.17g, %.17g, %.17g%s\n",
               info->geotransform[0], info->geotransform[1],
               info->geotransform[2], info->geotransform[3],
               info->geotransform[4], info->geotransform[5],
               info->rotated ? " (rotated)" : "");
    else
        printf("  transform:   (none%s)\n",
               info->georef == LC_GEOREF_GCPS ? ": GCPs only" : "");
    if (info->has_nodata)
        printf("  nodata:      %.17g\n", info->nodata);
    else
        printf("  nodata:      (none)\n");
    printf("  scale/offset: %.17g / %.17g\n", info->scale, info->offset);
    printf("  read:        %" PRIu64 " bytes in %" PRIu64
           " request(s) (file: %" PRIu64 " bytes)\n",
           info->nbytes_read, info->nrequests, info->file_nbytes);
}

/* Store options shared by every command that reads: returns 1 when
 * argv[*i] (and maybe its value) was one, 0 when not, -1 on a bad value. */
int cli_parse_store_option(int argc, char **argv, int *i,
                           struct lc_store_options *o, bool *any)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    struct {
        const char *name;
        const char **slot;
    } strings[] = {{"--region", &o->region},
                   {"--endpoint", &o->endpoint},
                   {"--profile", &o->profile},
                   {"--ca-file", &o->ca_file},
                   {"--azure-sas", &o->azure_sas}};
    struct {
        const char *name;
        int *slot;
    } flags[] = {{"--skip-signature", &o->skip_signature},
                 {"--request-payer", &o->request_payer},
                 {"--virtual-hosted-style", &o->virtual_hosted_style},
                 {"--netrc", &o->use_netrc},
                 {"--insecure", &o->insecure}};
    struct {
        const char *name;
        double *slot;
    } seconds[] = {{"--connect-timeout", &o->connect_timeout_s},
                   {"--first-byte-timeout", &o->first_byte_timeout_s},
                   {"--timeout", &o->stall_timeout_s}};

    for (size_t k = 0; k < LC_ARRAY_SIZE(flags); k++) {
        if (strcmp(a, flags[k].name) == 0) {
            *flags[k].slot = 1;
            *any = true;
            return 1;
        }
    }
    for (size_t k = 0; k < LC_ARRAY_SIZE(strings); k++) {
        if (strcmp(a, strings[k].name) == 0) {
            if (v == NULL)
                return -1;
            *strings[k].slot = v;
            *any = true;
            (*i)++;
            return 1;
        }
    }
    for (size_t k = 0; k < LC_ARRAY_SIZE(seconds); k++) {
        if (strcmp(a, seconds[k].name) == 0) {
            char *end;
            if (v == NULL)
                return -1;
            *seconds[k].slot = strtod(v, &end);
            if (*end != '\0' || *seconds[k].slot <= 0)
                return -1;
            *any = true;
            (*i)++;
            return 1;
        }
    }
    if (strcmp(a, "--max-attempts") == 0 || strcmp(a, "--coalesce-gap") == 0) {
        char *end;
        if (v == NULL)
            return -1;
        unsigned long long n = strtoull(v, &end, 10);
        if (*end != '\0' || n == 0)
            return -1;
        if (a[2] == 'm')
            o->max_attempts = (unsigned)n;
        else
            o->coalesce_gap_nbytes = (size_t)n;
        *any = true;
        (*i)++;
        return 1;
    }
    return 0;
}

const char cli_store_usage[] =
    "store options (for http(s)://, s3://, gs:// hrefs):\n"
    "  --region R  --endpoint URL  --profile NAME  --skip-signature\n"
    "  --request-payer  --virtual-hosted-style  --ca-file PEM  --insecure\n"
    "  --netrc  --azure-sas TOKEN  --connect-timeout S  --first-byte-timeout "
    "S\n"
    "  --timeout S (stall)  --max-attempts N  --coalesce-gap BYTES\n"
    "credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,\n"
    "  or ~/.aws/credentials (AWS_PROFILE, --profile)\n";

static int cmd_info(int argc, char **argv)
{
    const char *href = NULL;
    bool json = false, any_store_option = false;
    struct lc_store_options so = {.struct_size = sizeof(so)};

    for (int i = 2; i < argc; i++) {
        int r = cli_parse_store_option(argc, argv, &i, &so, &any_store_option);
        if (r < 0) {
            fprintf(stderr, "lazycogs: bad or missing value for %s\n", argv[i]);
            return 2;
        }
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (href == NULL && argv[i][0] != '-')
            href = argv[i];
        else
            href = "";
    }
    if (href == NULL || href[0] == '\0') {
        fprintf(stderr,
                "usage: lazycogs info HREF [--json] [store options]"
                "\n%s",
                cli_store_usage);
        return 2;
    }
    struct lc_cog_options co = {.struct_size = sizeof(co)};
    struct lc_store *store = NULL;
    int status = LC_OK;
    if (any_store_option)
        status = lc_store_open(href, &so, &store);
    co.store = store;
    struct lc_cog *cog = NULL;
    if (status == LC_OK)
        status = lc_cog_open_ex(href, &co, &cog);
    if (status < 0) {
        fprintf(stderr, "lazycogs: %s: %s\n", lc_err_name(status), lc_errmsg());
        lc_store_close(store);
        return 1;
    }
    struct lc_cog_info info = {.struct_size = sizeof(info)};
    (void)lc_cog_get_info(cog, &info);
    if (json)
        print_info_json(href, cog, &info);
    else
        print_info_text(href, cog, &info);
    lc_cog_close(cog);
    lc_store_close(store);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0 ||
        strcmp(cmd, "version") == 0)
        return print_version();
    if (strcmp(cmd, "errors") == 0)
        return print_errors();
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc, argv);
    if (strcmp(cmd, "items") == 0)
        return cli_items(argc, argv);
    if (strcmp(cmd, "read") == 0)
        return cli_read(argc, argv);
    if (strcmp(cmd, "explain") == 0)
        return cli_explain(argc, argv);
    fprintf(stderr, "lazycogs: unknown command '%s'\n\n%s", cmd, usage_text);
    return 2;
}
