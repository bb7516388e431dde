/* geometry.h - planar geometries for item footprints and CQL2 literals. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_GEOMETRY_H
#define LC_GEOMETRY_H

#include "../common/common.h"

#include "../common/arena.h"
#include "../common/error.h"
#include "../common/text.h"

/*
 * The simple-features model (OGC 06-103r4) in two dimensions, for lon/lat
 * footprints of STAC items and the geometry literals of CQL2 filters:
 *
 *   POINT, LINESTRING, POLYGON          one coordinate sequence each (a
 *                                       polygon: one per ring, shell first)
 *   MULTIPOINT, MULTILINESTRING,        parts, each a geometry of the
 *   MULTIPOLYGON, GEOMETRYCOLLECTION    matching single type (a collection:
 *                                       any type, nested)
 *
 * Coordinates are doubles in the order they were written (x = longitude,
 * y = latitude for footprints). A Z coordinate is kept when a WKT or
 * GeoJSON literal carries one, so a CQL2 filter renders back as written;
 * WKB readers and every predicate ignore Z. M values are dropped.
 *
 * The plane is the plane: nothing here knows the Earth is round, and the
 * antimeridian is NOT handled specially. A polygon from 170 to 190 degrees
 * east is a polygon from 170 to 190, which does not intersect one at -175.
 * Callers that need wrap-around (the STAC layer, CQL2 BBOX literals whose
 * west edge is east of their east edge) split geometries before asking.
 *
 * Memory: every geometry lives in an arena (../common/arena.h) given to the
 * parser, and is freed with it. Geometries are immutable once built and
 * may be read from several threads at once.
 */

/* Geometry types; the values are the WKB type codes. */
enum lc__geom_type {
    LC__GEOM_POINT = 1,
    LC__GEOM_LINESTRING = 2,
    LC__GEOM_POLYGON = 3,
    LC__GEOM_MULTIPOINT = 4,
    LC__GEOM_MULTILINESTRING = 5,
    LC__GEOM_MULTIPOLYGON = 6,
    LC__GEOM_COLLECTION = 7
};

/* A sequence of npoints coordinates: xy holds x0 y0 x1 y1 ...; z holds
 * npoints values when the geometry has Z, else NULL. */
struct lc__coordseq {
    size_t npoints;
    double *xy;
    double *z;
};

struct lc__geom {
    enum lc__geom_type type;
    bool has_z;
    /* POINT and LINESTRING: 0 (EMPTY) or 1 sequence; POLYGON: one per
     * ring, the shell first (0: EMPTY). Unused by the other types. */
    size_t nseqs;
    struct lc__coordseq *seqs;
    /* MULTI* and GEOMETRYCOLLECTION: the parts (0: EMPTY). */
    size_t nparts;
    struct lc__geom *parts;
};

/* An axis-aligned box; an empty geometry has minx > maxx (+inf / -inf). */
struct lc__envelope {
    double minx, miny, maxx, maxy;
};

/*
 * Caps on what a parser builds from untrusted input (STYLE.md rule 17).
 * All-zero (or a NULL pointer) means the defaults in brackets.
 */
struct lc__geom_limits {
    size_t max_depth;  /* nesting of multi/collection levels [32] */
    size_t max_points; /* coordinates in one geometry [16777216] */
};

/* Where and why a text parser stopped. offset is a byte offset into the
 * text given to the parser; expected says what would have been valid. */
struct lc__text_error {
    size_t offset;
    char expected[96];
};

/* ---- readers ----------------------------------------------------------- */

/*
 * Reads one geometry in Well-Known Binary: ISO WKB (types 1-7, +1000 Z,
 * +2000 M, +3000 ZM) and PostGIS EWKB (flag bits 0x80000000 Z, 0x40000000
 * M, 0x20000000 SRID, whose 4-byte SRID is skipped), each part in either
 * byte order. Z and M values are read and dropped; a point whose
 * coordinates are all NaN is POINT EMPTY, any other non-finite coordinate
 * is an error; polygon rings without points are skipped (as by the
 * GeoJSON reader). Every count is checked against
 * the bytes left before anything is allocated, and nesting is capped.
 * The geometry must use all nbytes bytes.
 *
 * Returns LC_OK with *out in arena; LC_ECORRUPT with a message naming the
 * byte offset ("WKB: ring 3 of polygon: 4000000 points need 64000000
 * bytes, 12 left at byte 57"); LC_ELIMIT past a cap; LC_ENOMEM.
 */
