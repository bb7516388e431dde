/* tiff.h - what the COG reader offers other modules beyond the public API. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_TIFF_H
#define LC_TIFF_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * lc_cog_open_ex without publishing the error: the message stays in err
 * (which names href) for a caller that adds to it or passes it on.
 * Returns what lc_cog_open_ex returns; *cog_ret is NULL on failure.
 */
int lc__cog_open(const char *href, const struct lc_cog_options *opts,
                 struct lc_cog **cog_ret, struct lc__errbuf *err);

/*
 * The bytes a handle holds for its whole life: the prefix fetched at open,
 * the parsed levels and masks, their block indexes (allocated whole at
 * open, loaded or not) and JPEG tables. Decoder state made by reads is not
 * counted: lc__cog_trim frees what is idle of it.
 */
size_t lc__cog_nbytes(const struct lc_cog *cog);

/*
 * Frees the idle decoder contexts and block buffers reads left in the
 * handle's pool (for a cache keeping handles nobody reads now). Safe while
 * other threads read: their workers come back to the pool afterwards.
 */
void lc__cog_trim(struct lc_cog *cog);

/*
 * The block cache (block_cache.c): compressed blocks that reads fetched,
 * kept for later reads of the same open handle, LRU by bytes within a
 * process-wide budget [128 MiB, or LAZYCOGS_BLOCK_CACHE_BYTES, a whole
 * number of bytes read once; 0 keeps nothing]. set_budget evicts at once
 * if needed; stats gives the blocks kept and their bytes (tests).
 */
size_t lc__block_cache_set_budget(size_t nbytes); /* returns the old one */
void lc__block_cache_stats(size_t *nblocks_ret, size_t *nbytes_ret);

/* lc_cog_read_window of one sample into rows row_nbytes apart (at least
 * the window's row), as into a window of a larger array: the same checks,
 * errors and published message. */
int lc__cog_read_window_rows(struct lc_cog *cog, size_t level,
                             const struct lc_window *window, uint32_t sample,
                             void *out, size_t row_nbytes, size_t out_nbytes);

/* Where a read's window goes, asked for once, when the first blocks have
 * arrived and before any is decoded: a caller that allocates the window
 * then need not hold it through the round trip. get returns NULL when out
 * of memory. */
struct lc__cog_out {
    void *(*get)(void *ctx);
    void *ctx;
};

/* lc__cog_read_window_rows into the window out->get gives. */
int lc__cog_read_window_rows_into(struct lc_cog *cog, size_t level,
                                  const struct lc_window *window,
                                  uint32_t sample,
                                  const struct lc__cog_out *out,
                                  size_t row_nbytes, size_t out_nbytes);

/* What lc_cog_read_window of one sample (and, when the level has one,
 * lc_cog_read_mask) of a window would fetch. */
struct lc__window_cost {
    uint64_t nranges;   /* range reads: blocks beyond the open prefix */
    uint64_t nbytes;    /* their bytes */
    uint64_t nrequests; /* requests after a remote store's coalescing */
};

/*
 * Computes the cost of reading window w of level (cost.c), without
 * reading a pixel: it loads the block index entries the window needs,
 * which may read the file when the index lies beyond the prefix.
 * gap_nbytes is the store's coalescing gap (SIZE_MAX: ranges are never
 * merged, as local files are read). Returns LC_OK, LC_EINVAL (bad level
 * or window), LC_ENOMEM or an index read error, err naming the file.
 */
int lc__cog_window_cost(struct lc_cog *cog, size_t level,
                        const struct lc_window *w, size_t gap_nbytes,
                        struct lc__window_cost *cost, struct lc__errbuf *err);

#endif /* LC_TIFF_H */
