/* read.c - phase 1: reading a window of a collection (fetch, warp,
 * mosaic). */
/* SPDX-License-Identifier: MIT */

/*
 * How a read works (DESIGN.md "read(window) - phase 1"; behaviour
 * reference §2.9-§2.15)
 * ================================================================
 *
 *   request -- checked; out pre-filled with the nodata (0 when unknown)
 *      |
 *   window --- its edges, densified and pushed out by one pixel, to
 *      |       EPSG:4326 -> R-tree query (hits in ascending k = sort order)
 *      |       -> items of the requested steps whose footprint polygon
 *      |       really meets the window polygon
 *      |
 *   items ---- one "band task" per (item, band), dispatched in order
 *      |       (step by step, k ascending) to a process-wide pool of
 *      |       worker threads:
 *      |
 *      |         header (process-wide cache) -> contract checks (§2.13)
 *      |         -> overview (target resolution at the COG's reference
 *      |            point, the same for every window: see below)
 *      |         -> source window (the window's densified edge through
 *      |            the inverse geotransform) -> read it (sample 0)
 *      |         -> source map (approximate transformer, anchored on the
 *      |            collection's grid) -> warp into a buffer of the part
 *      |            of the window the source covers, with a validity
 *      |            mask (nearest: through source offsets shared by the
 *      |            item's bands laid out alike) -> values cast to the
 *      |            output dtype
 *      |
 *   mosaic --- the calling thread feeds finished items, strictly in k
 *      |       order per step (results that finish early wait), into one
 *      |       mosaic per step
 *      |
 *   out ------ each step's mosaic is written into its (band, time) planes
 *
 * Matching items and choosing each COG's level and source window live in
 * select.c, which lc_collection_plan (plan.c) calls too: a plan reports
 * exactly what a read of the same window touches.
 *
 * Limits on work in flight: at most max_concurrent_reads items are
 * dispatched and not yet fed (fewer when their buffers would pass
 * READ_INFLIGHT_BUDGET), and at most `slots` band tasks sit in the pool at
 * once (nthreads; more for remote assets, whose fetches mostly wait on
 * the network), so the dispatcher decides late, with the freshest
 * coverage, what still needs reading. The tasks of remote reads pass a
 * CPU gate: at most nthreads of them compute at once, the others wait for
 * reads or for a place.
 *
 * Window independence. A pixel gets the same bits whatever window it is
 * read in (a point, a dask chunk, the whole grid):
 *   - each warp strip's source map is anchored on the collection's grid
 *     (lc__approx_options.anchor_*): interpolation cells on the grid's
 *     128-pixel lattice, positions from grid pixel indices, the source
 *     window offset subtracted last (exactly);
 *   - the overview of a COG is chosen at its reference point (select.c):
 *     the centre of the COG's extent, in the grid's CRS, clipped to the
 *     grid (the grid's centre when they do not meet), not at the window
 *     centre as the reference does (§2.11 step 3); the footprint kernels
 *     (average, mode, min, max) measure their scale there too;
 *   - the source window only bounds the read: it is widened by the
 *     kernel's reach plus a pixel for the densified edge, so no pixel a
 *     position needs is ever outside it;
 *   - items are matched, and first's footprint rectangles built, with a
 *     margin of one pixel plus the collection's largest source pixel
 *     (lc__match_margin): a valid source pixel reaches past its item's
 *     footprint by up to half its diagonal.
 *
 * Early exit (first only). Before a band task is dispatched, the
 * dispatcher asks the step's mosaic whether the item's footprint (its bbox
 * in window pixels, lc__match_margin pixels wider) is already covered for
 * that band: if so the task is never run, so the COG is neither opened nor
 * fetched. Once
 * a step's window is covered for every band, its later items are skipped
 * whole (stats->items_skipped), and workers drop queued tasks of that step.
 * With several workers an item may be fetched before the items ahead of
 * it are fed; the same test, made again when it reaches the front of its
 * step, then drops it (also counted as skipped). So the result (and which
 * failing item counts, see below) never depends on timing. Other methods
 * read every
 * item: unlike the reference, which stops every method once each pixel
 * has one valid value (behaviour reference §6), we do the correct thing.
 *
 * Errors. A contract violation (§2.13) fails the read whatever the errors
 * policy. Other item errors fail it with LC_ERRORS_RAISE, or skip the
 * whole item (no band of it is fed) with LC_ERRORS_IGNORE. The error
 * reported is the one of the first failing item in dispatch order (the
 * requested steps in order, then k), however the threads finished: on an
 * error, items dispatched before it still run to the end and are fed, and
 * those after it are abandoned.
 *
 * Cancellation: the calling thread polls request->cancel while it waits,
 * workers check it between stages, between strips of a large source
 * window and between strips of the warp. A read returns only when none of
 * its tasks is queued or running: no thread works for it afterwards.
 *
 * Differences from the reference, on purpose (besides early exit):
 *   - out-of-source pixels are never data: with an unknown nodata the
 *     reference takes the zeros it pads a warped item with as valid;
 *   - NaN nodata masks NaN pixels (the reference compares with ==);
 *   - the 4326 query box and the source window come from densified edges,
 *     not the four corners;
 *   - the overview is chosen per COG for the whole grid, not per window,
 *     and footprints are matched with a source pixel's margin (above);
 *   - values are cast to the collection's dtype before they are mosaicked
 *     (the reference mosaics in the source dtype and casts the result;
 *     the two differ only for an explicit dtype narrower than a source);
 *   - a COG's internal mask (GDAL's per-dataset mask) marks invalid pixels;
 *   - count skips the dtype contract: it only counts the values.
 */
/* _SC_NPROCESSORS_ONLN is not POSIX's. */
#define _DEFAULT_SOURCE 1
#include "../common/common.h"

#include "../common/alloc.h"
#include "../common/par.h"
#include "../geo/approx.h"
#include "../io/io.h"
#include "../tiff/geokeys.h"
#include "../tiff/tiff.h"
#include "collection.h"
#include "header_cache.h"
#include "select.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Buffers of items dispatched and not yet fed (item_nbytes), beyond
 * which no more are dispatched (at least 2 always are). */
#define READ_INFLIGHT_BUDGET ((size_t)512 << 20)
/* Band tasks in the pool at once for remote assets, at most. */
#define READ_REMOTE_SLOTS 48
/* A source window read at once, at most, between cancellation checks. */
#define READ_STRIP_NBYTES ((size_t)16 << 20)
/* Segments per edge when a window edge is densified. */
#define EDGE_SEGMENTS LC__EDGE_SEGMENTS
/* Destination pixels warped at once, between cancellation checks. */
#define WARP_STRIP_PIXELS ((size_t)1 << 18)
#define WARP_STRIP_MIN_ROWS 16
/* How often a waiting read looks at request->cancel. */
#define CANCEL_POLL_NS 2000000L
/* Bytes of the output touch_output maps at a time. */
#define TOUCH_CHUNK_NBYTES ((size_t)2 << 20)
/* Source CRSs whose transforms a read starts finding ahead of its band
 * tasks, at most. */
#define READ_PREWARM_CRSS 4
/* An item's shared nearest offsets, at most (4 bytes per output pixel);
 * the bands of larger parts warp alone, strip by strip. */
#define SHARED_OFFSETS_MAX_NBYTES ((size_t)256 << 20)

/* ---- the worker pool ------------------------------------------------------
 *
 * One pool for the whole process, created on the first read and grown to
 * the most threads the reads running at once have reserved (their slots
 * and prewarm jobs, summed: pool_reserve), plus the helpers' threads: a
 * point read of three bands in a new process (W3) needs six, not the fifty
 * a read of many items could use (starting those took a millisecond or
 * more before its first request, on a machine of two cores). Threads live
 * until the process ends (so their PROJ contexts and transform caches
 * serve every later read), run with every signal blocked (signals belong
 * to the caller's threads, e.g. Python's main thread), and take jobs in
 * FIFO order. A read bounds its own share through the number of tasks it keeps
 * in the pool. After fork() the child has no workers: the atfork handler
 * empties the pool there, and the next read starts new threads.
 */

struct pool_job {
    void (*run)(struct pool_job *job);
    struct pool_job *next;
};

#define POOL_MAX_THREADS 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pool_job *head;
    struct pool_job *tail;
    size_t nthreads;
    size_t reserved; /* threads the reads running now reserved */
} g_pool = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

/* open()'s jobs on the pool (struct open_job) submitted and not ended.
 * exit() waits for them (wait_searches, an atexit handler): PROJ's static
 * destructors would otherwise run under a search (a CLI that fails right
 * after open() crashed so). Guarded by g_pool.mu; zero in a forked child,
 * which has no pool threads.
 */
static size_t g_searches;
static pthread_cond_t g_searches_done = PTHREAD_COND_INITIALIZER;
static pthread_once_t g_searches_once = PTHREAD_ONCE_INIT;

static void *pool_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&g_pool.mu);
        while (g_pool.head == NULL)
            pthread_cond_wait(&g_pool.cv, &g_pool.mu);
        struct pool_job *job = g_pool.head;
        g_pool.head = job->next;
        if (g_pool.head == NULL)
            g_pool.tail = NULL;
        pthread_mutex_unlock(&g_pool.mu);
        job->run(job);
    }
    return NULL;
}

static pthread_mutex_t g_crs_mu = PTHREAD_MUTEX_INITIALIZER;
static void crs_forget_unmade_locked(void);

static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_crs_mu);
    pthread_mutex_lock(&g_pool.mu);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&g_pool.mu);
    pthread_mutex_unlock(&g_crs_mu);
}

static void atfork_child(void)
{
    /* Only the forking thread exists in the child; it holds both locks.
     * Queued jobs belonged to reads of the parent's other threads. */
    g_pool.head = NULL;
    g_pool.tail = NULL;
    g_pool.nthreads = 0;
    g_pool.reserved = 0; /* the reads of other threads are not in the child */
    pthread_cond_init(&g_pool.cv, NULL);
    g_searches = 0;
    pthread_cond_init(&g_searches_done, NULL);
    crs_forget_unmade_locked();
    pthread_mutex_unlock(&g_pool.mu);
    pthread_mutex_unlock(&g_crs_mu);
}

static void atfork_register(void)
{
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Grows the pool to n threads (at most POOL_MAX_THREADS); returns how many
 * it has, which may be fewer (even 0) when threads cannot be created. */
static size_t pool_ensure(size_t n)
{
    (void)pthread_once(&g_atfork_once, atfork_register);
    if (n > POOL_MAX_THREADS)
        n = POOL_MAX_THREADS;
    pthread_mutex_lock(&g_pool.mu);
    if (g_pool.nthreads < n) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_attr_t attr;
        bool attr_ok = pthread_attr_init(&attr) == 0;
        if (attr_ok)
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        while (attr_ok && g_pool.nthreads < n) {
            pthread_t th;
            if (pthread_create(&th, &attr, pool_main, NULL) != 0)
                break;
            g_pool.nthreads++;
        }
        if (attr_ok)
            pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    size_t have = g_pool.nthreads;
    pthread_mutex_unlock(&g_pool.mu);
    return have;
}

/* Reserves n threads for a read, and grows the pool to the threads
 * reserved plus extra; returns how many threads it has. pool_release gives
 * them back. */
static size_t pool_reserve(size_t n, size_t extra)
{
    pthread_mutex_lock(&g_pool.mu);
    g_pool.reserved += n;
    size_t want = g_pool.reserved + extra;
    pthread_mutex_unlock(&g_pool.mu);
    return pool_ensure(want);
}

static void pool_release(size_t n)
{
    pthread_mutex_lock(&g_pool.mu);
    g_pool.reserved -= n < g_pool.reserved ? n : g_pool.reserved;
    pthread_mutex_unlock(&g_pool.mu);
}

static void pool_submit(struct pool_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&g_pool.mu);
    if (g_pool.tail != NULL)
        g_pool.tail->next = job;
    else
        g_pool.head = job;
    g_pool.tail = job;
    pthread_cond_signal(&g_pool.cv);
    pthread_mutex_unlock(&g_pool.mu);
}

static size_t cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

/* ---- source CRSs ----------------------------------------------------------
 *
 * The CRSs COG headers name ("EPSG:32615"...) are parsed once per process:
 * lc__crs_new asks PROJ's database, which costs far more than a point read.
 * A CRS is immutable, so cached ones are shared by every thread; past
 * CRS_CACHE_CAP distinct texts, callers get a CRS of their own to free.
 */

#define CRS_CACHE_CAP 64

static struct {
    size_t n;
    char *text[CRS_CACHE_CAP];
    struct lc__crs *crs[CRS_CACHE_CAP]; /* NULL while a thread makes it */
} g_crs;
/* Signalled when a CRS being made is in, or its slot gone (it failed). */
static pthread_cond_t g_crs_made = PTHREAD_COND_INITIALIZER;

/* The slot of text, or SIZE_MAX. Called with g_crs_mu held. */
static size_t crs_slot_locked(const char *text)
{
    for (size_t i = 0; i < g_crs.n; i++)
        if (strcmp(g_crs.text[i], text) == 0)
            return i;
    return SIZE_MAX;
}

static void crs_slot_drop_locked(size_t i)
{
    lc__free(NULL, g_crs.text[i]);
    g_crs.n--;
    g_crs.text[i] = g_crs.text[g_crs.n];
    g_crs.crs[i] = g_crs.crs[g_crs.n];
}

/* In a forked child: the CRSs other threads were making never come. */
static void crs_forget_unmade_locked(void)
{
    for (size_t i = g_crs.n; i-- > 0;)
        if (g_crs.crs[i] == NULL)
            crs_slot_drop_locked(i);
    pthread_cond_init(&g_crs_made, NULL);
}

/* *owned_ret says the caller must free the CRS (the cache was full). A CRS
 * another thread is making is waited for, not made twice: open()'s
 * prepare job, a read's match and its prewarm jobs often want the same
 * one at once, and PROJ's database serves one of them at a time. */
static int crs_get(const char *text, struct lc__crs **crs_ret, bool *owned_ret,
                   struct lc__errbuf *err)
{
    *owned_ret = false;
    pthread_mutex_lock(&g_crs_mu);
    size_t i;
    while ((i = crs_slot_locked(text)) != SIZE_MAX && g_crs.crs[i] == NULL)
        pthread_cond_wait(&g_crs_made, &g_crs_mu);
    if (i != SIZE_MAX) {
        *crs_ret = g_crs.crs[i];
        pthread_mutex_unlock(&g_crs_mu);
        return LC_OK;
    }
    /* This thread makes it; a slot says so to the others. */
    bool slot = false;
    if (g_crs.n < CRS_CACHE_CAP) {
        size_t len = strlen(text);
        char *copy = lc__malloc(NULL, len + 1);
        if (copy != NULL) {
            memcpy(copy, text, len + 1);
            g_crs.text[g_crs.n] = copy;
            g_crs.crs[g_crs.n] = NULL;
            g_crs.n++;
            slot = true;
        }
    }
    pthread_mutex_unlock(&g_crs_mu);
    struct lc__crs *crs = NULL;
    int status = lc__crs_new(text, NULL, &crs, err);
    if (!slot) {
        *owned_ret = status == LC_OK;
        *crs_ret = crs;
        return status;
    }
    pthread_mutex_lock(&g_crs_mu);
    i = crs_slot_locked(text);
    if (status == LC_OK)
        g_crs.crs[i] = crs;
    else
        crs_slot_drop_locked(i); /* the waiters try for themselves */
    pthread_cond_broadcast(&g_crs_made);
    pthread_mutex_unlock(&g_crs_mu);
    *crs_ret = crs;
    return status;
}

