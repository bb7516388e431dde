/* test_common_internal.c - the internal base layer: loads, sizes, alloc,
 * errors. */
/* SPDX-License-Identifier: MIT */
/* mincore is not POSIX's. */
#define _DEFAULT_SOURCE 1
#include "../../src/common/common.h"

#include "../../src/common/alloc.h"
#include "../../src/common/error.h"
#include "../../src/io/io.h"
#include "test_util.h"

#include <dirent.h>

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

static void test_unaligned_loads(void)
{
    /* An odd offset checks that loads do not assume alignment. */
    const uint8_t bytes[] = {0xff, 0x01, 0x02, 0x03, 0x04,
                             0x05, 0x06, 0x07, 0x08};
    const uint8_t *p = bytes + 1;

    LC_ASSERT_UEQ(lc__load_le16(p), 0x0201u);
    LC_ASSERT_UEQ(lc__load_be16(p), 0x0102u);
    LC_ASSERT_UEQ(lc__load_le32(p), 0x04030201u);
    LC_ASSERT_UEQ(lc__load_be32(p), 0x01020304u);
    LC_ASSERT_UEQ(lc__load_le64(p), 0x0807060504030201ull);
    LC_ASSERT_UEQ(lc__load_be64(p), 0x0102030405060708ull);
}

static void test_size_arithmetic(void)
{
    size_t r = 0;

    LC_ASSERT_TRUE(lc__size_mul(1000, 1000, &r));
    LC_ASSERT_UEQ(r, 1000000u);
    LC_ASSERT_TRUE(!lc__size_mul(SIZE_MAX / 2 + 1, 2, &r));
    LC_ASSERT_TRUE(lc__size_add(SIZE_MAX - 1, 1, &r));
    LC_ASSERT_TRUE(!lc__size_add(SIZE_MAX, 1, &r));
}

/* A counting allocator that fails once its budget of successes is spent. */
struct counting {
    size_t allocs;
    size_t frees;
    size_t budget;
};

static void *counting_alloc(void *opaque, size_t nbytes)
{
    struct counting *c = opaque;

    if (c->allocs == c->budget)
        return NULL;
    c->allocs++;
    return malloc(nbytes);
}

static void counting_free(void *opaque, void *ptr)
{
    struct counting *c = opaque;

    c->frees++;
    free(ptr);
}

static void test_custom_allocator(void)
{
    struct counting c = {.budget = 3};
    struct lc_allocator a = {counting_alloc, counting_free, &c};

    char *p = lc__malloc(&a, 4);
    LC_ASSERT_TRUE(p != NULL);
    memcpy(p, "abc", 4);
    /* realloc through a custom allocator copies the old contents. */
    p = lc__realloc(&a, p, 4, 64);
    LC_ASSERT_TRUE(p != NULL);
    LC_ASSERT_STR_EQ(p, "abc");
    uint32_t *z = lc__calloc(&a, 8, sizeof(uint32_t));
    LC_ASSERT_TRUE(z != NULL);
    for (size_t i = 0; z != NULL && i < 8; i++)
        LC_ASSERT_UEQ(z[i], 0u);
    /* The budget is spent: the next allocation fails cleanly. */
    LC_ASSERT_TRUE(lc__malloc(&a, 1) == NULL);
    /* An overflowing count never reaches the allocator. */
    LC_ASSERT_TRUE(lc__calloc(&a, SIZE_MAX / 2, 4) == NULL);
    LC_ASSERT_TRUE(lc__malloc_array(&a, SIZE_MAX / 2, 4) == NULL);
    lc__free(&a, p);
    lc__free(&a, z);
    lc__free(&a, NULL);
    LC_ASSERT_UEQ(c.allocs, 3u);
    LC_ASSERT_UEQ(c.frees, c.allocs);
}

