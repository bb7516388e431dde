/* items.h - the STAC item table: loaders, filtering, sorting. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_STAC_ITEMS_H
#define LC_STAC_ITEMS_H

#include "../common/common.h"

#include "../common/arena.h"
#include "../common/error.h"
#include "../common/text.h"
#include "../geo/geometry.h"
#include "../parquet/parquet.h"
#include "cql2.h"

/*
 * The item table holds what the engine needs of each STAC item and nothing
 * else: identity, time, footprint, the requested assets (href, media type,
 * roles, projection and raster metadata) and the properties a filter, a
 * sortby or a caller names, as typed values. It is columnar (one array per
 * field, indexed by item) and immutable once loaded, so any number of
 * threads may read it at once.
 *
 *   stac-geoparquet (a parquet dataset) --+
 *   NDJSON, FeatureCollection, JSON array +--> struct lc__stac_items
 *                                                  |
 *        lc__stac_items_filter (bbox, datetime, ids, CQL2) -> indices
 *        lc__stac_items_sort (sortby keys, stable, nulls last) -> order
 *
 * Loaders take bytes already in memory (JSON) or an open parquet dataset:
 * fetching is the io layer's job and the engine's glue (DESIGN.md).
 *
 * Property names: "properties.NAME" and "NAME" are the same property, as
 * in CQL2. In stac-geoparquet, properties are top-level columns; in JSON
 * they are members of "properties", and a name not found there is looked
 * up among the item's top-level members ("collection", "stac_extensions").
 */

/* A missing time. */
#define LC__STAC_NO_TIME INT64_MIN

/*
 * A value of a requested property. Scalars, strings and arrays of them
 * are the CQL2 value types. A JSON object (or an array holding objects)
 * has type LC__CQL2_TJSON with its compact JSON text in str/len: filters
 * cannot compare it (every operator but IS NULL is UNKNOWN), output can
 * print it. Datetimes read from typed parquet columns are TTIMESTAMP,
 * dates TDATE; strings stay strings (CQL2 compares RFC 3339 strings with
 * times).
 */

/* One element of raster:bands (the raster extension). */
struct lc__stac_raster_band {
    bool has_nodata;
    double nodata;           /* "nan", "inf", "-inf" read as such */
    enum lc_dtype data_type; /* LC_DTYPE_UNKNOWN when absent or not one
                                of ours (e.g. "cint16") */
    double scale, offset;    /* 1 and 0 when absent */
};

/*
 * One asset of one item. When the item has no asset of that key, href is
 * NULL and everything else is zero. Projection fields are the asset's own
 * (STAC 1.1 puts proj:* on assets) or else the item's.
 */
struct lc__stac_asset {
    const char *href;
    const char *type;         /* media type, NULL when absent */
    const char *const *roles; /* [nroles] */
    size_t nroles;
    const char *proj_code; /* proj:code as written ("EPSG:32615"), or
                              "EPSG:<n>" made from proj:epsg; NULL */
    int32_t epsg;          /* the EPSG code of proj_code, else 0 */
    bool has_transform;
    double transform[6]; /* proj:transform, the first 6 of 6 or 9 */
    bool has_shape;
    int64_t shape[2];                         /* proj:shape: rows, columns */
    const struct lc__stac_raster_band *bands; /* raster:bands [nbands] */
    size_t nbands;
    /* Values of the requested asset fields (load options), in order; NULL
     * when none were requested. */
    const struct lc__cql2_value *fields;
};

struct lc__stac_items {
    size_t count;
    const char *source; /* what the items were loaded from, for messages */
    const char **ids;   /* [count] */
    /* Microseconds since 1970-01-01T00:00:00Z, LC__STAC_NO_TIME when
     * absent or null. */
    int64_t *datetime, *start_datetime, *end_datetime; /* [count] */
    /* The item's bbox (2D part), or the geometry's envelope when the item
     * has no bbox, or an empty envelope (minx > maxx) when it has neither.
     * minx > maxx with finite values is a bbox crossing the antimeridian,
     * as written. */
    struct lc__envelope *bbox;        /* [count] */
    const struct lc__geom **geometry; /* [count], NULL when null */
    /* Assets: keys in order (the order of the request, or of the source
     * when every asset was loaded), and count * nassets records, item
     * major: assets[i * nassets + k]. */
    size_t nassets;
    const char **asset_keys;
    struct lc__stac_asset *assets;
    /* Requested properties: names (prefix dropped) and count * nfields
     * values, item major; TNULL where an item lacks the property. */
    size_t nfields;
    const char **field_names;
    struct lc__cql2_value *fields;
    /* Requested asset fields (names only; values are in each asset). */
    size_t nasset_fields;
    const char **asset_field_names;
    /* Owns every string, geometry and array above. */
    struct lc__arena arena;
};

/*
 * What to load. All-zero loads every item with all its assets and no
 * properties beyond the fixed ones.
 */
