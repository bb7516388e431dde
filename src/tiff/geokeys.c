/* geokeys.c - GeoTIFF GeoKey directory to a CRS definition PROJ understands. */
/* SPDX-License-Identifier: MIT */

/*
 * The GeoKey directory
 * ====================
 *
 * GeoTIFF (OGC 19-008r4, "GeoTIFF 1.1", which keeps the 1.0 encoding)
 * describes the CRS with "GeoKeys": small typed values packed into three
 * TIFF tags. GeoKeyDirectoryTag (34735) is an array of SHORTs:
 *
 *   [0] KeyDirectoryVersion = 1   [1] KeyRevision = 1
 *   [2] MinorRevision (0 or 1)    [3] NumberOfKeys = N
 *   then N entries of 4 SHORTs:
 *   [KeyID, TIFFTagLocation, Count, Value_Offset]
 *
 *   TIFFTagLocation  where the value is
 *   ---------------  ----------------------------------------------------
 *   0                Value_Offset is the SHORT value itself (Count 1)
 *   34735            Count SHORTs at index Value_Offset of this same array
 *   34736            Count DOUBLEs at index Value_Offset of GeoDoubleParams
 *   34737            Count chars at Value_Offset of GeoAsciiParams; the
 *                    last one is a '|' that ends the string
 *
 * Every entry is checked against the arrays it points into before any key is
 * read, so the interpretation below never indexes outside them.
 *
 * From keys to a definition
 * =========================
 *
 *   validate directory --> model type --+--> EPSG code: "EPSG:32615"
 *                                       |
 *                                       +--> user-defined: PROJ string
 *                                       |      geodetic part (datum,
 *                                       |      ellipsoid, prime meridian,
 *                                       |      TOWGS84) + projection part
 *                                       |      (ProjCoordTransGeoKey and its
 *                                       |      parameters, or an EPSG
 *                                       |      conversion code) + units
 *                                       |
 *                                       +--> ESRI PE string in a citation:
 *                                              that WKT, as GDAL does
 *
 * The rules follow libgeotiff's GTIFGetDefn (which keys win when several
 * give the same thing, parameter defaults) and GDAL's gt_wkt_srs.cpp (what
 * is finally reported), so that the CRS equals what GDAL and rasterio report
 * for the same file. A user-defined CRS becomes a PROJ string rather than
 * WKT because it is short, PROJ maps its +datum= names to the EPSG datums,
 * and +towgs84 gives the same bound CRS GDAL builds from GeogTOWGS84GeoKey.
 * The price: a user-defined CRS on an EPSG datum PROJ has no +datum= name
 * for (ED50, ETRS89, GDA94...) keeps its ellipsoid but not the datum's
 * name, so PROJ reprojects it to another datum without a datum shift
 * ("ballpark"). Files on such datums almost always carry a CRS code.
 *
 * Where the result deliberately differs from GDAL's:
 *   - GeogTOWGS84GeoKey next to a GeographicTypeGeoKey or
 *     ProjectedCSTypeGeoKey code is dropped (GDAL drops it for projected
 *     codes and, in rasterio's GDAL 3.10, for the geographic file we have);
 *   - Mercator has no latitude of origin; GDAL keeps a non-zero one in
 *     "Mercator (variant A)", which PROJ then cannot use at all;
 *   - Hotine oblique Mercator without ProjRectifiedGridAngleGeoKey gets
 *     PROJ's default (rectified at the azimuth), not libgeotiff's 90;
 *   - vertical keys (4096-4099) are ignored: the horizontal CRS is what
 *     rasters are warped with; GDAL builds a compound CRS.
 *
 * PROJ (its EPSG database) resolves codes of datums, ellipsoids, prime
 * meridians, units and conversions, and every definition is finally parsed
 * by proj_create, so a definition that comes out is one PROJ accepts. The
 * PJ_CONTEXT is the calling thread's own (created once per thread), which
 * keeps this function safe to call from several threads at once.
 */
#include "../common/common.h"

#include "geokeys.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <proj.h>
#include <pthread.h>

/* ---- constants ------------------------------------------------------- */

/* The GeoKey IDs read here (GeoTIFF 1.1 names in comments where changed). */
enum {
    LC_GK_MODEL_TYPE = 1024,
    LC_GK_RASTER_TYPE = 1025,
    LC_GK_CITATION = 1026,
    LC_GK_GEOG_TYPE = 2048, /* GeodeticCRSGeoKey */
    LC_GK_GEOG_DATUM = 2050,
    LC_GK_GEOG_PRIME_MERIDIAN = 2051,
    LC_GK_GEOG_ANGULAR_UNITS = 2054,
    LC_GK_GEOG_ANGULAR_UNIT_SIZE = 2055,
    LC_GK_GEOG_ELLIPSOID = 2056,
    LC_GK_GEOG_SEMI_MAJOR = 2057,
    LC_GK_GEOG_SEMI_MINOR = 2058,
    LC_GK_GEOG_INV_FLATTENING = 2059,
    LC_GK_GEOG_AZIMUTH_UNITS = 2060,
    LC_GK_GEOG_PRIME_MERIDIAN_LONG = 2061,
    LC_GK_GEOG_TOWGS84 = 2062,
    LC_GK_PROJECTED_CS_TYPE = 3072, /* ProjectedCRSGeoKey */
    LC_GK_PCS_CITATION = 3073,
    LC_GK_PROJECTION = 3074,
    LC_GK_PROJ_COORD_TRANS = 3075, /* ProjMethodGeoKey */
    LC_GK_PROJ_LINEAR_UNITS = 3076,
    LC_GK_PROJ_LINEAR_UNIT_SIZE = 3077,
    LC_GK_PROJ_STD_PARALLEL1 = 3078,
    LC_GK_PROJ_STD_PARALLEL2 = 3079,
    LC_GK_PROJ_NAT_ORIGIN_LONG = 3080,
    LC_GK_PROJ_NAT_ORIGIN_LAT = 3081,
    LC_GK_PROJ_FALSE_EASTING = 3082,
    LC_GK_PROJ_FALSE_NORTHING = 3083,
    LC_GK_PROJ_FALSE_ORIGIN_LONG = 3084,
    LC_GK_PROJ_FALSE_ORIGIN_LAT = 3085,
    LC_GK_PROJ_FALSE_ORIGIN_EASTING = 3086,
    LC_GK_PROJ_FALSE_ORIGIN_NORTHING = 3087,
    LC_GK_PROJ_CENTER_LONG = 3088,
    LC_GK_PROJ_CENTER_LAT = 3089,
    LC_GK_PROJ_CENTER_EASTING = 3090,
    LC_GK_PROJ_CENTER_NORTHING = 3091,
    LC_GK_PROJ_SCALE_AT_NAT_ORIGIN = 3092,
    LC_GK_PROJ_SCALE_AT_CENTER = 3093,
    LC_GK_PROJ_AZIMUTH_ANGLE = 3094,
    LC_GK_PROJ_STRAIGHT_VERT_POLE_LONG = 3095,
    LC_GK_PROJ_RECTIFIED_GRID_ANGLE = 3096
};

/* Where a key's value lives (TIFFTagLocation). */
enum {
    LC_GK_LOC_INLINE = 0,
    LC_GK_LOC_SHORTS = 34735,
    LC_GK_LOC_DOUBLES = 34736,
    LC_GK_LOC_ASCII = 34737
};

/* GTModelTypeGeoKey values, and the "user-defined" code of every key. */
enum {
    LC_GK_MODEL_PROJECTED = 1,
    LC_GK_MODEL_GEOGRAPHIC = 2,
    LC_GK_MODEL_GEOCENTRIC = 3,
    LC_GK_USER_DEFINED = 32767
};

/* ProjCoordTransGeoKey values (GeoTIFF 1.0 section 6.3.3.3). 9815 is not in
 * the specification: libgeotiff and GDAL write it for Hotine oblique
 * Mercator variant B (EPSG method 9815), so files carry it. */
