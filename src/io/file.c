/* file.c - the local-file backend: pread, one call per range. */
/* SPDX-License-Identifier: MIT */
/* realpath(3) is XSI: declared only with _XOPEN_SOURCE (which implies the
 * POSIX level common.h asks for). */
#define _XOPEN_SOURCE 700
#include "../common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "io_internal.h"

struct file_source {
    int fd;
    uint64_t nbytes;
    struct lc_allocator alloc;
};

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Turns a file:// URL into a path (percent-decoded), or copies a plain
 * path. Only local URLs ("file:///p" or "file://localhost/p") are files.
 */
int lc__file_href_to_path(const char *href, char *path, size_t path_cap,
                          struct lc__errbuf *err)
{
    const char *p = href;
    bool url = strncmp(href, "file://", 7) == 0;

    if (url) {
        p = href + 7;
        if (strncmp(p, "localhost/", 10) == 0)
            p += 9;
        LC_RETURN_IF(p[0] != '/', err, LC_EINVAL,
                     "%s: only local file:// URLs are supported", href);
    }
    size_t n = 0;
    while (*p != '\0') {
        char c = *p++;
        if (url && c == '%') {
            int hi = hex_value(p[0]);
            int lo = hi < 0 ? -1 : hex_value(p[1]);
            LC_RETURN_IF(lo < 0, err, LC_EINVAL,
                         "%s: bad percent-escape in URL", href);
            c = (char)(hi * 16 + lo);
            p += 2;
            LC_RETURN_IF(c == '\0', err, LC_EINVAL, "%s: NUL in URL", href);
        }
        LC_RETURN_IF(n + 1 >= path_cap, err, LC_EINVAL, "%s: path too long",
                     href);
        path[n++] = c;
    }
    path[n] = '\0';
    return LC_OK;
}

static int errno_status(int e)
{
    return (e == ENOENT || e == ENOTDIR) ? LC_ENOTFOUND
           : e == ENOMEM                 ? LC_ENOMEM
                                         : LC_EIO;
}

static int file_read(void *opaque, struct lc_range_request *requests,
                     size_t nrequests, char *errmsg, size_t errmsg_cap)
{
    const struct file_source *f = opaque;

    for (size_t i = 0; i < nrequests; i++) {
        struct lc_range_request *r = &requests[i];
        r->nread = 0;
        while (r->nread < r->nbytes) {
            uint64_t at = r->offset + r->nread;
            if (at >= f->nbytes || at > (uint64_t)INT64_MAX)
                break;
            ssize_t got = pread(f->fd, r->buf + r->nread, r->nbytes - r->nread,
                                (off_t)at);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                int e = errno;
                snprintf(errmsg, errmsg_cap, "read failed: %s", strerror(e));
                return errno_status(e);
            }
            if (got == 0)
                break;
            r->nread += (size_t)got;
        }
    }
    return LC_OK;
}

static int file_size(void *opaque, uint64_t *size_ret, char *errmsg,
                     size_t errmsg_cap)
{
    const struct file_source *f = opaque;

    (void)errmsg;
    (void)errmsg_cap;
    *size_ret = f->nbytes;
    return LC_OK;
}

static void file_close(void *opaque)
{
    struct file_source *f = opaque;
    struct lc_allocator alloc = f->alloc;

    close(f->fd);
    lc__free(&alloc, f);
}

static const struct lc_io_methods file_methods = {
    .struct_size = sizeof(struct lc_io_methods),
    .read = file_read,
    .size = file_size,
    .close = file_close,
};

int lc__io_open_file(const char *href, const struct lc_allocator *alloc,
                     struct lc__io **io_ret, struct lc__errbuf *err)
{
    char path[4096];
    struct stat st;

    *io_ret = NULL;
    LC_FORWARD_IF_ERROR(lc__file_href_to_path(href, path, sizeof(path), err));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return lc__error(err, errno_status(e), "%s: cannot open: %s", href,
                         strerror(e));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lc__error(err, LC_EINVAL, "%s: not a regular file", href);
    }
    struct file_source *f = lc__calloc(alloc, 1, sizeof(*f));
    if (f == NULL) {
        close(fd);
        return lc__error(err, LC_ENOMEM, "%s: out of memory", href);
    }
    f->fd = fd;
    f->nbytes = (uint64_t)st.st_size;
    if (alloc != NULL)
        f->alloc = *alloc;
    return lc__io_open_methods(&file_methods, f, href, alloc, io_ret, err);
}

bool lc__file_resolve(const char *path, char *resolved)
{
    return realpath(path, resolved) != NULL;
}
