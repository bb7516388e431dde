/* test_cog_threads.c - many threads reading one COG handle at once. */
/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include "lazycogs.h"
#include "test_util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Usage: test_cog_threads PATH... (COG files or URLs, or folders searched
 * for .tif files, at most MAX_PER_DIR of each folder in name order).
 *
 * For each file, a list of random reads (levels, windows, sample subsets,
 * masks) is done once on a private handle, single-threaded: the expected
 * answers. Then NTHREADS threads do every read, each in its own order, on
 * ONE shared handle while another thread asks it for its info and levels,
 * and every answer must equal the expected one. Each reader also makes a
 * read that fails (a level the file lacks, different in every thread) and
 * must find its own message in lc_errmsg(). Without the block cache
 * (LAZYCOGS_BLOCK_CACHE_BYTES=0), the shared handle's request and byte
 * counters must grow by exactly NTHREADS times what the private handle's
 * did, as the reads are the same; with it, by once to NTHREADS times the
 * bytes of the distinct blocks.
 *
 * A generated file covers what the real COGs do not: its TileOffsets and
 * TileByteCounts (256 KiB each) lie past the prefix and are loaded
 * lazily, so the threads race to load overlapping runs of one index. Its
 * pixels follow a formula, checked too. Run under ASan/UBSan by CTest,
 * and under TSan in a -DLC_TSAN=ON build.
 */

#define NTHREADS 8
#define NJOBS 24
#define MAX_PER_DIR 10
#define MAX_FILES 64
#define MAX_WIN 256

struct job {
    size_t level;
    struct lc_window win;
    bool mask;
    uint32_t sample; /* UINT32_MAX: all samples */
    size_t nbytes;
    int status; /* what the private handle returned */
    uint8_t *expected;
};

struct shared_run {
    struct lc_cog *cog;
    struct job *jobs;
    size_t njobs;
    size_t nlevels;
    int readers_done; /* under done_mu */
    pthread_mutex_t done_mu;
};

