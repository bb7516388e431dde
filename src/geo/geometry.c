/* geometry.c - geometry readers (WKB, WKT, GeoJSON), writers, envelopes. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <jansson.h>
#include <math.h>

#include "geometry.h"

/*
 * Readers build geometries straight into the caller's arena. Input is
 * untrusted everywhere: WKB comes from parquet files, WKT and GeoJSON
 * from filters typed by users. Each reader therefore
 *   - checks every count against what is left of the input before it
 *     allocates (a WKB point needs 16 bytes, a ring count 4, a part 9),
 *   - caps nesting (collections in collections) and the total number of
 *     coordinates (struct lc__geom_limits),
 *   - says where it stopped, as a byte offset or a JSON path.
 */

#define DEFAULT_MAX_DEPTH 32
#define DEFAULT_MAX_POINTS ((size_t)1 << 24)

/* The cap's name in lc_limits and how to raise it (docs/limits.md). */
#define POINTS_CAP                                                             \
    "max_geometry_points (%zu); raise it with "                                \
    "limits={'max_geometry_points': ...}"

static void get_limits(const struct lc__geom_limits *in,
                       struct lc__geom_limits *out)
{
    out->max_depth = DEFAULT_MAX_DEPTH;
    out->max_points = DEFAULT_MAX_POINTS;
    if (in != NULL && in->max_depth != 0)
        out->max_depth = in->max_depth;
    if (in != NULL && in->max_points != 0)
        out->max_points = in->max_points;
}

const char *lc__geom_type_name(enum lc__geom_type type)
{
    switch (type) {
    case LC__GEOM_POINT:
        return "Point";
    case LC__GEOM_LINESTRING:
        return "LineString";
    case LC__GEOM_POLYGON:
        return "Polygon";
    case LC__GEOM_MULTIPOINT:
        return "MultiPoint";
    case LC__GEOM_MULTILINESTRING:
        return "MultiLineString";
    case LC__GEOM_MULTIPOLYGON:
        return "MultiPolygon";
    case LC__GEOM_COLLECTION:
        return "GeometryCollection";
    }
    return "Unknown";
}

static const char *wkt_name(enum lc__geom_type type)
{
    switch (type) {
    case LC__GEOM_POINT:
        return "POINT";
    case LC__GEOM_LINESTRING:
        return "LINESTRING";
    case LC__GEOM_POLYGON:
        return "POLYGON";
    case LC__GEOM_MULTIPOINT:
        return "MULTIPOINT";
    case LC__GEOM_MULTILINESTRING:
        return "MULTILINESTRING";
    case LC__GEOM_MULTIPOLYGON:
        return "MULTIPOLYGON";
    case LC__GEOM_COLLECTION:
        return "GEOMETRYCOLLECTION";
    }
    return "UNKNOWN";
}

/* The single type of the parts of a multi type (0 for a collection). */
static enum lc__geom_type part_type(enum lc__geom_type type)
{
    switch (type) {
    case LC__GEOM_MULTIPOINT:
        return LC__GEOM_POINT;
    case LC__GEOM_MULTILINESTRING:
        return LC__GEOM_LINESTRING;
    case LC__GEOM_MULTIPOLYGON:
        return LC__GEOM_POLYGON;
    case LC__GEOM_POINT:
    case LC__GEOM_LINESTRING:
    case LC__GEOM_POLYGON:
    case LC__GEOM_COLLECTION:
        break;
    }
    return (enum lc__geom_type)0;
}

/* ---- WKB --------------------------------------------------------------- */

struct wkb_reader {
    struct lc__arena *arena;
    const uint8_t *buf;
    size_t nbytes;
    size_t pos;
    struct lc__geom_limits limits;
    size_t npoints; /* read so far, against limits.max_points */
    struct lc__errbuf *err;
};

static int wkb_u32(struct wkb_reader *r, bool big_endian, uint32_t *v,
                   const char *what)
{
    LC_RETURN_IF(r->nbytes - r->pos < 4, r->err, LC_ECORRUPT,
                 "WKB: truncated %s at byte %zu (%zu bytes left, 4 needed)",
                 what, r->pos, r->nbytes - r->pos);
    const uint8_t *p = r->buf + r->pos;
    *v = big_endian ? lc__load_be32(p) : lc__load_le32(p);
    r->pos += 4;
    return LC_OK;
}

