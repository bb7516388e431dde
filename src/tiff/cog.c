/* cog.c - the public COG reader: open, describe, read windows of any level. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/alloc.h"
#include "../common/par.h"
#include "tiff.h"
#include "tiff_internal.h"

/*
 * A window read, block by block:
 *
 *   window -> blocks it touches (per sample plane when planar-separate)
 *          -> their offsets/byte counts (loaded on demand)
 *          -> batched range reads: every block row at once, up to
 *             LC__COG_BATCH_NBYTES compressed bytes a batch
 *          -> decode each block into the worker's scratch (codec module)
 *          -> copy the overlap into the caller's (sample, row, col) buffer
 *
 * Empty blocks (offset or byte count 0) are filled with nodata, or 0, as
 * GDAL does.
 *
 * Several threads may read one handle at once (tiff_internal.h lists what
 * is guarded how): each call reports into its own error buffer and decodes
 * with a worker (codec context + decoded-block buffer) taken from the
 * handle's pool and given back when it ends.
 */

static const struct lc_cog_options default_options = {
    .struct_size = sizeof(struct lc_cog_options),
};

#define DEFAULT_PREFIX_NBYTES 65536
#define DEFAULT_MAX_IFDS 256
#define DEFAULT_MAX_BLOCK_NBYTES (256u << 20)
#define DEFAULT_MAX_TAG_NBYTES (64u << 20)

/* Idle workers a handle keeps; while more threads decode at once, more
 * exist, and those beyond this are freed when their block is done. */
#define MAX_IDLE_WORKERS 8

/* The array dtype of an image's samples, or an error for what we do not
 * read (1-bit data, complex numbers, odd bit depths). */
static int image_dtype(struct lc_cog *cog, const struct lc__image *img,
                       enum lc_dtype *dtype_ret)
{
    unsigned bits = img->bits_per_sample;
    unsigned fmt = img->sample_format;
    enum lc_dtype d = LC_DTYPE_UNKNOWN;

    if (fmt == 1 || fmt == 4) {
        d = bits == 8    ? LC_DTYPE_UINT8
            : bits == 16 ? LC_DTYPE_UINT16
            : bits == 32 ? LC_DTYPE_UINT32
            : bits == 64 ? LC_DTYPE_UINT64
                         : LC_DTYPE_UNKNOWN;
    } else if (fmt == 2) {
        d = bits == 8    ? LC_DTYPE_INT8
            : bits == 16 ? LC_DTYPE_INT16
            : bits == 32 ? LC_DTYPE_INT32
            : bits == 64 ? LC_DTYPE_INT64
                         : LC_DTYPE_UNKNOWN;
    } else if (fmt == 3) {
        /* float16 files are read as float32, as GDAL does. */
        d = (bits == 16 || bits == 32) ? LC_DTYPE_FLOAT32
            : bits == 64               ? LC_DTYPE_FLOAT64
                                       : LC_DTYPE_UNKNOWN;
    } else if (fmt == 5 || fmt == 6) {
        return lc__error(&cog->open_err, LC_EUNSUPPORTED,
                         "%s: complex samples (SampleFormat %u) are not "
                         "supported",
                         lc__io_name(cog->io), fmt);
    }
    if (d == LC_DTYPE_UNKNOWN)
        return lc__error(&cog->open_err, LC_EUNSUPPORTED,
                         "%s: %u-bit samples of SampleFormat %u are not "
                         "supported",
                         lc__io_name(cog->io), bits, fmt);
    *dtype_ret = d;
    return LC_OK;
}

static int check_options(const struct lc_cog_options *in,
                         struct lc_cog_options *out, struct lc__errbuf *err)
{
    if (in == NULL)
        in = &default_options;
    LC_RETURN_IF(in->struct_size != sizeof(*in), err, LC_EINVAL,
                 "lc_cog_options: struct_size %zu, expected %zu",
                 in->struct_size, sizeof(*in));
    *out = *in;
    if (out->prefix_nbytes == 0)
        out->prefix_nbytes = DEFAULT_PREFIX_NBYTES;
    if (out->prefix_nbytes < 16)
        out->prefix_nbytes = 16;
    if (out->max_ifds == 0)
        out->max_ifds = DEFAULT_MAX_IFDS;
    if (out->max_block_nbytes == 0)
        out->max_block_nbytes = DEFAULT_MAX_BLOCK_NBYTES;
    if (out->max_tag_nbytes == 0)
        out->max_tag_nbytes = DEFAULT_MAX_TAG_NBYTES;
    return LC_OK;
}

/* Opens over an io source that the new handle owns from now on. */
static int open_on_io(struct lc__io *io, const struct lc_cog_options *opts,
                      struct lc_cog **cog_ret, struct lc__errbuf *err)
{
    struct lc_cog *cog = lc__calloc(&opts->allocator, 1, sizeof(*cog));

    if (cog == NULL) {
        lc__io_close(io);
        return lc__error(err, LC_ENOMEM, "out of memory");
    }
    if (pthread_mutex_init(&cog->index_mu, NULL) != 0) {
        lc__free(&opts->allocator, cog);
        lc__io_close(io);
        return lc__error(err, LC_ENOMEM, "cannot create a mutex");
    }
    if (pthread_mutex_init(&cog->pool_mu, NULL) != 0) {
        pthread_mutex_destroy(&cog->index_mu);
        lc__free(&opts->allocator, cog);
        lc__io_close(io);
        return lc__error(err, LC_ENOMEM, "cannot create a mutex");
    }
    cog->alloc = opts->allocator;
    cog->opts = *opts;
    cog->io = io;
    cog->block_cache_id = lc__block_cache_new_id();

