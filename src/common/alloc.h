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

/*
 * Spare blocks. While someone holds them (a collection read, from start to
 * end), blocks of LC_SPARE_MIN_NBYTES and more from the C library's malloc
 * that lc__free gets are kept, at most LC_SPARES_MAX_NBYTES and 256 blocks
 * in all, and lc__malloc hands one out again for a request of half its
 * size to all of it; when the last holder lets go, they are freed. A fresh
 * block costs the kernel a page fault per 4 KiB at its first touch, and a
 * read touches its large blocks (decoded windows, warp outputs, offsets,
 * fetched ranges) once each: the bench's W4 allocates 420 MB of them, and
 * page faults were 18-23% of its CPU. Blocks of custom allocators are
 * never kept. Under ASan kept blocks are poisoned. lc__spares_nbytes: the
 * bytes kept now (tests).
 */
#define LC_SPARE_MIN_NBYTES ((size_t)256 << 10)
#define LC_SPARES_MAX_NBYTES ((size_t)256 << 20)
void lc__spares_hold(void);
void lc__spares_release(void);
size_t lc__spares_nbytes(void);

/*
 * Has the kernel map the whole pages inside [p, p + nbytes) for writing,
 * leaving their bytes as they are (MADV_POPULATE_WRITE, Linux 5.14), so
 * that the first writes to them take no page faults; safe while other
 * threads write there. For a thread that would otherwise wait: a fresh
 * block costs its first writer a page fault per 4 KiB. Returns false
 * where the kernel cannot (then, and for every later call, nothing is
 * done).
 */
bool lc__populate(void *p, size_t nbytes);

#endif /* LC_ALLOC_H */
