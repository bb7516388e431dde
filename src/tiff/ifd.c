/* ifd.c - TIFF/BigTIFF header and IFD chain parser over fetched bytes. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/alloc.h"
#include "tiff_internal.h"

/*
 * TIFF 6.0 and BigTIFF layout (https://www.adobe.io/open/standards/TIFF.html,
 * https://www.awaresystems.be/imaging/tiff/bigtiff.html):
 *
 *   header   "II" or "MM", 42 (classic) or 43 (BigTIFF), first IFD offset
 *   IFD      entry count (2 or 8 bytes), entries, next IFD offset (4 or 8)
 *   entry    tag (2), type (2), count (4 or 8), value or offset (4 or 8)
 *
 * A value that fits in the last field of its entry is stored there. Every
 * offset and count comes from the file and is checked against the file
 * size and the caps in lc_cog_options before anything is allocated.
 *
 * Bytes come from cog->head (the first fetch) when it holds them, else from
 * the IFD being parsed (already fetched), else from a new range read.
 */

enum tiff_type {
    TT_BYTE = 1,
    TT_ASCII = 2,
    TT_SHORT = 3,
    TT_LONG = 4,
    TT_RATIONAL = 5,
    TT_SBYTE = 6,
    TT_UNDEFINED = 7,
    TT_SSHORT = 8,
    TT_SLONG = 9,
    TT_SRATIONAL = 10,
    TT_FLOAT = 11,
    TT_DOUBLE = 12,
    TT_IFD = 13,
    TT_LONG8 = 16,
    TT_SLONG8 = 17,
    TT_IFD8 = 18
};

enum tiff_tag {
    TAG_NEW_SUBFILE_TYPE = 254,
    TAG_IMAGE_WIDTH = 256,
    TAG_IMAGE_LENGTH = 257,
    TAG_BITS_PER_SAMPLE = 258,
    TAG_COMPRESSION = 259,
    TAG_PHOTOMETRIC = 262,
    TAG_STRIP_OFFSETS = 273,
    TAG_SAMPLES_PER_PIXEL = 277,
    TAG_ROWS_PER_STRIP = 278,
    TAG_STRIP_BYTE_COUNTS = 279,
    TAG_PLANAR_CONFIG = 284,
    TAG_PREDICTOR = 317,
    TAG_TILE_WIDTH = 322,
    TAG_TILE_LENGTH = 323,
    TAG_TILE_OFFSETS = 324,
    TAG_TILE_BYTE_COUNTS = 325,
    TAG_SAMPLE_FORMAT = 339,
    TAG_JPEG_TABLES = 347,
    TAG_MODEL_PIXEL_SCALE = 33550,
    TAG_MODEL_TIEPOINT = 33922,
    TAG_MODEL_TRANSFORMATION = 34264,
    TAG_GEO_KEY_DIRECTORY = 34735,
    TAG_GEO_DOUBLE_PARAMS = 34736,
    TAG_GEO_ASCII_PARAMS = 34737,
    TAG_GDAL_METADATA = 42112,
    TAG_GDAL_NODATA = 42113,
    TAG_LERC_PARAMETERS = 50674
};

/* Index arrays up to this size are loaded at open; larger ones lazily. */
#define EAGER_INDEX_NBYTES 65536

static size_t type_nbytes(uint16_t type)
{
    switch (type) {
    case TT_BYTE:
    case TT_ASCII:
    case TT_SBYTE:
    case TT_UNDEFINED:
        return 1;
    case TT_SHORT:
    case TT_SSHORT:
        return 2;
    case TT_LONG:
    case TT_SLONG:
    case TT_FLOAT:
    case TT_IFD:
        return 4;
    case TT_RATIONAL:
    case TT_SRATIONAL:
    case TT_DOUBLE:
    case TT_LONG8:
    case TT_SLONG8:
    case TT_IFD8:
        return 8;
    default:
        return 0;
    }
}

static uint16_t load16(const struct lc_cog *cog, const uint8_t *p)
{
    return cog->big_endian ? lc__load_be16(p) : lc__load_le16(p);
}

static uint32_t load32(const struct lc_cog *cog, const uint8_t *p)
{
    return cog->big_endian ? lc__load_be32(p) : lc__load_le32(p);
}

static uint64_t load64(const struct lc_cog *cog, const uint8_t *p)
{
    return cog->big_endian ? lc__load_be64(p) : lc__load_le64(p);
}

static const char *name_of(const struct lc_cog *cog)
{
    return lc__io_name(cog->io);
}

/* The IFD being parsed: its bytes, so inline values need no new read. */
struct ifd_bytes {
    uint64_t offset;
    const uint8_t *data;
    size_t nbytes;
};

static int read_bytes_in(struct lc_cog *cog, const struct ifd_bytes *ifd,
                         uint64_t offset, void *dst, size_t nbytes,
                         struct lc__errbuf *err)
{
    if (nbytes == 0)
        return LC_OK;
    uint64_t end = offset + nbytes;
    if (end < offset)
        return lc__error(err, LC_ECORRUPT, "%s: offset %" PRIu64 " overflows",
                         name_of(cog), offset);
    if (cog->file_nbytes != 0 && end > cog->file_nbytes)
        return lc__error(err, LC_ECORRUPT,
                         "%s: data at %" PRIu64 "+%zu lies past the end of "
                         "the file (%" PRIu64 " bytes)",
                         name_of(cog), offset, nbytes, cog->file_nbytes);
    if (end <= cog->head_nbytes) {
        memcpy(dst, cog->head + offset, nbytes);
        return LC_OK;
    }
    if (ifd != NULL && offset >= ifd->offset &&
        end <= ifd->offset + ifd->nbytes) {
        memcpy(dst, ifd->data + (offset - ifd->offset), nbytes);
        return LC_OK;
    }
    struct lc_range_request req = {
        .offset = offset, .nbytes = nbytes, .buf = dst};
    return lc__io_read(cog->io, &req, 1, false, err);
}