struct lc__stac_load_options {
    const struct lc_allocator *alloc; /* NULL: malloc/free */
    /* Asset keys to load, in this order (a key no item has is kept, with
     * every href NULL); NULL with nassets 0: every asset key the source
     * has (parquet: the children of the assets struct, in schema order;
     * JSON: in order of first appearance). */
    const char *const *assets;
    size_t nassets;
    /* Properties to load as typed values (filter and sortby fields,
     * output fields). Duplicates are loaded once; the fixed columns (id,
     * datetime, start_datetime, end_datetime, geometry, bbox) need not be
     * named. */
    const char *const *fields;
    size_t nfields;
    /* Fields of each loaded asset to keep as typed values
     * ("storage:refs"). */
    const char *const *asset_fields;
    size_t nasset_fields;
    /* Leave raster:bands out: store_for() has no use for them, and they
     * are several list columns per asset to decode. */
    bool without_raster_bands;
    /* A raster:bands column of another type than the extension's is left
     * out instead of refused: open() uses them only to save a header
     * fetch (the JSON loader ignores malformed ones always). */
    bool lenient_raster_bands;
    /* Stop after this many items (0: no limit); with a pushdown, the
     * items that pass it. */
    size_t max_items;
    /* Pushdown for stac-geoparquet: row groups whose statistics prove no
     * item can meet the bbox (EPSG:4326) or the datetime interval are not
     * read; of the others, the bbox and time columns are read first, and
     * rows that cannot meet them are not loaded: an item whose bbox
     * (within which its geometry lies) misses the box - an item bbox with
     * xmin > xmax covers x >= xmin and x <= xmax -, or whose time does not
     * meet the interval (the semantics of struct lc__stac_query). Items
     * without a bbox, or whose bbox or time does not read, are loaded. The
     * exact test stays lc__stac_items_filter's job: the items loaded are a
     * superset of those it selects (the same selection as without the
     * pushdown), and only their other columns are decoded. JSON loaders
     * load every item. */
    bool has_bbox;
    struct lc__envelope bbox;
    bool has_datetime;
    int64_t start_us, end_us; /* INT64_MIN / INT64_MAX: open ends */
    /* Caps for untrusted geometry (NULL: defaults). */
    const struct lc__geom_limits *geom_limits;
    /* Caps for stac-geoparquet files (NULL: defaults), and for JSON
     * documents: their size (whole document; 0: 1 GiB; checked by the
     * caller that reads it, src/engine/catalog.c) and nesting (0: 64). */
    const struct lc__parquet_limits *parquet_limits;
    size_t max_json_nbytes;
    size_t max_json_depth;
    /* stac-geoparquet: threads decoding the column chunks of a row group
     * (0: the number of CPUs, at most 8; 1: the calling thread only); a
     * large row group's items are filled on two threads unless it is 1.
     * The table does not depend on it. */
    unsigned nthreads;
};

/*
 * Loads the items of a stac-geoparquet dataset (one file or several; see
 * lc__parquet_dataset_open). Every stac-geoparquet layout is read: bbox as
 * a struct {xmin, ymin, xmax, ymax[, zmin, zmax]} or as a list of 4 or 6
 * doubles (the old layout); datetime as a timestamp of any unit, with or
 * without UTC, or as a string; geometry as WKB (the "geo" metadata names
 * the column; its encoding must be WKB). Only the leaf columns needed are
 * decoded. Returns LC_OK and the table in *items_ret, or LC_ECORRUPT (a
 * column of an unexpected type, bad WKB), LC_EUNSUPPORTED (a geometry
 * encoding other than WKB), LC_ELIMIT, LC_ENOMEM or a parquet error; err
 * names the file, the column and, where it matters, the row.
 */
int lc__stac_items_from_parquet(struct lc__parquet_dataset *ds,
                                const struct lc__stac_load_options *opts,
                                struct lc__stac_items **items_ret,
                                struct lc__errbuf *err);

/*
 * Loads items from JSON text: a FeatureCollection (or ItemCollection), a
 * JSON array of items, a single Item, or newline-delimited JSON (one item
 * per line; blank lines skipped). name is used in messages ("items.ndjson
 * line 3: ..."). Returns LC_OK, or LC_ECORRUPT (malformed JSON, with line
 * and column; an item without id; a bad geometry, bbox or datetime),
 * LC_ELIMIT, LC_ENOMEM.
 */
int lc__stac_items_from_json(const char *text, size_t len, const char *name,
                             const struct lc__stac_load_options *opts,
                             struct lc__stac_items **items_ret,
                             struct lc__errbuf *err);

/* Frees a table; NULL does nothing. */
void lc__stac_items_free(struct lc__stac_items *items);

/*
 * The CQL2 accessor: record is a struct lc__stac_record. "id" is a string,
 * "datetime", "start_datetime" and "end_datetime" timestamps, "geometry"
 * the footprint, "bbox" is not a property (use BBOX() on geometry); any
 * other name is a requested field (TNULL when not loaded).
 */
struct lc__stac_record {
    const struct lc__stac_items *items;
    size_t index;
};
int lc__stac_items_get(void *record, const char *name,
                       struct lc__cql2_value *out);

