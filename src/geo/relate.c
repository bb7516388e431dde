/* relate.c - DE-9IM matrices and named spatial predicates in the plane. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>
#include <stdlib.h>

#include "../common/alloc.h"
#include "geometry.h"

/*
 * How the matrix is computed
 * --------------------------
 * Each geometry is flattened into isolated points, linestrings and
 * polygons (struct flat). For geometries A and B:
 *
 *   1. Every segment of A is intersected with every segment of B whose
 *      box it meets. A crossing cuts both segments; an endpoint lying on
 *      the other segment cuts that one; collinear segments that share a
 *      stretch record the stretch (an "overlap") on both.
 *   2. Every vertex of A is located in B (interior, boundary, exterior),
 *      and its own part of A is known: a point of dimension 0 in the
 *      matrix. Crossings found in step 1 add their entry too.
 *   3. Every piece of a cut segment of A, between two consecutive cuts, is
 *      either inside a recorded overlap (so on B's line or ring) or has no
 *      point in common with B's boundary, so locating its midpoint locates
 *      all of it: an entry of dimension 1.
 *   4. Pieces of A's polygon rings also tell about A's interior, which
 *      lies on one known side of each ring edge: a ring piece inside B's
 *      area means the interiors meet (dimension 2); outside B means A's
 *      interior meets B's exterior; on B's ring, whether both interiors
 *      lie on the same side decides.
 *   5. The same with A and B swapped, transposed into the matrix.
 *
 *   A: +-----------+        cuts on A's bottom edge at x = 2 and x = 4:
 *      |           |        [0,2] outside B, [2,4] inside B's interior,
 *      |     +-----|---+    [4,6] outside again; so B(A) meets I(B) and
 *      |     |  B  |   |    E(B) in dimension 1, and from [2,4] the
 *      +-----|-----+   |    interiors meet in dimension 2.
 *            +---------+
 *
 * All decisions on which side of a line a point lies use exact
 * orientation signs: doubles first, and an exact sum of the products
 * (error-free transformations, Shewchuk 1997) when the double result is
 * within its rounding error of zero. Only crossing points of two
 * segments are rounded, and they are never located, only used to cut.
 */

/* ---- exact orientation ------------------------------------------------- */

/* x + y == a + b exactly (Knuth's TwoSum). */
static void two_sum(double a, double b, double *x, double *y)
{
    double s = a + b;
    double bv = s - a;
    double av = s - bv;
    *x = s;
    *y = (a - av) + (b - bv);
}

/* x + y == a * b exactly. */
static void two_prod(double a, double b, double *x, double *y)
{
    double p = a * b;
    *x = p;
    *y = fma(a, b, -p);
}

/* Adds b to the nonoverlapping expansion e[0..n), which must have room for
 * one more component (Shewchuk's Grow-Expansion). Returns the length. */
static size_t grow_expansion(double *e, size_t n, double b)
{
    double q = b;
    for (size_t i = 0; i < n; i++) {
        double qn, h;
        two_sum(q, e[i], &qn, &h);
        e[i] = h;
        q = qn;
    }
    e[n] = q;
    return n + 1;
}

/* Appends the four exact products of (a + at) * (b + bt), times sign. */
static size_t product_terms(double a, double at, double b, double bt,
                            double sign, double *terms, size_t n)
{
    const double f[4][2] = {{a, b}, {a, bt}, {at, b}, {at, bt}};
    for (int i = 0; i < 4; i++) {
        double x, y;
        two_prod(f[i][0], f[i][1], &x, &y);
        terms[n++] = sign * x;
        terms[n++] = sign * y;
    }
    return n;
}

static int orient_exact(const double a[2], const double b[2], const double c[2])
{
    double acx, acxt, acy, acyt, bcx, bcxt, bcy, bcyt;
    double terms[16];
    double e[17];

    two_sum(a[0], -c[0], &acx, &acxt);
    two_sum(a[1], -c[1], &acy, &acyt);
    two_sum(b[0], -c[0], &bcx, &bcxt);
    two_sum(b[1], -c[1], &bcy, &bcyt);
    size_t n = product_terms(acx, acxt, bcy, bcyt, 1.0, terms, 0);
    n = product_terms(acy, acyt, bcx, bcxt, -1.0, terms, n);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len = grow_expansion(e, len, terms[i]);
    /* Components grow in magnitude and do not overlap: the last nonzero
     * one has the sign of the sum. */
    for (size_t i = len; i-- > 0;)
        if (e[i] != 0)
            return e[i] > 0 ? 1 : -1;
    return 0;
}

/* The orientation determinant in doubles (used for crossing points). */
static double orient_det(const double a[2], const double b[2],
                         const double c[2])
{
    return (a[0] - c[0]) * (b[1] - c[1]) - (a[1] - c[1]) * (b[0] - c[0]);
}

int lc__orient2d_sign(const double a[2], const double b[2], const double c[2])
{
    double detleft = (a[0] - c[0]) * (b[1] - c[1]);
    double detright = (a[1] - c[1]) * (b[0] - c[0]);
    double det = detleft - detright;
    /* Shewchuk's ccwerrboundA: (3 + 16 eps) eps, eps = 2^-53. */
    double bound = 3.3306690738754716e-16 * (fabs(detleft) + fabs(detright));
    if (det > bound)
        return 1;
    if (-det > bound)
        return -1;
    return orient_exact(a, b, c);
}

/* ---- flattened geometries ---------------------------------------------- */

enum seg_kind { SEG_LINE = 0, SEG_RING = 1 };

