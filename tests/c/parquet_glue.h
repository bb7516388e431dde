/* parquet_glue.h - the Parquet reader's source vtable over src/io, for the
 * tests and tools (the engine does the same). */
/* SPDX-License-Identifier: MIT */
#ifndef LC_PARQUET_GLUE_H
#define LC_PARQUET_GLUE_H

#include "../../src/io/io.h"
#include "../../src/parquet/parquet.h"

static int lc_glue_read(void *opaque, struct lc_range_request *requests,
                        size_t nrequests, bool allow_short,
                        struct lc__errbuf *err)
{
    return lc__io_read(opaque, requests, nrequests, allow_short, err);
}

static int lc_glue_size(void *opaque, uint64_t *size_ret,
                        struct lc__errbuf *err)
{
    return lc__io_size(opaque, size_ret, err);
}

static void lc_glue_close(void *opaque)
{
    lc__io_close(opaque);
}

/* A source reading through io (which the source then owns). */
static inline struct lc__parquet_source lc_glue_source(struct lc__io *io)
{
    struct lc__parquet_source src = {
        .opaque = io,
        .name = lc__io_name(io),
        .read = lc_glue_read,
        .size = lc_glue_size,
        .close = lc_glue_close,
    };
    return src;
}

/* The dataset opener: lc__io_open_href with the default store. */
static inline int lc_glue_open(void *opaque, const char *href,
                               struct lc__parquet_source *src_ret,
                               struct lc__errbuf *err)
{
    struct lc__io *io;
    (void)opaque;
    int status = lc__io_open_href(href, NULL, NULL, &io, err);
    if (status < 0)
        return status;
    *src_ret = lc_glue_source(io);
    return 0;
}

/* Caps small enough that a fuzzer's input cannot make one run slow or
 * large, and big enough for every seed file. */
static inline struct lc__parquet_limits lc_glue_fuzz_limits(void)
{
    struct lc__parquet_limits lim = {
        .max_footer_nbytes = 1 << 20,
        .max_page_nbytes = 1 << 20,
        .max_chunk_nbytes = 4 << 20,
        .max_row_groups = 1000,
        .max_schema_elements = 2000,
        .max_chunk_values = 1 << 18,
        .max_decoded_nbytes = 64 << 20,
    };
    return lim;
}

static inline struct lc__parquet_opener lc_glue_opener(void)
{
    struct lc__parquet_opener o = {.opaque = NULL, .open = lc_glue_open};
    return o;
}

/* Opens the Parquet file at href (a path or URL). */
static inline int lc_glue_open_file(const char *href,
                                    const struct lc__parquet_limits *limits,
                                    struct lc__parquet_file **file_ret,
                                    struct lc__errbuf *err)
{
    struct lc__parquet_source src;
    int status = lc_glue_open(NULL, href, &src, err);
    if (status < 0)
        return status;
    return lc__parquet_open(&src, NULL, limits, file_ret, err);
}

#endif /* LC_PARQUET_GLUE_H */
