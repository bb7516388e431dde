/* test_header_cache.c - the process-wide COG header cache. */
/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv, nanosleep */
#include "../../src/common/common.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../src/engine/header_cache.h"
#include "test_util.h"

/*
 * Usage: test_header_cache GOOD_TIF [RELPATH]
 *
 * Local part (always): copies of GOOD_TIF in a temporary folder are the
 * distinct files (equal headers, so equal bytes). Checked: the
 * LAZYCOGS_HEADER_CACHE_BYTES default, hits and misses, reference counts,
 * least-recently-used eviction under a byte budget, entries in use never
 * evicted, (store, href) keys, failed opens not cached, concurrent misses
 * of one href sharing one handle, and 8 threads getting, reading and
 * releasing while eviction runs (for ASan/TSan).
 *
 * HTTP part, when run through tools/with_server.sh (LAZYCOGS_TEST_URL set,
 * RELPATH the file's name under the served folder): with 300 ms of server
 * latency, 8 threads missing the same URL at once cause the requests of
 * one open (counted in the server's own log), and 8 threads missing a
 * missing URL cause one failed request between them, and a later get
 * tries again.
 */

#define NTHREADS 8

static char dir[64];
static size_t entry_nbytes; /* of one copy of the file */

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len);
    *n = fread(buf, 1, (size_t)len, fp);
    fclose(fp);
    return buf;
}

static void spit(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(data, 1, n, fp) != n)
        LC_CHECK_FAIL_("cannot write %s", path);
    if (fp != NULL)
        fclose(fp);
}

/* name's path in the temporary folder (main thread only). */
static const char *path_of(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static size_t nentries(void)
{
    size_t n;
    lc__header_cache_stats(&n, NULL);
    return n;
}

static size_t nbytes(void)
{
    size_t n;
    lc__header_cache_stats(NULL, &n);
    return n;
}

/* Gets and at once releases name; returns whether it was cached. */
static bool touch(const char *name)
{
    struct lc_cog *cog;
    bool cached = false;
    struct lc__errbuf err = {0};

    int status = lc__header_cache_get(path_of(name), NULL, &cog, &cached, &err);
    if (status != LC_OK)
        LC_CHECK_FAIL_("get %s: %s", name, err.msg);
    lc__header_cache_release(cog);
    return cached;
}

static void test_env_default(void)
{
    /* Read once, at the first use: budget 0 keeps only handles in use. */
    struct lc_cog *cog;
    bool cached = true;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("a.tif"), NULL, &cog, &cached, &err),
        LC_OK);
    LC_ASSERT_TRUE(!cached);
    LC_ASSERT_EQ(nentries(), 1);
    lc__header_cache_release(cog);
    LC_ASSERT_EQ(nentries(), 0);
    LC_ASSERT_EQ(nbytes(), 0);
    LC_ASSERT_TRUE(!touch("a.tif"));
    lc__header_cache_set_budget((size_t)256 << 20);
}

static void test_hits_and_refs(void)
{
    struct lc_cog *c1, *c2;
    bool cached;
    struct lc__errbuf err = {0};

    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("a.tif"), NULL, &c1, &cached, &err),
        LC_OK);
    LC_ASSERT_TRUE(!cached);
    entry_nbytes = nbytes();
    /* The handle holds at least its 64 KiB prefix, and a few KiB more. */
    LC_ASSERT_TRUE(entry_nbytes >= 65536 && entry_nbytes < 65536 + 16384);
    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("a.tif"), NULL, &c2, &cached, &err),
        LC_OK);
    LC_ASSERT_TRUE(cached);
    LC_ASSERT_TRUE(c1 == c2);
    LC_ASSERT_EQ(nentries(), 1);
    /* Two references: a budget of 0 evicts nothing in use. */
    lc__header_cache_set_budget(0);
    lc__header_cache_release(c1);
    LC_ASSERT_EQ(nentries(), 1);
    /* The handle still reads. */
    uint8_t px[16];
    struct lc_window w = {0, 0, 1, 1};
    LC_ASSERT_EQ(lc_cog_read_window(c2, 0, &w, NULL, 0, px, sizeof(px)), LC_OK);
    lc__header_cache_release(c2);
    LC_ASSERT_EQ(nentries(), 0);
    lc__header_cache_release(NULL);
}

