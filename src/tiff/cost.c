/* cost.c - what reading a window of a COG would fetch, without fetching
 * it. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <stdlib.h>

#include "../common/alloc.h"

#include "tiff.h"
#include "tiff_internal.h"

/*
 * The arithmetic of lc_cog_read_window (cog.c), block by block: the
 * window's block rows (of one plane) are read in batches of range
 * requests (lc__cog_batch_full), one per non-empty block lying beyond the
 * prefix fetched at open (blocks inside it cost nothing). A
 * remote store then merges a batch's ranges whose gap is at most its
 * coalescing gap into one HTTP request, a merged request holding at most
 * LC__COST_MAX_COALESCED_NBYTES unless ranges overlap (src/io/store.c).
 */

/* As MAX_COALESCED_NBYTES of src/io/store.c. */
#define LC__COST_MAX_COALESCED_NBYTES ((uint64_t)16 << 20)

struct range {
    uint64_t offset, nbytes;
};

static int cmp_offset(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

/* Requests after coalescing a batch (sorted in place), as remote_read
 * groups them. */
static uint64_t coalesced_requests(struct range *r, size_t n, size_t gap)
{
    uint64_t groups = 0, start = 0, end = 0;

    qsort(r, n, sizeof *r, cmp_offset);
    for (size_t i = 0; i < n; i++) {
        uint64_t e = r[i].offset + r[i].nbytes;
        uint64_t merged_end = e > end ? e : end;
        if (groups > 0 && gap != SIZE_MAX && r[i].offset <= end + gap &&
            merged_end - start <= LC__COST_MAX_COALESCED_NBYTES) {
            end = merged_end;
        } else if (groups > 0 && r[i].offset < end) {
            end = merged_end;
        } else {
            groups++;
            start = r[i].offset;
            end = e;
        }
    }
    return groups;
}

/* Adds the cost of window w of one image (plane 0 only, as reads of
 * sample 0 make): its block rows in batches as run_read forms them, each
 * batch's ranges coalesced. */
static int image_cost(struct lc_cog *cog, struct lc__image *img,
                      const struct lc_window *w, size_t gap,
                      struct lc__window_cost *cost, struct lc__errbuf *err)
{
    uint32_t bx0 = w->col_off / img->block_width;
    uint32_t bx1 = (w->col_off + w->width - 1) / img->block_width;
    uint32_t by0 = w->row_off / img->block_height;
    uint32_t by1 = (w->row_off + w->height - 1) / img->block_height;
    size_t across = (size_t)(bx1 - bx0) + 1, nblocks;
    uint64_t first = (uint64_t)by0 * img->blocks_across + bx0;
    uint64_t span = (uint64_t)by1 * img->blocks_across + bx1 + 1 - first;

    LC_RETURN_IF(!lc__size_mul(across, (size_t)(by1 - by0) + 1, &nblocks), err,
                 LC_ELIMIT, "window too large");
    LC_FORWARD_IF_ERROR(
        lc__block_index_load(cog, &img->offsets, first, span, err));
    LC_FORWARD_IF_ERROR(
        lc__block_index_load(cog, &img->counts, first, span, err));
    struct range *r = lc__malloc_array(&cog->alloc, nblocks, sizeof *r);
    if (r == NULL)
        return lc__error(err, LC_ENOMEM, "out of memory");
    size_t nr = 0, batch_rows = 0;
    uint64_t batch_nbytes = 0;
    for (uint32_t by = by0; by <= by1; by++) {
        uint64_t base = (uint64_t)by * img->blocks_across + bx0;
        uint64_t row_nbytes = 0;
        for (size_t i = 0; i < across; i++)
            row_nbytes += img->counts.values[base + i];
        if (lc__cog_batch_full(batch_nbytes, batch_rows, row_nbytes)) {
            cost->nrequests += coalesced_requests(r, nr, gap);
            nr = 0;
            batch_rows = 0;
            batch_nbytes = 0;
        }
        batch_rows++;
        batch_nbytes += row_nbytes;
        for (size_t i = 0; i < across; i++) {
            uint64_t off = img->offsets.values[base + i];
            uint64_t cnt = img->counts.values[base + i];
            if (off == 0 || cnt == 0 || off + cnt <= cog->head_nbytes ||
                lc__block_cache_get(cog->block_cache_id, off, (size_t)cnt,
                                    NULL))
                continue;
            r[nr].offset = off;
            r[nr].nbytes = cnt;
            nr++;
            cost->nranges++;
            cost->nbytes += cnt;
        }
    }
    cost->nrequests += coalesced_requests(r, nr, gap);
    lc__free(&cog->alloc, r);
    return LC_OK;
}

int lc__cog_window_cost(struct lc_cog *cog, size_t level,
                        const struct lc_window *w, size_t gap_nbytes,
                        struct lc__window_cost *cost, struct lc__errbuf *err)
{
    memset(cost, 0, sizeof *cost);
    LC_RETURN_IF(level >= cog->nlevels, err, LC_EINVAL,
                 "%s: level %zu does not exist (%zu levels)",
                 lc__io_name(cog->io), level, cog->nlevels);
    struct lc__image *img = &cog->levels[level];
    LC_RETURN_IF(w->width == 0 || w->height == 0 ||
                     (uint64_t)w->col_off + w->width > img->width ||
                     (uint64_t)w->row_off + w->height > img->height,
                 err, LC_EINVAL, "%s: window outside level %zu (%u x %u)",
                 lc__io_name(cog->io), level, img->width, img->height);
    LC_FORWARD_IF_ERROR(image_cost(cog, img, w, gap_nbytes, cost, err));
    if (img->mask != NULL)
        LC_FORWARD_IF_ERROR(
            image_cost(cog, img->mask, w, gap_nbytes, cost, err));
    return LC_OK;
}
