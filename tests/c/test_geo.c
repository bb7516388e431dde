/* test_geo.c - CRS parsing and equality, transforms, bbox transforms, grids,
 * align_bbox, overview choice and the approximate transformer's error bound
 * (src/geo). */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include "../../src/geo/approx.h"
#include "../../src/geo/crs.h"
#include "../../src/geo/grid.h"

#include <math.h>
#include <pthread.h>
#include <proj.h>

#include "test_util.h"

#define LC_ASSERT_NEAR(a, b, tol)                                              \
    do {                                                                       \
        double lc_a_ = (a);                                                    \
        double lc_b_ = (b);                                                    \
        if (!(fabs(lc_a_ - lc_b_) <= (tol)))                                   \
            LC_CHECK_FAIL_("%s ~ %s: %.17g != %.17g (tol %g)", #a, #b, lc_a_,  \
                           lc_b_, (double)(tol));                              \
    } while (0)

static struct lc__crs *crs_of(const char *text)
{
    struct lc__crs *crs = NULL;
    struct lc__errbuf err = {0};
    int st = lc__crs_new(text, NULL, &crs, &err);
    if (st != LC_OK)
        LC_CHECK_FAIL_("lc__crs_new(\"%.60s\"): %s: %s", text, lc_err_name(st),
                       err.msg);
    return crs;
}

/* ---- grids ------------------------------------------------------------ */

static void test_round_half_even(void)
{
    LC_ASSERT_TRUE(lc__round_half_even(2.5) == 2.0);
    LC_ASSERT_TRUE(lc__round_half_even(3.5) == 4.0);
    LC_ASSERT_TRUE(lc__round_half_even(0.5) == 0.0);
    LC_ASSERT_TRUE(lc__round_half_even(1.5) == 2.0);
    LC_ASSERT_TRUE(lc__round_half_even(-2.5) == -2.0);
    LC_ASSERT_TRUE(lc__round_half_even(-3.5) == -4.0);
    LC_ASSERT_TRUE(lc__round_half_even(2.4999999) == 2.0);
    LC_ASSERT_TRUE(lc__round_half_even(2.5000001) == 3.0);
    LC_ASSERT_TRUE(lc__round_half_even(3696.6666) == 3697.0);
}