int lc__tiff_read_bytes(struct lc_cog *cog, uint64_t offset, void *dst,
                        size_t nbytes, struct lc__errbuf *err)
{
    return read_bytes_in(cog, NULL, offset, dst, nbytes, err);
}

/* Size in bytes of a tag's values, checked against the caps. */
static int tag_nbytes(struct lc_cog *cog, const struct lc__tag *t,
                      size_t *nbytes_ret)
{
    size_t unit = type_nbytes(t->type);
    size_t nbytes = 0;

    if (unit == 0)
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: tag %u has unknown type %u", name_of(cog),
                         t->code, t->type);
    if (t->count > SIZE_MAX || !lc__size_mul((size_t)t->count, unit, &nbytes) ||
        nbytes > cog->opts.max_tag_nbytes)
        return lc__error(
            &cog->open_err, LC_ELIMIT,
            "%s: tag %u has %" PRIu64 " values, more than "
            "max_tag_nbytes (%zu bytes)" LC__COG_RAISE_HINT("max_tag_nbytes"),
            name_of(cog), t->code, t->count, cog->opts.max_tag_nbytes);
    *nbytes_ret = nbytes;
    return LC_OK;
}

/* Converts value i of raw bytes of type t to uint64 (integers only). */
static bool raw_to_u64(const struct lc_cog *cog, uint16_t type,
                       const uint8_t *raw, size_t i, uint64_t *v)
{
    switch (type) {
    case TT_BYTE:
    case TT_UNDEFINED:
        *v = raw[i];
        return true;
    case TT_SHORT:
        *v = load16(cog, raw + 2 * i);
        return true;
    case TT_LONG:
    case TT_IFD:
        *v = load32(cog, raw + 4 * i);
        return true;
    case TT_LONG8:
    case TT_IFD8:
        *v = load64(cog, raw + 8 * i);
        return true;
    default:
        return false;
    }
}

static double raw_to_f64(const struct lc_cog *cog, uint16_t type,
                         const uint8_t *raw, size_t i)
{
    uint64_t u;
    uint32_t b32;
    float f;
    double d;

    switch (type) {
    case TT_SBYTE:
        return (int8_t)raw[i];
    case TT_SSHORT:
        return (int16_t)load16(cog, raw + 2 * i);
    case TT_SLONG:
        return (int32_t)load32(cog, raw + 4 * i);
    case TT_SLONG8:
        return (double)(int64_t)load64(cog, raw + 8 * i);
    case TT_FLOAT:
        b32 = load32(cog, raw + 4 * i);
        memcpy(&f, &b32, 4);
        return f;
    case TT_DOUBLE:
        u = load64(cog, raw + 8 * i);
        memcpy(&d, &u, 8);
        return d;
    case TT_RATIONAL: {
        uint32_t num = load32(cog, raw + 8 * i);
        uint32_t den = load32(cog, raw + 8 * i + 4);
        return den == 0 ? NAN : (double)num / den;
    }
    case TT_SRATIONAL: {
        int32_t num = (int32_t)load32(cog, raw + 8 * i);
        int32_t den = (int32_t)load32(cog, raw + 8 * i + 4);
        return den == 0 ? NAN : (double)num / den;
    }
    default:
        if (raw_to_u64(cog, type, raw, i, &u))
            return (double)u;
        return NAN;
    }
}

/* Reads a tag's raw bytes into a new buffer (caller frees). */
static int tag_raw(struct lc_cog *cog, const struct ifd_bytes *ifd,
                   const struct lc__tag *t, uint8_t **raw_ret,
                   size_t *nbytes_ret)
{
    size_t nbytes = 0;

    *raw_ret = NULL;
    LC_FORWARD_IF_ERROR(tag_nbytes(cog, t, &nbytes));
    uint8_t *raw = lc__malloc(&cog->alloc, nbytes);
    if (raw == NULL)
        return lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory",
                         name_of(cog));
    int status =
        read_bytes_in(cog, ifd, t->offset, raw, nbytes, &cog->open_err);
    if (status < 0) {
        lc__free(&cog->alloc, raw);
        return status;
    }
    *raw_ret = raw;
    *nbytes_ret = nbytes;
    return LC_OK;
}

/* Reads an integer tag as a new uint64 array. */
static int tag_u64_array(struct lc_cog *cog, const struct ifd_bytes *ifd,
                         const struct lc__tag *t, uint64_t **vals_ret)
{
    uint8_t *raw;
    size_t nbytes = 0;

    *vals_ret = NULL;
    LC_FORWARD_IF_ERROR(tag_raw(cog, ifd, t, &raw, &nbytes));
    uint64_t *vals = lc__malloc_array(&cog->alloc, (size_t)t->count, 8);
    int status = LC_OK;
    if (vals == NULL)
        status = lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory",
                           name_of(cog));
    for (size_t i = 0; status == LC_OK && i < t->count; i++) {
        if (!raw_to_u64(cog, t->type, raw, i, &vals[i]))
            status = lc__error(&cog->open_err, LC_ECORRUPT,
                               "%s: tag %u has non-integer type %u",
                               name_of(cog), t->code, t->type);
    }
    lc__free(&cog->alloc, raw);
    if (status < 0) {
        lc__free(&cog->alloc, vals);
        return status;
    }
    *vals_ret = vals;
    return LC_OK;
}

