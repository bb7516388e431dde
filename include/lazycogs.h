/* lazycogs.h - public C API of liblazycogs. */
/* SPDX-License-Identifier: MIT */

/*
 * liblazycogs reads windows of a virtual (band, time, y, x) array assembled
 * from many Cloud-Optimized GeoTIFFs listed in a stac-geoparquet file,
 * fetching only the bytes each window needs.
 *
 * Conventions that hold for every function in this header:
 *
 *   - Every function that can fail returns an int status: 0 (LC_OK) on
 *     success, a negative LC_E* code on failure. Results come back through
 *     out-parameters named *_ret. lc_strerror() and lc_err_name() describe
 *     a status.
 *   - Every object is an opaque handle created by an lc_*_open / _new call
 *     and destroyed by the matching _close / _free call; destroying NULL does
 *     nothing. A handle is never safe for concurrent use from several
 *     threads, but separate handles may be used in separate threads.
 *   - A callback is never called if the call that registered it returned an
 *     error.
 *   - The library never writes to stdout.
 *
 * ABI policy: before 1.0 every minor version may change the ABI; from 1.0 on,
 * the same major version means ABI-compatible. The version is defined here
 * once; CMake and the Python packaging read it from this file.
 */
#ifndef LAZYCOGS_H
#define LAZYCOGS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LC_VERSION_MAJOR 0
#define LC_VERSION_MINOR 1
#define LC_VERSION_PATCH 0
#define LC_VERSION_NUMBER                                                      \
    ((LC_VERSION_MAJOR * 10000) + (LC_VERSION_MINOR * 100) + LC_VERSION_PATCH)

/* Every exported symbol is marked with LC_API; all others are hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define LC_API __attribute__((visibility("default")))
#else
#define LC_API
#endif

/*
 * The error table: X(name, value, description). Values are pinned and never
 * reused. Each code is one category of failure, chosen by what the caller
 * does next (fix the call, free memory, retry, give up on the file...).
 */
#define LC_ERRNO_MAP(X)                                                        \
    X(INVAL, -1, "invalid argument")                                           \
    X(NOMEM, -2, "out of memory")                                              \
    X(IO, -3, "I/O or network error")                                          \
    X(HTTP, -4, "HTTP error status")                                           \
    X(CORRUPT, -5, "corrupt or malformed data")                                \
    X(UNSUPPORTED, -6, "unsupported feature")                                  \
    X(NOSPACE, -7, "output buffer too small")                                  \
    X(LIMIT, -8, "resource limit exceeded")                                    \
    X(CANCELLED, -9, "operation cancelled")                                    \
    X(NOTFOUND, -10, "not found")

/* Status codes. LC_OK is success; every error is negative. */
enum lc_status {
    LC_OK = 0,
#define LC_ERRNO_ENUM(name, value, text) LC_E##name = (value),
    LC_ERRNO_MAP(LC_ERRNO_ENUM)
#undef LC_ERRNO_ENUM
};

/*
 * Returns LC_VERSION_NUMBER of the library actually linked, which may differ
 * from the header a caller was compiled with when the library is shared.
 * Thread-safe.
 */
LC_API unsigned lc_version(void);

/*
 * Returns the version as a static string "MAJOR.MINOR.PATCH". The string is
 * owned by the library and valid for the life of the process. Thread-safe.
 */
LC_API const char *lc_version_string(void);

/*
 * Returns a static, human-readable description of a status code, e.g.
 * "corrupt or malformed data" for LC_ECORRUPT, "success" for LC_OK and
 * "unknown error" for any value not in the table. Never returns NULL.
 * Thread-safe.
 */
LC_API const char *lc_strerror(int status);

/*
 * Returns the static name of a status code, e.g. "LC_ECORRUPT", "LC_OK", or
 * "LC_EUNKNOWN" for any value not in the table. Never returns NULL.
 * Thread-safe.
 */
LC_API const char *lc_err_name(int status);

/*
 * Custom memory allocation for one object, given in that object's options.
 * alloc(opaque, nbytes) returns NULL on failure; free(opaque, ptr) accepts
 * NULL. Both must be callable from any thread without locks held by the
 * caller (the Python module passes PyMem_RawMalloc/PyMem_RawFree). An
 * all-NULL allocator means the C library's malloc and free.
 */
struct lc_allocator {
    void *(*alloc)(void *opaque, size_t nbytes);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
};

#ifdef __cplusplus
}
#endif

#endif /* LAZYCOGS_H */
