/* approx.c - the approximate transformer: source positions of a block. */
/* SPDX-License-Identifier: MIT */

/*
 * The approximate transformer
 * ===========================
 *
 * Warping a 2048 x 2048 block needs the source position of 4.2 million
 * pixel centres. PROJ takes about 0.4 microseconds per point for a UTM to
 * Albers transform, which alone would cap a warp near 2.5 million pixels per
 * second. Map projections are smooth at the scale of a block, so this module
 * transforms a sparse set of control points exactly and interpolates
 * between them, refining where the interpolation is not good enough. GDAL's
 * GDALApproxTransform does the same per scanline, linearly; doing it in two
 * dimensions with quadratic patches needs far fewer exact points for a much
 * smaller error, and lets each kernel run a straight loop over a row of
 * precomputed positions.
 *
 * Control points sit on destination pixel centres. A cell spans the pixel
 * centres i0..i1 x j0..j1 (inclusive) and owns the pixels [i0, i1) x
 * [j0, j1): a pixel on the edge between two cells takes the value of the
 * cell on its right or below, whatever the other one says. Its patch is
 * the biquadratic
 * (tensor-product Lagrange) interpolant of the exact source positions at a
 * 3 x 3 grid of nodes, corners, edge midpoints and centre, and is checked
 * against exact positions at four quarter points:
 *
 *     N ----------- N ----------- N        N  nodes: interpolated exactly
 *     |     q       |      q      |        q  checks: interpolation error
 *     N ----------- N ----------- N           must be <= max_error / 2
 *     |     q       |      q      |           source pixels (Euclidean)
 *     N ----------- N ----------- N
 *
 * (A cell spanning fewer than three pixels along an axis has two nodes, or
 * one, there; a cell of at most 3 x 3 pixels is all nodes, hence exact.)
 *
 * The lattice (window independence). The first-level cells are the squares
 * [c * s, (c + 1) * s] x [r * s, (r + 1) * s] (s = max_cell) of the anchor
 * grid's pixels (approx.h: the grid the block is a window of; the block
 * itself without one), not of the block's: a block covers itself with the
 * first-level cells that own its pixels, even where they reach past its
 * edges or past the anchor grid's. Everything that follows depends only
 * on a cell and the anchor grid: its node and check pixels (differences
 * of whole pixel indices), their exact positions (computed from anchor
 * grid indices, in full-level source pixels), its refinement, its
 * patches' coefficients. So a pixel gets the same bits in every block
 * that holds it; the source window offset is subtracted last, which is
 * exact for a position inside the window (both are multiples of the
 * position's last bit and the difference is no larger than it).
 *
 * Build (breadth first, one PROJ call per level):
 *   1. cover the block with the first-level cells owning its pixels and
 *      transform their corners;
 *   2. for every pending cell, transform its other nodes and its checks;
 *      where every node and check is finite and no check is off by more
 *      than half of max_error (the other half is room for the error between
 *      the checks), the cell becomes a leaf patch; otherwise its nodes
 *      become the corners of its two or four children, which go to the next
 *      level;
 *   3. a cell that is all nodes is a leaf whatever its values (this is where
 *      refinement ends on a discontinuity, such as the antimeridian or the
 *      edge of a projection's domain; pixels whose transform failed stay NaN
 *      there).
 *
 * Why the checks bound the error: a biquadratic patch reproduces every
 * monomial u^a v^b with a, b <= 2, so its error is led by the u^3 and v^3
 * terms, u(u - 1/2)(u - 1) X_uuu / 6 and the like, whose extremes lie at
 * u = 0.21 and 0.79, next to the quarter points; fourth-order terms shrink
 * with the fourth power of the cell size. test_geo checks the bound pixel
 * by pixel for UTM -> EPSG:5070, UTM -> EPSG:4326, EPSG:4326 -> EPSG:3031
 * (blocks holding the pole) and across the antimeridian. In practice the
 * error of a smooth 128-pixel cell is at most a ten-thousandth of a pixel, so
 * nearest-neighbour picks agree with an exact transform at all but a few
 * pixels in 10^4 (tests/python/test_warp_oracle.py).
 *
 * Rows are produced from the leaves: for destination row j, every leaf of
 * the band of first-level cells holding j contributes the segment row j cuts
 * through it, a quadratic in the column evaluated with two multiply-adds per
 * coordinate.
 *
 * If the refinement of a first-level cell would hold more than about a
 * sixteenth of its pixels in leaves (a mapping too rough to interpolate),
 * that cell is transformed exactly at each of its pixels inside the block
 * instead: a decision that, like everything else, depends on the cell
 * only.
 */
#include "../common/common.h"

#include "approx.h"

#include <math.h>

#include "../common/alloc.h"

enum map_kind { KIND_AFFINE = 0, KIND_APPROX = 1, KIND_EXACT = 2 };

/* Most points a pending cell asks for (see cell_points). */
#define LC_CELL_POINTS 11

/* Exact maps hold 16 bytes per pixel; 2^28 pixels is 4 GiB. */
#define LC_EXACT_MAX_PIXELS ((size_t)1 << 28)

/* The largest max_cell accepted (keeps lattice indices in uint32). */
#define LC_APPROX_MAX_CELL_LIMIT 65536u

/*
 * Pixel indices inside a map are lattice-local: column li is column
 * lat_col + li of the anchor grid, where lat_col is the multiple of s at
 * or before the block's first column (likewise rows). The block's pixel
 * (i, j) is lattice-local (wi0 + i, wj0 + j), with wi0, wj0 < s.
 */

/* A cell waiting for its test: the corners are known. */
struct cell {
    uint32_t i0, i1, j0, j1;
    uint32_t root; /* the first-level cell it comes from */
    /* Source positions of the corners (i0,j0), (i1,j0), (i0,j1), (i1,j1). */
    double x[4];
    double y[4];
};

/*
 * A leaf: the patch through the node grid of its cell, owning [i0, i1) x
 * [j0, j1); or (exact) positions transformed one by one, of the pixels
 * [i0, i1) x [j0, j1) (a first-level cell's pixels inside the block), row
 * by row from xs[off] and ys[off] of the map.
 */
struct patch {
    uint32_t i0, i1, j0, j1;
    uint32_t u[3]; /* node columns, nu of them */
    uint32_t v[3]; /* node rows, nv of them */
    uint32_t root;
    uint8_t nu;
    uint8_t nv;
    uint8_t all_nodes; /* every pixel of the cell is a node */
    uint8_t exact;
    size_t off;  /* exact: first position in xs, ys */
    double x[9]; /* node (a, b), column u[a], row v[b], at b * 3 + a */
    double y[9];
};

