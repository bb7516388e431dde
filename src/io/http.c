/* http.c - ranged GETs on one I/O thread: curl multi, validation, retries. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "http.h"

/*
 * State of one transfer while the engine owns it. A transfer waiting for
 * its backoff sits in `delayed`; one ready to start sits in `queue`; one
 * running has an easy handle in the multi handle. All lists are guarded by
 * engine.mu; the fields below `easy` are touched only by the I/O thread.
 */
struct job {
    struct lc__http_transfer *t;
    struct lc__http_config config;
    struct batch *batch;
    struct job *next;
    uint64_t not_before_ns; /* for delayed jobs */

    CURL *easy;
    struct curl_slist *headers;
    char range[64];
    size_t received;      /* bytes of the range written to t->buf */
    size_t first_piece;   /* of t->pieces, the first still to be written */
    uint64_t skip;        /* bytes still to skip of a 200 answer */
    bool checked;         /* status and Content-Range looked at */
    bool whole_body_mode; /* a 200 answer to a range request */
    bool done_early;      /* stopped reading once the range was complete */
    int fail;             /* LC_OK or a non-retryable failure seen */
    bool retryable_fail;  /* truncated, reset, 5xx, 429 */
    long status;
    uint64_t cr_first, cr_last, cr_total; /* Content-Range of the answer */
    bool has_cr;
    double retry_after_s; /* from Retry-After, or -1 */
    uint64_t started_ns;
    bool answered; /* a response began (the next connection is a redirect's) */
    int spare_fd;  /* the connection opened ahead it was given, or -1 */
    uint64_t last_dlnow;       /* bytes received at the last progress */
    uint64_t last_progress_ns; /* when last_dlnow last grew */
    char error_body[160];
    size_t error_body_len;
};

struct batch {
    size_t pending;
    pthread_cond_t cv;
    struct lc__http_counters counters;
};

static struct {
    pthread_mutex_t start_mu; /* guards started and init_status */
    bool started;
    int init_status;
    pthread_mutex_t mu;
    pthread_t thread;
    CURLM *multi;
    CURLSH *share;
    struct job *queue_head, *queue_tail;
    struct job *delayed;
    size_t running;
    unsigned max_in_flight;
    struct lc__http_counters total;
    uint64_t rng;
    /* The I/O thread's passes: admit_gen counts those begun (admit_jobs),
     * sent_gen is the last one whose transfers curl has driven since
     * (requests on connections at hand are then written). */
    uint64_t admit_gen, sent_gen;
    pthread_cond_t sent; /* sent_gen grew, and sent_waiters > 0 */
    size_t sent_waiters;
} engine = {.start_mu = PTHREAD_MUTEX_INITIALIZER,
            .mu = PTHREAD_MUTEX_INITIALIZER,
            .sent = PTHREAD_COND_INITIALIZER};

#define DEFAULT_CONNECT_TIMEOUT_S 10.0
#define DEFAULT_FIRST_BYTE_TIMEOUT_S 30.0
#define DEFAULT_STALL_TIMEOUT_S 30.0
#define DEFAULT_MAX_ATTEMPTS 5
#define DEFAULT_RETRY_BASE_S 0.1
#define DEFAULT_RETRY_MAX_S 10.0
/* At 16, the bench's W5 (265 requests, 20 ms each) kept 16 in flight for
 * most of its run; 32 took it from 0.58 to 0.45 s, 64 no further (two
 * cores, the server on them too). Object stores take far more. */
#define DEFAULT_MAX_PER_HOST 32
#define DEFAULT_MAX_IN_FLIGHT 64

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lc__http_redact_url(const char *url, char *dst, size_t cap)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end != NULL ? scheme_end + 3 : url;
    const char *path = strchr(host, '/');
    const char *at = strchr(host, '@');
    const char *query = strchr(url, '?');
    size_t n = 0;

    /* scheme:// then the host without any user:password@ */
    if (at != NULL && (path == NULL || at < path)) {
        n = (size_t)(host - url);
        snprintf(dst, cap, "%.*s%s", (int)n, url, "REDACTED@");
        url = at + 1;
    } else {
        dst[0] = '\0';
    }
    size_t used = strlen(dst);
    size_t keep = query != NULL ? (size_t)(query - url) : strlen(url);
    snprintf(dst + used, cap > used ? cap - used : 0, "%.*s%s", (int)keep, url,
             query != NULL ? "?REDACTED" : "");
}

