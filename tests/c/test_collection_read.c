/* test_collection_read.c - lc_collection_read through the public API:
 * request checks, determinism across thread counts, concurrent reads of
 * one collection, cancellation; and, when run through tools/with_server.sh
 * serving the world, the same reads over HTTP (whose band tasks pass the
 * read's CPU gate) equal the local ones. Run under the sanitizers (leaks
 * included) and TSan. The pixels themselves are checked against rasterio
 * by tests/python/test_collection_read.py. */
/* SPDX-License-Identifier: MIT */
#define _XOPEN_SOURCE 700 /* realpath */
#define LC_EXPERIMENTAL 1
#include "lazycogs.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "test_util.h"

#define W 200
#define H 200
#define NT 4

/* Rewrites the hrefs of the world's files (file://WORLD/...) to the
 * server's URLs. */
struct href_map {
    char from[4096 + 8];
    const char *to;
};

static char *map_to_server(void *opaque, const char *href)
{
    const struct href_map *m = opaque;
    size_t n = strlen(m->from);
    if (strncmp(href, m->from, n) != 0)
        return NULL;
    size_t len = strlen(m->to) + strlen(href + n) + 1;
    char *s = malloc(len);
    if (s != NULL)
        snprintf(s, len, "%s%s", m->to, href + n);
    return s;
}

/* The options of the corner; map: NULL, or hrefs to rewrite
 * (map_to_server). */
static struct lc_collection_options corner_options(enum lc_mosaic_method method,
                                                   size_t nthreads,
                                                   struct href_map *map)
{
    struct lc_collection_options o = {.struct_size = sizeof o};
    if (map != NULL) {
        o.map_href = map_to_server;
        o.map_href_opaque = map;
    }
    o.crs = "EPSG:32615";
    /* Where four zone-15 tiles of the ci world overlap. */
    o.bbox[0] = 495000.0;
    o.bbox[1] = 5185000.0;
    o.bbox[2] = 515000.0;
    o.bbox[3] = 5205000.0;
    o.resolution = 100.0;
    o.mosaic_method = method;
    o.nthreads = nthreads;
    o.sortby = "eo:cloud_cover";
    return o;
}

static struct lc_collection *open_with(const char *catalog,
                                       const struct lc_collection_options *o)
{
    struct lc_collection *c = NULL;
    int status = lc_collection_open(catalog, o, &c);
    if (status != LC_OK)
        fprintf(stderr, "lc_collection_open: %s\n", lc_errmsg());
    return c;
}

static struct lc_collection *open_corner_mapped(const char *catalog,
                                                enum lc_mosaic_method method,
                                                size_t nthreads,
                                                struct href_map *map)
{
    struct lc_collection_options o = corner_options(method, nthreads, map);
    return open_with(catalog, &o);
}

static struct lc_collection *
open_corner(const char *catalog, enum lc_mosaic_method method, size_t nthreads)
{
    return open_corner_mapped(catalog, method, nthreads, NULL);
}

/* Reads red and swir16 of the first NT steps into a new buffer. */
static void *read_all(struct lc_collection *c, struct lc_read_stats *st,
                      int *status_ret)
{
    struct lc_collection_info info = {.struct_size = sizeof info};
    lc_collection_get_info(c, &info);
    static const size_t bands[] = {0, 4};
    static const size_t times[NT] = {0, 1, 2, 3};
    size_t nbytes = 2 * NT * W * H * lc_dtype_nbytes(info.dtype);
    void *out = malloc(nbytes);
    struct lc_read_request r = {.struct_size = sizeof r};
    r.bands = bands;
    r.nbands = 2;
    r.times = times;
    r.ntimes = NT;
    r.width = W;
    r.height = H;
    r.out = out;
    r.out_nbytes = nbytes;
    st->struct_size = sizeof *st;
    *status_ret = lc_collection_read(c, &r, st);
    return out;
}

struct reader {
    struct lc_collection *c;
    void *out;
    int status;
};

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    struct lc_read_stats st;
    for (int i = 0; i < 3; i++) {
        free(rd->out);
        rd->out = read_all(rd->c, &st, &rd->status);
        if (rd->status != LC_OK)
            break;
    }
    return NULL;
}

struct canceller {
    volatile int flag;
};

static void *cancel_main(void *arg)
{
    struct canceller *k = arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    __atomic_store_n(&k->flag, 1, __ATOMIC_RELAXED);
    return NULL;
}

