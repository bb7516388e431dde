/* version.c - the library's run-time version. */
/* SPDX-License-Identifier: MIT */
#include "common.h"

#define LC_STRINGIFY_(x) #x
#define LC_STRINGIFY(x) LC_STRINGIFY_(x)

unsigned lc_version(void)
{
    return LC_VERSION_NUMBER;
}

const char *lc_version_string(void)
{
    return LC_STRINGIFY(LC_VERSION_MAJOR) "." LC_STRINGIFY(
        LC_VERSION_MINOR) "." LC_STRINGIFY(LC_VERSION_PATCH);
}
