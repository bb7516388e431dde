/* test_version.c - the run-time version matches the header. */
/* SPDX-License-Identifier: MIT */
#include "lazycogs.h"
#include "test_util.h"

int main(void)
{
    char expected[32];

    LC_ASSERT_UEQ(lc_version(), LC_VERSION_NUMBER);
    snprintf(expected, sizeof(expected), "%d.%d.%d", LC_VERSION_MAJOR,
             LC_VERSION_MINOR, LC_VERSION_PATCH);
    LC_ASSERT_STR_EQ(lc_version_string(), expected);
    LC_ASSERT_UEQ(LC_VERSION_NUMBER, LC_VERSION_MAJOR * 10000u +
                                         LC_VERSION_MINOR * 100u +
                                         LC_VERSION_PATCH);
    LC_TEST_END();
}
