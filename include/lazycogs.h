/* lazycogs.h - public C API of liblazycogs. */
/* SPDX-License-Identifier: MIT */

/*
 * liblazycogs reads windows of a virtual (band, time, y, x) array assembled
 * from many Cloud-Optimized GeoTIFFs listed in a stac-geoparquet file,
 * fetching only the bytes each window needs.
 *
 * Conventions that hold for every function in this header:
 *
 *   - Every function that can fail returns an int status: 0 (LC_OK) on
 *     success, a negative LC_E* code on failure. Results come back through
 *     out-parameters named *_ret. lc_strerror() and lc_err_name() describe
 *     a status.
 *   - Every object is an opaque handle created by an lc_*_open / _new call
 *     and destroyed by the matching _close / _free call; destroying NULL does
 *     nothing. A handle is never safe for concurrent use from several
 *     threads, but separate handles may be used in separate threads;
 *     the exceptions say so where the handle is declared (struct lc_cog,
 *     struct lc_store, struct lc_collection).
 *   - A callback is never called if the call that registered it returned an
 *     error.
 *   - The library never writes to stdout.
 *
 * ABI policy: before 1.0 every minor version may change the ABI; from 1.0 on,
 * the same major version means ABI-compatible. The version is defined here
 * once; CMake and the Python packaging read it from this file.
 */
#ifndef LAZYCOGS_H
#define LAZYCOGS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LC_VERSION_MAJOR 0
#define LC_VERSION_MINOR 1
#define LC_VERSION_PATCH 0
#define LC_VERSION_NUMBER                                                      \
    ((LC_VERSION_MAJOR * 10000) + (LC_VERSION_MINOR * 100) + LC_VERSION_PATCH)

/* Every exported symbol is marked with LC_API; all others are hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define LC_API __attribute__((visibility("default")))
#else
#define LC_API
#endif

/*
 * The error table: X(name, value, description). Values are pinned and never
 * reused. Each code is one category of failure, chosen by what the caller
 * does next (fix the call, free memory, retry, give up on the file...).
 */
#define LC_ERRNO_MAP(X)                                                        \
    X(INVAL, -1, "invalid argument")                                           \
    X(NOMEM, -2, "out of memory")                                              \
    X(IO, -3, "I/O or network error")                                          \
    X(HTTP, -4, "HTTP error status")                                           \
    X(CORRUPT, -5, "corrupt or malformed data")                                \
    X(UNSUPPORTED, -6, "unsupported feature")                                  \
    X(NOSPACE, -7, "output buffer too small")                                  \
    X(LIMIT, -8, "resource limit exceeded")                                    \
    X(CANCELLED, -9, "operation cancelled")                                    \
    X(NOTFOUND, -10, "not found")

/* Status codes. LC_OK is success; every error is negative. */
enum lc_status {
    LC_OK = 0,
#define LC_ERRNO_ENUM(name, value, text) LC_E##name = (value),
    LC_ERRNO_MAP(LC_ERRNO_ENUM)
#undef LC_ERRNO_ENUM
};

/*
 * Returns LC_VERSION_NUMBER of the library actually linked, which may differ
 * from the header a caller was compiled with when the library is shared.
 * Thread-safe.
 */
LC_API unsigned lc_version(void);

/*
 * Returns the version as a static string "MAJOR.MINOR.PATCH". The string is
 * owned by the library and valid for the life of the process. Thread-safe.
 */
LC_API const char *lc_version_string(void);

/*
 * Returns a static, human-readable description of a status code, e.g.
 * "corrupt or malformed data" for LC_ECORRUPT, "success" for LC_OK and
 * "unknown error" for any value not in the table. Never returns NULL.
 * Thread-safe.
 */
LC_API const char *lc_strerror(int status);

/*
 * Returns the static name of a status code, e.g. "LC_ECORRUPT", "LC_OK", or
 * "LC_EUNKNOWN" for any value not in the table. Never returns NULL.
 * Thread-safe.
 */
LC_API const char *lc_err_name(int status);

/*
 * Custom memory allocation for one object, given in that object's options.
 * alloc(opaque, nbytes) returns NULL on failure; free(opaque, ptr) accepts
 * NULL. Both must be callable from any thread without locks held by the
 * caller (the Python module passes PyMem_RawMalloc/PyMem_RawFree). An
 * all-NULL allocator means the C library's malloc and free.
 */
struct lc_allocator {
    void *(*alloc)(void *opaque, size_t nbytes);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
};

/*
 * Returns the message of the most recent failed lc_ call on the calling
 * thread, e.g. "/data/a.tif: TileOffsets entry 12 points past the end of
 * the file (offset 90210, size 4096)", or "" when none failed. The string
 * is owned by the library and valid until the next lc_ call on this thread.
 */
LC_API const char *lc_errmsg(void);

/* ---- data types -------------------------------------------------------- */

/* Pixel data types of arrays the library returns. Values are pinned. */
enum lc_dtype {
    LC_DTYPE_UNKNOWN = 0,
    LC_DTYPE_UINT8 = 1,
    LC_DTYPE_INT8 = 2,
    LC_DTYPE_UINT16 = 3,
    LC_DTYPE_INT16 = 4,
    LC_DTYPE_UINT32 = 5,
    LC_DTYPE_INT32 = 6,
    LC_DTYPE_UINT64 = 7,
    LC_DTYPE_INT64 = 8,
    LC_DTYPE_FLOAT32 = 9,
    LC_DTYPE_FLOAT64 = 10
};

/* Size of one value of dtype in bytes, or 0 for LC_DTYPE_UNKNOWN. */
LC_API size_t lc_dtype_nbytes(enum lc_dtype dtype);

/* Static NumPy-style name of dtype ("uint16", "float32"...); never NULL. */
LC_API const char *lc_dtype_name(enum lc_dtype dtype);

/* ---- object stores ----------------------------------------------------- */

