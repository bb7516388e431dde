/* test_alloc_fail.c - allocation-failure loops over the Parquet reader
 * (every file of tests/data/parquet, datasets), the stac-geoparquet item
 * loader and collection open + read (the ci world). */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "../../src/engine/collection.h"
#include "../../src/engine/header_cache.h"
#include "../../src/io/io.h"
#include "../../src/parquet/parquet.h"
#include "../../src/stac/items.h"
#include "parquet_glue.h"
#include "test_util.h"

/*
 * Usage: test_alloc_fail PARQUET_DIR [WORLD_DIR [REALDATA_STAC_DIR]]
 *
 * For N = 0, 1, 2... an operation runs with an allocator whose N-th
 * allocation fails. Each run must succeed or fail with LC_ENOMEM, free
 * every block it took (the allocator counts them; ASan checks the rest at
 * exit), and leave the handles it was given usable. The loop stops at the
 * first N the operation does not reach, so every allocation site on the
 * path has failed once.
 *
 * The Parquet reader and the collection read call the allocator from
 * threads of their own, so this allocator counts atomically. Loops that
 * must be exhaustive run with one thread (the order of allocations is then
 * fixed); a second loop with threads samples N and checks only for
 * LC_ENOMEM, leaks and crashes, as which allocation fails then varies.
 *
 * Not reached this way: the COGs a collection reads are opened through the
 * process-wide header cache with the C library's allocator (header_cache.c
 * takes none), so COG open and block decoding are not failed here; they
 * are by test_cog_alloc.
 */

/* ---- a thread-safe failing allocator ------------------------------------ */

struct failing {
    size_t fail_at; /* SIZE_MAX: never */
    atomic_size_t nallocs;
    atomic_size_t live;
};

static void *failing_alloc(void *opaque, size_t nbytes)
{
    struct failing *f = opaque;
    if (atomic_fetch_add(&f->nallocs, 1) == f->fail_at)
        return NULL;
    void *p = malloc(nbytes);
    if (p != NULL)
        atomic_fetch_add(&f->live, 1);
    return p;
}

static void failing_free(void *opaque, void *ptr)
{
    struct failing *f = opaque;
    if (ptr != NULL)
        atomic_fetch_sub(&f->live, 1);
    free(ptr);
}