/* ---- connections opened ahead (lc__http_preconnect) ----------------------
 *
 * A new process's first read waits for its connections: a round trip on a
 * network before its first request can leave, and on a loaded server the
 * wait for the accept (in the bench, W6's first request reached the server
 * 13 ms into the workload with them, 20 ms without). lc__http_preconnect
 * opens TCP connections to a URL's host on a short-lived thread of its own
 * (the name lookup may block), and the first transfers to that host take
 * them instead of connecting: curl's open-socket callback hands one over
 * and the socket-option callback tells curl it is connected (curl 7.88
 * calls connect() on it all the same, which then reports the connection
 * made). A connection is handed over only when it is young
 * (servers close idle ones; SPARE_MAX_AGE_NS), established, and has nothing
 * to read (a server that closed it sent the end of the stream); to the
 * first connection of a transfer only (a redirect's may go to another
 * host); and never while a proxy is configured through the environment
 * (curl then connects to the proxy, not to the host). TLS is curl's, on
 * the handed socket, as on its own. The I/O thread closes the ones no
 * transfer took once they are too old.
 */
#define SPARE_MAX 16
#define SPARE_MAX_AGE_NS 5000000000ull
#define ORIGIN_MAX 320

struct spare {
    char origin[ORIGIN_MAX]; /* scheme://host:port */
    int fd;
    int family;
    uint64_t opened_ns;
};

static struct {
    pthread_mutex_t mu;
    struct spare list[SPARE_MAX];
    size_t n;
} spares = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Splits url into "scheme://host:port" (scheme and host lowercased, the
 * default port written out), the host (without an IPv6 literal's brackets)
 * and the port; false unless url is an http or https URL with a host. */
static bool url_origin(const char *url, char origin[ORIGIN_MAX], char host[256],
                       char port[8])
{
    const char *sep = strstr(url, "://");
    if (sep == NULL)
        return false;
    size_t slen = (size_t)(sep - url);
    bool https = slen == 5 && strncasecmp(url, "https", 5) == 0;
    if (!https && !(slen == 4 && strncasecmp(url, "http", 4) == 0))
        return false;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = memchr(a, '@', alen); /* user:password@ */
    if (at != NULL) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *h = a, *p = NULL, *end = a + alen;
    size_t hlen;
    if (alen > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', alen);
        if (close == NULL || (close + 1 < end && close[1] != ':'))
            return false;
        h = a + 1;
        hlen = (size_t)(close - h);
        p = close + 1 < end ? close + 2 : NULL;
    } else {
        const char *colon = memchr(a, ':', alen);
        hlen = colon != NULL ? (size_t)(colon - a) : alen;
        p = colon != NULL ? colon + 1 : NULL;
    }
    size_t plen = p != NULL ? (size_t)(end - p) : 0;
    if (hlen == 0 || hlen > 255 || plen > 5)
        return false;
    for (size_t i = 0; i < hlen; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[hlen] = '\0';
    if (plen == 0)
        snprintf(port, 8, "%s", https ? "443" : "80");
    else
        snprintf(port, 8, "%.*s", (int)plen, p);
    for (const char *c = port; *c != '\0'; c++)
        if (*c < '0' || *c > '9')
            return false;
    int n = snprintf(origin, ORIGIN_MAX, "%s://%s:%s", https ? "https" : "http",
                     host, port);
    return n > 0 && n < ORIGIN_MAX;
}

/* Whether curl takes a proxy from the environment (its variables). */
static bool proxy_configured(void)
{
    static const char *const names[] = {
        "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        const char *v = getenv(names[i]);
        if (v != NULL && v[0] != '\0')
            return true;
    }
    return false;
}

enum spare_state { SPARE_READY, SPARE_CONNECTING, SPARE_DEAD };

static enum spare_state spare_state(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 0) < 0 ||
        (p.revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0)
        return SPARE_DEAD;
    if ((p.revents & POLLOUT) == 0)
        return SPARE_CONNECTING;
    int error = 0;
    socklen_t len = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
        return SPARE_DEAD;
    return SPARE_READY;
}

/* Takes a ready spare connection to origin of the address family, or
 * returns -1; closes the dead and the old ones it meets on the way (all
 * of them when origin is NULL). Called with spares.mu held. */
static int take_spare_locked(const char *origin, int family)
{
    uint64_t now = now_ns();
    int fd = -1;
    size_t i = 0;
    while (i < spares.n && fd < 0) {
        struct spare *s = &spares.list[i];
        bool old = now - s->opened_ns > SPARE_MAX_AGE_NS;
        bool match = origin != NULL && s->family == family &&
                     strcmp(s->origin, origin) == 0;
        enum spare_state state = old     ? SPARE_DEAD
                                 : match ? spare_state(s->fd)
                                         : SPARE_CONNECTING;
        if (state == SPARE_CONNECTING) {
            i++;
            continue;
        }
        if (state == SPARE_READY)
            fd = s->fd;
        else
            close(s->fd);
        spares.list[i] = spares.list[--spares.n];
    }
    return fd;
}

/* The I/O thread's housekeeping: closes spares too old to be handed over. */
static void close_old_spares(void)
{
    pthread_mutex_lock(&spares.mu);
    (void)take_spare_locked(NULL, 0);
    pthread_mutex_unlock(&spares.mu);
}

struct preconnect {
    char origin[ORIGIN_MAX];
    char host[256];
    char port[8];
    size_t n;
};

/* Connects one socket to the first address of ai that takes it, without
 * waiting for the connection to be established; -1 when none does. */
static int connect_ahead(const struct addrinfo *ai, int *family)
{
    for (; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 &&
            fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 &&
            (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
             errno == EINPROGRESS)) {
            *family = ai->ai_family;
            return fd;
        }
        close(fd);
    }
    return -1;
}

