/* test_http.c - the HTTP engine against a real loopback server
 * (tools/serve.py). */
/* SPDX-License-Identifier: MIT */
#include "lazycogs.h"
#include "test_util.h"

#include <curl/curl.h>

/*
 * Run by CTest through tools/with_server.sh, which serves DIR and sets
 * LAZYCOGS_TEST_URL. argv[1] is a file under DIR, argv[2] its name
 * relative to DIR. Faults are switched through the server's control
 * endpoint; the bytes read must equal the local file's, and errors must
 * be the documented codes. Under ASan/UBSan this also shows the engine's
 * threads, retries and coalescing leak and overrun nothing.
 */

static char base[256];

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static void control(const char *method, const char *what, const char *body)
{
    char url[512];
    CURL *c = curl_easy_init();

    snprintf(url, sizeof(url), "%s/__control/%s", base, what);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(c) != CURLE_OK)
        LC_CHECK_FAIL_("control %s %s failed", method, what);
    curl_easy_cleanup(c);
}

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

/* Reads 40 ranges (some adjacent, some overlapping, one past the end) and
 * checks every byte against the file. */
static int read_and_check(struct lc_store *store, const char *url,
                          const uint8_t *file, size_t file_nbytes)
{
    struct lc_range_request reqs[40];
    uint8_t *bufs[40];
    uint64_t x = 12345;

    for (int i = 0; i < 40; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t off = (x >> 33) % file_nbytes;
        size_t len = 1 + (size_t)((x >> 17) % 9000);
        if (i == 39)
            off = file_nbytes - 5; /* runs past the end */
        if (i % 7 == 3)
            off = reqs[i - 1].offset + reqs[i - 1].nbytes; /* adjacent */
        if (off >= file_nbytes)
            off = file_nbytes - 1;
        bufs[i] = malloc(len);
        reqs[i] = (struct lc_range_request){off, len, bufs[i], 0};
    }
    int status = lc_store_read_ranges(store, url, reqs, 40);
    for (int i = 0; status == LC_OK && i < 40; i++) {
        size_t want = reqs[i].offset + reqs[i].nbytes > file_nbytes
                          ? (size_t)(file_nbytes - reqs[i].offset)
                          : reqs[i].nbytes;
        LC_ASSERT_UEQ(reqs[i].nread, want);
        LC_ASSERT_MEM_EQ(reqs[i].buf, file + reqs[i].offset, reqs[i].nread);
    }
    for (int i = 0; i < 40; i++)
        free(bufs[i]);
    return status;
}

int main(int argc, char **argv)
{
    char url[512];
    size_t file_nbytes;

    const char *env = getenv("LAZYCOGS_TEST_URL");
    if (argc != 3 || env == NULL) {
        fprintf(stderr, "run through tools/with_server.sh DIR test_http "
                        "FILE RELPATH\n");
        return 2;
    }
    snprintf(base, sizeof(base), "%s", env);
    snprintf(url, sizeof(url), "%s/%s", base, argv[2]);
    uint8_t *file = slurp(argv[1], &file_nbytes);
    LC_ASSERT_TRUE(file != NULL && file_nbytes > 1000);
    if (file == NULL)
        LC_TEST_END();

    struct lc_store_options o = {.struct_size = sizeof(o),
                                 .retry_base_s = 0.01,
                                 .retry_max_s = 0.05,
                                 .max_attempts = 4,
                                 .stall_timeout_s = 1};
    struct lc_store *store;
    LC_ASSERT_EQ(lc_store_open(base, &o, &store), LC_OK);

    /* Clean reads, then each transient fault recovered. */
    static const char *const transient[] = {"",
                                            "503,first=3,retry_after=0",
                                            "reset,every=3",
                                            "truncate,every=4",
                                            "ignore-range",
                                            "stall,first=1,seconds=2"};
    for (size_t k = 0; k < sizeof(transient) / sizeof(*transient); k++) {
        control("PUT", "faults", transient[k]);
        int status = read_and_check(store, url, file, file_nbytes);
        if (status != LC_OK)
            LC_CHECK_FAIL_("fault '%s': %s (%s)", transient[k],
                           lc_err_name(status), lc_errmsg());
    }
    struct lc_io_stats st = {.struct_size = sizeof(st)};
    LC_ASSERT_EQ(lc_store_get_stats(store, &st), LC_OK);
    LC_ASSERT_TRUE(st.retries >= 3);
    LC_ASSERT_TRUE(st.coalesced_ranges > 0);

    /* Permanent failures: the documented codes, the URL named. */
    control("PUT", "faults", "503");
    LC_ASSERT_EQ(read_and_check(store, url, file, file_nbytes), LC_EHTTP);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "4 attempts") != NULL);
    control("PUT", "faults", "");
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/no/such.tif", base);
    LC_ASSERT_EQ(read_and_check(store, missing, file, file_nbytes),
                 LC_ENOTFOUND);
    LC_ASSERT_TRUE(strstr(lc_errmsg(), "/no/such.tif") != NULL);

    /* A COG opened over HTTP through the store reads like the file. */
    struct lc_cog_options co = {.struct_size = sizeof(co), .store = store};
    struct lc_cog *cog;
    LC_ASSERT_EQ(lc_cog_open_ex(url, &co, &cog), LC_OK);
    lc_cog_close(cog);
    lc_store_close(store);
    free(file);
    LC_TEST_END();
}
