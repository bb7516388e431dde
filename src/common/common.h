/* common.h - base header of liblazycogs, included first by every source file.
 */
/* SPDX-License-Identifier: MIT */
#ifndef LC_COMMON_H
#define LC_COMMON_H

/*
 * The feature-test macro must be seen before any system header, and the
 * public header includes system headers; so this file comes first in every
 * source file, and including lazycogs.h before it is an error.
 */
#ifdef LAZYCOGS_H
#error "src/common/common.h must be included before lazycogs.h"
#endif
#define _POSIX_C_SOURCE 200809L
/* Internal code sees the experimental API too. */
#define LC_EXPERIMENTAL 1

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lazycogs.h"

#if defined(__GNUC__) || defined(__clang__)
#define LC_LIKELY(x) __builtin_expect(!!(x), 1)
#define LC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LC_PRINTF_LIKE(fmt_index, first_arg)                                   \
    __attribute__((format(printf, fmt_index, first_arg)))
#else
#define LC_LIKELY(x) (x)
#define LC_UNLIKELY(x) (x)
#define LC_PRINTF_LIKE(fmt_index, first_arg)
#endif

#define LC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LC_STATIC_ASSERT(cond) _Static_assert(cond, #cond)
#define LC_CONTAINER_OF(ptr, type, member)                                     \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/*
 * Assertions check our own logic, never input: bad input always takes an
 * error path. They are on unless NDEBUG is set (Release builds), and always
 * on under a static analyzer so it can use them.
 */
#if !defined(NDEBUG) || defined(__clang_analyzer__)
#define LC_ENABLE_ASSERTIONS 1
#else
#define LC_ENABLE_ASSERTIONS 0
#endif
void lc__assert_fail(const char *expr, const char *file, int line);
#if LC_ENABLE_ASSERTIONS
#define LC_ASSERT(expr)                                                        \
    ((expr) ? (void)0 : lc__assert_fail(#expr, __FILE__, __LINE__))
#else
#define LC_ASSERT(expr) ((void)0)
#endif

/*
 * Unaligned little- and big-endian loads. TIFF files come in both byte
 * orders and parsers read from arbitrary offsets, so a uint8_t pointer is
 * never cast to a wider type; memcpy compiles to a plain load.
 */
static inline uint16_t lc__load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint16_t lc__load_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t lc__load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint32_t lc__load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline uint64_t lc__load_le64(const uint8_t *p)
{
    return (uint64_t)lc__load_le32(p) | ((uint64_t)lc__load_le32(p + 4) << 32);
}

static inline uint64_t lc__load_be64(const uint8_t *p)
{
    return ((uint64_t)lc__load_be32(p) << 32) | (uint64_t)lc__load_be32(p + 4);
}

/*
 * Overflow-checked size arithmetic. Each returns false (and leaves *ret
 * unspecified) when the exact result does not fit in size_t. Every
 * allocation size computed from untrusted input goes through these.
 */
static inline bool lc__size_mul(size_t a, size_t b, size_t *ret)
{
    return !__builtin_mul_overflow(a, b, ret);
}

static inline bool lc__size_add(size_t a, size_t b, size_t *ret)
{
    return !__builtin_add_overflow(a, b, ret);
}

/* Copies src into dst (cap bytes, cap > 0), cutting it if needed; dst is
 * always NUL-terminated. For fixed fields filled from untrusted text. */
static inline void lc__copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/*
 * True when SIMD kernels must not run: test builds (LC_TEST_HOOKS) read
 * LAZYCOGS_DISABLE_SIMD (set and not "0"), so that CI exercises the
 * portable kernels too; other builds always return false.
 */
bool lc__simd_disabled(void);

/* Seconds on the monotonic clock, for measuring durations. */
static inline double lc__now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds the calling thread has used. */
static inline double lc__thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif /* LC_COMMON_H */