    /* The first read fetches the prefix; a remote source learns the
     * object's size from that answer, so the size is asked for after. */
    int status = LC_OK;
    size_t want = opts->prefix_nbytes;
    cog->head = lc__malloc(&cog->alloc, want);
    if (cog->head == NULL) {
        status = lc__error(&cog->open_err, LC_ENOMEM, "out of memory");
        goto fail;
    }
    struct lc_range_request req = {
        .offset = 0, .nbytes = want, .buf = cog->head};
    status = lc__io_read(io, &req, 1, true, &cog->open_err);
    if (status < 0)
        goto fail;
    cog->head_nbytes = req.nread;
    uint64_t size = 0;
    if (lc__io_size(io, &size, &cog->open_err) == LC_OK)
        cog->file_nbytes = size;
    else if (cog->head_nbytes < want)
        cog->file_nbytes = cog->head_nbytes; /* the prefix was all of it */
    lc__error_clear(&cog->open_err);
    status = lc__tiff_parse(cog);
    if (status < 0)
        goto fail;
    status = image_dtype(cog, &cog->levels[0], &cog->dtype);
    if (status < 0)
        goto fail;
    /* Pixels of a float32 file can only equal the float32 nearest to the
     * nodata text, so that is the nodata value (GDAL reports it so too). */
    if (cog->has_nodata && cog->dtype == LC_DTYPE_FLOAT32 &&
        isfinite(cog->nodata) && fabs(cog->nodata) <= FLT_MAX)
        cog->nodata = (float)cog->nodata;
    *cog_ret = cog;
    return LC_OK;
fail:
    *err = cog->open_err;
    lc_cog_close(cog);
    return status;
}

int lc__cog_open(const char *href, const struct lc_cog_options *opts,
                 struct lc_cog **cog_ret, struct lc__errbuf *err)
{
    struct lc_cog_options o;
    struct lc__io *io;

    *cog_ret = NULL;
    LC_FORWARD_IF_ERROR(check_options(opts, &o, err));
    LC_FORWARD_IF_ERROR(
        lc__io_open_href(href, o.store, &o.allocator, &io, err));
    return open_on_io(io, &o, cog_ret, err);
}

int lc_cog_open_ex(const char *href, const struct lc_cog_options *opts,
                   struct lc_cog **cog_ret)
{
    struct lc__errbuf err = {0};

    if (cog_ret == NULL)
        return lc__publish(NULL, LC_EINVAL);
    return lc__publish(&err, lc__cog_open(href, opts, cog_ret, &err));
}

int lc_cog_open(const char *href, struct lc_cog **cog_ret)
{
    return lc_cog_open_ex(href, NULL, cog_ret);
}

int lc_cog_open_io(const struct lc_io_methods *methods, void *opaque,
                   const char *name, const struct lc_cog_options *opts,
                   struct lc_cog **cog_ret)
{
    struct lc__errbuf err = {0};
    struct lc_cog_options o;
    struct lc__io *io;

    /* The contract: a failed call closes the caller's source. */
    int status = cog_ret == NULL ? LC_EINVAL : LC_OK;
    if (cog_ret != NULL)
        *cog_ret = NULL;
    if (status == LC_OK)
        status = check_options(opts, &o, &err);
    if (status < 0) {
        if (methods != NULL && methods->close != NULL)
            methods->close(opaque);
        return lc__publish(&err, status);
    }
    status =
        lc__io_open_methods(methods, opaque, name, &o.allocator, &io, &err);
    if (status == LC_OK)
        status = open_on_io(io, &o, cog_ret, &err);
    return lc__publish(&err, status);
}

/* Frees a worker; NULL does nothing. */
static void worker_free(struct lc_cog *cog, struct lc__cog_worker *w)
{
    if (w == NULL)
        return;
    lc__codec_ctx_free(w->codec);
    lc__free(&cog->alloc, w->scratch);
    lc__free(&cog->alloc, w);
}

void lc__cog_trim(struct lc_cog *cog)
{
    pthread_mutex_lock(&cog->pool_mu);
    struct lc__cog_worker *w = cog->pool;
    cog->pool = NULL;
    cog->npool = 0;
    pthread_mutex_unlock(&cog->pool_mu);
    while (w != NULL) {
        struct lc__cog_worker *next = w->next;
        worker_free(cog, w);
        w = next;
    }
}

size_t lc__cog_nbytes(const struct lc_cog *cog)
{
    size_t n = sizeof(*cog) + cog->opts.prefix_nbytes;
    size_t nimages = cog->nlevels + cog->nmasks;

    n += nimages * sizeof(struct lc__image);
    for (size_t i = 0; i < nimages; i++) {
        const struct lc__image *img =
            i < cog->nlevels ? &cog->levels[i] : &cog->masks[i - cog->nlevels];
        /* Each of the two indexes: 8 bytes of value and 1 of flag per
         * block, allocated whole at open whatever is loaded. */
        n += 2 * (size_t)img->nblocks * 9 + img->jpeg_tables_nbytes;
    }
    return n;
}

void lc_cog_close(struct lc_cog *cog)
{
    if (cog == NULL)
        return;
    for (size_t i = 0; i < cog->nlevels; i++)
        lc__image_free(cog, &cog->levels[i]);
    for (size_t i = 0; i < cog->nmasks; i++)
        lc__image_free(cog, &cog->masks[i]);
    lc__free(&cog->alloc, cog->levels);
    lc__free(&cog->alloc, cog->masks);
    lc__free(&cog->alloc, cog->head);
    lc__cog_trim(cog);
    lc__block_cache_forget(cog->block_cache_id);
    pthread_mutex_destroy(&cog->pool_mu);
    pthread_mutex_destroy(&cog->index_mu);
    lc__io_close(cog->io);
    struct lc_allocator alloc = cog->alloc;
    lc__free(&alloc, cog);
}

