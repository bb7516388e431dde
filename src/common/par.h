/* par.h - the iterations of a loop, run on the calling thread's helpers. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_COMMON_PAR_H
#define LC_COMMON_PAR_H

#include "common.h"

/*
 * A module that has independent work items (the COG reader's blocks to
 * decode) hands them to lc__par_for, which runs fn(ctx, i) for every i in
 * [0, n) and returns when all have returned. A thread that can lend other
 * threads to its loops installs a hook (the engine's band tasks do: the
 * helpers are pool threads, within the read's CPU gate); without one the
 * iterations run in order on the calling thread. fn must be safe to run
 * concurrently for different i, and may run on any thread.
 */
typedef void (*lc__par_fn)(void *ctx, size_t i);

struct lc__par_hook {
    /* Runs fn(ctx, i) for every i in [0, n), returning when all have. */
    void (*run)(void *arg, size_t n, lc__par_fn fn, void *ctx);
    void *arg;
};

/* Installs the calling thread's hook (NULL clears it). */
void lc__par_set_hook(const struct lc__par_hook *hook);
void lc__par_for(size_t n, lc__par_fn fn, void *ctx);

#endif /* LC_COMMON_PAR_H */