struct lc__srcmap {
    struct lc_allocator alloc;
    enum map_kind kind;
    uint32_t width;
    uint32_t height;
    double dst_gt[6];   /* the anchor grid's */
    int64_t anchor_col; /* the block's pixel (0, 0) in the anchor grid */
    int64_t anchor_row;
    double src_inv[6];
    double src_gt[6];
    double col_off; /* window offsets, subtracted from full-level positions */
    double row_off;
    /* The lattice (KIND_APPROX; KIND_EXACT: the block, wi0 = wj0 = 0). */
    int64_t lat_col;
    int64_t lat_row;
    uint32_t wi0;
    uint32_t wj0;
    /* KIND_APPROX: leaves grouped by band of first-level cell rows. */
    struct patch *cells;
    size_t ncells;
    uint32_t band_rows;
    size_t nbands;
    size_t *band_start; /* nbands + 1 entries */
    /* KIND_EXACT: width * height positions, row by row; KIND_APPROX: those
     * of the exact leaves. Full-level source pixels. */
    double *xs;
    double *ys;
    size_t ntransformed;
    /* lc__srcmap_scale at the options' reference point, when known. */
    bool has_scale;
    double scale_x;
    double scale_y;
};

/* ---- exact positions --------------------------------------------------- */

struct builder {
    struct lc__srcmap *map;
    struct lc__transform *tf;
};

/*
 * Source positions, in full-level source pixels (no window offset), of
 * the lattice-local destination pixel centres (ii[k], jj[k]) into (sx[k],
 * sy[k]): anchor geotransform, transform, inverse source geotransform, each
 * as GDAL's GDALGenImgProjTransform orders them.
 */
static void eval_points(struct builder *b, const uint32_t *ii,
                        const uint32_t *jj, size_t n, double *sx, double *sy)
{
    const struct lc__srcmap *m = b->map;
    const double *g = m->dst_gt;
    for (size_t k = 0; k < n; k++) {
        double px = (double)(m->lat_col + (int64_t)ii[k]) + 0.5;
        double py = (double)(m->lat_row + (int64_t)jj[k]) + 0.5;
        sx[k] = g[0] + px * g[1] + py * g[2];
        sy[k] = g[3] + px * g[4] + py * g[5];
    }
    (void)lc__transform_points(b->tf, sx, sy, n);
    b->map->ntransformed += n;
    const double *v = m->src_inv;
    for (size_t k = 0; k < n; k++) {
        double x = sx[k];
        double y = sy[k];
        if (!isfinite(x) || !isfinite(y)) {
            sx[k] = NAN;
            sy[k] = NAN;
            continue;
        }
        sx[k] = v[0] + x * v[1] + y * v[2];
        sy[k] = v[3] + x * v[4] + y * v[5];
    }
}

/* ---- patches ------------------------------------------------------------- */

/* The nodes along one axis of a cell spanning lo..hi: 3, 2 or 1. */
static uint8_t axis_nodes(uint32_t lo, uint32_t hi, uint32_t out[3])
{
    out[0] = lo;
    if (hi == lo)
        return 1;
    if (hi - lo == 1) {
        out[1] = hi;
        return 2;
    }
    out[1] = lo + (hi - lo) / 2;
    out[2] = hi;
    return 3;
}

/* The check positions along one axis: the columns near a quarter and three
 * quarters of the span that are not nodes (none for spans under 3). */
static unsigned axis_checks(uint32_t lo, uint32_t hi, const uint32_t *nodes,
                            uint8_t n, uint32_t out[2])
{
    if (hi - lo < 3)
        return 0;
    uint32_t s = hi - lo;
    const uint32_t cand[2] = {lo + (s + 2) / 4, lo + (3 * s + 2) / 4};
    unsigned k = 0;
    for (int q = 0; q < 2; q++) {
        bool taken = k > 0 && out[k - 1] == cand[q];
        for (uint8_t m = 0; m < n; m++)
            taken = taken || nodes[m] == cand[q];
        if (!taken)
            out[k++] = cand[q];
    }
    return k;
}

/* Lagrange weights of the n nodes t[] at position p. */
static void lagrange(const uint32_t *t, uint8_t n, double p, double w[3])
{
    if (n == 1) {
        w[0] = 1.0;
        return;
    }
    if (n == 2) {
        double f = (p - (double)t[0]) / (double)(t[1] - t[0]);
        w[0] = 1.0 - f;
        w[1] = f;
        return;
    }
    double t0 = t[0], t1 = t[1], t2 = t[2];
    w[0] = (p - t1) * (p - t2) / ((t0 - t1) * (t0 - t2));
    w[1] = (p - t0) * (p - t2) / ((t1 - t0) * (t1 - t2));
    w[2] = (p - t0) * (p - t1) / ((t2 - t0) * (t2 - t1));
}

/* The patch's position at pixel (i, j) of its cell. */
static void patch_eval(const struct patch *p, double i, double j, double *x,
                       double *y)
{
    double wu[3], wv[3];
    lagrange(p->u, p->nu, i, wu);
    lagrange(p->v, p->nv, j, wv);
    double sx = 0.0, sy = 0.0;
    for (uint8_t b = 0; b < p->nv; b++) {
        double rx = 0.0, ry = 0.0;
        for (uint8_t a = 0; a < p->nu; a++) {
            rx += wu[a] * p->x[b * 3 + a];
            ry += wu[a] * p->y[b * 3 + a];
        }
        sx += wv[b] * rx;
        sy += wv[b] * ry;
    }
    *x = sx;
    *y = sy;
}

/*
 * The points a pending cell needs transformed: first its nodes other than
 * the corners (row by row), then its checks. Returns how many were written
 * (at most 5 nodes + 6 checks: 3 node lines by 2 quarters when one
 * axis is all nodes) and the number of nodes among them in *nnodes.
 */
