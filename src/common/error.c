/* error.c - status code names and texts, error messages, assertion failure. */
/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

#ifndef LC_DEBUGLEVEL
#define LC_DEBUGLEVEL 0
#endif

const char *lc_strerror(int status)
{
    switch (status) {
    case LC_OK:
        return "success";
#define LC_ERRNO_TEXT(name, value, text)                                       \
    case LC_E##name:                                                           \
        return text;
        LC_ERRNO_MAP(LC_ERRNO_TEXT)
#undef LC_ERRNO_TEXT
    default:
        return "unknown error";
    }
}

const char *lc_err_name(int status)
{
    switch (status) {
    case LC_OK:
        return "LC_OK";
#define LC_ERRNO_NAME(name, value, text)                                       \
    case LC_E##name:                                                           \
        return "LC_E" #name;
        LC_ERRNO_MAP(LC_ERRNO_NAME)
#undef LC_ERRNO_NAME
    default:
        return "LC_EUNKNOWN";
    }
}

int lc__error_at(struct lc__errbuf *err, int status, const char *file, int line,
                 const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->status = status;
        va_start(ap, fmt);
        /* A message longer than the buffer is cut, never overflowed. */
        (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
#if LC_DEBUGLEVEL >= 1
    va_start(ap, fmt);
    fprintf(stderr, "lazycogs: %s:%d: %s: ", file, line, lc_err_name(status));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
#else
    (void)file;
    (void)line;
#endif
    return status;
}

/* Each thread sees the message of its own last failed call. */
static _Thread_local char tls_errmsg[LC_ERRMSG_CAP];

int lc__publish(const struct lc__errbuf *err, int status)
{
    if (status >= 0)
        return status;
    const char *msg = lc_strerror(status);
    if (err != NULL && err->status == status && err->msg[0] != '\0')
        msg = err->msg;
    (void)snprintf(tls_errmsg, sizeof(tls_errmsg), "%s", msg);
    return status;
}

const char *lc_errmsg(void)
{
    return tls_errmsg;
}

void lc__error_clear(struct lc__errbuf *err)
{
    err->status = LC_OK;
    err->msg[0] = '\0';
}

void lc__assert_fail(const char *expr, const char *file, int line)
{
    /* An assertion is a bug in lazycogs itself, never bad input: stop. */
    fprintf(stderr, "lazycogs: assertion failed: %s (%s:%d)\n", expr, file,
            line);
    abort();
}
