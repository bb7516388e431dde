/* crs.h - coordinate reference systems and transformations through PROJ. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_GEO_CRS_H
#define LC_GEO_CRS_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * Threading model
 * ===============
 *
 * PROJ objects (PJ) belong to the PJ_CONTEXT they were created in, and a
 * context must not be used by two threads at once. This module therefore
 * keeps one PJ_CONTEXT per thread, created on the thread's first call that
 * needs PROJ, with PROJ's logging silenced (errors come back as statuses and
 * messages, never as text on stderr).
 *
 *   - A struct lc__crs holds no PJ: it keeps the definition text and a
 *     normalised key, and is immutable once created. One lc__crs may be read
 *     by any number of threads at once (lc__crs_free excepted).
 *   - A struct lc__transform wraps a PJ of the calling thread's context. It
 *     comes from a per-thread cache keyed by the (source, destination) pair
 *     and may only be used on the thread that got it.
 *
 * Thread exit: the per-thread state (context and cached transforms) is
 * freed automatically when a thread created with pthreads exits. A thread
 * that wants to free it earlier, or the main thread before a leak check,
 * calls lc__geo_thread_cleanup(). Worker pools call it when a worker ends.
 */

/* An immutable CRS: see the threading model above. */
struct lc__crs;

/*
 * Creates a CRS from user text: an authority code ("EPSG:32615",
 * "epsg:32615", "ESRI:102003", "OGC:CRS84"), a URN
 * ("urn:ogc:def:crs:EPSG::4326"), WKT1 (GDAL or ESRI flavour), WKT2,
 * PROJJSON, or a PROJ string ("+proj=utm +zone=15 +datum=WGS84"; "+type=crs"
 * is implied, as pyproj does). alloc may be NULL (malloc/free); it is kept by
 * the object. Returns LC_OK and the CRS in *crs_ret (free with
 * lc__crs_free), LC_EINVAL when text is NULL, empty or not a CRS PROJ
 * understands (err says why), or LC_ENOMEM.
 */
int lc__crs_new(const char *text, const struct lc_allocator *alloc,
                struct lc__crs **crs_ret, struct lc__errbuf *err);

/* Frees a CRS; NULL does nothing. No thread may be using it. */
void lc__crs_free(struct lc__crs *crs);

/*
 * The definition the CRS was created from, as given (a PROJ string gains
 * " +type=crs"). proj_create() accepts it. Borrowed; valid until
 * lc__crs_free.
 */
const char *lc__crs_definition(const struct lc__crs *crs);

/*
 * The normalised key that equality and hashing use: the PROJ string of the
 * CRS (axis order and names do not appear in it), followed by
 * " @datum=AUTH:CODE" (or the datum's name) when the PROJ string does not
 * name the datum itself. So "EPSG:4326", "epsg:4326", OGC:CRS84, its WKT and
 * "+proj=longlat +datum=WGS84" all have the same key, while ETRS89 and
 * NAD83(2011), which share the GRS80 ellipsoid, do not. A CRS without a PROJ
 * string form falls back to its single-line WKT2. Borrowed; valid until
 * lc__crs_free.
 */
const char *lc__crs_key(const struct lc__crs *crs);

/* True when both CRSs have the same key (either may be NULL: NULL equals
 * only NULL). Warping between equal CRSs needs no coordinate operation. */
bool lc__crs_equal(const struct lc__crs *a, const struct lc__crs *b);

/* 64-bit FNV-1a hash of the key: equal CRSs hash equally. */
uint64_t lc__crs_hash(const struct lc__crs *crs);

/* True for a geographic CRS: x is longitude, y latitude (after the x/y
 * normalisation every transform applies), in the CRS's angular unit. */
bool lc__crs_is_geographic(const struct lc__crs *crs);

/* A full turn of longitude in the CRS's x unit (360 for degrees); 0 for a
 * CRS that is not geographic. */
double lc__crs_lon_period(const struct lc__crs *crs);

/* The EPSG code the definition carries for the whole CRS, else 0. No
 * database search is made for CRSs given without a code. */
int lc__crs_epsg(const struct lc__crs *crs);

/*
 * The CRS as single-line WKT2:2019 (what pyproj's CRS.to_wkt() writes), in
 * a new string allocated with alloc (NULL: malloc) that the caller frees
 * with lc__free. Returns LC_OK, LC_EUNSUPPORTED (PROJ cannot write the CRS
 * as WKT2) or LC_ENOMEM.
 */
