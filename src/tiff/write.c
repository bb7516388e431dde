/* write.c - a streaming writer of tiled, deflate-compressed GeoTIFFs. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "../common/alloc.h"
#include "../common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <math.h>
#include <proj.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * File layout: the header, then the tiles in the order they were written,
 * then (lc_tiff_writer_finish) the one IFD and the tag values it points to,
 * and last the header's first-IFD offset is patched. The file is written
 * in the host's byte order ("II" or "MM"), so samples are copied as they
 * are. A tile is compressed whole, edge tiles padded with zeros, as
 * libtiff writes them.
 *
 * One write call goes by batches of nthreads tiles: the workers gather,
 * predict and compress one tile each into their own slot, then the caller
 * appends the slots in tile order, so the file does not depend on thread
 * timing and memory stays at nthreads tiles.
 */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BIG_ENDIAN 1
#else
#define HOST_BIG_ENDIAN 0
#endif

/* TIFF tags and field types used here. */
enum {
    TAG_IMAGE_WIDTH = 256,
    TAG_IMAGE_LENGTH = 257,
    TAG_BITS_PER_SAMPLE = 258,
    TAG_COMPRESSION = 259,
    TAG_PHOTOMETRIC = 262,
    TAG_SAMPLES_PER_PIXEL = 277,
    TAG_PLANAR_CONFIG = 284,
    TAG_PREDICTOR = 317,
    TAG_TILE_WIDTH = 322,
    TAG_TILE_LENGTH = 323,
    TAG_TILE_OFFSETS = 324,
    TAG_TILE_BYTE_COUNTS = 325,
    TAG_EXTRA_SAMPLES = 338,
    TAG_SAMPLE_FORMAT = 339,
    TAG_MODEL_PIXEL_SCALE = 33550,
    TAG_MODEL_TIEPOINT = 33922,
    TAG_MODEL_TRANSFORMATION = 34264,
    TAG_GEO_KEY_DIRECTORY = 34735,
    TAG_GDAL_METADATA = 42112,
    TAG_GDAL_NODATA = 42113
};
enum { TYPE_ASCII = 2, TYPE_SHORT = 3, TYPE_LONG = 4, TYPE_DOUBLE = 12 };
enum { TYPE_LONG8 = 16 };

#define MAX_TILE_NBYTES ((size_t)256 << 20)
#define MAX_ENTRIES 24

/* One worker's state: its compressor, its tile buffers. */
struct worker {
    struct libdeflate_compressor *deflate;
    uint8_t *raw;    /* the gathered tile (tile_nbytes) */
    uint8_t *row;    /* a row, for the floating-point predictor */
    uint8_t *packed; /* the compressed tile (bound bytes) */
    size_t packed_nbytes;
};

/* One tile of a batch. */
struct job {
    uint32_t tx, ty, band; /* tile column, row; band (planar only) */
    size_t index;          /* in the TileOffsets array */
    const uint8_t *out;    /* what to append once compressed */
    size_t out_nbytes;
    int status;
};

struct lc_tiff_writer {
    struct lc_allocator alloc;
    char *path;
    int fd;
    bool created; /* the file at path is ours to remove on failure */
    bool finished, failed;
    uint32_t width, height, nbands, tw, th, ntx, nty;
    enum lc_dtype dtype;
    size_t bps;         /* bytes per sample */
    uint16_t spp_block; /* samples in one tile: nbands, or 1 when planar */
    int planar;
    uint16_t compression, predictor, sample_format;
    int level;
    bool bigtiff;
    uint64_t end; /* bytes in the file so far */
    size_t ntiles;
    uint64_t *offsets, *counts;
    double transform[6];
    int has_transform, epsg, model_type, has_nodata;
    double nodata;
    char *metadata; /* GDAL_METADATA XML, or NULL */
    size_t tile_nbytes, bound;
    size_t nworkers;
    struct worker *workers;
    /* The batch being compressed. */
    const uint8_t *data;
    uint32_t data_x0, data_y0, data_w, data_h;
    struct job *jobs;
    size_t njobs;
    atomic_size_t next_job;
};

/* ---- small helpers --------------------------------------------------------
 */

static int io_error(struct lc__errbuf *err, const char *path, const char *what)
{
    int e = errno;
    return lc__error(err, e == ENOENT ? LC_ENOTFOUND : LC_EIO,
                     "%s: cannot %s: %s", path, what, strerror(e));
}

/* Writes all n bytes at offset. */
static int write_at(struct lc_tiff_writer *w, uint64_t offset, const void *p,
                    size_t n, struct lc__errbuf *err)
{
    const uint8_t *b = p;
    while (n > 0) {
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t k = pwrite(w->fd, b, chunk, (off_t)offset);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return io_error(err, w->path, "write");
        }
        b += k;
        n -= (size_t)k;
        offset += (uint64_t)k;
    }
    return LC_OK;
}

/* Appends n bytes at the end of the file; *offset_ret gets where. */
static int append(struct lc_tiff_writer *w, const void *p, size_t n,
                  uint64_t *offset_ret, struct lc__errbuf *err)
{
    *offset_ret = w->end;
    LC_FORWARD_IF_ERROR(write_at(w, w->end, p, n, err));
    w->end += n;
    return LC_OK;
}