static void *preconnect_thread(void *arg)
{
    struct preconnect *pc = arg;
    /* The engine's start (curl's global set-up, the I/O thread) is part of
     * what the first read would otherwise wait for. */
    if (lc__http_start() == LC_OK) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        if (getaddrinfo(pc->host, pc->port, &hints, &res) == 0) {
            for (size_t k = 0; k < pc->n; k++) {
                int family = 0;
                int fd = connect_ahead(res, &family);
                if (fd < 0)
                    break;
                struct spare sp = {
                    .fd = fd, .family = family, .opened_ns = now_ns()};
                memcpy(sp.origin, pc->origin, sizeof(sp.origin));
                pthread_mutex_lock(&spares.mu);
                bool kept = spares.n < SPARE_MAX;
                if (kept)
                    spares.list[spares.n++] = sp;
                pthread_mutex_unlock(&spares.mu);
                if (!kept) {
                    close(fd);
                    break;
                }
            }
            freeaddrinfo(res);
        }
    }
    lc__free(NULL, pc);
    return NULL;
}

void lc__http_preconnect(const char *url, size_t n)
{
    struct preconnect want = {.n = n > SPARE_MAX ? SPARE_MAX : n};
    if (n == 0 || proxy_configured() ||
        !url_origin(url, want.origin, want.host, want.port))
        return;
    /* Those already waiting count. */
    size_t have = 0;
    pthread_mutex_lock(&spares.mu);
    for (size_t i = 0; i < spares.n; i++)
        have += strcmp(spares.list[i].origin, want.origin) == 0;
    pthread_mutex_unlock(&spares.mu);
    if (have >= want.n)
        return;
    want.n -= have;
    struct preconnect *pc = lc__malloc(NULL, sizeof(*pc));
    if (pc == NULL)
        return;
    *pc = want;
    /* The thread takes no signal: they are the caller's threads' to take
     * (it inherits this mask). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attr;
    pthread_t thread;
    bool started = false;
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        started = pthread_create(&thread, &attr, preconnect_thread, pc) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    if (!started)
        lc__free(NULL, pc);
}

/* curl's open-socket callback (I/O thread): a spare connection for the
 * first connection of a transfer, else a new socket as curl makes it. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose,
                                 struct curl_sockaddr *addr)
{
    struct job *j = ud;
    char origin[ORIGIN_MAX], host[256], port[8];
    if (purpose == CURLSOCKTYPE_IPCXN && addr->socktype == SOCK_STREAM &&
        !j->answered && !proxy_configured() &&
        url_origin(j->t->url, origin, host, port)) {
        pthread_mutex_lock(&spares.mu);
        int fd = take_spare_locked(origin, addr->family);
        pthread_mutex_unlock(&spares.mu);
        if (fd >= 0) {
            j->spare_fd = fd;
            return fd;
        }
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

/* curl's socket-option callback: a handed spare is connected already. */
static int socket_options(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    struct job *j = ud;
    (void)purpose;
    if (j->spare_fd >= 0 && fd == j->spare_fd) {
        j->spare_fd = -1;
        return CURL_SOCKOPT_ALREADY_CONNECTED;
    }
    return CURL_SOCKOPT_OK;
}

/* ---- callbacks (I/O thread) -----------------------------------------------
 */

static bool starts_with_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);

    return n >= k && strncasecmp(s, prefix, k) == 0;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
    struct job *j = ud;
    size_t n = size * nitems;
    char line[256];

    /* A new status line starts the headers of another response (after a
     * redirect or a 100 Continue): forget what the previous one said. */
    if (starts_with_ci(data, n, "HTTP/")) {
        j->answered = true;
        j->has_cr = false;
        j->retry_after_s = -1;
        j->t->bucket_region[0] = '\0';
        return n;
    }
    size_t len = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, data, len);
    line[len] = '\0';
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        line[--len] = '\0';
    if (starts_with_ci(line, len, "content-range:")) {
        unsigned long long a, b, total;
        const char *v = line + 14;
        while (*v == ' ')
            v++;
        if (sscanf(v, "bytes %llu-%llu/%llu", &a, &b, &total) == 3) {
            j->has_cr = true;
            j->cr_first = a;
            j->cr_last = b;
            j->cr_total = total;
        } else if (sscanf(v, "bytes */%llu", &total) == 1) {
            j->cr_total = total;
        }
    } else if (starts_with_ci(line, len, "retry-after:")) {
        char *end;
        double s = strtod(line + 12, &end);
        if (end != line + 12 && s >= 0)
            j->retry_after_s = s;
    } else if (starts_with_ci(line, len, "x-amz-bucket-region:")) {
        const char *v = line + 20;
        while (*v == ' ')
            v++;
        lc__copy_str(j->t->bucket_region, sizeof(j->t->bucket_region), v);
    }
    return n;
}

