/* cpu.c - whether the SIMD kernels may run. */
/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <stdlib.h>

bool lc__simd_disabled(void)
{
#ifdef LC_TEST_HOOKS
    const char *v = getenv("LAZYCOGS_DISABLE_SIMD");
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
#else
    return false;
#endif
}
