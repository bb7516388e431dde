/* catalog.c - loading STAC items: the io layer meets the loaders. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "../common/alloc.h"
#include "../common/isotime.h"
#include "../io/io.h"
#include "../parquet/parquet.h"
#include "catalog.h"

#include <sys/stat.h>

#define DEFAULT_MAX_JSON_NBYTES ((size_t)1 << 30)

/* The parquet reader's source vtable over an io handle. */
static int source_read(void *opaque, struct lc_range_request *requests,
                       size_t nrequests, bool allow_short,
                       struct lc__errbuf *err)
{
    return lc__io_read(opaque, requests, nrequests, allow_short, err);
}

static int source_size(void *opaque, uint64_t *size_ret, struct lc__errbuf *err)
{
    return lc__io_size(opaque, size_ret, err);
}

static void source_close(void *opaque)
{
    lc__io_close(opaque);
}

struct opener_state {
    struct lc_store *store;
    const struct lc_allocator *alloc;
};

static int open_source(void *opaque, const char *href,
                       struct lc__parquet_source *src_ret,
                       struct lc__errbuf *err)
{
    const struct opener_state *state = opaque;
    struct lc__io *io;
    int status = lc__io_open_href(href, state->store, state->alloc, &io, err);
    if (status < 0)
        return status;
    *src_ret = (struct lc__parquet_source){
        .opaque = io,
        .name = lc__io_name(io),
        .read = source_read,
        .size = source_size,
        .close = source_close,
    };
    return LC_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* (A local directory or glob can only be a parquet dataset.) */
bool lc__catalog_named_parquet(const char *href)
{
    if (ends_with(href, ".parquet") || ends_with(href, ".geoparquet"))
        return true;
    if (strstr(href, "://") != NULL && strncmp(href, "file://", 7) != 0)
        return false;
    const char *path = strncmp(href, "file://", 7) == 0 ? href + 7 : href;
    struct stat st;
    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode);
    return strpbrk(path, "*?[") != NULL;
}

static int load_parquet(const char *href, struct lc_store *store,
                        const struct lc__stac_load_options *opts,
                        struct lc__stac_items **items_ret,
                        struct lc__errbuf *err)
{
    struct opener_state state = {.store = store, .alloc = opts->alloc};
    struct lc__parquet_opener opener = {.opaque = &state, .open = open_source};
    struct lc__parquet_dataset *ds;
    int status = lc__parquet_dataset_open(href, &opener, opts->alloc,
                                          opts->parquet_limits, &ds, err);
    if (status < 0)
        return status;
    status = lc__stac_items_from_parquet(ds, opts, items_ret, err);
    lc__parquet_dataset_close(ds);
    return status;
}

/* Reads the whole object behind io (at most max_nbytes) into *data_ret. */
static int read_whole(struct lc__io *io, size_t max_nbytes,
                      const struct lc_allocator *alloc, char **data_ret,
                      size_t *nbytes_ret, struct lc__errbuf *err)
{
    uint64_t size;
    int status = lc__io_size(io, &size, err);
    if (status < 0)
        return status;
    LC_RETURN_IF(size > max_nbytes, err, LC_ELIMIT,
                 "%s: %" PRIu64 " bytes of JSON exceed max_json_nbytes "
                 "(%zu); raise it with limits={'max_json_nbytes': ...} "
                 "(docs/limits.md)",
                 lc__io_name(io), size, max_nbytes);
    char *data = lc__malloc(alloc, (size_t)size + 1);
    LC_RETURN_IF(data == NULL, err, LC_ENOMEM,
                 "%s: out of memory for %" PRIu64 " bytes", lc__io_name(io),
                 size);
    if (size > 0) {
        struct lc_range_request req = {
            .offset = 0, .nbytes = (size_t)size, .buf = (uint8_t *)data};
        status = lc__io_read(io, &req, 1, false, err);
        if (status < 0) {
            lc__free(alloc, data);
            return status;
        }
    }
    data[size] = '\0';
    *data_ret = data;
    *nbytes_ret = (size_t)size;
    return LC_OK;
}

