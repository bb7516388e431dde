/* block_cache.c - compressed blocks fetched by reads, kept for later reads
 * of the same open COG. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/text.h"
#include "tiff.h"
#include "tiff_internal.h"

/*
 * Reads of neighbouring windows share the blocks on their edges: dask
 * chunks of one array, a subset read twice, a plot after a compute. Each
 * block a read fetches is kept here, as fetched (compressed), keyed by
 * (the COG handle's id, offset, size); a later read of the same handle
 * copies it instead of asking the server again. The engine's handles live
 * in the header cache, so its reads share them.
 *
 * Reads running at once share too: dask's threads read neighbouring
 * chunks together, and both miss the blocks on their common edge. The
 * first to miss a block claims it (an entry without data); the others
 * find the claim and wait until the claiming read fulfils it (the block
 * fetched and decoded) or abandons it (its fetch failed; the waiters then
 * fetch it themselves). A read waits only after it has fulfilled or
 * abandoned all of its own claims, so no two reads wait for each other.
 *
 * One mutex guards the table and the LRU list; no I/O runs under it, only
 * lookups and copies of one block (and fork(), see atfork_prepare). Blocks are
 * evicted least recently used first when their bytes pass the budget; a block
 * over an eighth of the budget is not kept (nor claimed). A handle's blocks
 * go when it is closed (lc__block_cache_forget), so an id never outlives its
 * file's header. A kept block is the read's own buffer, taken over (no
 * copy); keeping is best effort: out of memory, the block is not kept.
 */

#define NBUCKETS 4096 /* a power of 2 */
#define DEFAULT_BUDGET_NBYTES ((size_t)128 << 20)

struct block {
    uint64_t cog_id;
    uint64_t offset;
    size_t nbytes;
    struct lc_allocator alloc;   /* the handle's: frees the block */
    struct block *next;          /* in its bucket */
    struct block *newer, *older; /* LRU list (kept blocks only) */
    uint8_t *data;               /* the read's buffer, taken over */
    bool claimed;                /* being fetched: no data, not in the LRU */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t settled; /* a claim was fulfilled or abandoned */
    struct block *buckets[NBUCKETS];
    struct block *newest, *oldest;
    size_t nbytes, nblocks; /* kept */
    size_t nclaims;
    size_t budget;
    uint64_t next_id;
} cache = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .settled = PTHREAD_COND_INITIALIZER,
    .budget = DEFAULT_BUDGET_NBYTES,
};

static pthread_once_t budget_once = PTHREAD_ONCE_INIT;

/* LAZYCOGS_BLOCK_CACHE_BYTES, a whole number of bytes, sets the default
 * budget (0: keep nothing); anything else there is ignored. */
static void read_budget_env(void)
{
    size_t n;
    if (lc__env_nbytes("LAZYCOGS_BLOCK_CACHE_BYTES", &n)) {
        pthread_mutex_lock(&cache.mu);
        cache.budget = n;
        pthread_mutex_unlock(&cache.mu);
    }
}

static size_t bucket_of(uint64_t cog_id, uint64_t offset)
{
    uint64_t h =
        (cog_id * 0x9e3779b97f4a7c15ull) ^ (offset * 0xff51afd7ed558ccdull);
    return (size_t)(h >> 32) & (NBUCKETS - 1);
}

static void lru_unlink(struct block *b)
{
    if (b->newer != NULL)
        b->newer->older = b->older;
    else
        cache.newest = b->older;
    if (b->older != NULL)
        b->older->newer = b->newer;
    else
        cache.oldest = b->newer;
    b->newer = b->older = NULL;
}

static void lru_push_newest(struct block *b)
{
    b->older = cache.newest;
    b->newer = NULL;
    if (cache.newest != NULL)
        cache.newest->newer = b;
    cache.newest = b;
    if (cache.oldest == NULL)
        cache.oldest = b;
}

/* Unlinks the block *p points to (a bucket's link) from its bucket and,
 * when kept, the LRU list; the caller frees it. */