static double wkb_f64_at(const uint8_t *p, bool big_endian)
{
    uint64_t bits = big_endian ? lc__load_be64(p) : lc__load_le64(p);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

/* Reads a count of items of at least item_nbytes bytes each, checked
 * against the bytes left so that a hostile count cannot make us allocate
 * more than a small multiple of the input size. */
static int wkb_count(struct wkb_reader *r, bool big_endian, size_t item_nbytes,
                     const char *what, size_t *count)
{
    uint32_t n = 0;
    size_t at = r->pos;

    LC_FORWARD_IF_ERROR(wkb_u32(r, big_endian, &n, what));
    size_t left = r->nbytes - r->pos;
    LC_RETURN_IF((size_t)n > left / item_nbytes, r->err, LC_ECORRUPT,
                 "WKB: %s of %" PRIu32 " at byte %zu needs at least %zu "
                 "bytes each, only %zu bytes left",
                 what, n, at, item_nbytes, left);
    *count = n;
    return LC_OK;
}

static int wkb_points(struct wkb_reader *r, bool big_endian, size_t dims,
                      size_t npoints, struct lc__coordseq *seq)
{
    LC_RETURN_IF(npoints > r->limits.max_points - r->npoints, r->err, LC_ELIMIT,
                 "WKB: more coordinates than " POINTS_CAP " (at byte %zu)",
                 r->limits.max_points, r->pos);
    r->npoints += npoints;
    seq->npoints = npoints;
    seq->z = NULL;
    seq->xy = lc__arena_calloc(r->arena, npoints, 2 * sizeof(double));
    LC_RETURN_IF(seq->xy == NULL, r->err, LC_ENOMEM, "WKB: out of memory");
    for (size_t i = 0; i < npoints; i++) {
        const uint8_t *p = r->buf + r->pos + i * dims * 8;
        seq->xy[2 * i] = wkb_f64_at(p, big_endian);
        seq->xy[2 * i + 1] = wkb_f64_at(p + 8, big_endian);
        LC_RETURN_IF(!isfinite(seq->xy[2 * i]) || !isfinite(seq->xy[2 * i + 1]),
                     r->err, LC_ECORRUPT,
                     "WKB: coordinate that is not a finite number at byte "
                     "%zu",
                     r->pos + i * dims * 8);
    }
    r->pos += npoints * dims * 8;
    return LC_OK;
}

static int wkb_geom(struct wkb_reader *r, size_t depth,
                    enum lc__geom_type expect, struct lc__geom *g)
{
    size_t start = r->pos;

    memset(g, 0, sizeof(*g));
    LC_RETURN_IF(r->pos >= r->nbytes, r->err, LC_ECORRUPT,
                 "WKB: truncated geometry at byte %zu", r->pos);
    uint8_t order = r->buf[r->pos];
    LC_RETURN_IF(order > 1, r->err, LC_ECORRUPT,
                 "WKB: byte order %u at byte %zu (0 or 1 expected)", order,
                 r->pos);
    bool be = order == 0;
    r->pos++;
    uint32_t code = 0;
    LC_FORWARD_IF_ERROR(wkb_u32(r, be, &code, "geometry type"));

    /* PostGIS EWKB keeps Z, M and SRID in the top bits; ISO WKB adds
     * 1000, 2000 or 3000 to the type. Either way only the number of
     * values per point matters here. */
    bool has_z = (code & 0x80000000u) != 0;
    bool has_m = (code & 0x40000000u) != 0;
    bool has_srid = (code & 0x20000000u) != 0;
    uint32_t base = code & 0x0fffffffu;
    uint32_t iso_dims = base / 1000;
    uint32_t type = base % 1000;
    LC_RETURN_IF(iso_dims > 3, r->err, LC_ECORRUPT,
                 "WKB: geometry type %" PRIu32 " at byte %zu", code, start);
    has_z = has_z || iso_dims == 1 || iso_dims == 3;
    has_m = has_m || iso_dims == 2 || iso_dims == 3;
    LC_RETURN_IF(type == 0 || (type > 7 && type <= 17), r->err, LC_EUNSUPPORTED,
                 "WKB: geometry type %" PRIu32 " at byte %zu (curves, "
                 "surfaces and TINs are not supported)",
                 code, start);
    LC_RETURN_IF(type > 7, r->err, LC_ECORRUPT,
                 "WKB: geometry type %" PRIu32 " at byte %zu", code, start);
    LC_RETURN_IF(expect != 0 && type != (uint32_t)expect, r->err, LC_ECORRUPT,
                 "WKB: %s part of type %" PRIu32 " at byte %zu",
                 lc__geom_type_name(expect), type, start);
    if (has_srid) {
        uint32_t srid;
        LC_FORWARD_IF_ERROR(wkb_u32(r, be, &srid, "SRID"));
    }
    size_t dims = 2 + (has_z ? 1 : 0) + (has_m ? 1 : 0);
    g->type = (enum lc__geom_type)type;

    switch (g->type) {
    case LC__GEOM_POINT: {
        LC_RETURN_IF(r->nbytes - r->pos < dims * 8, r->err, LC_ECORRUPT,
                     "WKB: truncated point at byte %zu", r->pos);
        double x = wkb_f64_at(r->buf + r->pos, be);
        double y = wkb_f64_at(r->buf + r->pos + 8, be);
        if (isnan(x) && isnan(y)) {
            r->pos += dims * 8; /* POINT EMPTY */
            return LC_OK;
        }
        g->seqs = lc__arena_calloc(r->arena, 1, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM, "WKB: out of memory");
        g->nseqs = 1;
        return wkb_points(r, be, dims, 1, &g->seqs[0]);
    }
    case LC__GEOM_LINESTRING: {
        size_t n;
        LC_FORWARD_IF_ERROR(wkb_count(r, be, dims * 8, "linestring", &n));
        if (n == 0)
            return LC_OK;
        g->seqs = lc__arena_calloc(r->arena, 1, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM, "WKB: out of memory");
        g->nseqs = 1;
        return wkb_points(r, be, dims, n, &g->seqs[0]);
    }
    case LC__GEOM_POLYGON: {
        size_t nrings;
        LC_FORWARD_IF_ERROR(wkb_count(r, be, 4, "polygon", &nrings));
        if (nrings == 0)
            return LC_OK;
        g->seqs = lc__arena_calloc(r->arena, nrings, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM, "WKB: out of memory");
        for (size_t i = 0; i < nrings; i++) {
            size_t n;
            LC_FORWARD_IF_ERROR(wkb_count(r, be, dims * 8, "ring", &n));
            /* An empty ring bounds nothing (and WKT cannot write one). */
            if (n == 0)
                continue;
            LC_FORWARD_IF_ERROR(wkb_points(r, be, dims, n, &g->seqs[g->nseqs]));
            g->nseqs++;
        }
        return LC_OK;
    }
    case LC__GEOM_MULTIPOINT:
    case LC__GEOM_MULTILINESTRING:
    case LC__GEOM_MULTIPOLYGON:
    case LC__GEOM_COLLECTION: {
        size_t nparts;
        LC_RETURN_IF(depth + 1 >= r->limits.max_depth, r->err, LC_ELIMIT,
                     "WKB: geometries nested deeper than %zu at byte %zu",
                     r->limits.max_depth, start);
        LC_FORWARD_IF_ERROR(wkb_count(r, be, 9, "multi-geometry", &nparts));
        if (nparts == 0)
            return LC_OK;
        g->parts = lc__arena_calloc(r->arena, nparts, sizeof(*g->parts));
        LC_RETURN_IF(g->parts == NULL, r->err, LC_ENOMEM, "WKB: out of memory");
        for (size_t i = 0; i < nparts; i++) {
            LC_FORWARD_IF_ERROR(
                wkb_geom(r, depth + 1, part_type(g->type), &g->parts[i]));
            g->nparts = i + 1;
        }
        return LC_OK;
    }
    }
    return lc__error(r->err, LC_ECORRUPT, "WKB: unreachable type");
}

int lc__geom_from_wkb(struct lc__arena *arena, const uint8_t *wkb,
                      size_t nbytes, const struct lc__geom_limits *limits,
                      struct lc__geom **out, struct lc__errbuf *err)
{
    LC_RETURN_IF(arena == NULL || out == NULL || (wkb == NULL && nbytes > 0),
                 err, LC_EINVAL, "WKB: NULL argument");
    struct wkb_reader r = {
        .arena = arena, .buf = wkb, .nbytes = nbytes, .err = err};
    get_limits(limits, &r.limits);
    struct lc__geom *g = lc__arena_alloc(arena, sizeof(*g));
    LC_RETURN_IF(g == NULL, err, LC_ENOMEM, "WKB: out of memory");
    LC_FORWARD_IF_ERROR(wkb_geom(&r, 0, (enum lc__geom_type)0, g));
    LC_RETURN_IF(r.pos != nbytes, err, LC_ECORRUPT,
                 "WKB: %zu bytes after the geometry, which ends at byte %zu",
                 nbytes - r.pos, r.pos);
    *out = g;
    return LC_OK;
}

/* ---- WKT --------------------------------------------------------------- */

struct wkt_reader {
    struct lc__arena *arena;
    const char *s;
    size_t len;
    size_t pos;
    struct lc__geom_limits limits;
    size_t npoints;
    struct lc__text_error *syntax;
    struct lc__errbuf *err;
};

static int wkt_fail(struct wkt_reader *r, const char *expected)
{
    if (r->syntax != NULL) {
        r->syntax->offset = r->pos;
        lc__copy_str(r->syntax->expected, sizeof(r->syntax->expected),
                     expected);
    }
    return lc__error(r->err, LC_EINVAL, "WKT: expected %s at byte %zu",
                     expected, r->pos);
}

static void wkt_space(struct wkt_reader *r)
{
    while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
                               r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
        r->pos++;
}

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Reads a word of letters; returns its length (0: none). */
static size_t wkt_word(struct wkt_reader *r, const char **word)
{
    wkt_space(r);
    size_t start = r->pos;
    while (r->pos < r->len && is_alpha(r->s[r->pos]))
        r->pos++;
    *word = r->s + start;
    return r->pos - start;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
    size_t k = strlen(kw);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != kw[i])
            return false;
    }
    return true;
}