int lc__catalog_load(const char *href, struct lc_store *store,
                     const struct lc__stac_load_options *opts,
                     size_t max_json_nbytes, struct lc__stac_items **items_ret,
                     struct lc__errbuf *err)
{
    static const struct lc__stac_load_options no_options;
    if (opts == NULL)
        opts = &no_options;
    if (max_json_nbytes == 0)
        max_json_nbytes = opts->max_json_nbytes;
    if (max_json_nbytes == 0)
        max_json_nbytes = DEFAULT_MAX_JSON_NBYTES;
    *items_ret = NULL;
    if (lc__catalog_named_parquet(href))
        return load_parquet(href, store, opts, items_ret, err);

    /* Look at the first bytes: parquet starts with its magic. */
    struct lc__io *io;
    int status = lc__io_open_href(href, store, opts->alloc, &io, err);
    if (status < 0)
        return status;
    char magic[4];
    struct lc_range_request probe = {
        .offset = 0, .nbytes = sizeof magic, .buf = (uint8_t *)magic};
    status = lc__io_read(io, &probe, 1, true, err);
    if (status == LC_OK && probe.nread == sizeof magic &&
        memcmp(magic, "PAR1", 4) == 0) {
        lc__io_close(io);
        return load_parquet(href, store, opts, items_ret, err);
    }
    char *text = NULL;
    size_t nbytes = 0;
    if (status == LC_OK)
        status =
            read_whole(io, max_json_nbytes, opts->alloc, &text, &nbytes, err);
    if (status == LC_OK)
        status = lc__stac_items_from_json(text, nbytes, lc__io_name(io), opts,
                                          items_ret, err);
    lc__free(opts->alloc, text);
    lc__io_close(io);
    return status;
}

int lc__catalog_parse_datetime(const char *text, int64_t *start_us_ret,
                               int64_t *end_us_ret, struct lc__errbuf *err)
{
    struct lc__isotime start = {0}, end = {0};
    if (strchr(text, '/') == NULL) {
        /* One date or instant: the interval is that day or instant. */
        LC_FORWARD_IF_ERROR(lc__isotime_parse(text, strlen(text), &start, err));
        *start_us_ret = start.us;
        *end_us_ret = start.has_time ? start.us : start.us + LC_US_PER_DAY - 1;
        return LC_OK;
    }
    bool has_start = false, has_end = false;
    LC_FORWARD_IF_ERROR(lc__isotime_parse_interval(
        text, strlen(text), &start, &has_start, &end, &has_end, err));
    *start_us_ret = has_start ? start.us : INT64_MIN;
    *end_us_ret = INT64_MAX;
    if (has_end)
        *end_us_ret = end.has_time ? end.us : end.us + LC_US_PER_DAY - 1;
    return LC_OK;
}

void lc__catalog_free(struct lc__catalog *catalog)
{
    if (catalog == NULL)
        return;
    struct lc_allocator alloc = catalog->alloc;
    lc__stac_items_free(catalog->items);
    lc__cql2_free(catalog->filter);
    lc__stac_sortby_free(catalog->sortby);
    lc__free(&alloc, catalog->order);
    lc__free(&alloc, catalog);
}

static int parse_filter(const char *text, const struct lc_allocator *alloc,
                        struct lc__cql2 **tree_ret, struct lc__errbuf *err)
{
    struct lc__cql2_options options = {.alloc = alloc};
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    int status = *p == '{' ? lc__cql2_parse_json(text, strlen(text), &options,
                                                 tree_ret, NULL, err)
                           : lc__cql2_parse_text(text, strlen(text), &options,
                                                 tree_ret, NULL, err);
    if (status == LC_OK)
        status = lc__cql2_validate(*tree_ret, err);
    return status;
}