/*
 * Where objects are read from, and how: a local folder (a plain path or
 * file://), an HTTP(S) server, an S3 bucket (s3://bucket, or its https
 * amazonaws.com address), a public Google Cloud Storage bucket (gs://) or
 * an Azure blob container (https://ACCOUNT.blob.core.windows.net/...).
 * Remote reads go through one process-wide I/O thread driving libcurl:
 * keep-alive connections, HTTP/2 where offered, retries with backoff.
 *
 * A store is safe for concurrent use from any number of threads, and is
 * reference-counted: readers opened on it keep it alive.
 */
struct lc_store;

/* Options of a store; all-zero means the defaults in brackets. Strings are
 * copied by lc_store_open. Option names follow obstore's. */
struct lc_store_options {
    size_t struct_size; /* sizeof(struct lc_store_options) */
    /* S3 (and S3-compatible servers such as MinIO or moto) */
    const char *region;        /* [AWS_REGION, AWS_DEFAULT_REGION, us-east-1] */
    const char *endpoint;      /* e.g. "http://127.0.0.1:9000" [AWS] */
    const char *access_key_id; /* [AWS_ACCESS_KEY_ID, ~/.aws/credentials] */
    const char *secret_access_key; /* [AWS_SECRET_ACCESS_KEY, ...] */
    const char *session_token;     /* [AWS_SESSION_TOKEN, ...] */
    const char *profile;           /* [AWS_PROFILE, "default"] */
    int skip_signature;            /* 1: unsigned requests (public buckets) */
    int request_payer;             /* 1: send x-amz-request-payer */
    int virtual_hosted_style;      /* 1: bucket.host; [0: path-style with a
                                      custom endpoint, virtual-hosted on AWS] */
    /* HTTP(S) authentication */
    const char *bearer_token; /* Authorization: Bearer, same host only */
    const char *azure_sas;    /* SAS token appended to Azure URLs */
    int use_netrc;            /* 1: credentials from ~/.netrc ($NETRC) */
    const char *ca_file;      /* PEM bundle of trusted CAs [system] */
    int insecure;             /* 1: skip TLS peer verification */
    /* Transfers */
    double connect_timeout_s;    /* [10] */
    double first_byte_timeout_s; /* [30] */
    double stall_timeout_s;      /* no byte for this long fails [30] */
    unsigned max_attempts;       /* attempts per request, 1 = no retry [5] */
    double retry_base_s;         /* first backoff [0.1], doubling */
    double retry_max_s;          /* longest backoff [10] */
    unsigned max_connections_per_host; /* [32] */
    unsigned max_in_flight;     /* transfers at once, whole process [64] */
    size_t coalesce_gap_nbytes; /* merge ranges closer than this [1 MiB];
                                   SIZE_MAX: never merge */
};

/*
 * Opens a store for url, the root of the objects it serves ("s3://bucket",
 * "https://host", "/data", "file:///data"...). Returns LC_OK, LC_EINVAL
 * (bad URL or options), LC_EUNSUPPORTED (scheme) or LC_ENOMEM.
 */
LC_API int lc_store_open(const char *url, const struct lc_store_options *opts,
                         struct lc_store **store_ret);

/* Drops the caller's reference; NULL does nothing. */
LC_API void lc_store_close(struct lc_store *store);

/* One byte range to read: nbytes bytes from offset into buf; nread says
 * how many arrived (fewer only where the object ends). */
struct lc_range_request {
    uint64_t offset;
    size_t nbytes;
    uint8_t *buf;
    size_t nread;
};

/*
 * Reads byte ranges of the object at href, all at once: a remote store
 * merges neighbouring ranges and runs the requests concurrently. store may
 * be NULL (a default store for href's root). Returns LC_OK (check each
 * nread), or LC_EINVAL, LC_ENOTFOUND, LC_EIO, LC_EHTTP, LC_ECORRUPT,
 * LC_ENOMEM with lc_errmsg() naming the object and what was tried.
 * Thread-safe.
 */
LC_API int lc_store_read_ranges(struct lc_store *store, const char *href,
                                struct lc_range_request *requests,
                                size_t nrequests);

/* Counters of remote reads. */
struct lc_io_stats {
    size_t struct_size;        /* set by the caller */
    uint64_t requests;         /* HTTP requests sent, retries included */
    uint64_t bytes;            /* bytes received */
    uint64_t retries;          /* requests that were attempts after the first */
    uint64_t coalesced_ranges; /* ranges that shared a request with another */
    double wait_s;             /* time callers spent waiting for transfers */
};

/* Counters of one store since it was opened. */
LC_API int lc_store_get_stats(const struct lc_store *store,
                              struct lc_io_stats *stats_ret);

/* Counters of the whole process. */
LC_API int lc_io_get_process_stats(struct lc_io_stats *stats_ret);

/* ---- COG reader -------------------------------------------------------- */

/*
 * An open GeoTIFF: its header and IFDs parsed, its pixels not read. Created
 * by lc_cog_open / lc_cog_open_ex, destroyed by lc_cog_close.
 *
 * Threads: a COG handle may be read from several threads at once;
 * lc_cog_close must not race reads. lc_cog_read_window, lc_cog_read_mask,
 * lc_cog_get_info and lc_cog_get_level may be called concurrently on one
 * handle (each call reports its error to its own thread's lc_errmsg(); the
 * request and byte counters of lc_cog_get_info count every thread's
 * reads). Block reads and their I/O run in parallel; only the first load
 * of a lazily fetched block index (TileOffsets/TileByteCounts too large
 * for the prefix) holds a per-handle lock, I/O included. A handle's
 * allocator and, for lc_cog_open_io, its read method must then be callable
 * from several threads at once. lc_cog_close must be called once, after
 * every other call on the handle has returned.
 */
struct lc_cog;