static void set_fail(struct job *j, int status, bool retryable, const char *fmt,
                     ...) LC_PRINTF_LIKE(4, 5);

static void set_fail(struct job *j, int status, bool retryable, const char *fmt,
                     ...)
{
    va_list ap;

    if (j->fail != LC_OK)
        return;
    j->fail = status;
    j->retryable_fail = retryable;
    va_start(ap, fmt);
    vsnprintf(j->t->message, sizeof(j->t->message), fmt, ap);
    va_end(ap);
}

/* Decides, at the first body byte, whether the answer can be kept. */
static void check_answer(struct job *j)
{
    struct lc__http_transfer *t = j->t;

    j->checked = true;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
    if (j->status == 206 && t->nbytes > 0) {
        uint64_t last = t->offset + t->nbytes - 1;
        /* The exact range, or the same start cut short by the end of the
         * object; anything else would put wrong bytes at our offsets. */
        bool ok = j->has_cr && j->cr_first == t->offset &&
                  (j->cr_last == last ||
                   (j->cr_last < last && j->cr_last + 1 == j->cr_total));
        if (!ok)
            set_fail(j, LC_ECORRUPT, false,
                     "206 answer for bytes %" PRIu64 "-%" PRIu64
                     " carries Content-Range %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                     t->offset, last, j->cr_first, j->cr_last, j->cr_total);
        t->total_nbytes = j->cr_total;
    } else if (j->status == 200) {
        /* The server ignored Range: skip to our offset, stop at its end. */
        j->whole_body_mode = t->nbytes > 0;
        j->skip = t->nbytes > 0 ? t->offset : 0;
        curl_off_t len = -1;
        curl_easy_getinfo(j->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        if (len >= 0)
            t->total_nbytes = (uint64_t)len;
    }
}

/* Writes the n bytes at `at` of the range into the pieces they meet;
 * *first: no piece before it is still to be written. */
static void scatter(const struct lc__http_transfer *t, size_t *first,
                    uint64_t at, const char *data, size_t n)
{
    uint64_t end = at + n;
    while (*first < t->npieces &&
           t->pieces[*first].at + t->pieces[*first].nbytes <= at)
        (*first)++;
    for (size_t i = *first; i < t->npieces && t->pieces[i].at < end; i++) {
        const struct lc__http_piece *p = &t->pieces[i];
        uint64_t from = p->at > at ? p->at : at;
        uint64_t to = p->at + p->nbytes < end ? p->at + p->nbytes : end;
        if (from < to)
            memcpy(p->buf + (from - p->at), data + (from - at),
                   (size_t)(to - from));
    }
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct job *j = ud;
    struct lc__http_transfer *t = j->t;
    size_t n = size * nmemb;

    if (!j->checked)
        check_answer(j);
    if (j->fail != LC_OK)
        return 0;
    if (j->status != 200 && j->status != 206) {
        /* Keep the start of an error body for the message. */
        size_t room = sizeof(j->error_body) - 1 - j->error_body_len;
        size_t k = n < room ? n : room;
        memcpy(j->error_body + j->error_body_len, data, k);
        j->error_body_len += k;
        j->error_body[j->error_body_len] = '\0';
        return n;
    }
    size_t cap = t->nbytes > 0 ? t->nbytes : 0;
    if (j->whole_body_mode && j->skip > 0) {
        size_t k = j->skip < n ? (size_t)j->skip : n;
        j->skip -= k;
        data += k;
        n -= k;
        if (n == 0)
            return size * nmemb;
    }
    if (t->nbytes == 0) {
        set_fail(j, LC_EINVAL, false, "a GET without a range");
        return 0;
    }
    if (n > cap - j->received) {
        if (!j->whole_body_mode) {
            set_fail(j, LC_ECORRUPT, false,
                     "server sent more than the %zu bytes asked for",
                     t->nbytes);
            return 0;
        }
        n = cap - j->received;
    }
    if (t->pieces == NULL)
        memcpy(t->buf + j->received, data, n);
    else
        scatter(t, &j->first_piece, j->received, data, n);
    j->received += n;
    if (j->whole_body_mode && j->received == cap) {
        /* Everything needed has arrived: do not read the rest. */
        j->done_early = true;
        return 0;
    }
    return size * nmemb;
}

/* Fails transfers that have waited too long for their first byte, or
 * received nothing for stall_timeout_s. curl's own low-speed limit is no
 * use for the latter: it averages over several seconds, so a body that
 * stops after a burst of bytes hangs for ~5 s longer than asked. curl
 * calls this at least about once a second, which bounds the overshoot. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct job *j = ud;
    uint64_t now = now_ns();

    (void)dltotal;
    (void)ultotal;
    (void)ulnow;
    if (dlnow == 0 && !j->checked &&
        (double)(now - j->started_ns) / 1e9 > j->config.first_byte_timeout_s) {
        set_fail(j, LC_EIO, true, "no first byte within %.1f s",
                 j->config.first_byte_timeout_s);
        return 1;
    }
    if (dlnow > 0 && (uint64_t)dlnow != j->last_dlnow) {
        j->last_dlnow = (uint64_t)dlnow;
        j->last_progress_ns = now;
    } else if (j->last_dlnow > 0 && (double)(now - j->last_progress_ns) / 1e9 >
                                        j->config.stall_timeout_s) {
        set_fail(j, LC_EIO, true, "stalled: no byte for %.1f s",
                 j->config.stall_timeout_s);
        return 1;
    }
    return 0;
}

/* ---- starting and finishing (I/O thread, engine.mu held where noted) ---- */

static int start_job(struct job *j)
{
    struct lc__http_transfer *t = j->t;
    const struct lc__http_config *c = &j->config;

    j->easy = curl_easy_init();
    if (j->easy == NULL)
        return LC_ENOMEM;
    j->received = 0;
    j->first_piece = 0;
    j->skip = 0;
    j->checked = false;
    j->whole_body_mode = false;
    j->done_early = false;
    j->fail = LC_OK;
    j->retryable_fail = false;
    j->status = 0;
    j->has_cr = false;
    j->retry_after_s = -1;
    j->error_body_len = 0;
    j->error_body[0] = '\0';
    j->started_ns = now_ns();
    j->answered = false;
    j->spare_fd = -1;
    j->last_dlnow = 0;
    j->last_progress_ns = j->started_ns;
    t->attempts++;

    CURL *e = j->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, j);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, socket_options);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, engine.share);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    /* Credentials never follow a redirect to another host. */
    curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* Waiting for the first connection to a host to learn whether it
     * multiplexes saves connections over HTTP/2, which only TLS offers
     * here (2TLS); over plain http it would only cost a round trip. */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT,
                     strncmp(t->url, "https://", 8) == 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(c->connect_timeout_s * 1000));
    /* A transfer with no byte for stall_timeout_s is abandoned (and
     * retried) by on_progress; curl's low-speed limit of 1 byte/s over that
     * time stays as a backstop (before the first body byte too). */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)ceil(c->stall_timeout_s));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
    if (c->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->use_netrc) {
        /* $NETRC names another file, as for most tools that read one. */
        const char *netrc = getenv("NETRC");
        curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
        if (netrc != NULL && netrc[0] != '\0')
            curl_easy_setopt(e, CURLOPT_NETRC_FILE, netrc);
    }
    if (c->bearer_token != NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, c->bearer_token);
    }
    if (t->nbytes > 0) {
        snprintf(j->range, sizeof(j->range), "%" PRIu64 "-%" PRIu64, t->offset,
                 t->offset + t->nbytes - 1);
        curl_easy_setopt(e, CURLOPT_RANGE, j->range);
    }
    curl_slist_free_all(j->headers);
    j->headers = NULL;
    for (size_t i = 0; i < t->nheaders; i++) {
        struct curl_slist *h = curl_slist_append(j->headers, t->headers[i]);
        if (h == NULL)
            return LC_ENOMEM;
        j->headers = h;
    }
    if (j->headers != NULL)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    if (curl_multi_add_handle(engine.multi, e) != CURLM_OK)
        return LC_EIO;
    engine.running++;
    return LC_OK;
}

