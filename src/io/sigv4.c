/* sigv4.c - AWS Signature Version 4 for S3 requests and presigned URLs. */
/* SPDX-License-Identifier: MIT */

/*
 * How a request becomes a signature (see sigv4.h for the formulas):
 *
 *   input --+--> canonical headers --> signed header names --+
 *           |                                                | presign:
 *           +--> canonical query <---------------------------+ in query
 *           +--> canonical path
 *           +--> canonical request = method, path, query, headers,
 *                     |               names, payload hash
 *                     | SHA-256
 *                     v
 *                string to sign --HMAC(signing key)--> signature
 *
 * The canonicalisation rules, each checked byte for byte by the AWS test
 * suite (awslabs/aws-c-auth tests/aws-signing-test-suite/v4) and by
 * botocore's S3 signer in tests/c/test_sigv4.c:
 *
 *   - Path. S3 signs the path as sent. Other services first remove "." and
 *     ".." segments and empty segments (botocore's remove_dot_segments,
 *     which keeps a trailing slash only when a segment remains), then
 *     encode the already-encoded path once more ("double encoding").
 *   - Query. Parameters are split on '&' (empty ones dropped) and at the
 *     first '=', percent-decoded, re-encoded with the unreserved set (so
 *     that an optional escape such as %7E for '~' is signed in the one
 *     form the spec defines), and sorted by encoded name, then encoded value:
 * sorting whole "name=value" strings would put "Param-3=" before "Param=".
 *   - Headers. Names are lowercased; values lose leading and trailing
 *     blanks, and each inner run of spaces and tabs becomes one space (so
 *     folded multi-line values sign as one line). Repeated names become
 *     one header whose values are joined with ',' in their original order:
 *     the sort is by name and then by position, never by value.
 *
 * Everything is built in growable strings capped at LC__SIGV4_MAX_NBYTES,
 * so no input can overrun a fixed buffer, and every size is checked.
 * The only fixed buffers hold digests, hex digests and the date, whose
 * lengths are known. libcrypto computes SHA-256 and HMAC-SHA256.
 */
#include "../common/common.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/alloc.h"
#include "sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SHA256_NBYTES 32
#define SHA256_HEX_NBYTES 64
#define AMZ_DATE_NBYTES 16
/* The SHA-256 of zero bytes: the payload hash of GET and HEAD. */
#define EMPTY_SHA256_HEX                                                       \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* S3 rejects presigned URLs valid for longer than seven days. */
#define MAX_EXPIRES_SECONDS 604800u

/* ---- growable strings ---------------------------------------------------- */

/*
 * A NUL-terminated string that grows as it is appended to. The first
 * failure (LC_ENOMEM, or LC_ELIMIT past LC__SIGV4_MAX_NBYTES) is kept and
 * turns later appends into no-ops, so a builder can append a whole line
 * and check once; sb_check turns the failure into a message.
 */
struct sbuf {
    const struct lc_allocator *alloc;
    char *data;
    size_t len;
    size_t cap;
    int status;
};

static void sb_init(struct sbuf *b, const struct lc_allocator *alloc)
{
    b->alloc = alloc;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->status = LC_OK;
}