/* The value of property name of item i, as lc__stac_items_get. */
void lc__stac_items_value(const struct lc__stac_items *items, size_t i,
                          const char *name, struct lc__cql2_value *out);

/*
 * Which items a query selects. An item meets
 *   bbox      when its geometry intersects the box (its bbox when it has
 *             no geometry); a box with minx > maxx crosses the antimeridian;
 *   datetime  when its time span meets [start_us, end_us]: its datetime,
 *             or [start_datetime, end_datetime] when datetime is null
 *             (STAC API semantics; an item with only one of start and
 *             end is the instant it has; an item with no time never
 *             meets);
 *   ids       when its id is one of them (nids 0: no restriction);
 *   filter    when the CQL2 filter is TRUE (UNKNOWN is not selected).
 */
struct lc__stac_query {
    bool has_bbox;
    struct lc__envelope bbox;
    bool has_datetime;
    int64_t start_us, end_us; /* INT64_MIN / INT64_MAX: open ends */
    const char *const *ids;
    size_t nids;
    const struct lc__cql2 *filter; /* NULL: none */
};

/*
 * Stores the indices of the items the query selects, ascending, in a new
 * array *index_ret (freed with alloc, may be NULL when *count_ret is 0).
 * Returns LC_OK, or LC_ENOMEM, or an evaluation error (LC_EUNSUPPORTED
 * for an unknown CQL2 function).
 */
int lc__stac_items_filter(const struct lc__stac_items *items,
                          const struct lc__stac_query *query,
                          const struct lc_allocator *alloc, size_t **index_ret,
                          size_t *count_ret, struct lc__errbuf *err);

/*
 * Keeps, of the *count items whose indices index holds, those that meet
 * bbox (as the bbox of struct lc__stac_query), in their order, and sets
 * *count to their number. Returns LC_OK or LC_ENOMEM (index then holds a
 * part of the selection: discard it).
 */
int lc__stac_items_keep_meeting(const struct lc__stac_items *items,
                                const struct lc__envelope *bbox,
                                const struct lc_allocator *alloc, size_t *index,
                                size_t *count, struct lc__errbuf *err);

/* ---- sortby --------------------------------------------------------------
 */

struct lc__stac_sortkey {
    const char *field; /* prefix "properties." dropped */
    bool descending;
};

struct lc__stac_sortby {
    size_t nkeys;
    struct lc__stac_sortkey *keys;
    struct lc__arena arena;
};

/*
 * Parses a sortby: "field", "-field", "+field", comma-separated lists of
 * those ("-eo:cloud_cover,datetime"), or JSON: a string, an array of
 * strings, an array of {"field": f, "direction": "asc"|"desc"} objects
 * (entries without "field" ignored, as the reference does), or one such
 * object. Returns LC_OK, LC_EINVAL (empty field, a direction that is
 * neither asc nor desc, malformed JSON: err says which), LC_ENOMEM.
 */
int lc__stac_sortby_parse(const char *text, size_t len,
                          const struct lc_allocator *alloc,
                          struct lc__stac_sortby **sortby_ret,
                          struct lc__errbuf *err);
void lc__stac_sortby_free(struct lc__stac_sortby *sortby);

/*
 * Sorts index[0..n) (item indices) by the keys, stably: ties keep their
 * order. Nulls sort last whatever the direction. Values compare within a
 * type (numbers exactly, strings bytewise, times, booleans); values of
 * different types order by type (booleans, numbers, strings, times,
 * others) so the order is total. Returns LC_OK or LC_ENOMEM.
 */
int lc__stac_items_sort(const struct lc__stac_items *items,
                        const struct lc__stac_sortkey *keys, size_t nkeys,
                        size_t *index, size_t n,
                        const struct lc_allocator *alloc,
                        struct lc__errbuf *err);

/* ---- output ---------------------------------------------------------------
 */

/*
 * Appends item i as one JSON object (no newline), the form `lazycogs items`
 * prints:
 *   {"id": ..., "datetime": ..., "start_datetime": ..., "end_datetime": ...,
 *    "bbox": [minx, miny, maxx, maxy], ["geometry": GeoJSON,]
 *    "assets": {key: {"href", "type", "roles", "proj:code", "proj:epsg",
 *                     "proj:transform", "proj:shape", "raster:bands":
 *                     [{"nodata", "data_type", "scale", "offset"}],
 *                     <asset fields>}},
 *    "properties": {<fields>}}
 * Times are RFC 3339 in UTC with "Z" (fraction only when not zero); absent
 * values are null; assets the item lacks are left out; a nodata that is
 * not finite is the string "nan", "inf" or "-inf", as STAC writes it.
 * with_geometry adds the footprint. Errors end up in sb->status.
 */
void lc__stac_item_write_json(const struct lc__stac_items *items, size_t i,
                              bool with_geometry, struct lc__strbuf *sb);

/* Appends a value as JSON (TJSON verbatim, times as RFC 3339 strings). */
void lc__stac_value_write_json(const struct lc__cql2_value *v,
                               struct lc__strbuf *sb);

#endif /* LC_STAC_ITEMS_H */
