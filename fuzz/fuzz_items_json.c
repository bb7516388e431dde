/* fuzz_items_json.c - libFuzzer target for the JSON item loaders
 * (src/stac/items_json.c): FeatureCollection, array, Item, NDJSON. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/stac/items.h"

/*
 * Input: one byte of options, then the JSON text as it is.
 *   bit 0  load every asset key (else three named ones)
 *   bit 1  request properties (scalars, arrays, objects, missing ones)
 *   bit 2  request asset fields
 *   bit 4  write items with their geometry; bit 5: an ids query
 *   bit 3  add a bbox, datetime, ids and CQL2 query to the filter step
 * A table that loads is then used the way the engine uses it: every item
 * is written as JSON (which must parse back as JSON, abort otherwise), its
 * properties are read through the CQL2 accessor, the items are filtered
 * and sorted by the requested fields.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kAssets[] = {"B04", "visual", "data"};
static const char *const kFields[] = {
    "eo:cloud_cover",  "properties.platform", "collection", "proj:epsg",
    "stac_extensions", "instruments",         "missing",    "datetime"};
static const char *const kAssetFields[] = {"storage:refs", "file:size",
                                           "alternate"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t flags = data[0];
    struct lc__stac_load_options opts = {0};
    struct lc__geom_limits limits = {.max_points = 4096};
    opts.geom_limits = &limits;
    if ((flags & 1) == 0) {
        opts.assets = kAssets;
        opts.nassets = LC_ARRAY_SIZE(kAssets);
    }
    if (flags & 2) {
        opts.fields = kFields;
        opts.nfields = LC_ARRAY_SIZE(kFields);
    }
    if (flags & 4) {
        opts.asset_fields = kAssetFields;
        opts.nasset_fields = LC_ARRAY_SIZE(kAssetFields);
    }

    struct lc__stac_items *items = NULL;
    struct lc__errbuf err = {0};
    int st = lc__stac_items_from_json((const char *)data + 1, size - 1,
                                      "fuzz.json", &opts, &items, &err);
    if (st != LC_OK) {
        /* The documented failures only, each with a message. */
        if ((st != LC_ECORRUPT && st != LC_ELIMIT) || err.msg[0] == '\0') {
            fprintf(stderr, "unexpected status %d: %s\n", st, err.msg);
            abort();
        }
        return 0;
    }

    for (size_t i = 0; i < items->count; i++) {
        if (items->ids[i] == NULL)
            abort(); /* an item without id must not load */
        struct lc__strbuf sb;
        lc__strbuf_init(&sb, NULL, 0);
        lc__stac_item_write_json(items, i, (flags & 16) != 0, &sb);
        if (sb.status != LC_OK)
            abort();
        json_error_t jerr;
        json_t *back = json_loadb(sb.data, sb.len, JSON_DECODE_ANY, &jerr);
        if (back == NULL) {
            fprintf(stderr, "item %zu written as invalid JSON (%s): %s\n", i,
                    jerr.text, sb.data);
            abort();
        }
        json_decref(back);
        lc__strbuf_free(&sb);
        for (size_t k = 0; k < LC_ARRAY_SIZE(kFields); k++) {
            struct lc__cql2_value v;
            lc__stac_items_value(items, i, kFields[k], &v);
        }
    }

    static struct lc__cql2 *filter;
    static const char kFilter[] =
        "(\"eo:cloud_cover\" < 50 OR platform LIKE 'sentinel%') AND "
        "S_INTERSECTS(geometry, POLYGON((-100 0,-100 60,20 60,-100 0))) AND "
        "datetime >= TIMESTAMP('2020-01-01T00:00:00Z') AND "
        "A_CONTAINS(instruments, ('msi')) AND id <> 'x' AND "
        "collection IS NOT NULL";
    if (filter == NULL && lc__cql2_parse_text(kFilter, strlen(kFilter), NULL,
                                              &filter, NULL, &err) != LC_OK)
        abort();
    static const char *const kIds[] = {"S2B_1CCV_20181004_0_L2A", "item-1", ""};
    struct lc__stac_query q = {0};
    if (flags & 8) {
        q.has_bbox = true;
        q.bbox = (struct lc__envelope){170, -10, -170, 10};
        q.has_datetime = true;
        q.start_us = 0;
        q.end_us = INT64_MAX;
        q.filter = filter;
    }
    if (flags & 32) {
        q.ids = kIds;
        q.nids = LC_ARRAY_SIZE(kIds);
    }
    size_t *index = NULL, n = 0;
    if (lc__stac_items_filter(items, &q, NULL, &index, &n, &err) != LC_OK)
        abort();
    for (size_t k = 1; k < n; k++)
        if (index[k - 1] >= index[k] || index[k] >= items->count)
            abort();
    const struct lc__stac_sortkey keys[] = {
        {"eo:cloud_cover", true}, {"platform", false}, {"datetime", false}};
    if (lc__stac_items_sort(items, keys, LC_ARRAY_SIZE(keys), index, n, NULL,
                            &err) != LC_OK)
        abort();
    free(index);
    lc__stac_items_free(items);
    return 0;
}
