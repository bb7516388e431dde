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
 * centres i0..i1 x j0..j1 (inclusive). Its patch is the biquadratic
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
 * Build (breadth first, one PROJ call per level):
 *   1. cover the block with cells of at most max_cell pixels a side and
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
 * If refinement would create more leaves than a quarter of the block's
 * pixels (a mapping too rough to interpolate), the map is built exact.
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

/* A cell waiting for its test: the corners are known. */
struct cell {
    uint32_t i0, i1, j0, j1;
    /* Source positions of the corners (i0,j0), (i1,j0), (i0,j1), (i1,j1). */
    double x[4];
    double y[4];
};

/* A leaf: the patch through the node grid of its cell. */
struct patch {
    uint32_t i0, i1, j0, j1;
    uint32_t u[3]; /* node columns, nu of them */
    uint32_t v[3]; /* node rows, nv of them */
    uint8_t nu;
    uint8_t nv;
    uint8_t all_nodes; /* every pixel of the cell is a node */
    double x[9];       /* node (a, b), column u[a], row v[b], at b * 3 + a */
    double y[9];
};

struct lc__srcmap {
    struct lc_allocator alloc;
    enum map_kind kind;
    uint32_t width;
    uint32_t height;
    double dst_gt[6];
    double src_inv[6];
    double src_gt[6];
    double col_off; /* window offsets, subtracted from full-level positions */
    double row_off;
    /* KIND_APPROX: leaves grouped by band of first-level cell rows. */
    struct patch *cells;
    size_t ncells;
    uint32_t band_rows;
    size_t nbands;
    size_t *band_start; /* nbands + 1 entries */
    /* KIND_EXACT: width * height positions, row by row. */
    double *xs;
    double *ys;
    size_t ntransformed;
};

/* ---- exact positions --------------------------------------------------- */

struct builder {
    struct lc__srcmap *map;
    struct lc__transform *tf;
};

/*
 * Source positions of the destination pixel centres (ii[k], jj[k]) into
 * (sx[k], sy[k]): destination geotransform, transform, inverse source
 * geotransform, each as GDAL's GDALGenImgProjTransform orders them.
 */