enum {
    LC_CT_TRANSVERSE_MERCATOR = 1,
    LC_CT_TRANSV_MERCATOR_MODIFIED_ALASKA = 2,
    LC_CT_OBLIQUE_MERCATOR = 3,
    LC_CT_OBLIQUE_MERCATOR_LABORDE = 4,
    LC_CT_OBLIQUE_MERCATOR_ROSENMUND = 5,
    LC_CT_OBLIQUE_MERCATOR_SPHERICAL = 6,
    LC_CT_MERCATOR = 7,
    LC_CT_LAMBERT_CONF_CONIC_2SP = 8,
    LC_CT_LAMBERT_CONF_CONIC_1SP = 9,
    LC_CT_LAMBERT_AZIM_EQUAL_AREA = 10,
    LC_CT_ALBERS_EQUAL_AREA = 11,
    LC_CT_AZIMUTHAL_EQUIDISTANT = 12,
    LC_CT_EQUIDISTANT_CONIC = 13,
    LC_CT_STEREOGRAPHIC = 14,
    LC_CT_POLAR_STEREOGRAPHIC = 15,
    LC_CT_OBLIQUE_STEREOGRAPHIC = 16,
    LC_CT_EQUIRECTANGULAR = 17,
    LC_CT_CASSINI_SOLDNER = 18,
    LC_CT_GNOMONIC = 19,
    LC_CT_MILLER_CYLINDRICAL = 20,
    LC_CT_ORTHOGRAPHIC = 21,
    LC_CT_POLYCONIC = 22,
    LC_CT_ROBINSON = 23,
    LC_CT_SINUSOIDAL = 24,
    LC_CT_VAN_DER_GRINTEN = 25,
    LC_CT_NEW_ZEALAND_MAP_GRID = 26,
    LC_CT_TRANSV_MERCATOR_SOUTH_ORIENTED = 27,
    LC_CT_CYLINDRICAL_EQUAL_AREA = 28,
    LC_CT_HOTINE_OBLIQUE_MERCATOR_AZIMUTH_CENTER = 9815
};

/*
 * A file controls NumberOfKeys. The specification defines fewer than 60
 * keys and real files carry at most a few dozen, so more than this many is
 * a broken directory, not a bigger CRS.
 */
#define LC_GEOKEYS_MAX_KEYS 1024

/* EPSG unit codes with a fixed meaning, resolved without the database. */
#define LC_EPSG_METRE 9001
#define LC_EPSG_FOOT 9002
#define LC_EPSG_US_SURVEY_FOOT 9003
#define LC_EPSG_RADIAN 9101
#define LC_EPSG_DEGREE 9102
#define LC_EPSG_GRAD 9105
#define LC_EPSG_DMS 9110 /* sexagesimal DDD.MMSSsss, not a linear scale */
#define LC_EPSG_DEGREE_SUPPLIER 9122

#define LC_PI 3.14159265358979323846

/* ---- the validated directory ----------------------------------------- */

struct keydir {
    const struct lc__geokeys_input *in;
    const uint16_t *entries; /* nkeys entries of 4 SHORTs */
    size_t nkeys;
};

static const char *location_name(unsigned location)
{
    switch (location) {
    case LC_GK_LOC_INLINE:
        return "inline SHORT";
    case LC_GK_LOC_SHORTS:
        return "GeoKeyDirectoryTag";
    case LC_GK_LOC_DOUBLES:
        return "GeoDoubleParamsTag";
    case LC_GK_LOC_ASCII:
        return "GeoAsciiParamsTag";
    default:
        return "an unknown tag";
    }
}

/*
 * Checks the header and that every entry's value lies inside the array it
 * names. After this succeeds the getters below may index without checks.
 */
static int keydir_init(struct keydir *d, const struct lc__geokeys_input *in,
                       struct lc__errbuf *err)
{
    const uint16_t *dir = in->directory;
    size_t n = in->directory_count;

    d->in = in;
    d->entries = NULL;
    d->nkeys = 0;
    LC_RETURN_IF(n < 4, err, LC_ECORRUPT,
                 "GeoKeyDirectoryTag has %zu values, fewer than its "
                 "4-value header",
                 n);
    LC_RETURN_IF(dir[0] != 1, err, LC_ECORRUPT,
                 "GeoKeyDirectoryTag: KeyDirectoryVersion is %u, not 1",
                 (unsigned)dir[0]);
    /* KeyRevision 1 covers GeoTIFF 1.0 and 1.1; the minor revision only
     * adds keys and values (files with minor revision 2 exist), so any
     * minor revision is read. */
    LC_RETURN_IF(dir[1] != 1, err, LC_ECORRUPT,
                 "GeoKeyDirectoryTag: KeyRevision is %u, not 1",
                 (unsigned)dir[1]);
    size_t nkeys = dir[3];
    LC_RETURN_IF(nkeys > LC_GEOKEYS_MAX_KEYS, err, LC_ECORRUPT,
                 "GeoKeyDirectoryTag: NumberOfKeys %zu is over the limit "
                 "of %d",
                 nkeys, LC_GEOKEYS_MAX_KEYS);
    /* No overflow: nkeys is at most LC_GEOKEYS_MAX_KEYS. */
    LC_RETURN_IF(4 + 4 * nkeys > n, err, LC_ECORRUPT,
                 "GeoKeyDirectoryTag: NumberOfKeys %zu needs %zu values, "
                 "the tag has %zu",
                 nkeys, 4 + 4 * nkeys, n);

    for (size_t i = 0; i < nkeys; i++) {
        const uint16_t *e = dir + 4 + 4 * i;
        unsigned id = e[0];
        unsigned location = e[1];
        size_t count = e[2];
        size_t offset = e[3];
        size_t avail;

        switch (location) {
        case LC_GK_LOC_INLINE:
            /* The value is Value_Offset itself; libgeotiff ignores Count
             * here, and so do we. */
            continue;
        case LC_GK_LOC_SHORTS:
            avail = n;
            break;
        case LC_GK_LOC_DOUBLES:
            avail = in->doubles != NULL ? in->doubles_count : 0;
            break;
        case LC_GK_LOC_ASCII:
            avail = in->ascii != NULL ? in->ascii_nbytes : 0;
            break;
        default:
            return lc__error(err, LC_ECORRUPT,
                             "GeoKey %u: TIFFTagLocation %u is not 0, "
                             "34735, 34736 or 34737",
                             id, location);
        }
        LC_RETURN_IF(count == 0, err, LC_ECORRUPT,
                     "GeoKey %u: zero-length value in %s", id,
                     location_name(location));
        /* offset and count are SHORTs, so the sum cannot overflow. */
        LC_RETURN_IF(offset + count > avail, err, LC_ECORRUPT,
                     "GeoKey %u: values %zu..%zu are past the end of %s "
                     "(%zu values)",
                     id, offset, offset + count - 1, location_name(location),
                     avail);
    }
    d->entries = dir + 4;
    d->nkeys = nkeys;
    return LC_OK;
}

/* The entry of a key, or NULL. When a key repeats the last entry wins, as
 * in libgeotiff. */
static const uint16_t *find_key(const struct keydir *d, unsigned id)
{
    for (size_t i = d->nkeys; i-- > 0;) {
        if (d->entries[4 * i] == id)
            return d->entries + 4 * i;
    }
    return NULL;
}

/*
 * Typed getters. Each returns 1 when the key is present (value in *ret),
 * 0 when it is absent, or LC_ECORRUPT when the key is stored with the wrong
 * type: a key the specification defines as SHORT found in the doubles, say.
 * GDAL silently ignores such a key; refusing it is safer than building a
 * CRS without, for example, its false easting.
 */
static int get_short(const struct keydir *d, unsigned id, int *ret,
                     struct lc__errbuf *err)
{
    const uint16_t *e = find_key(d, id);

    if (e == NULL)
        return 0;
    if (e[1] == LC_GK_LOC_INLINE) {
        *ret = e[3];
        return 1;
    }
    if (e[1] == LC_GK_LOC_SHORTS) {
        *ret = d->in->directory[e[3]];
        return 1;
    }
    return lc__error(err, LC_ECORRUPT,
                     "GeoKey %u should be a SHORT but is stored in %s", id,
                     location_name(e[1]));
}

static int get_doubles(const struct keydir *d, unsigned id,
                       const double **values_ret, size_t *count_ret,
                       struct lc__errbuf *err)
{
    const uint16_t *e = find_key(d, id);

    if (e == NULL)
        return 0;
    LC_RETURN_IF(e[1] != LC_GK_LOC_DOUBLES, err, LC_ECORRUPT,
                 "GeoKey %u should be a DOUBLE but is stored in %s", id,
                 location_name(e[1]));
    *values_ret = d->in->doubles + e[3];
    *count_ret = e[2];
    for (size_t i = 0; i < *count_ret; i++) {
        LC_RETURN_IF(!isfinite((*values_ret)[i]), err, LC_ECORRUPT,
                     "GeoKey %u holds a value that is not finite", id);
    }
    return 1;
}

static int get_double(const struct keydir *d, unsigned id, double *ret,
                      struct lc__errbuf *err)
{
    const double *values = NULL;
    size_t count = 0;
    int found = get_doubles(d, id, &values, &count, err);

    if (found == 1)
        *ret = values[0];
    return found;
}

