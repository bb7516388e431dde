/* sigv4.h - AWS Signature Version 4: signs S3 (and other AWS) requests. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_SIGV4_H
#define LC_SIGV4_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * AWS Signature Version 4 (SigV4), as specified in the IAM user guide
 * ("Create a signed AWS API request") and, for S3, in "Authenticating
 * Requests (AWS Signature Version 4)". The HTTP engine signs every S3
 * request with lc__sigv4_sign, which computes
 *
 *   canonical request   METHOD \n canonical path \n canonical query \n
 *                       canonical headers (name:value\n each) \n
 *                       signed header names (a;b;c) \n payload hash
 *   string to sign      "AWS4-HMAC-SHA256" \n amz_date \n
 *                       date/region/service/aws4_request \n
 *                       hex(SHA-256(canonical request))
 *   signing key         HMAC chain: "AWS4"+secret -> date -> region ->
 *                       service -> "aws4_request"
 *   signature           hex(HMAC(signing key, string to sign))
 *
 * and returns the headers to add: x-amz-date, x-amz-content-sha256 (on
 * request), x-amz-security-token (with temporary credentials) and
 * authorization. lc__sigv4_presign signs the same request into query
 * parameters instead (a presigned URL).
 *
 * Both functions are pure: no clock, no environment, no global state
 * beyond libcrypto's (which initialises itself), so they are safe to call
 * from several threads at once. Secrets (the secret access key and the
 * keys derived from it) never appear in outputs or error messages, and
 * the derived keys are wiped from memory before the call returns.
 *
 * Every string given in struct lc__sigv4_input is a NUL-terminated C
 * string borrowed for the duration of the call only. Any single string the
 * signer builds (canonical path, query, headers, request) is capped at
 * LC__SIGV4_MAX_NBYTES; beyond that the call fails with LC_ELIMIT.
 */
#define LC__SIGV4_MAX_NBYTES ((size_t)1 << 20)

/* A header to sign: name in any case, value as sent (it is trimmed and
 * its runs of spaces and tabs collapsed for signing). */
struct lc__sigv4_header {
    const char *name;
    const char *value;
};

/* What to sign. All-zero fields other than those marked required take the
 * defaults given. */
struct lc__sigv4_input {
    /* Required. The HTTP method as sent, e.g. "GET" or "HEAD". */
    const char *method;
    /* Required. The Host header value exactly as sent: "bucket.s3.
     * us-west-2.amazonaws.com", or "localhost:9000" when the port is not
     * the scheme's default. Not lowercased or otherwise changed. */
    const char *host;
    /* The path as sent on the wire, already URI-encoded (see
     * lc__sigv4_uri_encode), starting with '/'. NULL or "" means "/". */
    const char *path;
    /* The query as sent, without the '?'; NULL or "" for none. Each
     * parameter is percent-decoded and re-encoded with the RFC 3986
     * unreserved set for signing, so the query should be sent in that form
     * (as lc__sigv4_uri_encode makes it) for the server to agree; '+' is a
     * literal plus, never a space. A '%' not followed by two hex digits is
     * LC_EINVAL. */
    const char *query;
    /* Headers to sign besides host and the x-amz-* ones the signer adds
     * (e.g. range, x-amz-request-payer); nheaders entries, NULL when 0.
     * Repeated names are signed as one header whose values are joined with
     * ',' in the order given. host, authorization, x-amz-date,
     * x-amz-content-sha256 and x-amz-security-token are LC_EINVAL here. */
    const struct lc__sigv4_header *headers;
    size_t nheaders;
    /* The payload hash for the canonical request: 64 lowercase hex digits
     * of SHA-256 (lc__sigv4_sha256_hex), or a keyword such as
     * "UNSIGNED-PAYLOAD". NULL means the SHA-256 of the empty payload,
     * right for GET and HEAD. */
    const char *payload_sha256_hex;
    /* Required. The credential scope, e.g. "us-east-1" and "s3". */
    const char *region;
    const char *service;
    /* Required. The credentials; session_token is NULL for long-term
     * keys. */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    /* Required. The request time as "YYYYMMDDTHHMMSSZ" (UTC); the caller
     * takes the clock (see lc__sigv4_format_amz_date). */
    const char *amz_date;
    /* lc__sigv4_presign only: the URL's validity in seconds, 1 to 604800
     * (7 days, S3's maximum). */
    uint32_t expires_seconds;
    /* Remove "." and ".." segments and empty segments (repeated slashes)
     * from the path before signing. false for S3, which signs the path as
     * it is; true for most other services. */
    bool normalize_path;
    /* URI-encode the (already encoded) path once more for signing, as
     * every service but S3 expects (AWS calls this double encoding): each
     * byte but the unreserved ones and '/' becomes %XX. When false (S3)
     * the path is signed as it is, and must then hold only characters
     * valid in a URI path (unreserved, sub-delims, ':', '@', '/', and
     * well-formed %XX escapes), else LC_EINVAL. */
    bool encode_path;
    /* lc__sigv4_sign only: sign and return an x-amz-content-sha256 header
     * holding the payload hash. S3 requires it. */
    bool add_content_sha256_header;
    /* Send the session token without signing it: in an unsigned
     * x-amz-security-token header, or a query parameter added after
     * signing. A few services want this; S3 does not (leave false). */
    bool session_token_unsigned;
};

