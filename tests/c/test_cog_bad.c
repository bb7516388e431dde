/* test_cog_bad.c - each hostile TIFF in tests/data/bad gives its error. */
/* SPDX-License-Identifier: MIT */
#include "lazycogs.h"
#include "test_util.h"

/*
 * Usage: test_cog_bad DIR. DIR/EXPECTED lists "file open-status
 * read-status"; the read is of pixel (0, 0) of level 0. Run under ASan and
 * UBSan, this also shows that no bad file crashes, overreads or leaks.
 */
int main(int argc, char **argv)
{
    char path[4096], line[512], name[256], want_open[64], want_read[64];
    int ncases = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: test_cog_bad DIR\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/EXPECTED", argv[1]);
    FILE *list = fopen(path, "r");
    if (list == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    while (fgets(line, sizeof(line), list) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%255s %63s %63s", name, want_open, want_read) != 3) {
            LC_CHECK_FAIL_("bad EXPECTED line: %s", line);
            continue;
        }
        ncases++;
        snprintf(path, sizeof(path), "%s/%s", argv[1], name);
        struct lc_cog *cog = NULL;
        int status = lc_cog_open(path, &cog);
        if (strcmp(lc_err_name(status), want_open) != 0)
            LC_CHECK_FAIL_("%s: open gave %s (%s), expected %s", name,
                           lc_err_name(status), lc_errmsg(), want_open);
        if (status < 0) {
            LC_ASSERT_TRUE(cog == NULL);
            /* The message names the file, so a user knows which one. */
            if (strstr(lc_errmsg(), name) == NULL)
                LC_CHECK_FAIL_("%s: message does not name the file: %s", name,
                               lc_errmsg());
            continue;
        }
        uint64_t pixel[256];
        struct lc_window win = {0, 0, 1, 1};
        status =
            lc_cog_read_window(cog, 0, &win, NULL, 0, pixel, sizeof(pixel));
        if (strcmp(lc_err_name(status), want_read) != 0)
            LC_CHECK_FAIL_("%s: read gave %s (%s), expected %s", name,
                           lc_err_name(status), lc_errmsg(), want_read);
        if (status < 0 && strstr(lc_errmsg(), name) == NULL)
            LC_CHECK_FAIL_("%s: message does not name the file: %s", name,
                           lc_errmsg());
        lc_cog_close(cog);
    }
    fclose(list);
    LC_ASSERT_TRUE(ncases >= 20);
    printf("%d bad files checked\n", ncases);
    LC_TEST_END();
}
