/* rtree.h - packed Hilbert R-tree: which items touch this lon/lat box? */
/* SPDX-License-Identifier: MIT */
#ifndef LC_RTREE_H
#define LC_RTREE_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * A static spatial index over the lon/lat bounding boxes (EPSG:4326) of
 * the items of a collection. The engine builds it once at open() and asks
 * it, for every chunk read, which items' boxes intersect the chunk's
 * window transformed to EPSG:4326.
 *
 * Design (the "packed Hilbert R-tree" of Kamel and Faloutsos, laid out like
 * flatbush): the boxes are sorted by the Hilbert value of their centres on
 * a 2^16 x 2^16 grid over the total extent, so that neighbours on the
 * curve are neighbours in space; runs of node_size sorted boxes become the
 * leaves' parents, runs of node_size parents their parents, and so on up
 * to a single root. The tree is never modified afterwards, so every node
 * is full (except the last of each level) and the whole tree lives in one
 * allocation, levels stored one after another:
 *
 *   boxes: [ item boxes, Hilbert order | level 1 | level 2 | ... | root ]
 *   ids:   [ item index of each box    | position of the node's first
 *                                        child in the level below       ]
 *
 * Building costs O(n) (radix sort on the 32-bit Hilbert values) plus one
 * random-access pass to place the boxes; a query costs O(log n + hits),
 * and a node lying wholly inside the query box hands over its run of
 * items without testing them.
 *
 * Longitude is periodic. A box's x range [minx, maxx] means the longitudes
 * from minx eastwards to maxx:
 *   - minx <= maxx: the plain range; a range of 360 degrees or more covers
 *     every longitude. Ranges written "unwrapped" past the antimeridian
 *     (170..190, or -190..-170) mean what they say: 170..190 is the same
 *     set as 170..-170.
 *   - minx > maxx: the box crosses the antimeridian, as STAC writes it
 *     (170..-170 is 170..180 plus -180..-170).
 * Both items and queries follow this rule; x = 180 and x = -180 are the
 * same meridian, so an item ending at 180 touches a query starting at
 * -180. Latitude (y) is not periodic: [miny, maxy] is taken as is.
 * Boxes are closed: touching counts as intersecting, and points and lines
 * (minx == maxx or miny == maxy) are boxes like any other.
 *
 * How the tree stores crossing boxes: every box is stored once, unwrapped
 * so that minx lies in [-180, 180) and maxx >= minx (170..-170 becomes
 * 170..190; a box of 360 degrees or more becomes -180..180). Stored x
 * values therefore lie in [-180, 540). A query is normalised the same way
 * and run against the tree up to three times, shifted by -360, 0 and +360
 * degrees (only the shifts that reach the tree's extent: a single pass
 * unless stored boxes or the query reach the antimeridian); an item that a
 * later shift hits again is skipped, so each item is reported once,
 * without any memory for deduplication. Boxes inside [-180, 180) are
 * stored exactly; the unwrapped end of a crossing box (maxx + 360) may
 * carry one rounding of the addition (about 1e-13 degrees).
 *
 * Thread safety: a built tree is never modified, so any number of threads
 * may query it at once (each with its own struct lc__rtree_hits). Building
 * and freeing are not concurrent with anything else on the same tree.
 * A callback is never called when the call that took it fails before the
 * search starts (bad query box).
 */

/* Default number of children per node: a good balance between the depth
 * of the tree and the work done per visited node (flatbush's default). */
#define LC__RTREE_DEFAULT_NODE_SIZE 16
/* Accepted node sizes (children per node). */
#define LC__RTREE_MIN_NODE_SIZE 2
#define LC__RTREE_MAX_NODE_SIZE 1024
/* Items are numbered with 32-bit integers inside the tree (half the memory
 * of size_t, and faster to scan); 2^30 items would need 40 GiB anyway. */
#define LC__RTREE_MAX_ITEMS ((size_t)1 << 30)

struct lc__rtree;

/* Build options. An all-zero struct gives the defaults. */
struct lc__rtree_options {
    /* Children per node, LC__RTREE_MIN_NODE_SIZE to
     * LC__RTREE_MAX_NODE_SIZE; 0 means LC__RTREE_DEFAULT_NODE_SIZE. */
    size_t node_size;
    /* Allocator for the tree and for the hit lists its queries grow;
     * all zero means malloc/free. Copied into the tree. */
    struct lc_allocator allocator;
};

