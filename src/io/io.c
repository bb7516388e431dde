/* io.c - the range-read wrapper: counting, short-read checks, memory source. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>

#include "../common/alloc.h"
#include "io.h"
#include "io_internal.h"

/* A source may be read from several threads at once (a shared COG
 * handle): the methods must allow it, and the counters are under mu. */
struct lc__io {
    struct lc_io_methods methods;
    void *opaque;
    struct lc_allocator alloc;
    char *name;
    pthread_mutex_t mu;
    uint64_t nrequests;
    uint64_t nbytes;
    struct lc_io_stats net;
};

int lc__io_open_methods(const struct lc_io_methods *methods, void *opaque,
                        const char *name, const struct lc_allocator *alloc,
                        struct lc__io **io_ret, struct lc__errbuf *err)
{
    *io_ret = NULL;
    if (methods == NULL || methods->struct_size != sizeof(*methods) ||
        methods->read == NULL) {
        if (methods != NULL && methods->close != NULL)
            methods->close(opaque);
        return lc__error(err, LC_EINVAL,
                         "io methods: missing read or wrong struct_size");
    }
    if (name == NULL)
        name = "(unnamed)";
    struct lc__io *io = lc__calloc(alloc, 1, sizeof(*io));
    size_t name_nbytes = strlen(name) + 1;
    char *name_copy = lc__malloc(alloc, name_nbytes);
    if (io != NULL && pthread_mutex_init(&io->mu, NULL) != 0) {
        lc__free(alloc, io);
        io = NULL;
    }
    if (io == NULL || name_copy == NULL) {
        if (io != NULL)
            pthread_mutex_destroy(&io->mu);
        lc__free(alloc, io);
        lc__free(alloc, name_copy);
        if (methods->close != NULL)
            methods->close(opaque);
        return lc__error(err, LC_ENOMEM, "%s: out of memory", name);
    }
    memcpy(name_copy, name, name_nbytes);
    io->methods = *methods;
    io->opaque = opaque;
    if (alloc != NULL)
        io->alloc = *alloc;
    io->name = name_copy;
    *io_ret = io;
    return LC_OK;
}

void lc__io_close(struct lc__io *io)
{
    if (io == NULL)
        return;
    if (io->methods.close != NULL)
        io->methods.close(io->opaque);
    struct lc_allocator alloc = io->alloc;
    pthread_mutex_destroy(&io->mu);
    lc__free(&alloc, io->name);
    lc__free(&alloc, io);
}

const char *lc__io_name(const struct lc__io *io)
{
    return io->name;
}

static _Thread_local double tls_read_seconds;
static _Thread_local struct lc__io_wait_hook tls_hook;
static _Thread_local unsigned tls_wait_depth;

double lc__io_thread_read_seconds(void)
{
    return tls_read_seconds;
}

void lc__io_set_wait_hook(const struct lc__io_wait_hook *hook)
{
    tls_hook = hook != NULL ? *hook : (struct lc__io_wait_hook){0};
    tls_wait_depth = 0;
}

void lc__io_wait_begin(void)
{
    if (tls_wait_depth++ == 0 && tls_hook.begin != NULL)
        tls_hook.begin(tls_hook.arg);
}

void lc__io_wait_end(void)
{
    if (--tls_wait_depth == 0 && tls_hook.end != NULL)
        tls_hook.end(tls_hook.arg);
}

int lc__io_read(struct lc__io *io, struct lc_range_request *requests,
                size_t nrequests, bool allow_short, struct lc__errbuf *err)
{
    char msg[LC_ERRMSG_CAP];

    if (nrequests == 0)
        return LC_OK;
    for (size_t i = 0; i < nrequests; i++)
        requests[i].nread = 0;
    msg[0] = '\0';
    double t0 = lc__now_seconds();
    lc__io_wait_begin();
    int status =
        io->methods.read(io->opaque, requests, nrequests, msg, sizeof(msg));
    tls_read_seconds += lc__now_seconds() - t0;
    lc__io_wait_end();
    uint64_t nbytes = 0;
    for (size_t i = 0; i < nrequests; i++)
        nbytes += requests[i].nread;
    pthread_mutex_lock(&io->mu);
    io->nrequests += nrequests;
    io->nbytes += nbytes;
    pthread_mutex_unlock(&io->mu);
    if (status < 0)
        return lc__error(err, status, "%s: %s", io->name,
                         msg[0] != '\0' ? msg : lc_strerror(status));
    for (size_t i = 0; i < nrequests; i++) {
        if (requests[i].nread > requests[i].nbytes)
            return lc__error(err, LC_EIO,
                             "%s: source returned %zu bytes for a read of "
                             "%zu",
                             io->name, requests[i].nread, requests[i].nbytes);
        if (!allow_short && requests[i].nread < requests[i].nbytes)
            return lc__error(err, LC_ECORRUPT,
                             "%s: range %" PRIu64 "+%zu reaches past the end "
                             "of the file",
                             io->name, requests[i].offset, requests[i].nbytes);
    }
    return LC_OK;
}

int lc__io_size(struct lc__io *io, uint64_t *size_ret, struct lc__errbuf *err)
{
    char msg[LC_ERRMSG_CAP];

    if (io->methods.size == NULL)
        return lc__error(err, LC_EUNSUPPORTED, "%s: size unknown", io->name);
    msg[0] = '\0';
    int status = io->methods.size(io->opaque, size_ret, msg, sizeof(msg));
    if (status < 0)
        return lc__error(err, status, "%s: %s", io->name,
                         msg[0] != '\0' ? msg : lc_strerror(status));
    return LC_OK;
}

