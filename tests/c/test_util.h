/* test_util.h - typed assertion macros for the C tests (print both sides). */
/* SPDX-License-Identifier: MIT */
#ifndef LC_TEST_UTIL_H
#define LC_TEST_UTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each failing check prints where and what, counts, and the test goes on;
 * LC_TEST_END() turns the count into the exit status CTest reads. */
static int lc_test_failures;

#define LC_CHECK_FAIL_(...)                                                    \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        lc_test_failures++;                                                    \
    } while (0)

#define LC_ASSERT_TRUE(cond)                                                   \
    do {                                                                       \
        if (!(cond))                                                           \
            LC_CHECK_FAIL_("expected true: %s", #cond);                        \
    } while (0)

#define LC_ASSERT_EQ(a, b)                                                     \
    do {                                                                       \
        intmax_t lc_a_ = (intmax_t)(a);                                        \
        intmax_t lc_b_ = (intmax_t)(b);                                        \
        if (lc_a_ != lc_b_)                                                    \
            LC_CHECK_FAIL_("%s == %s: %jd != %jd", #a, #b, lc_a_, lc_b_);      \
    } while (0)

#define LC_ASSERT_UEQ(a, b)                                                    \
    do {                                                                       \
        uintmax_t lc_a_ = (uintmax_t)(a);                                      \
        uintmax_t lc_b_ = (uintmax_t)(b);                                      \
        if (lc_a_ != lc_b_)                                                    \
            LC_CHECK_FAIL_("%s == %s: %ju != %ju", #a, #b, lc_a_, lc_b_);      \
    } while (0)

#define LC_ASSERT_STR_EQ(a, b)                                                 \
    do {                                                                       \
        const char *lc_a_ = (a);                                               \
        const char *lc_b_ = (b);                                               \
        if (lc_a_ == NULL || lc_b_ == NULL || strcmp(lc_a_, lc_b_) != 0)       \
            LC_CHECK_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,               \
                           lc_a_ ? lc_a_ : "(null)",                           \
                           lc_b_ ? lc_b_ : "(null)");                          \
    } while (0)

#define LC_ASSERT_MEM_EQ(a, b, nbytes)                                         \
    do {                                                                       \
        if (memcmp((a), (b), (nbytes)) != 0)                                   \
            LC_CHECK_FAIL_("%s and %s differ in their first %zu bytes", #a,    \
                           #b, (size_t)(nbytes));                              \
    } while (0)

#define LC_TEST_END()                                                          \
    do {                                                                       \
        if (lc_test_failures != 0) {                                           \
            fprintf(stderr, "%d check(s) failed\n", lc_test_failures);         \
            return EXIT_FAILURE;                                               \
        }                                                                      \
        return EXIT_SUCCESS;                                                   \
    } while (0)

/*
 * An allocator that fails its fail_at-th allocation (0-based) and counts
 * the blocks alive, for the allocation-failure loops: for N = 0, 1, 2...
 * run an operation with fail_at = N; it must succeed or fail with
 * LC_ENOMEM, and leave live at 0 once its results are freed.
 *
 *     struct lc_test_failing f = {.fail_at = n};
 *     struct lc_allocator a = {lc_test_failing_alloc, lc_test_failing_free,
 *                              &f};
 */
struct lc_test_failing {
    size_t fail_at;
    size_t nallocs;
    size_t live;
};

/* Allocators are called from any thread (open() loads the catalogue on
 * one while it searches for an operation on another): the counts are
 * atomic. Which allocation is the fail_at-th then depends on timing. */
static inline void *lc_test_failing_alloc(void *opaque, size_t nbytes)
{
    struct lc_test_failing *f = opaque;
    if (__atomic_fetch_add(&f->nallocs, 1, __ATOMIC_RELAXED) == f->fail_at)
        return NULL;
    void *p = malloc(nbytes);
    if (p != NULL)
        __atomic_fetch_add(&f->live, 1, __ATOMIC_RELAXED);
    return p;
}

static inline void lc_test_failing_free(void *opaque, void *ptr)
{
    struct lc_test_failing *f = opaque;
    if (ptr != NULL)
        __atomic_fetch_sub(&f->live, 1, __ATOMIC_RELAXED);
    free(ptr);
}

#endif /* LC_TEST_UTIL_H */
