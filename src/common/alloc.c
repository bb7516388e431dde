/* alloc.c - allocation through per-object allocators, overflow-checked. */
/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <stdlib.h>

#include "alloc.h"

static bool is_custom(const struct lc_allocator *a)
{
    return a != NULL && a->alloc != NULL;
}

void *lc__malloc(const struct lc_allocator *a, size_t nbytes)
{
    if (nbytes == 0)
        nbytes = 1;
    if (is_custom(a))
        return a->alloc(a->opaque, nbytes);
    return malloc(nbytes);
}

void *lc__malloc_array(const struct lc_allocator *a, size_t count, size_t size)
{
    size_t nbytes;

    if (!lc__size_mul(count, size, &nbytes))
        return NULL;
    return lc__malloc(a, nbytes);
}

void *lc__calloc(const struct lc_allocator *a, size_t count, size_t size)
{
    size_t nbytes;

    if (!lc__size_mul(count, size, &nbytes))
        return NULL;
    void *p = lc__malloc(a, nbytes);
    if (p != NULL)
        memset(p, 0, nbytes);
    return p;
}

void *lc__realloc(const struct lc_allocator *a, void *ptr, size_t old_nbytes,
                  size_t new_nbytes)
{
    if (!is_custom(a))
        return realloc(ptr, new_nbytes == 0 ? 1 : new_nbytes);
    void *p = lc__malloc(a, new_nbytes);
    if (p == NULL)
        return NULL;
    if (ptr != NULL) {
        memcpy(p, ptr, old_nbytes < new_nbytes ? old_nbytes : new_nbytes);
        a->free(a->opaque, ptr);
    }
    return p;
}

void lc__free(const struct lc_allocator *a, void *ptr)
{
    if (ptr == NULL)
        return;
    if (is_custom(a)) {
        if (a->free != NULL)
            a->free(a->opaque, ptr);
        return;
    }
    free(ptr);
}