struct seg {
    double a[2], b[2];
    struct lc__envelope env;
    uint8_t kind;       /* enum seg_kind */
    bool interior_left; /* rings: the polygon's interior is left of a->b */
    size_t poly;        /* rings: index of the polygon in struct flat */
};

struct ring {
    const struct lc__coordseq *seq;
};

struct poly {
    size_t first_ring, nrings;
    struct lc__envelope env;
};

struct line {
    const struct lc__coordseq *seq;
    struct lc__envelope env;
};

struct flat {
    const struct lc_allocator *alloc;
    bool collection; /* own pieces are located, not known by kind */
    int dim;
    struct lc__envelope env;
    struct seg *segs;
    size_t nsegs, segs_cap;
    double *pts; /* isolated points, x y pairs */
    size_t npts, pts_cap;
    double *bnd; /* boundary points of the lines (mod-2 rule) */
    size_t nbnd, bnd_cap;
    struct ring *rings;
    size_t nrings, rings_cap;
    struct poly *polys;
    size_t npolys, polys_cap;
    struct line *lines;
    size_t nlines, lines_cap;
};

/* Grows *arr (of *cap items of size bytes) to hold n + 1 items. */
static int reserve(const struct lc_allocator *alloc, void **arr, size_t n,
                   size_t *cap, size_t size)
{
    if (n < *cap)
        return LC_OK;
    size_t ncap = *cap != 0 ? *cap * 2 : 16;
    size_t old_nbytes, new_nbytes;
    if (!lc__size_mul(*cap, size, &old_nbytes) ||
        !lc__size_mul(ncap, size, &new_nbytes))
        return LC_ENOMEM;
    void *p = lc__realloc(alloc, *arr, old_nbytes, new_nbytes);
    if (p == NULL)
        return LC_ENOMEM;
    *arr = p;
    *cap = ncap;
    return LC_OK;
}

#define PUSH(f, arr, n, cap)                                                   \
    reserve((f)->alloc, (void **)&(f)->arr, (f)->n, &(f)->cap,                 \
            sizeof(*(f)->arr))

static void flat_free(struct flat *f)
{
    lc__free(f->alloc, f->segs);
    lc__free(f->alloc, f->pts);
    lc__free(f->alloc, f->bnd);
    lc__free(f->alloc, f->rings);
    lc__free(f->alloc, f->polys);
    lc__free(f->alloc, f->lines);
}

static const double *pt(const struct lc__coordseq *s, size_t i)
{
    return s->xy + 2 * i;
}

static bool same_point(const double *a, const double *b)
{
    return a[0] == b[0] && a[1] == b[1];
}

static void env_add_point(struct lc__envelope *e, const double *p)
{
    e->minx = p[0] < e->minx ? p[0] : e->minx;
    e->maxx = p[0] > e->maxx ? p[0] : e->maxx;
    e->miny = p[1] < e->miny ? p[1] : e->miny;
    e->maxy = p[1] > e->maxy ? p[1] : e->maxy;
}

static void env_empty(struct lc__envelope *e)
{
    e->minx = e->miny = INFINITY;
    e->maxx = e->maxy = -INFINITY;
}

static bool env_has_point(const struct lc__envelope *e, const double *p)
{
    return p[0] >= e->minx && p[0] <= e->maxx && p[1] >= e->miny &&
           p[1] <= e->maxy;
}

static bool env_meet(const struct lc__envelope *a, const struct lc__envelope *b)
{
    return a->minx <= b->maxx && b->minx <= a->maxx && a->miny <= b->maxy &&
           b->miny <= a->maxy;
}

static int add_point(struct flat *f, const double *p)
{
    LC_FORWARD_IF_ERROR(reserve(f->alloc, (void **)&f->pts, 2 * f->npts,
                                &f->pts_cap, 2 * sizeof(double)));
    f->pts[2 * f->npts] = p[0];
    f->pts[2 * f->npts + 1] = p[1];
    f->npts++;
    env_add_point(&f->env, p);
    if (f->dim < 0)
        f->dim = 0;
    return LC_OK;
}

static int add_seg(struct flat *f, const double *a, const double *b,
                   enum seg_kind kind, bool interior_left)
{
    LC_FORWARD_IF_ERROR(PUSH(f, segs, nsegs, segs_cap));
    struct seg *s = &f->segs[f->nsegs++];
    memcpy(s->a, a, sizeof(s->a));
    memcpy(s->b, b, sizeof(s->b));
    env_empty(&s->env);
    env_add_point(&s->env, a);
    env_add_point(&s->env, b);
    s->kind = (uint8_t)kind;
    s->interior_left = interior_left;
    s->poly = f->npolys - (kind == SEG_RING ? 1 : 0);
    return LC_OK;
}

/* Twice the signed area of a ring (closed implicitly). */
static double ring_area2(const struct lc__coordseq *s)
{
    double sum = 0;
    size_t n = s->npoints;
    for (size_t i = 0; i < n; i++) {
        const double *p = pt(s, i), *q = pt(s, (i + 1) % n);
        sum += (p[0] - q[0]) * (p[1] + q[1]);
    }
    return sum;
}

/* The segments of a ring, closing it if its last point is not its first. */
static int add_ring_segs(struct flat *f, const struct lc__coordseq *s,
                         bool interior_left)
{
    size_t n = s->npoints;
    for (size_t i = 0; i < n; i++) {
        const double *p = pt(s, i), *q = pt(s, (i + 1) % n);
        if (i + 1 == n && same_point(p, q))
            break;
        if (!same_point(p, q))
            LC_FORWARD_IF_ERROR(add_seg(f, p, q, SEG_RING, interior_left));
    }
    return LC_OK;
}