/* ---- tile preparation -----------------------------------------------------
 */

/* Copies the tile's pixels out of the caller's (band, y, x) planes,
 * interleaving them by pixel unless planar; pads edge tiles with zeros. */
static void gather(const struct lc_tiff_writer *w, const struct job *j,
                   uint8_t *tile)
{
    size_t bps = w->bps;
    uint32_t cx = j->tx * w->tw - w->data_x0, cy = j->ty * w->th - w->data_y0;
    uint32_t vw = w->data_w - cx < w->tw ? w->data_w - cx : w->tw;
    uint32_t vh = w->data_h - cy < w->th ? w->data_h - cy : w->th;
    size_t plane = (size_t)w->data_w * w->data_h * bps;

    if (vw < w->tw || vh < w->th)
        memset(tile, 0, w->tile_nbytes);
    if (w->planar || w->nbands == 1) {
        const uint8_t *src = w->data + j->band * plane;
        for (uint32_t y = 0; y < vh; y++)
            memcpy(tile + (size_t)y * w->tw * bps,
                   src + ((size_t)(cy + y) * w->data_w + cx) * bps, vw * bps);
        return;
    }
    size_t spp = w->nbands;
    for (uint32_t y = 0; y < vh; y++) {
        uint8_t *dst = tile + (size_t)y * w->tw * spp * bps;
        for (size_t b = 0; b < spp; b++) {
            const uint8_t *src =
                w->data + b * plane + ((size_t)(cy + y) * w->data_w + cx) * bps;
            /* A constant size per case lets memcpy become one move. */
            switch (bps) {
            case 1:
                for (uint32_t x = 0; x < vw; x++)
                    dst[x * spp + b] = src[x];
                break;
            case 2:
                for (uint32_t x = 0; x < vw; x++)
                    memcpy(dst + (x * spp + b) * 2, src + x * 2, 2);
                break;
            case 4:
                for (uint32_t x = 0; x < vw; x++)
                    memcpy(dst + (x * spp + b) * 4, src + x * 4, 4);
                break;
            default:
                for (uint32_t x = 0; x < vw; x++)
                    memcpy(dst + (x * spp + b) * 8, src + x * 8, 8);
                break;
            }
        }
    }
}

/*
 * Horizontal differencing of one row of n samples, s interleaved channels,
 * with unsigned wraparound (libtiff's horDiff): from the end, so each
 * sample loses the original value s samples before it.
 */
#define DEFINE_HOR_DIFF(bits)                                                  \
    static void hor_diff##bits(uint8_t *row, size_t n, size_t s)               \
    {                                                                          \
        const size_t sz = (bits) / 8;                                          \
        for (size_t i = n; i-- > s;) {                                         \
            uint##bits##_t a, b;                                               \
            memcpy(&a, row + (i - s) * sz, sz);                                \
            memcpy(&b, row + i * sz, sz);                                      \
            b = (uint##bits##_t)(b - a);                                       \
            memcpy(row + i * sz, &b, sz);                                      \
        }                                                                      \
    }
DEFINE_HOR_DIFF(8)
DEFINE_HOR_DIFF(16)
DEFINE_HOR_DIFF(32)
DEFINE_HOR_DIFF(64)
#undef DEFINE_HOR_DIFF

/*
 * The floating-point predictor (libtiff fpDiff, TIFF Technical Note 3) on
 * one row: the bytes of the values are split into bps planes, most
 * significant byte first whatever the byte order, then the whole row is
 * differenced byte by byte with a distance of s (samples per pixel).
 */
static void fp_diff(uint8_t *row, uint8_t *tmp, size_t wc, size_t bps, size_t s)
{
    size_t n = wc * bps;
    memcpy(tmp, row, n);
    for (size_t k = 0; k < wc; k++)
        for (size_t b = 0; b < bps; b++)
            row[(HOST_BIG_ENDIAN ? b : bps - 1 - b) * wc + k] =
                tmp[k * bps + b];
    for (size_t i = n; i-- > s;)
        row[i] = (uint8_t)(row[i] - row[i - s]);
}

static void predict(const struct lc_tiff_writer *w, uint8_t *tile, uint8_t *tmp)
{
    size_t s = w->spp_block;
    size_t wc = (size_t)w->tw * s;
    size_t row_nbytes = wc * w->bps;
    for (uint32_t y = 0; y < w->th; y++) {
        uint8_t *row = tile + y * row_nbytes;
        if (w->predictor == 3) {
            fp_diff(row, tmp, wc, w->bps, s);
            continue;
        }
        switch (w->bps) {
        case 1:
            hor_diff8(row, wc, s);
            break;
        case 2:
            hor_diff16(row, wc, s);
            break;
        case 4:
            hor_diff32(row, wc, s);
            break;
        default:
            hor_diff64(row, wc, s);
            break;
        }
    }
}

/* Gathers, predicts and compresses one tile with worker k's buffers. */
static void run_job(struct lc_tiff_writer *w, struct worker *k, struct job *j)
{
    gather(w, j, k->raw);
    if (w->compression == 1) {
        j->out = k->raw;
        j->out_nbytes = w->tile_nbytes;
        j->status = LC_OK;
        return;
    }
    if (w->predictor != 1)
        predict(w, k->raw, k->row);
    size_t n = libdeflate_zlib_compress(k->deflate, k->raw, w->tile_nbytes,
                                        k->packed, w->bound);
    j->out = k->packed;
    j->out_nbytes = n;
    /* Never happens: bound is libdeflate's worst case. */
    j->status = n == 0 ? LC_ENOMEM : LC_OK;
}

struct worker_arg {
    struct lc_tiff_writer *w;
    size_t k;
};

/* Jobs and workers pair up one to one within a batch, so each job's output
 * stays in its worker's buffers until the batch is appended. */
static void *worker_main(void *p)
{
    struct worker_arg *a = p;
    struct lc_tiff_writer *w = a->w;
    for (;;) {
        size_t i = atomic_fetch_add(&w->next_job, 1);
        if (i >= w->njobs)
            break;
        /* Worker slot i belongs to job i, whichever thread runs it. */
        run_job(w, &w->workers[i], &w->jobs[i]);
    }
    return NULL;
}

/* Compresses jobs[0..n) (n <= nworkers) on up to n threads, then appends
 * them in order. */
static int run_batch(struct lc_tiff_writer *w, size_t n, struct lc__errbuf *err)
{
    pthread_t threads[64];
    struct worker_arg args[64];
    size_t nthreads = n < LC_ARRAY_SIZE(threads) ? n : LC_ARRAY_SIZE(threads);
    size_t started = 0;

    w->njobs = n;
    atomic_store(&w->next_job, 0);
    for (size_t t = 1; t < nthreads; t++) {
        args[t] = (struct worker_arg){w, t};
        if (pthread_create(&threads[t - 1], NULL, worker_main, &args[t]) != 0)
            break; /* the threads started, and this one, do the rest */
        started++;
    }
    args[0] = (struct worker_arg){w, 0};
    worker_main(&args[0]);
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);

    for (size_t i = 0; i < n; i++) {
        struct job *j = &w->jobs[i];
        LC_RETURN_IF(j->status < 0, err, j->status,
                     "%s: compressing tile %u,%u failed", w->path, j->tx,
                     j->ty);
        uint64_t offset;
        LC_FORWARD_IF_ERROR(append(w, j->out, j->out_nbytes, &offset, err));
        w->offsets[j->index] = offset;
        w->counts[j->index] = j->out_nbytes;
    }
    return LC_OK;
}