/*
 * Builds a tree over nitems boxes. boxes holds 4 * nitems doubles, item i
 * being (minx, miny, maxx, maxy) = boxes[4 * i + 0..3] in degrees (see the
 * longitude rule above); the item index reported by queries is i. boxes is
 * only read during the call. opts may be NULL for the defaults. nitems may
 * be 0 (every query finds nothing); boxes may then be NULL.
 *
 * Returns LC_OK with the tree in *tree_ret, or (with *tree_ret set to NULL
 * and a message in err, which may be NULL):
 *   LC_EINVAL  a coordinate is NaN or infinite, miny > maxy, a bad node
 *              size, or NULL boxes with nitems > 0;
 *   LC_ELIMIT  nitems > LC__RTREE_MAX_ITEMS;
 *   LC_ENOMEM  an allocation failed (nothing stays allocated).
 * The tree takes one allocation; the build borrows one more, of 16 bytes
 * per item, and frees it before returning. Free with lc__rtree_free.
 */
int lc__rtree_build(const double *boxes, size_t nitems,
                    const struct lc__rtree_options *opts,
                    struct lc__rtree **tree_ret, struct lc__errbuf *err);

/* Frees a tree; NULL does nothing. Hit lists filled by its queries stay
 * valid, but must be freed with lc__rtree_hits_free on a tree using the
 * same allocator (the simplest rule: free them before the tree). */
void lc__rtree_free(struct lc__rtree *tree);

/* The number of items the tree was built over. */
size_t lc__rtree_nitems(const struct lc__rtree *tree);

/* The size in bytes of the tree's one allocation (for memory budgets). */
size_t lc__rtree_nbytes(const struct lc__rtree *tree);

/*
 * Called once per item whose box intersects the query box, with the item
 * index. Returns 0 to go on; any other value stops the search, which then
 * returns that value (a negative LC_E code to report an error, or a
 * positive value to stop early, "found what I wanted").
 */
typedef int (*lc__rtree_visit_fn)(void *opaque, size_t item);

/*
 * Calls visit(opaque, item) for each item whose box intersects box, which
 * holds (minx, miny, maxx, maxy) in degrees under the longitude rule
 * above. Each item is reported exactly once, in the tree's order (Hilbert
 * order, pass by pass), NOT in item order: use lc__rtree_query when the
 * order matters. Allocates nothing.
 *
 * The query box may use infinities to mean "no bound" (minx = -inf or
 * maxx = +inf covers every longitude; miny = -inf, maxy = +inf every
 * latitude). Returns LC_OK, whatever a callback returned to stop, or
 * LC_EINVAL (message in err, which may be NULL) for a NaN coordinate,
 * miny > maxy, minx = +inf or maxx = -inf; visit is then never called.
 */
int lc__rtree_search(const struct lc__rtree *tree, const double box[4],
                     lc__rtree_visit_fn visit, void *opaque,
                     struct lc__errbuf *err);

/*
 * A growable list of hits, reused across queries so that a reader thread
 * allocates only while its lists grow. Start from all zero
 * ({NULL, 0, 0}); the tree's allocator grows it; free it with
 * lc__rtree_hits_free.
 */
struct lc__rtree_hits {
    size_t *items; /* count item indices, strictly ascending */
    size_t count;  /* number of hits of the last query */
    size_t cap;    /* allocated entries of items (the sort of a query uses
                    * those past count as scratch) */
};

/*
 * Replaces the contents of hits with the indices of the items whose box
 * intersects box (same box rules as lc__rtree_search), in ascending item
 * index order: the engine relies on item order being its sort order.
 * Returns LC_OK, LC_EINVAL (bad query box, as for lc__rtree_search) or
 * LC_ENOMEM; after an error hits->count is 0 and hits stays freeable.
 * hits->items may move whenever the list grows.
 */
int lc__rtree_query(const struct lc__rtree *tree, const double box[4],
                    struct lc__rtree_hits *hits, struct lc__errbuf *err);

/* Frees the list's memory with tree's allocator and zeroes *hits. tree must
 * be the tree (or one with the same allocator) that grew the list; hits
 * may be NULL, or all zero. */
void lc__rtree_hits_free(const struct lc__rtree *tree,
                         struct lc__rtree_hits *hits);

/*
 * Sets d_out[i] to the distance of cell (x[i], y[i]) of a 2^16 x 2^16 grid
 * along the Hilbert curve that starts at (0, 0) and ends at (65535, 0), in
 * [0, 2^32), for i < n; x and y must be below 65536. Exposed for the
 * tests, which compare it with the textbook algorithm.
 */
void lc__rtree_hilbert(const uint32_t *x, const uint32_t *y, uint32_t *d_out,
                       size_t n);

#endif /* LC_RTREE_H */