static void sb_free(struct sbuf *b)
{
    lc__free(b->alloc, b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Makes room for n more bytes and the NUL; false once the buffer failed. */
static bool sb_reserve(struct sbuf *b, size_t n)
{
    if (b->status != LC_OK)
        return false;
    size_t need;
    if (!lc__size_add(b->len, n, &need) || need > LC__SIGV4_MAX_NBYTES) {
        b->status = LC_ELIMIT;
        return false;
    }
    need++; /* the NUL */
    if (need <= b->cap)
        return true;
    /* Doubling from 128 stays below 2 * (LC__SIGV4_MAX_NBYTES + 1), far
     * from overflow, and is then clamped to the cap. */
    size_t cap = b->cap != 0 ? b->cap : 128;
    while (cap < need)
        cap *= 2;
    if (cap > LC__SIGV4_MAX_NBYTES + 1)
        cap = LC__SIGV4_MAX_NBYTES + 1;
    char *p = lc__realloc(b->alloc, b->data, b->cap, cap);
    if (p == NULL) {
        b->status = LC_ENOMEM;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

static void sb_append(struct sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    if (n != 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_append(b, s, strlen(s));
}

static void sb_char(struct sbuf *b, char c)
{
    sb_append(b, &c, 1);
}

/* Makes the string at least "" so that an empty result is not NULL. */
static void sb_terminate(struct sbuf *b)
{
    sb_append(b, "", 0);
}

/* Hands the string over to the caller, who frees it with lc__free. */
static char *sb_take(struct sbuf *b)
{
    char *s = b->data;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return s;
}

/* Returns the buffer's failure, with a message naming what was built. */
static int sb_check(const struct sbuf *b, const char *what,
                    struct lc__errbuf *err)
{
    if (b->status == LC_ENOMEM)
        return lc__error(err, LC_ENOMEM, "sigv4: out of memory building the %s",
                         what);
    if (b->status == LC_ELIMIT)
        return lc__error(err, LC_ELIMIT,
                         "sigv4: the %s would be longer than %zu bytes", what,
                         (size_t)LC__SIGV4_MAX_NBYTES);
    return LC_OK;
}

/* ---- character classes and encoding -------------------------------------- */

/* RFC 3986 section 2.3: the characters no URI encoding ever changes. */
static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* RFC 9110 section 5.6.2: the characters of a method or header name. */
static bool is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 3986 pchar without '%' (checked separately), plus '/': what may
 * appear unescaped in a path as sent. */
static bool is_path_char(unsigned char c)
{
    return is_unreserved(c) ||
           (c != '\0' && strchr("!$&'()*+,;=:@/", c) != NULL);
}

static int hex_digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends s percent-encoded: unreserved bytes (and '/' if keep_slash)
 * stay, every other byte becomes %XX with uppercase hex as SigV4 wants. */
static void sb_encode(struct sbuf *b, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            sb_char(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_append(b, esc, sizeof(esc));
        }
    }
}

/* Appends s percent-decoded and then re-encoded (nothing kept but the
 * unreserved set). LC_EINVAL for a '%' without two hex digits after it. */
static int sb_recode(struct sbuf *b, const char *s, size_t n,
                     struct lc__errbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            /* Both digits must lie inside this name or value. */
            int hi = i + 2 < n ? hex_digit_value((unsigned char)s[i + 1]) : -1;
            int lo = hi < 0 ? -1 : hex_digit_value((unsigned char)s[i + 2]);
            LC_RETURN_IF(lo < 0, err, LC_EINVAL,
                         "sigv4: the query has a '%%' not followed by two "
                         "hex digits");
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        sb_encode(b, &c, 1, false);
    }
    return LC_OK;
}

static void to_hex(const unsigned char *bytes, size_t n, char *hex_out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        hex_out[2 * i] = hex[bytes[i] >> 4];
        hex_out[2 * i + 1] = hex[bytes[i] & 15];
    }
    hex_out[2 * n] = '\0';
}

/* ---- input checks -------------------------------------------------------- */

/*
 * Each check names the field, never its value: a value could be a secret,
 * and the message ends up in exception texts and logs.
 */
static int check_present(const char *s, const char *field,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(s == NULL || s[0] == '\0', err, LC_EINVAL,
                 "sigv4: %s is missing", field);
    return LC_OK;
}

/* Region and service appear in the '/'-separated credential scope, so they
 * are limited to the characters AWS uses in them. */
static int check_scope_part(const char *s, const char *field,
                            struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(check_present(s, field, err));
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        LC_RETURN_IF(!(is_unreserved(c) && c != '~'), err, LC_EINVAL,
                     "sigv4: %s may hold only letters, digits, '-', '_' "
                     "and '.'",
                     field);
    }
    return LC_OK;
}

/* Printable ASCII without space, and without the given separators. */
static int check_visible(const char *s, const char *excluded, const char *field,
                         struct lc__errbuf *err)
{
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        LC_RETURN_IF(c <= 0x20 || c >= 0x7f || strchr(excluded, c) != NULL, err,
                     LC_EINVAL,
                     "sigv4: %s holds a character that is not allowed there",
                     field);
    }
    return LC_OK;
}

static int check_amz_date(const char *d, struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(check_present(d, "amz_date", err));
    bool ok = strlen(d) == AMZ_DATE_NBYTES && d[8] == 'T' && d[15] == 'Z';
    for (size_t i = 0; ok && i < 15; i++)
        ok = i == 8 || (d[i] >= '0' && d[i] <= '9');
    LC_RETURN_IF(!ok, err, LC_EINVAL,
                 "sigv4: amz_date is not of the form YYYYMMDDTHHMMSSZ");
    return LC_OK;
}