/* Failures of the connection or the transfer, worth another attempt. (An
 * if-chain: a switch over curl's enum would have to list all of it.) */
static bool retryable_curl(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
           rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM ||
           rc == CURLE_SSL_CONNECT_ERROR;
}

/* Next random number for backoff jitter (xorshift; quality is no issue). */
static double jitter(void)
{
    engine.rng ^= engine.rng << 13;
    engine.rng ^= engine.rng >> 7;
    engine.rng ^= engine.rng << 17;
    return (double)(engine.rng >> 11) / (double)(1ull << 53);
}

/* Classifies a finished attempt; returns true when it should be retried.
 * Sets t->status and t->message for a final outcome. */
static bool judge(struct job *j, CURLcode rc)
{
    struct lc__http_transfer *t = j->t;

    if (!j->checked && rc == CURLE_OK)
        check_answer(j);
    t->http_status = j->status;
    if (j->fail != LC_OK) {
        /* Our own checks stopped the transfer. */
        if (j->retryable_fail && t->attempts < j->config.max_attempts)
            return true;
        t->status = j->fail;
        return false;
    }
    bool ok_code = rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && j->done_early);
    if (!ok_code) {
        snprintf(t->message, sizeof(t->message), "%s", curl_easy_strerror(rc));
        if (retryable_curl(rc) && t->attempts < j->config.max_attempts)
            return true;
        t->status = LC_EIO;
        return false;
    }
    if (j->status == 206 || j->status == 200) {
        size_t want = t->nbytes;
        if (j->status == 206 && j->has_cr && j->cr_last + 1 == j->cr_total &&
            j->cr_last < t->offset + t->nbytes - 1)
            want = (size_t)(j->cr_last - t->offset + 1);
        if (j->status == 200 && j->received < want && !j->done_early) {
            /* The whole object was shorter than our range. */
            want = j->received;
        }
        if (j->received != want) {
            snprintf(t->message, sizeof(t->message),
                     "body ended after %zu of %zu bytes", j->received, want);
            if (t->attempts < j->config.max_attempts)
                return true;
            t->status = LC_EIO;
            return false;
        }
        t->nread = j->received;
        t->status = LC_OK;
        return false;
    }
    if (j->status == 416) {
        /* The range starts at or past the end of the object. */
        t->nread = 0;
        t->status = LC_OK;
        return false;
    }
    snprintf(t->message, sizeof(t->message), "HTTP %ld%s%.120s", j->status,
             j->error_body_len > 0 ? ": " : "", j->error_body);
    for (char *p = t->message; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    if ((j->status >= 500 || j->status == 429) &&
        t->attempts < j->config.max_attempts)
        return true;
    t->status = j->status == 404 ? LC_ENOTFOUND : LC_EHTTP;
    return false;
}