static unsigned cell_points(const struct cell *c, uint32_t pi[LC_CELL_POINTS],
                            uint32_t pj[LC_CELL_POINTS], unsigned *nnodes)
{
    uint32_t u[3], v[3], cu[2], cv[2];
    uint8_t nu = axis_nodes(c->i0, c->i1, u);
    uint8_t nv = axis_nodes(c->j0, c->j1, v);
    unsigned n = 0;
    for (uint8_t b = 0; b < nv; b++) {
        for (uint8_t a = 0; a < nu; a++) {
            bool corner = (a == 0 || a == nu - 1) && (b == 0 || b == nv - 1);
            if (!corner) {
                pi[n] = u[a];
                pj[n] = v[b];
                n++;
            }
        }
    }
    *nnodes = n;
    unsigned ncu = axis_checks(c->i0, c->i1, u, nu, cu);
    unsigned ncv = axis_checks(c->j0, c->j1, v, nv, cv);
    /* Quarter points inside; along node lines where an axis has none. */
    const uint32_t *ci = ncu > 0 ? cu : u;
    const uint32_t *cj = ncv > 0 ? cv : v;
    unsigned ni = ncu > 0 ? ncu : nu;
    unsigned nj = ncv > 0 ? ncv : nv;
    if (ncu == 0 && ncv == 0)
        return n;
    for (unsigned b = 0; b < nj; b++) {
        for (unsigned a = 0; a < ni; a++) {
            pi[n] = ci[a];
            pj[n] = cj[b];
            n++;
        }
    }
    return n;
}

/* The patch of a cell from its corners and its other nodes (as ordered by
 * cell_points). */
static void make_patch(const struct cell *c, const double *nx, const double *ny,
                       struct patch *p)
{
    p->i0 = c->i0;
    p->i1 = c->i1;
    p->j0 = c->j0;
    p->j1 = c->j1;
    p->nu = axis_nodes(c->i0, c->i1, p->u);
    p->nv = axis_nodes(c->j0, c->j1, p->v);
    p->all_nodes = c->i1 - c->i0 <= 2 && c->j1 - c->j0 <= 2;
    p->root = c->root;
    p->exact = 0;
    p->off = 0;
    unsigned k = 0;
    for (uint8_t b = 0; b < p->nv; b++) {
        for (uint8_t a = 0; a < p->nu; a++) {
            int corner = -1;
            if (a == 0 && b == 0)
                corner = 0;
            else if (a == p->nu - 1 && b == 0)
                corner = 1;
            else if (a == 0 && b == p->nv - 1)
                corner = 2;
            else if (a == p->nu - 1 && b == p->nv - 1)
                corner = 3;
            if (corner >= 0) {
                p->x[b * 3 + a] = c->x[corner];
                p->y[b * 3 + a] = c->y[corner];
            } else {
                p->x[b * 3 + a] = nx[k];
                p->y[b * 3 + a] = ny[k];
                k++;
            }
        }
    }
}

/* ---- the approximate build ---------------------------------------------- */

/* Growable arrays, capped by the caller. */
struct cell_vec {
    struct cell *v;
    size_t n;
    size_t cap;
};

struct patch_vec {
    struct patch *v;
    size_t n;
    size_t cap;
};

static bool grow(const struct lc_allocator *a, void **v, size_t n, size_t *cap,
                 size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap != 0 ? *cap * 2 : 64;
    size_t nbytes;
    if (!lc__size_mul(ncap, elem, &nbytes))
        return false;
    void *p = lc__realloc(a, *v, n * elem, nbytes);
    if (p == NULL)
        return false;
    *v = p;
    *cap = ncap;
    return true;
}

static int cell_push(const struct lc_allocator *a, struct cell_vec *vec,
                     const struct cell *c)
{
    void *v = vec->v;
    if (!grow(a, &v, vec->n, &vec->cap, sizeof(struct cell)))
        return LC_ENOMEM;
    vec->v = v;
    vec->v[vec->n++] = *c;
    return LC_OK;
}

static int patch_push(const struct lc_allocator *a, struct patch_vec *vec,
                      const struct patch *p)
{
    void *v = vec->v;
    if (!grow(a, &v, vec->n, &vec->cap, sizeof(struct patch)))
        return LC_ENOMEM;
    vec->v = v;
    vec->v[vec->n++] = *p;
    return LC_OK;
}

static struct cell sub_cell(const struct patch *p, uint8_t a0, uint8_t a1,
                            uint8_t b0, uint8_t b1)
{
    struct cell c = {p->u[a0], p->u[a1], p->v[b0], p->v[b1], p->root, {0}, {0}};
    const uint8_t ka[4] = {a0, a1, a0, a1};
    const uint8_t kb[4] = {b0, b0, b1, b1};
    for (int k = 0; k < 4; k++) {
        c.x[k] = p->x[kb[k] * 3 + ka[k]];
        c.y[k] = p->y[kb[k] * 3 + ka[k]];
    }
    return c;
}

/* Children of a patch that failed its checks: its nodes become their
 * corners; an axis with three nodes is halved. */
static int split(const struct lc_allocator *a, struct cell_vec *next,
                 const struct patch *p)
{
    uint8_t au = p->nu == 3 ? 2 : 1; /* pieces along u */
    uint8_t av = p->nv == 3 ? 2 : 1;
    for (uint8_t b = 0; b < av; b++) {
        for (uint8_t k = 0; k < au; k++) {
            uint8_t a0 = au == 2 ? k : 0;
            uint8_t a1 = au == 2 ? (uint8_t)(k + 1) : (uint8_t)(p->nu - 1);
            uint8_t b0 = av == 2 ? b : 0;
            uint8_t b1 = av == 2 ? (uint8_t)(b + 1) : (uint8_t)(p->nv - 1);
            struct cell c = sub_cell(p, a0, a1, b0, b1);
            if (cell_push(a, next, &c) < 0)
                return LC_ENOMEM;
        }
    }
    return LC_OK;
}

/*
 * Decides one pending cell given its transformed points (nodes first, then
 * checks, n in all): a leaf patch, or children into next.
 */
static int settle(const struct lc_allocator *a, struct patch_vec *leaves,
                  struct cell_vec *next, const struct cell *c,
                  const uint32_t *pi, const uint32_t *pj, const double *px,
                  const double *py, unsigned n, unsigned nnodes,
                  double max_error)
{
    struct patch p;
    make_patch(c, px, py, &p);
    if (p.all_nodes)
        return patch_push(a, leaves, &p);
    bool ok = true;
    for (int k = 0; ok && k < 9; k++) {
        if (k % 3 < p.nu && k / 3 < p.nv)
            ok = isfinite(p.x[k]) && isfinite(p.y[k]);
    }
    for (unsigned k = nnodes; ok && k < n; k++) {
        double x, y;
        patch_eval(&p, (double)pi[k], (double)pj[k], &x, &y);
        /* Half the bound at the checks leaves room for the error between
         * them (fourth-order terms, near poles and singular points, where
         * the quarter points are not quite at the extremes). Written so
         * that a NaN position or error also fails. */
        if (!(hypot(x - px[k], y - py[k]) <= 0.5 * max_error))
            ok = false;
    }
    if (ok)
        return patch_push(a, leaves, &p);
    return split(a, next, &p);
}