static void failing_reset(struct failing *f, size_t fail_at)
{
    f->fail_at = fail_at;
    atomic_store(&f->nallocs, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * An operation under test: runs with alloc, frees what it made (the
 * handles it was given stay), and returns its status.
 */
typedef int (*op_fn)(void *ctx, const struct lc_allocator *alloc,
                     struct lc__errbuf *err);

/*
 * Runs op with allocations N = 0, 1, 2... failing (every stride-th N when
 * stride > 1) until it succeeds. base_live is the blocks alive before
 * (those of a handle opened with f). Returns the number of runs.
 */
static size_t loop(const char *what, op_fn op, void *ctx, struct failing *f,
                   size_t base_live, size_t stride)
{
    struct lc_allocator a = {failing_alloc, failing_free, f};
    size_t n, runs = 0, absorbed = 0;
    int status = LC_ENOMEM;
    double t0 = now_s();
    for (n = 0; n < 1000000; n += stride, runs++) {
        struct lc__errbuf err = {0};
        failing_reset(f, n);
        status = op(ctx, &a, &err);
        size_t live = atomic_load(&f->live), total = atomic_load(&f->nallocs);
        if (live != base_live)
            LC_CHECK_FAIL_("%s: failing allocation %zu leaves %zu blocks", what,
                           n, live - base_live);
        if (status == LC_OK) {
            /* The failure was not reached: done. Or it was absorbed by a
             * fallback (the Parquet reader's speculative reservation in
             * lc__pq_reader_reserve, which growth replaces): go on. */
            if (total <= n)
                break;
            absorbed++;
        } else if (status != LC_ENOMEM) {
            LC_CHECK_FAIL_("%s: failing allocation %zu gave %s (%s)", what, n,
                           lc_err_name(status), err.msg);
            break;
        } else if (err.msg[0] == '\0') {
            LC_CHECK_FAIL_("%s: failing allocation %zu: no message", what, n);
        }
    }
    LC_ASSERT_EQ(status, LC_OK);
    printf("%s: %zu runs, %zu allocations, %zu failures absorbed, %.1f s\n",
           what, runs, n, absorbed, now_s() - t0);
    return runs;
}

/* Allocations op makes when none fails. */
static size_t count_allocs(op_fn op, void *ctx, struct failing *f)
{
    struct lc_allocator a = {failing_alloc, failing_free, f};
    struct lc__errbuf err = {0};
    failing_reset(f, SIZE_MAX);
    int status = op(ctx, &a, &err);
    if (status != LC_OK)
        LC_CHECK_FAIL_("unfailed run gave %s: %s", lc_err_name(status),
                       err.msg);
    return atomic_load(&f->nallocs);
}

/* Every stride-th N up to the unfailed count, about nruns runs. */
static void sampled_loop(const char *what, op_fn op, void *ctx, size_t nruns)
{
    struct failing f = {0};
    size_t total = count_allocs(op, ctx, &f);
    size_t stride = total / nruns > 1 ? total / nruns : 1;
    loop(what, op, ctx, &f, 0, stride);
    LC_ASSERT_UEQ(atomic_load(&f.live), 0);
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ---- one Parquet file from memory --------------------------------------- */

struct mem {
    uint8_t *data;
    size_t nbytes;
};

static int mem_read(void *opaque, struct lc_range_request *rq, size_t n,
                    bool allow_short, struct lc__errbuf *err)
{
    struct mem *m = opaque;
    for (size_t i = 0; i < n; i++) {
        uint64_t avail =
            rq[i].offset < m->nbytes ? m->nbytes - rq[i].offset : 0;
        rq[i].nread = avail < rq[i].nbytes ? (size_t)avail : rq[i].nbytes;
        if (rq[i].nread > 0)
            memcpy(rq[i].buf, m->data + rq[i].offset, rq[i].nread);
        if (rq[i].nread < rq[i].nbytes && !allow_short)
            return lc__error(err, LC_ECORRUPT, "mem: read past the end");
    }
    return LC_OK;
}

static int mem_size(void *opaque, uint64_t *size_ret, struct lc__errbuf *err)
{
    struct mem *m = opaque;
    (void)err;
    *size_ret = m->nbytes;
    return LC_OK;
}

static bool load_file(const char *path, struct mem *m)
{
    FILE *fp = fopen(path, "rb");
    memset(m, 0, sizeof *m);
    if (fp == NULL) {
        LC_CHECK_FAIL_("cannot open %s", path);
        return false;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    m->data = malloc(n > 0 ? (size_t)n : 1);
    m->nbytes = m->data != NULL ? fread(m->data, 1, (size_t)n, fp) : 0;
    fclose(fp);
    return m->data != NULL;
}

struct pq_ctx {
    const char *name;
    struct mem m;
    bool keep_levels;
    unsigned nthreads;
    struct lc__parquet_file *f; /* for read_op: opened with a failing */
    struct failing *fa;         /* allocator that does not fail then */
};

static int read_all_columns(struct lc__parquet_file *f, const struct pq_ctx *c,
                            struct lc__parquet_table **t_ret,
                            struct lc__errbuf *err)
{
    size_t nc = lc__parquet_num_columns(f);
    size_t *cols = malloc((nc > 0 ? nc : 1) * sizeof *cols);
    if (cols == NULL)
        return LC_ENOMEM;
    for (size_t i = 0; i < nc; i++)
        cols[i] = i;
    struct lc__parquet_read_options o = {.keep_levels = c->keep_levels,
                                         .nthreads = c->nthreads};
    int status = lc__parquet_read(f, cols, nc, &o, t_ret, err);
    free(cols);
    if (status == LC_OK && (*t_ret)->nrows != lc__parquet_num_rows(f))
        LC_CHECK_FAIL_("%s: %zu rows read, %ju in the file", c->name,
                       (*t_ret)->nrows, (uintmax_t)lc__parquet_num_rows(f));
    return status;
}

/* Open + read of every leaf column. */
static int pq_open_read_op(void *ctx, const struct lc_allocator *alloc,
                           struct lc__errbuf *err)
{
    struct pq_ctx *c = ctx;
    struct lc__parquet_source src = {.opaque = &c->m,
                                     .name = c->name,
                                     .read = mem_read,
                                     .size = mem_size,
                                     .close = NULL};
    struct lc__parquet_file *f = NULL;
    int status = lc__parquet_open(&src, alloc, NULL, &f, err);
    if (status != LC_OK) {
        if (f != NULL)
            LC_CHECK_FAIL_("%s: failed open left a handle", c->name);
        return status;
    }
    struct lc__parquet_table *t = NULL;
    status = read_all_columns(f, c, &t, err);
    if (status != LC_OK && t != NULL)
        LC_CHECK_FAIL_("%s: failed read left a table", c->name);
    lc__parquet_table_free(t);
    lc__parquet_close(f);
    return status;
}

/* A read on an open file; after a failure, the same handle reads again. */
static int pq_read_op(void *ctx, const struct lc_allocator *alloc,
                      struct lc__errbuf *err)
{
    struct pq_ctx *c = ctx;
    struct lc__parquet_table *t = NULL;
    (void)alloc; /* the file's, c->fa */
    int status = read_all_columns(c->f, c, &t, err);
    lc__parquet_table_free(t);
    if (status == LC_ENOMEM) {
        size_t fail_at = c->fa->fail_at;
        struct lc__errbuf err2 = {0};
        c->fa->fail_at = SIZE_MAX;
        t = NULL;
        int again = read_all_columns(c->f, c, &t, &err2);
        if (again != LC_OK)
            LC_CHECK_FAIL_("%s: read after failing allocation %zu gave %s: "
                           "%s",
                           c->name, fail_at, lc_err_name(again), err2.msg);
        lc__parquet_table_free(t);
        c->fa->fail_at = fail_at;
    }
    return status;
}

static void test_parquet_file(const char *path)
{
    struct pq_ctx c = {.name = path, .nthreads = 1};
    char what[4200];
    if (!load_file(path, &c.m))
        return;
    snprintf(what, sizeof what, "%s open+read", path);
    struct failing f = {0};
    loop(what, pq_open_read_op, &c, &f, 0, 1);

    snprintf(what, sizeof what, "%s open+read keep_levels", path);
    c.keep_levels = true;
    loop(what, pq_open_read_op, &c, &f, 0, 1);
    c.keep_levels = false;

    /* Reads of an open handle, which must stay usable after each. */
    struct lc_allocator a = {failing_alloc, failing_free, &f};
    struct lc__parquet_source src = {.opaque = &c.m,
                                     .name = c.name,
                                     .read = mem_read,
                                     .size = mem_size,
                                     .close = NULL};
    struct lc__errbuf err = {0};
    failing_reset(&f, SIZE_MAX);
    LC_ASSERT_EQ(lc__parquet_open(&src, &a, NULL, &c.f, &err), LC_OK);
    if (c.f != NULL) {
        c.fa = &f;
        snprintf(what, sizeof what, "%s read of an open file", path);
        loop(what, pq_read_op, &c, &f, atomic_load(&f.live), 1);
        lc__parquet_close(c.f);
        c.f = NULL;
    }
    LC_ASSERT_UEQ(atomic_load(&f.live), 0);

    /* Decoding threads: which allocation fails varies, so only the
     * status and leaks are checked. */
    snprintf(what, sizeof what, "%s open+read 4 threads", path);
    c.nthreads = 4;
    sampled_loop(what, pq_open_read_op, &c, 150);
    free(c.m.data);
}

/* A file whose row group is large enough (over 256 KiB) for its chunks
 * to decode on the read's own threads, which then allocate concurrently. */
static void test_parquet_threads(const char *path)
{
    struct pq_ctx c = {.name = path, .nthreads = 4};
    char what[4200];
    if (!load_file(path, &c.m))
        return;
    snprintf(what, sizeof what, "%s open+read 4 threads", path);
    sampled_loop(what, pq_open_read_op, &c, 150);
    free(c.m.data);
}

/* ---- datasets and the stac-geoparquet loader ---------------------------- */

/* The dataset opener, with the allocator for the io handles too. */
static int alloc_open(void *opaque, const char *href,
                      struct lc__parquet_source *src_ret,
                      struct lc__errbuf *err)
{
    struct lc__io *io;
    int status = lc__io_open_href(href, NULL, opaque, &io, err);
    if (status < 0)
        return status;
    *src_ret = lc_glue_source(io);
    return LC_OK;
}

struct ds_ctx {
    const char *path;
    unsigned nthreads;
    bool stac; /* load items instead of reading columns */
};

static int ds_read_all(struct lc__parquet_dataset *ds, unsigned nthreads,
                       struct lc__errbuf *err)
{
    struct lc__parquet_file *f0 = lc__parquet_dataset_file(ds, 0);
    size_t nc = lc__parquet_num_columns(f0);
    size_t nk = lc__parquet_dataset_num_keys(ds);
    const char **paths = malloc((nc + nk + 1) * sizeof *paths);
    if (paths == NULL)
        return LC_ENOMEM;
    for (size_t i = 0; i < nc; i++)
        paths[i] = lc__parquet_column(f0, i)->path;
    for (size_t k = 0; k < nk; k++)
        paths[nc + k] = lc__parquet_dataset_key(ds, k);
    struct lc__parquet_dataset_read_options o = {.nthreads = nthreads};
    struct lc__parquet_table *t = NULL;
    int status = lc__parquet_dataset_read_ex(ds, paths, nc + nk, &o, &t, err);
    if (status == LC_OK) {
        uint64_t rows = 0;
        for (size_t i = 0; i < lc__parquet_dataset_num_files(ds); i++)
            rows += lc__parquet_num_rows(lc__parquet_dataset_file(ds, i));
        LC_ASSERT_UEQ(t->nrows, rows);
        LC_ASSERT_UEQ(t->ncolumns, nc + nk);
    }
    lc__parquet_table_free(t);
    free(paths);
    return status;
}

static int ds_op(void *ctx, const struct lc_allocator *alloc,
                 struct lc__errbuf *err)
{
    struct ds_ctx *c = ctx;
    struct lc_allocator io_alloc = *alloc; /* the opener's, not const */
    struct lc__parquet_opener opener = {.opaque = &io_alloc,
                                        .open = alloc_open};
    struct lc__parquet_dataset *ds = NULL;
    int status =
        lc__parquet_dataset_open(c->path, &opener, alloc, NULL, &ds, err);
    if (status != LC_OK) {
        if (ds != NULL)
            LC_CHECK_FAIL_("%s: failed open left a handle", c->path);
        return status;
    }
    if (!c->stac) {
        status = ds_read_all(ds, c->nthreads, err);
    } else {
        static const char *const fields[] = {"eo:cloud_cover", "platform",
                                             "proj:code", "no:such"};
        static const char *const afields[] = {"title", "file:size"};
        struct lc__stac_load_options o = {
            .alloc = alloc,
            .fields = fields,
            .nfields = LC_ARRAY_SIZE(fields),
            .asset_fields = afields,
            .nasset_fields = LC_ARRAY_SIZE(afields),
            .nthreads = c->nthreads,
        };
        struct lc__stac_items *t = NULL;
        status = lc__stac_items_from_parquet(ds, &o, &t, err);
        if (status == LC_OK)
            LC_ASSERT_TRUE(t->count > 0);
        else if (t != NULL)
            LC_CHECK_FAIL_("%s: failed load left a table", c->path);
        lc__stac_items_free(t);
    }
    lc__parquet_dataset_close(ds);
    return status;
}

static void test_dataset(const char *path, bool stac)
{
    struct ds_ctx c = {.path = path, .nthreads = 1, .stac = stac};
    char what[4200];
    struct failing f = {0};
    snprintf(what, sizeof what, "%s %s", path,
             stac ? "stac items" : "dataset read");
    loop(what, ds_op, &c, &f, 0, 1);
    LC_ASSERT_UEQ(atomic_load(&f.live), 0);
    c.nthreads = 4;
    snprintf(what, sizeof what, "%s %s 4 threads", path,
             stac ? "stac items" : "dataset read");
    sampled_loop(what, ds_op, &c, 150);
}

/* ---- collection open + read --------------------------------------------- */

#define CW 90
#define CH 80

struct coll_ctx {
    const char *catalog;
    size_t nthreads;
    struct lc_collection *c; /* for coll_read_op */
    struct failing *fa;
    size_t nbands, ntimes; /* of the read: the first of 3 and 2 */
    void *want;            /* an unfailed read's pixels */
    size_t items_read;
    void *out;
    size_t nbytes;
};

/* Where four zone-15 tiles of the ci world overlap (T15TUM, TVM, TUN and
 * TVN: x 499980-509760, y 5190240-5200020), at 100 m. */
static struct lc_collection_options coll_options(size_t nthreads)
{
    struct lc_collection_options o = {.struct_size = sizeof o};
    o.crs = "EPSG:32615";
    o.bbox[0] = 500500.0;
    o.bbox[1] = 5191000.0;
    o.bbox[2] = 509500.0;
    o.bbox[3] = 5199000.0;
    o.resolution = 100.0;
    o.mosaic_method = LC_MOSAIC_MEDIAN;
    o.sortby = "eo:cloud_cover";
    o.filter = "eo:cloud_cover < 101 or eo:cloud_cover is null";
    o.nthreads = nthreads;
    o.max_concurrent_reads = nthreads > 1 ? 8 : 1;
    return o;
}

static int coll_open_op(void *ctx, const struct lc_allocator *alloc,
                        struct lc__errbuf *err)
{
    struct coll_ctx *cc = ctx;
    struct lc_collection_options o = coll_options(cc->nthreads);
    struct lc_collection *c = NULL;
    int status = lc__collection_open(cc->catalog, &o, alloc, &c, err);
    if (status == LC_OK)
        LC_ASSERT_TRUE(c->ntimes >= 2 && c->nbands >= 5);
    else if (c != NULL)
        LC_CHECK_FAIL_("failed collection open left a handle");
    lc_collection_close(c);
    return status;
}

static int do_read(struct coll_ctx *cc, struct lc__errbuf *err)
{
    static const size_t bands[] = {0, 4, 1};
    static const size_t times[] = {0, 1};
    struct lc_read_request r = {.struct_size = sizeof r};
    r.bands = bands;
    r.nbands = cc->nbands;
    r.times = times;
    r.ntimes = cc->ntimes;
    r.width = CW;
    r.height = CH;
    r.out = cc->out;
    r.out_nbytes = cc->nbytes;
    struct lc_read_stats st = {.struct_size = sizeof st};
    int status = lc_collection_read(cc->c, &r, &st);
    cc->items_read = st.items_read;
    if (status != LC_OK)
        lc__error(err, status, "%s", lc_errmsg());
    return status;
}

/* A read; after a failure, the same collection reads the same pixels. */
static int coll_read_op(void *ctx, const struct lc_allocator *alloc,
                        struct lc__errbuf *err)
{
    struct coll_ctx *cc = ctx;
    (void)alloc; /* the collection's, cc->fa */
    int status = do_read(cc, err);
    if (status == LC_OK && cc->want != NULL)
        LC_ASSERT_MEM_EQ(cc->out, cc->want, cc->nbytes);
    /* (every 8th failure: a read takes a while under ASan) */
    if (status == LC_ENOMEM && cc->want != NULL && cc->fa->fail_at % 8 == 0) {
        size_t fail_at = cc->fa->fail_at;
        struct lc__errbuf err2 = {0};
        cc->fa->fail_at = SIZE_MAX;
        int again = do_read(cc, &err2);
        if (again != LC_OK)
            LC_CHECK_FAIL_("read after failing allocation %zu gave %s: %s",
                           fail_at, lc_err_name(again), err2.msg);
        else if (memcmp(cc->out, cc->want, cc->nbytes) != 0)
            LC_CHECK_FAIL_("read after failing allocation %zu differs",
                           fail_at);
        cc->fa->fail_at = fail_at;
    }
    return status;
}

static void test_collection(const char *catalog, size_t nthreads)
{
    struct coll_ctx cc = {.catalog = catalog, .nthreads = nthreads};
    struct failing f = {0};
    char what[4200];
    snprintf(what, sizeof what, "%s collection open, %zu thread(s)", catalog,
             nthreads);
    if (nthreads == 1)
        loop(what, coll_open_op, &cc, &f, 0, 1);
    else
        sampled_loop(what, coll_open_op, &cc, 150);

    /* Reads of one collection opened with the allocator. */
    struct lc_allocator a = {failing_alloc, failing_free, &f};
    struct lc_collection_options o = coll_options(nthreads);
    struct lc__errbuf err = {0};
    failing_reset(&f, SIZE_MAX);
    int status = lc__collection_open(catalog, &o, &a, &cc.c, &err);
    LC_ASSERT_EQ(status, LC_OK);
    if (status != LC_OK) {
        fprintf(stderr, "%s: %s\n", catalog, err.msg);
        return;
    }
    cc.fa = &f;
    /* Exhaustive with one thread, over 2 bands of one step (each run is a
     * whole read: it takes a while under the sanitizers); sampled with
     * four, over 3 bands of two steps. */
    cc.nbands = nthreads == 1 ? 2 : 3;
    cc.ntimes = nthreads == 1 ? 1 : 2;
    cc.nbytes = cc.nbands * cc.ntimes * CW * CH * lc_dtype_nbytes(cc.c->dtype);
    cc.out = malloc(cc.nbytes);
    cc.want = malloc(cc.nbytes);
    LC_ASSERT_EQ(do_read(&cc, &err), LC_OK);
    printf("collection read: %zu items\n", cc.items_read);
    LC_ASSERT_TRUE(cc.items_read >= 3); /* several items, several bands */
    memcpy(cc.want, cc.out, cc.nbytes);
    snprintf(what, sizeof what, "%s collection read, %zu thread(s)", catalog,
             nthreads);
    size_t base = atomic_load(&f.live);
    if (nthreads == 1) {
        loop(what, coll_read_op, &cc, &f, base, 1);
    } else {
        failing_reset(&f, SIZE_MAX);
        do_read(&cc, &err);
        size_t total = atomic_load(&f.nallocs);
        loop(what, coll_read_op, &cc, &f, base,
             total / 40 > 1 ? total / 40 : 1);
    }
    lc_collection_close(cc.c);
    LC_ASSERT_UEQ(atomic_load(&f.live), 0);
    free(cc.out);
    free(cc.want);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_alloc_fail PARQUET_DIR [WORLD_DIR "
                        "[REALDATA_STAC_DIR]]\n");
        return 2;
    }
    static const char *const files[] = {
        "flat.parquet",      "nested.parquet",       "encodings.parquet",
        "stats.parquet",     "legacy_lists.parquet", "lz4_hadoop.parquet",
        "big_footer.parquet"};
    char path[4096];
    for (size_t i = 0; i < LC_ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], files[i]);
        test_parquet_file(path);
    }
    snprintf(path, sizeof path, "%s/dataset/hive", argv[1]);
    test_dataset(path, false);
    snprintf(path, sizeof path, "%s/dataset/multi", argv[1]);
    test_dataset(path, false);

    if (argc > 2) {
        snprintf(path, sizeof path, "%s/items.parquet", argv[2]);
        if (is_file(path)) {
            test_dataset(path, true);
            test_collection(path, 1);
            test_collection(path, 4);
        } else {
            printf("skipped: no %s (run tools/make_world.py)\n", path);
        }
        snprintf(path, sizeof path, "%s/items-pyarrow.parquet", argv[2]);
        if (is_file(path))
            test_dataset(path, true);
    }
    if (argc > 3 && is_dir(argv[3])) {
        snprintf(path, sizeof path, "%s/rustac/100-landsat-items.parquet",
                 argv[3]);
        if (is_file(path))
            test_parquet_threads(path);
        snprintf(path, sizeof path, "%s/stac-geoparquet/naip.parquet", argv[3]);
        if (is_file(path))
            test_dataset(path, true);
    }
    lc__header_cache_clear();
    lc__geo_thread_cleanup();
    LC_TEST_END();
}