/* Options for lc_cog_open_ex; all-zero means the defaults. */
struct lc_cog_options {
    size_t struct_size; /* sizeof(struct lc_cog_options) */
    /* Bytes fetched from the start of the file by the first read; headers
     * lying beyond are fetched with further reads. 0: 65536. */
    size_t prefix_nbytes;
    /* Caps on what the file may ask of us; 0: the defaults in brackets. */
    size_t max_ifds;         /* IFDs in the chain [256] */
    size_t max_block_nbytes; /* one decoded or compressed block [256 MiB] */
    size_t max_tag_nbytes;   /* one tag's values [64 MiB] */
    struct lc_allocator allocator;
    /* Where href is read from; NULL: a store for href's root with default
     * options, shared through a process-wide cache. */
    struct lc_store *store;
};

/*
 * Opens the GeoTIFF at href: a local path, a file://, http(s)://, s3:// or
 * gs:// URL (or an href relative to opts->store's root). Reads the file
 * header, every IFD (overviews and masks) and the GeoTIFF tags, fetching
 * the first prefix_nbytes bytes at once and more only where headers lie
 * beyond. Returns LC_OK and the handle in *cog_ret, or LC_EINVAL,
 * LC_ENOTFOUND, LC_EIO, LC_ECORRUPT, LC_EUNSUPPORTED, LC_ELIMIT, LC_ENOMEM
 * (*cog_ret is then NULL and lc_errmsg() says what and where).
 */
LC_API int lc_cog_open(const char *href, struct lc_cog **cog_ret);
LC_API int lc_cog_open_ex(const char *href, const struct lc_cog_options *opts,
                          struct lc_cog **cog_ret);

/* Closes a handle and frees everything it owns; NULL does nothing. */
LC_API void lc_cog_close(struct lc_cog *cog);

/* How the file's georeferencing was given. */
enum lc_georef {
    LC_GEOREF_NONE = 0,      /* no geotransform (also GCP-only files) */
    LC_GEOREF_TIEPOINT = 1,  /* ModelTiepoint + ModelPixelScale */
    LC_GEOREF_TRANSFORM = 2, /* ModelTransformation */
    LC_GEOREF_GCPS = 3       /* several tiepoints: GCPs, no geotransform */
};

/* What a GeoTIFF holds, from lc_cog_get_info. Strings are borrowed from
 * the handle and valid until lc_cog_close. */
struct lc_cog_info {
    size_t struct_size; /* set by the caller: sizeof(struct lc_cog_info) */
    uint32_t width;     /* full-resolution size in pixels */
    uint32_t height;
    uint32_t block_width; /* a strip is a block as wide as the image */
    uint32_t block_height;
    uint32_t samples;    /* samples (bands) per pixel */
    enum lc_dtype dtype; /* of arrays read; float16 files read as float32 */
    uint32_t bits_per_sample; /* in the file (16 for float16) */
    uint32_t compression;     /* TIFF Compression tag value */
    uint32_t predictor;       /* 1, 2 or 3 */
    uint32_t photometric;     /* TIFF Photometric tag value */
    int planar_separate;      /* 1 when samples are stored in planes */
    int tiled;                /* 0 for strips */
    int bigtiff;
    int big_endian;
    size_t nlevels; /* 1 + number of overviews */
    int has_mask;   /* a GDAL internal mask at full resolution */
    enum lc_georef georef;
    double geotransform[6]; /* GDAL order; valid unless georef is NONE/GCPS */
    int rotated;            /* geotransform has rotation/shear terms */
    const char *crs;        /* "EPSG:32615", a PROJ string, or "" */
    int epsg;               /* 0 when the CRS has no EPSG code */
    int pixel_is_point;     /* GTRasterTypeGeoKey = PixelIsPoint */
    int has_nodata;
    double nodata;          /* GDAL_NODATA (may be nan/inf) */
    double scale;           /* GDAL_METADATA SCALE of band 1, else 1 */
    double offset;          /* GDAL_METADATA OFFSET of band 1, else 0 */
    uint64_t file_nbytes;   /* 0 when the size is unknown */
    uint64_t nrequests;     /* range reads made so far by this handle */
    uint64_t nbytes_read;   /* bytes fetched so far by this handle */
    uint64_t http_requests; /* HTTP requests for those reads: after
                               coalescing, retries included */
    uint64_t http_retries;
    uint64_t coalesced_ranges; /* range reads that shared a request */
    double wait_s;             /* time spent waiting for the network */
};

/* Fills *info_ret (whose struct_size the caller sets). Returns LC_OK or
 * LC_EINVAL. */
LC_API int lc_cog_get_info(const struct lc_cog *cog,
                           struct lc_cog_info *info_ret);

/* One resolution level: level 0 is full resolution, 1.. the overviews
 * from finest to coarsest. */
struct lc_cog_level {
    size_t struct_size; /* set by the caller */
    uint32_t width;
    uint32_t height;
    uint32_t block_width;
    uint32_t block_height;
    int has_mask;
    double geotransform[6]; /* the level's own pixel size and origin */
};

/* Fills *level_ret for level; LC_EINVAL when level >= nlevels. */
LC_API int lc_cog_get_level(const struct lc_cog *cog, size_t level,
                            struct lc_cog_level *level_ret);

/* A pixel window of one level: columns col_off.., rows row_off... */
struct lc_window {
    uint32_t col_off;
    uint32_t row_off;
    uint32_t width;
    uint32_t height;
};

/*
 * Reads a window of one level into out, as nsamples planes of
 * height x width values of info.dtype (C order: sample, row, column).
 * samples lists the 0-based samples to read, in output order; NULL means
 * all samples (nsamples is then ignored). out_nbytes must be at least
 * nsamples * width * height * lc_dtype_nbytes(dtype). Blocks the file
 * leaves empty (offset or byte count 0) read as nodata, or 0.
 * Returns LC_OK, LC_EINVAL (window outside the level, bad sample),
 * LC_ENOSPACE, LC_EIO, LC_ECORRUPT, LC_EUNSUPPORTED, LC_ELIMIT, LC_ENOMEM.
 */
