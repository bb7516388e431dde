/* store.c - object stores: URL mapping, credentials, S3 signing, range reads.
 */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "../common/alloc.h"
#include "http.h"
#include "io_internal.h"
#include "sigv4.h"

/*
 * A store turns an href into requests:
 *
 *   href ──(store kind)──> file path            (local: pread)
 *                      └─> request URL + headers (http, s3, gs, azure)
 *
 * and a remote source turns a batch of byte ranges into HTTP transfers:
 * sorted, merged where the gap between two ranges is at most
 * coalesce_gap_nbytes (one request whose bytes go to its members as they
 * arrive; no byte fetched twice), run by the engine (http.c) and checked.
 *
 * Stores are shared by every reader of their objects and by every thread,
 * so everything mutable (the S3 region learned from a redirect, counters)
 * is guarded by the store's mutex, and stores are reference-counted.
 */

enum store_kind { STORE_LOCAL, STORE_HTTP, STORE_S3 };

struct lc_store {
    pthread_mutex_t mu;
    size_t refs;
    enum store_kind kind;
    char *root;       /* the URL it was opened for */
    char *local_dir;  /* LOCAL: folder relative hrefs live in */
    char *base_url;   /* HTTP: scheme://host[:port][/prefix] */
    char *url_suffix; /* HTTP: "?sas" appended to every URL (Azure) */
    /* S3 */
    char *bucket;
    char *key_prefix; /* S3: "a/b/" from s3://bucket/a/b, or NULL */
    char *endpoint;   /* custom endpoint, or NULL for AWS */
    char *region;
    bool virtual_hosted;
    bool skip_signature;
    bool request_payer;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    /* transfers */
    char *bearer_token;
    char *ca_file;
    struct lc__http_config http;
    size_t coalesce_gap;
    /* counters */
    struct lc__http_counters counters;
    uint64_t coalesced;
};

#define MAX_COALESCED_NBYTES (16u << 20)