static void unlink_at(struct block **p)
{
    struct block *b = *p;
    *p = b->next;
    if (b->claimed) {
        cache.nclaims--;
        return;
    }
    lru_unlink(b);
    cache.nbytes -= b->nbytes;
    cache.nblocks--;
}

/* Unlinks b; the caller frees it. */
static void unlink_block(struct block *b)
{
    struct block **p = &cache.buckets[bucket_of(b->cog_id, b->offset)];
    while (*p != b)
        p = &(*p)->next;
    unlink_at(p);
}

/* The link to the block kept or claimed for (cog_id, offset, nbytes) in
 * its bucket; *link is NULL when there is none. Called with the mutex
 * held. */
static struct block **link_locked(uint64_t cog_id, uint64_t offset,
                                  size_t nbytes)
{
    struct block **p = &cache.buckets[bucket_of(cog_id, offset)];
    while (*p != NULL && !((*p)->cog_id == cog_id && (*p)->offset == offset &&
                           (*p)->nbytes == nbytes))
        p = &(*p)->next;
    return p;
}

static struct block *find_locked(uint64_t cog_id, uint64_t offset,
                                 size_t nbytes)
{
    return *link_locked(cog_id, offset, nbytes);
}

static void free_block(struct block *b)
{
    struct lc_allocator alloc = b->alloc;
    lc__free(&alloc, b->data);
    lc__free(&alloc, b);
}

/* Unlinks blocks, oldest first, until the bytes fit the budget; returns
 * them as a list (through ->next) to free after the mutex is released. */
static struct block *evict_over_budget(void)
{
    struct block *gone = NULL;
    while (cache.nbytes > cache.budget && cache.oldest != NULL) {
        struct block *b = cache.oldest;
        unlink_block(b);
        b->next = gone;
        gone = b;
    }
    return gone;
}

static void free_list(struct block *b)
{
    while (b != NULL) {
        struct block *next = b->next;
        free_block(b);
        b = next;
    }
}

/* Copies the kept block b to dst (NULL: nobody wants the bytes) and makes
 * it the newest. Called with the mutex held. */
static void copy_kept(struct block *b, void *dst)
{
    if (dst != NULL)
        memcpy(dst, b->data, b->nbytes);
    lru_unlink(b);
    lru_push_newest(b);
}

/* A fork while another thread copies a block would leave the mutex held
 * in the child: the handlers hold it across fork(). */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&cache.mu);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&cache.mu);
}

/* The child has none of the parent's other threads: the reads that
 * claimed blocks are not there to fulfil them, so their claims go (a read
 * in the child would wait for them forever), and the condition variable
 * starts anew (it may have had waiters). Claims own no data. */
static void atfork_child(void)
{
    for (size_t k = 0; k < NBUCKETS && cache.nclaims > 0; k++) {
        struct block **p = &cache.buckets[k];
        while (*p != NULL) {
            struct block *b = *p;
            if (!b->claimed) {
                p = &b->next;
                continue;
            }
            unlink_at(p);
            free_block(b);
        }
    }
    pthread_cond_init(&cache.settled, NULL);
    pthread_mutex_unlock(&cache.mu);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

uint64_t lc__block_cache_new_id(void)
{
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&cache.mu);
    uint64_t id = ++cache.next_id;
    pthread_mutex_unlock(&cache.mu);
    return id;
}

bool lc__block_cache_get(uint64_t cog_id, uint64_t offset, size_t nbytes,
                         void *dst)
{
    pthread_mutex_lock(&cache.mu);
    struct block *b = find_locked(cog_id, offset, nbytes);
    bool kept = b != NULL && !b->claimed;
    if (kept)
        copy_kept(b, dst);
    pthread_mutex_unlock(&cache.mu);
    return kept;
}

