/* bench_warp.c - warp speed: nearest uint16 UTM -> EPSG:5070 into a
 * 2048x2048 block, approximate vs exact transformer, on one core.
 * Not a test: build with -DLC_BUILD_BENCH=ON (and a Release build type),
 * run build/<dir>/bench/bench_warp; bench/bench_warp_rasterio.py times
 * rasterio/GDAL on the same arrays. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include "../src/geo/approx.h"
#include "../src/geo/crs.h"
#include "../src/geo/grid.h"
#include "../src/warp/warp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/*
 * The fixture (bench_warp_rasterio.py builds the same one):
 *   destination  EPSG:5070, 10 m, 2048 x 2048, top-left (225000, 2475000)
 *   source       EPSG:32615, 10 m, the window of the 10 m grid anchored at
 *                (399960, 5100000) that covers the destination block plus
 *                a 4-pixel margin, uint16 smooth field plus noise, nodata 0
 * Each engine builds the source map and warps, one thread; the map build
 * and the kernel are also timed alone. Every engine runs for at least
 * LC_BENCH_SECONDS and the best block time is reported.
 */

enum { DW = 2048, DH = 2048 };
#define LC_BENCH_SECONDS 1.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct fixture {
    struct lc__transform *tf; /* EPSG:5070 -> EPSG:32615 */
    struct lc__grid dst;
    double src_gt[6];
    struct lc__warp_src src;
    uint16_t *src_data;
    uint16_t *out;
    uint8_t *valid;
};

struct engine {
    const char *name;
    struct lc__approx_options opts;
    enum lc__warp_method method;
};

static int die(const char *what, const struct lc__errbuf *err)
{
    fprintf(stderr, "bench_warp: %s: %s\n", what, err ? err->msg : "");
    return EXIT_FAILURE;
}

static int build_fixture(struct fixture *fx, struct lc__crs *src_crs,
                         struct lc__crs *dst_crs, struct lc__errbuf *err)
{
    const double dgt[6] = {225000, 10, 0, 2475000, 0, -10};
    memcpy(fx->dst.gt, dgt, sizeof(dgt));
    fx->dst.width = DW;
    fx->dst.height = DH;
    LC_FORWARD_IF_ERROR(lc__transform_get(dst_crs, src_crs, &fx->tf, err));
    double bb[4], sb[4];
    lc__grid_bounds(&fx->dst, bb);
    LC_FORWARD_IF_ERROR(lc__transform_bounds(fx->tf, bb, 21, sb, err));
    /* The 10 m S2 grid of 15TVL: snap outward, 4 pixels of margin. */
    double c0 = floor((sb[0] - 399960.0) / 10.0) - 4;
    double c1 = ceil((sb[2] - 399960.0) / 10.0) + 4;
    double r0 = floor((5100000.0 - sb[3]) / 10.0) - 4;
    double r1 = ceil((5100000.0 - sb[1]) / 10.0) + 4;
    const double sgt[6] = {399960.0 + c0 * 10.0,  10, 0,
                           5100000.0 - r0 * 10.0, 0,  -10};
    memcpy(fx->src_gt, sgt, sizeof(sgt));
    uint32_t sw = (uint32_t)(c1 - c0), sh = (uint32_t)(r1 - r0);
    fx->src_data = malloc((size_t)sw * sh * sizeof(uint16_t));
    fx->out = malloc((size_t)DW * DH * sizeof(uint16_t));
    fx->valid = malloc((size_t)DW * DH);
    if (fx->src_data == NULL || fx->out == NULL || fx->valid == NULL)
        return lc__error(err, LC_ENOMEM, "fixture");
    uint32_t rng = 12345;
    for (uint32_t y = 0; y < sh; y++) {
        for (uint32_t x = 0; x < sw; x++) {
            rng = rng * 1664525u + 1013904223u;
            double v = 2000 + 1500 * sin(x / 40.0) * cos(y / 55.0) +
                       (double)(rng >> 28);
            fx->src_data[(size_t)y * sw + x] = (uint16_t)v;
        }
    }
    struct lc__warp_src s = {
        fx->src_data, LC_DTYPE_UINT16, sw, sh, 0, NULL, 0, true, 0};
    fx->src = s;
    printf("source window %ux%u at (%.0f, %.0f), 10 m EPSG:32615\n", sw, sh,
           sgt[0], sgt[3]);
    return LC_OK;
}