int lc__engine_crs_get(const char *text, struct lc__crs **crs_ret,
                       bool *owned_ret, struct lc__errbuf *err)
{
    return crs_get(text, crs_ret, owned_ret, err);
}

/* Finds the operation from the CRS from to the CRS named to over area (NULL:
 * none), so that crs.c shares it with later lookups of the pair. Errors are
 * left to whoever needs the operation, and reports them. */
static void find_operation(const struct lc__crs *from, const char *to,
                           const struct lc__area *area)
{
    struct lc__crs *crs = NULL;
    bool owned = false;
    if (crs_get(to, &crs, &owned, NULL) < 0)
        return;
    struct lc__transform *tf = NULL;
    if (lc__transform_get_in(from, crs, area, &tf, NULL) == LC_OK)
        lc__transform_release(tf);
    if (owned)
        lc__crs_free(crs);
}

/* Makes ahead what a read's band tasks need for a COG whose proj:code is
 * code (EPSG code epsg, or 0), in a read's output CRS out: the kind of the
 * EPSG code for the headers' GeoKeys (lc__geokeys_learn_epsg), the CRS a
 * header naming the code parses to (crs_get's cache) and, when search, the
 * operation from out to it over area (crs.c's). Errors are left to the band
 * tasks, which report them. */
static void prepare_crs(const struct lc__crs *out, const char *code, int epsg,
                        bool search, const struct lc__area *area)
{
    lc__geokeys_learn_epsg(epsg);
    struct lc__crs *crs = NULL;
    bool owned = false;
    if (crs_get(code, &crs, &owned, NULL) == LC_OK && owned)
        lc__crs_free(crs);
    if (search)
        find_operation(out, code, area);
}

/* ---- work for open() on the pool (lc__engine_search_4326, ----------------
 * ---- lc__engine_prepare_items) --------------------------------------------
 */

/* Items whose CRSs open() prepares, at most (lc__engine_prepare_items). */
#define PREPARE_ITEMS 64

struct open_job {
    struct pool_job job; /* first: the pool hands back this pointer */
    char *definition;    /* of the CRS: the same text gives the same key */
    bool has_area;
    struct lc__area area;
    bool search_4326; /* find the operation to EPSG:4326 */
    int epsg;         /* the CRS's EPSG code, or 0 */
    /* The items' CRSs to prepare (prepare_crs), copies of their proj:code. */
    size_t ncodes;
    char *codes[READ_PREWARM_CRSS];
    int epsgs[READ_PREWARM_CRSS];
};

static void wait_searches(void)
{
    pthread_mutex_lock(&g_pool.mu);
    while (g_searches > 0)
        pthread_cond_wait(&g_searches_done, &g_pool.mu);
    pthread_mutex_unlock(&g_pool.mu);
}

static void register_wait_searches(void)
{
    (void)atexit(wait_searches);
}

static void open_job_free(struct open_job *j)
{
    for (size_t k = 0; k < j->ncodes; k++)
        lc__free(NULL, j->codes[k]);
    lc__free(NULL, j->definition);
    lc__free(NULL, j);
}

static void open_job_run(struct pool_job *job)
{
    struct open_job *j = (struct open_job *)(void *)job;
    const struct lc__area *area = j->has_area ? &j->area : NULL;
    /* From crs_get's cache: open()'s search and its prepare job (and the
     * reads after them) use the same CRS, made once. */
    struct lc__crs *crs = NULL;
    bool owned = false;
    if (crs_get(j->definition, &crs, &owned, NULL) == LC_OK) {
        if (j->search_4326)
            find_operation(crs, "EPSG:4326", area);
        for (size_t k = 0; k < j->ncodes; k++)
            prepare_crs(crs, j->codes[k], j->epsgs[k],
                        !(j->epsgs[k] != 0 && j->epsgs[k] == j->epsg), area);
        if (owned)
            lc__crs_free(crs);
    }
    open_job_free(j);
    pthread_mutex_lock(&g_pool.mu);
    if (--g_searches == 0)
        pthread_cond_broadcast(&g_searches_done);
    pthread_mutex_unlock(&g_pool.mu);
}

/* A job for crs over area, or NULL (out of memory). */
static struct open_job *open_job_new(const struct lc__crs *crs,
                                     const struct lc__area *area)
{
    const char *definition = lc__crs_definition(crs);
    size_t len = strlen(definition);
    struct open_job *j = lc__calloc(NULL, 1, sizeof *j);
    char *copy = j != NULL ? lc__malloc(NULL, len + 1) : NULL;
    if (copy == NULL) {
        lc__free(NULL, j);
        return NULL;
    }
    memcpy(copy, definition, len + 1);
    j->job.run = open_job_run;
    j->definition = copy;
    j->has_area = area != NULL;
    if (area != NULL)
        j->area = *area;
    return j;
}

static void open_job_submit(struct open_job *j)
{
    if (pool_ensure(1) == 0) {
        open_job_free(j);
        return;
    }
    (void)pthread_once(&g_searches_once, register_wait_searches);
    pthread_mutex_lock(&g_pool.mu);
    g_searches++;
    pthread_mutex_unlock(&g_pool.mu);
    /* (A fork() before it runs drops it with the child's queue.) */
    pool_submit(&j->job);
}

void lc__engine_search_4326(const struct lc__crs *crs,
                            const struct lc__area *area)
{
    struct open_job *j = open_job_new(crs, area);
    if (j == NULL)
        return;
    j->search_4326 = true;
    open_job_submit(j);
}

void lc__engine_prepare_items(const struct lc_collection *c)
{
    const struct lc__stac_items *items = c->items;
    struct open_job *j = open_job_new(c->crs, c->area);
    if (j == NULL)
        return;
    j->epsg = c->epsg;
    /* The first items only: open() must not grow with the catalogue. */
    size_t nitems = c->nitems < PREPARE_ITEMS ? c->nitems : PREPARE_ITEMS;
    for (size_t i = 0; i < nitems && j->ncodes < READ_PREWARM_CRSS; i++) {
        for (size_t b = 0; b < c->nbands && j->ncodes < READ_PREWARM_CRSS;
             b++) {
            const struct lc__stac_asset *a =
                &items->assets[c->item[i] * items->nassets + c->band_asset[b]];
            if (a->proj_code == NULL)
                continue;
            size_t k = 0;
            while (k < j->ncodes && !(j->epsgs[k] == a->epsg &&
                                      strcmp(j->codes[k], a->proj_code) == 0))
                k++;
            if (k < j->ncodes)
                continue;
            size_t len = strlen(a->proj_code);
            char *copy = lc__malloc(NULL, len + 1);
            if (copy == NULL)
                break;
            memcpy(copy, a->proj_code, len + 1);
            j->codes[j->ncodes] = copy;
            j->epsgs[j->ncodes] = a->epsg;
            j->ncodes++;
        }
    }
    if (j->ncodes == 0) {
        open_job_free(j);
        return;
    }
    open_job_submit(j);
}

/* ---- data types -------------------------------------------------------- */

static bool dtype_is_float(enum lc_dtype d)
{
    return d == LC_DTYPE_FLOAT32 || d == LC_DTYPE_FLOAT64;
}

static bool dtype_is_signed(enum lc_dtype d)
{
    return d == LC_DTYPE_INT8 || d == LC_DTYPE_INT16 || d == LC_DTYPE_INT32 ||
           d == LC_DTYPE_INT64;
}

/* numpy's can_cast(from, to, "safe"): every value of from is exactly a
 * value of to (integers of any width count as safe into float64, as in
 * numpy). */
static bool can_cast_safe(enum lc_dtype from, enum lc_dtype to)
{
    size_t fb = lc_dtype_nbytes(from), tb = lc_dtype_nbytes(to);
    if (from == to)
        return true;
    if (dtype_is_float(to)) {
        if (dtype_is_float(from))
            return tb >= fb;
        return to == LC_DTYPE_FLOAT64 || fb <= 2;
    }
    if (dtype_is_float(from))
        return false;
    if (dtype_is_signed(from))
        return dtype_is_signed(to) && tb >= fb;
    return dtype_is_signed(to) ? tb > fb : tb >= fb;
}

/* Stores v into element i of an array of d: integers round toward zero
 * and saturate, NaN gives 0 (as lc__mosaic_get converts). */
static void store_f64(void *dst, size_t i, enum lc_dtype d, double v)
{
    if (!dtype_is_float(d) && isnan(v))
        v = 0.0;
    switch (d) {
    case LC_DTYPE_UINT8:
        ((uint8_t *)dst)[i] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
        break;
    case LC_DTYPE_INT8:
        ((int8_t *)dst)[i] = v <= -128 ? -128 : v >= 127 ? 127 : (int8_t)v;
        break;
    case LC_DTYPE_UINT16:
        ((uint16_t *)dst)[i] = v <= 0 ? 0 : v >= 65535 ? 65535 : (uint16_t)v;
        break;
    case LC_DTYPE_INT16:
        ((int16_t *)dst)[i] = v <= -32768  ? -32768
                              : v >= 32767 ? 32767
                                           : (int16_t)v;
        break;
    case LC_DTYPE_UINT32:
        ((uint32_t *)dst)[i] = v <= 0              ? 0
                               : v >= 4294967295.0 ? UINT32_MAX
                                                   : (uint32_t)v;
        break;
    case LC_DTYPE_INT32:
        ((int32_t *)dst)[i] = v <= -2147483648.0  ? INT32_MIN
                              : v >= 2147483647.0 ? INT32_MAX
                                                  : (int32_t)v;
        break;
    case LC_DTYPE_UINT64:
        ((uint64_t *)dst)[i] = v <= 0                        ? 0
                               : v >= 18446744073709551616.0 ? UINT64_MAX
                                                             : (uint64_t)v;
        break;
    case LC_DTYPE_INT64:
        ((int64_t *)dst)[i] = v < -9223372036854775808.0   ? INT64_MIN
                              : v >= 9223372036854775808.0 ? INT64_MAX
                                                           : (int64_t)v;
        break;
    case LC_DTYPE_FLOAT32:
        ((float *)dst)[i] = (float)v;
        break;
    case LC_DTYPE_FLOAT64:
        ((double *)dst)[i] = v;
        break;
    case LC_DTYPE_UNKNOWN:
        break;
    }
}

/* Stores the low bits of an integer (numpy's astype between integer
 * dtypes wraps), or its value for a float dtype. */
static void store_int(void *dst, size_t i, enum lc_dtype d, uint64_t bits,
                      bool is_signed)
{
    switch (d) {
    case LC_DTYPE_UINT8:
    case LC_DTYPE_INT8:
        ((uint8_t *)dst)[i] = (uint8_t)bits;
        break;
    case LC_DTYPE_UINT16:
    case LC_DTYPE_INT16:
        ((uint16_t *)dst)[i] = (uint16_t)bits;
        break;
    case LC_DTYPE_UINT32:
    case LC_DTYPE_INT32:
        ((uint32_t *)dst)[i] = (uint32_t)bits;
        break;
    case LC_DTYPE_UINT64:
    case LC_DTYPE_INT64:
        ((uint64_t *)dst)[i] = bits;
        break;
    case LC_DTYPE_FLOAT32:
    case LC_DTYPE_FLOAT64:
        store_f64(dst, i, d, is_signed ? (double)(int64_t)bits : (double)bits);
        break;
    case LC_DTYPE_UNKNOWN:
        break;
    }
}

/* Converts n values of sd into dd (which differ). */
static void convert_values(const void *src, enum lc_dtype sd, void *dst,
                           enum lc_dtype dd, size_t n)
{
    /* Between integer dtypes of one width the bits stay (store_int keeps
     * the low bits): uint16 sources into an int16 array, say. */
    if (!dtype_is_float(sd) && !dtype_is_float(dd) &&
        lc_dtype_nbytes(sd) == lc_dtype_nbytes(dd)) {
        memcpy(dst, src, n * lc_dtype_nbytes(sd));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (sd) {
        case LC_DTYPE_UINT8:
            store_int(dst, i, dd, ((const uint8_t *)src)[i], false);
            break;
        case LC_DTYPE_INT8:
            store_int(dst, i, dd, (uint64_t)(int64_t)((const int8_t *)src)[i],
                      true);
            break;
        case LC_DTYPE_UINT16:
            store_int(dst, i, dd, ((const uint16_t *)src)[i], false);
            break;
        case LC_DTYPE_INT16:
            store_int(dst, i, dd, (uint64_t)(int64_t)((const int16_t *)src)[i],
                      true);
            break;
        case LC_DTYPE_UINT32:
            store_int(dst, i, dd, ((const uint32_t *)src)[i], false);
            break;
        case LC_DTYPE_INT32:
            store_int(dst, i, dd, (uint64_t)(int64_t)((const int32_t *)src)[i],
                      true);
            break;
        case LC_DTYPE_UINT64:
            store_int(dst, i, dd, ((const uint64_t *)src)[i], false);
            break;
        case LC_DTYPE_INT64:
            store_int(dst, i, dd, (uint64_t)((const int64_t *)src)[i], true);
            break;
        case LC_DTYPE_FLOAT32:
            store_f64(dst, i, dd, ((const float *)src)[i]);
            break;
        case LC_DTYPE_FLOAT64:
            store_f64(dst, i, dd, ((const double *)src)[i]);
            break;
        case LC_DTYPE_UNKNOWN:
            return;
        }
    }
}

/* Fills n values of d with v (saturated into d). */
static void fill_values(void *dst, enum lc_dtype d, double v, size_t n)
{
    size_t es = lc_dtype_nbytes(d);
    if (n == 0)
        return;
    store_f64(dst, 0, d, v);
    /* Doubling copies: log2(n) memcpy calls. */
    size_t done = 1;
    while (done < n) {
        size_t k = done < n - done ? done : n - done;
        memcpy((char *)dst + done * es, dst, k * es);
        done += k;
    }
}

/* ---- Python-style text, for the reference's messages ---------------------
 */

/* repr() of a Python float (or "None"): "0.0", "-9999.0", "nan", "1e+20". */
static void py_float_repr(bool has, double v, char *buf, size_t cap)
{
    if (!has) {
        snprintf(buf, cap, "None");
        return;
    }
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    /* The shortest digits that read back as v, then Python's layout:
     * positional for decimal exponents in [-4, 16), else scientific. */
    char tmp[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    const char *e = strchr(tmp, 'e');
    int exp10 = e != NULL ? atoi(e + 1) : 0;
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        snprintf(buf, cap, "%.*f", decimals > 0 ? decimals : 0, v);
        if (strchr(buf, '.') == NULL) {
            size_t len = strlen(buf);
            if (len + 3 <= cap)
                memcpy(buf + len, ".0", 3);
        }
    } else {
        snprintf(buf, cap, "%s", tmp);
    }
}