int lc__crs_wkt(const struct lc__crs *crs, const struct lc_allocator *alloc,
                char **wkt_ret, struct lc__errbuf *err);

/* ---- transformations ------------------------------------------------- */

/* A coordinate operation from one CRS to another, always in x/y order
 * (longitude, latitude for geographic CRSs). */
struct lc__transform;

/*
 * Returns in *tf_ret the transformation from src to dst for the calling
 * thread, from the thread's cache or created with
 * proj_create_crs_to_crs_from_pj and proj_normalize_for_visualization (so
 * the result picks, point by point, the best operation whose area of use
 * holds the point, as GDAL and pyproj do). Equal CRSs give an identity
 * transform that never calls PROJ. Each successful call must be paired with
 * lc__transform_release on the same thread. Returns LC_OK, LC_EINVAL (NULL
 * argument), LC_EUNSUPPORTED (PROJ has no operation between the two), or
 * LC_ENOMEM.
 */
int lc__transform_get(const struct lc__crs *src, const struct lc__crs *dst,
                      struct lc__transform **tf_ret, struct lc__errbuf *err);

/* An area of interest, in degrees of longitude and latitude (west > east:
 * the box crosses the antimeridian). */
struct lc__area {
    double west, south, east, north;
};

/*
 * As lc__transform_get, with PROJ's search for the operation limited to
 * the operations whose area of use meets area (NULL: all, as
 * lc__transform_get). GDAL's warper searches so, with the source raster's
 * box. The search is several times faster: a datum transformation between
 * WGS 84 and NAD83 has dozens of regional candidates, most of them out of
 * any one area. For a point inside area, PROJ picks from the same
 * candidates either way (the most accurate of those whose area of use
 * holds the point); only between equally accurate ones can the order of
 * the list, which the area changes, decide otherwise. Points outside area
 * may get another operation. A transform found with one area is cached
 * apart from those with another or none. Also LC_EINVAL for an area that
 * is not a box in degrees. Between a CRS on WGS 84 and one on another
 * datum it runs in two steps, through EPSG:4326 (the datum
 * transformation, searched once for every CRS on WGS 84), with the
 * coordinates of one search to within a nanometre.
 */
int lc__transform_get_in(const struct lc__crs *src, const struct lc__crs *dst,
                         const struct lc__area *area,
                         struct lc__transform **tf_ret, struct lc__errbuf *err);

/*
 * Has the operation between src and dst over area (NULL: none) been found
 * already, so that lc__transform_get_in would return without a search or
 * a wait for one (equal CRSs need none)? False while another thread's
 * search for it runs, and when a search found none. Never waits.
 */
bool lc__transform_found(const struct lc__crs *src, const struct lc__crs *dst,
                         const struct lc__area *area);

/* Gives back a transform from lc__transform_get; NULL does nothing. The
 * pointer must not be used afterwards. */
void lc__transform_release(struct lc__transform *tf);

/* True when the transform maps every point to itself (equal CRSs). */
bool lc__transform_is_identity(const struct lc__transform *tf);

/* The PROJ operations the transform runs one after the other: 0 (the
 * identity), 1, or 2 (through EPSG:4326, lc__transform_get_in). */
size_t lc__transform_nsteps(const struct lc__transform *tf);

/*
 * Transforms n points in place, from the source to the destination CRS
 * (inverse: from the destination to the source). A point that cannot be
 * transformed (outside the projection's domain, non-finite input) comes
 * back with non-finite x and y. Returns the number of such points.
 */
size_t lc__transform_points(struct lc__transform *tf, double *x, double *y,
                            size_t n);
size_t lc__transform_points_inverse(struct lc__transform *tf, double *x,
                                    double *y, size_t n);

/* Default number of points added inside each edge by lc__transform_bounds
 * (as pyproj's and rasterio's transform_bounds). */
#define LC_DENSIFY_PTS 21

/*
 * Transforms a bounding box: bounds = {minx, miny, maxx, maxy} in the
 * source CRS. Each edge is densified with densify_pts points between its
 * corners (0 means LC_DENSIFY_PTS; the brief's minimum is 21), all points
 * are transformed and their extent is returned in out (same order).
 *
 * Geographic CRSs and the antimeridian: a geographic source box with
 * minx > maxx is read as crossing the antimeridian (it spans minx to
 * maxx + 360). When the destination is geographic and the transformed
 * boundary crosses the antimeridian, the result has out[0] > out[2]: the
 * box spans from out[0] eastwards through 180 to out[2]. Callers that need
 * plain intervals split it into [out[0], 180] and [-180, out[2]].
 *
 * Poles: when the destination is geographic and the source box contains a
 * pole (the pole, transformed back, falls inside it), the latitude extends
 * to +90 or -90 and the longitude to the whole circle [-180, 180].
 *
 * Points that fail to transform are skipped. Returns LC_OK, LC_EINVAL (bad
 * box: not finite, minx > maxx for a projected source, miny > maxy) or
 * LC_EUNSUPPORTED (no point of the boundary could be transformed).
 */