/* The string of an ASCII key without its '|' terminator (nor anything past
 * an embedded NUL); not NUL-terminated. */
static int get_ascii(const struct keydir *d, unsigned id, const char **ret,
                     size_t *len_ret, struct lc__errbuf *err)
{
    const uint16_t *e = find_key(d, id);

    if (e == NULL)
        return 0;
    LC_RETURN_IF(e[1] != LC_GK_LOC_ASCII, err, LC_ECORRUPT,
                 "GeoKey %u should be ASCII but is stored in %s", id,
                 location_name(e[1]));
    const char *s = d->in->ascii + e[3];
    size_t len = e[2];
    const char *nul = memchr(s, '\0', len);
    if (nul != NULL)
        len = (size_t)(nul - s);
    if (len > 0 && s[len - 1] == '|')
        len--;
    *ret = s;
    *len_ret = len;
    return 1;
}

/* The first of several keys that is present (libgeotiff's fallbacks, e.g.
 * natural origin, then false origin, then center), or def. */
static int get_first_double(const struct keydir *d, const unsigned *ids,
                            size_t nids, double def, double *ret, bool *found,
                            struct lc__errbuf *err)
{
    for (size_t i = 0; i < nids; i++) {
        int status = get_double(d, ids[i], ret, err);
        if (status != 0) {
            if (found != NULL)
                *found = status == 1;
            return status < 0 ? status : LC_OK;
        }
    }
    *ret = def;
    if (found != NULL)
        *found = false;
    return LC_OK;
}

/* An EPSG code a key can hold: 0 means unset, 32767 user-defined, and
 * 32768..65535 is the private range, none of which is in the database. */
static bool is_epsg_code(int code)
{
    return code > 0 && code < LC_GK_USER_DEFINED;
}

/* ---- PROJ: one context per thread ------------------------------------ */

struct resolver {
    PJ_CONTEXT *ctx; /* created on first use */
    struct lc__errbuf *err;
};

/* PROJ logs errors to stderr by default; the library never prints, and the
 * errors that matter come back as our own messages. */
static void quiet_log(void *data, int level, const char *msg)
{
    (void)data;
    (void)level;
    (void)msg;
}

/*
 * Creating a PROJ context opens proj.db, which costs most of a file open
 * (about 0.7 ms); so each thread keeps one, made on first use and
 * destroyed when the thread exits (a pthread key destructor). Every PJ
 * made from it is destroyed within the call that made it.
 */
static _Thread_local PJ_CONTEXT *thread_ctx;
static pthread_once_t ctx_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key;
static bool ctx_key_ok;

static void destroy_thread_ctx(void *ctx)
{
    if (ctx != NULL)
        proj_context_destroy(ctx);
}

static void make_ctx_key(void)
{
    ctx_key_ok = pthread_key_create(&ctx_key, destroy_thread_ctx) == 0;
}

static int resolver_ctx(struct resolver *r, PJ_CONTEXT **ctx_ret)
{
    if (r->ctx == NULL) {
        if (thread_ctx == NULL) {
            PJ_CONTEXT *ctx = proj_context_create();
            LC_RETURN_IF(ctx == NULL, r->err, LC_ENOMEM,
                         "cannot create a PROJ context");
            proj_log_func(ctx, NULL, quiet_log);
            (void)pthread_once(&ctx_key_once, make_ctx_key);
            if (ctx_key_ok)
                (void)pthread_setspecific(ctx_key, ctx);
            thread_ctx = ctx;
        }
        r->ctx = thread_ctx;
    }
    *ctx_ret = r->ctx;
    return LC_OK;
}

/* An object of PROJ's EPSG database, or NULL (absent). */
static int db_object(struct resolver *r, int code, PJ_CATEGORY category,
                     PJ **obj_ret)
{
    PJ_CONTEXT *ctx = NULL;
    char text[16];

    *obj_ret = NULL;
    LC_FORWARD_IF_ERROR(resolver_ctx(r, &ctx));
    (void)snprintf(text, sizeof(text), "%d", code);
    *obj_ret = proj_create_from_database(ctx, "EPSG", text, category, 0, NULL);
    return LC_OK;
}

/* The size of an EPSG unit: metres or radians per unit. */
static int db_unit(struct resolver *r, int code, const char *category,
                   double *factor_ret)
{
    PJ_CONTEXT *ctx = NULL;
    char text[16];
    const char *name = NULL;
    const char *got_category = NULL;
    double factor = 0;

    LC_FORWARD_IF_ERROR(resolver_ctx(r, &ctx));
    (void)snprintf(text, sizeof(text), "%d", code);
    int ok = proj_uom_get_info_from_database(ctx, "EPSG", text, &name, &factor,
                                             &got_category);
    LC_RETURN_IF(!ok || got_category == NULL ||
                     strcmp(got_category, category) != 0 || !(factor > 0) ||
                     !isfinite(factor),
                 r->err, LC_EUNSUPPORTED, "EPSG unit %d is not a known %s unit",
                 code, category);
    *factor_ret = factor;
    return LC_OK;
}

/* ---- the geodetic part ----------------------------------------------- */

/*
 * The geographic CRS a user-defined CRS is based on, normalized: lengths in
 * metres, angles in degrees. The ellipsoid is kept the way it was defined
 * (a with b, or a with 1/f) so the definition repeats the file's numbers.
 */
struct geodetic {
    int datum;       /* EPSG datum code, 0 if none */
    int datum_ellps; /* EPSG code of the datum's own ellipsoid */
    int ellps;       /* EPSG ellipsoid code while a/b are exactly its own */
    double a;        /* semi-major axis */
    double b;        /* semi-minor axis, used when !have_rf */
    double rf;       /* inverse flattening (0 = sphere), used when have_rf */
    bool have_rf;
    double pm_deg;      /* prime meridian, degrees east of Greenwich */
    double unit_deg;    /* degrees per angular unit */
    bool unit_dms;      /* angular unit is EPSG 9110 sexagesimal DMS */
    double azimuth_deg; /* degrees per azimuth unit (ProjAzimuthAngle) */
    bool azimuth_dms;
    double towgs84[7];
    size_t ntowgs84; /* 0, 3 or 7 */
};

/* DDD.MMSSsss to decimal degrees (EPSG unit 9110). */
static double dms_to_degrees(double v)
{
    double x = fabs(v);
    double deg = floor(x);
    double mmss = (x - deg) * 100.0;
    /* 30.30 is stored as 30.2999999...: a small bias keeps it 30 minutes,
     * and the few ULPs of negative seconds that leaves are dropped. */
    double min = floor(mmss + 1e-9);
    double sec = (mmss - min) * 100.0;
    if (sec < 0)
        sec = 0;
    double result = deg + min / 60.0 + sec / 3600.0;
    return v < 0 ? -result : result;
}

static double to_degrees(const struct geodetic *g, double v)
{
    return g->unit_dms ? dms_to_degrees(v) : v * g->unit_deg;
}

/* Angular unit code to degrees per unit (*dms for the non-linear 9110). */
static int angular_unit(struct resolver *r, int code, double *deg_ret,
                        bool *dms_ret)
{
    *dms_ret = false;
    switch (code) {
    case LC_EPSG_DEGREE:
    case LC_EPSG_DEGREE_SUPPLIER:
        *deg_ret = 1.0;
        return LC_OK;
    case LC_EPSG_RADIAN:
        *deg_ret = 180.0 / LC_PI;
        return LC_OK;
    case LC_EPSG_GRAD:
        *deg_ret = 0.9;
        return LC_OK;
    case LC_EPSG_DMS:
        *deg_ret = 1.0;
        *dms_ret = true;
        return LC_OK;
    default:
        break;
    }
    double radians = 0;
    LC_FORWARD_IF_ERROR(db_unit(r, code, "angular", &radians));
    *deg_ret = radians * 180.0 / LC_PI;
    return LC_OK;
}

static int set_ellipsoid_from(struct resolver *r, struct geodetic *g,
                              const PJ *ellipsoid, int code)
{
    double a = 0, b = 0, rf = 0;
    int b_computed = 0;

    if (ellipsoid == NULL || !proj_ellipsoid_get_parameters(
                                 r->ctx, ellipsoid, &a, &b, &b_computed, &rf))
        return lc__error(r->err, LC_EUNSUPPORTED,
                         "cannot read ellipsoid %d from PROJ's database", code);
    g->a = a;
    g->b = b;
    /* An ellipsoid defined by its inverse flattening reports b as
     * computed; repeating rf keeps the definition exact. */
    g->have_rf = b_computed != 0 && rf > 0;
    g->rf = g->have_rf ? rf : 0;
    g->ellps = code;
    return LC_OK;
}