static bool wkt_peek(struct wkt_reader *r, char c)
{
    wkt_space(r);
    return r->pos < r->len && r->s[r->pos] == c;
}

static int wkt_expect(struct wkt_reader *r, char c, const char *expected)
{
    if (!wkt_peek(r, c))
        return wkt_fail(r, expected);
    r->pos++;
    return LC_OK;
}

static int wkt_number(struct wkt_reader *r, double *v)
{
    wkt_space(r);
    size_t n = lc__scan_number(r->s + r->pos, r->len - r->pos);
    if (n == 0 || !lc__parse_double(r->s + r->pos, n, v))
        return wkt_fail(r, "a number");
    r->pos += n;
    return LC_OK;
}

/*
 * Coordinates per point: 2 plus Z and M when tagged; untagged geometries
 * take their count from their first point (3 means Z, 4 ZM), so that
 * "POINT(1 2 3)" reads as PostGIS and cql2-rs read it.
 */
struct wkt_dims {
    bool tagged;
    int n; /* 0: not known yet */
    bool z, m;
};

/* A growable sequence built in the arena (old copies stay there until
 * the arena is freed: at most as much again). */
struct seq_builder {
    size_t n, cap;
    double *xy, *z;
};

static int seq_push(struct wkt_reader *r, struct seq_builder *b, double x,
                    double y, double z)
{
    LC_RETURN_IF(r->npoints >= r->limits.max_points, r->err, LC_ELIMIT,
                 "WKT: more than %zu coordinates", r->limits.max_points);
    if (b->n == b->cap) {
        size_t cap = b->cap != 0 ? b->cap * 2 : 8;
        double *xy = lc__arena_calloc(r->arena, cap, 2 * sizeof(double));
        double *zz = lc__arena_calloc(r->arena, cap, sizeof(double));
        LC_RETURN_IF(xy == NULL || zz == NULL, r->err, LC_ENOMEM,
                     "WKT: out of memory");
        if (b->n > 0) {
            memcpy(xy, b->xy, b->n * 2 * sizeof(double));
            memcpy(zz, b->z, b->n * sizeof(double));
        }
        b->xy = xy;
        b->z = zz;
        b->cap = cap;
    }
    b->xy[2 * b->n] = x;
    b->xy[2 * b->n + 1] = y;
    b->z[b->n] = z;
    b->n++;
    r->npoints++;
    return LC_OK;
}

static int wkt_point(struct wkt_reader *r, struct wkt_dims *d,
                     struct seq_builder *b)
{
    double v[4] = {0, 0, 0, 0};
    int n = 0;

    /* Numbers up to the next ',' or ')': 2 to 4 of them, or exactly as
     * many as the tag or the first point says. */
    while (n < 4 && !(d->n != 0 && n == d->n)) {
        if (n >= 2 && (wkt_peek(r, ',') || wkt_peek(r, ')') ||
                       lc__scan_number(r->s + r->pos, r->len - r->pos) == 0))
            break;
        LC_FORWARD_IF_ERROR(wkt_number(r, &v[n]));
        n++;
    }
    if (d->n == 0) {
        d->n = n;
        d->z = n >= 3;
        d->m = n == 4;
    } else if (n != d->n) {
        return wkt_fail(r, d->n == 3 ? "a number (3 coordinates per point)"
                                     : "a number (4 coordinates per point)");
    }
    return seq_push(r, b, v[0], v[1], d->z ? v[2] : 0.0);
}

static void seq_finish(const struct seq_builder *b, const struct wkt_dims *d,
                       struct lc__coordseq *seq)
{
    seq->npoints = b->n;
    seq->xy = b->xy;
    seq->z = d->z ? b->z : NULL;
}

/* "(x y, x y, ...)" into one sequence. */
static int wkt_seq(struct wkt_reader *r, struct wkt_dims *d,
                   struct lc__coordseq *seq)
{
    struct seq_builder b = {0};

