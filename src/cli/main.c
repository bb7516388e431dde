/* main.c - the `lazycogs` command-line tool. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>
#include <stdio.h>

static const char usage_text[] =
    "usage: lazycogs [--version | --help] <command> [args]\n"
    "\n"
    "Read windows of many Cloud-Optimized GeoTIFFs listed in a\n"
    "stac-geoparquet file as one (band, time, y, x) array.\n"
    "\n"
    "commands:\n"
    "  version    print the library version\n"
    "  errors     list the library's status codes, names and meanings\n"
    "  info HREF [--json]\n"
    "             describe a GeoTIFF: size, blocks, data type, compression,\n"
    "             overviews, mask, CRS, geotransform, nodata, and the bytes\n"
    "             read to learn all that\n"
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

static int cmd_info(int argc, char **argv)
{
    const char *href = NULL;
    bool json = false;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (href == NULL)
            href = argv[i];
        else
            href = "";
    }
    if (href == NULL || href[0] == '\0') {
        fputs("usage: lazycogs info HREF [--json]\n", stderr);
        return 2;
    }
    struct lc_cog *cog;
    int status = lc_cog_open(href, &cog);
    if (status < 0) {
        fprintf(stderr, "lazycogs: %s: %s\n", lc_err_name(status), lc_errmsg());
        return 1;
    }
    struct lc_cog_info info = {.struct_size = sizeof(info)};
    (void)lc_cog_get_info(cog, &info);
    if (json)
        print_info_json(href, cog, &info);
    else
        print_info_text(href, cog, &info);
    lc_cog_close(cog);
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
    fprintf(stderr, "lazycogs: unknown command '%s'\n\n%s", cmd, usage_text);
    return 2;
}
