/* items.c - the item table: construction, names, small value helpers. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "../common/alloc.h"
#include "items_internal.h"

#include <math.h>
#include <strings.h>

static const char *const fixed_names[] = {
    "id", "datetime", "start_datetime", "end_datetime", "geometry", "bbox",
};

const char *lc__stac_property_name(const char *name)
{
    static const char prefix[] = "properties.";
    if (strncmp(name, prefix, sizeof prefix - 1) == 0)
        return name + sizeof prefix - 1;
    return name;
}

static bool is_fixed_name(const char *name)
{
    for (size_t i = 0; i < sizeof fixed_names / sizeof fixed_names[0]; i++)
        if (strcmp(name, fixed_names[i]) == 0)
            return true;
    return false;
}

size_t lc__stac_field_index(const struct lc__stac_items *items,
                            const char *name)
{
    for (size_t i = 0; i < items->nfields; i++)
        if (strcmp(items->field_names[i], name) == 0)
            return i;
    return SIZE_MAX;
}

/* Copies names[0..n) into the arena, dropping the prefix (when asked),
 * duplicates and (when asked) the fixed names. */
static int copy_names(struct lc__arena *arena, const char *const *names,
                      size_t n, bool properties, const char ***out,
                      size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n == 0)
        return LC_OK;
    const char **copy = lc__arena_calloc(arena, n, sizeof *copy);
    if (copy == NULL)
        return LC_ENOMEM;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name =
            properties ? lc__stac_property_name(names[i]) : names[i];
        if (properties && is_fixed_name(name))
            continue;
        bool seen = false;
        for (size_t j = 0; j < count && !seen; j++)
            seen = strcmp(copy[j], name) == 0;
        if (seen)
            continue;
        copy[count] = lc__arena_strndup(arena, name, strlen(name));
        if (copy[count] == NULL)
            return LC_ENOMEM;
        count++;
    }
    *out = copy;
    *nout = count;
    return LC_OK;
}

static int fill_table(struct lc__stac_items *t, size_t count,
                      const char *source,
                      const struct lc__stac_load_options *opts,
                      const char *const *asset_keys, size_t nassets)
{
    struct lc__arena *a = &t->arena;
    t->count = count;
    t->source = lc__arena_strndup(a, source, strlen(source));
    if (t->source == NULL)
        return LC_ENOMEM;

    int status = copy_names(a, opts->fields, opts->nfields, true,
                            &t->field_names, &t->nfields);
    if (status == LC_OK)
        status = copy_names(a, opts->asset_fields, opts->nasset_fields, false,
                            &t->asset_field_names, &t->nasset_fields);
    if (status == LC_OK)
        status = copy_names(a, asset_keys, nassets, false, &t->asset_keys,
                            &t->nassets);
    if (status < 0)
        return status;
    /* copy_names drops duplicate asset keys; a loader indexes assets by
     * the keys it passed, so they must be distinct. */
    if (t->nassets != nassets)
        return LC_EINVAL;

    size_t nasset_records, nfield_values, nasset_values;
    if (!lc__size_mul(count, nassets, &nasset_records) ||
        !lc__size_mul(count, t->nfields, &nfield_values) ||
        !lc__size_mul(nasset_records, t->nasset_fields, &nasset_values))
        return LC_ELIMIT;

    t->ids = lc__arena_calloc(a, count, sizeof *t->ids);
    t->datetime = lc__arena_calloc(a, count, sizeof *t->datetime);
    t->start_datetime = lc__arena_calloc(a, count, sizeof *t->start_datetime);
    t->end_datetime = lc__arena_calloc(a, count, sizeof *t->end_datetime);
    t->bbox = lc__arena_calloc(a, count, sizeof *t->bbox);
    t->geometry = lc__arena_calloc(a, count, sizeof *t->geometry);
    t->assets = lc__arena_calloc(a, nasset_records, sizeof *t->assets);
    t->fields = lc__arena_calloc(a, nfield_values, sizeof *t->fields);
    struct lc__cql2_value *asset_values =
        lc__arena_calloc(a, nasset_values, sizeof *asset_values);
    if (count > 0 &&
        (t->ids == NULL || t->datetime == NULL || t->start_datetime == NULL ||
         t->end_datetime == NULL || t->bbox == NULL || t->geometry == NULL ||
         (nasset_records > 0 && t->assets == NULL) ||
         (nfield_values > 0 && t->fields == NULL) ||
         (nasset_values > 0 && asset_values == NULL)))
        return LC_ENOMEM;

    for (size_t i = 0; i < count; i++) {
        t->datetime[i] = LC__STAC_NO_TIME;
        t->start_datetime[i] = LC__STAC_NO_TIME;
        t->end_datetime[i] = LC__STAC_NO_TIME;
        t->bbox[i] =
            (struct lc__envelope){INFINITY, INFINITY, -INFINITY, -INFINITY};
    }
    /* calloc leaves every value TNULL (0); give each asset its fields. */
    if (t->nasset_fields > 0)
        for (size_t r = 0; r < nasset_records; r++)
            t->assets[r].fields = asset_values + r * t->nasset_fields;
    return LC_OK;
}

int lc__stac_items_new(size_t count, const char *source,
                       const struct lc__stac_load_options *opts,
                       const char *const *asset_keys, size_t nassets,
                       struct lc__stac_items **items_ret,
                       struct lc__errbuf *err)
{
    static const struct lc__stac_load_options no_options;
    if (opts == NULL)
        opts = &no_options;
    *items_ret = NULL;
    struct lc__stac_items *t = lc__calloc(opts->alloc, 1, sizeof *t);
    if (t == NULL)
        return lc__error(err, LC_ENOMEM, "%s: out of memory for %zu items",
                         source, count);
    lc__arena_init(&t->arena, opts->alloc);
    int status = fill_table(t, count, source, opts, asset_keys, nassets);
    if (status < 0) {
        lc__stac_items_free(t);
        if (status == LC_EINVAL)
            return lc__error(err, status, "%s: asset keys repeat", source);
        return lc__error(
            err, status, "%s: %s for a table of %zu items", source,
            status == LC_ELIMIT ? "sizes overflow" : "out of memory", count);
    }
    *items_ret = t;
    return LC_OK;
}

void lc__stac_items_free(struct lc__stac_items *items)
{
    if (items == NULL)
        return;
    struct lc_allocator alloc = items->arena.alloc;
    lc__arena_free(&items->arena);
    lc__free(&alloc, items);
}

enum lc_dtype lc__stac_dtype_from_name(const char *name, size_t len)
{
    for (int d = LC_DTYPE_UINT8; d <= LC_DTYPE_FLOAT64; d++) {
        const char *known = lc_dtype_name((enum lc_dtype)d);
        if (strlen(known) == len && memcmp(known, name, len) == 0)
            return (enum lc_dtype)d;
    }
    return LC_DTYPE_UNKNOWN;
}

int32_t lc__stac_epsg_from_code(const char *code, size_t len)
{
    if (len < 6 || strncasecmp(code, "EPSG:", 5) != 0)
        return 0;
    int64_t value = 0;
    for (size_t i = 5; i < len; i++) {
        if (code[i] < '0' || code[i] > '9' || value > 100000000)
            return 0;
        value = value * 10 + (code[i] - '0');
    }
    return value > 0 && value <= INT32_MAX ? (int32_t)value : 0;
}
