/* error.h - error recording: status codes with a message, early-return macros.
 */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ERROR_H
#define LC_ERROR_H

#include "common.h"

/*
 * Every handle keeps the message of its last error in one of these, so that
 * callers (and the Python exception text) can say which file and what went
 * wrong, not just "corrupt or malformed data".
 */
#define LC_ERRMSG_CAP 512
struct lc__errbuf {
    int status;
    char msg[LC_ERRMSG_CAP];
};

/*
 * Records status and a printf-style message in err (which may be NULL) and
 * returns status, so that a failing path can end with
 * `return lc__error(err, LC_ECORRUPT, "%s: bad IFD offset", name);`.
 * In builds with LC_DEBUGLEVEL >= 1 it also traces file and line to stderr.
 */
int lc__error_at(struct lc__errbuf *err, int status, const char *file, int line,
                 const char *fmt, ...) LC_PRINTF_LIKE(5, 6);
#define lc__error(err, status, ...)                                            \
    lc__error_at((err), (status), __FILE__, __LINE__, __VA_ARGS__)

/*
 * Ends a public API call: for a negative status, makes err's message (or
 * the status description when err holds none) the calling thread's
 * lc_errmsg(). Returns status unchanged.
 */
int lc__publish(const struct lc__errbuf *err, int status);

/* Clears a recorded error. */
void lc__error_clear(struct lc__errbuf *err);

/*
 * Early returns. LC_RETURN_IF records the message and returns the code when
 * cond holds; LC_FORWARD_IF_ERROR returns any negative status unchanged
 * (the callee has already recorded its message).
 */
#define LC_RETURN_IF(cond, err, status, ...)                                   \
    do {                                                                       \
        if (LC_UNLIKELY(cond))                                                 \
            return lc__error((err), (status), __VA_ARGS__);                    \
    } while (0)

#define LC_FORWARD_IF_ERROR(expr)                                              \
    do {                                                                       \
        int lc__status_ = (expr);                                              \
        if (LC_UNLIKELY(lc__status_ < 0))                                      \
            return lc__status_;                                                \
    } while (0)

#endif /* LC_ERROR_H */