LC_API int lc_cog_read_window(struct lc_cog *cog, size_t level,
                              const struct lc_window *window,
                              const uint32_t *samples, size_t nsamples,
                              void *out, size_t out_nbytes);

/*
 * Reads the GDAL internal mask of a level for window into out (width x
 * height bytes, 255 valid, 0 masked). LC_ENOTFOUND when the level has no
 * mask; other codes as lc_cog_read_window.
 */
LC_API int lc_cog_read_mask(struct lc_cog *cog, size_t level,
                            const struct lc_window *window, uint8_t *out,
                            size_t out_nbytes);

#if defined(LC_EXPERIMENTAL)
/*
 * Experimental (may change in any release): reading from a source of your
 * own, e.g. bytes in memory. read fills each request's buf with nbytes
 * bytes from offset, setting nread; nread < nbytes only where the object
 * ends. It returns LC_OK or a negative LC_E code, writing a message into
 * errmsg (errmsg_cap bytes). size (may be NULL) returns the object's size.
 * close (may be NULL) is called once by lc_cog_close. When a handle is
 * read from several threads at once, read is called from them at once.
 */
struct lc_io_methods {
    size_t struct_size; /* sizeof(struct lc_io_methods) */
    int (*read)(void *opaque, struct lc_range_request *requests,
                size_t nrequests, char *errmsg, size_t errmsg_cap);
    int (*size)(void *opaque, uint64_t *size_ret, char *errmsg,
                size_t errmsg_cap);
    void (*close)(void *opaque);
};

/* Like lc_cog_open_ex over a source of your own; name is used in messages.
 * The source is closed by lc_cog_close, or by this call when it fails. */
LC_API int lc_cog_open_io(const struct lc_io_methods *io, void *opaque,
                          const char *name, const struct lc_cog_options *opts,
                          struct lc_cog **cog_ret);

/*
 * Experimental (may change in any release): STAC catalogues. A catalogue
 * is a stac-geoparquet file, a directory or glob of them, NDJSON, a
 * FeatureCollection or a JSON array of items, at a local path or URL.
 *
 * struct lc_items_query says which items to list and what of each: all
 * strings borrowed for the call; all-zero (after struct_size) lists every
 * item with every asset.
 */
struct lc_items_query {
    size_t struct_size;   /* sizeof(struct lc_items_query) */
    const char *filter;   /* CQL2 text, or CQL2-JSON starting with '{' */
    const char *sortby;   /* "-eo:cloud_cover,datetime" or JSON */
    const char *datetime; /* instant, date, or START/END with ".." */
    int has_bbox;
    double bbox[4]; /* west, south, east, north (EPSG:4326); west > east
                       crosses the antimeridian */
    const char *const *ids;
    size_t nids;
    size_t limit; /* at most this many items after sorting (0: all) */
    const char *const *assets; /* asset keys (NULL: every key) */
    size_t nassets;
    const char *const *fields; /* properties to include */
    size_t nfields;
    const char *const *asset_fields; /* fields of each asset to include */
    size_t nasset_fields;
    size_t max_items;       /* load at most this many items (0: all) */
    int with_geometry;      /* include the footprint as GeoJSON */
    struct lc_store *store; /* reads the catalogue; NULL: default */
};

/*
 * Lists the items of the catalogue at href that query selects, in sortby
 * order, as JSON text: one object per item and line (the form `lazycogs
 * items` prints; docs/cli.md). *json_ret is NUL-terminated and freed with
 * lc_free; *nitems_ret (may be NULL) is the number of lines,
 * *nloaded_ret (may be NULL) the number of items loaded before filtering.
 * Returns LC_OK, or LC_EINVAL (a bad query: filter, sortby, datetime),
 * LC_ECORRUPT, LC_EUNSUPPORTED, LC_ELIMIT, LC_ENOMEM or an I/O error, with
 * lc_errmsg() naming href and the problem.
 */
LC_API int lc_items_json(const char *href, const struct lc_items_query *query,
                         char **json_ret, size_t *nitems_ret,
                         size_t *nloaded_ret);

/* Frees memory the library returned (NULL does nothing). */
LC_API void lc_free(void *ptr);

/*
 * How to reach the assets of a catalogue, from its first item (what
 * lazycogs.store_for builds a store from). The asset is asset_key, or the
 * first whose roles hold "data" or whose media type contains
 * "image/tiff", or the first. root is scheme://host of its href
 * ("file:///" for local files). The Storage Extension (v1: platform AWS;
 * v2: the asset's first storage:refs scheme of an S3 type) gives region,
 * request_payer and, for custom-s3, endpoint.
 */
struct lc_catalog_store_info {
    size_t struct_size; /* sizeof(struct lc_catalog_store_info) */
    int found_item;     /* 0: the catalogue has no item */
    int found_asset;    /* 0: no such asset (or none at all) */
    char item_id[512];
    char asset_key[256];
    char href[4096];
    char root[1024];
    int storage_version; /* the extension's major version, 0: absent */
    int has_region;
    char region[64];
    int request_payer;
    int has_endpoint;
    char endpoint[1024];
    int storage_malformed; /* the extension's fields could not be read */
    char storage_problem[256];
};

/* Fills *info (struct_size set by the caller) for href's first item.
 * store may be NULL. Returns LC_OK (see found_*) or the load errors. */
LC_API int lc_catalog_store_info(const char *href, struct lc_store *store,
                                 const char *asset_key,
                                 struct lc_catalog_store_info *info);

/*
 * Experimental (may change in any release): collections. A collection is
 * the lazy (band, time, y, x) array over the COGs a STAC catalogue lists:
 * opening it reads the catalogue and one header per band, never a pixel;
 * reading a window of it fetches, reprojects and mosaics only what that
 * window needs. docs/engine.md describes both phases.
 */

