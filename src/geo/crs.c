/* crs.c - CRS objects, per-thread PROJ contexts, transforms, bbox transforms.
 */
/* SPDX-License-Identifier: MIT */

/*
 * What lives where
 * ================
 *
 *   struct lc__crs (shared, immutable)      per thread (struct geo_tls)
 *   +---------------------------+           +----------------------------+
 *   | definition "EPSG:32615"   |           | PJ_CONTEXT *ctx            |
 *   | key "+proj=utm +zone=15   |  get(a,b) | cache: lc__transform *[]   |
 *   |      +datum=WGS84 ..."    | --------> |   (src key, dst key) -> PJ |
 *   | geographic, lon period,   |           |   refs, last use           |
 *   | EPSG code                 |           +----------------------------+
 *   +---------------------------+
 *
 * A CRS is parsed once, in whatever thread creates it, to validate it and to
 * compute its key; the PJ used for that is destroyed at once, because it
 * belongs to that thread's context. A thread that needs a transform between
 * two CRSs re-creates both from their definitions in its own context and
 * asks PROJ for the operation; the result is cached in that thread, so the
 * cost (milliseconds: database lookups, candidate operations) is paid once
 * per thread and pair.
 *
 * Why the key is a PROJ string: "equality that ignores spelling" must make
 * EPSG:4326, its WKT1, WKT2, PROJJSON, OGC:CRS84 (the same CRS with lon/lat
 * axis order) and "+proj=longlat +datum=WGS84" one CRS, because every
 * transform here runs in x/y order. PROJ's own PROJ string export is exactly
 * such a canonical form: no names, no axis order, parameters in a fixed
 * order and format. It drops the datum when PROJ has no "+datum=" name for
 * it, so the datum's code (or name) is then appended: ETRS89 and NAD83(2011)
 * both print "+ellps=GRS80" but are different datums.
 *
 * Cache eviction: entries are reference-counted (per thread, so plain
 * counters); when the cache is full the least recently used entry nobody
 * holds is destroyed. A pointer from lc__transform_get therefore stays valid
 * until its lc__transform_release.
 */
#include "../common/common.h"

#include "crs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <proj.h>

#include "../common/alloc.h"

#define LC_PI 3.14159265358979323846

/* Transforms cached per thread before unused ones are evicted. */
#define LC_TRANSFORM_CACHE_CAP 32

/* User text longer than this is refused: no real CRS definition (WKT2 of a
 * compound CRS with a long history is a few kilobytes) comes close. */
#define LC_CRS_TEXT_MAX (1u << 20)

struct lc__crs {
    struct lc_allocator alloc;
    char *definition;
    char *key;
    uint64_t hash;
    bool geographic;
    double lon_period;
    int epsg;
    /* A plain projected or geographic CRS on the datum WGS 84 (its key
     * says "+datum=WGS84"): create_transform may go through EPSG:4326. */
    bool on_wgs84;
};

struct lc__transform {
    PJ *pj;        /* NULL for the identity */
    bool inverted; /* pj is the operation from dst to src, run backwards */
    /* With a second step (create_transform): pj goes from src to EPSG:4326,
     * then from there to dst (then_inverted: run backwards). */
    PJ *then;
    bool then_inverted;
    char *src_key;
    char *dst_key;
    bool has_area; /* searched with an area of interest: area */
    struct lc__area area;
    bool src_geographic;
    bool dst_geographic;
    double src_lon_period;
    double dst_lon_period;
    unsigned refs;
    uint64_t last_use;
};

struct geo_tls {
    PJ_CONTEXT *ctx;
    struct lc__transform *cache[LC_TRANSFORM_CACHE_CAP];
    size_t ncache;
    uint64_t clock;
};

/* ---- per-thread state ------------------------------------------------ */

static _Thread_local struct geo_tls *tls_state;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static bool tls_key_ok;

static void quiet_log(void *data, int level, const char *msg)
{
    (void)data;
    (void)level;
    (void)msg;
}

static void transform_destroy(struct lc__transform *tf)
{
    if (tf == NULL)
        return;
    if (tf->pj != NULL)
        proj_destroy(tf->pj);
    if (tf->then != NULL)
        proj_destroy(tf->then);
    lc__free(NULL, tf->src_key);
    lc__free(NULL, tf->dst_key);
    lc__free(NULL, tf);
}

static void tls_destroy(void *p)
{
    struct geo_tls *t = p;

    if (t == NULL)
        return;
    for (size_t i = 0; i < t->ncache; i++)
        transform_destroy(t->cache[i]);
    /* The context goes last: every PJ above belongs to it. */
    if (t->ctx != NULL)
        proj_context_destroy(t->ctx);
    lc__free(NULL, t);
}

static void tls_make_key(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_destroy) == 0;
}

/* The calling thread's state, created on first use. */
static int tls_get(struct geo_tls **t_ret, struct lc__errbuf *err)
{
    if (LC_LIKELY(tls_state != NULL)) {
        *t_ret = tls_state;
        return LC_OK;
    }
    struct geo_tls *t = lc__calloc(NULL, 1, sizeof(*t));
    LC_RETURN_IF(t == NULL, err, LC_ENOMEM, "out of memory for PROJ state");
    t->ctx = proj_context_create();
    if (t->ctx == NULL) {
        lc__free(NULL, t);
        return lc__error(err, LC_ENOMEM, "proj_context_create failed");
    }
    proj_log_func(t->ctx, NULL, quiet_log);
    (void)pthread_once(&tls_once, tls_make_key);
    /* Without the key (which only fails when the process is out of keys)
     * the state is still usable; it is then freed only by an explicit
     * lc__geo_thread_cleanup. */
    if (tls_key_ok)
        (void)pthread_setspecific(tls_key, t);
    tls_state = t;
    *t_ret = t;
    return LC_OK;
}

void lc__geo_thread_cleanup(void)
{
    struct geo_tls *t = tls_state;

    if (t == NULL)
        return;
    tls_state = NULL;
    if (tls_key_ok)
        (void)pthread_setspecific(tls_key, NULL);
    tls_destroy(t);
}

void lc__geo_prepare(void)
{
    struct lc__errbuf err = {0};
    struct lc__crs *crs = NULL;

    if (lc__crs_new("EPSG:4326", NULL, &crs, &err) == LC_OK)
        lc__crs_free(crs);
    lc__geo_thread_cleanup();
}

/* ---- small helpers --------------------------------------------------- */