static void test_default_allocator(void)
{
    /* Zero bytes still gives a freeable, non-NULL block. */
    void *p = lc__malloc(NULL, 0);
    LC_ASSERT_TRUE(p != NULL);
    lc__free(NULL, p);
    LC_ASSERT_TRUE(lc__malloc_array(NULL, SIZE_MAX / 8, 16) == NULL);
}

/* Spare blocks: kept while held, handed out for half their size and more,
 * freed when the last holder lets go; never without a holder, never a
 * custom allocator's, never past the cap. */
static void test_spare_blocks(void)
{
    const size_t mib = (size_t)1 << 20;
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);
    /* Without a holder a freed block is not kept. */
    char *p = lc__malloc(NULL, mib);
    LC_ASSERT_TRUE(p != NULL);
    lc__free(NULL, p);
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);

    lc__spares_hold();
    p = lc__malloc(NULL, mib);
    LC_ASSERT_TRUE(p != NULL);
    memset(p, 7, mib);
    lc__free(NULL, p);
    LC_ASSERT_TRUE(lc__spares_nbytes() >= mib);
    /* Too large a block for a small request, too small for a larger one:
     * both come from malloc. */
    char *small = lc__malloc(NULL, mib / 2 - 4096);
    char *large = lc__malloc(NULL, mib + 4096);
    LC_ASSERT_TRUE(small != NULL && large != NULL);
    LC_ASSERT_TRUE(lc__spares_nbytes() >= mib);
    /* From half its size up, the kept block is handed out again. */
    char *q = lc__malloc(NULL, mib / 2 + 4096);
    LC_ASSERT_TRUE(q == p);
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);
    /* Small blocks and custom allocators' blocks are never kept. */
    char *tiny = lc__malloc(NULL, LC_SPARE_MIN_NBYTES / 2);
    lc__free(NULL, tiny);
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);
    struct counting c = {.budget = 1};
    struct lc_allocator a = {counting_alloc, counting_free, &c};
    char *custom = lc__malloc(&a, mib);
    lc__free(&a, custom);
    LC_ASSERT_UEQ(c.frees, 1u);
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);
    /* A second holder keeps them past the first one's release. */
    lc__spares_hold();
    lc__free(NULL, q);
    lc__free(NULL, small);
    lc__free(NULL, large);
    LC_ASSERT_TRUE(lc__spares_nbytes() >= 2 * mib);
    lc__spares_release();
    LC_ASSERT_TRUE(lc__spares_nbytes() >= 2 * mib);
    /* At most LC_SPARES_MAX_NBYTES are kept (the blocks are never
     * touched: no memory is used for them). */
    size_t nbig = LC_SPARES_MAX_NBYTES / (64 * mib) + 2;
    char *big[16];
    LC_ASSERT_TRUE(nbig <= 16);
    for (size_t i = 0; i < nbig; i++)
        big[i] = lc__malloc(NULL, 64 * mib);
    for (size_t i = 0; i < nbig; i++)
        lc__free(NULL, big[i]);
    LC_ASSERT_TRUE(lc__spares_nbytes() <= LC_SPARES_MAX_NBYTES);
    LC_ASSERT_TRUE(lc__spares_nbytes() >= LC_SPARES_MAX_NBYTES / 2);
    lc__spares_release();
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);
    /* A release without a hold changes nothing. */
    lc__spares_release();
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);
}

static void *spare_churn(void *arg)
{
    (void)arg;
    for (int round = 0; round < 200; round++) {
        lc__spares_hold();
        size_t n = ((size_t)256 << 10) * (size_t)(1 + round % 5);
        unsigned char *a = lc__malloc(NULL, n);
        unsigned char *b = lc__malloc(NULL, n + 4096);
        if (a != NULL && b != NULL) {
            memset(a, round & 0xff, n);
            memset(b, ~round & 0xff, n + 4096);
            if (a[n - 1] != (round & 0xff))
                abort();
        }
        lc__free(NULL, a);
        lc__free(NULL, b);
        lc__spares_release();
    }
    return NULL;
}