static void test_lru(void)
{
    size_t n = entry_nbytes;

    lc__header_cache_set_budget(3 * n);
    LC_ASSERT_TRUE(!touch("a.tif"));
    LC_ASSERT_TRUE(!touch("b.tif"));
    LC_ASSERT_TRUE(!touch("c.tif"));
    LC_ASSERT_EQ(nentries(), 3);
    LC_ASSERT_UEQ(nbytes(), 3 * n);
    LC_ASSERT_TRUE(touch("a.tif"));  /* order, oldest first: b c a */
    LC_ASSERT_TRUE(!touch("d.tif")); /* 4n > 3n: b goes; c a d */
    LC_ASSERT_EQ(nentries(), 3);
    LC_ASSERT_UEQ(nbytes(), 3 * n);
    LC_ASSERT_TRUE(touch("c.tif")); /* a d c */
    LC_ASSERT_TRUE(touch("a.tif")); /* d c a */

    /* b comes back while held: the oldest unused entry (d) goes. */
    struct lc_cog *b;
    bool cached = true;
    struct lc__errbuf err = {0};
    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("b.tif"), NULL, &b, &cached, &err), LC_OK);
    LC_ASSERT_TRUE(!cached);
    LC_ASSERT_EQ(nentries(), 3);
    /* Held entries count but stay: budget n keeps only b. */
    lc__header_cache_set_budget(n);
    LC_ASSERT_EQ(nentries(), 1);
    LC_ASSERT_UEQ(nbytes(), n);
    lc__header_cache_set_budget(3 * n);
    lc__header_cache_release(b);
    LC_ASSERT_TRUE(touch("b.tif"));
    LC_ASSERT_TRUE(!touch("d.tif"));
    lc__header_cache_clear();
    LC_ASSERT_EQ(nentries(), 0);
    LC_ASSERT_EQ(nbytes(), 0);
    lc__header_cache_set_budget((size_t)256 << 20);
}

static void test_store_key(void)
{
    struct lc_store *store;
    struct lc_cog *c1, *c2, *c3;
    bool cached;
    struct lc__errbuf err = {0};

    LC_ASSERT_EQ(lc_store_open(dir, NULL, &store), LC_OK);
    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("a.tif"), NULL, &c1, &cached, &err),
        LC_OK);
    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("a.tif"), store, &c2, &cached, &err),
        LC_OK);
    LC_ASSERT_TRUE(!cached);
    LC_ASSERT_TRUE(c1 != c2);
    LC_ASSERT_EQ(lc__header_cache_get("a.tif", store, &c3, &cached, &err),
                 LC_OK);
    LC_ASSERT_TRUE(!cached); /* another href, though the same file */
    lc__header_cache_release(c3);
    LC_ASSERT_EQ(lc__header_cache_get("a.tif", store, &c3, &cached, &err),
                 LC_OK);
    LC_ASSERT_TRUE(cached);
    LC_ASSERT_EQ(nentries(), 3);
    /* The cache's own store reference outlives the caller's. */
    lc_store_close(store);
    lc__header_cache_release(c1);
    lc__header_cache_release(c2);
    lc__header_cache_release(c3);
    LC_ASSERT_TRUE(touch("a.tif"));
    lc__header_cache_clear();
}

static void test_failures(const uint8_t *good, size_t good_nbytes)
{
    struct lc_cog *cog = (struct lc_cog *)1;
    bool cached = true;
    struct lc__errbuf err = {0};

    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("late.tif"), NULL, &cog, &cached, &err),
        LC_ENOTFOUND);
    LC_ASSERT_TRUE(cog == NULL && !cached);
    LC_ASSERT_TRUE(strstr(err.msg, "late.tif") != NULL);
    LC_ASSERT_EQ(nentries(), 0);
    spit(path_of("late.tif"), good, good_nbytes);
    LC_ASSERT_TRUE(!touch("late.tif"));

    spit(path_of("bad.tif"), "II*\0garbage!", 12);
    LC_ASSERT_EQ(
        lc__header_cache_get(path_of("bad.tif"), NULL, &cog, &cached, &err),
        LC_ECORRUPT);
    LC_ASSERT_TRUE(strstr(err.msg, "bad.tif") != NULL);
    spit(path_of("bad.tif"), good, good_nbytes);
    LC_ASSERT_TRUE(!touch("bad.tif"));
    LC_ASSERT_EQ(lc__header_cache_get(NULL, NULL, &cog, &cached, &err),
                 LC_EINVAL);
    lc__header_cache_clear();
}

/* ---- threads ------------------------------------------------------------ */

struct racer {
    pthread_barrier_t *start;
    const char *href;
    struct lc_cog *cog;
    bool cached;
    int status;
    char msg[LC_ERRMSG_CAP];
};

static void *race_get(void *arg)
{
    struct racer *r = arg;
    struct lc__errbuf err = {0};

    pthread_barrier_wait(r->start);
    r->status = lc__header_cache_get(r->href, NULL, &r->cog, &r->cached, &err);
    snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
    return NULL;
}

