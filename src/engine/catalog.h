/* catalog.h - loading STAC items from wherever they are. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ENGINE_CATALOG_H
#define LC_ENGINE_CATALOG_H

#include "../common/common.h"

#include "../common/error.h"
#include "../stac/items.h"
#include "../stac/storage.h"

/*
 * Loads the STAC items at href into a table (see src/stac/items.h):
 *   - a stac-geoparquet file (name ending .parquet / .geoparquet, or any
 *     object starting with the Parquet magic), a local directory of them
 *     (Hive partitions included) or a local glob;
 *   - a JSON document: a FeatureCollection / ItemCollection, a JSON array
 *     of items, one Item, or NDJSON (one item per line).
 * href is a local path or a file://, http(s)://, s3://, gs:// URL; store
 * (NULL: the process-wide default store of href's root) reads it. A JSON
 * document is read whole and may be at most max_json_nbytes long (0: 1
 * GiB). Returns LC_OK and the table, or the loaders' and io's errors with
 * a message naming href.
 */
int lc__catalog_load(const char *href, struct lc_store *store,
                     const struct lc__stac_load_options *opts,
                     size_t max_json_nbytes, struct lc__stac_items **items_ret,
                     struct lc__errbuf *err);

/* Whether href names stac-geoparquet without reading it: by its name
 * (".parquet", ".geoparquet"), or as a local directory or glob. */
bool lc__catalog_named_parquet(const char *href);

/*
 * Parses a STAC datetime argument: an instant, a date, or an interval
 * "start/end" with ".." or "" for an open end. A bare date stands for its
 * whole day (UTC), so "2025-06-01/2025-06-30" includes June 30 and
 * "2025-06-03" all of that day. Fills *start_us_ret and *end_us_ret
 * (INT64_MIN / INT64_MAX for open ends). Returns LC_OK or LC_EINVAL with
 * a message.
 */
int lc__catalog_parse_datetime(const char *text, int64_t *start_us_ret,
                               int64_t *end_us_ret, struct lc__errbuf *err);

/*
 * A catalogue query: what to load and which items to keep, in what order,
 * given as the user wrote it.
 */
struct lc__catalog_query {
    const char *filter;   /* CQL2 text, or CQL2-JSON when it starts with
                             '{'; NULL: none */
    const char *sortby;   /* as lc__stac_sortby_parse; NULL: source order */
    const char *datetime; /* as lc__catalog_parse_datetime; NULL: any */
    bool has_bbox;
    struct lc__envelope bbox; /* EPSG:4326; minx > maxx crosses the
                                 antimeridian */
    const char *const *ids;
    size_t nids;
    size_t limit; /* keep at most this many items after sorting (0: all) */
};

/* The items of a catalogue and the selection a query made of them. */
struct lc__catalog {
    struct lc__stac_items *items;
    size_t *order; /* indices into items of the selected items, sorted */
    size_t count;
    struct lc__cql2 *filter;        /* NULL: none */
    struct lc__stac_sortby *sortby; /* NULL: none */
    struct lc_allocator alloc;
};

/*
 * Loads href (as lc__catalog_load, with load's assets, fields and limits;
 * the fields a filter and a sortby name are added, and the bbox and
 * datetime pushed down) and selects and sorts its items by query. Errors:
 * LC_EINVAL for a bad filter (with its position), sortby or datetime, and
 * the load errors. On success *catalog_ret is freed with
 * lc__catalog_free.
 */
int lc__catalog_open(const char *href, struct lc_store *store,
                     const struct lc__stac_load_options *load,
                     const struct lc__catalog_query *query,
                     struct lc__catalog **catalog_ret, struct lc__errbuf *err);

/*
 * Keeps of the selection only the items that meet bbox (EPSG:4326, as the
 * query's), in their order: for a catalogue opened with a box around the
 * one wanted, while that one was being computed, and without a limit (a
 * cut selection would lose items that meet bbox). Returns LC_OK or
 * LC_ENOMEM (the selection is then empty).
 */
int lc__catalog_narrow(struct lc__catalog *catalog,
                       const struct lc__envelope *bbox, struct lc__errbuf *err);

/* Whether every item of the selection meets bbox (*all_ret). Returns LC_OK
 * or LC_ENOMEM. */
int lc__catalog_all_meet(const struct lc__catalog *catalog,
                         const struct lc__envelope *bbox, bool *all_ret,
                         struct lc__errbuf *err);

void lc__catalog_free(struct lc__catalog *catalog);

/*
 * How to reach the assets of a catalogue, from its first item (as the
 * reference's store_for): the asset is asset_key, or else the first whose
 * roles hold "data" or whose media type contains "image/tiff", or else the
 * first; root is scheme://host of its href ("file:///" for local files);
 * hints are what the Storage Extension says (src/stac/storage.h).
 */
struct lc__catalog_store_info {
    bool found_item;  /* false: the catalogue has no item */
    bool found_asset; /* false: the item has no asset asset_key (or none) */
    char item_id[512];
    char asset_key[256];
    char href[4096];
    char root[1024];
    struct lc__stac_storage_hints hints;
};

/* Fills *info for href's first item. Returns LC_OK (see found_*), or the
 * load errors. */
int lc__catalog_store_info(const char *href, struct lc_store *store,
                           const char *asset_key,
                           struct lc__catalog_store_info *info,
                           struct lc__errbuf *err);

#endif /* LC_ENGINE_CATALOG_H */