int lc__transform_bounds(struct lc__transform *tf, const double bounds[4],
                         unsigned densify_pts, double out[4],
                         struct lc__errbuf *err);

/*
 * A box in EPSG:4326 degrees that lies inside what lc__transform_bounds
 * gives for bounds from crs to EPSG:4326, found without a search of PROJ's
 * database for a datum transformation (that search takes 6-25 ms for a CRS
 * on another datum than WGS 84 in a new process; this, under a
 * millisecond). So work that needs only to know that something meets the
 * 4326 box can start while the search runs. It is the box in longitude and
 * latitude of crs's own datum, shrunk by the most the shift from that datum
 * to WGS 84 can move it: LC_DATUM_SHIFT_NEAR_DEG of latitude for the datums
 * that realize the ITRF as WGS 84 does (NAD83, ETRS89, GDA, ...: metres
 * off), LC_DATUM_SHIFT_MARGIN_DEG for others (the datums in use are at
 * most a few hundred metres off), which is more degrees of longitude away
 * from the equator. Returns LC_OK, or LC_EUNSUPPORTED when
 * the datum is not geographic with the Greenwich meridian and degrees, the
 * box crosses the antimeridian or reaches within 10 degrees of a pole
 * (where a shift in metres is no bound in degrees of longitude), or
 * nothing is left of it.
 */
#define LC_DATUM_SHIFT_MARGIN_DEG 0.05
#define LC_DATUM_SHIFT_NEAR_DEG 0.001
int lc__crs_bounds_inside_4326(const struct lc__crs *crs,
                               const double bounds[4], double out[4],
                               struct lc__errbuf *err);

/*
 * A box in EPSG:4326 degrees that holds what lc__transform_bounds gives for
 * bounds from crs to EPSG:4326, found as lc__crs_bounds_inside_4326 (no
 * search for a datum transformation): the box of crs's own datum grown by
 * the margin that one shrinks it by. So whatever misses it misses the 4326
 * box, and work that needs a superset of what meets the 4326 box (a
 * catalogue's pushdown) can start while the search runs. Returns LC_OK,
 * or LC_EUNSUPPORTED as lc__crs_bounds_inside_4326 and when the grown box
 * would cross the antimeridian.
 */
int lc__crs_bounds_around_4326(const struct lc__crs *crs,
                               const double bounds[4], double out[4],
                               struct lc__errbuf *err);

/*
 * An area of interest for the transforms of things in and near bounds (in
 * crs): the box of lc__crs_bounds_inside_4326 before it is shrunk (its
 * datum's longitude and latitude), widened by LC_AREA_MARGIN_DEG on every
 * side and then out to whole degrees: more than any datum shift, so that
 * the box holds every point of bounds in any datum, and the places just
 * outside it that reads look at (footprints crossing the edge); whole
 * degrees so that nearby boxes share their operations in the cache of
 * lc__transform_get_in. Found without a search for a datum
 * transformation. Returns LC_OK, or LC_EUNSUPPORTED as
 * lc__crs_bounds_inside_4326 (the box crosses the antimeridian or comes
 * near a pole, or the datum is unusual).
 */
#define LC_AREA_MARGIN_DEG 1.0
int lc__crs_area_around(const struct lc__crs *crs, const double bounds[4],
                        struct lc__area *out, struct lc__errbuf *err);

/*
 * Frees the calling thread's PROJ context and transform cache. Safe to call
 * at any time on any thread (the state is re-created on the next use), but
 * no transform obtained on this thread may be held across the call. Threads
 * created with pthreads run it automatically at exit.
 */
void lc__geo_thread_cleanup(void);

/*
 * Opens PROJ's database for the process. The first PROJ context of a process
 * reads proj.db's schema (7-10 ms); later contexts, on any thread, reuse
 * what PROJ keeps of it (about 1 ms). The Python module calls this on a
 * thread of its own while the rest of the package imports, so that the
 * first open() does not wait for it. Errors are left for the first real use
 * to report.
 */
void lc__geo_prepare(void);

#endif /* LC_GEO_CRS_H */
