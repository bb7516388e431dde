/* par.c - the iterations of a loop, run on the calling thread's helpers. */
/* SPDX-License-Identifier: MIT */
#include "par.h"

static _Thread_local struct lc__par_hook tls_par_hook;

void lc__par_set_hook(const struct lc__par_hook *hook)
{
    tls_par_hook = hook != NULL ? *hook : (struct lc__par_hook){0};
}

void lc__par_for(size_t n, lc__par_fn fn, void *ctx)
{
    if (n > 1 && tls_par_hook.run != NULL) {
        tls_par_hook.run(tls_par_hook.arg, n, fn, ctx);
        return;
    }
    for (size_t i = 0; i < n; i++)
        fn(ctx, i);
}