/* Reads a numeric tag as a new double array. */
static int tag_f64_array(struct lc_cog *cog, const struct ifd_bytes *ifd,
                         const struct lc__tag *t, double **vals_ret)
{
    uint8_t *raw;
    size_t nbytes = 0;

    *vals_ret = NULL;
    LC_FORWARD_IF_ERROR(tag_raw(cog, ifd, t, &raw, &nbytes));
    double *vals =
        lc__malloc_array(&cog->alloc, (size_t)t->count, sizeof(double));
    if (vals == NULL) {
        lc__free(&cog->alloc, raw);
        return lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory",
                         name_of(cog));
    }
    for (size_t i = 0; i < t->count; i++)
        vals[i] = raw_to_f64(cog, t->type, raw, i);
    lc__free(&cog->alloc, raw);
    *vals_ret = vals;
    return LC_OK;
}

/* Reads the first value of an integer tag, which must have count >= 1. */
static int tag_u64_first(struct lc_cog *cog, const struct ifd_bytes *ifd,
                         const struct lc__tag *t, uint64_t *v)
{
    uint8_t raw[8];
    size_t unit = type_nbytes(t->type);

    if (t->count == 0 || unit == 0)
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: tag %u has no usable value", name_of(cog),
                         t->code);
    LC_FORWARD_IF_ERROR(
        read_bytes_in(cog, ifd, t->offset, raw, unit, &cog->open_err));
    if (!raw_to_u64(cog, t->type, raw, 0, v))
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: tag %u has non-integer type %u", name_of(cog),
                         t->code, t->type);
    return LC_OK;
}

/* Reads an integer tag whose values must all be equal (BitsPerSample,
 * SampleFormat): lazycogs reads one data type per image. */
static int tag_u16_uniform(struct lc_cog *cog, const struct ifd_bytes *ifd,
                           const struct lc__tag *t, uint16_t *v)
{
    uint64_t *vals;

    LC_FORWARD_IF_ERROR(tag_u64_array(cog, ifd, t, &vals));
    int status = LC_OK;
    if (t->count == 0 || vals[0] > UINT16_MAX)
        status = lc__error(&cog->open_err, LC_ECORRUPT,
                           "%s: tag %u has a bad value", name_of(cog), t->code);
    for (size_t i = 1; status == LC_OK && i < t->count; i++) {
        if (vals[i] != vals[0])
            status = lc__error(&cog->open_err, LC_EUNSUPPORTED,
                               "%s: samples of different types (tag %u) "
                               "are not supported",
                               name_of(cog), t->code);
    }
    if (status == LC_OK)
        *v = (uint16_t)vals[0];
    lc__free(&cog->alloc, vals);
    return status;
}

/* Reads an ASCII or UNDEFINED tag as a NUL-terminated string. */
static int tag_string(struct lc_cog *cog, const struct ifd_bytes *ifd,
                      const struct lc__tag *t, char **str_ret)
{
    uint8_t *raw;
    size_t nbytes = 0;

    *str_ret = NULL;
    LC_FORWARD_IF_ERROR(tag_raw(cog, ifd, t, &raw, &nbytes));
    char *s = lc__malloc(&cog->alloc, nbytes + 1);
    if (s == NULL) {
        lc__free(&cog->alloc, raw);
        return lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory",
                         name_of(cog));
    }
    memcpy(s, raw, nbytes);
    s[nbytes] = '\0';
    lc__free(&cog->alloc, raw);
    *str_ret = s;
    return LC_OK;
}

/* ---- block indexes ------------------------------------------------------- */

/* Loads the missing entries of [first, first + n) as contiguous runs, one
 * read per run. The caller holds cog->index_mu. */
static int block_index_load_locked(struct lc_cog *cog,
                                   struct lc__block_index *idx, uint64_t first,
                                   uint64_t n, struct lc__errbuf *err)
{
    size_t unit = type_nbytes(idx->tag.type);
    uint64_t i = first;

    while (i < first + n) {
        if (idx->loaded[i]) {
            i++;
            continue;
        }
        uint64_t run_end = i;
        while (run_end < first + n && !idx->loaded[run_end])
            run_end++;
        size_t run = (size_t)(run_end - i);
        size_t nbytes = run * unit;
        uint8_t stack_buf[4096];
        uint8_t *raw = stack_buf;
        if (nbytes > sizeof(stack_buf)) {
            raw = lc__malloc(&cog->alloc, nbytes);
            if (raw == NULL)
                return lc__error(err, LC_ENOMEM, "%s: out of memory",
                                 name_of(cog));
        }
        int status = read_bytes_in(cog, NULL, idx->tag.offset + i * unit, raw,
                                   nbytes, err);
        for (size_t k = 0; status == LC_OK && k < run; k++) {
            (void)raw_to_u64(cog, idx->tag.type, raw, k, &idx->values[i + k]);
            idx->loaded[i + k] = 1;
        }
        if (raw != stack_buf)
            lc__free(&cog->alloc, raw);
        LC_FORWARD_IF_ERROR(status);
        i = run_end;
    }
    return LC_OK;
}

