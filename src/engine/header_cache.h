/* header_cache.h - open COGs shared by the whole process. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ENGINE_HEADER_CACHE_H
#define LC_ENGINE_HEADER_CACHE_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * Every COG the engine reads is opened through this cache: the header (and
 * block index) of a file is fetched once per process while it stays
 * cached, whichever collection, read or thread asks for it. Entries are
 * keyed by (store, href) and reference-counted; unused entries are evicted
 * least recently used first when the cached headers' bytes pass the
 * budget. A cached handle is shared: lc_cog_read_window and the other
 * read calls are safe on one handle from several threads at once
 * (src/tiff guarantees it).
 *
 * Bytes are lc__cog_nbytes of each cached handle (prefix, levels, block
 * indexes), handles in use included; those are never evicted, so the
 * total may stay above the budget while they are held. When its last
 * reference goes, a handle's idle decoders are freed (lc__cog_trim).
 * The environment variable LAZYCOGS_HEADER_CACHE_BYTES (a whole number of
 * bytes, read once) sets the default budget.
 *
 * Two threads missing the same key at once open it once: the second waits
 * for the first and shares its handle (a hit) or its error.
 *
 * Thread-safe: one mutex, never held during I/O.
 */

/* Takes a reference to the COG at href read through store (NULL: the
 * default store of href's root), opening it on a miss. *was_cached says
 * whether the header came from the cache. Returns LC_OK or an lc_cog_open
 * error (err names href). A failed open is not cached. */
int lc__header_cache_get(const char *href, struct lc_store *store,
                         struct lc_cog **cog_ret, bool *was_cached,
                         struct lc__errbuf *err);

/* Like lc__header_cache_get, opening with the COG caps of limits (NULL or
 * zero fields: the defaults). Handles are cached per (store, href, caps). */
int lc__header_cache_get_ex(const char *href, struct lc_store *store,
                            const struct lc_limits *limits,
                            struct lc_cog **cog_ret, bool *was_cached,
                            struct lc__errbuf *err);

/* Releases a reference taken by lc__header_cache_get; NULL does nothing. */
void lc__header_cache_release(struct lc_cog *cog);

/* Sets the byte budget of cached headers [256 MiB, or
 * LAZYCOGS_HEADER_CACHE_BYTES]; 0 caches nothing beyond the handles in
 * use. Evicts at once if needed. */
void lc__header_cache_set_budget(size_t nbytes);

/* Cached (opened) entries and their bytes, in use or not, for statistics
 * and tests. */
void lc__header_cache_stats(size_t *nentries_ret, size_t *nbytes_ret);

/* Drops every unused entry (tests; a store's credentials changed). */
void lc__header_cache_clear(void);

#endif /* LC_ENGINE_HEADER_CACHE_H */
