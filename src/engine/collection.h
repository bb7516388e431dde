/* collection.h - the collection handle shared by open (phase 0) and read
 * (phase 1). */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ENGINE_COLLECTION_H
#define LC_ENGINE_COLLECTION_H

#include "../common/common.h"

#include "../common/error.h"
#include "../geo/crs.h"
#include "../geo/grid.h"
#include "../index/rtree.h"
#include "../mosaic/mosaic.h"
#include "../time/temporal.h"
#include "../warp/warp.h"
#include "catalog.h"

#include <sys/types.h>

/*
 * Items are numbered by their position k in the collection's sort order
 * (k indexes `item`, an array of item-table indices): the R-tree reports
 * hits in ascending k, which is the order the mosaic is fed in.
 */

/* One time step. */
struct lc__step {
    int64_t key;                      /* the grouper's key */
    char label[LC_GROUPER_TEXT_CAP];  /* "2025-06-03" */
    char filter[LC_GROUPER_TEXT_CAP]; /* "2025-06-03" or "start/end" */
    int64_t coord;                    /* in the grouper's coord unit */
    size_t first, count;              /* its items: k in [first, first +
                                         count) of step_items */
};

/* Bands a read may name for it to be read ahead (readahead.c). */
#define LC__READAHEAD_MAX_BANDS 16

/* A collection's time-series readahead (readahead.c; guarded by its lock,
 * but for on and issued's pointer, set at open). */
struct lc__readahead {
    bool on;
    pid_t pid;      /* the process whose threads running counts */
    size_t running; /* readahead reads not ended */
    int cancel;     /* set by lc__readahead_stop (atomic) */
    /* The series: the last one-step read's bands, window and step, and
     * each step's bit: read or read ahead since the series began; series
     * counts the series begun. */
    bool has_series;
    size_t series;
    size_t bands[LC__READAHEAD_MAX_BANDS], nbands;
    uint32_t x0, y0, width, height;
    size_t last_step;
    uint8_t *issued; /* the collection's ntimes bits; NULL when off */
};

struct lc_collection {
    struct lc_allocator alloc;
    char *href;             /* the catalogue */
    struct lc_store *store; /* assets' store (a reference), or NULL */

    /* The output grid. */
    struct lc__crs *crs;
    char *crs_wkt;
    int epsg;
    struct lc__grid grid; /* gt in GDAL order; width, height */
    double bbox[4];       /* as given, in crs */
    /* The query box: bbox densified to EPSG:4326 (minx > maxx across the
     * antimeridian), once bbox_4326_exact; until then a box around it
     * (collection_open.c, load_selection). */
    double bbox_4326[4];
    bool bbox_4326_exact;
    /* PROJ's area of interest for every transform between crs and another
     * CRS (lc__crs_area_around the bbox), or NULL. */
    const struct lc__area *area;
    struct lc__area area_box;

    /* The items: a catalogue (table + filter + sortby), and the selected
     * items in sort order: item[k] indexes catalog->items. The open
     * options' datetime selected them, so reads apply it too (the
     * reference forgets it at read time). */
    struct lc__catalog *catalog;
    const struct lc__stac_items *items; /* == catalog->items */
    size_t nitems;
    const size_t *item; /* == catalog->order, nitems entries */
    size_t *step_of;    /* [nitems]: the time step of item k */

    /* Bands: asset keys in output order, and each one's index in
     * items->asset_keys. */
    size_t nbands;
    char **bands;
    size_t *band_asset;

    /* Time steps, sorted by label; step t's items are
     * step_items[steps[t].first ..+ count], ascending k. */
    struct lc__grouper grouper;
    size_t ntimes;
    struct lc__step *steps;
    size_t *step_items;

    /* Item footprints' bboxes (EPSG:4326), item k = tree item k. */
    struct lc__rtree *rtree;
    /* The largest pixel of the bands' sources on the ground, in metres
     * (lc__pixel_ground_size of the items' proj:transform, and of the
     * sampled headers: headers_pixel_m); 0 when unknown. A source pixel
     * may reach past its item's footprint: item matching allows for it
     * (select.c). Found at the first use (lc__collection_src_pixel_m),
     * not by open(): the items' CRSs it parses are PROJ work that would
     * wait behind the search for the 4326 box. Read and written
     * atomically (reads may run at once); any thread finds the same. */
    struct lc__src_pixel {
        double m;
        bool known;
    } * src_pixel; /* allocated with the collection */
    double headers_pixel_m;

    /* Output contract. */
    enum lc_dtype dtype;
    /* The dtype sources are checked against when dtype is inferred: the
     * reference's resolved dtype (sampled dtypes promoted; float32 for a
     * float-only method over integers). It equals dtype except for count,
     * whose output is uint16 whatever the sources. */
    enum lc_dtype contract_dtype;
    bool dtype_explicit;
    bool has_nodata; /* known: explicit or inferred */
    double nodata;
    bool nodata_explicit;
    /* What was inferred came from the first item's raster:bands, not from
     * its COG headers (catalogue_describes in collection_open.c). */
    bool contract_from_catalogue;
    enum lc_mosaic_method method;
    enum lc__warp_method resampling;
    size_t max_concurrent_reads;
    enum lc_errors_policy errors;
    size_t nthreads;
    /* The open options' caps; COGs are opened with them
     * (lc__header_cache_get_ex). */
    struct lc_limits limits;
    struct lc__readahead readahead;
};

/*
 * lc_collection_open with an allocator for everything the collection owns
 * (NULL: malloc/free), so tests can fail each allocation in turn; the
 * message goes to err instead of lc_errmsg(). Free with
 * lc_collection_close.
 */
int lc__collection_open(const char *href,
                        const struct lc_collection_options *opts,
                        const struct lc_allocator *alloc,
                        struct lc_collection **collection_ret,
                        struct lc__errbuf *err);

/* c->src_pixel->m, found now if no one has yet (collection_open.c). */
double lc__collection_src_pixel_m(const struct lc_collection *c);

/* Readahead (readahead.c). init at the end of open (on: the option);
 * note at the start of every read, before it reads; stop in close, which
 * cancels the collection's readahead reads and waits for them. */
int lc__readahead_init(struct lc_collection *c, bool on);
void lc__readahead_note(struct lc_collection *c,
                        const struct lc_read_request *req);
void lc__readahead_stop(struct lc_collection *c);

#endif /* LC_ENGINE_COLLECTION_H */