/* Called with engine.mu held. */
static void finish_job(struct job *j)
{
    struct batch *b = j->batch;

    curl_slist_free_all(j->headers);
    j->headers = NULL;
    b->pending--;
    if (b->pending == 0)
        pthread_cond_signal(&b->cv);
}

static void on_done(CURL *e, CURLcode rc)
{
    struct job *j = NULL;

    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
    curl_off_t got = 0;
    curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &got);
    bool retry = judge(j, rc);
    curl_multi_remove_handle(engine.multi, e);
    curl_easy_cleanup(e);
    j->easy = NULL;

    pthread_mutex_lock(&engine.mu);
    engine.running--;
    j->batch->counters.requests++;
    j->batch->counters.bytes += (uint64_t)(got > 0 ? got : 0);
    engine.total.requests++;
    engine.total.bytes += (uint64_t)(got > 0 ? got : 0);
    if (retry) {
        double base =
            j->config.retry_base_s * pow(2.0, (double)(j->t->attempts - 1));
        double delay =
            fmin(base, j->config.retry_max_s) * (0.5 + 0.5 * jitter());
        if (j->retry_after_s >= 0)
            delay = fmin(j->retry_after_s, j->config.retry_max_s);
        j->not_before_ns = now_ns() + (uint64_t)(delay * 1e9);
        j->next = engine.delayed;
        engine.delayed = j;
        j->batch->counters.retries++;
        engine.total.retries++;
    } else {
        finish_job(j);
    }
    pthread_mutex_unlock(&engine.mu);
}

/* Moves due delayed jobs to the queue and starts queued jobs while there
 * is room; returns the ms until the next delayed job is due (or -1), and
 * the pass's number in *gen. */