int lc__block_index_load(struct lc_cog *cog, struct lc__block_index *idx,
                         uint64_t first, uint64_t n, struct lc__errbuf *err)
{
    /* One lock per handle, held through the read of a missing run: the
     * first reads of a big lazily indexed file wait for each other, every
     * later call finds its entries loaded and returns at once. */
    pthread_mutex_lock(&cog->index_mu);
    bool missing = false;
    for (uint64_t i = first; i < first + n && !missing; i++)
        missing = !idx->loaded[i];
    pthread_mutex_unlock(&cog->index_mu);
    if (!missing)
        return LC_OK;
    /* The wait for the lock and the read under it are one wait to the
     * caller's hook (lc__io_set_wait_hook): a hook that bounds how many
     * threads compute must not make a holder of the lock wait for a place
     * that a thread waiting for the lock holds. */
    lc__io_wait_begin();
    pthread_mutex_lock(&cog->index_mu);
    int status = block_index_load_locked(cog, idx, first, n, err);
    pthread_mutex_unlock(&cog->index_mu);
    lc__io_wait_end();
    return status;
}

static int block_index_init(struct lc_cog *cog, const struct ifd_bytes *ifd,
                            const struct lc__tag *t, uint64_t nblocks,
                            struct lc__block_index *idx)
{
    size_t unit = type_nbytes(t->type);

    if (t->type != TT_SHORT && t->type != TT_LONG && t->type != TT_LONG8 &&
        t->type != TT_IFD && t->type != TT_IFD8)
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: block index tag %u has type %u", name_of(cog),
                         t->code, t->type);
    if (t->count != nblocks)
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: tag %u has %" PRIu64 " entries, the image "
                         "needs %" PRIu64,
                         name_of(cog), t->code, t->count, nblocks);
    size_t nbytes = 0;
    LC_FORWARD_IF_ERROR(tag_nbytes(cog, t, &nbytes));
    idx->tag = *t;
    idx->values = lc__malloc_array(&cog->alloc, (size_t)nblocks, 8);
    idx->loaded = lc__calloc(&cog->alloc, (size_t)nblocks, 1);
    if (idx->values == NULL || idx->loaded == NULL)
        return lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory",
                         name_of(cog));
    /* Small arrays, and arrays the prefix already holds, cost nothing more
     * to load now; big ones wait for a read to say which entries it needs. */
    uint64_t end = t->offset + nblocks * unit;
    bool in_hand =
        end <= cog->head_nbytes ||
        (t->offset >= ifd->offset && end <= ifd->offset + ifd->nbytes);
    if (in_hand || nbytes <= EAGER_INDEX_NBYTES)
        return lc__block_index_load(cog, idx, 0, nblocks, &cog->open_err);
    return LC_OK;
}

void lc__image_free(struct lc_cog *cog, struct lc__image *img)
{
    lc__free(&cog->alloc, img->offsets.values);
    lc__free(&cog->alloc, img->offsets.loaded);
    lc__free(&cog->alloc, img->counts.values);
    lc__free(&cog->alloc, img->counts.loaded);
    lc__free(&cog->alloc, img->jpeg_tables);
    memset(img, 0, sizeof(*img));
}

/* ---- one IFD --------------------------------------------------------------
 */

/* Everything found in one IFD, before it becomes an image. */
struct ifd_tags {
    struct lc__tag tags[64];
    size_t ntags;
};

static const struct lc__tag *find_tag(const struct ifd_tags *t, uint16_t code)
{
    for (size_t i = 0; i < t->ntags; i++) {
        if (t->tags[i].code == code)
            return &t->tags[i];
    }
    return NULL;
}

/* Tags lazycogs uses; every other tag in the IFD is skipped unread. */
static bool tag_is_used(uint16_t code)
{
    switch (code) {
    case TAG_NEW_SUBFILE_TYPE:
    case TAG_IMAGE_WIDTH:
    case TAG_IMAGE_LENGTH:
    case TAG_BITS_PER_SAMPLE:
    case TAG_COMPRESSION:
    case TAG_PHOTOMETRIC:
    case TAG_STRIP_OFFSETS:
    case TAG_SAMPLES_PER_PIXEL:
    case TAG_ROWS_PER_STRIP:
    case TAG_STRIP_BYTE_COUNTS:
    case TAG_PLANAR_CONFIG:
    case TAG_PREDICTOR:
    case TAG_TILE_WIDTH:
    case TAG_TILE_LENGTH:
    case TAG_TILE_OFFSETS:
    case TAG_TILE_BYTE_COUNTS:
    case TAG_SAMPLE_FORMAT:
    case TAG_JPEG_TABLES:
    case TAG_MODEL_PIXEL_SCALE:
    case TAG_MODEL_TIEPOINT:
    case TAG_MODEL_TRANSFORMATION:
    case TAG_GEO_KEY_DIRECTORY:
    case TAG_GEO_DOUBLE_PARAMS:
    case TAG_GEO_ASCII_PARAMS:
    case TAG_GDAL_METADATA:
    case TAG_GDAL_NODATA:
    case TAG_LERC_PARAMETERS:
        return true;
    default:
        return false;
    }
}

/* Reads the entries of the IFD at offset into tags; *next_ret gets the
 * offset of the next IFD. ifd gets the IFD's bytes (caller frees). */