static char *dup_str(const struct lc_allocator *a, const char *s)
{
    size_t n = strlen(s);
    char *p = lc__malloc(a, n + 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* A PROJ string: "+proj=..." or "proj=..." (pyproj accepts both). */
static bool is_proj_string(const char *s)
{
    return s[0] == '+' || strncmp(s, "proj=", 5) == 0;
}

/* The horizontal part of a CRS, unwrapping bound and compound CRSs.
 * Returns a new reference, or NULL. */
static PJ *horizontal_crs(PJ_CONTEXT *ctx, const PJ *crs)
{
    PJ *cur = proj_clone(ctx, crs);
    for (int depth = 0; cur != NULL && depth < 4; depth++) {
        /* An if chain: PROJ's enum is not ours to list in a switch. */
        PJ_TYPE type = proj_get_type(cur);
        PJ *next = NULL;
        if (type == PJ_TYPE_BOUND_CRS)
            next = proj_get_source_crs(ctx, cur);
        else if (type == PJ_TYPE_COMPOUND_CRS)
            next = proj_crs_get_sub_crs(ctx, cur, 0);
        else
            return cur;
        proj_destroy(cur);
        cur = next;
    }
    return cur;
}

static bool type_is_geographic(PJ_TYPE type)
{
    return type == PJ_TYPE_GEOGRAPHIC_2D_CRS ||
           type == PJ_TYPE_GEOGRAPHIC_3D_CRS;
}

/*
 * " @datum=AUTH:CODE" for a datum, looking a datum given without a code up
 * by name in the EPSG database (WKT2:2015 names datums without IDs; PROJ's
 * name matching also knows ESRI's aliases), else " @datum=NAME".
 */
static void datum_suffix(PJ_CONTEXT *ctx, const PJ *datum, char *out,
                         size_t cap)
{
    const char *auth = proj_get_id_auth_name(datum, 0);
    const char *code = proj_get_id_code(datum, 0);
    const char *name = proj_get_name(datum);
    if (auth != NULL && code != NULL) {
        (void)snprintf(out, cap, " @datum=%s:%s", auth, code);
        return;
    }
    if (name == NULL)
        return;
    static const PJ_TYPE types[] = {PJ_TYPE_GEODETIC_REFERENCE_FRAME,
                                    PJ_TYPE_DYNAMIC_GEODETIC_REFERENCE_FRAME,
                                    PJ_TYPE_DATUM_ENSEMBLE};
    PJ_OBJ_LIST *found = proj_create_from_name(
        ctx, "EPSG", name, types, LC_ARRAY_SIZE(types), 0, 2, NULL);
    if (found != NULL && proj_list_get_count(found) == 1) {
        PJ *d = proj_list_get(ctx, found, 0);
        auth = d != NULL ? proj_get_id_auth_name(d, 0) : NULL;
        code = d != NULL ? proj_get_id_code(d, 0) : NULL;
        if (auth != NULL && code != NULL)
            (void)snprintf(out, cap, " @datum=%s:%s", auth, code);
        proj_destroy(d);
    }
    proj_list_destroy(found);
    if (out[0] == '\0')
        (void)snprintf(out, cap, " @datum=%s", name);
}

/*
 * Builds the key of crs (see crs.h) into a new string. The datum suffix
 * names the datum by code where it has one, so that two spellings of the
 * same datum agree.
 */
static char *make_key(PJ_CONTEXT *ctx, const PJ *crs, const PJ *horiz,
                      const struct lc_allocator *a)
{
    const char *ps = proj_as_proj_string(ctx, crs, PJ_PROJ_5, NULL);
    if (ps == NULL) {
        const char *const opts[] = {"MULTILINE=NO", NULL};
        const char *wkt = proj_as_wkt(ctx, crs, PJ_WKT2_2019, opts);
        return wkt != NULL ? dup_str(a, wkt) : NULL;
    }
    char suffix[256] = "";
    if (strstr(ps, "+datum=") == NULL && horiz != NULL) {
        PJ *datum = proj_crs_get_datum_forced(ctx, horiz);
        if (datum != NULL) {
            datum_suffix(ctx, datum, suffix, sizeof(suffix));
            proj_destroy(datum);
        }
    }
    size_t n1 = strlen(ps);
    size_t n2 = strlen(suffix);
    char *key = lc__malloc(a, n1 + n2 + 1);
    if (key == NULL)
        return NULL;
    memcpy(key, ps, n1);
    memcpy(key + n1, suffix, n2 + 1);
    return key;
}

/* ---- CRS objects ------------------------------------------------------ */

void lc__crs_free(struct lc__crs *crs)
{
    if (crs == NULL)
        return;
    struct lc_allocator a = crs->alloc;
    lc__free(&a, crs->definition);
    lc__free(&a, crs->key);
    lc__free(&a, crs);
}

/* Copies text without surrounding white space, adding " +type=crs" to a
 * PROJ string that lacks it. */
static char *make_definition(const struct lc_allocator *a, const char *text)
{
    while (is_space(*text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && is_space(text[n - 1]))
        n--;
    static const char type_crs[] = " +type=crs";
    bool add = false;
    if (is_proj_string(text)) {
        /* A pipeline is an operation, never a CRS: leave it to fail. The
         * search runs on the trimmed range (text[n] may be white space). */
        add = true;
        for (size_t i = 0; i + 13 <= n; i++) {
            if (memcmp(text + i, "proj=pipeline", 13) == 0)
                add = false;
        }
        for (size_t i = 0; i + 8 <= n; i++) {
            if (add && memcmp(text + i, "type=crs", 8) == 0) {
                add = false;
                break;
            }
        }
    }
    size_t extra = add ? sizeof(type_crs) - 1 : 0;
    char *def = lc__malloc(a, n + extra + 1);
    if (def == NULL)
        return NULL;
    memcpy(def, text, n);
    if (add)
        memcpy(def + n, type_crs, extra);
    def[n + extra] = '\0';
    return def;
}

int lc__crs_new(const char *text, const struct lc_allocator *alloc,
                struct lc__crs **crs_ret, struct lc__errbuf *err)
{
    LC_RETURN_IF(crs_ret == NULL, err, LC_EINVAL, "crs_ret is NULL");
    *crs_ret = NULL;
    LC_RETURN_IF(text == NULL, err, LC_EINVAL, "CRS text is NULL");
    LC_RETURN_IF(strnlen(text, LC_CRS_TEXT_MAX) >= LC_CRS_TEXT_MAX, err,
                 LC_EINVAL, "CRS text is longer than %u bytes",
                 LC_CRS_TEXT_MAX);

    struct geo_tls *t = NULL;
    LC_FORWARD_IF_ERROR(tls_get(&t, err));

    struct lc_allocator a = {0};
    if (alloc != NULL)
        a = *alloc;
    struct lc__crs *crs = lc__calloc(&a, 1, sizeof(*crs));
    LC_RETURN_IF(crs == NULL, err, LC_ENOMEM, "out of memory for a CRS");
    crs->alloc = a;

    int status = LC_OK;
    PJ *pj = NULL;
    PJ *horiz = NULL;
    crs->definition = make_definition(&a, text);
    if (crs->definition == NULL) {
        status = lc__error(err, LC_ENOMEM, "out of memory for a CRS");
        goto fail;
    }
    if (crs->definition[0] == '\0') {
        status = lc__error(err, LC_EINVAL, "CRS text is empty");
        goto fail;
    }
    pj = proj_create(t->ctx, crs->definition);
    if (pj == NULL || !proj_is_crs(pj)) {
        int e = proj_context_errno(t->ctx);
        status = lc__error(err, LC_EINVAL,
                           "not a CRS PROJ understands: "
                           "\"%.200s\"%s%s",
                           crs->definition, e != 0 ? ": " : "",
                           e != 0 ? proj_context_errno_string(t->ctx, e) : "");
        goto fail;
    }
    horiz = horizontal_crs(t->ctx, pj);
    crs->geographic = horiz != NULL && type_is_geographic(proj_get_type(horiz));
    if (crs->geographic) {
        PJ *cs = proj_crs_get_coordinate_system(t->ctx, horiz);
        double factor = 0.0;
        if (cs == NULL ||
            !proj_cs_get_axis_info(t->ctx, cs, 0, NULL, NULL, NULL, &factor,
                                   NULL, NULL, NULL) ||
            !(factor > 0.0))
            factor = LC_PI / 180.0;
        proj_destroy(cs);
        crs->lon_period = 2.0 * LC_PI / factor;
    }
    const char *auth = proj_get_id_auth_name(pj, 0);
    const char *code = proj_get_id_code(pj, 0);
    if (auth != NULL && code != NULL && strcmp(auth, "EPSG") == 0) {
        long v = strtol(code, NULL, 10);
        crs->epsg = v > 0 && v < INT_MAX ? (int)v : 0;
    }
    crs->key = make_key(t->ctx, pj, horiz, &a);
    if (crs->key == NULL) {
        status = lc__error(err, LC_ENOMEM, "out of memory for a CRS key");
        goto fail;
    }
    PJ_TYPE type = proj_get_type(pj);
    crs->on_wgs84 =
        (type == PJ_TYPE_PROJECTED_CRS || type == PJ_TYPE_GEOGRAPHIC_2D_CRS) &&
        strstr(crs->key, "+datum=WGS84") != NULL;
    crs->hash = fnv1a(crs->key);
    proj_destroy(horiz);
    proj_destroy(pj);
    *crs_ret = crs;
    return LC_OK;

fail:
    proj_destroy(horiz);
    proj_destroy(pj);
    lc__crs_free(crs);
    return status;
}

const char *lc__crs_definition(const struct lc__crs *crs)
{
    return crs->definition;
}

const char *lc__crs_key(const struct lc__crs *crs)
{
    return crs->key;
}

bool lc__crs_equal(const struct lc__crs *a, const struct lc__crs *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a == b)
        return true;
    return a->hash == b->hash && strcmp(a->key, b->key) == 0;
}

uint64_t lc__crs_hash(const struct lc__crs *crs)
{
    return crs->hash;
}

bool lc__crs_is_geographic(const struct lc__crs *crs)
{
    return crs->geographic;
}

double lc__crs_lon_period(const struct lc__crs *crs)
{
    return crs->geographic ? crs->lon_period : 0.0;
}

int lc__crs_epsg(const struct lc__crs *crs)
{
    return crs->epsg;
}

int lc__crs_wkt(const struct lc__crs *crs, const struct lc_allocator *alloc,
                char **wkt_ret, struct lc__errbuf *err)
{
    *wkt_ret = NULL;
    struct geo_tls *t = NULL;
    LC_FORWARD_IF_ERROR(tls_get(&t, err));
    /* The CRS keeps no PJ (see the threading model): re-create it in this
     * thread's context from its definition, which PROJ accepted before. */
    PJ *pj = proj_create(t->ctx, crs->definition);
    LC_RETURN_IF(pj == NULL, err, LC_ENOMEM,
                 "PROJ cannot re-create the CRS \"%.200s\"", crs->definition);
    const char *const opts[] = {"MULTILINE=NO", NULL};
    const char *wkt = proj_as_wkt(t->ctx, pj, PJ_WKT2_2019, opts);
    int status = LC_OK;
    if (wkt == NULL) {
        status = lc__error(err, LC_EUNSUPPORTED,
                           "PROJ cannot write the CRS \"%.200s\" as WKT2",
                           crs->definition);
    } else {
        *wkt_ret = dup_str(alloc, wkt);
        if (*wkt_ret == NULL)
            status = lc__error(err, LC_ENOMEM, "out of memory for a WKT");
    }
    proj_destroy(pj);
    return status;
}

/* ---- transforms ------------------------------------------------------- */

/*
 * Operations found, shared by every thread. Finding the operation between
 * two CRSs (proj_create_crs_to_crs: a search of PROJ's database) costs
 * 40 ms or more; making a thread's copy of a found one from its PROJ
 * string 0.13 ms (proj_clone into a thread's new context: 0.4 ms, as it
 * opens the database). Each thread keeps its own copies (PROJ objects are
 * not thread-safe), so without this every worker thread paid the search
 * again for each pair of CRSs. The templates live in a context of their
 * own, used only under the lock, until the process ends.
 *
 * One search serves both directions: the operation from B to A is the one
 * from A to B run backwards (PROJ picks among alternative operations by
 * the area of use on the side the points come from, either way). And one
 * search runs at a time per pair: a thread that needs a pair another is
 * searching for waits for its result instead of searching too (the dask
 * threads of a first read all start at once).
 */
#define LC_TEMPLATE_CAP 64
#define LC_SEARCHES_CAP 16

static struct {
    pthread_mutex_t mu;
    pthread_cond_t searched; /* a search ended */
    PJ_CONTEXT *ctx;
    size_t n;
    struct {
        char *src_key, *dst_key;
        bool has_area;
        struct lc__area area;
        PJ *pj;
        /* pj's PROJ string (a pipeline), or NULL when it has none (a
         * choice among several operations): then copies are clones. */
        char *text;
    } op[LC_TEMPLATE_CAP];
    size_t evict_next; /* the slot the next eviction empties */
    /* Searches running (keys and area borrowed from the searching
     * thread). */
    size_t nsearches;
    struct {
        const char *src_key, *dst_key;
        const struct lc__area *area;
    } searching[LC_SEARCHES_CAP];
} g_templates = {.mu = PTHREAD_MUTEX_INITIALIZER,
                 .searched = PTHREAD_COND_INITIALIZER};

/* Does the pair (a, b) name the keys x and y, in either order? */
static bool same_pair(const char *a, const char *b, const char *x,
                      const char *y)
{
    return (strcmp(a, x) == 0 && strcmp(b, y) == 0) ||
           (strcmp(a, y) == 0 && strcmp(b, x) == 0);
}

/* Equal areas of interest (NULL: none; areas are degrees, so either
 * direction of a pair searched with one area shares it). */
static bool same_area(const struct lc__area *a, const struct lc__area *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->west == b->west && a->south == b->south && a->east == b->east &&
           a->north == b->north;
}

/* The area a search was made with, or NULL. */
static const struct lc__area *area_or_null(bool has_area,
                                           const struct lc__area *area)
{
    return has_area ? area : NULL;
}

/* The slot of the shared operation between src and dst found with area,
 * in either direction, or SIZE_MAX. Called with the lock held. */
static size_t template_find_locked(const struct lc__crs *src,
                                   const struct lc__crs *dst,
                                   const struct lc__area *area)
{
    for (size_t i = 0; i < g_templates.n; i++) {
        if (same_pair(g_templates.op[i].src_key, g_templates.op[i].dst_key,
                      src->key, dst->key) &&
            same_area(area_or_null(g_templates.op[i].has_area,
                                   &g_templates.op[i].area),
                      area))
            return i;
    }
    return SIZE_MAX;
}

static bool search_running_locked(const struct lc__crs *src,
                                  const struct lc__crs *dst,
                                  const struct lc__area *area)
{
    for (size_t i = 0; i < g_templates.nsearches; i++)
        if (same_pair(g_templates.searching[i].src_key,
                      g_templates.searching[i].dst_key, src->key, dst->key) &&
            same_area(g_templates.searching[i].area, area))
            return true;
    return false;
}

/* fork() while another thread searches or holds the lock: the child has
 * neither that thread nor its result, so it starts with no search running
 * and the lock free. */
static void templates_prepare(void)
{
    pthread_mutex_lock(&g_templates.mu);
}

static void templates_parent(void)
{
    pthread_mutex_unlock(&g_templates.mu);
}

static void templates_child(void)
{
    g_templates.nsearches = 0;
    pthread_cond_init(&g_templates.searched, NULL);
    pthread_mutex_unlock(&g_templates.mu);
}

static pthread_once_t g_templates_once = PTHREAD_ONCE_INIT;

static void templates_register_atfork(void)
{
    (void)pthread_atfork(templates_prepare, templates_parent, templates_child);
}

/* Either a copy in ctx of the shared operation between src and dst, in
 * either direction (*inverted: from dst to src), or NULL: none, and the
 * caller now searches (*registered says it must call search_done
 * afterwards). */
static PJ *template_get_or_search(PJ_CONTEXT *ctx, const struct lc__crs *src,
                                  const struct lc__crs *dst,
                                  const struct lc__area *area, bool *inverted,
                                  bool *registered)
{
    *registered = false;
    (void)pthread_once(&g_templates_once, templates_register_atfork);
    pthread_mutex_lock(&g_templates.mu);
    size_t i = template_find_locked(src, dst, area);
    while (i == SIZE_MAX && search_running_locked(src, dst, area)) {
        pthread_cond_wait(&g_templates.searched, &g_templates.mu);
        i = template_find_locked(src, dst, area);
    }
    PJ *pj = NULL;
    char *text = NULL;
    if (i != SIZE_MAX) {
        *inverted = strcmp(g_templates.op[i].src_key, src->key) != 0;
        if (g_templates.op[i].text != NULL)
            text = dup_str(NULL, g_templates.op[i].text);
        else
            pj = proj_clone(ctx, g_templates.op[i].pj);
    } else if (g_templates.nsearches < LC_SEARCHES_CAP) {
        size_t k = g_templates.nsearches++;
        g_templates.searching[k].src_key = src->key;
        g_templates.searching[k].dst_key = dst->key;
        g_templates.searching[k].area = area;
        *registered = true;
    }
    pthread_mutex_unlock(&g_templates.mu);
    if (text != NULL) {
        /* Out of the lock: a pipeline's string needs no database. (Should
         * it fail, the caller searches.) */
        pj = proj_create(ctx, text);
        lc__free(NULL, text);
    }
    return pj;
}

/* Ends this thread's search (its keys and area, by address), wakes the
 * waiting threads. */
static void search_done(const struct lc__crs *src, const struct lc__crs *dst,
                        const struct lc__area *area)
{
    pthread_mutex_lock(&g_templates.mu);
    for (size_t i = 0; i < g_templates.nsearches; i++) {
        if (g_templates.searching[i].src_key == src->key &&
            g_templates.searching[i].dst_key == dst->key &&
            g_templates.searching[i].area == area) {
            g_templates.searching[i] =
                g_templates.searching[--g_templates.nsearches];
            break;
        }
    }
    pthread_cond_broadcast(&g_templates.searched);
    pthread_mutex_unlock(&g_templates.mu);
}

/* Shares an operation found by one thread (a failure only costs the next
 * thread a search). */
static void template_add(const struct lc__crs *src, const struct lc__crs *dst,
                         const struct lc__area *area, PJ *pj)
{
    pthread_mutex_lock(&g_templates.mu);
    /* (Either direction serves: template_get_or_search.) */
    if (template_find_locked(src, dst, area) == SIZE_MAX) {
        if (g_templates.ctx == NULL) {
            g_templates.ctx = proj_context_create();
            if (g_templates.ctx != NULL)
                proj_log_func(g_templates.ctx, NULL, quiet_log);
        }
        /* Full: one goes, round robin (collections over ever new areas
         * would otherwise leave the newest operations unshared). */
        size_t i = g_templates.n;
        if (i == LC_TEMPLATE_CAP) {
            i = g_templates.evict_next;
            g_templates.evict_next = (i + 1) % LC_TEMPLATE_CAP;
            lc__free(NULL, g_templates.op[i].src_key);
            lc__free(NULL, g_templates.op[i].dst_key);
            lc__free(NULL, g_templates.op[i].text);
            proj_destroy(g_templates.op[i].pj);
            g_templates.op[i] = g_templates.op[--g_templates.n];
            i = g_templates.n;
        }
        g_templates.op[i].src_key = dup_str(NULL, src->key);
        g_templates.op[i].dst_key = dup_str(NULL, dst->key);
        g_templates.op[i].has_area = area != NULL;
        if (area != NULL)
            g_templates.op[i].area = *area;
        g_templates.op[i].pj =
            g_templates.ctx != NULL ? proj_clone(g_templates.ctx, pj) : NULL;
        const char *text =
            g_templates.op[i].pj != NULL
                ? proj_as_proj_string(g_templates.ctx, g_templates.op[i].pj,
                                      PJ_PROJ_5, NULL)
                : NULL;
        /* (Without a copy of the string, copies are clones.) */
        g_templates.op[i].text = text != NULL ? dup_str(NULL, text) : NULL;
        if (g_templates.op[i].src_key != NULL &&
            g_templates.op[i].dst_key != NULL && g_templates.op[i].pj != NULL) {
            g_templates.n++;
        } else {
            lc__free(NULL, g_templates.op[i].src_key);
            lc__free(NULL, g_templates.op[i].dst_key);
            lc__free(NULL, g_templates.op[i].text);
            if (g_templates.op[i].pj != NULL)
                proj_destroy(g_templates.op[i].pj);
        }
    }
    pthread_mutex_unlock(&g_templates.mu);
}

/* Creates the PJ of the operation src -> dst in ctx, in x/y order (or, with
 * *inverted_ret, of dst -> src), searched for with area as the area of
 * interest (NULL: none). */
static int create_operation(PJ_CONTEXT *ctx, const struct lc__crs *src,
                            const struct lc__crs *dst,
                            const struct lc__area *area, PJ **pj_ret,
                            bool *inverted_ret, struct lc__errbuf *err)
{
    bool registered;
    *inverted_ret = false;
    *pj_ret =
        template_get_or_search(ctx, src, dst, area, inverted_ret, &registered);
    if (*pj_ret != NULL)
        return LC_OK;

    int status = LC_OK;
    PJ *s = proj_create(ctx, src->definition);
    PJ *d = proj_create(ctx, dst->definition);
    PJ_AREA *pj_area = area != NULL ? proj_area_create() : NULL;
    PJ *op = NULL;
    PJ *norm = NULL;

    *pj_ret = NULL;
    if (s == NULL || d == NULL || (area != NULL && pj_area == NULL)) {
        /* Both parsed when the CRS objects were made: only resources can
         * make them fail now. */
        status = lc__error(err, LC_ENOMEM, "PROJ could not re-create a CRS");
        goto done;
    }
    if (pj_area != NULL)
        proj_area_set_bbox(pj_area, area->west, area->south, area->east,
                           area->north);
    op = proj_create_crs_to_crs_from_pj(ctx, s, d, pj_area, NULL);
    if (op != NULL)
        norm = proj_normalize_for_visualization(ctx, op);
    if (norm == NULL) {
        int e = proj_context_errno(ctx);
        status = lc__error(err, LC_EUNSUPPORTED,
                           "PROJ has no coordinate operation from \"%.120s\" "
                           "to \"%.120s\"%s%s",
                           src->definition, dst->definition, e ? ": " : "",
                           e ? proj_context_errno_string(ctx, e) : "");
        goto done;
    }
    *pj_ret = norm;
    template_add(src, dst, area, norm);
done:
    if (registered)
        search_done(src, dst, area);
    if (pj_area != NULL)
        proj_area_destroy(pj_area);
    proj_destroy(op);
    proj_destroy(d);
    proj_destroy(s);
    return status;
}

/*
 * The operation between two CRSs of which one is on WGS 84 and the other
 * not, searched with an area of interest, goes through EPSG:4326: from the
 * other CRS's datum to WGS 84 (the search that costs: 6-8 ms of PROJ's
 * database for NAD83, whose calls on all threads take turns), then a
 * conversion (0.2 ms). The first step is the same for every CRS on WGS 84,
 * so a read over several UTM zones (the bench's W4: 14N-16N from
 * EPSG:5070) searches once, and takes open()'s search for its 4326 box
 * for it, instead of searching once per zone while its headers wait. PROJ
 * would find the same operations: every one from a datum to a CRS on WGS
 * 84 is a datum transformation to WGS 84 followed by that CRS's
 * conversion, and with the same area of interest the candidates are the
 * same; the coordinates agree to within a nanometre (the degrees between
 * the steps are rounded). Otherwise, or should a step fail, one search.
 */
static struct lc__crs *g_via; /* EPSG:4326, made once, kept to the end */
static pthread_once_t g_via_once = PTHREAD_ONCE_INIT;

static void via_make(void)
{
    (void)lc__crs_new("EPSG:4326", NULL, &g_via, NULL);
}

/* EPSG:4326 when the transform from src to dst over area goes through it
 * (one CRS on WGS 84, the other on another datum, neither EPSG:4326
 * itself), else NULL. */
static const struct lc__crs *via_4326(const struct lc__crs *src,
                                      const struct lc__crs *dst,
                                      const struct lc__area *area)
{
    if (area == NULL || src->on_wgs84 == dst->on_wgs84)
        return NULL;
    (void)pthread_once(&g_via_once, via_make);
    const struct lc__crs *via = g_via;
    if (via == NULL || lc__crs_equal(src, via) || lc__crs_equal(dst, via))
        return NULL;
    return via;
}

static int create_transform(PJ_CONTEXT *ctx, const struct lc__crs *src,
                            const struct lc__crs *dst,
                            const struct lc__area *area,
                            struct lc__transform *tf, struct lc__errbuf *err)
{
    const struct lc__crs *via = via_4326(src, dst, area);
    if (via != NULL) {
        int status =
            create_operation(ctx, src, via, area, &tf->pj, &tf->inverted, NULL);
        if (status == LC_OK)
            status = create_operation(ctx, via, dst, area, &tf->then,
                                      &tf->then_inverted, NULL);
        if (status == LC_OK)
            return LC_OK;
        proj_destroy(tf->pj);
        proj_destroy(tf->then);
        tf->pj = NULL;
        tf->then = NULL;
    }
    return create_operation(ctx, src, dst, area, &tf->pj, &tf->inverted, err);
}

static struct lc__transform *cache_find(struct geo_tls *t,
                                        const struct lc__crs *src,
                                        const struct lc__crs *dst,
                                        const struct lc__area *area)
{
    for (size_t i = 0; i < t->ncache; i++) {
        struct lc__transform *tf = t->cache[i];
        if (strcmp(tf->src_key, src->key) == 0 &&
            strcmp(tf->dst_key, dst->key) == 0 &&
            same_area(area_or_null(tf->has_area, &tf->area), area))
            return tf;
    }
    return NULL;
}

/* Makes room for one entry; false when every entry is held. */
static bool cache_make_room(struct geo_tls *t)
{
    if (t->ncache < LC_TRANSFORM_CACHE_CAP)
        return true;
    size_t victim = SIZE_MAX;
    for (size_t i = 0; i < t->ncache; i++) {
        if (t->cache[i]->refs != 0)
            continue;
        if (victim == SIZE_MAX ||
            t->cache[i]->last_use < t->cache[victim]->last_use)
            victim = i;
    }
    if (victim == SIZE_MAX)
        return false;
    transform_destroy(t->cache[victim]);
    t->cache[victim] = t->cache[t->ncache - 1];
    t->ncache--;
    return true;
}

int lc__transform_get(const struct lc__crs *src, const struct lc__crs *dst,
                      struct lc__transform **tf_ret, struct lc__errbuf *err)
{
    return lc__transform_get_in(src, dst, NULL, tf_ret, err);
}

int lc__transform_get_in(const struct lc__crs *src, const struct lc__crs *dst,
                         const struct lc__area *area,
                         struct lc__transform **tf_ret, struct lc__errbuf *err)
{
    LC_RETURN_IF(tf_ret == NULL, err, LC_EINVAL, "tf_ret is NULL");
    *tf_ret = NULL;
    LC_RETURN_IF(src == NULL || dst == NULL, err, LC_EINVAL,
                 "transform between NULL CRSs");
    /* (Written so that NaN fails.) */
    LC_RETURN_IF(area != NULL &&
                     !(area->west >= -180.0 && area->west <= 180.0 &&
                       area->east >= -180.0 && area->east <= 180.0 &&
                       area->south >= -90.0 && area->south <= area->north &&
                       area->north <= 90.0),
                 err, LC_EINVAL,
                 "area of interest %g, %g, %g, %g is not a box in degrees",
                 area->west, area->south, area->east, area->north);
    struct geo_tls *t = NULL;
    LC_FORWARD_IF_ERROR(tls_get(&t, err));

    struct lc__transform *tf = cache_find(t, src, dst, area);
    if (tf != NULL) {
        tf->refs++;
        tf->last_use = ++t->clock;
        *tf_ret = tf;
        return LC_OK;
    }

    tf = lc__calloc(NULL, 1, sizeof(*tf));
    LC_RETURN_IF(tf == NULL, err, LC_ENOMEM, "out of memory for a transform");
    tf->src_key = dup_str(NULL, src->key);
    tf->dst_key = dup_str(NULL, dst->key);
    if (tf->src_key == NULL || tf->dst_key == NULL) {
        transform_destroy(tf);
        return lc__error(err, LC_ENOMEM, "out of memory for a transform");
    }
    tf->has_area = area != NULL;
    if (area != NULL)
        tf->area = *area;
    tf->src_geographic = src->geographic;
    tf->dst_geographic = dst->geographic;
    tf->src_lon_period = lc__crs_lon_period(src);
    tf->dst_lon_period = lc__crs_lon_period(dst);
    if (!lc__crs_equal(src, dst)) {
        int status = create_transform(t->ctx, src, dst, area, tf, err);
        if (status < 0) {
            transform_destroy(tf);
            return status;
        }
    }
    tf->refs = 1;
    tf->last_use = ++t->clock;
    if (cache_make_room(t)) {
        t->cache[t->ncache++] = tf;
    } else {
        /* Every slot is held: the transform lives outside the cache and
         * release destroys it (last_use 0 marks it). */
        tf->last_use = 0;
    }
    *tf_ret = tf;
    return LC_OK;
}

bool lc__transform_found(const struct lc__crs *src, const struct lc__crs *dst,
                         const struct lc__area *area)
{
    if (lc__crs_equal(src, dst))
        return true;
    /* Through EPSG:4326 when create_transform goes so: both steps. */
    const struct lc__crs *via = via_4326(src, dst, area);
    (void)pthread_once(&g_templates_once, templates_register_atfork);
    pthread_mutex_lock(&g_templates.mu);
    bool found = via != NULL
                     ? template_find_locked(src, via, area) != SIZE_MAX &&
                           template_find_locked(via, dst, area) != SIZE_MAX
                     : template_find_locked(src, dst, area) != SIZE_MAX;
    pthread_mutex_unlock(&g_templates.mu);
    return found;
}

void lc__transform_release(struct lc__transform *tf)
{
    if (tf == NULL)
        return;
    LC_ASSERT(tf->refs > 0);
    tf->refs--;
    if (tf->refs == 0 && tf->last_use == 0)
        transform_destroy(tf);
}

bool lc__transform_is_identity(const struct lc__transform *tf)
{
    return tf->pj == NULL;
}

size_t lc__transform_nsteps(const struct lc__transform *tf)
{
    return tf->pj == NULL ? 0 : tf->then == NULL ? 1 : 2;
}

/* One step of a transform (inverted: pj runs from dst to src). A point
 * that failed before stays failed (PROJ passes HUGE_VAL on). */
static void trans_step(PJ *pj, bool inverted, PJ_DIRECTION dir, double *x,
                       double *y, size_t n)
{
    if (inverted)
        dir = dir == PJ_FWD ? PJ_INV : PJ_FWD;
    (void)proj_trans_generic(pj, dir, x, sizeof(double), n, y, sizeof(double),
                             n, NULL, 0, 0, NULL, 0, 0);
    /* A failed point leaves an error number behind; it must not leak into
     * the next, unrelated call. */
    proj_errno_reset(pj);
}

static size_t trans(struct lc__transform *tf, PJ_DIRECTION dir, double *x,
                    double *y, size_t n)
{
    if (n == 0)
        return 0;
    if (tf->pj != NULL && dir == PJ_FWD) {
        trans_step(tf->pj, tf->inverted, dir, x, y, n);
        if (tf->then != NULL)
            trans_step(tf->then, tf->then_inverted, dir, x, y, n);
    } else if (tf->pj != NULL) {
        if (tf->then != NULL)
            trans_step(tf->then, tf->then_inverted, dir, x, y, n);
        trans_step(tf->pj, tf->inverted, dir, x, y, n);
    }
    size_t nfailed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) {
            x[i] = HUGE_VAL;
            y[i] = HUGE_VAL;
            nfailed++;
        }
    }
    return nfailed;
}