static int add_polygon(struct flat *f, const struct lc__geom *g)
{
    if (g->nseqs == 0)
        return LC_OK;
    double shell = ring_area2(&g->seqs[0]);
    if (shell == 0 || !isfinite(shell))
        return LC_OK; /* degenerate shell: the polygon is skipped */
    LC_FORWARD_IF_ERROR(PUSH(f, polys, npolys, polys_cap));
    struct poly *pg = &f->polys[f->npolys++];
    pg->first_ring = f->nrings;
    pg->nrings = 0;
    env_empty(&pg->env);
    for (size_t i = 0; i < g->nseqs; i++) {
        const struct lc__coordseq *s = &g->seqs[i];
        double area = i == 0 ? shell : ring_area2(s);
        if (area == 0 || !isfinite(area))
            continue;
        LC_FORWARD_IF_ERROR(PUSH(f, rings, nrings, rings_cap));
        f->rings[f->nrings++].seq = s;
        pg->nrings++;
        /* The polygon's interior is inside the shell and outside holes. */
        bool left = i == 0 ? area > 0 : area < 0;
        LC_FORWARD_IF_ERROR(add_ring_segs(f, s, left));
        for (size_t j = 0; j < s->npoints; j++)
            env_add_point(&pg->env, pt(s, j));
    }
    const double lo[2] = {pg->env.minx, pg->env.miny};
    const double hi[2] = {pg->env.maxx, pg->env.maxy};
    env_add_point(&f->env, lo);
    env_add_point(&f->env, hi);
    f->dim = 2;
    return LC_OK;
}

static int add_linestring(struct flat *f, const struct lc__geom *g)
{
    if (g->nseqs == 0 || g->seqs[0].npoints == 0)
        return LC_OK;
    const struct lc__coordseq *s = &g->seqs[0];
    size_t nsegs = f->nsegs;
    for (size_t i = 0; i + 1 < s->npoints; i++)
        if (!same_point(pt(s, i), pt(s, i + 1)))
            LC_FORWARD_IF_ERROR(
                add_seg(f, pt(s, i), pt(s, i + 1), SEG_LINE, false));
    if (f->nsegs == nsegs)
        return add_point(f, pt(s, 0)); /* one repeated point */
    LC_FORWARD_IF_ERROR(PUSH(f, lines, nlines, lines_cap));
    struct line *l = &f->lines[f->nlines++];
    l->seq = s;
    env_empty(&l->env);
    for (size_t i = 0; i < s->npoints; i++)
        env_add_point(&l->env, pt(s, i));
    const double lo[2] = {l->env.minx, l->env.miny};
    const double hi[2] = {l->env.maxx, l->env.maxy};
    env_add_point(&f->env, lo);
    env_add_point(&f->env, hi);
    if (f->dim < 1)
        f->dim = 1;
    return LC_OK;
}

static int flatten_geom(struct flat *f, const struct lc__geom *g)
{
    switch (g->type) {
    case LC__GEOM_POINT:
        if (g->nseqs > 0 && g->seqs[0].npoints > 0)
            return add_point(f, pt(&g->seqs[0], 0));
        return LC_OK;
    case LC__GEOM_LINESTRING:
        return add_linestring(f, g);
    case LC__GEOM_POLYGON:
        return add_polygon(f, g);
    case LC__GEOM_MULTIPOINT:
    case LC__GEOM_MULTILINESTRING:
    case LC__GEOM_MULTIPOLYGON:
    case LC__GEOM_COLLECTION:
        for (size_t i = 0; i < g->nparts; i++)
            LC_FORWARD_IF_ERROR(flatten_geom(f, &g->parts[i]));
        return LC_OK;
    }
    return LC_OK;
}

static int cmp_xy(const void *pa, const void *pb)
{
    const double *a = pa, *b = pb;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    if (a[1] != b[1])
        return a[1] < b[1] ? -1 : 1;
    return 0;
}

/* The boundary of the lines: endpoints of open lines that occur an odd
 * number of times (the mod-2 rule of OGC 06-103r4). */
static int line_boundary(struct flat *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nlines; i++) {
        const struct lc__coordseq *s = f->lines[i].seq;
        const double *first = pt(s, 0), *last = pt(s, s->npoints - 1);
        if (same_point(first, last))
            continue;
        LC_FORWARD_IF_ERROR(reserve(f->alloc, (void **)&f->bnd, 2 * n + 1,
                                    &f->bnd_cap, 2 * sizeof(double)));
        memcpy(f->bnd + 4 * n, first, 2 * sizeof(double));
        memcpy(f->bnd + 4 * n + 2, last, 2 * sizeof(double));
        n++;
    }
    size_t m = 2 * n;
    if (m > 0)
        qsort(f->bnd, m, 2 * sizeof(double), cmp_xy);
    size_t out = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && cmp_xy(f->bnd + 2 * i, f->bnd + 2 * j) == 0)
            j++;
        if ((j - i) % 2 == 1) {
            memmove(f->bnd + 2 * out, f->bnd + 2 * i, 2 * sizeof(double));
            out++;
        }
        i = j;
    }
    f->nbnd = out;
    return LC_OK;
}

static int flatten(struct flat *f, const struct lc__geom *g,
                   const struct lc_allocator *alloc)
{
    memset(f, 0, sizeof(*f));
    f->alloc = alloc;
    f->dim = -1;
    f->collection = g->type == LC__GEOM_COLLECTION;
    env_empty(&f->env);
    LC_FORWARD_IF_ERROR(flatten_geom(f, g));
    return line_boundary(f);
}