static int check_input(const struct lc__sigv4_input *in, bool presign,
                       struct lc__errbuf *err)
{
    LC_RETURN_IF(in == NULL, err, LC_EINVAL, "sigv4: no input");
    LC_FORWARD_IF_ERROR(check_present(in->method, "method", err));
    for (const char *p = in->method; *p != '\0'; p++)
        LC_RETURN_IF(!is_tchar((unsigned char)*p), err, LC_EINVAL,
                     "sigv4: method is not an HTTP token");
    LC_FORWARD_IF_ERROR(check_present(in->host, "host", err));
    LC_FORWARD_IF_ERROR(check_visible(in->host, "/?#\\", "host", err));
    LC_FORWARD_IF_ERROR(check_scope_part(in->region, "region", err));
    LC_FORWARD_IF_ERROR(check_scope_part(in->service, "service", err));
    LC_FORWARD_IF_ERROR(check_present(in->access_key_id, "access_key_id", err));
    /* '/' would split the credential scope and ',' the Authorization
     * header's parameters. */
    LC_FORWARD_IF_ERROR(
        check_visible(in->access_key_id, "/,", "access_key_id", err));
    /* The secret is only ever an HMAC key: any bytes will do, but libcrypto
     * takes the key length as an int. */
    LC_FORWARD_IF_ERROR(
        check_present(in->secret_access_key, "secret_access_key", err));
    LC_RETURN_IF(strlen(in->secret_access_key) > (size_t)INT_MAX - 4, err,
                 LC_EINVAL, "sigv4: secret_access_key is too long");
    if (in->session_token != NULL) {
        LC_FORWARD_IF_ERROR(
            check_present(in->session_token, "session_token", err));
        LC_FORWARD_IF_ERROR(
            check_visible(in->session_token, "", "session_token", err));
    }
    LC_FORWARD_IF_ERROR(check_amz_date(in->amz_date, err));
    if (in->payload_sha256_hex != NULL) {
        const char *p = in->payload_sha256_hex;
        LC_FORWARD_IF_ERROR(check_present(p, "payload_sha256_hex", err));
        for (; *p != '\0'; p++) {
            unsigned char c = (unsigned char)*p;
            LC_RETURN_IF(!(is_unreserved(c) && c != '.' && c != '~'), err,
                         LC_EINVAL,
                         "sigv4: payload_sha256_hex is neither a hex digest "
                         "nor a keyword such as UNSIGNED-PAYLOAD");
        }
    }
    LC_RETURN_IF(in->nheaders != 0 && in->headers == NULL, err, LC_EINVAL,
                 "sigv4: nheaders is %zu but headers is NULL", in->nheaders);
    if (presign)
        LC_RETURN_IF(in->expires_seconds < 1 ||
                         in->expires_seconds > MAX_EXPIRES_SECONDS,
                     err, LC_EINVAL,
                     "sigv4: expires_seconds is %" PRIu32
                     ", not between 1 and %u",
                     in->expires_seconds, MAX_EXPIRES_SECONDS);
    return LC_OK;
}

/* ---- canonical headers --------------------------------------------------- */

/* One header to sign. Offsets into the arena while it may still move,
 * pointers once it is complete. */
struct header_entry {
    size_t name_off, name_len, value_off, value_len;
    size_t order; /* position in the input, to keep repeated values in it */
    const char *name;
    const char *value;
};

static int compare_headers(const void *a, const void *b)
{
    const struct header_entry *x = a;
    const struct header_entry *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Headers the signer adds itself; a caller's copy would be signed twice. */
static const char *const reserved_headers[] = {
    "host", "authorization", "x-amz-date", "x-amz-content-sha256",
    "x-amz-security-token"};

/*
 * Appends one header to the arena: the name lowercased, the value trimmed
 * with inner runs of blanks made single spaces. Names must be HTTP tokens
 * and values free of control characters (a CR or LF would let a value
 * smuggle in a header of its own). Caller headers may not take a reserved
 * name.
 */
static int add_header(struct sbuf *arena, struct header_entry *e,
                      const char *name, const char *value, bool from_caller,
                      struct lc__errbuf *err)
{
    LC_RETURN_IF(name == NULL || name[0] == '\0' || value == NULL, err,
                 LC_EINVAL, "sigv4: header %zu has no name or no value",
                 e->order);
    e->name_off = arena->len;
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        LC_RETURN_IF(!is_tchar(c), err, LC_EINVAL,
                     "sigv4: the name of header %zu is not an HTTP token",
                     e->order);
        sb_char(arena, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    }
    e->name_len = arena->len - e->name_off;
    LC_FORWARD_IF_ERROR(sb_check(arena, "canonical headers", err));
    if (from_caller) {
        for (size_t i = 0; i < LC_ARRAY_SIZE(reserved_headers); i++) {
            const char *r = reserved_headers[i];
            LC_RETURN_IF(
                strlen(r) == e->name_len &&
                    memcmp(arena->data + e->name_off, r, e->name_len) == 0,
                err, LC_EINVAL,
                "sigv4: header %s is set by the signer, not the "
                "caller",
                r);
        }
    }
    /* A byte is kept after a separating space only once a non-blank byte
     * was kept, which trims the front; a pending space is dropped at the
     * end, which trims the back. */
    e->value_off = arena->len;
    bool pending_space = false;
    for (const char *p = value; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t') {
            pending_space = arena->len != e->value_off;
            continue;
        }
        LC_RETURN_IF(c < 0x20 || c == 0x7f, err, LC_EINVAL,
                     "sigv4: the value of header %.*s holds a control "
                     "character",
                     (int)e->name_len, arena->data + e->name_off);
        if (pending_space)
            sb_char(arena, ' ');
        pending_space = false;
        sb_char(arena, (char)c);
    }
    e->value_len = arena->len - e->value_off;
    return sb_check(arena, "canonical headers", err);
}

/*
 * Builds the canonical headers block ("name:value\n" for each distinct
 * name, sorted) into block and the signed header names ("a;b;c") into
 * names. The header list is the caller's headers, host, and the nextra
 * headers of extra: in header mode the x-amz-* ones, signed like the rest.
 */