/* Joins the n strings of parts into dst (cap bytes), cutting the end when
 * it does not fit: messages quote other messages and paths. */
static void join_msg(char *dst, size_t cap, const char *const *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(parts[i]);
        if (k > cap - 1 - len)
            k = cap - 1 - len;
        memcpy(dst + len, parts[i], k);
        len += k;
    }
    dst[len] = '\0';
}

/* Appends piece to buf (cap bytes, NUL-terminated at *len) if it fits. */
static bool append(char *buf, size_t cap, size_t *len, const char *piece)
{
    size_t n = strlen(piece);
    if (*len + n + 1 > cap)
        return false;
    memcpy(buf + *len, piece, n + 1);
    *len += n;
    return true;
}

/* repr() of a Python str, appended to buf (cap bytes, NUL-terminated). */
static void py_str_repr(const char *s, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    bool dq = strchr(s, '\'') != NULL && strchr(s, '"') == NULL;
    const char *quote = dq ? "\"" : "'";
    char piece[8];

    if (!append(buf, cap, &len, quote))
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == (unsigned char)quote[0])
            snprintf(piece, sizeof piece, "\\%c", *p);
        else if (*p == '\n')
            snprintf(piece, sizeof piece, "\\n");
        else if (*p == '\r')
            snprintf(piece, sizeof piece, "\\r");
        else if (*p == '\t')
            snprintf(piece, sizeof piece, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(piece, sizeof piece, "\\x%02x", *p);
        else
            snprintf(piece, sizeof piece, "%c", *p);
        /* Leave room for the closing quote. */
        if (len + strlen(piece) + 2 > cap)
            break;
        append(buf, cap, &len, piece);
    }
    append(buf, cap, &len, quote);
}

/* ---- the read's state ---------------------------------------------------- */

enum task_state {
    TASK_PENDING = 0, /* not dispatched yet */
    TASK_NONE,        /* nothing to do: no such asset, or already covered */
    TASK_QUEUED,      /* in the pool (queued or running) */
    TASK_DONE         /* finished (see abandoned, status) */
};

struct read_ctx;
struct item_job;

/* Looks up one source CRS ahead of the band tasks (prewarm): its kind,
 * the CRS itself, and the transform from the output CRS. */
struct prewarm_job {
    struct pool_job job; /* first: the pool hands back this pointer */
    struct read_ctx *rc;
    const char *code; /* proj:code, borrowed from the item table */
    int epsg;         /* its EPSG code, or 0 */
    bool search;      /* find the operation from the output CRS to code */
};

/* A thread's standing in the read's CPU gate (a band task's, or a helper's
 * with its task's ticket). */
struct gate_seat {
    struct read_ctx *rc;
    uint64_t ticket; /* its place in the gate's queue */
    bool in_gate;    /* holds a place */
};

/* One band of one item: fetch, decode, warp. Written by the worker that
 * runs it until it reports completion; read by the calling thread after. */
struct band_task {
    struct pool_job job; /* first: the pool hands back this pointer */
    struct read_ctx *rc;
    struct item_job *item;
    size_t ub; /* index into the read's unique bands */
    enum task_state state;
    struct gate_seat seat; /* in the CPU gate */
    bool abandoned;        /* never ran: cancelled, or past a failed item */
    int status;
    bool contract;
    char msg[LC_ERRMSG_CAP];
    bool fetched; /* pixels were read */
    bool miss;    /* the header was fetched (not cached) */
    uint64_t requests, bytes;
    /* Seconds spent per stage (lc_read_stats). */
    double header_s, fetch_s, decode_s, warp_s;
    uint64_t pixels_warped;
    /* The result: the window pixels [x0, x0 + width) x [y0, y0 + height)
     * the source covers, values in the collection's dtype. */
    bool has_data;
    uint32_t x0, y0, width, height;
    void *values;
    uint8_t *valid;
    /* Where the result starts in values and valid, in pixels, and their
     * row strides (0: width): non-zero for a source window handed over as
     * it is (aligned_result), whose valid is the COG's mask (may be NULL).
     * With has_nodata, values equal to nodata are not valid: the handed
     * over window, and nearest warps without a validity array. */
    size_t offset, stride;
    bool has_nodata;
    double nodata;
    /* values point into the output, where the source was decoded in place
     * (in_output_target): the output's, not freed with the task. */
    bool in_output;
    /* NULL, or the validity of the result (lc__mosaic_valid_bits), found
     * by the task while its values were at hand, for the feed. */
    uint64_t *bits;
};

struct item_job {
    size_t k;         /* position in the collection's sort order */
    size_t index;     /* in the item table */
    size_t pos;       /* dispatch position (index in read_ctx.items) */
    size_t step;      /* index into read_ctx.steps */
    uint32_t rect[4]; /* footprint in window pixels: x0, y0, x1, y1 */
    size_t nbytes;    /* its buffers, estimated (item_nbytes) */
    size_t nfinished; /* band tasks NONE or DONE */
    bool dispatched;
    bool resolved;           /* fed, skipped or failed; buffers released */
    struct band_task *tasks; /* [nub] */
    /* Nearest's source offsets, shared by the bands whose sources are laid
     * out alike (offsets_attach); NULL until one warps. Under rc->mu. */
    struct shared_offsets *offsets;
};

struct step_state {
    size_t t; /* the collection's step */
    struct lc_mosaic *m;
    size_t first, count; /* its items: read_ctx.items[first ..+ count] */
    size_t next;         /* the next of them to feed */
    bool done;           /* first: every band covered */
};

/* A task waiting for a place; the one that leaves hands it its place. */
struct gate_waiter {
    uint64_t ticket;
    bool granted;
    pthread_cond_t cv; /* with read_ctx.mu */
};

struct read_ctx {
    struct lc_collection *c;
    const struct lc_read_request *req;
    const struct lc_allocator *alloc;
    struct lc__grid win; /* the window's grid */
    bool first;          /* the method is first */
    double fill;         /* of the output's pixels no item covers */
    size_t es;           /* bytes of one output value */

    size_t nub;
    size_t *ub;       /* unique bands: collection band indices */
    size_t *band_map; /* request band i -> unique band */
    size_t nus;
    struct step_state *steps; /* unique steps, in request order */
    size_t *time_map;         /* request time i -> unique step */

    size_t nitems;
    struct item_job *items; /* step by step, k ascending */
    struct band_task *tasks;

    size_t slots;    /* band tasks in the pool at once */
    size_t reserved; /* pool threads reserved (pool_reserve) */
    /* The CPU gate of remote reads (places 0: no gate). */
    struct {
        size_t places, used;
        bool answered; /* a task has entered: the first answers are in */
        uint64_t next_ticket;
        /* One task per pool thread at most. */
        struct gate_waiter *waiting[POOL_MAX_THREADS];
        size_t nwaiting;
    } gate;
    /* The items were chosen without the operation between the window's
     * CRS and EPSG:4326 (lc__selection.covers_window): run_items gets it
     * once their tasks are out, and fails the read as match_items would
     * have when there is none. */
    bool check_4326;
    size_t max_inflight;    /* items dispatched and not yet resolved */
    size_t inflight_nbytes; /* their item_nbytes, summed */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t strip_cv;        /* a shared offsets strip changed */
    size_t nqueued;                 /* tasks in the pool */
    size_t nunstarted;              /* of those, not yet on a thread */
    size_t out_nbytes, out_touched; /* see touch_output */
    struct prewarm_job prewarm[READ_PREWARM_CRSS];
    size_t nprewarm;        /* of them, in use (list_prewarm) */
    size_t nprewarm_queued; /* prewarm jobs in the pool */
    size_t nhelpers_queued; /* helper jobs in the pool (par_run) */
    bool cancelled;
    size_t stop_pos; /* SIZE_MAX, or the position of the failed item */

    /* The failure to report (the failed item with the lowest position). */
    int fail_status;
    bool fail_contract;
    char fail_msg[LC_ERRMSG_CAP];
    char fail_item[512];
    char fail_bands[512];

    struct lc_read_stats st;
};

/* The flag is written by another thread: read it atomically (a relaxed
 * load is enough, the flag carries no other data). */
static bool cancel_requested(const struct read_ctx *rc)
{
    return rc->req->cancel != NULL &&
           __atomic_load_n(rc->req->cancel, __ATOMIC_RELAXED) != 0;
}

static void task_free_buffers(struct read_ctx *rc, struct band_task *t)
{
    if (!t->in_output)
        lc__free(rc->alloc, t->values);
    lc__free(rc->alloc, t->valid);
    lc__free(rc->alloc, t->bits);
    t->values = NULL;
    t->valid = NULL;
    t->bits = NULL;
}

/* ---- the CPU gate ------------------------------------------------------ */

/*
 * A remote read keeps many band tasks in the pool, since they mostly wait
 * on the network. Left alone, a dozen of them would decode and warp at
 * once on a few cores: more switches and cache misses, and none gets to
 * its next fetch sooner. The gate lets at most nthreads of a read's tasks
 * compute at a time. A task starts outside (its first act is a header
 * open, a wait), enters to compute and leaves while it waits for reads
 * (lc__io_set_wait_hook). A task that leaves hands its place to the
 * waiting task with the lowest ticket; tickets are handed out in dispatch
 * order, so items finish about in the order their mosaic takes them.
 */

/* Takes a place for seat arg (a struct gate_seat). */
static void gate_enter(void *arg)
{
    struct gate_seat *t = arg;
    struct read_ctx *rc = t->rc;
    t->in_gate = true;
    pthread_mutex_lock(&rc->mu);
    rc->gate.answered = true;
    struct gate_waiter w = {.ticket = t->ticket};
    if (rc->gate.used < rc->gate.places ||
        pthread_cond_init(&w.cv, NULL) != 0) {
        rc->gate.used++; /* (no condition variable: past the bound) */
        pthread_mutex_unlock(&rc->mu);
        return;
    }
    rc->gate.waiting[rc->gate.nwaiting++] = &w;
    while (!w.granted)
        pthread_cond_wait(&w.cv, &rc->mu);
    pthread_mutex_unlock(&rc->mu);
    pthread_cond_destroy(&w.cv);
}

/* Gives the place of seat arg up, if it holds one. */
static void gate_leave(void *arg)
{
    struct gate_seat *t = arg;
    if (!t->in_gate)
        return;
    struct read_ctx *rc = t->rc;
    t->in_gate = false;
    pthread_mutex_lock(&rc->mu);
    if (rc->gate.nwaiting == 0) {
        /* The output may be touched now (run_items). */
        if (--rc->gate.used == 0 && rc->out_touched < rc->out_nbytes)
            pthread_cond_signal(&rc->cv);
    } else {
        size_t low = 0;
        for (size_t i = 1; i < rc->gate.nwaiting; i++)
            if (rc->gate.waiting[i]->ticket < rc->gate.waiting[low]->ticket)
                low = i;
        struct gate_waiter *w = rc->gate.waiting[low];
        rc->gate.waiting[low] = rc->gate.waiting[--rc->gate.nwaiting];
        w->granted = true;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&rc->mu);
}

/* ---- one band task (runs on a worker) ----------------------------------- */

/* The effective nodata of a source (§2.11 step 2): the collection's when
 * known, else the COG's own. */
static void effective_nodata(const struct lc_collection *c,
                             const struct lc_cog_info *info, bool *has,
                             double *v)
{
    *has = c->has_nodata || info->has_nodata;
    *v = c->has_nodata ? c->nodata : info->has_nodata ? info->nodata : 0.0;
}

/* Where an inferred dtype or nodata came from, for messages. */
static const char *contract_source(const struct lc_collection *c)
{
    return c->contract_from_catalogue
               ? "the first item's raster:bands in the catalogue"
               : "representative assets";
}

/* §2.13: the source contract, when dtype or nodata were inferred. */
static int check_contract(struct band_task *t, const struct lc_cog_info *info,
                          const char *band, const char *item_id)
{
    const struct lc_collection *c = t->rc->c;
    char a[64], b[64];

    /* A count's values are only counted: its uint16 output says nothing
     * about the sources' dtype. */
    if (!c->dtype_explicit && c->method != LC_MOSAIC_COUNT &&
        !can_cast_safe(info->dtype, c->dtype)) {
        t->contract = true;
        snprintf(t->msg, sizeof t->msg,
                 "Auto-inferred output dtype %s from %s, but encountered %s "
                 "in asset '%s' for item '%s'. Pass dtype='float32', "
                 "dtype='float64', or another explicit dtype if mixed "
                 "source dtypes are expected.",
                 lc_dtype_name(c->dtype), contract_source(c),
                 lc_dtype_name(info->dtype), band, item_id);
        return LC_EINVAL;
    }
    if (!c->nodata_explicit) {
        bool same;
        if (!c->has_nodata || !info->has_nodata)
            same = c->has_nodata == (info->has_nodata != 0);
        else if (isnan(c->nodata) || isnan(info->nodata))
            same = isnan(c->nodata) && isnan(info->nodata);
        else
            same = c->nodata == info->nodata;
        if (!same) {
            t->contract = true;
            py_float_repr(c->has_nodata, c->nodata, a, sizeof a);
            py_float_repr(info->has_nodata != 0, info->nodata, b, sizeof b);
            snprintf(t->msg, sizeof t->msg,
                     "Auto-inferred output nodata %s from %s, but "
                     "encountered conflicting nodata %s in asset '%s' for "
                     "item '%s'. Pass nodata= explicitly if mixed source "
                     "nodata values are expected.",
                     a, contract_source(c), b, band, item_id);
            return LC_EINVAL;
        }
    }
    return LC_OK;
}

/*
 * Where a band task reads its source window: the output itself (in place,
 * p given), or a buffer of its own, allocated once the first blocks have
 * arrived (lc__cog_out). Allocated before the fetch, the windows of all
 * the tasks in flight (W4: some thirty) would be held through the round
 * trip, so none could take the pages another task has freed (the spare
 * blocks, src/common/alloc.h) and each would be faulted in afresh, a page
 * at a time, as its blocks are copied in.
 */
struct source_buf {
    char *p;                          /* NULL until allocated */
    size_t nbytes;                    /* p's */
    const struct lc_allocator *alloc; /* allocates p when NULL */
    size_t off;                       /* where the strip being read begins */
};

static void *source_buf_get(void *ctx)
{
    struct source_buf *b = ctx;
    if (b->p == NULL)
        b->p = lc__malloc(b->alloc, b->nbytes);
    return b->p != NULL ? b->p + b->off : NULL;
}

/* Reads the source window into buf (rows row_nbytes apart) in strips of
 * whole block rows, checking for cancellation between them. */