/* ---- points, and exact midpoints ---------------------------------------- */

/*
 * A point to locate: an input coordinate, or the exact midpoint of two of
 * them. Pieces of segments between two input points are located at their
 * exact midpoint: rounding that midpoint to doubles could move it onto the
 * other geometry's boundary when the piece is a few ulps long, as between
 * two vertices of neighbouring footprints that differ in the last digit.
 */
struct xpt {
    double p[2], q[2]; /* the point is (p + q) / 2; p == q for a vertex */
    bool mid;
};

static struct xpt xpt_of(const double *p)
{
    struct xpt x = {{p[0], p[1]}, {p[0], p[1]}, false};
    return x;
}

/* Sign of a + b + c, exactly. */
static int sign3(double a, double b, double c)
{
    double e[4];
    size_t n = grow_expansion(e, 0, a);
    n = grow_expansion(e, n, b);
    n = grow_expansion(e, n, c);
    for (size_t i = n; i-- > 0;)
        if (e[i] != 0)
            return e[i] > 0 ? 1 : -1;
    return 0;
}

/* Sign of coordinate axis of x minus v. */
static int xcmp(const struct xpt *x, int axis, double v)
{
    if (!x->mid)
        return (x->p[axis] > v) - (x->p[axis] < v);
    return sign3(x->p[axis], x->q[axis], -2 * v);
}

static bool x_same(const struct xpt *x, const double *v)
{
    return xcmp(x, 0, v[0]) == 0 && xcmp(x, 1, v[1]) == 0;
}

static bool env_has_x(const struct lc__envelope *e, const struct xpt *x)
{
    return xcmp(x, 0, e->minx) >= 0 && xcmp(x, 0, e->maxx) <= 0 &&
           xcmp(x, 1, e->miny) >= 0 && xcmp(x, 1, e->maxy) <= 0;
}

/* Appends the 18 exact products of (f[0] + f[1] + f[2]) * (g[0] + g[1] +
 * g[2]) times sign. */
static size_t product3_terms(const double *f, const double *g, double sign,
                             double *terms, size_t n)
{
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            double x, y;
            two_prod(f[i], g[j], &x, &y);
            terms[n++] = sign * x;
            terms[n++] = sign * y;
        }
    }
    return n;
}

/* Orientation of (a, b, x), exactly, for a vertex or an exact midpoint. */
static int orient_x(const double *a, const double *b, const struct xpt *x)
{
    if (!x->mid)
        return lc__orient2d_sign(a, b, x->p);
    /* Filter: the rounded midpoint, with the error of rounding it (one
     * rounding of p + q; halving is exact) added to the bound. */
    double m[2] = {0.5 * (x->p[0] + x->q[0]), 0.5 * (x->p[1] + x->q[1])};
    double detleft = (a[0] - m[0]) * (b[1] - m[1]);
    double detright = (a[1] - m[1]) * (b[0] - m[0]);
    double det = detleft - detright;
    double bound = 3.3306690738754716e-16 * (fabs(detleft) + fabs(detright)) +
                   2.3e-16 * (fabs(m[0]) * fabs(a[1] - b[1]) +
                              fabs(m[1]) * fabs(b[0] - a[0]));
    if (det > bound)
        return 1;
    if (-det > bound)
        return -1;
    /* 4 det = (2ax - px - qx)(2by - py - qy) - (2ay - py - qy)(2bx - px -
     * qx), each factor a sum of three doubles. */
    const double ax[3] = {2 * a[0], -x->p[0], -x->q[0]};
    const double ay[3] = {2 * a[1], -x->p[1], -x->q[1]};
    const double bx[3] = {2 * b[0], -x->p[0], -x->q[0]};
    const double by[3] = {2 * b[1], -x->p[1], -x->q[1]};
    double terms[36], e[37];
    size_t n = product3_terms(ax, by, 1.0, terms, 0);
    n = product3_terms(ay, bx, -1.0, terms, n);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len = grow_expansion(e, len, terms[i]);
    for (size_t i = len; i-- > 0;)
        if (e[i] != 0)
            return e[i] > 0 ? 1 : -1;
    return 0;
}

static bool is_boundary_point(const struct flat *f, const double *p)
{
    if (f->nbnd == 0)
        return false;
    return bsearch(p, f->bnd, f->nbnd, 2 * sizeof(double), cmp_xy) != NULL;
}

static bool is_boundary_x(const struct flat *f, const struct xpt *x)
{
    if (!x->mid)
        return is_boundary_point(f, x->p);
    for (size_t i = 0; i < f->nbnd; i++)
        if (x_same(x, f->bnd + 2 * i))
            return true;
    return false;
}

/* ---- point location ---------------------------------------------------- */

/* Where a point lies; the interior kinds differ only for step 4. */
enum loc { LOC_E, LOC_B, LOC_I_POINT, LOC_I_LINE, LOC_I_AREA };

static int loc_index(enum loc l)
{
    switch (l) {
    case LOC_E:
        return 2;
    case LOC_B:
        return 1;
    case LOC_I_POINT:
    case LOC_I_LINE:
    case LOC_I_AREA:
        return 0;
    }
    return 2;
}

