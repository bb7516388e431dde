/* tiff_internal.h - the parsed form of a GeoTIFF, shared within src/tiff. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_TIFF_INTERNAL_H
#define LC_TIFF_INTERNAL_H

#include "../common/common.h"

#include <pthread.h>

#include "../codec/codec.h"
#include "../common/error.h"
#include "../io/io.h"
#include "geokeys.h"

/*
 * A GeoTIFF is a chain of IFDs. lazycogs keeps, for each IFD it uses, an
 * lc__image: the full-resolution image, its reduced-resolution copies
 * (overviews, NewSubfileType bit 0) and GDAL's internal transparency masks
 * (NewSubfileType bit 2), each mask attached to the image of its size.
 *
 *   file:  header -> IFD0 (full res) -> IFD1 (mask) -> IFD2 (overview) ...
 *   here:  levels[0] = IFD0, levels[0].mask = IFD1, levels[1] = IFD2 ...
 *
 * TileOffsets/TileByteCounts (or the strip equivalents) stay in the file
 * until a read needs them: an lc__block_index remembers where the array
 * lies and loads only the entries a window touches, unless the array was
 * already in the first fetched prefix.
 *
 * Threads. Reads may run on one handle from several threads at once, so
 * everything a read changes is either its own or guarded:
 *   - messages go to an error buffer of the call (never to the handle);
 *   - decoder state and the decoded-block buffer come from a pool of
 *     lc__cog_workers (cog->pool_mu), one per block being decoded (a
 *     read's blocks may decode on several threads: lc__par_for);
 *   - block index entries are loaded under cog->index_mu, and loaded[] is
 *     only touched under it; values[i] is written once, before loaded[i]
 *     is set, so a reader that saw loaded[i] under the lock may read
 *     values[i] without it;
 *   - the io layer counts requests and bytes under its own lock.
 * Everything else is written by lc__tiff_parse while opening and only read
 * after. The I/O of block reads runs outside every lock.
 */

/* Where a tag's values lie in the file, and how they are typed. */
struct lc__tag {
    uint16_t code;
    uint16_t type;
    uint64_t count;
    uint64_t offset; /* file offset of the first value */
};

/* A lazily loaded array of block offsets or byte counts. */
struct lc__block_index {
    struct lc__tag tag;
    uint64_t *values; /* count entries, valid where loaded[i] != 0 */
    uint8_t *loaded;  /* under lc_cog.index_mu */
};

struct lc__image {
    uint32_t width;
    uint32_t height;
    uint32_t block_width;
    uint32_t block_height; /* RowsPerStrip (capped at height) for strips */
    uint32_t blocks_across;
    uint32_t blocks_down;
    uint64_t nblocks; /* blocks_across * blocks_down * planes */
    bool tiled;
    uint16_t samples;
    uint16_t bits_per_sample;
    uint16_t sample_format;
    uint16_t compression;
    uint16_t predictor;
    uint16_t photometric;
    bool planar_separate;
    uint32_t subfile_type;
    struct lc__block_index offsets;
    struct lc__block_index counts;
    uint8_t *jpeg_tables;
    size_t jpeg_tables_nbytes;
    uint32_t lerc_version;
    uint32_t lerc_wrap;
    struct lc__image *mask; /* borrowed from lc_cog.masks, or NULL */
};

/* What one block is decoded with: taken from the handle's pool for it and
 * given back after (cog.c decode_one). */
struct lc__cog_worker {
    struct lc__codec_ctx *codec;
    uint8_t *scratch; /* one decoded block */
    size_t scratch_nbytes;
    struct lc__cog_worker *next; /* in the pool */
};

struct lc_cog {
    struct lc_allocator alloc;
    struct lc_cog_options opts;
    struct lc__io *io;
    struct lc__errbuf open_err; /* messages while opening; reads use their
                                   own buffers */
    uint64_t file_nbytes;       /* 0 when unknown */
    bool big_endian;
    bool bigtiff;
    uint8_t *head; /* the first head_nbytes bytes of the file */
    size_t head_nbytes;