static char *dup_str(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = lc__malloc(NULL, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = lc__malloc(NULL, n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void store_free(struct lc_store *s)
{
    char *strings[] = {s->root,          s->local_dir,     s->base_url,
                       s->url_suffix,    s->bucket,        s->endpoint,
                       s->region,        s->access_key_id, s->secret_access_key,
                       s->session_token, s->bearer_token,  s->ca_file};
    for (size_t i = 0; i < LC_ARRAY_SIZE(strings); i++) {
        /* Secrets are wiped, not only freed. */
        if (strings[i] != NULL)
            memset(strings[i], 0, strlen(strings[i]));
        lc__free(NULL, strings[i]);
    }
    pthread_mutex_destroy(&s->mu);
    lc__free(NULL, s);
}

void lc__store_ref(struct lc_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->refs++;
    pthread_mutex_unlock(&s->mu);
}

void lc_store_close(struct lc_store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    size_t left = --s->refs;
    pthread_mutex_unlock(&s->mu);
    if (left == 0)
        store_free(s);
}

/* ---- credentials ----------------------------------------------------------
 */

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t k = 0;
    while (isspace((unsigned char)s[k]))
        k++;
    memmove(s, s + k, n - k + 1);
}

/* Reads key, secret and token of profile from an AWS credentials file. */
static int read_credentials_file(struct lc_store *s, const char *profile)
{
    char path[4096];
    const char *file = env_nonempty("AWS_SHARED_CREDENTIALS_FILE");
    if (file == NULL) {
        const char *home = env_nonempty("HOME");
        if (home == NULL)
            return LC_OK;
        snprintf(path, sizeof(path), "%s/.aws/credentials", home);
        file = path;
    }
    FILE *fp = fopen(file, "r");
    if (fp == NULL)
        return LC_OK;
    char line[1024];
    bool in_profile = false;
    int status = LC_OK;
    while (status == LC_OK && fgets(line, sizeof(line), fp) != NULL) {
        trim(line);
        if (line[0] == '[') {
            char *end = strchr(line, ']');
            if (end != NULL)
                *end = '\0';
            char *name = line + 1;
            trim(name);
            in_profile = strcmp(name, profile) == 0;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!in_profile || eq == NULL)
            continue;
        *eq = '\0';
        char *key = line, *value = eq + 1;
        trim(key);
        trim(value);
        char **slot =
            strcmp(key, "aws_access_key_id") == 0       ? &s->access_key_id
            : strcmp(key, "aws_secret_access_key") == 0 ? &s->secret_access_key
            : strcmp(key, "aws_session_token") == 0     ? &s->session_token
                                                        : NULL;
        if (slot != NULL && *slot == NULL) {
            *slot = dup_str(value);
            if (*slot == NULL)
                status = LC_ENOMEM;
        }
    }
    memset(line, 0, sizeof(line));
    fclose(fp);
    return status;
}

/* Explicit options, then the environment, then the credentials file. */
static int find_credentials(struct lc_store *s,
                            const struct lc_store_options *o)
{
    if (o->access_key_id != NULL) {
        s->access_key_id = dup_str(o->access_key_id);
        s->secret_access_key = dup_str(o->secret_access_key);
        s->session_token = dup_str(o->session_token);
        return s->access_key_id == NULL ? LC_ENOMEM : LC_OK;
    }
    const char *key = env_nonempty("AWS_ACCESS_KEY_ID");
    const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
    if (key != NULL && secret != NULL) {
        s->access_key_id = dup_str(key);
        s->secret_access_key = dup_str(secret);
        s->session_token = dup_str(env_nonempty("AWS_SESSION_TOKEN"));
        return s->access_key_id == NULL ? LC_ENOMEM : LC_OK;
    }
    const char *profile = o->profile != NULL ? o->profile
                          : env_nonempty("AWS_PROFILE") != NULL
                              ? env_nonempty("AWS_PROFILE")
                              : "default";
    return read_credentials_file(s, profile);
}

/* ---- URL parsing ------------------------------------------------------------
 */

static bool has_scheme(const char *href, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncasecmp(href, scheme, n) == 0 &&
           strncmp(href + n, "://", 3) == 0;
}

/* Splits "scheme://host[:port]/path" into host (with port) and path. */
static void split_url(const char *url, const char **host, size_t *host_len,
                      const char **path)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    const char *slash = strchr(p, '/');
    *host = p;
    *host_len = slash != NULL ? (size_t)(slash - p) : strlen(p);
    *path = slash != NULL ? slash : "";
}

/*
 * Recognises S3 addresses given as https URLs:
 *   https://BUCKET.s3.amazonaws.com/KEY,
 * https://BUCKET.s3.REGION.amazonaws.com/KEY,
 *   https://s3.REGION.amazonaws.com/BUCKET/KEY,
 * https://s3.amazonaws.com/BUCKET/KEY (and s3-REGION legacy hosts). Fills
 * bucket, region ("" if not in the host) and the key's start.
 */
static bool parse_s3_https(const char *url, char *bucket, size_t bucket_cap,
                           char *region, size_t region_cap, const char **key)
{
    const char *host, *path;
    size_t host_len;
    char h[256];

    if (!has_scheme(url, "https") && !has_scheme(url, "http"))
        return false;
    split_url(url, &host, &host_len, &path);
    if (host_len >= sizeof(h))
        return false;
    memcpy(h, host, host_len);
    h[host_len] = '\0';
    static const char suffix[] = ".amazonaws.com";
    size_t sl = strlen(suffix);
    if (host_len <= sl || strcasecmp(h + host_len - sl, suffix) != 0)
        return false;
    h[host_len - sl] = '\0'; /* h is now "[bucket.]s3[.-region]" */
    char *s3 = NULL;
    if (strncmp(h, "s3", 2) == 0 &&
        (h[2] == '\0' || h[2] == '.' || h[2] == '-'))
        s3 = h;
    else
        s3 = strstr(h, ".s3");
    if (s3 == NULL)
        return false;
    const char *reg = s3 == h ? h + 2 : s3 + 3;
    if (*reg == '.' || *reg == '-')
        reg++;
    /* "dualstack." and similar words are not regions. */
    if (strncmp(reg, "dualstack.", 10) == 0)
        reg += 10;
    lc__copy_str(region, region_cap, reg);
    if (s3 == h) {
        /* path-style: /BUCKET/KEY */
        const char *b = path[0] == '/' ? path + 1 : path;
        const char *end = strchr(b, '/');
        size_t n = end != NULL ? (size_t)(end - b) : strlen(b);
        if (n == 0 || n >= bucket_cap)
            return false;
        memcpy(bucket, b, n);
        bucket[n] = '\0';
        *key = end != NULL ? end + 1 : "";
    } else {
        size_t n = (size_t)(s3 - h);
        if (n >= bucket_cap)
            return false;
        memcpy(bucket, h, n);
        bucket[n] = '\0';
        *key = path[0] == '/' ? path + 1 : path;
    }
    return true;
}

/* The root an href belongs to: the key of the process-wide store cache. */
static int root_of(const char *href, char *root, size_t cap,
                   struct lc__errbuf *err)
{
    char bucket[256], region[64];
    const char *key;

    if (has_scheme(href, "s3") || has_scheme(href, "s3a") ||
        has_scheme(href, "gs")) {
        const char *p = strstr(href, "://") + 3;
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        LC_RETURN_IF(n == 0, err, LC_EINVAL, "%s: no bucket in the URL", href);
        snprintf(root, cap, "%.*s://%.*s", (int)(strstr(href, "://") - href),
                 href, (int)n, p);
        return LC_OK;
    }
    if (parse_s3_https(href, bucket, sizeof(bucket), region, sizeof(region),
                       &key)) {
        snprintf(root, cap, "s3://%s", bucket);
        return LC_OK;
    }
    if (has_scheme(href, "http") || has_scheme(href, "https")) {
        const char *host, *path;
        size_t host_len;
        split_url(href, &host, &host_len, &path);
        snprintf(root, cap, "%.*s", (int)(host - href + (ptrdiff_t)host_len),
                 href);
        return LC_OK;
    }
    if (has_scheme(href, "file") || strstr(href, "://") == NULL) {
        snprintf(root, cap, "file://");
        return LC_OK;
    }
    return lc__error(err, LC_EUNSUPPORTED, "%s: URL scheme not supported",
                     href);
}

/* ---- opening stores ---------------------------------------------------------
 */

static const struct lc_store_options default_options = {
    .struct_size = sizeof(struct lc_store_options),
};

int lc__store_open(const char *url, const struct lc_store_options *o,
                   struct lc_store **store_ret, struct lc__errbuf *err)
{
    char bucket[256], region[64];
    const char *key;
    int status = LC_OK;

    *store_ret = NULL;
    if (o == NULL)
        o = &default_options;
    LC_RETURN_IF(o->struct_size != sizeof(*o), err, LC_EINVAL,
                 "lc_store_options: struct_size %zu, expected %zu",
                 o->struct_size, sizeof(*o));
    LC_RETURN_IF(url == NULL || url[0] == '\0', err, LC_EINVAL, "empty URL");
    struct lc_store *s = lc__calloc(NULL, 1, sizeof(*s));
    LC_RETURN_IF(s == NULL, err, LC_ENOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    s->refs = 1;
    s->root = dup_str(url);
    s->http = (struct lc__http_config){
        .connect_timeout_s = o->connect_timeout_s,
        .first_byte_timeout_s = o->first_byte_timeout_s,
        .stall_timeout_s = o->stall_timeout_s,
        .max_attempts = o->max_attempts,
        .retry_base_s = o->retry_base_s,
        .retry_max_s = o->retry_max_s,
        .max_connections_per_host = o->max_connections_per_host,
        .max_in_flight = o->max_in_flight,
        .insecure = o->insecure != 0,
        .use_netrc = o->use_netrc != 0,
    };
    s->ca_file = dup_str(o->ca_file);
    s->http.ca_file = s->ca_file;
    s->bearer_token = dup_str(o->bearer_token);
    s->http.bearer_token = s->bearer_token;
    s->coalesce_gap = o->coalesce_gap_nbytes != 0 ? o->coalesce_gap_nbytes
                                                  : LC__COALESCE_GAP_DEFAULT;

    if (has_scheme(url, "s3") || has_scheme(url, "s3a") ||
        parse_s3_https(url, bucket, sizeof(bucket), region, sizeof(region),
                       &key)) {
        s->kind = STORE_S3;
        if (has_scheme(url, "s3") || has_scheme(url, "s3a")) {
            const char *p = strstr(url, "://") + 3;
            const char *slash = strchr(p, '/');
            size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
            s->bucket = dup_n(p, n);
            if (slash != NULL && slash[1] != '\0') {
                size_t m = strlen(slash + 1);
                while (m > 0 && slash[1 + m - 1] == '/')
                    m--;
                s->key_prefix = lc__malloc(NULL, m + 2);
                if (s->key_prefix != NULL)
                    snprintf(s->key_prefix, m + 2, "%.*s/", (int)m, slash + 1);
            }
            region[0] = '\0';
        } else {
            s->bucket = dup_str(bucket);
        }
        const char *r = o->region != NULL   ? o->region
                        : region[0] != '\0' ? region
                        : env_nonempty("AWS_REGION")
                            ? env_nonempty("AWS_REGION")
                        : env_nonempty("AWS_DEFAULT_REGION")
                            ? env_nonempty("AWS_DEFAULT_REGION")
                            : "us-east-1";
        s->region = dup_str(r);
        const char *endpoint = o->endpoint != NULL
                                   ? o->endpoint
                                   : env_nonempty("AWS_ENDPOINT_URL");
        if (endpoint != NULL) {
            size_t n = strlen(endpoint);
            while (n > 0 && endpoint[n - 1] == '/')
                n--;
            s->endpoint = dup_n(endpoint, n);
        }
        s->virtual_hosted =
            endpoint == NULL
                ? strchr(s->bucket != NULL ? s->bucket : "", '.') == NULL
                : o->virtual_hosted_style != 0;
        s->skip_signature = o->skip_signature != 0;
        s->request_payer = o->request_payer != 0;
        if (!s->skip_signature)
            status = find_credentials(s, o);
        if (status == LC_OK && s->bucket != NULL && s->bucket[0] == '\0')
            status = lc__error(err, LC_EINVAL, "%s: no bucket in the URL", url);
    } else if (has_scheme(url, "gs")) {
        /* Public Google Cloud Storage buckets over the XML/HTTP API. */
        s->kind = STORE_HTTP;
        const char *p = strstr(url, "://") + 3;
        size_t n = strlen("https://storage.googleapis.com/") + strlen(p) + 1;
        s->base_url = lc__malloc(NULL, n);
        if (s->base_url != NULL)
            snprintf(s->base_url, n, "https://storage.googleapis.com/%s", p);
    } else if (has_scheme(url, "http") || has_scheme(url, "https")) {
        s->kind = STORE_HTTP;
        size_t n = strcspn(url, "?");
        while (n > 0 && url[n - 1] == '/')
            n--;
        s->base_url = dup_n(url, n);
        if (o->azure_sas != NULL) {
            const char *sas =
                o->azure_sas[0] == '?' ? o->azure_sas + 1 : o->azure_sas;
            size_t m = strlen(sas) + 2;
            s->url_suffix = lc__malloc(NULL, m);
            if (s->url_suffix != NULL)
                snprintf(s->url_suffix, m, "?%s", sas);
        }
    } else if (has_scheme(url, "file") || strstr(url, "://") == NULL) {
        s->kind = STORE_LOCAL;
        const char *dir = has_scheme(url, "file") ? url + 7 : url;
        s->local_dir = dup_str(dir);
    } else {
        status = lc__error(err, LC_EUNSUPPORTED, "%s: URL scheme not supported",
                           url);
    }
    if (status == LC_OK && s->root == NULL)
        status = lc__error(err, LC_ENOMEM, "out of memory");
    if (status < 0) {
        if (status == LC_ENOMEM && err->status != LC_ENOMEM)
            lc__error(err, LC_ENOMEM, "out of memory");
        store_free(s);
        return status;
    }
    *store_ret = s;
    return LC_OK;
}

int lc_store_open(const char *url, const struct lc_store_options *opts,
                  struct lc_store **store_ret)
{
    struct lc__errbuf err = {0};

    if (store_ret == NULL)
        return lc__publish(NULL, LC_EINVAL);
    int status = lc__store_open(url, opts, store_ret, &err);
    lc__redact_urls(err.msg, sizeof err.msg);
    return lc__publish(&err, status);
}

static void counters_to_stats(const struct lc__http_counters *c,
                              uint64_t coalesced, struct lc_io_stats *out)
{
    out->requests = c->requests;
    out->bytes = c->bytes;
    out->retries = c->retries;
    out->coalesced_ranges = coalesced;
    out->wait_s = (double)c->wait_ns / 1e9;
}

static pthread_mutex_t process_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t process_coalesced;

int lc_store_get_stats(const struct lc_store *store, struct lc_io_stats *stats)
{
    if (store == NULL || stats == NULL || stats->struct_size != sizeof(*stats))
        return lc__publish(NULL, LC_EINVAL);
    struct lc_store *s = (struct lc_store *)(uintptr_t)store;
    pthread_mutex_lock(&s->mu);
    counters_to_stats(&s->counters, s->coalesced, stats);
    pthread_mutex_unlock(&s->mu);
    return LC_OK;
}

int lc_io_get_process_stats(struct lc_io_stats *stats)
{
    struct lc__http_counters c;

    if (stats == NULL || stats->struct_size != sizeof(*stats))
        return lc__publish(NULL, LC_EINVAL);
    lc__http_process_counters(&c);
    pthread_mutex_lock(&process_mu);
    counters_to_stats(&c, process_coalesced, stats);
    pthread_mutex_unlock(&process_mu);
    return LC_OK;
}

/* ---- the process-wide cache of default stores --------------------------- */

struct cache_entry {
    char root[512];
    struct lc_store *store;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[64];
static size_t cache_n;

static int store_for_href(const char *href, struct lc_store **store_ret,
                          struct lc__errbuf *err)
{
    char root[512];

    LC_FORWARD_IF_ERROR(root_of(href, root, sizeof(root), err));
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < cache_n; i++) {
        if (strcmp(cache[i].root, root) == 0) {
            lc__store_ref(cache[i].store);
            *store_ret = cache[i].store;
            pthread_mutex_unlock(&cache_mu);
            return LC_OK;
        }
    }
    int status = lc__store_open(root, NULL, store_ret, err);
    if (status == LC_OK && cache_n < LC_ARRAY_SIZE(cache)) {
        snprintf(cache[cache_n].root, sizeof(cache[cache_n].root), "%s", root);
        cache[cache_n].store = *store_ret;
        lc__store_ref(*store_ret);
        cache_n++;
    }
    pthread_mutex_unlock(&cache_mu);
    return status;
}

/* ---- remote sources ----------------------------------------------------- */

struct remote {
    struct lc_store *store;
    char *url;         /* HTTP: full request URL */
    char *key;         /* S3: object key (not encoded) */
    char *bucket;      /* S3: bucket of this object */
    char *log_url;     /* for messages */
    uint64_t size;     /* from Content-Range; 0 until known; under store->mu,
                          as reads of one source may run in several threads */
    struct lc__io *io; /* the source this is the opaque of: its counters */
};

/* Appends s to the buffer, percent-encoding all but RFC 3986 unreserved
 * characters (and '/' when keep_slash), as S3 keys need. */
static size_t encode_into(char *dst, size_t cap, size_t n, const char *s,
                          bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            if (n + 1 < cap)
                dst[n] = (char)c;
            n++;
        } else {
            if (n + 3 < cap) {
                dst[n] = '%';
                dst[n + 1] = hex[c >> 4];
                dst[n + 2] = hex[c & 15];
            }
            n += 3;
        }
    }
    if (n < cap)
        dst[n] = '\0';
    else if (cap > 0)
        dst[cap - 1] = '\0';
    return n;
}

