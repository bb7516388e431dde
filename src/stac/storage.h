/* storage.h - store options from the STAC Storage Extension. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_STAC_STORAGE_H
#define LC_STAC_STORAGE_H

#include "../common/common.h"

#include "items.h"

/*
 * What the STAC Storage Extension (v1 or v2) of an item says about how to
 * reach one of its assets, as store options. Only S3-like storage yields
 * options: v1 with platform AWS (the asset's storage:platform, else the
 * item's; any letter case) gives storage:region and storage:requester_pays
 * (asset over item); v2 takes the first of the asset's storage:refs that
 * the item's storage:schemes defines and, when that scheme's type contains
 * "s3", gives its region and requester_pays, and for type "custom-s3" its
 * platform as the endpoint unless the platform is a URI template (holds
 * '{'). storage:tier is ignored. The version is the one in the item's
 * stac_extensions URL (.../storage/vX.Y.Z/schema.json).
 */
struct lc__stac_storage_hints {
    int version_major; /* 0: the item declares no storage extension */
    bool has_region;
    char region[64];
    bool request_payer;
    bool has_endpoint;
    char endpoint[1024];
    /* Set when the extension's fields could not be read (wrong types,
     * malformed storage:schemes): then no option is given and why says
     * what was wrong, for a warning. */
    bool malformed;
    char why[256];
};

/* Requests, in opts, the item fields and asset fields
 * lc__stac_storage_hints reads (it sets fields and asset_fields). */
void lc__stac_storage_request(struct lc__stac_load_options *opts);

/* Fills *hints for asset k of item i. Never fails: problems end in
 * hints->malformed. */
void lc__stac_storage_hints(const struct lc__stac_items *items, size_t i,
                            size_t k, struct lc__stac_storage_hints *hints);

#endif /* LC_STAC_STORAGE_H */
