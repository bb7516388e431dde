/* alloc.h - the only way library code allocates memory. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ALLOC_H
#define LC_ALLOC_H

#include "common.h"

/*
 * Semantics, defined once for the whole library:
 *   - every function takes the owning object's allocator; NULL, or one whose
 *     alloc is NULL, means the C library's malloc/free;
 *   - a request for 0 bytes allocates 1 byte, so success is never NULL;
 *   - lc__calloc and lc__malloc_array check the multiplication and fail
 *     (return NULL) on overflow;
 *   - lc__free accepts NULL;
 *   - lc__realloc copies old_nbytes bytes into the new block, because a
 *     custom allocator has no realloc of its own.
 */
void *lc__malloc(const struct lc_allocator *a, size_t nbytes);
void *lc__calloc(const struct lc_allocator *a, size_t count, size_t size);
void *lc__malloc_array(const struct lc_allocator *a, size_t count, size_t size);
void *lc__realloc(const struct lc_allocator *a, void *ptr, size_t old_nbytes,
                  size_t new_nbytes);
void lc__free(const struct lc_allocator *a, void *ptr);

#endif /* LC_ALLOC_H */