/*
 * Keeps the leaves of the roots not in `exact`, adds one exact leaf per
 * root in it (its pixels inside the block), and sorts them into bands of
 * first-level rows (counting sort). *nexact_ret: exact positions needed.
 */
static int index_bands(struct lc__srcmap *m, const struct patch_vec *leaves,
                       const uint8_t *exact, uint32_t ncx, size_t nroots,
                       size_t *nexact_ret)
{
    const struct lc_allocator *a = &m->alloc;
    size_t nb = m->nbands, nleaves = 0, nex = 0;
    uint32_t s = m->band_rows;
    for (size_t k = 0; k < leaves->n; k++)
        nleaves += !exact[leaves->v[k].root];
    for (size_t r = 0; r < nroots; r++)
        nleaves += exact[r];
    m->band_start = lc__calloc(a, nb + 1, sizeof(size_t));
    m->cells =
        lc__malloc_array(a, nleaves != 0 ? nleaves : 1, sizeof(struct patch));
    size_t *fill = lc__malloc_array(a, nb, sizeof(size_t));
    if (m->band_start == NULL || m->cells == NULL || fill == NULL) {
        lc__free(a, fill);
        return LC_ENOMEM;
    }
    for (size_t k = 0; k < leaves->n; k++) {
        if (!exact[leaves->v[k].root])
            m->band_start[leaves->v[k].j0 / s + 1]++;
    }
    for (size_t r = 0; r < nroots; r++)
        m->band_start[r / ncx + 1] += exact[r];
    for (size_t band = 0; band < nb; band++)
        m->band_start[band + 1] += m->band_start[band];
    memcpy(fill, m->band_start, nb * sizeof(size_t));
    for (size_t k = 0; k < leaves->n; k++) {
        if (!exact[leaves->v[k].root])
            m->cells[fill[leaves->v[k].j0 / s]++] = leaves->v[k];
    }
    uint32_t iend = m->wi0 + m->width, jend = m->wj0 + m->height;
    for (size_t r = 0; r < nroots; r++) {
        if (!exact[r])
            continue;
        struct patch p = {0};
        uint32_t c0 = (uint32_t)(r % ncx) * s, r0 = (uint32_t)(r / ncx) * s;
        p.i0 = c0 > m->wi0 ? c0 : m->wi0;
        p.i1 = c0 + s < iend ? c0 + s : iend;
        p.j0 = r0 > m->wj0 ? r0 : m->wj0;
        p.j1 = r0 + s < jend ? r0 + s : jend;
        p.root = (uint32_t)r;
        p.exact = 1;
        p.off = nex;
        nex += (size_t)(p.i1 - p.i0) * (p.j1 - p.j0);
        m->cells[fill[r / ncx]++] = p;
    }
    m->ncells = nleaves;
    lc__free(a, fill);
    *nexact_ret = nex;
    return LC_OK;
}

/* Transforms the pixels of the exact leaves into xs, ys (n in all). */
static int fill_exact(struct builder *b, size_t n)
{
    struct lc__srcmap *m = b->map;
    const struct lc_allocator *a = &m->alloc;
    if (n == 0)
        return LC_OK;
    if (n > LC_EXACT_MAX_PIXELS)
        return LC_ELIMIT;
    m->xs = lc__malloc_array(a, n, sizeof(double));
    m->ys = lc__malloc_array(a, n, sizeof(double));
    uint32_t *ii = lc__malloc_array(a, n, sizeof(uint32_t));
    uint32_t *jj = lc__malloc_array(a, n, sizeof(uint32_t));
    int status = LC_ENOMEM;
    if (m->xs == NULL || m->ys == NULL || ii == NULL || jj == NULL)
        goto done;
    for (size_t k = 0; k < m->ncells; k++) {
        const struct patch *p = &m->cells[k];
        if (!p->exact)
            continue;
        size_t t = p->off;
        for (uint32_t j = p->j0; j < p->j1; j++) {
            for (uint32_t i = p->i0; i < p->i1; i++) {
                ii[t] = i;
                jj[t] = j;
                t++;
            }
        }
    }
    eval_points(b, ii, jj, n, m->xs, m->ys);
    status = LC_OK;
done:
    lc__free(a, ii);
    lc__free(a, jj);
    return status;
}

/*
 * The approximate build. Returns LC_OK, LC_ENOMEM, or LC_ELIMIT (exact
 * leaves over LC_EXACT_MAX_PIXELS).
 */
