/* geokeys.h - GeoTIFF GeoKey directory to a CRS definition PROJ understands. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_GEOKEYS_H
#define LC_GEOKEYS_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * Input: the three GeoTIFF tags, already read from the file and converted
 * to native byte order by the TIFF layer. Any pointer may be NULL with a
 * zero count when the tag is absent.
 */
struct lc__geokeys_input {
    const uint16_t *directory; /* GeoKeyDirectoryTag (34735) values */
    size_t directory_count;
    const double *doubles; /* GeoDoubleParamsTag (34736) */
    size_t doubles_count;
    const char *ascii; /* GeoAsciiParamsTag (34737), not NUL-terminated */
    size_t ascii_nbytes;
};

enum lc__raster_type {
    LC_RASTER_UNSPECIFIED = 0,
    LC_RASTER_PIXEL_IS_AREA = 1,
    LC_RASTER_PIXEL_IS_POINT = 2
};

#define LC_CRS_DEFINITION_CAP 2048

struct lc__crs_info {
    /* EPSG code of the whole CRS when the keys give one, else 0. */
    int epsg;
    /*
     * What PROJ's proj_create() accepts: "EPSG:32615" when epsg != 0,
     * otherwise a definition built from the keys (a PROJ string such as
     * "+proj=stere +lat_0=-90 ... +no_defs +type=crs", or the WKT of an
     * ESRI "PE String" citation), or "" when the file has no CRS.
     */
    char definition[LC_CRS_DEFINITION_CAP];
    /* GTModelTypeGeoKey as stored: 1 projected, 2 geographic, 3 geocentric,
     * 32767 user-defined; 0 when absent. */
    int model_type;
    int raster_type; /* enum lc__raster_type (GTRasterTypeGeoKey) */
};

/*
 * Interprets a GeoKey directory the way GDAL does, so that the CRS equals
 * the one GDAL and rasterio report for the file. Returns:
 *   LC_OK            out->definition is "" when there are no keys or they
 *                    give no CRS (e.g. only a user-defined model type);
 *   LC_ECORRUPT      a malformed directory: bad header, NumberOfKeys over
 *                    1024, counts or offsets past the tag arrays, a key
 *                    stored with the wrong type, impossible values;
 *   LC_EUNSUPPORTED  a CRS the keys describe that this code cannot express
 *                    (unsupported coordinate transformation, geocentric,
 *                    a code missing from PROJ's EPSG database);
 *   LC_ENOMEM        PROJ could not create its context;
 *   LC_EINVAL        in or out is NULL;
 * with a message in err (which may be NULL) on failure. On failure
 * out->definition is "" and out->epsg 0.
 *
 * Codes of datums, ellipsoids, units and conversions are resolved with
 * PROJ's database, through a PJ_CONTEXT of the calling thread's own (made
 * at its first use), and every definition is checked with proj_create: the
 * function is safe to call from several threads at once.
 */
int lc__geokeys_parse(const struct lc__geokeys_input *in,
                      struct lc__crs_info *out, struct lc__errbuf *err);

/*
 * Looks up what kind of CRS EPSG code is (projected, geographic...) in
 * PROJ's database, ahead of need: lc__geokeys_parse keeps the kinds of the
 * codes it met for the whole process, and a header whose code is known
 * parses without a PROJ context. A thread's first lookup makes it one
 * (about a millisecond), so a read looks up the codes its items name
 * (proj:code) while their headers are on the way. Codes PROJ does not know
 * are left for the parse to report.
 */
void lc__geokeys_learn_epsg(int code);

#endif /* LC_GEOKEYS_H */
