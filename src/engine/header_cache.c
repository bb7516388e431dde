/* header_cache.c - open COGs shared by the whole process, LRU by bytes. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <pthread.h>
#include <stdlib.h>

#include "../common/alloc.h"
#include "../common/text.h"
#include "../io/io.h"
#include "../tiff/tiff.h"
#include "header_cache.h"

/*
 * One mutex guards everything below; no I/O runs under it (opens and
 * closes happen after it is released).
 *
 *   by_key[hash(store, href)] -> entry -> entry ...   lookups
 *   by_cog[hash(cog)]         -> entry -> ...         releases
 *   lru: ready entries nobody holds, most recently released first
 *
 * An entry's life:
 *
 *   miss -> OPENING --open ok--> READY <--get/release--> (in the lru when
 *              |                   |                      refs == 0)
 *              +--open failed--> FAILED (unlinked; freed by the last
 *                                        waiter)     evicted -> closed
 *
 * While an entry is OPENING, other threads asking for the same key wait
 * on `opened` rather than open the file again; when it becomes READY the
 * opener takes a reference for each of them, so eviction cannot slip in
 * between, and they count as hits (was_cached). When the open fails they
 * get the opener's error, and nothing stays cached: the next get tries
 * again.
 *
 * Bytes are lc__cog_nbytes of each ready entry, counted while it is held
 * too; when their sum passes the budget, unused entries are evicted least
 * recently used first. Entries in use are never evicted, so the sum may
 * stay above the budget while they are held.
 */

enum entry_state { ENTRY_OPENING, ENTRY_READY, ENTRY_FAILED };

/* The COG caps of struct lc_limits (0: the default). A handle opened with
 * other caps is another entry: the block cap is checked at read time
 * against the handle's own. */
struct caps {
    size_t max_ifds, max_block_nbytes, max_tag_nbytes;
};

static struct caps caps_of(const struct lc_limits *limits)
{
    struct caps c = {0, 0, 0};
    if (limits != NULL) {
        c.max_ifds = limits->max_ifds;
        c.max_block_nbytes = limits->max_block_nbytes;
        c.max_tag_nbytes = limits->max_tag_nbytes;
    }
    return c;
}

static bool same_caps(const struct caps *a, const struct caps *b)
{
    return a->max_ifds == b->max_ifds &&
           a->max_block_nbytes == b->max_block_nbytes &&
           a->max_tag_nbytes == b->max_tag_nbytes;
}

struct entry {
    struct lc_store *store; /* key: a reference (NULL: href's default) */
    char *href;             /* key */
    struct caps caps;       /* key: the caps it was opened with */
    uint64_t hash;
    enum entry_state state;
    struct lc_cog *cog; /* READY */
    size_t nbytes;      /* READY: lc__cog_nbytes(cog) */
    size_t refs;        /* holders, waiters included once READY */
    size_t waiters;     /* threads waiting for OPENING to end */
    int status;         /* FAILED: what the open returned */
    struct lc__errbuf err;
    struct entry *next_key; /* by_key chain; the eviction list once out */
    struct entry *next_cog; /* by_cog chain */
    struct entry *lru_prev, *lru_next;
};

#define DEFAULT_BUDGET_NBYTES ((size_t)256 << 20)
#define MIN_BUCKETS 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t opened;
    struct entry **by_key;
    struct entry **by_cog;
    size_t nbuckets; /* a power of two, or 0 before the first entry */
    size_t nkeys;    /* entries in by_key (OPENING and READY) */
    size_t nready;
    size_t nbytes; /* of READY entries */
    struct entry *lru_head, *lru_tail;
    size_t budget;
} cache = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .opened = PTHREAD_COND_INITIALIZER,
    .budget = DEFAULT_BUDGET_NBYTES,
};

static pthread_once_t budget_once = PTHREAD_ONCE_INIT;

/* LAZYCOGS_HEADER_CACHE_BYTES, a whole number of bytes, sets the default
 * budget; anything else there is ignored. */