int lc__geom_from_wkb(struct lc__arena *arena, const uint8_t *wkb,
                      size_t nbytes, const struct lc__geom_limits *limits,
                      struct lc__geom **out, struct lc__errbuf *err);

/*
 * Reads Well-Known Text: the seven types in any letter case, optional
 * "Z", "M" or "ZM" (also written "POINTZ"), EMPTY at any level, MULTIPOINT
 * with or without parentheses around each point, nested collections, and
 * signed decimal numbers with optional exponent.
 *
 * With consumed == NULL the whole text must be one geometry (spaces
 * around it allowed). With consumed != NULL the geometry may be followed
 * by anything, and *consumed receives the bytes it used: CQL2 reads its
 * spatial literals this way.
 *
 * Returns LC_OK; LC_EINVAL for a syntax error, with *syntax (if not NULL)
 * giving the byte offset and what was expected and err a message "WKT:
 * expected ',' or ')' at byte 17"; LC_ELIMIT; LC_ENOMEM.
 */
int lc__geom_from_wkt(struct lc__arena *arena, const char *text, size_t len,
                      const struct lc__geom_limits *limits, size_t *consumed,
                      struct lc__geom **out, struct lc__text_error *syntax,
                      struct lc__errbuf *err);

/*
 * Reads a GeoJSON geometry object (RFC 7946 section 3.1), given as a
 * jansson value (json_t). Positions need at least two numbers; a third is
 * kept as Z when every position of the geometry has one; more are
 * ignored. Members other than "type", "coordinates" and "geometries" (such
 * as "bbox" or "crs") are ignored. Returns LC_OK, LC_EINVAL when the value
 * is not a geometry object (the message names the JSON path, e.g.
 * "GeoJSON: coordinates[0][3]: expected a position"), LC_ELIMIT, or
 * LC_ENOMEM.
 */
struct json_t;
int lc__geom_from_geojson(struct lc__arena *arena, const struct json_t *obj,
                          const struct lc__geom_limits *limits,
                          struct lc__geom **out, struct lc__errbuf *err);

/* The same from JSON text (len bytes; need not be NUL-terminated). */
int lc__geom_from_geojson_text(struct lc__arena *arena, const char *text,
                               size_t len, const struct lc__geom_limits *limits,
                               struct lc__geom **out, struct lc__errbuf *err);

/* Builds the polygon of an envelope: one counter-clockwise ring of five
 * points from (minx, miny). A degenerate box gives a degenerate ring,
 * which the predicates skip. Returns LC_OK or LC_ENOMEM. */
int lc__geom_from_envelope(struct lc__arena *arena,
                           const struct lc__envelope *env,
                           struct lc__geom **out);

/* ---- writers ----------------------------------------------------------- */

/*
 * Appends WKT as the Rust wkt crate (and so cql2-rs) writes it: upper-case
 * type, " Z" when the geometry has Z, no space before the parenthesis or
 * after commas, numbers in lc__format_double_plain form, MULTIPOINT
 * without parentheses around points, "POINT EMPTY" for empties:
 * "POLYGON((0 0,1 0,1 1,0 0))", "POINT Z(1 2 3)". Errors end up in
 * sb->status.
 */
void lc__geom_to_wkt(const struct lc__geom *g, struct lc__strbuf *sb);

/* Appends a GeoJSON object {"type":...,"coordinates":...} (or
 * "geometries" for a collection) with numbers in lc__format_double_json
 * form. An empty point writes "coordinates":[]. */
void lc__geom_to_geojson(const struct lc__geom *g, struct lc__strbuf *sb);

/* ---- properties -------------------------------------------------------- */

/* Computes the envelope of every coordinate of g (NaN-free input). */
void lc__geom_envelope(const struct lc__geom *g, struct lc__envelope *env);

/* True when g has no coordinates at all. */
bool lc__geom_is_empty(const struct lc__geom *g);

/* Same type, same structure and bitwise-equal coordinates (Z included). */
bool lc__geom_equal_exact(const struct lc__geom *a, const struct lc__geom *b);

/* Static name of a type: "Point", ..., "GeometryCollection" (GeoJSON). */
const char *lc__geom_type_name(enum lc__geom_type type);

