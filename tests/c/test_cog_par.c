/* test_cog_par.c - the COG reader decodes a window's blocks through
 * lc__par_for: with a hook that runs them on several threads in reverse
 * order, the pixels and the error of a corrupt window are those of a read
 * without one. Also a window read into rows of a larger array
 * (lc__cog_read_window_rows), and into a window asked for once the blocks
 * are in (lc__cog_read_window_rows_into). */
/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include "../../src/common/par.h"
#include "../../src/tiff/tiff.h"
#include "lazycogs.h"
#include "test_util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define WIDTH 1000 /* 16 x 12 tiles of 64 px, the last ones partial */
#define HEIGHT 760
#define TILE 64
#define NTHREADS 4

static uint16_t value_at(uint32_t x, uint32_t y)
{
    return (uint16_t)(x * 7 + y * 13 + (x * y) % 97);
}

/* ---- a hook that runs the iterations on NTHREADS threads ---------------- */

struct par_run {
    size_t n;
    lc__par_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    size_t taken; /* iterations handed out, last first */
};

static size_t g_calls, g_iterations;

static void *par_thread(void *arg)
{
    struct par_run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        size_t i = r->taken < r->n ? r->n - 1 - r->taken++ : SIZE_MAX;
        pthread_mutex_unlock(&r->mu);
        if (i == SIZE_MAX)
            return NULL;
        r->fn(r->ctx, i);
    }
}

static void run_on_threads(void *arg, size_t n, lc__par_fn fn, void *ctx)
{
    (void)arg;
    struct par_run r = {.n = n, .fn = fn, .ctx = ctx};
    pthread_t th[NTHREADS];
    g_calls++;
    g_iterations += n;
    LC_ASSERT_EQ(pthread_mutex_init(&r.mu, NULL), 0);
    for (int k = 0; k < NTHREADS; k++)
        LC_ASSERT_EQ(pthread_create(&th[k], NULL, par_thread, &r), 0);
    for (int k = 0; k < NTHREADS; k++)
        pthread_join(th[k], NULL);
    pthread_mutex_destroy(&r.mu);
}

/* ---- files ----------------------------------------------------------------
 */

static bool write_cog(const char *path)
{
    struct lc_tiff_writer_options o = {.struct_size = sizeof o};
    o.width = WIDTH;
    o.height = HEIGHT;
    o.nbands = 1;
    o.dtype = LC_DTYPE_UINT16;
    o.tile_width = TILE;
    o.tile_height = TILE;
    struct lc_tiff_writer *w = NULL;
    if (lc_tiff_writer_open(path, &o, &w) != LC_OK)
        return false;
    uint16_t *px = malloc((size_t)WIDTH * HEIGHT * sizeof *px);
    if (px == NULL) {
        lc_tiff_writer_close(w);
        return false;
    }
    for (uint32_t y = 0; y < HEIGHT; y++)
        for (uint32_t x = 0; x < WIDTH; x++)
            px[(size_t)y * WIDTH + x] = value_at(x, y);
    int st = lc_tiff_writer_write(w, 0, 0, WIDTH, HEIGHT, px,
                                  (size_t)WIDTH * HEIGHT * sizeof *px);
    free(px);
    if (st == LC_OK)
        st = lc_tiff_writer_finish(w);
    lc_tiff_writer_close(w);
    return st == LC_OK;
}

/* A copy of src with n bytes from off1 and from off2 turned to 0x5A. */
static bool spoil_copy(const char *src, const char *dst, long off1, long off2,
                       long n)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    bool ok = in != NULL && out != NULL;
    for (long pos = 0; ok;) {
        int c = fgetc(in);
        if (c == EOF)
            break;
        if ((pos >= off1 && pos < off1 + n) || (pos >= off2 && pos < off2 + n))
            c = 0x5A;
        ok = fputc(c, out) != EOF;
        pos++;
    }
    if (in != NULL)
        fclose(in);
    if (out != NULL && fclose(out) != 0)
        ok = false;
    return ok;
}

/* Reads window w of path into out: status and message. */
static int read_window(const char *path, struct lc_window w, uint16_t *out,
                       char *msg, size_t cap)
{
    struct lc_cog *cog = NULL;
    int st = lc_cog_open(path, &cog);
    if (st == LC_OK)
        st = lc_cog_read_window(cog, 0, &w, NULL, 0, out,
                                (size_t)w.width * w.height * sizeof *out);
    snprintf(msg, cap, "%s", st == LC_OK ? "" : lc_errmsg());
    lc_cog_close(cog);
    return st;
}