size_t lc__transform_points(struct lc__transform *tf, double *x, double *y,
                            size_t n)
{
    return trans(tf, PJ_FWD, x, y, n);
}

size_t lc__transform_points_inverse(struct lc__transform *tf, double *x,
                                    double *y, size_t n)
{
    return trans(tf, PJ_INV, x, y, n);
}

/* ---- bounding boxes --------------------------------------------------- */

/* Whether the pole at latitude lat (in the destination's angular unit, a
 * quarter turn) lies inside the source box. */
static bool box_contains_pole(struct lc__transform *tf, double lat,
                              const double box[4])
{
    double x = 0.0;
    double y = lat;
    if (trans(tf, PJ_INV, &x, &y, 1) != 0)
        return false;
    double maxx = box[2];
    if (tf->src_geographic && box[0] > box[2]) {
        maxx += tf->src_lon_period;
        if (x < box[0])
            x += tf->src_lon_period;
    }
    return x >= box[0] && x <= maxx && y >= box[1] && y <= box[3];
}

int lc__transform_bounds(struct lc__transform *tf, const double bounds[4],
                         unsigned densify_pts, double out[4],
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(tf == NULL || bounds == NULL || out == NULL, err, LC_EINVAL,
                 "NULL argument to lc__transform_bounds");
    for (int i = 0; i < 4; i++)
        LC_RETURN_IF(!isfinite(bounds[i]), err, LC_EINVAL,
                     "bounds are not finite");
    double minx = bounds[0];
    double miny = bounds[1];
    double maxx = bounds[2];
    double maxy = bounds[3];
    LC_RETURN_IF(miny > maxy, err, LC_EINVAL, "bounds have miny %g > maxy %g",
                 miny, maxy);
    if (minx > maxx) {
        LC_RETURN_IF(!tf->src_geographic, err, LC_EINVAL,
                     "bounds have minx %g > maxx %g in a projected CRS", minx,
                     maxx);
        maxx += tf->src_lon_period;
    }
    if (densify_pts == 0)
        densify_pts = LC_DENSIFY_PTS;
    LC_RETURN_IF(densify_pts > 10000, err, LC_EINVAL,
                 "densify_pts %u is over 10000", densify_pts);

    /* The ring: bottom edge west to east, right edge south to north, top
     * edge east to west, left edge north to south; each edge holds its
     * first corner and densify_pts points after it. */
    size_t per_edge = (size_t)densify_pts + 1;
    size_t n = 4 * per_edge;
    double *x = lc__malloc_array(NULL, 2 * n, sizeof(double));
    LC_RETURN_IF(x == NULL, err, LC_ENOMEM, "out of memory for %zu points", n);
    double *y = x + n;
    const double cx[5] = {minx, maxx, maxx, minx, minx};
    const double cy[5] = {miny, miny, maxy, maxy, miny};
    for (size_t e = 0; e < 4; e++) {
        for (size_t k = 0; k < per_edge; k++) {
            double t = (double)k / (double)per_edge;
            x[e * per_edge + k] = cx[e] + (cx[e + 1] - cx[e]) * t;
            y[e * per_edge + k] = cy[e] + (cy[e + 1] - cy[e]) * t;
        }
    }
    (void)trans(tf, PJ_FWD, x, y, n);

    double rminx = HUGE_VAL, rminy = HUGE_VAL;
    double rmaxx = -HUGE_VAL, rmaxy = -HUGE_VAL;
    size_t nvalid = 0;
    bool crosses = false;
    double prev = HUGE_VAL;
    double first = HUGE_VAL;
    double half = tf->dst_lon_period / 2.0;
    for (size_t i = 0; i < n; i++) {
        if (x[i] == HUGE_VAL)
            continue;
        nvalid++;
        rminx = x[i] < rminx ? x[i] : rminx;
        rmaxx = x[i] > rmaxx ? x[i] : rmaxx;
        rminy = y[i] < rminy ? y[i] : rminy;
        rmaxy = y[i] > rmaxy ? y[i] : rmaxy;
        if (tf->dst_geographic) {
            /* A jump of more than half a turn between neighbours on the
             * ring means the boundary wrapped around the antimeridian. */
            if (prev != HUGE_VAL && fabs(x[i] - prev) > half)
                crosses = true;
            if (first == HUGE_VAL)
                first = x[i];
            prev = x[i];
        }
    }
    if (tf->dst_geographic && prev != HUGE_VAL && first != HUGE_VAL &&
        fabs(first - prev) > half)
        crosses = true;

    if (nvalid == 0) {
        lc__free(NULL, x);
        return lc__error(err, LC_EUNSUPPORTED,
                         "no point of the bounds (%g, %g, %g, %g) could be "
                         "transformed",
                         bounds[0], bounds[1], bounds[2], bounds[3]);
    }
    if (tf->dst_geographic && crosses) {
        /* Take the longitudes onto [0, period) around the antimeridian:
         * the extent there is the short way round. */
        double pminx = HUGE_VAL, pmaxx = -HUGE_VAL;
        for (size_t i = 0; i < n; i++) {
            if (x[i] == HUGE_VAL)
                continue;
            double v = x[i] < 0.0 ? x[i] + tf->dst_lon_period : x[i];
            pminx = v < pminx ? v : pminx;
            pmaxx = v > pmaxx ? v : pmaxx;
        }
        if (pmaxx - pminx < rmaxx - rminx) {
            rminx = pminx > half ? pminx - tf->dst_lon_period : pminx;
            rmaxx = pmaxx > half ? pmaxx - tf->dst_lon_period : pmaxx;
        }
    }
    lc__free(NULL, x);

    if (tf->dst_geographic && tf->pj != NULL) {
        double quarter = tf->dst_lon_period / 4.0;
        const double box[4] = {bounds[0], bounds[1], bounds[2], bounds[3]};
        if (box_contains_pole(tf, quarter, box)) {
            rmaxy = quarter;
            rminx = -half;
            rmaxx = half;
        }
        if (box_contains_pole(tf, -quarter, box)) {
            rminy = -quarter;
            rminx = -half;
            rmaxx = half;
        }
    }
    out[0] = rminx;
    out[1] = rminy;
    out[2] = rmaxx;
    out[3] = rmaxy;
    return LC_OK;
}