    LC_FORWARD_IF_ERROR(wkt_expect(r, '(', "'('"));
    for (;;) {
        LC_FORWARD_IF_ERROR(wkt_point(r, d, &b));
        if (wkt_peek(r, ')'))
            break;
        LC_FORWARD_IF_ERROR(wkt_expect(r, ',', "',' or ')'"));
    }
    r->pos++;
    seq_finish(&b, d, seq);
    return LC_OK;
}

/* A growable array of geometries or sequences, in the arena. */
static void *grow(struct wkt_reader *r, void *old, size_t n, size_t *cap,
                  size_t size)
{
    if (n < *cap)
        return old;
    size_t ncap = *cap != 0 ? *cap * 2 : 4;
    void *p = lc__arena_calloc(r->arena, ncap, size);
    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, old, n * size);
    *cap = ncap;
    return p;
}

/* "((...), (...))": polygon rings. */
static int wkt_rings(struct wkt_reader *r, struct wkt_dims *d,
                     struct lc__geom *g)
{
    size_t cap = 0;

    LC_FORWARD_IF_ERROR(wkt_expect(r, '(', "'('"));
    for (;;) {
        g->seqs = grow(r, g->seqs, g->nseqs, &cap, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM, "WKT: out of memory");
        LC_FORWARD_IF_ERROR(wkt_seq(r, d, &g->seqs[g->nseqs]));
        g->nseqs++;
        if (wkt_peek(r, ')'))
            break;
        LC_FORWARD_IF_ERROR(wkt_expect(r, ',', "',' or ')'"));
    }
    r->pos++;
    return LC_OK;
}

static bool wkt_empty(struct wkt_reader *r)
{
    size_t save = r->pos;
    const char *w;
    size_t n = wkt_word(r, &w);
    if (word_is(w, n, "EMPTY"))
        return true;
    r->pos = save;
    return false;
}

static int wkt_tagged(struct wkt_reader *r, size_t depth, struct lc__geom *g);

/* The body of a geometry of type g->type after its tag. */
static int wkt_body(struct wkt_reader *r, size_t depth, struct wkt_dims *d,
                    struct lc__geom *g)
{
    if (wkt_empty(r))
        return LC_OK;
    switch (g->type) {
    case LC__GEOM_POINT: {
        struct seq_builder b = {0};
        LC_FORWARD_IF_ERROR(wkt_expect(r, '(', "EMPTY or '('"));
        LC_FORWARD_IF_ERROR(wkt_point(r, d, &b));
        LC_FORWARD_IF_ERROR(wkt_expect(r, ')', "')'"));
        g->seqs = lc__arena_calloc(r->arena, 1, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM, "WKT: out of memory");
        seq_finish(&b, d, &g->seqs[0]);
        g->nseqs = 1;
        return LC_OK;
    }
    case LC__GEOM_LINESTRING:
        g->seqs = lc__arena_calloc(r->arena, 1, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM, "WKT: out of memory");
        LC_FORWARD_IF_ERROR(wkt_seq(r, d, &g->seqs[0]));
        g->nseqs = 1;
        return LC_OK;
    case LC__GEOM_POLYGON:
        return wkt_rings(r, d, g);
    case LC__GEOM_MULTIPOINT:
    case LC__GEOM_MULTILINESTRING:
    case LC__GEOM_MULTIPOLYGON:
    case LC__GEOM_COLLECTION:
        break;
    }
    LC_RETURN_IF(depth + 1 >= r->limits.max_depth, r->err, LC_ELIMIT,
                 "WKT: geometries nested deeper than %zu at byte %zu",
                 r->limits.max_depth, r->pos);
    size_t cap = 0;
    LC_FORWARD_IF_ERROR(wkt_expect(r, '(', "EMPTY or '('"));
    for (;;) {
        g->parts = grow(r, g->parts, g->nparts, &cap, sizeof(*g->parts));
        LC_RETURN_IF(g->parts == NULL, r->err, LC_ENOMEM, "WKT: out of memory");
        struct lc__geom *p = &g->parts[g->nparts];
        memset(p, 0, sizeof(*p));
        if (g->type == LC__GEOM_COLLECTION) {
            LC_FORWARD_IF_ERROR(wkt_tagged(r, depth + 1, p));
        } else {
            p->type = part_type(g->type);
            p->has_z = g->has_z;
            if (p->type == LC__GEOM_POINT && !wkt_peek(r, '(') &&
                !wkt_peek(r, 'E') && !wkt_peek(r, 'e')) {
                /* MULTIPOINT(1 2, 3 4): points without parentheses. */
                struct seq_builder b = {0};
                LC_FORWARD_IF_ERROR(wkt_point(r, d, &b));
                p->seqs = lc__arena_calloc(r->arena, 1, sizeof(*p->seqs));
                LC_RETURN_IF(p->seqs == NULL, r->err, LC_ENOMEM,
                             "WKT: out of memory");
                seq_finish(&b, d, &p->seqs[0]);
                p->nseqs = 1;
            } else {
                LC_FORWARD_IF_ERROR(wkt_body(r, depth + 1, d, p));
            }
            p->has_z = d->z;
        }
        g->nparts++;
        if (wkt_peek(r, ')'))
            break;
        LC_FORWARD_IF_ERROR(wkt_expect(r, ',', "',' or ')'"));
    }
    r->pos++;
    return LC_OK;
}

static const struct {
    const char *name;
    enum lc__geom_type type;
} kWktTypes[] = {
    {"POINT", LC__GEOM_POINT},
    {"LINESTRING", LC__GEOM_LINESTRING},
    {"POLYGON", LC__GEOM_POLYGON},
    {"MULTIPOINT", LC__GEOM_MULTIPOINT},
    {"MULTILINESTRING", LC__GEOM_MULTILINESTRING},
    {"MULTIPOLYGON", LC__GEOM_MULTIPOLYGON},
    {"GEOMETRYCOLLECTION", LC__GEOM_COLLECTION},
};