static int read_ifd(struct lc_cog *cog, uint64_t offset, struct ifd_tags *tags,
                    struct ifd_bytes *ifd, uint64_t *next_ret)
{
    size_t count_nbytes = cog->bigtiff ? 8 : 2;
    size_t entry_nbytes = cog->bigtiff ? 20 : 12;
    size_t next_nbytes = cog->bigtiff ? 8 : 4;
    uint8_t count_raw[8];

    LC_FORWARD_IF_ERROR(read_bytes_in(cog, NULL, offset, count_raw,
                                      count_nbytes, &cog->open_err));
    uint64_t n = cog->bigtiff ? load64(cog, count_raw) : load16(cog, count_raw);
    /* No real IFD has thousands of entries; a huge count is corruption. */
    if (n == 0 || n > 4096)
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: IFD at %" PRIu64 " has %" PRIu64 " entries",
                         name_of(cog), offset, n);
    size_t nbytes = count_nbytes + (size_t)n * entry_nbytes + next_nbytes;
    uint8_t *data = lc__malloc(&cog->alloc, nbytes);
    if (data == NULL)
        return lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory",
                         name_of(cog));
    int status = read_bytes_in(cog, NULL, offset, data, nbytes, &cog->open_err);
    if (status < 0) {
        lc__free(&cog->alloc, data);
        return status;
    }
    ifd->offset = offset;
    ifd->data = data;
    ifd->nbytes = nbytes;

    tags->ntags = 0;
    uint16_t prev_code = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = data + count_nbytes + i * entry_nbytes;
        struct lc__tag t;
        t.code = load16(cog, e);
        t.type = load16(cog, e + 2);
        t.count = cog->bigtiff ? load64(cog, e + 4) : load32(cog, e + 4);
        size_t value_pos = cog->bigtiff ? 12 : 8;
        size_t inline_cap = cog->bigtiff ? 8 : 4;
        /* Tags must be sorted; a repeat would make the IFD ambiguous. */
        if (i > 0 && t.code == prev_code) {
            lc__free(&cog->alloc, data);
            ifd->data = NULL;
            return lc__error(&cog->open_err, LC_ECORRUPT,
                             "%s: IFD at %" PRIu64 " repeats tag %u",
                             name_of(cog), offset, t.code);
        }
        prev_code = t.code;
        if (!tag_is_used(t.code))
            continue;
        size_t unit = type_nbytes(t.type);
        bool is_inline = unit != 0 && t.count <= inline_cap / unit;
        if (is_inline)
            t.offset = offset + count_nbytes + i * entry_nbytes + value_pos;
        else
            t.offset = cog->bigtiff ? load64(cog, e + value_pos)
                                    : load32(cog, e + value_pos);
        if (tags->ntags < LC_ARRAY_SIZE(tags->tags))
            tags->tags[tags->ntags++] = t;
    }
    const uint8_t *np = data + count_nbytes + n * entry_nbytes;
    *next_ret = cog->bigtiff ? load64(cog, np) : load32(cog, np);
    return LC_OK;
}

static int scalar_or(struct lc_cog *cog, const struct ifd_bytes *ifd,
                     const struct ifd_tags *tags, uint16_t code,
                     uint64_t fallback, uint64_t *v)
{
    const struct lc__tag *t = find_tag(tags, code);

    if (t == NULL) {
        *v = fallback;
        return LC_OK;
    }
    return tag_u64_first(cog, ifd, t, v);
}