/* ---- bounds in the CRS's own datum ------------------------------------ */

/* The geographic CRS of crs's datum, when its unit is the degree and its
 * prime meridian Greenwich; else NULL. */
static PJ *own_geographic_crs(PJ_CONTEXT *ctx, const PJ *horiz)
{
    PJ *geo = proj_crs_get_geodetic_crs(ctx, horiz);
    if (geo == NULL || !type_is_geographic(proj_get_type(geo))) {
        proj_destroy(geo);
        return NULL;
    }
    PJ *cs = proj_crs_get_coordinate_system(ctx, geo);
    PJ *pm = proj_get_prime_meridian(ctx, geo);
    double factor = 0.0, pm_lon = 1.0;
    bool ok =
        cs != NULL && pm != NULL &&
        proj_cs_get_axis_info(ctx, cs, 0, NULL, NULL, NULL, &factor, NULL, NULL,
                              NULL) &&
        fabs(factor - LC_PI / 180.0) < 1e-12 &&
        proj_prime_meridian_get_parameters(ctx, pm, &pm_lon, NULL, NULL) &&
        pm_lon == 0.0;
    proj_destroy(pm);
    proj_destroy(cs);
    if (!ok) {
        proj_destroy(geo);
        return NULL;
    }
    return geo;
}