static bool on_segment_x(const double *a, const double *b, const struct xpt *x)
{
    for (int axis = 0; axis < 2; axis++) {
        double lo = a[axis] < b[axis] ? a[axis] : b[axis];
        double hi = a[axis] < b[axis] ? b[axis] : a[axis];
        if (xcmp(x, axis, lo) < 0 || xcmp(x, axis, hi) > 0)
            return false;
    }
    return orient_x(a, b, x) == 0;
}

static bool on_segment(const double *a, const double *b, const double *p)
{
    struct xpt x = xpt_of(p);
    return on_segment_x(a, b, &x);
}

/* 0 outside, 1 on a ring, 2 inside: crossings of a ray towards +x, with
 * half-open edges so that vertices count once (Sunday's winding test). */
static int point_in_polygon(const struct flat *f, const struct poly *pg,
                            const struct xpt *x)
{
    bool inside = false;
    for (size_t r = 0; r < pg->nrings; r++) {
        const struct lc__coordseq *s = f->rings[pg->first_ring + r].seq;
        size_t n = s->npoints;
        for (size_t i = 0; i < n; i++) {
            const double *a = pt(s, i), *b = pt(s, (i + 1) % n);
            int ca = xcmp(x, 1, a[1]), cb = xcmp(x, 1, b[1]);
            if (ca < 0 && cb < 0)
                continue; /* both above the point */
            if (ca > 0 && cb > 0)
                continue; /* both below */
            if (same_point(a, b))
                continue;
            bool a_below = ca >= 0, b_below = cb >= 0;
            int o = orient_x(a, b, x);
            if (o == 0 && on_segment_x(a, b, x))
                return 1;
            if (a_below && !b_below && o > 0)
                inside = !inside;
            else if (!a_below && b_below && o < 0)
                inside = !inside;
        }
    }
    return inside ? 2 : 0;
}

static enum loc locate_x(const struct flat *f, const struct xpt *x)
{
    if (!env_has_x(&f->env, x))
        return LOC_E;
    bool on_b = false;
    for (size_t i = 0; i < f->npolys; i++) {
        if (!env_has_x(&f->polys[i].env, x))
            continue;
        int r = point_in_polygon(f, &f->polys[i], x);
        if (r == 2)
            return LOC_I_AREA;
        if (r == 1)
            on_b = true;
    }
    /* The mod-2 rule makes an endpoint of an odd number of the lines a
     * boundary point even where another line passes through it. */
    if (is_boundary_x(f, x)) {
        on_b = true;
    } else {
        for (size_t i = 0; i < f->nlines; i++) {
            const struct line *l = &f->lines[i];
            if (!env_has_x(&l->env, x))
                continue;
            const struct lc__coordseq *s = l->seq;
            for (size_t j = 0; j + 1 < s->npoints; j++)
                if (on_segment_x(pt(s, j), pt(s, j + 1), x))
                    return LOC_I_LINE;
        }
    }
    for (size_t i = 0; i < f->npts; i++)
        if (x_same(x, f->pts + 2 * i))
            return LOC_I_POINT;
    return on_b ? LOC_B : LOC_E;
}

static enum loc locate(const struct flat *f, const double *p)
{
    struct xpt x = xpt_of(p);
    return locate_x(f, &x);
}

/*
 * Where a piece of segment s of f (around x) lies in f itself: known from
 * its kind, except in collections, whose polygons may cover other parts.
 * A rounded x is not exactly on s: only the other polygons are asked.
 */
static enum loc own_loc_piece(const struct flat *f, const struct seg *s,
                              const struct xpt *x)
{
    if (f->collection) {
        for (size_t i = 0; i < f->npolys; i++) {
            if ((s->kind == SEG_RING && s->poly == i) ||
                !env_has_x(&f->polys[i].env, x))
                continue;
            if (point_in_polygon(f, &f->polys[i], x) == 2)
                return LOC_I_AREA;
        }
    }
    return s->kind == SEG_RING ? LOC_B : LOC_I_LINE;
}

/* Where a vertex of f lies in f itself: known from its kind, except in
 * collections (vertices are exact, so they can be located). */
static enum loc own_loc_vertex(const struct flat *f, const double *p, int kind)
{
    if (f->collection)
        return locate(f, p);
    if (kind == 2)
        return LOC_I_POINT;
    if (kind == SEG_RING)
        return LOC_B;
    return is_boundary_point(f, p) ? LOC_B : LOC_I_LINE;
}

/* ---- cutting segments -------------------------------------------------- */

struct cut {
    size_t seg;
    double t;
    const double *at; /* the input point there, NULL for a crossing */
};

struct overlap {
    size_t seg;
    double t0, t1;
    uint8_t other_kind;
    bool same_side; /* both interiors on the same side (ring on ring) */
};

struct cuts {
    const struct lc_allocator *alloc;
    struct cut *cuts;
    size_t ncuts, cuts_cap;
    struct overlap *ovs;
    size_t novs, ovs_cap;
};

static int add_cut(struct cuts *c, size_t seg, double t, const double *at)
{
    if (!(t > 0 && t < 1))
        return LC_OK;
    LC_FORWARD_IF_ERROR(reserve(c->alloc, (void **)&c->cuts, c->ncuts,
                                &c->cuts_cap, sizeof(*c->cuts)));
    c->cuts[c->ncuts].seg = seg;
    c->cuts[c->ncuts].t = t;
    c->cuts[c->ncuts].at = at;
    c->ncuts++;
    return LC_OK;
}

