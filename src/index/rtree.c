/* rtree.c - packed Hilbert R-tree over item bounding boxes (see rtree.h). */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>

#include "../common/alloc.h"
#include "../common/error.h"
#include "rtree.h"

/*
 * Memory layout of a tree: one allocation holding the header, then the
 * boxes of all levels, then their ids.
 *
 *   struct lc__rtree | boxes[nnodes] (32 bytes) | ids[nnodes] (4 bytes)
 *
 *   positions [0, nitems)              level 0: the items, Hilbert order;
 *                                      ids[p] = item index
 *   [level_end[0], level_end[1])       level 1: parents of runs of
 *                                      node_size items; ids[p] = position
 *   ...                                of the first child
 *   nnodes - 1                         the root (level nlevels - 1)
 *
 * Node p of level L >= 1 has the children ids[p] .. ids[p] + node_size - 1,
 * cut at the end of level L - 1; only the last node of a level can have
 * fewer. There is always at least one level above the items, so the root
 * is an inner node even for one item.
 */

/* Levels above the items: ceil(log2(LC__RTREE_MAX_ITEMS)) = 30 with node
 * size 2, plus the item level and a spare. */
#define RT_MAX_LEVELS 32

struct rt_box {
    double minx, miny, maxx, maxy;
};

struct lc__rtree {
    struct lc_allocator allocator;
    size_t nitems;
    size_t node_size;
    size_t nnodes;
    size_t nlevels; /* 0 for an empty tree, else >= 2 */
    size_t level_end[RT_MAX_LEVELS];
    /* Item positions under one full node of each level (node_size^level,
     * capped at nitems). */
    size_t level_span[RT_MAX_LEVELS];
    size_t nbytes;
    struct rt_box *boxes;
    uint32_t *ids;
};

LC_STATIC_ASSERT(sizeof(struct rt_box) == 4 * sizeof(double));
LC_STATIC_ASSERT(LC__RTREE_MAX_ITEMS <= UINT32_MAX / 2);

/* ---- longitude normalisation --------------------------------------------- */

/*
 * Maps a longitude into [-180, 180). In-range values come back unchanged
 * (bit for bit), which keeps ordinary boxes exact. fmod is exact, and the
 * final +-360 is exact too (Sterbenz: both operands within a factor of two),
 * so out-of-range values lose nothing either.
 */
static double wrap_lon(double x)
{
    if (x >= -180.0 && x < 180.0)
        return x;
    double r = fmod(x, 360.0);
    if (r >= 180.0)
        r -= 360.0;
    else if (r < -180.0)
        r += 360.0;
    return r;
}

/*
 * Unwraps the x range of a box into [lo, hi] with lo in [-180, 180) and
 * hi >= lo, following the rule of rtree.h: minx > maxx crosses the
 * antimeridian, a range of 360 degrees or more is every longitude. NaN
 * never gets here; infinities only as minx = -inf or maxx = +inf, which
 * make the range "every longitude".
 */
static void unwrap_x(double minx, double maxx, double *lo_ret, double *hi_ret)
{
    double lo, hi;

    if (minx <= maxx) {
        if (maxx - minx >= 360.0) {
            *lo_ret = -180.0;
            *hi_ret = 180.0;
            return;
        }
        lo = wrap_lon(minx);
        /* The shift is 0 for an in-range minx, so maxx stays exact. */
        hi = maxx + (lo - minx);
    } else {
        lo = wrap_lon(minx);
        hi = wrap_lon(maxx);
        if (hi < lo)
            hi += 360.0;
    }
    /* Rounding of huge inputs must not give an inverted range. */
    if (hi < lo)
        hi = lo;
    *lo_ret = lo;
    *hi_ret = hi;
}

/* The stored box of an item whose coordinates have been validated. */
static struct rt_box item_box(const double *b)
{
    struct rt_box r;

    unwrap_x(b[0], b[2], &r.minx, &r.maxx);
    r.miny = b[1];
    r.maxy = b[3];
    return r;
}

/* ---- Hilbert curve ------------------------------------------------------- */