/*
 * The most a shift from the datum of geo to WGS 84 moves a point, in
 * degrees of latitude. The datums that realize the ITRF (WGS 84 itself,
 * NAD83 and its realizations, ETRS89, GDA94 and GDA2020, NZGD2000,
 * JGD2000 and JGD2011, SIRGAS 2000, CGCS2000) are within 2-3 metres of it,
 * and PROJ's operations between them and WGS 84 are null transformations
 * or Helmert shifts of that size: LC_DATUM_SHIFT_NEAR_DEG, some 110 m, is
 * far more. Other datums: LC_DATUM_SHIFT_MARGIN_DEG. The code is the
 * datum's own: no search.
 */
static double datum_shift_margin(PJ_CONTEXT *ctx, const PJ *geo)
{
    static const char *const near[] = {
        "6326", /* WGS 84 */
        "6269", /* NAD83 */
        "6152", /* NAD83(HARN) */
        "6140", /* NAD83(CSRS) */
        "6759", /* NAD83(NSRS2007) */
        "1116", /* NAD83(2011) */
        "6258", /* ETRS89 */
        "6283", /* GDA94 */
        "1168", /* GDA2020 */
        "6167", /* NZGD2000 */
        "6612", /* JGD2000 */
        "1128", /* JGD2011 */
        "6674", /* SIRGAS 2000 */
        "1043", /* CGCS2000 */
    };
    double margin = LC_DATUM_SHIFT_MARGIN_DEG;
    PJ *datum = proj_crs_get_datum_forced(ctx, geo);
    const char *auth = datum != NULL ? proj_get_id_auth_name(datum, 0) : NULL;
    const char *code = datum != NULL ? proj_get_id_code(datum, 0) : NULL;
    if (auth != NULL && code != NULL && strcmp(auth, "EPSG") == 0) {
        for (size_t i = 0; i < LC_ARRAY_SIZE(near); i++)
            if (strcmp(code, near[i]) == 0)
                margin = LC_DATUM_SHIFT_NEAR_DEG;
    }
    proj_destroy(datum);
    return margin;
}