/* Fills img from the tags of one IFD and checks that it is readable. */
static int image_from_tags(struct lc_cog *cog, const struct ifd_bytes *ifd,
                           const struct ifd_tags *tags, struct lc__image *img)
{
    const char *name = name_of(cog);
    uint64_t v, width, height, spp, planar, bw, bh;

    LC_FORWARD_IF_ERROR(scalar_or(cog, ifd, tags, TAG_NEW_SUBFILE_TYPE, 0, &v));
    img->subfile_type = (uint32_t)v;
    LC_RETURN_IF(find_tag(tags, TAG_IMAGE_WIDTH) == NULL ||
                     find_tag(tags, TAG_IMAGE_LENGTH) == NULL,
                 &cog->open_err, LC_ECORRUPT, "%s: IFD without image size",
                 name);
    LC_FORWARD_IF_ERROR(scalar_or(cog, ifd, tags, TAG_IMAGE_WIDTH, 0, &width));
    LC_FORWARD_IF_ERROR(
        scalar_or(cog, ifd, tags, TAG_IMAGE_LENGTH, 0, &height));
    LC_RETURN_IF(width == 0 || height == 0 || width > 1u << 24 ||
                     height > 1u << 24,
                 &cog->open_err, LC_ELIMIT,
                 "%s: image size %" PRIu64 " x %" PRIu64 " is out of range",
                 name, width, height);
    img->width = (uint32_t)width;
    img->height = (uint32_t)height;

    LC_FORWARD_IF_ERROR(
        scalar_or(cog, ifd, tags, TAG_SAMPLES_PER_PIXEL, 1, &spp));
    LC_RETURN_IF(spp == 0 || spp > 256, &cog->open_err, LC_ELIMIT,
                 "%s: %" PRIu64 " samples per pixel", name, spp);
    img->samples = (uint16_t)spp;

    const struct lc__tag *t = find_tag(tags, TAG_BITS_PER_SAMPLE);
    img->bits_per_sample = 1;
    if (t != NULL)
        LC_FORWARD_IF_ERROR(
            tag_u16_uniform(cog, ifd, t, &img->bits_per_sample));
    t = find_tag(tags, TAG_SAMPLE_FORMAT);
    img->sample_format = 1;
    if (t != NULL)
        LC_FORWARD_IF_ERROR(tag_u16_uniform(cog, ifd, t, &img->sample_format));
    LC_FORWARD_IF_ERROR(scalar_or(cog, ifd, tags, TAG_COMPRESSION, 1, &v));
    img->compression = (uint16_t)v;
    LC_FORWARD_IF_ERROR(scalar_or(cog, ifd, tags, TAG_PREDICTOR, 1, &v));
    img->predictor = (uint16_t)v;
    LC_FORWARD_IF_ERROR(scalar_or(cog, ifd, tags, TAG_PHOTOMETRIC, 1, &v));
    img->photometric = (uint16_t)v;
    LC_FORWARD_IF_ERROR(
        scalar_or(cog, ifd, tags, TAG_PLANAR_CONFIG, 1, &planar));
    img->planar_separate = planar == 2 && spp > 1;

    const struct lc__tag *offsets_tag, *counts_tag;
    if (find_tag(tags, TAG_TILE_WIDTH) != NULL) {
        img->tiled = true;
        LC_FORWARD_IF_ERROR(scalar_or(cog, ifd, tags, TAG_TILE_WIDTH, 0, &bw));
        LC_FORWARD_IF_ERROR(scalar_or(cog, ifd, tags, TAG_TILE_LENGTH, 0, &bh));
        offsets_tag = find_tag(tags, TAG_TILE_OFFSETS);
        counts_tag = find_tag(tags, TAG_TILE_BYTE_COUNTS);
    } else {
        img->tiled = false;
        bw = width;
        LC_FORWARD_IF_ERROR(
            scalar_or(cog, ifd, tags, TAG_ROWS_PER_STRIP, height, &bh));
        if (bh > height)
            bh = height;
        offsets_tag = find_tag(tags, TAG_STRIP_OFFSETS);
        counts_tag = find_tag(tags, TAG_STRIP_BYTE_COUNTS);
    }
    LC_RETURN_IF(bw == 0 || bh == 0 || bw > 1u << 16 || bh > 1u << 24,
                 &cog->open_err, LC_ELIMIT,
                 "%s: block size %" PRIu64 " x %" PRIu64 " is out of range",
                 name, bw, bh);
    LC_RETURN_IF(offsets_tag == NULL || counts_tag == NULL, &cog->open_err,
                 LC_ECORRUPT, "%s: IFD without block offsets or byte counts",
                 name);
    img->block_width = (uint32_t)bw;
    img->block_height = (uint32_t)bh;
    img->blocks_across = (uint32_t)((width + bw - 1) / bw);
    img->blocks_down = (uint32_t)((height + bh - 1) / bh);
    img->nblocks = (uint64_t)img->blocks_across * img->blocks_down *
                   (img->planar_separate ? spp : 1);

    t = find_tag(tags, TAG_JPEG_TABLES);
    if (t != NULL) {
        uint8_t *raw;
        LC_FORWARD_IF_ERROR(
            tag_raw(cog, ifd, t, &raw, &img->jpeg_tables_nbytes));
        img->jpeg_tables = raw;
    }
    t = find_tag(tags, TAG_LERC_PARAMETERS);
    if (t != NULL) {
        uint64_t *vals;
        LC_FORWARD_IF_ERROR(tag_u64_array(cog, ifd, t, &vals));
        img->lerc_version = t->count > 0 ? (uint32_t)vals[0] : 0;
        img->lerc_wrap = t->count > 1 ? (uint32_t)vals[1] : 0;
        lc__free(&cog->alloc, vals);
    }
    LC_FORWARD_IF_ERROR(
        block_index_init(cog, ifd, offsets_tag, img->nblocks, &img->offsets));
    return block_index_init(cog, ifd, counts_tag, img->nblocks, &img->counts);
}

/* ---- GeoTIFF tags of the first IFD ----------------------------------------
 */

static double parse_nodata(const char *s, bool *ok)
{
    char *end;

    while (*s == ' ')
        s++;
    /* strtod reads "nan", "inf", "-inf" and numbers alike, as GDAL does. */
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\n')
        end++;
    *ok = end != s && *end == '\0';
    return v;
}

/* Finds `role="ROLE"` items of band 1 (sample 0) in GDAL_METADATA XML, e.g.
 * <Item name="SCALE" sample="0" role="scale">0.0001</Item>. */
static bool metadata_item(const char *xml, const char *role, double *v)
{
    char pattern[32];

    snprintf(pattern, sizeof(pattern), "role=\"%s\"", role);
    for (const char *p = strstr(xml, pattern); p != NULL;
         p = strstr(p + 1, pattern)) {
        const char *start = p;
        while (start > xml && *start != '<')
            start--;
        const char *close = strchr(p, '>');
        if (close == NULL)
            return false;
        const char *sample = strstr(start, "sample=\"");
        if (sample != NULL && sample < close && sample[8] != '0')
            continue;
        char *end;
        double d = strtod(close + 1, &end);
        if (end != close + 1) {
            *v = d;
            return true;
        }
    }
    return false;
}

