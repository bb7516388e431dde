/* test_errors.c - status codes: pinned values, names and texts. */
/* SPDX-License-Identifier: MIT */
#include "lazycogs.h"
#include "test_util.h"

/* The values are part of the ABI: a change here must be deliberate. */
static void test_pinned_values(void)
{
    LC_ASSERT_EQ(LC_OK, 0);
    LC_ASSERT_EQ(LC_EINVAL, -1);
    LC_ASSERT_EQ(LC_ENOMEM, -2);
    LC_ASSERT_EQ(LC_EIO, -3);
    LC_ASSERT_EQ(LC_EHTTP, -4);
    LC_ASSERT_EQ(LC_ECORRUPT, -5);
    LC_ASSERT_EQ(LC_EUNSUPPORTED, -6);
    LC_ASSERT_EQ(LC_ENOSPACE, -7);
    LC_ASSERT_EQ(LC_ELIMIT, -8);
    LC_ASSERT_EQ(LC_ECANCELLED, -9);
    LC_ASSERT_EQ(LC_ENOTFOUND, -10);
}

static void test_names_and_texts(void)
{
    LC_ASSERT_STR_EQ(lc_err_name(LC_OK), "LC_OK");
    LC_ASSERT_STR_EQ(lc_strerror(LC_OK), "success");
    LC_ASSERT_STR_EQ(lc_err_name(LC_ECORRUPT), "LC_ECORRUPT");
    LC_ASSERT_STR_EQ(lc_strerror(LC_ECORRUPT), "corrupt or malformed data");
    LC_ASSERT_STR_EQ(lc_err_name(LC_ENOSPACE), "LC_ENOSPACE");
    /* Unknown codes, including positive ones, never give NULL. */
    LC_ASSERT_STR_EQ(lc_err_name(-999), "LC_EUNKNOWN");
    LC_ASSERT_STR_EQ(lc_strerror(-999), "unknown error");
    LC_ASSERT_STR_EQ(lc_err_name(7), "LC_EUNKNOWN");
}

/* Every code in the table has its own name and a real description, and
 * codes are distinct: the X-macro cannot produce duplicates silently. */
static void test_table_is_consistent(void)
{
    static const int codes[] = {
#define LC_ERRNO_VALUE(name, value, text) value,
        LC_ERRNO_MAP(LC_ERRNO_VALUE)
#undef LC_ERRNO_VALUE
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);

    for (size_t i = 0; i < n; i++) {
        LC_ASSERT_TRUE(codes[i] < 0);
        LC_ASSERT_TRUE(strcmp(lc_err_name(codes[i]), "LC_EUNKNOWN") != 0);
        LC_ASSERT_TRUE(strcmp(lc_strerror(codes[i]), "unknown error") != 0);
        for (size_t j = i + 1; j < n; j++) {
            LC_ASSERT_TRUE(codes[i] != codes[j]);
            LC_ASSERT_TRUE(
                strcmp(lc_err_name(codes[i]), lc_err_name(codes[j])) != 0);
        }
    }
}

int main(void)
{
    test_pinned_values();
    test_names_and_texts();
    test_table_is_consistent();
    LC_TEST_END();
}