static int read_all(const char *path, uint16_t *out, char *msg, size_t cap)
{
    return read_window(path, (struct lc_window){0, 0, WIDTH, HEIGHT}, out, msg,
                       cap);
}

/* The message of the first tile of path (row by row) that fails alone;
 * how many fail in *nfailed. */
static void first_failing_tile(const char *path, char *msg, size_t cap,
                               size_t *nfailed)
{
    static uint16_t tile[TILE * TILE];
    char m[1024];
    *nfailed = 0;
    msg[0] = '\0';
    for (uint32_t y = 0; y < HEIGHT; y += TILE)
        for (uint32_t x = 0; x < WIDTH; x += TILE) {
            struct lc_window w = {x, y, WIDTH - x < TILE ? WIDTH - x : TILE,
                                  HEIGHT - y < TILE ? HEIGHT - y : TILE};
            if (read_window(path, w, tile, m, sizeof m) != LC_OK &&
                (*nfailed)++ == 0)
                snprintf(msg, cap, "%s", m);
        }
}

static void test_pixels_and_errors(const char *path, const char *spoilt)
{
    size_t npx = (size_t)WIDTH * HEIGHT;
    uint16_t *a = malloc(npx * sizeof *a), *b = malloc(npx * sizeof *b);
    char ma[1024], mb[1024];
    if (a == NULL || b == NULL)
        goto done;

    /* Without a hook: the formula. */
    LC_ASSERT_EQ(read_all(path, a, ma, sizeof ma), LC_OK);
    size_t bad = 0;
    for (uint32_t y = 0; y < HEIGHT; y++)
        for (uint32_t x = 0; x < WIDTH; x++)
            bad += a[(size_t)y * WIDTH + x] != value_at(x, y);
    LC_ASSERT_UEQ(bad, 0);

    /* With the hook: the same pixels, every block through it. */
    struct lc__par_hook hook = {run_on_threads, NULL};
    lc__par_set_hook(&hook);
    memset(b, 0xEE, npx * sizeof *b);
    LC_ASSERT_EQ(read_all(path, b, mb, sizeof mb), LC_OK);
    lc__par_set_hook(NULL);
    LC_ASSERT_MEM_EQ(a, b, npx * sizeof *a);
    LC_ASSERT_TRUE(g_calls >= 1);
    LC_ASSERT_UEQ(g_iterations, 16 * 12);

    /* A spoilt window fails alike with and without the hook. */
    int sa = read_all(spoilt, a, ma, sizeof ma);
    lc__par_set_hook(&hook);
    int sb = read_all(spoilt, b, mb, sizeof mb);
    lc__par_set_hook(NULL);
    LC_ASSERT_EQ(sa, LC_ECORRUPT);
    LC_ASSERT_EQ(sb, sa);
    LC_ASSERT_STR_EQ(mb, ma);
    LC_ASSERT_TRUE(strstr(ma, spoilt) != NULL);
    /* ... naming the first spoilt block in the window's order, though
     * the threads met the last one first. */
    char first[1024];
    size_t nfailed;
    first_failing_tile(spoilt, first, sizeof first, &nfailed);
    LC_ASSERT_TRUE(nfailed >= 2);
    LC_ASSERT_STR_EQ(ma, first);
    LC_ASSERT_TRUE(strstr(ma, ": block (") != NULL);
done:
    free(a);
    free(b);
}

/* A window read into rows PITCH values apart, at a column of the array:
 * the window's pixels, nothing else written; rows closer than the
 * window's, or an array too small, fail with their own errors. */
