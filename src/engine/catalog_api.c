/* catalog_api.c - the public (experimental) catalogue calls. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "../common/text.h"
#include "../io/io.h"
#include "catalog.h"

#include <stdlib.h>

void lc_free(void *ptr)
{
    free(ptr);
}

static int items_json(const char *href, const struct lc_items_query *q,
                      char **json_ret, size_t *nitems_ret, size_t *nloaded_ret,
                      struct lc__errbuf *err)
{
    LC_RETURN_IF(href == NULL || json_ret == NULL, err, LC_EINVAL,
                 "lc_items_json: href and json_ret are required");
    LC_RETURN_IF(q != NULL && q->struct_size != sizeof *q, err, LC_EINVAL,
                 "lc_items_json: struct lc_items_query of unknown size %zu",
                 q->struct_size);
    static const struct lc_items_query no_query = {.struct_size =
                                                       sizeof no_query};
    if (q == NULL)
        q = &no_query;
    struct lc__catalog_query query = {
        .filter = q->filter,
        .sortby = q->sortby,
        .datetime = q->datetime,
        .has_bbox = q->has_bbox != 0,
        .bbox = {q->bbox[0], q->bbox[1], q->bbox[2], q->bbox[3]},
        .ids = q->ids,
        .nids = q->nids,
        .limit = q->limit,
    };
    LC_RETURN_IF(query.has_bbox && !(query.bbox.miny <= query.bbox.maxy), err,
                 LC_EINVAL, "%s: bbox south %.17g is above north %.17g", href,
                 query.bbox.miny, query.bbox.maxy);
    struct lc__stac_load_options load = {
        .assets = q->assets,
        .nassets = q->nassets,
        .fields = q->fields,
        .nfields = q->nfields,
        .asset_fields = q->asset_fields,
        .nasset_fields = q->nasset_fields,
        .max_items = q->max_items,
    };
    struct lc__catalog *catalog;
    LC_FORWARD_IF_ERROR(
        lc__catalog_open(href, q->store, &load, &query, &catalog, err));
    struct lc__strbuf sb;
    lc__strbuf_init(&sb, NULL, 0);
    for (size_t k = 0; k < catalog->count; k++) {
        lc__stac_item_write_json(catalog->items, catalog->order[k],
                                 q->with_geometry != 0, &sb);
        lc__strbuf_putc(&sb, '\n');
    }
    if (sb.status == LC_OK && sb.data == NULL)
        lc__strbuf_puts(&sb, "");
    int status = sb.status;
    if (status == LC_OK) {
        *json_ret = sb.data;
        if (nitems_ret != NULL)
            *nitems_ret = catalog->count;
        if (nloaded_ret != NULL)
            *nloaded_ret = catalog->items->count;
    } else {
        lc__strbuf_free(&sb);
        lc__error(err, status, "%s: %s while writing %zu items", href,
                  lc_strerror(status), catalog->count);
    }
    lc__catalog_free(catalog);
    return status;
}

int lc_items_json(const char *href, const struct lc_items_query *query,
                  char **json_ret, size_t *nitems_ret, size_t *nloaded_ret)
{
    struct lc__errbuf err = {0};
    int status =
        items_json(href, query, json_ret, nitems_ret, nloaded_ret, &err);
    lc__redact_urls(err.msg, sizeof err.msg);
    return lc__publish(&err, status);
}

static int store_info(const char *href, struct lc_store *store,
                      const char *asset_key, struct lc_catalog_store_info *info,
                      struct lc__errbuf *err)
{
    LC_RETURN_IF(href == NULL || info == NULL, err, LC_EINVAL,
                 "lc_catalog_store_info: href and info are required");
    LC_RETURN_IF(info->struct_size != sizeof *info, err, LC_EINVAL,
                 "lc_catalog_store_info: struct of unknown size %zu",
                 info->struct_size);
    struct lc__catalog_store_info in;
    LC_FORWARD_IF_ERROR(
        lc__catalog_store_info(href, store, asset_key, &in, err));
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->found_item = in.found_item;
    info->found_asset = in.found_asset;
    lc__copy_str(info->item_id, sizeof info->item_id, in.item_id);
    lc__copy_str(info->asset_key, sizeof info->asset_key, in.asset_key);
    lc__copy_str(info->href, sizeof info->href, in.href);
    lc__copy_str(info->root, sizeof info->root, in.root);
    info->storage_version = in.hints.version_major;
    info->has_region = in.hints.has_region;
    lc__copy_str(info->region, sizeof info->region, in.hints.region);
    info->request_payer = in.hints.request_payer;
    info->has_endpoint = in.hints.has_endpoint;
    lc__copy_str(info->endpoint, sizeof info->endpoint, in.hints.endpoint);
    info->storage_malformed = in.hints.malformed;
    lc__copy_str(info->storage_problem, sizeof info->storage_problem,
                 in.hints.why);
    return LC_OK;
}

int lc_catalog_store_info(const char *href, struct lc_store *store,
                          const char *asset_key,
                          struct lc_catalog_store_info *info)
{
    struct lc__errbuf err = {0};
    int status = store_info(href, store, asset_key, info, &err);
    lc__redact_urls(err.msg, sizeof err.msg);
    return lc__publish(&err, status);
}