static int canonical_headers(const struct lc__sigv4_input *in,
                             const struct lc__sigv4_header *extra,
                             size_t nextra, const struct lc_allocator *alloc,
                             struct sbuf *block, struct sbuf *names,
                             struct lc__errbuf *err)
{
    size_t count;
    LC_RETURN_IF(!lc__size_add(in->nheaders, 1 + nextra, &count), err,
                 LC_EINVAL, "sigv4: too many headers");
    struct header_entry *entries =
        lc__malloc_array(alloc, count, sizeof(*entries));
    LC_RETURN_IF(entries == NULL, err, LC_ENOMEM,
                 "sigv4: out of memory for %zu headers", count);
    struct sbuf arena;
    sb_init(&arena, alloc);
    int status = LC_OK;

    for (size_t i = 0; i < count && status == LC_OK; i++) {
        const char *name;
        const char *value;
        if (i < in->nheaders) {
            name = in->headers[i].name;
            value = in->headers[i].value;
        } else if (i == in->nheaders) {
            name = "host";
            value = in->host;
        } else {
            name = extra[i - in->nheaders - 1].name;
            value = extra[i - in->nheaders - 1].value;
        }
        entries[i].order = i;
        status =
            add_header(&arena, &entries[i], name, value, i < in->nheaders, err);
    }
    if (status != LC_OK)
        goto done;
    /* The arena no longer moves: offsets can become pointers. */
    for (size_t i = 0; i < count; i++) {
        entries[i].name = arena.data + entries[i].name_off;
        entries[i].value = arena.data + entries[i].value_off;
    }
    qsort(entries, count, sizeof(*entries), compare_headers);

    for (size_t i = 0; i < count; i++) {
        const struct header_entry *e = &entries[i];
        bool same_as_previous =
            i > 0 && entries[i - 1].name_len == e->name_len &&
            memcmp(entries[i - 1].name, e->name, e->name_len) == 0;
        if (same_as_previous) {
            sb_char(block, ',');
        } else {
            if (i > 0) {
                sb_char(block, '\n');
                sb_char(names, ';');
            }
            sb_append(block, e->name, e->name_len);
            sb_char(block, ':');
            sb_append(names, e->name, e->name_len);
        }
        sb_append(block, e->value, e->value_len);
    }
    sb_char(block, '\n');
    status = sb_check(block, "canonical headers", err);
    if (status == LC_OK)
        status = sb_check(names, "signed header names", err);
done:
    sb_free(&arena);
    lc__free(alloc, entries);
    return status;
}

/* ---- canonical query ----------------------------------------------------- */

struct query_param {
    size_t key_off, key_len, value_off, value_len;
    const char *key;
    const char *value;
};

static int compare_params(const void *a, const void *b)
{
    const struct query_param *x = a;
    const struct query_param *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c != 0)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    n = x->value_len < y->value_len ? x->value_len : y->value_len;
    c = memcmp(x->value, y->value, n);
    if (c != 0)
        return c;
    return x->value_len < y->value_len ? -1 : x->value_len > y->value_len;
}

/* The parameters lc__sigv4_presign adds, in the order it adds them. */
enum presign_param {
    PP_ALGORITHM,
    PP_CREDENTIAL,
    PP_DATE,
    PP_EXPIRES,
    PP_SECURITY_TOKEN,
    PP_SIGNED_HEADERS,
    PP_COUNT
};

static const char *const presign_names[PP_COUNT] = {
    [PP_ALGORITHM] = "X-Amz-Algorithm",
    [PP_CREDENTIAL] = "X-Amz-Credential",
    [PP_DATE] = "X-Amz-Date",
    [PP_EXPIRES] = "X-Amz-Expires",
    [PP_SECURITY_TOKEN] = "X-Amz-Security-Token",
    [PP_SIGNED_HEADERS] = "X-Amz-SignedHeaders"};

static bool is_presign_name(const char *key, size_t n)
{
    static const char signature_name[] = "X-Amz-Signature";

    if (n == sizeof(signature_name) - 1 && memcmp(key, signature_name, n) == 0)
        return true;
    for (size_t i = 0; i < PP_COUNT; i++)
        if (strlen(presign_names[i]) == n &&
            memcmp(key, presign_names[i], n) == 0)
            return true;
    return false;
}

/*
 * Builds the canonical query string into out. For presigning, extra holds
 * the PP_COUNT X-Amz-* values (unencoded; a NULL value is left out) to add
 * to the caller's parameters, and the caller may not set those names.
 */
static int canonical_query(const struct lc__sigv4_input *in,
                           const char *const *extra,
                           const struct lc_allocator *alloc, struct sbuf *out,
                           struct lc__errbuf *err)
{
    const char *q = in->query != NULL ? in->query : "";
    size_t qlen = strlen(q);
    /* At most one parameter per '&' plus one, then the presign ones; the
     * count is at most qlen + 1 + PP_COUNT, which cannot overflow since
     * qlen is the length of a string in memory less than SIZE_MAX. */
    size_t count = 1 + (extra != NULL ? PP_COUNT : 0);
    for (size_t i = 0; i < qlen; i++)
        count += q[i] == '&';
    struct query_param *params =
        lc__malloc_array(alloc, count, sizeof(*params));
    LC_RETURN_IF(params == NULL, err, LC_ENOMEM,
                 "sigv4: out of memory for %zu query parameters", count);
    struct sbuf arena;
    sb_init(&arena, alloc);
    size_t n = 0;
    int status = LC_OK;