static void test_rows(const char *path)
{
    enum { PITCH = 613, AT = 40, ROWS = 300 };
    struct lc_window w = {37, 100, 500, ROWS}; /* partial tiles each side */
    static uint16_t buf[ROWS * PITCH];
    memset(buf, 0xEE, sizeof buf);
    struct lc_cog *cog = NULL;
    LC_ASSERT_EQ(lc_cog_open(path, &cog), LC_OK);
    if (cog == NULL)
        return;
    /* The last row needs only its window's values. */
    size_t need = ((size_t)(ROWS - 1) * PITCH + w.width) * sizeof *buf;
    LC_ASSERT_EQ(lc__cog_read_window_rows(cog, 0, &w, 0, buf + AT,
                                          PITCH * sizeof *buf, need),
                 LC_OK);
    size_t bad = 0, touched = 0;
    for (size_t r = 0; r < ROWS; r++)
        for (size_t c = 0; c < PITCH; c++) {
            uint16_t v = buf[r * PITCH + c];
            bool inside = c >= AT && c < AT + w.width;
            if (inside)
                bad += v != value_at(w.col_off + (uint32_t)(c - AT),
                                     w.row_off + (uint32_t)r);
            else
                touched += v != 0xEEEE;
        }
    LC_ASSERT_UEQ(bad, 0);
    LC_ASSERT_UEQ(touched, 0);
    LC_ASSERT_EQ(lc__cog_read_window_rows(cog, 0, &w, 0, buf,
                                          PITCH * sizeof *buf, need - 2),
                 LC_ENOSPACE);
    LC_ASSERT_EQ(lc__cog_read_window_rows(cog, 0, &w, 0, buf,
                                          (w.width - 1) * sizeof *buf,
                                          sizeof buf),
                 LC_EINVAL);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "bytes apart") != NULL);
    lc_cog_close(cog);
}

/* lc__cog_read_window_rows_into: the window is asked for once, after
 * the blocks were fetched; the same pixels as into a given array; a NULL
 * window fails the read with LC_ENOMEM. */
struct lazy_window {
    struct lc_cog *cog;
    uint16_t *buf;
    size_t calls;
    uint64_t requests; /* the handle's requests when asked */
};

static void *lazy_get(void *ctx)
{
    struct lazy_window *l = ctx;
    struct lc_cog_info info = {.struct_size = sizeof info};
    if (lc_cog_get_info(l->cog, &info) == LC_OK)
        l->requests = info.nrequests;
    l->calls++;
    return l->buf;
}

static void test_rows_into(const char *path)
{
    enum { ROWS = 300 };
    struct lc_window w = {37, 400, 500, ROWS};
    static uint16_t buf[ROWS * 500];
    struct lc_cog *cog = NULL;
    LC_ASSERT_EQ(lc_cog_open(path, &cog), LC_OK);
    if (cog == NULL)
        return;
    struct lc_cog_info info = {.struct_size = sizeof info};
    LC_ASSERT_EQ(lc_cog_get_info(cog, &info), LC_OK);
    struct lazy_window l = {.cog = cog, .buf = buf};
    struct lc__cog_out out = {lazy_get, &l};
    LC_ASSERT_EQ(
        lc__cog_read_window_rows_into(cog, 0, &w, 0, &out, 0, sizeof buf),
        LC_OK);
    LC_ASSERT_UEQ(l.calls, 1);
    LC_ASSERT_TRUE(l.requests > info.nrequests);
    size_t bad = 0;
    for (uint32_t r = 0; r < ROWS; r++)
        for (uint32_t c = 0; c < w.width; c++)
            bad += buf[(size_t)r * w.width + c] !=
                   value_at(w.col_off + c, w.row_off + r);
    LC_ASSERT_UEQ(bad, 0);

    l = (struct lazy_window){.cog = cog, .buf = NULL};
    LC_ASSERT_EQ(
        lc__cog_read_window_rows_into(cog, 0, &w, 0, &out, 0, sizeof buf),
        LC_ENOMEM);
    LC_ASSERT_UEQ(l.calls, 1);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "out of memory") != NULL);
    lc_cog_close(cog);
}

int main(void)
{
    char path[] = "/tmp/lc_cog_par_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return EXIT_FAILURE;
    }
    close(fd);
    char spoilt[sizeof path + 8];
    snprintf(spoilt, sizeof spoilt, "%s.bad", path);
    LC_ASSERT_TRUE(write_cog(path));
    FILE *f = fopen(path, "rb");
    long size = 0;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (f != NULL)
        fclose(f);
    /* Two places in the tiles (which follow the header): two blocks fail
     * their checksums; the first in the window's order is reported. */
    LC_ASSERT_TRUE(size > 100000);
    LC_ASSERT_TRUE(spoil_copy(path, spoilt, size / 3, 2 * size / 3, 64));
    test_pixels_and_errors(path, spoilt);
    test_rows(path);
    test_rows_into(path);
    unlink(path);
    unlink(spoilt);
    LC_TEST_END();
}