static int add_overlap(struct cuts *c, size_t seg, double t0, double t1,
                       uint8_t other_kind, bool same_side)
{
    LC_FORWARD_IF_ERROR(reserve(c->alloc, (void **)&c->ovs, c->novs,
                                &c->ovs_cap, sizeof(*c->ovs)));
    struct overlap *o = &c->ovs[c->novs++];
    o->seg = seg;
    o->t0 = t0 < t1 ? t0 : t1;
    o->t1 = t0 < t1 ? t1 : t0;
    o->other_kind = other_kind;
    o->same_side = same_side;
    return LC_OK;
}

/* The parameter of p (on the line through s) along s, 0 at a, 1 at b. */
static double param(const struct seg *s, const double *p)
{
    double dx = s->b[0] - s->a[0], dy = s->b[1] - s->a[1];
    if (fabs(dx) >= fabs(dy))
        return (p[0] - s->a[0]) / dx;
    return (p[1] - s->a[1]) / dy;
}

static void set_dim(struct lc__de9im *m, enum loc la, enum loc lb, int dim)
{
    int8_t *e = &m->m[loc_index(la)][loc_index(lb)];
    if (*e < dim)
        *e = (int8_t)dim;
}

/* Intersects segment i of A with segment j of B (step 1). */
/* True when a line boundary point of f lies on both s and t: a crossing
 * there is that boundary point, which step 2 locates exactly. */
static bool crossing_at_boundary(const struct flat *f, const struct seg *s,
                                 const struct seg *t)
{
    for (size_t k = 0; k < f->nbnd; k++) {
        const double *q = f->bnd + 2 * k;
        if (env_has_point(&s->env, q) && env_has_point(&t->env, q) &&
            on_segment(s->a, s->b, q) && on_segment(t->a, t->b, q))
            return true;
    }
    return false;
}

static int intersect(const struct flat *fa, const struct seg *s, size_t i,
                     const struct flat *fb, const struct seg *t, size_t j,
                     struct cuts *ca, struct cuts *cb, struct lc__de9im *m)
{
    int o1 = lc__orient2d_sign(s->a, s->b, t->a);
    int o2 = lc__orient2d_sign(s->a, s->b, t->b);
    if (o1 == 0 && o2 == 0) {
        /* Collinear: they share a stretch, a point, or nothing. */
        double ta = param(s, t->a), tb = param(s, t->b);
        double lo = ta < tb ? ta : tb, hi = ta < tb ? tb : ta;
        if (hi < 0 || lo > 1)
            return LC_OK;
        LC_FORWARD_IF_ERROR(add_cut(ca, i, ta, t->a));
        LC_FORWARD_IF_ERROR(add_cut(ca, i, tb, t->b));
        double sa = param(t, s->a), sb = param(t, s->b);
        LC_FORWARD_IF_ERROR(add_cut(cb, j, sa, s->a));
        LC_FORWARD_IF_ERROR(add_cut(cb, j, sb, s->b));
        lo = lo > 0 ? lo : 0;
        hi = hi < 1 ? hi : 1;
        if (hi > lo) {
            double dot = (s->b[0] - s->a[0]) * (t->b[0] - t->a[0]) +
                         (s->b[1] - s->a[1]) * (t->b[1] - t->a[1]);
            bool t_left = dot > 0 ? t->interior_left : !t->interior_left;
            bool same = s->interior_left == t_left;
            double slo = sa < sb ? sa : sb, shi = sa < sb ? sb : sa;
            slo = slo > 0 ? slo : 0;
            shi = shi < 1 ? shi : 1;
            LC_FORWARD_IF_ERROR(add_overlap(ca, i, lo, hi, t->kind, same));
            LC_FORWARD_IF_ERROR(add_overlap(cb, j, slo, shi, s->kind, same));
        }
        return LC_OK;
    }
    if (o1 * o2 > 0)
        return LC_OK;
    int o3 = lc__orient2d_sign(t->a, t->b, s->a);
    int o4 = lc__orient2d_sign(t->a, t->b, s->b);
    if (o3 * o4 > 0)
        return LC_OK;
    /* One point in common. Endpoints on the other segment cut it there;
     * the point itself is a vertex, located in step 2. */
    if (o1 == 0)
        LC_FORWARD_IF_ERROR(add_cut(ca, i, param(s, t->a), t->a));
    if (o2 == 0)
        LC_FORWARD_IF_ERROR(add_cut(ca, i, param(s, t->b), t->b));
    if (o3 == 0)
        LC_FORWARD_IF_ERROR(add_cut(cb, j, param(t, s->a), s->a));
    if (o4 == 0)
        LC_FORWARD_IF_ERROR(add_cut(cb, j, param(t, s->b), s->b));
    if (o1 != 0 && o2 != 0 && o3 != 0 && o4 != 0) {
        /* A proper crossing, inside both segments. */
        double d3 = orient_det(t->a, t->b, s->a);
        double d4 = orient_det(t->a, t->b, s->b);
        double d1 = orient_det(s->a, s->b, t->a);
        double d2 = orient_det(s->a, s->b, t->b);
        LC_FORWARD_IF_ERROR(add_cut(ca, i, d3 / (d3 - d4), NULL));
        LC_FORWARD_IF_ERROR(add_cut(cb, j, d1 / (d1 - d2), NULL));
        /* Interior to both segments, but it may still be the endpoint of
         * a third segment of a self-touching line, and then the mod-2
         * rule may make it a boundary point. */
        if (!crossing_at_boundary(fa, s, t) && !crossing_at_boundary(fb, s, t))
            set_dim(m, s->kind == SEG_RING ? LOC_B : LOC_I_LINE,
                    t->kind == SEG_RING ? LOC_B : LOC_I_LINE, 0);
    }
    return LC_OK;
}