static void read_budget_env(void)
{
    size_t n;
    if (lc__env_nbytes("LAZYCOGS_HEADER_CACHE_BYTES", &n)) {
        pthread_mutex_lock(&cache.mu);
        cache.budget = n;
        pthread_mutex_unlock(&cache.mu);
    }
}

static uint64_t key_hash(const struct lc_store *store, const char *href)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)href; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ^ ((uint64_t)(uintptr_t)store * 0x9e3779b97f4a7c15ull);
}

static size_t cog_bucket(const struct lc_cog *cog)
{
    uint64_t h = (uint64_t)(uintptr_t)cog * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (cache.nbuckets - 1);
}

static struct entry *find_key(const struct lc_store *store, const char *href,
                              const struct caps *caps, uint64_t hash)
{
    if (cache.nbuckets == 0)
        return NULL;
    struct entry *e = cache.by_key[hash & (cache.nbuckets - 1)];
    while (e != NULL &&
           (e->hash != hash || e->store != store ||
            strcmp(e->href, href) != 0 || !same_caps(&e->caps, caps)))
        e = e->next_key;
    return e;
}

static struct entry *find_cog(const struct lc_cog *cog)
{
    if (cache.nbuckets == 0)
        return NULL;
    struct entry *e = cache.by_cog[cog_bucket(cog)];
    while (e != NULL && e->cog != cog)
        e = e->next_cog;
    return e;
}

static void unlink_key(struct entry *e)
{
    struct entry **p = &cache.by_key[e->hash & (cache.nbuckets - 1)];
    while (*p != e)
        p = &(*p)->next_key;
    *p = e->next_key;
    e->next_key = NULL;
    cache.nkeys--;
}

static void link_cog(struct entry *e)
{
    size_t b = cog_bucket(e->cog);
    e->next_cog = cache.by_cog[b];
    cache.by_cog[b] = e;
}

static void unlink_cog(struct entry *e)
{
    struct entry **p = &cache.by_cog[cog_bucket(e->cog)];
    while (*p != e)
        p = &(*p)->next_cog;
    *p = e->next_cog;
    e->next_cog = NULL;
}

/* Doubles the tables when entries outnumber buckets. A failed allocation
 * only leaves the chains longer. */