int lc_cog_get_info(const struct lc_cog *cog, struct lc_cog_info *info)
{
    if (cog == NULL || info == NULL || info->struct_size != sizeof(*info))
        return lc__publish(NULL, LC_EINVAL);
    const struct lc__image *img = &cog->levels[0];
    memset(info, 0, sizeof(*info));
    info->struct_size = sizeof(*info);
    info->width = img->width;
    info->height = img->height;
    info->block_width = img->block_width;
    info->block_height = img->block_height;
    info->samples = img->samples;
    info->dtype = cog->dtype;
    info->bits_per_sample = img->bits_per_sample;
    info->compression = img->compression;
    info->predictor = img->predictor;
    info->photometric = img->photometric;
    info->planar_separate = img->planar_separate;
    info->tiled = img->tiled;
    info->bigtiff = cog->bigtiff;
    info->big_endian = cog->big_endian;
    info->nlevels = cog->nlevels;
    info->has_mask = img->mask != NULL;
    info->georef = cog->georef;
    memcpy(info->geotransform, cog->geotransform, sizeof(info->geotransform));
    info->rotated = cog->rotated;
    info->crs = cog->crs.definition;
    info->epsg = cog->crs.epsg;
    info->pixel_is_point = cog->crs.raster_type == LC_RASTER_PIXEL_IS_POINT;
    info->has_nodata = cog->has_nodata;
    info->nodata = cog->nodata;
    info->scale = cog->scale;
    info->offset = cog->offset;
    info->file_nbytes = cog->file_nbytes;
    lc__io_stats(cog->io, &info->nrequests, &info->nbytes_read);
    struct lc_io_stats net;
    lc__io_get_net_stats(cog->io, &net);
    info->http_requests = net.requests;
    info->http_retries = net.retries;
    info->coalesced_ranges = net.coalesced_ranges;
    info->wait_s = net.wait_s;
    return LC_OK;
}

int lc_cog_get_level(const struct lc_cog *cog, size_t level,
                     struct lc_cog_level *out)
{
    if (cog == NULL || out == NULL || out->struct_size != sizeof(*out) ||
        level >= cog->nlevels)
        return lc__publish(NULL, LC_EINVAL);
    const struct lc__image *full = &cog->levels[0];
    const struct lc__image *img = &cog->levels[level];
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);
    out->width = img->width;
    out->height = img->height;
    out->block_width = img->block_width;
    out->block_height = img->block_height;
    out->has_mask = img->mask != NULL;
    /* An overview covers the same extent with fewer, larger pixels. */
    double sx = (double)full->width / img->width;
    double sy = (double)full->height / img->height;
    const double *gt = cog->geotransform;
    out->geotransform[0] = gt[0];
    out->geotransform[1] = gt[1] * sx;
    out->geotransform[2] = gt[2] * sy;
    out->geotransform[3] = gt[3];
    out->geotransform[4] = gt[4] * sx;
    out->geotransform[5] = gt[5] * sy;
    return LC_OK;
}

/* ---- reading --------------------------------------------------------------
 */

/* Writes the fill value (nodata if it fits the dtype, else 0) n times. */
static void fill_value(enum lc_dtype dtype, bool has_nodata, double nodata,
                       uint8_t *dst, size_t n)
{
    size_t unit = lc_dtype_nbytes(dtype);
    uint8_t v[8] = {0};

    if (has_nodata && !isnan(nodata)) {
        switch (dtype) {
#define FILL_CASE(tag, type, lo, hi)                                           \
    case tag:                                                                  \
        if (nodata >= (lo) && nodata <= (hi)) {                                \
            type x = (type)nodata;                                             \
            memcpy(v, &x, sizeof(x));                                          \
        }                                                                      \
        break;
            FILL_CASE(LC_DTYPE_UINT8, uint8_t, 0, UINT8_MAX)
            FILL_CASE(LC_DTYPE_INT8, int8_t, INT8_MIN, INT8_MAX)
            FILL_CASE(LC_DTYPE_UINT16, uint16_t, 0, UINT16_MAX)
            FILL_CASE(LC_DTYPE_INT16, int16_t, INT16_MIN, INT16_MAX)
            FILL_CASE(LC_DTYPE_UINT32, uint32_t, 0, UINT32_MAX)
            FILL_CASE(LC_DTYPE_INT32, int32_t, INT32_MIN, INT32_MAX)
            FILL_CASE(LC_DTYPE_UINT64, uint64_t, 0, 18446744073709549568.0)
            FILL_CASE(LC_DTYPE_INT64, int64_t, -9223372036854775808.0,
                      9223372036854774784.0)
            FILL_CASE(LC_DTYPE_FLOAT32, float, -INFINITY, INFINITY)
            FILL_CASE(LC_DTYPE_FLOAT64, double, -INFINITY, INFINITY)
#undef FILL_CASE
        case LC_DTYPE_UNKNOWN:
            break;
        }
    } else if (has_nodata && (dtype == LC_DTYPE_FLOAT32)) {
        float x = NAN;
        memcpy(v, &x, sizeof(x));
    } else if (has_nodata && (dtype == LC_DTYPE_FLOAT64)) {
        double x = NAN;
        memcpy(v, &x, sizeof(x));
    }
    for (size_t i = 0; i < n; i++)
        memcpy(dst + i * unit, v, unit);
}

/* What one read asks for, shared by the data and mask paths. */
struct read_job {
    struct lc__image *img;
    const struct lc_window *win;
    enum lc_dtype dtype; /* of the output */
    bool is_mask;
    const uint32_t *samples; /* output sample k reads file sample samples[k] */
    size_t nsamples;
    uint8_t *out;                   /* NULL until lazy gives it */
    const struct lc__cog_out *lazy; /* or NULL */
    size_t row_nbytes;              /* from one output row to the next */
    size_t plane_nbytes;    /* from one output sample's rows to the next's */
    struct lc__errbuf *err; /* the call's own */
};

/* The format of block (bx, by) of img, as the codec needs it. */
static void block_format(const struct lc_cog *cog, const struct lc__image *img,
                         uint32_t by, bool is_mask, struct lc__block_format *f)
{
    memset(f, 0, sizeof(*f));
    f->compression = img->compression;
    f->predictor = img->predictor;
    f->photometric = img->photometric;
    f->bits_per_sample = img->bits_per_sample;
    f->sample_format = img->sample_format;
    f->samples = img->planar_separate ? 1 : img->samples;
    f->width = img->block_width;
    f->height = img->block_height;
    /* The last strip holds only the rows that remain; tiles are whole. */
    if (!img->tiled && (uint64_t)(by + 1) * img->block_height > img->height)
        f->height = img->height - by * img->block_height;
    f->big_endian = cog->big_endian;
    f->jpeg_tables = img->jpeg_tables;
    f->jpeg_tables_nbytes = img->jpeg_tables_nbytes;
    f->lerc_version = img->lerc_version;
    f->lerc_wrap = img->lerc_wrap;
    if (is_mask) {
        /* A 1-bit mask decodes as bytes of 8 packed pixels per row. */
        f->bits_per_sample = 8;
        f->sample_format = 1;
        f->width = (img->block_width + 7) / 8;
    }
}

