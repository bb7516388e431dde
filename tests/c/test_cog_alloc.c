/* test_cog_alloc.c - every allocation failure in open and read is clean. */
/* SPDX-License-Identifier: MIT */
#include "lazycogs.h"
#include "test_util.h"

/*
 * An allocator that fails its Nth allocation. For N = 0, 1, 2... open and
 * read a small COG: each attempt must either succeed or fail with
 * LC_ENOMEM, leave nothing allocated (allocs == frees), and leak nothing
 * (ASan's leak check runs at exit). The loop ends at the first N that
 * succeeds, so every allocation site on the path has failed once.
 */

static int open_and_read(const char *path, struct lc_test_failing *f)
{
    struct lc_cog_options opts = {
        .struct_size = sizeof(opts),
        .allocator = {lc_test_failing_alloc, lc_test_failing_free, f},
    };
    struct lc_cog *cog = NULL;
    uint8_t out[3 * 20 * 20 * 2];
    struct lc_window w = {10, 10, 20, 20};
    struct lc_window w_ovr = {2, 2, 10, 10};

    int status = lc_cog_open_ex(path, &opts, &cog);
    if (status == LC_OK) {
        status = lc_cog_read_window(cog, 0, &w, NULL, 0, out, sizeof(out));
        if (status == LC_OK)
            status =
                lc_cog_read_window(cog, 1, &w_ovr, NULL, 0, out, sizeof(out));
    }
    lc_cog_close(cog);
    return status;
}

static void check_file(const char *path)
{
    size_t n;

    for (n = 0; n < 10000; n++) {
        struct lc_test_failing f = {.fail_at = n};
        int status = open_and_read(path, &f);
        if (f.live != 0)
            LC_CHECK_FAIL_("%s: failing allocation %zu leaves %zu blocks", path,
                           n, f.live);
        if (status == LC_OK)
            break;
        if (status != LC_ENOMEM) {
            LC_CHECK_FAIL_("%s: failing allocation %zu gave %s (%s)", path, n,
                           lc_err_name(status), lc_errmsg());
            break;
        }
    }
    LC_ASSERT_TRUE(n > 3 && n < 10000);
    printf("%s: %zu allocation failures handled\n", path, n);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        check_file(argv[i]);
    LC_ASSERT_TRUE(argc > 1);
    LC_TEST_END();
}