static int set_prime_meridian_from(struct resolver *r, struct geodetic *g,
                                   const PJ *pm, int code)
{
    double lon = 0, factor = 0;

    if (pm == NULL ||
        !proj_prime_meridian_get_parameters(r->ctx, pm, &lon, &factor, NULL))
        return lc__error(r->err, LC_EUNSUPPORTED,
                         "cannot read prime meridian %d from PROJ's database",
                         code);
    g->pm_deg = lon * factor * 180.0 / LC_PI;
    return LC_OK;
}

/* The EPSG code of a PROJ object, or 0. */
static int object_epsg_code(const PJ *obj)
{
    const char *auth = obj != NULL ? proj_get_id_auth_name(obj, 0) : NULL;
    const char *code = obj != NULL ? proj_get_id_code(obj, 0) : NULL;

    if (auth == NULL || code == NULL || strcmp(auth, "EPSG") != 0)
        return 0;
    return atoi(code);
}

/* Datum, ellipsoid, prime meridian and angular unit of an EPSG geographic
 * CRS (GeographicTypeGeoKey). */
static int geodetic_from_gcs(struct resolver *r, struct geodetic *g, int gcs)
{
    PJ *crs = NULL, *datum = NULL, *ellipsoid = NULL, *pm = NULL, *cs = NULL;
    int status;

    LC_FORWARD_IF_ERROR(db_object(r, gcs, PJ_CATEGORY_CRS, &crs));
    PJ_TYPE type = crs != NULL ? proj_get_type(crs) : PJ_TYPE_UNKNOWN;
    if (type != PJ_TYPE_GEOGRAPHIC_2D_CRS &&
        type != PJ_TYPE_GEOGRAPHIC_3D_CRS) {
        status = lc__error(r->err, LC_EUNSUPPORTED,
                           "GeographicTypeGeoKey %d is not a geographic CRS "
                           "in PROJ's EPSG database",
                           gcs);
        goto done;
    }
    /* WGS 84 and others are datum ensembles in EPSG; the forced datum is
     * the ensemble's representative, whose code PROJ's +datum= knows. */
    datum = proj_crs_get_datum_forced(r->ctx, crs);
    g->datum = object_epsg_code(datum);
    ellipsoid = proj_get_ellipsoid(r->ctx, crs);
    g->datum_ellps = object_epsg_code(ellipsoid);
    status = set_ellipsoid_from(r, g, ellipsoid, g->datum_ellps);
    if (status < 0)
        goto done;
    pm = proj_get_prime_meridian(r->ctx, crs);
    status = set_prime_meridian_from(r, g, pm, object_epsg_code(pm));
    if (status < 0)
        goto done;
    cs = proj_crs_get_coordinate_system(r->ctx, crs);
    double factor = 0;
    int unit_code = 0;
    const char *unit_code_text = NULL;
    if (cs != NULL &&
        proj_cs_get_axis_info(r->ctx, cs, 0, NULL, NULL, NULL, &factor, NULL,
                              NULL, &unit_code_text) &&
        factor > 0) {
        unit_code = unit_code_text != NULL ? atoi(unit_code_text) : 0;
        g->unit_dms = unit_code == LC_EPSG_DMS;
        g->unit_deg = g->unit_dms ? 1.0 : factor * 180.0 / LC_PI;
    }
    status = LC_OK;
done:
    proj_destroy(cs);
    proj_destroy(pm);
    proj_destroy(ellipsoid);
    proj_destroy(datum);
    proj_destroy(crs);
    return status;
}

static int geodetic_from_datum(struct resolver *r, struct geodetic *g, int code)
{
    PJ *datum = NULL, *ellipsoid = NULL, *pm = NULL;
    int status;

    LC_FORWARD_IF_ERROR(db_object(r, code, PJ_CATEGORY_DATUM, &datum));
    if (datum == NULL) {
        status = lc__error(r->err, LC_EUNSUPPORTED,
                           "GeogGeodeticDatumGeoKey %d is not a datum in "
                           "PROJ's EPSG database",
                           code);
        goto done;
    }
    g->datum = code;
    ellipsoid = proj_get_ellipsoid(r->ctx, datum);
    g->datum_ellps = object_epsg_code(ellipsoid);
    status = set_ellipsoid_from(r, g, ellipsoid, g->datum_ellps);
    if (status < 0)
        goto done;
    pm = proj_get_prime_meridian(r->ctx, datum);
    status = set_prime_meridian_from(r, g, pm, object_epsg_code(pm));
done:
    proj_destroy(pm);
    proj_destroy(ellipsoid);
    proj_destroy(datum);
    return status;
}

/* Semi-minor axis of an ellipsoid, however it was given. */
static double semi_minor(const struct geodetic *g)
{
    if (!g->have_rf)
        return g->b;
    return g->rf > 0 ? g->a * (1.0 - 1.0 / g->rf) : g->a;
}

/* Equal axes to 1e-12 relative: a tenth of a micrometre on Earth, far below
 * the digits writers keep (GDAL writes 1/f to 15 significant digits). */
static bool same_ellipsoid(const struct geodetic *x, const struct geodetic *y)
{
    return fabs(x->a - y->a) <= 1e-12 * y->a &&
           fabs(semi_minor(x) - semi_minor(y)) <= 1e-12 * y->a;
}

/*
 * Reads the geodetic keys in libgeotiff's order: each later key overrides
 * what an earlier one implied (GCS -> datum -> ellipsoid -> axes; prime
 * meridian code or longitude; angular units).
 */
static int read_geodetic(const struct keydir *d, struct resolver *r,
                         struct geodetic *g)
{
    struct lc__errbuf *err = r->err;
    int code = 0;
    int found;

    /* Without any ellipsoid information GDAL falls back to WGS 84. */
    *g = (struct geodetic){.a = 6378137.0,
                           .b = 6356752.314245179,
                           .rf = 298.257223563,
                           .have_rf = true,
                           .ellps = 7030,
                           .unit_deg = 1.0,
                           .azimuth_deg = 1.0};

    LC_FORWARD_IF_ERROR(found = get_short(d, LC_GK_GEOG_TYPE, &code, err));
    if (found && is_epsg_code(code))
        LC_FORWARD_IF_ERROR(geodetic_from_gcs(r, g, code));

    LC_FORWARD_IF_ERROR(found =
                            get_short(d, LC_GK_GEOG_ANGULAR_UNITS, &code, err));
    if (found && is_epsg_code(code)) {
        LC_FORWARD_IF_ERROR(angular_unit(r, code, &g->unit_deg, &g->unit_dms));
    } else if (found && code == LC_GK_USER_DEFINED) {
        double radians = 0;
        LC_FORWARD_IF_ERROR(
            found = get_double(d, LC_GK_GEOG_ANGULAR_UNIT_SIZE, &radians, err));
        LC_RETURN_IF(!found || !(radians > 0), err, LC_ECORRUPT,
                     "user-defined GeogAngularUnitsGeoKey without a "
                     "positive GeogAngularUnitSizeGeoKey");
        g->unit_deg = radians * 180.0 / LC_PI;
        g->unit_dms = false;
    }
    g->azimuth_deg = g->unit_deg;
    g->azimuth_dms = g->unit_dms;
    LC_FORWARD_IF_ERROR(found =
                            get_short(d, LC_GK_GEOG_AZIMUTH_UNITS, &code, err));
    if (found && is_epsg_code(code))
        LC_FORWARD_IF_ERROR(
            angular_unit(r, code, &g->azimuth_deg, &g->azimuth_dms));

    LC_FORWARD_IF_ERROR(found = get_short(d, LC_GK_GEOG_DATUM, &code, err));
    if (found && is_epsg_code(code))
        LC_FORWARD_IF_ERROR(geodetic_from_datum(r, g, code));
    else if (found)
        g->datum = 0;

    LC_FORWARD_IF_ERROR(found = get_short(d, LC_GK_GEOG_ELLIPSOID, &code, err));
    if (found && is_epsg_code(code)) {
        PJ *ellipsoid = NULL;
        LC_FORWARD_IF_ERROR(
            db_object(r, code, PJ_CATEGORY_ELLIPSOID, &ellipsoid));
        int status = set_ellipsoid_from(r, g, ellipsoid, code);
        proj_destroy(ellipsoid);
        LC_FORWARD_IF_ERROR(status);
    }