static int wkt_tagged(struct wkt_reader *r, size_t depth, struct lc__geom *g)
{
    const char *w;
    size_t n = wkt_word(r, &w);
    size_t start = r->pos - n;
    struct wkt_dims d = {0};

    memset(g, 0, sizeof(*g));
    for (size_t i = 0; i < LC_ARRAY_SIZE(kWktTypes); i++) {
        size_t k = strlen(kWktTypes[i].name);
        if (n < k || !word_is(w, k, kWktTypes[i].name))
            continue;
        /* A suffix glued to the name: POINTZ, POINTM, POINTZM. */
        const char *suffix = w + k;
        size_t ns = n - k;
        if (ns == 0 || word_is(suffix, ns, "Z") || word_is(suffix, ns, "M") ||
            word_is(suffix, ns, "ZM")) {
            g->type = kWktTypes[i].type;
            if (ns == 0) {
                size_t save = r->pos;
                ns = wkt_word(r, &suffix);
                if (!(word_is(suffix, ns, "Z") || word_is(suffix, ns, "M") ||
                      word_is(suffix, ns, "ZM"))) {
                    r->pos = save;
                    ns = 0;
                }
            }
            if (ns > 0) {
                d.tagged = true;
                d.z = word_is(suffix, ns, "Z") || word_is(suffix, ns, "ZM");
                d.m = word_is(suffix, ns, "M") || word_is(suffix, ns, "ZM");
                d.n = 2 + (d.z ? 1 : 0) + (d.m ? 1 : 0);
            }
            break;
        }
    }
    if (g->type == 0) {
        r->pos = start;
        return wkt_fail(r, "a geometry type (POINT, LINESTRING, POLYGON, "
                           "MULTI..., GEOMETRYCOLLECTION)");
    }
    g->has_z = d.z;
    LC_FORWARD_IF_ERROR(wkt_body(r, depth, &d, g));
    if (g->type != LC__GEOM_COLLECTION)
        g->has_z = d.z;
    return LC_OK;
}

int lc__geom_from_wkt(struct lc__arena *arena, const char *text, size_t len,
                      const struct lc__geom_limits *limits, size_t *consumed,
                      struct lc__geom **out, struct lc__text_error *syntax,
                      struct lc__errbuf *err)
{
    LC_RETURN_IF(arena == NULL || out == NULL || (text == NULL && len > 0), err,
                 LC_EINVAL, "WKT: NULL argument");
    struct wkt_reader r = {
        .arena = arena, .s = text, .len = len, .syntax = syntax, .err = err};
    get_limits(limits, &r.limits);
    struct lc__geom *g = lc__arena_alloc(arena, sizeof(*g));
    LC_RETURN_IF(g == NULL, err, LC_ENOMEM, "WKT: out of memory");
    LC_FORWARD_IF_ERROR(wkt_tagged(&r, 0, g));
    if (consumed != NULL) {
        *consumed = r.pos;
    } else {
        wkt_space(&r);
        if (r.pos != r.len)
            return wkt_fail(&r, "the end of the text");
    }
    *out = g;
    return LC_OK;
}

/* ---- GeoJSON ----------------------------------------------------------- */

struct gj_reader {
    struct lc__arena *arena;
    struct lc__geom_limits limits;
    size_t npoints;
    bool all_z; /* every position so far had a third number */
    struct lc__errbuf *err;
    char path[128]; /* JSON path of the value being read, for messages */
};

static int gj_fail(struct gj_reader *r, const char *what)
{
    return lc__error(r->err, LC_EINVAL, "GeoJSON: %s: %s",
                     r->path[0] != '\0' ? r->path : "geometry", what);
}

/* Appends "[i]" or ".name" to the path, returning the old length. */
static size_t gj_push_index(struct gj_reader *r, size_t i)
{
    size_t old = strlen(r->path);
    (void)snprintf(r->path + old, sizeof(r->path) - old, "[%zu]", i);
    return old;
}

static size_t gj_push_name(struct gj_reader *r, const char *name)
{
    size_t old = strlen(r->path);
    (void)snprintf(r->path + old, sizeof(r->path) - old, ".%s", name);
    return old;
}

static int gj_position(struct gj_reader *r, const json_t *pos, double *x,
                       double *y, double *z)
{
    if (!json_is_array(pos) || json_array_size(pos) < 2)
        return gj_fail(r, "expected a position (an array of 2 or more "
                          "numbers)");
    double v[3] = {0, 0, 0};
    size_t n = json_array_size(pos) < 3 ? json_array_size(pos) : 3;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(pos, i);
        if (!json_is_number(c))
            return gj_fail(r, "expected a position (an array of 2 or more "
                              "numbers)");
        v[i] = json_number_value(c);
        if (!isfinite(v[i]))
            return gj_fail(r, "coordinate is not finite");
    }
    if (n < 3)
        r->all_z = false;
    *x = v[0];
    *y = v[1];
    *z = v[2];
    return LC_OK;
}

static int gj_seq(struct gj_reader *r, const json_t *arr,
                  struct lc__coordseq *seq)
{
    if (!json_is_array(arr))
        return gj_fail(r, "expected an array of positions");
    size_t n = json_array_size(arr);
    LC_RETURN_IF(n > r->limits.max_points - r->npoints, r->err, LC_ELIMIT,
                 "GeoJSON: more coordinates than " POINTS_CAP,
                 r->limits.max_points);
    r->npoints += n;
    seq->npoints = n;
    seq->xy = lc__arena_calloc(r->arena, n, 2 * sizeof(double));
    seq->z = lc__arena_calloc(r->arena, n, sizeof(double));
    LC_RETURN_IF(seq->xy == NULL || seq->z == NULL, r->err, LC_ENOMEM,
                 "GeoJSON: out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t old = gj_push_index(r, i);
        LC_FORWARD_IF_ERROR(gj_position(r, json_array_get(arr, i),
                                        &seq->xy[2 * i], &seq->xy[2 * i + 1],
                                        &seq->z[i]));
        r->path[old] = '\0';
    }
    return LC_OK;
}