/* The URL, Host header value and encoded path of an S3 request. */
static int s3_request_url(struct remote *r, char *url, size_t cap, char *host,
                          size_t host_cap, char *path, size_t path_cap)
{
    struct lc_store *s = r->store;
    char region[64];
    char encoded_key[4096];

    pthread_mutex_lock(&s->mu);
    snprintf(region, sizeof(region), "%s", s->region);
    pthread_mutex_unlock(&s->mu);
    if (encode_into(encoded_key, sizeof(encoded_key), 0, r->key, true) >=
        sizeof(encoded_key))
        return LC_ELIMIT;
    const char *scheme = "https";
    if (s->endpoint != NULL) {
        const char *h;
        const char *p;
        size_t hl;
        split_url(s->endpoint, &h, &hl, &p);
        scheme = has_scheme(s->endpoint, "http") ? "http" : "https";
        if (s->virtual_hosted) {
            snprintf(host, host_cap, "%s.%.*s", r->bucket, (int)hl, h);
            snprintf(path, path_cap, "%s/%s", p, encoded_key);
        } else {
            snprintf(host, host_cap, "%.*s", (int)hl, h);
            snprintf(path, path_cap, "%s/%s/%s", p, r->bucket, encoded_key);
        }
    } else if (s->virtual_hosted) {
        snprintf(host, host_cap, "%s.s3.%s.amazonaws.com", r->bucket, region);
        snprintf(path, path_cap, "/%s", encoded_key);
    } else {
        snprintf(host, host_cap, "s3.%s.amazonaws.com", region);
        snprintf(path, path_cap, "/%s/%s", r->bucket, encoded_key);
    }
    int n = snprintf(url, cap, "%s://%s%s", scheme, host, path);
    return n < 0 || (size_t)n >= cap ? LC_ELIMIT : LC_OK;
}