/* Threads holding, taking and keeping blocks at once (run under TSan). */
static void test_spare_blocks_threads(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        LC_ASSERT_EQ(pthread_create(&th[i], NULL, spare_churn, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    LC_ASSERT_UEQ(lc__spares_nbytes(), 0u);
}

static int fails_when_negative(struct lc__errbuf *err, int v)
{
    LC_RETURN_IF(v < 0, err, LC_EINVAL, "value %d is negative", v);
    return LC_OK;
}

static int forwards(struct lc__errbuf *err, int v)
{
    LC_FORWARD_IF_ERROR(fails_when_negative(err, v));
    return 1;
}

/* lc__populate maps the whole pages inside the range, no others, and
 * leaves their bytes as they are. */
static void test_populate(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), npages = 16;
    uint8_t *p = mmap(NULL, npages * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    LC_ASSERT_TRUE(p != MAP_FAILED);
    memset(p + 3 * page + 10, 0xab, 100);
    unsigned char resident[16];
    LC_ASSERT_EQ(mincore(p, npages * page, resident), 0);
    for (size_t i = 0; i < npages; i++)
        LC_ASSERT_EQ(resident[i] & 1, i == 3);
    /* From inside page 0 to inside page 15: pages 1 to 14. */
    bool supported = lc__populate(p + 100, npages * page - 200);
    if (supported) {
        LC_ASSERT_EQ(mincore(p, npages * page, resident), 0);
        for (size_t i = 0; i < npages; i++)
            LC_ASSERT_EQ(resident[i] & 1, i >= 1 && i <= 14);
    } else {
        printf("# MADV_POPULATE_WRITE unsupported here: nothing mapped\n");
    }
    for (size_t i = 0; i < npages * page; i++)
        if (p[i] != (i >= 3 * page + 10 && i < 3 * page + 110 ? 0xab : 0))
            LC_ASSERT_TRUE(!"populated bytes changed");
    /* Less than a whole page: nothing to map, no failure. */
    LC_ASSERT_EQ(lc__populate(p + 5 * page + 1, page - 2), supported);
    LC_ASSERT_EQ(munmap(p, npages * page), 0);
}

static void test_error_messages(void)
{
    struct lc__errbuf err;
    char long_name[2 * LC_ERRMSG_CAP];

    lc__error_clear(&err);
    LC_ASSERT_EQ(forwards(&err, 5), 1);
    LC_ASSERT_EQ(err.status, LC_OK);
    LC_ASSERT_EQ(forwards(&err, -3), LC_EINVAL);
    LC_ASSERT_EQ(err.status, LC_EINVAL);
    LC_ASSERT_STR_EQ(err.msg, "value -3 is negative");
    /* An over-long message is cut at the buffer, never overflowed. */
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    LC_ASSERT_EQ(lc__error(&err, LC_ECORRUPT, "%s: bad", long_name),
                 LC_ECORRUPT);
    LC_ASSERT_UEQ(strlen(err.msg), LC_ERRMSG_CAP - 1);
    /* A NULL buffer is allowed and still returns the status. */
    LC_ASSERT_EQ(lc__error(NULL, LC_EIO, "ignored"), LC_EIO);
}

/* Threads of this process (/proc/self/task), or 0 without /proc. */
static size_t count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Starting the network ahead of the first request starts its I/O thread,
 * once (a read of remote items does it before its tasks set out). */
static void test_network_start(void)
{
    size_t before = count_threads();
    if (before == 0) {
        fprintf(stderr, "test_network_start: no /proc/self/task, skipped\n");
        return;
    }
    lc__io_start_network();
    size_t after = count_threads();
    LC_ASSERT_UEQ(after, before + 1);
    lc__io_start_network();
    LC_ASSERT_UEQ(count_threads(), after);
}

int main(void)
{
    test_unaligned_loads();
    test_size_arithmetic();
    test_custom_allocator();
    test_default_allocator();
    test_spare_blocks();
    test_spare_blocks_threads();
    test_populate();
    test_error_messages();
    test_network_start();
    LC_TEST_END();
}