/*
 * The textbook algorithm (Wikipedia "Hilbert curve", xy2d) walks the 16
 * bit levels from the top, takes the quadrant (rx, ry) of the point, adds
 * the quadrant's rank along the curve, then rotates the remaining low bits:
 * when ry == 0 it swaps x and y, complementing both first when rx == 1.
 * Those rotations form a four-element group (identity, swap, complement,
 * both) in which order does not matter, so instead of rewriting x and y we
 * carry two bits of state, "swapped" and "complemented", and read each
 * level's bits through them: hilbert_step below.
 *
 * That is still 16 dependent steps per point (30 ns). A table indexed by
 * the state and 4 bits of x and y gives the 8 bits of distance and the
 * state after those 4 levels, so a point takes 4 lookups. The table
 * (1024 entries, 2 KiB) is built from hilbert_step on the stack of each
 * call, in a few microseconds: no global state, nothing to initialise.
 */
enum { HILBERT_SWAP = 1, HILBERT_COMPLEMENT = 2 };

/* One level: bits bx, by of the point, state in, 2-bit digit out. */
static uint32_t hilbert_step(uint32_t bx, uint32_t by, uint32_t *state)
{
    uint32_t swp = *state & HILBERT_SWAP ? 1u : 0u;
    uint32_t cmp = *state & HILBERT_COMPLEMENT ? 1u : 0u;
    uint32_t diff = (bx ^ by) & swp;
    uint32_t rx = bx ^ diff ^ cmp;
    uint32_t ry = by ^ diff ^ cmp;
    uint32_t not_ry = ry ^ 1u;
    cmp ^= not_ry & rx;
    swp ^= not_ry;
    *state = (swp ? HILBERT_SWAP : 0u) | (cmp ? HILBERT_COMPLEMENT : 0u);
    return (3u * rx) ^ ry;
}

/* table[state << 8 | x4 << 4 | y4] = next state << 8 | 8 distance bits. */
static void hilbert_table(uint16_t table[1024])
{
    for (uint32_t i = 0; i < 1024; i++) {
        uint32_t state = i >> 8;
        uint32_t digits = 0;
        for (int level = 3; level >= 0; level--) {
            uint32_t bx = (i >> (4 + level)) & 1u;
            uint32_t by = (i >> level) & 1u;
            digits = (digits << 2) | hilbert_step(bx, by, &state);
        }
        table[i] = (uint16_t)(state << 8 | digits);
    }
}

static uint32_t hilbert_lookup(const uint16_t table[1024], uint32_t x,
                               uint32_t y)
{
    uint32_t d = 0;
    uint32_t state = 0;

    for (int shift = 12; shift >= 0; shift -= 4) {
        uint32_t e = table[state << 8 | ((x >> shift) & 15u) << 4 |
                           ((y >> shift) & 15u)];
        d = (d << 8) | (e & 0xffu);
        state = e >> 8;
    }
    return d;
}

void lc__rtree_hilbert(const uint32_t *x, const uint32_t *y, uint32_t *d_out,
                       size_t n)
{
    uint16_t table[1024];

    hilbert_table(table);
    for (size_t i = 0; i < n; i++)
        d_out[i] = hilbert_lookup(table, x[i] & 0xffffu, y[i] & 0xffffu);
}

/* Maps v in [lo, lo + 65535 / scale] to a grid cell in [0, 65535]. The
 * clamp also catches NaN, which an extent of infinite width can produce;
 * such a tree is only slower, never wrong. */
static uint32_t grid_cell(double v, double lo, double scale)
{
    double c = (v - lo) * scale;

    if (!(c > 0.0))
        return 0;
    if (c >= 65535.0)
        return 65535;
    return (uint32_t)c;
}

/* ---- sorting ------------------------------------------------------------- */

/*
 * Sorts n (Hilbert value << 32 | item) keys by their high 32 bits with a
 * stable LSD radix sort, 8 bits per pass, between keys and tmp. Equal
 * Hilbert values keep item order, so the tree does not depend on the sort.
 * Passes whose digit is the same for every key are skipped (items all in
 * one small region). Returns the array holding the result.
 */
