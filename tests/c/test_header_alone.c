/* test_header_alone.c - the public header compiles on its own, first. */
/* SPDX-License-Identifier: MIT */
#include "lazycogs.h"

/* Nothing may be needed before lazycogs.h: this file includes it first and
 * uses its types without any other header. */
int main(void)
{
    struct lc_allocator a = {0};
    enum lc_status s = LC_OK;
    return (a.alloc == 0 && s == LC_OK && LC_VERSION_NUMBER > 0) ? 0 : 1;
}
