/* fuzz_parquet.c - libFuzzer target: open a Parquet file from memory and read
 * every column (footer, Thrift, schema, pages, encodings, codecs). */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include "../src/io/io.h"
#include "../tests/c/parquet_glue.h"
#include "../src/parquet/parquet.h"

/*
 * The input is a Parquet file as it is. It is opened through an in-memory
 * struct lc__io (lc__io_open_memory), so the reads go through the same
 * wrapper as files and URLs do; then its statistics are decoded, every leaf
 * column is read over all row groups (at most 64 leaves), and the list
 * offsets of each array are walked. Caps stay small so every run is fast
 * and a lying size shows up as LC_ELIMIT rather than as a slow input.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every value an array exposes (so ASan sees any bad offset). */
static unsigned walk(const struct lc__parquet_array *a)
{
    unsigned acc = 0;

    for (size_t l = 0; l < a->depth; l++) {
        const struct lc__parquet_level *lv = &a->levels[l];
        for (size_t k = 0; k < lv->length; k++)
            acc += lc__parquet_bit(lv->validity, k);
    }
    for (unsigned r = 1;; r++) {
        const size_t *off;
        size_t n, level;
        if (lc__parquet_array_list(a, r, &off, &n, &level) != LC_OK)
            break;
        acc += (unsigned)off[n];
    }
    if (a->value_nbytes > 0 && a->nvalues > 0) {
        const uint8_t *v = a->values;
        acc += v[0] + v[a->nvalues * a->value_nbytes - 1];
    } else if (a->offsets != NULL && a->data_nbytes > 0) {
        acc += a->data[a->offsets[a->nvalues] - 1];
    }
    return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lc__errbuf err = {0};
    struct lc__io *io = NULL;

    if (lc__io_open_memory(data, size, "fuzz.parquet", NULL, &io, &err) < 0)
        return 0;
    struct lc__parquet_source src = lc_glue_source(io);
    struct lc__parquet_limits lim = lc_glue_fuzz_limits();
    struct lc__parquet_file *f = NULL;
    if (lc__parquet_open(&src, NULL, &lim, &f, &err) < 0)
        return 0;

    size_t ncols = lc__parquet_num_columns(f);
    size_t cols[64];
    size_t n = ncols < 64 ? ncols : 64;
    for (size_t i = 0; i < n; i++) {
        cols[i] = i;
        size_t found;
        lc__parquet_find_column(f, lc__parquet_column(f, i)->path, &found);
    }
    for (size_t g = 0; g < lc__parquet_num_row_groups(f) && g < 16; g++) {
        for (size_t i = 0; i < n; i++) {
            struct lc__parquet_stats st;
            lc__parquet_column_stats(f, g, i, &st);
        }
    }
    const uint8_t *v;
    size_t vn;
    lc__parquet_metadata(f, "geo", &v, &vn);

    struct lc__parquet_read_options opts = {.keep_levels = (size & 1) != 0};
    struct lc__parquet_table *t = NULL;
    volatile unsigned sink = 0;
    if (lc__parquet_read(f, cols, n, &opts, &t, &err) == LC_OK) {
        for (size_t i = 0; i < t->ncolumns; i++)
            sink += walk(&t->columns[i]);
    }
    (void)sink;
    lc__parquet_table_free(t);
    lc__parquet_close(f);
    return 0;
}