/* Copies the part of one decoded block that overlaps the window. */
static void copy_block(const struct lc_cog *cog, const struct read_job *job,
                       const uint8_t *block, const struct lc__block_format *f,
                       uint32_t bx, uint32_t by, uint32_t plane)
{
    const struct lc__image *img = job->img;
    const struct lc_window *w = job->win;
    size_t unit = lc_dtype_nbytes(job->dtype);
    size_t src_unit = img->bits_per_sample / 8;
    uint32_t x0 = bx * img->block_width, y0 = by * img->block_height;
    uint32_t cx0 = x0 > w->col_off ? x0 : w->col_off;
    uint32_t cy0 = y0 > w->row_off ? y0 : w->row_off;
    uint64_t bx1 = (uint64_t)x0 + img->block_width;
    uint64_t by1 = (uint64_t)y0 + f->height;
    uint64_t wx1 = (uint64_t)w->col_off + w->width;
    uint64_t wy1 = (uint64_t)w->row_off + w->height;
    uint32_t cx1 = (uint32_t)(bx1 < wx1 ? bx1 : wx1);
    uint32_t cy1 = (uint32_t)(by1 < wy1 ? by1 : wy1);
    bool half = cog->dtype == LC_DTYPE_FLOAT32 && img->bits_per_sample == 16;

    (void)cog;
    for (size_t k = 0; k < job->nsamples; k++) {
        uint32_t s = job->is_mask ? 0 : job->samples[k];
        if (img->planar_separate && s != plane)
            continue;
        uint32_t s_in_block = img->planar_separate ? 0 : s;
        uint8_t *plane_out = job->out + k * job->plane_nbytes;
        for (uint32_t y = cy0; y < cy1; y++) {
            uint8_t *dst = plane_out +
                           (size_t)(y - w->row_off) * job->row_nbytes +
                           (size_t)(cx0 - w->col_off) * unit;
            size_t row = (size_t)(y - y0);
            if (job->is_mask) {
                const uint8_t *src = block + row * f->width;
                for (uint32_t x = cx0; x < cx1; x++) {
                    uint32_t bit = x - x0;
                    dst[x - cx0] =
                        (src[bit >> 3] >> (7 - (bit & 7))) & 1 ? 255 : 0;
                }
                continue;
            }
            const uint8_t *src =
                block + ((row * img->block_width + (cx0 - x0)) * f->samples +
                         s_in_block) *
                            src_unit;
            size_t n = cx1 - cx0;
            if (half) {
                for (size_t i = 0; i < n; i++) {
                    uint16_t h;
                    memcpy(&h, src + i * f->samples * 2, 2);
                    lc__half_to_float(&h, (float *)(void *)(dst + i * 4), 1);
                }
            } else if (f->samples == 1) {
                memcpy(dst, src, n * unit);
            } else {
                for (size_t i = 0; i < n; i++)
                    memcpy(dst + i * unit, src + i * f->samples * unit, unit);
            }
        }
    }
}

/* Fills the overlap of an empty block with the fill value. */
static void fill_block(const struct lc_cog *cog, const struct read_job *job,
                       const struct lc__block_format *f, uint32_t bx,
                       uint32_t by, uint32_t plane)
{
    const struct lc__image *img = job->img;
    const struct lc_window *w = job->win;
    size_t unit = lc_dtype_nbytes(job->dtype);
    uint32_t x0 = bx * img->block_width, y0 = by * img->block_height;
    uint32_t cx0 = x0 > w->col_off ? x0 : w->col_off;
    uint32_t cy0 = y0 > w->row_off ? y0 : w->row_off;
    uint64_t ex = (uint64_t)x0 + img->block_width;
    uint64_t ey = (uint64_t)y0 + f->height;
    uint64_t wx1 = (uint64_t)w->col_off + w->width;
    uint64_t wy1 = (uint64_t)w->row_off + w->height;
    uint32_t cx1 = (uint32_t)(ex < wx1 ? ex : wx1);
    uint32_t cy1 = (uint32_t)(ey < wy1 ? ey : wy1);

    for (size_t k = 0; k < job->nsamples; k++) {
        uint32_t s = job->is_mask ? 0 : job->samples[k];
        if (img->planar_separate && !job->is_mask && s != plane)
            continue;
        uint8_t *plane_out = job->out + k * job->plane_nbytes;
        for (uint32_t y = cy0; y < cy1; y++) {
            uint8_t *dst = plane_out +
                           (size_t)(y - w->row_off) * job->row_nbytes +
                           (size_t)(cx0 - w->col_off) * unit;
            if (job->is_mask)
                memset(dst, 0, cx1 - cx0);
            else
                fill_value(job->dtype, cog->has_nodata, cog->nodata, dst,
                           cx1 - cx0);
        }
    }
}

/* Takes an idle worker from the pool, or makes a new one. */
static int worker_take(struct lc_cog *cog, struct lc__cog_worker **w_ret,
                       struct lc__errbuf *err)
{
    pthread_mutex_lock(&cog->pool_mu);
    struct lc__cog_worker *w = cog->pool;
    if (w != NULL) {
        cog->pool = w->next;
        cog->npool--;
    }
    pthread_mutex_unlock(&cog->pool_mu);
    if (w == NULL) {
        w = lc__calloc(&cog->alloc, 1, sizeof(*w));
        if (w == NULL || lc__codec_ctx_new(&cog->alloc, &w->codec) < 0) {
            lc__free(&cog->alloc, w);
            return lc__error(err, LC_ENOMEM, "%s: out of memory",
                             lc__io_name(cog->io));
        }
    }
    w->next = NULL;
    *w_ret = w;
    return LC_OK;
}

/* Gives a worker back to the pool, or frees it when the pool is full. */
static void worker_give(struct lc_cog *cog, struct lc__cog_worker *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&cog->pool_mu);
    bool keep = cog->npool < MAX_IDLE_WORKERS;
    if (keep) {
        w->next = cog->pool;
        cog->pool = w;
        cog->npool++;
    }
    pthread_mutex_unlock(&cog->pool_mu);
    if (!keep)
        worker_free(cog, w);
}