static long admit_jobs(uint64_t *gen)
{
    uint64_t now = now_ns();
    long wait_ms = -1;

    pthread_mutex_lock(&engine.mu);
    *gen = ++engine.admit_gen;
    struct job **pp = &engine.delayed;
    while (*pp != NULL) {
        struct job *j = *pp;
        if (j->not_before_ns <= now) {
            *pp = j->next;
            j->next = NULL;
            if (engine.queue_tail != NULL)
                engine.queue_tail->next = j;
            else
                engine.queue_head = j;
            engine.queue_tail = j;
        } else {
            long ms = (long)((j->not_before_ns - now) / 1000000u) + 1;
            if (wait_ms < 0 || ms < wait_ms)
                wait_ms = ms;
            pp = &j->next;
        }
    }
    while (engine.queue_head != NULL && engine.running < engine.max_in_flight) {
        struct job *j = engine.queue_head;
        engine.queue_head = j->next;
        if (engine.queue_head == NULL)
            engine.queue_tail = NULL;
        j->next = NULL;
        int status = start_job(j);
        if (status < 0) {
            if (j->easy != NULL)
                curl_easy_cleanup(j->easy);
            j->easy = NULL;
            j->t->status = status;
            snprintf(j->t->message, sizeof(j->t->message),
                     "could not start the transfer");
            finish_job(j);
        }
    }
    pthread_mutex_unlock(&engine.mu);
    return wait_ms;
}

static void *io_thread(void *arg)
{
    (void)arg;
    for (;;) {
        close_old_spares();
        uint64_t gen;
        long wait_ms = admit_jobs(&gen);
        int still = 0;
        curl_multi_perform(engine.multi, &still);
        pthread_mutex_lock(&engine.mu);
        engine.sent_gen = gen;
        if (engine.sent_waiters > 0)
            pthread_cond_broadcast(&engine.sent);
        pthread_mutex_unlock(&engine.mu);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(engine.multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE)
                on_done(msg->easy_handle, msg->data.result);
        }
        long curl_ms = -1;
        curl_multi_timeout(engine.multi, &curl_ms);
        long timeout = 1000;
        if (curl_ms >= 0 && curl_ms < timeout)
            timeout = curl_ms;
        if (wait_ms >= 0 && wait_ms < timeout)
            timeout = wait_ms;
        if (still > 0 || timeout > 0)
            curl_multi_poll(engine.multi, NULL, 0, (int)timeout, NULL);
    }
    return NULL;
}

static void engine_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        engine.init_status = LC_EIO;
        return;
    }
    engine.multi = curl_multi_init();
    engine.share = curl_share_init();
    if (engine.multi == NULL || engine.share == NULL) {
        engine.init_status = LC_ENOMEM;
        return;
    }
    /* DNS answers and TLS sessions are reused across transfers; only the
     * I/O thread uses the share handle, so it needs no lock functions. */
    curl_share_setopt(engine.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(engine.share, CURLSHOPT_SHARE,
                      CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(engine.multi, CURLMOPT_PIPELINING,
                      (long)CURLPIPE_MULTIPLEX);
    engine.max_in_flight = DEFAULT_MAX_IN_FLIGHT;
    curl_multi_setopt(engine.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)DEFAULT_MAX_PER_HOST);
    engine.rng = 0x9E3779B97F4A7C15ull ^ now_ns();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&engine.thread, &attr, io_thread, NULL) != 0)
        engine.init_status = LC_EIO;
    pthread_attr_destroy(&attr);
}

static void fill_defaults(struct lc__http_config *c)
{
    if (c->connect_timeout_s <= 0)
        c->connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
    if (c->first_byte_timeout_s <= 0)
        c->first_byte_timeout_s = DEFAULT_FIRST_BYTE_TIMEOUT_S;
    if (c->stall_timeout_s <= 0)
        c->stall_timeout_s = DEFAULT_STALL_TIMEOUT_S;
    if (c->max_attempts == 0)
        c->max_attempts = DEFAULT_MAX_ATTEMPTS;
    if (c->retry_base_s <= 0)
        c->retry_base_s = DEFAULT_RETRY_BASE_S;
    if (c->retry_max_s <= 0)
        c->retry_max_s = DEFAULT_RETRY_MAX_S;
    if (c->max_connections_per_host == 0)
        c->max_connections_per_host = DEFAULT_MAX_PER_HOST;
    if (c->max_in_flight == 0)
        c->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
}

/*
 * fork(): the child has no I/O thread, and the parent's curl handles (its
 * connections, the multi handle's wakeup pipe) are not the child's to use
 * or to close, which could end the parent's TLS sessions. The child drops
 * them unclosed, with the parent's queued transfers (their waiting threads
 * are not in the child), and starts an engine of its own at its first
 * request. Without this, a child's first request waited forever. The
 * connections opened ahead (TCP only: TLS begins on the transfer that
 * takes one) the child closes: its copies, not the parent's sockets.
 */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&engine.start_mu);
    pthread_mutex_lock(&engine.mu);
    pthread_mutex_lock(&spares.mu);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&spares.mu);
    pthread_mutex_unlock(&engine.mu);
    pthread_mutex_unlock(&engine.start_mu);
}