    for (size_t start = 0; start <= qlen && status == LC_OK;) {
        const char *amp = memchr(q + start, '&', qlen - start);
        size_t end = amp != NULL ? (size_t)(amp - q) : qlen;
        size_t len = end - start;
        if (len != 0) {
            const char *piece = q + start;
            const char *eq = memchr(piece, '=', len);
            size_t klen = eq != NULL ? (size_t)(eq - piece) : len;
            struct query_param *p = &params[n++];
            p->key_off = arena.len;
            status = sb_recode(&arena, piece, klen, err);
            p->key_len = arena.len - p->key_off;
            p->value_off = arena.len;
            if (status == LC_OK && eq != NULL)
                status = sb_recode(&arena, eq + 1, len - klen - 1, err);
            p->value_len = arena.len - p->value_off;
            if (status == LC_OK)
                status = sb_check(&arena, "canonical query", err);
            if (status == LC_OK && extra != NULL &&
                is_presign_name(arena.data + p->key_off, p->key_len))
                status = lc__error(err, LC_EINVAL,
                                   "sigv4: the query already has a "
                                   "presigning parameter (%.*s)",
                                   (int)p->key_len, arena.data + p->key_off);
        }
        start = end + 1;
    }
    for (size_t i = 0; extra != NULL && i < PP_COUNT && status == LC_OK; i++) {
        if (extra[i] == NULL)
            continue;
        struct query_param *p = &params[n++];
        p->key_off = arena.len;
        sb_str(&arena, presign_names[i]);
        p->key_len = arena.len - p->key_off;
        p->value_off = arena.len;
        sb_encode(&arena, extra[i], strlen(extra[i]), false);
        p->value_len = arena.len - p->value_off;
        status = sb_check(&arena, "canonical query", err);
    }
    if (status != LC_OK)
        goto done;
    sb_terminate(&arena);
    for (size_t i = 0; i < n; i++) {
        params[i].key = arena.data + params[i].key_off;
        params[i].value = arena.data + params[i].value_off;
    }
    qsort(params, n, sizeof(*params), compare_params);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sb_char(out, '&');
        sb_append(out, params[i].key, params[i].key_len);
        sb_char(out, '=');
        sb_append(out, params[i].value, params[i].value_len);
    }
    sb_terminate(out);
    status = sb_check(out, "canonical query", err);
done:
    sb_free(&arena);
    lc__free(alloc, params);
    return status;
}

/* ---- canonical path ------------------------------------------------------ */

/*
 * botocore's remove_dot_segments: drops empty and "." segments, lets ".."
 * drop the segment before it (never going above the root), and keeps a
 * trailing slash only if the path had one and a segment remains. Each
 * kept segment is appended as "/segment", so dropping one cuts the output
 * back to its last '/'.
 */
static void normalize_path(const char *p, size_t n, struct sbuf *out)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && p[i] == '/')
            i++;
        size_t start = i;
        while (i < n && p[i] != '/')
            i++;
        size_t len = i - start;
        if (len == 0 || (len == 1 && p[start] == '.'))
            continue;
        if (len == 2 && p[start] == '.' && p[start + 1] == '.') {
            if (out->status == LC_OK && out->len > 0) {
                size_t j = out->len;
                while (out->data[j - 1] != '/')
                    j--;
                out->len = j - 1;
                out->data[out->len] = '\0';
            }
            continue;
        }
        sb_char(out, '/');
        sb_append(out, p + start, len);
    }
    if (out->len == 0)
        sb_char(out, '/');
    else if (p[n - 1] == '/')
        sb_char(out, '/');
}

static int canonical_path(const struct lc__sigv4_input *in,
                          const struct lc_allocator *alloc, struct sbuf *out,
                          struct lc__errbuf *err)
{
    const char *path = in->path != NULL && in->path[0] != '\0' ? in->path : "/";
    size_t n = strlen(path);

    LC_RETURN_IF(path[0] != '/', err, LC_EINVAL,
                 "sigv4: the path does not start with '/'");
    if (!in->encode_path) {
        /* Signed as it is, so it must already be what goes on the wire: a
         * raw space or non-ASCII byte here would be escaped by the HTTP
         * client and the signature would no longer match. */
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)path[i];
            if (c == '%') {
                LC_RETURN_IF(
                    i + 2 >= n ||
                        hex_digit_value((unsigned char)path[i + 1]) < 0 ||
                        hex_digit_value((unsigned char)path[i + 2]) < 0,
                    err, LC_EINVAL,
                    "sigv4: the path has a '%%' not followed by "
                    "two hex digits");
                i += 2;
                continue;
            }
            LC_RETURN_IF(!is_path_char(c), err, LC_EINVAL,
                         "sigv4: the path holds a byte (0x%02x) that must "
                         "be URI-encoded",
                         c);
        }
    }
    struct sbuf normalized;
    sb_init(&normalized, alloc);
    if (in->normalize_path) {
        normalize_path(path, n, &normalized);
        int status = sb_check(&normalized, "canonical path", err);
        if (status != LC_OK) {
            sb_free(&normalized);
            return status;
        }
        path = normalized.data;
        n = normalized.len;
    }
    if (in->encode_path)
        sb_encode(out, path, n, true);
    else
        sb_append(out, path, n);
    sb_free(&normalized);
    return sb_check(out, "canonical path", err);
}