static void eval_points(struct builder *b, const uint32_t *ii,
                        const uint32_t *jj, size_t n, double *sx, double *sy)
{
    const struct lc__srcmap *m = b->map;
    const double *g = m->dst_gt;
    for (size_t k = 0; k < n; k++) {
        double px = (double)ii[k] + 0.5;
        double py = (double)jj[k] + 0.5;
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
        sx[k] = (v[0] + x * v[1] + y * v[2]) - m->col_off;
        sy[k] = (v[3] + x * v[4] + y * v[5]) - m->row_off;
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
    struct cell c = {p->u[a0], p->u[a1], p->v[b0], p->v[b1], {0}, {0}};
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

/* Sorts the leaves into bands of first-level rows (counting sort). */
static int index_bands(struct lc__srcmap *m, struct patch_vec *leaves)
{
    const struct lc_allocator *a = &m->alloc;
    size_t nb = m->nbands;
    m->band_start = lc__calloc(a, nb + 1, sizeof(size_t));
    if (m->band_start == NULL)
        return LC_ENOMEM;
    m->cells = lc__malloc_array(a, leaves->n != 0 ? leaves->n : 1,
                                sizeof(struct patch));
    if (m->cells == NULL)
        return LC_ENOMEM;
    for (size_t k = 0; k < leaves->n; k++) {
        size_t band = leaves->v[k].j0 / m->band_rows;
        if (band >= nb)
            band = nb - 1;
        m->band_start[band + 1]++;
    }
    for (size_t band = 0; band < nb; band++)
        m->band_start[band + 1] += m->band_start[band];
    size_t *fill = lc__malloc_array(a, nb, sizeof(size_t));
    if (fill == NULL)
        return LC_ENOMEM;
    memcpy(fill, m->band_start, nb * sizeof(size_t));
    for (size_t k = 0; k < leaves->n; k++) {
        size_t band = leaves->v[k].j0 / m->band_rows;
        if (band >= nb)
            band = nb - 1;
        m->cells[fill[band]++] = leaves->v[k];
    }
    m->ncells = leaves->n;
    lc__free(a, fill);
    return LC_OK;
}

/* Number of first-level cells along a side of n pixels (n - 1 spans). */
static uint32_t first_cells(uint32_t n, uint32_t s)
{
    uint32_t spans = n - 1;
    uint32_t c = spans / s + (spans % s != 0);
    return c != 0 ? c : 1;
}

/*
 * The approximate build. Returns LC_OK, LC_ENOMEM, or LC_ELIMIT when the
 * mapping needs too many cells (the caller then builds an exact map).
 */
static int build_approx(struct builder *b, double max_error, uint32_t s)
{
    struct lc__srcmap *m = b->map;
    const struct lc_allocator *a = &m->alloc;
    uint32_t w = m->width, h = m->height;
    uint32_t ncx = first_cells(w, s), ncy = first_cells(h, s);
    size_t nnodes = (size_t)(ncx + 1) * (ncy + 1);
    size_t leaf_cap = ((size_t)w * h) / 4 + 64;
    struct patch_vec leaves = {0};
    struct cell_vec pending = {0}, next = {0};
    uint32_t *pi = NULL, *pj = NULL;
    double *px = NULL, *py = NULL;
    int status = LC_ENOMEM;

    m->band_rows = s;
    m->nbands = ncy;

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
            uint64_t i = (uint64_t)cx * s, j = (uint64_t)cy * s;
            pi[k] = (uint32_t)(i < w - 1 ? i : w - 1);
            pj[k] = (uint32_t)(j < h - 1 ? j : h - 1);
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
        if (leaves.n + next.n > leaf_cap) {
            status = LC_ELIMIT;
            goto done;
        }
        struct cell_vec tmp = pending;
        pending = next;
        next = tmp;
    }

    /* 3. Index the leaves by band. */
    status = index_bands(m, &leaves);

done:
    lc__free(a, pi);
    lc__free(a, pj);
    lc__free(a, px);
    lc__free(a, py);
    lc__free(a, leaves.v);
    lc__free(a, pending.v);
    lc__free(a, next.v);
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
    LC_RETURN_IF(s < 2, err, LC_EINVAL, "max_cell %u is under 2", s);

    double inv[6];
    LC_FORWARD_IF_ERROR(lc__gt_invert(src_gt, inv, err));
    for (int k = 0; k < 6; k++)
        LC_RETURN_IF(!isfinite(dst->gt[k]), err, LC_EINVAL,
                     "destination geotransform is not finite");

    struct lc_allocator a = {0};
    if (alloc != NULL)
        a = *alloc;
    struct lc__srcmap *m = lc__calloc(&a, 1, sizeof(*m));
    LC_RETURN_IF(m == NULL, err, LC_ENOMEM, "out of memory for a source map");
    m->alloc = a;
    m->width = dst->width;
    m->height = dst->height;
    memcpy(m->dst_gt, dst->gt, sizeof(m->dst_gt));
    memcpy(m->src_inv, inv, sizeof(m->src_inv));
    memcpy(m->src_gt, src_gt, sizeof(m->src_gt));
    m->col_off = (double)src_col_off;
    m->row_off = (double)src_row_off;

    struct builder b = {m, tf};
    int status = LC_OK;
    if (lc__transform_is_identity(tf)) {
        m->kind = KIND_AFFINE;
    } else if (opts->exact) {
        status = build_exact(&b, err);
    } else {
        m->kind = KIND_APPROX;
        status = build_approx(&b, max_error, s);
        if (status == LC_ELIMIT) {
            /* Too rough to interpolate: transform every pixel. */
            free_parts(m);
            status = build_exact(&b, err);
        } else if (status < 0) {
            status = lc__error(err, status, "out of memory for a source map");
        }
    }
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

/* One leaf's contribution to row j (j0 <= j <= j1). */
/* The index of value among the n nodes t[], or -1. */
static int node_index(const uint32_t *t, uint8_t n, uint32_t value)
{
    for (uint8_t k = 0; k < n; k++) {
        if (t[k] == value)
            return k;
    }
    return -1;
}

/* One leaf's contribution to row j (j0 <= j <= j1). */
static void fill_patch_row(const struct patch *p, uint32_t j, double *sx,
                           double *sy)
{
    double *ox = sx + p->i0;
    double *oy = sy + p->i0;
    uint32_t n = p->i1 - p->i0;
    if (p->all_nodes) {
        /* Every pixel is a node: copy, so that a NaN node never spreads to
         * a finite neighbour. */
        int b = node_index(p->v, p->nv, j);
        for (uint32_t k = 0; k <= n; k++) {
            int a = node_index(p->u, p->nu, p->i0 + k);
            ox[k] = a >= 0 && b >= 0 ? p->x[b * 3 + a] : NAN;
            oy[k] = a >= 0 && b >= 0 ? p->y[b * 3 + a] : NAN;
        }
        return;
    }
    /* The row's values at the node columns, then the quadratic through
     * them in k = i - i0, in power form: r0 + k * (c1 + k * c2). */
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
        /* Newton's divided differences over nodes 0, km, n. */
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
    for (uint32_t k = 0; k <= n; k++) {
        double q = (double)k;
        ox[k] = rx[0] + q * (c1x + q * c2x);
        oy[k] = ry[0] + q * (c1y + q * c2y);
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
        double py = (double)row + 0.5;
        for (uint32_t i = 0; i < w; i++) {
            double px = (double)i + 0.5;
            double x = g[0] + px * g[1] + py * g[2];
            double y = g[3] + px * g[4] + py * g[5];
            sx[i] = (v[0] + x * v[1] + y * v[2]) - map->col_off;
            sy[i] = (v[3] + x * v[4] + y * v[5]) - map->row_off;
        }
        return;
    }
    case KIND_EXACT: {
        size_t off = (size_t)row * w;
        memcpy(sx, map->xs + off, w * sizeof(double));
        memcpy(sy, map->ys + off, w * sizeof(double));
        return;
    }
    case KIND_APPROX: {
        size_t band = row / map->band_rows;
        if (band >= map->nbands)
            band = map->nbands - 1;
        for (size_t k = map->band_start[band]; k < map->band_start[band + 1];
             k++) {
            const struct patch *p = &map->cells[k];
            if (row >= p->j0 && row <= p->j1)
                fill_patch_row(p, row, sx, sy);
        }
        return;
    }
    }
}

/* The source position of one destination pixel centre. */
static void map_point(const struct lc__srcmap *map, uint32_t i, uint32_t j,
                      double *x, double *y)
{
    switch (map->kind) {
    case KIND_AFFINE: {
        const double *g = map->dst_gt;
        const double *v = map->src_inv;
        double px = (double)i + 0.5, py = (double)j + 0.5;
        double gx = g[0] + px * g[1] + py * g[2];
        double gy = g[3] + px * g[4] + py * g[5];
        *x = (v[0] + gx * v[1] + gy * v[2]) - map->col_off;
        *y = (v[3] + gx * v[4] + gy * v[5]) - map->row_off;
        return;
    }
    case KIND_EXACT: {
        size_t off = (size_t)j * map->width + i;
        *x = map->xs[off];
        *y = map->ys[off];
        return;
    }
    case KIND_APPROX: {
        size_t band = j / map->band_rows;
        if (band >= map->nbands)
            band = map->nbands - 1;
        *x = NAN;
        *y = NAN;
        for (size_t k = map->band_start[band]; k < map->band_start[band + 1];
             k++) {
            const struct patch *p = &map->cells[k];
            if (j < p->j0 || j > p->j1 || i < p->i0 || i > p->i1)
                continue;
            patch_eval(p, (double)i, (double)j, x, y);
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
    double ox = (g[0] - s[0]) / s[1];
    double oy = (g[3] - s[3]) / s[5];
    double rx = nearbyint(ox), ry = nearbyint(oy);
    /* A shift of a billionth of a pixel changes no nearest pick and no
     * interpolated value. */
    if (fabs(ox - rx) > 1e-9 || fabs(oy - ry) > 1e-9)
        return false;
    if (fabs(rx) > 9e15 || fabs(ry) > 9e15)
        return false;
    *col_off_ret = (int64_t)rx - (int64_t)map->col_off;
    *row_off_ret = (int64_t)ry - (int64_t)map->row_off;
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

int lc__target_resolution(struct lc__transform *tf, const struct lc__grid *dst,
                          double *res_ret, struct lc__errbuf *err)
{
    LC_RETURN_IF(tf == NULL || dst == NULL || res_ret == NULL, err, LC_EINVAL,
                 "NULL argument to lc__target_resolution");
    if (lc__transform_is_identity(tf)) {
        *res_ret = fabs(dst->gt[1]);
        return LC_OK;
    }
    double cx = dst->gt[0] + (double)dst->width / 2.0 * dst->gt[1];
    double cy = dst->gt[3] + (double)dst->height / 2.0 * dst->gt[5];
    double x[2] = {cx, cx + dst->gt[1]};
    double y[2] = {cy, cy};
    LC_RETURN_IF(lc__transform_points(tf, x, y, 2) != 0, err, LC_EUNSUPPORTED,
                 "the centre of the destination grid does not transform to "
                 "the source CRS");
    *res_ret = fabs(x[1] - x[0]);
    return LC_OK;
}