    /* Explicit axes override whatever the codes gave. A new semi-major axis
     * keeps the old semi-minor one, as libgeotiff does, unless 1/f or b is
     * also given. */
    double a = 0, b = 0, rf = 0;
    int have_a, have_b, have_rf;
    LC_FORWARD_IF_ERROR(have_a = get_double(d, LC_GK_GEOG_SEMI_MAJOR, &a, err));
    LC_FORWARD_IF_ERROR(have_b = get_double(d, LC_GK_GEOG_SEMI_MINOR, &b, err));
    LC_FORWARD_IF_ERROR(have_rf =
                            get_double(d, LC_GK_GEOG_INV_FLATTENING, &rf, err));
    if (have_a || have_b || have_rf) {
        struct geodetic before = *g;
        g->b = semi_minor(g);
        if (have_a) {
            LC_RETURN_IF(!(a > 0), err, LC_ECORRUPT,
                         "GeogSemiMajorAxisGeoKey %g is not positive", a);
            g->a = a;
        }
        g->have_rf = false;
        if (have_b) {
            LC_RETURN_IF(!(b > 0) || b > g->a, err, LC_ECORRUPT,
                         "GeogSemiMinorAxisGeoKey %g is not in (0, %g]", b,
                         g->a);
            g->b = b;
        }
        if (have_rf) {
            /* 1/f = 0 is the usual way to say "sphere". */
            LC_RETURN_IF(rf < 0 || (rf > 0 && rf <= 1), err, LC_ECORRUPT,
                         "GeogInvFlatteningGeoKey %g is not 0 or > 1", rf);
            g->rf = rf;
            g->have_rf = true;
        }
        if (!g->have_rf && g->b > g->a)
            g->b = g->a;
        /* Writers such as GDAL repeat the EPSG ellipsoid's own axes next to
         * its code; only axes that really differ make the ellipsoid (and so
         * the datum) the file's own. */
        if (!same_ellipsoid(g, &before))
            g->ellps = 0;
        else
            *g = before;
    }

    LC_FORWARD_IF_ERROR(
        found = get_short(d, LC_GK_GEOG_PRIME_MERIDIAN, &code, err));
    if (found && is_epsg_code(code)) {
        PJ *pm = NULL;
        LC_FORWARD_IF_ERROR(
            db_object(r, code, PJ_CATEGORY_PRIME_MERIDIAN, &pm));
        int status = set_prime_meridian_from(r, g, pm, code);
        proj_destroy(pm);
        LC_FORWARD_IF_ERROR(status);
    } else {
        double lon = 0;
        LC_FORWARD_IF_ERROR(
            found = get_double(d, LC_GK_GEOG_PRIME_MERIDIAN_LONG, &lon, err));
        if (found)
            g->pm_deg = to_degrees(g, lon);
    }

    const double *towgs84 = NULL;
    size_t count = 0;
    LC_FORWARD_IF_ERROR(
        found = get_doubles(d, LC_GK_GEOG_TOWGS84, &towgs84, &count, err));
    if (found) {
        LC_RETURN_IF(count != 3 && count != 7, err, LC_ECORRUPT,
                     "GeogTOWGS84GeoKey has %zu values, not 3 or 7", count);
        memcpy(g->towgs84, towgs84, count * sizeof(double));
        g->ntowgs84 = count;
    }
    return LC_OK;
}

/* ---- the projection part --------------------------------------------- */

/* Projection parameters from the Proj*GeoKeys, in degrees and metres. */
struct projection {
    int ct;
    double lat0, lon0, sp1, sp2, k, fe, fn, azimuth, gamma;
    bool have_sp1, have_k, have_gamma;
};

static const char *ct_name(int ct)
{
    switch (ct) {
    case LC_CT_TRANSV_MERCATOR_MODIFIED_ALASKA:
        return "CT_TransvMercator_Modified_Alaska";
    case LC_CT_OBLIQUE_MERCATOR_ROSENMUND:
        return "CT_ObliqueMercator_Rosenmund";
    case LC_CT_OBLIQUE_MERCATOR_SPHERICAL:
        return "CT_ObliqueMercator_Spherical";
    default:
        return "unknown";
    }
}

/*
 * Reads the parameters of ProjCoordTransGeoKey's method. Like libgeotiff's
 * GTIFFetchProjParms, each parameter accepts the keys writers actually use
 * for it (natural origin, false origin or center), in that order of
 * preference. Angles are in GeogAngularUnits, lengths in ProjLinearUnits.
 */
static int read_projection(const struct keydir *d, const struct geodetic *g,
                           double unit_m, int ct, struct projection *p,
                           struct lc__errbuf *err)
{
    static const unsigned fe_keys[] = {LC_GK_PROJ_FALSE_EASTING,
                                       LC_GK_PROJ_CENTER_EASTING,
                                       LC_GK_PROJ_FALSE_ORIGIN_EASTING};
    static const unsigned fn_keys[] = {LC_GK_PROJ_FALSE_NORTHING,
                                       LC_GK_PROJ_CENTER_NORTHING,
                                       LC_GK_PROJ_FALSE_ORIGIN_NORTHING};
    static const unsigned lon_keys[] = {LC_GK_PROJ_NAT_ORIGIN_LONG,
                                        LC_GK_PROJ_FALSE_ORIGIN_LONG,
                                        LC_GK_PROJ_CENTER_LONG};
    /* Polar stereographic names its longitude the straight vertical pole. */
    static const unsigned pole_lon_keys[] = {
        LC_GK_PROJ_STRAIGHT_VERT_POLE_LONG, LC_GK_PROJ_NAT_ORIGIN_LONG,
        LC_GK_PROJ_FALSE_ORIGIN_LONG, LC_GK_PROJ_CENTER_LONG};
    static const unsigned lat_keys[] = {LC_GK_PROJ_NAT_ORIGIN_LAT,
                                        LC_GK_PROJ_FALSE_ORIGIN_LAT,
                                        LC_GK_PROJ_CENTER_LAT};
    static const unsigned k_keys[] = {LC_GK_PROJ_SCALE_AT_NAT_ORIGIN,
                                      LC_GK_PROJ_SCALE_AT_CENTER};

    *p = (struct projection){.ct = ct};
    LC_FORWARD_IF_ERROR(get_first_double(d, fe_keys, LC_ARRAY_SIZE(fe_keys),
                                         0.0, &p->fe, NULL, err));
    LC_FORWARD_IF_ERROR(get_first_double(d, fn_keys, LC_ARRAY_SIZE(fn_keys),
                                         0.0, &p->fn, NULL, err));
    if (ct == LC_CT_POLAR_STEREOGRAPHIC) {
        LC_FORWARD_IF_ERROR(get_first_double(d, pole_lon_keys,
                                             LC_ARRAY_SIZE(pole_lon_keys), 0.0,
                                             &p->lon0, NULL, err));
    } else {
        LC_FORWARD_IF_ERROR(get_first_double(
            d, lon_keys, LC_ARRAY_SIZE(lon_keys), 0.0, &p->lon0, NULL, err));
    }
    LC_FORWARD_IF_ERROR(get_first_double(d, lat_keys, LC_ARRAY_SIZE(lat_keys),
                                         0.0, &p->lat0, NULL, err));
    LC_FORWARD_IF_ERROR(get_first_double(d, k_keys, LC_ARRAY_SIZE(k_keys), 1.0,
                                         &p->k, &p->have_k, err));
    unsigned sp1_key = LC_GK_PROJ_STD_PARALLEL1;
    LC_FORWARD_IF_ERROR(
        get_first_double(d, &sp1_key, 1, 0.0, &p->sp1, &p->have_sp1, err));
    unsigned sp2_key = LC_GK_PROJ_STD_PARALLEL2;
    LC_FORWARD_IF_ERROR(
        get_first_double(d, &sp2_key, 1, 0.0, &p->sp2, NULL, err));
    unsigned azimuth_key = LC_GK_PROJ_AZIMUTH_ANGLE;
    LC_FORWARD_IF_ERROR(
        get_first_double(d, &azimuth_key, 1, 0.0, &p->azimuth, NULL, err));
    unsigned gamma_key = LC_GK_PROJ_RECTIFIED_GRID_ANGLE;
    LC_FORWARD_IF_ERROR(get_first_double(d, &gamma_key, 1, 0.0, &p->gamma,
                                         &p->have_gamma, err));

    p->lat0 = to_degrees(g, p->lat0);
    p->lon0 = to_degrees(g, p->lon0);
    p->sp1 = to_degrees(g, p->sp1);
    p->sp2 = to_degrees(g, p->sp2);
    p->gamma = to_degrees(g, p->gamma);
    p->azimuth = g->azimuth_dms ? dms_to_degrees(p->azimuth)
                                : p->azimuth * g->azimuth_deg;
    p->fe *= unit_m;
    p->fn *= unit_m;
    return LC_OK;
}

/* ---- writing the definition ------------------------------------------ */