/* ---- hashing and signing ------------------------------------------------- */

static int sha256(const void *data, size_t nbytes,
                  unsigned char md[SHA256_NBYTES], struct lc__errbuf *err)
{
    unsigned int len = 0;
    /* libcrypto wants a valid pointer even for zero bytes. */
    int ok = EVP_Digest(nbytes != 0 ? data : "", nbytes, md, &len, EVP_sha256(),
                        NULL);
    LC_RETURN_IF(ok != 1 || len != SHA256_NBYTES, err, LC_EIO,
                 "sigv4: libcrypto SHA-256 failed");
    return LC_OK;
}

/* key_nbytes is at most INT_MAX: check_input bounds the secret. */
static int hmac_sha256(const unsigned char *key, size_t key_nbytes,
                       const char *msg, size_t msg_nbytes,
                       unsigned char md[SHA256_NBYTES], struct lc__errbuf *err)
{
    unsigned int len = 0;
    const unsigned char *r =
        HMAC(EVP_sha256(), key, (int)key_nbytes, (const unsigned char *)msg,
             msg_nbytes, md, &len);
    LC_RETURN_IF(r == NULL || len != SHA256_NBYTES, err, LC_EIO,
                 "sigv4: libcrypto HMAC-SHA256 failed");
    return LC_OK;
}

/*
 * Derives the signing key (HMAC chain over date, region, service and
 * "aws4_request", keyed first by "AWS4" + secret) and signs the string to
 * sign with it. The copy of the secret and every derived key are wiped on
 * every path out, so no key material outlives the call.
 */
static int compute_signature(const struct lc__sigv4_input *in,
                             const struct sbuf *sts,
                             const struct lc_allocator *alloc,
                             char signature_out[SHA256_HEX_NBYTES + 1],
                             struct lc__errbuf *err)
{
    size_t secret_len = strlen(in->secret_access_key);
    size_t key_len = secret_len + 4; /* bounded by check_input */
    unsigned char *key = lc__malloc(alloc, key_len);
    LC_RETURN_IF(key == NULL, err, LC_ENOMEM,
                 "sigv4: out of memory for the signing key");
    memcpy(key, "AWS4", 4);
    memcpy(key + 4, in->secret_access_key, secret_len);
    unsigned char a[SHA256_NBYTES];
    unsigned char b[SHA256_NBYTES];

    int status = hmac_sha256(key, key_len, in->amz_date, 8, a, err);
    if (status == LC_OK)
        status =
            hmac_sha256(a, sizeof(a), in->region, strlen(in->region), b, err);
    if (status == LC_OK)
        status =
            hmac_sha256(b, sizeof(b), in->service, strlen(in->service), a, err);
    if (status == LC_OK)
        status = hmac_sha256(a, sizeof(a), "aws4_request", 12, b, err);
    if (status == LC_OK)
        status = hmac_sha256(b, sizeof(b), sts->data, sts->len, a, err);
    if (status == LC_OK)
        to_hex(a, sizeof(a), signature_out);
    OPENSSL_cleanse(key, key_len);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    lc__free(alloc, key);
    return status;
}

/*
 * Copies the values of the x-amz-* headers lc__sigv4_sign returns into one
 * block owned by the output, so that they outlive the caller's input
 * strings, and lists them with authorization last.
 */
static int fill_out_headers(const struct lc__sigv4_input *in,
                            const char *payload, struct lc__sigv4_output *out,
                            struct lc__errbuf *err)
{
    const char *names[3] = {"x-amz-date", NULL, NULL};
    const char *values[3] = {in->amz_date, NULL, NULL};
    size_t n = 1;
    if (in->add_content_sha256_header) {
        names[n] = "x-amz-content-sha256";
        values[n++] = payload;
    }
    if (in->session_token != NULL) {
        names[n] = "x-amz-security-token";
        values[n++] = in->session_token;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        LC_RETURN_IF(!lc__size_add(total, strlen(values[i]), &total) ||
                         !lc__size_add(total, 1, &total),
                     err, LC_ELIMIT, "sigv4: header values too long");
    out->storage = lc__malloc(&out->alloc, total);
    LC_RETURN_IF(out->storage == NULL, err, LC_ENOMEM,
                 "sigv4: out of memory for the signed headers");
    char *p = out->storage;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(values[i]);
        memcpy(p, values[i], len + 1);
        out->headers[i].name = names[i];
        out->headers[i].value = p;
        p += len + 1;
    }
    out->headers[n].name = "authorization";
    out->headers[n].value = out->authorization;
    out->nheaders = n + 1;
    return LC_OK;
}

/* ---- the two ways to sign ------------------------------------------------ */

