/* readahead.c - the next steps of a time series, read before they are asked
 * for. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "collection.h"
#include "select.h"

/*
 * A point time series chunked by time (the seed's `.chunk(time=1)`) comes
 * to the engine as one small read per step, as many at once as dask has
 * threads: on two cores, two steps in flight, each two round trips (the
 * headers, then the tiles), so three steps with data take two waves. When
 * a read of one step names the same bands and window as the collection's
 * previous one-step read but another step, the series is taken to go on in
 * that direction: a thread of its own reads the same window at the next
 * READAHEAD_STEPS steps that have items meeting it (those of them no read
 * has asked for yet), and throws the pixels away. What stays is what the reads
 * of those steps then need: the COG headers (header cache) and the
 * compressed tiles (block cache). A read that arrives while they are still
 * on their way waits for them there instead of fetching them again (both
 * caches hand out in-flight entries).
 *
 * Only windows of at most READAHEAD_MAX_PIXELS: the guess costs the
 * requests of READAHEAD_STEPS steps when the series ends, not a large
 * read. The steps read ahead
 * and the steps read are marked (issued[]), so none is read ahead twice;
 * a read of another window or bands starts a new series. Readahead never
 * fails a read: its errors are dropped (the read of that step meets them
 * again and reports them). lc_collection_close cancels the readahead reads
 * of the collection and waits for them.
 *
 * One mutex for every collection's readahead state (held only for a few
 * assignments, never around a read, a lock of another module or a thread
 * start): fork() takes it (atfork), and a child, which has none of the
 * parent's threads, forgets the parent's running reads (pid).
 */