/* ---- open -----------------------------------------------------------------
 */

/* GTModelType of an EPSG code: 1 projected, 2 geographic 2D. */
static int model_type_of(int epsg, int *type_ret, struct lc__errbuf *err)
{
    char code[16];
    PJ_CONTEXT *ctx = proj_context_create();
    LC_RETURN_IF(ctx == NULL, err, LC_ENOMEM, "cannot create a PROJ context");
    proj_log_level(ctx, PJ_LOG_NONE);
    (void)snprintf(code, sizeof code, "%d", epsg);
    PJ *crs =
        proj_create_from_database(ctx, "EPSG", code, PJ_CATEGORY_CRS, 0, NULL);
    PJ_TYPE type = crs != NULL ? proj_get_type(crs) : PJ_TYPE_UNKNOWN;
    proj_destroy(crs);
    proj_context_destroy(ctx);
    if (crs == NULL)
        return lc__error(err, LC_EINVAL,
                         "EPSG:%d is not a CRS of PROJ's database", epsg);
    if (type == PJ_TYPE_PROJECTED_CRS)
        *type_ret = 1;
    else if (type == PJ_TYPE_GEOGRAPHIC_2D_CRS)
        *type_ret = 2;
    else
        return lc__error(err, LC_EUNSUPPORTED,
                         "EPSG:%d is neither a projected nor a geographic 2D "
                         "CRS: no GeoTIFF keys are written for it",
                         epsg);
    return LC_OK;
}

/* The band descriptions as GDAL_METADATA XML, which GDAL reads back as
 * band descriptions. */
static int make_metadata(struct lc_tiff_writer *w, const char *const *desc,
                         struct lc__errbuf *err)
{
    size_t cap = 64;
    for (uint32_t b = 0; b < w->nbands; b++) {
        size_t n = desc[b] != NULL ? strlen(desc[b]) : 0;
        /* an escaped character takes at most 6 bytes ("&quot;") */
        LC_RETURN_IF(n > ((size_t)1 << 20), err, LC_ELIMIT,
                     "%s: band description %u is too long", w->path, b + 1);
        cap += 80 + 6 * n;
    }
    char *xml = lc__malloc(&w->alloc, cap);
    LC_RETURN_IF(xml == NULL, err, LC_ENOMEM, "%s: out of memory", w->path);
    size_t len = (size_t)snprintf(xml, cap, "<GDALMetadata>\n");
    for (uint32_t b = 0; b < w->nbands; b++) {
        if (desc[b] == NULL || desc[b][0] == '\0')
            continue;
        len += (size_t)snprintf(xml + len, cap - len,
                                "  <Item name=\"DESCRIPTION\" sample=\"%u\" "
                                "role=\"description\">",
                                b);
        for (const char *p = desc[b]; *p != '\0'; p++) {
            const char *e = *p == '&'   ? "&amp;"
                            : *p == '<' ? "&lt;"
                            : *p == '>' ? "&gt;"
                            : *p == '"' ? "&quot;"
                                        : NULL;
            if (e != NULL) {
                memcpy(xml + len, e, strlen(e));
                len += strlen(e);
            } else {
                xml[len++] = *p;
            }
        }
        len += (size_t)snprintf(xml + len, cap - len, "</Item>\n");
    }
    (void)snprintf(xml + len, cap - len, "</GDALMetadata>");
    w->metadata = xml;
    return LC_OK;
}