static void test_grid_from_bbox(void)
{
    struct lc__grid g;
    struct lc__errbuf err = {0};

    /* test_grid.py: 10x5 from (0,0,10,5)@1; origin c=minx, f=maxy. */
    const double b1[4] = {0, 0, 10, 5};
    LC_ASSERT_EQ(lc__grid_from_bbox(b1, 1.0, &g, &err), LC_OK);
    LC_ASSERT_EQ(g.width, 10);
    LC_ASSERT_EQ(g.height, 5);
    LC_ASSERT_TRUE(g.gt[0] == 0.0 && g.gt[1] == 1.0 && g.gt[2] == 0.0);
    LC_ASSERT_TRUE(g.gt[3] == 5.0 && g.gt[4] == 0.0 && g.gt[5] == -1.0);

    /* (0,0,100,50)@10 -> 10x5. */
    const double b2[4] = {0, 0, 100, 50};
    LC_ASSERT_EQ(lc__grid_from_bbox(b2, 10.0, &g, &err), LC_OK);
    LC_ASSERT_EQ(g.width, 10);
    LC_ASSERT_EQ(g.height, 5);

    /* A sub-pixel bbox -> 1x1. */
    const double b3[4] = {0, 0, 0.3, 0.2};
    LC_ASSERT_EQ(lc__grid_from_bbox(b3, 1.0, &g, &err), LC_OK);
    LC_ASSERT_EQ(g.width, 1);
    LC_ASSERT_EQ(g.height, 1);

    /* 300 m over 1,109,000 m -> 3697 rows. */
    const double b4[4] = {0, 0, 1125000, 1109000};
    LC_ASSERT_EQ(lc__grid_from_bbox(b4, 300.0, &g, &err), LC_OK);
    LC_ASSERT_EQ(g.height, 3697);
    LC_ASSERT_EQ(g.width, 3750);

    /* Half to even: 2.5 -> 2, 3.5 -> 4 pixels. */
    const double b5[4] = {100, 200, 102.5, 203.5};
    LC_ASSERT_EQ(lc__grid_from_bbox(b5, 1.0, &g, &err), LC_OK);
    LC_ASSERT_EQ(g.width, 2);
    LC_ASSERT_EQ(g.height, 4);
    /* The grid hangs from (minx, maxy): edges are not maxx/miny. */
    double bb[4];
    lc__grid_bounds(&g, bb);
    LC_ASSERT_TRUE(bb[0] == 100.0 && bb[2] == 102.0);
    LC_ASSERT_TRUE(bb[3] == 203.5 && bb[1] == 199.5);

    /* Pixel centres, y descending. */
    const double b6[4] = {500000, 5600000, 500100, 5600050};
    LC_ASSERT_EQ(lc__grid_from_bbox(b6, 10.0, &g, &err), LC_OK);
    double xs[10], ys[5];
    LC_ASSERT_EQ(lc__grid_coords(&g, xs, ys, &err), LC_OK);
    LC_ASSERT_TRUE(xs[0] == 500005.0 && xs[9] == 500095.0);
    LC_ASSERT_TRUE(ys[0] == 5600045.0 && ys[4] == 5600005.0);
    for (int i = 1; i < 10; i++)
        LC_ASSERT_TRUE(xs[i] > xs[i - 1]);
    for (int j = 1; j < 5; j++)
        LC_ASSERT_TRUE(ys[j] < ys[j - 1]);

    /* Bad input. */
    LC_ASSERT_EQ(lc__grid_from_bbox(b1, 0.0, &g, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__grid_from_bbox(b1, -1.0, &g, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__grid_from_bbox(b1, NAN, &g, &err), LC_EINVAL);
    const double rev[4] = {10, 0, 0, 5};
    LC_ASSERT_EQ(lc__grid_from_bbox(rev, 1.0, &g, &err), LC_EINVAL);
    const double inf[4] = {0, 0, INFINITY, 5};
    LC_ASSERT_EQ(lc__grid_from_bbox(inf, 1.0, &g, &err), LC_EINVAL);
    const double huge[4] = {0, 0, 1e12, 5};
    LC_ASSERT_EQ(lc__grid_from_bbox(huge, 1.0, &g, &err), LC_ELIMIT);
}

static void test_grid_window(void)
{
    struct lc__grid g, s;
    struct lc__errbuf err = {0};
    const double b[4] = {500000, 5590000, 510000, 5600000};
    LC_ASSERT_EQ(lc__grid_from_bbox(b, 10.0, &g, &err), LC_OK);
    LC_ASSERT_EQ(lc__grid_window(&g, 4, 6, 100, 50, &s, &err), LC_OK);
    LC_ASSERT_TRUE(s.gt[0] == 500040.0 && s.gt[3] == 5599940.0);
    LC_ASSERT_TRUE(s.gt[1] == 10.0 && s.gt[5] == -10.0);
    LC_ASSERT_EQ(s.width, 100);
    LC_ASSERT_EQ(s.height, 50);
    LC_ASSERT_EQ(lc__grid_window(&g, 999, 0, 2, 1, &s, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__grid_window(&g, 0, 0, 0, 1, &s, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__grid_window(&g, 0, 0, 1000, 1000, &s, &err), LC_OK);

    /* Affine order conversions and inversion. */
    const double aff[6] = {10, 0, 499980, 0, -10, 6800040};
    double gt[6], back[6], inv[6];
    lc__gt_from_affine(aff, gt);
    LC_ASSERT_TRUE(gt[0] == 499980 && gt[1] == 10 && gt[3] == 6800040 &&
                   gt[5] == -10);
    lc__gt_to_affine(gt, back);
    LC_ASSERT_MEM_EQ(aff, back, sizeof(aff));
    LC_ASSERT_EQ(lc__gt_invert(gt, inv, &err), LC_OK);
    double x, y;
    lc__gt_apply(gt, 12.5, 7.25, &x, &y);
    double c, r;
    lc__gt_apply(inv, x, y, &c, &r);
    LC_ASSERT_NEAR(c, 12.5, 1e-9);
    LC_ASSERT_NEAR(r, 7.25, 1e-9);
    const double rot[6] = {100, 2, 1, 200, 0.5, -3};
    LC_ASSERT_EQ(lc__gt_invert(rot, inv, &err), LC_OK);
    lc__gt_apply(rot, 3.0, 4.0, &x, &y);
    lc__gt_apply(inv, x, y, &c, &r);
    LC_ASSERT_NEAR(c, 3.0, 1e-9);
    LC_ASSERT_NEAR(r, 4.0, 1e-9);
    const double sing[6] = {0, 1, 2, 0, 2, 4};
    LC_ASSERT_EQ(lc__gt_invert(sing, inv, &err), LC_EINVAL);
}

static void test_align_bbox(void)
{
    struct lc__errbuf err = {0};
    double out[4];
    /* Quickstart: the 4326 AOI transformed to EPSG:32605 by pyproj's
     * transform_bounds, snapped to the S2 grid. */
    const double aff[6] = {10, 0, 499980, 0, -10, 6800040};
    const double bbox[4] = {551899.4444413031, 6752046.306497931,
                            705008.4298573313, 6842117.611648763};
    LC_ASSERT_EQ(lc__align_bbox(aff, bbox, out, &err), LC_OK);
    LC_ASSERT_TRUE(out[0] == 551890.0 && out[1] == 6752040.0);
    LC_ASSERT_TRUE(out[2] == 705010.0 && out[3] == 6842120.0);

    /* HLS: a whole UTM zone (-96, 0, -90, 84) snapped to the HLS grid. */
    const double hls[6] = {30, 0, 600000, 0, -30, 0};
    const double hbox[4] = {166021.44308053772, 0.0, 833978.5569194595,
                            9329005.182447437};
    LC_ASSERT_EQ(lc__align_bbox(hls, hbox, out, &err), LC_OK);
    LC_ASSERT_TRUE(out[0] == 166020.0 && out[1] == 0.0);
    LC_ASSERT_TRUE(out[2] == 834000.0 && out[3] == 9329010.0);

    /* Already aligned stays; zero pixel size is refused. */
    const double al[4] = {499980, 6790040, 500980, 6800040};
    LC_ASSERT_EQ(lc__align_bbox(aff, al, out, &err), LC_OK);
    LC_ASSERT_MEM_EQ(out, al, sizeof(al));
    const double zero[6] = {0, 0, 1, 0, -10, 0};
    LC_ASSERT_EQ(lc__align_bbox(zero, al, out, &err), LC_EINVAL);
}

static void test_overview_choose(void)
{
    struct lc__errbuf err = {0};
    const double ovr[3] = {20, 40, 80};
    size_t lvl = 99;
    /* test_chunk_reader.py cases. */
    LC_ASSERT_EQ(lc__overview_choose(30, 10, NULL, 0, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 0); /* no overviews */
    LC_ASSERT_EQ(lc__overview_choose(5, 10, ovr, 3, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 0); /* finer than native */
    LC_ASSERT_EQ(lc__overview_choose(10, 10, ovr, 3, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 0); /* equal to native */
    LC_ASSERT_EQ(lc__overview_choose(30, 10, ovr, 3, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 1); /* 30 m over [20, 40, 80] -> 20 m */
    LC_ASSERT_EQ(lc__overview_choose(15, 10, ovr, 3, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 0); /* between native and finest overview */
    LC_ASSERT_EQ(lc__overview_choose(20, 10, ovr, 3, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 1); /* exact 20 -> 20 */
    LC_ASSERT_EQ(lc__overview_choose(200, 10, ovr, 3, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 3); /* coarsest */
    LC_ASSERT_EQ(lc__overview_choose(79.9, 10, ovr, 3, &lvl, &err), LC_OK);
    LC_ASSERT_EQ(lvl, 2);
    LC_ASSERT_EQ(lc__overview_choose(NAN, 10, ovr, 3, &lvl, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__overview_choose(30, 0, ovr, 3, &lvl, &err), LC_EINVAL);
    LC_ASSERT_EQ(lc__overview_choose(30, 10, NULL, 3, &lvl, &err), LC_EINVAL);
}

/* ---- CRS -------------------------------------------------------------- */

/* Every spelling PROJ itself writes for code, plus the ones users type. */
static void check_spellings(const char *code, const char *const *extra)
{
    PJ_CONTEXT *ctx = proj_context_create();
    PJ *pj = proj_create(ctx, code);
    LC_ASSERT_TRUE(pj != NULL);
    if (pj == NULL) {
        proj_context_destroy(ctx);
        return;
    }
    const char *const wkt_opts[] = {"MULTILINE=NO", NULL};
    char *texts[8] = {0};
    const char *t;
    size_t n = 0;
    if ((t = proj_as_wkt(ctx, pj, PJ_WKT1_GDAL, NULL)) != NULL)
        texts[n++] = strdup(t);
    if ((t = proj_as_wkt(ctx, pj, PJ_WKT1_ESRI, NULL)) != NULL)
        texts[n++] = strdup(t);
    if ((t = proj_as_wkt(ctx, pj, PJ_WKT2_2015, NULL)) != NULL)
        texts[n++] = strdup(t);
    if ((t = proj_as_wkt(ctx, pj, PJ_WKT2_2019, wkt_opts)) != NULL)
        texts[n++] = strdup(t);
    if ((t = proj_as_projjson(ctx, pj, NULL)) != NULL)
        texts[n++] = strdup(t);
    /* A PROJ string that cannot name the datum (+ellps=GRS80 for ETRS89)
     * is another CRS: PROJ itself gives it an unknown datum. */
    t = proj_as_proj_string(ctx, pj, PJ_PROJ_5, NULL);
    LC_ASSERT_TRUE(t != NULL);
    if (t != NULL && strstr(t, "+datum=") != NULL)
        texts[n++] = strdup(t);
    LC_ASSERT_TRUE(n >= 5);

    struct lc__crs *ref = crs_of(code);
    for (size_t k = 0; k < n && ref != NULL; k++) {
        struct lc__crs *other = crs_of(texts[k]);
        if (other == NULL)
            continue;
        if (!lc__crs_equal(ref, other))
            LC_CHECK_FAIL_("%s != spelling %zu:\n  %s\n  key %s\n  ref %s",
                           code, k, texts[k], lc__crs_key(other),
                           lc__crs_key(ref));
        LC_ASSERT_TRUE(lc__crs_hash(ref) == lc__crs_hash(other));
        LC_ASSERT_EQ(lc__crs_is_geographic(ref), lc__crs_is_geographic(other));
        lc__crs_free(other);
    }
    for (size_t k = 0; extra != NULL && extra[k] != NULL && ref != NULL; k++) {
        struct lc__crs *other = crs_of(extra[k]);
        if (other != NULL && !lc__crs_equal(ref, other))
            LC_CHECK_FAIL_("%s != \"%s\" (key %s)", code, extra[k],
                           lc__crs_key(other));
        lc__crs_free(other);
    }
    lc__crs_free(ref);
    for (size_t k = 0; k < n; k++)
        free(texts[k]);
    proj_destroy(pj);
    proj_context_destroy(ctx);
}

static void test_crs_spellings(void)
{
    static const char *const wgs84[] = {
        "epsg:4326",
        "EPSG:4326",
        "  EPSG:4326\n",
        "urn:ogc:def:crs:EPSG::4326",
        "OGC:CRS84",
        "+proj=longlat +datum=WGS84 +no_defs",
        "+proj=longlat +datum=WGS84 +no_defs +type=crs",
        "proj=longlat datum=WGS84",
        "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,"
        "298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\","
        "\"6326\"]],PRIMEM[\"Greenwich\",0],UNIT[\"degree\","
        "0.0174532925199433],AUTHORITY[\"EPSG\",\"4326\"]]",
        NULL};
    check_spellings("EPSG:4326", wgs84);
    static const char *const utm15[] = {
        "epsg:32615", "urn:ogc:def:crs:EPSG::32615",
        "+proj=utm +zone=15 +datum=WGS84 +units=m +no_defs",
        "+proj=utm  +zone=15  +datum=WGS84", NULL};
    check_spellings("EPSG:32615", utm15);
    check_spellings("EPSG:5070", NULL);
    check_spellings("EPSG:3031", NULL);
    check_spellings("EPSG:25832", NULL);
    check_spellings("ESRI:102003", NULL);
}

static void test_crs_properties(void)
{
    struct lc__crs *g = crs_of("EPSG:4326");
    struct lc__crs *p = crs_of("EPSG:32615");
    struct lc__crs *u = crs_of("+proj=utm +zone=15 +datum=WGS84");
    if (g == NULL || p == NULL || u == NULL)
        goto done;
    LC_ASSERT_TRUE(lc__crs_is_geographic(g));
    LC_ASSERT_TRUE(!lc__crs_is_geographic(p));
    LC_ASSERT_NEAR(lc__crs_lon_period(g), 360.0, 1e-9);
    LC_ASSERT_TRUE(lc__crs_lon_period(p) == 0.0);
    LC_ASSERT_EQ(lc__crs_epsg(g), 4326);
    LC_ASSERT_EQ(lc__crs_epsg(p), 32615);
    LC_ASSERT_EQ(lc__crs_epsg(u), 0);
    LC_ASSERT_STR_EQ(lc__crs_definition(u),
                     "+proj=utm +zone=15 +datum=WGS84 +type=crs");
    LC_ASSERT_TRUE(lc__crs_equal(p, u));
    LC_ASSERT_TRUE(!lc__crs_equal(g, p));
    LC_ASSERT_TRUE(lc__crs_equal(NULL, NULL));
    LC_ASSERT_TRUE(!lc__crs_equal(g, NULL));
done:
    lc__crs_free(g);
    lc__crs_free(p);
    lc__crs_free(u);
}

static void test_crs_inequality(void)
{
    /* Pairs that must differ: other zone, other datum, and datums that
     * share an ellipsoid (the PROJ string alone cannot tell them apart). */
    static const char *const pairs[][2] = {
        {"EPSG:32615", "EPSG:32616"}, {"EPSG:4326", "EPSG:4269"},
        {"EPSG:25832", "EPSG:32632"}, {"EPSG:6318", "EPSG:4152"},
        {"EPSG:5070", "ESRI:102003"}, {"EPSG:3031", "EPSG:3413"}};
    for (size_t k = 0; k < LC_ARRAY_SIZE(pairs); k++) {
        struct lc__crs *a = crs_of(pairs[k][0]);
        struct lc__crs *b = crs_of(pairs[k][1]);
        if (a != NULL && b != NULL && lc__crs_equal(a, b))
            LC_CHECK_FAIL_("%s == %s (key %s)", pairs[k][0], pairs[k][1],
                           lc__crs_key(a));
        lc__crs_free(a);
        lc__crs_free(b);
    }
}

static void test_crs_bad(void)
{
    static const char *const bad[] = {"",
                                      "   ",
                                      "EPSG:999999",
                                      "not a crs",
                                      "+proj=pipeline +step "
                                      "+proj=utm +zone=15",
                                      "GEOGCS[broken"};
    for (size_t k = 0; k < LC_ARRAY_SIZE(bad); k++) {
        struct lc__crs *crs = (struct lc__crs *)1;
        struct lc__errbuf err = {0};
        int st = lc__crs_new(bad[k], NULL, &crs, &err);
        if (st != LC_EINVAL)
            LC_CHECK_FAIL_("\"%s\": %s, expected LC_EINVAL", bad[k],
                           lc_err_name(st));
        LC_ASSERT_TRUE(crs == NULL);
        LC_ASSERT_TRUE(err.msg[0] != '\0');
    }
    struct lc__crs *crs = NULL;
    LC_ASSERT_EQ(lc__crs_new(NULL, NULL, &crs, NULL), LC_EINVAL);
    LC_ASSERT_EQ(lc__crs_new("EPSG:4326", NULL, NULL, NULL), LC_EINVAL);
    lc__crs_free(NULL);
}

/* ---- transforms ------------------------------------------------------- */

static struct lc__transform *tf_of(const struct lc__crs *a,
                                   const struct lc__crs *b)
{
    struct lc__transform *tf = NULL;
    struct lc__errbuf err = {0};
    int st = lc__transform_get(a, b, &tf, &err);
    if (st != LC_OK)
        LC_CHECK_FAIL_("lc__transform_get: %s: %s", lc_err_name(st), err.msg);
    return tf;
}

static void test_transform_points(void)
{
    struct lc__crs *utm = crs_of("EPSG:32615");
    struct lc__crs *wgs = crs_of("EPSG:4326");
    struct lc__crs *aea = crs_of("EPSG:5070");
    struct lc__transform *t1 = tf_of(utm, wgs);
    struct lc__transform *t2 = tf_of(utm, aea);
    struct lc__transform *t3 = tf_of(wgs, wgs);
    if (t1 == NULL || t2 == NULL || t3 == NULL)
        goto done;
    /* Always x/y: longitude first, whatever EPSG:4326's axis order. */
    double x[3] = {500000, 1e30, NAN}, y[3] = {5000000, 5e6, 5e6};
    LC_ASSERT_EQ(lc__transform_points(t1, x, y, 3), 2);
    LC_ASSERT_NEAR(x[0], -93.0, 1e-9);
    LC_ASSERT_NEAR(y[0], 45.153477183356024, 1e-9);
    LC_ASSERT_TRUE(!isfinite(x[1]) && !isfinite(y[1]));
    LC_ASSERT_TRUE(!isfinite(x[2]) && !isfinite(y[2]));
    LC_ASSERT_EQ(lc__transform_points_inverse(t1, x, y, 1), 0);
    LC_ASSERT_NEAR(x[0], 500000, 1e-6);
    LC_ASSERT_NEAR(y[0], 5000000, 1e-6);
    /* pyproj: (235651.3547039117, 2466516.0586350574); NAD83 vs WGS84 is
     * a null transformation in both PROJ versions. */
    double ax = 500000, ay = 5000000;
    LC_ASSERT_EQ(lc__transform_points(t2, &ax, &ay, 1), 0);
    LC_ASSERT_NEAR(ax, 235651.3547039117, 1e-3);
    LC_ASSERT_NEAR(ay, 2466516.0586350574, 1e-3);
    LC_ASSERT_TRUE(lc__transform_is_identity(t3));
    LC_ASSERT_TRUE(!lc__transform_is_identity(t1));
    double ix = 12.5, iy = -7.25;
    LC_ASSERT_EQ(lc__transform_points(t3, &ix, &iy, 1), 0);
    LC_ASSERT_TRUE(ix == 12.5 && iy == -7.25);

    /* The cache: the same pair twice is the same object. */
    struct lc__transform *again = tf_of(utm, wgs);
    LC_ASSERT_TRUE(again == t1);
    lc__transform_release(again);
    /* A PROJ-string spelling of the same CRS hits the same entry. */
    struct lc__crs *utm2 = crs_of("+proj=utm +zone=15 +datum=WGS84");
    struct lc__transform *t4 = utm2 != NULL ? tf_of(utm2, wgs) : NULL;
    LC_ASSERT_TRUE(t4 == t1);
    lc__transform_release(t4);
    lc__crs_free(utm2);
done:
    lc__transform_release(t1);
    lc__transform_release(t2);
    lc__transform_release(t3);
    lc__crs_free(utm);
    lc__crs_free(wgs);
    lc__crs_free(aea);
}

/* More distinct pairs than the cache holds, some held across evictions. */
static void test_transform_cache(void)
{
    struct lc__crs *wgs = crs_of("EPSG:4326");
    struct lc__crs *zones[40] = {0};
    struct lc__transform *held[3] = {0};
    for (int z = 0; z < 40; z++) {
        char def[32];
        snprintf(def, sizeof(def), "EPSG:%d", 32601 + z);
        zones[z] = crs_of(def);
        struct lc__transform *tf = tf_of(zones[z], wgs);
        if (tf == NULL)
            continue;
        double x = 500000, y = 0;
        LC_ASSERT_EQ(lc__transform_points(tf, &x, &y, 1), 0);
        LC_ASSERT_NEAR(x, -177.0 + 6.0 * z, 1e-9);
        if (z < 3)
            held[z] = tf;
        else
            lc__transform_release(tf);
    }
    /* The held ones survived the evictions. */
    for (int z = 0; z < 3; z++) {
        double x = 500000, y = 0;
        if (held[z] == NULL)
            continue;
        LC_ASSERT_EQ(lc__transform_points(held[z], &x, &y, 1), 0);
        LC_ASSERT_NEAR(x, -177.0 + 6.0 * z, 1e-9);
        lc__transform_release(held[z]);
    }
    for (int z = 0; z < 40; z++)
        lc__crs_free(zones[z]);
    lc__crs_free(wgs);
}

/* A transform from B to A made after the one from A to B reuses A -> B's
 * operation backwards (crs.c): it must give what PROJ's own search from B
 * to A gives. Pairs whose datums differ, so PROJ finds several candidate
 * operations and picks among them by area of use. */
static void test_transform_reversed(void)
{
    static const struct {
        const char *a, *b;
        double x0, y0, step; /* a grid of points in b */
    } cases[] = {
        {"EPSG:3035", "EPSG:32632", 300000, 4800000, 40000},
        {"EPSG:26915", "EPSG:32614", 300000, 4500000, 40000},
        {"EPSG:27700", "EPSG:4326", -6.0, 50.5, 0.5},
    };
    PJ_CONTEXT *ctx = proj_context_create();
    for (size_t c = 0; c < LC_ARRAY_SIZE(cases); c++) {
        struct lc__crs *a = crs_of(cases[c].a);
        struct lc__crs *b = crs_of(cases[c].b);
        struct lc__transform *ab = a && b ? tf_of(a, b) : NULL;
        struct lc__transform *ba = ab ? tf_of(b, a) : NULL;
        PJ *direct = NULL, *norm = NULL;
        if (ba == NULL)
            goto next;
        PJ *pb = proj_create(ctx, cases[c].b),
           *pa = proj_create(ctx, cases[c].a);
        direct = proj_create_crs_to_crs_from_pj(ctx, pb, pa, NULL, NULL);
        norm = direct ? proj_normalize_for_visualization(ctx, direct) : NULL;
        proj_destroy(pa);
        proj_destroy(pb);
        LC_ASSERT_TRUE(norm != NULL);
        if (norm == NULL)
            goto next;
        double worst = 0;
        for (int i = 0; i < 10; i++) {
            for (int j = 0; j < 10; j++) {
                double x = cases[c].x0 + cases[c].step * i;
                double y = cases[c].y0 + cases[c].step * j;
                PJ_COORD want =
                    proj_trans(norm, PJ_FWD, proj_coord(x, y, 0, HUGE_VAL));
                LC_ASSERT_EQ(lc__transform_points(ba, &x, &y, 1), 0);
                double d = hypot(x - want.xy.x, y - want.xy.y);
                worst = d > worst ? d : worst;
            }
        }
        if (!(worst < 1e-6))
            LC_CHECK_FAIL_("%s -> %s backwards differs from PROJ's search by "
                           "%g m",
                           cases[c].b, cases[c].a, worst);
    next:
        proj_destroy(norm);
        proj_destroy(direct);
        lc__transform_release(ba);
        lc__transform_release(ab);
        lc__crs_free(a);
        lc__crs_free(b);
    }
    proj_context_destroy(ctx);
}

static struct lc__transform *tf_in(const struct lc__crs *a,
                                   const struct lc__crs *b,
                                   const struct lc__area *area)
{
    struct lc__transform *tf = NULL;
    struct lc__errbuf err = {0};
    int st = lc__transform_get_in(a, b, area, &tf, &err);
    if (st != LC_OK)
        LC_CHECK_FAIL_("lc__transform_get_in: %s: %s", lc_err_name(st),
                       err.msg);
    return tf;
}

/* The largest distance between where tf and ref take a grid of nx x ny
 * points from (x0, y0), step apart. */
static double worst_difference(struct lc__transform *tf,
                               struct lc__transform *ref, double x0, double y0,
                               double step, int nx, int ny)
{
    double worst = 0;
    for (int i = 0; i < nx; i++) {
        for (int j = 0; j < ny; j++) {
            double x = x0 + step * i, y = y0 + step * j;
            double rx = x, ry = y;
            LC_ASSERT_EQ(lc__transform_points(tf, &x, &y, 1), 0);
            LC_ASSERT_EQ(lc__transform_points(ref, &rx, &ry, 1), 0);
            double d = hypot(x - rx, y - ry);
            worst = d > worst ? d : worst;
        }
    }
    return worst;
}

/* An area of interest limits PROJ's search (lc__transform_get_in): inside
 * the area the result is the one without it, for the pairs of the bench
 * world and Europe's (to within a nanometre or two: with an area, a CRS on
 * WGS 84 is reached through EPSG:4326 in two steps, and the degrees
 * between them are rounded); outside it another operation may be used,
 * and the area keeps its own cache entry. */
static void test_transform_area(void)
{
    static const struct {
        const char *out, *src;
        struct lc__area area;
        double x0, y0, step; /* a grid of points in out, inside area */
    } same[] = {
        /* Minnesota, EPSG:5070 -> UTM 14N-16N (NAD83 -> WGS 84). */
        {"EPSG:5070",
         "EPSG:32615",
         {-97.3, 43.4, -89.4, 49.4},
         -100000,
         2300000,
         25000},
        {"EPSG:5070",
         "EPSG:32614",
         {-97.3, 43.4, -89.4, 49.4},
         -100000,
         2300000,
         25000},
        {"EPSG:5070",
         "EPSG:32616",
         {-97.3, 43.4, -89.4, 49.4},
         -100000,
         2300000,
         25000},
        /* Central Europe, ETRS89-LAEA -> UTM 32N. */
        {"EPSG:3035",
         "EPSG:32632",
         {5.0, 45.0, 13.0, 53.0},
         4100000,
         2600000,
         25000},
    };
    for (size_t c = 0; c < LC_ARRAY_SIZE(same); c++) {
        struct lc__crs *o = crs_of(same[c].out);
        struct lc__crs *s = crs_of(same[c].src);
        struct lc__transform *plain = o && s ? tf_of(o, s) : NULL;
        struct lc__transform *in = plain ? tf_in(o, s, &same[c].area) : NULL;
        if (in != NULL) {
            LC_ASSERT_TRUE(in != plain);
            LC_ASSERT_EQ(lc__transform_nsteps(plain), 1);
            LC_ASSERT_EQ(lc__transform_nsteps(in), 2);
            double worst = worst_difference(in, plain, same[c].x0, same[c].y0,
                                            same[c].step, 16, 16);
            if (!(worst < 1e-8))
                LC_CHECK_FAIL_("%s -> %s with an area differs by %g m",
                               same[c].out, same[c].src, worst);
            /* The same area again: the same cache entry. */
            struct lc__transform *again = tf_in(o, s, &same[c].area);
            LC_ASSERT_TRUE(again == in);
            lc__transform_release(again);
        }
        lc__transform_release(in);
        lc__transform_release(plain);
        lc__crs_free(o);
        lc__crs_free(s);
    }

    /* More areas than crs.c keeps operations for (64): each still gives
     * the right coordinates, the areas evicted first too. */
    {
        struct lc__crs *o = crs_of("EPSG:5070");
        struct lc__crs *s = crs_of("EPSG:32615");
        struct lc__transform *plain = o && s ? tf_of(o, s) : NULL;
        for (int round = 0; round < 2 && plain != NULL; round++) {
            for (int k = 0; k < 70; k++) {
                const struct lc__area a = {-100.0 - 0.01 * k, 40.0, -88.0,
                                           50.0};
                struct lc__transform *tf = tf_in(o, s, &a);
                if (tf == NULL)
                    break;
                if (!(worst_difference(tf, plain, 0, 2500000, 1, 1, 1) < 1e-8))
                    LC_CHECK_FAIL_("area %d of 70 differs", k);
                lc__transform_release(tf);
            }
        }
        lc__transform_release(plain);
        lc__crs_free(o);
        lc__crs_free(s);
    }

    /* NAD27 -> WGS 84 has one operation per region: with Minnesota as the
     * area, a point in Minnesota is transformed as without it, a point in
     * Alaska by another operation (metres apart). */
    struct lc__crs *nad27 = crs_of("EPSG:4267");
    struct lc__crs *wgs = crs_of("EPSG:4326");
    const struct lc__area mn = {-97.3, 43.4, -89.4, 49.4};
    struct lc__transform *plain = nad27 && wgs ? tf_of(nad27, wgs) : NULL;
    struct lc__transform *in = plain ? tf_in(nad27, wgs, &mn) : NULL;
    if (in != NULL) {
        LC_ASSERT_TRUE(worst_difference(in, plain, -94.0, 46.0, 0.5, 4, 4) ==
                       0);
        double ax = -150.0, ay = 61.0, px = ax, py = ay;
        LC_ASSERT_EQ(lc__transform_points(in, &ax, &ay, 1), 0);
        LC_ASSERT_EQ(lc__transform_points(plain, &px, &py, 1), 0);
        LC_ASSERT_TRUE(fabs(ax - px) > 1e-5 || fabs(ay - py) > 1e-5);
    }
    lc__transform_release(in);
    lc__transform_release(plain);

    /* Areas that are not boxes in degrees. */
    static const struct lc__area bad[] = {
        {NAN, 40, 10, 50}, {0, 40, 190, 50},  {0, 50, 10, 40},
        {0, -91, 10, 50},  {-181, 0, 10, 50}, {0, 40, INFINITY, 50},
    };
    for (size_t k = 0; k < LC_ARRAY_SIZE(bad); k++) {
        struct lc__transform *tf = NULL;
        struct lc__errbuf err = {0};
        LC_ASSERT_EQ(lc__transform_get_in(nad27, wgs, &bad[k], &tf, &err),
                     LC_EINVAL);
        LC_ASSERT_TRUE(tf == NULL && err.msg[0] != '\0');
    }
    lc__crs_free(nad27);
    lc__crs_free(wgs);
}

/* Between a CRS on WGS 84 and one on another datum, with an area, the
 * transform goes through EPSG:4326 in two steps (crs.c create_transform):
 * both ways it agrees with PROJ's own search for the pair with that area.
 * Other pairs, or no area: one operation. */
static void test_transform_via_4326(void)
{
    static const struct {
        const char *a, *b;
        struct lc__area area;
        double x0, y0, step; /* a grid of points in a, inside area */
        size_t nsteps;
    } cases[] = {
        {"EPSG:5070",
         "EPSG:32615",
         {-97.3, 43.4, -89.4, 49.4},
         -100000,
         2300000,
         25000,
         2},
        {"EPSG:32615",
         "EPSG:5070",
         {-97.3, 43.4, -89.4, 49.4},
         300000,
         4850000,
         25000,
         2},
        {"EPSG:3035",
         "EPSG:32632",
         {5.0, 45.0, 13.0, 53.0},
         4100000,
         2600000,
         25000,
         2},
        /* NAD27 has one operation to WGS 84 per region. */
        {"EPSG:4267",
         "EPSG:32615",
         {-97.3, 43.4, -89.4, 49.4},
         -96.0,
         44.0,
         0.25,
         2},
        /* To EPSG:4326 itself, between two CRSs on WGS 84, on one other
         * datum: one step. */
        {"EPSG:5070",
         "EPSG:4326",
         {-97.3, 43.4, -89.4, 49.4},
         -100000,
         2300000,
         25000,
         1},
        {"EPSG:32615",
         "EPSG:32616",
         {-97.3, 43.4, -89.4, 49.4},
         300000,
         4850000,
         25000,
         1},
        {"EPSG:26915",
         "EPSG:5070",
         {-97.3, 43.4, -89.4, 49.4},
         300000,
         4850000,
         25000,
         1},
    };
    PJ_CONTEXT *ctx = proj_context_create();
    for (size_t c = 0; c < LC_ARRAY_SIZE(cases); c++) {
        struct lc__crs *a = crs_of(cases[c].a);
        struct lc__crs *b = crs_of(cases[c].b);
        struct lc__transform *tf = a && b ? tf_in(a, b, &cases[c].area) : NULL;
        struct lc__transform *plain = tf ? tf_of(a, b) : NULL;
        PJ *pa = proj_create(ctx, cases[c].a),
           *pb = proj_create(ctx, cases[c].b);
        PJ_AREA *area = proj_area_create();
        proj_area_set_bbox(area, cases[c].area.west, cases[c].area.south,
                           cases[c].area.east, cases[c].area.north);
        PJ *direct = proj_create_crs_to_crs_from_pj(ctx, pa, pb, area, NULL);
        PJ *norm =
            direct ? proj_normalize_for_visualization(ctx, direct) : NULL;
        LC_ASSERT_TRUE(norm != NULL);
        if (tf != NULL && plain != NULL && norm != NULL) {
            LC_ASSERT_EQ(lc__transform_nsteps(tf), cases[c].nsteps);
            /* Found once made, in both directions, its steps too; over an
             * area no transform has used, not. */
            LC_ASSERT_TRUE(lc__transform_found(a, b, &cases[c].area));
            LC_ASSERT_TRUE(lc__transform_found(b, a, &cases[c].area));
            struct lc__area unused = cases[c].area;
            unused.west += 0.001 * (double)(c + 1);
            LC_ASSERT_TRUE(!lc__transform_found(a, b, &unused));
            LC_ASSERT_EQ(lc__transform_nsteps(plain), 1);
            double worst = 0, worst_back = 0;
            for (int i = 0; i < 12; i++) {
                for (int j = 0; j < 12; j++) {
                    double x = cases[c].x0 + cases[c].step * i;
                    double y = cases[c].y0 + cases[c].step * j;
                    PJ_COORD want =
                        proj_trans(norm, PJ_FWD, proj_coord(x, y, 0, HUGE_VAL));
                    double tx = x, ty = y;
                    LC_ASSERT_EQ(lc__transform_points(tf, &tx, &ty, 1), 0);
                    worst = fmax(worst, hypot(tx - want.xy.x, ty - want.xy.y));
                    /* And back, from PROJ's point. */
                    double bx = want.xy.x, by = want.xy.y;
                    LC_ASSERT_EQ(lc__transform_points_inverse(tf, &bx, &by, 1),
                                 0);
                    PJ_COORD back = proj_trans(
                        norm, PJ_INV,
                        proj_coord(want.xy.x, want.xy.y, 0, HUGE_VAL));
                    worst_back =
                        fmax(worst_back, hypot(bx - back.xy.x, by - back.xy.y));
                }
            }
            /* A point that fails in the first step stays failed. */
            double fx[2] = {NAN, 1e30}, fy[2] = {0.0, 1e30};
            LC_ASSERT_EQ(lc__transform_points(tf, fx, fy, 2), 2);
            LC_ASSERT_TRUE(!isfinite(fx[0]) && !isfinite(fx[1]));
            /* Metres, or degrees for NAD27's side (1e-8 m is 1e-13 deg). */
            double tol = lc__crs_is_geographic(a) ? 1e-13 : 1e-8;
            if (!(worst < 1e-8) || !(worst_back < tol))
                LC_CHECK_FAIL_("%s -> %s in %zu steps differs from PROJ's "
                               "search by %g forward, %g back",
                               cases[c].a, cases[c].b, cases[c].nsteps, worst,
                               worst_back);
        }
        proj_destroy(norm);
        proj_destroy(direct);
        proj_area_destroy(area);
        proj_destroy(pa);
        proj_destroy(pb);
        lc__transform_release(plain);
        lc__transform_release(tf);
        lc__crs_free(a);
        lc__crs_free(b);
    }
    proj_context_destroy(ctx);
}

struct bounds_case {
    const char *src;
    const char *dst;
    double in[4];
    double want[4]; /* pyproj 3.7 (PROJ 9.5) Transformer.transform_bounds */
    double tol;
};

static void test_transform_bounds(void)
{
    static const struct bounds_case cases[] = {
        /* The quickstart AOI (behaviour reference 1.3). */
        {"EPSG:4326",
         "EPSG:32605",
         {-152.02, 60.90, -149.22, 61.66},
         {551899.4444413031, 6752046.306497931, 705008.4298573313,
          6842117.611648763},
         1e-4},
        /* A whole UTM zone (HLS notebook). */
        {"EPSG:4326",
         "EPSG:32615",
         {-96, 0, -90, 84},
         {166021.44308053772, 0.0, 833978.5569194595, 9329005.182447437},
         1e-4},
        /* A tile near the antimeridian to 4326: minx > maxx. */
        {"EPSG:32660",
         "EPSG:4326",
         {600000, 5000000, 900000, 5300000},
         {178.2720329603102, 45.04040546099443, -177.66487191863828,
          47.845561252465465},
         1e-9},
        /* A polar box holding the south pole. */
        {"EPSG:3031",
         "EPSG:4326",
         {-1000000, -1000000, 1000000, 1000000},
         {-180.0, -90.0, 180.0, -77.03740063459344},
         1e-9},
        /* A polar box beside the pole. */
        {"EPSG:3031",
         "EPSG:4326",
         {-3000000, 1000000, -1000000, 3000000},
         {-71.56505117707799, -77.03740063459344, -18.43494882292201,
          -52.317100799230055},
         1e-9},
        /* The north pole in EPSG:3413. */
        {"EPSG:3413",
         "EPSG:4326",
         {-500000, -500000, 500000, 500000},
         {-180.0, 83.47926098750534, 180.0, 90.0},
         1e-9},
        /* A cap around the south pole into polar stereographic. */
        {"EPSG:4326",
         "EPSG:3031",
         {-180, -90, 180, -60},
         {-3299207.5292114005, -3333134.027630276, 3299207.5292114005,
          3333134.027630276},
         1e-3},
        /* A geographic box across the antimeridian (minx > maxx). */
        {"EPSG:4326",
         "EPSG:3832",
         {170, -10, -170, 10},
         {2226389.8158654715, -1111475.1028522244, 4452779.631730937,
          1111475.1028522244},
         1e-3},
        {"EPSG:4326",
         "EPSG:32660",
         {170, 40, -170, 50},
         {-97776.66696603945, 4427792.833248025, 1611288.854779238,
          5620112.89047953},
         1e-3},
        {"EPSG:32615",
         "EPSG:4326",
         {399960, 4990200, 509760, 5100000},
         {-94.29304891527029, 45.05819166977219, -92.87383276277654,
          46.0535743338091},
         1e-9},
    };
    for (size_t k = 0; k < LC_ARRAY_SIZE(cases); k++) {
        const struct bounds_case *bc = &cases[k];
        struct lc__crs *a = crs_of(bc->src);
        struct lc__crs *b = crs_of(bc->dst);
        struct lc__transform *tf = a && b ? tf_of(a, b) : NULL;
        double out[4] = {0};
        struct lc__errbuf err = {0};
        if (tf != NULL) {
            int st = lc__transform_bounds(tf, bc->in, 0, out, &err);
            LC_ASSERT_EQ(st, LC_OK);
            for (int q = 0; q < 4; q++) {
                if (!(fabs(out[q] - bc->want[q]) <= bc->tol))
                    LC_CHECK_FAIL_("bounds %s -> %s [%d]: %.17g != %.17g",
                                   bc->src, bc->dst, q, out[q], bc->want[q]);
            }
        }
        lc__transform_release(tf);
        lc__crs_free(a);
        lc__crs_free(b);
    }

    /* Bad boxes. */
    struct lc__crs *a = crs_of("EPSG:32615");
    struct lc__crs *b = crs_of("EPSG:4326");
    struct lc__transform *tf = a && b ? tf_of(a, b) : NULL;
    if (tf != NULL) {
        struct lc__errbuf err = {0};
        double out[4];
        const double rev[4] = {500000, 0, 400000, 10};
        LC_ASSERT_EQ(lc__transform_bounds(tf, rev, 21, out, &err), LC_EINVAL);
        const double nan[4] = {NAN, 0, 1, 1};
        LC_ASSERT_EQ(lc__transform_bounds(tf, nan, 21, out, &err), LC_EINVAL);
        const double far[4] = {1e30, 1e30, 2e30, 2e30};
        LC_ASSERT_EQ(lc__transform_bounds(tf, far, 21, out, &err),
                     LC_EUNSUPPORTED);
    }
    lc__transform_release(tf);
    lc__crs_free(a);
    lc__crs_free(b);
}

/* The box inside the EPSG:4326 bounds lies inside them and the box around
 * them holds them; both come from the bounds in the CRS's own datum (found
 * without a datum transformation), which lie within the datum's margin of
 * the EPSG:4326 ones: LC_DATUM_SHIFT_NEAR_DEG for WGS 84 and NAD83,
 * LC_DATUM_SHIFT_MARGIN_DEG for the others here. */
static void test_bounds_inside_4326(void)
{
    static const struct {
        const char *crs;
        double in[4];
        double min_shift; /* degrees the two boxes differ by, at least */
        double margin;    /* the datum's */
    } cases[] = {
        /* NAD83 -> WGS 84 is a null transformation, and UTM/Web Mercator
         * are on WGS 84 already: the boxes agree. */
        {"EPSG:5070",
         {-700000, 2220000, 600000, 2930000},
         0.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:32615",
         {400000, 4900000, 600000, 5100000},
         0.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:3857", {-1e6, 4e6, 1e6, 6e6}, 0.0, LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:4326", {-100, 40, -90, 50}, 0.0, LC_DATUM_SHIFT_NEAR_DEG},
        /* ETRS89 -> WGS 84: a null transformation too. */
        {"EPSG:3035",
         {4000000, 2800000, 4400000, 3200000},
         0.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        /* The other datums crs.c gives LC_DATUM_SHIFT_NEAR_DEG (min_shift
         * -1: PROJ's operation may shift them, within the margin):
         * NAD83(2011), (CSRS), (HARN), (NSRS2007), GDA94, GDA2020,
         * NZGD2000, JGD2000, JGD2011, SIRGAS 2000, CGCS2000. */
        {"EPSG:6350",
         {-700000, 2220000, 600000, 2930000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:2152",
         {400000, 5500000, 600000, 5700000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:2805",
         {200000, 850000, 300000, 950000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:3488",
         {0, -300000, 200000, -100000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:3577",
         {-1000000, -4000000, 1000000, -2000000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:9473",
         {-1000000, -4000000, 1000000, -2000000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:2193",
         {1700000, 5400000, 1900000, 5600000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:2451",
         {-50000, -50000, 50000, 50000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:6677",
         {-50000, -50000, 50000, 50000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:31983",
         {600000, 7400000, 700000, 7500000},
         -1.0,
         LC_DATUM_SHIFT_NEAR_DEG},
        {"EPSG:4490", {110, 30, 115, 35}, -1.0, LC_DATUM_SHIFT_NEAR_DEG},
        /* OSGB36, CH1903+ and Tokyo are tens to hundreds of metres off. */
        {"EPSG:27700",
         {300000, 200000, 500000, 400000},
         1e-4,
         LC_DATUM_SHIFT_MARGIN_DEG},
        {"EPSG:2056",
         {2580000, 1180000, 2620000, 1220000},
         1e-5,
         LC_DATUM_SHIFT_MARGIN_DEG},
        {"EPSG:30169",
         {-20000, -20000, 20000, 20000},
         1e-3,
         LC_DATUM_SHIFT_MARGIN_DEG},
    };
    struct lc__crs *wgs84 = crs_of("EPSG:4326");
    for (size_t k = 0; k < LC_ARRAY_SIZE(cases); k++) {
        struct lc__crs *crs = crs_of(cases[k].crs);
        struct lc__transform *tf = crs && wgs84 ? tf_of(crs, wgs84) : NULL;
        double exact[4] = {0}, in[4] = {0}, around[4] = {0};
        struct lc__errbuf err = {0};
        if (tf != NULL) {
            LC_ASSERT_EQ(lc__transform_bounds(tf, cases[k].in, 0, exact, &err),
                         LC_OK);
            LC_ASSERT_EQ(lc__crs_bounds_inside_4326(crs, cases[k].in, in, &err),
                         LC_OK);
            if (!(in[0] > exact[0] && in[1] > exact[1] && in[2] < exact[2] &&
                  in[3] < exact[3]))
                LC_CHECK_FAIL_("%s: the box is not inside the 4326 box",
                               cases[k].crs);
            LC_ASSERT_EQ(
                lc__crs_bounds_around_4326(crs, cases[k].in, around, &err),
                LC_OK);
            if (!(around[0] < exact[0] && around[1] < exact[1] &&
                  around[2] > exact[2] && around[3] > exact[3]))
                LC_CHECK_FAIL_("%s: the box around does not hold the 4326 box",
                               cases[k].crs);
            /* The own-datum box, grown back by the margin. */
            double m = cases[k].margin;
            double own[4] = {0, in[1] - m, 0, in[3] + m};
            double mlon = m / cos(fmax(fabs(own[1]), fabs(own[3])) *
                                  (3.14159265358979323846 / 180.0));
            own[0] = in[0] - mlon;
            own[2] = in[2] + mlon;
            /* The box around is that box grown by the margin. */
            const double grown[4] = {own[0] - mlon, own[1] - m, own[2] + mlon,
                                     own[3] + m};
            for (int q = 0; q < 4; q++)
                if (!(fabs(around[q] - grown[q]) < 1e-9))
                    LC_CHECK_FAIL_("%s: the box around is not the own-datum "
                                   "box grown by the margin",
                                   cases[k].crs);
            double shift = 0.0;
            for (int q = 0; q < 4; q++) {
                double d = fabs(own[q] - exact[q]);
                shift = d > shift ? d : shift;
            }
            if (!(shift <= m) || !(shift >= cases[k].min_shift) ||
                (cases[k].min_shift == 0.0 && !(shift < 1e-9)))
                LC_CHECK_FAIL_("%s: own datum box %.17g off", cases[k].crs,
                               shift);
            /* The area of interest holds the 4326 box with room to spare. */
            struct lc__area area = {0};
            LC_ASSERT_EQ(lc__crs_area_around(crs, cases[k].in, &area, &err),
                         LC_OK);
            double room = LC_AREA_MARGIN_DEG - m;
            if (!(area.west <= exact[0] - room &&
                  area.south <= exact[1] - room &&
                  area.east >= exact[2] + room &&
                  area.north >= exact[3] + room))
                LC_CHECK_FAIL_("%s: the area does not hold the 4326 box",
                               cases[k].crs);
        }
        lc__transform_release(tf);
        lc__crs_free(crs);
    }
    lc__crs_free(wgs84);

    /* No box where degrees of the own datum are no bound (a Paris prime
     * meridian in grads, the antimeridian, a pole, a geocentric CRS), or
     * where the margin leaves nothing (100 m wide, NAD83's margin being
     * LC_DATUM_SHIFT_NEAR_DEG). */
    static const struct {
        const char *crs;
        double in[4];
    } refused[] = {
        {"EPSG:27572", {500000, 1800000, 700000, 2000000}},
        {"EPSG:4326", {170, -10, -170, 10}},
        {"EPSG:3413", {-500000, -500000, 500000, 500000}},
        {"EPSG:4978", {0, 0, 1, 1}},
        {"EPSG:5070", {0, 2500000, 100, 2500100}},
    };
    /* A box that reaches within the margin of the antimeridian has a box
     * inside it but none around it. */
    {
        struct lc__crs *crs = crs_of("EPSG:4326");
        const double near_180[4] = {170, -10, 179.9995, 10};
        double out[4];
        struct lc__errbuf err = {0};
        if (crs != NULL) {
            LC_ASSERT_EQ(lc__crs_bounds_inside_4326(crs, near_180, out, &err),
                         LC_OK);
            LC_ASSERT_EQ(lc__crs_bounds_around_4326(crs, near_180, out, &err),
                         LC_EUNSUPPORTED);
        }
        lc__crs_free(crs);
    }
    for (size_t k = 0; k < LC_ARRAY_SIZE(refused); k++) {
        struct lc__crs *crs = crs_of(refused[k].crs);
        double out[4];
        struct lc__errbuf err = {0};
        if (crs != NULL && lc__crs_bounds_inside_4326(crs, refused[k].in, out,
                                                      &err) != LC_EUNSUPPORTED)
            LC_CHECK_FAIL_("%s: a box inside 4326", refused[k].crs);
        /* The 100 m wide box has an area and a box around it; the
         * others none. */
        struct lc__area area;
        int want = k + 1 < LC_ARRAY_SIZE(refused) ? LC_EUNSUPPORTED : LC_OK;
        if (crs != NULL) {
            LC_ASSERT_EQ(lc__crs_area_around(crs, refused[k].in, &area, &err),
                         want);
            LC_ASSERT_EQ(
                lc__crs_bounds_around_4326(crs, refused[k].in, out, &err),
                want);
        }
        lc__crs_free(crs);
    }
}

/* ---- threads ---------------------------------------------------------- */

struct thread_arg {
    const struct lc__crs *src;
    const struct lc__crs *dst;
    int explicit_cleanup;
    int failures;
    /* The points of the first round from UTM to Albers (either direction
     * of the pair). */
    double ax[64], ay[64];
};

static void *thread_main(void *p)
{
    struct thread_arg *t = p;
    for (int round = 0; round < 20; round++) {
        struct lc__transform *tf = NULL;
        if (lc__transform_get(t->src, t->dst, &tf, NULL) != LC_OK) {
            t->failures++;
            break;
        }
        double x[64], y[64];
        for (int k = 0; k < 64; k++) {
            x[k] = 400000 + 1000.0 * k;
            y[k] = 5000000 + 500.0 * k;
        }
        if (round == 0) {
            memcpy(t->ax, x, sizeof x);
            memcpy(t->ay, y, sizeof y);
            if (lc__crs_epsg(t->src) == 32616)
                lc__transform_points(tf, t->ax, t->ay, 64);
            else
                lc__transform_points_inverse(tf, t->ax, t->ay, 64);
        }
        lc__transform_points(tf, x, y, 64);
        lc__transform_points_inverse(tf, x, y, 64);
        for (int k = 0; k < 64; k++) {
            if (!(fabs(x[k] - (400000 + 1000.0 * k)) < 1e-5) ||
                !(fabs(y[k] - (5000000 + 500.0 * k)) < 1e-5))
                t->failures++;
        }
        lc__transform_release(tf);
    }
    if (t->explicit_cleanup)
        lc__geo_thread_cleanup();
    return NULL;
}

static void test_threads(void)
{
    /* A pair no earlier test asked for: the threads race for its search. */
    struct lc__crs *utm = crs_of("EPSG:32616");
    struct lc__crs *aea = crs_of("EPSG:5070");
    if (utm == NULL || aea == NULL)
        goto done;
    pthread_t th[4];
    struct thread_arg args[4];
    for (int k = 0; k < 4; k++) {
        /* Half of them ask for the reverse pair, all at once: one search
         * serves both directions. */
        args[k] = (struct thread_arg){.src = k < 2 ? utm : aea,
                                      .dst = k < 2 ? aea : utm,
                                      .explicit_cleanup = k % 2};
        LC_ASSERT_EQ(pthread_create(&th[k], NULL, thread_main, &args[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        LC_ASSERT_EQ(args[k].failures, 0);
    }
    /* One thread searched, the others made copies of what it found: the
     * same operation, to the bit. */
    for (int k = 1; k < 4; k++) {
        LC_ASSERT_MEM_EQ(args[k].ax, args[0].ax, sizeof args[0].ax);
        LC_ASSERT_MEM_EQ(args[k].ay, args[0].ay, sizeof args[0].ay);
    }
done:
    lc__crs_free(utm);
    lc__crs_free(aea);
}

/* ---- the approximate transformer -------------------------------------- */

/*
 * Builds approximate and exact maps of a destination block and compares
 * them at every pixel: the approximation must be within max_error source
 * pixels of PROJ everywhere, and fail (NaN) exactly where PROJ fails.
 */
static void check_bound(const char *what, const char *dst_def,
                        const char *src_def, const double dst_gt[6], uint32_t w,
                        uint32_t h, const double src_gt[6], bool smooth)
{
    struct lc__crs *dc = crs_of(dst_def);
    struct lc__crs *sc = crs_of(src_def);
    struct lc__transform *tf = dc && sc ? tf_of(dc, sc) : NULL;
    struct lc__srcmap *am = NULL, *em = NULL;
    double *ax = NULL;
    if (tf == NULL)
        goto done;
    struct lc__grid g;
    memcpy(g.gt, dst_gt, sizeof(g.gt));
    g.width = w;
    g.height = h;
    struct lc__errbuf err = {0};
    const struct lc__approx_options exact = {.exact = true};
    LC_ASSERT_EQ(lc__srcmap_new(tf, &g, src_gt, 0, 0, NULL, NULL, &am, &err),
                 LC_OK);
    LC_ASSERT_EQ(lc__srcmap_new(tf, &g, src_gt, 0, 0, &exact, NULL, &em, &err),
                 LC_OK);
    if (am == NULL || em == NULL)
        goto done;
    ax = malloc(4 * (size_t)w * sizeof(double));
    double *ay = ax + w, *ex = ay + w, *ey = ex + w;
    double max_err = 0.0;
    size_t nan_mismatch = 0, nvalid = 0, nover = 0;
    for (uint32_t j = 0; j < h; j++) {
        lc__srcmap_row(am, j, ax, ay);
        lc__srcmap_row(em, j, ex, ey);
        for (uint32_t i = 0; i < w; i++) {
            bool af = isfinite(ax[i]) && isfinite(ay[i]);
            bool ef = isfinite(ex[i]) && isfinite(ey[i]);
            if (af != ef) {
                nan_mismatch++;
                continue;
            }
            if (!af)
                continue;
            nvalid++;
            double e = hypot(ax[i] - ex[i], ay[i] - ey[i]);
            if (e > LC_APPROX_MAX_ERROR)
                nover++;
            max_err = e > max_err ? e : max_err;
        }
    }
    struct lc__srcmap_stats as, es;
    lc__srcmap_get_stats(am, &as);
    lc__srcmap_get_stats(em, &es);
    printf("%-34s %ux%u: max error %.2e px over %zu pixels, %zu PROJ points "
           "(exact %zu), %zu cells, kind %d\n",
           what, w, h, max_err, nvalid, as.ntransformed, es.ntransformed,
           as.ncells, as.kind);
    if (nover != 0 || !(max_err <= LC_APPROX_MAX_ERROR))
        LC_CHECK_FAIL_("%s: %zu pixels over the bound, max error %g", what,
                       nover, max_err);
    if (nan_mismatch != 0)
        LC_CHECK_FAIL_("%s: %zu pixels finite in one map only", what,
                       nan_mismatch);
    LC_ASSERT_TRUE(nvalid > 0);
    /* Where the mapping is smooth the approximation is worth having: far
     * fewer PROJ calls. (Around the pole, a 0.01 degree source grid turns
     * a kilometre of destination into degrees of longitude: refinement
     * goes down to single pixels there.) */
    if (smooth)
        LC_ASSERT_TRUE(as.ntransformed * 8 < es.ntransformed);
done:
    free(ax);
    lc__srcmap_free(am);
    lc__srcmap_free(em);
    lc__transform_release(tf);
    lc__crs_free(dc);
    lc__crs_free(sc);
}

static void test_approx_bound(void)
{
    /* Source grids: a Sentinel-2 tile of 15TVL at 10 m; the globe at
     * 0.01 and 0.001 degrees; a UTM zone 1 tile. */
    const double s2[6] = {399960, 10, 0, 5100000, 0, -10};
    const double globe[6] = {-180, 0.01, 0, 90, 0, -0.01};
    const double globe_fine[6] = {-180, 0.001, 0, 90, 0, -0.001};
    const double utm1[6] = {699960, 10, 0, 5200020, 0, -10};

    /* UTM -> EPSG:5070 at 10 m and at 100 m (a 102 km block). */
    const double aea10[6] = {230000, 10, 0, 2470000, 0, -10};
    check_bound("UTM 15N -> EPSG:5070, 10 m", "EPSG:5070", "EPSG:32615", aea10,
                1024, 1024, s2, true);
    const double aea30[6] = {200000, 30, 0, 2500000, 0, -30};
    check_bound("UTM 15N -> EPSG:5070, 30 m", "EPSG:5070", "EPSG:32615", aea30,
                2048, 2048, s2, true);
    const double aea100[6] = {180000, 100, 0, 2520000, 0, -100};
    check_bound("UTM 15N -> EPSG:5070, 100 m", "EPSG:5070", "EPSG:32615",
                aea100, 1024, 1024, s2, true);
    /* UTM -> EPSG:4326 at ~10 m. */
    const double geo[6] = {-93.05, 0.0001, 0, 45.2, 0, -0.0001};
    check_bound("UTM 15N -> EPSG:4326", "EPSG:4326", "EPSG:32615", geo, 1024,
                1024, s2, true);
    /* EPSG:4326 -> EPSG:3031: a block holding the pole, one beside it. */
    const double pole[6] = {-512000, 1000, 0, 512000, 0, -1000};
    check_bound("EPSG:4326 -> EPSG:3031, pole", "EPSG:3031", "EPSG:4326", pole,
                1024, 1024, globe, false);
    const double off[6] = {1000000, 500, 0, 1500000, 0, -500};
    check_bound("EPSG:4326 -> EPSG:3031, off pole", "EPSG:3031", "EPSG:4326",
                off, 1024, 1024, globe, true);
    /* Across the antimeridian: a UTM 60N block whose source positions jump
     * from the east end of a global grid to its west end, and a 4326
     * block running past 180 degrees over a UTM 1N tile. */
    const double z60[6] = {700000, 100, 0, 5050000, 0, -100};
    check_bound("EPSG:4326 -> UTM 60N, antimeridian", "EPSG:32660", "EPSG:4326",
                z60, 1024, 1024, globe_fine, true);
    /* Thin and odd shapes: cells all nodes along one axis, partial
     * first-level cells. */
    static const uint32_t shapes[][2] = {{3, 1000}, {1000, 3}, {2, 2},
                                         {1, 700},  {131, 67}, {129, 258},
                                         {4, 515}};
    for (size_t k = 0; k < LC_ARRAY_SIZE(shapes); k++) {
        char what[64];
        snprintf(what, sizeof(what), "UTM 15N -> EPSG:4326 %ux%u", shapes[k][0],
                 shapes[k][1]);
        check_bound(what, "EPSG:4326", "EPSG:32615", geo, shapes[k][0],
                    shapes[k][1], s2, false);
    }
    const double past180[6] = {179.9, 0.0001, 0, 46.95, 0, -0.0001};
    check_bound("UTM 1N -> EPSG:4326 past 180", "EPSG:4326", "EPSG:32601",
                past180, 1024, 1024, utm1, true);
}

static void test_srcmap_misc(void)
{
    struct lc__crs *utm = crs_of("EPSG:32615");
    struct lc__crs *aea = crs_of("EPSG:5070");
    struct lc__transform *id = utm ? tf_of(utm, utm) : NULL;
    struct lc__transform *tf = utm && aea ? tf_of(aea, utm) : NULL;
    struct lc__srcmap *m = NULL;
    struct lc__errbuf err = {0};
    if (id == NULL || tf == NULL)
        goto done;
    /* Same CRS, 20 m over 10 m: centres land on source pixel edges. */
    const double src[6] = {500000, 10, 0, 5600000, 0, -10};
    struct lc__grid g = {{500000, 20, 0, 5600000, 0, -20}, 4, 3};
    LC_ASSERT_EQ(lc__srcmap_new(id, &g, src, 0, 0, NULL, NULL, &m, &err),
                 LC_OK);
    double sx[8], sy[8];
    lc__srcmap_row(m, 1, sx, sy);
    LC_ASSERT_NEAR(sx[0], 1.0, 1e-12);
    LC_ASSERT_NEAR(sx[3], 7.0, 1e-12);
    LC_ASSERT_NEAR(sy[0], 3.0, 1e-12);
    int64_t co, ro;
    LC_ASSERT_TRUE(!lc__srcmap_aligned(m, &co, &ro));
    double fx, fy;
    lc__srcmap_scale(m, &fx, &fy);
    LC_ASSERT_NEAR(fx, 2.0, 1e-12);
    LC_ASSERT_NEAR(fy, 2.0, 1e-12);
    lc__srcmap_free(m);
    m = NULL;

    /* Aligned: same pixel size, whole-pixel offset, window offsets. */
    struct lc__grid g2 = {{500030, 10, 0, 5599950, 0, -10}, 5, 5};
    LC_ASSERT_EQ(lc__srcmap_new(id, &g2, src, 1, 2, NULL, NULL, &m, &err),
                 LC_OK);
    LC_ASSERT_TRUE(lc__srcmap_aligned(m, &co, &ro));
    LC_ASSERT_EQ(co, 2);
    LC_ASSERT_EQ(ro, 3);
    lc__srcmap_row(m, 0, sx, sy);
    LC_ASSERT_NEAR(sx[0], 2.5, 1e-9);
    LC_ASSERT_NEAR(sy[0], 3.5, 1e-9);
    lc__srcmap_free(m);
    m = NULL;

    /* Target resolution (reference 2.11): identity -> |pixel width|. */
    double res = 0;
    LC_ASSERT_EQ(lc__target_resolution(id, &g, &res, &err), LC_OK);
    LC_ASSERT_TRUE(res == 20.0);
    struct lc__grid ga = {{230000, 60, 0, 2470000, 0, -60}, 64, 64};
    LC_ASSERT_EQ(lc__target_resolution(tf, &ga, &res, &err), LC_OK);
    LC_ASSERT_TRUE(res > 55.0 && res < 65.0);

    /* Bad arguments. */
    const double sing[6] = {0, 0, 0, 0, 0, 0};
    LC_ASSERT_EQ(lc__srcmap_new(tf, &g, sing, 0, 0, NULL, NULL, &m, &err),
                 LC_EINVAL);
    const struct lc__approx_options bad = {.max_error = -1.0};
    LC_ASSERT_EQ(lc__srcmap_new(tf, &g, src, 0, 0, &bad, NULL, &m, &err),
                 LC_EINVAL);
    struct lc__grid empty = {{0, 1, 0, 0, 0, -1}, 0, 3};
    LC_ASSERT_EQ(lc__srcmap_new(tf, &empty, src, 0, 0, NULL, NULL, &m, &err),
                 LC_EINVAL);
    LC_ASSERT_TRUE(m == NULL);

    /* A one-pixel block and a one-row block. */
    struct lc__grid one = {{230000, 10, 0, 2470000, 0, -10}, 1, 1};
    const double s2[6] = {399960, 10, 0, 5100000, 0, -10};
    LC_ASSERT_EQ(lc__srcmap_new(tf, &one, s2, 0, 0, NULL, NULL, &m, &err),
                 LC_OK);
    lc__srcmap_row(m, 0, sx, sy);
    LC_ASSERT_TRUE(isfinite(sx[0]) && isfinite(sy[0]));
    lc__srcmap_free(m);
    m = NULL;
    struct lc__grid row = {{230000, 10, 0, 2470000, 0, -10}, 300, 1};
    double rx[300], ry[300];
    LC_ASSERT_EQ(lc__srcmap_new(tf, &row, s2, 0, 0, NULL, NULL, &m, &err),
                 LC_OK);
    lc__srcmap_row(m, 0, rx, ry);
    for (int i = 1; i < 300; i++)
        LC_ASSERT_TRUE(rx[i] > rx[i - 1]);
done:
    lc__srcmap_free(m);
    lc__transform_release(id);
    lc__transform_release(tf);
    lc__crs_free(utm);
    lc__crs_free(aea);
}

/* ---- window independence (anchored maps) -------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
    /* xorshift64* */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_below(uint64_t *state, uint32_t n)
{
    return (uint32_t)(rng_next(state) % n);
}

/* Same bits, or both NaN. */
static bool same_pos(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/*
 * Builds the map of a whole W x H grid and of random windows of it, all
 * anchored on the grid (whose pixel (0, 0) is pixel (shift, shift) of the
 * anchor geotransform), some with a source window offset: every pixel of
 * every window must have the whole map's bits (once the offset is added
 * back, which is exact for positions inside the source window).
 */
static void check_anchored(const char *what, struct lc__transform *tf,
                           const double anchor_gt[6], int64_t shift, uint32_t W,
                           uint32_t H, const double src_gt[6],
                           const struct lc__approx_options *base, uint64_t seed)
{
    struct lc__errbuf err = {0};
    struct lc__grid anchor = {{0}, W, H};
    memcpy(anchor.gt, anchor_gt, sizeof anchor.gt);
    struct lc__grid full;
    struct lc__srcmap *fm = NULL, *wm = NULL;
    double *fx = malloc(2 * (size_t)W * H * sizeof(double));
    double *wx = malloc(2 * (size_t)W * sizeof(double));
    if (fx == NULL || wx == NULL) {
        LC_CHECK_FAIL_("%s: out of memory", what);
        goto done;
    }
    double *fy = fx + (size_t)W * H, *wy = wx + W;
    /* The grid is the anchor's window at (shift, shift): with shift < 0
     * the anchor's origin lies inside the grid's lattice cells. */
    anchor.gt[0] = anchor_gt[0] - (double)shift * anchor_gt[1];
    anchor.gt[3] = anchor_gt[3] - (double)shift * anchor_gt[5];
    full = anchor;
    full.gt[0] = anchor_gt[0];
    full.gt[3] = anchor_gt[3];
    struct lc__approx_options o = *base;
    o.anchor_gt = anchor.gt;
    o.anchor_col = shift;
    o.anchor_row = shift;
    LC_ASSERT_EQ(lc__srcmap_new(tf, &full, src_gt, 0, 0, &o, NULL, &fm, &err),
                 LC_OK);
    if (fm == NULL)
        goto done;
    for (uint32_t j = 0; j < H; j++)
        lc__srcmap_row(fm, j, fx + (size_t)j * W, fy + (size_t)j * W);
    double fsx, fsy;
    lc__srcmap_scale(fm, &fsx, &fsy);

    uint64_t st = seed;
    size_t nchecked = 0, nbad = 0, nwin = 0;
    for (int k = 0; k < 60; k++) {
        uint32_t x0, y0, w, h;
        if (k % 4 == 0) { /* single pixels */
            x0 = rng_below(&st, W);
            y0 = rng_below(&st, H);
            w = h = 1;
        } else if (k % 4 == 1) { /* small */
            x0 = rng_below(&st, W);
            y0 = rng_below(&st, H);
            w = 1 + rng_below(&st, W - x0 < 40 ? W - x0 : 40);
            h = 1 + rng_below(&st, H - y0 < 40 ? H - y0 : 40);
        } else {
            x0 = rng_below(&st, W);
            y0 = rng_below(&st, H);
            w = 1 + rng_below(&st, W - x0);
            h = 1 + rng_below(&st, H - y0);
        }
        struct lc__grid win;
        LC_ASSERT_EQ(lc__grid_window(&full, x0, y0, w, h, &win, &err), LC_OK);
        /* Half the windows with the source window offset a read would
         * use: the floor of the smallest position inside it. */
        double mx = INFINITY, my = INFINITY;
        for (uint32_t j = y0; j < y0 + h; j++) {
            for (uint32_t i = x0; i < x0 + w; i++) {
                mx = fmin(mx, fx[(size_t)j * W + i]);
                my = fmin(my, fy[(size_t)j * W + i]);
            }
        }
        int64_t cn = 0, rn = 0;
        if (k % 2 == 1 && isfinite(mx) && isfinite(my)) {
            cn = mx > 1.0 ? (int64_t)floor(mx) - 1 : 0;
            rn = my > 1.0 ? (int64_t)floor(my) - 1 : 0;
        }
        o.anchor_col = shift + x0;
        o.anchor_row = shift + y0;
        LC_ASSERT_EQ(
            lc__srcmap_new(tf, &win, src_gt, cn, rn, &o, NULL, &wm, &err),
            LC_OK);
        if (wm == NULL)
            break;
        nwin++;
        for (uint32_t j = 0; j < h; j++) {
            lc__srcmap_row(wm, j, wx, wy);
            for (uint32_t i = 0; i < w; i++) {
                size_t f = (size_t)(y0 + j) * W + x0 + i;
                nchecked++;
                if (!same_pos(wx[i] + (double)cn, fx[f]) ||
                    !same_pos(wy[i] + (double)rn, fy[f])) {
                    if (nbad++ < 3)
                        LC_CHECK_FAIL_(
                            "%s: window %ux%u at (%u, %u), pixel (%u, %u): "
                            "(%.17g, %.17g) + (%" PRId64 ", %" PRId64
                            ") != (%.17g, %.17g)",
                            what, w, h, x0, y0, i, j, wx[i], wy[i], cn, rn,
                            fx[f], fy[f]);
                }
            }
        }
        if (o.has_scale_ref) {
            double sx, sy;
            lc__srcmap_scale(wm, &sx, &sy);
            LC_ASSERT_TRUE(same_pos(sx, fsx) && same_pos(sy, fsy));
        }
        int64_t fco, fro, wco, wro;
        if (lc__srcmap_aligned(fm, &fco, &fro)) {
            LC_ASSERT_TRUE(lc__srcmap_aligned(wm, &wco, &wro));
            LC_ASSERT_EQ(wco, fco + x0 - cn);
            LC_ASSERT_EQ(wro, fro + y0 - rn);
        }
        lc__srcmap_free(wm);
        wm = NULL;
    }
    struct lc__srcmap_stats fs;
    lc__srcmap_get_stats(fm, &fs);
    printf("%-34s %ux%u: %zu windows, %zu pixels bit-identical, %zu not "
           "(kind %d, %zu cells)\n",
           what, W, H, nwin, nchecked - nbad, nbad, fs.kind, fs.ncells);
    LC_ASSERT_EQ(nbad, 0);
done:
    lc__srcmap_free(fm);
    lc__srcmap_free(wm);
    free(fx);
    free(wx);
}

static void test_approx_anchored(void)
{
    struct lc__crs *utm = crs_of("EPSG:32615");
    struct lc__crs *aea = crs_of("EPSG:5070");
    struct lc__crs *geo = crs_of("EPSG:4326");
    struct lc__crs *ant = crs_of("EPSG:3031");
    struct lc__transform *aea_utm = utm && aea ? tf_of(aea, utm) : NULL;
    struct lc__transform *geo_utm = utm && geo ? tf_of(geo, utm) : NULL;
    struct lc__transform *ant_geo = ant && geo ? tf_of(ant, geo) : NULL;
    struct lc__transform *id = utm ? tf_of(utm, utm) : NULL;
    struct lc__srcmap *m = NULL;
    struct lc__errbuf err = {0};
    if (aea_utm == NULL || geo_utm == NULL || ant_geo == NULL || id == NULL)
        goto done;
    const double s2[6] = {399960, 10, 0, 5100000, 0, -10};
    const double s2_60[6] = {399960, 60, 0, 5100000, 0, -60};
    const double globe[6] = {-180, 0.01, 0, 90, 0, -0.01};
    const struct lc__approx_options dflt = {0};

    /* Cross-CRS, smooth: UTM -> EPSG:5070 at 30 m and 100 m (an origin on
     * no round number), with the footprint scale at a fixed point. */
    const double aea30[6] = {230017.3, 30, 0, 2470011.1, 0, -30};
    struct lc__approx_options sc = dflt;
    sc.has_scale_ref = true;
    sc.scale_ref_x = 250000;
    sc.scale_ref_y = 2450000;
    check_anchored("UTM 15N -> EPSG:5070, 30 m", aea_utm, aea30, 0, 1500, 1100,
                   s2, &sc, 1);
    const double aea100[6] = {180000, 100, 0, 2520000, 0, -100};
    check_anchored("UTM 15N -> EPSG:5070, 100 m", aea_utm, aea100, 0, 700, 900,
                   s2_60, &dflt, 2);
    /* The anchor's origin inside the grid's cells, and odd cell sides. */
    check_anchored("UTM 15N -> EPSG:5070, anchor -37", aea_utm, aea100, -37,
                   700, 500, s2_60, &dflt, 3);
    struct lc__approx_options c37 = dflt;
    c37.max_cell = 37;
    const double geo1[6] = {-93.05, 0.0001, 0, 45.2, 0, -0.0001};
    check_anchored("UTM 15N -> EPSG:4326, cells of 37", geo_utm, geo1, 5, 400,
                   300, s2, &c37, 4);
    /* Rough: around the pole refinement goes down to single pixels and
     * first-level cells turn exact. */
    const double pole[6] = {-300000, 1000, 0, 300000, 0, -1000};
    check_anchored("EPSG:4326 -> EPSG:3031, pole", ant_geo, pole, 0, 600, 600,
                   globe, &dflt, 5);
    /* Exact maps, and the affine map of one CRS (20 m over 10 m, and
     * aligned 10 m over 10 m). */
    struct lc__approx_options ex = dflt;
    ex.exact = true;
    check_anchored("UTM 15N -> EPSG:5070, exact", aea_utm, aea100, 0, 300, 200,
                   s2_60, &ex, 6);
    const double u20[6] = {500010, 20, 0, 5099990, 0, -20};
    check_anchored("same CRS, 20 m over 10 m", id, u20, 0, 900, 700, s2, &dflt,
                   7);
    const double u10[6] = {500000, 10, 0, 5090000, 0, -10};
    check_anchored("same CRS, aligned", id, u10, 0, 900, 700, s2, &dflt, 8);

    /* A block that is not the anchor's window is refused. */
    struct lc__grid g = {{180000, 100, 0, 2520000, 0, -100}, 10, 10};
    struct lc__approx_options bad = dflt;
    bad.anchor_gt = aea100;
    bad.anchor_col = 3;
    LC_ASSERT_EQ(lc__srcmap_new(aea_utm, &g, s2, 0, 0, &bad, NULL, &m, &err),
                 LC_EINVAL);
    LC_ASSERT_TRUE(strstr(err.msg, "column 3, row 0") != NULL);
    const double other[6] = {180000, 50, 0, 2520000, 0, -100};
    bad.anchor_gt = other;
    bad.anchor_col = 0;
    LC_ASSERT_EQ(lc__srcmap_new(aea_utm, &g, s2, 0, 0, &bad, NULL, &m, &err),
                 LC_EINVAL);
    struct lc__approx_options big = dflt;
    big.max_cell = 1u << 20;
    LC_ASSERT_EQ(lc__srcmap_new(aea_utm, &g, s2, 0, 0, &big, NULL, &m, &err),
                 LC_EINVAL);
    LC_ASSERT_TRUE(m == NULL);
done:
    lc__srcmap_free(m);
    lc__transform_release(aea_utm);
    lc__transform_release(geo_utm);
    lc__transform_release(ant_geo);
    lc__transform_release(id);
    lc__crs_free(utm);
    lc__crs_free(aea);
    lc__crs_free(geo);
    lc__crs_free(ant);
}

int main(void)
{
    test_round_half_even();
    test_grid_from_bbox();
    test_grid_window();
    test_align_bbox();
    test_overview_choose();
    test_crs_spellings();
    test_crs_properties();
    test_crs_inequality();
    test_crs_bad();
    test_transform_points();
    test_transform_cache();
    test_transform_bounds();
    test_bounds_inside_4326();
    test_transform_reversed();
    test_transform_area();
    test_transform_via_4326();
    test_threads();
    test_srcmap_misc();
    test_approx_bound();
    test_approx_anchored();
    lc__geo_thread_cleanup();
    LC_TEST_END();
}