static void maybe_grow(void)
{
    if (cache.nbuckets != 0 && cache.nkeys < cache.nbuckets)
        return;
    size_t n = cache.nbuckets == 0 ? MIN_BUCKETS : 2 * cache.nbuckets;
    struct entry **by_key = lc__calloc(NULL, n, sizeof(*by_key));
    struct entry **by_cog = lc__calloc(NULL, n, sizeof(*by_cog));
    if (by_key == NULL || by_cog == NULL) {
        lc__free(NULL, by_key);
        lc__free(NULL, by_cog);
        return;
    }
    for (size_t b = 0; b < cache.nbuckets; b++) {
        struct entry *e = cache.by_key[b];
        while (e != NULL) {
            struct entry *next = e->next_key;
            e->next_key = by_key[e->hash & (n - 1)];
            by_key[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    lc__free(NULL, cache.by_key);
    lc__free(NULL, cache.by_cog);
    cache.by_key = by_key;
    cache.by_cog = by_cog;
    cache.nbuckets = n;
    /* The handle table is rebuilt from the key table: every READY entry
     * is in both. */
    for (size_t b = 0; b < n; b++) {
        for (struct entry *e = by_key[b]; e != NULL; e = e->next_key) {
            if (e->state == ENTRY_READY)
                link_cog(e);
        }
    }
}

static void lru_push_front(struct entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = cache.lru_head;
    if (cache.lru_head != NULL)
        cache.lru_head->lru_prev = e;
    else
        cache.lru_tail = e;
    cache.lru_head = e;
}

static void lru_unlink(struct entry *e)
{
    if (e->lru_prev != NULL)
        e->lru_prev->lru_next = e->lru_next;
    else
        cache.lru_head = e->lru_next;
    if (e->lru_next != NULL)
        e->lru_next->lru_prev = e->lru_prev;
    else
        cache.lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

/* Takes unused entries out, least recently used first, while the bytes
 * pass limit (or all of them); returns them chained by next_key, for
 * close_entries once unlocked. */
static struct entry *evict_locked(size_t limit, bool all)
{
    struct entry *out = NULL;

    while ((all || cache.nbytes > limit) && cache.lru_tail != NULL) {
        struct entry *e = cache.lru_tail;
        lru_unlink(e);
        unlink_key(e);
        unlink_cog(e);
        cache.nready--;
        cache.nbytes -= e->nbytes;
        e->next_key = out;
        out = e;
    }
    return out;
}

static void entry_free(struct entry *e)
{
    lc_cog_close(e->cog);
    lc_store_close(e->store);
    lc__free(NULL, e->href);
    lc__free(NULL, e);
}

static void close_entries(struct entry *e)
{
    while (e != NULL) {
        struct entry *next = e->next_key;
        entry_free(e);
        e = next;
    }
}

/* A new OPENING entry for the key, linked and held by its opener. */
static struct entry *insert_opening(struct lc_store *store, const char *href,
                                    const struct caps *caps, uint64_t hash)
{
    struct entry *e = lc__calloc(NULL, 1, sizeof(*e));
    size_t n = strlen(href) + 1;
    char *copy = lc__malloc(NULL, n);

    if (e == NULL || copy == NULL) {
        lc__free(NULL, e);
        lc__free(NULL, copy);
        return NULL;
    }
    memcpy(copy, href, n);
    e->href = copy;
    e->caps = *caps;
    e->hash = hash;
    e->state = ENTRY_OPENING;
    e->refs = 1;
    if (store != NULL) {
        lc__store_ref(store);
        e->store = store;
    }
    maybe_grow();
    if (cache.nbuckets == 0) {
        entry_free(e);
        return NULL;
    }
    struct entry **b = &cache.by_key[hash & (cache.nbuckets - 1)];
    e->next_key = *b;
    *b = e;
    cache.nkeys++;
    return e;
}

/* Waits for an OPENING entry to end, then takes the reference the opener
 * gave us (READY) or its error (FAILED). Called and returns locked;
 * *to_free gets a FAILED entry the caller must free once unlocked. */
static int wait_opened(struct entry *e, struct lc_cog **cog_ret,
                       struct lc__errbuf *err, struct entry **to_free)
{
    e->waiters++;
    while (e->state == ENTRY_OPENING)
        pthread_cond_wait(&cache.opened, &cache.mu);
    e->waiters--;
    if (e->state == ENTRY_READY) {
        *cog_ret = e->cog;
        return LC_OK;
    }
    int status = e->status;
    if (err != NULL)
        *err = e->err;
    if (e->waiters == 0)
        *to_free = e;
    return status;
}

int lc__header_cache_get(const char *href, struct lc_store *store,
                         struct lc_cog **cog_ret, bool *was_cached,
                         struct lc__errbuf *err)
{
    return lc__header_cache_get_ex(href, store, NULL, cog_ret, was_cached, err);
}

int lc__header_cache_get_ex(const char *href, struct lc_store *store,
                            const struct lc_limits *limits,
                            struct lc_cog **cog_ret, bool *was_cached,
                            struct lc__errbuf *err)
{
    struct caps caps = caps_of(limits);
    if (cog_ret != NULL)
        *cog_ret = NULL;
    if (was_cached != NULL)
        *was_cached = false;
    LC_RETURN_IF(href == NULL || cog_ret == NULL, err, LC_EINVAL,
                 "header cache: no href or no handle pointer");
    pthread_once(&budget_once, read_budget_env);
    uint64_t hash = key_hash(store, href);

    pthread_mutex_lock(&cache.mu);
    struct entry *e = find_key(store, href, &caps, hash);
    if (e != NULL && e->state == ENTRY_READY) {
        if (e->refs++ == 0)
            lru_unlink(e);
        *cog_ret = e->cog;
        pthread_mutex_unlock(&cache.mu);
        if (was_cached != NULL)
            *was_cached = true;
        return LC_OK;
    }
    if (e != NULL) {
        struct entry *to_free = NULL;
        int status = wait_opened(e, cog_ret, err, &to_free);
        pthread_mutex_unlock(&cache.mu);
        if (to_free != NULL)
            entry_free(to_free);
        if (status == LC_OK && was_cached != NULL)
            *was_cached = true;
        return status;
    }
    e = insert_opening(store, href, &caps, hash);
    pthread_mutex_unlock(&cache.mu);
    LC_RETURN_IF(e == NULL, err, LC_ENOMEM, "%s: out of memory", href);

    /* The open (I/O) runs unlocked; others asking for href wait for it. */
    struct lc_cog_options o = {.struct_size = sizeof(o),
                               .store = store,
                               .max_ifds = caps.max_ifds,
                               .max_block_nbytes = caps.max_block_nbytes,
                               .max_tag_nbytes = caps.max_tag_nbytes};
    struct lc__errbuf open_err = {0};
    struct lc_cog *cog = NULL;
    int status = lc__cog_open(href, &o, &cog, &open_err);
    size_t nbytes = status == LC_OK ? lc__cog_nbytes(cog) : 0;

    struct entry *evicted = NULL;
    bool free_now = false;
    pthread_mutex_lock(&cache.mu);
    if (status == LC_OK) {
        e->state = ENTRY_READY;
        e->cog = cog;
        e->nbytes = nbytes;
        e->refs += e->waiters; /* theirs, taken now: see wait_opened */
        link_cog(e);
        cache.nready++;
        cache.nbytes += nbytes;
        evicted = evict_locked(cache.budget, false);
    } else {
        unlink_key(e);
        e->state = ENTRY_FAILED;
        e->status = status;
        e->err = open_err;
        free_now = e->waiters == 0;
    }
    pthread_cond_broadcast(&cache.opened);
    pthread_mutex_unlock(&cache.mu);
    close_entries(evicted);
    if (free_now)
        entry_free(e);
    if (status < 0) {
        if (err != NULL)
            *err = open_err;
        return status;
    }
    *cog_ret = cog;
    return LC_OK;
}

void lc__header_cache_release(struct lc_cog *cog)
{
    if (cog == NULL)
        return;
    pthread_mutex_lock(&cache.mu);
    struct entry *e = find_cog(cog);
    LC_ASSERT(e != NULL && e->refs > 0);
    bool last = e != NULL && e->refs == 1;
    pthread_mutex_unlock(&cache.mu);
    if (e == NULL)
        return;
    /* An unused handle keeps its header but not the decoders and block
     * buffers of its reads: the budget is for headers. Our reference
     * keeps the entry alive meanwhile; a concurrent get is harmless. */
    if (last)
        lc__cog_trim(cog);

    struct entry *evicted = NULL;
    pthread_mutex_lock(&cache.mu);
    if (--e->refs == 0) {
        lru_push_front(e);
        evicted = evict_locked(cache.budget, false);
    }
    pthread_mutex_unlock(&cache.mu);
    close_entries(evicted);
}

void lc__header_cache_set_budget(size_t nbytes)
{
    /* After the environment's default, which must not override this. */
    pthread_once(&budget_once, read_budget_env);
    pthread_mutex_lock(&cache.mu);
    cache.budget = nbytes;
    struct entry *evicted = evict_locked(nbytes, false);
    pthread_mutex_unlock(&cache.mu);
    close_entries(evicted);
}

void lc__header_cache_stats(size_t *nentries_ret, size_t *nbytes_ret)
{
    pthread_mutex_lock(&cache.mu);
    if (nentries_ret != NULL)
        *nentries_ret = cache.nready;
    if (nbytes_ret != NULL)
        *nbytes_ret = cache.nbytes;
    pthread_mutex_unlock(&cache.mu);
}

void lc__header_cache_clear(void)
{
    pthread_mutex_lock(&cache.mu);
    struct entry *evicted = evict_locked(0, true);
    pthread_mutex_unlock(&cache.mu);
    close_entries(evicted);
}