void lc__io_stats(const struct lc__io *io, uint64_t *nrequests_ret,
                  uint64_t *nbytes_ret)
{
    /* Counting is no change of the source's state as callers see it, so
     * this takes a const handle and its lock all the same. */
    struct lc__io *mut = (struct lc__io *)(uintptr_t)io;

    pthread_mutex_lock(&mut->mu);
    *nrequests_ret = io->nrequests;
    *nbytes_ret = io->nbytes;
    pthread_mutex_unlock(&mut->mu);
}

void lc__io_add_net_stats(struct lc__io *io, const struct lc_io_stats *delta)
{
    pthread_mutex_lock(&io->mu);
    io->net.requests += delta->requests;
    io->net.bytes += delta->bytes;
    io->net.retries += delta->retries;
    io->net.coalesced_ranges += delta->coalesced_ranges;
    io->net.wait_s += delta->wait_s;
    pthread_mutex_unlock(&io->mu);
}

void lc__io_get_net_stats(const struct lc__io *io, struct lc_io_stats *out)
{
    struct lc__io *mut = (struct lc__io *)(uintptr_t)io;

    pthread_mutex_lock(&mut->mu);
    *out = io->net;
    pthread_mutex_unlock(&mut->mu);
}

/* ---- bytes in memory ---------------------------------------------------- */

struct memory_source {
    const uint8_t *data;
    size_t nbytes;
    struct lc_allocator alloc;
};

static int memory_read(void *opaque, struct lc_range_request *requests,
                       size_t nrequests, char *errmsg, size_t errmsg_cap)
{
    const struct memory_source *m = opaque;

    (void)errmsg;
    (void)errmsg_cap;
    for (size_t i = 0; i < nrequests; i++) {
        struct lc_range_request *r = &requests[i];
        if (r->offset >= m->nbytes) {
            r->nread = 0;
            continue;
        }
        uint64_t avail = m->nbytes - r->offset;
        r->nread = avail < r->nbytes ? (size_t)avail : r->nbytes;
        memcpy(r->buf, m->data + r->offset, r->nread);
    }
    return LC_OK;
}

static int memory_size(void *opaque, uint64_t *size_ret, char *errmsg,
                       size_t errmsg_cap)
{
    const struct memory_source *m = opaque;

    (void)errmsg;
    (void)errmsg_cap;
    *size_ret = m->nbytes;
    return LC_OK;
}

static void memory_close(void *opaque)
{
    struct memory_source *m = opaque;
    struct lc_allocator alloc = m->alloc;

    lc__free(&alloc, m);
}

static const struct lc_io_methods memory_methods = {
    .struct_size = sizeof(struct lc_io_methods),
    .read = memory_read,
    .size = memory_size,
    .close = memory_close,
};

int lc__io_open_memory(const uint8_t *data, size_t nbytes, const char *name,
                       const struct lc_allocator *alloc, struct lc__io **io_ret,
                       struct lc__errbuf *err)
{
    struct memory_source *m = lc__calloc(alloc, 1, sizeof(*m));

    *io_ret = NULL;
    if (m == NULL)
        return lc__error(err, LC_ENOMEM, "%s: out of memory", name);
    m->data = data;
    m->nbytes = nbytes;
    if (alloc != NULL)
        m->alloc = *alloc;
    return lc__io_open_methods(&memory_methods, m, name, alloc, io_ret, err);
}

/* ---- redaction ----------------------------------------------------------- */

static bool url_scheme_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

static bool url_end_char(char c)
{
    return c == '\0' || isspace((unsigned char)c) || c == '\'' || c == '"' ||
           c == '<' || c == '>';
}

/* Appends n bytes of s to out (cap bytes), keeping it NUL-terminated. */
static void put_n(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + 1 >= cap)
        return;
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

void lc__redact_urls(char *text, size_t cap)
{
    char out[2 * LC_ERRMSG_CAP];
    size_t len = 0;
    const char *p = text;

    if (text == NULL || cap == 0 || strstr(text, "://") == NULL)
        return;
    out[0] = '\0';
    for (;;) {
        const char *sep = strstr(p, "://");
        if (sep == NULL) {
            put_n(out, sizeof out, &len, p, strlen(p));
            break;
        }
        const char *start = sep;
        while (start > p && url_scheme_char(start[-1]))
            start--;
        const char *end = sep + 3;
        while (!url_end_char(*end))
            end++;
        /* Punctuation that ends a sentence or a "url: problem" message is
         * not part of the URL. */
        const char *stop = end;
        while (stop > sep + 3 && strchr(":,;.)]", stop[-1]) != NULL)
            stop--;
        put_n(out, sizeof out, &len, p, (size_t)(sep + 3 - p));
        const char *host = sep + 3;
        const char *auth_end = host;
        while (auth_end < stop && strchr("/?#", *auth_end) == NULL)
            auth_end++;
        const char *at = NULL;
        for (const char *q = host; q < auth_end; q++)
            if (*q == '@')
                at = q;
        if (at != NULL) {
            put_n(out, sizeof out, &len, "REDACTED@", 9);
            host = at + 1;
        }
        const char *query = host;
        while (query < stop && *query != '?' && *query != '#')
            query++;
        put_n(out, sizeof out, &len, host, (size_t)(query - host));
        if (query < stop)
            put_n(out, sizeof out, &len, "?REDACTED", 9);
        put_n(out, sizeof out, &len, stop, (size_t)(end - stop));
        p = end;
        if (*p == '\0')
            break;
    }
    lc__copy_str(text, cap, out);
}