/* Options for most of the world in EPSG:5070 (the COGs are in UTM). */
static struct lc_collection_options world_5070(double resolution,
                                               size_t nthreads)
{
    struct lc_collection_options o = {
        .struct_size = sizeof o,
        .crs = "EPSG:5070",
        .bbox = {150000.0, 2540000.0, 560000.0, 2740000.0},
        .resolution = resolution,
        .nthreads = nthreads};
    return o;
}

/* A long read (every step) cancelled from another thread 20 ms in
 * returns LC_ECANCELLED (or LC_OK if it was faster), leaking nothing. */
static void test_cancel(const char *catalog, const char *resampling)
{
    struct lc_collection_options o = world_5070(60.0, 2);
    o.resampling = resampling;
    struct lc_collection *c = NULL;
    LC_ASSERT_EQ(lc_collection_open(catalog, &o, &c), LC_OK);
    if (c == NULL)
        return;
    struct lc_collection_info info = {.struct_size = sizeof info};
    lc_collection_get_info(c, &info);
    size_t times[64], bands[3] = {0, 1, 2};
    size_t nt = info.ntimes < 64 ? info.ntimes : 64;
    for (size_t i = 0; i < nt; i++)
        times[i] = i;
    size_t nbytes = 3 * nt * 512 * 512 * sizeof(uint16_t);
    void *out = malloc(nbytes);
    struct canceller k = {0};
    struct lc_read_request r = {.struct_size = sizeof r};
    r.bands = bands;
    r.nbands = 3;
    r.times = times;
    r.ntimes = nt;
    r.x0 = 1500;
    r.y0 = 800;
    r.width = 512;
    r.height = 512;
    r.out = out;
    r.out_nbytes = nbytes;
    r.cancel = &k.flag;
    pthread_t th;
    LC_ASSERT_EQ(pthread_create(&th, NULL, cancel_main, &k), 0);
    int status = lc_collection_read(c, &r, NULL);
    LC_ASSERT_TRUE(status == LC_ECANCELLED || status == LC_OK);
    pthread_join(th, NULL);
    if (status == LC_ECANCELLED)
        LC_ASSERT_STR_EQ(lc_errmsg(), "lc_collection_read: cancelled");
    free(out);
    lc_collection_close(c);
}

/* Reads bands[0 .. nbands) of steps 0 .. NT - 1 of a 500 x 400 window of
 * c into a new buffer (uint16). */
static uint16_t *read_bands(struct lc_collection *c, const size_t *bands,
                            size_t nbands, int *status_ret)
{
    static const size_t times[NT] = {0, 1, 2, 3};
    size_t nbytes = nbands * NT * 500 * 400 * sizeof(uint16_t);
    uint16_t *out = malloc(nbytes);
    struct lc_read_request r = {.struct_size = sizeof r,
                                .bands = bands,
                                .nbands = nbands,
                                .times = times,
                                .ntimes = NT,
                                .x0 = 600,
                                .y0 = 200,
                                .width = 500,
                                .height = 400,
                                .out = out,
                                .out_nbytes = nbytes};
    *status_ret = lc_collection_read(c, &r, NULL);
    return out;
}

/* A cross-CRS nearest read shares each item's source offsets between the
 * bands laid out alike (red, green, blue at 180 m; not swir16 at 360 m),
 * strip by strip across worker threads: each band equals the band read
 * alone, with one worker and with four. */
static void test_shared_offsets(const char *catalog)
{
    static const size_t bands[] = {0, 4, 1, 2};
    enum { NB = 4, PLANE = NT * 500 * 400 };
    for (size_t nthreads = 1; nthreads <= 4; nthreads += 3) {
        struct lc_collection_options o = world_5070(200.0, nthreads);
        o.dtype = LC_DTYPE_UINT16;
        struct lc_collection *c = NULL;
        LC_ASSERT_EQ(lc_collection_open(catalog, &o, &c), LC_OK);
        if (c == NULL)
            return;
        int status;
        uint16_t *all = read_bands(c, bands, NB, &status);
        LC_ASSERT_EQ(status, LC_OK);
        for (size_t b = 0; b < NB && status == LC_OK; b++) {
            int st;
            uint16_t *alone = read_bands(c, &bands[b], 1, &st);
            LC_ASSERT_EQ(st, LC_OK);
            size_t nonzero = 0;
            for (size_t i = 0; i < PLANE; i++)
                nonzero += alone[i] != 0;
            LC_ASSERT_TRUE(nonzero > PLANE / 10);
            if (st == LC_OK)
                LC_ASSERT_MEM_EQ(all + b * PLANE, alone,
                                 PLANE * sizeof(uint16_t));
            free(alone);
        }
        free(all);
        lc_collection_close(c);
    }
}

