/* main.c - the `lazycogs` command-line tool. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

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
    fprintf(stderr, "lazycogs: unknown command '%s'\n\n%s", cmd, usage_text);
    return 2;
}