/* Headers of one S3 request: signature (unless skip_signature) and the
 * requester-pays flag. Lines go into lines[] (each malloc'ed). */
static int s3_headers(struct remote *r, const char *host, const char *path,
                      char **lines, size_t *nlines, struct lc__errbuf *err)
{
    struct lc_store *s = r->store;
    char region[64];

    *nlines = 0;
    if (s->request_payer)
        lines[(*nlines)++] = dup_str("x-amz-request-payer: requester");
    if (s->skip_signature || s->access_key_id == NULL ||
        s->secret_access_key == NULL)
        return LC_OK;
    pthread_mutex_lock(&s->mu);
    snprintf(region, sizeof(region), "%s", s->region);
    pthread_mutex_unlock(&s->mu);

    char amz_date[17];
    LC_FORWARD_IF_ERROR(
        lc__sigv4_format_amz_date((int64_t)time(NULL), amz_date, err));
    struct lc__sigv4_header signed_extra[1];
    size_t nextra = 0;
    if (s->request_payer)
        signed_extra[nextra++] =
            (struct lc__sigv4_header){"x-amz-request-payer", "requester"};
    struct lc__sigv4_input in = {
        .method = "GET",
        .host = host,
        .path = path,
        .query = "",
        .headers = signed_extra,
        .nheaders = nextra,
        .payload_sha256_hex = NULL,
        .region = region,
        .service = "s3",
        .access_key_id = s->access_key_id,
        .secret_access_key = s->secret_access_key,
        .session_token = s->session_token,
        .amz_date = amz_date,
        .normalize_path = false,
        .add_content_sha256_header = true,
    };
    struct lc__sigv4_output out;
    int status = lc__sigv4_sign(&in, NULL, &out, err);
    if (status < 0)
        return status;
    /* x-amz-date, x-amz-content-sha256, x-amz-security-token and
     * authorization, as the signer computed them. */
    for (size_t i = 0; i < out.nheaders && *nlines < 7; i++) {
        size_t len =
            strlen(out.headers[i].name) + strlen(out.headers[i].value) + 3;
        char *line = lc__malloc(NULL, len);
        if (line != NULL)
            snprintf(line, len, "%s: %s", out.headers[i].name,
                     out.headers[i].value);
        lines[(*nlines)++] = line;
    }
    lc__sigv4_output_free(&out);
    for (size_t i = 0; i < *nlines; i++) {
        if (lines[i] == NULL)
            return lc__error(err, LC_ENOMEM, "out of memory");
    }
    return LC_OK;
}