/* How the items of one time step combine into one pixel. Values pinned;
 * 0 is the default. */
enum lc_mosaic_method {
    LC_MOSAIC_FIRST = 0,   /* the first valid value in sort order */
    LC_MOSAIC_HIGHEST = 1, /* the largest valid value */
    LC_MOSAIC_LOWEST = 2,  /* the smallest valid value */
    LC_MOSAIC_MEAN = 3,    /* the mean of the valid values (float) */
    LC_MOSAIC_MEDIAN = 4,  /* their median (float) */
    LC_MOSAIC_STDEV = 5,   /* their population standard deviation (float) */
    LC_MOSAIC_COUNT = 6    /* how many valid values (uint16) */
};

/* What a read does when an item cannot be read (a fetch or decode error).
 * Contract violations (a dtype or nodata other than the collection's when
 * those were inferred) always fail the read. */
enum lc_errors_policy {
    LC_ERRORS_RAISE = 0, /* the read fails, naming the item */
    LC_ERRORS_IGNORE = 1 /* the item is skipped (counted in the stats) */
};

/*
 * Caps on what the files and servers a collection reads may ask of the
 * library: sizes and counts read from a catalogue or a COG header are
 * checked against them before anything is allocated, and a file over one
 * fails with LC_ELIMIT naming the cap. 0 in any field: the default in
 * brackets, which real archives never reach. docs/limits.md lists every
 * cap, these and the fixed ones. Added in 0.2.
 */
struct lc_limits {
    /* COG headers and blocks (the caps of struct lc_cog_options) */
    size_t max_ifds;         /* IFDs in one file's chain [256] */
    size_t max_block_nbytes; /* one block, compressed or decoded [256 MiB] */
    size_t max_tag_nbytes;   /* one TIFF tag's values [64 MiB] */
    /* stac-geoparquet catalogues */
    size_t max_footer_nbytes; /* one file's footer (FileMetaData) [128 MiB] */
    size_t max_page_nbytes;   /* one page, compressed or not [256 MiB] */
    size_t max_chunk_nbytes;  /* one column chunk of a row group [1 GiB] */
    size_t max_thrift_depth;  /* nesting of Thrift structures [32], <= 1000 */
    /* JSON catalogues (NDJSON, FeatureCollection, array) */
    size_t max_json_nbytes; /* the whole document [1 GiB] */
    size_t max_json_depth;  /* nesting of arrays and objects [64], <= 2000 */
    /* Item footprints (WKB in parquet, GeoJSON in JSON) */
    size_t max_geometry_points; /* coordinates of one geometry [16777216] */
};

/*
 * Sets the cap of limits called name (a field name above, e.g.
 * "max_block_nbytes") to value (0: the default). For callers that take
 * caps by name (the CLI's --limit, Python's limits=). Returns LC_OK, or
 * LC_EINVAL for an unknown name, with lc_errmsg() listing the names.
 * Added in 0.2.
 */
LC_API int lc_limits_set(struct lc_limits *limits, const char *name,
                         size_t value);

/*
 * Options of lc_collection_open. All-zero (after struct_size) is not
 * enough: crs, bbox and resolution are required. Strings are copied.
 */
struct lc_collection_options {
    size_t struct_size;     /* sizeof(struct lc_collection_options) */
    const char *crs;        /* output CRS: "EPSG:5070", WKT, PROJ string,
                               PROJJSON */
    double bbox[4];         /* output extent in crs: minx, miny, maxx, maxy */
    double resolution;      /* square pixel size in crs units, > 0 */
    const char *datetime;   /* an instant, a date or START/END ("..": open);
                               applied to the time axis and to every read;
                               NULL: any */
    const char *filter;     /* CQL2 text, or CQL2-JSON starting with '{' */
    const char *const *ids; /* only these item ids (nids 0: any) */
    size_t nids;
    const char *const *bands; /* asset keys, in output order; NULL: the
                                 data assets of the first matching item */
    size_t nbands;
    const char *sortby;      /* item order inside a time step: "-eo:cloud_cover"
                                or JSON; NULL: catalogue order */
    const char *time_period; /* "P1D" (NULL), "PnD", "P1W", "PnW", "P1M",
                                "P1Y", "PTnH", or "none" for one step per
                                distinct timestamp */
    int has_nodata;          /* nodata below is explicit */
    double nodata;
    enum lc_dtype dtype; /* explicit output dtype; UNKNOWN: inferred */
    enum lc_mosaic_method mosaic_method;
    const char *resampling;         /* "nearest" (NULL), "bilinear", "cubic",
                                       "average", "mode", "min", "max" */
    struct lc_store *store;         /* reads every asset; NULL: a store per href
                                       root from the process-wide cache */
    struct lc_store *catalog_store; /* reads the catalogue; NULL: default */
    size_t max_concurrent_reads;    /* items read at once per read call
                                       [32] */
    enum lc_errors_policy errors;
    size_t nthreads; /* decode/warp workers [CPU count]; 0: default */
    /* Maps an asset href to the path read from store (the key inside a
     * bucket, say); NULL reads hrefs as they are. Called during
     * lc_collection_open on the calling thread, once per selected item and
     * band, never later; returns a string from malloc, which the library
     * frees, or NULL to fail the open with LC_EINVAL. */
    char *(*map_href)(void *opaque, const char *href);
    void *map_href_opaque;
    /* Confinement of asset hrefs read from the local file system (file://
     * URLs, plain paths, hrefs relative to a local store): with it on, each
     * such href (of the selected items' bands, after map_href) is resolved
     * with realpath(3) (symlinks, "..") and must lie in one of the
     * allowed_local_roots folders, or the open fails with LC_EINVAL naming
     * the href. confine_local_hrefs: 1 on, -1 off, 0 (default) on when the
     * catalogue is remote (an href with a scheme other than file://, or a
     * catalog_store that is not local), so a remote catalogue cannot make
     * us read /etc/passwd; roots are then usually none. Added in 0.2. */
    int confine_local_hrefs;
    const char *const *allowed_local_roots;
    size_t nallowed_local_roots;
    /* Caps on the catalogue and the COGs (all-zero: the defaults). They
     * apply to the headers this collection opens, and headers are cached
     * per set of caps. Added in 0.2. */
    struct lc_limits limits;
    /* Time-series readahead: a one-step read of a window of at most 65536
     * pixels that continues the previous one-step read (the same bands
     * and window, another step) has the same window read, on a thread of
     * its own, at the next two steps in that direction that have items
     * meeting it, so that their reads find the headers and tiles fetched
     * or on their way (docs/engine.md). 1 on, -1 off, 0 (default) on.
     * Added in 0.2. */
    int readahead;
};