struct strbuf {
    char *p;
    size_t cap;
    size_t len;
    bool overflow;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
    LC_PRINTF_LIKE(2, 3);

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;

    if (sb->overflow)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sb->cap - sb->len) {
        sb->overflow = true;
        sb->p[sb->len] = '\0';
        return;
    }
    sb->len += (size_t)n;
}

/*
 * The shortest decimal form of v with at most 17 significant digits that
 * reads back as v, so 29.5 stays "29.5" and a file's 298.2569999999957 is
 * kept. A value within 1e-15 (a few ULPs) of a 15-digit one is written
 * with 15 digits: such noise comes from our own unit conversions (656166.67
 * US feet is 199999.99999999994 m), not from the file.
 *
 * PROJ parses with the C locale; a host that set LC_NUMERIC to a comma
 * locale would make printf write "29,5", so any decimal separator is
 * rewritten as '.'.
 */
static void format_number(char *num, size_t cap, double v)
{
    if (v == 0)
        v = 0; /* no "-0" */
    (void)snprintf(num, cap, "%.15g", v);
    double back = strtod(num, NULL);
    if (!(fabs(back - v) <= 1e-15 * fabs(v))) {
        for (int prec = 16; prec <= 17; prec++) {
            (void)snprintf(num, cap, "%.*g", prec, v);
            if (strtod(num, NULL) == v)
                break;
        }
    }
    for (char *c = num; *c != '\0'; c++) {
        if (!((*c >= '0' && *c <= '9') || *c == '-' || *c == '+' || *c == 'e'))
            *c = '.';
    }
}

/* " +name=value" */
static void sb_param(struct strbuf *sb, const char *name, double v)
{
    char num[40];

    format_number(num, sizeof(num), v);
    sb_printf(sb, " +%s=%s", name, num);
}

/* Datums whose PROJ +datum= name maps back to the same EPSG datum. */
static const char *proj_datum_name(int datum)
{
    switch (datum) {
    case 6326:
        return "WGS84";
    case 6269:
        return "NAD83";
    case 6267:
        return "NAD27";
    case 6121:
        return "GGRS87";
    case 6314:
        return "potsdam";
    case 6223:
        return "carthage";
    case 6312:
        return "hermannskogel";
    case 6299:
        return "ire65";
    case 6272:
        return "nzgd49";
    case 6277:
        return "OSGB36";
    default:
        return NULL;
    }
}

/* Ellipsoids PROJ knows by name (used only while a/b are exactly theirs). */
static const char *proj_ellps_name(int ellps)
{
    switch (ellps) {
    case 7030:
        return "WGS84";
    case 7019:
        return "GRS80";
    case 7008:
        return "clrk66";
    case 7004:
        return "bessel";
    case 7022:
        return "intl";
    default:
        return NULL;
    }
}

/* The datum/ellipsoid/prime meridian part of a PROJ string. */
static void write_geodetic(struct strbuf *sb, const struct geodetic *g)
{
    const char *datum = proj_datum_name(g->datum);

    /* +datum= brings its own ellipsoid, so it is used only while the
     * ellipsoid is still the datum's; GeogTOWGS84GeoKey replaces the
     * datum's identity by an explicit shift, as in GDAL. */
    if (datum != NULL && g->ellps != 0 && g->ellps == g->datum_ellps &&
        g->ntowgs84 == 0) {
        sb_printf(sb, " +datum=%s", datum);
    } else {
        const char *ellps = g->ellps != 0 ? proj_ellps_name(g->ellps) : NULL;
        bool sphere = g->have_rf ? g->rf == 0 : g->b == g->a;
        if (ellps != NULL) {
            sb_printf(sb, " +ellps=%s", ellps);
        } else if (sphere) {
            sb_param(sb, "R", g->a);
        } else {
            sb_param(sb, "a", g->a);
            sb_param(sb, g->have_rf ? "rf" : "b", g->have_rf ? g->rf : g->b);
        }
        if (g->ntowgs84 != 0) {
            sb_printf(sb, " +towgs84=");
            for (size_t i = 0; i < g->ntowgs84; i++) {
                char num[40];
                format_number(num, sizeof(num), g->towgs84[i]);
                sb_printf(sb, "%s%s", i ? "," : "", num);
            }
        }
    }
    if (g->pm_deg != 0)
        sb_param(sb, "pm", g->pm_deg);
}

/* The "+proj=... parameters" of a ProjCoordTransGeoKey method. */
static int write_projection(struct strbuf *sb, const struct projection *p,
                            struct lc__errbuf *err)
{
    switch (p->ct) {
    case LC_CT_TRANSVERSE_MERCATOR:
    case LC_CT_TRANSV_MERCATOR_SOUTH_ORIENTED:
        sb_printf(sb, "+proj=tmerc%s",
                  p->ct == LC_CT_TRANSVERSE_MERCATOR ? "" : " +axis=wsu");
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        sb_param(sb, "k", p->k);
        break;
    case LC_CT_OBLIQUE_MERCATOR:
    case LC_CT_HOTINE_OBLIQUE_MERCATOR_AZIMUTH_CENTER:
        /* Variant A (CT 3) measures false easting/northing from the
         * natural origin, hence +no_uoff; variant B from the center. */
        sb_printf(sb, "+proj=omerc%s",
                  p->ct == LC_CT_OBLIQUE_MERCATOR ? " +no_uoff" : "");
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lonc", p->lon0);
        sb_param(sb, "alpha", p->azimuth);
        /* Without ProjRectifiedGridAngleGeoKey (a GeoTIFF 1.1 key) the
         * grid is rectified at the azimuth, PROJ's default for +gamma. */
        if (p->have_gamma)
            sb_param(sb, "gamma", p->gamma);
        sb_param(sb, "k", p->k);
        break;
    case LC_CT_OBLIQUE_MERCATOR_LABORDE:
        sb_printf(sb, "+proj=labrd");
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        sb_param(sb, "azi", p->azimuth);
        sb_param(sb, "k", p->k);
        break;
    case LC_CT_MERCATOR:
        /* A standard parallel makes it Mercator 2SP and wins over a scale
         * (GDAL warns and does the same). Mercator has no latitude of
         * origin: PROJ ignores +lat_0, so none is written. */
        sb_printf(sb, "+proj=merc");
        if (p->have_sp1) {
            sb_param(sb, "lat_ts", p->sp1);
            sb_param(sb, "lon_0", p->lon0);
        } else {
            sb_param(sb, "lon_0", p->lon0);
            sb_param(sb, "k", p->k);
        }
        break;
    case LC_CT_LAMBERT_CONF_CONIC_2SP:
    case LC_CT_ALBERS_EQUAL_AREA:
    case LC_CT_EQUIDISTANT_CONIC:
        sb_printf(sb, "+proj=%s",
                  p->ct == LC_CT_LAMBERT_CONF_CONIC_2SP ? "lcc"
                  : p->ct == LC_CT_ALBERS_EQUAL_AREA    ? "aea"
                                                        : "eqdc");
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        sb_param(sb, "lat_1", p->sp1);
        sb_param(sb, "lat_2", p->sp2);
        break;
    case LC_CT_LAMBERT_CONF_CONIC_1SP:
        sb_printf(sb, "+proj=lcc");
        sb_param(sb, "lat_1", p->lat0);
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        sb_param(sb, "k_0", p->k);
        break;
    case LC_CT_LAMBERT_AZIM_EQUAL_AREA:
    case LC_CT_AZIMUTHAL_EQUIDISTANT:
    case LC_CT_CASSINI_SOLDNER:
    case LC_CT_GNOMONIC:
    case LC_CT_ORTHOGRAPHIC:
    case LC_CT_POLYCONIC:
    case LC_CT_NEW_ZEALAND_MAP_GRID: {
        const char *name = p->ct == LC_CT_LAMBERT_AZIM_EQUAL_AREA ? "laea"
                           : p->ct == LC_CT_AZIMUTHAL_EQUIDISTANT ? "aeqd"
                           : p->ct == LC_CT_CASSINI_SOLDNER       ? "cass"
                           : p->ct == LC_CT_GNOMONIC              ? "gnom"
                           : p->ct == LC_CT_ORTHOGRAPHIC          ? "ortho"
                           : p->ct == LC_CT_POLYCONIC             ? "poly"
                                                                  : "nzmg";
        sb_printf(sb, "+proj=%s", name);
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        break;
    }
    case LC_CT_MILLER_CYLINDRICAL:
        /* PROJ and GDAL define Miller on the authalic sphere (+R_A). */
        sb_printf(sb, "+proj=mill +R_A");
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        break;
    case LC_CT_STEREOGRAPHIC:
    case LC_CT_OBLIQUE_STEREOGRAPHIC:
        sb_printf(sb, "+proj=%s",
                  p->ct == LC_CT_STEREOGRAPHIC ? "stere" : "sterea");
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        sb_param(sb, "k", p->k);
        break;
    case LC_CT_POLAR_STEREOGRAPHIC:
        /* A latitude of origin at a pole is variant A (scale at the pole);
         * any other is the latitude of true scale of variant B, whose
         * scale factor is implied (GDAL's SetPS does the same). */
        sb_printf(sb, "+proj=stere");
        if (fabs(fabs(p->lat0) - 90.0) < 1e-9) {
            sb_param(sb, "lat_0", p->lat0);
            sb_param(sb, "lon_0", p->lon0);
            sb_param(sb, "k", p->k);
        } else {
            sb_param(sb, "lat_0", p->lat0 > 0 ? 90.0 : -90.0);
            sb_param(sb, "lat_ts", p->lat0);
            sb_param(sb, "lon_0", p->lon0);
        }
        break;
    case LC_CT_EQUIRECTANGULAR:
        sb_printf(sb, "+proj=eqc");
        sb_param(sb, "lat_ts", p->sp1);
        sb_param(sb, "lat_0", p->lat0);
        sb_param(sb, "lon_0", p->lon0);
        break;
    case LC_CT_CYLINDRICAL_EQUAL_AREA:
        sb_printf(sb, "+proj=cea");
        sb_param(sb, "lat_ts", p->sp1);
        sb_param(sb, "lon_0", p->lon0);
        break;
    case LC_CT_ROBINSON:
    case LC_CT_SINUSOIDAL:
    case LC_CT_VAN_DER_GRINTEN:
        sb_printf(sb, "+proj=%s",
                  p->ct == LC_CT_ROBINSON     ? "robin"
                  : p->ct == LC_CT_SINUSOIDAL ? "sinu"
                                              : "vandg +R_A");
        sb_param(sb, "lon_0", p->lon0);
        break;
    default:
        return lc__error(err, LC_EUNSUPPORTED,
                         "ProjCoordTransGeoKey %d (%s) is not supported", p->ct,
                         ct_name(p->ct));
    }
    sb_param(sb, "x_0", p->fe);
    sb_param(sb, "y_0", p->fn);
    return LC_OK;
}