/* A group of requests served by one transfer (after coalescing). */
struct group {
    uint64_t start;
    uint64_t end; /* exclusive */
    uint8_t *buf; /* the single member's buffer, or NULL: */
    /* the members' buffers, which the I/O thread writes as it receives */
    struct lc__http_piece *pieces;
    size_t npieces;
};

/* The buffers of a read's requests (populate_buffers). */
struct read_buffers {
    const struct lc_range_request *reqs;
    size_t n;
};

/*
 * Maps the pages of the read's buffers while the requests are on their
 * way (lc__http_run's meanwhile): fresh buffers otherwise fault a page at
 * a time as the bytes arrive, on the I/O thread that receives for every
 * read. W6 (12.8 MB in 75 blocks): some 3,000 faults, several ms of CPU
 * after the round trip.
 */
static void populate_buffers(void *arg)
{
    const struct read_buffers *rb = arg;
    for (size_t i = 0; i < rb->n; i++)
        lc__populate(rb->reqs[i].buf, rb->reqs[i].nbytes);
}

static int cmp_by_offset(const void *a, const void *b)
{
    const struct lc_range_request *x = *(struct lc_range_request *const *)a;
    const struct lc_range_request *y = *(struct lc_range_request *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static int remote_read(void *opaque, struct lc_range_request *reqs, size_t n,
                       char *errmsg, size_t errmsg_cap)
{
    struct remote *r = opaque;
    struct lc_store *s = r->store;
    struct lc__errbuf err = {0};
    int status = LC_OK;

    struct lc_range_request **sorted = lc__calloc(NULL, n, sizeof(*sorted));
    struct group *groups = lc__calloc(NULL, n, sizeof(*groups));
    size_t *group_of = lc__calloc(NULL, n, sizeof(*group_of));
    struct lc__http_transfer *tx = lc__calloc(NULL, n, sizeof(*tx));
    char **header_lines = lc__calloc(NULL, 8 * n, sizeof(char *));
    size_t ngroups = 0;
    if (sorted == NULL || groups == NULL || group_of == NULL || tx == NULL ||
        header_lines == NULL) {
        status = lc__error(&err, LC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = &reqs[i];
    qsort(sorted, n, sizeof(*sorted), cmp_by_offset);

    /* Merge neighbours whose gap is small; overlaps always merge, so no
     * byte is fetched twice. */
    for (size_t i = 0; i < n; i++) {
        struct lc_range_request *q = sorted[i];
        uint64_t end = q->offset + q->nbytes;
        if (q->nbytes == 0)
            continue;
        struct group *g = ngroups > 0 ? &groups[ngroups - 1] : NULL;
        if (g != NULL && q->offset <= g->end + s->coalesce_gap &&
            s->coalesce_gap != SIZE_MAX &&
            (end > g->end ? end : g->end) - g->start <= MAX_COALESCED_NBYTES) {
            if (end > g->end)
                g->end = end;
        } else if (g != NULL && q->offset < g->end) {
            /* An overlap too large to merge under the cap: merge anyway. */
            if (end > g->end)
                g->end = end;
        } else {
            g = &groups[ngroups++];
            g->start = q->offset;
            g->end = end;
        }
        group_of[q - reqs] = ngroups - 1;
    }
    uint64_t coalesced = 0;
    for (size_t gi = 0; gi < ngroups; gi++) {
        struct group *g = &groups[gi];
        size_t members = 0;
        struct lc_range_request *only = NULL;
        for (size_t i = 0; i < n; i++) {
            if (reqs[i].nbytes > 0 && group_of[i] == gi) {
                members++;
                only = &reqs[i];
            }
        }
        if (members > 1)
            coalesced += members;
        if (members == 1 && only->offset == g->start &&
            only->nbytes == g->end - g->start) {
            g->buf = only->buf;
        } else {
            g->pieces = lc__calloc(NULL, members, sizeof(*g->pieces));
            if (g->pieces == NULL) {
                status = lc__error(&err, LC_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
    /* The members of merged groups, in offset order. */
    for (size_t k = 0; k < n; k++) {
        struct lc_range_request *q = sorted[k];
        struct group *g = &groups[group_of[q - reqs]];
        if (q->nbytes > 0 && g->pieces != NULL)
            g->pieces[g->npieces++] = (struct lc__http_piece){
                q->offset - g->start, q->nbytes, q->buf};
    }

    for (int pass = 0; pass < 2; pass++) {
        char url[8192], host[512], path[6144];
        size_t line_at = 0;
        for (size_t gi = 0; gi < ngroups; gi++) {
            struct lc__http_transfer *t = &tx[gi];
            memset(t, 0, sizeof(*t));
            t->offset = groups[gi].start;
            t->nbytes = (size_t)(groups[gi].end - groups[gi].start);
            t->buf = groups[gi].buf;
            t->pieces = groups[gi].pieces;
            t->npieces = groups[gi].npieces;
            t->log_url = r->log_url;
            if (s->kind == STORE_S3) {
                status = s3_request_url(r, url, sizeof(url), host, sizeof(host),
                                        path, sizeof(path));
                if (status < 0) {
                    lc__error(&err, status, "URL too long");
                    goto out;
                }
                t->url = dup_str(url);
                size_t nl = 0;
                status = s3_headers(r, host, path, header_lines + line_at, &nl,
                                    &err);
                if (status < 0)
                    goto out;
                t->headers = (const char *const *)(header_lines + line_at);
                t->nheaders = nl;
                line_at += nl;
            } else {
                t->url = dup_str(r->url);
            }
            if (t->url == NULL) {
                status = lc__error(&err, LC_ENOMEM, "out of memory");
                goto out;
            }
        }
        struct lc__http_counters counters = {0};
        struct read_buffers rb = {reqs, n};
        status = lc__http_run(tx, ngroups, &s->http, &counters,
                              populate_buffers, &rb, &err);
        pthread_mutex_lock(&s->mu);
        s->counters.requests += counters.requests;
        s->counters.bytes += counters.bytes;
        s->counters.retries += counters.retries;
        s->counters.wait_ns += counters.wait_ns;
        s->coalesced += coalesced;
        pthread_mutex_unlock(&s->mu);
        if (r->io != NULL) {
            struct lc_io_stats delta = {.requests = counters.requests,
                                        .bytes = counters.bytes,
                                        .retries = counters.retries,
                                        .coalesced_ranges = coalesced,
                                        .wait_s =
                                            (double)counters.wait_ns / 1e9};
            lc__io_add_net_stats(r->io, &delta);
        }
        pthread_mutex_lock(&process_mu);
        process_coalesced += coalesced;
        pthread_mutex_unlock(&process_mu);
        coalesced = 0;
        if (status < 0)
            goto out;
        /* S3 names the bucket's region when asked in the wrong one: learn
         * it and try once more. */
        bool redirect = false;
        for (size_t gi = 0; gi < ngroups; gi++) {
            if (s->kind == STORE_S3 && tx[gi].status < 0 &&
                tx[gi].bucket_region[0] != '\0' &&
                (tx[gi].http_status == 301 || tx[gi].http_status == 400)) {
                pthread_mutex_lock(&s->mu);
                if (strcmp(s->region, tx[gi].bucket_region) != 0) {
                    char *fresh = dup_str(tx[gi].bucket_region);
                    if (fresh != NULL) {
                        lc__free(NULL, s->region);
                        s->region = fresh;
                        redirect = true;
                    }
                }
                pthread_mutex_unlock(&s->mu);
            }
        }
        for (size_t i = 0; i < line_at; i++) {
            lc__free(NULL, header_lines[i]);
            header_lines[i] = NULL;
        }
        if (!redirect)
            break;
        for (size_t gi = 0; gi < ngroups; gi++) {
            lc__free(NULL, (void *)(uintptr_t)tx[gi].url);
            tx[gi].url = NULL;
        }
    }

    for (size_t gi = 0; gi < ngroups; gi++) {
        struct lc__http_transfer *t = &tx[gi];
        if (t->status < 0) {
            status = lc__error(&err, t->status,
                               "GET bytes %" PRIu64 "-%" PRIu64
                               ": %s (%u attempt%s)",
                               t->offset, t->offset + t->nbytes - 1, t->message,
                               t->attempts, t->attempts == 1 ? "" : "s");
            goto out;
        }
        if (t->total_nbytes != 0) {
            pthread_mutex_lock(&s->mu);
            r->size = t->total_nbytes;
            pthread_mutex_unlock(&s->mu);
        }
    }
    /* Split each group back into its members. */
    for (size_t i = 0; i < n; i++) {
        struct lc_range_request *q = &reqs[i];
        q->nread = 0;
        if (q->nbytes == 0)
            continue;
        struct group *g = &groups[group_of[i]];
        uint64_t avail_end = g->start + tx[group_of[i]].nread;
        if (q->offset >= avail_end)
            continue;
        uint64_t k = avail_end - q->offset;
        q->nread = k < q->nbytes ? (size_t)k : q->nbytes;
    }
out:
    for (size_t gi = 0; gi < ngroups; gi++) {
        if (groups != NULL)
            lc__free(NULL, groups[gi].pieces);
        if (tx != NULL)
            lc__free(NULL, (void *)(uintptr_t)tx[gi].url);
    }
    if (header_lines != NULL) {
        for (size_t i = 0; i < 8 * n; i++)
            lc__free(NULL, header_lines[i]);
    }
    lc__free(NULL, header_lines);
    lc__free(NULL, tx);
    lc__free(NULL, group_of);
    lc__free(NULL, groups);
    lc__free(NULL, sorted);
    if (status < 0)
        snprintf(errmsg, errmsg_cap, "%s", err.msg);
    return status;
}

static int remote_size(void *opaque, uint64_t *size_ret, char *errmsg,
                       size_t errmsg_cap)
{
    const struct remote *r = opaque;

    (void)errmsg;
    (void)errmsg_cap;
    pthread_mutex_lock(&r->store->mu);
    uint64_t size = r->size;
    pthread_mutex_unlock(&r->store->mu);
    if (size == 0)
        return LC_EUNSUPPORTED;
    *size_ret = size;
    return LC_OK;
}

static void remote_close(void *opaque)
{
    struct remote *r = opaque;

    lc_store_close(r->store);
    lc__free(NULL, r->url);
    lc__free(NULL, r->key);
    lc__free(NULL, r->bucket);
    lc__free(NULL, r->log_url);
    lc__free(NULL, r);
}

static const struct lc_io_methods remote_methods = {
    .struct_size = sizeof(struct lc_io_methods),
    .read = remote_read,
    .size = remote_size,
    .close = remote_close,
};

/* Joins a store's base and a relative href with one '/'. */
static char *join(const char *base, const char *rel, const char *suffix)
{
    while (*rel == '/')
        rel++;
    size_t n = strlen(base) + 1 + strlen(rel) + strlen(suffix) + 1;
    char *out = lc__malloc(NULL, n);
    if (out != NULL)
        snprintf(out, n, "%s/%s%s", base, rel, suffix);
    return out;
}

/* prefix + key, where prefix is NULL or ends with '/'. */
static char *join_key(const char *prefix, const char *key)
{
    if (prefix == NULL)
        return dup_str(key);
    size_t n = strlen(prefix) + strlen(key) + 1;
    char *out = lc__malloc(NULL, n);
    if (out != NULL)
        snprintf(out, n, "%s%s", prefix, key);
    return out;
}

/* The remote object href names in store s (of kind HTTP or S3). */
static int remote_new(struct lc_store *s, const char *href,
                      struct remote **r_ret, struct lc__errbuf *err)
{
    char bucket[256], region[64];
    const char *key;
    bool full_url = strstr(href, "://") != NULL;

    struct remote *r = lc__calloc(NULL, 1, sizeof(*r));
    LC_RETURN_IF(r == NULL, err, LC_ENOMEM, "out of memory");
    r->store = s;
    lc__store_ref(s);
    int status = LC_OK;
    if (s->kind == STORE_S3) {
        if (has_scheme(href, "s3") || has_scheme(href, "s3a")) {
            const char *p = strstr(href, "://") + 3;
            const char *slash = strchr(p, '/');
            size_t bn = slash != NULL ? (size_t)(slash - p) : strlen(p);
            r->bucket = dup_n(p, bn);
            r->key = dup_str(slash != NULL ? slash + 1 : "");
        } else if (parse_s3_https(href, bucket, sizeof(bucket), region,
                                  sizeof(region), &key)) {
            r->bucket = dup_str(bucket);
            r->key = dup_n(key, strcspn(key, "?"));
        } else if (!full_url) {
            r->bucket = dup_str(s->bucket);
            r->key = join_key(s->key_prefix, href[0] == '/' ? href + 1 : href);
        } else {
            status = lc__error(err, LC_EINVAL,
                               "%s: not an S3 URL, but the store is for %s",
                               href, s->root);
        }
        if (status == LC_OK && (r->key == NULL || r->key[0] == '\0'))
            status = lc__error(err, LC_EINVAL, "%s: no object key", href);
        if (status == LC_OK) {
            size_t n = strlen(r->bucket) + strlen(r->key) + 8;
            r->log_url = lc__malloc(NULL, n);
            if (r->log_url != NULL)
                snprintf(r->log_url, n, "s3://%s/%s", r->bucket, r->key);
        }
    } else {
        const char *suffix = s->url_suffix != NULL ? s->url_suffix : "";
        if (has_scheme(href, "gs")) {
            r->url = join("https://storage.googleapis.com",
                          strstr(href, "://") + 3, "");
        } else if (full_url) {
            size_t n = strlen(href) + strlen(suffix) + 1;
            r->url = lc__malloc(NULL, n);
            if (r->url != NULL)
                snprintf(r->url, n, "%s%s", href,
                         strchr(href, '?') == NULL ? suffix : "");
        } else {
            r->url = join(s->base_url, href, suffix);
        }
        if (r->url != NULL) {
            char redacted[2048];
            lc__http_redact_url(r->url, redacted, sizeof(redacted));
            r->log_url = dup_str(redacted);
        }
    }
    if (status == LC_OK && r->log_url == NULL)
        status = lc__error(err, LC_ENOMEM, "out of memory");
    if (status < 0) {
        remote_close(r);
        return status;
    }
    *r_ret = r;
    return LC_OK;
}

/* Opens href through store s (one reference taken by the source). */
static int store_open_io(struct lc_store *s, const char *href,
                         const struct lc_allocator *alloc,
                         struct lc__io **io_ret, struct lc__errbuf *err)
{
    bool full_url = strstr(href, "://") != NULL;

    if (s->kind == STORE_LOCAL) {
        if (full_url || href[0] == '/')
            return lc__io_open_file(href, alloc, io_ret, err);
        char *path = join(s->local_dir, href, "");
        LC_RETURN_IF(path == NULL, err, LC_ENOMEM, "out of memory");
        int status = lc__io_open_file(path, alloc, io_ret, err);
        lc__free(NULL, path);
        return status;
    }
    struct remote *r;
    LC_FORWARD_IF_ERROR(remote_new(s, href, &r, err));
    int status =
        lc__io_open_methods(&remote_methods, r, r->log_url, alloc, io_ret, err);
    if (status == LC_OK)
        r->io = *io_ret;
    return status;
}

void lc__store_preconnect(struct lc_store *store, const char *href, size_t n)
{
    struct lc__errbuf err = {0};
    struct lc_store *s = store;
    if (s != NULL)
        lc__store_ref(s);
    else if (strstr(href, "://") == NULL || has_scheme(href, "file") ||
             store_for_href(href, &s, &err) < 0)
        return;
    struct remote *r = NULL;
    if (s->kind != STORE_LOCAL && remote_new(s, href, &r, &err) == LC_OK) {
        char url[4096], host[512], path[4096];
        if (s->kind == STORE_HTTP)
            lc__http_preconnect(r->url, n);
        else if (s3_request_url(r, url, sizeof(url), host, sizeof(host), path,
                                sizeof(path)) == LC_OK)
            lc__http_preconnect(url, n);
        remote_close(r);
    }
    lc_store_close(s);
}

bool lc__store_is_local(const struct lc_store *store)
{
    return store == NULL || store->kind == STORE_LOCAL;
}

int lc__store_local_path(const struct lc_store *store, const char *href,
                         char *path, size_t path_cap, bool *local_ret,
                         struct lc__errbuf *err)
{
    bool full_url = strstr(href, "://") != NULL;

    /* The same choices as store_open_io and lc__io_open_href. */
    *local_ret = false;
    if (!lc__store_is_local(store) || (full_url && !has_scheme(href, "file")))
        return LC_OK;
    *local_ret = true;
    if (store == NULL || full_url || href[0] == '/')
        return lc__file_href_to_path(href, path, path_cap, err);
    const char *rel = href;
    while (*rel == '/')
        rel++;
    int n = snprintf(path, path_cap, "%s/%s", store->local_dir, rel);
    LC_RETURN_IF(n < 0 || (size_t)n >= path_cap, err, LC_EINVAL,
                 "%s: path too long", href);
    return LC_OK;
}

void lc__io_start_network(void)
{
    (void)lc__http_start();
}

int lc__io_open_href(const char *href, struct lc_store *store,
                     const struct lc_allocator *alloc, struct lc__io **io_ret,
                     struct lc__errbuf *err)
{
    *io_ret = NULL;
    LC_RETURN_IF(href == NULL || href[0] == '\0', err, LC_EINVAL, "empty href");
    if (store != NULL)
        return store_open_io(store, href, alloc, io_ret, err);
    /* Local paths need no store at all. */
    if (strstr(href, "://") == NULL || has_scheme(href, "file"))
        return lc__io_open_file(href, alloc, io_ret, err);
    struct lc_store *s;
    LC_FORWARD_IF_ERROR(store_for_href(href, &s, err));
    int status = store_open_io(s, href, alloc, io_ret, err);
    lc_store_close(s);
    return status;
}

int lc_store_read_ranges(struct lc_store *store, const char *href,
                         struct lc_range_request *requests, size_t nrequests)
{
    struct lc__errbuf err = {0};
    struct lc__io *io;

    if (requests == NULL && nrequests > 0)
        return lc__publish(NULL, LC_EINVAL);
    int status = lc__io_open_href(href, store, NULL, &io, &err);
    if (status == LC_OK) {
        status = lc__io_read(io, requests, nrequests, true, &err);
        lc__io_close(io);
    }
    lc__redact_urls(err.msg, sizeof err.msg);
    return lc__publish(&err, status);
}