static int build_approx(struct builder *b, double max_error, uint32_t s)
{
    struct lc__srcmap *m = b->map;
    const struct lc_allocator *a = &m->alloc;
    /* The first-level cells owning the block's pixels. */
    uint32_t ncx = (m->wi0 + m->width - 1) / s + 1;
    uint32_t ncy = (m->wj0 + m->height - 1) / s + 1;
    size_t nnodes = (size_t)(ncx + 1) * (ncy + 1);
    size_t nroots = (size_t)ncx * ncy;
    /* Leaves a root may hold before it goes exact: past a sixteenth of its
     * pixels, patches cost more memory than exact positions. */
    size_t root_cap = (size_t)s * s / 16 + 4;
    if (nroots > UINT32_MAX)
        return LC_ELIMIT; /* roots are numbered in uint32 */
    struct patch_vec leaves = {0};
    struct cell_vec pending = {0}, next = {0};
    uint32_t *pi = NULL, *pj = NULL;
    double *px = NULL, *py = NULL;
    size_t *nleaf = lc__calloc(a, nroots, sizeof(size_t));
    size_t *npend = lc__calloc(a, nroots, sizeof(size_t));
    uint8_t *exact = lc__calloc(a, nroots, 1);
    int status = LC_ENOMEM;

    m->band_rows = s;
    m->nbands = ncy;
    if (nleaf == NULL || npend == NULL || exact == NULL)
        goto done;

    /* 1. First-level cells and their corners. */
    pi = lc__malloc_array(a, nnodes, sizeof(uint32_t));
    pj = lc__malloc_array(a, nnodes, sizeof(uint32_t));
    px = lc__malloc_array(a, nnodes, sizeof(double));
    py = lc__malloc_array(a, nnodes, sizeof(double));
    if (pi == NULL || pj == NULL || px == NULL || py == NULL)
        goto done;
    for (uint32_t cy = 0; cy <= ncy; cy++) {
        for (uint32_t cx = 0; cx <= ncx; cx++) {
            size_t k = (size_t)cy * (ncx + 1) + cx;
            pi[k] = cx * s;
            pj[k] = cy * s;
        }
    }
    eval_points(b, pi, pj, nnodes, px, py);
    for (uint32_t cy = 0; cy < ncy; cy++) {
        for (uint32_t cx = 0; cx < ncx; cx++) {
            size_t k00 = (size_t)cy * (ncx + 1) + cx;
            size_t k10 = k00 + 1, k01 = k00 + ncx + 1, k11 = k01 + 1;
            struct cell c = {pi[k00],
                             pi[k10],
                             pj[k00],
                             pj[k01],
                             cy * ncx + cx,
                             {px[k00], px[k10], px[k01], px[k11]},
                             {py[k00], py[k10], py[k01], py[k11]}};
            if (cell_push(a, &pending, &c) < 0)
                goto done;
        }
    }

    /* 2. Level by level: transform nodes and checks, then settle. */
    while (pending.n > 0) {
        lc__free(a, pi);
        lc__free(a, pj);
        lc__free(a, px);
        lc__free(a, py);
        size_t cap = LC_CELL_POINTS * pending.n;
        pi = lc__malloc_array(a, cap, sizeof(uint32_t));
        pj = lc__malloc_array(a, cap, sizeof(uint32_t));
        px = lc__malloc_array(a, cap, sizeof(double));
        py = lc__malloc_array(a, cap, sizeof(double));
        if (pi == NULL || pj == NULL || px == NULL || py == NULL)
            goto done;
        size_t t = 0;
        for (size_t k = 0; k < pending.n; k++) {
            unsigned nn;
            t += cell_points(&pending.v[k], pi + t, pj + t, &nn);
        }
        eval_points(b, pi, pj, t, px, py);
        t = 0;
        next.n = 0;
        size_t nl0 = leaves.n;
        for (size_t k = 0; k < pending.n; k++) {
            unsigned nn;
            uint32_t ti[LC_CELL_POINTS], tj[LC_CELL_POINTS];
            unsigned n = cell_points(&pending.v[k], ti, tj, &nn);
            status = settle(a, &leaves, &next, &pending.v[k], pi + t, pj + t,
                            px + t, py + t, n, nn, max_error);
            if (status < 0)
                goto done;
            t += n;
        }
        status = LC_ENOMEM;
        /* A root whose leaves and pending cells pass its cap goes exact:
         * its cells are refined no further. */
        for (size_t k = nl0; k < leaves.n; k++)
            nleaf[leaves.v[k].root]++;
        for (size_t k = 0; k < next.n; k++)
            npend[next.v[k].root]++;
        for (size_t k = 0; k < next.n; k++) {
            uint32_t r = next.v[k].root;
            if (nleaf[r] + npend[r] > root_cap)
                exact[r] = 1;
        }
        size_t kept = 0;
        for (size_t k = 0; k < next.n; k++) {
            npend[next.v[k].root] = 0;
            if (!exact[next.v[k].root])
                next.v[kept++] = next.v[k];
        }
        next.n = kept;
        struct cell_vec tmp = pending;
        pending = next;
        next = tmp;
    }

    /* 3. Index the leaves by band, transform the exact ones. */
    size_t nex = 0;
    status = index_bands(m, &leaves, exact, ncx, nroots, &nex);
    if (status == LC_OK)
        status = fill_exact(b, nex);

done:
    lc__free(a, pi);
    lc__free(a, pj);
    lc__free(a, px);
    lc__free(a, py);
    lc__free(a, leaves.v);
    lc__free(a, pending.v);
    lc__free(a, next.v);
    lc__free(a, nleaf);
    lc__free(a, npend);
    lc__free(a, exact);
    return status;
}

/* ---- the exact build ----------------------------------------------------- */

static int build_exact(struct builder *b, struct lc__errbuf *err)
{
    struct lc__srcmap *m = b->map;
    const struct lc_allocator *a = &m->alloc;
    size_t npix = (size_t)m->width * m->height;
    LC_RETURN_IF(npix > LC_EXACT_MAX_PIXELS, err, LC_ELIMIT,
                 "an exact source map of %ux%u pixels is over the limit",
                 m->width, m->height);
    m->xs = lc__malloc_array(a, npix, sizeof(double));
    m->ys = lc__malloc_array(a, npix, sizeof(double));
    uint32_t *ii = lc__malloc_array(a, m->width, sizeof(uint32_t));
    uint32_t *jj = lc__malloc_array(a, m->width, sizeof(uint32_t));
    if (m->xs == NULL || m->ys == NULL || ii == NULL || jj == NULL) {
        lc__free(a, ii);
        lc__free(a, jj);
        return lc__error(err, LC_ENOMEM, "out of memory for an exact map");
    }
    for (uint32_t i = 0; i < m->width; i++)
        ii[i] = i;
    for (uint32_t j = 0; j < m->height; j++) {
        for (uint32_t i = 0; i < m->width; i++)
            jj[i] = j;
        size_t off = (size_t)j * m->width;
        eval_points(b, ii, jj, m->width, m->xs + off, m->ys + off);
    }
    lc__free(a, ii);
    lc__free(a, jj);
    m->kind = KIND_EXACT;
    return LC_OK;
}

/* ---- the map ------------------------------------------------------------- */

static void free_parts(struct lc__srcmap *m)
{
    const struct lc_allocator *a = &m->alloc;
    lc__free(a, m->cells);
    lc__free(a, m->band_start);
    lc__free(a, m->xs);
    lc__free(a, m->ys);
    m->cells = NULL;
    m->band_start = NULL;
    m->xs = NULL;
    m->ys = NULL;
    m->ncells = 0;
}

void lc__srcmap_free(struct lc__srcmap *map)
{
    if (map == NULL)
        return;
    struct lc_allocator a = map->alloc;
    free_parts(map);
    lc__free(&a, map);
}

/* The source pixel position of destination CRS point (x, y): false when
 * it does not transform. */
static bool point_to_src(struct builder *b, double x, double y, double *sx,
                         double *sy)
{
    const struct lc__srcmap *m = b->map;
    if (lc__transform_points(b->tf, &x, &y, 1) != 0 || !isfinite(x) ||
        !isfinite(y))
        return false;
    lc__gt_apply(m->src_inv, x, y, sx, sy);
    return true;
}

