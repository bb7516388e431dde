/* fuzz_cog.c - libFuzzer target: open a TIFF from memory and read a window. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <stdlib.h>

/*
 * The whole path a file takes: lc_cog_open_io over bytes in memory, then a
 * window read of one level (data and, when present, the mask). Inputs are
 * TIFF files as they are, read with default parameters; an input that ends
 * with "LCFZ" and 6 more bytes takes its parameters from those bytes:
 *
 *   p[0] level (% nlevels)      p[1] p[2] window origin (x, y in 1/256ths)
 *   p[3] p[4] window size - 1 (capped at 64)   p[5] prefix size (16 << p%13)
 *
 * Caps on blocks and tags stay small so every run is fast.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct memory {
    const uint8_t *data;
    size_t nbytes;
};

static int memory_read(void *opaque, struct lc_range_request *requests,
                       size_t nrequests, char *errmsg, size_t errmsg_cap)
{
    const struct memory *m = opaque;

    (void)errmsg;
    (void)errmsg_cap;
    for (size_t i = 0; i < nrequests; i++) {
        struct lc_range_request *r = &requests[i];
        r->nread = 0;
        if (r->offset >= m->nbytes)
            continue;
        uint64_t avail = m->nbytes - r->offset;
        r->nread = avail < r->nbytes ? (size_t)avail : r->nbytes;
        memcpy(r->buf, m->data + r->offset, r->nread);
    }
    return LC_OK;
}

static int memory_size(void *opaque, uint64_t *size_ret, char *errmsg,
                       size_t errmsg_cap)
{
    (void)errmsg;
    (void)errmsg_cap;
    *size_ret = ((const struct memory *)opaque)->nbytes;
    return LC_OK;
}

static const struct lc_io_methods memory_methods = {
    .struct_size = sizeof(struct lc_io_methods),
    .read = memory_read,
    .size = memory_size,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t p[6] = {0, 0, 0, 63, 63, 12};
    struct memory m = {data, size};

    if (size >= 10 && memcmp(data + size - 10, "LCFZ", 4) == 0) {
        memcpy(p, data + size - 6, 6);
        m.nbytes = size - 10;
    }
    struct lc_cog_options opts = {
        .struct_size = sizeof(opts),
        .prefix_nbytes = (size_t)16 << (p[5] % 13),
        .max_block_nbytes = 4u << 20,
        .max_tag_nbytes = 1u << 20,
    };
    struct lc_cog *cog;
    if (lc_cog_open_io(&memory_methods, &m, "fuzz", &opts, &cog) != LC_OK)
        return 0;
    struct lc_cog_info info = {.struct_size = sizeof(info)};
    struct lc_cog_level lv = {.struct_size = sizeof(lv)};
    if (lc_cog_get_info(cog, &info) != LC_OK ||
        lc_cog_get_level(cog, p[0] % info.nlevels, &lv) != LC_OK)
        abort(); /* a handle that opened must describe itself */
    struct lc_window w;
    w.col_off = (uint32_t)((uint64_t)lv.width * p[1] / 256);
    w.row_off = (uint32_t)((uint64_t)lv.height * p[2] / 256);
    w.width = 1 + p[3] % 64;
    w.height = 1 + p[4] % 64;
    if (w.width > lv.width - w.col_off)
        w.width = lv.width - w.col_off;
    if (w.height > lv.height - w.row_off)
        w.height = lv.height - w.row_off;
    size_t nbytes =
        (size_t)w.width * w.height * info.samples * lc_dtype_nbytes(info.dtype);
    uint8_t *out = malloc(nbytes);
    if (out != NULL) {
        (void)lc_cog_read_window(cog, p[0] % info.nlevels, &w, NULL, 0, out,
                                 nbytes);
        if (lv.has_mask)
            (void)lc_cog_read_mask(cog, p[0] % info.nlevels, &w, out,
                                   (size_t)w.width * w.height);
    }
    free(out);
    lc_cog_close(cog);
    return 0;
}