static int ensure_scratch(struct lc_cog *cog, struct lc__cog_worker *w,
                          size_t nbytes, struct lc__errbuf *err)
{
    if (w->scratch_nbytes >= nbytes)
        return LC_OK;
    uint8_t *p = lc__malloc(&cog->alloc, nbytes);
    if (p == NULL)
        return lc__error(err, LC_ENOMEM, "%s: out of memory",
                         lc__io_name(cog->io));
    lc__free(&cog->alloc, w->scratch);
    w->scratch = p;
    w->scratch_nbytes = nbytes;
    return LC_OK;
}

/* Puts the file name in front of a message from a module that does not
 * know it (the codecs), and returns status. */
static int prefix_error(const struct lc_cog *cog, int status,
                        struct lc__errbuf *err)
{
    char msg[LC_ERRMSG_CAP];

    snprintf(msg, sizeof(msg), "%s", err->msg);
    return lc__error(err, status, "%s: %s", lc__io_name(cog->io), msg);
}

/* Reads the requests pointed to by fetch (scattered in memory) as one
 * batch. */
static int read_scattered(struct lc_cog *cog,
                          struct lc_range_request *const *fetch, size_t n,
                          struct lc__errbuf *err)
{
    struct lc_range_request *batch = lc__calloc(&cog->alloc, n, sizeof(*batch));

