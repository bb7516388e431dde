/* http.h - the process-wide HTTP engine: one I/O thread, one curl multi handle.
 */
/* SPDX-License-Identifier: MIT */
#ifndef LC_HTTP_H
#define LC_HTTP_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * Callers on any thread hand the engine a batch of ranged GETs and block
 * until every one has finished, successfully or not; the I/O thread runs
 * all batches of the process together on one curl multi handle, so
 * connections are reused across callers and HTTP/2 streams multiplexed.
 *
 *   caller thread                 I/O thread
 *   lc__http_run(batch) --queue--> add to multi (<= max_in_flight)
 *        | wait on batch          curl_multi_poll / perform
 *        |                        check status + Content-Range per response
 *        |                        retry later (backoff) or finish
 *   <--- signal when the batch's last transfer finished
 *
 * Every response is checked before a byte is kept: a 206 must name the
 * exact range asked for; a 200 (a server ignoring Range) is read only up to
 * the end of the range and its head skipped; anything else is an error.
 */

/* How transfers behave; copied per transfer. Zero fields are defaults. */
struct lc__http_config {
    double connect_timeout_s;
    double first_byte_timeout_s;
    double stall_timeout_s;
    unsigned max_attempts;
    double retry_base_s;
    double retry_max_s;
    unsigned max_connections_per_host;
    unsigned max_in_flight;
    const char *ca_file;
    bool insecure;
    bool use_netrc;
    const char *bearer_token;
};

/* One ranged GET. The caller fills the request part; the engine fills the
 * result part. */
/* Where the bytes at..at+nbytes of a transfer's range go. */
struct lc__http_piece {
    uint64_t at; /* from the range's first byte */
    size_t nbytes;
    uint8_t *buf;
};

struct lc__http_transfer {
    /* request */
    const char *url;            /* full URL, query included */
    const char *const *headers; /* extra "Name: value" lines, or NULL */
    size_t nheaders;
    uint64_t offset;
    size_t nbytes; /* 0: no Range header, whole object */
    uint8_t *buf;  /* nbytes bytes, or NULL with pieces */
    /* Or the range's bytes go to pieces (sorted by at; they may overlap),
     * the bytes between them are dropped: a merged request's members are
     * written as they arrive, not copied out of a buffer for the whole. */
    const struct lc__http_piece *pieces;
    size_t npieces;
    const char *log_url; /* URL for messages (secrets removed) */
    /* result */
    int status;            /* LC_OK or an LC_E code */
    size_t nread;          /* < nbytes only when the object ends */
    uint64_t total_nbytes; /* object size from Content-Range, or 0 */
    long http_status;      /* last HTTP status seen */
    unsigned attempts;
    char bucket_region[64]; /* x-amz-bucket-region of an error, or "" */
    char message[256];      /* what went wrong, when status < 0 */
};

/* Counters shared by every store, plus one set per caller. */
struct lc__http_counters {
    uint64_t requests;
    uint64_t bytes;
    uint64_t retries;
    uint64_t wait_ns;
};

/* Starts the engine (curl, the I/O thread) unless it has started; LC_OK,
 * or the error every lc__http_run then returns. lc__http_run starts it
 * itself: this is for starting it ahead of the first transfer. */
int lc__http_start(void);

/*
 * Opens up to n TCP connections to the host of url (http or https) in the
 * background, for the next transfers to that host to take instead of
 * connecting; returns at once. Best effort: nothing happens when a proxy
 * is configured in the environment, the host does not resolve, or n
 * connections to it are waiting already. A connection no transfer took
 * within a few seconds is closed.
 */
void lc__http_preconnect(const char *url, size_t n);

/*
 * Runs n transfers to completion with config and returns LC_OK when the
 * batch ran (each transfer then has its own status), or LC_ENOMEM /
 * LC_EIO when the engine could not start. counters (may be NULL) receive
 * this batch's requests, bytes, retries and waiting time. meanwhile (may
 * be NULL) is called with arg on the calling thread once the I/O thread
 * has taken the transfers and written the requests it could (or the
 * batch ended), before it waits for them: work for the round trip.
 */
int lc__http_run(struct lc__http_transfer *transfers, size_t n,
                 const struct lc__http_config *config,
                 struct lc__http_counters *counters,
                 void (*meanwhile)(void *arg), void *arg,
                 struct lc__errbuf *err);

/* The process-wide counters. */
void lc__http_process_counters(struct lc__http_counters *out);

/* Returns url with its query string and any user:password@ replaced, for
 * messages and logs, in dst (cap bytes, always NUL-terminated). */
void lc__http_redact_url(const char *url, char *dst, size_t cap);

#endif /* LC_HTTP_H */