/* Reads coordinates of a single (non-collection) type into g. */
static int gj_coords(struct gj_reader *r, const json_t *c, struct lc__geom *g)
{
    switch (g->type) {
    case LC__GEOM_POINT: {
        if (json_is_array(c) && json_array_size(c) == 0)
            return LC_OK; /* empty point, as some writers emit */
        g->seqs = lc__arena_calloc(r->arena, 1, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM,
                     "GeoJSON: out of memory");
        struct lc__coordseq *s = &g->seqs[0];
        s->xy = lc__arena_calloc(r->arena, 1, 2 * sizeof(double));
        s->z = lc__arena_calloc(r->arena, 1, sizeof(double));
        LC_RETURN_IF(s->xy == NULL || s->z == NULL, r->err, LC_ENOMEM,
                     "GeoJSON: out of memory");
        LC_RETURN_IF(r->npoints >= r->limits.max_points, r->err, LC_ELIMIT,
                     "GeoJSON: more coordinates than " POINTS_CAP,
                     r->limits.max_points);
        r->npoints++;
        LC_FORWARD_IF_ERROR(gj_position(r, c, &s->xy[0], &s->xy[1], &s->z[0]));
        s->npoints = 1;
        g->nseqs = 1;
        return LC_OK;
    }
    case LC__GEOM_LINESTRING:
        if (!json_is_array(c))
            return gj_fail(r, "expected an array of positions");
        if (json_array_size(c) == 0)
            return LC_OK;
        g->seqs = lc__arena_calloc(r->arena, 1, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM,
                     "GeoJSON: out of memory");
        g->nseqs = 1;
        return gj_seq(r, c, &g->seqs[0]);
    case LC__GEOM_POLYGON: {
        if (!json_is_array(c))
            return gj_fail(r, "expected an array of rings");
        size_t n = json_array_size(c);
        if (n == 0)
            return LC_OK;
        g->seqs = lc__arena_calloc(r->arena, n, sizeof(*g->seqs));
        LC_RETURN_IF(g->seqs == NULL, r->err, LC_ENOMEM,
                     "GeoJSON: out of memory");
        for (size_t i = 0; i < n; i++) {
            size_t old = gj_push_index(r, i);
            LC_FORWARD_IF_ERROR(
                gj_seq(r, json_array_get(c, i), &g->seqs[g->nseqs]));
            r->path[old] = '\0';
            /* An empty ring bounds nothing (and WKT cannot write one). */
            if (g->seqs[g->nseqs].npoints > 0)
                g->nseqs++;
        }
        return LC_OK;
    }
    case LC__GEOM_MULTIPOINT:
    case LC__GEOM_MULTILINESTRING:
    case LC__GEOM_MULTIPOLYGON: {
        if (!json_is_array(c))
            return gj_fail(r, "expected an array");
        size_t n = json_array_size(c);
        if (n == 0)
            return LC_OK;
        g->parts = lc__arena_calloc(r->arena, n, sizeof(*g->parts));
        LC_RETURN_IF(g->parts == NULL, r->err, LC_ENOMEM,
                     "GeoJSON: out of memory");
        for (size_t i = 0; i < n; i++) {
            size_t old = gj_push_index(r, i);
            g->parts[i].type = part_type(g->type);
            LC_FORWARD_IF_ERROR(
                gj_coords(r, json_array_get(c, i), &g->parts[i]));
            r->path[old] = '\0';
            g->nparts = i + 1;
        }
        return LC_OK;
    }
    case LC__GEOM_COLLECTION:
        break;
    }
    return gj_fail(r, "unexpected coordinates");
}

/* Drops the Z arrays of g (recursively) unless every position had one. */
static void set_has_z(struct lc__geom *g, bool has_z)
{
    g->has_z = has_z;
    for (size_t i = 0; i < g->nseqs; i++)
        if (!has_z)
            g->seqs[i].z = NULL;
    for (size_t i = 0; i < g->nparts; i++)
        set_has_z(&g->parts[i], has_z);
}

static int gj_geom(struct gj_reader *r, const json_t *obj, size_t depth,
                   struct lc__geom *g)
{
    memset(g, 0, sizeof(*g));
    if (!json_is_object(obj))
        return gj_fail(r, "expected a geometry object");
    const json_t *type = json_object_get(obj, "type");
    if (!json_is_string(type))
        return gj_fail(r, "expected a \"type\" string member");
    const char *name = json_string_value(type);
    for (int t = LC__GEOM_POINT; t <= LC__GEOM_COLLECTION; t++)
        if (strcmp(name, lc__geom_type_name((enum lc__geom_type)t)) == 0)
            g->type = (enum lc__geom_type)t;
    if (g->type == 0)
        return gj_fail(r, "\"type\" is not a GeoJSON geometry type");
    if (g->type == LC__GEOM_COLLECTION) {
        LC_RETURN_IF(depth + 1 >= r->limits.max_depth, r->err, LC_ELIMIT,
                     "GeoJSON: geometries nested deeper than %zu",
                     r->limits.max_depth);
        const json_t *geoms = json_object_get(obj, "geometries");
        size_t old = gj_push_name(r, "geometries");
        if (!json_is_array(geoms))
            return gj_fail(r, "expected an array of geometries");
        size_t n = json_array_size(geoms);
        if (n > 0) {
            g->parts = lc__arena_calloc(r->arena, n, sizeof(*g->parts));
            LC_RETURN_IF(g->parts == NULL, r->err, LC_ENOMEM,
                         "GeoJSON: out of memory");
        }
        bool all_z = true;
        for (size_t i = 0; i < n; i++) {
            size_t old2 = gj_push_index(r, i);
            r->all_z = true;
            LC_FORWARD_IF_ERROR(
                gj_geom(r, json_array_get(geoms, i), depth + 1, &g->parts[i]));
            all_z = all_z && g->parts[i].has_z;
            r->path[old2] = '\0';
            g->nparts = i + 1;
        }
        r->path[old] = '\0';
        g->has_z = n > 0 && all_z;
        r->all_z = g->has_z;
        return LC_OK;
    }
    const json_t *coords = json_object_get(obj, "coordinates");
    size_t old = gj_push_name(r, "coordinates");
    if (coords == NULL)
        return gj_fail(r, "missing");
    r->all_z = true;
    LC_FORWARD_IF_ERROR(gj_coords(r, coords, g));
    r->path[old] = '\0';
    set_has_z(g, r->all_z && !lc__geom_is_empty(g));
    return LC_OK;
}