static int read_source(struct band_task *t, struct lc_cog *cog, size_t level,
                       const struct lc_cog_level *lv, const struct lc_window *w,
                       enum lc_dtype dt, struct source_buf *buf,
                       size_t row_nbytes)
{
    size_t es = lc_dtype_nbytes(dt);
    uint32_t bh = lv->block_height > 0 ? lv->block_height : 1;
    size_t strip_rows = READ_STRIP_NBYTES / ((size_t)w->width * es * bh);
    uint32_t nblk = strip_rows == 0      ? 1
                    : strip_rows > 65536 ? 65536
                                         : (uint32_t)strip_rows;
    uint32_t end = w->row_off + w->height;
    uint32_t r = w->row_off;

    while (r < end) {
        if (cancel_requested(t->rc))
            return LC_ECANCELLED;
        uint64_t next = ((uint64_t)(r / bh) + nblk) * bh;
        uint32_t stop = next < end ? (uint32_t)next : end;
        struct lc_window s = {w->col_off, r, w->width, stop - r};
        buf->off = (size_t)(r - w->row_off) * row_nbytes;
        struct lc__cog_out out = {source_buf_get, buf};
        int status = lc__cog_read_window_rows_into(
            cog, level, &s, 0, &out, row_nbytes,
            buf->off < buf->nbytes ? buf->nbytes - buf->off : 0);
        if (status < 0) {
            lc__copy_str(t->msg, sizeof t->msg, lc_errmsg());
            return status;
        }
        r = stop;
    }
    return LC_OK;
}

/* Adds to the task's fetch and decode times since a read began (its
 * thread's CPU clock at cpu_t0, its running I/O total at io_t0). Fetch and
 * decode interleave in the COG reader: the wall time this thread waited
 * in range reads is the fetch; the CPU time it used is the decode (the
 * transfers themselves run on the I/O layer's own thread). */
static void add_read_time(struct band_task *t, double cpu_t0, double io_t0)
{
    t->fetch_s += lc__io_thread_read_seconds() - io_t0;
    t->decode_s += lc__thread_cpu_seconds() - cpu_t0;
}

/* Bits and signedness of an integer dtype of at most 32 bits. */
static bool small_int(enum lc_dtype d, unsigned *bits, bool *is_signed)
{
    *bits = 0;
    switch (d) {
    case LC_DTYPE_UINT8:
    case LC_DTYPE_INT8:
        *bits = 8;
        break;
    case LC_DTYPE_UINT16:
    case LC_DTYPE_INT16:
        *bits = 16;
        break;
    case LC_DTYPE_UINT32:
    case LC_DTYPE_INT32:
        *bits = 32;
        break;
    case LC_DTYPE_UINT64:
    case LC_DTYPE_INT64:
    case LC_DTYPE_FLOAT32:
    case LC_DTYPE_FLOAT64:
    case LC_DTYPE_UNKNOWN:
        return false;
    }
    *is_signed =
        d == LC_DTYPE_INT8 || d == LC_DTYPE_INT16 || d == LC_DTYPE_INT32;
    return *bits != 0;
}

/*
 * Whether values of dtype from become the collection's dtype to by keeping
 * their bits - integers of one width, as convert_values casts them - and
 * the nodata value (has, nd: compared in from, as the warp does) as the
 * mosaic must then compare it in to (*has_ret, *nd_ret).
 */
static bool same_bits(enum lc_dtype from, enum lc_dtype to, bool has, double nd,
                      bool *has_ret, double *nd_ret)
{
    unsigned fb, tb;
    bool fs, ts;
    *has_ret = false;
    *nd_ret = 0.0;
    if (!small_int(from, &fb, &fs) || !small_int(to, &tb, &ts) || fb != tb)
        return false;
    double lo = fs ? -ldexp(1.0, (int)fb - 1) : 0.0;
    double hi = fs ? ldexp(1.0, (int)fb - 1) - 1 : ldexp(1.0, (int)fb) - 1;
    /* A nodata value from cannot hold matches nothing, as in the warp. */
    if (!has || !(nd == floor(nd) && nd >= lo && nd <= hi))
        return true;
    uint64_t mask = (UINT64_C(1) << fb) - 1;
    uint64_t u = (uint64_t)(int64_t)nd & mask;
    bool negative = ts && ((u >> (fb - 1)) & 1) != 0;
    *nd_ret = negative ? (double)(int64_t)(u | ~mask) : (double)u;
    *has_ret = true;
    return true;
}

/*
 * Source positions anchored on the collection's grid, with the COG's
 * footprint scale at its reference point: every pixel gets the same source
 * position and kernel whatever window it is read in. (x, y) is the
 * window pixel where the map's block starts.
 */
static struct lc__approx_options anchored(const struct read_ctx *rc,
                                          const struct lc__source *sel,
                                          uint32_t x, uint32_t y)
{
    return (struct lc__approx_options){.anchor_gt = rc->c->grid.gt,
                                       .anchor_col = (int64_t)rc->req->x0 + x,
                                       .anchor_row = (int64_t)rc->req->y0 + y,
                                       .has_scale_ref = true,
                                       .scale_ref_x = sel->ref[0],
                                       .scale_ref_y = sel->ref[1]};
}

/*
 * Where the window sub of the chunk starts in the source window w, when it
 * maps onto w by whole pixels (same CRS and pixel grid) and lies inside it:
 * then true, and (*col, *row).
 */
static bool aligned_offset(struct band_task *t, struct lc__transform *tf,
                           const struct lc__grid *sub,
                           const struct lc_cog_level *lv,
                           const struct lc_window *w,
                           const struct lc__approx_options *mo, int64_t *col,
                           int64_t *row)
{
    struct lc__errbuf err = {0};
    struct lc__srcmap *map = NULL;
    if (lc__srcmap_new(tf, sub, lv->geotransform, w->col_off, w->row_off, mo,
                       t->rc->alloc, &map, &err) < 0)
        return false; /* the usual path says why */
    bool aligned = lc__srcmap_aligned(map, col, row);
    lc__srcmap_free(map);
    return aligned && *col >= 0 && *row >= 0 &&
           (uint64_t)*col + sub->width <= w->width &&
           (uint64_t)*row + sub->height <= w->height;
}

/*
 * The result without a warp, when the window of the chunk maps onto the
 * source window w by whole pixels from (col, row) (aligned_offset); the
 * caller has checked that the values keep their bits (same_bits, which
 * gave the nodata value the mosaic compares). The source window (and its
 * mask) become the result as they are. That saves a copy of every pixel
 * and the validity array - half the memory a native-grid read touches.
 * Takes src and mask (set to NULL).
 */
static void aligned_result(struct band_task *t, const struct lc_window *w,
                           int64_t col, int64_t row, void **src, uint8_t **mask,
                           bool mosaic_has_nd, double mosaic_nd)
{
    t->values = *src;
    t->valid = *mask;
    *src = NULL;
    *mask = NULL;
    t->offset = (size_t)row * w->width + (size_t)col;
    t->stride = w->width;
    t->has_nodata = mosaic_has_nd;
    t->nodata = mosaic_nd;
}

/*
 * Better still, the source decodes straight into the output: when it is
 * aligned as for aligned_result (no mask), the mosaic keeps its values in
 * the output (first, highest, lowest), and the item is its step's first,
 * which the mosaic takes before any other, so that nothing it would keep
 * is overwritten. The mosaic is then fed the values where they are (it
 * only counts them): no window buffer, no copy. Returns where the part sub
 * (at dr) of the output plane starts, the source window to read into it
 * (*dw) and the bytes from there to the plane's end (*nbytes_ret); NULL
 * when the usual path applies.
 */
static char *in_output_target(const struct band_task *t,
                              const struct lc__grid *sub,
                              const struct lc_cog_level *lv,
                              const struct lc_window *w, int64_t col,
                              int64_t row, const uint32_t dr[4],
                              struct lc_window *dw, size_t *nbytes_ret)
{
    const struct read_ctx *rc = t->rc;
    const struct step_state *st = &rc->steps[t->item->step];
    char *plane = lc__mosaic_value_plane(st->m, t->ub);
    if (plane == NULL || t->item->pos != st->first || lv->has_mask)
        return NULL;
    *dw =
        (struct lc_window){w->col_off + (uint32_t)col,
                           w->row_off + (uint32_t)row, sub->width, sub->height};
    size_t width = rc->req->width, height = rc->req->height;
    size_t at = ((size_t)dr[1] * width + dr[0]) * rc->es;
    *nbytes_ret = width * height * rc->es - at;
    return plane + at;
}

/* ---- nearest offsets shared by an item's bands ---------------------------
 *
 * The bands of an item are usually COGs laid out alike (one CRS, one
 * geotransform per level, so one source window and one part of the
 * output). Their nearest warps then pick the same source pixel for every
 * output pixel, and computing the source positions and offsets (the source
 * map, lc__srcmap_row, the offsets: most of a warp's time) once per item
 * instead of once per band saves two thirds of it for three bands. The
 * bands' tasks run at the same time, so the offsets are shared strip by
 * strip: the first band to reach a strip computes its offsets, the others
 * use them, or another strip meanwhile.
 */

enum strip_state { STRIP_TODO = 0, STRIP_COMPUTING, STRIP_READY };

struct shared_offsets {
    /* What the offsets depend on besides the read's grid and transform
     * target: the source CRS, level geotransform, source window, part of
     * the window and reference point. */
    const char *crs; /* copied after the struct */
    double gt[6];
    struct lc_window w;
    uint32_t dr[4];
    double ref[2];
    uint32_t strip_rows;
    size_t nstrips;
    uint8_t *state;   /* [nstrips] enum strip_state */
    int32_t *offsets; /* (dr[2] - dr[0]) x (dr[3] - dr[1]), row by row */
};

static bool offsets_match(const struct shared_offsets *so, const char *crs,
                          const double gt[6], const struct lc_window *w,
                          const uint32_t dr[4], const double ref[2])
{
    return strcmp(so->crs, crs) == 0 &&
           memcmp(so->gt, gt, sizeof so->gt) == 0 &&
           so->w.col_off == w->col_off && so->w.row_off == w->row_off &&
           so->w.width == w->width && so->w.height == w->height &&
           memcmp(so->dr, dr, sizeof so->dr) == 0 &&
           memcmp(so->ref, ref, sizeof so->ref) == 0;
}

/* The item's shared offsets for a band laid out as given, made by the
 * first band that asks; NULL when another layout came first, the part is
 * too large to share (SHARED_OFFSETS_MAX_NBYTES) or memory is short: the
 * band then warps on its own. */
static struct shared_offsets *
offsets_attach(struct read_ctx *rc, struct item_job *it, const char *crs,
               const struct lc__source *sel, const uint32_t dr[4],
               uint32_t strip_rows)
{
    const struct lc_window *w = &sel->window;
    const double *gt = sel->lv.geotransform;
    pthread_mutex_lock(&rc->mu);
    struct shared_offsets *so = it->offsets;
    if (so == NULL) {
        size_t npx, nstrips, crs_nbytes = strlen(crs) + 1, nbytes;
        uint32_t height = dr[3] - dr[1];
        nstrips = height / strip_rows + (height % strip_rows != 0);
        /* Offsets first after the struct (aligned), then the states and
         * the CRS text. */
        if (lc__size_mul((size_t)(dr[2] - dr[0]), height, &npx) &&
            lc__size_mul(npx, sizeof(int32_t), &nbytes) &&
            lc__size_add(nbytes, sizeof *so + nstrips + crs_nbytes, &nbytes) &&
            nbytes <= SHARED_OFFSETS_MAX_NBYTES)
            so = lc__malloc(rc->alloc, nbytes);
        if (so != NULL) {
            so->offsets = (int32_t *)(void *)(so + 1);
            so->state = (uint8_t *)(so->offsets + npx);
            memset(so->state, STRIP_TODO, nstrips);
            char *text = (char *)so->state + nstrips;
            memcpy(text, crs, crs_nbytes);
            so->crs = text;
            memcpy(so->gt, gt, sizeof so->gt);
            so->w = *w;
            memcpy(so->dr, dr, sizeof so->dr);
            memcpy(so->ref, sel->ref, sizeof so->ref);
            so->strip_rows = strip_rows;
            so->nstrips = nstrips;
            it->offsets = so;
        }
    } else if (!offsets_match(so, crs, gt, w, dr, sel->ref)) {
        so = NULL; /* (the same dr gives the same strips) */
    }
    pthread_mutex_unlock(&rc->mu);
    return so;
}

/* The source map of rows [r, r + rows) of the part dr of the window,
 * anchored on the collection's grid. */
static int strip_map(const struct read_ctx *rc, struct lc__transform *tf,
                     const struct lc__source *sel, const uint32_t dr[4],
                     uint32_t r, uint32_t rows, struct lc__srcmap **map_ret,
                     struct lc__errbuf *err)
{
    const struct lc__approx_options mo = anchored(rc, sel, dr[0], dr[1] + r);
    struct lc__grid part;
    LC_FORWARD_IF_ERROR(lc__grid_window(&rc->win, dr[0], dr[1] + r,
                                        dr[2] - dr[0], rows, &part, err));
    return lc__srcmap_new(tf, &part, sel->lv.geotransform, sel->window.col_off,
                          sel->window.row_off, &mo, rc->alloc, map_ret, err);
}

/* Rows [r, r + rows) of whole, the destination of a part width pixels
 * wide (values of es bytes). */
static struct lc__warp_dst strip_dst(const struct lc__warp_dst *whole,
                                     uint32_t width, uint32_t r, uint32_t rows,
                                     size_t es)
{
    size_t px = (size_t)r * width;
    struct lc__warp_dst wd = *whole;
    wd.data = (char *)whole->data + px * es;
    wd.data_nbytes = (size_t)rows * width * es;
    wd.valid = whole->valid != NULL ? whole->valid + px : NULL;
    return wd;
}

/* The offsets of rows [r, r + rows) of the part of the window so covers. */
static int strip_offsets(const struct read_ctx *rc, struct lc__transform *tf,
                         const struct lc__source *sel,
                         const struct shared_offsets *so, uint32_t r,
                         uint32_t rows, int32_t *off, struct lc__errbuf *err)
{
    uint32_t width = so->dr[2] - so->dr[0];
    struct lc__srcmap *map = NULL;
    int status = strip_map(rc, tf, sel, so->dr, r, rows, &map, err);
    if (status == LC_OK)
        status =
            lc__warp_nearest_offsets(map, sel->window.width, sel->window.height,
                                     off, (size_t)rows * width, rc->alloc, err);
    lc__srcmap_free(map);
    return status;
}

/* Whether every strip not yet stored (stored[s] == 0) is being computed
 * by another band. Called with rc->mu held. */
static bool only_computing_left(const struct shared_offsets *so,
                                const uint8_t *stored)
{
    for (size_t s = 0; s < so->nstrips; s++)
        if (!stored[s] && so->state[s] != STRIP_COMPUTING)
            return false;
    return true;
}

/*
 * Warps the source ws of a band into whole (the destination of the part
 * so covers) through the item's shared offsets: each strip's offsets are
 * computed here unless another band has them or is computing them; strips
 * another band is computing are left for later, and when only those are
 * left the task waits for them, outside the CPU gate (the bands that
 * compute never wait while they do).
 */