/* The scale at the options' reference point: the images of one
 * destination pixel step along x and along y there. */
static void scale_at_ref(struct builder *b, double rx, double ry)
{
    struct lc__srcmap *m = b->map;
    const double *g = m->dst_gt;
    double x0, y0, x1, y1, x2, y2;
    m->ntransformed += 3;
    if (!point_to_src(b, rx, ry, &x0, &y0) ||
        !point_to_src(b, rx + g[1], ry + g[4], &x1, &y1) ||
        !point_to_src(b, rx + g[2], ry + g[5], &x2, &y2))
        return;
    double fx = hypot(x1 - x0, y1 - y0), fy = hypot(x2 - x0, y2 - y0);
    if (fx > 0.0 && isfinite(fx) && fy > 0.0 && isfinite(fy)) {
        m->has_scale = true;
        m->scale_x = fx;
        m->scale_y = fy;
    }
}

/* Checks the anchor options against dst. */
static int check_anchor(const struct lc__approx_options *o,
                        const struct lc__grid *dst, struct lc__errbuf *err)
{
    const double *A = o->anchor_gt;
    for (int k = 0; k < 6; k++)
        LC_RETURN_IF(!isfinite(A[k]), err, LC_EINVAL,
                     "anchor geotransform is not finite");
    LC_RETURN_IF(A[1] != dst->gt[1] || A[2] != dst->gt[2] ||
                     A[4] != dst->gt[4] || A[5] != dst->gt[5],
                 err, LC_EINVAL,
                 "the block's pixel size differs from the anchor grid's");
    LC_RETURN_IF(o->anchor_col < -((int64_t)1 << 52) ||
                     o->anchor_col > ((int64_t)1 << 52) ||
                     o->anchor_row < -((int64_t)1 << 52) ||
                     o->anchor_row > ((int64_t)1 << 52),
                 err, LC_EINVAL, "anchor offset out of range");
    double c = (double)o->anchor_col, r = (double)o->anchor_row;
    double x = A[0] + c * A[1] + r * A[2], y = A[3] + c * A[4] + r * A[5];
    double tol_x = 1e-6 * (fabs(A[1]) + fabs(A[2]));
    double tol_y = 1e-6 * (fabs(A[4]) + fabs(A[5]));
    LC_RETURN_IF(!(fabs(dst->gt[0] - x) <= tol_x) ||
                     !(fabs(dst->gt[3] - y) <= tol_y),
                 err, LC_EINVAL,
                 "the block is not the anchor grid's window at column "
                 "%" PRId64 ", row %" PRId64,
                 o->anchor_col, o->anchor_row);
    return LC_OK;
}

/* Floor division for a positive divisor. */
static int64_t floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d != 0 && a < 0) ? q - 1 : q;
}

int lc__srcmap_new(struct lc__transform *tf, const struct lc__grid *dst,
                   const double src_gt[6], int64_t src_col_off,
                   int64_t src_row_off, const struct lc__approx_options *opts,
                   const struct lc_allocator *alloc,
                   struct lc__srcmap **map_ret, struct lc__errbuf *err)
{
    static const struct lc__approx_options defaults = {0};
    LC_RETURN_IF(map_ret == NULL, err, LC_EINVAL, "map_ret is NULL");
    *map_ret = NULL;
    LC_RETURN_IF(tf == NULL || dst == NULL || src_gt == NULL, err, LC_EINVAL,
                 "NULL argument to lc__srcmap_new");
    LC_RETURN_IF(dst->width == 0 || dst->height == 0, err, LC_EINVAL,
                 "empty destination grid");
    LC_RETURN_IF(dst->width > LC_GRID_MAX_DIM || dst->height > LC_GRID_MAX_DIM,
                 err, LC_ELIMIT, "destination grid too large");
    if (opts == NULL)
        opts = &defaults;
    double max_error =
        opts->max_error != 0.0 ? opts->max_error : LC_APPROX_MAX_ERROR;
    LC_RETURN_IF(!(max_error > 0.0 && isfinite(max_error)), err, LC_EINVAL,
                 "max_error %g is not a positive number", max_error);
    uint32_t s = opts->max_cell != 0 ? opts->max_cell : LC_APPROX_MAX_CELL;
    LC_RETURN_IF(s < 2 || s > LC_APPROX_MAX_CELL_LIMIT, err, LC_EINVAL,
                 "max_cell %u is not within 2..%u", s,
                 LC_APPROX_MAX_CELL_LIMIT);

    double inv[6];
    LC_FORWARD_IF_ERROR(lc__gt_invert(src_gt, inv, err));
    for (int k = 0; k < 6; k++)
        LC_RETURN_IF(!isfinite(dst->gt[k]), err, LC_EINVAL,
                     "destination geotransform is not finite");
    if (opts->anchor_gt != NULL)
        LC_FORWARD_IF_ERROR(check_anchor(opts, dst, err));

    struct lc_allocator a = {0};
    if (alloc != NULL)
        a = *alloc;
    struct lc__srcmap *m = lc__calloc(&a, 1, sizeof(*m));
    LC_RETURN_IF(m == NULL, err, LC_ENOMEM, "out of memory for a source map");
    m->alloc = a;
    m->width = dst->width;
    m->height = dst->height;
    if (opts->anchor_gt != NULL) {
        memcpy(m->dst_gt, opts->anchor_gt, sizeof(m->dst_gt));
        m->anchor_col = opts->anchor_col;
        m->anchor_row = opts->anchor_row;
    } else {
        memcpy(m->dst_gt, dst->gt, sizeof(m->dst_gt));
    }
    memcpy(m->src_inv, inv, sizeof(m->src_inv));
    memcpy(m->src_gt, src_gt, sizeof(m->src_gt));
    m->col_off = (double)src_col_off;
    m->row_off = (double)src_row_off;
    m->lat_col = m->anchor_col;
    m->lat_row = m->anchor_row;

    struct builder b = {m, tf};
    int status = LC_OK;
    if (lc__transform_is_identity(tf)) {
        m->kind = KIND_AFFINE;
    } else if (opts->exact) {
        status = build_exact(&b, err);
    } else {
        m->kind = KIND_APPROX;
        m->lat_col = floor_div(m->anchor_col, s) * s;
        m->lat_row = floor_div(m->anchor_row, s) * s;
        m->wi0 = (uint32_t)(m->anchor_col - m->lat_col);
        m->wj0 = (uint32_t)(m->anchor_row - m->lat_row);
        status = build_approx(&b, max_error, s);
        if (status == LC_ELIMIT)
            status = lc__error(err, status,
                               "a source map of %ux%u pixels needs too many "
                               "cells or exact positions",
                               m->width, m->height);
        else if (status < 0)
            status = lc__error(err, status, "out of memory for a source map");
    }
    if (status == LC_OK && m->kind != KIND_AFFINE && opts->has_scale_ref)
        scale_at_ref(&b, opts->scale_ref_x, opts->scale_ref_y);
    if (status < 0) {
        lc__srcmap_free(m);
        return status;
    }
    *map_ret = m;
    return LC_OK;
}