static void test_checks(struct lc_collection *c)
{
    size_t band = 0, time = 0, bad = 99;
    uint16_t out[4];
    struct lc_read_request r = {.struct_size = sizeof r};
    struct lc_read_stats st = {.struct_size = sizeof st};
    r.bands = &band;
    r.nbands = 1;
    r.times = &time;
    r.ntimes = 1;
    r.width = 2;
    r.height = 2;
    r.out = out;
    r.out_nbytes = sizeof out;
    LC_ASSERT_EQ(lc_collection_read(c, &r, &st), LC_OK);

    r.out_nbytes = sizeof out - 1;
    LC_ASSERT_EQ(lc_collection_read(c, &r, &st), LC_ENOSPACE);
    r.out_nbytes = sizeof out;
    r.bands = &bad;
    LC_ASSERT_EQ(lc_collection_read(c, &r, &st), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "band index 99") != NULL);
    r.bands = &band;
    r.times = &bad;
    LC_ASSERT_EQ(lc_collection_read(c, &r, &st), LC_EINVAL);
    r.times = &time;
    r.x0 = W - 1;
    LC_ASSERT_EQ(lc_collection_read(c, &r, &st), LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "outside the grid") != NULL);
    r.x0 = 0;
    r.struct_size = 8;
    LC_ASSERT_EQ(lc_collection_read(c, &r, &st), LC_EINVAL);
    r.struct_size = sizeof r;
    st.struct_size = 3;
    LC_ASSERT_EQ(lc_collection_read(c, &r, &st), LC_EINVAL);
    LC_ASSERT_EQ(lc_collection_read(c, &r, NULL), LC_OK);

    /* An empty window reads nothing, successfully. */
    r.width = 0;
    r.out = NULL;
    r.out_nbytes = 0;
    LC_ASSERT_EQ(lc_collection_read(c, &r, NULL), LC_OK);

    /* Cancelled before it starts. */
    volatile int cancel = 1;
    r.width = 2;
    r.out = out;
    r.out_nbytes = sizeof out;
    r.cancel = &cancel;
    LC_ASSERT_EQ(lc_collection_read(c, &r, NULL), LC_ECANCELLED);
}

/* Four threads reading collection c (closed here) at once agree with a
 * serial read. */
