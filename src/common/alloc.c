/* alloc.c - allocation through per-object allocators, overflow-checked. */
/* SPDX-License-Identifier: MIT */
/* madvise and MADV_POPULATE_WRITE (lc__populate) are Linux's, not POSIX's.
 */
#define _DEFAULT_SOURCE 1
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define LC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LC_ASAN 1
#endif
#endif
#ifdef LC_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

static bool is_custom(const struct lc_allocator *a)
{
    return a != NULL && a->alloc != NULL;
}

/* ---- spare blocks (see alloc.h) ----------------------------------------- */

#define SPARES_CAP 256

static struct {
    pthread_mutex_t mu;
    size_t holders;
    size_t n, nbytes;
    struct {
        void *p;
        size_t nbytes; /* malloc_usable_size */
    } block[SPARES_CAP];
} g_spares = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The smallest spare block of nbytes to twice that, taken out; or NULL. */
static void *spare_take(size_t nbytes)
{
    void *p = NULL;
    pthread_mutex_lock(&g_spares.mu);
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < g_spares.n; i++) {
        size_t have = g_spares.block[i].nbytes;
        if (have >= nbytes && have / 2 <= nbytes &&
            (best == SIZE_MAX || have < g_spares.block[best].nbytes))
            best = i;
    }
    if (best != SIZE_MAX) {
        p = g_spares.block[best].p;
        g_spares.nbytes -= g_spares.block[best].nbytes;
        g_spares.block[best] = g_spares.block[--g_spares.n];
    }
    pthread_mutex_unlock(&g_spares.mu);
    if (p != NULL)
        UNPOISON(p, nbytes);
    return p;
}

/* Keeps a block lc__free got, if it is large, someone holds the spares and
 * there is room; true when it was kept. */
static bool spare_keep(void *p)
{
#ifdef __GLIBC__
    size_t nbytes = malloc_usable_size(p);
    if (nbytes < LC_SPARE_MIN_NBYTES)
        return false;
    bool kept = false;
    pthread_mutex_lock(&g_spares.mu);
    if (g_spares.holders > 0 && g_spares.n < SPARES_CAP &&
        g_spares.nbytes + nbytes <= LC_SPARES_MAX_NBYTES) {
        /* Poisoned before it is visible to spare_take: a use after
         * lc__free stays an error under ASan. */
        POISON(p, nbytes);
        g_spares.block[g_spares.n].p = p;
        g_spares.block[g_spares.n++].nbytes = nbytes;
        g_spares.nbytes += nbytes;
        kept = true;
    }
    pthread_mutex_unlock(&g_spares.mu);
    return kept;
#else
    (void)p;
    return false;
#endif
}

/* fork() while another thread holds the lock: the child gets it free, with
 * no holder (its reads were the parent's threads') and no block kept. */
static void spares_prepare(void)
{
    pthread_mutex_lock(&g_spares.mu);
}

static void spares_parent(void)
{
    pthread_mutex_unlock(&g_spares.mu);
}

static void spares_child(void)
{
    for (size_t i = 0; i < g_spares.n; i++) {
        UNPOISON(g_spares.block[i].p, g_spares.block[i].nbytes);
        free(g_spares.block[i].p);
    }
    g_spares.n = 0;
    g_spares.nbytes = 0;
    g_spares.holders = 0;
    pthread_mutex_unlock(&g_spares.mu);
}

static pthread_once_t g_spares_once = PTHREAD_ONCE_INIT;

static void spares_register_atfork(void)
{
    (void)pthread_atfork(spares_prepare, spares_parent, spares_child);
}

void lc__spares_hold(void)
{
    (void)pthread_once(&g_spares_once, spares_register_atfork);
    pthread_mutex_lock(&g_spares.mu);
    g_spares.holders++;
    pthread_mutex_unlock(&g_spares.mu);
}

void lc__spares_release(void)
{
    size_t n = 0;
    void *gone[SPARES_CAP];
    pthread_mutex_lock(&g_spares.mu);
    if (g_spares.holders > 0 && --g_spares.holders == 0) {
        for (size_t i = 0; i < g_spares.n; i++) {
            UNPOISON(g_spares.block[i].p, g_spares.block[i].nbytes);
            gone[n++] = g_spares.block[i].p;
        }
        g_spares.n = 0;
        g_spares.nbytes = 0;
    }
    pthread_mutex_unlock(&g_spares.mu);
    for (size_t i = 0; i < n; i++)
        free(gone[i]);
}

size_t lc__spares_nbytes(void)
{
    pthread_mutex_lock(&g_spares.mu);
    size_t nbytes = g_spares.nbytes;
    pthread_mutex_unlock(&g_spares.mu);
    return nbytes;
}

/* ---- allocation ---------------------------------------------------------- */

void *lc__malloc(const struct lc_allocator *a, size_t nbytes)
{
    if (nbytes == 0)
        nbytes = 1;
    if (is_custom(a))
        return a->alloc(a->opaque, nbytes);
    void *p = nbytes >= LC_SPARE_MIN_NBYTES ? spare_take(nbytes) : NULL;
    return p != NULL ? p : malloc(nbytes);
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
    if (!spare_keep(ptr))
        free(ptr);
}

/* ---- populated pages ---------------------------------------------------- */

bool lc__populate(void *p, size_t nbytes)
{
#ifdef MADV_POPULATE_WRITE
    static atomic_bool unsupported;
    if (atomic_load_explicit(&unsupported, memory_order_relaxed))
        return false;
    long pagesize = sysconf(_SC_PAGESIZE);
    uintptr_t page = pagesize > 0 ? (uintptr_t)pagesize : 4096;
    uintptr_t from = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t to = ((uintptr_t)p + nbytes) & ~(page - 1);
    if (to > from &&
        madvise((void *)from, to - from, MADV_POPULATE_WRITE) != 0) {
        atomic_store_explicit(&unsupported, true, memory_order_relaxed);
        return false;
    }
    return true;
#else
    (void)p;
    (void)nbytes;
    return false;
#endif
}