    if (batch == NULL)
        return lc__error(err, LC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        batch[i] = *fetch[i];
    int status = lc__io_read(cog->io, batch, n, false, err);
    for (size_t i = 0; i < n; i++)
        fetch[i]->nread = batch[i].nread;
    lc__free(&cog->alloc, batch);
    return status;
}

/* One row of blocks of one plane, in a batch. */
struct block_row {
    uint32_t plane;
    uint32_t by;
};

static uint64_t row_first_block(const struct lc__image *img, uint32_t plane,
                                uint32_t by)
{
    return (uint64_t)plane * img->blocks_across * img->blocks_down +
           (uint64_t)by * img->blocks_across;
}

/* Checks the sizes of the row's blocks before anything is fetched. */
static int check_row(struct lc_cog *cog, const struct read_job *job,
                     const struct block_row *row, uint32_t bx0, uint32_t bx1)
{
    struct lc__image *img = job->img;
    const char *name = lc__io_name(cog->io);
    uint64_t base = row_first_block(img, row->plane, row->by);
    struct lc__block_format f;
    size_t decoded_nbytes;

    block_format(cog, img, row->by, job->is_mask, &f);
    int status = lc__block_nbytes(&f, &decoded_nbytes, job->err);
    if (status < 0)
        return prefix_error(cog, status, job->err);
    LC_RETURN_IF(decoded_nbytes > cog->opts.max_block_nbytes, job->err,
                 LC_ELIMIT,
                 "%s: a block decodes to %zu bytes, over max_block_nbytes "
                 "(%zu)" LC__COG_RAISE_HINT("max_block_nbytes"),
                 name, decoded_nbytes, cog->opts.max_block_nbytes);
    for (uint32_t bx = bx0; bx <= bx1; bx++) {
        uint64_t off = img->offsets.values[base + bx];
        uint64_t cnt = img->counts.values[base + bx];
        if (off == 0 || cnt == 0)
            continue;
        LC_RETURN_IF(cnt > cog->opts.max_block_nbytes, job->err, LC_ELIMIT,
                     "%s: block %" PRIu64 " has %" PRIu64
                     " bytes, over max_block_nbytes (%zu)" LC__COG_RAISE_HINT(
                         "max_block_nbytes"),
                     name, base + bx, cnt, cog->opts.max_block_nbytes);
        LC_RETURN_IF(cog->file_nbytes != 0 && (off > cog->file_nbytes ||
                                               cnt > cog->file_nbytes - off),
                     job->err, LC_ECORRUPT,
                     "%s: block %" PRIu64 " (offset %" PRIu64 ", %" PRIu64
                     " bytes) lies past the end of the file (%" PRIu64
                     " bytes)",
                     name, base + bx, off, cnt, cog->file_nbytes);
    }
    return LC_OK;
}

/* Where a block of a batch comes from. */
enum block_source {
    BLOCK_EMPTY,    /* no bytes in the file: the fill */
    BLOCK_AT_HAND,  /* in the prefix fetched at open, or kept in the cache */
    BLOCK_CLAIMED,  /* fetched here, and other reads may wait for it */
    BLOCK_FETCHED,  /* fetched here, not shared (the cache would not keep it) */
    BLOCK_AWAITED,  /* another read is fetching it (fetched here if it fails) */
    BLOCK_RECEIVED, /* kept by the read that fetched it, copied */
};

struct batch_block {
    struct lc_range_request req;
    const struct block_row *row;
    uint32_t bx;
    enum block_source source;
    bool claim_open; /* claimed and not yet fulfilled or abandoned */
};

/* The level whose image (or mask) img is, for messages. */
static size_t level_of(const struct lc_cog *cog, const struct lc__image *img)
{
    for (size_t i = 0; i < cog->nlevels; i++)
        if (&cog->levels[i] == img || cog->levels[i].mask == img)
            return i;
    return 0;
}

/* Decodes one block of the batch (or fills an empty one) into the
 * window, with worker w's codec and scratch. */
static int decode_block(struct lc_cog *cog, const struct read_job *job,
                        struct lc__cog_worker *w, const struct batch_block *b,
                        struct lc__errbuf *err)
{
    struct lc__block_format f;
    size_t decoded_nbytes;
    block_format(cog, job->img, b->row->by, job->is_mask, &f);
    if (b->source == BLOCK_EMPTY) {
        fill_block(cog, job, &f, b->bx, b->row->by, b->row->plane);
        return LC_OK;
    }
    int status = lc__block_nbytes(&f, &decoded_nbytes, err);
    if (status == LC_OK)
        status = ensure_scratch(cog, w, decoded_nbytes, err);
    if (status == LC_OK)
        status = lc__block_decode(w->codec, &f, b->req.buf, b->req.nbytes,
                                  w->scratch, decoded_nbytes, err);
    if (status < 0) {
        /* Which block: a corrupt file is often corrupt in one place. */
        char msg[LC_ERRMSG_CAP];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return lc__error(err, status, "%s: %sblock (%u, %u) of level %zu: %s",
                         lc__io_name(cog->io), job->is_mask ? "mask " : "",
                         b->bx, b->row->by, level_of(cog, job->img), msg);
    }
    copy_block(cog, job, w->scratch, &f, b->bx, b->row->by, b->row->plane);
    return LC_OK;
}

/* Blocks of a batch decoded by lc__par_for: on whichever threads the
 * caller's hook lends, each with a worker (codec and scratch) of its own
 * from the COG's pool. First the blocks at hand (awaited false), then
 * those another read fetched or that were fetched after waiting for them
 * in vain (awaited true). The error reported is the one of the first
 * failing block in batch order, as a loop would report. */
struct decode_batch {
    struct lc_cog *cog;
    const struct read_job *job;
    struct batch_block *blocks;
    bool awaited;
    pthread_mutex_t mu;
    size_t failed; /* the first failing block, SIZE_MAX: none */
    int status;
};

static void decode_one(void *ctx, size_t i)
{
    struct decode_batch *d = ctx;
    struct batch_block *b = &d->blocks[i];
    bool awaited = b->source == BLOCK_AWAITED || b->source == BLOCK_RECEIVED;
    if (awaited != d->awaited)
        return;
    struct lc__errbuf err = {0};
    struct lc__cog_worker *w = NULL;
    int status = worker_take(d->cog, &w, &err);
    if (status == LC_OK)
        status = decode_block(d->cog, d->job, w, b, &err);
    worker_give(d->cog, w);
    /* A claimed block goes to the cache once it decoded (a block spoilt on
     * the way is fetched again by the next read, not served from the
     * cache). */
    if (status == LC_OK && b->claim_open) {
        b->claim_open = false;
        if (lc__block_cache_fulfil(d->cog->block_cache_id, b->req.offset,
                                   b->req.buf, b->req.nbytes))
            b->req.buf = NULL; /* the cache's now */
    }
    if (status < 0) {
        pthread_mutex_lock(&d->mu);
        if (i < d->failed) {
            d->failed = i;
            d->status = status;
            *d->job->err = err;
        }
        pthread_mutex_unlock(&d->mu);
    }
}

/* Decodes the blocks of blocks[0 .. n) of one pass (decode_batch). */
static int decode_blocks(struct lc_cog *cog, const struct read_job *job,
                         struct batch_block *blocks, size_t n, bool awaited)
{
    struct decode_batch d = {.cog = cog,
                             .job = job,
                             .blocks = blocks,
                             .awaited = awaited,
                             .failed = SIZE_MAX,
                             .status = LC_OK};
    if (pthread_mutex_init(&d.mu, NULL) != 0)
        return lc__error(job->err, LC_ENOMEM, "%s: out of memory",
                         lc__io_name(cog->io));
    lc__par_for(n, decode_one, &d);
    pthread_mutex_destroy(&d.mu);
    return d.status;
}

/* Fetches, as one batch, the blocks of blocks[0 .. n) this read fetches
 * (awaited false) or those it waited for in vain (awaited true). */
static int fetch_blocks(struct lc_cog *cog, struct batch_block *blocks,
                        size_t n, bool awaited, struct lc__errbuf *err)
{
    struct lc_range_request **fetch =
        lc__calloc(&cog->alloc, n, sizeof(*fetch));
    if (fetch == NULL)
        return lc__error(err, LC_ENOMEM, "%s: out of memory",
                         lc__io_name(cog->io));
    size_t nfetch = 0;
    for (size_t i = 0; i < n; i++) {
        enum block_source s = blocks[i].source;
        if (awaited ? s == BLOCK_AWAITED
                    : s == BLOCK_CLAIMED || s == BLOCK_FETCHED)
            fetch[nfetch++] = &blocks[i].req;
    }
    int status = nfetch > 0 ? read_scattered(cog, fetch, nfetch, err) : LC_OK;
    lc__free(&cog->alloc, fetch);
    return status;
}

/* Reads the blocks [bx0, bx1] of rows[0 .. nrows) (their index loaded and
 * checked) as one batch of range requests, then decodes and copies them.
 * Blocks inside the prefix fetched at open need no request (small COGs
 * often hold all their tiles there), nor do blocks an earlier read kept in
 * the block cache. Blocks another read is fetching at this moment are
 * waited for, after this read's own are fetched, decoded and handed to
 * the cache (so that no two reads wait for each other). */
static int read_block_rows(struct lc_cog *cog, struct read_job *job,
                           const struct block_row *rows, size_t nrows,
                           uint32_t bx0, uint32_t bx1)
{
    struct lc__image *img = job->img;
    struct lc__errbuf *err = job->err;
    const char *name = lc__io_name(cog->io);
    size_t n;

    LC_RETURN_IF(!lc__size_mul((size_t)(bx1 - bx0) + 1, nrows, &n), err,
                 LC_ELIMIT, "%s: window too large", name);
    struct batch_block *blocks = lc__calloc(&cog->alloc, n, sizeof(*blocks));
    LC_RETURN_IF(blocks == NULL, err, LC_ENOMEM, "%s: out of memory", name);

    int status = LC_OK;
    size_t nblocks = 0, nawaited = 0;
    for (size_t k = 0; k < nrows && status == LC_OK; k++) {
        uint64_t base = row_first_block(img, rows[k].plane, rows[k].by);
        for (uint32_t bx = bx0; bx <= bx1; bx++) {
            struct batch_block *b = &blocks[nblocks++];
            uint64_t off = img->offsets.values[base + bx];
            uint64_t cnt = img->counts.values[base + bx];
            b->row = &rows[k];
            b->bx = bx;
            b->source = BLOCK_EMPTY;
            if (off == 0 || cnt == 0)
                continue;
            b->req.offset = off;
            b->req.nbytes = (size_t)cnt;
            b->req.buf = lc__malloc(&cog->alloc, (size_t)cnt);
            if (b->req.buf == NULL) {
                status = lc__error(err, LC_ENOMEM, "%s: out of memory", name);
                break;
            }
            b->source = BLOCK_AT_HAND;
            if (off + cnt <= cog->head_nbytes) {
                memcpy(b->req.buf, cog->head + off, b->req.nbytes);
                continue;
            }
            switch (lc__block_cache_claim(&cog->alloc, cog->block_cache_id, off,
                                          b->req.nbytes, b->req.buf)) {
            case LC__BLOCK_COPIED:
                break;
            case LC__BLOCK_CLAIMED:
                b->source = BLOCK_CLAIMED;
                b->claim_open = true;
                break;
            case LC__BLOCK_PENDING:
                b->source = BLOCK_AWAITED;
                nawaited++;
                break;
            case LC__BLOCK_MISS:
                b->source = BLOCK_FETCHED;
                break;
            }
        }
    }
    if (status == LC_OK)
        status = fetch_blocks(cog, blocks, nblocks, false, err);
    if (status == LC_OK && job->out == NULL) {
        job->out = job->lazy->get(job->lazy->ctx);
        if (job->out == NULL)
            status = lc__error(err, LC_ENOMEM, "%s: out of memory", name);
    }

    /* This read's blocks first. */
    if (status == LC_OK)
        status = decode_blocks(cog, job, blocks, nblocks, false);
    /* Then the blocks other reads fetched; those not kept after all are
     * fetched here. Waiting for them is waiting on the network: the
     * caller may let another thread compute meanwhile (the reads we wait
     * for may need that to decode). */
    if (status == LC_OK && nawaited > 0) {
        lc__io_wait_begin();
        for (size_t i = 0; i < nblocks; i++) {
            struct batch_block *b = &blocks[i];
            if (b->source == BLOCK_AWAITED &&
                lc__block_cache_wait(cog->block_cache_id, b->req.offset,
                                     b->req.nbytes, b->req.buf))
                b->source = BLOCK_RECEIVED;
        }
        lc__io_wait_end();
    }
    if (status == LC_OK && nawaited > 0)
        status = fetch_blocks(cog, blocks, nblocks, true, err);
    if (status == LC_OK && nawaited > 0)
        status = decode_blocks(cog, job, blocks, nblocks, true);

    for (size_t i = 0; i < nblocks; i++) {
        if (blocks[i].claim_open)
            lc__block_cache_abandon(cog->block_cache_id, blocks[i].req.offset,
                                    blocks[i].req.nbytes);
        lc__free(&cog->alloc, blocks[i].req.buf);
    }
    lc__free(&cog->alloc, blocks);
    return status;
}

/* The block rows of the window's planes, each plane's index loaded in one
 * call (so a lazily indexed image costs one index request, not one per
 * row), fetched in batches of at most LC__COG_BATCH_NBYTES compressed
 * bytes: one round trip for an ordinary window instead of one per row. */
static int run_read(struct lc_cog *cog, struct read_job *job)
{
    struct lc__image *img = job->img;
    const struct lc_window *w = job->win;
    uint32_t bx0 = w->col_off / img->block_width;
    uint32_t bx1 = (w->col_off + w->width - 1) / img->block_width;
    uint32_t by0 = w->row_off / img->block_height;
    uint32_t by1 = (w->row_off + w->height - 1) / img->block_height;
    uint32_t nplanes = img->planar_separate && !job->is_mask ? img->samples : 1;
    size_t nrows_per_plane = (size_t)(by1 - by0) + 1;
    struct block_row *rows =
        lc__malloc_array(&cog->alloc, nrows_per_plane * nplanes, sizeof *rows);

    if (rows == NULL)
        return lc__error(job->err, LC_ENOMEM, "%s: out of memory",
                         lc__io_name(cog->io));
    int status = LC_OK;
    size_t nrows = 0;
    for (uint32_t plane = 0; plane < nplanes && status == LC_OK; plane++) {
        if (img->planar_separate && !job->is_mask) {
            /* Skip planes no output sample asks for. */
            bool wanted = false;
            for (size_t k = 0; k < job->nsamples; k++)
                wanted = wanted || job->samples[k] == plane;
            if (!wanted)
                continue;
        }
        uint64_t first = row_first_block(img, plane, by0) + bx0;
        uint64_t span = row_first_block(img, plane, by1) + bx1 + 1 - first;
        status =
            lc__block_index_load(cog, &img->offsets, first, span, job->err);
        if (status == LC_OK)
            status =
                lc__block_index_load(cog, &img->counts, first, span, job->err);
        for (uint32_t by = by0; by <= by1 && status == LC_OK; by++) {
            rows[nrows] = (struct block_row){plane, by};
            status = check_row(cog, job, &rows[nrows], bx0, bx1);
            nrows++;
        }
    }

    size_t start = 0;
    uint64_t batch_nbytes = 0;
    for (size_t k = 0; k <= nrows && status == LC_OK; k++) {
        uint64_t row_nbytes = 0;
        if (k < nrows) {
            uint64_t base = row_first_block(img, rows[k].plane, rows[k].by);
            for (uint32_t bx = bx0; bx <= bx1; bx++)
                row_nbytes += img->counts.values[base + bx];
        }
        if (k == nrows ||
            lc__cog_batch_full(batch_nbytes, k - start, row_nbytes)) {
            if (k > start)
                status = read_block_rows(cog, job, rows + start, k - start, bx0,
                                         bx1);
            start = k;
            batch_nbytes = 0;
        }
        batch_nbytes += row_nbytes;
    }
    lc__free(&cog->alloc, rows);
    return status;
}

/* Checks a read of nsamples planes of window w of level into out_nbytes
 * bytes, row_nbytes from one output row to the next (0: the window's row,
 * packed); stores the bytes from one plane to the next in *plane_ret. */
static int check_window(const struct lc_cog *cog, size_t level,
                        const struct lc_window *w, size_t nsamples, size_t unit,
                        size_t row_nbytes, size_t out_nbytes, size_t *plane_ret,
                        struct lc__errbuf *err)
{
    const char *name = lc__io_name(cog->io);