/* The load fields: the caller's, then those of the filter and sortby. */
static int collect_fields(const struct lc__stac_load_options *load,
                          const struct lc__catalog *c,
                          const struct lc_allocator *alloc,
                          const char ***fields_ret, size_t *nfields_ret,
                          struct lc__errbuf *err)
{
    size_t nfilter = c->filter ? lc__cql2_property_count(c->filter) : 0;
    size_t nsort = c->sortby ? c->sortby->nkeys : 0;
    size_t n = load->nfields + nfilter + nsort;
    const char **fields = lc__calloc(alloc, n > 0 ? n : 1, sizeof *fields);
    LC_RETURN_IF(fields == NULL, err, LC_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < load->nfields; i++)
        fields[k++] = load->fields[i];
    for (size_t i = 0; i < nfilter; i++)
        fields[k++] = lc__cql2_property_name(c->filter, i);
    for (size_t i = 0; i < nsort; i++)
        fields[k++] = c->sortby->keys[i].field;
    *fields_ret = fields;
    *nfields_ret = k;
    return LC_OK;
}

static int open_catalog(struct lc__catalog *c, const char *href,
                        struct lc_store *store,
                        const struct lc__stac_load_options *load,
                        const struct lc__catalog_query *query,
                        struct lc__errbuf *err)
{
    const struct lc_allocator *alloc = load->alloc;
    struct lc__stac_query q = {.has_bbox = query->has_bbox,
                               .bbox = query->bbox,
                               .ids = query->ids,
                               .nids = query->nids};
    if (query->filter != NULL)
        LC_FORWARD_IF_ERROR(
            parse_filter(query->filter, alloc, &c->filter, err));
    q.filter = c->filter;
    if (query->sortby != NULL)
        LC_FORWARD_IF_ERROR(lc__stac_sortby_parse(
            query->sortby, strlen(query->sortby), alloc, &c->sortby, err));
    if (query->datetime != NULL) {
        LC_FORWARD_IF_ERROR(lc__catalog_parse_datetime(
            query->datetime, &q.start_us, &q.end_us, err));
        q.has_datetime = true;
    }

    struct lc__stac_load_options opts = *load;
    const char **fields = NULL;
    LC_FORWARD_IF_ERROR(
        collect_fields(load, c, alloc, &fields, &opts.nfields, err));
    opts.fields = fields;
    opts.has_bbox = q.has_bbox;
    opts.bbox = q.bbox;
    opts.has_datetime = q.has_datetime;
    opts.start_us = q.start_us;
    opts.end_us = q.end_us;
    int status = lc__catalog_load(href, store, &opts, 0, &c->items, err);
    lc__free(alloc, fields);
    if (status < 0)
        return status;

    LC_FORWARD_IF_ERROR(
        lc__stac_items_filter(c->items, &q, alloc, &c->order, &c->count, err));
    if (c->sortby != NULL)
        LC_FORWARD_IF_ERROR(lc__stac_items_sort(c->items, c->sortby->keys,
                                                c->sortby->nkeys, c->order,
                                                c->count, alloc, err));
    if (query->limit > 0 && c->count > query->limit)
        c->count = query->limit;
    return LC_OK;
}

int lc__catalog_narrow(struct lc__catalog *catalog,
                       const struct lc__envelope *bbox, struct lc__errbuf *err)
{
    int status =
        lc__stac_items_keep_meeting(catalog->items, bbox, &catalog->alloc,
                                    catalog->order, &catalog->count, err);
    if (status < 0)
        catalog->count = 0;
    return status;
}

int lc__catalog_all_meet(const struct lc__catalog *catalog,
                         const struct lc__envelope *bbox, bool *all_ret,
                         struct lc__errbuf *err)
{
    *all_ret = true;
    size_t n = catalog->count;
    if (n == 0)
        return LC_OK;
    size_t *order = lc__malloc_array(&catalog->alloc, n, sizeof *order);
    LC_RETURN_IF(order == NULL, err, LC_ENOMEM,
                 "%s: out of memory filtering %zu items",
                 catalog->items->source, n);
    memcpy(order, catalog->order, n * sizeof *order);
    int status = lc__stac_items_keep_meeting(catalog->items, bbox,
                                             &catalog->alloc, order, &n, err);
    lc__free(&catalog->alloc, order);
    *all_ret = n == catalog->count;
    return status;
}