/* Cuts the segments of g where isolated points of p lie on them. */
static int cut_at_points(const struct flat *g, const struct flat *p,
                         struct cuts *cg)
{
    for (size_t k = 0; k < p->npts; k++) {
        const double *q = p->pts + 2 * k;
        for (size_t i = 0; i < g->nsegs; i++) {
            const struct seg *s = &g->segs[i];
            if (env_has_point(&s->env, q) && on_segment(s->a, s->b, q))
                LC_FORWARD_IF_ERROR(add_cut(cg, i, param(s, q), q));
        }
    }
    return LC_OK;
}

static int cmp_cut(const void *pa, const void *pb)
{
    const struct cut *a = pa, *b = pb;
    if (a->seg != b->seg)
        return a->seg < b->seg ? -1 : 1;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return 0;
}

static int cmp_overlap(const void *pa, const void *pb)
{
    const struct overlap *a = pa, *b = pb;
    if (a->seg != b->seg)
        return a->seg < b->seg ? -1 : 1;
    return 0;
}

/* Steps 2 to 4 for the vertices and pieces of g against h, written into m
 * with g's parts as rows. */
static void classify(const struct flat *g, const struct flat *h,
                     struct cuts *cg, struct lc__de9im *m)
{
    /* Step 2: vertices. */
    for (size_t k = 0; k < g->npts; k++) {
        const double *p = g->pts + 2 * k;
        set_dim(m, own_loc_vertex(g, p, 2), locate(h, p), 0);
    }
    for (size_t i = 0; i < g->nsegs; i++) {
        const struct seg *s = &g->segs[i];
        set_dim(m, own_loc_vertex(g, s->a, s->kind), locate(h, s->a), 0);
        set_dim(m, own_loc_vertex(g, s->b, s->kind), locate(h, s->b), 0);
    }

    /* Steps 3 and 4: pieces between cuts. */
    if (cg->ncuts > 0)
        qsort(cg->cuts, cg->ncuts, sizeof(*cg->cuts), cmp_cut);
    if (cg->novs > 0)
        qsort(cg->ovs, cg->novs, sizeof(*cg->ovs), cmp_overlap);
    size_t ci = 0, oi = 0;
    for (size_t i = 0; i < g->nsegs; i++) {
        const struct seg *s = &g->segs[i];
        while (ci < cg->ncuts && cg->cuts[ci].seg < i)
            ci++;
        while (oi < cg->novs && cg->ovs[oi].seg < i)
            oi++;
        double t0 = 0;
        const double *p0 = s->a; /* the input point at t0, or NULL */
        for (;;) {
            double t1 = 1;
            const double *p1 = s->b;
            while (ci < cg->ncuts && cg->cuts[ci].seg == i &&
                   cg->cuts[ci].t <= t0)
                ci++;
            if (ci < cg->ncuts && cg->cuts[ci].seg == i) {
                t1 = cg->cuts[ci].t;
                p1 = NULL;
                for (size_t k = ci; k < cg->ncuts && cg->cuts[k].seg == i &&
                                    cg->cuts[k].t == t1;
                     k++)
                    if (cg->cuts[k].at != NULL)
                        p1 = cg->cuts[k].at;
            }
            double tm = 0.5 * (t0 + t1);
            struct xpt mid;
            if (p0 != NULL && p1 != NULL) {
                mid = (struct xpt){{p0[0], p0[1]}, {p1[0], p1[1]}, true};
            } else {
                const double c[2] = {s->a[0] + tm * (s->b[0] - s->a[0]),
                                     s->a[1] + tm * (s->b[1] - s->a[1])};
                mid = xpt_of(c);
            }
            enum loc own = own_loc_piece(g, s, &mid);
            bool covered = false;
            for (size_t k = oi; k < cg->novs && cg->ovs[k].seg == i; k++) {
                const struct overlap *o = &cg->ovs[k];
                if (!(tm >= o->t0 && tm <= o->t1))
                    continue;
                covered = true;
                enum loc lh = o->other_kind == SEG_RING ? LOC_B : LOC_I_LINE;
                set_dim(m, own, lh, 1);
                if (s->kind == SEG_RING && o->other_kind == SEG_RING) {
                    if (o->same_side) {
                        set_dim(m, LOC_I_AREA, LOC_I_AREA, 2);
                    } else {
                        set_dim(m, LOC_I_AREA, LOC_E, 2);
                        set_dim(m, LOC_E, LOC_I_AREA, 2);
                    }
                } else if (s->kind == SEG_RING) {
                    set_dim(m, LOC_I_AREA, LOC_E, 2);
                }
            }
            if (!covered) {
                enum loc lh = locate_x(h, &mid);
                set_dim(m, own, lh, 1);
                if (s->kind == SEG_RING) {
                    if (lh == LOC_I_AREA) {
                        set_dim(m, LOC_I_AREA, LOC_I_AREA, 2);
                        set_dim(m, LOC_E, LOC_I_AREA, 2);
                    } else {
                        set_dim(m, LOC_I_AREA, LOC_E, 2);
                    }
                }
            }
            if (t1 >= 1)
                break;
            t0 = t1;
            p0 = p1;
        }
    }
}

static void transpose_into(const struct lc__de9im *t, struct lc__de9im *m)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (t->m[j][i] > m->m[i][j])
                m->m[i][j] = t->m[j][i];
}

