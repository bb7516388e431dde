/* storage.c - store options from the STAC Storage Extension v1 and v2. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "items_internal.h"
#include "storage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const char *const storage_fields[] = {
    "stac_extensions", "storage:schemes", "storage:platform", "storage:region",
    "storage:requester_pays"};
static const char *const storage_asset_fields[] = {
    "storage:refs", "storage:platform", "storage:region",
    "storage:requester_pays"};

void lc__stac_storage_request(struct lc__stac_load_options *opts)
{
    opts->fields = storage_fields;
    opts->nfields = LC_ARRAY_SIZE(storage_fields);
    opts->asset_fields = storage_asset_fields;
    opts->nasset_fields = LC_ARRAY_SIZE(storage_asset_fields);
}

static const char schema_prefix[] = "stac-extensions.github.io/storage/v";

/* The major version of the storage extension among the item's
 * stac_extensions URLs, or 0. */
static int storage_version(const struct lc__cql2_value *extensions)
{
    if (extensions->type != LC__CQL2_TARRAY)
        return 0;
    for (size_t k = 0; k < extensions->nitems; k++) {
        const struct lc__cql2_value *url = &extensions->items[k];
        if (url->type != LC__CQL2_TSTRING)
            continue;
        /* The text is not NUL-terminated: copy a bounded prefix. */
        char text[512];
        size_t n = url->len < sizeof text - 1 ? url->len : sizeof text - 1;
        memcpy(text, url->str, n);
        text[n] = '\0';
        const char *at = strstr(text, schema_prefix);
        if (at == NULL)
            continue;
        const char *digits = at + sizeof schema_prefix - 1;
        if (*digits < '0' || *digits > '9')
            continue;
        return atoi(digits);
    }
    return 0;
}

/* The value of field name of the asset, else of the item (v1's rule). */
static const struct lc__cql2_value *merged(const struct lc__stac_items *items,
                                           size_t i, size_t k, const char *name)
{
    const struct lc__stac_asset *a = &items->assets[i * items->nassets + k];
    for (size_t f = 0; f < items->nasset_fields; f++)
        if (strcmp(items->asset_field_names[f], name) == 0 &&
            a->fields[f].type != LC__CQL2_TNULL)
            return &a->fields[f];
    size_t f = lc__stac_field_index(items, name);
    static const struct lc__cql2_value null_value;
    return f == SIZE_MAX ? &null_value : &items->fields[i * items->nfields + f];
}

/* requester_pays: true, a non-zero number or the string "true". */
static bool truthy(const struct lc__cql2_value *v)
{
    switch (v->type) {
    case LC__CQL2_TBOOL:
        return v->b;
    case LC__CQL2_TNUMBER:
        return v->num != 0;
    case LC__CQL2_TSTRING:
        return v->len == 4 && strncasecmp(v->str, "true", 4) == 0;
    case LC__CQL2_TNULL:
    case LC__CQL2_TTIMESTAMP:
    case LC__CQL2_TDATE:
    case LC__CQL2_TINTERVAL:
    case LC__CQL2_TGEOMETRY:
    case LC__CQL2_TARRAY:
    case LC__CQL2_TJSON:
        break;
    }
    return false;
}