/* NTHREADS threads get href at once; returns how many opened it. */
static int race(const char *href, int want_status, struct lc_cog **cog_ret)
{
    pthread_barrier_t start;
    struct racer r[NTHREADS];
    pthread_t t[NTHREADS];
    int opened = 0;

    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        r[i] = (struct racer){.start = &start, .href = href};
        pthread_create(&t[i], NULL, race_get, &r[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    *cog_ret = r[0].cog;
    for (int i = 0; i < NTHREADS; i++) {
        LC_ASSERT_EQ(r[i].status, want_status);
        LC_ASSERT_TRUE(r[i].cog == r[0].cog);
        opened += !r[i].cached;
        if (want_status != LC_OK)
            LC_ASSERT_TRUE(strstr(r[i].msg, href) != NULL);
    }
    /* Every thread holds a reference; they all go now. */
    for (int i = 0; i < NTHREADS; i++)
        lc__header_cache_release(r[i].cog);
    return opened;
}

struct churner {
    unsigned id;
    const uint8_t *expected; /* pixel (3, 2) of the file, all samples */
    size_t px_nbytes;
    int bad;
};

static void *churn(void *arg)
{
    struct churner *c = arg;
    static const char *const names[] = {"a.tif", "b.tif", "c.tif",
                                        "d.tif", "e.tif", "f.tif"};
    uint64_t s = 88172645463325252ull + c->id;

    for (int i = 0; i < 150; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        struct lc_cog *cog;
        bool cached;
        struct lc__errbuf err = {0};
        char path[256]; /* not path_of: its buffers are the main thread's */
        snprintf(path, sizeof(path), "%s/%s", dir, names[s % 6]);
        if (lc__header_cache_get(path, NULL, &cog, &cached, &err) != LC_OK) {
            c->bad++;
            continue;
        }
        uint8_t px[64];
        struct lc_window w = {3, 2, 1, 1};
        if (lc_cog_read_window(cog, 0, &w, NULL, 0, px, sizeof(px)) != LC_OK ||
            memcmp(px, c->expected, c->px_nbytes) != 0)
            c->bad++;
        lc__header_cache_release(cog);
    }
    return NULL;
}

static void test_threads_local(void)
{
    struct lc_cog *cog;

    LC_ASSERT_EQ(race(path_of("a.tif"), LC_OK, &cog), 1);
    LC_ASSERT_EQ(nentries(), 1);
    LC_ASSERT_EQ(race(path_of("a.tif"), LC_OK, &cog), 0);
    LC_ASSERT_EQ(race(path_of("nope.tif"), LC_ENOTFOUND, &cog), NTHREADS);
    lc__header_cache_clear();

    /* Gets, reads and releases while a budget of two entries evicts. */
    struct lc_cog *ref;
    LC_ASSERT_EQ(lc_cog_open(path_of("a.tif"), &ref), LC_OK);
    struct lc_cog_info info = {.struct_size = sizeof(info)};
    LC_ASSERT_EQ(lc_cog_get_info(ref, &info), LC_OK);
    uint8_t expected[64];
    struct lc_window w = {3, 2, 1, 1};
    LC_ASSERT_EQ(
        lc_cog_read_window(ref, 0, &w, NULL, 0, expected, sizeof(expected)),
        LC_OK);
    lc_cog_close(ref);
    lc__header_cache_set_budget(2 * entry_nbytes);
    struct churner c[NTHREADS];
    pthread_t t[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        c[i] = (struct churner){.id = i,
                                .expected = expected,
                                .px_nbytes =
                                    info.samples * lc_dtype_nbytes(info.dtype)};
        pthread_create(&t[i], NULL, churn, &c[i]);
    }
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        LC_ASSERT_EQ(c[i].bad, 0);
    }
    LC_ASSERT_TRUE(nentries() <= 2);
    LC_ASSERT_TRUE(nbytes() <= 2 * entry_nbytes);
    lc__header_cache_clear();
    LC_ASSERT_EQ(nentries(), 0);
    lc__header_cache_set_budget((size_t)256 << 20);
}

/* ---- over HTTP ---------------------------------------------------------- */

static char base[256];

static size_t collect_body(char *p, size_t size, size_t n, void *ud)
{
    struct {
        char *buf;
        size_t len;
    } *b = ud;
    char *grown = realloc(b->buf, b->len + size * n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, p, size * n);
    b->buf = grown;
    b->len += size * n;
    b->buf[b->len] = '\0';
    return size * n;
}

/* Calls the server's control endpoint; returns the body (caller frees). */
static char *control(const char *method, const char *what, const char *body)
{
    char url[512];
    struct {
        char *buf;
        size_t len;
    } b = {NULL, 0};
    CURL *c = curl_easy_init();

    snprintf(url, sizeof(url), "%s/__control/%s", base, what);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(c) != CURLE_OK)
        LC_CHECK_FAIL_("control %s %s failed", method, what);
    curl_easy_cleanup(c);
    return b.buf;
}