/* lc__transform_bounds of bounds to longitude/latitude in degrees of crs's
 * own datum, and datum_shift_margin of that datum into *margin (NULL: not
 * wanted). */
static int bounds_own_datum(const struct lc__crs *crs, const double bounds[4],
                            double out[4], double *margin,
                            struct lc__errbuf *err)
{
    struct geo_tls *t = NULL;
    LC_FORWARD_IF_ERROR(tls_get(&t, err));
    PJ *pj = proj_create(t->ctx, crs->definition);
    PJ *horiz = pj != NULL ? horizontal_crs(t->ctx, pj) : NULL;
    PJ *geo = horiz != NULL ? own_geographic_crs(t->ctx, horiz) : NULL;
    PJ *op = geo != NULL ? proj_create_crs_to_crs_from_pj(t->ctx, horiz, geo,
                                                          NULL, NULL)
                         : NULL;
    PJ *norm = op != NULL ? proj_normalize_for_visualization(t->ctx, op) : NULL;
    int status = LC_OK;
    if (norm != NULL && margin != NULL)
        *margin = datum_shift_margin(t->ctx, geo);
    if (norm == NULL) {
        status = lc__error(err, LC_EUNSUPPORTED,
                           "\"%.120s\" has no geographic CRS of its own in "
                           "degrees from Greenwich",
                           crs->definition);
    } else {
        struct lc__transform tf = {.pj = norm,
                                   .src_geographic = crs->geographic,
                                   .dst_geographic = true,
                                   .src_lon_period = lc__crs_lon_period(crs),
                                   .dst_lon_period = 360.0};
        status = lc__transform_bounds(&tf, bounds, LC_DENSIFY_PTS, out, err);
        if (status == LC_OK &&
            (out[0] > out[2] || out[0] < -180.0 || out[2] > 180.0 ||
             out[1] < -80.0 || out[3] > 80.0))
            status = lc__error(err, LC_EUNSUPPORTED,
                               "the bounds cross the antimeridian or come "
                               "near a pole");
    }
    proj_destroy(norm);
    proj_destroy(op);
    proj_destroy(geo);
    proj_destroy(horiz);
    proj_destroy(pj);
    return status;
}

