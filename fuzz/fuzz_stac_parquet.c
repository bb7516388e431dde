/* fuzz_stac_parquet.c - libFuzzer target for stac-geoparquet item loading
 * (src/stac/items_parquet.c) from a Parquet file in memory. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "../src/io/io.h"
#include "../tests/c/parquet_glue.h"
#include "../src/stac/items.h"

/*
 * The input is a Parquet file as it is. It is opened as a one-file dataset
 * (the opener serves "mem://fuzz.parquet" from the input) and loaded as
 * STAC items twice: every asset and the properties, no pushdown; then
 * three named assets with a bbox and datetime pushdown (which reads in two
 * phases). A table that loads has every item written as JSON and filtered.
 * Caps stay small so every run is fast.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const uint8_t *data;
    size_t size;
};

static int open_input(void *opaque, const char *href,
                      struct lc__parquet_source *src_ret,
                      struct lc__errbuf *err)
{
    const struct input *in = opaque;
    struct lc__io *io = NULL;
    int st = lc__io_open_memory(in->data, in->size, href, NULL, &io, err);
    if (st < 0)
        return st;
    *src_ret = lc_glue_source(io);
    return LC_OK;
}

static const char *const kAssets[] = {"B04", "visual", "data"};
static const char *const kFields[] = {"eo:cloud_cover", "platform", "proj:epsg",
                                      "instruments", "missing"};

static void load(struct lc__parquet_dataset *ds, bool pushdown)
{
    struct lc__geom_limits glim = {.max_points = 4096};
    struct lc__stac_load_options opts = {.geom_limits = &glim, .nthreads = 1};
    struct lc__errbuf err = {0};
    if (pushdown) {
        /* As open() loads: pushdown, and raster:bands of another type than
         * the extension's left out rather than refused. */
        opts.lenient_raster_bands = true;
        opts.assets = kAssets;
        opts.nassets = LC_ARRAY_SIZE(kAssets);
        /* The western hemisphere, from 2020 on. */
        opts.has_bbox = true;
        opts.bbox = (struct lc__envelope){-180, -90, 0, 90};
        opts.has_datetime = true;
        opts.start_us = INT64_C(1577836800000000);
        opts.end_us = INT64_MAX;
    } else {
        opts.fields = kFields;
        opts.nfields = LC_ARRAY_SIZE(kFields);
    }
    struct lc__stac_items *items = NULL;
    int st = lc__stac_items_from_parquet(ds, &opts, &items, &err);
    if (st != LC_OK) {
        if (err.msg[0] == '\0') {
            fprintf(stderr, "status %d without a message\n", st);
            abort();
        }
        return;
    }
    for (size_t i = 0; i < items->count; i++) {
        if (items->ids[i] == NULL)
            abort();
        struct lc__strbuf sb;
        lc__strbuf_init(&sb, NULL, 0);
        lc__stac_item_write_json(items, i, true, &sb);
        if (sb.status != LC_OK)
            abort();
        lc__strbuf_free(&sb);
    }
    struct lc__stac_query q = {.has_bbox = true, .bbox = {170, -10, -170, 10}};
    size_t *index = NULL, n = 0;
    if (lc__stac_items_filter(items, &q, NULL, &index, &n, &err) != LC_OK)
        abort();
    free(index);
    lc__stac_items_free(items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct lc__parquet_opener opener = {.opaque = &in, .open = open_input};
    struct lc__parquet_limits lim = lc_glue_fuzz_limits();
    struct lc__errbuf err = {0};
    struct lc__parquet_dataset *ds = NULL;

    if (lc__parquet_dataset_open("mem://fuzz.parquet", &opener, NULL, &lim, &ds,
                                 &err) != LC_OK)
        return 0;

    for (int pass = 0; pass < 2; pass++)
        load(ds, pass == 1);
    lc__parquet_dataset_close(ds);
    return 0;
}