struct lc_collection;

/*
 * The COG headers (IFDs, block indexes) collections read are opened once
 * per process and shared by every collection, read and thread through a
 * cache of up to 256 MiB, least recently used headers evicted first. The
 * environment variable LAZYCOGS_HEADER_CACHE_BYTES (a whole number of
 * bytes, read once, at the first open) sets another budget; 0 keeps only
 * the headers in use.
 *
 * The compressed blocks reads fetch are kept too, for later reads of the
 * same open COG (one COG handle: lc_cog_read_window's, or the header
 * cache's, which collections share), up to 128 MiB, least recently used
 * first evicted; a handle's blocks go when it is closed.
 * LAZYCOGS_BLOCK_CACHE_BYTES (read once, when a first block is kept) sets
 * another budget; 0 keeps none.
 */

/*
 * Opens the collection of the catalogue at href (a stac-geoparquet file,
 * directory or glob, NDJSON or JSON, local or remote): filters its items
 * by the output bbox (in EPSG:4326, edges densified), datetime, ids and
 * filter, sorts them, groups them into time steps, indexes their
 * footprints, chooses the bands and infers dtype and nodata from the
 * first matching item: from its raster:bands when they give data_type and
 * nodata (and its assets proj:transform), else from one header per band.
 * Returns LC_OK, or LC_EINVAL (a bad option, filter, sortby, time_period; no
 * item matched: the message says "No STAC items matched the query in '<href>'
 * ..."; a requested band missing on the first item; conflicting sampled nodata;
 * an integer dtype with a float-only mosaic method), LC_ENOTFOUND, the
 * load errors, or a COG open error (its message names the href). The
 * handle is immutable: reads may run from any number of threads at once.
 * When the COGs are remote and open() read no header, a connection per
 * band is opened to their host in the background for the first read to
 * take (none with a proxy set in the environment; closed unused after
 * 5 s).
 */
LC_API int lc_collection_open(const char *href,
                              const struct lc_collection_options *opts,
                              struct lc_collection **collection_ret);

/* Closes a collection; NULL does nothing. No read may be running (its
 * readahead's reads are cancelled and waited for). */
LC_API void lc_collection_close(struct lc_collection *collection);

/* The shape and metadata of a collection. */
struct lc_collection_info {
    size_t struct_size; /* sizeof(struct lc_collection_info) */
    size_t nbands;
    size_t ntimes;
    uint32_t width, height; /* pixels of the grid */
    double transform[6];    /* affine a, b, c, d, e, f: x = a*col + b*row +
                               c, y = d*col + e*row + f (corner origin) */
    enum lc_dtype dtype;    /* of a read */
    int has_nodata;         /* nodata known (explicit or inferred) */
    double nodata;          /* fill of pixels no item covers (0 when
                               unknown) */
    int dtype_explicit, nodata_explicit;
    enum lc_mosaic_method mosaic_method;
    size_t nitems;       /* items in the time steps */
    int epsg;            /* the output CRS's EPSG code, or 0 */
    const char *crs_wkt; /* WKT2 of the output CRS (borrowed) */
    size_t nthreads;     /* decode/warp threads a read uses */
};

LC_API int lc_collection_get_info(const struct lc_collection *collection,
                                  struct lc_collection_info *info_ret);

/* The asset key of band i (borrowed), or NULL when i is out of range. */
LC_API const char *lc_collection_band(const struct lc_collection *collection,
                                      size_t i);

/* One time step. */
struct lc_time_step {
    size_t struct_size;
    const char *label;  /* the group key: "2025-06-03", "2025-W23" ... */
    const char *filter; /* the datetime interval the step covers, as a
                           STAC datetime ("2025-06-01/2025-06-30") */
    int64_t coord;      /* the step's time coordinate, in coord_unit since
                           1970-01-01T00:00:00Z */
    int coord_unit;     /* 0: seconds, 1: nanoseconds */
    size_t nitems;      /* items in the step */
};

LC_API int lc_collection_get_time(const struct lc_collection *collection,
                                  size_t t, struct lc_time_step *step_ret);

/*
 * A read: the window [x0, x0 + width) x [y0, y0 + height) of the grid,
 * for the listed bands and time steps (indices; repeats allowed), into
 * out: nbands * ntimes * height * width values of the collection's
 * dtype, C order (band, time, y, x). Pixels no item covers hold the
 * nodata (0 when unknown).
 */
struct lc_read_request {
    size_t struct_size; /* sizeof(struct lc_read_request) */
    const size_t *bands;
    size_t nbands;
    const size_t *times;
    size_t ntimes;
    uint32_t x0, y0, width, height;
    void *out;
    size_t out_nbytes;
    /* Set to nonzero from another thread to stop the read early: it then
     * returns LC_ECANCELLED soon (within one block fetch or decode). */
    const volatile int *cancel;
    /* With LC_ERRORS_IGNORE, called for each item skipped because its
     * read failed: in the calling thread, in sort order, with the item's
     * id and the message the error would have raised ("Failed to read
     * bands ['red'] from item 'x': ..."). NULL: failures are only counted
     * (lc_read_stats.items_failed). */
    void (*on_ignored)(void *ctx, const char *item_id, const char *message);
    void *on_ignored_ctx;
};