static bool copy_value(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

static void malformed(struct lc__stac_storage_hints *h, const char *why)
{
    int version = h->version_major;
    memset(h, 0, sizeof *h);
    h->version_major = version;
    h->malformed = true;
    lc__copy_str(h->why, sizeof h->why, why);
}

static void hints_v1(const struct lc__stac_items *items, size_t i, size_t k,
                     struct lc__stac_storage_hints *h)
{
    const struct lc__cql2_value *platform =
        merged(items, i, k, "storage:platform");
    if (platform->type == LC__CQL2_TNULL)
        return;
    if (platform->type != LC__CQL2_TSTRING) {
        malformed(h, "storage:platform is not a string");
        return;
    }
    if (platform->len != 3 || strncasecmp(platform->str, "aws", 3) != 0)
        return;
    const struct lc__cql2_value *region = merged(items, i, k, "storage:region");
    if (region->type == LC__CQL2_TSTRING) {
        h->has_region =
            copy_value(h->region, sizeof h->region, region->str, region->len);
        if (!h->has_region) {
            malformed(h, "storage:region is too long");
            return;
        }
    } else if (region->type != LC__CQL2_TNULL) {
        malformed(h, "storage:region is not a string");
        return;
    }
    h->request_payer = truthy(merged(items, i, k, "storage:requester_pays"));
}

/* v2: the scheme an asset refers to, from the item's storage:schemes. */
static void hints_v2(const struct lc__stac_items *items, size_t i, size_t k,
                     struct lc__stac_storage_hints *h)
{
    const struct lc__stac_asset *a = &items->assets[i * items->nassets + k];
    const struct lc__cql2_value *refs = NULL;
    for (size_t f = 0; f < items->nasset_fields; f++)
        if (strcmp(items->asset_field_names[f], "storage:refs") == 0)
            refs = &a->fields[f];
    size_t s = lc__stac_field_index(items, "storage:schemes");
    if (refs == NULL || refs->type == LC__CQL2_TNULL || s == SIZE_MAX ||
        items->fields[i * items->nfields + s].type == LC__CQL2_TNULL)
        return;
    const struct lc__cql2_value *schemes =
        &items->fields[i * items->nfields + s];
    if (refs->type != LC__CQL2_TARRAY) {
        malformed(h, "storage:refs is not an array");
        return;
    }
    if (schemes->type != LC__CQL2_TJSON) {
        malformed(h, "storage:schemes is not an object");
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(schemes->str, schemes->len, 0, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        malformed(h, "storage:schemes is not an object");
        return;
    }
    json_t *scheme = NULL;
    for (size_t r = 0; r < refs->nitems && scheme == NULL; r++) {
        const struct lc__cql2_value *ref = &refs->items[r];
        char key[256];
        if (ref->type == LC__CQL2_TSTRING &&
            copy_value(key, sizeof key, ref->str, ref->len))
            scheme = json_object_get(doc, key);
    }
    if (scheme != NULL && !json_is_object(scheme)) {
        json_decref(doc);
        malformed(h, "a storage scheme is not an object");
        return;
    }
    const char *type = scheme != NULL
                           ? json_string_value(json_object_get(scheme, "type"))
                           : NULL;
    if (type != NULL && strstr(type, "s3") != NULL) {
        json_t *region = json_object_get(scheme, "region");
        json_t *pays = json_object_get(scheme, "requester_pays");
        json_t *platform = json_object_get(scheme, "platform");
        if (json_is_string(region))
            h->has_region = copy_value(h->region, sizeof h->region,
                                       json_string_value(region),
                                       json_string_length(region));
        h->request_payer = json_is_true(pays) || (json_is_number(pays) &&
                                                  json_number_value(pays) != 0);
        if (strcmp(type, "custom-s3") == 0 && json_is_string(platform) &&
            strchr(json_string_value(platform), '{') == NULL)
            h->has_endpoint = copy_value(h->endpoint, sizeof h->endpoint,
                                         json_string_value(platform),
                                         json_string_length(platform));
    }
    json_decref(doc);
}

void lc__stac_storage_hints(const struct lc__stac_items *items, size_t i,
                            size_t k, struct lc__stac_storage_hints *hints)
{
    memset(hints, 0, sizeof *hints);
    size_t e = lc__stac_field_index(items, "stac_extensions");
    if (e == SIZE_MAX || i >= items->count || k >= items->nassets)
        return;
    hints->version_major =
        storage_version(&items->fields[i * items->nfields + e]);
    if (hints->version_major == 1)
        hints_v1(items, i, k, hints);
    else if (hints->version_major == 2)
        hints_v2(items, i, k, hints);
}
