/* lc_warp_tool.c - warps a raw array file through src/geo and src/warp, for
 * tests/python/test_warp_oracle.py (not a CTest test by itself). */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include "../../src/geo/approx.h"
#include "../../src/geo/crs.h"
#include "../../src/geo/grid.h"
#include "../../src/warp/warp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Usage: lc_warp_tool key=value...
 *
 *   src=PATH          the source window: raw values, native byte order,
 *                     row-major, src_size[1] rows of src_size[0] values
 *   dtype=NAME        uint8 ... float64 (numpy names)
 *   src_size=W,H      source window size in pixels
 *   src_gt=G0,...,G5  source geotransform (GDAL order)
 *   src_crs=TEXT      source CRS (anything lc__crs_new accepts)
 *   dst_crs=TEXT      destination CRS
 *   dst_gt=G0,...,G5  destination geotransform
 *   dst_size=W,H      destination size
 *   method=NAME       nearest, bilinear, cubic, average, mode, min, max
 *   out=PATH          where the warped values go (same layout as src)
 *   valid=PATH        optional: one byte per destination pixel, 1 valid
 *   nodata=V          optional source nodata value
 *   fill=V            value of invalid destination pixels (default 0)
 *   exact=1           transform every pixel (default: approximate)
 *   max_error=E       approximation bound in source pixels
 *   max_cell=N        first-level cell size of the approximation
 *
 * Prints one line: "kind=K transformed=N cells=C" (the source map's stats).
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */

static const char *arg(int argc, char **argv, const char *key)
{
    size_t n = strlen(key);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    }
    return NULL;
}

static int parse_doubles(const char *s, double *v, int n)
{
    if (s == NULL)
        return -1;
    for (int k = 0; k < n; k++) {
        char *end;
        v[k] = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
        if (k + 1 < n) {
            if (*s != ',')
                return -1;
            s++;
        }
    }
    return *s == '\0' ? 0 : -1;
}

static enum lc_dtype parse_dtype(const char *s)
{
    for (int t = LC_DTYPE_UINT8; t <= LC_DTYPE_FLOAT64; t++) {
        if (s != NULL && strcmp(s, lc_dtype_name((enum lc_dtype)t)) == 0)
            return (enum lc_dtype)t;
    }
    return LC_DTYPE_UNKNOWN;
}

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "lc_warp_tool: %s%s%s\n", what, msg ? ": " : "",
            msg ? msg : "");
    return 1;
}

static void *read_file(const char *path, size_t nbytes)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    void *buf = malloc(nbytes ? nbytes : 1);
    if (buf != NULL && fread(buf, 1, nbytes, f) != nbytes) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int write_file(const char *path, const void *buf, size_t nbytes)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(buf, 1, nbytes, f);
    return fclose(f) == 0 && n == nbytes ? 0 : -1;
}

int main(int argc, char **argv)
{
    double ssize[2], dsize[2], sgt[6], dgt[6];
    enum lc_dtype dtype = parse_dtype(arg(argc, argv, "dtype"));
    const char *src_path = arg(argc, argv, "src");
    const char *out_path = arg(argc, argv, "out");
    const char *valid_path = arg(argc, argv, "valid");
    const char *src_crs = arg(argc, argv, "src_crs");
    const char *dst_crs = arg(argc, argv, "dst_crs");
    if (dtype == LC_DTYPE_UNKNOWN || src_path == NULL || out_path == NULL ||
        src_crs == NULL || dst_crs == NULL ||
        parse_doubles(arg(argc, argv, "src_size"), ssize, 2) < 0 ||
        parse_doubles(arg(argc, argv, "dst_size"), dsize, 2) < 0 ||
        parse_doubles(arg(argc, argv, "src_gt"), sgt, 6) < 0 ||
        parse_doubles(arg(argc, argv, "dst_gt"), dgt, 6) < 0)
        return fail("bad or missing arguments (see the source)", NULL);
    enum lc__warp_method method = LC_WARP_NEAREST;
    const char *m = arg(argc, argv, "method");
    if (m != NULL && lc__warp_method_parse(m, &method) < 0)
        return fail("unknown method", m);
    if (!(ssize[0] >= 1 && ssize[1] >= 1 && dsize[0] >= 1 && dsize[1] >= 1 &&
          ssize[0] * ssize[1] < 1e9 && dsize[0] * dsize[1] < 1e9))
        return fail("bad sizes", NULL);

    struct lc__approx_options opts = {0};
    const char *s;
    if ((s = arg(argc, argv, "exact")) != NULL)
        opts.exact = strcmp(s, "1") == 0;
    if ((s = arg(argc, argv, "max_error")) != NULL)
        opts.max_error = strtod(s, NULL);
    if ((s = arg(argc, argv, "max_cell")) != NULL)
        opts.max_cell = (uint32_t)strtoul(s, NULL, 10);

    struct lc__warp_src src = {0};
    src.dtype = dtype;
    src.width = (uint32_t)ssize[0];
    src.height = (uint32_t)ssize[1];
    if ((s = arg(argc, argv, "nodata")) != NULL) {
        src.has_nodata = true;
        src.nodata = strtod(s, NULL);
    }
    size_t vnb = lc_dtype_nbytes(dtype);
    size_t src_nbytes = (size_t)src.width * src.height * vnb;
    void *src_data = read_file(src_path, src_nbytes);
    if (src_data == NULL)
        return fail("cannot read", src_path);
    src.data = src_data;

    struct lc__grid g;
    memcpy(g.gt, dgt, sizeof(dgt));
    g.width = (uint32_t)dsize[0];
    g.height = (uint32_t)dsize[1];
    size_t npix = (size_t)g.width * g.height;
    void *out = malloc(npix * vnb);
    uint8_t *valid = malloc(npix);

    int rc = 1;
    struct lc__errbuf err = {0};
    struct lc__crs *sc = NULL, *dc = NULL;
    struct lc__transform *tf = NULL;
    struct lc__srcmap *map = NULL;
    if (out == NULL || valid == NULL) {
        fail("out of memory", NULL);
        goto done;
    }
    if (lc__crs_new(src_crs, NULL, &sc, &err) < 0 ||
        lc__crs_new(dst_crs, NULL, &dc, &err) < 0 ||
        lc__transform_get(dc, sc, &tf, &err) < 0 ||
        lc__srcmap_new(tf, &g, sgt, 0, 0, &opts, NULL, &map, &err) < 0) {
        fail("setting up", err.msg);
        goto done;
    }
    struct lc__warp_dst dst = {0};
    dst.data = out;
    dst.data_nbytes = npix * vnb;
    dst.valid = valid;
    if ((s = arg(argc, argv, "fill")) != NULL)
        dst.fill = strtod(s, NULL);
    if (lc__warp(map, &src, method, &dst, NULL, &err) < 0) {
        fail("warping", err.msg);
        goto done;
    }
    if (write_file(out_path, out, npix * vnb) < 0 ||
        (valid_path != NULL && write_file(valid_path, valid, npix) < 0)) {
        fail("cannot write", out_path);
        goto done;
    }
    struct lc__srcmap_stats st;
    lc__srcmap_get_stats(map, &st);
    printf("kind=%d transformed=%zu cells=%zu\n", st.kind, st.ntransformed,
           st.ncells);
    rc = 0;
done:
    lc__srcmap_free(map);
    lc__transform_release(tf);
    lc__crs_free(sc);
    lc__crs_free(dc);
    lc__geo_thread_cleanup();
    free(out);
    free(valid);
    free(src_data);
    return rc;
}