/* What a read did; and, when it failed on an item, which one. */
struct lc_read_stats {
    size_t struct_size;   /* sizeof(struct lc_read_stats) */
    size_t items_matched; /* items whose footprint meets the window */
    size_t items_read;    /* items whose pixels were fetched */
    size_t items_skipped; /* not fetched: the window was already covered */
    size_t items_failed;  /* errors ignored (LC_ERRORS_IGNORE) */
    size_t cogs_opened;   /* headers fetched (not found in the cache) */
    uint64_t requests;    /* range requests and bytes of this read */
    uint64_t bytes;
    double seconds;
    /* When the read failed on an item: its id and the asset keys read. */
    char failed_item[512];
    char failed_bands[512];
    int contract_violation; /* the failure is a dtype/nodata contract
                               violation, not an I/O or decode error */
    /* Where the time went, in seconds. The worker stages are summed over
     * the threads that ran them, so with several threads they can add up
     * to more than `seconds`. Waits are wall time, work is CPU time (not
     * inflated when more threads run than there are cores). */
    double header_seconds; /* wall: opening COG headers, fetch included */
    double fetch_seconds;  /* wall: waiting on range reads of pixels */
    double decode_seconds; /* CPU: decompressing and unpacking blocks */
    double warp_seconds;   /* CPU: choosing the level, reprojecting,
                              resampling and casting */
    /* On the calling thread; the rest of `seconds` is waiting for the
     * workers. */
    double match_seconds;  /* finding the items (R-tree, footprints) */
    double mosaic_seconds; /* feeding the mosaics and writing out */
    /* Pixels the resampling kernels produced (one per band and item, for
     * the part of the window a COG covers). An integer COG read on its own
     * pixel grid (same CRS, resolution and origin modulo whole pixels) into
     * an integer dtype of the same width hands its decoded window over as
     * it is and adds none. Added in 0.2. */
    uint64_t pixels_warped;
};

/*
 * Reads a window (see struct lc_read_request). stats (may be NULL) gets
 * what the read did. Returns LC_OK, LC_EINVAL (bad indices or window,
 * LC_ENOSPACE: out too small; a contract violation, with
 * stats->contract_violation set), LC_ECANCELLED, or (LC_ERRORS_RAISE) the
 * error of the first item that failed in sort order, with lc_errmsg()
 * naming the item, the asset and the problem and stats->failed_item set.
 * Thread-safe: any number of reads of one collection may run at once.
 */
LC_API int lc_collection_read(struct lc_collection *collection,
                              const struct lc_read_request *request,
                              struct lc_read_stats *stats_ret);

/*
 * Plans: what reads would touch, without reading a pixel (the engine of
 * lazycogs' explain()). A plan request lists bands, time steps and
 * windows of the grid; the plan holds, for each (time, window), the items
 * a read of that window and step would match, in sort order, and for each
 * of them and each band what reading it involves. Items are matched
 * exactly as lc_collection_read matches them (the same code). All
 * pointers of the request are borrowed for the call.
 */
struct lc_plan_request {
    size_t struct_size;  /* sizeof(struct lc_plan_request) */
    const size_t *bands; /* band indices, repeats allowed */
    size_t nbands;
    const size_t *times; /* time step indices, repeats allowed */
    size_t ntimes;
    const struct lc_window *windows; /* in grid pixels: col_off = x0,
                                        row_off = y0; non-empty, inside */
    size_t nwindows;
    /* Nonzero: open every matched COG's header (through the header cache;
     * each COG once per plan, several at once) to report levels, source
     * windows and the estimated cost of each read. */
    int fetch_headers;
};

/* An open plan; free with lc_plan_free. */
struct lc_plan;

/* One item matched for a (time, window), from lc_plan_get_item. */
struct lc_plan_item {
    size_t struct_size; /* sizeof(struct lc_plan_item), set by the caller */
    size_t k;           /* position in the collection's sort order */
    const char *id;     /* borrowed from the collection: valid until
                           lc_collection_close */
};

/* Reading one band of one matched item, from lc_plan_get_read. */
struct lc_plan_read {
    size_t struct_size; /* sizeof(struct lc_plan_read), set by the caller */
    const char *href;   /* the asset (borrowed from the collection), or
                           NULL: the item has no such asset, nothing read */
    /* Mosaic first only: a read would skip this COG, the items before it
     * in sort order covering its part of the window. Judged from the
     * items' footprints, not their pixels, on a raster of the window at
     * 1/8 of its resolution or coarser, where a cell counts as covered
     * when a footprint polygon holds its four corners: a COG is reported
     * skipped when every cell its footprint's bbox touches is covered.
     * Where footprints hold nodata a read, which looks at valid pixels,
     * skips fewer; where cells are partly covered, more. A read may also
     * fetch a COG before the items ahead of it are mosaicked, and then
     * drop it: its fetch counts in lc_read_stats, not in the plan. */
    int skipped;
    /* The rest only with fetch_headers (has_header set). */
    int has_header;
    size_t level;      /* 0: full resolution, 1..: overviews, finest first */
    double resolution; /* |pixel width| of that level, in source units */
    int has_window;    /* 0: the window misses the COG; nothing is read */
    struct lc_window window; /* source window of that level */
    /* Estimated fetch of that window (and of its mask, if any), from the
     * COG's block index: range reads (blocks beyond the header prefix:
     * what lc_read_stats.requests counts), requests on the wire (remote
     * assets: ranges within the default 1 MiB gap merged, as stores
     * coalesce them; local files: the range reads) and block bytes. */
    uint64_t est_ranges;
    uint64_t est_requests;
    uint64_t est_bytes;
};