static int warp_shared(struct band_task *t, struct shared_offsets *so,
                       struct lc__transform *tf, const struct lc__source *sel,
                       const struct lc__warp_src *ws,
                       const struct lc__warp_dst *whole, size_t es,
                       struct lc__errbuf *err)
{
    struct read_ctx *rc = t->rc;
    uint32_t width = so->dr[2] - so->dr[0], height = so->dr[3] - so->dr[1];
    uint8_t *stored = lc__calloc(rc->alloc, so->nstrips, 1);
    if (stored == NULL)
        return lc__error(err, LC_ENOMEM, "out of memory");
    size_t left = so->nstrips;
    int status = LC_OK;
    while (left > 0 && status == LC_OK) {
        bool progress = false;
        for (size_t s = 0; s < so->nstrips && status == LC_OK; s++) {
            if (stored[s])
                continue;
            if (cancel_requested(rc)) {
                status = LC_ECANCELLED;
                break;
            }
            uint32_t r = (uint32_t)s * so->strip_rows;
            uint32_t rows =
                height - r < so->strip_rows ? height - r : so->strip_rows;
            size_t px = (size_t)r * width;
            pthread_mutex_lock(&rc->mu);
            enum strip_state state = so->state[s];
            if (state == STRIP_TODO)
                so->state[s] = STRIP_COMPUTING;
            pthread_mutex_unlock(&rc->mu);
            if (state == STRIP_COMPUTING)
                continue;
            if (state == STRIP_TODO) {
                status = strip_offsets(rc, tf, sel, so, r, rows,
                                       so->offsets + px, err);
                pthread_mutex_lock(&rc->mu);
                so->state[s] = status == LC_OK ? STRIP_READY : STRIP_TODO;
                pthread_cond_broadcast(&rc->strip_cv);
                pthread_mutex_unlock(&rc->mu);
                if (status < 0)
                    break;
            }
            struct lc__warp_dst wd = strip_dst(whole, width, r, rows, es);
            status = lc__warp_nearest_apply(so->offsets + px, width, rows, ws,
                                            &wd, err);
            stored[s] = 1;
            left--;
            progress = true;
        }
        if (left > 0 && !progress && status == LC_OK) {
            lc__io_wait_begin();
            pthread_mutex_lock(&rc->mu);
            while (only_computing_left(so, stored))
                pthread_cond_wait(&rc->strip_cv, &rc->mu);
            pthread_mutex_unlock(&rc->mu);
            lc__io_wait_end();
        }
    }
    lc__free(rc->alloc, stored);
    return status;
}

/* A task's result as a mosaic source (band 0 of one). */
static struct lc__mosaic_src result_src(const struct read_ctx *rc,
                                        const struct band_task *t)
{
    return (struct lc__mosaic_src){
        .data = (const char *)t->values + t->offset * rc->es,
        .dtype = rc->c->dtype,
        .nbands = 1,
        .x0 = t->x0,
        .y0 = t->y0,
        .width = t->width,
        .height = t->height,
        .row_stride = t->stride,
        .mask = t->valid != NULL ? t->valid + t->offset : NULL,
        .mask_stride = t->stride,
        .has_nodata = t->has_nodata,
        .nodata = t->nodata,
        .valid_bits = t->bits};
}

/*
 * The validity of a task's result as bits, for first: the feed (on the
 * reading thread, one item after another) then takes 64 values at a time
 * by their bits; the task's thread looks at the values while they are at
 * hand, beside the other tasks. W6 (three 2048 x 2048 bands decoded into
 * the output): the feed took 6-9 ms, the last step of the read. Without
 * memory for the bits, the feed finds the validity itself.
 */
static void valid_bits_of_result(struct band_task *t)
{
    const struct read_ctx *rc = t->rc;
    size_t words = lc__mosaic_bits_words(t->x0, t->width), n;
    if (!rc->first || !lc__size_mul(words, t->height, &n) || n == 0)
        return;
    uint64_t *bits = lc__malloc_array(rc->alloc, n, sizeof *bits);
    if (bits == NULL)
        return;
    const struct lc__mosaic_src src = result_src(rc, t);
    lc__mosaic_valid_bits(&src, bits);
    t->bits = bits;
}

/*
 * Whether a task's result, decoded into the output (in_output_target), is
 * its step's mosaic as it lies there: the step has no other item, and the
 * values the mosaic would not take (nodata) already equal the fill that
 * would replace them. The mosaic then takes the rectangle as it is
 * (lc__mosaic_take_in_place): no validity bits, no feed over the values
 * (W6: about 5 ms of CPU, the last of it after the last band's decode).
 */
static bool taken_in_place(const struct band_task *t)
{
    const struct read_ctx *rc = t->rc;
    return t->in_output && rc->steps[t->item->step].count == 1 &&
           (!t->has_nodata || t->nodata == rc->fill);
}

/* Everything between the header and the result, for one opened COG. */
static int task_warp(struct band_task *t, struct lc_cog *cog,
                     const struct lc_cog_info *info, struct lc__transform *tf)
{
    struct read_ctx *rc = t->rc;
    const struct lc_collection *c = rc->c;
    const struct lc_allocator *a = rc->alloc;
    struct lc__errbuf err = {0};
    bool identity = lc__transform_is_identity(tf);
    int status;

    /* Level and source window (select.c, shared with lc_collection_plan). */
    struct lc__source sel;
    status = lc__select_source(&c->grid, &rc->win, c->resampling, cog, info, tf,
                               &sel, &err);
    if (status < 0)
        goto fail_err;
    if (!sel.overlaps)
        return LC_OK; /* no overlap */
    size_t level = sel.level;
    struct lc_cog_level lv = sel.lv;
    struct lc_window w = sel.window;
    uint32_t sw[4] = {w.col_off, w.row_off, w.col_off + w.width,
                      w.row_off + w.height};
    size_t nseg = identity ? 1 : EDGE_SEGMENTS;
    double bx[4 * EDGE_SEGMENTS], by[4 * EDGE_SEGMENTS];

    /* The part of the window the source window covers. */
    lc__rect_boundary(lv.geotransform, sw[0], sw[1], sw[2], sw[3], nseg, bx,
                      by);
    lc__transform_points_inverse(tf, bx, by, 4 * nseg);
    double win_inv[6];
    if ((status = lc__gt_invert(rc->win.gt, win_inv, &err)) < 0)
        goto fail_err;
    uint32_t dr[4];
    if (!lc__pixel_bounds(win_inv, bx, by, 4 * nseg, identity ? 0.0 : 1.0,
                          rc->win.width, rc->win.height, dr)) {
        /* The way back failed: warp the whole window. */
        dr[0] = 0;
        dr[1] = 0;
        dr[2] = rc->win.width;
        dr[3] = rc->win.height;
    }
    struct lc__grid sub;
    status = lc__grid_window(&rc->win, dr[0], dr[1], dr[2] - dr[0],
                             dr[3] - dr[1], &sub, &err);
    if (status < 0)
        goto fail_err;

    /* Fetch and decode. */
    enum lc_dtype sdt = info->dtype;
    size_t ses = lc_dtype_nbytes(sdt), src_nbytes, dst_npx, dst_nbytes;
    if (!lc__size_mul((size_t)w.width * ses, w.height, &src_nbytes) ||
        !lc__size_mul((size_t)sub.width, sub.height, &dst_npx) ||
        !lc__size_mul(dst_npx, ses > rc->es ? ses : rc->es, &dst_nbytes)) {
        snprintf(t->msg, sizeof t->msg, "window too large");
        return LC_ELIMIT;
    }
    bool has_nd, mosaic_has_nd;
    double nd, mosaic_nd;
    effective_nodata(c, info, &has_nd, &nd);
    bool keep_bits =
        same_bits(sdt, c->dtype, has_nd, nd, &mosaic_has_nd, &mosaic_nd);
    /* On the source's own pixel grid: no warp (aligned_result), or not even
     * a window buffer (in_output_target). */
    int64_t col = 0, row = 0;
    bool aligned = false;
    if (identity && keep_bits && sub.width > 0 && sub.height > 0) {
        const struct lc__approx_options whole =
            anchored(rc, &sel, dr[0], dr[1]);
        aligned = aligned_offset(t, tf, &sub, &lv, &w, &whole, &col, &row);
    }
    struct lc_window dw = w;
    size_t target_nbytes = 0;
    char *target = aligned ? in_output_target(t, &sub, &lv, &w, col, row, dr,
                                              &dw, &target_nbytes)
                           : NULL;
    void *src = NULL;
    uint8_t *mask = NULL;
    void *warped = NULL;
    struct lc__srcmap *map = NULL;
    uint64_t before_req = 0, before_bytes = 0;
    double cpu_t0 = lc__thread_cpu_seconds();
    double io_t0 = lc__io_thread_read_seconds();
    struct lc_cog_info now = {.struct_size = sizeof now};
    if (lc_cog_get_info(cog, &now) == LC_OK) {
        before_req = now.nrequests;
        before_bytes = now.nbytes_read;
    }
    if (target != NULL) {
        struct source_buf in_place = {.p = target, .nbytes = target_nbytes};
        status = read_source(t, cog, level, &lv, &dw, sdt, &in_place,
                             rc->req->width * ses);
    } else {
        struct source_buf own = {.nbytes = src_nbytes, .alloc = a};
        status = read_source(t, cog, level, &lv, &w, sdt, &own, w.width * ses);
        src = own.p;
    }
    if (lc_cog_get_info(cog, &now) == LC_OK) {
        t->requests += now.nrequests - before_req;
        t->bytes += now.nbytes_read - before_bytes;
    }
    add_read_time(t, cpu_t0, io_t0);
    if (status < 0)
        goto done;
    if (lv.has_mask) {
        size_t npx = (size_t)w.width * w.height;
        mask = lc__malloc(a, npx);
        if (mask == NULL) {
            status = LC_ENOMEM;
            goto fail_nomem;
        }
        cpu_t0 = lc__thread_cpu_seconds();
        io_t0 = lc__io_thread_read_seconds();
        status = lc_cog_read_mask(cog, level, &w, mask, npx);
        add_read_time(t, cpu_t0, io_t0);
        if (status < 0) {
            lc__copy_str(t->msg, sizeof t->msg, lc_errmsg());
            goto done;
        }
    }
    t->fetched = true;
    if (cancel_requested(rc)) {
        status = LC_ECANCELLED;
        goto done;
    }

    t->x0 = dr[0];
    t->y0 = dr[1];
    t->width = sub.width;
    t->height = sub.height;
    if (target != NULL) {
        t->values = target;
        t->in_output = true;
        t->stride = rc->req->width;
        t->has_nodata = mosaic_has_nd;
        t->nodata = mosaic_nd;
        t->has_data = true;
        goto done;
    }
    if (aligned) {
        aligned_result(t, &w, col, row, &src, &mask, mosaic_has_nd, mosaic_nd);
        t->has_data = true;
        goto done;
    }

    /* Warp into the sub-window, then cast to the output dtype: in strips
     * of rows, each with its own source map, so that a cancellation is
     * seen between strips. Integers that keep their bits are warped
     * straight into values (the cast would copy them unchanged). With
     * nearest and a nodata value, the pixels left out get that value and
     * the mosaic tells them by it: no validity array (a value nearest
     * picks is never the nodata value; an interpolated one could be). */
    bool by_nodata =
        keep_bits && mosaic_has_nd && c->resampling == LC_WARP_NEAREST;
    t->values = lc__malloc(a, dst_npx * rc->es);
    if (!by_nodata)
        t->valid = lc__malloc(a, dst_npx);
    if (sdt != c->dtype && !keep_bits)
        warped = lc__malloc(a, dst_npx * ses);
    if (t->values == NULL || (!by_nodata && t->valid == NULL) ||
        (sdt != c->dtype && !keep_bits && warped == NULL)) {
        status = LC_ENOMEM;
        goto fail_nomem;
    }
    t->has_nodata = by_nodata;
    t->nodata = mosaic_nd;
    struct lc__warp_src ws = {.data = src,
                              .dtype = sdt,
                              .width = w.width,
                              .height = w.height,
                              .mask = mask,
                              .has_nodata = has_nd,
                              .nodata = nd};
    uint32_t strip = (uint32_t)(WARP_STRIP_PIXELS / sub.width);
    if (strip < WARP_STRIP_MIN_ROWS)
        strip = WARP_STRIP_MIN_ROWS;
    char *wbase = warped != NULL ? warped : t->values;
    const struct lc__warp_dst dst_part = {
        .data = wbase, .valid = t->valid, .fill = by_nodata ? nd : 0.0};
    struct shared_offsets *so = NULL;
    if (c->resampling == LC_WARP_NEAREST && !identity && rc->nub > 1 &&
        sub.width > 0 && sub.height > 0)
        so = offsets_attach(rc, t->item, info->crs, &sel, dr, strip);
    if (so != NULL) {
        status = warp_shared(t, so, tf, &sel, &ws, &dst_part, ses, &err);
        if (status == LC_ECANCELLED)
            goto done;
        if (status < 0)
            goto fail_err_cleanup;
    }
    for (uint32_t r = 0; so == NULL && r < sub.height; r += strip) {
        if (cancel_requested(rc)) {
            status = LC_ECANCELLED;
            goto done;
        }
        uint32_t rows = sub.height - r < strip ? sub.height - r : strip;
        status = strip_map(rc, tf, &sel, dr, r, rows, &map, &err);
        if (status < 0)
            goto fail_err_cleanup;
        struct lc__warp_dst wd = strip_dst(&dst_part, sub.width, r, rows, ses);
        status = lc__warp(map, &ws, c->resampling, &wd, a, &err);
        lc__srcmap_free(map);
        map = NULL;
        if (status < 0)
            goto fail_err_cleanup;
    }
    if (warped != NULL)
        convert_values(warped, sdt, t->values, c->dtype, dst_npx);
    t->pixels_warped = dst_npx;
    t->has_data = true;
    goto done;

fail_nomem:
    snprintf(t->msg, sizeof t->msg, "out of memory");
    goto done;
fail_err_cleanup:
    lc__copy_str(t->msg, sizeof t->msg, err.msg);
done:
    lc__srcmap_free(map);
    lc__free(a, warped);
    lc__free(a, mask);
    lc__free(a, src);
    return status;
fail_err:
    lc__copy_str(t->msg, sizeof t->msg, err.msg);
    return status;
}