static void atfork_child(void)
{
    engine.started = false;
    engine.init_status = LC_OK;
    engine.multi = NULL;
    engine.share = NULL;
    engine.queue_head = NULL;
    engine.queue_tail = NULL;
    engine.delayed = NULL;
    engine.running = 0;
    engine.total = (struct lc__http_counters){0};
    engine.admit_gen = 0;
    engine.sent_gen = 0;
    engine.sent_waiters = 0;
    pthread_cond_init(&engine.sent, NULL);
    /* The connections opened ahead are the parent's too. */
    for (size_t i = 0; i < spares.n; i++)
        close(spares.list[i].fd);
    spares.n = 0;
    pthread_mutex_unlock(&spares.mu);
    pthread_mutex_unlock(&engine.mu);
    pthread_mutex_unlock(&engine.start_mu);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int lc__http_start(void)
{
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&engine.start_mu);
    if (!engine.started) {
        engine.started = true;
        engine_init();
    }
    int status = engine.init_status;
    pthread_mutex_unlock(&engine.start_mu);
    return status;
}

int lc__http_run(struct lc__http_transfer *transfers, size_t n,
                 const struct lc__http_config *config,
                 struct lc__http_counters *counters,
                 void (*meanwhile)(void *arg), void *arg,
                 struct lc__errbuf *err)
{
    struct lc__http_config c = *config;

    if (n == 0)
        return LC_OK;
    int started = lc__http_start();
    LC_RETURN_IF(started < 0, err, started, "the HTTP engine could not start");
    fill_defaults(&c);
    struct job *jobs = lc__calloc(NULL, n, sizeof(*jobs));
    LC_RETURN_IF(jobs == NULL, err, LC_ENOMEM, "out of memory");
    struct batch b = {.pending = n};
    pthread_cond_init(&b.cv, NULL);
    for (size_t i = 0; i < n; i++) {
        transfers[i].status = LC_OK;
        transfers[i].nread = 0;
        transfers[i].attempts = 0;
        transfers[i].message[0] = '\0';
        transfers[i].bucket_region[0] = '\0';
        jobs[i].t = &transfers[i];
        jobs[i].config = c;
        jobs[i].batch = &b;
    }
    uint64_t t0 = now_ns();
    pthread_mutex_lock(&engine.mu);
    /* The most recent limits apply to the whole process. */
    engine.max_in_flight = c.max_in_flight;
    curl_multi_setopt(engine.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)c.max_connections_per_host);
    for (size_t i = 0; i < n; i++) {
        if (engine.queue_tail != NULL)
            engine.queue_tail->next = &jobs[i];
        else
            engine.queue_head = &jobs[i];
        engine.queue_tail = &jobs[i];
    }
    uint64_t queued_gen = engine.admit_gen;
    pthread_mutex_unlock(&engine.mu);
    curl_multi_wakeup(engine.multi);
    if (meanwhile != NULL) {
        /* Not before the I/O thread has taken the jobs and written what
         * requests it could: meanwhile's work (faulting pages in) on two
         * cores kept it from running, and W6's data requests from going
         * out, for up to 5 ms. */
        pthread_mutex_lock(&engine.mu);
        engine.sent_waiters++;
        while (engine.sent_gen <= queued_gen && b.pending > 0)
            pthread_cond_wait(&engine.sent, &engine.mu);
        engine.sent_waiters--;
        pthread_mutex_unlock(&engine.mu);
        meanwhile(arg);
    }

    pthread_mutex_lock(&engine.mu);
    while (b.pending > 0)
        pthread_cond_wait(&b.cv, &engine.mu);
    uint64_t waited = now_ns() - t0;
    b.counters.wait_ns = waited;
    engine.total.wait_ns += waited;
    pthread_mutex_unlock(&engine.mu);
    pthread_cond_destroy(&b.cv);
    lc__free(NULL, jobs);
    if (counters != NULL) {
        counters->requests += b.counters.requests;
        counters->bytes += b.counters.bytes;
        counters->retries += b.counters.retries;
        counters->wait_ns += b.counters.wait_ns;
    }
    return LC_OK;
}

void lc__http_process_counters(struct lc__http_counters *out)
{
    pthread_mutex_lock(&engine.mu);
    *out = engine.total;
    pthread_mutex_unlock(&engine.mu);
}