enum lc__block_claim lc__block_cache_claim(const struct lc_allocator *alloc,
                                           uint64_t cog_id, uint64_t offset,
                                           size_t nbytes, void *dst)
{
    pthread_once(&budget_once, read_budget_env);
    /* Allocated before the lock, and freed unused when not needed. */
    struct block *fresh = lc__malloc(alloc, sizeof *fresh);
    enum lc__block_claim found;
    pthread_mutex_lock(&cache.mu);
    struct block *b = find_locked(cog_id, offset, nbytes);
    if (b != NULL && !b->claimed) {
        copy_kept(b, dst);
        found = LC__BLOCK_COPIED;
    } else if (b != NULL) {
        found = LC__BLOCK_PENDING;
    } else if (fresh == NULL || nbytes > cache.budget / 8) {
        found = LC__BLOCK_MISS;
    } else {
        *fresh = (struct block){.cog_id = cog_id,
                                .offset = offset,
                                .nbytes = nbytes,
                                .alloc = *alloc,
                                .claimed = true};
        size_t k = bucket_of(cog_id, offset);
        fresh->next = cache.buckets[k];
        cache.buckets[k] = fresh;
        fresh = NULL;
        cache.nclaims++;
        found = LC__BLOCK_CLAIMED;
    }
    pthread_mutex_unlock(&cache.mu);
    lc__free(alloc, fresh);
    return found;
}

bool lc__block_cache_fulfil(uint64_t cog_id, uint64_t offset, uint8_t *data,
                            size_t nbytes)
{
    pthread_mutex_lock(&cache.mu);
    struct block *b = find_locked(cog_id, offset, nbytes);
    struct block *gone = NULL;
    /* Not there: forgotten meanwhile (the handle closed). */
    bool taken = b != NULL && b->claimed;
    if (taken) {
        b->data = data;
        b->claimed = false;
        cache.nclaims--;
        lru_push_newest(b);
        cache.nbytes += nbytes;
        cache.nblocks++;
        gone = evict_over_budget();
        pthread_cond_broadcast(&cache.settled);
    }
    pthread_mutex_unlock(&cache.mu);
    free_list(gone);
    return taken;
}

void lc__block_cache_abandon(uint64_t cog_id, uint64_t offset, size_t nbytes)
{
    pthread_mutex_lock(&cache.mu);
    struct block **p = link_locked(cog_id, offset, nbytes);
    struct block *b = *p;
    if (b != NULL && b->claimed) {
        unlink_at(p);
        pthread_cond_broadcast(&cache.settled);
    } else {
        b = NULL;
    }
    pthread_mutex_unlock(&cache.mu);
    if (b != NULL)
        free_block(b);
}

bool lc__block_cache_wait(uint64_t cog_id, uint64_t offset, size_t nbytes,
                          void *dst)
{
    pthread_mutex_lock(&cache.mu);
    struct block *b;
    while ((b = find_locked(cog_id, offset, nbytes)) != NULL && b->claimed)
        pthread_cond_wait(&cache.settled, &cache.mu);
    if (b != NULL)
        copy_kept(b, dst);
    pthread_mutex_unlock(&cache.mu);
    return b != NULL;
}

void lc__block_cache_forget(uint64_t cog_id)
{
    struct block *gone = NULL;
    pthread_mutex_lock(&cache.mu);
    for (size_t k = 0; k < NBUCKETS && cache.nblocks + cache.nclaims > 0; k++) {
        struct block **p = &cache.buckets[k];
        while (*p != NULL) {
            struct block *b = *p;
            if (b->cog_id != cog_id) {
                p = &b->next;
                continue;
            }
            unlink_at(p);
            b->next = gone;
            gone = b;
        }
    }
    /* Reads waiting for a claim that went fetch the block themselves. */
    pthread_cond_broadcast(&cache.settled);
    pthread_mutex_unlock(&cache.mu);
    free_list(gone);
}

size_t lc__block_cache_set_budget(size_t nbytes)
{
    pthread_once(&budget_once, read_budget_env);
    pthread_mutex_lock(&cache.mu);
    size_t previous = cache.budget;
    cache.budget = nbytes;
    struct block *gone = evict_over_budget();
    pthread_mutex_unlock(&cache.mu);
    free_list(gone);
    return previous;
}

void lc__block_cache_stats(size_t *nblocks_ret, size_t *nbytes_ret)
{
    pthread_mutex_lock(&cache.mu);
    *nblocks_ret = cache.nblocks;
    *nbytes_ret = cache.nbytes;
    pthread_mutex_unlock(&cache.mu);
}