/*
 * Plans reads of the windows of request for its bands and times. Returns
 * LC_OK and *plan_ret, or LC_EINVAL (bad struct_size, index or window),
 * LC_ENOMEM, a transform error or, with fetch_headers, the error of the
 * first COG (in plan order) whose header could not be opened or used,
 * lc_errmsg() naming its href. Thread-safe like lc_collection_read; a
 * plan must be freed before its collection is closed.
 */
LC_API int lc_collection_plan(struct lc_collection *collection,
                              const struct lc_plan_request *request,
                              struct lc_plan **plan_ret);

/* Frees a plan; NULL does nothing. */
LC_API void lc_plan_free(struct lc_plan *plan);

/* The number of items matched for request time t and window w (0 when
 * either is out of range). */
LC_API size_t lc_plan_nitems(const struct lc_plan *plan, size_t t, size_t w);

/* Item i of (t, w). Returns LC_OK or LC_EINVAL (an index out of range, a
 * bad struct_size). */
LC_API int lc_plan_get_item(const struct lc_plan *plan, size_t t, size_t w,
                            size_t i, struct lc_plan_item *item_ret);

/* Band b (an index into request->bands) of item i of (t, w). Returns
 * LC_OK or LC_EINVAL. */
LC_API int lc_plan_get_read(const struct lc_plan *plan, size_t t, size_t w,
                            size_t i, size_t b, struct lc_plan_read *read_ret);

/*
 * Experimental (may change in any release): writing GeoTIFFs. A writer
 * streams a tiled GeoTIFF to a local file, a window of tiles at a time, so
 * memory stays bounded by one window: tiles are compressed (deflate, with
 * horizontal differencing for integers and the floating-point predictor
 * for floats) and appended as they come; lc_tiff_writer_finish then writes
 * the directory at the end of the file. The file is BigTIFF when it could
 * exceed 4 GiB. Georeferencing: ModelPixelScale + ModelTiepoint
 * (ModelTransformation for a rotated or south-up transform), GeoKeys of
 * an EPSG code (projected or geographic 2D CRS, PixelIsArea), GDAL_NODATA,
 * and band descriptions in GDAL_METADATA. docs/cli.md (lazycogs read)
 * shows it in use. A writer is used from one thread at a time.
 */
struct lc_tiff_writer;

/* Options of lc_tiff_writer_open; width, height, nbands and dtype are
 * required, everything else all-zero means the defaults in brackets.
 * Strings are copied. */
struct lc_tiff_writer_options {
    size_t struct_size;     /* sizeof(struct lc_tiff_writer_options) */
    uint32_t width, height; /* pixels */
    uint32_t nbands;        /* samples per pixel, 1..65535 */
    enum lc_dtype dtype;
    uint32_t tile_width, tile_height; /* multiples of 16 [256] */
    int planar;          /* 1: one plane per band (PlanarConfiguration 2);
                            [0: bands interleaved by pixel] */
    int uncompressed;    /* 1: no compression; [0: deflate] */
    int deflate_level;   /* 1..12 [6] */
    int no_predictor;    /* 1: deflate without a predictor */
    int bigtiff;         /* 1: always BigTIFF; [0: when needed] */
    int has_transform;   /* transform below is given */
    double transform[6]; /* affine a, b, c, d, e, f of pixel corners, as
                            struct lc_collection_info's */
    int epsg;            /* the CRS's EPSG code; 0: no CRS keys */
    int has_nodata;      /* nodata below is written (GDAL_NODATA) */
    double nodata;
    const char *const *band_descriptions; /* nbands strings, or NULL */
    size_t nthreads;                      /* tiles compressed at once [1] */
    struct lc_allocator allocator;
};

/*
 * Creates (or truncates) the file at path and writes its header. Returns
 * LC_OK and the writer in *writer_ret, or LC_EINVAL (bad options),
 * LC_EUNSUPPORTED (an EPSG code that is neither a projected nor a
 * geographic 2D CRS), LC_ENOTFOUND (path's directory does not exist),
 * LC_EIO, LC_ELIMIT (a tile over 256 MiB) or LC_ENOMEM, with lc_errmsg()
 * naming path and the problem.
 */
LC_API int lc_tiff_writer_open(const char *path,
                               const struct lc_tiff_writer_options *opts,
                               struct lc_tiff_writer **writer_ret);

/*
 * Writes the pixels of the window [x0, x0 + width) x [y0, y0 + height):
 * data holds nbands planes of height x width values of the writer's dtype
 * (C order band, y, x, as lc_collection_read returns one time step), and
 * data_nbytes is at least their size. The window must be made of whole
 * tiles: x0 and y0 multiples of the tile size, width and height too or
 * reaching the image's right and bottom edges. Each tile is written once;
 * tiles never written read back as nodata (or 0). Returns LC_OK,
 * LC_EINVAL (a bad window, a tile written twice, a finished writer),
 * LC_ENOSPACE (data too small), LC_EIO (a failed write, naming the file)
 * or LC_ENOMEM. After an error the writer can only be closed.
 */
LC_API int lc_tiff_writer_write(struct lc_tiff_writer *writer, uint32_t x0,
                                uint32_t y0, uint32_t width, uint32_t height,
                                const void *data, size_t data_nbytes);

/*
 * Writes the directory and closes the file. Returns LC_OK, or LC_EINVAL
 * (called twice, or after a failed write) or LC_EIO naming the file.
 */
LC_API int lc_tiff_writer_finish(struct lc_tiff_writer *writer);

/*
 * Frees the writer; when lc_tiff_writer_finish did not succeed, the
 * unfinished file is removed. NULL does nothing.
 */
LC_API void lc_tiff_writer_close(struct lc_tiff_writer *writer);
#endif /* LC_EXPERIMENTAL */

#ifdef __cplusplus
}
#endif

#endif /* LAZYCOGS_H */
