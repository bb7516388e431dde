/* bench_rtree.c - build and query time of the packed Hilbert R-tree.
 * Not a test: build with -DLC_BUILD_BENCH=ON (and a Release build type),
 * run build/<dir>/bench/bench_rtree. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include "../src/index/rtree.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/*
 * The items imitate a Sentinel-2 archive: a fixed set of about 1.1 x 1
 * degree tiles over the land latitudes, each tile repeated once per
 * acquisition date with a little jitter, so that a chunk's window meets
 * tens of items the way it does in a real collection (~3 % of the tiles
 * cross the antimeridian or sit in the polar rows). Build time is the best
 * of several runs. Each query kind runs on random windows, through
 * lc__rtree_query (hits sorted into item order, the engine's path) and,
 * for comparison, a linear scan of every box.
 */

static uint64_t g_rng = 42;

static double rnd(double lo, double hi)
{
    g_rng = g_rng * 6364136223846793005u + 1442695040888963407u;
    return lo + (double)(g_rng >> 11) / 9007199254740992.0 * (hi - lo);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void make_items(double *boxes, size_t n)
{
    size_t ntiles = n < 20000 ? n : 20000;
    double *tiles = malloc(2 * ntiles * sizeof(double));

    for (size_t t = 0; t < ntiles; t++) {
        tiles[2 * t] = rnd(-180.0, 180.0);
        tiles[2 * t + 1] = rnd(-60.0, 75.0);
    }
    for (size_t i = 0; i < n; i++) {
        size_t t = i % ntiles;
        double x = tiles[2 * t] + rnd(-0.01, 0.01);
        double y = tiles[2 * t + 1] + rnd(-0.01, 0.01);
        double maxx = x + 1.1;
        /* A tile past 180 is written the STAC way: minx > maxx. */
        boxes[4 * i + 0] = x;
        boxes[4 * i + 1] = y;
        boxes[4 * i + 2] = maxx > 180.0 ? maxx - 360.0 : maxx;
        boxes[4 * i + 3] = y + 1.0;
    }
    free(tiles);
}

static double brute_scan(const double *boxes, size_t n, const double *q)
{
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        const double *b = boxes + 4 * i;
        /* Plain test (no wrap handling): a lower bound on a real scan. */
        hits += !(b[2] < q[0] || b[0] > q[2] || b[3] < q[1] || b[1] > q[3]);
    }
    return (double)hits;
}

struct kind {
    const char *name;
    double w, h; /* query size in degrees; 0 = whole world */
    size_t nqueries;
};

static void bench_size(size_t n)
{
    double *boxes = malloc(4 * n * sizeof(double));
    struct lc__rtree *tree = NULL;

    make_items(boxes, n);
    double best = 1e30;
    int reps = n >= 1000000 ? 5 : n >= 100000 ? 10 : 50;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        if (lc__rtree_build(boxes, n, NULL, &tree, NULL) != LC_OK) {
            fprintf(stderr, "build failed\n");
            exit(1);
        }
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
        if (r + 1 < reps)
            lc__rtree_free(tree);
    }
    printf("%8zu items  build %9.3f ms  (%6.1f ns/item)  tree %6.1f MiB\n", n,
           best * 1e3, best * 1e9 / (double)n,
           (double)lc__rtree_nbytes(tree) / 1048576.0);

    static const struct kind kinds[] = {
        {"point", 0.0, 0.0, 200000},
        {"chunk 0.1 deg", 0.1, 0.1, 200000},
        {"window 1 deg", 1.0, 1.0, 100000},
        {"region 10 deg", 10.0, 10.0, 10000},
        {"antimeridian 2 deg", -2.0, 2.0, 100000},
        {"whole world", 360.0, 180.0, 20},
    };
    struct lc__rtree_hits hits = {0};
    for (size_t k = 0; k < LC_ARRAY_SIZE(kinds); k++) {
        const struct kind *kd = &kinds[k];
        size_t nq = kd->nqueries;
        double *qs = malloc(4 * nq * sizeof(double));
        for (size_t i = 0; i < nq; i++) {
            double *q = qs + 4 * i;
            double x = rnd(-180.0, 180.0 - fabs(kd->w));
            double y = rnd(-60.0, 75.0);
            if (kd->w < 0.0) {
                /* Crossing: from 179 - w/2 east to -179 + w/2. */
                x = 180.0 + kd->w / 2.0;
                q[0] = x;
                q[2] = x - kd->w - 360.0;
            } else if (kd->w >= 360.0) {
                q[0] = -180.0;
                q[2] = 180.0;
                y = -90.0;
            } else {
                q[0] = x;
                q[2] = x + kd->w;
            }
            q[1] = y;
            q[3] = y + kd->h;
        }
        size_t total = 0;
        double t0 = now_s();
        for (size_t i = 0; i < nq; i++) {
            if (lc__rtree_query(tree, qs + 4 * i, &hits, NULL) != LC_OK) {
                fprintf(stderr, "query failed\n");
                exit(1);
            }
            total += hits.count;
        }
        double dt = now_s() - t0;
        /* The scan runs on a sample: it is slow on big archives. */
        size_t nscan = nq < 200 ? nq : 200;
        double sink = 0.0;
        double s0 = now_s();
        for (size_t i = 0; i < nscan; i++)
            sink += brute_scan(boxes, n, qs + 4 * i);
        double ds = now_s() - s0;
        printf("    %-20s %10.3f us/query  %9.1f hits/query  scan %10.1f "
               "us/query (x%.0f)%s\n",
               kd->name, dt * 1e6 / (double)nq, (double)total / (double)nq,
               ds * 1e6 / (double)nscan,
               (ds / (double)nscan) / (dt / (double)nq), sink < 0 ? "!" : "");
        free(qs);
    }
    lc__rtree_hits_free(tree, &hits);
    lc__rtree_free(tree);
    free(boxes);
}

int main(void)
{
    static const size_t sizes[] = {1000, 10000, 100000, 1000000};

    printf("packed Hilbert R-tree, node size %d\n",
           LC__RTREE_DEFAULT_NODE_SIZE);
    for (size_t i = 0; i < LC_ARRAY_SIZE(sizes); i++)
        bench_size(sizes[i]);
    return 0;
}
