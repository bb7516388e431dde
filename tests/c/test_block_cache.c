/* test_block_cache.c - the block cache's claims: a block one read is
 * fetching is waited for by the others, which get its bytes when the read
 * fulfils the claim and fetch it themselves when it abandons it, when the
 * handle is forgotten or in a forked child. */
/* SPDX-License-Identifier: MIT */
#include "../../src/tiff/tiff.h"
#include "../../src/tiff/tiff_internal.h"
#include "test_util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NBYTES 1000

static uint8_t *block_of(uint8_t value)
{
    uint8_t *p = malloc(NBYTES);
    if (p != NULL)
        memset(p, value, NBYTES);
    return p;
}

/* A read waiting for block (id, offset) in a thread of its own. */
struct waiter {
    pthread_t thread;
    uint64_t id, offset;
    bool got;
    uint8_t data[NBYTES];
};

static void *wait_main(void *arg)
{
    struct waiter *w = arg;
    w->got = lc__block_cache_wait(w->id, w->offset, NBYTES, w->data);
    return NULL;
}

static void start_waiter(struct waiter *w, uint64_t id, uint64_t offset)
{
    *w = (struct waiter){.id = id, .offset = offset};
    if (pthread_create(&w->thread, NULL, wait_main, w) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
    /* Let it reach the wait; the result does not depend on it. */
    nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
}

static const struct lc_allocator plain = {0};

static void test_claim_then_fulfil(void)
{
    uint64_t id = lc__block_cache_new_id();
    uint8_t buf[NBYTES];
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 5000, NBYTES, buf),
                 LC__BLOCK_CLAIMED);
    /* Claimed, not kept: a cost estimate still counts it, a second read
     * is told to wait. */
    LC_ASSERT_TRUE(!lc__block_cache_get(id, 5000, NBYTES, NULL));
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 5000, NBYTES, buf),
                 LC__BLOCK_PENDING);
    /* Another size at the same offset is another block. */
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 5000, NBYTES - 1, buf),
                 LC__BLOCK_CLAIMED);
    lc__block_cache_abandon(id, 5000, NBYTES - 1);

    struct waiter w[3];
    for (int i = 0; i < 3; i++)
        start_waiter(&w[i], id, 5000);
    uint8_t *data = block_of(7);
    LC_ASSERT_TRUE(lc__block_cache_fulfil(id, 5000, data, NBYTES));
    uint8_t want[NBYTES];
    memset(want, 7, NBYTES);
    for (int i = 0; i < 3; i++) {
        pthread_join(w[i].thread, NULL);
        LC_ASSERT_TRUE(w[i].got);
        LC_ASSERT_MEM_EQ(w[i].data, want, NBYTES);
    }
    /* Kept now: copied, and fulfilling it again is refused. */
    memset(buf, 0, NBYTES);
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 5000, NBYTES, buf),
                 LC__BLOCK_COPIED);
    LC_ASSERT_MEM_EQ(buf, want, NBYTES);
    uint8_t *again = block_of(8);
    LC_ASSERT_TRUE(!lc__block_cache_fulfil(id, 5000, again, NBYTES));
    free(again);
    size_t nblocks, nbytes;
    lc__block_cache_stats(&nblocks, &nbytes);
    LC_ASSERT_TRUE(nblocks >= 1 && nbytes >= NBYTES);
    lc__block_cache_forget(id);
}

static void test_abandon_wakes_waiters(void)
{
    uint64_t id = lc__block_cache_new_id();
    uint8_t buf[NBYTES];
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 9000, NBYTES, buf),
                 LC__BLOCK_CLAIMED);
    struct waiter w[2];
    for (int i = 0; i < 2; i++)
        start_waiter(&w[i], id, 9000);
    lc__block_cache_abandon(id, 9000, NBYTES);
    for (int i = 0; i < 2; i++) {
        pthread_join(w[i].thread, NULL);
        LC_ASSERT_TRUE(!w[i].got); /* they fetch it themselves */
    }
    /* Gone: the next read claims it anew. */
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 9000, NBYTES, buf),
                 LC__BLOCK_CLAIMED);
    /* Abandoning what is not claimed changes nothing. */
    lc__block_cache_abandon(id, 9001, NBYTES);
    lc__block_cache_abandon(id, 9000, NBYTES);
    lc__block_cache_abandon(id, 9000, NBYTES);
}

static void test_forget_wakes_waiters(void)
{
    uint64_t id = lc__block_cache_new_id();
    uint8_t buf[NBYTES];
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 100000, NBYTES, buf),
                 LC__BLOCK_CLAIMED);
    struct waiter w;
    start_waiter(&w, id, 100000);
    lc__block_cache_forget(id);
    pthread_join(w.thread, NULL);
    LC_ASSERT_TRUE(!w.got);
    /* The claiming read fulfils it late: refused, the data stays its. */
    uint8_t *data = block_of(1);
    LC_ASSERT_TRUE(!lc__block_cache_fulfil(id, 100000, data, NBYTES));
    free(data);
}

static void test_budget_bounds_claims(void)
{
    uint64_t id = lc__block_cache_new_id();
    uint8_t buf[NBYTES];
    /* Nothing kept, nothing claimed: every read fetches for itself. */
    size_t budget = lc__block_cache_set_budget(0);
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 0, NBYTES, buf),
                 LC__BLOCK_MISS);
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 0, NBYTES, buf),
                 LC__BLOCK_MISS);
    /* A block over an eighth of the budget is not claimed either. */
    lc__block_cache_set_budget(8 * NBYTES - 8);
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 0, NBYTES, buf),
                 LC__BLOCK_MISS);
    lc__block_cache_set_budget(8 * NBYTES);
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 0, NBYTES, buf),
                 LC__BLOCK_CLAIMED);
    lc__block_cache_abandon(id, 0, NBYTES);
    lc__block_cache_set_budget(budget);
}

/* A claim made before fork() belongs to a thread the child does not have:
 * the child's reads must not wait for it. Kept blocks stay. */
static void test_fork_drops_claims(void)
{
    uint64_t id = lc__block_cache_new_id();
    uint8_t buf[NBYTES];
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 1 << 20, NBYTES, buf),
                 LC__BLOCK_CLAIMED);
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 2 << 20, NBYTES, buf),
                 LC__BLOCK_CLAIMED);
    uint8_t *data = block_of(3);
    LC_ASSERT_TRUE(lc__block_cache_fulfil(id, 2 << 20, data, NBYTES));
    pid_t pid = fork();
    if (pid == 0) {
        bool ok = !lc__block_cache_wait(id, 1 << 20, NBYTES, buf) &&
                  lc__block_cache_claim(&plain, id, 1 << 20, NBYTES, buf) ==
                      LC__BLOCK_CLAIMED &&
                  lc__block_cache_wait(id, 2 << 20, NBYTES, buf) && buf[0] == 3;
        _exit(ok ? 0 : 1);
    }
    int wstatus = 0;
    LC_ASSERT_TRUE(pid > 0 && waitpid(pid, &wstatus, 0) == pid);
    LC_ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    /* The parent's claim is still there. */
    LC_ASSERT_EQ(lc__block_cache_claim(&plain, id, 1 << 20, NBYTES, buf),
                 LC__BLOCK_PENDING);
    lc__block_cache_abandon(id, 1 << 20, NBYTES);
    lc__block_cache_forget(id);
}

int main(void)
{
    test_claim_then_fulfil();
    test_abandon_wakes_waiters();
    test_forget_wakes_waiters();
    test_budget_bounds_claims();
    test_fork_drops_claims();
    LC_TEST_END();
}