static int read_geotiff_tags(struct lc_cog *cog, const struct ifd_bytes *ifd,
                             const struct ifd_tags *tags)
{
    double *scale = NULL, *tie = NULL, *mt = NULL, *dparams = NULL;
    uint64_t *dir64 = NULL;
    uint16_t *dir = NULL;
    char *ascii = NULL, *nodata = NULL, *meta = NULL;
    const struct lc__tag *t;
    struct lc__geokeys_input gk = {0};
    int status = LC_OK;

    cog->scale = 1.0;
    cog->offset = 0.0;
#define TRY(expr)                                                              \
    do {                                                                       \
        status = (expr);                                                       \
        if (status < 0)                                                        \
            goto out;                                                          \
    } while (0)
    if ((t = find_tag(tags, TAG_MODEL_PIXEL_SCALE)) != NULL && t->count >= 2)
        TRY(tag_f64_array(cog, ifd, t, &scale));
    size_t ntie = 0;
    if ((t = find_tag(tags, TAG_MODEL_TIEPOINT)) != NULL && t->count >= 6) {
        TRY(tag_f64_array(cog, ifd, t, &tie));
        ntie = (size_t)(t->count / 6);
    }
    if ((t = find_tag(tags, TAG_MODEL_TRANSFORMATION)) != NULL &&
        t->count >= 16)
        TRY(tag_f64_array(cog, ifd, t, &mt));
    if ((t = find_tag(tags, TAG_GEO_KEY_DIRECTORY)) != NULL) {
        TRY(tag_u64_array(cog, ifd, t, &dir64));
        dir = lc__malloc_array(&cog->alloc, (size_t)t->count, 2);
        if (dir == NULL) {
            status = lc__error(&cog->open_err, LC_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < t->count; i++)
            dir[i] = (uint16_t)dir64[i];
        gk.directory = dir;
        gk.directory_count = (size_t)t->count;
    }
    if ((t = find_tag(tags, TAG_GEO_DOUBLE_PARAMS)) != NULL) {
        TRY(tag_f64_array(cog, ifd, t, &dparams));
        gk.doubles = dparams;
        gk.doubles_count = (size_t)t->count;
    }
    if ((t = find_tag(tags, TAG_GEO_ASCII_PARAMS)) != NULL) {
        TRY(tag_string(cog, ifd, t, &ascii));
        gk.ascii = ascii;
        gk.ascii_nbytes = (size_t)t->count;
    }
    if ((t = find_tag(tags, TAG_GDAL_NODATA)) != NULL) {
        TRY(tag_string(cog, ifd, t, &nodata));
        bool ok;
        double v = parse_nodata(nodata, &ok);
        if (ok) {
            cog->has_nodata = true;
            cog->nodata = v;
        }
    }
    if ((t = find_tag(tags, TAG_GDAL_METADATA)) != NULL) {
        TRY(tag_string(cog, ifd, t, &meta));
        (void)metadata_item(meta, "scale", &cog->scale);
        (void)metadata_item(meta, "offset", &cog->offset);
    }

    status = lc__geokeys_parse(&gk, &cog->crs, &cog->open_err);
    if (status < 0) {
        /* Say which file; the GeoKey parser knows only the keys. */
        char msg[LC_ERRMSG_CAP];
        snprintf(msg, sizeof(msg), "%s", cog->open_err.msg);
        lc__error(&cog->open_err, status, "%s: GeoKeys: %s", name_of(cog), msg);
        goto out;
    }

    /* The geotransform, as GDAL derives it (GDAL order: x0, dx/dcol,
     * dx/drow, y0, dy/dcol, dy/drow). */
    double *gt = cog->geotransform;
    if (mt != NULL) {
        cog->georef = LC_GEOREF_TRANSFORM;
        gt[0] = mt[3];
        gt[1] = mt[0];
        gt[2] = mt[1];
        gt[3] = mt[7];
        gt[4] = mt[4];
        gt[5] = mt[5];
    } else if (tie != NULL && ntie == 1 && scale != NULL) {
        cog->georef = LC_GEOREF_TIEPOINT;
        gt[1] = scale[0];
        gt[2] = 0.0;
        gt[4] = 0.0;
        gt[5] = -scale[1];
        gt[0] = tie[3] - tie[0] * gt[1];
        gt[3] = tie[4] - tie[1] * gt[5];
    } else if (tie != NULL && ntie > 1) {
        cog->georef = LC_GEOREF_GCPS;
    } else {
        cog->georef = LC_GEOREF_NONE;
    }
    if (cog->georef == LC_GEOREF_TIEPOINT ||
        cog->georef == LC_GEOREF_TRANSFORM) {
        /* A PixelIsPoint file georeferences pixel centres; GDAL moves the
         * origin half a pixel to the corner, and so do we. */
        if (cog->crs.raster_type == LC_RASTER_PIXEL_IS_POINT) {
            gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
            gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
        }
        cog->rotated = gt[2] != 0.0 || gt[4] != 0.0;
    } else {
        memset(cog->geotransform, 0, sizeof(cog->geotransform));
        cog->geotransform[1] = 1.0;
        cog->geotransform[5] = 1.0;
    }
#undef TRY
out:
    lc__free(&cog->alloc, scale);
    lc__free(&cog->alloc, tie);
    lc__free(&cog->alloc, mt);
    lc__free(&cog->alloc, dparams);
    lc__free(&cog->alloc, dir64);
    lc__free(&cog->alloc, dir);
    lc__free(&cog->alloc, ascii);
    lc__free(&cog->alloc, nodata);
    lc__free(&cog->alloc, meta);
    return status;
}

/* ---- the chain ------------------------------------------------------------
 */

static int append_image(struct lc_cog *cog, struct lc__image **arr, size_t *n,
                        const struct lc__image *img)
{
    size_t old_nbytes = *n * sizeof(**arr);
    struct lc__image *grown =
        lc__realloc(&cog->alloc, *arr, old_nbytes, old_nbytes + sizeof(**arr));
    if (grown == NULL)
        return lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory",
                         name_of(cog));
    grown[*n] = *img;
    *arr = grown;
    (*n)++;
    return LC_OK;
}

