/* fuzz_thrift.c - libFuzzer target for the Thrift compact protocol reader
 * (src/parquet/thrift.c): FileMetaData and PageHeader from raw bytes. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <stdlib.h>

#include "../src/parquet/parquet_internal.h"

/*
 * fuzz_parquet reaches the footer only behind a valid "PAR1" frame and the
 * page headers only behind a footer that parses; this target feeds Thrift
 * bytes straight to the two parsers. Input: one byte choosing the parser
 * (even: FileMetaData, odd: a sequence of PageHeaders, as a column chunk
 * holds them), then the Thrift bytes. Caps are the reader's defaults but
 * smaller lists, so every run stays fast.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lc__errbuf err = {0};

    if (size < 1)
        return 0;
    struct lc__thrift t = {
        .p = data + 1,
        .end = data + size,
        .base = data + 1,
        .max_depth = 32,
        .max_string = 1 << 20,
        .name = "fuzz",
        .where = (data[0] & 1) ? "page header" : "footer",
        .err = &err,
    };
    if ((data[0] & 1) == 0) {
        struct lc__pq_meta meta;
        memset(&meta, 0, sizeof(meta));
        int st = lc__pq_parse_meta(&t, NULL, 1000, 2000, &meta);
        if (st != LC_OK && st != LC_ECORRUPT && st != LC_ELIMIT &&
            st != LC_EUNSUPPORTED)
            abort();
        /* Whatever was filled in must be readable. */
        volatile size_t sink = meta.nschema + meta.nkv + meta.created_by.n;
        for (size_t i = 0; st == LC_OK && i < meta.nschema; i++)
            sink += meta.schema[i].name.n ? meta.schema[i].name.p[0] : 0;
        for (size_t g = 0; st == LC_OK && g < meta.nrow_groups; g++)
            sink += meta.row_groups[g].ncolumns;
        (void)sink;
        lc__pq_meta_free(NULL, &meta);
        return 0;
    }
    /* Page headers back to back, as in a column chunk (at most 64). */
    for (int i = 0; i < 64 && t.p < t.end; i++) {
        struct lc__pq_page_header h;
        const uint8_t *before = t.p;
        t.depth = 0;
        int st = lc__pq_parse_page_header(&t, &h);
        if (st != LC_OK) {
            if (st != LC_ECORRUPT && st != LC_ELIMIT && st != LC_EUNSUPPORTED)
                abort();
            break;
        }
        if (t.p <= before || t.p > t.end)
            abort(); /* a header that parses consumes bytes, within range */
    }
    return 0;
}