int lc__geom_from_geojson(struct lc__arena *arena, const struct json_t *obj,
                          const struct lc__geom_limits *limits,
                          struct lc__geom **out, struct lc__errbuf *err)
{
    LC_RETURN_IF(arena == NULL || obj == NULL || out == NULL, err, LC_EINVAL,
                 "GeoJSON: NULL argument");
    struct gj_reader r = {.arena = arena, .err = err};
    get_limits(limits, &r.limits);
    struct lc__geom *g = lc__arena_alloc(arena, sizeof(*g));
    LC_RETURN_IF(g == NULL, err, LC_ENOMEM, "GeoJSON: out of memory");
    LC_FORWARD_IF_ERROR(gj_geom(&r, obj, 0, g));
    *out = g;
    return LC_OK;
}

int lc__geom_from_geojson_text(struct lc__arena *arena, const char *text,
                               size_t len, const struct lc__geom_limits *limits,
                               struct lc__geom **out, struct lc__errbuf *err)
{
    json_error_t jerr;

    LC_RETURN_IF(text == NULL, err, LC_EINVAL, "GeoJSON: NULL argument");
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    LC_RETURN_IF(root == NULL, err, LC_EINVAL,
                 "GeoJSON: %s at byte %d (line %d, column %d)", jerr.text,
                 jerr.position, jerr.line, jerr.column);
    int rc = lc__geom_from_geojson(arena, root, limits, out, err);
    json_decref(root);
    return rc;
}

int lc__geom_from_envelope(struct lc__arena *arena,
                           const struct lc__envelope *env,
                           struct lc__geom **out)
{
    struct lc__geom *g = lc__arena_calloc(arena, 1, sizeof(*g));
    if (g == NULL)
        return LC_ENOMEM;
    g->type = LC__GEOM_POLYGON;
    g->seqs = lc__arena_calloc(arena, 1, sizeof(*g->seqs));
    if (g->seqs == NULL)
        return LC_ENOMEM;
    double *xy = lc__arena_calloc(arena, 5, 2 * sizeof(double));
    if (xy == NULL)
        return LC_ENOMEM;
    const double pts[10] = {env->minx, env->miny, env->maxx, env->miny,
                            env->maxx, env->maxy, env->minx, env->maxy,
                            env->minx, env->miny};
    memcpy(xy, pts, sizeof(pts));
    g->seqs[0].npoints = 5;
    g->seqs[0].xy = xy;
    g->nseqs = 1;
    *out = g;
    return LC_OK;
}

/* ---- writers ----------------------------------------------------------- */

static void wkt_coord(const struct lc__coordseq *s, size_t i, bool z,
                      struct lc__strbuf *sb)
{
    lc__strbuf_double_plain(sb, s->xy[2 * i]);
    lc__strbuf_putc(sb, ' ');
    lc__strbuf_double_plain(sb, s->xy[2 * i + 1]);
    if (z) {
        lc__strbuf_putc(sb, ' ');
        lc__strbuf_double_plain(sb, s->z != NULL ? s->z[i] : 0.0);
    }
}

static void wkt_coords(const struct lc__coordseq *s, bool z,
                       struct lc__strbuf *sb)
{
    for (size_t i = 0; i < s->npoints; i++) {
        if (i > 0)
            lc__strbuf_putc(sb, ',');
        wkt_coord(s, i, z, sb);
    }
}

/* The parenthesised body of g, without its name. */
static void wkt_write_body(const struct lc__geom *g, struct lc__strbuf *sb)
{
    bool z = g->has_z;

    if (lc__geom_is_empty(g) && g->nparts == 0) {
        lc__strbuf_puts(sb, " EMPTY");
        return;
    }
    lc__strbuf_putc(sb, '(');
    switch (g->type) {
    case LC__GEOM_POINT:
    case LC__GEOM_LINESTRING:
        wkt_coords(&g->seqs[0], z, sb);
        break;
    case LC__GEOM_POLYGON:
        for (size_t i = 0; i < g->nseqs; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            lc__strbuf_putc(sb, '(');
            wkt_coords(&g->seqs[i], z, sb);
            lc__strbuf_putc(sb, ')');
        }
        break;
    case LC__GEOM_MULTIPOINT:
        for (size_t i = 0; i < g->nparts; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            if (g->parts[i].nseqs == 0)
                lc__strbuf_puts(sb, "EMPTY");
            else
                wkt_coords(&g->parts[i].seqs[0], z, sb);
        }
        break;
    case LC__GEOM_MULTILINESTRING:
    case LC__GEOM_MULTIPOLYGON:
        for (size_t i = 0; i < g->nparts; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            const struct lc__geom *p = &g->parts[i];
            if (lc__geom_is_empty(p)) {
                lc__strbuf_puts(sb, "EMPTY");
            } else if (p->type == LC__GEOM_LINESTRING) {
                lc__strbuf_putc(sb, '(');
                wkt_coords(&p->seqs[0], z, sb);
                lc__strbuf_putc(sb, ')');
            } else {
                wkt_write_body(p, sb);
            }
        }
        break;
    case LC__GEOM_COLLECTION:
        for (size_t i = 0; i < g->nparts; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            lc__geom_to_wkt(&g->parts[i], sb);
        }
        break;
    }
    lc__strbuf_putc(sb, ')');
}

void lc__geom_to_wkt(const struct lc__geom *g, struct lc__strbuf *sb)
{
    lc__strbuf_puts(sb, wkt_name(g->type));
    if (g->has_z)
        lc__strbuf_puts(sb, " Z");
    wkt_write_body(g, sb);
}

static void gj_coord(const struct lc__coordseq *s, size_t i, bool z,
                     struct lc__strbuf *sb)
{
    lc__strbuf_putc(sb, '[');
    lc__strbuf_double_json(sb, s->xy[2 * i]);
    lc__strbuf_putc(sb, ',');
    lc__strbuf_double_json(sb, s->xy[2 * i + 1]);
    if (z) {
        lc__strbuf_putc(sb, ',');
        lc__strbuf_double_json(sb, s->z != NULL ? s->z[i] : 0.0);
    }
    lc__strbuf_putc(sb, ']');
}

