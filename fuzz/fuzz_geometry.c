/* fuzz_geometry.c - libFuzzer target for the geometry readers (src/geo). */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "../src/geo/geometry.h"

/*
 * Input: one byte choosing the reader (% 3: WKB, WKT, GeoJSON), then the
 * bytes to read. A geometry that reads is written back as WKT, which must
 * read back to the same geometry (abort otherwise), and is related to a
 * few fixed geometries with every named predicate.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kOthers[] = {
    "POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,4 2,4 4,2 4,2 2))",
    "LINESTRING(-5 5,15 5,15 15)",
    "MULTIPOINT(0 0,5 5,20 20)",
    "GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))",
    "POLYGON EMPTY",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lc__arena fixed;
    static struct lc__geom *others[LC_ARRAY_SIZE(kOthers)];
    if (others[0] == NULL) {
        lc__arena_init(&fixed, NULL);
        for (size_t i = 0; i < LC_ARRAY_SIZE(kOthers); i++)
            if (lc__geom_from_wkt(&fixed, kOthers[i], strlen(kOthers[i]), NULL,
                                  NULL, &others[i], NULL, NULL) != LC_OK)
                abort();
    }
    if (size < 1)
        return 0;
    struct lc__arena arena;
    struct lc__geom *g = NULL;
    const struct lc__geom_limits limits = {.max_points = 4096};
    int rc;
    lc__arena_init(&arena, NULL);
    switch (data[0] % 3) {
    case 0:
        rc = lc__geom_from_wkb(&arena, data + 1, size - 1, &limits, &g, NULL);
        break;
    case 1:
        rc = lc__geom_from_wkt(&arena, (const char *)data + 1, size - 1,
                               &limits, NULL, &g, NULL, NULL);
        break;
    default:
        rc = lc__geom_from_geojson_text(&arena, (const char *)data + 1,
                                        size - 1, &limits, &g, NULL);
        break;
    }
    if (rc == LC_OK) {
        struct lc__envelope env;
        lc__geom_envelope(g, &env);
        struct lc__strbuf sb;
        lc__strbuf_init(&sb, NULL, 0);
        lc__geom_to_wkt(g, &sb);
        struct lc__geom *back = NULL;
        struct lc__errbuf err = {0};
        if (sb.status != LC_OK ||
            lc__geom_from_wkt(&arena, sb.data, sb.len, NULL, NULL, &back, NULL,
                              &err) != LC_OK ||
            !lc__geom_equal_exact(g, back)) {
            fprintf(stderr, "WKT round trip failed: %s (%s)\n", sb.data,
                    err.msg);
            abort();
        }
        lc__strbuf_free(&sb);
        lc__geom_to_geojson(g, &sb);
        lc__strbuf_free(&sb);
        for (size_t i = 0; i < LC_ARRAY_SIZE(others); i++) {
            for (int p = 0; p <= LC__SPATIAL_OVERLAPS; p++) {
                bool r;
                if (lc__geom_predicate((enum lc__spatial_pred)p, g, others[i],
                                       NULL, &r) != LC_OK ||
                    lc__geom_predicate((enum lc__spatial_pred)p, others[i], g,
                                       NULL, &r) != LC_OK)
                    abort();
            }
        }
        bool self;
        if (lc__geom_predicate(LC__SPATIAL_INTERSECTS, g, g, NULL, &self) !=
            LC_OK)
            abort();
    }
    lc__arena_free(&arena);
    return 0;
}