static int check_options(const struct lc_tiff_writer_options *o,
                         struct lc__errbuf *err)
{
    LC_RETURN_IF(o->struct_size != sizeof(*o), err, LC_EINVAL,
                 "tiff writer: struct_size %zu is not %zu", o->struct_size,
                 sizeof(*o));
    LC_RETURN_IF(o->width == 0 || o->height == 0, err, LC_EINVAL,
                 "tiff writer: empty image (%u x %u)", o->width, o->height);
    LC_RETURN_IF(o->nbands == 0 || o->nbands > 65535, err, LC_EINVAL,
                 "tiff writer: %u bands (1 to 65535)", o->nbands);
    LC_RETURN_IF(lc_dtype_nbytes(o->dtype) == 0, err, LC_EINVAL,
                 "tiff writer: no dtype");
    LC_RETURN_IF(o->tile_width % 16 != 0 || o->tile_height % 16 != 0, err,
                 LC_EINVAL,
                 "tiff writer: tile size %u x %u is not made of "
                 "multiples of 16",
                 o->tile_width, o->tile_height);
    LC_RETURN_IF(o->deflate_level < 0 || o->deflate_level > 12, err, LC_EINVAL,
                 "tiff writer: deflate level %d (1 to 12)", o->deflate_level);
    LC_RETURN_IF(o->epsg < 0 || o->epsg > 32767, err, LC_EINVAL,
                 "tiff writer: EPSG code %d out of range", o->epsg);
    if (o->has_transform) {
        for (int i = 0; i < 6; i++)
            LC_RETURN_IF(!isfinite(o->transform[i]), err, LC_EINVAL,
                         "tiff writer: transform has a non-finite term");
    }
    return LC_OK;
}

/* Sets the writer's fields from options checked by check_options. */
static int setup(struct lc_tiff_writer *w,
                 const struct lc_tiff_writer_options *o, struct lc__errbuf *err)
{
    w->width = o->width;
    w->height = o->height;
    w->nbands = o->nbands;
    w->dtype = o->dtype;
    w->bps = lc_dtype_nbytes(o->dtype);
    w->tw = o->tile_width > 0 ? o->tile_width : 256;
    w->th = o->tile_height > 0 ? o->tile_height : 256;
    w->planar = o->planar != 0 && o->nbands > 1;
    w->spp_block = (uint16_t)(w->planar ? 1 : o->nbands);
    w->ntx = (uint32_t)((o->width + (uint64_t)w->tw - 1) / w->tw);
    w->nty = (uint32_t)((o->height + (uint64_t)w->th - 1) / w->th);
    bool is_float =
        o->dtype == LC_DTYPE_FLOAT32 || o->dtype == LC_DTYPE_FLOAT64;
    bool is_signed = o->dtype == LC_DTYPE_INT8 || o->dtype == LC_DTYPE_INT16 ||
                     o->dtype == LC_DTYPE_INT32 || o->dtype == LC_DTYPE_INT64;
    w->sample_format = (uint16_t)(is_float ? 3 : is_signed ? 2 : 1);
    w->compression = (uint16_t)(o->uncompressed ? 1 : 8);
    w->predictor = (uint16_t)(o->uncompressed || o->no_predictor ? 1
                              : is_float                         ? 3
                                                                 : 2);
    w->level = o->deflate_level > 0 ? o->deflate_level : 6;
    memcpy(w->transform, o->transform, sizeof w->transform);
    w->has_transform = o->has_transform;
    w->epsg = o->epsg;
    w->has_nodata = o->has_nodata;
    w->nodata = o->nodata;

    size_t ntiles;
    LC_RETURN_IF(
        !lc__size_mul((size_t)w->ntx, w->nty, &ntiles) ||
            !lc__size_mul(ntiles, w->planar ? w->nbands : 1, &w->ntiles) ||
            !lc__size_mul((size_t)w->tw * w->th, w->spp_block,
                          &w->tile_nbytes) ||
            !lc__size_mul(w->tile_nbytes, w->bps, &w->tile_nbytes) ||
            w->tile_nbytes > MAX_TILE_NBYTES,
        err, LC_ELIMIT,
        "%s: tiles of %u x %u pixels of %u bands "
        "are too large",
        w->path, w->tw, w->th, w->spp_block);
    w->offsets = lc__calloc(&w->alloc, w->ntiles, sizeof(uint64_t));
    w->counts = lc__calloc(&w->alloc, w->ntiles, sizeof(uint64_t));
    LC_RETURN_IF(w->offsets == NULL || w->counts == NULL, err, LC_ENOMEM,
                 "%s: out of memory for %zu tile offsets", w->path, w->ntiles);

    if (w->epsg != 0)
        LC_FORWARD_IF_ERROR(model_type_of(w->epsg, &w->model_type, err));
    if (o->band_descriptions != NULL)
        LC_FORWARD_IF_ERROR(make_metadata(w, o->band_descriptions, err));

    /* Workers: at most 64, and no more than 1 GiB of tile buffers. */
    size_t n = o->nthreads > 0 ? o->nthreads : 1;
    if (n > 64)
        n = 64;
    while (n > 1 && n * 2 * w->tile_nbytes > ((size_t)1 << 30))
        n--;
    w->nworkers = n;
    w->workers = lc__calloc(&w->alloc, n, sizeof *w->workers);
    w->jobs = lc__calloc(&w->alloc, n, sizeof *w->jobs);
    LC_RETURN_IF(w->workers == NULL || w->jobs == NULL, err, LC_ENOMEM,
                 "%s: out of memory", w->path);
    for (size_t k = 0; k < n; k++) {
        struct worker *wk = &w->workers[k];
        wk->raw = lc__malloc(&w->alloc, w->tile_nbytes);
        wk->row = lc__malloc(&w->alloc, (size_t)w->tw * w->spp_block * w->bps);
        LC_RETURN_IF(wk->raw == NULL || wk->row == NULL, err, LC_ENOMEM,
                     "%s: out of memory", w->path);
        if (w->compression == 1)
            continue;
        wk->deflate = libdeflate_alloc_compressor(w->level);
        LC_RETURN_IF(wk->deflate == NULL, err, LC_ENOMEM,
                     "%s: cannot create a deflate compressor", w->path);
        w->bound = libdeflate_zlib_compress_bound(wk->deflate, w->tile_nbytes);
        wk->packed = lc__malloc(&w->alloc, w->bound);
        LC_RETURN_IF(wk->packed == NULL, err, LC_ENOMEM, "%s: out of memory",
                     w->path);
    }
    if (w->compression == 1)
        w->bound = w->tile_nbytes;

    /* Classic TIFF offsets are 32-bit: BigTIFF when the worst case (every
     * tile at its compression bound, plus the directory) could pass them. */
    uint64_t worst = 16 + (uint64_t)w->ntiles * (w->bound + 16) +
                     (uint64_t)w->nbands * 16 + 4096 +
                     (w->metadata != NULL ? strlen(w->metadata) : 0);
    w->bigtiff = o->bigtiff != 0 || worst > UINT32_MAX;
    return LC_OK;
}