static int sign_request(const struct lc__sigv4_input *in, bool presign,
                        const struct lc_allocator *alloc,
                        struct lc__sigv4_output *out, struct lc__errbuf *err)
{
    LC_RETURN_IF(out == NULL, err, LC_EINVAL, "sigv4: no output");
    memset(out, 0, sizeof(*out));
    /* The output keeps its own copy of the allocator, so that
     * lc__sigv4_output_free needs no argument besides it. */
    if (alloc != NULL)
        out->alloc = *alloc;
    alloc = &out->alloc;
    LC_FORWARD_IF_ERROR(check_input(in, presign, err));

    const char *payload = in->payload_sha256_hex != NULL
                              ? in->payload_sha256_hex
                              : EMPTY_SHA256_HEX;
    bool sign_token = in->session_token != NULL && !in->session_token_unsigned;
    struct sbuf scope, credential, headers, names, query, path, canon, sts,
        result;
    sb_init(&scope, alloc);
    sb_init(&credential, alloc);
    sb_init(&headers, alloc);
    sb_init(&names, alloc);
    sb_init(&query, alloc);
    sb_init(&path, alloc);
    sb_init(&canon, alloc);
    sb_init(&sts, alloc);
    sb_init(&result, alloc);

    /* date/region/service/aws4_request, and the credential, which is the
     * access key id and the scope. */
    sb_append(&scope, in->amz_date, 8);
    sb_char(&scope, '/');
    sb_str(&scope, in->region);
    sb_char(&scope, '/');
    sb_str(&scope, in->service);
    sb_str(&scope, "/aws4_request");
    sb_str(&credential, in->access_key_id);
    sb_char(&credential, '/');
    sb_append(&credential, scope.data, scope.len);
    int status = sb_check(&credential, "credential scope", err);
    if (status == LC_OK)
        status = sb_check(&scope, "credential scope", err);
    if (status != LC_OK)
        goto done;

    /* In header mode the x-amz-* headers are signed like the caller's. */
    struct lc__sigv4_header extra[3] = {{NULL, NULL}};
    size_t nextra = 0;
    if (!presign) {
        extra[nextra++] = (struct lc__sigv4_header){"x-amz-date", in->amz_date};
        if (in->add_content_sha256_header)
            extra[nextra++] =
                (struct lc__sigv4_header){"x-amz-content-sha256", payload};
        if (sign_token)
            extra[nextra++] = (struct lc__sigv4_header){"x-amz-security-token",
                                                        in->session_token};
    }
    status = canonical_headers(in, extra, nextra, alloc, &headers, &names, err);
    if (status != LC_OK)
        goto done;

    /* In query mode the X-Amz-* parameters, the signed header names among
     * them, are part of what is signed. */
    const char *presign_values[PP_COUNT] = {NULL};
    char expires[16];
    if (presign) {
        snprintf(expires, sizeof(expires), "%" PRIu32, in->expires_seconds);
        presign_values[PP_ALGORITHM] = ALGORITHM;
        presign_values[PP_CREDENTIAL] = credential.data;
        presign_values[PP_DATE] = in->amz_date;
        presign_values[PP_EXPIRES] = expires;
        presign_values[PP_SECURITY_TOKEN] =
            sign_token ? in->session_token : NULL;
        presign_values[PP_SIGNED_HEADERS] = names.data;
    }
    status = canonical_query(in, presign ? presign_values : NULL, alloc, &query,
                             err);
    if (status == LC_OK)
        status = canonical_path(in, alloc, &path, err);
    if (status != LC_OK)
        goto done;

    sb_str(&canon, in->method);
    sb_char(&canon, '\n');
    sb_append(&canon, path.data, path.len);
    sb_char(&canon, '\n');
    sb_append(&canon, query.data, query.len);
    sb_char(&canon, '\n');
    sb_append(&canon, headers.data, headers.len);
    sb_char(&canon, '\n');
    sb_append(&canon, names.data, names.len);
    sb_char(&canon, '\n');
    sb_str(&canon, payload);
    status = sb_check(&canon, "canonical request", err);
    if (status != LC_OK)
        goto done;

    unsigned char digest[SHA256_NBYTES];
    char digest_hex[SHA256_HEX_NBYTES + 1];
    status = sha256(canon.data, canon.len, digest, err);
    if (status != LC_OK)
        goto done;
    to_hex(digest, sizeof(digest), digest_hex);
    sb_str(&sts, ALGORITHM "\n");
    sb_str(&sts, in->amz_date);
    sb_char(&sts, '\n');
    sb_append(&sts, scope.data, scope.len);
    sb_char(&sts, '\n');
    sb_str(&sts, digest_hex);
    status = sb_check(&sts, "string to sign", err);
    if (status == LC_OK)
        status = compute_signature(in, &sts, alloc, out->signature, err);
    if (status != LC_OK)
        goto done;