/* One block: map build + warp. Returns seconds, or a negative value. */
static double run_once(struct fixture *fx, const struct engine *e,
                       double *map_s, struct lc__srcmap_stats *st)
{
    struct lc__errbuf err = {0};
    struct lc__srcmap *map = NULL;
    double t0 = now_s();
    if (lc__srcmap_new(fx->tf, &fx->dst, fx->src_gt, 0, 0, &e->opts, NULL, &map,
                       &err) < 0) {
        die("srcmap", &err);
        return -1;
    }
    double t1 = now_s();
    struct lc__warp_dst d = {0};
    d.data = fx->out;
    d.data_nbytes = (size_t)DW * DH * sizeof(uint16_t);
    d.valid = fx->valid;
    if (lc__warp(map, &fx->src, e->method, &d, NULL, &err) < 0) {
        die("warp", &err);
        lc__srcmap_free(map);
        return -1;
    }
    double t2 = now_s();
    lc__srcmap_get_stats(map, st);
    lc__srcmap_free(map);
    *map_s = t1 - t0;
    return t2 - t0;
}

static int bench(struct fixture *fx, const struct engine *e)
{
    double best = HUGE_VAL, best_map = HUGE_VAL, spent = 0;
    struct lc__srcmap_stats st = {0};
    int n = 0;
    while (spent < LC_BENCH_SECONDS || n < 3) {
        double map_s;
        double s = run_once(fx, e, &map_s, &st);
        if (s < 0)
            return -1;
        best = s < best ? s : best;
        best_map = map_s < best_map ? map_s : best_map;
        spent += s;
        n++;
    }
    double mpx = (double)DW * DH / 1e6;
    printf("%-24s %9.2f ms %9.1f Mpx/s   map %7.2f ms (%zu PROJ points, %zu "
           "cells)  kernel %7.2f ms %7.1f Mpx/s\n",
           e->name, best * 1e3, mpx / best, best_map * 1e3, st.ntransformed,
           st.ncells, (best - best_map) * 1e3, mpx / (best - best_map));
    return 0;
}

int main(void)
{
    struct lc__errbuf err = {0};
    struct lc__crs *utm = NULL, *aea = NULL;
    struct fixture fx = {0};
    if (lc__crs_new("EPSG:32615", NULL, &utm, &err) < 0 ||
        lc__crs_new("EPSG:5070", NULL, &aea, &err) < 0)
        return die("crs", &err);
    if (build_fixture(&fx, utm, aea, &err) < 0)
        return die("fixture", &err);
    printf("nearest uint16, EPSG:32615 -> EPSG:5070, %dx%d block at 10 m, "
           "one thread\n",
           DW, DH);
    const struct engine engines[] = {
        {"approx nearest", {0, 0, false}, LC_WARP_NEAREST},
        {"exact nearest", {0, 0, true}, LC_WARP_NEAREST},
        {"approx bilinear", {0, 0, false}, LC_WARP_BILINEAR},
        {"approx cubic", {0, 0, false}, LC_WARP_CUBIC},
    };
    for (size_t k = 0; k < LC_ARRAY_SIZE(engines); k++) {
        if (bench(&fx, &engines[k]) < 0)
            return EXIT_FAILURE;
    }
    /* Same grid: the row-copy fast path. */
    struct lc__transform *id = NULL;
    if (lc__transform_get(utm, utm, &id, &err) < 0)
        return die("identity", &err);
    struct fixture same = fx;
    same.tf = id;
    const double sgt_dst[6] = {fx.src_gt[0] + 40, 10, 0,
                               fx.src_gt[3] - 40, 0,  -10};
    memcpy(same.dst.gt, sgt_dst, sizeof(sgt_dst));
    const struct engine copy = {
        "same grid (row copy)", {0, 0, false}, LC_WARP_NEAREST};
    if (bench(&same, &copy) < 0)
        return EXIT_FAILURE;
    lc__transform_release(id);
    lc__transform_release(fx.tf);
    free(fx.src_data);
    free(fx.out);
    free(fx.valid);
    lc__crs_free(utm);
    lc__crs_free(aea);
    lc__geo_thread_cleanup();
    return 0;
}