int lc__crs_area_around(const struct lc__crs *crs, const double bounds[4],
                        struct lc__area *out, struct lc__errbuf *err)
{
    double own[4];
    LC_FORWARD_IF_ERROR(bounds_own_datum(crs, bounds, own, NULL, err));
    double m = LC_AREA_MARGIN_DEG;
    /* Whole degrees, so that nearby collections share their operations
     * (crs.c keeps one per pair and area). bounds_own_datum keeps the box
     * 10 degrees from the poles and inside [-180, 180]. */
    *out = (struct lc__area){fmax(floor(own[0] - m), -180.0), floor(own[1] - m),
                             fmin(ceil(own[2] + m), 180.0), ceil(own[3] + m)};
    return LC_OK;
}

/* bounds_own_datum's box grown (grow 1) or shrunk (-1) by the most a
 * datum shift can move it (datum_shift_margin degrees of latitude, more
 * degrees of longitude away from the equator). */
static int own_box_moved(const struct lc__crs *crs, const double bounds[4],
                         double grow, double out[4], struct lc__errbuf *err)
{
    double own[4], margin = LC_DATUM_SHIFT_MARGIN_DEG;
    LC_FORWARD_IF_ERROR(bounds_own_datum(crs, bounds, own, &margin, err));
    double mlat = grow * margin;
    double mlon =
        mlat / cos(fmax(fabs(own[1]), fabs(own[3])) * (LC_PI / 180.0));
    out[0] = own[0] - mlon;
    out[1] = own[1] - mlat;
    out[2] = own[2] + mlon;
    out[3] = own[3] + mlat;
    return LC_OK;
}

int lc__crs_bounds_inside_4326(const struct lc__crs *crs,
                               const double bounds[4], double out[4],
                               struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(own_box_moved(crs, bounds, -1.0, out, err));
    LC_RETURN_IF(!(out[0] < out[2] && out[1] < out[3]), err, LC_EUNSUPPORTED,
                 "the bounds are within the datum-shift margin");
    return LC_OK;
}

int lc__crs_bounds_around_4326(const struct lc__crs *crs,
                               const double bounds[4], double out[4],
                               struct lc__errbuf *err)
{
    LC_FORWARD_IF_ERROR(own_box_moved(crs, bounds, 1.0, out, err));
    /* Clamping would lose what lies past the antimeridian. */
    LC_RETURN_IF(out[0] < -180.0 || out[2] > 180.0, err, LC_EUNSUPPORTED,
                 "the bounds come within the datum-shift margin of the "
                 "antimeridian");
    return LC_OK;
}