/* ---- predicates -------------------------------------------------------- */

/*
 * The DE-9IM intersection matrix (OGC 06-103r4 section 6.1.15) of a and b:
 * m[i][j] is the dimension (0, 1, 2) of the intersection of part i of a
 * with part j of b, or -1 when it is empty, for parts 0 interior,
 * 1 boundary, 2 exterior.
 */
struct lc__de9im {
    int8_t m[3][3];
    /* Dimensions of a and b as the predicates see them (degenerate parts
     * skipped): 0, 1, 2, or -1 when empty. */
    int8_t dim_a, dim_b;
};

/*
 * Computes the DE-9IM matrix of a and b. Exact orientation tests (double
 * arithmetic with an exact fallback when the rounding error could change
 * a sign) decide where vertices lie, so shared vertices and edges - the
 * common case of footprints cut from one grid - are found exactly.
 *
 * How: every segment of each geometry is cut where the other geometry
 * meets it; each piece (a vertex, or the middle of a cut segment) is then
 * located in the other geometry (interior, boundary or exterior), and the
 * side on which each polygon's interior lies decides the 2-dimensional
 * entries. Edge cases, documented rather than handled:
 *   - crossing points of two segments are rounded to doubles; only the
 *     pieces between them are classified, so this only matters for
 *     sliver-thin pieces, near 1e-16 of the coordinates' magnitude;
 *   - the parts of a MULTIPOLYGON or GEOMETRYCOLLECTION are taken as they
 *     are: parts that overlap or share an edge are not merged first, so
 *     an edge shared by two parts counts as boundary;
 *   - a polygon ring need not be closed (the last point joins the first);
 *     rings with fewer than three distinct points, and zero-length
 *     segments, are skipped; a linestring of one repeated point counts as
 *     a point;
 *   - ring orientation does not matter, invalid polygons (self-crossing
 *     rings) give an answer but not a meaningful one.
 * Cost: O(n * m) segment pairs (pruned by envelope), for footprints of a
 * few hundred vertices. Returns LC_OK or LC_ENOMEM (scratch memory comes
 * from alloc, NULL meaning malloc).
 */
int lc__geom_relate(const struct lc__geom *a, const struct lc__geom *b,
                    const struct lc_allocator *alloc, struct lc__de9im *out);

/* The named predicates of OGC 06-103r4 / CQL2 S_* on the DE-9IM matrix. */
enum lc__spatial_pred {
    LC__SPATIAL_INTERSECTS,
    LC__SPATIAL_DISJOINT,
    LC__SPATIAL_CONTAINS,
    LC__SPATIAL_WITHIN,
    LC__SPATIAL_EQUALS,
    LC__SPATIAL_TOUCHES,
    LC__SPATIAL_CROSSES,
    LC__SPATIAL_OVERLAPS
};

/*
 * Evaluates pred(a, b), with envelope shortcuts before the matrix:
 *   intersects  some point in common          disjoint  none in common
 *   contains    b inside a (interiors meet,   within    contains(b, a)
 *               no point of b outside a)
 *   equals      same point set                touches   meet only on
 *                                                       boundaries
 *   crosses     interiors meet in a lower dimension than the larger
 *               operand (line/line: at points), and neither contains the
 *               other
 *   overlaps    same dimension, interiors meet in that dimension, neither
 *               contains the other
 * Empty geometries intersect nothing; two empties are equal. Returns
 * LC_OK with *result, or LC_ENOMEM.
 */
int lc__geom_predicate(enum lc__spatial_pred pred, const struct lc__geom *a,
                       const struct lc__geom *b,
                       const struct lc_allocator *alloc, bool *result);

/* The predicate from a matrix (and the dimensions it carries). */
bool lc__de9im_predicate(enum lc__spatial_pred pred, const struct lc__de9im *m);

/* Topological dimension: 0 points, 1 lines, 2 areas, -1 empty; the
 * largest over the parts of a collection. */
int lc__geom_dimension(const struct lc__geom *g);

/* Sign of the orientation of (a, b, c), exactly: > 0 when c lies left of
 * the directed line a->b, < 0 right, 0 on it. Exposed for tests. */
int lc__orient2d_sign(const double a[2], const double b[2], const double c[2]);

#endif /* LC_GEOMETRY_H */