    struct lc__image *levels; /* [0] full resolution, then overviews */
    size_t nlevels;
    struct lc__image *masks;
    size_t nmasks;

    enum lc_dtype dtype;
    enum lc_georef georef;
    double geotransform[6];
    bool rotated;
    struct lc__crs_info crs;
    bool has_nodata;
    double nodata;
    double scale;
    double offset;

    uint64_t block_cache_id;     /* this handle's blocks in the cache */
    pthread_mutex_t index_mu;    /* block index loads */
    pthread_mutex_t pool_mu;     /* pool, npool */
    struct lc__cog_worker *pool; /* idle workers */
    size_t npool;
};

/* The block cache (block_cache.c, tiff.h). An id per opened handle, never
 * reused. get copies a kept block into dst (NULL: only asks, for cost
 * estimates) and says whether it was kept. A read that needs a block
 * claims it: COPIED, it was kept and is now in dst; CLAIMED, the read
 * fetches it and then either fulfils the claim (when that returns true,
 * the cache has taken data, allocated with the claim's alloc, else data
 * stays the caller's) or abandons it; PENDING, another read has claimed
 * it, and wait blocks until that read settles it, then copies it into dst
 * (false: it was abandoned or not kept; fetch it); MISS, the cache would
 * not keep it: fetch it. A read must settle all its claims before it
 * waits. forget drops a handle's blocks (at close). All thread-safe. */
enum lc__block_claim {
    LC__BLOCK_COPIED,
    LC__BLOCK_CLAIMED,
    LC__BLOCK_PENDING,
    LC__BLOCK_MISS,
};
uint64_t lc__block_cache_new_id(void);
bool lc__block_cache_get(uint64_t cog_id, uint64_t offset, size_t nbytes,
                         void *dst);
enum lc__block_claim lc__block_cache_claim(const struct lc_allocator *alloc,
                                           uint64_t cog_id, uint64_t offset,
                                           size_t nbytes, void *dst);
bool lc__block_cache_fulfil(uint64_t cog_id, uint64_t offset, uint8_t *data,
                            size_t nbytes);
void lc__block_cache_abandon(uint64_t cog_id, uint64_t offset, size_t nbytes);
bool lc__block_cache_wait(uint64_t cog_id, uint64_t offset, size_t nbytes,
                          void *dst);
void lc__block_cache_forget(uint64_t cog_id);

/* Parses the header and IFD chain of cog->io into cog (ifd.c). */
int lc__tiff_parse(struct lc_cog *cog);

/* Loads entries [first, first + n) of idx if not loaded yet (ifd.c).
 * Safe from several threads at once: it holds cog->index_mu, I/O
 * included, so two threads never load or read a half-loaded entry. */
int lc__block_index_load(struct lc_cog *cog, struct lc__block_index *idx,
                         uint64_t first, uint64_t n, struct lc__errbuf *err);

/* A window read fetches its block rows in batches of at most this many
 * compressed bytes (more when one row alone needs more): one batch, one
 * round trip, for any ordinary window. cost.c estimates with the same
 * rule. */
#define LC__COG_BATCH_NBYTES ((uint64_t)64 << 20)

/* How a message over a cap of struct lc_cog_options (and lc_limits) says
 * to raise it. */
#define LC__COG_RAISE_HINT(name)                                               \
    "; raise it with limits={'" name "': ...} (docs/limits.md)"

/* True when a block row of row_nbytes compressed bytes starts a new batch
 * after a batch of nrows rows holding batch_nbytes. */
static inline bool lc__cog_batch_full(uint64_t batch_nbytes, size_t nrows,
                                      uint64_t row_nbytes)
{
    return nrows > 0 && batch_nbytes + row_nbytes > LC__COG_BATCH_NBYTES;
}

/* Frees what an image owns (ifd.c). */
void lc__image_free(struct lc_cog *cog, struct lc__image *img);

/* Reads bytes at a file offset, from the prefix when it holds them (ifd.c). */
int lc__tiff_read_bytes(struct lc_cog *cog, uint64_t offset, void *dst,
                        size_t nbytes, struct lc__errbuf *err);

#endif /* LC_TIFF_INTERNAL_H */