/* The "+proj=..." of an EPSG conversion (ProjectionGeoKey), from PROJ. */
static int write_db_conversion(struct strbuf *sb, struct resolver *r, int code)
{
    PJ *op = NULL;
    int status = LC_OK;

    LC_FORWARD_IF_ERROR(
        db_object(r, code, PJ_CATEGORY_COORDINATE_OPERATION, &op));
    const char *text = NULL;
    if (op != NULL && proj_get_type(op) == PJ_TYPE_CONVERSION)
        text = proj_as_proj_string(r->ctx, op, PJ_PROJ_4, NULL);
    /* A conversion PROJ can only write as a pipeline (unit changes, axis
     * swaps) does not fit in a single +proj= CRS definition. */
    if (text == NULL || strncmp(text, "+proj=", 6) != 0 ||
        strstr(text, "+proj=pipeline") != NULL || strstr(text, "+step") != NULL)
        status = lc__error(r->err, LC_EUNSUPPORTED,
                           "ProjectionGeoKey %d is not a conversion PROJ can "
                           "write as a PROJ string",
                           code);
    else
        sb_printf(sb, "%s", text);
    proj_destroy(op);
    return status;
}

/* " +units=m" or the equivalent for a linear unit of unit_m metres. */
static void write_units(struct strbuf *sb, double unit_m)
{
    if (unit_m == 1.0)
        sb_printf(sb, " +units=m");
    else if (unit_m == 0.3048)
        sb_printf(sb, " +units=ft");
    else if (unit_m == 1200.0 / 3937.0)
        sb_printf(sb, " +units=us-ft");
    else
        sb_param(sb, "to_meter", unit_m);
}

/* Metres per ProjLinearUnits unit. */
static int read_linear_unit(const struct keydir *d, struct resolver *r,
                            double *unit_m)
{
    int code = 0;
    int found;

    *unit_m = 1.0;
    LC_FORWARD_IF_ERROR(
        found = get_short(d, LC_GK_PROJ_LINEAR_UNITS, &code, r->err));
    if (!found)
        return LC_OK;
    if (code == LC_EPSG_METRE)
        return LC_OK;
    if (code == LC_EPSG_FOOT) {
        *unit_m = 0.3048;
        return LC_OK;
    }
    if (code == LC_EPSG_US_SURVEY_FOOT) {
        *unit_m = 1200.0 / 3937.0;
        return LC_OK;
    }
    if (is_epsg_code(code))
        return db_unit(r, code, "linear", unit_m);
    if (code == LC_GK_USER_DEFINED) {
        double size = 0;
        LC_FORWARD_IF_ERROR(
            found = get_double(d, LC_GK_PROJ_LINEAR_UNIT_SIZE, &size, r->err));
        LC_RETURN_IF(!found || !(size > 0), r->err, LC_ECORRUPT,
                     "user-defined ProjLinearUnitsGeoKey without a positive "
                     "ProjLinearUnitSizeGeoKey");
        *unit_m = size;
    }
    return LC_OK;
}

/* ---- the whole CRS --------------------------------------------------- */

/* proj_create must accept the definition as a CRS. */
static int check_with_proj(struct resolver *r, const char *definition)
{
    PJ_CONTEXT *ctx = NULL;

    LC_FORWARD_IF_ERROR(resolver_ctx(r, &ctx));
    PJ *crs = proj_create(ctx, definition);
    bool ok = crs != NULL && proj_is_crs(crs);
    int errnum = proj_context_errno(ctx);
    proj_destroy(crs);
    if (ok)
        return LC_OK;
    return lc__error(r->err, LC_EUNSUPPORTED,
                     "PROJ does not accept the CRS built from the GeoKeys "
                     "(%s): %.200s",
                     errnum != 0 ? proj_context_errno_string(ctx, errnum)
                                 : "not a CRS",
                     definition);
}

/*
 * The kinds of the EPSG CRS codes found so far, for the whole process.
 * The headers of an archive name a few codes over and over, and a thread
 * asking PROJ first needs a context of its own (about a millisecond, more
 * when the threads that fetch the first headers of an open all start at
 * once). Lookups run under the lock, so threads that want one code at the
 * same time wait for a single lookup. Codes PROJ does not know are asked
 * again (a broken file's code is no reason to keep a slot).
 */
#define CRS_KINDS_CAP 64

struct crs_kind {
    int code;
    PJ_TYPE type;
};

static struct crs_kind crs_kinds[CRS_KINDS_CAP];
static size_t ncrs_kinds;
static pthread_mutex_t crs_kinds_lock = PTHREAD_MUTEX_INITIALIZER;

/* The kind of EPSG CRS code (PJ_TYPE_UNKNOWN when PROJ has none). */
static int epsg_crs_type(struct resolver *r, int code, PJ_TYPE *type_ret)
{
    (void)pthread_mutex_lock(&crs_kinds_lock);
    for (size_t i = 0; i < ncrs_kinds; i++) {
        if (crs_kinds[i].code == code) {
            *type_ret = crs_kinds[i].type;
            (void)pthread_mutex_unlock(&crs_kinds_lock);
            return LC_OK;
        }
    }
    PJ *crs = NULL;
    int status = db_object(r, code, PJ_CATEGORY_CRS, &crs);
    bool found = crs != NULL;
    *type_ret = found ? proj_get_type(crs) : PJ_TYPE_UNKNOWN;
    proj_destroy(crs);
    if (found && ncrs_kinds < CRS_KINDS_CAP)
        crs_kinds[ncrs_kinds++] = (struct crs_kind){code, *type_ret};
    (void)pthread_mutex_unlock(&crs_kinds_lock);
    return status;
}

void lc__geokeys_learn_epsg(int code)
{
    if (!is_epsg_code(code))
        return;
    struct resolver r = {.ctx = NULL, .err = NULL};
    PJ_TYPE type;
    (void)epsg_crs_type(&r, code, &type);
}

/* EPSG:<code> when PROJ's database has it as the expected kind of CRS. */
static int epsg_crs(struct resolver *r, int code, bool projected,
                    struct lc__crs_info *out)
{
    PJ_TYPE type = PJ_TYPE_UNKNOWN;