static int task_work(struct band_task *t)
{
    struct read_ctx *rc = t->rc;
    struct lc_collection *c = rc->c;
    const struct lc__stac_items *items = c->items;
    size_t b = rc->ub[t->ub];
    const struct lc__stac_asset *asset =
        &items->assets[t->item->index * items->nassets + c->band_asset[b]];
    struct lc__errbuf err = {0};
    struct lc_cog *cog = NULL;
    bool cached = false;

    double t0 = lc__now_seconds();
    /* Opening the header is waiting for reads: outside the gate. */
    lc__io_wait_begin();
    int status = lc__header_cache_get_ex(asset->href, c->store, &c->limits,
                                         &cog, &cached, &err);
    t->header_s = lc__now_seconds() - t0;
    lc__io_wait_end();
    double cpu_t1 = lc__thread_cpu_seconds();
    if (status < 0) {
        lc__copy_str(t->msg, sizeof t->msg, err.msg);
        return status;
    }
    t->miss = !cached;
    struct lc_cog_info info = {.struct_size = sizeof info};
    if ((status = lc_cog_get_info(cog, &info)) < 0) {
        lc__copy_str(t->msg, sizeof t->msg, lc_errmsg());
        goto out;
    }
    if (t->miss) {
        /* What opening it cost. */
        t->requests += info.nrequests;
        t->bytes += info.nbytes_read;
    }
    status = check_contract(t, &info, c->bands[b], items->ids[t->item->index]);
    if (status < 0)
        goto out;
    if (info.georef == LC_GEOREF_NONE || info.georef == LC_GEOREF_GCPS ||
        info.crs == NULL || info.crs[0] == '\0') {
        snprintf(t->msg, sizeof t->msg, "%s: no %s", asset->href,
                 info.crs == NULL || info.crs[0] == '\0' ? "CRS"
                                                         : "geotransform");
        status = LC_EUNSUPPORTED;
        goto out;
    }
    struct lc__crs *src_crs = NULL;
    bool owned = false;
    if ((status = crs_get(info.crs, &src_crs, &owned, &err)) < 0) {
        join_msg(t->msg, sizeof t->msg,
                 (const char *[]){asset->href, ": ", err.msg}, 3);
        goto out;
    }
    struct lc__transform *tf = NULL;
    status = lc__transform_get_in(c->crs, src_crs, c->area, &tf, &err);
    if (status < 0) {
        join_msg(t->msg, sizeof t->msg,
                 (const char *[]){asset->href, ": ", err.msg}, 3);
    } else {
        status = task_warp(t, cog, &info, tf);
        lc__transform_release(tf);
        if (status == LC_OK && t->has_data && !taken_in_place(t))
            valid_bits_of_result(t);
    }
    if (owned)
        lc__crs_free(src_crs);
out:
    lc__header_cache_release(cog);
    /* The rest of the CPU time: choosing the level, the transform, warping,
     * casting. */
    t->warp_s = lc__thread_cpu_seconds() - cpu_t1 - t->decode_s;
    return status;
}

/* ---- helpers: a band task's loops on other pool threads -----------------
 *
 * A band task decoding the blocks of a large window (lc__par_for in the
 * COG reader) lends them to helpers: pool jobs that take blocks from the
 * same loop, each passing the CPU gate with the task's ticket (so ahead of
 * the tasks dispatched after it: the item the mosaic waits for finishes
 * first). Without them a read of a few large windows (one scene's bands at
 * native resolution) decodes each window on one core while the others
 * wait. Helpers are posted only when they may run soon: with a gate, when
 * no task waits for a place; without, when the read leaves pool threads
 * idle. A helper whose turn comes after the loop is done leaves at once.
 * The loop is shared by reference count (a helper may start after the
 * task went on), and the read waits for its helpers as for its tasks.
 */

struct par_loop;

struct par_helper {
    struct pool_job job; /* first: the pool hands back this pointer */
    struct par_loop *loop;
    struct gate_seat seat;
};

struct par_loop {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* done reached n */
    size_t next, n, done;
    lc__par_fn fn;
    void *ctx;
    size_t refs; /* the task and each helper */
    struct read_ctx *rc;
    struct par_helper helpers[];
};

/* Runs iterations of l until none is left to take. */
static void par_take(struct par_loop *l)
{
    pthread_mutex_lock(&l->mu);
    while (l->next < l->n) {
        size_t i = l->next++;
        pthread_mutex_unlock(&l->mu);
        l->fn(l->ctx, i);
        pthread_mutex_lock(&l->mu);
        if (++l->done == l->n)
            pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
}

static void par_release(struct par_loop *l)
{
    const struct lc_allocator *a = l->rc->alloc;
    pthread_mutex_lock(&l->mu);
    bool last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (last) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        lc__free(a, l);
    }
}

static void par_helper_run(struct pool_job *job)
{
    struct par_helper *h = (struct par_helper *)(void *)job;
    struct par_loop *l = h->loop;
    struct read_ctx *rc = l->rc;
    pthread_mutex_lock(&l->mu);
    bool work = l->next < l->n;
    pthread_mutex_unlock(&l->mu);
    double cpu = 0.0;
    if (work) {
        double cpu0 = lc__thread_cpu_seconds();
        if (rc->gate.places > 0)
            gate_enter(&h->seat);
        par_take(l);
        gate_leave(&h->seat);
        cpu = lc__thread_cpu_seconds() - cpu0;
    }
    par_release(l);
    pthread_mutex_lock(&rc->mu);
    rc->st.decode_seconds += cpu;
    rc->nhelpers_queued--;
    pthread_cond_signal(&rc->cv);
    /* rc may be freed as soon as the lock is released. */
    pthread_mutex_unlock(&rc->mu);
}

/* How many helpers a loop of n iterations gets now (see above). */
static size_t par_helpers_wanted(struct read_ctx *rc, size_t n)
{
    size_t want = 0;
    pthread_mutex_lock(&rc->mu);
    if (rc->gate.places > 0)
        want = rc->gate.nwaiting == 0 ? rc->gate.places - 1 : 0;
    else if (rc->nqueued < rc->slots)
        want = rc->slots - rc->nqueued;
    pthread_mutex_unlock(&rc->mu);
    return want < n - 1 ? want : n - 1;
}

/* The band tasks' lc__par_hook (arg: the struct band_task). */
static void par_run(void *arg, size_t n, lc__par_fn fn, void *ctx)
{
    struct band_task *t = arg;
    struct read_ctx *rc = t->rc;
    size_t want = n > 1 ? par_helpers_wanted(rc, n) : 0;
    size_t nbytes = 0;
    struct par_loop *l = NULL;
    if (want > 0 && lc__size_mul(want, sizeof l->helpers[0], &nbytes) &&
        lc__size_add(nbytes, sizeof *l, &nbytes))
        l = lc__malloc(rc->alloc, nbytes);
    if (l != NULL && pthread_mutex_init(&l->mu, NULL) != 0) {
        lc__free(rc->alloc, l);
        l = NULL;
    } else if (l != NULL && pthread_cond_init(&l->cv, NULL) != 0) {
        pthread_mutex_destroy(&l->mu);
        lc__free(rc->alloc, l);
        l = NULL;
    }
    if (l == NULL) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    l->next = 0;
    l->n = n;
    l->done = 0;
    l->fn = fn;
    l->ctx = ctx;
    l->refs = 1 + want;
    l->rc = rc;
    pthread_mutex_lock(&rc->mu);
    rc->nhelpers_queued += want;
    pthread_mutex_unlock(&rc->mu);
    for (size_t k = 0; k < want; k++) {
        struct par_helper *h = &l->helpers[k];
        h->job.run = par_helper_run;
        h->loop = l;
        h->seat = (struct gate_seat){rc, t->seat.ticket, false};
        pool_submit(&h->job);
    }
    par_take(l);
    /* The blocks helpers took are being decoded: a block's time at most. */
    pthread_mutex_lock(&l->mu);
    while (l->done < l->n)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    par_release(l);
}

static void task_run(struct pool_job *job)
{
    struct band_task *t = (struct band_task *)(void *)job;
    struct read_ctx *rc = t->rc;
    struct item_job *item = t->item;

    pthread_mutex_lock(&rc->mu);
    if (--rc->nunstarted == 0)
        pthread_cond_signal(&rc->cv); /* the output may be touched now */
    bool skip = rc->cancelled || item->pos > rc->stop_pos ||
                (rc->first && rc->steps[item->step].done);
    pthread_mutex_unlock(&rc->mu);
    if (!skip && cancel_requested(rc))
        skip = true;
    if (!skip) {
        struct lc__io_wait_hook hook = {gate_leave, gate_enter, &t->seat};
        struct lc__par_hook par = {par_run, t};
        if (rc->gate.places > 0)
            lc__io_set_wait_hook(&hook);
        lc__par_set_hook(&par);
        t->status = task_work(t);
        gate_leave(&t->seat);
        lc__io_set_wait_hook(NULL);
        lc__par_set_hook(NULL);
        if (t->status == LC_ECANCELLED) {
            t->abandoned = true;
        } else if (t->status < 0) {
            task_free_buffers(rc, t);
            t->has_data = false;
        }
    } else {
        t->abandoned = true;
    }

    pthread_mutex_lock(&rc->mu);
    t->state = TASK_DONE;
    item->nfinished++;
    rc->nqueued--;
    rc->st.cogs_opened += t->miss;
    rc->st.requests += t->requests;
    rc->st.bytes += t->bytes;
    rc->st.header_seconds += t->header_s;
    rc->st.fetch_seconds += t->fetch_s;
    rc->st.decode_seconds += t->decode_s;
    rc->st.warp_seconds += t->warp_s;
    rc->st.pixels_warped += t->pixels_warped;
    pthread_cond_signal(&rc->cv);
    /* rc may be freed as soon as the lock is released. */
    pthread_mutex_unlock(&rc->mu);
}

/* ---- matching items ------------------------------------------------------ */

/* What an item in flight holds, about: per band its values and validity
 * over its footprint, and the source window (about as many pixels), and
 * the shared nearest offsets; at most the whole budget. */
static size_t item_nbytes(const struct read_ctx *rc, const uint32_t rect[4])
{
    size_t px, n, shared = 0;
    if (!lc__size_mul((size_t)(rect[2] - rect[0]), rect[3] - rect[1], &px) ||
        !lc__size_mul(px, 2 * rc->es + 1, &n) ||
        !lc__size_mul(n, rc->nub, &n) ||
        (rc->nub > 1 && rc->c->resampling == LC_WARP_NEAREST &&
         !lc__size_mul(px, sizeof(int32_t), &shared)) ||
        !lc__size_add(n, shared, &n) || n > READ_INFLIGHT_BUDGET)
        return READ_INFLIGHT_BUDGET;
    return n;
}

/*
 * Finds the items of the requested steps whose footprint meets the window
 * (lc__select_items) and lays out rc->items (step by step, k ascending)
 * and their tasks.
 */
static int match_items(struct read_ctx *rc, struct lc__errbuf *err)
{
    struct lc_collection *c = rc->c;
    const struct lc_allocator *a = rc->alloc;
    struct lc__crs *wgs84 = NULL;
    bool wgs84_owned = false;
    struct lc__transform *to_out = NULL;
    struct lc__selection sel = {0};
    int status;

    size_t *steps = lc__malloc_array(a, rc->nus, sizeof *steps);
    if (steps == NULL)
        return lc__error(err, LC_ENOMEM, "out of memory");
    for (size_t s = 0; s < rc->nus; s++)
        steps[s] = rc->steps[s].t;
    status = lc__select_items(c, &rc->win, steps, rc->nus, a, &sel, err);
    lc__free(a, steps);
    if (status < 0)
        return status;
    if (sel.count == 0)
        goto out;
    /* Items that cover the window need no transform for their rectangles
     * (the whole window); the read then only checks that there is one
     * (run_items), while its first requests are out. */
    rc->check_4326 = sel.covers_window;
    if (!sel.covers_window &&
        ((status = lc__engine_crs_get("EPSG:4326", &wgs84, &wgs84_owned, err)) <
             0 ||
         (status = lc__transform_get_in(wgs84, c->crs, c->area, &to_out, err)) <
             0))
        goto out;
    rc->st.items_matched = sel.count;

    size_t ntasks;
    if (!lc__size_mul(sel.count, rc->nub, &ntasks)) {
        status = lc__error(err, LC_ELIMIT, "too many items");
        goto out;
    }
    rc->items = lc__calloc(a, sel.count, sizeof *rc->items);
    rc->tasks = lc__calloc(a, ntasks > 0 ? ntasks : 1, sizeof *rc->tasks);
    if (rc->items == NULL || rc->tasks == NULL) {
        status = lc__error(err, LC_ENOMEM, "out of memory");
        goto out;
    }
    rc->nitems = sel.count;
    size_t at = 0;
    for (size_t s = 0; s < rc->nus; s++) {
        rc->steps[s].first = at;
        rc->steps[s].count = 0;
        at += sel.nper[s];
    }
    double win_inv[6];
    if ((status = lc__gt_invert(rc->win.gt, win_inv, err)) < 0)
        goto out;
    for (size_t i = 0; i < sel.count; i++) {
        size_t k = sel.k[i];
        struct step_state *st = &rc->steps[sel.step[i]];
        size_t pos = st->first + st->count++;
        struct item_job *it = &rc->items[pos];
        it->k = k;
        it->index = c->item[k];
        it->pos = pos;
        it->step = (size_t)(st - rc->steps);
        it->tasks = &rc->tasks[pos * rc->nub];
        lc__footprint_rect(to_out, &rc->win, win_inv,
                           &c->items->bbox[it->index], sel.margin, it->rect);
        it->nbytes = item_nbytes(rc, it->rect);
        for (size_t j = 0; j < rc->nub; j++) {
            struct band_task *t = &it->tasks[j];
            t->job.run = task_run;
            t->rc = rc;
            t->seat.rc = rc;
            t->item = it;
            t->ub = j;
        }
    }
    status = LC_OK;
out:
    lc__selection_free(a, &sel);
    lc__transform_release(to_out);
    if (wgs84_owned)
        lc__crs_free(wgs84);
    return status;
}

/* ---- transforms found ahead of need ------------------------------------
 *
 * A band task needs the transform from the output CRS to its COG's CRS
 * once its header has arrived. The first search for a pair in a process
 * costs 40 ms or more (PROJ's database; crs.c then shares the result and
 * makes other threads wait for a running search rather than repeat it;
 * from a CRS on another datum to one on WGS 84 it is a conversion after
 * open()'s search for the datum transformation to EPSG:4326, 0.2 ms).
 * So the read starts those searches on the pool right after its first band
 * tasks, for the CRSs its items name (proj:code): they run while the
 * headers are fetched instead of after. Later reads find the operations known,
 * and their prewarm jobs cost a lookup each. The same jobs look up the kind of
 * each EPSG code for the headers' GeoKeys (lc__geokeys_learn_epsg) and make
 * the CRS the headers name, the output's own CRS included: the first header
 * parsed in a process otherwise took 1.4-2 ms more, and its CRS 1.2-2.3 ms
 * more, on the critical path of a read of one scene. open() has the same
 * work done for the CRSs of its first items (lc__engine_prepare_items),
 * while its caller builds the array: the first reads of W2 (a point in
 * EPSG:5070, items in two UTM zones) otherwise each made both zones' CRSs
 * for their match (lc__collection_src_pixel_m), three threads at once
 * taking turns in PROJ's database, and sent their first request 6 ms later.
 */

static void prewarm_run(struct pool_job *job)
{
    struct prewarm_job *p = (struct prewarm_job *)(void *)job;
    struct read_ctx *rc = p->rc;
    if (!cancel_requested(rc))
        prepare_crs(rc->c->crs, p->code, p->epsg, p->search, rc->c->area);
    pthread_mutex_lock(&rc->mu);
    rc->nprewarm_queued--;
    pthread_cond_signal(&rc->cv);
    /* rc may be freed as soon as the lock is released. */
    pthread_mutex_unlock(&rc->mu);
}