uint32_t lc__srcmap_width(const struct lc__srcmap *map)
{
    return map->width;
}

uint32_t lc__srcmap_height(const struct lc__srcmap *map)
{
    return map->height;
}

/* The index of value among the n nodes t[], or -1. */
static int node_index(const uint32_t *t, uint8_t n, uint32_t value)
{
    for (uint8_t k = 0; k < n; k++) {
        if (t[k] == value)
            return k;
    }
    return -1;
}

/*
 * One leaf's contribution to lattice-local row j (j0 <= j < j1): the
 * pixels it owns inside the block, written to sx, sy at their block
 * columns, minus the source window offsets.
 */
static void fill_patch_row(const struct lc__srcmap *m, const struct patch *p,
                           uint32_t j, double *sx, double *sy)
{
    uint32_t iend = m->wi0 + m->width;
    uint32_t a0 = p->i0 > m->wi0 ? p->i0 : m->wi0;
    uint32_t a1 = p->i1 < iend ? p->i1 : iend;
    if (a0 >= a1)
        return;
    double *ox = sx + (a0 - m->wi0);
    double *oy = sy + (a0 - m->wi0);
    uint32_t k0 = a0 - p->i0, n = a1 - a0;
    const double cx = m->col_off, cy = m->row_off;
    if (p->exact) {
        size_t off = p->off + (size_t)(j - p->j0) * (p->i1 - p->i0) + k0;
        for (uint32_t k = 0; k < n; k++) {
            ox[k] = m->xs[off + k] - cx;
            oy[k] = m->ys[off + k] - cy;
        }
        return;
    }
    if (p->all_nodes) {
        /* Every pixel is a node: copy, so that a NaN node never spreads to
         * a finite neighbour. */
        int b = node_index(p->v, p->nv, j);
        for (uint32_t k = 0; k < n; k++) {
            int a = node_index(p->u, p->nu, a0 + k);
            ox[k] = a >= 0 && b >= 0 ? p->x[b * 3 + a] - cx : NAN;
            oy[k] = a >= 0 && b >= 0 ? p->y[b * 3 + a] - cy : NAN;
        }
        return;
    }
    /* The row's values at the node columns, then the quadratic through
     * them in q = i - i0, in power form: r0 + q * (c1 + q * c2). */
    double wv[3];
    lagrange(p->v, p->nv, (double)j, wv);
    double rx[3] = {0.0, 0.0, 0.0}, ry[3] = {0.0, 0.0, 0.0};
    for (uint8_t a = 0; a < p->nu; a++) {
        rx[a] = 0.0;
        ry[a] = 0.0;
        for (uint8_t b = 0; b < p->nv; b++) {
            rx[a] += wv[b] * p->x[b * 3 + a];
            ry[a] += wv[b] * p->y[b * 3 + a];
        }
    }
    double c1x = 0.0, c1y = 0.0, c2x = 0.0, c2y = 0.0;
    if (p->nu == 2) {
        c1x = rx[1] - rx[0];
        c1y = ry[1] - ry[0];
    } else if (p->nu == 3) {
        /* Newton's divided differences over nodes 0, km, kn. */
        double km = (double)(p->u[1] - p->u[0]);
        double kn = (double)(p->u[2] - p->u[0]);
        double f01x = (rx[1] - rx[0]) / km, f01y = (ry[1] - ry[0]) / km;
        double f12x = (rx[2] - rx[1]) / (kn - km);
        double f12y = (ry[2] - ry[1]) / (kn - km);
        c2x = (f12x - f01x) / kn;
        c2y = (f12y - f01y) / kn;
        c1x = f01x - km * c2x;
        c1y = f01y - km * c2y;
    }
    /* The offsets go last: subtracting them from the position is exact
     * where it matters, folding them into r0 would not be. */
    /* int32: k0 + n <= max_cell, and an int32 converts to double in
     * vector registers where a uint32 does not. */
    const double r0x = rx[0], r0y = ry[0];
    const int32_t q0 = (int32_t)k0, nq = (int32_t)n;
    for (int32_t k = 0; k < nq; k++) {
        double q = (double)(q0 + k);
        ox[k] = (r0x + q * (c1x + q * c2x)) - cx;
        oy[k] = (r0y + q * (c1y + q * c2y)) - cy;
    }
}

void lc__srcmap_row(const struct lc__srcmap *map, uint32_t row, double *sx,
                    double *sy)
{
    LC_ASSERT(row < map->height);
    uint32_t w = map->width;
    switch (map->kind) {
    case KIND_AFFINE: {
        const double *g = map->dst_gt;
        const double *v = map->src_inv;
        /* Anchor grid pixel indices: exact in a double, so px below is the
         * same in every block. */
        double px0 = (double)map->anchor_col + 0.5;
        double py = (double)(map->anchor_row + (int64_t)row) + 0.5;
        for (uint32_t i = 0; i < w; i++) {
            double px = px0 + (double)i;
            double x = g[0] + px * g[1] + py * g[2];
            double y = g[3] + px * g[4] + py * g[5];
            sx[i] = (v[0] + x * v[1] + y * v[2]) - map->col_off;
            sy[i] = (v[3] + x * v[4] + y * v[5]) - map->row_off;
        }
        return;
    }
    case KIND_EXACT: {
        size_t off = (size_t)row * w;
        for (uint32_t i = 0; i < w; i++) {
            sx[i] = map->xs[off + i] - map->col_off;
            sy[i] = map->ys[off + i] - map->row_off;
        }
        return;
    }
    case KIND_APPROX: {
        uint32_t j = map->wj0 + row;
        size_t band = j / map->band_rows;
        for (size_t k = map->band_start[band]; k < map->band_start[band + 1];
             k++) {
            const struct patch *p = &map->cells[k];
            if (j >= p->j0 && j < p->j1)
                fill_patch_row(map, p, j, sx, sy);
        }
        return;
    }
    }
}