/* Most headers lc__sigv4_sign returns. */
#define LC__SIGV4_MAX_OUT_HEADERS 4

/*
 * A signature and what the caller sends with it. Filled by
 * lc__sigv4_sign or lc__sigv4_presign and released by
 * lc__sigv4_output_free. Every pointer in it is owned by the output and
 * valid until lc__sigv4_output_free.
 */
struct lc__sigv4_output {
    /* The canonical request and string to sign, for tests and for
     * comparing with the server's when it answers SignatureDoesNotMatch
     * (S3 returns both in its error body). Neither holds a secret. */
    char *canonical_request;
    char *string_to_sign;
    /* The signature, 64 lowercase hex digits and a NUL. */
    char signature[65];
    /* lc__sigv4_sign: the Authorization header value,
     * "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
     * SignedHeaders=a;b, Signature=hex". NULL after lc__sigv4_presign. */
    char *authorization;
    /* lc__sigv4_presign: the query to send (without '?'): the caller's
     * parameters and the X-Amz-* ones, ending with X-Amz-Signature. NULL
     * after lc__sigv4_sign. */
    char *presigned_query;
    /* lc__sigv4_sign: the headers to send besides the caller's (which must
     * be sent exactly as signed), lowercase names: x-amz-date, then
     * x-amz-content-sha256 and x-amz-security-token when asked for, and
     * authorization last. None after lc__sigv4_presign. */
    struct lc__sigv4_header headers[LC__SIGV4_MAX_OUT_HEADERS];
    size_t nheaders;
    /* Private to sigv4.c: the allocator everything above came from and
     * the storage behind headers[].value. */
    struct lc_allocator alloc;
    char *storage;
};

/*
 * Signs a request for the Authorization header. On success returns LC_OK
 * and fills *out, which the caller releases with lc__sigv4_output_free. On
 * failure returns LC_EINVAL (a missing or malformed input: the message
 * names the field, never a secret), LC_ENOMEM, LC_ELIMIT (a string over
 * LC__SIGV4_MAX_NBYTES) or LC_EIO (libcrypto failed), with a message in
 * err, and leaves *out empty (lc__sigv4_output_free accepts it). alloc may
 * be NULL for malloc/free; libcrypto allocates through its own allocator.
 * Thread-safe.
 */
int lc__sigv4_sign(const struct lc__sigv4_input *in,
                   const struct lc_allocator *alloc,
                   struct lc__sigv4_output *out, struct lc__errbuf *err);

/*
 * Signs a request into query parameters (a presigned URL), valid for
 * in->expires_seconds from in->amz_date. The signed headers are host and
 * in->headers, which the user of the URL must then send exactly so;
 * add_content_sha256_header is ignored. For S3 pass "UNSIGNED-PAYLOAD" as
 * payload_sha256_hex. The query may not already hold X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
 * X-Amz-Security-Token or X-Amz-Signature (LC_EINVAL). Results, errors
 * and ownership as for lc__sigv4_sign, with out->presigned_query set
 * instead of authorization and headers. Thread-safe.
 */
int lc__sigv4_presign(const struct lc__sigv4_input *in,
                      const struct lc_allocator *alloc,
                      struct lc__sigv4_output *out, struct lc__errbuf *err);

/* Frees what an output owns and empties it; NULL, an emptied output and
 * the output of a failed call are all accepted. */
void lc__sigv4_output_free(struct lc__sigv4_output *out);

/*
 * URI-encodes nbytes bytes of s the SigV4 way: the RFC 3986 unreserved
 * characters (A-Z a-z 0-9 - . _ ~) stay, and so does '/' when keep_slash
 * is true; every other byte becomes %XX with uppercase hex. Use it with
 * keep_slash for an S3 object key in a path, and without it for a query
 * parameter name or value. Returns LC_OK and a NUL-terminated string in
 * *encoded_ret, to be freed with lc__free(alloc, ...); or LC_ENOMEM or
 * LC_ELIMIT (over LC__SIGV4_MAX_NBYTES) with *encoded_ret NULL.
 * Thread-safe.
 */
int lc__sigv4_uri_encode(const char *s, size_t nbytes, bool keep_slash,
                         const struct lc_allocator *alloc, char **encoded_ret,
                         struct lc__errbuf *err);

/*
 * Writes the lowercase hex SHA-256 of nbytes bytes at data (NULL allowed
 * when nbytes is 0) and a NUL into hex_out: a payload hash for
 * lc__sigv4_input. Returns LC_OK, or LC_EIO if libcrypto fails.
 * Thread-safe.
 */
int lc__sigv4_sha256_hex(const void *data, size_t nbytes, char hex_out[65],
                         struct lc__errbuf *err);

/*
 * Formats unix_seconds (seconds since 1970-01-01T00:00:00Z) as the
 * "YYYYMMDDTHHMMSSZ" of lc__sigv4_input.amz_date, with a NUL, into
 * date_out. Returns LC_OK, or LC_EINVAL for a time before year 1970 or
 * after year 9999. Thread-safe (no time zone or locale is consulted).
 */
int lc__sigv4_format_amz_date(int64_t unix_seconds, char date_out[17],
                              struct lc__errbuf *err);

#endif /* LC_SIGV4_H */