    LC_RETURN_IF(level >= cog->nlevels, err, LC_EINVAL,
                 "%s: level %zu does not exist (%zu levels)", name, level,
                 cog->nlevels);
    const struct lc__image *img = &cog->levels[level];
    LC_RETURN_IF(w == NULL || w->width == 0 || w->height == 0 ||
                     (uint64_t)w->col_off + w->width > img->width ||
                     (uint64_t)w->row_off + w->height > img->height,
                 err, LC_EINVAL, "%s: window outside level %zu (%u x %u)", name,
                 level, img->width, img->height);
    size_t packed, rows, need;
    LC_RETURN_IF(!lc__size_mul((size_t)w->width, unit, &packed) ||
                     !lc__size_mul(w->height, nsamples, &rows),
                 err, LC_ELIMIT, "%s: window too large", name);
    if (row_nbytes == 0)
        row_nbytes = packed;
    LC_RETURN_IF(row_nbytes < packed, err, LC_EINVAL,
                 "%s: output rows %zu bytes apart, the window's rows have %zu",
                 name, row_nbytes, packed);
    /* The last row needs only its own bytes. */
    LC_RETURN_IF(!lc__size_mul(rows - 1, row_nbytes, &need) ||
                     !lc__size_add(need, packed, &need) ||
                     !lc__size_mul(w->height, row_nbytes, plane_ret),
                 err, LC_ELIMIT, "%s: window too large", name);
    LC_RETURN_IF(out_nbytes < need, err, LC_ENOSPACE,
                 "%s: output buffer holds %zu bytes, the window needs %zu",
                 name, out_nbytes, need);
    return LC_OK;
}

/* lc_cog_read_window's work, with the output's rows row_nbytes apart (0:
 * packed); publishes the error. */
static int read_window(struct lc_cog *cog, size_t level,
                       const struct lc_window *window, const uint32_t *samples,
                       size_t nsamples, void *out,
                       const struct lc__cog_out *lazy, size_t row_nbytes,
                       size_t out_nbytes)
{
    struct lc__errbuf err = {0};
    uint32_t all[256];

    if (cog == NULL || (out == NULL && (lazy == NULL || lazy->get == NULL)))
        return lc__publish(NULL, LC_EINVAL);
    const struct lc__image *full = &cog->levels[0];
    if (samples == NULL) {
        for (uint32_t i = 0; i < full->samples; i++)
            all[i] = i;
        samples = all;
        nsamples = full->samples;
    }
    int status = LC_OK;
    for (size_t k = 0; k < nsamples && status == LC_OK; k++) {
        if (samples[k] >= full->samples)
            status = lc__error(&err, LC_EINVAL,
                               "%s: sample %u does not exist (%u samples)",
                               lc__io_name(cog->io), samples[k], full->samples);
    }
    if (status == LC_OK && nsamples == 0)
        status = lc__error(&err, LC_EINVAL, "no samples requested");
    size_t unit = lc_dtype_nbytes(cog->dtype), plane_nbytes = 0;
    if (status == LC_OK)
        status = check_window(cog, level, window, nsamples, unit, row_nbytes,
                              out_nbytes, &plane_nbytes, &err);
    if (status == LC_OK) {
        struct read_job job = {
            .img = &cog->levels[level],
            .win = window,
            .dtype = cog->dtype,
            .samples = samples,
            .nsamples = nsamples,
            .out = out,
            .lazy = lazy,
            .row_nbytes = row_nbytes > 0 ? row_nbytes : window->width * unit,
            .plane_nbytes = plane_nbytes,
            .err = &err};
        status = run_read(cog, &job);
    }
    return lc__publish(&err, status);
}

int lc_cog_read_window(struct lc_cog *cog, size_t level,
                       const struct lc_window *window, const uint32_t *samples,
                       size_t nsamples, void *out, size_t out_nbytes)
{
    return read_window(cog, level, window, samples, nsamples, out, NULL, 0,
                       out_nbytes);
}

int lc__cog_read_window_rows(struct lc_cog *cog, size_t level,
                             const struct lc_window *window, uint32_t sample,
                             void *out, size_t row_nbytes, size_t out_nbytes)
{
    return read_window(cog, level, window, &sample, 1, out, NULL, row_nbytes,
                       out_nbytes);
}

int lc__cog_read_window_rows_into(struct lc_cog *cog, size_t level,
                                  const struct lc_window *window,
                                  uint32_t sample,
                                  const struct lc__cog_out *out,
                                  size_t row_nbytes, size_t out_nbytes)
{
    return read_window(cog, level, window, &sample, 1, NULL, out, row_nbytes,
                       out_nbytes);
}

int lc_cog_read_mask(struct lc_cog *cog, size_t level,
                     const struct lc_window *window, uint8_t *out,
                     size_t out_nbytes)
{
    struct lc__errbuf err = {0};

    if (cog == NULL || out == NULL)
        return lc__publish(NULL, LC_EINVAL);
    size_t plane_nbytes = 0;
    int status = check_window(cog, level, window, 1, 1, 0, out_nbytes,
                              &plane_nbytes, &err);
    if (status == LC_OK && cog->levels[level].mask == NULL)
        status = lc__error(&err, LC_ENOTFOUND, "%s: level %zu has no mask",
                           lc__io_name(cog->io), level);
    if (status == LC_OK) {
        struct lc__image *mask = cog->levels[level].mask;
        status =
            mask->bits_per_sample == 1 && mask->samples == 1
                ? LC_OK
                : lc__error(&err, LC_EUNSUPPORTED, "%s: mask of %u-bit samples",
                            lc__io_name(cog->io), mask->bits_per_sample);
        if (status == LC_OK) {
            struct read_job job = {.img = mask,
                                   .win = window,
                                   .dtype = LC_DTYPE_UINT8,
                                   .is_mask = true,
                                   .nsamples = 1,
                                   .out = out,
                                   .row_nbytes = window->width,
                                   .plane_nbytes = plane_nbytes,
                                   .err = &err};
            status = run_read(cog, &job);
        }
    }
    return lc__publish(&err, status);
}