/* GETs of /relpath in the server's log, once it has settled. */
static int logged_gets(const char *relpath)
{
    struct timespec settle = {0, 400 * 1000 * 1000};
    char needle[300];
    int n = 0;

    nanosleep(&settle, NULL);
    snprintf(needle, sizeof(needle), "\"path\": \"/%s\"", relpath);
    char *log = control("GET", "log", NULL);
    for (char *line = log; line != NULL && *line != '\0';) {
        char *end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        if (strstr(line, needle) != NULL &&
            strstr(line, "\"method\": \"GET\"") != NULL)
            n++;
        line = end != NULL ? end + 1 : NULL;
    }
    free(log);
    return n;
}

static void test_http(const char *relpath)
{
    char url[512], missing[512];
    struct lc_cog *cog;
    bool cached;
    struct lc__errbuf err = {0};

    snprintf(url, sizeof(url), "%s/%s", base, relpath);
    snprintf(missing, sizeof(missing), "%s/no-such-%s", base, relpath);
    free(control("DELETE", "faults", NULL));
    free(control("PUT", "latency", "300"));

    /* What one open costs, in requests the server saw. */
    free(control("DELETE", "log", NULL));
    LC_ASSERT_EQ(lc__header_cache_get(url, NULL, &cog, &cached, &err), LC_OK);
    lc__header_cache_release(cog);
    int one_open = logged_gets(relpath);
    LC_ASSERT_TRUE(one_open >= 1);
    lc__header_cache_clear();

    free(control("DELETE", "log", NULL));
    LC_ASSERT_EQ(race(url, LC_OK, &cog), 1);
    int raced = logged_gets(relpath);
    LC_ASSERT_EQ(raced, one_open);
    printf("one open: %d GET(s); %d threads missing at once: %d\n", one_open,
           NTHREADS, raced);
    /* Cached now: no request at all. */
    free(control("DELETE", "log", NULL));
    LC_ASSERT_EQ(race(url, LC_OK, &cog), 0);
    LC_ASSERT_EQ(logged_gets(relpath), 0);

    /* A failure is shared by those who waited for it, then forgotten. */
    char missing_rel[300];
    snprintf(missing_rel, sizeof(missing_rel), "no-such-%s", relpath);
    free(control("DELETE", "log", NULL));
    LC_ASSERT_EQ(lc__header_cache_get(missing, NULL, &cog, &cached, &err),
                 LC_ENOTFOUND);
    int one_failure = logged_gets(missing_rel);
    LC_ASSERT_TRUE(one_failure >= 1);
    free(control("DELETE", "log", NULL));
    race(missing, LC_ENOTFOUND, &cog);
    LC_ASSERT_EQ(logged_gets(missing_rel), one_failure);
    free(control("DELETE", "log", NULL));
    LC_ASSERT_EQ(lc__header_cache_get(missing, NULL, &cog, &cached, &err),
                 LC_ENOTFOUND);
    LC_ASSERT_EQ(logged_gets(missing_rel), one_failure);
    free(control("PUT", "latency", "0"));
    lc__header_cache_clear();
}

int main(int argc, char **argv)
{
    size_t good_nbytes;

    if (argc < 2) {
        fprintf(stderr, "usage: test_header_cache GOOD_TIF [RELPATH]\n");
        return 2;
    }
    uint8_t *good = slurp(argv[1], &good_nbytes);
    LC_ASSERT_TRUE(good != NULL);
    if (good == NULL)
        LC_TEST_END();
    snprintf(dir, sizeof(dir), "/tmp/lc_header_cache_XXXXXX");
    LC_ASSERT_TRUE(mkdtemp(dir) != NULL);
    static const char *const names[] = {"a.tif", "b.tif", "c.tif",
                                        "d.tif", "e.tif", "f.tif"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        spit(path_of(names[i]), good, good_nbytes);

    setenv("LAZYCOGS_HEADER_CACHE_BYTES", "0", 1);
    test_env_default();
    test_hits_and_refs();
    test_lru();
    test_store_key();
    test_failures(good, good_nbytes);
    test_threads_local();
    const char *env = getenv("LAZYCOGS_TEST_URL");
    if (env != NULL && argc > 2) {
        snprintf(base, sizeof(base), "%s", env);
        test_http(argv[2]);
    } else {
        printf("HTTP part skipped (run through tools/with_server.sh)\n");
    }

    static const char *const extra[] = {"late.tif", "bad.tif"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        unlink(path_of(names[i]));
    for (size_t i = 0; i < 2; i++)
        unlink(path_of(extra[i]));
    rmdir(dir);
    free(good);
    LC_TEST_END();
}