/* Lists the prewarm jobs of the read (rc->prewarm, rc->nprewarm): one per
 * distinct CRS its items' requested bands name, searching for the
 * operation from the output CRS unless it is the output CRS. */
static void list_prewarm(struct read_ctx *rc)
{
    const struct lc_collection *c = rc->c;
    const struct lc__stac_items *items = c->items;
    size_t n = 0;
    for (size_t i = 0; i < rc->nitems && n < READ_PREWARM_CRSS; i++) {
        for (size_t j = 0; j < rc->nub && n < READ_PREWARM_CRSS; j++) {
            const struct lc__stac_asset *a =
                &items->assets[rc->items[i].index * items->nassets +
                               c->band_asset[rc->ub[j]]];
            if (a->proj_code == NULL)
                continue;
            size_t k = 0;
            while (k < n && strcmp(rc->prewarm[k].code, a->proj_code) != 0)
                k++;
            if (k < n)
                continue;
            rc->prewarm[n] = (struct prewarm_job){
                .job.run = prewarm_run,
                .rc = rc,
                .code = a->proj_code,
                .epsg = a->epsg,
                .search = !(a->epsg != 0 && a->epsg == c->epsg)};
            n++;
        }
    }
    rc->nprewarm = n;
}

/* Submits the prewarm jobs (with rc->mu held): after the first band tasks,
 * so that those take the pool's threads and the cores first and their
 * header requests go out before the searches compete for the cores. */
static void start_prewarm_locked(struct read_ctx *rc)
{
    rc->nprewarm_queued = rc->nprewarm;
    for (size_t k = 0; k < rc->nprewarm; k++)
        pool_submit(&rc->prewarm[k].job);
}

/* ---- dispatching and feeding (the calling thread) ------------------------ */

/* Is band ub of the item still worth reading? (first only asks.) */
static bool band_needed(const struct read_ctx *rc, const struct item_job *it,
                        size_t ub)
{
    if (!rc->first)
        return true;
    const struct step_state *st = &rc->steps[it->step];
    return !lc__mosaic_rect_done(st->m, ub, it->rect[0], it->rect[1],
                                 it->rect[2], it->rect[3]);
}

static bool item_needed(const struct read_ctx *rc, const struct item_job *it)
{
    if (!rc->first)
        return true;
    if (rc->steps[it->step].done)
        return false;
    for (size_t j = 0; j < rc->nub; j++)
        if (band_needed(rc, it, j))
            return true;
    return false;
}

/* Dispatches what the limits allow. Called with rc->mu held. */
static void dispatch(struct read_ctx *rc, size_t *cursor, size_t *inflight)
{
    const struct lc_collection *c = rc->c;
    const struct lc__stac_items *items = c->items;

    while (*cursor < rc->nitems && rc->nqueued < rc->slots &&
           *inflight < rc->max_inflight) {
        struct item_job *it = &rc->items[*cursor];
        if (!item_needed(rc, it)) {
            (*cursor)++;
            it->resolved = true;
            rc->st.items_skipped++;
            continue;
        }
        /* Within the memory budget; two items always go. */
        if (*inflight >= 2 &&
            rc->inflight_nbytes + it->nbytes > READ_INFLIGHT_BUDGET)
            break;
        (*cursor)++;
        it->dispatched = true;
        (*inflight)++;
        rc->inflight_nbytes += it->nbytes;
        for (size_t j = 0; j < rc->nub; j++) {
            struct band_task *t = &it->tasks[j];
            const struct lc__stac_asset *asset =
                &items->assets[it->index * items->nassets +
                               c->band_asset[rc->ub[j]]];
            if (asset->href == NULL || !band_needed(rc, it, j)) {
                t->state = TASK_NONE;
                it->nfinished++;
                continue;
            }
            t->state = TASK_QUEUED;
            t->seat.ticket = rc->gate.next_ticket++;
            rc->nqueued++;
            rc->nunstarted++;
            pool_submit(&t->job);
        }
    }
}

/* Records the failure of item it, unless an earlier one failed. */
/* The asset keys of the item's read, comma-separated, into bands; and the
 * message its failure t raises (a contract violation's as it stands) into
 * msg. */
static void failure_message(const struct read_ctx *rc,
                            const struct item_job *it,
                            const struct band_task *t, char *bands,
                            size_t bands_cap, char *msg, size_t msg_cap)
{
    const struct lc_collection *c = rc->c;
    const char *id = c->items->ids[it->index];

    bands[0] = '\0';
    size_t len = 0;
    for (size_t j = 0; j < rc->nub; j++) {
        const struct band_task *bt = &it->tasks[j];
        if (bt->state != TASK_DONE && bt->state != TASK_QUEUED)
            continue;
        const char *name = c->bands[rc->ub[j]];
        int n = snprintf(bands + len, bands_cap - len, "%s%s",
                         len == 0 ? "" : ",", name);
        if (n < 0 || (size_t)n >= bands_cap - len)
            break;
        len += (size_t)n;
    }
    if (t->contract) {
        lc__copy_str(msg, msg_cap, t->msg);
        return;
    }
    char list[LC_ERRMSG_CAP] = "[";
    size_t nb = 0;
    for (size_t j = 0; j < rc->nub; j++) {
        const struct band_task *bt = &it->tasks[j];
        if (bt->state != TASK_DONE && bt->state != TASK_QUEUED)
            continue;
        if (nb++ > 0)
            lc__copy_str(list + strlen(list), sizeof list - strlen(list), ", ");
        py_str_repr(c->bands[rc->ub[j]], list, sizeof list);
    }
    lc__copy_str(list + strlen(list), sizeof list - strlen(list), "]");
    char idr[600] = "", band[600] = "";
    py_str_repr(id, idr, sizeof idr);
    /* Which of the bands failed: its href in t->msg need not say. */
    py_str_repr(c->bands[rc->ub[t->ub]], band, sizeof band);
    join_msg(msg, msg_cap,
             (const char *[]){"Failed to read bands ", list, " from item ", idr,
                              ": band ", band, ": ", t->msg},
             8);
}

static void record_failure(struct read_ctx *rc, const struct item_job *it,
                           const struct band_task *t)
{
    if (it->pos >= rc->stop_pos)
        return;
    rc->stop_pos = it->pos;
    rc->fail_status = t->status;
    rc->fail_contract = t->contract;
    lc__copy_str(rc->fail_item, sizeof rc->fail_item,
                 rc->c->items->ids[it->index]);
    failure_message(rc, it, t, rc->fail_bands, sizeof rc->fail_bands,
                    rc->fail_msg, sizeof rc->fail_msg);
}

/* Reports a failure that LC_ERRORS_IGNORE skips. */
static void report_ignored(struct read_ctx *rc, const struct item_job *it,
                           const struct band_task *t)
{
    rc->st.items_failed++;
    if (rc->req->on_ignored == NULL)
        return;
    char bands[512], msg[LC_ERRMSG_CAP];
    failure_message(rc, it, t, bands, sizeof bands, msg, sizeof msg);
    lc__redact_urls(msg, sizeof msg);
    rc->req->on_ignored(rc->req->on_ignored_ctx, rc->c->items->ids[it->index],
                        msg);
}

/*
 * Resolves the item at the front of its step: feeds its bands, or skips or
 * fails it. Called without rc->mu (every task of the item has finished, so
 * no worker touches it); returns a fatal status (a feed's own error).
 */
static int resolve_item(struct read_ctx *rc, struct item_job *it,
                        struct lc__errbuf *err)
{
    struct step_state *st = &rc->steps[it->step];
    int status = LC_OK;
    bool fetched = false;

    for (size_t j = 0; j < rc->nub; j++)
        fetched = fetched || it->tasks[j].fetched;
    if (!item_needed(rc, it)) {
        /* Covered by the items before it (first): as if never read. */
        rc->st.items_skipped++;
        goto release;
    }
    const struct band_task *bad = NULL;
    for (size_t j = 0; j < rc->nub && bad == NULL; j++)
        if (it->tasks[j].state == TASK_DONE && it->tasks[j].contract)
            bad = &it->tasks[j];
    for (size_t j = 0; j < rc->nub && bad == NULL; j++)
        if (it->tasks[j].state == TASK_DONE && !it->tasks[j].abandoned &&
            it->tasks[j].status < 0)
            bad = &it->tasks[j];
    if (fetched)
        rc->st.items_read++;
    if (bad != NULL) {
        if (bad->contract || rc->c->errors == LC_ERRORS_RAISE) {
            pthread_mutex_lock(&rc->mu);
            record_failure(rc, it, bad);
            pthread_mutex_unlock(&rc->mu);
        } else {
            report_ignored(rc, it, bad);
        }
        goto release;
    }
    double t0 = lc__now_seconds();
    for (size_t j = 0; j < rc->nub && status == LC_OK; j++) {
        struct band_task *t = &it->tasks[j];
        if (t->state != TASK_DONE || !t->has_data)
            continue;
        if (taken_in_place(t)) {
            status = lc__mosaic_take_in_place(st->m, j, t->x0, t->y0, t->width,
                                              t->height, err);
            continue;
        }
        struct lc__mosaic_src src = result_src(rc, t);
        src.band0 = j;
        status = lc__mosaic_feed(st->m, &src, err);
    }
    if (rc->first && lc__mosaic_is_done(st->m)) {
        pthread_mutex_lock(&rc->mu);
        st->done = true;
        pthread_mutex_unlock(&rc->mu);
    }
    rc->st.mosaic_seconds += lc__now_seconds() - t0;
release:
    for (size_t j = 0; j < rc->nub; j++)
        task_free_buffers(rc, &it->tasks[j]);
    lc__free(rc->alloc, it->offsets);
    it->offsets = NULL;
    it->resolved = true;
    return status;
}

/*
 * Feeds every item that has reached the front of its step and finished.
 * Called with rc->mu held (released around each feed). Returns whether
 * anything was resolved, or a fatal status through *status.
 */
static bool feed_ready(struct read_ctx *rc, size_t *inflight, int *status,
                       struct lc__errbuf *err)
{
    bool progress = false;
    for (size_t s = 0; s < rc->nus && *status == LC_OK; s++) {
        struct step_state *st = &rc->steps[s];
        while (st->next < st->count && *status == LC_OK) {
            struct item_job *it = &rc->items[st->first + st->next];
            if (it->pos > rc->stop_pos)
                break;
            if (!it->resolved) {
                if (!it->dispatched || it->nfinished < rc->nub)
                    break;
                bool abandoned = false;
                for (size_t j = 0; j < rc->nub; j++)
                    abandoned = abandoned || it->tasks[j].abandoned;
                /* Abandoned by cancellation (or, for first, because the
                 * step filled up: then resolve_item skips it). */
                if (abandoned && !(rc->first && st->done))
                    break;
                pthread_mutex_unlock(&rc->mu);
                *status = resolve_item(rc, it, err);
                pthread_mutex_lock(&rc->mu);
                (*inflight)--;
                rc->inflight_nbytes -= it->nbytes;
            }
            st->next++;
            progress = true;
        }
    }
    return progress;
}

static void wait_for_workers(struct read_ctx *rc)
{
    if (rc->req->cancel == NULL) {
        pthread_cond_wait(&rc->cv, &rc->mu);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += CANCEL_POLL_NS;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&rc->cv, &rc->mu, &ts);
}

/*
 * Has the kernel map the pages of the next TOUCH_CHUNK_NBYTES of the
 * output, without changing their contents. A fresh output (numpy's pages, never
 * written) costs the kernel a fault per page at its first write: some 26,000
 * for a 108 MB output, tens of milliseconds that the mosaic, on the reading
 * thread, would spend one item after another. The reading thread has them
 * mapped instead (lc__populate) while it waits for the tasks, which wait on
 * the network; the bytes stay as they are, so this may run while the
 * mosaic writes.
 */
static void touch_output(struct read_ctx *rc)
{
    size_t end = rc->out_nbytes - rc->out_touched > TOUCH_CHUNK_NBYTES
                     ? rc->out_touched + TOUCH_CHUNK_NBYTES
                     : rc->out_nbytes;
    if (!lc__populate((char *)rc->req->out + rc->out_touched,
                      end - rc->out_touched))
        end = rc->out_nbytes; /* an older kernel: not again */
    rc->out_touched = end;
}

/* Fails as match_items does when there is no operation between the
 * collection's CRS and EPSG:4326 (waiting for a search that runs). */
static int check_operation_4326(const struct lc_collection *c,
                                struct lc__errbuf *err)
{
    struct lc__crs *wgs84 = NULL;
    bool wgs84_owned = false;
    struct lc__transform *to_out = NULL;
    int status = lc__engine_crs_get("EPSG:4326", &wgs84, &wgs84_owned, err);
    if (status == LC_OK)
        status = lc__transform_get_in(wgs84, c->crs, c->area, &to_out, err);
    lc__transform_release(to_out);
    if (wgs84_owned)
        lc__crs_free(wgs84);
    return status;
}

/* Runs every task and feeds the mosaics; returns the read's status. */
static int run_items(struct read_ctx *rc, struct lc__errbuf *err)
{
    size_t cursor = 0, inflight = 0;
    int status = LC_OK;
    bool prewarm_started = false;

    pthread_mutex_lock(&rc->mu);
    for (;;) {
        if (!rc->cancelled && cancel_requested(rc))
            rc->cancelled = true;
        if (status < 0 && !rc->cancelled)
            rc->cancelled = true; /* a fatal error of our own: stop all */
        if (!rc->cancelled && rc->stop_pos == SIZE_MAX)
            dispatch(rc, &cursor, &inflight);
        if (!prewarm_started) {
            start_prewarm_locked(rc);
            prewarm_started = true;
        }
        if (rc->check_4326 && status == LC_OK) {
            rc->check_4326 = false;
            pthread_mutex_unlock(&rc->mu);
            status = check_operation_4326(rc->c, err);
            pthread_mutex_lock(&rc->mu);
            continue;
        }
        bool progress = false;
        if (!rc->cancelled)
            progress = feed_ready(rc, &inflight, &status, err);
        bool all_fed = true;
        for (size_t s = 0; s < rc->nus && all_fed; s++)
            all_fed = rc->steps[s].next == rc->steps[s].count;
        /* Nothing queued and nothing fed: the dispatcher had nothing left
         * to start either (anything it starts is queued, or resolvable). */
        if (rc->nqueued == 0 && rc->nprewarm_queued == 0 &&
            rc->nhelpers_queued == 0 && !progress)
            break;
        (void)all_fed;
        if (progress)
            continue;
        /* Work done while the lock is released may have signalled: look
         * again before waiting. Touching waits for the tasks to be on
         * their threads: a pool thread woken by dispatch shares this
         * thread's core, and would wait for a time slice (5-10 ms in W6)
         * behind the touching before its first request goes out. A remote
         * read touches only once the first answers are in, while no task
         * computes: touching from the start held up the I/O thread and
         * the prewarm's PROJ work, and W6's header requests went out up
         * to 10 ms late (W6 86.1 -> 84.1 ms, W4 329.8 -> 325.8 ms, 10
         * interleaved runs each). */
        bool idle =
            rc->gate.places == 0 || (rc->gate.answered && rc->gate.used == 0);
        if (!rc->cancelled && rc->out_touched < rc->out_nbytes &&
            rc->nunstarted == 0 && idle) {
            pthread_mutex_unlock(&rc->mu);
            touch_output(rc);
            pthread_mutex_lock(&rc->mu);
            continue;
        }
        wait_for_workers(rc);
    }
    pthread_mutex_unlock(&rc->mu);
    if (status < 0)
        return status;
    if (rc->cancelled)
        return lc__error(err, LC_ECANCELLED, "lc_collection_read: cancelled");
    if (rc->stop_pos != SIZE_MAX)
        return lc__error(err, rc->fail_status, "%s", rc->fail_msg);
    return LC_OK;
}