static int write_header(struct lc_tiff_writer *w, struct lc__errbuf *err)
{
    uint8_t h[16] = {0};
    uint16_t magic = w->bigtiff ? 43 : 42;
    h[0] = h[1] = HOST_BIG_ENDIAN ? 'M' : 'I';
    memcpy(h + 2, &magic, 2);
    if (w->bigtiff) {
        uint16_t offset_size = 8;
        memcpy(h + 4, &offset_size, 2);
    }
    /* The first IFD's offset stays 0 until finish writes the IFD. */
    uint64_t at;
    return append(w, h, w->bigtiff ? 16 : 8, &at, err);
}

static void free_writer(struct lc_tiff_writer *w)
{
    struct lc_allocator a = w->alloc;
    for (size_t k = 0; w->workers != NULL && k < w->nworkers; k++) {
        libdeflate_free_compressor(w->workers[k].deflate);
        lc__free(&a, w->workers[k].raw);
        lc__free(&a, w->workers[k].row);
        lc__free(&a, w->workers[k].packed);
    }
    lc__free(&a, w->workers);
    lc__free(&a, w->jobs);
    lc__free(&a, w->offsets);
    lc__free(&a, w->counts);
    lc__free(&a, w->metadata);
    lc__free(&a, w->path);
    lc__free(&a, w);
}

int lc_tiff_writer_open(const char *path,
                        const struct lc_tiff_writer_options *opts,
                        struct lc_tiff_writer **writer_ret)
{
    struct lc__errbuf err = {0};

    if (writer_ret == NULL)
        return lc__publish(NULL, LC_EINVAL);
    *writer_ret = NULL;
    if (path == NULL || path[0] == '\0' || opts == NULL)
        return lc__publish(&err, lc__error(&err, LC_EINVAL,
                                           "tiff writer: no path or options"));
    int status = check_options(opts, &err);
    if (status < 0)
        return lc__publish(&err, status);

    struct lc_tiff_writer *w = lc__calloc(&opts->allocator, 1, sizeof *w);
    if (w == NULL)
        return lc__publish(NULL, LC_ENOMEM);
    w->alloc = opts->allocator;
    w->fd = -1;
    size_t n = strlen(path) + 1;
    w->path = lc__malloc(&w->alloc, n);
    if (w->path == NULL) {
        free_writer(w);
        return lc__publish(NULL, LC_ENOMEM);
    }
    memcpy(w->path, path, n);
    status = setup(w, opts, &err);
    if (status == LC_OK) {
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (w->fd < 0)
            status = io_error(&err, path, "create the file");
        w->created = w->fd >= 0;
    }
    if (status == LC_OK)
        status = write_header(w, &err);
    if (status < 0) {
        lc_tiff_writer_close(w);
        return lc__publish(&err, status);
    }
    *writer_ret = w;
    return LC_OK;
}