    LC_FORWARD_IF_ERROR(epsg_crs_type(r, code, &type));
    bool ok = projected ? type == PJ_TYPE_PROJECTED_CRS
                        : (type == PJ_TYPE_GEOGRAPHIC_2D_CRS ||
                           type == PJ_TYPE_GEOGRAPHIC_3D_CRS);
    LC_RETURN_IF(!ok, r->err, LC_EUNSUPPORTED,
                 "%s %d is not a %s CRS in PROJ's EPSG database",
                 projected ? "ProjectedCSTypeGeoKey" : "GeographicTypeGeoKey",
                 code, projected ? "projected" : "geographic");
    out->epsg = code;
    (void)snprintf(out->definition, sizeof(out->definition), "EPSG:%d", code);
    return LC_OK;
}

/*
 * ESRI software writes the whole CRS as WKT into a citation, prefixed with
 * "ESRI PE String = "; GDAL reads it back as the CRS. Returns 1 and the WKT
 * when a citation holds one, else 0.
 */
static int find_pe_string(const struct keydir *d, const char **wkt_ret,
                          size_t *len_ret, struct lc__errbuf *err)
{
    static const char prefix[] = "ESRI PE String = ";
    static const unsigned keys[] = {LC_GK_PCS_CITATION, LC_GK_CITATION};

    for (size_t i = 0; i < LC_ARRAY_SIZE(keys); i++) {
        const char *s = NULL;
        size_t len = 0;
        int found = get_ascii(d, keys[i], &s, &len, err);
        if (found < 0)
            return found;
        if (found && len >= sizeof(prefix) - 1 &&
            memcmp(s, prefix, sizeof(prefix) - 1) == 0) {
            *wkt_ret = s + sizeof(prefix) - 1;
            *len_ret = len - (sizeof(prefix) - 1);
            return 1;
        }
    }
    return 0;
}

/* The PE string's WKT as the definition; leaves "" when there is none. */
static int pe_string_crs(const struct keydir *d, struct resolver *r,
                         struct lc__crs_info *out)
{
    const char *wkt = NULL;
    size_t len = 0;
    int found;

    LC_FORWARD_IF_ERROR(found = find_pe_string(d, &wkt, &len, r->err));
    if (!found)
        return LC_OK;
    LC_RETURN_IF(len >= sizeof(out->definition), r->err, LC_EUNSUPPORTED,
                 "the ESRI PE string CRS is %zu bytes, over the %d-byte "
                 "limit of a CRS definition",
                 len, LC_CRS_DEFINITION_CAP - 1);
    char definition[LC_CRS_DEFINITION_CAP];
    memcpy(definition, wkt, len);
    definition[len] = '\0';
    LC_FORWARD_IF_ERROR(check_with_proj(r, definition));
    memcpy(out->definition, definition, len + 1);
    return LC_OK;
}

/* A user-defined projected or geographic CRS as a PROJ string. */
static int user_defined_crs(const struct keydir *d, struct resolver *r,
                            bool projected, struct lc__crs_info *out)
{
    struct lc__errbuf *err = r->err;
    struct geodetic g = {0};
    char definition[LC_CRS_DEFINITION_CAP];
    struct strbuf sb = {definition, sizeof(definition), 0, false};
    int ct = 0, projection = 0;
    int have_ct = 0, have_projection = 0;

    definition[0] = '\0';
    if (projected) {
        LC_FORWARD_IF_ERROR(have_ct =
                                get_short(d, LC_GK_PROJ_COORD_TRANS, &ct, err));
        LC_FORWARD_IF_ERROR(
            have_projection = get_short(d, LC_GK_PROJECTION, &projection, err));
        if (!have_ct && !(have_projection && is_epsg_code(projection))) {
            /* No projection method in the keys: only a PE string can
             * still describe the CRS (GDAL reports a LOCAL_CS). */
            return pe_string_crs(d, r, out);
        }
    }
    LC_FORWARD_IF_ERROR(read_geodetic(d, r, &g));

    if (!projected) {
        /* A PROJ string has no angular unit: longlat is in degrees. */
        LC_RETURN_IF(g.unit_dms || fabs(g.unit_deg - 1.0) > 1e-12, err,
                     LC_EUNSUPPORTED,
                     "a user-defined geographic CRS in an angular unit other "
                     "than the degree is not supported");
        sb_printf(&sb, "+proj=longlat");
        write_geodetic(&sb, &g);
    } else {
        double unit_m = 1.0;
        LC_FORWARD_IF_ERROR(read_linear_unit(d, r, &unit_m));
        /* ProjCoordTransGeoKey wins over ProjectionGeoKey (libgeotiff). */
        if (have_ct) {
            struct projection p = {0};
            LC_FORWARD_IF_ERROR(read_projection(d, &g, unit_m, ct, &p, err));
            LC_FORWARD_IF_ERROR(write_projection(&sb, &p, err));
        } else {
            LC_FORWARD_IF_ERROR(write_db_conversion(&sb, r, projection));
        }
        write_geodetic(&sb, &g);
        write_units(&sb, unit_m);
    }
    sb_printf(&sb, " +no_defs +type=crs");
    LC_RETURN_IF(sb.overflow, err, LC_EUNSUPPORTED,
                 "the CRS definition built from the GeoKeys is over the "
                 "%d-byte limit",
                 LC_CRS_DEFINITION_CAP - 1);
    LC_FORWARD_IF_ERROR(check_with_proj(r, definition));
    memcpy(out->definition, definition, sb.len + 1);
    return LC_OK;
}

static int interpret(const struct keydir *d, struct resolver *r,
                     struct lc__crs_info *out)
{
    struct lc__errbuf *err = r->err;
    int model = 0, raster = 0, pcs = 0, gcs = 0;
    int found;

    LC_FORWARD_IF_ERROR(found = get_short(d, LC_GK_MODEL_TYPE, &model, err));
    out->model_type = found ? model : 0;
    LC_FORWARD_IF_ERROR(found = get_short(d, LC_GK_RASTER_TYPE, &raster, err));
    out->raster_type = (found && (raster == LC_RASTER_PIXEL_IS_AREA ||
                                  raster == LC_RASTER_PIXEL_IS_POINT))
                           ? raster
                           : LC_RASTER_UNSPECIFIED;
    LC_FORWARD_IF_ERROR(found =
                            get_short(d, LC_GK_PROJECTED_CS_TYPE, &pcs, err));
    if (!found)
        pcs = 0;
    LC_FORWARD_IF_ERROR(found = get_short(d, LC_GK_GEOG_TYPE, &gcs, err));
    if (!found)
        gcs = 0;
    /* The citations are read only to find a PE string, but a malformed one
     * is still a malformed directory. */
    const char *s = NULL;
    size_t len = 0;
    LC_FORWARD_IF_ERROR(get_ascii(d, LC_GK_CITATION, &s, &len, err));

    /* A projected CRS code with a missing or user-defined model type is
     * still a projected CRS (GDAL ticket #3019). */
    if (is_epsg_code(pcs) && model != LC_GK_MODEL_GEOGRAPHIC &&
        model != LC_GK_MODEL_GEOCENTRIC)
        return epsg_crs(r, pcs, true, out);

    switch (model) {
    case LC_GK_MODEL_PROJECTED:
        return user_defined_crs(d, r, true, out);
    case LC_GK_MODEL_GEOGRAPHIC:
        /* A GeogTOWGS84GeoKey next to an EPSG code is dropped, as GDAL
         * does: the registry's own transformations apply. */
        if (is_epsg_code(gcs))
            return epsg_crs(r, gcs, false, out);
        return user_defined_crs(d, r, false, out);
    case LC_GK_MODEL_GEOCENTRIC:
        return lc__error(err, LC_EUNSUPPORTED,
                         "geocentric GeoTIFF (GTModelTypeGeoKey 3) is not "
                         "supported");
    default:
        /* Missing, user-defined or unknown model: GDAL makes a LOCAL_CS,
         * which is no CRS to reproject with, unless a PE string says
         * more. */
        return pe_string_crs(d, r, out);
    }
}

int lc__geokeys_parse(const struct lc__geokeys_input *in,
                      struct lc__crs_info *out, struct lc__errbuf *err)
{
    LC_RETURN_IF(in == NULL || out == NULL, err, LC_EINVAL,
                 "lc__geokeys_parse: NULL argument");
    out->epsg = 0;
    out->definition[0] = '\0';
    out->model_type = 0;
    out->raster_type = LC_RASTER_UNSPECIFIED;
    if (in->directory == NULL || in->directory_count == 0)
        return LC_OK;

    struct keydir d;
    LC_FORWARD_IF_ERROR(keydir_init(&d, in, err));
    if (d.nkeys == 0)
        return LC_OK;

    struct resolver r = {NULL, err};
    int status = interpret(&d, &r, out);
    if (status < 0) {
        out->epsg = 0;
        out->definition[0] = '\0';
    }
    return status;
}