static void test_concurrent_reads(struct lc_collection *c)
{
    LC_ASSERT_TRUE(c != NULL);
    if (c == NULL)
        return;
    struct lc_read_stats st;
    int status;
    void *ref = read_all(c, &st, &status);
    LC_ASSERT_EQ(status, LC_OK);
    struct reader rd[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        rd[i] = (struct reader){c, NULL, 0};
        LC_ASSERT_EQ(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        LC_ASSERT_EQ(rd[i].status, LC_OK);
        if (rd[i].status == LC_OK && status == LC_OK)
            LC_ASSERT_MEM_EQ(rd[i].out, ref, 2 * NT * W * H * sizeof(uint16_t));
        free(rd[i].out);
    }
    free(ref);
    lc_collection_close(c);
}

/* One band of the pixel (100, 100) at step t, with its stats. */
static int read_point(struct lc_collection *c, size_t t, uint16_t *v,
                      struct lc_read_stats *st)
{
    static const size_t band = 0;
    struct lc_read_request r = {.struct_size = sizeof r,
                                .bands = &band,
                                .nbands = 1,
                                .times = &t,
                                .ntimes = 1,
                                .x0 = 100,
                                .y0 = 100,
                                .width = 1,
                                .height = 1,
                                .out = v,
                                .out_nbytes = sizeof *v};
    st->struct_size = sizeof *st;
    return lc_collection_read(c, &r, st);
}

/* Waits until the store has made no request for 100 ms (at most 10 s):
 * the readahead's requests have all been answered. */
static void wait_quiet(struct lc_store *store)
{
    struct lc_io_stats st = {.struct_size = sizeof st};
    uint64_t last = UINT64_MAX;
    for (int i = 0; i < 100; i++) {
        LC_ASSERT_EQ(lc_store_get_stats(store, &st), LC_OK);
        if (st.requests == last)
            return;
        last = st.requests;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* A point read step after step (a time series) has the next steps read
 * ahead (readahead.c): the same pixels as with readahead off and, over
 * HTTP (url), the reads of the steps read ahead (2 and 3, by the reads of
 * 0 and 1) open no header: they were opened ahead, through the
 * collection's own store (a fresh one: nothing of it cached); with the
 * block cache on (cached) they make no request either. A collection closed
 * right after a read that starts a readahead cancels it and waits for it
 * (the sanitizers and TSan check the rest). */
static void test_readahead(const char *catalog, struct href_map *map,
                           const char *url, bool cached)
{
    struct lc_store *store = NULL;
    struct lc_collection_options o = corner_options(LC_MOSAIC_FIRST, 2, map);
    if (url != NULL) {
        LC_ASSERT_EQ(lc_store_open(url, NULL, &store), LC_OK);
        o.store = store;
    }
    struct lc_collection *on = open_with(catalog, &o);
    o = corner_options(LC_MOSAIC_FIRST, 2, map);
    o.readahead = -1;
    struct lc_collection *off = open_with(catalog, &o);
    LC_ASSERT_TRUE(on != NULL && off != NULL);
    if (on != NULL && off != NULL) {
        for (size_t t = 0; t < NT; t++) {
            uint16_t a = 0, b = 1;
            struct lc_read_stats sa, sb;
            if (store != NULL && t == 2)
                wait_quiet(store);
            LC_ASSERT_EQ(read_point(on, t, &a, &sa), LC_OK);
            LC_ASSERT_EQ(read_point(off, t, &b, &sb), LC_OK);
            LC_ASSERT_UEQ(a, b);
            if (store != NULL && t >= 2) {
                LC_ASSERT_TRUE(sa.items_read > 0);
                LC_ASSERT_UEQ(sa.cogs_opened, 0);
                if (cached)
                    LC_ASSERT_UEQ(sa.requests, 0);
            }
        }
    }
    lc_collection_close(on);
    lc_collection_close(off);
    lc_store_close(store);

    /* Closed right after the read that starts a readahead. */
    struct lc_collection *c =
        open_corner_mapped(catalog, LC_MOSAIC_FIRST, 2, map);
    LC_ASSERT_TRUE(c != NULL);
    if (c != NULL) {
        uint16_t v;
        struct lc_read_stats st;
        LC_ASSERT_EQ(read_point(c, NT - 1, &v, &st), LC_OK);
        LC_ASSERT_EQ(read_point(c, NT - 2, &v, &st), LC_OK);
    }
    lc_collection_close(c);
}

/* Reads over HTTP equal the local ones: one worker and four (remote band
 * tasks wait on the network outside the CPU gate, compute inside it), and
 * four threads reading one remote collection at once. The collections
 * share their COG handles (the header cache), so with the block cache on
 * (the default) only the first read fetches blocks; with
 * LAZYCOGS_BLOCK_CACHE_BYTES=0 (ctest's _uncached run) every read does. */
static void test_remote(const char *catalog, const char *world, const char *url)
{
    struct href_map map = {.to = url};
    char real[4096];
    if (realpath(world, real) == NULL) {
        LC_ASSERT_TRUE(!"realpath of the world");
        return;
    }
    snprintf(map.from, sizeof map.from, "file://%s", real);
    const char *budget = getenv("LAZYCOGS_BLOCK_CACHE_BYTES");
    bool cached = budget == NULL || strcmp(budget, "0") != 0;
    /* First: the COGs of the corner are not cached yet. */
    test_readahead(catalog, &map, url, cached);
    size_t nbytes = 2 * NT * W * H * sizeof(uint16_t);
    static const enum lc_mosaic_method methods[] = {LC_MOSAIC_FIRST,
                                                    LC_MOSAIC_MEDIAN};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        struct lc_collection *local = open_corner(catalog, methods[m], 2);
        struct lc_collection *one =
            open_corner_mapped(catalog, methods[m], 1, &map);
        struct lc_collection *four =
            open_corner_mapped(catalog, methods[m], 4, &map);
        LC_ASSERT_TRUE(local != NULL && one != NULL && four != NULL);
        if (local != NULL && one != NULL && four != NULL) {
            struct lc_read_stats s0, s1, s4;
            int st0, st1, st4;
            void *a = read_all(local, &s0, &st0);
            void *b = read_all(one, &s1, &st1);
            void *d = read_all(four, &s4, &st4);
            LC_ASSERT_EQ(st0, LC_OK);
            LC_ASSERT_EQ(st1, LC_OK);
            LC_ASSERT_EQ(st4, LC_OK);
            if (st0 == LC_OK && st1 == LC_OK && st4 == LC_OK) {
                LC_ASSERT_MEM_EQ(b, a, nbytes);
                LC_ASSERT_MEM_EQ(d, a, nbytes);
            }
            LC_ASSERT_UEQ(s1.items_read, s0.items_read);
            if (m == 0 || !cached) {
                LC_ASSERT_TRUE(s1.requests > 0);
            } else {
                LC_ASSERT_UEQ(s1.requests, 0);
                LC_ASSERT_UEQ(s1.bytes, 0);
            }
            if (cached) {
                LC_ASSERT_UEQ(s4.requests, 0);
            } else {
                LC_ASSERT_TRUE(s4.requests > 0);
            }
            free(a);
            free(b);
            free(d);
        }
        lc_collection_close(local);
        lc_collection_close(one);
        lc_collection_close(four);
    }

    test_concurrent_reads(
        open_corner_mapped(catalog, LC_MOSAIC_FIRST, 2, &map));
}

int main(int argc, char **argv)
{
    char catalog[4096];
    struct stat sb;

    if (argc < 2) {
        fprintf(stderr, "usage: test_collection_read WORLD_DIR\n");
        return 2;
    }
    snprintf(catalog, sizeof catalog, "%s/items.parquet", argv[1]);
    if (stat(catalog, &sb) != 0) {
        fprintf(stderr, "skipped: no %s (run tools/make_world.py)\n", catalog);
        return 77;
    }

    static const enum lc_mosaic_method methods[] = {
        LC_MOSAIC_FIRST, LC_MOSAIC_HIGHEST, LC_MOSAIC_MEDIAN, LC_MOSAIC_COUNT};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        /* One worker and four give the same pixels. */
        struct lc_collection *one = open_corner(catalog, methods[m], 1);
        struct lc_collection *four = open_corner(catalog, methods[m], 4);
        LC_ASSERT_TRUE(one != NULL && four != NULL);
        if (one == NULL || four == NULL) {
            lc_collection_close(one);
            lc_collection_close(four);
            continue;
        }
        struct lc_collection_info info = {.struct_size = sizeof info};
        LC_ASSERT_EQ(lc_collection_get_info(one, &info), LC_OK);
        LC_ASSERT_UEQ(info.width, W);
        LC_ASSERT_UEQ(info.height, H);
        LC_ASSERT_TRUE(info.ntimes >= NT);
        struct lc_read_stats s1, s4;
        int st1, st4;
        void *a = read_all(one, &s1, &st1);
        void *b = read_all(four, &s4, &st4);
        LC_ASSERT_EQ(st1, LC_OK);
        LC_ASSERT_EQ(st4, LC_OK);
        size_t nbytes = lc_dtype_nbytes(info.dtype) * 2 * NT * W * H;
        if (st1 == LC_OK && st4 == LC_OK)
            LC_ASSERT_MEM_EQ(a, b, nbytes);
        LC_ASSERT_TRUE(s1.items_matched > NT);
        LC_ASSERT_UEQ(s1.items_matched, s4.items_matched);
        LC_ASSERT_UEQ(s1.items_failed, 0);
        if (methods[m] != LC_MOSAIC_FIRST)
            LC_ASSERT_UEQ(s1.items_read, s1.items_matched);
        free(a);
        free(b);
        if (m == 0)
            test_checks(one);
        lc_collection_close(one);
        lc_collection_close(four);
    }

    test_cancel(catalog, "cubic");
    test_cancel(catalog, "nearest");
    test_shared_offsets(catalog);

    test_concurrent_reads(open_corner(catalog, LC_MOSAIC_FIRST, 2));
    test_readahead(catalog, NULL, NULL, false);

    const char *url = getenv("LAZYCOGS_TEST_URL");
    if (url != NULL && url[0] != '\0')
        test_remote(catalog, argv[1], url);
    LC_TEST_END();
}