/* ---- write ----------------------------------------------------------------
 */

static int check_window(const struct lc_tiff_writer *w, uint32_t x0,
                        uint32_t y0, uint32_t width, uint32_t height,
                        size_t data_nbytes, struct lc__errbuf *err)
{
    LC_RETURN_IF(w->finished || w->failed, err, LC_EINVAL,
                 "%s: the writer is %s", w->path,
                 w->finished ? "finished" : "failed");
    LC_RETURN_IF(width == 0 || height == 0 || x0 >= w->width ||
                     y0 >= w->height || width > w->width - x0 ||
                     height > w->height - y0,
                 err, LC_EINVAL,
                 "%s: window %u,%u %u x %u lies outside the %u x %u image",
                 w->path, x0, y0, width, height, w->width, w->height);
    LC_RETURN_IF(x0 % w->tw != 0 || y0 % w->th != 0 ||
                     (width % w->tw != 0 && x0 + width != w->width) ||
                     (height % w->th != 0 && y0 + height != w->height),
                 err, LC_EINVAL,
                 "%s: window %u,%u %u x %u is not made of whole %u x %u "
                 "tiles",
                 w->path, x0, y0, width, height, w->tw, w->th);
    size_t need = (size_t)width * height; /* fits: both within the image */
    LC_RETURN_IF(!lc__size_mul(need, w->nbands, &need) ||
                     !lc__size_mul(need, w->bps, &need) || data_nbytes < need,
                 err, LC_ENOSPACE,
                 "%s: data has %zu bytes, the window needs "
                 "%zu",
                 w->path, data_nbytes, need);
    return LC_OK;
}

static int write_window(struct lc_tiff_writer *w, uint32_t x0, uint32_t y0,
                        uint32_t width, uint32_t height, const void *data,
                        struct lc__errbuf *err)
{
    uint32_t tx0 = x0 / w->tw, ty0 = y0 / w->th;
    uint32_t tx1 = (uint32_t)(((uint64_t)x0 + width + w->tw - 1) / w->tw);
    uint32_t ty1 = (uint32_t)(((uint64_t)y0 + height + w->th - 1) / w->th);
    uint32_t nplanes = w->planar ? w->nbands : 1;
    size_t plane_tiles = (size_t)w->ntx * w->nty;

    /* Every tile first, so a rejected call writes nothing. */
    for (uint32_t b = 0; b < nplanes; b++)
        for (uint32_t ty = ty0; ty < ty1; ty++)
            for (uint32_t tx = tx0; tx < tx1; tx++)
                LC_RETURN_IF(
                    w->counts[b * plane_tiles + (size_t)ty * w->ntx + tx] != 0,
                    err, LC_EINVAL, "%s: tile %u,%u%s written twice", w->path,
                    tx, ty, w->planar ? " of a band" : "");

    w->data = data;
    w->data_x0 = x0;
    w->data_y0 = y0;
    w->data_w = width;
    w->data_h = height;
    size_t n = 0;
    for (uint32_t b = 0; b < nplanes; b++) {
        for (uint32_t ty = ty0; ty < ty1; ty++) {
            for (uint32_t tx = tx0; tx < tx1; tx++) {
                w->jobs[n++] = (struct job){.tx = tx,
                                            .ty = ty,
                                            .band = b,
                                            .index = b * plane_tiles +
                                                     (size_t)ty * w->ntx + tx};
                if (n == w->nworkers) {
                    LC_FORWARD_IF_ERROR(run_batch(w, n, err));
                    n = 0;
                }
            }
        }
    }
    if (n > 0)
        LC_FORWARD_IF_ERROR(run_batch(w, n, err));
    return LC_OK;
}

int lc_tiff_writer_write(struct lc_tiff_writer *w, uint32_t x0, uint32_t y0,
                         uint32_t width, uint32_t height, const void *data,
                         size_t data_nbytes)
{
    struct lc__errbuf err = {0};

    if (w == NULL || data == NULL)
        return lc__publish(NULL, LC_EINVAL);
    int status = check_window(w, x0, y0, width, height, data_nbytes, &err);
    if (status == LC_OK) {
        status = write_window(w, x0, y0, width, height, data, &err);
        w->failed = status < 0;
    }
    return lc__publish(&err, status);
}

/* ---- finish: the directory ------------------------------------------------
 */

struct entry {
    uint16_t tag, type;
    uint64_t count;
    const void *data; /* count values in native byte order */
};

static size_t type_nbytes(uint16_t type)
{
    switch (type) {
    case TYPE_SHORT:
        return 2;
    case TYPE_LONG:
        return 4;
    case TYPE_DOUBLE:
    case TYPE_LONG8:
        return 8;
    default:
        return 1;
    }
}

/* Lays out the IFD (at offset at) and the values it points to in buf,
 * which holds *nbytes_ret bytes when buf is NULL (the sizing pass). */