static uint64_t *radix_sort_keys(uint64_t *keys, uint64_t *tmp, size_t n)
{
    size_t hist[4][256];

    memset(hist, 0, sizeof(hist));
    for (size_t i = 0; i < n; i++) {
        uint64_t k = keys[i];
        for (int d = 0; d < 4; d++)
            hist[d][(k >> (32 + 8 * d)) & 0xff]++;
    }
    uint64_t *src = keys;
    uint64_t *dst = tmp;
    for (int d = 0; d < 4; d++) {
        int shift = 32 + 8 * d;
        if (hist[d][(src[0] >> shift) & 0xff] == n)
            continue;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = hist[d][b];
            hist[d][b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[hist[d][(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* ---- building ------------------------------------------------------------ */

static int check_items(const double *boxes, size_t nitems,
                       struct lc__errbuf *err)
{
    for (size_t i = 0; i < nitems; i++) {
        const double *b = boxes + 4 * i;
        LC_RETURN_IF(!isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]) ||
                         !isfinite(b[3]),
                     err, LC_EINVAL,
                     "R-tree: box of item %zu has a NaN or infinite "
                     "coordinate",
                     i);
        LC_RETURN_IF(b[1] > b[3], err, LC_EINVAL,
                     "R-tree: box of item %zu has miny %g > maxy %g", i, b[1],
                     b[3]);
    }
    return LC_OK;
}

/* Lays out the levels of a tree over nitems >= 1 items: fills level_end,
 * level_span, nlevels and nnodes. */
static void plan_levels(struct lc__rtree *t)
{
    size_t count = t->nitems;
    size_t end = count;
    size_t nlevels = 0;

    t->level_span[nlevels] = 1;
    t->level_end[nlevels++] = end;
    do {
        count = (count + t->node_size - 1) / t->node_size;
        end += count;
        LC_ASSERT(nlevels < RT_MAX_LEVELS);
        size_t span = t->level_span[nlevels - 1];
        t->level_span[nlevels] =
            span > t->nitems / t->node_size ? t->nitems : span * t->node_size;
        t->level_end[nlevels++] = end;
    } while (count > 1);
    t->nlevels = nlevels;
    t->nnodes = end;
}

/* Fills the inner levels from the items up: each node's box is the union
 * of its children's, its id the position of its first child. */
static void pack_inner_levels(struct lc__rtree *t)
{
    size_t ns = t->node_size;

    for (size_t level = 1; level < t->nlevels; level++) {
        size_t child = level >= 2 ? t->level_end[level - 2] : 0;
        size_t child_end = t->level_end[level - 1];
        size_t pos = child_end;
        for (; child < child_end; child += ns, pos++) {
            size_t last = child + ns < child_end ? child + ns : child_end;
            struct rt_box u = t->boxes[child];
            for (size_t c = child + 1; c < last; c++) {
                const struct rt_box *b = &t->boxes[c];
                u.minx = b->minx < u.minx ? b->minx : u.minx;
                u.miny = b->miny < u.miny ? b->miny : u.miny;
                u.maxx = b->maxx > u.maxx ? b->maxx : u.maxx;
                u.maxy = b->maxy > u.maxy ? b->maxy : u.maxy;
            }
            t->boxes[pos] = u;
            t->ids[pos] = (uint32_t)child;
        }
        LC_ASSERT(pos == t->level_end[level]);
    }
}

int lc__rtree_build(const double *boxes, size_t nitems,
                    const struct lc__rtree_options *opts,
                    struct lc__rtree **tree_ret, struct lc__errbuf *err)
{
    static const struct lc__rtree_options defaults = {0};

    *tree_ret = NULL;
    if (opts == NULL)
        opts = &defaults;
    size_t ns =
        opts->node_size != 0 ? opts->node_size : LC__RTREE_DEFAULT_NODE_SIZE;
    LC_RETURN_IF(ns < LC__RTREE_MIN_NODE_SIZE || ns > LC__RTREE_MAX_NODE_SIZE,
                 err, LC_EINVAL, "R-tree: node size %zu is not in [%d, %d]", ns,
                 LC__RTREE_MIN_NODE_SIZE, LC__RTREE_MAX_NODE_SIZE);
    LC_RETURN_IF(nitems > LC__RTREE_MAX_ITEMS, err, LC_ELIMIT,
                 "R-tree: %zu items, more than the limit of %zu", nitems,
                 LC__RTREE_MAX_ITEMS);
    LC_RETURN_IF(boxes == NULL && nitems > 0, err, LC_EINVAL,
                 "R-tree: NULL boxes for %zu items", nitems);
    /* Reject bad input before allocating anything. */
    LC_FORWARD_IF_ERROR(check_items(boxes, nitems, err));

    struct lc__rtree plan = {
        .allocator = opts->allocator, .nitems = nitems, .node_size = ns};
    if (nitems > 0)
        plan_levels(&plan);

    /* Header, boxes and ids in one block; the header's size is a multiple
     * of 8 (it holds size_t and pointers), so the boxes are aligned, and
     * the ids after 32-byte boxes too. */
    LC_STATIC_ASSERT(sizeof(struct lc__rtree) % _Alignof(struct rt_box) == 0);
    size_t boxes_nbytes;
    size_t ids_nbytes;
    size_t nbytes;
    if (!lc__size_mul(plan.nnodes, sizeof(struct rt_box), &boxes_nbytes) ||
        !lc__size_mul(plan.nnodes, sizeof(uint32_t), &ids_nbytes) ||
        !lc__size_add(sizeof(struct lc__rtree), boxes_nbytes, &nbytes) ||
        !lc__size_add(nbytes, ids_nbytes, &nbytes))
        return lc__error(err, LC_ELIMIT, "R-tree: %zu items overflow size_t",
                         nitems);
    struct lc__rtree *t = lc__malloc(&opts->allocator, nbytes);
    LC_RETURN_IF(t == NULL, err, LC_ENOMEM,
                 "R-tree: cannot allocate %zu bytes for %zu items", nbytes,
                 nitems);
    *t = plan;
    t->nbytes = nbytes;
    t->boxes = (struct rt_box *)(void *)(t + 1);
    t->ids = (uint32_t *)(void *)((char *)t->boxes + boxes_nbytes);
    if (nitems == 0) {
        *tree_ret = t;
        return LC_OK;
    }

    uint64_t *keys =
        lc__malloc_array(&opts->allocator, nitems, 2 * sizeof(uint64_t));
    if (keys == NULL) {
        lc__free(&opts->allocator, t);
        return lc__error(err, LC_ENOMEM,
                         "R-tree: cannot allocate the sort keys of %zu items",
                         nitems);
    }

    /* The extent of the stored (unwrapped) boxes sets the Hilbert grid. */
    struct rt_box ext = item_box(boxes);
    for (size_t i = 1; i < nitems; i++) {
        struct rt_box b = item_box(boxes + 4 * i);
        ext.minx = b.minx < ext.minx ? b.minx : ext.minx;
        ext.miny = b.miny < ext.miny ? b.miny : ext.miny;
        ext.maxx = b.maxx > ext.maxx ? b.maxx : ext.maxx;
        ext.maxy = b.maxy > ext.maxy ? b.maxy : ext.maxy;
    }
    double w = ext.maxx - ext.minx;
    double h = ext.maxy - ext.miny;
    double sx = w > 0.0 ? 65535.0 / w : 0.0;
    double sy = h > 0.0 ? 65535.0 / h : 0.0;

    /* The centres use half of each end rather than their mean, which
     * cannot overflow for coordinates near DBL_MAX. */
    uint16_t table[1024];
    hilbert_table(table);
    for (size_t i = 0; i < nitems; i++) {
        struct rt_box b = item_box(boxes + 4 * i);
        uint32_t hx = grid_cell(0.5 * b.minx + 0.5 * b.maxx, ext.minx, sx);
        uint32_t hy = grid_cell(0.5 * b.miny + 0.5 * b.maxy, ext.miny, sy);
        keys[i] = ((uint64_t)hilbert_lookup(table, hx, hy) << 32) | i;
    }
    const uint64_t *sorted = radix_sort_keys(keys, keys + nitems, nitems);

    /* The gather reads the boxes in Hilbert order, all over the input;
     * fetching a few items ahead hides most of the cache and TLB misses
     * (twice as fast for a million items). */
    for (size_t p = 0; p < nitems; p++) {
        if (p + 16 < nitems)
            __builtin_prefetch(boxes + 4 * (size_t)(uint32_t)sorted[p + 16]);
        uint32_t item = (uint32_t)sorted[p];
        t->boxes[p] = item_box(boxes + 4 * (size_t)item);
        t->ids[p] = item;
    }
    lc__free(&opts->allocator, keys);
    pack_inner_levels(t);
    *tree_ret = t;
    return LC_OK;
}

void lc__rtree_free(struct lc__rtree *tree)
{
    if (tree == NULL)
        return;
    struct lc_allocator a = tree->allocator;
    lc__free(&a, tree);
}

size_t lc__rtree_nitems(const struct lc__rtree *tree)
{
    return tree->nitems;
}

size_t lc__rtree_nbytes(const struct lc__rtree *tree)
{
    return tree->nbytes;
}

/* ---- searching ----------------------------------------------------------- */

/*
 * Where a search sends its hits: the caller's callback, or straight into a
 * hit list (the engine's path, without an indirect call per hit).
 */
struct sink {
    lc__rtree_visit_fn visit;
    void *opaque;
    const struct lc__rtree *tree;
    struct lc__rtree_hits *hits;
};

/* Doubles the list until it holds need entries (at least 16). */
static int grow_hits(const struct lc__rtree *t, struct lc__rtree_hits *hits,
                     size_t need)
{
    size_t cap = hits->cap < 16 ? 16 : hits->cap;

    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
    size_t old_nbytes = hits->cap * sizeof(size_t);
    size_t new_nbytes;
    if (!lc__size_mul(cap, sizeof(size_t), &new_nbytes))
        return LC_ENOMEM;
    size_t *p = lc__realloc(&t->allocator, hits->items, old_nbytes, new_nbytes);
    if (p == NULL)
        return LC_ENOMEM;
    hits->items = p;
    hits->cap = cap;
    return LC_OK;
}

/* Reports the items at positions [begin, end) of the item level. */
static int emit(struct sink *s, const uint32_t *ids, size_t begin, size_t end)
{
    struct lc__rtree_hits *hits = s->hits;

    if (hits == NULL) {
        for (size_t p = begin; p < end; p++) {
            int rc = s->visit(s->opaque, ids[p]);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    /* count + (end - begin) <= nitems: each item is reported once. */
    size_t need = hits->count + (end - begin);
    if (LC_UNLIKELY(need > hits->cap)) {
        int rc = grow_hits(s->tree, hits, need);
        if (rc != LC_OK)
            return rc;
    }
    size_t *out = hits->items + hits->count;
    for (size_t p = begin; p < end; p++)
        *out++ = ids[p];
    hits->count = need;
    return 0;
}

/*
 * One pass of a query: a depth-first walk with an explicit stack of one
 * frame per level (the run of children still to test), so memory is
 * bounded by the depth whatever the node size.
 *
 * When dedup is set, a hit whose box also reaches the previous pass's
 * query box (minx <= prev_x1; the rest of that test holds because this
 * pass's box lies 360 degrees further east) was reported by that pass and
 * is skipped.
 *
 * A node whose box lies inside the query box has all its items hit: they
 * are the contiguous run of item positions under it (every node but the
 * last of a level is full), reported without testing them, unless dedup
 * may apply to some of them. This keeps queries over much of the world
 * close to a copy of the ids.
 */
static int search_pass(const struct lc__rtree *t, const struct rt_box *q,
                       bool dedup, double prev_x1, struct sink *sink)
{
    struct {
        size_t pos;
        size_t end;
    } stack[RT_MAX_LEVELS];
    const struct rt_box *boxes = t->boxes;
    const uint32_t *ids = t->ids;
    size_t top = t->nlevels - 1;
    size_t sp = 1;

    stack[0].pos = t->nnodes - 1;
    stack[0].end = t->nnodes;
    while (sp > 0) {
        size_t level = top - (sp - 1);
        size_t pos = stack[sp - 1].pos;
        size_t end = stack[sp - 1].end;
        if (level == 0) {
            /* A run of items: test them all, then pop. */
            for (size_t p = pos; p < end; p++) {
                const struct rt_box *b = &boxes[p];
                if (b->maxx < q->minx || b->minx > q->maxx ||
                    b->maxy < q->miny || b->miny > q->maxy)
                    continue;
                if (dedup && b->minx <= prev_x1)
                    continue;
                int rc = emit(sink, ids, p, p + 1);
                if (rc != 0)
                    return rc;
            }
            sp--;
            continue;
        }
        if (pos == end) {
            sp--;
            continue;
        }
        stack[sp - 1].pos = pos + 1;
        const struct rt_box *b = &boxes[pos];
        if (b->maxx < q->minx || b->minx > q->maxx || b->maxy < q->miny ||
            b->miny > q->maxy)
            continue;
        /* A query box is narrower than 360 degrees, so a node inside it
         * lies east of the previous pass's box; the dedup test here only
         * guards against rounding of the shifted boxes. */
        if (b->minx >= q->minx && b->maxx <= q->maxx && b->miny >= q->miny &&
            b->maxy <= q->maxy && !(dedup && b->minx <= prev_x1)) {
            size_t span = t->level_span[level];
            size_t first = (pos - t->level_end[level - 1]) * span;
            size_t last = t->nitems - first > span ? first + span : t->nitems;
            int rc = emit(sink, ids, first, last);
            if (rc != 0)
                return rc;
            continue;
        }
        size_t first = ids[pos];
        size_t level_below_end = t->level_end[level - 1];
        LC_ASSERT(sp < RT_MAX_LEVELS);
        stack[sp].pos = first;
        stack[sp].end = level_below_end - first > t->node_size
                            ? first + t->node_size
                            : level_below_end;
        sp++;
    }
    return 0;
}

static int search(const struct lc__rtree *tree, const double box[4],
                  struct sink *sink, struct lc__errbuf *err)
{
    double minx = box[0];
    double miny = box[1];
    double maxx = box[2];
    double maxy = box[3];

    LC_RETURN_IF(isnan(minx) || isnan(miny) || isnan(maxx) || isnan(maxy), err,
                 LC_EINVAL, "R-tree query: NaN coordinate");
    LC_RETURN_IF(miny > maxy, err, LC_EINVAL, "R-tree query: miny %g > maxy %g",
                 miny, maxy);
    LC_RETURN_IF(minx == INFINITY || maxx == -INFINITY, err, LC_EINVAL,
                 "R-tree query: x range %g..%g is not a longitude range", minx,
                 maxx);
    if (tree->nitems == 0)
        return LC_OK;

    struct rt_box q = {.miny = miny, .maxy = maxy};
    unwrap_x(minx, maxx, &q.minx, &q.maxx);
    if (q.maxx - q.minx >= 360.0) {
        /* Every longitude: one pass, testing latitude only. */
        q.minx = -INFINITY;
        q.maxx = INFINITY;
        return search_pass(tree, &q, false, 0.0, sink);
    }

    /*
     * The stored boxes lie in [-180, 540) and the query in [-180, 540) with
     * minx < 180, so only the shifts -360, 0 and +360 can meet the tree's
     * extent (the root's box); the passes go west to east so that the
     * first pass to reach an item reports it. A pass skipped for missing
     * the extent reached no stored box, so it cannot have reported what a
     * later pass finds: dedup compares with the last pass that ran.
     */
    const struct rt_box *ext = &tree->boxes[tree->nnodes - 1];
    bool ran = false;
    double prev_x1 = 0.0;
    for (int k = -1; k <= 1; k++) {
        struct rt_box qk = q;
        qk.minx = q.minx + 360.0 * k;
        qk.maxx = q.maxx + 360.0 * k;
        if (qk.maxx < ext->minx || qk.minx > ext->maxx)
            continue;
        int rc = search_pass(tree, &qk, ran, prev_x1, sink);
        if (rc != 0)
            return rc;
        ran = true;
        prev_x1 = qk.maxx;
    }
    return LC_OK;
}

int lc__rtree_search(const struct lc__rtree *tree, const double box[4],
                     lc__rtree_visit_fn visit, void *opaque,
                     struct lc__errbuf *err)
{
    struct sink sink = {visit, opaque, tree, NULL};

    return search(tree, box, &sink, err);
}

/* ---- hit lists ----------------------------------------------------------- */

/*
 * Puts the n distinct item indices of hits (all below nitems) in
 * ascending order, with scratch space from the list itself, grown when
 * needed. Three ways, by cost:
 *   - a few hits: insertion sort, in place;
 *   - many hits for the tree's size (a query over much of the world):
 *     set one bit per hit in a bitmap of nitems bits, then read the bits
 *     back in order; O(nitems / 64 + n);
 *   - otherwise: radix sort, 8 bits per pass, only as many passes as
 *     nitems needs, into n more entries.
 */
static int sort_hits(const struct lc__rtree *t, struct lc__rtree_hits *hits)
{
    size_t n = hits->count;
    size_t *a = hits->items;

    if (n < 32) {
        for (size_t i = 1; i < n; i++) {
            size_t v = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return LC_OK;
    }

    /* The bitmap is made of size_t words, so it lives in the list's
     * memory without any alignment concern. */
    enum { WORD_BITS = sizeof(size_t) * CHAR_BIT };
    size_t nwords = t->nitems / WORD_BITS + 1;
    bool bitmap = nwords <= 4 * n;
    size_t need;
    if (!lc__size_add(n, bitmap ? nwords : n, &need))
        return LC_ENOMEM;
    if (hits->cap < need) {
        LC_FORWARD_IF_ERROR(grow_hits(t, hits, need));
        a = hits->items;
    }

    if (bitmap) {
        /* The bitmap sits after the hits; reading it back overwrites
         * only the hits, which are all in the bitmap by then. */
        size_t *bits = a + n;
        memset(bits, 0, nwords * sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            bits[a[i] / WORD_BITS] |= (size_t)1 << (a[i] % WORD_BITS);
        size_t *out = a;
        for (size_t w = 0; w < nwords; w++) {
            size_t word = bits[w];
            while (word != 0) {
                *out++ = w * WORD_BITS +
                         (size_t)__builtin_ctzll((unsigned long long)word);
                word &= word - 1;
            }
        }
        LC_ASSERT(out == a + n);
        return LC_OK;
    }

    size_t *src = a;
    size_t *dst = a + n;
    for (unsigned shift = 0; shift < 64 && (t->nitems - 1) >> shift != 0;
         shift += 8) {
        size_t hist[256];
        memset(hist, 0, sizeof(hist));
        for (size_t i = 0; i < n; i++)
            hist[(src[i] >> shift) & 0xff]++;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = hist[b];
            hist[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[hist[(src[i] >> shift) & 0xff]++] = src[i];
        size_t *tmp = src;
        src = dst;
        dst = tmp;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(size_t));
    return LC_OK;
}

int lc__rtree_query(const struct lc__rtree *tree, const double box[4],
                    struct lc__rtree_hits *hits, struct lc__errbuf *err)
{
    struct sink sink = {NULL, NULL, tree, hits};

    hits->count = 0;
    int rc = search(tree, box, &sink, err);
    if (rc == LC_OK)
        rc = sort_hits(tree, hits);
    if (rc != LC_OK) {
        size_t n = hits->count;
        hits->count = 0;
        if (rc == LC_ENOMEM)
            return lc__error(
                err, rc, "R-tree query: cannot grow the list of %zu hits", n);
        return rc;
    }
    return LC_OK;
}

void lc__rtree_hits_free(const struct lc__rtree *tree,
                         struct lc__rtree_hits *hits)
{
    if (hits == NULL)
        return;
    lc__free(tree != NULL ? &tree->allocator : NULL, hits->items);
    hits->items = NULL;
    hits->count = 0;
    hits->cap = 0;
}