int lc__catalog_open(const char *href, struct lc_store *store,
                     const struct lc__stac_load_options *load,
                     const struct lc__catalog_query *query,
                     struct lc__catalog **catalog_ret, struct lc__errbuf *err)
{
    static const struct lc__stac_load_options no_load;
    static const struct lc__catalog_query no_query;
    if (load == NULL)
        load = &no_load;
    if (query == NULL)
        query = &no_query;
    *catalog_ret = NULL;
    struct lc__catalog *c = lc__calloc(load->alloc, 1, sizeof *c);
    LC_RETURN_IF(c == NULL, err, LC_ENOMEM, "%s: out of memory", href);
    if (load->alloc != NULL)
        c->alloc = *load->alloc;
    int status = open_catalog(c, href, store, load, query, err);
    if (status < 0) {
        lc__catalog_free(c);
        return status;
    }
    *catalog_ret = c;
    return LC_OK;
}

/* Whether asset k of item 0 holds data: roles contain "data" or the media
 * type contains "image/tiff" (the reference's rule). */
static bool is_data_asset(const struct lc__stac_asset *a)
{
    for (size_t r = 0; r < a->nroles; r++)
        if (strcmp(a->roles[r], "data") == 0)
            return true;
    return a->type != NULL && strstr(a->type, "image/tiff") != NULL;
}

static size_t choose_asset(const struct lc__stac_items *items,
                           const char *asset_key)
{
    size_t first = SIZE_MAX;
    for (size_t k = 0; k < items->nassets; k++) {
        const struct lc__stac_asset *a = &items->assets[k];
        if (a->href == NULL)
            continue;
        if (asset_key != NULL) {
            if (strcmp(items->asset_keys[k], asset_key) == 0)
                return k;
            continue;
        }
        if (is_data_asset(a))
            return k;
        if (first == SIZE_MAX)
            first = k;
    }
    return first;
}

/* scheme://host of href ("file:///" for a file URL or a local path). */
static void root_of(const char *href, char *root, size_t cap)
{
    const char *sep = strstr(href, "://");
    if (sep == NULL || strncmp(href, "file://", 7) == 0) {
        lc__copy_str(root, cap, "file:///");
        return;
    }
    const char *host_end = strchr(sep + 3, '/');
    size_t n = host_end != NULL ? (size_t)(host_end - href) : strlen(href);
    const char *query = strpbrk(sep + 3, "?#");
    if (query != NULL && (size_t)(query - href) < n)
        n = (size_t)(query - href);
    if (n >= cap)
        n = cap - 1;
    memcpy(root, href, n);
    root[n] = '\0';
}

int lc__catalog_store_info(const char *href, struct lc_store *store,
                           const char *asset_key,
                           struct lc__catalog_store_info *info,
                           struct lc__errbuf *err)
{
    memset(info, 0, sizeof *info);
    struct lc__stac_load_options opts = {.without_raster_bands = true,
                                         .max_items = 1};
    lc__stac_storage_request(&opts);
    struct lc__stac_items *items;
    LC_FORWARD_IF_ERROR(lc__catalog_load(href, store, &opts, 0, &items, err));
    if (items->count > 0) {
        info->found_item = true;
        lc__copy_str(info->item_id, sizeof info->item_id, items->ids[0]);
        size_t k = choose_asset(items, asset_key);
        if (k != SIZE_MAX) {
            info->found_asset = true;
            lc__copy_str(info->asset_key, sizeof info->asset_key,
                         items->asset_keys[k]);
            lc__copy_str(info->href, sizeof info->href, items->assets[k].href);
            root_of(info->href, info->root, sizeof info->root);
            lc__stac_storage_hints(items, 0, k, &info->hints);
        }
    }
    lc__stac_items_free(items);
    return LC_OK;
}