static void lay_out(const struct lc_tiff_writer *w, const struct entry *e,
                    size_t n, uint64_t at, uint8_t *buf, size_t *nbytes_ret)
{
    size_t inline_cap = w->bigtiff ? 8 : 4;
    size_t entry_nbytes = w->bigtiff ? 20 : 12;
    size_t head = w->bigtiff ? 8 : 2;
    size_t pos = head + n * entry_nbytes + (w->bigtiff ? 8 : 4);
    pos = (pos + 7) & ~(size_t)7;

    if (buf != NULL) {
        if (w->bigtiff) {
            uint64_t count = n;
            memcpy(buf, &count, 8);
        } else {
            uint16_t count = (uint16_t)n;
            memcpy(buf, &count, 2);
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t nbytes = (size_t)e[i].count * type_nbytes(e[i].type);
        uint8_t *p = buf != NULL ? buf + head + i * entry_nbytes : NULL;
        if (p != NULL) {
            memcpy(p, &e[i].tag, 2);
            memcpy(p + 2, &e[i].type, 2);
            if (w->bigtiff) {
                memcpy(p + 4, &e[i].count, 8);
            } else {
                uint32_t c = (uint32_t)e[i].count;
                memcpy(p + 4, &c, 4);
            }
        }
        uint8_t *value = p != NULL ? p + (w->bigtiff ? 12 : 8) : NULL;
        if (nbytes <= inline_cap) {
            if (value != NULL)
                memcpy(value, e[i].data, nbytes);
            continue;
        }
        if (value != NULL) {
            memcpy(buf + pos, e[i].data, nbytes);
            uint64_t offset = at + pos;
            if (w->bigtiff) {
                memcpy(value, &offset, 8);
            } else {
                uint32_t o32 = (uint32_t)offset;
                memcpy(value, &o32, 4);
            }
        }
        pos = (pos + nbytes + 7) & ~(size_t)7;
    }
    *nbytes_ret = pos;
}

/* GDAL_NODATA as GDAL writes it: "nan", "inf", or the shortest decimal
 * that reads back as the same double. */
static void format_nodata(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        (void)snprintf(buf, cap, "nan");
    } else if (isinf(v)) {
        (void)snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    } else {
        for (int digits = 1; digits <= 17; digits++) {
            (void)snprintf(buf, cap, "%.*g", digits, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
}

static int write_directory(struct lc_tiff_writer *w, struct lc__errbuf *err)
{
    struct entry e[MAX_ENTRIES];
    size_t n = 0;
    uint32_t width = w->width, height = w->height, tw = w->tw, th = w->th;
    uint16_t spp = (uint16_t)w->nbands, photometric = 1;
    uint16_t planar = (uint16_t)(w->planar ? 2 : 1);
    uint16_t *bits = NULL, *formats = NULL, *extra = NULL;
    uint32_t *off32 = NULL, *cnt32 = NULL;
    uint8_t *buf = NULL;
    double scale[3], tiepoint[6], matrix[16];
    uint16_t keys[4 + 3 * 4];
    char nodata[64];
    int status = LC_OK;

    bits = lc__malloc_array(&w->alloc, w->nbands, sizeof *bits);
    formats = lc__malloc_array(&w->alloc, w->nbands, sizeof *formats);
    extra = lc__calloc(&w->alloc, w->nbands, sizeof *extra);
    if (!w->bigtiff) {
        off32 = lc__malloc_array(&w->alloc, w->ntiles, sizeof *off32);
        cnt32 = lc__malloc_array(&w->alloc, w->ntiles, sizeof *cnt32);
    }
    if (bits == NULL || formats == NULL || extra == NULL ||
        (!w->bigtiff && (off32 == NULL || cnt32 == NULL))) {
        status = lc__error(err, LC_ENOMEM, "%s: out of memory", w->path);
        goto done;
    }
    for (uint32_t b = 0; b < w->nbands; b++) {
        bits[b] = (uint16_t)(w->bps * 8);
        formats[b] = w->sample_format;
    }
    for (size_t i = 0; !w->bigtiff && i < w->ntiles; i++) {
        /* setup chose BigTIFF when an offset could pass 32 bits */
        LC_ASSERT(w->offsets[i] <= UINT32_MAX && w->counts[i] <= UINT32_MAX);
        off32[i] = (uint32_t)w->offsets[i];
        cnt32[i] = (uint32_t)w->counts[i];
    }

#define ADD(t, ty, c, d) e[n++] = (struct entry){(t), (ty), (c), (d)}
    ADD(TAG_IMAGE_WIDTH, TYPE_LONG, 1, &width);
    ADD(TAG_IMAGE_LENGTH, TYPE_LONG, 1, &height);
    ADD(TAG_BITS_PER_SAMPLE, TYPE_SHORT, w->nbands, bits);
    ADD(TAG_COMPRESSION, TYPE_SHORT, 1, &w->compression);
    ADD(TAG_PHOTOMETRIC, TYPE_SHORT, 1, &photometric);
    ADD(TAG_SAMPLES_PER_PIXEL, TYPE_SHORT, 1, &spp);
    ADD(TAG_PLANAR_CONFIG, TYPE_SHORT, 1, &planar);
    if (w->predictor != 1)
        ADD(TAG_PREDICTOR, TYPE_SHORT, 1, &w->predictor);
    ADD(TAG_TILE_WIDTH, TYPE_LONG, 1, &tw);
    ADD(TAG_TILE_LENGTH, TYPE_LONG, 1, &th);
    if (w->bigtiff) {
        ADD(TAG_TILE_OFFSETS, TYPE_LONG8, w->ntiles, w->offsets);
        ADD(TAG_TILE_BYTE_COUNTS, TYPE_LONG8, w->ntiles, w->counts);
    } else {
        ADD(TAG_TILE_OFFSETS, TYPE_LONG, w->ntiles, off32);
        ADD(TAG_TILE_BYTE_COUNTS, TYPE_LONG, w->ntiles, cnt32);
    }
    /* Bands past the first are "unspecified" extra samples of a grey
     * image, as GDAL writes them; libtiff warns without this tag. */
    if (w->nbands > 1)
        ADD(TAG_EXTRA_SAMPLES, TYPE_SHORT, w->nbands - 1, extra);
    ADD(TAG_SAMPLE_FORMAT, TYPE_SHORT, w->nbands, formats);
    if (w->has_transform) {
        const double *t = w->transform; /* a b c d e f */
        if (t[1] == 0 && t[3] == 0 && t[4] < 0) {
            scale[0] = t[0];
            scale[1] = -t[4];
            scale[2] = 0;
            tiepoint[0] = tiepoint[1] = tiepoint[2] = tiepoint[5] = 0;
            tiepoint[3] = t[2];
            tiepoint[4] = t[5];
            ADD(TAG_MODEL_PIXEL_SCALE, TYPE_DOUBLE, 3, scale);
            ADD(TAG_MODEL_TIEPOINT, TYPE_DOUBLE, 6, tiepoint);
        } else {
            memset(matrix, 0, sizeof matrix);
            matrix[0] = t[0];
            matrix[1] = t[1];
            matrix[3] = t[2];
            matrix[4] = t[3];
            matrix[5] = t[4];
            matrix[7] = t[5];
            matrix[15] = 1;
            ADD(TAG_MODEL_TRANSFORMATION, TYPE_DOUBLE, 16, matrix);
        }
    }
    if (w->epsg != 0) {
        /* Version 1.1.0, 3 keys: model type, PixelIsArea, the CRS code. */
        uint16_t k[] = {1,
                        1,
                        0,
                        3,
                        1024,
                        0,
                        1,
                        (uint16_t)w->model_type,
                        1025,
                        0,
                        1,
                        1,
                        w->model_type == 1 ? 3072 : 2048,
                        0,
                        1,
                        (uint16_t)w->epsg};
        memcpy(keys, k, sizeof k);
        ADD(TAG_GEO_KEY_DIRECTORY, TYPE_SHORT, LC_ARRAY_SIZE(k), keys);
    }
    if (w->metadata != NULL)
        ADD(TAG_GDAL_METADATA, TYPE_ASCII, strlen(w->metadata) + 1,
            w->metadata);
    if (w->has_nodata) {
        format_nodata(w->nodata, nodata, sizeof nodata);
        ADD(TAG_GDAL_NODATA, TYPE_ASCII, strlen(nodata) + 1, nodata);
    }
#undef ADD
    LC_ASSERT(n <= MAX_ENTRIES);

    uint64_t at = (w->end + 7) & ~(uint64_t)7;
    size_t nbytes;
    lay_out(w, e, n, at, NULL, &nbytes);
    if (!w->bigtiff && at + nbytes > UINT32_MAX) {
        status =
            lc__error(err, LC_ELIMIT, "%s: the file passed 4 GiB", w->path);
        goto done;
    }
    buf = lc__calloc(&w->alloc, 1, nbytes);
    if (buf == NULL) {
        status = lc__error(err, LC_ENOMEM, "%s: out of memory", w->path);
        goto done;
    }
    lay_out(w, e, n, at, buf, &nbytes);
    status = write_at(w, at, buf, nbytes, err);
    if (status == LC_OK) {
        if (w->bigtiff) {
            status = write_at(w, 8, &at, 8, err);
        } else {
            uint32_t at32 = (uint32_t)at;
            status = write_at(w, 4, &at32, 4, err);
        }
    }
done:
    lc__free(&w->alloc, buf);
    lc__free(&w->alloc, bits);
    lc__free(&w->alloc, formats);
    lc__free(&w->alloc, extra);
    lc__free(&w->alloc, off32);
    lc__free(&w->alloc, cnt32);
    return status;
}

int lc_tiff_writer_finish(struct lc_tiff_writer *w)
{
    struct lc__errbuf err = {0};

    if (w == NULL)
        return lc__publish(NULL, LC_EINVAL);
    if (w->finished || w->failed)
        return lc__publish(
            &err, lc__error(&err, LC_EINVAL, "%s: the writer is %s", w->path,
                            w->finished ? "finished" : "failed"));
    int status = write_directory(w, &err);
    if (status == LC_OK) {
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) != 0)
            status = io_error(&err, w->path, "close");
    }
    w->finished = status == LC_OK;
    w->failed = status < 0;
    return lc__publish(&err, status);
}

void lc_tiff_writer_close(struct lc_tiff_writer *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        (void)close(w->fd);
    if (w->created && !w->finished)
        (void)unlink(w->path);
    free_writer(w);
}