/* The source position of one destination pixel centre of the block. */
static void map_point(const struct lc__srcmap *map, uint32_t i, uint32_t j,
                      double *x, double *y)
{
    switch (map->kind) {
    case KIND_AFFINE: {
        const double *g = map->dst_gt;
        const double *v = map->src_inv;
        double px = (double)(map->anchor_col + (int64_t)i) + 0.5;
        double py = (double)(map->anchor_row + (int64_t)j) + 0.5;
        double gx = g[0] + px * g[1] + py * g[2];
        double gy = g[3] + px * g[4] + py * g[5];
        *x = (v[0] + gx * v[1] + gy * v[2]) - map->col_off;
        *y = (v[3] + gx * v[4] + gy * v[5]) - map->row_off;
        return;
    }
    case KIND_EXACT: {
        size_t off = (size_t)j * map->width + i;
        *x = map->xs[off] - map->col_off;
        *y = map->ys[off] - map->row_off;
        return;
    }
    case KIND_APPROX: {
        uint32_t li = map->wi0 + i, lj = map->wj0 + j;
        size_t band = lj / map->band_rows;
        *x = NAN;
        *y = NAN;
        for (size_t k = map->band_start[band]; k < map->band_start[band + 1];
             k++) {
            const struct patch *p = &map->cells[k];
            if (lj < p->j0 || lj >= p->j1 || li < p->i0 || li >= p->i1)
                continue;
            if (p->exact) {
                size_t off = p->off + (size_t)(lj - p->j0) * (p->i1 - p->i0) +
                             (li - p->i0);
                *x = map->xs[off];
                *y = map->ys[off];
            } else {
                patch_eval(p, (double)li, (double)lj, x, y);
            }
            *x -= map->col_off;
            *y -= map->row_off;
            return;
        }
        return;
    }
    }
}

bool lc__srcmap_aligned(const struct lc__srcmap *map, int64_t *col_off_ret,
                        int64_t *row_off_ret)
{
    if (map->kind != KIND_AFFINE)
        return false;
    const double *g = map->dst_gt;
    const double *s = map->src_gt;
    if (!lc__gt_is_north_up(g) || !lc__gt_is_north_up(s) || g[1] != s[1] ||
        g[5] != s[5])
        return false;
    /* From the anchor grid's origin: the same answer in every block. */
    double ox = (g[0] - s[0]) / s[1];
    double oy = (g[3] - s[3]) / s[5];
    double rx = nearbyint(ox), ry = nearbyint(oy);
    /* A shift of a billionth of a pixel changes no nearest pick and no
     * interpolated value. */
    if (fabs(ox - rx) > 1e-9 || fabs(oy - ry) > 1e-9)
        return false;
    if (fabs(rx) > 9e15 || fabs(ry) > 9e15)
        return false;
    *col_off_ret = (int64_t)rx + map->anchor_col - (int64_t)map->col_off;
    *row_off_ret = (int64_t)ry + map->anchor_row - (int64_t)map->row_off;
    return true;
}

/* Length of the step between two positions, or NaN. */
static double step_len(double x0, double y0, double x1, double y1, double n)
{
    return hypot(x1 - x0, y1 - y0) / n;
}

void lc__srcmap_scale(const struct lc__srcmap *map, double *sx_per_px_ret,
                      double *sy_per_px_ret)
{
    uint32_t w = map->width, h = map->height;
    double fx = NAN, fy = NAN;
    if (map->kind == KIND_AFFINE) {
        const double *g = map->dst_gt;
        const double *v = map->src_inv;
        /* The images of the destination pixel's x and y steps. */
        fx = hypot(g[1] * v[1] + g[4] * v[2], g[1] * v[4] + g[4] * v[5]);
        fy = hypot(g[2] * v[1] + g[5] * v[2], g[2] * v[4] + g[5] * v[5]);
    } else if (map->has_scale) {
        fx = map->scale_x;
        fy = map->scale_y;
    } else {
        double x0, y0, x1, y1;
        if (w > 1) {
            map_point(map, 0, h / 2, &x0, &y0);
            map_point(map, w - 1, h / 2, &x1, &y1);
            fx = step_len(x0, y0, x1, y1, (double)(w - 1));
        }
        if (h > 1) {
            map_point(map, w / 2, 0, &x0, &y0);
            map_point(map, w / 2, h - 1, &x1, &y1);
            fy = step_len(x0, y0, x1, y1, (double)(h - 1));
        }
        if (!(fx > 0.0) || !isfinite(fx))
            fx = fy;
        if (!(fy > 0.0) || !isfinite(fy))
            fy = fx;
    }
    *sx_per_px_ret = fx > 0.0 && isfinite(fx) ? fx : 1.0;
    *sy_per_px_ret = fy > 0.0 && isfinite(fy) ? fy : 1.0;
}

void lc__srcmap_get_stats(const struct lc__srcmap *map,
                          struct lc__srcmap_stats *stats_ret)
{
    stats_ret->ntransformed = map->ntransformed;
    stats_ret->ncells = map->ncells;
    stats_ret->kind = (int)map->kind;
}

int lc__target_resolution_at(struct lc__transform *tf, const double gt[6],
                             double x, double y, double *res_ret,
                             struct lc__errbuf *err)
{
    LC_RETURN_IF(tf == NULL || gt == NULL || res_ret == NULL, err, LC_EINVAL,
                 "NULL argument to lc__target_resolution_at");
    if (lc__transform_is_identity(tf)) {
        *res_ret = fabs(gt[1]);
        return LC_OK;
    }
    double xs[2] = {x, x + gt[1]};
    double ys[2] = {y, y};
    LC_RETURN_IF(lc__transform_points(tf, xs, ys, 2) != 0, err, LC_EUNSUPPORTED,
                 "the point (%.17g, %.17g) of the destination grid does not "
                 "transform to the source CRS",
                 x, y);
    *res_ret = fabs(xs[1] - xs[0]);
    return LC_OK;
}

int lc__target_resolution(struct lc__transform *tf, const struct lc__grid *dst,
                          double *res_ret, struct lc__errbuf *err)
{
    LC_RETURN_IF(tf == NULL || dst == NULL || res_ret == NULL, err, LC_EINVAL,
                 "NULL argument to lc__target_resolution");
    double cx = dst->gt[0] + (double)dst->width / 2.0 * dst->gt[1];
    double cy = dst->gt[3] + (double)dst->height / 2.0 * dst->gt[5];
    return lc__target_resolution_at(tf, dst->gt, cx, cy, res_ret, err);
}