/* ---- the request ----------------------------------------------------------
 */

static int check_request(const struct lc_collection *c,
                         const struct lc_read_request *req, size_t *need_ret,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(req->struct_size != sizeof *req, err, LC_EINVAL,
                 "lc_collection_read: request struct_size %zu, expected %zu",
                 req->struct_size, sizeof *req);
    LC_RETURN_IF((req->nbands > 0 && req->bands == NULL) ||
                     (req->ntimes > 0 && req->times == NULL),
                 err, LC_EINVAL, "lc_collection_read: bands or times is NULL");
    for (size_t i = 0; i < req->nbands; i++)
        LC_RETURN_IF(req->bands[i] >= c->nbands, err, LC_EINVAL,
                     "lc_collection_read: band index %zu out of range (the "
                     "collection has %zu bands)",
                     req->bands[i], c->nbands);
    for (size_t i = 0; i < req->ntimes; i++)
        LC_RETURN_IF(req->times[i] >= c->ntimes, err, LC_EINVAL,
                     "lc_collection_read: time index %zu out of range (the "
                     "collection has %zu time steps)",
                     req->times[i], c->ntimes);
    LC_RETURN_IF((uint64_t)req->x0 + req->width > c->grid.width ||
                     (uint64_t)req->y0 + req->height > c->grid.height,
                 err, LC_EINVAL,
                 "lc_collection_read: window x %u..%u, y %u..%u outside the "
                 "grid of %u x %u pixels",
                 req->x0, req->x0 + req->width, req->y0, req->y0 + req->height,
                 c->grid.width, c->grid.height);
    size_t es = lc_dtype_nbytes(c->dtype), need;
    LC_RETURN_IF(es == 0, err, LC_EINVAL,
                 "lc_collection_read: the collection has no dtype");
    LC_RETURN_IF(!lc__size_mul(req->nbands, req->ntimes, &need) ||
                     !lc__size_mul(need, req->width, &need) ||
                     !lc__size_mul(need, req->height, &need) ||
                     !lc__size_mul(need, es, &need),
                 err, LC_ELIMIT, "lc_collection_read: the read is too large");
    LC_RETURN_IF(need > 0 && req->out == NULL, err, LC_EINVAL,
                 "lc_collection_read: out is NULL");
    LC_RETURN_IF(req->out_nbytes < need, err, LC_ENOSPACE,
                 "lc_collection_read: out holds %zu bytes, the read needs %zu",
                 req->out_nbytes, need);
    *need_ret = need;
    return LC_OK;
}

/* Unique values of v[0..n) in first-appearance order, and each entry's
 * index among them. */
static size_t uniq(const size_t *v, size_t n, size_t *u, size_t *map)
{
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < nu && u[j] != v[i])
            j++;
        if (j == nu)
            u[nu++] = v[i];
        map[i] = j;
    }
    return nu;
}

/* The planes of out where step s's unique bands go: those of the first
 * request band and time that name them. Returns that time (its index in
 * the request). */
static size_t step_planes(const struct read_ctx *rc, size_t s, void **planes)
{
    const struct lc_read_request *req = rc->req;
    size_t plane = (size_t)req->width * req->height * rc->es;
    size_t t0 = 0;
    while (rc->time_map[t0] != s)
        t0++;
    /* Going down, the last assignment is the first request band. */
    for (size_t i = req->nbands; i-- > 0;)
        planes[rc->band_map[i]] =
            (char *)req->out + (i * req->ntimes + t0) * plane;
    return t0;
}

/* Writes each step's mosaic into its (band, time) planes of out (where
 * first, highest and lowest already keep their values: see
 * lc_collection_read); the planes of a step no item was fed into get the
 * fill. A band or time step the request lists twice gets a copy. */
static int write_output(struct read_ctx *rc, double fill,
                        struct lc__errbuf *err)
{
    const struct lc_read_request *req = rc->req;
    size_t npx = (size_t)req->width * req->height;
    size_t plane = npx * rc->es;
    char *out = req->out;
    void **planes = lc__malloc_array(rc->alloc, rc->nub, sizeof *planes);
    if (planes == NULL)
        return lc__error(err, LC_ENOMEM, "out of memory");
    int status = LC_OK;
    for (size_t s = 0; s < rc->nus && status == LC_OK; s++) {
        const struct step_state *st = &rc->steps[s];
        size_t t0 = step_planes(rc, s, planes);
        if (st->m != NULL && lc__mosaic_nfed(st->m) > 0)
            status =
                lc__mosaic_get_planes(st->m, rc->c->dtype, fill, planes, err);
        else
            for (size_t j = 0; j < rc->nub; j++)
                fill_values(planes[j], rc->c->dtype, fill, npx);
        for (size_t i = 0; i < req->nbands && status == LC_OK; i++) {
            for (size_t t = t0; t < req->ntimes; t++) {
                char *dst = out + (i * req->ntimes + t) * plane;
                if (rc->time_map[t] == s && dst != planes[rc->band_map[i]])
                    memcpy(dst, planes[rc->band_map[i]], plane);
            }
        }
    }
    lc__free(rc->alloc, planes);
    return status;
}

static void read_ctx_free(struct read_ctx *rc)
{
    const struct lc_allocator *a = rc->alloc;
    pool_release(rc->reserved);
    for (size_t i = 0; i < rc->nitems * rc->nub; i++)
        task_free_buffers(rc, &rc->tasks[i]);
    for (size_t i = 0; i < rc->nitems; i++)
        lc__free(a, rc->items[i].offsets);
    /* steps may be NULL: its allocation failed after nus was set. */
    for (size_t s = 0; rc->steps != NULL && s < rc->nus; s++)
        lc__mosaic_free(rc->steps[s].m);
    lc__free(a, rc->tasks);
    lc__free(a, rc->items);
    lc__free(a, rc->steps);
    lc__free(a, rc->time_map);
    lc__free(a, rc->band_map);
    lc__free(a, rc->ub);
}

static bool href_is_remote(const char *href)
{
    return href != NULL && strstr(href, "://") != NULL &&
           strncmp(href, "file://", 7) != 0;
}

/* How many band tasks the read keeps in the pool, and how many items it
 * has in flight. */
static void choose_limits(struct read_ctx *rc)
{
    const struct lc_collection *c = rc->c;
    size_t nthreads = c->nthreads > 0 ? c->nthreads : cpu_count();
    size_t max_reads =
        c->max_concurrent_reads > 0 ? c->max_concurrent_reads : 32;
    /* Memory bounds it too: item_nbytes, in dispatch. */
    rc->max_inflight = max_reads;

    bool remote = false;
    const struct lc__stac_items *items = c->items;
    for (size_t i = 0; i < rc->nitems && i < 8 && !remote; i++)
        remote =
            href_is_remote(items
                               ->assets[rc->items[i].index * items->nassets +
                                        c->band_asset[rc->ub[0]]]
                               .href);
    size_t slots = nthreads;
    if (remote) {
        /* The I/O thread starts before the tasks and the output's mapping
         * compete for the cores: started by the first request, it waited
         * 0.2 to 9.6 ms for a core in W6 before its first transfer. */
        lc__io_start_network();
        /* Workers mostly wait on the network: more of them overlap more
         * fetches (the cap of the read still holds). */
        size_t want = rc->max_inflight * rc->nub, ntasks = rc->nitems * rc->nub;
        if (want > ntasks)
            want = ntasks;
        if (want > READ_REMOTE_SLOTS)
            want = READ_REMOTE_SLOTS;
        if (slots < want)
            slots = want;
        rc->gate.places = nthreads;
    }
    /* The prewarm jobs take threads of their own while the tasks run.
     * Remote reads keep every pool thread busy with their tasks, most
     * waiting on the network: nthreads more run the tasks' helpers. */
    rc->reserved = slots + rc->nprewarm;
    size_t have = pool_reserve(rc->reserved, remote ? nthreads : 0);
    rc->slots = have < slots ? have : slots;
}

static int read_collection(struct lc_collection *c,
                           const struct lc_read_request *req,
                           struct lc_read_stats *stats_ret)
{
    struct lc__errbuf err = {0};
    struct read_ctx rc = {0};
    double t0 = lc__now_seconds();
    int status;
    size_t need = 0;

    if (c == NULL || req == NULL)
        return lc__publish(NULL, LC_EINVAL);
    if (stats_ret != NULL) {
        if (stats_ret->struct_size != sizeof *stats_ret) {
            status = lc__error(&err, LC_EINVAL,
                               "lc_collection_read: stats struct_size %zu, "
                               "expected %zu",
                               stats_ret->struct_size, sizeof *stats_ret);
            return lc__publish(&err, status);
        }
        memset(stats_ret, 0, sizeof *stats_ret);
        stats_ret->struct_size = sizeof *stats_ret;
    }
    if ((status = check_request(c, req, &need, &err)) < 0)
        return lc__publish(&err, status);

    double fill = c->has_nodata ? c->nodata : 0.0;
    bool written = false; /* out holds the result (write_output) */
    if (need == 0)
        goto stats;
    /* Before the read itself: a readahead it starts runs alongside. */
    lc__readahead_note(c, req);

    rc.c = c;
    rc.req = req;
    rc.out_nbytes = need;
    rc.alloc = &c->alloc;
    rc.first = c->method == LC_MOSAIC_FIRST;
    rc.fill = fill;
    rc.es = lc_dtype_nbytes(c->dtype);
    rc.stop_pos = SIZE_MAX;
    rc.ub = lc__malloc_array(rc.alloc, req->nbands, sizeof *rc.ub);
    rc.band_map = lc__malloc_array(rc.alloc, req->nbands, sizeof *rc.band_map);
    size_t *tu = lc__malloc_array(rc.alloc, req->ntimes, sizeof *tu);
    rc.time_map = lc__malloc_array(rc.alloc, req->ntimes, sizeof *rc.time_map);
    if (rc.ub == NULL || rc.band_map == NULL || tu == NULL ||
        rc.time_map == NULL) {
        lc__free(rc.alloc, tu);
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto out;
    }
    rc.nub = uniq(req->bands, req->nbands, rc.ub, rc.band_map);
    rc.nus = uniq(req->times, req->ntimes, tu, rc.time_map);
    rc.steps = lc__calloc(rc.alloc, rc.nus, sizeof *rc.steps);
    if (rc.steps == NULL) {
        lc__free(rc.alloc, tu);
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t s = 0; s < rc.nus; s++)
        rc.steps[s].t = tu[s];
    lc__free(rc.alloc, tu);

    status = lc__grid_window(&c->grid, req->x0, req->y0, req->width,
                             req->height, &rc.win, &err);
    if (status < 0)
        goto out;
    double match_t0 = lc__now_seconds();
    status = match_items(&rc, &err);
    rc.st.match_seconds = lc__now_seconds() - match_t0;
    if (status < 0)
        goto out;
    if (rc.nitems == 0)
        goto out;

    /* first, highest and lowest keep their values (of the output dtype)
     * in out itself: no buffer of their own, no copy at the end. */
    bool in_place = c->method == LC_MOSAIC_FIRST ||
                    c->method == LC_MOSAIC_HIGHEST ||
                    c->method == LC_MOSAIC_LOWEST;
    void **planes = NULL;
    if (in_place &&
        (planes = lc__malloc_array(rc.alloc, rc.nub, sizeof *planes)) == NULL) {
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto out;
    }
    struct lc__mosaic_options mo = {.method = c->method,
                                    .dtype = c->dtype,
                                    .nbands = rc.nub,
                                    .width = req->width,
                                    .height = req->height,
                                    .allocator = c->alloc,
                                    .value_planes = planes};
    for (size_t s = 0; s < rc.nus && status == LC_OK; s++) {
        if (rc.steps[s].count == 0)
            continue;
        if (in_place)
            (void)step_planes(&rc, s, planes);
        status = lc__mosaic_new(&mo, &rc.steps[s].m, &err);
    }
    lc__free(rc.alloc, planes);
    if (status < 0)
        goto out;

    list_prewarm(&rc);
    choose_limits(&rc);
    if (rc.slots == 0) {
        status = lc__error(&err, LC_ENOMEM,
                           "lc_collection_read: no worker thread could be "
                           "started");
        goto out;
    }
    if (pthread_mutex_init(&rc.mu, NULL) != 0) {
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto out;
    }
    if (pthread_cond_init(&rc.cv, NULL) != 0) {
        pthread_mutex_destroy(&rc.mu);
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto out;
    }
    if (pthread_cond_init(&rc.strip_cv, NULL) != 0) {
        pthread_cond_destroy(&rc.cv);
        pthread_mutex_destroy(&rc.mu);
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto out;
    }
    status = run_items(&rc, &err);
    pthread_cond_destroy(&rc.strip_cv);
    pthread_cond_destroy(&rc.cv);
    pthread_mutex_destroy(&rc.mu);
    if (status == LC_OK) {
        double write_t0 = lc__now_seconds();
        status = write_output(&rc, fill, &err);
        written = status == LC_OK;
        rc.st.mosaic_seconds += lc__now_seconds() - write_t0;
    }

out:
    /* No item, or a failure: out holds only the fill, never a part. */
    if (!written)
        fill_values(req->out, c->dtype, fill, need / lc_dtype_nbytes(c->dtype));
    if (rc.stop_pos != SIZE_MAX && rc.fail_item[0]) {
        lc__copy_str(rc.st.failed_item, sizeof rc.st.failed_item, rc.fail_item);
        lc__copy_str(rc.st.failed_bands, sizeof rc.st.failed_bands,
                     rc.fail_bands);
        rc.st.contract_violation = rc.fail_contract;
    }
    read_ctx_free(&rc);
stats:
    if (stats_ret != NULL) {
        rc.st.struct_size = sizeof rc.st;
        rc.st.seconds = lc__now_seconds() - t0;
        *stats_ret = rc.st;
    }
    /* Messages name hrefs, which may carry signatures or passwords. */
    lc__redact_urls(err.msg, sizeof err.msg);
    return lc__publish(&err, status);
}

/* Large blocks freed while reads run are kept for their later allocations
 * (spare blocks, alloc.h): W4's CPU 0.70 -> 0.63 s, W7's 0.52 -> 0.44 s in
 * an interleaved A/B. */
int lc_collection_read(struct lc_collection *c,
                       const struct lc_read_request *req,
                       struct lc_read_stats *stats_ret)
{
    lc__spares_hold();
    int status = read_collection(c, req, stats_ret);
    lc__spares_release();
    return status;
}