    if (presign) {
        sb_append(&result, query.data, query.len);
        if (in->session_token != NULL && !sign_token) {
            sb_str(&result, "&X-Amz-Security-Token=");
            sb_encode(&result, in->session_token, strlen(in->session_token),
                      false);
        }
        sb_str(&result, "&X-Amz-Signature=");
        sb_str(&result, out->signature);
        status = sb_check(&result, "presigned query", err);
        if (status != LC_OK)
            goto done;
        out->presigned_query = sb_take(&result);
    } else {
        sb_str(&result, ALGORITHM " Credential=");
        sb_append(&result, credential.data, credential.len);
        sb_str(&result, ", SignedHeaders=");
        sb_append(&result, names.data, names.len);
        sb_str(&result, ", Signature=");
        sb_str(&result, out->signature);
        status = sb_check(&result, "authorization header", err);
        if (status != LC_OK)
            goto done;
        out->authorization = sb_take(&result);
        status = fill_out_headers(in, payload, out, err);
        if (status != LC_OK)
            goto done;
    }
    out->canonical_request = sb_take(&canon);
    out->string_to_sign = sb_take(&sts);

done:
    sb_free(&result);
    sb_free(&sts);
    sb_free(&canon);
    sb_free(&path);
    sb_free(&query);
    sb_free(&names);
    sb_free(&headers);
    sb_free(&credential);
    sb_free(&scope);
    if (status != LC_OK)
        lc__sigv4_output_free(out);
    return status;
}

int lc__sigv4_sign(const struct lc__sigv4_input *in,
                   const struct lc_allocator *alloc,
                   struct lc__sigv4_output *out, struct lc__errbuf *err)
{
    return sign_request(in, false, alloc, out, err);
}

int lc__sigv4_presign(const struct lc__sigv4_input *in,
                      const struct lc_allocator *alloc,
                      struct lc__sigv4_output *out, struct lc__errbuf *err)
{
    return sign_request(in, true, alloc, out, err);
}

void lc__sigv4_output_free(struct lc__sigv4_output *out)
{
    if (out == NULL)
        return;
    struct lc_allocator alloc = out->alloc;
    lc__free(&alloc, out->canonical_request);
    lc__free(&alloc, out->string_to_sign);
    lc__free(&alloc, out->authorization);
    lc__free(&alloc, out->presigned_query);
    lc__free(&alloc, out->storage);
    memset(out, 0, sizeof(*out));
    out->alloc = alloc;
}

/* ---- helpers for callers ------------------------------------------------- */

int lc__sigv4_uri_encode(const char *s, size_t nbytes, bool keep_slash,
                         const struct lc_allocator *alloc, char **encoded_ret,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(encoded_ret == NULL || (s == NULL && nbytes != 0), err,
                 LC_EINVAL, "sigv4: bad arguments to uri_encode");
    *encoded_ret = NULL;
    struct sbuf b;
    sb_init(&b, alloc);
    sb_encode(&b, s, nbytes, keep_slash);
    sb_terminate(&b);
    int status = sb_check(&b, "URI-encoded string", err);
    if (status != LC_OK) {
        sb_free(&b);
        return status;
    }
    *encoded_ret = sb_take(&b);
    return LC_OK;
}

int lc__sigv4_sha256_hex(const void *data, size_t nbytes, char hex_out[65],
                         struct lc__errbuf *err)
{
    unsigned char md[SHA256_NBYTES];

    LC_RETURN_IF(data == NULL && nbytes != 0, err, LC_EINVAL,
                 "sigv4: no data to hash");
    LC_FORWARD_IF_ERROR(sha256(data, nbytes, md, err));
    to_hex(md, sizeof(md), hex_out);
    return LC_OK;
}

/*
 * Days since 1970-01-01 to a proleptic Gregorian date: Howard Hinnant's
 * civil_from_days (http://howardhinnant.github.io/date_algorithms.html),
 * here only for days >= 0, so every quantity is non-negative.
 */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month,
                            unsigned *day)
{
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2);
}

int lc__sigv4_format_amz_date(int64_t unix_seconds, char date_out[17],
                              struct lc__errbuf *err)
{
    /* 9999-12-31T23:59:59Z: the last time with a four-digit year. */
    LC_RETURN_IF(unix_seconds < 0 || unix_seconds > INT64_C(253402300799), err,
                 LC_EINVAL,
                 "sigv4: time %" PRId64 " is outside years 1970 to 9999",
                 unix_seconds);
    int64_t days = unix_seconds / 86400;
    unsigned secs = (unsigned)(unix_seconds % 86400);
    int64_t year;
    unsigned month;
    unsigned day;
    civil_from_days(days, &year, &month, &day);
    /* Written digit by digit: every field is known to fit its width. */
    const unsigned fields[6] = {(unsigned)year, month,          day,
                                secs / 3600,    secs / 60 % 60, secs % 60};
    static const int widths[6] = {4, 2, 2, 2, 2, 2};
    char *p = date_out;
    for (size_t f = 0; f < 6; f++) {
        if (f == 3)
            *p++ = 'T';
        for (int w = widths[f] - 1; w >= 0; w--) {
            unsigned v = fields[f];
            for (int k = 0; k < w; k++)
                v /= 10;
            *p++ = (char)('0' + v % 10);
        }
    }
    *p++ = 'Z';
    *p = '\0';
    return LC_OK;
}
