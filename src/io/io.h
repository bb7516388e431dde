/* io.h - range reads behind one small vtable: local files now, HTTP/S3 next. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_IO_H
#define LC_IO_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * A readable object (a local file, an HTTP resource, an S3 object, bytes in
 * memory) seen as a batch range-read function. Parsers never call it: they
 * work on bytes already fetched. The reader above them asks for all the
 * ranges it needs at once, so a network backend can run them concurrently.
 * The wrapper counts requests and bytes so that tests and `lazycogs info`
 * can say what a read cost.
 */
struct lc__io;

/*
 * Opens href: a local path or a file://, http(s)://, s3://, gs:// URL, or
 * an href relative to store's root. store NULL means a store for href's
 * root with default options, from a process-wide cache. Returns LC_OK,
 * LC_EINVAL, LC_ENOTFOUND, LC_EIO, LC_EUNSUPPORTED or LC_ENOMEM with a
 * message in err.
 */
int lc__io_open_href(const char *href, struct lc_store *store,
                     const struct lc_allocator *alloc, struct lc__io **io_ret,
                     struct lc__errbuf *err);

/*
 * A remote store's default coalescing gap (coalesce_gap_nbytes): ranges of
 * one batch at most this far apart share a request. 1 MiB, as object_store
 * (Rust; obstore, which the Python lazycogs reads through) merges by
 * default: a request costs a connection, a round trip and, on S3, a fee,
 * while a MiB more is a few milliseconds of transfer. A native-resolution
 * window's block rows lie one row's other blocks apart, so each was a
 * request of its own: W6 (2048 x 2048 px of three COGs) went 10 -> 6
 * requests and 93.2 -> 85.3 ms, W4 200 -> 168 requests and 348.6 -> 339.7
 * ms (interleaved fresh runs at 20 ms, 8 each; 64 KiB before).
 */
#define LC__COALESCE_GAP_DEFAULT ((size_t)1 << 20)

/* Opens a store (lc_store_open without publishing the error). */
int lc__store_open(const char *url, const struct lc_store_options *opts,
                   struct lc_store **store_ret, struct lc__errbuf *err);

/* Takes one more reference to a store. */
void lc__store_ref(struct lc_store *store);

/* realpath(3): path with symlinks, "." and ".." resolved, into resolved
 * (PATH_MAX bytes); false with errno set when that fails (no such file). */
bool lc__file_resolve(const char *path, char *resolved);

/* Whether store (NULL: the default store of each href) reads from the
 * local file system. */
bool lc__store_is_local(const struct lc_store *store);

/*
 * Where lc__io_open_href(href, store) would read: *local_ret true and the
 * file's path in path (path_cap bytes, not resolved) when it is a local
 * file; false when it is a remote object. LC_EINVAL for an href that
 * cannot name a file (bad file:// URL, path too long).
 */
int lc__store_local_path(const struct lc_store *store, const char *href,
                         char *path, size_t path_cap, bool *local_ret,
                         struct lc__errbuf *err);

/*
 * Wraps caller-provided methods. On failure the source is closed (its close
 * method called) so the caller never has to.
 */
int lc__io_open_methods(const struct lc_io_methods *methods, void *opaque,
                        const char *name, const struct lc_allocator *alloc,
                        struct lc__io **io_ret, struct lc__errbuf *err);

/*
 * Opens bytes in memory (borrowed: they must outlive the handle). For
 * tests and fuzzers.
 */
int lc__io_open_memory(const uint8_t *data, size_t nbytes, const char *name,
                       const struct lc_allocator *alloc, struct lc__io **io_ret,
                       struct lc__errbuf *err);

/* Closes the source; NULL does nothing. */
void lc__io_close(struct lc__io *io);

/* Has connections to the host of href (read through store; NULL: its
 * default store) opened ahead, up to n, for the next requests to take
 * (lc__http_preconnect); nothing for a local file. Returns at once. */
void lc__store_preconnect(struct lc_store *store, const char *href, size_t n);

/* Starts the network engine's I/O thread now, ahead of the first remote
 * request (lc__http_start); a failure is left to that request to report. */
void lc__io_start_network(void);

/* The name used in messages (the href). Borrowed from the handle. */
const char *lc__io_name(const struct lc__io *io);

/*
 * Reads every request; may be called from several threads at once on one
 * handle (the source's read method must allow it; counting is locked).
 * Each request is filled completely; a request that
 * reaches past the end of the object fails with LC_ECORRUPT unless
 * allow_short is true, in which case nread says how much there was.
 */
int lc__io_read(struct lc__io *io, struct lc_range_request *requests,
                size_t nrequests, bool allow_short, struct lc__errbuf *err);

/* Seconds the calling thread has spent in lc__io_read since it started
 * (a per-thread running total: callers take differences). */
double lc__io_thread_read_seconds(void);

/*
 * A thread's hook around its waits for reads: lc__io_read calls begin
 * before it blocks and end once it is back, so that a caller which bounds
 * how many of its threads use the CPU at once can let another thread run
 * meanwhile. lc__io_wait_begin/end mark a longer wait the same way (a
 * header open: reads and little else). Waits nest: only the outermost
 * calls the hook. NULL clears the calling thread's hook.
 *
 * end may block (until the caller's bound lets the thread compute again),
 * so code that holds a lock across lc__io_read must mark the wait itself,
 * from before it takes the lock to after it lets it go: else a thread
 * waiting in end holds the lock that a computing thread waits for.
 */
struct lc__io_wait_hook {
    void (*begin)(void *arg);
    void (*end)(void *arg);
    void *arg;
};
void lc__io_set_wait_hook(const struct lc__io_wait_hook *hook);
void lc__io_wait_begin(void);
void lc__io_wait_end(void);

/* The object's size in bytes, or LC_EUNSUPPORTED when it cannot be known
 * without reading. */
int lc__io_size(struct lc__io *io, uint64_t *size_ret, struct lc__errbuf *err);

/* Range reads and bytes read through this handle so far. */
void lc__io_stats(const struct lc__io *io, uint64_t *nrequests_ret,
                  uint64_t *nbytes_ret);

/* Adds to the network counters of this handle (HTTP requests, bytes,
 * retries, coalesced ranges, waiting time); remote sources call it. */
void lc__io_add_net_stats(struct lc__io *io, const struct lc_io_stats *delta);

/* Copies the network counters of this handle into *out. */
void lc__io_get_net_stats(const struct lc__io *io, struct lc_io_stats *out);

/*
 * Rewrites text (a NUL-terminated message in a buffer of cap bytes) so that
 * no URL in it carries credentials: in every "scheme://..." run (up to
 * white space or a quote) a user:password@ becomes "REDACTED@" and a query
 * string or fragment becomes "?REDACTED" (signed URLs, SAS tokens). Text
 * that no longer fits is cut. Idempotent; public entry points that put
 * hrefs into messages call it before publishing them.
 */
void lc__redact_urls(char *text, size_t cap);

#endif /* LC_IO_H */
