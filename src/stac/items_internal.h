/* items_internal.h - what the item loaders share. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_STAC_ITEMS_INTERNAL_H
#define LC_STAC_ITEMS_INTERNAL_H

#include "items.h"

/*
 * Allocates a table of count items for a loader to fill in: ids NULL,
 * times LC__STAC_NO_TIME, bboxes empty, geometries NULL, assets zero (href
 * NULL) with each asset's fields array allocated (all TNULL), fields TNULL.
 * The field names are opts->fields with "properties." dropped, duplicates
 * and the fixed names (id, datetime, start_datetime, end_datetime,
 * geometry, bbox) removed; asset_keys[0..nassets) are copied (the loader
 * decides them: opts->assets or every key of the source). source is
 * copied. Returns LC_OK, LC_ELIMIT (a size overflows) or LC_ENOMEM.
 */
int lc__stac_items_new(size_t count, const char *source,
                       const struct lc__stac_load_options *opts,
                       const char *const *asset_keys, size_t nassets,
                       struct lc__stac_items **items_ret,
                       struct lc__errbuf *err);

/* The name with a leading "properties." removed. */
const char *lc__stac_property_name(const char *name);

/* Index of field `name` (prefix already dropped) in items->field_names, or
 * SIZE_MAX. */
size_t lc__stac_field_index(const struct lc__stac_items *items,
                            const char *name);

/* Maps a raster:bands data_type string ("uint16", "float32") to a dtype;
 * LC_DTYPE_UNKNOWN for anything else. */
enum lc_dtype lc__stac_dtype_from_name(const char *name, size_t len);

/* Parses proj:code "EPSG:<n>" (any letter case) into an EPSG code; 0 when
 * it is not of that form. */
int32_t lc__stac_epsg_from_code(const char *code, size_t len);

#endif /* LC_STAC_ITEMS_INTERNAL_H */