int lc__geom_relate(const struct lc__geom *a, const struct lc__geom *b,
                    const struct lc_allocator *alloc, struct lc__de9im *out)
{
    struct flat fa, fb;
    struct cuts ca = {.alloc = alloc}, cb = {.alloc = alloc};
    struct lc__de9im m, mt;
    int rc;

    memset(&fb, 0, sizeof(fb));
    fb.alloc = alloc;
    rc = flatten(&fa, a, alloc);
    if (rc < 0)
        goto done;
    rc = flatten(&fb, b, alloc);
    if (rc < 0)
        goto done;

    memset(&m, -1, sizeof(m));
    memset(&mt, -1, sizeof(mt));
    m.m[2][2] = 2;
    /* Nothing of lower dimension covers the interior of something of
     * higher dimension. */
    if (fa.dim > fb.dim)
        m.m[0][2] = (int8_t)fa.dim;
    if (fb.dim > fa.dim)
        m.m[2][0] = (int8_t)fb.dim;

    if (env_meet(&fa.env, &fb.env)) {
        for (size_t i = 0; i < fa.nsegs; i++) {
            for (size_t j = 0; j < fb.nsegs; j++) {
                if (!env_meet(&fa.segs[i].env, &fb.segs[j].env))
                    continue;
                rc = intersect(&fa, &fa.segs[i], i, &fb, &fb.segs[j], j, &ca,
                               &cb, &m);
                if (rc < 0)
                    goto done;
            }
        }
        rc = cut_at_points(&fa, &fb, &ca);
        if (rc < 0)
            goto done;
        rc = cut_at_points(&fb, &fa, &cb);
        if (rc < 0)
            goto done;
    }
    classify(&fa, &fb, &ca, &m);
    classify(&fb, &fa, &cb, &mt);
    transpose_into(&mt, &m);
    m.dim_a = (int8_t)fa.dim;
    m.dim_b = (int8_t)fb.dim;
    *out = m;
    rc = LC_OK;
done:
    lc__free(alloc, ca.cuts);
    lc__free(alloc, ca.ovs);
    lc__free(alloc, cb.cuts);
    lc__free(alloc, cb.ovs);
    flat_free(&fb);
    flat_free(&fa);
    return rc;
}

/* ---- named predicates -------------------------------------------------- */

bool lc__de9im_predicate(enum lc__spatial_pred pred, const struct lc__de9im *m)
{
    const int8_t(*x)[3] = m->m;
    int da = m->dim_a, db = m->dim_b;
    bool meet = x[0][0] >= 0 || x[0][1] >= 0 || x[1][0] >= 0 || x[1][1] >= 0;

    switch (pred) {
    case LC__SPATIAL_INTERSECTS:
        return meet;
    case LC__SPATIAL_DISJOINT:
        return !meet;
    case LC__SPATIAL_WITHIN:
        return x[0][0] >= 0 && x[0][2] < 0 && x[1][2] < 0;
    case LC__SPATIAL_CONTAINS:
        return x[0][0] >= 0 && x[2][0] < 0 && x[2][1] < 0;
    case LC__SPATIAL_EQUALS:
        if (da < 0 && db < 0)
            return true;
        return x[0][0] >= 0 && x[0][2] < 0 && x[1][2] < 0 && x[2][0] < 0 &&
               x[2][1] < 0;
    case LC__SPATIAL_TOUCHES:
        return x[0][0] < 0 && (x[0][1] >= 0 || x[1][0] >= 0 || x[1][1] >= 0);
    case LC__SPATIAL_CROSSES:
        if (da < 0 || db < 0)
            return false;
        if (da < db)
            return x[0][0] >= 0 && x[0][2] >= 0;
        if (da > db)
            return x[0][0] >= 0 && x[2][0] >= 0;
        return da == 1 && x[0][0] == 0;
    case LC__SPATIAL_OVERLAPS:
        if (da < 0 || da != db)
            return false;
        return (da == 1 ? x[0][0] == 1 : x[0][0] >= 0) && x[0][2] >= 0 &&
               x[2][0] >= 0;
    }
    return false;
}

static bool env_inside(const struct lc__envelope *in,
                       const struct lc__envelope *out)
{
    return in->minx >= out->minx && in->maxx <= out->maxx &&
           in->miny >= out->miny && in->maxy <= out->maxy;
}

int lc__geom_predicate(enum lc__spatial_pred pred, const struct lc__geom *a,
                       const struct lc__geom *b,
                       const struct lc_allocator *alloc, bool *result)
{
    struct lc__envelope ea, eb;

    lc__geom_envelope(a, &ea);
    lc__geom_envelope(b, &eb);
    bool a_empty = !(ea.minx <= ea.maxx), b_empty = !(eb.minx <= eb.maxx);
    /* Shortcuts on boxes; none of them is taken for empty operands that
     * the matrix would treat differently. */
    if (a_empty || b_empty || !env_meet(&ea, &eb)) {
        *result = pred == LC__SPATIAL_DISJOINT ||
                  (pred == LC__SPATIAL_EQUALS && a_empty && b_empty);
        return LC_OK;
    }
    if ((pred == LC__SPATIAL_WITHIN && !env_inside(&ea, &eb)) ||
        (pred == LC__SPATIAL_CONTAINS && !env_inside(&eb, &ea)) ||
        (pred == LC__SPATIAL_EQUALS &&
         (!env_inside(&ea, &eb) || !env_inside(&eb, &ea)))) {
        *result = false;
        return LC_OK;
    }
    struct lc__de9im m;
    LC_FORWARD_IF_ERROR(lc__geom_relate(a, b, alloc, &m));
    *result = lc__de9im_predicate(pred, &m);
    return LC_OK;
}