static void gj_coords_out(const struct lc__coordseq *s, bool z,
                          struct lc__strbuf *sb)
{
    lc__strbuf_putc(sb, '[');
    for (size_t i = 0; i < s->npoints; i++) {
        if (i > 0)
            lc__strbuf_putc(sb, ',');
        gj_coord(s, i, z, sb);
    }
    lc__strbuf_putc(sb, ']');
}

/* The "coordinates" value of a non-collection geometry. */
static void gj_coordinates(const struct lc__geom *g, struct lc__strbuf *sb)
{
    bool z = g->has_z;

    switch (g->type) {
    case LC__GEOM_POINT:
        if (g->nseqs == 0)
            lc__strbuf_puts(sb, "[]");
        else
            gj_coord(&g->seqs[0], 0, z, sb);
        return;
    case LC__GEOM_LINESTRING:
        if (g->nseqs == 0)
            lc__strbuf_puts(sb, "[]");
        else
            gj_coords_out(&g->seqs[0], z, sb);
        return;
    case LC__GEOM_POLYGON:
        lc__strbuf_putc(sb, '[');
        for (size_t i = 0; i < g->nseqs; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            gj_coords_out(&g->seqs[i], z, sb);
        }
        lc__strbuf_putc(sb, ']');
        return;
    case LC__GEOM_MULTIPOINT:
    case LC__GEOM_MULTILINESTRING:
    case LC__GEOM_MULTIPOLYGON:
    case LC__GEOM_COLLECTION:
        lc__strbuf_putc(sb, '[');
        for (size_t i = 0; i < g->nparts; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            gj_coordinates(&g->parts[i], sb);
        }
        lc__strbuf_putc(sb, ']');
        return;
    }
}

void lc__geom_to_geojson(const struct lc__geom *g, struct lc__strbuf *sb)
{
    lc__strbuf_puts(sb, "{\"type\":\"");
    lc__strbuf_puts(sb, lc__geom_type_name(g->type));
    if (g->type == LC__GEOM_COLLECTION) {
        lc__strbuf_puts(sb, "\",\"geometries\":[");
        for (size_t i = 0; i < g->nparts; i++) {
            if (i > 0)
                lc__strbuf_putc(sb, ',');
            lc__geom_to_geojson(&g->parts[i], sb);
        }
        lc__strbuf_puts(sb, "]}");
        return;
    }
    lc__strbuf_puts(sb, "\",\"coordinates\":");
    gj_coordinates(g, sb);
    lc__strbuf_putc(sb, '}');
}

/* ---- properties -------------------------------------------------------- */

static void env_add(const struct lc__geom *g, struct lc__envelope *env)
{
    for (size_t i = 0; i < g->nseqs; i++) {
        const struct lc__coordseq *s = &g->seqs[i];
        for (size_t j = 0; j < s->npoints; j++) {
            double x = s->xy[2 * j], y = s->xy[2 * j + 1];
            env->minx = x < env->minx ? x : env->minx;
            env->maxx = x > env->maxx ? x : env->maxx;
            env->miny = y < env->miny ? y : env->miny;
            env->maxy = y > env->maxy ? y : env->maxy;
        }
    }
    for (size_t i = 0; i < g->nparts; i++)
        env_add(&g->parts[i], env);
}

void lc__geom_envelope(const struct lc__geom *g, struct lc__envelope *env)
{
    env->minx = env->miny = INFINITY;
    env->maxx = env->maxy = -INFINITY;
    env_add(g, env);
}

bool lc__geom_is_empty(const struct lc__geom *g)
{
    for (size_t i = 0; i < g->nseqs; i++)
        if (g->seqs[i].npoints > 0)
            return false;
    for (size_t i = 0; i < g->nparts; i++)
        if (!lc__geom_is_empty(&g->parts[i]))
            return false;
    return true;
}

static bool seq_equal(const struct lc__coordseq *a,
                      const struct lc__coordseq *b, bool z)
{
    if (a->npoints != b->npoints)
        return false;
    if (a->npoints > 0 &&
        memcmp(a->xy, b->xy, a->npoints * 2 * sizeof(double)) != 0)
        return false;
    if (z && a->npoints > 0 &&
        (a->z == NULL || b->z == NULL ||
         memcmp(a->z, b->z, a->npoints * sizeof(double)) != 0))
        return false;
    return true;
}

bool lc__geom_equal_exact(const struct lc__geom *a, const struct lc__geom *b)
{
    if (a->type != b->type || a->nseqs != b->nseqs || a->nparts != b->nparts)
        return false;
    /* Z only matters where there are coordinates: "POINT Z EMPTY" is
     * "POINT EMPTY", and a collection is as 3D as its parts. */
    if (a->nseqs > 0 && a->has_z != b->has_z)
        return false;
    for (size_t i = 0; i < a->nseqs; i++)
        if (!seq_equal(&a->seqs[i], &b->seqs[i], a->has_z))
            return false;
    for (size_t i = 0; i < a->nparts; i++)
        if (!lc__geom_equal_exact(&a->parts[i], &b->parts[i]))
            return false;
    return true;
}

int lc__geom_dimension(const struct lc__geom *g)
{
    int d = -1;
    switch (g->type) {
    case LC__GEOM_POINT:
        return g->nseqs > 0 && g->seqs[0].npoints > 0 ? 0 : -1;
    case LC__GEOM_LINESTRING:
        return g->nseqs > 0 && g->seqs[0].npoints > 0 ? 1 : -1;
    case LC__GEOM_POLYGON:
        return g->nseqs > 0 && g->seqs[0].npoints > 0 ? 2 : -1;
    case LC__GEOM_MULTIPOINT:
    case LC__GEOM_MULTILINESTRING:
    case LC__GEOM_MULTIPOLYGON:
    case LC__GEOM_COLLECTION:
        for (size_t i = 0; i < g->nparts; i++) {
            int pd = lc__geom_dimension(&g->parts[i]);
            d = pd > d ? pd : d;
        }
        return d;
    }
    return d;
}