/* Steps read ahead per read that continues a series. */
#define READAHEAD_STEPS 2
/* Windows larger than this many pixels are not read ahead. */
#define READAHEAD_MAX_PIXELS 65536u
/* Steps looked at, past the one read, for READAHEAD_STEPS with items. */
#define READAHEAD_SCAN 64

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER; /* a job ended */
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_mu);
}
static void atfork_parent(void)
{
    pthread_mutex_unlock(&g_mu);
}
static void atfork_child(void)
{
    pthread_mutex_unlock(&g_mu);
    pthread_cond_init(&g_done, NULL);
}
static void atfork_register(void)
{
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

struct job {
    struct lc_collection *c;
    size_t bands[LC__READAHEAD_MAX_BANDS];
    size_t nbands;
    uint32_t x0, y0, width, height;
    size_t from;   /* the step read; the series goes on past it */
    int dir;       /* +1 or -1 */
    size_t series; /* ra->series when it was read */
};

static bool issued(const struct lc__readahead *ra, size_t t)
{
    return (ra->issued[t / 8] >> (t % 8)) & 1u;
}

static void mark(struct lc__readahead *ra, size_t t)
{
    ra->issued[t / 8] |= (uint8_t)(1u << (t % 8));
}

/* The collection's state, as this process sees it (g_mu held): a forked
 * child forgets its parent's running jobs and series. */
static struct lc__readahead *state(struct lc_collection *c)
{
    struct lc__readahead *ra = &c->readahead;
    pid_t pid = getpid();
    if (ra->pid != pid) {
        ra->pid = pid;
        ra->running = 0;
        ra->has_series = false;
    }
    return ra;
}

/* The READAHEAD_STEPS steps with items meeting the window that come next
 * past j->from in j->dir: of them, those no read has asked for yet, into
 * steps (marked). So the readahead keeps that many steps ahead of the
 * reads, and a series that ends has that many fetched in vain, no more. */
static size_t choose_steps(struct job *j, size_t *steps)
{
    struct lc_collection *c = j->c;
    size_t cand[READAHEAD_SCAN], n = 0;
    for (size_t t = j->from; n < READAHEAD_SCAN;) {
        if (j->dir > 0 ? t + 1 >= c->ntimes : t == 0)
            break;
        t = j->dir > 0 ? t + 1 : t - 1;
        if (c->steps[t].count > 0)
            cand[n++] = t;
    }
    if (n == 0)
        return 0;

    struct lc__grid win;
    struct lc__selection sel = {0};
    struct lc__errbuf err = {0};
    size_t k = 0;
    if (lc__grid_window(&c->grid, j->x0, j->y0, j->width, j->height, &win,
                        &err) < 0 ||
        lc__select_items(c, &win, cand, n, &c->alloc, &sel, &err) < 0) {
        lc__selection_free(&c->alloc, &sel);
        return 0;
    }
    pthread_mutex_lock(&g_mu);
    struct lc__readahead *ra = state(c);
    /* (A read of another window or bands began another series.) */
    for (size_t i = 0, ahead = 0;
         ra->series == j->series && i < n && ahead < READAHEAD_STEPS; i++) {
        if (sel.nper[i] == 0)
            continue;
        ahead++;
        if (!issued(ra, cand[i])) {
            mark(ra, cand[i]);
            steps[k++] = cand[i];
        }
    }
    pthread_mutex_unlock(&g_mu);
    lc__selection_free(&c->alloc, &sel);
    return k;
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct lc_collection *c = j->c;
    size_t steps[READAHEAD_STEPS];
    size_t k = __atomic_load_n(&c->readahead.cancel, __ATOMIC_ACQUIRE)
                   ? 0
                   : choose_steps(j, steps);
    size_t es = lc_dtype_nbytes(c->dtype), nbytes = 0;
    void *out = NULL;
    if (k > 0 &&
        lc__size_mul((size_t)j->width * j->height, j->nbands * k * es,
                     &nbytes) &&
        (out = lc__malloc(&c->alloc, nbytes)) != NULL) {
        struct lc_read_request req = {
            .struct_size = sizeof req,
            .bands = j->bands,
            .nbands = j->nbands,
            .times = steps,
            .ntimes = k,
            .x0 = j->x0,
            .y0 = j->y0,
            .width = j->width,
            .height = j->height,
            .out = out,
            .out_nbytes = nbytes,
            .cancel = &c->readahead.cancel,
        };
        (void)lc_collection_read(c, &req, NULL);
    }
    lc__free(&c->alloc, out);
    lc__free(NULL, j);
    pthread_mutex_lock(&g_mu);
    struct lc__readahead *ra = state(c);
    if (ra->running > 0)
        ra->running--;
    pthread_cond_broadcast(&g_done);
    /* c may be closed as soon as the lock is released. */
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

/* Starts a job's thread (detached, no signals); false when it cannot. */
static bool start(struct job *j)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    bool ok = pthread_create(&th, &attr, job_main, j) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return ok;
}

/* Does the one-step read req continue the series (same bands and window,
 * another step)? Records it either way (g_mu held). Returns the direction
 * the series goes (+1 or -1), or 0. */
static int continues(struct lc__readahead *ra, size_t ntimes,
                     const struct lc_read_request *req)
{
    size_t t = req->times[0];
    bool same =
        ra->has_series && ra->x0 == req->x0 && ra->y0 == req->y0 &&
        ra->width == req->width && ra->height == req->height &&
        ra->nbands == req->nbands &&
        memcmp(ra->bands, req->bands, req->nbands * sizeof *req->bands) == 0;
    int dir = same && t != ra->last_step ? (t > ra->last_step ? 1 : -1) : 0;
    if (!same) {
        ra->has_series = true;
        ra->x0 = req->x0;
        ra->y0 = req->y0;
        ra->width = req->width;
        ra->height = req->height;
        ra->nbands = req->nbands;
        memcpy(ra->bands, req->bands, req->nbands * sizeof *req->bands);
        memset(ra->issued, 0, (ntimes + 7) / 8);
        ra->series++;
    }
    ra->last_step = t;
    mark(ra, t);
    return dir;
}

void lc__readahead_note(struct lc_collection *c,
                        const struct lc_read_request *req)
{
    struct lc__readahead *ra = &c->readahead;
    /* (req passed check_request.) A readahead's own read, or no series. */
    if (!ra->on || ra->issued == NULL || req->cancel == &ra->cancel ||
        req->ntimes != 1 || req->nbands == 0 ||
        req->nbands > LC__READAHEAD_MAX_BANDS ||
        (uint64_t)req->width * req->height > READAHEAD_MAX_PIXELS)
        return;
    pthread_mutex_lock(&g_mu);
    ra = state(c);
    int dir = __atomic_load_n(&ra->cancel, __ATOMIC_RELAXED)
                  ? 0
                  : continues(ra, c->ntimes, req);
    size_t series = ra->series;
    if (dir != 0)
        ra->running++;
    pthread_mutex_unlock(&g_mu);
    if (dir == 0)
        return;

    struct job *j = lc__calloc(NULL, 1, sizeof *j);
    if (j != NULL) {
        *j = (struct job){.c = c,
                          .nbands = req->nbands,
                          .x0 = req->x0,
                          .y0 = req->y0,
                          .width = req->width,
                          .height = req->height,
                          .from = req->times[0],
                          .dir = dir,
                          .series = series};
        memcpy(j->bands, req->bands, req->nbands * sizeof *req->bands);
        if (start(j))
            return;
        lc__free(NULL, j);
    }
    pthread_mutex_lock(&g_mu);
    ra = state(c);
    if (ra->running > 0)
        ra->running--;
    pthread_mutex_unlock(&g_mu);
}

int lc__readahead_init(struct lc_collection *c, bool on)
{
    struct lc__readahead *ra = &c->readahead;
    (void)pthread_once(&g_atfork_once, atfork_register);
    ra->on = on && c->ntimes > 1;
    ra->pid = getpid();
    if (!ra->on)
        return LC_OK;
    ra->issued = lc__calloc(&c->alloc, (c->ntimes + 7) / 8, 1);
    return ra->issued != NULL ? LC_OK : LC_ENOMEM;
}

void lc__readahead_stop(struct lc_collection *c)
{
    struct lc__readahead *ra = &c->readahead;
    if (ra->issued != NULL) {
        pthread_mutex_lock(&g_mu);
        ra = state(c);
        __atomic_store_n(&ra->cancel, 1, __ATOMIC_RELEASE);
        while (ra->running > 0)
            pthread_cond_wait(&g_done, &g_mu);
        pthread_mutex_unlock(&g_mu);
    }
    lc__free(&c->alloc, ra->issued);
    ra->issued = NULL;
}