struct reader {
    struct shared_run *run;
    unsigned id;
    int mismatches;
    int bad_errors;
    char first_problem[600];
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int do_job(struct lc_cog *cog, const struct job *j, uint8_t *out)
{
    if (j->mask)
        return lc_cog_read_mask(cog, j->level, &j->win, out, j->nbytes);
    return lc_cog_read_window(cog, j->level, &j->win,
                              j->sample == UINT32_MAX ? NULL : &j->sample, 1,
                              out, j->nbytes);
}

static void note(struct reader *r, const char *what, size_t k)
{
    if (r->first_problem[0] == '\0')
        snprintf(r->first_problem, sizeof(r->first_problem),
                 "thread %u, job %zu: %s (%s)", r->id, k, what, lc_errmsg());
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct shared_run *run = r->run;
    uint64_t seed = 0x9e3779b97f4a7c15ull * (r->id + 1);
    size_t *order = malloc(run->njobs * sizeof(*order));

    for (size_t k = 0; k < run->njobs; k++)
        order[k] = k;
    for (size_t k = run->njobs; k > 1; k--) {
        size_t i = (size_t)(rng_next(&seed) % k);
        size_t t = order[k - 1];
        order[k - 1] = order[i];
        order[i] = t;
    }
    for (size_t n = 0; n < run->njobs; n++) {
        const struct job *j = &run->jobs[order[n]];
        uint8_t *out = malloc(j->nbytes);
        int status = do_job(run->cog, j, out);
        if (status != j->status) {
            note(r, "status differs", order[n]);
            r->mismatches++;
        } else if (status == LC_OK &&
                   memcmp(out, j->expected, j->nbytes) != 0) {
            note(r, "pixels differ", order[n]);
            r->mismatches++;
        }
        free(out);

        /* Halfway, a read that fails: the message must be this thread's. */
        if (n == run->njobs / 2) {
            size_t level = run->nlevels + r->id;
            struct lc_window w = {0, 0, 1, 1};
            uint8_t px[64];
            char want[64];
            snprintf(want, sizeof(want), "level %zu does not exist", level);
            status = lc_cog_read_window(run->cog, level, &w, NULL, 0, px,
                                        sizeof(px));
            if (status != LC_EINVAL || strstr(lc_errmsg(), want) == NULL) {
                note(r, "wrong error for a missing level", n);
                r->bad_errors++;
            }
        }
    }
    free(order);
    return NULL;
}

/* Asks the shared handle for its info and levels until the readers end. */
static void *info_main(void *arg)
{
    struct shared_run *run = arg;
    int bad = 0;

    for (;;) {
        pthread_mutex_lock(&run->done_mu);
        int done = run->readers_done;
        pthread_mutex_unlock(&run->done_mu);
        if (done)
            break;
        struct lc_cog_info info = {.struct_size = sizeof(info)};
        if (lc_cog_get_info(run->cog, &info) != LC_OK ||
            info.nlevels != run->nlevels)
            bad++;
        for (size_t l = 0; l < run->nlevels; l++) {
            struct lc_cog_level lv = {.struct_size = sizeof(lv)};
            if (lc_cog_get_level(run->cog, l, &lv) != LC_OK)
                bad++;
        }
    }
    return (void *)(intptr_t)bad;
}

/* Whether reads keep the blocks they fetch (LAZYCOGS_BLOCK_CACHE_BYTES
 * unset or not 0; ctest runs this test both ways). */
static bool block_cache_on(void)
{
    const char *v = getenv("LAZYCOGS_BLOCK_CACHE_BYTES");
    return v == NULL || strcmp(v, "0") != 0;
}

static void counters(struct lc_cog *cog, uint64_t *nreq, uint64_t *nbytes)
{
    struct lc_cog_info info = {.struct_size = sizeof(info)};

    LC_ASSERT_EQ(lc_cog_get_info(cog, &info), LC_OK);
    *nreq = info.nrequests;
    *nbytes = info.nbytes_read;
}

/* ---- the generated lazily indexed file ------------------------------------
 */

#define GEN_SIZE 4096 /* pixels each way */
#define GEN_TILE 16
#define GEN_TILES_ACROSS (GEN_SIZE / GEN_TILE)
#define GEN_NTILES (GEN_TILES_ACROSS * GEN_TILES_ACROSS)

/* Every row of a tile is one value, so PackBits stores it in 2 bytes. */
static uint8_t gen_value(uint32_t x, uint32_t y)
{
    uint32_t t = (y / GEN_TILE) * GEN_TILES_ACROSS + x / GEN_TILE;
    uint32_t h = t * 2654435761u;
    return (uint8_t)((h >> 13) + (y % GEN_TILE) * 5);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes the file; returns false when it cannot. */
static bool write_generated(const char *path)
{
    enum { NENTRIES = 11, TILE_NBYTES = 2 * GEN_TILE };
    /* Tiles and indexes lie past the 64 KiB prefix read at open, so every
     * byte of them a read needs is fetched (and counted). */
    const uint32_t ifd_at = 8;
    const uint32_t data_at = 65536;
    const uint32_t offsets_at = data_at + TILE_NBYTES * GEN_NTILES;
    const uint32_t counts_at = offsets_at + 4 * GEN_NTILES;
    size_t total = counts_at + 4 * GEN_NTILES;
    uint8_t *f = calloc(1, total);
    if (f == NULL)
        return false;

    memcpy(f, "II*\0", 4);
    put32(f + 4, ifd_at);
    static const struct {
        uint16_t tag, type;
        uint32_t count, value;
    } e[NENTRIES] = {
        {256, 4, 1, GEN_SIZE}, {257, 4, 1, GEN_SIZE},   {258, 3, 1, 8},
        {259, 3, 1, 32773}, /* PackBits */
        {262, 3, 1, 1},        {277, 3, 1, 1},          {322, 3, 1, GEN_TILE},
        {323, 3, 1, GEN_TILE}, {324, 4, GEN_NTILES, 0}, {325, 4, GEN_NTILES, 0},
        {339, 3, 1, 1},
    };
    uint8_t *p = f + ifd_at;
    put16(p, NENTRIES);
    p += 2;
    for (int i = 0; i < NENTRIES; i++, p += 12) {
        put16(p, e[i].tag);
        put16(p + 2, e[i].type);
        put32(p + 4, e[i].count);
        uint32_t v = e[i].tag == 324   ? offsets_at
                     : e[i].tag == 325 ? counts_at
                                       : e[i].value;
        if (e[i].type == 3)
            put16(p + 8, (uint16_t)v);
        else
            put32(p + 8, v);
    }
    put32(p, 0); /* no next IFD */
    /* Tiles are stored in reverse order, so no index entry is trivial. */
    for (uint32_t t = 0; t < GEN_NTILES; t++) {
        uint32_t at = data_at + (GEN_NTILES - 1 - t) * TILE_NBYTES;
        put32(f + offsets_at + 4 * t, at);
        put32(f + counts_at + 4 * t, TILE_NBYTES);
        uint32_t x0 = (t % GEN_TILES_ACROSS) * GEN_TILE;
        uint32_t y0 = (t / GEN_TILES_ACROSS) * GEN_TILE;
        for (uint32_t r = 0; r < GEN_TILE; r++) {
            f[at + 2 * r] = (uint8_t)(1 - GEN_TILE); /* repeat 16 times */
            f[at + 2 * r + 1] = gen_value(x0, y0 + r);
        }
    }
    FILE *fp = fopen(path, "wb");
    bool ok = fp != NULL && fwrite(f, 1, total, fp) == total;
    if (fp != NULL)
        ok = fclose(fp) == 0 && ok;
    free(f);
    return ok;
}

/* ---- one file ---------------------------------------------------------- */

static void make_jobs(struct lc_cog *cog, struct job *jobs, size_t njobs,
                      uint64_t *seed)
{
    struct lc_cog_info info = {.struct_size = sizeof(info)};

    LC_ASSERT_EQ(lc_cog_get_info(cog, &info), LC_OK);
    for (size_t k = 0; k < njobs; k++) {
        struct job *j = &jobs[k];
        memset(j, 0, sizeof(*j));
        j->level = (size_t)(rng_next(seed) % info.nlevels);
        struct lc_cog_level lv = {.struct_size = sizeof(lv)};
        LC_ASSERT_EQ(lc_cog_get_level(cog, j->level, &lv), LC_OK);
        uint32_t max_w = lv.width < MAX_WIN ? lv.width : MAX_WIN;
        uint32_t max_h = lv.height < MAX_WIN ? lv.height : MAX_WIN;
        j->win.width = 1 + (uint32_t)(rng_next(seed) % max_w);
        j->win.height = 1 + (uint32_t)(rng_next(seed) % max_h);
        j->win.col_off =
            (uint32_t)(rng_next(seed) % (lv.width - j->win.width + 1));
        j->win.row_off =
            (uint32_t)(rng_next(seed) % (lv.height - j->win.height + 1));
        j->mask = lv.has_mask && rng_next(seed) % 4 == 0;
        j->sample = info.samples > 1 && rng_next(seed) % 2 == 0
                        ? (uint32_t)(rng_next(seed) % info.samples)
                        : UINT32_MAX;
        size_t per_px = j->mask ? 1
                        : j->sample == UINT32_MAX
                            ? info.samples * lc_dtype_nbytes(info.dtype)
                            : lc_dtype_nbytes(info.dtype);
        j->nbytes = (size_t)j->win.width * j->win.height * per_px;
    }
}

static void check_file(const char *path, bool generated)
{
    struct lc_cog *priv = NULL, *shared = NULL;
    struct job jobs[NJOBS];
    uint64_t seed = 0x1234567 ^ strlen(path);

    if (lc_cog_open(path, &priv) != LC_OK ||
        lc_cog_open(path, &shared) != LC_OK) {
        LC_CHECK_FAIL_("%s: cannot open: %s", path, lc_errmsg());
        lc_cog_close(priv);
        lc_cog_close(shared);
        return;
    }
    make_jobs(priv, jobs, NJOBS, &seed);
    uint64_t req0, bytes0, req1, bytes1;
    counters(priv, &req0, &bytes0);
    int nfailed = 0;
    for (size_t k = 0; k < NJOBS; k++) {
        jobs[k].expected = malloc(jobs[k].nbytes);
        jobs[k].status = do_job(priv, &jobs[k], jobs[k].expected);
        nfailed += jobs[k].status != LC_OK;
        if (generated && jobs[k].status == LC_OK) {
            const struct lc_window *w = &jobs[k].win;
            for (uint32_t y = 0; y < w->height; y++)
                for (uint32_t x = 0; x < w->width; x++)
                    if (jobs[k].expected[(size_t)y * w->width + x] !=
                        gen_value(w->col_off + x, w->row_off + y)) {
                        LC_CHECK_FAIL_("%s: pixel (%u, %u) is wrong", path,
                                       w->col_off + x, w->row_off + y);
                        y = w->height;
                        break;
                    }
        }
    }
    /* The files are good: every read works (the threads must agree). */
    LC_ASSERT_EQ(nfailed, 0);
    counters(priv, &req1, &bytes1);

    struct lc_cog_info info = {.struct_size = sizeof(info)};
    LC_ASSERT_EQ(lc_cog_get_info(shared, &info), LC_OK);
    struct shared_run run = {
        .cog = shared, .jobs = jobs, .njobs = NJOBS, .nlevels = info.nlevels};
    pthread_mutex_init(&run.done_mu, NULL);
    uint64_t sreq0, sbytes0, sreq1, sbytes1;
    counters(shared, &sreq0, &sbytes0);

    struct reader readers[NTHREADS];
    pthread_t tids[NTHREADS], info_tid;
    LC_ASSERT_EQ(pthread_create(&info_tid, NULL, info_main, &run), 0);
    for (unsigned i = 0; i < NTHREADS; i++) {
        readers[i] = (struct reader){.run = &run, .id = i};
        LC_ASSERT_EQ(pthread_create(&tids[i], NULL, reader_main, &readers[i]),
                     0);
    }
    for (unsigned i = 0; i < NTHREADS; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_lock(&run.done_mu);
    run.readers_done = 1;
    pthread_mutex_unlock(&run.done_mu);
    void *info_bad;
    pthread_join(info_tid, &info_bad);
    LC_ASSERT_EQ((intptr_t)info_bad, 0);

    for (unsigned i = 0; i < NTHREADS; i++) {
        if (readers[i].mismatches != 0 || readers[i].bad_errors != 0)
            LC_CHECK_FAIL_("%s: %d mismatches, %d wrong errors; first: %s",
                           path, readers[i].mismatches, readers[i].bad_errors,
                           readers[i].first_problem);
    }
    counters(shared, &sreq1, &sbytes1);
    if (!generated && block_cache_on()) {
        /* Each handle fetches a block at least once (the cache is per
         * handle), and at most once per thread: threads may miss a block
         * together. Single-threaded, the private handle fetched each
         * block once. */
        LC_ASSERT_TRUE(sbytes1 - sbytes0 >= bytes1 - bytes0);
        LC_ASSERT_TRUE(sbytes1 - sbytes0 <= NTHREADS * (bytes1 - bytes0));
    } else if (!generated) {
        /* Indexes were loaded at open: every read makes the same requests
         * in any thread. */
        LC_ASSERT_UEQ(sreq1 - sreq0, NTHREADS * (req1 - req0));
        LC_ASSERT_UEQ(sbytes1 - sbytes0, NTHREADS * (bytes1 - bytes0));
    } else {
        /* Every tile read fetches its 32 bytes each time; every index
         * entry (4 + 4 bytes) is fetched once per handle, however the
         * threads raced to load it. A read loads the index entries from
         * its first block to its last in row-major order in one go. */
        uint8_t *touched = calloc(GEN_NTILES, 1);
        uint8_t *read = calloc(GEN_NTILES, 1);
        uint64_t tiles = 0, distinct = 0, distinct_tiles = 0;
        for (size_t k = 0; k < NJOBS; k++) {
            const struct lc_window *w = &jobs[k].win;
            uint32_t bx0 = w->col_off / GEN_TILE;
            uint32_t bx1 = (w->col_off + w->width - 1) / GEN_TILE;
            uint32_t by0 = w->row_off / GEN_TILE;
            uint32_t by1 = (w->row_off + w->height - 1) / GEN_TILE;
            tiles += (uint64_t)(bx1 - bx0 + 1) * (by1 - by0 + 1);
            for (uint32_t i = by0 * GEN_TILES_ACROSS + bx0;
                 i <= by1 * GEN_TILES_ACROSS + bx1; i++) {
                distinct += !touched[i];
                touched[i] = 1;
            }
            for (uint32_t by = by0; by <= by1; by++)
                for (uint32_t bx = bx0; bx <= bx1; bx++) {
                    distinct_tiles += !read[by * GEN_TILES_ACROSS + bx];
                    read[by * GEN_TILES_ACROSS + bx] = 1;
                }
        }
        free(touched);
        free(read);
        if (block_cache_on()) {
            /* Each tile is fetched once by the private handle, and once
             * to once per thread by the shared one. */
            LC_ASSERT_UEQ(bytes1 - bytes0, 32 * distinct_tiles + 8 * distinct);
            LC_ASSERT_TRUE(sbytes1 - sbytes0 >=
                           32 * distinct_tiles + 8 * distinct);
            LC_ASSERT_TRUE(sbytes1 - sbytes0 <=
                           NTHREADS * 32 * distinct_tiles + 8 * distinct);
        } else {
            LC_ASSERT_UEQ(bytes1 - bytes0, 32 * tiles + 8 * distinct);
            LC_ASSERT_UEQ(sbytes1 - sbytes0,
                          NTHREADS * 32 * tiles + 8 * distinct);
        }
    }
    pthread_mutex_destroy(&run.done_mu);
    for (size_t k = 0; k < NJOBS; k++)
        free(jobs[k].expected);
    lc_cog_close(shared);
    lc_cog_close(priv);
}

/* ---- arguments ----------------------------------------------------------
 */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends up to *budget .tif files under dir, in name order. */
static void collect(const char *dir, char **files, size_t *n, size_t *budget)
{
    DIR *d = opendir(dir);
    char *names[4096];
    size_t nnames = 0;

    if (d == NULL)
        return;
    for (struct dirent *de = readdir(d); de != NULL && nnames < 4096;
         de = readdir(d)) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        names[nnames] = malloc(len);
        snprintf(names[nnames], len, "%s/%s", dir, de->d_name);
        nnames++;
    }
    closedir(d);
    qsort(names, nnames, sizeof(*names), cmp_str);
    for (size_t i = 0; i < nnames; i++) {
        struct stat st;
        size_t len = strlen(names[i]);
        if (*budget > 0 && stat(names[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            collect(names[i], files, n, budget);
        } else if (*budget > 0 && *n < MAX_FILES && len > 4 &&
                   strcmp(names[i] + len - 4, ".tif") == 0) {
            files[(*n)++] = names[i];
            names[i] = NULL;
            (*budget)--;
        }
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    char *files[MAX_FILES];
    size_t nfiles = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (strstr(argv[i], "://") != NULL && nfiles < MAX_FILES) {
            files[nfiles] = malloc(strlen(argv[i]) + 1); /* a URL */
            strcpy(files[nfiles++], argv[i]);
            continue;
        }
        if (stat(argv[i], &st) != 0) {
            LC_CHECK_FAIL_("%s: not found", argv[i]);
            continue;
        }
        size_t budget = MAX_PER_DIR;
        if (S_ISDIR(st.st_mode)) {
            collect(argv[i], files, &nfiles, &budget);
        } else if (nfiles < MAX_FILES) {
            files[nfiles] = malloc(strlen(argv[i]) + 1);
            strcpy(files[nfiles++], argv[i]);
        }
    }
    for (size_t i = 0; i < nfiles; i++) {
        check_file(files[i], false);
        free(files[i]);
    }

    char gen[] = "/tmp/lc_cog_threads_XXXXXX";
    int fd = mkstemp(gen);
    LC_ASSERT_TRUE(fd >= 0);
    if (fd >= 0) {
        close(fd);
        LC_ASSERT_TRUE(write_generated(gen));
        check_file(gen, true);
        unlink(gen);
    }
    printf("%zu files and the generated one read by %d threads at once\n",
           nfiles, NTHREADS);
    LC_TEST_END();
}