/* Overviews must share the full-resolution image's sample layout; GDAL
 * ignores those that do not, and so do we. */
static bool same_layout(const struct lc__image *a, const struct lc__image *b)
{
    return a->samples == b->samples &&
           a->bits_per_sample == b->bits_per_sample &&
           a->sample_format == b->sample_format;
}

static int compare_width_desc(const void *pa, const void *pb)
{
    const struct lc__image *a = pa, *b = pb;

    return a->width < b->width ? 1 : a->width > b->width ? -1 : 0;
}

int lc__tiff_parse(struct lc_cog *cog)
{
    const char *name = name_of(cog);
    const uint8_t *h = cog->head;

    LC_RETURN_IF(cog->head_nbytes < 8, &cog->open_err, LC_ECORRUPT,
                 "%s: not a TIFF file (%zu bytes)", name, cog->head_nbytes);
    if (h[0] == 'I' && h[1] == 'I')
        cog->big_endian = false;
    else if (h[0] == 'M' && h[1] == 'M')
        cog->big_endian = true;
    else
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: not a TIFF file (bad byte-order mark)", name);
    uint16_t magic = load16(cog, h + 2);
    uint64_t first;
    if (magic == 42) {
        cog->bigtiff = false;
        first = load32(cog, h + 4);
    } else if (magic == 43) {
        cog->bigtiff = true;
        LC_RETURN_IF(cog->head_nbytes < 16 || load16(cog, h + 4) != 8 ||
                         load16(cog, h + 6) != 0,
                     &cog->open_err, LC_ECORRUPT, "%s: bad BigTIFF header",
                     name);
        first = load64(cog, h + 8);
    } else {
        return lc__error(&cog->open_err, LC_ECORRUPT,
                         "%s: not a TIFF file (magic %u)", name, magic);
    }

    uint64_t *visited = lc__malloc_array(&cog->alloc, cog->opts.max_ifds, 8);
    if (visited == NULL)
        return lc__error(&cog->open_err, LC_ENOMEM, "%s: out of memory", name);
    size_t nvisited = 0;
    int status = LC_OK;
    uint64_t offset = first;
    while (offset != 0) {
        if (offset < 8) {
            status = lc__error(&cog->open_err, LC_ECORRUPT,
                               "%s: IFD offset %" PRIu64 " is inside the "
                               "header",
                               name, offset);
            break;
        }
        for (size_t i = 0; i < nvisited; i++) {
            if (visited[i] == offset) {
                status = lc__error(&cog->open_err, LC_ECORRUPT,
                                   "%s: IFD chain loops back to offset "
                                   "%" PRIu64,
                                   name, offset);
                break;
            }
        }
        if (status < 0)
            break;
        if (nvisited == cog->opts.max_ifds) {
            status = lc__error(
                &cog->open_err, LC_ELIMIT,
                "%s: more IFDs than max_ifds (%zu)" LC__COG_RAISE_HINT(
                    "max_ifds"),
                name, cog->opts.max_ifds);
            break;
        }
        visited[nvisited++] = offset;

        struct ifd_tags tags;
        struct ifd_bytes ifd = {0};
        uint64_t next = 0;
        status = read_ifd(cog, offset, &tags, &ifd, &next);
        if (status < 0)
            break;
        struct lc__image img = {0};
        bool first_ifd = nvisited == 1;
        status = image_from_tags(cog, &ifd, &tags, &img);
        if (status == LC_OK && first_ifd)
            status = read_geotiff_tags(cog, &ifd, &tags);
        lc__free(&cog->alloc, (void *)(uintptr_t)ifd.data);
        if (status < 0) {
            lc__image_free(cog, &img);
            /* The first IFD must be readable; a broken overview or mask
             * later in the chain makes the whole file suspect too. */
            break;
        }
        bool is_mask = (img.subfile_type & 4) != 0;
        if (is_mask)
            status = append_image(cog, &cog->masks, &cog->nmasks, &img);
        else if (cog->nlevels == 0 || ((img.subfile_type & 1) != 0 &&
                                       same_layout(&cog->levels[0], &img)))
            status = append_image(cog, &cog->levels, &cog->nlevels, &img);
        else
            lc__image_free(cog, &img);
        if (status < 0) {
            lc__image_free(cog, &img);
            break;
        }
        offset = next;
    }
    lc__free(&cog->alloc, visited);
    LC_FORWARD_IF_ERROR(status);
    LC_RETURN_IF(cog->nlevels == 0, &cog->open_err, LC_ECORRUPT,
                 "%s: no image in the file", name);

    /* Overviews from finest to coarsest, whatever order the file uses. */
    if (cog->nlevels > 2)
        qsort(cog->levels + 1, cog->nlevels - 1, sizeof(cog->levels[0]),
              compare_width_desc);
    /* Each mask belongs to the image of its size. */
    for (size_t m = 0; m < cog->nmasks; m++) {
        for (size_t l = 0; l < cog->nlevels; l++) {
            if (cog->levels[l].mask == NULL &&
                cog->levels[l].width == cog->masks[m].width &&
                cog->levels[l].height == cog->masks[m].height) {
                cog->levels[l].mask = &cog->masks[m];
                break;
            }
        }
    }
    return LC_OK;
}
